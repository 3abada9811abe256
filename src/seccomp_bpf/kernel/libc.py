"""The C library through ctypes: the only place in seccomp-bpf that opens it and declares its
functions.

Every function is declared with its argument and return types, so ctypes never guesses a
width. ``syscall(2)`` takes ``long`` arguments: a value given as an unsigned 64-bit number
(``2**64 - 1``) is passed as the same bits (``-1``), so the kernel sees the full register.

Nothing here raises for a failed call: each returns a :class:`SyscallResult` holding the
return value and ``errno``, and the callers (``prctl.py``, ``seccomp.py``, ``landlock.py``,
``capabilities.py``, ``namespaces.py``, ``mounts.py``) decide what a failure means and name the
call in the error. ``ptrace`` is handed over as declared (:func:`ptrace_function`) to
``tracer.py``, the one binding of ``ptrace(2)``. The library is opened on first use, so that
importing this module works on any operating system.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

TYPE_CHECKING = False  # not typing's: the start-up of a confined command does not import it
if TYPE_CHECKING:
    from typing import Final

# <linux/seccomp.h>: the operations of seccomp(2).
SECCOMP_SET_MODE_STRICT: Final = 0
SECCOMP_SET_MODE_FILTER: Final = 1
SECCOMP_GET_ACTION_AVAIL: Final = 2
SECCOMP_GET_NOTIF_SIZES: Final = 3

# syscall(2) has at most six arguments after the number on every Linux architecture.
MAX_SYSCALL_ARGUMENTS: Final = 6

_LONG_BITS: Final = ctypes.sizeof(ctypes.c_long) * 8
_ULONG_BITS: Final = ctypes.sizeof(ctypes.c_ulong) * 8


class SockFilter(ctypes.Structure):
    """``struct sock_filter`` (``<linux/filter.h>``): one classic-BPF instruction."""

    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class SockFprog(ctypes.Structure):
    """``struct sock_fprog`` (``<linux/filter.h>``): length and address of a program."""

    _fields_ = (
        ("len", ctypes.c_ushort),
        ("filter", ctypes.POINTER(SockFilter)),
    )


class SeccompNotifSizes(ctypes.Structure):
    """``struct seccomp_notif_sizes`` (``<linux/seccomp.h>``)."""

    _fields_ = (
        ("seccomp_notif", ctypes.c_uint16),
        ("seccomp_notif_resp", ctypes.c_uint16),
        ("seccomp_data", ctypes.c_uint16),
    )


# The largest program struct sock_fprog can describe (its len is an unsigned short).
SOCK_FPROG_MAX_LEN: Final = 0xFFFF


class SyscallResult:
    """What a call returned; ``errno`` is meaningful only when ``value`` is -1. Compared by
    both. (The records of kernel/ are written out rather than dataclasses: making a
    dataclass executes generated code, which a confined command's start-up would pay.)"""

    __slots__ = ("errno", "value")

    def __init__(self, value: int, errno: int) -> None:
        self.value = value
        self.errno = errno

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SyscallResult):
            return NotImplemented
        return self.value == other.value and self.errno == other.errno

    def __hash__(self) -> int:
        return hash((self.value, self.errno))

    def __repr__(self) -> str:
        return f"SyscallResult(value={self.value}, errno={self.errno})"

    @property
    def failed(self) -> bool:
        return self.value == -1


class _Functions:
    """The C library's functions, declared."""

    __slots__ = ("capget", "capset", "mount", "prctl", "ptrace", "syscall", "unshare")

    def __init__(
        self,
        *,
        syscall: Callable[..., int],
        prctl: Callable[..., int],
        unshare: Callable[..., int],
        mount: Callable[..., int],
        capget: Callable[..., int],
        capset: Callable[..., int],
        ptrace: Callable[..., int],
    ) -> None:
        self.syscall = syscall
        self.prctl = prctl
        self.unshare = unshare
        self.mount = mount
        self.capget = capget
        self.capset = capset
        self.ptrace = ptrace


@functools.cache
def _functions() -> _Functions:
    """Open the C library of this process and declare the functions used."""
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    # long syscall(long number, ...): declared with seven longs, the number and six
    # arguments, which is how the variadic call passes them on every Linux ABI.
    syscall.argtypes = [ctypes.c_long] * (1 + MAX_SYSCALL_ARGUMENTS)
    syscall.restype = ctypes.c_long
    prctl = libc.prctl
    # int prctl(int option, unsigned long arg2, arg3, arg4, arg5)
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    unshare = libc.unshare
    # int unshare(int flags)
    unshare.argtypes = [ctypes.c_int]
    unshare.restype = ctypes.c_int
    mount = libc.mount
    # int mount(const char *source, const char *target, const char *filesystemtype,
    #           unsigned long mountflags, const void *data)
    mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    mount.restype = ctypes.c_int
    # int capget(cap_user_header_t hdrp, cap_user_data_t datap), and capset the same: glibc
    # exports both (sys/capability.h is libcap's; the kernel ABI is <linux/capability.h>).
    capget = libc.capget
    capget.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    capget.restype = ctypes.c_int
    capset = libc.capset
    capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    capset.restype = ctypes.c_int
    ptrace = libc.ptrace
    # long ptrace(enum __ptrace_request request, pid_t pid, void *addr, void *data): glibc's
    # variadic wrapper passes these through unchanged for the requests used here. addr and
    # data are declared as unsigned longs, which every Linux ABI passes like pointers, so a
    # number goes through without a conversion object.
    ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_ulong, ctypes.c_ulong]
    ptrace.restype = ctypes.c_long
    return _Functions(
        syscall=syscall,
        prctl=prctl,
        unshare=unshare,
        mount=mount,
        capget=capget,
        capset=capset,
        ptrace=ptrace,
    )


