"""``seccomp_bpf.explain.audit``: each check finds the weakness planted for it, and only that.

Weak filters are written as YAML policies and as assembly programs (or compiled policies);
every expectation below is written from the kernel's behaviour and the policy's text, not
taken from the audit's output. The emulator confirms the bypasses the audit reports.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import ArchSymbols, get_arch
from seccomp_bpf.bpf.assembler import assemble
from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.explain.audit import (
    CHECKS,
    DANGEROUS_SYSCALLS,
    AuditReport,
    Severity,
    abis_reaching,
    audit,
    audit_policy,
    audit_program,
    format_json,
    format_sarif,
    format_text,
    satisfiable,
    to_sarif,
)
from seccomp_bpf.explain.decompiler import decompile
from seccomp_bpf.formats import load_yaml_policy, read_policy_file
from seccomp_bpf.policies import default_policy
from seccomp_bpf.policy import KILL_PROCESS, All, Any, Cmp, Condition, Not, Policy
from tests.bpf.random_programs import seccomp_programs
from tests.bpf.strategies import valid_programs
from tests.compiler.strategies import policies
from tests.datafiles import DOCKER_DEFAULT

X86_64 = get_arch("x86_64")
I386 = get_arch("i386")
X32 = get_arch("x32")


def policy(text: str, source: str = "weak.yaml") -> Policy:
    return load_yaml_policy(textwrap.dedent(text), source=source)


def program(text: str, arch: str = "x86_64") -> Program:
    return assemble(textwrap.dedent(text), symbols=ArchSymbols(default=get_arch(arch)))


Found = tuple[str, Severity, str | None, tuple[str, ...]]


def found(report: AuditReport, *checks: str) -> list[Found]:
    """(check, severity, syscall, arches) of the findings (of ``checks`` only, when given),
    by check, worst first, then by syscall; the report's own order is tested on its own."""
    return sorted(
        (
            (f.check, f.severity, f.syscall, f.arches)
            for f in report.findings
            if not checks or f.check in checks
        ),
        key=lambda item: (item[0], -item[1], item[2] or "", item[3]),
    )


def checks(report: AuditReport) -> set[str]:
    return {f.check for f in report.findings}


# An allowlist that is clean by itself: the fixtures below add one weakness each to it.
CLEAN = """\
default_action: errno(EPERM)
unknown_syscall_action: errno(ENOSYS)
arches: [x86_64]
syscalls:
  - names: [read, write, close, exit_group, rt_sigreturn]
    action: allow
"""


def test_the_clean_allowlist_has_no_findings() -> None:
    assert audit_policy(policy(CLEAN)).findings == ()


def test_each_check_declares_the_severities_its_findings_get() -> None:
    """The table names, for each check, the severities it reports, worst first; the audits
    of this module (the sink refuses any other) and of real profiles keep to them."""
    assert list(CHECKS) == [f"SB{n:03d}" for n in range(1, len(CHECKS) + 1)]
    for check in CHECKS.values():
        assert check.severities
        assert list(check.severities) == sorted(check.severities, reverse=True)
    reports = [
        audit_policy(default_policy()),
        audit_policy(read_policy_file(DOCKER_DEFAULT, arches=["x86_64"])),
        audit_program(compile_policy(read_policy_file(DOCKER_DEFAULT, arches=["x86_64"]))),
    ]
    for report in reports:
        for finding in report.findings:
            assert finding.severity in CHECKS[finding.check].severities


# --- deciding conditions ---------------------------------------------------------------------
# With constants and masks below 8, a comparison's truth depends only on the low three bits
# and on whether the value (and its low half) is below 8; the values h * 2**32 + l, with h in
# {0, 1} and l in 0..15, meet every combination. So trying them all decides exactly.

REPRESENTATIVES = [h << 32 | low for h in (0, 1) for low in range(16)]

small_values = st.integers(0, 7)


@st.composite
def small_comparisons(draw: st.DrawFn) -> Cmp:
    arg = draw(st.sampled_from([0, 1]))
    width = draw(st.sampled_from([32, 64]))
    op = draw(
        st.sampled_from(
            ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq", "bits_set", "bits_clear",
             "in", "not_in", "range"]
        )
    )  # fmt: skip
    if op == "masked_eq":
        mask = draw(small_values)
        return Cmp(arg, op, draw(small_values) & mask, mask=mask, width=width)
    if op in ("in", "not_in"):
        return Cmp(
            arg, op, tuple(draw(st.lists(small_values, min_size=1, max_size=3))), width=width
        )
    if op == "range":
        low, high = sorted((draw(small_values), draw(small_values)))
        return Cmp(arg, op, (low, high), width=width)
    return Cmp(arg, op, draw(small_values), width=width)


