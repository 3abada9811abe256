"""An independent reference evaluator: what a policy does with one call, from DESIGN §3 alone.

It is the oracle the compiler is judged by, so it shares nothing with what it judges: no name
resolution, no ABI dispatch, no multiplexer mirroring, no condition lowering and no action
encoding of the package. It reads the policy's data (its rules, names, numbers, actions and
comparisons, through their public fields) and decides a call from its own small tables:

- the ABIs and their ``AUDIT_ARCH_*`` values, written from <linux/elf-em.h> and
  <linux/audit.h>;
- system call numbers read straight from the ``system-calls`` tables, plus the calls those
  tables no longer list, from the data of ``seccomp_bpf.arch.retired`` (libseccomp's numbers);
- the x32 bit (``__X32_SYSCALL_BIT``), the MIPS number ranges (o32 4000, n64 5000, n32 6000)
  and which ABIs see 32-bit arguments (no ``__AUDIT_ARCH_64BIT``);
- the skipped call: number -1 (DESIGN §3) is the reporting ABI's own, never x32's;
- the call numbers of ``socketcall(2)`` (<linux/net.h>) and ``ipc(2)`` (<linux/ipc.h>);
- each comparison's meaning, from the table of DESIGN §3 (by its format name and values);
- the return value of each action, from <linux/seccomp.h>.

Small and slow on purpose: every call walks every rule.
"""

from __future__ import annotations

import functools
import importlib
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch.retired import RETIRED_SYSCALLS
from seccomp_bpf.policy import Action, All, Any, Condition, Not, NumberRange, Policy

MASK32: Final = 0xFFFFFFFF
MASK64: Final = (1 << 64) - 1

# <linux/elf-em.h>
EM_SPARC, EM_386, EM_68K, EM_MIPS, EM_PARISC = 2, 3, 4, 8, 15
EM_PPC, EM_PPC64, EM_S390, EM_ARM, EM_SPARCV9 = 20, 21, 22, 40, 43
EM_X86_64, EM_AARCH64, EM_RISCV, EM_LOONGARCH = 62, 183, 243, 258
# <linux/audit.h>
AUDIT_64BIT: Final = 0x80000000
AUDIT_LE: Final = 0x40000000
AUDIT_MIPS64_N32: Final = 0x20000000
# arch/x86/include/uapi/asm/unistd.h
X32_SYSCALL_BIT: Final = 0x40000000
# The number a tracer sets to skip a call (ptrace(2): "the system call is skipped" when the
# tracer changes it to -1 at syscall-entry-stop), as seccomp_data.nr shows it.
SKIPPED_CALL: Final = 0xFFFFFFFF


@dataclass(frozen=True)
class Abi:
    """One ABI: its name in a policy, its ``AUDIT_ARCH_*`` value, its ``system-calls`` table."""

    name: str
    audit: int
    table: str

    @property
    def arguments_are_32_bit(self) -> bool:
        """A call of an ABI without ``__AUDIT_ARCH_64BIT`` sees the low half of each argument
        register (DESIGN §3: ``width`` and 32-bit ABIs)."""
        return not self.audit & AUDIT_64BIT


