"""Attacks on the sandbox of ``seccomp-bpf run``: real programs try every way out they know,
under the real command, and each escape must fail while the world outside stays untouched.

Catalogue. Each attack is a *route* of ``tests/run/attacks/escape-attack`` (its C source says
how it works); a test case is one route as one user (``root``, or ``nobody``: uid 65534 with no
capabilities, through ``setpriv``).

1. Another process's memory and secrets (victim: ``escape-victim``, same uid, outside).
   Writes: ``proc-mem-write``, ``task-mem-write`` (/proc/PID[/task/TID]/mem + pwrite),
   ``process-vm-writev``, ``ptrace-attach-poke``, ``ptrace-seize-poke`` (POKEDATA),
   ``ptrace-attach-i386`` (int 0x80). Reads: ``proc-mem-read``, ``process-vm-readv``,
   ``fd-reopen-read``/``-write`` (/proc/PID/fd/N of an unlinked file), ``pidfd-getfd``,
   ``proc-environ``, ``proc-cmdline``, ``proc-maps``, ``proc-visible`` (the victim listed in
   /proc at all), ``kcmp``, ``get-robust-list``, ``unconfined-neighbour`` (any visible process
   without a seccomp filter whose memory opens for writing: outside, or a helper of the
   sandbox itself).
2. Host settings and privileged helpers: the five capability sets (``cap-*``, all must be 0);
   opening for writing (never writing) core_pattern, modprobe, poweroff_cmd (the kernel runs
   those programs as root), hostname, domainname, sysrq-trigger, binfmt_misc/register,
   uevent_helper, drop_caches, suid_dumpable, ip_forward, core_pattern again through
   /proc/1/root; ``proc-sys-writable`` and ``sys-writable`` (any file of /proc/sys and /sys,
   submounts included), ``cgroup-release-agent``; ``sethostname``, ``setdomainname`` (also
   i386), ``mount``, ``mknod``, each probed with arguments refused only after the privilege
   check; ``setuid-exec`` (a set-user-ID root program, as nobody).
3. userfaultfd: /dev/userfaultfd + USERFAULTFD_IOC_NEW, the userfaultfd call with and without
   UFFD_USER_MODE_ONLY, each from x86-64 and through int 0x80.
4. Signals and scheduling of an outside process (every signal SIGKILL): kill, kill of its
   group, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_open, pidfd_send_signal
   (also on a /proc/PID descriptor), SIGIO through F_SETOWN/F_SETOWN_EX on a pipe, a socket
   and a process group; kill, tkill and setpriority through int 0x80; prlimit,
   sched_setaffinity, setpriority (PRIO_PROCESS, PRIO_PGRP, PRIO_USER), sched_setscheduler
   (SCHED_FIFO, SCHED_IDLE), sched_setattr, ioprio_set (process, group, user), oom_score_adj;
   SIGKILL to every pid in /proc and kill(-1); and, with the victim in the process group of
   ``seccomp-bpf run`` (as in a shell pipeline), kill(0), setpriority(PRIO_PGRP, 0) and
   ioprio_set(IOPRIO_WHO_PGRP, 0), which reach the caller's whole group whatever namespace
   its members are in.
5. The ``--report-denials`` supervisor: signals to the parent (kill, tkill, tgkill,
   rt_sigqueueinfo, pidfd, SIGIO), to every pid in /proc, to every pid up to pid_max,
   kill(-1), killpg of its own and of the parent's group, its descriptor limit set to 0, its
   listener taken with pidfd_getfd; each followed by a call the policy kills, which must
   still kill (SIGSYS, status 159, supervisor alive), not return ENOSYS or EPERM. Also: the
   command dies when ``run`` (or the Python program that used ``Popen``) is killed
   (PDEATHSIG), and nothing but 0, 1 and 2 is inherited (``inherited-fds``).
6. Executable memory under ``include: deny_new_exec_mappings`` (a static build of the attack
   program: the dynamic loader maps the C library with PROT_EXEC, which the rule set refuses
   once the filter is on): mmap, mprotect, pkey_mprotect, shmat(SHM_EXEC) (x86-64, i386
   shmat, i386 ipc(SHMAT)), memfd + mmap, i386 mmap2, old_mmap, mprotect, pkey_mprotect,
   personality(READ_IMPLIES_EXEC) + mmap without PROT_EXEC, /proc/self/mem over the
   program's own code, and a program built with an executable stack; each writes code there
   and runs it. mremap and remap_file_pages keep a mapping's protection:
   :func:`test_remapping_alone_makes_nothing_executable` shows that they cannot make memory
   executable by themselves.
7. The terminal: TIOCSTI (on standard input, /dev/tty, with bit 32 set in the request,
   through int 0x80) and TIOCLINUX (also through int 0x80), on a pseudo-terminal of the test
   made the controlling terminal; its input queue must stay empty.
8. Abstract UNIX sockets (stream, seqpacket, datagram) that the test listens on outside.
9. Classics of container escapes: io_uring (also i386), open_by_handle_at (Shocker),
   add_key, bpf, perf_event_open, new user namespaces (unshare, also i386, clone, clone3),
   chroot, pivot_root, setns, syslog, the mount API (fsopen, open_tree). And, as root without
   capabilities is still the owner of the machine's files (no capability needed, and
   Landlock has no right for chmod): /etc/passwd and the C library opened for writing,
   /etc/passwd through a hard link put in a writable directory, and chmod of a file of root.

How the tests run. ``escape-contain`` puts each run in a PID and mount namespace of its own
(with its own /proc), so that an attack that gets through (kill(-1) as root, PRIO_USER)
reaches only processes of the test; in it the victims are pids 30000, 30001..., out of the
range the sandbox would give its own processes. Routes that reach nothing but their own
victim share a run, each with a victim of its own, so that what happened to a victim tells
which route did it; the others (PRIO_USER, kill(-1), the process-group ones, the attacks on
the supervisor) have a run each. The entry points are ``seccomp-bpf run -- ...``, with
``--report-denials``, with ``-p POLICY``, and ``seccomp_bpf.Popen(argv, default_policy())``.
Each attack has a control: the same route run without the sandbox must get through
(:func:`test_the_attack_gets_through_unconfined`), so that a case that holds shows the
sandbox at work, not a broken attack. The exceptions are states rather than attacks
(``cap-inh``, ``cap-amb``, ``inherited-fds``: empty outside too) and the attacks on the
supervisor, which need a supervisor to attack.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import time
import tty
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from seccomp_bpf.kernel import syscall_abi
from seccomp_bpf.kernel.compat import has_i386_emulation
from seccomp_bpf.policies.default import builtin_policy_text

IS_LINUX: Final = sys.platform.startswith("linux")

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not IS_LINUX, reason="needs Linux"),
    pytest.mark.skipif(
        IS_LINUX and os.geteuid() != 0,
        reason="needs root: the attacks run in PID namespaces of their own, as root and as "
        "uid 65534",
    ),
    pytest.mark.skipif(
        IS_LINUX and syscall_abi() != "x86_64", reason="the attack programs are x86-64 code"
    ),
]

ATTACK_SOURCES: Final = Path(__file__).parent / "attacks"
ATTACK_FILES: Final = (
    "main.c",
    "memory.c",
    "signals.c",
    "host.c",
    "uffd.c",
    "supervisor.c",
    "exec_memory.c",
    "terminal.c",
    "sockets.c",
    "classic.c",
)
PROGRAMS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # program: (sources, extra gcc options)
    "escape-attack": (ATTACK_FILES, ()),
    "escape-victim": (("victim.c",), ()),
    "escape-contain": (("contain.c",), ()),
    # Static: under deny_new_exec_mappings the dynamic loader could not map the C library
    # (its mmap with PROT_EXEC comes after the filter), and nothing would start.
    "escape-attack-static": (ATTACK_FILES, ("-static",)),
    "escape-execstack": (("execstack.c",), ("-static", "-z", "execstack")),
}

NOBODY: Final = 65534
SETPRIV: Final = (
    "setpriv",
    f"--reuid={NOBODY}",
    f"--regid={NOBODY}",
    "--clear-groups",
    "--inh-caps=-all",
)
ROOT, UNPRIVILEGED = "root", "nobody"
BOTH: Final = (ROOT, UNPRIVILEGED)
SIGSYS_STATUS: Final = 128 + signal.SIGSYS
RUN_TIMEOUT: Final = 90.0

ESCAPES: Final = {
    1: "another process's memory",
    2: "host settings and privileged helpers",
    3: "userfaultfd",
    4: "signals and scheduling of another process",
    5: "the --report-denials supervisor",
    6: "executable memory",
    7: "typing into the terminal",
    8: "abstract UNIX sockets",
    9: "classic container escapes",
}

# Errors that mean "refused" (and "-": nothing to take, see escape.h). Any other error shows
# an attack that failed for its own reasons, which proves nothing about the sandbox.
DENIALS: Final = frozenset({"EPERM", "EACCES", "ESRCH", "ENOENT", "EROFS", "-"})


# --- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One attack route. ``users``: who it gets through for without the sandbox (and so who
    it is tried as). ``outside``: a DONE result is judged by the outside world (the route
    cannot see its own effect). ``also``: errors that are denials for this route."""

    route: str
    escape: int
    users: tuple[str, ...] = BOTH
    i386: bool = False
    outside: bool = False
    also: frozenset[str] = frozenset()
    host_path: str | None = None
    id: str = ""
    same_pgrp: bool = False
    control: bool = True
    alone: bool = False  # reaches more than its own victim: a run of its own

    @property
    def name(self) -> str:
        return self.id or self.route


