"""Symbolic execution of a classic-BPF seccomp filter: its behaviour for every call.

Jumps only go forward, so the program is a DAG and every path ends in a ``RET``. The
execution walks all paths, keeping for each:

- what ``A``, ``X`` and the scratch cells ``M[0..15]`` hold: a constant, a word of
  ``struct seccomp_data`` under a mask (``LD [k]`` then ``AND #m``), or a value computed in a
  way the model cannot follow (other arithmetic on a loaded word);
- the path's constraints, exact sets (:mod:`seccomp_bpf.explain.valueset`): one for ``nr``,
  one for ``arch``, and one per argument and the instruction pointer, where a test of a high
  word ``h`` in ``S`` constrains the 64-bit value to ``{v : v >> 32 in S}`` and a test of a
  low word constrains ``v & 0xffffffff``. The word order of each 64-bit field follows the
  byte order of the architecture (``<linux/seccomp.h>``: ``args[i]`` at ``16 + 8 i``, the low
  word first on little-endian machines).

Each conditional jump splits the path in two and each side takes the test or its negation;
a side whose constraints are empty is dropped, which keeps the walk to the feasible paths
(and the result exact). The leaves, ``(nr set, arch set, region, return value)``, are
disjoint and cover every call; :func:`program_behaviour` cuts the number space at the ends of
their ``nr`` sets into ranges with one decision each.

What the model cannot express is reported, never guessed silently: a comparison of a computed
value or of two loaded words, or ``RET A`` of a loaded value, explores both sides (or uses an
element) and marks the result inexact with a note naming the instruction.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch import arches_by_audit
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import ByteOrder, Program
from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.explain.behaviour import (
    NR_MAX,
    FilterBehaviour,
    ForeignLeaf,
    Partition,
    Segment,
    foreign_arches,
    known_audit_values,
    merge_segments,
)
from seccomp_bpf.explain.regions import (
    FULL_REGION,
    IP_TARGET,
    Region,
    region_get,
    region_with,
)
from seccomp_bpf.explain.valueset import (
    MASK32,
    Intervals,
    Pattern,
    ValueSet,
    complement_intervals,
    masked_at_least_patterns,
    masked_greater_patterns,
)
from seccomp_bpf.policy import Action

MAX_PATHS: Final = 200_000
"""The walk gives up (TooComplexError) beyond this many paths per architecture."""

_NR_WORD: Final = op.OFFSET_NR // 4
_ARCH_WORD: Final = op.OFFSET_ARCH // 4
# <linux/audit.h>: __AUDIT_ARCH_LE, the byte order of foreign architectures' seccomp_data.
_AUDIT_ARCH_LE: Final = 0x40000000


# -- what a register holds ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Const:
    value: int


@dataclass(frozen=True, slots=True)
class Loaded:
    """``seccomp_data`` word ``word`` (offset / 4) ANDed with ``mask``."""

    word: int
    mask: int = MASK32


@dataclass(frozen=True, slots=True)
class Computed:
    """A value the model cannot follow, computed at instruction ``index``."""

    index: int


Value = Const | Loaded | Computed

# One constraint on a 32-bit word: ("in", intervals, 0, 0), ("fixed", (), mask, value) or
# ("excluded", (), mask, value). A branch is a list of alternatives, each a conjunction.
Piece = tuple[str, Intervals, int, int]
Alternatives = list[list[Piece]]


@dataclass(frozen=True, slots=True)
class Leaf:
    """One path: the calls it covers and what it returns. ``guessed`` when the path passed a
    test the model cannot express."""

    nr: ValueSet
    arch: ValueSet
    region: Region
    ret: int
    guessed: bool


@dataclass(slots=True)
class _Path:
    pc: int
    a: Value
    x: Value
    mem: tuple[Value, ...]
    nr: ValueSet
    arch: ValueSet
    region: Region
    guessed: bool

    def copy(self) -> _Path:
        return _Path(
            self.pc, self.a, self.x, self.mem, self.nr, self.arch, self.region, self.guessed
        )


# -- tests on words -----------------------------------------------------------------------------


def word_branches(operation: int, k: int, mask: int) -> tuple[Alternatives, Alternatives]:
    """The constraints on a word ``w`` for ``(w & mask) OP k`` being true, and false."""
    full = mask == MASK32
    if operation == op.BPF_JEQ:
        if full:
            return (
                [[("in", ((k, k),), 0, 0)]],
                [[("in", complement_intervals(((k, k),), MASK32), 0, 0)]],
            )
        if k & ~mask:
            return [], [[]]
        return [[("fixed", (), mask, k)]], [[("excluded", (), mask, k)]]
    if operation in (op.BPF_JGT, op.BPF_JGE):
        if full:
            low = k + 1 if operation == op.BPF_JGT else k
            true: Alternatives = [[("in", ((low, MASK32),), 0, 0)]] if low <= MASK32 else []
            false: Alternatives = [[("in", ((0, low - 1),), 0, 0)]] if low > 0 else []
            return true, false
        patterns: list[Pattern] = (
            masked_greater_patterns(mask, k)
            if operation == op.BPF_JGT
            else masked_at_least_patterns(mask, k)
        )
        return (
            [[("fixed", (), m, v)] for m, v in patterns],
            [[("excluded", (), m, v) for m, v in patterns]],
        )
    # BPF_JSET: (w & mask & k) != 0
    bits = k & mask
    if not bits:
        return [], [[]]
    return [[("excluded", (), bits, 0)]], [[("fixed", (), bits, 0)]]


def _swapped(operation: int, k: int, mask: int) -> tuple[Alternatives, Alternatives]:
    """``k OP (w & mask)``: JEQ and JSET are symmetric; ``k > w`` is ``not (w >= k)``."""
    if operation == op.BPF_JGT:
        true, false = word_branches(op.BPF_JGE, k, mask)
        return false, true
    if operation == op.BPF_JGE:
        true, false = word_branches(op.BPF_JGT, k, mask)
        return false, true
    return word_branches(operation, k, mask)


def _apply_piece(values: ValueSet, piece: Piece, high: bool | None) -> ValueSet:
    """Constrain a set by one word constraint. ``high`` is None for a 32-bit field (nr,
    arch), else says which half of a 64-bit field the word is."""
    kind, intervals, mask, value = piece
    if kind == "in":
        if high is None:
            return values.with_intervals(intervals)
        if high:
            return values.with_intervals(
                tuple((lo << 32, (hi << 32) | MASK32) for lo, hi in intervals)
            )
        return values.with_low(intervals)
    shift = 32 if high else 0
    if kind == "fixed":
        return values.with_fixed(mask << shift, value << shift)
    return values.with_excluded(mask << shift, value << shift)


# -- the walk -----------------------------------------------------------------------------------


class _Explorer:
    def __init__(self, program: Program, byteorder: ByteOrder) -> None:
        self.instructions = program.instructions
        self.byteorder = byteorder
        self.leaves: list[Leaf] = []
        self.notes: dict[str, None] = {}

    def field(self, word: int) -> tuple[int, bool]:
        """The target (argument index, or IP_TARGET) and half of a 64-bit field's word."""
        index = word - 2
        target = IP_TARGET if index < 2 else (index - 2) // 2
        first = index % 2 == 0
        high = first if self.byteorder == "big" else not first
        return target, high

    def constrain(self, path: _Path, word: int, pieces: list[Piece]) -> _Path | None:
        if word == _NR_WORD:
            nr = path.nr
            for piece in pieces:
                nr = _apply_piece(nr, piece, None)
                if nr.is_empty:
                    return None
            path.nr = nr
            return path
        if word == _ARCH_WORD:
            arch = path.arch
            for piece in pieces:
                arch = _apply_piece(arch, piece, None)
                if arch.is_empty:
                    return None
            path.arch = arch
            return path
        target, high = self.field(word)
        values = region_get(path.region, target)
        for piece in pieces:
            values = _apply_piece(values, piece, high)
            if values.is_empty:
                return None
        region = region_with(path.region, target, values)
        if region is None:
            return None
        path.region = region
        return path

    def load(self, path: _Path, offset: int) -> Value:
        word = offset // 4
        if word == _NR_WORD and (single := path.nr.singleton()) is not None:
            return Const(single)
        if word == _ARCH_WORD and (single := path.arch.singleton()) is not None:
            return Const(single)
        return Loaded(word)

    def note(self, index: int, text: str) -> None:
        self.notes[f"instruction {index}: {text}"] = None

    def run(self, nr: ValueSet, arch: ValueSet) -> list[Leaf]:
        zero = Const(0)
        stack = [_Path(0, zero, zero, (zero,) * op.BPF_MEMWORDS, nr, arch, FULL_REGION, False)]
        leaves: list[Leaf] = []
        while stack:
            path = stack.pop()
            self.step(path, stack, leaves)
            if len(leaves) + len(stack) > MAX_PATHS:
                raise TooComplexError(
                    f"the program has more than {MAX_PATHS} feasible paths for one "
                    "architecture; it is too complex to explain"
                )
        return leaves

    def step(self, path: _Path, stack: list[_Path], leaves: list[Leaf]) -> None:
        instructions = self.instructions
        while True:
            index = path.pc
            ins = instructions[index]
            code = ins.code
            cls = code & 0x07
            if cls == op.BPF_RET:
                self.ret(path, index, leaves)
                return
            if cls in (op.BPF_LD, op.BPF_LDX):
                mode = code & 0xE0
                value: Value
                if mode == op.BPF_ABS:
                    value = self.load(path, ins.k)
                elif mode == op.BPF_LEN:
                    value = Const(op.SECCOMP_DATA_SIZE)
                elif mode == op.BPF_IMM:
                    value = Const(ins.k)
                else:  # BPF_MEM
                    value = path.mem[ins.k]
                if cls == op.BPF_LD:
                    path.a = value
                else:
                    path.x = value
            elif cls in (op.BPF_ST, op.BPF_STX):
                mem = list(path.mem)
                mem[ins.k] = path.a if cls == op.BPF_ST else path.x
                path.mem = tuple(mem)
            elif cls == op.BPF_ALU:
                if not self.alu(path, index, leaves):
                    return
            elif cls == op.BPF_JMP:
                operation = code & 0xF0
                if operation == op.BPF_JA:
                    path.pc += 1 + ins.k
                    continue
                self.jump(path, index, stack)
                return
            elif (code & 0xF8) == op.BPF_TXA:
                path.a = path.x
            else:  # BPF_MISC | BPF_TAX
                path.x = path.a
            path.pc += 1

    def ret(self, path: _Path, index: int, leaves: list[Leaf]) -> None:
        ins = self.instructions[index]
        if (ins.code & 0x18) == op.BPF_K:
            value = ins.k
        else:
            a = path.a
            if isinstance(a, Const):
                value = a.value
            else:
                # The return value depends on the call in a way the model has no words for.
                value = 0
                if isinstance(a, Loaded):
                    value = self._word_sample(path, a.word) & a.mask
                    self.note(index, "returns a value loaded from seccomp_data (RET A)")
                else:
                    self.note(index, "returns a computed value (RET A)")
                path.guessed = True
        leaves.append(Leaf(path.nr, path.arch, path.region, value, path.guessed))

    def _word_sample(self, path: _Path, word: int) -> int:
        if word == _NR_WORD:
            return path.nr.sample()
        if word == _ARCH_WORD:
            return path.arch.sample()
        target, high = self.field(word)
        value = region_get(path.region, target).sample()
        return value >> 32 if high else value & MASK32

    def alu(self, path: _Path, index: int, leaves: list[Leaf]) -> bool:
        """Apply one ALU instruction; False when the path ended (division by X == 0)."""
        ins = self.instructions[index]
        operation = ins.code & 0xF0
        a = path.a
        if operation == op.BPF_NEG:
            path.a = Const(-a.value & MASK32) if isinstance(a, Const) else Computed(index)
            return True
        operand = path.x if ins.code & op.BPF_X else Const(ins.k)
        if (
            isinstance(operand, Const)
            and operand.value == 0
            and operation
            in (
                op.BPF_DIV,
                op.BPF_MOD,
            )
        ):
            # Only reachable with X == 0: bpf_convert_filter makes the filter return 0.
            leaves.append(Leaf(path.nr, path.arch, path.region, 0, path.guessed))
            return False
        if isinstance(a, Const) and isinstance(operand, Const):
            path.a = Const(_fold(operation, a.value, operand.value))
            return True
        if isinstance(a, Loaded) and isinstance(operand, Const):
            k = operand.value
            if operation == op.BPF_AND:
                path.a = Loaded(a.word, a.mask & k)
                return True
            if k == 0 and operation in (
                op.BPF_ADD,
                op.BPF_SUB,
                op.BPF_OR,
                op.BPF_XOR,
                op.BPF_LSH,
                op.BPF_RSH,
            ):
                return True  # the identity
        path.a = Computed(index)
        return True

    def jump(self, path: _Path, index: int, stack: list[_Path]) -> None:
        ins = self.instructions[index]
        operation = ins.code & 0xF0
        a = path.a
        operand = path.x if ins.code & op.BPF_X else Const(ins.k)
        true_pc = index + 1 + ins.jt
        false_pc = index + 1 + ins.jf
        if isinstance(a, Const) and isinstance(operand, Const):
            taken = _taken(operation, a.value, operand.value)
            path.pc = true_pc if taken else false_pc
            stack.append(path)
            return
        if isinstance(a, Loaded) and isinstance(operand, Const):
            word, (true, false) = a.word, word_branches(operation, operand.value, a.mask)
        elif isinstance(a, Const) and isinstance(operand, Loaded):
            word, (true, false) = operand.word, _swapped(operation, a.value, operand.mask)
        else:
            what = "two loaded words" if isinstance(a, Loaded) else "a computed value"
            self.note(index, f"compares {what}, which the model cannot express")
            for target in (false_pc, true_pc):
                branch = path.copy()
                branch.pc = target
                branch.guessed = True
                stack.append(branch)
            return
        # Push the false side first so that the true side is walked first (program order).
        for target, alternatives in ((false_pc, false), (true_pc, true)):
            for pieces in reversed(alternatives):
                constrained = self.constrain(path.copy(), word, pieces)
                if constrained is not None:
                    constrained.pc = target
                    stack.append(constrained)


