"""libseccomp's constants and settings: actions, comparison operators, architecture tokens,
filter attributes and API levels (``<seccomp.h>``, ``seccomp_attr_set(3)``,
``seccomp_api_get(3)``), and which of them a level allows."""

from __future__ import annotations

import errno as errno_codes
import functools
import os
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch import Arch as ArchInfo
from seccomp_bpf.arch import all_arches, lookup_arch, native_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.errors import LibseccompValueError
from seccomp_bpf.policy.conditions import (
    Equal,
    GreaterOrEqual,
    GreaterThan,
    LessOrEqual,
    LessThan,
    MaskedEqual,
    NotEqual,
    ValueComparison,
)

U32: Final = 0xFFFFFFFF
U64: Final = (1 << 64) - 1

# --- actions: <seccomp.h> SCMP_ACT_*, the kernel's SECCOMP_RET_* (<linux/seccomp.h>) ---------

KILL_PROCESS: Final = op.SECCOMP_RET_KILL_PROCESS
KILL: Final = op.SECCOMP_RET_KILL_THREAD
TRAP: Final = op.SECCOMP_RET_TRAP
LOG: Final = op.SECCOMP_RET_LOG
ALLOW: Final = op.SECCOMP_RET_ALLOW
NOTIFY: Final = op.SECCOMP_RET_USER_NOTIF


def ERRNO(errno: int) -> int:  # noqa: N802 - the binding's name
    """The action ERRNO(x): the call fails with errno ``x`` (``SCMP_ACT_ERRNO``)."""
    return op.SECCOMP_RET_ERRNO | (errno & op.SECCOMP_RET_DATA)


def TRACE(value: int) -> int:  # noqa: N802 - the binding's name
    """The action TRACE(x): a ptrace tracer gets ``x`` via ``PTRACE_GETEVENTMSG``."""
    return op.SECCOMP_RET_TRACE | (value & op.SECCOMP_RET_DATA)


# --- comparisons: <seccomp.h> enum scmp_compare ---------------------------------------------

NE: Final = 1
LT: Final = 2
LE: Final = 3
EQ: Final = 4
GE: Final = 5
GT: Final = 6
MASKED_EQ: Final = 7
OPERATIONS: Final[dict[int, type[ValueComparison] | type[MaskedEqual]]] = {
    NE: NotEqual,
    LT: LessThan,
    LE: LessOrEqual,
    EQ: Equal,
    GE: GreaterOrEqual,
    GT: GreaterThan,
    MASKED_EQ: MaskedEqual,
}
OPERATION_NAMES: Final[dict[int, str]] = {
    NE: "NE",
    LT: "LT",
    LE: "LE",
    EQ: "EQ",
    GE: "GE",
    GT: "GT",
    MASKED_EQ: "MASKED_EQ",
}
ARG_COUNT_MAX: Final = 6  # <seccomp.h>: ARG_COUNT_MAX

# --- architectures ----------------------------------------------------------------------------
# <seccomp.h>: SCMP_ARCH_* are the AUDIT_ARCH_* values (<linux/audit.h>), except x32, which
# shares AUDIT_ARCH_X86_64 with x86-64 and gets its own token, EM_X86_64 | __AUDIT_ARCH_LE.
SCMP_ARCH_X32: Final = 0x4000003E


def token_of(arch: ArchInfo) -> int:
    return SCMP_ARCH_X32 if arch.name == "x32" else arch.audit_arch


@functools.cache
def arches_by_token() -> dict[int, ArchInfo]:
    return {token_of(a): a for a in all_arches() if a.libseccomp_name is not None}


