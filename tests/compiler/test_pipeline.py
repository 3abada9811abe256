"""The compiled program decides exactly as the independent reference evaluator, everywhere.

The judge is :mod:`tests.reference.evaluator`, which shares no name resolution, ABI dispatch or
multiplexer mirroring with the compiler; the emulator runs the program.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import X32_SYSCALL_BIT, all_arches, get_arch
from seccomp_bpf.bpf.cache import is_constant_allow
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import CompileError, PolicyError
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, TRAP, Action, Cmp, Policy, Rule
from tests.compiler.strategies import (
    BOUNDARIES,
    interesting_numbers,
    multiplexer_calls,
    near_values,
    policies,
)
from tests.reference import evaluator as reference

ARCH_SETS = (
    ("x86_64",),
    ("x86_64", "i386", "x32"),
    ("x32",),
    ("i386",),
    ("aarch64", "arm"),
    ("arm",),
    ("riscv64",),
    ("s390x",),
    ("s390x", "s390"),
    ("ppc64",),
    ("ppc64le", "ppc"),
    ("mips", "mips64n32"),
    ("mips64", "mips"),
    ("mipsel64",),
    ("mipsel", "mipsel64n32"),
    ("mips64",),
    ("mips64n32",),
)
# Calls reported as every architecture value the reference knows, listed or not.
AUDITS = sorted({abi.audit for abi in reference.ABIS})
FOREIGN_ARCH = 0x12345678  # no AUDIT_ARCH_* has this value
X32 = X32_SYSCALL_BIT


def _valid(policy: Policy) -> Policy:
    """A random policy may name a call that none of its ABIs has (arm has no mmap): it is
    rightly refused, and not what these tests are about."""
    try:
        policy.validate()
    except PolicyError:
        assume(False)
    return policy


def assert_same_decisions(
    policy: Policy, program: Program, numbers_args: list[tuple[int, int, tuple[int, ...], int]]
) -> None:
    for audit, nr, args, ip in numbers_args:
        data = SeccompData(nr, audit, ip, args)  # type: ignore[arg-type]
        expected = reference.ret(policy, audit, nr, args, ip)
        got = emulate(program, data).ret
        assert got == expected, (
            f"arch={audit:#x} nr={nr:#x} args={[hex(a) for a in args]} ip={ip:#x}: "
            f"compiled {got:#x}, reference {expected:#x}"
        )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(st.data())
def test_compiled_equals_reference_on_random_policies(data: st.DataObject) -> None:
    policy = _valid(data.draw(policies(arch_choices=ARCH_SETS)))
    rng = data.draw(st.randoms(use_true_random=False))
    program = compile_policy(policy)
    near = near_values(policy)
    cases = []
    listed = {a.audit_arch for a in policy.resolved_arches()}
    for audit in [*AUDITS, FOREIGN_ARCH]:
        arch = next((a for a in policy.resolved_arches() if a.audit_arch == audit), None)
        # another value reaches the listed ABIs only by number (MIPS ranges, x32's bit)
        numbers = interesting_numbers(policy, arch) if arch else [3, 4003, 5000, 6000, X32]
        tries = 3 if audit in listed else 1
        for nr in numbers:
            for _ in range(tries):
                args = tuple(rng.choice(near) for _ in range(6))
                ip = rng.choice([*BOUNDARIES, *args])
                cases.append((audit, nr, args, ip))
        if arch is not None:
            cases += [(audit, nr, args, 0) for nr, args in multiplexer_calls(arch)]
    assert_same_decisions(policy, program, cases)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(arch_choices=ARCH_SETS), st.randoms(use_true_random=False))
def test_optimized_equals_unoptimized(policy: Policy, rng: random.Random) -> None:
    _valid(policy)
    optimized = compile_policy(policy)
    plain = compile_policy(policy, optimize=False)
    assert len(optimized) <= len(plain)
    for arch in policy.resolved_arches():
        for nr in interesting_numbers(policy, arch):
            args = tuple(rng.choice(BOUNDARIES) for _ in range(6))
            data = SeccompData(nr, arch.audit_arch, 0, args)  # type: ignore[arg-type]
            assert emulate(optimized, data).ret == emulate(plain, data).ret


# The enumerated sweep: every comparison at every boundary datum, on inputs around it.
SWEEP_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "masked_eq")
SWEEP_DATUMS = (0, 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**64 - 2, 2**64 - 1)


def sweep_inputs(datum: int) -> list[int]:
    mask = 2**64 - 1
    return sorted(
        {
            datum,
            (datum + 1) & mask,
            (datum - 1) & mask,
            datum & 0xFFFFFFFF,  # the low word alone
            datum & ~0xFFFFFFFF & mask,  # the high word alone
            (datum ^ (1 << 32)) & mask,  # differs in the high word only
            (datum ^ 1) & mask,  # differs in the low word only
            0,
        }
    )


@pytest.mark.parametrize("arch_name", ["x86_64", "s390x"])
@pytest.mark.parametrize("width", [64, 32])
@pytest.mark.parametrize("kind", SWEEP_OPS)
def test_enumerated_sweep(kind: str, width: int, arch_name: str) -> None:
    arch = get_arch(arch_name)
    nr = arch.syscall_number("read")
    assert nr is not None
    checked = 0
    for datum in SWEEP_DATUMS:
        value = datum if width == 64 else datum & 0xFFFFFFFF
        if kind == "masked_eq":
            mask = 0xFFFF0000FFFF00FF if width == 64 else 0xFFFF00FF
            cmp = Cmp(2, kind, value & mask, mask=mask, width=width)
        else:
            cmp = Cmp(2, kind, value, width=width)
        policy = Policy(ERRNO(1), (Rule(("read",), ALLOW, cmp),), arches=(arch_name,))
        program = compile_policy(policy)
        for arg in sweep_inputs(datum):
            args = (0, 0, arg, 0, 0, 0)
            data = SeccompData(nr, arch.audit_arch, 0, args)
            assert emulate(program, data).ret == reference.ret(policy, arch.audit_arch, nr, args), (
                kind,
                width,
                hex(datum),
                hex(arg),
            )
            checked += 1
    assert checked >= len(SWEEP_DATUMS) * 4


def _x86_64_allowlist(x86_64_numbers: list[int]) -> tuple[Rule, ...]:
    """Rules that allow every x86_64 call, by name and by number (raw numbers too)."""
    return (
        Rule(tuple(get_arch("x86_64").syscalls), ALLOW),
        Rule(tuple(x86_64_numbers), ALLOW, Cmp(0, "ne", 7)),
    )


@pytest.mark.parametrize("bad_arch_action", [KILL_PROCESS, ERRNO(77), TRAP(3)], ids=str)
@pytest.mark.parametrize("arches", [("x86_64",), ("x86_64", "i386")], ids="+".join)
@pytest.mark.parametrize("shape", ["no rules", "x86_64 allowlist"])
def test_every_x32_number_gets_bad_arch_action_without_x32(
    shape: str, arches: tuple[str, ...], bad_arch_action: Action
) -> None:
    """Every number an x32 call can carry (bit 30 set), whatever the x86_64 rules and the
    default and unknown-syscall actions say, when the policy does not list x32."""
    x32 = get_arch("x32")
    x86_64_numbers = sorted(set(get_arch("x86_64").syscalls.values()))
    if shape == "no rules":
        policy = Policy(ALLOW, (), arches=arches, bad_arch_action=bad_arch_action)
    else:
        policy = Policy(
            ERRNO(1),
            _x86_64_allowlist(x86_64_numbers),
            arches=arches,
            bad_arch_action=bad_arch_action,
            unknown_syscall_action=ALLOW,
        )
    program = compile_policy(policy)
    numbers = {
        *x32.syscalls.values(),  # the x32 table
        *(X32_SYSCALL_BIT | nr for nr in x86_64_numbers),  # x86_64 numbers with the x32 bit
        *(X32_SYSCALL_BIT | nr for nr in (1000, 1001, 4095, 0x3FFFFFFF)),  # unassigned
        0x40000000,
        0x7FFFFFFF,
        0xFFFFFFFE,  # 0xFFFFFFFF is -1, a tracer's skipped call: x86-64's (below)
    }
    for nr in sorted(numbers):
        assert nr & X32_SYSCALL_BIT
        assert policy.evaluate(x32.audit_arch, nr) == bad_arch_action, hex(nr)
        assert reference.evaluate(policy, x32.audit_arch, nr) == bad_arch_action, hex(nr)
        result = emulate(program, SeccompData(nr, x32.audit_arch)).ret
        assert result == bad_arch_action.ret_value, hex(nr)
    skipped = policy.evaluate(x32.audit_arch, 0xFFFFFFFF)
    assert skipped == ALLOW != bad_arch_action  # the default, or the unknown-call action
    assert reference.evaluate(policy, x32.audit_arch, 0xFFFFFFFF) == skipped
    assert emulate(program, SeccompData(0xFFFFFFFF, x32.audit_arch)).ret == skipped.ret_value


def _small_policies() -> list[Policy]:
    """Policies of a few x86_64 calls. The first and last have trees that test x32's bit
    first (see split_on_bit); the second's one tree costs fewer comparisons on average."""
    return [
        Policy(ERRNO(1), (Rule(("ioctl",), ALLOW, Cmp(1, "eq", 0x5401)),), arches=("x86_64",)),
        Policy(
            ERRNO(1),
            (
                Rule(("read", "write", "close"), ALLOW),
                Rule(("openat",), TRAP(2), Cmp(2, "bits_set", 3)),
                Rule((0x80000005, 0xBFFFFFFF, 0xFFFFFFFF), ERRNO(9)),
            ),
            arches=("x86_64",),
            bad_arch_action=TRAP(7),
        ),
        Policy(ALLOW, (Rule(("ptrace",), KILL_PROCESS),), arches=("x86_64", "i386")),
    ]


