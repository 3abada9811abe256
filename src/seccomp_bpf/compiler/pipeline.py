"""``compile_policy``: a :class:`Policy` becomes one :class:`Program` for all its architectures.

Layout of the program::

    A = arch
    if (A == AUDIT_ARCH_1) goto section_1        one test per AUDIT_ARCH_* value, the policy's
    if (A == AUDIT_ARCH_2) goto section_2        first architecture first
    return bad_arch_action
  section_1:
    A = nr
    <tree of JGE over number ranges>             leaves jump to a RET or to an argument block
    <the tree's RET instructions>                one per distinct action, within jump reach
    <argument blocks>                            argument loads happen only in here
    <the blocks' RET instructions>
  section_2: ...

x32 shares ``AUDIT_ARCH_X86_64`` with x86_64 and is told apart by ``__X32_SYSCALL_BIT``
(0x40000000, ``arch/x86/include/uapi/asm/unistd.h``): numbers with that bit belong to x32,
the others to x86_64. On 64-bit MIPS kernels the number's range picks the ABI whatever the
task's is (:func:`seccomp_bpf.arch.dispatched_arch`). All the ABIs one AUDIT_ARCH value can
reach share one tree; a range whose ABI the policy does not list returns ``bad_arch_action``,
so an x32 (or o32) number can never reach an x86_64 (or n64) rule. When x32 is not listed
and the tree is small, x32's bit is tested first instead (``_Compiler.split_on_bit``).

The tree is an optimal alphabetic tree (:mod:`.dispatch`) over the number ranges, weighted by
how many known system calls each range holds, or by a frequency profile, with a limit on how
deep the first-listed ABI's system calls may sit.

Because the tree only ever loads ``nr`` and ``arch`` and compares them with constants, the
kernel's action cache (``seccomp_cache_prepare`` / ``seccomp_is_const_allow`` in
``kernel/seccomp.c``, Linux 5.11+) sees every argument-free ALLOW as constant.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from seccomp_bpf.arch import (
    SKIPPED_SYSCALL,
    Arch,
    all_arches,
    dispatch_boundaries,
    dispatched_arch,
)
from seccomp_bpf.arch import dispatched_arches as _dispatched_arches
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Label, ProgramBuilder
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler.arguments import DecisionGraph, Node
from seccomp_bpf.compiler.dispatch import (
    Segment,
    emit_tree,
    segments,
    tree_cost,
    with_exceptions,
)
from seccomp_bpf.compiler.frequency import FrequencyProfile
from seccomp_bpf.compiler.prior import prior
from seccomp_bpf.compiler.search import SEARCHES, Search, SwitchWriter
from seccomp_bpf.errors import CompileError, InvalidProgramError
from seccomp_bpf.policy import Action, Condition, Policy, ResolvedArch, ResolvedRule
from seccomp_bpf.policy.policy import expand_arch_name

# The ABIs each AUDIT_ARCH value reaches: fixed by the tables, asked for many times.
dispatched_arches = functools.cache(_dispatched_arches)

# Share of the tree's weight given to the architectures other than the primary one.
_SECONDARY_ABI_WEIGHT = 0.01
# The weight of a number of an ABI's table is a share of how often it is called, from a
# frequency profile when one is given for the ABI, else from the built-in prior (.prior), plus
# the rest spread evenly over the table, so that rarely seen calls do not end up at the bottom
# of a deep tree. A profile says what this program does and is trusted more than the prior.
_PROFILE_SHARE = 0.9
_PRIOR_SHARE = 0.35
# Every segment weighs at least this (relative to a total of 1), which keeps the tree balanced
# over ranges of unknown numbers.
_SEGMENT_FLOOR = 1e-6
# A leaf with an argument block of t instructions weighs up to 2 ** (t - 1) more: it rises
# about t - 1 levels in the tree, which keeps its whole path short.
_BLOCK_BOOST = 4
# Above this many segments testing the bit of an unlisted ABI first (split_on_bit) is not tried:
# it adds a comparison to every call, which only a small tree can win back.
_SPLIT_LIMIT = 32
# Tree levels plus leaf instructions a path of the primary ABI should stay within (the
# prologue adds 3: load arch, compare, load nr).
_PATH_BUDGET = 10


Decision = Hashable  # an int return value, or the root Node of an argument block's graph
Decide = Callable[[int], Decision]
Weigh = Callable[[int, int], float]
Target = Callable[[Decision], Label]


class _ChainDecisions:
    """The decision for each list of entries, made once (rule lists repeat across numbers).

    Rules after the first unconditional one can never decide, and rules at the end whose
    action equals the fallback do not change the outcome; both are dropped. What remains is
    the decision graph of the section (:class:`~.arguments.DecisionGraph`), which is a
    constant when the conditions turn out not to matter; on an ABI that sees 32-bit
    arguments, from the rules' narrowed tests.
    """

    def __init__(self, default: Action, graph: DecisionGraph, *, narrow: bool) -> None:
        self.default = default
        self.graph = graph
        self.narrow = narrow
        self.memo: dict[tuple[int, ...], Decision] = {}
        self.rules_of: dict[Node, set[int]] = {}  # a block's root -> the rules it holds

    def __call__(self, rules: tuple[ResolvedRule, ...]) -> Decision:
        # Entries are shared by the numbers a rule names (policy.resolution), so a list of
        # them is known by their identities; the resolution keeps them alive.
        key = tuple(map(id, rules))
        decision = self.memo.get(key)
        if decision is None:
            decision = self.memo[key] = self._decide(rules)
        return decision

    def _decide(self, entries: tuple[ResolvedRule, ...]) -> Decision:
        chain: list[tuple[Condition, int]] = []
        final = self.default.ret_value
        used: list[ResolvedRule] = []
        for entry in entries:
            if entry.condition is None:
                final = entry.action.ret_value
                break
            chain.append((entry.condition, entry.action.ret_value))
            used.append(entry)
        while chain and chain[-1][1] == final:
            chain.pop()
            used.pop()
        if not chain:
            return final
        root = self.graph.decide(chain, final, narrow=self.narrow)
        if root.is_return:
            return root.value
        self.rules_of.setdefault(root, set()).update(entry.rule_index for entry in used)
        return root


class _RangeDecisions:
    """The decision for a number outside ``rules_by_nr`` that a rule's range names."""

    def __init__(self, resolved: ResolvedArch, decision_of: _ChainDecisions, audit: int) -> None:
        self.resolved = resolved
        self.decision_of = decision_of
        self.audit = audit

    def __call__(self, nr: int) -> Decision | None:
        rules = self.resolved.entries(nr, self.audit)
        return self.decision_of(rules) if rules else None


