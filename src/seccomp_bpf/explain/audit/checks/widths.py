"""SB008 low-half-comparison and SB009 ignored-high-half: an argument compared on the wrong
half, as :data:`ARGUMENT_KINDS` says how the kernel reads each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from seccomp_bpf.arch import Arch, dispatched_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.explain.audit.findings import Severity, Sink, undecided
from seccomp_bpf.explain.audit.flow import ProgramFlow
from seccomp_bpf.explain.audit.view import ArchView, is_denial, is_permissive
from seccomp_bpf.policy.conditions import All, Cmp, Comparison, Condition, comparisons
from seccomp_bpf.policy.semantics import satisfiable
from seccomp_bpf.policy.semantics import with_upper_half as _with_high_half
from seccomp_bpf.policy.values import MASK32, Within

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


def check_argument_widths(views: Sequence[ArchView], sink: Sink) -> None:
    """SB008 and SB009."""
    for view in views:
        arch = view.arch
        for nr in view.resolved.rules_by_nr:
            entries = view.entries(nr)
            name = arch.syscall_name(nr)
            if name is None:
                continue
            with undecided(sink, f"{arch.name}: {name}"):
                if view.first(nr, is_permissive) is None or view.first(nr, is_denial) is None:
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


def _high_half_bypass(view: ArchView, nr: int, index: int) -> bool:
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
    denied = view.region_of(nr, is_denial)
    allowed = view.region_of(nr, is_permissive)
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


def _argument_words(arch: Arch, index: int | None) -> tuple[int, int]:
    """Offsets of the low and high words of argument ``index`` (``None``: the instruction
    pointer) in seccomp_data, in ``arch``'s byte order."""
    base = op.OFFSET_IP if index is None else op.offset_of_arg(index)
    return (base, base + 4) if arch.byteorder == "little" else (base + 4, base)


def check_low_word_loads(flow: ProgramFlow, default: Arch, sink: Sink) -> None:
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
