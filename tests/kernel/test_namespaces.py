"""``unshare`` and user-namespace ID maps (``kernel/namespaces.py``), in forked children."""

from __future__ import annotations

import errno
import os
import sys
import threading
import time

import pytest

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import set_dumpable
from seccomp_bpf.kernel.namespaces import (
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    flag_names,
    map_own_ids,
    unshare,
)
from tests.kernel.forked import run_in_child

root = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.getuid() != 0, reason="needs root on Linux"
)


def test_flag_names() -> None:
    assert flag_names(CLONE_NEWUSER | CLONE_NEWPID) == "CLONE_NEWUSER|CLONE_NEWPID"
    assert flag_names(CLONE_NEWNS | 1) == "CLONE_NEWNS|0x1"
    assert flag_names(0) == "0"


def _as_nobody_in_a_user_namespace() -> tuple[int, int, str, str]:
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
    set_dumpable(True)  # else /proc/self/uid_map belongs to root
    unshare(CLONE_NEWUSER)
    map_own_ids(65534, 65534)
    with open("/proc/self/uid_map", "rb") as uid_map, open("/proc/self/setgroups", "rb") as groups:
        return os.getuid(), os.getgid(), uid_map.read().decode(), groups.read().decode()


@pytest.mark.kernel
@root
def test_a_user_maps_its_own_ids_to_the_same_numbers() -> None:
    uid, gid, uid_map, setgroups = run_in_child(_as_nobody_in_a_user_namespace)
    assert (uid, gid) == (65534, 65534)
    assert uid_map.split() == ["65534", "65534", "1"]
    assert setgroups.strip() == "deny"


def _user_namespace_with_a_thread() -> str:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        unshare(CLONE_NEWUSER)
    except KernelError as error:
        return f"{error.errno} {error}"
    finally:
        stop.set()
        thread.join()
    return "unshared"


@pytest.mark.kernel
@root
def test_errors_name_the_flags_and_the_reason() -> None:
    message = run_in_child(_user_namespace_with_a_thread)
    assert message.startswith(f"{errno.EINVAL} ")
    assert "unshare(CLONE_NEWUSER)" in message and "single-threaded" in message


def _pid_one() -> tuple[int, int]:
    unshare(CLONE_NEWPID)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, b"%d %d" % (os.getpid(), os.getppid()))
        os._exit(0)
    os.waitpid(pid, 0)
    inner, parent = os.read(read_end, 64).split()
    time.sleep(0)
    return int(inner), int(parent)


@pytest.mark.kernel
@root
def test_the_first_child_after_unshare_is_pid_one() -> None:
    # Its parent is outside the namespace, so it sees parent 0.
    assert run_in_child(_pid_one) == (1, 0)
