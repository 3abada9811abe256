"""The OCI/Docker writer: read back by the OCI reader, a written profile decides every call
as the policy does; what it cannot write is refused with the rule named."""

from __future__ import annotations

import dataclasses
import json
import re
import typing

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import dispatched_arch, get_arch
from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import ConversionError, PolicyError
from seccomp_bpf.formats.oci import load_oci_policy
from seccomp_bpf.formats.oci_writer import to_oci, to_oci_json
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.formats.yaml_writer import to_yaml
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    IP,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    TRAP,
    Action,
    Any,
    Cmp,
    Not,
    Policy,
    Rule,
    eq,
    in_range,
    lt,
)
from tests.compiler.strategies import MAX64, arguments, interesting_numbers, policies
from tests.datafiles import DOCKER_DEFAULT

JsonObject = dict[str, typing.Any]
ARCH_CHOICES = (("x86_64",), ("x86_64", "i386", "x32"), ("i386",), ("aarch64", "arm"))
# What the writer refuses for the policy as a whole (no rule to name).
POLICY_LEVEL = re.compile(r"^cannot be written as an OCI profile: ")
NAMED_RULES = re.compile(r"^rule (\d+)(?:, rule (\d+))*(?: and \d+ more)?: cannot be written")


def _valid(policy: Policy) -> Policy:
    """Random rules limited to some ABIs may name calls those ABIs lack: such a policy is
    not valid, and not what these tests are about."""
    try:
        policy.validate()
    except PolicyError:
        assume(False)
    return policy


def _kill_thread_and_plain_traps(policy: Policy) -> Policy:
    """The policy with what OCI has no field for replaced, so that most examples export."""

    def plain(action: Action) -> Action:
        return TRAP(0) if action.kind is SeccompAction.TRAP else action

    unknown = policy.unknown_syscall_action
    return dataclasses.replace(
        policy,
        default_action=plain(policy.default_action),
        bad_arch_action=KILL_THREAD,
        unknown_syscall_action=plain(unknown) if unknown is not None else None,
        rules=tuple(dataclasses.replace(r, action=plain(r.action)) for r in policy.rules),
    )


def _read_back(profile: str, policy: Policy) -> Policy:
    return load_oci_policy(profile, arch=policy.resolved_arches()[0].name, kernel="6.18")


def _assert_same_decisions(ours: Policy, theirs: Policy, data: st.DataObject) -> None:
    assert {a.name for a in theirs.resolved_arches()} == {a.name for a in ours.resolved_arches()}
    for arch in ours.resolved_arches():
        for nr in interesting_numbers(ours, arch):
            for args in [(0,) * 6, (MAX64,) * 6, data.draw(arguments(ours))]:
                ip = data.draw(st.sampled_from([0, 1, 2**32]))
                assert ours.evaluate(arch, nr, args, ip) == theirs.evaluate(arch, nr, args, ip), (
                    arch.name,
                    nr,
                    args,
                )


def _assert_names_rules(error: ConversionError, policy: Policy) -> None:
    text = str(error)
    if POLICY_LEVEL.match(text):
        return
    match = NAMED_RULES.match(text)
    assert match is not None, text
    assert all(int(i) <= len(policy.rules) for i in match.groups() if i), text


@settings(max_examples=120, deadline=None)
@given(policies(arch_choices=ARCH_CHOICES), st.data())
def test_random_policies_read_back_equivalent_or_are_refused_by_rule(
    policy: Policy, data: st.DataObject
) -> None:
    policy = _valid(_kill_thread_and_plain_traps(policy))
    try:
        text = to_oci_json(policy)
    except ConversionError as error:
        _assert_names_rules(error, policy)
        return
    _assert_same_decisions(policy, _read_back(text, policy), data)


@settings(max_examples=25, deadline=None)
@given(policies(arch_choices=(("x86_64", "i386", "x32"),)), st.data())
def test_docker_flavour_reads_back_on_every_listed_machine(
    policy: Policy, data: st.DataObject
) -> None:
    policy = _valid(_kill_thread_and_plain_traps(policy))
    try:
        profile = to_oci(policy, docker=True)
    except ConversionError as error:
        _assert_names_rules(error, policy)
        return
    assert "archMap" in profile and "architectures" not in profile
    for machine in policy.resolved_arches():
        theirs = load_oci_policy(json.dumps(profile), arch=machine.name, kernel="6.18")
        _assert_same_decisions(policy, theirs, data)


