"""Decoding machine code with capstone: what the static profiler needs of each instruction.

Two passes, per ABI (:class:`X86_64`, :class:`I386`, :class:`AArch64`):

- :meth:`Machine.sweep`: a linear sweep of an executable section, fast (capstone's ``lite``
  mode: address, size, mnemonic, operand text), that reports the events of
  :class:`Event`: system call sites, direct calls and jumps, the code addresses an instruction
  computes (a function whose address is taken), loads from GOT slots (calls through the PLT
  or through a ``-fno-plt`` GOT slot), and the instructions after which control does not fall
  through.
- :meth:`Machine.values`: constant propagation backwards from one instruction for one
  register (the system call number at a site, an argument at a call), over the control-flow
  graph of the function around it (decoded with capstone's register details). The result
  (:class:`Values`) is the set of constants that reach it, the arguments of the function it
  is passed in from (the function is then a wrapper taking the number, like ``syscall(2)``),
  and why any path could not be followed.

System call instructions (the kernel's entry code, ``arch/*/entry``):

- x86-64: ``syscall``, the number in ``%rax``; it returns in ``%rax`` and clobbers ``%rcx``
  and ``%r11``;
- i386: ``int $0x80``, and ``call *%gs:0x10`` (glibc's call of the vDSO's
  ``__kernel_vsyscall`` through the TCB's ``sysinfo`` field), the number in ``%eax``;
- AArch64: ``svc #0``, the number in ``x8``.

Calling conventions (the psABIs): arguments in ``rdi rsi rdx rcx r8 r9`` (x86-64), ``x0``
to ``x7`` (AArch64), on the stack (i386: an argument passed there is not followed); a call
keeps only the callee-saved registers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final

if TYPE_CHECKING:
    from seccomp_bpf.profiling.static.elf import ElfObject

MAX_STEPS: Final = 4000  # instructions visited by one backward propagation
NUMBER: Final = 0xFFFFFFFF
"""The bits of the number register the kernel reads: an ``int`` (x86-64's
``do_syscall_x64`` casts ``regs->ax`` to ``unsigned int``, arm64's ``el0_svc_common`` takes
``int scno``); so an argument passed on in 32 bits is the caller's number too."""


