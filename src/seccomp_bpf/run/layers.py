"""The layers of a sandbox, one small function each, in the order they are applied.

The order is bubblewrap's and minijail's, with seccomp last (``STYLE.md`` §15):

1. :func:`die_with_parent`: ``PR_SET_PDEATHSIG`` (SIGKILL), first thing in every process
   started: the window between ``fork`` and ``prctl`` is the start-up race, closed by
   checking the parent is still the expected one afterwards. :func:`watch_parent` is the
   same for a process that must act before it ends (the keeper, the stand-in of ``Popen``).
2. :func:`enter_namespaces`: user (when not root), PID, mount, IPC, UTS (network).
3. :func:`new_session`: ``setsid`` (``--no-new-session`` turns it off). A process that is
   not in its terminal's session cannot push input into it (``TIOCSTI`` needs the caller's
   controlling terminal, or ``CAP_SYS_ADMIN``; ``drivers/tty/tty_io.c``: ``tiocsti``) nor
   take it over (``TIOCSCTTY``); bubblewrap's ``--new-session`` does the same.
4. The mount namespace (``seccomp_bpf.run.mount_namespace``).
5. :func:`no_new_privs`: before Landlock, which needs it without ``CAP_SYS_ADMIN``
   (``landlock_restrict_self(2)``), and before seccomp, which needs it too (``seccomp(2)``).
   It only concerns ``execve``, so setting it earlier than bubblewrap does changes nothing
   else.
6. :func:`restrict_filesystem` (Landlock): filesystem grants, TCP ports, and scoping of
   signals and abstract UNIX sockets to the sandbox's own processes.
7. :func:`drop_capabilities`: all five sets, but the capabilities kept.
8. the seccomp filter (``run.launch``), then ``execve``.

Each function records what it did in a :class:`LayerReport`, which ``--show-layers``
prints, and the notes for what is not in force.
"""

from __future__ import annotations

import errno as errno_codes
import fcntl
import os
import signal
import stat

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import child, landlock, set_no_new_privs
from seccomp_bpf.kernel.capabilities import capability_name, keep_only
from seccomp_bpf.kernel.namespaces import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    map_own_ids,
    unshare,
)
from seccomp_bpf.kernel.prctl import set_parent_death_signal
from seccomp_bpf.run.plan import SandboxPlan

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


die_with_parent = child.die_with_parent
"""Layer 1, the same in every command started in a child (:mod:`seccomp_bpf.kernel.child`)."""


class LayerReport:
    """What is in force, layer by layer: ``(layer, description)`` in order."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def add(self, layer: str, description: str) -> None:
        self.lines.append((layer, description))

    def text(self, command: str) -> str:
        width = max((len(layer) for layer, _ in self.lines), default=0)
        body = "".join(f"seccomp-bpf:   {layer:<{width}}  {what}\n" for layer, what in self.lines)
        return f"seccomp-bpf: layers in force for {command}:\n{body}"


PARENT_GONE: Final = signal.SIGRTMIN
"""The parent-death signal of a process that must act when its parent ends rather than die
with it (the keeper, which ends the sandbox first; a stand-in started by a thread): it is
blocked and taken with ``sigwaitinfo``, then :func:`parent_gone` says whether it meant it."""


def watch_parent(parent: int) -> bool:
    """Send :data:`PARENT_GONE` (which the caller has blocked) to this process when the thread
    that started it ends; False when the parent, process ``parent``, has already ended.

    ``PR_SET_PDEATHSIG`` follows the parent *thread* (``prctl(2)``): a process started from a
    thread that then ends gets the signal while the parent process lives on. The kernel then
    gives the process to another thread of the same parent, as long as one lives
    (``forget_original_parent``, ``find_alive_thread`` in ``kernel/exit.c``), and sets the
    new parent before it sends the signal; the signal comes again when that thread ends. So
    the parent process has ended exactly when ``getppid()`` is no longer ``parent``."""
    set_parent_death_signal(PARENT_GONE)
    return not parent_gone(parent)


def parent_gone(parent: int) -> bool:
    """Whether process ``parent`` has ended (see :func:`watch_parent`)."""
    return os.getppid() != parent


def namespace_flags(plan: SandboxPlan, *, pid: bool) -> int:
    """The ``CLONE_NEW*`` flags of the plan's namespaces; ``pid`` includes the PID one."""
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
    if pid:
        flags |= CLONE_NEWPID
    if plan.user_namespace:
        flags |= CLONE_NEWUSER
    if plan.sandbox.unshare_net:
        flags |= CLONE_NEWNET
    return flags


def enter_namespaces(plan: SandboxPlan, flags: int, report: LayerReport) -> None:
    """``unshare(flags)``, and the ID maps of a new user namespace (the same IDs inside).

    The user namespace comes first, on its own: when its ID maps cannot be written, the
    process is left in it, but not yet in a new PID namespace, whose first child would be
    its PID 1 (the sandbox then goes on without namespaces, in this same process tree)."""
    if flags & CLONE_NEWUSER:
        unshare(CLONE_NEWUSER)
        map_own_ids(plan.uid, plan.gid)
    unshare(flags & ~CLONE_NEWUSER)
    names = [
        name
        for bit, name in (
            (CLONE_NEWPID, "pid"),
            (CLONE_NEWNS, "mount"),
            (CLONE_NEWIPC, "ipc"),
            (CLONE_NEWUTS, "uts"),
            (CLONE_NEWNET, "network (loopback only)"),
            (CLONE_NEWUSER, f"user (uid {plan.uid} and gid {plan.gid} mapped to themselves)"),
        )
        if flags & bit
    ]
    report.add("namespaces", ", ".join(names))


