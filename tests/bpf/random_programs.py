"""A Hypothesis strategy for arbitrary valid seccomp programs, instruction by instruction.

Unlike the builder-based strategy in ``labelled.py``, this one draws raw instructions: every
opcode a seccomp filter may use, jump offsets anywhere in range, and (unless ``canonical``)
garbage in the fields an instruction ignores (``jt``/``jf`` of a load, ``k`` of ``A = X``...),
which the kernel accepts and a disassembler must not lose. Constants lean towards the values
names exist for (architectures, small system call numbers) so that symbols get exercised.
"""

from __future__ import annotations

from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.errors import InvalidProgramError
from tests.bpf.fake_symbols import ARCHES, SYSCALLS, X32_SYSCALL_BIT

_ALU_OPERATIONS = (
    op.BPF_ADD,
    op.BPF_SUB,
    op.BPF_MUL,
    op.BPF_DIV,
    op.BPF_AND,
    op.BPF_OR,
    op.BPF_XOR,
    op.BPF_LSH,
    op.BPF_RSH,
)
_JUMP_OPERATIONS = (op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET)
_RETURNS = (
    op.SECCOMP_RET_ALLOW,
    op.SECCOMP_RET_KILL_PROCESS,
    op.SECCOMP_RET_KILL_THREAD,
    op.SECCOMP_RET_ERRNO | 1,
    op.SECCOMP_RET_ERRNO | 4095,
    op.SECCOMP_RET_TRAP,
    op.SECCOMP_RET_TRACE | 7,
    op.SECCOMP_RET_LOG,
    op.SECCOMP_RET_USER_NOTIF,
    op.SECCOMP_RET_ALLOW | 5,
    0x00010000,  # no such action
)
_KINDS = (
    "ld_abs",
    "ld_abs",
    "ld_abs",
    "ld_len",
    "ld_imm",
    "ld_mem",
    "ldx_len",
    "ldx_imm",
    "ldx_mem",
    "st",
    "stx",
    "alu_k",
    "alu_x",
    "neg",
    "tax",
    "txa",
    "ja",
    "jump_k",
    "jump_k",
    "jump_k",
    "jump_x",
    "ret_k",
    "ret_a",
    "arch_check",
    "arch_check",
    "nr_check",
    "nr_check",
    "nr_check",
)

u32 = st.integers(0, 0xFFFFFFFF)
arch_values = st.sampled_from(sorted(ARCHES.values())) | u32
syscall_numbers = st.sampled_from(
    sorted({nr for table in SYSCALLS.values() for nr in table.values()})
)
syscall_numbers |= st.integers(0, 300).map(lambda nr: nr | X32_SYSCALL_BIT) | u32
comparison_constants = arch_values | syscall_numbers | st.integers(0, 300)


