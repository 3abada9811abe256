"""Read a seccomp filter as pseudo-code, in the text format of seccomp-tools.

Like CPython's :mod:`dis`, decoding is separate from formatting: :func:`get_instructions`
returns one :class:`DecodedInstruction` per instruction, with the raw fields (``code``, ``jt``,
``jf``, ``k``) and the resolved ones (pseudo-code, absolute jump targets, the operand's
symbolic name); :func:`disassemble` and :func:`dis` format them::

     line  CODE  JT   JF      K
    =================================
     0000: 0x20 0x00 0x00 0x00000004  A = arch
     0001: 0x15 0x00 0x03 0xc000003e  if (A != ARCH_X86_64) goto 0005
     0002: 0x20 0x00 0x00 0x00000000  A = sys_number
     0003: 0x15 0x01 0x00 0x00000065  if (A == ptrace) goto 0005
     0004: 0x06 0x00 0x00 0x7fff0000  return ALLOW
     0005: 0x06 0x00 0x00 0x00050001  return ERRNO(1)

The format is an interface: people read it and scripts parse it, and
:func:`seccomp_bpf.bpf.assembler.assemble` reads it back, so that
``assemble(disassemble(p, symbols=s), symbols=s) == p`` for every valid program ``p``.

Names. This module knows nothing of system calls or architectures; a :class:`Symbols` object
(``seccomp_bpf.arch.ArchSymbols``) supplies the names. The constant of a comparison is named
when ``A`` holds ``arch`` (an ``AUDIT_ARCH_*`` name) or ``sys_number`` (a system call name under
the architecture the path to the comparison has checked for). What ``A`` holds and which
architecture is known come from a forward data-flow pass on the program walker
(:mod:`seccomp_bpf.bpf.walker`), :class:`ForwardFlow`, which the assembler runs too, so that
both sides agree on every name.

Byte order. ``args[i]`` is a 64-bit field at offset ``16 + 8 * i`` of ``struct seccomp_data``;
a ``LD W ABS`` reads one 32-bit half of it in the byte order of the calling architecture
(``<linux/seccomp.h>``). On a little-endian architecture the low word comes first, so offset
``16 + 8 * i`` is ``args[i]`` (its low 32 bits) and ``20 + 8 * i`` is ``args[i] >> 32``; on a
big-endian one it is the other way round, and the same holds for ``instruction_pointer`` at 8.
Where the path has checked the architecture, the ``__AUDIT_ARCH_LE`` bit of that
``AUDIT_ARCH_*`` value decides (``<linux/audit.h>``; the emulator reads words the same way);
elsewhere the ``byteorder`` argument does (by default the byte order of the symbols' default
architecture, else little-endian).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Final, Protocol

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import AUDIT_ARCH_LE, format_return_value
from seccomp_bpf.bpf.instruction import ByteOrder, Instruction, Program
from seccomp_bpf.bpf.walker import ForwardWalk, Machine

HEADER: Final = " line  CODE  JT   JF      K\n================================="


class Symbols(Protocol):
    """Names for architectures and system calls (implemented by ``seccomp_bpf.arch``).

    ``audit_arch`` ``None`` means the default architecture of the object.
    """

    def arch_name(self, audit_arch: int) -> str | None: ...

    def arch_value(self, name: str) -> int | None: ...

    def syscall_name(self, audit_arch: int | None, nr: int) -> str | None: ...

    def syscall_number(self, audit_arch: int | None, name: str) -> int | None: ...


def default_byteorder(symbols: Symbols | None, byteorder: ByteOrder | None) -> ByteOrder:
    """The byte order where a program has not checked the architecture.

    ``byteorder`` when given; else that of the symbols' default architecture, when they have
    one (a ``default`` attribute with a ``byteorder``, as ``ArchSymbols`` has); else little.
    """
    if byteorder is not None:
        return byteorder
    # Not part of the Symbols protocol: objects without a default architecture need not have
    # the attribute, so look for it.
    order = getattr(getattr(symbols, "default", None), "byteorder", None)
    return "big" if order == "big" else "little"


# --- forward data flow --------------------------------------------------------------------------
# What is known on *every* path that reaches an instruction: a data-flow pass on the walker
# (:class:`~seccomp_bpf.bpf.walker.ForwardWalk`), whose naming domain joins the machines
# reaching an instruction into one (their meet).


@dataclass(frozen=True, slots=True)
class ArchChecked:
    """The ``AUDIT_ARCH_*`` value every path has checked (on the true edge of ``A == K`` with
    ``A`` holding ``arch``), or ``None``; then ``mixed`` tells "paths that checked for
    different architectures (or some that did not check) meet here" from "no path checked"."""

    arch: int | None = None
    mixed: bool = False


