"""Canonical decisions: reduced ordered decision diagrams over a call's arguments.

Part of the condition engine (:mod:`seccomp_bpf.policy.semantics`). A condition of the model
is a boolean function of the six 64-bit arguments and the 64-bit instruction pointer; the
decision a policy takes for one system call number is a function of the same bits whose
values are actions. Regions (:mod:`.semantics`, :mod:`.decisions`) cut such functions into
pieces that read back as conditions; the writers also need them *canonical*: whether a
translated profile decides every call as the policy does (two diagrams are equal exactly when
their node numbers are), whether a decision looks at the upper half of an argument, and how
to cut a decision into disjoint cells that another format can write down. Cutting by regions
cannot do the first at scale: the conditions a profile reads back as (a cell per alternative)
overlap pairwise, and their regions multiply (2**32 for 32 cells of one argument).

A comparison's diagram is built from its :meth:`~seccomp_bpf.policy.conditions.Comparison.
constraint`, the same set of operand values the regions use, so a comparison means one thing.

They are represented as reduced ordered decision diagrams (Bryant, "Graph-Based Algorithms for
Boolean Function Manipulation", 1986), with any hashable value at the leaves:

- one variable per bit; targets in order ``args[0] .. args[5]``, then ``ip``, and within a
  target the most significant bit first, so that a comparison with a constant is a chain of
  at most 64 nodes (the derivation is above :meth:`Diagrams.ordered`);
- nodes are shared through a table of unique ``(variable, low, high)`` triples and a node
  whose two children are equal is never made, so two functions are equal exactly when their
  node numbers are, within one :class:`Diagrams`.

A path from the root to a leaf tests some bits of some targets: that is a :class:`Cell`, a
conjunction of ``(target & mask) == value`` for each target it tests. The cells of one
diagram are pairwise disjoint and two cells with different leaves differ in a bit that both
test, which is what OCI's "provably exclusive" rules need.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch import Arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.conditions import All, Comparison, Condition, Equal, MaskedEqual, Not
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.values import Matches, Within

BITS: Final = 64
IP_TARGET: Final = 6
"""The target number of the instruction pointer; arguments are 0..5."""
TARGETS: Final = 7
_MASK64: Final = (1 << 64) - 1
_TERMINAL: Final = TARGETS * BITS  # above every variable: leaves sort last


def variable(target: int, bit: int) -> int:
    """The variable of bit ``bit`` (0 = least significant) of ``target``."""
    return target * BITS + (BITS - 1 - bit)


def variable_target(var: int) -> int:
    return var // BITS


def variable_bit(var: int) -> int:
    return BITS - 1 - var % BITS


def target_of(cmp: Comparison) -> int:
    """The target a comparison reads: its argument index, or :data:`IP_TARGET`."""
    return IP_TARGET if cmp.arg is None else cmp.arg


class DiagramTooLargeError(PolicyError):
    """More cells than the caller allowed (see :meth:`Diagrams.cells`)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """A conjunction of ``(target & mask) == value``, one per target it tests.

    ``tests`` maps a target (0..5, :data:`IP_TARGET`) to ``(mask, value)``; a target it does
    not mention may hold anything.
    """

    tests: tuple[tuple[int, int, int], ...]  # (target, mask, value), by target

    def holds(self, args: Sequence[int], ip: int = 0) -> bool:
        for target, mask, value in self.tests:
            operand = ip if target == IP_TARGET else args[target]
            if operand & mask != value:
                return False
        return True

    def condition(self) -> Condition | None:
        """The cell as a model condition (``None`` when it tests nothing)."""
        parts: list[Condition] = []
        for target, mask, value in self.tests:
            arg = None if target == IP_TARGET else target
            if mask == _MASK64:
                parts.append(Equal(arg, value))
            else:
                parts.append(MaskedEqual(arg, mask, value))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else All(tuple(parts))


