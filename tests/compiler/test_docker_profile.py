"""Docker's default seccomp profile, compiled for x86_64 + i386 + x32, decides every system
call as the profile says.

Two judges, on every number of the three tables (plus unknown numbers), with all-zero
arguments and with arguments chosen to hit the profile's argument rules:

- the model: ``emulate(compile(policy))`` equals ``policy.evaluate``;
- the profile itself, read here straight from the JSON with Docker's rules (moby
  ``profiles/seccomp/seccomp_linux.go``: ``includes``/``excludes`` for the machine's arch,
  the default capabilities and the kernel) and libseccomp's meaning of the comparisons,
  without the reader under test: names of unconditional ALLOW entries are allowed, names of
  unconditional ERRNO entries get their errno, names with argument rules are allowed when
  one rule's comparisons all hold, and every other name gets ``defaultErrnoRet``.

A kernel test then loads the compiled program in a forked child and makes real calls.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any as AnyJson

import pytest

from seccomp_bpf.arch import X32_SYSCALL_BIT, Arch, get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats import load_oci_policy
from seccomp_bpf.formats.oci import DOCKER_DEFAULT_CAPABILITIES
from seccomp_bpf.kernel import set_mode_filter, set_no_new_privs, syscall_abi
from seccomp_bpf.kernel.compat import has_i386_emulation, has_x32_abi, i386_syscall, x32_syscall
from seccomp_bpf.kernel.libc import SyscallResult, syscall
from seccomp_bpf.policy import ALLOW, ERRNO, Action, Policy
from tests.datafiles import DOCKER_DEFAULT
from tests.kernel.forked import run_in_child

PROFILE = DOCKER_DEFAULT

# The profile's archMap for an amd64 machine: SCMP_ARCH_X86_64 with SCMP_ARCH_X86 and
# SCMP_ARCH_X32. Docker compares includes/excludes arches with the Go name of the machine.
ARCHES = ("x86_64", "i386", "x32")
DOCKER_ARCH = "amd64"
# A fixed kernel release, so that the test does not depend on the machine (the profile's
# only minKernel is 4.8).
KERNEL = (6, 1)
# moby oci/caps/defaults.go, DefaultCapabilities.
DEFAULT_CAPABILITIES = frozenset(
    {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    }
)
MASK64 = (1 << 64) - 1


def _profile_text() -> str:
    return PROFILE.read_text(encoding="utf-8")


# --- the profile, read independently ---------------------------------------------------


def _kernel_at_least(text: str) -> bool:
    major, minor = (int(part) for part in text.split(".")[:2])
    return (major, minor) <= KERNEL


def _entry_applies(entry: dict[str, AnyJson]) -> bool:
    """moby ``setupSeccomp``: excludes first, then includes, for amd64 and the default
    capabilities."""
    excludes = entry.get("excludes", {})
    if DOCKER_ARCH in excludes.get("arches", []):
        return False
    if any(cap in DEFAULT_CAPABILITIES for cap in excludes.get("caps", [])):
        return False
    if excludes.get("minKernel") and _kernel_at_least(excludes["minKernel"]):
        return False
    includes = entry.get("includes", {})
    if includes.get("arches") and DOCKER_ARCH not in includes["arches"]:
        return False
    if not all(cap in DEFAULT_CAPABILITIES for cap in includes.get("caps", [])):
        return False
    return not (includes.get("minKernel") and not _kernel_at_least(includes["minKernel"]))


def _comparison_holds(arg: dict[str, AnyJson], args: Sequence[int]) -> bool:
    """One ``args`` item as libseccomp compares it (``seccomp_rule_add(3)``), 64 bits."""
    value: int = args[int(arg["index"])]
    datum: int = arg["value"] & MASK64
    operation = arg["op"]
    if operation == "SCMP_CMP_MASKED_EQ":
        second: int = arg.get("valueTwo", 0)
        return value & datum == second & datum
    compare = {
        "SCMP_CMP_EQ": value == datum,
        "SCMP_CMP_NE": value != datum,
        "SCMP_CMP_LT": value < datum,
        "SCMP_CMP_LE": value <= datum,
        "SCMP_CMP_GT": value > datum,
        "SCMP_CMP_GE": value >= datum,
    }
    return compare[str(operation)]


@dataclass(frozen=True)
class ProfileMeaning:
    """What the profile says, per system call name."""

    default: Action
    allowed: frozenset[str]  # unconditional ALLOW
    errnos: dict[str, int]  # unconditional ERRNO
    conditional: dict[str, list[list[dict[str, AnyJson]]]]  # name -> each rule's args
    mentioned: frozenset[str]  # in any entry, applying or not

    def decide(self, name: str | None, args: Sequence[int]) -> Action:
        if name is None:
            return self.default
        if name in self.allowed:
            return ALLOW
        if name in self.errnos:
            return ERRNO(self.errnos[name])
        for comparisons in self.conditional.get(name, []):
            if all(_comparison_holds(arg, args) for arg in comparisons):
                return ALLOW
        return self.default


def read_profile(text: str) -> ProfileMeaning:
    document = json.loads(text)
    assert document["defaultAction"] == "SCMP_ACT_ERRNO"
    default = ERRNO(document.get("defaultErrnoRet", errno.EPERM))
    allowed: set[str] = set()
    errnos: dict[str, int] = {}
    conditional: dict[str, list[list[dict[str, AnyJson]]]] = {}
    mentioned: set[str] = set()
    for entry in document["syscalls"]:
        mentioned |= set(entry["names"])
        if not _entry_applies(entry):
            continue
        args = entry.get("args") or []
        # Comparisons of one entry all hold (AND) unless two compare the same argument; the
        # default profile never does that, and this reading relies on it.
        assert len({arg["index"] for arg in args}) == len(args), entry
        for name in entry["names"]:
            if entry["action"] == "SCMP_ACT_ALLOW" and not args:
                allowed.add(name)
            elif entry["action"] == "SCMP_ACT_ALLOW":
                conditional.setdefault(name, []).append(args)
            elif entry["action"] == "SCMP_ACT_ERRNO" and not args:
                errnos[name] = entry.get("errnoRet", errno.EPERM)
            else:
                raise AssertionError(f"this reading does not cover {entry}")
    assert not allowed & set(errnos), "a name both allowed and denied unconditionally"
    return ProfileMeaning(default, frozenset(allowed), errnos, conditional, frozenset(mentioned))


# --- arguments that hit the argument rules ---------------------------------------------

# <linux/sched.h>: what a thread (pthread_create) and a fork (glibc) pass to clone.
CLONE_THREAD_FLAGS = (
    0x003D0F00  # VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
)
CLONE_FORK_FLAGS = 0x01200011  # CHILD_SETTID|CHILD_CLEARTID|SIGCHLD


Args = tuple[int, int, int, int, int, int]


def _six(values: Sequence[int], mask: int = MASK64) -> Args:
    """Six arguments: ``values`` cut to ``mask``, then zeros."""
    a0, a1, a2, a3, a4, a5 = [v & mask for v in values] + [0] * (6 - len(values))
    return (a0, a1, a2, a3, a4, a5)


def chosen_arguments(meaning: ProfileMeaning, name: str) -> Iterator[Args]:
    """Arguments at and around every constant the name's rules compare with."""
    values = {0, 1, MASK64, 0xFFFFFFFF, 1 << 32}
    for comparisons in meaning.conditional.get(name, []):
        for arg in comparisons:
            datum = arg["value"] & MASK64
            values |= {datum, (datum + 1) & MASK64, (datum - 1) & MASK64, datum | 1 << 32}
            if arg["op"] == "SCMP_CMP_MASKED_EQ":  # each bit of the mask alone
                values |= {1 << bit for bit in range(64) if datum >> bit & 1}
    if name == "clone":
        values |= {CLONE_THREAD_FLAGS, CLONE_FORK_FLAGS}
    if name == "socket":
        values |= set(range(46))  # every AF_* (<linux/socket.h>: AF_MAX is 46)
    for value in sorted(values):
        for index in {arg["index"] for rules in meaning.conditional[name] for arg in rules}:
            args = [0] * 6
            args[index] = value
            yield _six(args)


