"""Symbolic execution against the emulator: random programs and hand-written ones.

The emulator is the judge: for every call tried, the behaviour's action must be the action
the kernel takes for the emulated return value (``Action.from_ret(strict=False)``, what
``__seccomp_filter`` does with it). Programs the model cannot follow must say so.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import arches_by_audit, get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import TooComplexError
from seccomp_bpf.explain.behaviour import FilterBehaviour
from seccomp_bpf.explain.symbolic import leaf_action, program_behaviour
from tests.bpf.random_programs import seccomp_programs
from tests.explain.programs import HAND_WRITTEN, UNSUPPORTED, assembled

X86_64 = get_arch("x86_64")
AUDITS = (X86_64.audit_arch, get_arch("i386").audit_arch, get_arch("ppc64").audit_arch)
MASK32 = 0xFFFFFFFF


def _constants(program: Program) -> list[int]:
    near = {0, 1, 2**31, MASK32}
    for ins in program:
        near |= {ins.k, (ins.k + 1) & MASK32, (ins.k - 1) & MASK32}
    return sorted(near)


def _agrees(program: Program, behaviour: FilterBehaviour, rnd: random.Random, calls: int) -> None:
    """The behaviour decides sampled calls as the emulator does (64-bit fields built from
    words next to the program's constants, so that every comparison goes both ways)."""
    near = _constants(program)
    foreign = [v for v in near if not arches_by_audit(v)]
    for _ in range(calls):
        audit = rnd.choice([*AUDITS, *foreign[:3]])
        words = [rnd.choice(near) for _ in range(14)]
        a0, a1, a2, a3, a4, a5 = (words[2 + 2 * i] | (words[3 + 2 * i] << 32) for i in range(6))
        args = (a0, a1, a2, a3, a4, a5)
        ip = words[0] | (words[1] << 32)
        nr = rnd.choice(near)
        abis = arches_by_audit(audit)
        data = SeccompData(nr, audit, ip, args, byteorder=abis[0].byteorder if abis else None)
        expected = leaf_action(emulate(program, data).ret)
        assert behaviour.action_for(audit, nr, args, ip) == expected, data


@settings(max_examples=120, deadline=None)
@given(program=seccomp_programs(max_size=30, canonical=True), seed=st.integers(0, 2**32))
def test_random_programs_decide_as_the_emulator(program: Program, seed: int) -> None:
    try:
        behaviour = program_behaviour(program, AUDITS)
    except TooComplexError:
        assume(False)  # masks on low bits of nr: too many ranges to list (tested apart)
        raise
    if not behaviour.exact:
        assert behaviour.notes  # what it could not follow is said
        return
    _agrees(program, behaviour, random.Random(seed), 60)


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_programs_are_followed_exactly(name: str) -> None:
    program = assembled(HAND_WRITTEN[name])
    behaviour = program_behaviour(program)
    assert behaviour.exact, behaviour.notes
    _agrees(program, behaviour, random.Random(7), 400)


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_what_the_model_cannot_express_is_reported(name: str) -> None:
    text, note = UNSUPPORTED[name]
    behaviour = program_behaviour(assembled(text))
    assert not behaviour.exact
    assert any(n.startswith(note) for n in behaviour.notes), behaviour.notes


def test_arithmetic_that_is_never_compared_is_harmless() -> None:
    program = assembled(
        """
        A = args[0]
        A *= 3
        A = sys_number
        if (A == 60) goto allow
        return ERRNO(1)
        allow:
        return ALLOW
        """
    )
    behaviour = program_behaviour(program)
    assert behaviour.exact
    _agrees(program, behaviour, random.Random(3), 100)


def test_return_values_the_kernel_reads_differently_are_remarked() -> None:
    program = assembled("return 0x7fff0005")  # ALLOW with data bits
    behaviour = program_behaviour(program)
    assert behaviour.exact
    assert any("0x7fff0005" in remark for remark in behaviour.remarks)


def test_masks_on_low_bits_of_the_number_are_too_complex() -> None:
    program = assembled(
        """
        A = sys_number
        if (A & 1) goto odd
        return ALLOW
        odd:
        return KILL_PROCESS
        """
    )
    with pytest.raises(TooComplexError, match="low bits of the system call number"):
        program_behaviour(program)
