"""From a :class:`SyscallTrace` to an allowlist :class:`Policy`, rule by rule with notes.

The policy:

- ``default_action: errno(EPERM)``: what the run did not do fails as if not permitted;
  ``unknown_syscall_action: errno(ENOSYS)``: numbers no table knows fail as if the kernel
  lacked them, so that C libraries fall back to the older calls they replace;
  ``newer_syscall_action: errno(ENOSYS)``: so do the numbers above the highest one the
  policy names on each ABI (calls newer than the run), as runc answers them;
  ``bad_arch_action: kill_process``;
- ``arches``: this machine's ABI, then every ABI the run made calls on (and those of the
  merged policies);
- rules, in this order (the first that matches a call decides; no two rules name one call on
  one ABI):

  1. the ``--deny`` names (and the denied names of merged policies), with the default
     action: never allowed, even when seen;
     then ``clone3`` with ``errno(ENOSYS)`` where ``clone`` is allowed
     (:data:`~.arguments.FALLBACKS`): its flags are in memory, where a filter cannot read
     them, and C libraries make a ``clone`` instead, whose flags the rule on ``clone``
     checks (the profiler's own filter answers ``clone3`` so while it records, so the run
     shows those ``clone`` calls; a ``clone3`` an earlier policy allowed becomes a
     ``clone`` without namespace flags);
  2. one rule per call whose arguments were recorded, allowing the values seen
     (:mod:`.arguments`);
  3. one rule per group of :mod:`seccomp_bpf.policy.groups` (``@basic-io``,
     ``@file-system``...), in the groups' order, allowing the calls seen of that group (a call
     in several groups goes to the first); then the calls in no group; then the numbers
     without a name.

Each ABI gets what it did: a rule is limited to the ABIs that made its calls (``arches:`` on
the rule) unless that is every ABI of the policy that has them, and a call made on two ABIs
with different argument values gets a rule on each. With ``per_abi=False`` (what an OCI
profile needs: its entries name a call for every architecture at once), names are not tied
to an ABI: a call seen on one ABI is allowed on every listed ABI that has it, and a recorded
call's arguments are compared only when every ABI that made it recorded them alike, with the
values of all (``mmap`` takes its arguments in memory on i386: when i386 made it too, it is
then allowed whatever its arguments).

Besides the calls seen, :data:`ALWAYS_ALLOWED` is allowed on every ABI: a run may end or be
interrupted in ways the profiled run was not, and these calls only end a program or return
from a signal handler; denying them kills it in obscure ways. ``--deny`` still takes them
out. ``--allow`` names are allowed on every ABI, whatever their arguments.
"""

from __future__ import annotations

import functools
import operator
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from seccomp_bpf.arch import Arch, get_arch, native_arch
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, Action, All, Condition, Policy, Rule
from seccomp_bpf.policy.groups import GROUPS
from seccomp_bpf.policy.resolution import name_is_on
from seccomp_bpf.profiling.arguments import FALLBACKS, ArgumentSpec, describe_value, flags_spec
from seccomp_bpf.profiling.merge import EarlierRun, read_generated
from seccomp_bpf.profiling.name_lists import resolve_names
from seccomp_bpf.profiling.trace import SyscallKey, SyscallTrace, command_text, machine_text

ALWAYS_ALLOWED: Final = ("exit", "exit_group", "rt_sigreturn", "sigreturn", "restart_syscall")
"""Allowed whether the run made them or not: ``exit`` and ``exit_group`` end a thread and a
program (a run killed by a signal never calls them); ``rt_sigreturn`` and ``sigreturn`` return
from a signal handler (a signal the profiled run never received); ``restart_syscall`` is the
kernel's own way to resume an interrupted sleep (``kernel/signal.c``)."""

_WIDTH: Final = 92  # of comment lines

FALLBACK_ERRNO: Final = ERRNO("ENOSYS")
"""What calls newer than the profile get (``newer_syscall_action``), and unknown numbers: the
answer of a kernel that lacks the call, after which C libraries use the older one."""


