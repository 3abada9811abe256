"""Read pseudo-code back into a :class:`~seccomp_bpf.bpf.instruction.Program`.

:func:`assemble` is the inverse of :func:`seccomp_bpf.bpf.disassembler.disassemble`: for every
valid program ``p``, ``assemble(disassemble(p, symbols=s), symbols=s) == p``. It reads

- the disassembler's listing, header included. Each line is ``NNNN: CODE JT JF K  pseudo-code``.
  The hex columns are the instruction and the pseudo-code its reading: they must agree on
  every field the pseudo-code determines, or the line is an error. Fields the instruction does
  not use (the offsets of an instruction that does not jump, ``k`` of ``A = X``, ``return A``,
  ``A = len``, ``A += X``...) come from the hex columns, which is what makes the round trip
  exact for every program the kernel accepts;
- hand-written pseudo-code: one instruction per line, with optional ``NNNN:`` line numbers
  (which must be the instruction's index), symbolic labels (``deny:``, ``goto deny``),
  comments (``#`` or ``//`` to the end of the line) and blank lines.

The statements, with ``K`` a number (decimal, ``0x`` hex, or negative: two's complement on
32 bits) and ``N`` a small decimal index::

    A = sys_number | arch | instruction_pointer [>> 32] | args[N] [>> 32]
    A = len | K | mem[N] | X | -A          X = len | K | mem[N] | A
    mem[N] = A | X
    A += K|X   (likewise -= *= /= &= |= ^= <<= >>=)
    goto T
    if (A == K|X) goto T [else goto T]     (likewise != > >= < <= &)
    if (!(A & K|X)) goto T [else goto T]
    return A | K | ALLOW | KILL | KILL_PROCESS | KILL_THREAD | TRAP | LOG | USER_NOTIF
           | ERRNO(n) | TRACE(n) | TRAP(n) ...

A jump target ``T`` is a line number as printed (the index of the instruction) or a label, and
lies ahead: seccomp programs jump forward only. The constant of a comparison may be a name: an
``AUDIT_ARCH_*`` name where ``A`` holds ``arch``, a system call name where it holds
``sys_number`` (under the architecture the path has checked for). Which one ``A`` holds, and
the byte order of ``args[N] >> 32``, come from the same forward data flow the disassembler runs.

Every error is an :class:`~seccomp_bpf.errors.AssemblyError` naming the line, the column and
the offending token; a program the kernel would refuse raises
:class:`~seccomp_bpf.errors.AssembledProgramError`, which is also an ``InvalidProgramError``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Final, Literal, NoReturn

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.disassembler import (
    FlowState,
    ForwardFlow,
    Symbols,
    default_byteorder,
    field_offset,
)
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.bpf.instruction import ByteOrder, Instruction, Program
from seccomp_bpf.errors import AssembledProgramError, AssemblyError, InvalidProgramError

_TOKEN: Final = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<number>-?[0-9][0-9A-Za-z_]*)
    | (?P<name>[A-Za-z_][0-9A-Za-z_]*)
    | (?P<op><<=|>>=|==|!=|<=|>=|<<|>>|[-+*/%&|^]=|[-=<>&!()\[\]:])
    """,
    re.VERBOSE,
)
_HEX_NUMBER: Final = re.compile(r"-?0[xX][0-9a-fA-F]+")
_DECIMAL_NUMBER: Final = re.compile(r"-?[0-9]+")
_HEADER: Final = re.compile(r"\s*line\s+code\s+jt\s+jf\s+k\s*|\s*=+\s*", re.IGNORECASE)

_MASK32: Final = 0xFFFFFFFF
_MAX_CONDITIONAL_OFFSET: Final = 0xFF  # jt and jf are __u8 (<linux/filter.h>)

