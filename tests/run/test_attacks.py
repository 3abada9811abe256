"""Attacks on the sandbox of ``seccomp-bpf run``: real programs try every way out they know,
under the real command, and each escape must fail while the world outside stays untouched.

Catalogue. Each attack is a *route* of ``tests/run/attacks/escape-attack`` (its C source says
how it works); a test case is one route as one user (``root``, or ``nobody``: uid 65534 with no
capabilities, through ``setpriv``) through one entry point.

1. Another process's memory and secrets (victim: ``escape-victim``, same uid, outside).
   Writes: ``proc-mem-write``, ``task-mem-write`` (/proc/PID[/task/TID]/mem + pwrite),
   ``process-vm-writev``, ``ptrace-attach-poke``, ``ptrace-seize-poke`` (POKEDATA),
   ``ptrace-attach-i386`` (int 0x80). Reads: ``proc-mem-read``, ``process-vm-readv``,
   ``fd-reopen-read``/``-write`` (/proc/PID/fd/N of an unlinked file), ``pidfd-getfd``,
   ``proc-environ``, ``proc-cmdline``, ``proc-maps``, ``proc-visible`` (the victim listed in
   /proc at all), ``kcmp``, ``get-robust-list``, ``unconfined-neighbour`` (any visible process
   without a seccomp filter whose memory opens for writing: outside, or a helper of the
   sandbox itself).
2. Host settings and privileged helpers: the five capability sets (``cap-*``, all must be 0)
   and ``no-new-privs``; opening for writing (never writing) core_pattern, modprobe,
   poweroff_cmd (the kernel runs those programs as root), hostname, domainname,
   sysrq-trigger, binfmt_misc/register, uevent_helper, drop_caches, suid_dumpable,
   ip_forward, /dev/kmsg, core_pattern again through /proc/self/root and through
   /proc/1/root; ``proc-sys-writable`` and ``sys-writable`` (any file of /proc/sys and /sys,
   submounts such as cgroup v1's included), ``cgroup-release-agent``; ``sethostname``,
   ``setdomainname`` (also i386), ``mount``, ``mknod``, each probed with arguments refused
   only after the privilege check; ``setuid-exec`` (a set-user-ID root program, as nobody).
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
   kill(-1), the process group of its own and of the parent (through SIGIO when that group
   is 1, a PID namespace's init's, which kill(-1) cannot name), its descriptor limit set to
   0, its listener taken with pidfd_getfd; each followed by a call the policy fails with
   EXDEV, which only a living supervisor answers so, and one the policy kills, which must
   still kill (SIGSYS, status 159), not return ENOSYS or EPERM. Also: the command, and
   whatever it started, detached or not, dies when ``run`` (or the Python program that used
   ``Popen``) is killed, and nothing but 0, 1 and 2 is inherited (``inherited-fds``).
6. Executable memory under ``include: deny_new_exec_mappings`` (a static build of the attack
   program: the dynamic loader maps the C library with PROT_EXEC, which the rule set refuses
   once the filter is on): mmap, mprotect, pkey_mprotect, shmat(SHM_EXEC) (x86-64, i386
   shmat, i386 ipc(SHMAT)), memfd + mmap, i386 mmap2, old_mmap, mprotect, pkey_mprotect,
   personality(READ_IMPLIES_EXEC) + mmap without PROT_EXEC, /proc/self/mem over the
   program's own code; each writes code there and runs it. What the rule set does not cover,
   as its docstring says, is shown too: mremap and remap_file_pages keep a mapping's
   protection and cannot make memory executable by themselves; a program whose file asks
   for an executable stack gets one from execve (``execstack``).
7. The terminal: TIOCSTI (on standard input, /dev/tty, with bit 32 set in the request,
   through int 0x80), TIOCLINUX (also through int 0x80) and TIOCSCTTY (taking the terminal
   from its session), on a pseudo-terminal of the test made the controlling terminal; its
   input queue must stay empty.
8. Abstract UNIX sockets (stream, seqpacket, datagram) that the test listens on outside.
9. Classics of container escapes: io_uring (also i386), open_by_handle_at (Shocker),
   add_key, bpf, perf_event_open, new user namespaces (unshare, also i386, clone, clone3),
   chroot, pivot_root, setns, syslog, the mount API (fsopen, open_tree). And, as root without
   capabilities is still the owner of the machine's files (no capability needed, and
   Landlock has no right for chmod): /etc/passwd and the C library opened for writing,
   /etc/passwd through a hard link put in a writable directory, and chmod of a file of root.
10. The sandbox's own helpers, which the command can see (init in its PID namespace; without
   one the keeper, ``seccomp-bpf run``, the stand-in of ``Popen`` and what started them):
   ptrace, /proc/PID/mem opened for writing, /proc/PID/environ, pidfd_getfd of their
   descriptors, one to four levels up; and signals, process group, SIGIO and limits aimed
   at the parent; the helpers must live on (the run ends normally).

Entry points. ``seccomp-bpf run -- ...``; with ``--share-pid`` and with ``--no-namespaces``
(the opt-outs: what the README says still holds without those layers must hold); with
``--report-denials``; with ``-p POLICY``; and ``seccomp_bpf.Popen(argv, default_policy())``,
also with ``Sandbox(share_pid=True)``. What the README's table says an opt-out leaves open is
tried too, and must get through (:func:`test_what_each_opt_out_leaves_open`): the table is
exact both ways. :func:`test_each_layer_alone` turns layers off one by one and checks the
error that tells which layer stopped a route (ENOENT/ESRCH: the PID namespace; EROFS: the
read-only mounts; EACCES: Landlock; EPERM: the filter, the capabilities or Landlock's
scoping, as the row says).

How the tests run. ``escape-contain`` puts each run in a PID and mount namespace of its own
(with its own /proc), so that an attack that gets through (kill(-1) as root, PRIO_USER)
reaches only processes of the test; in it the victims are pids 30000, 30001..., out of the
range the sandbox would give its own processes. Routes that reach nothing but their own
victim share a run, each with a victim of its own, so that what happened to a victim tells
which route did it; the others (PRIO_USER, kill(-1), the process-group ones, the attacks on
the supervisor) have a run each. The programs live outside /tmp, which the sandbox has its
own of, so that the routes that run a companion program (``setuid-exec``, ``execstack``)
find it. Each attack has a control: the same route run without the sandbox must get through
(:func:`test_the_attack_gets_through_unconfined`), so that a case that holds shows the
sandbox at work, not a broken attack. The exceptions are states rather than attacks
(``cap-inh``, ``cap-amb``, ``inherited-fds``: empty outside too), the attacks on the
supervisor and the helpers, which need a sandbox to attack.
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
from tests.run.sandboxed import SETPRIV, UnprivilegedPython, unprivileged_python

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
    10: "the sandbox's own helpers",
}

# Errors that mean "refused" (and "-": nothing to take, see escape.h). Any other error shows
# an attack that failed for its own reasons, which proves nothing about the sandbox.
DENIALS: Final = frozenset({"EPERM", "EACCES", "ESRCH", "ENOENT", "EROFS", "-"})


# --- the cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One attack route. ``users``: who it gets through for without the sandbox (and so who
    it is tried as). ``outside``: a DONE result is judged by the outside world (the route
    cannot see its own effect). ``also``: errors that are denials for this route.
    ``without_pid`` and ``without_mounts``: the users for whom the README says the route
    gets through without a PID namespace (``--share-pid``, ``--no-namespaces``) or without
    any namespace (``--no-namespaces``)."""

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
    without_pid: tuple[str, ...] = ()
    without_mounts: tuple[str, ...] = ()

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


