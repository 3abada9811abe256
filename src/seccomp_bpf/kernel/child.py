"""The command's process: started in a child under a filter, what it tells its parent, how it
ended.

``seccomp-bpf run`` (its sandbox: :mod:`seccomp_bpf.run.launch`), the ``--report-denials``
supervisor, the profiler and ``seccomp-bpf dump -- CMD`` all fork a command, set it up and
exec it. What they share is here:

- :func:`find_executable`: the file ``execvp`` would run (127 not found, 126 not executable,
  as a shell says), before anything is started;
- :func:`start`: fork, run the child's part, and read what it tells its parent on a
  ``SOCK_SEQPACKET`` socket pair (the parent's end has ``SO_PASSCRED``, so each message
  carries its sender's pid as the parent sees it, inside a PID namespace or not,
  ``unix(7)``), until it has exec'd or, when supervised, its listener is here:

  - ``H`` with a pidfd of the command (``SCM_RIGHTS``): its pid (from the credentials) and a
    handle on it that stays its own, where signals go (:func:`announce`);
  - ``N<n>``: the descriptor number its seccomp listener will get (supervised runs only);
  - ``L`` with the listener (``SCM_RIGHTS``), once the filter is installed
    (:func:`install_filter`, :func:`hand_over_listener`);
  - ``E<dict>``: a failure before ``execve``: the exit status to use, and the error
    (:func:`fail`), as a Python literal (read with ``ast.literal_eval``); nothing is
    imported to write it, since by then the layers may refuse to read a module;
  - end of file: the command has exec'd (its end is close-on-exec, and an init between has
    closed its copy), or everything has ended.

  When the hand-over of the listener is itself a call the filter notifies, the command blocks
  in that ``sendmsg``: the parent copies the listener out of it with ``pidfd_getfd`` at the
  number it announced (:meth:`Started.take_listener`), and that one ``sendmsg`` is answered
  without being reported (:meth:`Started.is_bootstrap_sendmsg`);
- in the child: :func:`die_with_parent` (first), :func:`restore_signals` (the mask, and the
  signals Python ignores back to their default, as ``subprocess`` does), :func:`exec_command`
  (127 or 126 and a shell-like message when ``execve`` fails), :func:`note`;
- :func:`describe_exit`: the exit status to leave with for the command's wait status, and what
  to report.

A child that has an init between it and the parent (a PID namespace) has init report its wait
status on a pipe (:attr:`Started.status_fd`).
"""

from __future__ import annotations

# The C module socket wraps: importing socket (its enums, selectors) would cost a confined
# command's start-up more than every socket call of it.
import _socket
import contextlib
import errno as errno_codes
import fcntl
import functools
import gc
import os
import select
import signal
import struct
import sys
from collections.abc import Callable, Sequence

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import (
    CommandError,
    KernelError,
    LayerUnavailableError,
    SeccompBPFError,
)
from seccomp_bpf.kernel.prctl import set_parent_death_signal
from seccomp_bpf.kernel.seccomp import install

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing

if TYPE_CHECKING:
    from typing import Final, NoReturn

    from seccomp_bpf.kernel.notify import Notification

EXIT_SETUP_FAILED: Final = 125
"""The sandbox or the filter could not be set up in the child: nothing was run (as ``env``
and ``timeout`` use it for their own failures)."""
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
# Signals a shell does not report when they end a command.
_QUIET_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGPIPE})


def find_executable(command: str, path: Sequence[str] | None = None) -> str:
    """Where ``command`` is, as ``execvp`` would look: as given when it holds a ``/``,
    otherwise in each ``PATH`` directory. Raises :class:`CommandError` (127 not found, 126
    found but a directory or not executable)."""
    if not command:
        raise CommandError(command, errno_codes.ENOENT, EXIT_NOT_FOUND, "command not found")
    if "/" in command:
        candidates = [command]
    else:
        directories = os.get_exec_path() if path is None else list(path)
        candidates = [os.path.join(directory or ".", command) for directory in directories]
    refused: CommandError | None = None
    for candidate in candidates:
        if not os.path.exists(candidate):
            continue
        if os.path.isdir(candidate):
            refused = refused or CommandError(command, errno_codes.EISDIR, EXIT_NOT_EXECUTABLE)
        elif os.access(candidate, os.X_OK):
            return candidate
        else:
            refused = refused or CommandError(command, errno_codes.EACCES, EXIT_NOT_EXECUTABLE)
    if refused is not None:
        raise refused
    if "/" in command:
        raise CommandError(command, errno_codes.ENOENT, EXIT_NOT_FOUND)
    raise CommandError(command, errno_codes.ENOENT, EXIT_NOT_FOUND, "command not found")


