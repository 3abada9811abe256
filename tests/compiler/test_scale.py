"""Policies with many rules compile to programs that decide exactly as the reference evaluator.

Large value sets (``in`` lists, runs of ``==`` rules, ranges), many rules per system call with
common prefixes (``a0 == x and ...`` for a few ``x``), ``!=`` and masked tests over the same
operands, nested ``Any``/``All``, every action, 32- and 64-bit comparisons, on little-endian
(x86_64, aarch64), big-endian (s390x, ppc64) and 32-bit ABIs (i386, where arguments are their
low words). The judge is :mod:`tests.reference.evaluator`; the emulator runs the program. The
inputs are steered to the constants of the rules and their neighbours.

And the pipeline has no recursion that grows with the policy: 10,000 rules of each family,
and conditions nested 10,000 deep, give a program or the clean "does not fit" error.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import SEARCHES, Search, compile_policy
from seccomp_bpf.errors import CompileError
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    LOG,
    TRAP,
    Action,
    All,
    Any,
    Cmp,
    Condition,
    Not,
    Policy,
    Rule,
)
from tests.compiler.strategies import actions, near_values
from tests.compiler.test_search import longest_path
from tests.reference import evaluator as reference

MASK32 = 0xFFFFFFFF
MASK64 = (1 << 64) - 1
CALLS = ("ioctl", "read", "write", "fcntl")
ARCH_SETS = (("x86_64",), ("aarch64",), ("s390x",), ("ppc64",), ("i386",), ("x86_64", "i386"))
# Values in clusters (runs of neighbours, as ioctl request numbers come), across the word
# boundary and in the high word, so sets become ranges, exceptions and searches.
BASES = (0, 0x40, 0x5401, 0x8000_0000, MASK32 - 40, 1 << 32, 0xC020_6600_0000_0000)


@st.composite
def values(draw: st.DrawFn, width: int) -> int:
    base = draw(st.sampled_from(BASES))
    value = base + draw(st.integers(0, 48)) * draw(st.sampled_from((1, 1, 2, 3, 0x100)))
    return value & (MASK64 if width == 64 else MASK32)


@st.composite
def comparison(draw: st.DrawFn, arg: int | None = None) -> Condition:
    width = draw(st.sampled_from((64, 64, 32)))
    position = draw(st.sampled_from((0, 1, 1, 2))) if arg is None else arg
    kind = draw(st.sampled_from(("eq", "eq", "eq", "in", "range", "ne", "masked_eq", "le")))
    if kind == "in":
        items = draw(st.lists(values(width), min_size=1, max_size=300))
        return Cmp(position, "in", tuple(items), width=width)
    if kind == "range":
        low, high = sorted((draw(values(width)), draw(values(width))))
        return Cmp(position, "range", (low, high), width=width)
    if kind == "masked_eq":
        mask = draw(st.sampled_from((0xFF00, 0xFFFF_0000, 0xF0F0_0000_0000_00FF)))
        mask &= MASK64 if width == 64 else MASK32
        return Cmp(position, "masked_eq", draw(values(width)) & mask, mask=mask, width=width)
    return Cmp(position, kind, draw(values(width)), width=width)


@st.composite
def many_rules(draw: st.DrawFn) -> list[Rule]:
    """Runs of rules that share an action and a prefix (``a0 == x``), between single rules,
    nested ones and unconditional ones."""
    rules: list[Rule] = []
    prefixes = draw(st.lists(values(64), min_size=1, max_size=4))
    for _ in range(draw(st.integers(1, 12))):
        call = draw(st.sampled_from(CALLS))
        action: Action = draw(st.sampled_from((ALLOW, ALLOW, ERRNO(1), LOG, TRAP(3), KILL_PROCESS)))
        kind = draw(st.sampled_from(("equalities", "prefixed", "nested", "single", "bare")))
        if kind == "equalities":  # a run of == on one argument: one set
            width = draw(st.sampled_from((64, 32)))
            for value in draw(st.lists(values(width), min_size=1, max_size=120)):
                rules.append(Rule((call,), action, Cmp(1, "eq", value, width=width)))
        elif kind == "prefixed":  # a0 == x and ... for a few x: common prefixes
            for _ in range(draw(st.integers(1, 40))):
                head = Cmp(0, "eq", draw(st.sampled_from(prefixes)))
                tail = draw(st.lists(comparison(), min_size=1, max_size=2))
                rules.append(Rule((call,), action, All((head, *tail))))
        elif kind == "nested":
            inner = st.lists(comparison(), min_size=1, max_size=3).map(lambda c: All(tuple(c)))
            parts = draw(st.lists(inner, min_size=1, max_size=3))
            when: Condition = Any(tuple(parts))
            if draw(st.booleans()):
                when = Not(when)
            rules.append(Rule((call,), draw(actions), when))
        elif kind == "single":
            rules.append(Rule((call,), draw(actions), draw(comparison())))
        else:
            rules.append(Rule((call,), draw(actions)))
    return rules


def _probes(policy: Policy, rng: random.Random, count: int) -> list[tuple[int, ...]]:
    near = near_values(policy)
    return [tuple(rng.choice(near) for _ in range(6)) for _ in range(count)]


def assert_decides_as_reference(policy: Policy, program: Program, rng: random.Random) -> None:
    probes = _probes(policy, rng, 400)
    for arch in policy.resolved_arches():
        numbers = [arch.syscalls[name] for name in CALLS if name in arch.syscalls]
        for i, args in enumerate(probes):
            nr = numbers[i % len(numbers)]
            expected = reference.ret(policy, arch.audit_arch, nr, args, 0)
            got = emulate(program, SeccompData(nr, arch.audit_arch, 0, args)).ret  # type: ignore[arg-type]
            assert got == expected, (
                f"{arch.name} nr={nr} args={[hex(a) for a in args]}: "
                f"compiled {got:#x}, reference {expected:#x}"
            )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(
    rules=many_rules(),
    arches=st.sampled_from(ARCH_SETS),
    default=actions,
    rng=st.randoms(use_true_random=False),
)
@pytest.mark.parametrize("search", SEARCHES)
def test_many_rules_decide_as_the_reference(
    search: Search, rules: list[Rule], arches: tuple[str, ...], default: Action, rng: random.Random
) -> None:
    policy = Policy(default, tuple(rules), arches=arches)
    assert_decides_as_reference(policy, compile_policy(policy, search=search), rng)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    count=st.integers(1, 1200),
    seed=st.integers(0, 2**32),
    shape=st.sampled_from(("in", "eq rules")),
    arch=st.sampled_from(("x86_64", "aarch64", "s390x", "ppc64", "i386", "x32")),
    width=st.sampled_from((64, 32)),
)
@example(count=1000, seed=13, shape="in", arch="x86_64", width=64)  # the set
@example(count=1000, seed=13, shape="eq rules", arch="s390x", width=64)
@example(count=300, seed=3, shape="eq rules", arch="i386", width=32)
def test_compact_is_never_longer_and_balanced_stays_within_the_bound(
    count: int, seed: int, shape: str, arch: str, width: int
) -> None:
    # The two searches of one set of spread values (none next to another, so no range can
    # stand for several): the compact one takes no more instructions, the balanced one runs
    # at most 2 ceil(log2 n) + 12 (the prologue, the call, the high word, the search, the
    # return: search.chain_length). Both decide as the reference.
    rng = random.Random(seed)
    chosen: set[int] = set()
    while len(chosen) < count:
        chosen.add(rng.randrange(1, 1 << 31) * 2)
    members = sorted(chosen)
    if shape == "in":
        rules: tuple[Rule, ...] = (Rule(("ioctl",), ALLOW, Cmp(1, "in", members, width=width)),)
    else:
        rules = tuple(Rule(("ioctl",), ALLOW, Cmp(1, "eq", v, width=width)) for v in members)
    policy = Policy(ERRNO(1), rules, arches=(arch,))
    balanced = compile_policy(policy)
    compact = compile_policy(policy, search="compact")
    assert len(compact) <= len(balanced)
    bound = 2 * math.ceil(math.log2(count)) + 12 if count > 1 else 12
    assert longest_path(balanced) <= bound
    target = get_arch(arch)
    nr, audit = target.syscalls["ioctl"], target.audit_arch
    sample = rng.sample(members, min(count, 60))
    for value in [*sample, *(v + 1 for v in sample), *(v | 1 << 32 for v in sample[:10]), 0]:
        args = (0, value, 0, 0, 0, 0)
        expected = reference.ret(policy, audit, nr, args, 0)
        for program in (balanced, compact):
            assert emulate(program, SeccompData(nr, audit, 0, args)).ret == expected, hex(value)


def test_the_fallback_of_a_search_that_does_not_fit_is_the_compact_search() -> None:
    # 3,900 values: the balanced search takes a few hundred instructions more than 4,096;
    # compile_policy then writes what search="compact" writes.
    rng = random.Random(3900)
    chosen = sorted({rng.randrange(1 << 31) * 2 for _ in range(3900)})
    policy = Policy(ERRNO(1), (Rule(("ioctl",), ALLOW, Cmp(1, "in", chosen)),), arches=("x86_64",))
    assert compile_policy(policy) == compile_policy(policy, search="compact")


def test_a_compact_search_that_does_not_fit_names_the_rules() -> None:
    # 4,200 values fit in no program: search="compact" gives the "does not fit" error too.
    rng = random.Random(4200)
    chosen: set[int] = set()
    while len(chosen) < 4200:
        chosen.add(rng.randrange(1, 1 << 31) * 2)
    rules = tuple(Rule(("ioctl",), ALLOW, Cmp(1, "eq", v)) for v in sorted(chosen))
    policy = Policy(ERRNO(1), rules, arches=("x86_64",))
    with pytest.raises(CompileError, match=r"does not fit.*x86_64:ioctl.*rules 1, 2, 3, 4 and"):
        compile_policy(policy, search="compact")


@pytest.mark.parametrize("search", ["tree", "Compact", "", None, 2])
def test_an_unknown_search_is_refused_by_name(search: object) -> None:
    policy = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("x86_64",))
    with pytest.raises(
        ValueError, match=f"search must be one of 'balanced', 'compact', not {search!r}"
    ):
        compile_policy(policy, search=search)  # type: ignore[arg-type]


@pytest.mark.parametrize("arch", ["x86_64", "s390x", "i386"])
def test_a_set_too_large_for_a_search_is_compiled_compact_and_still_exact(arch: str) -> None:
    # 3,900 values fit the kernel's limit only as one chain of tests (libseccomp's length);
    # the search, a few hundred instructions longer, does not: the compact program is chosen.
    rng = random.Random(3900)
    chosen = sorted({rng.randrange(1 << 31) * 2 for _ in range(3900)})
    policy = Policy(
        ERRNO(1), (Rule(("ioctl",), ALLOW, Cmp(1, "in", tuple(chosen), width=32)),), arches=(arch,)
    )
    program = compile_policy(policy)
    assert len(program) <= 4096
    nr = get_arch(arch).syscalls["ioctl"]
    audit = get_arch(arch).audit_arch
    for value in [*rng.sample(chosen, 300), *(v + 1 for v in rng.sample(chosen, 300)), 0]:
        args = (0, value, 0, 0, 0, 0)
        expected = reference.ret(policy, audit, nr, args, 0)
        assert emulate(program, SeccompData(nr, audit, 0, args)).ret == expected, hex(value)


def test_a_set_that_fills_the_limit_exactly_fits() -> None:
    # 4,067 values of a 64-bit argument: 4,067 JEQ, the tests of arch, the number, x32's bit,
    # -1 and the high word, four loads, and a RET (or JA) within every 255 instructions of a
    # chain: 4,096 instructions, as libseccomp 2.5.4 writes the same rules. No room is lost.
    rng = random.Random(4067)
    chosen: set[int] = set()
    while len(chosen) < 4067:
        chosen.add(rng.randrange(1, 1 << 31) * 2)
    values = sorted(chosen)
    rule = Rule(("ioctl",), ALLOW, Cmp(1, "in", tuple(values)))
    policy = Policy(ERRNO(1), (rule,), arches=("x86_64",))
    program = compile_policy(policy)
    assert len(program) <= 4096
    arch = get_arch("x86_64")
    nr = arch.syscalls["ioctl"]
    for value in [*rng.sample(values, 300), *(v + 1 for v in rng.sample(values, 300))]:
        for high in (0, 1 << 32):
            args = (0, value | high, 0, 0, 0, 0)
            expected = reference.ret(policy, arch.audit_arch, nr, args, 0)
            got = emulate(program, SeccompData(nr, arch.audit_arch, 0, args)).ret
            assert got == expected, hex(value | high)


# --- no recursion that grows with the policy ----------------------------------------------------


def _spread(count: int) -> list[int]:
    rng = random.Random(count)
    return sorted({rng.randrange(1, 1 << 31) * 2 for _ in range(count)})


def _deep(count: int) -> list[Rule]:
    deep: Condition = Cmp(0, "eq", 1)
    for i in range(count):
        part = Cmp(i % 6, "ne" if i % 2 else "eq", i)
        deep = All((part, deep)) if i % 2 else Any((part, deep))
    return [Rule(("ioctl",), ALLOW, deep)]


def _conjunctions(count: int) -> list[Rule]:
    calls = sorted(get_arch("x86_64").syscalls)[:50]
    rng = random.Random(7)
    return [
        Rule(
            (calls[i % 50],),
            ALLOW,
            All((Cmp(0, "eq", rng.randrange(64)), Cmp(1, "masked_eq", i & 0xFF00, mask=0xFF00))),
        )
        for i in range(count)
    ]


def _nested(count: int) -> list[Rule]:
    calls = sorted(get_arch("x86_64").syscalls)[:50]
    return [
        Rule(
            (calls[i % 50],),
            ERRNO(1 + i % 4000),
            Any((All((Cmp(0, "eq", i), Cmp(1, "le", i))), All((Cmp(0, "eq", ~i & MASK32),)))),
        )
        for i in range(count)
    ]


FAMILIES: dict[str, Callable[[int], list[Rule]]] = {
    "equalities": lambda n: [Rule(("ioctl",), ALLOW, Cmp(1, "eq", v)) for v in _spread(n)],
    "set": lambda n: [Rule(("ioctl",), ALLOW, Cmp(1, "in", tuple(_spread(n))))],
    "runs": lambda n: [Rule(("ioctl",), ALLOW, Cmp(1, "eq", 0x4000_5400 + i)) for i in range(n)],
    "conjunctions": _conjunctions,
    "nested": _nested,
    "deep": _deep,
    "wide": lambda n: [Rule(("ioctl",), ALLOW, All(tuple(Cmp(i % 6, "ne", i) for i in range(n))))],
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_ten_thousand_rules_give_a_program_or_the_does_not_fit_error(family: str) -> None:
    policy = Policy(ERRNO(1), tuple(FAMILIES[family](10_000)), arches=("x86_64",))
    try:
        program = compile_policy(policy)
    except CompileError as error:
        assert "does not fit" in str(error)
        assert "Largest argument blocks" in str(error)
    else:
        assert len(program) <= 4096
