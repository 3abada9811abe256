"""``seccomp-bpf explain`` and ``seccomp-bpf diff``."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats import load_yaml_policy
from seccomp_bpf.policy import Action

POLICY = """\
default_action: errno(EPERM)
arches: [x86_64, i386]
multiplexer_conditions: drop
syscalls:
  - names: [read, write, close, exit_group]
    action: allow
  - names: [socket]
    action: allow
    when: {arg: 0, op: in, value: [1, 10]}
  - names: [ptrace]
    action: kill_process
"""
STRICTER = POLICY.replace("[read, write, close, exit_group]", "[read, write, exit_group]")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(STRICTER)
    program = tmp_path / "policy.bpf"
    program.write_bytes(compile_policy(load_yaml_policy(POLICY)).to_bytes())
    return {"policy": policy, "stricter": stricter, "program": program}


def test_explain_prints_yaml_that_compiles_back_to_the_program(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explain", str(files["program"])]) == 0
    out = capsys.readouterr().out
    assert "decompiled (exact)" in out
    assert "x86_64: 5 system calls allowed, 1 with argument conditions: socket" in out
    explained = load_yaml_policy(out)  # the summary is in comments: the whole is YAML
    original = compile_policy(load_yaml_policy(POLICY))
    back = compile_policy(explained)
    for arch in (get_arch("x86_64"), get_arch("i386"), get_arch("x32")):
        for nr in range(460):
            for arg in (0, 1, 10, 11, 2**32 + 1):
                data = SeccompData(nr | arch.syscall_nr_mask_bit, arch.audit_arch, 0, (arg,) * 6)
                assert Action.from_ret(emulate(back, data).ret) == Action.from_ret(
                    emulate(original, data).ret
                )


def test_explain_formats(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--format", "summary", str(files["policy"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{files['policy']}: a policy, as read\n")
    assert "x86_64: 5 system calls allowed" in out
    assert "kill_process: 1: ptrace" in out
    assert "default_action" not in out
    assert main(["explain", "--format", "yaml", str(files["policy"])]) == 0
    out = capsys.readouterr().out
    assert "default_action: errno(EPERM)" in out
    assert "system calls allowed" not in out


def test_explain_says_what_a_program_does_beyond_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "filter.asm"
    text.write_text("A = sys_number\nA += 1\nif (A == 1) goto 0004\nreturn KILL\nreturn ALLOW\n")
    assert main(["explain", "--arch", "x86_64", str(text)]) == 0
    out = capsys.readouterr().out
    assert "NOT exact" in out
    assert "# cannot express: instruction 2: compares a computed value" in out


def test_a_negated_comparison_reads_one_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # openat refused for opens other than read-only: not "!(arg2 & 0x3) == 0x0", which reads
    # as (!(arg2 & 0x3)) == 0
    policy = tmp_path / "openat.yaml"
    policy.write_text(
        "default_action: allow\narches: [x86_64]\nsyscalls:\n"
        "  - names: [openat]\n    action: errno(EACCES)\n"
        "    when: {not: {arg: 2, op: masked_eq, mask: 3, value: 0}}\n"
    )
    assert main(["explain", str(policy), "--format", "summary"]) == 0
    out = capsys.readouterr().out
    assert "openat: errno(EACCES) if !((arg2 & 0x3) == 0x0); otherwise allow" in out


def test_explain_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.asm"
    bad.write_text("A = sys_number\nreturn\n")
    assert main(["explain", str(bad)]) == 1
    assert str(bad) in capsys.readouterr().err


def test_diff_exit_status(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    policy, stricter, program = (str(files[k]) for k in ("policy", "stricter", "program"))
    assert main(["diff", policy, program]) == 0
    assert capsys.readouterr().out == "equivalent\n"
    assert main(["diff", policy, stricter]) == 1
    out = capsys.readouterr().out
    assert out.startswith("2 differences")
    assert "x86_64: close: allow vs errno(EPERM)" in out
    assert "i386: close: allow vs errno(EPERM)" in out
    assert main(["diff", "--subset", stricter, program]) == 0
    assert "allows nothing that" in capsys.readouterr().out
    assert main(["diff", "--subset", program, stricter]) == 1
    assert "close" in capsys.readouterr().out
    assert main(["diff", "--arch", "i386", "--limit", "1", policy, stricter]) == 1
    out = capsys.readouterr().out
    assert out.startswith("1 difference ") and "x86_64" not in out


def test_diff_usage_errors(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", str(files["policy"]), str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", str(files["policy"])])
    assert exit_info.value.code == 2
