"""Capabilities (``capabilities(7)``): read and empty a thread's five capability sets.

A thread has five sets: *effective* (what the kernel checks), *permitted* (what it may make
effective), *inheritable* and *ambient* (what ``execve`` may carry over), and the *bounding*
set (the most any ``execve`` can grant). Across ``execve`` (``capabilities(7)``, "Transformation
of capabilities during execve()"), with ``F`` the file's capabilities and ``P`` the thread's::

    P'(ambient)   = P(ambient), emptied for a privileged file
    P'(permitted) = (P(inheritable) & F(inheritable)) | (F(permitted) & P(bounding)) | P'(ambient)
    P'(effective) = F(effective) ? P'(permitted) : P'(ambient)

and a process whose user ID is 0 is treated as if every file had full ``F(inheritable)`` and
``F(permitted)`` and the effective bit set. So root keeps nothing across ``execve`` only if
its inheritable, ambient **and bounding** sets are empty: emptying the bounding set is what
stops a root process from getting every capability back at its next exec. Dropping is always
allowed; ``PR_CAPBSET_DROP`` needs ``CAP_SETPCAP`` in the effective set, so it comes first.

A capability kept across ``execve`` by a process whose user ID is not 0 must be in the
ambient set, which needs it in the permitted and inheritable sets
(``PR_CAP_AMBIENT_RAISE``, Linux 4.3).

Capability sets belong to threads: these functions change the calling thread only.
"""

from __future__ import annotations

import ctypes
import errno as errno_codes
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import libc

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


# <linux/capability.h>: _LINUX_CAPABILITY_VERSION_3 and its two 32-bit words per set.
CAPABILITY_VERSION_3: Final = 0x20080522
_WORDS: Final = 2

# <linux/prctl.h>
PR_CAPBSET_READ: Final = 23
PR_CAPBSET_DROP: Final = 24
PR_CAP_AMBIENT: Final = 47
PR_CAP_AMBIENT_IS_SET: Final = 1
PR_CAP_AMBIENT_RAISE: Final = 2
PR_CAP_AMBIENT_CLEAR_ALL: Final = 4

# <linux/capability.h>: every capability of Linux 6.18, by number.
CAPABILITIES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "CAP_CHOWN": 0,
        "CAP_DAC_OVERRIDE": 1,
        "CAP_DAC_READ_SEARCH": 2,
        "CAP_FOWNER": 3,
        "CAP_FSETID": 4,
        "CAP_KILL": 5,
        "CAP_SETGID": 6,
        "CAP_SETUID": 7,
        "CAP_SETPCAP": 8,
        "CAP_LINUX_IMMUTABLE": 9,
        "CAP_NET_BIND_SERVICE": 10,
        "CAP_NET_BROADCAST": 11,
        "CAP_NET_ADMIN": 12,
        "CAP_NET_RAW": 13,
        "CAP_IPC_LOCK": 14,
        "CAP_IPC_OWNER": 15,
        "CAP_SYS_MODULE": 16,
        "CAP_SYS_RAWIO": 17,
        "CAP_SYS_CHROOT": 18,
        "CAP_SYS_PTRACE": 19,
        "CAP_SYS_PACCT": 20,
        "CAP_SYS_ADMIN": 21,
        "CAP_SYS_BOOT": 22,
        "CAP_SYS_NICE": 23,
        "CAP_SYS_RESOURCE": 24,
        "CAP_SYS_TIME": 25,
        "CAP_SYS_TTY_CONFIG": 26,
        "CAP_MKNOD": 27,
        "CAP_LEASE": 28,
        "CAP_AUDIT_WRITE": 29,
        "CAP_AUDIT_CONTROL": 30,
        "CAP_SETFCAP": 31,
        "CAP_MAC_OVERRIDE": 32,
        "CAP_MAC_ADMIN": 33,
        "CAP_SYSLOG": 34,
        "CAP_WAKE_ALARM": 35,
        "CAP_BLOCK_SUSPEND": 36,
        "CAP_AUDIT_READ": 37,
        "CAP_PERFMON": 38,
        "CAP_BPF": 39,
        "CAP_CHECKPOINT_RESTORE": 40,
    }
)
CAPABILITY_NAMES: Final[Mapping[int, str]] = MappingProxyType(
    {number: name for name, number in CAPABILITIES.items()}
)


def capability_name(number: int) -> str:
    """``CAP_SYS_ADMIN`` for 21; ``capability 41`` for a number newer than this table."""
    return CAPABILITY_NAMES.get(number, f"capability {number}")


class CapabilitySets:
    """The five sets of a thread, as sets of capability numbers."""

    __slots__ = ("ambient", "bounding", "effective", "inheritable", "permitted")

    def __init__(
        self,
        *,
        effective: frozenset[int],
        permitted: frozenset[int],
        inheritable: frozenset[int],
        ambient: frozenset[int],
        bounding: frozenset[int],
    ) -> None:
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
        self.ambient = ambient
        self.bounding = bounding

    def __repr__(self) -> str:
        return (
            f"CapabilitySets(effective={sorted(self.effective)}, "
            f"permitted={sorted(self.permitted)}, inheritable={sorted(self.inheritable)}, "
            f"ambient={sorted(self.ambient)}, bounding={sorted(self.bounding)})"
        )

    def all_empty(self) -> bool:
        return not (
            self.effective or self.permitted or self.inheritable or self.ambient or self.bounding
        )