@dataclass
class _Abi:
    """One ABI of an AUDIT_ARCH value, as the policy sees it."""

    arch: Arch
    listed: bool
    weight: float


class _Compiler:
    def __init__(
        self,
        policy: Policy,
        arches: Sequence[Arch],
        frequency: FrequencyProfile | None,
        *,
        compact: bool = False,
    ) -> None:
        self.policy = policy
        self.arches = list(arches)
        self.frequency = frequency or {}
        self.compact = compact
        self.b = ProgramBuilder()
        self.returns: dict[int, Label] = {}
        self.section_sizes: dict[str, int] = {}
        self.known_sorted: dict[str, list[int]] = {}  # per listed ABI, its table's numbers
        self.owner_of: Callable[[int], _Abi | None] = lambda nr: None  # set per section
        # per argument block: (section's writer, root, "arch:name", the rules it holds)
        self.blocks: list[tuple[SwitchWriter, Node, str, set[int]]] = []

    def primary(self) -> Arch:
        """The ABI the tree is tuned for: the first listed (``native`` expands to this machine's).

        Taking it from the policy rather than from the machine keeps the output the same
        wherever the policy is compiled.
        """
        return self.arches[0]

    # -- the whole program -----------------------------------------------------------------------

    def run(self) -> ProgramBuilder:
        primary = self.primary()
        groups: dict[int, list[Arch]] = {}
        for arch in sorted(self.arches, key=lambda a: a.name != primary.name):
            groups.setdefault(arch.audit_arch, []).append(arch)
        # A listed ABI can also be reached under another AUDIT_ARCH value: on 64-bit MIPS
        # kernels a task of any ABI runs a number from the table of the range it falls in, so
        # an o32 task's n64-numbered call follows the n64 rules (see dispatched_arch).
        listed = {arch.name for arch in self.arches}
        for other in all_arches():
            if other.audit_arch not in groups and any(
                abi.name in listed for abi in dispatched_arches(other.audit_arch)
            ):
                groups.setdefault(other.audit_arch, [])

        b = self.b
        b.load(op.OFFSET_ARCH)
        sections = [(audit, b.label(f"arch {audit:#x}")) for audit in groups]
        for audit, label in sections[:-1]:
            b.jump_if(op.BPF_JEQ, audit, label, None)
        bad_arch = self.ret(self.policy.bad_arch_action.ret_value)
        b.jump_if(op.BPF_JEQ, sections[-1][0], sections[-1][1], bad_arch)
        for audit, label in sections:
            start = len(b)
            b.bind(label)
            self.section(audit, groups[audit], primary)
            names = "+".join(a.name for a in groups[audit]) or f"{audit:#x}"
            self.section_sizes[names] = len(b) - start
        # One RET per value, at the end: the layout puts copies of a RET along the way where
        # jumps to it would reach too far (ProgramBuilder).
        for value, label in sorted(self.returns.items()):
            b.bind(label)
            b.ret(value)
        return b

    def ret(self, value: int) -> Label:
        """The label of the program's ``RET value``."""
        label = self.returns.get(value)
        if label is None:
            label = self.returns[value] = self.b.label(f"return {value:#x}")
        return label

    # -- one AUDIT_ARCH value --------------------------------------------------------------------

    def section(self, audit: int, listed: list[Arch], primary: Arch) -> None:
        b = self.b
        # An ABI counts as listed when the policy lists it, even under another AUDIT_ARCH value
        # (MIPS: an n64 task's o32 calls follow the o32 rules).
        listed_names = {arch.name for arch in self.arches}
        abis = [
            _Abi(
                arch,
                arch.name in listed_names,
                1.0 if arch.name == primary.name else _SECONDARY_ABI_WEIGHT,
            )
            for arch in dispatched_arches(audit)
        ]
        # every ABI of one AUDIT_ARCH value has the same byte order
        writer = SwitchWriter(abis[0].arch.byteorder, compact=self.compact)
        graph = DecisionGraph()
        decide, change_points, weigh, rules_of = self.number_space(audit, abis, graph)
        parts = self.weigh_leaf_costs(
            segments(change_points, decide, weigh), abis, audit, primary, writer
        )

        # The tree, then the argument blocks; returns are the program's (self.ret).
        labels: dict[Node, Label] = {}
        roots: list[Node] = []
        ret = self.ret

        def tree_target(decision: Decision) -> Label:
            if isinstance(decision, Node):
                if decision not in labels:
                    labels[decision] = b.label("arguments")
                    roots.append(decision)
                return labels[decision]
            assert isinstance(decision, int)
            return ret(decision)

        def block_target(node: Node) -> Label:
            if node.is_return:
                return ret(node.value)
            if node not in labels:
                labels[node] = b.label()
            return labels[node]

        split = self.split_on_bit(abis, parts)
        if split is not None:
            bit, clear, skipped = split
            b.load(op.OFFSET_NR)
            bit_set = b.label("numbers with the ABI bit")
            b.jump_if(op.BPF_JSET, bit, bit_set, None)
            emit_tree(b, clear, tree_target)
            b.bind(bit_set)
            bad_arch = ret(self.policy.bad_arch_action.ret_value)
            b.jump_if(op.BPF_JEQ, SKIPPED_SYSCALL, tree_target(skipped), bad_arch)
        else:
            if len(parts) > 1:
                b.load(op.OFFSET_NR)
            emit_tree(b, parts, tree_target)

        names: dict[Node, str] = {}
        for part in parts:
            if isinstance(part.decision, Node) and part.decision not in names:
                names[part.decision] = self._name_of(audit, part.low)
        for root in roots:
            self.blocks.append((writer, root, names[root], rules_of.get(root, set())))
        writer.write(b, roots, block_target)

    def split_on_bit(
        self, abis: list[_Abi], parts: list[Segment]
    ) -> tuple[int, list[Segment], Decision] | None:
        """The numbers of an unlisted ABI told apart by a bit (x32's bit 30) tested first,
        when that costs no more comparisons on the weighted average and fewer instructions.

        Every number with the bit goes to ``bad_arch_action`` but :data:`SKIPPED_SYSCALL`
        (-1, the task's own ABI's: see ``dispatched_arch``): ``JSET bit``, then ``JEQ -1``.
        The numbers without it (``0 .. 2**30-1`` and ``2**31 .. 2**31+2**30-1``) are then
        searched alone: the numbers with the bit between them cannot reach that search, so
        its segments join across them, and a single number between two segments of one
        decision is one ``JEQ`` (:func:`~.dispatch.with_exceptions`). Returns the bit, the
        segments of the numbers without it, and the decision for -1; ``None`` when the one
        tree of ``parts`` is as good.
        """
        masked = [abi for abi in abis if abi.arch.syscall_nr_mask_bit and not abi.listed]
        if not masked or len(parts) > _SPLIT_LIMIT:
            return None
        bit = masked[0].arch.syscall_nr_mask_bit
        if bit != 1 << 30:
            return None  # the ranges below are those of bit 30
        bad_arch = self.policy.bad_arch_action.ret_value
        for low, high in ((bit, 2 * bit - 1), (3 * bit, SKIPPED_SYSCALL - 1)):
            if any(p.decision != bad_arch for p in parts if p.low <= high and p.high >= low):
                return None
        clear: list[Segment] = []
        for low, high in ((0, bit - 1), (2 * bit, 3 * bit - 1)):
            for part in parts:
                first, last = max(part.low, low), min(part.high, high)
                if first > last:
                    continue
                if clear and clear[-1].decision == part.decision:
                    previous = clear.pop()
                    first = previous.low
                    weight = previous.weight + part.weight
                else:
                    weight = part.weight
                clear.append(Segment(first, last, part.decision, weight, part.max_depth))
        set_weight = sum(part.weight for part in parts) - sum(part.weight for part in clear)
        clear = with_exceptions(clear)
        one_cost, one_length = tree_cost(parts)
        cost, length = tree_cost(clear)
        cost += sum(part.weight for part in clear) + 2 * max(set_weight, 0.0)
        if cost > one_cost * (1 + 1e-9) or length + 2 >= one_length:
            return None
        skipped = parts[-1]
        assert skipped.high == SKIPPED_SYSCALL
        return bit, clear, skipped.decision

    def weigh_leaf_costs(
        self,
        parts: list[Segment],
        abis: list[_Abi],
        audit: int,
        primary: Arch,
        writer: SwitchWriter,
    ) -> list[Segment]:
        """Account for what a leaf costs after the tree, and limit the primary ABI's depths.

        A leaf that runs an argument block costs more than a RET: the instructions its graph
        runs when every argument is zero (the most common value of flags and options). In an
        optimal tree a leaf rises about one level each time its weight doubles, so a block
        leaf weighs ``2 ** extra`` more (``extra`` = those instructions beyond one, at most
        ``_BLOCK_BOOST``). Leaves holding numbers of the primary ABI's table get a depth limit
        so that tree levels plus leaf instructions stay within ``_PATH_BUDGET`` (see
        ``dispatch.limit_depths``).
        """
        costs: dict[Node, int] = {}
        out = []
        for part in parts:
            tail = 1
            if isinstance(part.decision, Node):
                root = part.decision
                if root not in costs:
                    costs[root] = writer.path_length(root)
                tail = costs[root]
            # A block's weight counts at most _BLOCK_BOOST of its instructions (the zero path
            # is a guess at what calls pass); the depth limit counts them all.
            extra = min(tail - 1, _BLOCK_BOOST)
            limit = None
            owner = self.owner_of(part.low)
            if (
                owner is not None
                and owner.arch.name == primary.name
                and self._holds_known(primary, part.low, part.high)
            ):
                limit = max(_PATH_BUDGET - tail, 0)
            out.append(Segment(part.low, part.high, part.decision, part.weight * 2.0**extra, limit))
        return out

    def _holds_known(self, arch: Arch, low: int, high: int) -> bool:
        """Whether ``low..high`` contains a number of ``arch``'s table."""
        numbers = self.known_sorted.get(arch.name, [])
        index = bisect_left(numbers, low)
        return index < len(numbers) and numbers[index] <= high

    @staticmethod
    def _name_of(audit: int, nr: int) -> str:
        arch = dispatched_arch(audit, nr)
        name = arch.syscall_name(nr) if arch else None
        return f"{arch.name if arch else '?'}:{name or nr}"

    def number_space(
        self, audit: int, abis: list[_Abi], graph: DecisionGraph
    ) -> tuple[Decide, list[int], Weigh, dict[Node, set[int]]]:
        """How each number of this AUDIT_ARCH value is decided, and how much it weighs."""
        policy = self.policy
        bad_arch = policy.bad_arch_action.ret_value
        default = policy.default_action
        unknown = policy.unknown_syscall_action
        # Where the ABI changes (x32's bit 30, MIPS's number ranges): see dispatched_arch.
        change_points: list[int] = list(dispatch_boundaries(audit))
        by_name = {abi.arch.name: abi for abi in abis}
        # The ABI of each range between two boundaries, found once per range.
        bounds = [0, *dispatch_boundaries(audit)]
        owners: list[_Abi | None] = []
        for start in bounds:
            arch = dispatched_arch(audit, start)
            owners.append(by_name.get(arch.name) if arch else None)

        def owner_of(nr: int) -> _Abi | None:
            return owners[bisect_right(bounds, nr) - 1]

        self.owner_of = owner_of
        decisions: dict[int, Decision] = {}  # numbers with rules, per ABI region
        known_sets: dict[str, frozenset[int]] = {}
        ranged: dict[str, _RangeDecisions] = {}  # per ABI with number ranges
        rules_of: dict[Node, set[int]] = {}

        for abi in abis:
            if not abi.listed:
                continue
            resolved = policy.resolve(abi.arch)
            known = known_sets[abi.arch.name] = resolved.known_numbers
            self.known_sorted[abi.arch.name] = _table_numbers(abi.arch)
            decision_of = _ChainDecisions(default, graph, narrow=abi.arch.argument_bits == 32)
            decision_of.rules_of = rules_of  # one record for all the ABIs of the section
            for nr, rules in resolved.rules_by_nr.items():
                if owner_of(nr) is not abi:
                    continue  # a raw number that this AUDIT_ARCH value runs as another ABI's
                if any(entry.audits is not None for entry in rules):
                    rules = tuple(entry for entry in rules if entry.reported_as(audit))
                if not rules:
                    continue  # named only by rules for calls reported otherwise
                decisions[nr] = decision_of(rules)
                change_points += [nr, nr + 1]
            if resolved.ranges:
                # Numbers in a rule's range that no table knows: the range's entries decide.
                change_points += resolved.range_bounds()
                ranged[abi.arch.name] = _RangeDecisions(resolved, decision_of, audit)
            if unknown is not None and unknown != default:
                for nr in known:
                    change_points += [nr, nr + 1]

        unknown_value = unknown.ret_value if unknown is not None else default.ret_value
        no_numbers: frozenset[int] = frozenset()

        def decide(nr: int) -> Decision:
            abi = owner_of(nr)
            if abi is None or not abi.listed:
                return bad_arch
            decision = decisions.get(nr)
            if decision is not None:
                return decision
            in_ranges = ranged.get(abi.arch.name)
            if in_ranges is not None and (decision := in_ranges(nr)) is not None:
                return decision
            if nr in known_sets.get(abi.arch.name, no_numbers):
                return default.ret_value
            return unknown_value

        listed = tuple(abi for abi in abis if abi.listed)
        if any(self.frequency.get(abi.arch.name) for abi in listed):
            profiles = []
            for abi in listed:
                counts = self.frequency.get(abi.arch.name)
                if counts:
                    calls = _shares(abi.arch, counts)
                    profiles.append((abi.arch, abi.weight, calls, _PROFILE_SHARE))
                else:
                    profiles.append((abi.arch, abi.weight, _prior_shares(abi.arch), _PRIOR_SHARE))
            ordered, prefix = _cumulative_weights(tuple(profiles))
        else:
            ordered, prefix = _prior_weights(tuple((abi.arch, abi.weight) for abi in listed))

        def weigh(low: int, high: int) -> float:
            first, last = bisect_left(ordered, low), bisect_right(ordered, high)
            return _SEGMENT_FLOOR + prefix[last] - prefix[first]

        return decide, change_points, weigh, rules_of


