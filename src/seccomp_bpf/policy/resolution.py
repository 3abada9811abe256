"""A policy seen from one architecture: names resolved to numbers, multiplexers mirrored.

:func:`resolve_for_arch` is the one place where rule names become numbers; ``Policy.decide``
and the compiler both read its :class:`ResolvedArch`, so they cannot disagree on it (which is
why the compiler is judged by a reference evaluator that does not: ``tests/reference``).

Multiplexers. On some architectures the socket calls also arrive through ``socketcall(2)``
(``net/socket.c``: ``SYSCALL_DEFINE2(socketcall, int, call, unsigned long __user *, args)``)
and SysV IPC through ``ipc(2)`` (``ipc/syscall.c``: ``version = call >> 16; call &= 0xffff``).
A rule on ``socket`` is therefore mirrored onto ``socketcall`` with the condition
``(u32)arg0 == SYS_SOCKET``, and a rule on ``semop`` onto ``ipc`` with
``((u32)arg0 & 0xffff) == SEMOP``. The mirrored entry keeps the rule's place in policy order
among the multiplexer's own rules.

The rule's own argument conditions cannot follow: the multiplexer passes the real arguments
through a pointer that seccomp cannot read. ``multiplexer_conditions`` says what happens to
such a rule on architectures that have the multiplexer:

``"error"`` (the default)
    the rule is refused.
``"drop"``
    the mirror keeps only the call-number test, which makes an allow rule broader and a deny
    rule stricter on the multiplexer (libseccomp's behaviour); a warning says so.
``"strict"``
    fail closed: an ``allow`` or ``log`` rule with conditions is not mirrored at all (its
    conditions cannot be shown to hold), any other rule is mirrored without its conditions.
    So a call through the multiplexer runs only if the direct call runs whatever its
    arguments: before the rule that allows it, every rule skipped was itself an allow or log
    rule. Warnings say what was skipped and what was widened.
"""

from __future__ import annotations

import difflib
import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from seccomp_bpf.arch import Arch, known_syscall_names
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.conditions import Condition, Equal, MaskedEqual
from seccomp_bpf.policy.rules import NumberRange

if TYPE_CHECKING:
    from seccomp_bpf.policy.policy import Policy
    from seccomp_bpf.policy.rules import Rule

MULTIPLEXERS = ("socketcall", "ipc")
MULTIPLEXER_MODES = ("error", "drop", "strict")
_IPC_CALL_MASK = 0xFFFF  # ipc/syscall.c: call &= 0xffff; the high half is the version
_RUNS = (SeccompAction.ALLOW, SeccompAction.LOG)  # actions under which the call itself runs


class ResolvedRule(NamedTuple):
    """One rule as it applies to one syscall number of one architecture."""

    rule_index: int
    action: Action
    condition: Condition | None
    via: str | None = None
    """``"socketcall"`` or ``"ipc"`` when this entry mirrors a rule on a multiplexed call."""
    audits: frozenset[int] | None = None
    """The ``AUDIT_ARCH_*`` values of calls the rule decides (``Rule.audit_arches``);
    ``None``: every value."""

    def reported_as(self, audit: int | None) -> bool:
        """Whether the entry takes part for calls reported as ``audit`` (``None``: any)."""
        return audit is None or self.audits is None or audit in self.audits


class ResolvedRange(NamedTuple):
    """A rule's entry for every number ``first..last`` (a :class:`NumberRange`)."""

    first: int
    last: int
    entry: ResolvedRule


