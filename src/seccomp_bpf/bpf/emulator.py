"""Run a seccomp filter on a ``struct seccomp_data``, exactly as the kernel does.

The kernel converts a classic filter to eBPF (``bpf_convert_filter`` in ``net/core/filter.c``)
after ``seccomp_check_filter`` rewrote it. The observable semantics, which this emulator follows:

- ``A`` and ``X`` are 32-bit and start at 0; ``M[0..15]`` are 32-bit scratch cells.
- ``LD W ABS k`` reads the 32-bit word at offset ``k`` of ``struct seccomp_data`` in the
  byte order of the machine that makes the call; ``LD/LDX W LEN`` load 64
  (``sizeof(struct seccomp_data)``, the rewrite in ``seccomp_check_filter``).
- ALU operations are modulo 2**32. ``DIV X`` with ``X == 0`` makes the filter return 0
  (``bpf_convert_filter`` emits "if X == 0: return 0" before each ``DIV X``/``MOD X``).
  Shifts by ``X`` use the low 5 bits of ``X``, as the 32-bit shift instructions of x86-64 and
  arm64 (and the eBPF interpreter's JIT-equivalent semantics) do.
- Jumps compare ``A`` unsigned with ``k`` or ``X``; ``JSET`` tests ``A & k != 0``.
- ``RET K``/``RET A`` end the run with a 32-bit value.

Several filters on one thread (``seccomp_run_filters`` in ``kernel/seccomp.c``) all run; the
result whose action has the lowest value as a signed 32-bit number wins
(``ACTION_ONLY(ret) = (s32)(ret & SECCOMP_RET_ACTION_FULL)``), so KILL_PROCESS beats
KILL_THREAD beats TRAP, ERRNO, USER_NOTIF, TRACE, LOG, ALLOW. On a tie the newest filter's
value is kept. The kernel starts from ``SECCOMP_RET_ALLOW`` and replaces it only with a
strictly lower action, so when every filter allows, the result is exactly
``SECCOMP_RET_ALLOW`` whatever data bits the filters returned.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.actions import ReturnValue, SeccompAction, format_return_value, signed32
from seccomp_bpf.bpf.instruction import ByteOrder, Program
from seccomp_bpf.bpf.walker import alu_result, jump_taken

__all__ = [
    "AUDIT_ARCH_64BIT",
    "AUDIT_ARCH_LE",
    "Execution",
    "ReturnValue",
    "SeccompAction",
    "SeccompData",
    "emulate",
    "format_return_value",
    "run_filters",
    "signed32",
]

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF

# <linux/audit.h>: __AUDIT_ARCH_LE marks little-endian architectures in AUDIT_ARCH_* values.
AUDIT_ARCH_LE = 0x40000000
AUDIT_ARCH_64BIT = 0x80000000


@dataclass(frozen=True, slots=True)
class SeccompData:
    """``struct seccomp_data``: what a filter sees of one system call.

    ``nr`` is stored as the kernel passes it (an ``int``; give it as 0..2**32-1 or negative).
    ``byteorder`` is the calling machine's; by default it follows the ``__AUDIT_ARCH_LE`` bit
    of ``arch`` (every AUDIT_ARCH_* value carries it).
    """

    nr: int
    arch: int
    instruction_pointer: int = 0
    args: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0)
    byteorder: ByteOrder | None = field(default=None)

    def __post_init__(self) -> None:
        if len(self.args) != 6:
            raise ValueError(f"seccomp_data has 6 arguments, not {len(self.args)}")
        object.__setattr__(self, "nr", self.nr & _MASK32)
        object.__setattr__(self, "arch", self.arch & _MASK32)
        object.__setattr__(self, "instruction_pointer", self.instruction_pointer & _MASK64)
        object.__setattr__(self, "args", tuple(a & _MASK64 for a in self.args))

    @property
    def effective_byteorder(self) -> ByteOrder:
        if self.byteorder is not None:
            return self.byteorder
        return "little" if self.arch & AUDIT_ARCH_LE else "big"

    def to_bytes(self) -> bytes:
        """The 64 bytes of ``struct seccomp_data`` in the caller's byte order."""
        prefix = "<" if self.effective_byteorder == "little" else ">"
        return struct.pack(
            prefix + "IIQ6Q", self.nr, self.arch, self.instruction_pointer, *self.args
        )

    def words(self) -> tuple[int, ...]:
        """The 16 32-bit words a ``LD W ABS`` can read, indexed by ``offset // 4``."""
        prefix = "<" if self.effective_byteorder == "little" else ">"
        return struct.unpack(prefix + "16I", self.to_bytes())


