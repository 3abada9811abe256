"""``Instruction`` and ``Program``: classic BPF as the kernel stores it.

``struct sock_filter`` (``<linux/filter.h>``) is ``{ __u16 code; __u8 jt; __u8 jf; __u32 k; }``:
8 bytes in the byte order of the machine that loads it (``to_bytes``/``from_bytes`` take it).
That is also the format of libseccomp's ``export_bpf`` and of the file descriptor
bubblewrap's ``--seccomp FD`` reads.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, overload

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.errors import InvalidProgramError

ByteOrder = Literal["little", "big"]

_FORMATS = {"little": struct.Struct("<HBBI"), "big": struct.Struct(">HBBI")}
INSTRUCTION_SIZE = 8


@dataclass(frozen=True, slots=True)
class Instruction:
    """One ``struct sock_filter``: opcode, jump-if-true, jump-if-false, and the constant ``k``."""

    code: int
    jt: int = 0
    jf: int = 0
    k: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.code <= 0xFFFF:
            raise ValueError(f"code must fit in 16 bits, not {self.code:#x}")
        if not 0 <= self.jt <= 0xFF:
            raise ValueError(f"jt must fit in 8 bits, not {self.jt}")
        if not 0 <= self.jf <= 0xFF:
            raise ValueError(f"jf must fit in 8 bits, not {self.jf}")
        if not 0 <= self.k <= 0xFFFFFFFF:
            raise ValueError(f"k must fit in 32 bits, not {self.k:#x}")

    @classmethod
    def trusted(cls, code: int, jt: int, jf: int, k: int) -> Instruction:
        """An instruction from fields already known to fit (what a layout computes): the
        same object as ``Instruction(code, jt, jf, k)``, made without checking them."""
        ins = _new(cls)
        _set_code(ins, code)
        _set_jt(ins, jt)
        _set_jf(ins, jf)
        _set_k(ins, k)
        return ins

    def to_bytes(self, byteorder: ByteOrder = sys.byteorder) -> bytes:
        return _FORMATS[byteorder].pack(self.code, self.jt, self.jf, self.k)

    @property
    def is_conditional_jump(self) -> bool:
        return op.bpf_class(self.code) == op.BPF_JMP and op.bpf_op(self.code) != op.BPF_JA

    @property
    def is_return(self) -> bool:
        return op.bpf_class(self.code) == op.BPF_RET

    def __repr__(self) -> str:
        return f"Instruction(code={self.code:#06x}, jt={self.jt}, jf={self.jf}, k={self.k:#010x})"


# The slots' own setters, which a frozen instance's fields are written with (Instruction.trusted).
_new = object.__new__
_set_code, _set_jt, _set_jf, _set_k = (
    vars(Instruction)[name].__set__ for name in ("code", "jt", "jf", "k")
)


# -- constructors for the instructions seccomp filters use -------------------------------------


def load_abs(offset: int) -> Instruction:
    """``A = data[offset]`` (32-bit, native byte order)."""
    return Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, 0, 0, offset)


def ret(k: int) -> Instruction:
    """``return k``."""
    return Instruction(op.BPF_RET | op.BPF_K, 0, 0, k)


def jump(code: int, k: int, jt: int, jf: int) -> Instruction:
    """A conditional jump ``BPF_JMP | code | BPF_K`` with resolved offsets."""
    return Instruction(op.BPF_JMP | code | op.BPF_K, jt, jf, k)


def ja(offset: int) -> Instruction:
    """``goto pc + 1 + offset``."""
    return Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, offset)


class Program(Sequence[Instruction]):
    """An immutable classic-BPF program that the kernel accepts as a seccomp filter.

    Construction validates (see :func:`seccomp_bpf.bpf.validator.validate`): a ``Program``
    always loads, as far as its instructions go.
    """

    __slots__ = ("_hash", "_instructions")

    def __init__(self, instructions: Iterable[Instruction]) -> None:
        from seccomp_bpf.bpf.validator import validate

        items = tuple(instructions)
        for index, item in enumerate(items):
            if not isinstance(item, Instruction):
                raise InvalidProgramError(f"not an Instruction: {item!r}", index)
        validate(items)
        self._instructions = items
        self._hash: int | None = None

    @classmethod
    def from_bytes(cls, data: bytes, byteorder: ByteOrder = sys.byteorder) -> Program:
        """Read ``struct sock_filter`` records; raises InvalidProgramError on bad input."""
        if len(data) % INSTRUCTION_SIZE:
            raise InvalidProgramError(
                f"{len(data)} bytes is not a whole number of {INSTRUCTION_SIZE}-byte instructions"
            )
        fmt = _FORMATS[byteorder]
        return cls(Instruction(*fields) for fields in fmt.iter_unpack(data))

    def to_bytes(self, byteorder: ByteOrder = sys.byteorder) -> bytes:
        fmt = _FORMATS[byteorder]
        return b"".join(fmt.pack(i.code, i.jt, i.jf, i.k) for i in self._instructions)

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        return self._instructions

    def __len__(self) -> int:
        return len(self._instructions)

    @overload
    def __getitem__(self, index: int) -> Instruction: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Instruction]: ...

    def __getitem__(self, index: int | slice) -> Instruction | Sequence[Instruction]:
        return self._instructions[index]

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self._instructions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Program):
            return NotImplemented
        return self._instructions == other._instructions

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._instructions)
        return self._hash

    def __repr__(self) -> str:
        return f"<Program of {len(self)} instructions>"
