"""Read what ``strace`` wrote into a :class:`~.trace.SyscallTrace` (``profile --from-strace``).

Two kinds of output, in any mix, from a file or ``strace``'s standard error:

- **The table** of ``strace -c`` (or ``-C``, ``-w``, ``-U``...): its columns are found by the
  line of dashes under the header, the call's name in the ``syscall`` column and its count
  in ``calls``. With several personalities, strace prints one table each, every one after
  the first headed ``System call usage summary for 32 bit mode:`` (or ``x32``, ``64 bit``):
  the first is the tracer's own personality (this machine's ABI), ``32 bit`` its compat ABI
  (i386 on x86-64, arm on aarch64...), ``x32`` x32. The ``total`` line is not a call.
- **Call lines** of ``strace`` and ``strace -f``: ``openat(AT_FDCWD, ...) = 3``, with a
  ``[pid N]`` prefix (``-f`` to a terminal or pipe) or ``N`` (``-f -o FILE``), time stamps
  (``-t``, ``-tt``, ``-ttt``, ``-r``), instruction pointers (``-i``) and numbers (``-n``)
  passed over. A call that strace cut in two (``<unfinished ...>``, then ``<... NAME
  resumed>``) counts once; signals, exits and strace's own messages are not calls. A process
  runs in its parent's ABI until ``[ Process PID=N runs in 32 bit mode. ]``, which strace
  writes when a process changes ABI. strace writes it to its standard error, so not into an
  ``-o`` file: in output without such lines, a process runs in this machine's ABI after each
  ``execve`` (the call that changes a process's ABI) until it makes a call only the compat
  ABI has (``mmap2``, ``set_thread_area``...), and then is taken to have run in the compat
  ABI since that ``execve``. x32 calls carry x86-64's names: only strace's line tells them
  apart.

When a file holds a table, the table's counts are used (``-C`` prints the calls and their
table: they would count twice). A name strace prints that the ABI's table does not have is
left out and reported; ``syscall_0x1c8`` (strace's name for a number it does not know) is
the number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from seccomp_bpf.arch import Arch, get_arch, native_arch
from seccomp_bpf.errors import RecordError
from seccomp_bpf.profiling.trace import SyscallKey, SyscallTrace

_PERSONALITY: Final = re.compile(r"\[ Process PID=(\d+) runs in (64 bit|32 bit|x32) mode\. \]")
_SUMMARY: Final = re.compile(r"^System call usage summary for (64 bit|32 bit|x32) mode:")
_DASHES: Final = re.compile(r"^[-\s]*-{3,}[-\s]*$")
_CALL: Final = re.compile(
    r"^(?:\[pid\s+(?P<pid>\d+)\]\s+|(?P<bare_pid>\d+)\s+)?"  # -f: [pid N] or N (with -o)
    r"(?:\d+(?::\d\d)+(?:\.\d+)?\s+|\+?\d+\.\d+\s+)?"  # -t, -tt, -ttt, -r
    r"(?:\[\s*[0-9a-fx?]+\]\s+)*"  # -i, -n
    r"(?P<name>[a-z_][a-z0-9_]*)\("
)
_UNKNOWN_NUMBER: Final = re.compile(r"^syscall_(0x[0-9a-f]+|\d+)$")


def _abi_of_mode(mode: str) -> Arch:
    """The ABI strace names ``64 bit``, ``32 bit`` or ``x32`` on this machine."""
    native = native_arch()
    if mode == "x32":
        return get_arch("x32")
    if mode == "64 bit" or native.bits == 32:
        return native
    compat = [get_arch(name) for name in native.compat]
    return next((arch for arch in compat if arch.bits == 32 and arch.name != "x32"), native)


@dataclass
class StraceReading:
    """What was read: counts per ABI, the names left out, the processes seen."""

    counts: dict[str, dict[SyscallKey, int]] = field(default_factory=dict)
    left_out: dict[str, set[str]] = field(default_factory=dict)
    processes: int = 0
    tables: int = 0

    def add(self, arch: Arch, name: str, count: int) -> None:
        number = _UNKNOWN_NUMBER.match(name)
        key: SyscallKey
        if number is not None:
            key = int(number.group(1), 0)
        elif arch.syscall_number(name) is not None:
            key = name
        else:
            self.left_out.setdefault(arch.name, set()).add(name)
            return
        calls = self.counts.setdefault(arch.name, {})
        calls[key] = calls.get(key, 0) + count


@dataclass
class _Process:
    arch: Arch
    since_exec: list[int] = field(default_factory=list)  # indices into _CallLines.calls


class _CallLines:
    """The call lines, process by process, each call with the ABI it was made in."""

    def __init__(self, announced: bool) -> None:
        # announced: strace's lines say when a process changes ABI (else: guessed by name).
        self.announced = announced
        self.native = native_arch()
        self.compat = _abi_of_mode("32 bit")
        self.processes: dict[int, _Process] = {}
        self.calls: list[tuple[str, Arch]] = []

    def process(self, pid: int) -> _Process:
        if pid not in self.processes:
            self.processes[pid] = _Process(self.native)
        return self.processes[pid]

    def personality(self, pid: int, mode: str) -> None:
        self.process(pid).arch = _abi_of_mode(mode)

    def call(self, pid: int, name: str) -> None:
        process = self.process(pid)
        if name in ("execve", "execveat"):
            # Made in the old image's ABI; what follows may be another's.
            self.calls.append((name, process.arch))
            process.since_exec = []
            if not self.announced:
                process.arch = self.native  # until a call says otherwise
            return
        if (
            not self.announced
            and process.arch == self.native
            and self.compat != self.native
            and self.native.syscall_number(name) is None
            and self.compat.syscall_number(name) is not None
        ):
            # Only the compat ABI has this call: the process has run in it since its exec.
            process.arch = self.compat
            for index in process.since_exec:
                self.calls[index] = (self.calls[index][0], self.compat)
        process.since_exec.append(len(self.calls))
        self.calls.append((name, process.arch))

    def count(self, reading: StraceReading) -> None:
        for name, arch in self.calls:
            reading.add(arch, name, 1)
        # Before its first fork, strace writes the first process's lines without a pid (0).
        reading.processes = len(self.processes) - (0 in self.processes and len(self.processes) > 1)


def read_strace(lines: Iterable[str], source: str = "<strace>") -> StraceReading:
    """The calls of ``lines`` (see the module docstring); raises :class:`RecordError` when
    they hold neither a table nor a call line."""
    lines = list(lines)
    reading = StraceReading()
    lines_of_calls = _CallLines(any(_PERSONALITY.search(line) for line in lines))
    table_arch: Arch = native_arch()
    columns: list[tuple[int, int]] | None = None
    header = ""
    in_table = False
    previous = ""
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        summary = _SUMMARY.match(line)
        if summary is not None:
            table_arch = _abi_of_mode(summary.group(1))
            continue
        if _DASHES.match(line) and line.strip():
            if not in_table and ("calls" in previous and "syscall" in previous):
                columns = [m.span() for m in re.finditer(r"-+", line)]
                header = previous
                in_table = True
                reading.tables += 1
            elif in_table:
                in_table = False  # the line above "total"
                table_arch = native_arch()
            previous = line
            continue
        if in_table and columns is not None:
            cells = _cells(line, columns)
            names = _cells(header, columns)
            try:
                name = cells[names.index("syscall")]
                count = int(cells[names.index("calls")])
            except (ValueError, IndexError):
                raise RecordError(
                    f"a row of strace's table without a call and its count: {line.strip()!r}",
                    source=source,
                    line=number,
                ) from None
            reading.add(table_arch, name, count)
            previous = line
            continue
        previous = line
        personality = _PERSONALITY.search(line)
        if personality is not None:
            lines_of_calls.personality(int(personality.group(1)), personality.group(2))
            continue
        call = _CALL.match(line)
        if call is not None:
            pid = int(call.group("pid") or call.group("bare_pid") or 0)
            lines_of_calls.call(pid, call.group("name"))
    if not reading.tables:
        lines_of_calls.count(reading)
    if not reading.tables and not lines_of_calls.calls:
        raise RecordError(
            "neither a table of strace -c nor a call line of strace: nothing to profile",
            source=source,
        )
    return reading


def _cells(line: str, columns: list[tuple[int, int]]) -> list[str]:
    """The line cut at the columns of the line of dashes (the last runs to its end; a cell
    reaches back to the end of the column before it, since strace right-aligns numbers)."""
    cells = []
    start = 0
    for index, (_, end) in enumerate(columns):
        stop = len(line) if index == len(columns) - 1 else end
        cells.append(line[start:stop].strip())
        start = stop
    return cells


def strace_trace(reading: StraceReading, source: str) -> SyscallTrace:
    """The reading as a trace (mode ``strace``, the file as its command)."""
    return SyscallTrace(
        counts=reading.counts,
        command=(source,),
        mode="strace",
        processes=reading.processes,
    )
