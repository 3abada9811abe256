"""Conditions on a system call's arguments: one class per comparison, and ``All``/``Any``/``Not``.

A filter sees each argument as an unsigned 64-bit number (``__u64 args[6]`` of
``struct seccomp_data``, ``<linux/seccomp.h>``) and the instruction pointer likewise.
Every comparison here is on those unsigned numbers; a negative value in a policy is its
two's-complement bit pattern.

``width=32`` compares the low 32 bits only, and reads a negative value as a 32-bit one. That
is what an ``int`` argument needs: the kernel uses only its low half, while seccomp sees the
full register, whose upper half may hold anything (``fd == -1`` must match 0xffffffff whatever
the upper half is; with width 64 it would have to be 0xffffffffffffffff).

The comparisons, with ``a`` the argument (masked to the width) and ``v`` the value; the name in
the policy format is in brackets::

    Equal [eq]  NotEqual [ne]         a == v, a != v
    LessThan [lt]  LessOrEqual [le]    a < v, a <= v        (unsigned)
    GreaterThan [gt]  GreaterOrEqual [ge]                     a > v, a >= v
    MaskedEqual [masked_eq]           (a & mask) == v      (v must lie inside mask)
    BitsSet [bits_set]                (a & v) == v         every bit of v is set
    BitsClear [bits_clear]            (a & v) == 0         no bit of v is set
    InSet [in], NotInSet [not_in]     a is (is not) one of the values
    InRange [range]                   low <= a <= high

Each class carries what it means, in three forms that must agree (the tests hold them to it):

- :meth:`~Comparison.test` (and :meth:`~Comparison.holds`), written straight from the table:
  the definition the compiler's output is tested against;
- :meth:`~Comparison.constraint`, the same set of operand values for the condition engine
  (:mod:`seccomp_bpf.policy.semantics`), and :meth:`~Comparison.boundary_values`, the operand
  values where the answer changes, which tests try;
- :meth:`~Comparison.lower`, the comparison written with the five the compiler emits
  (``Equal``, ``GreaterThan``, ``GreaterOrEqual``, ``MaskedEqual``, ``InSet``) and ``Not``/``All``.

``Comparison(arg, op, value, mask=None, width=64)`` (also spelled ``Cmp``) builds the comparison
that the format's name ``op`` stands for: ``Cmp(2, "bits_clear", 3)`` is ``BitsClear(2, 3)``;
:meth:`~Comparison.parameters` gives ``value`` and ``mask`` back for writers.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final, Literal, TypeAlias, Union

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.values import Constraint, Matches, Within, complement_intervals, points

IP: Final = "ip"
"""Target marker for the instruction pointer, usable wherever an argument index is (the
comparison's ``arg`` is then ``None``)."""

ArgTarget: TypeAlias = int | Literal["ip"] | None

WIDTHS: Final = (64, 32)
ARGUMENT_COUNT: Final = 6  # <linux/seccomp.h>: __u64 args[6]

_MASK32: Final = 0xFFFFFFFF
_MASK64: Final = (1 << 64) - 1


def _unsigned(value: object, width: int, what: str) -> int:
    """``value`` as its unsigned ``width``-bit pattern; PolicyError if it does not fit."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{what} must be an integer, not {value!r}")
    low = -(1 << (width - 1))
    high = (1 << width) - 1
    if not low <= value <= high:
        raise PolicyError(
            f"{what} {value} does not fit in {width} bits (width {width} takes {low}..{high})"
        )
    return value & high


def _target_text(arg: int | None) -> str:
    return "ip" if arg is None else f"arg{arg}"


def _check_target(arg: object) -> int | None:
    if isinstance(arg, str) and arg == IP:
        return None
    if arg is not None and (
        isinstance(arg, bool) or not isinstance(arg, int) or not 0 <= arg < ARGUMENT_COUNT
    ):
        raise PolicyError(f"argument index must be 0..5 (or 'ip'), not {arg!r}")
    return arg


class _ByOperation(type):
    """``Comparison(arg, op, value, ...)`` builds the comparison ``op`` names; calling one of
    the classes builds that class."""

    def __call__(cls, *args: object, **kwargs: object) -> typing.Any:
        if cls is Comparison:
            return _from_operation(*args, **kwargs)  # type: ignore[arg-type]
        return super().__call__(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class Comparison(metaclass=_ByOperation):
    """One comparison of argument ``arg`` (0..5; ``None`` = the instruction pointer).

    Construction normalises the values to unsigned ``width``-bit numbers and checks the rest;
    see the module docstring for the classes.
    """

    arg: int | None
    width: int = field(default=64, kw_only=True)

    operation: ClassVar[str] = ""
    """The comparison's name in the policy format (``eq``, ``masked_eq``...)."""

    if TYPE_CHECKING:

        def __init__(
            self,
            arg: ArgTarget,
            op: str,
            value: int | Iterable[int],
            mask: int | None = None,
            width: int = 64,
        ) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "arg", _check_target(self.arg))
        if self.width not in WIDTHS or isinstance(self.width, bool):
            raise PolicyError(f"width must be 64 or 32, not {self.width!r}")
        self._normalize()

    def _normalize(self) -> None:
        """Check and normalise the operands (each class its own)."""

    def _number(self, name: str, what: str | None = None) -> int:
        value = _unsigned(getattr(self, name), self.width, what or name)
        object.__setattr__(self, name, value)
        return value

    @property
    def top(self) -> int:
        """The largest operand of this width."""
        return (1 << self.width) - 1

    # -- meaning ------------------------------------------------------------------------------

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        """Whether the comparison is true for these arguments and instruction pointer."""
        operand = (ip if self.arg is None else args[self.arg]) & _MASK64
        if self.width == 32:
            operand &= _MASK32
        return self.test(operand)

    def test(self, operand: int) -> bool:
        """Whether the comparison holds for ``operand`` (already cut to the width)."""
        raise NotImplementedError

    def constraint(self) -> Constraint:
        """The 64-bit operand values where the comparison holds (width 32: by their low
        words), for the condition engine."""
        raise NotImplementedError

    def boundary_values(self) -> tuple[int, ...]:
        """Operand values (of the width) where the answer changes, and their neighbours."""
        top = self.top
        constraint = self.constraint()
        found: set[int] = set()
        if isinstance(constraint, Within):
            for low, high in constraint.intervals:
                found |= {low, high, max(low - 1, 0), min(high + 1, top)}
        else:
            mask, value = constraint.mask, constraint.value
            lowest = mask & -mask
            highest = 1 << (mask.bit_length() - 1) if mask else 0
            found |= {value, value ^ mask, value | (top & ~mask), value ^ lowest, value ^ highest}
        return tuple(sorted(found or {0, top}))

    def lower(self) -> Condition:
        """The comparison written with those the compiler emits (``Equal``, ``GreaterThan``,
        ``GreaterOrEqual``, ``MaskedEqual``, ``InSet``), ``Not`` and ``All``; those five give
        themselves."""
        raise NotImplementedError

    def negation(self) -> Comparison | None:
        """The one comparison that holds exactly where this one does not, if there is one."""
        return None

    def parameters(self) -> tuple[int | tuple[int, ...], int | None]:
        """``(value, mask)`` as :class:`Comparison` takes them with :attr:`operation`."""
        raise NotImplementedError

    # -- text ---------------------------------------------------------------------------------

    @property
    def target_text(self) -> str:
        target = _target_text(self.arg)
        return f"(u32){target}" if self.width == 32 else target