def _open(route: str, path: str, escape: int, name: str, exists: str | None = None) -> Case:
    """Open ``path`` for writing (``open-wronly``) or reading, as root; skipped where
    ``exists`` (default: the path) is not on the machine."""
    return Case(f"{route}@{path}", escape, (ROOT,), host_path=exists or path, id=name)


# A directory of the machine outside any place a sandbox would let programs write; runs that
# need a file of root there mount a tmpfs on it in their own mount namespace (contain.c).
SHADOW: Final = next(
    (path for path in ("/srv", "/opt", "/mnt", "/media") if os.path.isdir(path)), "/no-such-dir"
)


def _libc() -> str:
    """The C library this process maps: the file every program on the machine runs."""
    with contextlib.suppress(OSError), open("/proc/self/maps", encoding="ascii") as maps:
        for line in maps:
            path = line.split()[-1]
            if "/libc.so" in path or "/libc-" in path:
                return path
    return "/no-libc-found"


MEMORY_WRITES: Final = (
    Case("proc-mem-write", 1),
    Case("task-mem-write", 1),
    Case("process-vm-writev", 1),
    Case("ptrace-attach-poke", 1),
    Case("ptrace-seize-poke", 1),
    Case("ptrace-attach-i386", 1, i386=True),
)
MEMORY_READS: Final = (
    Case("proc-mem-read", 1),
    Case("process-vm-readv", 1),
    Case("fd-reopen-read", 1),
    Case("fd-reopen-write", 1),
    Case("pidfd-getfd", 1),
    Case("proc-environ", 1),
    Case("proc-cmdline", 1),
    Case("proc-maps", 1),
    Case("proc-visible", 1),
    Case("kcmp", 1),
    Case("get-robust-list", 1),
    Case("unconfined-neighbour", 1),
)
SIGNALS: Final = (
    Case("kill", 4),
    Case("kill-pgrp", 4),
    Case("tkill", 4),
    Case("tgkill", 4),
    Case("rt-sigqueueinfo", 4),
    Case("rt-tgsigqueueinfo", 4),
    Case("pidfd-open", 4),
    Case("pidfd-send-signal", 4),
    Case("procfd-send-signal", 4),
    Case("sigio-pipe", 4, outside=True),
    Case("sigio-socket", 4, outside=True),
    Case("sigio-pgrp", 4, outside=True),
    Case("sigio-fiosetown", 4, outside=True),
    Case("kill-i386", 4, i386=True),
    Case("tkill-i386", 4, i386=True),
    Case("setpriority-i386", 4, i386=True),
    Case("prlimit", 4),
    Case("sched-setaffinity", 4),
    Case("setpriority-process", 4),
    Case("setpriority-pgrp", 4),
    Case("setpriority-user", 4, outside=True, alone=True),
    Case("sched-fifo", 4, users=(ROOT,)),  # RLIMIT_RTPRIO is 0 for others
    Case("sched-idle", 4),
    Case("sched-setattr", 4),
    Case("ioprio-process", 4),
    Case("ioprio-pgrp", 4),
    Case("ioprio-user", 4, outside=True, alone=True),
    Case("oom-score-adj", 4),
    Case("kill-own-pgrp", 4, outside=True, same_pgrp=True, alone=True),
    Case("setpriority-own-pgrp", 4, outside=True, same_pgrp=True, alone=True),
    Case("ioprio-own-pgrp", 4, outside=True, same_pgrp=True, alone=True),
    # Broadcasts: every process this one can see, and kill(-1).
    Case("kill-visible", 4, outside=True, alone=True),
    Case("kill-minus-one", 4, outside=True, alone=True),
)
HOST: Final = (
    Case("cap-eff", 2, users=(ROOT,)),
    Case("cap-prm", 2, users=(ROOT,)),
    Case("cap-bnd", 2),
    # Empty even for root outside: checked because a sandbox that keeps a capability
    # (--cap) may fill them; no control.
    Case("cap-inh", 2, control=False),
    Case("cap-amb", 2, control=False),
    _open("open-wronly", "/proc/sys/kernel/core_pattern", 2, "core-pattern"),
    # Through the root of pid 1 of the run's namespace (escape-contain: its mount namespace has
    # a writable /proc/sys, like the machine's); the test itself cannot see it.
    _open(
        "open-wronly",
        "/proc/1/root/proc/sys/kernel/core_pattern",
        2,
        "core-pattern-via-pid-1",
        exists="/proc/sys/kernel/core_pattern",
    ),
    _open("open-wronly", "/proc/sys/kernel/modprobe", 2, "modprobe"),
    _open("open-wronly", "/proc/sys/kernel/poweroff_cmd", 2, "poweroff-cmd"),
    _open("open-wronly", "/proc/sys/kernel/hostname", 2, "hostname-file"),
    _open("open-wronly", "/proc/sys/kernel/domainname", 2, "domainname-file"),
    _open("open-wronly", "/proc/sysrq-trigger", 2, "sysrq-trigger"),
    _open("open-wronly", "/proc/sys/fs/binfmt_misc/register", 2, "binfmt-misc-register"),
    _open("open-wronly", "/sys/kernel/uevent_helper", 2, "uevent-helper"),
    _open("open-wronly", "/proc/sys/vm/drop_caches", 2, "drop-caches"),
    _open("open-wronly", "/proc/sys/fs/suid_dumpable", 2, "suid-dumpable"),
    _open("open-wronly", "/proc/sys/net/ipv4/ip_forward", 2, "ip-forward"),
    Case("proc-sys-writable", 2, users=(ROOT,)),
    Case("sys-writable", 2, users=(ROOT,)),
    Case("cgroup-release-agent", 2, users=(ROOT,), host_path="/sys/fs/cgroup"),
    Case("sethostname", 2, users=(ROOT,)),
    Case("setdomainname", 2, users=(ROOT,)),
    Case("sethostname-i386", 2, users=(ROOT,), i386=True),
    Case("mount", 2, users=(ROOT,)),
    Case("mknod", 2, users=(ROOT,)),
    Case("setuid-exec", 2, users=(UNPRIVILEGED,)),
)
USERFAULTFD: Final = (
    Case("uffd-dev", 3, users=(ROOT,)),  # /dev/userfaultfd is 0600 root
    Case("uffd-dev-i386", 3, users=(ROOT,), i386=True),
    Case("uffd-dev-high-bits", 3, users=(ROOT,)),
    Case("uffd-syscall", 3, users=(ROOT,)),  # vm.unprivileged_userfaultfd = 0: root only
    Case("uffd-syscall-user-mode", 3),
    Case("uffd-syscall-i386", 3, users=(ROOT,), i386=True),
    Case("uffd-syscall-i386-user-mode", 3, i386=True),
)
SUPERVISOR: Final = (
    Case("kill-parent", 5, outside=True),
    Case("tkill-parent", 5, outside=True),
    Case("tgkill-parent", 5, outside=True),
    Case("sigqueue-parent", 5, outside=True),
    Case("pidfd-parent", 5, outside=True),
    Case("sigio-parent", 5, outside=True),
    Case("kill-visible", 5, outside=True),
    Case("kill-guess@{pid-max}", 5, outside=True, id="kill-guess"),
    Case("kill-minus-one", 5, outside=True),
    Case("killpg-own", 5, outside=True),
    Case("killpg-parent", 5, outside=True),
    Case("prlimit-parent", 5, outside=True),
    Case("steal-listener", 5),
)
EXEC_MEMORY: Final = (
    Case("mmap-exec", 6, users=(ROOT,)),
    Case("mprotect-exec", 6, users=(ROOT,)),
    Case("pkey-mprotect-exec", 6, users=(ROOT,)),
    Case("shmat-exec", 6, users=(ROOT,)),
    Case("shmat-exec-i386", 6, users=(ROOT,), i386=True),
    Case("shmat-exec-i386-ipc", 6, users=(ROOT,), i386=True),
    Case("shmat-exec-high-bits", 6, users=(ROOT,)),
    Case("memfd-mmap-exec", 6, users=(ROOT,)),
    Case("mmap2-exec-i386", 6, users=(ROOT,), i386=True),
    Case("old-mmap-exec-i386", 6, users=(ROOT,), i386=True),
    Case("mprotect-exec-i386", 6, users=(ROOT,), i386=True),
    Case("pkey-mprotect-exec-i386", 6, users=(ROOT,), i386=True),
    Case("proc-self-mem-code", 6, users=(ROOT,)),
    Case("execstack", 6, users=(ROOT,)),
    Case("read-implies-exec", 6, users=(ROOT,)),
)
TERMINAL: Final = (
    Case("tiocsti", 7),
    # ENXIO: no controlling terminal, as in a session of its own (setsid).
    Case("tiocsti-dev-tty", 7, also=frozenset({"ENXIO"})),
    Case("tiocsti-high-bits", 7),
    Case("tiocsti-i386", 7, i386=True),
    Case("tioclinux", 7),
    Case("tioclinux-i386", 7, i386=True),
)
# The name each route connects to is filled in per run; a network namespace of its own
# would answer ECONNREFUSED (no such name there).
SOCKETS: Final = tuple(
    Case(
        f"abstract-{kind}@{{socket-{kind}}}",
        8,
        id=f"abstract-{kind}",
        also=frozenset({"ECONNREFUSED"}),
    )
    for kind in ("stream", "seqpacket", "dgram")
)
CLASSIC: Final = (
    Case("io-uring-setup", 9),
    Case("io-uring-setup-i386", 9, i386=True),
    Case("open-by-handle", 9, users=(ROOT,)),
    Case("keyring", 9),
    Case("bpf-map", 9, users=(ROOT,)),  # kernel.unprivileged_bpf_disabled
    Case("perf-event", 9),
    Case("unshare-user", 9),
    Case("unshare-user-i386", 9, i386=True),
    Case("clone-newuser", 9),
    Case("clone-newuser-i386", 9, i386=True),
    Case("clone3-newuser", 9, also=frozenset({"ENOSYS"})),  # the default's answer to clone3
    Case("chroot", 9, users=(ROOT,)),
    Case("pivot-root", 9, users=(ROOT,)),
    Case("setns-mnt", 9, users=(ROOT,)),
    Case("syslog-read", 9, users=(ROOT,)),  # kernel.dmesg_restrict
    Case("fsopen", 9, users=(ROOT,)),
    Case("open-tree", 9, users=(ROOT,)),
    # Root without capabilities still owns root's files: see the module docstring. These two
    # act on a file of the test in the run's own mount namespace (escape-contain --shadow).
    Case(
        "hardlink-write@{shadow}/root-file",
        9,
        (ROOT,),
        also=frozenset({"EXDEV"}),  # Landlock's refusal to link across its rules
        host_path=SHADOW,
        id="hardlink-root-file",
    ),
    Case("chmod@{shadow}/root-file", 9, (ROOT,), host_path=SHADOW, id="chmod-root-file"),
    _open("open-wronly", "/etc/passwd", 9, "etc-passwd"),
    _open("open-wronly", _libc(), 9, "libc"),
    _open("open-rdonly", "/dev/mem", 9, "dev-mem"),
    _open("open-rdonly", "/proc/kcore", 9, "kcore"),
)
# A state, not an attack: nothing outside the sandbox to compare with; no control.
INHERITED: Final = (Case("inherited-fds", 5, control=False),)