class Arch:
    """Architecture tokens (``SCMP_ARCH_*``), and ``Arch(name_or_token)`` objects.

    ``Arch()`` is the native architecture; ``Arch("x86")`` or ``Arch(Arch.X86)`` another;
    ``int()`` gives the token. An unknown one raises ``ValueError("Invalid architecture")``.
    """

    NATIVE: Final = 0
    X86: Final = 0x40000003
    X86_64: Final = 0xC000003E
    X32: Final = SCMP_ARCH_X32
    ARM: Final = 0x40000028
    AARCH64: Final = 0xC00000B7
    LOONGARCH64: Final = 0xC0000102
    M68K: Final = 0x00000004
    MIPS: Final = 0x00000008
    MIPS64: Final = 0x80000008
    MIPS64N32: Final = 0xA0000008
    MIPSEL: Final = 0x40000008
    MIPSEL64: Final = 0xC0000008
    MIPSEL64N32: Final = 0xE0000008
    PARISC: Final = 0x0000000F
    PARISC64: Final = 0x8000000F
    PPC: Final = 0x00000014
    PPC64: Final = 0x80000015
    PPC64LE: Final = 0xC0000015
    S390: Final = 0x00000016
    S390X: Final = 0x80000016
    RISCV64: Final = 0xC00000F3
    SHEB: Final = 0x0000002A
    SH: Final = 0x4000002A

    def __init__(self, arch: int | str = 0) -> None:
        if isinstance(arch, bool) or not isinstance(arch, int | str):
            raise TypeError("Architecture must be an int or str type")
        if isinstance(arch, str):
            found = lookup_arch(arch)
            if found is None and arch.strip().lower() == "native":
                found = native_arch()
            if found is None or found.libseccomp_name is None:
                raise LibseccompValueError("Invalid architecture", errno_codes.EINVAL, arch)
            self._token = token_of(found)
        else:
            self._token = arch_info(arch).token

    def __int__(self) -> int:
        return self._token

    def __index__(self) -> int:
        return self._token

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Arch):
            return self._token == other._token
        if isinstance(other, int) and not isinstance(other, bool):
            return self._token == other & U32
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._token)

    def __repr__(self) -> str:
        return f"Arch({arches_by_token()[self._token].libseccomp_name!r})"


@dataclass(frozen=True, slots=True)
class FilterArch:
    """An architecture as this module holds it: its description and its token."""

    info: ArchInfo
    token: int


def arch_info(arch: object) -> FilterArch:
    """The architecture of a token (``Arch.NATIVE`` is the native one), an :class:`Arch`
    object, or a name; ``ValueError("Invalid architecture")`` otherwise."""
    if isinstance(arch, Arch):
        token = int(arch)
    elif isinstance(arch, str):
        token = int(Arch(arch))
    elif isinstance(arch, int) and not isinstance(arch, bool):
        token = arch & U32
    else:
        raise TypeError("Architecture must be an int or str type")
    if token == Arch.NATIVE:
        native = native_arch()
        return FilterArch(native, token_of(native))
    info = arches_by_token().get(token)
    if info is None:
        raise LibseccompValueError(
            "Invalid architecture", errno_codes.EINVAL, f"no architecture has token {token:#x}"
        )
    return FilterArch(info, token)


# --- attributes: <seccomp.h> enum scmp_filter_attr ------------------------------------------


class Attr:
    """Filter attributes (``SCMP_FLTATR_*``, see ``seccomp_attr_set(3)``)."""

    ACT_DEFAULT: Final = 1
    ACT_BADARCH: Final = 2
    CTL_NNP: Final = 3
    CTL_TSYNC: Final = 4
    API_TSKIP: Final = 5
    CTL_LOG: Final = 6
    CTL_SSB: Final = 7
    CTL_OPTIMIZE: Final = 8
    API_SYSRAWRC: Final = 9
    CTL_WAITKILL: Final = 10


ATTRIBUTE_DEFAULTS: Final[dict[int, int]] = {
    Attr.ACT_BADARCH: KILL,  # seccomp_attr_set(3): "Defaults to the SCMP_ACT_KILL action"
    Attr.CTL_NNP: 1,
    Attr.CTL_TSYNC: 0,
    Attr.API_TSKIP: 0,
    Attr.CTL_LOG: 0,
    Attr.CTL_SSB: 0,
    Attr.CTL_OPTIMIZE: 1,
    Attr.API_SYSRAWRC: 0,
    Attr.CTL_WAITKILL: 0,
}
# The API level each attribute needs (seccomp_api_get(3)); below it setting it fails with
# -EOPNOTSUPP, as libseccomp checks the filter flag behind it when it is set. CTL_WAITKILL is
# not checked when set (libseccomp's own test, 13-basic-attrs, sets it at level 5): a kernel
# without SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV refuses it when the filter is loaded.
ATTRIBUTE_LEVEL: Final[dict[int, int]] = {
    Attr.CTL_TSYNC: 2,
    Attr.CTL_LOG: 3,
    Attr.CTL_SSB: 4,
}

