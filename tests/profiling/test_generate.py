"""From a trace to a policy (``profile/generate.py``), judged by the reference evaluator."""

from __future__ import annotations

import errno

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import ALLOW, ERRNO
from seccomp_bpf.policy.groups import GROUPS
from seccomp_bpf.profiling.arguments import default_specs
from seccomp_bpf.profiling.generate import ALWAYS_ALLOWED, generate
from seccomp_bpf.profiling.trace import SyscallKey
from tests.profiling.traces import constant, decide, spec, trace, web_trace

EPERM = ERRNO(errno.EPERM)
ENOSYS = ERRNO(errno.ENOSYS)
X86_64 = get_arch("x86_64")
NAMES = sorted(X86_64.syscalls)

pytestmark = pytest.mark.skipif(
    native_arch().name != "x86_64", reason="the traces here are of an x86_64 machine"
)


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), st.integers(1, 1000), min_size=1, max_size=40))
@example({"clone": 1})  # clone3 is named (ENOSYS) only by the rule clone brings
def test_exactly_the_calls_seen_are_allowed(counts: dict[str, int]) -> None:
    calls: dict[SyscallKey, int] = {name: count for name, count in counts.items()}
    policy = generate(trace({"x86_64": calls}), arguments=False).policy
    # clone and clone3 seen: clone allowed; clone3 fails with ENOSYS for C libraries to use
    # clone (its flags are in memory)
    allowed = set(counts) - {"clone3"} | set(ALWAYS_ALLOWED)
    if {"clone", "clone3"} & set(counts):
        allowed.add("clone")
    # calls newer than the highest named (newer_syscall_action) fail with ENOSYS too; the
    # rule that makes clone3 fail names it wherever clone is allowed
    named = allowed | ({"clone3"} if "clone" in allowed else set())
    highest = max(X86_64.syscalls[name] for name in named if name in X86_64.syscalls)
    assert policy.highest_named(X86_64) == highest
    for name in NAMES:
        if name == "clone3" and "clone" in allowed:
            assert decide(policy, "x86_64", name) == ENOSYS
            continue
        denied = ENOSYS if X86_64.syscalls[name] > highest else EPERM
        assert decide(policy, "x86_64", name) == (ALLOW if name in allowed else denied), name
    assert decide(policy, "x86_64", 1999) == ENOSYS  # a number no table knows


def test_argument_values_seen_are_allowed_and_no_other() -> None:
    policy = generate(web_trace()).policy
    cloexec = constant("SOCK_CLOEXEC")
    stream, dgram = constant("SOCK_STREAM"), constant("SOCK_DGRAM")
    assert decide(policy, "x86_64", "socket", constant("AF_UNIX"), stream) == ALLOW
    assert decide(policy, "x86_64", "socket", constant("AF_INET"), stream | cloexec) == ALLOW
    assert decide(policy, "x86_64", "socket", constant("AF_INET6"), stream) == EPERM
    assert decide(policy, "x86_64", "socket", constant("AF_INET"), dgram) == EPERM
    read_exec = constant("PROT_READ") | constant("PROT_EXEC")
    assert decide(policy, "x86_64", "mmap", 0, 4096, constant("PROT_READ")) == ALLOW
    assert decide(policy, "x86_64", "mmap", 0, 4096, read_exec) == EPERM
    assert decide(policy, "x86_64", "bind", 3, 0, 16) == ALLOW  # no arguments recorded
    # int arguments compare their low half: the upper half of the register does not matter
    assert decide(policy, "x86_64", "socket", (1 << 32) | constant("AF_UNIX"), stream) == ALLOW


def test_without_arguments_every_value_is_allowed() -> None:
    policy = generate(web_trace(), arguments=False).policy
    assert decide(policy, "x86_64", "socket", constant("AF_INET6")) == ALLOW
    assert all(rule.when is None for rule in policy.rules)


def test_deny_wins_over_what_was_seen_and_comes_first() -> None:
    generated = generate(web_trace(), deny=["read", "@network"])
    policy = generated.policy
    assert decide(policy, "x86_64", "read") == EPERM
    assert decide(policy, "x86_64", "socket", constant("AF_UNIX"), 1) == EPERM
    assert decide(policy, "x86_64", "bind") == EPERM
    assert decide(policy, "x86_64", "write") == ALLOW
    assert policy.rules[0].action == EPERM and "read" in policy.rules[0].syscalls
    assert "--deny" in generated.notes[0].heading
    # always-allowed calls can be denied too
    assert decide(generate(web_trace(), deny=["exit"]).policy, "x86_64", "exit") == EPERM