def params(cases: Sequence[Case]) -> list[object]:
    """One pytest parameter per case and user, with the id ROUTE-USER."""
    return [
        pytest.param(case, user, id=f"{case.name}-{user}") for case in cases for user in case.users
    ]


# --- the programs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arsenal:
    """The built attack programs, in a directory every user can reach."""

    directory: Path
    scratch: Path  # writable by everyone: the runs' working directory
    kill_policy: Path  # the default policy with getcwd -> kill_process first
    exec_policy: Path  # the default policy with deny_new_exec_mappings first
    nobody_runs_python: bool  # setpriv can start this Python with seccomp_bpf as uid 65534
    nobody_execs_python: bool  # a process of uid 65534 can itself exec this Python
    unbuilt: dict[str, str]  # program -> why gcc could not build it

    def program(self, name: str) -> str:
        if name in self.unbuilt:
            pytest.skip(f"{name} could not be built: {self.unbuilt[name]}")
        return str(self.directory / name)


def _policy_with_first_rules(rules: str) -> str:
    """The built-in default policy with ``rules`` (YAML lines) before its own."""
    text = builtin_policy_text()
    head, separator, tail = text.partition("\nsyscalls:\n")
    assert separator, "the default policy has no 'syscalls:' section"
    return f"{head}{separator}{rules}{tail}"


