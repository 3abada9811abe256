"""The architectures a seccomp filter can see: audit values, word size, byte order, system call
tables (from the ``system-calls`` package), multiplexers, and the named constants of policies.

::

    >>> from seccomp_bpf.arch import get_arch
    >>> x86_64 = get_arch("amd64")
    >>> hex(x86_64.audit_arch), x86_64.syscall_number("read")
    ('0xc000003e', 0)
    >>> hex(get_arch("x32").syscall_number("read"))
    '0x40000000'
"""

from __future__ import annotations

from seccomp_bpf.lazy import lazy_exports

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from seccomp_bpf.arch.architecture import Arch, ByteOrder, SyscallTable
    from seccomp_bpf.arch.constants import (
        constant_family,
        constant_names,
        constant_source,
        resolve_constant,
    )
    from seccomp_bpf.arch.multiplexers import IPC_CALL_MASK, IPC_CALLS, SOCKETCALL_CALLS
    from seccomp_bpf.arch.registry import (
        SKIPPED_SYSCALL,
        X32_SYSCALL_BIT,
        all_arches,
        arch_for_machine,
        arch_for_syscall,
        arches_by_audit,
        dispatch_boundaries,
        dispatched_arch,
        dispatched_arches,
        get_arch,
        known_syscall_names,
        lookup_arch,
        native_arch,
    )
    from seccomp_bpf.arch.symbols import ArchSymbols

# Read on first use (seccomp_bpf.lazy): the start-up of a confined command asks for its ABI's
# name only, and loads none of the tables.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "seccomp_bpf.arch.architecture": "Arch ByteOrder SyscallTable",
        "seccomp_bpf.arch.constants": (
            "constant_family constant_names constant_source resolve_constant"
        ),
        "seccomp_bpf.arch.multiplexers": "IPC_CALL_MASK IPC_CALLS SOCKETCALL_CALLS",
        "seccomp_bpf.arch.registry": (
            "SKIPPED_SYSCALL X32_SYSCALL_BIT all_arches arch_for_machine arch_for_syscall "
            "arches_by_audit dispatch_boundaries dispatched_arch dispatched_arches get_arch "
            "known_syscall_names lookup_arch native_arch"
        ),
        "seccomp_bpf.arch.symbols": "ArchSymbols",
    },
)

__all__ = [
    "IPC_CALLS",
    "IPC_CALL_MASK",
    "SKIPPED_SYSCALL",
    "SOCKETCALL_CALLS",
    "X32_SYSCALL_BIT",
    "Arch",
    "ArchSymbols",
    "ByteOrder",
    "SyscallTable",
    "all_arches",
    "arch_for_machine",
    "arch_for_syscall",
    "arches_by_audit",
    "constant_family",
    "constant_names",
    "constant_source",
    "dispatch_boundaries",
    "dispatched_arch",
    "dispatched_arches",
    "get_arch",
    "known_syscall_names",
    "lookup_arch",
    "native_arch",
    "resolve_constant",
]
