"""``resolve_for_arch``: a policy seen from one ABI, with the numbers from the kernel's tables.

The numbers are written here from the kernel's sources (cited), so that a mistake in the
tables or in the resolution shows.
"""

from __future__ import annotations

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import (
    ALLOW,
    ERRNO,
    LOG,
    TRAP,
    Equal,
    MaskedEqual,
    NumberRange,
    Policy,
    Rule,
    SourceLocation,
    eq,
)
from seccomp_bpf.policy.resolution import ResolvedRule, mirror_condition, resolve_for_arch

# arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl, arch/arm64 (asm-generic)
X86_64_READ, X86_64_WRITE, X86_64_SOCKET = 0, 1, 41
I386_READ, I386_SOCKETCALL, I386_IPC, I386_SOCKET, I386_BIND = 3, 102, 117, 359, 361
AARCH64_READ = 63
SYS_SOCKET, SYS_BIND = 1, 2  # <linux/net.h>
SEMOP = 1  # <linux/ipc.h>
AUDIT_ARCH_MIPS = 0x00000008


def test_names_become_each_abis_numbers() -> None:
    policy = Policy(ERRNO(1), (Rule(("read", "write"), ALLOW, eq(0, 1)),), arches=("x86_64",))
    resolved = resolve_for_arch(policy, get_arch("x86_64"))
    assert set(resolved.rules_by_nr) == {X86_64_READ, X86_64_WRITE}
    assert resolved.rules_by_nr[X86_64_READ] == (ResolvedRule(0, ALLOW, eq(0, 1)),)
    assert resolved.entries(X86_64_READ) == resolved.rules_by_nr[X86_64_READ]
    on_arm64 = resolve_for_arch(policy, get_arch("aarch64"))
    assert AARCH64_READ in on_arm64.rules_by_nr and X86_64_READ not in on_arm64.rules_by_nr
    assert X86_64_WRITE in resolved.known_numbers
    assert resolved.known_numbers == frozenset(get_arch("x86_64").syscalls.values())
    assert resolved.skipped == () and resolved.warnings == () and resolved.ranges == ()


def test_missing_names_are_skipped_per_abi() -> None:
    # x86-64 has no socketcall (syscall_64.tbl); i386 has it (syscall_32.tbl: 102)
    policy = Policy(ERRNO(1), (Rule(("read", "socketcall"), ALLOW),), arches=("x86_64", "i386"))
    resolved = resolve_for_arch(policy, get_arch("x86_64"))
    assert resolved.skipped == ((0, "socketcall"),)
    assert set(resolved.rules_by_nr) == {X86_64_READ}
    i386 = resolve_for_arch(policy, get_arch("i386"))
    assert i386.skipped == () and set(i386.rules_by_nr) == {I386_READ, I386_SOCKETCALL}


def test_raw_numbers_and_order() -> None:
    policy = Policy(
        ERRNO(1),
        (Rule((1000, "read"), LOG), Rule(("read",), ALLOW), Rule((0,), TRAP(1))),
        arches=("x86_64",),
    )
    resolved = resolve_for_arch(policy, get_arch("x86_64"))
    assert [e.rule_index for e in resolved.rules_by_nr[X86_64_READ]] == [0, 1, 2]
    assert resolved.rules_by_nr[1000] == (ResolvedRule(0, LOG, None),)
    assert resolved.named(1000) and not resolved.named(1001)


def test_one_rule_naming_a_call_twice_gives_one_entry() -> None:
    policy = Policy(ERRNO(1), (Rule(("read", 0), ALLOW),), arches=("x86_64",))
    assert len(resolve_for_arch(policy, get_arch("x86_64")).rules_by_nr[X86_64_READ]) == 1


def test_socket_calls_are_mirrored_on_socketcall_in_policy_order() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("socketcall",), LOG, eq(1, 7)),
            Rule(("socket",), ALLOW),
            Rule(("bind", "semop"), TRAP(2)),
        ),
        arches=("i386",),
    )
    resolved = resolve_for_arch(policy, get_arch("i386"))
    assert resolved.rules_by_nr[I386_SOCKET] == (ResolvedRule(1, ALLOW, None),)
    assert resolved.rules_by_nr[I386_BIND] == (ResolvedRule(2, TRAP(2), None),)
    assert resolved.rules_by_nr[I386_SOCKETCALL] == (
        ResolvedRule(0, LOG, eq(1, 7)),
        ResolvedRule(1, ALLOW, Equal(0, SYS_SOCKET, width=32), "socketcall"),
        ResolvedRule(2, TRAP(2), Equal(0, SYS_BIND, width=32), "socketcall"),
    )
    # semop exists only through ipc on i386; ipc's call is the low 16 bits
    assert resolved.rules_by_nr[I386_IPC] == (
        ResolvedRule(2, TRAP(2), MaskedEqual(0, 0xFFFF, SEMOP, width=32), "ipc"),
    )
    assert mirror_condition("ipc", SEMOP) == MaskedEqual(0, 0xFFFF, SEMOP, width=32)
    # x86-64 has no multiplexer: nothing is mirrored
    plain = Policy(ERRNO(1), (Rule(("socket",), ALLOW),), arches=("x86_64",))
    assert set(resolve_for_arch(plain, get_arch("x86_64")).rules_by_nr) == {X86_64_SOCKET}


