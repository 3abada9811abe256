"""i386 calls through ``int 0x80`` and x32 calls from this x86-64 process, and the probes.

What a filter sees of those calls is read back with small filters loaded in forked children:
the architecture, the number, and each argument word, returned as ``errno`` 12 bits at a time.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable

import pytest

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program, jump, load_abs, ret
from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import compat, set_mode_filter, set_no_new_privs, syscall_abi
from seccomp_bpf.kernel.compat import (
    I386_GETPID,
    I386_GETPPID,
    X86_64_GETPID,
    has_i386_emulation,
    has_x32_abi,
    i386_syscall,
    i386_syscall_full_registers,
    x32_syscall,
)
from seccomp_bpf.kernel.libc import SyscallResult, syscall
from tests.kernel.forked import run_forked, run_in_child

# <linux/audit.h>: AUDIT_ARCH_I386 = EM_386 (3) | __AUDIT_ARCH_LE; AUDIT_ARCH_X86_64 =
# EM_X86_64 (62) | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
AUDIT_ARCH_I386 = 0x40000003
AUDIT_ARCH_X86_64 = 0xC000003E
X32_BIT = 0x40000000  # __X32_SYSCALL_BIT, arch/x86/include/uapi/asm/unistd.h

on_x86_64 = pytest.mark.skipif(
    not sys.platform.startswith("linux") or syscall_abi() != "x86_64",
    reason="needs a 64-bit x86-64 Linux process",
)
needs_i386 = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not has_i386_emulation(),
    reason="the kernel runs no i386 system calls (no IA-32 emulation)",
)

BASE_NR = 1000  # unassigned in the i386 and x86-64 tables
SHIFTS = (0, 12, 20)  # three 12-bit windows cover a 32-bit word
ARCH_CHECK_NR = BASE_NR + 100
ARCH_CHECK_ERRNO = 1234


def _word_offset(argument: int, high: bool) -> int:
    """``args[argument]``'s low or high word in ``struct seccomp_data`` (little-endian)."""
    return op.OFFSET_ARGS + 8 * argument + (4 if high else 0)


def _i386_reporter() -> Program:
    """For i386 calls only: nr = BASE_NR + 6 * argument + 3 * high + window fails with errno
    ``(word >> SHIFTS[window]) & 0xfff``; ARCH_CHECK_NR fails with ARCH_CHECK_ERRNO. Every
    other call (every x86-64 call) is allowed."""
    body: list[Instruction] = [
        jump(op.BPF_JEQ, ARCH_CHECK_NR, 0, 1),
        ret(op.SECCOMP_RET_ERRNO | ARCH_CHECK_ERRNO),
    ]
    for index in range(6 * 2 * len(SHIFTS)):
        argument, rest = divmod(index, 2 * len(SHIFTS))
        high, window = divmod(rest, len(SHIFTS))
        body += [
            jump(op.BPF_JEQ, BASE_NR + index, 0, 5),
            load_abs(_word_offset(argument, bool(high))),
            Instruction(op.BPF_ALU | op.BPF_RSH | op.BPF_K, k=SHIFTS[window]),
            Instruction(op.BPF_ALU | op.BPF_AND | op.BPF_K, k=0xFFF),
            Instruction(op.BPF_ALU | op.BPF_OR | op.BPF_K, k=op.SECCOMP_RET_ERRNO),
            Instruction(op.BPF_RET | op.BPF_A),
        ]
    return Program(
        [
            load_abs(op.OFFSET_ARCH),
            jump(op.BPF_JEQ, AUDIT_ARCH_I386, 1, 0),
            ret(op.SECCOMP_RET_ALLOW),
            load_abs(op.OFFSET_NR),
            *body,
            ret(op.SECCOMP_RET_ALLOW),
        ]
    )


def _bits(result: SyscallResult) -> int:
    return result.errno if result.failed else result.value


def _i386_arguments_seen(
    values: tuple[int, ...], make_call: Callable[..., SyscallResult] = i386_syscall
) -> tuple[int, list[int]]:
    """In the child: (the arch check's errno, the six arguments the filter saw)."""
    set_no_new_privs()
    set_mode_filter(_i386_reporter())
    arch_check = make_call(ARCH_CHECK_NR).errno
    seen = []
    for argument in range(6):
        value = 0
        for high in (0, 1):
            word = 0
            for window, shift in enumerate(SHIFTS):
                nr = BASE_NR + 6 * argument + 3 * high + window
                word |= _bits(make_call(nr, *values)) << shift
            value |= word << (32 * high)
        seen.append(value)
    return arch_check, seen