class Diagrams:
    """A table of shared diagram nodes; functions built in one table compare by number.

    Node numbers are ints. A leaf holds a value (``True``/``False`` for conditions, an
    :class:`Action` for decisions); an inner node tests one variable and has a ``low``
    (bit clear) and a ``high`` (bit set) child.
    """

    def __init__(self) -> None:
        self._var: list[int] = []
        self._low: list[int] = []
        self._high: list[int] = []
        self._values: list[Hashable] = []
        self._unique: dict[tuple[int, int, int], int] = {}
        self._leaves: dict[tuple[type, Hashable], int] = {}
        self._ite_memo: dict[tuple[int, int, int], int] = {}
        self._cmp_memo: dict[Comparison, int] = {}
        self.true = self.leaf(True)
        self.false = self.leaf(False)

    # --- nodes ------------------------------------------------------------------------------

    def leaf(self, value: Hashable) -> int:
        """The leaf holding ``value`` (``True`` and ``1`` are different leaves)."""
        key = (type(value), value)
        found = self._leaves.get(key)
        if found is not None:
            return found
        number = len(self._var)
        self._var.append(_TERMINAL)
        self._low.append(-1)
        self._high.append(-1)
        self._values.append(value)
        self._leaves[key] = number
        return number

    def node(self, var: int, low: int, high: int) -> int:
        """The node testing ``var``; the reduction rule: equal children make no node."""
        if low == high:
            return low
        key = (var, low, high)
        found = self._unique.get(key)
        if found is not None:
            return found
        number = len(self._var)
        self._var.append(var)
        self._low.append(low)
        self._high.append(high)
        self._values.append(None)
        self._unique[key] = number
        return number

    def is_leaf(self, node: int) -> bool:
        return self._var[node] == _TERMINAL

    def value(self, node: int) -> Hashable:
        """The value of a leaf."""
        if not self.is_leaf(node):
            raise ValueError(f"node {node} is not a leaf")
        return self._values[node]

    def top(self, node: int) -> int:
        return self._var[node]

    def children(self, node: int) -> tuple[int, int]:
        return self._low[node], self._high[node]

    def __len__(self) -> int:
        return len(self._var)

    # --- the operator every other one is made of ----------------------------------------------

    def ite(self, condition: int, then: int, otherwise: int) -> int:
        """``then`` where the boolean diagram ``condition`` holds, ``otherwise`` elsewhere."""
        if condition == self.true:
            return then
        if condition == self.false:
            return otherwise
        if then == otherwise:
            return then
        if then == self.true and otherwise == self.false:
            return condition
        key = (condition, then, otherwise)
        found = self._ite_memo.get(key)
        if found is not None:
            return found
        var = min(self._var[condition], self._var[then], self._var[otherwise])
        c0, c1 = self._split(condition, var)
        t0, t1 = self._split(then, var)
        o0, o1 = self._split(otherwise, var)
        result = self.node(var, self.ite(c0, t0, o0), self.ite(c1, t1, o1))
        self._ite_memo[key] = result
        return result

    def _split(self, node: int, var: int) -> tuple[int, int]:
        if self._var[node] == var:
            return self._low[node], self._high[node]
        return node, node

    def and_(self, a: int, b: int) -> int:
        return self.ite(a, b, self.false)

    def or_(self, a: int, b: int) -> int:
        return self.ite(a, self.true, b)

    def not_(self, a: int) -> int:
        return self.ite(a, self.false, self.true)

    def equals_leaf(self, node: int, value: Hashable) -> int:
        """The boolean diagram of "``node`` gives ``value``"."""
        memo: dict[int, int] = {}
        target = self.leaf(value)

        def walk(current: int) -> int:
            if self.is_leaf(current):
                return self.true if current == target else self.false
            found = memo.get(current)
            if found is None:
                found = memo[current] = self.node(
                    self._var[current], walk(self._low[current]), walk(self._high[current])
                )
            return found

        return walk(node)

    # --- conditions ---------------------------------------------------------------------------

    def pattern(self, target: int, mask: int, value: int) -> int:
        """``(target & mask) == value``: every bit of ``mask`` equal to ``value``'s, one node
        each, from the least significant bit up (``value`` lies inside ``mask``)."""
        node = self.true
        for bit in range(BITS):
            if mask >> bit & 1:
                var = variable(target, bit)
                if value >> bit & 1:
                    node = self.node(var, self.false, node)
                else:
                    node = self.node(var, node, self.false)
        return node

    def ordered(self, target: int, value: int, width: int, *, less: bool, strict: bool) -> int:
        """``(target & width mask) < value`` (``<=``, ``>``, ``>=``), unsigned.

        Built from the least significant bit up, each new node above the previous ones: the
        most significant bit where ``target`` and ``value`` differ decides; below it, "all
        bits equal so far" is the diagram built so far, which starts as false for the strict
        comparisons and true for the others. At bit i with value bit 1, ``target`` bit 0 means
        less and bit 1 means "look lower"; with value bit 0, bit 1 means greater and bit 0
        "look lower".
        """
        node = self.false if strict else self.true
        for bit in range(width):
            var = variable(target, bit)
            if value >> bit & 1:
                node = self.node(var, self.true if less else self.false, node)
            else:
                node = self.node(var, node, self.false if less else self.true)
        return node

    def interval(self, target: int, low: int, high: int, width: int) -> int:
        """``low <= (target & width mask) <= high``."""
        if low == high:
            return self.pattern(target, (1 << width) - 1, low)
        node = self.true
        if low:
            node = self.ordered(target, low, width, less=False, strict=False)
        if high < (1 << width) - 1:
            node = self.and_(node, self.ordered(target, high, width, less=True, strict=False))
        return node

    def comparison(self, cmp: Comparison) -> int:
        """The boolean diagram of one comparison: of its operand values
        (:meth:`~seccomp_bpf.policy.conditions.Comparison.constraint`)."""
        found = self._cmp_memo.get(cmp)
        if found is not None:
            return found
        target = target_of(cmp)
        constraint = cmp.constraint()
        if isinstance(constraint, Within):
            node = self.false
            for low, high in constraint.intervals:
                node = self.or_(node, self.interval(target, low, high, constraint.width))
        else:
            node = self.pattern(target, constraint.mask, constraint.value)
            if not isinstance(constraint, Matches):
                node = self.not_(node)
        self._cmp_memo[cmp] = node
        return node

    def condition(self, condition: Condition | None) -> int:
        """The boolean diagram of a condition (``None``: always true)."""
        if condition is None:
            return self.true
        if isinstance(condition, Comparison):
            return self.comparison(condition)
        if isinstance(condition, Not):
            return self.not_(self.condition(condition.condition))
        if isinstance(condition, All):
            node = self.true
            for part in condition.conditions:
                node = self.and_(node, self.condition(part))
            return node
        node = self.false
        for part in condition.conditions:
            node = self.or_(node, self.condition(part))
        return node

    def first_match(
        self, entries: Sequence[tuple[Condition | None, Hashable]], fallback: Hashable
    ) -> int:
        """The decision of an ordered list: the value of the first entry whose condition
        holds, else ``fallback``."""
        node = self.leaf(fallback)
        for condition, value in reversed(entries):
            node = self.ite(self.condition(condition), self.leaf(value), node)
        return node

    # --- reading diagrams ---------------------------------------------------------------------

    def evaluate(self, node: int, args: Sequence[int], ip: int = 0) -> Hashable:
        """The value ``node`` gives these arguments and instruction pointer."""
        while not self.is_leaf(node):
            var = self._var[node]
            target = variable_target(var)
            operand = ip if target == IP_TARGET else args[target]
            node = self._high[node] if operand >> variable_bit(var) & 1 else self._low[node]
        return self._values[node]

    def variables(self, node: int) -> set[int]:
        """Every variable some path of ``node`` tests."""
        seen: set[int] = set()
        found: set[int] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if current in seen or self.is_leaf(current):
                continue
            seen.add(current)
            found.add(self._var[current])
            stack.extend((self._low[current], self._high[current]))
        return found

    def leaves(self, node: int) -> set[Hashable]:
        """Every value ``node`` can give."""
        seen: set[int] = set()
        values: set[Hashable] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if self.is_leaf(current):
                values.add(self._values[current])
            else:
                stack.extend((self._low[current], self._high[current]))
        return values

    def cells(
        self, node: int, *, limit: int | None = None, skip: Hashable = None
    ) -> Iterator[tuple[Hashable, Cell]]:
        """Every path of ``node`` as ``(leaf value, cell)``, low branch first.

        Paths to the leaf ``skip`` are left out (they are still counted by nothing);
        more than ``limit`` cells raise :class:`DiagramTooLargeError`.
        """
        skip_leaf = self._leaves.get((type(skip), skip)) if skip is not None else None
        count = 0
        # (node, tests so far as {target: (mask, value)}) on an explicit stack: paths can be
        # as long as every variable, deeper than Python's recursion should go.
        stack: list[tuple[int, dict[int, tuple[int, int]]]] = [(node, {})]
        while stack:
            current, tests = stack.pop()
            if self.is_leaf(current):
                if current == skip_leaf:
                    continue
                count += 1
                if limit is not None and count > limit:
                    raise DiagramTooLargeError(f"more than {limit} cells")
                cell = Cell(tuple((t, m, v) for t, (m, v) in sorted(tests.items())))
                yield self._values[current], cell
                continue
            var = self._var[current]
            target = variable_target(var)
            bit = 1 << variable_bit(var)
            mask, value = tests.get(target, (0, 0))
            high_tests = dict(tests)
            high_tests[target] = (mask | bit, value | bit)
            low_tests = dict(tests)
            low_tests[target] = (mask | bit, value)
            stack.append((self._high[current], high_tests))
            stack.append((self._low[current], low_tests))

    def low_words(self, node: int) -> int:
        """``node`` for arguments whose upper 32 bits are 0: what a call of an ABI with
        :attr:`~seccomp_bpf.arch.Arch.argument_bits` 32 is decided by (the instruction
        pointer keeps all its bits)."""
        memo: dict[int, int] = {}

        def walk(current: int) -> int:
            if self.is_leaf(current):
                return current
            found = memo.get(current)
            if found is None:
                var = self._var[current]
                if variable_target(var) != IP_TARGET and variable_bit(var) >= 32:
                    found = walk(self._low[current])
                else:
                    found = self.node(var, walk(self._low[current]), walk(self._high[current]))
                memo[current] = found
            return found

        return walk(node)

    def count_cells(self, node: int, skip: Hashable = None) -> int:
        """How many cells :meth:`cells` would give (without building them)."""
        skip_leaf = self._leaves.get((type(skip), skip)) if skip is not None else None
        memo: dict[int, int] = {}

        def walk(current: int) -> int:
            if self.is_leaf(current):
                return 0 if current == skip_leaf else 1
            found = memo.get(current)
            if found is None:
                found = memo[current] = walk(self._low[current]) + walk(self._high[current])
            return found

        return walk(node)