_Names = Machine[int | None, ArchChecked]


@dataclass(frozen=True, slots=True)
class FlowState:
    """What holds on entry to an instruction, whatever path reached it.

    ``a``, ``x`` and ``mem`` say which word of ``struct seccomp_data`` the register or scratch
    cell holds (its offset), or ``None`` when it is anything else or unknown. ``arch`` and
    ``arch_mixed``: see :class:`ArchChecked`; where no path checked, names come from the
    default architecture.
    """

    a: int | None = None
    x: int | None = None
    mem: tuple[int | None, ...] = (None,) * op.BPF_MEMWORDS
    arch: int | None = None
    arch_mixed: bool = False

    @classmethod
    def of(cls, machine: _Names) -> FlowState:
        facts = machine.facts
        return cls(machine.a, machine.x, machine.mem, facts.arch, facts.mixed)

    @property
    def holds_sys_number(self) -> bool:
        return self.a == op.OFFSET_NR

    @property
    def holds_arch(self) -> bool:
        return self.a == op.OFFSET_ARCH

    def byteorder(self, default: ByteOrder) -> ByteOrder:
        """The byte order of ``struct seccomp_data`` here: the checked arch's, else ``default``."""
        if self.arch is None:
            return default
        return "little" if self.arch & AUDIT_ARCH_LE else "big"


UNKNOWN: Final = FlowState()


class _NamingDomain:
    """Values are offsets of ``struct seccomp_data`` words (``None``: anything else); the
    facts say which architecture the paths checked."""

    def constant(self, k: int) -> int | None:
        return None

    def load(self, machine: _Names, offset: int, pc: int) -> int | None:
        return offset

    def unknown(self, pc: int) -> int | None:
        return None

    def alu(self, machine: _Names, operation: int, operand: int | None, pc: int) -> int | None:
        return None  # A holds no word of seccomp_data any more

    def branch(
        self, machine: _Names, instruction: Instruction, operand: int | None, pc: int
    ) -> tuple[list[ArchChecked], list[ArchChecked]]:
        facts = machine.facts
        taken = facts
        if (
            op.bpf_op(instruction.code) == op.BPF_JEQ
            and op.bpf_src(instruction.code) == op.BPF_K
            and machine.a == op.OFFSET_ARCH
        ):
            taken = ArchChecked(instruction.k)
        return [taken], [facts]

    def ret(self, machine: _Names, value: int | None, pc: int) -> None:
        return None

    def combine(self, machines: list[_Names]) -> list[_Names]:
        """One machine: what all of them agree on."""
        if len(machines) <= 1:
            return machines
        first = machines[0]
        a, x, mem, facts = first.a, first.x, first.mem, first.facts
        for other in machines[1:]:
            if other == first:
                continue
            a = a if a == other.a else None
            x = x if x == other.x else None
            mem = tuple(m if m == n else None for m, n in zip(mem, other.mem, strict=True))
            if facts != other.facts:
                facts = ArchChecked(None, True)
        return [Machine(a, x, mem, facts)]


