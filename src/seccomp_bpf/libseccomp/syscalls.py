"""System call names and numbers as libseccomp reads them: the native architecture's
number, a pseudo number where an architecture lacks a call (``__PNR_*``), and -1."""

from __future__ import annotations

import errno as errno_codes
from typing import Final

from seccomp_bpf.arch import Arch as ArchInfo
from seccomp_bpf.arch import known_syscall_names, native_arch
from seccomp_bpf.errors import LibseccompError
from seccomp_bpf.libseccomp.constants import U32, Arch, arch_info, token_of
from seccomp_bpf.libseccomp.pseudo_numbers import PSEUDO_NAMES, PSEUDO_NUMBERS

NR_SCMP_ERROR: Final = -1  # <seccomp.h>: __NR_SCMP_ERROR, also tracers' "skip this call"
# libseccomp refuses every number in -99..-1 as a system call (seccomp_rule_add(3): "values
# below -99 are pseudo syscalls"), but -1 with SCMP_FLTATR_API_TSKIP.
RESERVED_NEGATIVE: Final = range(-99, 0)


def system_arch() -> int:
    """The native architecture's token (``seccomp_arch_native()``)."""
    return token_of(native_arch())


def pseudo_name(arch: ArchInfo, nr: int) -> str | None:
    """The name libseccomp's pseudo number ``nr`` stands for on ``arch``: a call ``arch``
    lacks (``None`` when ``nr`` is no pseudo number, or names a call ``arch`` has)."""
    name = PSEUDO_NAMES.get(nr)
    if name is None or name in arch.syscalls:
        return None
    return name


def native_name(nr: int, what: str) -> str | None:
    """The name of ``nr`` as libseccomp reads a number given to a rule or a priority: in the
    native table, where a pseudo number stands for a call native lacks. ``None``: a
    non-negative number native has no call for. A pseudo number for a call native *has* is
    refused (``-EFAULT``, as libseccomp cannot translate it to another architecture) rather
    than read as a number of native's table."""
    native = native_arch()
    if nr >= 0:
        return native.syscall_name(nr)
    name = pseudo_name(native, nr)
    if name is not None:
        return name
    if nr in PSEUDO_NAMES:
        raise LibseccompError(
            errno_codes.EFAULT,
            f"{what}: {nr} is libseccomp's pseudo number for {PSEUDO_NAMES[nr]!r}, which "
            f"{native.name} has as {native.syscall_number(PSEUDO_NAMES[nr])}",
        )
    raise LibseccompError(
        errno_codes.EFAULT, f"{what}: {nr} is neither a system call nor a pseudo number"
    )


def resolve_syscall(arch: int | Arch | str, syscall: int | str) -> int | bytes:
    """A name's number on ``arch`` (an int), or a number's name (``bytes``, as the binding).

    A call that ``arch`` multiplexes gives the multiplexer's number, direct call or not
    (``seccomp_syscall_resolve_name_rewrite``: "rewriting the syscall number ... in case of a
    multiplexed syscall, like socketcall(2) or ipc(2) on x86"); a name ``arch`` lacks gives
    libseccomp's pseudo number for it (``__PNR_*``), an unknown name ``-1``. A pseudo number
    gives its name where ``arch`` lacks the call; any other number without a name on
    ``arch`` raises ``ValueError``.
    """
    info = arch_info(arch)
    if isinstance(syscall, str):
        table = info.info.syscalls
        for multiplexer, calls in (("socketcall", info.info.socketcall), ("ipc", info.info.ipc)):
            if syscall in calls and multiplexer in table:
                return table[multiplexer]
        if syscall in table:
            return table[syscall]
        if syscall in PSEUDO_NUMBERS:
            return PSEUDO_NUMBERS[syscall]
        return NR_SCMP_ERROR
    if isinstance(syscall, int) and not isinstance(syscall, bool):
        name = (
            pseudo_name(info.info, syscall)
            if syscall < 0
            else info.info.syscall_name(syscall & U32)
        )
        if name is None:
            raise ValueError(f"Unknown syscall {syscall} on arch {info.token}")
        return name.encode()
    raise TypeError("Syscall must either be an int or str type")


def check_name(name: str) -> None:
    """``-EINVAL`` for a name no architecture has (a typo)."""
    if name not in known_syscall_names():
        raise LibseccompError(errno_codes.EINVAL, f"unknown system call {name!r}")
