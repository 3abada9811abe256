from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.assembler import assemble, read_program
from seccomp_bpf.bpf.disassembler import disassemble, get_instructions
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import ByteOrder, Instruction, Program, load_abs, ret
from seccomp_bpf.errors import AssembledProgramError, AssemblyError, InvalidProgramError
from tests.bpf.fake_symbols import (
    AUDIT_ARCH_I386,
    AUDIT_ARCH_PPC64,
    AUDIT_ARCH_X86_64,
    FakeSymbols,
)
from tests.bpf.random_programs import seccomp_programs
from tests.bpf.strategies import valid_programs

ALLOW = op.SECCOMP_RET_ALLOW
JEQ = op.BPF_JMP | op.BPF_JEQ | op.BPF_K


# --- the round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbols", "byteorder"),
    [
        (None, "little"),
        (None, "big"),
        (FakeSymbols(), None),  # x86-64: little-endian by default
        (FakeSymbols(default=AUDIT_ARCH_PPC64), None),  # big-endian by default
        (FakeSymbols(), "big"),
    ],
    ids=["no-symbols-little", "no-symbols-big", "x86_64", "ppc64", "x86_64-big"],
)
@settings(max_examples=400, deadline=None)
@given(program=seccomp_programs() | valid_programs())
def test_listing_assembles_back_to_the_program(
    program: Program, symbols: FakeSymbols | None, byteorder: ByteOrder | None
) -> None:
    text = disassemble(program, symbols=symbols, byteorder=byteorder)
    assert assemble(text, symbols=symbols, byteorder=byteorder) == program


@settings(max_examples=500, deadline=None)
@given(program=seccomp_programs(canonical=True), byteorder=st.sampled_from(["little", "big"]))
def test_pseudo_code_alone_assembles_back(program: Program, byteorder: ByteOrder) -> None:
    # without the hex columns, a program whose unused fields are 0 still comes back exactly
    symbols = FakeSymbols(default=AUDIT_ARCH_I386)
    decoded = get_instructions(program, symbols=symbols, byteorder=byteorder)
    text = "\n".join(d.text for d in decoded)
    assert assemble(text, symbols=symbols, byteorder=byteorder) == program


def test_hex_columns_keep_the_fields_an_instruction_ignores() -> None:
    program = Program(
        [
            Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, 3, 4, 0),
            Instruction(op.BPF_MISC | op.BPF_TAX, 0, 0, 0x1234),
            Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_X, 0, 0, 0x99),
            Instruction(op.BPF_RET | op.BPF_A, 1, 1, 7),
        ]
    )
    text = disassemble(program)
    assert assemble(text) == program
    pseudo_only = "\n".join(d.text for d in get_instructions(program))
    assert assemble(pseudo_only) == Program(
        [
            load_abs(0),
            Instruction(op.BPF_MISC | op.BPF_TAX),
            Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_X),
            Instruction(op.BPF_RET | op.BPF_A),
        ]
    )


# --- hand-written text ---------------------------------------------------------------------------

HAND_WRITTEN = """\
# allow everything but ptrace on x86-64
        A = arch
        if (A != ARCH_X86_64) goto kill   // other architectures
        A = sys_number
        if (A >= 0x40000000) goto kill    # x32
        if (A == ptrace) goto deny
        return ALLOW
deny:   return ERRNO(1)

kill:
        return KILL_PROCESS
"""


