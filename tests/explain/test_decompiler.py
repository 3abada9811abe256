"""``decompile``: compiling the decompiled policy gives a program that decides as the original.

The emulator judges every case: the original program and the recompiled policy run on the
same calls, and the kernel's reading of both return values (``Action.from_ret(strict=False)``)
must agree. Programs come from our compiler (random policies, optimised or not), from
libseccomp (through ctypes, skipped when ``libseccomp.so.2`` is absent) and from assembly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest
from benchmarks import libseccomp
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import Arch, get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.explain import decompile
from seccomp_bpf.policy import ALLOW, ERRNO, Action, Policy, Rule, eq
from tests.compiler.strategies import (
    BOUNDARIES,
    MAX64,
    condition_values,
    interesting_numbers,
    policies,
)
from tests.explain.programs import HAND_WRITTEN, UNSUPPORTED, assembled

# Sets of ABIs for random policies. MIPS is tried with all three big-endian ABIs: a policy
# listing only some of them is compiled with the unlisted AUDIT_ARCH values refused, while
# the model (reference.decide) sends their calls in the listed ABIs' ranges to those rules.
ARCH_CHOICES = (
    ("x86_64",),
    ("x86_64", "i386", "x32"),
    ("aarch64", "arm"),
    ("mips64", "mips", "mips64n32"),
    ("s390x", "s390"),
    ("ppc64le",),
)
FOREIGN = (0, 0xDEADBEEF, get_arch("riscv64").audit_arch)


def kernel_action(program: Program, data: SeccompData) -> Action:
    """What the kernel does with the program's return value for this call."""
    return Action.from_ret(emulate(program, data).ret, strict=False)


def same_decisions(
    original: Program,
    recompiled: Program,
    arches: Iterable[Arch],
    numbers: Mapping[str, Sequence[int]],
    argument_sets: Mapping[str, Sequence[tuple[int, ...]]],
) -> None:
    """Each number of each ABI with each vector: the instruction pointer, then six arguments."""
    for arch in arches:
        for nr in numbers[arch.name]:
            for vector in argument_sets.get(arch.name, [(0,) * 7]):
                ip, a0, a1, a2, a3, a4, a5 = vector
                args = (a0, a1, a2, a3, a4, a5)
                data = SeccompData(nr, arch.audit_arch, ip, args, byteorder=arch.byteorder)
                assert kernel_action(original, data) == kernel_action(recompiled, data), (
                    arch.name,
                    nr,
                    [hex(v) for v in vector],
                )
    for audit in FOREIGN:
        data = SeccompData(3, audit, 0, (0,) * 6)
        assert kernel_action(original, data) == kernel_action(recompiled, data)


def _near(policy: Policy) -> list[int]:
    values = {0, 1, MAX64, *BOUNDARIES}
    for rule in policy.rules:
        for value in condition_values(rule.when):
            value &= MAX64
            low = value & 0xFFFFFFFF
            values |= {value, (value + 1) & MAX64, (value - 1) & MAX64, low, (5 << 32) | low}
    return sorted(values)


@settings(max_examples=100, deadline=None)
@given(
    policy=policies(arch_choices=ARCH_CHOICES),
    optimize=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_compiled_policies_come_back_exactly(policy: Policy, optimize: bool, seed: int) -> None:
    program = compile_policy(policy, optimize=optimize)
    decompiled = decompile(program)
    assert decompiled.exact, decompiled.unsupported
    recompiled = compile_policy(decompiled.policy)
    rnd = random.Random(seed)
    near = _near(policy)
    arches = policy.resolved_arches()
    numbers = {arch.name: interesting_numbers(policy, arch) for arch in arches}
    argument_sets = {
        arch.name: [tuple(rnd.choice(near) for _ in range(7)) for _ in range(8)] for arch in arches
    }
    same_decisions(program, recompiled, arches, numbers, argument_sets)


# --- libseccomp ---------------------------------------------------------------------------------

LIB = libseccomp.load()
needs_libseccomp = pytest.mark.skipif(LIB is None, reason="libseccomp.so.2 is not installed")

PROFILE: dict[str, Any] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1}


