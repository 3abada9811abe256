"""A short description of a policy for people: per ABI, what is allowed, what is denied and
how, what unknown numbers get, and what other architectures (x32, i386...) get.

"Allowed" means ``ALLOW`` or ``LOG`` (the call runs). A call whose decision depends on its
arguments is counted where its rules can allow it and listed with its conditions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch import Arch, all_arches, dispatched_arch
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.explain.behaviour import abi_ranges
from seccomp_bpf.policy import Action, NumberRange, Policy
from seccomp_bpf.policy.resolution import ResolvedRule

_SHOWN: Final = 8  # names listed before "and N more"
_CONDITION_TEXT: Final = 120  # characters of a condition shown
ALLOWING: Final = frozenset({SeccompAction.ALLOW, SeccompAction.LOG})


def allows(action: Action) -> bool:
    """Whether the call runs (``ALLOW`` or ``LOG``)."""
    return action.kind in ALLOWING


def compress(names: Sequence[str], shown: int = _SHOWN) -> str:
    """``a, b, c and 12 more``."""
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" and {len(names) - shown} more"


@dataclass(frozen=True)
class ConditionalCall:
    """Calls decided by their arguments, alike: the rules that name them, in order, then
    ``otherwise``."""

    names: tuple[str, ...]
    rules: tuple[tuple[str, Action], ...]  # (condition text, action)
    otherwise: Action

    def describe(self) -> str:
        parts = [f"{action.describe()} if {_clip(condition)}" for condition, action in self.rules]
        return (
            f"{compress(self.names)}: "
            + "; ".join(parts)
            + f"; otherwise {self.otherwise.describe()}"
        )


def _clip(text: str, limit: int = _CONDITION_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class AbiSummary:
    """One ABI of a policy, described."""

    arch: str
    allowed: tuple[str, ...]
    """Calls always allowed."""
    conditional: tuple[ConditionalCall, ...]
    """Calls whose arguments decide."""
    denied: tuple[tuple[Action, tuple[str, ...]], ...]
    """Calls always refused, per action."""
    default: Action
    """What the table's other calls get (none of them named by a rule)."""
    unknown: Action
    """What numbers that the table does not name get."""
    raw_numbers: tuple[tuple[int | NumberRange, Action | None], ...]
    """Numbers outside the table that rules name, and the rules' ranges of numbers, with
    their action (None: by argument)."""
    reported_otherwise: tuple[str, ...] = ()
    """Rules for this ABI's calls reported under other ABIs' AUDIT_ARCH values, described."""

    @property
    def allowed_count(self) -> int:
        return len(self.allowed) + sum(
            len(call.names)
            for call in self.conditional
            if any(allows(a) for _, a in call.rules) or allows(call.otherwise)
        )

    def lines(self) -> list[str]:
        conditional = [name for call in self.conditional for name in call.names]
        head = f"{self.arch}: {self.allowed_count} system calls allowed"
        if conditional:
            head += f", {len(conditional)} with argument conditions: {compress(conditional)}"
        lines = [head]
        if self.allowed:
            lines.append(f"  allowed: {compress(self.allowed)}")
        for action, names in self.denied:
            lines.append(f"  {action.describe()}: {len(names)}: {compress(names)}")
        for call in self.conditional:
            lines.append(f"  {call.describe()}")
        lines.append(f"  every other system call: {self.default.describe()}")
        if self.raw_numbers:
            shown = [
                f"{nr}: {action.describe() if action else 'by argument'}"
                for nr, action in self.raw_numbers
            ]
            lines.append(f"  rules on numbers: {compress(shown)}")
        lines.append(f"  numbers not in the table: {self.unknown.describe()}")
        lines += [f"  calls reported otherwise: {rule}" for rule in self.reported_otherwise]
        return lines


@dataclass(frozen=True)
class PolicySummary:
    abis: tuple[AbiSummary, ...]
    bad_arch_action: Action
    unlisted_compat: tuple[str, ...]
    """ABIs whose calls reach the listed ABIs' kernels (x32, i386 on x86-64...) but that the
    policy does not list: they get ``bad_arch_action``."""
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        lines: list[str] = []
        for abi in self.abis:
            lines += abi.lines()
        bad = self.bad_arch_action.describe()
        if self.unlisted_compat:
            lines.append(f"{', '.join(self.unlisted_compat)}: every call gets {bad}")
        lines.append(f"other architectures: every call gets {bad}")
        lines += [f"note: {note}" for note in self.notes]
        return lines

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"


