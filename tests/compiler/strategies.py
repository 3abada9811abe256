"""Hypothesis strategies for random policies and for inputs steered to their boundaries."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hypothesis import strategies as st

from seccomp_bpf.arch import Arch, get_arch
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    TRACE,
    TRAP,
    USER_NOTIF,
    Action,
    All,
    Any,
    Cmp,
    Comparison,
    Condition,
    Not,
    NumberRange,
    Policy,
    Rule,
    Syscall,
)

MAX64 = (1 << 64) - 1
# The datums every comparison is tried at, and the interesting neighbours of each.
BOUNDARIES = (
    0,
    1,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**32 + 1,
    2**63,
    MAX64,
)
NAMES: tuple[Syscall, ...] = (
    "read", "write", "openat", "close", "mmap", "getpid", "ioctl", "socket",
    # ranges: of unknown numbers, over known ones (x86-64 2..9, x32 0..15), crossing an ABI
    NumberRange(1000, 1003), NumberRange(2, 9), NumberRange(0x40000000, 0x4000000F),
    NumberRange(0x80000000, 0xBFFFFFFF), NumberRange(0x3FFFFFF0, 0x4000FFFF),
)  # fmt: skip
SCALAR_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "masked_eq", "bits_set", "bits_clear")

actions: st.SearchStrategy[Action] = st.one_of(
    st.sampled_from([ALLOW, LOG, KILL_THREAD, KILL_PROCESS, USER_NOTIF]),
    st.integers(0, 4095).map(ERRNO),
    st.integers(0, 0xFFFF).map(TRAP),
    st.integers(0, 0xFFFF).map(TRACE),
)

datums64 = st.one_of(
    st.sampled_from(BOUNDARIES),
    st.integers(0, MAX64),
    st.integers(0, 0xFFFFFFFF).map(lambda v: v << 32),  # high word only
    st.integers(0, 0xFFFFFFFF),  # low word only
    st.integers(-(2**63), -1),  # negative: two's complement
)
datums32 = st.one_of(
    st.sampled_from((0, 1, 2**31 - 1, 2**31, 2**32 - 1, -1, -100)),
    st.integers(-(2**31), 2**32 - 1),
)


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    width = draw(st.sampled_from([64, 64, 32]))
    datums = datums64 if width == 64 else datums32
    arg = draw(st.sampled_from([0, 1, 2, 5, None]))
    kind = draw(st.sampled_from([*SCALAR_OPS, "in", "not_in", "range"]))
    if kind == "masked_eq":
        mask = _unsigned(draw(datums), width)
        return Cmp(arg, kind, _unsigned(draw(datums), width) & mask, mask=mask, width=width)
    if kind in ("in", "not_in"):
        values = tuple(draw(st.lists(datums, min_size=1, max_size=4)))
        return Cmp(arg, kind, values, width=width)
    if kind == "range":
        low, high = sorted(_unsigned(draw(datums), width) for _ in range(2))
        return Cmp(arg, kind, (low, high), width=width)
    return Cmp(arg, kind, draw(datums), width=width)


def _unsigned(value: int, width: int) -> int:
    return value & ((1 << width) - 1)


conditions: st.SearchStrategy[Condition] = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=0, max_size=3).map(lambda c: All(tuple(c))),
        st.lists(inner, min_size=0, max_size=3).map(lambda c: Any(tuple(c))),
        inner.map(Not),
    ),
    max_leaves=6,
)


@st.composite
def rules(draw: st.DrawFn, names: Sequence[Syscall] = NAMES) -> Rule:
    syscalls = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)))
    when = draw(st.none() | conditions)
    return Rule(syscalls, draw(actions), when)


@st.composite
def policies(
    draw: st.DrawFn,
    arch_choices: Sequence[Sequence[str]] = (("x86_64",),),
    names: Sequence[Syscall] = NAMES,
) -> Policy:
    arches = tuple(draw(st.sampled_from(arch_choices)))
    drawn = draw(st.lists(rules(names), min_size=0, max_size=6))
    # Some rules only on some of the policy's ABIs (Rule.arches), as long as each name of the
    # rule exists on one of them (otherwise the policy is rightly refused).
    limited = []
    for rule in drawn:
        chosen = draw(st.lists(st.sampled_from(arches), max_size=len(arches), unique=True))
        if len(arches) > 1 and chosen and _names_exist(rule.syscalls, chosen):
            rule = Rule(rule.syscalls, rule.action, rule.when, arches=tuple(chosen))
        # Some only for calls reported as some ABIs' AUDIT_ARCH values (Rule.audit_arches):
        # on MIPS another ABI's calls can be, elsewhere such a rule decides less or nothing.
        reported = draw(st.lists(st.sampled_from(arches), max_size=2, unique=True))
        if reported and draw(st.integers(0, 3)) == 0:
            rule = dataclasses.replace(rule, audit_arches=tuple(reported))
        limited.append(rule)
    return Policy(
        default_action=draw(actions),
        rules=tuple(limited),
        arches=arches,
        bad_arch_action=draw(actions),
        unknown_syscall_action=draw(st.none() | actions),
        multiplexer_conditions=draw(st.sampled_from(("drop", "strict"))),
    )


def _names_exist(syscalls: Sequence[Syscall], arch_names: Sequence[str]) -> bool:
    from seccomp_bpf.policy.resolution import name_is_on

    chosen = [get_arch(name) for name in arch_names]
    return all(
        not isinstance(name, str) or any(name_is_on(arch, name) for arch in chosen)
        for name in syscalls
    )


def condition_values(condition: Condition | None) -> list[int]:
    """Every constant a condition mentions (to steer inputs next to them)."""
    if condition is None:
        return []
    if isinstance(condition, Comparison):
        value, mask = condition.parameters()
        values = list(value) if isinstance(value, tuple) else [value]
        if mask is not None:
            values.append(mask)
        return values + list(condition.boundary_values())
    if isinstance(condition, Not):
        return condition_values(condition.condition)
    return [v for part in condition.conditions for v in condition_values(part)]


def interesting_numbers(policy: Policy, arch: Arch) -> list[int]:
    """Syscall numbers worth trying on ``arch``: the policy's, unknown ones, and ABI edges."""
    numbers = {0, 1, 0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 999_999}
    for rule in policy.rules:
        for name in rule.syscalls:
            if isinstance(name, NumberRange):
                middle = (name.first + name.last) // 2
                numbers |= {name.first - 1 if name.first else 0, name.first, middle}
                numbers |= {name.last, name.last + 1}
                continue
            nr = name if isinstance(name, int) else arch.syscall_number(name)
            if nr is not None:
                numbers |= {nr, nr + 1, nr - 1 if nr else 0}
    for name in ("socketcall", "ipc"):
        nr = arch.syscall_number(name)
        if nr is not None:
            numbers.add(nr)
    return sorted({n & 0xFFFFFFFF for n in numbers})