def test_hand_written_program() -> None:
    program = assemble(HAND_WRITTEN, symbols=FakeSymbols())
    assert program == Program(
        [
            load_abs(op.OFFSET_ARCH),
            Instruction(JEQ, 0, 5, AUDIT_ARCH_X86_64),
            load_abs(op.OFFSET_NR),
            Instruction(op.BPF_JMP | op.BPF_JGE | op.BPF_K, 3, 0, 0x40000000),
            Instruction(JEQ, 1, 0, 101),
            ret(ALLOW),
            ret(op.SECCOMP_RET_ERRNO | 1),
            ret(op.SECCOMP_RET_KILL_PROCESS),
        ]
    )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("A = -1", Instruction(op.BPF_LD | op.BPF_IMM, 0, 0, 0xFFFFFFFF)),
        ("A = -0x80000000", Instruction(op.BPF_LD | op.BPF_IMM, 0, 0, 0x80000000)),
        ("A = 0xFFFFFFFF", Instruction(op.BPF_LD | op.BPF_IMM, 0, 0, 0xFFFFFFFF)),
        ("X = 010", Instruction(op.BPF_LDX | op.BPF_IMM, 0, 0, 10)),
        ("A += -2", Instruction(op.BPF_ALU | op.BPF_ADD | op.BPF_K, 0, 0, 0xFFFFFFFE)),
        ("A >>= 0x1f", Instruction(op.BPF_ALU | op.BPF_RSH | op.BPF_K, 0, 0, 31)),
        ("A=X", Instruction(op.BPF_MISC | op.BPF_TXA)),
        ("A = -A", Instruction(op.BPF_ALU | op.BPF_NEG)),
        ("A = instruction_pointer >> 32", load_abs(12)),
        ("A = args[5]", load_abs(56)),
        ("if(A==X)goto 1", Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_X)),
        ("if (!(A & 4)) goto 0001", Instruction(op.BPF_JMP | op.BPF_JSET | op.BPF_K, 0, 0, 4)),
        ("return KILL", ret(op.SECCOMP_RET_KILL_THREAD)),
        ("return TRAP", ret(op.SECCOMP_RET_TRAP)),
        ("return TRACE(0xffff)", ret(op.SECCOMP_RET_TRACE | 0xFFFF)),
        ("return 0x7ffc0000", ret(op.SECCOMP_RET_LOG)),
    ],
)
def test_statement_syntax(statement: str, expected: Instruction) -> None:
    assert assemble(f"{statement}\nreturn A").instructions[0] == expected


def test_negated_comparisons_swap_the_offsets() -> None:
    text = "if (A <= 5) goto 0003 else goto 0002\nreturn A\nreturn A\nreturn A\n"
    assert assemble(text)[0] == Instruction(op.BPF_JMP | op.BPF_JGT | op.BPF_K, 1, 2, 5)
    text = "if (A < 5) goto 0002\nreturn A\nreturn A\n"
    assert assemble(text)[0] == Instruction(op.BPF_JMP | op.BPF_JGE | op.BPF_K, 0, 1, 5)


def test_syscall_names_resolve_under_the_checked_arch() -> None:
    text = """
        A = arch
        if (A == ARCH_I386) goto i386
        A = sys_number
        if (A == read) goto deny
        return ALLOW
    i386:
        A = sys_number
        if (A == read) goto deny
        return ALLOW
    deny:
        return ERRNO(1)
    """
    program = assemble(text, symbols=FakeSymbols())
    assert program[3].k == 0  # x86-64 read (no arch checked: the default arch)
    assert program[6].k == 3  # i386 read
    for arch, nr, expected in [
        (AUDIT_ARCH_X86_64, 0, op.SECCOMP_RET_ERRNO | 1),
        (AUDIT_ARCH_X86_64, 3, ALLOW),
        (AUDIT_ARCH_I386, 3, op.SECCOMP_RET_ERRNO | 1),
        (AUDIT_ARCH_I386, 0, ALLOW),
    ]:
        assert emulate(program, SeccompData(nr, arch)).ret == expected


def test_byteorder_places_the_upper_half() -> None:
    text = "A = args[2] >> 32\nreturn A"
    assert assemble(text)[0].k == 16 + 8 * 2 + 4
    assert assemble(text, byteorder="big")[0].k == 16 + 8 * 2
    # on the emulator: the upper half of args[2] is what gets returned, either way
    for byteorder in ("little", "big"):
        program = assemble(text, byteorder=byteorder)
        data = SeccompData(0, 0, args=(0, 0, 0xAAAAAAAA_BBBBBBBB, 0, 0, 0), byteorder=byteorder)
        assert emulate(program, data).ret == 0xAAAAAAAA


