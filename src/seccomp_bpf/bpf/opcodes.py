"""Classic-BPF opcode constants and the seccomp return values.

Instruction classes, sizes, modes, ALU and jump operations come from
``<linux/bpf_common.h>`` and ``<linux/filter.h>``; the return-value layout and the actions from
``<linux/seccomp.h>``; the layout of ``struct seccomp_data`` from ``<linux/seccomp.h>`` as well.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


# --- <linux/bpf_common.h>: instruction classes (code & 0x07) -----------------------------------
BPF_LD: Final = 0x00
BPF_LDX: Final = 0x01
BPF_ST: Final = 0x02
BPF_STX: Final = 0x03
BPF_ALU: Final = 0x04
BPF_JMP: Final = 0x05
BPF_RET: Final = 0x06
BPF_MISC: Final = 0x07

# ld/ldx fields: size (code & 0x18) and mode (code & 0xe0)
BPF_W: Final = 0x00
BPF_H: Final = 0x08
BPF_B: Final = 0x10
BPF_IMM: Final = 0x00
BPF_ABS: Final = 0x20
BPF_IND: Final = 0x40
BPF_MEM: Final = 0x60
BPF_LEN: Final = 0x80
BPF_MSH: Final = 0xA0

# alu/jmp fields: operation (code & 0xf0) and source (code & 0x08)
BPF_ADD: Final = 0x00
BPF_SUB: Final = 0x10
BPF_MUL: Final = 0x20
BPF_DIV: Final = 0x30
BPF_OR: Final = 0x40
BPF_AND: Final = 0x50
BPF_LSH: Final = 0x60
BPF_RSH: Final = 0x70
BPF_NEG: Final = 0x80
BPF_MOD: Final = 0x90
BPF_XOR: Final = 0xA0

BPF_JA: Final = 0x00
BPF_JEQ: Final = 0x10
BPF_JGT: Final = 0x20
BPF_JGE: Final = 0x30
BPF_JSET: Final = 0x40

BPF_K: Final = 0x00
BPF_X: Final = 0x08

# --- <linux/filter.h> ----------------------------------------------------------------------------
BPF_A: Final = 0x10  # ret source: the accumulator
BPF_TAX: Final = 0x00  # misc: X = A
BPF_TXA: Final = 0x80  # misc: A = X
BPF_MEMWORDS: Final = 16  # scratch memory M[0..15]
BPF_MAXINSNS: Final = 4096  # <linux/bpf_common.h>
SKF_AD_OFF: Final = -0x1000 & 0xFFFFFFFF  # ancillary loads start here (<linux/filter.h>)


def bpf_class(code: int) -> int:
    return code & 0x07


def bpf_size(code: int) -> int:
    return code & 0x18


def bpf_mode(code: int) -> int:
    return code & 0xE0


def bpf_op(code: int) -> int:
    return code & 0xF0


def bpf_src(code: int) -> int:
    return code & 0x08


def bpf_rval(code: int) -> int:
    return code & 0x18


# --- <linux/seccomp.h>: struct seccomp_data -------------------------------------------------------
#   struct seccomp_data {
#       int   nr;                    /* offset 0  */
#       __u32 arch;                  /* offset 4  */
#       __u64 instruction_pointer;   /* offset 8  */
#       __u64 args[6];               /* offset 16 + 8 * i */
#   };
SECCOMP_DATA_SIZE: Final = 64
OFFSET_NR: Final = 0
OFFSET_ARCH: Final = 4
OFFSET_IP: Final = 8
OFFSET_ARGS: Final = 16


def offset_of_arg(index: int) -> int:
    """Offset of ``args[index]`` in ``struct seccomp_data``."""
    if not 0 <= index < 6:
        raise ValueError(f"argument index must be 0..5, not {index}")
    return OFFSET_ARGS + 8 * index


# --- <linux/seccomp.h>: return values -------------------------------------------------------------
# The upper 16 bits are the action (SECCOMP_RET_ACTION_FULL), the lower 16 bits its data.
SECCOMP_RET_KILL_PROCESS: Final = 0x80000000
SECCOMP_RET_KILL_THREAD: Final = 0x00000000
SECCOMP_RET_KILL: Final = SECCOMP_RET_KILL_THREAD
SECCOMP_RET_TRAP: Final = 0x00030000
SECCOMP_RET_ERRNO: Final = 0x00050000
SECCOMP_RET_USER_NOTIF: Final = 0x7FC00000
SECCOMP_RET_TRACE: Final = 0x7FF00000
SECCOMP_RET_LOG: Final = 0x7FFC0000
SECCOMP_RET_ALLOW: Final = 0x7FFF0000

SECCOMP_RET_ACTION_FULL: Final = 0xFFFF0000
SECCOMP_RET_ACTION: Final = 0x7FFF0000
SECCOMP_RET_DATA: Final = 0x0000FFFF

# kernel/seccomp.c caps the errno of SECCOMP_RET_ERRNO at MAX_ERRNO (<linux/err.h>).
MAX_ERRNO: Final = 4095
