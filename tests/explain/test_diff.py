"""``diff``: equivalence decided exactly, and each difference checked on its example call.

Every reported case is checked independently: the reference evaluator (for a policy) or the
emulator (for a program) must give the reported actions for the case's example call.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.explain import Difference, DifferenceCase, diff
from seccomp_bpf.formats import load_oci_policy, load_yaml_policy
from seccomp_bpf.formats.yaml_writer import to_yaml
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    LOG,
    Action,
    Policy,
    Rule,
    eq,
    ge,
    masked_eq,
)
from tests.compiler.strategies import policies
from tests.datafiles import DOCKER_DEFAULT

BASE = Policy(
    default_action=ERRNO(1),
    rules=(
        Rule(("read", "write", "close", "exit_group", "getpid"), ALLOW),
        Rule(("socket",), ALLOW, eq(0, 1, width=32)),
        Rule(("mmap",), KILL_PROCESS, masked_eq(2, 0x6, 0x6)),
        Rule(("mmap", "clock_gettime"), LOG),
    ),
    arches=("x86_64", "x32"),
    unknown_syscall_action=ERRNO(38),
    multiplexer_conditions="drop",
)


def decision(side: Policy | Program, case: DifferenceCase) -> Action:
    """What one side does with the case's example call, by the evaluator or the emulator."""
    if isinstance(side, Policy):
        return side.evaluate(case.audit, case.nr, case.args, case.ip)
    arch = get_arch(case.arch) if case.arch else None
    data = SeccompData(
        case.nr,
        case.audit,
        case.ip,
        case.args,
        byteorder=arch.byteorder if arch else None,
    )
    return Action.from_ret(emulate(side, data).ret, strict=False)


def checked(a: Policy | Program, b: Policy | Program) -> Difference:
    result = diff(a, b)
    assert result.exact
    for case in result.cases:
        assert case.left != case.right
        assert decision(a, case) == case.left, case.describe()
        assert decision(b, case) == case.right, case.describe()
    return result


@settings(max_examples=40, deadline=None)
@given(policy=policies(arch_choices=(("x86_64",), ("x86_64", "i386", "x32"), ("aarch64", "arm"))))
def test_a_policy_and_its_compilations_are_equivalent(policy: Policy) -> None:
    assert checked(policy, compile_policy(policy)).equivalent
    assert checked(compile_policy(policy, optimize=False), policy).equivalent


def test_the_docker_profile_and_its_yaml_are_equivalent() -> None:
    profile = load_oci_policy(DOCKER_DEFAULT.read_text(), arch="x86_64")
    converted = load_yaml_policy(to_yaml(profile))
    assert checked(profile, converted).equivalent
    assert checked(converted, compile_policy(profile)).equivalent
    # and a real difference is found in it: clone with CLONE_NEWUSER allowed
    looser = replace(converted, rules=(Rule(("clone",), ALLOW), *converted.rules))
    cases = checked(converted, looser).cases
    assert {case.syscalls for case in cases} == {("clone",)}
    assert {case.arch for case in cases} == {"x86_64", "i386", "x32"}


def test_one_argument_value() -> None:
    other = replace(
        BASE,
        rules=(*BASE.rules[:1], Rule(("socket",), ALLOW, eq(0, 2, width=32)), *BASE.rules[2:]),
    )
    cases = checked(BASE, other).cases
    assert {(case.arch, case.syscalls) for case in cases} == {
        ("x86_64", ("socket",)),
        ("x32", ("socket",)),
    }
    # where the first allows (arg0 == 1) and where the second does (arg0 == 2)
    assert {(case.args[0] & 0xFFFFFFFF, case.left, case.right) for case in cases} == {
        (1, ALLOW, ERRNO(1)),
        (2, ERRNO(1), ALLOW),
    }


def test_one_system_call() -> None:
    other = replace(BASE, rules=(*BASE.rules, Rule(("getppid",), ALLOW)))
    cases = checked(BASE, compile_policy(other)).cases
    assert [(case.arch, case.syscalls, case.condition) for case in cases] == [
        ("x86_64", ("getppid",), None),
        ("x32", ("getppid",), None),
    ]


def test_one_architecture() -> None:
    other = replace(BASE, arches=("x86_64", "x32", "i386"))
    cases = checked(BASE, other).cases
    assert {case.arch for case in cases} == {"i386"}
    # i386 gets the bad-architecture action on the left, the rules on the right
    assert {case.left for case in cases} == {BASE.bad_arch_action}
    assert ALLOW in {case.right for case in cases}
    # asked about x86_64 only, there is no difference
    assert diff(BASE, other, ["x86_64"]).equivalent


def test_foreign_architectures() -> None:
    other = replace(BASE, bad_arch_action=ERRNO(1))
    cases = checked(BASE, other).cases
    assert cases
    assert all(case.arch is None or case.arch not in ("x86_64", "x32") for case in cases)
    assert any(case.arch is None for case in cases)


def test_subset_holds_for_a_stricter_copy_and_fails_the_other_way() -> None:
    # stricter: getpid no longer allowed, mmap killed whenever arg2 >= 4
    stricter = replace(
        BASE,
        rules=(
            Rule(("read", "write", "close", "exit_group"), ALLOW),
            BASE.rules[1],
            Rule(("mmap",), KILL_PROCESS, ge(2, 4)),
            BASE.rules[3],
        ),
    )
    assert checked(stricter, BASE).is_subset
    result = checked(BASE, stricter)
    assert not result.is_subset
    violations = result.subset_violations
    assert {case.syscalls for case in violations} == {("getpid",), ("mmap",)}
    for case in violations:
        assert decision(BASE, case) in (ALLOW, LOG)
        assert decision(stricter, case) not in (ALLOW, LOG)
    # the log-only difference is a difference, but not a subset violation
    logged = replace(BASE, rules=(*BASE.rules[:3], Rule(("mmap", "clock_gettime"), ALLOW)))
    result = checked(BASE, logged)
    assert not result.equivalent
    assert result.is_subset
