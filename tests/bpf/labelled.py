"""A Hypothesis strategy for programs written through ProgramBuilder (labels, forward jumps)."""

from __future__ import annotations

from hypothesis import strategies as st

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import ProgramBuilder
from seccomp_bpf.bpf.emulator import SeccompData

RETURNS = (
    op.SECCOMP_RET_ALLOW,
    op.SECCOMP_RET_ERRNO | 1,
    op.SECCOMP_RET_ERRNO | 2,
    op.SECCOMP_RET_KILL_PROCESS,
    op.SECCOMP_RET_TRAP | 7,
)
CONSTANTS = (0, 1, 2, 3, 5, 0xFF, 0x100, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)
WORDS = (0, 4, 8, 12, 16, 20, 24, 28, 60)


@st.composite
def labelled_programs(draw: st.DrawFn, max_size: int = 40) -> ProgramBuilder:
    """A builder holding random straight-line code with forward jumps to labels."""
    size = draw(st.integers(1, max_size))
    b = ProgramBuilder()
    labels = [b.label(f"L{i}") for i in range(size)]
    for index in range(size):
        b.bind(labels[index])
        later = labels[index + 1 :]
        kind = draw(st.sampled_from(["load", "load", "jump_if", "jump_if", "jump", "alu", "ret"]))
        if kind == "load":
            b.load(draw(st.sampled_from(WORDS)))
        elif kind == "jump_if" and later:
            operation = draw(st.sampled_from([op.BPF_JEQ, op.BPF_JGT, op.BPF_JGE, op.BPF_JSET]))
            k = draw(st.sampled_from(CONSTANTS) | st.integers(0, 0xFFFFFFFF))
            targets = st.sampled_from([*later, None])
            b.jump_if(operation, k, draw(targets), draw(targets))
        elif kind == "jump" and later:
            b.jump(draw(st.sampled_from(later)))
        elif kind == "alu":
            b.alu(
                draw(st.sampled_from([op.BPF_AND, op.BPF_OR, op.BPF_ADD])),
                draw(st.sampled_from(CONSTANTS)),
            )
        else:
            b.ret(draw(st.sampled_from(RETURNS)))
    b.ret(draw(st.sampled_from(RETURNS)))
    return b


def _value() -> st.SearchStrategy[int]:
    word = st.sampled_from(CONSTANTS)
    return st.builds(lambda hi, lo: (hi << 32) | lo, word, word)


seccomp_data = st.builds(
    SeccompData,
    nr=st.sampled_from(CONSTANTS),
    arch=st.sampled_from(CONSTANTS).map(lambda v: v | 0x40000000),
    instruction_pointer=_value(),
    args=st.tuples(_value(), _value(), _value(), _value(), _value(), _value()),
)
