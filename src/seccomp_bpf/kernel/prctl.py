"""The ``prctl(2)`` settings that matter for confinement: no_new_privs, dumpability, the
parent-death signal and the child subreaper."""

from __future__ import annotations

import ctypes

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import libc

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


# <linux/prctl.h>
PR_SET_PDEATHSIG: Final = 1
PR_GET_PDEATHSIG: Final = 2
PR_GET_DUMPABLE: Final = 3
PR_SET_DUMPABLE: Final = 4
PR_SET_NO_NEW_PRIVS: Final = 38
PR_SET_CHILD_SUBREAPER: Final = 36
PR_GET_NO_NEW_PRIVS: Final = 39


def set_no_new_privs() -> None:
    """``prctl(PR_SET_NO_NEW_PRIVS, 1)``: execve can no longer grant privileges.

    A filter may be installed without CAP_SYS_ADMIN only after this (``seccomp(2)``). It
    cannot be undone, and it is inherited by children and kept across execve.
    """
    result = libc.prctl(PR_SET_NO_NEW_PRIVS, 1)
    if result.failed:
        raise KernelError("prctl(PR_SET_NO_NEW_PRIVS, 1)", result.errno)


def get_no_new_privs() -> bool:
    """``prctl(PR_GET_NO_NEW_PRIVS)``: whether the calling thread has no_new_privs set."""
    result = libc.prctl(PR_GET_NO_NEW_PRIVS)
    if result.failed:
        raise KernelError("prctl(PR_GET_NO_NEW_PRIVS)", result.errno)
    return result.value == 1


def set_dumpable(dumpable: bool) -> None:
    """``prctl(PR_SET_DUMPABLE, dumpable)``: whether a fatal signal may write a core dump.

    A process killed by a filter (``SECCOMP_RET_KILL_*``) dumps core when it is dumpable;
    clearing the flag prevents that whatever ``core_pattern`` says (``fs/coredump.c``).
    """
    result = libc.prctl(PR_SET_DUMPABLE, int(dumpable))
    if result.failed:
        raise KernelError(f"prctl(PR_SET_DUMPABLE, {int(dumpable)})", result.errno)


def set_parent_death_signal(signal: int) -> None:
    """``prctl(PR_SET_PDEATHSIG, signal)``: the signal this process gets when the thread
    that created it ends (0: none).

    ``prctl(2)``: it is cleared in a child of ``fork`` and on ``execve`` of a set-user-ID
    or set-group-ID file or one with capabilities, and kept across other ``execve``. The
    parent may already have ended when it is set: check ``getppid()`` afterwards.
    """
    result = libc.prctl(PR_SET_PDEATHSIG, signal)
    if result.failed:
        raise KernelError(f"prctl(PR_SET_PDEATHSIG, {signal})", result.errno)


def get_parent_death_signal() -> int:
    """``prctl(PR_GET_PDEATHSIG)``: the parent-death signal of this process (0: none)."""
    value = ctypes.c_int(0)
    result = libc.prctl(PR_GET_PDEATHSIG, ctypes.addressof(value))
    if result.failed:
        raise KernelError("prctl(PR_GET_PDEATHSIG)", result.errno)
    return value.value


def set_child_subreaper() -> None:
    """``prctl(PR_SET_CHILD_SUBREAPER, 1)``: the descendants of this process whose parent ends
    are given to it rather than to init (``prctl(2)``), so that it can still find and end
    them, however they detached (double fork, ``setsid``)."""
    result = libc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    if result.failed:
        raise KernelError("prctl(PR_SET_CHILD_SUBREAPER, 1)", result.errno)