# -- one value ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueComparison(Comparison):
    """A comparison of the operand with one value (the six of equality and order)."""

    value: int

    symbol: ClassVar[str] = ""

    def _normalize(self) -> None:
        self._number("value")

    def parameters(self) -> tuple[int | tuple[int, ...], int | None]:
        return self.value, None

    def __str__(self) -> str:
        return f"{self.target_text} {self.symbol} {self.value:#x}"


@dataclass(frozen=True, slots=True)
class Equal(ValueComparison):
    """``arg == value``."""

    operation: ClassVar[str] = "eq"
    symbol: ClassVar[str] = "=="

    def test(self, operand: int) -> bool:
        return operand == self.value

    def constraint(self) -> Constraint:
        return Within(((self.value, self.value),), self.width)

    def lower(self) -> Condition:
        return self

    def negation(self) -> Comparison:
        return NotEqual(self.arg, self.value, width=self.width)


@dataclass(frozen=True, slots=True)
class NotEqual(ValueComparison):
    """``arg != value``."""

    operation: ClassVar[str] = "ne"
    symbol: ClassVar[str] = "!="

    def test(self, operand: int) -> bool:
        return operand != self.value

    def constraint(self) -> Constraint:
        return Within(complement_intervals(((self.value, self.value),), self.top), self.width)

    def lower(self) -> Condition:
        return Not(Equal(self.arg, self.value, width=self.width))

    def negation(self) -> Comparison:
        return Equal(self.arg, self.value, width=self.width)


