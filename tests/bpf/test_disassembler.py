from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.disassembler import (
    DecodedInstruction,
    dis,
    disassemble,
    field_name,
    field_offset,
    get_instructions,
)
from seccomp_bpf.bpf.instruction import Instruction, Program, load_abs, ret
from seccomp_bpf.bpf.validator import SECCOMP_CODES
from seccomp_bpf.errors import InvalidProgramError
from tests.bpf.fake_symbols import (
    AUDIT_ARCH_I386,
    AUDIT_ARCH_PPC64,
    AUDIT_ARCH_X86_64,
    FakeSymbols,
)
from tests.bpf.random_programs import seccomp_programs

ALLOW = op.SECCOMP_RET_ALLOW
LD_ABS = op.BPF_LD | op.BPF_W | op.BPF_ABS
JEQ = op.BPF_JMP | op.BPF_JEQ | op.BPF_K
RET_ALLOW = ret(ALLOW)


def jeq(k: int, jt: int, jf: int) -> Instruction:
    return Instruction(JEQ, jt, jf, k)


def texts(program: list[Instruction], **options: object) -> list[str]:
    return [d.text for d in get_instructions(program, **options)]  # type: ignore[arg-type]


def test_golden_listing() -> None:
    # The one test that pins a whole listing, byte for byte. The format is an interface:
    # people read it next to seccomp-tools output and scripts parse its columns, so any change
    # to spacing, padding or wording must be deliberate and show up here.
    program = Program(
        [
            load_abs(op.OFFSET_ARCH),
            jeq(AUDIT_ARCH_X86_64, 0, 6),
            load_abs(op.OFFSET_NR),
            Instruction(op.BPF_JMP | op.BPF_JGE | op.BPF_K, 4, 0, 0x40000000),
            jeq(101, 2, 0),
            load_abs(op.offset_of_arg(0) + 4),
            ret(ALLOW),
            ret(op.SECCOMP_RET_ERRNO | 1),
            ret(op.SECCOMP_RET_KILL_PROCESS),
        ]
    )
    assert disassemble(program, symbols=FakeSymbols()) == (
        " line  CODE  JT   JF      K\n"
        "=================================\n"
        " 0000: 0x20 0x00 0x00 0x00000004  A = arch\n"
        " 0001: 0x15 0x00 0x06 0xc000003e  if (A != ARCH_X86_64) goto 0008\n"
        " 0002: 0x20 0x00 0x00 0x00000000  A = sys_number\n"
        " 0003: 0x35 0x04 0x00 0x40000000  if (A >= 0x40000000) goto 0008\n"
        " 0004: 0x15 0x02 0x00 0x00000065  if (A == ptrace) goto 0007\n"
        " 0005: 0x20 0x00 0x00 0x00000014  A = args[0] >> 32\n"
        " 0006: 0x06 0x00 0x00 0x7fff0000  return ALLOW\n"
        " 0007: 0x06 0x00 0x00 0x00050001  return ERRNO(1)\n"
        " 0008: 0x06 0x00 0x00 0x80000000  return KILL_PROCESS\n"
    )


def _alu(operation: int, source: int, k: int = 0) -> Instruction:
    return Instruction(op.BPF_ALU | operation | source, 0, 0, k)


def _jump(operation: int, source: int, k: int = 7) -> Instruction:
    return Instruction(op.BPF_JMP | operation | source, 1, 0, k)