def _profile(policy: Policy) -> JsonObject:
    return typing.cast(JsonObject, json.loads(to_oci_json(policy)))


def _entries(profile: JsonObject, name: str) -> list[JsonObject]:
    return [e for e in profile["syscalls"] if name in e["names"]]


def test_or_becomes_entries_and_not_becomes_the_complement() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("socket",), ALLOW, Any((eq(0, 1), eq(0, 10)))),
            Rule(("personality",), ALLOW, Not(eq(0, 8))),
            Rule(("lseek",), ALLOW, Not(in_range(2, 1, 3))),
        ),
        arches=("x86_64",),
        bad_arch_action=KILL_THREAD,
    )
    profile = _profile(policy)
    assert [e["args"] for e in _entries(profile, "socket")] == [
        [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}],
        [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}],
    ]
    assert [e["args"] for e in _entries(profile, "personality")] == [
        [{"index": 0, "value": 8, "op": "SCMP_CMP_NE"}]
    ]
    assert [e["args"][0]["op"] for e in _entries(profile, "lseek")] == [
        "SCMP_CMP_LT",
        "SCMP_CMP_GT",
    ]
    theirs = _read_back(json.dumps(profile), policy)
    for value in (0, 1, 2, 3, 4, 8, 10, 2**32 + 1):
        for nr in (41, 135, 8):
            args = (value, 0, value, 0, 0, 0)
            assert theirs.evaluate("x86_64", nr, args) == policy.evaluate("x86_64", nr, args)


def test_32_bit_comparisons() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("openat",), ALLOW, eq(0, -100, width=32)),
            Rule(("read",), ALLOW, lt(0, 3, width=32)),
        ),
        arches=("x86_64",),
        bad_arch_action=KILL_THREAD,
    )
    profile = _profile(policy)
    # an equality of the low word is a masked equality, exactly
    assert _entries(profile, "openat")[0]["args"] == [
        {"index": 0, "value": 0xFFFFFFFF, "valueTwo": 0xFFFFFF9C, "op": "SCMP_CMP_MASKED_EQ"}
    ]
    # an order of the low word: the cells of its decision, masked equalities ignoring the
    # upper half
    read = _entries(profile, "read")
    assert read and all(a["op"] == "SCMP_CMP_MASKED_EQ" for e in read for a in e["args"])
    assert all(a["value"] <= 0xFFFFFFFF for e in read for a in e["args"])
    theirs = _read_back(json.dumps(profile), policy)
    for value in (0, 2, 3, 4, 0xFFFFFF9C, (7 << 32) | 2, (7 << 32) | 0xFFFFFF9C):
        for nr in (257, 0):
            args = (value,) + (0,) * 5
            assert theirs.evaluate("x86_64", nr, args) == policy.evaluate("x86_64", nr, args)


def test_first_match_overlaps_become_exclusive_entries() -> None:
    # First match: fd 0 is refused, every other read allowed. libseccomp would settle an
    # entry without conditions before the one with, so the writer splits the decision.
    policy = Policy(
        KILL_PROCESS,
        (Rule(("read",), ERRNO(9), eq(0, 0)), Rule(("read",), ALLOW)),
        arches=("x86_64",),
        bad_arch_action=KILL_THREAD,
    )
    profile = _profile(policy)
    read = _entries(profile, "read")
    assert {e["action"] for e in read} == {"SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW"}
    assert all(e.get("args") for e in read)  # none without conditions
    theirs = _read_back(json.dumps(profile), policy)
    for fd in (0, 1, 2, 2**32, MAX64):
        assert theirs.evaluate("x86_64", 0, (fd,)) == policy.evaluate("x86_64", 0, (fd,))


def test_unknown_syscall_action_lists_every_known_call() -> None:
    policy = Policy(
        ALLOW,
        (Rule(("ptrace",), ERRNO(1)),),
        arches=("x86_64",),
        bad_arch_action=KILL_THREAD,
        unknown_syscall_action=ERRNO(38),
    )
    profile = _profile(policy)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == 38
    theirs = _read_back(json.dumps(profile), policy)
    assert theirs.evaluate("x86_64", 999) == ERRNO(38)
    assert theirs.evaluate("x86_64", 0) == ALLOW
    assert theirs.evaluate("x86_64", get_arch("x86_64").syscalls["ptrace"]) == ERRNO(1)


