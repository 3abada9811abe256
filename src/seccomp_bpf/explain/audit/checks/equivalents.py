"""SB007 equivalent-syscall-gap: a call is denied while another that does the same is allowed
(:data:`EQUIVALENT_SYSCALLS`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from seccomp_bpf.explain.audit.findings import Severity, Sink, names_text, undecided
from seccomp_bpf.explain.audit.view import ArchView, explicit_denial, is_permissive, refused_on

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


def check_equivalents(views: Sequence[ArchView], sink: Sink) -> None:
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
            with undecided(sink, f"{arch.name}: {purpose}"):
                open_for_all = {name for _, name, nr in members if view.every(nr, is_permissive)}
                for rank, name, nr in members:
                    others = [
                        other
                        for other_rank, other, _ in members
                        if other != name and other_rank >= rank and other in open_for_all
                    ]
                    if not others:
                        continue
                    what = f"{names_text(others)}, which can do what it does ({purpose}),"
                    verb = "is" if len(others) == 1 else "are"
                    if view.first(nr, is_permissive) is not None:
                        # allowed for some arguments only: its conditions are the choice
                        denial = view.first(nr, refused_on(arch))
                        if denial is None:
                            continue
                        message = (
                            f"{name} is allowed only for some arguments{sink.by(denial)} but "
                            f"{what} {verb} allowed for every argument: the conditions on "
                            f"{name} can be sidestepped"
                        )
                    else:
                        denial = explicit_denial(view, nr)
                        if denial is None or not view.every(nr, refused_on(arch)):
                            continue
                        message = (
                            f"{name} is denied{sink.by(denial)} but {what} {verb} allowed "
                            "for every argument"
                        )
                    sink.add(
                        "SB007", Severity.MEDIUM, message, (arch,), syscall=name,
                        rule=denial.rule_index,
                    )  # fmt: skip
