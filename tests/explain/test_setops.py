"""Union and intersection: checked against the kernel's stacking of filters and the evaluator.

Installing two filters makes the kernel run both and keep the action of lower precedence (the
first of equals): ``run_filters`` in the emulator does exactly that, so the intersection of
two policies must decide as their two compiled programs stacked. The union must give the
more permissive of the two evaluations.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import Arch, ArchSymbols, get_arch
from seccomp_bpf.bpf.assembler import assemble
from seccomp_bpf.bpf.emulator import SeccompData, emulate, run_filters
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.explain import intersection, union
from seccomp_bpf.explain.setops import more_permissive
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    LOG,
    Action,
    NumberRange,
    Policy,
    Rule,
    eq,
)
from tests.compiler.strategies import BOUNDARIES, MAX64, condition_values, policies

ARCHES = (("x86_64", "i386", "x32"),)


def _calls(a: Policy, b: Policy, seed: int) -> Iterator[tuple[Arch, SeccompData]]:
    rnd = random.Random(seed)
    near = {0, 1, MAX64, *BOUNDARIES}
    for policy in (a, b):
        for rule in policy.rules:
            for value in condition_values(rule.when):
                value &= MAX64
                near |= {value, (value + 1) & MAX64, (value - 1) & MAX64, value & 0xFFFFFFFF}
    values = sorted(near)
    arches = {arch.name: arch for p in (a, b) for arch in p.resolved_arches()}
    for arch in arches.values():
        numbers = {0, 1, 2, 41, 102, 117, 999, 0x3FFFFFFF}
        for policy in (a, b):
            for rule in policy.rules:
                for name in rule.syscalls:
                    if isinstance(name, NumberRange):
                        numbers |= {name.first, name.last, name.last + 1}
                        continue
                    nr = name if isinstance(name, int) else arch.syscall_number(name)
                    if nr is not None:
                        numbers.add(nr)
        for nr in sorted(numbers):
            nr = (nr | arch.syscall_nr_mask_bit) & 0xFFFFFFFF
            for _ in range(6):
                a0, a1, a2, a3, a4, a5 = (rnd.choice(values) for _ in range(6))
                args = (a0, a1, a2, a3, a4, a5)
                yield arch, SeccompData(nr, arch.audit_arch, rnd.choice(values), args)


@settings(max_examples=40, deadline=None)
@given(
    a=policies(arch_choices=ARCHES),
    b=policies(arch_choices=ARCHES),
    seed=st.integers(0, 2**32),
)
def test_intersection_decides_as_both_filters_installed(a: Policy, b: Policy, seed: int) -> None:
    combined = compile_policy(intersection(a, b))
    programs = [compile_policy(a), compile_policy(b)]  # a is "newest": it wins ties
    for _arch, data in _calls(a, b, seed):
        stacked = run_filters(programs, data)
        assert Action.from_ret(emulate(combined, data).ret, strict=False) == Action.from_ret(
            stacked, strict=False
        )


@settings(max_examples=40, deadline=None)
@given(
    a=policies(arch_choices=ARCHES),
    b=policies(arch_choices=ARCHES),
    seed=st.integers(0, 2**32),
)
def test_union_gives_the_more_permissive_action(a: Policy, b: Policy, seed: int) -> None:
    combined = union(a, b)
    for arch, data in _calls(a, b, seed):
        left = a.evaluate(arch, data.nr, data.args, data.instruction_pointer)
        right = b.evaluate(arch, data.nr, data.args, data.instruction_pointer)
        got = combined.evaluate(arch, data.nr, data.args, data.instruction_pointer)
        assert got == more_permissive(left, right)


def test_union_of_policies_for_two_architectures_lists_both() -> None:
    a = Policy(ERRNO(1), (Rule(("read", "write"), ALLOW),), arches=("x86_64",))
    b = Policy(ERRNO(1), (Rule(("read",), LOG), Rule(("socket",), ALLOW, eq(0, 1))), ("aarch64",))
    both = union(a, b)
    assert both.arches == ("x86_64", "aarch64")
    assert both.evaluate("x86_64", 0) == ALLOW  # read: allow beats log
    assert both.evaluate("aarch64", 63) == LOG  # read on aarch64: only b allows it, with log
    assert both.evaluate("aarch64", 198, (1,)) == ALLOW  # socket(1)
    assert both.evaluate("aarch64", 198, (2,)) == ERRNO(1)
    # the intersection of the two allows nothing: each ABI is refused by one of them
    nothing = intersection(a, b)
    assert nothing.evaluate("x86_64", 0) == KILL_PROCESS
    assert nothing.evaluate("aarch64", 63) == KILL_PROCESS


def test_two_unknown_number_actions_become_a_rule_on_a_range() -> None:
    # unknown numbers: ENOSYS on x86_64 (a), KILL on aarch64 (b's default): one of the two
    # unknown-number actions is written as a rule on the range of aarch64's unknown numbers
    a = Policy(ERRNO(1), (Rule(("read",), ALLOW),), ("x86_64",), unknown_syscall_action=ERRNO(38))
    b = Policy(KILL_PROCESS, (Rule(("read",), ALLOW),), ("aarch64",))
    both = union(a, b)
    assert not both.notes
    assert any(isinstance(s, NumberRange) for rule in both.rules for s in rule.syscalls)
    aarch64_last = max(get_arch("aarch64").syscalls.values())
    for arch, nr, action in (
        ("x86_64", 0, ALLOW),
        ("x86_64", 99_999, ERRNO(38)),
        ("x86_64", 0x80000000, ERRNO(38)),
        ("aarch64", 63, ALLOW),
        ("aarch64", aarch64_last + 1, KILL_PROCESS),
        ("aarch64", 0xFFFFFFFF, KILL_PROCESS),
    ):
        assert both.evaluate(arch, nr) == action, (arch, nr)


# A filter that treats two architectures no table knows differently: the model has one
# bad_arch_action for every architecture it does not list.
TWO_FOREIGN_ANSWERS = """
    A = arch
    if (A == 0xdeadbeef) goto odd
    if (A == ARCH_X86_64) goto x86_64
    return KILL_PROCESS
    odd:
    return ALLOW
    x86_64:
    return ERRNO(1)
