"""The retired system calls (``seccomp_bpf/arch/retired.py``): known numbers per ABI, no
number taken from a current call, and libseccomp's numbers where ``libseccomp.so.2`` is."""

from __future__ import annotations

import pytest

from seccomp_bpf.arch import all_arches, get_arch, known_syscall_names
from seccomp_bpf.arch.retired import ALIASES, RETIRED_SYSCALL_NAMES, RETIRED_SYSCALLS
from seccomp_bpf.arch.syscall_lookup import check_names
from tests.arch import libseccomp_reference

LIBSECCOMP = libseccomp_reference.load()

# The names libseccomp, Docker's and systemd's deny lists know that the kernel's current
# tables dropped (issue: "old deny lists compile").
DENY_LIST_NAMES = (
    *("afs_syscall", "arm_sync_file_range", "bdflush", "break", "create_module", "ftime"),
    *("get_kernel_syms", "getpmsg", "gtty", "idle", "lock", "mpx", "nfsservctl", "prof"),
    *("profil", "putpmsg", "query_module", "security", "stty", "_sysctl", "tuxcall"),
    *("ulimit", "uselib", "vserver"),
)

# Known numbers, written here by hand rather than read from the data file: the __NR_*
# values of the unistd headers of the releases that still defined them (x86-64 and i386
# from arch/x86/entry/syscalls/syscall_{64,32}.tbl before their removal, MIPS with its ABI
# bases, x32 with __X32_SYSCALL_BIT), as libseccomp's syscalls.csv also records them.
KNOWN = {
    "x86_64": {"uselib": 134, "_sysctl": 156, "nfsservctl": 180, "tuxcall": 184, "vserver": 236},
    "x32": {"getpmsg": 0x400000B5, "tuxcall": 0x400000B8, "security": 0x400000B9},
    "i386": {"break": 17, "stty": 31, "uselib": 86, "_sysctl": 149, "vserver": 273},
    "arm": {"uselib": 86, "nfsservctl": 169, "vserver": 313, "arm_sync_file_range": 341},
    "aarch64": {"nfsservctl": 42},
    "mips": {"break": 4017, "_sysctl": 4153, "nfsservctl": 4189, "vserver": 4277},
    "mips64": {"_sysctl": 5152, "nfsservctl": 5173, "vserver": 5236},
    "mips64n32": {"_sysctl": 6152, "vserver": 6240},
    "ppc64le": {"tuxcall": 225, "query_module": 166},
    "s390x": {"idle": 112, "uselib": 86},
    "m68k": {"uselib": 86, "putpmsg": 189},
    "sh": {"nfsservctl": 169},
}


def test_every_deny_list_name_is_known() -> None:
    assert set(DENY_LIST_NAMES) == RETIRED_SYSCALL_NAMES
    assert set(DENY_LIST_NAMES) <= known_syscall_names()
    check_names(DENY_LIST_NAMES)  # no UnknownSyscallError


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_numbers(name: str) -> None:
    arch = get_arch(name)
    for call, number in KNOWN[name].items():
        assert arch.syscall_number(call) == number, call


def test_x86_64_has_twelve_and_x32_five() -> None:
    assert len(RETIRED_SYSCALLS["x86_64"]) == 12
    assert len(RETIRED_SYSCALLS["x32"]) == 5
    assert get_arch("x32").syscall_number("uselib") is None  # x32 never had it


@pytest.mark.parametrize("arch", all_arches(), ids=str)
def test_no_retired_number_belongs_to_a_current_call(arch: object) -> None:
    from seccomp_bpf.arch import Arch, SyscallTable

    assert isinstance(arch, Arch)
    table = arch.syscalls
    assert isinstance(table, SyscallTable)
    retired = RETIRED_SYSCALLS.get(table.source, {})
    aliases = ALIASES.get(table.source, {})
    for name, number in retired.items():
        current = arch.syscall_name(number)
        if name in aliases:
            assert current == aliases[name]  # the same call under its current name
        else:
            assert current == name, (name, number, current)


@pytest.mark.skipif(LIBSECCOMP is None, reason="libseccomp.so.2 not found")
def test_numbers_are_libseccomps() -> None:
    assert LIBSECCOMP is not None
    checked = 0
    for arch in all_arches():
        if arch.libseccomp_name is None:
            continue
        token = LIBSECCOMP.arch_token(arch.libseccomp_name)
        if token == 0:
            continue  # an ABI this libseccomp does not know (m68k, sh before 2.6)
        for name in DENY_LIST_NAMES:
            theirs = LIBSECCOMP.syscall_number(token, name)
            ours = arch.syscall_number(name)
            assert (theirs if theirs >= 0 else None) == ours, (arch.name, name)
            checked += 1
    assert checked > 400
