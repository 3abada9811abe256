"""The name of the ABI a process uses, from what the machine and the interpreter say.

Apart from :mod:`.registry` (which gives the :class:`~seccomp_bpf.arch.Arch` of that name) so
that the start-up of a confined command, which needs only the name of its ABI to pick the
precompiled default program, loads no table and no ABI.
"""

from __future__ import annotations

import os
import struct
import sys


def abi_name(machine: str, byteorder: str, pointer_bits: int, multiarch: str = "") -> str | None:
    """The name of the ABI of a process, from ``uname -m``, its byte order, pointer size and
    multiarch tuple (``sysconfig.get_config_var("MULTIARCH")``, e.g. ``x86_64-linux-gnux32``);
    None for a machine no ABI here runs on.

    The kernel's machine name says which kernel runs; the process may use a 32-bit ABI on it
    (i386 or x32 on x86_64, arm on aarch64, MIPS o32 or n32 on mips64...).
    """
    m = machine.lower()
    little = byteorder == "little"
    wide = pointer_bits == 64
    name: str | None = None
    if m in ("x86_64", "amd64"):
        name = "x86_64" if wide else ("x32" if multiarch.endswith("x32") else "i386")
    elif m in ("i386", "i486", "i586", "i686"):
        name = "i386"
    elif m in ("aarch64", "arm64", "aarch64_be"):
        # A big-endian AArch64 task reports AUDIT_ARCH_AARCH64 all the same
        # (arch/arm64/include/asm/syscall.h), whose byte order here is little: unsupported.
        if wide and little:
            name = "aarch64"
        elif not wide:
            name = "arm" if little else "armeb"
    elif m.startswith("arm"):
        name = "arm" if little else "armeb"
    elif m.startswith("riscv"):
        name = "riscv64" if wide else "riscv32"
    elif m.startswith("loongarch"):
        name = "loongarch64" if wide else "loongarch32"
    elif m.startswith(("ppc", "powerpc")):
        name = ("ppc64le" if little else "ppc64") if wide else "ppc"
    elif m.startswith("s390"):
        name = "s390x" if wide else "s390"
    elif m.startswith("mips"):
        if wide:
            name = "mipsel64" if little else "mips64"
        elif "n32" in multiarch:
            name = "mipsel64n32" if little else "mips64n32"
        else:
            name = "mipsel" if little else "mips"
    elif m.startswith("parisc"):
        name = "parisc64" if wide else "parisc"
    elif m.startswith("sparc"):
        name = "sparc64" if wide else "sparc"
    elif m.startswith("sh"):
        name = "sh" if little else "sheb"
    elif m.startswith("arc"):
        name = "arcv2" if little else "arcv2be"
    elif m.startswith("microblaze"):
        name = "microblaze"
    elif m in ("m68k", "alpha", "csky", "hexagon", "openrisc", "nios2", "xtensa"):
        name = m
    elif m == "or1k":
        name = "openrisc"
    return name


def native_abi_name() -> str | None:
    """The name of the ABI of this Python process (None: a machine no ABI here runs on)."""
    machine = os.uname().machine
    pointer_bits = struct.calcsize("P") * 8
    # abi_name reads the multiarch tuple for a 32-bit process on an x86-64 or MIPS machine
    # alone (x32 or i386, n32 or o32): only then is the interpreter's build configuration
    # loaded (sysconfig, some milliseconds).
    multiarch = ""
    lowered = machine.lower()
    if pointer_bits != 64 and (lowered in ("x86_64", "amd64") or lowered.startswith("mips")):
        import sysconfig

        multiarch = str(sysconfig.get_config_var("MULTIARCH") or "")
    return abi_name(machine, sys.byteorder, pointer_bits, multiarch)
