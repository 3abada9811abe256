"""Follow every system call of a process tree with ``ptrace(2)``: the profiler's tracer side.

How a tracee is followed, one stop per system call:

- The tracer seizes its forked child (``PTRACE_SEIZE``, which does not stop it) with
  :data:`TRACE_OPTIONS`; the options are inherited by every process and thread the child
  creates, which start traced (``PTRACE_O_TRACEFORK``, ``TRACEVFORK``, ``TRACECLONE``).
- The child then installs a filter that returns ``SECCOMP_RET_TRACE`` for every call. With
  ``PTRACE_O_TRACESECCOMP`` the kernel stops the tracee at the entry of each call, after the
  filter ran, with ``PTRACE_EVENT_SECCOMP`` (``__seccomp_filter``, ``kernel/seccomp.c``).
  That is one stop per call where ``PTRACE_SYSCALL`` makes two (entry and exit), and calls
  that never return (``exit_group``, ``rt_sigreturn``, a successful ``execve``) are seen.
- ``PTRACE_GET_SYSCALL_INFO`` (Linux 5.3) at that stop gives ``op ==
  PTRACE_SYSCALL_INFO_SECCOMP`` with the ``seccomp_data`` the filter saw: number,
  ``AUDIT_ARCH_*`` of the call (an ``int 0x80`` call of a 64-bit process reports
  ``AUDIT_ARCH_I386``) and the six arguments.

``SECCOMP_RET_TRACE`` without a tracer fails the call with ``ENOSYS`` (``seccomp(2)``: "If
there is no tracer present, the system call is not executed and returns a failure status
with errno set to ENOSYS"). So a tracer must not detach from a process running under such a
filter while it lives: it keeps restarting it until it ends. ``PTRACE_O_EXITKILL`` kills
every tracee if the tracer dies, rather than leave them failing every call.

Stops a tracer sees (``ptrace(2)``; ``status`` is the ``waitpid`` status, ``event`` is
``status >> 16``, the signal ``(status >> 8) & 0xff``):

- ``PTRACE_EVENT_SECCOMP``: a call; restart with ``PTRACE_CONT``, no signal.
- ``PTRACE_EVENT_FORK``, ``VFORK``, ``CLONE`` (the new id is ``PTRACE_GETEVENTMSG``),
  ``PTRACE_EVENT_EXEC``: restart, no signal.
- ``PTRACE_EVENT_STOP`` with ``SIGTRAP``: a new tracee's first stop, or after
  ``PTRACE_INTERRUPT``; restart. With ``SIGSTOP``, ``SIGTSTP``, ``SIGTTIN`` or ``SIGTTOU``:
  a group-stop (job control); ``PTRACE_LISTEN`` leaves it stopped as an untraced process would
  be, and reports again when ``SIGCONT`` or another signal arrives.
- No event: a signal-delivery stop; restarting with the signal delivers it.

This is the one binding of glibc's ``ptrace``, declared in :mod:`.libc`
(:func:`~seccomp_bpf.kernel.libc.ptrace_function`; :mod:`.ptrace` and :mod:`.filter_watch`
use it too).
"""

from __future__ import annotations

import ctypes
import errno as errno_codes
import os
import signal
import struct
from typing import Final

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.libc import ptrace_function

# <linux/ptrace.h>
PTRACE_CONT: Final = 7
PTRACE_SYSCALL: Final = 24
PTRACE_DETACH: Final = 17
PTRACE_GETEVENTMSG: Final = 0x4201
PTRACE_SEIZE: Final = 0x4206
PTRACE_INTERRUPT: Final = 0x4207
PTRACE_LISTEN: Final = 0x4208
PTRACE_GET_SYSCALL_INFO: Final = 0x420E

PTRACE_EVENT_FORK: Final = 1
PTRACE_EVENT_VFORK: Final = 2
PTRACE_EVENT_CLONE: Final = 3
PTRACE_EVENT_EXEC: Final = 4
PTRACE_EVENT_VFORK_DONE: Final = 5
PTRACE_EVENT_EXIT: Final = 6
PTRACE_EVENT_SECCOMP: Final = 7
PTRACE_EVENT_STOP: Final = 128

