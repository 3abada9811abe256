"""The YAML format of DESIGN §6, go-seccomp-bpf files, and errors that point at the text."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats.yaml_policy import load_yaml_policy, read_yaml_policy
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    TRACE,
    All,
    Any,
    Cmp,
    Not,
    NumberRange,
    Policy,
    Rule,
    SourceLocation,
)

# Constants written out from the kernel headers, not taken from the code under test.
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10  # <linux/socket.h>
EPERM, EACCES, ENOSYS = 1, 13, 38  # <asm-generic/errno*.h>
O_WRONLY, O_CREAT = 0o1, 0o100  # <asm-generic/fcntl.h>
AT_FDCWD = -100  # <linux/fcntl.h>


def load(text: str) -> Policy:
    return load_yaml_policy(textwrap.dedent(text), source="policy.yaml")


def test_the_design_example() -> None:
    policy = load(
        """\
        default_action: errno(EPERM)          # comment
        arches: [x86_64, i386, x32]
        unknown_syscall_action: errno(ENOSYS)
        multiplexer_conditions: drop
        syscalls:
          - names: [read, write, close, exit_group, futex]
            action: allow
          - names: [socket]
            action: allow
            when: {arg: 0, op: in, value: [AF_UNIX, AF_INET, AF_INET6]}
          - names: [personality]
            action: allow
            when: {any: [{arg: 0, op: eq, value: 0}, {arg: 0, op: eq, value: 0x20008}]}
        """
    )
    assert policy.default_action == ERRNO(EPERM)
    assert policy.arches == ("x86_64", "i386", "x32")
    assert policy.unknown_syscall_action == ERRNO(ENOSYS)
    assert policy.bad_arch_action == KILL_PROCESS
    assert policy.rules == (
        Rule(("read", "write", "close", "exit_group", "futex"), ALLOW),
        Rule(("socket",), ALLOW, Cmp(0, "in", (AF_UNIX, AF_INET, AF_INET6))),
        Rule(("personality",), ALLOW, Any((Cmp(0, "eq", 0), Cmp(0, "eq", 0x20008)))),
    )
    assert [r.location for r in policy.rules] == [
        SourceLocation("policy.yaml", 6, 5),
        SourceLocation("policy.yaml", 8, 5),
        SourceLocation("policy.yaml", 11, 5),
    ]
    assert policy.source == "policy.yaml"


def test_every_key_and_value_form() -> None:
    policy = load(
        """\
        name: everything
        comment: all the keys
        default_action: kill
        bad_arch_action: kill_process
        arches: [native]
        flags: [log, spec_allow]
        syscalls:
          - names: [openat]
            action: errno(EACCES)
            comment: no creating files
            when:
              all:
                - {arg: 0, op: eq, value: AT_FDCWD, width: 32}
                - {arg: 2, op: masked_eq, mask: O_ACCMODE, value: O_WRONLY}
                - {not: {arg: 2, op: bits_clear, value: "O_CREAT|O_EXCL"}}
          - names: [write]
            action: trace(7)
            when: [{arg: 0, op: range, value: [0, 2]}, {ip: true, op: ge, value: "0x400000"}]
          - names: [mmap]
            action: log
            when: {arg: 2, op: not_in, value: ["-1", 0o7, 0b10]}
          - names: [1000, -2, 2000..2047, "0x80000000..0xbfffffff"]
            action: allow
        """
    )
    assert policy.name == "everything" and policy.comment == "all the keys"
    assert policy.default_action == KILL_THREAD
    assert policy.flags == ("log", "spec_allow")
    openat, write, mmap, raw = policy.rules
    assert openat.action == ERRNO(EACCES)
    assert openat.when == All(
        (
            Cmp(0, "eq", AT_FDCWD, width=32),
            Cmp(2, "masked_eq", O_WRONLY, mask=0o3),
            Not(Cmp(2, "bits_clear", O_CREAT | 0o200)),
        )
    )
    assert write.action == TRACE(7)
    assert write.when == All((Cmp(0, "range", (0, 2)), Cmp(None, "ge", 0x400000)))
    assert mmap.action == LOG
    assert mmap.when == Cmp(2, "not_in", (2**64 - 1, 7, 2))
    assert raw.syscalls == (
        1000,
        0xFFFFFFFE,
        NumberRange(2000, 2047),
        NumberRange(0x80000000, 0xBFFFFFFF),
    )


def test_octal_and_hex_follow_yaml_1_1() -> None:
    policy = load(
        """\
        default_action: allow
        syscalls:
          - names: [chmod]
            action: errno(1)
            when: {arg: 1, op: bits_set, value: 04000}
          - names: [fchmod]
            action: errno(1)
            when: {arg: 1, op: bits_set, value: 0x800}
        """
    )
    assert policy.rules[0].when == policy.rules[1].when == Cmp(1, "bits_set", 0o4000)


def test_empty_syscalls_and_no_arches() -> None:
    assert load("default_action: log\n").rules == ()
    assert load("default_action: log\nsyscalls:\n").rules == ()
    assert load("default_action: log\nsyscalls: []\n").arches == ("native",)


def test_yaml_anchors_are_fine() -> None:
    policy = load(
        """\
        default_action: allow
        syscalls:
          - names: [kill]
            action: errno(1)
            when: &not_self {arg: 0, op: ne, value: 0}
          - names: [tkill]
            action: errno(1)
            when: *not_self
        """
    )
    assert policy.rules[0].when == policy.rules[1].when == Cmp(0, "ne", 0)


def test_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("default_action: allow\nsyscalls:\n  - names: [reed]\n    action: log\n")
    with pytest.raises(PolicyError) as caught:
        read_yaml_policy(path)
    assert str(caught.value).startswith(f"{path}:3:13: ")
    path.write_bytes(b"default_action: allow\ncomment: \xff\xfe\n")
    with pytest.raises(PolicyError, match="not UTF-8") as caught:
        read_yaml_policy(path)
    assert (caught.value.line, caught.value.column) == (2, 10)


# --- go-seccomp-bpf ---------------------------------------------------------------------------
# Policies in elastic/go-seccomp-bpf's format (its Policy/SyscallGroup/NameWithConditions),
# written for these tests.


def test_go_seccomp_bpf_plain_groups() -> None:
    policy = load(
        """\
        # blocks the network, allows the rest
        default_action: allow
        syscalls:
          - action: errno
            names:
              - connect
              - accept
              - bind
          - action: kill_process
            names: [execve, execveat]
        """
    )
    assert policy.rules == (
        Rule(("connect", "accept", "bind"), ERRNO(EPERM)),
        Rule(("execve", "execveat"), KILL_PROCESS),
    )
    assert policy.evaluate("x86_64", 42) == ERRNO(EPERM)  # connect, syscall_64.tbl
    assert policy.evaluate("x86_64", 0) == ALLOW


def test_go_seccomp_bpf_beats_wrapper_and_arguments() -> None:
    policy = load(
        """\
        seccomp:
          default_action: errno
          syscalls:
            - action: allow
              names: [read, write]
              names_with_args:
                - name: setsockopt
                  arguments:
                    - {argument: 1, operation: Equal, value: 1}
                    - {argument: 2, operation: NotEqual, value: 2}
                - name: setsockopt
                  arguments:
                    - {position: 1, operation: equal, value: 6}
                - name: umask
                  arguments:
                    - {operation: BitsNotSet, value: 0o022}
                - name: mprotect
                  arguments:
                    - {index: 2, operation: BitsSet, value: 0x4}
                    - {index: 0, operation: GreaterOrEqual, value: 4096}
                    - {index: 1, operation: LessThan, value: 65536}
        """
    )
    plain, setsockopt, umask, mprotect = policy.rules
    assert plain == Rule(("read", "write"), ALLOW)
    assert setsockopt == Rule(
        ("setsockopt",),
        ALLOW,
        Any((All((Cmp(1, "eq", 1), Cmp(2, "ne", 2))), Cmp(1, "eq", 6))),
    )
    assert umask.when == Cmp(0, "bits_clear", 0o022)
    assert mprotect.when == All(
        (Not(Cmp(2, "bits_clear", 4)), Cmp(0, "ge", 4096), Cmp(1, "lt", 65536))
    )
    # BitsSet holds when any of the bits is set (go-seccomp-bpf's JSET on each half)
    mprotect_nr = 10  # syscall_64.tbl
    assert policy.evaluate("x86_64", mprotect_nr, (4096, 4096, 0x5, 0, 0, 0)) == ALLOW
    assert policy.evaluate("x86_64", mprotect_nr, (4096, 4096, 0x3, 0, 0, 0)) == ERRNO(EPERM)
    assert policy.evaluate("x86_64", 54, (0, 1, 0, 0, 0, 0)) == ALLOW  # setsockopt
    assert policy.evaluate("x86_64", 54, (0, 1, 2, 0, 0, 0)) == ERRNO(EPERM)
    assert policy.evaluate("x86_64", 54, (0, 6, 2, 0, 0, 0)) == ALLOW


def test_go_seccomp_bpf_filter_wrapper() -> None:
    policy = load(
        """\
        no_new_privs: false
        flag: 3
        policy:
          default_action: kill_thread
          syscalls:
            - action: trace
              names: [ptrace]
        """
    )
    assert policy.default_action == KILL_THREAD
    assert policy.rules == (Rule(("ptrace",), TRACE(0)),)
    assert policy.flags == ("tsync", "log")
    assert any("no_new_privs" in note for note in policy.notes)
    named = load("flag: tsync|log\npolicy:\n  default_action: allow\n")
    assert named.flags == ("tsync", "log")


# --- malformed policies: one clear error each, pointing at line and column --------------------

MALFORMED = [
    # (YAML, line, column, phrase in the message, offending text)
    ("default_action: allow\nsyscalls: [read\n", 3, 1, "YAML syntax error", None),
    ("a: 1\n---\nb: 2\n", 2, 1, "single document", "---"),
    ("default_action: allow\n\tsyscalls: []\n", 2, 1, "cannot start any token", "syscalls: []"),
    ("", 1, 1, "the policy is empty", None),
    ("- read\n- write\n", 1, 1, "must hold a mapping", "- read"),
    ("syscalls: []\n", 1, 1, "'default_action' is required", "syscalls: []"),
    ("default_action: allow\ndefualt: log\n", 2, 1, "unknown key 'defualt'", "defualt"),
    (
        "default_action: allow\ndefault_action: log\n",
        2,
        1,
        "given twice (first on line 1)",
        "default_action",
    ),
    ("default_action: permit\n", 1, 17, "unknown action 'permit'", "permit"),
    ("default_action: errno(5000)\n", 1, 17, "MAX_ERRNO", "errno(5000)"),
    ("default_action: errno(EFOO)\n", 1, 17, "unknown errno name 'EFOO'", "errno(EFOO)"),
    ("default_action: 5\n", 1, 17, "must be an action", "5"),
    ("default_action: !!binary aGVsbG8=\n", 1, 17, "unsupported YAML tag", "aGVsbG8="),
    (
        "default_action: allow\narches: [x86_64, amd46]\n",
        2,
        18,
        "unknown architecture 'amd46'",
        "amd46",
    ),
    ("default_action: allow\narches: x86_64\n", 2, 9, "arches must be a list", "x86_64"),
    ("default_action: allow\narches: []\n", 2, 9, "at least one architecture", "[]"),
    ("default_action: allow\nflags: [fast]\n", 2, 9, "unknown flag 'fast'", "fast"),
    ("default_action: allow\nmultiplexer_conditions: maybe\n", 2, 25, "or 'strict'", "maybe"),
    (
        "default_action: allow\nsyscalls:\n  - {names: [read, 5..x], action: log}\n",
        3,
        20,
        "'5..x' is not a range of numbers FIRST..LAST",
        "5..x",
    ),
    (
        "default_action: allow\nsyscalls:\n  - {names: [read], action: log, audit_arches: [x]}\n",
        3,
        49,
        "unknown architecture 'x'",
        "x",
    ),
    (
        "default_action: allow\nsyscalls:\n  - {names: [\"9..3\"], action: log}\n",
        3,
        14,
        "a number range runs upwards",
        "9..3",
    ),
    (
        "default_action: allow\nsyscalls: {names: [read]}\n",
        2,
        11,
        "syscalls must be a list",
        "{names: [read]}",
    ),
    ("default_action: allow\nsyscalls:\n  - read\n", 3, 5, "must be a mapping", "read"),
    (
        "default_action: allow\nsyscalls:\n  - names: [read]\n",
        3,
        5,
        "'action' is required",
        "names: [read]",
    ),
    ("default_action: allow\nsyscalls:\n  - action: log\n", 3, 5, "give 'names'", "action: log"),
    (
        "default_action: allow\nsyscalls:\n  - nmes: [read]\n    action: log\n",
        3,
        5,
        "unknown key 'nmes'",
        "nmes",
    ),
    (
        "default_action: allow\nsyscalls:\n  - names: []\n    action: log\n",
        3,
        12,
        "the list is empty",
        "[]",
    ),
    (
        "default_action: allow\nsyscalls:\n  - names: [raed]\n    action: log\n",
        3,
        13,
        "unknown system call 'raed'",
        "raed",
    ),
    (
        "default_action: allow\nsyscalls:\n  - names: [read, read]\n    action: log\n",
        3,
        19,
        "listed twice",
        "read",
    ),
    (
        "default_action: allow\nsyscalls:\n  - names: [[read]]\n    action: log\n",
        3,
        13,
        "must be text",
        "[read]]",
    ),
    (
        "default_action: allow\nsyscalls:\n  - names: [read]\n    action: deny\n",
        4,
        13,
        "unknown action 'deny'",
        "deny",
    ),
]
WHEN_CASES = [
    # (the `when` value, the text in it the error must point at, phrase, offending text)
    ("{arg: 0, op: equals, value: 1}", "equals", "unknown operation 'equals'", "equals"),
    ("{arg: 6, op: eq, value: 1}", "6", "must be 0..5", "6"),
    ("{arg: 0, op: eq, value: AF_INETT}", "AF_INETT", "unknown constant 'AF_INETT'", "AF_INETT"),
    (
        "{arg: 0, op: eq, value: 0x100000000, width: 32}",
        "0x100000000",
        "does not fit in 32 bits",
        "0x100000000",
    ),
    ("{arg: 0, op: eq, value: 1, width: 16}", "16", "width must be 32 or 64", "16"),
    ("{arg: 0, op: in, value: 1}", "1}", "must be a list", "1"),
    ("{arg: 0, op: range, value: [1, 2, 3]}", "[", "range takes [low, high]", "[1, 2, 3]}"),
    ("{arg: 0, op: range, value: [5, 1]}", "[", "range is empty", "[5, 1]}"),
    ("{arg: 0, op: eq, value: 1, mask: 1}", "mask", "mask belongs to op masked_eq", "mask"),
    ("{arg: 0, op: masked_eq, value: 1}", "{", "needs 'mask'", "{arg: 0, op: masked_eq, value: 1}"),
    ("{arg: 0, op: masked_eq, value: 0x10, mask: 0xf}", "0x10", "bits outside mask", "0x10"),
    ("{all: [], any: []}", "{", "use one of all, any, not", "{all: [], any: []}"),
    ("{op: eq, value: 1}", "{", "needs 'arg: N'", "{op: eq, value: 1}"),
    ("{any: []}", "[", "needs at least one condition", "[]}"),
    ("{ip: false, op: eq, value: 1}", "false", "write 'ip: true'", "false"),
    ("{arg: 0, ip: true, op: eq, value: 1}", "ip", "either arg or ip", "ip"),
    ("{arg: 0, op: eq, value: 1, size: 4}", "size", "unknown key 'size'", "size"),
    ("{arg: 0, op: eq, value: 1.5}", "1.5", "must be an integer or a constant", "1.5"),
    ("{arg: 0, op: eq}", "{", "needs 'value'", "{arg: 0, op: eq}"),
    ("{not: 5}", "5", "must be a comparison", "5"),
    ("[]", "[", "an empty list of conditions", "[]"),
    ("{arg: 0, op: eq, value: 'O_RDONLY|-1'}", "'", "only non-negative values", "O_RDONLY|-1"),
]
GO_CASES = [
    # go-seccomp-bpf names_with_args
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n    names_with_args:\n"
        "      - name: kill\n        arguments: [{argument: 0, operation: Equals, value: 1}]\n",
        6,
        46,
        "unknown operation 'Equals'",
        "Equals",
    ),
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n    names_with_args:\n"
        "      - name: kill\n        arguments: [{argument: 7, operation: Equal}]\n",
        6,
        32,
        "must be 0..5",
        "7",
    ),
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n    names_with_args:\n"
        "      - arguments: [{operation: Equal}]\n",
        5,
        9,
        "'name' is required",
        "arguments: [{operation: Equal}]",
    ),
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n    names_with_args:\n"
        "      - name: kill\n",
        5,
        9,
        "'arguments' is required",
        "name: kill",
    ),
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n    names: [kill]\n"
        "    names_with_args:\n"
        "      - name: kill\n        arguments: [{operation: Equal}]\n",
        6,
        15,
        "also listed without conditions",
        "kill",
    ),
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n    names_with_args:\n"
        "      - name: kil\n        arguments: [{operation: Equal}]\n",
        5,
        15,
        "unknown system call 'kil'",
        "kil",
    ),
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n    names_with_args:\n"
        "      - name: kill\n        arguments: [{position: 0, index: 0, operation: Equal}]\n",
        6,
        21,
        "give one of position, index",
        "{position: 0, index: 0, operation: Equal}]",
    ),
    (
        "default_action: allow\nsyscalls:\n  - action: errno\n"
        "    when: {arg: 0, op: eq, value: 1}\n"
        "    names_with_args:\n      - name: kill\n        arguments: [{operation: Equal}]\n",
        4,
        5,
        "'when' applies to 'names'",
        "when",
    ),
    ("seccomp:\n  default_action: allow\nother: 1\n", 3, 1, "unknown key 'other'", "other"),
    ("flag: fast\npolicy:\n  default_action: allow\n", 1, 7, "unknown flag 'fast'", "fast"),
    (
        "policy:\n  default_action: allow\n  syscalls:\n    - action: deny\n      names: [read]\n",
        4,
        15,
        "unknown action 'deny'",
        "deny",
    ),
]


def _cases() -> list[tuple[str, int, int, str, str | None]]:
    cases = list(MALFORMED)
    prefix = "    when: "
    for when, at, phrase, snippet in WHEN_CASES:
        head = "default_action: allow\nsyscalls:\n  - names: [read]\n    action: log\n"
        text = f"{head}{prefix}{when}\n"
        cases.append((text, 5, len(prefix) + when.index(at) + 1, phrase, snippet))
    cases.extend(GO_CASES)
    return cases


@pytest.mark.parametrize(("text", "line", "column", "phrase", "snippet"), _cases())
def test_malformed_policy_gives_one_pointed_error(
    text: str, line: int, column: int, phrase: str, snippet: str | None
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_yaml_policy(text, source="bad.yaml")
    error = caught.value
    assert phrase in error.message
    assert (error.source, error.line, error.column) == ("bad.yaml", line, column)
    assert error.snippet == snippet
    first_line = str(error).splitlines()[0]
    assert first_line.startswith(f"bad.yaml:{line}:{column}: ")
    assert "\n" not in str(error)


def test_malformed_table_is_large() -> None:
    assert len(_cases()) >= 40


def test_multiplexer_conditions_error_points_at_the_rule() -> None:
    text = (
        "default_action: errno\narches: [x86_64, i386]\n"
        "syscalls:\n  - names: [read]\n    action: allow\n"
        "  - names: [socket]\n    action: allow\n    when: {arg: 0, op: eq, value: AF_UNIX}\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_yaml_policy(text, source="bad.yaml")
    error = caught.value
    assert (error.line, error.column, error.snippet) == (6, 5, "socket")
    assert "rule 2" in error.message and "i386" in error.message and "socketcall" in error.message
    dropped = load_yaml_policy(text + "multiplexer_conditions: drop\n", source="ok.yaml")
    assert any("socketcall(socket)" in w for w in dropped.check())


def test_unknown_arch_suggests() -> None:
    with pytest.raises(PolicyError, match="did you mean x86_64"):
        load_yaml_policy("default_action: allow\narches: [x86_46]\n")


def test_name_of_another_arch_is_explained() -> None:
    with pytest.raises(PolicyError, match=r"not a system call on x86_64.*exists on i386"):
        load_yaml_policy(
            "default_action: allow\narches: [x86_64]\n"
            "syscalls:\n  - names: [socketcall]\n    action: log\n"
        )