ABIS: Final[tuple[Abi, ...]] = (
    Abi("x86_64", EM_X86_64 | AUDIT_64BIT | AUDIT_LE, "x86_64"),
    Abi("x32", EM_X86_64 | AUDIT_64BIT | AUDIT_LE, "x32"),
    Abi("i386", EM_386 | AUDIT_LE, "i386"),
    Abi("aarch64", EM_AARCH64 | AUDIT_64BIT | AUDIT_LE, "arm64"),
    Abi("arm", EM_ARM | AUDIT_LE, "arm"),
    Abi("riscv64", EM_RISCV | AUDIT_64BIT | AUDIT_LE, "riscv64"),
    Abi("loongarch64", EM_LOONGARCH | AUDIT_64BIT | AUDIT_LE, "loongarch64"),
    Abi("ppc", EM_PPC, "powerpc"),
    Abi("ppc64", EM_PPC64 | AUDIT_64BIT, "powerpc64"),
    Abi("ppc64le", EM_PPC64 | AUDIT_64BIT | AUDIT_LE, "powerpc64"),
    Abi("s390", EM_S390, "s390"),
    Abi("s390x", EM_S390 | AUDIT_64BIT, "s390x"),
    Abi("mips", EM_MIPS, "mipso32"),
    Abi("mipsel", EM_MIPS | AUDIT_LE, "mipso32"),
    Abi("mips64", EM_MIPS | AUDIT_64BIT, "mips64"),
    Abi("mipsel64", EM_MIPS | AUDIT_64BIT | AUDIT_LE, "mips64"),
    Abi("mips64n32", EM_MIPS | AUDIT_64BIT | AUDIT_MIPS64_N32, "mips64n32"),
    Abi("mipsel64n32", EM_MIPS | AUDIT_64BIT | AUDIT_LE | AUDIT_MIPS64_N32, "mips64n32"),
    Abi("parisc", EM_PARISC, "parisc"),
    Abi("parisc64", EM_PARISC | AUDIT_64BIT, "parisc64"),
    Abi("m68k", EM_68K, "m68k"),
    Abi("sparc", EM_SPARC, "sparc"),
    Abi("sparc64", EM_SPARCV9 | AUDIT_64BIT, "sparc64"),
)
BY_NAME: Final = {abi.name: abi for abi in ABIS}

# arch/mips/kernel/scall*-*.S: the number's range picks the table, whatever the task's ABI.
MIPS_RANGES: Final = {4000: "o32", 5000: "n64", 6000: "n32"}
_MIPS_KIND: Final = {"mipso32": "o32", "mips64": "n64", "mips64n32": "n32"}

# <linux/net.h>: SYS_SOCKET ... SYS_SENDMMSG
SOCKETCALL: Final = {
    "socket": 1, "bind": 2, "connect": 3, "listen": 4, "accept": 5, "getsockname": 6,
    "getpeername": 7, "socketpair": 8, "send": 9, "recv": 10, "sendto": 11, "recvfrom": 12,
    "shutdown": 13, "setsockopt": 14, "getsockopt": 15, "sendmsg": 16, "recvmsg": 17,
    "accept4": 18, "recvmmsg": 19, "sendmmsg": 20,
}  # fmt: skip
# <linux/ipc.h>: the call is the low 16 bits of the first argument (ipc/syscall.c).
IPC: Final = {
    "semop": 1, "semget": 2, "semctl": 3, "semtimedop": 4, "msgsnd": 11, "msgrcv": 12,
    "msgget": 13, "msgctl": 14, "shmat": 21, "shmdt": 22, "shmget": 23, "shmctl": 24,
}  # fmt: skip

# <linux/seccomp.h>: SECCOMP_RET_* by the action's name; the low 16 bits carry its data.
RETURN_VALUES: Final = {
    "KILL_PROCESS": 0x80000000,
    "KILL_THREAD": 0x00000000,
    "TRAP": 0x00030000,
    "ERRNO": 0x00050000,
    "USER_NOTIF": 0x7FC00000,
    "TRACE": 0x7FF00000,
    "LOG": 0x7FFC0000,
    "ALLOW": 0x7FFF0000,
}
_WITH_DATA: Final = frozenset({"TRAP", "ERRNO", "TRACE"})



def compare(operation: str, a: int, value: int | tuple[int, ...], mask: int | None) -> bool:
    """DESIGN §3's table of comparisons: ``a`` is the operand (cut to the width), ``value``
    and ``mask`` as a policy writes them."""
    if isinstance(value, tuple):
        if operation == "in":
            return a in value
        if operation == "not_in":
            return a not in value
        assert operation == "range", operation
        low, high = value
        return low <= a <= high
    answers = {
        "eq": a == value,
        "ne": a != value,
        "lt": a < value,
        "le": a <= value,
        "gt": a > value,
        "ge": a >= value,
        "masked_eq": mask is not None and a & mask == value,
        "bits_set": a & value == value,
        "bits_clear": a & value == 0,
    }
    return answers[operation]