def describe_exit(
    command: str, status: int, sigsys_cause: Callable[[], str] | None = None
) -> tuple[int, str | None]:
    """The exit status to leave with for a command's wait ``status``, and what to report;
    ``sigsys_cause`` says what a SIGSYS came from (default: seccomp)."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    if not os.WIFSIGNALED(status):  # stopped or continued: not an end (waitpid asked for ends)
        return EXIT_SETUP_FAILED, f"{command} ended with wait status {status:#x}"
    number = os.WTERMSIG(status)
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    message: str | None = f"{command} was killed by {name}"
    if number == signal.SIGSYS:
        cause = sigsys_cause() if sigsys_cause is not None else "seccomp"
        message = f"{message} ({cause})"
    if os.WCOREDUMP(status):
        message = f"{message}, core dumped"
    if number in _QUIET_SIGNALS:
        message = None
    return 128 + number, message


def die_with_parent(parent: int | None) -> None:
    """``PR_SET_PDEATHSIG(SIGKILL)``, then end at once if the parent already went: its pid
    is no longer ``parent`` (the process was adopted). ``parent`` None skips the check
    (the parent is outside this PID namespace: its pid reads 0)."""
    set_parent_death_signal(signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(128 + signal.SIGKILL)


@functools.cache
def _native_sendmsg() -> int:
    from seccomp_bpf.arch import native_arch

    sendmsg = native_arch().syscall_number("sendmsg")
    return -1 if sendmsg is None else sendmsg


def _native_audit_arch() -> int:
    from seccomp_bpf.arch import native_arch

    return native_arch().audit_arch


def note(message: str) -> None:
    """One line on stderr, written at once (the process may exec next)."""
    with contextlib.suppress(OSError):
        os.write(2, f"seccomp-bpf: {message}\n".encode(errors="backslashreplace"))


class StartError(SeccompBPFError):
    """The sandbox or the filter could not be set up; nothing was run. ``exit_status`` is
    what ``seccomp-bpf run`` exits with, ``error`` the child's error (a
    :class:`~seccomp_bpf.errors.LayerUnavailableError` for a required layer)."""

    def __init__(self, exit_status: int, error: KernelError | LayerUnavailableError) -> None:
        self.exit_status = exit_status
        self.error = error
        super().__init__(str(error))


class Started:
    """The command, started: how ``seccomp-bpf run`` sees it.

    ``child`` is ``seccomp-bpf run``'s own child: the namespace parent, or the command
    itself. ``control`` is its end of the socket pair, until the command has exec'd.
    ``pid`` is the command's pid, as ``seccomp-bpf run`` sees it. ``own_group``: whether the
    command leads a process group of its own (a terminal's signals to ``seccomp-bpf run``'s
    group do not reach it).
    """

    __slots__ = (
        "_predicted",
        "bootstrap_sendmsg_pending",
        "child",
        "control",
        "control_fd_in_child",
        "listener",
        "own_group",
        "pid",
        "pidfd",
        "reaped",
        "status",
        "status_fd",
    )

    def __init__(
        self,
        *,
        child: int,
        control: _socket.socket | None,
        control_fd_in_child: int,
        status_fd: int | None,
        own_group: bool = False,
    ) -> None:
        self.child = child
        self.control = control
        self.control_fd_in_child = control_fd_in_child
        self.status_fd = status_fd
        self.own_group = own_group
        self.pid = 0
        self.pidfd = -1
        self.listener = -1
        self.bootstrap_sendmsg_pending = False
        self.reaped = False
        self.status: int | None = None
        self._predicted: int | None = None

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
    def sock(self) -> _socket.socket | None:
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
            and arch == _native_audit_arch()
            and nr == _native_sendmsg()
            and arg0 == self.control_fd_in_child
        )

    def read_message(self) -> bool:
        """Read one message of the socket pair; False at end of file (the socket is then
        closed). A listener arriving after it was taken is closed (it is the same)."""
        assert self.control is not None
        ancillary = _socket.CMSG_SPACE(_UCRED.size) + _socket.CMSG_SPACE(4)
        message, data, _, _ = self.control.recvmsg(4096, ancillary)
        fds: list[int] = []
        sender = 0
        for level, kind, payload in data:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_CREDENTIALS:
                sender = _UCRED.unpack(payload[: _UCRED.size])[0]
            elif level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
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
            import ast  # the message of a failure: a start that succeeds reads none

            # A dict of text, numbers and None, as fail() writes it; literal_eval reads
            # literals and nothing else.
            fields = ast.literal_eval(body.decode("utf-8", "replace"))
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

if TYPE_CHECKING:
    ChildMain = Callable[[_socket.socket, int, int], NoReturn]
"""The child's part of :func:`start`: given its end of the socket pair, the parent's pid and
the write end of the status pipe (-1 without one), it sets the command up and execs it."""


def start(
    child_main: ChildMain,
    *,
    listener: bool,
    status_pipe: bool = False,
    own_group: bool = False,
    listener_wait_ms: int = LISTENER_WAIT_MS,
) -> Started:
    """Fork, run ``child_main`` in the child, and return once the command has exec'd or, with
    ``listener`` (a supervised run), once its listener is here. ``status_pipe``: an init
    between the command and this process reports the command's wait status on a pipe;
    ``own_group``: the command leads a process group of its own. Raises :class:`StartError`
    when the command could not be set up (the processes are gone then)."""
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    ours.setsockopt(_socket.SOL_SOCKET, _socket.SO_PASSCRED, 1)
    status_read, status_write = os.pipe() if status_pipe else (-1, -1)
    run_pid = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    # The children share this process's memory until one writes to it (fork(2):
    # copy-on-write), and a collection writes to the header of every object it traverses
    # (update_refs() in CPython's Modules/gcmodule.c), so one made here or in a child while
    # both live copies every page it reaches. Frozen objects are not traversed (gc.freeze,
    # which the gc module's documentation advises before fork for this); they thaw once the
    # command has exec'd, so that a long-lived caller collects them as before.
    gc.freeze()
    try:  # the child never leaves this block but by os._exit or execve
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                if status_read >= 0:
                    os.close(status_read)
                child_main(theirs, run_pid, status_write)
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
            own_group=own_group,
        )
        try:
            _handshake(started, listener, listener_wait_ms)
        except BaseException:
            started.close(kill=True)
            raise
        return started
    finally:
        gc.unfreeze()


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


# --- in the child -------------------------------------------------------------------------------


def fail(control: _socket.socket | None, status: int, error: BaseException) -> NoReturn:
    """Report a failure before ``execve`` to the parent (or, in place, on stderr) and end."""
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
        # repr, not json: this runs after the layers are up, where importing a module may
        # be refused, and nothing but literals is written.
        with contextlib.suppress(OSError):
            control.send(b"E" + repr(fields).encode("utf-8", "backslashreplace"))
    os._exit(status)


def _send_fd(control: _socket.socket, message: bytes, fd: int) -> None:
    """Send ``message`` with the descriptor ``fd`` (``SCM_RIGHTS``, ``unix(7)``)."""
    control.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", fd))])


def announce(control: _socket.socket) -> None:
    """Send the parent a pidfd of this process (``H``)."""
    own = os.pidfd_open(os.getpid())
    _send_fd(control, b"H", own)
    os.close(own)


def restore_signals(mask: frozenset[int]) -> None:
    """Set the signal mask the command starts with, and the signals Python ignores back to
    their default (an exec keeps ignored signals ignored)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    for number in _PYTHON_IGNORED:
        signal.signal(number, signal.SIG_DFL)


