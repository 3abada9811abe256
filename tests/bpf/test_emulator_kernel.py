"""The emulator against the real kernel: same filters, same calls, same results.

Each example loads random valid programs (``tests/bpf/strategies.py``) in a forked child,
behind a guard that allows every call but those on unassigned numbers, then makes raw calls
on those numbers with chosen 64-bit arguments. What the kernel did (errno, return value,
SIGSYS, a dead thread, a dead process) must be what ``emulate``/``run_filters`` predict.

The instruction pointer of the call (inside libc) cannot be predicted, so these programs
never load it; ``test_emulator.py`` covers those loads.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterable, Iterator, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompData, emulate, run_filters
from seccomp_bpf.bpf.instruction import Instruction, Program, ret
from tests.bpf.strategies import (
    BOUNDARY_U64,
    MASK64,
    errno_values,
    listing,
    return_values,
    valid_programs,
)
from tests.kernel.filtered_calls import (
    UNASSIGNED_NRS,
    Call,
    Outcome,
    expected_outcome,
    native_audit_arch,
    only_unassigned,
    run_calls,
)

ARCH = native_audit_arch()

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or ARCH is None,
        reason="needs Linux on an architecture whose AUDIT_ARCH value the tests know",
    ),
]

# A call that kills the process costs a fork, one that kills the thread a new thread; of
# the calls the emulator predicts will do so, only this many per program are made (the others
# are not made, nor counted as compared).
COSTLY_CALLS_PER_PROGRAM = {"killed": 2, "kill_thread": 6}
CALLS_PER_PROGRAM = 64

# Half the constant results are ERRNO(n), whose n the kernel reports back; half are anything.
_RETURNS = st.one_of(errno_values(), return_values())

_NEAR_BOUNDARIES = sorted({(v + d) & MASK64 for v in BOUNDARY_U64 for d in (-1, 0, 1)})


def _argument(rng: random.Random) -> int:
    choice = rng.randrange(8)
    if choice < 3:
        return rng.choice(BOUNDARY_U64)
    if choice < 5:
        return rng.choice(_NEAR_BOUNDARIES)
    if choice == 5:
        return rng.randrange(70)
    if choice == 6:  # one half a boundary, the other random
        return (rng.choice(BOUNDARY_U64) & 0xFFFFFFFF) | (rng.getrandbits(32) << 32)
    return rng.getrandbits(64)


def _random_call(rng: random.Random) -> Call:
    args = (
        _argument(rng),
        _argument(rng),
        _argument(rng),
        _argument(rng),
        _argument(rng),
        _argument(rng),
    )
    return Call(rng.choice(UNASSIGNED_NRS), args)


def _random_calls(seed: int, count: int) -> Iterator[Call]:
    rng = random.Random(seed)
    for _ in range(count):
        yield _random_call(rng)


def _data(call: Call) -> SeccompData:
    assert ARCH is not None
    return SeccompData(call.nr, ARCH, 0, call.args)


def _describe(programs: Sequence[Program], call: Call, expected: Outcome, seen: Outcome) -> str:
    lines = [
        f"syscall({call.nr}, {', '.join(hex(a) for a in call.args)}):",
        f"  emulator: {expected}, kernel: {seen}",
    ]
    for age, program in enumerate(programs):
        execution = emulate(program, _data(call))
        lines.append(
            f"  filter {age} (oldest first) returns {execution}, path {list(execution.path)}:"
        )
        lines.append(listing(program))
    return "\n".join(lines)


def compare_with_kernel(
    programs: Sequence[Program],
    calls: Iterable[Call],
    *,
    limit_costly: bool = True,
    wanted: int | None = None,
) -> int:
    """Make ``calls`` under ``programs`` (oldest first); assert the kernel did what the
    emulator predicts. Returns how many calls were compared.

    With ``limit_costly``, calls predicted to kill are limited per COSTLY_CALLS_PER_PROGRAM;
    with ``wanted``, only the first ``wanted`` of the others are made.
    """
    newest_first = list(reversed(programs))
    chosen: list[tuple[Call, Outcome]] = []
    costly = dict.fromkeys(COSTLY_CALLS_PER_PROGRAM, 0)
    for call in calls:
        expected = expected_outcome(run_filters(newest_first, _data(call)))
        if expected.kind in costly:
            if limit_costly and costly[expected.kind] >= COSTLY_CALLS_PER_PROGRAM[expected.kind]:
                continue
            costly[expected.kind] += 1
        chosen.append((call, expected))
        if wanted is not None and len(chosen) - sum(costly.values()) >= wanted:
            break
    seen = run_calls(programs, [call for call, _ in chosen])
    mismatches = [
        _describe(programs, call, expected, outcome)
        for (call, expected), outcome in zip(chosen, seen, strict=True)
        if outcome != expected
    ]
    assert not mismatches, f"{len(mismatches)} of {len(chosen)} calls differ:\n" + "\n".join(
        mismatches[:3]
    )
    return len(chosen)


def test_emulator_matches_kernel_on_random_programs() -> None:
    compared = [0]

    @settings(
        max_examples=320,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        body=valid_programs(
            max_length=30, include_ip=False, returns=_RETURNS, accumulator_tail=True
        ),
        seed=st.integers(0, 2**32 - 1),
    )
    def check(body: Program, seed: int) -> None:
        calls = _random_calls(seed, 8 * CALLS_PER_PROGRAM)
        program = only_unassigned(body.instructions)
        compared[0] += compare_with_kernel([program], calls, wanted=CALLS_PER_PROGRAM)

    check()
    assert compared[0] >= 10_000, f"only {compared[0]} calls compared"
    print(f"compared {compared[0]} calls with the kernel")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies=st.lists(
        valid_programs(max_length=20, include_ip=False, returns=_RETURNS, accumulator_tail=True),
        min_size=2,
        max_size=3,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_run_filters_matches_kernel_on_stacked_programs(bodies: list[Program], seed: int) -> None:
    calls = _random_calls(seed, 200)
    programs = [only_unassigned(body.instructions) for body in bodies]
    compare_with_kernel(programs, calls, wanted=40)


# One value per action, with data, and values that name no action (kernel/seccomp.c treats
# those as KILL_PROCESS, but they rank by their own bits when filters are stacked).
_PRECEDENCE_VALUES = (
    op.SECCOMP_RET_KILL_PROCESS,
    op.SECCOMP_RET_KILL_THREAD,
    op.SECCOMP_RET_TRAP | 1,
    op.SECCOMP_RET_ERRNO | 1,
    op.SECCOMP_RET_ERRNO | 2,
    op.SECCOMP_RET_USER_NOTIF,
    op.SECCOMP_RET_TRACE | 3,
    op.SECCOMP_RET_LOG,
    op.SECCOMP_RET_ALLOW,
    0x00040000,  # between ERRNO and USER_NOTIF, no action
    0x90000000,  # negative as s32 but above KILL_PROCESS, no action
)
_PRECEDENCE_BASE = 1100


def _value_table(select_shift: int) -> Program:
    """A filter returning ``_PRECEDENCE_VALUES[i]`` for ``nr == base + 16 * row + column``,
    where i is the column (``select_shift`` 0) or the row (4); ALLOW for every other nr."""
    count = len(_PRECEDENCE_VALUES)
    body: list[Instruction] = [
        Instruction(op.BPF_ALU | op.BPF_SUB | op.BPF_K, k=_PRECEDENCE_BASE),
        Instruction(op.BPF_ALU | op.BPF_RSH | op.BPF_K, k=select_shift),
        Instruction(op.BPF_ALU | op.BPF_AND | op.BPF_K, k=0xF),
    ]
    for index, value in enumerate(_PRECEDENCE_VALUES):
        # if A == index: return value (the RET right after); else skip it
        body.append(Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 0, 1, index))
        body.append(ret(value))
    body.append(ret(op.SECCOMP_RET_ALLOW))
    assert count <= 16
    guard = [
        Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, k=op.OFFSET_NR),
        Instruction(op.BPF_JMP | op.BPF_JGE | op.BPF_K, 0, 1, _PRECEDENCE_BASE),
        Instruction(op.BPF_JMP | op.BPF_JGT | op.BPF_K, 0, 1, _PRECEDENCE_BASE + 16 * count),
        ret(op.SECCOMP_RET_ALLOW),
    ]
    return Program([*guard, *body])


def test_stacked_filter_precedence_matches_kernel() -> None:
    """Every (older, newer) pair of results: the kernel's choice is run_filters'."""
    older, newer = _value_table(4), _value_table(0)
    count = len(_PRECEDENCE_VALUES)
    calls = [
        Call(_PRECEDENCE_BASE + 16 * row + column, (0, 0, 0, 0, 0, 0))
        for row in range(count)
        for column in range(count)
    ]
    assert compare_with_kernel([older, newer], calls, limit_costly=False) == count * count


def _with_x(x: int, *tail: Instruction) -> list[Instruction]:
    return [Instruction(op.BPF_LDX | op.BPF_IMM, k=x), *tail]


_A_TO_ERRNO = (
    Instruction(op.BPF_ALU | op.BPF_AND | op.BPF_K, k=0xFFFF),
    Instruction(op.BPF_ALU | op.BPF_OR | op.BPF_K, k=op.SECCOMP_RET_ERRNO),
    Instruction(op.BPF_RET | op.BPF_A),
)


def _load(offset: int) -> Instruction:
    return Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, k=offset)


# Corners where an emulator is easily wrong, each checked against the kernel by name.
EDGE_BODIES: dict[str, list[Instruction]] = {
    "div by X == 0 returns 0 (KILL_THREAD)": _with_x(
        0, Instruction(op.BPF_ALU | op.BPF_DIV | op.BPF_X), ret(op.SECCOMP_RET_ERRNO | 1)
    ),
    **{
        f"lsh by X == {x:#x}": [
            Instruction(op.BPF_LD | op.BPF_IMM, k=0x3),
            *_with_x(x, Instruction(op.BPF_ALU | op.BPF_LSH | op.BPF_X), *_A_TO_ERRNO),
        ]
        for x in (31, 32, 33, 36, 63, 0xFFFFFFFF)
    },
    **{
        f"rsh by X == {x:#x}": [
            Instruction(op.BPF_LD | op.BPF_IMM, k=0x00C00000),
            *_with_x(x, Instruction(op.BPF_ALU | op.BPF_RSH | op.BPF_X), *_A_TO_ERRNO),
        ]
        for x in (12, 32, 44, 0xFFFFFFF0)
    },
    "errno above MAX_ERRNO is capped": [ret(op.SECCOMP_RET_ERRNO | 0xFFFF)],
    "errno 0 returns 0": [ret(op.SECCOMP_RET_ERRNO)],
    "RET A with the low word of args[0]": [_load(op.OFFSET_ARGS), *_A_TO_ERRNO],
    "RET A with the high word of args[5]": [_load(op.OFFSET_ARGS + 44), *_A_TO_ERRNO],
    "RET A of an unknown action": [
        Instruction(op.BPF_LD | op.BPF_IMM, k=0x00060005),
        Instruction(op.BPF_RET | op.BPF_A),
    ],
    "neg then add wraps": [
        _load(op.OFFSET_ARGS),
        Instruction(op.BPF_ALU | op.BPF_NEG),
        Instruction(op.BPF_ALU | op.BPF_ADD | op.BPF_K, k=5),
        *_A_TO_ERRNO,
    ],
    "mul wraps": [
        _load(op.OFFSET_ARGS),
        Instruction(op.BPF_ALU | op.BPF_MUL | op.BPF_K, k=0x10001),
        *_A_TO_ERRNO,
    ],
    "jgt compares unsigned": [
        _load(op.OFFSET_ARGS + 4),
        Instruction(op.BPF_JMP | op.BPF_JGT | op.BPF_K, 0, 1, 1),
        ret(op.SECCOMP_RET_ERRNO | 10),
        ret(op.SECCOMP_RET_ERRNO | 20),
    ],
    "jset with X": _with_x(
        0x80000001,
        _load(op.OFFSET_ARGS),
        Instruction(op.BPF_JMP | op.BPF_JSET | op.BPF_X, 0, 1),
        ret(op.SECCOMP_RET_ERRNO | 30),
        ret(op.SECCOMP_RET_ERRNO | 40),
    ),
    "LD LEN is 64": [Instruction(op.BPF_LD | op.BPF_W | op.BPF_LEN), *_A_TO_ERRNO],
}

_EDGE_ARGUMENTS = (0, 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1, 0xFFFFFFFF00000005)


@pytest.mark.parametrize("name", sorted(EDGE_BODIES))
def test_edge_semantics_match_kernel(name: str) -> None:
    program = only_unassigned(EDGE_BODIES[name])
    calls = [Call(UNASSIGNED_NRS[0], (value, 0, 0, 0, 0, value)) for value in _EDGE_ARGUMENTS]
    compare_with_kernel([program], calls, limit_costly=False)