@pytest.mark.parametrize("index", range(3))
def test_a_small_tree_tests_the_x32_bit_first_and_decides_every_number(index: int) -> None:
    policy = _small_policies()[index]
    program = compile_policy(policy)
    tests_the_bit = any(ins.code == 0x45 and ins.k == X32_SYSCALL_BIT for ins in program)
    assert tests_the_bit == (index != 1)
    x86_64 = get_arch("x86_64")
    named = [x86_64.syscalls[n] for n in ("read", "write", "close", "openat", "ioctl", "ptrace")]
    edges = [0, X32_SYSCALL_BIT, 2 * X32_SYSCALL_BIT, 3 * X32_SYSCALL_BIT, 0x80000005]
    edges += [0xFFFFFFFF, 0x3FFFFFFF, *named, *(X32_SYSCALL_BIT | nr for nr in named)]
    numbers = {(nr + delta) & 0xFFFFFFFF for nr in edges for delta in (-1, 0, 1)}
    for nr in sorted(numbers):
        for args in ((0, 0, 0, 0, 0, 0), (0, 0x5401, 3, 0, 0, 0)):
            want = reference.ret(policy, x86_64.audit_arch, nr, args)
            got = emulate(program, SeccompData(nr, x86_64.audit_arch, 0, args)).ret
            assert got == want, hex(nr)


