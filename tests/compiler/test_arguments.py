"""Decision graphs decide as first match over the rules, judged by the reference's reading of
the conditions (``tests/reference/evaluator.holds``, which works from the comparisons' format
names), with a small walker of the graph written here."""

from __future__ import annotations

from bisect import bisect_right

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_bpf.compiler.arguments import DecisionGraph, Node, Row, rows_of
from seccomp_bpf.compiler.predicates import IP
from seccomp_bpf.policy import ALLOW, All, Any, Cmp, Condition, Policy, Rule
from tests.compiler.strategies import BOUNDARIES, conditions, near_values
from tests.reference import evaluator as reference

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
FALLBACK = 0x50001


def walk(node: Node, args: tuple[int, ...], ip: int) -> int:
    """Follow ``node``'s switches to its return value."""
    steps = 0
    while not node.is_return:
        assert node.operand is not None
        target, mask = node.operand
        value = (ip if target == IP else args[target]) & mask
        node = node.targets[bisect_right(node.starts, value) - 1]
        steps += 1
        assert steps < 100_000
    return node.value


def first_match(
    rules: list[tuple[Condition, int]], args: tuple[int, ...], ip: int, narrow: bool
) -> int:
    seen = tuple(a & MASK32 for a in args) if narrow else args
    for condition, value in rules:
        if reference.holds(condition, seen, ip):
            return value
    return FALLBACK


values = st.sampled_from([0x7FFF0000, 0x50001, 0x50002, 0x30000])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(conditions, values), min_size=1, max_size=8), st.booleans(), st.data())
def test_graphs_decide_as_first_match(
    rules: list[tuple[Condition, int]], narrow: bool, data: st.DataObject
) -> None:
    root = DecisionGraph().decide(rules, FALLBACK, narrow=narrow)
    near = near_values(Policy(ALLOW, tuple(Rule(("read",), ALLOW, c) for c, _ in rules)))
    for _ in range(40):
        args = tuple(data.draw(st.sampled_from(near)) for _ in range(6))
        ip = data.draw(st.sampled_from(BOUNDARIES))
        seen = tuple(a & MASK32 for a in args) if narrow else args
        assert walk(root, seen, ip) == first_match(rules, args, ip, narrow), (args, ip)


def test_rows_only_move_past_rows_they_cannot_change() -> None:
    # (a0=5, a1=2): the second rule decides. Moving the third up to join the first (both
    # test a0) would give C; it may only pass rows of its own action or disjoint ones.
    rules: list[tuple[Condition, int]] = [
        (Cmp(0, "eq", 1), 0xA),
        (Cmp(1, "eq", 2), 0xB),
        (Cmp(0, "eq", 5), 0xC),
        (Cmp(0, "eq", 6), 0xB),  # may pass the second rule: same action
    ]
    root = DecisionGraph().decide(rules, FALLBACK)
    assert walk(root, (5, 2, 0, 0, 0, 0), 0) == 0xB
    assert walk(root, (5, 3, 0, 0, 0, 0), 0) == 0xC
    assert walk(root, (6, 2, 0, 0, 0, 0), 0) == 0xB
    assert walk(root, (1, 2, 0, 0, 0, 0), 0) == 0xA


def test_runs_of_equalities_are_one_row() -> None:
    rules: list[tuple[Condition, int]] = [(Cmp(1, "eq", v), 0xA) for v in (9, 3, 5)]
    rules.append((Cmp(1, "eq", 4), 0xB))
    rows = rows_of(rules, narrow=False)
    assert rows == [
        Row((((1, MASK64), ((3, 3), (5, 5), (9, 9))),), 0xA),
        Row((((1, MASK64), ((4, 4),)),), 0xB),
    ]


def test_a_large_set_is_one_switch_with_a_region_per_value() -> None:
    members = list(range(10, 3000, 3))
    root = DecisionGraph().decide([(Cmp(1, "in", members), 0xA)], FALLBACK)
    assert root.operand == (1, MASK64)
    assert len(root.starts) == 2 * len(members) + 1
    for value in (9, 10, 11, 12, 13, 2998, 2999, 3000):
        expected = 0xA if value in members else FALLBACK
        assert walk(root, (0, value, 0, 0, 0, 0), 0) == expected


def test_common_prefixes_are_tested_once() -> None:
    # 40 conjunctions that all start with a0 == 7: one switch on a0, then one on a1.
    rules: list[tuple[Condition, int]] = [
        (All((Cmp(0, "eq", 7), Cmp(1, "eq", i))), 0xA) for i in range(40)
    ]
    root = DecisionGraph().decide(rules, FALLBACK)
    assert root.operand == (0, MASK64)
    inner = {t for t in root.targets if not t.is_return}
    assert len(inner) == 1
    (second,) = inner
    assert second.operand == (1, MASK64)
    assert all(t.is_return for t in second.targets)


def test_equal_tails_are_one_node() -> None:
    graph = DecisionGraph()
    tail = Any((Cmp(2, "eq", 1), Cmp(2, "eq", 9)))
    first = graph.decide([(All((Cmp(0, "eq", 1), tail)), 0xA)], FALLBACK)
    second = graph.decide([(All((Cmp(0, "eq", 2), tail)), 0xA)], FALLBACK)
    assert first is not second
    tails_first = {t for t in first.targets if not t.is_return}
    tails_second = {t for t in second.targets if not t.is_return}
    assert tails_first == tails_second  # the same node, shared by both blocks


def test_deep_nesting_without_recursion() -> None:
    condition: Condition = Cmp(0, "eq", 1)
    for i in range(5000):
        if i % 2:
            condition = All((Cmp(1, "gt", i), condition))
        else:
            condition = Any((Cmp(2, "eq", i), condition))
    root = DecisionGraph().decide([(condition, 0xA)], FALLBACK)
    for args in ((1, 10_000, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0), (0, 0, 4998, 0, 0, 0)):
        assert walk(root, args, 0) == (0xA if condition.holds(args) else FALLBACK)
