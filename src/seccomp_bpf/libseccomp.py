"""The API of libseccomp's Python binding (``import seccomp``), without libseccomp.

Existing code switches by changing one import::

    import seccomp_bpf.libseccomp as seccomp
    from seccomp_bpf.libseccomp import *    # as "from seccomp import *"

    f = SyscallFilter(defaction=KILL)
    f.add_rule(ALLOW, "read", Arg(0, EQ, sys.stdin.fileno()))
    f.add_rule(ALLOW, "write", Arg(0, EQ, sys.stdout.fileno()))
    f.add_rule(ALLOW, "exit_group")
    f.load()

The filter is kept as libseccomp keeps it (rules per architecture, attributes, transactions),
turned into :class:`~seccomp_bpf.policy.Policy` objects (one per group of architectures
with the same rules) and compiled by seccomp-bpf's compiler; :meth:`SyscallFilter.load`
installs it through :mod:`seccomp_bpf.kernel`. Constants have libseccomp's values
(``<seccomp.h>``). Errors are raised as the binding raises them: ``RuntimeError("Library
error (errno = -N)")`` (here :class:`~seccomp_bpf.errors.LibseccompError`, with a reason
appended) and ``ValueError`` for an invalid architecture, attribute, action or API level.

What the rules mean. libseccomp documents (``seccomp_rule_add(3)``) that the rules form a
union, that every comparison of one rule must hold, that one rule compares each argument at
most once (``-EINVAL`` otherwise), that a rule whose action is the default action is refused
(``-EACCES``), that an existing rule is ``-EEXIST``, and that a rule without comparisons drops
the rules with comparisons for that system call. It leaves open which of two *overlapping*
rules with different actions wins ("not something libseccomp has ever guaranteed",
libseccomp#148). This module decides per system call:

1. A rule without comparisons decides every call of that number; the first one added wins
   (libseccomp ignores later ones). A ``MASKED_EQ`` with mask 0 tests nothing and does not
   count as a comparison, as in libseccomp.
2. Otherwise the rules whose comparisons hold are considered; a rule whose comparisons
   imply another's (a strictly smaller set of calls) is tried before it, which is the order
   libseccomp gives comparisons of one argument (``a0 > 5`` before ``a0 > 3``); between
   rules that do not contain one another, the one added first is tried first. A second rule
   with the same comparisons and another action is ``-EEXIST``, as in libseccomp.
3. Otherwise the default action.

Where this differs from libseccomp's output, libseccomp contradicts its own documentation
or decides something it leaves open:

- On 32-bit ABIs libseccomp compares the low 32 bits of the argument with the low 32 bits
  of the rule's value: ``offset < 2**40`` never holds and ``arg == 2**32 + 5`` holds for 5.
  Here a value is compared as documented ("matches when the argument value is equal to the
  datum value"), with the argument the call sees (its low word on i386, arm...; the whole
  64-bit register on x32).
- On architectures where socket and IPC calls also arrive through ``socketcall(2)``/``ipc(2)``
  ``add_rule`` adds the rule for the direct call and, for the multiplexer, a rule on the call
  number alone (``ipc`` compares the low 16 bits of its first argument, as the kernel reads
  it). libseccomp keeps the comparisons of arguments 1-5 there, where they test the
  multiplexer's own arguments (a pointer, mostly), so that its rule almost never holds;
  the rule's conditions cannot follow through the pointer, which is what
  ``multiplexer_conditions: drop`` says. ``add_rule_exactly`` refuses such calls
  (``-EOPNOTSUPP``), as libseccomp does.
- libseccomp silently drops a rule whose comparisons extend those of an earlier rule (and
  refuses the reverse order with ``-EEXIST``); here both are kept, the more specific first.

A rule for the number -1 (tracers' "skip this call", allowed with ``Attr.API_TSKIP``) is a
rule for ``nr`` 0xffffffff; on x86-64 that number carries the x32 bit, so there it is decided
as an x32 call (``bad_arch_action`` unless the filter has x32).

``Arch`` and action constants are unsigned 32-bit numbers (the binding gives the 64-bit
``Arch`` tokens and ``KILL_PROCESS`` as negative C ints); every function also takes the
negative forms. Syscall numbers given as ints are read in the native architecture's table
and translated by name, as libseccomp does; a name that some known architecture has but
the queried one lacks resolves to a negative pseudo number (libseccomp's numbering of
those differs: use names). ``syscall_priority`` and ``SCMP_FLTATR_CTL_OPTIMIZE`` are hints:
priorities become the compiler's frequency profile; the compiler picks its own layout.
"""

from __future__ import annotations

import errno as errno_codes
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Final

from seccomp_bpf.arch import Arch as ArchInfo
from seccomp_bpf.arch import all_arches, known_syscall_names, lookup_arch, native_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program, ja
from seccomp_bpf.compiler.frequency import FrequencyProfile
from seccomp_bpf.errors import (
    KernelError,
    LibseccompError,
    LibseccompValueError,
    SeccompBPFError,
    TsyncError,
)
from seccomp_bpf.policy.actions import Action, ActionKind
from seccomp_bpf.policy.conditions import (
    BY_OPERATION,
    All,
    Condition,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    LessOrEqual,
    LessThan,
    MaskedEqual,
    NotEqual,
    ValueComparison,
)
from seccomp_bpf.policy.diagrams import Diagrams
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import mirror_condition
from seccomp_bpf.policy.rules import Rule