# One line per opcode a seccomp filter may contain; the expected text is written by hand.
PSEUDO_CODE: list[tuple[Instruction, str]] = [
    (load_abs(0), "A = sys_number"),
    (Instruction(op.BPF_LD | op.BPF_W | op.BPF_LEN), "A = len"),
    (Instruction(op.BPF_LDX | op.BPF_W | op.BPF_LEN), "X = len"),
    (Instruction(op.BPF_LD | op.BPF_IMM, 0, 0, 0x1F), "A = 0x1f"),
    (Instruction(op.BPF_LDX | op.BPF_IMM, 0, 0, 0xFFFFFFFF), "X = 0xffffffff"),
    (Instruction(op.BPF_LD | op.BPF_MEM, 0, 0, 3), "A = mem[3]"),
    (Instruction(op.BPF_LDX | op.BPF_MEM, 0, 0, 3), "X = mem[3]"),
    (Instruction(op.BPF_ST, 0, 0, 3), "mem[3] = A"),
    (Instruction(op.BPF_STX, 0, 0, 3), "mem[3] = X"),
    (_alu(op.BPF_ADD, op.BPF_K, 0x10), "A += 0x10"),
    (_alu(op.BPF_ADD, op.BPF_X), "A += X"),
    (_alu(op.BPF_SUB, op.BPF_K, 1), "A -= 0x1"),
    (_alu(op.BPF_SUB, op.BPF_X), "A -= X"),
    (_alu(op.BPF_MUL, op.BPF_K, 3), "A *= 0x3"),
    (_alu(op.BPF_MUL, op.BPF_X), "A *= X"),
    (_alu(op.BPF_DIV, op.BPF_K, 2), "A /= 0x2"),
    (_alu(op.BPF_DIV, op.BPF_X), "A /= X"),
    (_alu(op.BPF_AND, op.BPF_K, 0xFF), "A &= 0xff"),
    (_alu(op.BPF_AND, op.BPF_X), "A &= X"),
    (_alu(op.BPF_OR, op.BPF_K, 0x100), "A |= 0x100"),
    (_alu(op.BPF_OR, op.BPF_X), "A |= X"),
    (_alu(op.BPF_XOR, op.BPF_K, 0xFFFF), "A ^= 0xffff"),
    (_alu(op.BPF_XOR, op.BPF_X), "A ^= X"),
    (_alu(op.BPF_LSH, op.BPF_K, 4), "A <<= 4"),
    (_alu(op.BPF_LSH, op.BPF_X), "A <<= X"),
    (_alu(op.BPF_RSH, op.BPF_K, 31), "A >>= 31"),
    (_alu(op.BPF_RSH, op.BPF_X), "A >>= X"),
    (Instruction(op.BPF_ALU | op.BPF_NEG), "A = -A"),
    (Instruction(op.BPF_MISC | op.BPF_TAX), "X = A"),
    (Instruction(op.BPF_MISC | op.BPF_TXA), "A = X"),
    (Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, 1), "goto 0003"),
    (_jump(op.BPF_JEQ, op.BPF_K), "if (A == 0x7) goto 0003"),
    (_jump(op.BPF_JEQ, op.BPF_X), "if (A == X) goto 0003"),
    (_jump(op.BPF_JGT, op.BPF_K), "if (A > 0x7) goto 0003"),
    (_jump(op.BPF_JGT, op.BPF_X), "if (A > X) goto 0003"),
    (_jump(op.BPF_JGE, op.BPF_K), "if (A >= 0x7) goto 0003"),
    (_jump(op.BPF_JGE, op.BPF_X), "if (A >= X) goto 0003"),
    (_jump(op.BPF_JSET, op.BPF_K), "if (A & 0x7) goto 0003"),
    (_jump(op.BPF_JSET, op.BPF_X), "if (A & X) goto 0003"),
    (ret(ALLOW), "return ALLOW"),
    (Instruction(op.BPF_RET | op.BPF_A), "return A"),
]


def test_the_table_covers_every_seccomp_opcode() -> None:
    assert {ins.code for ins, _ in PSEUDO_CODE} == SECCOMP_CODES


@pytest.mark.parametrize(
    ("instruction", "expected"), PSEUDO_CODE, ids=[text for _, text in PSEUDO_CODE]
)
def test_pseudo_code_of_each_opcode(instruction: Instruction, expected: str) -> None:
    # instruction 1 of: store (for the loads from memory), the instruction, returns to jump to
    program = [Instruction(op.BPF_ST, 0, 0, 3), instruction, RET_ALLOW, RET_ALLOW, RET_ALLOW]
    assert texts(program)[1] == expected