small_conditions: st.SearchStrategy[Condition] = st.recursive(
    small_comparisons(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda c: All(tuple(c))),
        st.lists(inner, max_size=3).map(lambda c: Any(tuple(c))),
        inner.map(Not),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(condition=small_conditions)
def test_satisfiable_agrees_with_trying_every_representative(condition: Condition) -> None:
    expected = any(
        condition.holds((a, b, 0, 0, 0, 0)) for a in REPRESENTATIVES for b in REPRESENTATIVES
    )
    assert satisfiable(condition) == expected


def test_satisfiable_on_wide_values() -> None:
    # the low half equals 5 while the value is above 2**32: possible
    assert satisfiable(All((Cmp(0, "eq", 5, width=32), Cmp(0, "gt", 1 << 32))))
    # the value is 5 and its low half is not: impossible
    assert not satisfiable(All((Cmp(0, "eq", 5), Cmp(0, "ne", 5, width=32))))
    # every bit of the upper half set, yet below 2**63: impossible
    assert not satisfiable(All((Cmp(0, "bits_set", 0xFFFFFFFF << 32), Cmp(0, "lt", 1 << 63))))
    assert satisfiable(None)
    assert not satisfiable(Any(()))


def test_a_condition_too_large_for_the_budget_is_undecided() -> None:
    # every argument is 1 or 2, and one of them is 3: false, but only after trying the
    # 2**6 combinations of the first disjunctions
    choices = tuple(Any((Cmp(i, "eq", 1), Cmp(i, "eq", 2))) for i in range(6))
    contradiction = All((*choices, Any(tuple(Cmp(i, "eq", 3) for i in range(6)))))
    assert not satisfiable(contradiction)
    with pytest.raises(TooComplexError):
        satisfiable(contradiction, budget=20)


# --- SB002, SB003, SB004: other ABIs ------------------------------------------------------------


def test_abis_reaching() -> None:
    names = {arch: [a.name for a in abis_reaching(get_arch(arch))] for arch in
             ("x86_64", "i386", "aarch64", "arm", "mips64")}  # fmt: skip
    assert names["x86_64"] == ["i386", "x32"]
    assert names["i386"] == ["x86_64", "x32"]  # far call into 64-bit code
    assert names["aarch64"] == ["arm"]
    assert names["arm"] == []  # AArch32 code cannot make AArch64 calls
    assert set(names["mips64"]) == {"mips", "mips64n32"}


@pytest.mark.parametrize(
    ("arches", "expected"),
    [
        (["x86_64", "i386"], [("SB003", Severity.CRITICAL, None, ("x32",))]),
        (["x86_64", "x32"], [("SB004", Severity.CRITICAL, None, ("i386",))]),
        (["aarch64"], [("SB002", Severity.CRITICAL, None, ("arm",))]),
        (["x86_64", "i386", "x32"], [("SB002", Severity.INFO, None, ())]),
    ],
)
def test_permissive_bad_arch_action_lets_the_missing_abis_through(
    arches: list[str], expected: list[Found]
) -> None:
    text = CLEAN.replace("arches: [x86_64]", f"arches: [{', '.join(arches)}]")
    weak = policy(text + "bad_arch_action: allow\n")
    report = audit_policy(weak)
    assert found(report) == expected
    if expected[0][1] is Severity.CRITICAL:
        # the denied calls are named, dangerous ones first
        assert "including what" in report.findings[0].message
        assert "bpf" in report.findings[0].message


def test_a_killed_foreign_abi_is_fine() -> None:
    assert audit_policy(policy(CLEAN + "bad_arch_action: errno(EPERM)\n")).findings == ()


DENYLIST_NO_ARCH_CHECK = """\
A = sys_number
if (A == ptrace) goto deny
if (A == mount) goto deny
return ALLOW
deny:
return ERRNO(1)
"""


def test_program_without_an_arch_check() -> None:
    report = audit_program(program(DENYLIST_NO_ARCH_CHECK), arches=None)
    [sb001] = [f for f in report.findings if f.check == "SB001"]
    assert (sb001.severity, sb001.arches) == (Severity.HIGH, ())
    assert "never reads seccomp_data.arch" in sb001.message
    # x86-64's ptrace (101) and mount (165) are i386's ioperm and getresuid: i386's ptrace
    # (26) and mount (21) run. And every x32 number passes, the denied ones included.
    [sb004] = [f for f in report.findings if f.check == "SB004"]
    assert (sb004.severity, sb004.arches) == (Severity.HIGH, ("i386",))
    assert sb004.message.endswith("denies: mount, ptrace")
    [sb003] = [f for f in report.findings if f.check == "SB003"]
    assert (sb003.severity, sb003.arches) == (Severity.CRITICAL, ("x32",))
    prog = program(DENYLIST_NO_ARCH_CHECK)
    for nr in (I386.syscalls["ptrace"], I386.syscalls["mount"]):
        assert emulate(prog, SeccompData(nr, I386.audit_arch)).action is SeccompAction.ALLOW
    # the decompiled denylist: SB005, and the dangerous calls it leaves open
    assert found(report, "SB005") == [("SB005", Severity.MEDIUM, None, ("x86_64", "i386", "x32"))]


def test_program_that_checks_the_number_before_the_arch_on_some_paths() -> None:
    prog = program(
        """\
        A = sys_number
        if (A == read) goto allow
        A = arch
        if (A != ARCH_X86_64) goto kill
        A = sys_number
        if (A >= 0x40000000) goto kill
        if (A == write) goto allow
        return ERRNO(1)
        allow:
        return ALLOW
        kill:
        return KILL_PROCESS
        """
    )
    report = audit_program(prog)
    [sb001] = [f for f in report.findings if f.check == "SB001"]
    assert "before checking seccomp_data.arch" in sb001.message
    # i386 number 0 (restart_syscall) is read's number on x86-64: allowed without a check
    assert emulate(prog, SeccompData(0, I386.audit_arch)).action is SeccompAction.ALLOW


def test_program_with_the_arch_checked_first_has_no_sb001() -> None:
    report = audit_program(compile_policy(policy(CLEAN)))
    assert "SB001" not in checks(report)


def test_program_that_forgets_x32() -> None:
    prog = program(
        """\
        A = arch
        if (A != ARCH_X86_64) goto kill
        A = sys_number
        if (A == ptrace) goto deny
        if (A == execve) goto deny
        return ALLOW
        deny:
        return ERRNO(1)
        kill:
        return KILL_PROCESS
        """
    )
    report = audit_program(prog)
    assert found(report, "SB001", "SB002", "SB003", "SB004") == [
        ("SB003", Severity.CRITICAL, None, ("x32",))
    ]
    assert report.findings[0].message.endswith("denies: ptrace, execve")
    x32_execve = X32.syscalls["execve"]
    assert x32_execve & 0x40000000
    assert emulate(prog, SeccompData(x32_execve, X86_64.audit_arch)).action is SeccompAction.ALLOW
    # the decompiled denylist also shows the overlapping calls left open
    assert ("SB007", Severity.MEDIUM, "execve", ("x86_64",)) in found(report)


def test_program_that_allows_every_i386_call() -> None:
    prog = program(
        """\
        A = arch
        if (A != ARCH_X86_64) goto allow
        A = sys_number
        if (A >= 0x40000000) goto deny
        if (A == read) goto allow
        if (A == exit_group) goto allow
        return ERRNO(38)
        allow:
        return ALLOW
        deny:
        return ERRNO(1)
        """
    )
    report = audit_program(prog)
    assert found(report) == [("SB004", Severity.CRITICAL, None, ("i386",))]
    assert report.findings[0].message.startswith("every i386 system call (int 0x80) is allowed")


def test_program_that_allows_arm_calls_on_arm64() -> None:
    prog = program(
        """\
        A = arch
        if (A != ARCH_AARCH64) goto allow
        A = sys_number
        if (A == read) goto allow
        return ERRNO(38)
        allow:
        return ALLOW
        """,
        arch="aarch64",
    )
    report = audit_program(prog)
    assert found(report) == [("SB002", Severity.CRITICAL, None, ("arm",))]


def _undecompilable(program: Program, arches: object = None) -> object:
    raise TooComplexError("the set needs more than 65536 intervals")


@settings(max_examples=60, deadline=None)
@given(prog=seccomp_programs() | valid_programs())
def test_the_program_checks_run_on_any_valid_program(prog: Program) -> None:
    # The path analysis and the runs on other ABIs take every valid program, and the audit
    # goes on (with a note) when the decompiler cannot express one.
    with mock.patch("seccomp_bpf.explain.audit.decompile", _undecompilable):
        report = audit_program(prog)
    assert report.notes == (
        "the program could not be decompiled (the set needs more than 65536 intervals): only "
        "the checks on its instructions, on other ABIs and on unknown numbers ran",
    )
    assert {f.check for f in report.findings} <= {"SB001", "SB002", "SB003", "SB004",
                                                   "SB005", "SB008", "SB011"}  # fmt: skip
    if any(f.check == "SB005" and f.severity is Severity.HIGH for f in report.findings):
        # "every path allows": so does every call the emulator tries
        for nr in (0, 1, 59, 0x40000000):
            data = SeccompData(nr, X86_64.audit_arch, 0, (nr,) * 6)
            assert emulate(prog, data).action in (SeccompAction.ALLOW, SeccompAction.LOG)


# --- SB005: permissive default ---------------------------------------------------------------


def test_default_allow_with_nothing_denied() -> None:
    report = audit_policy(policy("default_action: allow\narches: [x86_64]\n"))
    assert found(report, "SB005") == [("SB005", Severity.HIGH, None, ())]
    # every dangerous call is allowed, for every argument, at its full severity
    sb006 = {f.syscall: f.severity for f in report.findings if f.check == "SB006"}
    expected = {
        name: entry.severity
        for name, entry in DANGEROUS_SYSCALLS.items()
        if name in X86_64.syscalls
    }
    expected.update(unshare=Severity.HIGH, clone=Severity.HIGH, clone3=Severity.HIGH)
    expected.update(personality=Severity.LOW)
    assert sb006 == expected
    assert checks(report) == {"SB005", "SB006"}


def test_a_denylist_is_medium() -> None:
    weak = policy(
        """\
        default_action: log
        arches: [x86_64]
        syscalls:
          - names: [ptrace, process_vm_readv, process_vm_writev]
            action: kill_process
        """
    )
    report = audit_policy(weak)
    assert found(report, "SB005") == [("SB005", Severity.MEDIUM, None, ())]
    [sb005] = [f for f in report.findings if f.check == "SB005"]
    assert sb005.message.startswith("the default action is log: every system call the policy")
    sb006 = {f.syscall for f in report.findings if f.check == "SB006"}
    assert {"ptrace", "process_vm_readv", "process_vm_writev"}.isdisjoint(sb006)
    assert checks(report) == {"SB005", "SB006"}


def test_program_denylist_and_allow_everything() -> None:
    denylist = compile_policy(
        policy(
            "default_action: allow\narches: [x86_64]\nsyscalls:\n"
            "  - {names: [ptrace], action: kill_process}\n"
        )
    )
    assert found(audit_program(denylist), "SB005") == [
        ("SB005", Severity.MEDIUM, None, ("x86_64",))
    ]
    everything = program("return ALLOW\n")
    assert found(audit_program(everything), "SB005") == [("SB005", Severity.HIGH, None, ())]


# --- SB006: dangerous calls ----------------------------------------------------------------------


def test_dangerous_calls_unconditionally_and_conditionally() -> None:
    weak = policy(
        CLEAN
        + """\
  - names: [mount, bpf]
    action: allow
  - names: [ptrace]
    action: allow
    when: {arg: 0, op: eq, value: 0}
"""
    )
    report = audit_policy(weak)
    assert found(report) == [
        ("SB006", Severity.HIGH, "bpf", ("x86_64",)),
        ("SB006", Severity.HIGH, "mount", ("x86_64",)),
        ("SB006", Severity.MEDIUM, "ptrace", ("x86_64",)),  # one level lower: some arguments
    ]
    [ptrace] = [f for f in report.findings if f.syscall == "ptrace"]
    assert ptrace.message.startswith("ptrace is allowed for some arguments (rule 3)")
    assert ptrace.rule == 2
    assert ptrace.location is not None
    assert (ptrace.location.file, ptrace.location.line) == ("weak.yaml", 9)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # no namespace flag at all: fine
        (
            "{names: [unshare], action: allow, when: {arg: 0, op: bits_clear, "
            "value: 'CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID|CLONE_NEWIPC|"
            "CLONE_NEWUTS|CLONE_NEWCGROUP|CLONE_NEWTIME'}}",
            [],
        ),
        # CLONE_NEWUSER refused, others not: needs CAP_SYS_ADMIN
        (
            "{names: [unshare], action: allow, when: {arg: 0, op: bits_clear, "
            "value: CLONE_NEWUSER}}",
            [("SB006", Severity.MEDIUM, "unshare", ("x86_64",))],
        ),
        # with the user namespace flag
        ("{names: [unshare], action: allow}", [("SB006", Severity.HIGH, "unshare", ("x86_64",))]),
        # below 0x80, no namespace flag (CLONE_NEWTIME is 0x80); above 2**32, only bits that
        # unshare refuses with EINVAL
        (
            "{names: [unshare], action: allow, when: {any: [{arg: 0, op: lt, value: 0x80}, "
            "{arg: 0, op: ge, value: 0x100000000}]}}",
            [],
        ),
        (
            "{names: [unshare], action: allow, when: {arg: 0, op: lt, value: 0x100}}",
            [("SB006", Severity.MEDIUM, "unshare", ("x86_64",))],
        ),
        # clone reads lower_32_bits(flags): a 64-bit test of the upper half does not help
        (
            "{names: [clone], action: allow, when: {arg: 0, op: bits_clear, "
            "value: 0xffffffff00000000}}",
            [("SB006", Severity.HIGH, "clone", ("x86_64",))],
        ),
        (
            "{names: [clone], action: allow, when: {arg: 0, op: bits_clear, value: "
            "'CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS|"
            "CLONE_NEWCGROUP'}}",
            [],
        ),
        ("{names: [clone3], action: allow}", [("SB006", Severity.HIGH, "clone3", ("x86_64",))]),
        ("{names: [clone3], action: errno(ENOSYS)}", []),
        ("{names: [setns], action: allow}", [("SB006", Severity.MEDIUM, "setns", ("x86_64",))]),
        (
            "{names: [personality], action: allow}",
            [("SB006", Severity.LOW, "personality", ("x86_64",))],
        ),
        (
            "{names: [personality], action: allow, when: {arg: 0, op: in, "
            "value: [0, 8, 0x20000, 0x20008, 0xffffffff], width: 32}}",
            [],
        ),
    ],
)
def test_argument_dependent_dangerous_calls(rule: str, expected: list[Found]) -> None:
    report = audit_policy(policy(CLEAN + f"  - {rule}\n"))
    assert found(report, "SB006") == expected
    # allowing clone leaves clone3 with errno(EPERM), where glibc wants ENOSYS to fall back
    other = {"SB012"} if "[clone]" in rule else set()
    assert checks(report) - {"SB006"} == other


