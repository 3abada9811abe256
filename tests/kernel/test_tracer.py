"""Following system calls with ptrace (``kernel/tracer.py``), against the kernel.

Each test traces in a forked child (:func:`run_in_child`): the tracer is that child, and its
own child is the tracee, which installs a ``RET TRACE`` filter and makes calls with known
arguments.
"""

from __future__ import annotations

import os
import signal
import sys

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Program, ret
from seccomp_bpf.kernel import install, libc
from seccomp_bpf.kernel.tracer import (
    GROUP_STOP_SIGNALS,
    PTRACE_EVENT_SECCOMP,
    PTRACE_EVENT_STOP,
    PTRACE_SYSCALL_INFO_SECCOMP,
    SYSCALL_INFO_SIZE,
    WALL,
    Tracer,
    seize,
)
from tests.kernel.forked import run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

ARGS = (0x11, 0x2222, 0x333333, 0x44444444, 0x5555555555, 0xFFFFFFFFFFFFFFFF)


def _traced_calls(calls: list[tuple[int, tuple[int, ...]]]) -> tuple[list[tuple[int, ...]], int]:
    """Trace a child that makes ``calls`` under a RET TRACE filter; every seccomp stop's
    information, and the child's wait status."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(write_end)
            os.read(read_end, 1)
            install(Program([ret(op.SECCOMP_RET_TRACE)]), tsync=False)
            for number, args in calls:
                libc.syscall(number, *args)
            os.kill(os.getpid(), signal.SIGUSR1)  # a signal-delivery stop: delivered
        finally:
            os._exit(7)
    os.close(read_end)
    seize(pid)
    os.write(write_end, b"g")
    os.close(write_end)
    tracer = Tracer()
    stops: list[tuple[int, ...]] = []
    while True:
        waited, status = os.waitpid(pid, WALL)
        if not os.WIFSTOPPED(status):
            return stops, status
        event = status >> 16
        if event == PTRACE_EVENT_SECCOMP:
            info = tracer.syscall_info(waited)
            assert info is not None
            stops.append(info)
            tracer.restart(waited)
        elif event == PTRACE_EVENT_STOP:
            assert os.WSTOPSIG(status) not in GROUP_STOP_SIGNALS
            tracer.restart(waited)
        else:
            tracer.restart(waited, os.WSTOPSIG(status))


def test_a_seccomp_stop_shows_the_call_as_the_filter_saw_it() -> None:
    arch = native_arch()
    getppid = arch.syscalls["getppid"]
    stops, status = run_in_child(_traced_calls, [(getppid, ARGS)])
    assert SYSCALL_INFO_SIZE == 88
    mine = [s for s in stops if s[4] == getppid]
    assert len(mine) == 1
    (info,) = mine
    assert info[0] == PTRACE_SYSCALL_INFO_SECCOMP
    assert info[1] == arch.audit_arch
    assert info[5:11] == ARGS
    # the signal was delivered: the child died of it, after a kill call the tracer saw
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGUSR1
    assert [s[4] for s in stops][-1] == arch.syscalls["kill"]


def test_calls_that_never_return_are_seen_at_their_entry() -> None:
    arch = native_arch()
    exit_group = arch.syscalls["exit_group"]
    stops, status = run_in_child(_traced_calls, [(exit_group, (9,))])
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 9
    assert stops[-1][4] == exit_group and stops[-1][5] == 9


def test_requests_on_a_gone_tracee_return_false() -> None:
    def body() -> tuple[bool, bool, object, object]:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        tracer = Tracer()
        return (
            tracer.restart(pid),
            tracer.listen(pid),
            tracer.event_message(pid),
            tracer.syscall_info(pid),
        )

    assert run_in_child(body) == (False, False, None, None)