_ALU_OPERATORS: Final = {
    "+=": op.BPF_ADD,
    "-=": op.BPF_SUB,
    "*=": op.BPF_MUL,
    "/=": op.BPF_DIV,
    "%=": op.BPF_MOD,
    "&=": op.BPF_AND,
    "|=": op.BPF_OR,
    "^=": op.BPF_XOR,
    "<<=": op.BPF_LSH,
    ">>=": op.BPF_RSH,
}
# operator -> (jump operation, negated): "A <= K" is "not A > K", and so on.
_COMPARISONS: Final = {
    "==": (op.BPF_JEQ, False),
    "!=": (op.BPF_JEQ, True),
    ">": (op.BPF_JGT, False),
    "<=": (op.BPF_JGT, True),
    ">=": (op.BPF_JGE, False),
    "<": (op.BPF_JGE, True),
    "&": (op.BPF_JSET, False),
}
# Action names, with KILL as libseccomp and seccomp-tools use it (SECCOMP_RET_KILL is
# SECCOMP_RET_KILL_THREAD, <linux/seccomp.h>). ERRNO needs its errno: a bare ERRNO would
# silently make the call "succeed" with 0.
_ACTIONS: Final = {action.name: int(action) for action in SeccompAction} | {
    "KILL": op.SECCOMP_RET_KILL
}
_ACTIONS_NEEDING_DATA: Final = frozenset({"ERRNO"})