@dataclass(frozen=True)
class RuleNote:
    """What the YAML writer says above a rule: a heading and the counts."""

    heading: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class GeneratedPolicy:
    """The generated policy, one note per rule, and the lines that head the file."""

    policy: Policy
    notes: tuple[RuleNote, ...]
    header: tuple[str, ...]
    trace: SyscallTrace
    merged: tuple[str, ...] = ()
    remarks: tuple[str, ...] = ()
    """What the user should know of the options: names of ``--allow``/``--deny`` ignored on
    an ABI that lacks them."""


Signature = tuple[tuple[ArgumentSpec, frozenset[int]], ...] | None
"""How a call is allowed on one ABI: with these argument values, or (None) whatever they are."""


@dataclass
class _Seen:
    """One call on one ABI: how often, and how it is to be allowed."""

    count: int = 0
    free: bool = False  # allowed whatever its arguments
    specs: list[tuple[ArgumentSpec, frozenset[int]]] | None = None
    why_free: str | None = None
    sources: list[str] = field(default_factory=list)  # "always allowed", "--allow", files

    def signature(self) -> Signature:
        if self.free or not self.specs:
            return None
        if _condition(self.specs) is None:
            return None
        return tuple(self.specs)


def _arches(
    trace: SyscallTrace, earlier: Sequence[EarlierRun], first: str | None = None
) -> tuple[Arch, ...]:
    names = [first or native_arch().name, *trace.arches]
    for run in earlier:
        names.extend(run.arches)
    result: list[Arch] = []
    for name in names:
        arch = get_arch(name)
        if arch not in result:
            result.append(arch)
    return tuple(result)


def _exists_on(key: SyscallKey, arches: Sequence[Arch]) -> tuple[str, ...]:
    """The ABIs of ``arches`` where ``key`` is a call (a number is one on every ABI)."""
    if isinstance(key, int):
        return tuple(arch.name for arch in arches)
    return tuple(arch.name for arch in arches if name_is_on(arch, key))


def _merge_specs(
    first: Sequence[tuple[ArgumentSpec, frozenset[int]]],
    second: Sequence[tuple[ArgumentSpec, frozenset[int]]],
) -> list[tuple[ArgumentSpec, frozenset[int]]]:
    """Specs of both lists, values united; a spec only one list has is dropped (the union of
    two conjunctions is at most the conjunction of the arguments both compare).

    ``flags`` specs: the bits never seen are those neither list saw; a spec read back from a
    policy holds the bits its condition kept clear (and no values).
    """
    merged: list[tuple[ArgumentSpec, frozenset[int]]] = []
    for spec, values in first:
        for other, other_values in second:
            if spec.kind == "flags" and other.kind == "flags":
                if (spec.index, spec.width) != (other.index, other.width):
                    continue
                merged.append(_merge_flags(spec, values, other, other_values))
                break
            if spec.matches(other):
                merged.append((spec if spec.syscall else other, values | other_values))
                break
    return merged


def _merge_flags(
    spec: ArgumentSpec,
    values: frozenset[int],
    other: ArgumentSpec,
    other_values: frozenset[int],
) -> tuple[ArgumentSpec, frozenset[int]]:
    def never_seen(s: ArgumentSpec, seen: frozenset[int]) -> int:
        bits = s.bits
        for value in seen:
            bits &= ~value
        return bits

    never = never_seen(spec, values) & never_seen(other, other_values)
    bits = spec.bits | other.bits
    # One value standing for every bit seen: the bits of ``bits`` outside ``never``.
    base = spec if spec.syscall else other
    joined = ArgumentSpec(
        base.syscall, base.index, base.width, "flags", base.mask, bits, base.what, base.prefix
    )
    return joined, frozenset({bits & ~never})


def _add_specs(seen: _Seen, specs: Sequence[tuple[ArgumentSpec, frozenset[int]]]) -> None:
    """Allow ``seen`` with these argument values too."""
    if seen.free:
        return
    if seen.specs is None:
        seen.specs = sorted(specs, key=lambda item: item[0].index)
        return
    merged = _merge_specs(seen.specs, specs)
    if not merged:
        seen.free = True
        seen.why_free = seen.why_free or "runs compared different arguments"
    seen.specs = merged


