"""``seccomp(2)``: install filters, and ask the kernel what it supports.

``install()`` is what a program calls to confine itself: it sets no_new_privs and loads the
filter on every thread (``SECCOMP_FILTER_FLAG_TSYNC``). ``set_mode_filter()`` is the bare
call, which also takes raw bytes so that a program the kernel refuses can be tried.

Failures raise :class:`~seccomp_bpf.errors.KernelError` (an ``OSError``) naming the call and
saying what the ``errno`` means for this call, from ``seccomp(2)`` and ``kernel/seccomp.c``.
The probes (``action_available``, ``available_actions``, ``notif_sizes``) never raise because
something is unsupported: "no" is an answer.
"""

from __future__ import annotations

import enum
import errno as errno_codes
from collections.abc import Sequence

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import INSTRUCTION_SIZE, Instruction, Program
from seccomp_bpf.errors import InvalidProgramError, KernelError, TsyncError
from seccomp_bpf.kernel import libc
from seccomp_bpf.kernel.abi import seccomp_syscall_number, syscall_abi
from seccomp_bpf.kernel.prctl import set_no_new_privs

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing

if TYPE_CHECKING:  # the emulator is read where the actions are listed: starting needs none
    from typing import Final

    from seccomp_bpf.bpf.actions import SeccompAction


class FilterFlag(enum.IntFlag):
    """``SECCOMP_FILTER_FLAG_*`` (``<linux/seccomp.h>``), with the Linux version that added
    each (``seccomp(2)``)."""

    TSYNC = 1 << 0  # 3.17: apply to every thread of the process
    LOG = 1 << 1  # 4.14: log every action except ALLOW
    SPEC_ALLOW = 1 << 2  # 4.17: do not force speculative-store-bypass mitigation
    NEW_LISTENER = 1 << 3  # 5.0: return a user-notification file descriptor
    TSYNC_ESRCH = 1 << 4  # 5.7: a TSYNC failure returns ESRCH instead of a thread id
    WAIT_KILLABLE_RECV = 1 << 5  # 5.19: a notified task waits killably once received


SECCOMP_FILTER_FLAG_TSYNC: Final = FilterFlag.TSYNC
SECCOMP_FILTER_FLAG_LOG: Final = FilterFlag.LOG
SECCOMP_FILTER_FLAG_SPEC_ALLOW: Final = FilterFlag.SPEC_ALLOW
SECCOMP_FILTER_FLAG_NEW_LISTENER: Final = FilterFlag.NEW_LISTENER
SECCOMP_FILTER_FLAG_TSYNC_ESRCH: Final = FilterFlag.TSYNC_ESRCH
SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: Final = FilterFlag.WAIT_KILLABLE_RECV

_KNOWN_FLAGS: Final = sum(FilterFlag)
_FLAG_SINCE: Final = {
    FilterFlag.TSYNC: "3.17",
    FilterFlag.LOG: "4.14",
    FilterFlag.SPEC_ALLOW: "4.17",
    FilterFlag.NEW_LISTENER: "5.0",
    FilterFlag.TSYNC_ESRCH: "5.7",
    FilterFlag.WAIT_KILLABLE_RECV: "5.19",
}

# kernel/seccomp.c: MAX_INSNS_PER_PATH, the limit on the instructions of all filters a thread
# runs, where every filter already installed counts 4 instructions more than its length.
# seccomp_attach_filter counts prog->len, the length after the conversion to eBPF, which is a
# few instructions more than the classic program (a one-instruction filter counts 5).
MAX_INSNS_PER_PATH: Final = 32768
INSNS_PENALTY_PER_FILTER: Final = 4


def flag_names(flags: int) -> str:
    """``TSYNC|LOG``, ``0`` for no flags; bits we do not know are shown in hex."""
    names = [flag.name for flag in FilterFlag if flags & flag and flag.name]
    unknown = flags & ~_KNOWN_FLAGS
    if unknown:
        names.append(f"{unknown:#x}")
    return "|".join(names) if names else "0"


def _seccomp_number(call: str) -> int:
    number = seccomp_syscall_number()
    if number is None:
        raise KernelError(
            call,
            errno_codes.ENOSYS,
            "the number of seccomp(2) is not known for this system-call ABI "
            f"({syscall_abi() or 'unknown'})",
        )
    return number


