"""The independent reference evaluator, on cases written from DESIGN §3 and the kernel's tables.

Every number here comes from the kernel's sources (cited), not from the package: the oracle
must be right on its own before it judges the compiler. The last test checks that the two
evaluators, this one and the package's ``Policy.decide``, agree on random policies.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

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
    All,
    Any,
    Cmp,
    Not,
    NumberRange,
    Policy,
    Rule,
    eq,
)
from tests.compiler.strategies import (
    arguments,
    interesting_numbers,
    multiplexer_calls,
    policies,
)
from tests.reference.evaluator import (
    MultiplexerRefusedError,
    compare,
    dispatched,
    evaluate,
    return_value,
    table,
)

# <linux/audit.h>
AUDIT_X86_64 = 0xC000003E
AUDIT_I386 = 0x40000003
AUDIT_ARM = 0x40000028
AUDIT_AARCH64 = 0xC00000B7
AUDIT_MIPS = 0x00000008
AUDIT_MIPS64 = 0x80000008
AUDIT_MIPSEL64 = 0xC0000008
AUDIT_S390X = 0x80000016
X32 = 0x40000000  # __X32_SYSCALL_BIT
# arch/x86/entry/syscalls/syscall_64.tbl, syscall_32.tbl; arch/arm/tools/syscall.tbl;
# arch/mips/kernel/syscalls/syscall_{o32,n64,n32}.tbl; include/uapi/asm-generic/unistd.h
X86_64_READ, X86_64_WRITE, X86_64_SOCKET = 0, 1, 41
I386_READ, I386_WRITE, I386_SOCKETCALL, I386_IPC, I386_SOCKET = 3, 4, 102, 117, 359
ARM_READ = 3
AARCH64_READ = 63
MIPS_O32_READ, MIPS_N64_READ, MIPS_N32_READ = 4003, 5000, 6000
S390X_READ = 3


def args(*values: int) -> tuple[int, ...]:
    return values + (0,) * (6 - len(values))


def test_the_tables_are_the_kernel_tables() -> None:
    assert [dispatched(AUDIT_X86_64, 0).name, dispatched(AUDIT_X86_64, X32).name] == [  # type: ignore[union-attr]
        "x86_64",
        "x32",
    ]
    abi = dispatched(AUDIT_I386, I386_SOCKETCALL)
    assert abi is not None and abi.name == "i386"
    assert table(abi)["socketcall"] == I386_SOCKETCALL and table(abi)["ipc"] == I386_IPC
    assert table(abi)["read"] == I386_READ and "semop" not in table(abi)  # only through ipc
    x32 = dispatched(AUDIT_X86_64, X32)
    assert x32 is not None and table(x32)["read"] == X32 | 0
    assert dispatched(0x12345678, 0) is None


def test_return_values_are_the_kernels() -> None:
    # <linux/seccomp.h>
    assert return_value(ALLOW) == 0x7FFF0000
    assert return_value(LOG) == 0x7FFC0000
    assert return_value(ERRNO(1)) == 0x00050001
    assert return_value(TRAP(7)) == 0x00030007
    assert return_value(TRACE(3)) == 0x7FF00003
    assert return_value(USER_NOTIF) == 0x7FC00000
    assert return_value(KILL_THREAD) == 0
    assert return_value(KILL_PROCESS) == 0x80000000


@pytest.mark.parametrize(
    ("operation", "a", "value", "mask", "expected"),
    [
        ("eq", 5, 5, None, True),
        ("ne", 5, 5, None, False),
        ("lt", 2**32 - 1, 2**32, None, True),
        ("le", 2**63, 2**63, None, True),
        ("gt", 2**63, 2**31, None, True),  # unsigned: 2**63 is large, not negative
        ("ge", 0, 1, None, False),
        ("masked_eq", 0x8001, 0x1, 0x3, True),
        ("masked_eq", 0x2, 0x1, 0x3, False),
        ("bits_set", 0b111, 0b101, None, True),
        ("bits_set", 0b100, 0b101, None, False),
        ("bits_clear", 0b010, 0b101, None, True),
        ("in", 10, (1, 2, 10), None, True),
        ("not_in", 10, (1, 2, 10), None, False),
        ("range", 2**32, (2**32 - 1, 2**32 + 1), None, True),
        ("range", 2**32 + 2, (2**32 - 1, 2**32 + 1), None, False),
    ],
)
def test_the_comparisons(
    operation: str, a: int, value: int | tuple[int, ...], mask: int | None, expected: bool
) -> None:
    assert compare(operation, a, value, mask) is expected


def test_first_match_then_default() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("read",), ERRNO(13), eq(0, 0)),
            Rule(("read",), ALLOW),
            Rule(("read",), KILL_PROCESS),  # never reached
        ),
        arches=("x86_64",),
    )
    assert evaluate(policy, AUDIT_X86_64, X86_64_READ, args(0)) == ERRNO(13)
    assert evaluate(policy, AUDIT_X86_64, X86_64_READ, args(1)) == ALLOW
    assert evaluate(policy, AUDIT_X86_64, X86_64_WRITE) == ERRNO(1)
    nested = Rule(("write",), LOG, Any((All((eq(0, 1), Not(eq(1, 2)))), Cmp(None, "ge", 0x1000))))
    policy = Policy(ERRNO(1), (nested,), arches=("x86_64",))
    assert evaluate(policy, AUDIT_X86_64, X86_64_WRITE, args(1, 3)) == LOG
    assert evaluate(policy, AUDIT_X86_64, X86_64_WRITE, args(1, 2)) == ERRNO(1)
    assert evaluate(policy, AUDIT_X86_64, X86_64_WRITE, args(1, 2), ip=0x1000) == LOG


def test_x32_and_i386_are_other_abis() -> None:
    only_64 = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("x86_64",))
    assert evaluate(only_64, AUDIT_X86_64, X86_64_READ) == ALLOW
    assert evaluate(only_64, AUDIT_X86_64, X32 | 0) == KILL_PROCESS  # x32 read: bad arch
    assert evaluate(only_64, AUDIT_X86_64, 0xFFFFFFFE) == KILL_PROCESS  # bit 30 set
    # -1, a tracer's skipped call, has bit 30 set but is x86-64's: the default decides
    assert evaluate(only_64, AUDIT_X86_64, 0xFFFFFFFF) == ERRNO(1)
    only_x32 = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("x32",))
    assert evaluate(only_x32, AUDIT_X86_64, 0xFFFFFFFF) == KILL_PROCESS  # x86-64 not listed
    assert evaluate(only_x32, AUDIT_X86_64, 0xFFFFFFFE) == ERRNO(1)  # an unknown x32 number
    assert evaluate(only_64, AUDIT_I386, I386_READ) == KILL_PROCESS  # int 0x80
    assert evaluate(only_64, AUDIT_AARCH64, AARCH64_READ) == KILL_PROCESS
    assert evaluate(only_64, 0x12345678, 0) == KILL_PROCESS
    all_x86 = Policy(
        ERRNO(1), (Rule(("read",), ALLOW),), arches=("x86_64", "x32", "i386"),
        bad_arch_action=KILL_THREAD,
    )  # fmt: skip
    assert evaluate(all_x86, AUDIT_X86_64, X32 | 0) == ALLOW
    assert evaluate(all_x86, AUDIT_X86_64, X32 | 1) == ERRNO(1)  # x32 write
    assert evaluate(all_x86, AUDIT_I386, I386_READ) == ALLOW
    assert evaluate(all_x86, AUDIT_I386, X86_64_READ) == ERRNO(1)  # 0 is restart_syscall
    # a raw number is seccomp_data.nr as it is: 0 is x86-64's read, not x32's
    raw = Policy(ERRNO(1), (Rule((0,), ALLOW),), arches=("x86_64", "x32"))
    assert evaluate(raw, AUDIT_X86_64, 0) == ALLOW
    assert evaluate(raw, AUDIT_X86_64, X32 | 0) == ERRNO(1)


def test_32_bit_abis_see_the_low_halves() -> None:
    policy = Policy(
        ERRNO(1),
        (Rule(("read",), ALLOW, eq(0, 5)), Rule(("write",), ALLOW, Cmp(None, "eq", 2**33))),
        arches=("arm", "aarch64"),
    )
    assert evaluate(policy, AUDIT_ARM, ARM_READ, args(5)) == ALLOW
    assert evaluate(policy, AUDIT_ARM, ARM_READ, args((7 << 32) | 5)) == ALLOW
    assert evaluate(policy, AUDIT_AARCH64, AARCH64_READ, args((7 << 32) | 5)) == ERRNO(1)
    # the instruction pointer keeps its bits
    assert evaluate(policy, AUDIT_ARM, 4, ip=2**33) == ALLOW  # arm's write is 4
    assert evaluate(policy, AUDIT_ARM, 4, ip=0) == ERRNO(1)


def test_mips_numbers_pick_the_table() -> None:
    n64 = Policy(ERRNO(1), (Rule(("read",), ALLOW),), arches=("mips64",))
    assert evaluate(n64, AUDIT_MIPS64, MIPS_N64_READ) == ALLOW
    # an o32 task's call in the n64 range runs n64's read, under the o32 value
    assert evaluate(n64, AUDIT_MIPS, MIPS_N64_READ) == ALLOW
    assert evaluate(n64, AUDIT_MIPS64, MIPS_O32_READ) == KILL_PROCESS  # o32 is not listed
    assert evaluate(n64, AUDIT_MIPS64, MIPS_N32_READ) == KILL_PROCESS
    assert evaluate(n64, AUDIT_MIPSEL64, MIPS_N64_READ) == KILL_PROCESS  # the other byte order
    # outside every range, the task's own ABI (n64 here, whose table has no such number)
    assert evaluate(n64, AUDIT_MIPS64, 7000) == ERRNO(1)
    o32 = Policy(ERRNO(1), (Rule(("read",), ALLOW, eq(0, 1)),), arches=("mips",))
    # an n64 task's o32 call: the o32 ABI sees 32-bit arguments
    assert evaluate(o32, AUDIT_MIPS64, MIPS_O32_READ, args((3 << 32) | 1)) == ALLOW


def test_audit_limited_rules() -> None:
    policy = Policy(
        ERRNO(1),
        (Rule(("read",), LOG, audit_arches=("mips",)), Rule(("read",), ALLOW)),
        arches=("mips64",),
        unknown_syscall_action=ERRNO(38),
    )
    assert evaluate(policy, AUDIT_MIPS, MIPS_N64_READ) == LOG
    assert evaluate(policy, AUDIT_MIPS64, MIPS_N64_READ) == ALLOW
    only = Policy(ERRNO(1), (Rule((5999,), LOG, audit_arches=("mips",)),), arches=("mips64",),
                  unknown_syscall_action=ERRNO(38))  # fmt: skip
    assert evaluate(only, AUDIT_MIPS, 5999) == LOG
    # for calls reported otherwise the rule does not take part: the number is unknown there
    assert evaluate(only, AUDIT_MIPS64, 5999) == ERRNO(38)


def test_socketcall_and_ipc_mirror_the_direct_calls() -> None:
    policy = Policy(
        ERRNO(1),
        (Rule(("socket", "semop"), ALLOW), Rule(("bind",), LOG)),
        arches=("i386",),
    )
    assert evaluate(policy, AUDIT_I386, I386_SOCKET) == ALLOW
    assert evaluate(policy, AUDIT_I386, I386_SOCKETCALL, args(1)) == ALLOW  # SYS_SOCKET
    assert evaluate(policy, AUDIT_I386, I386_SOCKETCALL, args(2)) == LOG  # SYS_BIND
    assert evaluate(policy, AUDIT_I386, I386_SOCKETCALL, args(3)) == ERRNO(1)  # SYS_CONNECT
    # the first argument is an int: a 32-bit ABI sees its low half
    assert evaluate(policy, AUDIT_I386, I386_SOCKETCALL, args((9 << 32) | 1)) == ALLOW
    # ipc's call is the low 16 bits (ipc/syscall.c: version = call >> 16)
    assert evaluate(policy, AUDIT_I386, I386_IPC, args((1 << 16) | 1)) == ALLOW  # SEMOP
    assert evaluate(policy, AUDIT_I386, I386_IPC, args(2)) == ERRNO(1)  # SEMGET


def test_multiplexer_conditions() -> None:
    rules = (Rule(("socket",), ALLOW, eq(0, 1)), Rule(("bind",), ERRNO(13), eq(0, 9)))
    error = Policy(ERRNO(1), rules, arches=("i386",))
    with pytest.raises(MultiplexerRefusedError):
        evaluate(error, AUDIT_I386, I386_SOCKETCALL, args(1))
    drop = Policy(ERRNO(1), rules, arches=("i386",), multiplexer_conditions="drop")
    assert evaluate(drop, AUDIT_I386, I386_SOCKETCALL, args(1)) == ALLOW  # any socket call
    assert evaluate(drop, AUDIT_I386, I386_SOCKETCALL, args(2)) == ERRNO(13)  # any bind
    assert evaluate(drop, AUDIT_I386, I386_SOCKET, args(2)) == ERRNO(1)  # direct: conditions
    strict = Policy(ERRNO(1), rules, arches=("i386",), multiplexer_conditions="strict")
    assert evaluate(strict, AUDIT_I386, I386_SOCKETCALL, args(1)) == ERRNO(1)  # allow: not mirrored
    assert evaluate(strict, AUDIT_I386, I386_SOCKETCALL, args(2)) == ERRNO(13)  # deny: all of them
    assert evaluate(strict, AUDIT_I386, I386_SOCKET, args(1)) == ALLOW


def test_number_ranges_and_unknown_numbers() -> None:
    policy = Policy(
        ERRNO(1),
        (Rule((NumberRange(1000, 1003),), TRACE(3), eq(0, 1)), Rule(("read",), ALLOW)),
        arches=("x86_64",),
        unknown_syscall_action=ERRNO(38),
    )
    assert evaluate(policy, AUDIT_X86_64, 1000, args(1)) == TRACE(3)
    assert evaluate(policy, AUDIT_X86_64, 1003, args(2)) == ERRNO(1)  # named: the default
    assert evaluate(policy, AUDIT_X86_64, 1004) == ERRNO(38)  # unknown
    assert evaluate(policy, AUDIT_X86_64, X86_64_WRITE) == ERRNO(1)  # known, no rule
    assert evaluate(policy, AUDIT_X86_64, X86_64_READ) == ALLOW
    over_known = Policy(
        ERRNO(1), (Rule((NumberRange(0, 1),), LOG), Rule(("read",), ALLOW)), arches=("x86_64",)
    )
    assert evaluate(over_known, AUDIT_X86_64, X86_64_READ) == LOG  # the range comes first
    assert evaluate(over_known, AUDIT_X86_64, X86_64_SOCKET) == ERRNO(1)


def test_rules_limited_to_some_abis() -> None:
    policy = Policy(
        ERRNO(1),
        (Rule(("read",), LOG, arches=("s390x",)), Rule(("read",), ALLOW)),
        arches=("x86_64", "s390x"),
    )
    assert evaluate(policy, AUDIT_S390X, S390X_READ) == LOG
    assert evaluate(policy, AUDIT_X86_64, X86_64_READ) == ALLOW


# Every ABI the oracle knows, as sets of listed ABIs.
ARCH_SETS = (
    ("x86_64",),
    ("x86_64", "i386", "x32"),
    ("aarch64", "arm"),
    ("mips64", "mips", "mips64n32"),
    ("mipsel",),
    ("s390x", "s390"),
    ("ppc64", "ppc"),
    ("ppc64le",),
    ("riscv64",),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(policies(arch_choices=ARCH_SETS), st.data())
def test_the_package_evaluator_agrees(policy: Policy, data: st.DataObject) -> None:
    try:
        policy.validate()
    except PolicyError:
        assume(False)
    from tests.reference.evaluator import BY_NAME

    audits = {BY_NAME[name].audit for name in BY_NAME} | {0x12345678}
    for audit in sorted(audits):
        arch = next((a for a in policy.resolved_arches() if a.audit_arch == audit), None)
        cases = [
            (nr, data.draw(arguments(policy)))
            for nr in (interesting_numbers(policy, arch) if arch else [0, 3, 4003, 5000])
        ]
        cases += multiplexer_calls(arch) if arch else []
        for nr, call in cases:
            ip = data.draw(st.sampled_from([0, 2**32, 2**64 - 1]))
            assert policy.evaluate(audit, nr, call, ip) == evaluate(policy, audit, nr, call, ip), (
                hex(audit),
                nr,
                [hex(a) for a in call],
            )
