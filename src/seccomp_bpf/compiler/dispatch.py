"""Choose the decision for a system call number with a tree of ``JGE`` over number ranges.

The numbers a filter can see on one ``AUDIT_ARCH_*`` value (``0 .. 2**32-1``) are cut into
*segments*: maximal runs of consecutive numbers with the same decision. A binary tree of
``if (A >= boundary)`` instructions finds the segment; its leaves are jumps straight to a
``RET`` or to the argument block of one system call, so a leaf costs no instruction.

The tree is an optimal alphabetic tree for the segments' weights (:func:`optimal_depths`,
Garsia-Wachs), where a segment's weight is how often its numbers are called (from a frequency
profile, or the built-in prior of :mod:`.prior`) plus a uniform share per known system call;
depth limits are met by raising the weights of the leaves that sit too deep
(:func:`tree_shape`) and, for what is still too deep, by rebuilding subtrees
(:func:`limit_depths`). Beyond ``OPTIMAL_LIMIT`` segments the tree is balanced by weight.
A segment may carry *exceptions*, single numbers inside it decided otherwise, each tested by a
``JEQ`` at its leaf (:func:`with_exceptions`): one instruction where two ``JGE`` boundaries
would be needed.
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
    max_depth: int | None = None  # how deep in the tree this segment's leaf may sit
    # single numbers within low..high decided otherwise, each tested by a JEQ at the leaf
    exceptions: tuple[tuple[int, Hashable], ...] = ()


def segments(
    change_points: Sequence[int],
    decide: Callable[[int], Hashable],
    weigh: Callable[[int, int], float],
) -> list[Segment]:
    """Cut ``0 .. 2**32-1`` into runs of equal decision.

    ``change_points`` must contain every number at which ``decide`` may change (a number and its
    successor for each special number); ``decide`` is evaluated once per run start, ``weigh``
    once per resulting segment.
    """
    points = sorted({0, *(p for p in change_points if 0 <= p < NUMBER_SPACE)})
    starts: list[int] = []
    decisions: list[Hashable] = []
    for low in points:
        decision = decide(low)
        if not decisions or decisions[-1] != decision:
            starts.append(low)
            decisions.append(decision)
    ends = [*(start - 1 for start in starts[1:]), NUMBER_SPACE - 1]
    return [
        Segment(low, high, decision, weigh(low, high))
        for low, high, decision in zip(starts, ends, decisions, strict=True)
    ]


# Above this many segments the tree is balanced by weight directly: Garsia-Wachs, as written
# here, takes time quadratic in the segments in its worst case.
OPTIMAL_LIMIT = 512
# Rounds of raising the weight of leaves deeper than their limit (see tree_shape).
_LIMIT_ROUNDS = 24


def optimal_depths(weights: Sequence[float]) -> list[int]:
    """Leaf depths of an optimal alphabetic binary tree (Garsia-Wachs; Knuth, TAOCP 6.2.2).

    Phase 1 repeatedly joins the first pair ``(j-1, j)`` with ``w[j-1] <= w[j+1]`` and moves
    the joined node left, past lighter nodes; the depths of the leaves in the resulting tree
    are those of an optimal tree that keeps the leaves in order (phase 3, in
    :func:`_shape_from_depths`, builds it).
    """
    count = len(weights)
    if count == 1:
        return [0]
    items: list[tuple[float, int]] = [(w, i) for i, w in enumerate(weights)]
    children: dict[int, tuple[int, int]] = {}
    next_id = count
    j = 1
    while len(items) > 1:
        size = len(items)
        # Left of the last insertion point every w[i-1] > w[i+1] still holds, so the search
        # for the next pair resumes there rather than at the start.
        j = max(1, min(j, size - 1))
        while j < size - 1 and items[j - 1][0] > items[j + 1][0]:
            j += 1
        left, right = items[j - 1], items[j]
        joined = (left[0] + right[0], next_id)
        children[next_id] = (left[1], right[1])
        next_id += 1
        del items[j - 1 : j + 1]
        position = j - 1
        while position > 0 and items[position - 1][0] < joined[0]:
            position -= 1
        items.insert(position, joined)
        j = position - 1
    depths = [0] * count
    stack = [(items[0][1], 0)]
    while stack:
        node, depth = stack.pop()
        if node < count:
            depths[node] = depth
        else:
            left_id, right_id = children[node]
            stack.append((left_id, depth + 1))
            stack.append((right_id, depth + 1))
    return depths


# A tree shape over parts[first:last]: a leaf index, or (split, left, right) where the right
# subtree starts at parts[split].
Shape = int | tuple[int, "Shape", "Shape"]


def _shape_from_depths(depths: Sequence[int]) -> Shape:
    """The alphabetic tree whose leaves have ``depths`` (left to right), built with a stack."""
    stack: list[tuple[int, int, Shape]] = []  # (depth, first leaf index, subtree)
    for index, depth in enumerate(depths):
        stack.append((depth, index, index))
        while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
            depth_right, first_right, right = stack.pop()
            _, first_left, left = stack.pop()
            stack.append((depth_right - 1, first_left, (first_right, left, right)))
    if len(stack) != 1:
        raise AssertionError("leaf depths do not form an alphabetic tree")
    return stack[0][2]


def leaf_depths(shape: Shape) -> dict[int, int]:
    """The depth of each leaf of ``shape`` (walked with a stack)."""
    out: dict[int, int] = {}
    stack: list[tuple[Shape, int]] = [(shape, 0)]
    while stack:
        subtree, depth = stack.pop()
        if isinstance(subtree, int):
            out[subtree] = depth
        else:
            stack.append((subtree[1], depth + 1))
            stack.append((subtree[2], depth + 1))
    return out


def balanced_shape(weights: Sequence[float], first: int = 0, last: int | None = None) -> Shape:
    """A tree over ``weights[first:last]`` that splits each range at its weight's middle."""
    last = len(weights) if last is None else last
    prefix = [0.0]
    for weight in weights:
        prefix.append(prefix[-1] + weight)
    root: list[Shape] = [0]
    # (first, last, the list holding the slot, index of the slot)
    stack: list[tuple[int, int, list[Shape], int]] = [(first, last, root, 0)]
    made: list[tuple[list[Shape], int, int, list[Shape]]] = []
    while stack:
        low, high, slot, index = stack.pop()
        if high - low == 1:
            slot[index] = low
            continue
        middle = bisect_left(prefix, (prefix[low] + prefix[high]) / 2, low + 1, high)
        split = min(max(middle, low + 1), high - 1)
        pair: list[Shape] = [0, 0]
        made.append((slot, index, split, pair))
        stack.append((low, split, pair, 0))
        stack.append((split, high, pair, 1))
    for slot, index, split, pair in reversed(made):  # children are complete before parents
        slot[index] = (split, pair[0], pair[1])
    return root[0]