@dataclass(frozen=True, slots=True)
class Execution:
    """The outcome of running a filter: return value, decoded action, and the path taken."""

    ret: int
    action: SeccompAction
    data: int
    executed: int
    path: tuple[int, ...]

    @property
    def return_value(self) -> ReturnValue:
        return ReturnValue.decode(self.ret)

    @property
    def errno(self) -> int | None:
        return self.return_value.errno

    def __str__(self) -> str:
        return format_return_value(self.ret)


def emulate(program: Program | Sequence[object], data: SeccompData) -> Execution:
    """Run ``program`` on ``data``; return the result and the instructions executed."""
    if not isinstance(program, Program):
        program = Program(program)  # type: ignore[arg-type]
    words = data.words()
    instructions = program.instructions
    a = x = 0
    mem = [0] * op.BPF_MEMWORDS
    pc = 0
    path: list[int] = []
    while True:
        ins = instructions[pc]
        path.append(pc)
        code = ins.code
        cls = code & 0x07
        if cls == op.BPF_RET:
            value = ins.k if (code & 0x18) == op.BPF_K else a
            decoded = ReturnValue.decode(value)
            return Execution(value, decoded.action, decoded.data, len(path), tuple(path))
        if cls == op.BPF_LD:
            mode = code & 0xE0
            if mode == op.BPF_ABS:
                a = words[ins.k >> 2]
            elif mode == op.BPF_LEN:
                a = op.SECCOMP_DATA_SIZE
            elif mode == op.BPF_IMM:
                a = ins.k
            else:  # BPF_MEM
                a = mem[ins.k]
        elif cls == op.BPF_LDX:
            mode = code & 0xE0
            if mode == op.BPF_LEN:
                x = op.SECCOMP_DATA_SIZE
            elif mode == op.BPF_IMM:
                x = ins.k
            else:  # BPF_MEM
                x = mem[ins.k]
        elif cls == op.BPF_ST:
            mem[ins.k] = a
        elif cls == op.BPF_STX:
            mem[ins.k] = x
        elif cls == op.BPF_ALU:
            operation = code & 0xF0
            if operation == op.BPF_NEG:
                a = -a & _MASK32
            else:
                operand = x if code & op.BPF_X else ins.k
                result = alu_result(operation, a, operand)
                if result is None:
                    # Only reachable with X == 0: bpf_convert_filter returns 0.
                    decoded = ReturnValue.decode(0)
                    return Execution(0, decoded.action, 0, len(path), tuple(path))
                a = result
        elif cls == op.BPF_JMP:
            operation = code & 0xF0
            if operation == op.BPF_JA:
                pc += 1 + ins.k
                continue
            operand = x if code & op.BPF_X else ins.k
            pc += 1 + (ins.jt if jump_taken(operation, a, operand) else ins.jf)
            continue
        elif (code & 0xF8) == op.BPF_TXA:  # BPF_MISC
            a = x
        else:  # BPF_MISC | BPF_TAX
            x = a
        pc += 1


def run_filters(programs: Iterable[Program], data: SeccompData) -> int:
    """The kernel's result for a stack of filters, given newest first (``seccomp_run_filters``)."""
    # kernel/seccomp.c: "u32 ret = SECCOMP_RET_ALLOW;" then, for each filter from the newest,
    # "if (ACTION_ONLY(cur_ret) < ACTION_ONLY(ret)) ret = cur_ret;".
    result = op.SECCOMP_RET_ALLOW
    count = 0
    for program in programs:
        count += 1
        value = emulate(program, data).ret
        if signed32(value & op.SECCOMP_RET_ACTION_FULL) < signed32(
            result & op.SECCOMP_RET_ACTION_FULL
        ):
            result = value
    if not count:
        raise ValueError("run_filters needs at least one program")
    return result
