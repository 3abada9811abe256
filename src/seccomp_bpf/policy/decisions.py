"""Decisions as functions of the arguments: what a policy does with one system call, exactly.

Part of the condition engine (:mod:`seccomp_bpf.policy.semantics`). A :class:`Partition` is the
decision for one ``(ABI, number)``: disjoint regions of argument space grouped by the action
they get, covering every call. From it:

- :func:`chain_partition` is the model's first match (DESIGN §3): rules tried in order, the
  first whose condition holds deciding, else the fallback; :func:`syscall_decision` is that for
  a policy's entries for one number, and :func:`decision_differences` finds every number two
  policies decide differently;
- :meth:`Partition.differences` and :meth:`Partition.same` compare two decisions,
  :meth:`Partition.narrowed` gives the decision on 32-bit arguments, :meth:`Partition.depends_on`
  and :meth:`Partition.reads_upper_halves` say what it looks at;
- :meth:`Partition.cells` cuts a decision into cells, conjunctions of ``(target & mask) ==
  value``, pairwise disjoint, so that two cells with different actions pin one bit of one
  target to different values (what OCI's "provably exclusive" entries need).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from seccomp_bpf.arch import Arch
from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.conditions import FALSE, All, Condition, Equal, MaskedEqual
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.semantics import (
    FULL_REGION,
    IP_TARGET,
    Region,
    compact,
    narrowed_region,
    region_contains,
    region_intersect,
    regions_condition,
    split,
)
from seccomp_bpf.policy.values import FULL32, MASK32, MASK64, Pattern, ValueSet

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

    def condition_of(self, action: Action) -> Condition | None:
        """Where the decision is ``action``, as a condition (``None``: everywhere)."""
        regions = self.regions_of(action)
        return regions_condition(regions) if regions else FALSE

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

    def depends_on(self, target: int) -> bool:
        """Whether two calls that differ in ``target`` only can get different actions: two
        regions with different actions that meet on every other target."""
        for index, (action_a, regions_a) in enumerate(self.parts):
            for action_b, regions_b in self.parts[index + 1 :]:
                if action_a == action_b:
                    continue
                for region_a in regions_a:
                    rest_a = tuple(item for item in region_a if item[0] != target)
                    for region_b in regions_b:
                        rest_b = tuple(item for item in region_b if item[0] != target)
                        if region_intersect(rest_a, rest_b) is not None:
                            return True
        return False

    def reads_upper_halves(self) -> bool:
        """Whether the upper half of some argument changes the decision: ``f`` differs from
        ``f`` on arguments cut to their low halves exactly then."""
        return not self.same(self.narrowed())

    # -- cells ------------------------------------------------------------------------------------

    def cells(
        self,
        *,
        skip: Action | None = None,
        only: Action | None = None,
        limit: int | None = None,
    ) -> list[tuple[Action, Cell]]:
        """Every region (of an action other than ``skip``; only of ``only`` when given) as
        disjoint cells; more than ``limit`` raise :class:`~seccomp_bpf.errors.TooComplexError`."""
        out: list[tuple[Action, Cell]] = []
        for region, action in self.leaves():
            if action == skip or (only is not None and action != only):
                continue
            left = None if limit is None else limit - len(out)
            out += [(action, cell) for cell in region_cells(region, left)]
        return out


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


# -- cells ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """A conjunction of ``(target & mask) == value``, one per target it tests.

    ``tests`` holds ``(target, mask, value)`` by target (0..5, :data:`IP_TARGET`); a target it
    does not mention may hold anything.
    """

    tests: tuple[tuple[int, int, int], ...]

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        for target, mask, value in self.tests:
            operand = ip if target == IP_TARGET else args[target]
            if operand & mask != value:
                return False
        return True

    def condition(self) -> Condition | None:
        """The cell as a model condition (``None`` when it tests nothing)."""
        parts: list[Condition] = []
        for target, mask, value in self.tests:
            arg = None if target == IP_TARGET else target
            if mask == MASK64:
                parts.append(Equal(arg, value))
            else:
                parts.append(MaskedEqual(arg, mask, value))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))


def value_cells(values: ValueSet, limit: int | None = None) -> list[Pattern]:
    """``values`` as disjoint patterns ``(mask, value)``, each the set ``{v : v & mask ==
    value}``, together exactly ``values``.

    A walk over blocks of values from the top bit down. A block is given by its decided bits;
    it becomes a pattern (with the set's fixed bits added) once every other constraint is
    settled on it: the block lies in one interval (judged by the run of decided bits from the
    top, and for the low-word intervals from bit 31), and each excluded pattern either already
    differs or has excluded the block. Otherwise it is cut at the highest bit a constraint
    still needs: the first undecided bit below the run, or the highest undecided bit of an
    excluded pattern.
    """
    if values.is_empty:
        return []
    width = values.width
    intervals = values.intervals
    lows = values.low if width == 64 and values.low != FULL32 else None
    fixed_mask, fixed_value = values.fixed_mask, values.fixed_value
    out: list[Pattern] = []

    def run_bound(mask: int, value: int, high_bit: int) -> tuple[int, int, int]:
        """The range of the block judged by the run of decided bits from ``high_bit`` down,
        and the first undecided bit below the run (-1 when every bit is decided)."""
        bit = high_bit
        while bit >= 0 and mask >> bit & 1:
            bit -= 1
        span = (1 << (high_bit + 1)) - 1
        below = (1 << (bit + 1)) - 1
        start = value & span & ~below
        return start, start | below, bit

    def settled(ranges: Sequence[tuple[int, int]], start: int, end: int) -> bool | None:
        """True: inside one range; False: outside all; None: neither."""
        for lo, hi in ranges:
            if lo <= start and end <= hi:
                return True
            if lo <= end and start <= hi:
                return None
        return False

    def walk(mask: int, value: int) -> None:
        if (value ^ fixed_value) & fixed_mask & mask:
            return
        need = -1
        start, end, bit = run_bound(mask, value, width - 1)
        state = settled(intervals, start, end)
        if state is False:
            return
        if state is None:
            need = bit
        if lows is not None:
            start, end, bit = run_bound(mask, value, 31)
            state = settled(lows, start, end)
            if state is False:
                return
            if state is None:
                need = max(need, bit)
        for pattern_mask, pattern in values.excluded:
            if (value ^ pattern) & pattern_mask & mask:
                continue  # already differs
            open_bits = pattern_mask & ~mask
            if not open_bits:
                return  # the pattern matches the whole block: excluded
            need = max(need, open_bits.bit_length() - 1)
        if need < 0:
            if limit is not None and len(out) >= limit:
                raise TooComplexError(f"more than {limit} cells")
            out.append((mask | fixed_mask, (value & ~fixed_mask) | fixed_value))
            return
        bit_value = 1 << need
        walk(mask | bit_value, value)
        walk(mask | bit_value, value | bit_value)

    walk(0, 0)
    return out


def region_cells(region: Region, limit: int | None = None) -> list[Cell]:
    """A region as disjoint cells (the product of its targets' patterns)."""
    per_target = [(target, value_cells(values, limit)) for target, values in region]
    count = 1
    for _, patterns in per_target:
        count *= len(patterns)
    if limit is not None and count > limit:
        raise TooComplexError(f"more than {limit} cells")
    cells: list[tuple[tuple[int, int, int], ...]] = [()]
    for target, patterns in per_target:
        cells = [
            (*cell, (target, mask, value)) if mask else cell  # mask 0: anything
            for cell in cells
            for mask, value in patterns
        ]
    return [Cell(tests) for tests in cells]


# -- a policy's decisions -------------------------------------------------------------------------


def fallback_action(policy: Policy, arch: Arch, nr: int) -> Action:
    """What ``policy`` does with ``nr`` on ``arch`` when none of its rules decides (DESIGN §3):
    ``unknown_syscall_action`` for a number that the table does not know and no rule names,
    else the default action."""
    resolved = policy.resolve(arch)
    if (
        policy.unknown_syscall_action is not None
        and nr not in resolved.known_numbers
        and not resolved.named(nr, arch.audit_arch)
    ):
        return policy.unknown_syscall_action
    return policy.default_action


def unnamed_fallback(policy: Policy) -> Action:
    """What ``policy`` does with numbers that neither its tables nor its rules know."""
    return policy.unknown_syscall_action or policy.default_action


def syscall_decision(
    policy: Policy, arch: Arch, nr: int, *, whole_words: bool = False
) -> Partition:
    """What ``policy`` does with system call ``nr`` on ``arch``: first match over the entries
    that name it (mirrored entries included), then the fallback.

    On an ABI whose calls see 32-bit arguments (:attr:`Arch.argument_bits`) the model
    compares their low words only, and so does the decision, unless ``whole_words`` asks for
    the decision the same rules would take on 64-bit arguments.
    """
    resolved = policy.resolve(arch)
    entries = resolved.entries(nr, arch.audit_arch)
    chain: Chain = tuple((entry.condition, entry.action) for entry in entries)
    partition = chain_partition(chain, fallback_action(policy, arch, nr))
    if arch.argument_bits == 32 and not whole_words:
        partition = partition.narrowed()
    return partition


@dataclass(frozen=True, slots=True)
class Difference:
    """Where two policies decide differently on one ABI: ``nr`` (``None`` for every number
    neither knows), and each side's decision."""

    arch: Arch
    nr: int | None
    ours: Partition
    theirs: Partition


def decision_differences(ours: Policy, theirs: Policy, arches: Sequence[Arch]) -> list[Difference]:
    """Every ``(arch, nr)`` of ``arches`` where the two policies decide some call differently
    (architectures that only one of them lists are not compared here)."""
    found: list[Difference] = []
    for arch in arches:
        ours_resolved = ours.resolve(arch)
        theirs_resolved = theirs.resolve(arch)
        # Between two of these numbers, outside the tables and the rules' own numbers, both
        # policies decide every number alike.
        numbers = (
            set(ours_resolved.known_numbers)
            | set(ours_resolved.rules_by_nr)
            | set(theirs_resolved.rules_by_nr)
            | {p & MASK32 for p in ours_resolved.range_bounds()}
            | {p & MASK32 for p in theirs_resolved.range_bounds()}
        )
        for nr in sorted(numbers):
            mine = syscall_decision(ours, arch, nr)
            other = syscall_decision(theirs, arch, nr)
            if not mine.same(other):
                found.append(Difference(arch, nr, mine, other))
        mine_fallback = Partition.constant(unnamed_fallback(ours))
        other_fallback = Partition.constant(unnamed_fallback(theirs))
        if mine_fallback != other_fallback:
            found.append(Difference(arch, None, mine_fallback, other_fallback))
    return found
