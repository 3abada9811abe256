"""Peephole passes over the builder's node form; none changes what a program returns.

Each pass takes the node list (jumps as absolute, forward node indices) and returns a new list,
or ``None`` when it has nothing to do. :func:`optimize` runs them in order until none changes
anything. Every pass keeps the result of the program identical for every ``seccomp_data``; the
tests check that by emulating optimized against unoptimized programs.

Passes:

- ``thread_jumps``: a jump whose target's outcome is already decided by the jump itself goes
  straight on. ``A`` is the same at both ends of a jump, so if the edge says ``A == 5`` and the
  target asks ``A >= 3``, the target always takes its true branch. Edges into ``JA`` follow it.
- ``fold_same_targets``: a conditional whose two targets are equal becomes ``JA``.
- ``return_instead_of_ja``: ``JA`` to a ``RET`` becomes a copy of that ``RET``.
- ``drop_redundant_loads``: ``A = data[k]`` when ``A`` already holds ``data[k]`` on every path.
- ``drop_ja_to_next``: ``JA 0`` does nothing.
- ``drop_dead_code``: instructions no path reaches.
- ``share_returns``: jumps to a ``RET`` that nothing falls into go to the next identical ``RET``
  instead, which leaves the first one dead.
"""

from __future__ import annotations

from collections.abc import Callable

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Node

_MAX32 = 0xFFFFFFFF
_JA = op.BPF_JMP | op.BPF_JA
_JEQ_K = op.BPF_JMP | op.BPF_JEQ | op.BPF_K
_MAX_PASS_ROUNDS = 100
# share_returns only redirects a jump to a RET at most this many nodes ahead, so that it does not
# trade one RET for JA trampolines (conditional offsets stop at 255; the margin leaves room for
# trampolines elsewhere).
_SHARE_DISTANCE = 240

Pass = Callable[[list[Node]], "list[Node] | None"]


def _compact(nodes: list[Node], keep: list[bool]) -> list[Node]:
    """Remove nodes not kept; a jump to a removed node goes to the next kept one."""
    count = len(nodes)
    next_kept = [0] * (count + 1)
    next_kept[count] = count
    for index in range(count - 1, -1, -1):
        next_kept[index] = index if keep[index] else next_kept[index + 1]
    new_index = [0] * (count + 1)
    at = 0
    for index in range(count):
        new_index[index] = at
        at += keep[index]
    new_index[count] = at
    out = []
    for index, node in enumerate(nodes):
        if not keep[index]:
            continue
        if node.is_jump:
            out.append(
                Node(
                    node.code, node.k, new_index[next_kept[node.jt]], new_index[next_kept[node.jf]]
                )
            )
        else:
            out.append(Node(node.code, node.k))
    return out


# -- what an edge tells about A ---------------------------------------------------------------


class _Fact:
    """What is known about ``A`` along one edge: an interval and JSET bits."""

    __slots__ = ("bits_clear", "bits_some", "hi", "lo", "not_equal")

    def __init__(self) -> None:
        self.lo = 0
        self.hi = _MAX32
        self.not_equal: int | None = None  # A != not_equal
        self.bits_clear = 0  # A & bits_clear == 0
        self.bits_some: int | None = None  # A & bits_some != 0


def _edge_fact(node: Node, taken: bool) -> _Fact | None:
    if node.code & op.BPF_X:
        return None
    fact = _Fact()
    operation, k = node.code & 0xF0, node.k
    if operation == op.BPF_JEQ:
        if taken:
            fact.lo = fact.hi = k
        else:
            fact.not_equal = k
    elif operation == op.BPF_JGT:
        if taken:
            fact.lo = k + 1
        else:
            fact.hi = k
    elif operation == op.BPF_JGE:
        if taken:
            fact.lo = k
        else:
            fact.hi = k - 1
    elif operation == op.BPF_JSET:
        if taken:
            fact.bits_some = k
        else:
            fact.bits_clear = k
    return fact


