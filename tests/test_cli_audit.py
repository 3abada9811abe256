"""``seccomp-bpf audit FILE [--format F] [--fail-on S] [--arch A]...``: output and exit status."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats import load_yaml_policy
from tests.datafiles import DOCKER_DEFAULT

# One high finding (ptrace allowed) and one low (personality with any execution domain).
WEAK = """\
default_action: errno(EPERM)
unknown_syscall_action: errno(ENOSYS)
arches: [x86_64]
syscalls:
  - names: [read, write, exit_group]
    action: allow
  - names: [ptrace, personality]
    action: allow
"""
CLEAN = WEAK.replace("ptrace, personality", "close")

NO_ARCH_CHECK = """\
A = sys_number
if (A == ptrace) goto deny
return ALLOW
deny:
return ERRNO(1)
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_text_report_and_default_fail_on_high(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "weak.yaml", WEAK)
    assert main(["audit", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"{path}:7:5: high SB006 dangerous-syscall: ptrace is allowed for every argument "
        "(rule 2): it reads and writes the memory and registers of other processes [x86_64]"
    )
    assert lines[1].startswith(f"{path}:7:5: low SB006 dangerous-syscall: personality is allowed")
    assert lines[-1] == f"{path}: 2 findings: 1 high, 1 low (policy; x86_64)"


@pytest.mark.parametrize(
    ("fail_on", "status"),
    [("critical", 0), ("high", 1), ("medium", 1), ("low", 1), ("info", 1)],
)
def test_fail_on(tmp_path: Path, fail_on: str, status: int) -> None:
    path = write(tmp_path, "weak.yaml", WEAK)
    assert main(["audit", str(path), "--fail-on", fail_on]) == status


def test_clean_policy_exits_0_even_with_fail_on_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "clean.yaml", CLEAN)
    assert main(["audit", str(path), "--fail-on", "info"]) == 0
    assert capsys.readouterr().out == f"{path}: no findings (policy; x86_64)\n"


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "weak.yaml", WEAK)
    assert main(["audit", str(path), "--format", "json", "--fail-on", "critical"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["summary"]["high"] == 1
    assert [(f["id"], f["syscall"], f["line"]) for f in document["findings"]] == [
        ("SB006", "ptrace", 7),
        ("SB006", "personality", 7),
    ]


def test_sarif_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "weak.yaml", WEAK)
    assert main(["audit", str(path), "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert log["version"] == "2.1.0"
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("SB006", "error"), ("SB006", "note")]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 7, "startColumn": 5}
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        path.as_uri()
    )


def test_arch_replaces_the_policys_arches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "weak.yaml", WEAK)
    assert main(["audit", str(path), "--arch", "aarch64", "--fail-on", "critical"]) == 0
    out = capsys.readouterr().out
    assert "[aarch64]" in out
    assert out.splitlines()[-1].endswith("(policy; aarch64)")


def test_assembly_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "filter.asm", NO_ARCH_CHECK)
    assert main(["audit", str(path), "--arch", "x86_64", "--fail-on", "critical"]) == 1
    out = capsys.readouterr().out
    assert f"{path}: high SB001 no-arch-check: the filter never reads seccomp_data.arch" in out
    assert out.splitlines()[-1].endswith("(program; x86_64)")


def test_raw_program_from_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    program = compile_policy(load_yaml_policy(CLEAN))

    class Stdin:
        buffer = io.BytesIO(program.to_bytes())

    monkeypatch.setattr(sys, "stdin", Stdin)
    assert main(["audit", "-", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["subject"], document["source"], document["findings"]) == (
        "program",
        "<stdin>",
        [],
    )


def test_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "missing.yaml")]) == 1
    assert capsys.readouterr().err == (
        f"seccomp-bpf: error: {tmp_path / 'missing.yaml'}: No such file or directory\n"
    )
    bad = write(tmp_path, "bad.yaml", WEAK.replace("ptrace", "ptrcae"))
    assert main(["audit", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"seccomp-bpf: error: {bad}:7:")
    assert "'ptrace'" in err
    asm = write(tmp_path, "bad.asm", "A = sys_number\nif (A == nosuchcall) goto x\n")
    assert main(["audit", str(asm)]) == 1
    assert capsys.readouterr().err.startswith(f"seccomp-bpf: error: {asm}:2:")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "weak.yaml", WEAK)
    for argv in (["audit"], ["audit", str(path), "--fail-on", "severe"],
                 ["audit", str(path), "--format", "xml"]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2


def test_the_installed_command(tmp_path: Path) -> None:
    path = write(tmp_path, "weak.yaml", WEAK)
    done = subprocess.run(
        [sys.executable, "-m", "seccomp_bpf", "audit", str(path), "--fail-on", "low"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == ""
    assert "SB006" in done.stdout


def test_docker_profile_for_one_machine(capsys: pytest.CaptureFixture[str]) -> None:
    # an OCI profile is resolved for the machine given with --arch, with its compat ABIs
    assert main(["audit", str(DOCKER_DEFAULT), "--arch", "x86_64", "--fail-on", "critical"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith("(policy; x86_64, i386, x32)")
    assert any(" medium SB009 ignored-high-half: socket:" in line for line in out)


# kill(-1, sig) signals every process the caller may signal. A rule meant to refuse it,
# written with the default 64-bit width, meets only the sign-extended -1.
KILL_MINUS_ONE = """\
default_action: errno(EPERM)
unknown_syscall_action: errno(ENOSYS)
arches: [x86_64]
syscalls:
  - names: [kill]
    action: errno(EPERM)
    when: {arg: 0, op: eq, value: -1}
  - names: [read, write, exit_group, kill]
    action: allow
"""


def test_a_denial_of_minus_one_compared_on_64_bits_is_a_bypass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from seccomp_bpf.arch import get_arch
    from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate

    path = write(tmp_path, "kill.yaml", KILL_MINUS_ONE)
    assert main(["audit", "--fail-on", "medium", str(path)]) == 1
    out = capsys.readouterr().out
    assert "medium SB009" in out and "kill: argument 0 is an int" in out
    # the emulator shows the bypass: the zero-extended -1 is the same pid to the kernel
    x86_64 = get_arch("x86_64")
    program = compile_policy(load_yaml_policy(KILL_MINUS_ONE))
    minus_one, zero_extended = (1 << 64) - 1, 0xFFFFFFFF
    for pid, action in ((minus_one, SeccompAction.ERRNO), (zero_extended, SeccompAction.ALLOW)):
        call = SeccompData(x86_64.syscalls["kill"], x86_64.audit_arch, 0, (pid, 0, 0, 0, 0, 0))
        assert emulate(program, call).action is action
    # the compiled program is audited alike
    raw = tmp_path / "kill.bpf"
    raw.write_bytes(program.to_bytes())
    assert main(["audit", "--fail-on", "medium", str(raw)]) == 1
    assert "SB009" in capsys.readouterr().out
    # compared on the low half, -1 is refused however it is extended
    narrow = KILL_MINUS_ONE.replace("value: -1}", "value: -1, width: 32}")
    fixed = write(tmp_path, "fixed.yaml", narrow)
    assert main(["audit", "--fail-on", "low", str(fixed)]) == 0
