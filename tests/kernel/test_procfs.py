"""``seccomp_mode`` and ``filter_count`` read ``/proc/PID/status`` (``proc(5)``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from seccomp_bpf.kernel import SeccompMode, filter_count, seccomp_mode

STATUS = """\
Name:\tpython3
Umask:\t0022
State:\tS (sleeping)
NoNewPrivs:\t1
Seccomp:\t2
Seccomp_filters:\t3
Speculation_Store_Bypass:\tthread force mitigated
"""


def _fake_proc(tmp_path: Path, pid: str, text: str) -> Path:
    (tmp_path / pid).mkdir()
    (tmp_path / pid / "status").write_text(text)
    return tmp_path


def test_mode_and_count_come_from_their_lines(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, "42", STATUS)
    mode = seccomp_mode(42, proc_root=proc)
    assert mode == 2
    assert mode is SeccompMode.FILTER
    assert filter_count("42", proc_root=proc) == 3


def test_missing_lines_give_none(tmp_path: Path) -> None:
    # A kernel without CONFIG_SECCOMP (no Seccomp:), or older than 5.9 (no Seccomp_filters:).
    proc = _fake_proc(tmp_path, "self", "Name:\tpython3\nSeccomp:\t0\n")
    assert seccomp_mode(proc_root=proc) == SeccompMode.DISABLED
    assert filter_count(proc_root=proc) is None
    bare = _fake_proc(tmp_path, "7", "Name:\tx\n")
    assert seccomp_mode(7, proc_root=bare) is None


def test_an_unknown_mode_is_returned_as_a_number(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, "9", "Seccomp:\t3\n")
    mode = seccomp_mode(9, proc_root=proc)
    assert mode == 3
    assert not isinstance(mode, SeccompMode)


@pytest.mark.parametrize("pid", [0, -1, "../etc", "self/..", "", True])
def test_pid_must_be_a_process(pid: object) -> None:
    with pytest.raises(ValueError, match="pid must be"):
        seccomp_mode(pid)  # type: ignore[arg-type]


def test_no_such_process_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        filter_count(123, proc_root=tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's /proc")
def test_this_process_reads_like_its_status_file() -> None:
    status = Path("/proc/self/status").read_text()
    lines = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    if "Seccomp" not in lines:
        pytest.skip("this kernel does not report Seccomp:")
    assert seccomp_mode() == int(lines["Seccomp"]) == seccomp_mode(os.getpid())
    expected = int(lines["Seccomp_filters"]) if "Seccomp_filters" in lines else None
    assert filter_count("self") == expected
