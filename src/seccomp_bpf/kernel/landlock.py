"""Landlock (``landlock(7)``): restrict this thread's filesystem and network rights, for good.

Three system calls, with no C library wrapper (``landlock_create_ruleset(2)``,
``landlock_add_rule(2)``, ``landlock_restrict_self(2)``):

1. a *ruleset* names the rights it handles (``handled_access_fs``, ``handled_access_net``)
   and the scopes it closes (``scoped``); every handled right is denied unless a rule grants it;
2. rules grant rights beneath a directory (or on one file) opened with ``O_PATH``, or on a TCP
   port;
3. ``landlock_restrict_self`` puts the calling thread, and every process it starts from then
   on, in a new Landlock *domain*. It needs no_new_privs or ``CAP_SYS_ADMIN``. A domain cannot
   be left; a later one only narrows it.

A process in a domain can also no longer ptrace a process outside it, nor open the
``/proc/PID/mem`` of one (``security/landlock/task.c``: ``hook_ptrace_access_check``).

What each ABI version adds (``Documentation/userspace-api/landlock.rst``):

====  =======  ==================================================================
ABI   Linux    adds
====  =======  ==================================================================
1     5.13     filesystem rights EXECUTE ... MAKE_SYM
2     5.19     ``REFER``: renaming or linking into another directory (before, always EXDEV)
3     6.2      ``TRUNCATE``
4     6.7      TCP ``BIND_TCP`` and ``CONNECT_TCP`` port rules
5     6.10     ``IOCTL_DEV``: ioctl on device files
6     6.12     scopes: ``SCOPE_ABSTRACT_UNIX_SOCKET``, ``SCOPE_SIGNAL`` (also ``F_SETOWN`` SIGIO)
7     6.15     logging flags of ``landlock_restrict_self``
====  =======  ==================================================================

:func:`abi_version` is a probe: it returns 0 when the kernel has no Landlock (ENOSYS, or
EOPNOTSUPP when it is built in but disabled at boot), never raises. The other calls raise
:class:`~seccomp_bpf.errors.KernelError` naming the call. ``struct landlock_ruleset_attr`` is
always passed whole (24 bytes): a kernel that knows a shorter one accepts the longer when the
fields it does not know are zero (``copy_struct_from_user``), so the caller must only ask an
old kernel for rights it has (:func:`fs_rights_for` and friends).
"""

from __future__ import annotations

import ctypes
import errno as errno_codes
from collections.abc import Mapping
from types import MappingProxyType

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import libc
from seccomp_bpf.kernel.abi import X32_SYSCALL_BIT, syscall_abi

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


# <linux/landlock.h>
LANDLOCK_CREATE_RULESET_VERSION: Final = 1 << 0
LANDLOCK_RULE_PATH_BENEATH: Final = 1
LANDLOCK_RULE_NET_PORT: Final = 2

ACCESS_FS_EXECUTE: Final = 1 << 0
ACCESS_FS_WRITE_FILE: Final = 1 << 1
ACCESS_FS_READ_FILE: Final = 1 << 2
ACCESS_FS_READ_DIR: Final = 1 << 3
ACCESS_FS_REMOVE_DIR: Final = 1 << 4
ACCESS_FS_REMOVE_FILE: Final = 1 << 5
ACCESS_FS_MAKE_CHAR: Final = 1 << 6
ACCESS_FS_MAKE_DIR: Final = 1 << 7
ACCESS_FS_MAKE_REG: Final = 1 << 8
ACCESS_FS_MAKE_SOCK: Final = 1 << 9
ACCESS_FS_MAKE_FIFO: Final = 1 << 10
ACCESS_FS_MAKE_BLOCK: Final = 1 << 11
ACCESS_FS_MAKE_SYM: Final = 1 << 12
ACCESS_FS_REFER: Final = 1 << 13  # ABI 2
ACCESS_FS_TRUNCATE: Final = 1 << 14  # ABI 3
ACCESS_FS_IOCTL_DEV: Final = 1 << 15  # ABI 5

ACCESS_NET_BIND_TCP: Final = 1 << 0  # ABI 4
ACCESS_NET_CONNECT_TCP: Final = 1 << 1  # ABI 4

SCOPE_ABSTRACT_UNIX_SOCKET: Final = 1 << 0  # ABI 6
SCOPE_SIGNAL: Final = 1 << 1  # ABI 6

# The rights that apply to a file, as opposed to a directory: a rule on a file may grant
# only these (security/landlock/fs.c: ACCESS_FILE; EINVAL otherwise).
ACCESS_FS_FILE: Final = (
    ACCESS_FS_EXECUTE
    | ACCESS_FS_WRITE_FILE
    | ACCESS_FS_READ_FILE
    | ACCESS_FS_TRUNCATE
    | ACCESS_FS_IOCTL_DEV
)

# The filesystem rights of each ABI: ABI 1 has bits 0..12, then one bit per version that
# added one (none in 4, 6 and 7).
_FS_RIGHTS_BY_ABI: Final = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}

ABI_NET: Final = 4
ABI_SCOPE: Final = 6


def fs_rights_for(abi: int) -> int:
    """Every filesystem right ABI ``abi`` knows (0 for no Landlock)."""
    known = [rights for version, rights in _FS_RIGHTS_BY_ABI.items() if version <= abi]
    return max(known, default=0)


def net_rights_for(abi: int) -> int:
    """Every network right ABI ``abi`` knows."""
    return ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP if abi >= ABI_NET else 0


