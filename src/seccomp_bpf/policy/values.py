"""Exact sets of 32- and 64-bit unsigned values, and the tests that cut them.

This is the ground floor of the condition engine (:mod:`seccomp_bpf.policy.semantics` builds
regions of argument space on it). Every comparison of the model
(:mod:`seccomp_bpf.policy.conditions`) states its meaning as one :data:`Constraint` on its
operand, and so does every jump of a program on one 32-bit word
(:mod:`seccomp_bpf.explain.symbolic`); both are then answered by the same sets.

A classic-BPF filter tests 32-bit words with ``JEQ``, ``JGT``, ``JGE`` and ``JSET``, possibly
after ``A &= mask``; a policy tests 64-bit arguments with comparisons, masks and 32-bit
comparisons of the low half. Every set either can describe is a :class:`ValueSet`, the
conjunction of four kinds of constraint on a value ``v`` of ``width`` bits::

    v in intervals                       a union of closed intervals [lo, hi]
    (v & 0xffffffff) in low              a union of intervals of the low 32 bits (width 64 only)
    (v & fixed_mask) == fixed_value      bits that must have given values
    (v & m) != p  for each (m, p) in excluded

Every test of a filter intersects a set with one such constraint, and so does its negation:
``not (v in S)`` is ``v in complement(S)``, ``not ((v & m) == p)`` is the excluded pattern
``(m, p)``, and a masked ordering ``(v & m) > k`` is a union of disjoint bit patterns
(:func:`masked_greater_patterns`), one path each. So sets never need unions beyond intervals,
and every operation here is exact.

Emptiness is decided exactly too: :meth:`ValueSet.first` searches the value bit by bit from
the top, following the interval bounds ("tight" while the prefix equals a bound's prefix) and
the patterns still matching, and remembers the states that failed; there are at most
``width * 16 * 2**patterns`` of them and, in practice, very few. A normalised set is either
:meth:`ValueSet.empty` or has an element.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from seccomp_bpf.errors import TooComplexError

MASK32: Final = 0xFFFFFFFF
MASK64: Final = (1 << 64) - 1

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]
Pattern = tuple[int, int]  # (mask, value): matches v when (v & mask) == value

FULL32: Final[Intervals] = ((0, MASK32),)
# A fold of the low-word intervals into the 64-bit ones stops beyond this many intervals.
_FOLD_LIMIT: Final = 256
# intersect_intervals bisects into the longer list when it is this many times the shorter.
_BISECT_RATIO: Final = 8


def width_max(width: int) -> int:
    return (1 << width) - 1


# -- unions of intervals ------------------------------------------------------------------------


def normalize_intervals(items: Iterable[Interval]) -> Intervals:
    """Sorted, disjoint, non-adjacent intervals covering the same values."""
    ordered = sorted((lo, hi) for lo, hi in items if lo <= hi)
    out: list[Interval] = []
    for lo, hi in ordered:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def intersect_intervals(a: Intervals, b: Intervals) -> Intervals:
    """Values in both (both normalised).

    A walk of both lists when they are alike in length; otherwise each interval of the
    shorter one finds, by bisection, the run of the longer one it overlaps, which is copied
    as a slice with its two ends clipped: ``(a != 3) and S`` for a large ``S`` costs a few
    bisections and one copy, not a step per interval.
    """
    if len(a) < len(b):
        a, b = b, a
    if len(b) * _BISECT_RATIO < len(a):
        out: list[Interval] = []
        for lo, hi in b:
            i = bisect_left(a, lo, key=_upper)  # the first interval ending at or after lo
            j = bisect_right(a, hi, lo=i, key=_lower)  # past the last starting at or before hi
            if i >= j:
                continue
            if j - i == 1:
                out.append((max(a[i][0], lo), min(a[i][1], hi)))
            else:
                out.append((max(a[i][0], lo), a[i][1]))
                out.extend(a[i + 1 : j - 1])
                out.append((a[j - 1][0], min(a[j - 1][1], hi)))
        return tuple(out)
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _lower(interval: Interval) -> int:
    return interval[0]


def _upper(interval: Interval) -> int:
    return interval[1]


def union_intervals(a: Intervals, b: Intervals) -> Intervals:
    return normalize_intervals((*a, *b))


def complement_intervals(a: Intervals, maximum: int) -> Intervals:
    """Values of ``0..maximum`` not in ``a`` (normalised)."""
    out: list[Interval] = []
    start = 0
    for lo, hi in a:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= maximum:
        out.append((start, maximum))
    return tuple(out)


def points(values: Iterable[int]) -> Intervals:
    return normalize_intervals((v, v) for v in values)


def count_values(intervals: Intervals) -> int:
    return sum(hi - lo + 1 for lo, hi in intervals)


def contains(intervals: Sequence[Interval], value: int) -> bool:
    index = bisect_right(intervals, (value, MASK64 + 1)) - 1
    return index >= 0 and intervals[index][0] <= value <= intervals[index][1]


# -- masked orderings ---------------------------------------------------------------------------


def masked_greater_patterns(mask: int, k: int, width: int = 32) -> list[Pattern]:
    """Disjoint patterns whose union is ``{v : (v & mask) > k}``.

    With ``x = v & mask``: ``x > k`` iff for some bit ``i`` x has 1 where k has 0, and x
    equals k on every bit above ``i``. Bits of x outside ``mask`` are 0, so if k has a 1
    outside ``mask`` above ``i``, no x matches there (nor for any lower ``i``). For each
    possible ``i`` the pattern fixes the mask bits above ``i`` to k's and bit ``i`` to 1.
    """
    out: list[Pattern] = []
    full = width_max(width)
    for i in reversed(range(width)):
        bit = 1 << i
        above = full & ~((bit << 1) - 1)
        if k & above & ~mask:
            break
        if mask & bit and not k & bit:
            out.append(((mask & above) | bit, (k & mask & above) | bit))
    return out


def masked_at_least_patterns(mask: int, k: int, width: int = 32) -> list[Pattern]:
    """Disjoint patterns whose union is ``{v : (v & mask) >= k}``."""
    out = masked_greater_patterns(mask, k, width)
    if not k & ~mask:
        out.append((mask, k))
    return out


# -- the set ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueSet:
    """An exact set of ``width``-bit values; see the module docstring. Build with
    :meth:`full`, :meth:`of` and the ``with_*`` methods, which keep it normalised."""

    width: int
    intervals: Intervals
    low: Intervals = FULL32
    fixed_mask: int = 0
    fixed_value: int = 0
    excluded: tuple[Pattern, ...] = ()
    _first: list[int | None] = field(
        default_factory=list, init=False, repr=False, compare=False, hash=False
    )

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def full(cls, width: int) -> ValueSet:
        return cls(width, ((0, width_max(width)),))

    @classmethod
    def empty(cls, width: int) -> ValueSet:
        return cls(width, ())

    @classmethod
    def of(
        cls,
        width: int,
        intervals: Iterable[Interval] | None = None,
        *,
        low: Iterable[Interval] | None = None,
        fixed: Pattern = (0, 0),
        excluded: Iterable[Pattern] = (),
    ) -> ValueSet:
        """A normalised set from its constraints (``None`` intervals: no constraint)."""
        top = width_max(width)
        ivs = normalize_intervals(
            (max(lo, 0), min(hi, top)) for lo, hi in (intervals or ((0, top),))
        )
        lows = (
            FULL32
            if low is None or width == 32
            else normalize_intervals((max(lo, 0), min(hi, MASK32)) for lo, hi in low)
        )
        return _normalize(
            ValueSet(width, ivs, lows, fixed[0] & top, fixed[1] & top, tuple(excluded))
        )

    def with_intervals(self, intervals: Intervals) -> ValueSet:
        return _normalize(
            ValueSet(
                self.width,
                intersect_intervals(self.intervals, intervals),
                self.low,
                self.fixed_mask,
                self.fixed_value,
                self.excluded,
            )
        )

    def with_low(self, low: Intervals) -> ValueSet:
        if self.width == 32:
            return self.with_intervals(low)
        return _normalize(
            ValueSet(
                self.width,
                self.intervals,
                intersect_intervals(self.low, low),
                self.fixed_mask,
                self.fixed_value,
                self.excluded,
            )
        )

    def with_fixed(self, mask: int, value: int) -> ValueSet:
        """``(v & mask) == value`` as well."""
        if value & ~mask:
            return ValueSet.empty(self.width)
        if self.fixed_mask & mask & (self.fixed_value ^ value):
            return ValueSet.empty(self.width)
        return _normalize(
            ValueSet(
                self.width,
                self.intervals,
                self.low,
                self.fixed_mask | mask,
                self.fixed_value | value,
                self.excluded,
            )
        )

    def with_excluded(self, mask: int, value: int) -> ValueSet:
        """``(v & mask) != value`` as well."""
        if value & ~mask:
            return self  # never equal: nothing is excluded
        return _normalize(
            ValueSet(
                self.width,
                self.intervals,
                self.low,
                self.fixed_mask,
                self.fixed_value,
                (*self.excluded, (mask, value)),
            )
        )

    def intersect(self, other: ValueSet) -> ValueSet:
        if self.width != other.width:
            raise ValueError("sets of different widths")
        if self.fixed_mask & other.fixed_mask & (self.fixed_value ^ other.fixed_value):
            return ValueSet.empty(self.width)
        return _normalize(
            ValueSet(
                self.width,
                intersect_intervals(self.intervals, other.intervals),
                intersect_intervals(self.low, other.low),
                self.fixed_mask | other.fixed_mask,
                self.fixed_value | other.fixed_value,
                (*self.excluded, *other.excluded),
            )
        )

    # -- questions -----------------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return not self.intervals

    @property
    def is_full(self) -> bool:
        return (
            self.intervals == ((0, width_max(self.width)),)
            and self.low == FULL32
            and not self.fixed_mask
            and not self.excluded
        )

    @property
    def has_masks(self) -> bool:
        return bool(self.fixed_mask or self.excluded)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        return (
            contains(self.intervals, value)
            and (self.width == 32 or contains(self.low, value & MASK32))
            and value & self.fixed_mask == self.fixed_value
            and all(value & m != p for m, p in self.excluded)
        )

    def first(self) -> int | None:
        """The smallest element, or ``None`` when the set is empty."""
        if not self._first:
            self._first.append(_first_element(self))
        return self._first[0]

    def sample(self) -> int:
        """An element (the smallest); ValueError when empty."""
        value = self.first()
        if value is None:
            raise ValueError("the set is empty")
        return value

    def singleton(self) -> int | None:
        """The only element, when there is exactly one."""
        if len(self.intervals) == 1 and self.intervals[0][0] == self.intervals[0][1]:
            return self.intervals[0][0]
        return None

    def atom_count(self) -> int:
        """How many comparisons it takes to write the set (for choosing the simpler of two)."""
        top = ((0, width_max(self.width)),)
        count = 0 if self.intervals == top else len(self.intervals)
        count += 0 if self.low == FULL32 else len(self.low)
        return count + (1 if self.fixed_mask else 0) + len(self.excluded)

    def as_intervals(self, limit: int = 4096) -> Intervals:
        """The set as a union of intervals (exact); TooComplexError beyond ``limit`` pieces.

        Only the bits from the lowest bit any mask constrains upward decide the masks, so the
        set is a union of aligned blocks below that bit, cut by the intervals.
        """
        if not self.has_masks and self.low == FULL32:
            return self.intervals
        if self.width == 64 and self.low != FULL32:
            raise TooComplexError("a 64-bit set with a low-word constraint is not listed")
        constrained = self.fixed_mask
        for mask, _value in self.excluded:
            constrained |= mask
        lowest = (constrained & -constrained).bit_length() - 1
        full = width_max(self.width)
        intervals = self.intervals
        highs = [hi for _, hi in intervals]
        out: list[Interval] = []
        visited = 0

        def walk(bit: int, prefix: int) -> None:
            # The bits above ``bit`` are decided (in ``prefix``); the block holds the rest.
            nonlocal visited
            visited += 1
            if visited > 64 * limit:
                raise TooComplexError(f"the set needs more than {limit} intervals")
            end = prefix | ((1 << (bit + 1)) - 1)
            index = bisect_left(highs, prefix)
            if index == len(intervals) or intervals[index][0] > end:
                return  # no interval meets the block
            decided = full & ~((1 << (bit + 1)) - 1)
            if (prefix ^ self.fixed_value) & self.fixed_mask & decided:
                return  # a fixed bit already differs
            for mask, value in self.excluded:
                if not mask & ~decided and prefix & mask == value:
                    return  # an excluded pattern matches the whole block
            if bit < lowest:
                while index < len(intervals) and intervals[index][0] <= end:
                    lo, hi = intervals[index]
                    out.append((max(lo, prefix), min(hi, end)))
                    index += 1
                if len(out) > limit:
                    raise TooComplexError(
                        f"the set needs more than {limit} intervals (masks on low bits)"
                    )
                return
            walk(bit - 1, prefix)
            walk(bit - 1, prefix | (1 << bit))

        walk(self.width - 1, 0)
        return normalize_intervals(out)

    def union_exact(self, other: ValueSet) -> ValueSet | None:
        """``self | other`` when it is one set of this kind by a simple rule, else None.

        Rules (each exact): equal sets; sets differing only in ``intervals`` (or only in
        ``low``) unite those; and ``R & (v & m1) != p1`` with ``R & (v & m1) == p1 &
        (v & m2) != p2`` (m1, m2 disjoint and outside R's fixed bits) is
        ``R & (v & (m1|m2)) != (p1|p2)``.
        """
        if self == other:
            return self
        if self.width != other.width:
            return None
        same_masks = (
            self.fixed_mask == other.fixed_mask
            and self.fixed_value == other.fixed_value
            and self.excluded == other.excluded
        )
        if same_masks and self.low == other.low:
            return _normalize(
                ValueSet(
                    self.width,
                    union_intervals(self.intervals, other.intervals),
                    self.low,
                    self.fixed_mask,
                    self.fixed_value,
                    self.excluded,
                )
            )
        if same_masks and self.intervals == other.intervals:
            return _normalize(
                ValueSet(
                    self.width,
                    self.intervals,
                    union_intervals(self.low, other.low),
                    self.fixed_mask,
                    self.fixed_value,
                    self.excluded,
                )
            )
        if self.intervals != other.intervals or self.low != other.low:
            return None
        return _merge_patterns(self, other) or _merge_patterns(other, self)


def _merge_patterns(a: ValueSet, b: ValueSet) -> ValueSet | None:
    """``a = R & not P1``, ``b = R & P1 & not P2``  ->  ``R & not (P1 & P2)``; see union_exact."""
    rest_a = set(a.excluded)
    rest_b = set(b.excluded)
    only_a = rest_a - rest_b
    only_b = rest_b - rest_a
    if len(only_a) != 1 or len(only_b) != 1:
        return None
    (m1, p1), (m2, p2) = only_a.pop(), only_b.pop()
    if m1 & a.fixed_mask or m2 & (m1 | b.fixed_mask) & ~m1 or m1 & m2:
        return None
    if b.fixed_mask != a.fixed_mask | m1 or b.fixed_value != a.fixed_value | p1:
        return None
    shared = tuple(sorted(rest_a & rest_b))
    return _normalize(
        ValueSet(
            a.width, a.intervals, a.low, a.fixed_mask, a.fixed_value, (*shared, (m1 | m2, p1 | p2))
        )
    )


def _normalize(raw: ValueSet) -> ValueSet:
    """The canonical form of ``raw``: patterns that say something, whole-word masks turned
    into intervals, low-word intervals folded into 64-bit ones where each interval lies within
    one high word, and the empty set recognised (exactly)."""
    width, intervals, low = raw.width, raw.intervals, raw.low
    fixed_mask, fixed_value, excluded = raw.fixed_mask, raw.fixed_value, raw.excluded
    top = width_max(width)
    if not intervals or not low or fixed_value & ~fixed_mask:
        return ValueSet.empty(width)
    # Fixed bits covering a whole word are intervals.
    if width == 32 and fixed_mask == MASK32:
        intervals = intersect_intervals(intervals, ((fixed_value, fixed_value),))
        fixed_mask = fixed_value = 0
    elif width == 64:
        if fixed_mask & MASK32 == MASK32:
            v = fixed_value & MASK32
            low = intersect_intervals(low, ((v, v),))
            fixed_mask &= ~MASK32
            fixed_value &= ~MASK32
        if fixed_mask >> 32 == MASK32:
            h = fixed_value >> 32
            intervals = intersect_intervals(intervals, ((h << 32, (h << 32) | MASK32),))
            fixed_mask &= MASK32
            fixed_value &= MASK32
    # Patterns: drop those that can never match, find those that always do, and turn
    # whole-word ones into intervals.
    kept: list[Pattern] = []
    for mask, value in excluded:
        mask &= top
        if value & ~mask:
            continue  # (v & mask) never equals value
        if fixed_mask & mask & (fixed_value ^ value):
            continue  # the fixed bits already differ
        if mask & ~fixed_mask == 0:
            return ValueSet.empty(width)  # the fixed bits match it: every value is excluded
        if mask == top:
            intervals = intersect_intervals(intervals, complement_intervals(((value, value),), top))
        elif width == 64 and mask == MASK32:
            low = intersect_intervals(low, complement_intervals(((value, value),), MASK32))
        elif width == 64 and mask == MASK32 << 32:
            h = value >> 32
            block = ((h << 32, (h << 32) | MASK32),)
            intervals = intersect_intervals(intervals, complement_intervals(block, top))
        else:
            kept.append((mask, value))
    if not intervals or not low:
        return ValueSet.empty(width)
    # Low-word intervals fold into the 64-bit ones when each of those lies in one high word.
    if width == 64 and low != FULL32 and all(lo >> 32 == hi >> 32 for lo, hi in intervals):
        folded: list[Interval] = []
        for lo, hi in intervals:
            base = lo & ~MASK32
            for c, d in low:
                start, end = max(lo, base | c), min(hi, base | d)
                if start <= end:
                    folded.append((start, end))
        if len(folded) <= _FOLD_LIMIT:
            intervals = normalize_intervals(folded)
            low = FULL32
    result = ValueSet(width, intervals, low, fixed_mask, fixed_value, tuple(sorted(set(kept))))
    if not intervals:
        return ValueSet.empty(width)
    single = result.singleton()
    if single is not None:
        return result if single in result else ValueSet.empty(width)
    if result.first() is None:
        return ValueSet.empty(width)
    return result


# -- the exact search ---------------------------------------------------------------------------


def _first_element(s: ValueSet) -> int | None:
    if not s.intervals:
        return None
    if not s.has_masks:
        return _first_without_masks(s)
    best: int | None = None
    lows: Intervals = s.low if s.width == 64 else FULL32
    for lo, hi in s.intervals:
        for c, d in lows:
            found = _search(s, lo, hi, c, d)
            if found is not None and (best is None or found < best):
                best = found
        if best is not None:
            return best
    return None


def _first_without_masks(s: ValueSet) -> int | None:
    if s.width == 32 or s.low == FULL32:
        return s.intervals[0][0]
    for lo, hi in s.intervals:
        # In lo's own high word, the first allowed low value at or above lo's low word...
        base, start = lo & ~MASK32, lo & MASK32
        for c, d in s.low:
            if d >= start:
                if (candidate := base | max(c, start)) <= hi:
                    return candidate
                break
        # ...else the smallest allowed low value in the next high word.
        candidate = (base + (1 << 32)) | s.low[0][0]
        if candidate <= hi:
            return candidate
    return None


def _search(s: ValueSet, a: int, b: int, c: int, d: int) -> int | None:
    """The smallest v in [a, b] with (v & 0xffffffff) in [c, d] meeting the masks.

    Depth-first from the top bit, 0 before 1; ``tight`` says which bounds the prefix still
    equals (a, b, and c, d for the low word); ``alive`` has a bit per excluded pattern
    that the prefix still matches. A pattern still matching once its last mask bit is
    decided excludes the value. Failed states are remembered.
    """
    width = s.width
    fm, fv = s.fixed_mask, s.fixed_value
    patterns = s.excluded
    lowest = [(m & -m).bit_length() - 1 for m, _ in patterns]
    failed: set[tuple[int, int, int]] = set()

    # tight: bit 0 "prefix equals a's", 1 "equals b's", 2 and 3 the same for c and d.
    bounds = (a, b, c, d)

    def go(bit: int, prefix: int, tight: int, alive: int) -> int | None:
        if bit < 0:
            return prefix
        key = (bit, tight, alive)
        if key in failed:
            return None
        for value in (0, 1):
            if fm >> bit & 1 and (fv >> bit & 1) != value:
                continue
            following = 0
            allowed = True
            for index, bound in enumerate(bounds):
                flag = 1 << index
                if not tight & flag:
                    continue
                if index >= 2 and bit >= 32:
                    following |= flag  # the low word has not started
                    continue
                bound_bit = bound >> bit & 1
                # a lower bound (index 0, 2) forbids going below, an upper one above
                if (value < bound_bit) if index % 2 == 0 else (value > bound_bit):
                    allowed = False
                    break
                if value == bound_bit:
                    following |= flag
            if not allowed:
                continue
            still = alive
            excluded = False
            rest = alive
            while rest:
                j = (rest & -rest).bit_length() - 1
                rest &= rest - 1
                mask, pattern = patterns[j]
                if mask >> bit & 1:
                    if (pattern >> bit & 1) != value:
                        still &= ~(1 << j)
                    elif lowest[j] == bit:
                        excluded = True
                        break
            if excluded:
                continue
            found = go(bit - 1, prefix | (value << bit), following, still)
            if found is not None:
                return found
        failed.add(key)
        return None

    return go(width - 1, 0, 0b1111, (1 << len(patterns)) - 1)


# -- constraints --------------------------------------------------------------------------------
# One test on one value, with its negation: ``apply`` intersects a set with the values that pass.
# A comparison of the model is one constraint on its 64-bit operand; a jump of a program on a
# 32-bit word is one on that word (``width`` 32), which :meth:`on_upper_word` moves to the upper
# half of a 64-bit field.


@dataclass(frozen=True, slots=True)
class Within:
    """``v in intervals``; with ``width`` 32, ``(v & 0xffffffff) in intervals`` (of a 64-bit
    value; a 32-bit value is its own low word)."""

    intervals: Intervals
    width: int = 64

    def apply(self, values: ValueSet) -> ValueSet:
        if self.width == 32:
            return values.with_low(self.intervals)
        return values.with_intervals(self.intervals)

    def negation(self) -> Within:
        return Within(complement_intervals(self.intervals, width_max(self.width)), self.width)

    def on_upper_word(self) -> Within:
        """The test of a 32-bit word, made on the upper half of a 64-bit value."""
        assert self.width == 32
        return Within(tuple((lo << 32, (hi << 32) | MASK32) for lo, hi in self.intervals))

    def reads_upper_half(self) -> bool:
        """Whether the test of a 64-bit value can change with its upper 32 bits alone."""
        return self.width == 64 and self.intervals not in ((), ((0, MASK64),))


@dataclass(frozen=True, slots=True)
class Matches:
    """``(v & mask) == value``."""

    mask: int
    value: int

    def apply(self, values: ValueSet) -> ValueSet:
        return values.with_fixed(self.mask, self.value)

    def negation(self) -> Differs:
        return Differs(self.mask, self.value)

    def on_upper_word(self) -> Matches:
        return Matches(self.mask << 32, self.value << 32)

    def reads_upper_half(self) -> bool:
        return self.mask >> 32 != 0


@dataclass(frozen=True, slots=True)
class Differs:
    """``(v & mask) != value``."""

    mask: int
    value: int

    def apply(self, values: ValueSet) -> ValueSet:
        return values.with_excluded(self.mask, self.value)

    def negation(self) -> Matches:
        return Matches(self.mask, self.value)

    def on_upper_word(self) -> Differs:
        return Differs(self.mask << 32, self.value << 32)

    def reads_upper_half(self) -> bool:
        return self.mask >> 32 != 0


Constraint: TypeAlias = Within | Matches | Differs
