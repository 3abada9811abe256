"""The policy model (``docs/design.md`` §3): actions, conditions, rules, the policy, its meaning,
and the sandbox around the filter.

The condition engine lives beside it: :mod:`.values`, :mod:`.semantics`, :mod:`.decisions`; and
so do the parts policies are written with: the named system call groups (:mod:`.groups`, with
systemd's in :mod:`.systemd_groups`) and the rule sets (:mod:`.rulesets`).

``Any`` here is the condition "at least one holds", not ``typing.Any``.
"""

from __future__ import annotations

from seccomp_bpf.lazy import lazy_exports

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from seccomp_bpf.policy.actions import (
        ALLOW,
        ERRNO,
        KILL_PROCESS,
        KILL_THREAD,
        LOG,
        TRACE,
        TRAP,
        USER_NOTIF,
        Action,
    )
    from seccomp_bpf.policy.conditions import (
        IP,
        All,
        Any,
        BitsClear,
        BitsSet,
        Cmp,
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
        bits_clear,
        bits_set,
        eq,
        ge,
        gt,
        in_,
        in_range,
        le,
        lt,
        masked_eq,
        ne,
        not_in,
    )
    from seccomp_bpf.policy.policy import FILTER_FLAGS, Policy
    from seccomp_bpf.policy.reference import Decision, decide, evaluate
    from seccomp_bpf.policy.resolution import ResolvedArch, ResolvedRange, ResolvedRule
    from seccomp_bpf.policy.rules import NumberRange, Rule, SourceLocation, Syscall
    from seccomp_bpf.policy.sandbox import Sandbox

# Read on first use (seccomp_bpf.lazy): what imports one module of the model (the sandbox
# run reads) does not import all of it.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "seccomp_bpf.policy.actions": (
            "ALLOW ERRNO KILL_PROCESS KILL_THREAD LOG TRACE TRAP USER_NOTIF Action"
        ),
        "seccomp_bpf.policy.conditions": (
            "IP All Any BitsClear BitsSet Cmp Comparison Condition Equal GreaterOrEqual "
            "GreaterThan InRange InSet LessOrEqual LessThan MaskedEqual Not NotEqual NotInSet "
            "bits_clear bits_set eq ge gt in_ in_range le lt masked_eq ne not_in"
        ),
        "seccomp_bpf.policy.policy": "FILTER_FLAGS Policy",
        "seccomp_bpf.policy.reference": "Decision decide evaluate",
        "seccomp_bpf.policy.resolution": "ResolvedArch ResolvedRange ResolvedRule",
        "seccomp_bpf.policy.rules": "NumberRange Rule SourceLocation Syscall",
        "seccomp_bpf.policy.sandbox": "Sandbox",
    },
)

__all__ = [
    "ALLOW",
    "ERRNO",
    "FILTER_FLAGS",
    "IP",
    "KILL_PROCESS",
    "KILL_THREAD",
    "LOG",
    "TRACE",
    "TRAP",
    "USER_NOTIF",
    "Action",
    "All",
    "Any",
    "BitsClear",
    "BitsSet",
    "Cmp",
    "Comparison",
    "Condition",
    "Decision",
    "Equal",
    "GreaterOrEqual",
    "GreaterThan",
    "InRange",
    "InSet",
    "LessOrEqual",
    "LessThan",
    "MaskedEqual",
    "Not",
    "NotEqual",
    "NotInSet",
    "NumberRange",
    "Policy",
    "ResolvedArch",
    "ResolvedRange",
    "ResolvedRule",
    "Rule",
    "Sandbox",
    "SourceLocation",
    "Syscall",
    "bits_clear",
    "bits_set",
    "decide",
    "eq",
    "evaluate",
    "ge",
    "gt",
    "in_",
    "in_range",
    "le",
    "lt",
    "masked_eq",
    "ne",
    "not_in",
]
