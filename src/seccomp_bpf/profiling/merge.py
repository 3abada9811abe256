"""Read back a policy the profiler generated, to unite it with a new run (``--merge``).

What can be merged is what :mod:`.generate` writes; anything else is refused, naming the rule:

- a rule with action ``allow`` and no condition: its calls are allowed;
- a rule with action ``allow`` on one call whose condition compares arguments the way
  :meth:`ArgumentSpec.condition` writes it (``in``/``eq``, ``masked_eq`` or an ``any`` of
  them with one mask, ``bits_clear``; several joined with ``all``): the call is allowed with
  those values;
- either of them limited to some ABIs (``arches:`` on the rule): on those ABIs only;
- a rule with any other action, no condition and no ``arches``: its calls are denied
  (``--deny``), but for ``clone3`` failing with ``errno(ENOSYS)``, which the new policy
  writes again.

Counts are not kept in a policy (only in its comments), so the calls of an earlier run count
0 in the new one; the frequency profile (``--frequency``) is the new run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import ERRNO, NumberRange, Policy
from seccomp_bpf.policy.resolution import rule_label
from seccomp_bpf.profiling.arguments import (
    FALLBACKS,
    ArgumentSpec,
    condition_specs,
    default_specs,
)
from seccomp_bpf.profiling.trace import SyscallKey


@dataclass(frozen=True)
class EarlierEntry:
    """One call a generated policy allows: on some ABIs (``arches``; None: on all of the
    policy's), whatever its arguments (``specs`` None) or with these argument values."""

    syscall: SyscallKey
    arches: tuple[str, ...] | None
    specs: tuple[tuple[ArgumentSpec, frozenset[int]], ...] | None


@dataclass
class EarlierRun:
    """What a generated policy allowed and denied."""

    source: str
    arches: tuple[str, ...]
    allowed: list[EarlierEntry] = field(default_factory=list)
    denied: set[SyscallKey] = field(default_factory=set)


def read_generated(policy: Policy) -> EarlierRun:
    """The calls ``policy`` allows (with their ABIs and argument values) and denies; raises
    :class:`PolicyError` for a rule the profiler does not write."""
    source = policy.source or "the policy to merge"
    earlier = EarlierRun(source, tuple(arch.name for arch in policy.resolved_arches()))
    for index, rule in enumerate(policy.rules):
        syscalls = [s for s in rule.syscalls if not isinstance(s, NumberRange)]
        if len(syscalls) != len(rule.syscalls):
            raise _refused(index, policy, "a rule on a range of numbers")
        if rule.audit_arches is not None:
            raise _refused(index, policy, "a rule limited to some AUDIT_ARCH values")
        if rule.action == ERRNO("ENOSYS") and set(syscalls) <= set(FALLBACKS):
            continue  # clone3 failing with ENOSYS: the new policy says so again
        if rule.action.kind is not SeccompAction.ALLOW:
            if rule.when is not None or rule.arches is not None:
                raise _refused(index, policy, "a rule that denies on a condition or some ABIs")
            earlier.denied.update(syscalls)
            continue
        specs: tuple[tuple[ArgumentSpec, frozenset[int]], ...] | None = None
        if rule.when is not None:
            read = condition_specs(rule.when)
            if read is None:
                raise _refused(index, policy, f"the condition {rule.when}")
            if len(syscalls) != 1:
                raise _refused(index, policy, "a condition on several calls")
            specs = tuple(_as_default(syscalls[0], *item) for item in read)
        for syscall in syscalls:
            earlier.allowed.append(EarlierEntry(syscall, rule.arches, specs))
    return earlier


def _as_default(
    syscall: SyscallKey, spec: ArgumentSpec, values: frozenset[int]
) -> tuple[ArgumentSpec, frozenset[int]]:
    """A spec read back from a condition, as the default spec it matches when there is one
    (which knows what the argument is and names its values). A ``bits_clear`` condition
    becomes the default ``flags`` spec with one value: every bit it did not keep clear."""
    for default in default_specs([syscall] if isinstance(syscall, str) else []):
        if spec.kind == "flags" and default.kind == "flags":
            if (spec.index, spec.width) == (default.index, default.width):
                return default, frozenset({default.bits & ~spec.bits})
        elif spec.matches(default):
            return default, values
    if isinstance(syscall, str):
        spec = ArgumentSpec(
            syscall, spec.index, spec.width, spec.kind, spec.mask, spec.bits, spec.what,
            spec.prefix,
        )  # fmt: skip
    return spec, values


def _refused(index: int, policy: Policy, what: str) -> PolicyError:
    rule = policy.rules[index]
    message = (
        f"{rule_label(index, rule)}: {what} is not something seccomp-bpf profile writes; "
        "--merge unites policies the profiler generated"
    )
    location = rule.location
    if location is not None:
        return PolicyError(
            message, source=location.file, line=location.line, column=location.column
        )
    return PolicyError(message, source=policy.source)
