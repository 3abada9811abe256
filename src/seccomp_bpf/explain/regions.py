"""Regions of argument space, and how policy conditions cut them.

A region is a conjunction of one :class:`~seccomp_bpf.explain.valueset.ValueSet` per target
(``args[0..5]`` and the instruction pointer), each a set of 64-bit values; a target that is not
mentioned may hold anything. A region is written as a sorted tuple of ``(target, set)``
pairs, so that equal regions compare equal.

Both directions are exact:

- :func:`split` cuts a region by a policy :class:`~seccomp_bpf.policy.Condition` into the
  parts where it holds and where it does not (every comparison and its negation is one
  constraint on one target; ``All``/``Any``/``Not`` combine the parts).
- :func:`region_condition` writes a region back as a condition: per target, the 64-bit
  intervals as ``eq``/``in``/``range``/... comparisons, low-word intervals as ``width: 32``
  comparisons, fixed bits as ``masked_eq`` (or ``bits_set``/``bits_clear``), excluded bit
  patterns as their negation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from seccomp_bpf.explain.valueset import (
    FULL32,
    MASK32,
    MASK64,
    Intervals,
    ValueSet,
    complement_intervals,
    count_values,
    intersect_intervals,
    points,
    width_max,
)
from seccomp_bpf.policy import All, Any, Cmp, Condition, Not

IP_TARGET: Final = 6
"""The target index of the instruction pointer (0..5 are the arguments)."""
TARGETS: Final = tuple(range(7))

Region = tuple[tuple[int, ValueSet], ...]
Arguments = tuple[int, int, int, int, int, int]
_LISTED_VALUES: Final = 16  # a set of at most this many values is written as "in"
FULL_REGION: Final[Region] = ()
_FULL64: Final = ValueSet.full(64)


def target_name(target: int) -> str:
    return "ip" if target == IP_TARGET else f"arg{target}"


def region_get(region: Region, target: int) -> ValueSet:
    for t, values in region:
        if t == target:
            return values
    return _FULL64


def region_with(region: Region, target: int, values: ValueSet) -> Region | None:
    """``region`` with ``target`` restricted to ``values`` (replacing its set); None if empty."""
    if values.is_empty:
        return None
    rest = [(t, v) for t, v in region if t != target]
    if not values.is_full:
        rest.append((target, values))
    return tuple(sorted(rest, key=lambda item: item[0]))


def region_intersect(a: Region, b: Region) -> Region | None:
    """The values in both regions, or None when there are none."""
    if not a:
        return b
    if not b:
        return a
    merged = dict(a)
    for target, values in b:
        current = merged.get(target)
        values = values if current is None else current.intersect(values)
        if values.is_empty:
            return None
        merged[target] = values
    return tuple(sorted(merged.items(), key=lambda item: item[0]))


def region_contains(region: Region, args: Sequence[int], ip: int = 0) -> bool:
    return all((ip if target == IP_TARGET else args[target]) in values for target, values in region)


def region_sample(region: Region) -> tuple[Arguments, int]:
    """An element of a non-empty region: six arguments and an instruction pointer."""
    args = [0] * 6
    ip = 0
    for target, values in region:
        value = values.sample()
        if target == IP_TARGET:
            ip = value
        else:
            args[target] = value
    a0, a1, a2, a3, a4, a5 = args
    return (a0, a1, a2, a3, a4, a5), ip


def region_atoms(region: Region) -> int:
    return sum(values.atom_count() for _, values in region)


# -- 32-bit ABIs ----------------------------------------------------------------------------------


def narrowed(values: ValueSet) -> ValueSet:
    """``{v : (v & 0xffffffff) in values}``: what a set of argument values means on an ABI
    whose calls see only the low half of each argument (:attr:`Arch.argument_bits` 32).

    For ``x = v & 0xffffffff`` (below 2**32, so its high bits are 0): ``x`` is in the intervals
    and low-word intervals when the low word is in both restricted to ``0..2**32-1``; fixed bits
    above bit 31 cannot be 1 and patterns needing a 1 there never match.
    """
    if values.is_full or values.is_empty:
        return values
    inside = intersect_intervals(values.intervals, FULL32)
    low = intersect_intervals(inside, values.low)
    if values.fixed_value & ~MASK32:
        return ValueSet.empty(64)
    excluded = [(m & MASK32, p) for m, p in values.excluded if not p & ~MASK32]
    return ValueSet.of(
        64, None, low=low, fixed=(values.fixed_mask & MASK32, values.fixed_value), excluded=excluded
    )


def narrowed_region(region: Region) -> Region | None:
    """The region's arguments narrowed (see :func:`narrowed`); the instruction pointer is not."""
    out: Region = FULL_REGION
    for target, values in region:
        if target != IP_TARGET:
            values = narrowed(values)
        result = region_with(out, target, values)
        if result is None:
            return None
        out = result
    return out