# Without a PID namespace the user's other processes are there to name. The README's table
# ("What it does not protect against") lists what then still works on them: seeing them and
# their command lines, prlimit64 and pidfd_open, and, on processes that hold no more
# capabilities than the sandbox (an unprivileged user's), renicing, pinning and rescheduling.
VISIBLE: Final = BOTH
SCHEDULING: Final = (UNPRIVILEGED,)

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
    Case("proc-cmdline", 1, without_pid=VISIBLE),
    Case("proc-maps", 1),
    Case("proc-visible", 1, without_pid=VISIBLE),
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
    Case("pidfd-open", 4, without_pid=VISIBLE),
    Case("pidfd-send-signal", 4),
    Case("procfd-send-signal", 4),
    Case("sigio-pipe", 4, outside=True),
    Case("sigio-socket", 4, outside=True),
    Case("sigio-pgrp", 4, outside=True),
    Case("sigio-fiosetown", 4, outside=True),
    Case("kill-i386", 4, i386=True),
    Case("tkill-i386", 4, i386=True),
    Case("setpriority-i386", 4, i386=True, without_pid=SCHEDULING),
    Case("prlimit", 4, without_pid=VISIBLE),
    Case("sched-setaffinity", 4, without_pid=SCHEDULING),
    Case("setpriority-process", 4, without_pid=SCHEDULING),
    Case("setpriority-pgrp", 4, without_pid=SCHEDULING),
    Case("setpriority-user", 4, outside=True, alone=True, without_pid=SCHEDULING),
    Case("sched-fifo", 4, users=(ROOT,)),  # RLIMIT_RTPRIO is 0 for others
    Case("sched-idle", 4, without_pid=SCHEDULING),
    Case("sched-setattr", 4, without_pid=SCHEDULING),
    Case("ioprio-process", 4, without_pid=SCHEDULING),
    Case("ioprio-pgrp", 4, without_pid=SCHEDULING),
    Case("ioprio-user", 4, outside=True, alone=True, without_pid=SCHEDULING),
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
    # Without a user namespace an unprivileged user cannot change its bounding set: nothing
    # to gain under no_new_privs (kernel/capabilities.py), said by --show-layers.
    Case("cap-bnd", 2, without_mounts=(UNPRIVILEGED,)),
    # Empty even for root outside: checked because a sandbox that keeps a capability
    # (--cap) may fill them; no control.
    Case("cap-inh", 2, control=False),
    Case("cap-amb", 2, control=False),
    Case("no-new-privs", 2),
    _open("open-wronly", "/proc/sys/kernel/core_pattern", 2, "core-pattern"),
    _open(
        "open-wronly",
        "/proc/self/root/proc/sys/kernel/core_pattern",
        2,
        "core-pattern-via-self-root",
        exists="/proc/sys/kernel/core_pattern",
    ),
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
    _open("open-wronly", "/dev/kmsg", 2, "kmsg"),
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
    Case("tiocsctty", 7, users=(ROOT,)),  # CAP_SYS_ADMIN; last: it takes the terminal
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
    # No Landlock right covers chmod: only the read-only mounts stop it (README).
    Case(
        "chmod@{shadow}/root-file",
        9,
        (ROOT,),
        host_path=SHADOW,
        id="chmod-root-file",
        without_mounts=(ROOT,),
    ),
    _open("open-wronly", "/etc/passwd", 9, "etc-passwd"),
    _open("open-wronly", _libc(), 9, "libc"),
    _open("open-rdonly", "/dev/mem", 9, "dev-mem"),
    _open("open-rdonly", "/proc/kcore", 9, "kcore"),
)
# A state, not an attack: nothing outside the sandbox to compare with; no control.
INHERITED: Final = (Case("inherited-fds", 5, control=False),)
# The helpers N levels above escape-attack (see supervisor.c), and signals to the parent;
# no control (they need a sandbox to attack). Which helper is where depends on the entry:
# in a PID namespace only its init is there (level 1).
HELPERS: Final = (
    *(
        Case(f"{route}@{level}", 10, id=f"{route}-{level}", control=False)
        for route in ("ptrace-ancestor", "mem-write-ancestor", "environ-ancestor", "fds-ancestor")
        for level in range(1, 5)
    ),
    *(
        Case(route, 10, outside=True, control=False)
        for route in (
            "kill-parent",
            "pidfd-parent",
            "sigio-parent",
            "sigqueue-parent",
            "killpg-parent",
            "prlimit-parent",
        )
    ),
)


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
    policies: dict[str, Path]  # "kill", "exec", "allow": see the fixture
    python: UnprivilegedPython | None  # for uid 65534
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


