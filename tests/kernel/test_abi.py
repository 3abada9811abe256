"""The number of seccomp(2) per system-call ABI, and which ABI this process uses."""

from __future__ import annotations

import errno
import sys

import pytest

from seccomp_bpf.kernel import SECCOMP_SYSCALL_NUMBERS, seccomp_syscall_number, syscall_abi
from seccomp_bpf.kernel.libc import SECCOMP_GET_ACTION_AVAIL, syscall

# Our ABI names and the table names of the system-calls package.
SYSTEM_CALLS_TABLES = {
    "x86_64": "x86_64",
    "x32": "x32",
    "i386": "i386",
    "aarch64": "arm64",
    "arm": "arm",
    "riscv64": "riscv64",
    "riscv32": "riscv32",
    "loongarch64": "loongarch64",
    "ppc": "powerpc",
    "ppc64": "powerpc64",
    "s390": "s390",
    "s390x": "s390x",
    "mips-o32": "mipso32",
    "mips-n64": "mips64",
    "mips-n32": "mips64n32",
}


def test_every_abi_is_checked_against_system_calls() -> None:
    assert set(SYSTEM_CALLS_TABLES) == set(SECCOMP_SYSCALL_NUMBERS)


@pytest.mark.parametrize("abi", sorted(SYSTEM_CALLS_TABLES))
def test_numbers_match_the_system_calls_package(abi: str) -> None:
    system_calls = pytest.importorskip("system_calls")
    tables = system_calls.syscalls()
    assert seccomp_syscall_number(abi) == tables.get("seccomp", SYSTEM_CALLS_TABLES[abi])


@pytest.mark.parametrize(
    ("machine", "bits", "multiarch", "abi"),
    [
        ("x86_64", 64, "x86_64-linux-gnu", "x86_64"),
        ("x86_64", 32, "i386-linux-gnu", "i386"),
        ("x86_64", 32, "x86_64-linux-gnux32", "x32"),
        ("i686", 32, "", "i386"),
        ("aarch64", 64, "aarch64-linux-gnu", "aarch64"),
        ("aarch64", 32, "arm-linux-gnueabihf", "arm"),
        ("armv7l", 32, "arm-linux-gnueabihf", "arm"),
        ("riscv64", 64, "riscv64-linux-gnu", "riscv64"),
        ("loongarch64", 64, "loongarch64-linux-gnu", "loongarch64"),
        ("ppc64le", 64, "powerpc64le-linux-gnu", "ppc64"),
        ("ppc", 32, "powerpc-linux-gnu", "ppc"),
        ("s390x", 64, "s390x-linux-gnu", "s390x"),
        ("mips64", 64, "mips64el-linux-gnuabi64", "mips-n64"),
        ("mips64", 32, "mips64el-linux-gnuabin32", "mips-n32"),
        ("mips64", 32, "mipsel-linux-gnu", "mips-o32"),
        ("mips", 32, "mipsel-linux-gnu", "mips-o32"),
        ("sparc64", 64, "sparc64-linux-gnu", None),
    ],
)
def test_abi_follows_the_process_not_only_the_machine(
    machine: str, bits: int, multiarch: str, abi: str | None
) -> None:
    assert syscall_abi(machine, bits, multiarch) == abi


def test_unknown_abi_has_no_number() -> None:
    assert seccomp_syscall_number("vax") is None


@pytest.mark.kernel
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")
def test_the_number_is_seccomp_on_this_machine() -> None:
    # SECCOMP_GET_ACTION_AVAIL with a NULL pointer: seccomp(2) answers EFAULT (it tried to
    # read the action), where any other system call would answer something else.
    number = seccomp_syscall_number()
    if number is None:
        pytest.skip(f"no seccomp(2) number for this ABI ({syscall_abi()})")
    result = syscall(number, SECCOMP_GET_ACTION_AVAIL, 0, 0)
    assert result.failed
    assert result.errno == errno.EFAULT
