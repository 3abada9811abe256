"""The built-in default policy: what it allows and denies, on every ABI it covers.

The expectations are written from the kernel's and Docker's documents, not from the policy:
numbers and flags come from the kernel headers, and the Docker comparison reads Docker's own
profile from ``tests/data``.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from seccomp_bpf.arch import Arch, get_arch, native_arch
from seccomp_bpf.bpf import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.kernel import syscall_abi
from seccomp_bpf.kernel.compat import has_i386_emulation
from seccomp_bpf.policies.default import (
    DEFAULT_POLICY_SOURCE,
    builtin_policy_text,
    default_policy,
)
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, Policy
from tests.datafiles import DOCKER_DEFAULT
from tests.kernel.forked import run_in_child

EPERM = ERRNO(errno.EPERM)
ENOSYS = ERRNO(errno.ENOSYS)

# <uapi/linux/sched.h>
CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_THREAD, CLONE_SYSVSEM, CLONE_SETTLS = 0x10000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID = 0x100000, 0x200000
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x20000, 0x10000000, 0x40000000, 0x20000000
SIGCHLD = 17
PTHREAD_FLAGS = (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
                 | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)  # fmt: skip
FORK_FLAGS = CLONE_CHILD_CLEARTID | SIGCHLD  # glibc's fork()
# <uapi/linux/personality.h>
PER_LINUX, PER_LINUX32, UNAME26 = 0, 8, 0x20000
READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE = 0x400000, 0x40000
# <linux/net.h>: socketcall's call numbers
SYS_SOCKET, SYS_CONNECT = 1, 3
# <linux/socket.h>
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_ALG, AF_VSOCK = 1, 2, 10, 16, 38, 40
# <asm-generic/ioctls.h>
TCGETS, TIOCSTI, TIOCLINUX, FIONREAD = 0x5401, 0x5412, 0x541C, 0x541B

DENIED = ("mount", "umount2", "unshare", "setns", "kexec_load", "kexec_file_load", "bpf",
          "reboot", "init_module", "finit_module", "delete_module", "ptrace", "pivot_root",
          "chroot", "swapon", "settimeofday", "clock_settime", "perf_event_open", "keyctl",
          "add_key", "io_uring_setup", "userfaultfd", "process_vm_readv", "open_by_handle_at",
          "fsopen", "move_mount", "sethostname", "acct", "iopl", "syslog")  # fmt: skip
NEWER = ("rseq", "statx", "openat2", "faccessat2", "close_range", "pidfd_open", "epoll_pwait2",
         "futex_waitv", "getrandom", "pidfd_send_signal", "memfd_create", "copy_file_range",
         "preadv2", "membarrier", "fchmodat2", "mseal", "cachestat",
         "landlock_create_ruleset")  # fmt: skip
EVERYDAY = ("read", "write", "openat", "close", "fstat", "mmap", "mprotect", "munmap", "brk",
            "rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "access", "pipe2", "dup2",
            "getpid", "socketpair", "connect", "accept4", "sendto", "recvfrom", "bind", "listen",
            "execve", "execveat", "exit_group", "wait4", "kill", "uname", "fcntl", "getdents64",
            "getcwd", "chdir", "rename", "mkdir", "unlink", "futex", "set_robust_list",
            "prlimit64", "sched_getaffinity", "clock_gettime", "nanosleep", "epoll_ctl",
            "poll", "prctl", "umask", "setsid", "sigaltstack", "madvise")  # fmt: skip


def number(arch: Arch, name: str) -> int | None:
    return arch.syscall_number(name)


@pytest.fixture(scope="module")
def x86() -> Policy:
    return default_policy(["x86_64+compat"])


def test_the_text_is_the_packaged_file() -> None:
    path = Path(__file__).parents[2] / "src" / "seccomp_bpf" / "policies" / "default.yaml"
    assert builtin_policy_text() == path.read_text(encoding="utf-8")
    with pytest.raises(PolicyError, match="no built-in policy 'nope'"):
        builtin_policy_text("nope")


def test_shape_of_the_default() -> None:
    policy = default_policy()
    assert policy.default_action == EPERM
    assert policy.unknown_syscall_action == ENOSYS
    assert policy.bad_arch_action == KILL_PROCESS
    assert policy.source == DEFAULT_POLICY_SOURCE
    native = native_arch()
    expected = [native.name, *(get_arch(c).name for c in native.compat)]
    assert [a.name for a in policy.resolved_arches()] == expected


@pytest.mark.parametrize("family", ["x86_64+compat", "aarch64+compat", "riscv64",
                                    "loongarch64", "s390x+compat", "ppc64le+compat"])  # fmt: skip
def test_it_compiles_for_each_family(family: str) -> None:
    program = compile_policy(default_policy([family]))
    assert 0 < len(program) <= 4096


@pytest.mark.parametrize("arch_name", ["x86_64", "i386", "x32"])
def test_administration_and_attack_surface_are_eperm(x86: Policy, arch_name: str) -> None:
    arch = get_arch(arch_name)
    for name in DENIED:
        nr = number(arch, name)
        if nr is not None:
            decision = x86.decide(arch, nr)
            assert decision.action == EPERM, (arch_name, name)
            assert decision.rule_index is not None, (arch_name, name)  # denied by name


@pytest.mark.parametrize("arch_name", ["x86_64", "i386", "x32"])
def test_everyday_and_newer_calls_are_allowed(x86: Policy, arch_name: str) -> None:
    arch = get_arch(arch_name)
    missing = []
    for name in EVERYDAY + NEWER:
        nr = number(arch, name)
        if nr is not None and x86.evaluate(arch, nr) != ALLOW:
            missing.append(name)
    assert missing == []


def test_unknown_numbers_get_enosys(x86: Policy) -> None:
    for arch_name, nr in (("x86_64", 1000), ("i386", 1000), ("x32", 0x40000000 | 1000)):
        assert x86.evaluate(arch_name, nr) == ENOSYS


def test_clone_without_namespaces(x86: Policy) -> None:
    for arch_name in ("x86_64", "i386", "x32"):
        clone = number(get_arch(arch_name), "clone")
        assert clone is not None
        for flags in (PTHREAD_FLAGS, FORK_FLAGS, CLONE_VM | SIGCHLD):
            assert x86.evaluate(arch_name, clone, (flags,)) == ALLOW
        for flag in (CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID):
            assert x86.evaluate(arch_name, clone, (FORK_FLAGS | flag,)) == EPERM
        clone3 = number(get_arch(arch_name), "clone3")
        assert clone3 is not None and x86.evaluate(arch_name, clone3) == ENOSYS


def test_clone_flags_are_the_second_argument_on_s390() -> None:
    policy = default_policy(["s390x+compat"])
    clone = number(get_arch("s390x"), "clone")
    assert clone is not None
    assert policy.evaluate("s390x", clone, (0x7FFF0000, FORK_FLAGS)) == ALLOW
    assert policy.evaluate("s390x", clone, (0, FORK_FLAGS | CLONE_NEWUSER)) == EPERM
    with pytest.raises(PolicyError, match="give architectures of one kind"):
        default_policy(["s390x", "x86_64"])


def test_personality_values(x86: Policy) -> None:
    nr = number(get_arch("x86_64"), "personality")
    assert nr is not None
    for value in (PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, 0xFFFFFFFF, 2**64 - 1):
        assert x86.evaluate("x86_64", nr, (value,)) == ALLOW, hex(value)
    for value in (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, 1):
        assert x86.evaluate("x86_64", nr, (value,)) == EPERM, hex(value)


def test_socket_families(x86: Policy) -> None:
    nr = number(get_arch("x86_64"), "socket")
    assert nr is not None
    for family in (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK):
        assert x86.evaluate("x86_64", nr, (family, 1, 0)) == ALLOW
    for family in (AF_ALG, AF_VSOCK):
        assert x86.evaluate("x86_64", nr, (family, 1, 0)) == EPERM
    # i386: socket() through socketcall(SYS_SOCKET=1, args) cannot be checked (the family is
    # in memory), so it fails closed, and so does socketcall as a whole (the direct calls do
    # its work where the rules can check them).
    socketcall = number(get_arch("i386"), "socketcall")
    assert socketcall is not None
    assert x86.evaluate("i386", socketcall, (SYS_SOCKET, 0)) == EPERM
    assert x86.evaluate("i386", socketcall, (SYS_CONNECT, 0)) == EPERM
    i386_socket = number(get_arch("i386"), "socket")
    assert i386_socket is not None
    assert x86.evaluate("i386", i386_socket, (AF_INET, 1, 0)) == ALLOW
    assert x86.evaluate("i386", i386_socket, (AF_VSOCK, 1, 0)) == EPERM


def _i386_sockets_under(program: Program) -> list[tuple[str, int, bool, int]]:
    """In a 64-bit child under ``program``: socket(family) the i386 way, directly and
    through socketcall(SYS_SOCKET, args) with the arguments in memory below 4 GiB."""
    import ctypes
    import mmap

    from seccomp_bpf.kernel import set_mode_filter, set_no_new_privs
    from seccomp_bpf.kernel.compat import i386_syscall

    map_32bit = 0x40  # <asm/mman.h> (x86): MAP_32BIT, so that an i386 pointer reaches it
    memory = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | map_32bit)
    words = (ctypes.c_uint32 * 3).from_buffer(memory)
    address = ctypes.addressof(words)
    assert address < 1 << 32
    set_no_new_privs()
    set_mode_filter(program)
    i386 = get_arch("i386")
    results = []
    for family in (AF_UNIX, AF_VSOCK, AF_ALG):
        words[0], words[1], words[2] = family, 1, 0  # SOCK_STREAM
        for how, result in (
            ("socket", i386_syscall(i386.syscalls["socket"], family, 1, 0)),
            ("socketcall", i386_syscall(i386.syscalls["socketcall"], SYS_SOCKET, address)),
        ):
            if not result.failed:
                os.close(result.value)
            results.append((how, family, result.failed, result.errno if result.failed else 0))
    del words
    return results


@pytest.mark.kernel
@pytest.mark.skipif(syscall_abi() != "x86_64", reason="needs a 64-bit x86-64 process")
def test_vsock_and_alg_are_denied_through_int80_and_socketcall(x86: Policy) -> None:
    """Any 64-bit process can make i386 calls (int 0x80): the family rule must hold there,
    through socketcall(SYS_SOCKET) too, or it holds for nobody."""
    if not has_i386_emulation():
        pytest.skip("this kernel runs no i386 calls")
    results = run_in_child(_i386_sockets_under, compile_policy(x86))
    for how, family, failed, error in results:
        if family == AF_UNIX:
            expected = (how == "socketcall", errno.EPERM if how == "socketcall" else 0)
        else:
            expected = (True, errno.EPERM)
        assert (failed, error) == expected, (how, family)


def test_terminal_injection_ioctls_are_denied(x86: Policy) -> None:
    nr = number(get_arch("x86_64"), "ioctl")
    assert nr is not None
    for request in (TIOCSTI, TIOCLINUX, (1 << 32) | TIOCSTI):
        assert x86.evaluate("x86_64", nr, (0, request, 0)) == EPERM
    for request in (TCGETS, FIONREAD):
        assert x86.evaluate("x86_64", nr, (0, request, 0)) == ALLOW


def test_arm_family() -> None:
    policy = default_policy(["aarch64+compat"])
    for arch in policy.resolved_arches():
        for name, expected in (("mount", EPERM), ("openat", ALLOW), ("set_tls", ALLOW),
                               ("cacheflush", ALLOW), ("unshare", EPERM)):  # fmt: skip
            nr = number(arch, name)
            if nr is not None:
                assert policy.evaluate(arch, nr) == expected, (arch.name, name)


# Where the default deliberately parts from what Docker allows without conditions on x86-64
# (kernels of today, no capabilities): a command shares the host's PID namespace, so no
# ptrace and no reaching into other processes; no tuning the clock; no old CPU modes.
DIFFERENCES_FROM_DOCKER = {
    "adjtimex", "clock_adjtime", "modify_ldt", "process_vm_readv", "process_vm_writev", "ptrace",
}  # fmt: skip


def _applies_on_x86_64_without_capabilities(entry: dict[str, object]) -> bool:
    includes = entry.get("includes") or {}
    assert isinstance(includes, dict)
    if entry.get("args") or entry.get("excludes") or set(includes) - {"minKernel", "arches"}:
        return False
    arches = includes.get("arches")
    return arches is None or "amd64" in arches


def test_in_the_spirit_of_dockers_default() -> None:
    profile = json.loads(DOCKER_DEFAULT.read_text(encoding="utf-8"))
    allowed_by_docker = {
        name
        for entry in profile["syscalls"]
        if entry["action"] == "SCMP_ACT_ALLOW" and _applies_on_x86_64_without_capabilities(entry)
        for name in entry["names"]
    }
    policy = default_policy(["x86_64"])
    arch = get_arch("x86_64")
    differing = set()
    for name in allowed_by_docker:
        nr = number(arch, name)
        if nr is not None and policy.evaluate(arch, nr) != ALLOW:
            differing.add(name)
    assert differing == DIFFERENCES_FROM_DOCKER
    assert {"arch_prctl", "read", "clock_gettime"} <= allowed_by_docker  # the reading is sane