"""


def test_what_no_policy_can_say_is_refused_or_noted() -> None:
    program = assemble(
        TWO_FOREIGN_ANSWERS, symbols=ArchSymbols(default=get_arch("x86_64")), byteorder="little"
    )
    b = Policy(KILL_PROCESS, (Rule(("read",), ALLOW),), ("x86_64",))
    with pytest.raises(PolicyError, match="cannot be written exactly"):
        union(program, b)
    loose = union(program, b, strict=False)
    assert any("foreign architectures get different actions" in note for note in loose.notes)


def test_calls_reported_under_another_abis_value_get_rules_of_their_own() -> None:
    # An o32 filter that lets n64's number 5000 through when an o32 task makes it, while an
    # n64 task is refused: rules limited to AUDIT_ARCH values (Rule.audit_arches) say it.
    program = assemble(
        """
        A = arch
        if (A == 0x40000008) goto o32
        return KILL_PROCESS
        o32:
        A = sys_number
        if (A == 5000) goto allow
        return ERRNO(1)
        allow:
        return ALLOW
        """,
        symbols=ArchSymbols(default=get_arch("mipsel")),
        byteorder="little",
    )
    b = Policy(KILL_PROCESS, (Rule(("read",), ALLOW),), ("mipsel",))
    both = union(program, b)
    assert any(rule.audit_arches is not None for rule in both.rules)
    mipsel, mipsel64 = get_arch("mipsel"), get_arch("mipsel64")
    for audit, nr, action in (
        (mipsel.audit_arch, 5000, ALLOW),  # n64's number made by an o32 task
        (mipsel64.audit_arch, 5000, KILL_PROCESS),  # made by an n64 task
        (mipsel.audit_arch, 4003, ALLOW),  # o32 read: b allows it
        (mipsel.audit_arch, 4004, ERRNO(1)),
        # b follows the model: o32 read is allowed whichever task makes it
        (mipsel64.audit_arch, 4003, ALLOW),
        (mipsel64.audit_arch, 4004, KILL_PROCESS),
    ):
        assert both.evaluate(audit, nr) == action, (hex(audit), nr)
