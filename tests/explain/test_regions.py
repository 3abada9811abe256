"""Regions of argument space: cutting by conditions and writing back, against ``holds``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.explain.regions import (
    FULL_REGION,
    Region,
    compact,
    narrowed_region,
    region_condition,
    region_contains,
    regions_condition,
    split,
)
from seccomp_bpf.policy import Condition
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