# --- policies -------------------------------------------------------------------------------


def fallback_action(policy: Policy, arch: Arch, nr: int) -> Action:
    """What ``policy`` does with ``nr`` on ``arch`` when none of its rules decides (DESIGN §3):
    ``unknown_syscall_action`` for a number that the table does not know and no rule names,
    else the default action."""
    resolved = policy.resolve(arch)
    if (
        policy.unknown_syscall_action is not None
        and nr not in resolved.known_numbers
        and not resolved.named(nr, arch.audit_arch)
    ):
        return policy.unknown_syscall_action
    return policy.default_action


def unnamed_fallback(policy: Policy) -> Action:
    """What ``policy`` does with numbers that neither its tables nor its rules know."""
    return policy.unknown_syscall_action or policy.default_action


def syscall_decision(
    diagrams: Diagrams, policy: Policy, arch: Arch, nr: int, *, whole_words: bool = False
) -> int:
    """The diagram of what ``policy`` does with system call ``nr`` on ``arch``: first match
    over the rules that name it (mirrored entries included), then the fallback.

    On an ABI whose calls see 32-bit arguments (:attr:`Arch.argument_bits`) the model
    compares their low words only, and so does the diagram, unless ``whole_words`` asks for
    the decision the same rules would take on 64-bit arguments.
    """
    resolved = policy.resolve(arch)
    entries = resolved.entries(nr, arch.audit_arch)
    node = diagrams.first_match(
        [(entry.condition, entry.action) for entry in entries],
        fallback_action(policy, arch, nr),
    )
    if arch.argument_bits == 32 and not whole_words:
        node = diagrams.low_words(node)
    return node