def test_clone_flags_are_the_second_argument_on_s390x() -> None:
    text = CLEAN.replace("[x86_64]", "[s390x]")
    safe = (
        "  - {names: [clone], action: allow, when: {arg: 1, op: bits_clear, value: 0x7e020000}}\n"
    )
    assert found(audit_policy(policy(text + safe)), "SB006") == []
    wrong = safe.replace("arg: 1", "arg: 0")
    assert found(audit_policy(policy(text + wrong)), "SB006") == [
        ("SB006", Severity.HIGH, "clone", ("s390x",))
    ]


# --- SB007: equivalent calls ------------------------------------------------------------------


def test_denied_call_with_an_equivalent_allowed() -> None:
    weak = policy(
        CLEAN
        + """\
  - names: [execve]
    action: errno(EACCES)
  - names: [execveat, openat2, fork]
    action: allow
  - names: [open]
    action: kill_process
"""
    )
    report = audit_policy(weak)
    assert found(report) == [
        ("SB007", Severity.MEDIUM, "execve", ("x86_64",)),
        ("SB007", Severity.MEDIUM, "open", ("x86_64",)),
    ]
    [execve] = [f for f in report.findings if f.syscall == "execve"]
    assert execve.message == (
        "execve is denied (rule 2) but execveat, which can do what it does (run programs), is "
        "allowed for every argument"
    )