def _refusal(yaml_text: str, *, docker: bool = False) -> str:
    policy = load_yaml_policy(yaml_text, source="p.yaml")
    with pytest.raises(ConversionError) as caught:
        to_oci(policy, docker=docker)
    return str(caught.value)


HEAD = "default_action: errno(EPERM)\nbad_arch_action: kill_thread\narches: [x86_64]\n"


def test_refusals_name_the_rule_and_where_it_is() -> None:
    message = _refusal(
        HEAD + "syscalls:\n  - {names: [read], action: allow}\n"
        "  - names: [write]\n    action: allow\n    when: {ip: true, op: lt, value: 0x1000}\n"
    )
    assert message.startswith("p.yaml:6:5: rule 2 (p.yaml:6:5): cannot be written")
    assert "instruction pointer" in message
    message = _refusal(HEAD + "syscalls:\n  - {names: [1000], action: allow}\n")
    assert "rule 1" in message and "number 1000 has no name" in message
    message = _refusal(HEAD + "syscalls:\n  - {names: [read], action: trap(3)}\n")
    assert "rule 1" in message and "SCMP_ACT_TRAP carries no data" in message


def test_refusals_of_the_policy_as_a_whole() -> None:
    plain = "default_action: errno(EPERM)\narches: [x86_64]\n"
    assert "bad_arch_action is errno(EPERM)" in _refusal(plain + "bad_arch_action: errno\n")
    assert "flag new_listener" in _refusal(HEAD + "flags: [new_listener]\n")
    assert "libseccomp has no architecture alpha" in _refusal(
        "default_action: allow\nbad_arch_action: kill_thread\narches: [alpha]\n"
    )


def test_strict_multiplexers_are_refused_where_libseccomp_would_mirror() -> None:
    text = (
        "default_action: errno(EPERM)\nbad_arch_action: kill_thread\narches: [ARCHES]\n"
        "multiplexer_conditions: strict\nsyscalls:\n"
        "  - names: [socket]\n    action: allow\n    when: {arg: 0, op: eq, value: 1}\n"
        "  - {names: [socket], action: errno(EACCES)}\n"
    )
    message = _refusal(text.replace("ARCHES", "x86_64, i386"))
    assert message.startswith("p.yaml:6:5: rule 1 (p.yaml:6:5): cannot be written")
    assert "strict keeps these rules off socketcall on i386" in message
    assert "deny socketcall by name, write 'multiplexer_conditions: drop'" in message
    # without a multiplexer there is nothing strict changes: the profile is written
    policy = load_yaml_policy(text.replace("ARCHES", "x86_64"), source="p.yaml")
    theirs = _read_back(to_oci_json(policy), policy)
    socket = get_arch("x86_64").syscalls["socket"]
    for family in (1, 2):
        assert theirs.evaluate("x86_64", socket, (family,)) == policy.evaluate(
            "x86_64", socket, (family,)
        )


def test_strict_multiplexers_are_written_where_one_entry_decides_the_multiplexer() -> None:
    # socketcall gets one action however it is called, other than the profile's default:
    # an entry without conditions, which libseccomp applies before its own mirrors of the
    # socket entries (socketcall(SYS_SOCKET) stays denied, as strict says)
    text = (
        "default_action: errno(EPERM)\nbad_arch_action: kill_thread\n"
        "unknown_syscall_action: errno(ENOSYS)\narches: [x86_64, i386]\n"
        "multiplexer_conditions: strict\nsyscalls:\n"
        "  - names: [socket]\n    action: allow\n    when: {arg: 0, op: eq, value: 1}\n"
        "SOCKETCALL"
    )
    policy = load_yaml_policy(text.replace("SOCKETCALL", ""), source="p.yaml")
    profile = _profile(policy)
    theirs = _read_back(json.dumps(profile), policy)
    i386 = get_arch("i386")
    socketcall, socket = i386.syscalls["socketcall"], i386.syscalls["socket"]
    for nr, args in ((socketcall, (1, 0)), (socketcall, (3, 0)), (socket, (1,)), (socket, (2,))):
        assert theirs.evaluate(i386, nr, args) == policy.evaluate(i386, nr, args)
    assert policy.evaluate(i386, socketcall, (1, 0)) == ERRNO(1)
    first = profile["syscalls"][0]
    assert first["action"] == "SCMP_ACT_ERRNO" and "socketcall" in first["names"]
    assert "args" not in first
    # the same with socketcall denied by name, whatever the default
    named = "  - {names: [socketcall], action: errno(EACCES)}\n"
    policy = load_yaml_policy(
        text.replace("SOCKETCALL", named).replace("unknown_syscall_action: errno(ENOSYS)\n", ""),
        source="p.yaml",
    )
    theirs = _read_back(to_oci_json(policy), policy)
    assert theirs.evaluate(i386, socketcall, (1, 0)) == ERRNO(13)
    # but where socketcall would get the profile's default, libseccomp's mirror rules
    plain = text.replace("SOCKETCALL", "").replace("unknown_syscall_action: errno(ENOSYS)\n", "")
    assert "can override the mirrors only with one action" in _refusal(plain)


