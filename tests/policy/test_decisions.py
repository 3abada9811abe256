"""Decisions cut into regions: every condition decides as ``Condition.holds``; comparisons of
decisions and of conditions are exact."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.policy import (
    ALLOW,
    KILL_PROCESS,
    Cmp,
    Condition,
    eq,
)
from seccomp_bpf.policy.decisions import (
    Partition,
    chain_partition,
)
from tests.compiler.strategies import MAX64, conditions

_args = st.tuples(*[st.integers(0, MAX64)] * 6)
HOLDS, FAILS = ALLOW, KILL_PROCESS


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


def test_comparisons_at_their_boundaries() -> None:
    for op, value in [("lt", 5), ("le", 2**32), ("gt", 2**63), ("ge", 1), ("eq", 7), ("ne", 0)]:
        for width in (64, 32):
            cmp = Cmp(1, op, value & ((1 << width) - 1), width=width)
            decision = _decision(cmp)
            for x in _near([value, *cmp.boundary_values()]):
                args = (0, x, 0, 0, 0, 0)
                expected = HOLDS if cmp.holds(args) else FAILS
                assert decision.action_for(args) == expected, (op, value, width, x)


def test_narrowed_is_the_decision_on_32_bit_arguments() -> None:
    decision = _decision(Cmp(0, "gt", 2**32 + 3))
    # no 32-bit value is above 2**32 + 3
    assert decision.narrowed().constant_action == FAILS
    assert not decision.narrowed().same(decision)
    ip_test = _decision(Cmp(None, "gt", 2**32 + 3))
    assert ip_test.narrowed().same(ip_test)  # the instruction pointer keeps its bits
    low_only = _decision(eq(0, 1, width=32))
    assert low_only.narrowed().same(low_only)
    differences = decision.differences(decision.narrowed())
    assert differences and all(a == HOLDS and b == FAILS for _, a, b in differences)