@pytest.mark.parametrize(
    ("operation", "jt", "jf", "expected"),
    [
        (op.BPF_JEQ, 1, 0, "if (A == 0x7) goto 0002"),
        (op.BPF_JEQ, 0, 1, "if (A != 0x7) goto 0002"),
        (op.BPF_JGT, 0, 1, "if (A <= 0x7) goto 0002"),
        (op.BPF_JGE, 0, 1, "if (A < 0x7) goto 0002"),
        (op.BPF_JSET, 0, 1, "if (!(A & 0x7)) goto 0002"),
        (op.BPF_JEQ, 1, 2, "if (A == 0x7) goto 0002 else goto 0003"),
        (op.BPF_JGE, 2, 1, "if (A >= 0x7) goto 0003 else goto 0002"),
        # both offsets 0, or equal: still both targets, so the text gives back jt and jf
        (op.BPF_JEQ, 0, 0, "if (A == 0x7) goto 0001 else goto 0001"),
        (op.BPF_JGT, 2, 2, "if (A > 0x7) goto 0003 else goto 0003"),
    ],
)
def test_conditional_forms(operation: int, jt: int, jf: int, expected: str) -> None:
    program = [Instruction(op.BPF_JMP | operation | op.BPF_K, jt, jf, 7), *[RET_ALLOW] * 3]
    decoded = get_instructions(program)[0]
    assert decoded.text == expected
    assert decoded.targets == (1 + jt, 1 + jf)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (op.SECCOMP_RET_KILL_PROCESS, "return KILL_PROCESS"),
        (op.SECCOMP_RET_KILL_THREAD, "return KILL_THREAD"),
        (op.SECCOMP_RET_TRAP, "return TRAP(0)"),
        (op.SECCOMP_RET_ERRNO | 1, "return ERRNO(1)"),
        (op.SECCOMP_RET_TRACE | 7, "return TRACE(7)"),
        (op.SECCOMP_RET_USER_NOTIF, "return USER_NOTIF"),
        (op.SECCOMP_RET_LOG, "return LOG"),
        (op.SECCOMP_RET_ALLOW | 5, "return ALLOW(5)"),
        (0x00010000, "return 0x00010000"),
    ],
)
def test_return_values(value: int, expected: str) -> None:
    assert texts([ret(value)]) == [expected]


LITTLE_ENDIAN_FIELDS = [
    (0, "sys_number"),
    (4, "arch"),
    (8, "instruction_pointer"),
    (12, "instruction_pointer >> 32"),
    (16, "args[0]"),
    (20, "args[0] >> 32"),
    (24, "args[1]"),
    (56, "args[5]"),
    (60, "args[5] >> 32"),
]
BIG_ENDIAN_FIELDS = [
    (0, "sys_number"),
    (4, "arch"),
    (8, "instruction_pointer >> 32"),
    (12, "instruction_pointer"),
    (16, "args[0] >> 32"),
    (20, "args[0]"),
    (56, "args[5] >> 32"),
    (60, "args[5]"),
]


@pytest.mark.parametrize(("offset", "name"), LITTLE_ENDIAN_FIELDS)
def test_loads_little_endian(offset: int, name: str) -> None:
    assert texts([load_abs(offset), RET_ALLOW]) == [f"A = {name}", "return ALLOW"]
    assert field_name(offset, "little") == name


@pytest.mark.parametrize(("offset", "name"), BIG_ENDIAN_FIELDS)
def test_loads_big_endian(offset: int, name: str) -> None:
    assert texts([load_abs(offset), RET_ALLOW], byteorder="big") == [f"A = {name}", "return ALLOW"]


def test_the_symbols_default_arch_gives_the_byte_order() -> None:
    program = [load_abs(op.offset_of_arg(0)), RET_ALLOW]
    ppc64 = FakeSymbols(default=AUDIT_ARCH_PPC64)
    assert texts(program, symbols=ppc64)[0] == "A = args[0] >> 32"
    assert texts(program, symbols=ppc64, byteorder="little")[0] == "A = args[0]"
    assert texts(program, symbols=FakeSymbols())[0] == "A = args[0]"


@pytest.mark.parametrize("byteorder", ["little", "big"])
@pytest.mark.parametrize("offset", range(8, 64, 4))
def test_field_offset_inverts_field_name(byteorder: str, offset: int) -> None:
    name = field_name(offset, byteorder)  # type: ignore[arg-type]
    assert name is not None
    base, _, shift = name.partition(" >> ")
    assert field_offset(base, high=bool(shift), byteorder=byteorder) == offset  # type: ignore[arg-type]


