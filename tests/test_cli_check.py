"""``seccomp-bpf check POLICY [--arch A]...``: exit status and what it prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_bpf.cli import main
from tests.datafiles import DOCKER_DEFAULT

POLICY = """\
default_action: errno(EPERM)
arches: [x86_64, aarch64]
syscalls:
  - names: [read, write, open, arch_prctl]
    action: allow
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_policy_reports_skipped_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "p.yaml", POLICY)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: valid; 1 rules; x86_64, aarch64"
    assert out[1] == "x86_64: nothing skipped"
    assert out[2] == f"aarch64: rule 1 ({path}:4:5): skipped 2, not here: open, arch_prctl"


def test_arch_option_replaces_the_policys_arches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "p.yaml", POLICY)
    assert main(["check", str(path), "--arch", "i386", "--arch", "riscv64"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("i386, riscv64")
    assert out[1] == "i386: nothing skipped"
    assert out[2] == f"riscv64: rule 1 ({path}:4:5): skipped 2, not here: open, arch_prctl"


def test_invalid_policy_is_one_line_with_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.yaml", POLICY.replace("arch_prctl", "arch_prctll"))
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    column = POLICY.splitlines()[3].index("arch_prctl") + 1
    expected = f"seccomp-bpf: error: {path}:4:{column}: names: unknown system call 'arch_prctll'"
    assert lines[0].startswith(expected)
    assert lines[0].endswith("did you mean 'arch_prctl' or 'prctl'? (at 'arch_prctll')")


def test_unknown_arch_option_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "p.yaml", POLICY)
    assert main(["check", str(path), "--arch", "vax"]) == 1
    assert "unknown architecture 'vax'" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_docker_profile_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "seccomp_bpf", "check", str(DOCKER_DEFAULT), "--arch", "amd64"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("x86_64, i386, x32")  # Docker's archMap for amd64
    assert any(line.startswith("i386: rule 1 (") for line in lines)
    # the socket rules with conditions are mirrored on i386's socketcall without them
    assert (
        sum("socketcall(socket)" in line for line in lines if line.startswith("warning: i386")) == 3
    )
    assert (
        "note: syscalls[0]: not system calls on x86_64, i386, x32, ignored: riscv_hwprobe" in lines
    )
    arm = subprocess.run(
        [sys.executable, "-m", "seccomp_bpf", "check", str(DOCKER_DEFAULT), "--arch", "arm64"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert arm.returncode == 0, arm.stderr
    assert arm.stdout.splitlines()[0].endswith("aarch64, arm")
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "seccomp_bpf",
            "check",
            str(DOCKER_DEFAULT),
            "--arch",
            "x86_64",
            "--arch",
            "i386",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert two.returncode == 1
    assert "one machine architecture" in two.stderr


def test_a_docker_profile_with_a_misspelled_name_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "typo.json",
        '{"defaultAction": "SCMP_ACT_ERRNO",\n'
        ' "syscalls": [{"names": ["reed", "write"], "action": "SCMP_ACT_ALLOW"}]}\n',
    )
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"seccomp-bpf: error: {path}:2:26: syscalls[0].names[0]: unknown system call 'reed'"
    )
    assert "did you mean 'read'" in err and "runc would ignore it" in err
    # the other commands read it as runc does, and say so where notes are shown
    assert main(["compile", str(path), "-o", str(tmp_path / "out.bpf")]) == 0
    assert main(["explain", str(path), "--format", "summary"]) == 0
    assert "no architecture has it, ignored as runc does" in capsys.readouterr().out


def test_check_says_what_calls_of_other_architectures_get(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "p.yaml", POLICY)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "actions: default errno(EPERM); other architectures kill_process",
        "note: bad_arch_action is not given: calls of architectures the policy does not list "
        "kill the process (kill_process)",
    ]
    explicit = write(tmp_path, "q.yaml", POLICY + "bad_arch_action: kill_thread\n")
    assert main(["check", str(explicit)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "actions: default errno(EPERM); other architectures kill_thread"