def test_conditions_sidestepped_by_a_more_capable_call() -> None:
    weak = policy(
        CLEAN
        + """\
  - names: [openat]
    action: allow
    when: {arg: 2, op: bits_clear, value: "O_WRONLY|O_RDWR", width: 32}
  - names: [openat2]
    action: allow
"""
    )
    report = audit_policy(weak)
    assert found(report) == [("SB007", Severity.MEDIUM, "openat", ("x86_64",))]
    assert "the conditions on openat can be sidestepped" in report.findings[0].message


def test_no_gap_when_the_denial_is_the_allowlists_default_or_enosys() -> None:
    # open is denied because the allowlist does not name it: not a choice to report
    quiet = policy(CLEAN + "  - {names: [openat], action: allow}\n")
    assert audit_policy(quiet).findings == ()
    # clone3 -> ENOSYS while clone is allowed is the way to make libc fall back
    fallback = policy(
        CLEAN
        + "  - {names: [clone3], action: errno(ENOSYS)}\n"
        + "  - {names: [clone], action: allow, when: {arg: 0, op: bits_clear, "
        "value: 0x7e020000}}\n"
    )
    assert audit_policy(fallback).findings == ()


# --- SB008, SB009: the halves of an argument ----------------------------------------------------


def test_low_half_comparison_of_a_64_bit_argument() -> None:
    weak = policy(
        CLEAN
        + """\
  - names: [mmap]
    action: allow
    when: {all: [{arg: 1, op: le, value: 4096, width: 32}, {arg: 2, op: eq, value: 3, width: 32}]}
"""
    )
    report = audit_policy(weak)
    # the length (arg 1) is a size_t; the protection (arg 2) has no bit above 31
    assert found(report) == [("SB008", Severity.MEDIUM, "mmap", ("x86_64",))]
    assert report.findings[0].message.startswith("mmap: argument 1 is compared on its low 32")
    # and the emulator agrees: a 4 GiB + 1 length passes
    prog = compile_policy(weak)
    nr = X86_64.syscalls["mmap"]
    huge = SeccompData(nr, X86_64.audit_arch, 0, (0, (1 << 32) + 1, 3, 0, 0, 0))
    assert emulate(prog, huge).action is SeccompAction.ALLOW


