"""The YAML reader's groups (``@network``), rule-set entries (``include:``) and the
``NAME+compat`` architecture token."""

from __future__ import annotations

import errno
import textwrap

import pytest

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats import load_policy_text
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, Policy, SourceLocation
from seccomp_bpf.policy.groups import GROUPS

PROT_EXEC = 0x4  # <asm-generic/mman-common.h>


def load(text: str, **kwargs: object) -> Policy:
    return load_yaml_policy(textwrap.dedent(text), source="p.yaml", **kwargs)  # type: ignore[arg-type]


def test_a_group_expands_to_the_members_the_arches_have() -> None:
    policy = load("""\
        default_action: errno(EPERM)
        arches: [x86_64]
        syscalls:
          - names: ["@network", read]
            action: allow
        """)
    (rule,) = policy.rules
    x86_64 = policy.resolved_arches()[0]
    expected = [m for m in GROUPS["network"].members if m in x86_64.syscalls]
    assert list(rule.syscalls) == [*expected, "read"]
    assert "socketcall" not in rule.syscalls  # an i386 call


def test_on_i386_the_multiplexed_members_come_too() -> None:
    policy = load("""\
        default_action: errno(EPERM)
        arches: [i386]
        syscalls:
          - names: ["@network"]
            action: allow
        """)
    assert {"socketcall", "recv", "send"} <= set(policy.rules[0].syscalls)


def test_groups_and_names_may_overlap_but_names_may_not_repeat() -> None:
    policy = load("""\
        default_action: errno(EPERM)
        syscalls:
          - names: [socket, "@network", "@network"]
            action: allow
        """)
    assert policy.rules[0].syscalls.count("socket") == 1
    with pytest.raises(PolicyError, match=r"p.yaml:3:19: 'read' is listed twice"):
        load("""\
            default_action: errno(EPERM)
            syscalls:
              - names: [read, read]
                action: allow
            """)


def test_an_unknown_group_is_an_error_at_its_position() -> None:
    with pytest.raises(PolicyError) as raised:
        load("""\
            default_action: errno(EPERM)
            syscalls:
              - names: [read, "@netwrok"]
                action: allow
            """)
    error = raised.value
    assert (error.source, error.line, error.column) == ("p.yaml", 3, 19)
    assert "unknown group @netwrok; did you mean @network?" in str(error)


def test_groups_with_no_member_on_the_arches_are_an_error_only_alone() -> None:
    with pytest.raises(PolicyError, match=r"p.yaml:4:12: names: no member of these groups"):
        load("""\
            default_action: errno(EPERM)
            arches: [aarch64]
            syscalls:
              - names: ["@cpu-emulation"]
                action: allow
            """)
    policy = load("""\
        default_action: errno(EPERM)
        arches: [aarch64]
        syscalls:
          - names: ["@cpu-emulation", read]
            action: allow
        """)
    assert policy.rules[0].syscalls == ("read",)


def test_include_puts_the_rule_set_in_place_with_its_position() -> None:
    policy = load("""\
        default_action: errno(EPERM)
        arches: [x86_64]
        syscalls:
          - include: deny_new_exec_mappings
          - names: [mmap, mprotect]
            action: allow
          - include: deny_new_exec_mappings
            action: kill_process
        """)
    # The rule set gives three rules on x86-64 (mappings, shmat, personality), each carrying
    # the position of its include entry.
    first, allow, second = policy.rules[:3], policy.rules[3], policy.rules[4:]
    assert {rule.location for rule in first} == {SourceLocation("p.yaml", 4, 5)}
    assert {rule.action for rule in first} == {ERRNO(errno.EPERM)}
    assert {rule.action for rule in second} == {KILL_PROCESS} and len(second) == 3
    assert allow.action == ALLOW
    mprotect = 10  # arch/x86/entry/syscalls/syscall_64.tbl
    assert policy.evaluate("x86_64", mprotect, (0, 4096, PROT_EXEC)) == ERRNO(errno.EPERM)
    assert policy.evaluate("x86_64", mprotect, (0, 4096, 1)) == ALLOW
    assert policy.decide("x86_64", mprotect, (0, 4096, PROT_EXEC)).rule_index == 0


@pytest.mark.parametrize(
    ("entry", "message", "where"),
    [
        ("- include: nope", "include: unknown rule set 'nope'", (3, 14)),
        (
            "- include: deny_new_exec_mappings\n    names: [read]",
            "include entry: unknown key 'names'",
            (4, 5),
        ),
        (
            "- include: deny_new_exec_mappings\n    action: explode",
            "action: unknown action",
            (4, 13),
        ),
    ],
)
def test_include_errors_point_at_the_text(entry: str, message: str, where: tuple[int, int]) -> None:
    text = "default_action: allow\nsyscalls:\n  " + entry + "\n"
    with pytest.raises(PolicyError) as raised:
        load_yaml_policy(text, source="p.yaml")
    assert message in str(raised.value)
    assert (raised.value.line, raised.value.column) == where


def test_include_refuses_an_arch_it_cannot_protect() -> None:
    text = "default_action: allow\narches: [s390x+compat]\nsyscalls:\n"
    text += "  - include: deny_new_exec_mappings\n"
    with pytest.raises(PolicyError, match=r"p.yaml:4:14: include: .* cannot protect s390"):
        load_yaml_policy(text, source="p.yaml")


def test_include_covers_i386_with_abi_limited_rules() -> None:
    text = "default_action: allow\narches: [x86_64+compat]\nsyscalls:\n"
    text += "  - include: deny_new_exec_mappings\n"
    policy = load_yaml_policy(text, source="p.yaml")
    limited = [rule.arches for rule in policy.rules if rule.arches is not None]
    assert ("i386",) in limited
    assert policy.evaluate("i386", 90, (0x1000, 0, 0, 0, 0, 0)).describe() == "errno(EPERM)"


def test_rules_limited_to_some_arches() -> None:
    policy = load("""        default_action: allow
        arches: [x86_64, i386]
        syscalls:
          - names: [getppid]
            action: errno(5)
            arches: [x86]
        """)
    assert policy.rules[0].arches == ("i386",)
    assert policy.evaluate("i386", 64, ()) == ERRNO(5)
    assert policy.evaluate("x86_64", 110, ()) == ALLOW
    with pytest.raises(PolicyError, match=r"p.yaml:6:13: arches: none of aarch64"):
        load("""            default_action: allow
            arches: [x86_64, i386]
            syscalls:
              - names: [getppid]
                action: errno(5)
                arches: [aarch64]
            """)


def test_compat_arches_token() -> None:
    policy = load("""\
        default_action: allow
        arches: [aarch64+compat, riscv64]
        """)
    assert [a.name for a in policy.resolved_arches()] == ["aarch64", "arm", "riscv64"]
    assert policy.arches == ("aarch64+compat", "riscv64")
    with pytest.raises(
        PolicyError, match=r"p.yaml:2:10: arches: unknown architecture 'x86_64\+32'"
    ):
        load("""\
            default_action: allow
            arches: [x86_64+32]
            """)


def test_given_arches_replace_the_files_before_groups_resolve() -> None:
    text = "default_action: allow\narches: [i386]\nsyscalls:\n"
    text += '  - names: ["@network"]\n    action: errno(EPERM)\n'
    as_written = load_yaml_policy(text, source="p.yaml")
    assert "socketcall" in as_written.rules[0].syscalls
    for read in (load_yaml_policy, load_policy_text):
        replaced = read(text, source="p.yaml", arches=["x86_64"])
        assert [a.name for a in replaced.resolved_arches()] == ["x86_64"]
        assert "socketcall" not in replaced.rules[0].syscalls
