"""``diff``: where two filters (policies or programs, in any mix) decide differently, exactly.

Both sides become behaviours (:mod:`seccomp_bpf.explain.behaviour`; a program through the
symbolic execution, a policy straight from its meaning). For each ``AUDIT_ARCH`` value their
number ranges are overlaid, cut also where the ABI changes (x32, MIPS), and within each piece
the two partitions of argument space are intersected region by region: every non-empty
intersection with two different actions is a difference, reported with an example call taken
from the region. No difference means the two decide every call alike.

"Allows" means ``ALLOW`` or ``LOG``. ``A`` is a subset of ``B`` when no call that ``A``
allows is refused by ``B`` (:attr:`Difference.subset_violations` is empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch import Arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.explain.behaviour import (
    FilterBehaviour,
    abi_ranges,
    known_audit_values,
    overlay,
    policy_behaviour,
)
from seccomp_bpf.explain.decompiler import examined_arches
from seccomp_bpf.explain.summary import allows, compress
from seccomp_bpf.explain.symbolic import program_behaviour
from seccomp_bpf.policy import Action, Condition, Policy
from seccomp_bpf.policy.decisions import Partition
from seccomp_bpf.policy.semantics import (
    Arguments,
    Region,
    region_condition,
    region_intersect,
    region_sample,
)

Filter = Policy | Program
_NAMES_KEPT: Final = 64  # names of a case kept (the count is exact)


def behaviour_of(subject: Filter, audits: Sequence[int] | None = None) -> FilterBehaviour:
    """The behaviour of a policy or a program on ``audits`` (default: every known one)."""
    if isinstance(subject, Policy):
        return policy_behaviour(subject, audits)
    if isinstance(subject, Program):
        return program_behaviour(subject, audits)
    raise TypeError(f"a policy or a program, not {subject!r}")


@dataclass(frozen=True)
class DifferenceCase:
    """Calls that the two sides decide differently: ``left`` and ``right`` are their actions.

    ``arch`` is the ABI (``None`` for foreign architectures); ``numbers`` the ranges of
    system call numbers concerned and ``syscalls`` their names on that ABI (at most 64 kept;
    ``syscall_count`` is exact); ``condition`` the region of arguments (``None``: any).
    ``audit``, ``nr``, ``args`` and ``ip`` are one such call.
    """

    arch: str | None
    numbers: tuple[tuple[int, int], ...]
    syscalls: tuple[str, ...]
    syscall_count: int
    condition: Condition | None
    left: Action
    right: Action
    audit: int
    nr: int
    args: Arguments
    ip: int

    def describe(self) -> str:
        where = self.arch or f"architecture {self.audit:#010x}"
        if self.syscalls:
            what = compress(self.syscalls[: self.syscall_count])
            if self.syscall_count > len(self.syscalls):
                what += f" and {self.syscall_count - len(self.syscalls)} more"
            unnamed = _count(self.numbers) - self.syscall_count
            if unnamed > 0:
                what += f" (and {unnamed} numbers no table names)"
        else:
            what = ", ".join(str(lo) if lo == hi else f"{lo}..{hi}" for lo, hi in self.numbers[:4])
            if len(self.numbers) > 4:
                what += f" and {len(self.numbers) - 4} more ranges"
        when = f" when {self.condition}" if self.condition is not None else ""
        args = ", ".join(hex(a) for a in self.args)
        return (
            f"{where}: {what}{when}: {self.left.describe()} vs {self.right.describe()} "
            f"(e.g. nr {self.nr}, args ({args}), ip {self.ip:#x})"
        )


def _count(ranges: Sequence[tuple[int, int]]) -> int:
    return sum(hi - lo + 1 for lo, hi in ranges)


@dataclass(frozen=True)
class Difference:
    """The result of :func:`diff`. ``exact`` is False when a program used something the
    model cannot express (``notes`` say what); the cases are then a best effort."""

    cases: tuple[DifferenceCase, ...]
    exact: bool
    notes: tuple[str, ...]

    @property
    def equivalent(self) -> bool:
        return not self.cases

    @property
    def subset_violations(self) -> tuple[DifferenceCase, ...]:
        """Cases where the left side allows and the right side does not."""
        return tuple(c for c in self.cases if allows(c.left) and not allows(c.right))

    @property
    def is_subset(self) -> bool:
        """Whether the left side allows nothing that the right side refuses."""
        return not self.subset_violations

    def lines(self) -> list[str]:
        return [case.describe() for case in self.cases]


def _names(arch: Arch, ranges: Sequence[tuple[int, int]]) -> tuple[list[str], int, int | None]:
    """Names of ``arch``'s table within the ranges (at most _NAMES_KEPT), their count, and the
    first named number."""
    names: list[str] = []
    count = 0
    first: int | None = None
    for nr in sorted(set(arch.syscalls.values())):
        if any(lo <= nr <= hi for lo, hi in ranges):
            count += 1
            if first is None:
                first = nr
            if len(names) < _NAMES_KEPT:
                names.append(arch.syscall_name(nr) or str(nr))
    return names, count, first


def _cases_for(
    arch: Arch,
    audit: int,
    ranges: list[tuple[int, int]],
    differences: list[tuple[Region, Action, Action]],
) -> list[DifferenceCase]:
    names, count, first = _names(arch, ranges)
    nr = first if first is not None else ranges[0][0]
    out = []
    for region, left, right in differences:
        args, ip = region_sample(region)
        out.append(
            DifferenceCase(
                arch=arch.name,
                numbers=tuple(ranges),
                syscalls=tuple(names),
                syscall_count=count,
                condition=region_condition(region),
                left=left,
                right=right,
                audit=audit,
                nr=nr,
                args=args,
                ip=ip,
            )
        )
    return out


def compare(
    a: FilterBehaviour, b: FilterBehaviour, arches: Sequence[Arch] | None = None
) -> list[DifferenceCase]:
    """Every difference between two behaviours, on the ``arches`` ABIs (default: all of
    them and foreign architectures)."""
    wanted = None if arches is None else {arch.name for arch in arches}
    cases: list[DifferenceCase] = []
    for audit in a.audits:
        if audit not in b.audits:
            continue
        ranges = abi_ranges(audit)
        # Pieces with the same pair of partitions on one ABI form one case.
        grouped: dict[tuple[str, Partition, Partition], list[tuple[int, int]]] = {}
        abi_of: dict[str, Arch] = {}
        for low, high, left, right in overlay(
            a.audits[audit], b.audits[audit], [r[0] for r in ranges]
        ):
            if left == right:
                continue
            abi = next(arch for lo, hi, arch in ranges if lo <= low <= hi)
            if wanted is not None and abi.name not in wanted:
                continue
            abi_of[abi.name] = abi
            pieces = grouped.setdefault((abi.name, left, right), [])
            if pieces and pieces[-1][1] + 1 == low:
                pieces[-1] = (pieces[-1][0], high)
            else:
                pieces.append((low, high))
        memo: dict[tuple[Partition, Partition], list[tuple[Region, Action, Action]]] = {}
        for (name, left, right), pieces in grouped.items():
            key = (left, right)
            if key not in memo:
                memo[key] = left.differences(right)
            if memo[key]:
                cases += _cases_for(abi_of[name], audit, pieces, memo[key])
    if wanted is None:
        cases += _foreign_cases(a, b)
    return cases


def _foreign_cases(a: FilterBehaviour, b: FilterBehaviour) -> list[DifferenceCase]:
    cases: list[DifferenceCase] = []
    for leaf_a in a.foreign:
        for leaf_b in b.foreign:
            if leaf_a.action == leaf_b.action:
                continue
            arches = leaf_a.arches.intersect(leaf_b.arches)
            numbers = leaf_a.numbers.intersect(leaf_b.numbers)
            region = region_intersect(leaf_a.region, leaf_b.region)
            if arches.is_empty or numbers.is_empty or region is None:
                continue
            args, ip = region_sample(region)
            nr = numbers.sample()
            cases.append(
                DifferenceCase(
                    arch=None,
                    numbers=((nr, nr),) if not numbers.is_full else ((0, 0xFFFFFFFF),),
                    syscalls=(),
                    syscall_count=0,
                    condition=region_condition(region),
                    left=leaf_a.action,
                    right=leaf_b.action,
                    audit=arches.sample(),
                    nr=nr,
                    args=args,
                    ip=ip,
                )
            )
    return cases


def diff(a: Filter, b: Filter, arches: Sequence[Arch | str] | None = None) -> Difference:
    """Compare two policies or programs exactly (see the module docstring).

    With ``arches``, only calls of those ABIs are compared (foreign architectures are not).
    """
    chosen = None if arches is None else examined_arches(arches)
    audits = (
        list(known_audit_values())
        if chosen is None
        else sorted({arch.audit_arch for arch in chosen})
    )
    left, right = behaviour_of(a, audits), behaviour_of(b, audits)
    cases = compare(left, right, chosen)
    notes = tuple(dict.fromkeys((*left.notes, *right.notes)))
    return Difference(tuple(cases), left.exact and right.exact, notes)