def test_a_mask_test_of_the_low_bits_is_not_a_low_half_comparison() -> None:
    # page alignment of mmap's address: the same with width 32 or 64
    aligned = policy(
        CLEAN + "  - {names: [mmap], action: allow, when: {arg: 0, op: bits_clear, value: 0xfff, "
        "width: 32}}\n"
    )
    assert audit_policy(aligned).findings == ()
    prog = program(
        """\
        A = arch
        if (A != ARCH_X86_64) goto kill
        A = sys_number
        if (A >= 0x40000000) goto kill
        if (A != mmap) goto deny
        A = args[0]
        if (A & 0xfff) goto deny
        return ALLOW
        deny:
        return ERRNO(38)
        kill:
        return KILL_PROCESS
        """
    )
    assert found(audit_program(prog), "SB008") == []


def test_32_bit_abis_pass_no_upper_half() -> None:
    text = CLEAN.replace("[x86_64]", "[i386]")
    weak = policy(text + "  - {names: [mmap2], action: allow, when: {arg: 1, op: le, "
                  "value: 4096, width: 32}}\n")  # fmt: skip
    assert audit_policy(weak).findings == ()


def test_high_half_of_an_int_changes_the_decision() -> None:
    weak = policy(
        CLEAN
        + """\
  - names: [ioctl]
    action: errno(EPERM)
    when: {arg: 1, op: eq, value: TIOCSTI}
  - names: [ioctl]
    action: allow
"""
    )
    report = audit_policy(weak)
    assert found(report) == [("SB009", Severity.MEDIUM, "ioctl", ("x86_64",))]
    prog = compile_policy(weak)
    nr = X86_64.syscalls["ioctl"]
    tiocsti = 0x5412
    for value, action in ((tiocsti, SeccompAction.ERRNO), (1 << 32 | tiocsti, SeccompAction.ALLOW)):
        data = SeccompData(nr, X86_64.audit_arch, 0, (0, value, 0, 0, 0, 0))
        assert emulate(prog, data).action is action
    # compared on the low half, there is nothing to set
    fixed = policy(
        CLEAN
        + """\
  - names: [ioctl]
    action: errno(EPERM)
    when: {arg: 1, op: eq, value: TIOCSTI, width: 32}
  - names: [ioctl]
    action: allow
"""
    )
    assert audit_policy(fixed).findings == ()