@functools.cache
def _table_numbers(arch: Arch) -> list[int]:
    return sorted(set(arch.syscalls.values()))


def _cumulative_weights(
    profiles: Sequence[tuple[Arch, float, Mapping[int, float], float]],
) -> tuple[list[int], list[float]]:
    """The numbers of the ABIs' tables in order, and the running sum of their weights.

    Each ABI ``(arch, weight, calls, share)`` spreads ``weight`` over its table: ``share`` of
    it by how often each number is called (``calls``, summing to 1), the rest evenly.
    """
    weights: dict[int, float] = {}
    for arch, weight, calls, share in profiles:
        numbers = _table_numbers(arch)
        if not numbers:
            continue
        trusted = share if calls else 0.0
        uniform = (1 - trusted) / len(numbers)
        for nr in numbers:
            weights[nr] = weight * (uniform + trusted * calls.get(nr, 0.0))
    ordered = sorted(weights)
    prefix = [0.0]
    for nr in ordered:
        prefix.append(prefix[-1] + weights[nr])
    return ordered, prefix


@functools.cache
def _prior_weights(abis: tuple[tuple[Arch, float], ...]) -> tuple[list[int], list[float]]:
    """:func:`_cumulative_weights` with the built-in prior for every ABI (the same for every
    policy, so made once)."""
    return _cumulative_weights(
        tuple((arch, weight, _prior_shares(arch), _PRIOR_SHARE) for arch, weight in abis)
    )