@dataclass(frozen=True, eq=False)
class ResolvedArch:
    """The policy on one architecture (ABI).

    ``rules_by_nr`` maps each ``seccomp_data.nr`` that some rule names to the entries for it,
    in policy order; a number of the table that a range covers is there too, with the
    range's entry in its place. ``ranges`` are the rules' number ranges in policy order: they
    decide the numbers in them that are not in ``rules_by_nr`` (see :meth:`entries`).
    ``skipped`` lists ``(rule_index, name)`` for names this architecture does not have.
    ``known_numbers`` are the numbers of the architecture's table.
    """

    arch: Arch
    rules_by_nr: dict[int, tuple[ResolvedRule, ...]]
    skipped: tuple[tuple[int, str], ...]
    known_numbers: frozenset[int]
    warnings: tuple[str, ...] = ()
    ranges: tuple[ResolvedRange, ...] = ()

    def entries(self, nr: int, audit: int | None = None) -> tuple[ResolvedRule, ...]:
        """The entries that decide ``nr``, in policy order (empty: no rule names it); with
        ``audit``, only those of rules that take part for calls reported as that value."""
        found = self.rules_by_nr.get(nr)
        if found is None:
            starts, covering = self._range_index
            found = covering[bisect_right(starts, nr) - 1] if starts else ()
        if audit is None or not found:
            return found
        return tuple(entry for entry in found if entry.reported_as(audit))

    @functools.cached_property
    def _range_index(self) -> tuple[list[int], list[tuple[ResolvedRule, ...]]]:
        """The ranges' entries between each two of their bounds, in policy order: a sweep over
        the bounds, so that looking a number up is a bisection, not a walk of every range."""
        if not self.ranges:
            return [], []
        # bound -> (position of the range in policy order, entry when it starts, None at end)
        events: dict[int, list[tuple[int, ResolvedRule | None]]] = {}
        for position, item in enumerate(self.ranges):
            events.setdefault(item.first, []).append((position, item.entry))
            events.setdefault(item.last + 1, []).append((position, None))
        active: dict[int, ResolvedRule] = {}  # position in policy order -> entry
        starts: list[int] = [0]
        covering: list[tuple[ResolvedRule, ...]] = [()]
        for bound in sorted(events):
            for position, entry in events[bound]:
                if entry is None:
                    del active[position]
                else:
                    active[position] = entry
            starts.append(bound)
            covering.append(tuple(active[key] for key in sorted(active)))
        return starts, covering

    def named(self, nr: int, audit: int | None = None) -> bool:
        """Whether some rule names ``nr`` (itself, by a name, or in a range); with ``audit``,
        some rule taking part for calls reported as that value."""
        return bool(self.entries(nr, audit))

    def range_bounds(self) -> list[int]:
        """Where :meth:`entries` may change outside ``rules_by_nr``: each range's first
        number and the one after its last."""
        return sorted({p for r in self.ranges for p in (r.first, r.last + 1)})


def mirror_condition(multiplexer: str, call: int) -> Equal | MaskedEqual:
    """The test that selects ``call`` on ``socketcall`` or ``ipc`` (first argument, an int)."""
    if multiplexer == "socketcall":
        return Equal(0, call, width=32)
    return MaskedEqual(0, _IPC_CALL_MASK, call, width=32)


def name_is_on(arch: Arch, name: str) -> bool:
    """Whether ``name`` reaches the kernel on ``arch``, directly or through a multiplexer."""
    return name in arch.syscalls or name in arch.socketcall or name in arch.ipc


def rule_label(index: int, rule: Rule) -> str:
    """``rule 3 (policy.yaml:12:5)``, for messages; rules count from 1 for people."""
    where = f" ({rule.location})" if rule.location is not None else ""
    return f"rule {index + 1}{where}"


def _error_at(rule: Rule, message: str, snippet: str | None = None) -> PolicyError:
    location = rule.location
    if location is None:
        return PolicyError(message, snippet=snippet)
    return PolicyError(
        message, source=location.file, line=location.line, column=location.column, snippet=snippet
    )


