"""Differential test: ``seccomp_bpf.libseccomp`` against the real libseccomp.

The same random rule sets go to ``libseccomp.so.2`` (through ctypes, ``benchmarks/
libseccomp.py``) and to this package's binding; both filters are exported and run in the
emulator on every system call of the rule sets on x86_64, x32 and i386, with boundary values
in the arguments. Three judges:

- the reference evaluator (``Policy.evaluate`` of the binding's policies) must agree with
  the binding's compiled filter everywhere;
- the documented meaning, evaluated here straight from ``seccomp_rule_add(3)``: a rule
  without comparisons decides; else the rules whose comparisons all hold, and when they all
  have one action that action; none: the default action. (Several actions: libseccomp
  documents no order, and this evaluator says nothing.) The binding must agree with it
  wherever it speaks;
- where libseccomp's filter decides otherwise, the difference is classified: values above
  0xffffffff on a 32-bit ABI (libseccomp cuts the argument and the rule's value to 32 bits),
  overlapping rules with different actions (no documented order), or libseccomp contradicting
  its documentation. The report is printed (``pytest -s``); nothing else may differ.

A rule libseccomp refuses while its documentation allows it (libseccomp's ``-EEXIST`` for a
rule extending another's comparisons) is added to neither filter, and counted.

Besides the named calls, every rule set is run on numbers no rule names: -1 (a tracer's
skipped call, which both filters give the default action), x32 numbers, unknown numbers and
the top of the number space; the names include calls only old kernels have (``uselib``,
``tuxcall``). No difference may be a *fail-open* on our side: a call libseccomp's filter
denies that ours allows (ALLOW or LOG) when neither a rule that holds for it nor the default
says so (:func:`said`; of two overlapping rules either may decide, as libseccomp#148 has it).

``test_each_compatibility_case_against_libseccomp`` then compares, one by one, the cases
where this module once differed (byte order, ``add_rule_exactly`` on x86, -1, pseudo
numbers, old names), and states the differences that remain, with the reason for each.
"""

from __future__ import annotations

import collections
import ctypes
import errno
import random
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from benchmarks import libseccomp

from seccomp_bpf.arch import Arch as ArchInfo
from seccomp_bpf.arch import dispatched_arch, get_arch, native_arch
from seccomp_bpf.arch.retired import RETIRED_SYSCALL_NAMES
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import LibseccompError
from seccomp_bpf.libseccomp import (
    ALLOW,
    EQ,
    ERRNO,
    GE,
    GT,
    KILL,
    KILL_PROCESS,
    LE,
    LOG,
    LT,
    MASKED_EQ,
    NE,
    TRACE,
    TRAP,
    Arch,
    Arg,
    Attr,
    SyscallFilter,
)
from seccomp_bpf.policy import Action

LIB = libseccomp.load()
pytestmark = [
    pytest.mark.skipif(LIB is None, reason="libseccomp.so.2 is not installed"),
    pytest.mark.skipif(
        native_arch().name != "x86_64", reason="the rule sets use x86-64's native numbers"
    ),
]

NAMES = ("read", "write", "openat", "close", "mmap", "getpid", "ioctl", "kill", "lseek")
# calls the kernel's current tables no longer list: uselib (x86-64, i386), tuxcall (x86-64, x32)
RETIRED = ("uselib", "tuxcall")
# numbers no rule names, on every ABI's AUDIT_ARCH value: -1 (the skipped call), the top of
# x32's range, numbers no table has, and the top of x86-64's range
UNNAMED = (0xFFFFFFFF, 0xFFFFFFFE, 0x400003E7, 999, 0x3FFFFFFF, 0x80000000)
PERMISSIVE = (ALLOW, LOG)
ACTIONS = (ALLOW, ERRNO(1), ERRNO(13), LOG, TRAP, KILL, KILL_PROCESS, TRACE(3))
VALUES = (0, 1, 2, 5, 0xFF, 2**31, 2**32 - 1, 2**32, 2**32 + 5, 2**63, 2**64 - 1)
OPERATORS = (NE, LT, LE, EQ, GE, GT, MASKED_EQ)
RULE_SETS = 60
ABIS: dict[str, ArchInfo] = {name: get_arch(name) for name in ("x86_64", "x32", "i386")}
_M32 = 0xFFFFFFFF
_COMPARE = {
    NE: lambda a, b: a != b,
    LT: lambda a, b: a < b,
    LE: lambda a, b: a <= b,
    EQ: lambda a, b: a == b,
    GE: lambda a, b: a >= b,
    GT: lambda a, b: a > b,
}


