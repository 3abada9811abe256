"""SB006 dangerous-syscall: a call that gives a process power over the kernel or other
processes is allowed (:data:`DANGEROUS_SYSCALLS`; namespaces and execution domains judged on
the arguments)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch.constants import CLONE_NAMESPACE_FLAGS, resolve_constant
from seccomp_bpf.explain.audit.findings import Severity, Sink, undecided
from seccomp_bpf.explain.audit.view import ArchView, conjunction, is_permissive
from seccomp_bpf.policy.conditions import Cmp, Condition, Not
from seccomp_bpf.policy.values import MASK32


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
domains) are judged on their arguments (:func:`_check_namespaces`, :func:`_check_personality`)."""


def _constant(name: str) -> int:
    value = resolve_constant(name)
    assert value is not None, name
    return value


# <linux/sched.h>: CLONE_NEWTIME (0x80) only exists for unshare and clone3: in clone's flags
# that bit is part of the exit signal (CSIGNAL, 0xff).
_CLONE_NAMESPACES: Final = sum(_constant(name) for name in CLONE_NAMESPACE_FLAGS)


_UNSHARE_NAMESPACES: Final = _CLONE_NAMESPACES | _constant("CLONE_NEWTIME")


_CLONE_NEWUSER: Final = _constant("CLONE_NEWUSER")


# arch/s390/Kconfig selects CLONE_BACKWARDS2: clone(newsp, flags, ...) (kernel/fork.c).
_CLONE_FLAGS_SECOND: Final = frozenset({"s390", "s390x"})


# personality(2): the execution domains ordinary programs ask for, as Docker's default profile
# allows them: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff, which
# only reads the current value. The others turn on READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE...
_ORDINARY_PERSONALITIES: Final = frozenset({0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF})


def check_dangerous(views: Sequence[ArchView], sink: Sink) -> None:
    """SB006, for the calls of DANGEROUS_SYSCALLS and the argument-dependent ones."""
    for view in views:
        for name, entry in DANGEROUS_SYSCALLS.items():
            nr = view.number(name)
            if nr is None:
                continue
            with undecided(sink, f"{view.arch.name}: {name}"):
                allowed = view.first(nr, is_permissive)
                if allowed is None:
                    continue
                if view.every(nr, is_permissive):
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
        with undecided(sink, f"{view.arch.name}: namespaces"):
            _check_namespaces(view, sink)
        with undecided(sink, f"{view.arch.name}: personality"):
            _check_personality(view, sink)


def _check_namespaces(view: ArchView, sink: Sink) -> None:
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
        allowed = view.first(clone3, is_permissive)
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
    view: ArchView,
    sink: Sink,
    name: str,
    *,
    flags: int,
    also: Condition | None,
    namespaces: int,
    width: int,
) -> None:
    nr = view.number(name)
    assert nr is not None
    with_user = conjunction(Cmp(flags, "bits_set", _CLONE_NEWUSER, width=width), also)
    allowed = view.first(nr, is_permissive, with_user)
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
    with_any = conjunction(Not(Cmp(flags, "bits_clear", namespaces, width=width)), also)
    allowed = view.first(nr, is_permissive, with_any)
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


def _check_personality(view: ArchView, sink: Sink) -> None:
    nr = view.number("personality")
    if nr is None:
        return
    # personality(unsigned int persona): the low 32 bits.
    other = Cmp(0, "not_in", tuple(sorted(_ORDINARY_PERSONALITIES)), width=32)
    allowed = view.first(nr, is_permissive, other)
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