def test_allow_adds_calls_and_frees_their_arguments() -> None:
    policy = generate(web_trace(), allow=["getcwd", "socket", "@time"]).policy
    assert decide(policy, "x86_64", "getcwd") == ALLOW
    assert decide(policy, "x86_64", "clock_nanosleep") == ALLOW
    assert decide(policy, "x86_64", "socket", constant("AF_INET6")) == ALLOW
    assert decide(policy, "x86_64", "chdir") == EPERM


@pytest.mark.parametrize("option", ["allow", "deny"])
def test_unknown_names_are_refused_naming_the_option(option: str) -> None:
    with pytest.raises(PolicyError, match=f"--{option} nosuchcall"):
        generate(web_trace(), **{option: ["nosuchcall"]})  # type: ignore[arg-type]


def test_calls_are_grouped_by_purpose_in_the_groups_order() -> None:
    generated = generate(web_trace(), arguments=False)
    headings = [note.heading for note in generated.notes]
    assert headings[0].startswith("@basic-io")
    order = list(GROUPS)
    positions = [order.index(h[1:].split(":")[0]) for h in headings if h.startswith("@")]
    assert positions == sorted(positions)
    for rule, note in zip(generated.policy.rules, generated.notes, strict=True):
        if note.heading.startswith("@"):
            group = GROUPS[note.heading[1:].split(":")[0]]
            assert set(rule.syscalls) <= set(group.members)


def test_counts_are_in_the_notes() -> None:
    generated = generate(web_trace())
    text = "\n".join(line for note in generated.notes for line in note.lines)
    assert "read 40" in text and "write 12" in text
    assert "AF_UNIX, AF_INET" in text
    assert "exit (always allowed)" in text


def test_other_abis_are_listed_after_this_one_and_get_what_they_did() -> None:
    run = trace({"i386": {"getpid": 2, "getuid32": 1}, "x86_64": {"read": 1, "getpid": 1}})
    generated = generate(run)
    policy = generated.policy
    assert policy.arches == ("x86_64", "i386")
    assert decide(policy, "i386", "getpid") == ALLOW
    assert decide(policy, "i386", "getuid32") == ALLOW
    assert decide(policy, "x86_64", "getpid") == ALLOW
    assert decide(policy, "i386", "read") == EPERM  # x86_64's only
    assert decide(policy, "x86_64", "read") == ALLOW
    assert decide(policy, "i386", "exit_group") == ALLOW  # always allowed, on every ABI
    limits = {name: rule.arches for rule in policy.rules for name in rule.syscalls}
    assert limits["getpid"] is None  # both ABIs made it: no limit
    assert limits["read"] == ("x86_64",)
    assert limits["getuid32"] is None  # x86_64 has no getuid32: no limit needed
    assert any(note.heading.endswith("(on x86_64)") for note in generated.notes)
    # Without per_abi, a name seen on one ABI is allowed on all (what OCI profiles need).
    union = generate(run, per_abi=False).policy
    assert decide(union, "i386", "read") == ALLOW
    assert all(rule.arches is None for rule in union.rules)


def test_a_call_whose_arguments_one_abi_did_not_record() -> None:
    # i386's mmap takes its arguments in memory: nothing recorded there.
    prot = spec("mmap", 2)
    read, read_exec = constant("PROT_READ"), constant("PROT_READ") | constant("PROT_EXEC")
    run = trace(
        {"x86_64": {"mmap": 3}, "i386": {"mmap": 1}},
        {"x86_64": {"mmap": {prot: [read]}}},
    )
    policy = generate(run).policy  # each ABI as it was seen
    assert decide(policy, "x86_64", "mmap", 0, 0, read) == ALLOW
    assert decide(policy, "x86_64", "mmap", 0, 0, read_exec) == EPERM
    assert decide(policy, "i386", "mmap", 0, 0, read_exec) == ALLOW
    union = generate(run, per_abi=False).policy  # one rule: whatever the arguments
    assert decide(union, "x86_64", "mmap", 0, 0, read_exec) == ALLOW


def test_argument_values_are_kept_apart_per_abi() -> None:
    domain = spec("socket", 0)
    unix, inet = constant("AF_UNIX"), constant("AF_INET")
    run = trace(
        {"x86_64": {"socket": 1}, "i386": {"socket": 1}},
        {"x86_64": {"socket": {domain: [unix]}}, "i386": {"socket": {domain: [inet]}}},
    )
    policy = generate(run).policy
    assert decide(policy, "x86_64", "socket", unix) == ALLOW
    assert decide(policy, "x86_64", "socket", inet) == EPERM
    assert decide(policy, "i386", "socket", inet) == ALLOW
    assert decide(policy, "i386", "socket", unix) == EPERM
    union = generate(run, per_abi=False).policy
    assert decide(union, "x86_64", "socket", inet) == ALLOW
    assert decide(union, "i386", "socket", unix) == ALLOW


