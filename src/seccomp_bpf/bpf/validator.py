"""Accept exactly the classic-BPF programs the kernel accepts as seccomp filters.

``seccomp(SECCOMP_SET_MODE_FILTER)`` runs, in order (``kernel/seccomp.c``,
``net/core/filter.c``):

1. ``seccomp_prepare_filter``: ``1 <= len <= BPF_MAXINSNS`` (4096).
2. ``bpf_check_classic``: every opcode is a known classic-BPF opcode (``chk_code_allowed``);
   ``DIV``/``MOD`` by a constant 0 are refused; constant shifts must be below 32; scratch
   memory indices below ``BPF_MEMWORDS``; ``JA`` and both conditional offsets land inside the
   program; ``LD ABS`` offsets at or above ``SKF_AD_OFF`` must name a known ancillary load; the
   last instruction is ``RET K`` or ``RET A``; then ``check_load_and_stores``: a scratch cell is
   read only after it was written on every path (forward data flow, see below).
3. ``seccomp_check_filter``: only the opcodes seccomp allows; ``LD W ABS`` only at 32-bit
   aligned offsets inside ``struct seccomp_data`` (64 bytes); ``LD/LDX W LEN`` are rewritten
   into loads of the constant 64 (``sizeof(struct seccomp_data)``).

The first failing check is reported, with the instruction index and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.errors import InvalidProgramError

TYPE_CHECKING = False  # not typing's: loading a program does not import typing

if TYPE_CHECKING:
    from seccomp_bpf.bpf.instruction import Instruction

_C = op  # short alias for the tables below

# net/core/filter.c, codes[] in chk_code_allowed(): the classic-BPF opcodes the kernel knows.
CLASSIC_CODES: frozenset[int] = frozenset(
    [
        *(_C.BPF_ALU | o | s for o in (_C.BPF_ADD, _C.BPF_SUB, _C.BPF_MUL, _C.BPF_DIV,
                                       _C.BPF_MOD, _C.BPF_AND, _C.BPF_OR, _C.BPF_XOR,
                                       _C.BPF_LSH, _C.BPF_RSH)
          for s in (_C.BPF_K, _C.BPF_X)),
        _C.BPF_ALU | _C.BPF_NEG,
        *(_C.BPF_LD | size | mode for size in (_C.BPF_W, _C.BPF_H, _C.BPF_B)
          for mode in (_C.BPF_ABS, _C.BPF_IND)),
        _C.BPF_LD | _C.BPF_W | _C.BPF_LEN,
        _C.BPF_LDX | _C.BPF_B | _C.BPF_MSH,
        _C.BPF_LD | _C.BPF_IMM,
        _C.BPF_LD | _C.BPF_MEM,
        _C.BPF_LDX | _C.BPF_W | _C.BPF_LEN,
        _C.BPF_LDX | _C.BPF_IMM,
        _C.BPF_LDX | _C.BPF_MEM,
        _C.BPF_ST,
        _C.BPF_STX,
        _C.BPF_MISC | _C.BPF_TAX,
        _C.BPF_MISC | _C.BPF_TXA,
        _C.BPF_RET | _C.BPF_K,
        _C.BPF_RET | _C.BPF_A,
        _C.BPF_JMP | _C.BPF_JA,
        *(_C.BPF_JMP | j | s for j in (_C.BPF_JEQ, _C.BPF_JGT, _C.BPF_JGE, _C.BPF_JSET)
          for s in (_C.BPF_K, _C.BPF_X)),
    ]
)  # fmt: skip

# kernel/seccomp.c, seccomp_check_filter(): the opcodes a seccomp filter may use. Note what is
# missing compared to CLASSIC_CODES: MOD, LD H/B, IND, MSH, and LD W ABS is handled apart.
SECCOMP_CODES: frozenset[int] = frozenset(
    [
        _C.BPF_LD | _C.BPF_W | _C.BPF_ABS,
        _C.BPF_LD | _C.BPF_W | _C.BPF_LEN,
        _C.BPF_LDX | _C.BPF_W | _C.BPF_LEN,
        _C.BPF_RET | _C.BPF_K,
        _C.BPF_RET | _C.BPF_A,
        *(_C.BPF_ALU | o | s for o in (_C.BPF_ADD, _C.BPF_SUB, _C.BPF_MUL, _C.BPF_DIV,
                                       _C.BPF_AND, _C.BPF_OR, _C.BPF_XOR, _C.BPF_LSH,
                                       _C.BPF_RSH)
          for s in (_C.BPF_K, _C.BPF_X)),
        _C.BPF_ALU | _C.BPF_NEG,
        _C.BPF_LD | _C.BPF_IMM,
        _C.BPF_LDX | _C.BPF_IMM,
        _C.BPF_MISC | _C.BPF_TAX,
        _C.BPF_MISC | _C.BPF_TXA,
        _C.BPF_LD | _C.BPF_MEM,
        _C.BPF_LDX | _C.BPF_MEM,
        _C.BPF_ST,
        _C.BPF_STX,
        _C.BPF_JMP | _C.BPF_JA,
        *(_C.BPF_JMP | j | s for j in (_C.BPF_JEQ, _C.BPF_JGE, _C.BPF_JGT, _C.BPF_JSET)
          for s in (_C.BPF_K, _C.BPF_X)),
    ]
)  # fmt: skip

# include/uapi/linux/filter.h, SKF_AD_*: ancillary loads bpf_check_classic knows (bpf_anc_helper).
# Offsets SKF_AD_OFF + 0, 4, ..., 60 (SKF_AD_PROTOCOL .. SKF_AD_RANDOM).
_ANCILLARY_MAX = 60

_CONDITIONAL_JUMPS = frozenset(
    op.BPF_JMP | j | s
    for j in (op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET)
    for s in (op.BPF_K, op.BPF_X)
)
_MEM_ACCESS = frozenset(
    [op.BPF_LD | op.BPF_MEM, op.BPF_LDX | op.BPF_MEM, op.BPF_ST, op.BPF_STX]
)
_MEM_READS = frozenset([op.BPF_LD | op.BPF_MEM, op.BPF_LDX | op.BPF_MEM])
_ABS_LOADS = frozenset(op.BPF_LD | size | op.BPF_ABS for size in (op.BPF_W, op.BPF_H, op.BPF_B))


def _name(code: int) -> str:
    return f"opcode {code:#06x}"


def validate(program: Sequence[Instruction]) -> None:
    """Raise :class:`InvalidProgramError` unless the kernel would load ``program`` as a filter."""
    flen = len(program)
    if flen == 0:
        raise InvalidProgramError("a program needs at least one instruction")
    if flen > op.BPF_MAXINSNS:
        raise InvalidProgramError(
            f"{flen} instructions is more than the kernel's limit of {op.BPF_MAXINSNS} "
            "(BPF_MAXINSNS)"
        )

    # bpf_check_classic(), instruction by instruction.
    reads_memory = False
    for pc, ins in enumerate(program):
        code, k = ins.code, ins.k
        if code in _CONDITIONAL_JUMPS:  # the most common: checked first
            if pc + ins.jt + 1 >= flen or pc + ins.jf + 1 >= flen:
                name, offset = ("true", ins.jt) if pc + ins.jt + 1 >= flen else ("false", ins.jf)
                raise InvalidProgramError(
                    f"jump-if-{name} of {offset} lands outside the program "
                    f"(at {pc + offset + 1}, length {flen})",
                    pc,
                )
            continue
        if code not in CLASSIC_CODES:
            raise InvalidProgramError(f"{_name(code)} is not a classic-BPF instruction", pc)
        if code in (op.BPF_ALU | op.BPF_DIV | op.BPF_K, op.BPF_ALU | op.BPF_MOD | op.BPF_K):
            if k == 0:
                raise InvalidProgramError("division by the constant 0", pc)
        elif code in (op.BPF_ALU | op.BPF_LSH | op.BPF_K, op.BPF_ALU | op.BPF_RSH | op.BPF_K):
            if k >= 32:
                raise InvalidProgramError(f"shift by {k}: constant shifts must be below 32", pc)
        elif code in _MEM_ACCESS:
            reads_memory = reads_memory or code in _MEM_READS
            if k >= op.BPF_MEMWORDS:
                raise InvalidProgramError(
                    f"scratch memory M[{k}] does not exist (M[0]..M[{op.BPF_MEMWORDS - 1}])", pc
                )
        elif code == op.BPF_JMP | op.BPF_JA:
            if k >= flen - pc - 1:
                raise InvalidProgramError(
                    f"jump of {k} lands outside the program (at {pc + 1 + k}, length {flen})", pc
                )
        elif code in _ABS_LOADS and k >= op.SKF_AD_OFF and k - op.SKF_AD_OFF > _ANCILLARY_MAX:
            raise InvalidProgramError(f"unknown ancillary load at {k:#x}", pc)

    last = program[-1].code
    if last not in (op.BPF_RET | op.BPF_K, op.BPF_RET | op.BPF_A):
        raise InvalidProgramError("the last instruction must be a return", flen - 1)

    if reads_memory:  # a program that reads no scratch cell cannot read one unwritten
        _check_load_and_stores(program)

    # seccomp_check_filter().
    for pc, ins in enumerate(program):
        code, k = ins.code, ins.k
        if code not in SECCOMP_CODES:
            raise InvalidProgramError(f"{_name(code)} is not allowed in a seccomp filter", pc)
        if code == op.BPF_LD | op.BPF_W | op.BPF_ABS:
            if k >= op.SECCOMP_DATA_SIZE:
                raise InvalidProgramError(
                    f"load at offset {k} is outside struct seccomp_data "
                    f"({op.SECCOMP_DATA_SIZE} bytes)",
                    pc,
                )
            if k & 3:
                raise InvalidProgramError(f"load at offset {k} is not 32-bit aligned", pc)


def _check_load_and_stores(program: Sequence[Instruction]) -> None:
    """net/core/filter.c, check_load_and_stores().

    ``memvalid`` has one bit per scratch cell written on every path reaching ``pc``. A jump
    intersects its set into each target's ``masks`` and resets ``memvalid`` to "all" for the
    instruction after it (which is reached only by other jumps). A ``RET`` does *not* reset it:
    the kernel lets the set flow into the next instruction, and so do we.
    """
    flen = len(program)
    all_cells = (1 << op.BPF_MEMWORDS) - 1
    masks = [all_cells] * flen
    memvalid = 0
    for pc, ins in enumerate(program):
        memvalid &= masks[pc]
        code = ins.code
        if code in (op.BPF_ST, op.BPF_STX):
            memvalid |= 1 << ins.k
        elif code in (op.BPF_LD | op.BPF_MEM, op.BPF_LDX | op.BPF_MEM):
            if not memvalid & (1 << ins.k):
                raise InvalidProgramError(
                    f"scratch memory M[{ins.k}] is read before it is written on some path", pc
                )
        elif code == op.BPF_JMP | op.BPF_JA:
            masks[pc + 1 + ins.k] &= memvalid
            memvalid = all_cells
        elif code in _CONDITIONAL_JUMPS:
            masks[pc + 1 + ins.jt] &= memvalid
            masks[pc + 1 + ins.jf] &= memvalid
            memvalid = all_cells