ProgramFormat = Literal["auto", "raw", "text"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["number", "name", "op", "end"]
    text: str
    column: int  # 1-based
    value: int = 0  # for numbers

    def describe(self) -> str:
        return "the end of the line" if self.kind == "end" else f"'{self.text}'"


@dataclass(frozen=True, slots=True)
class _Statement:
    """One instruction's line: its number, its text, optional hex columns, the pseudo-code."""

    line: int
    source_line: str
    hex_columns: tuple[_Token, _Token, _Token, _Token] | None
    tokens: tuple[_Token, ...]
    end_column: int

    @property
    def column(self) -> int:
        first = self.hex_columns[0] if self.hex_columns else self.tokens[0]
        return first.column

    @property
    def pseudo_code(self) -> str:
        if not self.tokens:
            return ""
        return self.source_line[self.tokens[0].column - 1 : self.end_column - 1].strip()


class _Source:
    """The name of the text, for errors that point into it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def error(self, message: str, line: int, token: _Token) -> NoReturn:
        raise AssemblyError(
            message, line=line, column=token.column, text=token.text, source=self.name
        )


def _strip_comment(line: str) -> str:
    cut = len(line)
    for marker in ("#", "//"):
        index = line.find(marker)
        if index != -1:
            cut = min(cut, index)
    return line[:cut]


def _parse_number(text: str) -> int | None:
    if _HEX_NUMBER.fullmatch(text):
        sign = -1 if text.startswith("-") else 1
        return sign * int(text.lstrip("-")[2:], 16)
    if _DECIMAL_NUMBER.fullmatch(text):
        return int(text, 10)  # int() reads leading zeros in base 10: "0011" is 11
    return None


def _tokenize(code: str, line: int, source: _Source) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(code):
        match = _TOKEN.match(code, position)
        if match is None:
            bad = _Token("op", code[position], position + 1)
            source.error(f"unexpected character {bad.describe()}", line, bad)
        kind = match.lastgroup
        text = match.group()
        column = position + 1
        position = match.end()
        if kind == "space":
            continue
        if kind == "number":
            value = _parse_number(text)
            if value is None:
                source.error(f"'{text}' is not a number", line, _Token("number", text, column))
            tokens.append(_Token("number", text, column, value))
        elif kind == "name":
            tokens.append(_Token("name", text, column))
        else:
            tokens.append(_Token("op", text, column))
    return tokens


@dataclass
class _Layout:
    """The result of the first pass: the instructions' lines and where the labels point."""

    statements: list[_Statement]
    labels: dict[str, int]
    last_line: int


def _split(text: str, source: _Source) -> _Layout:
    """First pass: drop comments and headers, take labels and hex columns off each line."""
    statements: list[_Statement] = []
    labels: dict[str, int] = {}
    label_lines: dict[str, int] = {}
    lines = text.splitlines()
    for number, raw_line in enumerate(lines, start=1):
        code = _strip_comment(raw_line)
        if _HEADER.fullmatch(code):
            continue
        tokens = _tokenize(code, number, source)
        pc = len(statements)
        numbered: _Token | None = None
        while len(tokens) >= 2 and tokens[0].kind in ("number", "name") and tokens[1].text == ":":
            label = tokens[0]
            if label.kind == "number":
                if label.value != pc:
                    source.error(
                        f"line number {label.describe()} does not match the instruction's "
                        f"index {pc:04d}",
                        number,
                        label,
                    )
                numbered = label
            else:
                if label.text in labels:
                    source.error(
                        f"label {label.describe()} is already defined on line "
                        f"{label_lines[label.text]}",
                        number,
                        label,
                    )
                labels[label.text] = pc
                label_lines[label.text] = number
            tokens = tokens[2:]
        end_column = len(code.rstrip()) + 1
        if not tokens:
            if numbered is not None:
                source.error(
                    f"an instruction must follow {numbered.describe()}:",
                    number,
                    _Token("end", "", end_column),
                )
            continue
        hex_columns: tuple[_Token, _Token, _Token, _Token] | None = None
        if tokens[0].kind == "number":
            hex_columns = _hex_columns(tokens, number, end_column, source)
            tokens = tokens[4:]
        statements.append(_Statement(number, raw_line, hex_columns, tuple(tokens), end_column))
    return _Layout(statements, labels, max(len(lines), 1))


def _hex_columns(
    tokens: list[_Token], line: int, end_column: int, source: _Source
) -> tuple[_Token, _Token, _Token, _Token]:
    """The ``CODE JT JF K`` columns of a listing line."""
    limits = (("CODE", 0xFFFF), ("JT", 0xFF), ("JF", 0xFF), ("K", _MASK32))
    for index, (name, limit) in enumerate(limits):
        if index >= len(tokens) or tokens[index].kind != "number":
            found = tokens[index] if index < len(tokens) else _Token("end", "", end_column)
            source.error(
                f"expected the hex column {name} (CODE JT JF K), found {found.describe()}",
                line,
                found,
            )
        token = tokens[index]
        if not 0 <= token.value <= limit:
            source.error(f"{name} {token.describe()} is out of range 0..{limit:#x}", line, token)
    return (tokens[0], tokens[1], tokens[2], tokens[3])


class _StatementParser:
    """Second pass, one statement: pseudo-code -> Instruction, given the state before it."""

    def __init__(
        self,
        statement: _Statement,
        pc: int,
        state: FlowState,
        *,
        layout: _Layout,
        symbols: Symbols | None,
        byteorder: ByteOrder,
        source: _Source,
    ) -> None:
        self.statement = statement
        self.tokens = statement.tokens
        self.position = 0
        self.pc = pc
        self.layout = layout
        self.state = state
        self.symbols = symbols
        self.byteorder = byteorder
        self.source = source

    # -- tokens --

    def peek(self) -> _Token:
        if self.position < len(self.tokens):
            return self.tokens[self.position]
        return _Token("end", "", self.statement.end_column)

    def next(self) -> _Token:
        token = self.peek()
        self.position += 1
        return token

    def error(self, message: str, token: _Token) -> NoReturn:
        self.source.error(message, self.statement.line, token)

    def expect(self, text: str) -> _Token:
        token = self.next()
        if token.text != text or token.kind == "end":
            self.error(f"expected '{text}', found {token.describe()}", token)
        return token

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind != "end":
            self.position += 1
            return True
        return False

    # -- values --

    def constant(self, token: _Token) -> int:
        """A 32-bit K: 0..2**32-1, or negative down to -2**31 (two's complement)."""
        if token.kind != "number":
            self.error(f"expected a number, found {token.describe()}", token)
        if not -(1 << 31) <= token.value <= _MASK32:
            self.error(f"{token.describe()} does not fit in 32 bits", token)
        return token.value & _MASK32

    def index(self, limit: int | None = None) -> int:
        """``[N]`` after ``mem`` or ``args``."""
        self.expect("[")
        token = self.next()
        if token.kind != "number" or token.value < 0:
            self.error(f"expected an index, found {token.describe()}", token)
        if limit is not None and token.value >= limit:
            self.error(f"index {token.describe()} is out of range 0..{limit - 1}", token)
        self.expect("]")
        return min(token.value, _MASK32)

    def name_value(self, token: _Token) -> int:
        """The number a name in a comparison stands for, given what A holds here."""
        name = token.text
        symbols = self.symbols
        state = self.state
        if symbols is None:
            self.error(
                f"cannot resolve the name {token.describe()} without symbols (an architecture)",
                token,
            )
        if state.holds_arch:
            value = symbols.arch_value(name)
            if value is None:
                self.error(f"unknown architecture {token.describe()}", token)
            return value
        if state.holds_sys_number and state.arch_mixed:
            self.error(
                f"cannot tell which architecture's system call {token.describe()} is: paths "
                "that checked for different architectures meet here",
                token,
            )
        if state.holds_sys_number:
            value = symbols.syscall_number(state.arch, name)
            if value is None:
                where = ""
                if state.arch is not None:
                    where = f" on {symbols.arch_name(state.arch) or hex(state.arch)}"
                self.error(f"unknown system call {token.describe()}{where}", token)
            return value & _MASK32
        self.error(
            f"cannot tell what {token.describe()} stands for: A holds neither arch nor "
            "sys_number here",
            token,
        )

    def operand(self) -> tuple[int, int]:
        """``X`` or a constant: (source bit, k)."""
        token = self.next()
        if token.kind == "name" and token.text == "X":
            return op.BPF_X, 0
        if token.kind == "name":
            return op.BPF_K, self.name_value(token)
        if token.kind != "number":
            self.error(f"expected X, a number or a name, found {token.describe()}", token)
        return op.BPF_K, self.constant(token)

    def target(self) -> tuple[int, _Token]:
        """A jump target (absolute index), checked to lie ahead and inside the program."""
        token = self.next()
        if token.kind == "name":
            if token.text not in self.layout.labels:
                self.error(f"unknown label {token.describe()}", token)
            target = self.layout.labels[token.text]
        elif token.kind == "number":
            target = token.value
        else:
            self.error(f"expected a line number or a label, found {token.describe()}", token)
        if target <= self.pc:
            self.error(
                f"jump to {token.describe()} goes backwards or nowhere (this is instruction "
                f"{self.pc:04d}): seccomp programs jump forward only",
                token,
            )
        last = len(self.layout.statements) - 1
        if target > last:
            self.error(
                f"jump to {token.describe()} lands past the last instruction ({last:04d})", token
            )
        return target, token

    def conditional_offset(self, target: int, token: _Token) -> int:
        offset = target - self.pc - 1
        if offset > _MAX_CONDITIONAL_OFFSET:
            self.error(
                f"jump to {token.describe()} is {offset} instructions ahead; a conditional jump "
                f"reaches at most {_MAX_CONDITIONAL_OFFSET} (jump to a 'goto' instead)",
                token,
            )
        return offset

    # -- statements --

    def parse(self) -> Instruction:
        first = self.next()
        if first.kind == "name":
            handler = {
                "return": self.parse_return,
                "goto": self.parse_goto,
                "if": self.parse_if,
                "A": self.parse_a,
                "X": self.parse_x,
                "mem": self.parse_store,
            }.get(first.text)
            if handler is not None:
                instruction = handler()
                extra = self.peek()
                if extra.kind != "end":
                    self.error(f"unexpected {extra.describe()} after the instruction", extra)
                return instruction
        self.error(
            f"expected an instruction (A, X, mem[N], if, goto or return), found {first.describe()}",
            first,
        )

    def parse_return(self) -> Instruction:
        token = self.next()
        if token.kind == "name" and token.text == "A":
            return Instruction(op.BPF_RET | op.BPF_A)
        if token.kind == "number":
            return Instruction(op.BPF_RET | op.BPF_K, 0, 0, self.constant(token))
        if token.kind != "name" or token.text not in _ACTIONS:
            self.error(
                f"expected A, a number or an action ({', '.join(sorted(_ACTIONS))}), found "
                f"{token.describe()}",
                token,
            )
        data = 0
        if self.accept("("):
            data_token = self.next()
            if data_token.kind != "number" or not 0 <= data_token.value <= op.SECCOMP_RET_DATA:
                self.error(
                    f"the data of {token.text} must be a number in 0..{op.SECCOMP_RET_DATA:#x}, "
                    f"not {data_token.describe()}",
                    data_token,
                )
            data = data_token.value
            self.expect(")")
        elif token.text in _ACTIONS_NEEDING_DATA:
            self.error(f"{token.text} needs its value: {token.text}(n)", token)
        return Instruction(op.BPF_RET | op.BPF_K, 0, 0, _ACTIONS[token.text] | data)

    def parse_goto(self) -> Instruction:
        target, _ = self.target()
        return Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, target - self.pc - 1)

    def parse_if(self) -> Instruction:
        self.expect("(")
        if self.accept("!"):
            self.expect("(")
            self.expect("A")
            self.expect("&")
            source, k = self.operand()
            self.expect(")")
            operation, negated = op.BPF_JSET, True
        else:
            self.expect("A")
            comparison = self.next()
            if comparison.kind != "op" or comparison.text not in _COMPARISONS:
                self.error(
                    f"expected a comparison ({' '.join(_COMPARISONS)}), found "
                    f"{comparison.describe()}",
                    comparison,
                )
            operation, negated = _COMPARISONS[comparison.text]
            source, k = self.operand()
        self.expect(")")
        self.expect("goto")
        first, first_token = self.target()
        first_offset = self.conditional_offset(first, first_token)
        second_offset = 0  # fall through
        if self.accept("else"):
            self.expect("goto")
            second, second_token = self.target()
            second_offset = self.conditional_offset(second, second_token)
        jt, jf = (second_offset, first_offset) if negated else (first_offset, second_offset)
        return Instruction(op.BPF_JMP | operation | source, jt, jf, k)

    def parse_a(self) -> Instruction:
        token = self.next()
        if token.kind == "op" and token.text in _ALU_OPERATORS:
            source, k = self.operand()
            return Instruction(op.BPF_ALU | _ALU_OPERATORS[token.text] | source, 0, 0, k)
        if token.text != "=" or token.kind == "end":
            self.error(f"expected '=' or an operator such as '+=', found {token.describe()}", token)
        value = self.next()
        load_abs = op.BPF_LD | op.BPF_W | op.BPF_ABS
        if value.kind == "number":
            return Instruction(op.BPF_LD | op.BPF_IMM, 0, 0, self.constant(value))
        if value.text == "-" and value.kind == "op":
            self.expect("A")
            return Instruction(op.BPF_ALU | op.BPF_NEG)
        if value.kind == "name":
            if value.text == "X":
                return Instruction(op.BPF_MISC | op.BPF_TXA)
            if value.text == "len":
                return Instruction(op.BPF_LD | op.BPF_W | op.BPF_LEN)
            if value.text == "mem":
                return Instruction(op.BPF_LD | op.BPF_MEM, 0, 0, self.index())
            if value.text == "sys_number":
                return Instruction(load_abs, 0, 0, op.OFFSET_NR)
            if value.text == "arch":
                return Instruction(load_abs, 0, 0, op.OFFSET_ARCH)
            if value.text in ("instruction_pointer", "args"):
                name = value.text
                if name == "args":
                    name = f"args[{self.index(limit=6)}]"
                high = False
                if self.accept(">>"):
                    shift = self.next()
                    if shift.kind != "number" or shift.value != 32:
                        self.error(
                            f"only the upper half of a 64-bit field can be loaded: expected "
                            f"'>> 32', found '>> {shift.text}'",
                            shift,
                        )
                    high = True
                offset = field_offset(
                    name, high=high, byteorder=self.state.byteorder(self.byteorder)
                )
                return Instruction(load_abs, 0, 0, offset)
        self.error(
            "expected a number, X, len, mem[N], sys_number, arch, instruction_pointer, "
            f"args[N] or -A, found {value.describe()}",
            value,
        )

    def parse_x(self) -> Instruction:
        self.expect("=")
        value = self.next()
        if value.kind == "number":
            return Instruction(op.BPF_LDX | op.BPF_IMM, 0, 0, self.constant(value))
        if value.kind == "name":
            if value.text == "A":
                return Instruction(op.BPF_MISC | op.BPF_TAX)
            if value.text == "len":
                return Instruction(op.BPF_LDX | op.BPF_W | op.BPF_LEN)
            if value.text == "mem":
                return Instruction(op.BPF_LDX | op.BPF_MEM, 0, 0, self.index())
        self.error(f"expected a number, A, len or mem[N], found {value.describe()}", value)

    def parse_store(self) -> Instruction:
        cell = self.index()
        self.expect("=")
        register = self.next()
        if register.kind == "name" and register.text == "A":
            return Instruction(op.BPF_ST, 0, 0, cell)
        if register.kind == "name" and register.text == "X":
            return Instruction(op.BPF_STX, 0, 0, cell)
        self.error(f"expected A or X, found {register.describe()}", register)


