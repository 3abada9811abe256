"""Mounts (``mount(2)``, ``mount_namespaces(7)``): what a sandbox's mount namespace is made of.

Everything here changes the calling process's mount namespace only, and is meant for a new
one (``unshare(CLONE_NEWNS)``). :func:`stop_propagation` must come first: a copied namespace
shares its mounts' propagation with the original (``shared`` mounts), and without it a mount
made inside could appear outside.

Read-only by remounting: ``MS_REMOUNT | MS_BIND | MS_RDONLY`` changes the flags of one mount
(the ``vfsmount``, not the file system), so it does not touch the same file system mounted
elsewhere. In a user namespace the remount must repeat the flags the mount is locked with
(``nosuid``, ``nodev``, ``noexec``, the atime mode), or it fails with EPERM: they are read
back with ``statvfs`` and passed again (:func:`remount_read_only`), as bubblewrap does.
"""

from __future__ import annotations

import errno as errno_codes
import os
import re

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import libc

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


# <linux/mount.h>
MS_RDONLY: Final = 1
MS_NOSUID: Final = 2
MS_NODEV: Final = 4
MS_NOEXEC: Final = 8
MS_SYNCHRONOUS: Final = 16
MS_REMOUNT: Final = 32
MS_MANDLOCK: Final = 64
MS_NOSYMFOLLOW: Final = 256
MS_NOATIME: Final = 1024
MS_NODIRATIME: Final = 2048
MS_BIND: Final = 4096
MS_REC: Final = 16384
MS_PRIVATE: Final = 1 << 18
MS_SLAVE: Final = 1 << 19
MS_RELATIME: Final = 1 << 21

# statvfs's f_flag bits (<sys/statvfs.h>, the kernel's ST_* of include/linux/statfs.h) and
# the mount flag each stands for.
_ST_TO_MS: Final = {
    0x0001: MS_RDONLY,  # ST_RDONLY
    0x0002: MS_NOSUID,  # ST_NOSUID
    0x0004: MS_NODEV,  # ST_NODEV
    0x0008: MS_NOEXEC,  # ST_NOEXEC
    0x0010: MS_SYNCHRONOUS,  # ST_SYNCHRONOUS
    0x0040: MS_MANDLOCK,  # ST_MANDLOCK
    0x0400: MS_NOATIME,  # ST_NOATIME
    0x0800: MS_NODIRATIME,  # ST_NODIRATIME
    0x1000: MS_RELATIME,  # ST_RELATIME
    0x2000: MS_NOSYMFOLLOW,  # ST_NOSYMFOLLOW
}


def mount(
    source: str | None,
    target: str,
    filesystem: str | None,
    flags: int,
    data: str | None = None,
) -> None:
    """``mount(2)``; :class:`KernelError` names the target and what was asked."""
    result = libc.mount(
        os.fsencode(source) if source is not None else None,
        os.fsencode(target),
        os.fsencode(filesystem) if filesystem is not None else None,
        flags,
        data.encode() if data is not None else None,
    )
    if result.failed:
        what = filesystem or ("bind" if flags & MS_BIND else "")
        raise KernelError(f"mount({what} on {target}, flags={flags:#x})", result.errno)


def stop_propagation() -> None:
    """Make every mount a slave: mounts from outside still arrive, none made here leaves."""
    mount(None, "/", None, MS_REC | MS_SLAVE)


def bind(source: str, target: str, *, recursive: bool = True) -> None:
    """Bind ``source`` (a path, or ``/proc/self/fd/N``) onto ``target``."""
    mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))


def mount_flags(path: str) -> int:
    """The ``MS_*`` flags the mount holding ``path`` has, from ``statvfs``."""
    flags = os.statvfs(path).f_flag
    return sum(ms for st, ms in _ST_TO_MS.items() if flags & st)


def remount_read_only(target: str) -> None:
    """Make the mount at ``target`` read-only, keeping its other flags."""
    try:
        flags = mount_flags(target)
    except OSError as error:
        raise KernelError(f"statvfs({target})", error.errno or errno_codes.EIO) from None
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)


class MountPoint:
    """One line of ``/proc/self/mountinfo`` (``proc(5)``): the fields used here."""

    __slots__ = ("filesystem", "mount_id", "options", "parent_id", "path")

    def __init__(
        self,
        *,
        mount_id: int,
        parent_id: int,
        path: str,
        filesystem: str,
        options: frozenset[str],
    ) -> None:
        self.mount_id = mount_id
        self.parent_id = parent_id
        self.path = path
        self.filesystem = filesystem
        self.options = options

    def __repr__(self) -> str:
        return f"MountPoint({self.mount_id}, {self.path!r}, {self.filesystem!r})"

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


_ESCAPE: Final = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as ``\\040`` and the like."""
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), field)


def mount_points(mountinfo: str = "/proc/self/mountinfo") -> list[MountPoint]:
    """The mounts of this process's namespace, in the order the kernel lists them (parents
    before the mounts on top of them)."""
    points: list[MountPoint] = []
    with open(mountinfo, encoding="utf-8", errors="surrogateescape") as file:
        for line in file:
            fields = line.split()
            separator = fields.index("-")
            points.append(
                MountPoint(
                    mount_id=int(fields[0]),
                    parent_id=int(fields[1]),
                    path=_unescape(fields[4]),
                    filesystem=fields[separator + 1],
                    options=frozenset(fields[5].split(",")),
                )
            )
    return points