@dataclass(frozen=True)
class Values:
    """What reaches a register: ``numbers``, ``arguments`` (indexes of the function's own
    arguments) and ``unknown`` (why some path gave no constant)."""

    numbers: frozenset[int] = frozenset()
    arguments: frozenset[int] = frozenset()
    unknown: tuple[str, ...] = ()

    def __or__(self, other: Values) -> Values:
        return Values(
            self.numbers | other.numbers,
            self.arguments | other.arguments,
            tuple(dict.fromkeys((*self.unknown, *other.unknown))),
        )

    def to_json(self) -> list[Any]:
        return [sorted(self.numbers), sorted(self.arguments), list(self.unknown)]

    @classmethod
    def from_json(cls, data: Any) -> Values:
        numbers, arguments, unknown = data
        return cls(
            frozenset(int(n) for n in numbers),
            frozenset(int(a) for a in arguments),
            tuple(str(u) for u in unknown),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One fact of the sweep. ``kind``: ``sys`` (a system call site), ``call``/``jump``
    (a direct transfer to ``target``), ``ref`` (``target`` is a code address the
    instruction computes), ``slot`` (``target`` is a GOT slot read; a call through it when
    ``call``), ``end`` (no fall-through after ``address``; ``target`` is the next address)."""

    kind: str
    address: int
    target: int = 0


@dataclass
class Insn:
    """One decoded instruction, as the backward propagation reads it."""

    address: int
    size: int
    mnemonic: str
    operands: str
    writes: frozenset[str]
    reads: frozenset[str] = frozenset()
    target: int | None = None  # of a direct jump or call
    flow: str = ""  # "", "jump" (unconditional), "branch" (conditional), "call", "end"
    ops: list[str] = field(default_factory=list)


_HEX: Final = r"(-?(?:0x[0-9a-f]+|\d+))"
_ADDRESS: Final = re.compile(r"^(?:0x[0-9a-f]+|\d+)$")  # capstone writes 0-9 in decimal

State = tuple[str, int, int, int]
"""What the backward walk looks for: ``mul * (register & mask) + add``."""
Transfer = tuple[Any, ...]
"""``("const", n)``, ``("reg", source, k, c, m)`` (``k * (source & m) + c``), or
``("unknown", why)``."""


def _int(text: str) -> int:
    return int(text, 0)


class Machine:
    """The ABI-independent part; subclasses say how their instructions read."""

    arch: ClassVar[str]
    number_register: ClassVar[str]
    arguments: ClassVar[tuple[str, ...]]
    callee_saved: ClassVar[frozenset[str]]
    step: ClassVar[int]  # where to resume after undecodable bytes
    padding: ClassVar[tuple[str, ...]] = ("nop",)  # what fills the space between functions
    mask: ClassVar[int]

    def __init__(self, obj: ElfObject) -> None:
        import capstone

        self.obj = obj
        self.lite = self._capstone(capstone)
        self.full = self._capstone(capstone)
        self.full.detail = True

    def _capstone(self, capstone: Any) -> Any:
        raise NotImplementedError

    # --- the sweep ----------------------------------------------------------------------------

    def sweep(
        self, data: bytes, address: int, starts: list[int], inside: dict[int, int] | None = None
    ) -> Iterator[Event]:
        """The events of the code ``data`` at ``address``; undecodable bytes are skipped to
        the next of ``starts`` (sorted function starts) or by one instruction step. A start
        that falls inside an instruction is put in ``inside``, with the address of the next
        instruction (glibc's signal trampoline's FDE starts one byte early, on purpose)."""
        import bisect

        end = address + len(data)
        at = address
        ended = -1  # the address after the last flow-ending instruction (and its padding)
        following = bisect.bisect_left(starts, address)  # the next start to check
        while at < end:
            last = at
            for where, size, mnemonic, operands in self.lite.disasm_lite(data[at - address :], at):
                while following < len(starts) and starts[following] < where + size:
                    if starts[following] > where and inside is not None:
                        inside[starts[following]] = where + size
                    following += 1
                if where == ended and self.is_padding(mnemonic, operands):
                    ended = where + size
                    yield Event("end", where, ended)
                else:
                    for event in self.events(where, size, mnemonic, operands):
                        if event.kind == "end":
                            ended = event.target
                        yield event
                last = where + size
            if last >= end:
                break
            i = bisect.bisect_right(starts, last)
            resume = starts[i] if i < len(starts) else end
            at = max(resume if resume < end else end, last + self.step)
            yield Event("end", last, last)

    def events(self, where: int, size: int, mnemonic: str, operands: str) -> Iterator[Event]:
        raise NotImplementedError

    def is_padding(self, mnemonic: str, operands: str) -> bool:
        """An instruction assemblers put between functions (and after jumps) to align."""
        return mnemonic.startswith(self.padding)

    # --- backward propagation -----------------------------------------------------------------

    def decode(self, data: bytes, address: int) -> list[Insn]:
        """The instructions of ``data`` (one function) with their register effects."""
        insns: list[Insn] = []
        for raw in self.full.disasm(data, address):
            read, written = raw.regs_access()
            insn = Insn(
                raw.address,
                raw.size,
                raw.mnemonic,
                raw.op_str,
                frozenset(self.canonical(raw.reg_name(r)) for r in written),
                frozenset(self.canonical(raw.reg_name(r)) for r in read),
            )
            self.describe(insn)
            insns.append(insn)
        return insns

    def canonical(self, register: str) -> str:
        return register

    def describe(self, insn: Insn) -> None:
        """Set ``flow``, ``target``, and the implicit writes capstone does not list."""
        raise NotImplementedError

    def definition(self, insn: Insn, register: str) -> list[Transfer] | None:
        """How ``insn`` sets ``register`` (None when it does not): each :data:`Transfer` is
        one value it may get, a constant or ``k * (source & m) + c`` of a register before."""
        raise NotImplementedError

    def values(self, insns: list[Insn], index: int, register: str, entry: int) -> Values:
        """What reaches ``register`` just before ``insns[index]``, in the function starting at
        ``entry`` whose instructions are ``insns``.

        The walk goes backwards along every path, carrying what is looked for as
        ``mul * (reg & mask) + add`` of one register (a copy changes the register, ``add``,
        ``lea`` and shifts change ``mul`` and ``add``, a ``setcc`` of the low byte forks into
        its two values), until a constant defines it, the function's entry (an argument, or
        unknown), or an instruction that computes it otherwise (unknown).
        """
        position = {insn.address: i for i, insn in enumerate(insns)}
        predecessors: dict[int, list[int]] = {}
        for i, insn in enumerate(insns):
            if insn.flow in ("jump", "branch") and insn.target in position:
                predecessors.setdefault(position[insn.target], []).append(i)
        result = Values()
        full = self.mask
        work: list[tuple[int, State]] = []  # (i, state): looked for just after insns[i]

        def before(at: int, state: State) -> None:
            """Go on from just before ``insns[at]``: to each instruction control comes from
            (the one before when it falls through, and the jumps to it), or to the entry."""
            nonlocal result
            reg, mul, add, mask = state
            sources = list(predecessors.get(at, ()))
            if insns[at].address == entry:
                if reg in self.arguments and (mul, add) == (1, 0) and mask & NUMBER == NUMBER:
                    result |= Values(arguments=frozenset({self.arguments.index(reg)}))
                elif reg in self.arguments:
                    result |= Values(unknown=(f"computed from argument {reg}",))
                else:
                    result |= Values(unknown=(f"{reg} at the function's entry",))
            elif at > 0 and insns[at - 1].flow not in ("jump", "end"):
                sources.append(at - 1)
            elif not sources and not self.is_padding(insns[at].mnemonic, insns[at].operands):
                # (padding after a jump is never run: nothing to follow there)
                result |= Values(
                    unknown=(f"code at {insns[at].address:#x} reached only by an indirect jump",)
                )
            work.extend((source, state) for source in sources)

        before(index, (register, 1, 0, full))
        seen: set[tuple[int, State]] = set()
        while work:
            at, state = work.pop()
            if (at, state) in seen:
                continue
            seen.add((at, state))
            if len(seen) > MAX_STEPS:
                return result | Values(unknown=("too many paths",))
            reg, mul, add, mask = state
            transfers = self._step(insns[at], reg)
            if transfers is None:
                before(at, state)
                continue
            for transfer in transfers:
                if transfer[0] == "const":
                    number = (mul * (transfer[1] & mask) + add) & NUMBER
                    result |= Values(numbers=frozenset({number}))
                elif transfer[0] == "reg":
                    _, source, k, c, m = transfer
                    if mask == full:
                        before(at, (source, mul * k & full, (add + mul * c) & full, m))
                    elif k == 1 and c & m == 0 and c < (m & -m):
                        # source & m and c have no bit in common: the mask applies to each
                        before(at, (source, mul, (add + mul * (c & mask)) & full, m & mask))
                    else:
                        result |= Values(unknown=(f"{reg} computed at {insns[at].address:#x}",))
                else:
                    result |= Values(unknown=(str(transfer[1]),))
        return result

    def _step(self, insn: Insn, reg: str) -> list[Transfer] | None:
        """The effect of ``insn`` on ``reg`` going backwards (see :meth:`definition`)."""
        if insn.flow == "call":
            if reg in self.callee_saved:
                return None
            return [("unknown", f"{reg} set by a call at {insn.address:#x}")]
        found = self.definition(insn, reg)
        if found is not None:
            return found
        if reg in insn.writes:
            return [("unknown", f"{reg} computed at {insn.address:#x} ({insn.mnemonic})")]
        return None

    def passed(self, index: int) -> str:
        """Where a caller puts argument ``index`` just before its call instruction."""
        return self.arguments[index]

    # --- call sites ---------------------------------------------------------------------------

    def calls_to(self, insns: list[Insn], targets: set[int], slots: set[int]) -> list[int]:
        """Indexes of the calls and jumps in ``insns`` to one of ``targets`` or through one
        of the GOT ``slots``."""
        found = []
        for i, insn in enumerate(insns):
            if insn.flow not in ("call", "jump", "branch"):
                continue
            if insn.target in targets or self.slot_of(insns, i) in slots:
                found.append(i)
        return found

    def slot_of(self, insns: list[Insn], index: int) -> int | None:
        """The GOT slot an indirect call or jump at ``index`` reads, when it says."""
        return None


# --- x86 --------------------------------------------------------------------------------------

_X86_FAMILY: Final = {
    **{f"{p}{s}": f"r{p}x" for p in "abcd" for s in ("l", "h", "x")},
    **{f"e{p}x": f"r{p}x" for p in "abcd"},
    **{n: "r" + n[-2:] for n in ("si", "di", "bp", "sp", "sil", "dil", "bpl", "spl")},
    **{f"e{n}": f"r{n}" for n in ("si", "di", "bp", "sp")},
    **{f"r{n}{s}": f"r{n}" for n in range(8, 16) for s in ("b", "w", "d")},
}
_X86_FAMILY.update({"sil": "rsi", "dil": "rdi", "bpl": "rbp", "spl": "rsp"})
_X86_LOW_BYTES: Final = {
    "al": "rax",
    "bl": "rbx",
    "cl": "rcx",
    "dl": "rdx",
    "sil": "rsi",
    "dil": "rdi",
    **{f"r{n}b": f"r{n}" for n in range(8, 16)},
}
_LEA_TERM: Final = re.compile(r"^(\w+)(?:\*(\d))?$")


def _lea(memory: str, machine: Machine) -> tuple[str, int, int] | None:
    """``[base + index*scale + disp]`` of one register only, as (register, k, c):
    the address is ``k * register + c``."""
    text = memory.strip()
    if not (text.startswith("[") and text.endswith("]")) or "rip" in text:
        return None
    register: str | None = None
    k = c = 0
    for sign, term in re.findall(r"([+-]?)\s*([\w*]+)", text[1:-1]):
        factor = -1 if sign == "-" else 1
        if term[0].isdigit():
            c += factor * _int(term)
            continue
        match = _LEA_TERM.match(term)
        if match is None:
            return None
        name = machine.canonical(match.group(1))
        if register not in (None, name) or factor < 0:
            return None
        register = name
        k += int(match.group(2) or 1)
    return (register, k, c) if register is not None else None


_STACK_WORD: Final = re.compile(r"^dword ptr \[esp(?: \+ (0x[0-9a-f]+|\d+))?\]$")
_GOT_RELATIVE: Final = re.compile(r"\[(e[a-z]{2}) ([+-]) (0x[0-9a-f]+|\d+)\]")
_STACK_LOAD: Final = re.compile(r"^(\w+), dword ptr \[esp(?: \+ (0x[0-9a-f]+|\d+))?\]$")
_STACK_STORE: Final = re.compile(r"^dword ptr \[esp(?: \+ (0x[0-9a-f]+|\d+))?\], (\S+)$")
_X86_REGISTERS: Final = frozenset(_X86_FAMILY) | frozenset(_X86_FAMILY.values())
_RIP: Final = re.compile(r"\[rip ([+-]) (0x[0-9a-f]+|\d+)\]")
_CONST: Final = re.compile(r"^(\w+), " + _HEX + "$")
_REGS: Final = re.compile(r"^(\w+), (\w+)$")
_ABSOLUTE_SLOT: Final = re.compile(r"ptr (?:ds:)?\[(0x[0-9a-f]+|\d+)\]")
_GOT_SLOT: Final = re.compile(r"ptr \[e[a-z]{2} ([+-]) (0x[0-9a-f]+|\d+)\]")
_BRANCHES: Final = frozenset(
    (
        "jo",
        "jno",
        "jb",
        "jae",
        "je",
        "jne",
        "jbe",
        "ja",
        "js",
        "jns",
        "jp",
        "jnp",
        "jl",
        "jge",
        "jle",
        "jg",
        "jrcxz",
        "jecxz",
        "jcxz",
        "loop",
        "loope",
        "loopne",
    )
)
_ENDS: Final = frozenset(("ret", "retf", "hlt", "ud2", "int3", "iretq", "iretd", "sysret"))


class X86_64(Machine):  # noqa: N801 - the ABI's name
    arch = "x86_64"
    number_register = "rax"
    arguments: ClassVar[tuple[str, ...]] = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
    callee_saved = frozenset(("rbx", "rbp", "rsp", "r12", "r13", "r14", "r15"))
    step = 1
    mask = (1 << 64) - 1
    padding = ("nop", "int3", "data16", "cs nop")
    syscall_writes: ClassVar[frozenset[str]] = frozenset(("rax", "rcx", "r11"))

    def _capstone(self, capstone: Any) -> Any:
        return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)

    def canonical(self, register: str) -> str:
        return _X86_FAMILY.get(register, register)

    def is_padding(self, mnemonic: str, operands: str) -> bool:
        # Besides nop: ``xchg ax, ax`` and ``lea esi, [esi + eiz]`` (gas's i386 fillers).
        if mnemonic == "xchg":
            return operands == "ax, ax"
        if mnemonic == "lea":
            destination, _, memory = operands.partition(", ")
            return memory.replace(" ", "").startswith(
                (f"[{destination}]", f"[{destination}+eiz")
            ) and memory.replace(" ", "").rstrip("]").endswith(("]", "+0", "*1", destination))
        return super().is_padding(mnemonic, operands)

    def is_syscall(self, mnemonic: str, operands: str) -> bool:
        return mnemonic == "syscall"

    def memory(self, where: int, size: int, operands: str) -> int | None:
        match = _RIP.search(operands)
        if match is None:
            return None
        displacement = _int(match.group(2))
        return where + size + (displacement if match.group(1) == "+" else -displacement)

    def events(self, where: int, size: int, mnemonic: str, operands: str) -> Iterator[Event]:
        name = mnemonic.rsplit(" ", 1)[-1]  # bnd jmp, notrack jmp, rep ret
        if self.is_syscall(name, operands):
            yield Event("sys", where)
            return
        if name in ("call", "jmp") or name in _BRANCHES:
            if _ADDRESS.match(operands):
                kind = "call" if name == "call" else "jump"
                yield Event(kind, where, _int(operands))
            else:
                slot = self.memory(where, size, operands)
                if slot is not None:
                    yield Event("slot", where, slot)
            if name == "jmp":
                yield Event("end", where, where + size)
            return
        if name in _ENDS:
            yield Event("end", where, where + size)
            return
        if "[" in operands:
            address = self.memory(where, size, operands)
            if address is not None:
                if name == "lea":
                    yield Event("ref", where, address)
                else:
                    yield Event("slot", where, address)
                return
        if self.obj.kind == "exec":
            # A program at a fixed address names its functions by their absolute address.
            for text in re.findall(r"0x[0-9a-f]+", operands):
                value = int(text, 16)
                if self.obj.in_code(value):
                    yield Event("ref", where, value)

    def describe(self, insn: Insn) -> None:
        name = insn.mnemonic.rsplit(" ", 1)[-1]
        if name in ("call", "jmp") or name in _BRANCHES:
            if _ADDRESS.match(insn.operands):
                insn.target = _int(insn.operands)
            insn.flow = "call" if name == "call" else "jump" if name == "jmp" else "branch"
            if name == "jmp" and insn.target is None and self.slot_of([insn], 0) is None:
                insn.flow = "end"  # through a register or a table: unknown successors
            if self.is_syscall(name, insn.operands):
                insn.flow = ""
        elif name in _ENDS:
            insn.flow = "end"
        if self.is_syscall(name, insn.operands):
            insn.writes = insn.writes | self.syscall_writes

    def definition(self, insn: Insn, register: str) -> list[Transfer] | None:
        if register not in insn.writes:
            return None
        name = insn.mnemonic
        operands = insn.operands
        first = operands.split(",", 1)[0].strip()
        if self.canonical(first) != register:
            return None  # written implicitly: unknown (see _step)
        low = _X86_LOW_BYTES.get(first)
        whole = (
            first.startswith(("e", "r"))
            and first not in ("rip",)
            and not first.endswith(("b", "w"))
        )  # a 32- or 64-bit register: a write sets (or clears) its upper half
        match = _CONST.match(operands)
        if match and name in ("mov", "movabs"):
            if not whole:
                return [("unknown", f"a part of {register} set at {insn.address:#x}")]
            value = _int(match.group(2))
            if first.startswith("e") or first.endswith("d"):
                value &= 0xFFFFFFFF  # a 32-bit write clears the upper half
            return [("const", value)]
        if match and name in ("add", "sub") and whole:
            value = _int(match.group(2)) * (1 if name == "add" else -1)
            return [("reg", register, 1, value, self._width(first))]
        if match and name in ("shl", "sal") and whole:
            return [("reg", register, 1 << _int(match.group(2)), 0, self._width(first))]
        if name in ("inc", "dec") and whole and operands == first:
            return [("reg", register, 1, 1 if name == "inc" else -1, self._width(first))]
        if name.startswith("set") and low is not None and operands == first:
            # The low byte becomes 0 or 1; the rest of the register stays.
            return [("reg", register, 1, bit, self.mask & ~0xFF) for bit in (0, 1)]
        if name == "lea" and whole:
            found = _lea(operands.split(",", 1)[1], self)
            if found is not None:
                source, k, c = found
                return [("reg", source, k, c, self._width(first))]
        match = _REGS.match(operands)
        if match:
            source = match.group(2)
            if name in ("xor", "sub") and first == source and whole:
                return [("const", 0)]
            if source in _X86_REGISTERS and whole:
                if name == "mov" or (name == "movsxd" and source.startswith("e")):
                    mask = (
                        0xFFFFFFFF
                        if source.startswith("e") or source.endswith("d")
                        else (self.mask)
                    )
                    if name == "movsxd":
                        return [("unknown", f"{register} sign-extended at {insn.address:#x}")]
                    return [("reg", self.canonical(source), 1, 0, mask)]
                if name == "movzx":
                    mask = 0xFF if source in _X86_LOW_BYTES or source.endswith("b") else 0xFFFF
                    return [("reg", self.canonical(source), 1, 0, mask)]
                if name.startswith("cmov"):
                    mask = self._width(first)
                    return [
                        ("reg", register, 1, 0, mask),
                        ("reg", self.canonical(source), 1, 0, mask),
                    ]
        return None

    def _width(self, register: str) -> int:
        return 0xFFFFFFFF if register.startswith("e") or register.endswith("d") else self.mask

    def slot_of(self, insns: list[Insn], index: int) -> int | None:
        insn = insns[index]
        return self.memory(insn.address, insn.size, insn.operands)


class I386(X86_64):
    arch = "i386"
    number_register = "eax"
    # The psABI's arguments are on the stack: ``stack:N`` is the word at ``N(%esp)`` (at the
    # entry, 4(%esp) is the first one, above the return address). glibc's internal helpers
    # that take the number in %eax (``__libc_do_syscall``) are regparm functions: eax,
    # edx, ecx come after.
    arguments = (*(f"stack:{4 * n}" for n in range(1, 7)), "eax", "edx", "ecx")
    callee_saved = frozenset(("ebx", "ebp", "esp", "esi", "edi"))
    mask = 0xFFFFFFFF
    syscall_writes = frozenset(("eax",))

    def _capstone(self, capstone: Any) -> Any:
        return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)

    def canonical(self, register: str) -> str:
        family = _X86_FAMILY.get(register, register)
        return (
            "e" + family[1:]
            if family.startswith("r")
            and family[1:] in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp")
            else family
        )

    def is_syscall(self, mnemonic: str, operands: str) -> bool:
        return (mnemonic == "int" and operands == "0x80") or (
            mnemonic == "call" and operands.replace(" ", "") == "dwordptrgs:[0x10]"
        )

    def memory(self, where: int, size: int, operands: str) -> int | None:
        match = _ABSOLUTE_SLOT.search(operands)
        if match is not None:
            return _int(match.group(1))
        match = _GOT_SLOT.search(operands)
        if match is not None and self.obj.got_base is not None:
            # PIC code addresses its GOT and its own code from the GOT's address, which the
            # psABI has it keep in a register (%ebx at PLT calls): ``[reg +/- disp]``.
            displacement = _int(match.group(2))
            return self.obj.got_base + (displacement if match.group(1) == "+" else -displacement)
        return None

    def describe(self, insn: Insn) -> None:
        super().describe(insn)
        if insn.flow == "call" and insn.target is not None:
            register = self.thunk(insn.target)
            if register is not None:
                # ``__x86.get_pc_thunk.REG``: the call only sets REG (to its return address).
                insn.flow = ""
                insn.writes = frozenset((register,))

    def passed(self, index: int) -> str:
        # Before the call pushes the return address, the first argument is at 0(%esp).
        where = self.arguments[index]
        if where.startswith("stack:"):
            return f"stack:{int(where[6:]) - 4}"
        return where

    def _step(self, insn: Insn, reg: str) -> list[Transfer] | None:
        if reg.startswith("stack:") and insn.flow == "call":
            return None  # the call pops what it pushed; the caller's words stay
        return super()._step(insn, reg)

    def definition(self, insn: Insn, register: str) -> list[Transfer] | None:
        if register.startswith("stack:"):
            return self._stack(insn, int(register[6:]))
        match = _STACK_LOAD.match(insn.operands)
        if (
            match
            and insn.mnemonic == "mov"
            and self.canonical(match.group(1)) == register
            and match.group(1).startswith("e")
        ):
            return [("reg", f"stack:{_int(match.group(2) or '0')}", 1, 0, self.mask)]
        return super().definition(insn, register)

    def _stack(self, insn: Insn, offset: int) -> list[Transfer] | None:
        """The word at ``offset(%esp)`` after ``insn``: where it was before it."""
        name, operands = insn.mnemonic, insn.operands
        if name == "push":
            if offset >= 4:
                return [("reg", f"stack:{offset - 4}", 1, 0, self.mask)]
            if operands.startswith(("0x", "-")) or operands.isdigit():
                return [("const", _int(operands))]
            if operands in _X86_REGISTERS:
                return [("reg", self.canonical(operands), 1, 0, self.mask)]
            match = _STACK_WORD.match(operands)
            if match:  # passed on from the caller's own stack words
                return [("reg", f"stack:{_int(match.group(1) or '0')}", 1, 0, self.mask)]
            return [("unknown", f"an argument pushed from memory at {insn.address:#x}")]
        if name == "pop":
            return [("reg", f"stack:{offset + 4}", 1, 0, self.mask)]
        match = _CONST.match(operands)
        if operands.startswith("esp,"):
            if match and name in ("sub", "add"):
                moved = _int(match.group(2)) * (-1 if name == "sub" else 1)
                if offset + moved < 0:
                    return [("unknown", f"a word below the stack at {insn.address:#x}")]
                return [("reg", f"stack:{offset + moved}", 1, 0, self.mask)]
            return [("unknown", f"%esp changed at {insn.address:#x}")]
        match = _STACK_STORE.match(operands)
        if match and name == "mov" and _int(match.group(1) or "0") == offset:
            value = match.group(2)
            if value in _X86_REGISTERS:
                return [("reg", self.canonical(value), 1, 0, self.mask)]
            if value.startswith(("0x", "-")) or value.isdigit():
                return [("const", _int(value))]
            return [("unknown", f"an argument stored at {insn.address:#x}")]
        if "esp" in insn.writes and name not in ("call", "ret"):
            return [("unknown", f"%esp changed at {insn.address:#x} ({name})")]
        return None

    def thunk(self, address: int) -> str | None:
        """The register a ``mov REG, [esp]; ret`` function at ``address`` sets, or None."""
        for section in self.obj.code:
            if section.address <= address and address + 4 <= section.end:
                code = section.data[address - section.address : address - section.address + 4]
                if code[0] == 0x8B and code[2:] == b"\x24\xc3" and code[1] & 0xC7 == 0x04:
                    return ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")[
                        code[1] >> 3 & 7
                    ]
        return None

    def events(self, where: int, size: int, mnemonic: str, operands: str) -> Iterator[Event]:
        yield from super().events(where, size, mnemonic, operands)
        match = _GOT_RELATIVE.search(operands) if mnemonic == "lea" else None
        if match is not None and self.obj.got_base is not None:
            # PIC code computes its functions' addresses from the GOT's (``@GOTOFF``), in
            # whatever register holds it: any such sum that lands in code counts.
            displacement = _int(match.group(3)) * (1 if match.group(2) == "+" else -1)
            address = self.obj.got_base + displacement
            if self.obj.in_code(address):
                yield Event("ref", where, address)


# --- AArch64 ----------------------------------------------------------------------------------

_A64_BRANCHES: Final = frozenset(("cbz", "cbnz", "tbz", "tbnz"))
_A64_TARGET: Final = re.compile(r"#(0x[0-9a-f]+|\d+)$")
_A64_MEMORY: Final = re.compile(r"^(\w+), \[(\w+)(?:, #(-?0x[0-9a-f]+|-?\d+))?\]$")
_A64_ADD: Final = re.compile(r"^(\w+), (\w+), #(0x[0-9a-f]+|\d+)$")
_A64_CONST: Final = re.compile(r"^(\w+), #" + _HEX + "$")
_A64_NO_WRITE: Final = (
    "st",
    "cmp",
    "cmn",
    "tst",
    "ccmp",
    "ccmn",
    "prfm",
    "dmb",
    "dsb",
    "isb",
    "hint",
    "nop",
    "b",
    "bl",
    "br",
    "blr",
    "ret",
    "cb",
    "tb",
    "msr",
    "sys",
    "fcmp",
    "svc",
)


class AArch64(Machine):
    arch = "aarch64"
    number_register = "x8"
    arguments = tuple(f"x{n}" for n in range(8))
    callee_saved = frozenset(f"x{n}" for n in (*range(19, 31), 31)) | {"sp"}
    step = 4
    mask = (1 << 64) - 1

    def _capstone(self, capstone: Any) -> Any:
        return capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)

    def canonical(self, register: str) -> str:
        if register in ("fp", "x29", "w29"):
            return "x29"
        if register in ("lr", "x30", "w30"):
            return "x30"
        if register[:1] in ("w", "x") and register[1:].isdigit():
            return "x" + register[1:]
        return register

    def sweep(
        self, data: bytes, address: int, starts: list[int], inside: dict[int, int] | None = None
    ) -> Iterator[Event]:
        self.pages: dict[str, int] = {}
        yield from super().sweep(data, address, starts, inside)

    def events(self, where: int, size: int, mnemonic: str, operands: str) -> Iterator[Event]:
        pages = self.pages
        if mnemonic == "svc":
            yield Event("sys", where)
            return
        if mnemonic in ("b", "bl") or mnemonic.startswith("b.") or mnemonic in _A64_BRANCHES:
            match = _A64_TARGET.search(operands)
            if match:
                kind = "call" if mnemonic == "bl" else "jump"
                yield Event(kind, where, _int(match.group(1)))
            if mnemonic == "b":
                yield Event("end", where, where + size)
            if mnemonic == "bl":
                pages.pop("x30", None)
            return
        if mnemonic in ("br", "ret", "brk", "udf", "eret") or mnemonic == "hlt":
            yield Event("end", where, where + size)
            return
        first = operands.split(",", 1)[0].strip()
        destination = self.canonical(first)
        if mnemonic == "adrp":
            pages[destination] = _int(operands.rsplit("#", 1)[1])
            return
        if mnemonic == "adr":
            yield Event("ref", where, _int(operands.rsplit("#", 1)[1]))
            pages.pop(destination, None)
            return
        if mnemonic == "add":
            match = _A64_ADD.match(operands)
            if match and self.canonical(match.group(2)) in pages:
                value = pages[self.canonical(match.group(2))] + _int(match.group(3))
                if self.obj.in_code(value):
                    yield Event("ref", where, value)
                pages[destination] = value
                return
        if mnemonic.startswith("ld"):
            match = _A64_MEMORY.match(operands)
            if match and self.canonical(match.group(2)) in pages:
                offset = _int(match.group(3)) if match.group(3) else 0
                yield Event("slot", where, pages[self.canonical(match.group(2))] + offset)
        if not mnemonic.startswith(_A64_NO_WRITE) or mnemonic.startswith("stl"):
            pages.pop(destination, None)
            if mnemonic.startswith("ldp"):
                pages.pop(self.canonical(operands.split(",")[1].strip()), None)

    def describe(self, insn: Insn) -> None:
        name = insn.mnemonic
        match = _A64_TARGET.search(insn.operands)
        if name in ("b", "bl") or name.startswith("b.") or name in _A64_BRANCHES:
            insn.target = _int(match.group(1)) if match else None
            insn.flow = "call" if name == "bl" else "jump" if name == "b" else "branch"
        elif name == "blr":
            insn.flow = "call"
        elif name in ("br", "ret", "brk", "udf", "eret", "hlt"):
            insn.flow = "end"
        if name == "svc":
            insn.writes = frozenset(("x0",))  # the result; capstone lists lr

    def definition(self, insn: Insn, register: str) -> list[Transfer] | None:
        if register not in insn.writes:
            return None
        name = insn.mnemonic
        parts = [p.strip() for p in insn.operands.split(",")]
        if not parts or self.canonical(parts[0]) != register:
            return None
        width = 0xFFFFFFFF if parts[0].startswith("w") else self.mask
        if name in ("mov", "movz") and len(parts) == 2 and parts[1].startswith("#"):
            return [("const", _int(parts[1][1:]) & width)]
        if name == "mov" and len(parts) == 2:
            if parts[1] in ("xzr", "wzr"):
                return [("const", 0)]
            return [("reg", self.canonical(parts[1]), 1, 0, width)]
        if name in ("add", "sub") and len(parts) == 3 and parts[2].startswith("#"):
            value = _int(parts[2][1:]) * (1 if name == "add" else -1)
            return [("reg", self.canonical(parts[1]), 1, value, width)]
        if name == "lsl" and len(parts) == 3 and parts[2].startswith("#"):
            return [("reg", self.canonical(parts[1]), 1 << _int(parts[2][1:]), 0, width)]
        if name == "cset" and len(parts) == 2:
            return [("const", 0), ("const", 1)]
        if name == "cinc" and len(parts) == 3:
            source = self.canonical(parts[1])
            return [("reg", source, 1, 0, width), ("reg", source, 1, 1, width)]
        if name in ("csel", "csinc") and len(parts) == 4:
            second = 1 if name == "csinc" else 0
            if parts[2] in ("xzr", "wzr"):
                return [("reg", self.canonical(parts[1]), 1, 0, width), ("const", second)]
            return [
                ("reg", self.canonical(parts[1]), 1, 0, width),
                ("reg", self.canonical(parts[2]), 1, second, width),
            ]
        return None


MACHINES: Final = {"x86_64": X86_64, "i386": I386, "aarch64": AArch64}


def machine_for(obj: ElfObject) -> Machine:
    machine: Machine = MACHINES[obj.arch](obj)
    return machine