__all__ = [
    "ALLOW",
    "EQ",
    "ERRNO",
    "GE",
    "GT",
    "KILL",
    "KILL_PROCESS",
    "LE",
    "LOG",
    "LT",
    "MASKED_EQ",
    "NE",
    "NOTIFY",
    "TRACE",
    "TRAP",
    "Arch",
    "Arg",
    "Attr",
    "Notification",
    "NotificationResponse",
    "SyscallFilter",
    "get_api",
    "resolve_syscall",
    "set_api",
    "system_arch",
]

_U32: Final = 0xFFFFFFFF
_U64: Final = (1 << 64) - 1

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
_OPS: Final[dict[int, type[ValueComparison] | type[MaskedEqual]]] = {
    NE: NotEqual,
    LT: LessThan,
    LE: LessOrEqual,
    EQ: Equal,
    GE: GreaterOrEqual,
    GT: GreaterThan,
    MASKED_EQ: MaskedEqual,
}
_OP_NAMES: Final[dict[int, str]] = {
    NE: "NE",
    LT: "LT",
    LE: "LE",
    EQ: "EQ",
    GE: "GE",
    GT: "GT",
    MASKED_EQ: "MASKED_EQ",
}
_ARG_COUNT_MAX: Final = 6  # <seccomp.h>: ARG_COUNT_MAX

# --- architectures ----------------------------------------------------------------------------
# <seccomp.h>: SCMP_ARCH_* are the AUDIT_ARCH_* values (<linux/audit.h>), except x32, which
# shares AUDIT_ARCH_X86_64 with x86-64 and gets its own token, EM_X86_64 | __AUDIT_ARCH_LE.
_SCMP_ARCH_X32: Final = 0x4000003E


def _token_of(arch: ArchInfo) -> int:
    return _SCMP_ARCH_X32 if arch.name == "x32" else arch.audit_arch


@functools.cache
def _arches_by_token() -> dict[int, ArchInfo]:
    return {_token_of(a): a for a in all_arches() if a.libseccomp_name is not None}


class Arch:
    """Architecture tokens (``SCMP_ARCH_*``), and ``Arch(name_or_token)`` objects.

    ``Arch()`` is the native architecture; ``Arch("x86")`` or ``Arch(Arch.X86)`` another;
    ``int()`` gives the token. An unknown one raises ``ValueError("Invalid architecture")``.
    """

    NATIVE: Final = 0
    X86: Final = 0x40000003
    X86_64: Final = 0xC000003E
    X32: Final = _SCMP_ARCH_X32
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
            self._token = _token_of(found)
        else:
            self._token = _arch_info(arch).token

    def __int__(self) -> int:
        return self._token

    def __index__(self) -> int:
        return self._token

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Arch):
            return self._token == other._token
        if isinstance(other, int) and not isinstance(other, bool):
            return self._token == other & _U32
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._token)

    def __repr__(self) -> str:
        return f"Arch({_arches_by_token()[self._token].libseccomp_name!r})"


@dataclass(frozen=True, slots=True)
class _Resolved:
    """An architecture as this module holds it: its description and its token."""

    info: ArchInfo
    token: int


def _arch_info(arch: object) -> _Resolved:
    """The architecture of a token (``Arch.NATIVE`` is the native one), an :class:`Arch`
    object, or a name; ``ValueError("Invalid architecture")`` otherwise."""
    if isinstance(arch, Arch):
        token = int(arch)
    elif isinstance(arch, str):
        token = int(Arch(arch))
    elif isinstance(arch, int) and not isinstance(arch, bool):
        token = arch & _U32
    else:
        raise TypeError("Architecture must be an int or str type")
    if token == Arch.NATIVE:
        native = native_arch()
        return _Resolved(native, _token_of(native))
    info = _arches_by_token().get(token)
    if info is None:
        raise LibseccompValueError(
            "Invalid architecture", errno_codes.EINVAL, f"no architecture has token {token:#x}"
        )
    return _Resolved(info, token)


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


