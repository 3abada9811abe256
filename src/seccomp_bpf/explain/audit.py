"""Audit a policy or a program: its weaknesses, each with a stable id, a severity and a sentence.

:func:`audit` takes a :class:`~seccomp_bpf.policy.Policy` or a
:class:`~seccomp_bpf.bpf.instruction.Program` and returns an :class:`AuditReport`;
:func:`format_text`, :func:`format_json` and :func:`format_sarif` print it. A policy is
audited on the model's exact semantics (DESIGN §3): the rules naming a system call are tried
in order, and a question such as "is ptrace allowed for some arguments?" is answered by
deciding whether the region of argument values where an allowing rule is the first to match
is empty (the argument conditions are solved exactly by the condition engine, see
:func:`~seccomp_bpf.policy.semantics.satisfiable`).
A program is audited in two ways: checks that only a program can fail (no architecture check,
arguments compared on one word) run on its instructions, and the policy checks run on the
policy :func:`seccomp_bpf.explain.decompile` recovers from it.

The checks, with the severity each finding gets (a range where it depends on the case)::

    SB001 no-arch-check            high     a program decides on the number without
                                            having checked seccomp_data.arch on that path
    SB002 foreign-abi-allowed      critical/high, info
                                            another ABI that reaches the same kernel (arm on
                                            arm64, o32 on mips64, x86_64 from an i386
                                            process...) gets through what this one denies
    SB003 x32-allowed              critical/high  x32 numbers get through what x86-64 denies
    SB004 i386-allowed             critical/high  i386 calls (int 0x80) get through what
                                            x86-64 denies
    SB005 permissive-default       high/medium    the default action allows: high when nothing
                                            at all is denied, medium for a denylist
    SB006 dangerous-syscall        critical..info a call from DANGEROUS_SYSCALLS is allowed;
                                            one level lower when only some arguments are
    SB007 equivalent-syscall-gap   medium   a call is denied (or restricted by argument)
                                            while another that does the same is allowed
                                            for every argument
    SB008 low-half-comparison      medium   a 64-bit argument (pointer, size, offset) is
                                            compared (ordered or equal) on its low 32 bits
                                            only; a mask test of the low bits is fine
    SB009 ignored-high-half        medium   a 32-bit argument (int) is compared on 64 bits,
                                            and setting the upper half, which the kernel
                                            ignores, turns a denied call into an allowed one
    SB010 multiplexer-bypass       medium/low     socketcall(2) or ipc(2) allows what the
                                            direct call denies for some arguments
    SB011 unknown-syscall-action   medium/low     numbers unknown to the tables get something
                                            other than ENOSYS (or are allowed)
    SB012 fallback-blocked         low      a newer call is denied with an error other than
                                            ENOSYS while the older one it replaces is allowed:
                                            the C library will not fall back
    SB013 unreachable-rule         medium..info   an entry of a rule can never decide, an
                                            earlier rule matching every call it would

Severities: **critical** — the filter is bypassed outright, or kernel code can be loaded;
**high** — a known bypass of part of the filter, or a call with a record of privilege
escalation; **medium** — a weakness that needs a particular argument, privilege or kernel
configuration; **low** — hardening and robustness; **info** — worth knowing, not a weakness.

What is exact and what is approximated:

- Policy checks are exact, except where a condition is too large to decide within a budget
  (then the question is skipped and a note says so). SB009 tries a finite set of upper
  halves (those of the constants compared, each +-1, and 0 and 0xffffffff), which is exact
  for ordered and equality comparisons and approximate for masks with bits in the upper half.
- SB001 and the program side of SB008 analyse every path of the program, with the argument
  words loaded, the architecture value and the interval of the system call number each path
  has established; a program whose paths exceed a budget is reported in a note.
- SB002/SB003/SB004 on programs run the program (the emulator) on every system call of both
  ABIs with the same three argument vectors (all 0, all 1, all 0xffffffff); a name is reported
  when one vector is denied on the ABI the program is written for and allowed on the other.
  Policies are decided exactly.
- On programs, SB005 and SB011 look at what the program does with a number no table knows
  (the decompiled policy's default action is a matter of presentation), and a denial counts
  as deliberate for SB007/SB010 when it differs from that.
- SB013 is decided exactly on conditions (a rule is unreachable for a call when the union of
  the conditions of the earlier rules for that call covers its own). Entries mirrored onto
  socketcall/ipc whose conditions were dropped are left to SB010.
- Argument kinds (:data:`ARGUMENT_KINDS`) are given for common system calls only; other
  calls' arguments are not checked by SB008/SB009.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Final, Literal, NamedTuple

from seccomp_bpf.arch import (
    Arch,
    all_arches,
    dispatched_arch,
    dispatched_arches,
    get_arch,
    native_arch,
)
from seccomp_bpf.arch.constants import resolve_constant
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.bpf.walker import ENDED, Ended, ForwardWalk, Machine, alu_result
from seccomp_bpf.errors import SeccompBPFError, TooComplexError
from seccomp_bpf.explain.decompiler import decompile
from seccomp_bpf.policy.actions import Action, ActionKind
from seccomp_bpf.policy.conditions import (
    TRUE,
    All,
    Any,
    Cmp,
    Comparison,
    Condition,
    Equal,
    MaskedEqual,
    Not,
    comparisons,
)
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import ResolvedRule, mirror_condition
from seccomp_bpf.policy.rules import SourceLocation
from seccomp_bpf.policy.semantics import satisfiable
from seccomp_bpf.policy.semantics import with_upper_half as _with_high_half
from seccomp_bpf.policy.values import MASK32, Within

__all__ = [
    "ARGUMENT_KINDS",
    "CHECKS",
    "DANGEROUS_SYSCALLS",
    "EQUIVALENT_SYSCALLS",
    "FALLBACKS",
    "AuditReport",
    "Check",
    "DangerousSyscall",
    "Finding",
    "Severity",
    "abis_reaching",
    "argument_kind",
    "audit",
    "audit_policy",
    "audit_program",
    "format_json",
    "format_sarif",
    "format_text",
    "satisfiable",
    "to_sarif",
]


# --- severities, checks and findings ---------------------------------------------------------


class Severity(enum.IntEnum):
    """How bad a finding is; ordered, so ``finding.severity >= Severity.HIGH`` works."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """``info``, ``low``, ``medium``, ``high`` or ``critical``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None

    def lowered(self) -> Severity:
        """One level lower, but never below LOW (INFO stays INFO)."""
        if self <= Severity.LOW:
            return self
        return Severity(self - 1)


@dataclass(frozen=True, slots=True)
class Check:
    """One kind of weakness: a stable id (``SB006``), a name, and what it means."""

    id: str
    name: str
    summary: str
    description: str


