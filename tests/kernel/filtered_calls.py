"""Make raw system calls under real filters in a forked child, and say what the kernel did.

:func:`run_calls` loads a stack of programs in a child and makes each call with
``syscall(nr, a0..a5)`` (full 64-bit arguments). Calls should use numbers no system call
has (``UNASSIGNED_NRS``), so that ALLOW is seen as ENOSYS and nothing else happens. What
each call did is an :class:`Outcome`:

- ``errno n``      the call returned -1 with errno n (ERRNO(n); ENOSYS for ALLOW, LOG, and
                   TRACE or USER_NOTIF with no tracer or listener),
- ``return v``     the call returned v >= 0 (ERRNO(0) returns 0),
- ``trap``         SIGSYS was delivered to a handler (TRAP),
- ``kill_thread``  the calling thread died and the process lived on (KILL_THREAD),
- ``killed s``     the whole process died by signal s (KILL_PROCESS, unknown actions).

Calls run in a worker thread so that KILL_THREAD can be told from KILL_PROCESS; a SIGSYS
handler with a wakeup fd tells TRAP from a plain return. After a KILL_THREAD a new worker
carries on; after the process dies a new child is forked for the remaining calls.
:func:`expected_outcome` gives the same classification for a filter result computed by the
emulator, so the two can be compared call by call.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import ReturnValue, SeccompAction
from seccomp_bpf.bpf.instruction import Instruction, Program, jump, load_abs, ret
from seccomp_bpf.kernel import set_mode_filter, set_no_new_privs, syscall_abi
from seccomp_bpf.kernel.libc import SyscallResult, syscall
from tests.kernel.forked import ChildError, Send, run_forked

# Numbers that no Linux architecture assigns (the tables end below 1000, apart from the
# mips ranges 4000+, 5000+, 6000+), so an allowed call fails with ENOSYS.
UNASSIGNED_NRS: tuple[int, ...] = (1000, 1001, 1002, 1003)

# <linux/audit.h>: AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE, per ABI.
AUDIT_ARCH_BY_ABI: dict[str, int] = {
    "x86_64": 0xC000003E,  # EM_X86_64 (62)
    "aarch64": 0xC00000B7,  # EM_AARCH64 (183)
    "riscv64": 0xC00000F3,  # EM_RISCV (243)
    "loongarch64": 0xC0000102,  # EM_LOONGARCH (258)
    "s390x": 0x80000016,  # EM_S390 (22), big-endian
}


def native_audit_arch() -> int | None:
    """The AUDIT_ARCH_* value filters see for this process's calls, when the table has it."""
    abi = syscall_abi()
    return AUDIT_ARCH_BY_ABI.get(abi) if abi is not None else None


MakeCall = Callable[..., SyscallResult]


class Call(NamedTuple):
    nr: int
    args: tuple[int, int, int, int, int, int]


class Outcome(NamedTuple):
    kind: str  # "errno", "return", "trap", "kill_thread", "killed"
    value: int = 0

    def __str__(self) -> str:
        if self.kind == "errno":
            return f"errno {self.value} ({errno.errorcode.get(self.value, '?')})"
        if self.kind == "killed":
            return f"killed by {signal.Signals(self.value).name}"
        return self.kind if self.kind in ("trap", "kill_thread") else f"returned {self.value}"


def only_unassigned(body: Sequence[Instruction]) -> Program:
    """``body`` behind a guard that allows every call outside ``UNASSIGNED_NRS``, so that
    whatever ``body`` returns, the child can still report and exit.

    The guard's jumps leave no scratch cell written, and ``body`` starts with no cell
    written either, so a valid ``body`` stays valid. ``A`` holds ``nr`` when ``body`` starts.
    """
    first, last = UNASSIGNED_NRS[0], UNASSIGNED_NRS[-1]
    guard = [
        load_abs(op.OFFSET_NR),
        jump(op.BPF_JGE, first, 0, 1),  # nr >= first: check the upper end; else allow
        jump(op.BPF_JGT, last, 0, 1),  # nr > last: allow; else run the body
        ret(op.SECCOMP_RET_ALLOW),
    ]
    return Program([*guard, *body])


