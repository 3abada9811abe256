"""Tests for seccomp_bpf.arch.architecture: Arch and its lazily loaded SyscallTable."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from seccomp_bpf.arch import Arch, SyscallTable, get_arch


def test_table_loads_on_first_use_only() -> None:
    table = SyscallTable("m68k")
    assert table._by_name is None
    assert repr(table) == "SyscallTable('m68k')"
    assert table["read"] == 3
    assert table._by_name is not None
    assert "read" in table
    assert "no_such_call" not in table
    assert table.get("no_such_call") is None
    assert len(table) == len(list(table))


def test_table_reverse_lookup_prefers_given_names() -> None:
    plain = SyscallTable("alpha")
    # system-calls lists getpid and getxpid at 20; without a preference the first in order wins.
    assert plain.name_of(20) == "getpid"
    preferred = SyscallTable("alpha", {20: "getxpid"})
    assert preferred.name_of(20) == "getxpid"
    assert preferred["getpid"] == preferred["getxpid"] == 20
    assert preferred.name_of(-1) is None


def test_alpha_reverse_names_are_the_kernel_table_names() -> None:
    # arch/alpha/kernel/syscalls/syscall.tbl
    alpha = get_arch("alpha")
    expected = {20: "getxpid", 22: "umount2", 24: "getxuid", 47: "getxgid", 209: "shmat"}
    for number, name in expected.items():
        assert alpha.syscall_name(number) == name


def test_every_number_with_two_names_has_a_chosen_name() -> None:
    from seccomp_bpf.arch import all_arches
    from seccomp_bpf.arch.retired import ALIASES

    for arch in all_arches():
        assert isinstance(arch.syscalls, SyscallTable)
        aliases = ALIASES.get(arch.syscalls.source, {})
        by_number: dict[int, list[str]] = {}
        for name, number in arch.syscalls.items():
            by_number.setdefault(number, []).append(name)
        for number, names in by_number.items():
            if len(names) == 1:
                continue
            if arch.name == "alpha":
                assert number in arch.syscalls._preferred
            else:
                # a retired name of a current call (arm_sync_file_range): the current name
                # names the number
                (old,) = [name for name in names if name in aliases]
                assert arch.syscall_name(number) == aliases[old], (arch.name, names)


def test_arch_methods() -> None:
    x86_64 = get_arch("x86_64")
    assert x86_64.syscall_number("read") == 0
    assert x86_64.syscall_number("socketcall") is None
    assert x86_64.syscall_name(59) == "execve"
    assert x86_64.syscall_name(100_000) is None
    assert x86_64.is_known(0)
    assert not x86_64.is_known(0x40000000)
    assert get_arch("x32").is_known(0x40000000)


def test_arch_with_a_plain_mapping() -> None:
    arch = Arch(
        name="toy",
        audit_arch=0x1234,
        bits=32,
        byteorder="big",
        syscalls=MappingProxyType({"read": 7, "write": 8}),
    )
    assert arch.syscall_name(8) == "write"
    assert arch.syscall_name(9) is None
    assert arch.syscall_number("read") == 7
    assert arch.socketcall == {} and arch.ipc == {}
    assert arch.compat == () and arch.syscall_nr_mask_bit == 0


def test_arch_is_frozen_hashable_and_compares_descriptions() -> None:
    arch = get_arch("aarch64")
    with pytest.raises(dataclasses.FrozenInstanceError):
        arch.name = "other"  # type: ignore[misc]
    assert {arch: 1}[get_arch("arm64")] == 1
    copy = dataclasses.replace(arch, syscalls={})
    assert copy == arch  # the tables take no part in equality
    assert dataclasses.replace(arch, bits=32) != arch


def test_tokens_and_text() -> None:
    assert get_arch("i386").scmp_token == "SCMP_ARCH_X86"
    assert get_arch("x86_64").scmp_token == "SCMP_ARCH_X86_64"
    assert get_arch("mipsel64n32").scmp_token == "SCMP_ARCH_MIPSEL64N32"
    assert get_arch("x86_64").symbol == "ARCH_X86_64"
    assert get_arch("i386").symbol == "ARCH_I386"
    assert get_arch("aarch64").symbol == "ARCH_AARCH64"
    assert str(get_arch("ppc64le")) == "ppc64le"
    assert repr(get_arch("x86_64")) == (
        "Arch(name='x86_64', audit_arch=0xc000003e, bits=64, byteorder='little')"
    )