class ForwardFlow:
    """The naming pass, one instruction at a time, in program order.

    Call :meth:`state_at` then :meth:`visit` for ``pc = 0, 1, ...``: the assembler decides an
    instruction from the state before it and only then visits it. Unreachable instructions get
    :data:`UNKNOWN` and pass nothing on.
    """

    def __init__(self, length: int) -> None:
        start: _Names = Machine.start(None, ArchChecked())
        self._walk: ForwardWalk[int | None, ArchChecked] = ForwardWalk(
            _NamingDomain(), length, start
        )

    def state_at(self, pc: int) -> FlowState:
        machines = self._walk.machines_at(pc)
        return FlowState.of(machines[0]) if machines else UNKNOWN

    def is_reachable(self, pc: int) -> bool:
        return bool(self._walk.machines_at(pc))

    def visit(self, pc: int, ins: Instruction) -> None:
        """Pass the state after ``ins`` (at ``pc``) on to its successors."""
        self._walk.visit(pc, ins)


def flow_states(program: Iterable[Instruction]) -> list[FlowState]:
    """The state on entry to each instruction of ``program``."""
    instructions = tuple(program)
    flow = ForwardFlow(len(instructions))
    states = []
    for pc, ins in enumerate(instructions):
        states.append(flow.state_at(pc))
        flow.visit(pc, ins)
    return states


# --- names of the words of struct seccomp_data --------------------------------------------------


def field_name(offset: int, byteorder: ByteOrder) -> str | None:
    """``sys_number``, ``arch``, ``args[2] >> 32``... for a 32-bit aligned offset, else None.

    The 64-bit fields (``instruction_pointer`` at 8, ``args[i]`` at ``16 + 8 * i``) are read in
    two halves; on a little-endian machine the low half comes first.
    """
    if offset == op.OFFSET_NR:
        return "sys_number"
    if offset == op.OFFSET_ARCH:
        return "arch"
    if offset & 3 or not op.OFFSET_IP <= offset < op.SECCOMP_DATA_SIZE:
        return None
    if offset < op.OFFSET_ARGS:
        name, field_start = "instruction_pointer", op.OFFSET_IP
    else:
        index = (offset - op.OFFSET_ARGS) // 8
        name, field_start = f"args[{index}]", op.offset_of_arg(index)
    second_word = offset != field_start
    high = second_word if byteorder == "little" else not second_word
    return f"{name} >> 32" if high else name


def field_offset(name: str, *, high: bool, byteorder: ByteOrder) -> int:
    """The inverse of :func:`field_name` for the 64-bit fields.

    ``name`` is ``instruction_pointer`` or ``args[i]``; ``high`` asks for the upper 32 bits.
    """
    if name == "instruction_pointer":
        start = op.OFFSET_IP
    else:
        match = re.fullmatch(r"args\[(\d+)\]", name)
        if match is None:
            raise ValueError(f"not a 64-bit field of struct seccomp_data: {name!r}")
        start = op.offset_of_arg(int(match.group(1)))
    second_word = high if byteorder == "little" else not high
    return start + 4 if second_word else start


# --- decoding -----------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A name the assembler would read as something else cannot stand for a number.
_RESERVED_OPERANDS = frozenset({"X"})

_ALU_SYMBOLS: Final = {
    op.BPF_ADD: "+",
    op.BPF_SUB: "-",
    op.BPF_MUL: "*",
    op.BPF_DIV: "/",
    op.BPF_MOD: "%",
    op.BPF_AND: "&",
    op.BPF_OR: "|",
    op.BPF_XOR: "^",
    op.BPF_LSH: "<<",
    op.BPF_RSH: ">>",
}
_ALU_NAMES: Final = {
    op.BPF_ADD: "add",
    op.BPF_SUB: "sub",
    op.BPF_MUL: "mul",
    op.BPF_DIV: "div",
    op.BPF_MOD: "mod",
    op.BPF_AND: "and",
    op.BPF_OR: "or",
    op.BPF_XOR: "xor",
    op.BPF_LSH: "lsh",
    op.BPF_RSH: "rsh",
    op.BPF_NEG: "neg",
}
# The comparison a conditional jump makes when taken, and its negation (taken when it is not).
_COMPARISONS: Final = {
    op.BPF_JEQ: ("jeq", "A == {}", "A != {}"),
    op.BPF_JGT: ("jgt", "A > {}", "A <= {}"),
    op.BPF_JGE: ("jge", "A >= {}", "A < {}"),
    op.BPF_JSET: ("jset", "A & {}", "!(A & {})"),
}