ARGUMENT_SETS = [
    (0, 1, 2, 3, 4, 5),
    (0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0xDEADBEEF, 0x12345678, 0xFEDCBA98),
    (-1, -2, -(2**31), 0, 0xFFF, 0x1000),
]


@needs_i386
@pytest.mark.kernel
@pytest.mark.parametrize("values", ARGUMENT_SETS)
def test_i386_arguments_reach_the_filter_in_order(values: tuple[int, ...]) -> None:
    """Each argument lands in its own ``args[i]``, as the 32-bit value, upper half zero, and
    the filter sees AUDIT_ARCH_I386 and the i386 number."""
    arch_check, seen = run_in_child(_i386_arguments_seen, values)
    assert arch_check == ARCH_CHECK_ERRNO
    assert seen == [v & 0xFFFFFFFF for v in values]


FULL_VALUES = (2**64 - 1, 1 << 32 | 5, 0x0123456789ABCDEF, 2**63, 7, 0xFFFFFFFF00000000)


@needs_i386
@pytest.mark.kernel
def test_full_registers_show_the_filter_the_upper_halves() -> None:
    arch_check, seen = run_in_child(_i386_arguments_seen, FULL_VALUES, i386_syscall_full_registers)
    assert arch_check == ARCH_CHECK_ERRNO
    assert seen == list(FULL_VALUES)


def _close_with_junk_in_the_upper_half() -> tuple[SyscallResult, int]:
    fd = os.dup(0)
    result = i386_syscall_full_registers(6, 1 << 32 | fd)  # "6 i386 close"
    try:
        os.fstat(fd)
    except OSError as error:
        return result, error.errno or 0
    return result, 0


@needs_i386
def test_the_i386_system_call_ignores_the_upper_halves() -> None:
    result, fstat_errno = run_in_child(_close_with_junk_in_the_upper_half)
    assert result == SyscallResult(0, 0)
    assert fstat_errno == errno.EBADF  # the fd in the low half was closed


@on_x86_64
def test_full_registers_take_64_bit_arguments() -> None:
    with pytest.raises(ValueError, match="argument 0"):
        i386_syscall_full_registers(BASE_NR, 2**64)
    with pytest.raises(ValueError, match="at most 6 arguments"):
        i386_syscall_full_registers(BASE_NR, *range(7))


@needs_i386
def test_i386_getpid_and_getppid_are_this_process() -> None:
    assert i386_syscall(I386_GETPID) == SyscallResult(os.getpid(), 0)
    assert i386_syscall(I386_GETPPID) == SyscallResult(os.getppid(), 0)


@needs_i386
def test_i386_unassigned_number_fails_with_enosys() -> None:
    assert i386_syscall(BASE_NR) == SyscallResult(-1, errno.ENOSYS)
    # the number is 32 bits wide: -1 and 0xffffffff are one number
    assert i386_syscall(-1) == i386_syscall(0xFFFFFFFF) == SyscallResult(-1, errno.ENOSYS)


@needs_i386
def test_i386_error_numbers_come_back_as_errno() -> None:
    # close(-1): EBADF through the i386 table ("6 i386 close")
    assert i386_syscall(6, -1) == SyscallResult(-1, errno.EBADF)


@needs_i386
@pytest.mark.kernel
def test_x86_64_calls_after_an_i386_call_are_x86_64_again() -> None:
    def body() -> tuple[SyscallResult, SyscallResult]:
        set_no_new_privs()
        set_mode_filter(_i386_reporter())
        first = i386_syscall(ARCH_CHECK_NR)
        return first, syscall(ARCH_CHECK_NR)

    first, second = run_in_child(body)
    assert first == SyscallResult(-1, ARCH_CHECK_ERRNO)
    assert second == SyscallResult(-1, errno.ENOSYS)  # allowed as x86-64, then unassigned


@on_x86_64
@pytest.mark.parametrize("value", [2**32, -(2**31) - 1])
def test_i386_arguments_must_fit_in_32_bits(value: int) -> None:
    with pytest.raises(ValueError, match="argument 1"):
        i386_syscall(BASE_NR, 0, value)
    with pytest.raises(ValueError, match="system call number"):
        i386_syscall(value)


@on_x86_64
def test_i386_at_most_six_arguments() -> None:
    with pytest.raises(ValueError, match="at most 6 arguments"):
        i386_syscall(BASE_NR, *range(7))