@dataclass(frozen=True, slots=True)
class Difference:
    """Where two policies decide differently on one ABI: ``nr`` (``None`` for every number
    neither knows), and each side's decision diagram."""

    arch: Arch
    nr: int | None
    ours: int
    theirs: int


def decision_differences(
    diagrams: Diagrams, ours: Policy, theirs: Policy, arches: Sequence[Arch]
) -> list[Difference]:
    """Every ``(arch, nr)`` of ``arches`` where the two policies decide some call differently
    (architectures that only one of them lists are not compared here)."""
    found: list[Difference] = []
    for arch in arches:
        ours_resolved = ours.resolve(arch)
        theirs_resolved = theirs.resolve(arch)
        # Between two of these numbers, outside the tables and the rules' own numbers, both
        # policies decide every number alike.
        numbers = (
            set(ours_resolved.known_numbers)
            | set(ours_resolved.rules_by_nr)
            | set(theirs_resolved.rules_by_nr)
            | {p & 0xFFFFFFFF for p in ours_resolved.range_bounds()}
            | {p & 0xFFFFFFFF for p in theirs_resolved.range_bounds()}
        )
        for nr in sorted(numbers):
            mine = syscall_decision(diagrams, ours, arch, nr)
            other = syscall_decision(diagrams, theirs, arch, nr)
            if mine != other:
                found.append(Difference(arch, nr, mine, other))
        mine_leaf = diagrams.leaf(unnamed_fallback(ours))
        other_leaf = diagrams.leaf(unnamed_fallback(theirs))
        if mine_leaf != other_leaf:
            found.append(Difference(arch, None, mine_leaf, other_leaf))
    return found