def unknown_name_message(name: str, arches: Iterable[Arch], all_arches: Iterable[Arch] = ()) -> str:
    """Why ``name`` is refused: on which arches it is missing, and what was perhaps meant."""
    listed = list(arches)
    listed_names = {a.name for a in listed}
    where = ", ".join(a.name for a in listed)
    elsewhere = [a.name for a in all_arches if a.name not in listed_names and name_is_on(a, name)]
    if elsewhere:
        shown = ", ".join(elsewhere[:6]) + (", ..." if len(elsewhere) > 6 else "")
        return (
            f"{name!r} is not a system call on {where} (the policy's architectures); "
            f"it exists on {shown}"
        )
    candidates: set[str] = set()
    for arch in listed:
        candidates.update(arch.syscalls)
        candidates.update(arch.socketcall)
        candidates.update(arch.ipc)
    close = difflib.get_close_matches(name, sorted(candidates), n=3)
    if not close:
        close = difflib.get_close_matches(name, sorted(known_syscall_names()), n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown system call {name!r} on {where}{hint}"


def resolve_for_arch(policy: Policy, arch: Arch) -> ResolvedArch:
    """Resolve ``policy`` for ``arch``; see the module docstring for multiplexers."""
    rules_by_nr: dict[int, list[ResolvedRule]] = {}
    skipped: list[tuple[int, str]] = []
    warnings: list[str] = []

    def add(nr: int, entry: ResolvedRule) -> None:
        # Rules are read in order, so the entries a rule already gave ``nr`` are the last ones:
        # only those can repeat this one (a name and its number in one rule, say).
        entries = rules_by_nr.setdefault(nr, [])
        for existing in reversed(entries):
            if existing.rule_index != entry.rule_index:
                break
            if existing.condition == entry.condition:
                return
        entries.append(entry)

    table = arch.syscalls
    # The multiplexers this arch really has: (name, its number, its call numbers).
    multiplexers = [
        (name, number, calls)
        for name, calls in (("socketcall", arch.socketcall), ("ipc", arch.ipc))
        if calls and (number := table.get(name)) is not None
    ]
    ranges: list[ResolvedRange] = []
    for index, rule in enumerate(policy.all_rules):
        if not rule.applies_to(arch.name):
            continue
        audits = rule.audit_values()
        entry = ResolvedRule(index, rule.action, rule.when, None, audits)
        for syscall in rule.syscalls:
            if isinstance(syscall, int):
                add(syscall, entry)
                continue
            if isinstance(syscall, NumberRange):
                ranges.append(ResolvedRange(syscall.first, syscall.last, entry))
                continue
            direct = table.get(syscall)
            if direct is not None:
                add(direct, entry)
            elif not name_is_on(arch, syscall):
                skipped.append((index, syscall))
                continue
            for multiplexer, multiplexer_nr, calls in multiplexers:
                call = calls.get(syscall)
                if call is None:
                    continue
                if rule.when is not None:
                    if policy.multiplexer_conditions == "error":
                        raise _error_at(
                            rule,
                            f"rule {index + 1} puts argument conditions on {syscall!r}, "
                            f"which on {arch.name} also arrives through {multiplexer}(2); its "
                            f"arguments pass through a pointer that seccomp cannot read, so the "
                            f"conditions cannot follow. Remove {arch.name} from the "
                            f"architectures, or set 'multiplexer_conditions: strict' (an allow "
                            f"rule does not apply to {multiplexer} {syscall} calls, a deny rule "
                            f"applies to all of them) or 'drop' (the rule applies to every "
                            f"{multiplexer} {syscall} call, broader for an allow rule)",
                            snippet=syscall,
                        )
                    if policy.multiplexer_conditions == "strict" and rule.action.kind in _RUNS:
                        warnings.append(
                            f"{arch.name}: {rule_label(index, rule)} does not apply to "
                            f"{multiplexer}({syscall}) calls: its argument conditions cannot be "
                            f"checked through {multiplexer}"
                        )
                        continue
                    warnings.append(
                        f"{arch.name}: {rule_label(index, rule)} applies to every "
                        f"{multiplexer}({syscall}) call: its argument conditions cannot follow "
                        f"through {multiplexer}"
                    )
                add(
                    multiplexer_nr,
                    ResolvedRule(
                        index,
                        rule.action,
                        mirror_condition(multiplexer, call),
                        multiplexer,
                        audits,
                    ),
                )
    known = frozenset(arch.syscalls.values())
    if ranges:
        _merge_ranges(rules_by_nr, ranges, known)
    return ResolvedArch(
        arch=arch,
        rules_by_nr={nr: tuple(entries) for nr, entries in rules_by_nr.items()},
        skipped=tuple(skipped),
        known_numbers=known,
        warnings=tuple(warnings),
        ranges=tuple(ranges),
    )


def _merge_ranges(
    rules_by_nr: dict[int, list[ResolvedRule]],
    ranges: Sequence[ResolvedRange],
    known: frozenset[int],
) -> None:
    """Give each number of ``rules_by_nr`` or of the table that a range covers the range's
    entry, in policy order among its own (entries are in policy order, and each rule's
    entries for one number are consecutive, so a stable sort by rule index keeps it).

    Each range finds its numbers by bisection, and each number's entries are indexed by rule
    once, so the work grows with the entries added, not with ranges times numbers.
    """
    numbers = sorted(set(rules_by_nr).union(known))
    by_rule: dict[int, dict[int, list[Condition | None]]] = {}
    for first, last, entry in ranges:
        for nr in numbers[bisect_left(numbers, first) : bisect_right(numbers, last)]:
            index = by_rule.get(nr)
            if index is None:
                index = by_rule[nr] = {}
                for existing in rules_by_nr.get(nr, ()):
                    index.setdefault(existing.rule_index, []).append(existing.condition)
            same_rule = index.setdefault(entry.rule_index, [])
            if any(c is entry.condition or c == entry.condition for c in same_rule):
                continue
            same_rule.append(entry.condition)
            rules_by_nr.setdefault(nr, []).append(entry)
    for nr in by_rule:
        rules_by_nr[nr].sort(key=lambda e: e.rule_index)


def check_names(policy: Policy, arches: tuple[Arch, ...], all_arches: Iterable[Arch] = ()) -> None:
    """Raise :class:`PolicyError` for the first name that none of ``arches`` has."""
    everywhere = list(all_arches)
    first = arches[0].syscalls if arches else {}
    for index, rule in enumerate(policy.rules):
        if rule.arches is None:
            on = arches
            # the common case, a name of the first architecture's table, costs one lookup
            if all(not isinstance(s, str) or s in first for s in rule.syscalls):
                continue
        else:
            on = tuple(a for a in arches if a.name in rule.arches)
        if not on:
            assert rule.arches is not None
            raise _error_at(
                rule,
                f"rule {index + 1} is limited to {', '.join(rule.arches)}, none of which the "
                f"policy covers ({', '.join(a.name for a in arches)})",
            )
        for syscall in rule.syscalls:
            if isinstance(syscall, str) and not any(name_is_on(a, syscall) for a in on):
                message = unknown_name_message(syscall, on, everywhere)
                raise _error_at(rule, f"rule {index + 1}: {message}", snippet=syscall)
