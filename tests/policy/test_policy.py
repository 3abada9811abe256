"""The Policy model: construction checks, architectures, name validation, check()."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.errors import PolicyError, UnknownArchError
from seccomp_bpf.formats import read_policy_file
from seccomp_bpf.formats.oci import read_oci_policy
from seccomp_bpf.formats.yaml_policy import load_yaml_policy, read_yaml_policy
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    LOG,
    Policy,
    ResolvedRule,
    Rule,
    SourceLocation,
    eq,
)


def test_defaults() -> None:
    policy = Policy(ERRNO(1))
    assert policy.rules == ()
    assert policy.arches == ("native",)
    assert policy.bad_arch_action == KILL_PROCESS
    assert policy.unknown_syscall_action is None
    assert policy.multiplexer_conditions == "error"
    assert policy.resolved_arches() == (native_arch(),)
    assert policy.check() == []


def test_lists_become_tuples_and_equality_ignores_source() -> None:
    rule = Rule(["read", "write"], ALLOW, location=SourceLocation("a.yaml", 3, 5))  # type: ignore[arg-type]
    same = Rule(("read", "write"), ALLOW, location=SourceLocation("b.yaml", 9, 1))
    assert rule.syscalls == ("read", "write")
    assert rule == same
    first = Policy(ERRNO(1), [rule], ["x86_64"], source="a.yaml")  # type: ignore[arg-type]
    second = Policy(ERRNO(1), (same,), ("x86_64",), source="b.yaml", notes=("n",))
    assert first == second
    assert hash(first) == hash(second)


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"default_action": "allow"}, "default_action must be an Action"),
        ({"default_action": ALLOW, "bad_arch_action": None}, "bad_arch_action must be an Action"),
        ({"default_action": ALLOW, "unknown_syscall_action": 38}, "unknown_syscall_action"),
        ({"default_action": ALLOW, "rules": (ALLOW,)}, "rules holds Rule values"),
        ({"default_action": ALLOW, "arches": ()}, "at least one architecture"),
        ({"default_action": ALLOW, "arches": "x86_64"}, "arches must be a sequence"),
        ({"default_action": ALLOW, "multiplexer_conditions": "ignore"}, "'drop' or 'strict'"),
        ({"default_action": ALLOW, "flags": ("tsync", "fast")}, "unknown filter flag 'fast'"),
        ({"default_action": ALLOW, "name": 5}, "name must be text"),
    ],
)
def test_invalid_fields(kwargs: dict[str, object], phrase: str) -> None:
    with pytest.raises(PolicyError, match=phrase):
        Policy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("syscalls", "phrase"),
    [
        ((), "at least one system call"),
        ("read", "sequence of names or numbers"),
        (("",), "not a system call name"),
        ((" read",), "not a system call name"),
        ((2**32,), "does not fit in 32 bits"),
        ((1.0,), "a name, a number or a NumberRange"),
        ((True,), "a name, a number or a NumberRange"),
    ],
)
def test_invalid_rules(syscalls: object, phrase: str) -> None:
    with pytest.raises(PolicyError, match=phrase):
        Rule(syscalls, ALLOW)  # type: ignore[arg-type]


def test_rule_needs_an_action_and_a_condition() -> None:
    with pytest.raises(PolicyError, match="action must be an Action"):
        Rule(("read",), "allow")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="condition must be"):
        Rule(("read",), ALLOW, "arg0 == 1")  # type: ignore[arg-type]
    assert Rule(("read", 1), ALLOW, eq(0, 1)).describe() == "read, 1 -> allow when arg0 == 0x1"


def test_resolved_arches_expand_native_resolve_aliases_and_drop_duplicates() -> None:
    policy = Policy(ALLOW, arches=("amd64", "i386", "x86_64", "x86", "x32", "native"))
    names = [a.name for a in policy.resolved_arches()]
    native = native_arch().name
    expected = ["x86_64", "i386", "x32"] + (
        [native] if native not in ("x86_64", "i386", "x32") else []
    )
    assert names == expected


def test_unknown_arch_is_an_error() -> None:
    with pytest.raises(UnknownArchError, match="x86_65"):
        Policy(ALLOW, arches=("x86_65",)).resolved_arches()


class TestNames:
    def test_a_typo_is_an_error_with_suggestions(self) -> None:
        policy = Policy(
            ALLOW,
            (
                Rule(("read",), LOG),
                Rule(("wirte",), ALLOW, location=SourceLocation("p.yaml", 7, 5)),
            ),
            ("x86_64",),
        )
        with pytest.raises(PolicyError) as caught:
            policy.validate()
        error = caught.value
        assert (error.source, error.line, error.column, error.snippet) == ("p.yaml", 7, 5, "wirte")
        assert "rule 2" in error.message and "'write'" in error.message

    def test_a_name_of_another_arch_says_where_it_exists(self) -> None:
        policy = Policy(ALLOW, (Rule(("socketcall",), ALLOW),), ("x86_64", "aarch64"))
        with pytest.raises(
            PolicyError, match=r"not a system call on x86_64, aarch64 .*exists on .*i386"
        ):
            policy.validate()

    def test_a_name_missing_on_some_arches_is_skipped_and_reported(self) -> None:
        policy = Policy(ALLOW, (Rule(("open", "read"), ERRNO(13)),), ("x86_64", "aarch64"))
        policy.validate()
        assert policy.resolve("aarch64").skipped == ((0, "open"),)
        assert policy.resolve("x86_64").skipped == ()
        assert policy.check() == ["aarch64: rule 1: 'open' is not a system call here; skipped"]
        assert policy.evaluate("x86_64", 2) == ERRNO(13)  # open, syscall_64.tbl
        assert policy.evaluate("aarch64", 63) == ERRNO(13)  # read, asm-generic/unistd.h

    def test_names_reached_only_through_a_multiplexer_are_not_skipped(self) -> None:
        # i386 has no direct `send`: it exists only as socketcall(SYS_SEND)
        policy = Policy(ERRNO(1), (Rule(("send",), ALLOW),), ("i386",))
        resolved = policy.resolve("i386")
        assert resolved.skipped == ()
        assert list(resolved.rules_by_nr) == [102]  # socketcall
        assert policy.evaluate("i386", 102, (9, 0, 0, 0, 0, 0)) == ALLOW  # SYS_SEND


def test_resolve_works_for_an_arch_outside_the_policy() -> None:
    policy = Policy(ALLOW, (Rule(("open", "read"), LOG),), arches=("x86_64",))
    resolved = policy.resolve("aarch64")
    assert resolved.skipped == ((0, "open"),)
    assert list(resolved.rules_by_nr) == [63]  # read, asm-generic/unistd.h
    # the policy itself covers x86_64 only
    assert policy.evaluate(0xC00000B7, 63) == policy.bad_arch_action


def test_resolved_arch_content() -> None:
    policy = Policy(
        ALLOW, (Rule(("read", "read", 1000), LOG), Rule(("read",), ERRNO(1), eq(0, 1))), ("x86_64",)
    )
    resolved = policy.resolve("x86_64")
    assert resolved.arch.name == "x86_64"
    assert [(e.rule_index, e.action, e.condition) for e in resolved.rules_by_nr[0]] == [
        (0, LOG, None),
        (1, ERRNO(1), eq(0, 1)),
    ]
    assert resolved.rules_by_nr[1000] == (ResolvedRule(0, LOG, None),)
    assert 0 in resolved.known_numbers and 1000 not in resolved.known_numbers
    assert resolved.warnings == ()


def test_replace_gets_a_fresh_cache() -> None:
    policy = Policy(ALLOW, (Rule(("open",), LOG),), ("x86_64",))
    policy.validate()
    with pytest.raises(PolicyError, match="'open'"):
        dataclasses.replace(policy, arches=("aarch64",)).validate()


def test_the_readers_give_the_same_policy(tmp_path: Path) -> None:
    text = (
        "default_action: allow\narches: [x86_64]\nsyscalls:\n  - names: [read]\n    action: log\n"
    )
    path = tmp_path / "p.yaml"
    path.write_text(text)
    from_text = load_yaml_policy(text)
    from_path = read_yaml_policy(path)
    from_file = read_policy_file(path)
    assert from_text == from_path == from_file
    assert from_path.source == str(path)
    assert from_text.source == "<string>"
    oci = tmp_path / "p.json"
    oci.write_text(
        '{"defaultAction": "SCMP_ACT_ALLOW",'
        ' "syscalls": [{"names": ["read"], "action": "SCMP_ACT_LOG"}]}'
    )
    from_oci = read_oci_policy(oci, arch="x86_64", kernel="6.1")
    assert read_policy_file(oci).rules == from_oci.rules
    assert from_oci.evaluate("x86_64", 0) == LOG