def tree_shape(parts: Sequence[Segment]) -> Shape:
    """The search tree over ``parts``: an optimal alphabetic tree for their weights, with
    leaves kept within their ``max_depth``.

    Depth limits are met by raising weights: a leaf deeper than its limit by ``e`` levels
    weighs ``2 ** e`` more (in an optimal tree a leaf rises about one level each time its
    weight doubles) and the optimal tree is made again, a few rounds at most; what is still
    too deep then is fixed by :func:`limit_depths`. Above :data:`OPTIMAL_LIMIT` segments the
    tree is balanced by weight.
    """
    weights = [part.weight for part in parts]
    if len(parts) > OPTIMAL_LIMIT:
        return limit_depths(balanced_shape(weights), parts)
    unlimited = 1 << 30
    # no leaf of a tree of two or more can be the root
    limits = [unlimited if p.max_depth is None else max(p.max_depth, 1) for p in parts]
    depths = optimal_depths(weights)
    seen = {tuple(depths)}
    # Kraft's inequality: leaves at depths d_i fit in a binary tree only if sum 2**-d_i <= 1.
    # When the limits break it, no tree meets them and raising weights cannot help.
    feasible = sum(2.0 ** -limit for limit in limits if limit < unlimited) <= 1.0
    for _ in range(_LIMIT_ROUNDS if feasible else 0):
        over = [i for i, depth in enumerate(depths) if depth > limits[i]]
        if not over:
            break
        for i in over:
            weights[i] *= 2.0 ** (depths[i] - limits[i])
        depths = optimal_depths(weights)
        if tuple(depths) in seen:
            break  # going round in circles: the limits cannot all be met this way
        seen.add(tuple(depths))
    return limit_depths(_shape_from_depths(depths), parts)


