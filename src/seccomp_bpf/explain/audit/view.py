"""A policy seen from one ABI (:class:`ArchView`): for each system call number, the actions
it gets and the region of arguments where it gets each, decided by the condition engine
(:func:`~seccomp_bpf.policy.semantics.satisfiable`: exact, within a budget); and what the
checks call allowing, denying and ENOSYS."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from seccomp_bpf.arch import Arch
from seccomp_bpf.arch.constants import resolve_constant
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.conditions import TRUE, All, Any, Condition, Not
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import ResolvedRule
from seccomp_bpf.policy.semantics import satisfiable


def conjunction(*conditions: Condition | None) -> Condition:
    parts = tuple(c for c in conditions if c is not None)
    return parts[0] if len(parts) == 1 else All(parts)


def is_permissive(action: Action) -> bool:
    """The call runs: ALLOW, or LOG (which allows after logging)."""
    return action.kind in (SeccompAction.ALLOW, SeccompAction.LOG)


def is_denial(action: Action) -> bool:
    """The call does not run and nothing else decides: an errno, a signal or a kill.
    TRACE and USER_NOTIF leave the decision to a tracer or a supervisor."""
    return action.kind in (
        SeccompAction.ERRNO,
        SeccompAction.TRAP,
        SeccompAction.KILL_THREAD,
        SeccompAction.KILL_PROCESS,
    )


def enosys_number(arch: Arch) -> int:
    value = resolve_constant("ENOSYS", arch)
    return value if value is not None else 38  # <asm-generic/errno.h>


def enosys_text(arch: Arch) -> str:
    """How to write ENOSYS in a policy for ``arch``: by name where the generic number is
    right, as the number where the ABI has its own (89 on MIPS)."""
    number = enosys_number(arch)
    return "errno(ENOSYS)" if number == resolve_constant("ENOSYS") else f"errno({number})"


def describe_on(action: Action, arch: Arch) -> str:
    """``action.describe()``, but an errno whose generic name is wrong on ``arch`` (MIPS,
    PA-RISC, Alpha and SPARC number errnos their own way) as a number with that said."""
    text = action.describe()
    if action.kind is not SeccompAction.ERRNO or text == f"errno({action.data})":
        return text
    name = text[len("errno(") : -1]
    if resolve_constant(name, arch) == action.data:
        return text
    return f"errno({action.data}), which is not {name} on {arch.name}"


def is_enosys(action: Action, arch: Arch) -> bool:
    return action.kind is SeccompAction.ERRNO and action.data == enosys_number(arch)


class Outcome(NamedTuple):
    """One action a call can get, and the region of arguments where it gets it."""

    action: Action
    rule_index: int | None
    via: str | None
    region: Condition
    unconditional: bool
    """The region is every argument: no earlier entry has a condition and this one has none."""


class ArchView:
    """A policy seen from one ABI: for each number, which actions it gets and where."""

    def __init__(self, policy: Policy, arch: Arch, baseline: Action | None = None) -> None:
        self.policy = policy
        self.arch = arch
        self.resolved = policy.resolve(arch)
        self.baseline = baseline
        """For a decompiled policy, what unknown numbers get: an outcome is on purpose when it
        differs. For a written policy (``None``), an outcome is on purpose when a rule gave it."""
        self._outcomes: dict[int, tuple[Outcome, ...]] = {}
        self._reachable: dict[tuple[int, int, Condition | None], bool] = {}

    def number(self, name: str) -> int | None:
        return self.arch.syscalls.get(name)

    def entries(self, nr: int) -> tuple[ResolvedRule, ...]:
        """The entries for ``nr`` as this ABI's own calls meet them (reported as its own
        AUDIT_ARCH value)."""
        return self.resolved.entries(nr, self.arch.audit_arch)

    def fallback(self, nr: int) -> Action:
        """What a call gets when no rule matches (policy.reference, step 3)."""
        policy = self.policy
        if (
            policy.unknown_syscall_action is not None
            and nr not in self.resolved.known_numbers
            and not self.entries(nr)
        ):
            return policy.unknown_syscall_action
        return policy.default_action

    def outcomes(self, nr: int) -> tuple[Outcome, ...]:
        """Each entry for ``nr`` and the fallback, with the region where it decides: its own
        condition and none of the earlier ones."""
        cached = self._outcomes.get(nr)
        if cached is not None:
            return cached
        result: list[Outcome] = []
        earlier: list[Condition] = []
        for entry in self.entries(nr):
            region = conjunction(entry.condition, *(Not(c) for c in earlier))
            unconditional = not earlier and entry.condition is None
            result.append(Outcome(entry.action, entry.rule_index, entry.via, region, unconditional))
            if entry.condition is None:
                break  # nothing after an unconditional entry is reached
            earlier.append(entry.condition)
        else:
            region = conjunction(*(Not(c) for c in earlier)) if earlier else TRUE
            result.append(Outcome(self.fallback(nr), None, None, region, not earlier))
        cached = self._outcomes[nr] = tuple(result)
        return cached

    def reachable(self, nr: int, index: int, extra: Condition | None = None) -> bool:
        """Whether outcome ``index`` of ``nr`` happens for some arguments (within ``extra``)."""
        key = (nr, index, extra)
        known = self._reachable.get(key)
        if known is None:
            outcome = self.outcomes(nr)[index]
            if outcome.unconditional and extra is None:
                known = True
            else:
                known = satisfiable(conjunction(outcome.region, extra))
            self._reachable[key] = known
        return known

    def first(
        self, nr: int, wanted: Callable[[Action], bool], extra: Condition | None = None
    ) -> Outcome | None:
        """The first outcome of ``nr`` whose action is ``wanted`` and that happens."""
        for index, outcome in enumerate(self.outcomes(nr)):
            if wanted(outcome.action) and self.reachable(nr, index, extra):
                return outcome
        return None

    def every(self, nr: int, wanted: Callable[[Action], bool]) -> bool:
        """Whether every argument value gets a ``wanted`` action."""
        return self.first(nr, lambda action: not wanted(action)) is None

    def on_purpose(self, outcome: Outcome) -> bool:
        """Whether the author chose this outcome for this call (see ``baseline``)."""
        if self.baseline is None:
            return outcome.rule_index is not None
        return outcome.action != self.baseline

    def region_of(self, nr: int, wanted: Callable[[Action], bool]) -> Condition:
        """Where ``nr`` gets a ``wanted`` action (a union of regions)."""
        parts = tuple(o.region for o in self.outcomes(nr) if wanted(o.action))
        return parts[0] if len(parts) == 1 else Any(parts)


def explicit_denial(view: ArchView, nr: int) -> Outcome | None:
    """The first reachable denial of ``nr`` made on purpose (see :meth:`ArchView.on_purpose`:
    by a rule, not by the default action that an allowlist denies everything else with)."""
    for index, outcome in enumerate(view.outcomes(nr)):
        if (
            view.on_purpose(outcome)
            and is_denial(outcome.action)
            and not is_enosys(outcome.action, view.arch)
            and view.reachable(nr, index)
        ):
            return outcome
    return None


def refused_on(arch: Arch) -> Callable[[Action], bool]:
    """Denied, and not with ENOSYS (which asks the caller to use an older call)."""
    return lambda action: is_denial(action) and not is_enosys(action, arch)


def unknown_number(view: ArchView) -> int:
    """A number the ABI's table does not know and no rule names."""
    known = view.resolved.known_numbers
    candidate = max(known, default=view.arch.syscall_nr_base | view.arch.syscall_nr_mask_bit) + 1
    while candidate in known or view.resolved.named(candidate, view.arch.audit_arch):
        candidate += 1
        for first, last, _entry in view.resolved.ranges:
            if first <= candidate <= last:
                candidate = last + 1  # a rule's range: past it at once
    return candidate if candidate <= 0xFFFFFFFF else max(known, default=0) + 1