# --- the tests -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def profile_text() -> str:
    return _profile_text()


@pytest.fixture(scope="module")
def policy(profile_text: str) -> Policy:
    return load_oci_policy(profile_text, arch="x86_64", kernel=f"{KERNEL[0]}.{KERNEL[1]}")


@pytest.fixture(scope="module")
def program(policy: Policy) -> Program:
    return compile_policy(policy)


@pytest.fixture(scope="module")
def meaning(profile_text: str) -> ProfileMeaning:
    return read_profile(profile_text)


def test_capabilities_match_dockers_defaults() -> None:
    assert frozenset(DOCKER_DEFAULT_CAPABILITIES) == DEFAULT_CAPABILITIES


def test_archmap_gives_x86_64_i386_and_x32(policy: Policy) -> None:
    assert tuple(arch.name for arch in policy.resolved_arches()) == ARCHES


def _numbers(arch: Arch) -> list[int]:
    """Every number of the table, and a few it does not have."""
    unknown = [1000, 4095, 0x3FFFFFFF] if arch.name != "x32" else [X32_SYSCALL_BIT | 1000]
    return sorted({*arch.syscalls.values(), *unknown})


@pytest.mark.parametrize("arch_name", ARCHES)
def test_every_syscall_decides_as_the_profile_says(
    arch_name: str, policy: Policy, program: Program, meaning: ProfileMeaning
) -> None:
    arch = get_arch(arch_name)
    # 32-bit ABIs: libseccomp compares 32 bits there, the model 64 (a noted difference).
    word = MASK64 if arch.bits == 64 else 0xFFFFFFFF
    compared = 0
    for nr in _numbers(arch):
        name = arch.syscall_name(nr)
        argument_sets = [_six(())]
        if name in meaning.conditional:
            argument_sets += [_six(args, word) for args in chosen_arguments(meaning, name)]
        for args in argument_sets:
            model = policy.evaluate(arch, nr, args)
            compiled = emulate(program, SeccompData(nr, arch.audit_arch, 0, args)).ret
            said = meaning.decide(name, args)
            assert compiled == model.ret_value, (arch_name, name, nr, args, model)
            assert model == said, (arch_name, name, nr, [hex(a) for a in args], model, said)
            compared += 1
    assert compared >= len(arch.syscalls)
    print(f"{arch_name}: {compared} decisions compared")


