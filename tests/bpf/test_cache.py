"""The port of the kernel's seccomp_is_const_allow, checked on hand-made programs."""

from __future__ import annotations

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.builder import ProgramBuilder
from seccomp_bpf.bpf.cache import is_constant_allow

X86_64 = 0xC000003E


def program(argument_check: bool, allow_data: int = 0) -> ProgramBuilder:
    b = ProgramBuilder()
    deny, allow = b.label(), b.label()
    b.load(op.OFFSET_ARCH)
    b.jump_if(op.BPF_JEQ, X86_64, None, deny)
    b.load(op.OFFSET_NR)
    b.alu(op.BPF_AND, 0xFFFF)
    b.jump_if(op.BPF_JSET, 0x8000, deny, None)
    b.jump_if(op.BPF_JGE, 100, deny, None)
    if argument_check:
        b.jump_if(op.BPF_JEQ, 7, None, allow)
        b.load(op.OFFSET_ARGS)
        b.jump_if(op.BPF_JEQ, 0, allow, deny)
    else:
        b.jump(allow)
    b.bind(allow)
    b.ret(op.SECCOMP_RET_ALLOW | allow_data)
    b.bind(deny)
    b.ret(op.SECCOMP_RET_ERRNO | 1)
    return b


def test_constant_allows_are_found() -> None:
    p = program(argument_check=False).build(optimize=False)
    assert is_constant_allow(p, X86_64, 5)
    assert not is_constant_allow(p, X86_64, 100)  # denied
    assert not is_constant_allow(p, 0x40000003, 5)  # other arch: denied


def test_argument_loads_are_not_constant() -> None:
    p = program(argument_check=True).build(optimize=False)
    assert is_constant_allow(p, X86_64, 5)
    assert not is_constant_allow(p, X86_64, 7)  # reaches the load of args[0]


def test_allow_with_data_is_not_cached() -> None:
    # kernel/seccomp.c compares k == SECCOMP_RET_ALLOW exactly
    p = program(argument_check=False, allow_data=1).build(optimize=False)
    assert not is_constant_allow(p, X86_64, 5)


def test_and_is_followed() -> None:
    p = program(argument_check=False).build(optimize=False)
    assert is_constant_allow(p, X86_64, 0x10005)  # & 0xffff -> 5
