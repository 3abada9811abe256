"""Benchmark: how long the static profiler takes on python3 and its libraries, cold and
with the analysis cache, against the interpreter's own start-up; and, for five programs, the
static set next to what a recorded run makes.

Run from the repository root::

    python -m benchmarks.static_profiler [--repeat N] [--python PATH] [--no-programs] [--json]

The first table analyses the python3 of ``PATH`` (through links, past a launcher script)
object by object: reading the ELF file, analysing it (cold), and reading its analysis back
from the cache (with the SHA-256 of the file that keys it); then the whole program
(:func:`analyse_program`: loading, every object, the call graph) with an empty cache and
with a full one. The median of ``--repeat`` runs is shown. ``python3 -c pass`` is timed in
the same run, for scale.

The second table gives, for ``ls``, ``tar``, ``git``, ``python3`` and the ``gcc`` driver,
the number of calls the static profiler finds, the number ``seccomp-bpf profile`` records
while a small workload runs, how many of those the static set misses (the target: none), and
the size of the ABI's system call table. This is a benchmark, not a test: it reports, it
never fails (``tests/profiling/static/test_programs.py`` checks the same workloads).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: python benchmarks/static_profiler.py
    sys.path.insert(0, str(REPO))

from seccomp_bpf.arch import get_arch  # noqa: E402
from seccomp_bpf.profiling.static import analyse_program  # noqa: E402
from seccomp_bpf.profiling.static.analysis import analyse_object  # noqa: E402
from seccomp_bpf.profiling.static.cache import AnalysisCache, file_digest  # noqa: E402
from seccomp_bpf.profiling.static.elf import ElfObject, read_elf  # noqa: E402
from seccomp_bpf.profiling.static.loader import load_program  # noqa: E402


def python3() -> str:
    """The python3 of ``PATH`` as a file (the tests' choice)."""
    sys.path.insert(0, str(REPO))
    from tests.profiling.static import test_programs

    return test_programs._python()


def _median(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def objects_table(program: str, repeat: int) -> tuple[list[str], dict[str, Any]]:
    loaded = load_program(program)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        cache = AnalysisCache(os.path.join(directory, "cache"))
        for obj in loaded.objects:
            path = obj.path

            def read(path: str = path) -> object:
                return read_elf(path)

            elf = read_elf(path)

            def analyse(elf: ElfObject = elf) -> object:
                return analyse_object(elf)

            def cached(path: str = path) -> object:
                return cache.load(file_digest(path))

            analysis = analyse_object(elf)
            cache.store(file_digest(path), path, analysis)

            rows.append(
                {
                    "object": obj.label,
                    "bytes": os.path.getsize(obj.path),
                    "functions": len(analysis.regions),
                    "sites": len(analysis.site_values),
                    "read_s": _median(read, repeat),
                    "analyse_s": _median(analyse, repeat),
                    "cached_s": _median(cached, repeat),
                }
            )
        whole_cold = _median(
            lambda: analyse_program(program, cache=AnalysisCache(tempfile.mkdtemp(dir=directory))),
            repeat,
        )
        warm = os.path.join(directory, "warm")
        first = analyse_program(program, cache=AnalysisCache(warm))
        whole_cached = _median(lambda: analyse_program(program, cache=AnalysisCache(warm)), repeat)
    startup = _median(lambda: subprocess.run([program, "-c", "pass"], check=True), repeat)
    lines = [
        f"static profiler on {program} ({platform.machine()}, Linux {platform.release()}, "
        f"{os.cpu_count()} CPUs); median of {repeat} runs",
        "",
        f"{'object':<24}{'bytes':>11}{'functions':>10}{'sites':>7}{'read s':>9}"
        f"{'cold s':>9}{'cached s':>10}",
        "-" * 80,
    ]
    for row in rows:
        lines.append(
            f"{row['object']:<24}{row['bytes']:>11,}{row['functions']:>10,}{row['sites']:>7}"
            f"{row['read_s']:>9.3f}{row['analyse_s']:>9.3f}{row['cached_s']:>10.3f}"
        )
    lines += [
        "-" * 80,
        f"whole program (load, every object, call graph): cold {whole_cold:.2f} s, "
        f"with the cache {whole_cached:.2f} s ({whole_cold / whole_cached:.1f}x faster)",
        f"{len(first.syscalls())} calls found; for scale, `{os.path.basename(program)} -c pass` "
        f"takes {startup:.3f} s",
    ]
    data = {"program": program, "objects": rows, "cold_s": whole_cold,
            "cached_s": whole_cached, "startup_s": startup,
            "calls": len(first.syscalls())}  # fmt: skip
    return lines, data


def _workloads(root: Path, python: str) -> dict[str, tuple[str, list[list[str]], list[str]]]:
    """The workloads of tests/profiling/static/test_programs.py."""
    sys.path.insert(0, str(REPO))
    from tests.profiling.static import test_programs

    workloads = test_programs._workloads(root)
    program, runs, dlopen = workloads["python3"]
    if program != python:
        workloads["python3"] = (python, [[python, *run[1:]] for run in runs], dlopen)
    return workloads


def programs_table(python: str) -> tuple[list[str], dict[str, Any]]:
    cli = [sys.executable, "-m", "seccomp_bpf"]
    lines = [
        "",
        "program   static calls  recorded calls  missed  static s (cold)  reachable functions",
        "-" * 84,
    ]
    data: dict[str, Any] = {}
    arch = None
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for name, (program, runs, dlopen) in _workloads(root, python).items():
            started = time.perf_counter()
            analysis = analyse_program(program, dlopen=dlopen)
            seconds = time.perf_counter() - started
            arch = analysis.arch
            found = {str(key) for key in analysis.syscalls()} | {"execve"}
            recorded: set[str] = set()
            for argv in runs:
                frequency = root / "frequency.json"
                subprocess.run(
                    [*cli, "profile", "-q", "--no-args", "-o", str(root / "rec.yaml"),
                     "--frequency", str(frequency), "--", *argv],
                    check=True, capture_output=True,
                )  # fmt: skip
                for calls in json.loads(frequency.read_text())["arches"].values():
                    recorded.update(calls)
            reached = sum(r for r, _ in analysis.reached.regions.values())
            total = sum(t for _, t in analysis.reached.regions.values())
            missed = sorted(recorded - found)
            lines.append(
                f"{name:<10}{len(found):>12}{len(recorded):>16}{len(missed):>8}"
                f"{seconds:>17.2f}{reached:>12,} of {total:,}"
            )
            data[name] = {"static": len(found), "recorded": len(recorded), "missed": missed,
                          "seconds": seconds}  # fmt: skip
    table = len(get_arch(arch or platform.machine()).syscalls)
    lines.append("-" * 84)
    lines.append(
        f"the {arch} system call table has {table} calls; static calls include execve "
        "(what starts the program)"
    )
    data["table"] = table
    return lines, data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (median)")
    parser.add_argument("--python", default=None, help="the python3 to analyse")
    parser.add_argument("--no-programs", action="store_true", help="only the python3 table")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    program = args.python or python3()
    lines, data = objects_table(program, max(1, args.repeat))
    if not args.no_programs and sys.platform.startswith("linux"):
        more, data["programs"] = programs_table(program)
        lines += more
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