@pytest.mark.parametrize("arch_name", ARCHES)
def test_names_the_profile_never_mentions_get_the_default_errno(
    arch_name: str, policy: Policy, program: Program, meaning: ProfileMeaning
) -> None:
    arch = get_arch(arch_name)
    unmentioned = sorted(set(arch.syscalls) - meaning.mentioned)
    assert "kexec_load" in unmentioned  # a call the profile denies by leaving it out
    for name in unmentioned:
        nr = arch.syscalls[name]
        ret = emulate(program, SeccompData(nr, arch.audit_arch)).ret
        assert ret == meaning.default.ret_value == ERRNO(1).ret_value, (arch_name, name)


def test_unconditionally_allowed_names_are_allowed_on_x86_64(
    program: Program, meaning: ProfileMeaning
) -> None:
    arch = get_arch("x86_64")
    present = sorted(meaning.allowed & set(arch.syscalls))
    assert len(present) > 300
    for name in present:
        ret = emulate(program, SeccompData(arch.syscalls[name], arch.audit_arch)).ret
        assert ret == ALLOW.ret_value, name


# --- the compiled profile on the kernel ------------------------------------------------

# Calls made under the profile: x86-64 ones, by name with their arguments; each is either
# harmless if it ran, or fails before doing anything.
_NOWHERE = b"/nonexistent/seccomp-bpf-test\0"


@dataclass(frozen=True)
class KernelCall:
    abi: str  # "x86_64", "i386" or "x32"
    name: str
    args: tuple[int, ...] = ()


def _kernel_calls(path_address: int) -> list[KernelCall]:
    return [
        KernelCall("x86_64", "getpid"),
        KernelCall("x86_64", "getppid"),
        KernelCall("x86_64", "getuid"),
        KernelCall("x86_64", "personality", (0xFFFFFFFF,)),  # query: allowed
        KernelCall("x86_64", "socket", (1, 1, 0)),  # AF_UNIX, SOCK_STREAM: allowed
        KernelCall("x86_64", "socket", (40, 1, 0)),  # AF_VSOCK: denied by the arg rules
        KernelCall("x86_64", "personality", (0x0040000,)),  # ADDR_NO_RANDOMIZE: denied
        KernelCall("x86_64", "unshare", (0x10000000,)),  # CLONE_NEWUSER: needs CAP_SYS_ADMIN
        KernelCall("x86_64", "mount", (0, 0, 0, 0, 0)),  # needs CAP_SYS_ADMIN
        KernelCall("x86_64", "umount2", (path_address, 0)),  # needs CAP_SYS_ADMIN
        KernelCall("x86_64", "syslog", (10, 0, 0)),  # SIZE_BUFFER; needs CAP_SYSLOG
        KernelCall("x86_64", "delete_module", (path_address, os.O_NONBLOCK)),  # CAP_SYS_MODULE
        KernelCall("x86_64", "clone3", (0, 0)),  # ENOSYS, so that libc falls back to clone
        KernelCall("i386", "getpid"),
        KernelCall("i386", "syslog", (10, 0, 0)),
        KernelCall("i386", "umount", (path_address & 0xFFFFFFFF,)),
        KernelCall("x32", "getpid"),
        KernelCall("x32", "syslog", (10, 0, 0)),
    ]