def test_an_allowlist_of_full_values_is_no_bypass() -> None:
    # Docker's personality rule: 0xffffffff allowed only zero-extended. A negative int
    # sign-extended is denied, but the same value zero-extended is allowed anyway: no value
    # the filter means to deny gets through.
    listed = policy(
        CLEAN + "  - {names: [personality], action: allow, when: {arg: 0, op: in, "
        "value: [0, 8, 0x20000, 0x20008, 0xffffffff]}}\n"
    )
    assert audit_policy(listed).findings == ()


# --- SB010: socketcall and ipc -----------------------------------------------------------------


def test_socketcall_allowed_while_socket_is_denied() -> None:
    weak = policy(
        """\
        default_action: errno(EPERM)
        unknown_syscall_action: errno(ENOSYS)
        arches: [i386]
        syscalls:
          - names: [socketcall]
            action: allow
          - names: [socket]
            action: errno(EACCES)
        """
    )
    report = audit_policy(weak)
    assert found(report) == [
        ("SB010", Severity.MEDIUM, "socket", ("i386",)),
        # the mirror of rule 2 on socketcall comes after rule 1: it never applies
        ("SB013", Severity.MEDIUM, "socketcall(socket)", ("i386",)),
    ]
    sys_socket = 1  # <linux/net.h>
    prog = compile_policy(weak)
    call = SeccompData(I386.syscalls["socketcall"], I386.audit_arch, 0, (sys_socket, 0, 0, 0, 0, 0))
    assert emulate(prog, call).action is SeccompAction.ALLOW


def test_dropped_conditions_on_socketcall_and_ipc() -> None:
    weak = policy(
        """\
        default_action: errno(EPERM)
        unknown_syscall_action: errno(ENOSYS)
        arches: [i386]
        multiplexer_conditions: drop
        syscalls:
          - names: [socket]
            action: allow
            when: {arg: 0, op: eq, value: AF_UNIX, width: 32}
          - names: [semctl]
            action: allow
            when: {arg: 2, op: ne, value: 0, width: 32}
        """
    )
    report = audit_policy(weak)
    assert found(report) == [
        ("SB010", Severity.LOW, "semctl", ("i386",)),
        ("SB010", Severity.LOW, "socket", ("i386",)),
    ]
    assert all("multiplexer_conditions: drop" in f.message for f in report.findings)


def test_no_multiplexer_finding_on_abis_without_one() -> None:
    text = CLEAN + "  - {names: [socket], action: allow, when: {arg: 0, op: eq, value: 1}}\n"
    assert audit_policy(policy(text)).findings == ()


# --- SB011, SB012: ENOSYS ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("", None),
        ("unknown_syscall_action: errno(EPERM)\n", Severity.LOW),
        ("unknown_syscall_action: kill_process\n", Severity.LOW),
        ("unknown_syscall_action: allow\n", Severity.MEDIUM),
    ],
)
def test_unknown_numbers(lines: str, expected: Severity | None) -> None:
    text = CLEAN.replace("unknown_syscall_action: errno(ENOSYS)\n", lines)
    report = audit_policy(policy(text))
    if not lines:  # no unknown_syscall_action: the default errno(EPERM) applies
        assert found(report) == [("SB011", Severity.LOW, None, ("x86_64",))]
        assert report.findings[0].message == (
            "system call numbers unknown to the tables get errno(EPERM) (the default action): "
            "C libraries fall back to older calls only on ENOSYS; set unknown_syscall_action: "
            "errno(ENOSYS)"
        )
        return
    assert found(report) == [("SB011", expected, None, ("x86_64",))]


def test_enosys_is_another_number_on_mips() -> None:
    # errno names in a policy are the generic ones (38 for ENOSYS); MIPS's ENOSYS is 89
    text = CLEAN.replace("[x86_64]", "[mips]")
    report = audit_policy(policy(text))
    assert found(report) == [("SB011", Severity.LOW, None, ("mips",))]
    assert report.findings[0].message.startswith(
        "system call numbers unknown to the tables get errno(38), which is not ENOSYS on mips"
    )
    assert report.findings[0].message.endswith("set unknown_syscall_action: errno(89)")
    fixed = text.replace("errno(ENOSYS)", "errno(89)")
    assert audit_policy(policy(fixed)).findings == ()


def test_new_call_denied_with_eperm_blocks_the_fallback() -> None:
    weak = policy(CLEAN + "  - {names: [faccessat], action: allow}\n")
    report = audit_policy(weak)
    assert found(report) == [("SB012", Severity.LOW, "faccessat2", ("x86_64",))]
    assert report.findings[0].message.startswith(
        "faccessat2 is denied with errno(EPERM) (the default action) while faccessat is allowed"
    )
    with_enosys = policy(CLEAN + "  - {names: [faccessat], action: allow}\n"
                         "  - {names: [faccessat2], action: errno(ENOSYS)}\n")  # fmt: skip
    assert audit_policy(with_enosys).findings == ()


def test_time64_fallback_on_a_32_bit_abi() -> None:
    text = CLEAN.replace("[x86_64]", "[arm]") + "  - {names: [clock_gettime], action: allow}\n"
    assert found(audit_policy(policy(text))) == [
        ("SB012", Severity.LOW, "clock_gettime64", ("arm",))
    ]


# --- SB013: unreachable rules ------------------------------------------------------------------