def expected_outcome(ret: int) -> Outcome:
    """What a call on an unassigned number does when the filters' result is ``ret``.

    ``__seccomp_filter`` (``kernel/seccomp.c``): ERRNO sets -data (capped at MAX_ERRNO);
    TRACE with no tracer and USER_NOTIF with no listener fail with ENOSYS; LOG and ALLOW run
    the call, which does not exist: ENOSYS; TRAP sends SIGSYS; KILL_THREAD ends the thread;
    KILL_PROCESS and every unknown action kill the process with SIGSYS.
    """
    decoded = ReturnValue.decode(ret)
    action = decoded.action
    if action is SeccompAction.ERRNO:
        number = decoded.errno or 0
        return Outcome("errno", number) if number else Outcome("return", 0)
    if action in (
        SeccompAction.ALLOW,
        SeccompAction.LOG,
        SeccompAction.TRACE,
        SeccompAction.USER_NOTIF,
    ):
        return Outcome("errno", errno.ENOSYS)
    if action is SeccompAction.TRAP:
        return Outcome("trap")
    if action is SeccompAction.KILL_THREAD:
        return Outcome("kill_thread")
    return Outcome("killed", signal.SIGSYS)


def _thread_gone(tid: int) -> bool:
    try:
        with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def _drain(fd: int) -> bytes:
    data = b""
    while True:
        try:
            chunk = os.read(fd, 256)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


def _make_calls(
    programs: Sequence[bytes],
    calls: Sequence[Call],
    start: int,
    make_call: MakeCall,
    send: Send,
) -> None:
    """The child: load the filters, then make ``calls[start:]``, sending (index, Outcome)."""
    signal.signal(signal.SIGSYS, lambda signum, frame: None)
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
    set_no_new_privs()
    for program in programs:
        set_mode_filter(program)

    index = start
    while index < len(calls):
        progress = [index]

        def work(first: int = index, progress: list[int] = progress) -> None:
            for position in range(first, len(calls)):
                nr, args = calls[position]
                _drain(wake_read)
                result = make_call(nr, *args)
                if signal.SIGSYS in _drain(wake_read):
                    outcome = Outcome("trap")
                elif result.failed:
                    outcome = Outcome("errno", result.errno)
                else:
                    outcome = Outcome("return", result.value)
                send((position, outcome))
                progress[0] = position + 1

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        tid = worker.native_id
        assert tid is not None
        while True:
            worker.join(0.0002)
            if not worker.is_alive() or _thread_gone(tid):
                break
        if worker.is_alive():  # the kernel ended it; Python cannot know
            send((progress[0], Outcome("kill_thread")))
            index = progress[0] + 1
        else:
            index = len(calls)


def run_calls(
    programs: Sequence[Program | bytes],
    calls: Sequence[Call],
    *,
    timeout: float = 20.0,
    make_call: MakeCall = syscall,
) -> list[Outcome]:
    """Load ``programs`` (oldest first) in a forked child and make ``calls``; one Outcome each.

    ``make_call(nr, *args)`` makes one call; by default ``syscall(2)`` (this process's ABI),
    or for example ``seccomp_bpf.kernel.compat.i386_syscall`` for i386 calls.
    """
    raw = [p.to_bytes() if isinstance(p, Program) else p for p in programs]
    outcomes: dict[int, Outcome] = {}
    start = 0
    while start < len(calls):
        report = run_forked(
            functools.partial(_make_calls, raw, calls, start, make_call), timeout=timeout
        )
        if report.raised is not None:
            raise ChildError(report.describe())
        for position, outcome in report.records:
            outcomes[position] = outcome
        reached = max((p for p in outcomes if p >= start), default=start - 1) + 1
        if report.signal is not None:
            if reached < len(calls):
                outcomes[reached] = Outcome("killed", report.signal)
            start = reached + 1
        elif report.exit_code != 0:
            raise ChildError(report.describe())
        else:
            start = reached
            if start < len(calls):
                raise ChildError(f"the child stopped after call {start} of {len(calls)}")
    return [outcomes[i] for i in range(len(calls))]