def test_checked_arch_decides_the_byte_order() -> None:
    # after "arch == ppc64" the words of args are read big-endian, whatever the default
    program = [
        load_abs(op.OFFSET_ARCH),
        jeq(AUDIT_ARCH_PPC64, 2, 0),
        jeq(AUDIT_ARCH_X86_64, 3, 0),
        ret(op.SECCOMP_RET_KILL_PROCESS),
        load_abs(op.offset_of_arg(1)),  # ppc64
        RET_ALLOW,
        load_abs(op.offset_of_arg(1)),  # x86-64
        RET_ALLOW,
    ]
    for byteorder in ("little", "big"):
        lines = texts(program, byteorder=byteorder)
        assert lines[4] == "A = args[1] >> 32"
        assert lines[6] == "A = args[1]"


def test_arch_values_are_named_with_symbols_and_hex_without() -> None:
    program = [load_abs(op.OFFSET_ARCH), jeq(AUDIT_ARCH_I386, 1, 0), RET_ALLOW, RET_ALLOW]
    assert texts(program, symbols=FakeSymbols())[1] == "if (A == ARCH_I386) goto 0003"
    assert texts(program)[1] == "if (A == 0x40000003) goto 0003"


def _two_arch_program(tail: list[Instruction]) -> list[Instruction]:
    """Check x86-64 (-> 3) or i386 (-> 3 + len(tail)), each followed by ``tail``."""
    return [
        load_abs(op.OFFSET_ARCH),
        jeq(AUDIT_ARCH_X86_64, 1, 0),
        jeq(AUDIT_ARCH_I386, len(tail), len(tail) + len(tail)),
        *tail,
        *tail,
        ret(op.SECCOMP_RET_KILL_PROCESS),
    ]


def test_syscalls_are_named_under_the_checked_arch() -> None:
    tail = [load_abs(op.OFFSET_NR), jeq(3, 0, 0), RET_ALLOW]
    lines = texts(_two_arch_program(tail), symbols=FakeSymbols())
    assert lines[4] == "if (A == close) goto 0005 else goto 0005"  # x86-64: 3 is close
    assert lines[7] == "if (A == read) goto 0008 else goto 0008"  # i386: 3 is read


def test_syscalls_use_the_default_arch_when_none_was_checked() -> None:
    program = [load_abs(op.OFFSET_NR), jeq(3, 1, 0), RET_ALLOW, RET_ALLOW]
    assert texts(program, symbols=FakeSymbols())[1] == "if (A == close) goto 0003"
    i386 = FakeSymbols(default=AUDIT_ARCH_I386)
    assert texts(program, symbols=i386)[1] == "if (A == read) goto 0003"


def test_no_syscall_names_where_different_arches_meet() -> None:
    program = [
        load_abs(op.OFFSET_ARCH),
        jeq(AUDIT_ARCH_X86_64, 1, 0),
        jeq(AUDIT_ARCH_I386, 0, 2),
        load_abs(op.OFFSET_NR),  # reached from both arches
        jeq(3, 1, 0),
        RET_ALLOW,
        RET_ALLOW,
    ]
    assert texts(program, symbols=FakeSymbols())[4] == "if (A == 0x3) goto 0006"


def test_what_a_holds_follows_x_and_scratch_memory() -> None:
    program = [
        load_abs(op.OFFSET_NR),
        Instruction(op.BPF_ST, 0, 0, 2),
        Instruction(op.BPF_MISC | op.BPF_TAX),
        load_abs(op.offset_of_arg(0)),
        jeq(1, 0, 0),  # A holds args[0]: no name
        Instruction(op.BPF_LD | op.BPF_MEM, 0, 0, 2),
        jeq(1, 0, 0),  # A holds sys_number again
        load_abs(op.OFFSET_ARCH),
        Instruction(op.BPF_MISC | op.BPF_TXA),
        jeq(2, 0, 0),  # X held sys_number
        _alu(op.BPF_AND, op.BPF_K, 0xFF),
        jeq(2, 0, 0),  # after arithmetic A holds a number
        Instruction(op.BPF_LD | op.BPF_MEM, 0, 0, 2),
        jeq(1, 0, 0),  # the scratch cell outlives arithmetic on A
        RET_ALLOW,
    ]
    lines = texts(program, symbols=FakeSymbols())
    assert lines[4] == "if (A == 0x1) goto 0005 else goto 0005"
    assert lines[6] == "if (A == write) goto 0007 else goto 0007"
    assert lines[9] == "if (A == open) goto 0010 else goto 0010"
    assert lines[11] == "if (A == 0x2) goto 0012 else goto 0012"
    assert lines[13] == "if (A == write) goto 0014 else goto 0014"


