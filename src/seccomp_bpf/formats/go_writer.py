"""Write a :class:`Policy` as an elastic/go-seccomp-bpf policy (YAML), where that format can
mean the same.

What go-seccomp-bpf makes of a policy (``filter.go`` and ``assembler.go`` in its source):

- It compiles for the machine it runs on: the file names no architecture. Calls of another
  architecture jump to the last instruction (the last group's action) and, on x86-64, x32
  numbers get ``ENOSYS``; neither is a field of the file.
- Each group returns the default action when none of its system calls matched, so only the
  *first* group of ``syscalls`` ever decides: a policy may use one action besides the default.
- ``names`` match a call whatever its arguments; ``names_with_args`` entries match when all
  of their ``arguments`` hold, several entries for one name being alternatives; a name may
  not be in both. Operations compare all 64 bits: ``Equal NotEqual GreaterThan LessThan
  GreaterOrEqual LessOrEqual``, ``BitsSet`` (some bit of the value is set) and ``BitsNotSet``
  (none is).
- Actions carry no data: ``errno`` is EPERM, ``trap`` and ``trace`` carry 0; there is no
  user notification. It has no ``socketcall``/``ipc`` mirroring and no unknown-syscall action.

So the export needs one architecture that go-seccomp-bpf has tables for (x86_64, i386, arm,
aarch64), at most one action besides the default, actions it has, names rather than numbers,
no instruction-pointer conditions, no ``unknown_syscall_action`` (unless it equals the
default) and no socket or IPC rule that ``socketcall``/``ipc`` would have to mirror. Argument
conditions are written as the rules have them where go-seccomp-bpf's operations say the same
(``masked_eq`` becomes one ``BitsSet`` per bit of the value and a ``BitsNotSet`` for the
bits that must be clear), otherwise as the cells of the decision's diagram
(:mod:`seccomp_bpf.policy.diagrams`). The file is read
back and compared with the policy on its architecture; calls of other architectures are
outside the format (a comment in the file says what go-seccomp-bpf does with them).

Policy flags make the file a go-seccomp-bpf ``Filter`` (``no_new_privs``, ``flag``,
``policy``), which the reader also reads; without flags it is a plain ``Policy``, as Beats
embeds under ``seccomp:``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

from seccomp_bpf.arch import Arch
from seccomp_bpf.errors import ConversionError
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.formats.yaml_writer import scalar
from seccomp_bpf.policy.actions import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    TRACE,
    TRAP,
    Action,
)
from seccomp_bpf.policy.conditions import (
    All,
    BitsClear,
    BitsSet,
    Comparison,
    Condition,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    InRange,
    InSet,
    LessOrEqual,
    LessThan,
    MaskedEqual,
    Not,
    NotEqual,
    NotInSet,
    ValueComparison,
)
from seccomp_bpf.policy.diagrams import (
    IP_TARGET,
    Diagrams,
    DiagramTooLargeError,
    decision_differences,
    syscall_decision,
    variable_target,
)
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import MULTIPLEXERS, rule_label
from seccomp_bpf.policy.rules import NumberRange
from seccomp_bpf.policy.values import Within

GO_ARCHES: Final = ("x86_64", "i386", "arm", "aarch64")
"""The architectures go-seccomp-bpf has system call tables for (its README)."""

_ACTIONS: Final[dict[Action, str]] = {
    ALLOW: "allow",
    LOG: "log",
    KILL_THREAD: "kill_thread",
    KILL_PROCESS: "kill_process",
    TRAP(0): "trap",
    ERRNO(1): "errno",  # go-seccomp-bpf: Ret(ActionErrno) adds EPERM
    TRACE(0): "trace",
}
# filter.go: the bits of FilterFlag are the kernel's SECCOMP_FILTER_FLAG_* (<linux/seccomp.h>).
_FLAG_BITS: Final[dict[str, int]] = {
    "tsync": 1,
    "log": 2,
    "spec_allow": 4,
    "new_listener": 8,
    "tsync_esrch": 16,
    "wait_killable_recv": 32,
}
# go-seccomp-bpf's operations that are comparisons of the model (the names are the same).
_SIMPLE: Final[dict[str, type[ValueComparison]]] = {
    cls.__name__: cls
    for cls in (Equal, NotEqual, LessThan, GreaterOrEqual, LessOrEqual, GreaterThan)
}
_MASK32: Final = 0xFFFFFFFF
_MASK64: Final = (1 << 64) - 1
_MAX_ALTERNATIVES: Final = 256
_MAX_CELLS: Final = 1024


@dataclass(frozen=True, slots=True)
class GoCondition:
    """One go-seccomp-bpf argument condition."""

    argument: int
    operation: str
    value: int

    def condition(self) -> Condition:
        """What go-seccomp-bpf's assembler tests, as a model condition."""
        simple = _SIMPLE.get(self.operation)
        if simple is not None:
            return simple(self.argument, self.value)
        # BitsSet: some bit set, not all of them clear; BitsNotSet: all clear
        clear = BitsClear(self.argument, self.value)
        return clear if self.operation == _BITS_NOT_SET else Not(clear)


