"""Decisions as functions of the arguments: every condition decides as ``Condition.holds``;
cells partition; policy decisions equal ``Policy.evaluate``; comparisons of decisions are
exact."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import dispatched_arch, get_arch
from seccomp_bpf.errors import PolicyError, TooComplexError
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    LOG,
    All,
    Any,
    Cmp,
    Condition,
    Not,
    Policy,
    Rule,
    eq,
    in_range,
)
from seccomp_bpf.policy.decisions import (
    Partition,
    chain_partition,
    decision_differences,
    syscall_decision,
    value_cells,
)
from seccomp_bpf.policy.semantics import IP_TARGET, equivalent, implies, satisfiable, split
from seccomp_bpf.policy.values import ValueSet
from tests.compiler.strategies import MAX64, arguments, conditions, interesting_numbers, policies

_args = st.tuples(*[st.integers(0, MAX64)] * 6)
HOLDS, FAILS = ALLOW, KILL_PROCESS


def _valid(policy: Policy) -> Policy:
    """Random rules limited to some ABIs may name calls those ABIs lack: such a policy is
    not valid, and not what these tests are about."""
    try:
        policy.validate()
    except PolicyError:
        assume(False)
    return policy


def _near(values: Sequence[int]) -> list[int]:
    out = {0, 1, MAX64, 2**32 - 1, 2**32}
    for value in values:
        out |= {value, (value + 1) & MAX64, (value - 1) & MAX64, value & 0xFFFFFFFF}
    return sorted(out)


def _decision(condition: Condition) -> Partition:
    return chain_partition(((condition, HOLDS),), FAILS)


@settings(max_examples=300, deadline=None)
@given(conditions, _args, st.integers(0, MAX64))
def test_a_condition_decides_as_the_condition(
    condition: Condition, args: tuple[int, ...], ip: int
) -> None:
    decision = _decision(condition)
    for probe in [args, (0,) * 6, (MAX64,) * 6]:
        expected = HOLDS if condition.holds(probe, ip) else FAILS
        assert decision.action_for(probe, ip) == expected


@settings(max_examples=200, deadline=None)
@given(conditions)
def test_equal_conditions_are_found_equal(condition: Condition) -> None:
    assert equivalent(Not(Not(condition)), condition)
    assert implies(None, Any((condition, Not(condition))))
    assert not satisfiable(All((condition, Not(condition))))
    assert _decision(Not(Not(condition))).same(_decision(condition))
    holds, fails = split(condition, ())
    assert satisfiable(condition) == bool(holds)
    assert satisfiable(Not(condition)) == bool(fails)


def test_implication_and_equivalence_on_known_cases() -> None:
    assert implies(eq(0, 5), Cmp(0, "le", 9))
    assert not implies(Cmp(0, "le", 9), eq(0, 5))
    assert equivalent(in_range(0, 3, 5), Cmp(0, "in", (3, 4, 5)))
    assert equivalent(Cmp(0, "lt", 1), eq(0, 0))
    # on 32-bit arguments, the upper half is clear: the two read alike there only
    low_only = eq(0, 5, width=32)
    assert not equivalent(low_only, eq(0, 5))
    from seccomp_bpf.policy.semantics import ZERO_EXTENDED

    assert equivalent(low_only, eq(0, 5), within=ZERO_EXTENDED)


def test_comparisons_at_their_boundaries() -> None:
    for op, value in [("lt", 5), ("le", 2**32), ("gt", 2**63), ("ge", 1), ("eq", 7), ("ne", 0)]:
        for width in (64, 32):
            cmp = Cmp(1, op, value & ((1 << width) - 1), width=width)
            decision = _decision(cmp)
            for x in _near([value, *cmp.boundary_values()]):
                args = (0, x, 0, 0, 0, 0)
                expected = HOLDS if cmp.holds(args) else FAILS
                assert decision.action_for(args) == expected, (op, value, width, x)


@settings(max_examples=150, deadline=None)
@given(conditions, _args)
def test_cells_partition_and_say_the_action(condition: Condition, args: tuple[int, ...]) -> None:
    decision = _decision(condition)
    try:
        cells = decision.cells(limit=2000)
    except TooComplexError:
        return
    holding = [action for action, cell in cells if cell.holds(args, args[0])]
    assert holding == [decision.action_for(args, args[0])]  # exactly one cell holds
    for _, cell in cells:
        model = cell.condition()
        if model is not None:
            assert model.holds(args, args[0]) == cell.holds(args, args[0])
    # two cells with different actions pin one bit of one target to different values
    for index, (action_a, cell_a) in enumerate(cells):
        for action_b, cell_b in cells[index + 1 :]:
            if action_a == action_b:
                continue
            tests_b = {t: (m, v) for t, m, v in cell_b.tests}
            assert any(
                t in tests_b and (m & tests_b[t][0]) & (v ^ tests_b[t][1])
                for t, m, v in cell_a.tests
            )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_value_cells_are_the_set(data: st.DataObject) -> None:
    # sets of 64-bit values with every kind of constraint, checked on values near them
    values = ValueSet.full(64)
    points = [0, 1, 2**32 - 1, 2**32, MAX64]
    for _ in range(data.draw(st.integers(1, 4))):
        condition = data.draw(conditions)
        holds, _ = split(condition, ())
        region = holds[0] if holds else ()
        for target, found in region:
            if target == 0:
                values = values.intersect(found)
        points += [v for c in [condition] for v in _near(_constants(c))]
    patterns = value_cells(values)
    for point in points:
        inside = [p for p in patterns if point & p[0] == p[1]]
        assert len(inside) == (1 if point in values else 0), (hex(point), values)


def _constants(condition: Condition) -> list[int]:
    from seccomp_bpf.policy.conditions import comparisons

    return [v for cmp in comparisons(condition) for v in cmp.boundary_values()]


def test_cells_limit_and_skip() -> None:
    decision = _decision(in_range(0, 5, 2**40))
    assert len(decision.cells(skip=FAILS)) < len(decision.cells())
    assert all(action == HOLDS for action, _ in decision.cells(skip=FAILS))
    assert all(action == HOLDS for action, _ in decision.cells(only=HOLDS))
    with pytest.raises(TooComplexError):
        decision.cells(limit=3)


def test_narrowed_is_the_decision_on_32_bit_arguments() -> None:
    decision = _decision(Cmp(0, "gt", 2**32 + 3))
    # no 32-bit value is above 2**32 + 3
    assert decision.narrowed().constant_action == FAILS
    assert decision.reads_upper_halves()
    ip_test = _decision(Cmp(None, "gt", 2**32 + 3))
    assert ip_test.narrowed().same(ip_test)  # the instruction pointer keeps its bits
    assert not ip_test.reads_upper_halves()
    assert ip_test.depends_on(IP_TARGET) and not ip_test.depends_on(0)
    assert not _decision(eq(0, 1, width=32)).reads_upper_halves()


@settings(max_examples=100, deadline=None)
@given(policies(arch_choices=(("x86_64", "i386", "x32"),)), st.data())
def test_syscall_decision_is_the_reference_evaluator(policy: Policy, data: st.DataObject) -> None:
    _valid(policy)
    for arch in policy.resolved_arches():
        for nr in interesting_numbers(policy, arch)[:12]:
            if dispatched_arch(arch.audit_arch, nr) != arch:
                continue  # a number of another ABI (x32's bit 30): bad_arch_action there
            decision = syscall_decision(policy, arch, nr)
            args = data.draw(arguments(policy))
            ip = data.draw(st.sampled_from([0, 2**32, MAX64]))
            assert decision.action_for(args, ip) == policy.evaluate(arch, nr, args, ip)


def test_decision_differences_name_the_number() -> None:
    base = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("x86_64",))
    other = Policy(ERRNO(1), (Rule(("read",), LOG),), arches=("x86_64",))
    same = Policy(ERRNO(1), (Rule((0,), ALLOW),), arches=("x86_64",))
    arch = get_arch("x86_64")
    assert decision_differences(base, same, [arch]) == []
    found = decision_differences(base, other, [arch])
    assert [(d.arch.name, d.nr) for d in found] == [("x86_64", 0)]
    unknown = Policy(ERRNO(1), arches=("x86_64",), unknown_syscall_action=KILL_PROCESS)
    plain = Policy(ERRNO(1), arches=("x86_64",))
    assert [d.nr for d in decision_differences(unknown, plain, [arch])] == [None]
