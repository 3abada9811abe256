"""Programs the kernel refuses, one per rule, and tricky ones it accepts.

Shared by ``test_validator.py`` (our validator's verdict and message) and
``test_validator_kernel.py`` (the real kernel's verdict). Each refused program breaks exactly
one rule; ``index`` is the instruction the rule is about (None for the program as a whole)
and ``reason`` a fragment of what the message must say. The rules are those of
``bpf_check_classic``/``check_load_and_stores`` (``net/core/filter.c``) and
``seccomp_check_filter``/``seccomp_prepare_filter`` (``kernel/seccomp.c``).
"""

from __future__ import annotations

from dataclasses import dataclass

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction

ALLOW = op.SECCOMP_RET_ALLOW
SKF_AD_OFF = op.SKF_AD_OFF


def _ld(offset: int) -> Instruction:
    return Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, k=offset)


def _ret(value: int = ALLOW) -> Instruction:
    return Instruction(op.BPF_RET | op.BPF_K, k=value)


def _jeq(k: int, jt: int, jf: int) -> Instruction:
    return Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, jt, jf, k)


def _ja(k: int) -> Instruction:
    return Instruction(op.BPF_JMP | op.BPF_JA, k=k)


def _st(cell: int) -> Instruction:
    return Instruction(op.BPF_ST, k=cell)


def _ld_mem(cell: int) -> Instruction:
    return Instruction(op.BPF_LD | op.BPF_MEM, k=cell)


def _imm(k: int) -> Instruction:
    return Instruction(op.BPF_LD | op.BPF_IMM, k=k)


@dataclass(frozen=True)
class RefusedCase:
    name: str
    instructions: tuple[Instruction, ...]
    index: int | None
    reason: str


@dataclass(frozen=True)
class AcceptedCase:
    name: str
    instructions: tuple[Instruction, ...]
    # True when every path returns ALLOW, so that a child can really load it and live on.
    harmless: bool = True


def _refused(name: str, index: int | None, reason: str, *ins: Instruction) -> RefusedCase:
    return RefusedCase(name, ins, index, reason)


def _bad_opcode(name: str, code: int, reason: str, k: int = 0) -> RefusedCase:
    """``code`` as instruction 1, after a load of nr, before a return."""
    return _refused(name, 1, reason, _ld(0), Instruction(code, k=k), _ret())


NOT_CLASSIC = "is not a classic-BPF instruction"
NOT_SECCOMP = "is not allowed in a seccomp filter"

