"""The emulator, instruction by instruction, and the stacking of filters.

The same semantics are checked against the real kernel in ``test_emulator_kernel.py``; here
each rule is pinned on its own, including what no real call can show (loads of the
instruction pointer, big-endian machines, data bits of stacked ALLOWs).
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import (
    ReturnValue,
    SeccompAction,
    SeccompData,
    emulate,
    format_return_value,
    run_filters,
)
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.errors import InvalidProgramError
from tests.bpf.strategies import seccomp_data, valid_programs

AUDIT_ARCH_X86_64 = 0xC000003E  # <linux/audit.h>, little-endian
AUDIT_ARCH_S390X = 0x80000016  # big-endian

NR = 0x01020304
IP = 0x1122334455667788
ARGS = tuple(0xA0B0C0D000000000 + (i << 32) + 0x00112233 + i for i in range(6))

RET_A = Instruction(op.BPF_RET | op.BPF_A)


def _run(*instructions: Instruction, data: SeccompData | None = None) -> int:
    """The value a program returns (its last instruction is added when it is not a RET)."""
    program = list(instructions)
    if not program[-1].is_return:
        program.append(RET_A)
    if data is None:
        data = SeccompData(NR, AUDIT_ARCH_X86_64, IP, ARGS)  # type: ignore[arg-type]
    return emulate(Program(program), data).ret


def _ld(offset: int) -> Instruction:
    return Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, k=offset)


def _ldx(k: int) -> Instruction:
    return Instruction(op.BPF_LDX | op.BPF_IMM, k=k)


def _imm(k: int) -> Instruction:
    return Instruction(op.BPF_LD | op.BPF_IMM, k=k)


def _expected_word(offset: int, little_endian: bool) -> int:
    """Word ``offset // 4`` of struct seccomp_data, from its C layout (<linux/seccomp.h>):
    int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; a 64-bit field keeps its
    low half at the lower address on little-endian machines, its high half on big-endian."""
    if offset == 0:
        return NR
    if offset == 4:
        return AUDIT_ARCH_X86_64 if little_endian else AUDIT_ARCH_S390X
    value = IP if offset < 16 else ARGS[(offset - 16) // 8]
    first_half = offset % 8 == 0
    low = first_half == little_endian
    return value & 0xFFFFFFFF if low else value >> 32


@pytest.mark.parametrize("offset", range(0, 64, 4))
@pytest.mark.parametrize("arch", [AUDIT_ARCH_X86_64, AUDIT_ARCH_S390X])
def test_loads_follow_the_byte_order_of_the_arch(offset: int, arch: int) -> None:
    data = SeccompData(NR, arch, IP, ARGS)  # type: ignore[arg-type]
    little = arch == AUDIT_ARCH_X86_64
    assert _run(_ld(offset), data=data) == _expected_word(offset, little)


def test_explicit_byte_order_wins_over_the_arch() -> None:
    data = SeccompData(NR, AUDIT_ARCH_X86_64, IP, ARGS, byteorder="big")  # type: ignore[arg-type]
    assert _run(_ld(op.OFFSET_IP), data=data) == IP >> 32
    assert _run(_ld(op.OFFSET_ARGS), data=data) == ARGS[0] >> 32


def test_negative_nr_is_its_32_bit_pattern() -> None:
    data = SeccompData(-1, AUDIT_ARCH_X86_64)
    assert _run(_ld(op.OFFSET_NR), data=data) == 0xFFFFFFFF


def test_len_loads_the_size_of_seccomp_data() -> None:
    assert _run(Instruction(op.BPF_LD | op.BPF_W | op.BPF_LEN)) == 64
    ldx_len = Instruction(op.BPF_LDX | op.BPF_W | op.BPF_LEN)
    assert _run(ldx_len, Instruction(op.BPF_MISC | op.BPF_TXA)) == 64


def test_registers_start_at_zero() -> None:
    assert _run(RET_A) == 0
    assert _run(Instruction(op.BPF_MISC | op.BPF_TXA)) == 0


def test_immediates_and_register_moves() -> None:
    assert _run(_imm(0xDEADBEEF)) == 0xDEADBEEF
    assert _run(_ldx(7), Instruction(op.BPF_MISC | op.BPF_TXA)) == 7
    tax = Instruction(op.BPF_MISC | op.BPF_TAX)
    add_x = Instruction(op.BPF_ALU | op.BPF_ADD | op.BPF_X)
    assert _run(_imm(21), tax, add_x) == 42


@pytest.mark.parametrize("cell", [0, 7, 15])
def test_scratch_memory_keeps_values_apart(cell: int) -> None:
    other = (cell + 1) % 16
    program = [
        _imm(0x1111),
        Instruction(op.BPF_ST, k=cell),
        _ldx(0x2222),
        Instruction(op.BPF_STX, k=other),
        _imm(0),
        _ldx(0),
        Instruction(op.BPF_LD | op.BPF_MEM, k=cell),
        Instruction(op.BPF_LDX | op.BPF_MEM, k=other),
        Instruction(op.BPF_ALU | op.BPF_OR | op.BPF_X),  # A = 0x1111 | 0x2222
    ]
    assert _run(*program) == 0x3333


# (operation, A, operand, result): results worked out by hand, modulo 2**32.
ALU_CASES = [
    (op.BPF_ADD, 0xFFFFFFFF, 2, 1),
    (op.BPF_SUB, 0, 1, 0xFFFFFFFF),
    (op.BPF_SUB, 10, 3, 7),
    (op.BPF_MUL, 0x10000, 0x10000, 0),
    (op.BPF_MUL, 0xFFFFFFFF, 0xFFFFFFFF, 1),
    (op.BPF_DIV, 7, 2, 3),
    (op.BPF_DIV, 0xFFFFFFFF, 0x10, 0x0FFFFFFF),
    (op.BPF_DIV, 0x80000000, 0xFFFFFFFF, 0),  # unsigned division
    (op.BPF_OR, 0xF0F0, 0x0F0F, 0xFFFF),
    (op.BPF_AND, 0xF0F0, 0x3C3C, 0x3030),
    (op.BPF_XOR, 0xFFFF0000, 0xFF00FF00, 0x00FFFF00),
    (op.BPF_LSH, 3, 31, 0x80000000),
    (op.BPF_LSH, 0x12345678, 4, 0x23456780),
    (op.BPF_RSH, 0x80000000, 31, 1),  # logical, not arithmetic
    (op.BPF_RSH, 0x12345678, 0, 0x12345678),
]


@pytest.mark.parametrize(("operation", "a", "operand", "result"), ALU_CASES)
def test_alu_with_k_and_with_x(operation: int, a: int, operand: int, result: int) -> None:
    with_k = Instruction(op.BPF_ALU | operation | op.BPF_K, k=operand)
    with_x = Instruction(op.BPF_ALU | operation | op.BPF_X)
    assert _run(_imm(a), with_k) == result
    assert _run(_imm(a), _ldx(operand), with_x) == result


@pytest.mark.parametrize(
    ("operation", "x", "result"),
    [
        # The kernel shifts by X & 31 (32-bit shifts on x86-64 and arm64, and the eBPF
        # interpreter): a constant shift of 32 or more is refused at load time, X is not.
        (op.BPF_LSH, 32, 0x0000000F),
        (op.BPF_LSH, 33, 0x0000001E),
        (op.BPF_LSH, 0xFFFFFFFF, 0x80000000),
        (op.BPF_RSH, 36, 0x00000000),
        (op.BPF_RSH, 64, 0x0000000F),
    ],
)
def test_shift_by_x_uses_its_low_five_bits(operation: int, x: int, result: int) -> None:
    shift = Instruction(op.BPF_ALU | operation | op.BPF_X)
    assert _run(_imm(0xF), _ldx(x), shift) == result


@pytest.mark.parametrize(("a", "result"), [(0, 0), (1, 0xFFFFFFFF), (0x80000000, 0x80000000)])
def test_neg(a: int, result: int) -> None:
    assert _run(_imm(a), Instruction(op.BPF_ALU | op.BPF_NEG)) == result


def test_division_by_x_zero_returns_zero_there() -> None:
    # bpf_convert_filter (net/core/filter.c) puts "if X == 0: return 0" before DIV X.
    program = Program(
        [
            _imm(5),
            _ldx(0),
            Instruction(op.BPF_ALU | op.BPF_DIV | op.BPF_X),
            Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ALLOW),
        ]
    )
    execution = emulate(program, SeccompData(0, AUDIT_ARCH_X86_64))
    assert execution.ret == 0
    assert execution.action is SeccompAction.KILL_THREAD
    assert execution.path == (0, 1, 2)


JUMP_CASES = [
    # (operation, A, operand, taken)
    (op.BPF_JEQ, 5, 5, True),
    (op.BPF_JEQ, 5, 6, False),
    (op.BPF_JGT, 0x80000000, 1, True),  # unsigned: 2**31 > 1
    (op.BPF_JGT, 5, 5, False),
    (op.BPF_JGE, 5, 5, True),
    (op.BPF_JGE, 4, 5, False),
    (op.BPF_JGE, 0xFFFFFFFF, 0, True),
    (op.BPF_JSET, 0x30, 0x10, True),
    (op.BPF_JSET, 0x20, 0x10, False),
    (op.BPF_JSET, 0x80000000, 0x80000001, True),
]


@pytest.mark.parametrize(("operation", "a", "operand", "taken"), JUMP_CASES)
def test_conditional_jumps_with_k_and_with_x(
    operation: int, a: int, operand: int, taken: bool
) -> None:
    true_value, false_value = op.SECCOMP_RET_ERRNO | 1, op.SECCOMP_RET_ERRNO | 2
    tail = [
        Instruction(op.BPF_RET | op.BPF_K, k=true_value),
        Instruction(op.BPF_RET | op.BPF_K, k=false_value),
    ]
    expected = true_value if taken else false_value
    with_k = Instruction(op.BPF_JMP | operation | op.BPF_K, 0, 1, operand)
    with_x = Instruction(op.BPF_JMP | operation | op.BPF_X, 0, 1)
    assert _run(_imm(a), with_k, *tail) == expected
    assert _run(_ldx(operand), _imm(a), with_x, *tail) == expected


def test_jumps_skip_forward_and_the_path_records_them() -> None:
    program = Program(
        [
            _imm(1),  # 0
            Instruction(op.BPF_JMP | op.BPF_JA, k=1),  # 1: goto 3
            Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_KILL_PROCESS),  # 2
            Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 1, 0, 1),  # 3: A == 1: goto 5
            Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_KILL_PROCESS),  # 4
            Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ERRNO | 9),  # 5
        ]
    )
    execution = emulate(program, SeccompData(0, AUDIT_ARCH_X86_64))
    assert execution.path == (0, 1, 3, 5)
    assert execution.executed == 4
    assert execution.errno == 9


def test_ret_k_and_ret_a() -> None:
    assert _run(Instruction(op.BPF_RET | op.BPF_K, k=0x12345678)) == 0x12345678
    assert _run(_imm(0x7FFF0005), RET_A) == 0x7FFF0005


@pytest.mark.parametrize("action", list(SeccompAction))
def test_known_actions_decode_with_their_data(action: SeccompAction) -> None:
    decoded = ReturnValue.decode(action.value | 0x1234)
    assert decoded.action is action
    assert decoded.known
    assert decoded.data == 0x1234


@pytest.mark.parametrize("value", [0x00010000, 0x00040005, 0x7FFE0000, 0x90000000, 0xFFFF0000])
def test_unknown_actions_are_kill_process(value: int) -> None:
    # kernel/seccomp.c, __seccomp_filter: the default: branch kills the process.
    decoded = ReturnValue.decode(value)
    assert decoded.action is SeccompAction.KILL_PROCESS
    assert not decoded.known
    execution = emulate(Program([Instruction(op.BPF_RET | op.BPF_K, k=value)]), SeccompData(0, 0))
    assert execution.action is SeccompAction.KILL_PROCESS


@pytest.mark.parametrize(
    ("data", "errno"), [(0, 0), (1, 1), (4095, 4095), (4096, 4095), (0xFFFF, 4095)]
)
def test_errno_is_capped_at_max_errno(data: int, errno: int) -> None:
    assert ReturnValue.decode(op.SECCOMP_RET_ERRNO | data).errno == errno


def test_only_errno_has_an_errno() -> None:
    assert ReturnValue.decode(op.SECCOMP_RET_TRAP | 5).errno is None
    assert ReturnValue.decode(op.SECCOMP_RET_ALLOW).errno is None


def test_format_return_value() -> None:
    assert format_return_value(op.SECCOMP_RET_ERRNO | 1) == "ERRNO(1)"
    assert format_return_value(op.SECCOMP_RET_TRACE | 7) == "TRACE(7)"
    assert format_return_value(op.SECCOMP_RET_ALLOW) == "ALLOW"
    assert format_return_value(op.SECCOMP_RET_KILL_PROCESS) == "KILL_PROCESS"
    assert format_return_value(0x00010000) == "0x00010000"


# seccomp(2): with several filters, the result with the highest precedence wins, in this
# order (highest first).
PRECEDENCE = [
    op.SECCOMP_RET_KILL_PROCESS,
    op.SECCOMP_RET_KILL_THREAD,
    op.SECCOMP_RET_TRAP,
    op.SECCOMP_RET_ERRNO,
    op.SECCOMP_RET_USER_NOTIF,
    op.SECCOMP_RET_TRACE,
    op.SECCOMP_RET_LOG,
    op.SECCOMP_RET_ALLOW,
]


def _returning(value: int) -> Program:
    return Program([Instruction(op.BPF_RET | op.BPF_K, k=value)])


DATA = SeccompData(0, AUDIT_ARCH_X86_64)


@pytest.mark.parametrize(("stronger", "weaker"), list(itertools.combinations(PRECEDENCE, 2)))
def test_the_stronger_action_wins_in_any_order(stronger: int, weaker: int) -> None:
    strong, weak = _returning(stronger | 3), _returning(weaker | 4)
    assert run_filters([strong, weak], DATA) == stronger | 3
    assert run_filters([weak, strong], DATA) == stronger | 3


def test_on_a_tie_the_newest_filter_wins() -> None:
    newest, oldest = _returning(op.SECCOMP_RET_ERRNO | 1), _returning(op.SECCOMP_RET_ERRNO | 2)
    assert run_filters([newest, oldest], DATA) == op.SECCOMP_RET_ERRNO | 1


def test_stacked_allows_return_plain_allow() -> None:
    # kernel/seccomp.c starts from SECCOMP_RET_ALLOW and keeps it unless an action is lower.
    allows = [_returning(op.SECCOMP_RET_ALLOW | 5), _returning(op.SECCOMP_RET_ALLOW | 6)]
    assert run_filters(allows, DATA) == op.SECCOMP_RET_ALLOW


def test_unknown_actions_rank_by_their_own_bits() -> None:
    # ACTION_ONLY compares the action bits as s32: 0x00040000 ranks above ERRNO (and then
    # kills), 0x00060000 below it; 0x90000000 is negative, above everything but KILL_PROCESS.
    errno = _returning(op.SECCOMP_RET_ERRNO | 1)
    assert run_filters([errno, _returning(0x00040000)], DATA) == 0x00040000
    assert run_filters([errno, _returning(0x00060000)], DATA) == op.SECCOMP_RET_ERRNO | 1
    kill_thread, kill_process = _returning(0), _returning(op.SECCOMP_RET_KILL_PROCESS)
    assert run_filters([kill_thread, _returning(0x90000000)], DATA) == 0x90000000
    assert run_filters([_returning(0x90000000), kill_process], DATA) == 0x80000000


def test_run_filters_needs_a_filter() -> None:
    with pytest.raises(ValueError, match="at least one program"):
        run_filters([], DATA)


def test_emulate_validates_plain_sequences() -> None:
    assert emulate([RET_A], DATA).ret == 0
    with pytest.raises(InvalidProgramError):
        emulate([Instruction(op.BPF_LD | op.BPF_H | op.BPF_ABS), RET_A], DATA)


@settings(max_examples=300)
@given(program=valid_programs(), data=seccomp_data())
def test_every_run_moves_forward_and_ends_on_a_return(program: Program, data: SeccompData) -> None:
    execution = emulate(program, data)
    path = execution.path
    assert path[0] == 0
    assert all(a < b for a, b in itertools.pairwise(path))
    assert execution.executed == len(path) <= len(program)
    last = program[path[-1]]
    is_div_x = last.code == op.BPF_ALU | op.BPF_DIV | op.BPF_X
    assert last.is_return or (is_div_x and execution.ret == 0)
    assert execution.action is ReturnValue.decode(execution.ret).action