# -- conditions -> regions ----------------------------------------------------------------------


def _cmp_sets(cmp: Cmp, values: ValueSet) -> tuple[ValueSet, ValueSet]:
    """``values`` where ``cmp`` holds, and where it does not."""
    op = cmp.op
    top = width_max(cmp.width)
    if op in ("masked_eq", "bits_set", "bits_clear"):
        assert isinstance(cmp.value, int)
        if op == "masked_eq":
            assert cmp.mask is not None
            mask, value = cmp.mask, cmp.value
        elif op == "bits_set":
            mask, value = cmp.value, cmp.value
        else:
            mask, value = cmp.value, 0
        return values.with_fixed(mask, value), values.with_excluded(mask, value)
    holds = _cmp_intervals(cmp, top)
    fails = complement_intervals(holds, top)
    if cmp.width == 32:
        return values.with_low(holds), values.with_low(fails)
    return values.with_intervals(holds), values.with_intervals(fails)


def _cmp_intervals(cmp: Cmp, top: int) -> Intervals:
    """The values (of the comparison's width) where an ordering comparison holds."""
    value = cmp.value
    op = cmp.op
    if op in ("in", "not_in"):
        assert isinstance(value, tuple)
        listed = points(value)
        return listed if op == "in" else complement_intervals(listed, top)
    if op == "range":
        assert isinstance(value, tuple)
        return ((value[0], value[1]),)
    assert isinstance(value, int)
    if op == "eq":
        return ((value, value),)
    if op == "ne":
        return complement_intervals(((value, value),), top)
    if op == "lt":
        return ((0, value - 1),) if value else ()
    if op == "le":
        return ((0, value),)
    if op == "gt":
        return ((value + 1, top),) if value < top else ()
    if op == "ge":
        return ((value, top),)
    raise ValueError(f"unknown comparison {op!r}")


def split(condition: Condition, region: Region) -> tuple[list[Region], list[Region]]:
    """The parts of ``region`` where ``condition`` holds and where it does not (disjoint)."""
    if isinstance(condition, Cmp):
        target = IP_TARGET if condition.arg is None else condition.arg
        holds, fails = _cmp_sets(condition, region_get(region, target))
        true = region_with(region, target, holds)
        false = region_with(region, target, fails)
        return ([true] if true is not None else []), ([false] if false is not None else [])
    if isinstance(condition, Not):
        true_parts, false_parts = split(condition.condition, region)
        return false_parts, true_parts
    all_of = isinstance(condition, All)
    # All: a region stays "true" while every part holds; a failing part sends it to false.
    # Any: the dual.
    pending = [region]
    decided: list[Region] = []
    for part in condition.conditions:
        following: list[Region] = []
        for current in pending:
            true_parts, false_parts = split(part, current)
            if all_of:
                following += true_parts
                decided += false_parts
            else:
                decided += true_parts
                following += false_parts
        pending = following
        if not pending:
            break
    return (pending, decided) if all_of else (decided, pending)


# -- regions -> conditions ----------------------------------------------------------------------


def _arg(target: int) -> int | None:
    return None if target == IP_TARGET else target


def _interval_part(arg: int | None, lo: int, hi: int, width: int) -> Cmp:
    top = width_max(width)
    if lo == hi:
        return Cmp(arg, "eq", lo, width=width)
    if lo == 0:
        return Cmp(arg, "le", hi, width=width)
    if hi == top:
        return Cmp(arg, "ge", lo, width=width)
    return Cmp(arg, "range", (lo, hi), width=width)