def test_socket_conditions_with_a_socketcall_abi_are_kept_where_they_apply() -> None:
    domain = spec("socket", 0)
    run = trace(
        {"x86_64": {"socket": 1}, "i386": {"socket": 1}},
        {
            "x86_64": {"socket": {domain: [constant("AF_UNIX")]}},
            "i386": {"socket": {domain: [constant("AF_UNIX")]}},
        },
    )
    policy = generate(run).policy
    assert policy.multiplexer_conditions == "drop"
    assert decide(policy, "i386", "socket", constant("AF_INET6")) == EPERM
    assert decide(policy, "i386", "socket", constant("AF_UNIX")) == ALLOW
    assert decide(policy, "x86_64", "socket", constant("AF_INET6")) == EPERM
    # socketcall(SYS_SOCKET, ...) passes its arguments in memory: only the call is checked
    sys_socket = constant("SYS_SOCKET")
    assert decide(policy, "i386", "socketcall", sys_socket) == ALLOW
    # a socket rule limited to x86_64 is not mirrored onto i386's socketcall at all
    only_here = trace(
        {"x86_64": {"socket": 1}, "i386": {"getpid": 1}},
        {"x86_64": {"socket": {domain: [constant("AF_UNIX")]}}},
    )
    policy = generate(only_here).policy
    assert policy.multiplexer_conditions == "error"
    assert decide(policy, "i386", "socketcall", sys_socket) == EPERM


def test_numbers_without_a_name_are_allowed_by_number() -> None:
    policy = generate(trace({"x86_64": {1999: 2}})).policy
    assert decide(policy, "x86_64", 1999) == ALLOW
    assert decide(policy, "x86_64", 1998) == ENOSYS


def test_the_notify_base_set_is_allowed_unseen() -> None:
    run = trace({"x86_64": {"openat": 1}}, unrecorded=("read", "futex"), mode="notify")
    generated = generate(run)
    assert decide(generated.policy, "x86_64", "futex") == ALLOW
    assert any("--mode notify" in line for line in generated.header)


# --- clone3: its flags are in memory ------------------------------------------------------------


def test_clone3_fails_with_enosys_where_clone_is_allowed() -> None:
    (flags,) = default_specs(["clone"])
    thread = constant("CLONE_VM") | constant("CLONE_THREAD")
    run = trace({"x86_64": {"clone": 3, "read": 1}}, {"x86_64": {"clone": {flags: [thread]}}})
    generated = generate(run)
    policy = generated.policy
    assert policy.rules[0].syscalls == ("clone3",) and policy.rules[0].action == ENOSYS
    assert decide(policy, "x86_64", "clone3", 0x1000, 88) == ENOSYS
    assert decide(policy, "x86_64", "clone", thread) == ALLOW
    assert decide(policy, "x86_64", "clone", constant("CLONE_NEWUSER")) == EPERM
    assert generated.notes[0].heading.startswith("clone3: fails with ENOSYS")
    # no clone, no fallback to make
    alone = generate(trace({"x86_64": {"read": 1}})).policy
    assert all("clone3" not in rule.syscalls for rule in alone.rules)


def test_a_clone3_seen_becomes_a_clone_without_namespace_flags() -> None:
    # (an older profiler let clone3 through; the policy of its run must not)
    run = trace({"x86_64": {"clone3": 9, "read": 1}})
    policy = generate(run).policy
    assert decide(policy, "x86_64", "clone3") == ENOSYS
    assert decide(policy, "x86_64", "clone", constant("CLONE_VM")) == ALLOW
    for flag in ("CLONE_NEWUSER", "CLONE_NEWNS", "CLONE_NEWNET"):
        assert decide(policy, "x86_64", "clone", constant(flag)) == EPERM, flag
    # without argument conditions, clone is allowed whatever its flags, clone3 still ENOSYS
    free = generate(run, arguments=False).policy
    assert decide(free, "x86_64", "clone", constant("CLONE_NEWUSER")) == ALLOW
    assert decide(free, "x86_64", "clone3") == ENOSYS


def test_clone3_allowed_or_denied_as_asked() -> None:
    run = trace({"x86_64": {"clone": 1}})
    assert decide(generate(run, allow=["clone3"]).policy, "x86_64", "clone3") == ALLOW
    assert decide(generate(run, deny=["clone3"]).policy, "x86_64", "clone3") == EPERM
