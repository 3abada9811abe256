"""Decision diagrams: every condition decides as ``Condition.holds``; cells partition; policy
decisions equal ``Policy.evaluate``."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import dispatched_arch, get_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    LOG,
    Cmp,
    Condition,
    Policy,
    Rule,
    in_range,
)
from seccomp_bpf.policy.diagrams import (
    IP_TARGET,
    Diagrams,
    DiagramTooLargeError,
    decision_differences,
    syscall_decision,
    variable,
    variable_bit,
    variable_target,
)
from tests.compiler.strategies import MAX64, arguments, conditions, interesting_numbers, policies

_args = st.tuples(*[st.integers(0, MAX64)] * 6)


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


def test_variables_put_the_most_significant_bit_first() -> None:
    assert variable(0, 63) < variable(0, 0) < variable(1, 63)
    assert (variable_target(variable(3, 5)), variable_bit(variable(3, 5))) == (3, 5)
    assert variable(IP_TARGET, 0) == 7 * 64 - 1


@settings(max_examples=300, deadline=None)
@given(conditions, _args, st.integers(0, MAX64))
def test_condition_diagram_holds_as_the_condition(
    condition: Condition, args: tuple[int, ...], ip: int
) -> None:
    diagrams = Diagrams()
    node = diagrams.condition(condition)
    probes = [args, (0,) * 6, (MAX64,) * 6]
    for probe in probes:
        assert diagrams.evaluate(node, probe, ip) == condition.holds(probe, ip)


@settings(max_examples=200, deadline=None)
@given(conditions)
def test_equal_conditions_share_one_node(condition: Condition) -> None:
    diagrams = Diagrams()
    node = diagrams.condition(condition)
    double = diagrams.not_(diagrams.not_(node))
    assert double == node
    assert diagrams.or_(node, diagrams.not_(node)) == diagrams.true
    assert diagrams.and_(node, diagrams.not_(node)) == diagrams.false


def test_comparisons_at_their_boundaries() -> None:
    diagrams = Diagrams()
    for op, value in [("lt", 5), ("le", 2**32), ("gt", 2**63), ("ge", 1), ("eq", 7), ("ne", 0)]:
        for width in (64, 32):
            cmp = Cmp(1, op, value & ((1 << width) - 1), width=width)
            node = diagrams.comparison(cmp)
            for x in _near([value]):
                args = (0, x, 0, 0, 0, 0)
                assert diagrams.evaluate(node, args) == cmp.holds(args), (op, value, width, x)


@settings(max_examples=150, deadline=None)
@given(conditions, _args)
def test_cells_partition_and_say_the_leaf(condition: Condition, args: tuple[int, ...]) -> None:
    diagrams = Diagrams()
    node = diagrams.condition(condition)
    if diagrams.count_cells(node) > 2000:
        return
    cells = list(diagrams.cells(node))
    assert len(cells) == diagrams.count_cells(node)
    holding = [value for value, cell in cells if cell.holds(args, args[0])]
    assert holding == [diagrams.evaluate(node, args, args[0])]  # exactly one cell holds
    for value, cell in cells:
        model = cell.condition()
        if model is not None:
            assert model.holds(args, args[0]) == cell.holds(args, args[0])
        del value


def test_cells_limit_and_skip() -> None:
    diagrams = Diagrams()
    node = diagrams.condition(in_range(0, 5, 2**40))
    assert diagrams.count_cells(node, skip=False) < diagrams.count_cells(node)
    assert all(value is True for value, _ in diagrams.cells(node, skip=False))
    try:
        list(diagrams.cells(node, limit=3))
    except DiagramTooLargeError:
        pass
    else:
        raise AssertionError("the limit was not enforced")


def test_low_words_is_the_decision_on_32_bit_arguments() -> None:
    diagrams = Diagrams()
    node = diagrams.condition(Cmp(0, "gt", 2**32 + 3))
    low = diagrams.low_words(node)
    assert low == diagrams.false  # no 32-bit value is above 2**32 + 3
    ip_test = diagrams.condition(Cmp(None, "gt", 2**32 + 3))
    assert diagrams.low_words(ip_test) == ip_test  # the instruction pointer keeps its bits


@settings(max_examples=100, deadline=None)
@given(policies(arch_choices=(("x86_64", "i386", "x32"),)), st.data())
def test_syscall_decision_is_the_reference_evaluator(policy: Policy, data: st.DataObject) -> None:
    _valid(policy)
    diagrams = Diagrams()
    for arch in policy.resolved_arches():
        for nr in interesting_numbers(policy, arch)[:12]:
            if dispatched_arch(arch.audit_arch, nr) != arch:
                continue  # a number of another ABI (x32's bit 30): bad_arch_action there
            node = syscall_decision(diagrams, policy, arch, nr)
            args = data.draw(arguments(policy))
            ip = data.draw(st.sampled_from([0, 2**32, MAX64]))
            assert diagrams.evaluate(node, args, ip) == policy.evaluate(arch, nr, args, ip)


def test_decision_differences_name_the_number() -> None:
    base = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("x86_64",))
    other = Policy(ERRNO(1), (Rule(("read",), LOG),), arches=("x86_64",))
    same = Policy(ERRNO(1), (Rule((0,), ALLOW),), arches=("x86_64",))
    arch = get_arch("x86_64")
    diagrams = Diagrams()
    assert decision_differences(diagrams, base, same, [arch]) == []
    found = decision_differences(diagrams, base, other, [arch])
    assert [(d.arch.name, d.nr) for d in found] == [("x86_64", 0)]
    unknown = Policy(ERRNO(1), arches=("x86_64",), unknown_syscall_action=KILL_PROCESS)
    plain = Policy(ERRNO(1), arches=("x86_64",))
    assert [d.nr for d in decision_differences(diagrams, unknown, plain, [arch])] == [None]