@dataclass(frozen=True, slots=True)
class LessThan(ValueComparison):
    """``arg < value`` (unsigned)."""

    operation: ClassVar[str] = "lt"
    symbol: ClassVar[str] = "<"

    def test(self, operand: int) -> bool:
        return operand < self.value

    def constraint(self) -> Constraint:
        return Within(((0, self.value - 1),) if self.value else (), self.width)

    def lower(self) -> Condition:
        # a < v  <=>  not (a >= v)
        return Not(GreaterOrEqual(self.arg, self.value, width=self.width))

    def negation(self) -> Comparison:
        return GreaterOrEqual(self.arg, self.value, width=self.width)


@dataclass(frozen=True, slots=True)
class LessOrEqual(ValueComparison):
    """``arg <= value`` (unsigned)."""

    operation: ClassVar[str] = "le"
    symbol: ClassVar[str] = "<="

    def test(self, operand: int) -> bool:
        return operand <= self.value

    def constraint(self) -> Constraint:
        return Within(((0, self.value),), self.width)

    def lower(self) -> Condition:
        # a <= v  <=>  not (a > v)
        return Not(GreaterThan(self.arg, self.value, width=self.width))

    def negation(self) -> Comparison:
        return GreaterThan(self.arg, self.value, width=self.width)


@dataclass(frozen=True, slots=True)
class GreaterThan(ValueComparison):
    """``arg > value`` (unsigned)."""

    operation: ClassVar[str] = "gt"
    symbol: ClassVar[str] = ">"

    def test(self, operand: int) -> bool:
        return operand > self.value

    def constraint(self) -> Constraint:
        top = self.top
        return Within(((self.value + 1, top),) if self.value < top else (), self.width)

    def lower(self) -> Condition:
        return self

    def negation(self) -> Comparison:
        return LessOrEqual(self.arg, self.value, width=self.width)


@dataclass(frozen=True, slots=True)
class GreaterOrEqual(ValueComparison):
    """``arg >= value`` (unsigned)."""

    operation: ClassVar[str] = "ge"
    symbol: ClassVar[str] = ">="

    def test(self, operand: int) -> bool:
        return operand >= self.value

    def constraint(self) -> Constraint:
        return Within(((self.value, self.top),), self.width)

    def lower(self) -> Condition:
        return self

    def negation(self) -> Comparison:
        return LessThan(self.arg, self.value, width=self.width)


# -- bits ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaskedEqual(Comparison):
    """``(arg & mask) == value``; ``value`` has no bit outside ``mask``."""

    mask: int
    value: int

    operation: ClassVar[str] = "masked_eq"

    def _normalize(self) -> None:
        value = self._number("value")
        mask = self._number("mask")
        if value & ~mask:
            raise PolicyError(
                f"masked_eq value {value:#x} has bits outside mask {mask:#x}: "
                "(arg & mask) could never equal it"
            )

    def test(self, operand: int) -> bool:
        return operand & self.mask == self.value

    def constraint(self) -> Constraint:
        return Matches(self.mask, self.value)

    def lower(self) -> Condition:
        return self

    def parameters(self) -> tuple[int | tuple[int, ...], int | None]:
        return self.value, self.mask

    def __str__(self) -> str:
        return f"({self.target_text} & {self.mask:#x}) == {self.value:#x}"


