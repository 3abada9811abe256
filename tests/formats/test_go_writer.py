"""The go-seccomp-bpf writer: read back, the policy decides every call of its architecture
as before; what go-seccomp-bpf cannot mean is refused with the rule named."""

from __future__ import annotations

import dataclasses
import re
import typing

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seccomp_bpf.errors import ConversionError, PolicyError
from seccomp_bpf.formats.go_writer import GoCondition, to_go_seccomp_bpf
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    LOG,
    TRACE,
    Action,
    Policy,
    Rule,
    bits_set,
    eq,
    in_range,
    masked_eq,
    ne,
)
from tests.compiler.strategies import MAX64, arguments, interesting_numbers, rules

NAMED = re.compile(r"^(rule \d+(, rule \d+)*: )?cannot be written as a go-seccomp-bpf policy: ")


def _read_back(text: str, policy: Policy) -> Policy:
    return load_yaml_policy(text, arches=[policy.resolved_arches()[0].name])


def _same_on_its_arch(policy: Policy, text: str, data: st.DataObject) -> None:
    theirs = _read_back(text, policy)
    arch = policy.resolved_arches()[0]
    for nr in interesting_numbers(policy, arch):
        for args in [(0,) * 6, (MAX64,) * 6, data.draw(arguments(policy))]:
            assert theirs.evaluate(arch, nr, args) == policy.evaluate(arch, nr, args), (nr, args)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(rules(), max_size=5),
    st.sampled_from([ALLOW, ERRNO(1), LOG]),
    st.sampled_from([ERRNO(1), KILL_PROCESS, ALLOW]),
    st.sampled_from(["x86_64", "aarch64", "i386", "arm"]),
    st.data(),
)
def test_random_single_action_policies(
    drawn: list[Rule], action: Action, default: Action, arch: str, data: st.DataObject
) -> None:
    policy = Policy(
        default,
        tuple(dataclasses.replace(rule, action=action) for rule in drawn),
        arches=(arch,),
        multiplexer_conditions="drop",
    )
    try:
        policy.validate()
    except PolicyError:
        assume(False)
    try:
        text = to_go_seccomp_bpf(policy)
    except ConversionError as error:
        assert NAMED.match(str(error)), str(error)
        return
    _same_on_its_arch(policy, text, data)


def _document(text: str) -> dict[str, typing.Any]:
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def test_an_allowlist_with_argument_conditions() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("read", "write", "exit_group"), ALLOW),
            Rule(("socket",), ALLOW, in_range(0, 1, 2)),
            Rule(("clone",), ALLOW, masked_eq(0, 0x7E020000, 0)),
            Rule(("personality",), ALLOW, ne(0, 8)),
        ),
        arches=("x86_64",),
    )
    text = to_go_seccomp_bpf(policy)
    document = _document(text)
    assert document["default_action"] == "errno"
    (group,) = document["syscalls"]
    assert group["action"] == "allow"
    assert group["names"] == ["read", "write", "exit_group"]
    conditions = {entry["name"]: entry["arguments"] for entry in group["names_with_args"]}
    assert conditions["socket"] == [
        {"argument": 0, "operation": "GreaterOrEqual", "value": 1},
        {"argument": 0, "operation": "LessOrEqual", "value": 2},
    ]
    assert conditions["clone"] == [{"argument": 0, "operation": "BitsNotSet", "value": 0x7E020000}]
    assert conditions["personality"] == [{"argument": 0, "operation": "NotEqual", "value": 8}]
    theirs = _read_back(text, policy)
    for value in (0, 1, 2, 3, 8, 0x20000, 0x10000000, MAX64):
        for nr in (41, 56, 135):
            args = (value, 0, 0, 0, 0, 0)
            assert theirs.evaluate("x86_64", nr, args) == policy.evaluate("x86_64", nr, args)