@pytest.fixture(scope="session")
def arsenal() -> Iterator[Arsenal]:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc to build the attack programs")
    directory = Path(tempfile.mkdtemp(prefix="seccomp-bpf-escapes-"))
    try:
        directory.chmod(0o755)
        scratch = directory / "scratch"
        scratch.mkdir()
        scratch.chmod(0o1777)
        unbuilt: dict[str, str] = {}  # static programs need libc.a, which may be absent
        for program, (sources, options) in PROGRAMS.items():
            built = subprocess.run(
                [
                    gcc,
                    "-O1",
                    "-Wall",
                    *options,
                    "-o",
                    str(directory / program),
                    *(str(ATTACK_SOURCES / source) for source in sources),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if built.returncode != 0 and "-static" in options:
                unbuilt[program] = built.stderr.strip().splitlines()[-1]
            elif built.returncode != 0:
                pytest.fail(f"gcc could not build {program}:\n{built.stderr}")
        # A set-user-ID root copy, for setuid-exec (run as nobody).
        suid = directory / "escape-suid"
        shutil.copy(directory / "escape-attack", suid)
        os.chown(suid, 0, 0)
        suid.chmod(0o4755)
        kill_policy = directory / "kill-getcwd.yaml"
        kill_policy.write_text(
            _policy_with_first_rules(
                "  - names: [getcwd]\n    action: kill_process\n"
                "    comment: the call the attacks on the supervisor make last\n"
            )
        )
        exec_policy = directory / "deny-new-exec-mappings.yaml"
        exec_policy.write_text(_policy_with_first_rules("  - include: deny_new_exec_mappings\n"))
        for path in (kill_policy, exec_policy):
            path.chmod(0o644)
        # setpriv still holds its capabilities when it execs (they go at that exec): it
        # can start an interpreter that uid 65534 could not exec itself, as seccomp_bpf.Popen
        # does (an interpreter under a directory closed to others, such as /root).
        runs, execs = (
            shutil.which("setpriv") is not None
            and subprocess.run(
                [*SETPRIV, *through, sys.executable, "-c", "import seccomp_bpf"],
                cwd=scratch,
                capture_output=True,
                check=False,
                timeout=60,
            ).returncode
            == 0
            for through in ((), ("/bin/sh", "-c", 'exec "$@"', "sh"))
        )
        yield Arsenal(directory, scratch, kill_policy, exec_policy, runs, execs, unbuilt)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- entry points ---------------------------------------------------------------------------------

POPEN_DRIVER: Final = """\
import sys
import seccomp_bpf
process = seccomp_bpf.Popen(sys.argv[1:], seccomp_bpf.default_policy())
code = process.wait()
sys.exit(128 - code if code < 0 else code)
"""


@dataclass(frozen=True)
class Entry:
    """How the attack is started: through ``seccomp-bpf run`` and its options, through
    ``seccomp_bpf.Popen``, or bare (the control)."""

    name: str
    argv: tuple[str, ...]


def run_entry(*options: str) -> Entry:
    name = " ".join(("seccomp-bpf run", *options))
    return Entry(name, (sys.executable, "-m", "seccomp_bpf", "run", *options, "--"))


RUN: Final = run_entry()
REPORT_DENIALS: Final = run_entry("--report-denials")
POPEN: Final = Entry("seccomp_bpf.Popen", (sys.executable, "-c", POPEN_DRIVER))
BARE: Final = Entry("no sandbox", ())


# --- what the outside world looks like ------------------------------------------------------------

_LIBC = ctypes.CDLL(None, use_errno=True) if IS_LINUX else None
_SYS_IOPRIO_GET: Final = 252  # arch/x86/entry/syscalls/syscall_64.tbl
_IOPRIO_WHO_PROCESS: Final = 1  # <linux/ioprio.h>


def _ioprio(pid: int) -> int | None:
    assert _LIBC is not None
    value = _LIBC.syscall(_SYS_IOPRIO_GET, _IOPRIO_WHO_PROCESS, pid)
    return None if value < 0 else int(value)


@dataclass(frozen=True)
class ProcessState:
    """A process as seen from outside; None where it could not be read (it died)."""

    state: str
    canary: bytes | None
    secret: bytes | None
    nice: int | None
    policy: int | None
    affinity: frozenset[int] | None
    nofile: str | None  # "soft hard", from /proc/PID/limits (prlimit needs CAP_SYS_RESOURCE)
    ioprio: int | None
    oom_score_adj: str | None

    @classmethod
    def of(cls, pid: int, address: int, fd: int) -> ProcessState:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return cls("gone", None, None, None, None, None, None, None, None)
        fields = stat.rpartition(")")[2].split()  # fields 3.. of proc(5)

        def read(function: Callable[[], object]) -> object:
            try:
                return function()
            except OSError:
                return None

        def canary() -> bytes:
            with open(f"/proc/{pid}/mem", "rb") as memory:
                memory.seek(address)
                return memory.read(16)

        canary_bytes = read(canary)
        secret = read(lambda: Path(f"/proc/{pid}/fd/{fd}").read_bytes())
        affinity = read(lambda: frozenset(os.sched_getaffinity(pid)))
        nofile = read(lambda: _open_files_limit(pid))
        oom = read(lambda: Path(f"/proc/{pid}/oom_score_adj").read_text().strip())
        return cls(
            state=fields[0],
            canary=canary_bytes if isinstance(canary_bytes, bytes) else None,
            secret=secret if isinstance(secret, bytes) else None,
            nice=int(fields[16]),
            policy=int(fields[38]),
            affinity=affinity if isinstance(affinity, frozenset) else None,
            nofile=nofile if isinstance(nofile, str) else None,
            ioprio=_ioprio(pid),
            oom_score_adj=oom if isinstance(oom, str) else None,
        )

    @property
    def alive(self) -> bool:
        return self.state not in ("gone", "Z", "X", "x")

    def changes(self, after: ProcessState) -> list[str]:
        """What differs in ``after``, in words."""
        if not after.alive:
            return [f"the victim died (state {self.state} -> {after.state})"]
        changed = []
        if after.state in ("T", "t") and self.state not in ("T", "t"):
            changed.append(f"the victim was stopped (state {after.state})")
        for name in (
            "canary",
            "secret",
            "nice",
            "policy",
            "affinity",
            "nofile",
            "ioprio",
            "oom_score_adj",
        ):
            before_value, after_value = getattr(self, name), getattr(after, name)
            if before_value != after_value:
                changed.append(f"the victim's {name} changed: {before_value!r} -> {after_value!r}")
        return changed


def _open_files_limit(pid: int) -> str:
    """The soft and hard RLIMIT_NOFILE of ``pid``, as /proc/PID/limits shows them."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return " ".join(line.split()[3:5])
    raise FileNotFoundError(f"/proc/{pid}/limits has no 'Max open files'")


def _processes_with(token: str) -> list[tuple[int, str, str]]:
    """(pid, comm, NSpid line) of every process whose command line holds ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if token.encode() not in cmdline:
                continue
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        nspid = next((line for line in status.splitlines() if line.startswith("NSpid:")), "")
        found.append((int(entry), comm, nspid))
    return found


def _host_settings() -> dict[str, str]:
    """Settings an escape would change, read outside."""
    settings = {}
    for path in (
        "/proc/sys/kernel/core_pattern",
        "/proc/sys/kernel/hostname",
        "/proc/sys/kernel/domainname",
        "/proc/sys/kernel/modprobe",
        "/proc/sys/kernel/poweroff_cmd",
    ):
        with contextlib.suppress(OSError):
            settings[path] = Path(path).read_text()
    return settings


# --- one run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One RESULT line of escape-attack (see attacks/escape.h)."""

    route: str
    verdict: str
    step: str
    error: str
    detail: str

    @classmethod
    def parse(cls, line: str) -> Result:
        parts = line.split(" ", 5)
        parts += [""] * (6 - len(parts))
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5].strip())

    def __str__(self) -> str:
        return f"{self.verdict} at {self.step} ({self.error}): {self.detail}"


