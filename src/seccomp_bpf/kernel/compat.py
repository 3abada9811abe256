"""The other system-call ABIs of an x86-64 process: i386 through ``int 0x80``, and x32.

A 64-bit x86-64 process can reach the kernel through three ABIs, and a seccomp filter sees
each differently (``syscall_get_arch`` in ``arch/x86/include/asm/syscall.h``):

- **x86-64** (the ``syscall`` instruction): ``AUDIT_ARCH_X86_64``, the 64-bit table.
- **i386** (``int 0x80``, even from 64-bit code): the entry marks the task ``TS_COMPAT``, so
  the filter sees ``AUDIT_ARCH_I386`` and the number is looked up in the i386 table
  (``arch/x86/entry/syscalls/syscall_32.tbl``). Needs ``CONFIG_IA32_EMULATION`` (and, since
  Linux 6.7, no ``ia32_emulation=false`` on the kernel command line); without it the
  ``int 0x80`` gate is not installed and the instruction faults: the process gets SIGSEGV.
- **x32** (``syscall`` with ``__X32_SYSCALL_BIT``, 0x40000000, set in the number,
  ``arch/x86/include/uapi/asm/unistd.h``): still ``AUDIT_ARCH_X86_64``, told apart only by
  that bit. seccomp runs on entry, before the number is dispatched, so a filter sees x32
  numbers whether or not the kernel has ``CONFIG_X86_X32_ABI``; without it, a number that
  passes the filter fails with ENOSYS (``do_syscall_64`` in ``arch/x86/entry/``), never a
  signal.

:func:`i386_syscall` makes an i386 call through a few bytes of machine code written into an
executable page; :func:`x32_syscall` is ``syscall(2)`` with the x32 bit. The probes
:func:`has_i386_emulation` and :func:`has_x32_abi` answer, never raise, and never kill the
caller: each makes its call in a forked child, once.
"""

from __future__ import annotations

import ctypes
import errno as errno_codes
import faulthandler
import functools
import mmap
import os
import resource
from collections.abc import Callable
from typing import Final

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import libc
from seccomp_bpf.kernel.abi import X32_SYSCALL_BIT, syscall_abi
from seccomp_bpf.kernel.libc import MAX_SYSCALL_ARGUMENTS, SyscallResult

# arch/x86/entry/syscalls/syscall_32.tbl: "20 i386 getpid", "64 i386 getppid".
I386_GETPID: Final = 20
I386_GETPPID: Final = 64
# arch/x86/entry/syscalls/syscall_64.tbl: "39 common getpid" (common: x32 has it too).
X86_64_GETPID: Final = 39
# arch/x86/entry/syscalls/syscall_64.tbl: "10 common mprotect".
_X86_64_MPROTECT: Final = 10

# include/linux/err.h: MAX_ERRNO. A system call fails when its return value, read as a
# signed register, lies in [-MAX_ERRNO, -1].
MAX_ERRNO: Final = 4095

_MASK32: Final = 0xFFFFFFFF

# The function ``long int80(int nr, unsigned a0, a1, a2, a3, a4, a5)``, x86-64 machine code.
#
# Where the arguments arrive (System V AMD64 ABI, §3.2.3): nr in rdi, a0..a4 in rsi, rdx,
# rcx, r8, r9, and a5 on the stack just above the return address, at [rsp + 8]. rbx and rbp
# belong to the caller ("callee-saved"); everything else used here is scratch.
#
# Where the i386 ABI wants them: the comment above the int 0x80 entry (entry_INT80_compat
# in arch/x86/entry/entry_64_compat.S up to Linux 6.6; int80_emulation() since 6.7, which
# reads the same registers): "eax system call number, ebx arg1, ecx arg2, edx arg3,
# esi arg4, edi arg5, ebp arg6". The result comes back in eax.
#
# a1 arrives in rdx but belongs in ecx, and a2 the other way round: r11 (scratch) holds a1
# meanwhile. After the two pushes, a5 is at [rsp + 8 + 16] = [rsp + 24].
#
# Every move is 32 bits wide, which clears the upper half of its destination register. That
# matters: the kernel runs the i386 system call with the low halves only, but seccomp reads
# the whole saved registers (syscall_get_arguments, arch/x86/include/asm/syscall.h), so a
# 64-bit caller leaving something in an upper half shows a filter arguments that no 32-bit
# process can make. With this code a filter sees exactly what an i386 process would show it;
# _INT80_FULL_REGISTERS_CODE below shows it the upper halves, as a hostile caller can.
_INT80_CODE: Final = bytes(
    [
        0x53,  # push rbx                  rbx is callee-saved
        0x55,  # push rbp                  rbp too
        0x89, 0xF8,  # mov  eax, edi             eax = nr
        0x89, 0xF3,  # mov  ebx, esi             ebx = a0
        0x41, 0x89, 0xD3,  # mov  r11d, edx           r11d = a1
        0x89, 0xCA,  # mov  edx, ecx             edx = a2
        0x44, 0x89, 0xD9,  # mov  ecx, r11d           ecx = a1
        0x44, 0x89, 0xC6,  # mov  esi, r8d            esi = a3
        0x44, 0x89, 0xCF,  # mov  edi, r9d            edi = a4
        0x8B, 0x6C, 0x24, 0x18,  # mov  ebp, [rsp + 24]     ebp = a5
        0xCD, 0x80,  # int  0x80                 the i386 system call
        0x5D,  # pop  rbp
        0x5B,  # pop  rbx
        0x48, 0x98,  # cdqe                      rax = eax, sign-extended
        0xC3,  # ret
    ]
)  # fmt: skip

