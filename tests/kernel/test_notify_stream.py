"""Receiving and answering user notifications with reused buffers (``kernel/notify_stream.py``).

The command, started with :func:`start_notified` from a forked child, makes ``getppid`` with
known arguments under a filter that notifies only ``getppid``; the stream answers the first
with an error and lets the second run.
"""

from __future__ import annotations

import errno
import os
import sys

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.kernel.notified_child import start_notified
from seccomp_bpf.kernel.notify_stream import NOTIF, NOTIF_RESP, NotificationStream
from seccomp_bpf.policy import ALLOW, USER_NOTIF, Policy, Rule
from tests.kernel.forked import run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

ARGS = (11, 22, 33, 44, 55, 2**64 - 1)

COMMAND = """\
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
args = [ctypes.c_ulong(a) for a in {args}]
first = libc.syscall({nr}, *args)
print(first, ctypes.get_errno(), libc.syscall({nr}, *args) == {parent})
"""


def test_the_layouts_are_the_kernels() -> None:
    assert (NOTIF.size, NOTIF_RESP.size) == (80, 24)


def test_notifications_are_received_failed_and_allowed(capfd: pytest.CaptureFixture[str]) -> None:
    arch = native_arch()
    getppid = arch.syscalls["getppid"]
    policy = Policy(ALLOW, (Rule(("getppid",), USER_NOTIF),), arches=(arch.name,))
    program = compile_policy(policy)

    def body() -> tuple[list[tuple[int, ...]], int, str]:
        # The command's parent is this process: its getppid, allowed, returns our pid.
        code = COMMAND.format(args=list(ARGS), nr=getppid, parent=os.getpid())
        command = [sys.executable, "-I", "-c", code]
        child = start_notified(sys.executable, command, program)
        stream = NotificationStream(child.listener)
        seen: list[tuple[int, ...]] = []
        first = stream.receive()
        assert first is not None
        seen.append(first)
        assert stream.fail(first[0], errno.EACCES)
        second = stream.receive()
        assert second is not None
        seen.append(second)
        assert stream.allow(second[0])
        assert not stream.allow(second[0])  # answered already: no longer waits
        status = child.wait()
        pid = child.pid
        child.close(kill=False)
        return seen, status, str(pid)

    seen, status, pid = run_in_child(body, timeout=20)
    assert os.waitstatus_to_exitcode(status) == 0
    assert capfd.readouterr().out == f"-1 {errno.EACCES} True\n"
    for notification in seen:
        _id, task, _flags, nr, audit, _ip, *args = notification
        assert (nr, audit, tuple(args)) == (getppid, arch.audit_arch, ARGS)
        assert str(task) == pid
    assert seen[0][0] != seen[1][0]