@dataclass
class Run:
    """What one run of escape-attack under an entry point showed."""

    entry: Entry
    user: str
    command: list[str]
    token: str
    specs: dict[str, str]  # case.route -> the route as run ({placeholders} filled, %victim)
    results: dict[str, Result] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)  # routes that said START
    status: int | None = None  # the wait status of the command (seccomp-bpf run...)
    output: list[str] = field(default_factory=list)
    stderr: str = ""
    # What changed outside, and the route it is owed to (None: the run as a whole).
    changes: list[tuple[str | None, str]] = field(default_factory=list)

    def changes_for(self, case: Case) -> list[str]:
        route = self.specs[case.route]
        return [text for owner, text in self.changes if owner in (None, route)]

    def result(self, case: Case) -> Result:
        route = self.specs[case.route]
        if route in self.results:
            return self.results[route]
        if route in self.started:
            # Killed before it could report: by its own doing (it killed the sandbox around
            # it) or by the sandbox's.
            return Result(route, "VANISHED", "-", "-", "ended without a result")
        pytest.fail(f"route {route} never started{self.context()}")

    def exit_description(self) -> str:
        if self.status is None:
            return "did not end"
        if os.WIFSIGNALED(self.status):
            return f"was killed by {signal.Signals(os.WTERMSIG(self.status)).name}"
        return f"exited with status {os.waitstatus_to_exitcode(self.status)}"

    def context(self) -> str:
        stderr = self.stderr.strip()[-2000:]
        return (
            f"\n  entry: {self.entry.name}, as {self.user}"
            f"\n  command: {' '.join(self.command)}"
            f"\n  the command {self.exit_description()}"
            f"\n  output:\n    "
            + "\n    ".join(self.output[-40:])
            + (f"\n  stderr:\n    {stderr}" if stderr else "")
        )


def _route(case: Case, names: dict[str, str]) -> str:
    route = case.route
    for key, value in names.items():
        route = route.replace("{" + key + "}", value)
    return route


@dataclass
class Launch:
    """A run to start: which routes, as whom, through which entry point, around what."""

    cases: Sequence[Case]
    user: str
    entry: Entry
    # No victim; one for all the routes; or one for each route (the route's own, so that what
    # happens to it tells which route did it).
    victims: str = "none"
    same_pgrp: bool = False
    probe: bool = False
    host: bool = False  # compare the host settings before and after
    listeners: bool = False  # listen on the abstract sockets of SOCKETS
    terminal: bool = False  # a pseudo-terminal as controlling terminal and stdio
    shadow: bool = False  # a tmpfs on SHADOW with a file of root (escape-contain --shadow)
    program: str = "escape-attack"
    on_line: Callable[[str, Run], None] | None = None
    after: Callable[[Run], None] | None = None


def launch(arsenal: Arsenal, plan: Launch) -> Run:
    """Run escape-attack with the plan's routes in a contained namespace; see the module
    docstring."""
    if plan.user == UNPRIVILEGED and not arsenal.nobody_runs_python:
        pytest.skip(
            f"setpriv cannot start {sys.executable} with seccomp_bpf as uid {NOBODY} (no "
            "setpriv, or the checkout is not readable for that user)"
        )
    if plan.user == UNPRIVILEGED and plan.entry is POPEN and not arsenal.nobody_execs_python:
        pytest.skip(
            f"seccomp_bpf.Popen execs {sys.executable}, which uid {NOBODY} may not exec on "
            "this machine"
        )
    token = "tok" + secrets.token_hex(6)
    names = {
        f"socket-{kind}": f"seccomp-bpf-escape-{token}-{kind}"
        for kind in ("stream", "seqpacket", "dgram")
    }
    names["shadow"] = SHADOW
    names["pid-max"] = Path("/proc/sys/kernel/pid_max").read_text().strip()
    victims = {"none": 0, "shared": 1, "each": len(plan.cases)}[plan.victims]
    specs = {
        case.route: _route(case, names) + (f"%{i}" if plan.victims == "each" else "")
        for i, case in enumerate(plan.cases)
    }
    routes = list(specs.values())
    wrap = list(SETPRIV) if plan.user == UNPRIVILEGED else []
    scratch = f"{SHADOW}/scratch" if plan.shadow else str(arsenal.scratch)
    attack = [*wrap, *plan.entry.argv, arsenal.program(plan.program), "-t", token, "-d", scratch]
    for i in range(victims):
        attack += ["-V", f"@V{i}"]
    if plan.probe:
        attack.append("-K")
    attack += routes
    run = Run(plan.entry, plan.user, attack, token, specs)
    control_read, control_write = os.pipe()
    contain = [arsenal.program("escape-contain"), "--control", str(control_read)]
    if plan.same_pgrp:
        contain.append("--same-pgrp")
    if plan.terminal:
        contain.append("--tty")
    if plan.shadow:
        contain += ["--shadow", SHADOW]
    if victims:
        contain += ["--victims", str(victims)]
        contain += [*wrap, arsenal.program("escape-victim"), token, str(arsenal.scratch)]
    contain += ["--", *attack]
    sockets = (
        _listen({key: name for key, name in names.items() if key.startswith("socket-")})
        if plan.listeners
        else {}
    )
    host_before = _host_settings() if plan.host else {}
    master = slave = -1
    if plan.terminal:
        master, slave = os.openpty()
        tty.setraw(slave)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": str(arsenal.scratch),
    }
    stdio = slave if plan.terminal else subprocess.PIPE
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            contain,
            stdin=slave if plan.terminal else subprocess.DEVNULL,
            stdout=stdio,
            stderr=stderr,
            pass_fds=(control_read,),
            cwd=arsenal.scratch,
            env=env,
            start_new_session=True,
        )
        os.close(control_read)
        reader = master if plan.terminal else process.stdout.fileno() if process.stdout else -1
        try:
            states = _follow(reader, control_write, run, plan, victims=victims)
            if plan.terminal:
                run.changes += [(None, text) for text in _terminal_input(slave)]
            for i, (before, after) in enumerate(states):
                owner = routes[i] if plan.victims == "each" else None
                run.changes += [(owner, text) for text in before.changes(after)]
            if plan.shadow:
                run.changes += _shadow_changes(process.pid, routes)
            if plan.after is not None:
                plan.after(run)
        except BaseException:
            process.kill()  # its pid 1 dies with it (PDEATHSIG): the namespace goes
            for listener in sockets.values():
                listener.close()
            raise
        finally:
            os.close(control_write)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()  # its pid 1 dies with it (PDEATHSIG): the namespace goes
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
            for fd in (master, slave):
                if fd >= 0:
                    os.close(fd)
            stderr.seek(0)
            run.stderr = stderr.read().decode(errors="replace")
    for name, text in _listeners_reached(sockets):
        run.changes.append((next((r for r in routes if f"@{name}" in r), None), text))
    if plan.host:
        host_after = _host_settings()
        run.changes += [
            (None, f"{path} changed: {was!r} -> {host_after.get(path)!r}")
            for path, was in host_before.items()
            if host_after.get(path) != was
        ]
    run.changes += [(None, text) for text in _leftover_segments()]
    return run


