"""Every ABI a seccomp filter can meet, and how to find one by name, value or number.

The set is libseccomp's (``x86_64 i386 x32 aarch64 arm riscv64 loongarch64 ppc ppc64 ppc64le
s390 s390x mips mipsel mips64 mipsel64 mips64n32 mipsel64n32 parisc parisc64 m68k sh sheb``)
plus every other ABI that Linux still supports, that ``system-calls`` has a table for, and that
has an ``AUDIT_ARCH_*`` value of its own: ``armeb riscv32 loongarch32 alpha sparc sparc64
arcompact arcompactbe arcv2 arcv2be csky hexagon openrisc nios2 microblaze xtensa``.

Left out on purpose:

- ARM OABI (``armoabi`` in ``system-calls``): its calls arrive as ``AUDIT_ARCH_ARM`` with the
  EABI numbers' low bits once the kernel strips the ``0x900000`` base, so a filter cannot tell
  them apart from EABI calls.
- Removed ports (ia64, sh64, tile, cris, frv, ...): no current kernel runs their filters.
- A second byte order for microblaze and xtensa: ``AUDIT_ARCH_MICROBLAZE`` and
  ``AUDIT_ARCH_XTENSA`` carry no ``__AUDIT_ARCH_LE`` flag although both CPUs come in either
  order, so a filter cannot tell the two apart either. ``microblaze`` is taken as big-endian
  (GCC's ``microblaze`` target; ``microblazeel`` is the other) and ``xtensa`` as little-endian
  (as common cores are, ESP32's for one; big-endian cores exist). The byte order only matters
  for argument comparisons.

Where the architecture is decided:

- x86: ``AUDIT_ARCH_I386`` for ``int 0x80``/``sysenter`` (``in_ia32_syscall()``), else
  ``AUDIT_ARCH_X86_64``, where bit 30 of ``nr`` marks x32 (``__X32_SYSCALL_BIT``,
  ``arch/x86/include/uapi/asm/unistd.h``).
- MIPS: the value follows the *task* (``arch/mips/include/asm/syscall.h``: o32 tasks report
  ``AUDIT_ARCH_MIPS[EL]``, n64 ``..64``, n32 ``..64N32``), but the *number range* picks the
  table: ``handle_sys`` in ``arch/mips/kernel/scall64-o32.S`` passes any number outside
  4000..4999 on to the n32 and then the n64 handlers. So under ``AUDIT_ARCH_MIPS64`` a number
  in 4000..4999 is an o32 call. :func:`arch_for_syscall` follows the audit value (the task's
  ABI); :func:`dispatched_arch` follows the number.
- Everywhere else the value is fixed per task (compat tasks report the 32-bit value:
  ``arch/{arm64,powerpc,s390,parisc,sparc}/include/asm/syscall.h``). One exception: RISC-V
  reports ``AUDIT_ARCH_RISCV64`` for 32-bit compat tasks too (``syscall_get_arch()`` looks at
  ``CONFIG_64BIT`` only), so rv32 calls on an rv64 kernel cannot be told apart by a filter.
"""

from __future__ import annotations

import functools
import os
from typing import Final

from seccomp_bpf.arch import retired
from seccomp_bpf.arch.architecture import Arch, ByteOrder, SyscallTable
from seccomp_bpf.arch.audit import AUDIT_ARCH
from seccomp_bpf.arch.machine import abi_name, native_abi_name
from seccomp_bpf.arch.multiplexers import EMPTY, IPC_CALLS, SOCKETCALL_CALLS
from seccomp_bpf.errors import UnknownArchError

X32_SYSCALL_BIT: Final = 0x40000000
"""``__X32_SYSCALL_BIT`` (``arch/x86/include/uapi/asm/unistd.h``)."""

SKIPPED_SYSCALL: Final = 0xFFFFFFFF
"""System call -1 as ``seccomp_data.nr`` shows it: the number a tracer sets at syscall-entry
stop to skip the call (``ptrace(2)``; ``strace -e inject``). Since Linux 4.8 seccomp runs after
the tracer (``syscall_trace_enter`` in ``kernel/entry/common.c``), so a filter sees it. It is
no call of any ABI and no x32 call although bit 30 is set: it belongs to the task's own ABI
of its ``AUDIT_ARCH`` value (x86-64 for ``AUDIT_ARCH_X86_64``), whose rules and default
action decide it, as libseccomp's filters do (``_gen_bpf_arch`` lets -1 past the x32 check)."""

