"""SB002 foreign-abi-allowed, SB003 x32-allowed, SB004 i386-allowed: calls of another ABI
that reaches the same kernel get through what this one denies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from seccomp_bpf.arch import Arch, all_arches, dispatched_arch, dispatched_arches, get_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.explain.audit.checks.dangerous import DANGEROUS_SYSCALLS
from seccomp_bpf.explain.audit.findings import Severity, Sink, names_text, undecided
from seccomp_bpf.explain.audit.flow import ProgramFlow, ProgramOracle
from seccomp_bpf.explain.audit.view import ArchView, is_denial, is_permissive
from seccomp_bpf.policy.policy import Policy


def abis_reaching(arch: Arch) -> tuple[Arch, ...]:
    """The other ABIs whose system calls can reach a process of ABI ``arch``.

    Its kernel's compat ABIs (:attr:`Arch.compat`: i386 and x32 on x86-64, arm on arm64...);
    on MIPS every ABI of the same byte order, because the number picks the table
    (:func:`~seccomp_bpf.arch.dispatched_arches`); and from i386, x86-64 and x32, since a
    32-bit x86 process can switch to 64-bit code on a 64-bit kernel and make those calls.
    """
    names: list[str] = list(arch.compat)
    names.extend(other.name for other in dispatched_arches(arch.audit_arch))
    if arch.name == "i386":
        names.extend(("x86_64", "x32"))
    out: list[Arch] = []
    for name in names:
        other = get_arch(name)
        if other.name != arch.name and other not in out:
            out.append(other)
    return tuple(out)


def _abi_check(abi: Arch) -> tuple[str, str]:
    """The check id for calls of ``abi`` getting through, and how such calls are made."""
    if abi.name == "x32":
        return "SB003", " (numbers with bit 30 set)"
    if abi.name == "i386":
        return "SB004", " (int 0x80)"
    return "SB002", ""


def dangerous_first(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda name: (name not in DANGEROUS_SYSCALLS, name))


def check_abis(policy: Policy, views: Sequence[ArchView], sink: Sink) -> None:
    """SB002, SB003, SB004 on a policy: ABIs that are not listed get bad_arch_action."""
    bad = policy.bad_arch_action
    if not is_permissive(bad):
        return
    listed = [view.arch.name for view in views]
    # other ABI -> (the listed ABIs it reaches, the names one of them denies)
    through: dict[str, tuple[list[str], set[str]]] = {}
    for view in views:
        for other in abis_reaching(view.arch):
            if other.name in listed:
                continue
            reached, denied = through.setdefault(other.name, ([], set()))
            with undecided(sink, f"{view.arch.name}: calls of {other.name}"):
                names = {
                    name
                    for name, nr in view.arch.syscalls.items()
                    if name in other.syscalls and view.first(nr, is_denial) is not None
                }
                if names:
                    reached.append(view.arch.name)
                    denied |= names
    for name, (reached, denied) in through.items():
        if not denied:
            continue
        other = get_arch(name)
        check, how = _abi_check(other)
        sink.add(
            check,
            Severity.CRITICAL,
            f"{other.name} system calls{how} get bad_arch_action {bad.describe()}: every one "
            f"runs, including what {' and '.join(reached)} "
            f"{'denies' if len(reached) == 1 else 'deny'}: "
            f"{names_text(dangerous_first(denied))}",
            (other,),
        )
    if not through:
        sink.add(
            "SB002",
            Severity.INFO,
            f"bad_arch_action is {bad.describe()}: harmless where only {', '.join(listed)} "
            "reach the kernel, but every call of any other ABI is allowed",
        )


def check_program_abis(program: Program, handled: Sequence[Arch], sink: Sink) -> None:
    """SB002, SB003, SB004 on a program: run the calls of each ABI that reaches a handled one,
    and report the names a handled ABI denies for arguments that the other allows."""
    oracle = ProgramOracle(program)
    others: list[Arch] = []
    for arch in handled:
        others.extend(o for o in abis_reaching(arch) if o not in others)
    for other in others:
        audits = ProgramOracle.audits_of(other)
        allowed: dict[str, list[bool]] = {
            name: [
                any(column)
                for column in zip(*(oracle.allowed(audit, nr) for audit in audits), strict=True)
            ]
            for name, nr in other.syscalls.items()
        }
        reached: list[str] = []
        through: set[str] = set()
        for arch in handled:
            if arch == other or other not in abis_reaching(arch):
                continue
            names = {
                name
                for name, own in arch.syscalls.items()
                if name in allowed
                and any(
                    a and d
                    for a, d in zip(allowed[name], oracle.denied(arch.audit_arch, own), strict=True)
                )
            }
            if names:
                reached.append(arch.name)
                through |= names
        if not through:
            continue
        check, how = _abi_check(other)
        denies = f"{' and '.join(reached)} {'denies' if len(reached) == 1 else 'deny'}"
        listing = names_text(dangerous_first(through))
        if all(all(vector) for vector in allowed.values()):
            severity = Severity.CRITICAL
            message = f"every {other.name} system call{how} is allowed, including what {denies}"
        else:
            severity = Severity.HIGH
            message = f"{other.name} system calls{how} get through what {denies}"
        sink.add(check, severity, f"{message}: {listing}", (other,))


def handled_abis(flow: ProgramFlow, default: Arch, arches: Sequence[Arch] | None) -> list[Arch]:
    """The ABIs a program was written for: those whose architecture value it compares with
    (the first ABI of each value: x86-64 for AUDIT_ARCH_X86_64), or ``default`` when it
    compares none; only ``arches`` when given."""
    compared = {dispatched_arch(audit, 0) for audit in flow.audits}
    out = [arch for arch in all_arches() if arch in compared] or [default]
    if arches is not None:
        out = [arch for arch in out if arch in arches]
    return out
