"""Symbolic execution of a classic-BPF seccomp filter: its behaviour for every call.

Jumps only go forward, so the program is a DAG and every path ends in a ``RET``. The
execution is a domain of the program walker (:func:`seccomp_bpf.bpf.walker.walk_paths`),
which follows every path on its own, keeping for each:

- what ``A``, ``X`` and the scratch cells ``M[0..15]`` hold: a constant, a word of
  ``struct seccomp_data`` under a mask (``LD [k]`` then ``AND #m``), or a value computed in a
  way the model cannot follow (other arithmetic on a loaded word);
- the path's constraints, exact sets of the condition engine
  (:mod:`seccomp_bpf.policy.values`): one for ``nr``, one for ``arch``, and one per argument
  and the instruction pointer, where a test of a high word ``h`` in ``S`` constrains the
  64-bit value to ``{v : v >> 32 in S}`` and a test of a low word constrains
  ``v & 0xffffffff``. The word order of each 64-bit field follows the byte order of the
  architecture (``<linux/seccomp.h>``: ``args[i]`` at ``16 + 8 i``, the low word first on
  little-endian machines).

Each conditional jump splits the path in two and each side takes the test or its negation
(:func:`word_branches`: one :data:`~seccomp_bpf.policy.values.Constraint` on the word, or
several alternatives for a masked ordering); a side whose constraints are empty is dropped,
which keeps the walk to the feasible paths (and the result exact). The leaves,
``(nr set, arch set, region, return value)``, are disjoint and cover every call;
:func:`program_behaviour` cuts the number space at the ends of their ``nr`` sets into ranges
with one decision each.

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
from seccomp_bpf.bpf.instruction import ByteOrder, Instruction, Program
from seccomp_bpf.bpf.walker import ENDED, Ended, Machine, alu_result, jump_taken, walk_paths
from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.explain.behaviour import (
    NR_MAX,
    FilterBehaviour,
    ForeignLeaf,
    Segment,
    foreign_arches,
    known_audit_values,
    merge_segments,
)
from seccomp_bpf.policy import Action
from seccomp_bpf.policy.decisions import Partition
from seccomp_bpf.policy.semantics import FULL_REGION, IP_TARGET, Region, region_get, region_with
from seccomp_bpf.policy.values import (
    MASK32,
    Constraint,
    Differs,
    Matches,
    Pattern,
    ValueSet,
    Within,
    masked_at_least_patterns,
    masked_greater_patterns,
)

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

# A branch is a list of alternatives, each a conjunction of constraints on one 32-bit word.
Alternatives = list[list[Constraint]]


@dataclass(frozen=True, slots=True)
class Leaf:
    """One path: the calls it covers and what it returns. ``guessed`` when the path passed a
    test the model cannot express."""

    nr: ValueSet
    arch: ValueSet
    region: Region
    ret: int
    guessed: bool


@dataclass(frozen=True, slots=True)
class _Facts:
    """The calls a path covers so far, and whether it passed a test the model cannot express."""

    nr: ValueSet
    arch: ValueSet
    region: Region
    guessed: bool = False

    def leaf(self, ret: int) -> Leaf:
        return Leaf(self.nr, self.arch, self.region, ret, self.guessed)


_Path = Machine[Value, _Facts]


# -- tests on words -----------------------------------------------------------------------------


def word_branches(operation: int, k: int, mask: int) -> tuple[Alternatives, Alternatives]:
    """The constraints on a word ``w`` for ``(w & mask) OP k`` being true, and false."""
    full = mask == MASK32
    if operation == op.BPF_JEQ:
        if full:
            equal = Within(((k, k),), 32)
            return [[equal]], [[equal.negation()]]
        if k & ~mask:
            return [], [[]]
        return [[Matches(mask, k)]], [[Differs(mask, k)]]
    if operation in (op.BPF_JGT, op.BPF_JGE):
        if full:
            low = k + 1 if operation == op.BPF_JGT else k
            true: Alternatives = [[Within(((low, MASK32),), 32)]] if low <= MASK32 else []
            false: Alternatives = [[Within(((0, low - 1),), 32)]] if low > 0 else []
            return true, false
        patterns: list[Pattern] = (
            masked_greater_patterns(mask, k)
            if operation == op.BPF_JGT
            else masked_at_least_patterns(mask, k)
        )
        return (
            [[Matches(m, v)] for m, v in patterns],
            [[Differs(m, v) for m, v in patterns]],
        )
    # BPF_JSET: (w & mask & k) != 0
    bits = k & mask
    if not bits:
        return [], [[]]
    return [[Differs(bits, 0)]], [[Matches(bits, 0)]]


def _swapped(operation: int, k: int, mask: int) -> tuple[Alternatives, Alternatives]:
    """``k OP (w & mask)``: JEQ and JSET are symmetric; ``k > w`` is ``not (w >= k)``."""
    if operation == op.BPF_JGT:
        true, false = word_branches(op.BPF_JGE, k, mask)
        return false, true
    if operation == op.BPF_JGE:
        true, false = word_branches(op.BPF_JGT, k, mask)
        return false, true
    return word_branches(operation, k, mask)


# -- the domain ---------------------------------------------------------------------------------


class _Symbolic:
    """The walker's domain: values are :data:`Value`, facts the path's constraints."""

    def __init__(self, byteorder: ByteOrder) -> None:
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

    def constrain(self, facts: _Facts, word: int, pieces: list[Constraint]) -> _Facts | None:
        """The facts with the word's constraints added, or None when no call is left."""
        if word in (_NR_WORD, _ARCH_WORD):
            values = facts.nr if word == _NR_WORD else facts.arch
            for piece in pieces:
                values = piece.apply(values)
                if values.is_empty:
                    return None
            if word == _NR_WORD:
                return _Facts(values, facts.arch, facts.region, facts.guessed)
            return _Facts(facts.nr, values, facts.region, facts.guessed)
        target, high = self.field(word)
        values = region_get(facts.region, target)
        for piece in pieces:
            values = (piece.on_upper_word() if high else piece).apply(values)
            if values.is_empty:
                return None
        region = region_with(facts.region, target, values)
        if region is None:
            return None
        return _Facts(facts.nr, facts.arch, region, facts.guessed)

    def note(self, index: int, text: str) -> None:
        self.notes[f"instruction {index}: {text}"] = None

    # -- Domain -----------------------------------------------------------------------------------

    def constant(self, k: int) -> Value:
        return Const(k)

    def load(self, machine: _Path, offset: int, pc: int) -> Value:
        word = offset // 4
        facts = machine.facts
        if word == _NR_WORD and (single := facts.nr.singleton()) is not None:
            return Const(single)
        if word == _ARCH_WORD and (single := facts.arch.singleton()) is not None:
            return Const(single)
        return Loaded(word)

    def unknown(self, pc: int) -> Value:
        return Computed(pc)

    def ret(self, machine: _Path, value: Value, pc: int) -> None:
        facts = machine.facts
        if isinstance(value, Const):
            self.leaves.append(facts.leaf(value.value))
            return
        # The return value depends on the call in a way the model has no words for.
        ret = 0
        if isinstance(value, Loaded):
            ret = self._word_sample(facts, value.word) & value.mask
            self.note(pc, "returns a value loaded from seccomp_data (RET A)")
        else:
            self.note(pc, "returns a computed value (RET A)")
        self.leaves.append(_Facts(facts.nr, facts.arch, facts.region, True).leaf(ret))

    def _word_sample(self, facts: _Facts, word: int) -> int:
        if word == _NR_WORD:
            return facts.nr.sample()
        if word == _ARCH_WORD:
            return facts.arch.sample()
        target, high = self.field(word)
        value = region_get(facts.region, target).sample()
        return value >> 32 if high else value & MASK32

    def alu(self, machine: _Path, operation: int, operand: Value, pc: int) -> Value | Ended:
        a = machine.a
        if operation == op.BPF_NEG:
            return Const(-a.value & MASK32) if isinstance(a, Const) else Computed(pc)
        if (
            isinstance(operand, Const)
            and operand.value == 0
            and operation in (op.BPF_DIV, op.BPF_MOD)
        ):
            # Only reachable with X == 0: bpf_convert_filter makes the filter return 0.
            self.leaves.append(machine.facts.leaf(0))
            return ENDED
        if isinstance(a, Const) and isinstance(operand, Const):
            folded = alu_result(operation, a.value, operand.value)
            assert folded is not None
            return Const(folded)
        if isinstance(a, Loaded) and isinstance(operand, Const):
            k = operand.value
            if operation == op.BPF_AND:
                return Loaded(a.word, a.mask & k)
            if k == 0 and operation in (
                op.BPF_ADD,
                op.BPF_SUB,
                op.BPF_OR,
                op.BPF_XOR,
                op.BPF_LSH,
                op.BPF_RSH,
            ):
                return a  # the identity
        return Computed(pc)

    def branch(
        self, machine: _Path, instruction: Instruction, operand: Value, pc: int
    ) -> tuple[list[_Facts], list[_Facts]]:
        operation = instruction.code & 0xF0
        a = machine.a
        facts = machine.facts
        if isinstance(a, Const) and isinstance(operand, Const):
            if jump_taken(operation, a.value, operand.value):
                return [facts], []
            return [], [facts]
        if isinstance(a, Loaded) and isinstance(operand, Const):
            word, (true, false) = a.word, word_branches(operation, operand.value, a.mask)
        elif isinstance(a, Const) and isinstance(operand, Loaded):
            word, (true, false) = operand.word, _swapped(operation, a.value, operand.mask)
        else:
            what = "two loaded words" if isinstance(a, Loaded) else "a computed value"
            self.note(pc, f"compares {what}, which the model cannot express")
            guessed = _Facts(facts.nr, facts.arch, facts.region, True)
            return [guessed], [guessed]
        taken = [f for pieces in true if (f := self.constrain(facts, word, pieces)) is not None]
        not_taken = [
            f for pieces in false if (f := self.constrain(facts, word, pieces)) is not None
        ]
        return taken, not_taken

    def combine(self, machines: list[_Path]) -> list[_Path]:
        return machines  # every path on its own


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
    domain = _Symbolic(byteorder)

    def budget(pending: int) -> None:
        if len(domain.leaves) + pending > MAX_PATHS:
            raise TooComplexError(
                f"the program has more than {MAX_PATHS} feasible paths for one "
                "architecture; it is too complex to explain"
            )

    start: _Path = Machine.start(Const(0), _Facts(nr, arch, FULL_REGION))
    walk_paths(domain, program.instructions, start, pending=budget)
    return Exploration(tuple(domain.leaves), tuple(domain.notes))


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