def test_cells_that_libseccomp_would_truncate_on_x32_are_refused() -> None:
    # every family but three, compared on 64 bits: the denial of the values from 2**32 on
    # needs entries that test upper bits only, which libseccomp on x32 cuts to nothing
    text = (
        "default_action: errno(EPERM)\nbad_arch_action: kill_thread\n"
        "unknown_syscall_action: errno(ENOSYS)\narches: [x86_64, x32]\nsyscalls:\n"
        "  - names: [socket]\n    action: allow\n"
        "    when: {arg: 0, op: in, value: [1, 2, 10]WIDTH}\n"
    )
    message = _refusal(text.replace("WIDTH", ""))
    assert "'socket': libseccomp compares only the low 32 bits" in message
    assert "on x32" in message and "width: 32" in message
    # compared on the low half (domain is an int), the entries mean the same to libseccomp
    policy = load_yaml_policy(text.replace("WIDTH", ", width: 32"))
    theirs = _read_back(to_oci_json(policy), policy)
    x32 = get_arch("x32")
    for family in (0, 1, 2, 3, 10, 11, 2**31, 2**32 + 1):
        nr = x32.syscalls["socket"]
        assert theirs.evaluate(x32, nr, (family,)) == policy.evaluate(x32, nr, (family,))
    # without x32 the 64-bit comparison is written as it is
    assert to_oci(load_yaml_policy(text.replace("WIDTH", "").replace(", x32", "")))


def test_kill_process_for_other_architectures_is_written_as_runc_s_kill_with_a_note() -> None:
    policy = load_yaml_policy(
        "default_action: errno(EPERM)\narches: [x86_64]\nsyscalls:\n"
        "  - {names: [read], action: allow}\n"
    )
    assert policy.bad_arch_action == KILL_PROCESS
    notes: list[str] = []
    profile = to_oci(policy, notes=notes)
    assert notes == [
        "bad_arch_action kill_process: a profile has no such field, and runc kills the "
        "calling thread (libseccomp's SCMP_ACT_KILL) for a call of an architecture the "
        "profile does not list; the call never runs either way"
    ]
    theirs = _read_back(json.dumps(profile), policy)
    assert theirs.bad_arch_action == KILL_THREAD
    assert theirs.evaluate("x86_64", 0) == ALLOW
    thread = load_yaml_policy(
        "default_action: errno(EPERM)\nbad_arch_action: kill_thread\narches: [x86_64]\n"
    )
    quiet: list[str] = []
    to_oci(thread, notes=quiet)
    assert quiet == []


def test_a_number_means_different_calls_on_different_architectures() -> None:
    message = _refusal(
        "default_action: errno(EPERM)\nbad_arch_action: kill_thread\narches: [x86_64, i386]\n"
        "syscalls:\n  - {names: [1], action: allow}\n"
    )
    assert "rule 1" in message and "decided differently on x86_64 and i386" in message
    assert "numbers [1]" in message


def test_upper_halves_on_32_bit_only_profiles() -> None:
    message = _refusal(
        "default_action: errno(EPERM)\nbad_arch_action: kill_thread\narches: [x32]\n"
        "syscalls:\n  - names: [read]\n    action: allow\n"
        "    when: {arg: 0, op: gt, value: 0x100000000}\n"
    )
    assert "rule 1" in message and "low 32 bits" in message
    # i386 calls see 32-bit arguments: a rule on the low word is exact there
    policy = load_yaml_policy(
        "default_action: errno(EPERM)\nbad_arch_action: kill_thread\narches: [i386]\n"
        "syscalls:\n  - names: [read]\n    action: allow\n    when: {arg: 0, op: lt, value: 7}\n"
    )
    theirs = _read_back(to_oci_json(policy), policy)
    for value in (0, 6, 7, 2**32 + 1):
        assert theirs.evaluate("i386", 3, (value,)) == policy.evaluate("i386", 3, (value,))