def intervals_condition(target: int, intervals: Intervals, width: int) -> Condition:
    """``target`` (its low word when ``width`` is 32) lies in ``intervals``."""
    arg = _arg(target)
    top = width_max(width)
    complement = complement_intervals(intervals, top)
    if len(intervals) == 1:
        return _interval_part(arg, *intervals[0], width)
    if count_values(intervals) <= _LISTED_VALUES:
        values = tuple(v for lo, hi in intervals for v in range(lo, hi + 1))
        if len(values) == 1:
            return Cmp(arg, "eq", values[0], width=width)
        return Cmp(arg, "in", values, width=width)
    if complement and count_values(complement) <= _LISTED_VALUES:
        values = tuple(v for lo, hi in complement for v in range(lo, hi + 1))
        if len(values) == 1:
            return Cmp(arg, "ne", values[0], width=width)
        return Cmp(arg, "not_in", values, width=width)
    if len(complement) < len(intervals):
        if len(complement) == 1:
            return Not(_interval_part(arg, *complement[0], width))
        return Not(Any(tuple(_interval_part(arg, lo, hi, width) for lo, hi in complement)))
    return Any(tuple(_interval_part(arg, lo, hi, width) for lo, hi in intervals))


def _masked(arg: int | None, mask: int, value: int) -> Cmp:
    if value == 0:
        return Cmp(arg, "bits_clear", mask)
    if value == mask:
        return Cmp(arg, "bits_set", mask)
    return Cmp(arg, "masked_eq", value, mask=mask)


def values_condition(target: int, values: ValueSet) -> list[Condition]:
    """The comparisons whose conjunction is ``target in values`` (none: always)."""
    arg = _arg(target)
    parts: list[Condition] = []
    if values.intervals != ((0, MASK64),):
        parts.append(intervals_condition(target, values.intervals, 64))
    if values.low != FULL32:
        parts.append(intervals_condition(target, values.low, 32))
    if values.fixed_mask:
        parts.append(_masked(arg, values.fixed_mask, values.fixed_value))
    for mask, value in values.excluded:
        if value == 0:
            # (v & mask) != 0: some bit of mask is set
            parts.append(Not(Cmp(arg, "bits_clear", mask)))
        else:
            parts.append(Not(_masked(arg, mask, value)))
    return parts


def region_condition(region: Region) -> Condition | None:
    """The region as a condition; ``None`` for the whole space."""
    parts: list[Condition] = []
    for target, values in region:
        parts += values_condition(target, values)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def regions_condition(regions: Sequence[Region]) -> Condition | None:
    """The union of (disjoint) regions as a condition; ``None`` when one is everything."""
    conditions: list[Condition] = []
    for region in regions:
        condition = region_condition(region)
        if condition is None:
            return None
        conditions.append(condition)
    if len(conditions) == 1:
        return conditions[0]
    return Any(tuple(conditions))


# -- fewer regions --------------------------------------------------------------------------------


def compact(regions: Iterable[Region]) -> list[Region]:
    """The same union with fewer regions: two regions that differ on one target only become
    one when :meth:`ValueSet.union_exact` can unite the two sets (as it does for the pieces
    of a 64-bit comparison, split into high and low words by a program)."""
    items = list(dict.fromkeys(regions))
    if FULL_REGION in items:
        return [FULL_REGION]
    changed = True
    while changed and len(items) > 1:
        changed = False
        for target in TARGETS:
            buckets: dict[Region, list[int]] = {}
            for index, region in enumerate(items):
                rest = tuple(item for item in region if item[0] != target)
                buckets.setdefault(rest, []).append(index)
            merged_away: set[int] = set()
            replacements: dict[int, Region] = {}
            for rest, indexes in buckets.items():
                if len(indexes) < 2:
                    continue
                sets = [region_get(items[i], target) for i in indexes]
                alive = list(range(len(indexes)))
                progress = True
                while progress:
                    progress = False
                    for x in range(len(alive)):
                        for y in range(x + 1, len(alive)):
                            united = sets[alive[x]].union_exact(sets[alive[y]])
                            if united is None:
                                continue
                            sets[alive[x]] = united
                            del alive[y]
                            progress = True
                            break
                        if progress:
                            break
                if len(alive) == len(indexes):
                    continue
                changed = True
                keep = {indexes[a] for a in alive}
                for a in alive:
                    joined = region_with(rest, target, sets[a])
                    replacements[indexes[a]] = joined if joined is not None else rest
                merged_away |= set(indexes) - keep
            if merged_away or replacements:
                items = [
                    replacements.get(i, region)
                    for i, region in enumerate(items)
                    if i not in merged_away
                ]
                items = list(dict.fromkeys(items))
                if FULL_REGION in items:
                    return [FULL_REGION]
    return items
