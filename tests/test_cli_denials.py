"""``seccomp-bpf denials [FILE]``: the kernel's seccomp audit records, decoded."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seccomp_bpf.cli import main
from tests.datafiles import AUDIT_DMESG, AUDIT_LOG


def test_a_file_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["denials", str(AUDIT_LOG)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert lines[2].endswith("x32 getppid (1073741934) -> log at ip 0x7f2aa1d1f829")
    assert (
        "pid 4242 my worker (/usr/bin/python3.11): x86_64 mount (165) -> kill_process" in lines[4]
    )


def test_filters_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["denials", str(AUDIT_DMESG), "--pid", "13480", "--pid", "7774", "--format", "json"])
        == 0
    )
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["pid"], r["arch"], r["syscall"], r["nr"], r["action"]) for r in records] == [
        (13480, "i386", "getpid", 20, "kill_process"),
        (7774, "x86_64", None, 1003, "kill_process (no action: 0x82a00000)"),
    ]
    assert main(["denials", str(AUDIT_LOG), "--comm", "my worker", "--since", "@1796437740"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
    assert main(["denials", str(AUDIT_LOG), "--comm", "nobody"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"no seccomp audit record in {AUDIT_LOG}" in captured.err


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["denials", str(AUDIT_LOG), "--since", "soon"]) == 1
    assert "--since 'soon': give @SECONDS" in capsys.readouterr().err
    broken = tmp_path / "audit.log"
    broken.write_text("ok\ntype=SECCOMP msg=audit(1.0:2): pid=1 arch=c000003e code=0x0\n")
    assert main(["denials", str(broken)]) == 1
    assert f"{broken}:2:" in capsys.readouterr().err
    assert main(["denials", str(tmp_path / "missing")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_follow_a_growing_file(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    # (Not splitlines: auditd's \x1d would split a line there too.)
    lines = [line + "\n" for line in AUDIT_LOG.read_text().split("\n")[:-1]]
    log.write_text(lines[1])
    command = [sys.executable, "-m", "seccomp_bpf", "denials", "--follow", str(log)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as follower:
        try:
            assert follower.stdout is not None
            assert "x86_64 getcwd (79) -> log" in follower.stdout.readline()
            with log.open("a") as file:
                file.write(lines[-1][:40])  # half a line: not read until it ends
                file.flush()
                time.sleep(0.7)
                file.write(lines[-1][40:])
            assert "x86_64 mount (165) -> kill_process" in follower.stdout.readline()
        finally:
            follower.kill()