def limit_depths(shape: Shape, parts: Sequence[Segment]) -> Shape:
    """Rebuild the smallest subtrees needed so that leaves respect their ``max_depth``.

    Bottom-up: a subtree whose children could not be fixed is rebuilt when its leaves can all
    meet their limits from its depth. The rebuild still splits by weight, but only where both
    halves can meet their limits (a half of ``k`` leaves can, when every limit in it allows
    ``ceil(log2(k))`` more levels). The rest of the tree keeps its shape. Limits are a goal: a
    leaf that no subtree can satisfy stays where it is. Walks and rebuilds use stacks.
    """
    unlimited = 1 << 30
    limits = [unlimited if p.max_depth is None else p.max_depth for p in parts]
    if min(limits) == unlimited:
        return shape
    prefix = [0.0]
    for part in parts:
        prefix.append(prefix[-1] + part.weight)

    def fits(first: int, last: int, depth: int) -> bool:
        height = (last - first - 1).bit_length()  # ceil(log2(count))
        return depth + height <= min(limits[first:last])

    def rebuild(first: int, last: int, depth: int) -> Shape:
        root: list[Shape] = [0]
        stack: list[tuple[int, int, int, list[Shape], int]] = [(first, last, depth, root, 0)]
        made: list[tuple[list[Shape], int, int, list[Shape]]] = []
        while stack:
            low, high, level, slot, index = stack.pop()
            if high - low == 1:
                slot[index] = low
                continue
            middle = bisect_left(prefix, (prefix[low] + prefix[high]) / 2, low + 1, high)
            # candidate splits, nearest to the weight median first
            order = sorted(range(low + 1, high), key=lambda m: abs(m - middle))
            split = (low + high + 1) // 2  # the balanced split always fits
            for candidate in order:
                if fits(low, candidate, level + 1) and fits(candidate, high, level + 1):
                    split = candidate
                    break
            pair: list[Shape] = [0, 0]
            made.append((slot, index, split, pair))
            stack.append((low, split, level + 1, pair, 0))
            stack.append((split, high, level + 1, pair, 1))
        for slot, index, split, pair in reversed(made):
            slot[index] = (split, pair[0], pair[1])
        return root[0]

    # Post-order over the shape: (subtree, depth, first, last) -> (fixed subtree, all fine).
    results: dict[tuple[int, int], tuple[Shape, bool]] = {}
    stack: list[tuple[Shape, int, int, int, bool]] = [(shape, 0, 0, len(parts), False)]
    while stack:
        subtree, depth, first, last, expanded = stack.pop()
        if isinstance(subtree, int):
            results[_key(subtree, first, last)] = (subtree, depth <= limits[subtree])
            continue
        split, left, right = subtree
        if not expanded:
            stack.append((subtree, depth, first, last, True))
            stack.append((left, depth + 1, first, split, False))
            stack.append((right, depth + 1, split, last, False))
            continue
        new_left, left_ok = results.pop(_key(left, first, split))
        new_right, right_ok = results.pop(_key(right, split, last))
        if left_ok and right_ok:
            outcome: tuple[Shape, bool] = ((split, new_left, new_right), True)
        elif fits(first, last, depth):
            outcome = (rebuild(first, last, depth), True)
        else:
            outcome = ((split, new_left, new_right), False)
        results[_key(subtree, first, last)] = outcome
    return results[_key(shape, 0, len(parts))][0]


def _key(subtree: Shape, first: int, last: int) -> tuple[int, int]:
    """A subtree of a shape is known by the range of leaves it covers."""
    return first, last


def with_exceptions(parts: Sequence[Segment]) -> list[Segment]:
    """``parts`` with each single number between two segments of one decision made an
    exception of the segment around it: one ``JEQ`` instead of two ``JGE`` boundaries (one
    instruction less), for one more comparison on the path of the segment's other numbers.
    """
    out: list[Segment] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        index += 1
        while (
            index + 1 < len(parts)
            and parts[index].low == parts[index].high
            and parts[index + 1].decision == part.decision
        ):
            single, after = parts[index], parts[index + 1]
            limits = [d for d in (part.max_depth, after.max_depth) if d is not None]
            part = Segment(
                part.low,
                after.high,
                part.decision,
                part.weight + single.weight + after.weight,
                min(limits) if limits else None,
                (*part.exceptions, (single.low, single.decision), *after.exceptions),
            )
            index += 2
        out.append(part)
    return out


def tree_cost(parts: Sequence[Segment]) -> tuple[float, int]:
    """The weighted comparisons of :func:`emit_tree`'s code for ``parts`` (a leaf's
    exceptions counted on the whole leaf's weight; the optimal tree's depths, before depth
    limits), and its instructions."""
    exceptions = sum(len(part.exceptions) for part in parts)
    depths = optimal_depths([part.weight for part in parts])
    cost = sum(
        part.weight * (depth + len(part.exceptions))
        for depth, part in zip(depths, parts, strict=True)
    )
    return cost, len(parts) - 1 + exceptions


def emit_tree(
    builder: ProgramBuilder,
    parts: Sequence[Segment],
    target: Callable[[Hashable], Label],
) -> None:
    """Emit the search tree; ``A`` must hold the system call number.

    Each inner node is ``if (A >= first number of the right subtree) goto right else left``,
    the left subtree following directly; leaves are jumps to ``target(decision)``, or to a
    chain of ``JEQ`` over the leaf's exceptions that ends there.
    """
    chains: list[tuple[Label, Segment]] = []

    def leaf(part: Segment) -> Label:
        if not part.exceptions:
            return target(part.decision)
        label = builder.label()
        chains.append((label, part))
        return label

    if len(parts) == 1 and parts[0].exceptions:
        chains.append((builder.label(), parts[0]))  # the chain right here
    elif len(parts) == 1:
        builder.jump(target(parts[0].decision))
    else:
        shape = tree_shape(parts)
        assert not isinstance(shape, int)
        stack: list[tuple[tuple[int, Shape, Shape], Label | None]] = [(shape, None)]
        while stack:
            (split, left, right), here = stack.pop()
            if here is not None:
                builder.bind(here)
            left_label = leaf(parts[left]) if isinstance(left, int) else None
            if isinstance(right, int):
                right_label = leaf(parts[right])
            else:
                right_label = builder.label()
                stack.append((right, right_label))
            builder.jump_if(op.BPF_JGE, parts[split].low, right_label, left_label)
            if not isinstance(left, int):
                stack.append((left, None))
    for label, part in chains:
        builder.bind(label)
        *first, (last, decision) = part.exceptions
        for number, where in first:
            builder.jump_if(op.BPF_JEQ, number, target(where), None)
        builder.jump_if(op.BPF_JEQ, last, target(decision), target(part.decision))
