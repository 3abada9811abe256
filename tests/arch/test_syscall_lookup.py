"""Tests for seccomp_bpf.arch.syscall_lookup (the logic behind ``seccomp-bpf syscalls``)."""

from __future__ import annotations

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.arch.syscall_lookup import (
    check_names,
    format_number,
    lookup,
    match_lines,
    parse_number,
    table_lines,
)
from seccomp_bpf.errors import UnknownSyscallError


def test_table_lines_sorted_by_number() -> None:
    lines = table_lines(get_arch("x86_64"))
    assert lines[:3] == ["0 read", "1 write", "2 open"]
    numbers = [int(line.split()[0]) for line in lines]
    assert numbers == sorted(numbers)
    assert len(lines) == len(get_arch("x86_64").syscalls)


def test_table_lines_show_the_x32_bit_in_hex() -> None:
    assert table_lines(get_arch("x32"))[0] == "0x40000000 read"
    assert format_number(get_arch("x32"), 0x40000000 | 520) == "0x40000208"
    assert format_number(get_arch("x86_64"), 520) == "520"


def test_parse_number() -> None:
    assert parse_number("59") == 59
    assert parse_number("0x40000000") == 0x40000000
    assert parse_number("read") is None
    assert parse_number("-1") is None


def test_lookup_names_and_numbers_on_several_arches() -> None:
    arches = [get_arch("x86_64"), get_arch("i386"), get_arch("aarch64")]
    matches = lookup(["socketcall", "59"], arches)
    assert [(m.arch.name, m.name, m.number) for m in matches] == [
        ("x86_64", "socketcall", None),
        ("i386", "socketcall", 102),
        ("aarch64", "socketcall", None),
        ("x86_64", "execve", 59),
        ("i386", "oldolduname", 59),
        ("aarch64", "pipe2", 59),
    ]
    assert match_lines(matches) == [
        "x86_64  socketcall: not on this arch",
        "i386    102 socketcall",
        "aarch64 socketcall: not on this arch",
        "x86_64  59 execve",
        "i386    59 oldolduname",
        "aarch64 59 pipe2",
    ]


def test_unknown_names_are_errors_with_a_suggestion() -> None:
    with pytest.raises(UnknownSyscallError, match=r"unknown system call 'opne'; did you mean open"):
        check_names(["read", "opne"])
    with pytest.raises(ValueError, match=r"unknown system call 'zzzzzz'$"):
        lookup(["zzzzzz"], [get_arch("x86_64")])
    check_names(["read", "12", "socketcall", "getxpid"])  # known somewhere: no error
