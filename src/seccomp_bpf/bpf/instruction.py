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

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.errors import InvalidProgramError

TYPE_CHECKING = False  # not typing's: importing typing costs a confined command's start-up
if TYPE_CHECKING:
    from typing import Literal, overload

    ByteOrder = Literal["little", "big"]
else:
    ByteOrder = str  # what annotations name at run time

_FORMATS = {"little": struct.Struct("<HBBI"), "big": struct.Struct(">HBBI")}
INSTRUCTION_SIZE = 8


class Instruction:
    """One ``struct sock_filter``: opcode, jump-if-true, jump-if-false, and the constant ``k``.

    Immutable, compared and hashed by its four fields. (Written out rather than a dataclass:
    making a dataclass executes generated code, and importing :mod:`dataclasses` imports
    :mod:`inspect`; together a tenth of a confined command's start-up.)
    """

    __slots__ = ("code", "jf", "jt", "k")
    __match_args__ = ("code", "jt", "jf", "k")

    code: int
    jt: int
    jf: int
    k: int

    def __init__(self, code: int, jt: int = 0, jf: int = 0, k: int = 0) -> None:
        if not 0 <= code <= 0xFFFF:
            raise ValueError(f"code must fit in 16 bits, not {code:#x}")
        if not 0 <= jt <= 0xFF:
            raise ValueError(f"jt must fit in 8 bits, not {jt}")
        if not 0 <= jf <= 0xFF:
            raise ValueError(f"jf must fit in 8 bits, not {jf}")
        if not 0 <= k <= 0xFFFFFFFF:
            raise ValueError(f"k must fit in 32 bits, not {k:#x}")
        _set_code(self, code)
        _set_jt(self, jt)
        _set_jf(self, jf)
        _set_k(self, k)

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

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: an Instruction is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: an Instruction is immutable")

    def __reduce__(self) -> tuple[type[Instruction], tuple[int, int, int, int]]:
        return (Instruction, (self.code, self.jt, self.jf, self.k))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Instruction)
        return (
            self.code == other.code
            and self.jt == other.jt
            and self.jf == other.jf
            and self.k == other.k
        )

    def __hash__(self) -> int:
        return hash((self.code, self.jt, self.jf, self.k))

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


# The slots' own setters, which the fields of an immutable instance are written with.
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

    if TYPE_CHECKING:

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
