"""The two multiplexing system calls: ``socketcall(2)`` and ``ipc(2)``.

On some architectures the socket calls and the System V IPC calls can also be made through one
system call whose first argument says which call is meant. A filter that decides ``socket``
must decide ``socketcall(SYS_SOCKET, ...)`` the same way, or the rule is bypassed; the
arguments of the real call are behind a pointer there, out of a filter's reach.

Which architectures have them is read from their tables: an :class:`~seccomp_bpf.arch.Arch` gets
these maps exactly when its table has ``socketcall`` (or ``ipc``). That is i386, m68k, MIPS
o32, PowerPC (32 and 64-bit), s390/s390x, SuperH and SPARC for both, and microblaze for
``socketcall`` only (its ``ipc`` entry is ``sys_ni_syscall``). ARM EABI has neither: the kernel
wires them for OABI only (``arch/arm/tools/syscall.tbl``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# <linux/net.h>: the call numbers of socketcall(2). net/socket.c rejects a call outside
# 1..SYS_SENDMMSG with EINVAL.
SOCKETCALL_CALLS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "socket": 1,  # SYS_SOCKET
        "bind": 2,  # SYS_BIND
        "connect": 3,  # SYS_CONNECT
        "listen": 4,  # SYS_LISTEN
        "accept": 5,  # SYS_ACCEPT
        "getsockname": 6,  # SYS_GETSOCKNAME
        "getpeername": 7,  # SYS_GETPEERNAME
        "socketpair": 8,  # SYS_SOCKETPAIR
        "send": 9,  # SYS_SEND
        "recv": 10,  # SYS_RECV
        "sendto": 11,  # SYS_SENDTO
        "recvfrom": 12,  # SYS_RECVFROM
        "shutdown": 13,  # SYS_SHUTDOWN
        "setsockopt": 14,  # SYS_SETSOCKOPT
        "getsockopt": 15,  # SYS_GETSOCKOPT
        "sendmsg": 16,  # SYS_SENDMSG
        "recvmsg": 17,  # SYS_RECVMSG
        "accept4": 18,  # SYS_ACCEPT4
        "recvmmsg": 19,  # SYS_RECVMMSG
        "sendmmsg": 20,  # SYS_SENDMMSG
    }
)

# <linux/ipc.h>: the call numbers of ipc(2). ipc/syscall.c (ksys_ipc) splits its first
# argument: ``version = call >> 16; call &= 0xffff``, so a filter must compare the low 16 bits
# of args[0] (``masked_eq`` with 0xffff), not the whole word.
IPC_CALLS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "semop": 1,  # SEMOP
        "semget": 2,  # SEMGET
        "semctl": 3,  # SEMCTL
        "semtimedop": 4,  # SEMTIMEDOP
        "msgsnd": 11,  # MSGSND
        "msgrcv": 12,  # MSGRCV
        "msgget": 13,  # MSGGET
        "msgctl": 14,  # MSGCTL
        "shmat": 21,  # SHMAT
        "shmdt": 22,  # SHMDT
        "shmget": 23,  # SHMGET
        "shmctl": 24,  # SHMCTL
    }
)

IPC_CALL_MASK: Final = 0xFFFF
"""The bits of ``ipc(2)``'s first argument that select the call (``ipc/syscall.c``)."""

EMPTY: Final[Mapping[str, int]] = MappingProxyType({})