def _arg(index: int, op: str, value: int, two: int = 0) -> dict[str, Any]:
    return {"index": index, "op": f"SCMP_CMP_{op}", "value": value, "valueTwo": two}


# Every comparison libseccomp has, 64-bit values among them, and most actions.
ENTRIES: list[dict[str, Any]] = [
    {"names": ["read", "write", "close", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
    {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [_arg(0, "EQ", 1)]},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [_arg(0, "EQ", 10)]},
    {"names": ["mmap", "mmap2"], "action": "SCMP_ACT_KILL", "args": [_arg(2, "MASKED_EQ", 4, 4)]},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [_arg(0, "GT", 0x100000005)]},
    {
        "names": ["ioctl"],
        "action": "SCMP_ACT_TRAP",
        "args": [_arg(1, "NE", 0x5401), _arg(0, "LE", 2)],
    },
    {
        "names": ["prctl"],
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": 22,
        "args": [_arg(0, "LT", 2**31)],
    },
    {"names": ["fcntl"], "action": "SCMP_ACT_ALLOW", "args": [_arg(1, "GE", 1024)]},
]
ARGUMENT_VALUES = sorted(
    {0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 1023, 1024, 1025, 0x5400, 0x5401, 0x5402}
    | {2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 4, 0x100000005, 0x100000006, 2**63, MAX64}
)
# Our names for libseccomp's architectures that this (little-endian) machine can build.
EXACT: dict[tuple[str, ...], tuple[str, ...]] = {
    ("x86",): ("i386",),
    ("arm",): ("arm",),
    ("aarch64",): ("aarch64",),
    ("ppc64le",): ("ppc64le",),
    ("riscv64",): ("riscv64",),
    ("x86_64", "x86", "x32"): ("x86_64", "i386", "x32"),
    # x86-64 numbers 2**31.. without bit 30 are killed, other numbers not in the table get
    # the default; nr -1 (a tracer's skipped call) gets through to the x86-64 rules' default,
    # which is what -1 means here too (DESIGN §3): x32 stays out.
    ("x86_64",): ("x86_64",),
    # x86-64 numbers 2**31.. without bit 30 get the x32 rules' default, the others are killed.
    ("x32",): ("x32", "x86_64"),
    # libseccomp refuses another MIPS ABI's range only under that ABI's own AUDIT_ARCH value
    # (an o32 task's n64-numbered call gets the o32 rules' default): rules limited to
    # AUDIT_ARCH values (audit_arches) say so.
    ("mipsel",): ("mipsel", "mipsel64", "mipsel64n32"),
    ("mipsel64",): ("mipsel64", "mipsel", "mipsel64n32"),
    ("mipsel64n32",): ("mipsel64n32", "mipsel", "mipsel64"),
    ("mipsel", "mipsel64", "mipsel64n32"): ("mipsel", "mipsel64", "mipsel64n32"),
    ("aarch64", "arm"): ("aarch64", "arm"),
    ("x86", "x86_64"): ("x86_64", "i386"),
    ("x32", "x86"): ("i386", "x32", "x86_64"),
}


def libseccomp_program(arches: Sequence[str]) -> Program:
    assert LIB is not None
    return Program.from_bytes(LIB.export_bpf(PROFILE, ENTRIES, arches=arches))


# Where filters change ABI (x32's bit 30, the MIPS ranges) and where libseccomp's checks cut:
# the numbers on both sides of each edge.
NUMBER_EDGES = (0, 0x3FFFFFFF, 0x40000000, 0x40000001, 0x7FFFFFFF, 0x80000000, 0x80000001,
                0xBFFFFFFF, 0xC0000000, 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF,
                3999, 4000, 4999, 5000, 5999, 6000, 6999, 7000)  # fmt: skip


