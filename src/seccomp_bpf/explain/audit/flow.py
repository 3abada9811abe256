"""What the audit knows of a program: its paths, and what it returns for chosen calls.

:func:`program_flow` is a path-sensitive domain of the program walker
(:class:`seccomp_bpf.bpf.walker.ForwardWalk`): the instructions in program order, each with the
set of path states that reach it. A path's state is what A, X and the scratch cells hold (where
from), what it has compared, and what it knows of the architecture and the system call
number. :class:`ProgramOracle` runs the program (the emulator) on a few argument vectors.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from seccomp_bpf.arch import Arch, all_arches, dispatched_arches
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.bpf.walker import ENDED, Ended, ForwardWalk, Machine, alu_result
from seccomp_bpf.policy.values import MASK32


class _Kind(enum.Enum):
    DATA = "a word of seccomp_data"
    CONST = "a constant"
    OTHER = "anything else"


class _Value(NamedTuple):
    """Where a register's value comes from."""

    kind: _Kind
    value: int
    """The offset in seccomp_data, or the constant."""
    derived: bool = False
    """Changed by arithmetic since it was loaded."""

    def is_data(self, offset: int | None = None) -> bool:
        return self.kind is _Kind.DATA and (offset is None or self.value == offset)

    @property
    def constant(self) -> int | None:
        return self.value if self.kind is _Kind.CONST else None


_UNKNOWN: Final = _Value(_Kind.OTHER, 0)


class _PathState(NamedTuple):
    """What a path has established (the walker's facts; the registers are beside them)."""

    arch_compared: bool
    nr_compared: bool
    audit: int | None
    nr_low: int
    nr_high: int
    words: frozenset[int]
    """Offsets of the argument and instruction-pointer words a jump has compared."""
    ordered: frozenset[int]
    """Those compared as loaded (no arithmetic) by an equality or ordering jump (not JSET)."""


_Machine = Machine[_Value, _PathState]


class _PathEnd(NamedTuple):
    state: _PathState
    ret: int | None
    """The value returned, ``None`` when it is A holding something not constant."""


@dataclass
class ProgramFlow:
    ends: list[_PathEnd] = field(default_factory=list)
    audits: set[int] = field(default_factory=set)
    """The architecture values the program compares with."""
    reads_arch: bool = False
    complete: bool = True


PATH_STATE_LIMIT: Final = 100_000


class _FlowDomain:
    """The walker's domain for SB001 and SB008: values are :class:`_Value`, facts
    :class:`_PathState`; the states reaching one instruction are kept apart (once each)."""

    def __init__(self, flow: ProgramFlow) -> None:
        self.flow = flow

    def constant(self, k: int) -> _Value:
        return _Value(_Kind.CONST, k)

    def load(self, machine: _Machine, offset: int, pc: int) -> _Value:
        return _Value(_Kind.DATA, offset)

    def unknown(self, pc: int) -> _Value:
        return _UNKNOWN

    def ret(self, machine: _Machine, value: _Value, pc: int) -> None:
        self.flow.ends.append(_PathEnd(machine.facts, value.constant))

    def alu(self, machine: _Machine, operation: int, operand: _Value, pc: int) -> _Value | Ended:
        if operation in (op.BPF_DIV, op.BPF_MOD):
            # bpf_convert_filter (net/core/filter.c) returns 0 when X is 0
            if operand.constant in (None, 0):
                self.flow.ends.append(_PathEnd(machine.facts, 0))
            if operand.constant == 0:
                return ENDED
        a = machine.a
        if a.constant is not None and operand.constant is not None:
            folded = alu_result(operation, a.constant, operand.constant)
            return _UNKNOWN if folded is None else _Value(_Kind.CONST, folded)
        if a.is_data():
            return a._replace(derived=True)
        return _UNKNOWN

    def branch(
        self, machine: _Machine, instruction: Instruction, operand: _Value, pc: int
    ) -> tuple[list[_PathState], list[_PathState]]:
        state = machine.facts
        if instruction.jt == instruction.jf:
            return [state], []
        operation = op.bpf_op(instruction.code)
        compared = operand.constant
        a = machine.a
        if a.is_data(op.OFFSET_ARCH) and compared is not None:
            self.flow.audits.add(compared)
        operands = [a, machine.x] if op.bpf_src(instruction.code) == op.BPF_X else [a]
        for value in operands:
            if not value.is_data():
                continue
            if value.value == op.OFFSET_ARCH:
                state = state._replace(arch_compared=True)
            elif value.value == op.OFFSET_NR:
                state = state._replace(nr_compared=True)
            else:
                state = state._replace(words=state.words | {value.value})
                if not value.derived and operation != op.BPF_JSET:
                    state = state._replace(ordered=state.ordered | {value.value})
        taken = _narrow(a, state, operation, compared, True)
        not_taken = _narrow(a, state, operation, compared, False)
        return (
            [taken] if taken is not None else [],
            [not_taken] if not_taken is not None else [],
        )

    def combine(self, machines: list[_Machine]) -> list[_Machine]:
        return list(dict.fromkeys(machines))