def _make(call: KernelCall) -> SyscallResult:
    nr = get_arch(call.abi).syscalls[call.name]
    if call.abi == "i386":
        return i386_syscall(nr, *call.args)
    if call.abi == "x32":
        return x32_syscall(nr, *call.args)
    return syscall(nr, *call.args)


def _under_profile(
    program: Program, calls: list[KernelCall]
) -> tuple[int, int, int, list[SyscallResult]]:
    ids = (os.getpid(), os.getppid(), os.getuid())
    set_no_new_privs()
    set_mode_filter(program)
    results = [_make(call) for call in calls]
    for result, call in zip(results, calls, strict=True):
        if call.name == "socket" and not result.failed:
            os.close(result.value)
    return (*ids, results)


@pytest.mark.kernel
@pytest.mark.skipif(
    not sys.platform.startswith("linux") or syscall_abi() != "x86_64",
    reason="needs a 64-bit x86-64 Linux process",
)
def test_the_compiled_profile_on_the_kernel(
    policy: Policy, program: Program, meaning: ProfileMeaning
) -> None:
    path = ctypes.create_string_buffer(_NOWHERE)
    calls = _kernel_calls(ctypes.addressof(path))
    if not has_i386_emulation():
        calls = [call for call in calls if call.abi != "i386"]
    pid, ppid, uid, results = run_in_child(_under_profile, program, calls)
    real = {"getpid": pid, "getppid": ppid, "getuid": uid}
    for call, result in zip(calls, results, strict=True):
        arch = get_arch(call.abi)
        nr = arch.syscalls[call.name]
        args = _six(call.args)
        said = meaning.decide(call.name, args)
        assert policy.evaluate(arch, nr, args) == said, call
        assert emulate(program, SeccompData(nr, arch.audit_arch, 0, args)).ret == said.ret_value
        where = f"{call.abi} {call.name}{call.args}: {result}"
        if said != ALLOW:
            assert result == SyscallResult(-1, said.data), where
        elif call.abi == "x32" and not has_x32_abi():
            assert result == SyscallResult(-1, errno.ENOSYS), where  # let through, no x32
        elif call.name in real:
            assert result == SyscallResult(real[call.name], 0), where
        else:
            assert not result.failed, where
    denied = [c for c, r in zip(calls, results, strict=True) if r.failed and r.errno == errno.EPERM]
    assert len(denied) >= 8


def _i386_socket_with_junk(program: Program) -> list[SyscallResult]:
    from seccomp_bpf.kernel.compat import i386_syscall_full_registers

    set_no_new_privs()
    set_mode_filter(program)
    socket = get_arch("i386").syscalls["socket"]
    results = [i386_syscall_full_registers(socket, domain, 1, 0) for domain in (40, 1 << 32 | 40)]
    for result in results:
        if not result.failed:
            os.close(result.value)
    return results


@pytest.mark.kernel
@pytest.mark.skipif(
    not sys.platform.startswith("linux") or syscall_abi() != "x86_64",
    reason="needs a 64-bit x86-64 Linux process",
)
def test_i386_argument_rules_ignore_upper_halves(program: Program) -> None:
    # A 64-bit process calling socket(AF_VSOCK) through int 0x80 with junk above bit 31 of the
    # domain: the i386 call sees AF_VSOCK (40), so the profile's argument rules must too.
    if not has_i386_emulation():
        pytest.skip("no IA-32 emulation in this kernel")
    plain, junk = run_in_child(_i386_socket_with_junk, program)
    assert plain == SyscallResult(-1, errno.EPERM)
    assert junk == SyscallResult(-1, errno.EPERM)
