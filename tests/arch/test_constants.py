"""Tests for seccomp_bpf.arch.constants: names policies use for argument values.

The x86_64 values are checked against Python's own modules (compiled against this machine's C
library), the per-architecture values against numbers taken from each architecture's UAPI
headers (cited next to them).
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import re
import shutil
import signal
import socket
import subprocess
import termios
from pathlib import Path

import pytest

from seccomp_bpf.arch import all_arches, get_arch, native_arch
from seccomp_bpf.arch.constants import (
    ADDRESS_FAMILIES,
    HEADERS,
    constant_family,
    constant_names,
    constant_source,
    resolve_constant,
)

X86_64 = get_arch("x86_64")


def _names(module: object, pattern: str) -> dict[str, int]:
    return {
        name: value
        for name in dir(module)
        if re.fullmatch(pattern, name) and isinstance(value := getattr(module, name), int)
    }


def _compare(
    expected: dict[str, int], *, at_least: int, skip: frozenset[str] = frozenset()
) -> None:
    checked = 0
    for name, value in sorted(expected.items()):
        if name in skip:
            continue
        ours = resolve_constant(name, X86_64)
        if ours is None:
            continue
        assert ours == int(value), name
        assert resolve_constant(name) == int(value), name  # the generic ABI is x86's here
        checked += 1
    assert checked >= at_least


def test_errno_matches_python() -> None:
    _compare(_names(errno, r"E[A-Z0-9]+"), at_least=125)
    assert resolve_constant("EPERM") == 1
    assert resolve_constant("ENOSYS") == 38
    assert resolve_constant("EHWPOISON") == 133


def test_signals_match_python() -> None:
    _compare({s.name: s.value for s in signal.Signals}, at_least=30)
    _compare(_names(signal, r"SIG_(BLOCK|UNBLOCK|SETMASK)"), at_least=3)
    assert resolve_constant("SIGKILL") == 9
    assert resolve_constant("SIGSYS") == 31
    assert resolve_constant("SIGRTMIN") is None  # glibc's differs from the kernel's; left out


def test_open_flags_match_python() -> None:
    # glibc defines O_LARGEFILE as 0 on 64-bit; the kernel's bit is 0o100000.
    _compare(_names(os, r"O_[A-Z]+"), at_least=18, skip=frozenset({"O_LARGEFILE"}))
    assert resolve_constant("O_LARGEFILE") == 0o100000
    assert resolve_constant("O_RDONLY") == 0
    assert resolve_constant("O_CLOEXEC") == 0o2000000


def test_fcntl_names_match_python() -> None:
    _compare(_names(fcntl, r"(F_[A-Z_]+|FD_CLOEXEC|LOCK_[A-Z]+|FASYNC)"), at_least=25)
    assert resolve_constant("F_SETFL") == 4
    assert resolve_constant("F_DUPFD_CLOEXEC") == 1030  # F_LINUX_SPECIFIC_BASE + 6


def test_mmap_names_match_python() -> None:
    _compare(_names(mmap, r"(PROT|MAP|MADV)_[A-Z0-9_]+"), at_least=25)
    assert resolve_constant("PROT_READ") == 1
    assert resolve_constant("PROT_WRITE") == 2
    assert resolve_constant("PROT_EXEC") == 4
    assert resolve_constant("PROT_GROWSDOWN") == 0x01000000
    assert resolve_constant("MAP_32BIT", X86_64) == 0x40
    assert resolve_constant("MAP_32BIT") is None  # x86 only


def test_socket_names_match_python() -> None:
    _compare(_names(socket, r"(AF|PF)_[A-Za-z0-9]+"), at_least=25)
    _compare(_names(socket, r"SOCK_[A-Z]+"), at_least=7)
    _compare(_names(socket, r"IPPROTO_[A-Z0-9]+"), at_least=20)
    assert resolve_constant("AF_INET6") == 10
    assert resolve_constant("PF_NETLINK") == resolve_constant("AF_NETLINK") == 16
    assert resolve_constant("IPPROTO_TCP") == 6


def test_address_families_match_glibc() -> None:
    path = Path("/usr/include/x86_64-linux-gnu/bits/socket.h")
    if not path.is_file():
        pytest.skip("glibc's bits/socket.h is not installed")
    pf = {m[0]: int(m[1]) for m in re.findall(r"#define\s+PF_(\w+)\s+(\d+)", path.read_text())}
    checked = 0
    for name, value in ADDRESS_FAMILIES.items():
        if name[3:] in pf:
            assert pf[name[3:]] == value, name
            checked += 1
    assert checked >= 44


def test_sched_and_clone_names_match_python() -> None:
    _compare(_names(os, r"SCHED_[A-Z_]+"), at_least=5)
    _compare(_names(os, r"CLONE_[A-Z_]+"), at_least=0)  # os.CLONE_* exist from Python 3.12
    assert resolve_constant("CLONE_NEWUSER") == 0x10000000
    assert resolve_constant("CLONE_THREAD") == 0x10000
    assert resolve_constant("CLONE_INTO_CGROUP") == 0x200000000


def test_ioctls_match_python_termios() -> None:
    _compare(_names(termios, r"(TC|TIOC|FIO)[A-Z0-9]+"), at_least=40)
    assert resolve_constant("TCGETS") == 0x5401
    assert resolve_constant("TIOCGWINSZ") == 0x5413
    assert resolve_constant("TIOCSTI") == 0x5412
    assert resolve_constant("FIONREAD") == 0x541B
    assert resolve_constant("FIONBIO") == 0x5421


def test_other_families() -> None:
    assert resolve_constant("AT_FDCWD") == -100
    assert resolve_constant("AT_EMPTY_PATH") == 0x1000
    assert resolve_constant("AT_SYMLINK_NOFOLLOW") == 0x100
    assert resolve_constant("PR_SET_NO_NEW_PRIVS") == 38
    assert resolve_constant("PR_SET_SECCOMP") == 22
    assert resolve_constant("PR_CAPBSET_DROP") == 24
    assert resolve_constant("PER_LINUX") == 0
    assert resolve_constant("PER_LINUX32") == 8
    assert resolve_constant("PER_LINUX32_3GB") == 0x8000008
    assert resolve_constant("ADDR_NO_RANDOMIZE") == 0x40000
    assert resolve_constant("SYS_SOCKET") == 1
    assert resolve_constant("SYS_SENDMMSG") == 20
    assert resolve_constant("SEMOP") == 1
    assert resolve_constant("SHMCTL") == 24
    assert resolve_constant("IPC_RMID") == 0
    assert resolve_constant("AUDIT_ARCH_X86_64") == 0xC000003E
    assert resolve_constant("eperm") is None  # names are case-sensitive
    assert resolve_constant("NO_SUCH_CONSTANT") is None


# -- per architecture -----------------------------------------------------------------------------

# Values from arch/<arch>/include/uapi/asm/{errno,signal,fcntl,mman,ioctls}.h and
# arch/<arch>/include/asm/socket.h.
ARCH_VALUES: dict[str, dict[str, int | None]] = {
    "mips": {
        "EAGAIN": 11, "ENOSYS": 89, "EDEADLK": 45, "EHWPOISON": 168, "SIGCHLD": 18,
        "SIGUSR1": 16, "SIGKILL": 9, "SIGSTKFLT": None, "SIG_BLOCK": 1, "O_NONBLOCK": 0x80,
        "O_CREAT": 0x100, "MAP_ANONYMOUS": 0x800, "SOCK_STREAM": 2, "SOCK_DGRAM": 1,
        "SOCK_NONBLOCK": 0x80, "SOCK_CLOEXEC": 0o2000000, "TCGETS": 0x540D, "FIONREAD": 0x467F,
    },
    "mips64n32": {"ENOSYS": 89, "SOCK_STREAM": 2, "O_NONBLOCK": 0x80},
    "parisc": {
        "ENOSYS": 251, "EAGAIN": 11, "SIGCHLD": 18, "O_NONBLOCK": 0o200000, "O_CLOEXEC": 0o10000000,
        "SOCK_NONBLOCK": 0x40000000, "SOCK_CLOEXEC": 0o10000000, "MAP_FIXED": 4,
        "MAP_ANONYMOUS": 0x10, "SOCK_STREAM": 1,
    },
    "alpha": {
        "EAGAIN": 35, "ENOSYS": 78, "SIGCHLD": 20, "O_NONBLOCK": 4, "O_CREAT": 0o1000,
        "SOCK_NONBLOCK": 0x40000000, "MAP_ANONYMOUS": 0x10, "MAP_FIXED": 0x100,
    },
    "sparc64": {
        "EAGAIN": 11, "ENOSYS": 90, "SIGCHLD": 20, "O_NONBLOCK": 0x4000, "SOCK_NONBLOCK": 0x4000,
    },
    "ppc64le": {
        "ENOSYS": 38, "EDEADLOCK": 58, "O_DIRECTORY": 0o40000, "O_LARGEFILE": 0o200000,
        "TCGETS": None, "FIONREAD": 0x4004667F, "MAP_NORESERVE": 0x40, "PROT_SAO": 0x10,
    },
    "aarch64": {
        "ENOSYS": 38, "O_DIRECTORY": 0o40000, "O_NOFOLLOW": 0o100000, "PROT_BTI": 0x10,
        "MAP_32BIT": None, "TCGETS": 0x5401,
    },
    "arm": {"O_DIRECTORY": 0o40000, "FIOQSIZE": 0x545E, "TCGETS": 0x5401},
    "s390x": {"FIOQSIZE": 0x545E, "O_DIRECTORY": 0o200000},
    "riscv64": {"O_DIRECTORY": 0o200000, "SOCK_STREAM": 1, "TCGETS": 0x5401, "FIOQSIZE": 0x5460},
    "loongarch64": {"ENOSYS": 38, "O_DIRECTORY": 0o200000, "TCGETS": 0x5401},
    "xtensa": {"ENOSYS": 38, "O_DIRECTORY": 0o200000, "TCGETS": None, "MAP_ANONYMOUS": None},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ARCH_VALUES))
def test_arch_specific_values(name: str) -> None:
    arch = get_arch(name)
    for constant, value in ARCH_VALUES[name].items():
        assert resolve_constant(constant, arch) == value, constant


@pytest.mark.parametrize("name", [arch.name for arch in all_arches()])
def test_every_arch_resolves_constants(name: str) -> None:
    arch = get_arch(name)
    names = constant_names(arch)
    assert len(names) > 500
    # Numbered alike on every architecture.
    assert resolve_constant("EPERM", arch) == 1
    assert resolve_constant("SIGKILL", arch) == 9
    assert resolve_constant("AF_INET", arch) == 2
    assert resolve_constant("CLONE_NEWNS", arch) == 0x20000
    assert resolve_constant("PR_SET_NO_NEW_PRIVS", arch) == 38
    assert resolve_constant("AT_FDCWD", arch) == -100
    assert resolve_constant("PROT_EXEC", arch) in (4, None)  # None: Xtensa's mman.h
    assert resolve_constant("SOCK_CLOEXEC", arch) == resolve_constant("O_CLOEXEC", arch)
    for constant in names:
        assert constant_family(constant, arch) in HEADERS


def test_constant_sources() -> None:
    assert constant_source("EPERM") == "<asm/errno.h>"
    assert constant_source("PR_SET_NO_NEW_PRIVS") == "<linux/prctl.h>"
    assert constant_source("AF_INET") is not None
    assert constant_source("IPPROTO_UDP") == "<linux/in.h>"
    assert constant_source("NOPE") is None
    assert constant_family("TCGETS", get_arch("ppc64le")) is None


def test_the_hand_derived_constants_match_this_machines_headers(tmp_path: Path) -> None:
    # USERFAULTFD_IOC_NEW (derived from _IO per ioctl layout) and SHM_EXEC, against what the C
    # compiler of this machine makes of <linux/userfaultfd.h> and <sys/shm.h>.
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not Path("/usr/include/linux/userfaultfd.h").exists():
        pytest.skip("needs a C compiler and the kernel headers")
    source = tmp_path / "c.c"
    source.write_text(
        "#include <sys/ioctl.h>\n#include <linux/userfaultfd.h>\n#include <sys/shm.h>\n"
        "#include <stdio.h>\nint main(void) {\n"
        "#ifdef USERFAULTFD_IOC_NEW\n"
        '    printf("%lu\\n", (unsigned long)USERFAULTFD_IOC_NEW);\n'
        "#else\n"
        '    printf("none\\n");\n'
        "#endif\n"
        '    printf("%d\\n", SHM_EXEC);\n}\n'
    )
    subprocess.run([compiler, "-o", str(tmp_path / "c"), str(source)], check=True)
    request, shm_exec = subprocess.run(
        [str(tmp_path / "c")], capture_output=True, text=True, check=True
    ).stdout.split()
    arch = native_arch()
    if request != "none":
        assert resolve_constant("USERFAULTFD_IOC_NEW", arch) == int(request)
    assert resolve_constant("SHM_EXEC", arch) == int(shm_exec)
    assert constant_source("SHM_EXEC") == "<linux/shm.h>"
    assert resolve_constant("USERFAULTFD_IOC_NEW", get_arch("ppc64le")) == 0x2000AA00