def scopes_for(abi: int) -> int:
    """Every scope ABI ``abi`` knows."""
    return SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= ABI_SCOPE else 0


# The numbers of landlock_create_ruleset, landlock_add_rule and landlock_restrict_self: 444,
# 445 and 446 in every table that took the unified numbering of new system calls (Linux 5.13:
# arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl, include/uapi/asm-generic/unistd.h,
# arch/arm/tools/syscall.tbl, arch/powerpc/kernel/syscalls/syscall.tbl,
# arch/s390/kernel/syscalls/syscall.tbl), plus the ABI's base on x32 (__X32_SYSCALL_BIT) and
# MIPS (4000 o32, 5000 n64, 6000 n32). Checked against system-calls 7.2 by a test.
_BASES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "x86_64": 0,
        "x32": X32_SYSCALL_BIT,
        "i386": 0,
        "aarch64": 0,
        "arm": 0,
        "riscv64": 0,
        "riscv32": 0,
        "loongarch64": 0,
        "ppc": 0,
        "ppc64": 0,
        "s390": 0,
        "s390x": 0,
        "mips-o32": 4000,
        "mips-n64": 5000,
        "mips-n32": 6000,
    }
)
LANDLOCK_NUMBERS: Final[Mapping[str, tuple[int, int, int]]] = MappingProxyType(
    {abi: (base + 444, base + 445, base + 446) for abi, base in _BASES.items()}
)
"""ABI -> the numbers of (landlock_create_ruleset, landlock_add_rule, landlock_restrict_self)."""


class RulesetAttr(ctypes.Structure):
    """``struct landlock_ruleset_attr`` (``<linux/landlock.h>``, 24 bytes since ABI 6)."""

    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class PathBeneathAttr(ctypes.Structure):
    """``struct landlock_path_beneath_attr``: packed, 12 bytes."""

    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class NetPortAttr(ctypes.Structure):
    """``struct landlock_net_port_attr``: 16 bytes; the port in host byte order."""

    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


def _numbers(call: str) -> tuple[int, int, int]:
    abi = syscall_abi()
    numbers = LANDLOCK_NUMBERS.get(abi or "")
    if numbers is None:
        raise KernelError(
            call, errno_codes.ENOSYS, f"its number is not known for this ABI ({abi or 'unknown'})"
        )
    return numbers


def abi_version() -> int:
    """The Landlock ABI version of the running kernel; 0 when it has none, or has it
    disabled, or when the number of the call is unknown here."""
    numbers = LANDLOCK_NUMBERS.get(syscall_abi() or "")
    if numbers is None:
        return 0
    result = libc.syscall(numbers[0], 0, 0, LANDLOCK_CREATE_RULESET_VERSION)
    return 0 if result.failed else result.value


def create_ruleset(handled_fs: int, handled_net: int = 0, scoped: int = 0) -> int:
    """A new ruleset file descriptor (``O_CLOEXEC``) handling these rights and scopes."""
    call = f"landlock_create_ruleset(fs={handled_fs:#x}, net={handled_net:#x}, scoped={scoped:#x})"
    attr = RulesetAttr(handled_fs, handled_net, scoped)
    result = libc.syscall(_numbers(call)[0], ctypes.addressof(attr), ctypes.sizeof(attr), 0)
    if result.failed:
        detail = ""
        if result.errno == errno_codes.EINVAL:
            detail = "this kernel's Landlock does not know one of these rights or scopes"
        elif result.errno in (errno_codes.ENOSYS, errno_codes.EOPNOTSUPP):
            detail = "this kernel has no Landlock, or it is disabled (lsm= boot parameter)"
        raise KernelError(call, result.errno, detail)
    return result.value


def add_path_rule(ruleset: int, allowed: int, parent_fd: int, *, path: str = "") -> None:
    """Grant ``allowed`` beneath the directory (or on the file) ``parent_fd`` refers to;
    ``path`` only names it in errors."""
    call = f"landlock_add_rule(PATH_BENEATH, {path or parent_fd!r}, access={allowed:#x})"
    attr = PathBeneathAttr(allowed, parent_fd)
    result = libc.syscall(
        _numbers(call)[1], ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.addressof(attr), 0
    )
    if result.failed:
        detail = ""
        if result.errno == errno_codes.EINVAL:
            detail = "a file takes only file rights (execute, read, write, truncate, ioctl)"
        raise KernelError(call, result.errno, detail)


def add_port_rule(ruleset: int, allowed: int, port: int) -> None:
    """Grant ``allowed`` (``ACCESS_NET_*``) on TCP port ``port``."""
    call = f"landlock_add_rule(NET_PORT, port={port}, access={allowed:#x})"
    attr = NetPortAttr(allowed, port)
    result = libc.syscall(
        _numbers(call)[1], ruleset, LANDLOCK_RULE_NET_PORT, ctypes.addressof(attr), 0
    )
    if result.failed:
        raise KernelError(call, result.errno)


def restrict_self(ruleset: int, flags: int = 0) -> None:
    """Enter the domain of ``ruleset``: this thread and everything it starts, for good."""
    call = "landlock_restrict_self"
    result = libc.syscall(_numbers(call)[2], ruleset, flags)
    if result.failed:
        detail = ""
        if result.errno == errno_codes.EPERM:
            detail = "it needs no_new_privs or CAP_SYS_ADMIN"
        elif result.errno == errno_codes.E2BIG:
            detail = "this thread is already in 16 nested Landlock domains"
        raise KernelError(call, result.errno, detail)