def _count_text(key: SyscallKey, calls: dict[str, _Seen], abis: Sequence[str], native: str) -> str:
    """``read 40``, ``getpid 3 [i386 1]``, ``exit (always allowed)``."""
    counted = [(abi, calls[abi].count) for abi in abis if abi in calls and calls[abi].count]
    text = str(key)
    others = [f"{abi} {count}" for abi, count in counted if abi != native]
    mine = [count for abi, count in counted if abi == native]
    if mine:
        text += f" {mine[0]}"
    if others:
        text += " [" + ", ".join(others) + "]"
    if not counted:
        sources = dict.fromkeys(s for abi in abis if abi in calls for s in calls[abi].sources)
        text += " (" + ", ".join(sources or ["not seen"]) + ")"
    return text


def _wrap(items: Sequence[str]) -> tuple[str, ...]:
    if not items:
        return ()
    return tuple(textwrap.wrap(", ".join(items), width=_WIDTH, break_on_hyphens=False))


class _Calls(dict[SyscallKey, dict[str, _Seen]]):
    """Every call of the policy to be, ABI by ABI: how often it was seen, how to allow it."""

    def at(self, key: SyscallKey, abi: str) -> _Seen:
        return self.setdefault(key, {}).setdefault(abi, _Seen())


@dataclass
class _Rules:
    """The rules written so far, each with the note the YAML writer puts above it."""

    rules: list[Rule] = field(default_factory=list)
    notes: list[RuleNote] = field(default_factory=list)

    def add(self, rule: Rule, note: RuleNote) -> None:
        self.rules.append(rule)
        self.notes.append(note)


def generate(
    trace: SyscallTrace,
    *,
    allow: Iterable[str] = (),
    deny: Iterable[str] = (),
    merge: Sequence[Policy] = (),
    arguments: bool = True,
    per_abi: bool = True,
    default_action: Action | None = None,
    unknown_syscall_action: Action | None = None,
    newer_syscall_action: Action | None = FALLBACK_ERRNO,
    name: str | None = None,
    arch: str | None = None,
) -> GeneratedPolicy:
    """The allowlist for ``trace``; see the module docstring, and
    :meth:`SyscallTrace.to_policy` for the options (``arch``: the ABI listed first, this
    machine's when None: the static profiler's program's). ``allow`` and ``deny`` are read
    by :func:`~.name_lists.resolve_names` (names, ``@groups``, ``@FILE`` lists; what the
    policy's ABIs lack is in ``remarks``). Raises :class:`PolicyError` for a name no ABI
    has, a list that cannot be read, or a merged policy the profiler did not write."""
    default = default_action if default_action is not None else ERRNO("EPERM")
    unknown = unknown_syscall_action if unknown_syscall_action is not None else ERRNO("ENOSYS")
    earlier = [read_generated(policy) for policy in merge]
    arches = _arches(trace, earlier, arch)
    calls = _Calls()
    _count_run(calls, trace, arguments)
    denied = _add_earlier_runs(calls, earlier, arches)
    allowed = resolve_names(allow, arches, "--allow")
    explicit = allowed.keys
    _allow_everywhere(calls, trace, explicit, arches)
    refused = resolve_names(deny, arches, "--deny")
    denied.update(refused.keys)
    fallbacks = _fall_back(
        calls, denied=denied, explicit=set(explicit), arches=arches, arguments=arguments
    )
    written = _Rules()
    _write_denials(
        written, calls, denied=denied, fallbacks=fallbacks, default=default, arches=arches
    )
    free = _write_argument_rules(written, calls, denied, arches, per_abi)
    _write_group_rules(written, calls, free, arches)
    multiplexed = _multiplexed(written.rules, arches)
    policy = Policy(
        default_action=default,
        rules=tuple(written.rules),
        arches=tuple(arch.name for arch in arches),
        bad_arch_action=KILL_PROCESS,
        unknown_syscall_action=unknown,
        newer_syscall_action=newer_syscall_action,
        multiplexer_conditions="drop" if multiplexed else "error",
        name=name or "profile",
        comment=f"generated by seccomp-bpf profile from: {command_text(trace.command)}",
    )
    policy.validate()
    remarks = (*allowed.notes, *refused.notes)
    header = _header(
        trace, [run.source for run in earlier], default, multiplexed, newer_syscall_action
    )
    return GeneratedPolicy(
        policy,
        tuple(written.notes),
        (*header, *(f"Note: {remark}." for remark in remarks)),
        trace,
        tuple(run.source for run in earlier),
        remarks,
    )


