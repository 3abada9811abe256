"""The rules of one system call that read its arguments, as a decision diagram.

A system call's rules are tried in order and the first that holds decides (DESIGN §3). The
compiler turns that list into a directed acyclic graph of :class:`Node` s: a *switch* reads one
operand (:mod:`.predicates`) and goes on by the interval its value falls in; a *return* ends
with a return value. :mod:`.search` then writes each switch as a balanced search.

Rows. Each rule becomes one row per term of its condition's disjunctive form (consecutive rows
with the rule's action, which is what the rule means under first match), or, when that form
would be too large, one row holding the whole condition (an *opaque* row, compiled as a
short-circuit test and never regrouped).

Splitting (the compilation of pattern matching, as in Maranget's decision trees). Given rows
``r1..rm`` and what follows them (the *fallback*), an operand ``X`` tested by the first row is
chosen, and a *block*: the rows that test ``X``, taken from the top. A row may join the block
across rows that do not test ``X`` only if it can change places with each of them without
changing any decision: two rows with the same action can (whichever holds first, the action is
the same), and so can two rows that never hold together (a common operand with disjoint sets).
The block's sets of ``X`` cut the values of ``X`` into regions; for each region, the rows of the
block whose set contains it, without their test of ``X`` and in order, decide, and after them
the rows left out of the block (the *continuation*), then the fallback. Rows whose set of ``X``
is one value (runs of ``==`` rules, ``in`` sets) fall in one region each, so a block of ``n``
such rows is one switch over ``2n + 1`` regions and one row per region, and the common prefix
of conjunctions (the same ``X``) is tested once. When regions would repeat rows too often
(overlapping ranges with more tests), the block is halved, down to the first row alone, which
is the plain test of its conjunction.

Sharing. Requests for the same rows before the same fallback give the same node, and
:meth:`DecisionGraph.intern` merges nodes that are equal (same operand, same regions, same
targets), bottom-up, across all the blocks of a section: identical tails are emitted once.

Every step is iterative (explicit stacks and work lists); the work grows with the rows and the
regions they make, not with their square, and the depth of nothing depends on the size of the
policy.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.compiler.predicates import Operand, Term, conjoin, disjunctive_form, literal
from seccomp_bpf.policy import All, Any, Comparison, Condition, Not
from seccomp_bpf.policy.conditions import comparisons
from seccomp_bpf.policy.values import Intervals, normalize_intervals

# A rule's disjunctive form may have this many intervals per interval of its comparisons'
# literals (and at least _FORM_FLOOR): beyond, the rule is an opaque row.
_FORM_PER_COMPARISON: Final = 4
_FORM_FLOOR: Final = 64
# While looking for a block, give up after this many rows in a row that cannot join it.
_SCAN_LIMIT: Final = 32
# Rows with another action are checked for disjointness up to this many; beyond, a row joins
# the block across them only with their action.
_DISJOINT_CHECKS: Final = 8
# The regions of one block may hold this many rows in all (times the block's rows, plus a
# constant) before the block is halved.
_SPREAD: Final = 4
_SPREAD_FLOOR: Final = 64


class Node:
    """A node of the decision graph: a return (``operand`` is None) or a switch.

    A switch reads ``operand`` and goes to ``targets[i]`` when its value lies in
    ``starts[i] .. starts[i + 1] - 1`` (the last region runs to the operand's mask);
    ``starts[0]`` is 0 and neighbouring regions have different targets.
    """

    __slots__ = ("operand", "starts", "targets", "value")

    def __init__(self) -> None:
        self.operand: Operand | None = None
        self.starts: tuple[int, ...] = ()
        self.targets: tuple[Node, ...] = ()
        self.value = 0

    @property
    def is_return(self) -> bool:
        return self.operand is None

    def become(self, other: Node) -> None:
        self.operand, self.starts = other.operand, other.starts
        self.targets, self.value = other.targets, other.value

    def __repr__(self) -> str:
        if self.operand is None:
            return f"<return {self.value:#x}>"
        return f"<switch {self.operand} over {len(self.starts)} regions>"


@dataclass(frozen=True, slots=True)
class Row:
    """One alternative of one rule: ``term`` (or, for an opaque row, ``test``) -> ``value``."""

    term: Term
    value: int
    test: Condition | None = None

    @property
    def unconditional(self) -> bool:
        return not self.term and self.test is None

    def operands(self) -> dict[Operand, Intervals]:
        return dict(self.term)


def rows_of(rules: Sequence[tuple[Condition, int]], narrow: bool) -> list[Row]:
    """The rows of a rule chain ``(condition, return value)``, in order.

    Neighbouring rows that test one operand alone and give one value are one row with the
    union of their sets (``a == 1`` then ``a == 2``, both allowed, is ``a in {1, 2}``): under
    first match either order gives that value, and runs of ``==`` rules become one set.
    """
    rows: list[Row] = []
    run: list[tuple[int, int]] = []  # the intervals of the run being joined into rows[-1]

    def add(row: Row) -> None:
        nonlocal run
        term = row.term
        if len(term) == 1 and rows:
            last = rows[-1]
            if len(last.term) == 1 and last.value == row.value and last.term[0][0] == term[0][0]:
                if not run:
                    run = list(last.term[0][1])
                run.extend(term[0][1])
                return
        close()
        rows.append(row)

    def close() -> None:
        nonlocal run
        if run:
            last = rows.pop()
            operand = last.term[0][0]
            rows.append(Row(((operand, normalize_intervals(run)),), last.value))
            run = []

    for condition, value in rules:
        if isinstance(condition, Comparison):  # the common case: one literal
            item = literal(condition, narrow)
            if item is not False:
                add(Row(() if item is True else (item,), value))
            continue
        parts = condition.conditions if isinstance(condition, All) else ()
        if parts and all(isinstance(part, Comparison) for part in parts):
            # a conjunction of comparisons: one term (or none, when they cannot all hold)
            term: Term | None = ()
            for part in parts:
                assert isinstance(part, Comparison)
                item = literal(part, narrow)
                if item is False:
                    term = None
                    break
                if item is not True and term is not None:
                    term = conjoin(term, (item,))
                    if term is None:
                        break
            if term is not None:
                add(Row(term, value))
            continue
        count = sum(_intervals_of(part, narrow) for part in comparisons(condition))
        limit = max(_FORM_FLOOR, _FORM_PER_COMPARISON * count)
        terms = disjunctive_form(condition, narrow, limit)
        if terms is None:
            close()
            rows.append(Row((), value, condition))
        else:
            for term in terms:
                add(Row(term, value))
    close()
    return rows


def _intervals_of(comparison: Comparison, narrow: bool) -> int:
    """The size of a comparison's literal: its intervals (1 for a constant)."""
    item = literal(comparison, narrow)
    return 1 if isinstance(item, bool) else len(item[1])


class DecisionGraph:
    """Builds the decision graphs of one section's argument blocks, sharing their nodes."""

    def __init__(self) -> None:
        self._returns: dict[int, Node] = {}
        self._interned: dict[tuple[object, ...], Node] = {}
        # id(node) -> (node, its interned equal); the node is kept so that its id stays its own
        self._canonical: dict[int, tuple[Node, Node]] = {}

    def ret(self, value: int) -> Node:
        node = self._returns.get(value)
        if node is None:
            node = self._returns[value] = Node()
            node.value = value
        return node

    def decide(
        self, rules: Sequence[tuple[Condition, int]], fallback: int, *, narrow: bool = False
    ) -> Node:
        """The interned root of the graph for ``rules`` (first match), then ``fallback``
        (``narrow``: arguments are 32-bit values, see :mod:`.predicates`)."""
        builder = _Builder(self, rows_of(rules, narrow), narrow)
        return self.intern(builder.run(self.ret(fallback)))

    # -- sharing -----------------------------------------------------------------------------

    def intern(self, root: Node) -> Node:
        """The node equal to ``root`` that this graph already has (or ``root`` made one),
        with every node below it interned; regions with one target merge, and a switch left
        with one region is its target."""
        canonical = self._canonical
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in canonical:
                continue
            if node.operand is None:
                canonical[id(node)] = (node, self.ret(node.value))
            elif not expanded:
                stack.append((node, True))
                for target in set(node.targets):
                    if id(target) not in canonical:
                        stack.append((target, False))
            else:
                canonical[id(node)] = (node, self._intern_switch(node))
        return canonical[id(root)][1]

    def _intern_switch(self, node: Node) -> Node:
        assert node.operand is not None
        canonical = self._canonical
        starts: list[int] = []
        targets: list[Node] = []
        last = None
        for start, target in zip(node.starts, node.targets, strict=True):
            target = canonical[id(target)][1]
            if target is last:
                continue
            starts.append(start)
            targets.append(target)
            last = target
        if len(targets) == 1:
            return targets[0]
        key = (node.operand, tuple(starts), *map(id, targets))
        found = self._interned.get(key)
        if found is None:
            found = self._interned[key] = Node()
            found.operand, found.starts, found.targets = node.operand, tuple(starts), tuple(targets)
            self._canonical[id(found)] = (found, found)
        return found

    def switch(self, operand: Operand, values: Intervals, inside: Node, outside: Node) -> Node:
        """``inside`` when the operand's value is in ``values``, else ``outside``."""
        node = Node()
        node.operand = operand
        starts: list[int] = []
        targets: list[Node] = []
        at = 0
        for lo, hi in values:
            if lo > at:
                starts.append(at)
                targets.append(outside)
            starts.append(lo)
            targets.append(inside)
            at = hi + 1
        if at <= operand[1]:
            starts.append(at)
            targets.append(outside)
        node.starts, node.targets = tuple(starts), tuple(targets)
        return node

    def test(self, condition: Condition, inside: Node, outside: Node, narrow: bool) -> Node:
        """Short-circuit evaluation of ``condition``: ``inside`` if it holds, else ``outside``.

        ``All``: each part's ``true`` goes to the next part, ``false`` out; ``Any`` the other
        way round; ``Not`` swaps the two. Parts are built last to first (each needs the node of
        the part after it), with a stack of frames instead of recursion.
        """
        frames: list[list[object]] = []  # [combination, index of the part built, true, false]
        node, true, false = condition, inside, outside
        while True:
            while True:  # down to a comparison (or an empty All/Any)
                if isinstance(node, Not):
                    true, false = false, true
                    node = node.condition
                elif isinstance(node, (All, Any)):
                    if not node.conditions:
                        result = true if isinstance(node, All) else false
                        break
                    frames.append([node, len(node.conditions) - 1, true, false])
                    node = node.conditions[-1]
                else:
                    assert isinstance(node, Comparison)
                    item = literal(node, narrow)
                    if isinstance(item, bool):
                        result = true if item else false
                    else:
                        result = self.switch(item[0], item[1], true, false)
                    break
            while frames:  # result is the node of part ``index`` of the innermost frame
                frame = frames[-1]
                combination, index, frame_true, frame_false = frame
                assert isinstance(combination, (All, Any)) and isinstance(index, int)
                if index == 0:
                    frames.pop()
                    continue
                frame[1] = index - 1
                node = combination.conditions[index - 1]
                if isinstance(combination, All):
                    true, false = result, frame_false  # type: ignore[assignment]
                else:
                    true, false = frame_true, result  # type: ignore[assignment]
                break
            else:
                return result


class _Builder:
    """The splitting of one block's rows into a graph (see the module docstring)."""

    def __init__(self, graph: DecisionGraph, rows: list[Row], narrow: bool) -> None:
        self.graph = graph
        self.rows = rows
        self.narrow = narrow
        self.memo: dict[tuple[object, ...], Node] = {}
        self.pending: list[tuple[Node, list[Row], Node]] = []

    def run(self, fallback: Node) -> Node:
        root = self.request(self.rows, fallback)
        while self.pending:
            node, rows, after = self.pending.pop()
            self.split(node, rows, after)
        return root

    def request(self, rows: list[Row], fallback: Node, *, shared: bool = False) -> Node:
        """The node deciding ``rows`` then ``fallback``; filled in later by :meth:`split`."""
        if not rows:
            return fallback
        if rows[0].unconditional:
            return self.graph.ret(rows[0].value)
        key: tuple[object, ...] | None = None
        if shared:
            key = (id(fallback), *rows)
            found = self.memo.get(key)
            if found is not None:
                return found
        node = Node()
        if key is not None:
            self.memo[key] = node
        self.pending.append((node, rows, fallback))
        return node

    def split(self, node: Node, rows: list[Row], fallback: Node) -> None:
        first = rows[0]
        if first.test is not None:
            rest = self.request(rows[1:], fallback)
            node.become(self.graph.test(first.test, self.graph.ret(first.value), rest, self.narrow))
            return
        if len(first.term) == 1:
            operand = first.term[0][0]
            members = self.block(rows, operand)
        else:
            best: tuple[int, int, Operand, list[int]] | None = None
            for operand, _ in first.term:
                members = self.block(rows, operand)
                distinct = len({dict(rows[i].term)[operand] for i in members})
                score = (-len(members), distinct, operand, members)
                if best is None or score[:3] < best[:3]:
                    best = score
            assert best is not None
            operand, members = best[2], best[3]
        if len(members) == 1:  # one row: its set, and the rest
            row = rows[0]
            values = next(values for op, values in row.term if op == operand)
            rest = self.request(rows[1:], fallback)
            inside = self.request(
                [Row(tuple(item for item in row.term if item[0] != operand), row.value)], rest
            )
            node.become(self.graph.switch(operand, values, inside, rest))
            return
        while True:
            regions = self.regions(rows, members, operand)
            if regions is not None:
                break
            members = members[: max(1, len(members) // 2)]
        chosen = set(members)
        rest = self.request([row for i, row in enumerate(rows) if i not in chosen], fallback)
        starts, lists = regions
        targets = tuple(self.request(items, rest, shared=True) for items in lists)
        node.operand, node.starts, node.targets = operand, tuple(starts), targets

    def block(self, rows: list[Row], operand: Operand) -> list[int]:
        """The indices of the rows that test ``operand`` and can be moved to the top, in order."""
        members = [0]
        skipped: list[Row] = []
        skipped_values: set[int] = set()
        misses = 0
        for index in range(1, len(rows)):
            row = rows[index]
            tests = row.test is None and any(op == operand for op, _ in row.term)
            if tests and self.moves_past(row, skipped, skipped_values):
                members.append(index)
                misses = 0
                continue
            skipped.append(row)
            skipped_values.add(row.value)
            misses += 1
            if misses > _SCAN_LIMIT:
                break
        return members

    @staticmethod
    def moves_past(row: Row, skipped: list[Row], values: set[int]) -> bool:
        """Whether ``row`` decides the same when tried before each of ``skipped``."""
        if not skipped or values == {row.value}:
            return True
        others = [s for s in skipped if s.value != row.value]
        if len(others) > _DISJOINT_CHECKS:
            return False
        mine = row.operands()
        return all(_disjoint(mine, other) for other in others)

    def regions(
        self, rows: list[Row], members: list[int], operand: Operand
    ) -> tuple[list[int], list[list[Row]]] | None:
        """The regions of ``operand`` the block's sets make, each with the block's rows that
        hold there (without their test of ``operand``, up to the first one that then always
        holds); ``None`` when they would hold too many rows in all."""
        sets: list[Intervals] = []
        reduced: list[Row] = []
        for index in members:
            row = rows[index]
            term = row.term
            if len(term) == 1:  # the operand's test alone
                sets.append(term[0][1])
                reduced.append(Row((), row.value))
                continue
            sets.append(next(values for op, values in term if op == operand))
            reduced.append(Row(tuple(item for item in term if item[0] != operand), row.value))
        top = operand[1]
        if all(len(values) == 1 and values[0][0] == values[0][1] for values in sets):
            return _point_regions(sets, reduced, top)
        cuts = {0}
        for values in sets:
            for lo, hi in values:
                cuts.add(lo)
                if hi < top:
                    cuts.add(hi + 1)
        starts = sorted(cuts)
        count = len(starts)
        lists: list[list[Row]] = [[] for _ in range(count)]
        # next_open[i]: the first region at or after i whose list is still open (one ends with
        # a row that always holds there), found with path halving.
        next_open = list(range(count + 1))
        budget = _SPREAD * len(members) + _SPREAD_FLOOR
        for values, row in zip(sets, reduced, strict=True):
            closes = row.unconditional
            for lo, hi in values:
                first = bisect_left(starts, lo)
                end = bisect_right(starts, hi)
                region = _find(next_open, first)
                while region < end:
                    lists[region].append(row)
                    budget -= 1
                    if closes:
                        next_open[region] = region + 1
                    region = _find(next_open, region + 1)
                if budget < 0 and len(members) > 1:
                    return None
        return starts, lists


def _point_regions(
    sets: list[Intervals], reduced: list[Row], top: int
) -> tuple[list[int], list[list[Row]]]:
    """:meth:`_Builder.regions` when every set is one value (``==`` rules): a region per
    value, with its rows in order up to the first that always holds, and the gaps empty."""
    at: dict[int, list[Row]] = {}
    for values, row in zip(sets, reduced, strict=True):
        found = at.setdefault(values[0][0], [])
        if not found or not found[-1].unconditional:
            found.append(row)
    starts: list[int] = []
    lists: list[list[Row]] = []
    following = 0
    for value in sorted(at):
        if value > following:
            starts.append(following)
            lists.append([])
        starts.append(value)
        lists.append(at[value])
        following = value + 1
    if following <= top:
        starts.append(following)
        lists.append([])
    return starts, lists


def _find(next_open: list[int], index: int) -> int:
    root = index
    while next_open[root] != root:
        next_open[root] = next_open[next_open[root]]
        root = next_open[root]
    return root


def _disjoint(mine: dict[Operand, Intervals], other: Row) -> bool:
    """Whether the rows can never hold together (some operand in disjoint sets)."""
    if other.test is not None:
        return False
    for operand, values in other.term:
        present = mine.get(operand)
        if present is not None and not _meet(present, values):
            return True
    return False


def _meet(a: Intervals, b: Intervals) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][1] < b[j][0]:
            i += 1
        elif b[j][1] < a[i][0]:
            j += 1
        else:
            return True
    return False