REFUSED: tuple[RefusedCase, ...] = (
    _refused("empty", None, "at least one instruction"),
    RefusedCase("4097 instructions", (_ret(),) * 4097, None, "4097 instructions"),
    _bad_opcode("unknown opcode 0x5555", 0x5555, NOT_CLASSIC),
    _bad_opcode("RET X (0x0e)", op.BPF_RET | op.BPF_X, NOT_CLASSIC),
    _bad_opcode("LDX W ABS (0x21)", op.BPF_LDX | op.BPF_W | op.BPF_ABS, NOT_CLASSIC),
    _bad_opcode("NEG X (0x8c)", op.BPF_ALU | op.BPF_NEG | op.BPF_X, NOT_CLASSIC),
    _bad_opcode("LD H IMM (0x08)", op.BPF_LD | op.BPF_H | op.BPF_IMM, NOT_CLASSIC),
    _bad_opcode("MOD K", op.BPF_ALU | op.BPF_MOD | op.BPF_K, NOT_SECCOMP, k=3),
    _bad_opcode("MOD X", op.BPF_ALU | op.BPF_MOD | op.BPF_X, NOT_SECCOMP),
    _bad_opcode("LD H ABS", op.BPF_LD | op.BPF_H | op.BPF_ABS, NOT_SECCOMP),
    _bad_opcode("LD B ABS", op.BPF_LD | op.BPF_B | op.BPF_ABS, NOT_SECCOMP),
    _bad_opcode("LD W IND", op.BPF_LD | op.BPF_W | op.BPF_IND, NOT_SECCOMP),
    _bad_opcode("LD H IND", op.BPF_LD | op.BPF_H | op.BPF_IND, NOT_SECCOMP),
    _bad_opcode("LD B IND", op.BPF_LD | op.BPF_B | op.BPF_IND, NOT_SECCOMP),
    _bad_opcode("LDX B MSH", op.BPF_LDX | op.BPF_B | op.BPF_MSH, NOT_SECCOMP),
    _refused("unaligned load", 1, "not 32-bit aligned", _ld(0), _ld(18), _ret()),
    _refused(
        "load past struct seccomp_data", 1, "outside struct seccomp_data", _ld(0), _ld(64), _ret()
    ),
    _refused("known ancillary load", 0, "outside struct seccomp_data", _ld(SKF_AD_OFF), _ret()),
    _refused("unknown ancillary load", 0, "ancillary", _ld(SKF_AD_OFF + 64), _ret()),
    _refused(
        "division by constant 0",
        1,
        "division by the constant 0",
        _ld(16),
        Instruction(op.BPF_ALU | op.BPF_DIV | op.BPF_K, k=0),
        _ret(),
    ),
    _refused(
        "MOD by constant 0",
        1,
        "division by the constant 0",
        _ld(16),
        Instruction(op.BPF_ALU | op.BPF_MOD | op.BPF_K, k=0),
        _ret(),
    ),
    _refused(
        "left shift by constant 32",
        1,
        "shift by 32",
        _ld(16),
        Instruction(op.BPF_ALU | op.BPF_LSH | op.BPF_K, k=32),
        _ret(),
    ),
    _refused(
        "right shift by constant 0xffffffff",
        1,
        "shift by 4294967295",
        _ld(16),
        Instruction(op.BPF_ALU | op.BPF_RSH | op.BPF_K, k=0xFFFFFFFF),
        _ret(),
    ),
    _refused("store to M[16]", 0, "M[16]", _st(16), _ret()),
    _refused("STX to M[16]", 0, "M[16]", Instruction(op.BPF_STX, k=16), _ret()),
    _refused("load of M[16]", 1, "M[16]", _st(0), _ld_mem(16), _ret()),
    _refused(
        "LDX of M[16]", 1, "M[16]", _st(0), Instruction(op.BPF_LDX | op.BPF_MEM, k=16), _ret()
    ),
    _refused(
        "M[0] read before any write", 1, "read before it is written", _ld(0), _ld_mem(0), _ret()
    ),
    _refused(
        "X = M[3] before any write",
        1,
        "M[3] is read before",
        _st(2),
        Instruction(op.BPF_LDX | op.BPF_MEM, k=3),
        _ret(),
    ),
    # 1: if nr == 1 goto 2 else goto 3; only the true path writes M[0]; 3 reads it.
    _refused(
        "M[0] written on one path only",
        3,
        "read before it is written",
        _ld(0),
        _jeq(1, 0, 1),
        _st(0),
        _ld_mem(0),
        _ret(),
    ),
    # The path to 6 (0, 1, 2, 3) writes M[0]; the kernel still refuses, because 4-5 (reached
    # without M[0]) end with a RET whose set of written cells flows into 6 anyway.
    _refused(
        "RET does not reset the written cells",
        6,
        "read before it is written",
        _ld(0),
        _jeq(1, 0, 2),
        _st(0),
        _ja(2),
        _imm(7),
        Instruction(op.BPF_RET | op.BPF_A),
        _ld_mem(0),
        _ret(),
    ),
    # Dead code after a RET is checked too; nothing was written before it.
    _refused("dead read after RET", 1, "read before it is written", _ret(), _ld_mem(0), _ret()),
    _refused("JA past the end", 0, "lands outside the program", _ja(1), _ret()),
    _refused("JA by 0xffffffff", 1, "lands outside the program", _ld(0), _ja(0xFFFFFFFF), _ret()),
    _refused("JA onto itself at the end", 1, "lands outside", _ret(), _ja(0)),
    _refused("jump-if-true past the end", 1, "jump-if-true of 1", _ld(0), _jeq(0, 1, 0), _ret()),
    _refused(
        "jump-if-false past the end", 1, "jump-if-false of 255", _ld(0), _jeq(0, 0, 255), _ret()
    ),
    _refused(
        "last instruction is a load", 2, "last instruction must be a return", _ld(0), _ret(), _ld(0)
    ),
    _refused("last instruction is a store", 1, "last instruction must be a return", _ret(), _st(0)),
)


