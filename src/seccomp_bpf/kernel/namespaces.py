"""Namespaces (``namespaces(7)``): ``unshare(2)`` and a new user namespace's ID maps.

- A new **user** namespace (``user_namespaces(7)``) gives the process every capability
  inside it, which is what lets a user without privileges create the others. Its user and
  group IDs mean nothing until ``/proc/self/uid_map`` and ``gid_map`` are written; a process
  without privileges may map exactly one ID, its own, and must first write ``deny`` to
  ``/proc/self/setgroups`` (Linux 3.19) before it may write ``gid_map``.
- A new **PID** namespace (``pid_namespaces(7)``) applies to the children created after
  ``unshare``: the first becomes its PID 1 (its *init*), which the other members cannot kill
  or send a signal it has no handler for; when it ends, the kernel kills every other member.
  Processes outside are invisible inside.
- A new **mount** namespace (``mount_namespaces(7)``) starts as a copy of the caller's mounts;
  the mounts of a namespace owned by a less privileged user namespace are "locked" together
  and keep their flags (``nosuid``, ``nodev``, ``noexec``, ``ro``) whatever a remount says.
- **IPC** (System V IPC, POSIX message queues), **UTS** (host name) and **network**
  namespaces (a new one has only a loopback interface, down).
"""

from __future__ import annotations

import errno as errno_codes
import os

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import libc

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


# <linux/sched.h>
CLONE_NEWNS: Final = 0x00020000
CLONE_NEWCGROUP: Final = 0x02000000
CLONE_NEWUTS: Final = 0x04000000
CLONE_NEWIPC: Final = 0x08000000
CLONE_NEWUSER: Final = 0x10000000
CLONE_NEWPID: Final = 0x20000000
CLONE_NEWNET: Final = 0x40000000

_NAMES: Final = {
    CLONE_NEWUSER: "CLONE_NEWUSER",
    CLONE_NEWPID: "CLONE_NEWPID",
    CLONE_NEWNS: "CLONE_NEWNS",
    CLONE_NEWIPC: "CLONE_NEWIPC",
    CLONE_NEWUTS: "CLONE_NEWUTS",
    CLONE_NEWNET: "CLONE_NEWNET",
    CLONE_NEWCGROUP: "CLONE_NEWCGROUP",
}


def flag_names(flags: int) -> str:
    """``CLONE_NEWUSER|CLONE_NEWPID``, in the order above."""
    names = [name for bit, name in _NAMES.items() if flags & bit]
    rest = flags & ~sum(_NAMES)
    if rest:
        names.append(f"{rest:#x}")
    return "|".join(names) or "0"


def unshare(flags: int) -> None:
    """``unshare(flags)``; :class:`KernelError` names the flags and the likely reason."""
    result = libc.unshare(flags)
    if not result.failed:
        return
    detail = ""
    if result.errno == errno_codes.EPERM:
        detail = (
            "this needs CAP_SYS_ADMIN, or a user namespace, which this system may forbid "
            "(a container's seccomp profile, kernel.unprivileged_userns_clone=0, an AppArmor "
            "restriction)"
            if flags & CLONE_NEWUSER
            else "this needs CAP_SYS_ADMIN"
        )
    elif result.errno == errno_codes.EINVAL and flags & CLONE_NEWUSER:
        detail = "a user namespace needs a single-threaded process"
    elif result.errno == errno_codes.ENOSPC:
        detail = "the limit of nested or per-user namespaces is reached (user.max_*_namespaces)"
    raise KernelError(f"unshare({flag_names(flags)})", result.errno, detail)


def _write(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as error:
        raise KernelError(f"open({path})", error.errno or errno_codes.EIO) from None
    try:
        os.write(fd, text.encode())
    except OSError as error:
        call = f"write({path}, {text.strip()!r})"
        raise KernelError(call, error.errno or errno_codes.EIO) from None
    finally:
        os.close(fd)


def map_own_ids(uid: int, gid: int) -> None:
    """In a new user namespace, map ``uid`` and ``gid`` (this process's IDs outside) to the
    same numbers inside, so that files keep their owner and programs see their own IDs.
    ``setgroups`` is denied first, as the kernel requires of a process without privileges."""
    _write("/proc/self/setgroups", "deny")
    try:
        _write("/proc/self/uid_map", f"{uid} {uid} 1\n")
    except KernelError as error:
        if uid == 0 and error.errno == errno_codes.EPERM:
            # kernel/user_namespace.c (new_idmap_permitted, Linux 5.12): mapping user ID 0
            # needs CAP_SETFCAP, which a root process without capabilities lacks.
            raise KernelError(
                "write(/proc/self/uid_map, '0 0 1')",
                error.errno,
                "mapping user ID 0 needs CAP_SETFCAP (Linux 5.12)",
            ) from None
        raise
    _write("/proc/self/gid_map", f"{gid} {gid} 1\n")
