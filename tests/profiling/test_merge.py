"""Uniting a generated policy with a new run (``profile/merge.py``, ``--merge``)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats import load_yaml_policy, read_policy_file
from seccomp_bpf.policy import ALLOW, ERRNO, Policy
from seccomp_bpf.profiling.arguments import default_specs
from seccomp_bpf.profiling.generate import generate
from seccomp_bpf.profiling.merge import read_generated
from seccomp_bpf.profiling.output import policy_yaml
from seccomp_bpf.profiling.trace import SyscallTrace
from tests.profiling.traces import constant, decide, spec, trace, web_trace

EPERM = ERRNO(errno.EPERM)

pytestmark = pytest.mark.skipif(
    native_arch().name != "x86_64", reason="the traces here are of an x86_64 machine"
)


def written(run: SyscallTrace, tmp_path: Path, **options: object) -> Policy:
    """The policy of ``run`` as the profiler writes it, read back from its file."""
    path = tmp_path / "old.yaml"
    path.write_text(policy_yaml(generate(run, **options)))  # type: ignore[arg-type]
    return read_policy_file(path)


def test_a_merged_policy_allows_what_either_run_did(tmp_path: Path) -> None:
    domain = spec("socket", 0)
    old = written(web_trace(), tmp_path)
    new = trace(
        {"x86_64": {"socket": 1, "getcwd": 2}},
        {"x86_64": {"socket": {domain: [constant("AF_INET6")]}}},
    )
    policy = generate(new, merge=[old]).policy
    for family in ("AF_UNIX", "AF_INET", "AF_INET6"):
        assert decide(policy, "x86_64", "socket", constant(family), 1) == ALLOW, family
    assert decide(policy, "x86_64", "socket", constant("AF_NETLINK"), 1) == EPERM
    assert decide(policy, "x86_64", "getcwd") == ALLOW  # the new run's
    assert decide(policy, "x86_64", "bind") == ALLOW  # the old run's
    assert decide(policy, "x86_64", "chdir") == EPERM
    # the old run's socket type is compared no more: the new run did not record it
    assert decide(policy, "x86_64", "socket", constant("AF_INET"), constant("SOCK_RAW")) == ALLOW


def test_calls_only_the_old_run_made_keep_their_conditions(tmp_path: Path) -> None:
    old = written(web_trace(), tmp_path)
    policy = generate(trace({"x86_64": {"read": 1}}), merge=[old]).policy
    assert decide(policy, "x86_64", "mmap", 0, 0, constant("PROT_READ")) == ALLOW
    assert decide(policy, "x86_64", "mmap", 0, 0, constant("PROT_EXEC")) == EPERM
    assert decide(policy, "x86_64", "socket", constant("AF_INET6"), 1) == EPERM


def test_clone_flags_never_seen_by_either_run_stay_refused(tmp_path: Path) -> None:
    (flags,) = default_specs(["clone"])
    newns, newnet = constant("CLONE_NEWNS"), constant("CLONE_NEWNET")
    old = written(
        trace({"x86_64": {"clone": 1}}, {"x86_64": {"clone": {flags: [newns]}}}), tmp_path
    )
    new = trace({"x86_64": {"clone": 1}}, {"x86_64": {"clone": {flags: [newnet]}}})
    policy = generate(new, merge=[old]).policy
    assert decide(policy, "x86_64", "clone", newns) == ALLOW
    assert decide(policy, "x86_64", "clone", newnet) == ALLOW
    assert decide(policy, "x86_64", "clone", constant("CLONE_NEWPID")) == EPERM
    assert decide(policy, "x86_64", "clone", constant("CLONE_VM")) == ALLOW


def test_denied_calls_stay_denied(tmp_path: Path) -> None:
    old = written(web_trace(), tmp_path, deny=["openat"])
    earlier = read_generated(old)
    assert earlier.denied == {"openat"}
    policy = generate(trace({"x86_64": {"openat": 5}}), merge=[old]).policy
    assert decide(policy, "x86_64", "openat") == EPERM


def test_the_merged_arches_are_kept(tmp_path: Path) -> None:
    old = written(trace({"x86_64": {"read": 1}, "i386": {"getpid": 1}}), tmp_path)
    policy = generate(trace({"x86_64": {"write": 1}}), merge=[old]).policy
    assert policy.arches == ("x86_64", "i386")
    assert decide(policy, "i386", "getpid") == ALLOW
    # each ABI keeps what it did
    assert decide(policy, "x86_64", "getpid") == EPERM
    assert decide(policy, "i386", "read") == EPERM
    assert decide(policy, "x86_64", "read") == ALLOW


def test_a_policy_the_profiler_did_not_write_is_refused_at_its_rule() -> None:
    text = (
        "default_action: errno(EPERM)\n"
        "syscalls:\n"
        "  - names: [read]\n"
        "    action: allow\n"
        "  - names: [write]\n"
        "    action: allow\n"
        "    when: {arg: 0, op: gt, value: 2}\n"
    )
    policy = load_yaml_policy(text, source="hand.yaml")
    with pytest.raises(PolicyError, match=r"hand\.yaml:5:.*rule 2.*--merge"):
        read_generated(policy)


def test_clone3_failing_with_enosys_is_written_again_not_denied(tmp_path: Path) -> None:
    (flags,) = default_specs(["clone"])
    old = written(trace({"x86_64": {"clone": 1}}, {"x86_64": {"clone": {flags: [0]}}}), tmp_path)
    assert old.rules[0].syscalls == ("clone3",)
    earlier = read_generated(old)
    assert "clone3" not in earlier.denied
    policy = generate(trace({"x86_64": {"read": 1}}), merge=[old]).policy
    assert decide(policy, "x86_64", "clone3") == ERRNO(errno.ENOSYS)
    assert decide(policy, "x86_64", "clone", 0) == ALLOW


def test_an_old_policy_allowing_clone3_is_merged_into_clone(tmp_path: Path) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(
        "default_action: errno(EPERM)\narches: [x86_64]\nsyscalls:\n"
        "  - names: [clone3, read]\n    action: allow\n"
    )
    policy = generate(trace({"x86_64": {"write": 1}}), merge=[read_policy_file(path)]).policy
    assert decide(policy, "x86_64", "clone3") == ERRNO(errno.ENOSYS)
    assert decide(policy, "x86_64", "clone", constant("CLONE_VM")) == ALLOW
    assert decide(policy, "x86_64", "clone", constant("CLONE_NEWUSER")) == EPERM