@dataclass(frozen=True, slots=True)
class BitsSet(Comparison):
    """Every bit of ``bits`` is set: ``(arg & bits) == bits``."""

    bits: int

    operation: ClassVar[str] = "bits_set"

    def _normalize(self) -> None:
        self._number("bits", "value")

    def test(self, operand: int) -> bool:
        return operand & self.bits == self.bits

    def constraint(self) -> Constraint:
        return Matches(self.bits, self.bits)

    def lower(self) -> Condition:
        return MaskedEqual(self.arg, self.bits, self.bits, width=self.width)

    def parameters(self) -> tuple[int | tuple[int, ...], int | None]:
        return self.bits, None

    def __str__(self) -> str:
        return f"({self.target_text} & {self.bits:#x}) == {self.bits:#x}"


@dataclass(frozen=True, slots=True)
class BitsClear(Comparison):
    """No bit of ``bits`` is set: ``(arg & bits) == 0``."""

    bits: int

    operation: ClassVar[str] = "bits_clear"

    def _normalize(self) -> None:
        self._number("bits", "value")

    def test(self, operand: int) -> bool:
        return operand & self.bits == 0

    def constraint(self) -> Constraint:
        return Matches(self.bits, 0)

    def lower(self) -> Condition:
        return MaskedEqual(self.arg, self.bits, 0, width=self.width)

    def parameters(self) -> tuple[int | tuple[int, ...], int | None]:
        return self.bits, None

    def __str__(self) -> str:
        return f"({self.target_text} & {self.bits:#x}) == 0"


# -- several values -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Listed(Comparison):
    values: tuple[int, ...]

    word: ClassVar[str] = ""

    def _normalize(self) -> None:
        raw: object = self.values
        if not isinstance(raw, Iterable) or isinstance(raw, (str, bytes)):
            raise PolicyError(f"{self.operation} takes a list of values, not {raw!r}")
        # dict.fromkeys keeps the first occurrence of each value, in order, in linear time
        items = list(dict.fromkeys(_unsigned(item, self.width, "value") for item in raw))
        if not items:
            raise PolicyError(f"{self.operation} needs at least one value")
        object.__setattr__(self, "values", tuple(items))

    def parameters(self) -> tuple[int | tuple[int, ...], int | None]:
        return self.values, None

    def __str__(self) -> str:
        items = ", ".join(f"{v:#x}" for v in self.values)
        return f"{self.target_text} {self.word} {{{items}}}"


@dataclass(frozen=True, slots=True)
class InSet(_Listed):
    """``arg`` is one of ``values``."""

    operation: ClassVar[str] = "in"
    word: ClassVar[str] = "in"

    def test(self, operand: int) -> bool:
        return operand in self.values

    def constraint(self) -> Constraint:
        return Within(points(self.values), self.width)

    def lower(self) -> Condition:
        return self

    def negation(self) -> Comparison:
        return NotInSet(self.arg, self.values, width=self.width)


@dataclass(frozen=True, slots=True)
class NotInSet(_Listed):
    """``arg`` is none of ``values``."""

    operation: ClassVar[str] = "not_in"
    word: ClassVar[str] = "not in"

    def test(self, operand: int) -> bool:
        return operand not in self.values

    def constraint(self) -> Constraint:
        return Within(complement_intervals(points(self.values), self.top), self.width)

    def lower(self) -> Condition:
        return Not(InSet(self.arg, self.values, width=self.width))

    def negation(self) -> Comparison:
        return InSet(self.arg, self.values, width=self.width)


