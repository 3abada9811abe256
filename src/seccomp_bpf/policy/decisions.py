"""Decisions as functions of the arguments, cut into regions: what a filter does with one call.

Part of the condition engine (:mod:`seccomp_bpf.policy.semantics`). A :class:`Partition` is the
decision for one ``(ABI, number)``: disjoint regions of argument space grouped by the action
they get, covering every call. :func:`chain_partition` is the model's first match (DESIGN §3):
rules tried in order, the first whose condition holds deciding, else the fallback.
:meth:`Partition.differences` and :meth:`Partition.same` compare two decisions exactly,
:meth:`Partition.narrowed` gives the decision on 32-bit arguments, and
:func:`combine_partitions` joins two decisions call by call. Explain, diff, union and
intersection work on these; the canonical form of a decision, for the writers, is its diagram
(:mod:`seccomp_bpf.policy.diagrams`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.conditions import Condition
from seccomp_bpf.policy.semantics import (
    FULL_REGION,
    Region,
    compact,
    narrowed_region,
    region_contains,
    region_intersect,
    split,
)

_CACHE: Final = 4096


def action_key(action: Action) -> int:
    return action.ret_value


@dataclass(frozen=True)
class Partition:
    """The decision for one call as a function of its arguments: per action (sorted by return
    value), the disjoint regions that get it. Together the regions cover everything."""

    parts: tuple[tuple[Action, tuple[Region, ...]], ...]

    @classmethod
    def constant(cls, action: Action) -> Partition:
        return _constant(action)

    @classmethod
    def from_leaves(cls, leaves: Iterable[tuple[Region, Action]]) -> Partition:
        """Group disjoint ``(region, action)`` pieces by action, with fewer regions."""
        by_action: dict[Action, list[Region]] = {}
        for region, action in leaves:
            by_action.setdefault(action, []).append(region)
        if len(by_action) == 1:
            return _constant(next(iter(by_action)))
        parts = []
        for action in sorted(by_action, key=action_key):
            parts.append((action, tuple(sorted(compact(by_action[action]), key=repr))))
        return cls(tuple(parts))

    @property
    def constant_action(self) -> Action | None:
        """The action when it does not depend on the arguments."""
        if len(self.parts) == 1:
            return self.parts[0][0]
        return None

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(action for action, _ in self.parts)

    def regions_of(self, action: Action) -> tuple[Region, ...]:
        for candidate, regions in self.parts:
            if candidate == action:
                return regions
        return ()

    def leaves(self) -> Iterator[tuple[Region, Action]]:
        for action, regions in self.parts:
            for region in regions:
                yield region, action

    def action_for(self, args: Sequence[int], ip: int = 0) -> Action:
        """The action for these arguments (a reference for tests)."""
        for region, action in self.leaves():
            if region_contains(region, args, ip):
                return action
        raise ValueError("the partition does not cover these arguments")

    def narrowed(self) -> Partition:
        """The decision on an ABI whose calls see only the low half of each argument
        (:func:`~seccomp_bpf.policy.semantics.narrowed`): ``v`` gets the action of
        ``v & 0xffffffff``. The narrowed regions are still disjoint and cover everything."""
        if self.constant_action is not None:
            return self
        return _narrowed(self)

    # -- comparing ------------------------------------------------------------------------------

    def differences(self, other: Partition) -> list[tuple[Region, Action, Action]]:
        """The regions where ``self`` and ``other`` decide differently, with each one's action."""
        if self == other:
            return []
        out: list[tuple[Region, Action, Action]] = []
        for action_a, regions_a in self.parts:
            for action_b, regions_b in other.parts:
                if action_a == action_b:
                    continue
                for region_a in regions_a:
                    for region_b in regions_b:
                        both = region_intersect(region_a, region_b)
                        if both is not None:
                            out.append((both, action_a, action_b))
        return out

    def same(self, other: Partition) -> bool:
        """Whether the two decide every call alike."""
        if self == other:
            return True
        for action_a, regions_a in self.parts:
            for action_b, regions_b in other.parts:
                if action_a != action_b and any(
                    region_intersect(a, b) is not None for a in regions_a for b in regions_b
                ):
                    return False
        return True


@lru_cache(maxsize=256)
def _constant(action: Action) -> Partition:
    return Partition(((action, (FULL_REGION,)),))


@lru_cache(maxsize=_CACHE)
def _narrowed(partition: Partition) -> Partition:
    leaves = []
    for region, action in partition.leaves():
        narrow = narrowed_region(region)
        if narrow is not None:
            leaves.append((narrow, action))
    return Partition.from_leaves(leaves)


Chain = tuple[tuple[Condition | None, Action], ...]


@lru_cache(maxsize=_CACHE)
def chain_partition(chain: Chain, fallback: Action) -> Partition:
    """Rules tried in order, the first whose condition holds deciding, else ``fallback``."""
    leaves: list[tuple[Region, Action]] = []
    pending: list[Region] = [FULL_REGION]
    for condition, action in chain:
        if condition is None:
            leaves += [(region, action) for region in pending]
            pending = []
            break
        following: list[Region] = []
        for region in pending:
            holds, fails = split(condition, region)
            leaves += [(part, action) for part in holds]
            following += fails
        pending = following
        if not pending:
            break
    leaves += [(region, fallback) for region in pending]
    return Partition.from_leaves(leaves)


Choose = Callable[[Action, Action], Action]


def combine_partitions(a: Partition, b: Partition, choose: Choose) -> Partition:
    """The partition giving ``choose(action_a, action_b)`` wherever ``a`` and ``b`` meet."""
    ca, cb = a.constant_action, b.constant_action
    if ca is not None and cb is not None:
        return Partition.constant(choose(ca, cb))
    leaves: list[tuple[Region, Action]] = []
    for action_a, regions_a in a.parts:
        for action_b, regions_b in b.parts:
            chosen = choose(action_a, action_b)
            for region_a in regions_a:
                for region_b in regions_b:
                    both = region_intersect(region_a, region_b)
                    if both is not None:
                        leaves.append((both, chosen))
    return Partition.from_leaves(leaves)