# --- API levels (seccomp_api_get(3)) -----------------------------------------------------------

MAX_API_LEVEL: Final = 7
# seccomp(2): the Linux version that added each filter flag the levels need and that no
# action tells apart: SECCOMP_FILTER_FLAG_SPEC_ALLOW 4.17, TSYNC_ESRCH 5.7, WAIT_KILLABLE_RECV
# 5.19.
_SPEC_ALLOW_SINCE: Final = (4, 17)
_TSYNC_ESRCH_SINCE: Final = (5, 7)
_WAIT_KILLABLE_SINCE: Final = (5, 19)


@dataclass
class _ApiLevel:
    """The level :func:`get_api` answers: probed once, or forced by :func:`set_api`."""

    value: int | None = None


_API_LEVEL: Final = _ApiLevel()


def _kernel_version() -> tuple[int, int]:
    parts = os.uname().release.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)


def _probe_api_level() -> int:
    """libseccomp's ladder (``_seccomp_api_update`` in ``src/api.c``), one rung per feature:
    2 seccomp(2) with TSYNC, 3 the LOG and KILL_PROCESS actions, 4 SPEC_ALLOW, 5 user
    notifications, 6 TSYNC with notifications (TSYNC_ESRCH), 7 WAIT_KILLABLE_RECV."""
    from seccomp_bpf.kernel import action_available, notif_sizes, seccomp_syscall_number

    if seccomp_syscall_number() is None or not action_available(op.SECCOMP_RET_ALLOW):
        return 1
    level = 2
    version = _kernel_version()
    if action_available(op.SECCOMP_RET_LOG) and action_available(op.SECCOMP_RET_KILL_PROCESS):
        level = 3
    if level == 3 and version >= _SPEC_ALLOW_SINCE:
        level = 4
    if level == 4 and action_available(op.SECCOMP_RET_USER_NOTIF) and notif_sizes() is not None:
        level = 5
    if level == 5 and version >= _TSYNC_ESRCH_SINCE:
        level = 6
    if level == 6 and version >= _WAIT_KILLABLE_SINCE:
        level = 7
    return level


def get_api() -> int:
    """The API level: what the running kernel supports, probed once (``seccomp_api_get(3)``),
    or the level given to :func:`set_api`."""
    if _API_LEVEL.value is None:
        _API_LEVEL.value = _probe_api_level()
    return _API_LEVEL.value


def set_api(level: int) -> None:
    """Force the API level (1..7); ``ValueError("Invalid level")`` otherwise. It decides which
    actions and attributes are accepted, as in libseccomp."""
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError("level must be an int")
    if not 1 <= level <= MAX_API_LEVEL:
        raise LibseccompValueError(
            "Invalid level", errno_codes.EINVAL, f"API levels are 1..{MAX_API_LEVEL}"
        )
    _API_LEVEL.value = level


def action_valid(action: int) -> bool:
    """libseccomp's ``sys_chk_seccomp_action``: an exact action value the API level allows.
    ERRNO takes errnos below MAX_ERRNO (4095); TRAP and the others take no data."""
    level = get_api()
    kind = action & op.SECCOMP_RET_ACTION_FULL
    data = action & op.SECCOMP_RET_DATA
    if kind == op.SECCOMP_RET_ERRNO:
        return data < op.MAX_ERRNO
    if kind == op.SECCOMP_RET_TRACE:
        return True
    if data:
        return False
    if action in (KILL, TRAP, ALLOW):
        return True
    if action in (KILL_PROCESS, LOG):
        return level >= 3
    if action == NOTIFY:
        return level >= 5
    return False


def action_name(action: int) -> str:
    kind = action & op.SECCOMP_RET_ACTION_FULL
    data = action & op.SECCOMP_RET_DATA
    if kind == op.SECCOMP_RET_ERRNO:
        return f"ERRNO({data})"
    if kind == op.SECCOMP_RET_TRACE:
        return f"TRACE({data})"
    names = {
        KILL_PROCESS: "KILL_PROCESS",
        KILL: "KILL",
        TRAP: "TRAP",
        LOG: "LOG",
        ALLOW: "ALLOW",
        NOTIFY: "NOTIFY",
    }
    return names.get(action, f"{action:#010x}")
