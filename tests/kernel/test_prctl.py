"""no_new_privs and dumpability through ``prctl(2)``, in forked children."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from seccomp_bpf.kernel import get_no_new_privs, set_dumpable, set_no_new_privs
from seccomp_bpf.kernel.libc import prctl
from seccomp_bpf.kernel.prctl import (
    PR_GET_DUMPABLE,
    get_parent_death_signal,
    set_parent_death_signal,
)
from tests.kernel.forked import run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]


def _no_new_privs_states() -> tuple[bool, bool, bool]:
    before = get_no_new_privs()
    set_no_new_privs()
    after = get_no_new_privs()
    set_no_new_privs()  # setting it again is allowed
    return before, after, get_no_new_privs()


def test_no_new_privs_is_set_once_and_stays() -> None:
    if get_no_new_privs():
        pytest.skip("the test process already has no_new_privs")
    assert run_in_child(_no_new_privs_states) == (False, True, True)


def _dumpable_states() -> tuple[int, int]:
    set_dumpable(True)
    on = prctl(PR_GET_DUMPABLE).value
    set_dumpable(False)
    return on, prctl(PR_GET_DUMPABLE).value


def test_set_dumpable() -> None:
    assert run_in_child(_dumpable_states) == (1, 0)


def _parent_death_signal() -> tuple[int, int, int]:
    before = get_parent_death_signal()
    set_parent_death_signal(signal.SIGKILL)
    after = get_parent_death_signal()
    pid = os.fork()
    if pid == 0:  # cleared in a child of fork
        os._exit(get_parent_death_signal())
    _, status = os.waitpid(pid, 0)
    return before, after, os.waitstatus_to_exitcode(status)


def test_the_parent_death_signal_is_set_and_not_inherited() -> None:
    assert run_in_child(_parent_death_signal) == (0, signal.SIGKILL, 0)


def test_the_process_dies_with_its_parent() -> None:
    # The grandchild sets the signal and says so; the middle process passes its pid on and
    # ends; the grandchild must end with it.
    inner_read, inner_write = os.pipe()
    outer_read, outer_write = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            if os.fork() == 0:
                try:
                    set_parent_death_signal(signal.SIGKILL)
                    os.write(inner_write, b"%d\n" % os.getpid())
                    time.sleep(30)
                finally:
                    os._exit(0)
            os.write(outer_write, os.read(inner_read, 64))
        finally:
            os._exit(0)
    os.close(outer_write)
    os.waitpid(middle, 0)
    grandchild = int(os.read(outer_read, 64))
    for fd in (inner_read, inner_write, outer_read):
        os.close(fd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{grandchild}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return  # dead, not yet reaped by whoever adopted it
        except FileNotFoundError:
            return
        time.sleep(0.01)
    os.kill(grandchild, signal.SIGKILL)
    pytest.fail("the grandchild outlived its parent")
