"""One walk over a classic-BPF program, with what its values are left to a domain.

Seccomp programs jump forward only (``bpf_check_classic`` refuses backward jumps), so a
program is a DAG and every path ends in a ``RET``. A walk follows the instructions with a
:class:`Machine`: ``A``, ``X`` and the scratch cells ``M[0..15]`` hold *abstract values*, and
``facts`` hold what the analysis knows of the path. This module is the one place that knows
what each opcode does to the machine (the transfer functions, :func:`step`: the same meaning
as :func:`~seccomp_bpf.bpf.emulator.emulate`); a :class:`Domain` says what a value is and what
a test teaches:

- ``constant(k)``: an immediate (``LD IMM``, ``LD LEN`` as 64, ``RET K``, a ``K`` operand);
- ``load(machine, offset, pc)``: the word at ``offset`` of ``struct seccomp_data``;
- ``unknown(pc)``: a value the validator would refuse to load (the assembler walks text before
  it is validated);
- ``alu(machine, operation, operand, pc)``: ``A op operand``, or :data:`ENDED` when the path
  ends there (a division by a zero ``X`` makes the filter return 0);
- ``branch(machine, instruction, operand, pc)``: the facts on the taken and on the not-taken
  edge of a conditional jump. An empty list: that edge cannot be taken; several: the edge
  splits the path (a test the domain writes as several alternatives);
- ``ret(machine, value, pc)``: a path ends, returning ``value``;
- ``combine(machines)``: the machines that reach one instruction, as the domain keeps them
  (joined into one for a data-flow pass, kept apart for a path-sensitive analysis).

Two schedules, for the two kinds of analysis:

- :func:`walk_paths` follows each path on its own, depth first, the taken edge (and the first
  alternative) first, so paths end in the order of the program's tests;
- :class:`ForwardWalk` visits the instructions in program order; every predecessor of an
  instruction comes before it, so one pass sees every machine reaching it, combined by the
  domain. It can be driven one instruction at a time (the assembler decides an instruction
  from the state before it, then visits it).

This module knows nothing of system calls: offsets are offsets of ``struct seccomp_data``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, Literal, Protocol, TypeVar

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction

V = TypeVar("V")
F = TypeVar("F")

_MASK32: Final = 0xFFFFFFFF


class _End(enum.Enum):
    ENDED = "the path ended"


ENDED: Final = _End.ENDED
"""What :meth:`Domain.alu` returns when the path ends at the instruction (it returned)."""
Ended = Literal[_End.ENDED]


@dataclass(frozen=True, slots=True)
class Machine(Generic[V, F]):
    """``A``, ``X``, the scratch cells, as abstract values; and the facts of the path."""

    a: V
    x: V
    mem: tuple[V, ...]
    facts: F

    @classmethod
    def start(cls, value: V, facts: F) -> Machine[V, F]:
        """Every register and cell holding ``value`` (the kernel starts them at 0)."""
        return cls(value, value, (value,) * op.BPF_MEMWORDS, facts)

    def with_a(self, value: V) -> Machine[V, F]:
        return Machine(value, self.x, self.mem, self.facts)

    def with_x(self, value: V) -> Machine[V, F]:
        return Machine(self.a, value, self.mem, self.facts)

    def with_mem(self, index: int, value: V) -> Machine[V, F]:
        mem = list(self.mem)
        mem[index] = value
        return Machine(self.a, self.x, tuple(mem), self.facts)

    def with_facts(self, facts: F) -> Machine[V, F]:
        return Machine(self.a, self.x, self.mem, facts)


class Domain(Protocol[V, F]):
    """What the values of a walk are; see the module docstring."""

    def constant(self, k: int) -> V: ...

    def load(self, machine: Machine[V, F], offset: int, pc: int) -> V: ...

    def unknown(self, pc: int) -> V: ...

    def alu(
        self, machine: Machine[V, F], operation: int, operand: V, pc: int
    ) -> V | Ended: ...

    def branch(
        self, machine: Machine[V, F], instruction: Instruction, operand: V, pc: int
    ) -> tuple[Sequence[F], Sequence[F]]: ...

    def ret(self, machine: Machine[V, F], value: V, pc: int) -> None: ...

    def combine(self, machines: list[Machine[V, F]]) -> list[Machine[V, F]]: ...


def step(
    domain: Domain[V, F], machine: Machine[V, F], pc: int, instruction: Instruction
) -> list[tuple[int, Machine[V, F]]]:
    """The machines after ``instruction`` (at ``pc``), with the index each goes on to."""
    code, k = instruction.code, instruction.k
    cls = op.bpf_class(code)
    if cls == op.BPF_RET:
        value = domain.constant(k) if op.bpf_rval(code) == op.BPF_K else machine.a
        domain.ret(machine, value, pc)
        return []
    if cls in (op.BPF_LD, op.BPF_LDX):
        mode = op.bpf_mode(code)
        if mode == op.BPF_ABS:
            loaded = domain.load(machine, k, pc)
        elif mode == op.BPF_IMM:
            loaded = domain.constant(k)
        elif mode == op.BPF_LEN:
            loaded = domain.constant(op.SECCOMP_DATA_SIZE)  # seccomp_check_filter's rewrite
        elif mode == op.BPF_MEM and k < op.BPF_MEMWORDS:
            loaded = machine.mem[k]
        else:
            loaded = domain.unknown(pc)
        after = machine.with_a(loaded) if cls == op.BPF_LD else machine.with_x(loaded)
        return [(pc + 1, after)]
    if cls in (op.BPF_ST, op.BPF_STX):
        if k >= op.BPF_MEMWORDS:
            return [(pc + 1, machine)]
        return [(pc + 1, machine.with_mem(k, machine.a if cls == op.BPF_ST else machine.x))]
    if cls == op.BPF_ALU:
        operand = machine.x if op.bpf_src(code) == op.BPF_X else domain.constant(k)
        result = domain.alu(machine, op.bpf_op(code), operand, pc)
        if result is ENDED:
            return []
        return [(pc + 1, machine.with_a(result))]
    if cls == op.BPF_JMP:
        if op.bpf_op(code) == op.BPF_JA:
            return [(pc + 1 + k, machine)]
        operand = machine.x if op.bpf_src(code) == op.BPF_X else domain.constant(k)
        taken, not_taken = domain.branch(machine, instruction, operand, pc)
        return [(pc + 1 + instruction.jt, machine.with_facts(f)) for f in taken] + [
            (pc + 1 + instruction.jf, machine.with_facts(f)) for f in not_taken
        ]
    if code & 0xF8 == op.BPF_TXA:  # BPF_MISC
        return [(pc + 1, machine.with_a(machine.x))]
    return [(pc + 1, machine.with_x(machine.a))]  # BPF_MISC | BPF_TAX


def walk_paths(
    domain: Domain[V, F],
    instructions: Sequence[Instruction],
    start: Machine[V, F],
    *,
    pending: Callable[[int], None] | None = None,
) -> None:
    """Follow every path of a valid program from ``start``, depth first, each on its own.

    ``pending`` (if given) is told, after each step, how many paths wait on the stack (a
    domain may give up beyond a budget by raising).
    """
    stack: list[tuple[int, Machine[V, F]]] = [(0, start)]
    while stack:
        pc, machine = stack.pop()
        while True:
            following = step(domain, machine, pc, instructions[pc])
            if len(following) != 1:
                stack.extend(reversed(following))
                break
            pc, machine = following[0]
        if pending is not None:
            pending(len(stack))


class ForwardWalk(Generic[V, F]):
    """The machines reaching each instruction, visited in program order.

    Call :meth:`machines_at` then :meth:`visit` for ``pc = 0, 1, ...`` (or :meth:`run`).
    Successors outside the program (text the validator will refuse) are ignored; an
    instruction nothing reaches has no machines and passes nothing on.
    """

    def __init__(self, domain: Domain[V, F], length: int, start: Machine[V, F]) -> None:
        self.domain = domain
        self._incoming: list[list[Machine[V, F]]] = [[] for _ in range(length)]
        self._combined: list[bool] = [False] * length
        if length:
            self._incoming[0].append(start)

    def machines_at(self, pc: int) -> list[Machine[V, F]]:
        """The machines on entry to instruction ``pc``, as the domain combines them."""
        if not self._combined[pc]:
            self._incoming[pc] = self.domain.combine(self._incoming[pc])
            self._combined[pc] = True
        return self._incoming[pc]

    def visit(self, pc: int, instruction: Instruction) -> None:
        """Pass the machines after ``instruction`` (at ``pc``) on to its successors."""
        length = len(self._incoming)
        for machine in self.machines_at(pc):
            for target, after in step(self.domain, machine, pc, instruction):
                if target < length:
                    self._incoming[target].append(after)

    def run(self, instructions: Sequence[Instruction], *, limit: int | None = None) -> bool:
        """Visit every instruction, forgetting the machines of those visited; False when more
        than ``limit`` machines (counted over all instructions) had to be visited, and the
        walk stopped there."""
        left = limit
        for pc, instruction in enumerate(instructions):
            if left is not None:
                left -= len(self.machines_at(pc))
                if left < 0:
                    return False
            self.visit(pc, instruction)
            self._incoming[pc] = []
        return True


# -- constant folding, shared by the domains that track constants --------------------------------


def alu_result(operation: int, a: int, b: int) -> int | None:
    """``A op b`` on 32-bit values as the kernel computes it (see the emulator); ``None`` for a
    division or remainder by 0, which ends the filter with 0."""
    if operation == op.BPF_NEG:
        return -a & _MASK32
    if operation in (op.BPF_DIV, op.BPF_MOD):
        if b == 0:
            return None
        return a // b if operation == op.BPF_DIV else a % b
    if operation == op.BPF_ADD:
        return (a + b) & _MASK32
    if operation == op.BPF_SUB:
        return (a - b) & _MASK32
    if operation == op.BPF_MUL:
        return (a * b) & _MASK32
    if operation == op.BPF_AND:
        return a & b
    if operation == op.BPF_OR:
        return a | b
    if operation == op.BPF_XOR:
        return a ^ b
    if operation == op.BPF_LSH:
        return (a << (b & 31)) & _MASK32
    if operation == op.BPF_RSH:
        return a >> (b & 31)
    raise ValueError(f"unexpected ALU operation {operation:#x}")


def jump_taken(operation: int, a: int, b: int) -> bool:
    """Whether ``if (A op b)`` jumps (unsigned 32-bit comparisons; ``JSET`` tests bits)."""
    if operation == op.BPF_JEQ:
        return a == b
    if operation == op.BPF_JGT:
        return a > b
    if operation == op.BPF_JGE:
        return a >= b
    return (a & b) != 0
