"""Capabilities (``kernel/capabilities.py``): the name table, and emptying the five sets in
forked children (as root)."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import set_dumpable
from seccomp_bpf.kernel.capabilities import (
    CAPABILITIES,
    CapabilitySets,
    capabilities,
    capability_name,
    keep_only,
    last_capability,
)
from seccomp_bpf.kernel.namespaces import CLONE_NEWUSER, map_own_ids, unshare
from tests.kernel.forked import run_in_child

root = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.getuid() != 0, reason="needs root on Linux"
)
HEADER = Path("/usr/include/linux/capability.h")


def test_the_table_matches_the_kernel_header() -> None:
    if not HEADER.exists():
        pytest.skip("no <linux/capability.h>")
    defined = {
        name: int(number)
        for name, number in re.findall(
            r"#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$", HEADER.read_text(), re.M
        )
    }
    assert {name: CAPABILITIES[name] for name in defined} == defined
    assert capability_name(21) == "CAP_SYS_ADMIN"
    assert capability_name(99) == "capability 99"


def _drop_all() -> tuple[CapabilitySets, str]:
    keep_only()
    status = subprocess.run(
        ["grep", "^Cap", "/proc/self/status"], capture_output=True, text=True, check=True
    )
    return capabilities(), status.stdout


@pytest.mark.kernel
@root
def test_all_five_sets_are_emptied_and_stay_empty_across_exec() -> None:
    sets, after_exec = run_in_child(_drop_all)
    assert sets.all_empty()
    # grep ran as root after an execve: with an empty bounding set it got nothing back.
    assert re.findall(r"^(Cap\w+):\s+0+$", after_exec, re.M) == [
        "CapInh",
        "CapPrm",
        "CapEff",
        "CapBnd",
        "CapAmb",
    ]


def _keep_one(number: int, in_user_namespace: bool) -> tuple[CapabilitySets, str]:
    if in_user_namespace:
        # uid 65534 with every capability of a new user namespace: an execve keeps a
        # capability of a process whose user ID is not 0 only through the ambient set.
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
        set_dumpable(True)  # else /proc/self/uid_map belongs to root
        unshare(CLONE_NEWUSER)
        map_own_ids(65534, 65534)
    keep_only({number})
    status = subprocess.run(
        ["grep", "^CapEff", "/proc/self/status"], capture_output=True, text=True, check=True
    )
    return capabilities(), status.stdout


@pytest.mark.kernel
@root
@pytest.mark.parametrize("in_user_namespace", [False, True], ids=["root", "uid-65534-userns"])
def test_a_kept_capability_survives_exec(in_user_namespace: bool) -> None:
    number = CAPABILITIES["CAP_NET_BIND_SERVICE"]
    sets, after_exec = run_in_child(_keep_one, number, in_user_namespace)
    assert sets.bounding == sets.ambient == sets.effective == frozenset({number})
    assert after_exec.split() == ["CapEff:", f"{1 << number:016x}"]


def _drop_all_unprivileged() -> tuple[frozenset[int], CapabilitySets]:
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
    left = keep_only()
    return left, capabilities()


@pytest.mark.kernel
@root
def test_without_cap_setpcap_the_bounding_set_is_left_and_said() -> None:
    # uid 65534 outside a user namespace of its own: no capability to change the bounding
    # set with (PR_CAPBSET_DROP needs CAP_SETPCAP), nothing held to drop.
    left, sets = run_in_child(_drop_all_unprivileged)
    assert left == sets.bounding != frozenset()
    assert not (sets.effective or sets.permitted or sets.inheritable or sets.ambient)


def _keep_a_missing_one() -> str:
    keep_only()
    try:
        keep_only({CAPABILITIES["CAP_SYS_ADMIN"]})
    except KernelError as error:
        return f"{error.errno} {error}"
    return "kept"


@pytest.mark.kernel
@root
def test_keeping_a_capability_the_process_lacks_is_refused_by_name() -> None:
    message = run_in_child(_keep_a_missing_one)
    assert message.startswith(f"{errno.EPERM} ")
    assert "cannot keep CAP_SYS_ADMIN" in message


def test_last_capability_is_at_least_the_tables() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux")
    assert last_capability() >= max(CAPABILITIES.values()) - 3  # older kernels have fewer
