"""``Instruction`` and ``Program``: fields, byte layout, and the bytes round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import INSTRUCTION_SIZE, ByteOrder, Instruction, Program
from seccomp_bpf.errors import InvalidProgramError
from tests.bpf.strategies import valid_programs

BYTE_ORDERS: tuple[ByteOrder, ...] = ("little", "big")


# 300 examples of 7 programs: 2100 programs, each both ways.
@settings(max_examples=300)
@given(programs=st.lists(valid_programs(max_length=12), min_size=7, max_size=7))
def test_bytes_round_trip_in_both_byte_orders(programs: list[Program]) -> None:
    for program in programs:
        for byteorder in BYTE_ORDERS:
            data = program.to_bytes(byteorder)
            assert len(data) == INSTRUCTION_SIZE * len(program)
            assert Program.from_bytes(data, byteorder) == program
            assert data == b"".join(ins.to_bytes(byteorder) for ins in program)


@settings(max_examples=300)
@given(program=valid_programs(max_length=12), extra=st.binary(min_size=1, max_size=7))
def test_a_partial_instruction_is_refused(program: Program, extra: bytes) -> None:
    data = program.to_bytes() + extra
    with pytest.raises(InvalidProgramError, match=f"{len(data)} bytes is not a whole number"):
        Program.from_bytes(data)


def test_struct_sock_filter_layout() -> None:
    # <linux/filter.h>: { __u16 code; __u8 jt; __u8 jf; __u32 k; }, in the machine's order.
    ins = Instruction(0x0015, 0x01, 0x02, 0x0A0B0C0D)
    assert ins.to_bytes("little") == bytes([0x15, 0x00, 0x01, 0x02, 0x0D, 0x0C, 0x0B, 0x0A])
    assert ins.to_bytes("big") == bytes([0x00, 0x15, 0x01, 0x02, 0x0A, 0x0B, 0x0C, 0x0D])


def test_bytes_of_the_other_byte_order_are_refused() -> None:
    # RET K (0x0006) written big-endian reads, little-endian, as opcode 0x0600: none.
    program = Program([Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ALLOW)])
    with pytest.raises(InvalidProgramError, match="opcode 0x0600"):
        Program.from_bytes(program.to_bytes("big"), "little")


def test_from_bytes_validates() -> None:
    load_h_abs = Instruction(op.BPF_LD | op.BPF_H | op.BPF_ABS)
    ret = Instruction(op.BPF_RET | op.BPF_K)
    with pytest.raises(InvalidProgramError) as raised:
        Program.from_bytes(load_h_abs.to_bytes() + ret.to_bytes())
    assert raised.value.index == 0


def test_empty_bytes_are_an_empty_program() -> None:
    with pytest.raises(InvalidProgramError, match="at least one instruction"):
        Program.from_bytes(b"")


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ((0x10000, 0, 0, 0), "code"),
        ((-1, 0, 0, 0), "code"),
        ((0, 256, 0, 0), "jt"),
        ((0, 0, -1, 0), "jf"),
        ((0, 0, 0, 1 << 32), "k"),
        ((0, 0, 0, -1), "k"),
    ],
)
def test_fields_out_of_range_are_refused(fields: tuple[int, int, int, int], name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} must fit"):
        Instruction(*fields)


def test_only_instructions_make_a_program() -> None:
    ret = Instruction(op.BPF_RET | op.BPF_K)
    with pytest.raises(InvalidProgramError) as raised:
        Program([ret, (6, 0, 0, 0), ret])  # type: ignore[list-item]
    assert raised.value.index == 1


@settings(max_examples=200)
@given(program=valid_programs(max_length=12))
def test_equal_programs_hash_alike_and_index_like_tuples(program: Program) -> None:
    copy = Program(list(program))
    assert copy == program
    assert hash(copy) == hash(program)
    assert copy.instructions == tuple(program)
    assert program[-1].is_return
    assert list(program[1:]) == list(program.instructions[1:])
