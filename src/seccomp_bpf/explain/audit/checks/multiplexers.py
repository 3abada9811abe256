"""SB010 multiplexer-bypass: ``socketcall(2)`` or ``ipc(2)`` allows what the direct call
denies."""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_bpf.explain.audit.findings import Severity, Sink, undecided
from seccomp_bpf.explain.audit.view import ArchView, explicit_denial, is_denial, is_permissive
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import mirror_condition


def check_multiplexers(policy: Policy, views: Sequence[ArchView], sink: Sink) -> None:
    """SB010."""
    for view in views:
        arch = view.arch
        for multiplexer, calls in (("socketcall", arch.socketcall), ("ipc", arch.ipc)):
            mux = view.number(multiplexer)
            if not calls or mux is None:
                continue
            for name, call in calls.items():
                direct = view.number(name)
                if direct is None:
                    continue
                with undecided(sink, f"{arch.name}: {multiplexer}({name})"):
                    _multiplexer_finding(
                        policy, view, sink, (name, direct), (multiplexer, mux, call)
                    )


def _multiplexer_finding(
    policy: Policy,
    view: ArchView,
    sink: Sink,
    direct_call: tuple[str, int],
    multiplexed: tuple[str, int, int],
) -> None:
    name, direct = direct_call
    multiplexer, mux, call = multiplexed
    denial = view.first(direct, is_denial)
    if denial is None:
        return
    allowed_directly = view.first(direct, is_permissive) is not None
    if not allowed_directly and explicit_denial(view, direct) is None:
        return  # never allowed directly, and not denied on purpose either
    allowed = view.first(mux, is_permissive, mirror_condition(multiplexer, call))
    if allowed is None:
        return
    # (a program's decompiled policy says nothing of how its author wrote the rules)
    dropped = (
        sink.describe_rules
        and allowed.via == multiplexer
        and dropped_mirror_index(policy, allowed.rule_index)
    )
    denied = "denied for some arguments" if allowed_directly else "denied"
    reason = (
        f"multiplexer_conditions: {policy.multiplexer_conditions} lets every "
        f"{multiplexer}({name}) through"
        if dropped
        else "its arguments are in memory that the filter cannot read"
    )
    sink.add(
        "SB010",
        Severity.LOW if dropped else Severity.MEDIUM,
        f"{name} is {denied}{sink.by(denial)} but {multiplexer}({name}) is "
        f"allowed{sink.by(allowed)}: {reason}",
        (view.arch,),
        syscall=name,
        rule=allowed.rule_index,
    )


def dropped_mirror_index(policy: Policy, rule_index: int | None) -> bool:
    """Whether rule ``rule_index`` has conditions that its multiplexer mirrors drop."""
    return (
        rule_index is not None
        and policy.multiplexer_conditions in ("drop", "strict")
        and policy.all_rules[rule_index].when is not None
    )