@dataclass(frozen=True, slots=True)
class DecodedInstruction:
    """One instruction, raw and resolved.

    ``line`` is its index in the program. ``opname`` is the ``bpf_asm`` mnemonic (``ld``,
    ``jeq``, ``ret``...). ``text`` is the pseudo-code. ``targets`` are the absolute indices a
    jump goes to: ``(true, false)`` for a conditional jump, ``(target,)`` for ``goto``, empty
    otherwise. ``operand_name`` is the symbolic name of ``k`` when there is one: the field of
    ``struct seccomp_data`` a load reads, the system call or architecture a comparison names,
    or the action a return gives.
    """

    line: int
    code: int
    jt: int
    jf: int
    k: int
    opname: str
    text: str
    targets: tuple[int, ...]
    operand_name: str | None
    is_jump_target: bool

    @property
    def instruction(self) -> Instruction:
        return Instruction(self.code, self.jt, self.jf, self.k)

    def format(self) -> str:
        """The line of the listing: `` 0001: 0x15 0x00 0x09 0xc000003e  if (A != ...``."""
        return (
            f" {self.line:04d}: 0x{self.code:02x} 0x{self.jt:02x} 0x{self.jf:02x} "
            f"0x{self.k:08x}  {self.text}"
        )


def _hex(value: int) -> str:
    return f"{value:#x}"


def _goto(target: int) -> str:
    return f"goto {target:04d}"


class _Decoder:
    def __init__(self, symbols: Symbols | None, byteorder: ByteOrder) -> None:
        self.symbols = symbols
        self.byteorder = byteorder

    def comparison_name(self, k: int, state: FlowState) -> str | None:
        """The name of ``k`` compared with ``A``, if the symbols name it and name it back."""
        symbols = self.symbols
        if symbols is None:
            return None
        name: str | None = None
        if state.holds_arch:
            name = symbols.arch_name(k)
            if name is not None and symbols.arch_value(name) != k:
                name = None
        elif state.holds_sys_number and not state.arch_mixed:
            name = symbols.syscall_name(state.arch, k)
            if name is not None and symbols.syscall_number(state.arch, name) != k:
                name = None
        if name is None or name in _RESERVED_OPERANDS or not _IDENTIFIER.fullmatch(name):
            return None
        return name

    def decode(
        self, pc: int, ins: Instruction, state: FlowState, is_jump_target: bool
    ) -> DecodedInstruction:
        code, k = ins.code, ins.k
        cls, mode = op.bpf_class(code), op.bpf_mode(code)
        targets: tuple[int, ...] = ()
        name: str | None = None
        if cls == op.BPF_LD:
            opname = "ld"
            if mode == op.BPF_ABS:
                name = field_name(k, state.byteorder(self.byteorder))
                # the validator lets through only aligned loads inside struct seccomp_data
                assert name is not None, k
                text = f"A = {name}"
            elif mode == op.BPF_LEN:
                text = "A = len"
            elif mode == op.BPF_MEM:
                text = f"A = mem[{k}]"
            else:
                text = f"A = {_hex(k)}"
        elif cls == op.BPF_LDX:
            opname = "ldx"
            if mode == op.BPF_LEN:
                text = "X = len"
            elif mode == op.BPF_MEM:
                text = f"X = mem[{k}]"
            else:
                text = f"X = {_hex(k)}"
        elif cls == op.BPF_ST:
            opname, text = "st", f"mem[{k}] = A"
        elif cls == op.BPF_STX:
            opname, text = "stx", f"mem[{k}] = X"
        elif cls == op.BPF_ALU:
            operation = op.bpf_op(code)
            opname = _ALU_NAMES.get(operation, f"alu{operation:#x}")
            if operation == op.BPF_NEG:
                text = "A = -A"
            else:
                if op.bpf_src(code) == op.BPF_X:
                    operand = "X"
                elif operation in (op.BPF_LSH, op.BPF_RSH):
                    operand = str(k)  # a shift count, as seccomp-tools prints it
                else:
                    operand = _hex(k)
                text = f"A {_ALU_SYMBOLS.get(operation, '?')}= {operand}"
        elif cls == op.BPF_JMP:
            operation = op.bpf_op(code)
            if operation == op.BPF_JA:
                opname = "ja"
                targets = (pc + 1 + k,)
                text = _goto(targets[0])
            else:
                opname, taken, not_taken = _COMPARISONS[operation]
                if op.bpf_src(code) == op.BPF_X:
                    operand = "X"
                else:
                    if operation != op.BPF_JSET:  # a JSET constant is a mask, not a number
                        name = self.comparison_name(k, state)
                    operand = name if name is not None else _hex(k)
                true_target, false_target = pc + 1 + ins.jt, pc + 1 + ins.jf
                targets = (true_target, false_target)
                # Print the shortest form that still says both offsets: the fall-through
                # edge (offset 0) is left out; with both or neither offset 0, both are shown.
                if ins.jf == 0 and ins.jt != 0:
                    text = f"if ({taken.format(operand)}) {_goto(true_target)}"
                elif ins.jt == 0 and ins.jf != 0:
                    text = f"if ({not_taken.format(operand)}) {_goto(false_target)}"
                else:
                    text = (
                        f"if ({taken.format(operand)}) {_goto(true_target)} "
                        f"else {_goto(false_target)}"
                    )
        elif cls == op.BPF_RET:
            opname = "ret"
            if op.bpf_rval(code) == op.BPF_A:
                text = "return A"
            else:
                value = format_return_value(k)
                name = None if value.startswith("0x") else value
                text = f"return {value}"
        elif code & 0xF8 == op.BPF_TXA:  # BPF_MISC
            opname, text = "txa", "A = X"
        else:
            opname, text = "tax", "X = A"
        return DecodedInstruction(
            line=pc,
            code=code,
            jt=ins.jt,
            jf=ins.jf,
            k=k,
            opname=opname,
            text=text,
            targets=targets,
            operand_name=name,
            is_jump_target=is_jump_target,
        )


