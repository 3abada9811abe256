"""systemd's ``SystemCallFilter=`` groups: systemd's members under systemd's names, in
policies, beside this project's own groups."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.cli import main
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.policy import ALLOW, ERRNO
from seccomp_bpf.policy.groups import (
    GROUPS,
    SYSTEMD_GROUPS,
    get_group,
    groups_markdown,
)
from seccomp_bpf.policy.systemd_groups import SYSTEMD_DEFINITIONS, SYSTEMD_VERSION

# The names a systemd user writes that this project did not know before.
SYSTEMD_ONLY = (
    "signal",
    "network-io",
    "timer",
    "resources",
    "system-service",
    "default",
    "known",
    "chown",
    "memlock",
    "pkey",
)


def systemd_analyze_lists() -> dict[str, list[str]]:
    """``systemd-analyze syscall-filter``: each group's entries as systemd prints them."""
    output = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lists: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("@"):
            current = lists.setdefault(line.strip()[1:], [])
        elif line.startswith("    ") and current is not None:
            entry = line.strip()
            if not entry.startswith("#"):
                current.append(entry)
        elif line.startswith("#"):
            current = None  # the list of calls in no group follows
    return lists


def installed_systemd_version() -> str | None:
    if shutil.which("systemd-analyze") is None:
        return None
    first = subprocess.run(
        ["systemd-analyze", "--version"], capture_output=True, text=True, check=False
    ).stdout.split("\n", 1)[0]
    match = re.search(r"\((\d+(?:\.\d+)?)", first)  # "systemd 252 (252.38-1~deb12u1)"
    return match.group(1) if match else None


def test_the_lists_are_systemd_s() -> None:
    version = installed_systemd_version()
    if version is None or version.split(".")[0] != SYSTEMD_VERSION.split(".")[0]:
        pytest.skip(f"needs systemd {SYSTEMD_VERSION} (systemd-analyze), not {version}")
    lists = systemd_analyze_lists()
    ours = {name: text.split() for name, _, text in SYSTEMD_DEFINITIONS}
    if version != SYSTEMD_VERSION:
        # another point release of the same branch: the groups may differ by a call or two
        assert set(lists) == set(ours)
        return
    assert lists == ours


def test_systemd_names_mean_what_systemd_says() -> None:
    for name in SYSTEMD_ONLY:
        assert name not in GROUPS
        assert get_group("@" + name) is SYSTEMD_GROUPS[name]
        assert get_group("@systemd:" + name) is SYSTEMD_GROUPS[name]
    # nested groups are systemd's: @system-service holds systemd's @ipc (process_vm_readv),
    # not this project's, and systemd's @default (mmap)
    service = set(get_group("@system-service").members)
    assert {"process_vm_readv", "mmap", "read", "socket", "clone", "setuid"} <= service
    assert not {"mount", "reboot", "init_module", "swapon", "ptrace"} & service
    assert set(get_group("@systemd:file-system").members) <= service
    assert set(get_group("@known").members) >= set(get_group("@systemd:obsolete").members)


def test_shared_names_keep_this_project_s_meaning() -> None:
    for name, group in SYSTEMD_GROUPS.items():
        if name in GROUPS:
            assert get_group(name) is GROUPS[name]
            assert group.name == f"systemd:{name}"
            assert get_group(f"@systemd:{name}") is group
    # they differ: systemd puts io_uring in @aio and process_vm_readv in @ipc
    assert "io_uring_setup" in get_group("@systemd:aio").members
    assert "io_uring_setup" not in get_group("@aio").members
    assert "process_vm_readv" in get_group("@systemd:ipc").members
    assert "process_vm_readv" not in get_group("@ipc").members


def test_an_unknown_group_suggests_systemd_s_names_too() -> None:
    with pytest.raises(PolicyError, match=r"unknown group @system-servce; did you mean "
                       r"@system-service\?"):  # fmt: skip
        get_group("@system-servce")
    with pytest.raises(PolicyError, match=r"unknown group @systemd:network"):
        get_group("@systemd:network")  # ours only; systemd's is @network-io


def test_a_policy_written_with_systemd_s_groups(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        default_action: errno(EPERM)
        arches: [x86_64+compat]
        multiplexer_conditions: strict
        syscalls:
          - names: ["@systemd:privileged", "@systemd:debug", "@systemd:mount"]
            action: errno(EPERM)
          - names: ["@system-service"]
            action: allow
        """
    )
    path = tmp_path / "service.yaml"
    path.write_text(text)
    policy = load_yaml_policy(text, source=str(path))
    x86_64, i386 = get_arch("x86_64"), get_arch("i386")
    for arch, name, action in (
        (x86_64, "read", ALLOW),
        (x86_64, "rt_sigaction", ALLOW),  # systemd's @signal
        (x86_64, "timerfd_create", ALLOW),  # @timer
        (x86_64, "mlock", ALLOW),  # @memlock
        (x86_64, "setuid", ERRNO(1)),  # in @system-service, but systemd's @privileged first
        (x86_64, "setgid", ALLOW),  # @setuid, and not privileged for systemd
        (x86_64, "mount", ERRNO(1)),
        (x86_64, "pkey_alloc", ERRNO(1)),  # @pkey is not in @system-service
        (i386, "socketcall", ALLOW),  # systemd's @network-io has it
        (i386, "_llseek", ALLOW),
    ):
        nr = arch.syscalls[name]
        assert policy.evaluate(arch, nr) == action, (arch.name, name)
    assert main(["check", str(path)]) == 0
    assert main(["compile", str(path), "-o", str(tmp_path / "service.bpf")]) == 0


def test_every_group_systemd_users_write_compiles(tmp_path: Path) -> None:
    for name in SYSTEMD_ONLY:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f'default_action: errno(EPERM)\narches: [native]\nsyscalls:\n'
            f'  - names: ["@{name}"]\n    action: allow\n'
        )
        assert main(["compile", str(path), "-o", str(tmp_path / f"{name}.bpf")]) == 0, name


def test_groups_md_documents_systemd_s_groups_and_the_differences() -> None:
    text = groups_markdown()
    assert f"systemd v{SYSTEMD_VERSION} gives them" in " ".join(text.split())
    documented = re.findall(r"^### @(\S+)$", text, re.MULTILINE)
    assert documented == [group.name for group in SYSTEMD_GROUPS.values()]
    section = text.split("### @systemd:aio\n", 1)[1].split("###", 1)[0]
    assert "systemd's also has `io_uring_enter`, `io_uring_register`, `io_uring_setup`" in (
        section
    )