def _shadow_changes(contain: int, routes: Sequence[str]) -> list[tuple[str | None, str]]:
    """What happened to the shadow's root-file, seen through the root of the run's pid 1."""
    children = Path(f"/proc/{contain}/task/{contain}/children").read_text().split()
    path = Path(f"/proc/{children[0]}/root{SHADOW}/root-file")
    changes: list[tuple[str | None, str]] = []
    if (mode := path.stat().st_mode & 0o7777) != 0o644:
        owner = next((route for route in routes if route.startswith("chmod@")), None)
        changes.append((owner, f"{SHADOW}/root-file is now mode {mode:#o}, not 0o644"))
    if (content := path.read_bytes()) != b"root's\n":
        changes.append((None, f"{SHADOW}/root-file now holds {content!r}"))
    return changes


def _follow(
    reader: int, control: int, run: Run, plan: Launch, *, victims: int
) -> list[tuple[ProcessState, ProcessState]]:
    """Read the run's lines until the command ends; the victims' states before and after."""
    deadline = time.monotonic() + RUN_TIMEOUT
    buffer = b""
    found: list[tuple[int, int, int]] = []
    before: list[ProcessState] = []
    if not victims:
        os.write(control, b"g")
    while True:
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([reader], [], [], max(remaining, 0))
            if not ready:
                pytest.fail(f"the run did not end within {RUN_TIMEOUT} s{run.context()}")
            try:
                chunk = os.read(reader, 65536)
            except OSError:  # a pseudo-terminal whose other side is closed
                chunk = b""
            if not chunk:
                pytest.fail(f"the run ended without CONTAIN-EXIT{run.context()}")
            buffer += chunk
        raw, _, buffer = buffer.partition(b"\n")
        line = raw.decode(errors="replace").rstrip("\r")
        run.output.append(line)
        if line.startswith("VICTIM-READY"):
            found.append(_find_victim(line, run.token))
            before.append(ProcessState.of(*found[-1]))
            if len(found) == victims:
                os.write(control, b"g")
        elif line.startswith("RESULT "):
            result = Result.parse(line)
            run.results[result.route] = result
        elif line.startswith("START "):
            run.started.add(line.partition(" ")[2])
        elif line.startswith("CONTAIN-EXIT status="):
            run.status = int(line.partition("=")[2])
            return [
                (state, ProcessState.of(*where)) for state, where in zip(before, found, strict=True)
            ]
        if plan.on_line is not None:
            plan.on_line(line, run)


def _find_victim(line: str, token: str) -> tuple[int, int, int]:
    """(outer pid, canary address, secret descriptor) of the victim of a VICTIM-READY line."""
    fields = dict(item.split("=", 1) for item in line.split()[1:])
    for _ in range(100):
        for pid, _comm, nspid in _processes_with(token):
            if nspid.split()[-1:] == [fields["pid"]]:
                return pid, int(fields["addr"], 16), int(fields["fd"])
        time.sleep(0.01)
    pytest.fail(f"the victim of {line!r} is not in /proc")


def _listen(names: dict[str, str]) -> dict[str, socket.socket]:
    sockets = {}
    for key, name in names.items():
        kind = {
            "stream": socket.SOCK_STREAM,
            "seqpacket": socket.SOCK_SEQPACKET,
            "dgram": socket.SOCK_DGRAM,
        }[key.rpartition("-")[2]]
        listener = socket.socket(socket.AF_UNIX, kind)
        listener.bind("\0" + name)
        if kind != socket.SOCK_DGRAM:
            listener.listen(8)
        listener.setblocking(False)
        sockets[name] = listener
    return sockets


def _listeners_reached(sockets: dict[str, socket.socket]) -> list[tuple[str, str]]:
    """(socket name, what reached it) for each listener something reached."""
    reached = []
    for name, listener in sockets.items():
        try:
            if listener.type == socket.SOCK_DGRAM:
                data = listener.recv(64)
                reached.append((name, f"@{name} received a datagram {data!r} from the sandbox"))
            else:
                connection, _ = listener.accept()
                connection.close()
                reached.append((name, f"@{name} accepted a connection from the sandbox"))
        except BlockingIOError:
            pass
        finally:
            listener.close()
    return reached


def _terminal_input(slave: int) -> list[str]:
    """What waits in the pseudo-terminal's input queue (TIOCSTI puts it there)."""
    waiting = ctypes.c_int(0)
    fcntl.ioctl(slave, termios.FIONREAD, waiting)
    if not waiting.value:
        return []
    os.set_blocking(slave, False)
    with contextlib.suppress(BlockingIOError):
        data = os.read(slave, 4096)
        return [f"{waiting.value} bytes were typed into the terminal: {data!r}"]
    return [f"{waiting.value} bytes were typed into the terminal"]


SEGMENT_KEYS: Final = range(0x5ECC0000, 0x5ECD0000)  # exec_memory.c: 0x5ecc0000 + (pid & 0xffff)


def _leftover_segments() -> list[str]:
    """SysV shared memory segments an attack left behind; removed here."""
    left = []
    with contextlib.suppress(OSError), open("/proc/sysvipc/shm", encoding="ascii") as table:
        next(table)
        for line in table:
            key, shmid = (int(value) for value in line.split()[:2])
            if key in SEGMENT_KEYS:
                subprocess.run(["ipcrm", "-m", str(shmid)], check=False, capture_output=True)
                left.append(f"SysV segment {key:#x} was left behind (now removed)")
    return left


# --- judging --------------------------------------------------------------------------------------


def where(case: Case, run: Run) -> str:
    return (
        f"escape {case.escape} ({ESCAPES[case.escape]}), route {case.name} as {run.user} "
        f"under {run.entry.name}"
    )


def assert_held(case: Case, run: Run) -> None:
    """The route failed with a denial, and the outside world is as it was."""
    result = run.result(case)
    changes = run.changes_for(case)
    outside = f"; outside: {'; '.join(changes)}" if changes else ""
    if result.verdict == "ESCAPED":
        pytest.fail(f"{where(case, run)} got through: {result.detail}{outside}{run.context()}")
    if result.verdict == "KILLED" and result.detail != "SIGSYS":
        pytest.fail(
            f"{where(case, run)}: the attack died by {result.detail}, which is no "
            f"denial: the route is broken{run.context()}"
        )
    if result.verdict == "BROKEN":
        pytest.fail(f"{where(case, run)}: the route is broken ({result.detail}){run.context()}")
    if result.verdict == "DONE" and not case.outside:
        pytest.fail(f"{where(case, run)} got through: {result.detail}{run.context()}")
    if result.verdict == "VANISHED" and not case.outside:
        pytest.fail(f"{where(case, run)}: the route {result.detail}{run.context()}")
    if result.verdict == "BLOCKED" and result.error not in DENIALS | case.also:
        pytest.fail(
            f"{where(case, run)} failed with {result.error} at {result.step}, which is "
            f"no denial: the attack broke before reaching the sandbox "
            f"({result.detail}){run.context()}"
        )
    if changes:
        pytest.fail(
            f"{where(case, run)} changed the world outside: {'; '.join(changes)} "
            f"(the route said: {result}){run.context()}"
        )


