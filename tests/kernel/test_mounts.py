"""Mounts (``kernel/mounts.py``): mountinfo, and a read-only remount in a private mount
namespace that the rest of the machine never sees."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.mounts import (
    MS_NODEV,
    MS_NOSUID,
    mount,
    mount_flags,
    mount_points,
    remount_read_only,
    stop_propagation,
)
from seccomp_bpf.kernel.namespaces import CLONE_NEWNS, unshare
from tests.kernel.forked import run_in_child

root = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.getuid() != 0, reason="needs root on Linux"
)

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:40 / /mnt/with\\040space\\011tab ro,nosuid shared:3 - tmpfs none rw
"""


def test_mountinfo_is_read_with_escapes(tmp_path: Path) -> None:
    path = tmp_path / "mountinfo"
    path.write_text(MOUNTINFO)
    points = mount_points(str(path))
    assert [p.path for p in points] == ["/proc", "/", "/mnt/with space\ttab"]
    assert points[2].read_only and points[2].filesystem == "tmpfs"
    assert (points[2].mount_id, points[2].parent_id) == (40, 27)
    assert not points[0].read_only


def _read_only_tmpfs(directory: str) -> tuple[int, bool, bool]:
    unshare(CLONE_NEWNS)
    stop_propagation()
    mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k")
    Path(directory, "before").write_text("x")
    remount_read_only(directory)
    try:
        Path(directory, "after").write_text("x")
    except OSError as error:
        code = error.errno or 0
    else:
        code = 0
    point = next(p for p in mount_points() if p.path == directory)
    return code, point.read_only, bool(mount_flags(directory) & MS_NOSUID)


@pytest.mark.kernel
@root
def test_a_read_only_remount_stays_in_its_namespace(tmp_path: Path) -> None:
    code, read_only, kept_nosuid = run_in_child(_read_only_tmpfs, str(tmp_path))
    assert (code, read_only, kept_nosuid) == (errno.EROFS, True, True)
    # Outside, nothing was mounted: the directory is still empty and writable.
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "outside").write_text("x")
    assert all(p.path != str(tmp_path) for p in mount_points())


def _mount_without_privileges(directory: str) -> str:
    unshare(CLONE_NEWNS)
    stop_propagation()
    os.setresuid(65534, 65534, 65534)  # without CAP_SYS_ADMIN
    try:
        mount("tmpfs", directory, "tmpfs", 0)
    except KernelError as error:
        return str(error)
    return "mounted"


@pytest.mark.kernel
@root
def test_errors_name_the_target(tmp_path: Path) -> None:
    message = run_in_child(_mount_without_privileges, "/mnt")
    assert message == "[Errno 1] mount(tmpfs on /mnt, flags=0x0): Operation not permitted"
