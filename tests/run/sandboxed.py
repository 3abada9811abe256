"""Helpers for the tests that run real programs under ``seccomp-bpf run``: the command line,
as root or as uid 65534 (``setpriv``), and an interpreter that user can run seccomp-bpf with.

This test's own interpreter and packages may live where uid 65534 cannot go (a virtual
environment under ``/root``, mode 0700): :func:`unprivileged_python` finds an interpreter of
the same version it may execute, and copies ``seccomp_bpf`` and its dependencies to a
directory it can read, for ``PYTHONPATH``. Directories the unprivileged user must reach are
made with mode 0755 under ``/tmp`` (pytest's own ``tmp_path`` is under a 0700 directory of
root's).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

NOBODY = 65534
SETPRIV = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
# What `python -m seccomp_bpf` imports from outside the standard library.
PACKAGES = ("seccomp_bpf", "yaml", "_yaml", "system_calls")


@dataclass(frozen=True)
class UnprivilegedPython:
    """An interpreter uid 65534 can execute, and the ``PYTHONPATH`` that gives it
    ``seccomp_bpf``."""

    executable: str
    path: str

    def environment(self) -> dict[str, str]:
        return {"PYTHONPATH": self.path}


def _copy_packages(directory: Path) -> str:
    """Copy :data:`PACKAGES` (as this interpreter imports them) into ``directory``, readable
    by everyone; the directory, for ``PYTHONPATH``."""
    directory.mkdir(mode=0o755)
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        source = Path(spec.origin).parent if spec.submodule_search_locations else None
        if source is None:
            shutil.copy(spec.origin, directory)
        else:
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, directory / name, ignore=ignore)
    for root, directories, files in os.walk(directory):
        for name in directories:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return str(directory)


def _as_nobody(argv: Sequence[str], env: dict[str, str]) -> list[str]:
    """``argv`` as uid 65534 with ``env`` only. Through ``env``: setpriv still holds its
    capabilities when it execs (they go at that exec), env no longer does when it execs
    ``argv``, so that the file must be one that user may execute."""
    settings = [f"{key}={value}" for key, value in env.items()]
    return [*SETPRIV, "env", "-i", *settings, *argv]


@functools.cache
def unprivileged_python() -> UnprivilegedPython | None:
    """An interpreter uid 65534 can execute and run seccomp-bpf with, or None (not root, no
    setpriv, or no interpreter of this version that it may execute)."""
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        return None
    place = Path(tempfile.mkdtemp(prefix="seccomp-bpf-python-"))
    atexit.register(shutil.rmtree, place, ignore_errors=True)
    place.chmod(0o755)
    path = _copy_packages(place / "packages")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        os.path.realpath(sys.executable),
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ]
    env = {"PYTHONPATH": path, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for candidate in dict.fromkeys(candidates):
        if not os.path.exists(candidate):
            continue
        probe = _as_nobody([candidate, "-c", "import seccomp_bpf.cli, yaml, system_calls"], env)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            probed = subprocess.run(probe, capture_output=True, timeout=60, cwd="/", check=False)
            if probed.returncode == 0:
                return UnprivilegedPython(candidate, path)
    return None


def require_nobody() -> UnprivilegedPython:
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
        python = require_nobody()
        environment.update(python.environment())
        argv = _as_nobody([python.executable, "-m", "seccomp_bpf", *args], environment)
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
