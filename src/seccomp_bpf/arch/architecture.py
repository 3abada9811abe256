"""One ABI a seccomp filter can see: :class:`Arch`, and its lazily loaded syscall table.

System call numbers come from the ``system-calls`` package (``system_calls.tables.<name>``,
one ``dict`` per architecture, generated from the kernel's ``syscall.tbl`` files). This module
was checked against ``system-calls`` 7.2 (the tables of Linux 7.2.0): ``tests/arch`` compares
every number with the UAPI ``unistd`` headers of Linux 6.1 and with libseccomp 2.5.4, and
found no number that differs (only calls added or removed since). The numbers are already in
the form ``seccomp_data.nr`` shows: x32 numbers include ``__X32_SYSCALL_BIT`` and MIPS numbers
include their ABI's base (4000 o32, 5000 n64, 6000 n32).

Calls the kernel's tables no longer list (``uselib``, ``_sysctl``, ``tuxcall``...) are added
to each table from :mod:`seccomp_bpf.arch.retired`, with the numbers they had there.
"""

from __future__ import annotations

import importlib
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

ByteOrder = Literal["little", "big"]


class SyscallTable(Mapping[str, int]):
    """``name -> number`` for one ABI, read from ``system_calls.tables.<source>`` on first use.

    Importing a table costs about a millisecond, so an :class:`Arch` is cheap to create and
    only the tables a program asks for are ever loaded. Loading twice (two threads racing) is
    harmless: both build the same dictionaries.

    When a number has two names (Alpha's ``getxpid`` is also listed as ``getpid``),
    ``preferred_names`` says which one :meth:`name_of` gives: the kernel table's.
    ``retired`` adds calls the kernel's table no longer lists; a current name keeps its
    number's name.
    """

    __slots__ = ("_by_name", "_by_number", "_preferred", "_retired", "source")

    def __init__(
        self,
        source: str,
        preferred_names: Mapping[int, str] | None = None,
        retired: Mapping[str, int] | None = None,
    ) -> None:
        self.source = source
        self._preferred = dict(preferred_names or {})
        self._retired = dict(retired or {})
        self._by_name: dict[str, int] | None = None
        self._by_number: dict[int, str] | None = None

    def _load(self) -> dict[str, int]:
        module = importlib.import_module(f"system_calls.tables.{self.source}")
        table: dict[str, int] = dict(getattr(module, f"syscalls_{self.source}"))
        by_number: dict[int, str] = {}
        for name, number in sorted(table.items()):
            by_number.setdefault(number, name)
        for name, number in self._retired.items():
            table.setdefault(name, number)
            by_number.setdefault(number, name)
        by_number.update(self._preferred)
        self._by_number = by_number
        self._by_name = table
        return table

    @property
    def by_name(self) -> dict[str, int]:
        table = self._by_name
        return table if table is not None else self._load()

    @property
    def by_number(self) -> dict[int, str]:
        if self._by_number is None:
            self._load()
        assert self._by_number is not None
        return self._by_number

    def __getitem__(self, name: str) -> int:
        return self.by_name[name]

    # Direct versions of the Mapping methods: the generic ones go through __getitem__ and
    # dominate name resolution in the compiler otherwise.
    def get(self, name: str, default: int | None = None) -> int | None:  # type: ignore[override]
        return self.by_name.get(name, default)

    def values(self) -> ValuesView[int]:
        return self.by_name.values()

    def items(self) -> ItemsView[str, int]:
        return self.by_name.items()

    def keys(self) -> KeysView[str]:
        return self.by_name.keys()

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_name)

    def __len__(self) -> int:
        return len(self.by_name)

    def name_of(self, number: int) -> str | None:
        """The name of ``number`` in this table, or ``None``."""
        return self.by_number.get(number)

    def __repr__(self) -> str:
        return f"SyscallTable({self.source!r})"