_ATTRIBUTE_DEFAULTS: Final[dict[int, int]] = {
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
# -EOPNOTSUPP.
_ATTRIBUTE_LEVEL: Final[dict[int, int]] = {
    Attr.CTL_TSYNC: 2,
    Attr.CTL_LOG: 3,
    Attr.CTL_SSB: 4,
    Attr.CTL_WAITKILL: 7,
}

# --- API levels (seccomp_api_get(3)) -----------------------------------------------------------

_MAX_API_LEVEL: Final = 7
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
    if not 1 <= level <= _MAX_API_LEVEL:
        raise LibseccompValueError(
            "Invalid level", errno_codes.EINVAL, f"API levels are 1..{_MAX_API_LEVEL}"
        )
    _API_LEVEL.value = level


def _action_valid(action: int) -> bool:
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


def _action_name(action: int) -> str:
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


# --- system calls -----------------------------------------------------------------------------

_NR_SCMP_ERROR: Final = -1  # <seccomp.h>: __NR_SCMP_ERROR
_PSEUDO_BASE: Final = -10000


@functools.cache
def _pseudo_numbers() -> dict[str, int]:
    """A negative number for every known name (used where an architecture lacks it)."""
    return {name: _PSEUDO_BASE - i for i, name in enumerate(sorted(known_syscall_names()))}


@functools.cache
def _pseudo_names() -> dict[int, str]:
    return {nr: name for name, nr in _pseudo_numbers().items()}


def system_arch() -> int:
    """The native architecture's token (``seccomp_arch_native()``)."""
    return _token_of(native_arch())


def resolve_syscall(arch: int | Arch | str, syscall: int | str) -> int | bytes:
    """A name's number on ``arch`` (an int), or a number's name (``bytes``, as the binding).

    A call that ``arch`` multiplexes gives the multiplexer's number, direct call or not
    (``seccomp_syscall_resolve_name_rewrite``: "rewriting the syscall number ... in case of a
    multiplexed syscall, like socketcall(2) or ipc(2) on x86"); a name ``arch`` lacks gives a
    negative pseudo number, an unknown name ``-1``; an unknown number raises ``ValueError``.
    """
    info = _arch_info(arch)
    if isinstance(syscall, str):
        table = info.info.syscalls
        for multiplexer, calls in (("socketcall", info.info.socketcall), ("ipc", info.info.ipc)):
            if syscall in calls and multiplexer in table:
                return table[multiplexer]
        if syscall in table:
            return table[syscall]
        return _pseudo_numbers().get(syscall, _NR_SCMP_ERROR)
    if isinstance(syscall, int) and not isinstance(syscall, bool):
        name = info.info.syscall_name(syscall & _U32)
        if name is None:
            raise ValueError(f"Unknown syscall {syscall} on arch {info.token}")
        return name.encode()
    raise TypeError("Syscall must either be an int or str type")


# --- arguments and notifications ------------------------------------------------------------


def _unsigned(value: object, bits: int, what: str) -> int:
    """A C unsigned integer as Cython converts one: OverflowError outside its range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise OverflowError(f"can't convert negative value to a {bits}-bit unsigned {what}")
    if value >> bits:
        raise OverflowError(f"{what} {value} does not fit in {bits} bits")
    return value


class Arg:
    """One argument comparison: ``Arg(arg, op, datum_a, datum_b=0)``.

    ``op`` is one of ``NE LT LE EQ GE GT`` (argument ``arg`` against ``datum_a``) or
    ``MASKED_EQ``: ``(arg & datum_a) == (datum_b & datum_a)``, as ``SCMP_CMP(arg,
    SCMP_CMP_MASKED_EQ, mask, datum)`` in C (the binding's docstring has the two swapped; its
    code, like libseccomp, takes the mask first). Values are 64-bit unsigned; an invalid
    argument number or operator is refused when the rule is added (``-EINVAL``).
    """

    __slots__ = ("_arg", "_datum_a", "_datum_b", "_op")

    def __init__(self, arg: int, op: int, datum_a: int, datum_b: int = 0) -> None:
        self._arg = _unsigned(arg, 32, "argument number")
        if isinstance(op, bool) or not isinstance(op, int):
            raise TypeError("op must be an int such as EQ")
        self._op = op
        self._datum_a = _unsigned(datum_a, 64, "datum_a")
        self._datum_b = _unsigned(datum_b, 64, "datum_b")

    @property
    def arg(self) -> int:
        return self._arg

    @property
    def op(self) -> int:
        return self._op

    @property
    def datum_a(self) -> int:
        return self._datum_a

    @property
    def datum_b(self) -> int:
        return self._datum_b

    def __repr__(self) -> str:
        name = _OP_NAMES.get(self._op, str(self._op))
        extra = f", {self._datum_b:#x}" if self._op == MASKED_EQ else ""
        return f"Arg({self._arg}, {name}, {self._datum_a:#x}{extra})"


class Notification:
    """A system call waiting for an answer (``struct seccomp_notif``)."""

    __slots__ = ("_arch", "_args", "_flags", "_id", "_ip", "_pid", "_syscall")

    def __init__(  # noqa: PLR0917 - the binding's positional signature
        self,
        id: int,
        pid: int,
        flags: int,
        syscall: int,
        arch: int,
        instruction_pointer: int,
        args: Sequence[int],
    ) -> None:
        self._id = id
        self._pid = pid
        self._flags = flags
        self._syscall = syscall
        self._arch = arch
        self._ip = instruction_pointer
        self._args = list(args)

    @property
    def id(self) -> int:
        return self._id

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def flags(self) -> int:
        return self._flags

    @property
    def syscall(self) -> int:
        return self._syscall

    @property
    def syscall_arch(self) -> int:
        return self._arch

    @property
    def syscall_ip(self) -> int:
        return self._ip

    @property
    def syscall_args(self) -> list[int]:
        return list(self._args)

    def __repr__(self) -> str:
        return (
            f"Notification(id={self._id}, pid={self._pid}, syscall={self._syscall}, "
            f"syscall_arch={self._arch:#x}, syscall_args={self._args})"
        )


class NotificationResponse:
    """The answer to a :class:`Notification` (``struct seccomp_notif_resp``): the call returns
    ``val``, or fails with ``error`` (a negated errno, e.g. ``-errno.EPERM``); ``flags`` 1
    (``SECCOMP_USER_NOTIF_FLAG_CONTINUE``) lets it run instead."""

    __slots__ = ("error", "flags", "id", "val")

    def __init__(self, notify: Notification, val: int = 0, error: int = 0, flags: int = 0) -> None:
        if not isinstance(notify, Notification):
            raise TypeError("notify must be a Notification object")
        self.id: int = notify.id
        self.val: int = val
        self.error: int = error
        self.flags: int = flags

    def __repr__(self) -> str:
        return (
            f"NotificationResponse(id={self.id}, val={self.val}, error={self.error}, "
            f"flags={self.flags})"
        )


# --- the filter ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """One rule on one architecture, after name resolution and multiplexer rewriting."""

    nr: int
    action: int
    condition: Condition | None
    key: tuple[object, ...]  # what makes two rules "the same rule" for -EEXIST
    call: str  # the add_rule call it came from, for export_pfc
    via: str | None = None


@dataclass
class _State:
    default: int
    arches: list[ArchInfo]
    rules: dict[str, list[_Rule]]
    attributes: dict[int, int]
    priorities: dict[str, int] = field(default_factory=dict)


def _library_error(code: int, detail: str) -> LibseccompError:
    return LibseccompError(code, detail)


def _comparison_key(args: Sequence[Arg]) -> tuple[tuple[int, str, int, int], ...]:
    """libseccomp's reading of the comparisons: ``(arg, op, mask, datum)`` sorted by argument;
    for MASKED_EQ ``mask`` is ``datum_a`` and the datum is masked (``_db_node_mask_fixup``),
    and a zero mask, which tests nothing, is left out (``_db_rule_gen_64``)."""
    out: list[tuple[int, str, int, int]] = []
    for item in args:
        name = _OPS[item.op].operation
        if item.op == MASKED_EQ:
            if not item.datum_a:
                continue  # (a & 0) == 0 always holds: libseccomp drops it, and so the rule
                # counts as one without comparisons
            out.append((item.arg, name, item.datum_a, item.datum_b & item.datum_a))
        else:
            out.append((item.arg, name, _U64, item.datum_a))
    return tuple(sorted(out))


def _condition(key: Sequence[tuple[int, str, int, int]]) -> Condition | None:
    parts: list[Condition] = []
    for arg, name, mask, datum in key:
        kind = BY_OPERATION[name]
        if kind is MaskedEqual:
            parts.append(MaskedEqual(arg, mask, datum))
        else:
            assert issubclass(kind, ValueComparison)
            parts.append(kind(arg, datum))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _call_text(method: str, action: int, syscall: int | str, args: Sequence[Arg]) -> str:
    shown = ", ".join([_action_name(action), repr(syscall), *(repr(a) for a in args)])
    return f"{method}({shown})"


class SyscallFilter:
    """A seccomp filter under construction, as libseccomp's ``scmp_filter_ctx``.

    Besides the binding's methods it has :meth:`policies` (the filter as seccomp-bpf policies)
    and :meth:`program` (the compiled filter).
    """

    def __init__(self, defaction: int) -> None:
        action = self._action_value(defaction)
        if not _action_valid(action):
            raise LibseccompError(
                errno_codes.EINVAL,
                f"{_action_name(action)} is not a valid default action",
                message="Library error",
            )
        self._defaction = action
        self._state = self._fresh(action)
        self._snapshots: list[_State] = []
        self._notify_fd: int | None = None
        self._program: Program | None = None

    # --- state ----------------------------------------------------------------------------

    @staticmethod
    def _action_value(action: object) -> int:
        if isinstance(action, bool) or not isinstance(action, int):
            raise TypeError("an action is an int such as ALLOW or ERRNO(1)")
        return action & _U32

    @staticmethod
    def _fresh(default: int) -> _State:
        native = native_arch()
        return _State(
            default=default,
            arches=[native],
            rules={native.name: []},
            attributes=dict(_ATTRIBUTE_DEFAULTS),
        )

    def _changed(self) -> None:
        self._program = None

    def reset(self, defaction: int = -1) -> None:
        """Back to a new filter with ``defaction`` (by default the one the filter was
        created with): native architecture only, no rules, default attributes."""
        action = self._defaction if defaction == -1 else self._action_value(defaction)
        if not _action_valid(action):
            raise LibseccompValueError(
                "Invalid action", errno_codes.EINVAL, f"{_action_name(action)} is not valid"
            )
        self._state = self._fresh(action)
        self._snapshots.clear()
        self._changed()

    def merge(self, filter: SyscallFilter) -> None:
        """Take the architectures and rules of ``filter``, which is then reset. Both must have
        the same attributes (``-EINVAL``), no architecture in common (``-EEXIST``) and the
        same byte order (``-EDOM``)."""
        if not isinstance(filter, SyscallFilter):
            raise TypeError("filter must be a SyscallFilter")
        mine, theirs = self._state, filter._state
        if mine.default != theirs.default or mine.attributes != theirs.attributes:
            raise _library_error(errno_codes.EINVAL, "the filters' attributes differ")
        shared = [a.name for a in theirs.arches if any(a.name == b.name for b in mine.arches)]
        if shared:
            raise _library_error(errno_codes.EEXIST, f"both filters have {', '.join(shared)}")
        orders = {a.byteorder for a in [*mine.arches, *theirs.arches]}
        if len(orders) > 1:
            raise _library_error(errno_codes.EDOM, "the filters' byte orders differ")
        for arch in theirs.arches:
            mine.arches.append(arch)
            mine.rules[arch.name] = list(theirs.rules.get(arch.name, []))
        for name, priority in theirs.priorities.items():
            mine.priorities[name] = max(priority, mine.priorities.get(name, 0))
        filter.reset()
        self._changed()

    # --- architectures ----------------------------------------------------------------------

    def exist_arch(self, arch: int | Arch) -> bool:
        """Whether the filter has ``arch``."""
        info = _arch_info(arch).info
        return any(a.name == info.name for a in self._state.arches)

    def add_arch(self, arch: int | Arch) -> None:
        """Add ``arch``. Rules added before are not added to it (``seccomp_arch_add(3)``)."""
        info = _arch_info(arch).info
        state = self._state
        if any(a.name == info.name for a in state.arches):
            raise _library_error(errno_codes.EEXIST, f"the filter has {info.name} already")
        if state.arches and state.arches[0].byteorder != info.byteorder:
            raise _library_error(
                errno_codes.EDOM,
                f"{info.name} is {info.byteorder}-endian, the filter's architectures are not",
            )
        state.arches.append(info)
        state.rules[info.name] = []
        self._changed()

    def remove_arch(self, arch: int | Arch) -> None:
        """Remove ``arch`` and its rules."""
        info = _arch_info(arch).info
        state = self._state
        if not any(a.name == info.name for a in state.arches):
            raise _library_error(errno_codes.EEXIST, f"the filter has no {info.name}")
        state.arches = [a for a in state.arches if a.name != info.name]
        state.rules.pop(info.name, None)
        self._changed()

    # --- attributes ---------------------------------------------------------------------------

    def get_attr(self, attr: int) -> int:
        """An attribute's value (``Attr.*``)."""
        if attr == Attr.ACT_DEFAULT:
            return self._state.default
        if attr not in _ATTRIBUTE_DEFAULTS:
            raise LibseccompValueError(
                "Invalid attribute", errno_codes.EINVAL, f"no attribute {attr}"
            )
        return self._state.attributes[attr]

    def set_attr(self, attr: int, value: int) -> None:
        """Set an attribute; ``ACT_DEFAULT`` is read-only (``-EACCES``), flags are 0 or 1."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("an attribute value is an int")
        if attr == Attr.ACT_DEFAULT:
            raise _library_error(errno_codes.EACCES, "the default action is read-only")
        if attr not in _ATTRIBUTE_DEFAULTS:
            raise LibseccompValueError(
                "Invalid attribute", errno_codes.EINVAL, f"no attribute {attr}"
            )
        value &= _U32
        needed = _ATTRIBUTE_LEVEL.get(attr)
        if needed is not None and get_api() < needed:
            raise _library_error(
                errno_codes.EOPNOTSUPP, f"attribute {attr} needs API level {needed}"
            )
        if attr == Attr.ACT_BADARCH:
            if not _action_valid(value):
                raise LibseccompValueError(
                    "Invalid attribute", errno_codes.EINVAL, f"{_action_name(value)} is not valid"
                )
        elif attr == Attr.CTL_OPTIMIZE:
            if value not in (1, 2):
                raise _library_error(
                    errno_codes.EOPNOTSUPP, "SCMP_FLTATR_CTL_OPTIMIZE takes 1 or 2"
                )
        else:
            if attr == Attr.CTL_TSYNC and value and get_api() < 6 and self._uses_notify():
                raise LibseccompValueError(
                    "Invalid attribute",
                    errno_codes.EINVAL,
                    "TSYNC with NOTIFY needs API level 6 (SECCOMP_FILTER_FLAG_TSYNC_ESRCH)",
                )
            value = 1 if value else 0
        self._state.attributes[attr] = value
        self._changed()

    def syscall_priority(self, syscall: int | str, priority: int) -> None:
        """A hint (0..255) that ``syscall`` is frequent: it becomes the compiler's frequency
        profile, which puts it nearer the root of the search tree."""
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError("priority must be an int")
        if not 0 <= priority <= 255:
            raise ValueError("Syscall priority must be between 0 and 255")
        name = self._syscall_name(syscall)
        if name is None:
            return
        state = self._state
        state.priorities[name] = max(priority, state.priorities.get(name, 0))
        self._changed()

    def _syscall_name(self, syscall: object) -> str | None:
        """The name a priority is kept under (``None``: a number no table names)."""
        if isinstance(syscall, str):
            if syscall not in known_syscall_names():
                raise _library_error(errno_codes.EINVAL, f"unknown system call {syscall!r}")
            return syscall
        if isinstance(syscall, bool) or not isinstance(syscall, int):
            raise TypeError("Syscall must either be an int or str type")
        if -99 <= syscall <= -1:
            raise _library_error(errno_codes.EINVAL, f"invalid system call number {syscall}")
        if syscall < 0:
            return _pseudo_names().get(syscall)
        return native_arch().syscall_name(syscall)

    # --- rules --------------------------------------------------------------------------------

    def add_rule(self, action: int, syscall: int | str, *args: Arg) -> None:
        """Add a rule: ``syscall`` gets ``action`` when every comparison holds. Socket and IPC
        calls are also applied to ``socketcall``/``ipc`` where an architecture has them."""
        self._add("add_rule", action, syscall, args, exact=False)

    def add_rule_exactly(self, action: int, syscall: int | str, *args: Arg) -> None:
        """Add a rule without any rewriting: ``-EOPNOTSUPP`` when some architecture of the
        filter would need it (the call missing there, or reached through a multiplexer)."""
        self._add("add_rule_exactly", action, syscall, args, exact=True)

    def _add(
        self, method: str, action: int, syscall: int | str, args: Sequence[Arg], *, exact: bool
    ) -> None:
        if len(args) > _ARG_COUNT_MAX:
            raise LibseccompError(
                errno_codes.EINVAL,
                f"at most {_ARG_COUNT_MAX} comparisons",
                message="Maximum number of arguments exceeded",
            )
        for item in args:
            if not isinstance(item, Arg):
                raise TypeError(f"Cannot convert {type(item).__name__} to seccomp.Arg")
        if isinstance(syscall, bool) or not isinstance(syscall, int | str):
            raise TypeError("Syscall must either be an int or str type")
        action = self._action_value(action)
        state = self._state
        if not state.arches:
            raise _library_error(errno_codes.EINVAL, "the filter has no architecture")
        tskip = bool(state.attributes[Attr.API_TSKIP])
        if isinstance(syscall, int) and -99 <= syscall <= -1 and not (syscall == -1 and tskip):
            raise _library_error(
                errno_codes.EINVAL,
                f"invalid system call number {syscall}"
                + (" (-1 needs Attr.API_TSKIP)" if syscall == -1 else ""),
            )
        if not _action_valid(action):
            raise _library_error(
                errno_codes.EINVAL, f"{_action_name(action)} is not a valid action here"
            )
        if action == state.default:
            raise _library_error(
                errno_codes.EACCES,
                f"the rule's action {_action_name(action)} is the filter's default action",
            )
        if action == NOTIFY and state.attributes[Attr.CTL_TSYNC] and get_api() < 6:
            raise _library_error(errno_codes.EINVAL, "NOTIFY with TSYNC needs API level 6")
        seen_args: set[int] = set()
        for item in args:
            if item.arg >= _ARG_COUNT_MAX:
                raise _library_error(errno_codes.EINVAL, f"no argument {item.arg} (0..5)")
            if item.op not in _OPS:
                raise _library_error(errno_codes.EINVAL, f"unknown comparison operator {item.op}")
            if item.arg in seen_args:
                raise _library_error(
                    errno_codes.EINVAL,
                    f"argument {item.arg} is compared twice; a rule compares each argument "
                    "once (seccomp_rule_add(3)): add one rule per alternative",
                )
            seen_args.add(item.arg)
        key = _comparison_key(args)
        condition = _condition(key)
        call = _call_text(method, action, syscall, args)
        additions = [
            (arch, rule)
            for arch in state.arches
            for rule in self._translate(
                arch, syscall, action=action, key=key, condition=condition, call=call, exact=exact
            )
        ]
        for arch, rule in additions:
            for existing in state.rules[arch.name]:
                if (
                    existing.nr == rule.nr
                    and existing.key == rule.key
                    and existing.action != rule.action
                    and rule.condition is not None
                ):
                    raise _library_error(
                        errno_codes.EEXIST,
                        f"{existing.call} already gives these calls "
                        f"{_action_name(existing.action)}",
                    )
        for arch, rule in additions:
            rules = state.rules[arch.name]
            if not any(e.nr == rule.nr and e.key == rule.key for e in rules):
                rules.append(rule)
        self._changed()

    def _translate(
        self,
        arch: ArchInfo,
        syscall: int | str,
        *,
        action: int,
        key: tuple[tuple[int, str, int, int], ...],
        condition: Condition | None,
        call: str,
        exact: bool,
    ) -> list[_Rule]:
        """The rules ``syscall`` becomes on ``arch``: its number there, and the mirror on
        ``socketcall``/``ipc`` (the call number only) where ``arch`` multiplexes it."""
        native = native_arch()
        name: str | None
        if isinstance(syscall, str):
            if syscall not in known_syscall_names():
                raise _library_error(errno_codes.EINVAL, f"unknown system call {syscall!r}")
            name = syscall
        elif syscall == -1:
            return [_Rule(_U32, action, condition, (None, key), call)]
        elif syscall < 0:
            name = _pseudo_names().get(syscall)
            if name is None:
                raise _library_error(errno_codes.EFAULT, f"no system call has number {syscall}")
        else:
            name = native.syscall_name(syscall)
            if name is None:
                if arch.name == native.name:
                    return [_Rule(syscall, action, condition, (None, key), call)]
                code = errno_codes.EOPNOTSUPP if exact else errno_codes.EFAULT
                raise _library_error(
                    code,
                    f"{syscall} is not a system call of {native.name}, so it has no "
                    f"equivalent on {arch.name}",
                )
        table = arch.syscalls
        direct = table.get(name)
        mirrors = [
            (multiplexer, calls[name])
            for multiplexer, calls in (("socketcall", arch.socketcall), ("ipc", arch.ipc))
            if name in calls and multiplexer in table
        ]
        if exact and (direct is None or mirrors):
            why = "does not have" if direct is None else "multiplexes"
            raise _library_error(
                errno_codes.EOPNOTSUPP,
                f"{arch.name} {why} {name!r}; add_rule() would rewrite the rule",
            )
        rules: list[_Rule] = []
        if direct is not None:
            rules.append(_Rule(direct, action, condition, (None, key), call))
        for multiplexer, number in mirrors:
            rules.append(
                _Rule(
                    table[multiplexer],
                    action,
                    mirror_condition(multiplexer, number),
                    (multiplexer, number),
                    call,
                    via=multiplexer,
                )
            )
        return rules

    def _uses_notify(self) -> bool:
        state = self._state
        return state.default == NOTIFY or any(
            rule.action == NOTIFY for rules in state.rules.values() for rule in rules
        )

    # --- the model ----------------------------------------------------------------------------

    def _ordered(self, arch: ArchInfo, rules: Sequence[_Rule]) -> list[_Rule]:
        """The rules of ``arch`` in the order the model tries them (see the module docstring):
        per number, the first rule without conditions alone, or the rules with conditions,
        each tried before any rule whose calls strictly contain its own."""
        diagrams = Diagrams()

        def region(rule: _Rule) -> int:
            node = diagrams.condition(rule.condition)
            return diagrams.low_words(node) if arch.argument_bits == 32 else node

        def strictly_inside(inner: int, outer: int) -> bool:
            return inner != outer and diagrams.and_(inner, diagrams.not_(outer)) == diagrams.false

        by_nr: dict[int, list[_Rule]] = {}
        for rule in rules:
            by_nr.setdefault(rule.nr, []).append(rule)
        ordered: list[_Rule] = []
        for group in by_nr.values():
            plain = next((r for r in group if r.condition is None), None)
            if plain is not None:
                ordered.append(plain)
                continue
            remaining = [(rule, region(rule)) for rule in group]
            while remaining:
                pick = next(
                    position
                    for position, (_, candidate) in enumerate(remaining)
                    if not any(strictly_inside(other, candidate) for _, other in remaining)
                )
                ordered.append(remaining.pop(pick)[0])
        return ordered

    def policies(self) -> tuple[Policy, ...]:
        """The filter as seccomp-bpf policies, one per group of architectures with the same
        rules, in the filter's order of architectures."""
        state = self._state
        if not state.arches:
            raise _library_error(errno_codes.EINVAL, "the filter has no architecture")
        groups: list[tuple[list[ArchInfo], list[_Rule]]] = []
        for arch in state.arches:
            rules = state.rules.get(arch.name, [])
            for arches, group_rules in groups:
                if group_rules == rules and arches[0].argument_bits == arch.argument_bits:
                    arches.append(arch)
                    break
            else:
                groups.append(([arch], rules))
        default = Action.from_ret(state.default)
        bad_arch = Action.from_ret(state.attributes[Attr.ACT_BADARCH])
        flags = [
            flag
            for attr, flag in (
                (Attr.CTL_TSYNC, "tsync"),
                (Attr.CTL_LOG, "log"),
                (Attr.CTL_SSB, "spec_allow"),
                (Attr.CTL_WAITKILL, "wait_killable_recv"),
            )
            if state.attributes[attr]
        ]
        result: list[Policy] = []
        for arches, rules in groups:
            model_rules = tuple(
                Rule((rule.nr,), Action.from_ret(rule.action), rule.condition)
                for rule in self._ordered(arches[0], rules)
            )
            result.append(
                Policy(
                    default_action=default,
                    rules=model_rules,
                    arches=tuple(a.name for a in arches),
                    bad_arch_action=bad_arch,
                    multiplexer_conditions="drop",
                    flags=tuple(flags),
                )
            )
        return tuple(result)

    def program(self) -> Program:
        """The compiled filter: the policies of :meth:`policies`, each compiled, tried one
        after the other for the architectures they list."""
        if self._program is not None:
            return self._program
        from seccomp_bpf.compiler import compile_policy

        policies = self.policies()
        frequency = self._frequency()
        if len(policies) == 1:
            program = compile_policy(policies[0], frequency=frequency)
        else:
            program = _chain(policies, frequency)
        self._program = program
        return program

    def _frequency(self) -> dict[str, dict[str, float]] | None:
        priorities = self._state.priorities
        if not priorities:
            return None
        return {
            arch.name: {name: float(p + 1) for name, p in priorities.items()}
            for arch in self._state.arches
        }

    def precompute(self) -> None:
        """Compile now, so that :meth:`load` only installs (``seccomp_precompute(3)``)."""
        self._compiled()

    def _compiled(self) -> Program:
        """:meth:`program`, with a failure to compile as libseccomp's ``-EFAULT``."""
        try:
            return self.program()
        except LibseccompError:
            raise
        except SeccompBPFError as error:
            raise _library_error(errno_codes.EFAULT, str(error)) from error

    # --- export ---------------------------------------------------------------------------------

    def export_bpf_mem(self) -> bytes:
        """The filter as ``struct sock_filter`` records in this machine's byte order."""
        return self._compiled().to_bytes()

    def export_bpf(self, file: IO[bytes] | IO[str]) -> None:
        """Write :meth:`export_bpf_mem` to ``file`` (anything with ``fileno()``)."""
        _write_fd(file, self.export_bpf_mem())

    def export_pfc(self, file: IO[bytes] | IO[str]) -> None:
        """Write a readable listing of the filter to ``file``: per architecture and system
        call, the rules in the order they are tried, then the default action."""
        _write_fd(file, self.pfc().encode())

    def pfc(self) -> str:
        """The text :meth:`export_pfc` writes."""
        state = self._state
        lines = ["#", "# pseudo filter code start (seccomp-bpf)", "#"]
        for arch in state.arches:
            token = _token_of(arch)
            lines.append(f"# filter for arch {arch.libseccomp_name} ({arch.audit_arch})")
            if arch.syscall_nr_mask_bit:
                lines.append(f"#   numbers with bit {arch.syscall_nr_mask_bit:#x} set")
            lines.append(f"if ($arch == {arch.audit_arch})  # token {token:#x}")
            by_nr: dict[int, list[_Rule]] = {}
            for rule in self._ordered(arch, state.rules.get(arch.name, [])):
                by_nr.setdefault(rule.nr, []).append(rule)
            for nr, rules in by_nr.items():
                name = arch.syscall_name(nr) or "?"
                lines.append(f'  # filter for syscall "{name}" ({nr})')
                lines.append(f"  if ($syscall == {nr})")
                for rule in rules:
                    if rule.condition is None:
                        lines.append(f"    action {_action_name(rule.action)};  # {rule.call}")
                    else:
                        via = f", through {rule.via}" if rule.via else ""
                        lines.append(f"    if ({rule.condition})  # {rule.call}{via}")
                        lines.append(f"      action {_action_name(rule.action)};")
            if arch.argument_bits == 32:
                lines.append("  # arguments: their low 32 bits (the call sees no more)")
            lines.append("  # default action")
            lines.append(f"  action {_action_name(state.default)};")
        lines.append("# invalid architecture action")
        lines.append(f"action {_action_name(state.attributes[Attr.ACT_BADARCH])};")
        lines += ["#", "# pseudo filter code end", "#", ""]
        return "\n".join(lines)

    # --- loading ------------------------------------------------------------------------------

    def load(self) -> None:
        """Install the filter on this process (all threads with ``Attr.CTL_TSYNC``). A
        filter that uses NOTIFY gets a listener; see :meth:`get_notify_fd`."""
        from seccomp_bpf.kernel import install

        program = self._compiled()
        attributes = self._state.attributes
        notify = self._uses_notify()
        raw = bool(attributes[Attr.API_SYSRAWRC])
        try:
            fd = install(
                program,
                tsync=bool(attributes[Attr.CTL_TSYNC]),
                no_new_privs=bool(attributes[Attr.CTL_NNP]),
                log=bool(attributes[Attr.CTL_LOG]),
                spec_allow=bool(attributes[Attr.CTL_SSB]),
                new_listener=notify,
                wait_killable_recv=bool(attributes[Attr.CTL_WAITKILL]),
            )
        except TsyncError as error:
            raise _library_error(errno_codes.ESRCH, str(error)) from error
        except KernelError as error:
            code = (error.errno or errno_codes.ECANCELED) if raw else errno_codes.ECANCELED
            raise _library_error(code, str(error)) from error
        if notify and fd is not None:
            self._notify_fd = fd

    # --- user notifications ---------------------------------------------------------------------

    def get_notify_fd(self) -> int:
        """The listener of the loaded filter (a filter that uses NOTIFY gets one)."""
        if self._notify_fd is None:
            raise LibseccompError(
                errno_codes.EINVAL,
                "no filter with NOTIFY has been loaded",
                message="Notifications not enabled/active",
            )
        return self._notify_fd

    def receive_notify(self) -> Notification:
        """Wait for the next notification."""
        from seccomp_bpf.kernel.notify import receive

        fd = self.get_notify_fd()
        raw = bool(self._state.attributes[Attr.API_SYSRAWRC])
        try:
            received = receive(fd)
        except KernelError as error:
            code = (error.errno or errno_codes.ECANCELED) if raw else errno_codes.ECANCELED
            raise _library_error(code, str(error)) from error
        if received is None:
            code = errno_codes.ENOENT if raw else errno_codes.ECANCELED
            raise _library_error(code, "the notified thread is gone (ENOENT)")
        data = received.data
        return Notification(
            received.id,
            received.pid,
            received.flags,
            data.nr,
            data.arch,
            data.instruction_pointer,
            list(data.args),
        )

    def respond_notify(self, response: NotificationResponse) -> None:
        """Answer a notification."""
        from seccomp_bpf.kernel.notify import SECCOMP_USER_NOTIF_FLAG_CONTINUE, respond

        if not isinstance(response, NotificationResponse):
            raise TypeError("response must be a NotificationResponse object")
        fd = self.get_notify_fd()
        raw = bool(self._state.attributes[Attr.API_SYSRAWRC])
        if response.flags & ~SECCOMP_USER_NOTIF_FLAG_CONTINUE:
            raise _library_error(errno_codes.EINVAL, f"unknown flags {response.flags:#x}")
        try:
            answered = respond(
                fd,
                response.id,
                response.error,
                response.val,
                continue_=bool(response.flags & SECCOMP_USER_NOTIF_FLAG_CONTINUE),
            )
        except ValueError as error:
            code = errno_codes.EINVAL if raw else errno_codes.ECANCELED
            raise _library_error(code, str(error)) from error
        except KernelError as error:
            code = (error.errno or errno_codes.ECANCELED) if raw else errno_codes.ECANCELED
            raise _library_error(code, str(error)) from error
        if not answered:
            code = errno_codes.ENOENT if raw else errno_codes.ECANCELED
            raise _library_error(code, "the notified thread is gone (ENOENT)")

    # --- transactions ---------------------------------------------------------------------------

    def start_transaction(self) -> None:
        """Start a (nested) transaction: :meth:`reject_transaction` returns the architectures,
        rules and priorities to this point (``seccomp_transaction_start(3)``)."""
        state = self._state
        self._snapshots.append(
            _State(
                default=state.default,
                arches=list(state.arches),
                rules={name: list(rules) for name, rules in state.rules.items()},
                attributes=state.attributes,  # attributes are not part of a transaction
                priorities=dict(state.priorities),
            )
        )

    def commit_transaction(self) -> None:
        """Keep the changes of the innermost transaction."""
        if not self._snapshots:
            raise _library_error(errno_codes.EINVAL, "no transaction was started")
        self._snapshots.pop()

    def reject_transaction(self) -> None:
        """Undo the changes of the innermost transaction (nothing if none was started)."""
        if not self._snapshots:
            return
        snapshot = self._snapshots.pop()
        snapshot.attributes = self._state.attributes
        self._state = snapshot
        self._changed()


def _write_fd(file: IO[bytes] | IO[str], data: bytes) -> None:
    """Write ``data`` to the file descriptor of ``file``, as the binding does (after flushing
    what Python buffered, so that the order is kept)."""
    fd = file.fileno()
    file.flush()
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


_RET_K: Final = op.BPF_RET | op.BPF_K


def _chain(policies: Sequence[Policy], frequency: FrequencyProfile | None) -> Program:
    """One program from several policies with disjoint architectures.

    Each but the last is compiled with a bad-architecture action that none of its rules uses
    (a TRAP with data); every return of that value becomes a jump to the next program, which
    then tests the architecture again. The last keeps the filter's bad-architecture action.
    """
    from seccomp_bpf.compiler import compile_policy

    instructions: list[Instruction] = []
    for position, policy in enumerate(policies):
        last = position == len(policies) - 1
        sentinel: int | None = None
        if not last:
            used = {policy.default_action.ret_value, policy.bad_arch_action.ret_value}
            used.update(rule.action.ret_value for rule in policy.rules)
            marker = next(
                Action(ActionKind.TRAP, data)
                for data in range(1, 0x10000)
                if Action(ActionKind.TRAP, data).ret_value not in used
            )
            sentinel = marker.ret_value
            policy = Policy(
                default_action=policy.default_action,
                rules=policy.rules,
                arches=policy.arches,
                bad_arch_action=marker,
                multiplexer_conditions=policy.multiplexer_conditions,
                flags=policy.flags,
            )
        program = compile_policy(policy, frequency=frequency)
        for index, ins in enumerate(program):
            if sentinel is not None and ins.code == _RET_K and ins.k == sentinel:
                instructions.append(ja(len(program) - index - 1))
            else:
                instructions.append(ins)
    return Program(instructions)
