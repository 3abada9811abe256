"""Tests for seccomp_bpf.arch.symbols.ArchSymbols (the disassembler's and assembler's names)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seccomp_bpf.arch import Arch, ArchSymbols, all_arches, arches_by_audit, get_arch

ARCHES = all_arches()


def test_arch_names() -> None:
    symbols = ArchSymbols()
    assert symbols.arch_name(0xC000003E) == "ARCH_X86_64"  # x32 shares it
    assert symbols.arch_name(0x40000003) == "ARCH_I386"
    assert symbols.arch_name(0xC00000B7) == "ARCH_AARCH64"
    assert symbols.arch_name(0xE0000008) == "ARCH_MIPSEL64N32"
    assert symbols.arch_name(0x1) is None


def test_arch_values_accept_tokens_in_any_case() -> None:
    symbols = ArchSymbols()
    assert symbols.arch_value("ARCH_X86_64") == 0xC000003E
    assert symbols.arch_value("arch_x86_64") == 0xC000003E
    assert symbols.arch_value("ARCH_X32") == 0xC000003E
    assert symbols.arch_value("AUDIT_ARCH_I386") == 0x40000003
    assert symbols.arch_value("ARCH_NOPE") is None
    assert symbols.arch_value("native") is None


@given(st.sampled_from(ARCHES))
def test_arch_name_round_trip(arch: Arch) -> None:
    symbols = ArchSymbols()
    value = arch.audit_arch
    name = symbols.arch_name(value)
    assert name is not None
    assert symbols.arch_value(name) == value
    assert symbols.arch_value(name.lower()) == value


def test_syscall_names_follow_the_x32_bit() -> None:
    symbols = ArchSymbols()
    assert symbols.syscall_name(0xC000003E, 0) == "read"
    assert symbols.syscall_name(0xC000003E, 0x40000000) == "read"  # x32 read
    assert symbols.syscall_name(0xC000003E, 0x40000000 | 520) == "execve"
    assert symbols.syscall_name(0xC000003E, 0x40000000 | 59) is None  # 64-bit-only slot
    assert symbols.syscall_name(0x40000003, 102) == "socketcall"
    assert symbols.syscall_name(0x12345, 0) is None
    assert symbols.syscall_number(0xC000003E, "read") == 0
    assert symbols.syscall_number(0x40000003, "read") == 3
    assert symbols.syscall_number(0xC000003E, "socketcall") is None
    assert symbols.syscall_number(0x12345, "read") is None


def test_default_arch_for_unchecked_paths() -> None:
    assert ArchSymbols().syscall_name(None, 0) is None
    assert ArchSymbols().syscall_number(None, "read") is None
    aarch64 = ArchSymbols(get_arch("aarch64"))
    assert aarch64.syscall_name(None, 56) == "openat"
    assert aarch64.syscall_number(None, "openat") == 56
    x86_64 = ArchSymbols(get_arch("x86_64"))
    assert x86_64.syscall_name(None, 0x40000000) == "read"


def test_mips_numbers_are_named_by_the_audit_value() -> None:
    symbols = ArchSymbols()
    assert symbols.syscall_name(0x80000008, 5099) == "ptrace"
    assert symbols.syscall_name(0x80000008, 4026) is None  # an o32 number: not in n64's table
    assert symbols.syscall_number(0x80000008, "ptrace") == 5099


@given(st.sampled_from(ARCHES), st.data())
def test_syscall_round_trip_on_the_first_abi_of_a_value(arch: Arch, data: st.DataObject) -> None:
    symbols = ArchSymbols()
    number = data.draw(st.sampled_from(sorted(set(arch.syscalls.values()))))
    name = symbols.syscall_name(arch.audit_arch, number)
    assert name is not None and arch.syscalls[name] == number
    back = symbols.syscall_number(arch.audit_arch, name)
    primary = arches_by_audit(arch.audit_arch)[0]
    if primary is arch or name not in primary.syscalls:
        assert back == number
    else:  # x32 names give x86-64 numbers back; the disassembler then prints the number
        assert back == primary.syscalls[name]
