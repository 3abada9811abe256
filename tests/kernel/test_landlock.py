"""Landlock (``kernel/landlock.py``): its numbers per ABI, the rights of each ABI version, and
real domains in forked children."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import landlock, set_no_new_privs
from tests.kernel.forked import run_in_child
from tests.kernel.test_abi import SYSTEM_CALLS_TABLES

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")


def test_every_abi_is_checked_against_system_calls() -> None:
    assert set(landlock.LANDLOCK_NUMBERS) == set(SYSTEM_CALLS_TABLES)


@pytest.mark.parametrize("abi", sorted(SYSTEM_CALLS_TABLES))
def test_numbers_match_the_system_calls_package(abi: str) -> None:
    system_calls = pytest.importorskip("system_calls")
    tables = system_calls.syscalls()
    table = SYSTEM_CALLS_TABLES[abi]
    names = ("landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self")
    assert landlock.LANDLOCK_NUMBERS[abi] == tuple(tables.get(name, table) for name in names)


def test_rights_by_abi_version() -> None:
    assert landlock.fs_rights_for(0) == 0
    assert landlock.fs_rights_for(1) == 0x1FFF  # EXECUTE .. MAKE_SYM
    assert landlock.fs_rights_for(2) == 0x1FFF | landlock.ACCESS_FS_REFER
    assert landlock.fs_rights_for(4) == landlock.fs_rights_for(3)
    assert landlock.fs_rights_for(3) & landlock.ACCESS_FS_TRUNCATE
    assert not landlock.fs_rights_for(4) & landlock.ACCESS_FS_IOCTL_DEV
    assert landlock.fs_rights_for(7) == landlock.fs_rights_for(5) == 0xFFFF
    assert landlock.net_rights_for(3) == 0
    assert landlock.net_rights_for(4) == 3
    assert landlock.scopes_for(5) == 0
    assert landlock.scopes_for(6) == 3


def _abi() -> int:
    abi: int = run_in_child(landlock.abi_version)
    return abi


landlock_here = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _abi() < 1, reason="needs Landlock"
)


def _read_inside_and_outside(inside: str, outside: str) -> tuple[str, int]:
    ruleset = landlock.create_ruleset(landlock.ACCESS_FS_READ_FILE | landlock.ACCESS_FS_READ_DIR)
    fd = os.open(os.path.dirname(inside), os.O_PATH | os.O_CLOEXEC)
    landlock.add_path_rule(ruleset, landlock.ACCESS_FS_READ_FILE, fd)
    os.close(fd)
    set_no_new_privs()
    landlock.restrict_self(ruleset)
    os.close(ruleset)
    with open(inside) as file:
        text = file.read()
    try:
        open(outside).close()
    except OSError as error:
        return text, error.errno or 0
    return text, 0


@pytest.mark.kernel
@landlock_here
def test_a_domain_reads_beneath_its_rules_only(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "file").write_text("granted")
    (tmp_path / "out").write_text("refused")
    text, code = run_in_child(
        _read_inside_and_outside, str(tmp_path / "in" / "file"), str(tmp_path / "out")
    )
    assert (text, code) == ("granted", errno.EACCES)


def _restrict_without_no_new_privs() -> str:
    os.setresuid(65534, 65534, 65534)  # no CAP_SYS_ADMIN either
    ruleset = landlock.create_ruleset(landlock.ACCESS_FS_READ_FILE)
    try:
        landlock.restrict_self(ruleset)
    except KernelError as error:
        return str(error)
    return "restricted"


def _file_with_directory_rights(path: str) -> str:
    ruleset = landlock.create_ruleset(landlock.fs_rights_for(1))
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        landlock.add_path_rule(ruleset, landlock.ACCESS_FS_READ_DIR, fd, path=path)
    except KernelError as error:
        return str(error)
    return "added"


@pytest.mark.kernel
@landlock_here
def test_errors_name_the_call_and_say_why(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to become uid 65534")
    message = run_in_child(_restrict_without_no_new_privs)
    assert "landlock_restrict_self" in message and "no_new_privs or CAP_SYS_ADMIN" in message
    (tmp_path / "file").write_text("")
    message = run_in_child(_file_with_directory_rights, str(tmp_path / "file"))
    assert str(tmp_path / "file") in message and "a file takes only file rights" in message


def _signal_outside(pid: int) -> int:
    ruleset = landlock.create_ruleset(0, 0, landlock.SCOPE_SIGNAL)
    set_no_new_privs()
    landlock.restrict_self(ruleset)
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno or 0
    return 0


@pytest.mark.kernel
@linux
def test_signal_scoping_stops_signals_leaving_the_domain() -> None:
    if _abi() < landlock.ABI_SCOPE:
        pytest.skip("needs Landlock ABI 6")
    assert run_in_child(_signal_outside, os.getpid()) == errno.EPERM


def test_the_probe_answers_without_raising() -> None:
    abi = landlock.abi_version()
    assert abi >= 0
    if sys.platform.startswith("linux") and abi:
        assert landlock.fs_rights_for(abi) & landlock.ACCESS_FS_READ_FILE
