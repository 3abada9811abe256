"""Write a :class:`Policy` as an OCI runtime-spec or Docker seccomp profile (JSON), exactly.

The profile means what runc and libseccomp make of it (the reader,
:mod:`seccomp_bpf.formats.oci`, documents that), which is not the model's first match:
libseccomp applies a rule without argument conditions before every rule with conditions,
forms a union of the rules with conditions, and settles overlapping rules with different
actions by the shape of its decision tree. So the rules are not copied; each system call's
*decision* is:

1. The profile's default action ``D`` is the policy's ``unknown_syscall_action`` when it has
   one (OCI has no such field: every known system call that decides otherwise is then
   listed), else its default action. A ``newer_syscall_action`` is written only when it is
   ``D``: the newer calls of the tables are then left out (or listed, where a name is a newer
   call on one ABI only and ``D`` is not its decision on another: refused, as every name decided
   differently on two ABIs), and the numbers no table has get ``D`` as the policy says.
2. For every system call name, the decision is a function of the arguments
   (:mod:`seccomp_bpf.policy.diagrams`). It must be the same on every architecture where the
   name is a system call, since an entry names a call for all of them at once; where calls
   see 32-bit arguments (i386, arm...) the reader compares their low words, so there it must
   be the decision of the 64-bit architectures on arguments below 2**32.
3. A decision that is one action for every argument becomes an entry without ``args``
   (names with the same action share one entry). Nothing is written where it is ``D``.
4. Otherwise the rules' conditions are first written as they are (``args`` of one entry must
   all hold; an ``or`` becomes several entries; a ``not`` is pushed down to ``SCMP_CMP_NE``,
   the complementary order, or one masked test per bit; a 32-bit equality is
   ``SCMP_CMP_MASKED_EQ`` with mask ``0xffffffff``). That is kept when it decides exactly as
   the policy and entries with different actions provably exclude each other. Else the
   decision is cut into the cells of its diagram: conjunctions of masked equalities, pairwise
   disjoint, and two cells with different actions pin one bit of one argument to different
   values, so libseccomp's order among them cannot matter.
5. The profile is read back with the reader and compared with the policy, decision by
   decision, on every architecture. Any difference is refused.

Refused, with a message naming the rule and its ``file:line:column``: conditions on the
instruction pointer; numbers that are not a system call name; a name decided differently on
two architectures; conditions on the upper half of an argument when every architecture is
32-bit (libseccomp compares only the low half there); ``trap`` with data; a
``bad_arch_action`` other than ``kill_thread`` or ``kill_process`` (a profile has no such
field: runc leaves libseccomp's, ``SCMP_ACT_KILL``, which kills the thread); the flags
``new_listener`` and ``tsync_esrch`` (no OCI field); architectures libseccomp does not know;
decisions needing more than 1024 entries for one system call; ``multiplexer_conditions:
strict`` where it decides ``socketcall``/``ipc`` otherwise than libseccomp's own mirroring
can (see :meth:`_Writer.check_strict_multiplexers`).

``bad_arch_action: kill_process`` (the model's default, and the built-in policy's) is
written as runc's kill of the thread, and said in ``notes``: a call of another architecture
never runs either way; only the thread's siblings outlive it. Nothing else departs from the
policy.

"Exactly" is as the reader reads a profile. Where libseccomp departs from that reading, and
the reader notes it (it compares only the low 32 bits of an argument *and of the rule's
value* on 32-bit ABIs, x32 included, and keeps comparisons of arguments 1-5 on its
``socketcall``/``ipc`` mirrors), a written profile meets the same departures; values above
0xffffffff in a policy for such architectures are where to look.

runc also adds the machine's own architecture to the listed ones: a profile for
``[aarch64]`` loaded on x86_64 covers x86_64 as well. ``docker=True`` writes Docker's
``archMap`` instead of ``architectures`` (each of the policy's architectures maps to the
others, so the profile covers exactly them on any of them) and a ``comment`` per entry.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, NoReturn

from seccomp_bpf.arch import Arch
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import ConversionError, PolicyError
from seccomp_bpf.formats.oci import load_oci_policy
from seccomp_bpf.policy.actions import KILL_PROCESS, KILL_THREAD, Action
from seccomp_bpf.policy.conditions import (
    All,
    Any,
    BitsClear,
    BitsSet,
    Comparison,
    Condition,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    InRange,
    InSet,
    LessOrEqual,
    LessThan,
    MaskedEqual,
    Not,
    NotEqual,
    NotInSet,
    ValueComparison,
)
from seccomp_bpf.policy.diagrams import (
    IP_TARGET,
    Diagrams,
    DiagramTooLargeError,
    decision_differences,
    syscall_decision,
    unnamed_fallback,
    variable_bit,
    variable_target,
)
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import MULTIPLEXERS
from seccomp_bpf.policy.rules import NumberRange
from seccomp_bpf.policy.values import Within

_ACTION_TOKENS: Final[dict[SeccompAction, str]] = {
    SeccompAction.KILL_PROCESS: "SCMP_ACT_KILL_PROCESS",
    SeccompAction.KILL_THREAD: "SCMP_ACT_KILL",  # every runc version reads it as kill-thread
    SeccompAction.TRAP: "SCMP_ACT_TRAP",
    SeccompAction.ERRNO: "SCMP_ACT_ERRNO",
    SeccompAction.USER_NOTIF: "SCMP_ACT_NOTIFY",
    SeccompAction.TRACE: "SCMP_ACT_TRACE",
    SeccompAction.LOG: "SCMP_ACT_LOG",
    SeccompAction.ALLOW: "SCMP_ACT_ALLOW",
}
_FLAG_TOKENS: Final[dict[str, str]] = {
    "tsync": "SECCOMP_FILTER_FLAG_TSYNC",
    "log": "SECCOMP_FILTER_FLAG_LOG",
    "spec_allow": "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "wait_killable_recv": "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
}
_OPERATORS: Final[dict[type[Comparison], str]] = {
    Equal: "SCMP_CMP_EQ",
    NotEqual: "SCMP_CMP_NE",
    LessThan: "SCMP_CMP_LT",
    LessOrEqual: "SCMP_CMP_LE",
    GreaterThan: "SCMP_CMP_GT",
    GreaterOrEqual: "SCMP_CMP_GE",
    MaskedEqual: "SCMP_CMP_MASKED_EQ",
}
_MASK32: Final = 0xFFFFFFFF
_MASK64: Final = (1 << 64) - 1
_MAX_ALTERNATIVES: Final = 256  # conditions written as they are: at most this many entries
_MAX_CELLS: Final = 1024  # cells of one system call's decision
_ENTRY_PATH: Final = re.compile(r"syscalls\[(\d+)\]")


def _to_json(item: Comparison) -> dict[str, object]:
    """One element of an entry's ``args``: a 64-bit comparison that OCI has (``masked_eq``
    writes the mask as ``value`` and the datum as ``valueTwo``)."""
    if isinstance(item, MaskedEqual):
        return {
            "index": item.arg,
            "value": item.mask,
            "valueTwo": item.value,
            "op": _OPERATORS[MaskedEqual],
        }
    assert isinstance(item, ValueComparison)
    return {"index": item.arg, "value": item.value, "op": _OPERATORS[type(item)]}


Conjunction = tuple[Comparison, ...]
"""An entry's ``args``: OCI comparisons (64-bit, of arguments), at most one per argument;
``()`` is no condition."""


@dataclass
class _Entry:
    names: list[str]
    action: Action
    args: Conjunction
    rules: set[int] = field(default_factory=set)


def action_token(action: Action) -> tuple[str, int | None]:
    """``(SCMP_ACT_*, errnoRet)``; ``errnoRet`` for ERRNO and TRACE (written even when it is
    1, the runtime's default, so that the profile says what it means)."""
    token = _ACTION_TOKENS[action.kind]
    if action.kind in (SeccompAction.ERRNO, SeccompAction.TRACE):
        return token, action.data
    return token, None


def _conjoin(first: Conjunction, second: Conjunction) -> Conjunction | bool | None:
    """Both conjunctions as one (one comparison per argument); ``False`` when they cannot
    both hold, ``None`` when one argument would need two comparisons."""
    merged: dict[int, Comparison] = {_index(c): c for c in first}
    for item in second:
        existing = merged.get(_index(item))
        if existing is None or existing == item:
            merged[_index(item)] = item
            continue
        pinned_a, pinned_b = _pinned(existing, _MASK64), _pinned(item, _MASK64)
        if pinned_a is None or pinned_b is None:
            return None
        common = pinned_a[0] & pinned_b[0]
        if pinned_a[1] & common != pinned_b[1] & common:
            return False
        mask = pinned_a[0] | pinned_b[0]
        value = pinned_a[1] | pinned_b[1]
        index = _index(item)
        merged[index] = (
            Equal(index, value) if mask == _MASK64 else MaskedEqual(index, mask, value)
        )
    return tuple(sorted(merged.values(), key=_index))


def _index(item: Comparison) -> int:
    assert item.arg is not None
    return item.arg


def _pinned(item: Comparison, width_mask: int) -> tuple[int, int] | None:
    """``(mask, value)`` when the comparison fixes those bits, as the reader reads it."""
    if isinstance(item, Equal):
        return width_mask, item.value & width_mask
    if isinstance(item, MaskedEqual):
        bits = item.mask & width_mask
        return bits, item.value & bits
    return None


def _alternatives(condition: Condition, negated: bool = False) -> list[Conjunction] | None:
    """``condition`` (or its negation) as an OR of conjunctions of OCI comparisons, or
    ``None`` when it is not expressible that way within :data:`_MAX_ALTERNATIVES`."""
    if isinstance(condition, Not):
        return _alternatives(condition.condition, not negated)
    if isinstance(condition, Comparison):
        return _comparison_alternatives(condition, negated)
    conjunctive = isinstance(condition, All) != negated
    parts = [_alternatives(part, negated) for part in condition.conditions]
    if any(part is None for part in parts):
        return None
    if not conjunctive:
        result = [alt for part in parts if part is not None for alt in part]
        return result if len(result) <= _MAX_ALTERNATIVES else None
    product: list[Conjunction] = [()]
    for part in parts:
        assert part is not None
        next_product: list[Conjunction] = []
        for left in product:
            for right in part:
                joined = _conjoin(left, right)
                if joined is None:
                    return None
                if joined is not False:
                    assert isinstance(joined, tuple)
                    next_product.append(joined)
        if len(next_product) > _MAX_ALTERNATIVES:
            return None
        product = next_product
    return product


def _bitwise_differs(index: int, mask: int, value: int) -> list[Conjunction]:
    """``(arg & mask) != value`` as one masked test per bit of ``mask``."""
    return [
        (MaskedEqual(index, 1 << bit, (value ^ (1 << bit)) & (1 << bit)),)
        for bit in range(64)
        if mask >> bit & 1
    ]


def _comparison_alternatives(cmp: Comparison, negated: bool) -> list[Conjunction] | None:
    if cmp.arg is None:
        return None
    index = cmp.arg
    if cmp.width == 32:
        if isinstance(cmp, (Equal, NotEqual, InSet, NotInSet)):
            values = cmp.values if isinstance(cmp, (InSet, NotInSet)) else (cmp.value,)
            equal = isinstance(cmp, (Equal, InSet))
            if equal != negated:
                return [(MaskedEqual(index, _MASK32, v),) for v in values]
            if len(values) != 1:
                return None
            return _bitwise_differs(index, _MASK32, values[0])
        if not isinstance(cmp, (MaskedEqual, BitsSet, BitsClear)):
            return None  # ordered 32-bit comparisons: the decision's cells write them
    if isinstance(cmp, ValueComparison):
        chosen = cmp.negation() if negated else cmp
        assert chosen is not None
        return [(chosen,)]
    if isinstance(cmp, (MaskedEqual, BitsSet, BitsClear)):
        constraint = cmp.constraint()
        assert not isinstance(constraint, Within)
        if negated:
            return _bitwise_differs(index, constraint.mask, constraint.value)
        return [(MaskedEqual(index, constraint.mask, constraint.value),)]
    if isinstance(cmp, (InSet, NotInSet)):
        if isinstance(cmp, InSet) != negated:
            return [(Equal(index, v),) for v in cmp.values]
        if len(cmp.values) != 1:
            return None
        return [(NotEqual(index, cmp.values[0]),)]
    assert isinstance(cmp, InRange)
    low, high = cmp.low, cmp.high
    if negated:
        outside: list[Conjunction] = []
        if low > 0:
            outside.append((LessThan(index, low),))
        if high < _MASK64:
            outside.append((GreaterThan(index, high),))
        return outside
    if low == high:
        return [(Equal(index, low),)]
    if low == 0:
        return [(LessOrEqual(index, high),)]
    if high == _MASK64:
        return [(GreaterOrEqual(index, low),)]
    return None


class _Writer:
    def __init__(self, policy: Policy, docker: bool) -> None:
        self.policy = policy
        self.docker = docker
        self.notes: list[str] = []
        self.diagrams = Diagrams()
        self.arches: tuple[Arch, ...] = ()
        self.default = unnamed_fallback(policy)
        self.narrow = False
        self.width_mask = _MASK64

    # --- refusals ---------------------------------------------------------------------------

    def refuse(self, rules: Iterable[int], message: str) -> NoReturn:
        indexes = sorted(set(rules))
        policy = self.policy
        if not indexes:
            raise ConversionError(f"cannot be written as an OCI profile: {message}")
        first = policy.all_rules[indexes[0]]
        labels = ", ".join(policy.rule_label(i) for i in indexes[:4])
        if len(indexes) > 4:
            labels += f" and {len(indexes) - 4} more"
        text = f"{labels}: cannot be written as an OCI profile: {message}"
        location = first.location
        if location is None:
            raise ConversionError(text)
        raise ConversionError(
            text, source=location.file, line=location.line, column=location.column
        )

    # --- the policy as a whole ----------------------------------------------------------------

    def check_policy(self) -> None:
        policy = self.policy
        policy.validate()
        if policy.sandbox is not None:
            raise policy.sandbox.refusal(
                "cannot be written as an OCI profile: "
                "the policy has a sandbox section (filesystem and network grants, "
                "capabilities, namespaces), which an OCI seccomp profile cannot hold: a "
                "runtime takes those from the rest of its configuration; remove the section "
                "to export the filter alone"
            )
        newer = policy.newer_syscall_action
        unnamed = policy.unknown_syscall_action or policy.default_action
        if newer is not None and newer != unnamed:
            # A profile gives its default action to every number it does not name, newer
            # calls and numbers no table knows alike; its names can list the newer calls of
            # the tables, but not the numbers above them.
            self.refuse(
                (),
                f"newer_syscall_action is {newer.describe()}, but a profile gives the numbers "
                f"it cannot name the one action it gives unknown numbers, "
                f"{unnamed.describe()} here (runc's own answer to newer calls is ENOSYS); "
                f"make unknown_syscall_action {newer.describe()} too, or remove the setting",
            )
        self.arches = policy.resolved_arches()
        for arch in self.arches:
            if arch.libseccomp_name is None:
                self.refuse((), f"libseccomp has no architecture {arch.name}")
        self.narrow = all(arch.bits == 32 for arch in self.arches)
        self.width_mask = _MASK32 if self.narrow else _MASK64
        if policy.bad_arch_action == KILL_PROCESS:
            self.notes.append(
                "bad_arch_action kill_process: a profile has no such field, and runc kills "
                "the calling thread (libseccomp's SCMP_ACT_KILL) for a call of an "
                "architecture the profile does not list; the call never runs either way"
            )
        elif policy.bad_arch_action != KILL_THREAD:
            self.refuse(
                (),
                f"bad_arch_action is {policy.bad_arch_action.describe()}, but a profile has no "
                "such field and runc keeps libseccomp's, which kills the thread "
                "(SCMP_ACT_KILL); write 'bad_arch_action: kill_thread' (or kill_process) to "
                "export it",
            )
        for flag in policy.flags:
            if flag not in _FLAG_TOKENS:
                self.refuse(
                    (),
                    f"the flag {flag} has no OCI equivalent (known: {', '.join(_FLAG_TOKENS)})",
                )
        for what, action in (
            ("default_action", policy.default_action),
            ("unknown_syscall_action", policy.unknown_syscall_action),
        ):
            if action is not None and action.kind is SeccompAction.TRAP and action.data:
                self.refuse((), f"{what} {action}: OCI's SCMP_ACT_TRAP carries no data")
        for index, rule in enumerate(policy.rules):
            if rule.action.kind is SeccompAction.TRAP and rule.action.data:
                self.refuse((index,), f"{rule.action}: OCI's SCMP_ACT_TRAP carries no data")
            for item in rule.syscalls:
                if isinstance(item, NumberRange):
                    self.refuse((index,), f"a profile names system calls, not numbers {item}")
            if rule.audit_arches is not None:
                self.refuse((index,), "a profile cannot limit a rule to some AUDIT_ARCH values")
        if policy.multiplexer_conditions == "strict":
            self.check_strict_multiplexers()

    def check_strict_multiplexers(self) -> None:
        """libseccomp mirrors a rule on a socket or IPC call onto socketcall/ipc by itself,
        without its argument conditions: what ``drop`` says. Where ``strict`` keeps an allow
        or log rule off a multiplexer, a profile still decides the multiplexer as ``strict``
        does when the two modes decide it alike, or when ``strict`` gives the whole
        multiplexer one action other than the profile's default: that is written as an entry
        without conditions, which libseccomp applies before every rule with conditions,
        mirrored ones included (``db_rule_add``; the writer puts such entries first, so the
        mirrors that follow are redundant rather than conflicting). Otherwise no profile can
        say it."""
        loose = dataclasses.replace(self.policy, multiplexer_conditions="drop")
        diagrams = self.diagrams
        for arch in self.arches:
            kept = self.policy.resolve(arch).rules_by_nr
            for multiplexer in MULTIPLEXERS:
                nr = arch.syscalls.get(multiplexer)
                if nr is None:
                    continue
                left_off = {
                    entry.rule_index
                    for entry in loose.resolve(arch).rules_by_nr.get(nr, ())
                    if entry.via is not None and entry not in kept.get(nr, ())
                }
                if not left_off:
                    continue
                strict = syscall_decision(diagrams, self.policy, arch, nr)
                if strict == syscall_decision(diagrams, loose, arch, nr):
                    continue
                if diagrams.is_leaf(strict) and diagrams.value(strict) != self.default:
                    continue
                self.refuse(
                    left_off,
                    f"multiplexer_conditions: strict keeps these rules off {multiplexer} on "
                    f"{arch.name}, but libseccomp mirrors socket and IPC rules onto "
                    f"{multiplexer} itself, without their argument conditions, and a profile "
                    f"can override the mirrors only with one action for the whole of "
                    f"{multiplexer}; deny {multiplexer} by name, write "
                    f"'multiplexer_conditions: drop', or leave {arch.name} out to export",
                )

    # --- decisions per name -------------------------------------------------------------------

    def decisions(self) -> tuple[dict[str, int], dict[str, set[int]]]:
        """The decision of every name that must be written, and the rules behind it."""
        policy = self.policy
        diagrams = self.diagrams
        default_leaf = diagrams.leaf(self.default)
        needed: dict[str, set[int]] = {}
        for arch in self.arches:
            resolved = policy.resolve(arch)
            numbers = set(resolved.rules_by_nr)
            if policy.unknown_syscall_action is not None:
                numbers |= resolved.known_numbers
            for nr in sorted(numbers):
                decision = syscall_decision(diagrams, policy, arch, nr)
                rules = {entry.rule_index for entry in resolved.rules_by_nr.get(nr, ())}
                if decision == default_leaf:
                    continue
                name = arch.syscall_name(nr)
                if name is None:
                    self.refuse(
                        rules,
                        f"system call number {nr} has no name on {arch.name}, and a profile "
                        "can only name system calls",
                    )
                needed.setdefault(name, set()).update(rules)
        result: dict[str, int] = {}
        for name, rules in needed.items():
            result[name] = self.common_decision(name, rules)
        return result, needed

    def common_decision(self, name: str, rules: set[int]) -> int:
        """The one decision the entries for ``name`` must make: as the policy decides on
        every architecture where ``name`` is a system call. Where calls see 32-bit arguments
        the reader (like the model) compares their low words, so there the policy's decision
        must be that of the 64-bit architectures on arguments below 2**32."""
        policy = self.policy
        diagrams = self.diagrams
        arches = [arch for arch in self.arches if name in arch.syscalls]
        for arch in arches:
            entries = policy.resolve(arch).rules_by_nr.get(arch.syscalls[name], ())
            rules.update(entry.rule_index for entry in entries)
        wide = [arch for arch in arches if arch.argument_bits == 64]
        reference = wide[0] if wide else arches[0]
        common = syscall_decision(
            diagrams, policy, reference, reference.syscalls[name], whole_words=True
        )
        if not wide:
            common = diagrams.low_words(common)
        for arch in arches:
            mine = syscall_decision(diagrams, policy, arch, arch.syscalls[name])
            expected = common if arch.argument_bits == 64 else diagrams.low_words(common)
            if mine != expected:
                numbers = sorted(
                    {s for i in rules for s in policy.all_rules[i].syscalls if isinstance(s, int)}
                )
                limited = sorted(
                    i + 1
                    for i in rules
                    if i < len(policy.rules) and policy.rules[i].arches is not None
                )
                hint = f" (the rules name the numbers {numbers})" if numbers else ""
                if limited:
                    hint += f" (rules {limited} are limited to some architectures)"
                self.refuse(
                    rules,
                    f"{name!r} is decided differently on {reference.name} and {arch.name}"
                    f"{hint}, but a profile's entry names it for every architecture",
                )
        return common

    # --- entries ------------------------------------------------------------------------------

    def check_targets(self, name: str, decision: int, rules: set[int]) -> None:
        variables = self.diagrams.variables(decision)
        targets = {variable_target(v) for v in variables}
        if IP_TARGET in targets:
            ip_rules = {i for i in rules if _mentions_ip(self.policy.all_rules[i].when)}
            self.refuse(
                ip_rules or rules,
                f"{name!r}: OCI profiles cannot compare the instruction pointer",
            )
        if self.narrow and any(variable_bit(v) >= 32 for v in variables):
            self.refuse(
                rules,
                f"{name!r}: every architecture of the policy is 32-bit, where runc's "
                "libseccomp compares only the low 32 bits of an argument, but the rule's "
                "conditions depend on the upper half; compare with width: 32 to export it",
            )

    def written_as_is(self, name: str, decision: int) -> list[tuple[Action, Conjunction]] | None:
        """The rules' own conditions as entries, if they decide exactly as the policy."""
        arch = next(a for a in self.arches if name in a.syscalls)
        entries = self.policy.resolve(arch).rules_by_nr.get(arch.syscalls[name], ())
        candidate: list[tuple[Action, Conjunction]] = []
        for entry in entries:
            if entry.action != self.default:
                if entry.condition is None:
                    candidate.append((entry.action, ()))
                else:
                    alternatives = _alternatives(entry.condition)
                    if alternatives is None:
                        return None
                    candidate.extend((entry.action, alt) for alt in alternatives)
            if entry.condition is None:
                break
        if len(candidate) > _MAX_ALTERNATIVES or not self.exclusive(candidate):
            return None
        if self.read_back(candidate) != decision:
            return None
        return candidate

    def exclusive(self, candidate: Sequence[tuple[Action, Conjunction]]) -> bool:
        """The reader's test: conditional entries with different actions pin some bit of one
        argument to different values."""
        conditional = [(a, c) for a, c in candidate if c]
        for position, (action_a, conj_a) in enumerate(conditional):
            for action_b, conj_b in conditional[position + 1 :]:
                if action_a == action_b:
                    continue
                if not any(
                    self.conflict(x, y) for x in conj_a for y in conj_b if x.arg == y.arg
                ):
                    return False
        return True

    def conflict(self, first: Comparison, second: Comparison) -> bool:
        a, b = _pinned(first, self.width_mask), _pinned(second, self.width_mask)
        if a is None or b is None:
            return False
        common = a[0] & b[0]
        return a[1] & common != b[1] & common

    def reader_condition(
        self, conjunction: Conjunction, narrow: bool | None = None
    ) -> Condition | None:
        """A conjunction as the reader reads it (32-bit when every architecture is), or as
        libseccomp reads it on a 32-bit ABI (``narrow``: the low 32 bits of the argument,
        of the mask and of the value)."""
        narrow = self.narrow if narrow is None else narrow
        width = 32 if narrow else 64
        mask = _MASK32 if narrow else _MASK64
        parts: list[Condition] = []
        for item in conjunction:
            if isinstance(item, MaskedEqual):
                bits = item.mask & mask
                if bits:
                    parts.append(MaskedEqual(item.arg, bits, item.value & bits, width=width))
            else:
                assert isinstance(item, ValueComparison)
                parts.append(type(item)(item.arg, item.value & mask, width=width))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def read_back(
        self, candidate: Sequence[tuple[Action, Conjunction]], narrow: bool | None = None
    ) -> int:
        """What the reader makes of these entries for one system call: entries without
        conditions first, then the others in order, first match, else the default."""
        conditions = [(self.reader_condition(c, narrow), a) for a, c in candidate]
        ordered = [e for e in conditions if e[0] is None] + [e for e in conditions if e[0]]
        return self.diagrams.first_match(ordered, self.default)

    def cells(self, name: str, decision: int, rules: set[int]) -> list[tuple[Action, Conjunction]]:
        try:
            cells = list(self.diagrams.cells(decision, limit=_MAX_CELLS, skip=self.default))
        except DiagramTooLargeError:
            self.refuse(
                rules,
                f"{name!r} would need more than {_MAX_CELLS} entries to be decided exactly",
            )
        result: list[tuple[Action, Conjunction]] = []
        for action, cell in cells:
            assert isinstance(action, Action)
            conjunction = tuple(
                Equal(target, datum) if mask == self.width_mask
                else MaskedEqual(target, mask, datum)
                for target, mask, datum in cell.tests
            )  # fmt: skip
            result.append((action, conjunction))
        return result

    def entries(self) -> list[_Entry]:
        decisions, origins = self.decisions()

        def order(name: str) -> tuple[int, int, str]:
            rules = origins.get(name)
            first = min(rules) if rules else len(self.policy.rules)
            return (0 if name in MULTIPLEXERS else 1, first, name)

        unconditional: dict[Action, _Entry] = {}
        multiplexed: list[_Entry] = []
        conditional: list[_Entry] = []
        for name in sorted(decisions, key=order):
            decision = decisions[name]
            rules = origins[name]
            if self.diagrams.is_leaf(decision):
                action = self.diagrams.value(decision)
                assert isinstance(action, Action)
                entry = unconditional.setdefault(action, _Entry([], action, ()))
                entry.names.append(name)
                entry.rules.update(rules)
                continue
            self.check_targets(name, decision, rules)
            written = self.written_as_is(name, decision)
            if written is None:
                written = self.cells(name, decision, rules)
            self.check_low_words(name, decision, written, rules)
            into = multiplexed if name in MULTIPLEXERS else conditional
            into.extend(_Entry([name], action, args, set(rules)) for action, args in written)
        return [*unconditional.values(), *multiplexed, *conditional]

    def check_low_words(
        self,
        name: str,
        decision: int,
        written: Sequence[tuple[Action, Conjunction]],
        rules: set[int],
    ) -> None:
        """On x32 and MIPS n32 a call's registers are 64-bit (the model compares all of an
        argument), but libseccomp compares only the low 32 bits of the argument, of the
        mask and of the value there (the reader notes it). That changes nothing for the
        calls whose arguments fit in 32 bits as long as every written comparison means
        the same of them; a comparison of upper bits alone (a cell for values from 2**32)
        would match them all. The entries read libseccomp's way must decide those calls as
        the policy does."""
        if self.narrow:
            return  # the reader itself reads them so
        truncating = [
            arch
            for arch in self.arches
            if arch.bits == 32 and arch.argument_bits == 64 and name in arch.syscalls
        ]
        if not truncating:
            return
        if self.read_back(written, narrow=True) != self.diagrams.low_words(decision):
            where = truncating[0].name
            self.refuse(
                rules,
                f"{name!r}: libseccomp compares only the low 32 bits of arguments and values "
                f"on {where}, and would read the entries this needs otherwise than the "
                f"policy there, even for arguments below 2**32; compare with width: 32 (an "
                f"int argument) or leave {where} out to export",
            )

    # --- the profile --------------------------------------------------------------------------

    def profile(self, entries: Sequence[_Entry]) -> dict[str, object]:
        policy = self.policy
        token, errno_ret = action_token(self.default)
        profile: dict[str, object] = {"defaultAction": token}
        if errno_ret is not None:
            profile["defaultErrnoRet"] = errno_ret
        tokens = [arch.scmp_token for arch in self.arches]
        if self.docker:
            profile["archMap"] = [
                {"architecture": main, "subArchitectures": [t for t in tokens if t != main]}
                for main in tokens
            ]
        else:
            profile["architectures"] = tokens
        if policy.flags:
            profile["flags"] = [_FLAG_TOKENS[flag] for flag in policy.flags]
        syscalls: list[dict[str, object]] = []
        for entry in entries:
            token, errno_ret = action_token(entry.action)
            item: dict[str, object] = {"names": entry.names, "action": token}
            if errno_ret is not None:
                item["errnoRet"] = errno_ret
            if entry.args:
                item["args"] = [_to_json(arg) for arg in entry.args]
            if self.docker and entry.rules:
                item["comment"] = "from " + ", ".join(
                    policy.rule_label(i) for i in sorted(entry.rules)
                )
            syscalls.append(item)
        profile["syscalls"] = syscalls
        return profile

    def verify(self, profile: dict[str, object], entries: Sequence[_Entry]) -> None:
        """Read the profile back and compare every decision with the policy's."""
        text = json.dumps(profile)
        try:
            theirs = load_oci_policy(text, source="<profile>", arch=self.arches[0].name)
        except PolicyError as error:
            match = _ENTRY_PATH.search(error.message)
            rules = entries[int(match.group(1))].rules if match else set()
            self.refuse(rules, f"runc and libseccomp would not read it so: {error.message}")
        differences = decision_differences(self.diagrams, self.policy, theirs, self.arches)
        if differences:
            difference = differences[0]
            arch, nr = difference.arch, difference.nr
            if nr is None:
                self.refuse((), f"numbers no table knows would be decided otherwise on {arch}")
            rules = {e.rule_index for e in self.policy.resolve(arch).rules_by_nr.get(nr, ())}
            name = arch.syscall_name(nr) or str(nr)
            self.refuse(
                rules,
                f"on {arch.name}, {name} ({nr}) would not be decided as the policy decides "
                "it (libseccomp mirrors socket and IPC calls onto socketcall/ipc by itself, "
                "and an entry's action applies to every architecture)",
            )

    def write(self) -> dict[str, object]:
        self.check_policy()
        entries = self.entries()
        profile = self.profile(entries)
        self.verify(profile, entries)
        return profile


def _mentions_ip(condition: Condition | None) -> bool:
    if condition is None:
        return False
    if isinstance(condition, Comparison):
        return condition.arg is None
    if isinstance(condition, Not):
        return _mentions_ip(condition.condition)
    assert isinstance(condition, (All, Any))
    return any(_mentions_ip(part) for part in condition.conditions)


def to_oci(
    policy: Policy, *, docker: bool = False, notes: list[str] | None = None
) -> dict[str, object]:
    """The policy as an OCI (``docker=False``) or Docker profile, as a JSON-ready dict;
    raises :class:`~seccomp_bpf.errors.ConversionError` where no profile means the same.
    What the runtime does that the policy says otherwise (see the module docstring) is
    appended to ``notes``."""
    writer = _Writer(policy, docker)
    profile = writer.write()
    if notes is not None:
        notes.extend(writer.notes)
    return profile


def to_oci_json(
    policy: Policy, *, docker: bool = False, notes: list[str] | None = None
) -> str:
    """:func:`to_oci` as JSON text (two-space indentation, a final newline)."""
    return json.dumps(to_oci(policy, docker=docker, notes=notes), indent=2) + "\n"
