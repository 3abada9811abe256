"""Audit a policy or a program: its weaknesses, each with a stable id, a severity and a sentence.

:func:`audit` takes a :class:`~seccomp_bpf.policy.Policy` or a
:class:`~seccomp_bpf.bpf.instruction.Program` and returns an :class:`AuditReport`;
:func:`format_text`, :func:`format_json` and :func:`format_sarif` print it. A policy is
audited on the model's exact semantics (``docs/design.md`` §3): the rules naming a system call
are tried in order, and a question such as "is ptrace allowed for some arguments?" is answered
by deciding whether the region of argument values where an allowing rule is the first to match
is empty (the argument conditions are solved exactly by the condition engine, see
:func:`~seccomp_bpf.policy.semantics.satisfiable`).
A program is audited in two ways: checks that only a program can fail (no architecture check,
arguments compared on one word) run on its instructions, and the policy checks run on the
policy :func:`seccomp_bpf.explain.decompile` recovers from it.

The package: the finding model and the table of checks (:mod:`.findings`), a policy seen from
one ABI (:mod:`.view`), what is known of a program's paths (:mod:`.flow`), the checks, one
module per check or small family (:mod:`.checks`), and the reports printed (:mod:`.output`).

The checks, with the severity each finding gets (a range where it depends on the case)::

    SB001 no-arch-check            high     a program decides on the number without
                                            having checked seccomp_data.arch on that path
    SB002 foreign-abi-allowed      critical/high, info
                                            another ABI that reaches the same kernel (arm on
                                            arm64, o32 on mips64, x86_64 from an i386
                                            process...) gets through what this one denies
    SB003 x32-allowed              critical/high  x32 numbers get through what x86-64 denies
    SB004 i386-allowed             critical/high  i386 calls (int 0x80) get through what
                                            x86-64 denies
    SB005 permissive-default       high/medium    the default action allows: high when nothing
                                            at all is denied, medium for a denylist
    SB006 dangerous-syscall        critical..info a call from DANGEROUS_SYSCALLS is allowed;
                                            one level lower when only some arguments are
    SB007 equivalent-syscall-gap   medium   a call is denied (or restricted by argument)
                                            while another that does the same is allowed
                                            for every argument
    SB008 low-half-comparison      medium   a 64-bit argument (pointer, size, offset) is
                                            compared (ordered or equal) on its low 32 bits
                                            only; a mask test of the low bits is fine
    SB009 ignored-high-half        medium   a 32-bit argument (int) is compared on 64 bits,
                                            and setting the upper half, which the kernel
                                            ignores, turns a denied call into an allowed one
    SB010 multiplexer-bypass       medium/low     socketcall(2) or ipc(2) allows what the
                                            direct call denies for some arguments
    SB011 unknown-syscall-action   medium/low     numbers unknown to the tables get something
                                            other than ENOSYS (or are allowed)
    SB012 fallback-blocked         low      a newer call is denied with an error other than
                                            ENOSYS while the older one it replaces is allowed:
                                            the C library will not fall back
    SB013 unreachable-rule         medium..info   an entry of a rule can never decide, an
                                            earlier rule matching every call it would

Severities: **critical** — the filter is bypassed outright, or kernel code can be loaded;
**high** — a known bypass of part of the filter, or a call with a record of privilege
escalation; **medium** — a weakness that needs a particular argument, privilege or kernel
configuration; **low** — hardening and robustness; **info** — worth knowing, not a weakness.

What is exact and what is approximated:

- Policy checks are exact, except where a condition is too large to decide within a budget
  (then the question is skipped and a note says so). SB009 tries a finite set of upper
  halves (those of the constants compared, each +-1, and 0 and 0xffffffff), which is exact
  for ordered and equality comparisons and approximate for masks with bits in the upper half.
- SB001 and the program side of SB008 analyse every path of the program, with the argument
  words loaded, the architecture value and the interval of the system call number each path
  has established; a program whose paths exceed a budget is reported in a note.
- SB002/SB003/SB004 on programs run the program (the emulator) on every system call of both
  ABIs with the same three argument vectors (all 0, all 1, all 0xffffffff); a name is reported
  when one vector is denied on the ABI the program is written for and allowed on the other.
  Policies are decided exactly.
- On programs, SB005 and SB011 look at what the program does with a number no table knows
  (the decompiled policy's default action is a matter of presentation), and a denial counts
  as deliberate for SB007/SB010 when it differs from that.
- SB013 is decided exactly on conditions (a rule is unreachable for a call when the union of
  the conditions of the earlier rules for that call covers its own). Entries mirrored onto
  socketcall/ipc whose conditions were dropped are left to SB010.
- Argument kinds (:data:`ARGUMENT_KINDS`) are given for common system calls only; other
  calls' arguments are not checked by SB008/SB009.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import SeccompBPFError
from seccomp_bpf.explain.audit.checks import policy_checks
from seccomp_bpf.explain.audit.checks.abis import abis_reaching, check_program_abis, handled_abis
from seccomp_bpf.explain.audit.checks.arch_check import check_arch_check
from seccomp_bpf.explain.audit.checks.dangerous import DANGEROUS_SYSCALLS, DangerousSyscall
from seccomp_bpf.explain.audit.checks.defaults import check_program_unknown_numbers
from seccomp_bpf.explain.audit.checks.equivalents import EQUIVALENT_SYSCALLS
from seccomp_bpf.explain.audit.checks.fallbacks import FALLBACKS
from seccomp_bpf.explain.audit.checks.widths import (
    ARGUMENT_KINDS,
    argument_kind,
    check_low_word_loads,
)
from seccomp_bpf.explain.audit.findings import CHECKS, AuditReport, Check, Finding, Severity, Sink
from seccomp_bpf.explain.audit.flow import PATH_STATE_LIMIT, program_flow
from seccomp_bpf.explain.audit.output import format_json, format_sarif, format_text, to_sarif
from seccomp_bpf.explain.audit.view import ArchView, unknown_number
from seccomp_bpf.explain.decompiler import decompile
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.semantics import satisfiable

__all__ = [
    "ARGUMENT_KINDS",
    "CHECKS",
    "DANGEROUS_SYSCALLS",
    "EQUIVALENT_SYSCALLS",
    "FALLBACKS",
    "AuditReport",
    "Check",
    "DangerousSyscall",
    "Finding",
    "Severity",
    "abis_reaching",
    "argument_kind",
    "audit",
    "audit_policy",
    "audit_program",
    "format_json",
    "format_sarif",
    "format_text",
    "satisfiable",
    "to_sarif",
]


def audit_policy(policy: Policy, *, arches: Sequence[str] | None = None) -> AuditReport:
    """Audit ``policy`` (on ``arches`` instead of its own, when given)."""
    if arches:
        policy = replace(policy, arches=tuple(arches))
    policy.validate()
    sink = Sink(policy, describe_rules=True)
    views = [ArchView(policy, arch) for arch in policy.resolved_arches()]
    policy_checks(policy, views, sink, decompiled=False)
    return AuditReport(
        "policy",
        policy.source,
        tuple(view.arch.name for view in views),
        tuple(sink.findings()),
        tuple(sink.notes),
    )


def _decompile(program: Program, arches: Sequence[str] | None, sink: Sink) -> Policy | None:
    """The policy the decompiler recovers from ``program`` (a note when it is approximate),
    or ``None`` with a note when it cannot."""
    try:
        result = decompile(program, arches=list(arches) if arches else None)
    except SeccompBPFError as error:
        sink.note(
            f"the program could not be decompiled ({error}): only the checks on its "
            "instructions, on other ABIs and on unknown numbers ran"
        )
        return None
    if not result.exact:
        unsupported = "; ".join(result.unsupported)
        sink.note(
            "the program does what the policy model cannot express"
            + (f" ({unsupported})" if unsupported else "")
            + ": the checks on its decompiled policy are approximate"
        )
    return result.policy


def audit_program(
    program: Program, *, arches: Sequence[str] | None = None, source: str | None = None
) -> AuditReport:
    """Audit a compiled or hand-written ``program``.

    ``arches`` are the ABIs to audit it for (default: those whose architecture value the
    program compares with, and the ABIs that reach them; a program that compares none is
    taken as written for the first of ``arches``, or for this machine).
    """
    requested = [get_arch(name) for name in arches] if arches else None
    default = requested[0] if requested else native_arch()
    sink = Sink(None, describe_rules=False)
    flow = program_flow(program)
    if not flow.complete:
        sink.note(
            f"the program has more than {PATH_STATE_LIMIT} path states: the path checks "
            "(SB001, SB008) looked at part of it"
        )
    check_arch_check(flow, sink)
    check_low_word_loads(flow, default, sink)
    handled = handled_abis(flow, default, requested)
    check_program_abis(program, handled, sink)
    # The ABIs to audit the decompiled policy on: those asked for, or those the program is
    # written for and those that reach them (a program without an architecture check
    # decompiles to the same rules on every ABI).
    audited = list(requested) if requested else list(handled)
    if not requested:
        for arch in handled:
            audited.extend(other for other in abis_reaching(arch) if other not in audited)
    policy = _decompile(program, arches, sink)
    views: list[ArchView] = []
    if policy is not None:
        sink.policy = policy
        for arch in policy.resolved_arches():
            if arch in audited:
                view = ArchView(policy, arch)
                view.baseline = view.fallback(unknown_number(view))
                views.append(view)
        policy_checks(policy, views, sink, decompiled=True)
    examined = [*handled, *(view.arch for view in views if view.arch not in handled)]
    check_program_unknown_numbers(program, flow, examined, sink)
    return AuditReport(
        "program",
        source,
        tuple(arch.name for arch in examined),
        tuple(sink.findings()),
        tuple(sink.notes),
    )


def audit(
    subject: Policy | Program, *, arches: Sequence[str] | None = None, source: str | None = None
) -> AuditReport:
    """Audit a policy (:func:`audit_policy`) or a program (:func:`audit_program`)."""
    if isinstance(subject, Policy):
        report = audit_policy(subject, arches=arches)
        return replace(report, source=source) if source is not None else report
    return audit_program(subject, arches=arches, source=source)