def test_conditional_rules_on_multiplexed_calls() -> None:
    rules = (
        Rule(("socket",), ALLOW, eq(0, 1), location=SourceLocation("p.yaml", 7, 5)),
        Rule(("bind",), ERRNO(13), eq(0, 3)),
    )
    with pytest.raises(PolicyError, match=r"rule 1 puts argument conditions on 'socket'") as error:
        resolve_for_arch(Policy(ERRNO(1), rules, arches=("i386",)), get_arch("i386"))
    assert error.value.line == 7
    drop = resolve_for_arch(
        Policy(ERRNO(1), rules, arches=("i386",), multiplexer_conditions="drop"), get_arch("i386")
    )
    assert drop.rules_by_nr[I386_SOCKETCALL] == (
        ResolvedRule(0, ALLOW, Equal(0, SYS_SOCKET, width=32), "socketcall"),
        ResolvedRule(1, ERRNO(13), Equal(0, SYS_BIND, width=32), "socketcall"),
    )
    assert len(drop.warnings) == 2 and all("applies to every" in w for w in drop.warnings)
    strict = resolve_for_arch(
        Policy(ERRNO(1), rules, arches=("i386",), multiplexer_conditions="strict"),
        get_arch("i386"),
    )
    # fail closed: the allow rule is not mirrored, the deny rule is, without conditions
    assert strict.rules_by_nr[I386_SOCKETCALL] == (
        ResolvedRule(1, ERRNO(13), Equal(0, SYS_BIND, width=32), "socketcall"),
    )
    assert any("does not apply to socketcall(socket)" in w for w in strict.warnings)
    assert strict.rules_by_nr[I386_SOCKET] == (ResolvedRule(0, ALLOW, eq(0, 1)),)


def test_number_ranges_name_every_number_in_them() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("write",), LOG),
            Rule((NumberRange(0, 2), NumberRange(1000, 1003)), TRAP(4), eq(0, 7)),
            Rule(("read",), ALLOW),
        ),
        arches=("x86_64",),
    )
    resolved = resolve_for_arch(policy, get_arch("x86_64"))
    ranged = ResolvedRule(1, TRAP(4), eq(0, 7))
    assert resolved.ranges[1].first == 1000 and resolved.ranges[1].entry == ranged
    # known numbers in a range get its entry, in policy order among their own
    assert [e.rule_index for e in resolved.rules_by_nr[X86_64_READ]] == [1, 2]
    assert [e.rule_index for e in resolved.rules_by_nr[X86_64_WRITE]] == [0, 1]
    # unknown numbers in a range are decided by the range
    assert 1001 not in resolved.rules_by_nr and resolved.entries(1001) == (ranged,)
    assert resolved.entries(1004) == ()
    assert resolved.range_bounds() == [0, 3, 1000, 1004]


def test_rules_limited_to_abis_and_audit_values() -> None:
    policy = Policy(
        ERRNO(1),
        (
            Rule(("read",), LOG, arches=("mips64",)),
            Rule(("read",), ALLOW, audit_arches=("mips",)),
        ),
        arches=("mips64", "mips"),
    )
    n64 = resolve_for_arch(policy, get_arch("mips64"))
    o32 = resolve_for_arch(policy, get_arch("mips"))
    n64_read = get_arch("mips64").syscalls["read"]
    o32_read = get_arch("mips").syscalls["read"]
    assert (n64_read, o32_read) == (5000, 4003)  # arch/mips/kernel/syscalls/syscall_*.tbl
    assert [e.rule_index for e in n64.rules_by_nr[n64_read]] == [0, 1]
    assert [e.rule_index for e in o32.rules_by_nr[o32_read]] == [1]
    audits = n64.rules_by_nr[n64_read][1].audits
    assert audits == frozenset({AUDIT_ARCH_MIPS})
    assert [e.rule_index for e in n64.entries(n64_read, get_arch("mips64").audit_arch)] == [0]
    assert [e.rule_index for e in n64.entries(n64_read, AUDIT_ARCH_MIPS)] == [0, 1]
    assert n64.named(n64_read, AUDIT_ARCH_MIPS)
