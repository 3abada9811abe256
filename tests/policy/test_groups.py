"""The named system call groups: real names, documented, usable from YAML and Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seccomp_bpf.arch import all_arches, get_arch, known_syscall_names
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import groups
from seccomp_bpf.policy.groups import GROUPS, get_group, groups_markdown, select

DOCS = Path(__file__).parents[2] / "docs" / "groups.md"

# The groups the policy groups command and the documentation promise.
PROMISED = ("file-system", "network", "process", "ipc", "time", "privileged", "signals",
            "memory", "system-info")  # fmt: skip


@pytest.mark.parametrize("group", list(GROUPS.values()), ids=lambda g: g.name)
def test_every_member_is_a_system_call_somewhere(group: groups.SyscallGroup) -> None:
    known = known_syscall_names()
    assert [m for m in group.members if m not in known] == []
    assert group.members == tuple(sorted(set(group.members)))
    assert group.description and group.token == "@" + group.name


def test_the_promised_groups_exist_with_python_names() -> None:
    for name in PROMISED:
        constant = getattr(groups, name.upper().replace("-", "_"))
        assert constant == GROUPS[name].members


def test_privileged_holds_the_administration_groups() -> None:
    for part in ("mount", "module", "reboot", "swap", "clock", "raw-io"):
        assert set(GROUPS[part].members) <= set(groups.PRIVILEGED)
    assert {"bpf", "acct", "sethostname"} <= set(groups.PRIVILEGED)


def test_docs_are_the_generated_text() -> None:
    assert DOCS.read_text(encoding="utf-8") == groups_markdown()
    documented = re.findall(r"^## @(\S+)$", groups_markdown(), re.MULTILINE)
    assert documented == list(GROUPS)


def test_get_group_accepts_the_at_sign_and_suggests() -> None:
    assert get_group("@network") is get_group("network")
    with pytest.raises(PolicyError, match=r"unknown group @netwrok; did you mean @network\?"):
        get_group("@netwrok")


def test_select_keeps_what_the_arches_have() -> None:
    # stat64 and socketcall are i386 calls, not x86_64 ones; recv reaches i386 only
    # through socketcall (<linux/net.h> SYS_RECV).
    x86_64 = select(["@network", "stat64", "read"], ["x86_64"])
    assert "socketcall" not in x86_64 and "recv" not in x86_64 and "stat64" not in x86_64
    assert {"socket", "read"} <= set(x86_64)
    i386 = select(["@network", "stat64"], [get_arch("i386")])
    assert {"socketcall", "recv", "stat64"} <= set(i386)


def test_every_arch_has_some_of_every_everyday_group() -> None:
    for arch in all_arches():
        for name in ("basic-io", "file-system", "process", "memory", "signals", "time"):
            assert select(["@" + name], [arch]), (arch.name, name)