class MultiplexerRefusedError(ValueError):
    """The policy puts conditions on a call that also arrives through a multiplexer and asks
    for ``multiplexer_conditions: error``: no program means it."""


@functools.cache
def table(abi: Abi) -> dict[str, int]:
    """``name -> number`` of ``abi``, as ``seccomp_data.nr`` shows it."""
    module = importlib.import_module(f"system_calls.tables.{abi.table}")
    numbers = dict(getattr(module, f"syscalls_{abi.table}"))
    for name, number in RETIRED_SYSCALLS.get(abi.table, {}).items():
        numbers.setdefault(name, number)
    return numbers


def return_value(action: Action) -> int:
    """The filter's return value for ``action`` (<linux/seccomp.h>)."""
    name = action.kind.name
    data = action.data & 0xFFFF if name in _WITH_DATA else 0
    return RETURN_VALUES[name] | data


def dispatched(audit: int, nr: int) -> Abi | None:
    """The ABI whose table the kernel runs ``nr`` from, for a call reported as ``audit``."""
    reporting = [abi for abi in ABIS if abi.audit == audit]
    if not reporting:
        return None
    if nr == SKIPPED_CALL:
        return reporting[0]  # no range claims it: the task's own ABI (x86_64, not x32)
    if audit == BY_NAME["x86_64"].audit:
        return BY_NAME["x32"] if nr & X32_SYSCALL_BIT else BY_NAME["x86_64"]
    if audit & 0xFFFF == EM_MIPS:
        kind = MIPS_RANGES.get(nr - nr % 1000)
        if kind is not None:
            little = audit & AUDIT_LE
            return next(
                abi
                for abi in ABIS
                if abi.audit & 0xFFFF == EM_MIPS
                and abi.audit & AUDIT_LE == little
                and _MIPS_KIND[abi.table] == kind
            )
    return reporting[0]


def listed(policy: Policy) -> set[str]:
    """The ABIs the policy lists, by name (``native`` is this machine's)."""
    names: set[str] = set()
    for name in policy.arches:
        if name == "native":
            name = {"x86_64": "x86_64", "aarch64": "aarch64"}[platform.machine()]
        names.add(name)
    return names


def holds(condition: Condition | None, args: Sequence[int], ip: int) -> bool:
    """DESIGN §3, from the comparison's format name and values."""
    if condition is None:
        return True
    if isinstance(condition, All):
        return all(holds(part, args, ip) for part in condition.conditions)
    if isinstance(condition, Any):
        return any(holds(part, args, ip) for part in condition.conditions)
    if isinstance(condition, Not):
        return not holds(condition.condition, args, ip)
    operand = ip if condition.arg is None else args[condition.arg]
    if condition.width == 32:
        operand &= MASK32
    value, mask = condition.parameters()
    return compare(condition.operation, operand, value, mask)


Test = Callable[[Sequence[int], int], bool]


@dataclass(frozen=True)
class Entry:
    """A rule as it takes part for one call: its index, action and test of the arguments."""

    rule: int
    action: Action
    test: Test
    via: str | None = None


def _condition_test(condition: Condition | None) -> Test:
    return lambda args, ip: holds(condition, args, ip)


def _selector(call: int, mask: int) -> Test:
    """The multiplexer's first argument (an int) selects ``call``."""
    return lambda args, ip: args[0] & mask == call


# The multiplexers, their call numbers and the bits of the first argument that select one.
MULTIPLEXERS: Final = (("socketcall", SOCKETCALL, MASK32), ("ipc", IPC, 0xFFFF))


