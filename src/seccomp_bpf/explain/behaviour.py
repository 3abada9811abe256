"""What a filter does, as data: per ``AUDIT_ARCH`` value, per range of system call numbers,
which action each region of argument space gets.

This is the common ground of programs and policies. :func:`policy_behaviour` computes it from
a :class:`~seccomp_bpf.policy.Policy` (straight from its meaning, DESIGN §3);
:mod:`seccomp_bpf.explain.symbolic` computes it from a program. Comparing two behaviours
(:meth:`Partition.differences`) or combining them (:func:`combine`) is then exact, whatever
each side came from.

- A :class:`~seccomp_bpf.policy.decisions.Partition` is the decision for one ``(arch, nr)``:
  disjoint regions of argument space, grouped by action, covering everything (the condition
  engine, :mod:`seccomp_bpf.policy.semantics`).
- A :class:`Segment` is a range of numbers with one partition. The segments of one
  ``AUDIT_ARCH`` value cover ``0..2**32-1`` in order.
- Foreign architectures, the ``AUDIT_ARCH`` values no known ABI reports, are kept as
  :class:`ForeignLeaf` pieces (architecture values, numbers, region, action).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final, NamedTuple

from seccomp_bpf.arch import Arch, all_arches, dispatch_boundaries, dispatched_arch
from seccomp_bpf.policy import Action, Policy, ResolvedRule
from seccomp_bpf.policy.decisions import (
    Chain,
    Choose,
    Partition,
    chain_partition,
    combine_partitions,
)
from seccomp_bpf.policy.semantics import FULL_REGION, Region, region_contains, region_intersect
from seccomp_bpf.policy.values import MASK32, ValueSet, complement_intervals, points

NR_MAX: Final = MASK32


class Segment(NamedTuple):
    """System call numbers ``low..high`` (inclusive), all decided by ``partition``."""

    low: int
    high: int
    partition: Partition


@dataclass(frozen=True)
class ForeignLeaf:
    """Calls of foreign architectures (``arches``) with numbers in ``numbers`` and arguments
    in ``region`` get ``action``."""

    arches: ValueSet
    numbers: ValueSet
    region: Region
    action: Action


@dataclass(frozen=True)
class FilterBehaviour:
    """What a filter does with every call; see the module docstring.

    ``audits`` has the segments of each examined ``AUDIT_ARCH`` value. ``exact`` is False
    when the analysis had to guess; ``notes`` say where. ``remarks`` are facts worth knowing
    that do not make it inexact (a return value the kernel reads differently, say).
    """

    audits: dict[int, tuple[Segment, ...]]
    foreign: tuple[ForeignLeaf, ...]
    exact: bool = True
    notes: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()

    def partition_at(self, audit: int, nr: int) -> Partition:
        segments = self.audits[audit]
        index = bisect_right(segments, (nr, NR_MAX + 1)) - 1
        return segments[index].partition

    def action_for(
        self, audit: int, nr: int, args: Sequence[int] = (0,) * 6, ip: int = 0
    ) -> Action:
        """The action for one call (a reference for tests)."""
        if audit in self.audits:
            return self.partition_at(audit, nr).action_for(args, ip)
        for leaf in self.foreign:
            if (
                audit in leaf.arches
                and nr in leaf.numbers
                and region_contains(leaf.region, args, ip)
            ):
                return leaf.action
        raise ValueError(f"architecture {audit:#x} was not examined")


# -- architectures ------------------------------------------------------------------------------


@cache
def known_audit_values() -> tuple[int, ...]:
    return tuple(sorted({arch.audit_arch for arch in all_arches()}))


@cache
def foreign_arches() -> ValueSet:
    """The ``AUDIT_ARCH`` values that no known ABI reports."""
    return ValueSet.of(32, complement_intervals(points(known_audit_values()), MASK32))


def abi_ranges(audit: int) -> list[tuple[int, int, Arch]]:
    """The number ranges of ``audit`` and the ABI whose table runs each (x32, MIPS)."""
    starts = [0, *dispatch_boundaries(audit)]
    out: list[tuple[int, int, Arch]] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 1 if index + 1 < len(starts) else NR_MAX
        arch = dispatched_arch(audit, start)
        assert arch is not None
        if out and out[-1][2] == arch and out[-1][1] + 1 == start:
            out[-1] = (out[-1][0], end, arch)
        else:
            out.append((start, end, arch))
    return out


def merge_segments(segments: Iterable[Segment]) -> tuple[Segment, ...]:
    """Adjacent segments with equal partitions joined."""
    out: list[Segment] = []
    for segment in segments:
        if out and out[-1].partition == segment.partition and out[-1].high + 1 == segment.low:
            out[-1] = Segment(out[-1].low, segment.high, segment.partition)
        else:
            out.append(segment)
    return tuple(out)


def overlay(
    a: Sequence[Segment], b: Sequence[Segment], cuts: Iterable[int] = ()
) -> Iterator[tuple[int, int, Partition, Partition]]:
    """Both segment lists (each covering 0..2**32-1) over common ranges, also cut at ``cuts``."""
    points_ = sorted({0, *(s.low for s in a), *(s.low for s in b), *cuts} - {NR_MAX + 1})
    ia = ib = 0
    for index, low in enumerate(points_):
        high = points_[index + 1] - 1 if index + 1 < len(points_) else NR_MAX
        while a[ia].high < low:
            ia += 1
        while b[ib].high < low:
            ib += 1
        yield low, high, a[ia].partition, b[ib].partition


# -- policies -----------------------------------------------------------------------------------


def policy_segments(policy: Policy, audit: int) -> tuple[Segment, ...]:
    """The segments of ``policy`` for calls reported as ``audit`` (DESIGN §3)."""
    listed = {arch.name: arch for arch in policy.resolved_arches()}
    default = policy.default_action
    unknown = policy.unknown_syscall_action
    bad = Partition.constant(policy.bad_arch_action)

    def decided(entries: Sequence[ResolvedRule], narrow: bool) -> Partition:
        chain: Chain = tuple((entry.condition, entry.action) for entry in entries)
        partition = chain_partition(chain, default)
        # reference.decide: calls of a 32-bit ABI see the low half of each argument only.
        return partition.narrowed() if narrow else partition

    segments: list[Segment] = []
    for low, high, abi in abi_ranges(audit):
        arch = listed.get(abi.name)
        if arch is None:
            segments.append(Segment(low, high, bad))
            continue
        resolved = policy.resolve(arch)
        narrow = abi.argument_bits == 32
        known = resolved.known_numbers
        special = {
            nr for nr in resolved.rules_by_nr if low <= nr <= high and resolved.named(nr, audit)
        }
        separate_unknown = unknown is not None and unknown != default
        if separate_unknown:
            special |= {nr for nr in known if low <= nr <= high}
        gap = Partition.constant(unknown if separate_unknown and unknown is not None else default)
        # Cut at every special number and at the ends of the rules' number ranges; between
        # two cuts every number is decided alike.
        cuts = {low} | {p for nr in special for p in (nr, nr + 1)}
        cuts |= {p for p in resolved.range_bounds() if low <= p}
        starts = sorted(p for p in cuts if p <= high)
        for index, start in enumerate(starts):
            end = starts[index + 1] - 1 if index + 1 < len(starts) else high
            if start in special:
                entries = resolved.entries(start, audit)
                if entries:
                    partition = decided(entries, narrow)
                elif start in known or unknown is None:
                    partition = Partition.constant(default)
                else:
                    partition = Partition.constant(unknown)
            else:
                ranged = resolved.entries(start, audit)
                partition = decided(ranged, narrow) if ranged else gap
            segments.append(Segment(start, end, partition))
    return merge_segments(segments)


def policy_behaviour(policy: Policy, audits: Iterable[int] | None = None) -> FilterBehaviour:
    """The behaviour of ``policy`` on ``audits`` (default: every known ``AUDIT_ARCH`` value)."""
    policy.validate()
    chosen = known_audit_values() if audits is None else tuple(dict.fromkeys(audits))
    foreign = ForeignLeaf(foreign_arches(), ValueSet.full(32), FULL_REGION, policy.bad_arch_action)
    return FilterBehaviour({audit: policy_segments(policy, audit) for audit in chosen}, (foreign,))


# -- comparing and combining --------------------------------------------------------------------


def combine(a: FilterBehaviour, b: FilterBehaviour, choose: Choose) -> FilterBehaviour:
    """The behaviour that gives ``choose(a's action, b's action)`` for every call."""
    audits: dict[int, tuple[Segment, ...]] = {}
    for audit in a.audits:
        if audit not in b.audits:
            continue
        memo: dict[tuple[Partition, Partition], Partition] = {}
        segments = []
        for low, high, pa, pb in overlay(a.audits[audit], b.audits[audit]):
            key = (pa, pb)
            if key not in memo:
                memo[key] = combine_partitions(pa, pb, choose)
            segments.append(Segment(low, high, memo[key]))
        audits[audit] = merge_segments(segments)
    foreign: list[ForeignLeaf] = []
    for leaf_a in a.foreign:
        for leaf_b in b.foreign:
            arches = leaf_a.arches.intersect(leaf_b.arches)
            numbers = leaf_a.numbers.intersect(leaf_b.numbers)
            region = region_intersect(leaf_a.region, leaf_b.region)
            if arches.is_empty or numbers.is_empty or region is None:
                continue
            foreign.append(
                ForeignLeaf(arches, numbers, region, choose(leaf_a.action, leaf_b.action))
            )
    return FilterBehaviour(
        audits,
        tuple(foreign),
        a.exact and b.exact,
        tuple(dict.fromkeys((*a.notes, *b.notes))),
        tuple(dict.fromkeys((*a.remarks, *b.remarks))),
    )