def test_the_symbols_default_arch_gives_the_byte_order() -> None:
    text = "A = args[0]\nreturn A"
    assert assemble(text, symbols=FakeSymbols(default=AUDIT_ARCH_PPC64))[0].k == 20
    assert assemble(text, symbols=FakeSymbols())[0].k == 16
    assert (
        assemble(text, symbols=FakeSymbols(default=AUDIT_ARCH_PPC64), byteorder="little")[0].k == 16
    )


def test_a_listing_from_elsewhere_with_seccomp_tools_spelling() -> None:
    # seccomp-tools prints "return KILL" for SECCOMP_RET_KILL
    text = """\
 line  CODE  JT   JF      K
=================================
 0000: 0x20 0x00 0x00 0x00000004  A = arch
 0001: 0x15 0x01 0x00 0xc000003e  if (A == ARCH_X86_64) goto 0003
 0002: 0x06 0x00 0x00 0x00000000  return KILL
 0003: 0x06 0x00 0x00 0x7fff0000  return ALLOW
"""
    program = assemble(text, symbols=FakeSymbols())
    assert program[2] == ret(op.SECCOMP_RET_KILL)
    assert len(program) == 4


def test_a_listing_line_without_pseudo_code_is_taken_from_its_hex_columns() -> None:
    text = "0000: 0x20 0x00 0x00 0x00000004\n0001: 0x06 0x00 0x00 0x7fff0000  return ALLOW\n"
    assert assemble(text) == Program([load_abs(op.OFFSET_ARCH), ret(ALLOW)])


