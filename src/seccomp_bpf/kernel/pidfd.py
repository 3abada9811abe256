"""``pidfd_getfd(2)``: copy a file descriptor out of another process (Linux 5.6).

Python has ``os.pidfd_open`` and ``signal.pidfd_send_signal`` but not this call. It needs
``PTRACE_MODE_ATTACH_REALCREDS`` over the target (a parent over its own child qualifies when
the Yama ``ptrace_scope`` allows it; root always does). The copy is opened with ``O_CLOEXEC``.
"""

from __future__ import annotations

import errno as errno_codes
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import libc
from seccomp_bpf.kernel.abi import X32_SYSCALL_BIT, syscall_abi

# The number of pidfd_getfd per ABI: 438 in every table that took the unified numbering of
# new system calls (Linux 5.1: arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl,
# include/uapi/asm-generic/unistd.h, arch/arm/tools/syscall.tbl,
# arch/powerpc/kernel/syscalls/syscall.tbl, arch/s390/kernel/syscalls/syscall.tbl), plus the
# ABI's base on x32 (__X32_SYSCALL_BIT) and MIPS (4000 o32, 5000 n64, 6000 n32,
# arch/mips/kernel/syscalls/syscall_*.tbl). Checked against system-calls 7.2 by a test.
PIDFD_GETFD_NUMBERS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "x86_64": 438,
        "x32": X32_SYSCALL_BIT | 438,
        "i386": 438,
        "aarch64": 438,
        "arm": 438,
        "riscv64": 438,
        "riscv32": 438,
        "loongarch64": 438,
        "ppc": 438,
        "ppc64": 438,
        "s390": 438,
        "s390x": 438,
        "mips-o32": 4438,
        "mips-n64": 5438,
        "mips-n32": 6438,
    }
)


def pidfd_getfd(pidfd: int, target_fd: int) -> int:
    """A copy, in this process, of file descriptor ``target_fd`` of the process ``pidfd``
    refers to. Raises :class:`KernelError` (``EBADF``: no such descriptor there; ``ESRCH``:
    the process is gone; ``EPERM``: not allowed to trace it)."""
    call = f"pidfd_getfd({pidfd}, {target_fd})"
    abi = syscall_abi()
    number = PIDFD_GETFD_NUMBERS.get(abi or "")
    if number is None:
        raise KernelError(
            call, errno_codes.ENOSYS, f"its number is not known for this ABI ({abi or 'unknown'})"
        )
    result = libc.syscall(number, pidfd, target_fd, 0)
    if result.failed:
        raise KernelError(call, result.errno)
    return result.value