def install_filter(
    program: Program,
    filter_flags: Sequence[str],
    *,
    listener: bool,
    control: _socket.socket | None,
) -> int | None:
    """Install the filter (with a listener when supervised, announced first); the listener.
    ``filter_flags`` may hold ``log`` and ``spec_allow``."""
    flags = {name: True for name in ("log", "spec_allow") if name in filter_flags}
    if not listener or control is None:
        install(program, tsync=control is None, **flags)
        return None
    # The listener takes the lowest free descriptor: say which, for the case where handing
    # it over is itself a call the filter notifies or denies.
    probe = fcntl.fcntl(control.fileno(), fcntl.F_DUPFD_CLOEXEC, 0)
    os.close(probe)
    control.send(b"N%d" % probe)
    try:
        # Once a notification is received, a non-fatal signal no longer interrupts the wait
        # (Linux 5.19): without it, a signal makes the call restart and be reported twice.
        return install(program, tsync=False, new_listener=True, wait_killable_recv=True, **flags)
    except KernelError as error:
        if error.errno != errno_codes.EINVAL:
            raise
        return install(program, tsync=False, new_listener=True, **flags)


def hand_over_listener(control: _socket.socket, listener: int) -> None:
    """Send the parent the filter's listener (``L``); a failure is no error: the parent then
    copies it out of this process (:meth:`Started.take_listener`)."""
    with contextlib.suppress(OSError):
        _send_fd(control, b"L", listener)


def exec_command(executable: str, argv: Sequence[str]) -> NoReturn:
    """``execve`` the command; when that fails, say why and end with 127 (not found) or 126,
    as a shell does."""
    try:
        os.execv(executable, tuple(argv))
    except OSError as error:
        status = EXIT_NOT_FOUND if error.errno == errno_codes.ENOENT else EXIT_NOT_EXECUTABLE
        note(f"{argv[0]}: {error.strerror}")
    os._exit(status)