Conjunction = tuple[GoCondition, ...]
_BITS_SET: Final = "BitsSet"
_BITS_NOT_SET: Final = "BitsNotSet"


def _bits(value: int) -> list[int]:
    return [1 << bit for bit in range(64) if value >> bit & 1]


def _masked(arg: int, mask: int, value: int, negated: bool) -> list[Conjunction]:
    """``(arg & mask) == value`` (``value`` inside ``mask``) in go operations: every bit of
    ``value`` set (one ``BitsSet`` each, as ``BitsSet`` means "any") and none of the others."""
    must_be_clear = mask & ~value
    if not negated:
        conjunction = [GoCondition(arg, _BITS_SET, bit) for bit in _bits(value)]
        if must_be_clear:
            conjunction.append(GoCondition(arg, _BITS_NOT_SET, must_be_clear))
        return [tuple(conjunction)]
    alternatives: list[Conjunction] = [
        (GoCondition(arg, _BITS_NOT_SET, bit),) for bit in _bits(value)
    ]
    if must_be_clear:
        alternatives.append((GoCondition(arg, _BITS_SET, must_be_clear),))
    return alternatives


def _go(cmp: ValueComparison) -> GoCondition:
    assert cmp.arg is not None
    return GoCondition(cmp.arg, type(cmp).__name__, cmp.value)


def _comparison(cmp: Comparison, negated: bool) -> list[Conjunction] | None:
    if cmp.arg is None:
        return None
    arg = cmp.arg
    if cmp.width == 32:
        if isinstance(cmp, (Equal, NotEqual)):
            return _masked(arg, _MASK32, cmp.value, isinstance(cmp, NotEqual) != negated)
        if isinstance(cmp, (InSet, NotInSet)):
            if isinstance(cmp, InSet) != negated:
                return [c for v in cmp.values for c in _masked(arg, _MASK32, v, False)]
            if len(cmp.values) != 1:
                return None
            return _masked(arg, _MASK32, cmp.values[0], True)
        if not isinstance(cmp, (MaskedEqual, BitsSet, BitsClear)):
            return None
    if isinstance(cmp, ValueComparison):
        chosen = cmp.negation() if negated else cmp
        assert isinstance(chosen, ValueComparison)
        return [(_go(chosen),)]
    if isinstance(cmp, (MaskedEqual, BitsSet, BitsClear)):
        constraint = cmp.constraint()
        assert not isinstance(constraint, Within)
        return _masked(arg, constraint.mask, constraint.value, negated)
    if isinstance(cmp, (InSet, NotInSet)):
        if isinstance(cmp, InSet) != negated:
            return [(GoCondition(arg, "Equal", v),) for v in cmp.values]
        return [tuple(GoCondition(arg, "NotEqual", v) for v in cmp.values)]
    assert isinstance(cmp, InRange)
    low, high = cmp.low, cmp.high
    if negated:
        return [(GoCondition(arg, "LessThan", low),), (GoCondition(arg, "GreaterThan", high),)]
    return [(GoCondition(arg, "GreaterOrEqual", low), GoCondition(arg, "LessOrEqual", high))]


