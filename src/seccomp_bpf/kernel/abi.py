"""Which system-call ABI this process uses, and the number of ``seccomp(2)`` in it.

``kernel/`` sits below ``arch/``, so it keeps its own small table instead of asking the
architecture layer. The numbers come from the kernel's syscall tables (cited per entry) and
were checked against the ``system-calls`` package 7.2 (Linux 7.2 tables); a test compares them.

The ABI is not the machine: a 32-bit Python on a 64-bit kernel (i386 on x86-64, arm on arm64,
o32 or n32 on mips64) makes its calls through the 32-bit entry points, with their numbers. So
the pointer size of this process and the interpreter's multiarch triplet decide, not
``uname -m`` alone.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from types import MappingProxyType

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


# __X32_SYSCALL_BIT, arch/x86/include/uapi/asm/unistd.h: x32 calls are x86-64 entries with
# bit 30 set.
X32_SYSCALL_BIT: Final = 0x40000000

SECCOMP_SYSCALL_NUMBERS: Final[Mapping[str, int]] = MappingProxyType(
    {
        # arch/x86/entry/syscalls/syscall_64.tbl: "317 common seccomp"
        "x86_64": 317,
        # the same "common" entry, reached with __X32_SYSCALL_BIT
        "x32": X32_SYSCALL_BIT | 317,
        # arch/x86/entry/syscalls/syscall_32.tbl: "354 i386 seccomp"
        "i386": 354,
        # include/uapi/asm-generic/unistd.h: "#define __NR_seccomp 277" (the generic table
        # used by arm64, riscv and loongarch)
        "aarch64": 277,
        "riscv64": 277,
        "riscv32": 277,
        "loongarch64": 277,
        # arch/arm/tools/syscall.tbl: "383 common seccomp"
        "arm": 383,
        # arch/powerpc/kernel/syscalls/syscall.tbl: "358 common seccomp"
        "ppc": 358,
        "ppc64": 358,
        # arch/s390/kernel/syscalls/syscall.tbl: "348 common seccomp"
        "s390": 348,
        "s390x": 348,
        # arch/mips/kernel/syscalls/syscall_o32.tbl: 352, plus __NR_O32_Linux (4000)
        "mips-o32": 4352,
        # arch/mips/kernel/syscalls/syscall_n64.tbl: 312, plus __NR_64_Linux (5000)
        "mips-n64": 5312,
        # arch/mips/kernel/syscalls/syscall_n32.tbl: 316, plus __NR_N32_Linux (6000)
        "mips-n32": 6316,
    }
)


_X86: Final = ("x86_64", "amd64", "i386", "i486", "i586", "i686")


def syscall_abi(
    machine: str | None = None, pointer_bits: int | None = None, multiarch: str | None = None
) -> str | None:
    """The system-call ABI of this process (a key of ``SECCOMP_SYSCALL_NUMBERS``), or None.

    The arguments default to this process: ``os.uname().machine``, the size of a pointer in
    bits, and ``sysconfig.get_config_var("MULTIARCH")`` (for example ``x86_64-linux-gnux32``
    or ``mips64el-linux-gnuabin32``), read only where the first two leave the ABI open (it
    loads the interpreter's build configuration). None means an ABI this table does not know.
    """
    if machine is None:
        machine = os.uname().machine
    if pointer_bits is None:
        pointer_bits = struct.calcsize("P") * 8
    wide = pointer_bits == 64
    if multiarch is None and (machine.startswith("mips") or (machine in _X86 and not wide)):
        import sysconfig

        multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    multiarch = multiarch or ""

    if machine in _X86:
        if wide:
            return "x86_64"
        return "x32" if multiarch.endswith("gnux32") else "i386"
    if machine in ("aarch64", "aarch64_be", "arm64"):
        return "aarch64" if wide else "arm"
    if machine.startswith("arm"):
        return "arm"
    if machine.startswith("riscv"):
        return "riscv64" if wide else "riscv32"
    if machine == "loongarch64" and wide:
        return "loongarch64"
    if machine.startswith("ppc") or machine.startswith("powerpc"):
        return "ppc64" if wide else "ppc"
    if machine in ("s390", "s390x"):
        return "s390x" if wide else "s390"
    if machine.startswith("mips"):
        if "abin32" in multiarch:
            return "mips-n32"
        return "mips-n64" if wide else "mips-o32"
    return None


def seccomp_syscall_number(abi: str | None = None) -> int | None:
    """``__NR_seccomp`` for ``abi`` (by default this process's), or None when unknown."""
    if abi is None:
        abi = syscall_abi()
    if abi is None:
        return None
    return SECCOMP_SYSCALL_NUMBERS.get(abi)
