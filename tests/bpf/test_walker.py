"""The program walker: its transfer functions mean what the emulator means, and both schedules
visit what they should.

The judge is the emulator: a concrete domain (values are the 32-bit numbers themselves, the
facts are the call) must give every program's result on every call, path by path and in
program order alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import given, settings

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.bpf.walker import (
    ENDED,
    Ended,
    ForwardWalk,
    Machine,
    alu_result,
    jump_taken,
    walk_paths,
)
from tests.bpf.strategies import listing, seccomp_data, valid_programs

_Concrete = Machine[int, SeccompData]


@dataclass
class _ConcreteDomain:
    """Values are the numbers; the facts are the call; a branch takes one edge."""

    returned: list[tuple[int, int]]  # (pc, value)

    def constant(self, k: int) -> int:
        return k

    def load(self, machine: _Concrete, offset: int, pc: int) -> int:
        return machine.facts.words()[offset // 4]

    def unknown(self, pc: int) -> int:
        raise AssertionError(f"instruction {pc}: a valid program loads nothing unknown")

    def alu(self, machine: _Concrete, operation: int, operand: int, pc: int) -> int | Ended:
        result = alu_result(operation, machine.a, operand)
        if result is None:
            self.returned.append((pc, 0))  # bpf_convert_filter: X == 0 returns 0
            return ENDED
        return result

    def branch(
        self, machine: _Concrete, instruction: Instruction, operand: int, pc: int
    ) -> tuple[list[SeccompData], list[SeccompData]]:
        taken = jump_taken(op.bpf_op(instruction.code), machine.a, operand)
        return ([machine.facts], []) if taken else ([], [machine.facts])

    def ret(self, machine: _Concrete, value: int, pc: int) -> None:
        self.returned.append((pc, value))

    def combine(self, machines: list[_Concrete]) -> list[_Concrete]:
        return machines


def _walked(program: Program, data: SeccompData) -> tuple[list[tuple[int, int]], bool]:
    """The returns of the one path of ``data``, by both schedules (and whether they agree)."""
    by_paths = _ConcreteDomain([])
    walk_paths(by_paths, program.instructions, Machine.start(0, data))
    in_order = _ConcreteDomain([])
    ForwardWalk(in_order, len(program), Machine.start(0, data)).run(program.instructions)
    return by_paths.returned, by_paths.returned == in_order.returned


@settings(max_examples=300, deadline=None)
@given(valid_programs(accumulator_tail=True), seccomp_data())
def test_the_transfer_functions_are_the_emulators(program: Program, data: SeccompData) -> None:
    returned, agree = _walked(program, data)
    expected = emulate(program, data)
    assert agree, listing(program.instructions)
    assert returned == [(expected.path[-1], expected.ret)], listing(program.instructions)


_Named = Machine[int | None, int]


@dataclass
class _Loads:
    """Which word of seccomp_data a register holds (None: anything else); every path kept."""

    ends: list[tuple[int, int | None]]

    def constant(self, k: int) -> int | None:
        return None

    def load(self, machine: Machine[int | None, int], offset: int, pc: int) -> int | None:
        return offset

    def unknown(self, pc: int) -> int | None:
        return None

    def alu(
        self, machine: Machine[int | None, int], operation: int, operand: int | None, pc: int
    ) -> int | Ended | None:
        return None  # None is a value here, not the end of the path

    def branch(
        self, machine: Machine[int | None, int], instruction: Instruction, operand: int | None,
        pc: int,
    ) -> tuple[Sequence[int], Sequence[int]]:  # fmt: skip
        return [machine.facts * 2 + 1], [machine.facts * 2]  # the facts number the path

    def ret(self, machine: Machine[int | None, int], value: int | None, pc: int) -> None:
        self.ends.append((machine.facts, machine.mem[3]))

    def combine(self, machines: list[Machine[int | None, int]]) -> list[Machine[int | None, int]]:
        return machines


def _program(*lines: tuple[int, int, int, int]) -> Program:
    return Program([Instruction(*line) for line in lines])


LD_NR = (op.BPF_LD | op.BPF_W | op.BPF_ABS, 0, 0, op.OFFSET_NR)
ST_3 = (op.BPF_ST, 0, 0, 3)
AND_1 = (op.BPF_ALU | op.BPF_AND | op.BPF_K, 0, 0, 1)
JEQ_1 = (op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 1, 0, 1)
RET_0 = (op.BPF_RET | op.BPF_K, 0, 0, 0)


def test_every_path_in_both_orders() -> None:
    # nr -> mem[3]; A &= 1 (A is no word any more, but the path goes on); two paths
    program = _program(LD_NR, ST_3, AND_1, JEQ_1, RET_0, RET_0)
    start: _Named = Machine.start(None, 0)
    by_paths = _Loads([])
    walk_paths(by_paths, program.instructions, start)
    in_order = _Loads([])
    walk: ForwardWalk[int | None, int] = ForwardWalk(in_order, len(program), start)
    walk.run(program.instructions)
    # depth first, the taken edge first; in program order, by the instruction that returns
    assert by_paths.ends == [(1, op.OFFSET_NR), (0, op.OFFSET_NR)]
    assert in_order.ends == [(0, op.OFFSET_NR), (1, op.OFFSET_NR)]


def test_the_forward_walk_stops_at_its_limit() -> None:
    program = _program(LD_NR, JEQ_1, JEQ_1, RET_0, RET_0)
    start: _Named = Machine.start(None, 0)
    walk: ForwardWalk[int | None, int] = ForwardWalk(_Loads([]), len(program), start)
    assert walk.run(program.instructions, limit=3) is False
    walk = ForwardWalk(_Loads([]), len(program), start)
    assert walk.run(program.instructions, limit=100) is True


def test_alu_and_jumps_on_constants() -> None:
    assert alu_result(op.BPF_SUB, 0, 1) == 0xFFFFFFFF
    assert alu_result(op.BPF_LSH, 1, 33) == 2  # the low five bits of the count
    assert alu_result(op.BPF_DIV, 7, 0) is None
    assert alu_result(op.BPF_NEG, 1, 0) == 0xFFFFFFFF
    assert jump_taken(op.BPF_JSET, 6, 2) and not jump_taken(op.BPF_JGT, 1, 1)