def test_unreachable_rules() -> None:
    weak = policy(
        CLEAN
        + """\
  - names: [openat]
    action: allow
    when: {arg: 2, op: lt, value: 10}
  - names: [openat]
    action: allow
    when: {arg: 2, op: ge, value: 10}
  - names: [openat]
    action: kill_process
  - names: [lseek]
    action: kill_process
    when: {all: [{arg: 2, op: eq, value: 1}, {arg: 2, op: eq, value: 2}]}
  - names: [read]
    action: allow
    when: {arg: 0, op: eq, value: 0}
"""
    )
    report = audit_policy(weak)
    assert found(report) == [
        ("SB013", Severity.MEDIUM, "lseek", ("x86_64",)),
        ("SB013", Severity.MEDIUM, "openat", ("x86_64",)),
        ("SB013", Severity.INFO, "read", ("x86_64",)),
    ]
    messages = {f.syscall: f.message for f in report.findings}
    assert messages == {
        "openat": "rule 4 never decides openat: rules 2, 3 before it match every call it would",
        "lseek": "rule 5 never decides lseek: its condition can never hold",
        "read": "rule 6 never decides read: rule 1 before it matches every call it would",
    }


def test_a_rule_reached_for_one_value_is_reachable() -> None:
    text = CLEAN + (
        "  - {names: [openat], action: allow, when: {arg: 2, op: lt, value: 10}}\n"
        "  - {names: [openat], action: allow, when: {arg: 2, op: gt, value: 10}}\n"
        "  - {names: [openat], action: kill_process}\n"
    )
    assert found(audit_policy(policy(text)), "SB013") == []


# --- programs: one word of an argument, and compiled policies ---------------------------------


def test_program_compares_only_the_low_word_of_a_length() -> None:
    prog = program(
        """\
        A = arch
        if (A != ARCH_X86_64) goto kill
        A = sys_number
        if (A >= 0x40000000) goto kill
        if (A == mmap) goto mmap
        if (A == read) goto allow
        return ERRNO(38)
        mmap:
        A = args[1]
        if (A > 4096) goto deny
        allow:
        return ALLOW
        deny:
        return ERRNO(1)
        kill:
        return KILL_PROCESS
        """
    )
    report = audit_program(prog)
    assert found(report) == [("SB008", Severity.MEDIUM, "mmap", ("x86_64",))]
    nr = X86_64.syscalls["mmap"]
    data = SeccompData(nr, X86_64.audit_arch, 0, (0, (1 << 32) | 1, 0, 0, 0, 0))
    assert emulate(prog, data).action is SeccompAction.ALLOW


def test_program_compares_both_words_of_a_length() -> None:
    weak = policy(
        CLEAN + "  - {names: [mmap], action: allow, when: {arg: 1, op: le, value: 4096}}\n"
    )
    assert audit_program(compile_policy(weak)).findings == ()


def test_compiled_high_half_bypass_is_found_in_the_program() -> None:
    weak = policy(
        CLEAN + "  - {names: [socket], action: allow, when: {arg: 0, op: ne, value: AF_VSOCK}}\n"
    )
    expected = [("SB009", Severity.MEDIUM, "socket", ("x86_64",))]
    assert found(audit_policy(weak)) == expected
    assert found(audit_program(compile_policy(weak))) == expected


def test_compiled_allowlist_with_eperm_for_unknown_numbers() -> None:
    text = CLEAN.replace("unknown_syscall_action: errno(ENOSYS)\n", "")
    report = audit_program(compile_policy(policy(text)))
    assert found(report) == [("SB011", Severity.LOW, None, ("x86_64",))]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip
@given(
    weak=policies(
        names=("ptrace", "mount", "unshare", "clone", "personality", "read", "bpf", "clone3")
    )
)
def test_a_compiled_policy_has_the_dangerous_calls_of_the_policy(weak: Policy) -> None:
    # The same question asked of the policy and of its compiled program (through the
    # decompiler): the dangerous calls allowed, how, and on which ABIs.
    from dataclasses import replace

    weak = replace(weak, bad_arch_action=KILL_PROCESS)
    prog = compile_policy(weak)
    assume(decompile(prog).exact)

    def dangerous(report: AuditReport) -> set[tuple[str | None, Severity, str]]:
        # the message without what gave the action (a rule of the policy; nothing for the
        # program, whose decompiled rules nobody wrote)
        return {
            (f.syscall, f.severity, f.message.split(":")[0].split(" (")[0])
            for f in report.findings
            if f.check == "SB006"
        }

    assert dangerous(audit_program(prog, arches=["x86_64"])) == dangerous(audit_policy(weak))


# --- real policies --------------------------------------------------------------------------------


@pytest.mark.parametrize("arches", [["x86_64"], ["x86_64", "i386", "x32"], ["native+compat"]])
def test_the_default_policy_reports_nothing_above_info(arches: list[str]) -> None:
    report = audit_policy(default_policy(arches))
    assert report.at_least(Severity.LOW) == ()
    listed = tuple(a.name for a in default_policy(arches).resolved_arches())
    assert ("SB006", Severity.INFO, "name_to_handle_at", listed) in found(report)
    compiled = audit_program(compile_policy(default_policy(arches)), arches=list(listed))
    assert compiled.at_least(Severity.LOW) == ()


