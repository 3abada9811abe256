"""Run a command and catch each seccomp filter it installs, as it installs it.

What ``seccomp-bpf dump -- CMD`` does (and seccomp-tools' ``dump`` and ceccomp's ``trace``):
the command runs traced (``PTRACE_SEIZE`` with :data:`WATCH_OPTIONS`: the processes and
threads it starts are followed, and execs), stopping at the entry and at the exit of each
system call (``PTRACE_SYSCALL``, told apart by ``PTRACE_GET_SYSCALL_INFO``). At the entry of
a call that installs a filter,

- ``seccomp(SECCOMP_SET_MODE_FILTER, flags, const struct sock_fprog *)`` (``seccomp(2)``), or
- ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, const struct sock_fprog *)`` (``prctl(2)``),

of any ABI the process can make calls of, the ``struct sock_fprog`` and the instructions it
points to are read from the tracee's memory (``/proc/PID/mem``): the program exactly as the
command passes it, before the kernel checks it. At the exit of the call, its result says
whether the kernel installed it. Nothing is added to the command: no filter, no
no_new_privs; it sees ``Seccomp: 0`` until it installs its own.

``struct sock_fprog`` (``<linux/filter.h>``) is ``{ unsigned short len; struct sock_filter
*filter; }``: the pointer at offset 8 on 64-bit ABIs and at 4 on 32-bit ones (``struct
compat_sock_fprog``, which ``seccomp_prepare_user_filter`` in ``kernel/seccomp.c`` reads for
every compat call, x32's included). A ``len`` above ``BPF_MAXINSNS`` (4096) or a pointer that
cannot be read makes the kernel refuse the call (EINVAL, EFAULT); such a call is reported
with what could be read and why.

glibc's ``ptrace`` comes from :mod:`.tracer` (its one binding); the stops are handled as the
profiler's tracer handles them (see there): events and new tracees' first stops restart the
tracee, a signal-delivery stop delivers its signal, a group-stop is left with
``PTRACE_LISTEN``.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch import Arch, dispatched_arch
from seccomp_bpf.bpf.instruction import INSTRUCTION_SIZE
from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.child import EXIT_SETUP_FAILED, exec_command
from seccomp_bpf.kernel.procfs import read_memory
from seccomp_bpf.kernel.seccomp import FilterFlag
from seccomp_bpf.kernel.tracer import (
    GROUP_STOP_SIGNALS,
    PTRACE_EVENT_STOP,
    PTRACE_O_EXITKILL,
    PTRACE_O_TRACECLONE,
    PTRACE_O_TRACEEXEC,
    PTRACE_O_TRACEFORK,
    PTRACE_O_TRACESYSGOOD,
    PTRACE_O_TRACEVFORK,
    PTRACE_SYSCALL_INFO_ENTRY,
    PTRACE_SYSCALL_INFO_EXIT,
    WALL,
    Tracer,
    interrupt,
    seize,
)

WATCH_OPTIONS: Final = (
    PTRACE_O_TRACESYSGOOD
    | PTRACE_O_TRACEFORK
    | PTRACE_O_TRACEVFORK
    | PTRACE_O_TRACECLONE
    | PTRACE_O_TRACEEXEC
    | PTRACE_O_EXITKILL
)
"""Follow forks, vforks, clones and execs; mark syscall stops; kill the tracees if the
watcher dies (they would otherwise run on untraced, which is harmless, but the command is
the watcher's to end)."""

# <linux/seccomp.h> and <linux/prctl.h>
SECCOMP_SET_MODE_FILTER: Final = 1
SECCOMP_MODE_FILTER: Final = 2
PR_SET_SECCOMP: Final = 22
# <linux/bpf_common.h>: BPF_MAXINSNS
BPF_MAXINSNS: Final = 4096

_SYSCALL_STOP: Final = signal.SIGTRAP | 0x80  # a syscall stop under PTRACE_O_TRACESYSGOOD
_MASK32: Final = 0xFFFFFFFF
_GO: Final = b"g"



@dataclass(frozen=True)
class LoadedFilter:
    """One call that passed a filter to the kernel.

    ``pid``: the thread that made it; ``arch``: the ABI of the call; ``call``: ``seccomp``
    or ``prctl``; ``flags``: its ``SECCOMP_FILTER_FLAG_*`` (0 for prctl); ``program``: the
    ``struct sock_filter`` records read (this machine's byte order); ``length``: the
    ``len`` the command gave; ``result``: the call's return value (``-errno`` on failure);
    ``problem``: why the program could not be read whole, or None.
    """

    pid: int
    arch: Arch
    call: str
    flags: int
    program: bytes
    length: int
    result: int
    problem: str | None = None

    @property
    def installed(self) -> bool:
        """Whether the kernel took the filter: 0, or a listener's descriptor with
        ``NEW_LISTENER``; with ``TSYNC`` (without ``TSYNC_ESRCH``) a positive result is the
        thread that could not be synchronised, and nothing was installed (``seccomp(2)``)."""
        if self.result < 0:
            return False
        tsync_failure = self.flags & FilterFlag.TSYNC and not self.flags & FilterFlag.TSYNC_ESRCH
        return self.result == 0 or not tsync_failure

    def describe(self) -> str:
        """``seccomp(SECCOMP_SET_MODE_FILTER, TSYNC)``, ``prctl(PR_SET_SECCOMP, ...)``."""
        if self.call == "prctl":
            return "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)"
        from seccomp_bpf.kernel.seccomp import flag_names

        return f"seccomp(SECCOMP_SET_MODE_FILTER, {flag_names(self.flags)})"


@dataclass
class _Pending:
    """An install call seen at its entry, waiting for its exit."""

    arch: Arch
    call: str
    flags: int
    program: bytes
    length: int
    problem: str | None


def _install_call(pid: int, info: tuple[int, ...]) -> _Pending | None:
    """The filter an entry stop passes to the kernel, or None for any other call."""
    audit, nr = info[1], info[4] & _MASK32
    arch = dispatched_arch(audit, nr)
    if arch is None:
        return None
    args = info[5:11]
    if arch.argument_bits == 32:
        args = tuple(a & _MASK32 for a in args)
    if nr == arch.syscalls.get("seccomp") and args[0] == SECCOMP_SET_MODE_FILTER:
        call, flags = "seccomp", args[1]
    elif (
        nr == arch.syscalls.get("prctl")
        and args[0] & _MASK32 == PR_SET_SECCOMP
        and args[1] == SECCOMP_MODE_FILTER
    ):
        call, flags = "prctl", 0
    else:
        return None
    program, length, problem = _read_fprog(pid, arch, args[2])
    return _Pending(arch, call, flags, program, length, problem)


def _read_fprog(pid: int, arch: Arch, address: int) -> tuple[bytes, int, str | None]:
    """The instructions a ``struct sock_fprog`` at ``address`` points to, its ``len``, and
    what kept them from being read whole (see the module docstring for the layout)."""
    pointer_size = 8 if arch.bits == 64 else 4
    try:
        header = read_memory(pid, address, 2 * pointer_size)
    except OSError as error:
        return b"", 0, f"struct sock_fprog at {address:#x} cannot be read ({error.strerror})"
    length = int.from_bytes(header[:2], arch.byteorder)
    pointer = int.from_bytes(header[pointer_size:], arch.byteorder)
    count = min(length, BPF_MAXINSNS)
    problem = None
    if length > BPF_MAXINSNS:
        problem = f"len {length} is above BPF_MAXINSNS ({BPF_MAXINSNS}); the first read"
    try:
        program = read_memory(pid, pointer, count * INSTRUCTION_SIZE) if count else b""
    except OSError:
        return b"", length, f"the {count} instructions at {pointer:#x} cannot be read"
    return program, length, problem


def watch_filters(
    argv: Sequence[str],
    executable: str,
    on_filter: Callable[[LoadedFilter], bool],
) -> int | None:
    """Run ``argv`` (``executable`` is the file to exec) and call ``on_filter`` with each
    filter the command, its processes and threads pass to the kernel, after the call
    returned (installed or refused). When ``on_filter`` returns False, every traced
    process is killed and None is returned; otherwise the command's wait status when it
    ends (processes it leaves behind are followed until they end too).

    The command inherits standard input, output and error. Raises :class:`KernelError`
    when it cannot be traced.
    """
    sync_read, sync_write = os.pipe()
    command = os.fork()
    if command == 0:
        _child(argv, executable, sync_read, sync_write)
    os.close(sync_read)
    tracer = Tracer()
    try:
        seize(command, WATCH_OPTIONS)
        # Stop it once (it waits on the pipe), so that it runs from syscall stop to stop.
        interrupt(command)
        _, status = os.waitpid(command, WALL)
        if not os.WIFSTOPPED(status):
            raise KernelError(
                "waitpid", errno_codes.ESRCH, f"process {command} ended before it was traced"
            )
        tracer.restart_to_syscall(command)
    except BaseException:
        os.close(sync_write)  # the child sees end of file and runs nothing
        with contextlib.suppress(ChildProcessError):
            os.waitpid(command, 0)
        raise
    os.write(sync_write, _GO)
    os.close(sync_write)
    return _watch(tracer, command, on_filter)


def _child(argv: Sequence[str], executable: str, sync_read: int, sync_write: int) -> None:
    """In the forked child: wait to be traced, then exec. Never returns."""
    try:
        os.close(sync_write)
        if os.read(sync_read, 1) != _GO:
            os._exit(EXIT_SETUP_FAILED)  # not traced: run nothing
        os.close(sync_read)
        exec_command(executable, argv)
    finally:
        os._exit(EXIT_SETUP_FAILED)


def _watch(
    tracer: Tracer, command: int, on_filter: Callable[[LoadedFilter], bool]
) -> int | None:
    pending: dict[int, _Pending] = {}
    tracees: set[int] = {command}
    status_of_command: int | None = None
    stopped = False
    while True:
        try:
            pid, status = os.waitpid(-1, WALL)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            pending.pop(pid, None)
            tracees.discard(pid)
            if pid == command:
                status_of_command = status
            continue
        tracees.add(pid)
        sig, event = (status >> 8) & 0xFF, status >> 16
        if stopped:
            continue  # killed already: its end is coming
        if sig == _SYSCALL_STOP and event == 0:
            info = tracer.syscall_info(pid)
            if info is not None and info[0] == PTRACE_SYSCALL_INFO_ENTRY:
                found = _install_call(pid, info)
                if found is not None:
                    pending[pid] = found
            elif info is not None and info[0] == PTRACE_SYSCALL_INFO_EXIT and pid in pending:
                call = pending.pop(pid)
                result = info[4] - (1 << 64) if info[4] >> 63 else info[4]  # s64 rval
                loaded = LoadedFilter(
                    pid, call.arch, call.call, call.flags, call.program, call.length, result,
                    call.problem,
                )  # fmt: skip
                if not on_filter(loaded):
                    stopped = True
                    for tracee in tracees:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(tracee, signal.SIGKILL)
                    continue
            tracer.restart_to_syscall(pid)
        elif event == PTRACE_EVENT_STOP:
            if sig in GROUP_STOP_SIGNALS:
                tracer.listen(pid)
            else:  # a new tracee's first stop, or the end of a group-stop
                tracer.restart_to_syscall(pid)
        elif event:  # fork, vfork, clone, exec
            tracer.restart_to_syscall(pid)
        else:  # a signal-delivery stop: deliver it
            tracer.restart_to_syscall(pid, sig)
    return None if stopped else status_of_command
