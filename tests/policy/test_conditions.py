"""Comparisons and their combinations, at the boundaries of 32- and 64-bit arithmetic."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import (
    IP,
    All,
    Any,
    Cmp,
    Equal,
    Not,
    bits_clear,
    bits_set,
    eq,
    ge,
    gt,
    in_,
    in_range,
    le,
    lt,
    masked_eq,
    ne,
    not_in,
)

U64 = (1 << 64) - 1
U32 = (1 << 32) - 1
BOUNDARIES = [0, 1, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 1, 2**32, 2**32 + 1, 2**63 - 1, 2**63, U64]


def args0(value: int) -> tuple[int, ...]:
    return (value, 0, 0, 0, 0, 0)


# Each operation against Python's own arithmetic on unsigned numbers.
PYTHON: dict[str, Callable[[int, int], bool]] = {
    "eq": lambda a, v: a == v,
    "ne": lambda a, v: a != v,
    "lt": lambda a, v: a < v,
    "le": lambda a, v: a <= v,
    "gt": lambda a, v: a > v,
    "ge": lambda a, v: a >= v,
    "bits_set": lambda a, v: a & v == v,
    "bits_clear": lambda a, v: a & v == 0,
}


@pytest.mark.parametrize("op", sorted(PYTHON))
@pytest.mark.parametrize("value", BOUNDARIES)
def test_scalar_operations_at_boundaries(op: str, value: int) -> None:
    cmp = Cmp(0, op, value)
    for operand in BOUNDARIES:
        for a in {operand, max(operand - 1, 0), min(operand + 1, U64)}:
            assert cmp.holds(args0(a)) is PYTHON[op](a, value), (op, hex(a), hex(value))


def test_handwritten_unsigned_cases() -> None:
    assert lt(0, 2**32).holds(args0(2**32 - 1))
    assert not lt(0, 2**32).holds(args0(2**32))
    assert gt(0, 2**31).holds(args0(2**63))  # no sign: 2**63 is large, not negative
    assert ge(0, U64).holds(args0(U64))
    assert not gt(0, U64).holds(args0(U64))
    assert le(0, 0).holds(args0(0))
    assert not lt(0, 0).holds(args0(0))
    assert ne(0, 2**32).holds(args0(0))  # only the high word differs


def test_negative_values_are_twos_complement() -> None:
    assert Cmp(0, "eq", -1) == Equal(0, U64)
    assert eq(0, -1).holds(args0(U64))
    assert not eq(0, -1).holds(args0(U32))
    assert Cmp(0, "eq", -(2**63)) == Equal(0, 2**63)
    with pytest.raises(PolicyError, match="does not fit in 64 bits"):
        Cmp(0, "eq", -(2**63) - 1)
    with pytest.raises(PolicyError, match="does not fit in 64 bits"):
        Cmp(0, "eq", 2**64)


def test_width_32_compares_the_low_word_only() -> None:
    fd_is_minus_one = eq(0, -1, width=32)
    assert fd_is_minus_one.value == U32
    assert fd_is_minus_one.holds(args0(U32))
    assert fd_is_minus_one.holds(args0(U64))  # sign-extended
    assert fd_is_minus_one.holds(args0(0xDEAD_BEEF_FFFF_FFFF))  # garbage in the upper half
    assert not fd_is_minus_one.holds(args0(0xFFFF_FFFF_0000_0000))
    at_fdcwd = -100  # <linux/fcntl.h> AT_FDCWD
    dirfd = eq(0, at_fdcwd, width=32)
    assert dirfd.holds(args0(0x1234_5678_FFFF_FF9C))
    assert dirfd.holds(args0(0xFFFF_FF9C))
    assert not eq(0, at_fdcwd).holds(args0(0xFFFF_FF9C))  # width 64 needs the sign extension
    assert lt(0, 2, width=32).holds(args0(2**32 + 1))
    assert gt(0, 2**31, width=32).holds(args0(U32))
    assert not gt(0, 2**31, width=32).holds(args0(2**40 + 5))
    assert bits_set(0, 0x3, width=32).holds(args0(0xFFFF_0000_0000_0003))


def test_width_32_range_of_values() -> None:
    assert Cmp(0, "eq", 2**32 - 1, width=32) == Equal(0, U32, width=32)
    assert Cmp(0, "eq", -(2**31), width=32) == Equal(0, 2**31, width=32)
    with pytest.raises(PolicyError, match="does not fit in 32 bits"):
        Cmp(0, "eq", 2**32, width=32)
    with pytest.raises(PolicyError, match="does not fit in 32 bits"):
        Cmp(0, "eq", -(2**31) - 1, width=32)
    with pytest.raises(PolicyError, match="does not fit in 32 bits"):
        Cmp(0, "masked_eq", 0, mask=2**32, width=32)


def test_masked_eq() -> None:
    cmp = masked_eq(1, 0x0003, 0x0001)  # O_ACCMODE == O_WRONLY
    assert cmp.holds((0, 0x0001, 0, 0, 0, 0))
    assert cmp.holds((0, 0x8001, 0, 0, 0, 0))
    assert not cmp.holds((0, 0x0002, 0, 0, 0, 0))
    high = masked_eq(0, 0xFFFF_0000_0000_0000, 0x8000_0000_0000_0000)
    assert high.holds(args0(0x8000_0000_1234_5678))
    assert not high.holds(args0(0x1234_5678))
    with pytest.raises(PolicyError, match="outside mask"):
        masked_eq(0, 0x0F, 0x10)
    with pytest.raises(PolicyError, match="needs a mask"):
        Cmp(0, "masked_eq", 1)
    with pytest.raises(PolicyError, match="belongs to masked_eq only"):
        Cmp(0, "eq", 1, mask=1)


def test_bits_set_and_clear() -> None:
    assert bits_set(0, 0b101).holds(args0(0b111))
    assert not bits_set(0, 0b101).holds(args0(0b100))
    assert bits_clear(0, 0b101).holds(args0(0b010))
    assert not bits_clear(0, 0b101).holds(args0(0b001))
    assert bits_set(0, 2**63).holds(args0(U64))
    assert bits_set(0, 0).holds(args0(0))  # no bit asked: always true
    assert bits_clear(0, 0).holds(args0(U64))


def test_in_not_in_and_range() -> None:
    family = in_(0, [1, 2, 10])  # AF_UNIX, AF_INET, AF_INET6
    assert family.holds(args0(10))
    assert not family.holds(args0(10 + 2**32))
    assert not_in(0, [1, 2]).holds(args0(3))
    assert not not_in(0, [1, 2]).holds(args0(2))
    assert in_(0, [-1], width=32).holds(args0(U64))
    inside = in_range(0, 2**32 - 1, 2**32 + 1)
    assert [
        inside.holds(args0(v)) for v in (2**32 - 2, 2**32 - 1, 2**32, 2**32 + 1, 2**32 + 2)
    ] == [
        False,
        True,
        True,
        True,
        False,
    ]
    assert in_range(0, 0, U64).holds(args0(U64))
    assert in_(0, [3, 3, 1]).values == (3, 1)
    with pytest.raises(PolicyError, match="at least one value"):
        in_(0, [])
    with pytest.raises(PolicyError, match="range is empty"):
        in_range(0, 5, 4)
    with pytest.raises(PolicyError, match="range is empty"):
        in_range(0, -1, 5)  # -1 is 2**64-1 unsigned
    with pytest.raises(PolicyError, match="pair"):
        Cmp(0, "range", (1, 2, 3))
    with pytest.raises(PolicyError, match="list of values"):
        Cmp(0, "in", 5)


def test_instruction_pointer() -> None:
    at = eq(IP, 0x7FFF_0000_1000)
    assert at.arg is None
    assert at.holds(args0(0x7FFF_0000_1000), ip=0x7FFF_0000_1000)
    assert not at.holds(args0(0x7FFF_0000_1000), ip=0)
    assert Cmp("ip", "eq", 1).arg is None
    assert str(at) == "ip == 0x7fff00001000"


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"arg": 6, "op": "eq", "value": 1}, "argument index must be 0..5"),
        ({"arg": -1, "op": "eq", "value": 1}, "argument index must be 0..5"),
        ({"arg": True, "op": "eq", "value": 1}, "argument index must be 0..5"),
        ({"arg": 0, "op": "equals", "value": 1}, "unknown operation"),
        ({"arg": 0, "op": "eq", "value": 1, "width": 16}, "width must be 64 or 32"),
        ({"arg": 0, "op": "eq", "value": "1"}, "must be an integer"),
        ({"arg": 0, "op": "eq", "value": True}, "must be an integer"),
    ],
)
def test_invalid_comparisons(kwargs: dict[str, object], phrase: str) -> None:
    with pytest.raises(PolicyError, match=phrase):
        Cmp(**kwargs)  # type: ignore[arg-type]


def test_all_any_not_and_nesting() -> None:
    a = eq(0, 1)
    b = eq(1, 2)
    assert All(()).holds(args0(0))
    assert not Any(()).holds(args0(0))
    both = All((a, b))
    either = Any((a, b))
    for x, y, expect_both, expect_either in [
        (1, 2, True, True),
        (1, 0, False, True),
        (0, 2, False, True),
        (0, 0, False, False),
    ]:
        args = (x, y, 0, 0, 0, 0)
        assert both.holds(args) is expect_both
        assert either.holds(args) is expect_either
        assert Not(both).holds(args) is not expect_both
    # (arg0 == 1 && !(arg1 in {2, 3})) || arg2 > 10, with the same argument compared twice
    nested = Any((All((a, Not(in_(1, [2, 3])), ne(0, 2))), gt(2, 10)))
    assert nested.holds((1, 4, 0, 0, 0, 0))
    assert not nested.holds((1, 3, 0, 0, 0, 0))
    assert nested.holds((1, 3, 11, 0, 0, 0))
    assert not nested.holds((0, 4, 10, 0, 0, 0))
    assert All([a, b]).conditions == (a, b)  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        All((a, "arg0 == 1"))  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        Not(5)  # type: ignore[arg-type]


def test_text_forms() -> None:
    assert str(eq(0, 5)) == "arg0 == 0x5"
    assert str(eq(3, -1, width=32)) == "(u32)arg3 == 0xffffffff"
    assert str(masked_eq(1, 3, 1)) == "(arg1 & 0x3) == 0x1"
    assert str(Any((eq(0, 1), Not(in_(1, [2]))))) == "(arg0 == 0x1 || !(arg1 in {0x2}))"
    # a negated comparison is parenthesised: "!(arg2 & 0x3) == 0x0" would read otherwise
    assert str(Not(masked_eq(2, 3, 0))) == "!((arg2 & 0x3) == 0x0)"
    assert str(Not(All((eq(0, 1), eq(1, 2))))) == "!(arg0 == 0x1 && arg1 == 0x2)"
    assert str(in_range(2, 1, 2)) == "0x1 <= arg2 <= 0x2"


@given(
    st.sampled_from(sorted(PYTHON)),
    st.integers(-(2**31), 2**32 - 1),
    st.integers(0, U64),
)
def test_width_32_equals_64_bit_compare_of_low_words(op: str, value: int, operand: int) -> None:
    expected = PYTHON[op](operand & U32, value & U32)
    assert Cmp(0, op, value, width=32).holds(args0(operand)) is expected


@given(st.integers(0, U64), st.integers(0, U64), st.integers(0, U64))
def test_masked_eq_matches_python(mask: int, value: int, operand: int) -> None:
    value &= mask
    assert masked_eq(0, mask, value).holds(args0(operand)) is (operand & mask == value)