def _fields_used(code: int) -> tuple[bool, bool]:
    """Whether an instruction with this opcode uses (jt and jf, k)."""
    cls = op.bpf_class(code)
    if cls == op.BPF_JMP:
        if op.bpf_op(code) == op.BPF_JA:
            return False, True
        return True, op.bpf_src(code) == op.BPF_K
    if cls == op.BPF_ALU:
        return False, op.bpf_op(code) != op.BPF_NEG and op.bpf_src(code) == op.BPF_K
    if cls == op.BPF_RET:
        return False, op.bpf_rval(code) == op.BPF_K
    if cls in (op.BPF_LD, op.BPF_LDX):
        return False, op.bpf_mode(code) != op.BPF_LEN
    if cls == op.BPF_MISC:
        return False, False
    return False, True


def _merge_hex_columns(
    statement: _Statement, instruction: Instruction, source: _Source
) -> Instruction:
    """The instruction the hex columns give, checked against what the pseudo-code says."""
    assert statement.hex_columns is not None
    code, jt, jf, k = statement.hex_columns
    uses_jumps, uses_k = _fields_used(instruction.code)
    checks = [("CODE", code, instruction.code, True), ("JT", jt, instruction.jt, uses_jumps)]
    checks += [("JF", jf, instruction.jf, uses_jumps), ("K", k, instruction.k, uses_k)]
    for name, token, expected, used in checks:
        if used and token.value != expected:
            source.error(
                f"the hex column {name} is {token.describe()} but "
                f"'{statement.pseudo_code}' has {name} {expected:#x}",
                statement.line,
                token,
            )
    return Instruction(instruction.code, jt.value, jf.value, k.value)


