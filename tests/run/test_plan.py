"""Planning a sandbox (``run/plan.py``): what is granted where, what is said, what is refused,
before anything runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from seccomp_bpf.errors import LayerUnavailableError, SandboxError
from seccomp_bpf.kernel import landlock
from seccomp_bpf.policy import Sandbox
from seccomp_bpf.run.plan import (
    DEVICE,
    RIGHTS,
    ROOT_WITHOUT_MOUNTS,
    SandboxPlan,
    plan_sandbox,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")

NO_LANDLOCK = {"SECCOMP_BPF_LANDLOCK_ABI": "0"}


def plan(sandbox: Sandbox | None, cwd: Path, **environ: str) -> SandboxPlan:
    return plan_sandbox(sandbox, cwd=str(cwd), environ={"HOME": "/home/someone", **environ})


def rights(result: SandboxPlan) -> dict[str, int]:
    granted: dict[str, int] = {}
    for grant in result.grants:
        granted[grant.path] = granted.get(grant.path, 0) | grant.rights
    return granted


def test_the_default_paths(tmp_path: Path) -> None:
    result = plan(None, tmp_path)
    granted = rights(result)
    assert granted["/"] == landlock.ACCESS_FS_READ_DIR
    assert granted["/usr"] == granted["/etc"] == RIGHTS["rox"]
    assert "/dev" not in granted
    assert granted["/dev/null"] == granted["/dev/urandom"] == DEVICE
    assert granted["/dev/pts"] & landlock.ACCESS_FS_IOCTL_DEV  # the sandbox's own devpts
    assert granted[str(tmp_path)] == granted["/tmp"] == RIGHTS["rwx"]
    assert str(tmp_path) in result.writable
    assert not any(path.startswith(("/proc/", "/sys/")) for path in granted)
    assert result.keep == frozenset()
    # Without namespaces, the host's terminals are not granted.
    bare = plan(Sandbox(namespaces=False), tmp_path)
    assert "/dev/pts" not in rights(bare)


@pytest.mark.parametrize("where", ["home", "above home", "root"])
def test_a_working_directory_that_holds_the_home_directory_stays_read_only(
    tmp_path: Path, where: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cwd = {"home": home, "above home": tmp_path, "root": Path("/")}[where]
    result = plan_sandbox(None, cwd=str(cwd), environ={"HOME": str(home)})
    assert str(cwd) not in result.writable
    # Beneath /tmp, which the sandbox has its own of: bound back, read-only.
    assert (str(cwd) in result.read_only) == (where != "root")
    (line,) = [n for n in result.notes if n.startswith("filesystem: the working directory")]
    assert f"give --rw {cwd} to let the program write there" in line
    below = home / "project"
    below.mkdir()
    assert str(below) in plan_sandbox(None, cwd=str(below), environ={"HOME": str(home)}).writable


def test_grants_are_resolved_and_checked(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "home" / "cache").mkdir(parents=True)
    sandbox = Sandbox(ro=("data",), rw=("~/cache",))
    result = plan_sandbox(sandbox, cwd=str(tmp_path), environ={"HOME": str(tmp_path / "home")})
    granted = rights(result)
    assert granted[str(tmp_path / "data")] == RIGHTS["ro"]
    assert granted[str(tmp_path / "home" / "cache")] == RIGHTS["rw"]
    assert str(tmp_path / "data") in result.read_only
    with pytest.raises(SandboxError, match=r"^--rox: cannot grant rox on nowhere: No such file"):
        plan(Sandbox(rox=("nowhere",)), tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(SandboxError, match="not a directory, a file or a character device"):
        plan(Sandbox(rw=("fifo",)), tmp_path)


def test_the_command_is_granted_and_bound_in_from_tmp(tmp_path: Path) -> None:
    program = tmp_path / "tool"
    program.write_text("#!/bin/sh\n")
    result = plan_sandbox(None, cwd="/", environ={}, executable=str(program))
    assert rights(result)[str(program)] == RIGHTS["rox"]
    assert str(program) in result.read_only  # under /tmp: bound into the sandbox's own


def test_capabilities_kept() -> None:
    assert plan_sandbox(Sandbox(capabilities=("net_raw",)), environ={}).keep == frozenset({13})
    assert plan_sandbox(Sandbox(capabilities=("all",)), environ={}).keep is None


def test_landlock_lowered_turned_off_and_required(tmp_path: Path) -> None:
    if landlock.abi_version() < landlock.ABI_SCOPE:
        pytest.skip("needs Landlock ABI 6")
    off = plan(None, tmp_path, **NO_LANDLOCK)
    assert off.landlock_abi == 0
    assert off.notes == ("landlock not in force: SECCOMP_BPF_LANDLOCK_ABI=0 turns it off",)
    assert plan(Sandbox(landlock=False), tmp_path).notes == ()  # turned off: nothing to say
    with pytest.raises(LayerUnavailableError) as raised:
        plan(Sandbox(require=("landlock",)), tmp_path, **NO_LANDLOCK)
    assert (raised.value.layer, raised.value.exit_status) == ("landlock", 123)
    with pytest.raises(LayerUnavailableError, match="landlock-scope is required, but"):
        plan(Sandbox(require=("landlock-scope",)), tmp_path, SECCOMP_BPF_LANDLOCK_ABI="5")
    with pytest.raises(LayerUnavailableError, match="Landlock is turned off"):
        plan(Sandbox(landlock=False, require=("landlock",)), tmp_path)
    with pytest.raises(LayerUnavailableError, match=r"--tcp-connect needs Landlock ABI 4"):
        plan(Sandbox(tcp_connect=(443,)), tmp_path, SECCOMP_BPF_LANDLOCK_ABI="3")
    with pytest.raises(SandboxError, match="give a Landlock ABI version"):
        plan(None, tmp_path, SECCOMP_BPF_LANDLOCK_ABI="seven")
    # It can lower the ABI, never raise it.
    assert (
        plan(None, tmp_path, SECCOMP_BPF_LANDLOCK_ABI="99").landlock_abi == landlock.abi_version()
    )


def test_namespaces_required_but_turned_off(tmp_path: Path) -> None:
    with pytest.raises(LayerUnavailableError, match="namespaces are required, but turned off"):
        plan(Sandbox(namespaces=False, require=("namespaces",)), tmp_path)


def test_without_namespaces(tmp_path: Path) -> None:
    result = plan(None, tmp_path)
    fallback = result.without_namespaces("namespaces not in force: because")
    assert not (fallback.namespaces or fallback.pid_namespace or fallback.user_namespace)
    assert "/dev/pts" not in rights(fallback)
    assert "namespaces not in force: because" in fallback.notes
    if os.geteuid() == 0 and result.landlock_abi:
        assert ROOT_WITHOUT_MOUNTS in fallback.notes
    assert result.pid_namespace
    assert result.user_namespace == (os.geteuid() != 0)  # root has CAP_SYS_ADMIN
