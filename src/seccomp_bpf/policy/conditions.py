"""Conditions on a system call's arguments: comparisons and their ``All``/``Any``/``Not``.

A filter sees each argument as an unsigned 64-bit number (``__u64 args[6]`` of
``struct seccomp_data``, ``<linux/seccomp.h>``) and the instruction pointer likewise.
Every comparison here is on those unsigned numbers; a negative value in a policy is its
two's-complement bit pattern.

``width=32`` compares the low 32 bits only, and reads a negative value as a 32-bit one. That
is what an ``int`` argument needs: the kernel uses only its low half, while seccomp sees the
full register, whose upper half may hold anything (``fd == -1`` must match 0xffffffff whatever
the upper half is; with width 64 it would have to be 0xffffffffffffffff).

The operations, with ``a`` the argument (masked to the width) and ``v`` the value::

    eq  ne  lt  le  gt  ge      a == v, a != v, a < v, a <= v, a > v, a >= v (unsigned)
    masked_eq                    (a & mask) == v   (v must lie inside mask)
    bits_set                     (a & v) == v      every bit of v is set
    bits_clear                   (a & v) == 0      no bit of v is set
    in, not_in                   a is (is not) one of the values
    range                        lo <= a <= hi

:meth:`Cmp.holds` is written straight from this table: it is the definition the compiler's
output is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, Union

from seccomp_bpf.errors import PolicyError

IP: Final = "ip"
"""Target marker for the instruction pointer, usable wherever an argument index is."""

ArgTarget: TypeAlias = int | Literal["ip"] | None

OPERATIONS: Final[tuple[str, ...]] = (
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "masked_eq",
    "bits_set",
    "bits_clear",
    "in",
    "not_in",
    "range",
)
_SCALAR_OPERATIONS: Final = frozenset(OPERATIONS) - {"in", "not_in", "range"}
WIDTHS: Final = (64, 32)
ARGUMENT_COUNT: Final = 6  # <linux/seccomp.h>: __u64 args[6]

_MASK64: Final = (1 << 64) - 1
_SYMBOL: Final = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


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


@dataclass(frozen=True, slots=True)
class Cmp:
    """One comparison of argument ``arg`` (0..5; ``None`` = instruction pointer).

    Construction normalises ``value`` (and ``mask``) to unsigned ``width``-bit numbers and
    checks everything else; see the module docstring for the operations.
    """

    arg: int | None
    op: str
    value: int | tuple[int, ...]
    mask: int | None = None
    width: int = 64

    def __post_init__(self) -> None:
        arg = self.arg
        if isinstance(arg, str) and arg == IP:
            arg = None
            object.__setattr__(self, "arg", None)
        if arg is not None and (
            isinstance(arg, bool) or not isinstance(arg, int) or not 0 <= arg < ARGUMENT_COUNT
        ):
            raise PolicyError(f"argument index must be 0..5 (or 'ip'), not {arg!r}")
        if self.op not in OPERATIONS:
            raise PolicyError(
                f"unknown operation {self.op!r}; expected one of {', '.join(OPERATIONS)}"
            )
        if self.width not in WIDTHS or isinstance(self.width, bool):
            raise PolicyError(f"width must be 64 or 32, not {self.width!r}")
        width = self.width
        value: int | tuple[int, ...]
        if self.op in _SCALAR_OPERATIONS:
            value = _unsigned(self.value, width, "value")
        elif self.op == "range":
            if (
                not isinstance(self.value, Sequence)
                or isinstance(self.value, str)
                or len(self.value) != 2
            ):
                raise PolicyError(f"range takes a pair (low, high), not {self.value!r}")
            low = _unsigned(self.value[0], width, "range low end")
            high = _unsigned(self.value[1], width, "range high end")
            if low > high:
                raise PolicyError(
                    f"range low end {low:#x} is above high end {high:#x} "
                    "(as unsigned numbers): the range is empty"
                )
            value = (low, high)
        else:
            if not isinstance(self.value, Iterable) or isinstance(self.value, (str, bytes)):
                raise PolicyError(f"{self.op} takes a list of values, not {self.value!r}")
            items: list[int] = []
            for item in self.value:
                number = _unsigned(item, width, "value")
                if number not in items:
                    items.append(number)
            if not items:
                raise PolicyError(f"{self.op} needs at least one value")
            value = tuple(items)
        object.__setattr__(self, "value", value)

        if self.op == "masked_eq":
            if self.mask is None:
                raise PolicyError("masked_eq needs a mask: (arg & mask) == value")
            mask = _unsigned(self.mask, width, "mask")
            object.__setattr__(self, "mask", mask)
            assert isinstance(value, int)
            if value & ~mask:
                raise PolicyError(
                    f"masked_eq value {value:#x} has bits outside mask {mask:#x}: "
                    "(arg & mask) could never equal it"
                )
        elif self.mask is not None:
            raise PolicyError(f"mask belongs to masked_eq only, not {self.op}")

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        """Whether the comparison is true for these arguments and instruction pointer."""
        operand = ip if self.arg is None else args[self.arg]
        operand &= _MASK64
        if self.width == 32:
            operand &= 0xFFFFFFFF
        value = self.value
        op = self.op
        if op == "in":
            assert isinstance(value, tuple)
            return operand in value
        if op == "not_in":
            assert isinstance(value, tuple)
            return operand not in value
        if op == "range":
            assert isinstance(value, tuple)
            return value[0] <= operand <= value[1]
        assert isinstance(value, int)
        if op == "eq":
            return operand == value
        if op == "ne":
            return operand != value
        if op == "lt":
            return operand < value
        if op == "le":
            return operand <= value
        if op == "gt":
            return operand > value
        if op == "ge":
            return operand >= value
        if op == "masked_eq":
            assert self.mask is not None
            return operand & self.mask == value
        if op == "bits_set":
            return operand & value == value
        if op == "bits_clear":
            return operand & value == 0
        raise AssertionError(f"unhandled operation {op}")

    def __str__(self) -> str:
        target = _target_text(self.arg)
        if self.width == 32:
            target = f"(u32){target}"
        value = self.value
        if self.op in _SYMBOL:
            return f"{target} {_SYMBOL[self.op]} {value:#x}"
        if self.op == "masked_eq":
            return f"({target} & {self.mask:#x}) == {value:#x}"
        if self.op == "bits_set":
            return f"({target} & {value:#x}) == {value:#x}"
        if self.op == "bits_clear":
            return f"({target} & {value:#x}) == 0"
        assert isinstance(value, tuple)
        if self.op == "range":
            return f"{value[0]:#x} <= {target} <= {value[1]:#x}"
        items = ", ".join(f"{v:#x}" for v in value)
        word = "in" if self.op == "in" else "not in"
        return f"{target} {word} {{{items}}}"


def _conditions(items: object, owner: str) -> tuple[Condition, ...]:
    if not isinstance(items, Iterable):
        raise PolicyError(f"{owner} takes a sequence of conditions, not {items!r}")
    result = tuple(items)
    for item in result:
        if not isinstance(item, (Cmp, All, Any, Not)):
            raise PolicyError(f"{owner} takes conditions (Cmp, All, Any, Not), not {item!r}")
    return result


@dataclass(frozen=True, slots=True)
class All:
    """True when every condition holds; ``All(())`` is true."""

    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "conditions", _conditions(self.conditions, "All"))

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        return all(c.holds(args, ip) for c in self.conditions)

    def __str__(self) -> str:
        if not self.conditions:
            return "true"
        return "(" + " && ".join(str(c) for c in self.conditions) + ")"


@dataclass(frozen=True, slots=True)
class Any:
    """True when at least one condition holds; ``Any(())`` is false."""

    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "conditions", _conditions(self.conditions, "Any"))

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        return any(c.holds(args, ip) for c in self.conditions)

    def __str__(self) -> str:
        if not self.conditions:
            return "false"
        return "(" + " || ".join(str(c) for c in self.conditions) + ")"


@dataclass(frozen=True, slots=True)
class Not:
    """True when ``condition`` does not hold."""

    condition: Condition

    def __post_init__(self) -> None:
        if not isinstance(self.condition, (Cmp, All, Any, Not)):
            raise PolicyError(f"Not takes a condition (Cmp, All, Any, Not), not {self.condition!r}")

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        return not self.condition.holds(args, ip)

    def __str__(self) -> str:
        inner = self.condition
        # All and Any print their own parentheses; a comparison needs them ("!(a == 0)")
        return f"!({inner})" if isinstance(inner, Cmp) else f"!{inner}"


Condition: TypeAlias = Union[Cmp, All, Any, Not]  # noqa: UP007 - All/Any/Not are defined above


def _target(arg: ArgTarget) -> int | None:
    if isinstance(arg, str):
        if arg != IP:
            raise PolicyError(f"argument index must be 0..5 (or 'ip'), not {arg!r}")
        return None
    return arg


# --- short constructors ---------------------------------------------------------------------
# eq(0, 5) is ``args[0] == 5``; eq(IP, 0x401000) compares the instruction pointer.


def eq(arg: ArgTarget, value: int, width: int = 64) -> Cmp:
    return Cmp(_target(arg), "eq", value, width=width)


def ne(arg: ArgTarget, value: int, width: int = 64) -> Cmp:
    return Cmp(_target(arg), "ne", value, width=width)


def lt(arg: ArgTarget, value: int, width: int = 64) -> Cmp:
    return Cmp(_target(arg), "lt", value, width=width)


def le(arg: ArgTarget, value: int, width: int = 64) -> Cmp:
    return Cmp(_target(arg), "le", value, width=width)


def gt(arg: ArgTarget, value: int, width: int = 64) -> Cmp:
    return Cmp(_target(arg), "gt", value, width=width)


def ge(arg: ArgTarget, value: int, width: int = 64) -> Cmp:
    return Cmp(_target(arg), "ge", value, width=width)


def masked_eq(arg: ArgTarget, mask: int, value: int, width: int = 64) -> Cmp:
    """``(arg & mask) == value``."""
    return Cmp(_target(arg), "masked_eq", value, mask=mask, width=width)


def bits_set(arg: ArgTarget, bits: int, width: int = 64) -> Cmp:
    """Every bit of ``bits`` is set in the argument."""
    return Cmp(_target(arg), "bits_set", bits, width=width)


def bits_clear(arg: ArgTarget, bits: int, width: int = 64) -> Cmp:
    """No bit of ``bits`` is set in the argument."""
    return Cmp(_target(arg), "bits_clear", bits, width=width)


def in_(arg: ArgTarget, values: Iterable[int], width: int = 64) -> Cmp:
    return Cmp(_target(arg), "in", tuple(values), width=width)


def not_in(arg: ArgTarget, values: Iterable[int], width: int = 64) -> Cmp:
    return Cmp(_target(arg), "not_in", tuple(values), width=width)


def in_range(arg: ArgTarget, low: int, high: int, width: int = 64) -> Cmp:
    """``low <= arg <= high`` (unsigned)."""
    return Cmp(_target(arg), "range", (low, high), width=width)