def test_conditional_jump_reaching_past_255_is_refused_but_goto_is_fine() -> None:
    body = ["A = 0"] * 300 + ["return ALLOW"]
    assemble("\n".join(["goto end", *body[:-1], "end: return ALLOW"]))
    text = "\n".join(["if (A == 1) goto end", *body[:-1], "end: return ALLOW"])
    with pytest.raises(AssemblyError, match="at most 255") as caught:
        assemble(text)
    assert (caught.value.line, caught.value.column) == (1, 18)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "token", "message"),
    [
        ("B = 1\nreturn A", 1, 1, "B", "expected an instruction"),
        ("A = 1\nA = 12abc\nreturn A", 2, 5, "12abc", "is not a number"),
        ("A = 0x100000000\nreturn A", 1, 5, "0x100000000", "does not fit in 32 bits"),
        ("A = -0x80000001\nreturn A", 1, 5, "-0x80000001", "does not fit in 32 bits"),
        ("goto nowhere\nreturn A", 1, 6, "nowhere", "unknown label 'nowhere'"),
        ("A = 1\nA = 2\ngoto 0001\nreturn A", 3, 6, "0001", "forward only"),
        ("goto 0009\nreturn A", 1, 6, "0009", "past the last instruction"),
        ("0000: A = 1\n0002: return A", 2, 1, "0002", "does not match the instruction's index"),
        ("return DENY", 1, 8, "DENY", "expected A, a number or an action"),
        ("return ERRNO", 1, 8, "ERRNO", "ERRNO needs its value"),
        ("return ERRNO(70000)", 1, 14, "70000", "must be a number in 0..0xffff"),
        ("A = args[6]\nreturn A", 1, 10, "6", "out of range 0..5"),
        ("A = args[1] >> 16\nreturn A", 1, 16, "16", "expected '>> 32'"),
        ("if (A == 1 goto 0001\nreturn A", 1, 12, "goto", "expected ')'"),
        ("if (A =< 1) goto 0001\nreturn A", 1, 7, "=", "expected a comparison"),
        ("return ALLOW ALLOW", 1, 14, "ALLOW", "after the instruction"),
        ("x: A = 1\nx: return A", 2, 1, "x", "already defined on line 1"),
        ("A = 1 @ 2\nreturn A", 1, 7, "@", "unexpected character"),
        ("A = sys_number\nif (A == read) goto 0003\nreturn A\nreturn A", 2, 10, "read",
         "without symbols"),
        ("A = args[0]\nif (A == read) goto 0003\nreturn A\nreturn A", 2, 10, "read",
         "holds neither arch nor sys_number"),
        ("A = sys_number\nif (A == reed) goto 0003\nreturn A\nreturn A", 2, 10, "reed",
         "unknown system call 'reed'"),
        ("A = arch\nif (A == ARCH_VAX) goto 0003\nreturn A\nreturn A", 2, 10, "ARCH_VAX",
         "unknown architecture 'ARCH_VAX'"),
        ("0000: 0x20 0x00 0x00 0x00000000  A = arch\n0001: return A", 1, 22, "0x00000000",
         "the hex column K is '0x00000000' but 'A = arch' has K 0x4"),
        ("0000: 0x21 0x00 0x00 0x00000004  A = arch\n0001: return A", 1, 7, "0x21",
         "the hex column CODE"),
        ("0000: 0x20 0x00 0x00\n0001: return A", 1, 21, "", "expected the hex column K"),
        ("0003:\nreturn A", 1, 1, "0003", "does not match"),
        ("0000:\nreturn A", 1, 6, "", "an instruction must follow"),
    ],
)  # fmt: skip
def test_errors_name_line_column_and_token(
    text: str, line: int, column: int, token: str, message: str
) -> None:
    with pytest.raises(AssemblyError) as caught:
        assemble(text, symbols=FakeSymbols() if "without symbols" not in message else None,
                 source="f.txt")  # fmt: skip
    error = caught.value
    assert message in error.message
    assert (error.line, error.column, error.text) == (line, column, token)
    assert str(error).startswith(f"f.txt:{line}:{column}: ")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("A = 1\nA /= 0\nreturn A", 2, "division by the constant 0"),
        ("A = mem[3]\nreturn A", 1, "read before it is written"),
        ("A = mem[16]\nreturn A", 1, "M[16] does not exist"),
        ("A = 1\n\n# the end\nA = 2", 4, "last instruction must be a return"),
        ("A %= 3\nreturn A", 1, "not allowed in a seccomp filter"),
        ("A <<= 32\nreturn A", 1, "constant shifts must be below 32"),
    ],
)
def test_programs_the_kernel_refuses_name_the_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(AssembledProgramError) as caught:
        assemble(text, source="f.txt")
    error = caught.value
    assert isinstance(error, InvalidProgramError)
    assert isinstance(error.__cause__, InvalidProgramError)
    assert reason in error.reason
    assert error.line == line
    assert str(error).startswith(f"f.txt:{line}:")


def test_empty_text_is_an_error() -> None:
    with pytest.raises(AssemblyError, match="no instructions"):
        assemble("# nothing here\n\n")


# --- raw or text ---------------------------------------------------------------------------------


def test_read_program_tells_raw_records_from_text() -> None:
    program = Program([load_abs(op.OFFSET_NR), ret(ALLOW)])
    raw = program.to_bytes(sys.byteorder)
    assert read_program(raw) == program
    assert read_program(raw, kind="raw") == program
    text = disassemble(program).encode()
    assert read_program(text) == program
    assert read_program(text, kind="text") == program
    with pytest.raises(InvalidProgramError):
        read_program(text, kind="raw")
    with pytest.raises(AssemblyError):
        read_program(raw, kind="text")


def test_read_program_reports_the_raw_error_for_binary_data() -> None:
    bad = Program([ret(ALLOW)]).to_bytes() + load_abs(0).to_bytes()  # ends in a load
    with pytest.raises(InvalidProgramError, match="last instruction must be a return") as caught:
        read_program(bad)
    assert not isinstance(caught.value, AssemblyError)
    with pytest.raises(AssemblyError, match=r"bad\.txt:1:1"):
        read_program(b"B = 1\n", source="bad.txt")
