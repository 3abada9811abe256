"""Lower a policy ``Condition`` into BPF jumps: ``emit(condition, true, false)``.

The emitted code always ends in a jump to ``true`` or ``false``; it never falls through.
``All``/``Any``/``Not`` become short-circuit jump networks. Five comparisons are emitted
directly (``Equal``, ``GreaterThan``, ``GreaterOrEqual``, ``MaskedEqual``, ``InSet``); every
other one is first written with them (:meth:`~seccomp_bpf.policy.Comparison.lower`:
``a < v`` is ``not (a >= v)``, ``bits_set`` is a masked equality...). Each comparison reads
32-bit words of
``struct seccomp_data``; a 64-bit value ``v`` is split into ``v_hi = v >> 32`` and
``v_lo = v & 0xffffffff``, and the word order comes from the architecture's byte order
(``args[i]`` starts at offset ``16 + 8 i``; on little-endian machines the low word comes first).
Repeated loads of the same word are removed later by the optimizer's ``drop_redundant_loads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Label, ProgramBuilder
from seccomp_bpf.policy import (
    All,
    Any,
    Comparison,
    Condition,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    InSet,
    MaskedEqual,
    Not,
)

_MAX32 = 0xFFFFFFFF
_MAX64 = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class Operand:
    """Where the two words of a 64-bit operand live in ``struct seccomp_data``."""

    lo: int
    hi: int

    @classmethod
    def of(cls, arg: int | None, byteorder: str) -> Operand:
        base = op.OFFSET_IP if arg is None else op.offset_of_arg(arg)
        if byteorder == "little":
            return cls(lo=base, hi=base + 4)
        return cls(lo=base + 4, hi=base)


class ConditionEmitter:
    """Emits conditions for one architecture (its byte order decides the word offsets)."""

    def __init__(self, builder: ProgramBuilder, byteorder: str) -> None:
        self.b = builder
        self.byteorder = byteorder

    # -- combinators -------------------------------------------------------------------------------

    def emit(self, condition: Condition, true: Label, false: Label) -> None:
        if isinstance(condition, All):
            self._chain(condition.conditions, true, false, all_of=True)
        elif isinstance(condition, Any):
            self._chain(condition.conditions, true, false, all_of=False)
        elif isinstance(condition, Not):
            self.emit(condition.condition, false, true)
        elif isinstance(condition, (Equal, GreaterThan, GreaterOrEqual, MaskedEqual, InSet)):
            self._compare(condition, true, false)
        elif isinstance(condition, Comparison):
            lowered = condition.lower()
            assert lowered is not condition, condition
            self.emit(lowered, true, false)
        else:
            raise TypeError(f"not a condition: {condition!r}")

    def _chain(
        self, parts: Sequence[Condition], true: Label, false: Label, *, all_of: bool
    ) -> None:
        # All: each part must hold (a failing part goes to false).
        # Any: the first part that holds goes to true (a failing part tries the next).
        if not parts:
            self.b.jump(true if all_of else false)
            return
        for part in parts[:-1]:
            following = self.b.label()
            if all_of:
                self.emit(part, following, false)
            else:
                self.emit(part, true, following)
            self.b.bind(following)
        self.emit(parts[-1], true, false)

    # -- comparisons -------------------------------------------------------------------------------

    def _compare(
        self,
        cmp: Equal | GreaterThan | GreaterOrEqual | MaskedEqual | InSet,
        true: Label,
        false: Label,
    ) -> None:
        where = Operand.of(cmp.arg, self.byteorder)
        if cmp.width == 32:
            # only the low word of the operand takes part
            if isinstance(cmp, MaskedEqual):
                self._word_masked_eq(where.lo, cmp.mask, cmp.value, true, false)
            elif isinstance(cmp, InSet):
                self._word_in(where.lo, sorted(set(cmp.values)), true, false)
            else:
                self._word(where.lo, _JUMPS[type(cmp)], cmp.value, true, false)
        elif isinstance(cmp, Equal):
            self._eq64(where, cmp.value, true, false)
        elif isinstance(cmp, GreaterThan):
            self._gt64(where, cmp.value, true, false)
        elif isinstance(cmp, GreaterOrEqual):
            self._ge64(where, cmp.value, true, false)
        elif isinstance(cmp, MaskedEqual):
            self._masked_eq64(where, cmp.mask, cmp.value, true, false)
        else:
            self._in64(where, cmp.values, true, false)

    # -- one 32-bit word -------------------------------------------------------------------------

    def _word(self, offset: int, operation: int, k: int, true: Label, false: Label) -> None:
        """``word <operation> k`` for JEQ, JGT, JGE (unsigned), folding constant outcomes."""
        if operation == op.BPF_JGT and k == _MAX32:
            self.b.jump(false)  # nothing is above 2**32 - 1
            return
        if operation == op.BPF_JGE and k == 0:
            self.b.jump(true)  # everything is >= 0
            return
        self.b.load(offset)
        self.b.jump_if(operation, k, true, false)

    def _word_masked_eq(
        self, offset: int, mask: int, value: int, true: Label, false: Label
    ) -> None:
        """``(word & mask) == value``."""
        if value & ~mask:
            self.b.jump(false)  # value has a bit outside the mask: never equal
            return
        if mask == 0:
            self.b.jump(true)  # (word & 0) == 0 always
            return
        self.b.load(offset)
        if mask == _MAX32:
            self.b.jump_if(op.BPF_JEQ, value, true, false)
        elif value == 0:
            # (word & mask) == 0  <=>  no bit of mask is set: JSET mask takes the false side.
            self.b.jump_if(op.BPF_JSET, mask, false, true)
        elif value == mask and mask & (mask - 1) == 0:
            # a single bit that must be set: JSET mask.
            self.b.jump_if(op.BPF_JSET, mask, true, false)
        else:
            self.b.alu(op.BPF_AND, mask)
            self.b.jump_if(op.BPF_JEQ, value, true, false)

    def _word_in(self, offset: int, values: Sequence[int], true: Label, false: Label) -> None:
        """``word in values``: one ``JEQ`` each, the last one falls to ``false``."""
        self.b.load(offset)
        for value in values[:-1]:
            self.b.jump_if(op.BPF_JEQ, value, true, None)
        self.b.jump_if(op.BPF_JEQ, values[-1], true, false)

    # -- 64-bit comparisons ----------------------------------------------------------------------

    def _eq64(self, where: Operand, value: int, true: Label, false: Label) -> None:
        # a == v  <=>  a_hi == v_hi  and  a_lo == v_lo
        low = self.b.label()
        self._word(where.hi, op.BPF_JEQ, value >> 32, low, false)
        self.b.bind(low)
        self._word(where.lo, op.BPF_JEQ, value & _MAX32, true, false)

    def _gt64(self, where: Operand, value: int, true: Label, false: Label) -> None:
        # a > v  <=>  a_hi > v_hi  or  (a_hi == v_hi  and  a_lo > v_lo)
        v_hi, v_lo = value >> 32, value & _MAX32
        if value == _MAX64:
            self.b.jump(false)
            return
        if v_lo == _MAX32:
            # a_lo > 0xffffffff never holds, so a > v  <=>  a_hi > v_hi
            self._word(where.hi, op.BPF_JGT, v_hi, true, false)
            return
        equal_high = self.b.label()
        low = self.b.label()
        self.b.load(where.hi)
        if v_hi == _MAX32:
            self.b.jump_if(op.BPF_JEQ, v_hi, low, false)
        else:
            self.b.jump_if(op.BPF_JGT, v_hi, true, equal_high)
            self.b.bind(equal_high)
            # here a_hi <= v_hi, so a_hi == v_hi is the only way on
            self.b.jump_if(op.BPF_JEQ, v_hi, low, false)
        self.b.bind(low)
        self._word(where.lo, op.BPF_JGT, v_lo, true, false)

    def _ge64(self, where: Operand, value: int, true: Label, false: Label) -> None:
        # a >= v  <=>  a_hi > v_hi  or  (a_hi == v_hi  and  a_lo >= v_lo)
        v_hi, v_lo = value >> 32, value & _MAX32
        if v_lo == 0:
            # a_lo >= 0 always holds, so a >= v  <=>  a_hi >= v_hi
            self._word(where.hi, op.BPF_JGE, v_hi, true, false)
            return
        equal_high = self.b.label()
        low = self.b.label()
        self.b.load(where.hi)
        if v_hi == _MAX32:
            self.b.jump_if(op.BPF_JEQ, v_hi, low, false)
        else:
            self.b.jump_if(op.BPF_JGT, v_hi, true, equal_high)
            self.b.bind(equal_high)
            self.b.jump_if(op.BPF_JEQ, v_hi, low, false)
        self.b.bind(low)
        self._word(where.lo, op.BPF_JGE, v_lo, true, false)

    def _masked_eq64(
        self, where: Operand, mask: int, value: int, true: Label, false: Label
    ) -> None:
        # (a & m) == v  <=>  (a_hi & m_hi) == v_hi  and  (a_lo & m_lo) == v_lo
        low = self.b.label()
        self._word_masked_eq(where.hi, mask >> 32, value >> 32, low, false)
        self.b.bind(low)
        self._word_masked_eq(where.lo, mask & _MAX32, value & _MAX32, true, false)

    def _in64(self, where: Operand, values: Sequence[int], true: Label, false: Label) -> None:
        # a in {v...}: group the values by high word; for each group,
        #   if a_hi == h: (a_lo in {lows of h}) decides;  else try the next group.
        groups: dict[int, list[int]] = {}
        for value in sorted(set(values)):
            groups.setdefault(value >> 32, []).append(value & _MAX32)
        items = list(groups.items())
        for index, (high, lows) in enumerate(items):
            last = index == len(items) - 1
            other = false if last else self.b.label()
            low = self.b.label()
            self._word(where.hi, op.BPF_JEQ, high, low, other)
            self.b.bind(low)
            self._word_in(where.lo, lows, true, false)
            if not last:
                self.b.bind(other)


# The jump that tests each ordered or equality comparison on one word.
_JUMPS: Final[dict[type[Comparison], int]] = {
    Equal: op.BPF_JEQ,
    GreaterThan: op.BPF_JGT,
    GreaterOrEqual: op.BPF_JGE,
}
