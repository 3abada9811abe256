"""Named constants that policies compare arguments with: ``EPERM``, ``AF_INET``, ``O_RDONLY``...

:func:`resolve_constant` gives the value the *kernel* uses, for one architecture or for the
``asm-generic`` ABI (``arch=None``), which x86, arm64, RISC-V, LoongArch and most others share.
Where an architecture numbers a constant differently, its own value is used:

- errno: MIPS, PA-RISC, Alpha and SPARC have their own tables (``ENOSYS`` is 89, 251, 78 and
  90 there), PowerPC its own ``EDEADLOCK``. ``errno(ENOSYS)`` compiled for MIPS returns 89.
- signals: MIPS, PA-RISC, Alpha and SPARC number many signals differently.
- ``O_*``/``F_*``: Alpha, ARM/AArch64, m68k, MIPS, PA-RISC, PowerPC and SPARC differ in part.
- ``PROT_*``/``MAP_*``/``MADV_*``: Alpha, MIPS, PA-RISC, PowerPC, SPARC and Xtensa differ.
- ioctl requests: most architectures outside the generic set encode them differently.
  A request defined through ``sizeof`` of a structure the tables do not size (``TCGETS`` on
  PowerPC is ``_IOR('t', 19, struct termios)``) is unknown there: ``None``, never a guess.
  Xtensa's own ``ioctls.h`` and ``mman.h`` are not in the tables: those names are ``None``
  on Xtensa.
- ``SOCK_*``: MIPS swaps ``SOCK_STREAM`` (2) and ``SOCK_DGRAM`` (1)
  (``arch/mips/include/asm/socket.h``); ``SOCK_NONBLOCK`` is ``O_NONBLOCK`` except on Alpha
  and PA-RISC, where it is ``0x40000000`` (``arch/{alpha,parisc}/include/asm/socket.h``);
  ``SOCK_CLOEXEC`` is ``O_CLOEXEC`` everywhere (``include/linux/net.h``).

Sources: the generated :mod:`seccomp_bpf.arch.constant_tables` (UAPI headers of Linux 6.1,
see its docstring: errno, signal, fcntl/AT_*, mman, ioctl, sched/CLONE_*, prctl PR_*,
socketcall SYS_*, ipc, IPPROTO_*, personality PER_*), and below: address families (``AF_*``
and ``PF_*``, from ``include/linux/socket.h``, which is not exported to user space), socket
types and flags, the ``AUDIT_ARCH_*`` values of :mod:`seccomp_bpf.arch.audit`, the flags of
``shmat`` (``SHM_EXEC``...) and ``USERFAULTFD_IOC_NEW`` (derived per architecture below).

Values are the kernel's, not the C library's: ``O_LARGEFILE`` is the kernel's bit even where
glibc defines it as 0, and ``SIGRTMIN``/``SIGRTMAX`` are left out because glibc reserves the
first real-time signals for itself. ``PR_*`` options newer than Linux 6.1 are not included.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Final

from seccomp_bpf.arch.architecture import Arch
from seccomp_bpf.arch.audit import AUDIT_ARCH

# include/linux/socket.h (kernel-internal; user space gets the same numbers from its C library,
# e.g. glibc's bits/socket.h PF_*). AF_MAX is left out: it grows with every new family.
ADDRESS_FAMILIES: Final[dict[str, int]] = {
    "AF_UNSPEC": 0, "AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4,
    "AF_APPLETALK": 5, "AF_NETROM": 6, "AF_BRIDGE": 7, "AF_ATMPVC": 8, "AF_X25": 9,
    "AF_INET6": 10, "AF_ROSE": 11, "AF_DECnet": 12, "AF_NETBEUI": 13, "AF_SECURITY": 14,
    "AF_KEY": 15, "AF_NETLINK": 16, "AF_ROUTE": 16, "AF_PACKET": 17, "AF_ASH": 18,
    "AF_ECONET": 19, "AF_ATMSVC": 20, "AF_RDS": 21, "AF_SNA": 22, "AF_IRDA": 23,
    "AF_PPPOX": 24, "AF_WANPIPE": 25, "AF_LLC": 26, "AF_IB": 27, "AF_MPLS": 28, "AF_CAN": 29,
    "AF_TIPC": 30, "AF_BLUETOOTH": 31, "AF_IUCV": 32, "AF_RXRPC": 33, "AF_ISDN": 34,
    "AF_PHONET": 35, "AF_IEEE802154": 36, "AF_CAIF": 37, "AF_ALG": 38, "AF_NFC": 39,
    "AF_VSOCK": 40, "AF_KCM": 41, "AF_QIPCRTR": 42, "AF_SMC": 43, "AF_XDP": 44, "AF_MCTP": 45,
}  # fmt: skip

# include/linux/net.h, enum sock_type.
SOCKET_TYPES: Final[dict[str, int]] = {
    "SOCK_STREAM": 1,
    "SOCK_DGRAM": 2,
    "SOCK_RAW": 3,
    "SOCK_RDM": 4,
    "SOCK_SEQPACKET": 5,
    "SOCK_DCCP": 6,
    "SOCK_PACKET": 10,
}
SOCK_TYPE_MASK: Final = 0xF
"""The bits of ``socket(2)``'s type argument that hold the type; the rest are flags."""

