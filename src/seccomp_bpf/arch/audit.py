"""``AUDIT_ARCH_*`` values: what ``seccomp_data.arch`` holds for each ABI.

Each value is an ELF machine number (``EM_*``, <linux/elf-em.h>) with flags on top
(<linux/audit.h>)::

    __AUDIT_ARCH_64BIT                 0x80000000   the ABI is 64-bit
    __AUDIT_ARCH_LE                    0x40000000   the ABI is little-endian
    __AUDIT_ARCH_CONVENTION_MIPS64_N32 0x20000000   MIPS n32 calling convention

For example ``AUDIT_ARCH_X86_64 = EM_X86_64 (62 = 0x3e) | 64BIT | LE = 0xc000003e`` and
``AUDIT_ARCH_MIPSEL64N32 = EM_MIPS (8) | 64BIT | LE | MIPS64_N32 = 0xe0000008``. The kernel
reports the value through ``syscall_get_arch()`` (``arch/*/include/asm/syscall.h``).

Only the macros of architectures that Linux still supports are here; the removed ports (c6x,
cris, frv, h8300, ia64, m32r, nds32, sh64, tile, unicore32) keep their macros in the header
but no kernel can run a seccomp filter for them any more.
"""

from __future__ import annotations

from typing import Final

# <linux/elf-em.h>
EM_SPARC: Final = 2
EM_386: Final = 3
EM_68K: Final = 4
EM_MIPS: Final = 8
EM_PARISC: Final = 15
EM_PPC: Final = 20
EM_PPC64: Final = 21
EM_S390: Final = 22
EM_ARM: Final = 40
EM_SH: Final = 42
EM_SPARCV9: Final = 43
EM_X86_64: Final = 62
EM_OPENRISC: Final = 92
EM_ARCOMPACT: Final = 93
EM_XTENSA: Final = 94
EM_ALTERA_NIOS2: Final = 113
EM_HEXAGON: Final = 164
EM_AARCH64: Final = 183
EM_MICROBLAZE: Final = 189
EM_ARCV2: Final = 195
EM_RISCV: Final = 243
EM_CSKY: Final = 252
EM_LOONGARCH: Final = 258
EM_ALPHA: Final = 0x9026

# <linux/audit.h>
AUDIT_ARCH_64BIT: Final = 0x80000000
AUDIT_ARCH_LE: Final = 0x40000000
AUDIT_ARCH_CONVENTION_MIPS64_N32: Final = 0x20000000
AUDIT_ARCH_CONVENTION_MASK: Final = 0x30000000

_64: Final = AUDIT_ARCH_64BIT
_LE: Final = AUDIT_ARCH_LE
_N32: Final = AUDIT_ARCH_CONVENTION_MIPS64_N32

# Each line is the definition in <linux/audit.h>, with the value it comes to in the comment.
AUDIT_ARCH: Final[dict[str, int]] = {
    "AUDIT_ARCH_AARCH64": EM_AARCH64 | _64 | _LE,  # 0xc00000b7
    "AUDIT_ARCH_ALPHA": EM_ALPHA | _64 | _LE,  # 0xc0009026
    "AUDIT_ARCH_ARCOMPACT": EM_ARCOMPACT | _LE,  # 0x4000005d
    "AUDIT_ARCH_ARCOMPACTBE": EM_ARCOMPACT,  # 0x0000005d
    "AUDIT_ARCH_ARCV2": EM_ARCV2 | _LE,  # 0x400000c3
    "AUDIT_ARCH_ARCV2BE": EM_ARCV2,  # 0x000000c3
    "AUDIT_ARCH_ARM": EM_ARM | _LE,  # 0x40000028
    "AUDIT_ARCH_ARMEB": EM_ARM,  # 0x00000028
    "AUDIT_ARCH_CSKY": EM_CSKY | _LE,  # 0x400000fc
    "AUDIT_ARCH_HEXAGON": EM_HEXAGON,  # 0x000000a4 (no LE flag, though the CPU is LE)
    "AUDIT_ARCH_I386": EM_386 | _LE,  # 0x40000003
    "AUDIT_ARCH_LOONGARCH32": EM_LOONGARCH | _LE,  # 0x40000102
    "AUDIT_ARCH_LOONGARCH64": EM_LOONGARCH | _64 | _LE,  # 0xc0000102
    "AUDIT_ARCH_M68K": EM_68K,  # 0x00000004
    "AUDIT_ARCH_MICROBLAZE": EM_MICROBLAZE,  # 0x000000bd (either byte order)
    "AUDIT_ARCH_MIPS": EM_MIPS,  # 0x00000008
    "AUDIT_ARCH_MIPSEL": EM_MIPS | _LE,  # 0x40000008
    "AUDIT_ARCH_MIPS64": EM_MIPS | _64,  # 0x80000008
    "AUDIT_ARCH_MIPS64N32": EM_MIPS | _64 | _N32,  # 0xa0000008
    "AUDIT_ARCH_MIPSEL64": EM_MIPS | _64 | _LE,  # 0xc0000008
    "AUDIT_ARCH_MIPSEL64N32": EM_MIPS | _64 | _LE | _N32,  # 0xe0000008
    "AUDIT_ARCH_NIOS2": EM_ALTERA_NIOS2 | _LE,  # 0x40000071
    "AUDIT_ARCH_OPENRISC": EM_OPENRISC,  # 0x0000005c
    "AUDIT_ARCH_PARISC": EM_PARISC,  # 0x0000000f
    "AUDIT_ARCH_PARISC64": EM_PARISC | _64,  # 0x8000000f
    "AUDIT_ARCH_PPC": EM_PPC,  # 0x00000014 (there is no AUDIT_ARCH_PPCLE)
    "AUDIT_ARCH_PPC64": EM_PPC64 | _64,  # 0x80000015
    "AUDIT_ARCH_PPC64LE": EM_PPC64 | _64 | _LE,  # 0xc0000015
    "AUDIT_ARCH_RISCV32": EM_RISCV | _LE,  # 0x400000f3
    "AUDIT_ARCH_RISCV64": EM_RISCV | _64 | _LE,  # 0xc00000f3
    "AUDIT_ARCH_S390": EM_S390,  # 0x00000016
    "AUDIT_ARCH_S390X": EM_S390 | _64,  # 0x80000016
    "AUDIT_ARCH_SH": EM_SH,  # 0x0000002a (big-endian SuperH)
    "AUDIT_ARCH_SHEL": EM_SH | _LE,  # 0x4000002a
    "AUDIT_ARCH_SPARC": EM_SPARC,  # 0x00000002
    "AUDIT_ARCH_SPARC64": EM_SPARCV9 | _64,  # 0x8000002b
    "AUDIT_ARCH_X86_64": EM_X86_64 | _64 | _LE,  # 0xc000003e (x86-64 and x32)
    "AUDIT_ARCH_XTENSA": EM_XTENSA,  # 0x0000005e (either byte order)
}
