"""Benchmark: what starting seccomp-bpf costs, against the interpreter's own start-up.

Run from the repository root, with the project's virtualenv::

    python -m benchmarks.startup [--rounds N] [--json]

Rows, each measured once per round, round robin (so that the machine's load weighs on all
alike), and reported by their minimum (the run the machine disturbed least) and median:

- ``python -c pass``: the interpreter's start-up, the yardstick of every ratio;
- ``python -c "import seccomp_bpf"``;
- ``seccomp-bpf run -- true``: the console script, the built-in default policy (precompiled)
  and every sandbox layer on by default (PID, mount, IPC, UTS namespaces with a new /proc,
  /dev, /tmp; a new session; no_new_privs; Landlock; no capabilities; the filter);
- ``seccomp-bpf run --no-cache -- true``: the same, reading and compiling the default policy
  (what the precompiled program and the cache save);
- ``Popen(["true"], default_policy()).wait()`` from this running interpreter (the package
  imported, the call made once before): a confined child in the same sandbox, forked and
  set up before its exec (this process has one thread);
- the same with a second thread running: the child is then an isolated interpreter;
- ``subprocess.Popen(["true"]).wait()``: the same child unconfined, for reference;
- ``install(program)`` of the compiled default program, in a forked child, measured inside
  it (no process start-up: the figure is the call's).

The targets of the project (``docs/design.md``) are printed beside the ratios, met or not.
This is a benchmark, not a test: it reports, it never fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

PYTHON: Final = sys.executable


def _console_script() -> list[str]:
    script = os.path.join(os.path.dirname(PYTHON), "seccomp-bpf")
    return [script] if os.access(script, os.X_OK) else [PYTHON, "-m", "seccomp_bpf"]


def _timed_command(argv: list[str]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr!r}")
        return elapsed

    return run


def _timed_popen(threads: int = 1) -> Callable[[], float]:
    """``Popen(["true"], default_policy()).wait()`` with ``threads`` threads in this process
    (one: the child is forked and sets the sandbox up itself; more: it is an isolated
    interpreter). The other thread runs only while its row is measured."""
    import threading

    import seccomp_bpf
    from seccomp_bpf.policies import default_policy

    policy = default_policy()
    seccomp_bpf.Popen(["true"], policy).wait()  # the first call reads the precompiled program

    def run() -> float:
        stop = threading.Event()
        helpers = [threading.Thread(target=stop.wait) for _ in range(threads - 1)]
        for helper in helpers:
            helper.start()
        try:
            start = time.perf_counter()
            status = seccomp_bpf.Popen(["true"], policy).wait()
            elapsed = time.perf_counter() - start
        finally:
            stop.set()
            for helper in helpers:
                helper.join()
        if status != 0:
            raise SystemExit(f"Popen(['true'], default_policy()) ended with {status}")
        return elapsed

    return run


def _timed_plain_popen() -> float:
    start = time.perf_counter()
    subprocess.Popen(["true"]).wait()
    return time.perf_counter() - start


def _timed_install() -> Callable[[], float]:
    from seccomp_bpf import install
    from seccomp_bpf.run.subprocess import compile_checked

    program, _ = compile_checked(None, None, "true")

    def run() -> float:
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # only os calls from here: the filter is the default policy
            os.close(read_end)
            start = time.perf_counter()
            install(program)
            elapsed = time.perf_counter() - start
            os.write(write_end, struct.pack("d", elapsed))
            os._exit(0)
        os.close(write_end)
        data = os.read(read_end, 8)
        os.close(read_end)
        _, status = os.waitpid(child, 0)
        if status != 0 or len(data) != 8:
            raise SystemExit(f"install() in a child failed (wait status {status})")
        measured: float = struct.unpack("d", data)[0]
        return measured

    return run


@dataclass
class Row:
    name: str
    measure: Callable[[], float]
    target: float | None = None
    """The most this row may take, as a multiple of ``python -c pass``."""
    absolute_target_ms: float | None = None
    samples: list[float] | None = None
    cpu_samples: list[float] | None = None
    """CPU seconds (user and system) of this process and of the processes it waited for,
    over each run: what the row costs whatever else the machine runs."""


def _rows() -> list[Row]:
    run = _console_script()
    return [
        Row("python -c pass", _timed_command([PYTHON, "-c", "pass"])),
        Row(
            'python -c "import seccomp_bpf"',
            _timed_command([PYTHON, "-c", "import seccomp_bpf"]),
            1.5,
        ),
        Row("seccomp-bpf run -- true", _timed_command([*run, "run", "--", "true"]), 4.0),
        Row(
            "seccomp-bpf run --no-cache -- true",
            _timed_command([*run, "run", "--no-cache", "--", "true"]),
        ),
        Row('Popen(["true"], default_policy()).wait()', _timed_popen(), 2.0),
        Row("  the same, with a second thread running", _timed_popen(threads=2)),
        Row('subprocess.Popen(["true"]).wait()', _timed_plain_popen),
        Row("install(program), in the process", _timed_install(), None, 5.0),
    ]


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def _compiled_package() -> str | None:
    """Compile the package's modules when this interpreter writes no ``.pyc`` files
    (``PYTHONDONTWRITEBYTECODE``), whose absence would make every import compile its
    source and every figure a measure of the compiler; a note saying so, or None."""
    if not sys.dont_write_bytecode:
        return None
    import compileall

    import seccomp_bpf

    package = os.path.dirname(seccomp_bpf.__file__ or "")
    compileall.compile_dir(package, quiet=1)
    return f"PYTHONDONTWRITEBYTECODE is set: compiled {package} first"


def measure(rounds: int) -> list[Row]:
    note = _compiled_package()
    if note is not None:
        print(note, file=sys.stderr)
    rows = _rows()
    for row in rows:
        row.samples, row.cpu_samples = [], []
        row.measure()  # warm up (page cache, .pyc files)
    for _ in range(rounds):
        for row in rows:
            assert row.samples is not None and row.cpu_samples is not None
            before = _cpu()
            row.samples.append(row.measure())
            row.cpu_samples.append(_cpu() - before)
    return rows


def _cpu_ms(row: Row) -> float | None:
    """The median CPU milliseconds of ``row``; None for a figure taken inside a child (the
    fork and the pipe would be most of it)."""
    if row.absolute_target_ms is not None or not row.cpu_samples:
        return None
    return statistics.median(row.cpu_samples) * 1000


def _verdict(row: Row, baseline: float) -> str:
    assert row.samples is not None
    best = min(row.samples)
    if row.target is not None:
        met = best <= row.target * baseline
        return f"<= {row.target:g}x: {'met' if met else 'NOT met'}"
    if row.absolute_target_ms is not None:
        met = best * 1000 < row.absolute_target_ms
        return f"< {row.absolute_target_ms:g} ms: {'met' if met else 'NOT met'}"
    return ""


def report(rows: list[Row], as_json: bool) -> str:
    baseline_samples = rows[0].samples
    assert baseline_samples is not None
    baseline = min(baseline_samples)
    if as_json:
        return json.dumps(
            [
                {
                    "row": row.name,
                    "min_ms": min(row.samples or [0]) * 1000,
                    "median_ms": statistics.median(row.samples or [0]) * 1000,
                    "ratio": min(row.samples or [0]) / baseline,
                    "cpu_median_ms": _cpu_ms(row),
                    "target": _verdict(row, baseline),
                }
                for row in rows
            ],
            indent=2,
        )
    width = max(len(row.name) for row in rows)
    lines = [
        f"{platform.python_implementation()} {platform.python_version()}, Linux "
        f"{platform.release()}, {os.cpu_count()} CPUs; {len(baseline_samples)} rounds, "
        "round robin; wall-clock ms, and the median CPU ms of the processes (user + system)",
        "",
        f"{'':{width}}  {'min':>7}  {'median':>7}  {'min / python -c pass':>20}  {'cpu':>6}"
        "  target",
    ]
    for row in rows:
        assert row.samples is not None
        best, middle = min(row.samples) * 1000, statistics.median(row.samples) * 1000
        ratio = f"{min(row.samples) / baseline:.2f}x"
        cpu = _cpu_ms(row)
        used = f"{cpu:6.1f}" if cpu is not None else f"{'-':>6}"
        verdict = _verdict(row, baseline)
        lines.append(
            f"{row.name:{width}}  {best:7.2f}  {middle:7.2f}  {ratio:>20}  {used}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="runs of each row (default 20)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("needs Linux", file=sys.stderr)
        return 1
    print(report(measure(args.rounds), args.json))
    return 0


if __name__ == "__main__":
    sys.exit(main())