def _count_run(calls: _Calls, trace: SyscallTrace, arguments: bool) -> None:
    """This run, ABI by ABI: each call counted, with the argument values recorded (allowed
    whatever its arguments where none were)."""
    for abi, counted in trace.counts.items():
        recorded = trace.arguments.get(abi, {})
        for key, count in counted.items():
            seen = calls.at(key, abi)
            seen.count += count
            by_spec = recorded.get(key) if arguments else None
            if by_spec:
                _add_specs(seen, list(by_spec.items()))
            else:
                seen.free = True
                if arguments and any(key in trace.arguments.get(a, {}) for a in trace.counts):
                    seen.why_free = f"arguments not recorded on {abi}"


def _add_earlier_runs(
    calls: _Calls, earlier: Sequence[EarlierRun], arches: Sequence[Arch]
) -> set[SyscallKey]:
    """The calls earlier runs allowed, united with this one's; the calls they denied."""
    denied: set[SyscallKey] = set()
    for run in earlier:
        denied |= run.denied
        for entry in run.allowed:
            where = entry.arches or _exists_on(entry.syscall, arches)
            for abi in where:
                seen = calls.at(entry.syscall, abi)
                seen.sources.append(f"from {run.source}")
                if entry.specs is None:
                    seen.free = True
                elif not seen.free and (seen.count or seen.specs is not None):
                    _add_specs(seen, entry.specs)
                elif not seen.free:
                    seen.specs = list(entry.specs)
    return denied


def _allow_everywhere(
    calls: _Calls, trace: SyscallTrace, explicit: Sequence[SyscallKey], arches: Sequence[Arch]
) -> None:
    """Asked for (``--allow``), always allowed, and let through unrecorded: on every ABI that
    has them, whatever their arguments."""

    def everywhere(key: SyscallKey, source: str, why: str | None = None) -> None:
        for abi in _exists_on(key, arches):
            seen = calls.at(key, abi)
            seen.free = True
            seen.why_free = why or seen.why_free
            if source not in seen.sources:
                seen.sources.append(source)

    for key in explicit:
        everywhere(key, "--allow", "--allow")
    for key in ALWAYS_ALLOWED:
        everywhere(key, "always allowed")
    for key in trace.unrecorded:
        everywhere(key, "notify base set")
    for by_abi in calls.values():
        for seen in by_abi.values():
            if not seen.count and not seen.sources:
                seen.sources.append("notify base set")  # let through unseen, flags checked


def _write_denials(
    written: _Rules,
    calls: _Calls,
    *,
    denied: set[SyscallKey],
    fallbacks: Sequence[SyscallKey],
    default: Action,
    arches: Sequence[Arch],
) -> None:
    """Rule 1: the denied calls, with the default action; then the newer calls that must fail
    with ENOSYS so that C libraries use the older ones."""
    native = arches[0].name
    if denied:
        ordered = sorted(denied, key=_key_order)
        texts = [
            _count_text(k, calls[k], list(calls[k]), native) if k in calls else str(k)
            for k in ordered
        ]
        written.add(
            Rule(tuple(ordered), default),
            RuleNote("denied (--deny): never allowed, even when seen", _wrap(texts)),
        )
    if fallbacks:
        older = ", ".join(str(FALLBACKS[str(key)]) for key in fallbacks)
        newer = ", ".join(map(str, fallbacks))
        written.add(
            Rule(tuple(fallbacks), ERRNO("ENOSYS")),
            RuleNote(
                _shorten(f"{newer}: fails with ENOSYS (flags in memory): C libraries use {older}")
            ),
        )


_Free = dict[tuple[str, tuple[str, ...] | None], list[SyscallKey]]
"""The calls allowed whatever their arguments, by (group, the ABIs a rule is limited to)."""


