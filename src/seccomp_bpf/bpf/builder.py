"""``ProgramBuilder``: write classic BPF with labels; offsets are the builder's business.

Code is emitted in order. Jumps name a :class:`Label`; a label is bound to the position of the
next instruction emitted. Jumps go forward only (seccomp programs cannot loop), which
:meth:`ProgramBuilder.build` checks. ``build`` turns the labelled code into an intermediate form
whose jumps point at instruction indices, runs the optimizer passes
(:mod:`seccomp_bpf.bpf.optimizer`) to a fixpoint, and lays the result out, inserting ``JA``
trampolines where a conditional jump would need an offset above 255 (``jt``/``jf`` are 8 bits in
``struct sock_filter``).
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.errors import InvalidProgramError

_MAX_OFFSET = 0xFF  # jt and jf are __u8 in struct sock_filter (<linux/filter.h>)

_label_ids = itertools.count()
_LD_ABS = op.BPF_LD | op.BPF_W | op.BPF_ABS
_RET_K = op.BPF_RET | op.BPF_K
_JA = op.BPF_JMP | op.BPF_JA


def _word(k: int) -> int:
    if not 0 <= k <= 0xFFFFFFFF:
        raise ValueError(f"k must fit in 32 bits, not {k:#x}")
    return k
_CONDITIONS = frozenset((op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET))


class Label:
    """A place in a program under construction. Create with :meth:`ProgramBuilder.label`."""

    __slots__ = ("_id", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._id = next(_label_ids)

    def __repr__(self) -> str:
        return f"<Label {self.name or self._id}>"


@dataclass(slots=True)
class Node:
    """An instruction whose jumps point at node indices (the optimizer's form).

    For a conditional jump ``jt`` and ``jf`` are the indices of the targets; for ``JA`` the
    target is ``jt`` (and ``jf`` repeats it); other instructions have ``jt = jf = -1`` and fall
    through to the next node. Jumps always point forward.
    """

    code: int
    k: int
    jt: int = -1
    jf: int = -1

    @property
    def is_conditional(self) -> bool:
        return (self.code & 0x07) == op.BPF_JMP and (self.code & 0xF0) != op.BPF_JA

    @property
    def is_ja(self) -> bool:
        return self.code == op.BPF_JMP | op.BPF_JA

    @property
    def is_jump(self) -> bool:
        return (self.code & 0x07) == op.BPF_JMP

    @property
    def is_return(self) -> bool:
        return (self.code & 0x07) == op.BPF_RET

    def targets(self, index: int) -> tuple[int, ...]:
        """Indices this node passes control to when it sits at ``index``."""
        if self.is_conditional:
            return (self.jt, self.jf)
        if self.is_ja:
            return (self.jt,)
        if self.is_return:
            return ()
        return (index + 1,)


# An instruction not laid out yet: (code, k, jt label, jf label); None is the next instruction.
_Pending = tuple[int, int, "Label | None", "Label | None"]


class ProgramBuilder:
    """Build a :class:`Program` from instructions and labels.

    >>> b = ProgramBuilder()
    >>> allow = b.label("allow")
    >>> b.load(4)
    >>> b.jump_if(op.BPF_JEQ, 0xC000003E, allow, None)
    >>> b.ret(op.SECCOMP_RET_KILL_PROCESS)
    >>> b.bind(allow)
    >>> b.ret(op.SECCOMP_RET_ALLOW)
    >>> len(b.build())
    4
    """

    def __init__(self) -> None:
        self._code: list[_Pending] = []
        self._bound: dict[Label, int] = {}

    def __len__(self) -> int:
        return len(self._code)

    # -- labels ----------------------------------------------------------------------------------

    def label(self, name: str = "") -> Label:
        return Label(name)

    def bind(self, label: Label) -> None:
        """Place ``label`` before the next instruction emitted."""
        if label in self._bound:
            raise ValueError(f"{label!r} is already bound")
        self._bound[label] = len(self._code)

    def is_bound(self, label: Label) -> bool:
        return label in self._bound

    # -- instructions ----------------------------------------------------------------------------

    def emit(self, instruction: Instruction) -> None:
        """Append a non-jump instruction."""
        if (instruction.code & 0x07) == op.BPF_JMP:
            raise ValueError("use jump() or jump_if() for jumps: they take labels")
        self._code.append((instruction.code, instruction.k, None, None))

    def load(self, offset: int) -> None:
        """``A = data[offset]`` (32-bit word of ``struct seccomp_data``)."""
        self._code.append((_LD_ABS, _word(offset), None, None))

    def alu(self, operation: int, k: int) -> None:
        """``A = A <operation> k`` (``BPF_ALU | operation | BPF_K``)."""
        self.emit(Instruction(op.BPF_ALU | operation | op.BPF_K, 0, 0, k))

    def ret(self, k: int) -> None:
        self._code.append((_RET_K, _word(k), None, None))

    def jump(self, target: Label) -> None:
        """``goto target``."""
        self._check_forward(target)
        self._code.append((_JA, 0, target, target))

    def jump_if(
        self, operation: int, k: int, jt: Label | None, jf: Label | None, *, x: bool = False
    ) -> None:
        """``if (A <operation> k) goto jt else goto jf``; ``None`` means the next instruction.

        ``operation`` is ``BPF_JEQ``, ``BPF_JGT``, ``BPF_JGE`` or ``BPF_JSET``; with ``x=True`` the
        comparison is against ``X`` (and ``k`` must be 0).
        """
        if operation not in _CONDITIONS:
            raise ValueError(f"not a conditional jump operation: {operation:#x}")
        bound = self._bound
        if (jt is not None and jt in bound) or (jf is not None and jf in bound):
            for target in (jt, jf):
                if target is not None:
                    self._check_forward(target)
        source = op.BPF_X if x else op.BPF_K
        self._code.append((op.BPF_JMP | operation | source, k, jt, jf))

    def _check_forward(self, target: Label) -> None:
        if target in self._bound and self._bound[target] <= len(self._code):
            raise ValueError(f"jump to {target!r} would go backwards: BPF jumps only go forward")

    # -- output ----------------------------------------------------------------------------------

    def nodes(self) -> list[Node]:
        """The code with jumps resolved to node indices (before optimization)."""
        count = len(self._code)
        bound = self._bound
        nodes = []
        for index, (code, k, jt, jf) in enumerate(self._code):
            if (code & 0x07) == op.BPF_JMP:
                targets = []
                for label in (jt, jf):
                    if label is None:
                        target = index + 1
                    elif label in bound:
                        target = bound[label]
                    else:
                        raise ValueError(f"{label!r} is used but never bound")
                    if target >= count:
                        raise ValueError(f"instruction {index} jumps past the end of the program")
                    if target <= index:  # a label bound earlier than its jump was emitted
                        raise ValueError(f"instruction {index} jumps backwards")
                    targets.append(target)
                nodes.append(Node(code, k, targets[0], targets[1]))
            else:
                nodes.append(Node(code, k))
        return nodes

    def build(self, *, optimize: bool = True) -> Program:
        """Resolve labels, optimize (unless told not to), lay out, and validate."""
        nodes = self.nodes()
        if optimize:
            from seccomp_bpf.bpf.optimizer import optimize as run_passes

            nodes = run_passes(nodes)
        return Program(layout(nodes))


def layout(nodes: list[Node]) -> list[Instruction]:
    """Turn nodes into instructions; conditional jumps reach at most 255 instructions ahead.

    First with shared *islands* (:func:`_layout_with_islands`): one copy of a far ``RET`` (or
    one ``JA`` to a far target) serves every jump that needs it, as libseccomp places copies of
    its returns along long chains. When islands cannot be placed (a long run of instructions
    that fall through into each other leaves no room), with one ``JA`` trampoline per far edge
    (:func:`_layout_with_trampolines`), which always works.
    """
    for reserve in (4, 24, 96):
        out = _layout_with_islands(nodes, reserve)
        if out is not None:
            break
    else:
        out = _layout_with_trampolines(nodes)
    if len(out) > op.BPF_MAXINSNS:
        raise InvalidProgramError(
            f"{len(out)} instructions is more than the kernel's limit of {op.BPF_MAXINSNS}"
        )
    return out


def _layout_with_islands(nodes: list[Node], reserve: int) -> list[Instruction] | None:
    """Lay ``nodes`` out in order, inserting islands where jumps would reach too far.

    An island can go wherever control does not fall through: after a jump (whose offsets are
    computed at the end, so its own fall-through edge skips the island) or a return. Walking
    the nodes in order, every conditional edge to a node not placed yet is *pending*; it must
    land within 256 instructions of its jump. At each place where an island can go, a target
    whose earliest pending edge is within ``reserve`` (plus one per pending target, the room
    islands placed together take) of its limit, and that does not come before the limit
    anyway, gets one: a copy of its ``RET``, or a ``JA`` to it. All its pending edges then
    land there.
    Returns ``None`` when an edge still ends up too far (the caller falls back).
    """
    count = len(nodes)
    # out: (code, k, jt target, jf target) with targets as output positions, resolved at the end
    out: list[list[int]] = []
    position = [0] * count
    # target node -> [(output position of the jump, 0 for jt or 1 for jf)]
    pending: dict[int, list[tuple[int, int]]] = {}
    # (output position of the earliest pending jump, target), stale entries skipped
    deadlines: list[tuple[int, int]] = []
    heappush = heapq.heappush
    jumped_to: set[int] = set()  # nodes a JA goes to
    barrier = True
    for index, node in enumerate(nodes):
        if barrier and deadlines and deadlines[0][0] + 256 - len(out) <= reserve + len(pending):
            here = len(out)
            room = reserve + len(pending)
            urgent = []
            while deadlines and deadlines[0][0] + 256 - here <= room:
                earliest, target = heapq.heappop(deadlines)
                edges = pending.get(target)
                if edges is not None and edges[0][0] == earliest:
                    urgent.append((target, earliest + 256 - here))
            for target, left in urgent:
                if target == index or target - index + len(urgent) + 4 <= left:
                    heapq.heappush(deadlines, (pending[target][0][0], target))
                    continue  # reached directly
                island = len(out)
                far = nodes[target]
                if (far.code & 0x07) == op.BPF_RET:
                    out.append([far.code, far.k, -1, -1])
                else:
                    out.append([_JA, 0, -2 - target, -1])  # -2 - node: a node not yet placed
                    jumped_to.add(target)
                for source, side in pending.pop(target):
                    out[source][2 + side] = island
        here = len(out)
        position[index] = here
        arriving = pending.pop(index, None)
        code = node.code
        cls = code & 0x07
        if cls == op.BPF_RET and arriving is None and barrier and index not in jumped_to and out:
            # Nothing jumps or falls here: every jump to this RET took a copy on the way.
            continue
        if arriving is not None:
            for source, side in arriving:
                out[source][2 + side] = here
        if cls == op.BPF_JMP and code != _JA:
            out.append([code, node.k, -1, -1])
            following = index + 1
            target = node.jt
            edges = pending.get(target)
            if edges is None:
                pending[target] = [(here, 0)]
                if target != following:  # the next node comes before any deadline
                    heappush(deadlines, (here, target))
            else:
                edges.append((here, 0))
            target = node.jf
            edges = pending.get(target)
            if edges is None:
                pending[target] = [(here, 1)]
                if target != following:
                    heappush(deadlines, (here, target))
            else:
                edges.append((here, 1))
        elif code == _JA:
            out.append([code, 0, -2 - node.jt, -1])
            jumped_to.add(node.jt)
        else:
            out.append([code, node.k, -1, -1])
        barrier = cls in (op.BPF_JMP, op.BPF_RET)
    result: list[Instruction] = []
    make = Instruction.trusted
    for here, (code, k, jt, jf) in enumerate(out):
        if code == _JA:
            target = position[-2 - jt] if jt <= -2 else jt
            result.append(make(code, 0, 0, target - here - 1))
        elif jt >= 0:
            jt -= here + 1
            jf -= here + 1
            if jt > _MAX_OFFSET or jf > _MAX_OFFSET:
                return None
            result.append(make(code, jt, jf, k))
        else:
            result.append(make(code, 0, 0, k))
    return result



def _layout_with_trampolines(nodes: list[Node]) -> list[Instruction]:
    """Instructions with a ``JA`` trampoline after each conditional jump whose target is too far.

    A conditional whose target is too far gets a ``JA`` right after it for that side:

        cond  jt=0 → tramp_t, jf → (tramp_f or its target)
        tramp_t: JA → far true target
        tramp_f: JA → far false target          (only if that side is too far as well)

    Trampolines shift the code behind them, which can push other jumps over the limit, so the
    layout is recomputed until no conditional offset exceeds 255. This terminates: each round
    adds at least one trampoline, and a side gets at most one.
    """
    count = len(nodes)
    trampoline_t = [False] * count
    trampoline_f = [False] * count
    while True:
        position = []
        at = 0
        for index in range(count):
            position.append(at)
            at += 1 + trampoline_t[index] + trampoline_f[index]
        changed = False
        for index, node in enumerate(nodes):
            if not node.is_conditional:
                continue
            # offset = position(target) - position(jump) - 1, trampolines included
            origin = position[index] + 1
            if not trampoline_t[index] and position[node.jt] - origin > _MAX_OFFSET:
                trampoline_t[index] = changed = True
            if not trampoline_f[index] and position[node.jf] - origin > _MAX_OFFSET:
                trampoline_f[index] = changed = True
        if not changed:
            break

    out: list[Instruction] = []
    for index, node in enumerate(nodes):
        here = position[index]
        if node.is_conditional:
            slot = here + 1  # where the first trampoline goes
            jt_at = jf_at = 0
            if trampoline_t[index]:
                jt_at = slot
                slot += 1
            if trampoline_f[index]:
                jf_at = slot
            jt = (jt_at if trampoline_t[index] else position[node.jt]) - here - 1
            jf = (jf_at if trampoline_f[index] else position[node.jf]) - here - 1
            out.append(Instruction(node.code, jt, jf, node.k))
            if trampoline_t[index]:
                out.append(Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, position[node.jt] - jt_at - 1))
            if trampoline_f[index]:
                out.append(Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, position[node.jf] - jf_at - 1))
        elif node.is_ja:
            out.append(Instruction(node.code, 0, 0, position[node.jt] - here - 1))
        else:
            out.append(Instruction(node.code, 0, 0, node.k))
    return out


def nodes_from_program(program: Program) -> list[Node]:
    """The optimizer's form of an existing program (absolute targets)."""
    nodes = []
    for index, ins in enumerate(program):
        if ins.is_conditional_jump:
            nodes.append(Node(ins.code, ins.k, index + 1 + ins.jt, index + 1 + ins.jf))
        elif ins.code == op.BPF_JMP | op.BPF_JA:
            target = index + 1 + ins.k
            nodes.append(Node(ins.code, 0, target, target))
        else:
            nodes.append(Node(ins.code, ins.k))
    return nodes
