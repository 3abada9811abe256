"""Which arguments the profiler records, and how recorded values become conditions.

An :class:`ArgumentSpec` names one argument of one system call. The profiler records the
values it takes (after the spec's mask), and the generated policy allows the call only with
those values. Two kinds:

- ``values``: the policy allows exactly the values seen: ``{arg: N, op: in, value: [...]}``,
  or with a mask, ``(arg & mask) == v`` for each value seen (``masked_eq``, one per value,
  joined with ``any``).
- ``flags``: only the bits of ``bits`` matter; the policy requires that the bits of ``bits``
  never seen in any call stay clear (``bits_clear``). Used for ``clone``'s flags, whose
  namespace bits are the attack surface while its other bits (threads, vfork, settls, the exit
  signal) vary with the code path a program takes: a profile run that made threads and forked
  processes lets the same program do both again, but never create a namespace it did not.

The default set (:func:`default_specs`) holds arguments whose values are few and whose
meaning is fixed (``seccomp(2)`` sees registers, never memory):

=========== ==== ========= ======================================================================
call        arg  width     recorded as
=========== ==== ========= ======================================================================
socket      0    32        domain: exactly the families seen (``AF_UNIX``, ``AF_INET``...)
socket      1    32        type: ``arg & 0xf`` (``SOCK_STREAM``...), the flags ``SOCK_NONBLOCK``
                           and ``SOCK_CLOEXEC`` left free
ioctl       1    32        request (``unsigned int cmd``, ``fs/ioctl.c``)
prctl       0    32        option (``int option``, ``kernel/sys.c``)
mmap        2    64        prot (``unsigned long``; upper bits make the call fail with EINVAL)
mmap2       2    64        prot, on the 32-bit ABIs that have it
mprotect    2    64        prot
clone       0    32        flags: no namespace bit (``CLONE_NEW*``) that was never seen; the
                           kernel reads the low 32 bits only (``lower_32_bits(clone_flags)``,
                           ``kernel/fork.c``). The flags are the second argument on s390 and
                           s390x (``CLONE_BACKWARDS2``).
=========== ==== ========= ======================================================================

Width 32 compares the low half of an ``int`` argument, whose upper half the kernel ignores.
``mmap`` takes its arguments in memory (``old_mmap``) on i386, s390, s390x, m68k and arm
(OABI), and ``mmap2`` on s390: there the spec does not apply, and a call seen on such an ABI
is allowed whatever its arguments.

``--args NAME:N`` (:func:`parse_spec`) records argument N of any call, compared on all 64
bits with ``in``; ``NAME`` alone takes the default spec of that call.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from seccomp_bpf.arch import Arch, constant_family, constant_names, resolve_constant
from seccomp_bpf.arch.constants import CLONE_NAMESPACE_FLAGS, SOCK_TYPE_MASK
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.conditions import (
    ARGUMENT_COUNT,
    All,
    Any,
    BitsClear,
    Cmp,
    Comparison,
    Condition,
    Equal,
    InSet,
    MaskedEqual,
)

Kind = Literal["values", "flags"]

_MASK32: Final = 0xFFFFFFFF
_MASK64: Final = (1 << 64) - 1

# clone3(struct clone_args *, size) takes its flags in memory, out of a filter's reach
# (kernel/fork.c): allowed, it creates every namespace clone's rule refuses. C libraries
# (glibc 2.34 and later) fall back to clone when it fails with ENOSYS. The profiler's filter
# answers it so while it records (a program then shows the clone calls it makes instead,
# with their flags), and the generated policy does the same.
FALLBACKS: Final = {"clone3": "clone"}
"""Calls answered with ENOSYS, and the older call C libraries then make instead."""

# arch/s390/Kconfig selects CLONE_BACKWARDS2: clone(newsp, flags, ...) (kernel/fork.c).
_CLONE_BACKWARDS2: Final = frozenset({"s390", "s390x"})
# ABIs whose mmap is old_mmap(struct mmap_arg_struct *): arch/x86/entry/syscalls/syscall_32.tbl,
# arch/s390/kernel/syscalls/syscall.tbl, arch/m68k/kernel/syscalls/syscall.tbl,
# arch/arm/tools/syscall.tbl (oabi).
_MMAP_IN_MEMORY: Final = frozenset({"i386", "s390", "s390x", "m68k", "arm", "armeb"})
# arch/s390/kernel/sys_s390.c: SYSCALL_DEFINE1(mmap2, struct s390_mmap_arg_struct __user *, arg)
_MMAP2_IN_MEMORY: Final = frozenset({"s390"})


@dataclass(frozen=True, slots=True)
class ArgumentSpec:
    """Record argument ``index`` of ``syscall``; see the module docstring for the kinds.

    ``mask`` keeps only those bits of each value (``values`` kind); ``bits`` are the flags
    the ``flags`` kind is about. ``what`` names the argument in comments, and ``prefix``
    the constants that name its values (``AF_``), ``"ioctl"`` for ioctl requests.
    """

    syscall: str
    index: int
    width: int = 64
    kind: Kind = "values"
    mask: int | None = None
    bits: int = 0
    what: str = ""
    prefix: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.index < ARGUMENT_COUNT:
            raise PolicyError(f"argument index must be 0..5, not {self.index}")
        if self.width not in (32, 64):
            raise PolicyError(f"width must be 32 or 64, not {self.width}")
        if self.kind == "flags" and not self.bits:
            raise PolicyError("a flags argument needs the bits it is about")

    @property
    def recording_mask(self) -> int:
        """What is kept of each value: the width, and the mask when there is one."""
        mask = _MASK32 if self.width == 32 else _MASK64
        if self.mask is not None:
            mask &= self.mask
        if self.kind == "flags":
            mask &= self.bits
        return mask

    @property
    def label(self) -> str:
        return f"arg{self.index}" + (f" ({self.what})" if self.what else "")

    def condition(self, values: Iterable[int]) -> Condition | None:
        """The condition that lets exactly ``values`` through (None: any value)."""
        seen = sorted(set(values))
        if self.kind == "flags":
            never = self.bits
            for value in seen:
                never &= ~value
            return Cmp(self.index, "bits_clear", never, width=self.width) if never else None
        if not seen:
            return None
        if self.mask is None:
            return Cmp(self.index, "in", tuple(seen), width=self.width)
        parts = [
            Cmp(self.index, "masked_eq", value, mask=self.mask, width=self.width) for value in seen
        ]
        return parts[0] if len(parts) == 1 else Any(tuple(parts))

    def matches(self, other: ArgumentSpec) -> bool:
        """Whether ``other`` records the same thing (its values can be merged with ours)."""
        return (self.index, self.width, self.kind, self.mask, self.bits) == (
            other.index,
            other.width,
            other.kind,
            other.mask,
            other.bits,
        )


def _clone_namespace_bits() -> int:
    bits = 0
    for name in CLONE_NAMESPACE_FLAGS:
        value = resolve_constant(name)
        assert value is not None, name
        bits |= value
    return bits


@functools.cache
def _defaults() -> tuple[ArgumentSpec, ...]:
    return (
        ArgumentSpec("socket", 0, 32, what="domain", prefix="AF_"),
        ArgumentSpec("socket", 1, 32, mask=SOCK_TYPE_MASK, what="type", prefix="SOCK_"),
        ArgumentSpec("ioctl", 1, 32, what="request", prefix="ioctl"),
        ArgumentSpec("prctl", 0, 32, what="option", prefix="PR_"),
        ArgumentSpec("mmap", 2, 64, what="prot", prefix="PROT_"),
        ArgumentSpec("mmap2", 2, 64, what="prot", prefix="PROT_"),
        ArgumentSpec("mprotect", 2, 64, what="prot", prefix="PROT_"),
        ArgumentSpec(
            "clone", 0, 32, kind="flags", bits=_clone_namespace_bits(), what="flags",
            prefix="CLONE_",
        ),
    )  # fmt: skip


DEFAULT_ARGUMENT_CALLS: Final = ("socket", "ioctl", "prctl", "mmap", "mmap2", "mprotect", "clone")
"""The calls whose arguments are recorded unless told otherwise."""


def default_specs(names: Iterable[str] | None = None) -> tuple[ArgumentSpec, ...]:
    """The default specs (of ``names`` only, when given)."""
    chosen = None if names is None else set(names)
    return tuple(spec for spec in _defaults() if chosen is None or spec.syscall in chosen)


def parse_spec(text: str) -> tuple[ArgumentSpec, ...]:
    """``NAME`` (the default specs of NAME) or ``NAME:N[,N...]`` (argument N, 64 bits, ``in``).

    Raises :class:`PolicyError` for a name without default specs and no index, or a bad index.
    """
    name, colon, rest = text.strip().partition(":")
    name = name.strip()
    if not name:
        raise PolicyError(f"--args {text!r}: give a system call name, as NAME or NAME:N")
    if not colon:
        specs = default_specs([name])
        if not specs:
            known = ", ".join(DEFAULT_ARGUMENT_CALLS)
            raise PolicyError(
                f"--args {text!r}: say which argument of {name} to record, as {name}:N "
                f"(0..5); a name alone works for {known}"
            )
        return specs
    found: list[ArgumentSpec] = []
    for item in rest.split(","):
        item = item.strip()
        if not item.isdigit() or not 0 <= int(item) < ARGUMENT_COUNT:
            raise PolicyError(f"--args {text!r}: {item!r} is not an argument index (0..5)")
        found.append(ArgumentSpec(name, int(item)))
    return tuple(found)


def resolve_specs(specs: Iterable[ArgumentSpec], arch: Arch) -> dict[int, tuple[ArgumentSpec, ...]]:
    """The specs that apply on ``arch``, by system call number, adjusted to the ABI:
    ``clone``'s flags move to the second argument on s390, and ``mmap``/``mmap2`` are left
    out where they take their arguments in memory."""
    by_nr: dict[int, list[ArgumentSpec]] = {}
    for spec in specs:
        nr = arch.syscall_number(spec.syscall)
        if nr is None:
            continue
        if spec.syscall == "mmap" and arch.name in _MMAP_IN_MEMORY:
            continue
        if spec.syscall == "mmap2" and arch.name in _MMAP2_IN_MEMORY:
            continue
        if spec.syscall == "clone" and spec.index == 0 and arch.name in _CLONE_BACKWARDS2:
            spec = ArgumentSpec(
                spec.syscall, 1, spec.width, spec.kind, spec.mask, spec.bits, spec.what,
                spec.prefix,
            )  # fmt: skip
        listed = by_nr.setdefault(nr, [])
        if all(not spec.matches(other) for other in listed):
            listed.append(spec)
    return {nr: tuple(found) for nr, found in by_nr.items()}


# --- naming values, for comments ----------------------------------------------------------------


@functools.cache
def _names_by_value(prefix: str, arch: Arch | None) -> dict[int, str]:
    """Constant names of ``prefix`` (or of the ioctl family) by value; of two names for one
    value the shorter, then the first in alphabetical order (``AF_UNIX`` over ``AF_LOCAL``)."""
    found: dict[int, str] = {}
    for name in sorted(constant_names(arch), key=lambda n: (len(n), n)):
        if prefix == "ioctl":
            if constant_family(name, arch) != "ioctl":
                continue
        elif not name.startswith(prefix) or (prefix == "AF_" and name == "AF_UNSPEC"):
            continue
        value = resolve_constant(name, arch)
        if value is not None and value not in found:
            found[value] = name
    return found


def describe_value(spec: ArgumentSpec, value: int, arch: Arch | None = None) -> str:
    """``AF_INET``, ``PROT_READ|PROT_WRITE``, ``0x5401`` when no name is known."""
    if spec.prefix is None:
        return hex(value) if value >= 10 else str(value)
    names = _names_by_value(spec.prefix, arch)
    if value in names and spec.prefix not in ("PROT_", "CLONE_"):
        return names[value]
    if spec.prefix in ("PROT_", "CLONE_"):
        if value == 0:
            return "PROT_NONE" if spec.prefix == "PROT_" else "0"
        parts = []
        rest = value
        for bit in range(64):
            flag = 1 << bit
            if rest & flag and flag in names:
                parts.append(names[flag])
                rest &= ~flag
        if rest:
            parts.append(hex(rest))
        return "|".join(parts)
    return hex(value) if value >= 10 else str(value)


def condition_specs(condition: Condition) -> list[tuple[ArgumentSpec, frozenset[int]]] | None:
    """Read a condition :meth:`ArgumentSpec.condition` writes back into specs and values.

    A single comparison or ``all`` of them: ``in``/``eq`` (values), ``masked_eq`` or ``any``
    of ``masked_eq`` with one mask (masked values), ``bits_clear`` (flags: the bits never
    seen; the values returned are empty). None for anything else.
    """
    parts = condition.conditions if isinstance(condition, All) else (condition,)
    found: list[tuple[ArgumentSpec, frozenset[int]]] = []
    for part in parts:
        read = _read_part(part)
        if read is None:
            return None
        found.append(read)
    return found


def _read_part(part: Condition) -> tuple[ArgumentSpec, frozenset[int]] | None:
    if isinstance(part, Any) and part.conditions:
        read = [_read_part(inner) for inner in part.conditions]
        if any(r is None or r[0].mask is None for r in read):
            return None
        specs = {r[0] for r in read if r is not None}
        if len(specs) != 1:
            return None
        united = frozenset(v for r in read if r is not None for v in r[1])
        return specs.pop(), united
    if not isinstance(part, Comparison) or part.arg is None:
        return None
    if isinstance(part, (InSet, Equal)):
        values = part.values if isinstance(part, InSet) else (part.value,)
        return ArgumentSpec("", part.arg, part.width), frozenset(values)
    if isinstance(part, MaskedEqual):
        return ArgumentSpec("", part.arg, part.width, mask=part.mask), frozenset({part.value})
    if isinstance(part, BitsClear):
        if not part.bits:
            return None
        return ArgumentSpec("", part.arg, part.width, kind="flags", bits=part.bits), frozenset()
    return None


def flags_spec(syscall: str, arch: Arch) -> ArgumentSpec | None:
    """The default ``flags`` spec of ``syscall`` on ``arch`` (``clone``'s namespace bits, in
    its second argument on s390), or None when it has none there."""
    nr = arch.syscall_number(syscall)
    if nr is None:
        return None
    found = resolve_specs(default_specs([syscall]), arch).get(nr, ())
    return next((spec for spec in found if spec.kind == "flags"), None)
