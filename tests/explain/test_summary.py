"""The per-ABI summary of a policy."""

from __future__ import annotations

from seccomp_bpf.explain import summarize
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, LOG, Policy, Rule, eq

POLICY = Policy(
    ERRNO(1),
    (
        Rule(("read", "write", "close"), ALLOW),
        Rule(("ptrace",), ERRNO(13)),
        Rule(("kexec_load",), KILL_PROCESS),
        Rule(("socket",), ALLOW, eq(0, 1)),
        Rule((1000,), LOG),
    ),
    arches=("x86_64",),
    unknown_syscall_action=ERRNO(38),
)


def test_summary_says_what_is_allowed_refused_and_left_over() -> None:
    assert summarize(POLICY).lines() == [
        # three calls always allowed, socket under a condition
        "x86_64: 4 system calls allowed, 1 with argument conditions: socket",
        "  allowed: read, write, close",
        "  errno(EACCES): 1: ptrace",
        "  kill_process: 1: kexec_load",
        "  socket: allow if arg0 == 0x1; otherwise errno(EPERM)",
        "  every other system call: errno(EPERM)",
        "  rules on numbers: 1000: log",
        "  numbers not in the table: errno(ENOSYS)",
        # x86-64's compat ABIs, not listed
        "i386, x32: every call gets kill_process",
        "other architectures: every call gets kill_process",
    ]


def test_calls_decided_alike_are_listed_together_and_long_lists_shortened() -> None:
    many = ("read", "write", "close", "fstat", "lseek", "mmap", "brk")
    policy = Policy(
        ALLOW,
        (Rule(many, ERRNO(1), eq(0, 7)), Rule(("getpid", "getppid"), ERRNO(1))),
        arches=("x86_64", "i386"),
    )
    summary = summarize(policy)
    x86_64, i386 = summary.abis
    assert [call.names for call in x86_64.conditional] == [many]
    assert x86_64.denied == ((ERRNO(1), ("getpid", "getppid")),)
    assert i386.arch == "i386"
    lines = summary.lines()
    assert (
        "  read, write, close, fstat, lseek, mmap, brk: errno(EPERM) if arg0 == 0x7; "
        "otherwise allow" in lines
    )
    allowed = next(line for line in lines if line.startswith("  allowed: "))
    assert allowed.endswith(" more")  # every other call is allowed: the list is shortened
    assert "x32: every call gets kill_process" in lines