def test_other_abis_raise_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat, "syscall_abi", lambda: "aarch64")
    with pytest.raises(KernelError, match=r"int 0x80.*x86-64 process.*aarch64"):
        i386_syscall(I386_GETPID)
    with pytest.raises(KernelError, match="x32 system calls need a 64-bit x86-64 process"):
        x32_syscall(X86_64_GETPID)
    assert compat.has_i386_emulation.__wrapped__() is False
    assert compat.has_x32_abi.__wrapped__() is False


@on_x86_64
def test_the_i386_probe_survives_a_faulting_int_0x80(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without IA-32 emulation ``int 0x80`` raises SIGSEGV; the probe must only see it."""

    class Faulting:
        @staticmethod
        def call(*args: int) -> int:
            os.kill(os.getpid(), signal.SIGSEGV)
            return 0

    monkeypatch.setattr(compat, "_int80", Faulting)
    assert compat.has_i386_emulation.__wrapped__() is False


@on_x86_64
def test_the_i386_probe_agrees_with_a_real_call() -> None:
    report = run_forked(lambda send: send((i386_syscall(I386_GETPID), os.getpid())))
    works = False
    if report.signal is None and report.raised is None:
        ((result, pid),) = report.records
        works = result == SyscallResult(pid, 0)
    assert has_i386_emulation() == works


@on_x86_64
def test_the_x32_probe_agrees_with_a_real_call() -> None:
    result = x32_syscall(X86_64_GETPID)
    if has_x32_abi():
        assert result == SyscallResult(os.getpid(), 0)
    else:
        # do_syscall_64 (arch/x86/entry/): a number no table runs fails with ENOSYS
        assert result == SyscallResult(-1, errno.ENOSYS)


def _kill_x32_calls() -> Program:
    """A filter that kills the process on every x86-64-audit call with the x32 bit."""
    return Program(
        [
            load_abs(op.OFFSET_ARCH),
            jump(op.BPF_JEQ, AUDIT_ARCH_X86_64, 1, 0),
            ret(op.SECCOMP_RET_ALLOW),
            load_abs(op.OFFSET_NR),
            Instruction(op.BPF_JMP | op.BPF_JSET | op.BPF_K, 0, 1, X32_BIT),
            ret(op.SECCOMP_RET_KILL_PROCESS),
            ret(op.SECCOMP_RET_ALLOW),
        ]
    )


def _x32_probe_under_a_killing_filter() -> tuple[bool, int]:
    set_no_new_privs()
    set_mode_filter(_kill_x32_calls())
    return compat.has_x32_abi.__wrapped__(), os.getpid()


@on_x86_64
@pytest.mark.kernel
def test_the_x32_probe_survives_a_filter_that_kills_x32_calls() -> None:
    answer, pid = run_in_child(_x32_probe_under_a_killing_filter)
    assert answer is False
    assert pid > 0


def _x32_numbers_seen() -> list[SyscallResult]:
    """In the child: a filter that fails every x86-64-audit call with the x32 bit with
    errno ``nr & 0xfff``, then x32 calls, with and without the bit given."""
    set_no_new_privs()
    set_mode_filter(
        Program(
            [
                load_abs(op.OFFSET_ARCH),
                jump(op.BPF_JEQ, AUDIT_ARCH_X86_64, 1, 0),
                ret(op.SECCOMP_RET_ALLOW),
                load_abs(op.OFFSET_NR),
                Instruction(op.BPF_JMP | op.BPF_JSET | op.BPF_K, 1, 0, X32_BIT),
                ret(op.SECCOMP_RET_ALLOW),
                Instruction(op.BPF_ALU | op.BPF_AND | op.BPF_K, k=0xFFF),
                Instruction(op.BPF_ALU | op.BPF_OR | op.BPF_K, k=op.SECCOMP_RET_ERRNO),
                Instruction(op.BPF_RET | op.BPF_A),
            ]
        )
    )
    return [
        x32_syscall(X86_64_GETPID),
        x32_syscall(X32_BIT | X86_64_GETPID),
        x32_syscall(BASE_NR),
        syscall(BASE_NR),
    ]


@on_x86_64
@pytest.mark.kernel
def test_filters_see_x32_numbers_with_or_without_the_x32_abi() -> None:
    """seccomp runs on entry, before the x32 dispatch, so it sees the x32 bit even on a
    kernel without CONFIG_X86_X32_ABI."""
    getpid, getpid_with_bit, unassigned, native = run_in_child(_x32_numbers_seen)
    assert getpid == getpid_with_bit == SyscallResult(-1, X86_64_GETPID)
    assert unassigned == SyscallResult(-1, BASE_NR & 0xFFF)
    assert native == SyscallResult(-1, errno.ENOSYS)  # no x32 bit: allowed, unassigned