def assert_got_through(case: Case, run: Run) -> None:
    """The control: without the sandbox, the route gets through (itself or seen outside)."""
    result = run.result(case)
    changes = run.changes_for(case)
    if result.verdict == "ESCAPED" or (result.verdict in ("DONE", "VANISHED") and changes):
        return
    pytest.fail(
        f"{where(case, run)}: the attack does not get through even without a sandbox "
        f"({result}; outside: {'; '.join(changes) or 'nothing changed'}), so the sandboxed "
        f"case proves nothing{run.context()}"
    )


def skip_if_absent(case: Case) -> None:
    if case.i386 and not has_i386_emulation():
        pytest.skip("this kernel runs no i386 calls (int 0x80)")
    if case.host_path is not None and not os.path.exists(case.host_path):
        pytest.skip(f"{case.host_path} does not exist on this machine")
    if case.route == "sched-setaffinity" and len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: a change of affinity would not show")


# --- sessions' shared runs ------------------------------------------------------------------------

Batch = Callable[[Sequence[Case], str, Entry, str], Run]


@pytest.fixture(scope="session")
def batch(arsenal: Arsenal) -> Batch:
    """Runs of many routes at once, made once per list, user, entry point and victims: routes
    whose effects stay in their own process or on their own victim ("each"), so that each
    result still belongs to one route."""
    made: dict[tuple[tuple[Case, ...], str, str, str], Run] = {}

    def get(cases: Sequence[Case], user: str, entry: Entry, victims: str) -> Run:
        chosen = tuple(case for case in cases if user in case.users or not case.control)
        key = (chosen, user, entry.name, victims)
        if key not in made:
            made[key] = launch(
                arsenal,
                Launch(
                    chosen,
                    user,
                    entry,
                    victims=victims,
                    host=any(case.escape == 2 for case in chosen),
                    listeners=any(case.escape == 8 for case in chosen),
                    terminal=any(case.escape == 7 for case in chosen),
                    shadow=any("{shadow}" in case.route for case in chosen),
                    program="escape-attack-static"
                    if any(case.escape == 6 for case in chosen)
                    else "escape-attack",
                ),
            )
        return made[key]

    return get


@dataclass(frozen=True)
class Family:
    """Cases tried together: in one run (their victims "shared" or one "each"), but for the
    ``alone`` ones, each in a run of its own with a victim of its own."""

    cases: tuple[Case, ...]
    victims: str = "none"

    def run(self, arsenal: Arsenal, batch: Batch, case: Case, user: str, entry: Entry) -> Run:
        if case.alone:
            victims = "none" if self.victims == "none" else "shared"
            plan = Launch((case,), user, entry, victims=victims, same_pgrp=case.same_pgrp)
            return launch(arsenal, plan)
        together = tuple(other for other in self.cases if not other.alone)
        return batch(together, user, entry, self.victims)


FAMILIES: Final = {
    "memory-writes": Family(MEMORY_WRITES, "each"),
    "memory-reads": Family(MEMORY_READS, "shared"),
    "host": Family(HOST),
    "userfaultfd": Family(USERFAULTFD),
    "signals": Family(SIGNALS, "each"),
    "exec-memory": Family(EXEC_MEMORY),
    "terminal": Family(TERMINAL),
    "sockets": Family(SOCKETS),
    "classic": Family(CLASSIC + INHERITED),
}


# --- the attack programs never run loose ----------------------------------------------------------


def test_routes_that_reach_everything_refuse_to_run_loose(arsenal: Arsenal) -> None:
    """kill(-1) as root in the machine's PID namespace kills every process but init: the
    routes that reach beyond their own victim are marked ``LOOSE`` in escape-attack, which
    refuses to run them outside a PID namespace of their own (escape-contain's)."""
    attack = arsenal.program("escape-attack")
    listing = subprocess.run([attack, "-l"], capture_output=True, text=True, check=True)
    loose = {line.split()[0] for line in listing.stdout.splitlines() if line.endswith(" loose")}
    reaching = {case.route for case in SIGNALS + SUPERVISOR if case.alone or case.escape == 5}
    reaching = {route.partition("@")[0] for route in reaching} | {"sleep", "sleep-detached"}
    assert reaching <= loose, f"not marked LOOSE: {sorted(reaching - loose)}"
    if os.readlink("/proc/self/ns/pid") != "pid:[4026531836]":
        pytest.skip("the tests run in a PID namespace of their own: no refusal to show")
    # "sleep" is the one such route that harms nothing if the refusal failed.
    refused = subprocess.run(
        [attack, "sleep"], capture_output=True, text=True, timeout=20, check=False
    )
    assert "RESULT sleep BROKEN namespace" in refused.stdout, refused.stdout


# --- 1. another process's memory ------------------------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(MEMORY_WRITES))
def test_memory_of_another_process_cannot_be_written(
    arsenal: Arsenal, batch: Batch, case: Case, user: str
) -> None:
    skip_if_absent(case)
    assert_held(case, FAMILIES["memory-writes"].run(arsenal, batch, case, user, RUN))


@pytest.mark.parametrize(("case", "user"), params(MEMORY_READS))
def test_another_process_cannot_be_read_or_seen(
    arsenal: Arsenal, batch: Batch, case: Case, user: str
) -> None:
    skip_if_absent(case)
    assert_held(case, FAMILIES["memory-reads"].run(arsenal, batch, case, user, RUN))


# --- 2. host settings and privileged helpers ------------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(HOST))
def test_host_settings_and_helpers_are_out_of_reach(
    arsenal: Arsenal, batch: Batch, case: Case, user: str
) -> None:
    skip_if_absent(case)
    assert_held(case, FAMILIES["host"].run(arsenal, batch, case, user, RUN))


# --- 3. userfaultfd -------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(USERFAULTFD))
def test_no_userfaultfd_by_any_door(arsenal: Arsenal, batch: Batch, case: Case, user: str) -> None:
    skip_if_absent(case)
    assert_held(case, FAMILIES["userfaultfd"].run(arsenal, batch, case, user, RUN))


# --- 4. signals and scheduling of another process -------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(SIGNALS))
def test_another_process_cannot_be_signalled_or_rescheduled(
    arsenal: Arsenal, batch: Batch, case: Case, user: str
) -> None:
    skip_if_absent(case)
    assert_held(case, FAMILIES["signals"].run(arsenal, batch, case, user, RUN))


# --- 5. the --report-denials supervisor -----------------------------------------------------------


def _supervisor_entry(arsenal: Arsenal) -> Entry:
    return run_entry("--report-denials", "-p", str(arsenal.kill_policy))


