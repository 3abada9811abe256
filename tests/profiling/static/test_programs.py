"""The static set of real programs on this machine against what they do.

For ``ls``, ``tar``, ``git``, ``python3`` and the ``gcc`` driver: every call that
``seccomp-bpf profile`` records while a small workload runs (programs that run no other
program) is in the static set, and the workload gives the same output under the static
policy (``seccomp-bpf run -p``) as without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from seccomp_bpf.profiling.static import analyse_program
from seccomp_bpf.profiling.static.cache import AnalysisCache

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

CLI = [sys.executable, "-m", "seccomp_bpf"]


def _python() -> str:
    """The python3 of PATH as a file (through links; past a launcher script)."""
    found = shutil.which("python3")
    if found is not None:
        with open(os.path.realpath(found), "rb") as file:
            if file.read(4) == b"\x7fELF":
                return os.path.realpath(found)
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


def _workloads(tmp: Path) -> dict[str, tuple[str, list[list[str]], list[str]]]:
    """program -> (its file, workloads, the libraries it dlopens for them)."""
    source = tmp / "src"
    source.mkdir()
    for i in range(3):
        (source / f"file{i}.txt").write_text("hello\n" * (i + 1))
    (tmp / "t.c").write_text("int main(void) { return 0; }\n")
    archive = tmp / "a.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(source), "."], check=True)
    repo = tmp / "repo"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for i in range(2):
        (repo / "f.txt").write_text(f"version {i}\n")
        subprocess.run([*git, "add", "f.txt"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"commit {i}"], check=True)
    python = _python()
    script = "import json, os; print(json.dumps(sorted(os.listdir('/etc'))[:5]))"
    modules = subprocess.run(
        [
            python,
            "-c",
            script + "\nimport sys\nfor m in list(sys.modules.values()):\n"
            "    f = getattr(m, '__file__', None) or ''\n    f.endswith('.so') and print(f)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[1:]
    which = {name: shutil.which(name) or name for name in ("ls", "tar", "git", "gcc")}
    return {
        "ls": (which["ls"], [["ls", "-la", "--color=never", str(source), "/etc"]], []),
        "tar": (
            which["tar"],
            [
                ["tar", "-cf", str(tmp / "b.tar"), "-C", str(source), "."],
                ["tar", "-tvf", str(archive)],
            ],
            [],
        ),
        "git": (
            which["git"],
            [
                [*git, "status", "--porcelain"],
                [*git, "log", "--oneline"],
                [*git, "diff", "--stat", "HEAD~1"],
            ],
            [],
        ),
        "python3": (python, [[python, "-c", script]], modules),
        "gcc": (
            which["gcc"],
            [["gcc", "--version"], ["gcc", "-###", "-c", str(tmp / "t.c"), "-o", "t.o"]],
            [],
        ),
    }


def _recorded(argv: Sequence[str], tmp: Path) -> set[str]:
    frequency = tmp / "frequency.json"
    subprocess.run(
        [
            *CLI,
            "profile",
            "-q",
            "--no-args",
            "-o",
            str(tmp / "recorded.yaml"),
            "--frequency",
            str(frequency),
            "--",
            *argv,
        ],
        check=True,
        capture_output=True,
    )
    arches = json.loads(frequency.read_text())["arches"]
    assert set(arches) <= {"x86_64", "aarch64"}, arches  # no other ABI's calls
    return {name for calls in arches.values() for name in calls}


@pytest.fixture(scope="module")
def workloads(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[str, list[list[str]], list[str]]]:
    return _workloads(tmp_path_factory.mktemp("workloads"))


@pytest.mark.parametrize("name", ["ls", "tar", "git", "python3", "gcc"])
def test_no_call_is_missed_and_the_workload_runs_under_the_policy(
    name: str,
    workloads: dict[str, tuple[str, list[list[str]], list[str]]],
    cache_dir: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    program, runs, dlopen = workloads[name]
    if shutil.which(runs[0][0]) is None and not os.path.exists(runs[0][0]):
        pytest.skip(f"no {name} here")
    analysis = analyse_program(program, dlopen=dlopen, cache=AnalysisCache(str(cache_dir)))
    found = {str(key) for key in analysis.syscalls()} | {"execve"}  # execve starts it
    policy = tmp_path / "static.yaml"
    subprocess.run(
        [
            *CLI,
            "profile",
            "-q",
            "--static",
            program,
            "-o",
            str(policy),
            "--cache-dir",
            str(cache_dir),
            *(f"--dlopen={lib}" for lib in dlopen),
        ],
        check=True,
    )
    for argv in runs:
        missed = _recorded(argv, tmp_path) - found
        assert not missed, f"{name}: recorded but not found statically: {sorted(missed)}"
        plain = subprocess.run(argv, check=False, capture_output=True, text=True)
        confined = subprocess.run(
            # the sandbox's /tmp is its own: the workloads' files are granted
            [*CLI, "run", "-p", str(policy), "--rw", str(tmp_path_factory.getbasetemp()), "--",
             *argv],
            check=False,
            capture_output=True,
            text=True,
        )
        assert (confined.returncode, confined.stdout) == (plain.returncode, plain.stdout), (
            confined.stderr
        )
        assert plain.returncode == 0
