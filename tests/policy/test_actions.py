"""Actions: text form, return values, precedence and the data limits of <linux/seccomp.h>."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    TRACE,
    TRAP,
    USER_NOTIF,
    Action,
)

# <linux/seccomp.h>, written out here rather than taken from the code under test.
RET_VALUES = {
    SeccompAction.KILL_PROCESS: 0x80000000,
    SeccompAction.KILL_THREAD: 0x00000000,
    SeccompAction.TRAP: 0x00030000,
    SeccompAction.ERRNO: 0x00050000,
    SeccompAction.USER_NOTIF: 0x7FC00000,
    SeccompAction.TRACE: 0x7FF00000,
    SeccompAction.LOG: 0x7FFC0000,
    SeccompAction.ALLOW: 0x7FFF0000,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("allow", ALLOW),
        ("ALLOW", ALLOW),
        ("log", LOG),
        ("errno", ERRNO(1)),
        ("errno(1)", ERRNO(1)),
        ("errno(EPERM)", ERRNO(1)),
        ("errno(eacces)", ERRNO(13)),
        ("errno( ENOSYS )", ERRNO(38)),
        ("errno(0x10)", ERRNO(16)),
        ("errno(0)", ERRNO(0)),
        ("errno(4095)", ERRNO(4095)),
        ("trap", TRAP(0)),
        ("trap(3)", TRAP(3)),
        ("trace", TRACE(0)),
        ("trace(65535)", TRACE(0xFFFF)),
        ("user_notif", USER_NOTIF),
        ("notify", USER_NOTIF),
        ("kill_thread", KILL_THREAD),
        ("kill", KILL_THREAD),  # libseccomp/Docker: SCMP_ACT_KILL is KILL_THREAD
        ("Kill_Process", KILL_PROCESS),
    ],
)
def test_parse(text: str, expected: Action) -> None:
    assert Action.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("permit", "unknown action 'permit'"),
        ("errno(4096)", "MAX_ERRNO"),
        ("errno(-1)", "errno must be 0..4095"),
        ("errno(ENOTANERRNO)", "unknown errno name"),
        ("errno(AF_INET)", "unknown errno name"),
        ("trap(65536)", "0..65535"),
        ("allow(1)", "allow takes no argument"),
        ("kill_process(0)", "takes no argument"),
        ("trace(x)", "takes a number"),
        ("errno(1", "is not an action"),
        ("", "is not an action"),
    ],
)
def test_parse_errors(text: str, phrase: str) -> None:
    with pytest.raises(PolicyError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        Action.parse(text)


def test_ret_value_is_kind_bits_or_data() -> None:
    for kind, bits in RET_VALUES.items():
        assert Action(kind).ret_value == bits
    assert ERRNO(13).ret_value == 0x0005000D
    assert TRAP(0xABCD).ret_value == 0x0003ABCD
    assert TRACE(7).ret_value == 0x7FF00007


@pytest.mark.parametrize(
    "kind",
    [
        k
        for k in SeccompAction
        if k not in (SeccompAction.ERRNO, SeccompAction.TRAP, SeccompAction.TRACE)
    ],
)
def test_data_less_kinds_refuse_data(kind: SeccompAction) -> None:
    with pytest.raises(PolicyError, match="takes no data"):
        Action(kind, 1)


def test_errno_above_max_errno_is_refused() -> None:
    with pytest.raises(PolicyError, match="MAX_ERRNO"):
        ERRNO(4096)


def test_precedence_follows_the_kernel_order() -> None:
    order = [KILL_PROCESS, KILL_THREAD, TRAP(5), ERRNO(1), USER_NOTIF, TRACE(1), LOG, ALLOW]
    precedences = [a.precedence for a in order]
    assert precedences == sorted(precedences)
    assert len(set(precedences)) == len(precedences)


@pytest.mark.parametrize(
    ("action", "text", "description"),
    [
        (ALLOW, "allow", "allow"),
        (ERRNO(1), "errno(1)", "errno(EPERM)"),
        (ERRNO(4000), "errno(4000)", "errno(4000)"),
        (TRAP(0), "trap", "trap"),
        (TRAP(3), "trap(3)", "trap(3)"),
        (TRACE(9), "trace(9)", "trace(9)"),
        (KILL_THREAD, "kill_thread", "kill_thread"),
        (USER_NOTIF, "user_notif", "user_notif"),
    ],
)
def test_text_and_description(action: Action, text: str, description: str) -> None:
    assert str(action) == text
    assert action.describe() == description
    assert Action.parse(text) == action


def test_errno_by_name() -> None:
    assert ERRNO("EACCES") == ERRNO(13)
    with pytest.raises(PolicyError):
        ERRNO("NOPE")


def test_from_ret_strict_and_lenient() -> None:
    assert Action.from_ret(0x7FFF0000) == ALLOW
    assert Action.from_ret(0x80000000) == KILL_PROCESS
    assert Action.from_ret(0x00050026) == ERRNO(38)
    with pytest.raises(PolicyError, match="not a seccomp action"):
        Action.from_ret(0x00010000)
    with pytest.raises(PolicyError, match="MAX_ERRNO"):
        Action.from_ret(0x0005FFFF)
    with pytest.raises(PolicyError, match="takes no data"):
        Action.from_ret(0x7FFF0001)
    # As the kernel reads them (kernel/seccomp.c, __seccomp_filter):
    assert Action.from_ret(0x00010000, strict=False) == KILL_PROCESS
    assert Action.from_ret(0x0005FFFF, strict=False) == ERRNO(4095)
    assert Action.from_ret(0x7FFF0001, strict=False) == ALLOW
    with pytest.raises(PolicyError):
        Action.from_ret(1 << 32)


@given(st.sampled_from(list(SeccompAction)), st.integers(0, 0xFFFF))
def test_from_ret_inverts_ret_value(kind: SeccompAction, data: int) -> None:
    if data > kind.max_data:
        return
    action = Action(kind, data)
    assert Action.from_ret(action.ret_value) == action
    assert Action.parse(str(action)) == action