POLICIES: Final = {
    # The probe of the supervisor routes (main.c): getcwd(buffer, 1) fails with EXDEV, which
    # only the supervisor answers so; any other getcwd kills.
    "kill": _policy_with_first_rules(
        "  - names: [getcwd]\n    action: errno(EXDEV)\n"
        "    when: {arg: 1, op: eq, value: 1}\n"
        "  - names: [getcwd]\n    action: kill_process\n"
        "    comment: the call the attacks on the supervisor make last\n"
    ),
    "exec": _policy_with_first_rules("  - include: deny_new_exec_mappings\n"),
    "allow": "default_action: allow\narches: [native+compat]\n",
}


def _home_of_the_programs() -> Path:
    """A new directory outside /tmp and /run, which a sandbox has its own of: the routes
    that run a companion program must find it there."""
    for parent in ("/var/tmp", str(Path(__file__).resolve().parents[2])):
        if os.path.isdir(parent) and os.access(parent, os.W_OK):
            return Path(tempfile.mkdtemp(prefix="seccomp-bpf-escapes-", dir=parent))
    pytest.skip("no directory outside /tmp and /run to build the attack programs in")


@pytest.fixture(scope="session")
def arsenal() -> Iterator[Arsenal]:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc to build the attack programs")
    directory = _home_of_the_programs()
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
        policies = {}
        for name, text in POLICIES.items():
            policies[name] = directory / f"{name}.yaml"
            policies[name].write_text(text)
            policies[name].chmod(0o644)
        yield Arsenal(directory, scratch, policies, unprivileged_python(), unbuilt)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# --- entry points ---------------------------------------------------------------------------------

POPEN_DRIVER: Final = """\
import sys, threading
import seccomp_bpf
from seccomp_bpf import Sandbox
options = sys.argv[1].split(",")
if "--threads" in options:  # a second thread: the child starts as an isolated interpreter
    threading.Thread(target=threading.Event().wait, daemon=True).start()
sandbox = Sandbox(share_pid="--share-pid" in options)
process = seccomp_bpf.Popen(sys.argv[2:], seccomp_bpf.default_policy(), sandbox=sandbox)
code = process.wait()
sys.exit(128 - code if code < 0 else code)
"""


@dataclass(frozen=True)
class Entry:
    """How the attack is started: through ``seccomp-bpf run`` and its ``options`` (where
    ``{kill}``, ``{exec}`` and ``{allow}`` name the arsenal's policies), through
    ``seccomp_bpf.Popen`` (``--share-pid``: with ``Sandbox(share_pid=True)``), or bare (the
    control)."""

    id: str
    kind: str  # "run", "popen" or "bare"
    options: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        if self.kind == "bare":
            return "no sandbox"
        start = "seccomp-bpf run" if self.kind == "run" else "seccomp_bpf.Popen"
        return " ".join((start, *self.options))

    @property
    def pid_namespace(self) -> bool:
        return self.kind != "bare" and not {"--share-pid", "--no-namespaces"} & {*self.options}

    @property
    def namespaces(self) -> bool:
        return self.kind != "bare" and "--no-namespaces" not in self.options

    def argv(self, python: str, arsenal: Arsenal) -> list[str]:
        if self.kind == "bare":
            return []
        options = [
            option.format(**{name: str(path) for name, path in arsenal.policies.items()})
            for option in self.options
        ]
        if self.kind == "popen":
            return [python, "-c", POPEN_DRIVER, ",".join(options) or "-"]
        return [python, "-m", "seccomp_bpf", "run", *options, "--"]