def _decision(
    entries: Sequence[ResolvedRule], default: Action
) -> tuple[Action | None, list[tuple[str, Action]]]:
    """(the action when the arguments do not matter, else None; the conditional rules)."""
    rules: list[tuple[str, Action]] = []
    for entry in entries:
        if entry.condition is None:
            if not rules or all(action == entry.action for _, action in rules):
                return entry.action, []
            return None, [*rules, ("always", entry.action)]
        rules.append((str(entry.condition), entry.action))
    if all(action == default for _, action in rules):
        return default, []
    return None, rules


def summarize_abi(policy: Policy, arch: Arch) -> AbiSummary:
    resolved = policy.resolve(arch)
    default = policy.default_action
    unknown = policy.unknown_syscall_action or default
    allowed: list[str] = []
    conditional: dict[tuple[tuple[tuple[str, Action], ...], Action], list[str]] = {}
    denied: dict[Action, list[str]] = {}
    table = sorted(arch.syscalls.items(), key=lambda item: (item[1], item[0]))
    seen: set[int] = set()
    for name, nr in table:
        if nr in seen:
            continue
        seen.add(nr)
        name = arch.syscall_name(nr) or name
        entries = resolved.entries(nr, arch.audit_arch)
        action, rules = _decision(entries, default)
        if action is None:
            otherwise = default
            if rules and rules[-1][0] == "always":
                otherwise = rules.pop()[1]
            conditional.setdefault((tuple(rules), otherwise), []).append(name)
        elif not entries:
            continue  # the default; counted apart
        elif allows(action):
            allowed.append(name)
        else:
            denied.setdefault(action, []).append(name)
    if allows(default):
        allowed += [
            name
            for name, nr in table
            if nr not in resolved.rules_by_nr and arch.syscall_name(nr) == name
        ]
    raw: list[tuple[int | NumberRange, Action | None]] = []
    for nr in sorted(resolved.rules_by_nr):
        if nr in resolved.known_numbers or dispatched_arch(arch.audit_arch, nr) != arch:
            continue  # a name's number, or a raw number that another ABI's table runs
        entries = resolved.entries(nr, arch.audit_arch)
        if entries:
            raw.append((nr, _decision(entries, default)[0]))
    for first, last, entry in resolved.ranges:
        if not entry.reported_as(arch.audit_arch):
            continue
        if not any(
            low <= last and first <= high and abi.name == arch.name
            for low, high, abi in abi_ranges(arch.audit_arch)
        ):
            continue  # numbers that this ABI's AUDIT_ARCH value runs as another ABI's
        action, _ = _decision((entry,), default)
        raw.append((NumberRange(first, last), action))
    return AbiSummary(
        arch=arch.name,
        allowed=tuple(allowed),
        conditional=tuple(
            ConditionalCall(tuple(names), rules, otherwise)
            for (rules, otherwise), names in conditional.items()
        ),
        denied=tuple(
            (action, tuple(names))
            for action, names in sorted(denied.items(), key=lambda item: -len(item[1]))
        ),
        default=default,
        unknown=unknown,
        raw_numbers=tuple(raw),
        reported_otherwise=tuple(
            rule.describe()
            for rule in policy.rules
            if rule.applies_to(arch.name)
            and (audits := rule.audit_values()) is not None
            and arch.audit_arch not in audits
        ),
    )


def summarize(policy: Policy, *, with_notes: bool = True) -> PolicySummary:
    """Describe ``policy`` per listed ABI (see the module docstring); ``with_notes`` adds
    what the policy's check says (names skipped per ABI, multiplexer warnings)."""
    arches = policy.resolved_arches()
    listed = {arch.name for arch in arches}
    compat: list[str] = []
    known = {arch.name for arch in all_arches()}
    for arch in arches:
        for name in arch.compat:
            if name not in listed and name in known and name not in compat:
                compat.append(name)
    notes: list[str] = []
    if with_notes:
        for arch in arches:
            skipped = sorted({name for _, name in policy.resolve(arch).skipped})
            if skipped:
                notes.append(
                    f"{arch.name}: {len(skipped)} names of the rules are not system calls here "
                    f"(skipped): {compress(skipped)}"
                )
            notes += policy.resolve(arch).warnings
        notes += policy.notes
    return PolicySummary(
        abis=tuple(summarize_abi(policy, arch) for arch in arches),
        bad_arch_action=policy.bad_arch_action,
        unlisted_compat=tuple(compat),
        notes=tuple(notes),
    )