@dataclass(frozen=True, slots=True)
class InRange(Comparison):
    """``low <= arg <= high`` (unsigned)."""

    low: int
    high: int

    operation: ClassVar[str] = "range"

    def _normalize(self) -> None:
        low = self._number("low", "range low end")
        high = self._number("high", "range high end")
        if low > high:
            raise PolicyError(
                f"range low end {low:#x} is above high end {high:#x} "
                "(as unsigned numbers): the range is empty"
            )

    def test(self, operand: int) -> bool:
        return self.low <= operand <= self.high

    def constraint(self) -> Constraint:
        return Within(((self.low, self.high),), self.width)

    def lower(self) -> Condition:
        # low <= a <= high  <=>  a >= low and not (a > high)
        return All(
            (
                GreaterOrEqual(self.arg, self.low, width=self.width),
                Not(GreaterThan(self.arg, self.high, width=self.width)),
            )
        )

    def parameters(self) -> tuple[int | tuple[int, ...], int | None]:
        return (self.low, self.high), None

    def __str__(self) -> str:
        return f"{self.low:#x} <= {self.target_text} <= {self.high:#x}"


Cmp = Comparison
"""The short name: ``Cmp(0, "eq", 5)`` is ``Equal(0, 5)``."""

CLASSES: Final[tuple[type[Comparison], ...]] = (
    Equal,
    NotEqual,
    LessThan,
    LessOrEqual,
    GreaterThan,
    GreaterOrEqual,
    MaskedEqual,
    BitsSet,
    BitsClear,
    InSet,
    NotInSet,
    InRange,
)
"""Every comparison, in the order of the module docstring."""

BY_OPERATION: Final[dict[str, type[Comparison]]] = {cls.operation: cls for cls in CLASSES}
OPERATIONS: Final[tuple[str, ...]] = tuple(BY_OPERATION)
"""The names of the comparisons in the policy format."""


def _pair(op: str, value: object) -> tuple[object, object]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise PolicyError(f"{op} takes a pair (low, high), not {value!r}")
    return value[0], value[1]


def _from_operation(
    arg: ArgTarget,
    op: str,
    value: int | Iterable[int],
    mask: int | None = None,
    width: int = 64,
) -> Comparison:
    """``Comparison(arg, op, value, mask, width)``: the comparison named ``op``."""
    cls = BY_OPERATION.get(op)
    if cls is None:
        raise PolicyError(f"unknown operation {op!r}; expected one of {', '.join(OPERATIONS)}")
    target = _check_target(arg)
    if cls is MaskedEqual:
        if mask is None:
            raise PolicyError("masked_eq needs a mask: (arg & mask) == value")
        return MaskedEqual(target, mask, value, width=width)  # type: ignore[arg-type]
    if mask is not None:
        raise PolicyError(f"mask belongs to masked_eq only, not {op}")
    if cls is InRange:
        low, high = _pair(op, value)
        return InRange(target, low, high, width=width)  # type: ignore[arg-type]
    build: Callable[..., Comparison] = cls
    return build(target, value, width=width)


# -- combinations -------------------------------------------------------------------------------
#
# ``All``, ``Any`` and ``Not`` nest without limit: a generated policy can hold conditions many
# thousands of levels deep. Nothing here recurses on that depth. Each combination computes its
# hash once, from its parts' (which are already known when it is built), and equality, truth,
# text and the walks below use explicit stacks.


def _conditions(items: object, owner: str) -> tuple[Condition, ...]:
    if not isinstance(items, Iterable):
        raise PolicyError(f"{owner} takes a sequence of conditions, not {items!r}")
    result = tuple(items)
    for item in result:
        if not isinstance(item, (Comparison, All, Any, Not)):
            raise PolicyError(
                f"{owner} takes conditions (comparisons, All, Any, Not), not {item!r}"
            )
    return result


