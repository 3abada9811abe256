"""Benchmark: what each layer of ``seccomp-bpf run``'s sandbox costs, in one run.

Run from the repository root::

    python -m benchmarks.sandbox [--repeat N] [--json]

Two commands run under ``seccomp-bpf run``, each with the layers added one at a time in the
order they are applied (every row is the one above it plus one layer; the last is the
default), and alone for reference:

- ``true``: the cost of starting a sandbox, which is what a short command pays;
- a system-call-heavy command: a small C program (built at start; Python without a C
  compiler) making 250,000 rounds of ``open``, ``read`` and ``close`` of a file (which
  Landlock checks at each open) and ``getppid``: a million system calls.

The wall-clock median of ``--repeat`` runs is shown (taken round robin over every cell, so
that the machine's load weighs on all alike), and each row's cost over the row above.
``seccomp-bpf run`` is a Python program: the interpreter's own start-up with the package
imported (the first reference row) is most of what ``run -- true`` takes, and is the same for
every row. This is a benchmark, not a test: it reports, it never fails. Run it as root (the
sandbox is the same as a user's, with a user namespace then).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
PYTHON: Final = sys.executable

HEAVY_C: Final = r"""
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
    char buffer[256];
    for (int i = 0; i < 250000; i++) {
        int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return 1;
        if (read(fd, buffer, sizeof buffer) < 0)
            return 1;
        close(fd);
        getppid();
    }
    return 0;
}
"""

HEAVY_CALLS: Final = 1_000_000

HEAVY_PYTHON: Final = """\
import os
for _ in range(250000):
    fd = os.open("/etc/hostname", os.O_RDONLY | os.O_CLOEXEC)
    os.read(fd, 256)
    os.close(fd)
    os.getppid()