def _decide(node: Node, fact: _Fact) -> bool | None:
    """The outcome of conditional ``node`` given ``fact``, or None when it depends on A."""
    if node.code & op.BPF_X:
        return None
    operation, k = node.code & 0xF0, node.k
    lo, hi = fact.lo, fact.hi
    if operation == op.BPF_JEQ:
        if k < lo or k > hi or k == fact.not_equal:
            return False
        if (k & fact.bits_clear) != 0:
            return False
        if lo == hi == k:
            return True
    elif operation == op.BPF_JGT:
        if lo > k:
            return True
        if hi <= k:
            return False
    elif operation == op.BPF_JGE:
        if lo >= k:
            return True
        if hi < k:
            return False
    elif operation == op.BPF_JSET:
        if lo == hi:
            return (lo & k) != 0
        if (k & ~fact.bits_clear & _MAX32) == 0:
            return False  # every bit of k is known clear
        if fact.bits_some is not None and (fact.bits_some & ~k) == 0:
            return True  # some bit of bits_some is set, and they are all in k
    return None


def thread_jumps(nodes: list[Node]) -> list[Node] | None:
    out: list[Node] | None = None  # a copy, made at the first change

    def follow(target: int, source: Node | None, taken: bool) -> int:
        # Where control really goes after the edge source -> target (source None: a JA).
        fact: _Fact | None = None
        current = nodes if out is None else out
        while True:
            node = current[target]
            code = node.code
            if code == _JA:
                target = node.jt
            elif source is not None and (code & 0x07) == op.BPF_JMP and not code & op.BPF_X:
                if fact is None and not taken and code == _JEQ_K == source.code:
                    # A != k tells nothing about A == k' (the chains of a set of values)
                    if node.k != source.k:
                        return target
                    target = node.jf
                    continue
                if fact is None:
                    fact = _edge_fact(source, taken)
                    if fact is None:
                        return target
                outcome = _decide(node, fact)
                if outcome is None:
                    return target
                target = node.jt if outcome else node.jf
            else:
                return target

    for index, node in enumerate(nodes):
        code = node.code
        if (code & 0x07) != op.BPF_JMP:
            continue
        if code == _JA:
            new_t = new_f = follow(node.jt, None, True)
        else:
            new_t = follow(node.jt, node, True)
            new_f = follow(node.jf, node, False)
        if new_t != node.jt or new_f != node.jf:
            if out is None:
                out = list(nodes)
            out[index] = Node(code, node.k, new_t, new_f)
    return out


def fold_same_targets(nodes: list[Node]) -> list[Node] | None:
    out: list[Node] | None = None
    for index, node in enumerate(nodes):
        code = node.code
        if (code & 0x07) == op.BPF_JMP and code != _JA and node.jt == node.jf:
            if out is None:
                out = list(nodes)
            out[index] = Node(_JA, 0, node.jt, node.jt)
    return out


def return_instead_of_ja(nodes: list[Node]) -> list[Node] | None:
    out: list[Node] | None = None
    for index, node in enumerate(nodes):
        if node.code == _JA and (nodes[node.jt].code & 0x07) == op.BPF_RET:
            target = nodes[node.jt]
            if out is None:
                out = list(nodes)
            out[index] = Node(target.code, target.k)
    return out


_LOAD_ABS = op.BPF_LD | op.BPF_W | op.BPF_ABS
_UNKNOWN = -1
_NO_EDGE = -2  # no predecessor seen yet


def drop_redundant_loads(nodes: list[Node]) -> list[Node] | None:
    """Drop ``A = data[k]`` where every path brings ``data[k]`` in ``A`` already.

    One forward pass (jumps only go forward, so a node's predecessors all come before it):
    ``arriving[i]`` is the offset ``A`` holds on every edge into node ``i`` seen so far,
    ``_UNKNOWN`` when edges disagree or bring something else.
    """
    count = len(nodes)
    arriving = [_NO_EDGE] * (count + 1)
    arriving[0] = _UNKNOWN
    keep: list[bool] | None = None
    for index, node in enumerate(nodes):
        before = arriving[index]
        if before == _NO_EDGE:
            before = _UNKNOWN  # not reached: its state does not matter
        code = node.code
        cls = code & 0x07
        if code == _LOAD_ABS:
            if before == node.k:
                if keep is None:
                    keep = [True] * count
                keep[index] = False
            after = node.k
        elif cls in (op.BPF_LD, op.BPF_ALU) or code == _TXA:
            after = _UNKNOWN
        else:
            after = before
        if cls == op.BPF_JMP:
            targets: tuple[int, ...] = (node.jt,) if code == _JA else (node.jt, node.jf)
        elif cls == op.BPF_RET:
            continue
        else:
            targets = (index + 1,)
        for target in targets:
            present = arriving[target]
            if present == _NO_EDGE:
                arriving[target] = after
            elif present != after:
                arriving[target] = _UNKNOWN
    if keep is None:
        return None
    return _compact(nodes, keep)