def get_instructions(
    program: Program | Iterable[Instruction],
    *,
    symbols: Symbols | None = None,
    byteorder: ByteOrder | None = None,
) -> list[DecodedInstruction]:
    """Decode ``program`` (validated first: raises InvalidProgramError) instruction by instruction.

    ``symbols`` names architectures and system calls; ``byteorder`` says which half of a 64-bit
    field comes first where the program has not checked the architecture (default: the byte
    order of the symbols' default architecture, else little-endian).
    """
    if not isinstance(program, Program):
        program = Program(program)
    instructions = program.instructions
    jump_targets: set[int] = set()
    for pc, ins in enumerate(instructions):
        if op.bpf_class(ins.code) == op.BPF_JMP:
            if op.bpf_op(ins.code) == op.BPF_JA:
                jump_targets.add(pc + 1 + ins.k)
            else:
                jump_targets.update((pc + 1 + ins.jt, pc + 1 + ins.jf))
    decoder = _Decoder(symbols, default_byteorder(symbols, byteorder))
    states = flow_states(instructions)
    return [
        decoder.decode(pc, ins, states[pc], pc in jump_targets)
        for pc, ins in enumerate(instructions)
    ]


def format_listing(decoded: Iterable[DecodedInstruction]) -> str:
    """The header and one line per instruction, each ending in a newline."""
    return "\n".join([HEADER, *(d.format() for d in decoded)]) + "\n"


def disassemble(
    program: Program | Iterable[Instruction],
    *,
    symbols: Symbols | None = None,
    byteorder: ByteOrder | None = None,
) -> str:
    """The listing of ``program`` as text (see the module docstring for the format)."""
    return format_listing(get_instructions(program, symbols=symbols, byteorder=byteorder))


def dis(
    program: Program | Iterable[Instruction],
    *,
    symbols: Symbols | None = None,
    byteorder: ByteOrder | None = None,
    file: IO[str] | None = None,
) -> None:
    """Print the listing of ``program`` to ``file`` (default: standard output)."""
    text = disassemble(program, symbols=symbols, byteorder=byteorder)
    print(text, end="", file=sys.stdout if file is None else file)
