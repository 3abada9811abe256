"""Reading the filters of another process (``kernel/ptrace.py``), against the kernel."""

from __future__ import annotations

import errno
import os
import signal
import sys
import time

import pytest

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.ptrace import seccomp_filters, seccomp_get_filter, stopped
from tests.kernel.filtered_process import filtered_process
from tests.kernel.programs import allow_all, errno_for

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

UNASSIGNED_NR = 1000


def test_filters_come_back_exactly_in_installation_order() -> None:
    # Three different programs, installed in this order. The kernel's index 0 is the first
    # one installed, although ptrace(2) says "the most recently installed".
    programs = [allow_all(1), errno_for(UNASSIGNED_NR, 7), allow_all(3)]
    with filtered_process(programs) as pid:
        dumped = seccomp_filters(pid)
        again = seccomp_filters(pid)
    assert [Program.from_bytes(data) for data in dumped] == programs
    assert dumped == again  # the first dump left the process as it was


def test_a_process_without_filters_has_none() -> None:
    with filtered_process([]) as pid:
        assert seccomp_filters(pid) == []


def test_an_index_past_the_last_filter_is_none() -> None:
    with filtered_process([allow_all(2)]) as pid, stopped(pid):
        assert seccomp_get_filter(pid, 0) == allow_all(2).to_bytes()
        assert seccomp_get_filter(pid, 1) is None


def test_the_process_runs_on_after_the_dump() -> None:
    # The child blocks in read(); the dump interrupts it, and detaching lets the read
    # restart. Ending the block closes the pipe: the child must see it and exit 0.
    with filtered_process([allow_all()]) as pid:
        seccomp_filters(pid)
        status_path = f"/proc/{pid}/status"
        with open(status_path) as status:
            assert "TracerPid:\t0" in status.read()
    assert not os.path.exists(status_path)


def test_a_missing_process_is_named() -> None:
    with filtered_process([]) as pid:
        pass  # the process is gone (reaped) once the block ends
    with pytest.raises(KernelError) as raised:
        seccomp_filters(pid)
    assert raised.value.errno == errno.ESRCH
    assert f"ptrace(PTRACE_SEIZE, {pid})" in str(raised.value)
    assert f"no process {pid}" in str(raised.value)


def test_this_process_cannot_dump_itself() -> None:
    with pytest.raises(KernelError) as raised:
        seccomp_filters(os.getpid())
    assert raised.value.errno == errno.EPERM
    assert "cannot trace itself" in str(raised.value)


def _state(pid: int) -> str:
    """The one-letter state of ``/proc/PID/status`` (``S``, ``R``, ``T`` stopped...)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("State:"):
                return line.split()[1]
    raise AssertionError("no State line")


def _settles_in(pid: int, state: str, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _state(pid) == state:
            return True
        time.sleep(0.005)
    return False


def test_a_stopped_process_stays_stopped() -> None:
    # Detaching restarts a tracee; a process stopped by SIGSTOP gets the signal back.
    with filtered_process([allow_all()]) as pid:
        os.kill(pid, signal.SIGSTOP)
        assert _settles_in(pid, "T")
        try:
            assert seccomp_filters(pid) == [allow_all().to_bytes()]
            assert _settles_in(pid, "T")
            time.sleep(0.05)
            assert _state(pid) == "T"
        finally:
            os.kill(pid, signal.SIGCONT)
