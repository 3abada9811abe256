"""The sandbox's mount namespace (``run/mount_namespace.py``), built in a forked child: what
it holds, what is read-only, and that the host's mounts are the same afterwards."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from seccomp_bpf.kernel.mounts import mount_points
from seccomp_bpf.kernel.namespaces import CLONE_NEWNS, unshare
from seccomp_bpf.policy import Sandbox
from seccomp_bpf.run import mount_namespace
from seccomp_bpf.run.plan import plan_sandbox
from tests.kernel.forked import run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.getuid() != 0, reason="needs root on Linux"
    ),
]


def _open_for_writing(path: str) -> int:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
    except OSError as error:
        return error.errno or -1
    return 0


def _inside(cwd: str, granted: str) -> dict[str, object]:
    os.chdir(cwd)
    unshare(CLONE_NEWNS)
    plan = plan_sandbox(Sandbox(share_pid=True, ro=(granted,)), cwd=cwd, environ={})
    notes = mount_namespace.set_up(plan)
    Path("written").write_text("x")
    return {
        "notes": notes,
        "cwd": os.getcwd(),
        "dev": sorted(os.listdir("/dev")),
        "tmp": sorted(os.listdir("/tmp")),
        "core_pattern": _open_for_writing("/proc/sys/kernel/core_pattern"),
        "sys": _open_for_writing("/sys/kernel/mm/transparent_hugepage/enabled"),
        "etc": _open_for_writing("/etc/passwd"),
        "granted": _open_for_writing(os.path.join(granted, "file")),
        "read granted": Path(granted, "file").read_text(),
        "null": _open_for_writing("/dev/null"),
        "shm": Path("/dev/shm").is_dir(),
    }


def test_the_mount_namespace(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    granted = tmp_path / "granted"
    granted.mkdir()
    (granted / "file").write_text("readable\n")
    host = [(p.path, p.filesystem, p.read_only) for p in mount_points()]
    seen = run_in_child(_inside, str(work), str(granted))
    assert seen["notes"] == []
    assert seen["cwd"] == str(work)
    assert seen["dev"] == sorted(
        ["fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
         "tty", "urandom", "zero"]
    )  # fmt: skip
    # /tmp is the sandbox's own: only the way down to the working directory and the grant.
    assert seen["tmp"] == [tmp_path.parts[2]]
    assert seen["core_pattern"] == seen["sys"] == seen["etc"] == errno.EROFS
    assert seen["granted"] == errno.EROFS and seen["read granted"] == "readable\n"
    assert seen["null"] == 0 and seen["shm"] is True
    # The work happened in the real directory; the host's mounts did not change.
    assert (work / "written").read_text() == "x"
    assert [(p.path, p.filesystem, p.read_only) for p in mount_points()] == host
    assert _open_for_writing("/proc/sys/kernel/core_pattern") == 0  # (opened, not written)


def _beneath_a_read_only_grant(cwd: str, granted: str) -> tuple[int, int]:
    os.chdir(cwd)
    unshare(CLONE_NEWNS)
    plan = plan_sandbox(Sandbox(share_pid=True, rox=(granted,)), cwd=cwd, environ={})
    mount_namespace.set_up(plan)
    return _open_for_writing(os.path.join(cwd, "new")), _open_for_writing(
        os.path.join(granted, "file")
    )


def test_a_writable_directory_inside_a_read_only_grant_stays_writable(tmp_path: Path) -> None:
    # Both under /tmp: bound into the sandbox's own /tmp, the outer one first.
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "file").write_text("x")
    (work / "new").write_text("")
    assert run_in_child(_beneath_a_read_only_grant, str(work), str(tmp_path)) == (0, errno.EROFS)
