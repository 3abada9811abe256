"""The YAML writer: what it writes reads back into the same policy."""

from __future__ import annotations

from hypothesis import assume, given, settings

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats.oci import load_oci_policy
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.formats.yaml_writer import action_text, number, scalar, to_yaml
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_THREAD,
    LOG,
    TRACE,
    TRAP,
    USER_NOTIF,
    Action,
    All,
    Any,
    Cmp,
    Condition,
    Not,
    Policy,
    Rule,
    eq,
    in_range,
    masked_eq,
)
from tests.compiler.strategies import interesting_numbers, policies
from tests.datafiles import DOCKER_DEFAULT

ARCH_CHOICES = (("x86_64",), ("x86_64", "i386", "x32"), ("aarch64", "arm"), ("native",))


def _valid(policy: Policy) -> Policy:
    """Random rules limited to some ABIs may name calls those ABIs lack: such a policy is
    not valid, and not what these tests are about."""
    try:
        policy.validate()
    except PolicyError:
        assume(False)
    return policy


def _has_empty_combinator(condition: Condition | None) -> bool:
    if condition is None or isinstance(condition, Cmp):
        return False
    if isinstance(condition, Not):
        return _has_empty_combinator(condition.condition)
    return not condition.conditions or any(_has_empty_combinator(c) for c in condition.conditions)


@settings(max_examples=150, deadline=None)
@given(policies(arch_choices=ARCH_CHOICES))
def test_random_policies_read_back_equal(policy: Policy) -> None:
    _valid(policy)
    again = load_yaml_policy(to_yaml(policy))
    if not any(_has_empty_combinator(rule.when) for rule in policy.rules):
        assert again == policy
        return
    # An empty all/any has no spelling: written as a comparison that always (never) holds.
    assert [r.syscalls for r in again.rules] == [r.syscalls for r in policy.rules]
    for arch in policy.resolved_arches():
        for nr in interesting_numbers(policy, arch):
            for args in ((0,) * 6, (1,) * 6, ((1 << 64) - 1,) * 6):
                assert again.evaluate(arch, nr, args) == policy.evaluate(arch, nr, args)


@settings(max_examples=60, deadline=None)
@given(policies(arch_choices=(("x86_64",),)))
def test_written_twice_is_the_same_text(policy: Policy) -> None:
    _valid(policy)
    text = to_yaml(policy)
    again = to_yaml(load_yaml_policy(text))
    if any(_has_empty_combinator(rule.when) for rule in policy.rules):
        # the comment on an empty all/any is not read: the second text is the fixpoint
        assert to_yaml(load_yaml_policy(again)) == again
    else:
        assert again == text


def test_every_construct_is_written() -> None:
    policy = Policy(
        default_action=ERRNO(13),
        rules=(
            Rule(("read", "write", 1000), ALLOW),
            Rule(("openat",), TRACE(7), All((eq(0, -100, width=32), Not(Cmp(2, "bits_set", 3))))),
            Rule(("mmap",), TRAP(3), Any((masked_eq(2, 0x4, 0x4), in_range(1, 1, 4096)))),
            Rule(("ioctl",), LOG, Cmp(1, "in", (0x5401, 0x5413))),
            Rule(("close",), USER_NOTIF, Cmp(None, "ge", 0x400000)),
            Rule(("getpid",), ERRNO(4095), Cmp(0, "not_in", (1, 2), width=32)),
            Rule(("mmap",), ERRNO(1), arches=("i386",)),
        ),
        arches=("x86_64", "i386"),
        bad_arch_action=KILL_THREAD,
        unknown_syscall_action=ERRNO(38),
        multiplexer_conditions="drop",
        name="every construct",
        comment="a comment: with a colon",
        flags=("tsync", "log"),
    )
    text = to_yaml(policy)
    assert load_yaml_policy(text) == policy
    for needle in (
        'name: "every construct"',
        "default_action: errno(EACCES)",
        "bad_arch_action: kill_thread",
        "unknown_syscall_action: errno(ENOSYS)",
        "arches: [x86_64, i386]",
        "multiplexer_conditions: drop",
        "flags: [tsync, log]",
        "{arg: 0, op: eq, value: 0xffffff9c, width: 32}",
        "{not: {arg: 2, op: bits_set, value: 3}}",
        "{arg: 2, op: masked_eq, value: 4, mask: 4}",
        "{ip: true, op: ge, value: 0x400000}",
        "names: [read, write, 1000]",
        "    arches: [i386]",
    ):
        assert needle in text, needle
    assert text.index("default_action") < text.index("arches") < text.index("syscalls")


def test_empty_combinators_keep_their_meaning() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("read",), ALLOW, All(())),
            Rule(("write",), ALLOW, Any(())),
            Rule(("close",), ALLOW, Not(All(()))),
            Rule(("close",), LOG, Not(Any(()))),
        ),
        arches=("x86_64",),
    )
    text = to_yaml(policy)
    assert "always true (an empty 'all')" in text and "never true (an empty 'any')" in text
    again = load_yaml_policy(text)
    for nr in (0, 1, 3):
        assert again.evaluate("x86_64", nr) == policy.evaluate("x86_64", nr)
    assert again.evaluate("x86_64", 3) == LOG  # not(all()) never holds, not(any()) always


def test_scalars_and_numbers() -> None:
    assert scalar("read") == "read"
    assert scalar("yes") == '"yes"'  # YAML 1.1 reads it as true
    assert scalar("a: b") == '"a: b"'
    assert scalar("native+compat") == "native+compat"
    assert number(7) == "7" and number(10) == "0xa" and number(2**64 - 1) == "0xffffffffffffffff"
    assert action_text(ERRNO(1)) == "errno(EPERM)"
    assert action_text(ERRNO(4095)) == "errno(4095)"  # no name: the number
    assert action_text(TRAP(3)) == "trap(3)"
    assert Action.parse(action_text(KILL_THREAD)) == KILL_THREAD


def test_rules_say_where_they_came_from() -> None:
    text = "default_action: allow\narches: [x86_64]\nsyscalls:\n  - {names: [read], action: log}\n"
    policy = load_yaml_policy(text, source="mine.yaml")
    written = to_yaml(policy)
    assert "# Converted by seccomp-bpf from mine.yaml." in written
    assert "# rule 1 (mine.yaml:4:5)" in written


def test_docker_default_reads_back_equal() -> None:
    policy = load_oci_policy(
        DOCKER_DEFAULT.read_text(), source="docker-default.json", arch="x86_64", kernel="6.18"
    )
    text = to_yaml(policy)
    assert load_yaml_policy(text) == policy
    assert "# note: " in text  # the reader's notes travel as comments