def _shares(arch: Arch, counts: Mapping[str, float]) -> dict[int, float]:
    """How often each number of ``arch`` is called, from counts by name (summing to 1)."""
    by_number: dict[int, float] = {}
    for name, count in counts.items():
        nr = arch.syscall_number(name)
        if nr is not None and count > 0:
            by_number[nr] = by_number.get(nr, 0.0) + count
    total = sum(by_number.values())
    return {nr: count / total for nr, count in by_number.items()} if total else {}


@functools.cache
def _prior_shares(arch: Arch) -> dict[int, float]:
    return _shares(arch, prior(arch))


def resolve_arches(policy: Policy, arches: Iterable[str | Arch] | None) -> list[Arch]:
    if arches is None:
        return list(policy.resolved_arches())
    out: list[Arch] = []
    for item in arches:
        # a name, an alias, native, or NAME+compat (as in a policy's arches)
        for arch in (item,) if isinstance(item, Arch) else expand_arch_name(item):
            if arch.name not in {a.name for a in out}:
                out.append(arch)
    if not out:
        raise CompileError("no architecture to compile for")
    return out


def compile_policy(
    policy: Policy,
    arches: Iterable[str | Arch] | None = None,
    *,
    frequency: FrequencyProfile | None = None,
    optimize: bool = True,
    search: Search = "balanced",
) -> Program:
    """Compile ``policy`` for its architectures (or ``arches``) into one program.

    ``frequency`` (per architecture name, per system call name) puts frequent calls near the
    root of the search tree. The result decides every ``seccomp_data`` exactly as
    ``policy.evaluate`` does, whatever the options.

    ``search`` says how an argument block tests a set of values (``in``, runs of ``==``
    rules): ``"balanced"`` (the default) in ``O(log n)`` comparisons, which takes a few more
    instructions than testing them one after another (1,000 spread values of ``ioctl``'s
    argument: 1,099 instructions, worst path 31), and a program that does not fit the
    kernel's limit that way is compiled again with compact searches; ``"compact"`` one after
    another, the fewest instructions (libseccomp's length: 1,017) for a worst path that grows
    with the set (1,009). When the program does not fit, :class:`CompileError` names the
    architectures, the largest argument blocks and the rules in them. An unknown ``search``
    is a :class:`ValueError`.
    """
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {', '.join(map(repr, SEARCHES))}, not {search!r}")
    chosen = resolve_arches(policy, arches)
    if search == "balanced":
        compiler = _Compiler(policy, chosen, frequency)
        try:
            return compiler.run().build(optimize=optimize)
        except InvalidProgramError:
            pass
    compiler = _Compiler(policy, chosen, frequency, compact=True)
    try:
        return compiler.run().build(optimize=optimize)
    except InvalidProgramError as error:
        raise CompileError(_too_large(policy, compiler, error)) from error


