"""Tests for ``seccomp-bpf syscalls``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.cli import main


def test_table_of_the_native_arch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["syscalls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    arch = native_arch()
    assert len(lines) == len(arch.syscalls)
    first_number, first_name = lines[0].split()
    assert arch.syscall_number(first_name) == int(first_number, 0)


def test_table_of_a_named_arch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["syscalls", "--arch", "aarch64"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "56 openat" in lines
    assert "63 read" in lines
    assert len(lines) == len(get_arch("aarch64").syscalls)


def test_tables_of_several_arches_have_headings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["syscalls", "--arch", "x86_64", "--arch", "SCMP_ARCH_X86"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "# x86_64"
    assert "# i386" in out
    assert "102 socketcall" in out[out.index("# i386") :]


def test_names_and_numbers_on_every_requested_arch(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["syscalls", "--arch", "x86_64", "--arch", "x32", "--arch", "i386", "read", "102"])
    assert code == 0
    assert capsys.readouterr().out.splitlines() == [
        "x86_64 0 read",
        "x32    0x40000000 read",
        "i386   3 read",
        "x86_64 102 getuid",
        "x32    102: not on this arch",
        "i386   102 socketcall",
    ]


def test_unknown_name_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    # (execv alone would be known: SPARC has it.)
    assert main(["syscalls", "--arch", "x86_64", "read", "exceve"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "seccomp-bpf: error: unknown system call 'exceve'; did you mean execve or execv or "
        "execveat?\n"
    )


def test_unknown_arch_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["syscalls", "--arch", "amd46", "read"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seccomp-bpf: error: unknown architecture 'amd46'; did you mean")
    assert err.count("\n") == 1


def test_command_line_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "seccomp_bpf", "syscalls", "--arch", "mips", "read", "4003"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "mips 4003 read\nmips 4003 read\n"


def test_a_reader_that_goes_away_is_not_an_error() -> None:
    # `seccomp-bpf syscalls | head -1` where head has already gone: every write meets a
    # closed pipe (Python ignores SIGPIPE, so the write fails with EPIPE).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "seccomp_bpf", "syscalls", "--arch", "x86_64"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.stderr == b""
    assert result.returncode == 141  # 128 + SIGPIPE, as the shell reports a tool stopped by it


# --- arches ---------------------------------------------------------------------------------------


def test_arches_lists_every_architecture_a_policy_may_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from seccomp_bpf.arch import all_arches
    from seccomp_bpf.policy import ALLOW, Policy

    assert main(["arches"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "NAME", "AUDIT_ARCH", "BITS", "ORDER", "CALLS", "+COMPAT", "LIBSECCOMP", "ALIASES"
    ]  # fmt: skip
    names = [line.split()[0] for line in lines[1:]]
    assert names == [arch.name for arch in all_arches()]
    native = native_arch().name
    assert [line.split()[:2] for line in lines[1:] if line.split()[1] == "*"] == [[native, "*"]]
    # every name listed is one a policy accepts, with its compat ABIs
    for arch in all_arches():
        policy = Policy(default_action=ALLOW, arches=(f"{arch.name}+compat",))
        assert policy.resolved_arches()[0] == arch
    x86_64 = next(line for line in lines if line.startswith("x86_64"))
    calls = str(len(get_arch("x86_64").syscalls))
    expected = ["0xc000003e", "64", "little", calls, "i386,x32", "SCMP_ARCH_X86_64"]
    assert x86_64.replace(" *", "").split()[1:7] == expected


def test_arches_json_and_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["arches", "amd64", "mips64n32", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in records] == ["x86_64", "mips64n32"]
    assert records[0]["audit_arch"] == 0xC000003E and "amd64" in records[0]["aliases"]
    assert records[1]["bits"] == 32 and records[1]["byteorder"] == "big"
    assert main(["arches", "x86_65"]) == 1
    assert "unknown architecture 'x86_65'" in capsys.readouterr().err