def test_actions_and_flags_are_written() -> None:
    policy = Policy(
        ERRNO(13),
        (Rule(("read",), LOG), Rule(("write",), ERRNO(1)), Rule(("close",), KILL_PROCESS)),
        arches=("x86_64", "i386"),
        bad_arch_action=KILL_THREAD,
        flags=("tsync", "spec_allow"),
    )
    profile = _profile(policy)
    assert profile["defaultErrnoRet"] == 13
    assert profile["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert profile["flags"] == ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
    by_action = {e["action"]: e for e in profile["syscalls"]}
    assert by_action["SCMP_ACT_ERRNO"]["errnoRet"] == 1
    assert "errnoRet" not in by_action["SCMP_ACT_LOG"]
    theirs = _read_back(json.dumps(profile), policy)
    assert theirs.flags == policy.flags


def test_docker_comments_name_the_rules() -> None:
    policy = load_yaml_policy(
        HEAD + "syscalls:\n  - {names: [read], action: allow}\n", source="p.yaml"
    )
    profile = typing.cast(JsonObject, to_oci(policy, docker=True))
    (entry,) = profile["syscalls"]
    assert entry["comment"] == "from rule 1 (p.yaml:5:5)"
    assert profile["archMap"] == [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []}]


def _docker_default() -> Policy:
    return load_oci_policy(
        DOCKER_DEFAULT.read_text(), source="docker-default.json", arch="x86_64", kernel="6.18"
    )


def test_docker_default_through_yaml_and_oci_decides_as_the_original() -> None:
    original = _docker_default()
    as_yaml = load_yaml_policy(to_yaml(original), source="docker-default.yaml")
    again = load_oci_policy(to_oci_json(as_yaml), arch="x86_64", kernel="6.18")
    program = compile_policy(again)
    compared = 0
    for name in ("x86_64", "i386", "x32"):
        arch = get_arch(name)
        base = 0x40000000 if name == "x32" else 0
        numbers = set(arch.syscalls.values()) | {base + n for n in (500, 999, 4095)}
        conditional = {
            nr
            for nr, entries in original.resolve(arch).rules_by_nr.items()
            if any(e.condition is not None for e in entries)
        }
        for nr in sorted(numbers):
            assert dispatched_arch(arch.audit_arch, nr) == arch
            calls: list[tuple[int, int, int, int, int, int]] = [(0, 0, 0, 0, 0, 0)]
            if nr in conditional:
                values = (1, 8, 37, 38, 39, 40, 41, 0x20008, 0xFFFFFFFF, 0x7E020000, 2**32 + 39)
                calls += [(v, 0, 0, 0, 0, 0) for v in values]
            for args in calls:
                data = SeccompData(nr, arch.audit_arch, 0, args)
                expected = original.evaluate(arch, nr, args)
                assert Action.from_ret(emulate(program, data).ret) == expected, (name, nr, args)
                compared += 1
    assert compared > 1000


def test_docker_default_docker_flavour_keeps_its_arch_map() -> None:
    original = _docker_default()
    profile = typing.cast(JsonObject, to_oci(original, docker=True))
    assert profile["archMap"][0] == {
        "architecture": "SCMP_ARCH_X86_64",
        "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    }
    assert all("comment" in e for e in profile["syscalls"])
    again = load_oci_policy(json.dumps(profile), arch="i386", kernel="6.18")
    assert {a.name for a in again.resolved_arches()} == {"x86_64", "i386", "x32"}
    for nr in (102, 359, 11):  # socketcall, socket, execve on i386
        for value in (1, 38, 40, 41):
            args = (value, 0, 0, 0, 0, 0)
            assert again.evaluate("i386", nr, args) == original.evaluate("i386", nr, args)


def test_the_reader_own_checks_pass_on_what_was_written() -> None:
    # a condition the reader reads with an extra, libseccomp-style twist: a masked equality
    # whose mask is 0 is dropped; the writer never writes one
    policy = Policy(
        ERRNO(1),
        (Rule(("read",), ALLOW, Cmp(0, "masked_eq", 0, mask=0)),),
        arches=("x86_64",),
        bad_arch_action=KILL_THREAD,
    )
    profile = _profile(policy)
    assert _entries(profile, "read") == [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
    assert IP == "ip"