# Tables with socketcall(2) and ipc(2); tests/arch checks these against the tables themselves,
# so that the maps exist exactly where the calls do. One exception: microblaze lists ipc (117)
# but wires it to sys_ni_syscall (arch/microblaze/kernel/syscalls/syscall.tbl), so ipc(2)
# there only ever fails with ENOSYS and has nothing to mirror.
_SOCKETCALL_TABLES: Final = frozenset(
    {"i386", "m68k", "microblaze", "mipso32", "powerpc", "powerpc64", "s390", "s390x", "sh",
     "sparc", "sparc64"}
)  # fmt: skip
_IPC_TABLES: Final = _SOCKETCALL_TABLES - {"microblaze"}

# Numbers with two names in system-calls, and the name the kernel's own table uses
# (arch/alpha/kernel/syscalls/syscall.tbl: 20 getxpid, 22 umount2, 24 getxuid, 47 getxgid,
# 209 shmat); the other name stays accepted.
_PREFERRED_NAMES: Final[dict[str, dict[int, str]]] = {
    "alpha": {20: "getxpid", 22: "umount2", 24: "getxuid", 47: "getxgid", 209: "shmat"},
}

_TABLES: dict[str, SyscallTable] = {}


def _table(source: str) -> SyscallTable:
    if source not in _TABLES:
        _TABLES[source] = SyscallTable(
            source, _PREFERRED_NAMES.get(source), retired.RETIRED_SYSCALLS.get(source)
        )
    return _TABLES[source]


def _define(
    name: str,
    macro: str,
    bits: int,
    byteorder: ByteOrder,
    table: str,
    *,
    aliases: tuple[str, ...] = (),
    compat: tuple[str, ...] = (),
    libseccomp: bool | str = True,
    mask_bit: int = 0,
    nr_base: int = 0,
) -> Arch:
    if isinstance(libseccomp, str):
        libseccomp_name: str | None = libseccomp
    else:
        libseccomp_name = name if libseccomp else None
    return Arch(
        name=name,
        audit_arch=AUDIT_ARCH[macro],
        bits=bits,
        byteorder=byteorder,
        syscalls=_table(table),
        aliases=aliases,
        syscall_nr_mask_bit=mask_bit,
        socketcall=SOCKETCALL_CALLS if table in _SOCKETCALL_TABLES else EMPTY,
        ipc=IPC_CALLS if table in _IPC_TABLES else EMPTY,
        compat=compat,
        audit_arch_macro=macro,
        libseccomp_name=libseccomp_name,
        syscall_nr_base=nr_base,
    )