PTRACE_O_TRACESYSGOOD: Final = 1
PTRACE_O_TRACEFORK: Final = 1 << PTRACE_EVENT_FORK
PTRACE_O_TRACEVFORK: Final = 1 << PTRACE_EVENT_VFORK
PTRACE_O_TRACECLONE: Final = 1 << PTRACE_EVENT_CLONE
PTRACE_O_TRACEEXEC: Final = 1 << PTRACE_EVENT_EXEC
PTRACE_O_TRACESECCOMP: Final = 1 << PTRACE_EVENT_SECCOMP
PTRACE_O_EXITKILL: Final = 1 << 20

TRACE_OPTIONS: Final = (
    PTRACE_O_TRACESYSGOOD
    | PTRACE_O_TRACEFORK
    | PTRACE_O_TRACEVFORK
    | PTRACE_O_TRACECLONE
    | PTRACE_O_TRACEEXEC
    | PTRACE_O_TRACESECCOMP
    | PTRACE_O_EXITKILL
)
"""Every option the profiler seizes with: follow forks, vforks, clones and execs, stop at
``SECCOMP_RET_TRACE``, and kill the tracees if the tracer dies."""

# <linux/ptrace.h>: the op of struct ptrace_syscall_info.
PTRACE_SYSCALL_INFO_NONE: Final = 0
PTRACE_SYSCALL_INFO_ENTRY: Final = 1
PTRACE_SYSCALL_INFO_EXIT: Final = 2
PTRACE_SYSCALL_INFO_SECCOMP: Final = 3

# <linux/wait.h>: wait for any child, whether a clone child or not (a tracee is either).
WALL: Final = 0x40000000

# struct ptrace_syscall_info (<linux/ptrace.h>), in this machine's byte order:
#     __u8 op; __u8 reserved; __u16 flags;      offset 0   (Linux < 6.16: __u8 pad[3])
#     __u32 arch;                                offset 4
#     __u64 instruction_pointer, stack_pointer;  offsets 8, 16
#     union { ... struct { __u64 nr; __u64 args[6]; __u32 ret_data; __u32 reserved2; }
#             seccomp; }                          offset 24: nr, 32..72: args, 80: ret_data
# 88 bytes in all. The entry and seccomp members share nr and args at the same offsets.
SYSCALL_INFO: Final = struct.Struct("=B3xIQQQ6QI4x")
SYSCALL_INFO_SIZE: Final = SYSCALL_INFO.size

# Signals whose stop under PTRACE_SEIZE is a group-stop (signal(7): the stop signals).
GROUP_STOP_SIGNALS: Final = frozenset(
    {signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}
)


def _failure(name: str, pid: int, code: int) -> KernelError:
    detail = ""
    if code == errno_codes.ESRCH:
        detail = f"no process {pid}, or it is not stopped under this tracer"
    elif code == errno_codes.EPERM and name == "PTRACE_SEIZE":
        detail = (
            f"not allowed to trace process {pid}: it may already be traced, ptrace may be "
            "forbidden here (a container's seccomp profile, Yama's ptrace_scope 3), or this "
            "needs CAP_SYS_PTRACE; --mode notify needs no ptrace"
        )
    elif code == errno_codes.EIO and name == "PTRACE_GET_SYSCALL_INFO":
        detail = "this kernel has no PTRACE_GET_SYSCALL_INFO (Linux 5.3)"
    return KernelError(f"ptrace({name}, {pid})", code, detail)


def seize(pid: int, options: int = TRACE_OPTIONS) -> None:
    """``PTRACE_SEIZE`` process ``pid`` with ``options``; it keeps running."""
    ctypes.set_errno(0)
    if ptrace_function()(PTRACE_SEIZE, pid, 0, options) == -1:
        raise _failure("PTRACE_SEIZE", pid, ctypes.get_errno())