def near_values(policy: Policy) -> list[int]:
    """Argument values at and next to the constants the policy compares with (and garbage in
    the upper half of their low words), and the boundaries."""
    near = [0, 1, MAX64, *BOUNDARIES]
    for rule in policy.rules:
        for value in condition_values(rule.when):
            value &= MAX64
            near += [value, (value + 1) & MAX64, (value - 1) & MAX64]
            low = value & 0xFFFFFFFF
            near += [low, (0xDEADBEEF << 32) | low, value & ~0xFFFFFFFF]
    return sorted(set(near))


def multiplexer_calls(arch: Arch) -> list[tuple[int, tuple[int, ...]]]:
    """``(nr, args)`` of a call of each kind through ``socketcall``/``ipc`` on ``arch`` (none
    without them): the first argument selects the call (ipc: its low 16 bits, with a version
    above them), and carries junk in its upper half, which a 32-bit ABI ignores."""
    calls: list[tuple[int, tuple[int, ...]]] = []
    for name, selectors in (("socketcall", range(0, 22)), ("ipc", range(0, 26))):
        nr = arch.syscall_number(name)
        if nr is None:
            continue
        for call in selectors:
            version = (1 << 16) if name == "ipc" and call % 2 else 0
            junk = (0xDEADBEEF << 32) if call % 3 == 0 else 0
            calls.append((nr, (junk | version | call, 5, 0, 0, 0, 0)))
    return calls


@st.composite
def arguments(draw: st.DrawFn, policy: Policy) -> tuple[int, ...]:
    """Six argument values near the constants the policy compares with."""
    choice = st.sampled_from(near_values(policy))
    return tuple(draw(choice) for _ in range(6))


def arch(name: str) -> Arch:
    return get_arch(name)