# compat: sources are each architecture's syscall_get_arch() and its compat Kconfig:
# x86 IA32_EMULATION and X86_X32_ABI; arm64 COMPAT (AArch32); powerpc COMPAT (selectable on
# little-endian too, where 32-bit tasks still report AUDIT_ARCH_PPC); s390 COMPAT (removed from
# the kernel in late 2025, "s390: Remove compat support", still present on older kernels);
# MIPS MIPS32_O32 and MIPS32_N32; parisc and sparc COMPAT. RISC-V's COMPAT is not listed: its
# tasks report AUDIT_ARCH_RISCV64 (see the module docstring).
_ARCHES: Final[tuple[Arch, ...]] = (
    _define(
        "x86_64", "AUDIT_ARCH_X86_64", 64, "little", "x86_64",
        aliases=("amd64", "x86-64", "x64"), compat=("i386", "x32"),
    ),
    _define(
        "i386", "AUDIT_ARCH_I386", 32, "little", "i386",
        aliases=("x86", "i686", "i586", "i486", "ia32"), libseccomp="x86",
    ),
    _define(
        "x32", "AUDIT_ARCH_X86_64", 32, "little", "x32",
        compat=("x86_64", "i386"), mask_bit=X32_SYSCALL_BIT,
    ),
    _define(
        "aarch64", "AUDIT_ARCH_AARCH64", 64, "little", "arm64",
        aliases=("arm64",), compat=("arm",),
    ),
    _define("arm", "AUDIT_ARCH_ARM", 32, "little", "arm", aliases=("armel", "armhf", "armv7l")),
    _define("armeb", "AUDIT_ARCH_ARMEB", 32, "big", "arm", libseccomp=False),
    _define("riscv64", "AUDIT_ARCH_RISCV64", 64, "little", "riscv64", aliases=("rv64",)),
    _define(
        "riscv32", "AUDIT_ARCH_RISCV32", 32, "little", "riscv32",
        aliases=("rv32",), libseccomp=False,
    ),
    _define(
        "loongarch64", "AUDIT_ARCH_LOONGARCH64", 64, "little", "loongarch64",
        aliases=("loong64",),
    ),
    _define(
        "loongarch32", "AUDIT_ARCH_LOONGARCH32", 32, "little", "loongarch32", libseccomp=False,
    ),
    _define("ppc", "AUDIT_ARCH_PPC", 32, "big", "powerpc", aliases=("powerpc",)),
    _define(
        "ppc64", "AUDIT_ARCH_PPC64", 64, "big", "powerpc64",
        aliases=("powerpc64",), compat=("ppc",),
    ),
    _define(
        "ppc64le", "AUDIT_ARCH_PPC64LE", 64, "little", "powerpc64",
        aliases=("powerpc64le", "ppc64el"), compat=("ppc",),
    ),
    _define("s390", "AUDIT_ARCH_S390", 32, "big", "s390"),
    _define("s390x", "AUDIT_ARCH_S390X", 64, "big", "s390x", compat=("s390",)),
    _define(
        "mips", "AUDIT_ARCH_MIPS", 32, "big", "mipso32", aliases=("mipso32", "mipseb"),
        nr_base=4000,
    ),
    _define("mipsel", "AUDIT_ARCH_MIPSEL", 32, "little", "mipso32", nr_base=4000),
    _define(
        "mips64", "AUDIT_ARCH_MIPS64", 64, "big", "mips64",
        aliases=("mips64n64",), compat=("mips", "mips64n32"), nr_base=5000,
    ),
    _define(
        "mipsel64", "AUDIT_ARCH_MIPSEL64", 64, "little", "mips64",
        aliases=("mips64el", "mipsel64n64"), compat=("mipsel", "mipsel64n32"), nr_base=5000,
    ),
    _define(
        "mips64n32", "AUDIT_ARCH_MIPS64N32", 32, "big", "mips64n32",
        aliases=("mipsn32",), compat=("mips64", "mips"), nr_base=6000,
    ),
    _define(
        "mipsel64n32", "AUDIT_ARCH_MIPSEL64N32", 32, "little", "mips64n32",
        aliases=("mipsn32el", "mips64eln32"), compat=("mipsel64", "mipsel"), nr_base=6000,
    ),
    _define("parisc", "AUDIT_ARCH_PARISC", 32, "big", "parisc", aliases=("hppa",)),
    _define(
        "parisc64", "AUDIT_ARCH_PARISC64", 64, "big", "parisc64",
        aliases=("hppa64",), compat=("parisc",),
    ),
    _define("m68k", "AUDIT_ARCH_M68K", 32, "big", "m68k"),
    _define("sh", "AUDIT_ARCH_SHEL", 32, "little", "sh", aliases=("sh4", "shel")),
    _define("sheb", "AUDIT_ARCH_SH", 32, "big", "sh", aliases=("sh4eb",)),
    _define("alpha", "AUDIT_ARCH_ALPHA", 64, "little", "alpha", libseccomp=False),
    _define("sparc", "AUDIT_ARCH_SPARC", 32, "big", "sparc", libseccomp=False),
    _define(
        "sparc64", "AUDIT_ARCH_SPARC64", 64, "big", "sparc64",
        compat=("sparc",), libseccomp=False,
    ),
    _define("arcv2", "AUDIT_ARCH_ARCV2", 32, "little", "arc", aliases=("arc",), libseccomp=False),
    _define(
        "arcv2be", "AUDIT_ARCH_ARCV2BE", 32, "big", "arc", aliases=("arceb",), libseccomp=False,
    ),
    _define("arcompact", "AUDIT_ARCH_ARCOMPACT", 32, "little", "arc", libseccomp=False),
    _define("arcompactbe", "AUDIT_ARCH_ARCOMPACTBE", 32, "big", "arc", libseccomp=False),
    _define("csky", "AUDIT_ARCH_CSKY", 32, "little", "csky", libseccomp=False),
    # AUDIT_ARCH_HEXAGON has no LE flag, but Hexagon is little-endian.
    _define("hexagon", "AUDIT_ARCH_HEXAGON", 32, "little", "hexagon", libseccomp=False),
    _define(
        "openrisc", "AUDIT_ARCH_OPENRISC", 32, "big", "openrisc",
        aliases=("or1k",), libseccomp=False,
    ),
    _define("nios2", "AUDIT_ARCH_NIOS2", 32, "little", "nios2", libseccomp=False),
    _define("microblaze", "AUDIT_ARCH_MICROBLAZE", 32, "big", "microblaze", libseccomp=False),
    _define("xtensa", "AUDIT_ARCH_XTENSA", 32, "little", "xtensa", libseccomp=False),
)  # fmt: skip