def set_mode_filter(filter: Program | bytes, flags: int = 0) -> int:
    """``seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)``; returns 0 or the listener fd.

    ``filter`` is a :class:`Program` or raw ``struct sock_filter`` records in this machine's
    byte order (which the kernel may refuse: the error then carries our validator's reason).
    The caller needs no_new_privs or CAP_SYS_ADMIN. With ``TSYNC`` (and not ``TSYNC_ESRCH``)
    a positive result is the id of a thread that cannot be synchronised: raises
    :class:`TsyncError`.
    """
    data = filter.to_bytes() if isinstance(filter, Program) else bytes(filter)
    if len(data) % INSTRUCTION_SIZE:
        raise InvalidProgramError(
            f"{len(data)} bytes is not a whole number of {INSTRUCTION_SIZE}-byte instructions"
        )
    if len(data) // INSTRUCTION_SIZE > libc.SOCK_FPROG_MAX_LEN:
        raise InvalidProgramError(
            f"{len(data) // INSTRUCTION_SIZE} instructions do not fit in struct sock_fprog "
            f"(at most {libc.SOCK_FPROG_MAX_LEN}; the kernel allows {op.BPF_MAXINSNS})"
        )
    call = f"seccomp(SECCOMP_SET_MODE_FILTER, {flag_names(flags)})"
    result = libc.seccomp_set_mode_filter(_seccomp_number(call), flags, data)
    if result.failed:
        raise KernelError(call, result.errno, _set_mode_filter_failure(result.errno, flags, data))
    # seccomp(2), RETURN VALUE: "if SECCOMP_FILTER_FLAG_TSYNC was used, the return value is the
    # ID of the thread that caused the synchronization failure". NEW_LISTENER cannot be
    # combined with TSYNC unless TSYNC_ESRCH is set, so a positive value here is a thread id.
    if flags & FilterFlag.TSYNC and not flags & FilterFlag.TSYNC_ESRCH and result.value > 0:
        raise TsyncError(result.value)
    return result.value


def _set_mode_filter_failure(code: int, flags: int, data: bytes) -> str:
    """What ``code`` means for ``seccomp(SECCOMP_SET_MODE_FILTER)`` (``seccomp(2)``, ERRORS)."""
    if code == errno_codes.EACCES:
        return (
            "the caller needs NO_NEW_PRIVS or CAP_SYS_ADMIN in its user namespace; "
            "call set_no_new_privs() first"
        )
    if code == errno_codes.EINVAL:
        return _einval_reason(flags, data)
    if code == errno_codes.ENOMEM:
        return (
            f"the filters of this thread would exceed {MAX_INSNS_PER_PATH} instructions "
            f"(MAX_INSNS_PER_PATH, counted after the kernel's conversion to eBPF, plus "
            f"{INSNS_PENALTY_PER_FILTER} for each filter already installed), or the kernel is "
            "out of memory"
        )
    if code == errno_codes.EFAULT:
        return "the kernel could not read the program at the address given"
    if code == errno_codes.ESRCH:
        return (
            "another thread has a different seccomp filter or mode and cannot be "
            "synchronised (TSYNC_ESRCH does not say which)"
        )
    if code == errno_codes.EBUSY:
        return (
            "a filter with a user-notification listener is already installed; only one "
            "NEW_LISTENER filter is allowed on a thread's filters"
        )
    if code == errno_codes.ENOSYS:
        return "this kernel has no seccomp(2) (CONFIG_SECCOMP_FILTER)"
    return ""


def _einval_reason(flags: int, data: bytes) -> str:
    """EINVAL covers bad flags and bad programs; find which, in the kernel's order.

    ``seccomp_set_mode_filter`` (``kernel/seccomp.c``) checks the flags before the program.
    """
    unknown = flags & ~_KNOWN_FLAGS
    if unknown:
        return f"unknown flags {unknown:#x}"
    if (
        flags & FilterFlag.TSYNC
        and flags & FilterFlag.NEW_LISTENER
        and not flags & FilterFlag.TSYNC_ESRCH
    ):
        return (
            "NEW_LISTENER with TSYNC needs TSYNC_ESRCH: otherwise a listener fd and the id of "
            "a thread that failed to synchronise could not be told apart"
        )
    if flags & FilterFlag.WAIT_KILLABLE_RECV and not flags & FilterFlag.NEW_LISTENER:
        return "WAIT_KILLABLE_RECV needs NEW_LISTENER"
    try:
        Program.from_bytes(data)
    except InvalidProgramError as error:
        return f"the kernel refused the program: {error}"
    newer = [f"{flag.name} (Linux {_FLAG_SINCE[flag]})" for flag in FilterFlag if flags & flag]
    reason = "the program is valid, so the kernel refused the flags"
    if newer:
        reason += ": it may be older than one of " + ", ".join(newer)
    return reason + ", or the thread is in strict seccomp mode"


