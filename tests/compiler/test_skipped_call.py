"""System call -1 in the real kernel: a tracer that skips a call sets its number to -1 at the
syscall-entry stop (``ptrace(2)``), and since Linux 4.8 seccomp runs after the tracer
(``syscall_trace_enter``, ``kernel/entry/common.c``), so the filter sees ``nr`` 0xffffffff.
It has bit 30 set, yet it is no x32 call (DESIGN §3): a process under an allow-by-default
filter must survive the skip, as it does under libseccomp's filters (``strace -e inject``).
The control shows the filter does see -1: a program that kills it kills the process."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

import pytest

from seccomp_bpf import libseccomp
from seccomp_bpf.arch import native_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Program, jump, load_abs, ret
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.kernel import install
from seccomp_bpf.kernel.libc import ptrace_function
from seccomp_bpf.kernel.tracer import (
    PTRACE_EVENT_STOP,
    PTRACE_O_EXITKILL,
    PTRACE_O_TRACESYSGOOD,
    PTRACE_SYSCALL_INFO_ENTRY,
    Tracer,
    interrupt,
    seize,
)
from seccomp_bpf.policy import Action, Policy, Rule
from tests.kernel.forked import run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(
        native_arch().name != "x86_64", reason="the tracer writes x86-64's registers"
    ),
]

# <sys/user.h>, struct user_regs_struct on x86-64: rax is word 10, orig_rax word 15.
# PTRACE_POKEUSER (<linux/ptrace.h>) writes one word of struct user at a byte offset.
PTRACE_POKEUSER = 6
RAX, ORIG_RAX = 10 * 8, 15 * 8
GETPPID = 110  # x86-64
ANSWER = 4242  # what the skipped getppid() returns: the tracer's value in rax


def _allow_by_default() -> None:
    policy = Policy(Action.parse("allow"), (Rule(("kexec_load",), Action.parse("errno(1)")),))
    install(compile_policy(policy), tsync=False)


def _libseccomp_allow_by_default() -> None:
    f = libseccomp.SyscallFilter(libseccomp.ALLOW)
    f.add_rule(libseccomp.ERRNO(1), "kexec_load")
    f.load()


def _kill_the_skipped_call() -> None:
    # the control: nr == 0xffffffff is killed, everything else allowed
    program = Program(
        (
            load_abs(op.OFFSET_NR),
            jump(op.BPF_JEQ, 0xFFFFFFFF, 0, 1),
            ret(op.SECCOMP_RET_KILL_PROCESS),
            ret(op.SECCOMP_RET_ALLOW),
        )
    )
    install(program, tsync=False)


def _skip_getppid(load_filter: Callable[[], None]) -> tuple[int | None, int | None]:
    """Fork a tracee that loads the filter and calls getppid(); skip that call with -1 and
    the answer in rax. (exit code, signal) of the tracee."""
    ready_r, ready_w = os.pipe()
    tracee = os.fork()
    if tracee == 0:
        try:
            load_filter()
            os.read(ready_r, 1)
            os._exit(0 if os.getppid() == ANSWER else 1)
        finally:
            os._exit(2)
    poke = ptrace_function()
    tracer = Tracer()
    seize(tracee, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)
    interrupt(tracee)
    skipped = False
    os.write(ready_w, b"x")
    while True:
        _, status = os.waitpid(tracee, 0)
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status), None
        if os.WIFSIGNALED(status):
            return None, os.WTERMSIG(status)
        stop = os.WSTOPSIG(status)
        if stop == signal.SIGTRAP | 0x80:
            info = tracer.syscall_info(tracee)
            assert info is not None
            if not skipped and info[0] == PTRACE_SYSCALL_INFO_ENTRY and info[4] == GETPPID:
                ctypes.set_errno(0)
                assert poke(PTRACE_POKEUSER, tracee, ORIG_RAX, 0xFFFFFFFFFFFFFFFF) == 0
                assert poke(PTRACE_POKEUSER, tracee, RAX, ANSWER) == 0
                skipped = True
            tracer.restart_to_syscall(tracee)
        elif status >> 16 == PTRACE_EVENT_STOP or stop == signal.SIGTRAP:
            tracer.restart_to_syscall(tracee)
        else:
            tracer.restart_to_syscall(tracee, stop)


@pytest.mark.parametrize(
    "load_filter",
    [_allow_by_default, _libseccomp_allow_by_default],
    ids=["compiled policy", "libseccomp module"],
)
def test_a_skipped_call_survives_an_allow_by_default_filter(
    load_filter: Callable[[], None],
) -> None:
    assert run_in_child(_skip_getppid, load_filter) == (0, None)


def test_control_the_filter_sees_minus_one() -> None:
    assert run_in_child(_skip_getppid, _kill_the_skipped_call) == (None, signal.SIGSYS)
