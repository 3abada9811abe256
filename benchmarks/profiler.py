"""Benchmark: what profiling costs, against ``strace -f -c``, on real workloads, in one run.

Run from the repository root::

    python -m benchmarks.profiler [--repeat N] [--json] [--only NAME...]

Each workload runs alone, under ``strace -f -c -o /dev/null`` (which, like the profiler,
follows every process and thread and counts every call), and under ``profile()`` in each
mode. The profiler is timed through its Python API, from the call to its return, so the
interpreter's own start-up (the same for every command it runs) is not counted; it is printed
once below the table. The median of ``--repeat`` runs is shown.

Targets: ptrace mode costs at most 1.5 times what strace costs (time under it minus time
alone); notify mode costs less than strace. See ``benchmarks/README.md``. This is a benchmark,
not a test: it reports, it never fails. Without strace, only the profiler's rows are printed,
with a note.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: python benchmarks/profiler.py
    sys.path.insert(0, str(REPO))

from seccomp_bpf.profiling import profile  # noqa: E402

PTRACE_TARGET: Final = 1.5
"""ptrace mode's overhead may be at most this many times strace's."""

PYTHON: Final = sys.executable

JSON_AND_FILES: Final = """\
import json, os, sys
directory = sys.argv[1]
for n in range(2000):
    path = os.path.join(directory, "%d.json" % n)
    with open(path, "w") as out:
        json.dump({"n": n, "values": list(range(50))}, out)
    with open(path) as back:
        assert json.load(back)["n"] == n
    os.unlink(path)
"""

HTTP_SERVER: Final = """\
import http.server, threading, urllib.request

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = self.path.encode() * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
url = "http://127.0.0.1:%d/" % server.server_address[1]
def client(n):
    for i in range(50):
        urllib.request.urlopen(url + str(n * 100 + i), timeout=10).read()
clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
for c in clients: c.start()
for c in clients: c.join()
server.shutdown()
"""


@dataclass(frozen=True)
class Workload:
    name: str
    what: str
    argv: tuple[str, ...]
    cwd: Path
    setup: Callable[[], None] = lambda: None


@dataclass
class Row:
    workload: Workload
    seconds: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    notified: int = 0

    def overhead(self, column: str) -> float | None:
        if column not in self.seconds or "alone" not in self.seconds:
            return None
        return self.seconds[column] - self.seconds["alone"]


def environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_OPTIONAL_LOCKS": "0",
        "no_proxy": "*",
    }


def workloads(root: Path) -> list[Workload]:
    """The workloads, their files prepared under ``root``."""
    env = environment(root)
    found: list[Workload] = []
    scratch = root / "scratch"
    scratch.mkdir()
    found.append(
        Workload(
            "python-json",
            "python3 -c: 2000 JSON files written, read back and removed",
            (PYTHON, "-I", "-c", JSON_AND_FILES, str(scratch)),
            root,
        )
    )
    server = root / "server.py"
    server.write_text(HTTP_SERVER)
    found.append(
        Workload(
            "http-server",
            "threaded HTTP server, 4 loopback clients x 50 requests",
            (PYTHON, "-I", str(server)),
            root,
        )
    )
    if shutil.which("git"):
        repository = root / "repository"
        # gc.auto=0: 10000 loose objects would start a detached `git gc --auto` that is
        # still writing into .git/objects when the directory is removed
        git = ["git", "-c", "user.name=n", "-c", "user.email=n@example.org", "-c", "gc.auto=0"]
        subprocess.run([*git, "init", "-q", str(repository)], check=True, env=env)
        for n in range(10000):
            directory = repository / f"d{n % 100}"
            directory.mkdir(exist_ok=True)
            (directory / f"f{n}").write_text(f"{n}\n")
        subprocess.run([*git, "add", "."], cwd=repository, check=True, env=env)
        subprocess.run([*git, "commit", "-qm", "files"], cwd=repository, check=True, env=env)
        for n in range(0, 10000, 500):
            (repository / f"d{n % 100}" / f"f{n}").write_text("changed\n")
        subprocess.run(["git", "status"], cwd=repository, check=True, env=env, capture_output=True)
        found.append(
            Workload(
                "git-status",
                "git status in a repository of 10000 files, 20 changed",
                ("git", "status", "--porcelain"),
                repository,
            )
        )
    if shutil.which("tar") and shutil.which("gzip"):
        tree = root / "tree"
        for n in range(2000):
            directory = tree / f"d{n % 40}"
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"f{n}").write_bytes(os.urandom(512) + bytes(3584))
        archive = root / "out.tgz"
        found.append(
            Workload(
                "tar-czf",
                "tar czf of 2000 files of 4 KiB (through gzip)",
                ("tar", "czf", str(archive), "tree"),
                root,
                setup=lambda: archive.unlink(missing_ok=True),
            )
        )
    found.append(
        Workload(
            "sh-pipeline",
            "sh -c: 100 pipelines echo | sort -r | head -1 (300 processes)",
            ("sh", "-c", "for i in $(seq 100); do echo $i | sort -r | head -1 >/dev/null; done"),
            root,
        )
    )
    return found


def _quiet(workload: Workload) -> Callable[[], None]:
    """Run the workload with its output to /dev/null (in the profiler's case too)."""

    def run(argv: Sequence[str]) -> None:
        subprocess.run(
            argv,
            cwd=workload.cwd,
            env=environment(workload.cwd),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )

    return lambda: run(workload.argv)


def _timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _profiled(workload: Workload, mode: str, row: Row) -> float:
    """Time ``profile()`` of the workload, its output sent to /dev/null."""
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    cwd = os.getcwd()
    saved_env = dict(os.environ)
    try:
        os.chdir(workload.cwd)
        os.environ.clear()
        os.environ.update(environment(workload.cwd))
        os.dup2(null, 1)
        os.dup2(null, 2)
        started = time.perf_counter()
        trace = profile(workload.argv, mode=mode)
        seconds = time.perf_counter() - started
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    if trace.exit_status != 0:
        raise RuntimeError(f"{workload.name} exited with {trace.exit_status} under {mode} mode")
    if mode == "ptrace":
        row.calls = trace.total
    else:
        row.notified = trace.total
    return seconds


def measure(workload: Workload, repeat: int, strace: str | None) -> Row:
    row = Row(workload)
    samples: dict[str, list[float]] = {}
    alone = _quiet(workload)
    columns: list[tuple[str, Callable[[], float]]] = [("alone", lambda: _timed(alone))]
    if strace is not None:
        argv = (strace, "-f", "-c", "-o", os.devnull, *workload.argv)
        traced = _quiet(Workload(workload.name, workload.what, argv, workload.cwd))
        columns.append(("strace", lambda: _timed(traced)))
    columns.append(("ptrace", lambda: _profiled(workload, "ptrace", row)))
    columns.append(("notify", lambda: _profiled(workload, "notify", row)))
    workload.setup()
    alone()  # warm the page cache and the file system
    for _ in range(repeat):
        for name, run in columns:  # interleaved, so that a slow moment hits every column
            workload.setup()
            samples.setdefault(name, []).append(run())
    row.seconds = {name: statistics.median(values) for name, values in samples.items()}
    return row


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def table(rows: Sequence[Row], strace: bool) -> list[str]:
    header = f"{'workload':<12} {'calls':>7} {'alone s':>8}"
    if strace:
        header += f" {'strace s':>13}"
    header += f" {'ptrace s':>13} {'notify s':>13}"
    if strace:
        header += f" {'ptrace/strace':>13} {'notify/strace':>13}"
    lines = [header, "-" * len(header)]
    for row in rows:
        s = row.seconds
        line = f"{row.workload.name:<12} {row.calls:>7} {s['alone']:>8.3f}"
        cells = ["strace", "ptrace", "notify"] if strace else ["ptrace", "notify"]
        for column in cells:
            overhead = row.overhead(column)
            line += f" {s[column]:>6.3f} ({overhead:+.2f})" if overhead is not None else ""
        if strace:
            for column in ("ptrace", "notify"):
                ratio = _ratio(row.overhead(column), row.overhead("strace"))
                line += f" {'-' if ratio is None else f'{ratio:.2f}x':>13}"
        lines.append(line)
    return lines


def targets(rows: Sequence[Row]) -> list[str]:
    """Whether each target is met, per workload and over the sum of the overheads."""
    lines: list[str] = []

    def total(column: str) -> float:
        return sum(row.overhead(column) or 0.0 for row in rows)

    strace_total = total("strace")
    ptrace_ok = [
        r.workload.name
        for r in rows
        if (x := _ratio(r.overhead("ptrace"), r.overhead("strace"))) is not None
        and x <= PTRACE_TARGET
    ]
    notify_ok = [
        r.workload.name
        for r in rows
        if (o := r.overhead("notify")) is not None
        and (t := r.overhead("strace")) is not None
        and o < t
    ]
    overall = _ratio(total("ptrace"), strace_total)
    lines.append(
        f"target: ptrace overhead <= {PTRACE_TARGET}x strace's: met on {len(ptrace_ok)}/"
        f"{len(rows)} workloads; over all, {overall:.2f}x"
        if overall is not None
        else "target: ptrace overhead: no strace to compare with"
    )
    overall_notify = _ratio(total("notify"), strace_total)
    lines.append(
        f"target: notify overhead < strace's: met on {len(notify_ok)}/{len(rows)} workloads; "
        f"over all, {overall_notify:.2f}x"
        if overall_notify is not None
        else "target: notify overhead: no strace to compare with"
    )
    return lines


def startup_cost(root: Path) -> float:
    """The command line's own start-up: ``seccomp-bpf profile -- true`` minus ``true``."""
    env = environment(root)
    command = [PYTHON, "-m", "seccomp_bpf", "profile", "-q", "-o", os.devnull, "--", "true"]
    subprocess.run(command, cwd=root, env={**env, "PYTHONPATH": str(REPO / "src")}, check=True)
    runs = []
    for _ in range(3):
        with_cli = _timed(
            lambda: subprocess.run(
                command, cwd=root, env={**env, "PYTHONPATH": str(REPO / "src")}, check=True
            )
        )
        alone = _timed(lambda: subprocess.run(["true"], check=True))
        runs.append(with_cli - alone)
    return statistics.median(runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (median; 3)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these workloads")
    options = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("the profiler needs Linux; nothing measured")
        return 0
    strace = shutil.which("strace")
    with tempfile.TemporaryDirectory(prefix="profiler-bench-") as directory:
        root = Path(directory)
        chosen = [w for w in workloads(root) if not options.only or w.name in options.only]
        rows = [measure(workload, max(1, options.repeat), strace) for workload in chosen]
        startup = startup_cost(root)
    if options.json:
        print(
            json.dumps(
                {
                    "machine": platform.machine(),
                    "kernel": platform.release(),
                    "strace": strace,
                    "startup_seconds": startup,
                    "rows": [
                        {
                            "workload": r.workload.name,
                            "calls": r.calls,
                            "notified": r.notified,
                            "seconds": r.seconds,
                        }
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
        return 0
    print(
        f"seccomp-bpf profile on {platform.machine()}, Linux {platform.release()}, "
        f"{os.cpu_count()} CPUs; median of {options.repeat} runs; seconds (overhead)"
    )
    print()
    print("\n".join(table(rows, strace is not None)))
    print()
    for row in rows:
        print(
            f"  {row.workload.name}: {row.workload.what}; notify mode saw {row.notified} "
            "calls outside its base set"
        )
    print()
    if strace is None:
        print("note: no strace on PATH: the strace column and the targets are left out")
    else:
        print("\n".join(targets(rows)))
    print(
        f"not counted above: the command line's own start-up, {startup:.2f} s "
        "(`seccomp-bpf profile -- true` minus `true`)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