_BY_NAME: Final[dict[str, Arch]] = {arch.name: arch for arch in _ARCHES}

_BY_AUDIT: Final[dict[int, tuple[Arch, ...]]] = {}
for _arch in _ARCHES:
    _BY_AUDIT[_arch.audit_arch] = (*_BY_AUDIT.get(_arch.audit_arch, ()), _arch)
del _arch


def _lookup_index() -> dict[str, Arch]:
    """Every accepted spelling, lower-cased, to its arch; first definition wins on clashes."""
    index: dict[str, Arch] = {}
    for arch in _ARCHES:
        spellings = [arch.name, *arch.aliases, arch.scmp_token, arch.symbol]
        if arch.libseccomp_name:
            spellings.append(arch.libseccomp_name)
        if _BY_AUDIT[arch.audit_arch][0] is arch:
            spellings.append(arch.audit_arch_macro)
        for spelling in spellings:
            index.setdefault(spelling.lower(), arch)
    return index


_INDEX: Final[dict[str, Arch]] = _lookup_index()


def all_arches() -> tuple[Arch, ...]:
    """Every known ABI, in a fixed order."""
    return _ARCHES


def lookup_arch(name: str) -> Arch | None:
    """Like :func:`get_arch` without ``native``: ``None`` when ``name`` is not known."""
    return _INDEX.get(name.strip().lower())


def get_arch(name: str) -> Arch:
    """The ABI called ``name``: a canonical name, an alias, a libseccomp/Docker token
    (``SCMP_ARCH_X86_64``), a disassembler token (``ARCH_X86_64``), an ``AUDIT_ARCH_*`` macro
    name, or ``native`` (also ``SCMP_ARCH_NATIVE``). Case does not matter.

    Raises :class:`~seccomp_bpf.errors.UnknownArchError` naming close matches.
    """
    arch = lookup_arch(name)
    if arch is not None:
        return arch
    if name.strip().lower() in ("native", "scmp_arch_native"):
        return native_arch()
    raise UnknownArchError(_unknown_message(name))


def _unknown_message(name: str) -> str:
    import difflib  # for an error only

    close = difflib.get_close_matches(name.strip().lower(), list(_INDEX), n=6, cutoff=0.6)
    suggestions: list[str] = []
    for spelling in close:
        canonical = _INDEX[spelling].name
        if canonical not in suggestions:
            suggestions.append(canonical)
    hint = f"; did you mean {' or '.join(suggestions[:3])}?" if suggestions else ""
    valid = ", ".join(arch.name for arch in _ARCHES)
    return f"unknown architecture {name!r}{hint} (valid: native, {valid})"


def arches_by_audit(value: int) -> tuple[Arch, ...]:
    """The ABIs that report ``AUDIT_ARCH`` ``value`` (x86-64 and x32 share one), or ``()``."""
    return _BY_AUDIT.get(value, ())


# MIPS ABIs by (byte order, first number of their range); see the module docstring.
_MIPS_BY_RANGE: Final[dict[tuple[str, int], Arch]] = {
    (arch.byteorder, arch.syscall_nr_base): arch for arch in _ARCHES if arch.syscall_nr_base
}
_MIPS_RANGE_SIZE: Final = 1000


def arch_for_syscall(audit_arch: int, nr: int) -> Arch | None:
    """The ABI a ``(seccomp_data.arch, seccomp_data.nr)`` pair belongs to, by the audit value:
    ``AUDIT_ARCH_X86_64`` with bit 30 of ``nr`` set is x32, without it x86-64; every other
    value names one ABI. ``None`` when no ABI reports ``audit_arch``.

    On MIPS this is the ABI of the *task*; the kernel may still run ``nr`` from another ABI's
    table (see :func:`dispatched_arch`).
    """
    candidates = _BY_AUDIT.get(audit_arch)
    if not candidates:
        return None
    for arch in candidates:
        if arch.syscall_nr_mask_bit and nr & arch.syscall_nr_mask_bit:
            return arch
    return next((a for a in candidates if not a.syscall_nr_mask_bit), candidates[0])