class _Combination:
    """What ``All``, ``Any`` and ``Not`` share: a hash computed once, and equality, truth and
    text computed without recursion."""

    __slots__ = ()
    _hash: int

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (All, Any, Not)):
            return NotImplemented
        return _same(self, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        """Whether the condition is true for these arguments and instruction pointer."""
        return evaluate(self, lambda cmp: cmp.holds(args, ip))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return _text(self)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return _text(self, repr)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class All(_Combination):
    """True when every condition holds; ``All(())`` is true."""

    conditions: tuple[Condition, ...]
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _conditions(self.conditions, "All")
        object.__setattr__(self, "conditions", parts)
        object.__setattr__(self, "_hash", hash((_ALL_TAG, *map(hash, parts))))

    def __reduce__(self) -> tuple[type[All], tuple[tuple[Condition, ...]]]:
        return All, (self.conditions,)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Any(_Combination):
    """True when at least one condition holds; ``Any(())`` is false."""

    conditions: tuple[Condition, ...]
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _conditions(self.conditions, "Any")
        object.__setattr__(self, "conditions", parts)
        object.__setattr__(self, "_hash", hash((_ANY_TAG, *map(hash, parts))))

    def __reduce__(self) -> tuple[type[Any], tuple[tuple[Condition, ...]]]:
        return Any, (self.conditions,)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Not(_Combination):
    """True when ``condition`` does not hold."""

    condition: Condition
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.condition, (Comparison, All, Any, Not)):
            raise PolicyError(
                f"Not takes a condition (a comparison, All, Any, Not), not {self.condition!r}"
            )
        object.__setattr__(self, "_hash", hash((_NOT_TAG, hash(self.condition))))

    def __reduce__(self) -> tuple[type[Not], tuple[Condition]]:
        return Not, (self.condition,)


_ALL_TAG: Final = 0x616C6C
_ANY_TAG: Final = 0x616E79
_NOT_TAG: Final = 0x6E6F74

Condition: TypeAlias = Union[Comparison, All, Any, Not]  # noqa: UP007 - defined above

TRUE: Final[Condition] = All(())
FALSE: Final[Condition] = Any(())


def parts_of(condition: Condition) -> tuple[Condition, ...]:
    """The conditions directly inside ``condition`` (none for a comparison)."""
    if isinstance(condition, (All, Any)):
        return condition.conditions
    if isinstance(condition, Not):
        return (condition.condition,)
    return ()


def _same(first: Condition, second: Condition) -> bool:
    """Structural equality, one pair of nodes at a time."""
    stack = [(first, second)]
    while stack:
        a, b = stack.pop()
        if a is b:
            continue
        if type(a) is not type(b):
            return False
        if isinstance(a, Comparison):
            if a != b:
                return False
            continue
        assert isinstance(b, (All, Any, Not)) and isinstance(a, (All, Any, Not))
        if a._hash != b._hash:
            return False
        left, right = parts_of(a), parts_of(b)
        if len(left) != len(right):
            return False
        stack.extend(zip(left, right, strict=True))
    return True


def evaluate(condition: Condition, test: Callable[[Comparison], bool]) -> bool:
    """Whether ``condition`` holds when each comparison ``c`` is ``test(c)``.

    ``All`` stops at the first part that fails and ``Any`` at the first that holds, as the
    compiled program does; a stack of ``(combination, part being tried)`` replaces recursion.
    """
    stack: list[tuple[All | Any | Not, int]] = []
    node = condition
    while True:
        # Down to a comparison (or an empty All/Any, whose value is known).
        while True:
            if isinstance(node, Not):
                stack.append((node, 0))
                node = node.condition
            elif isinstance(node, (All, Any)):
                if not node.conditions:
                    value = isinstance(node, All)
                    break
                stack.append((node, 0))
                node = node.conditions[0]
            else:
                value = test(node)
                break
        # Up while each combination is decided by the value of its current part.
        while stack:
            parent, index = stack.pop()
            if isinstance(parent, Not):
                value = not value
                continue
            decides = isinstance(parent, Any)  # Any: a true part; All: a false one
            if value == decides or index + 1 == len(parent.conditions):
                continue
            stack.append((parent, index + 1))
            node = parent.conditions[index + 1]
            break
        else:
            return value


T = typing.TypeVar("T")


