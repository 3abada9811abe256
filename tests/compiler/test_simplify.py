from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.compiler.simplify import merge_rules, simplify
from seccomp_bpf.policy import All, Any, Cmp, Not
from tests.compiler.strategies import BOUNDARIES, conditions

arguments = st.tuples(*[st.sampled_from(BOUNDARIES)] * 6)


@settings(max_examples=300, deadline=None)
@given(conditions, st.lists(arguments, min_size=1, max_size=10))
def test_simplify_keeps_meaning(condition: object, inputs: list[tuple[int, ...]]) -> None:
    simpler = simplify(condition)  # type: ignore[arg-type]
    for args in inputs:
        assert simpler.holds(args, 0) == condition.holds(args, 0)  # type: ignore[attr-defined]


def test_equalities_become_one_in() -> None:
    merged = simplify(Any((Cmp(0, "eq", 1), Cmp(0, "eq", 2), Cmp(1, "eq", 3), Cmp(0, "in", (4,)))))
    assert merged == Any((Cmp(0, "in", (1, 2, 4)), Cmp(1, "eq", 3)))


def test_double_negation_and_nesting() -> None:
    inner = Cmp(2, "gt", 7)
    assert simplify(Not(Not(inner))) == inner
    assert simplify(All((All((inner,)), inner))) == All((inner, inner))


def test_merge_rules_joins_neighbours_with_the_same_result() -> None:
    a, b, c = Cmp(0, "eq", 1), Cmp(0, "eq", 2), Cmp(1, "eq", 3)
    assert merge_rules([(a, 1), (b, 1), (c, 2)]) == [(Cmp(0, "in", (1, 2)), 1), (c, 2)]


@settings(max_examples=400, deadline=None)
@given(conditions, st.lists(st.tuples(*[st.integers(0, 0xFFFFFFFF)] * 6), min_size=1, max_size=10))
def test_narrowing_is_exact_for_32_bit_arguments(
    condition: object, inputs: list[tuple[int, ...]]
) -> None:
    from seccomp_bpf.compiler.simplify import narrow_to_32_bits

    narrow = narrow_to_32_bits(condition)  # type: ignore[arg-type]
    for args in inputs:
        for ip in (0, 0x1_0000_0000):
            assert narrow.holds(args, ip) == condition.holds(args, ip)  # type: ignore[attr-defined]
