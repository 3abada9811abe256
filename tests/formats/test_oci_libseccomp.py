"""Differential test: an OCI profile read by seccomp-bpf decides as libseccomp's filter does.

The same profile is handed to libseccomp (``libseccomp.so.2`` through ctypes, in
``benchmarks/libseccomp.py``) the way runc hands it over (skip rules whose action is the
default, ignore names libseccomp cannot resolve, one rule per comparison when two compare
the same argument). libseccomp's BPF is exported, run in the emulator, and compared with
``Policy.evaluate`` on every syscall number of x86_64, x32 and i386 and on argument values
around each comparison. Nothing is loaded into the kernel.

Arguments of the 32-bit ABIs stay below 2**32 here: there libseccomp compares only the low
half, while the converted policy compares all 64 bits (documented in ``formats/oci.py``).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator

import pytest
from benchmarks import libseccomp
from benchmarks.libseccomp import docker_entries

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.formats.oci import DOCKER_DEFAULT_CAPABILITIES, load_oci_policy
from seccomp_bpf.policy import Action, Policy
from tests.datafiles import DOCKER_DEFAULT

JsonObject = dict[str, typing.Any]

# <linux/audit.h>
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_BIT = 0x40000000

LIB = libseccomp.load()
pytestmark = pytest.mark.skipif(LIB is None, reason="libseccomp.so.2 is not installed")


def libseccomp_program(profile: JsonObject, entries: list[JsonObject]) -> Program:
    """The filter runc would build with libseccomp for these (already filtered) entries."""
    assert LIB is not None
    return Program.from_bytes(LIB.export_bpf(profile, entries, arches=("x86_64", "x32", "x86")))


def interesting_values(entries: list[JsonObject]) -> list[int]:
    values = {*range(21), 2**31, 2**32 - 1}  # 0..20: socketcall and ipc call numbers
    for entry in entries:
        for arg in entry.get("args") or []:
            for key in ("value", "valueTwo"):
                v = arg.get(key, 0)
                values.update({v, max(v - 1, 0), v + 1, v | 17, v & 0xFFFFFFFF})
    return sorted(values)


def calls(entries: list[JsonObject], wide: bool) -> Iterator[tuple[int, ...]]:
    """Argument vectors: all zero, then interesting values in the first two arguments."""
    yield (0,) * 6
    values = [v for v in interesting_values(entries) if wide or v < 2**32]
    if wide:
        values += [2**32, 2**32 + 1, 2**63, 2**64 - 1]
    for position in (0, 1):
        for value in values:
            if value < 2**64:
                call = [0] * 6
                call[position] = value
                yield tuple(call)


def compare(
    policy: Policy, program: Program, entries: list[JsonObject], numbers: dict[str, set[int]]
) -> int:
    abis = {
        "x86_64": (AUDIT_ARCH_X86_64, True),
        "x32": (AUDIT_ARCH_X86_64, False),
        "i386": (AUDIT_ARCH_I386, False),
    }
    compared = 0
    for abi, (audit, wide) in abis.items():
        for nr in sorted(numbers[abi]):
            for call in calls(entries, wide) if nr in numbers["conditional"] else [(0,) * 6]:
                data = SeccompData(nr, audit, 0, call)  # type: ignore[arg-type]
                theirs = Action.from_ret(emulate(program, data).ret)
                ours = policy.evaluate(audit, nr, call)
                assert ours == theirs, (abi, nr, get_arch(abi).syscall_name(nr), call, ours, theirs)
                compared += 1
    return compared


def numbers_to_check(entries: list[JsonObject]) -> dict[str, set[int]]:
    """Per ABI: the table's numbers and a few unknown ones, less the numbers of names whose
    number libseccomp 2.5.4's older tables do not give (``uretprobe``...): a difference of
    table versions, not of meaning. ``conditional``: numbers with argument comparisons."""
    assert LIB is not None
    numbers: dict[str, set[int]] = {}
    conditional: set[int] = set()
    multiplexers = {"socketcall", "ipc"}
    for name in ("x86_64", "x32", "i386"):
        arch = get_arch(name)
        table = set(arch.syscalls.values())
        base = X32_BIT if name == "x32" else 0
        numbers[name] = table | {base + n for n in (999, 1000, 4095)}
        libseccomp_arch = "x86" if name == "i386" else name
        for entry in entries:
            for syscall in entry["names"]:
                ours = arch.syscalls.get(syscall)
                theirs = LIB.syscall_number(libseccomp_arch, syscall)
                if ours is not None and ours != theirs:
                    numbers[name].discard(ours)
        for entry in entries:
            if entry.get("args"):
                for syscall in entry["names"]:
                    if syscall in arch.syscalls:
                        conditional.add(arch.syscalls[syscall])
                    if syscall in arch.socketcall or syscall in arch.ipc:
                        conditional.update(
                            arch.syscalls[m] for m in multiplexers if m in arch.syscalls
                        )
            for syscall in entry["names"]:
                if syscall in multiplexers and syscall in arch.syscalls:
                    conditional.add(arch.syscalls[syscall])
    numbers["conditional"] = conditional
    return numbers


@pytest.mark.parametrize("extra_caps", [(), ("CAP_SYS_ADMIN",)])
def test_docker_default_equals_libseccomp(extra_caps: tuple[str, ...]) -> None:
    profile: JsonObject = json.loads(DOCKER_DEFAULT.read_text())
    caps = set(DOCKER_DEFAULT_CAPABILITIES) | set(extra_caps)
    entries = docker_entries(profile, caps)
    program = libseccomp_program(profile, entries)
    policy = load_oci_policy(
        DOCKER_DEFAULT.read_text(), capabilities=caps, arch="x86_64", kernel="6.18"
    )
    assert compare(policy, program, entries, numbers_to_check(entries)) > 1000


SEMANTICS_PROFILE: JsonObject = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [
        # a conditional rule, then an unconditional one with another action: the latter wins
        {
            "names": ["read"],
            "action": "SCMP_ACT_LOG",
            "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}],
        },
        {"names": ["read"], "action": "SCMP_ACT_TRAP"},
        # two unconditional rules: the first wins
        {"names": ["write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5},
        # the default action: skipped
        {"names": ["close"], "action": "SCMP_ACT_ERRNO"},
        # a union of conditional rules with one action
        {
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_LE"}],
        },
        {
            "names": ["personality"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 131072, "op": "SCMP_CMP_GE"}],
        },
        # masked comparisons: datum outside the mask, zero mask
        {
            "names": ["umask"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 7, "valueTwo": 0x12, "op": "SCMP_CMP_MASKED_EQ"}],
        },
        {
            "names": ["dup"],
            "action": "SCMP_ACT_LOG",
            "args": [{"index": 0, "value": 0, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}],
        },
        # two comparisons of one argument: runc adds them as separate rules (OR)
        {
            "names": ["lseek"],
            "action": "SCMP_ACT_ALLOW",
            "args": [
                {"index": 2, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 2, "value": 2, "op": "SCMP_CMP_EQ"},
            ],
        },
        # comparisons of different arguments: AND
        {
            "names": ["mmap"],
            "action": "SCMP_ACT_ALLOW",
            "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 4096, "op": "SCMP_CMP_GT"},
            ],
        },
        # exclusive conditions with different actions
        {
            "names": ["kill"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}],
        },
        {
            "names": ["kill"],
            "action": "SCMP_ACT_TRACE",
            "errnoRet": 9,
            "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}],
        },
        # socket calls: conditions on the first argument, mirrored on i386's socketcall
        {
            "names": ["socket"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_LT"}],
        },
        {"names": ["connect", "bind"], "action": "SCMP_ACT_LOG"},
        {"names": ["accept4"], "action": "SCMP_ACT_KILL_PROCESS"},
        # SysV IPC through ipc(2) on i386
        {"names": ["semget"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["nanosleep", "not_a_syscall"], "action": "SCMP_ACT_ALLOW"},
    ],
}


def test_semantics_equal_libseccomp() -> None:
    entries = SEMANTICS_PROFILE["syscalls"]
    program = libseccomp_program(SEMANTICS_PROFILE, entries)
    policy = load_oci_policy(json.dumps(SEMANTICS_PROFILE), arch="x86_64", kernel="6.18")
    assert compare(policy, program, entries, numbers_to_check(entries)) > 1000

    # The one known difference on multiplexers: ipc(IPCCALL(1, SEMGET)). libseccomp compares
    # the whole first argument with SEMGET; the model compares its low 16 bits, as the kernel
    # reads it (ipc/syscall.c: call &= 0xffff), so the version in the high half does not hide
    # the call from the rule.
    ipc, semget_version_1 = 117, (1 << 16) | 2
    data = SeccompData(ipc, AUDIT_ARCH_I386, 0, (semget_version_1, 0, 0, 0, 0, 0))
    assert Action.from_ret(emulate(program, data).ret) == Action.parse("errno(1)")
    assert policy.evaluate(AUDIT_ARCH_I386, ipc, (semget_version_1,)) == Action.parse("allow")
    assert any("ipc" in note and "16 bits" in note for note in policy.notes)


def _exported_equals_libseccomp(policy: Policy) -> int:
    """Write ``policy`` as an OCI profile, build the filter runc would with libseccomp, and
    compare it with the policy itself (not with its reading of the profile)."""
    from seccomp_bpf.formats.oci_writer import to_oci

    profile = to_oci(policy)
    entries = typing.cast(list[JsonObject], profile["syscalls"])
    program = libseccomp_program(profile, entries)
    return compare(policy, program, entries, numbers_to_check(entries))


def test_the_built_in_default_exported_equals_libseccomp() -> None:
    # strict multiplexers included: socketcall is one entry without conditions, which
    # libseccomp applies before its own mirrors of the socket rules
    from seccomp_bpf.policies.default import default_policy

    policy = default_policy(["x86_64+compat"])
    assert policy.multiplexer_conditions == "strict"
    assert _exported_equals_libseccomp(policy) > 1000


def test_a_strict_policy_denying_the_multiplexer_equals_libseccomp() -> None:
    from seccomp_bpf.formats import load_yaml_policy

    policy = load_yaml_policy(
        """\
default_action: errno(EPERM)
unknown_syscall_action: errno(ENOSYS)
arches: [x86_64, x32, i386]
multiplexer_conditions: strict
syscalls:
  - names: [read, write, close, exit_group]
    action: allow
  - names: [socket]
    action: allow
    when: {arg: 0, op: in, value: [AF_UNIX, AF_INET, AF_INET6], width: 32}
  - names: [socketcall]
    action: errno(EACCES)
  - names: [connect, sendto]
    action: allow
"""
    )
    assert _exported_equals_libseccomp(policy) > 1000
