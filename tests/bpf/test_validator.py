"""The validator refuses exactly what the kernel refuses, and says which instruction and why.

The kernel's own verdict on the same programs is checked in ``test_validator_kernel.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.bpf.validator import validate
from seccomp_bpf.errors import InvalidProgramError
from tests.bpf.program_cases import ACCEPTED, REFUSED, AcceptedCase, RefusedCase
from tests.bpf.strategies import valid_programs


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.name)
def test_refusal_names_the_instruction_and_the_reason(case: RefusedCase) -> None:
    with pytest.raises(InvalidProgramError) as raised:
        validate(case.instructions)
    error = raised.value
    assert error.index == case.index
    assert case.reason in error.reason
    if case.index is None:
        assert not str(error).startswith("instruction")
    else:
        assert str(error).startswith(f"instruction {case.index}: ")


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda case: case.name)
def test_tricky_valid_programs_are_accepted(case: AcceptedCase) -> None:
    validate(case.instructions)
    assert list(Program(case.instructions)) == list(case.instructions)


def test_refusal_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="at least one instruction"):
        Program([])


def test_the_first_failing_check_is_reported() -> None:
    # Instruction 0 breaks a seccomp rule (LD H ABS), instruction 1 a classic one (unknown
    # opcode): bpf_check_classic runs over the whole program before seccomp_check_filter.
    program = [
        Instruction(op.BPF_LD | op.BPF_H | op.BPF_ABS),
        Instruction(0x5555),
        Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ALLOW),
    ]
    with pytest.raises(InvalidProgramError) as raised:
        validate(program)
    assert raised.value.index == 1


def test_memory_checks_run_after_the_last_return_check() -> None:
    # M[0] is read before it is written at 0, and the program does not end with RET:
    # bpf_check_classic reports the missing RET first, at the last instruction.
    program = [Instruction(op.BPF_LD | op.BPF_MEM, k=0), Instruction(op.BPF_ST, k=0)]
    with pytest.raises(InvalidProgramError) as raised:
        validate(program)
    assert raised.value.index == 1
    assert "return" in raised.value.reason


@pytest.mark.parametrize("length", [1, 2, 4095, 4096])
def test_lengths_up_to_bpf_maxinsns_are_accepted(length: int) -> None:
    ret_allow = Instruction(op.BPF_RET | op.BPF_K, k=op.SECCOMP_RET_ALLOW)
    validate([ret_allow] * length)


@settings(max_examples=200)
@given(program=valid_programs())
def test_generated_valid_programs_pass(program: Program) -> None:
    validate(program.instructions)


@settings(max_examples=200)
@given(program=valid_programs(min_length=2))
def test_dropping_the_final_return_is_refused(program: Program) -> None:
    # Without its final RET, the last instruction is no longer a return, or a jump now lands
    # past the end: either way the program is refused, at some instruction.
    body = list(program)[:-1]
    if body[-1].is_return:
        body.append(Instruction(op.BPF_LD | op.BPF_IMM))
    with pytest.raises(InvalidProgramError) as raised:
        validate(body)
    assert raised.value.index is not None
    assert 0 <= raised.value.index < len(body)