@st.composite
def seccomp_programs(draw: st.DrawFn, max_size: int = 40, canonical: bool = False) -> Program:
    """A program the validator accepts."""
    size = draw(st.integers(1, max_size))

    def ignored(strategy: st.SearchStrategy[int]) -> int:
        """A field the instruction does not use: 0, or anything when not canonical."""
        if canonical or draw(st.booleans()):
            return 0
        return draw(strategy)

    byte = st.integers(0, 0xFF)
    instructions: list[Instruction] = []
    while len(instructions) < size:
        pc = len(instructions)
        remaining = size - pc - 1  # instructions after this one
        kind = draw(st.sampled_from(_KINDS)) if remaining else "ret_k"
        if kind in ("arch_check", "nr_check") and remaining < 2:
            kind = "ld_abs"
        jt, jf = ignored(byte), ignored(byte)
        if kind in ("arch_check", "nr_check"):
            # A = arch / sys_number, then compare it with a value that has a name
            offset, values = (op.OFFSET_ARCH, arch_values)
            if kind == "nr_check":
                offset, values = (op.OFFSET_NR, syscall_numbers)
            instructions.append(Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, jt, jf, offset))
            reach = st.integers(0, min(remaining - 2, 0xFF))
            operation = draw(st.sampled_from(_JUMP_OPERATIONS))
            code = op.BPF_JMP | operation | op.BPF_K
            ins = Instruction(code, draw(reach), draw(reach), draw(values))
        elif kind == "ld_abs":
            offset = draw(st.sampled_from([0, 4]) | st.integers(0, 15).map(lambda w: 4 * w))
            ins = Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, jt, jf, offset)
        elif kind == "ld_len":
            ins = Instruction(op.BPF_LD | op.BPF_W | op.BPF_LEN, jt, jf, ignored(u32))
        elif kind == "ldx_len":
            ins = Instruction(op.BPF_LDX | op.BPF_W | op.BPF_LEN, jt, jf, ignored(u32))
        elif kind == "ld_imm":
            ins = Instruction(op.BPF_LD | op.BPF_IMM, jt, jf, draw(u32))
        elif kind == "ldx_imm":
            ins = Instruction(op.BPF_LDX | op.BPF_IMM, jt, jf, draw(u32))
        elif kind in ("ld_mem", "ldx_mem", "st", "stx"):
            code = {
                "ld_mem": op.BPF_LD | op.BPF_MEM,
                "ldx_mem": op.BPF_LDX | op.BPF_MEM,
                "st": op.BPF_ST,
                "stx": op.BPF_STX,
            }[kind]
            ins = Instruction(code, jt, jf, draw(st.integers(0, op.BPF_MEMWORDS - 1)))
        elif kind == "alu_k":
            operation = draw(st.sampled_from(_ALU_OPERATIONS))
            if operation in (op.BPF_LSH, op.BPF_RSH):
                k = draw(st.integers(0, 31))
            elif operation == op.BPF_DIV:
                k = draw(st.integers(1, 0xFFFFFFFF))
            else:
                k = draw(u32)
            ins = Instruction(op.BPF_ALU | operation | op.BPF_K, jt, jf, k)
        elif kind == "alu_x":
            operation = draw(st.sampled_from(_ALU_OPERATIONS))
            ins = Instruction(op.BPF_ALU | operation | op.BPF_X, jt, jf, ignored(u32))
        elif kind == "neg":
            ins = Instruction(op.BPF_ALU | op.BPF_NEG, jt, jf, ignored(u32))
        elif kind == "tax":
            ins = Instruction(op.BPF_MISC | op.BPF_TAX, jt, jf, ignored(u32))
        elif kind == "txa":
            ins = Instruction(op.BPF_MISC | op.BPF_TXA, jt, jf, ignored(u32))
        elif kind == "ja":
            ins = Instruction(op.BPF_JMP | op.BPF_JA, jt, jf, draw(st.integers(0, remaining - 1)))
        elif kind in ("jump_k", "jump_x"):
            reach = st.integers(0, min(remaining - 1, 0xFF))
            operation = draw(st.sampled_from(_JUMP_OPERATIONS))
            if kind == "jump_k":
                code, k = op.BPF_JMP | operation | op.BPF_K, draw(comparison_constants)
            else:
                code, k = op.BPF_JMP | operation | op.BPF_X, ignored(u32)
            ins = Instruction(code, draw(reach), draw(reach), k)
        elif kind == "ret_a":
            ins = Instruction(op.BPF_RET | op.BPF_A, jt, jf, ignored(u32))
        else:
            value = draw(st.sampled_from(_RETURNS) | u32)
            ins = Instruction(op.BPF_RET | op.BPF_K, jt, jf, value)
        instructions.append(ins)
    return _repair_memory_reads(instructions)


def _repair_memory_reads(instructions: list[Instruction]) -> Program:
    """Turn reads of scratch cells not written on every path into immediate loads."""
    while True:
        try:
            return Program(instructions)
        except InvalidProgramError as error:
            if error.index is None or "read before it is written" not in error.reason:
                raise
            bad = instructions[error.index]
            immediate = op.BPF_LD | op.BPF_IMM
            if bad.code == op.BPF_LDX | op.BPF_MEM:
                immediate = op.BPF_LDX | op.BPF_IMM
            instructions[error.index] = Instruction(immediate, bad.jt, bad.jf, bad.k)