def test_masked_equality_in_go_operations() -> None:
    # (a & 0xf0) == 0x30: bits 4 and 5 set (one BitsSet each: BitsSet means "any"), the
    # others of the mask clear
    assert GoCondition(0, "BitsSet", 0x30).condition().holds((0x10,) + (0,) * 5)  # any bit
    assert not GoCondition(0, "BitsNotSet", 0x30).condition().holds((0x10,) + (0,) * 5)
    policy = Policy(
        ERRNO(1), (Rule(("ioctl",), ALLOW, masked_eq(1, 0xF0, 0x30)),), arches=("x86_64",)
    )
    document = _document(to_go_seccomp_bpf(policy))
    (group,) = document["syscalls"]
    assert group["names_with_args"] == [
        {
            "name": "ioctl",
            "arguments": [
                {"argument": 1, "operation": "BitsSet", "value": 0x10},
                {"argument": 1, "operation": "BitsSet", "value": 0x20},
                {"argument": 1, "operation": "BitsNotSet", "value": 0xC0},
            ],
        }
    ]


def test_32_bit_abis_get_tests_of_the_low_word_only() -> None:
    # i386 calls see 32-bit arguments, while go-seccomp-bpf compares all 64 bits: only tests
    # of low bits say the same whatever a caller left in the upper half.
    policy = Policy(ERRNO(1), (Rule(("read",), ALLOW, eq(0, 5)),), arches=("i386",))
    document = _document(to_go_seccomp_bpf(policy))
    (group,) = document["syscalls"]
    arguments_ = [a for entry in group["names_with_args"] for a in entry["arguments"]]
    assert {a["operation"] for a in arguments_} <= {"BitsSet", "BitsNotSet"}
    assert all(a["value"] <= 0xFFFFFFFF for a in arguments_)


def test_flags_make_a_filter() -> None:
    policy = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("x86_64",), flags=("tsync", "log"))
    document = _document(to_go_seccomp_bpf(policy))
    assert document["no_new_privs"] is True and document["flag"] == 3
    assert isinstance(document["policy"], dict)
    assert _read_back(to_go_seccomp_bpf(policy), policy).flags == ("tsync", "log")


def test_a_policy_of_defaults_only_still_has_a_group() -> None:
    policy = Policy(ERRNO(1), (), arches=("aarch64",))
    text = to_go_seccomp_bpf(policy)
    (group,) = _document(text)["syscalls"]
    assert group["action"] == "errno"
    assert _read_back(text, policy).evaluate("aarch64", 0) == ERRNO(1)


def _refusal(policy: Policy) -> str:
    with pytest.raises(ConversionError) as caught:
        to_go_seccomp_bpf(policy)
    return str(caught.value)


def test_refusals() -> None:
    two = Policy(ERRNO(1), (Rule(("read",), ALLOW), Rule(("write",), LOG)), arches=("x86_64",))
    assert "only its first group" in _refusal(two) and _refusal(two).startswith("rule 1, rule 2")
    arches = Policy(ERRNO(1), (), arches=("x86_64", "i386"))
    assert "one machine it runs on" in _refusal(arches)
    s390 = Policy(ERRNO(1), (), arches=("s390x",))
    assert "no system call table for s390x" in _refusal(s390)
    traced = Policy(ERRNO(1), (Rule(("read",), TRACE(7)),), arches=("x86_64",))
    assert _refusal(traced).startswith("rule 1:") and "not a go-seccomp-bpf action" in _refusal(
        traced
    )
    number = Policy(ERRNO(1), (Rule((1000,), ALLOW),), arches=("x86_64",))
    assert "number 1000 has no name" in _refusal(number)
    unknown = Policy(ERRNO(1), (), arches=("x86_64",), unknown_syscall_action=ERRNO(38))
    assert "no unknown-syscall action" in _refusal(unknown)
    ip = Policy(ERRNO(1), (Rule(("read",), ALLOW, eq("ip", 5)),), arches=("x86_64",))
    assert "instruction pointer" in _refusal(ip)
    mirrored = Policy(
        ERRNO(1),
        (Rule(("socket",), ALLOW, bits_set(1, 1)),),
        arches=("i386",),
        multiplexer_conditions="drop",
    )
    assert "through socketcall(2)" in _refusal(mirrored)