_MIPS_SOCKET_TYPES: Final = {"SOCK_DGRAM": 1, "SOCK_STREAM": 2}
_SOCK_NONBLOCK_OWN: Final = 0x40000000
_ARCHES_WITH_OWN_SOCK_NONBLOCK: Final = frozenset({"alpha", "parisc", "parisc64"})

# <linux/shm.h>: the flags of shmat(2), the same on every architecture.
SHM_FLAGS: Final[dict[str, int]] = {
    "SHM_RDONLY": 0o10000,
    "SHM_RND": 0o20000,
    "SHM_REMAP": 0o40000,
    "SHM_EXEC": 0o100000,
}

# <linux/sched.h>: the namespace flags clone(2) accepts, the same on every architecture
# (CLONE_NEWTIME, 0x80, overlaps the exit signal there and exists for clone3 and unshare only).
CLONE_NAMESPACE_FLAGS: Final = (
    "CLONE_NEWNS",
    "CLONE_NEWCGROUP",
    "CLONE_NEWUTS",
    "CLONE_NEWIPC",
    "CLONE_NEWUSER",
    "CLONE_NEWPID",
    "CLONE_NEWNET",
)

# <linux/userfaultfd.h> (Linux 6.1): USERFAULTFD_IOC_NEW = _IO(USERFAULTFD_IOC, 0x00), with
# USERFAULTFD_IOC 0xAA: the request that makes a userfaultfd out of /dev/userfaultfd, which
# vm.unprivileged_userfaultfd does not govern. _IO(type, nr) = _IOC(_IOC_NONE, type, nr, 0):
# 0xAA00 where _IOC_NONE is 0 (<asm-generic/ioctl.h>; parisc too), and _IOC_NONE (1) << 29
# | 0xAA00 where the direction has three bits (arch/{alpha,mips,powerpc,sparc}/include/uapi/
# asm/ioctl.h). Xtensa's ioctl.h is not in the tables: unknown there, like its other ioctls.
_USERFAULTFD_IOC_NEW: Final = 0xAA00
_IOC_NONE_THREE_BITS: Final = 1 << 29
_THREE_BIT_IOCTL_PREFIXES: Final = ("alpha", "mips", "ppc", "sparc")

HEADERS: Final[dict[str, str]] = {
    "errno": "<asm/errno.h>",
    "signal": "<asm/signal.h>",
    "fcntl": "<linux/fcntl.h>",
    "mman": "<linux/mman.h>",
    "ioctl": "<asm/ioctls.h>",
    "sched": "<linux/sched.h>",
    "prctl": "<linux/prctl.h>",
    "socketcall": "<linux/net.h>",
    "ipc": "<linux/ipc.h>",
    "ipproto": "<linux/in.h>",
    "personality": "<linux/personality.h>",
    "socket": "include/linux/socket.h, include/linux/net.h",
    "shm": "<linux/shm.h>",
    "userfaultfd": "<linux/userfaultfd.h>",
    "audit": "<linux/audit.h>",
}
"""Where each family of constants is defined."""

# Which generated table an architecture uses, for those not compared by name. The ARC
# variants share arcv2's headers (byte order changes no constant). These use the asm-generic
# headers for every family here: their uapi/asm/Kbuild lists errno.h, fcntl.h, mman.h,
# ioctls.h and termbits.h as generic-y, and their signal.h includes <asm-generic/signal.h>.
_TABLE_OF: Final[dict[str, str | None]] = {
    "arcv2be": "arcv2",
    "arcompact": "arcv2",
    "arcompactbe": "arcv2",
    "loongarch64": None,
    "loongarch32": None,
    "csky": None,
    "hexagon": None,
    "openrisc": None,
    "nios2": None,
    "microblaze": None,
    "xtensa": None,
}
# Xtensa has its own uapi/asm/ioctls.h and mman.h, which the tables do not hold.
_UNKNOWN_FAMILIES: Final[dict[str, frozenset[str]]] = {"xtensa": frozenset({"ioctl", "mman"})}


class _ConstantSet:
    """The constants of one ABI: ``name -> value`` and ``name -> family``."""

    def __init__(self, values: dict[str, int], families: dict[str, str]) -> None:
        self.values = values
        self.families = families


def _overrides_for(arch_name: str | None) -> Mapping[str, Mapping[str, int | None]]:
    from seccomp_bpf.arch.constant_tables import CHECKED, OVERRIDES, SAME_AS

    if arch_name is None:
        return {}
    table: str | None = arch_name
    if arch_name in _TABLE_OF:
        table = _TABLE_OF[arch_name]
    elif arch_name not in CHECKED:
        raise KeyError(arch_name)
    if table is None:
        return {}
    table = SAME_AS.get(table, table)
    return OVERRIDES.get(table, {})


