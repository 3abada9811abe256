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
