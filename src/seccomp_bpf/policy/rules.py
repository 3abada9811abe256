"""A rule: which system calls, under which condition, get which action."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.conditions import All, Any, Cmp, Condition, Not

_NR_LOW = -(1 << 31)
_NR_HIGH = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something was written: file, line and column, all 1-based."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _abi_names(value: object, what: str) -> tuple[str, ...]:
    """A rule's non-empty list of ABI names, canonical and without repeats."""
    from seccomp_bpf.arch import get_arch
    from seccomp_bpf.errors import UnknownArchError

    if isinstance(value, str) or not isinstance(value, Iterable):
        raise PolicyError(f"a rule's {what} are a non-empty list, not {value!r}")
    try:
        names = tuple(dict.fromkeys(get_arch(name).name for name in value))
    except UnknownArchError as error:
        raise PolicyError(f"a rule's {what}: {error}") from error
    if not names:
        raise PolicyError(f"a rule's {what} are a non-empty list, not {value!r}")
    return names


@dataclass(frozen=True, slots=True, order=True)
class NumberRange:
    """The system call numbers ``first..last`` (both included), as ``seccomp_data.nr`` shows
    them: numbers no table names, such as a range that one ABI's filter sends elsewhere
    (libseccomp's x86-64 filters kill 0x80000000..0xbfffffff). Negative ends are read as
    their unsigned 32-bit patterns, like single numbers."""

    first: int
    last: int

    def __post_init__(self) -> None:
        ends = []
        for what, value in (("first", self.first), ("last", self.last)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise PolicyError(f"a number range's {what} end must be an integer, not {value!r}")
            if not _NR_LOW <= value <= _NR_HIGH:
                raise PolicyError(f"system call number {value} does not fit in 32 bits")
            ends.append(value & _NR_HIGH)
        if ends[0] > ends[1]:
            raise PolicyError(
                f"a number range runs upwards: {self.first}..{self.last} is empty"
            )
        object.__setattr__(self, "first", ends[0])
        object.__setattr__(self, "last", ends[1])

    def __contains__(self, nr: object) -> bool:
        return isinstance(nr, int) and self.first <= nr <= self.last

    def __str__(self) -> str:
        """``1000..1999``, each end in hexadecimal past 0xffff: ``0x80000000..0xbfffffff``."""
        return "..".join(str(end) if end <= 0xFFFF else hex(end) for end in (self.first, self.last))

    @classmethod
    def parse(cls, text: str) -> NumberRange | None:
        """``FIRST..LAST`` with decimal or ``0x`` numbers; ``None`` when ``text`` is not one."""
        first, dots, last = text.partition("..")
        if not dots:
            return None
        try:
            ends = int(first.strip(), 0), int(last.strip(), 0)
        except ValueError:
            return None
        return cls(*ends)  # PolicyError for a range that runs downwards or does not fit


Syscall = str | int | NumberRange
"""What a rule names: a system call name, a number, or a range of numbers."""


@dataclass(frozen=True, slots=True)
class Rule:
    """``syscalls`` get ``action`` when ``when`` holds (always when it is ``None``).

    A syscall is a name, resolved per architecture, or a number used as it is on every
    architecture: the value of ``seccomp_data.nr`` (for x32, with bit 30 set). A number may be
    given as negative (``-1``) and is kept as its unsigned 32-bit pattern. A
    :class:`NumberRange` stands for each of its numbers.
    """

    syscalls: tuple[Syscall, ...]
    action: Action
    when: Condition | None = None
    location: SourceLocation | None = field(default=None, compare=False)
    arches: tuple[str, ...] | None = None
    """Only on these ABIs (canonical names); ``None``: on every architecture of the policy.
    For rules that must differ between ABIs, such as a call that takes its arguments through a
    pointer on one ABI and in registers on another."""
    audit_arches: tuple[str, ...] | None = None
    """Only for calls whose ``seccomp_data.arch`` is the ``AUDIT_ARCH_*`` value of one of these
    ABIs (canonical names); ``None``: whatever the value. A 64-bit MIPS kernel runs an o32
    number for an n64 task too, reporting it as AUDIT_ARCH_MIPS64: a rule for o32 calls with
    ``audit_arches: [mips64]`` decides those calls only (libseccomp's filters refuse them)."""

    def __post_init__(self) -> None:
        if isinstance(self.syscalls, (str, int)) or not isinstance(self.syscalls, Iterable):
            raise PolicyError(
                f"a rule's syscalls are a sequence of names or numbers, not {self.syscalls!r}"
            )
        items: list[Syscall] = []
        for item in self.syscalls:
            if isinstance(item, str):
                if not item or item.strip() != item:
                    raise PolicyError(f"{item!r} is not a system call name")
                items.append(item)
            elif isinstance(item, int) and not isinstance(item, bool):
                if not _NR_LOW <= item <= _NR_HIGH:
                    raise PolicyError(f"system call number {item} does not fit in 32 bits")
                items.append(item & _NR_HIGH)
            elif isinstance(item, NumberRange):
                items.append(item)
            else:
                raise PolicyError(
                    f"a system call is a name, a number or a NumberRange, not {item!r}"
                )
        if not items:
            raise PolicyError("a rule needs at least one system call")
        object.__setattr__(self, "syscalls", tuple(items))
        if not isinstance(self.action, Action):
            raise PolicyError(f"a rule's action must be an Action, not {self.action!r}")
        if self.when is not None and not isinstance(self.when, (Cmp, All, Any, Not)):
            raise PolicyError(f"a rule's condition must be Cmp, All, Any or Not, not {self.when!r}")
        if self.arches is not None:
            object.__setattr__(self, "arches", _abi_names(self.arches, "arches"))
        if self.audit_arches is not None:
            object.__setattr__(self, "audit_arches", _abi_names(self.audit_arches, "audit_arches"))

    def describe(self) -> str:
        """``read, write -> allow`` or ``socket -> allow when arg0 == 0x1``."""
        names = ", ".join(str(s) for s in self.syscalls)
        text = f"{names} -> {self.action.describe()}"
        if self.when is not None:
            text += f" when {self.when}"
        if self.arches is not None:
            text += f" (on {', '.join(self.arches)})"
        if self.audit_arches is not None:
            text += f" (reported as {', '.join(self.audit_arches)})"
        return text

    def audit_values(self) -> frozenset[int] | None:
        """The ``AUDIT_ARCH_*`` values of :attr:`audit_arches` (``None``: every value)."""
        if self.audit_arches is None:
            return None
        from seccomp_bpf.arch import get_arch

        return frozenset(get_arch(name).audit_arch for name in self.audit_arches)

    def applies_to(self, arch_name: str) -> bool:
        """Whether the rule takes part on the ABI called ``arch_name``."""
        return self.arches is None or arch_name in self.arches
