"""Start a command in its sandbox: the processes, and what they tell ``seccomp-bpf run``.

With a PID namespace (the default)::

    seccomp-bpf run ──> namespace parent ──> init (PID 1) ──> command
    (waits, forwards     (unshares the       (mount namespace, (layers, filter,
     signals, reports)    namespaces)         reaps, reports)   execve)

- The *namespace parent* calls ``unshare`` (user when not root, PID, mount, IPC, UTS,
  network), so that ``seccomp-bpf run`` itself never changes namespace and can start
  another sandbox; it waits for init and ends with it. It stays outside the new PID
  namespace: the program cannot see it.
- *init* is the namespace's PID 1: it sets up the mount namespace, starts the command, then
  reaps every process of the namespace until the command ends, writes the command's wait
  status to ``seccomp-bpf run`` and ends, which makes the kernel kill what the command left
  behind (``pid_namespaces(7)``). It keeps its capabilities and is not dumpable, so the
  program can neither trace it nor read its memory, and it has no signal handler, so no
  signal from inside reaches it. It is never in the program's Landlock domain.
- the *command* applies the remaining layers (``run.layers``), installs the filter and
  execs. It leads its own process group (or stays in ``seccomp-bpf run``'s group with
  ``--no-new-session``).

Without a PID namespace (``--share-pid``, ``--no-namespaces``, or a kernel that refuses
one)::

    seccomp-bpf run ──> keeper ──> command
                        (reaps,     (namespaces but PID, mount namespace, layers,
                         reports)    filter, execve)

- the *keeper* stands where init would: the command's parent, a child subreaper, so that
  whatever the command starts stays beneath it however it detaches; it reports the
  command's wait status and, when the command ends or ``seccomp-bpf run`` does, kills every
  process left beneath it, which a PID namespace's end would have done (:func:`_keeper`).
  Not dumpable, outside the command's Landlock domain.
- the *command* creates its other namespaces itself.

Every process sets its parent-death signal first (the keeper one it catches, to end the
rest first), so the whole sandbox ends when ``seccomp-bpf run`` does, however it ends.

What travels back, on a ``SOCK_SEQPACKET`` socket pair (``seccomp-bpf run``'s end has
``SO_PASSCRED``, so each message carries its sender's pid as ``seccomp-bpf run`` sees it,
inside a PID namespace or not, ``unix(7)``):

- ``H`` with a pidfd of the command (``SCM_RIGHTS``): its pid (from the credentials) and a
  handle on it that stays its own, where signals go;
- ``N<n>``: the descriptor number its seccomp listener will get (supervised runs only);
- ``L`` with the listener (``SCM_RIGHTS``), once the filter is installed;
- ``E<json>``: a failure before ``execve``: the exit status to use, and the error;
- end of file: the command has exec'd (its end is close-on-exec and init has closed its
  copy), or everything has ended.

init (or the keeper) reports the command's wait status on a pipe; when the pipe is empty,
the status of ``seccomp-bpf run``'s own child is the command's (there was no sandbox: the
filter alone, or the sandbox failed before the command started).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno as errno_codes
import fcntl
import functools
import json
import os
import select
import signal
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NoReturn

from seccomp_bpf.arch import native_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import KernelError, LayerUnavailableError, SeccompBPFError
from seccomp_bpf.kernel import set_dumpable
from seccomp_bpf.run.layers import (
    PARENT_GONE,
    LayerReport,
    die_with_parent,
    drop_capabilities,
    enter_namespaces,
    is_refusal,
    namespace_flags,
    new_session,
    no_new_privs,
    parent_gone,
    restrict_filesystem,
    watch_parent,
)
from seccomp_bpf.run.plan import SandboxPlan

if TYPE_CHECKING:
    from seccomp_bpf.kernel.notify import Notification

EXIT_LAYER_MISSING: Final = LayerUnavailableError.exit_status
"""A required layer is not in force: nothing was run (123)."""
EXIT_SETUP_FAILED: Final = 125
"""The sandbox or the filter could not be set up in the child: nothing was run."""
EXIT_NOT_EXECUTABLE: Final = 126
EXIT_NOT_FOUND: Final = 127

# <linux/socket.h> struct ucred: pid, uid, gid.
_UCRED: Final = struct.Struct("iII")
# How long to wait for the listener on the socket before taking it with pidfd_getfd.
LISTENER_WAIT_MS: Final = 50
# Python ignores these at start-up (Python/pylifecycle.c); a command must get them at their
# default, as subprocess's restore_signals does.
_PYTHON_IGNORED: Final = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)


@functools.cache
def _native_sendmsg() -> int:
    sendmsg = native_arch().syscall_number("sendmsg")
    return -1 if sendmsg is None else sendmsg


def note(message: str) -> None:
    """One line on stderr, written at once (the process may exec next)."""
    with contextlib.suppress(OSError):
        os.write(2, f"seccomp-bpf: {message}\n".encode(errors="backslashreplace"))


@dataclass(frozen=True)
class Launch:
    """What to start: ``argv`` from ``executable`` under ``program``, in the sandbox of
    ``plan`` (None: the filter alone, as the profiler's learning mode runs).

    ``filter_flags`` may hold ``log`` and ``spec_allow``; ``listener`` hands the filter's
    user-notification listener over (``--report-denials``); ``mask`` is the signal mask the
    command starts with; ``show_layers`` prints the layers in force before ``execve``.
    """

    executable: str
    argv: tuple[str, ...]
    program: Program
    plan: SandboxPlan | None
    filter_flags: tuple[str, ...] = ()
    listener: bool = False
    mask: frozenset[int] = frozenset()
    show_layers: bool = False


class StartError(SeccompBPFError):
    """The sandbox or the filter could not be set up; nothing was run. ``exit_status`` is
    what ``seccomp-bpf run`` exits with, ``error`` the child's error (a
    :class:`~seccomp_bpf.errors.LayerUnavailableError` for a required layer)."""

    def __init__(self, exit_status: int, error: KernelError | LayerUnavailableError) -> None:
        self.exit_status = exit_status
        self.error = error
        super().__init__(str(error))


@dataclass
class Started:
    """The command, started: how ``seccomp-bpf run`` sees it."""

    child: int
    """``seccomp-bpf run``'s own child: the namespace parent, or the command itself."""
    control: socket.socket | None
    """Its end of the socket pair, until the command has exec'd."""
    control_fd_in_child: int
    status_fd: int | None
    pid: int = 0
    """The command's pid, as ``seccomp-bpf run`` sees it."""
    pidfd: int = -1
    own_group: bool = False
    """Whether the command leads a process group of its own (a terminal's signals to
    ``seccomp-bpf run``'s group do not reach it)."""
    listener: int = -1
    bootstrap_sendmsg_pending: bool = False
    reaped: bool = False
    status: int | None = None
    _predicted: int | None = field(default=None, repr=False)

    # --- ending -------------------------------------------------------------------------------

    def wait(self) -> int:
        """Wait for the command to end; its wait status."""
        if self.status is not None:
            return self.status
        _, status = os.waitpid(self.child, 0)
        return self.reaped_with(status)

    def reaped_with(self, status: int) -> int:
        """The command's wait status, once ``seccomp-bpf run``'s child has been reaped with
        wait ``status``: init's report when there is one, else ``status`` itself."""
        self.reaped = True
        if self.status_fd is not None:
            data = os.read(self.status_fd, 16)
            os.close(self.status_fd)
            self.status_fd = None
            if len(data) == 4:
                status = struct.unpack("i", data)[0]
        self.status = status
        return status

    def close(self, *, kill: bool) -> None:
        """Release everything; with ``kill``, first end the sandbox if it still runs."""
        if kill and not self.reaped:
            if self.pidfd >= 0:
                # init (or the keeper) sees it end, ends what it left behind, and ends.
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                # Not started yet: nothing left behind. The namespace parent's end ends
                # init's, which ends the namespace; the keeper's ends the command's.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.child, signal.SIGKILL)
            self.wait()
        if self.listener >= 0:
            os.close(self.listener)
            self.listener = -1
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        if self.status_fd is not None:
            os.close(self.status_fd)
            self.status_fd = None

    # --- messages -----------------------------------------------------------------------------

    @property
    def sock(self) -> socket.socket | None:
        """The socket pair's end, until the command has exec'd (watch it for its end)."""
        return self.control

    def read_socket(self, poller: select.poll) -> None:
        """Read what arrived on the socket; at its end, unregister it from ``poller``."""
        assert self.control is not None
        fd = self.control.fileno()
        if not self.read_message():
            with contextlib.suppress(KeyError):
                poller.unregister(fd)

    def is_bootstrap_sendmsg(self, notification: Notification) -> bool:
        """Whether ``notification`` is the command's own ``sendmsg`` of the listener."""
        data = notification.data
        return self.is_bootstrap_call(notification.pid, data.arch, data.nr, data.args[0])

    def is_bootstrap_call(self, pid: int, arch: int, nr: int, arg0: int) -> bool:
        """Whether a notified call by thread ``pid`` (``seccomp_data`` ``arch``, ``nr`` and
        first argument) is the command's own ``sendmsg`` of the listener."""
        return (
            self.bootstrap_sendmsg_pending
            and pid == self.pid
            and arch == native_arch().audit_arch
            and nr == _native_sendmsg()
            and arg0 == self.control_fd_in_child
        )

    def read_message(self) -> bool:
        """Read one message of the socket pair; False at end of file (the socket is then
        closed). A listener arriving after it was taken is closed (it is the same)."""
        assert self.control is not None
        ancillary = socket.CMSG_SPACE(_UCRED.size) + socket.CMSG_SPACE(4)
        message, data, _, _ = self.control.recvmsg(4096, ancillary)
        fds: list[int] = []
        sender = 0
        for level, kind, payload in data:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                sender = _UCRED.unpack(payload[: _UCRED.size])[0]
            elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(struct.unpack(f"{len(payload) // 4}i", payload[: len(payload) // 4 * 4]))
        if not message:
            for fd in fds:
                os.close(fd)
            self.control.close()
            self.control = None
            self.bootstrap_sendmsg_pending = False
            return False
        tag, body = message[:1], message[1:]
        if tag == b"H" and fds:
            # The command's own pidfd: it refers to the command even once the command has
            # ended and its pid is used again, where pidfd_open(pid) could not tell.
            self.pid = sender
            self.pidfd = fds.pop(0)
        elif tag == b"N":
            self._predicted = int(body)
        elif tag == b"E":
            fields = json.loads(body)
            error: KernelError | LayerUnavailableError
            if fields.get("layer"):
                error = LayerUnavailableError(fields["layer"], fields.get("detail") or "")
            else:
                error = KernelError(
                    fields.get("call") or "starting the command",
                    fields.get("errno") or errno_codes.EIO,
                    fields.get("detail") or "",
                )
            raise StartError(int(fields["status"]), error)
        elif tag == b"L" and fds:
            if self.listener < 0:
                self.listener = fds.pop(0)
            else:
                self.bootstrap_sendmsg_pending = False  # its sendmsg went through after all
        for fd in fds:
            os.close(fd)
        return True

    def take_listener(self) -> bool:
        """Copy the listener out of the command (``pidfd_getfd``) when its hand-over blocks
        in a ``sendmsg`` the filter notifies; True when taken."""
        from seccomp_bpf.kernel.pidfd import pidfd_getfd

        if self._predicted is None or self.pidfd < 0:
            return False
        try:
            fd = pidfd_getfd(self.pidfd, self._predicted)
        except KernelError as error:
            if error.errno in (errno_codes.EBADF, errno_codes.ESRCH):
                return False  # not installed yet, or the command is gone
            raise
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == LISTENER_LINK:
                self.listener = fd
                self.bootstrap_sendmsg_pending = True
                return True
        except OSError:
            pass
        os.close(fd)
        return False


# The readlink(2) text of a listener's /proc/PID/fd entry (anon_inode_getfile(
# "seccomp notify", ...) in init_listener, kernel/seccomp.c).
LISTENER_LINK: Final = "anon_inode:seccomp notify"


def start(launch: Launch, *, listener_wait_ms: int = LISTENER_WAIT_MS) -> Started:
    """Start ``launch``; returns once the command has exec'd or, for a supervised run, once
    its listener is here. Raises :class:`StartError` when the sandbox or the filter could
    not be set up (the processes are gone then)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    plan = launch.plan
    status_read, status_write = os.pipe() if plan is not None else (-1, -1)
    if plan is not None:
        # The command may see this process (no PID namespace, or one the kernel refuses):
        # not dumpable, so that it cannot trace it or read its memory whatever its Landlock,
        # from before the fork (every child starts so, until it says otherwise).
        set_dumpable(False)
    run_pid = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            if status_read >= 0:
                os.close(status_read)
            if plan is not None and plan.pid_namespace:
                _namespace_parent(launch, theirs, status_write, run_pid)
            if plan is not None:
                _keeper(launch, theirs, status_write, run_pid)
            _command(launch, theirs, parent=run_pid, in_pid_namespace=False)
        finally:
            os._exit(EXIT_SETUP_FAILED)
    theirs_number = theirs.fileno()
    theirs.close()
    if status_write >= 0:
        os.close(status_write)
    started = Started(
        child=pid,
        control=ours,
        control_fd_in_child=theirs_number,
        status_fd=status_read if status_read >= 0 else None,
        own_group=plan is not None and plan.sandbox.new_session,
    )
    try:
        _handshake(started, launch.listener, listener_wait_ms)
    except BaseException:
        started.close(kill=True)
        raise
    return started


def _handshake(started: Started, listener: bool, wait_ms: int) -> None:
    """Read the messages until the command has exec'd (or, when supervised, its listener is
    here)."""
    while started.control is not None:
        if listener and started.listener >= 0:
            return
        timeout = wait_ms if listener and started._predicted is not None else None
        ready = select.poll()
        ready.register(started.control, select.POLLIN)
        if ready.poll(timeout):
            if not started.read_message() and listener and started.listener < 0:
                raise StartError(
                    EXIT_SETUP_FAILED,
                    KernelError(
                        "starting the command",
                        errno_codes.EPROTO,
                        "the policy's action for sendmsg kept the command from handing its "
                        "seccomp listener to the supervisor; allow or deny sendmsg",
                    ),
                )
        elif listener:
            started.take_listener()
    if started.pid == 0:
        status = started.wait()
        raise StartError(
            EXIT_SETUP_FAILED,
            KernelError(
                "starting the command",
                errno_codes.ECHILD,
                f"the sandbox ended with wait status {status:#x} before the command started",
            ),
        )


# --- in the children ----------------------------------------------------------------------------


def _fail(control: socket.socket | None, status: int, error: BaseException) -> NoReturn:
    """Report a failure before ``execve`` to ``seccomp-bpf run`` (or, in place, on stderr)
    and end."""
    if isinstance(error, KernelError):
        detail = error.detail
    elif isinstance(error, OSError) and error.strerror:
        detail = error.strerror
    else:
        detail = str(error)
    fields = {
        "status": status,
        "layer": getattr(error, "layer", None),
        "call": getattr(error, "call", None),
        "errno": getattr(error, "errno", None),
        "detail": detail,
    }
    if control is None:
        note(f"error: {error}; nothing was run")
    else:
        with contextlib.suppress(OSError):
            control.send(b"E" + json.dumps(fields).encode())
    os._exit(status)


def _refused(
    plan: SandboxPlan, control: socket.socket | None, layer: str, error: KernelError
) -> str:
    """The note for a layer the kernel refused; ends the process when it is required."""
    why = error.strerror
    if layer in plan.required:
        _fail(
            control,
            EXIT_LAYER_MISSING,
            LayerUnavailableError(layer, f"{layer} is required, but {why}"),
        )
    return f"{layer} not in force: {why}"


def _namespace_parent(
    launch: Launch, control: socket.socket, status_write: int, run_pid: int
) -> NoReturn:
    """The namespace parent: unshare, start init, wait for it."""
    plan = launch.plan
    assert plan is not None
    die_with_parent(run_pid)
    # Outside the PID namespace, out of the command's sight; a process that is not dumpable
    # could not write its own uid_map (/proc/self belongs to root then, proc(5)).
    set_dumpable(True)
    report = LayerReport()
    try:
        enter_namespaces(plan, namespace_flags(plan, pid=True), report)
    except KernelError as error:
        if not is_refusal(error):
            _fail(control, EXIT_SETUP_FAILED, error)
        fallback = dataclasses.replace(launch, plan=_fall_back(plan, control, error))
        _keeper(fallback, control, status_write, run_pid)
    init = os.fork()
    if init == 0:
        _init(launch, control, status_write, report)
    control.close()
    os.close(status_write)
    _, status = os.waitpid(init, 0)
    os._exit(
        os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    )


def _run_alive(control: socket.socket) -> bool:
    """Whether ``seccomp-bpf run`` still holds its end of the socket pair."""
    ready = select.poll()
    ready.register(control, select.POLLHUP)
    return not any(events & select.POLLHUP for _, events in ready.poll(0))


def _init(
    launch: Launch, control: socket.socket, status_write: int, report: LayerReport
) -> NoReturn:
    """PID 1 of the sandbox."""
    plan = launch.plan
    assert plan is not None
    die_with_parent(None)  # the namespace parent is outside: getppid() is 0
    if not _run_alive(control):
        os._exit(EXIT_SETUP_FAILED)
    if plan.sandbox.new_session:
        new_session(report)
    _mount_namespace(plan, control, report)
    set_dumpable(False)
    command = os.fork()
    if command == 0:
        os.close(status_write)
        _command(launch, control, parent=1, in_pid_namespace=True, report=report)
    control.close()
    for number in range(1, signal.NSIG):
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == command:
            os.write(status_write, struct.pack("i", status))
            os._exit(0)


def _keeper(
    launch: Launch, control: socket.socket, status_write: int, run_pid: int
) -> NoReturn:
    """Without a PID namespace, what init is with one: the command's parent, which reports
    its wait status and, when it ends or ``seccomp-bpf run`` does, ends whatever the command
    left behind. It is a child subreaper (``prctl(2)``), so every process the command starts
    stays beneath it however it detaches (double fork, ``setsid``, its parent-death signal
    cleared), and it takes :data:`PARENT_GONE` as its parent-death signal instead of dying
    of SIGKILL, so as to end them first. Like init, it keeps its capabilities, is not
    dumpable and stays out of the command's Landlock domain (no ptrace, no signal from the
    command); unlike init it is visible to the command, so the signals it does not wait
    for stay blocked, as ``seccomp-bpf run`` blocked them."""
    from seccomp_bpf.kernel.prctl import set_child_subreaper

    watched = {signal.SIGCHLD, PARENT_GONE}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    if not watch_parent(run_pid):
        os._exit(128 + signal.SIGKILL)
    set_child_subreaper()
    set_dumpable(False)
    ending = _Ending()
    shielded = _shield_limits()
    keeper = os.getpid()
    command = os.fork()
    if command == 0:
        if shielded:
            os.setresuid(-1, -1, 0)
        os.close(status_write)
        _command(launch, control, parent=keeper, in_pid_namespace=False)
    control.close()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    while True:
        info = signal.sigwaitinfo(watched)
        if info.si_signo == PARENT_GONE:
            if parent_gone(run_pid):
                ending.end()
                os._exit(128 + signal.SIGKILL)
            continue
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == command:
                os.write(status_write, struct.pack("i", status))
                ending.end()
                os._exit(0)


# A saved user ID that no process of a sandbox run as root has: the overflow ID.
_SHIELD_UID: Final = 65534


def _shield_limits() -> bool:
    """As root, make this process's limits none of the command's business: ``prlimit64`` on
    another process needs its real, effective and saved user IDs (and group IDs) all to be
    the caller's, or ``CAP_SYS_RESOURCE`` (``check_prlimit_permission`` in ``kernel/sys.c``),
    so a saved user ID other than 0 refuses the command, root without capabilities. The
    real and effective IDs stay 0, and with them the capabilities (``capabilities(7)``).
    True when done; the command's process puts its own saved ID back."""
    if os.getresuid() != (0, 0, 0):
        return False
    try:
        os.setresuid(-1, -1, _SHIELD_UID)
    except OSError:
        return False
    return True


class _Ending:
    """How the keeper ends what is left beneath it, made ready before the command starts:
    the command can see the keeper and, being of the same user, lower its resource limits
    (``prlimit64``, which neither Landlock nor dumpability guards) so that it could no
    longer open ``/proc`` or import anything. As root the keeper refuses that
    (:func:`_shield_limits`), and puts its limits back should they have changed anyway; an
    unprivileged keeper whose limits were lowered cannot end what is left (the README says
    so)."""

    def __init__(self) -> None:
        import resource

        from seccomp_bpf.kernel.procfs import descendants

        self._descendants = descendants
        self._setrlimit = resource.setrlimit
        self._limits = [
            (number, resource.getrlimit(number))
            for name, number in vars(resource).items()
            if name.startswith("RLIMIT_") and isinstance(number, int)
        ]

    def end(self) -> None:
        for number, limits in self._limits:
            with contextlib.suppress(OSError, ValueError):
                self._setrlimit(number, limits)
        with contextlib.suppress(OSError, MemoryError):
            _end_descendants(self._descendants)


def _end_descendants(descendants: Callable[[int], list[int]]) -> None:
    """SIGKILL every process beneath this one (``descendants``), and reap them, until none
    is left (one that forks as it is killed leaves a child, which comes to this subreaper
    and goes next)."""
    while doomed := descendants(os.getpid()):
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in doomed:  # only this process's children can be waited for
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def _mount_namespace(plan: SandboxPlan, control: socket.socket | None, report: LayerReport) -> None:
    """Set up the mount namespace (and the loopback); a refusal is a note, or the end when
    namespaces are required."""
    from seccomp_bpf.kernel.network import bring_up_loopback
    from seccomp_bpf.run import mount_namespace

    try:
        notes = mount_namespace.set_up(plan)
    except (KernelError, OSError) as error:
        failure = (
            error if isinstance(error, KernelError) else KernelError("mount", error.errno or 5)
        )
        note(_refused(plan, control, "namespaces", failure).replace("namespaces", "mounts", 1))
    else:
        for line in notes:
            note(line)
        report.add("mounts", _mounts_summary(plan))
    if plan.sandbox.unshare_net:
        try:
            bring_up_loopback()
        except KernelError as error:
            _fail(control, EXIT_LAYER_MISSING, LayerUnavailableError("network", str(error)))


def _mounts_summary(plan: SandboxPlan) -> str:
    proc = "a new /proc" if plan.pid_namespace else "/proc"
    writable = ", ".join(plan.writable) or "nothing else"
    return (
        f"{proc} (sys, sysrq-trigger, irq, bus, fs read-only), a new /dev, private /tmp and "
        f"/run; everything read-only but {writable}"
    )


def _command(
    launch: Launch,
    control: socket.socket | None,
    *,
    parent: int | None,
    in_pid_namespace: bool,
    report: LayerReport | None = None,
) -> NoReturn:
    """The command's process: the remaining layers, the filter, ``execve``. ``control`` is
    None when this process is ``seccomp-bpf run`` itself (:func:`exec_in_place`); then
    ``parent`` is None and no parent-death signal is set."""
    plan = launch.plan
    report = report if report is not None else LayerReport()
    status = EXIT_SETUP_FAILED
    try:
        if parent is not None:
            die_with_parent(parent)
            # Its parent made itself not dumpable before the fork; this process writes its
            # own uid_map when it makes a user namespace, and execve decides anew anyway.
            set_dumpable(True)
            if plan is not None:
                report.add("pdeathsig", "SIGKILL when seccomp-bpf run ends")
        if plan is not None:
            if in_pid_namespace and plan.sandbox.new_session:
                os.setpgid(0, 0)  # its own group in init's session
            elif plan.sandbox.new_session:
                new_session(report)
            if plan.namespaces and not in_pid_namespace:
                plan = _own_namespaces(plan, control, report)
        if control is not None:
            own = os.pidfd_open(os.getpid())
            socket.send_fds(control, [b"H"], [own])
            os.close(own)
        signal.pthread_sigmask(signal.SIG_SETMASK, launch.mask)
        for number in _PYTHON_IGNORED:
            signal.signal(number, signal.SIG_DFL)
        if plan is not None:
            no_new_privs(report)
            try:
                restrict_filesystem(plan, report)
            except KernelError as error:
                if not is_refusal(error):
                    raise
                note(_refused(plan, control, "landlock", error))
            drop_capabilities(plan, report)
        listener = _install(launch, control)
        report.add("seccomp", f"filter of {len(launch.program)} instructions, installed last")
        if launch.show_layers:
            os.write(2, report.text(launch.argv[0]).encode(errors="backslashreplace"))
        if listener is not None and control is not None:
            with contextlib.suppress(OSError):
                socket.send_fds(control, [b"L"], [listener])
    except (SeccompBPFError, OSError) as error:
        _fail(control, getattr(error, "exit_status", status), error)
    except BaseException as error:
        _fail(control, status, KernelError("starting the command", errno_codes.EIO, repr(error)))
    try:
        os.execv(launch.executable, launch.argv)
    except OSError as error:
        status = EXIT_NOT_FOUND if error.errno == errno_codes.ENOENT else EXIT_NOT_EXECUTABLE
        note(f"{launch.argv[0]}: {error.strerror}")
    os._exit(status)


def exec_in_place(launch: Launch) -> NoReturn:
    """``--no-fork`` without a PID namespace: this very process becomes the command (its
    pid, its exit status). Failures are printed, and end the process with their status."""
    sys.stdout.flush()
    sys.stderr.flush()
    _command(launch, None, parent=None, in_pid_namespace=False)


def _own_namespaces(
    plan: SandboxPlan, control: socket.socket | None, report: LayerReport
) -> SandboxPlan:
    """Without a PID namespace, the command creates its other namespaces itself."""
    try:
        enter_namespaces(plan, namespace_flags(plan, pid=False), report)
    except KernelError as error:
        if not is_refusal(error):
            raise
        return _fall_back(plan, control, error)
    _mount_namespace(plan, control, report)
    return plan


def _fall_back(plan: SandboxPlan, control: socket.socket | None, error: KernelError) -> SandboxPlan:
    """The plan without namespaces, which the kernel refused; its new notes are said."""
    fallback = plan.without_namespaces(_refused(plan, control, "namespaces", error))
    for line in fallback.notes[len(plan.notes) :]:
        note(line)
    return fallback


def _install(launch: Launch, control: socket.socket | None) -> int | None:
    """Install the filter (with a listener when supervised, announced first); the listener."""
    from seccomp_bpf.kernel import install

    flags = {name: True for name in ("log", "spec_allow") if name in launch.filter_flags}
    if not launch.listener or control is None:
        install(launch.program, tsync=control is None, **flags)
        return None
    # The listener takes the lowest free descriptor: say which, for the case where handing
    # it over is itself a call the filter notifies or denies.
    probe = fcntl.fcntl(control.fileno(), fcntl.F_DUPFD_CLOEXEC, 0)
    os.close(probe)
    control.send(b"N%d" % probe)
    try:
        # Once a notification is received, a non-fatal signal no longer interrupts the wait
        # (Linux 5.19): without it, a signal makes the call restart and be reported twice.
        listener = install(
            launch.program, tsync=False, new_listener=True, wait_killable_recv=True, **flags
        )
    except KernelError as error:
        if error.errno != errno_codes.EINVAL:
            raise
        listener = install(launch.program, tsync=False, new_listener=True, **flags)
    return listener