def _alternatives(condition: Condition, negated: bool = False) -> list[Conjunction] | None:
    """``condition`` (or its negation) as an OR of ANDs of go operations, or ``None``."""
    if isinstance(condition, Not):
        return _alternatives(condition.condition, not negated)
    if isinstance(condition, Comparison):
        return _comparison(condition, negated)
    parts = [_alternatives(part, negated) for part in condition.conditions]
    if any(part is None for part in parts):
        return None
    if isinstance(condition, All) == negated:  # an OR
        result = [alt for part in parts if part is not None for alt in part]
        return result if len(result) <= _MAX_ALTERNATIVES else None
    product: list[Conjunction] = [()]
    for part in parts:
        assert part is not None
        product = [left + right for left in product for right in part]
        if len(product) > _MAX_ALTERNATIVES:
            return None
    return product


class _Writer:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.diagrams = Diagrams()

    def refuse(self, rules: Iterable[int], message: str) -> NoReturn:
        indexes = sorted(set(rules))
        prefix = "cannot be written as a go-seccomp-bpf policy"
        if not indexes:
            raise ConversionError(f"{prefix}: {message}")
        rules_text = ", ".join(rule_label(i, self.policy.rules[i]) for i in indexes[:4])
        location = self.policy.rules[indexes[0]].location
        text = f"{rules_text}: {prefix}: {message}"
        if location is None:
            raise ConversionError(text)
        raise ConversionError(
            text, source=location.file, line=location.line, column=location.column
        )

    def action_word(self, action: Action, rules: Iterable[int] = (), what: str = "") -> str:
        word = _ACTIONS.get(action)
        if word is None:
            where = f"{what} " if what else ""
            self.refuse(
                rules,
                f"{where}{action.describe()} is not a go-seccomp-bpf action (it has allow, log, "
                "kill_thread, kill_process, and errno, trap and trace without data: EPERM, 0, 0)",
            )
        return word

    def arch(self) -> Arch:
        arches = self.policy.resolved_arches()
        if len(arches) != 1:
            self.refuse(
                (),
                "go-seccomp-bpf compiles a policy for the one machine it runs on; this "
                f"policy has {len(arches)} architectures ({', '.join(a.name for a in arches)})",
            )
        arch = arches[0]
        if arch.name not in GO_ARCHES:
            self.refuse((), f"go-seccomp-bpf has no system call table for {arch.name}")
        return arch

    def check_multiplexers(self, arch: Arch) -> None:
        """go-seccomp-bpf does not mirror socket and IPC rules onto socketcall/ipc."""
        resolved = self.policy.resolve(arch)
        diagrams = self.diagrams
        for name in MULTIPLEXERS:
            nr = arch.syscalls.get(name)
            if nr is None:
                continue
            entries = resolved.rules_by_nr.get(nr, ())
            mirrored = [e for e in entries if e.via is not None]
            if not mirrored:
                continue
            fallback = self.policy.default_action
            with_mirrors = diagrams.first_match(
                [(e.condition, e.action) for e in entries], fallback
            )
            without = diagrams.first_match(
                [(e.condition, e.action) for e in entries if e.via is None], fallback
            )
            if arch.argument_bits == 32:
                with_mirrors = diagrams.low_words(with_mirrors)
                without = diagrams.low_words(without)
            if with_mirrors != without:
                self.refuse(
                    {e.rule_index for e in mirrored},
                    f"on {arch.name} these rules also apply through {name}(2), which "
                    "go-seccomp-bpf does not do",
                )

    def write(self) -> str:
        policy = self.policy
        if policy.sandbox is not None:
            raise policy.sandbox.refusal(
                "cannot be written as a go-seccomp-bpf policy: "
                "the policy has a sandbox section (filesystem and network grants, "
                "capabilities, namespaces), which go-seccomp-bpf has no place for; remove the "
                "section to export the filter alone"
            )
        policy.validate()
        if policy.newer_syscall_action is not None:
            self.refuse(
                (),
                f"go-seccomp-bpf has no newer-syscall action (the policy's is "
                f"{policy.newer_syscall_action.describe()}); remove the setting to export "
                "the rest",
            )
        arch = self.arch()
        default = policy.default_action
        default_word = self.action_word(default, what="default_action")
        unknown = policy.unknown_syscall_action
        if unknown is not None and unknown != default:
            self.refuse(
                (),
                f"go-seccomp-bpf has no unknown-syscall action (the policy's is "
                f"{unknown.describe()}); unknown numbers get the default action there",
            )
        self.check_multiplexers(arch)
        for index, rule in enumerate(policy.rules):
            for item in rule.syscalls:
                if isinstance(item, NumberRange):
                    self.refuse({index}, f"go-seccomp-bpf names system calls, not numbers {item}")
            if rule.audit_arches is not None:
                self.refuse({index}, "go-seccomp-bpf cannot limit a rule to some AUDIT_ARCH values")
        diagrams = self.diagrams
        resolved = policy.resolve(arch)
        default_leaf = diagrams.leaf(default)
        decisions: list[tuple[int, int, set[int]]] = []  # (nr, decision, rules)
        actions: dict[Action, set[int]] = {}
        for nr in sorted(
            resolved.rules_by_nr, key=lambda n: min(e.rule_index for e in resolved.rules_by_nr[n])
        ):
            decision = syscall_decision(diagrams, policy, arch, nr)
            if decision == default_leaf:
                continue
            rules = {e.rule_index for e in resolved.rules_by_nr[nr]}
            for value in diagrams.leaves(decision):
                assert isinstance(value, Action)
                if value != default:
                    actions.setdefault(value, set()).update(rules)
            decisions.append((nr, decision, rules))
        if len(actions) > 1:
            shown = ", ".join(a.describe() for a in actions)
            self.refuse(
                set().union(*actions.values()),
                "go-seccomp-bpf applies only its first group of system calls (each group "
                "returns the default action when it does not match), and this policy needs "
                f"{len(actions)} actions besides the default: {shown}",
            )
        if actions:
            (action,) = actions
            group_word = self.action_word(action, actions[action])
        else:
            action = default
            group_word = default_word
        names: list[str] = []
        with_args: list[tuple[str, list[Conjunction]]] = []
        for nr, decision, rules in decisions:
            name = arch.syscall_name(nr)
            if name is None:
                self.refuse(rules, f"system call number {nr} has no name on {arch.name}")
            if diagrams.is_leaf(decision):
                names.append(name)
                continue
            if any(variable_target(v) == IP_TARGET for v in diagrams.variables(decision)):
                self.refuse(
                    rules, f"{name!r}: go-seccomp-bpf cannot compare the instruction pointer"
                )
            region = diagrams.equals_leaf(decision, action)
            with_args.append(
                (name, self.conditions(name, nr, arch, region=region, action=action, rules=rules))
            )
        if not names and not with_args:
            # go-seccomp-bpf refuses an empty syscalls list; a group whose action is the
            # default changes nothing.
            first = min(arch.syscalls.values())
            names.append(arch.syscall_name(first) or "read")
        text = self.render(arch, default_word, group_word, names, with_args)
        self.verify(arch, text)
        return text

    def conditions(
        self, name: str, nr: int, arch: Arch, *, region: int, action: Action, rules: set[int]
    ) -> list[Conjunction]:
        """The alternatives under which ``name`` gets ``action``: the rules' own conditions
        when they say exactly that, else the cells of the decision."""
        diagrams = self.diagrams
        entries = self.policy.resolve(arch).rules_by_nr[nr]
        # go-seccomp-bpf compares all 64 bits; on an ABI whose calls see 32-bit arguments
        # the model compares their low words, which only the cells (low bits only) say.
        written: list[Conjunction] | None = [] if arch.argument_bits == 64 else None
        for entry in entries if written is not None else ():
            if entry.condition is None:
                break
            if entry.action != action:
                continue
            alternatives = _alternatives(entry.condition)
            if alternatives is None or written is None:
                written = None
                break
            written.extend(alternatives)
        if written is not None and self.meaning(written) == region:
            return written
        try:
            cells = list(diagrams.cells(region, limit=_MAX_CELLS, skip=False))
        except DiagramTooLargeError:
            self.refuse(rules, f"{name!r} would need more than {_MAX_CELLS} entries")
        result: list[Conjunction] = []
        for _, cell in cells:
            conjunction: list[GoCondition] = []
            for target, mask, value in cell.tests:
                if mask == _MASK64:
                    conjunction.append(GoCondition(target, "Equal", value))
                else:
                    conjunction.extend(_masked(target, mask, value, False)[0])
            result.append(tuple(conjunction))
        return result

    def meaning(self, alternatives: Sequence[Conjunction]) -> int:
        diagrams = self.diagrams
        node = diagrams.false
        for conjunction in alternatives:
            part = diagrams.true
            for item in conjunction:
                part = diagrams.and_(part, diagrams.condition(item.condition()))
            node = diagrams.or_(node, part)
        return node

    def render(
        self,
        arch: Arch,
        default_word: str,
        group_word: str,
        names: list[str],
        with_args: list[tuple[str, list[Conjunction]]],
    ) -> str:
        policy = self.policy
        source = f" from {policy.source}" if policy.source else ""
        lines = [
            f"# go-seccomp-bpf policy written by seccomp-bpf{source}, for {arch.name}.",
            "# go-seccomp-bpf compiles it for the machine it runs on; calls of other",
            "# architectures get the group's action there (and x32 calls on x86_64 ENOSYS),",
            f"# where this policy's bad_arch_action is {policy.bad_arch_action.describe()}.",
        ]
        indent = ""
        if policy.flags:
            bits = sum(_FLAG_BITS[flag] for flag in policy.flags)
            lines += [
                "no_new_privs: true",
                f"flag: {bits}  # {'|'.join(policy.flags)}",
                "policy:",
            ]
            indent = "  "
        lines.append(f"{indent}default_action: {default_word}")
        lines.append(f"{indent}syscalls:")
        lines.append(f"{indent}  - action: {group_word}")
        if names:
            lines.append(f"{indent}    names:")
            lines.extend(f"{indent}      - {scalar(name)}" for name in names)
        if with_args:
            lines.append(f"{indent}    names_with_args:")
            for name, alternatives in with_args:
                for conjunction in alternatives:
                    lines.append(f"{indent}      - name: {scalar(name)}")
                    lines.append(f"{indent}        arguments:")
                    for item in conjunction:
                        lines.append(f"{indent}          - argument: {item.argument}")
                        lines.append(f"{indent}            operation: {item.operation}")
                        lines.append(f"{indent}            value: {item.value}")
        return "\n".join(lines) + "\n"

    def verify(self, arch: Arch, text: str) -> None:
        theirs = load_yaml_policy(text, source="<go-seccomp-bpf policy>", arches=[arch.name])
        differences = decision_differences(self.diagrams, self.policy, theirs, [arch])
        if differences:
            nr = differences[0].nr
            rules: set[int] = set()
            if nr is not None:
                rules = {e.rule_index for e in self.policy.resolve(arch).rules_by_nr.get(nr, ())}
            self.refuse(rules, f"system call {nr} on {arch.name} would be decided otherwise")


def to_go_seccomp_bpf(policy: Policy) -> str:
    """The policy as go-seccomp-bpf YAML; raises :class:`~seccomp_bpf.errors.ConversionError`
    when go-seccomp-bpf cannot mean the same (see the module docstring)."""
    return _Writer(policy).write()