def dispatched_arch(audit_arch: int, nr: int) -> Arch | None:
    """The ABI whose table the kernel runs ``nr`` from, for a call reported as ``audit_arch``.

    The same as :func:`arch_for_syscall` except on MIPS, where the number's range decides
    (4000.. o32, 5000.. n64, 6000.. n32, in the byte order of ``audit_arch``): a 64-bit MIPS
    kernel passes any number outside its entry's range on to the other ABIs' handlers
    (``arch/mips/kernel/scall64-o32.S``, ``scall64-n32.S``), while ``seccomp_data.arch``
    still names the task's ABI. A filter that only checks the audit value lets an n64 task
    make o32 calls that its o32 rules never see.

    :data:`SKIPPED_SYSCALL` (-1) is the task's own ABI's: x86-64's, not x32's.
    """
    if nr == SKIPPED_SYSCALL:
        candidates = _BY_AUDIT.get(audit_arch)
        if not candidates:
            return None
        return next((a for a in candidates if not a.syscall_nr_mask_bit), candidates[0])
    arch = arch_for_syscall(audit_arch, nr)
    if arch is None or not arch.syscall_nr_base:
        return arch
    base = nr - nr % _MIPS_RANGE_SIZE
    return _MIPS_BY_RANGE.get((arch.byteorder, base), arch)


def dispatched_arches(audit_arch: int) -> tuple[Arch, ...]:
    """Every ABI whose table a call reported as ``audit_arch`` can run, the task's own first.

    x86-64 and x32 share ``AUDIT_ARCH_X86_64``; on MIPS any task can reach the o32, n64 and n32
    tables of its byte order by number range (see :func:`dispatched_arch`).
    """
    out = list(_BY_AUDIT.get(audit_arch, ()))
    if any(arch.syscall_nr_base for arch in out):
        byteorder = out[0].byteorder
        for (order, _base), arch in sorted(_MIPS_BY_RANGE.items()):
            if order == byteorder and arch not in out:
                out.append(arch)
    return tuple(out)


def dispatch_boundaries(audit_arch: int) -> tuple[int, ...]:
    """The numbers at which ``dispatched_arch(audit_arch, nr)`` may change, in order.

    Between two consecutive boundaries every number belongs to the same ABI.
    """
    points: set[int] = set()
    if any(arch.syscall_nr_mask_bit for arch in _BY_AUDIT.get(audit_arch, ())):
        points.add(SKIPPED_SYSCALL)  # x32's range ends below it
    for arch in dispatched_arches(audit_arch):
        bit = arch.syscall_nr_mask_bit
        if bit:
            # bit 30 set: 0x40000000..0x7fffffff and 0xc0000000..0xffffffff
            points |= {bit, bit << 1, bit | (bit << 1)}
        if arch.syscall_nr_base:
            points |= {arch.syscall_nr_base, arch.syscall_nr_base + _MIPS_RANGE_SIZE}
    return tuple(sorted(points))


RETIRED_SYSCALL_NAMES: Final = retired.RETIRED_SYSCALL_NAMES
"""Calls no current kernel table lists, which the tables keep (:mod:`.retired`)."""


@functools.cache
def known_syscall_names() -> frozenset[str]:
    """Every system call name of any known ABI (to tell a typo from a call of another arch)."""
    names: set[str] = set()
    for arch in _ARCHES:
        names.update(arch.syscalls)
    return frozenset(names)


# -- the ABI of this process ------------------------------------------------------------------


def arch_for_machine(machine: str, byteorder: str, pointer_bits: int, multiarch: str = "") -> Arch:
    """The ABI of a process, from ``uname -m``, its byte order, pointer size and multiarch
    tuple (:func:`seccomp_bpf.arch.machine.abi_name` says how)."""
    name = abi_name(machine, byteorder, pointer_bits, multiarch)
    if name is None:
        raise UnknownArchError(f"unsupported machine {machine!r} (from uname)")
    return _BY_NAME[name]


@functools.cache
def native_arch() -> Arch:
    """The ABI of this Python process."""
    name = native_abi_name()
    if name is None:
        raise UnknownArchError(f"unsupported machine {os.uname().machine!r} (from uname)")
    return _BY_NAME[name]