def _fold(operation: int, a: int, b: int) -> int:
    if operation == op.BPF_ADD:
        return (a + b) & MASK32
    if operation == op.BPF_SUB:
        return (a - b) & MASK32
    if operation == op.BPF_MUL:
        return (a * b) & MASK32
    if operation == op.BPF_DIV:
        return a // b
    if operation == op.BPF_MOD:
        return a % b
    if operation == op.BPF_AND:
        return a & b
    if operation == op.BPF_OR:
        return a | b
    if operation == op.BPF_XOR:
        return a ^ b
    if operation == op.BPF_LSH:
        return (a << (b & 31)) & MASK32
    if operation == op.BPF_RSH:
        return a >> (b & 31)
    raise ValueError(f"unexpected ALU operation {operation:#x}")


def _taken(operation: int, a: int, b: int) -> bool:
    if operation == op.BPF_JEQ:
        return a == b
    if operation == op.BPF_JGT:
        return a > b
    if operation == op.BPF_JGE:
        return a >= b
    return (a & b) != 0


# -- from leaves to behaviour -------------------------------------------------------------------


@dataclass(frozen=True)
class Exploration:
    """The leaves of one walk and what could not be expressed on the way."""

    leaves: tuple[Leaf, ...]
    notes: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return not any(leaf.guessed for leaf in self.leaves)