@dataclass(frozen=True)
class _Rule:
    action: int
    name: str
    args: tuple[Arg, ...]


def _holds(arg: Arg, args: Sequence[int], *, truncate: bool) -> bool:
    """One comparison; ``truncate``: as libseccomp's filter on a 32-bit ABI reads it."""
    value = args[arg.arg]
    if arg.op == MASKED_EQ:
        mask, datum = arg.datum_a, arg.datum_b & arg.datum_a
        if truncate:
            value, mask, datum = value & _M32, mask & _M32, datum & _M32
        return value & mask == datum
    datum = arg.datum_a
    if truncate:
        value, datum = value & _M32, datum & _M32
    return bool(_COMPARE[arg.op](value, datum))


def _comparisons(rule: _Rule, *, truncate: bool = False) -> tuple[Arg, ...]:
    """The comparisons that test something: a masked comparison with mask 0 always holds
    (and with ``truncate``, libseccomp's 32-bit view, one whose mask has no low bit)."""
    limit = _M32 if truncate else (1 << 64) - 1
    return tuple(a for a in rule.args if not (a.op == MASKED_EQ and a.datum_a & limit == 0))


def _decide(
    rules: Sequence[_Rule], default: int, args: Sequence[int], *, truncate: bool
) -> int | None:
    """A rule without comparisons decides; else the rules whose comparisons all hold, if
    they have one action; none: the default action; several actions: no answer."""
    plain = [r for r in rules if not _comparisons(r, truncate=truncate)]
    if plain:
        return plain[0].action
    actions = {
        rule.action
        for rule in rules
        if all(_holds(a, args, truncate=truncate) for a in _comparisons(rule, truncate=truncate))
    }
    if not actions:
        return default
    return actions.pop() if len(actions) == 1 else None


def documented(
    rules: Sequence[_Rule], default: int, abi: ArchInfo, args: Sequence[int]
) -> int | None:
    """seccomp_rule_add(3), with the argument the call sees (its low word on i386)."""
    seen = [a & _M32 for a in args] if abi.argument_bits == 32 else list(args)
    return _decide(rules, default, seen, truncate=False)


def said(rules: Sequence[_Rule], default: int, abi: ArchInfo, args: Sequence[int]) -> set[int]:
    """Every action the documentation lets a call get: that of each rule whose comparisons
    hold (with the argument the call sees), or the default when none does. A filter that
    allows a call outside these fails open; two overlapping rules leave the choice open."""
    seen = [a & _M32 for a in args] if abi.argument_bits == 32 else list(args)
    holding = {
        rule.action
        for rule in rules
        if all(_holds(a, seen, truncate=False) for a in _comparisons(rule))
    }
    return holding or {default}


def _classify(
    rules: Sequence[_Rule],
    default: int,
    abi: ArchInfo,
    args: Sequence[int],
    *,
    expected: int | None,
    theirs: int,
) -> str:
    if abi.bits == 32:
        # libseccomp on a 32-bit ABI compares the low words of the argument and of the value
        truncated = _decide(rules, default, args, truncate=True)
        if truncated == theirs or (truncated is None and expected is not None):
            return f"values above 0xffffffff on {abi.name} (libseccomp cuts them to 32 bits)"
    if expected is None:
        return "overlapping rules with different actions (no documented order)"
    return "libseccomp contradicts its documentation"