def last_capability() -> int:
    """The highest capability number of the running kernel (a newer kernel may have more
    than :data:`CAPABILITIES`): ``/proc/sys/kernel/cap_last_cap`` (Linux 3.2)."""
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as file:
            return int(file.read())
    except (OSError, ValueError):
        # PR_CAPBSET_READ fails with EINVAL past the last one.
        number = 0
        while not libc.prctl(PR_CAPBSET_READ, number + 1).failed:
            number += 1
        return number


def _bits(words: Iterable[int]) -> frozenset[int]:
    result: set[int] = set()
    for index, word in enumerate(words):
        result.update(index * 32 + bit for bit in range(32) if word >> bit & 1)
    return frozenset(result)


def _words(capabilities: Iterable[int]) -> list[int]:
    words = [0] * _WORDS
    for number in capabilities:
        words[number // 32] |= 1 << (number % 32)
    return words


def _sets() -> tuple[libc.CapUserHeader, ctypes.Array[libc.CapUserData]]:
    header = libc.CapUserHeader(CAPABILITY_VERSION_3, 0)
    data = (libc.CapUserData * _WORDS)()
    result = libc.capget(header, data)
    if result.failed:
        raise KernelError("capget", result.errno)
    return header, data


def effective_capabilities() -> frozenset[int]:
    """The effective set of the calling thread (one ``capget``)."""
    _, data = _sets()
    return _bits(word.effective for word in data)


def capabilities() -> CapabilitySets:
    """The five capability sets of the calling thread."""
    _, data = _sets()
    last = last_capability()
    bounding = frozenset(
        number for number in range(last + 1) if libc.prctl(PR_CAPBSET_READ, number).value == 1
    )
    ambient = frozenset(
        number
        for number in range(last + 1)
        if libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, number).value == 1
    )
    return CapabilitySets(
        effective=_bits(word.effective for word in data),
        permitted=_bits(word.permitted for word in data),
        inheritable=_bits(word.inheritable for word in data),
        ambient=ambient,
        bounding=bounding,
    )


def keep_only(kept: Iterable[int] = ()) -> frozenset[int]:
    """Empty all five sets of the calling thread but ``kept``, which stay (or become) effective,
    permitted, inheritable and ambient, and stay in the bounding set, so that they survive
    ``execve`` whatever the user ID. Returns what is left of the bounding set beyond ``kept``.

    A kept capability the thread does not have raises :class:`KernelError` (EPERM) naming it.
    The order matters: the bounding set first (``PR_CAPBSET_DROP`` needs ``CAP_SETPCAP``
    effective), the ambient set, then ``capset``, then the ambient capabilities to keep.

    A thread without ``CAP_SETPCAP`` (an unprivileged user outside a user namespace of its
    own) cannot change its bounding set: it is left as it is and returned. The bounding set
    only limits what ``execve`` can grant from a file's capabilities or a set-user-ID root
    program, which ``no_new_privs`` ignores (``prctl(2)``), so under no_new_privs a thread
    that holds no capability has none to gain either way.
    """
    keep = frozenset(kept)
    _, data = _sets()
    have = _bits(word.permitted for word in data)
    missing = sorted(keep - have)
    if missing:
        names = ", ".join(capability_name(number) for number in missing)
        raise KernelError(
            "capset", errno_codes.EPERM, f"cannot keep {names}: this process does not have it"
        )
    setpcap = CAPABILITIES["CAP_SETPCAP"] in _bits(word.effective for word in data)
    left: set[int] = set()
    for number in range(last_capability() + 1):
        if number in keep or libc.prctl(PR_CAPBSET_READ, number).value == 0:
            continue  # kept, or not in the bounding set already
        result = libc.prctl(PR_CAPBSET_DROP, number)
        if result.failed and result.errno == errno_codes.EPERM and not setpcap:
            left.add(number)
        elif result.failed and result.errno != errno_codes.EINVAL:  # EINVAL: no such one
            raise KernelError(f"prctl(PR_CAPBSET_DROP, {capability_name(number)})", result.errno)
    result = libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    if result.failed and result.errno != errno_codes.EINVAL:  # EINVAL: before Linux 4.3
        raise KernelError("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)", result.errno)
    words = _words(keep)
    header = libc.CapUserHeader(CAPABILITY_VERSION_3, 0)
    new = (libc.CapUserData * _WORDS)(*[libc.CapUserData(w, w, w) for w in words])
    result = libc.capset(header, new)
    if result.failed:
        raise KernelError("capset", result.errno)
    for number in sorted(keep):
        result = libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, number)
        if result.failed:
            raise KernelError(
                f"prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, {capability_name(number)})",
                result.errno,
            )
    return frozenset(left)
