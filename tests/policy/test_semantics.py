"""The condition engine: regions of argument space cut by conditions and written back, and
satisfiability, implication and equivalence, against ``holds``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.policy import All, Any, Cmp, Condition, Not, eq, in_range
from seccomp_bpf.policy.semantics import (
    FULL_REGION,
    ZERO_EXTENDED,
    Region,
    compact,
    equivalent,
    implies,
    narrowed_region,
    region_condition,
    region_contains,
    regions_condition,
    satisfiable,
    split,
    with_upper_half,
)
from tests.compiler.strategies import BOUNDARIES, MAX64, condition_values, conditions

MASK32 = 0xFFFFFFFF


@st.composite
def calls(draw: st.DrawFn, condition: Condition) -> tuple[tuple[int, ...], int]:
    """Six arguments and an instruction pointer at and next to the condition's constants."""
    near = set(BOUNDARIES)
    for value in condition_values(condition):
        value &= MAX64
        low = value & MASK32
        near |= {value, (value + 1) & MAX64, (value - 1) & MAX64, low, (7 << 32) | low}
    choice = st.sampled_from(sorted(near)) | st.integers(0, MAX64)
    args = tuple(draw(choice) for _ in range(6))
    return args, draw(choice)


def _inside(regions: list[Region], args: tuple[int, ...], ip: int) -> int:
    return sum(1 for region in regions if region_contains(region, args, ip))


@settings(max_examples=100, deadline=None)
@given(condition=conditions, data=st.data())
def test_split_cuts_exactly_where_the_condition_holds(
    condition: Condition, data: st.DataObject
) -> None:
    true_parts, false_parts = split(condition, FULL_REGION)
    written = regions_condition(true_parts) if true_parts else None
    for _ in range(8):
        args, ip = data.draw(calls(condition))
        holds = condition.holds(args, ip)
        # the parts are disjoint and cover every call
        assert _inside(true_parts, args, ip) == (1 if holds else 0)
        assert _inside(false_parts, args, ip) == (0 if holds else 1)
        for region in true_parts + false_parts:
            back = region_condition(region)
            inside = region_contains(region, args, ip)
            assert inside == (True if back is None else back.holds(args, ip))
        if true_parts:
            assert holds == (True if written is None else written.holds(args, ip))


@settings(max_examples=60, deadline=None)
@given(condition=conditions, data=st.data())
def test_compacting_keeps_the_union(condition: Condition, data: st.DataObject) -> None:
    for parts in split(condition, FULL_REGION):
        fewer = compact(parts)
        assert len(fewer) <= len(parts)
        for _ in range(8):
            args, ip = data.draw(calls(condition))
            assert (_inside(parts, args, ip) > 0) == (_inside(fewer, args, ip) > 0)


@settings(max_examples=60, deadline=None)
@given(condition=conditions, data=st.data())
def test_narrowed_regions_see_the_low_halves_of_arguments(
    condition: Condition, data: st.DataObject
) -> None:
    for region in [r for parts in split(condition, FULL_REGION) for r in parts]:
        narrow = narrowed_region(region)
        for _ in range(5):
            args, ip = data.draw(calls(condition))
            low = tuple(a & MASK32 for a in args)
            expected = region_contains(region, low, ip)
            assert (narrow is not None and region_contains(narrow, args, ip)) == expected


WIDE_VALUES = (0, 1, 5, 1 << 32, (1 << 32) | 5, 0xFFFFFFFF, 3 << 31, (1 << 64) - 1)


@st.composite
def wide_comparisons(draw: st.DrawFn) -> Cmp:
    """64-bit comparisons of argument 0 with constants on both sides of the halves."""
    op = draw(
        st.sampled_from(
            ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq", "bits_set", "bits_clear",
             "in", "not_in", "range"]
        )
    )  # fmt: skip
    value, other = draw(st.sampled_from(WIDE_VALUES)), draw(st.sampled_from(WIDE_VALUES))
    if op == "masked_eq":
        return Cmp(0, op, value & other, mask=other)
    if op in ("in", "not_in"):
        return Cmp(0, op, (value, other))
    if op == "range":
        return Cmp(0, op, (min(value, other), max(value, other)))
    return Cmp(0, op, value)


@settings(max_examples=400, deadline=None)
@given(
    cmp=wide_comparisons(),
    high=st.sampled_from([0, 1, 2, 0xFFFFFFFF]),
    low=st.sampled_from([0, 1, 4, 5, 6, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]),
)
def test_fixing_the_upper_half_keeps_the_meaning(cmp: Cmp, high: int, low: int) -> None:
    # SB009 rests on this: a condition with argument 0's upper half fixed to ``high`` holds
    # for a low half exactly when the original holds for the whole value.
    fixed = with_upper_half(cmp, 0, high)
    assert fixed.holds((low, 0, 0, 0, 0, 0)) == cmp.holds((high << 32 | low, 0, 0, 0, 0, 0))


@settings(max_examples=200, deadline=None)
@given(conditions)
def test_equal_conditions_are_found_equal(condition: Condition) -> None:
    assert equivalent(Not(Not(condition)), condition)
    assert implies(None, Any((condition, Not(condition))))
    assert not satisfiable(All((condition, Not(condition))))
    holds, fails = split(condition, ())
    assert satisfiable(condition) == bool(holds)
    assert satisfiable(Not(condition)) == bool(fails)


def test_implication_and_equivalence_on_known_cases() -> None:
    assert implies(eq(0, 5), Cmp(0, "le", 9))
    assert not implies(Cmp(0, "le", 9), eq(0, 5))
    assert equivalent(in_range(0, 3, 5), Cmp(0, "in", (3, 4, 5)))
    assert equivalent(Cmp(0, "lt", 1), eq(0, 0))
    # on 32-bit arguments, the upper half is clear: the two read alike there only
    low_only = eq(0, 5, width=32)
    assert not equivalent(low_only, eq(0, 5))
    assert equivalent(low_only, eq(0, 5), within=ZERO_EXTENDED)
