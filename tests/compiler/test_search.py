"""Switches written as searches reach the target of every value's region, on both byte orders,
for every kind of operand; sets are searched in logarithmic depth."""

from __future__ import annotations

import math
from bisect import bisect_right

from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Label, ProgramBuilder
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler.arguments import DecisionGraph, Node
from seccomp_bpf.compiler.predicates import IP
from seccomp_bpf.compiler.search import SwitchWriter, _segments, chain_length
from seccomp_bpf.policy import Cmp

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
WORD_EDGES = (0, 1, 2**31, MASK32 - 1, MASK32)
VALUE_EDGES = (0, 1, MASK32, 1 << 32, (1 << 32) + 1, 1 << 63, MASK64)


def program_of(node: Node, byteorder: str, *, compact: bool = False) -> Program:
    """``node``'s graph alone, its returns after it."""
    b = ProgramBuilder()
    labels: dict[Node, Label] = {}

    def label_of(n: Node) -> Label:
        if n not in labels:
            labels[n] = b.label()
        return labels[n]

    SwitchWriter(byteorder, compact=compact).write(b, [node], label_of)
    for n, label in labels.items():
        if n.is_return:
            b.bind(label)
            b.ret(n.value)
    return b.build()


def switch(graph: DecisionGraph, operand: tuple[int, int], cuts: list[int]) -> Node:
    """A switch on ``operand`` whose regions start at ``cuts`` (and 0), each returning its
    index (as ERRNO data)."""
    node = Node()
    node.operand = operand
    starts = sorted({0, *cuts})
    node.starts = tuple(starts)
    node.targets = tuple(graph.ret(op.SECCOMP_RET_ERRNO | (i % 7)) for i in range(len(starts)))
    return node


def expected(node: Node, value: int) -> int:
    return node.targets[bisect_right(node.starts, value & node.operand[1]) - 1].value  # type: ignore[index]


def data_for(target: int, value: int, byteorder: str) -> SeccompData:
    args = [0] * 6
    ip = 0
    if target == IP:
        ip = value
    else:
        args[target] = value
    return SeccompData(0, 0, ip, tuple(args), byteorder=byteorder)  # type: ignore[arg-type]


masks = st.one_of(
    st.just(MASK64),
    st.just(MASK32),
    st.just(0xFF00),
    st.just(0x4),
    st.just(0xFFFF0000FFFF00FF),
    st.integers(1, MASK64),
)
values64 = st.one_of(st.sampled_from(VALUE_EDGES), st.integers(0, MASK64), st.integers(0, 300))


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(st.sampled_from([0, 3, 5, IP]), masks),
    st.lists(values64, min_size=1, max_size=40),
    st.sampled_from(["little", "big"]),
    st.booleans(),
    st.lists(values64, min_size=1, max_size=12),
)
def test_a_switch_reaches_every_region(
    operand: tuple[int, int],
    cuts: list[int],
    byteorder: str,
    compact: bool,
    probes: list[int],
) -> None:
    target, mask = operand
    cuts = [c & mask for c in cuts if c & mask > 0]
    node = switch(DecisionGraph(), (target, mask), cuts)
    program = program_of(node, byteorder, compact=compact)
    tries = {*probes, *(c for c in cuts), *(c - 1 for c in cuts), *(c + 1 for c in cuts)}
    for value in sorted(v & MASK64 for v in tries):
        got = emulate(program, data_for(target, value, byteorder)).ret
        assert got == expected(node, value), hex(value)


def test_segments_gather_exceptions() -> None:
    a, b, c = Node(), Node(), Node()
    assert _segments([(0, a), (1, b), (8, a), (9, b), (100, a), (101, b)]) == [
        (0, b, [(0, a), (8, a), (100, a)])
    ]
    assert _segments([(0, b), (5, a), (6, b), (9, c)]) == [(0, b, [(5, a)]), (9, c, [])]
    assert _segments([(0, b), (MASK32, a)]) == [(0, b, [(MASK32, a)])]


def test_chain_length_keeps_the_search_within_twice_the_logarithm() -> None:
    for count in (1, 2, 3, 10, 16, 17, 100, 1000, 4000):
        length = chain_length(count)
        chains = -(-count // length)
        far = ((count + chains - 1) // 256).bit_length()
        depth = (chains - 1).bit_length() + length + far
        budget = 2 * (count - 1).bit_length() + 3
        assert depth <= budget, count
        # the longest such chain: one more value per chain needs another level
        if length < count:
            longer = length + 1
            chains = -(-count // longer)
            far = ((count + chains - 1) // 256).bit_length()
            assert (chains - 1).bit_length() + longer + far > budget, count
        assert chain_length(count, compact=True) == count


def longest_path(program: Program) -> int:
    longest = [0] * len(program)
    for index in range(len(program) - 1, -1, -1):
        ins = program[index]
        if ins.is_return:
            longest[index] = 1
        elif ins.is_conditional_jump:
            longest[index] = 1 + max(longest[index + 1 + ins.jt], longest[index + 1 + ins.jf])
        elif ins.code == op.BPF_JMP | op.BPF_JA:
            longest[index] = 1 + longest[index + 1 + ins.k]
        else:
            longest[index] = 1 + longest[index + 1]
    return longest[0]


def test_a_set_of_a_thousand_values_is_searched_in_logarithmic_depth() -> None:
    # Spread values (none next to another) of both halves of the 64-bit range.
    members = sorted({(i * 0x9E3779B1) & MASK32 | 1 for i in range(1, 1001)})
    graph = DecisionGraph()
    root = graph.decide([(Cmp(1, "in", members), op.SECCOMP_RET_ALLOW)], op.SECCOMP_RET_ERRNO)
    program = program_of(root, "little")
    # the high word (a load and a test), the low word's load, the search, the return, and
    # the JA that far jumps take on the way (two at most in a block this size)
    bound = 2 * math.ceil(math.log2(len(members))) + 7
    assert longest_path(program) <= bound, longest_path(program)
    compact = program_of(root, "little", compact=True)
    assert len(compact) < len(program)  # one chain: fewer instructions, a longer path
    for value in (*members[:50], *(m + 1 for m in members[:50]), 0, MASK32, 1 << 32):
        want = op.SECCOMP_RET_ALLOW if value in members else op.SECCOMP_RET_ERRNO
        for prog in (program, compact):
            assert emulate(prog, data_for(1, value, "little")).ret == want
