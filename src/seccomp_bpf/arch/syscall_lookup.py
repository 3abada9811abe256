"""Look system calls up by name or number on several architectures (``seccomp-bpf syscalls``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seccomp_bpf.arch.architecture import Arch
from seccomp_bpf.arch.registry import known_syscall_names
from seccomp_bpf.errors import UnknownSyscallError


@dataclass(frozen=True)
class SyscallMatch:
    """One query on one architecture: ``name`` and ``number`` are ``None`` where it has none."""

    query: str
    arch: Arch
    name: str | None
    number: int | None

    @property
    def found(self) -> bool:
        return self.name is not None and self.number is not None


def format_number(arch: Arch, number: int) -> str:
    """Decimal, or hexadecimal when the number carries the arch's mask bit (x32)."""
    if arch.syscall_nr_mask_bit and number & arch.syscall_nr_mask_bit:
        return f"{number:#x}"
    return str(number)


def table_lines(arch: Arch) -> list[str]:
    """``NR NAME`` for every system call of ``arch``, by number (then name)."""
    return [
        f"{format_number(arch, number)} {name}"
        for name, number in sorted(arch.syscalls.items(), key=lambda item: (item[1], item[0]))
    ]


def parse_number(text: str) -> int | None:
    """``text`` as a system call number (decimal or ``0x`` hexadecimal), else ``None``."""
    try:
        value = int(text, 0)
    except ValueError:
        return None
    return value if value >= 0 else None


def check_names(queries: Iterable[str]) -> None:
    """Raise :class:`~seccomp_bpf.errors.UnknownSyscallError` for the first query that is
    neither a number nor the name of a system call on any architecture."""
    known = known_syscall_names()
    for query in queries:
        if parse_number(query) is None and query not in known:
            close = difflib.get_close_matches(query, sorted(known), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise UnknownSyscallError(f"unknown system call {query!r}{hint}")


def lookup(queries: Sequence[str], arches: Sequence[Arch]) -> list[SyscallMatch]:
    """Each query (a name or a number) resolved on each arch, queries first."""
    check_names(queries)
    matches: list[SyscallMatch] = []
    for query in queries:
        number = parse_number(query)
        for arch in arches:
            if number is None:
                matches.append(SyscallMatch(query, arch, query, arch.syscall_number(query)))
            else:
                matches.append(SyscallMatch(query, arch, arch.syscall_name(number), number))
    return matches


def match_lines(matches: Sequence[SyscallMatch]) -> list[str]:
    """``ARCH NR NAME`` per match, aligned; ``ARCH QUERY: not on this arch`` when missing."""
    width = max((len(match.arch.name) for match in matches), default=0)
    lines = []
    for match in matches:
        arch = match.arch.name.ljust(width)
        if match.found:
            assert match.number is not None
            lines.append(f"{arch} {format_number(match.arch, match.number)} {match.name}")
        else:
            lines.append(f"{arch} {match.query}: not on this arch")
    return lines
