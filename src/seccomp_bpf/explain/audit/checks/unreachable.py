"""SB013 unreachable-rule: an entry of a rule can never decide, the rules before it matching
every call it would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seccomp_bpf.arch import Arch
from seccomp_bpf.explain.audit.checks.multiplexers import dropped_mirror_index
from seccomp_bpf.explain.audit.findings import Severity, Sink, names_text, undecided
from seccomp_bpf.explain.audit.view import ArchView, conjunction, is_denial, is_permissive
from seccomp_bpf.policy.conditions import All, Equal, MaskedEqual, Not
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import ResolvedRule
from seccomp_bpf.policy.semantics import satisfiable


def _mirrored_name(policy: Policy, arch: Arch, entry: ResolvedRule) -> str:
    """``socketcall(socket)`` for an entry mirrored onto a multiplexer."""
    assert entry.via is not None and isinstance(entry.condition, (Equal, MaskedEqual))
    call = entry.condition.value
    calls: Mapping[str, int] = getattr(arch, entry.via)
    for syscall in policy.all_rules[entry.rule_index].syscalls:
        if isinstance(syscall, str) and calls.get(syscall) == call:
            return f"{entry.via}({syscall})"
    return f"{entry.via}({call})"


def _dropped_mirror(policy: Policy, entry: ResolvedRule) -> bool:
    """An entry mirrored onto a multiplexer without the conditions of its rule."""
    return entry.via is not None and dropped_mirror_index(policy, entry.rule_index)


_Unreachable = dict[tuple[int, str, Severity, tuple[int, ...]], dict[str, list[str]]]


def check_unreachable(policy: Policy, views: Sequence[ArchView], sink: Sink) -> None:
    """SB013: entries that never decide, grouped by rule."""
    groups: _Unreachable = {}
    for view in views:
        arch = view.arch
        for nr in view.resolved.rules_by_nr:
            entries = view.entries(nr)  # as the ABI's own calls meet them
            for position, entry in enumerate(entries):
                if _dropped_mirror(policy, entry):
                    continue  # its conditions were dropped: SB010's business
                with undecided(sink, f"{arch.name}: rule {entry.rule_index + 1}"):
                    _collect_unreachable(
                        policy, groups, arch=arch, nr=nr, earlier=entries[:position], entry=entry
                    )
    for (rule_index, kind, severity, shadowing), calls in groups.items():
        names = list(calls)
        if kind == "never":
            why = "its condition can never hold"
        elif len(shadowing) == 1:
            why = f"rule {shadowing[0] + 1} before it matches every call it would"
        else:
            before = ", ".join(str(i + 1) for i in shadowing)
            why = f"rules {before} before it match every call it would"
        arches: list[str] = []
        for names_of in calls.values():
            arches.extend(a for a in names_of if a not in arches)
        sink.add(
            "SB013",
            severity,
            f"rule {rule_index + 1} never decides {names_text(names)}: {why}",
            arches,
            syscall=names[0] if len(names) == 1 else None,
            rule=rule_index,
        )


def _collect_unreachable(
    policy: Policy,
    groups: _Unreachable,
    *,
    arch: Arch,
    nr: int,
    earlier: Sequence[ResolvedRule],
    entry: ResolvedRule,
) -> None:
    found = _unreachable(entry, earlier)
    if found is None:
        return
    kind, shadowing = found
    if any(_dropped_mirror(policy, e) for e in shadowing):
        return  # covered by a mirror without its conditions: SB010 again
    # Covered by the rule itself (its unconditional socketcall entry covers its own
    # mirrors): the rule decides these calls all the same.
    others = tuple(e for e in shadowing if e.rule_index != entry.rule_index)
    if kind == "covered" and not others:
        return
    severity = _unreachable_severity(entry, kind, others)
    if entry.via is not None:
        label = _mirrored_name(policy, arch, entry)
    else:
        label = arch.syscall_name(nr) or str(nr)
    rules = tuple(sorted({e.rule_index for e in others}))
    groups.setdefault((entry.rule_index, kind, severity, rules), {}).setdefault(label, []).append(
        arch.name
    )


def _unreachable(
    entry: ResolvedRule, earlier: Sequence[ResolvedRule]
) -> tuple[str, tuple[ResolvedRule, ...]] | None:
    """``("never", ())`` when the entry's condition cannot hold, ``("covered", entries)``
    when the earlier entries match every call it would (``entries``: those that match some
    of them), else ``None``."""
    condition = entry.condition
    if condition is not None and not satisfiable(condition):
        return "never", ()
    if not earlier:
        return None
    if all(e.condition is not None for e in earlier):
        rest = conjunction(condition, *(Not(e.condition) for e in earlier if e.condition))
        if satisfiable(rest):
            return None
    shadowing = tuple(
        e
        for e in earlier
        if e.condition is None or condition is None or satisfiable(All((e.condition, condition)))
    )
    return "covered", shadowing


def _unreachable_severity(
    entry: ResolvedRule, kind: str, shadowing: Sequence[ResolvedRule]
) -> Severity:
    """A denial that never happens is medium; an allow that never happens is info (the
    earlier rules decide: "deny these, then allow the group" is written this way)."""
    if kind == "never":
        return Severity.MEDIUM if is_denial(entry.action) else Severity.LOW
    actions = {e.action for e in shadowing}
    if actions <= {entry.action} or is_permissive(entry.action):
        return Severity.INFO
    if any(is_permissive(a) for a in actions):
        return Severity.MEDIUM
    return Severity.LOW
