"""Each layer of ``run/layers.py`` alone, in forked children, and the routes around it an
attacker would try: the start-up race of the parent-death signal; symbolic links, hard
links, renames, directory descriptors opened before and ``/proc/self/fd`` against Landlock;
``execve`` against the capability drop."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_bpf.kernel import landlock, libc
from seccomp_bpf.policy import Sandbox
from seccomp_bpf.run.layers import (
    LayerReport,
    die_with_parent,
    drop_capabilities,
    no_new_privs,
    restrict_filesystem,
)
from seccomp_bpf.run.plan import plan_sandbox
from tests.kernel.forked import run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

# <linux/prctl.h>
PR_SET_CHILD_SUBREAPER = 36


def _late_parent_death_signal() -> int:
    """A grandchild sets its parent-death signal only after its parent has ended: it must
    notice and end, not run on as an orphan."""
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1)  # adopt it, to see how it ends
    go_read, go_write = os.pipe()
    middle = os.fork()
    if middle == 0:
        grandchild = os.fork()
        if grandchild == 0:
            os.read(go_read, 1)  # until the middle process has ended
            die_with_parent(middle)
            os._exit(0)  # reached only if the check failed
        os._exit(0)
    os.waitpid(middle, 0)
    os.write(go_write, b"x")
    _, status = os.waitpid(-1, 0)
    return os.waitstatus_to_exitcode(status)


def test_the_start_up_race_of_the_parent_death_signal() -> None:
    assert run_in_child(_late_parent_death_signal) == 128 + signal.SIGKILL


def _landlock_in(directory: str) -> dict[str, int]:
    """Only ``directory`` writable (and the system readable); then every route out."""
    root = Path(directory)
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir()
    (outside / "file").write_text("outside\n")
    before = os.open(outside, os.O_PATH | os.O_DIRECTORY)  # opened before the domain
    # Everything readable, only the directory writable (the default would grant /tmp too).
    sandbox = Sandbox(default_paths=False, rox=("/",), rwx=(directory,))
    plan = plan_sandbox(sandbox, cwd=directory, environ={}, in_process=True)
    report = LayerReport()
    no_new_privs(report)
    restrict_filesystem(plan, report)
    results: dict[str, int] = {}

    def attempt(name: str, action: object) -> None:
        try:
            action()  # type: ignore[operator]
            results[name] = 0
        except OSError as error:
            results[name] = error.errno or -1

    attempt("write inside", lambda: (root / "inside").write_text("x"))
    attempt("write outside", lambda: (outside / "new").write_text("x"))
    os.symlink(outside / "file", root / "link")
    attempt("through a symlink", lambda: open(root / "link", "a").close())
    attempt("hard link in", lambda: os.link(outside / "file", root / "hard"))
    attempt("rename out", lambda: os.rename(root / "inside", outside / "moved"))
    attempt("rename in", lambda: os.rename(outside / "file", root / "taken"))
    attempt(
        "openat a directory opened before",
        lambda: os.close(os.open("new", os.O_CREAT | os.O_WRONLY, dir_fd=before)),
    )
    attempt(
        "/proc/self/fd of it",
        lambda: os.close(os.open(f"/proc/self/fd/{before}/file", os.O_WRONLY | os.O_APPEND)),
    )
    attempt("truncate outside", lambda: os.truncate(outside / "file", 0))
    attempt("mkfifo outside", lambda: os.mkfifo(outside / "fifo"))
    return results


def test_landlock_and_the_routes_around_it(tmp_path: Path) -> None:
    if landlock.abi_version() < 3:
        pytest.skip("needs Landlock ABI 3 (REFER, TRUNCATE)")
    work = tmp_path / "work"
    work.mkdir()
    results = run_in_child(_landlock_in, str(work))
    assert results.pop("write inside") == 0
    refused = {name for name, code in results.items() if code in (errno.EACCES, errno.EXDEV)}
    assert refused == set(results), results
    assert (tmp_path / "work-outside" / "file").read_text() == "outside\n"
    assert sorted(p.name for p in (tmp_path / "work-outside").iterdir()) == ["file"]


def _drop_and_exec() -> tuple[list[str], str]:
    report = LayerReport()
    plan = plan_sandbox(Sandbox(namespaces=False), environ={}, in_process=True)
    no_new_privs(report)
    drop_capabilities(plan, report)
    after_exec = subprocess.run(
        ["grep", "^Cap", "/proc/self/status"], capture_output=True, text=True, check=True
    ).stdout
    return [what for _, what in report.lines], after_exec


def test_the_capability_drop_holds_across_exec() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    lines, after_exec = run_in_child(_drop_and_exec)
    assert lines[-1] == "all five sets empty"
    assert after_exec.split()[1::2] == ["0" * 16] * 5


def test_layers_describe_themselves() -> None:
    report = LayerReport()
    report.add("seccomp", "filter of 3 instructions")
    report.add("pdeathsig", "SIGKILL")
    assert report.text("tool") == (
        "seccomp-bpf: layers in force for tool:\n"
        "seccomp-bpf:   seccomp    filter of 3 instructions\n"
        "seccomp-bpf:   pdeathsig  SIGKILL\n"
    )
