"""Rules the way libseccomp reads them (``seccomp_bpf/libseccomp/rules.py`` and
``syscalls.py``), in the binding's style: ``add_rule_exactly`` on x86, libseccomp's pseudo
numbers, -1, and the names only old kernels had. Decisions come from the exported program
run in the emulator."""

from __future__ import annotations

import errno

import pytest

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.arch.retired import RETIRED_SYSCALL_NAMES
from seccomp_bpf.libseccomp import (
    ALLOW,
    EQ,
    ERRNO,
    KILL,
    Arch,
    Arg,
    Attr,
    SyscallFilter,
    resolve_syscall,
)
from tests.libseccomp.test_filter import decide, library_error

x86_64_only = pytest.mark.skipif(
    native_arch().name != "x86_64", reason="numbers are read in the native (x86-64) table"
)
I386 = get_arch("i386")
SYS_SOCKET = 1  # <linux/net.h>


def only(arch: int) -> SyscallFilter:
    f = SyscallFilter(ERRNO(1))
    f.remove_arch(Arch.NATIVE)
    f.add_arch(arch)
    return f


def test_exact_socket_on_x86_without_comparisons() -> None:
    # libseccomp's x86 rule_add: the direct call (Linux 4.3+) and socketcall(SYS_SOCKET)
    f = only(Arch.X86)
    f.add_rule_exactly(ALLOW, "socket")
    assert decide(f, "i386", "socket", 10, 1) == ALLOW
    assert decide(f, "i386", I386.syscalls["socketcall"], SYS_SOCKET, 0xDEAD) == ALLOW
    assert decide(f, "i386", I386.syscalls["socketcall"], 3) == ERRNO(1)  # connect
    f.add_rule_exactly(ALLOW, "semget")  # ipc(2): IPC call 2, low 16 bits
    assert decide(f, "i386", I386.syscalls["ipc"], 2) == ALLOW


def test_exact_socket_with_comparisons_or_elsewhere_is_refused() -> None:
    with library_error(errno.EINVAL):
        only(Arch.X86).add_rule_exactly(ALLOW, "socket", Arg(0, EQ, 1))
    for arch in (Arch.S390X, Arch.PPC, Arch.MIPS):  # libseccomp 2.5.4: -EINVAL there
        with library_error(errno.EINVAL):
            only(arch).add_rule_exactly(ALLOW, "socket")
    two = only(Arch.X86)
    two.add_arch(Arch.X86_64)
    with library_error(errno.EOPNOTSUPP):  # seccomp_rule_add_exact: one architecture
        two.add_rule_exactly(ALLOW, "read")


@x86_64_only
def test_pseudo_number_of_a_call_native_has_is_refused() -> None:
    # -10001 is libseccomp's __PNR_arch_prctl. Read as a number of our own it used to be
    # x86's _newselect (142): a KILL rule landed on an unrelated call.
    f = SyscallFilter(ALLOW)
    f.add_arch(Arch.X86)
    with library_error(errno.EFAULT):
        f.add_rule(KILL, -10001)
    with library_error(errno.EFAULT):
        SyscallFilter(ALLOW).add_rule_exactly(KILL, -10001)
    assert decide(f, "i386", "_newselect") == ALLOW
    assert decide(f, "x86_64", "arch_prctl") == ALLOW


@x86_64_only
def test_pseudo_number_stands_for_the_call_native_lacks() -> None:
    # -10003 is __PNR_break: x86-64 has no break, x86 has it as 17
    f = SyscallFilter(ALLOW)
    f.add_arch(Arch.X86)
    f.add_rule(KILL, -10003)
    assert decide(f, "i386", "break") == KILL
    assert decide(f, "i386", 18) == ALLOW
    assert decide(f, "x86_64", 17) == ALLOW  # x86-64's 17 is pread64
    f.syscall_priority(-10003, 5)  # a hint, for the name it stands for
    # priorities of numbers native has no call for: a hint on native alone, -EFAULT where
    # another architecture needs the name (as libseccomp 2.5.4)
    for number in (-10001, 100000):
        with library_error(errno.EFAULT):
            f.syscall_priority(number, 5)
        SyscallFilter(ALLOW).syscall_priority(number, 5)


def test_resolve_syscall_gives_libseccomps_pseudo_numbers() -> None:
    assert resolve_syscall(Arch.X86_64, "break") == -10003
    assert resolve_syscall(Arch.AARCH64, "arch_prctl") == -10001
    assert resolve_syscall(Arch.X86, "socketcall") == I386.syscalls["socketcall"]
    assert resolve_syscall(Arch.AARCH64, "socketcall") == -10060
    assert resolve_syscall(Arch.X86_64, -10003) == b"break"
    with pytest.raises(ValueError, match="Unknown syscall"):
        resolve_syscall(Arch.X86, -10003)  # x86 has break: -10003 names nothing there
    assert resolve_syscall(Arch.X86_64, "no_such_call") == -1


@x86_64_only
def test_skipped_call_reaches_the_default_action() -> None:
    # -1 has bit 30 set but is no x32 call: it gets the x86-64 decision, not bad-arch's KILL
    f = SyscallFilter(ALLOW)
    assert decide(f, "x86_64", 0xFFFFFFFF) == ALLOW
    assert decide(f, "x86_64", 0xFFFFFFFE) == KILL  # an x32 number: bad architecture
    f.set_attr(Attr.API_TSKIP, 1)
    f.add_rule(ERRNO(5), -1)
    assert decide(f, "x86_64", 0xFFFFFFFF) == ERRNO(5)
    f.add_arch(Arch.X32)
    assert decide(f, "x86_64", 0xFFFFFFFF) == ERRNO(5)


def test_syscall_priority_of_the_skipped_call_needs_tskip() -> None:
    f = SyscallFilter(ALLOW)
    with library_error(errno.EINVAL):
        f.syscall_priority(-1, 10)
    f.set_attr(Attr.API_TSKIP, 1)
    f.syscall_priority(-1, 10)  # accepted, as libseccomp does
    with library_error(errno.EINVAL):
        f.syscall_priority(-2, 10)
    f.add_rule(KILL, "read")
    f.program()


def test_old_deny_lists_compile() -> None:
    # libseccomp's, Docker's and systemd's lists of obsolete calls: every name is accepted,
    # and the calls an ABI had are denied there
    f = SyscallFilter(ALLOW)
    for arch in (Arch.X86_64, Arch.X86, Arch.X32):
        if not f.exist_arch(arch):
            f.add_arch(arch)
    for name in sorted(RETIRED_SYSCALL_NAMES):
        f.add_rule(ERRNO(1), name)
    assert decide(f, "x86_64", 184) == ERRNO(1)  # tuxcall
    assert decide(f, "x86_64", 134) == ERRNO(1)  # uselib
    assert decide(f, "i386", 17) == ERRNO(1)  # break
    assert decide(f, "x32", 0x400000B8) == ERRNO(1)  # tuxcall
    assert decide(f, "x86_64", "read") == ALLOW
