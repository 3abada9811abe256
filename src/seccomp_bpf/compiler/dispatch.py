"""Choose the decision for a system call number with a tree of ``JGE`` over number ranges.

The numbers a filter can see on one ``AUDIT_ARCH_*`` value (``0 .. 2**32-1``) are cut into
*segments*: maximal runs of consecutive numbers with the same decision. A binary tree of
``if (A >= boundary)`` instructions finds the segment; its leaves are jumps straight to a
``RET`` or to the argument block of one system call, so a leaf costs no instruction.

The tree is weight-balanced: each split puts about half of the weight on each side, where a
segment's weight is how often its numbers are called (from a frequency profile) plus a uniform
share per known system call. The expected number of comparisons is then within two of the
entropy bound (the classic result for weight-balanced alphabetic trees).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Label, ProgramBuilder

NUMBER_SPACE = 1 << 32


@dataclass(frozen=True, slots=True)
class Segment:
    """Numbers ``low .. high`` (inclusive) share ``decision``; ``weight``: their share of calls."""

    low: int
    high: int
    decision: Hashable
    weight: float


def segments(
    change_points: Sequence[int],
    decide: Callable[[int], Hashable],
    weigh: Callable[[int, int], float],
) -> list[Segment]:
    """Cut ``0 .. 2**32-1`` into runs of equal decision.

    ``change_points`` must contain every number at which ``decide`` may change (a number and its
    successor for each special number); ``decide`` is evaluated once per run start.
    """
    points = sorted({0, *(p for p in change_points if 0 <= p < NUMBER_SPACE)})
    out: list[Segment] = []
    for index, low in enumerate(points):
        high = (points[index + 1] if index + 1 < len(points) else NUMBER_SPACE) - 1
        decision = decide(low)
        if out and out[-1].decision == decision:
            previous = out[-1]
            out[-1] = Segment(previous.low, high, decision, previous.weight + weigh(low, high))
        else:
            out.append(Segment(low, high, decision, weigh(low, high)))
    return out


def emit_tree(
    builder: ProgramBuilder,
    parts: Sequence[Segment],
    target: Callable[[Hashable], Label],
) -> None:
    """Emit the search tree; ``A`` must hold the system call number.

    Each inner node is ``if (A >= parts[m].low) goto right else left``, the left subtree
    following directly. ``target`` gives the label of a decision.
    """
    if len(parts) == 1:
        builder.jump(target(parts[0].decision))
        return
    prefix = [0.0]
    for part in parts:
        prefix.append(prefix[-1] + part.weight)

    def split(first: int, last: int) -> int:
        """The index m in (first, last) that best halves the weight of parts[first:last]."""
        total_low, total_high = prefix[first], prefix[last]
        middle = (total_low + total_high) / 2
        m = bisect_left(prefix, middle, first + 1, last)
        best, best_gap = first + 1, float("inf")
        for candidate in (m - 1, m, m + 1):
            if first < candidate < last:
                gap = abs((prefix[candidate] - total_low) - (total_high - prefix[candidate]))
                if gap < best_gap:
                    best, best_gap = candidate, gap
        return best

    def node(first: int, last: int, here: Label | None) -> None:
        # The subtree over parts[first:last], emitted at the current position.
        if here is not None:
            builder.bind(here)
        m = split(first, last)
        left_is_leaf = m - first == 1
        right_is_leaf = last - m == 1
        right = target(parts[m].decision) if right_is_leaf else builder.label()
        left = target(parts[first].decision) if left_is_leaf else None  # None: follows here
        builder.jump_if(op.BPF_JGE, parts[m].low, right, left)
        if not left_is_leaf:
            node(first, m, None)
        if not right_is_leaf:
            node(m, last, right)

    node(0, len(parts), None)
