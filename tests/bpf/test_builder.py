from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import ProgramBuilder, layout, nodes_from_program
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Instruction
from tests.bpf.labelled import labelled_programs, seccomp_data

ALLOW = op.SECCOMP_RET_ALLOW
KILL = op.SECCOMP_RET_KILL_PROCESS


def test_labels_resolve_to_forward_offsets() -> None:
    b = ProgramBuilder()
    allow = b.label("allow")
    b.load(op.OFFSET_ARCH)
    b.jump_if(op.BPF_JEQ, 0xC000003E, allow, None)
    b.ret(KILL)
    b.bind(allow)
    b.ret(ALLOW)
    program = b.build(optimize=False)
    assert program[1] == Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 1, 0, 0xC000003E)
    assert emulate(program, SeccompData(0, 0xC000003E)).ret == ALLOW
    assert emulate(program, SeccompData(0, 0x40000003)).ret == KILL


def test_backward_jump_is_refused() -> None:
    b = ProgramBuilder()
    start = b.label()
    b.bind(start)
    b.load(0)
    with pytest.raises(ValueError, match="backwards"):
        b.jump(start)


def test_unbound_label_is_refused() -> None:
    b = ProgramBuilder()
    b.jump(b.label("nowhere"))
    b.ret(ALLOW)
    with pytest.raises(ValueError, match="never bound"):
        b.build()


def test_label_at_the_very_end_is_refused() -> None:
    b = ProgramBuilder()
    end = b.label("end")
    b.jump(end)
    b.ret(ALLOW)
    b.bind(end)
    with pytest.raises(ValueError, match="past the end"):
        b.build()


def test_binding_twice_is_refused() -> None:
    b = ProgramBuilder()
    label = b.label()
    b.bind(label)
    with pytest.raises(ValueError, match="already bound"):
        b.bind(label)


def test_jumps_must_use_jump_methods() -> None:
    with pytest.raises(ValueError, match="labels"):
        ProgramBuilder().emit(Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, 0))


@pytest.mark.parametrize("distance", [254, 255, 256, 257, 600, 2000])
def test_far_conditional_jumps_get_trampolines(distance: int) -> None:
    # JEQ over `distance` filler instructions: offsets above 255 need a JA in between.
    b = ProgramBuilder()
    far = b.label("far")
    b.load(op.OFFSET_NR)
    b.jump_if(op.BPF_JEQ, 7, far, None)
    for _ in range(distance):
        b.emit(Instruction(op.BPF_LD | op.BPF_IMM, 0, 0, 0))
    b.ret(KILL)
    b.bind(far)
    b.ret(ALLOW)
    program = b.build(optimize=False)
    assert all(ins.jt <= 255 and ins.jf <= 255 for ins in program)
    expected_length = distance + 4 + (distance + 1 > 255)
    assert len(program) == expected_length
    assert emulate(program, SeccompData(7, 0)).ret == ALLOW
    assert emulate(program, SeccompData(8, 0)).ret == KILL


def test_many_far_jumps_converge() -> None:
    # 300 comparisons to one far label: trampolines push each other further out.
    b = ProgramBuilder()
    far = b.label("far")
    b.load(op.OFFSET_NR)
    for value in range(300):
        b.jump_if(op.BPF_JEQ, value, far, None)
    b.ret(KILL)
    b.bind(far)
    b.ret(ALLOW)
    program = b.build(optimize=False)
    for nr in (0, 1, 150, 299):
        assert emulate(program, SeccompData(nr, 0)).ret == ALLOW
    assert emulate(program, SeccompData(300, 0)).ret == KILL


@settings(max_examples=300, deadline=None)
@given(labelled_programs(max_size=30), st.lists(seccomp_data, min_size=1, max_size=8))
def test_layout_of_nodes_round_trips(b: ProgramBuilder, inputs: list[SeccompData]) -> None:
    program = b.build(optimize=False)
    again = layout(nodes_from_program(program))
    assert tuple(again) == program.instructions