def assert_kill_rule_holds(case: Case, run: Run) -> None:
    """After the route, the probe was killed by the policy's kill_process rule, and the
    supervisor lived to say so (status 128 + SIGSYS)."""
    probe = run.results.get("probe")
    route = run.results.get(case.route)
    said = f" (the route said: {route})" if route is not None else ""
    if probe is not None:
        pytest.fail(
            f"{where(case, run)} switched the supervisor off: {probe.detail}; the "
            f"command {run.exit_description()}{said}{run.context()}"
        )
    if run.status is None or os.waitstatus_to_exitcode(run.status) != SIGSYS_STATUS:
        pytest.fail(
            f"{where(case, run)}: the command {run.exit_description()}, not with "
            f"{SIGSYS_STATUS} (its kill by the policy, reported by a living "
            f"supervisor){said}{run.context()}"
        )


@pytest.mark.parametrize(("case", "user"), params(SUPERVISOR))
def test_the_supervisor_cannot_be_switched_off(arsenal: Arsenal, case: Case, user: str) -> None:
    run = launch(arsenal, Launch((case,), user, _supervisor_entry(arsenal), probe=True))
    assert_held(case, run)
    assert_kill_rule_holds(case, run)


@pytest.mark.parametrize("user", BOTH)
@pytest.mark.parametrize(
    "entry", [RUN, REPORT_DENIALS, POPEN], ids=["run", "report-denials", "popen"]
)
@pytest.mark.parametrize("route", ["sleep", "sleep-detached"])
def test_the_command_dies_with_whatever_started_it(
    arsenal: Arsenal, route: str, entry: Entry, user: str
) -> None:
    """Killing ``seccomp-bpf run`` (or the Python program that called ``Popen``) from outside
    ends the command too, instead of leaving it running unsupervised (PR_SET_PDEATHSIG), even
    a command that clears its own parent-death signal and leaves its parent and session
    (``sleep-detached``)."""
    case = Case(route, 5, outside=True)
    left: list[str] = []

    def kill_the_starter(line: str, run: Run) -> None:
        if not line.startswith(f"RESULT {route} DONE"):
            return
        # The process escape-contain started (seccomp-bpf run, or the Python program that
        # called Popen), and only that one: helpers the sandbox forks from it carry the same
        # command line, and must die of its death, not of this test's hand.
        contains = {pid for pid, comm, _ in _processes_with(run.token) if comm == "escape-contain"}
        starters = [
            pid
            for pid, comm, _ in _processes_with(run.token)
            if comm not in ("escape-contain", "escape-attack") and _parent(pid) in contains
        ]
        assert len(starters) == 1, f"the starter is not to be found: {starters}{run.context()}"
        os.kill(starters[0], signal.SIGKILL)  # started by this test, in its namespace

    def attack_gone(run: Run) -> None:
        deadline = time.monotonic() + 1  # escape-contain has already waited 2 s for it
        while time.monotonic() < deadline:
            alive = [
                pid
                for pid, comm, _ in _processes_with(run.token)
                if comm == "escape-attack" and _state(pid) not in ("Z", "X", "gone")
            ]
            if not alive:
                return
            time.sleep(0.05)
        left.extend(
            f"the command (pid {pid}) still runs after its starter was killed" for pid in alive
        )

    run = launch(arsenal, Launch((case,), user, entry, on_line=kill_the_starter, after=attack_gone))
    assert run.results.get(route) is not None, f"the command did not start{run.context()}"
    assert not left, f"{where(case, run)}: {'; '.join(left)}{run.context()}"


def _parent(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), 0
    )


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "gone"


# --- 6. executable memory -------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(EXEC_MEMORY))
def test_no_new_executable_memory_under_deny_new_exec_mappings(
    arsenal: Arsenal, batch: Batch, case: Case, user: str
) -> None:
    skip_if_absent(case)
    entry = run_entry("-p", str(arsenal.exec_policy))
    assert_held(case, FAMILIES["exec-memory"].run(arsenal, batch, case, user, entry))


def test_remapping_alone_makes_nothing_executable(arsenal: Arsenal) -> None:
    """mremap(2) and remap_file_pages(2) keep a mapping's protection: even without any filter
    they cannot turn written memory into code, so deny_new_exec_mappings need not name them."""
    cases = (Case("mremap-over-code", 6), Case("remap-file-pages", 6))
    run = launch(arsenal, Launch(cases, ROOT, BARE))
    for case in cases:
        result = run.result(case)
        assert (result.verdict, result.error) == ("BLOCKED", "-"), f"{case.route}: {result}"
        assert "not executable" in result.detail, f"{case.route}: {result}"


# --- 7. the terminal ------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(TERMINAL))
def test_nothing_is_typed_into_the_terminal(
    arsenal: Arsenal, batch: Batch, case: Case, user: str
) -> None:
    skip_if_absent(case)
    if Path("/proc/sys/dev/tty/legacy_tiocsti").read_text().strip() == "0":
        pytest.skip("dev.tty.legacy_tiocsti is 0: the kernel refuses TIOCSTI itself")
    assert_held(case, FAMILIES["terminal"].run(arsenal, batch, case, user, RUN))


# --- 8. abstract UNIX sockets ---------------------------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(SOCKETS))
def test_abstract_sockets_outside_cannot_be_reached(
    arsenal: Arsenal, batch: Batch, case: Case, user: str
) -> None:
    assert_held(case, FAMILIES["sockets"].run(arsenal, batch, case, user, RUN))


# --- 9. classics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "user"), params(CLASSIC + INHERITED))
def test_classic_escapes_fail(arsenal: Arsenal, batch: Batch, case: Case, user: str) -> None:
    skip_if_absent(case)
    assert_held(case, FAMILIES["classic"].run(arsenal, batch, case, user, RUN))


# --- every entry point ----------------------------------------------------------------------------

ENTRY_CASES: Final = (
    next(case for case in HOST if case.name == "cap-eff"),
    next(case for case in HOST if case.name == "core-pattern"),
    next(case for case in USERFAULTFD if case.name == "uffd-dev"),
    next(case for case in CLASSIC if case.name == "unshare-user"),
    INHERITED[0],
)
ENTRY_VICTIM_CASES: Final = (
    MEMORY_WRITES[0],  # proc-mem-write
    SIGNALS[0],  # kill
    next(case for case in SIGNALS if case.name == "setpriority-process"),
)


@pytest.mark.parametrize("entry", [REPORT_DENIALS, POPEN], ids=["report-denials", "popen"])
@pytest.mark.parametrize(("case", "user"), params(ENTRY_CASES + SOCKETS[:1]))
def test_every_entry_point_holds(batch: Batch, entry: Entry, case: Case, user: str) -> None:
    skip_if_absent(case)
    assert_held(case, batch(ENTRY_CASES + SOCKETS[:1], user, entry, "none"))


@pytest.mark.parametrize("entry", [REPORT_DENIALS, POPEN], ids=["report-denials", "popen"])
@pytest.mark.parametrize(("case", "user"), params(ENTRY_VICTIM_CASES))
def test_every_entry_point_protects_other_processes(
    batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    assert_held(case, batch(ENTRY_VICTIM_CASES, user, entry, "each"))


# --- controls: each attack works where nothing stops it -------------------------------------------


@pytest.mark.parametrize(
    ("family", "case", "user"),
    [
        pytest.param(name, case, user, id=f"{case.name}-{user}")
        for name, family in FAMILIES.items()
        for case in family.cases
        if case.control
        for user in case.users
    ],
)
def test_the_attack_gets_through_unconfined(
    arsenal: Arsenal, batch: Batch, family: str, case: Case, user: str
) -> None:
    skip_if_absent(case)
    assert_got_through(case, FAMILIES[family].run(arsenal, batch, case, user, BARE))