def interrupt(pid: int) -> bool:
    """``PTRACE_INTERRUPT``: make tracee ``pid`` stop (it reports ``PTRACE_EVENT_STOP``);
    False when it is gone."""
    return ptrace_function()(PTRACE_INTERRUPT, pid, 0, 0) == 0


def detach(pid: int, sig: int = 0) -> bool:
    """``PTRACE_DETACH`` a stopped tracee, delivering ``sig``; False when it is gone."""
    return ptrace_function()(PTRACE_DETACH, pid, 0, sig) == 0


class Tracer:
    """The requests a tracer makes at every stop, bound once.

    A profiler makes a few of these per system call of the tracees, so nothing here builds
    an object or looks a function up per call. The methods return False or None when the
    tracee is gone (``ESRCH``: killed while stopped, which is no error for a tracer); any
    other failure raises :class:`KernelError`. Call them from the thread that seized the
    tracees: a tracee belongs to one thread of its tracer.
    """

    def __init__(self) -> None:
        self._call = ptrace_function()
        self._info = ctypes.create_string_buffer(SYSCALL_INFO_SIZE)
        self._info_address = ctypes.addressof(self._info)
        self._message = ctypes.c_ulong()
        self._message_address = ctypes.addressof(self._message)
        self._unpack = SYSCALL_INFO.unpack_from

    def _check(self, name: str, pid: int) -> None:
        code = ctypes.get_errno()
        if code != errno_codes.ESRCH:
            raise _failure(name, pid, code)

    def restart(self, pid: int, sig: int = 0) -> bool:
        """``PTRACE_CONT``: resume tracee ``pid``, delivering ``sig`` (0: none)."""
        if self._call(PTRACE_CONT, pid, 0, sig) == 0:
            return True
        self._check("PTRACE_CONT", pid)
        return False

    def restart_to_syscall(self, pid: int, sig: int = 0) -> bool:
        """``PTRACE_SYSCALL``: resume tracee ``pid``, delivering ``sig``, until the entry or
        the exit of its next system call (a stop with ``SIGTRAP | 0x80`` under
        ``PTRACE_O_TRACESYSGOOD``)."""
        if self._call(PTRACE_SYSCALL, pid, 0, sig) == 0:
            return True
        self._check("PTRACE_SYSCALL", pid)
        return False

    def listen(self, pid: int) -> bool:
        """``PTRACE_LISTEN``: leave tracee ``pid`` in its group-stop, but report the next
        signal or ``SIGCONT``."""
        if self._call(PTRACE_LISTEN, pid, 0, 0) == 0:
            return True
        self._check("PTRACE_LISTEN", pid)
        return False

    def event_message(self, pid: int) -> int | None:
        """``PTRACE_GETEVENTMSG``: the new task's id after a fork, vfork or clone event, the
        former thread id after an exec event."""
        if self._call(PTRACE_GETEVENTMSG, pid, 0, self._message_address) == 0:
            return int(self._message.value)
        self._check("PTRACE_GETEVENTMSG", pid)
        return None

    def syscall_info(self, pid: int) -> tuple[int, ...] | None:
        """``PTRACE_GET_SYSCALL_INFO`` as ``(op, arch, ip, sp, nr, a0, ..., a5, ret_data)``.

        At a ``PTRACE_EVENT_SECCOMP`` stop ``op`` is ``PTRACE_SYSCALL_INFO_SECCOMP`` and the
        rest is what the filter saw (``nr`` as an unsigned 64-bit number). None when the
        tracee is gone.
        """
        # The result is the size of the information for the stop (fields past it keep older
        # contents; ``op`` says which are meaningful), or -1.
        if self._call(PTRACE_GET_SYSCALL_INFO, pid, SYSCALL_INFO_SIZE, self._info_address) != -1:
            return self._unpack(self._info)
        self._check("PTRACE_GET_SYSCALL_INFO", pid)
        return None


def wait_any() -> tuple[int, int]:
    """``waitpid(-1, __WALL)``: the next tracee or child to change state and its status.
    Raises ChildProcessError when there is none left."""
    return os.waitpid(-1, WALL)
