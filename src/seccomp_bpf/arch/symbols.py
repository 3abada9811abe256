"""Symbolic names for the disassembler and the assembler (the ``bpf`` layer's ``Symbols``)."""

from __future__ import annotations

from seccomp_bpf.arch.architecture import Arch
from seccomp_bpf.arch.registry import arch_for_syscall, arches_by_audit, lookup_arch


class ArchSymbols:
    """Names ``seccomp_data.arch`` values and system call numbers.

    ``default`` is the architecture assumed where a program has not checked ``arch`` yet
    (``audit_arch`` ``None``); without one, such numbers stay numbers.
    """

    def __init__(self, default: Arch | None = None) -> None:
        self.default = default

    def arch_name(self, audit_arch: int) -> str | None:
        """``ARCH_X86_64``-style token of an ``AUDIT_ARCH`` value (x32 shares x86-64's)."""
        arches = arches_by_audit(audit_arch)
        return arches[0].symbol if arches else None

    def arch_value(self, name: str) -> int | None:
        """The ``AUDIT_ARCH`` value of a token: ``ARCH_X86_64``, ``AUDIT_ARCH_X86_64``, or any
        name :func:`~seccomp_bpf.arch.get_arch` accepts but ``native`` (case-insensitive)."""
        arch = lookup_arch(name)
        return arch.audit_arch if arch is not None else None

    def _arch_for(self, audit_arch: int | None, nr: int) -> Arch | None:
        if audit_arch is None:
            if self.default is None:
                return None
            audit_arch = self.default.audit_arch
        return arch_for_syscall(audit_arch, nr)

    def syscall_name(self, audit_arch: int | None, nr: int) -> str | None:
        """The name of ``nr`` in the table it belongs to under ``audit_arch`` (bit 30 under
        ``AUDIT_ARCH_X86_64`` means x32), as :func:`~seccomp_bpf.arch.arch_for_syscall`."""
        arch = self._arch_for(audit_arch, nr)
        return arch.syscall_name(nr) if arch is not None else None

    def syscall_number(self, audit_arch: int | None, name: str) -> int | None:
        """The number of ``name`` for ``audit_arch``: the first ABI that reports the value
        and has the call (x86-64 before x32), or ``None``."""
        if audit_arch is None:
            if self.default is None:
                return None
            return self.default.syscall_number(name)
        for arch in arches_by_audit(audit_arch):
            number = arch.syscall_number(name)
            if number is not None:
                return number
        return None