def _write_argument_rules(
    written: _Rules,
    calls: _Calls,
    denied: set[SyscallKey],
    arches: Sequence[Arch],
    per_abi: bool,
) -> _Free:
    """Rule 2: one rule per call whose arguments were recorded, allowing the values seen;
    returns the calls allowed whatever their arguments, for :func:`_write_group_rules`."""
    order = {arch.name: position for position, arch in enumerate(arches)}
    native = arches[0].name
    free: _Free = {}
    for key in sorted(calls, key=_key_order):
        if key in denied:
            continue
        by_abi = calls[key]
        for abis, signature in _partition(by_abi, per_abi, order):
            exists = _exists_on(key, arches)
            limit = None if not per_abi or set(abis) >= set(exists) else tuple(abis)
            if signature is None:
                free.setdefault((_group_of(key), limit), []).append(key)
                continue
            condition = _condition(signature)
            assert condition is not None
            lines = [_count_text(key, by_abi, abis, native)]
            for spec, values in signature:
                text = _values_text(spec, values, arches[0])
                lines.extend(
                    textwrap.wrap(
                        text, width=_WIDTH, subsequent_indent="    ", break_long_words=False
                    )
                )
            heading = f"{key}: only the argument values seen" + _on(limit)
            written.add(
                Rule((key,), ALLOW, condition, arches=limit), RuleNote(heading, tuple(lines))
            )
    return free


def _write_group_rules(
    written: _Rules, calls: _Calls, free: _Free, arches: Sequence[Arch]
) -> None:
    """Rule 3: one rule per group (in the groups' order) of the calls allowed whatever their
    arguments; then the calls in no group; then the numbers without a name."""
    order = {arch.name: position for position, arch in enumerate(arches)}
    native = arches[0].name

    def group_order(item: tuple[str, tuple[str, ...] | None]) -> tuple[int, int, list[int]]:
        group, limit = item
        groups = [*GROUPS, "", "#"]
        return (
            groups.index(group),
            0 if limit is None else 1,
            [order[a] for a in limit or ()],
        )

    for group_name, limit in sorted(free, key=group_order):
        members = free[(group_name, limit)]
        if group_name == "":
            heading = "calls in no group"
        elif group_name == "#":
            heading = "numbers without a name in the tables"
        else:
            heading = f"@{group_name}: {GROUPS[group_name].description}"
        listed = limit if limit is not None else tuple(a.name for a in arches)
        counts = [_count_text(key, calls[key], listed, native) for key in members]
        free_notes = sorted(
            {
                f"{key}: any arguments ({why})"
                for key in members
                for abi in listed
                if abi in calls[key] and (why := calls[key][abi].why_free) and why != "--allow"
            }
        )
        written.add(
            Rule(tuple(members), ALLOW, arches=limit),
            RuleNote(_shorten(heading, _on(limit)), (*_wrap(counts), *free_notes)),
        )


def _multiplexed(rules: Sequence[Rule], arches: Sequence[Arch]) -> bool:
    """Whether a rule with conditions names a call that also arrives through socketcall or
    ipc on one of its ABIs (whose conditions the multiplexer's mirror then drops)."""
    return any(
        rule.when is not None
        and any(
            isinstance(s, str) and (s in arch.socketcall or s in arch.ipc)
            for s in rule.syscalls
            for arch in arches
            if rule.applies_to(arch.name)
        )
        for rule in rules
    )


def _fall_back(
    calls: _Calls,
    *,
    denied: set[SyscallKey],
    explicit: set[SyscallKey],
    arches: Sequence[Arch],
    arguments: bool,
) -> list[SyscallKey]:
    """The calls of :data:`FALLBACKS` that must fail with ENOSYS; each is taken out of
    ``calls``, and where it was allowed the older call is allowed instead (without its
    flags spec's bits, or as recorded)."""
    chosen: list[SyscallKey] = []
    for newer, older in FALLBACKS.items():
        if newer in explicit or newer in denied:
            continue  # allowed or denied as asked
        for abi in calls.pop(newer, {}):
            arch = get_arch(abi)
            if older not in arch.syscalls:
                continue
            seen = calls.at(older, abi)
            seen.sources.append(f"for {newer}")
            spec = flags_spec(older, arch)
            if arguments and spec is not None:
                _add_specs(seen, [(spec, frozenset())])
            else:
                seen.free = True
        if older in calls and older not in denied and any(newer in a.syscalls for a in arches):
            chosen.append(newer)
    return chosen


