"""The condition engine: regions of argument space, and what conditions say of them, exactly.

Every question about conditions is answered here, by one model: explain, diff, union and
intersection, audit, the format writers and the libseccomp binding all ask it (and its
decisions, :mod:`seccomp_bpf.policy.decisions`).

A region is a conjunction of one :class:`~seccomp_bpf.policy.values.ValueSet` per target
(``args[0..5]`` and the instruction pointer), each a set of 64-bit values; a target that is not
mentioned may hold anything. A region is written as a sorted tuple of ``(target, set)``
pairs, so that equal regions compare equal. The targets are independent of each other, so a
region is empty exactly when one of its sets is.

- :func:`split` cuts a region by a :class:`~seccomp_bpf.policy.conditions.Condition` into the
  parts where it holds and where it does not: each comparison is one
  :data:`~seccomp_bpf.policy.values.Constraint` on its target (and its negation another);
  ``All``/``Any``/``Not`` combine the parts.
- :func:`satisfiable` decides whether a condition holds for some call without listing the
  parts: a depth-first search over the condition's negation normal form, the first solution
  ending it (within a budget of steps). :func:`implies` and :func:`equivalent` are built on it.
- :func:`region_condition` writes a region back as a condition: per target, the 64-bit
  intervals as ``eq``/``in``/``range``/... comparisons, low-word intervals as ``width: 32``
  comparisons, fixed bits as ``masked_eq`` (or ``bits_set``/``bits_clear``), excluded bit
  patterns as their negation.
- :func:`with_upper_half` fixes the upper half of an argument, and :func:`narrowed` gives a set
  as an ABI with 32-bit arguments sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.policy.conditions import (
    FALSE,
    TRUE,
    All,
    Any,
    BitsClear,
    BitsSet,
    Comparison,
    Condition,
    Equal,
    GreaterOrEqual,
    InRange,
    InSet,
    LessOrEqual,
    MaskedEqual,
    Not,
    NotEqual,
    NotInSet,
    rewrite,
)
from seccomp_bpf.policy.values import (
    FULL32,
    MASK32,
    MASK64,
    Intervals,
    Matches,
    ValueSet,
    Within,
    complement_intervals,
    count_values,
    intersect_intervals,
    width_max,
)

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


def target_of(cmp: Comparison) -> int:
    """The target a comparison reads: its argument index, or :data:`IP_TARGET`."""
    return IP_TARGET if cmp.arg is None else cmp.arg


def split(condition: Condition, region: Region) -> tuple[list[Region], list[Region]]:
    """The parts of ``region`` where ``condition`` holds and where it does not (disjoint)."""
    if isinstance(condition, Comparison):
        target = target_of(condition)
        values = region_get(region, target)
        constraint = condition.constraint()
        true = region_with(region, target, constraint.apply(values))
        false = region_with(region, target, constraint.negation().apply(values))
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


def _interval_part(arg: int | None, lo: int, hi: int, width: int) -> Comparison:
    top = width_max(width)
    if lo == hi:
        return Equal(arg, lo, width=width)
    if lo == 0:
        return LessOrEqual(arg, hi, width=width)
    if hi == top:
        return GreaterOrEqual(arg, lo, width=width)
    return InRange(arg, lo, hi, width=width)


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
            return Equal(arg, values[0], width=width)
        return InSet(arg, values, width=width)
    if complement and count_values(complement) <= _LISTED_VALUES:
        values = tuple(v for lo, hi in complement for v in range(lo, hi + 1))
        if len(values) == 1:
            return NotEqual(arg, values[0], width=width)
        return NotInSet(arg, values, width=width)
    if len(complement) < len(intervals):
        if len(complement) == 1:
            return Not(_interval_part(arg, *complement[0], width))
        return Not(Any(tuple(_interval_part(arg, lo, hi, width) for lo, hi in complement)))
    return Any(tuple(_interval_part(arg, lo, hi, width) for lo, hi in intervals))


def _masked(arg: int | None, mask: int, value: int) -> Comparison:
    if value == 0:
        return BitsClear(arg, mask)
    if value == mask:
        return BitsSet(arg, mask)
    return MaskedEqual(arg, mask, value)


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
            parts.append(Not(BitsClear(arg, mask)))
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


# -- whether a condition can hold ---------------------------------------------------------------
# A condition holds for some call when one conjunction of its negation normal form does: each
# comparison (or its negation) is one constraint on one target, the targets are independent of
# each other, so a conjunction is satisfiable exactly when every target's set is non-empty.

SEARCH_BUDGET: Final = 20_000
"""Steps one question may take before it is given up as undecided (TooComplexError)."""

ZERO_EXTENDED: Final[Region] = tuple((i, ValueSet.of(64, ((0, MASK32),))) for i in range(6))
"""Every call whose arguments have their upper half clear: what the calls of an ABI with
32-bit arguments are decided by (see :func:`narrowed`)."""


@dataclass(frozen=True, slots=True)
class _Literal:
    cmp: Comparison
    positive: bool


@dataclass(frozen=True, slots=True)
class _Junction:
    conjunction: bool
    parts: tuple[_Node, ...]


_Node = _Literal | _Junction


def _nnf(condition: Condition, positive: bool = True) -> _Node:
    """``condition`` (negated unless ``positive``) with negations on comparisons only."""
    if isinstance(condition, Comparison):
        return _Literal(condition, positive)
    if isinstance(condition, Not):
        return _nnf(condition.condition, not positive)
    parts = tuple(_nnf(c, positive) for c in condition.conditions)
    conjunction = isinstance(condition, All) == positive
    return _Junction(conjunction, parts)


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TooComplexError("a condition is too large to decide within the budget")


def _search(pending: Sequence[_Node], sets: Mapping[int, ValueSet], budget: _Budget) -> bool:
    """Whether the conjunction of ``pending`` has a solution within ``sets``.

    Literals and conjunctions are applied first (each may empty a set and end the search);
    then the first disjunction left is split, one alternative at a time.
    """
    current = dict(sets)
    stack = list(pending)
    choices: list[_Junction] = []
    while stack:
        node = stack.pop()
        budget.spend()
        if isinstance(node, _Literal):
            target = target_of(node.cmp)
            constraint = node.cmp.constraint()
            if not node.positive:
                constraint = constraint.negation()
            narrowed_set = constraint.apply(current.get(target, _FULL64))
            if narrowed_set.is_empty:
                return False
            current[target] = narrowed_set
        elif node.conjunction:
            stack.extend(node.parts)
        elif not node.parts:
            return False
        elif len(node.parts) == 1:
            stack.append(node.parts[0])
        else:
            choices.append(node)
    if not choices:
        return True
    first, rest = choices[0], choices[1:]
    return any(_search((part, *rest), current, budget) for part in first.parts)


def satisfiable(
    condition: Condition | None, *, budget: int = SEARCH_BUDGET, within: Region = FULL_REGION
) -> bool:
    """Whether some call (in the region ``within``) makes ``condition`` hold (``None``: any).

    Exact; raises :class:`~seccomp_bpf.errors.TooComplexError` when the search needs more
    than ``budget`` steps.
    """
    if condition is None:
        return True
    return _search((_nnf(condition),), dict(within), _Budget(budget))


def implies(
    first: Condition | None, second: Condition | None, *, within: Region = FULL_REGION
) -> bool:
    """Whether every call (in ``within``) for which ``first`` holds makes ``second`` hold
    (``None`` is always true)."""
    if second is None:
        return True
    return not satisfiable(All((first or TRUE, Not(second))), within=within)


def equivalent(
    first: Condition | None, second: Condition | None, *, within: Region = FULL_REGION
) -> bool:
    """Whether the two conditions hold for exactly the same calls (in ``within``)."""
    return implies(first, second, within=within) and implies(second, first, within=within)


# -- the upper half of an argument ----------------------------------------------------------------


def with_upper_half(condition: Condition, index: int, high: int) -> Condition:
    """``condition`` for calls whose argument ``index`` has upper half ``high``: its 64-bit
    comparisons of that argument become comparisons of the low half (or true, or false)."""

    def fixed(cmp: Comparison) -> Condition:
        if cmp.arg != index or cmp.width == 32:
            return cmp
        constraint = cmp.constraint()
        if isinstance(constraint, Within):
            # The values inside the upper half ``high``, by their low halves.
            base = high << 32
            inside = intersect_intervals(constraint.intervals, ((base, base | MASK32),))
            lows = tuple((lo - base, hi - base) for lo, hi in inside)
            if not lows:
                return FALSE
            if lows == FULL32:
                return TRUE
            return intervals_condition(index, lows, 32)
        # (v & mask) == value: the upper halves must agree, then the low halves decide.
        mask, value = constraint.mask, constraint.value
        low_mask = mask & MASK32
        if high & (mask >> 32) != value >> 32:
            matches: Condition = FALSE
        elif not low_mask:
            matches = TRUE
        else:
            matches = MaskedEqual(index, low_mask, value & MASK32, width=32)
        return matches if isinstance(constraint, Matches) else Not(matches)

    return rewrite(condition, fixed)