def program_flow(program: Program) -> ProgramFlow:
    flow = ProgramFlow()
    instructions = program.instructions
    start: _Machine = Machine.start(
        _Value(_Kind.CONST, 0),
        _PathState(False, False, None, 0, MASK32, frozenset(), frozenset()),
    )
    flow.reads_arch = any(
        ins.code == op.BPF_LD | op.BPF_W | op.BPF_ABS and ins.k == op.OFFSET_ARCH
        for ins in instructions
    )
    walk = ForwardWalk(_FlowDomain(flow), len(instructions), start)
    flow.complete = walk.run(instructions, limit=PATH_STATE_LIMIT)
    return flow


def _narrow(
    a: _Value, state: _PathState, operation: int, operand: int | None, taken: bool
) -> _PathState | None:
    """The state on one side of a jump, ``None`` when that side cannot happen."""
    if not a.is_data() or a.derived or operand is None:
        return state
    if a.value == op.OFFSET_ARCH and operation == op.BPF_JEQ:
        if taken:
            if state.audit is not None and state.audit != operand:
                return None
            return state._replace(audit=operand)
        return None if state.audit == operand else state
    if a.value != op.OFFSET_NR:
        return state
    low, high = state.nr_low, state.nr_high
    if operation == op.BPF_JEQ:
        if taken:
            low, high = max(low, operand), min(high, operand)
        elif low == high == operand:
            return None
        elif operand == low:
            low += 1
        elif operand == high:
            high -= 1
    elif operation == op.BPF_JGT:
        low, high = (max(low, operand + 1), high) if taken else (low, min(high, operand))
    elif operation == op.BPF_JGE:
        low, high = (max(low, operand), high) if taken else (low, min(high, operand - 1))
    elif low == high and bool(low & operand) != taken:  # JSET on a known number
        return None
    if low > high:
        return None
    return state._replace(nr_low=low, nr_high=high)


_PERMISSIVE_RETURNS: Final = frozenset({op.SECCOMP_RET_ALLOW, op.SECCOMP_RET_LOG})


def returns_permissive(ret: int | None) -> bool:
    """Whether a return value lets the call run (an unknown A might)."""
    return ret is None or ret & op.SECCOMP_RET_ACTION_FULL in _PERMISSIVE_RETURNS


# The same vectors are run on both ABIs of a comparison, so they hold values that a 32-bit
# ABI can pass too (its arguments reach seccomp zero-extended).
_ARGUMENT_VECTORS: Final = ((0,) * 6, (1,) * 6, (MASK32,) * 6)


class ProgramOracle:
    """What a program does with each call of an ABI, on a few argument vectors."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._cache: dict[tuple[int, int], tuple[SeccompAction, ...]] = {}

    def actions(self, audit: int, nr: int) -> tuple[SeccompAction, ...]:
        """The action for each of :data:`_ARGUMENT_VECTORS`."""
        key = (audit, nr)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = tuple(
                emulate(self.program, SeccompData(nr, audit, 0, args)).action
                for args in _ARGUMENT_VECTORS
            )
        return cached

    def allowed(self, audit: int, nr: int) -> tuple[bool, ...]:
        return tuple(a in (SeccompAction.ALLOW, SeccompAction.LOG) for a in self.actions(audit, nr))

    def denied(self, audit: int, nr: int) -> tuple[bool, ...]:
        return tuple(
            a not in (SeccompAction.ALLOW, SeccompAction.LOG, SeccompAction.TRACE,
                      SeccompAction.USER_NOTIF)
            for a in self.actions(audit, nr)
        )  # fmt: skip

    @staticmethod
    def audits_of(abi: Arch) -> list[int]:
        """The architecture values under which calls run from ``abi``'s table."""
        return sorted(
            {a.audit_arch for a in all_arches() if abi in dispatched_arches(a.audit_arch)}
        )