def _libseccomp_calls(
    arches: Sequence[Arch],
) -> tuple[list[int], list[tuple[int, ...]]]:
    """Every number of each listed ABI's table and the hundred after it, and the edges (tried
    under every listed ABI's AUDIT_ARCH value); argument values around each constant of
    ENTRIES in each of the first three arguments (for the numbers with rules)."""
    vectors: list[tuple[int, ...]] = [(0,) * 7]
    for position in (1, 2, 3):  # after the instruction pointer
        for value in ARGUMENT_VALUES:
            vector = [0] * 7
            vector[position] = value
            vectors.append(tuple(vector))
    vectors.append((0, 2, 0x5402, 0, 0, 0, 0))
    numbers = set(NUMBER_EDGES)
    for arch in arches:
        table = sorted(set(arch.syscalls.values()))
        numbers |= {*table, *range(table[-1] + 1, table[-1] + 101)}
    return sorted(numbers), vectors


def _check_libseccomp(names: Sequence[str], ours: Sequence[str]) -> list[str]:
    program = libseccomp_program(names)
    decompiled = decompile(program)
    assert decompiled.policy.arches == tuple(ours)
    arches = [get_arch(name) for name in ours]
    recompiled = compile_policy(decompiled.policy)
    numbers, vectors = _libseccomp_calls(arches)
    # Calls with rules get every argument vector; the others the first only.
    with_rules = {
        nr
        for arch in arches
        for entry in ENTRIES
        if "args" in entry
        for name in entry["names"]
        if (nr := arch.syscall_number(name)) is not None
    }
    rest = [nr for nr in numbers if nr not in with_rules]
    for arch in arches:  # each number under each listed ABI's AUDIT_ARCH value
        same_decisions(program, recompiled, [arch], {arch.name: rest}, {})
        same_decisions(
            program, recompiled, [arch], {arch.name: sorted(with_rules)}, {arch.name: vectors}
        )
    return decompiled.unsupported if not decompiled.exact else []


@needs_libseccomp
@pytest.mark.parametrize("names", sorted(EXACT), ids="+".join)
def test_libseccomp_programs_come_back_exactly(names: tuple[str, ...]) -> None:
    assert _check_libseccomp(names, EXACT[names]) == []


# --- hand-written programs ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_programs_come_back_exactly(name: str) -> None:
    program = assembled(HAND_WRITTEN[name])
    decompiled = decompile(program)
    assert decompiled.exact, decompiled.unsupported
    recompiled = compile_policy(decompiled.policy)
    constants = sorted({ins.k for ins in program} | {0, 1, 2**32 - 1})
    near = sorted({c + d for c in constants for d in (-1, 0, 1) if 0 <= c + d < 2**32})
    rnd = random.Random(5)
    arches = [get_arch("x86_64"), get_arch("i386"), get_arch("x32")]
    numbers = {a.name: [n | (a.syscall_nr_mask_bit) for n in near[:40]] for a in arches}
    argument_sets = {
        a.name: [
            tuple(rnd.choice(near) | (rnd.choice(near) << 32) for _ in range(7)) for _ in range(30)
        ]
        for a in arches
    }
    same_decisions(program, recompiled, arches, numbers, argument_sets)


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_constructs_make_the_policy_inexact(name: str) -> None:
    text, note = UNSUPPORTED[name]
    decompiled = decompile(assembled(text), ["x86_64"])
    assert not decompiled.exact
    assert any(n.startswith(note) for n in decompiled.unsupported), decompiled.unsupported


def test_the_architectures_asked_for_are_the_ones_listed() -> None:
    policy = Policy(
        default_action=ERRNO(1),
        rules=(Rule(("read",), ALLOW), Rule(("socket",), ALLOW, eq(0, 1))),
        arches=("x86_64", "aarch64"),
    )
    program = compile_policy(policy)
    decompiled = decompile(program, ["aarch64"])
    assert decompiled.exact
    assert decompiled.policy.arches == ("aarch64",)
    summary = decompiled.summaries["aarch64"]
    assert "read" in summary.allowed
    assert [call.names for call in summary.conditional] == [("socket",)]
    everything = decompile(program)
    assert everything.policy.arches == ("x86_64", "aarch64")
