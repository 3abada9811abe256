"""A small stand-in for ``seccomp_bpf.arch.ArchSymbols``: a few architectures, a few syscalls.

The numbers are the real ones (x86-64 ``read`` is 0, i386 ``read`` is 3...), but the tables are
tiny on purpose: the bpf layer must work with whatever a Symbols object knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

# <linux/audit.h>: AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT (0x80000000) | __AUDIT_ARCH_LE
# (0x40000000).
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
AUDIT_ARCH_PPC64 = 0x80000015  # big-endian
AUDIT_ARCH_S390X = 0x80000016  # big-endian
X32_SYSCALL_BIT = 0x40000000

ARCHES = {
    "ARCH_X86_64": AUDIT_ARCH_X86_64,
    "ARCH_I386": AUDIT_ARCH_I386,
    "ARCH_PPC64": AUDIT_ARCH_PPC64,
    "ARCH_S390X": AUDIT_ARCH_S390X,
}
SYSCALLS: dict[int, dict[str, int]] = {
    AUDIT_ARCH_X86_64: {
        "read": 0,
        "write": 1,
        "open": 2,
        "close": 3,
        "mmap": 9,
        "ptrace": 101,
        "personality": 135,
        "exit_group": 231,
    },
    AUDIT_ARCH_I386: {"exit": 1, "read": 3, "write": 4, "close": 6, "ptrace": 26},
    AUDIT_ARCH_PPC64: {"exit": 1, "read": 3, "write": 4, "ptrace": 26},
    AUDIT_ARCH_S390X: {"exit": 1, "read": 3, "write": 4, "ptrace": 26},
}


@dataclass(frozen=True)
class FakeArch:
    audit_arch: int

    @property
    def byteorder(self) -> Literal["little", "big"]:
        return "little" if self.audit_arch & 0x40000000 else "big"  # __AUDIT_ARCH_LE


class FakeSymbols:
    """Implements the ``Symbols`` protocol over :data:`ARCHES` and :data:`SYSCALLS`.

    Like ``ArchSymbols``, it has a ``default`` architecture with a ``byteorder``.
    """

    def __init__(
        self,
        default: int = AUDIT_ARCH_X86_64,
        syscalls: Mapping[int, Mapping[str, int]] = SYSCALLS,
        extra_names: Mapping[int, str] | None = None,
    ) -> None:
        self.default = FakeArch(default)
        self.syscalls = syscalls
        # names syscall_name gives that syscall_number does not take back (an alias table gone
        # wrong), to check the disassembler only prints names that read back
        self.extra_names = dict(extra_names or {})

    def arch_name(self, audit_arch: int) -> str | None:
        for name, value in ARCHES.items():
            if value == audit_arch:
                return name
        return None

    def arch_value(self, name: str) -> int | None:
        return ARCHES.get(name)

    def syscall_name(self, audit_arch: int | None, nr: int) -> str | None:
        table = self.syscalls.get(self.default.audit_arch if audit_arch is None else audit_arch, {})
        for name, number in table.items():
            if number == nr:
                return name
        return self.extra_names.get(nr)

    def syscall_number(self, audit_arch: int | None, name: str) -> int | None:
        table = self.syscalls.get(self.default.audit_arch if audit_arch is None else audit_arch, {})
        return table.get(name)
