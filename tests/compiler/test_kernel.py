"""Compiled policies on the real kernel decide as the model (``policy.evaluate``).

Every filter is loaded in a forked child (``tests/kernel/forked.py``), which then makes real
system calls; what the kernel did must be what the policy says.

- Random policies whose rules name only numbers that no x86-64, i386 or x32 table assigns,
  with random conditions on all six 64-bit arguments and any action, and ALLOW as the
  default so that the child's own calls go through. Calls on those numbers, with arguments
  steered to the policy's constants, through all three ABIs of an x86-64 process: the
  ``syscall`` instruction, the same with the x32 bit, and ``int 0x80``. An allowed call
  fails with ENOSYS, ERRNO(n) with n; TRAP, KILL_THREAD and KILL_PROCESS are told apart as in
  ``tests/kernel/filtered_calls.py``.
- Harmless real calls (``getppid``, ``getuid``...): they ignore their arguments, but the
  filter sees them.
- i386 calls through ``int 0x80`` and x32 calls against policies that do not list those ABIs:
  ``bad_arch_action``.

The emulator's answer is checked on every call as well, so a mismatch says which of the
compiler or the kernel disagrees with the model.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import random
import signal
import sys
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import X32_SYSCALL_BIT, get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.kernel import set_mode_filter, set_no_new_privs, syscall_abi
from seccomp_bpf.kernel.compat import (
    has_i386_emulation,
    has_x32_abi,
    i386_syscall,
    i386_syscall_full_registers,
)
from seccomp_bpf.kernel.libc import SyscallResult, syscall
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
    All,
    Any,
    Cmp,
    Condition,
    Not,
    NumberRange,
    Policy,
    Rule,
)
from tests.compiler.strategies import arguments, conditions
from tests.kernel.filtered_calls import (
    UNASSIGNED_NRS,
    Call,
    MakeCall,
    Outcome,
    expected_outcome,
    run_calls,
)
from tests.kernel.forked import Send, run_forked, run_in_child

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or syscall_abi() != "x86_64",
        reason="needs a 64-bit x86-64 Linux process",
    ),
]

X86_64 = get_arch("x86_64")
I386 = get_arch("i386")
X32 = get_arch("x32")
# x32 shares AUDIT_ARCH_X86_64 (<linux/audit.h>); its numbers carry __X32_SYSCALL_BIT.
assert X32.audit_arch == X86_64.audit_arch

I386_AVAILABLE = sys.platform.startswith("linux") and has_i386_emulation()
needs_i386 = pytest.mark.skipif(
    not I386_AVAILABLE, reason="the kernel runs no i386 system calls (no IA-32 emulation)"
)

# Rule numbers: unassigned on x86_64 and i386, and the same with the x32 bit (unassigned on
# x32). A raw number belongs to the ABI whose numbers it has: 1000 is an x86_64 (and i386)
# call, X32_SYSCALL_BIT | 1000 an x32 one.
X32_UNASSIGNED = tuple(X32_SYSCALL_BIT | nr for nr in UNASSIGNED_NRS)
RULE_NUMBERS: tuple[int, ...] = (*UNASSIGNED_NRS, *X32_UNASSIGNED[:2])
# What the rules name: those numbers, and ranges of them (rules on ranges of numbers).
RULE_ITEMS: tuple[int | NumberRange, ...] = (
    *RULE_NUMBERS,
    NumberRange(UNASSIGNED_NRS[1], UNASSIGNED_NRS[3]),
    NumberRange(X32_UNASSIGNED[0], X32_UNASSIGNED[1]),
)

ARCH_SETS = (
    ("x86_64",),
    ("x86_64", "i386", "x32"),
    ("x86_64", "x32"),
    ("x86_64", "i386"),
)

# ERRNO(n) is the action whose data the kernel reports back, so it is drawn most often. The
# kind is drawn first: Hypothesis would rarely pick the actions without data otherwise.
_ACTIONS_BY_KIND: dict[str, st.SearchStrategy[Action]] = {
    "errno": st.integers(1, 4095).map(ERRNO),
    "errno(0)": st.just(ERRNO(0)),
    "allow": st.just(ALLOW),
    "log": st.just(LOG),
    "user_notif": st.just(USER_NOTIF),
    "trace": st.integers(0, 0xFFFF).map(TRACE),
    "trap": st.integers(0, 0xFFFF).map(TRAP),
    "kill_thread": st.just(KILL_THREAD),
    "kill_process": st.just(KILL_PROCESS),
}
kernel_actions: st.SearchStrategy[Action] = st.sampled_from(
    ["errno"] * 4 + sorted(_ACTIONS_BY_KIND)
).flatmap(lambda kind: _ACTIONS_BY_KIND[kind])

# Calls made per random policy, and of those predicted to cost a new thread or a new child,
# at most this many (the others are not made, nor counted).
X86_64_CALLS = 48
I386_CALLS = 16
COSTLY_CALLS = {"killed": 2, "kill_thread": 3}


def _on_arguments(condition: Condition, position: int) -> Condition:
    """``condition`` with every instruction-pointer comparison moved to ``args[position]``:
    the address of the calling instruction inside libc cannot be chosen."""
    if isinstance(condition, Cmp):
        return dataclasses.replace(condition, arg=position) if condition.arg is None else condition
    if isinstance(condition, Not):
        return Not(_on_arguments(condition.condition, position))
    if isinstance(condition, All):
        return All(tuple(_on_arguments(c, position) for c in condition.conditions))
    assert isinstance(condition, Any)
    return Any(tuple(_on_arguments(c, position) for c in condition.conditions))


argument_conditions: st.SearchStrategy[Condition] = st.builds(
    _on_arguments, conditions, st.sampled_from([3, 4])
)


@st.composite
def unassigned_rules(draw: st.DrawFn) -> Rule:
    names = draw(st.lists(st.sampled_from(RULE_ITEMS), min_size=1, max_size=3, unique=True))
    return Rule(tuple(names), draw(kernel_actions), draw(st.none() | argument_conditions))


@st.composite
def guarded_policies(draw: st.DrawFn) -> Policy:
    """Policies whose rules only name unassigned numbers, with ALLOW as the default."""
    return Policy(
        default_action=ALLOW,
        rules=tuple(draw(st.lists(unassigned_rules(), min_size=1, max_size=6))),
        arches=draw(st.sampled_from(ARCH_SETS)),
        bad_arch_action=draw(kernel_actions),
        unknown_syscall_action=draw(st.none() | kernel_actions),
    )


def test_rule_numbers_are_unassigned_everywhere() -> None:
    for arch in (X86_64, I386, X32):
        for nr in (*RULE_NUMBERS, *X32_UNASSIGNED):
            assert arch.syscall_name(nr) is None, (arch.name, nr)


def _expected(policy: Policy, program: Program, audit: int, call: Call) -> Outcome:
    """What the model says the kernel does with ``call``, after checking that the emulator
    runs ``program`` to the same answer."""
    wanted = policy.evaluate(audit, call.nr, call.args).ret_value
    got = emulate(program, SeccompData(call.nr, audit, 0, call.args)).ret
    assert got == wanted, (
        f"emulator {got:#x} != model {wanted:#x} for arch {audit:#x}, nr {call.nr:#x}, "
        f"args {[hex(a) for a in call.args]}"
    )
    return expected_outcome(wanted)


def compare_calls(
    policy: Policy,
    program: Program,
    audit: int,
    calls: Sequence[Call],
    make_call: MakeCall = syscall,
) -> int:
    """Make those of ``calls`` that are not too costly under ``program``; assert the kernel
    did what ``policy`` says. Returns how many calls were compared."""
    chosen: list[tuple[Call, Outcome]] = []
    costly = dict.fromkeys(COSTLY_CALLS, 0)
    for call in calls:
        expected = _expected(policy, program, audit, call)
        if expected.kind in costly:
            if costly[expected.kind] >= COSTLY_CALLS[expected.kind]:
                continue
            costly[expected.kind] += 1
        chosen.append((call, expected))
    seen = run_calls([program], [call for call, _ in chosen], make_call=make_call)
    mismatches = [
        f"nr {call.nr:#x} args {[hex(a) for a in call.args]}: model {expected}, kernel {outcome}"
        for (call, expected), outcome in zip(chosen, seen, strict=True)
        if outcome != expected
    ]
    assert not mismatches, (
        f"{len(mismatches)} of {len(chosen)} calls differ (arch {audit:#x}) under\n{policy}\n"
        + "\n".join(mismatches[:5])
    )
    return len(chosen)


Args = tuple[int, int, int, int, int, int]


def _six(args: Sequence[int], mask: int = (1 << 64) - 1) -> Args:
    a0, a1, a2, a3, a4, a5 = (a & mask for a in args)
    return (a0, a1, a2, a3, a4, a5)


def _as_call(nr: int, args: Sequence[int], mask: int = (1 << 64) - 1) -> Call:
    return Call(nr, _six(args, mask))


def test_random_policies_decide_on_the_kernel_as_the_model() -> None:
    compared = {"x86_64 and x32": 0, "i386": 0}

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(policy=guarded_policies(), data=st.data())
    def check(policy: Policy, data: st.DataObject) -> None:
        program = compile_policy(policy)
        steered = data.draw(st.lists(arguments(policy), min_size=64, max_size=64))
        numbers = data.draw(
            st.lists(
                st.sampled_from([*UNASSIGNED_NRS, *X32_UNASSIGNED]),
                min_size=X86_64_CALLS,
                max_size=X86_64_CALLS,
            )
        )
        calls = [_as_call(nr, args) for nr, args in zip(numbers, steered, strict=False)]
        compared["x86_64 and x32"] += compare_calls(policy, program, X86_64.audit_arch, calls)
        if I386_AVAILABLE:
            # int 0x80 passes 32-bit registers: the filter sees each argument zero-extended.
            # X32_UNASSIGNED[0] is an i386 number too (an unassigned one).
            i386_numbers = (*UNASSIGNED_NRS, X32_UNASSIGNED[0])
            i386_calls = [
                _as_call(i386_numbers[i % len(i386_numbers)], args, 0xFFFFFFFF)
                for i, args in enumerate(steered[-I386_CALLS:])
            ]
            compared["i386"] += compare_calls(
                policy, program, I386.audit_arch, i386_calls, make_call=i386_syscall
            )

    check()
    print(f"compared {compared} calls with the kernel")
    assert compared["x86_64 and x32"] >= 1500, compared
    assert not I386_AVAILABLE or compared["i386"] >= 400, compared


# --- harmless real calls -------------------------------------------------------------------

HARMLESS = ("getppid", "getuid", "getgid", "geteuid", "getegid")


def _real_calls(calls: Sequence[tuple[str, int, Sequence[int]]]) -> list[SyscallResult]:
    make = {"x86_64": syscall, "i386": i386_syscall}
    return [make[abi](nr, *args) for abi, nr, args in calls]


def _before_and_after(
    program: Program, calls: Sequence[tuple[str, int, Sequence[int]]]
) -> tuple[list[SyscallResult], list[SyscallResult]]:
    """In the child: the calls with all-zero arguments before the filter, then the calls."""
    before = _real_calls([(abi, nr, (0,) * 6) for abi, nr, _ in calls])
    set_no_new_privs()
    set_mode_filter(program)
    return before, _real_calls(calls)


@st.composite
def harmless_policies(draw: st.DrawFn) -> Policy:
    rules = draw(
        st.lists(
            st.builds(
                Rule,
                st.lists(st.sampled_from(HARMLESS), min_size=1, max_size=2, unique=True).map(tuple),
                st.integers(1, 4095).map(ERRNO) | st.just(ALLOW),
                st.none() | argument_conditions,
            ),
            min_size=1,
            max_size=5,
        )
    )
    arches = ("x86_64", "i386") if I386_AVAILABLE and draw(st.booleans()) else ("x86_64",)
    return Policy(ALLOW, tuple(rules), arches=arches, bad_arch_action=ERRNO(77))


_GETPPID_RULE = Rule(("getppid",), ERRNO(42), Cmp(0, "gt", 2**32))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=harmless_policies(), data=st.data())
@example(
    policy=Policy(
        ALLOW,
        (_GETPPID_RULE, Rule(("getuid",), ALLOW)),
        arches=("x86_64",),
        bad_arch_action=ERRNO(77),
    ),
    data=None,
).via("the getppid rule the issue describes")
def test_harmless_real_calls_decide_as_the_model(
    policy: Policy, data: st.DataObject | None
) -> None:
    program = compile_policy(policy)
    calls: list[tuple[str, int, Args]] = []
    abis = [X86_64, I386] if I386_AVAILABLE else [X86_64]
    for arch in abis:
        for name in HARMLESS:
            nr = arch.syscalls[name]
            samples: list[Sequence[int]]
            if data is None:  # the explicit example: the boundaries of its one comparison
                values = [0, 5, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**64 - 1]
                samples = [(v, 0, 0, 0, 0, 0) for v in values]
            else:
                samples = data.draw(st.lists(arguments(policy), min_size=4, max_size=4))
            mask = (1 << 64) - 1 if arch is X86_64 else 0xFFFFFFFF
            calls += [(arch.name, nr, _six(args, mask)) for args in samples]
    before, after = run_in_child(_before_and_after, program, calls)
    for (abi, nr, args), real, result in zip(calls, before, after, strict=True):
        arch = get_arch(abi)
        action = policy.evaluate(arch.audit_arch, nr, args)
        assert emulate(program, SeccompData(nr, arch.audit_arch, 0, args)).ret == (action.ret_value)
        expected = real if action == ALLOW else SyscallResult(-1, action.data)
        assert result == expected, f"{abi} {arch.syscall_name(nr)}{args}: {action}"


# --- i386 through int 0x80, x32 numbers ----------------------------------------------------

I386_GETPID = I386.syscalls["getpid"]
I386_GETPPID = I386.syscalls["getppid"]
X86_64_GETPID = X86_64.syscalls["getpid"]
X86_64_GETPPID = X86_64.syscalls["getppid"]
X32_GETPID = X32.syscalls["getpid"]


def test_the_numbers_used_here_are_the_kernels() -> None:
    # arch/x86/entry/syscalls/syscall_32.tbl: "20 i386 getpid", "64 i386 getppid";
    # syscall_64.tbl: "39 common getpid", "110 common getppid" (common: x32 has them too).
    assert (I386_GETPID, I386_GETPPID, X86_64_GETPID, X86_64_GETPPID) == (20, 64, 39, 110)
    assert X32_GETPID == X32_SYSCALL_BIT | 39


def _check_model_and_emulator(
    policy: Policy, program: Program, audit: int, nr: int, expected: Action
) -> None:
    assert policy.evaluate(audit, nr) == expected
    assert emulate(program, SeccompData(nr, audit)).ret == expected.ret_value


def _under(program: Program, calls: Sequence[tuple[str, int]]) -> tuple[int, int, list[object]]:
    """In the child: its pid and parent's pid, then each (abi, nr) call's result."""
    pid, ppid = os.getpid(), os.getppid()
    set_no_new_privs()
    set_mode_filter(program)
    make = {"x86_64": syscall, "i386": i386_syscall}
    return pid, ppid, [make[abi](nr) for abi, nr in calls]


@needs_i386
def test_i386_calls_get_bad_arch_action_from_an_x86_64_policy() -> None:
    policy = Policy(ALLOW, arches=("x86_64",), bad_arch_action=ERRNO(77))
    program = compile_policy(policy)
    for nr in (I386_GETPID, I386_GETPPID, UNASSIGNED_NRS[0]):
        _check_model_and_emulator(policy, program, I386.audit_arch, nr, ERRNO(77))
    _check_model_and_emulator(policy, program, X86_64.audit_arch, X86_64_GETPID, ALLOW)
    calls = [
        ("i386", I386_GETPID),
        ("i386", I386_GETPPID),
        ("i386", UNASSIGNED_NRS[0]),
        ("x86_64", X86_64_GETPID),
    ]
    pid, _, results = run_in_child(_under, program, calls)
    assert results == [SyscallResult(-1, 77)] * 3 + [SyscallResult(pid, 0)]


@needs_i386
def test_an_i386_call_under_kill_process_bad_arch_kills_the_process() -> None:
    policy = Policy(ALLOW, arches=("x86_64",), bad_arch_action=KILL_PROCESS)
    program = compile_policy(policy)
    _check_model_and_emulator(policy, program, I386.audit_arch, I386_GETPID, KILL_PROCESS)

    def body(send: Send) -> None:
        set_no_new_privs()
        set_mode_filter(program)
        send(syscall(X86_64_GETPID).value)  # x86_64 calls still pass
        send(i386_syscall(I386_GETPID))  # never sent: the process dies
        send("survived")

    report = run_forked(body)
    assert report.signal == signal.SIGSYS, report.describe()
    assert len(report.records) == 1 and isinstance(report.records[0], int)


@needs_i386
@pytest.mark.parametrize(
    "policy",
    [
        # Number 64 is i386 getppid; on x86_64 it is semget, which nothing here calls.
        Policy(ALLOW, (Rule((64,), ERRNO(5)),), arches=("x86_64", "i386")),
        # An i386-only policy: x86_64 calls are a bad architecture, allowed here.
        Policy(ALLOW, (Rule(("getppid",), ERRNO(5)),), arches=("i386",), bad_arch_action=ALLOW),
    ],
    ids=["x86_64+i386 with raw 64", "i386 only with getppid"],
)
def test_a_rule_on_i386_getppid_denies_only_the_i386_call(policy: Policy) -> None:
    program = compile_policy(policy)
    _check_model_and_emulator(policy, program, I386.audit_arch, I386_GETPPID, ERRNO(5))
    _check_model_and_emulator(policy, program, I386.audit_arch, I386_GETPID, ALLOW)
    _check_model_and_emulator(policy, program, X86_64.audit_arch, X86_64_GETPPID, ALLOW)
    calls = [("i386", I386_GETPPID), ("x86_64", X86_64_GETPPID), ("i386", I386_GETPID)]
    pid, ppid, results = run_in_child(_under, program, calls)
    assert results == [SyscallResult(-1, 5), SyscallResult(ppid, 0), SyscallResult(pid, 0)]


# A 64-bit process can make i386 calls (int 0x80) with anything in the upper halves of the
# registers: the i386 system call ignores it (it takes 32-bit arguments), but the filter sees
# it (syscall_get_arguments reads the whole saved registers). The model therefore compares only
# the low 32 bits of arguments on 32-bit ABIs (Arch.argument_bits), and so does the compiled
# filter: close((1 << 32) | 1000) is close(1000), and "deny close(1000)" must catch it.
@needs_i386
def test_i386_deny_rules_hold_against_junk_in_upper_halves() -> None:
    fd = 1000  # not open: if the call runs, EBADF
    policy = Policy(
        ALLOW, (Rule(("close",), ERRNO(99), Cmp(0, "eq", fd)),), arches=("x86_64", "i386")
    )
    program = compile_policy(policy)

    def body() -> list[SyscallResult]:
        set_no_new_privs()
        set_mode_filter(program)
        close = I386.syscalls["close"]
        return [i386_syscall(close, fd), i386_syscall_full_registers(close, 1 << 32 | fd)]

    plain, junk = run_in_child(body)
    assert plain == SyscallResult(-1, 99)
    assert junk == SyscallResult(-1, 99), "the i386 close(1000) ran: the deny rule was bypassed"


# seccomp runs when the call enters the kernel, before the x32 table is chosen
# (syscall_enter_from_user_mode in do_syscall_64, arch/x86/entry/), so filters see x32
# numbers whether or not the kernel has CONFIG_X86_X32_ABI: these checks need no x32.
@pytest.mark.parametrize("bad_arch_action", [ERRNO(77), ALLOW], ids=str)
def test_x32_calls_get_bad_arch_action_from_an_x86_64_policy(bad_arch_action: Action) -> None:
    """x32 numbers never reach the x86_64 rules, whatever those say."""
    policy = Policy(
        ALLOW,
        (Rule(("getpid",), ERRNO(3)), Rule((UNASSIGNED_NRS[0],), ERRNO(4))),
        arches=("x86_64",),
        bad_arch_action=bad_arch_action,
    )
    program = compile_policy(policy)
    for nr in (X32_GETPID, X32_UNASSIGNED[0]):
        _check_model_and_emulator(policy, program, X86_64.audit_arch, nr, bad_arch_action)
    _check_model_and_emulator(policy, program, X86_64.audit_arch, X86_64_GETPID, ERRNO(3))
    calls = [("x86_64", X32_GETPID), ("x86_64", X32_UNASSIGNED[0]), ("x86_64", X86_64_GETPID)]
    pid, _, results = run_in_child(_under, program, calls)
    if bad_arch_action == ALLOW:  # then what the kernel does with an x32 call decides
        x32_getpid = SyscallResult(pid, 0) if has_x32_abi() else SyscallResult(-1, errno.ENOSYS)
        expected = [x32_getpid, SyscallResult(-1, errno.ENOSYS)]
    else:
        expected = [SyscallResult(-1, 77)] * 2
    assert results == [*expected, SyscallResult(-1, 3)]


def test_x32_rules_apply_to_x32_numbers_only() -> None:
    policy = Policy(
        ALLOW,
        (Rule((X32_GETPID,), ERRNO(9)), Rule((UNASSIGNED_NRS[0],), ERRNO(10))),
        arches=("x86_64", "x32"),
        bad_arch_action=ERRNO(77),
    )
    program = compile_policy(policy)
    audit = X86_64.audit_arch
    _check_model_and_emulator(policy, program, audit, X32_GETPID, ERRNO(9))
    _check_model_and_emulator(policy, program, audit, X86_64_GETPID, ALLOW)
    _check_model_and_emulator(policy, program, audit, UNASSIGNED_NRS[0], ERRNO(10))
    _check_model_and_emulator(policy, program, audit, X32_UNASSIGNED[0], ALLOW)
    calls = [
        ("x86_64", X32_GETPID),
        ("x86_64", X86_64_GETPID),
        ("x86_64", UNASSIGNED_NRS[0]),
        ("x86_64", X32_UNASSIGNED[0]),
    ]
    pid, _, results = run_in_child(_under, program, calls)
    assert results == [
        SyscallResult(-1, 9),
        SyscallResult(pid, 0),
        SyscallResult(-1, 10),
        SyscallResult(-1, errno.ENOSYS),  # allowed; no x32 call has that number
    ]


def test_allowed_x32_getpid_runs_on_a_kernel_with_x32() -> None:
    if not has_x32_abi():
        pytest.skip("this kernel has no x32 ABI (CONFIG_X86_X32_ABI)")
    policy = Policy(ALLOW, (Rule((X86_64_GETPID,), ERRNO(3)),), arches=("x32", "x86_64"))
    program = compile_policy(policy)
    calls = [("x86_64", X32_GETPID), ("x86_64", X86_64_GETPID)]
    pid, _, results = run_in_child(_under, program, calls)
    assert results == [SyscallResult(pid, 0), SyscallResult(-1, 3)]


# --- a large program ------------------------------------------------------------------------


def _thousand_rules() -> Policy:
    """1,000 rules over the four unassigned numbers, ALLOW as the default: per eight rules, one
    ``a0 == x and (a1 & 0xff00) == y``, six ``a2 == v`` (32-bit values) and one ``a3 == v``
    (64-bit values), each with its own ERRNO so that the kernel's answer says which rule
    decided. About 3,800 instructions: searches, shared prefixes and far jumps."""
    rng = random.Random(1000)
    rules = []
    for i in range(1000):
        nr, action = UNASSIGNED_NRS[i % len(UNASSIGNED_NRS)], ERRNO(1 + i % 200)
        kind = i % 8
        when: Condition
        if kind == 0:
            y = rng.randrange(256) << 8
            when = All((Cmp(0, "eq", rng.randrange(64)), Cmp(1, "masked_eq", y, mask=0xFF00)))
        elif kind == 7:
            when = Cmp(3, "eq", rng.randrange(1 << 64))
        else:
            when = Cmp(2, "eq", rng.randrange(1 << 32))
        rules.append(Rule((nr,), action, when))
    return Policy(ALLOW, tuple(rules), arches=("x86_64",))


def _values_of(rule: Rule) -> list[int]:
    """The six arguments that make ``rule``'s condition hold (the others 0)."""
    args = [0] * 6
    parts = rule.when.conditions if isinstance(rule.when, All) else (rule.when,)
    for part in parts:
        assert isinstance(part, Cmp) and part.arg is not None
        value, _ = part.parameters()
        assert isinstance(value, int)
        args[part.arg] = value
    return args


def test_a_program_of_a_thousand_rules_decides_on_the_kernel_as_the_model() -> None:
    policy = _thousand_rules()
    program = compile_policy(policy)
    assert 3500 <= len(program) <= 4096, len(program)
    rng = random.Random(4096)
    calls = []
    for rule in rng.sample(policy.rules, 300):
        nr = rule.syscalls[0]
        assert isinstance(nr, int)
        args = _values_of(rule)
        calls.append(_as_call(nr, args))  # the rule's values: a hit (or an earlier rule's)
        position = next(i for i in (3, 2, 1, 0) if args[i])
        near = list(args)
        near[position] += rng.choice((1, -1, 1 << 32))  # a neighbour, or junk in the high word
        calls.append(_as_call(nr, near))
        other = UNASSIGNED_NRS[(UNASSIGNED_NRS.index(nr) + 1) % len(UNASSIGNED_NRS)]
        calls.append(_as_call(other, args))  # the same values on another call
    outcomes = {_expected(policy, program, X86_64.audit_arch, call) for call in calls}
    assert len(outcomes) > 100  # many rules decided, and the default too
    assert compare_calls(policy, program, X86_64.audit_arch, calls) == len(calls)