def fold(
    condition: Condition,
    leaf: Callable[[Comparison], T],
    combine: Callable[[All | Any | Not, list[T]], T],
) -> T:
    """``condition`` reduced bottom-up: ``leaf`` for each comparison, ``combine`` for each
    combination with its parts' results, in order. Parts shared by several combinations are
    reduced once."""
    done: dict[int, T] = {}
    stack: list[tuple[Condition, bool]] = [(condition, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in done:
            continue
        if isinstance(node, Comparison):
            done[key] = leaf(node)
        elif expanded:
            done[key] = combine(node, [done[id(part)] for part in parts_of(node)])
        else:
            stack.append((node, True))
            stack.extend((part, False) for part in reversed(parts_of(node)))
    return done[id(condition)]


def _text(condition: Condition, write: Callable[[object], str] = str) -> str:
    """``str`` (or, with ``write=repr``, ``repr``) of a condition, without recursion."""

    def combine(node: All | Any | Not, parts: list[str]) -> str:
        if write is repr:
            if isinstance(node, Not):
                return f"Not(condition={parts[0]})"
            inner = ", ".join(parts) + ("," if len(parts) == 1 else "")
            return f"{type(node).__name__}(conditions=({inner}))"
        if isinstance(node, Not):
            # All and Any print their own parentheses; a comparison needs them ("!(a == 0)")
            return f"!({parts[0]})" if isinstance(node.condition, Comparison) else f"!{parts[0]}"
        if not parts:
            return "true" if isinstance(node, All) else "false"
        joint = " && " if isinstance(node, All) else " || "
        return "(" + joint.join(parts) + ")"

    return fold(condition, write, combine)


def comparisons(condition: Condition | None) -> typing.Iterator[Comparison]:
    """Every comparison in ``condition``, in order."""
    if condition is None:
        return
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            yield node
        else:
            stack.extend(reversed(parts_of(node)))


def rewrite(condition: Condition, change: Callable[[Comparison], Condition]) -> Condition:
    """``condition`` with each comparison ``c`` replaced by ``change(c)``."""

    def combine(node: All | Any | Not, parts: list[Condition]) -> Condition:
        if isinstance(node, Not):
            return Not(parts[0])
        return All(tuple(parts)) if isinstance(node, All) else Any(tuple(parts))

    return fold(condition, change, combine)


# --- short constructors ---------------------------------------------------------------------
# eq(0, 5) is ``args[0] == 5``; eq(IP, 0x401000) compares the instruction pointer.


def _target(arg: ArgTarget) -> int | None:
    return _check_target(arg)


def eq(arg: ArgTarget, value: int, width: int = 64) -> Equal:
    return Equal(_target(arg), value, width=width)


def ne(arg: ArgTarget, value: int, width: int = 64) -> NotEqual:
    return NotEqual(_target(arg), value, width=width)


def lt(arg: ArgTarget, value: int, width: int = 64) -> LessThan:
    return LessThan(_target(arg), value, width=width)


def le(arg: ArgTarget, value: int, width: int = 64) -> LessOrEqual:
    return LessOrEqual(_target(arg), value, width=width)


def gt(arg: ArgTarget, value: int, width: int = 64) -> GreaterThan:
    return GreaterThan(_target(arg), value, width=width)


def ge(arg: ArgTarget, value: int, width: int = 64) -> GreaterOrEqual:
    return GreaterOrEqual(_target(arg), value, width=width)


def masked_eq(arg: ArgTarget, mask: int, value: int, width: int = 64) -> MaskedEqual:
    """``(arg & mask) == value``."""
    return MaskedEqual(_target(arg), mask, value, width=width)


def bits_set(arg: ArgTarget, bits: int, width: int = 64) -> BitsSet:
    """Every bit of ``bits`` is set in the argument."""
    return BitsSet(_target(arg), bits, width=width)


def bits_clear(arg: ArgTarget, bits: int, width: int = 64) -> BitsClear:
    """No bit of ``bits`` is set in the argument."""
    return BitsClear(_target(arg), bits, width=width)


def in_(arg: ArgTarget, values: Iterable[int], width: int = 64) -> InSet:
    return InSet(_target(arg), tuple(values), width=width)


def not_in(arg: ArgTarget, values: Iterable[int], width: int = 64) -> NotInSet:
    return NotInSet(_target(arg), tuple(values), width=width)


def in_range(arg: ArgTarget, low: int, high: int, width: int = 64) -> InRange:
    """``low <= arg <= high`` (unsigned)."""
    return InRange(_target(arg), low, high, width=width)