def _add_to_libseccomp(lib: ctypes.CDLL, ctx: int, rule: _Rule) -> int:
    nr = lib.seccomp_syscall_resolve_name(rule.name.encode())
    array = (libseccomp.ScmpArgCmp * max(len(rule.args), 1))(
        *[libseccomp.ScmpArgCmp(a.arg, a.op, a.datum_a, a.datum_b) for a in rule.args]
    )
    return int(lib.seccomp_rule_add_array(ctx, rule.action, nr, len(rule.args), array))


def _random_rule(rng: random.Random) -> _Rule:
    used: list[int] = []
    args: list[Arg] = []
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        arg = rng.choice([i for i in range(3) if i not in used])
        used.append(arg)
        args.append(Arg(arg, rng.choice(OPERATORS), rng.choice(VALUES), rng.choice(VALUES)))
    return _Rule(rng.choice(ACTIONS), rng.choice(NAMES + RETIRED), tuple(args))


Call = tuple[int, int, int, int, int, int]


def _calls() -> list[Call]:
    calls: list[Call] = [(0, 0, 0, 0, 0, 0), (5, 2**32 + 5, 0xFF, 0, 0, 0)]
    for position in range(3):
        for value in VALUES:
            call = [0] * 6
            call[position] = value
            calls.append((call[0], call[1], call[2], call[3], call[4], call[5]))
    return calls


def test_random_rule_sets_against_libseccomp() -> None:
    assert LIB is not None
    lib = LIB.cdll
    report: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    calls = _calls()
    for seed in range(RULE_SETS):
        rng = random.Random(seed)
        default = rng.choice(ACTIONS)
        ctx = lib.seccomp_init(default)
        assert ctx
        ours = SyscallFilter(default)
        for name, token in (("x32", Arch.X32), ("x86", Arch.X86)):
            assert lib.seccomp_arch_add(ctx, LIB.arch_token(name)) == 0
            ours.add_arch(token)
        rules: list[_Rule] = []
        try:
            for _ in range(rng.randint(1, 8)):
                rule = _random_rule(rng)
                theirs_rc = _add_to_libseccomp(lib, ctx, rule)
                ours.start_transaction()
                try:
                    ours.add_rule(rule.action, rule.name, *rule.args)
                    ours_rc = 0
                except LibseccompError as error:
                    ours_rc = error.rc
                if theirs_rc == 0 and ours_rc == 0:
                    ours.commit_transaction()
                    rules.append(rule)
                    continue
                ours.reject_transaction()
                if theirs_rc != 0 and ours_rc != 0:
                    assert theirs_rc == ours_rc, (seed, rule)
                    report[f"both refuse a rule ({theirs_rc})"] += 1
                else:
                    assert ours_rc == 0, f"seed {seed}: only seccomp-bpf refuses {rule} ({ours_rc})"
                    report[f"only libseccomp refuses a rule ({theirs_rc})"] += 1
            their_program = Program.from_bytes(libseccomp._export(lib, ctx))
        finally:
            lib.seccomp_release(ctx)
        our_program = ours.program()
        policies = {arch: policy for policy in ours.policies() for arch in policy.arches}
        for abi in ABIS.values():
            for name in NAMES + RETIRED:
                if name not in abi.syscalls:
                    continue
                nr = abi.syscalls[name]
                named = [r for r in rules if r.name == name]
                for args in calls:
                    data = SeccompData(nr, abi.audit_arch, 0, args)
                    mine = emulate(our_program, data).ret
                    reference = policies[abi.name].evaluate(abi, nr, args).ret_value
                    assert mine == reference, (seed, abi.name, name, args)
                    expected = documented(named, default, abi, args)
                    if expected is not None:
                        assert mine == expected, (seed, abi.name, name, args, named)
                    theirs = emulate(their_program, data).ret
                    report["calls compared"] += 1
                    if theirs == mine:
                        continue
                    kind = _classify(named, default, abi, args, expected=expected, theirs=theirs)
                    report[kind] += 1
                    if mine in PERMISSIVE and mine not in said(named, default, abi, args):
                        report["fail-open"] += 1
                    examples.setdefault(
                        kind,
                        f"seed {seed}: {abi.name} {name}{tuple(hex(a) for a in args[:3])}: "
                        f"libseccomp {Action.from_ret(theirs, strict=False).describe()}, "
                        f"seccomp-bpf {Action.from_ret(mine).describe()}; rules {named}",
                    )
            for nr in UNNAMED:
                data = SeccompData(nr, abi.audit_arch, 0, calls[0])
                mine = emulate(our_program, data).ret
                owner = dispatched_arch(abi.audit_arch, nr)  # x32's numbers: its policy
                assert owner is not None
                assert mine == policies[owner.name].evaluate(abi, nr).ret_value, (seed, hex(nr))
                theirs = emulate(their_program, data).ret
                report["numbers no rule names compared"] += 1
                assert theirs == mine, (seed, abi.name, hex(nr))
    print("\nlibseccomp differential report")
    for kind, count in report.most_common():
        print(f"  {count:7d}  {kind}")
        if kind in examples:
            print(f"           e.g. {examples[kind]}")
    assert report["calls compared"] > 40000
    assert report["numbers no rule names compared"] == RULE_SETS * len(ABIS) * len(UNNAMED)
    assert report["fail-open"] == 0