def _too_large(policy: Policy, compiler: _Compiler, error: InvalidProgramError) -> str:
    """Why the program does not fit: instructions per architecture, and the largest argument
    blocks with the rules in them (each block written alone)."""
    sizes = [
        (writer.standalone_length(root), name, sorted(rules))
        for writer, root, name, rules in compiler.blocks
    ]
    sizes.sort(key=lambda item: (-item[0], item[1]))
    sections = ", ".join(f"{name}: {size}" for name, size in compiler.section_sizes.items())
    blocks = "; ".join(
        f"{name} ({size} instructions, {_rule_list(policy, rules)})"
        for size, name, rules in sizes[:5]
    )
    return (
        f"the compiled program does not fit: {error.reason}. Instructions per architecture: "
        f"{sections}. Largest argument blocks: {blocks or 'none'}"
    )


def _rule_list(policy: Policy, indexes: list[int]) -> str:
    """``rules 3, 7 (policy.yaml:12:5, ...)`` for the first few of ``indexes``."""
    shown = indexes[:4]
    words = ", ".join(str(index + 1) for index in shown)
    more = f" and {len(indexes) - len(shown)} more" if len(indexes) > len(shown) else ""
    places = [str(policy.rules[i].location) for i in shown if policy.rules[i].location]
    where = f" at {', '.join(places)}" if places else ""
    return f"rule{'s' if len(indexes) > 1 else ''} {words}{more}{where}"