def new_session(report: LayerReport) -> None:
    """``setsid()``: a session without a controlling terminal."""
    os.setsid()
    report.add("session", "a new session, without the terminal as its controlling terminal")


def no_new_privs(report: LayerReport) -> None:
    set_no_new_privs()
    report.add("no_new_privs", "set: execve grants no privilege (set-user-ID, file capabilities)")


def _stream_rights(fd: int) -> tuple[int, int] | None:
    """The Landlock rights to open standard stream ``fd`` again through ``/proc/self/fd``
    (a terminal or a file: what it was opened for); None for a pipe or socket, which
    Landlock does not restrict, or a closed stream."""
    try:
        mode = os.fstat(fd).st_mode
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        return None
    if not (stat.S_ISCHR(mode) or stat.S_ISREG(mode)):
        return None
    rights = 0
    access = flags & os.O_ACCMODE
    if access in (os.O_RDONLY, os.O_RDWR):
        rights |= landlock.ACCESS_FS_READ_FILE
    if access in (os.O_WRONLY, os.O_RDWR):
        rights |= landlock.ACCESS_FS_WRITE_FILE | landlock.ACCESS_FS_TRUNCATE
    if stat.S_ISCHR(mode):
        rights |= landlock.ACCESS_FS_IOCTL_DEV
    return fd, rights


def restrict_filesystem(plan: SandboxPlan, report: LayerReport) -> None:
    """Enter a Landlock domain with the plan's grants (no-op when its ABI is 0)."""
    abi = plan.landlock_abi
    if abi == 0:
        return
    handled_fs = landlock.fs_rights_for(abi)
    handled_net = 0
    if plan.sandbox.tcp_bind is not None:
        handled_net |= landlock.ACCESS_NET_BIND_TCP
    if plan.sandbox.tcp_connect is not None:
        handled_net |= landlock.ACCESS_NET_CONNECT_TCP
    scoped = landlock.scopes_for(abi)
    ruleset = landlock.create_ruleset(handled_fs, handled_net, scoped)
    try:
        rules = 0
        for grant in plan.grants:
            try:
                fd = os.open(grant.path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # not there in the sandbox (a default device the host lacks)
            try:
                rights = grant.rights & handled_fs
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    rights &= landlock.ACCESS_FS_FILE
                if rights:
                    landlock.add_path_rule(ruleset, rights, fd, path=grant.path)
                    rules += 1
            finally:
                os.close(fd)
        for fd in (0, 1, 2):
            stream = _stream_rights(fd)
            if stream is not None and stream[1] & handled_fs:
                landlock.add_path_rule(ruleset, stream[1] & handled_fs, fd, path=f"fd {fd}")
        for ports, right in (
            (plan.sandbox.tcp_bind, landlock.ACCESS_NET_BIND_TCP),
            (plan.sandbox.tcp_connect, landlock.ACCESS_NET_CONNECT_TCP),
        ):
            for port in ports or ():
                landlock.add_port_rule(ruleset, right, port)
        landlock.restrict_self(ruleset)
    finally:
        os.close(ruleset)
    parts = [f"ABI {abi}: {rules} filesystem rules"]
    if scoped:
        parts.append("signals and abstract UNIX sockets scoped to the sandbox")
    for name, ports in (("bind", plan.sandbox.tcp_bind), ("connect", plan.sandbox.tcp_connect)):
        if ports is not None:
            parts.append(f"TCP {name} only to {', '.join(map(str, ports)) or 'no port'}")
    report.add("landlock", "; ".join(parts))


def drop_capabilities(plan: SandboxPlan, report: LayerReport) -> None:
    """Empty the five capability sets but the kept ones (nothing when all are kept)."""
    if plan.keep is None:
        report.add("capabilities", "all kept (--cap all)")
        return
    left = keep_only(plan.keep)
    kept = ", ".join(capability_name(number) for number in sorted(plan.keep))
    if left:
        # An unprivileged user outside a user namespace (--no-namespaces): no capability
        # held, and none to gain under no_new_privs (kernel/capabilities.py: keep_only).
        report.add(
            "capabilities",
            f"four sets empty{f' but {kept}' if kept else ''}; the bounding set stays (changing "
            "it needs CAP_SETPCAP), which no_new_privs makes moot",
        )
        return
    report.add("capabilities", f"all five sets empty{f' but {kept}' if kept else ''}")


def is_refusal(error: BaseException) -> bool:
    """Whether a layer's failure is the kernel refusing it (a layer not in force) rather
    than a fault: EPERM, EACCES, EINVAL, ENOSPC, ENOSYS, EOPNOTSUPP."""
    return isinstance(error, KernelError) and error.errno in (
        errno_codes.EPERM,
        errno_codes.EACCES,
        errno_codes.EINVAL,
        errno_codes.ENOSPC,
        errno_codes.ENOSYS,
        errno_codes.EOPNOTSUPP,
    )
