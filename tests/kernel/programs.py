"""Small filters the kernel tests load: each allows everything but what it is about."""

from __future__ import annotations

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program, jump, load_abs, ret


def errno_for(nr: int, errno: int) -> Program:
    """``nr`` fails with ``errno``; every other call is allowed."""
    return Program(
        [
            load_abs(op.OFFSET_NR),
            jump(op.BPF_JEQ, nr, 0, 1),
            ret(op.SECCOMP_RET_ERRNO | errno),
            ret(op.SECCOMP_RET_ALLOW),
        ]
    )


def allow_all(length: int = 1) -> Program:
    """``length - 1`` times ``JA 0``, then ``RET ALLOW``."""
    ja0 = Instruction(op.BPF_JMP | op.BPF_JA)
    return Program([*[ja0] * (length - 1), ret(op.SECCOMP_RET_ALLOW)])