def assemble(
    text: str,
    *,
    symbols: Symbols | None = None,
    byteorder: ByteOrder | None = None,
    source: str = "<text>",
) -> Program:
    """The program ``text`` describes (see the module docstring for the language).

    ``symbols`` resolves system call and architecture names; ``byteorder`` places the halves of
    64-bit fields where the program has not checked the architecture. Use the same values the
    listing was made with.
    """
    where = _Source(source)
    layout = _split(text, where)
    if not layout.statements:
        raise AssemblyError("no instructions", line=layout.last_line, source=source)
    flow = ForwardFlow(len(layout.statements))
    instructions: list[Instruction] = []
    for pc, statement in enumerate(layout.statements):
        if statement.tokens:
            parser = _StatementParser(
                statement,
                pc,
                flow.state_at(pc),
                layout=layout,
                symbols=symbols,
                byteorder=default_byteorder(symbols, byteorder),
                source=where,
            )
            instruction = parser.parse()
            if statement.hex_columns is not None:
                instruction = _merge_hex_columns(statement, instruction, where)
        else:  # a listing line without pseudo-code: the hex columns alone
            assert statement.hex_columns is not None
            instruction = Instruction(*(token.value for token in statement.hex_columns))
        flow.visit(pc, instruction)
        instructions.append(instruction)
    try:
        return Program(instructions)
    except InvalidProgramError as error:
        index = error.index if error.index is not None else len(instructions) - 1
        statement = layout.statements[min(index, len(layout.statements) - 1)]
        raise AssembledProgramError(
            error.reason,
            error.index,
            line=statement.line,
            column=statement.column,
            text=statement.pseudo_code or statement.source_line.strip(),
            source=source,
        ) from error


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_program(
    data: bytes,
    *,
    kind: ProgramFormat = "auto",
    symbols: Symbols | None = None,
    byteorder: ByteOrder | None = None,
    source: str = "<bytes>",
) -> Program:
    """A program from raw ``struct sock_filter`` records or from text.

    ``byteorder`` is the target's: raw records are read in it (a program for s390x is
    big-endian, as the kernel there loads it and libseccomp exports it), and text names the
    words of ``seccomp_data`` by it. Without it, this machine's byte order.

    ``kind="auto"`` takes ``data`` as raw records when it is a whole number of them and they
    form a valid program, and as text otherwise. Text never passes for records by accident: an
    opcode fits in one byte, so every record holds a NUL byte, which text does not.
    An InvalidProgramError (for raw records) or AssemblyError (for text) says what is wrong.
    """
    records = byteorder or sys.byteorder
    if kind == "raw":
        return Program.from_bytes(data, records)
    if kind == "auto":
        try:
            return Program.from_bytes(data, records)
        except InvalidProgramError:
            if b"\0" in data or not _is_utf8(data):
                raise
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AssemblyError(
            f"not UTF-8 text (invalid byte at offset {error.start})",
            line=data[: error.start].count(b"\n") + 1,
            source=source,
        ) from None
    return assemble(text, symbols=symbols, byteorder=byteorder, source=source)
