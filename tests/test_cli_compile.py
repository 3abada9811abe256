"""``seccomp-bpf compile`` and ``seccomp-bpf emu POLICY``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats import read_policy_file

POLICY = """\
default_action: errno(EPERM)
arches: [x86_64, i386]
syscalls:
  - names: [read, write, close, exit_group]
    action: allow
  - names: [openat]
    action: errno(EACCES)
    when: {arg: 0, op: eq, value: -100, width: 32}
  - names: [openat]
    action: allow
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_raw_output_is_the_compiled_program(policy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.bpf"
    assert main(["compile", str(policy_file), "-o", str(out)]) == 0
    program = Program.from_bytes(out.read_bytes())
    assert program == compile_policy(read_policy_file(policy_file))


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [("c", "struct sock_filter filter[]"), ("hex", "0020 00 00 00000004"), ("disasm", "A = arch")],
)
def test_text_formats(
    policy_file: Path, fmt: str, marker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(policy_file), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert marker in out
    program = compile_policy(read_policy_file(policy_file))
    if fmt == "hex":
        assert len(out.splitlines()) == len(program)


def test_stats_report_every_arch(
    policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(policy_file), "-o", str(tmp_path / "o"), "--stats"]) == 0
    err = capsys.readouterr().err
    assert "length:" in err and "x86_64:" in err and "i386:" in err


def test_arch_override(policy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.bpf"
    assert main(["compile", str(policy_file), "--arch", "aarch64", "-o", str(out)]) == 0
    program = Program.from_bytes(out.read_bytes())
    aarch64 = get_arch("aarch64")
    read = aarch64.syscall_number("read")
    assert read is not None
    assert emulate(program, SeccompData(read, aarch64.audit_arch)).action.name == "ALLOW"


def test_frequency_profile(policy_file: Path, tmp_path: Path) -> None:
    freq = tmp_path / "freq.json"
    freq.write_text(json.dumps({"x86_64": {"close": 1000, "read": 1}}))
    assert (
        main(["compile", str(policy_file), "--frequency", str(freq), "-o", str(tmp_path / "o")])
        == 0
    )


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("default_action: allow\nsyscalls:\n  - names: [reed]\n    action: allow\n", "reed"),
        ("default_action: sometimes\n", "sometimes"),
        ("default_action: allow\nbogus: 1\n", "bogus"),
    ],
)
def test_bad_policy_is_one_line_exit_1(
    tmp_path: Path, text: str, phrase: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["compile", str(path), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and phrase in err and str(path) in err


def test_emu_on_a_policy_names_the_rule(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emu", str(policy_file), "--arch", "x86_64", "openat", "-100"]) == 0
    out = capsys.readouterr().out
    assert "ERRNO(13)" in out
    assert f"rule 2 ({policy_file}:6:5)" in out
    assert main(["emu", str(policy_file), "--arch", "x86_64", "mount", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == "ERRNO(1)" and report["decided_by"] == "default action"


def test_emu_foreign_arch_on_a_policy(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emu", str(policy_file), "--arch", "aarch64", "read"]) == 0
    out = capsys.readouterr().out
    assert "KILL_PROCESS" in out and "bad architecture" in out