def test_socket_rules_on_x86_socketcall() -> None:
    """On x86, libseccomp keeps a socket rule's comparisons of arguments 1-5 on its
    socketcall mirror, where they test socketcall's own arguments (the call number and a
    pointer): a rule refusing raw sockets (``type == SOCK_RAW``) then never holds for
    socketcall. Here the mirror tests the call number only: the conditions cannot follow
    through the pointer, so every socketcall(SYS_SOCKET) is refused."""
    assert LIB is not None
    lib = LIB.cdll
    sock_raw, sys_socket = 3, 1  # <linux/net.h>
    rule = _Rule(ERRNO(1), "socket", (Arg(1, EQ, sock_raw),))
    ctx = lib.seccomp_init(ALLOW)
    try:
        assert lib.seccomp_arch_add(ctx, LIB.arch_token("x86")) == 0
        assert _add_to_libseccomp(lib, ctx, rule) == 0
        theirs = Program.from_bytes(libseccomp._export(lib, ctx))
    finally:
        lib.seccomp_release(ctx)
    ours = SyscallFilter(ALLOW)
    ours.add_arch(Arch.X86)
    ours.add_rule(rule.action, rule.name, *rule.args)
    program = ours.program()
    i386 = ABIS["i386"]
    pointer = 0xFFD0_0000
    socketcall = SeccompData(
        i386.syscalls["socketcall"], i386.audit_arch, 0, (sys_socket, pointer, 0, 0, 0, 0)
    )
    direct = SeccompData(i386.syscalls["socket"], i386.audit_arch, 0, (2, sock_raw, 0, 0, 0, 0))
    assert emulate(theirs, socketcall).ret == ALLOW  # the raw socket gets through socketcall
    assert emulate(program, socketcall).ret == ERRNO(1)
    assert emulate(theirs, direct).ret == emulate(program, direct).ret == ERRNO(1)


def _their_filter(default: int, arches: Sequence[str], keep_native: bool = True) -> int:
    assert LIB is not None
    lib = LIB.cdll
    ctx = int(lib.seccomp_init(default))
    assert ctx
    if not keep_native:
        assert lib.seccomp_arch_remove(ctx, LIB.arch_token("x86_64")) == 0
    for name in arches:
        if name != "x86_64":
            assert lib.seccomp_arch_add(ctx, LIB.arch_token(name)) == 0
    return ctx


