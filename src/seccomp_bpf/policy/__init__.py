"""The policy model (DESIGN §3): actions, conditions, rules, the policy, its meaning, and the
sandbox around the filter.

``Any`` here is the condition "at least one holds", not ``typing.Any``.
"""

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
    ActionKind,
)
from seccomp_bpf.policy.conditions import (
    IP,
    All,
    Any,
    Cmp,
    Condition,
    Not,
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
    "ActionKind",
    "All",
    "Any",
    "Cmp",
    "Condition",
    "Decision",
    "Not",
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