def _both_paths_write_m0() -> tuple[Instruction, ...]:
    # 1: nr == 1 ? 2 : 4; both 2 and 4 write M[0]; 5 reads it.
    return (_ld(0), _jeq(1, 0, 2), _st(0), _ja(1), _st(0), _ld_mem(0), _ret())


ACCEPTED: tuple[AcceptedCase, ...] = (
    AcceptedCase("single RET", (_ret(),)),
    AcceptedCase("4096 instructions", (*(_imm(0),) * 4095, _ret())),
    AcceptedCase("M[0] written on both paths then read", _both_paths_write_m0()),
    AcceptedCase(
        "M[15] stored and loaded",
        (
            _ld(60),
            _st(15),
            _ld_mem(15),
            Instruction(op.BPF_STX, k=15),
            Instruction(op.BPF_LDX | op.BPF_MEM, k=15),
            _ret(),
        ),
    ),
    AcceptedCase(
        "both offsets jump to the last instruction", (_ld(0), _jeq(1, 1, 1), _imm(5), _ret())
    ),
    AcceptedCase("JA to the last instruction", (_ja(2), _imm(1), _imm(2), _ret())),
    AcceptedCase("JA 0", (_ja(0), _ret())),
    AcceptedCase("jump-if-true of 255", (_ld(0), _jeq(7, 255, 0), *(_imm(0),) * 255, _ret())),
    AcceptedCase(
        "LD W LEN and LDX W LEN",
        (
            Instruction(op.BPF_LD | op.BPF_W | op.BPF_LEN),
            Instruction(op.BPF_LDX | op.BPF_W | op.BPF_LEN),
            Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_X, 0, 0),
            _ret(),
        ),
    ),
    AcceptedCase(
        "every aligned word of seccomp_data", (*(_ld(k) for k in range(0, 64, 4)), _ret())
    ),
    AcceptedCase("RET A of ALLOW", (_imm(ALLOW), Instruction(op.BPF_RET | op.BPF_A))),
    AcceptedCase(
        "a read after RET of a cell written before it",
        (
            _st(0),
            _ret(),
            _ld_mem(0),
            Instruction(op.BPF_RET | op.BPF_A),
        ),
    ),
    AcceptedCase(
        "garbage in fields an instruction ignores",
        (
            Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, 9, 200, 0),
            Instruction(op.BPF_MISC | op.BPF_TAX, 1, 2, 0xDEADBEEF),
            Instruction(op.BPF_JMP | op.BPF_JA, 255, 255, 0),
            Instruction(op.BPF_RET | op.BPF_K, 3, 4, ALLOW),
        ),
    ),
    AcceptedCase(
        "constant shifts of 31 and division by 0xffffffff",
        (
            _ld(16),
            Instruction(op.BPF_ALU | op.BPF_LSH | op.BPF_K, k=31),
            Instruction(op.BPF_ALU | op.BPF_RSH | op.BPF_K, k=31),
            Instruction(op.BPF_ALU | op.BPF_DIV | op.BPF_K, k=0xFFFFFFFF),
            _ret(),
        ),
    ),
    AcceptedCase(
        "ALU with X (X = 40, so no division by 0)",
        (
            _ld(16),
            Instruction(op.BPF_LDX | op.BPF_IMM, k=40),
            *(
                Instruction(op.BPF_ALU | operation | op.BPF_X)
                for operation in (
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
            ),
            Instruction(op.BPF_ALU | op.BPF_NEG),
            Instruction(op.BPF_MISC | op.BPF_TXA),
            _ret(),
        ),
    ),
    AcceptedCase(
        "every conditional jump with K and X",
        (
            *(
                Instruction(op.BPF_JMP | operation | source, 0, 0, 5)
                for operation in (op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET)
                for source in (op.BPF_K, op.BPF_X)
            ),
            _ret(),
        ),
    ),
    # Actions the kernel does not know are accepted at load time (and kill when returned).
    AcceptedCase("RET of an unknown action", (_ret(0x00010000),), harmless=False),
    AcceptedCase(
        "RET A of whatever args[0] holds",
        (_ld(16), Instruction(op.BPF_RET | op.BPF_A)),
        harmless=False,
    ),
)