def _ours(default: int, arches: Sequence[int], keep_native: bool = True) -> SyscallFilter:
    f = SyscallFilter(default)
    if not keep_native:
        f.remove_arch(Arch.X86_64)
    for token in arches:
        if token != Arch.X86_64:
            f.add_arch(token)
    return f


def _same_decisions(
    theirs: bytes, ours: SyscallFilter, abi: ArchInfo, numbers: Sequence[int]
) -> None:
    their_program = Program.from_bytes(theirs, abi.byteorder)
    our_program = Program.from_bytes(ours.export_bpf_mem(), abi.byteorder)
    for nr in numbers:
        for first in (0, 1, 5, 2**32 + 5):
            data = SeccompData(
                nr, abi.audit_arch, 0, (first, 1, 0, 0, 0, 0), byteorder=abi.byteorder
            )
            assert emulate(their_program, data).ret == emulate(our_program, data).ret, (
                abi.name,
                hex(nr),
                first,
            )


def test_each_compatibility_case_against_libseccomp() -> None:
    """The causes of libseccomp's regression suite failing on this module, each against
    libseccomp 2.5.4 itself. What still differs is asserted as such, with its reason."""
    assert LIB is not None
    lib = LIB.cdll
    # <seccomp.h>: the two functions benchmarks/libseccomp.py does not declare
    lib.seccomp_syscall_priority.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint8]
    lib.seccomp_syscall_priority.restype = ctypes.c_int
    lib.seccomp_rule_add_exact_array.argtypes = lib.seccomp_rule_add_array.argtypes
    lib.seccomp_rule_add_exact_array.restype = ctypes.c_int

    # 1. byte order: libseccomp exports an s390x or ppc64 filter big-endian; so does ours,
    #    and both programs decide alike when read in that order.
    for name, token in (("s390x", Arch.S390X), ("ppc64", Arch.PPC64)):
        abi = get_arch(name)
        ctx = _their_filter(ERRNO(1), [name], keep_native=False)
        ours = _ours(ERRNO(1), [token], keep_native=False)
        try:
            rule = _Rule(ALLOW, "write", (Arg(0, EQ, 1),))
            assert _add_to_libseccomp(lib, ctx, rule) == 0
            ours.add_rule(rule.action, rule.name, *rule.args)
            assert _add_to_libseccomp(lib, ctx, _Rule(ALLOW, "read", ())) == 0
            ours.add_rule(ALLOW, "read")
            theirs = libseccomp._export(lib, ctx)
        finally:
            lib.seccomp_release(ctx)
        numbers = [abi.syscalls[n] for n in ("read", "write", "close")]
        _same_decisions(theirs, ours, abi, numbers)

    # 2. add_rule_exactly(socket) on x86 without comparisons: both take it, same program.
    i386 = ABIS["i386"]
    ctx = _their_filter(ERRNO(1), ["x86"], keep_native=False)
    ours = _ours(ERRNO(1), [Arch.X86], keep_native=False)
    try:
        nr = lib.seccomp_syscall_resolve_name(b"socket")
        assert lib.seccomp_rule_add_exact_array(ctx, ALLOW, nr, 0, None) == 0
        ours.add_rule_exactly(ALLOW, "socket")
        theirs = libseccomp._export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)
    _same_decisions(theirs, ours, i386, [i386.syscalls["socket"], i386.syscalls["socketcall"]])

    # 3 and 7. -1: with API_TSKIP a rule and a priority for it are taken; a skipped call
    #    gets the default action, on an x86-64 filter with x32 or without.
    for arches in (["x86_64"], ["x86_64", "x32"]):
        ctx = _their_filter(ALLOW, arches)
        ours = _ours(ALLOW, [Arch.X32] if "x32" in arches else [])
        try:
            theirs = libseccomp._export(lib, ctx)
            _same_decisions(theirs, ours, ABIS["x86_64"], [0xFFFFFFFF, 0xFFFFFFFE, 0])
            assert lib.seccomp_attr_set(ctx, 5, 1) == 0  # SCMP_FLTATR_API_TSKIP
            ours.set_attr(Attr.API_TSKIP, 1)
            assert lib.seccomp_syscall_priority(ctx, -1, 10) == 0
            ours.syscall_priority(-1, 10)
            assert lib.seccomp_rule_add_array(ctx, ERRNO(5), -1, 0, None) == 0
            ours.add_rule(ERRNO(5), -1)
            theirs = libseccomp._export(lib, ctx)
        finally:
            lib.seccomp_release(ctx)
        _same_decisions(theirs, ours, ABIS["x86_64"], [0xFFFFFFFF, 0xFFFFFFFE, 0])

    # 8. pseudo numbers. __PNR_break (-10003, a call x86-64 lacks) means break: x86's 17.
    ctx = _their_filter(ALLOW, ["x86_64", "x86"])
    ours = _ours(ALLOW, [Arch.X86])
    try:
        assert lib.seccomp_rule_add_array(ctx, KILL, -10003, 0, None) == 0
        ours.add_rule(KILL, -10003)
        # __PNR_arch_prctl (-10001) on an x86-64 host: x86-64 has arch_prctl, so the number
        # names nothing; both refuse it when another architecture needs a translation
        assert lib.seccomp_rule_add_array(ctx, KILL, -10001, 0, None) == -errno.EFAULT
        with pytest.raises(LibseccompError, match=rf"errno = -{errno.EFAULT}\)"):
            ours.add_rule(KILL, -10001)
        theirs = libseccomp._export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)
    _same_decisions(theirs, ours, i386, [17, 142, 18])  # break, _newselect, oldstat
    _same_decisions(theirs, ours, ABIS["x86_64"], [17, 158, 0xFFFFD8ED])
    # A difference that remains: on a filter of x86-64 alone libseccomp takes -10001 and
    # writes a rule for the number 0xffffd8ef, which no call carries (and which its x32 check
    # turns away first); this module refuses it (-EFAULT) rather than guess.
    ctx = _their_filter(ALLOW, ["x86_64"])
    try:
        assert lib.seccomp_rule_add_array(ctx, KILL, -10001, 0, None) == 0
    finally:
        lib.seccomp_release(ctx)
    with pytest.raises(LibseccompError, match=rf"errno = -{errno.EFAULT}\)"):
        SyscallFilter(ALLOW).add_rule(KILL, -10001)

    # 6. the names of old deny lists: the same decision for each on each ABI.
    ctx = _their_filter(ALLOW, ["x86_64", "x86", "x32"])
    ours = _ours(ALLOW, [Arch.X86, Arch.X32])
    retired = sorted(RETIRED_SYSCALL_NAMES - {"arm_sync_file_range"})
    try:
        for name in retired:
            assert _add_to_libseccomp(lib, ctx, _Rule(ERRNO(1), name, ())) == 0
            ours.add_rule(ERRNO(1), name)
        theirs = libseccomp._export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)
    for abi in ABIS.values():
        numbers = [abi.syscalls[name] for name in retired if name in abi.syscalls]
        assert numbers
        _same_decisions(theirs, ours, abi, numbers)

    # priorities are hints: numbers native has no call for are taken on native alone and
    # refused (-EFAULT) where another architecture needs a name, by both
    for arches, tokens in ((["x86_64"], []), (["x86_64", "x86"], [Arch.X86])):
        ctx = _their_filter(ALLOW, arches)
        ours = _ours(ALLOW, tokens)
        try:
            for number in (-10001, -10003, 100000, 0):
                theirs_rc = lib.seccomp_syscall_priority(ctx, number, 7)
                try:
                    ours.syscall_priority(number, 7)
                    ours_rc = 0
                except LibseccompError as error:
                    ours_rc = error.rc
                assert theirs_rc == ours_rc, (arches, number)
        finally:
            lib.seccomp_release(ctx)
