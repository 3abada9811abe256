"""Rules as libseccomp keeps them: argument comparisons (:class:`Arg`), one rule per
architecture after name resolution and multiplexer rewriting, and the order the model tries
them in (see the package docstring)."""

from __future__ import annotations

import errno as errno_codes
from collections.abc import Sequence
from dataclasses import dataclass, field

from seccomp_bpf.arch import Arch as ArchInfo
from seccomp_bpf.arch import native_arch
from seccomp_bpf.errors import LibseccompError
from seccomp_bpf.libseccomp.constants import (
    ARG_COUNT_MAX,
    MASKED_EQ,
    OPERATION_NAMES,
    OPERATIONS,
    U32,
    U64,
    action_name,
)
from seccomp_bpf.libseccomp.syscalls import NR_SCMP_ERROR, check_name, native_name
from seccomp_bpf.policy.conditions import BY_OPERATION, All, Condition, MaskedEqual, ValueComparison
from seccomp_bpf.policy.diagrams import Diagrams
from seccomp_bpf.policy.resolution import mirror_condition


def unsigned(value: object, bits: int, what: str) -> int:
    """A C unsigned integer as Cython converts one: OverflowError outside its range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise OverflowError(f"can't convert negative value to a {bits}-bit unsigned {what}")
    if value >> bits:
        raise OverflowError(f"{what} {value} does not fit in {bits} bits")
    return value


class Arg:
    """One argument comparison: ``Arg(arg, op, datum_a, datum_b=0)``.

    ``op`` is one of ``NE LT LE EQ GE GT`` (argument ``arg`` against ``datum_a``) or
    ``MASKED_EQ``: ``(arg & datum_a) == (datum_b & datum_a)``, as ``SCMP_CMP(arg,
    SCMP_CMP_MASKED_EQ, mask, datum)`` in C (the binding's docstring has the two swapped; its
    code, like libseccomp, takes the mask first). Values are 64-bit unsigned; an invalid
    argument number or operator is refused when the rule is added (``-EINVAL``).
    """

    __slots__ = ("_arg", "_datum_a", "_datum_b", "_op")

    def __init__(self, arg: int, op: int, datum_a: int, datum_b: int = 0) -> None:
        self._arg = unsigned(arg, 32, "argument number")
        if isinstance(op, bool) or not isinstance(op, int):
            raise TypeError("op must be an int such as EQ")
        self._op = op
        self._datum_a = unsigned(datum_a, 64, "datum_a")
        self._datum_b = unsigned(datum_b, 64, "datum_b")

    @property
    def arg(self) -> int:
        return self._arg

    @property
    def op(self) -> int:
        return self._op

    @property
    def datum_a(self) -> int:
        return self._datum_a

    @property
    def datum_b(self) -> int:
        return self._datum_b

    def __repr__(self) -> str:
        name = OPERATION_NAMES.get(self._op, str(self._op))
        extra = f", {self._datum_b:#x}" if self._op == MASKED_EQ else ""
        return f"Arg({self._arg}, {name}, {self._datum_a:#x}{extra})"


@dataclass(frozen=True, slots=True)
class FilterRule:
    """One rule on one architecture, after name resolution and multiplexer rewriting."""

    nr: int
    action: int
    condition: Condition | None
    key: tuple[object, ...]  # what makes two rules "the same rule" for -EEXIST
    call: str  # the add_rule call it came from, for export_pfc
    via: str | None = None


@dataclass
class FilterState:
    default: int
    arches: list[ArchInfo]
    rules: dict[str, list[FilterRule]]
    attributes: dict[int, int]
    priorities: dict[str, int] = field(default_factory=dict)


def library_error(code: int, detail: str) -> LibseccompError:
    return LibseccompError(code, detail)


def system_failure(code: int | None, detail: str, *, raw: bool) -> LibseccompError:
    """A failed system call as libseccomp reports it: ``-ECANCELED``, or its errno with
    ``Attr.API_SYSRAWRC`` (``raw``)."""
    return LibseccompError(
        (code or errno_codes.ECANCELED) if raw else errno_codes.ECANCELED, detail
    )


def comparison_key(args: Sequence[Arg]) -> tuple[tuple[int, str, int, int], ...]:
    """libseccomp's reading of the comparisons: ``(arg, op, mask, datum)`` sorted by argument;
    for MASKED_EQ ``mask`` is ``datum_a`` and the datum is masked (``_db_node_mask_fixup``),
    and a zero mask, which tests nothing, is left out (``_db_rule_gen_64``)."""
    out: list[tuple[int, str, int, int]] = []
    for item in args:
        name = OPERATIONS[item.op].operation
        if item.op == MASKED_EQ:
            if not item.datum_a:
                continue  # (a & 0) == 0 always holds: libseccomp drops it, and so the rule
                # counts as one without comparisons
            out.append((item.arg, name, item.datum_a, item.datum_b & item.datum_a))
        else:
            out.append((item.arg, name, U64, item.datum_a))
    return tuple(sorted(out))


def condition_of(key: Sequence[tuple[int, str, int, int]]) -> Condition | None:
    parts: list[Condition] = []
    for arg, name, mask, datum in key:
        kind = BY_OPERATION[name]
        if kind is MaskedEqual:
            parts.append(MaskedEqual(arg, mask, datum))
        else:
            assert issubclass(kind, ValueComparison)
            parts.append(kind(arg, datum))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def call_text(method: str, action: int, syscall: int | str, args: Sequence[Arg]) -> str:
    shown = ", ".join([action_name(action), repr(syscall), *(repr(a) for a in args)])
    return f"{method}({shown})"


def check_argument_objects(args: Sequence[object]) -> None:
    """At most six comparisons, each an :class:`Arg` (what the binding checks first)."""
    if len(args) > ARG_COUNT_MAX:
        raise LibseccompError(
            errno_codes.EINVAL,
            f"at most {ARG_COUNT_MAX} comparisons",
            message="Maximum number of arguments exceeded",
        )
    for item in args:
        if not isinstance(item, Arg):
            raise TypeError(f"Cannot convert {type(item).__name__} to seccomp.Arg")


def check_comparisons(args: Sequence[Arg]) -> None:
    """What libseccomp refuses in a rule's comparisons (``-EINVAL``): an argument beyond the
    sixth or compared twice, an unknown operator."""
    seen_args: set[int] = set()
    for item in args:
        if item.arg >= ARG_COUNT_MAX:
            raise library_error(errno_codes.EINVAL, f"no argument {item.arg} (0..5)")
        if item.op not in OPERATIONS:
            raise library_error(errno_codes.EINVAL, f"unknown comparison operator {item.op}")
        if item.arg in seen_args:
            raise library_error(
                errno_codes.EINVAL,
                f"argument {item.arg} is compared twice; a rule compares each argument "
                "once (seccomp_rule_add(3)): add one rule per alternative",
            )
        seen_args.add(item.arg)


# libseccomp 2.5.4 refuses an exact rule (seccomp_rule_add_exact) for a call an architecture
# multiplexes, or for the multiplexer, with -EINVAL, except on x86 (src/arch-x86.c), where a
# rule without comparisons becomes the direct call's rule and socketcall's/ipc's for its call
# number, and one with comparisons is -EINVAL (they cannot follow through the pointer).
_EXACT_MULTIPLEXERS_ALLOWED = frozenset({"i386"})


def translate(
    arch: ArchInfo,
    syscall: int | str,
    *,
    action: int,
    key: tuple[tuple[int, str, int, int], ...],
    condition: Condition | None,
    call: str,
    exact: bool,
) -> list[FilterRule]:
    """The rules ``syscall`` becomes on ``arch``: its number there, and the mirror on
    ``socketcall``/``ipc`` (the call number only) where ``arch`` multiplexes it.

    A number is read as libseccomp reads it: in the native table, a pseudo number
    (``__PNR_*``) as the call it stands for (:func:`~.syscalls.native_name`); -1 (allowed
    with ``Attr.API_TSKIP``) is ``seccomp_data.nr`` 0xffffffff, the skipped call.
    """
    native = native_arch()
    name: str | None
    if isinstance(syscall, str):
        check_name(syscall)
        name = syscall
    elif syscall == NR_SCMP_ERROR:
        return [FilterRule(U32, action, condition, (None, key), call)]
    else:
        name = native_name(syscall, call)
        if name is None:
            if arch.name == native.name:
                return [FilterRule(syscall, action, condition, (None, key), call)]
            code = errno_codes.EOPNOTSUPP if exact else errno_codes.EFAULT
            raise library_error(
                code,
                f"{syscall} is not a system call of {native.name}, so it has no "
                f"equivalent on {arch.name}",
            )
    table = arch.syscalls
    direct = table.get(name)
    mirrors = [
        (multiplexer, calls[name])
        for multiplexer, calls in (("socketcall", arch.socketcall), ("ipc", arch.ipc))
        if name in calls and multiplexer in table
    ]
    if exact:
        _check_exact(arch, name, direct, bool(mirrors), condition)
    rules: list[FilterRule] = []
    if direct is not None:
        rules.append(FilterRule(direct, action, condition, (None, key), call))
    for multiplexer, number in mirrors:
        rules.append(
            FilterRule(
                table[multiplexer],
                action,
                mirror_condition(multiplexer, number),
                (multiplexer, number),
                call,
                via=multiplexer,
            )
        )
    return rules


def _check_exact(
    arch: ArchInfo, name: str, direct: int | None, mirrored: bool, condition: Condition | None
) -> None:
    """What ``add_rule_exactly`` refuses on ``arch`` (see ``_EXACT_MULTIPLEXERS_ALLOWED``)."""
    multiplexer = name in ("socketcall", "ipc") and bool(arch.socketcall or arch.ipc)
    if mirrored or multiplexer:
        if arch.name not in _EXACT_MULTIPLEXERS_ALLOWED:
            raise library_error(
                errno_codes.EINVAL,
                f"{arch.name} multiplexes {name!r}; add_rule() would rewrite the rule",
            )
        if condition is not None and mirrored:
            raise library_error(
                errno_codes.EINVAL,
                f"{arch.name} also receives {name!r} through a multiplexer, where its "
                "comparisons cannot follow: add_rule() drops them there",
            )
    if direct is None and not mirrored:
        raise library_error(errno_codes.EOPNOTSUPP, f"{arch.name} does not have {name!r}")


def ordered(arch: ArchInfo, rules: Sequence[FilterRule]) -> list[FilterRule]:
    """The rules of ``arch`` in the order the model tries them (see the package docstring):
    per number, the first rule without conditions alone, or the rules with conditions, each
    tried before any rule whose calls strictly contain its own."""
    diagrams = Diagrams()

    def region(rule: FilterRule) -> int:
        node = diagrams.condition(rule.condition)
        return diagrams.low_words(node) if arch.argument_bits == 32 else node

    def strictly_inside(inner: int, outer: int) -> bool:
        return inner != outer and diagrams.and_(inner, diagrams.not_(outer)) == diagrams.false

    by_nr: dict[int, list[FilterRule]] = {}
    for rule in rules:
        by_nr.setdefault(rule.nr, []).append(rule)
    out: list[FilterRule] = []
    for group in by_nr.values():
        plain = next((r for r in group if r.condition is None), None)
        if plain is not None:
            out.append(plain)
            continue
        remaining = [(rule, region(rule)) for rule in group]
        while remaining:
            pick = next(
                position
                for position, (_, candidate) in enumerate(remaining)
                if not any(strictly_inside(other, candidate) for _, other in remaining)
            )
            out.append(remaining.pop(pick)[0])
    return out
