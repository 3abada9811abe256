"""System calls the kernel's tables no longer list, with the number each ABI gave them.

``system-calls`` is generated from the kernel's current ``syscall.tbl`` files, which drop a
call once it is removed (``uselib``, ``_sysctl``, ``nfsservctl``...) or was only ever a
reserved slot (``afs_syscall``, ``getpmsg``, ``tuxcall``, ``security``...). Deny lists written
for libseccomp, Docker and systemd still name them, and a filter should: an old or patched
kernel may still run them, and a rule for them keeps their numbers from falling under
``unknown_syscall_action``. So the tables keep them, with these numbers.

Where the data comes from:

- libseccomp 2.5.4 (``libseccomp.so.2``, ``seccomp_syscall_resolve_name_arch``), which reads
  its ``src/syscalls.csv``, for every ABI it knows: x86, x86_64, x32, arm, aarch64, mips,
  mips64, mips64n32, parisc, parisc64, ppc, ppc64, riscv64, s390, s390x;
- libseccomp's ``src/syscalls.csv`` of its main branch (header ``#syscall (v6.16.0
  2025-08-26)``, commit 031024addec2) for the ABIs 2.5.4 lacks: loongarch64, m68k, sh.

Numbers are in ``seccomp_data.nr``'s form, like the tables of ``system-calls``: x32 numbers
carry ``__X32_SYSCALL_BIT`` and MIPS numbers their ABI's base (4000 o32, 5000 n64, 6000 n32),
which libseccomp's csv leaves out. ``arm_sync_file_range`` is arm's older name of
``sync_file_range2`` (``arch/arm/include/uapi/asm/unistd.h`` defined ``__NR_sync_file_range2``
as ``__NR_arm_sync_file_range``): the same number, so ``sync_file_range2`` stays the name
of 341. Keys are the ``system-calls`` table names (``i386``, ``arm64``, ``mipso32``,
``powerpc64``...); ABIs that libseccomp does not know (alpha, sparc, arc...) have none here.
``tests/arch/test_retired.py`` checks every number against ``libseccomp.so.2`` when present
and that none takes a number a current call has.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

_RETIRED: Final[dict[str, dict[str, int]]] = {
    "i386": {
        "break": 17, "stty": 31, "gtty": 32, "ftime": 35, "prof": 44, "lock": 53, "mpx": 56,
        "ulimit": 58, "uselib": 86, "profil": 98, "idle": 112, "create_module": 127,
        "get_kernel_syms": 130, "bdflush": 134, "afs_syscall": 137, "_sysctl": 149,
        "query_module": 167, "nfsservctl": 169, "getpmsg": 188, "putpmsg": 189, "vserver": 273,
    },
    "x86_64": {
        "uselib": 134, "_sysctl": 156, "create_module": 174, "get_kernel_syms": 177,
        "query_module": 178, "nfsservctl": 180, "getpmsg": 181, "putpmsg": 182,
        "afs_syscall": 183, "tuxcall": 184, "security": 185, "vserver": 236,
    },
    "x32": {
        "getpmsg": 0x400000b5, "putpmsg": 0x400000b6, "afs_syscall": 0x400000b7,
        "tuxcall": 0x400000b8, "security": 0x400000b9,
    },
    "arm": {
        "uselib": 86, "bdflush": 134, "_sysctl": 149, "nfsservctl": 169, "vserver": 313,
        "arm_sync_file_range": 341,
    },
    "arm64": {
        "nfsservctl": 42,
    },
    "loongarch64": {
        "nfsservctl": 42,
    },
    "m68k": {
        "uselib": 86, "create_module": 127, "get_kernel_syms": 130, "bdflush": 134,
        "_sysctl": 149, "query_module": 167, "nfsservctl": 169, "getpmsg": 188, "putpmsg": 189,
    },
    "mipso32": {
        "break": 4017, "stty": 4031, "gtty": 4032, "ftime": 4035, "prof": 4044, "lock": 4053,
        "mpx": 4056, "ulimit": 4058, "uselib": 4086, "profil": 4098, "idle": 4112,
        "create_module": 4127, "get_kernel_syms": 4130, "bdflush": 4134, "afs_syscall": 4137,
        "_sysctl": 4153, "query_module": 4187, "nfsservctl": 4189, "getpmsg": 4208,
        "putpmsg": 4209, "vserver": 4277,
    },
    "mips64": {
        "_sysctl": 5152, "create_module": 5167, "get_kernel_syms": 5170, "query_module": 5171,
        "nfsservctl": 5173, "getpmsg": 5174, "putpmsg": 5175, "afs_syscall": 5176,
        "vserver": 5236,
    },
    "mips64n32": {
        "_sysctl": 6152, "create_module": 6167, "get_kernel_syms": 6170, "query_module": 6171,
        "nfsservctl": 6173, "getpmsg": 6174, "putpmsg": 6175, "afs_syscall": 6176,
        "vserver": 6240,
    },
    "parisc": {
        "uselib": 86, "bdflush": 134, "_sysctl": 149,
    },
    "parisc64": {
        "uselib": 86, "bdflush": 134, "_sysctl": 149,
    },
    "powerpc": {
        "break": 17, "stty": 31, "gtty": 32, "ftime": 35, "prof": 44, "lock": 53, "mpx": 56,
        "ulimit": 58, "uselib": 86, "profil": 98, "idle": 112, "create_module": 127,
        "get_kernel_syms": 130, "bdflush": 134, "afs_syscall": 137, "_sysctl": 149,
        "query_module": 166, "nfsservctl": 168, "getpmsg": 187, "putpmsg": 188, "tuxcall": 225,
    },
    "powerpc64": {
        "break": 17, "stty": 31, "gtty": 32, "ftime": 35, "prof": 44, "lock": 53, "mpx": 56,
        "ulimit": 58, "uselib": 86, "profil": 98, "idle": 112, "create_module": 127,
        "get_kernel_syms": 130, "bdflush": 134, "afs_syscall": 137, "_sysctl": 149,
        "query_module": 166, "nfsservctl": 168, "getpmsg": 187, "putpmsg": 188, "tuxcall": 225,
    },
    "riscv64": {
        "nfsservctl": 42,
    },
    "s390": {
        "uselib": 86, "idle": 112, "create_module": 127, "get_kernel_syms": 130, "bdflush": 134,
        "afs_syscall": 137, "_sysctl": 149, "query_module": 167, "nfsservctl": 169,
        "getpmsg": 188, "putpmsg": 189,
    },
    "s390x": {
        "uselib": 86, "idle": 112, "create_module": 127, "get_kernel_syms": 130, "bdflush": 134,
        "afs_syscall": 137, "_sysctl": 149, "query_module": 167, "nfsservctl": 169,
        "getpmsg": 188, "putpmsg": 189,
    },
    "sh": {
        "uselib": 86, "bdflush": 134, "_sysctl": 149, "nfsservctl": 169,
    },
}  # fmt: skip

RETIRED_SYSCALLS: Final[Mapping[str, Mapping[str, int]]] = MappingProxyType(
    {source: MappingProxyType(calls) for source, calls in _RETIRED.items()}
)
"""``system-calls`` table name -> retired call name -> number (``seccomp_data.nr``)."""

RETIRED_SYSCALL_NAMES: Final = frozenset(name for calls in _RETIRED.values() for name in calls)
"""Every name above: calls no current kernel table lists."""

ALIASES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {"arm": MappingProxyType({"arm_sync_file_range": "sync_file_range2"})}
)
"""Retired names that are another name of a current call, per table: they share its number."""
