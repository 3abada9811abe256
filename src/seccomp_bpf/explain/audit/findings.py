"""The finding model: how bad (:class:`Severity`), which kind of weakness (:class:`Check`,
registered in :data:`CHECKS` with its id, the severities its findings get, its title and its
text), one weakness found (:class:`Finding`), an audit's result (:class:`AuditReport`), and
the :class:`Sink` the checks add their findings to."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal

from seccomp_bpf.arch import Arch
from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.explain.audit.view import Outcome
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.rules import SourceLocation


class Severity(enum.IntEnum):
    """How bad a finding is; ordered, so ``finding.severity >= Severity.HIGH`` works."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """``info``, ``low``, ``medium``, ``high`` or ``critical``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None

    def lowered(self) -> Severity:
        """One level lower, but never below LOW (INFO stays INFO)."""
        if self <= Severity.LOW:
            return self
        return Severity(self - 1)


@dataclass(frozen=True, slots=True)
class Check:
    """One kind of weakness: a stable id (``SB006``), a name, the severities its findings get
    (worst first), and what it means: a sentence, then why."""

    id: str
    name: str
    severities: tuple[Severity, ...]
    summary: str
    description: str


CHECKS: Final[dict[str, Check]] = {
    check.id: check
    for check in (
        Check(
            "SB001",
            "no-arch-check",
            (Severity.HIGH,),
            "The filter decides on the system call number without checking the architecture.",
            "System call numbers mean different calls on different ABIs; a filter that does "
            "not compare seccomp_data.arch before the number judges, for example, an i386 "
            "call made with int 0x80 as if it were the x86-64 call with that number.",
        ),
        Check(
            "SB002",
            "foreign-abi-allowed",
            (Severity.CRITICAL, Severity.HIGH, Severity.INFO),
            "Calls of another ABI the kernel also runs get through what this ABI denies.",
            "A kernel runs the calls of its compat ABIs too (arm on arm64, o32 and n32 on "
            "mips64, ppc on ppc64, s390 on s390x; a 32-bit process can make 64-bit calls). "
            "The policy must list them or refuse them with bad_arch_action.",
        ),
        Check(
            "SB003",
            "x32-allowed",
            (Severity.CRITICAL, Severity.HIGH),
            "x32 system calls get through what x86-64 denies.",
            "x32 calls arrive with AUDIT_ARCH_X86_64 and bit 30 set in the number; a filter "
            "for x86-64 must refuse numbers with that bit unless it means to allow x32.",
        ),
        Check(
            "SB004",
            "i386-allowed",
            (Severity.CRITICAL, Severity.HIGH),
            "i386 system calls get through what x86-64 denies.",
            "Any x86-64 process can make i386 system calls (int 0x80), which arrive with "
            "AUDIT_ARCH_I386 and the i386 numbers; the policy must list i386 or refuse it.",
        ),
        Check(
            "SB005",
            "permissive-default",
            (Severity.HIGH, Severity.MEDIUM),
            "The default action allows the call.",
            "A denylist lets through every call it does not name, including calls added to "
            "the kernel later; an allowlist (default errno or kill) does not.",
        ),
        Check(
            "SB006",
            "dangerous-syscall",
            (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO),
            "A system call that gives a process power over the kernel or other processes is "
            "allowed.",
            "See DANGEROUS_SYSCALLS in seccomp_bpf.explain.audit for each call and why.",
        ),
        Check(
            "SB007",
            "equivalent-syscall-gap",
            (Severity.MEDIUM,),
            "A system call is denied while another that does the same is allowed.",
            "open/openat/openat2, fork/vfork/clone/clone3, execve/execveat, dup2/dup3, "
            "the stat, rename, link, chmod and chown families and others overlap: denying "
            "one while allowing a call that can do the same for every argument achieves "
            "nothing.",
        ),
        Check(
            "SB008",
            "low-half-comparison",
            (Severity.MEDIUM,),
            "A 64-bit argument is compared on its low 32 bits only.",
            "Pointers, sizes, offsets and longs are 64 bits wide on 64-bit ABIs; a comparison "
            "of the low half lets any value of the upper half through.",
        ),
        Check(
            "SB009",
            "ignored-high-half",
            (Severity.MEDIUM,),
            "A 32-bit argument is compared on 64 bits, and its upper half changes the decision.",
            "The kernel reads an int argument from the low 32 bits of the register, while "
            "seccomp sees all 64: setting the upper half turns a denied call into an allowed "
            "one the kernel runs with the denied value (Flatpak's TIOCSTI filter, "
            "CVE-2019-10063). Compare such arguments with width 32.",
        ),
        Check(
            "SB010",
            "multiplexer-bypass",
            (Severity.MEDIUM, Severity.LOW),
            "socketcall or ipc allows what the direct system call denies.",
            "On ABIs with socketcall(2)/ipc(2), the socket and SysV IPC calls also arrive "
            "through the multiplexer, whose arguments are in memory that seccomp cannot read.",
        ),
        Check(
            "SB011",
            "unknown-syscall-action",
            (Severity.MEDIUM, Severity.LOW),
            "System calls unknown to the tables do not fail with ENOSYS.",
            "C libraries try a new system call and fall back to an older one when it fails "
            "with ENOSYS (glibc's clone3 -> clone); EPERM or a kill breaks them on newer "
            "kernels. Set unknown_syscall_action: errno(ENOSYS).",
        ),
        Check(
            "SB012",
            "fallback-blocked",
            (Severity.LOW,),
            "A newer system call is denied with an error other than ENOSYS while the older "
            "one it replaces is allowed.",
            "glibc falls back from clone3 to clone, faccessat2 to faccessat, statx to fstatat "
            "and from the 64-bit-time calls of 32-bit ABIs to the old ones only on ENOSYS.",
        ),
        Check(
            "SB013",
            "unreachable-rule",
            (Severity.MEDIUM, Severity.LOW, Severity.INFO),
            "A rule can never decide a call: the rules before it match every call it would.",
            "Rules are tried in order; a rule whose condition is covered by earlier rules for "
            "the same call never applies, so what it says is not what happens.",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One weakness: which check, how bad, a sentence, and where.

    ``arches`` are the ABIs it was found on; ``syscall`` the system call it is about;
    ``rule`` the index in ``policy.rules`` of the rule it points at and ``location`` where
    that rule was written, when known.
    """

    check: str
    severity: Severity
    message: str
    arches: tuple[str, ...] = ()
    syscall: str | None = None
    rule: int | None = None
    location: SourceLocation | None = None

    @property
    def name(self) -> str:
        return CHECKS[self.check].name

    def describe(self) -> str:
        """``high SB006 dangerous-syscall: ptrace is allowed ... [x86_64, i386]``."""
        arches = f" [{', '.join(self.arches)}]" if self.arches else ""
        return f"{self.severity.label} {self.check} {self.name}: {self.message}{arches}"


Subject = Literal["policy", "program"]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The findings of one audit, worst first, and notes on what could not be decided."""

    subject: Subject
    source: str | None
    arches: tuple[str, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    def at_least(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity >= severity)

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def counts(self) -> dict[Severity, int]:
        """Findings per severity, every severity present (worst first)."""
        counts = {severity: 0 for severity in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts


class Sink:
    """Findings as they are found, merged across ABIs; and notes."""

    def __init__(self, policy: Policy | None, *, describe_rules: bool) -> None:
        self.policy = policy
        self.describe_rules = describe_rules
        self._found: dict[tuple[str, Severity, str, str | None, int | None], list[str]] = {}
        self.notes: list[str] = []

    def add(
        self,
        check: str,
        severity: Severity,
        message: str,
        arches: Iterable[Arch | str] = (),
        *,
        syscall: str | None = None,
        rule: int | None = None,
    ) -> None:
        assert severity in CHECKS[check].severities, (check, severity)
        if not self.describe_rules:
            rule = None
        names = self._found.setdefault((check, severity, message, syscall, rule), [])
        for arch in arches:
            name = arch if isinstance(arch, str) else arch.name
            if name not in names:
                names.append(name)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def by(self, outcome: Outcome) -> str:
        """`` (rule 3)``, `` (the default action)``...: what gave ``outcome``; empty for
        a program, whose decompiled rules the reader never wrote."""
        if not self.describe_rules:
            return ""
        if outcome.rule_index is not None:
            via = f" through {outcome.via}" if outcome.via else ""
            policy = self.policy
            if policy is not None and outcome.rule_index >= len(policy.rules):
                return " (newer_syscall_action)"
            return f" (rule {outcome.rule_index + 1}{via})"
        policy = self.policy
        if policy is not None and outcome.action == policy.default_action:
            return " (the default action)"
        return " (unknown_syscall_action)"

    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for (check, severity, message, syscall, rule), arches in self._found.items():
            location = None
            if rule is not None and self.policy is not None:
                location = self.policy.all_rules[rule].location
            out.append(Finding(check, severity, message, tuple(arches), syscall, rule, location))
        # Worst first; then by check; the order of discovery otherwise (sorted() is stable).
        return sorted(out, key=lambda f: (-f.severity, f.check))


def names_text(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown


@contextmanager
def undecided(sink: Sink, what: str) -> Iterator[None]:
    """Skip a question whose conditions are too large to decide, with a note saying so."""
    try:
        yield
    except TooComplexError:
        sink.note(f"{what}: a condition was too large to decide; that question was skipped")
