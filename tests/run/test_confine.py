"""``install()`` with policies, against the running kernel: every action as ``seccomp(2)``
documents it, TSYNC, inheritance across fork and execve, and the action probe.

Every filter is loaded in a forked child (``tests/kernel/forked.py``). Calls use numbers no
architecture assigns (1000...), so that an allowed call fails with ENOSYS and nothing else
happens, or harmless real calls whose result is known beforehand.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import signal
import subprocess
import sys
import threading
import time

import pytest

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.bpf.instruction import Instruction, Program, ret
from seccomp_bpf.errors import ActionUnavailableError
from seccomp_bpf.kernel.libc import syscall
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    TRACE,
    TRAP,
    USER_NOTIF,
    Policy,
    Rule,
)
from seccomp_bpf.run import check_actions_available, install, program_return_values
from seccomp_bpf.run.confine import compile_for_install
from tests.kernel.forked import Send, run_forked, run_in_child

kernel = pytest.mark.kernel
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")

NR_A, NR_B, NR_C = 1000, 1001, 1002  # no architecture has these (tables end below 1000)


def allow_but(*rules: Rule) -> Policy:
    return Policy(ALLOW, rules)


# --- without the kernel -----------------------------------------------------------------------


def test_return_values_are_the_ret_k_constants() -> None:
    program = Program(
        [
            Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, 0, 0, 0),
            Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 0, 1, 7),
            ret(op.SECCOMP_RET_ERRNO | 5),
            Instruction(op.BPF_RET | op.BPF_A),  # known at run time only
            ret(op.SECCOMP_RET_ALLOW),
        ]
    )
    assert program_return_values(program) == {op.SECCOMP_RET_ERRNO | 5, op.SECCOMP_RET_ALLOW}


def test_an_action_the_kernel_lacks_is_named() -> None:
    program = compile_for_install(allow_but(Rule((NR_A,), USER_NOTIF), Rule((NR_B,), ERRNO(3))))
    with pytest.raises(ActionUnavailableError, match="does not support USER_NOTIF") as raised:
        check_actions_available(
            program, {SeccompAction.ALLOW, SeccompAction.ERRNO, SeccompAction.KILL_PROCESS}
        )
    assert raised.value.errno == errno.EOPNOTSUPP
    assert "SECCOMP_GET_ACTION_AVAIL" in str(raised.value)
    check_actions_available(program, set(SeccompAction))
    check_actions_available(program, ())  # a kernel that cannot say: nothing to check


def test_a_value_that_is_no_action_is_refused() -> None:
    program = Program([ret(0x12340000)])
    with pytest.raises(ActionUnavailableError, match="0x12340000, which is no seccomp action"):
        check_actions_available(program, set(SeccompAction))


def test_a_policy_compiles_for_its_arches() -> None:
    policy = Policy(ALLOW, (Rule(("read",), ERRNO(1)),), arches=("x86_64", "aarch64"))
    program = compile_for_install(policy)
    assert op.SECCOMP_RET_ERRNO | 1 in program_return_values(program)
    assert compile_for_install(program) is program
    assert compile_for_install(list(program)) == program


# --- every action, in the kernel ------------------------------------------------------------


def _errno_trace_log() -> tuple[int, int, int, int]:
    parent = os.getppid()
    install(allow_but(Rule((NR_A,), ERRNO(42)), Rule((NR_B,), TRACE(5)), Rule(("getppid",), LOG)))
    return (
        syscall(NR_A).errno,
        syscall(NR_B).errno,
        syscall(NR_C).errno,  # not named: the default, allow, runs a call that does not exist
        parent - os.getppid(),  # LOG runs the call: the real answer
    )


@kernel
@linux
def test_errno_trace_without_tracer_and_log() -> None:
    assert run_in_child(_errno_trace_log) == (42, errno.ENOSYS, errno.ENOSYS, 0)


def _killed_by_kill_process(send: Send) -> None:
    install(allow_but(Rule((NR_A,), KILL_PROCESS)))
    send("installed")
    syscall(NR_A)
    send("survived")


@kernel
@linux
def test_kill_process_kills_with_sigsys() -> None:
    report = run_forked(_killed_by_kill_process)
    assert report.records == ["installed"]
    assert report.signal == signal.SIGSYS


def _thread_is_gone(tid: int) -> bool:
    try:
        with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def _kill_thread_ends_one_thread() -> tuple[bool, bool, int]:
    install(allow_but(Rule((NR_A,), KILL_THREAD)))
    reached_after: list[bool] = []

    def worker() -> None:
        syscall(NR_A)
        reached_after.append(True)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    tid = thread.native_id
    assert tid is not None
    deadline = time.monotonic() + 5
    while not _thread_is_gone(tid) and time.monotonic() < deadline:
        time.sleep(0.001)
    # The main thread is still here and its calls still work.
    return _thread_is_gone(tid), bool(reached_after), syscall(NR_B).errno


@kernel
@linux
def test_kill_thread_ends_only_the_calling_thread() -> None:
    assert run_in_child(_kill_thread_ends_one_thread) == (True, False, errno.ENOSYS)


class _SigsysInfo(ctypes.Structure):
    """The start of ``siginfo_t`` for SIGSYS on 64-bit Linux (``<asm-generic/siginfo.h>``):
    si_signo, si_errno, si_code, padding, then ``_sigsys``: _call_addr, _syscall, _arch."""

    _fields_ = (
        ("si_signo", ctypes.c_int),
        ("si_errno", ctypes.c_int),
        ("si_code", ctypes.c_int),
        ("pad", ctypes.c_int),
        ("call_addr", ctypes.c_void_p),
        ("syscall", ctypes.c_int),
        ("arch", ctypes.c_uint),
    )


class _Sigaction(ctypes.Structure):
    """glibc's ``struct sigaction`` on Linux (``bits/sigaction.h``)."""

    _fields_ = (
        ("sa_sigaction", ctypes.c_void_p),
        ("sa_mask", ctypes.c_ulong * (1024 // (8 * ctypes.sizeof(ctypes.c_ulong)))),
        ("sa_flags", ctypes.c_int),
        ("sa_restorer", ctypes.c_void_p),
    )


# <asm-generic/signal.h>: 4 on x86, arm64, riscv, s390, powerpc and loongarch (mips, alpha,
# parisc and sparc have their own value).
SA_SIGINFO = 4
SYS_SECCOMP = 1  # <asm-generic/siginfo.h>: si_code of a SIGSYS from seccomp


def _trap_delivers_sigsys() -> tuple[int, int, int, int]:
    seen: list[tuple[int, int, int, int]] = []
    handler_type = ctypes.CFUNCTYPE(
        None, ctypes.c_int, ctypes.POINTER(_SigsysInfo), ctypes.c_void_p
    )

    def handler(signum: int, info: ctypes._Pointer[_SigsysInfo], context: int) -> None:
        seen.append((signum, info.contents.si_code, info.contents.syscall, info.contents.si_errno))

    c_handler = handler_type(handler)
    action = _Sigaction()
    action.sa_sigaction = ctypes.cast(c_handler, ctypes.c_void_p).value
    action.sa_flags = SA_SIGINFO
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.sigaction(signal.SIGSYS, ctypes.byref(action), None) != 0:
        raise OSError(ctypes.get_errno(), "sigaction")
    install(allow_but(Rule((NR_A,), TRAP(9))))
    # The call is not run; the handler sees the registers rolled back (syscall_rollback in
    # kernel/seccomp.c), so what the call "returns" depends on the ABI: not checked.
    syscall(NR_A, 1, 2)
    return seen[0]


@kernel
@linux
@pytest.mark.skipif(
    ctypes.sizeof(ctypes.c_void_p) != 8
    or platform.machine()
    not in ("x86_64", "aarch64", "riscv64", "s390x", "ppc64le", "loongarch64"),
    reason="the SA_SIGINFO value and siginfo layout written here are those of these 64-bit ABIs",
)
def test_trap_delivers_sigsys_with_the_call() -> None:
    signum, code, nr, data = run_in_child(_trap_delivers_sigsys)
    # si_syscall is the call, si_errno the action's data, si_code SYS_SECCOMP (seccomp(2)).
    assert (signum, code, nr, data) == (signal.SIGSYS, SYS_SECCOMP, NR_A, 9)


def _user_notif_reaches_a_listener() -> tuple[int, tuple[int, int], int]:
    from seccomp_bpf.kernel import install as install_program
    from seccomp_bpf.kernel.notify import receive, require_user_notif, respond

    require_user_notif()
    program = compile_for_install(allow_but(Rule((NR_A,), USER_NOTIF)))
    check_actions_available(program)
    listener = install_program(program, new_listener=True)
    assert listener is not None
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(syscall(NR_A, 7, 8).errno))
    thread.start()
    notification = receive(listener)
    assert notification is not None
    respond(listener, notification.id, error=-42)
    thread.join()
    return notification.data.nr, notification.data.args[:2], seen[0]


@kernel
@linux
def test_user_notif_reaches_a_listener() -> None:
    assert run_in_child(_user_notif_reaches_a_listener) == (NR_A, (7, 8), 42)


def _thread_started_before_is_covered() -> int:
    started, go = threading.Event(), threading.Event()
    seen: list[int] = []

    def worker() -> None:
        started.set()
        go.wait()
        seen.append(syscall(NR_A).errno)

    thread = threading.Thread(target=worker)
    thread.start()
    started.wait()
    install(allow_but(Rule((NR_A,), ERRNO(17))))
    go.set()
    thread.join()
    return seen[0]


@kernel
@linux
def test_tsync_covers_a_thread_started_before_install() -> None:
    assert run_in_child(_thread_started_before_is_covered) == 17


_AFTER_EXEC = """\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
result = libc.syscall(ctypes.c_long(1000))
mode = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Seccomp:")][0]
print(result, ctypes.get_errno(), mode)
"""


def _inherited_across_fork_and_exec() -> tuple[int, str]:
    install(allow_but(Rule((NR_A,), ERRNO(23))))
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the grandchild: a plain fork
        os.write(write_fd, str(syscall(NR_A).errno).encode())
        os._exit(0)
    os.close(write_fd)
    forked = os.read(read_fd, 100).decode()
    os.waitpid(pid, 0)
    # subprocess forks and execs a new Python: the filter must still be there.
    executed = subprocess.run(
        [sys.executable, "-c", _AFTER_EXEC], capture_output=True, text=True, check=True
    ).stdout.strip()
    return int(forked), executed


@kernel
@linux
def test_the_filter_survives_fork_and_execve() -> None:
    forked, executed = run_in_child(_inherited_across_fork_and_exec, timeout=30)
    assert forked == 23
    assert executed == "-1 23 2"  # failed with errno 23, in filter mode (SECCOMP_MODE_FILTER)


def _exec_mappings() -> tuple[str, str, str]:
    import mmap

    from seccomp_bpf.arch import native_arch
    from seccomp_bpf.policy.rulesets import deny_new_exec_mappings

    install(Policy(ALLOW, deny_new_exec_mappings(arches=[native_arch()])))
    outcomes = []
    for prot in (mmap.PROT_READ | mmap.PROT_WRITE, mmap.PROT_READ | mmap.PROT_EXEC):
        try:
            mmap.mmap(-1, 4096, prot=prot).close()
            outcomes.append("mapped")
        except OSError as error:
            outcomes.append(errno.errorcode[error.errno or 0])
    mprotect = native_arch().syscall_number("mprotect")
    assert mprotect is not None
    # PROT_EXEC (4) on an unmapped address: refused by the filter before the kernel looks.
    outcomes.append(errno.errorcode[syscall(mprotect, 0, 4096, 4).errno])
    return outcomes[0], outcomes[1], outcomes[2]


@kernel
@linux
def test_deny_new_exec_mappings_in_the_kernel() -> None:
    assert run_in_child(_exec_mappings) == ("mapped", "EPERM", "EPERM")