def explore(program: Program, byteorder: ByteOrder, nr: ValueSet, arch: ValueSet) -> Exploration:
    """Every feasible path of ``program`` for calls with ``nr`` and ``arch`` in these sets."""
    explorer = _Explorer(program, byteorder)
    leaves = explorer.run(nr, arch)
    return Exploration(tuple(leaves), tuple(explorer.notes))


def leaf_action(ret: int) -> Action:
    """The action the kernel takes for a return value (``__seccomp_filter``): unknown actions
    kill the process, the errno is capped at MAX_ERRNO, data of data-less actions ignored."""
    return Action.from_ret(ret, strict=False)


def segments_from_leaves(leaves: Sequence[Leaf]) -> tuple[Segment, ...]:
    """Cut 0..2**32-1 where some leaf's ``nr`` set starts or ends; one partition per piece."""
    try:
        spans = [leaf.nr.as_intervals() for leaf in leaves]
    except TooComplexError:
        raise TooComplexError(
            "the program tests low bits of the system call number (JSET or AND with a mask): "
            "the numbers it separates form too many ranges to explain"
        ) from None
    cuts = sorted({0, *(lo for s in spans for lo, _ in s), *(hi + 1 for s in spans for _, hi in s)})
    if cuts[-1] == NR_MAX + 1:
        cuts.pop()
    members: list[list[int]] = [[] for _ in cuts]
    for number, span in enumerate(spans):
        for lo, hi in span:
            for index in range(bisect_left(cuts, lo), bisect_right(cuts, hi)):
                members[index].append(number)
    memo: dict[tuple[int, ...], Partition] = {}
    segments: list[Segment] = []
    for index, low in enumerate(cuts):
        high = cuts[index + 1] - 1 if index + 1 < len(cuts) else NR_MAX
        key = tuple(members[index])
        if key not in memo:
            memo[key] = Partition.from_leaves(
                (leaves[i].region, leaf_action(leaves[i].ret)) for i in key
            )
        segments.append(Segment(low, high, memo[key]))
    return merge_segments(segments)