# The same with 64-bit moves: ``long int80(int nr, u64 a0, ..., u64 a5)`` leaves each whole
# argument in its register, so the filter sees the upper halves the system call ignores.
_INT80_FULL_REGISTERS_CODE: Final = bytes(
    [
        0x53,  # push rbx
        0x55,  # push rbp
        0x89, 0xF8,  # mov  eax, edi             eax = nr
        0x48, 0x89, 0xF3,  # mov  rbx, rsi            rbx = a0
        0x49, 0x89, 0xD3,  # mov  r11, rdx            r11 = a1
        0x48, 0x89, 0xCA,  # mov  rdx, rcx            rdx = a2
        0x4C, 0x89, 0xD9,  # mov  rcx, r11            rcx = a1
        0x4C, 0x89, 0xC6,  # mov  rsi, r8             rsi = a3
        0x4C, 0x89, 0xCF,  # mov  rdi, r9             rdi = a4
        0x48, 0x8B, 0x6C, 0x24, 0x18,  # mov  rbp, [rsp + 24]     rbp = a5
        0xCD, 0x80,  # int  0x80
        0x5D,  # pop  rbp
        0x5B,  # pop  rbx
        0x48, 0x98,  # cdqe
        0xC3,  # ret
    ]
)  # fmt: skip

_Int80 = Callable[[int, int, int, int, int, int, int], int]


class _Int80Function:
    """The machine code in a page of its own, and the ctypes function that calls it.

    The page is mapped writable, filled, then made read-and-execute (never writable and
    executable at once, which some kernels and security modules refuse). It is kept for the
    life of the process: the function would point at freed memory otherwise.
    """

    def __init__(self, code: bytes, argument_type: type[ctypes.c_uint32 | ctypes.c_uint64]) -> None:
        self._page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        self._page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        result = libc.syscall(
            _X86_64_MPROTECT, address, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC
        )
        if result.failed:
            raise KernelError(
                "mprotect(PROT_READ | PROT_EXEC)",
                result.errno,
                "cannot make the page holding the int 0x80 stub executable",
            )
        prototype = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_int32, *[argument_type] * 6)
        self.call: _Int80 = prototype(address)


def _on_x86_64() -> bool:
    return syscall_abi() == "x86_64"


def _require_x86_64(call: str, what: str) -> None:
    if not _on_x86_64():
        raise KernelError(
            call,
            errno_codes.ENOSYS,
            f"{what} need a 64-bit x86-64 process; this process uses the "
            f"{syscall_abi() or 'unknown'} system-call ABI",
        )


@functools.cache
def _int80() -> _Int80Function:
    return _Int80Function(_INT80_CODE, ctypes.c_uint32)


@functools.cache
def _int80_full_registers() -> _Int80Function:
    return _Int80Function(_INT80_FULL_REGISTERS_CODE, ctypes.c_uint64)


def _as_u64(value: int, what: str) -> int:
    if not -(1 << 63) <= value < (1 << 64):
        raise ValueError(f"{what} {value} does not fit in 64 bits")
    return value & ((1 << 64) - 1)


def _as_u32(value: int, what: str) -> int:
    if not -(1 << 31) <= value <= _MASK32:
        raise ValueError(f"{what} {value} does not fit in 32 bits")
    return value & _MASK32


def i386_syscall(nr: int, *args: int) -> SyscallResult:
    """The i386 system call ``nr(args...)`` through ``int 0x80``, from this x86-64 process.

    ``nr`` is a number of the i386 table; the (at most six) arguments are 32-bit, given
    signed or unsigned. Like :func:`seccomp_bpf.kernel.libc.syscall`, a failure is
    ``SyscallResult(-1, errno)``; any other result is the 32-bit return value, unsigned.

    Raises :class:`~seccomp_bpf.errors.KernelError` (ENOSYS) in a process that is not
    x86-64. Without IA-32 emulation in the kernel the ``int 0x80`` faults and the process
    dies by SIGSEGV: ask :func:`has_i386_emulation` first.
    """
    return _call_int80(_int80, _as_u32, nr, args)


