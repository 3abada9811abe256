"""``--allow``/``--deny`` lists (``profiling/name_lists.py``): names of any architecture,
``@FILE`` list files with comments, applied alike to recorded, merged and static profiles."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats import load_yaml_policy
from seccomp_bpf.policy import ALLOW, ERRNO
from seccomp_bpf.profiling.generate import generate
from seccomp_bpf.profiling.name_lists import resolve_names
from seccomp_bpf.profiling.output import policy_yaml
from tests.profiling.traces import decide, trace, web_trace

EPERM = ERRNO(errno.EPERM)
X86_64, I386 = get_arch("x86_64"), get_arch("i386")


def test_a_name_of_another_architecture_is_accepted_with_one_note() -> None:
    assert "chown32" not in X86_64.syscalls and "chown32" in I386.syscalls
    names = resolve_names(["chown32", "read", "chown32", "fcntl64"], [X86_64], "--allow")
    assert names.keys == ["read"]
    assert names.notes == ["--allow: no system call of x86_64, ignored there: chown32, fcntl64"]
    # where the policy has an ABI with the call, it applies there and is ignored elsewhere
    both = resolve_names(["chown32"], [X86_64, I386], "--allow")
    assert both.keys == ["chown32"]
    assert both.notes == ["--allow: no system call of x86_64, ignored there: chown32"]


def test_generate_allows_it_where_it_exists_and_says_what_it_ignored() -> None:
    run = trace({"x86_64": {"read": 3}, "i386": {"read": 1}})
    generated = generate(run, allow=["chown32"], arguments=False)
    assert decide(generated.policy, "i386", "chown32") == ALLOW
    assert generated.remarks == ("--allow: no system call of x86_64, ignored there: chown32",)
    text = policy_yaml(generated)
    assert "# Note: --allow: no system call of x86_64, ignored there: chown32." in text
    assert load_yaml_policy(text) == generated.policy
    # on x86_64 alone it changes nothing
    alone = generate(trace({"x86_64": {"read": 3}}), arguments=False)
    ignored = generate(trace({"x86_64": {"read": 3}}), allow=["chown32"], arguments=False)
    assert ignored.policy.rules == alone.policy.rules


def test_a_name_no_architecture_has_is_still_a_typo() -> None:
    with pytest.raises(PolicyError, match=r"--deny chwn32: .*did you mean 'chown'"):
        resolve_names(["chwn32"], [X86_64], "--deny")


def _list(tmp_path: Path, text: str) -> str:
    path = tmp_path / "names.list"
    path.write_text(text)
    return str(path)


def test_a_list_file_with_comments_blank_lines_and_groups(tmp_path: Path) -> None:
    path = _list(
        tmp_path,
        "# what the service may always do\n"
        "\n"
        "getcwd        # trailing comment\n"
        "  chown32\n"
        "@time\n"
        "uname  sysinfo\n"
        "   # indented comment\n",
    )
    names = resolve_names([f"@{path}", "read"], [X86_64], "--allow")
    assert names.keys[0] == "getcwd" and names.keys[-1] == "read"
    assert {"getcwd", "uname", "sysinfo", "read", "nanosleep", "clock_gettime"} <= set(names.keys)
    assert "chown32" not in names.keys
    assert names.notes == ["--allow: no system call of x86_64, ignored there: chown32"]


def test_a_mistake_in_a_list_file_names_its_line_and_column(tmp_path: Path) -> None:
    path = _list(tmp_path, "read\n# fine\nwrite  reed\n")
    with pytest.raises(PolicyError) as caught:
        resolve_names([f"@{path}"], [X86_64], "--deny")
    error = caught.value
    assert (error.source, error.line, error.column) == (path, 3, 8)
    assert "--deny reed" in str(error) and "did you mean 'read'" in str(error)
    nested = _list(tmp_path, "read\n@other.list\n")
    with pytest.raises(PolicyError, match="not other files") as caught:
        resolve_names([f"@{nested}"], [X86_64], "--allow")
    assert (caught.value.line, caught.value.column) == (2, 1)


def test_at_names_a_group_first_then_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "time").write_text("getcwd\n")
    assert "getcwd" not in resolve_names(["@time"], [X86_64], "--allow").keys
    assert resolve_names(["@./time"], [X86_64], "--allow").keys == ["getcwd"]
    with pytest.raises(PolicyError, match=r"--allow @tiem: no list file 'tiem', and unknown group"):
        resolve_names(["@tiem"], [X86_64], "--allow")
    (tmp_path / "unreadable").mkdir()
    with pytest.raises(PolicyError, match="@unreadable: cannot read the list"):
        resolve_names(["@unreadable"], [X86_64], "--allow")


def test_lists_apply_to_merged_profiles_too(tmp_path: Path) -> None:
    """A call an earlier profile allowed is denied by a deny list given at the merge; an
    allow list adds to both."""
    earlier = generate(trace({"x86_64": {"read": 1, "getcwd": 2}}), arguments=False)
    merged_from = load_yaml_policy(policy_yaml(earlier), source="old.yaml")
    deny = _list(tmp_path, "getcwd  # no longer wanted\n")
    generated = generate(
        trace({"x86_64": {"write": 1}}),
        merge=[merged_from],
        deny=[f"@{deny}"],
        allow=["uname"],
        arguments=False,
    )
    policy = generated.policy
    assert decide(policy, "x86_64", "getcwd") == EPERM
    assert decide(policy, "x86_64", "read") == ALLOW
    assert decide(policy, "x86_64", "write") == ALLOW
    assert decide(policy, "x86_64", "uname") == ALLOW


def test_web_trace_with_both_lists_from_files(tmp_path: Path) -> None:
    allow = _list(tmp_path, "getcwd\n")
    deny = tmp_path / "deny.list"
    deny.write_text("# never\nsocket\n")
    policy = generate(web_trace(), allow=[f"@{allow}"], deny=[f"@{deny}"]).policy
    assert decide(policy, "x86_64", "getcwd") == ALLOW
    assert decide(policy, "x86_64", "socket") == EPERM
