"""libseccomp (``libseccomp.so.2``) through ctypes, as an independent reference for tests.

Only lookups: nothing is loaded into the kernel. :func:`load` returns ``None`` when the
library is absent, and the tests skip.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Libseccomp:
    lib: ctypes.CDLL
    libc: ctypes.CDLL

    def arch_token(self, name: str) -> int:
        """``seccomp_arch_resolve_name``: libseccomp's token for ``name``, 0 when unknown.

        The token is the ``AUDIT_ARCH_*`` value except for x32, whose token
        ``SCMP_ARCH_X32`` is ``EM_X86_64 | __AUDIT_ARCH_LE`` (``include/seccomp.h.in``):
        libseccomp's own marker, since the kernel reports x32 as ``AUDIT_ARCH_X86_64``.
        """
        return int(self.lib.seccomp_arch_resolve_name(name.encode()))

    def syscall_number(self, token: int, name: str) -> int:
        """``seccomp_syscall_resolve_name_arch``: negative for unknown or pseudo numbers."""
        return int(self.lib.seccomp_syscall_resolve_name_arch(token, name.encode()))

    def syscall_name(self, token: int, number: int) -> str | None:
        """``seccomp_syscall_resolve_num_arch`` (the string is malloc'd; freed here)."""
        pointer = self.lib.seccomp_syscall_resolve_num_arch(token, number)
        if not pointer:
            return None
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            self.libc.free(pointer)

    def version(self) -> tuple[int, int, int]:
        version = self.lib.seccomp_version()
        return (version.contents.major, version.contents.minor, version.contents.micro)


class _Version(ctypes.Structure):
    _fields_ = (("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint))


def load() -> Libseccomp | None:
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_num_arch.argtypes = [ctypes.c_uint32, ctypes.c_int]
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    lib.seccomp_version.argtypes = []
    lib.seccomp_version.restype = ctypes.POINTER(_Version)
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free.restype = None
    return Libseccomp(lib, libc)