def test_paths_that_disagree_on_what_a_holds_give_numbers() -> None:
    program = [
        load_abs(op.OFFSET_NR),
        jeq(0, 1, 0),
        load_abs(op.offset_of_arg(0)),
        jeq(1, 1, 0),  # A is sys_number on one path, args[0] on the other
        RET_ALLOW,
        RET_ALLOW,
    ]
    lines = texts(program, symbols=FakeSymbols())
    assert lines[1] == "if (A == read) goto 0003"
    assert lines[3] == "if (A == 0x1) goto 0005"


def test_only_names_that_read_back_are_printed() -> None:
    # a syscall_name() that syscall_number() does not take back, and a name the assembler
    # would read as the register X, stay numbers
    symbols = FakeSymbols(extra_names={500: "alias_of_nothing", 501: "X"})
    program = [load_abs(op.OFFSET_NR), jeq(500, 0, 0), jeq(501, 0, 0), jeq(0, 0, 0), RET_ALLOW]
    lines = texts(program, symbols=symbols)
    assert lines[1:4] == [
        "if (A == 0x1f4) goto 0002 else goto 0002",
        "if (A == 0x1f5) goto 0003 else goto 0003",
        "if (A == read) goto 0004 else goto 0004",
    ]


def test_jset_masks_are_not_named() -> None:
    program = [load_abs(op.OFFSET_NR), _jump(op.BPF_JSET, op.BPF_K, k=1), RET_ALLOW, RET_ALLOW]
    assert texts(program, symbols=FakeSymbols())[1] == "if (A & 0x1) goto 0003"


def test_decoded_fields() -> None:
    program = [
        load_abs(op.OFFSET_NR),
        Instruction(JEQ, 2, 0, 101),
        Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, 1),
        ret(op.SECCOMP_RET_ERRNO | 1),
        ret(0x00010000),
        RET_ALLOW,
    ]
    decoded = get_instructions(program, symbols=FakeSymbols())
    assert decoded[1] == DecodedInstruction(
        line=1,
        code=JEQ,
        jt=2,
        jf=0,
        k=101,
        opname="jeq",
        text="if (A == ptrace) goto 0004",
        targets=(4, 2),
        operand_name="ptrace",
        is_jump_target=False,
    )
    assert decoded[1].instruction == program[1]
    assert [d.opname for d in decoded] == ["ld", "jeq", "ja", "ret", "ret", "ret"]
    assert [d.operand_name for d in decoded] == [
        "sys_number",
        "ptrace",
        None,
        "ERRNO(1)",
        None,
        "ALLOW",
    ]
    assert decoded[2].targets == (4,)
    assert [d.is_jump_target for d in decoded] == [False, False, True, False, True, False]
    assert decoded[3].format() == " 0003: 0x06 0x00 0x00 0x00050001  return ERRNO(1)"


def test_dis_prints_the_listing(capsys: pytest.CaptureFixture[str]) -> None:
    program = Program([load_abs(op.OFFSET_ARCH), RET_ALLOW])
    buffer = io.StringIO()
    dis(program, file=buffer)
    assert buffer.getvalue() == disassemble(program)
    dis(program)
    assert capsys.readouterr().out == disassemble(program)


def test_an_invalid_program_is_refused() -> None:
    with pytest.raises(InvalidProgramError, match="last instruction must be a return"):
        get_instructions([load_abs(0)])


LISTING_LINE = re.compile(
    r" (\d{4}): 0x([0-9a-f]{2}) 0x([0-9a-f]{2}) 0x([0-9a-f]{2}) 0x([0-9a-f]{8})  (\S.*)"
)


@settings(max_examples=300, deadline=None)
@given(seccomp_programs())
def test_listing_has_one_parsable_line_per_instruction(program: Program) -> None:
    lines = disassemble(program, symbols=FakeSymbols()).splitlines()
    assert lines[:2] == [" line  CODE  JT   JF      K", "=" * 33]
    assert len(lines) == len(program) + 2
    for pc, (line, ins) in enumerate(zip(lines[2:], program, strict=True)):
        match = LISTING_LINE.fullmatch(line)
        assert match is not None, line
        fields = [int(match.group(1))] + [int(g, 16) for g in match.group(2, 3, 4, 5)]
        assert fields == [pc, ins.code, ins.jt, ins.jf, ins.k]