def test_foreign_arch_gets_bad_arch_action() -> None:
    policy = Policy(ALLOW, (), arches=("x86_64",), bad_arch_action=ERRNO(7))
    program = compile_policy(policy)
    for arch in all_arches():
        if arch.audit_arch != get_arch("x86_64").audit_arch:
            assert emulate(program, SeccompData(0, arch.audit_arch)).ret == ERRNO(7).ret_value


def test_argument_free_allows_are_cacheable() -> None:
    rules = (
        Rule(("read", "write", "close"), ALLOW),
        Rule(("openat",), ALLOW, Cmp(2, "bits_clear", 3)),
        Rule(("mmap",), ERRNO(1), Cmp(2, "bits_set", 4)),
        Rule(("mmap",), ALLOW),
    )
    policy = Policy(ERRNO(1), rules, arches=("x86_64", "i386"))
    program = compile_policy(policy)
    for arch in policy.resolved_arches():
        for name in ("read", "write", "close"):
            nr = arch.syscall_number(name)
            assert nr is not None
            assert is_constant_allow(program, arch.audit_arch, nr), (arch.name, name)
        for name in ("openat", "mmap"):
            nr = arch.syscall_number(name)
            assert nr is not None
            assert not is_constant_allow(program, arch.audit_arch, nr)


def test_output_is_deterministic() -> None:
    rules = tuple(
        Rule((name,), ALLOW, Cmp(0, "in", (1, 2, 3))) for name in ("read", "write", "openat")
    )
    policy = Policy(ERRNO(1), rules, arches=("x86_64", "i386", "x32"))
    assert compile_policy(policy).to_bytes() == compile_policy(policy).to_bytes()


