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
so an x32 (or o32) number can never reach an x86_64 (or n64) rule.

The tree is an optimal alphabetic tree (:mod:`.dispatch`) over the number ranges, weighted by
how many known system calls each range holds, or by a frequency profile, with a limit on how
deep the first-listed ABI's system calls may sit.

Because the tree only ever loads ``nr`` and ``arch`` and compares them with constants, the
kernel's action cache (``seccomp_cache_prepare`` / ``seccomp_is_const_allow`` in
``kernel/seccomp.c``, Linux 5.11+) sees every argument-free ALLOW as constant.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from seccomp_bpf.arch import (
    Arch,
    all_arches,
    dispatch_boundaries,
    dispatched_arch,
    dispatched_arches,
)
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import Label, ProgramBuilder
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler.conditions import ConditionEmitter
from seccomp_bpf.compiler.dispatch import Segment, emit_tree, segments
from seccomp_bpf.compiler.frequency import FrequencyProfile
from seccomp_bpf.compiler.simplify import merge_rules, narrow_to_32_bits
from seccomp_bpf.errors import CompileError, InvalidProgramError
from seccomp_bpf.policy import Action, Condition, Policy, ResolvedArch, ResolvedRule
from seccomp_bpf.policy.policy import expand_arch_name

# Share of the tree's weight given to the architectures other than the primary one.
_SECONDARY_ABI_WEIGHT = 0.05
# With a frequency profile, part of the weight stays uniform so that rarely seen calls do
# not end up at the bottom of a deep tree.
_UNIFORM_SHARE = 0.5
# Every segment weighs at least this (relative to a total of 1), which keeps the tree balanced
# over ranges of unknown numbers.
_SEGMENT_FLOOR = 1e-6
# A leaf with an argument block of t instructions weighs up to 2 ** (t - 1) more: it rises
# about t - 1 levels in the tree, which keeps its whole path short.
_BLOCK_BOOST = 4
# Tree levels plus leaf instructions a path of the primary ABI should stay within (the
# prologue adds 3: load arch, compare, load nr).
_PATH_BUDGET = 10


@dataclass(frozen=True, slots=True)
class ArgumentBlock:
    """The rules for one system call that need its arguments: tried in order, then ``fallback``."""

    rules: tuple[tuple[Condition, int], ...]  # (condition, return value)
    fallback: int


Decision = Hashable  # an int return value, or an ArgumentBlock
Decide = Callable[[int], Decision]
Weigh = Callable[[int, int], float]
Target = Callable[[Decision], Label]


def _decision_for(chain: Sequence[tuple[Condition | None, Action]], fallback: Action) -> Decision:
    """The decision for one number: a constant return value or an argument block.

    Rules after the first unconditional one can never decide, and rules at the end whose
    action equals the fallback do not change the outcome; both are dropped.
    """
    rules: list[tuple[Condition, int]] = []
    final = fallback.ret_value
    for condition, action in chain:
        if condition is None:
            final = action.ret_value
            break
        rules.append((condition, action.ret_value))
    while rules and rules[-1][1] == final:
        rules.pop()
    if not rules:
        return final
    return ArgumentBlock(tuple(merge_rules(rules)), final)