def test_the_default_policy_with_dropped_conditions_would_open_socketcall() -> None:
    # default.yaml says multiplexer_conditions: strict; with drop, socketcall(SYS_SOCKET) on
    # i386 would be allowed for every family, AF_ALG and AF_VSOCK included.
    weakened = dataclasses.replace(
        default_policy(["x86_64", "i386", "x32"]), multiplexer_conditions="drop"
    )
    report = audit_policy(weakened)
    assert found(report, *(c for c in CHECKS if c != "SB013")) == [
        ("SB006", Severity.INFO, "name_to_handle_at", ("x86_64", "i386", "x32")),
        ("SB010", Severity.LOW, "socket", ("i386",)),
    ]
    assert {f.severity for f in report.findings if f.check == "SB013"} == {Severity.INFO}


def test_dockers_default_profile() -> None:
    report = audit_policy(read_policy_file(DOCKER_DEFAULT))
    listed = found(report)
    # ptrace and process_vm_* are allowed (from kernel 4.8 on, where ptrace cannot bypass
    # seccomp); AF_VSOCK is refused with a 64-bit comparison of socket's int family.
    assert ("SB006", Severity.HIGH, "ptrace", ("x86_64", "i386", "x32")) in listed
    assert ("SB009", Severity.MEDIUM, "socket", ("x86_64", "x32")) in listed
    assert ("SB010", Severity.MEDIUM, "socket", ("i386",)) in listed
    assert report.at_least(Severity.CRITICAL) == ()
    # the emulator shows the AF_VSOCK bypass the SB009 finding reports
    prog = compile_policy(read_policy_file(DOCKER_DEFAULT))
    nr, af_vsock = X86_64.syscalls["socket"], 40
    for family, action in (
        (af_vsock, SeccompAction.ERRNO),
        (1 << 32 | af_vsock, SeccompAction.ALLOW),
    ):
        data = SeccompData(nr, X86_64.audit_arch, 0, (family, 1, 0, 0, 0, 0))
        assert emulate(prog, data).action is action


# --- the report and its formats ------------------------------------------------------------------

SAMPLE = CLEAN + "  - {names: [ptrace], action: allow}\n"


def test_text_format() -> None:
    report = audit_policy(policy(SAMPLE))
    assert format_text(report).splitlines() == [
        "weak.yaml:7:5: high SB006 dangerous-syscall: ptrace is allowed for every argument "
        "(rule 2): it reads and writes the memory and registers of other processes [x86_64]",
        "weak.yaml: 1 finding: 1 high (policy; x86_64)",
    ]
    empty = audit_policy(policy(CLEAN))
    assert format_text(empty) == "weak.yaml: no findings (policy; x86_64)\n"


def test_json_format() -> None:
    document = json.loads(format_json(audit_policy(policy(SAMPLE))))
    assert document["subject"] == "policy"
    assert document["summary"] == {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}
    assert document["findings"] == [
        {
            "id": "SB006",
            "name": "dangerous-syscall",
            "severity": "high",
            "message": "ptrace is allowed for every argument (rule 2): it reads and writes the "
            "memory and registers of other processes",
            "arches": ["x86_64"],
            "syscall": "ptrace",
            "rule": 2,
            "file": "weak.yaml",
            "line": 7,
            "column": 5,
        }
    ]


def test_sarif_structure() -> None:
    report = audit_policy(
        policy(SAMPLE + "  - {names: [mount], action: allow}\n", "dir/my policy.yaml")
    )
    log = json.loads(format_sarif(report))
    assert log == to_sarif(report)
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "seccomp-bpf"
    assert [rule["id"] for rule in driver["rules"]] == list(CHECKS)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
    assert [r["ruleId"] for r in run["results"]] == ["SB006", "SB006"]
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        assert result["message"]["text"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "dir/my%20policy.yaml"
        assert physical["region"]["startLine"] in (7, 8)
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("x86_64/")
    assert run["artifacts"] == [{"location": {"uri": "dir/my%20policy.yaml"}}]


def test_sarif_for_a_program_without_a_file() -> None:
    log = json.loads(format_sarif(audit_program(program(DENYLIST_NO_ARCH_CHECK))))
    [run] = log["runs"]
    assert "artifacts" not in run
    for result in run["results"]:
        locations = result.get("locations", [])
        assert all("physicalLocation" not in location for location in locations)
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["SB001"] == "error"
    assert levels["SB005"] == "warning"


def test_audit_orders_worst_first() -> None:
    weak = policy(SAMPLE + "  - {names: [personality], action: allow}\n")
    report = audit(weak, source="other.yaml")
    assert report.source == "other.yaml"
    assert [f.severity for f in report.findings] == sorted(
        (f.severity for f in report.findings), reverse=True
    )
    assert report.worst is Severity.HIGH
    assert len(report.at_least(Severity.LOW)) == 2
    assert audit(compile_policy(weak)).subject == "program"
    # the --arch of a policy replaces its arches
    assert audit(weak, arches=["aarch64"]).arches == ("aarch64",)


def test_severity_parse() -> None:
    assert Severity.parse("High") is Severity.HIGH
    with pytest.raises(ValueError, match="expected one of info, low"):
        Severity.parse("severe")