def _no_calls() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, repr=False)
class Arch:
    """An ABI as seccomp sees it: the ``seccomp_data.arch`` value and the meaning of ``nr``.

    Two arches may share an ``audit_arch`` (x86-64 and x32 do); then ``syscall_nr_mask_bit``
    of the second tells its numbers apart. Equality and hashing use the descriptive fields,
    not the tables, so arches can be dictionary keys.
    """

    name: str
    """Canonical name: libseccomp's (``x86_64``, ``aarch64``, ``mipsel64n32``) except ``i386``,
    which libseccomp calls ``x86``."""
    audit_arch: int
    """``AUDIT_ARCH_*`` from <linux/audit.h>: what ``seccomp_data.arch`` holds."""
    bits: int
    """Word size of the ABI: 64 or 32 (x32 and MIPS n32 are 32-bit ABIs on 64-bit kernels)."""
    byteorder: ByteOrder
    """Byte order of ``seccomp_data``'s 64-bit fields: which half of ``args[i]`` comes first."""
    syscalls: Mapping[str, int] = field(compare=False, repr=False)
    """``name -> number`` exactly as ``seccomp_data.nr`` shows it."""
    aliases: tuple[str, ...] = ()
    """Other names accepted by :func:`~seccomp_bpf.arch.get_arch` (case-insensitively)."""
    syscall_nr_mask_bit: int = 0
    """A bit set in every number of this ABI, telling it apart from an ABI with the same
    ``audit_arch``: ``__X32_SYSCALL_BIT`` (0x40000000) for x32, else 0."""
    socketcall: Mapping[str, int] = field(default_factory=_no_calls, compare=False, repr=False)
    """``direct syscall name -> SYS_* call number`` of ``socketcall(2)``; empty without it."""
    ipc: Mapping[str, int] = field(default_factory=_no_calls, compare=False, repr=False)
    """``direct syscall name -> call number`` of ``ipc(2)`` (compare ``args[0] & 0xffff``)."""
    compat: tuple[str, ...] = ()
    """Other ABIs whose system calls reach a process on a kernel built for this ABI (for
    x32 and MIPS n32, which have no kernel of their own: the 64-bit kernel they run on)."""
    audit_arch_macro: str = ""
    """The <linux/audit.h> macro of ``audit_arch``, e.g. ``AUDIT_ARCH_SHEL`` for ``sh``."""
    libseccomp_name: str | None = None
    """libseccomp's name (``x86`` for i386), or ``None`` when libseccomp lacks the ABI."""
    syscall_nr_base: int = 0
    """First number of this ABI's range when the kernel picks the table by number range
    (MIPS: 4000 o32, 5000 n64, 6000 n32), else 0."""


    @property
    def argument_bits(self) -> int:
        """How many bits of each argument register reach a system call of this ABI.

        64 when ``audit_arch`` carries ``__AUDIT_ARCH_64BIT`` (<linux/audit.h>; x32 and MIPS
        n32 do: their registers are 64-bit), else 32. seccomp always sees whole registers
        (``syscall_get_arguments``), so a 64-bit process making calls of a 32-bit ABI (``int
        0x80`` on x86-64, o32 numbers on MIPS64) can put anything in the upper halves, which
        the call itself ignores (its compat entry points take ``u32`` values).
        """
        return 64 if self.audit_arch & 0x80000000 else 32
    def syscall_number(self, name: str) -> int | None:
        """The number of system call ``name`` on this ABI, or ``None`` when it has none."""
        return self.syscalls.get(name)

    def syscall_name(self, nr: int) -> str | None:
        """The name of system call number ``nr`` on this ABI, or ``None``."""
        table = self.syscalls
        if isinstance(table, SyscallTable):
            return table.name_of(nr)
        for name, number in table.items():
            if number == nr:
                return name
        return None

    def is_known(self, nr: int) -> bool:
        """Whether ``nr`` is a system call number of this ABI."""
        return self.syscall_name(nr) is not None

    @property
    def scmp_token(self) -> str:
        """libseccomp's and Docker's token: ``SCMP_ARCH_X86_64``, ``SCMP_ARCH_X86``..."""
        return "SCMP_ARCH_" + (self.libseccomp_name or self.name).upper()

    @property
    def symbol(self) -> str:
        """The token the disassembler prints for ``audit_arch``: ``ARCH_X86_64``."""
        return "ARCH_" + self.name.upper().replace("-", "_").replace(".", "_")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return (
            f"Arch(name={self.name!r}, audit_arch={self.audit_arch:#010x}, bits={self.bits}, "
            f"byteorder={self.byteorder!r})"
        )