def install(
    program: Program | Sequence[Instruction],
    *,
    tsync: bool = True,
    no_new_privs: bool = True,
    log: bool = False,
    spec_allow: bool = False,
    new_listener: bool = False,
    tsync_esrch: bool = False,
    wait_killable_recv: bool = False,
) -> int | None:
    """Load ``program`` as a seccomp filter on this process; returns the listener fd or None.

    - ``no_new_privs``: set ``PR_SET_NO_NEW_PRIVS`` first (needed without CAP_SYS_ADMIN).
    - ``tsync``: apply to every thread (``SECCOMP_FILTER_FLAG_TSYNC``); a thread that cannot
      be synchronised raises :class:`TsyncError` naming it, and nothing is installed.
    - ``log``, ``spec_allow``, ``tsync_esrch``, ``wait_killable_recv``: the flags of the
      same names.
    - ``new_listener``: return a user-notification fd (``SECCOMP_FILTER_FLAG_NEW_LISTENER``).
      With ``tsync`` as well, ``TSYNC_ESRCH`` is added: the kernel refuses ``TSYNC`` with
      ``NEW_LISTENER`` otherwise, as their results could not be told apart.

    A sequence of instructions is made into a :class:`Program` first, so an invalid one
    raises :class:`~seccomp_bpf.errors.InvalidProgramError` before any system call.
    """
    if not isinstance(program, Program):
        program = Program(program)
    flags = FilterFlag(0)
    if tsync:
        flags |= FilterFlag.TSYNC
    if log:
        flags |= FilterFlag.LOG
    if spec_allow:
        flags |= FilterFlag.SPEC_ALLOW
    if new_listener:
        flags |= FilterFlag.NEW_LISTENER
        if tsync:
            flags |= FilterFlag.TSYNC_ESRCH
    if tsync_esrch:
        flags |= FilterFlag.TSYNC_ESRCH
    if wait_killable_recv:
        flags |= FilterFlag.WAIT_KILLABLE_RECV
    if no_new_privs:
        set_no_new_privs()
    result = set_mode_filter(program, flags)
    return result if new_listener else None


# --- probes ---------------------------------------------------------------------------------------


def action_available(action_ret_value: int) -> bool:
    """Whether the kernel supports the action of ``action_ret_value``
    (``SECCOMP_GET_ACTION_AVAIL``, Linux 4.14).

    Only the action bits count (``SECCOMP_RET_ACTION_FULL``): ``ERRNO(5)`` asks about ERRNO.
    False when the kernel says no, is too old to answer, or has no seccomp at all.
    """
    number = seccomp_syscall_number()
    if number is None:
        return False
    action = action_ret_value & op.SECCOMP_RET_ACTION_FULL
    return not libc.seccomp_get_action_avail(number, action).failed


def available_actions() -> frozenset[SeccompAction]:
    """Every action this kernel supports (empty when it cannot say)."""
    from seccomp_bpf.bpf.actions import SeccompAction

    return frozenset(action for action in SeccompAction if action_available(action.value))


class NotifSizes:
    """``struct seccomp_notif_sizes``: the sizes, in bytes, this kernel uses for the
    user-notification structures and ``struct seccomp_data``. Compared by the three."""

    __slots__ = ("data", "notif", "notif_resp")

    def __init__(self, notif: int, notif_resp: int, data: int) -> None:
        self.notif = notif
        self.notif_resp = notif_resp
        self.data = data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NotifSizes):
            return NotImplemented
        return (self.notif, self.notif_resp, self.data) == (
            other.notif,
            other.notif_resp,
            other.data,
        )

    def __hash__(self) -> int:
        return hash((self.notif, self.notif_resp, self.data))

    def __repr__(self) -> str:
        return f"NotifSizes(notif={self.notif}, notif_resp={self.notif_resp}, data={self.data})"


def notif_sizes() -> NotifSizes | None:
    """``SECCOMP_GET_NOTIF_SIZES`` (Linux 5.0), or None when the kernel cannot answer."""
    number = seccomp_syscall_number()
    if number is None:
        return None
    result, (notif, notif_resp, data) = libc.seccomp_get_notif_sizes(number)
    if result.failed:
        return None
    return NotifSizes(notif, notif_resp, data)