def _result(value: int) -> SyscallResult:
    """The i386 result register (sign-extended) as a :class:`SyscallResult`."""
    if -MAX_ERRNO <= value <= -1:
        return SyscallResult(-1, -value)
    return SyscallResult(value & _MASK32, 0)


def i386_syscall_full_registers(nr: int, *args: int) -> SyscallResult:
    """Like :func:`i386_syscall`, but with the whole 64-bit arguments in the registers.

    The system call uses only their low halves, but a seccomp filter sees all 64 bits. This
    is what a hostile 64-bit process can do to a filter that lets i386 calls through: an
    argument comparison of all 64 bits on the i386 ABI is then decided on a value the
    system call never sees. Arguments are unsigned 64-bit numbers, or negative ones
    (two's complement).
    """
    return _call_int80(_int80_full_registers, _as_u64, nr, args)


def _call_int80(
    stub: Callable[[], _Int80Function],
    as_word: Callable[[int, str], int],
    nr: int,
    args: tuple[int, ...],
) -> SyscallResult:
    """``nr(args...)`` through the ``int 0x80`` stub, each argument made a register word by
    ``as_word``; the stub is made (and the ABI checked) only once the arguments are."""
    if len(args) > MAX_SYSCALL_ARGUMENTS:
        raise ValueError(
            f"a system call has at most {MAX_SYSCALL_ARGUMENTS} arguments, not {len(args)}"
        )
    _require_x86_64("int 0x80", "i386 system calls through int 0x80")
    number = _as_u32(nr, "system call number")
    words = [as_word(arg, f"argument {i}") for i, arg in enumerate(args)]
    words += [0] * (MAX_SYSCALL_ARGUMENTS - len(words))
    signed_number = number - (1 << 32) if number >> 31 else number
    return _result(int(stub().call(signed_number, *words)))


def x32_syscall(nr: int, *args: int) -> SyscallResult:
    """The x32 system call ``nr(args...)``: ``syscall(2)`` with ``__X32_SYSCALL_BIT`` set.

    ``nr`` may carry the bit already (the x32 table's numbers do) or not. Needs an x86-64
    process; without ``CONFIG_X86_X32_ABI`` every call that a filter lets through fails with
    ENOSYS.
    """
    _require_x86_64("syscall(__X32_SYSCALL_BIT | nr)", "x32 system calls")
    return libc.syscall(X32_SYSCALL_BIT | (nr & _MASK32), *args)


# Exit status of a probe child whose call answered with the child's pid.
_PROBE_OK: Final = 0
_PROBE_WRONG: Final = 1


def _getpid_in_child(getpid: Callable[[], int]) -> bool:
    """Whether ``getpid()`` returns the pid, asked in a forked child.

    A call through another ABI may kill the process that makes it: SIGSEGV when ``int 0x80``
    has no gate, SIGSYS when a filter's bad-architecture action is KILL. Only the child
    sees that. False also when the child cannot be forked.
    """
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid == 0:  # the child: one call, then leave without running any Python exit code
        status = _PROBE_WRONG
        try:
            # The child may die by a signal: no core file, no fault report on stderr.
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            faulthandler.disable()
            status = _PROBE_OK if getpid() == os.getpid() else _PROBE_WRONG
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == _PROBE_OK


@functools.cache
def has_i386_emulation() -> bool:
    """Whether ``int 0x80`` reaches the i386 system calls here (IA-32 emulation).

    Probed once, in a forked child that makes the i386 ``getpid``: without emulation the
    ``int 0x80`` raises SIGSEGV, which only the child sees. False on anything but an x86-64
    process, when the stub cannot be set up, or when a filter of this process stops the
    call (it is then unreachable indeed).
    """
    if not _on_x86_64():
        return False
    try:
        function = _int80()  # in the parent, so that every later child inherits it
    except OSError:
        return False
    return _getpid_in_child(lambda: function.call(I386_GETPID, 0, 0, 0, 0, 0, 0))


@functools.cache
def has_x32_abi() -> bool:
    """Whether this kernel runs x32 system calls (``CONFIG_X86_X32_ABI``).

    Probed once, in a forked child that makes the x32 ``getpid``. Without the ABI the call
    fails with ENOSYS, which is harmless, but a filter of this process may kill x32 calls
    (an x86_64-only policy's bad-architecture action). False on anything but an x86-64
    process, or when a filter stops the call.
    """
    if not _on_x86_64():
        return False
    return _getpid_in_child(lambda: x32_syscall(X86_64_GETPID).value)
