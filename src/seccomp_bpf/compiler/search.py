"""Switches of the decision graph (:mod:`.arguments`) written as balanced searches.

A switch reads an operand ``(target, mask)``: a 64-bit value in two 32-bit words of
``struct seccomp_data`` (``args[i]`` at ``16 + 8 i``, the instruction pointer at 8; on
little-endian machines the low word first). The switch is decided a word at a time, high word
first (the derivation, with ``h``/``l`` the words of the operand and ``H``/``L`` those of a
region boundary ``B = H * 2**32 + L``)::

    value >= B  <=>  h > H  or  (h == H  and  l >= L)

so high words strictly between boundaries decide alone, and only a high word ``H`` of a
boundary with ``L != 0`` needs a search of the low word. A run of comparisons of one argument
with values below 2**32 is therefore one test of the high word (``h == 0``) and one search of
the low word. With a mask, each word is ANDed with its half of the mask (``(v & m)`` has the
words ``h & m_hi`` and ``l & m_lo``); a half that is zero is not read, and a one-bit half (or a
test of ``(w & m) == 0``) is a ``JSET`` without the ``AND``.

Searching one word: its regions are grouped into *segments* (a run where one target holds
except at single values, the *exceptions*: ``a in {...}``, ``a == v`` rules); a segment's
exceptions are tested by chains of ``JEQ`` of at most :func:`chain_length` values, each chain
falling to the segment's target; a balanced tree of ``JGE`` finds the chain (or the segment
without exceptions). The worst path of a set of ``n`` values is then about ``2 log2 n``
comparisons, for about ``n + n / chain`` instructions. ``compact`` searches put each segment's
exceptions in one chain: ``n`` instructions, the length libseccomp needs, and a worst path that
grows with ``n`` (``compile_policy(search="compact")``, or a program that would not fit
otherwise). Both cannot be had at once: every path that accepts a value ends in a ``JEQ`` that
pins it, so any program needs ``n`` of them, and a worst path shorter than ``n`` needs ``JGE``
that split the set, which pin nothing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Union

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Label, ProgramBuilder
from seccomp_bpf.compiler.arguments import Node
from seccomp_bpf.compiler.predicates import IP
from seccomp_bpf.policy.values import MASK32


@dataclass(eq=False, slots=True)
class WordSearch:
    """The search of one 32-bit word: load it, AND it with ``mask`` unless that is all ones,
    then follow ``tree``."""

    offset: int
    mask: int
    tree: Tree


# How value sets are searched (compile_policy's ``search``): "balanced", a JGE tree over
# chains of bounded length (worst path about 2 log2 n); "compact", one chain (fewest
# instructions, worst path n).
Search = Literal["balanced", "compact"]
SEARCHES: Final[tuple[Search, ...]] = ("balanced", "compact")

Target = Union[Node, WordSearch]  # noqa: UP007 - a runtime alias
# ("goto", target) | ("jset", bits, if_set, if_clear) | ("jge", k, below, at_least)
# | ("chain", ((value, target), ...), otherwise)
Tree = tuple[object, ...]


def chain_length(count: int, compact: bool = False) -> int:
    """How many exceptions one ``JEQ`` chain tests, for ``count`` of them in one word.

    The longest chain (so the fewest ``JGE``) such that the ``JGE`` levels above the chains,
    one chain and the ``JA`` that far jumps take on the way stay within
    ``2 ceil(log2 count) + 3`` instructions; all of them when that is a chain already. A
    program that tests one system call's argument against ``count`` values then runs at most
    ``2 ceil(log2 count) + 12`` instructions: 3 to load ``arch``, check it and load ``nr``,
    2 to find the call, 3 for the high word (load, test, load the low word), the search, and
    the return. ``compact``: one chain (fewest instructions).

    A ``JGE`` jumps over its left subtree to its right one, and a chain's ``JEQ`` jumps to
    its target past the rest of the search; a conditional jump reaches 255 instructions, so
    a jump over more costs a ``JA`` on the way: one for a chain's way out once the search is
    over 255 instructions, and one per level of the tree while the subtrees there are, that
    is ``bit_length(size // 256)`` for a search of ``size`` instructions. (Counted per 512,
    a set of 449 values took one instruction more than the bound: the chain's way out.)
    """
    budget = 2 * (count - 1).bit_length() + 3
    if compact or count <= budget:
        return max(count, 1)
    best = 1
    for length in range(1, budget + 1):
        chains = -(-count // length)
        far = ((count + chains - 1) // 256).bit_length()
        if (chains - 1).bit_length() + length + far <= budget:
            best = length
    return best


class SwitchWriter:
    """Plans and writes the switches of one section's decision graph."""

    def __init__(self, byteorder: str, *, compact: bool = False) -> None:
        self.byteorder = byteorder
        self.compact = compact
        self._plans: dict[int, tuple[Node, Target]] = {}

    # -- planning --------------------------------------------------------------------------

    def plan(self, node: Node) -> Target:
        """What a switch node runs first: a :class:`WordSearch`, or the node it always goes to."""
        found = self._plans.get(id(node))
        if found is not None:
            return found[1]
        assert node.operand is not None
        target, mask = node.operand
        base = op.OFFSET_IP if target == IP else op.offset_of_arg(target)
        low, high = (base, base + 4) if self.byteorder == "little" else (base + 4, base)
        regions = list(zip(node.starts, node.targets, strict=True))
        starts = list(node.starts)
        high_mask, low_mask = mask >> 32, mask & MASK32
        result: Target
        if high_mask == 0:  # the high word of value & mask is 0
            result = self._word(low, low_mask, _within_high_word(regions, starts, 0))
        elif starts[-1] <= MASK32:
            # Every boundary below 2**32: the high word is 0 (then the low word decides) or
            # more (then the last region's target), unless the low word can go first.
            result = self._low_word_first(regions, low, high, mask) or self._word(
                high,
                high_mask,
                [(0, self._word(low, low_mask, list(regions))), (1, regions[-1][1])],
            )
        elif (low_first := self._low_word_first(regions, low, high, mask)) is not None:
            result = low_first
        else:
            searches: dict[tuple[object, ...], Target] = {}

            def low_word(parts: list[tuple[int, Target]]) -> Target:
                key = tuple((start, id(t)) for start, t in parts)
                found = searches.get(key)
                if found is None:
                    found = searches[key] = self._word(low, low_mask, parts)
                return found

            result = self._word(high, high_mask, _split_high_word(regions, starts, low_word))
        self._plans[id(node)] = (node, result)
        return result

    def _low_word_first(
        self, regions: list[tuple[int, Node]], low: int, high: int, mask: int
    ) -> Target | None:
        """The low word first, for one target with exceptions that share a high word and go
        to one other target (``a != v``, ``a in {...}``, runs of ``a == v`` rules): a value
        whose low word is none of theirs is decided without reading the high word, at no
        cost in length (the high word is tested once either way)."""
        found = _segments(regions, mask + 1)
        if len(found) != 1 or not found[0][2]:
            return None
        _, base, exceptions = found[0]
        if len(exceptions) > chain_length(len(exceptions), self.compact):
            # A search of more than one chain: its leaves would all jump to the one test of
            # the high word, far away in a large search (a JA on the way); high word first.
            return None
        highs = {value >> 32 for value, _ in exceptions}
        targets = {id(target) for _, target in exceptions}
        if len(highs) != 1 or len(targets) != 1:
            return None
        (word,) = highs
        other = exceptions[0][1]
        check = self._word(high, mask >> 32, [(0, base), (word, other), (word + 1, base)])
        parts: list[tuple[int, Target]] = []
        at = 0
        for value, _ in exceptions:
            value &= MASK32
            if value > at:
                parts.append((at, base))
            parts.append((value, check))
            at = value + 1
        if at <= MASK32:
            parts.append((at, base))
        return self._word(low, mask & MASK32, parts)

    def _word(self, offset: int, mask: int, regions: list[tuple[int, Target]]) -> Target:
        # (w & mask) is at most mask: regions above it cannot be reached
        kept: list[tuple[int, Target]] = []
        for start, target in regions:
            if start > mask:
                break
            if not kept or kept[-1][1] is not target:
                kept.append((start, target))
        if len(kept) == 1:
            return kept[0][1]
        if mask != MASK32:
            if mask & (mask - 1) == 0:  # one bit: w & mask is 0 or mask
                at_zero, at_mask = _target_at(kept, 0), _target_at(kept, mask)
                if at_zero is at_mask:
                    return at_zero
                return WordSearch(offset, MASK32, ("jset", mask, at_mask, at_zero))
            if len(kept) == 2 and kept[1][0] == 1:  # (w & mask) == 0 or not
                return WordSearch(offset, MASK32, ("jset", mask, kept[1][1], kept[0][1]))
        return WordSearch(offset, mask, self._search(kept))

    def _search(self, regions: list[tuple[int, Target]]) -> Tree:
        """A balanced search of one word's regions (see the module docstring)."""
        if len(regions) == 2:  # one boundary: one JGE, or one JEQ at either end
            (_, below), (start, above) = regions
            if start == 1:
                return ("chain", ((0, below),), above)
            if start == MASK32:
                return ("chain", ((MASK32, above),), below)
            return ("jge", start, ("goto", below), ("goto", above))
        segments = _segments(regions)
        total = sum(len(e) for _, _, e in segments)
        length = chain_length(total, self.compact)
        # units: (first value, tree without the JGE levels, its instructions)
        units: list[tuple[int, Tree, int]] = []
        for low, base, exceptions in segments:
            if not exceptions:
                units.append((low, ("goto", base), 0))
                continue
            for at in range(0, len(exceptions), length):
                chunk = tuple(exceptions[at : at + length])
                start = low if at == 0 else chunk[0][0]
                units.append((start, ("chain", chunk, base), len(chunk)))
        return _balanced(units)

    def path_length(self, node: Node, value: int = 0) -> int:
        """Instructions run from ``node`` to its return when every operand is ``value`` (the
        loads counted as written; the optimizer may drop repeated ones)."""
        steps = 0
        target: Target = node
        while True:
            if isinstance(target, Node):
                if target.operand is None:
                    return steps + 1
                target = self.plan(target)
                continue
            steps += 1 + (target.mask != MASK32)
            word = value & target.mask & MASK32
            tree = target.tree
            while True:
                kind = tree[0]
                if kind == "goto":
                    target = tree[1]  # type: ignore[assignment]
                    break
                steps += 1
                if kind == "jge":
                    tree = tree[3] if word >= tree[1] else tree[2]  # type: ignore[assignment,operator]
                elif kind == "jset":
                    target = tree[2] if word & tree[1] else tree[3]  # type: ignore[assignment,operator]
                    break
                else:
                    chain: Sequence[tuple[int, Target]] = tree[1]  # type: ignore[assignment]
                    target = tree[2]  # type: ignore[assignment]
                    for position, (item, where) in enumerate(chain):
                        if item == word:
                            steps += position
                            target = where
                            break
                    else:
                        steps += len(chain) - 1
                    break

    def standalone_length(self, root: Node) -> int:
        """The instructions of ``root``'s graph written alone, with one return per value."""
        scratch = ProgramBuilder()
        labels: dict[Node, Label] = {}

        def label_of(node: Node) -> Label:
            if node not in labels:
                labels[node] = scratch.label()
            return labels[node]

        self.write(scratch, [root], label_of)
        return len(scratch) + sum(1 for node in labels if node.is_return)

    # -- writing ---------------------------------------------------------------------------

    def write(
        self,
        builder: ProgramBuilder,
        roots: Sequence[Node],
        label_of: Callable[[Node], Label],
    ) -> None:
        """Write every switch reachable from ``roots``, each at its ``label_of`` label.

        Switches come in a topological order (every jump goes forward): the reverse of the
        order in which a depth-first walk finishes them. Returns are the caller's: their
        labels come from ``label_of`` too.
        """
        order: list[Node] = []
        seen: set[int] = set()
        for root in reversed(roots):
            if root.operand is None or id(root) in seen:
                continue
            seen.add(id(root))
            stack: list[tuple[Node, int]] = [(root, 0)]
            while stack:
                node, index = stack.pop()
                if index < len(node.targets):
                    stack.append((node, index + 1))
                    child = node.targets[len(node.targets) - 1 - index]
                    if child.operand is not None and id(child) not in seen:
                        seen.add(id(child))
                        stack.append((child, 0))
                else:
                    order.append(node)
        for node in reversed(order):
            builder.bind(label_of(node))
            self._write_node(builder, node, label_of)

    def _write_node(
        self, builder: ProgramBuilder, node: Node, label_of: Callable[[Node], Label]
    ) -> None:
        pending: list[tuple[WordSearch, Label]] = []
        labels: dict[int, Label] = {}  # id(search) -> its label in this builder

        def label(target: Target) -> Label:
            if isinstance(target, Node):
                return label_of(target)
            found = labels.get(id(target))
            if found is None:
                found = labels[id(target)] = builder.label()
                pending.append((target, found))
            return found

        first = self.plan(node)
        if isinstance(first, Node):
            builder.jump(label_of(first))
            return
        self._write_word(builder, first, label)
        at = 0
        while at < len(pending):
            search, here = pending[at]
            at += 1
            builder.bind(here)
            self._write_word(builder, search, label)

    @staticmethod
    def _write_word(
        builder: ProgramBuilder, search: WordSearch, label: Callable[[Target], Label]
    ) -> None:
        builder.load(search.offset)
        if search.mask != MASK32:
            builder.alu(op.BPF_AND, search.mask)
        stack: list[tuple[Tree, Label | None]] = [(search.tree, None)]
        while stack:
            tree, here = stack.pop()
            if here is not None:
                builder.bind(here)
            kind = tree[0]
            if kind == "goto":
                builder.jump(label(tree[1]))  # type: ignore[arg-type]
            elif kind == "jset":
                builder.jump_if(op.BPF_JSET, tree[1], label(tree[2]), label(tree[3]))  # type: ignore[arg-type]
            elif kind == "chain":
                chain: Sequence[tuple[int, Target]] = tree[1]  # type: ignore[assignment]
                for value, where in chain[:-1]:
                    builder.jump_if(op.BPF_JEQ, value, label(where), None)
                value, where = chain[-1]
                builder.jump_if(op.BPF_JEQ, value, label(where), label(tree[2]))  # type: ignore[arg-type]
            else:
                below, above = tree[2], tree[3]
                assert isinstance(below, tuple) and isinstance(above, tuple)
                above_label = label(above[1]) if above[0] == "goto" else builder.label()
                below_label = label(below[1]) if below[0] == "goto" else None
                builder.jump_if(op.BPF_JGE, tree[1], above_label, below_label)  # type: ignore[arg-type]
                if above[0] != "goto":
                    stack.append((above, above_label))
                if below[0] != "goto":
                    stack.append((below, None))


def _segments(
    regions: Sequence[tuple[int, Target]], end: int = MASK32 + 1
) -> list[tuple[int, Target, list[tuple[int, Target]]]]:
    """Regions as segments: ``(first value, target, exceptions)``.

    Within a segment every value goes to its target but the *exceptions*, one value each:
    ``a in {1, 5, 9}`` is one segment of the false target with three exceptions, and so is
    ``a in {0, 8}``. Left to right, a region joins the current segment when it has the
    segment's target, or is one value followed by the segment's target (or by nothing); a
    segment that would start with one value followed by another target starts with that
    target and the value as its exception.
    """
    count = len(regions)
    segments: list[tuple[int, Target, list[tuple[int, Target]]]] = []
    index = 0
    while index < count:
        start, target = regions[index]
        exceptions: list[tuple[int, Target]] = []
        if index + 1 < count and regions[index + 1][0] - start == 1:
            exceptions.append((start, target))
            index += 1
            target = regions[index][1]
        index += 1
        while index < count:
            value, where = regions[index]
            if where is target:
                index += 1
            elif (index + 1 == count or regions[index + 1][1] is target) and (
                (regions[index + 1][0] if index + 1 < count else end) - value == 1
            ):
                exceptions.append((value, where))
                index += 1
            else:
                break
        segments.append((start, target, exceptions))
    return segments


def _balanced(units: list[tuple[int, Tree, int]]) -> Tree:
    """A tree of ``JGE`` over the units, each split near the middle of their instructions.

    Built top-down with a stack of open slots (no recursion): a slot is a list and the index
    where the subtree for ``units[first:last]`` goes.
    """
    prefix = [0]
    for _, _, size in units:
        prefix.append(prefix[-1] + size + 1)
    root: list[object] = [None]
    stack: list[tuple[int, int, list[object], int]] = [(0, len(units), root, 0)]
    while stack:
        first, last, slot, index = stack.pop()
        if last - first == 1:
            slot[index] = units[first][1]
            continue
        middle = bisect_left(prefix, (prefix[first] + prefix[last]) / 2, first + 1, last)
        split = min(max(middle, first + 1), last - 1)
        node: list[object] = ["jge", units[split][0], None, None]
        slot[index] = node
        stack.append((first, split, node, 2))
        stack.append((split, last, node, 3))
    return _frozen(root[0])


def _frozen(tree: object) -> Tree:
    """The nested lists of :func:`_balanced` as tuples, bottom-up without recursion."""
    assert isinstance(tree, (list, tuple))
    if isinstance(tree, tuple):
        return tree
    order: list[list[object]] = []
    stack: list[list[object]] = [tree]
    while stack:
        item = stack.pop()
        order.append(item)
        stack.extend(child for child in item[2:] if isinstance(child, list))
    done: dict[int, Tree] = {}
    for item in reversed(order):
        done[id(item)] = tuple(
            done[id(child)] if isinstance(child, list) else child for child in item
        )
    return done[id(tree)]


def _target_at(regions: list[tuple[int, Target]], value: int) -> Target:
    starts = [start for start, _ in regions]
    return regions[bisect_right(starts, value) - 1][1]


def _within_high_word(
    regions: list[tuple[int, Node]], starts: list[int], high: int
) -> list[tuple[int, Target]]:
    """The regions of the 64-bit values whose high word is ``high``, by their low word."""
    base = high << 32
    index = bisect_right(starts, base) - 1
    out: list[tuple[int, Target]] = []
    while index < len(regions) and regions[index][0] <= base | MASK32:
        start, target = regions[index]
        out.append((max(start, base) - base, target))
        index += 1
    return out


def _split_high_word(
    regions: list[tuple[int, Node]],
    starts: list[int],
    low_word: Callable[[list[tuple[int, Target]]], Target],
) -> list[tuple[int, Target]]:
    """The regions of the high word: a target where it decides alone, else the search of the
    low word for that high word (shared by high words whose low-word regions are the same)."""
    inner = sorted({start >> 32 for start in starts if start & MASK32})
    cuts = {start >> 32 for start in starts}
    cuts.update(inner)
    cuts.update(high + 1 for high in inner if high < MASK32)
    inner_set = set(inner)
    out: list[tuple[int, Target]] = []
    for high in sorted(cuts):
        item: Target
        if high in inner_set:
            item = low_word(_within_high_word(regions, starts, high))
        else:
            item = regions[bisect_right(starts, high << 32) - 1][1]
        if out and out[-1][1] is item:
            continue
        out.append((high, item))
    return out
