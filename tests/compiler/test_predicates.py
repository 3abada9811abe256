"""Literals and disjunctive forms mean what the conditions they come from mean."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.compiler.predicates import (
    IP,
    Term,
    conjoin,
    disjunctive_form,
    holds,
    literal,
    negated,
)
from seccomp_bpf.policy import All, Any, Cmp, Comparison, Condition, Not
from seccomp_bpf.policy.conditions import CLASSES
from tests.compiler.strategies import BOUNDARIES, comparisons, conditions

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
arguments = st.tuples(*[st.sampled_from(BOUNDARIES)] * 6)


def term_holds(term: Term, args: tuple[int, ...], ip: int) -> bool:
    return all(holds(item, args, ip) for item in term)


def form_holds(terms: list[Term], args: tuple[int, ...], ip: int) -> bool:
    return any(term_holds(term, args, ip) for term in terms)


def narrowed(args: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a & MASK32 for a in args)


@settings(max_examples=500, deadline=None)
@given(comparisons(), st.lists(arguments, min_size=1, max_size=8), st.sampled_from(BOUNDARIES))
def test_a_literal_holds_where_its_comparison_does(
    cmp: Comparison, inputs: list[tuple[int, ...]], ip: int
) -> None:
    for narrow in (False, True):
        item = literal(cmp, narrow)
        for args in inputs:
            # a 32-bit ABI's call sees each argument's low word, zero-extended
            seen = narrowed(args) if narrow else args
            expected = cmp.holds(seen, ip)
            got = item if isinstance(item, bool) else holds(item, seen, ip)
            assert got == expected, (cmp, narrow, args, item)
            if not isinstance(item, bool):
                opposite = negated(item)
                flipped = opposite if isinstance(opposite, bool) else holds(opposite, seen, ip)
                assert flipped == (not expected)


def test_every_comparison_class_is_a_literal() -> None:
    # The compiler reads each comparison's constraint() (Equal has a shortcut, which must
    # give the same literal).
    made = [Cmp(1, cls.operation, _operand_of(cls), mask=_mask_of(cls)) for cls in CLASSES]
    assert {type(c) for c in made} == set(CLASSES)
    for cmp in made:
        assert literal(cmp, False) not in (True, False), cmp
    equal = Cmp(2, "eq", 7)
    assert literal(equal, False) == ((2, MASK64), ((7, 7),))
    assert literal(Cmp(2, "eq", 7, width=32), False) == ((2, MASK32), ((7, 7),))
    assert literal(Cmp(None, "eq", 1 << 40), True) == ((IP, MASK64), ((1 << 40, 1 << 40),))
    assert literal(Cmp(0, "eq", 1 << 40), True) is False  # no 32-bit argument is that big


def _operand_of(cls: type[Comparison]) -> int | tuple[int, int]:
    if cls.operation in ("in", "not_in"):
        return (3, 9)
    if cls.operation == "range":
        return (3, 9)
    return 4


def _mask_of(cls: type[Comparison]) -> int | None:
    return 0xFF if cls.operation == "masked_eq" else None


@settings(max_examples=400, deadline=None)
@given(conditions, st.lists(arguments, min_size=1, max_size=8), st.booleans())
def test_the_disjunctive_form_holds_where_the_condition_does(
    condition: Condition, inputs: list[tuple[int, ...]], narrow: bool
) -> None:
    terms = disjunctive_form(condition, narrow, 10_000)
    assert terms is not None
    for args in inputs:
        seen = narrowed(args) if narrow else args
        for ip in (0, MASK64):
            assert form_holds(terms, seen, ip) == condition.holds(seen, ip)


def test_alternatives_of_one_operand_become_one_literal() -> None:
    condition = Any(tuple(Cmp(1, "eq", v) for v in (5, 1, 3, 2)))
    assert disjunctive_form(condition, False, 100) == [(((1, MASK64), ((1, 3), (5, 5))),)]


def test_negations_reach_the_literals() -> None:
    condition = Not(All((Cmp(0, "lt", 10), Cmp(0, "gt", 2))))
    # not (2 < a < 10) is a <= 2 or a >= 10: one literal of one operand
    assert disjunctive_form(condition, False, 100) == [(((0, MASK64), ((0, 2), (10, MASK64))),)]


def test_contradictions_and_tautologies() -> None:
    assert disjunctive_form(All((Cmp(0, "eq", 1), Cmp(0, "eq", 2))), False, 100) == []
    assert disjunctive_form(Any((Cmp(0, "lt", 5), Cmp(0, "ge", 5))), False, 100) == [()]
    assert disjunctive_form(All(()), False, 100) == [()]
    assert disjunctive_form(Any(()), False, 100) == []


def test_forms_beyond_the_limit_are_refused() -> None:
    # (bit i of arg0 or of arg1) for each of 12 bits: 2**12 terms of 12 literals
    parts = tuple(
        Any((Cmp(0, "bits_set", 1 << i), Cmp(1, "bits_set", 1 << i))) for i in range(12)
    )
    assert disjunctive_form(All(parts), False, 1000) is None


def test_the_work_is_limited_too() -> None:
    # All and Any alternating, 2,000 deep: the form stays small (terms of a few literals), but
    # reaching it would take time growing with the square of the depth.
    condition: Condition = Cmp(0, "eq", 1)
    for i in range(2000):
        if i % 2:
            condition = All((Cmp(1, "gt", i), condition))
        else:
            condition = Any((Cmp(2, "eq", i), condition))
    assert disjunctive_form(condition, False, 8000) is None


def test_conjoin() -> None:
    a = (((0, MASK64), ((1, 10),)),)
    b = (((0, MASK64), ((5, 20),)), ((1, 0xFF00), ((0x100, 0x100),)))
    assert conjoin(a, b) == (((0, MASK64), ((5, 10),)), ((1, 0xFF00), ((0x100, 0x100),)))
    assert conjoin(a, (((0, MASK64), ((11, 12),)),)) is None
    assert conjoin((), a) == a