CHECKS: Final[dict[str, Check]] = {
    check.id: check
    for check in (
        Check(
            "SB001",
            "no-arch-check",
            "The filter decides on the system call number without checking the architecture.",
            "System call numbers mean different calls on different ABIs; a filter that does "
            "not compare seccomp_data.arch before the number judges, for example, an i386 "
            "call made with int 0x80 as if it were the x86-64 call with that number.",
        ),
        Check(
            "SB002",
            "foreign-abi-allowed",
            "Calls of another ABI the kernel also runs get through what this ABI denies.",
            "A kernel runs the calls of its compat ABIs too (arm on arm64, o32 and n32 on "
            "mips64, ppc on ppc64, s390 on s390x; a 32-bit process can make 64-bit calls). "
            "The policy must list them or refuse them with bad_arch_action.",
        ),
        Check(
            "SB003",
            "x32-allowed",
            "x32 system calls get through what x86-64 denies.",
            "x32 calls arrive with AUDIT_ARCH_X86_64 and bit 30 set in the number; a filter "
            "for x86-64 must refuse numbers with that bit unless it means to allow x32.",
        ),
        Check(
            "SB004",
            "i386-allowed",
            "i386 system calls get through what x86-64 denies.",
            "Any x86-64 process can make i386 system calls (int 0x80), which arrive with "
            "AUDIT_ARCH_I386 and the i386 numbers; the policy must list i386 or refuse it.",
        ),
        Check(
            "SB005",
            "permissive-default",
            "The default action allows the call.",
            "A denylist lets through every call it does not name, including calls added to "
            "the kernel later; an allowlist (default errno or kill) does not.",
        ),
        Check(
            "SB006",
            "dangerous-syscall",
            "A system call that gives a process power over the kernel or other processes is "
            "allowed.",
            "See DANGEROUS_SYSCALLS in seccomp_bpf.explain.audit for each call and why.",
        ),
        Check(
            "SB007",
            "equivalent-syscall-gap",
            "A system call is denied while another that does the same is allowed.",
            "open/openat/openat2, fork/vfork/clone/clone3, execve/execveat, dup2/dup3, "
            "the stat, rename, link, chmod and chown families and others overlap: denying "
            "one while allowing a call that can do the same for every argument achieves "
            "nothing.",
        ),
        Check(
            "SB008",
            "low-half-comparison",
            "A 64-bit argument is compared on its low 32 bits only.",
            "Pointers, sizes, offsets and longs are 64 bits wide on 64-bit ABIs; a comparison "
            "of the low half lets any value of the upper half through.",
        ),
        Check(
            "SB009",
            "ignored-high-half",
            "A 32-bit argument is compared on 64 bits, and its upper half changes the decision.",
            "The kernel reads an int argument from the low 32 bits of the register, while "
            "seccomp sees all 64: setting the upper half turns a denied call into an allowed "
            "one the kernel runs with the denied value (Flatpak's TIOCSTI filter, "
            "CVE-2019-10063). Compare such arguments with width 32.",
        ),
        Check(
            "SB010",
            "multiplexer-bypass",
            "socketcall or ipc allows what the direct system call denies.",
            "On ABIs with socketcall(2)/ipc(2), the socket and SysV IPC calls also arrive "
            "through the multiplexer, whose arguments are in memory that seccomp cannot read.",
        ),
        Check(
            "SB011",
            "unknown-syscall-action",
            "System calls unknown to the tables do not fail with ENOSYS.",
            "C libraries try a new system call and fall back to an older one when it fails "
            "with ENOSYS (glibc's clone3 -> clone); EPERM or a kill breaks them on newer "
            "kernels. Set unknown_syscall_action: errno(ENOSYS).",
        ),
        Check(
            "SB012",
            "fallback-blocked",
            "A newer system call is denied with an error other than ENOSYS while the older "
            "one it replaces is allowed.",
            "glibc falls back from clone3 to clone, faccessat2 to faccessat, statx to fstatat "
            "and from the 64-bit-time calls of 32-bit ABIs to the old ones only on ENOSYS.",
        ),
        Check(
            "SB013",
            "unreachable-rule",
            "A rule can never decide a call: the rules before it match every call it would.",
            "Rules are tried in order; a rule whose condition is covered by earlier rules for "
            "the same call never applies, so what it says is not what happens.",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One weakness: which check, how bad, a sentence, and where.

    ``arches`` are the ABIs it was found on; ``syscall`` the system call it is about;
    ``rule`` the index in ``policy.rules`` of the rule it points at and ``location`` where
    that rule was written, when known.
    """

    check: str
    severity: Severity
    message: str
    arches: tuple[str, ...] = ()
    syscall: str | None = None
    rule: int | None = None
    location: SourceLocation | None = None

    @property
    def name(self) -> str:
        return CHECKS[self.check].name

    def describe(self) -> str:
        """``high SB006 dangerous-syscall: ptrace is allowed ... [x86_64, i386]``."""
        arches = f" [{', '.join(self.arches)}]" if self.arches else ""
        return f"{self.severity.label} {self.check} {self.name}: {self.message}{arches}"


Subject = Literal["policy", "program"]


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The findings of one audit, worst first, and notes on what could not be decided."""

    subject: Subject
    source: str | None
    arches: tuple[str, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    def at_least(self, severity: Severity) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity >= severity)

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    def counts(self) -> dict[Severity, int]:
        """Findings per severity, every severity present (worst first)."""
        counts = {severity: 0 for severity in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts


# --- tables ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DangerousSyscall:
    """A call that should not be allowed without a reason: its severity and why."""

    name: str
    severity: Severity
    reason: str


_DANGEROUS: Final = (
    (Severity.CRITICAL, "loads code into the kernel", "init_module finit_module"),
    (Severity.CRITICAL, "replaces the running kernel", "kexec_load kexec_file_load"),
    (Severity.HIGH, "reads and writes the memory and registers of other processes", "ptrace"),
    (
        Severity.HIGH,
        "reads or writes the memory of other processes",
        "process_vm_readv process_vm_writev",
    ),
    (
        Severity.HIGH,
        "loads eBPF programs into the kernel, a frequent source of kernel exploits",
        "bpf",
    ),
    (
        Severity.HIGH,
        "submits operations that the kernel runs without passing them through seccomp",
        "io_uring_setup io_uring_enter io_uring_register",
    ),
    (
        Severity.HIGH,
        "lets a process stall the kernel on a page fault, a common exploit primitive",
        "userfaultfd",
    ),
    (Severity.HIGH, "exposes a large kernel attack surface and side channels", "perf_event_open"),
    (
        Severity.HIGH,
        "opens any file of a mounted file system by its handle, escaping chroots and mount "
        "namespaces",
        "open_by_handle_at",
    ),
    (
        Severity.HIGH,
        "changes the mount table, which can expose or hide any file",
        "mount umount umount2 move_mount fsopen fsconfig fsmount fspick open_tree "
        "open_tree_attr mount_setattr pivot_root",
    ),
    (Severity.HIGH, "gives direct access to I/O ports", "iopl ioperm"),
    (Severity.MEDIUM, "unloads kernel modules", "delete_module"),
    (Severity.MEDIUM, "reboots or halts the machine", "reboot"),
    (Severity.MEDIUM, "turns swap devices on and off", "swapon swapoff"),
    (
        Severity.MEDIUM,
        "reaches the kernel keyrings, which are not namespaced",
        "keyctl add_key request_key",
    ),
    (Severity.MEDIUM, "joins the namespaces of another process", "setns"),
    (Severity.MEDIUM, "copies file descriptors out of other processes", "pidfd_getfd"),
    (
        Severity.LOW,
        "sets the system clock",
        "settimeofday stime clock_settime clock_settime64 adjtimex clock_adjtime clock_adjtime64",
    ),
    (
        Severity.LOW,
        "switches to old CPU modes or edits segment tables, rarely needed and a source of "
        "kernel bugs",
        "modify_ldt vm86 vm86old",
    ),
    (Severity.LOW, "compares kernel objects of other processes", "kcmp"),
    (Severity.LOW, "reads the kernel log, which can hold kernel addresses", "syslog"),
    (Severity.LOW, "writes process accounting records to a file", "acct"),
    (Severity.LOW, "changes disk quotas", "quotactl quotactl_fd"),
    (
        Severity.LOW,
        "belongs to an old profiling interface that needs privileges",
        "lookup_dcookie",
    ),
    (Severity.LOW, "loads a shared library the a.out way", "uselib"),
    (
        Severity.INFO,
        "turns a path into a file handle, which open_by_handle_at can open later",
        "name_to_handle_at",
    ),
)
DANGEROUS_SYSCALLS: Final[dict[str, DangerousSyscall]] = {
    name: DangerousSyscall(name, severity, reason)
    for severity, reason, names in _DANGEROUS
    for name in names.split()
}
"""Calls whose being allowed is a finding (SB006), with the severity when allowed for every
argument. ``unshare``, ``clone``, ``clone3`` (namespaces) and ``personality`` (execution
domains) are judged on their arguments; see :func:`_check_argument_dependent_calls`."""

# <linux/sched.h>: the namespace flags. CLONE_NEWTIME (0x80) only exists for unshare and
# clone3: in clone's flags that bit is part of the exit signal (CSIGNAL, 0xff).
_NAMESPACE_FLAGS: Final = (
    "CLONE_NEWNS",
    "CLONE_NEWCGROUP",
    "CLONE_NEWUTS",
    "CLONE_NEWIPC",
    "CLONE_NEWUSER",
    "CLONE_NEWPID",
    "CLONE_NEWNET",
)


def _constant(name: str) -> int:
    value = resolve_constant(name)
    assert value is not None, name
    return value


_CLONE_NAMESPACES: Final = sum(_constant(name) for name in _NAMESPACE_FLAGS)
_UNSHARE_NAMESPACES: Final = _CLONE_NAMESPACES | _constant("CLONE_NEWTIME")
_CLONE_NEWUSER: Final = _constant("CLONE_NEWUSER")
# arch/s390/Kconfig selects CLONE_BACKWARDS2: clone(newsp, flags, ...) (kernel/fork.c).
_CLONE_FLAGS_SECOND: Final = frozenset({"s390", "s390x"})

# personality(2): the execution domains ordinary programs ask for, as Docker's default profile
# allows them: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff, which
# only reads the current value. The others turn on READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE...
_ORDINARY_PERSONALITIES: Final = frozenset({0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF})


_EQUIVALENTS: Final = (
    # (what the calls do, members from the least to the most capable, ranks split by "|")
    ("open files", "creat | open | openat | openat2"),
    ("create processes", "fork vfork | clone | clone3"),
    ("run programs", "execve | execveat"),
    ("duplicate descriptors onto a number", "dup2 | dup3"),
    ("map memory", "mmap mmap2"),
    (
        "read file status",
        "stat lstat stat64 lstat64 oldstat oldlstat newfstatat fstatat64 statx",
    ),
    ("rename files", "rename | renameat | renameat2"),
    ("make hard links", "link | linkat"),
    ("make symbolic links", "symlink | symlinkat"),
    ("remove files", "unlink rmdir | unlinkat"),
    ("make directories", "mkdir | mkdirat"),
    ("make device nodes", "mknod | mknodat"),
    ("change file modes", "chmod | fchmodat | fchmodat2"),
    ("change file owners", "chown lchown chown32 lchown32 | fchownat"),
    ("check file access", "access | faccessat | faccessat2"),
    ("read symbolic links", "readlink | readlinkat"),
    ("set file times", "utime utimes futimesat | utimensat utimensat_time64"),
    ("access the memory of other processes", "ptrace process_vm_readv process_vm_writev"),
    ("load kernel modules", "init_module finit_module"),
    ("load a new kernel", "kexec_load kexec_file_load"),
    ("mount file systems", "mount move_mount fsmount open_tree"),
    ("unmount file systems", "umount | umount2"),
    ("read the time", "time | gettimeofday | clock_gettime clock_gettime64"),
    (
        "set the time",
        "stime | settimeofday | clock_settime clock_settime64 adjtimex clock_adjtime "
        "clock_adjtime64",
    ),
    ("make pipes", "pipe | pipe2"),
    ("accept connections", "accept | accept4"),
    (
        "send signals",
        "kill tkill tgkill pidfd_send_signal rt_sigqueueinfo rt_tgsigqueueinfo",
    ),
    ("change user ids", "setuid setuid32 setreuid setreuid32 setresuid setresuid32"),
    ("change group ids", "setgid setgid32 setregid setregid32 setresgid setresgid32"),
    ("set resource limits", "setrlimit prlimit64"),
)
EQUIVALENT_SYSCALLS: Final[tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]] = tuple(
    (purpose, tuple(tuple(rank.split()) for rank in members.split("|")))
    for purpose, members in _EQUIVALENTS
)
"""Groups of calls that overlap (SB007): within a group, a call ranks at least as high as
every call whose work it can do, so a denial of a lower-ranked call is pointless when a call
of equal or higher rank is allowed for every argument."""

FALLBACKS: Final[tuple[tuple[str, str], ...]] = (
    ("clone3", "clone"),
    ("faccessat2", "faccessat"),
    ("fchmodat2", "fchmodat"),
    ("statx", "fstatat64"),
    ("clock_gettime64", "clock_gettime"),
    ("clock_settime64", "clock_settime"),
    ("clock_getres_time64", "clock_getres"),
    ("clock_nanosleep_time64", "clock_nanosleep"),
    ("futex_time64", "futex"),
    ("ppoll_time64", "ppoll"),
    ("pselect6_time64", "pselect6"),
    ("recvmmsg_time64", "recvmmsg"),
    ("semtimedop_time64", "semtimedop"),
    ("utimensat_time64", "utimensat"),
    ("timerfd_settime64", "timerfd_settime"),
    ("timerfd_gettime64", "timerfd_gettime"),
    ("timer_settime64", "timer_settime"),
    ("timer_gettime64", "timer_gettime"),
    ("rt_sigtimedwait_time64", "rt_sigtimedwait"),
    ("mq_timedsend_time64", "mq_timedsend"),
    ("mq_timedreceive_time64", "mq_timedreceive"),
    ("sched_rr_get_interval_time64", "sched_rr_get_interval"),
    ("io_pgetevents_time64", "io_pgetevents"),
)
"""``(newer, older)``: glibc tries the newer call and uses the older one only when it fails
with ENOSYS: clone3 (2.34, for threads and posix_spawn), faccessat2 (2.33), fchmodat2 (2.39,
lchmod), statx (fstatat on 32-bit ABIs, 2.33) and the ``*_time64`` calls of 32-bit ABIs (2.32)
when built for kernels older than 5.1."""

ARGUMENT_KINDS: Final[dict[str, str]] = {
    # One letter per argument, in the order of the kernel's SYSCALL_DEFINE (include/linux/
    # syscalls.h), as 64-bit ABIs pass them:
    #   W  the kernel uses all 64 bits: pointers, size_t, off_t, long, unsigned long
    #   I  the kernel uses the low 32 bits only: int, unsigned int, pid_t, uid_t, umode_t,
    #      and unsigned long parameters it narrows (mmap's fd; clone's flags go through
    #      lower_32_bits() in kernel/fork.c; mmap's prot and flags have no bit above 31)
    #   -  not judged: the kernel refuses unknown bits (EINVAL), or the meaning is unclear
    "read": "IWW", "write": "IWW", "readv": "IWW", "writev": "IWW",
    "pread64": "IWWW", "pwrite64": "IWWW", "preadv": "IWWW-", "pwritev": "IWWW-",
    "preadv2": "IWWW-I", "pwritev2": "IWWW-I",
    "open": "WII", "openat": "IWII", "openat2": "IWWW", "creat": "WI",
    "close": "I", "close_range": "III", "dup": "I", "dup2": "II", "dup3": "III",
    "lseek": "IWI", "ioctl": "IIW", "fcntl": "IIW", "flock": "II",
    "mmap": "WWIIIW", "mprotect": "WW-", "pkey_mprotect": "WW-I", "munmap": "WW",
    "mremap": "WWW-W", "madvise": "WWI", "msync": "WW-", "mlock": "WW", "munlock": "WW",
    "mlock2": "WW-", "brk": "W", "mincore": "WWW",
    "execve": "WWW", "execveat": "IWWWI", "exit": "I", "exit_group": "I",
    "wait4": "IWIW", "waitid": "IIWIW", "kill": "II", "tkill": "II", "tgkill": "III",
    "socket": "III", "socketpair": "IIIW", "connect": "IWI", "bind": "IWI",
    "accept": "IWW", "accept4": "IWWI", "listen": "II", "shutdown": "II",
    "sendto": "IWWIWI", "recvfrom": "IWWIWW", "sendmsg": "IWI", "recvmsg": "IWI",
    "sendmmsg": "IWII", "recvmmsg": "IWIIW", "setsockopt": "IIIWI", "getsockopt": "IIIWW",
    "getsockname": "IWW", "getpeername": "IWW",
    "clone": "IWWWW", "unshare": "-", "setns": "II", "prctl": "IWWWW", "arch_prctl": "IW",
    "personality": "I", "ptrace": "-IWW", "futex": "WIIWWI", "getrandom": "WWI",
    "memfd_create": "WI", "pipe2": "WI", "umask": "I",
    "setuid": "I", "setgid": "I", "setreuid": "II", "setregid": "II", "setresuid": "III",
    "setresgid": "III", "setfsuid": "I", "setfsgid": "I",
    "chmod": "WI", "fchmod": "II", "fchmodat": "IWI", "fchmodat2": "IWII",
    "chown": "WII", "lchown": "WII", "fchown": "III", "fchownat": "IWIII",
    "mkdir": "WI", "mkdirat": "IWI", "rmdir": "W", "unlink": "W", "unlinkat": "IWI",
    "rename": "WW", "renameat": "IWIW", "renameat2": "IWIWI", "link": "WW",
    "linkat": "IWIWI", "symlink": "WW", "symlinkat": "WIW", "readlink": "WWI",
    "readlinkat": "IWWI", "access": "WI", "faccessat": "IWI", "faccessat2": "IWII",
    "stat": "WW", "lstat": "WW", "fstat": "IW", "newfstatat": "IWWI", "statx": "IWIIW",
    "truncate": "WW", "ftruncate": "IW", "fallocate": "IIWW", "getdents": "IWI",
    "getdents64": "IWI", "sendfile": "IIWW", "splice": "IWIWWI", "tee": "IIWI",
    "copy_file_range": "IWIWWI", "nanosleep": "WW", "clock_nanosleep": "IIWW",
    "clock_gettime": "IW", "prlimit64": "IIWW", "setrlimit": "IW", "getrlimit": "IW",
    "bpf": "IWI", "perf_event_open": "WIIIW", "umount2": "WI", "kcmp": "IIIWW",
    "process_vm_readv": "IWWWW-", "process_vm_writev": "IWWWW-",
    "epoll_create1": "I", "epoll_ctl": "IIIW", "epoll_wait": "IWII", "epoll_pwait": "IWIIWW",
    "poll": "WII", "ppoll": "WIWWW", "select": "IWWWW", "seccomp": "IIW",
    "io_uring_setup": "IW", "io_uring_enter": "IIIIWW", "userfaultfd": "I",
    "sched_setaffinity": "IIW", "sched_getaffinity": "IIW", "set_tid_address": "W",
    "set_robust_list": "WW", "rseq": "WIII", "sigaltstack": "WW", "rt_sigaction": "IWWW",
    "rt_sigprocmask": "IWWW", "keyctl": "IWWWW", "chdir": "W", "fchdir": "I", "chroot": "W",
    "sync_file_range": "IWWI", "fadvise64": "IWWI", "inotify_add_watch": "IWI",
    "eventfd2": "II", "timerfd_create": "II", "signalfd4": "IWWI", "mknod": "WII",
    "mknodat": "IWII", "utimensat": "IWWI", "name_to_handle_at": "IWWWI",
    "open_by_handle_at": "IWI", "finit_module": "IWI", "init_module": "WWW",
    "pidfd_open": "II", "pidfd_send_signal": "IIWI", "pidfd_getfd": "III",
    "socketcall": "IW", "ipc": "I",
}  # fmt: skip
"""How the kernel reads each argument of common system calls (SB008, SB009), as letters in
argument order; see the comment at the top of the table."""

# Where an ABI's argument order differs from the table's.
_ARGUMENT_KINDS_BY_ARCH: Final[dict[tuple[str, str], str]] = {
    ("s390", "clone"): "WIWWW",
    ("s390x", "clone"): "WIWWW",
    # arch/s390/kernel/syscalls/syscall.tbl: mmap is sys_old_mmap, one pointer to the six.
    ("s390x", "mmap"): "W",
}

# 32-bit ABIs of 64-bit kernels that keep 64-bit registers and share most system call
# implementations with the 64-bit ABI: x32 (arch/x86/entry/syscalls/syscall_64.tbl, the
# "common" entries) and MIPS n32 (arch/mips/kernel/syscalls/syscall_n32.tbl). For them, as for
# 64-bit ABIs, a long argument has an upper half the kernel reads.
_WIDE_32_BIT_ABIS: Final = frozenset({"x32", "mips64n32", "mipsel64n32"})


def _wide_registers(arch: Arch) -> bool:
    return arch.bits == 64 or arch.name in _WIDE_32_BIT_ABIS


def argument_kind(arch: Arch, syscall: str, index: int | None) -> str:
    """``"W"``, ``"I"`` or ``"-"`` (see :data:`ARGUMENT_KINDS`) for argument ``index`` of
    ``syscall`` on ``arch`` (``None``: the instruction pointer); ``"-"`` when unknown or when
    the ABI passes 32-bit registers."""
    if not _wide_registers(arch):
        return "-"
    if index is None:
        return "W"
    kinds = _ARGUMENT_KINDS_BY_ARCH.get((arch.name, syscall), ARGUMENT_KINDS.get(syscall, ""))
    return kinds[index] if index < len(kinds) else "-"


# --- deciding conditions ------------------------------------------------------------------------
# Whether a region of argument space (a condition) holds for some arguments is the condition
# engine's question (:func:`seccomp_bpf.policy.semantics.satisfiable`): exact, within a budget.


def _conjunction(*conditions: Condition | None) -> Condition:
    parts = tuple(c for c in conditions if c is not None)
    return parts[0] if len(parts) == 1 else All(parts)


# --- a policy on one architecture ---------------------------------------------------------------


def _permissive(action: Action) -> bool:
    """The call runs: ALLOW, or LOG (which allows after logging)."""
    return action.kind in (ActionKind.ALLOW, ActionKind.LOG)


def _denial(action: Action) -> bool:
    """The call does not run and nothing else decides: an errno, a signal or a kill.
    TRACE and USER_NOTIF leave the decision to a tracer or a supervisor."""
    return action.kind in (
        ActionKind.ERRNO,
        ActionKind.TRAP,
        ActionKind.KILL_THREAD,
        ActionKind.KILL_PROCESS,
    )


def _enosys(arch: Arch) -> int:
    value = resolve_constant("ENOSYS", arch)
    return value if value is not None else 38  # <asm-generic/errno.h>


def _enosys_text(arch: Arch) -> str:
    """How to write ENOSYS in a policy for ``arch``: by name where the generic number is
    right, as the number where the ABI has its own (89 on MIPS)."""
    number = _enosys(arch)
    return "errno(ENOSYS)" if number == resolve_constant("ENOSYS") else f"errno({number})"


def _describe_on(action: Action, arch: Arch) -> str:
    """``action.describe()``, but an errno whose generic name is wrong on ``arch`` (MIPS,
    PA-RISC, Alpha and SPARC number errnos their own way) as a number with that said."""
    text = action.describe()
    if action.kind is not ActionKind.ERRNO or text == f"errno({action.data})":
        return text
    name = text[len("errno(") : -1]
    if resolve_constant(name, arch) == action.data:
        return text
    return f"errno({action.data}), which is not {name} on {arch.name}"


def _is_enosys(action: Action, arch: Arch) -> bool:
    return action.kind is ActionKind.ERRNO and action.data == _enosys(arch)


class _Outcome(NamedTuple):
    """One action a call can get, and the region of arguments where it gets it."""

    action: Action
    rule_index: int | None
    via: str | None
    region: Condition
    unconditional: bool
    """The region is every argument: no earlier entry has a condition and this one has none."""


class _ArchView:
    """A policy seen from one ABI: for each number, which actions it gets and where."""

    def __init__(self, policy: Policy, arch: Arch, baseline: Action | None = None) -> None:
        self.policy = policy
        self.arch = arch
        self.resolved = policy.resolve(arch)
        self.baseline = baseline
        """For a decompiled policy, what unknown numbers get: an outcome is on purpose when it
        differs. For a written policy (``None``), an outcome is on purpose when a rule gave it."""
        self._outcomes: dict[int, tuple[_Outcome, ...]] = {}
        self._reachable: dict[tuple[int, int, Condition | None], bool] = {}

    def number(self, name: str) -> int | None:
        return self.arch.syscalls.get(name)

    def entries(self, nr: int) -> tuple[ResolvedRule, ...]:
        """The entries for ``nr`` as this ABI's own calls meet them (reported as its own
        AUDIT_ARCH value)."""
        return self.resolved.entries(nr, self.arch.audit_arch)

    def fallback(self, nr: int) -> Action:
        """What a call gets when no rule matches (policy.reference, step 3)."""
        policy = self.policy
        if (
            policy.unknown_syscall_action is not None
            and nr not in self.resolved.known_numbers
            and not self.entries(nr)
        ):
            return policy.unknown_syscall_action
        return policy.default_action

    def outcomes(self, nr: int) -> tuple[_Outcome, ...]:
        """Each entry for ``nr`` and the fallback, with the region where it decides: its own
        condition and none of the earlier ones."""
        cached = self._outcomes.get(nr)
        if cached is not None:
            return cached
        result: list[_Outcome] = []
        earlier: list[Condition] = []
        for entry in self.entries(nr):
            region = _conjunction(entry.condition, *(Not(c) for c in earlier))
            unconditional = not earlier and entry.condition is None
            result.append(
                _Outcome(entry.action, entry.rule_index, entry.via, region, unconditional)
            )
            if entry.condition is None:
                break  # nothing after an unconditional entry is reached
            earlier.append(entry.condition)
        else:
            region = _conjunction(*(Not(c) for c in earlier)) if earlier else TRUE
            result.append(_Outcome(self.fallback(nr), None, None, region, not earlier))
        cached = self._outcomes[nr] = tuple(result)
        return cached

    def reachable(self, nr: int, index: int, extra: Condition | None = None) -> bool:
        """Whether outcome ``index`` of ``nr`` happens for some arguments (within ``extra``)."""
        key = (nr, index, extra)
        known = self._reachable.get(key)
        if known is None:
            outcome = self.outcomes(nr)[index]
            if outcome.unconditional and extra is None:
                known = True
            else:
                known = satisfiable(_conjunction(outcome.region, extra))
            self._reachable[key] = known
        return known

    def first(
        self, nr: int, wanted: Callable[[Action], bool], extra: Condition | None = None
    ) -> _Outcome | None:
        """The first outcome of ``nr`` whose action is ``wanted`` and that happens."""
        for index, outcome in enumerate(self.outcomes(nr)):
            if wanted(outcome.action) and self.reachable(nr, index, extra):
                return outcome
        return None

    def every(self, nr: int, wanted: Callable[[Action], bool]) -> bool:
        """Whether every argument value gets a ``wanted`` action."""
        return self.first(nr, lambda action: not wanted(action)) is None

    def on_purpose(self, outcome: _Outcome) -> bool:
        """Whether the author chose this outcome for this call (see ``baseline``)."""
        if self.baseline is None:
            return outcome.rule_index is not None
        return outcome.action != self.baseline

    def region_of(self, nr: int, wanted: Callable[[Action], bool]) -> Condition:
        """Where ``nr`` gets a ``wanted`` action (a union of regions)."""
        parts = tuple(o.region for o in self.outcomes(nr) if wanted(o.action))
        return parts[0] if len(parts) == 1 else Any(parts)


# --- collecting findings ------------------------------------------------------------------------


class _Sink:
    """Findings as they are found, merged across ABIs; and notes."""

    def __init__(self, policy: Policy | None, *, describe_rules: bool) -> None:
        self.policy = policy
        self.describe_rules = describe_rules
        self._found: dict[tuple[str, Severity, str, str | None, int | None], list[str]] = {}
        self.notes: list[str] = []

    def add(
        self,
        check: str,
        severity: Severity,
        message: str,
        arches: Iterable[Arch | str] = (),
        *,
        syscall: str | None = None,
        rule: int | None = None,
    ) -> None:
        if not self.describe_rules:
            rule = None
        names = self._found.setdefault((check, severity, message, syscall, rule), [])
        for arch in arches:
            name = arch if isinstance(arch, str) else arch.name
            if name not in names:
                names.append(name)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def by(self, outcome: _Outcome) -> str:
        """`` (rule 3)``, `` (the default action)``...: what gave ``outcome``; empty for
        a program, whose decompiled rules the reader never wrote."""
        if not self.describe_rules:
            return ""
        if outcome.rule_index is not None:
            via = f" through {outcome.via}" if outcome.via else ""
            return f" (rule {outcome.rule_index + 1}{via})"
        policy = self.policy
        if policy is not None and outcome.action == policy.default_action:
            return " (the default action)"
        return " (unknown_syscall_action)"

    def findings(self) -> list[Finding]:
        out: list[Finding] = []
        for (check, severity, message, syscall, rule), arches in self._found.items():
            location = None
            if rule is not None and self.policy is not None:
                location = self.policy.rules[rule].location
            out.append(Finding(check, severity, message, tuple(arches), syscall, rule, location))
        # Worst first; then by check; the order of discovery otherwise (sorted() is stable).
        return sorted(out, key=lambda f: (-f.severity, f.check))


def _names_text(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown


@contextmanager
def _undecided(sink: _Sink, what: str) -> Iterator[None]:
    """Skip a question whose conditions are too large to decide, with a note saying so."""
    try:
        yield
    except TooComplexError:
        sink.note(f"{what}: a condition was too large to decide; that question was skipped")


# --- checks on a policy --------------------------------------------------------------------------


def _check_permissive_default(policy: Policy, sink: _Sink) -> None:
    """SB005."""
    default = policy.default_action
    if not _permissive(default):
        return
    unknown = policy.unknown_syscall_action
    denies = any(not _permissive(rule.action) for rule in policy.rules) or (
        unknown is not None and not _permissive(unknown)
    )
    if not denies:
        sink.add(
            "SB005",
            Severity.HIGH,
            f"the default action is {default.describe()} and nothing is denied: "
            "the filter restricts no system call",
        )
        return
    sink.add(
        "SB005",
        Severity.MEDIUM,
        f"the default action is {default.describe()}: every system call the policy does not "
        "deny, including those added to the kernel later, is allowed (a denylist)",
    )


def _check_dangerous(views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB006, for the calls of DANGEROUS_SYSCALLS and the argument-dependent ones."""
    for view in views:
        for name, entry in DANGEROUS_SYSCALLS.items():
            nr = view.number(name)
            if nr is None:
                continue
            with _undecided(sink, f"{view.arch.name}: {name}"):
                allowed = view.first(nr, _permissive)
                if allowed is None:
                    continue
                if view.every(nr, _permissive):
                    severity, how = entry.severity, "for every argument"
                else:
                    severity, how = entry.severity.lowered(), "for some arguments"
                sink.add(
                    "SB006",
                    severity,
                    f"{name} is allowed {how}{sink.by(allowed)}: it {entry.reason}",
                    (view.arch,),
                    syscall=name,
                    rule=allowed.rule_index,
                )
        with _undecided(sink, f"{view.arch.name}: namespaces"):
            _check_namespaces(view, sink)
        with _undecided(sink, f"{view.arch.name}: personality"):
            _check_personality(view, sink)


def _check_namespaces(view: _ArchView, sink: _Sink) -> None:
    """unshare and clone with CLONE_NEW* flags, and clone3, whose flags a filter cannot see."""
    arch = view.arch
    # unshare(unsigned long flags): kernel/fork.c refuses unknown bits with EINVAL, so a call
    # that does something has its upper half clear.
    if view.number("unshare") is not None:
        _namespace_finding(
            view, sink, "unshare", flags=0, also=Cmp(0, "le", MASK32),
            namespaces=_UNSHARE_NAMESPACES, width=64,
        )  # fmt: skip
    # clone: the kernel reads lower_32_bits(clone_flags) (kernel/fork.c).
    if view.number("clone") is not None:
        flags = 1 if arch.name in _CLONE_FLAGS_SECOND else 0
        _namespace_finding(
            view, sink, "clone", flags=flags, also=None, namespaces=_CLONE_NAMESPACES, width=32
        )
    clone3 = view.number("clone3")
    if clone3 is not None:
        allowed = view.first(clone3, _permissive)
        if allowed is not None:
            sink.add(
                "SB006",
                Severity.HIGH,
                f"clone3 is allowed{sink.by(allowed)}: its flags are in memory that seccomp "
                "cannot read, so it creates every kind of namespace, user namespaces included; "
                "errno(ENOSYS) makes C libraries fall back to clone, whose flags a rule can check",
                (arch,),
                syscall="clone3",
                rule=allowed.rule_index,
            )


def _namespace_finding(
    view: _ArchView,
    sink: _Sink,
    name: str,
    *,
    flags: int,
    also: Condition | None,
    namespaces: int,
    width: int,
) -> None:
    nr = view.number(name)
    assert nr is not None
    with_user = _conjunction(Cmp(flags, "bits_set", _CLONE_NEWUSER, width=width), also)
    allowed = view.first(nr, _permissive, with_user)
    if allowed is not None:
        sink.add(
            "SB006",
            Severity.HIGH,
            f"{name} is allowed with CLONE_NEWUSER{sink.by(allowed)}: an unprivileged process "
            "can create user namespaces, and in them every other kind, a large kernel attack "
            "surface",
            (view.arch,),
            syscall=name,
            rule=allowed.rule_index,
        )
        return
    with_any = _conjunction(Not(Cmp(flags, "bits_clear", namespaces, width=width)), also)
    allowed = view.first(nr, _permissive, with_any)
    if allowed is not None:
        sink.add(
            "SB006",
            Severity.MEDIUM,
            f"{name} is allowed with namespace flags (CLONE_NEWNS, CLONE_NEWNET...)"
            f"{sink.by(allowed)}: a process with CAP_SYS_ADMIN can create namespaces",
            (view.arch,),
            syscall=name,
            rule=allowed.rule_index,
        )


def _check_personality(view: _ArchView, sink: _Sink) -> None:
    nr = view.number("personality")
    if nr is None:
        return
    # personality(unsigned int persona): the low 32 bits.
    other = Cmp(0, "not_in", tuple(sorted(_ORDINARY_PERSONALITIES)), width=32)
    allowed = view.first(nr, _permissive, other)
    if allowed is not None:
        sink.add(
            "SB006",
            Severity.LOW,
            f"personality is allowed with unusual execution domains{sink.by(allowed)}: "
            "READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE and others weaken exploit mitigations",
            (view.arch,),
            syscall="personality",
            rule=allowed.rule_index,
        )


def _explicit_denial(view: _ArchView, nr: int) -> _Outcome | None:
    """The first reachable denial of ``nr`` made on purpose (see :meth:`_ArchView.on_purpose`:
    by a rule, not by the default action that an allowlist denies everything else with)."""
    for index, outcome in enumerate(view.outcomes(nr)):
        if (
            view.on_purpose(outcome)
            and _denial(outcome.action)
            and not _is_enosys(outcome.action, view.arch)
            and view.reachable(nr, index)
        ):
            return outcome
    return None


def _refused(arch: Arch) -> Callable[[Action], bool]:
    """Denied, and not with ENOSYS (which asks the caller to use an older call)."""
    return lambda action: _denial(action) and not _is_enosys(action, arch)


def _check_equivalents(views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB007."""
    for view in views:
        arch = view.arch
        for purpose, ranks in EQUIVALENT_SYSCALLS:
            members = [
                (rank, name, nr)
                for rank, names in enumerate(ranks)
                for name in names
                if (nr := view.number(name)) is not None
            ]
            if len(members) < 2:
                continue
            with _undecided(sink, f"{arch.name}: {purpose}"):
                open_for_all = {name for _, name, nr in members if view.every(nr, _permissive)}
                for rank, name, nr in members:
                    others = [
                        other
                        for other_rank, other, _ in members
                        if other != name and other_rank >= rank and other in open_for_all
                    ]
                    if not others:
                        continue
                    what = f"{_names_text(others)}, which can do what it does ({purpose}),"
                    verb = "is" if len(others) == 1 else "are"
                    if view.first(nr, _permissive) is not None:
                        # allowed for some arguments only: its conditions are the choice
                        denial = view.first(nr, _refused(arch))
                        if denial is None:
                            continue
                        message = (
                            f"{name} is allowed only for some arguments{sink.by(denial)} but "
                            f"{what} {verb} allowed for every argument: the conditions on "
                            f"{name} can be sidestepped"
                        )
                    else:
                        denial = _explicit_denial(view, nr)
                        if denial is None or not view.every(nr, _refused(arch)):
                            continue
                        message = (
                            f"{name} is denied{sink.by(denial)} but {what} {verb} allowed "
                            "for every argument"
                        )
                    sink.add(
                        "SB007", Severity.MEDIUM, message, (arch,), syscall=name,
                        rule=denial.rule_index,
                    )  # fmt: skip


def _argument_text(index: int | None) -> str:
    return "the instruction pointer" if index is None else f"argument {index}"


def _low_half_message(name: str, index: int | None, by: str = "") -> str:
    return (
        f"{name}: {_argument_text(index)} is compared on its low 32 bits only{by}, but the "
        "kernel reads all 64: whatever the upper half holds, the call gets the same decision"
    )


def _reads_high_half(cmp: Comparison) -> bool:
    """Whether a 64-bit comparison's truth can change with the upper half alone."""
    return cmp.constraint().reads_upper_half()


def _ordered_or_equal(cmp: Comparison) -> bool:
    """Whether the comparison compares values (not bits under a mask), and can hold."""
    constraint = cmp.constraint()
    return isinstance(constraint, Within) and bool(constraint.intervals)


def _check_argument_widths(views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB008 and SB009."""
    for view in views:
        arch = view.arch
        for nr in view.resolved.rules_by_nr:
            entries = view.entries(nr)
            name = arch.syscall_name(nr)
            if name is None:
                continue
            with _undecided(sink, f"{arch.name}: {name}"):
                if view.first(nr, _permissive) is None or view.first(nr, _denial) is None:
                    continue  # the comparisons decide nothing that matters here
                high_half_read: dict[int, int] = {}
                for entry in entries:
                    if entry.via is not None:
                        continue  # the mirror's own test, on the call number
                    by = f" (rule {entry.rule_index + 1})" if sink.describe_rules else ""
                    for cmp in comparisons(entry.condition):
                        kind = argument_kind(arch, name, cmp.arg)
                        # A 32-bit mask test means what the 64-bit one with that mask does.
                        if kind == "W" and cmp.width == 32 and _ordered_or_equal(cmp):
                            sink.add(
                                "SB008",
                                Severity.MEDIUM,
                                _low_half_message(name, cmp.arg, by),
                                (arch,),
                                syscall=name,
                                rule=entry.rule_index,
                            )
                        elif kind == "I" and cmp.arg is not None and _reads_high_half(cmp):
                            high_half_read.setdefault(cmp.arg, entry.rule_index)
                for index, rule_index in high_half_read.items():
                    if not _high_half_bypass(view, nr, index):
                        continue
                    by = f" (rule {rule_index + 1})" if sink.describe_rules else ""
                    sink.add(
                        "SB009",
                        Severity.MEDIUM,
                        f"{name}: argument {index} is an int the kernel reads from the low 32 "
                        f"bits, but it is compared on all 64{by}: setting the upper half turns "
                        "a denied call into an allowed one",
                        (arch,),
                        syscall=name,
                        rule=rule_index,
                    )


def _high_half_candidates(conditions: Iterable[Condition], index: int) -> list[int]:
    """Upper halves that stand for every class of them the comparisons of ``index`` tell
    apart (see the module docstring on what this covers exactly)."""
    candidates = {0, 1, MASK32 - 1, MASK32}
    for condition in conditions:
        for cmp in comparisons(condition):
            if cmp.arg != index or cmp.width == 32:
                continue
            constraint = cmp.constraint()
            if not isinstance(constraint, Within):
                high_mask, high_pattern = constraint.mask >> 32, constraint.value >> 32
                candidates |= {high_pattern, high_pattern ^ high_mask, high_mask}
                continue
            # the values compared with are among the boundary values
            for v in cmp.boundary_values():
                h = v >> 32
                candidates |= {h, max(h - 1, 0), min(h + 1, MASK32)}
    return sorted(candidates)


def _high_half_bypass(view: _ArchView, nr: int, index: int) -> bool:
    """Whether some call the filter means to deny with an ordinary upper half of argument
    ``index`` is allowed with another. The ordinary upper halves of an int are 0 (zero
    extension) and, for a negative int, 0xffffffff (sign extension); a caller may pass
    either, or any other, and the kernel sees the same low half, so it runs the call the
    filter meant to deny.

    A negative int is meant to be denied when both its ordinary forms are, or when one is
    denied under an upper half with which the filter allows other values: ``eq -1`` on 64
    bits denies the sign-extended -1 among allowed values, and ``kill(0x00000000ffffffff,
    0)`` is the same ``kill(-1, 0)`` to the kernel. An allowlist of zero-extended values
    (Docker's ``personality(0xffffffff)``) allows nothing with the upper half 0xffffffff:
    the sign-extended -1 it denies is no value it means to deny."""
    denied = view.region_of(nr, _denial)
    allowed = view.region_of(nr, _permissive)
    conditions = [o.region for o in view.outcomes(nr)]
    sign_bit = 0x80000000
    negative = Cmp(index, "ge", sign_bit, width=32)
    # (calls meant to be denied, in terms of the low half; their ordinary upper halves)
    ordinary: list[tuple[Condition, tuple[int, ...]]] = [
        # a non-negative int: zero extension only
        (All((_with_high_half(denied, index, 0), Cmp(index, "lt", sign_bit, width=32))), (0,)),
        # a negative int: denied whether zero or sign extended
        (
            All(
                (
                    _with_high_half(denied, index, 0),
                    _with_high_half(denied, index, MASK32),
                    negative,
                )
            ),
            (0, MASK32),
        ),
    ]
    for usual in (0, MASK32):
        # a negative int denied in one ordinary form, where other values are allowed
        if satisfiable(_with_high_half(allowed, index, usual)):
            ordinary.append((All((_with_high_half(denied, index, usual), negative)), (usual,)))
    for base, usual_highs in ordinary:
        for high in _high_half_candidates(conditions, index):
            if high in usual_highs:
                continue
            if satisfiable(All((base, _with_high_half(allowed, index, high)))):
                return True
    return False


def _check_multiplexers(policy: Policy, views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB010."""
    for view in views:
        arch = view.arch
        for multiplexer, calls in (("socketcall", arch.socketcall), ("ipc", arch.ipc)):
            mux = view.number(multiplexer)
            if not calls or mux is None:
                continue
            for name, call in calls.items():
                direct = view.number(name)
                if direct is None:
                    continue
                with _undecided(sink, f"{arch.name}: {multiplexer}({name})"):
                    _multiplexer_finding(
                        policy, view, sink, (name, direct), (multiplexer, mux, call)
                    )


def _multiplexer_finding(
    policy: Policy,
    view: _ArchView,
    sink: _Sink,
    direct_call: tuple[str, int],
    multiplexed: tuple[str, int, int],
) -> None:
    name, direct = direct_call
    multiplexer, mux, call = multiplexed
    denial = view.first(direct, _denial)
    if denial is None:
        return
    allowed_directly = view.first(direct, _permissive) is not None
    if not allowed_directly and _explicit_denial(view, direct) is None:
        return  # never allowed directly, and not denied on purpose either
    allowed = view.first(mux, _permissive, mirror_condition(multiplexer, call))
    if allowed is None:
        return
    # (a program's decompiled policy says nothing of how its author wrote the rules)
    dropped = (
        sink.describe_rules
        and allowed.via == multiplexer
        and _dropped_mirror_index(policy, allowed.rule_index)
    )
    denied = "denied for some arguments" if allowed_directly else "denied"
    reason = (
        f"multiplexer_conditions: {policy.multiplexer_conditions} lets every "
        f"{multiplexer}({name}) through"
        if dropped
        else "its arguments are in memory that the filter cannot read"
    )
    sink.add(
        "SB010",
        Severity.LOW if dropped else Severity.MEDIUM,
        f"{name} is {denied}{sink.by(denial)} but {multiplexer}({name}) is "
        f"allowed{sink.by(allowed)}: {reason}",
        (view.arch,),
        syscall=name,
        rule=allowed.rule_index,
    )


def _unknown_number(view: _ArchView) -> int:
    """A number the ABI's table does not know and no rule names."""
    known = view.resolved.known_numbers
    candidate = max(known, default=view.arch.syscall_nr_base | view.arch.syscall_nr_mask_bit) + 1
    while candidate in known or view.resolved.named(candidate, view.arch.audit_arch):
        candidate += 1
        for first, last, _entry in view.resolved.ranges:
            if first <= candidate <= last:
                candidate = last + 1  # a rule's range: past it at once
    return candidate if candidate <= 0xFFFFFFFF else max(known, default=0) + 1


def _check_unknown_numbers(policy: Policy, views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB011."""
    if _permissive(policy.default_action):
        return  # a denylist: SB005 says it
    for view in views:
        action = view.fallback(_unknown_number(view))
        if _is_enosys(action, view.arch):
            continue
        source = (
            "the default action" if action == policy.default_action else "unknown_syscall_action"
        )
        if _permissive(action):
            sink.add(
                "SB011",
                Severity.MEDIUM,
                f"system call numbers unknown to the tables are allowed ({source}): "
                "calls added to the kernel later get through",
                (view.arch,),
            )
            continue
        sink.add(
            "SB011",
            Severity.LOW,
            f"system call numbers unknown to the tables get {_describe_on(action, view.arch)} "
            f"({source}): C libraries fall back to older calls only on ENOSYS; set "
            f"unknown_syscall_action: {_enosys_text(view.arch)}",
            (view.arch,),
        )


def _check_fallbacks(views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB012."""
    for view in views:
        arch = view.arch
        for newer, older in FALLBACKS:
            new_nr, old_nr = view.number(newer), view.number(older)
            if new_nr is None or old_nr is None:
                continue
            with _undecided(sink, f"{arch.name}: {newer}"):
                if not view.every(new_nr, _refused(arch)):
                    continue
                if view.first(old_nr, _permissive) is None:
                    continue
                denial = view.first(new_nr, _denial)
                assert denial is not None
                sink.add(
                    "SB012",
                    Severity.LOW,
                    f"{newer} is denied with {_describe_on(denial.action, arch)}"
                    f"{sink.by(denial)} while {older} is allowed: C libraries fall back from "
                    f"{newer} to {older} only when it fails with ENOSYS",
                    (arch,),
                    syscall=newer,
                    rule=denial.rule_index,
                )


def _mirrored_name(policy: Policy, arch: Arch, entry: ResolvedRule) -> str:
    """``socketcall(socket)`` for an entry mirrored onto a multiplexer."""
    assert entry.via is not None and isinstance(entry.condition, (Equal, MaskedEqual))
    call = entry.condition.value
    calls: Mapping[str, int] = getattr(arch, entry.via)
    for syscall in policy.rules[entry.rule_index].syscalls:
        if isinstance(syscall, str) and calls.get(syscall) == call:
            return f"{entry.via}({syscall})"
    return f"{entry.via}({call})"


def _dropped_mirror_index(policy: Policy, rule_index: int | None) -> bool:
    """Whether rule ``rule_index`` has conditions that its multiplexer mirrors drop."""
    return (
        rule_index is not None
        and policy.multiplexer_conditions in ("drop", "strict")
        and policy.rules[rule_index].when is not None
    )


def _dropped_mirror(policy: Policy, entry: ResolvedRule) -> bool:
    """An entry mirrored onto a multiplexer without the conditions of its rule."""
    return entry.via is not None and _dropped_mirror_index(policy, entry.rule_index)


_Unreachable = dict[tuple[int, str, Severity, tuple[int, ...]], dict[str, list[str]]]


def _check_unreachable(policy: Policy, views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB013: entries that never decide, grouped by rule."""
    groups: _Unreachable = {}
    for view in views:
        arch = view.arch
        for nr in view.resolved.rules_by_nr:
            entries = view.entries(nr)  # as the ABI's own calls meet them
            for position, entry in enumerate(entries):
                if _dropped_mirror(policy, entry):
                    continue  # its conditions were dropped: SB010's business
                with _undecided(sink, f"{arch.name}: rule {entry.rule_index + 1}"):
                    _collect_unreachable(
                        policy, groups, arch=arch, nr=nr, earlier=entries[:position], entry=entry
                    )
    for (rule_index, kind, severity, shadowing), calls in groups.items():
        names = list(calls)
        if kind == "never":
            why = "its condition can never hold"
        elif len(shadowing) == 1:
            why = f"rule {shadowing[0] + 1} before it matches every call it would"
        else:
            before = ", ".join(str(i + 1) for i in shadowing)
            why = f"rules {before} before it match every call it would"
        arches: list[str] = []
        for names_of in calls.values():
            arches.extend(a for a in names_of if a not in arches)
        sink.add(
            "SB013",
            severity,
            f"rule {rule_index + 1} never decides {_names_text(names)}: {why}",
            arches,
            syscall=names[0] if len(names) == 1 else None,
            rule=rule_index,
        )


def _collect_unreachable(
    policy: Policy,
    groups: _Unreachable,
    *,
    arch: Arch,
    nr: int,
    earlier: Sequence[ResolvedRule],
    entry: ResolvedRule,
) -> None:
    found = _unreachable(entry, earlier)
    if found is None:
        return
    kind, shadowing = found
    if any(_dropped_mirror(policy, e) for e in shadowing):
        return  # covered by a mirror without its conditions: SB010 again
    # Covered by the rule itself (its unconditional socketcall entry covers its own
    # mirrors): the rule decides these calls all the same.
    others = tuple(e for e in shadowing if e.rule_index != entry.rule_index)
    if kind == "covered" and not others:
        return
    severity = _unreachable_severity(entry, kind, others)
    if entry.via is not None:
        label = _mirrored_name(policy, arch, entry)
    else:
        label = arch.syscall_name(nr) or str(nr)
    rules = tuple(sorted({e.rule_index for e in others}))
    groups.setdefault((entry.rule_index, kind, severity, rules), {}).setdefault(label, []).append(
        arch.name
    )


def _unreachable(
    entry: ResolvedRule, earlier: Sequence[ResolvedRule]
) -> tuple[str, tuple[ResolvedRule, ...]] | None:
    """``("never", ())`` when the entry's condition cannot hold, ``("covered", entries)``
    when the earlier entries match every call it would (``entries``: those that match some
    of them), else ``None``."""
    condition = entry.condition
    if condition is not None and not satisfiable(condition):
        return "never", ()
    if not earlier:
        return None
    if all(e.condition is not None for e in earlier):
        rest = _conjunction(condition, *(Not(e.condition) for e in earlier if e.condition))
        if satisfiable(rest):
            return None
    shadowing = tuple(
        e
        for e in earlier
        if e.condition is None or condition is None or satisfiable(All((e.condition, condition)))
    )
    return "covered", shadowing


def _unreachable_severity(
    entry: ResolvedRule, kind: str, shadowing: Sequence[ResolvedRule]
) -> Severity:
    """A denial that never happens is medium; an allow that never happens is info (the
    earlier rules decide: "deny these, then allow the group" is written this way)."""
    if kind == "never":
        return Severity.MEDIUM if _denial(entry.action) else Severity.LOW
    actions = {e.action for e in shadowing}
    if actions <= {entry.action} or _permissive(entry.action):
        return Severity.INFO
    if any(_permissive(a) for a in actions):
        return Severity.MEDIUM
    return Severity.LOW


# --- other ABIs ------------------------------------------------------------------------------


def abis_reaching(arch: Arch) -> tuple[Arch, ...]:
    """The other ABIs whose system calls can reach a process of ABI ``arch``.

    Its kernel's compat ABIs (:attr:`Arch.compat`: i386 and x32 on x86-64, arm on arm64...);
    on MIPS every ABI of the same byte order, because the number picks the table
    (:func:`~seccomp_bpf.arch.dispatched_arches`); and from i386, x86-64 and x32, since a
    32-bit x86 process can switch to 64-bit code on a 64-bit kernel and make those calls.
    """
    names: list[str] = list(arch.compat)
    names.extend(other.name for other in dispatched_arches(arch.audit_arch))
    if arch.name == "i386":
        names.extend(("x86_64", "x32"))
    out: list[Arch] = []
    for name in names:
        other = get_arch(name)
        if other.name != arch.name and other not in out:
            out.append(other)
    return tuple(out)


def _abi_check(abi: Arch) -> tuple[str, str]:
    """The check id for calls of ``abi`` getting through, and how such calls are made."""
    if abi.name == "x32":
        return "SB003", " (numbers with bit 30 set)"
    if abi.name == "i386":
        return "SB004", " (int 0x80)"
    return "SB002", ""


def _dangerous_first(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda name: (name not in DANGEROUS_SYSCALLS, name))


def _check_abis(policy: Policy, views: Sequence[_ArchView], sink: _Sink) -> None:
    """SB002, SB003, SB004 on a policy: ABIs that are not listed get bad_arch_action."""
    bad = policy.bad_arch_action
    if not _permissive(bad):
        return
    listed = [view.arch.name for view in views]
    # other ABI -> (the listed ABIs it reaches, the names one of them denies)
    through: dict[str, tuple[list[str], set[str]]] = {}
    for view in views:
        for other in abis_reaching(view.arch):
            if other.name in listed:
                continue
            reached, denied = through.setdefault(other.name, ([], set()))
            with _undecided(sink, f"{view.arch.name}: calls of {other.name}"):
                names = {
                    name
                    for name, nr in view.arch.syscalls.items()
                    if name in other.syscalls and view.first(nr, _denial) is not None
                }
                if names:
                    reached.append(view.arch.name)
                    denied |= names
    for name, (reached, denied) in through.items():
        if not denied:
            continue
        other = get_arch(name)
        check, how = _abi_check(other)
        sink.add(
            check,
            Severity.CRITICAL,
            f"{other.name} system calls{how} get bad_arch_action {bad.describe()}: every one "
            f"runs, including what {' and '.join(reached)} "
            f"{'denies' if len(reached) == 1 else 'deny'}: "
            f"{_names_text(_dangerous_first(denied))}",
            (other,),
        )
    if not through:
        sink.add(
            "SB002",
            Severity.INFO,
            f"bad_arch_action is {bad.describe()}: harmless where only {', '.join(listed)} "
            "reach the kernel, but every call of any other ABI is allowed",
        )


# --- checks on a program's instructions -----------------------------------------------------------
# A path-sensitive domain of the program walker (seccomp_bpf.bpf.walker.ForwardWalk): the
# instructions in program order, each with the set of path states that reach it. A path's
# state is what A, X and the scratch cells hold (where from), what it has compared, and what
# it knows of the architecture and the system call number.


class _Kind(enum.Enum):
    DATA = "a word of seccomp_data"
    CONST = "a constant"
    OTHER = "anything else"


class _Value(NamedTuple):
    """Where a register's value comes from."""

    kind: _Kind
    value: int
    """The offset in seccomp_data, or the constant."""
    derived: bool = False
    """Changed by arithmetic since it was loaded."""

    def is_data(self, offset: int | None = None) -> bool:
        return self.kind is _Kind.DATA and (offset is None or self.value == offset)

    @property
    def constant(self) -> int | None:
        return self.value if self.kind is _Kind.CONST else None


_UNKNOWN: Final = _Value(_Kind.OTHER, 0)


class _PathState(NamedTuple):
    """What a path has established (the walker's facts; the registers are beside them)."""

    arch_compared: bool
    nr_compared: bool
    audit: int | None
    nr_low: int
    nr_high: int
    words: frozenset[int]
    """Offsets of the argument and instruction-pointer words a jump has compared."""
    ordered: frozenset[int]
    """Those compared as loaded (no arithmetic) by an equality or ordering jump (not JSET)."""


_Machine = Machine[_Value, _PathState]


class _PathEnd(NamedTuple):
    state: _PathState
    ret: int | None
    """The value returned, ``None`` when it is A holding something not constant."""


@dataclass
class _ProgramFlow:
    ends: list[_PathEnd] = field(default_factory=list)
    audits: set[int] = field(default_factory=set)
    """The architecture values the program compares with."""
    reads_arch: bool = False
    complete: bool = True


_PATH_STATE_LIMIT: Final = 100_000


class _FlowDomain:
    """The walker's domain for SB001 and SB008: values are :class:`_Value`, facts
    :class:`_PathState`; the states reaching one instruction are kept apart (once each)."""

    def __init__(self, flow: _ProgramFlow) -> None:
        self.flow = flow

    def constant(self, k: int) -> _Value:
        return _Value(_Kind.CONST, k)

    def load(self, machine: _Machine, offset: int, pc: int) -> _Value:
        return _Value(_Kind.DATA, offset)

    def unknown(self, pc: int) -> _Value:
        return _UNKNOWN

    def ret(self, machine: _Machine, value: _Value, pc: int) -> None:
        self.flow.ends.append(_PathEnd(machine.facts, value.constant))

    def alu(self, machine: _Machine, operation: int, operand: _Value, pc: int) -> _Value | Ended:
        if operation in (op.BPF_DIV, op.BPF_MOD):
            # bpf_convert_filter (net/core/filter.c) returns 0 when X is 0
            if operand.constant in (None, 0):
                self.flow.ends.append(_PathEnd(machine.facts, 0))
            if operand.constant == 0:
                return ENDED
        a = machine.a
        if a.constant is not None and operand.constant is not None:
            folded = alu_result(operation, a.constant, operand.constant)
            return _UNKNOWN if folded is None else _Value(_Kind.CONST, folded)
        if a.is_data():
            return a._replace(derived=True)
        return _UNKNOWN

    def branch(
        self, machine: _Machine, instruction: Instruction, operand: _Value, pc: int
    ) -> tuple[list[_PathState], list[_PathState]]:
        state = machine.facts
        if instruction.jt == instruction.jf:
            return [state], []
        operation = op.bpf_op(instruction.code)
        compared = operand.constant
        a = machine.a
        if a.is_data(op.OFFSET_ARCH) and compared is not None:
            self.flow.audits.add(compared)
        operands = [a, machine.x] if op.bpf_src(instruction.code) == op.BPF_X else [a]
        for value in operands:
            if not value.is_data():
                continue
            if value.value == op.OFFSET_ARCH:
                state = state._replace(arch_compared=True)
            elif value.value == op.OFFSET_NR:
                state = state._replace(nr_compared=True)
            else:
                state = state._replace(words=state.words | {value.value})
                if not value.derived and operation != op.BPF_JSET:
                    state = state._replace(ordered=state.ordered | {value.value})
        taken = _narrow(a, state, operation, compared, True)
        not_taken = _narrow(a, state, operation, compared, False)
        return (
            [taken] if taken is not None else [],
            [not_taken] if not_taken is not None else [],
        )

    def combine(self, machines: list[_Machine]) -> list[_Machine]:
        return list(dict.fromkeys(machines))


def _program_flow(program: Program) -> _ProgramFlow:
    flow = _ProgramFlow()
    instructions = program.instructions
    start: _Machine = Machine.start(
        _Value(_Kind.CONST, 0),
        _PathState(False, False, None, 0, MASK32, frozenset(), frozenset()),
    )
    flow.reads_arch = any(
        ins.code == op.BPF_LD | op.BPF_W | op.BPF_ABS and ins.k == op.OFFSET_ARCH
        for ins in instructions
    )
    walk = ForwardWalk(_FlowDomain(flow), len(instructions), start)
    flow.complete = walk.run(instructions, limit=_PATH_STATE_LIMIT)
    return flow


def _narrow(
    a: _Value, state: _PathState, operation: int, operand: int | None, taken: bool
) -> _PathState | None:
    """The state on one side of a jump, ``None`` when that side cannot happen."""
    if not a.is_data() or a.derived or operand is None:
        return state
    if a.value == op.OFFSET_ARCH and operation == op.BPF_JEQ:
        if taken:
            if state.audit is not None and state.audit != operand:
                return None
            return state._replace(audit=operand)
        return None if state.audit == operand else state
    if a.value != op.OFFSET_NR:
        return state
    low, high = state.nr_low, state.nr_high
    if operation == op.BPF_JEQ:
        if taken:
            low, high = max(low, operand), min(high, operand)
        elif low == high == operand:
            return None
        elif operand == low:
            low += 1
        elif operand == high:
            high -= 1
    elif operation == op.BPF_JGT:
        low, high = (max(low, operand + 1), high) if taken else (low, min(high, operand))
    elif operation == op.BPF_JGE:
        low, high = (max(low, operand), high) if taken else (low, min(high, operand - 1))
    elif low == high and bool(low & operand) != taken:  # JSET on a known number
        return None
    if low > high:
        return None
    return state._replace(nr_low=low, nr_high=high)


_PERMISSIVE_RETURNS: Final = frozenset({op.SECCOMP_RET_ALLOW, op.SECCOMP_RET_LOG})


def _returns_permissive(ret: int | None) -> bool:
    """Whether a return value lets the call run (an unknown A might)."""
    return ret is None or ret & op.SECCOMP_RET_ACTION_FULL in _PERMISSIVE_RETURNS


def _check_arch_check(flow: _ProgramFlow, sink: _Sink) -> None:
    """SB001: a path that compares the number, never the architecture, and lets a call run."""
    unchecked = [
        end
        for end in flow.ends
        if end.state.nr_compared and not end.state.arch_compared and _returns_permissive(end.ret)
    ]
    if not unchecked:
        return
    if not flow.reads_arch:
        message = (
            "the filter never reads seccomp_data.arch: a call of another ABI (i386 through "
            "int 0x80 on x86-64) is judged by its number as if it were a native call"
        )
    else:
        message = (
            "some paths allow calls by their number before checking seccomp_data.arch: the "
            "same number is another call on another ABI (i386 through int 0x80 on x86-64)"
        )
    sink.add("SB001", Severity.HIGH, message)


def _argument_words(arch: Arch, index: int | None) -> tuple[int, int]:
    """Offsets of the low and high words of argument ``index`` (``None``: the instruction
    pointer) in seccomp_data, in ``arch``'s byte order."""
    base = op.OFFSET_IP if index is None else op.offset_of_arg(index)
    return (base, base + 4) if arch.byteorder == "little" else (base + 4, base)


def _check_low_word_loads(flow: _ProgramFlow, default: Arch, sink: _Sink) -> None:
    """SB008 on a program: a path for one known call compares the low word of a 64-bit
    argument and never its high word."""
    for end in flow.ends:
        state = end.state
        if state.nr_low != state.nr_high or not state.words:
            continue
        nr = state.nr_low
        arch = dispatched_arch(state.audit, nr) if state.audit is not None else default
        if arch is None:
            continue
        name = arch.syscall_name(nr)
        if name is None:
            continue
        for index in (*range(6), None):
            low, high = _argument_words(arch, index)
            if (
                low in state.ordered
                and high not in state.words
                and argument_kind(arch, name, index) == "W"
            ):
                sink.add(
                    "SB008", Severity.MEDIUM, _low_half_message(name, index), (arch,), syscall=name
                )


# The same vectors are run on both ABIs of a comparison, so they hold values that a 32-bit
# ABI can pass too (its arguments reach seccomp zero-extended).
_ARGUMENT_VECTORS: Final = ((0,) * 6, (1,) * 6, (MASK32,) * 6)


class _ProgramOracle:
    """What a program does with each call of an ABI, on a few argument vectors."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self._cache: dict[tuple[int, int], tuple[SeccompAction, ...]] = {}

    def actions(self, audit: int, nr: int) -> tuple[SeccompAction, ...]:
        """The action for each of :data:`_ARGUMENT_VECTORS`."""
        key = (audit, nr)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = tuple(
                emulate(self.program, SeccompData(nr, audit, 0, args)).action
                for args in _ARGUMENT_VECTORS
            )
        return cached

    def allowed(self, audit: int, nr: int) -> tuple[bool, ...]:
        return tuple(a in (SeccompAction.ALLOW, SeccompAction.LOG) for a in self.actions(audit, nr))

    def denied(self, audit: int, nr: int) -> tuple[bool, ...]:
        return tuple(
            a not in (SeccompAction.ALLOW, SeccompAction.LOG, SeccompAction.TRACE,
                      SeccompAction.USER_NOTIF)
            for a in self.actions(audit, nr)
        )  # fmt: skip

    @staticmethod
    def audits_of(abi: Arch) -> list[int]:
        """The architecture values under which calls run from ``abi``'s table."""
        return sorted(
            {a.audit_arch for a in all_arches() if abi in dispatched_arches(a.audit_arch)}
        )


def _check_program_abis(program: Program, handled: Sequence[Arch], sink: _Sink) -> None:
    """SB002, SB003, SB004 on a program: run the calls of each ABI that reaches a handled one,
    and report the names a handled ABI denies for arguments that the other allows."""
    oracle = _ProgramOracle(program)
    others: list[Arch] = []
    for arch in handled:
        others.extend(o for o in abis_reaching(arch) if o not in others)
    for other in others:
        audits = _ProgramOracle.audits_of(other)
        allowed: dict[str, list[bool]] = {
            name: [
                any(column)
                for column in zip(*(oracle.allowed(audit, nr) for audit in audits), strict=True)
            ]
            for name, nr in other.syscalls.items()
        }
        reached: list[str] = []
        through: set[str] = set()
        for arch in handled:
            if arch == other or other not in abis_reaching(arch):
                continue
            names = {
                name
                for name, own in arch.syscalls.items()
                if name in allowed
                and any(
                    a and d
                    for a, d in zip(allowed[name], oracle.denied(arch.audit_arch, own), strict=True)
                )
            }
            if names:
                reached.append(arch.name)
                through |= names
        if not through:
            continue
        check, how = _abi_check(other)
        denies = f"{' and '.join(reached)} {'denies' if len(reached) == 1 else 'deny'}"
        listing = _names_text(_dangerous_first(through))
        if all(all(vector) for vector in allowed.values()):
            severity = Severity.CRITICAL
            message = f"every {other.name} system call{how} is allowed, including what {denies}"
        else:
            severity = Severity.HIGH
            message = f"{other.name} system calls{how} get through what {denies}"
        sink.add(check, severity, f"{message}: {listing}", (other,))


def _check_program_unknown_numbers(
    program: Program, flow: _ProgramFlow, arches: Sequence[Arch], sink: _Sink
) -> None:
    """SB005 and SB011 on a program, from what it does with numbers no table knows."""
    if (
        flow.complete
        and flow.ends
        and all(end.ret is not None and _returns_permissive(end.ret) for end in flow.ends)
    ):
        sink.add(
            "SB005",
            Severity.HIGH,
            "every path of the filter allows the call: the filter restricts no system call",
        )
        return
    oracle = _ProgramOracle(program)
    for arch in arches:
        known = arch.syscalls.values()
        if not any(oracle.allowed(arch.audit_arch, n)[0] for n in known):
            continue  # the ABI is refused as a whole
        nr = max(known, default=arch.syscall_nr_base | arch.syscall_nr_mask_bit) + 1
        action = oracle.actions(arch.audit_arch, nr)[0]
        if action in (SeccompAction.ALLOW, SeccompAction.LOG):
            sink.add(
                "SB005",
                Severity.MEDIUM,
                "system call numbers unknown to the tables are allowed: the filter is a "
                "denylist, and calls added to the kernel later get through",
                (arch,),
            )
            continue
        ret = emulate(program, SeccompData(nr, arch.audit_arch)).ret
        if action is SeccompAction.ERRNO and ret & op.SECCOMP_RET_DATA == _enosys(arch):
            continue
        got = _describe_on(Action.from_ret(ret, strict=False), arch)
        sink.add(
            "SB011",
            Severity.LOW,
            f"system call numbers unknown to the tables get {got}: C libraries fall back to "
            f"older calls only on ENOSYS; return {_enosys_text(arch)} for them",
            (arch,),
        )


def _handled_abis(flow: _ProgramFlow, default: Arch, arches: Sequence[Arch] | None) -> list[Arch]:
    """The ABIs a program was written for: those whose architecture value it compares with
    (the first ABI of each value: x86-64 for AUDIT_ARCH_X86_64), or ``default`` when it
    compares none; only ``arches`` when given."""
    compared = {dispatched_arch(audit, 0) for audit in flow.audits}
    out = [arch for arch in all_arches() if arch in compared] or [default]
    if arches is not None:
        out = [arch for arch in out if arch in arches]
    return out


# --- the audit ---------------------------------------------------------------------------------


def _policy_checks(
    policy: Policy, views: Sequence[_ArchView], sink: _Sink, *, decompiled: bool
) -> None:
    _check_dangerous(views, sink)
    _check_equivalents(views, sink)
    _check_argument_widths(views, sink)
    _check_multiplexers(policy, views, sink)
    _check_fallbacks(views, sink)
    if not decompiled:
        # A program's default action and other ABIs are judged on the program itself (the
        # decompiled default is whichever action made the shorter policy), and its rules
        # are the decompiler's, not something a reader wrote and could reorder.
        _check_permissive_default(policy, sink)
        _check_unknown_numbers(policy, views, sink)
        _check_abis(policy, views, sink)
        _check_unreachable(policy, views, sink)


def audit_policy(policy: Policy, *, arches: Sequence[str] | None = None) -> AuditReport:
    """Audit ``policy`` (on ``arches`` instead of its own, when given)."""
    if arches:
        policy = replace(policy, arches=tuple(arches))
    policy.validate()
    sink = _Sink(policy, describe_rules=True)
    views = [_ArchView(policy, arch) for arch in policy.resolved_arches()]
    _policy_checks(policy, views, sink, decompiled=False)
    return AuditReport(
        "policy",
        policy.source,
        tuple(view.arch.name for view in views),
        tuple(sink.findings()),
        tuple(sink.notes),
    )


def _decompile(program: Program, arches: Sequence[str] | None, sink: _Sink) -> Policy | None:
    """The policy the decompiler recovers from ``program`` (a note when it is approximate),
    or ``None`` with a note when it cannot."""
    try:
        result = decompile(program, arches=list(arches) if arches else None)
    except SeccompBPFError as error:
        sink.note(
            f"the program could not be decompiled ({error}): only the checks on its "
            "instructions, on other ABIs and on unknown numbers ran"
        )
        return None
    if not result.exact:
        unsupported = "; ".join(result.unsupported)
        sink.note(
            "the program does what the policy model cannot express"
            + (f" ({unsupported})" if unsupported else "")
            + ": the checks on its decompiled policy are approximate"
        )
    return result.policy


def audit_program(
    program: Program, *, arches: Sequence[str] | None = None, source: str | None = None
) -> AuditReport:
    """Audit a compiled or hand-written ``program``.

    ``arches`` are the ABIs to audit it for (default: those whose architecture value the
    program compares with, and the ABIs that reach them; a program that compares none is
    taken as written for the first of ``arches``, or for this machine).
    """
    requested = [get_arch(name) for name in arches] if arches else None
    default = requested[0] if requested else native_arch()
    sink = _Sink(None, describe_rules=False)
    flow = _program_flow(program)
    if not flow.complete:
        sink.note(
            f"the program has more than {_PATH_STATE_LIMIT} path states: the path checks "
            "(SB001, SB008) looked at part of it"
        )
    _check_arch_check(flow, sink)
    _check_low_word_loads(flow, default, sink)
    handled = _handled_abis(flow, default, requested)
    _check_program_abis(program, handled, sink)
    # The ABIs to audit the decompiled policy on: those asked for, or those the program is
    # written for and those that reach them (a program without an architecture check
    # decompiles to the same rules on every ABI).
    audited = list(requested) if requested else list(handled)
    if not requested:
        for arch in handled:
            audited.extend(other for other in abis_reaching(arch) if other not in audited)
    policy = _decompile(program, arches, sink)
    views: list[_ArchView] = []
    if policy is not None:
        sink.policy = policy
        for arch in policy.resolved_arches():
            if arch in audited:
                view = _ArchView(policy, arch)
                view.baseline = view.fallback(_unknown_number(view))
                views.append(view)
        _policy_checks(policy, views, sink, decompiled=True)
    examined = [*handled, *(view.arch for view in views if view.arch not in handled)]
    _check_program_unknown_numbers(program, flow, examined, sink)
    return AuditReport(
        "program",
        source,
        tuple(arch.name for arch in examined),
        tuple(sink.findings()),
        tuple(sink.notes),
    )


def audit(
    subject: Policy | Program, *, arches: Sequence[str] | None = None, source: str | None = None
) -> AuditReport:
    """Audit a policy (:func:`audit_policy`) or a program (:func:`audit_program`)."""
    if isinstance(subject, Policy):
        report = audit_policy(subject, arches=arches)
        return replace(report, source=source) if source is not None else report
    return audit_program(subject, arches=arches, source=source)


# --- output ---------------------------------------------------------------------------------------


def _where(report: AuditReport, finding: Finding) -> str:
    if finding.location is not None:
        return str(finding.location)
    return report.source or f"<{report.subject}>"


def _summary(report: AuditReport) -> str:
    if not report.findings:
        return "no findings"
    counts = ", ".join(f"{n} {s.label}" for s, n in report.counts().items() if n)
    total = len(report.findings)
    return f"{total} finding{'' if total == 1 else 's'}: {counts}"


def format_text(report: AuditReport) -> str:
    """One line per finding (``FILE[:LINE:COL]: SEVERITY ID NAME: MESSAGE [ARCHES]``), the
    notes, and a summary line."""
    lines = [f"{_where(report, finding)}: {finding.describe()}" for finding in report.findings]
    lines.extend(f"note: {note}" for note in report.notes)
    what = report.source or report.subject
    lines.append(f"{what}: {_summary(report)} ({report.subject}; {', '.join(report.arches)})")
    return "\n".join(lines) + "\n"


def _finding_json(finding: Finding) -> dict[str, object]:
    location = finding.location
    return {
        "id": finding.check,
        "name": finding.name,
        "severity": finding.severity.label,
        "message": finding.message,
        "arches": list(finding.arches),
        "syscall": finding.syscall,
        "rule": None if finding.rule is None else finding.rule + 1,
        "file": location.file if location else None,
        "line": location.line if location else None,
        "column": location.column if location else None,
    }


def format_json(report: AuditReport) -> str:
    """The report as a JSON object (rules numbered from 1, as in the messages)."""
    document = {
        "subject": report.subject,
        "source": report.source,
        "arches": list(report.arches),
        "summary": {s.label: n for s, n in report.counts().items()},
        "findings": [_finding_json(f) for f in report.findings],
        "notes": list(report.notes),
    }
    return json.dumps(document, indent=2) + "\n"


_SARIF_LEVEL: Final = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"


def _artifact_uri(path: str) -> str:
    """A URI reference for a file: ``file:`` for an absolute path, else the relative path."""
    from urllib.parse import quote

    pure = PurePath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix())


def to_sarif(report: AuditReport) -> dict[str, object]:
    """The report as a SARIF 2.1.0 log: one run, every check as a rule, a result per finding."""
    from seccomp_bpf import __version__

    check_ids = list(CHECKS)
    rules = [
        {
            "id": check.id,
            "name": check.name,
            "shortDescription": {"text": check.summary},
            "fullDescription": {"text": check.description},
            "help": {"text": check.description},
            "properties": {"tags": ["security", "seccomp"]},
        }
        for check in CHECKS.values()
    ]
    results = []
    for finding in report.findings:
        result: dict[str, object] = {
            "ruleId": finding.check,
            "ruleIndex": check_ids.index(finding.check),
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": finding.message},
            "properties": {
                "severity": finding.severity.label,
                "arches": list(finding.arches),
                **({"syscall": finding.syscall} if finding.syscall else {}),
            },
        }
        location: dict[str, object] = {}
        path = finding.location.file if finding.location else report.source
        if path and not path.startswith("<"):
            physical: dict[str, object] = {"artifactLocation": {"uri": _artifact_uri(path)}}
            if finding.location is not None:
                physical["region"] = {
                    "startLine": finding.location.line,
                    "startColumn": finding.location.column,
                }
            location["physicalLocation"] = physical
        if finding.syscall:
            location["logicalLocations"] = [
                {"name": finding.syscall, "fullyQualifiedName": f"{arch}/{finding.syscall}",
                 "kind": "function"}
                for arch in finding.arches or ("",)
            ]  # fmt: skip
        if location:
            result["locations"] = [location]
        results.append(result)
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "seccomp-bpf",
                "version": __version__,
                "informationUri": "https://pypi.org/project/seccomp-bpf/",
                "rules": rules,
            }
        },
        "results": results,
    }
    if report.source and not report.source.startswith("<"):
        run["artifacts"] = [{"location": {"uri": _artifact_uri(report.source)}}]
    if report.notes:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "note", "message": {"text": note}} for note in report.notes
                ],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def format_sarif(report: AuditReport) -> str:
    return json.dumps(to_sarif(report), indent=2) + "\n"