def entries(policy: Policy, abi: Abi, audit: int, nr: int) -> list[Entry]:
    """The rules' entries that name ``nr`` on ``abi`` for calls reported as ``audit``, in
    policy order (DESIGN §3: which rules take part, names, ranges, multiplexers)."""
    numbers = table(abi)
    found: list[Entry] = []
    for index, rule in enumerate(policy.rules):
        if rule.arches is not None and abi.name not in rule.arches:
            continue
        if rule.audit_arches is not None and audit not in {
            BY_NAME[name].audit for name in rule.audit_arches
        }:
            continue
        for item in rule.syscalls:
            if isinstance(item, NumberRange):
                if item.first <= nr <= item.last:
                    found.append(Entry(index, rule.action, _condition_test(rule.when)))
                continue
            if isinstance(item, int):
                if item == nr:
                    found.append(Entry(index, rule.action, _condition_test(rule.when)))
                continue
            if numbers.get(item) == nr:
                found.append(Entry(index, rule.action, _condition_test(rule.when)))
            for multiplexer, calls, mask in MULTIPLEXERS:
                if item not in calls or numbers.get(multiplexer) != nr:
                    continue
                selects = _selector(calls[item], mask)

                if rule.when is not None:
                    mode = policy.multiplexer_conditions
                    if mode == "error":
                        raise MultiplexerRefusedError(f"rule {index + 1}: {item} via {multiplexer}")
                    if mode == "strict" and rule.action.kind.name in ("ALLOW", "LOG"):
                        continue  # its conditions cannot be shown to hold: not mirrored
                found.append(Entry(index, rule.action, selects, multiplexer))
    return found


def highest_named(policy: Policy, abi: Abi) -> int | None:
    """The highest number the rules that take part on ``abi`` name there: the table's number
    of each name, and each number the kernel runs from ``abi``'s table (not a range, not -1)."""
    numbers = table(abi)
    found: list[int] = []
    for rule in policy.rules:
        if rule.arches is not None and abi.name not in rule.arches:
            continue
        for item in rule.syscalls:
            if isinstance(item, str) and item in numbers:
                found.append(numbers[item])
            elif isinstance(item, int) and item != SKIPPED_CALL:
                owner = dispatched(abi.audit, item)
                if owner is not None and owner.name == abi.name:
                    found.append(item)
    return max(found, default=None)


def evaluate(
    policy: Policy, audit: int, nr: int, args: Sequence[int] = (), ip: int = 0
) -> Action:
    """What ``policy`` does with the call ``nr(args)`` made at ``ip``, reported as ``audit``."""
    nr &= MASK32
    arguments = tuple(a & MASK64 for a in args) + (0,) * (6 - len(args))
    ip &= MASK64
    # 1. The ABI: the audit value, x32's bit, MIPS's ranges; unlisted: bad_arch_action.
    abi = dispatched(audit & MASK32, nr)
    if abi is None or abi.name not in listed(policy):
        return policy.bad_arch_action
    if abi.arguments_are_32_bit:
        arguments = tuple(a & MASK32 for a in arguments)
    # 2. The first entry whose test holds decides.
    found = entries(policy, abi, audit, nr)
    for entry in found:
        if entry.test(arguments, ip):
            return entry.action
    # 3. Nothing decided: a number above the highest the rules name on this ABI gets the
    #    newer-call action (never -1, the skipped call); then a number neither the table nor
    #    a rule knows gets the unknown action.
    newer = policy.newer_syscall_action
    if newer is not None and nr != SKIPPED_CALL:
        top = highest_named(policy, abi)
        if top is not None and nr > top:
            return newer
    if policy.unknown_syscall_action is not None and not found and nr not in table(abi).values():
        return policy.unknown_syscall_action
    return policy.default_action


def ret(policy: Policy, audit: int, nr: int, args: Sequence[int] = (), ip: int = 0) -> int:
    """The return value a filter for ``policy`` must give this call."""
    return return_value(evaluate(policy, audit, nr, args, ip))