def ptrace_function() -> Callable[..., int]:
    """glibc's ``ptrace``, declared, itself: :mod:`.tracer` calls it on the profiler's hot
    path, where a :class:`SyscallResult` per call would cost, and reads ``errno`` itself."""
    return _functions().ptrace


def _call(function: Callable[..., int], *args: object) -> SyscallResult:
    """Call ``function`` with errno cleared first; its result and errno."""
    ctypes.set_errno(0)
    value = int(function(*args))
    return SyscallResult(value, ctypes.get_errno() if value == -1 else 0)


def _as_long(value: int, what: str) -> int:
    """``value`` as a C ``long`` with the same bits: accepts signed and unsigned forms."""
    if not -(1 << (_LONG_BITS - 1)) <= value < (1 << _LONG_BITS):
        raise ValueError(f"{what} {value} does not fit in {_LONG_BITS} bits")
    value &= (1 << _LONG_BITS) - 1
    return value - (1 << _LONG_BITS) if value >> (_LONG_BITS - 1) else value


def _as_ulong(value: int, what: str) -> int:
    if not -(1 << (_ULONG_BITS - 1)) <= value < (1 << _ULONG_BITS):
        raise ValueError(f"{what} {value} does not fit in {_ULONG_BITS} bits")
    return value & ((1 << _ULONG_BITS) - 1)


def syscall(number: int, *args: int) -> SyscallResult:
    """``syscall(number, args...)``: a raw system call with up to six arguments.

    Arguments may be given signed or unsigned (``-1`` and ``2**64 - 1`` are the same 64-bit
    argument); a value that fits in neither raises ValueError.
    """
    if len(args) > MAX_SYSCALL_ARGUMENTS:
        raise ValueError(
            f"a system call has at most {MAX_SYSCALL_ARGUMENTS} arguments, not {len(args)}"
        )
    converted = [_as_long(number, "system call number")]
    converted += [_as_long(arg, f"argument {i}") for i, arg in enumerate(args)]
    converted += [0] * (MAX_SYSCALL_ARGUMENTS - len(args))
    return _call(_functions().syscall, *converted)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> SyscallResult:
    """``prctl(option, arg2, arg3, arg4, arg5)``."""
    args = [
        _as_ulong(arg, f"prctl argument {i}") for i, arg in enumerate((arg2, arg3, arg4, arg5), 2)
    ]
    return _call(_functions().prctl, option, *args)


def unshare(flags: int) -> SyscallResult:
    """``unshare(flags)``: new namespaces for this process (``unshare(2)``)."""
    return _call(_functions().unshare, flags)


def mount(
    source: bytes | None,
    target: bytes,
    filesystem: bytes | None,
    flags: int,
    data: bytes | None = None,
) -> SyscallResult:
    """``mount(source, target, filesystem, flags, data)`` (``mount(2)``); paths as bytes."""
    flags = _as_ulong(flags, "mount flags")
    return _call(_functions().mount, source, target, filesystem, flags, data)


class CapUserHeader(ctypes.Structure):
    """``struct __user_cap_header_struct`` (``<linux/capability.h>``)."""

    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class CapUserData(ctypes.Structure):
    """``struct __user_cap_data_struct`` (``<linux/capability.h>``): one 32-bit word of each
    set; version 3 passes two of them (capabilities 0-31, then 32-63)."""

    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def capget(header: CapUserHeader, data: ctypes.Array[CapUserData]) -> SyscallResult:
    """``capget(header, data)`` (``capget(2)``)."""
    return _call(_functions().capget, ctypes.addressof(header), ctypes.addressof(data))


def capset(header: CapUserHeader, data: ctypes.Array[CapUserData]) -> SyscallResult:
    """``capset(header, data)`` (``capset(2)``)."""
    return _call(_functions().capset, ctypes.addressof(header), ctypes.addressof(data))


def seccomp_set_mode_filter(number: int, flags: int, program: bytes) -> SyscallResult:
    """``seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`` with ``program`` as raw
    ``struct sock_filter`` records in this machine's byte order.

    ``number`` is ``__NR_seccomp`` for this process. The length must be a whole number of
    8-byte records and at most ``SOCK_FPROG_MAX_LEN`` records; the kernel judges the rest.
    """
    size = ctypes.sizeof(SockFilter)
    if len(program) % size:
        raise ValueError(f"{len(program)} bytes is not a whole number of {size}-byte instructions")
    count = len(program) // size
    if count > SOCK_FPROG_MAX_LEN:
        raise ValueError(f"{count} instructions do not fit in struct sock_fprog")
    # Both objects must stay alive until the call returns: the kernel copies the program
    # from this memory during the call.
    instructions = (SockFilter * count).from_buffer_copy(program)
    fprog = SockFprog(count, ctypes.cast(instructions, ctypes.POINTER(SockFilter)))
    return syscall(number, SECCOMP_SET_MODE_FILTER, flags, ctypes.addressof(fprog))


def seccomp_get_action_avail(number: int, action: int) -> SyscallResult:
    """``seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)``: 0 when ``action`` is supported."""
    value = ctypes.c_uint32(action)
    return syscall(number, SECCOMP_GET_ACTION_AVAIL, 0, ctypes.addressof(value))


def seccomp_get_notif_sizes(number: int) -> tuple[SyscallResult, tuple[int, int, int]]:
    """``seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes)``; the sizes are (seccomp_notif,
    seccomp_notif_resp, seccomp_data) and meaningful only when the call succeeded."""
    sizes = SeccompNotifSizes()
    result = syscall(number, SECCOMP_GET_NOTIF_SIZES, 0, ctypes.addressof(sizes))
    return result, (sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data)
