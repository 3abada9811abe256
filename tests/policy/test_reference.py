"""The reference evaluator, straight from DESIGN §3: ABI choice, first match, defaults."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import get_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    KILL_PROCESS,
    KILL_THREAD,
    LOG,
    TRACE,
    TRAP,
    Action,
    All,
    Any,
    Cmp,
    Condition,
    Not,
    NumberRange,
    Policy,
    Rule,
    bits_set,
    eq,
    evaluate,
    gt,
    in_,
    masked_eq,
)

# <linux/audit.h>
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
AUDIT_ARCH_AARCH64 = 0xC00000B7
X32_BIT = 0x40000000  # __X32_SYSCALL_BIT, <asm/unistd.h>
# arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl
X86_64_READ, X86_64_WRITE, X86_64_OPENAT, X86_64_SOCKET = 0, 1, 257, 41
I386_READ, I386_SOCKETCALL, I386_IPC, I386_SOCKET = 3, 102, 117, 359
O_CREAT = 0o100  # <asm-generic/fcntl.h>


def args(*values: int) -> tuple[int, ...]:
    return values + (0,) * (6 - len(values))


def test_first_matching_rule_wins_in_policy_order() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("openat",), ERRNO(13), bits_set(2, O_CREAT)),
            Rule(("openat",), ALLOW, eq(1, 0)),
            Rule(("openat", "read"), LOG),
            Rule(("openat",), KILL_PROCESS),  # never reached: the rule above always matches
        ),
        arches=("x86_64",),
    )
    assert policy.evaluate("x86_64", X86_64_OPENAT, args(3, 0, O_CREAT)) == ERRNO(13)
    assert policy.evaluate("x86_64", X86_64_OPENAT, args(3, 0, 0)) == ALLOW
    assert policy.evaluate("x86_64", X86_64_OPENAT, args(3, 5, 0)) == LOG
    assert policy.evaluate("x86_64", X86_64_READ) == LOG
    assert policy.evaluate("x86_64", X86_64_WRITE) == ERRNO(1)
    decision = policy.decide("x86_64", X86_64_OPENAT, args(3, 5, 0))
    assert (decision.rule_index, decision.arch) == (2, "x86_64")
    assert decision.reason == "rule 3"
    default = policy.decide("x86_64", X86_64_WRITE)
    assert (default.rule_index, default.reason) == (None, "default action")


def test_rule_order_reversed_changes_the_answer() -> None:
    deny_first = Policy(
        ERRNO(1), (Rule(("read",), TRAP(1), eq(0, 0)), Rule(("read",), ALLOW)), ("x86_64",)
    )
    allow_first = Policy(
        ERRNO(1), (Rule(("read",), ALLOW), Rule(("read",), TRAP(1), eq(0, 0))), ("x86_64",)
    )
    assert deny_first.evaluate("x86_64", X86_64_READ, args(0)) == TRAP(1)
    assert allow_first.evaluate("x86_64", X86_64_READ, args(0)) == ALLOW


def test_nested_conditions_decide() -> None:
    # personality(PER_LINUX) or personality(0xffffffff) as an int: low 32 bits only
    when: Condition = Any((eq(0, 0, width=32), eq(0, -1, width=32), All((gt(0, 7), Not(gt(0, 8))))))
    policy = Policy(ERRNO(1), (Rule(("personality",), ALLOW, when),), ("x86_64",))
    nr = 135  # personality, syscall_64.tbl
    for value, expected in [
        (0, ALLOW),
        (0xFFFF_FFFF, ALLOW),
        (0xABCD_0000_FFFF_FFFF, ALLOW),
        (8, ALLOW),
        (7, ERRNO(1)),
        (9, ERRNO(1)),
        (2**32, ALLOW),  # low word 0
    ]:
        assert policy.evaluate("x86_64", nr, args(value)) == expected, hex(value)


def test_instruction_pointer_condition() -> None:
    policy = Policy(
        KILL_PROCESS, (Rule(("write",), ALLOW, Cmp(None, "range", (0x1000, 0x1FFF))),), ("x86_64",)
    )
    assert policy.evaluate("x86_64", X86_64_WRITE, ip=0x1800) == ALLOW
    assert policy.evaluate("x86_64", X86_64_WRITE, ip=0x2000) == KILL_PROCESS


class TestAbiSelection:
    rules = (
        Rule(("read",), ALLOW),
        Rule(("write",), ERRNO(5)),
    )

    def policy(self, *arches: str) -> Policy:
        return Policy(ERRNO(1), self.rules, arches, bad_arch_action=KILL_THREAD)

    def test_x86_64_only_refuses_x32_and_i386(self) -> None:
        policy = self.policy("x86_64")
        assert policy.evaluate(AUDIT_ARCH_X86_64, X86_64_READ) == ALLOW
        assert policy.evaluate(AUDIT_ARCH_X86_64, X32_BIT | 0) == KILL_THREAD  # x32 read
        assert policy.evaluate(AUDIT_ARCH_X86_64, X32_BIT | 999) == KILL_THREAD
        assert policy.evaluate(AUDIT_ARCH_I386, I386_READ) == KILL_THREAD
        assert policy.evaluate(AUDIT_ARCH_AARCH64, 63) == KILL_THREAD
        assert policy.evaluate(0x12345678, 0) == KILL_THREAD
        bad = policy.decide(AUDIT_ARCH_X86_64, X32_BIT)
        assert bad.rule_index is None and "x32" in bad.reason and bad.arch is None

    def test_three_abis(self) -> None:
        policy = self.policy("x86_64", "i386", "x32")
        assert policy.evaluate(AUDIT_ARCH_X86_64, X86_64_READ) == ALLOW
        assert policy.evaluate(AUDIT_ARCH_X86_64, X32_BIT | 0) == ALLOW  # x32 read
        assert policy.evaluate(AUDIT_ARCH_X86_64, X32_BIT | 1) == ERRNO(5)  # x32 write
        assert policy.evaluate(AUDIT_ARCH_I386, I386_READ) == ALLOW
        assert policy.evaluate(AUDIT_ARCH_I386, 4) == ERRNO(5)  # i386 write
        assert policy.evaluate(AUDIT_ARCH_I386, X86_64_READ) == ERRNO(1)  # 0 is restart_syscall
        assert policy.decide(AUDIT_ARCH_X86_64, X32_BIT).arch == "x32"
        assert policy.decide(AUDIT_ARCH_I386, I386_READ).arch == "i386"

    def test_x32_only_refuses_x86_64_numbers(self) -> None:
        policy = self.policy("x32")
        assert policy.evaluate(AUDIT_ARCH_X86_64, X32_BIT | 0) == ALLOW
        assert policy.evaluate(AUDIT_ARCH_X86_64, X86_64_READ) == KILL_THREAD

    def test_arch_given_as_object_or_name_still_reads_bit_30(self) -> None:
        policy = self.policy("x86_64", "x32")
        x32 = get_arch("x32")
        assert policy.evaluate(x32, X32_BIT | 1) == ERRNO(5)
        # an x86_64 number with the x32 Arch object: the number decides, as seccomp_data would
        assert policy.decide(x32, X86_64_WRITE).arch == "x86_64"
        assert policy.evaluate("amd64", X86_64_WRITE) == ERRNO(5)
        assert self.policy("x86_64").evaluate(get_arch("x32"), X32_BIT) == KILL_THREAD

    def test_negative_nr_is_its_32_bit_pattern(self) -> None:
        policy = self.policy("x86_64", "x32")
        # -1 is 0xffffffff, a tracer's skipped call: bit 30 is set, but it is x86-64's
        assert policy.decide(AUDIT_ARCH_X86_64, -1).arch == "x86_64"
        assert policy.decide(AUDIT_ARCH_X86_64, -2).arch == "x32"  # an unknown x32 number


class TestUnknownSyscallAction:
    def policy(self, *rules: Rule) -> Policy:
        return Policy(
            ERRNO(1),
            (Rule(("read",), ALLOW), *rules),
            ("x86_64", "x32"),
            unknown_syscall_action=ERRNO(38),
        )

    def test_numbers_outside_the_table(self) -> None:
        policy = self.policy()
        assert policy.evaluate("x86_64", 1000) == ERRNO(38)
        assert policy.evaluate("x86_64", 0xFFFF) == ERRNO(38)
        assert policy.evaluate("x86_64", X32_BIT | 1000) == ERRNO(38)
        assert policy.evaluate("x86_64", X86_64_WRITE) == ERRNO(1)  # known, no rule: default
        assert policy.evaluate("x86_64", X86_64_READ) == ALLOW
        assert "unknown system call 1000" in policy.decide("x86_64", 1000).reason

    def test_a_rule_naming_the_number_takes_it_out_of_unknown(self) -> None:
        policy = self.policy(Rule((1000,), TRACE(3), eq(0, 1)))
        assert policy.evaluate("x86_64", 1000, args(1)) == TRACE(3)
        assert policy.evaluate("x86_64", 1000, args(2)) == ERRNO(1)  # named, no match: default
        assert policy.evaluate("x86_64", 1001) == ERRNO(38)

    def test_without_it_unknown_numbers_get_the_default(self) -> None:
        policy = Policy(ERRNO(1), (Rule(("read",), ALLOW),), ("x86_64",))
        assert policy.evaluate("x86_64", 1000) == ERRNO(1)


class TestNumberRanges:
    def test_a_range_names_each_of_its_numbers_in_policy_order(self) -> None:
        policy = Policy(
            ERRNO(1),
            (
                Rule(("write",), LOG),
                Rule((NumberRange(0, 9),), TRAP(4), eq(0, 7)),
                Rule(("read", 5), ALLOW),
                Rule((NumberRange(1000, 1999),), KILL_THREAD),
                Rule((1500,), ALLOW),
            ),
            ("x86_64", "x32"),
            unknown_syscall_action=ERRNO(38),
        )
        assert policy.evaluate("x86_64", X86_64_WRITE, args(7)) == LOG  # an earlier rule
        assert policy.evaluate("x86_64", X86_64_READ, args(7)) == TRAP(4)  # the range first
        assert policy.evaluate("x86_64", X86_64_READ, args(8)) == ALLOW
        assert policy.evaluate("x86_64", 5, args(7)) == TRAP(4)
        assert policy.evaluate("x86_64", 9, args(8)) == ERRNO(1)  # named by the range: default
        assert policy.evaluate("x86_64", 10) == ERRNO(1)  # known, no rule
        # unknown numbers in a range are named: the range decides, else the default
        assert policy.evaluate("x86_64", 999) == ERRNO(38)
        assert policy.evaluate("x86_64", 1000) == KILL_THREAD
        assert policy.evaluate("x86_64", 1500) == KILL_THREAD  # the range comes first
        assert policy.evaluate("x86_64", 1999) == KILL_THREAD
        assert policy.evaluate("x86_64", 2000) == ERRNO(38)
        decision = policy.decide("x86_64", 1234)
        assert decision.rule_index == 3 and decision.arch == "x86_64"
        # x32's numbers carry bit 30: a range of small numbers is not theirs
        assert policy.evaluate("x86_64", X32_BIT | 1000) == ERRNO(38)

    def test_a_range_across_abis_reaches_each_abis_own_numbers_only(self) -> None:
        everything = NumberRange(0, 0xFFFFFFFF)
        rule = Rule((everything,), ERRNO(13), arches=("x32",))
        policy = Policy(ALLOW, (rule,), ("x86_64", "x32"))
        assert policy.evaluate("x86_64", X86_64_READ) == ALLOW
        assert policy.evaluate("x86_64", 0x80000000) == ALLOW  # an x86-64 number
        assert policy.evaluate("x86_64", X32_BIT | 0) == ERRNO(13)
        assert policy.evaluate("x86_64", 0xFFFFFFFE) == ERRNO(13)  # bit 30 set: x32's
        assert policy.evaluate("x86_64", 0xFFFFFFFF) == ALLOW  # -1: x86-64's (skipped call)
        assert policy.evaluate("i386", 3) == KILL_PROCESS  # not listed

    def test_ranges_are_checked(self) -> None:
        assert NumberRange(-2, -1) == NumberRange(0xFFFFFFFE, 0xFFFFFFFF)
        assert str(NumberRange(1000, 1003)) == "1000..1003"
        assert str(NumberRange(0, 0x3FFFFFFF)) == "0..0x3fffffff"
        assert NumberRange.parse("0x80000000..0xbfffffff") == NumberRange(2**31, 0xBFFFFFFF)
        assert NumberRange.parse(" 5 .. 9 ") == NumberRange(5, 9)
        assert NumberRange.parse("read") is None
        assert NumberRange.parse("5..x") is None
        with pytest.raises(PolicyError, match="runs upwards"):
            NumberRange(9, 3)
        with pytest.raises(PolicyError, match="does not fit in 32 bits"):
            NumberRange(0, 2**32)
        with pytest.raises(PolicyError, match="must be an integer"):
            NumberRange(0, "9")  # type: ignore[arg-type]


def test_rules_limited_to_audit_values() -> None:
    # A 64-bit MIPS kernel runs o32 numbers for n64 tasks too, reporting AUDIT_ARCH_MIPS64.
    mips_read, mips_write = 4003, 4004
    policy = Policy(
        ALLOW,
        (
            Rule(
                (NumberRange(4000, 4999),),
                KILL_THREAD,
                arches=("mips",),
                audit_arches=("mips64",),
            ),
            Rule(("read",), ERRNO(13), eq(0, 1), audit_arches=("mips64", "mips64n32")),
        ),
        ("mips", "mips64"),
    )
    assert policy.rules[0].describe() == "4000..4999 -> kill_thread (on mips) (reported as mips64)"
    assert policy.evaluate("mips", mips_read) == ALLOW  # an o32 task's own call
    assert policy.evaluate("mips64", mips_read) == KILL_THREAD  # o32 call of an n64 task
    assert policy.evaluate("mips64", mips_write) == KILL_THREAD
    assert policy.evaluate("mips64", 5000, args(1)) == ERRNO(13)  # n64 read, reported as n64
    assert policy.evaluate("mips", 5000, args(1)) == ALLOW  # n64 read of an o32 task
    assert policy.evaluate("mips64", 5000, args(2)) == ALLOW
    # unknown numbers named only by rules for other values stay unknown
    unknown = Policy(
        ERRNO(1),
        (Rule((4999,), ALLOW, audit_arches=("mips64",)),),
        ("mips", "mips64"),
        unknown_syscall_action=ERRNO(38),
    )
    assert unknown.evaluate("mips64", 4999) == ALLOW
    assert unknown.evaluate("mips", 4999) == ERRNO(38)
    with pytest.raises(PolicyError, match="audit_arches: unknown architecture"):
        Rule(("read",), ALLOW, audit_arches=("mips65",))


def test_raw_numbers_apply_as_given_on_every_arch() -> None:
    policy = Policy(ERRNO(1), (Rule((0, -1), LOG),), ("x86_64", "i386", "x32"))
    assert policy.rules[0].syscalls == (0, 0xFFFFFFFF)
    assert policy.evaluate("x86_64", 0) == LOG
    assert policy.evaluate("i386", 0) == LOG
    assert policy.evaluate("x86_64", 0xFFFFFFFF) == LOG  # x32 ABI, as seccomp_data shows it
    assert policy.evaluate("x86_64", X32_BIT) == ERRNO(1)  # x32 read is not the number 0


class TestMultiplexers:
    """i386: socket calls also arrive through socketcall(2), SysV IPC through ipc(2)."""

    def test_socketcall_mirror_compares_the_call_number(self) -> None:
        policy = Policy(ERRNO(1), (Rule(("socket", "connect"), ALLOW),), ("i386",))
        sys_socket, sys_connect, sys_bind = 1, 3, 2  # <linux/net.h>
        assert policy.evaluate("i386", I386_SOCKET) == ALLOW
        assert policy.evaluate("i386", I386_SOCKETCALL, args(sys_socket)) == ALLOW
        assert policy.evaluate("i386", I386_SOCKETCALL, args(sys_connect)) == ALLOW
        assert policy.evaluate("i386", I386_SOCKETCALL, args(sys_bind)) == ERRNO(1)
        # `int call`: only the low 32 bits count
        assert policy.evaluate("i386", I386_SOCKETCALL, args(0xFFFF_FFFF_0000_0001)) == ALLOW
        decision = policy.decide("i386", I386_SOCKETCALL, args(sys_socket))
        assert decision.rule_index == 0 and "through socketcall" in decision.reason

    def test_ipc_mirror_ignores_the_version_in_the_high_half(self) -> None:
        msgrcv, semop = 12, 1  # <linux/ipc.h>: MSGRCV, SEMOP
        policy = Policy(ERRNO(1), (Rule(("msgrcv",), ALLOW), Rule(("semop",), TRAP(2))), ("i386",))
        assert policy.evaluate("i386", I386_IPC, args(msgrcv)) == ALLOW
        assert (
            policy.evaluate("i386", I386_IPC, args((1 << 16) | msgrcv)) == ALLOW
        )  # IPCCALL(1, MSGRCV)
        assert policy.evaluate("i386", I386_IPC, args(semop)) == TRAP(2)
        assert policy.evaluate("i386", I386_IPC, args(13)) == ERRNO(1)  # MSGGET
        assert policy.evaluate("i386", I386_IPC, args((12 << 16) | 13)) == ERRNO(1)

    def test_not_mirrored_where_there_is_no_multiplexer(self) -> None:
        policy = Policy(ERRNO(1), (Rule(("socket",), ALLOW, eq(0, 1, width=32)),), ("x86_64",))
        assert policy.evaluate("x86_64", X86_64_SOCKET, args(1)) == ALLOW
        assert policy.evaluate("x86_64", X86_64_SOCKET, args(2)) == ERRNO(1)

    def test_conditions_on_a_mirrored_call_are_an_error_by_default(self) -> None:
        rule = Rule(("socket",), ALLOW, in_(0, [1, 2], width=32))
        policy = Policy(ERRNO(1), (Rule(("read",), ALLOW), rule), ("x86_64", "i386"))
        with pytest.raises(PolicyError, match=r"rule 2 .*'socket'.* i386 .*socketcall") as caught:
            policy.validate()
        assert "multiplexer_conditions: strict" in str(caught.value)
        with pytest.raises(PolicyError):
            policy.evaluate("x86_64", X86_64_READ)

    def test_drop_mirrors_only_the_call_number_and_warns(self) -> None:
        rule = Rule(("socket",), ALLOW, in_(0, [1, 2], width=32))
        policy = Policy(ERRNO(1), (rule,), ("x86_64", "i386"), multiplexer_conditions="drop")
        af_inet6 = 10
        assert policy.evaluate("i386", I386_SOCKET, args(af_inet6)) == ERRNO(
            1
        )  # direct: conditions hold
        assert policy.evaluate("i386", I386_SOCKETCALL, args(1)) == ALLOW  # broader: any family
        assert policy.evaluate("x86_64", X86_64_SOCKET, args(af_inet6)) == ERRNO(1)
        warnings = policy.check()
        assert any("i386" in w and "socketcall(socket)" in w for w in warnings)
        # a deny rule becomes stricter on the multiplexer
        deny = Policy(
            ALLOW,
            (Rule(("socket",), ERRNO(13), eq(0, 16, width=32)),),
            ("i386",),
            multiplexer_conditions="drop",
        )
        assert deny.evaluate("i386", I386_SOCKETCALL, args(1)) == ERRNO(13)
        assert deny.evaluate("i386", I386_SOCKET, args(2)) == ALLOW

    def test_strict_skips_conditional_allow_rules_and_widens_denials(self) -> None:
        af_unix, af_inet, af_vsock = 1, 2, 40
        policy = Policy(
            ERRNO(1),
            (
                Rule(("socket",), ALLOW, in_(0, [af_unix, af_inet], width=32)),
                Rule(("socket",), LOG, eq(0, af_vsock + 1, width=32)),
                Rule(("socket",), ERRNO(13)),
                Rule(("connect",), TRAP(3), eq(0, 5, width=32)),
                Rule(("connect",), ALLOW),
                Rule(("bind",), ALLOW, eq(0, 3, width=32)),
            ),
            ("x86_64", "i386"),
            multiplexer_conditions="strict",
        )
        sys_socket, sys_bind, sys_connect = 1, 2, 3  # <linux/net.h>
        # direct calls: the rules as written
        assert policy.evaluate("i386", I386_SOCKET, args(af_inet)) == ALLOW
        assert policy.evaluate("i386", I386_SOCKET, args(af_vsock)) == ERRNO(13)
        # through socketcall: the allow and log rules cannot be checked, the denial applies
        assert policy.evaluate("i386", I386_SOCKETCALL, args(sys_socket)) == ERRNO(13)
        decision = policy.decide("i386", I386_SOCKETCALL, args(sys_socket))
        assert decision.rule_index == 2 and "through socketcall" in decision.reason
        # a conditional denial applies to every call through the multiplexer
        assert policy.evaluate("i386", I386_SOCKETCALL, args(sys_connect)) == TRAP(3)
        # a conditional allow with nothing after it: the multiplexed call gets the default
        assert policy.evaluate("i386", I386_SOCKETCALL, args(sys_bind)) == ERRNO(1)
        assert policy.evaluate("x86_64", X86_64_SOCKET, args(af_inet)) == ALLOW
        warnings = policy.check()
        assert any("rule 1" in w and "does not apply to socketcall(socket)" in w for w in warnings)
        assert any("rule 4" in w and "every socketcall(connect)" in w for w in warnings)

    def test_mirrored_entries_keep_their_place_among_the_multiplexers_rules(self) -> None:
        own_first = Policy(
            ERRNO(1),
            (Rule(("socketcall",), ERRNO(13), eq(0, 1, width=32)), Rule(("socket",), ALLOW)),
            ("i386",),
        )
        mirror_first = Policy(
            ERRNO(1),
            (Rule(("socket",), ALLOW), Rule(("socketcall",), ERRNO(13), eq(0, 1, width=32))),
            ("i386",),
        )
        assert own_first.evaluate("i386", I386_SOCKETCALL, args(1)) == ERRNO(13)
        assert mirror_first.evaluate("i386", I386_SOCKETCALL, args(1)) == ALLOW
        entries = mirror_first.resolve("i386").rules_by_nr[I386_SOCKETCALL]
        assert [(e.rule_index, e.via) for e in entries] == [(0, "socketcall"), (1, None)]


def test_evaluate_function_equals_method() -> None:
    policy = Policy(ERRNO(1), (Rule(("read",), ALLOW),), ("x86_64",))
    assert (
        evaluate(policy, "x86_64", X86_64_READ) == policy.evaluate("x86_64", X86_64_READ) == ALLOW
    )
    with pytest.raises(PolicyError, match="at most 6 arguments"):
        policy.evaluate("x86_64", 0, (0,) * 7)
    with pytest.raises(PolicyError, match="AUDIT_ARCH"):
        policy.evaluate(1.5, 0)  # type: ignore[arg-type]


# --- a property: the evaluator equals a direct reading of the rules (raw numbers only) --------

ACTIONS = st.sampled_from(
    [ALLOW, LOG, ERRNO(1), ERRNO(38), TRAP(0), TRACE(1), KILL_THREAD, KILL_PROCESS]
)
VALUES = st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1])
COMPARISONS = st.builds(
    Cmp,
    st.integers(0, 2),
    st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "bits_set", "bits_clear"]),
    VALUES,
)
CONDITIONS: st.SearchStrategy[Condition] = st.recursive(
    COMPARISONS,
    lambda inner: st.one_of(
        st.builds(lambda cs: All(tuple(cs)), st.lists(inner, max_size=3)),
        st.builds(lambda cs: Any(tuple(cs)), st.lists(inner, max_size=3)),
        st.builds(Not, inner),
    ),
    max_leaves=6,
)
RULES = st.builds(
    lambda numbers, action, when: Rule(tuple(numbers), action, when),
    st.lists(st.integers(1000, 1003), min_size=1, max_size=2),
    ACTIONS,
    st.one_of(st.none(), CONDITIONS),
)


def direct_reading(policy: Policy, nr: int, call_args: tuple[int, ...]) -> Action:
    for rule in policy.rules:
        if nr in rule.syscalls and (rule.when is None or rule.when.holds(call_args)):
            return rule.action
    return policy.default_action


@settings(max_examples=200, deadline=None)
@given(
    st.lists(RULES, max_size=5), ACTIONS, st.integers(1000, 1004), st.tuples(VALUES, VALUES, VALUES)
)
def test_evaluate_is_the_first_matching_rule(
    rules: list[Rule], default: Action, nr: int, first_args: tuple[int, int, int]
) -> None:
    policy = Policy(default, tuple(rules), ("x86_64",))
    call_args = args(*first_args)
    assert policy.evaluate(AUDIT_ARCH_X86_64, nr, call_args) == direct_reading(
        policy, nr, call_args
    )


def test_masked_eq_rule_on_flags() -> None:
    # clone without namespace flags (Docker's rule): (flags & 0x7E020000) == 0
    policy = Policy(ERRNO(1), (Rule(("clone",), ALLOW, masked_eq(0, 0x7E020000, 0)),), ("x86_64",))
    clone = 56  # syscall_64.tbl
    assert policy.evaluate("x86_64", clone, args(0x11)) == ALLOW  # SIGCHLD
    assert policy.evaluate("x86_64", clone, args(0x10000011)) == ERRNO(1)  # CLONE_NEWUSER
