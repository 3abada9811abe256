from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import ProgramBuilder
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.compiler.dispatch import (
    Segment,
    Shape,
    _shape_from_depths,
    emit_tree,
    limit_depths,
    optimal_depths,
    segments,
)

weights = st.lists(st.floats(0.001, 100.0), min_size=1, max_size=12)


def best_cost(ws: list[float]) -> float:
    """Minimum of sum(w * depth) over alphabetic trees, by exhaustive dynamic programming."""

    @functools.cache
    def cost(first: int, last: int) -> float:
        if last - first == 1:
            return 0.0
        total = sum(ws[first:last])
        return total + min(cost(first, m) + cost(m, last) for m in range(first + 1, last))

    return cost(0, len(ws))


@settings(max_examples=300, deadline=None)
@given(weights)
def test_garsia_wachs_is_optimal(ws: list[float]) -> None:
    depths = optimal_depths(ws)
    achieved = sum(w * d for w, d in zip(ws, depths, strict=True))
    assert abs(achieved - best_cost(ws)) <= 1e-9 * max(1.0, achieved)
    _shape_from_depths(depths)  # the depths form an alphabetic tree


def leaf_depths(shape: Shape, depth: int = 0) -> dict[int, int]:
    if isinstance(shape, int):
        return {shape: depth}
    _, left, right = shape
    return leaf_depths(left, depth + 1) | leaf_depths(right, depth + 1)


@settings(max_examples=300, deadline=None)
@given(weights, st.data())
def test_limit_depths_meets_feasible_limits(ws: list[float], data: st.DataObject) -> None:
    count = len(ws)
    height = (count - 1).bit_length()  # a balanced tree always meets limits >= this
    limits = [data.draw(st.none() | st.integers(height, height + 3)) for _ in ws]
    parts = [
        Segment(i, i, i, w, limit) for i, (w, limit) in enumerate(zip(ws, limits, strict=True))
    ]
    shape = limit_depths(_shape_from_depths(optimal_depths(ws)), parts)
    depths = leaf_depths(shape)
    assert sorted(depths) == list(range(count))
    for index, limit in enumerate(limits):
        if limit is not None:
            assert depths[index] <= limit


def test_segments_merge_equal_neighbours() -> None:
    decide = {0: "a", 5: "b", 6: "a", 10: "a"}.get
    parts = segments([5, 6, 10], lambda nr: decide(nr) or "a", lambda lo, hi: float(hi - lo + 1))
    assert [(p.low, p.high, p.decision) for p in parts] == [
        (0, 4, "a"),
        (5, 5, "b"),
        (6, 2**32 - 1, "a"),
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 2**32 - 2), min_size=1, max_size=20, unique=True), weights)
def test_emitted_tree_finds_every_segment(cuts: list[int], ws: list[float]) -> None:
    bounds = sorted(cuts)
    starts = [0, *bounds]
    parts = [
        Segment(low, high, index, ws[index % len(ws)])
        for index, (low, high) in enumerate(
            zip(starts, [*(b - 1 for b in bounds), 2**32 - 1], strict=True)
        )
    ]
    b = ProgramBuilder()
    labels = {part.decision: b.label() for part in parts}
    b.load(op.OFFSET_NR)
    emit_tree(b, parts, lambda decision: labels[decision])
    for decision, label in labels.items():
        b.bind(label)
        assert isinstance(decision, int)
        b.ret(op.SECCOMP_RET_ERRNO | decision)
    program = b.build()
    for part in parts:
        assert isinstance(part.decision, int)
        for nr in {part.low, part.high, (part.low + part.high) // 2}:
            result = emulate(program, SeccompData(nr, 0)).ret
            assert result == op.SECCOMP_RET_ERRNO | part.decision