def run_entry(*options: str) -> Entry:
    return Entry("run" + "".join(f" {option}" for option in options), "run", options)


RUN: Final = Entry("run", "run")
SHARE_PID: Final = Entry("share-pid", "run", ("--share-pid",))
NO_NAMESPACES: Final = Entry("no-namespaces", "run", ("--no-namespaces",))
REPORT_DENIALS: Final = Entry("report-denials", "run", ("--report-denials",))
REPORT_DENIALS_SHARE_PID: Final = Entry(
    "report-denials-share-pid", "run", ("--report-denials", "--share-pid")
)
SUPERVISED: Final = Entry("supervised", "run", ("--report-denials", "-p", "{kill}"))
SUPERVISED_SHARE_PID: Final = Entry(
    "supervised-share-pid", "run", ("--report-denials", "--share-pid", "-p", "{kill}")
)
EXEC_POLICY: Final = Entry("deny-new-exec-mappings", "run", ("-p", "{exec}"))
POPEN: Final = Entry("popen", "popen")
POPEN_SHARE_PID: Final = Entry("popen-share-pid", "popen", ("--share-pid",))
# With a thread running, Popen's child is an isolated interpreter rather than forked.
POPEN_THREADS: Final = Entry("popen-threads", "popen", ("--threads",))
POPEN_THREADS_SHARE_PID: Final = Entry(
    "popen-threads-share-pid", "popen", ("--threads", "--share-pid")
)
BARE: Final = Entry("bare", "bare")


def is_open(case: Case, user: str, entry: Entry) -> bool:
    """Whether the README says ``case`` gets through for ``user`` under ``entry``."""
    return (not entry.pid_namespace and user in case.without_pid) or (
        not entry.namespaces and user in case.without_mounts
    )


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
        if _kill_pending(pid):
            # SIGKILL sent and not yet acted on (the victim has not run since, which takes
            # long on a busy machine): it will die, whatever it does (signal(7)).
            return cls("dying", None, None, None, None, None, None, None, None)

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
        return self.state not in ("gone", "dying", "Z", "X", "x")

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


