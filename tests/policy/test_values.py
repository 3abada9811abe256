"""Exact value sets: every operation against a brute-force oracle.

The sets drawn here live in a small universe (32-bit values below 512, or 64-bit values whose
high word is 0 or 1 and low word below 256), because their first constraint is an interval
inside it. The oracle is the list of constraints itself, checked value by value, so the
emptiness test, the smallest element and the conversion to intervals can be compared with an
exhaustive search.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.policy.values import (
    MASK32,
    ValueSet,
    complement_intervals,
    intersect_intervals,
    masked_at_least_patterns,
    masked_greater_patterns,
    normalize_intervals,
    union_intervals,
)

Check = Callable[[int], bool]
Step = tuple[str, int, int]

SMALL = 512
UNIVERSE64 = [(h << 32) | low for h in (0, 1) for low in range(256)]
# Masks that matter in the universe: low bits, and bit 32 for 64-bit values.
masks32 = st.integers(0, SMALL - 1)
masks64 = st.integers(0, 255) | st.integers(0, 255).map(lambda m: m | (1 << 32))


def _apply(values: ValueSet, step: Step) -> tuple[ValueSet, Check]:
    kind, x, y = step
    if kind == "in":
        lo, hi = min(x, y), max(x, y)
        return values.with_intervals(((lo, hi),)), lambda v: lo <= v <= hi
    if kind == "out":
        lo, hi = min(x, y), max(x, y)
        top = (1 << values.width) - 1
        outside = complement_intervals(((lo, hi),), top)
        return values.with_intervals(outside), lambda v: not lo <= v <= hi
    if kind == "low":
        lo, hi = min(x, y), max(x, y)
        return values.with_low(((lo, hi),)), lambda v: lo <= (v & MASK32) <= hi
    if kind == "fixed":
        return values.with_fixed(x, y & x), lambda v: v & x == y & x
    return values.with_excluded(x, y & x), lambda v: v & x != y & x


def _steps(width: int) -> st.SearchStrategy[list[Step]]:
    masks = masks32 if width == 32 else masks64
    numbers = st.integers(0, SMALL - 1) if width == 32 else st.sampled_from(UNIVERSE64)
    orderings = ["in", "out", "low"] if width == 64 else ["in", "out"]
    step = st.one_of(
        st.tuples(st.sampled_from(orderings), numbers, numbers),
        st.tuples(st.sampled_from(["fixed", "excluded"]), masks, masks),
    )
    return st.lists(step, max_size=6)


@st.composite
def small_sets(draw: st.DrawFn, width: int) -> tuple[ValueSet, list[Check], list[int]]:
    """A set, its constraints as predicates, and the universe it lives in."""
    universe = list(range(SMALL)) if width == 32 else UNIVERSE64
    values = ValueSet.full(width)
    # The first constraint keeps the set inside the universe.
    if width == 32:
        values, first = _apply(values, ("in", 0, SMALL - 1))
        checks = [first]
    else:
        values = values.with_intervals(((0, (1 << 32) | 255),)).with_low(((0, 255),))
        checks = [lambda v: v <= ((1 << 32) | 255) and (v & MASK32) <= 255]
    for step in draw(_steps(width)):
        values, check = _apply(values, step)
        checks.append(check)
    return values, checks, universe


def _members(checks: list[Check], universe: list[int]) -> list[int]:
    return [v for v in universe if all(check(v) for check in checks)]


@pytest.mark.parametrize("width", [32, 64])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_sets_are_exact(width: int, data: st.DataObject) -> None:
    values, checks, universe = data.draw(small_sets(width))
    members = _members(checks, universe)
    assert [v for v in universe if v in values] == members
    assert values.is_empty == (not members)
    assert values.first() == (members[0] if members else None)
    if members:
        assert values.sample() in values


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_as_intervals_lists_exactly_the_members(data: st.DataObject) -> None:
    values, checks, universe = data.draw(small_sets(32))
    members = _members(checks, universe)
    expected = normalize_intervals((v, v) for v in members)
    assert values.as_intervals() == expected


@pytest.mark.parametrize("width", [32, 64])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_intersection_is_the_conjunction(width: int, data: st.DataObject) -> None:
    a, checks_a, universe = data.draw(small_sets(width))
    b, checks_b, _ = data.draw(small_sets(width))
    both = a.intersect(b)
    assert [v for v in universe if v in both] == _members(checks_a + checks_b, universe)


@pytest.mark.parametrize("width", [32, 64])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_exact_unions_hold_exactly_the_members_of_either(width: int, data: st.DataObject) -> None:
    a, _, universe = data.draw(small_sets(width))
    b, _, _ = data.draw(small_sets(width))
    united = a.union_exact(b)
    if united is not None:
        assert [v for v in universe if v in united] == [v for v in universe if v in a or v in b]


def test_the_pieces_of_a_64_bit_comparison_unite() -> None:
    # arg != 5, as a program tests it: high word != 0, or high word == 0 and low word != 5
    v = 5
    high_differs = ValueSet.full(64).with_intervals(complement_intervals(((0, MASK32),), 2**64 - 1))
    low_differs = (
        ValueSet.full(64)
        .with_intervals(((0, MASK32),))
        .with_low(complement_intervals(((v, v),), MASK32))
    )
    united = high_differs.union_exact(low_differs)
    assert united == ValueSet.of(64, ((0, v - 1), (v + 1, 2**64 - 1)))


def test_the_pieces_of_a_64_bit_mask_test_unite() -> None:
    # (arg & 0x100000001) != 0: high bit set, or high bit clear and low bit set
    high_set = ValueSet.full(64).with_excluded(1 << 32, 0)
    low_set = ValueSet.full(64).with_fixed(1 << 32, 0).with_excluded(1, 0)
    assert high_set.union_exact(low_set) == ValueSet.full(64).with_excluded((1 << 32) | 1, 0)


def test_whole_word_masks_become_intervals() -> None:
    assert ValueSet.full(32).with_fixed(MASK32, 7) == ValueSet.of(32, ((7, 7),))
    assert ValueSet.full(64).with_fixed(MASK32 << 32, 1 << 32) == ValueSet.of(
        64, ((1 << 32, (1 << 32) | MASK32),)
    )
    assert ValueSet.full(64).with_fixed(MASK32, 3).low == ((3, 3),)


def test_contradicting_masks_are_empty_without_a_search_of_every_value() -> None:
    # bit 0 must be 1 and must not be 1: the search remembers failed states
    values = ValueSet.full(64).with_fixed(1, 1).with_excluded(1, 1)
    assert values.is_empty
    values = ValueSet.full(64).with_excluded(3, 0).with_excluded(3, 1).with_excluded(3, 2)
    assert values.first() == 3
    assert values.with_excluded(3, 3).is_empty


def test_masks_on_low_bits_of_a_large_set_are_too_complex_to_list() -> None:
    every_other = ValueSet.full(32).with_fixed(1, 0)
    with pytest.raises(TooComplexError):
        every_other.as_intervals()
    assert ValueSet.full(32).with_fixed(1 << 30, 1 << 30).as_intervals() == (
        (0x40000000, 0x7FFFFFFF),
        (0xC0000000, 0xFFFFFFFF),
    )


@settings(max_examples=300, deadline=None)
@given(mask=st.integers(0, 255), k=st.integers(0, 255))
def test_masked_orderings_are_disjoint_patterns(mask: int, k: int) -> None:
    greater = masked_greater_patterns(mask, k, width=8)
    at_least = masked_at_least_patterns(mask, k, width=8)
    for v in range(256):
        for patterns, holds in ((greater, v & mask > k), (at_least, v & mask >= k)):
            matching = [p for p in patterns if v & p[0] == p[1]]
            assert len(matching) <= 1
            assert bool(matching) == holds


@settings(max_examples=200, deadline=None)
@given(
    a=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=5),
    b=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=5),
)
def test_interval_operations(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    na, nb = normalize_intervals(a), normalize_intervals(b)

    def members(intervals: tuple[tuple[int, int], ...]) -> set[int]:
        return {v for lo, hi in intervals for v in range(lo, hi + 1)}

    assert members(na) == {v for lo, hi in a for v in range(lo, hi + 1)}
    assert members(intersect_intervals(na, nb)) == members(na) & members(nb)
    assert members(union_intervals(na, nb)) == members(na) | members(nb)
    assert members(complement_intervals(na, 63)) == set(range(64)) - members(na)


@settings(max_examples=200, deadline=None)
@given(
    a=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), min_size=20, max_size=80),
    b=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), max_size=3),
)
def test_a_long_list_meets_a_short_one_by_bisection(
    a: list[tuple[int, int]], b: list[tuple[int, int]]
) -> None:
    # Short against long takes the bisecting path; either order gives the same intervals.
    na, nb = normalize_intervals(a), normalize_intervals(b)
    expected = normalize_intervals(
        (v, v)
        for v in {v for lo, hi in na for v in range(lo, hi + 1)}
        if any(lo <= v <= hi for lo, hi in nb)
    )
    assert intersect_intervals(na, nb) == expected
    assert intersect_intervals(nb, na) == expected