_TXA = op.BPF_MISC | op.BPF_TXA


def drop_ja_to_next(nodes: list[Node]) -> list[Node] | None:
    keep = [not (node.code == _JA and node.jt == index + 1) for index, node in enumerate(nodes)]
    if all(keep):
        return None
    return _compact(nodes, keep)


def drop_dead_code(nodes: list[Node]) -> list[Node] | None:
    count = len(nodes)
    reached = [False] * (count + 1)
    reached[0] = True
    for index, node in enumerate(nodes):
        if reached[index]:
            cls = node.code & 0x07
            if cls == op.BPF_JMP:
                reached[node.jt] = True
                reached[node.jf] = True
            elif cls != op.BPF_RET:
                reached[index + 1] = True
    del reached[count]
    if all(reached):
        return None
    return _compact(nodes, reached)


def share_returns(nodes: list[Node]) -> list[Node] | None:
    # For every RET, the next RET with the same value.
    next_same: dict[int, int] = {}
    last_seen: dict[tuple[int, int], int] = {}
    for index in range(len(nodes) - 1, -1, -1):
        node = nodes[index]
        if (node.code & 0x07) == op.BPF_RET:
            key = (node.code, node.k)
            if key in last_seen:
                next_same[index] = last_seen[key]
            last_seen[key] = index
    if not next_same:
        return None
    jumpers: dict[int, list[int]] = {}
    for index, node in enumerate(nodes):
        if (node.code & 0x07) == op.BPF_JMP:
            jt, jf = node.jt, node.jf
            if jt in next_same:
                jumpers.setdefault(jt, []).append(index)
            if jf != jt and jf in next_same:
                jumpers.setdefault(jf, []).append(index)
    redirect: dict[int, int] = {}
    for index, first_later in next_same.items():
        previous = nodes[index - 1] if index else None
        falls_in = previous is None or not (previous.is_jump or previous.is_return)
        sources = jumpers.get(index, [])
        if falls_in or not sources:
            continue
        # The furthest identical RET every jump still reaches without a trampoline (the RETs
        # in between become dead too).
        furthest: int | None = None
        later: int | None = first_later
        while later is not None and all(later - source <= _SHARE_DISTANCE for source in sources):
            furthest = later
            later = next_same.get(later)
        if furthest is not None:
            redirect[index] = furthest
    if not redirect:
        return None
    out = []
    for node in nodes:
        if node.is_jump and (node.jt in redirect or node.jf in redirect):
            jt, jf = redirect.get(node.jt, node.jt), redirect.get(node.jf, node.jf)
            out.append(Node(node.code, node.k, jt, jf))
        else:
            out.append(node)
    return out


# share_returns leaves dead RETs behind, so it runs before drop_dead_code.
PASSES: tuple[Pass, ...] = (
    thread_jumps,
    fold_same_targets,
    return_instead_of_ja,
    drop_redundant_loads,
    drop_ja_to_next,
    share_returns,
    drop_dead_code,
)


def optimize(nodes: list[Node], passes: tuple[Pass, ...] = PASSES) -> list[Node]:
    """Run ``passes`` in turn until each has run once since the last change."""
    quiet = 0  # passes run since something last changed
    for _ in range(_MAX_PASS_ROUNDS * len(passes)):
        for run in passes:
            result = run(nodes)
            if result is None:
                quiet += 1
                if quiet >= len(passes):
                    return nodes
            else:
                nodes = result
                quiet = 0
    return nodes