class _ChainDecisions:
    """The decision for each list of entries, made once (rule lists repeat across numbers);
    on an ABI that sees 32-bit arguments, from the rules' narrowed conditions."""

    def __init__(self, default: Action, *, narrow: bool) -> None:
        self.default = default
        self.narrow = narrow
        self.memo: dict[tuple[ResolvedRule, ...], Decision] = {}

    def __call__(self, rules: tuple[ResolvedRule, ...]) -> Decision:
        decision = self.memo.get(rules)
        if decision is None:
            chain = [(rule.condition, rule.action) for rule in rules]
            if self.narrow:
                chain = [
                    (narrow_to_32_bits(c) if c is not None else None, action)
                    for c, action in chain
                ]
            decision = self.memo[rules] = _decision_for(chain, self.default)
        return decision


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
    ) -> None:
        self.policy = policy
        self.arches = list(arches)
        self.frequency = frequency or {}
        self.b = ProgramBuilder()
        self.section_sizes: dict[str, int] = {}
        self.known_sorted: dict[str, list[int]] = {}  # per listed ABI, its table's numbers
        self.owner_of: Callable[[int], _Abi | None] = lambda nr: None  # set per section
        self.block_sizes: dict[str, int] = {}

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
        for audit, label in sections:
            b.jump_if(op.BPF_JEQ, audit, label, None)
        b.ret(self.policy.bad_arch_action.ret_value)
        for audit, label in sections:
            start = len(b)
            b.bind(label)
            self.section(audit, groups[audit], primary)
            names = "+".join(a.name for a in groups[audit]) or f"{audit:#x}"
            self.section_sizes[names] = len(b) - start
        return b

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
        decide, change_points, weigh = self.number_space(audit, abis)
        parts = self.weigh_leaf_costs(segments(change_points, decide, weigh), abis, audit, primary)

        # The tree's returns come right after the tree, so that its leaves stay within a
        # conditional jump's reach; argument blocks follow, with their own returns after them.
        tree_returns: dict[int, Label] = {}
        block_returns: dict[int, Label] = {}
        blocks: dict[ArgumentBlock, Label] = {}
        block_names: dict[ArgumentBlock, str] = {}

        def tree_target(decision: Decision) -> Label:
            if isinstance(decision, ArgumentBlock):
                if decision not in blocks:
                    blocks[decision] = b.label("arguments")
                return blocks[decision]
            assert isinstance(decision, int)
            if decision not in tree_returns:
                tree_returns[decision] = b.label(f"return {decision:#x}")
            return tree_returns[decision]

        def block_target(decision: Decision) -> Label:
            assert isinstance(decision, int)
            if decision not in block_returns:
                block_returns[decision] = b.label(f"return {decision:#x}")
            return block_returns[decision]

        for part in parts:
            if isinstance(part.decision, ArgumentBlock):
                block_names.setdefault(part.decision, self._name_of(audit, part.low))

        if len(parts) > 1:
            b.load(op.OFFSET_NR)
        emit_tree(b, parts, tree_target)
        for value, label in sorted(tree_returns.items()):
            b.bind(label)
            b.ret(value)

        for block, label in blocks.items():
            start = len(b)
            b.bind(label)
            name = block_names[block]
            self.argument_block(block, abis[0].arch.byteorder, block_target)
            self.block_sizes[name] = self.block_sizes.get(name, 0) + len(b) - start
        for value, label in sorted(block_returns.items()):
            b.bind(label)
            b.ret(value)

    def weigh_leaf_costs(
        self, parts: list[Segment], abis: list[_Abi], audit: int, primary: Arch
    ) -> list[Segment]:
        """Account for what a leaf costs after the tree, and limit the primary ABI's depths.

        A leaf that runs an argument block costs more than a RET. In an optimal tree a leaf
        rises about one level each time its weight doubles, so a block leaf weighs
        ``2 ** extra`` more (``extra`` = its instructions beyond one, at most ``_BLOCK_BOOST``).
        Leaves holding numbers of the primary ABI's table get a depth limit so that tree levels
        plus leaf instructions stay within ``_PATH_BUDGET`` (see ``dispatch.limit_depths``).
        """
        costs: dict[ArgumentBlock, int] = {}
        out = []
        for part in parts:
            tail = 1
            if isinstance(part.decision, ArgumentBlock):
                block = part.decision
                if block not in costs:
                    costs[block] = self._block_length(block, abis) + 1
                tail = costs[block]
            # Paths through a block are usually much shorter than the block; count at most
            # _BLOCK_BOOST of its instructions, for the weight and for the depth limit alike.
            extra = min(tail - 1, _BLOCK_BOOST)
            limit = None
            owner = self.owner_of(part.low)
            if (
                owner is not None
                and owner.arch.name == primary.name
                and self._holds_known(primary, part.low, part.high)
            ):
                limit = _PATH_BUDGET - 1 - extra
            out.append(Segment(part.low, part.high, part.decision, part.weight * 2.0**extra, limit))
        return out

    def _block_length(self, block: ArgumentBlock, abis: list[_Abi]) -> int:
        """How many instructions ``block`` takes, emitted alone."""
        scratch = ProgramBuilder()
        # every ABI of one AUDIT_ARCH value has the same byte order
        self.argument_block(block, abis[0].arch.byteorder, lambda _d: scratch.label(), scratch)
        return len(scratch)

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

    def number_space(self, audit: int, abis: list[_Abi]) -> tuple[Decide, list[int], Weigh]:
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
        weights: dict[int, float] = {}
        known_sets: dict[str, set[int]] = {}
        ranged: dict[str, _RangeDecisions] = {}  # per ABI with number ranges

        for abi in abis:
            if not abi.listed:
                continue
            resolved = policy.resolve(abi.arch)
            known = known_sets[abi.arch.name] = set(resolved.known_numbers)
            self.known_sorted[abi.arch.name] = sorted(known)
            decision_of = _ChainDecisions(default, narrow=abi.arch.argument_bits == 32)
            for nr, rules in resolved.rules_by_nr.items():
                if owner_of(nr) is not abi:
                    continue  # a raw number that this AUDIT_ARCH value runs as another ABI's
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
            self._add_weights(abi, known, weights)

        unknown_value = unknown.ret_value if unknown is not None else default.ret_value
        no_numbers: set[int] = set()

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

        ordered = sorted(weights)
        prefix = [0.0]
        for nr in ordered:
            prefix.append(prefix[-1] + weights[nr])

        def weigh(low: int, high: int) -> float:
            first, last = bisect_left(ordered, low), bisect_right(ordered, high)
            return _SEGMENT_FLOOR + prefix[last] - prefix[first]

        return decide, change_points, weigh

    def _add_weights(self, abi: _Abi, known: set[int], weights: dict[int, float]) -> None:
        if not known:
            return
        uniform = 1.0 / len(known)
        counts = self.frequency.get(abi.arch.name, {})
        total = sum(counts.values())
        by_number: dict[int, float] = {}
        if total > 0:
            for name, count in counts.items():
                nr = abi.arch.syscall_number(name)
                if nr is not None:
                    by_number[nr] = by_number.get(nr, 0.0) + count / total
        share = _UNIFORM_SHARE if by_number else 1.0
        for nr in known:
            weights[nr] = abi.weight * (share * uniform + (1 - share) * by_number.get(nr, 0.0))

    # -- argument blocks -------------------------------------------------------------------------

    def argument_block(
        self,
        block: ArgumentBlock,
        byteorder: str,
        target: Target,
        builder: ProgramBuilder | None = None,
    ) -> None:
        b = self.b if builder is None else builder
        emitter = ConditionEmitter(b, byteorder)
        for condition, value in block.rules:
            following = b.label()
            emitter.emit(condition, target(value), following)
            b.bind(following)
        b.jump(target(block.fallback))


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
) -> Program:
    """Compile ``policy`` for its architectures (or ``arches``) into one program.

    ``frequency`` (per architecture name, per system call name) puts frequent calls near the
    root of the search tree. The result decides every ``seccomp_data`` exactly as
    ``policy.evaluate`` does.
    """
    compiler = _Compiler(policy, resolve_arches(policy, arches), frequency)
    builder = compiler.run()
    try:
        return builder.build(optimize=optimize)
    except InvalidProgramError as error:
        biggest = sorted(compiler.block_sizes.items(), key=lambda item: -item[1])[:5]
        sections = ", ".join(f"{name}: {size}" for name, size in compiler.section_sizes.items())
        blocks = ", ".join(f"{name} ({size})" for name, size in biggest)
        raise CompileError(
            f"the compiled program does not fit: {error.reason}. Instructions per architecture: "
            f"{sections}. Largest argument blocks: {blocks or 'none'}"
        ) from error