def test_too_large_names_the_biggest_contributors() -> None:
    # Two sets of 3,000 values each (different ones: equal blocks would be shared).
    values = tuple(range(0, 1 << 40, (1 << 40) // 3000))
    rules = tuple(
        Rule((name,), ALLOW, Cmp(1, "in", tuple(v + shift for v in values)))
        for shift, name in enumerate(("read", "write"))
    )
    policy = Policy(ERRNO(1), rules, arches=("x86_64",))
    with pytest.raises(CompileError, match="does not fit") as error:
        compile_policy(policy)
    message = str(error.value)
    assert "x86_64:read" in message and "x86_64:write" in message
    assert "rule 1" in message and "rule 2" in message


@pytest.mark.parametrize("names", list(itertools.combinations(["x86_64", "i386", "x32"], 2)))
def test_arches_override(names: tuple[str, str]) -> None:
    policy = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("x86_64",))
    program = compile_policy(policy, arches=names)
    for name in names:
        arch = get_arch(name)
        nr = arch.syscall_number("read")
        assert nr is not None
        assert emulate(program, SeccompData(nr, arch.audit_arch)).ret == ALLOW.ret_value


def test_mips_calls_of_another_abi_never_reach_this_abis_rules() -> None:
    # A 64-bit MIPS kernel runs a number from whichever ABI's range it falls in, while
    # seccomp_data.arch names the task's ABI (arch/mips/kernel/scall64-o32.S): an n64 task
    # can make o32 calls. Without o32 in the policy they get bad_arch_action.
    mips64, o32 = get_arch("mips64"), get_arch("mips")
    ptrace_o32 = o32.syscall_number("ptrace")
    ptrace_n64 = mips64.syscall_number("ptrace")
    assert ptrace_o32 is not None and ptrace_n64 is not None
    deny_ptrace = (Rule(("ptrace",), ERRNO(1)),)
    only_n64 = Policy(ALLOW, deny_ptrace, arches=("mips64",), bad_arch_action=KILL_PROCESS)
    program = compile_policy(only_n64)
    assert emulate(program, SeccompData(ptrace_n64, mips64.audit_arch)).ret == ERRNO(1).ret_value
    assert emulate(program, SeccompData(ptrace_o32, mips64.audit_arch)).ret == (
        KILL_PROCESS.ret_value
    )
    both = Policy(ALLOW, deny_ptrace, arches=("mips64", "mips"), bad_arch_action=KILL_PROCESS)
    program = compile_policy(both)
    for audit in (mips64.audit_arch, o32.audit_arch):
        for nr in (ptrace_n64, ptrace_o32):
            data = SeccompData(nr, audit)
            assert emulate(program, data).ret == ERRNO(1).ret_value
            assert both.evaluate(audit, nr).ret_value == ERRNO(1).ret_value


def test_raw_numbers_follow_the_abi_that_owns_them() -> None:
    # Number 39 is getpid on x86_64; as a raw number in an x86_64+x32 policy it must not be
    # read as an x32 call (x32 numbers carry bit 30).
    policy = Policy(ALLOW, (Rule((39,), ERRNO(3)),), arches=("x86_64", "x32"))
    program = compile_policy(policy)
    audit = get_arch("x86_64").audit_arch
    for nr in (39, 39 | 0x40000000):
        data = SeccompData(nr, audit)
        assert emulate(program, data).ret == policy.evaluate(audit, nr).ret_value


def test_an_abi_reached_under_another_audit_value_follows_its_rules() -> None:
    # Only n64 listed: an o32 task's n64-numbered call (AUDIT_ARCH_MIPS) runs n64's table on
    # a 64-bit kernel, so it follows the n64 rules, in the model and in the program alike.
    mips64, o32 = get_arch("mips64"), get_arch("mips")
    getpid = mips64.syscall_number("getpid")
    o32_getpid = o32.syscall_number("getpid")
    assert getpid is not None and o32_getpid is not None
    policy = Policy(
        ALLOW, (Rule(("getpid",), ERRNO(9)),), arches=("mips64",), bad_arch_action=ERRNO(7)
    )
    program = compile_policy(policy)
    for audit, nr in ((o32.audit_arch, getpid), (o32.audit_arch, o32_getpid)):
        expected = policy.evaluate(audit, nr).ret_value
        assert emulate(program, SeccompData(nr, audit)).ret == expected, (hex(audit), nr)
    assert policy.evaluate(o32.audit_arch, getpid) == ERRNO(9)
    assert policy.evaluate(o32.audit_arch, o32_getpid) == ERRNO(7)