def _return_notes(leaves: Sequence[Leaf]) -> list[str]:
    notes = []
    for ret in sorted({leaf.ret for leaf in leaves}):
        action = leaf_action(ret)
        if action.ret_value != ret:
            notes.append(
                f"returns {ret:#010x}, which the kernel reads as {action.describe()} "
                "(kernel/seccomp.c)"
            )
    return notes


def program_behaviour(program: Program, audits: Sequence[int] | None = None) -> FilterBehaviour:
    """What ``program`` does with every call of the ``audits`` architectures (default: every
    known ``AUDIT_ARCH`` value) and of foreign architectures."""
    chosen = known_audit_values() if audits is None else tuple(dict.fromkeys(audits))
    notes: dict[str, None] = {}
    exact = True
    all_leaves: list[Leaf] = []
    by_audit: dict[int, tuple[Segment, ...]] = {}
    full = ValueSet.full(32)
    for audit in chosen:
        abis = arches_by_audit(audit)
        byteorder: ByteOrder = abis[0].byteorder if abis else _byteorder_of(audit)
        exploration = explore(program, byteorder, full, ValueSet.of(32, ((audit, audit),)))
        by_audit[audit] = segments_from_leaves(exploration.leaves)
        exact = exact and exploration.exact
        notes.update(dict.fromkeys(exploration.notes))
        all_leaves += exploration.leaves
    foreign: list[ForeignLeaf] = []
    for little in (True, False):
        bit = _AUDIT_ARCH_LE if little else 0
        arches = foreign_arches().with_fixed(_AUDIT_ARCH_LE, bit)
        exploration = explore(program, "little" if little else "big", full, arches)
        exact = exact and exploration.exact
        notes.update(dict.fromkeys(exploration.notes))
        all_leaves += exploration.leaves
        foreign += [
            ForeignLeaf(leaf.arch, leaf.nr, leaf.region, leaf_action(leaf.ret))
            for leaf in exploration.leaves
        ]
    return FilterBehaviour(
        by_audit, tuple(foreign), exact, tuple(notes), tuple(_return_notes(all_leaves))
    )


def _byteorder_of(audit: int) -> ByteOrder:
    return "little" if audit & _AUDIT_ARCH_LE else "big"
