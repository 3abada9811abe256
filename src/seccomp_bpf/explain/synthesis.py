"""From a behaviour back to a policy in the model: the second half of the decompiler, and how
union and intersection become policies.

The model has one ``default_action``, one ``unknown_syscall_action`` and one
``bad_arch_action`` for the whole policy, and rules that name system calls (resolved per
architecture) or raw numbers, on every listed ABI or on some (``Rule.arches``). The steps:

1. ``bad_arch_action``: what foreign architectures get. An ABI is listed when any of its
   numbers gets anything else (libseccomp's x86-64 filters let nr -1, an x32 number, through:
   x32 is listed then, with rules giving the rest of its numbers ``bad_arch_action``).
2. ``unknown_syscall_action``: what the number after each table's last gets (a call newer
   than the table), by a vote of the ABIs whose own system calls are not all refused as
   foreign; then ``default_action``: the most common action of the named calls among those
   that allow as much (an allowlist stays an allowlist). A run of numbers decided otherwise
   than unknown numbers are gets a rule on its range (:class:`NumberRange`), which also
   decides the table's numbers inside it.
3. Every call decided otherwise gets rules: per action, the union of its regions of argument
   space (:func:`~seccomp_bpf.policy.semantics.regions_condition`), one action left to the
   default or to a final unconditional rule. A name stands for its call on every ABI that has
   it; the calls are grouped by decision, and a group covering only some ABIs is limited to
   them. On a 32-bit ABI a rule decides as its narrowed form (only the low half of each
   argument counts), so one 64-bit rule serves x86-64 and i386 alike when it can.
4. On ABIs with ``socketcall``/``ipc``, a rule on ``socket`` is mirrored onto the
   multiplexer (:mod:`seccomp_bpf.policy.resolution`); the multiplexer's own rules then come
   first and end in an unconditional rule, so that no mirror changes its decision. Where an
   ABI's numbers reported under another ABI's ``AUDIT_ARCH`` value (an o32 call of an n64
   task) are decided otherwise than under its own, rules limited to that value
   (``Rule.audit_arches``) come before everything else.
5. The result is checked: its behaviour (:func:`~seccomp_bpf.explain.behaviour.policy_behaviour`)
   is compared with the one it was made from, exactly, and every difference is reported.
   What the model cannot say (foreign architectures decided differently from one another,
   say) ends up there.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from seccomp_bpf.arch import Arch, arches_by_audit
from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.explain.behaviour import (
    FilterBehaviour,
    Segment,
    abi_ranges,
    overlay,
    policy_behaviour,
    policy_segments,
)
from seccomp_bpf.explain.summary import allows
from seccomp_bpf.policy import Action, Condition, NumberRange, Policy, Rule
from seccomp_bpf.policy.decisions import Partition, action_key
from seccomp_bpf.policy.semantics import region_atoms, regions_condition
from seccomp_bpf.policy.values import count_values

_REPORTED: Final = 12  # differences listed in the notes before "... and N more"

Item = str | int | NumberRange  # a system call name, a raw number, or a range of numbers


@dataclass
class _Abi:
    """One ABI's own calls: the segments of its AUDIT_ARCH value that its table runs."""

    arch: Arch
    segments: list[Segment]
    known: list[int]
    known_set: frozenset[int]
    proper: bool = True
    """Some system call of the table (or a newer one) is not refused as a foreign call's."""
    starts: list[int] = field(default_factory=list)
    _names: dict[int, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.starts = [segment.low for segment in self.segments]

    def partition_at(self, nr: int) -> Partition | None:
        index = bisect_right(self.starts, nr) - 1
        if index < 0:
            return None
        segment = self.segments[index]
        return segment.partition if segment.low <= nr <= segment.high else None

    def known_between(self, low: int, high: int) -> int:
        return bisect_right(self.known, high) - bisect_left(self.known, low)

    def owns_some(self, low: int, high: int) -> bool:
        """Whether any number ``low..high`` is this ABI's own."""
        return any(s.low <= high and low <= s.high for s in self.segments)

    def names_of(self, nr: int) -> list[str]:
        """Every name of ``nr`` here, the table's preferred one first."""
        if not self._names:
            for name, number in sorted(self.arch.syscalls.items()):
                self._names.setdefault(number, []).append(name)
        names = list(self._names.get(nr, ()))
        preferred = self.arch.syscall_name(nr)
        if preferred in names:
            names.remove(preferred)
            names.insert(0, preferred)
        return names


def own_segments(behaviour: FilterBehaviour, arch: Arch) -> list[Segment]:
    """The segments of ``arch``'s AUDIT_ARCH value whose numbers ``arch``'s table runs."""
    segments = behaviour.audits.get(arch.audit_arch)
    if segments is None:
        return []
    out: list[Segment] = []
    for low, high, abi in abi_ranges(arch.audit_arch):
        if abi.name != arch.name:
            continue
        for segment in segments:
            if segment.high < low or segment.low > high:
                continue
            out.append(Segment(max(low, segment.low), min(high, segment.high), segment.partition))
    return out


def reported_segments(behaviour: FilterBehaviour, arch: Arch) -> list[tuple[int, Segment]]:
    """``(audit, segment)`` for ``arch``'s numbers reported under other ``AUDIT_ARCH``
    values (on 64-bit MIPS kernels a task of one ABI can make another ABI's calls)."""
    out: list[tuple[int, Segment]] = []
    for audit, segments in behaviour.audits.items():
        if audit == arch.audit_arch:
            continue
        for low, high, abi in abi_ranges(audit):
            if abi.name != arch.name:
                continue
            for segment in segments:
                if segment.high < low or segment.low > high:
                    continue
                part = Segment(max(low, segment.low), min(high, segment.high), segment.partition)
                out.append((audit, part))
    return out


def equivalent(a: Partition, b: Partition) -> bool:
    return a.same(b)


@dataclass(frozen=True)
class Synthesis:
    """A policy made from a behaviour: ``exact`` when it decides every examined call as the
    behaviour does (checked), ``notes`` saying otherwise what differs and why."""

    policy: Policy
    exact: bool
    notes: tuple[str, ...]


def describe_partition(partition: Partition) -> str:
    action = partition.constant_action
    if action is not None:
        return action.describe()
    return " or ".join(a.describe() for a in partition.actions) + " by argument"


class _Synthesizer:
    def __init__(
        self,
        behaviour: FilterBehaviour,
        examined: Sequence[Arch],
        listed: Sequence[Arch] | None,
    ) -> None:
        self.behaviour = behaviour
        self.examined = list(examined)
        self.forced = list(listed) if listed is not None else None
        self.notes: list[str] = list(behaviour.notes)
        self.exact = behaviour.exact

    # -- 1. architectures ------------------------------------------------------------------------

    def bad_arch_action(self) -> Action:
        weights: Counter[Action] = Counter()
        for leaf in self.behaviour.foreign:
            try:
                weights[leaf.action] += count_values(leaf.arches.as_intervals())
            except TooComplexError:
                weights[leaf.action] += 1  # masks on low bits of arch: a rough weight will do
        if not weights:
            return self._most_common_unlisted() or Action.from_ret(0x80000000)
        if len(weights) > 1:
            self.exact = False
            shown = ", ".join(action.describe() for action, _ in weights.most_common())
            self.notes.append(
                f"foreign architectures get different actions ({shown}); the model has one "
                "bad_arch_action"
            )
        return weights.most_common(1)[0][0]

    def _most_common_unlisted(self) -> Action | None:
        counts: Counter[Action] = Counter()
        for arch in self.examined:
            for segment in own_segments(self.behaviour, arch):
                action = segment.partition.constant_action
                if action is not None:
                    counts[action] += segment.high - segment.low + 1
        return counts.most_common(1)[0][0] if counts else None

    def listed(self, bad: Action) -> list[_Abi]:
        bad_partition = Partition.constant(bad)
        chosen: list[_Abi] = []
        candidates = self.forced if self.forced is not None else self.examined
        for arch in candidates:
            segments = own_segments(self.behaviour, arch)
            if not segments:
                continue
            known = sorted(set(arch.syscalls.values()))
            abi = _Abi(arch, segments, known, frozenset(known))
            # An ABI is listed when any of its numbers gets something else than foreign
            # architectures. It is a proper one when one of its system calls, or the number
            # after its table's last (a newer call), does; otherwise only some stray numbers
            # get through (nr -1, an x32 number, in libseccomp's x86-64 filters).
            differing = [s for s in segments if s.partition != bad_partition]
            newer = abi.partition_at(known[-1] + 1) if known else None
            abi.proper = any(abi.known_between(s.low, s.high) for s in differing) or (
                newer is not None and newer != bad_partition
            )
            reported = any(
                s.partition != bad_partition for _, s in reported_segments(self.behaviour, arch)
            )
            if self.forced is None and not differing and not reported:
                continue
            chosen.append(abi)
        if not chosen and candidates:
            arch = candidates[0]
            known = sorted(set(arch.syscalls.values()))
            chosen.append(_Abi(arch, own_segments(self.behaviour, arch), known, frozenset(known)))
        # Proper ABIs first: the first listed is the one the compiled tree is tuned for.
        return sorted(chosen, key=lambda abi: not abi.proper)

    # -- 2. default and unknown actions ---------------------------------------------------------

    @staticmethod
    def fallbacks(abis: Sequence[_Abi], bad: Action) -> tuple[Action, Action]:
        """(default_action, action for unknown numbers).

        The unknown numbers' action is what the number after each table's last gets (a
        system call newer than the table: the ENOSYS-or-EPERM question), by a vote of the
        ABIs; without one, the action most unknown numbers get.
        """
        named: Counter[Action] = Counter()
        unnamed: Counter[Action] = Counter()
        newer: Counter[Action] = Counter()
        # ABIs listed for a few stray numbers (all their system calls refused) do not vote.
        voters = [abi for abi in abis if abi.proper] or list(abis)
        for abi in voters:
            for segment in abi.segments:
                action = segment.partition.constant_action
                if action is None:
                    continue
                known = abi.known_between(segment.low, segment.high)
                named[action] += known
                unnamed[action] += segment.high - segment.low + 1 - known
            if abi.known:
                partition = abi.partition_at(abi.known[-1] + 1)
                if partition is not None and partition.constant_action is not None:
                    newer[partition.constant_action] += 1
        if newer:
            unknown = max(newer, key=lambda action: (newer[action], unnamed[action]))
        else:
            unknown = unnamed.most_common(1)[0][0] if unnamed else bad
        # An allowlist stays an allowlist: the default is the most common action among the
        # named calls that allows as much as the unknown numbers' action does (itself on a
        # tie, which makes unknown_syscall_action unnecessary).
        alike = [
            (count, action == unknown, action)
            for action, count in named.items()
            if allows(action) == allows(unknown)
        ]
        if not alike:
            return unknown, unknown
        default = max(alike, key=lambda item: (item[0], item[1]))[2]
        return default, unknown

    # -- 3. which calls need rules --------------------------------------------------------------

    def needed_cells(
        self, plan: _Plan, abis: Sequence[_Abi], default: Action, unknown: Action
    ) -> list[tuple[_Abi, int]]:
        """The calls that need rules; runs of numbers decided otherwise than unknown numbers
        are given to ``plan`` as ranges (with the table's numbers inside them)."""
        default_p, unknown_p = Partition.constant(default), Partition.constant(unknown)
        cells: list[tuple[_Abi, int]] = []
        for abi in abis:
            for segment in abi.segments:
                partition = segment.partition
                low, high = segment.low, segment.high
                count = high - low + 1 - abi.known_between(low, high)
                if count and partition != unknown_p:
                    if low == high:
                        cells.append((abi, low))
                    else:
                        plan.cover(abi, NumberRange(low, high), partition)
                    continue
                if partition != default_p:
                    start = bisect_left(abi.known, low)
                    stop = bisect_right(abi.known, high)
                    cells += [(abi, nr) for nr in abi.known[start:stop]]
        return cells

    # -- the whole -----------------------------------------------------------------------------

    def run(self, *, name: str | None, comment: str | None) -> Synthesis:
        bad = self.bad_arch_action()
        abis = self.listed(bad)
        default, unknown = self.fallbacks(abis, bad)
        plan = _Plan(abis, default, unknown)
        for abi, nr in self.needed_cells(plan, abis, default, unknown):
            plan.add(plan.item_for(abi, nr))
        plan.add_ranges()
        drop_conditions = plan.multiplexers()
        policy = Policy(
            default_action=default,
            rules=tuple(plan.rules()),
            arches=tuple(abi.arch.name for abi in abis),
            bad_arch_action=bad,
            unknown_syscall_action=None if unknown == default else unknown,
            multiplexer_conditions="drop" if drop_conditions else "error",
            name=name,
            comment=comment,
        )
        reported = self.reported_rules(policy, abis, default)
        if reported:
            policy = replace(policy, rules=(*reported, *policy.rules))
        self.check(policy)
        return Synthesis(policy, self.exact, tuple(dict.fromkeys(self.notes)))

    # -- 4b. calls reported under another ABI's AUDIT_ARCH value --------------------------------

    def reported_rules(self, draft: Policy, abis: Sequence[_Abi], default: Action) -> list[Rule]:
        """Rules for an ABI's numbers reported under another ABI's ``AUDIT_ARCH`` value (an
        o32 call of an n64 task) where the filter decides them otherwise than ``draft``, which
        decides them as under the ABI's own value: limited to that value
        (``Rule.audit_arches``), first in the policy and each ending unconditionally."""
        listed = {abi.arch.name for abi in abis}
        groups: dict[tuple[Partition, str, str], list[Item]] = {}
        for audit, segments in self.behaviour.audits.items():
            reporters = arches_by_audit(audit)
            ranges = abi_ranges(audit)
            if not reporters or not any(
                abi.name in listed and abi.audit_arch != audit for _, _, abi in ranges
            ):
                continue
            made = policy_segments(draft, audit)
            for low, high, want, got in overlay(segments, made, [r[0] for r in ranges]):
                abi = next(arch for lo, hi, arch in ranges if lo <= low <= hi)
                if abi.name not in listed or abi.audit_arch == audit or equivalent(want, got):
                    continue
                item: Item = low if low == high else NumberRange(low, high)
                groups.setdefault((want, abi.name, reporters[0].name), []).append(item)
        # The same numbers decided alike under several values: one rule for all of them.
        values: dict[tuple[Partition, str, tuple[Item, ...]], list[str]] = {}
        for (want, abi_name, reporter), items in groups.items():
            values.setdefault((want, abi_name, _joined(items)), []).append(reporter)
        rules: list[Rule] = []
        for (want, abi_name, numbers), names in values.items():
            for condition, action in partition_rules(want, default, force_fallback=True):
                rules.append(
                    Rule(numbers, action, condition, arches=(abi_name,), audit_arches=tuple(names))
                )
        return rules

    # -- 5. the check ------------------------------------------------------------------------------

    def check(self, policy: Policy) -> None:
        examined = {arch.name for arch in self.examined}
        made = policy_behaviour(policy, self.behaviour.audits)
        found: list[str] = []
        total = 0
        for audit, segments in self.behaviour.audits.items():
            for low, high, want, got in overlay(
                segments, made.audits[audit], [r[0] for r in abi_ranges(audit)]
            ):
                abi = next(arch for lo, hi, arch in abi_ranges(audit) if lo <= low <= hi)
                if abi.name not in examined:
                    continue
                differences = want.differences(got)
                if not differences:
                    continue
                total += 1
                if len(found) < _REPORTED:
                    _region, expected, produced = differences[0]
                    label = abi.syscall_name(low) if low == high else None
                    numbers = label or (str(low) if low == high else f"{low}..{high}")
                    via = ""
                    if audit != abi.audit_arch:
                        via = f" (as {_audit_name(audit)})"
                    found.append(
                        f"{abi.name} {numbers}{via}: {produced.describe()} instead of "
                        f"{expected.describe()}"
                    )
        for leaf in self.behaviour.foreign:
            if leaf.action != policy.bad_arch_action:
                total += 1
        if total:
            self.exact = False
            more = f" and {total - len(found)} more" if total > len(found) else ""
            self.notes.append(
                "the policy differs from the filter on: " + "; ".join(found) + more
                if found
                else f"the policy differs from the filter for {total} foreign cases"
            )


Cell = tuple[str, int]  # (ABI name, number)


@dataclass
class _Group:
    """Rule items (names, raw numbers or ranges) written with one decision, on some ABIs.
    Groups of ranges come first in the policy and end in an unconditional rule: a number in
    a range is decided there, so later rules cannot change it."""

    partition: Partition
    arches: tuple[str, ...] | None
    leading: bool
    ranged: bool = False
    items: list[Item] = field(default_factory=list)


class _Plan:
    """Which rule items carry which decision on which ABIs (steps 3 and 4).

    An item (a name, or a raw number for calls no table names) stands for one call on every
    listed ABI that has it. Its calls are grouped by decision; each group becomes rules
    limited to its ABIs (``Rule.arches``), or for every ABI when one decision serves all.
    A decision *fits* a call when rules written from it decide the call as wanted; on an ABI
    that sees only the low half of each argument they decide as their narrowed form
    (reference.decide), so one 64-bit rule often serves a 64-bit ABI and its 32-bit compat ABI.
    """

    def __init__(self, abis: Sequence[_Abi], default: Action, unknown: Action) -> None:
        self.abis = list(abis)
        self.by_name = {abi.arch.name: abi for abi in abis}
        self.position = {abi.arch.name: index for index, abi in enumerate(abis)}
        self.default = Partition.constant(default)
        self.unknown = Partition.constant(unknown)
        self.groups: dict[tuple[Partition, tuple[str, ...] | None, bool, bool], _Group] = {}
        self.done: set[Item] = set()
        self.scopes: dict[Item, list[tuple[Partition, tuple[str, ...] | None]]] = {}
        # Partitions are shared by every call of a segment: remember answers by identity.
        self._fits: dict[tuple[int, int, bool], bool] = {}
        # Ranges given a rule, per ABI: what every number in them gets.
        self.covered: dict[str, list[tuple[NumberRange, Partition]]] = {}

    def cover(self, abi: _Abi, numbers: NumberRange, partition: Partition) -> None:
        """Decide ``numbers`` of ``abi`` (its own, one segment) by a rule on the range."""
        self.covered.setdefault(abi.arch.name, []).append((numbers, partition))

    def add_ranges(self) -> None:
        for item in dict.fromkeys(r for ranges in self.covered.values() for r, _ in ranges):
            self.add(item)

    def cells(self, item: Item) -> list[tuple[_Abi, int, Partition]]:
        """The calls ``item`` stands for, with the decision wanted for each."""
        if isinstance(item, NumberRange):
            return [
                (abi, item.first, partition)
                for abi in self.abis
                for numbers, partition in self.covered.get(abi.arch.name, ())
                if numbers == item
            ]
        out = []
        for abi in self.abis:
            nr = abi.arch.syscalls.get(item) if isinstance(item, str) else item
            if nr is None:
                continue
            want = abi.partition_at(nr)
            if want is not None:
                out.append((abi, nr, want))
        return out

    def implicit(self, abi: _Abi, nr: int) -> Partition:
        """What a call no rule names gets."""
        return self.default if nr in abi.known_set else self.unknown

    def in_range(self, abi: _Abi, nr: int) -> bool:
        """Whether a rule on a range decides ``nr`` on ``abi`` (before any rule on names)."""
        return any(nr in numbers for numbers, _ in self.covered.get(abi.arch.name, ()))

    def fits(self, abi: _Abi, want: Partition, rule: Partition) -> bool:
        narrow = abi.arch.argument_bits == 32
        key = (id(want), id(rule), narrow)
        answer = self._fits.get(key)
        if answer is None:
            answer = self._fits[key] = equivalent(want, rule.narrowed() if narrow else rule)
        return answer

    def item_for(self, abi: _Abi, nr: int) -> Item:
        names = abi.names_of(nr)
        return names[0] if names else nr

    def add(self, item: Item, *, leading: bool = False) -> None:
        """Write ``item``'s calls: one group per decision (64-bit ABIs' decisions first, a
        32-bit ABI joining a group whose narrowed decision is its own)."""
        if item in self.done and not leading:
            return
        self.done.add(item)
        ranged = isinstance(item, NumberRange)
        cells = self.cells(item)
        if not ranged:
            # A call in a range is decided by the range's rule, which comes first: whatever
            # this item's rules say never reaches it.
            cells = [cell for cell in cells if not self.in_range(cell[0], cell[1])]
        cells.sort(key=lambda cell: cell[0].arch.argument_bits != 64)
        placed: list[tuple[Partition, list[str]]] = []
        spare = []
        for abi, nr, want in cells:
            if not leading and not ranged and want == self.implicit(abi, nr):
                spare.append((abi, want))
                continue
            for rule, names in placed:
                if self.fits(abi, want, rule):
                    names.append(abi.arch.name)
                    break
            else:
                placed.append((want, [abi.arch.name]))
        # Calls that need no rule join a group whose rules decide them as wanted anyway, so
        # that fewer rules need a list of ABIs.
        for abi, want in spare:
            for rule, names in placed:
                if self.fits(abi, want, rule):
                    names.append(abi.arch.name)
                    break
        everyone = {abi.arch.name for abi, _, _ in cells}
        if isinstance(item, NumberRange):
            # The range reaches every listed ABI that owns some of its numbers.
            everyone |= {a.arch.name for a in self.abis if a.owns_some(item.first, item.last)}
        scopes = []
        for rule, names in placed:
            arches = (
                None
                if set(names) == everyone
                else tuple(sorted(names, key=lambda n: self.position[n]))
            )
            key = (rule, arches, leading, ranged)
            if key not in self.groups:
                self.groups[key] = _Group(rule, arches, leading, ranged)
            self.groups[key].items.append(item)
            scopes.append((rule, arches))
        self.scopes[item] = scopes

    def applies(self, item: Item, abi: _Abi) -> list[Partition]:
        """The decisions ``item``'s rules carry on ``abi``."""
        return [
            rule
            for rule, arches in self.scopes.get(item, ())
            if arches is None or abi.arch.name in arches
        ]

    def multiplexers(self) -> bool:
        """Step 4: on ABIs with socketcall/ipc, a multiplexer whose calls some rule names gets
        leading rules. True when a conditional rule is mirrored (multiplexer_conditions:
        drop, harmless since the multiplexer's own rules decide first)."""
        drop = False
        leading: dict[str, None] = {}
        for abi in self.abis:
            arch = abi.arch
            for multiplexer, calls in (("socketcall", arch.socketcall), ("ipc", arch.ipc)):
                if not calls or multiplexer not in arch.syscalls:
                    continue
                mirrored = [
                    rule
                    for item in self.scopes
                    if isinstance(item, str) and item in calls
                    for rule in self.applies(item, abi)
                ]
                if mirrored:
                    leading[multiplexer] = None
                    drop = drop or any(rule.constant_action is None for rule in mirrored)
        for multiplexer in leading:
            for key, group in list(self.groups.items()):
                if multiplexer in group.items:
                    group.items.remove(multiplexer)
                    if not group.items:
                        del self.groups[key]
            self.add(multiplexer, leading=True)
        return drop

    def rules(self) -> list[Rule]:
        """Ranges first, then leading groups (each ending unconditionally), then the others:
        argument-free ones, allowing first, then conditional ones."""
        default = self.default.constant_action
        assert default is not None

        def order(group: _Group) -> tuple[int, int, int]:
            action = group.partition.constant_action
            if group.ranged:
                return (-1, 0, 0)
            if group.leading:
                return (0, 0, 0)
            if action is not None:
                return (1, -action.precedence, action_key(action))
            return (2, 0, 0)

        def item_order(item: Item) -> tuple[int, int, int]:
            for abi in self.abis:
                if isinstance(item, NumberRange):
                    nr: int | None = item.first
                else:
                    nr = abi.arch.syscalls.get(item) if isinstance(item, str) else item
                if nr is not None and abi.partition_at(nr) is not None:
                    return (0 if isinstance(item, str) else 1, self.position[abi.arch.name], nr)
            return (2, 0, 0)

        rules: list[Rule] = []
        for group in sorted(self.groups.values(), key=order):
            items = tuple(sorted(group.items, key=item_order))
            for condition, action in partition_rules(
                group.partition, default, force_fallback=group.leading or group.ranged
            ):
                rules.append(Rule(items, action, condition, arches=group.arches))
        return rules


def partition_rules(
    partition: Partition, default: Action, *, force_fallback: bool = False
) -> list[tuple[Condition | None, Action]]:
    """Rules deciding one call as ``partition`` does when the policy's default is ``default``:
    one rule per action but one, whose regions are left to the default (when it is one of the
    actions) or to a final unconditional rule."""
    constant = partition.constant_action
    if constant is not None:
        return [(None, constant)]
    actions = partition.actions
    if default in actions:
        fallback = default
    else:
        # The action whose regions take the most comparisons to write is left implicit.
        fallback = max(actions, key=lambda a: (_atoms(partition, a), len(partition.regions_of(a))))
    rules: list[tuple[Condition | None, Action]] = []
    for action in actions:
        if action == fallback:
            continue
        rules.append((regions_condition(partition.regions_of(action)), action))
    if fallback != default or force_fallback:
        rules.append((None, fallback))
    return rules


def _atoms(partition: Partition, action: Action) -> int:
    return sum(region_atoms(region) for region in partition.regions_of(action))


def _joined(items: Sequence[Item]) -> tuple[Item, ...]:
    """Numbers and ranges (in order, none overlapping) with neighbours joined into ranges."""
    spans: list[list[int]] = []
    for item in items:
        assert not isinstance(item, str)
        first, last = (item, item) if isinstance(item, int) else (item.first, item.last)
        if spans and spans[-1][1] + 1 == first:
            spans[-1][1] = last
        else:
            spans.append([first, last])
    return tuple(first if first == last else NumberRange(first, last) for first, last in spans)


def _audit_name(audit: int) -> str:
    abis = arches_by_audit(audit)
    return abis[0].audit_arch_macro if abis else f"{audit:#010x}"


def synthesize(
    behaviour: FilterBehaviour,
    examined: Sequence[Arch],
    *,
    listed: Sequence[Arch] | None = None,
    name: str | None = None,
    comment: str | None = None,
) -> Synthesis:
    """A policy deciding as ``behaviour`` does on the ``examined`` ABIs (and on foreign
    architectures); ``listed`` forces the policy's ``arches``. See the module docstring."""
    return _Synthesizer(behaviour, examined, listed).run(name=name, comment=comment)
