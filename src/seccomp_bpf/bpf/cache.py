"""Which system calls the kernel's seccomp action cache will let through without the filter.

Since Linux 5.11 the kernel emulates each filter once per (architecture, syscall number) when
it is attached (``seccomp_cache_prepare`` in ``kernel/seccomp.c``). Where the filter returns
``SECCOMP_RET_ALLOW`` whatever the arguments are, the number goes into a bitmap and later calls
skip the filter entirely. The emulation, ``seccomp_is_const_allow``, is deliberately simple:
it knows ``nr`` and ``arch``, follows jumps on them, and gives up on anything else.
:func:`is_constant_allow` is a line-by-line port of it.
"""

from __future__ import annotations

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Program

_LD_ABS = op.BPF_LD | op.BPF_W | op.BPF_ABS
_RET_K = op.BPF_RET | op.BPF_K
_JA = op.BPF_JMP | op.BPF_JA
_JEQ = op.BPF_JMP | op.BPF_JEQ | op.BPF_K
_JGE = op.BPF_JMP | op.BPF_JGE | op.BPF_K
_JGT = op.BPF_JMP | op.BPF_JGT | op.BPF_K
_JSET = op.BPF_JMP | op.BPF_JSET | op.BPF_K
_AND_K = op.BPF_ALU | op.BPF_AND | op.BPF_K


def is_constant_allow(program: Program, arch: int, nr: int) -> bool:
    """True when the kernel would cache ``nr`` on ``arch`` as always allowed by ``program``.

    Port of ``seccomp_is_const_allow`` (``kernel/seccomp.c``): loads of ``nr``/``arch`` give
    known values; ``RET K`` answers ``k == SECCOMP_RET_ALLOW`` (exactly, without data); ``JA``,
    ``JEQ/JGE/JGT/JSET K`` and ``AND K`` are followed; any other instruction (an argument or
    instruction-pointer load above all) means "not constant".
    """
    register = 0
    pc = 0
    instructions = program.instructions
    while pc < len(instructions):
        ins = instructions[pc]
        code, k = ins.code, ins.k
        if code == _LD_ABS:
            if k == op.OFFSET_NR:
                register = nr & 0xFFFFFFFF
            elif k == op.OFFSET_ARCH:
                register = arch & 0xFFFFFFFF
            else:
                return False  # can't optimize (non-constant value load)
        elif code == _RET_K:
            return k == op.SECCOMP_RET_ALLOW
        elif code == _JA:
            pc += k
        elif code in (_JEQ, _JGE, _JGT, _JSET):
            if code == _JEQ:
                taken = register == k
            elif code == _JGE:
                taken = register >= k
            elif code == _JGT:
                taken = register > k
            else:
                taken = (register & k) != 0
            pc += ins.jt if taken else ins.jf
        elif code == _AND_K:
            register &= k
        else:
            return False  # can't optimize (unknown insn)
        pc += 1
    return False  # ran off the end of the filter (cannot happen for a valid program)
