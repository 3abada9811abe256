"""Hypothesis strategies for seccomp programs that are valid by construction, and their inputs.

``valid_programs()`` draws instruction by instruction and keeps, as it goes, the state the
kernel's ``check_load_and_stores`` (``net/core/filter.c``) keeps: which scratch cells are
written on every path into the next instruction. A read of ``M[k]`` is drawn only from those
cells, so every program passes the validator without retries, whatever its control flow.

Constants lean towards the values where bugs live: 0, 1, 2**31, 2**32 - 1, shift counts
around 32, the words of the boundary arguments, and seccomp return values, so that jumps are
taken both ways and ``RET A`` often returns a meaningful action.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompData
from seccomp_bpf.bpf.instruction import Instruction, Program

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF

# Values at the edges of 32- and 64-bit arithmetic (DESIGN.md §4 lists the 64-bit ones).
BOUNDARY_U64: tuple[int, ...] = (0, 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1)
BOUNDARY_U32: tuple[int, ...] = (
    0,
    1,
    2,
    31,
    32,
    33,
    63,
    64,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFE,
    0xFFFFFFFF,
)

# Offsets of struct seccomp_data (<linux/seccomp.h>) a LD W ABS may read.
NR_AND_ARCH_OFFSETS: tuple[int, ...] = (op.OFFSET_NR, op.OFFSET_ARCH)
IP_OFFSETS: tuple[int, ...] = (op.OFFSET_IP, op.OFFSET_IP + 4)
ARGUMENT_OFFSETS: tuple[int, ...] = tuple(range(op.OFFSET_ARGS, op.SECCOMP_DATA_SIZE, 4))

ALU_OPERATIONS: tuple[int, ...] = (
    op.BPF_ADD,
    op.BPF_SUB,
    op.BPF_MUL,
    op.BPF_DIV,
    op.BPF_OR,
    op.BPF_AND,
    op.BPF_XOR,
    op.BPF_LSH,
    op.BPF_RSH,
)
JUMP_OPERATIONS: tuple[int, ...] = (op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET)

u32 = st.integers(0, MASK32)
u64 = st.integers(0, MASK64)


@functools.cache
def interesting_u32() -> st.SearchStrategy[int]:
    """32-bit constants: boundaries, small numbers, halves of boundary arguments, anything."""
    halves = sorted({v & MASK32 for v in BOUNDARY_U64} | {v >> 32 for v in BOUNDARY_U64})
    return st.one_of(
        st.sampled_from(BOUNDARY_U32),
        st.sampled_from(halves),
        st.integers(0, 4100),
        u32,
    )


@functools.cache
def interesting_u64() -> st.SearchStrategy[int]:
    """64-bit system-call arguments: the boundaries, one off them, and anything."""
    near = sorted({(v + d) & MASK64 for v in BOUNDARY_U64 for d in (-1, 0, 1)})
    return st.one_of(st.sampled_from(BOUNDARY_U64), st.sampled_from(near), u64)


@functools.cache
def errno_values() -> st.SearchStrategy[int]:
    """``SECCOMP_RET_ERRNO | n`` with n mostly in 1..4095 (what a caller can see), sometimes 0
    or above MAX_ERRNO (which the kernel caps)."""
    return st.one_of(
        st.integers(1, op.MAX_ERRNO),
        st.integers(1, op.MAX_ERRNO),
        st.sampled_from((0, 1, op.MAX_ERRNO, op.MAX_ERRNO + 1, 0xFFFF)),
        st.integers(op.MAX_ERRNO + 1, op.SECCOMP_RET_DATA),
    ).map(lambda n: op.SECCOMP_RET_ERRNO | n)


@functools.cache
def return_values() -> st.SearchStrategy[int]:
    """32-bit filter results: mostly ERRNO(n), every other action, data bits, unknown actions."""
    data = st.integers(0, op.SECCOMP_RET_DATA)
    return st.one_of(
        errno_values(),
        errno_values(),
        errno_values(),
        st.just(op.SECCOMP_RET_ALLOW),
        data.map(lambda d: op.SECCOMP_RET_ALLOW | d),
        data.map(lambda d: op.SECCOMP_RET_LOG | d),
        data.map(lambda d: op.SECCOMP_RET_TRACE | d),
        data.map(lambda d: op.SECCOMP_RET_USER_NOTIF | d),
        data.map(lambda d: op.SECCOMP_RET_TRAP | d),
        st.sampled_from((op.SECCOMP_RET_KILL_THREAD, op.SECCOMP_RET_KILL_PROCESS)),
        # Action bits that name no action: the kernel kills the process.
        st.sampled_from((0x00010000, 0x00040000, 0x7FFE0000, 0x90000000, 0xFFFF0000)),
    )


_NONZERO_U32 = interesting_u32().filter(bool)

# return ERRNO(A & 0xfff): ERRNO(0) returns 0 to the caller, anything else fails with that errno.
ACCUMULATOR_TAIL: tuple[Instruction, ...] = (
    Instruction(op.BPF_ALU | op.BPF_AND | op.BPF_K, k=0xFFF),
    Instruction(op.BPF_ALU | op.BPF_OR | op.BPF_K, k=op.SECCOMP_RET_ERRNO),
    Instruction(op.BPF_RET | op.BPF_A),
)

# Kinds of instruction and their weights (repetition) for valid_programs().
_KINDS: tuple[str, ...] = (
    *("ld_abs",) * 3,
    "ld_imm",
    "ld_len",
    *("ld_mem",) * 2,
    *("ldx_imm",) * 2,
    "ldx_len",
    "ldx_mem",
    *("st",) * 2,
    "stx",
    *("tax",) * 2,
    "txa",
    *("alu_k",) * 6,
    *("alu_x",) * 6,
    "neg",
    "ja",
    *("jump_k",) * 4,
    *("jump_x",) * 2,
    "ret_k",
    "ret_a",
)


def _offset(draw: st.DrawFn, limit: int) -> int:
    """A jump offset up to ``limit``, short ones more often, so that paths stay long."""
    if draw(st.booleans()):
        return draw(st.integers(0, min(limit, 2)))
    return draw(st.integers(0, limit))


@st.composite
def valid_programs(
    draw: st.DrawFn,
    *,
    min_length: int = 1,
    max_length: int = 40,
    include_ip: bool = True,
    returns: st.SearchStrategy[int] | None = None,
    accumulator_tail: bool = False,
) -> Program:
    """A program the kernel accepts as a seccomp filter.

    ``include_ip=False`` leaves out loads of ``instruction_pointer``, which a test that makes
    real system calls cannot predict. ``returns`` draws the constants of ``RET K`` (default:
    :func:`return_values`). With ``accumulator_tail``, about three programs in four end with
    ``ACCUMULATOR_TAIL`` (the last instruction falls into it, jumps may land in it), which
    returns ``ERRNO(A & 0xfff)``: a caller then sees the low bits of the final ``A``, so a
    wrong computation shows even when no jump depends on it.
    """
    if not 1 <= min_length <= max_length:
        raise ValueError("need 1 <= min_length <= max_length")
    returns = return_values() if returns is None else returns
    constants = interesting_u32()
    loads = NR_AND_ARCH_OFFSETS + ARGUMENT_OFFSETS + (IP_OFFSETS if include_ip else ())
    length = draw(st.integers(min_length, max_length))
    tail: tuple[Instruction, ...] = ()
    if accumulator_tail and length > len(ACCUMULATOR_TAIL) and draw(st.integers(0, 3)):
        tail = ACCUMULATOR_TAIL

    all_cells = (1 << op.BPF_MEMWORDS) - 1
    masks = [all_cells] * length
    memvalid = 0
    instructions: list[Instruction] = []
    for pc in range(length - len(tail)):
        memvalid &= masks[pc]
        remaining = length - pc - 1  # instructions after this one
        kind = draw(st.sampled_from(_KINDS)) if remaining else "ret"
        readable = tuple(cell for cell in range(op.BPF_MEMWORDS) if memvalid >> cell & 1)
        if kind in ("ld_mem", "ldx_mem") and not readable:
            kind = "st"
        ins: Instruction
        if kind == "ld_abs":
            ins = Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, k=draw(st.sampled_from(loads)))
        elif kind == "ld_imm":
            ins = Instruction(
                op.BPF_LD | op.BPF_IMM, k=draw(returns if draw(st.booleans()) else constants)
            )
        elif kind == "ld_len":
            ins = Instruction(op.BPF_LD | op.BPF_W | op.BPF_LEN)
        elif kind == "ldx_imm":
            ins = Instruction(op.BPF_LDX | op.BPF_IMM, k=draw(constants))
        elif kind == "ldx_len":
            ins = Instruction(op.BPF_LDX | op.BPF_W | op.BPF_LEN)
        elif kind in ("ld_mem", "ldx_mem"):
            code = op.BPF_LD | op.BPF_MEM if kind == "ld_mem" else op.BPF_LDX | op.BPF_MEM
            ins = Instruction(code, k=draw(st.sampled_from(readable)))
        elif kind in ("st", "stx"):
            code = op.BPF_ST if kind == "st" else op.BPF_STX
            ins = Instruction(code, k=draw(st.integers(0, op.BPF_MEMWORDS - 1)))
        elif kind == "tax":
            ins = Instruction(op.BPF_MISC | op.BPF_TAX)
        elif kind == "txa":
            ins = Instruction(op.BPF_MISC | op.BPF_TXA)
        elif kind == "alu_k":
            operation = draw(st.sampled_from(ALU_OPERATIONS))
            if operation in (op.BPF_LSH, op.BPF_RSH):
                k = draw(st.integers(0, 31))
            elif operation == op.BPF_DIV:
                k = draw(_NONZERO_U32)
            else:
                k = draw(constants)
            ins = Instruction(op.BPF_ALU | operation | op.BPF_K, k=k)
        elif kind == "alu_x":
            ins = Instruction(op.BPF_ALU | draw(st.sampled_from(ALU_OPERATIONS)) | op.BPF_X)
        elif kind == "neg":
            ins = Instruction(op.BPF_ALU | op.BPF_NEG)
        elif kind == "ja":
            ins = Instruction(op.BPF_JMP | op.BPF_JA, k=_offset(draw, remaining - 1))
        elif kind in ("jump_k", "jump_x"):
            reach = min(remaining - 1, 0xFF)
            operation = draw(st.sampled_from(JUMP_OPERATIONS))
            if kind == "jump_k":
                code, k = op.BPF_JMP | operation | op.BPF_K, draw(constants)
            else:
                code, k = op.BPF_JMP | operation | op.BPF_X, 0
            ins = Instruction(code, _offset(draw, reach), _offset(draw, reach), k)
        elif kind == "ret_a" or (kind == "ret" and draw(st.integers(0, 7)) == 0):
            ins = Instruction(op.BPF_RET | op.BPF_A)
        else:  # "ret_k", or "ret" at the end
            ins = Instruction(op.BPF_RET | op.BPF_K, k=draw(returns))
        instructions.append(ins)

        # check_load_and_stores(), net/core/filter.c: stores add a cell; a jump narrows the
        # cells known at each target and leaves "all" for the next instruction (which only
        # jumps reach); anything else, RET included, lets the set flow on.
        if ins.code in (op.BPF_ST, op.BPF_STX):
            memvalid |= 1 << ins.k
        elif ins.code == op.BPF_JMP | op.BPF_JA:
            masks[pc + 1 + ins.k] &= memvalid
            memvalid = all_cells
        elif ins.is_conditional_jump:
            masks[pc + 1 + ins.jt] &= memvalid
            masks[pc + 1 + ins.jf] &= memvalid
            memvalid = all_cells
    return Program([*instructions, *tail])


def seccomp_data(
    arches: Sequence[int] = (0xC000003E, 0xC00000B7, 0x80000016, 0x40000003),
    nrs: st.SearchStrategy[int] | None = None,
) -> st.SearchStrategy[SeccompData]:
    """``struct seccomp_data`` with boundary arguments; ``arches`` are AUDIT_ARCH_* values
    (default: x86_64 and aarch64, little-endian; s390x, big-endian; i386)."""
    numbers = st.one_of(st.integers(0, 500), u32) if nrs is None else nrs
    return st.builds(
        SeccompData,
        nr=numbers,
        arch=st.sampled_from(tuple(arches)),
        instruction_pointer=interesting_u64(),
        args=st.tuples(*[interesting_u64()] * 6),
    )


def listing(program: Sequence[Instruction]) -> str:
    """One line per instruction, ``pc: code jt jf k`` in hex, for failure messages."""
    return "\n".join(
        f"{pc:4}: {ins.code:#06x} {ins.jt:3} {ins.jf:3} {ins.k:#010x}"
        for pc, ins in enumerate(program)
    )


# Constants near the limits the kernel checks: alignment and the end of seccomp_data, scratch
# cells, shift counts, and the ancillary area at SKF_AD_OFF.
EDGE_K: tuple[int, ...] = (
    *(0, 1, 2, 3, 4, 15, 16, 17, 31, 32, 33, 60, 61, 62, 63, 64, 65, 0xFF, 0xFFF),
    *(op.SKF_AD_OFF + offset for offset in (0, 4, 60, 61, 64)),
    0xFFFFFFFF,
)

# Opcodes whose k the kernel checks: loads (offset), scratch memory (index), constant
# division and shifts, JA (offset).
_K_CHECKED = frozenset(
    (
        op.BPF_LD | op.BPF_W | op.BPF_ABS,
        op.BPF_LD | op.BPF_MEM,
        op.BPF_LDX | op.BPF_MEM,
        op.BPF_ST,
        op.BPF_STX,
        op.BPF_ALU | op.BPF_DIV | op.BPF_K,
        op.BPF_ALU | op.BPF_LSH | op.BPF_K,
        op.BPF_ALU | op.BPF_RSH | op.BPF_K,
        op.BPF_JMP | op.BPF_JA,
    )
)

_MUTATIONS = ("code", "code_bit", "k", "k", "k_step", "jt", "jf", "drop", "append", "insert")


def _any_instruction() -> st.SearchStrategy[Instruction]:
    return st.builds(
        Instruction,
        code=st.one_of(st.integers(0, 0xFF), st.integers(0, 0xFFFF)),
        jt=st.integers(0, 3) | st.integers(0, 0xFF),
        jf=st.integers(0, 3) | st.integers(0, 0xFF),
        k=st.sampled_from(EDGE_K) | u32,
    )


@st.composite
def near_valid_instructions(draw: st.DrawFn, max_length: int = 12) -> list[Instruction]:
    """A valid program with up to four small changes, which may or may not keep it valid.

    Changes: an opcode replaced (by any 8- or 16-bit value, or with one bit flipped: a
    neighbour in the opcode table); ``k`` replaced (near a limit, one step off, or anything),
    mostly where the kernel checks it; ``jt`` or ``jf`` replaced; an instruction dropped,
    appended or inserted.
    """
    instructions = list(draw(valid_programs(max_length=max_length)))
    for _ in range(draw(st.integers(0, 4))):
        mutation = draw(st.sampled_from(_MUTATIONS))
        if mutation == "append":
            instructions.append(draw(_any_instruction()))
            continue
        if not instructions:
            continue
        index = draw(st.integers(0, len(instructions) - 1))
        if mutation in ("k", "k_step"):  # mostly where the kernel checks k
            checked = [i for i, ins in enumerate(instructions) if ins.code in _K_CHECKED]
            if checked and draw(st.integers(0, 3)) > 0:
                index = draw(st.sampled_from(checked))
        old = instructions[index]
        if mutation == "code":
            code = draw(_any_instruction()).code
            instructions[index] = Instruction(code, old.jt, old.jf, old.k)
        elif mutation == "code_bit":
            code = old.code ^ (1 << draw(st.integers(0, 15)))
            instructions[index] = Instruction(code, old.jt, old.jf, old.k)
        elif mutation == "k":
            k = draw(st.sampled_from(EDGE_K) | u32)
            instructions[index] = Instruction(old.code, old.jt, old.jf, k)
        elif mutation == "k_step":  # one step past a limit: M[15] -> M[16], 60 -> 61, 64...
            k = (old.k + draw(st.sampled_from((-4, -1, 1, 4)))) & MASK32
            instructions[index] = Instruction(old.code, old.jt, old.jf, k)
        elif mutation == "jt":
            instructions[index] = Instruction(old.code, draw(st.integers(0, 0xFF)), old.jf, old.k)
        elif mutation == "jf":
            instructions[index] = Instruction(old.code, old.jt, draw(st.integers(0, 0xFF)), old.k)
        elif mutation == "drop":
            del instructions[index]
        else:  # insert
            instructions.insert(index, draw(_any_instruction()))
    return instructions