"""


@dataclass(frozen=True)
class Configuration:
    name: str
    what: str
    options: tuple[str, ...] | None
    """The options of ``seccomp-bpf run``; None: the command alone."""


# Every row adds one layer to the row above, in the order the sandbox applies them.
CONFIGURATIONS: Final = (
    Configuration("alone", "the command alone, no seccomp-bpf", None),
    Configuration(
        "filter",
        "the default filter, no_new_privs, parent-death signal, the keeper",
        ("--no-namespaces", "--no-landlock", "--cap", "all", "--no-new-session"),
    ),
    Configuration(
        "+ session", "a new session", ("--no-namespaces", "--no-landlock", "--cap", "all")
    ),
    Configuration("+ capabilities", "all five sets emptied", ("--no-namespaces", "--no-landlock")),
    Configuration("+ landlock", "filesystem rules and scopes", ("--no-namespaces",)),
    Configuration(
        "+ mount etc.",
        "mount, IPC, UTS namespaces: /proc, /dev, /tmp, /run, read-only mounts",
        ("--share-pid",),
    ),
    Configuration("+ pid (default)", "a PID namespace and its init (for the keeper)", ()),
)


@dataclass
class Row:
    configuration: Configuration
    seconds: dict[str, float] = field(default_factory=dict)


def _heavy_command(directory: Path) -> tuple[list[str], str]:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is not None:
        source = directory / "heavy.c"
        source.write_text(HEAVY_C)
        binary = directory / "heavy"
        built = subprocess.run(
            [compiler, "-O2", "-o", str(binary), str(source)], capture_output=True, check=False
        )
        if built.returncode == 0:
            return [str(binary)], "C: 250,000 x (open, read, close /etc/hostname; getppid)"
    return [PYTHON, "-c", HEAVY_PYTHON], "Python: 250,000 x (open, read, close; getppid)"


def _once(argv: Sequence[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.decode()}")
    return elapsed


def measure(repeat: int) -> tuple[list[Row], dict[str, str], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="seccomp-bpf-bench-") as name:
        directory = Path(name)
        heavy, heavy_what = _heavy_command(directory)
        commands = {"true": ["true"], "heavy": heavy}
        what = {"true": "true", "heavy": heavy_what}
        run = [PYTHON, "-m", "seccomp_bpf", "run"]
        cells: dict[tuple[str, str], list[str]] = {
            ("reference", "python -c pass"): [PYTHON, "-c", "pass"],
            ("reference", "python -c 'import seccomp_bpf'"): [PYTHON, "-c", "import seccomp_bpf"],
        }
        for configuration in CONFIGURATIONS:
            for key, command in commands.items():
                if configuration.options is None:
                    cells[(configuration.name, key)] = command
                else:
                    cells[(configuration.name, key)] = [
                        *run,
                        *configuration.options,
                        "--",
                        *command,
                    ]
        # Round robin, so that a change of load on the machine touches every cell alike.
        samples: dict[tuple[str, str], list[float]] = {cell: [] for cell in cells}
        for _ in range(repeat):
            for cell, argv in cells.items():
                samples[cell].append(_once(argv, directory))
        median = {cell: statistics.median(values) for cell, values in samples.items()}
        references = {name: median[(kind, name)] for kind, name in cells if kind == "reference"}
        rows = []
        for configuration in CONFIGURATIONS:
            row = Row(configuration)
            for key in commands:
                row.seconds[key] = median[(configuration.name, key)]
            rows.append(row)
    return rows, what, references


def _ms(value: float) -> str:
    return f"{value * 1000:8.1f}"


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value * 1000:+8.1f}"


def _start(row: Row) -> float:
    """What starting and ending the sandbox takes: the time of ``true`` under it (0 for the
    command alone, whose ``true`` is the command itself)."""
    return row.seconds["true"] if row.configuration.options is not None else 0.0


def print_table(rows: list[Row], what: dict[str, str], references: dict[str, float]) -> None:
    print(f"seccomp-bpf run, layer by layer ({platform.system()} {platform.release()}, ", end="")
    print(f"{platform.machine()}, Python {platform.python_version()}, uid {os.getuid()})")
    print(f"heavy: {what['heavy']} ({HEAVY_CALLS:,} system calls)")
    print("inside: heavy minus true, the command's own time with the sandbox's start and end")
    print("taken away; per call: the row's cost over the row above, per system call")
    print()
    header = (
        f"{'layers':<17}{'true ms':>9}{'cost':>9}{'heavy ms':>10}{'inside ms':>11}{'cost':>9}"
        f"{'per call':>10}  what"
    )
    print(header)
    print("-" * len(header))
    previous: Row | None = None
    for row in rows:
        inside = row.seconds["heavy"] - _start(row)
        start_cost: float | None = None
        inside_cost: float | None = None
        per_call = ""
        if previous is not None:
            start_cost = row.seconds["true"] - previous.seconds["true"]
            before = previous.seconds["heavy"] - _start(previous)
            inside_cost = inside - before
            per_call = f"{inside_cost * 1e9 / HEAVY_CALLS:+7.0f} ns"
        print(
            f"{row.configuration.name:<17}{_ms(row.seconds['true']):>9}{_delta(start_cost):>9}"
            f"{_ms(row.seconds['heavy']):>10}{_ms(inside):>11}{_delta(inside_cost):>9}"
            f"{per_call:>10}  {row.configuration.what}"
        )
        previous = row
    print()
    for name, seconds in references.items():
        print(f"reference: {name}: {seconds * 1000:.1f} ms")
    print(
        "(the 'filter' row's cost over 'alone' on 'true' is mostly the interpreter starting and "
        "importing seccomp-bpf)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs per cell (median shown)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("the sandbox needs Linux", file=sys.stderr)
        return 1
    rows, what, references = measure(args.repeat)
    if args.json:
        print(
            json.dumps(
                {
                    "rows": [{"layers": row.configuration.name, **row.seconds} for row in rows],
                    "heavy": what["heavy"],
                    "references": references,
                },
                indent=2,
            )
        )
    else:
        print_table(rows, what, references)
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(REPO))
    raise SystemExit(main())