def _partition(
    by_abi: dict[str, _Seen], per_abi: bool, order: dict[str, int]
) -> list[tuple[tuple[str, ...], Signature]]:
    """The ABIs of one call, grouped by how it is allowed on them, in the policy's order.

    Without ``per_abi`` there is one group: with the values of every ABI when all compared
    the same arguments, else whatever the arguments.
    """
    abis = sorted(by_abi, key=order.__getitem__)
    if not per_abi:
        signatures = [by_abi[abi].signature() for abi in abis]
        if any(s is None for s in signatures):
            return [(tuple(abis), None)]
        united = _Seen()
        for signature in signatures:
            assert signature is not None
            if united.specs is not None and [s.index for s, _ in united.specs] != [
                s.index for s, _ in signature
            ]:
                return [(tuple(abis), None)]
            _add_specs(united, signature)
        return [(tuple(abis), united.signature())]
    groups: dict[Signature, list[str]] = {}
    for abi in abis:
        groups.setdefault(by_abi[abi].signature(), []).append(abi)
    return [(tuple(members), signature) for signature, members in groups.items()]


def _values_text(spec: ArgumentSpec, values: frozenset[int], arch: Arch) -> str:
    shown = ", ".join(describe_value(spec, v, arch) for v in sorted(values))
    if spec.kind == "flags":
        never = spec.bits & ~functools.reduce(operator.or_, values, 0)
        refused = ", ".join(describe_value(spec, never, arch).split("|"))
        return f"{spec.label}: none of {refused} (seen: {shown if any(values) else 'none'})"
    return f"{spec.label}: {shown}"


def _on(limit: tuple[str, ...] | None) -> str:
    return "" if limit is None else f" (on {', '.join(limit)})"


def _shorten(heading: str, suffix: str = "") -> str:
    return textwrap.shorten(heading, width=_WIDTH - len(suffix), placeholder="...") + suffix


def _key_order(key: SyscallKey) -> tuple[int, str, int]:
    return (1, "", key) if isinstance(key, int) else (0, key, 0)


def _group_of(key: SyscallKey) -> str:
    if isinstance(key, int):
        return "#"
    for group in GROUPS.values():
        if key in group.members:
            return group.name
    return ""


def _condition(specs: Sequence[tuple[ArgumentSpec, frozenset[int]]]) -> Condition | None:
    parts = [c for spec, values in specs if (c := spec.condition(values)) is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _header(
    trace: SyscallTrace,
    merged: Sequence[str],
    default: Action,
    multiplexed: bool,
    newer: Action | None,
) -> tuple[str, ...]:
    lines = [
        f"Generated by `seccomp-bpf profile --mode {trace.mode}` on {machine_text()}:",
        f"    {command_text(trace.command)}",
        f"{trace.describe()}"
        + ("" if trace.exit_status is None else f"; exit status {trace.exit_status}."),
    ]
    if merged:
        lines.append("United with: " + ", ".join(merged) + " (their calls count 0 here).")
    lines.append(
        f"Calls not listed get {default.describe()}; numbers no table knows fail with ENOSYS, "
        "so that C libraries fall back to older calls"
        + (
            f"; so do ({newer.describe()}) the numbers above the highest one named here on "
            "each ABI (calls newer than this profile)."
            if newer is not None
            else "."
        )
    )
    lines.append(
        "Counts are calls seen per ABI ([i386 4]: 4 calls on i386). "
        + ", ".join(ALWAYS_ALLOWED)
        + " are always allowed."
    )
    if trace.unrecorded:
        lines.append(
            "--mode notify let these through without recording them (allowed, not counted): "
            + ", ".join(trace.unrecorded)
            + "."
        )
    if multiplexed:
        lines.append(
            "On ABIs with socketcall/ipc, the argument conditions cannot follow the call "
            "through the multiplexer: there only the call number is checked."
        )
    wrapped: list[str] = []
    for line in lines:
        if line.startswith("    "):
            wrapped.append(line)  # the command, as it is
        else:
            wrapped.extend(textwrap.wrap(line, width=_WIDTH, break_on_hyphens=False))
    return tuple(wrapped)
