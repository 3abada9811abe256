"""Helpers for the tests that run real programs under ``seccomp-bpf run``: the command line
(as root, or as uid 65534 with ``setpriv``), the attack program of ``escapes.c``, and its
victim, a process outside the sandbox whose state the tests check afterwards.

Directories the unprivileged user must reach are made with mode 0755 under ``/tmp`` (pytest's
own ``tmp_path`` is under a 0700 directory of root's).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import seccomp_bpf

NOBODY = 65534
ESCAPES_SOURCE = Path(__file__).with_name("escapes.c")
_SRC = Path(seccomp_bpf.__file__).resolve().parents[1]


def _python_path() -> str:
    """The package and its dependencies, for an interpreter that is not this venv's."""
    paths = [str(_SRC), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return os.pathsep.join(dict.fromkeys(paths))


def _as_nobody(argv: Sequence[str], env: dict[str, str]) -> list[str]:
    settings = [f"{key}={value}" for key, value in env.items()]
    return [
        "setpriv",
        "--reuid",
        str(NOBODY),
        "--regid",
        str(NOBODY),
        "--clear-groups",
        "env",
        "-i",
        *settings,
        *argv,
    ]


@functools.cache
def unprivileged_python() -> str | None:
    """An interpreter uid 65534 can run seccomp-bpf with, or None (this one may live under a
    directory it cannot reach, such as root's home)."""
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        return None
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        os.path.realpath(sys.executable),
        f"/usr/bin/python{version}",
        "/usr/local/bin/python{version}",
    ]
    env = {"PYTHONPATH": _python_path(), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for candidate in dict.fromkeys(candidates):
        probe = _as_nobody([candidate, "-c", "import seccomp_bpf, yaml, system_calls"], env)
        try:
            probed = subprocess.run(probe, capture_output=True, timeout=30, cwd="/", check=False)
            if probed.returncode == 0:
                return candidate
        except OSError:
            continue
    return None


def require_nobody() -> str:
    python = unprivileged_python()
    if python is None:
        pytest.skip("needs root, setpriv and a Python interpreter uid 65534 can run")
    return python


def run_cli(
    *args: str,
    cwd: Path,
    user: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    stdin: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """``seccomp-bpf ARGS`` in ``cwd``, as root or (``user=NOBODY``) as uid 65534."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    environment.update(env or {})
    if user is None:
        argv = [sys.executable, "-m", "seccomp_bpf", *args]
        full = {**os.environ, **environment}
    else:
        environment["PYTHONPATH"] = _python_path()
        argv = _as_nobody([require_nobody(), "-m", "seccomp_bpf", *args], environment)
        full = dict(os.environ)
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full,
        timeout=timeout,
        check=False,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
    )


@contextlib.contextmanager
def shared_directory(owner: int | None = None) -> Iterator[Path]:
    """A temporary directory under /tmp that every user can enter (and ``owner`` write)."""
    path = Path(tempfile.mkdtemp(prefix="seccomp-bpf-test-", dir="/tmp"))
    try:
        path.chmod(0o755)
        if owner is not None:
            os.chown(path, owner, owner)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Escapes:
    """The attack program, built dynamically and statically linked."""

    dynamic: Path
    static: Path | None


def build_escapes(directory: Path) -> Escapes:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    dynamic = directory / "escapes"
    subprocess.run(["gcc", "-O1", "-o", str(dynamic), str(ESCAPES_SOURCE)], check=True)
    static: Path | None = directory / "escapes-static"
    built = subprocess.run(
        ["gcc", "-O1", "-static", "-o", str(static), str(ESCAPES_SOURCE)],
        capture_output=True,
        check=False,
    )
    if built.returncode != 0:
        static = None
    return Escapes(dynamic, static)


def attack_results(output: str) -> dict[str, str]:
    """``{attack: "ok RESULT" | "denied ERRNO"}`` from the attack program's lines."""
    results: dict[str, str] = {}
    for line in output.splitlines():
        name, _, rest = line.partition(" ")
        if rest.startswith(("ok", "denied")):
            results[name] = rest
    return results


_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.syscall.restype = ctypes.c_long
# arch/x86/entry/syscalls/syscall_64.tbl: 252 ioprio_get; <linux/ioprio.h> IOPRIO_WHO_PROCESS 1.
_IOPRIO_GET = 252


@dataclass
class VictimState:
    """What an attack on the victim would change."""

    nice: int
    nofile: tuple[int, int]
    affinity: set[int]
    scheduler: int
    ioprio: int


@dataclass
class Victim:
    """``escapes victim TOKEN``, outside any sandbox (as root, or as uid 65534)."""

    process: subprocess.Popen[bytes]
    pid: int
    address: str
    token: str
    before: VictimState = field(init=False)

    def __post_init__(self) -> None:
        self.before = self.state()

    def state(self) -> VictimState:
        ioprio = int(
            _LIBC.syscall(ctypes.c_long(_IOPRIO_GET), ctypes.c_long(1), ctypes.c_long(self.pid))
        )
        return VictimState(
            nice=os.getpriority(os.PRIO_PROCESS, self.pid),
            nofile=self._open_files_limit(),
            affinity=os.sched_getaffinity(self.pid),
            scheduler=os.sched_getscheduler(self.pid),
            ioprio=ioprio,
        )

    def _open_files_limit(self) -> tuple[int, int]:
        # /proc/PID/limits, readable where prlimit() would need CAP_SYS_RESOURCE.
        for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
        raise AssertionError("no open files limit")

    def alive(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stat:
                return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
        except FileNotFoundError:
            return False

    def memory(self) -> bytes:
        with open(f"/proc/{self.pid}/mem", "rb") as memory:
            memory.seek(int(self.address, 16))
            return memory.read(len(self.token) + len("untouched-"))

    def assert_untouched(self) -> None:
        assert self.alive(), "the victim was killed"
        assert self.memory() == f"untouched-{self.token}".encode()
        assert self.state() == self.before


@contextlib.contextmanager
def victim(escapes: Path, user: int | None = None) -> Iterator[Victim]:
    token = "tok" + os.urandom(6).hex()
    argv = [str(escapes), "victim", token]
    if user is not None:
        argv = _as_nobody(argv, {"VICTIM_SECRET": token})
        env = None
    else:
        env = {**os.environ, "VICTIM_SECRET": token}
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        assert process.stdout is not None
        pid, address = process.stdout.readline().split()
        yield Victim(process, int(pid), address.decode(), token)
    finally:
        process.kill()
        process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