def _kill_pending(pid: int) -> bool:
    """Whether SIGKILL is pending for ``pid`` (SigPnd or ShdPnd of /proc/PID/status, proc(5))."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    bit = 1 << (signal.SIGKILL - 1)
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("SigPnd", "ShdPnd") and int(value, 16) & bit:
            return True
    return False


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
    python = sys.executable
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOME": "/nonexistent",
    }
    if "SECCOMP_BPF_CACHE_DIR" in os.environ:  # the tests' own cache, never a home's
        env["SECCOMP_BPF_CACHE_DIR"] = os.environ["SECCOMP_BPF_CACHE_DIR"]
    if plan.user == UNPRIVILEGED:
        if arsenal.python is None:
            pytest.skip(f"no Python interpreter uid {NOBODY} may run seccomp-bpf with")
        python = arsenal.python.executable
        env.update(arsenal.python.environment())
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
    wrap = [*SETPRIV, "--inh-caps=-all"] if plan.user == UNPRIVILEGED else []
    scratch = f"{SHADOW}/scratch" if plan.shadow else str(arsenal.scratch)
    entry = plan.entry.argv(python, arsenal)
    attack = [*wrap, *entry, arsenal.program(plan.program), "-t", token, "-d", scratch]
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


def plan_for(
    cases: Sequence[Case],
    user: str,
    entry: Entry,
    victims: str = "none",
    *,
    same_pgrp: bool = False,
) -> Launch:
    """The run of ``cases``, with what their families need around them (the host settings
    compared, listeners, a terminal, the shadow directory, the static program)."""
    return Launch(
        cases,
        user,
        entry,
        victims=victims,
        host=any(case.escape == 2 for case in cases),
        listeners=any(case.escape == 8 for case in cases),
        terminal=any(case.escape == 7 for case in cases),
        shadow=any("{shadow}" in case.route for case in cases),
        program="escape-attack-static"
        if any(case.escape == 6 for case in cases)
        else "escape-attack",
        same_pgrp=same_pgrp,
    )


Batch = Callable[[Sequence[Case], str, Entry, str], Run]


@pytest.fixture(scope="session")
def batch(arsenal: Arsenal) -> Batch:
    """Runs of many routes at once, made once per list, user, entry point and victims: routes
    whose effects stay in their own process or on their own victim ("each"), so that each
    result still belongs to one route."""
    made: dict[tuple[tuple[Case, ...], str, str, str], Run] = {}

    def get(cases: Sequence[Case], user: str, entry: Entry, victims: str) -> Run:
        chosen = tuple(case for case in cases if user in case.users or not case.control)
        key = (chosen, user, entry.id, victims)
        if key not in made:
            made[key] = launch(arsenal, plan_for(chosen, user, entry, victims))
        return made[key]

    return get


@dataclass(frozen=True)
class Family:
    """Cases tried together, through each of ``entries``: in one run (their victims "shared"
    or one "each"), but for the ``alone`` ones, each in a run of its own with a victim of its
    own."""

    cases: tuple[Case, ...]
    victims: str = "none"
    entries: tuple[Entry, ...] = (RUN,)

    def run(self, arsenal: Arsenal, batch: Batch, case: Case, user: str, entry: Entry) -> Run:
        if case.alone:
            victims = "none" if self.victims == "none" else "shared"
            return launch(
                arsenal, plan_for((case,), user, entry, victims, same_pgrp=case.same_pgrp)
            )
        together = tuple(other for other in self.cases if not other.alone)
        return batch(together, user, entry, self.victims)


OPT_OUTS: Final = (RUN, SHARE_PID, NO_NAMESPACES)
FAMILIES: Final = {
    "memory-writes": Family(MEMORY_WRITES, "each", OPT_OUTS),
    "memory-reads": Family(MEMORY_READS, "shared", OPT_OUTS),
    "host": Family(HOST, entries=OPT_OUTS),
    "userfaultfd": Family(USERFAULTFD, entries=(RUN, NO_NAMESPACES)),
    "signals": Family(SIGNALS, "each", OPT_OUTS),
    "exec-memory": Family(EXEC_MEMORY, entries=(EXEC_POLICY,)),
    "terminal": Family(TERMINAL),
    "sockets": Family(SOCKETS, entries=OPT_OUTS),
    "classic": Family(CLASSIC + INHERITED, entries=OPT_OUTS),
    "helpers": Family(
        HELPERS,
        entries=(
            RUN,
            SHARE_PID,
            POPEN,
            POPEN_SHARE_PID,
            POPEN_THREADS,
            POPEN_THREADS_SHARE_PID,
            REPORT_DENIALS,
            REPORT_DENIALS_SHARE_PID,
        ),
    ),
}


def attacks(family: str) -> list[object]:
    """One pytest parameter per case, user and entry of ``family`` that must hold."""
    return [
        pytest.param(entry, case, user, id=f"{entry.id}-{case.name}-{user}")
        for entry in FAMILIES[family].entries
        for case in FAMILIES[family].cases
        for user in case.users
        if not is_open(case, user, entry)
    ]


def held(
    arsenal: Arsenal, batch: Batch, family: str, *, entry: Entry, case: Case, user: str
) -> Run:
    skip_if_absent(case)
    run = FAMILIES[family].run(arsenal, batch, case, user, entry)
    assert_held(case, run)
    return run


# --- the attack programs never run loose ----------------------------------------------------------


def test_routes_that_reach_everything_refuse_to_run_loose(arsenal: Arsenal) -> None:
    """kill(-1) as root in the machine's PID namespace kills every process but init: the
    routes that reach beyond their own victim are marked ``LOOSE`` in escape-attack, which
    refuses to run them outside a PID namespace of their own (escape-contain's)."""
    attack = arsenal.program("escape-attack")
    listing = subprocess.run([attack, "-l"], capture_output=True, text=True, check=True)
    loose = {line.split()[0] for line in listing.stdout.splitlines() if line.endswith(" loose")}
    reaching = {
        case.route for case in SIGNALS + SUPERVISOR + HELPERS if case.alone or case.escape >= 5
    }
    reaching = {route.partition("@")[0] for route in reaching}
    reaching |= {"sleep", "sleep-detached", "leave-behind"}
    assert reaching <= loose, f"not marked LOOSE: {sorted(reaching - loose)}"
    if os.readlink("/proc/self/ns/pid") != "pid:[4026531836]":
        pytest.skip("the tests run in a PID namespace of their own: no refusal to show")
    # "sleep" is the one such route that harms nothing if the refusal failed.
    refused = subprocess.run(
        [attack, "sleep"], capture_output=True, text=True, timeout=20, check=False
    )
    assert "RESULT sleep BROKEN namespace" in refused.stdout, refused.stdout


# --- 1. another process's memory ------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "case", "user"), attacks("memory-writes"))
def test_memory_of_another_process_cannot_be_written(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "memory-writes", entry=entry, case=case, user=user)


@pytest.mark.parametrize(("entry", "case", "user"), attacks("memory-reads"))
def test_another_process_cannot_be_read_or_seen(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "memory-reads", entry=entry, case=case, user=user)


# --- 2. host settings and privileged helpers ------------------------------------------------------


@pytest.mark.parametrize(("entry", "case", "user"), attacks("host"))
def test_host_settings_and_helpers_are_out_of_reach(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "host", entry=entry, case=case, user=user)


# --- 3. userfaultfd -------------------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "case", "user"), attacks("userfaultfd"))
def test_no_userfaultfd_by_any_door(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "userfaultfd", entry=entry, case=case, user=user)


# --- 4. signals and scheduling of another process -------------------------------------------------


@pytest.mark.parametrize(("entry", "case", "user"), attacks("signals"))
def test_another_process_cannot_be_signalled_or_rescheduled(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "signals", entry=entry, case=case, user=user)


def test_without_a_new_session_the_process_group_is_shared(arsenal: Arsenal) -> None:
    """``--no-new-session`` leaves the command in ``seccomp-bpf run``'s process group, a shell
    pipeline's: as the README says, signals to the group's other processes stay refused, but
    ``setpriority(PRIO_PGRP, 0)`` renices those that hold no more capabilities."""
    entry = run_entry("--no-new-session")
    kill, renice = (next(case for case in SIGNALS if case.route == route) for route in
                    ("kill-own-pgrp", "setpriority-own-pgrp"))  # fmt: skip
    run = launch(arsenal, plan_for((kill,), UNPRIVILEGED, entry, "shared", same_pgrp=True))
    assert not run.changes_for(kill), f"{run.changes_for(kill)}{run.context()}"
    run = launch(arsenal, plan_for((renice,), UNPRIVILEGED, entry, "shared", same_pgrp=True))
    assert "the victim's nice changed: 0 -> 19" in run.changes_for(renice), run.context()


# --- 5. the --report-denials supervisor -----------------------------------------------------------


def assert_kill_rule_holds(case: Case, run: Run) -> None:
    """After the route, the supervisor still answered the probe's first call as the policy
    says (EXDEV, reported), and the probe was killed by the policy's kill_process rule, which
    the supervisor lived to report (status 128 + SIGSYS)."""
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
    if "-> errno(EXDEV)" not in run.stderr or "killed by SIGSYS" not in run.stderr:
        pytest.fail(
            f"{where(case, run)}: the supervisor did not report the probe's calls{said}"
            f"{run.context()}"
        )


@pytest.mark.parametrize("entry", [SUPERVISED, SUPERVISED_SHARE_PID], ids=lambda e: e.id)
@pytest.mark.parametrize(("case", "user"), params(SUPERVISOR))
def test_the_supervisor_cannot_be_switched_off(
    arsenal: Arsenal, entry: Entry, case: Case, user: str
) -> None:
    run = launch(arsenal, Launch((case,), user, entry, probe=True))
    assert_held(case, run)
    assert_kill_rule_holds(case, run)


@pytest.mark.parametrize("user", BOTH)
@pytest.mark.parametrize(
    "entry",
    [
        RUN,
        SHARE_PID,
        NO_NAMESPACES,
        REPORT_DENIALS,
        REPORT_DENIALS_SHARE_PID,
        POPEN,
        POPEN_SHARE_PID,
        POPEN_THREADS,
        POPEN_THREADS_SHARE_PID,
    ],
    ids=lambda e: e.id,
)
@pytest.mark.parametrize("route", ["sleep", "sleep-detached"])
def test_the_command_dies_with_whatever_started_it(
    arsenal: Arsenal, route: str, entry: Entry, user: str
) -> None:
    """Killing ``seccomp-bpf run`` (or the Python program that called ``Popen``) from outside
    ends the command too, instead of leaving it running unsupervised, with or without a PID
    namespace, even a command that clears its own parent-death signal and leaves its parent
    and session (``sleep-detached``)."""
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


@pytest.mark.parametrize("user", BOTH)
@pytest.mark.parametrize(
    "entry", [RUN, SHARE_PID, NO_NAMESPACES, POPEN_SHARE_PID], ids=lambda e: e.id
)
@pytest.mark.parametrize("route", ["leave-behind", "leave-behind@prlimit"])
def test_what_the_command_leaves_behind_ends_with_it(
    arsenal: Arsenal, route: str, entry: Entry, user: str
) -> None:
    """A daemon the command leaves behind ends when the command does: in a PID namespace
    with its init, without one through the keeper, also when the command has lowered the
    keeper's limits first (``@prlimit``), which the keeper of root puts back. An
    unprivileged keeper cannot: the README says so, and this shows it."""
    case = Case(route, 5, outside=True)
    left: list[int] = []

    def look(run: Run) -> None:
        left.extend(
            pid
            for pid, comm, _ in _processes_with(run.token)
            if comm == "escape-attack" and _state(pid) not in ("Z", "X", "gone")
        )

    run = launch(arsenal, Launch((case,), user, entry, after=look))
    result = run.result(case)
    assert result.verdict == "DONE", f"{where(case, run)}: {result}{run.context()}"
    documented = route.endswith("@prlimit") and not entry.pid_namespace and user == UNPRIVILEGED
    if documented:
        assert "after lowering" in result.detail, result
        assert left, f"{where(case, run)}: the keeper ended it after all: update the README"
    else:
        assert not left, f"{where(case, run)}: process {left} outlived its sandbox{run.context()}"


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


@pytest.mark.parametrize(("entry", "case", "user"), attacks("exec-memory"))
def test_no_new_executable_memory_under_deny_new_exec_mappings(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "exec-memory", entry=entry, case=case, user=user)


def test_remapping_alone_makes_nothing_executable(arsenal: Arsenal) -> None:
    """mremap(2) and remap_file_pages(2) keep a mapping's protection: even without any filter
    they cannot turn written memory into code, so deny_new_exec_mappings need not name them."""
    cases = (Case("mremap-over-code", 6), Case("remap-file-pages", 6))
    run = launch(arsenal, Launch(cases, ROOT, BARE))
    for case in cases:
        result = run.result(case)
        assert (result.verdict, result.error) == ("BLOCKED", "-"), f"{case.route}: {result}"
        assert "not executable" in result.detail, f"{case.route}: {result}"


def test_an_executable_stack_the_program_asks_for_is_not_covered(arsenal: Arsenal) -> None:
    """A program whose file asks for an executable stack (``PT_GNU_STACK`` with ``PF_X``,
    ``gcc -z execstack``) gets one from ``execve``, before its first instruction and without
    a call a filter could see, ``PR_SET_MDWE`` or not: deny_new_exec_mappings does not cover
    it, as its docstring and the README say. What the rule set does cover is new memory."""
    case = Case("execstack", 6, users=(ROOT,))
    run = launch(arsenal, plan_for((case,), ROOT, EXEC_POLICY))
    result = run.result(case)
    assert result.verdict == "ESCAPED", f"the documented limit no longer holds: {result}"


# --- 7. the terminal ------------------------------------------------------------------------------


def _legacy_tiocsti() -> bool:
    return Path("/proc/sys/dev/tty/legacy_tiocsti").read_text().strip() != "0"


@pytest.mark.parametrize(("entry", "case", "user"), attacks("terminal"))
def test_nothing_is_typed_into_the_terminal(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    if not _legacy_tiocsti():
        pytest.skip("dev.tty.legacy_tiocsti is 0: the kernel refuses TIOCSTI itself")
    held(arsenal, batch, "terminal", entry=entry, case=case, user=user)


# --- 8. abstract UNIX sockets ---------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "case", "user"), attacks("sockets"))
def test_abstract_sockets_outside_cannot_be_reached(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "sockets", entry=entry, case=case, user=user)


# --- 9. classics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "case", "user"), attacks("classic"))
def test_classic_escapes_fail(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    held(arsenal, batch, "classic", entry=entry, case=case, user=user)


# --- 10. the sandbox's own helpers ----------------------------------------------------------------


@pytest.mark.parametrize(("entry", "case", "user"), attacks("helpers"))
def test_the_sandboxs_helpers_are_out_of_reach(
    arsenal: Arsenal, batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    run = held(arsenal, batch, "helpers", entry=entry, case=case, user=user)
    # Every helper lived on: the command ended of itself, as escape-attack does, with 0.
    if run.status is None or os.waitstatus_to_exitcode(run.status) != 0:
        pytest.fail(f"{where(case, run)}: the command {run.exit_description()}{run.context()}")


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
OTHER_ENTRIES: Final = (REPORT_DENIALS, POPEN, POPEN_SHARE_PID, POPEN_THREADS)


def _entry_params(cases: Sequence[Case]) -> list[object]:
    return [
        pytest.param(entry, case, user, id=f"{entry.id}-{case.name}-{user}")
        for entry in OTHER_ENTRIES
        for case in cases
        for user in case.users
        if not is_open(case, user, entry)
    ]


@pytest.mark.parametrize(("entry", "case", "user"), _entry_params(ENTRY_CASES + SOCKETS[:1]))
def test_every_entry_point_holds(batch: Batch, entry: Entry, case: Case, user: str) -> None:
    skip_if_absent(case)
    assert_held(case, batch(ENTRY_CASES + SOCKETS[:1], user, entry, "none"))


@pytest.mark.parametrize(("entry", "case", "user"), _entry_params(ENTRY_VICTIM_CASES))
def test_every_entry_point_protects_other_processes(
    batch: Batch, entry: Entry, case: Case, user: str
) -> None:
    assert_held(case, batch(ENTRY_VICTIM_CASES, user, entry, "each"))


# --- which layer stops what -----------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """``route`` run with ``options`` as ``user`` fails with ``error`` (or gets through:
    ``ESCAPED``) because of ``layer``, the one left (or the one taken away)."""

    route: str
    options: tuple[str, ...]
    user: str
    error: str
    layer: str


def _case(name: str) -> tuple[str, Case]:
    for family, group in FAMILIES.items():
        for case in group.cases:
            if case.name == name:
                return family, case
    raise LookupError(name)


LAYERS: Final = (
    Layer("proc-mem-write", (), UNPRIVILEGED, "ENOENT", "the PID namespace: no such process"),
    Layer("proc-mem-write", ("--share-pid",), UNPRIVILEGED, "EACCES", "Landlock: not its domain"),
    Layer("proc-environ", (), ROOT, "ENOENT", "the PID namespace"),
    Layer("proc-environ", ("--share-pid",), ROOT, "EACCES", "Landlock"),
    Layer("kill", (), UNPRIVILEGED, "ESRCH", "the PID namespace"),
    Layer("kill", ("--share-pid",), UNPRIVILEGED, "EPERM", "Landlock's signal scoping"),
    Layer("ptrace-attach-poke", (), ROOT, "EPERM", "the filter (ptrace)"),
    Layer(
        "ptrace-attach-poke", ("--share-pid", "-p", "{allow}"), UNPRIVILEGED, "EPERM", "Landlock"
    ),
    Layer("core-pattern", (), ROOT, "EROFS", "the read-only /proc/sys"),
    Layer("core-pattern", ("--no-namespaces",), ROOT, "EACCES", "Landlock"),
    Layer("proc-sys-writable", ("--no-namespaces",), ROOT, "EACCES", "Landlock"),
    Layer("cgroup-release-agent", ("--no-namespaces",), ROOT, "EACCES", "Landlock"),
    Layer("uffd-dev", (), ROOT, "ENOENT", "the sandbox's own /dev"),
    Layer("uffd-dev", ("--no-namespaces",), ROOT, "EACCES", "Landlock"),
    Layer(
        "uffd-dev", ("--no-namespaces", "--no-landlock"), ROOT, "EPERM", "the filter's ioctl rule"
    ),
    Layer("tiocsti", ("-p", "{allow}"), ROOT, "EPERM", "the new session"),
    Layer("tiocsti", ("--no-new-session",), ROOT, "EPERM", "the filter's ioctl rule"),
    Layer("tiocsti", ("--no-new-session", "-p", "{allow}"), ROOT, "ESCAPED", "neither"),
    Layer("abstract-stream", ("-p", "{allow}"), ROOT, "EPERM", "Landlock's socket scoping"),
    Layer("abstract-stream", ("--no-landlock", "--unshare-net"), ROOT, "ECONNREFUSED", "netns"),
    Layer("abstract-stream", ("--no-landlock",), ROOT, "ESCAPED", "neither"),
    Layer("chmod-root-file", (), ROOT, "EROFS", "the read-only mounts"),
    Layer("proc-self-mem-code", ("-p", "{exec}"), ROOT, "EACCES", "Landlock: /proc not writable"),
    Layer(
        "proc-self-mem-code", ("-p", "{exec}", "--no-landlock"), ROOT, "ESCAPED", "no filter can"
    ),
    # Without Landlock and namespaces (a user namespace of its own would keep the command
    # out too), only their not being dumpable keeps the keeper (1) and seccomp-bpf run (2)
    # from an unprivileged command of the same user.
    *(
        Layer(
            f"{route}@{level}",
            ("--no-namespaces", "--no-landlock", "-p", "{allow}"),
            UNPRIVILEGED,
            error,
            "not dumpable",
        )
        for route, error in (
            ("ptrace-ancestor", "EPERM"),
            ("mem-write-ancestor", "EACCES"),
            ("environ-ancestor", "EACCES"),
            ("fds-ancestor", "EPERM"),
        )
        for level in (1, 2)
    ),
    Layer(
        "environ-ancestor@2",
        ("--report-denials", "--no-namespaces", "--no-landlock", "-p", "{allow}"),
        UNPRIVILEGED,
        "EACCES",
        "the supervisor is not dumpable",
    ),
)


@pytest.mark.parametrize(
    "layer", LAYERS, ids=[" ".join((x.route, *x.options, x.user)) for x in LAYERS]
)
def test_each_layer_alone(arsenal: Arsenal, layer: Layer) -> None:
    if "@" in layer.route:
        case = next(c for c in HELPERS if c.route == layer.route)
        family = "helpers"
    else:
        family, case = _case(layer.route)
    skip_if_absent(case)
    if layer.route.startswith("tiocsti") and not _legacy_tiocsti():
        pytest.skip("dev.tty.legacy_tiocsti is 0: the kernel refuses TIOCSTI itself")
    victims = "none" if FAMILIES[family].victims == "none" else "shared"
    run = launch(arsenal, plan_for((case,), layer.user, run_entry(*layer.options), victims))
    if layer.error == "ESCAPED":
        assert_got_through(case, run)
        return
    result = run.result(case)
    assert (result.verdict, result.error) == ("BLOCKED", layer.error), (
        f"{where(case, run)}: {layer.layer} should answer {layer.error}; the route said "
        f"{result}{run.context()}"
    )
    assert not run.changes_for(case), run.changes_for(case)


# --- what each opt-out leaves open ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "entry", "case", "user"),
    [
        pytest.param(name, entry, case, user, id=f"{entry.id}-{case.name}-{user}")
        for name, family in FAMILIES.items()
        for entry in family.entries
        for case in family.cases
        for user in case.users
        if is_open(case, user, entry)
    ],
)
def test_what_each_opt_out_leaves_open(
    arsenal: Arsenal, batch: Batch, *, family: str, entry: Entry, case: Case, user: str
) -> None:
    """What the README's table says ``--share-pid`` and ``--no-namespaces`` leave open gets
    through there, so that the table is exact both ways."""
    skip_if_absent(case)
    assert_got_through(case, FAMILIES[family].run(arsenal, batch, case, user, entry))


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