@functools.cache
def _constants(arch_name: str | None) -> _ConstantSet:
    # Imported here: the tables are large and most programs never resolve a constant.
    from seccomp_bpf.arch.constant_tables import GENERIC

    values: dict[str, int] = {}
    families: dict[str, str] = {}
    overrides = _overrides_for(arch_name)
    unknown = _UNKNOWN_FAMILIES.get(arch_name or "", frozenset())
    for family, generic in GENERIC.items():
        if family in unknown:
            continue
        merged: dict[str, int | None] = dict(generic)
        merged.update(overrides.get(family, {}))
        for name, value in merged.items():
            if value is not None:
                values[name] = value
                families[name] = family

    socket: dict[str, int] = dict(ADDRESS_FAMILIES)
    socket.update({"PF_" + name[3:]: value for name, value in ADDRESS_FAMILIES.items()})
    socket.update(SOCKET_TYPES)
    if arch_name is not None and arch_name.startswith("mips"):
        socket.update(_MIPS_SOCKET_TYPES)
    if "O_CLOEXEC" in values:
        socket["SOCK_CLOEXEC"] = values["O_CLOEXEC"]
    if arch_name in _ARCHES_WITH_OWN_SOCK_NONBLOCK:
        socket["SOCK_NONBLOCK"] = _SOCK_NONBLOCK_OWN
    elif "O_NONBLOCK" in values:
        socket["SOCK_NONBLOCK"] = values["O_NONBLOCK"]
    for name, value in socket.items():
        values[name] = value
        families[name] = "socket"
    for name, value in AUDIT_ARCH.items():
        values[name] = value
        families[name] = "audit"
    for name, value in SHM_FLAGS.items():
        values[name] = value
        families[name] = "shm"
    if "ioctl" not in unknown:
        request = _USERFAULTFD_IOC_NEW
        if arch_name is not None and arch_name.startswith(_THREE_BIT_IOCTL_PREFIXES):
            request |= _IOC_NONE_THREE_BITS
        values["USERFAULTFD_IOC_NEW"] = request
        families["USERFAULTFD_IOC_NEW"] = "userfaultfd"
    return _ConstantSet(values, families)


def _set_for(arch: Arch | None) -> _ConstantSet:
    return _constants(arch.name if arch is not None else None)


def resolve_constant(name: str, arch: Arch | None = None) -> int | None:
    """The value of constant ``name`` on ``arch`` (generic Linux when ``None``), or ``None``
    when the name is unknown or has no known value there. Names are case-sensitive."""
    return _set_for(arch).values.get(name)


def constant_names(arch: Arch | None = None) -> frozenset[str]:
    """Every name :func:`resolve_constant` resolves on ``arch``."""
    return frozenset(_set_for(arch).values)


def constant_family(name: str, arch: Arch | None = None) -> str | None:
    """The family of ``name`` (``errno``, ``signal``, ``fcntl``, ...; see :data:`HEADERS`)."""
    return _set_for(arch).families.get(name)


def constant_source(name: str, arch: Arch | None = None) -> str | None:
    """The header that defines ``name``, e.g. ``<asm/errno.h>``, or ``None``."""
    family = constant_family(name, arch)
    return HEADERS.get(family) if family is not None else None


# --- values written with constants -------------------------------------------------------------

_OCTAL: Final = re.compile(r"^[-+]?0[0-7_]+$")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_integer(text: str) -> int | None:
    """``42``, ``-1``, ``0x7fff``, ``0o755``, ``0b101``, ``0755`` (octal, as C and YAML 1.1
    read it); ``None`` for anything else."""
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return int(cleaned, 0)
    except ValueError:
        pass
    if _OCTAL.match(cleaned):
        return int(cleaned.replace("_", ""), 8)
    return None


def parse_value(text: str, arch: Arch | None = None) -> int:
    """An argument value as policies and ``seccomp-bpf emu`` write it: an integer (see
    :func:`parse_integer`), a constant name (``AF_INET``, with ``arch``'s value), or
    non-negative ones joined with ``|`` (``O_WRONLY|O_CREAT``). Raises ``ValueError`` naming
    what is wrong."""
    numbers: list[int] = []
    for part in text.split("|"):
        token = part.strip()
        piece = parse_integer(token)
        if piece is None and _IDENTIFIER.fullmatch(token):
            piece = resolve_constant(token, arch)
        if piece is None:
            where = f" on {arch.name}" if arch is not None else ""
            raise ValueError(f"unknown constant {token!r}{where}")
        numbers.append(piece)
    if len(numbers) == 1:
        return numbers[0]
    if any(n < 0 for n in numbers):
        raise ValueError("only non-negative values can be joined with '|'")
    result = 0
    for number in numbers:
        result |= number
    return result
