"""Start a command under a filter that has a user-notification listener, and take the listener.

Shared by the ``--report-denials`` supervisor (:mod:`.supervisor`) and the profiler's
learning mode (:mod:`seccomp_bpf.profiling`), which both answer the command's notified calls.

Starting. The command is forked; the child installs the filter with
``SECCOMP_FILTER_FLAG_NEW_LISTENER`` (no TSYNC: a forked child has one thread) and sends the
listener to this process over a socket (``SCM_RIGHTS``), then execs. Sending is itself a
call under the filter: when the filter notifies ``sendmsg``, the child blocks there, and
this process copies the listener out of it with ``pidfd_getfd`` at the descriptor number the
child announced before installing. That one ``sendmsg`` is then still waiting for an answer:
:meth:`NotifiedChild.is_bootstrap_sendmsg` recognises it, so that it can be answered (with
EPERM: the child goes on to exec) without being reported. A filter that traps or traces
``sendmsg`` keeps the listener from ever arriving: that is an error, and the command is
killed before it runs unsupervised.

Signals. :class:`SignalForwarder` passes SIGHUP, SIGINT, SIGQUIT and SIGTERM sent to this
process on to the command. Those the terminal sends to the whole foreground process group
reach the command directly (it stays in this process's group, so job control works) and are
not sent twice.

This is meant to run in a single-threaded process (``seccomp-bpf run`` is one): it forks,
and it blocks those four signals while the command runs.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import functools
import json
import os
import select
import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

from seccomp_bpf.arch import native_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import install
from seccomp_bpf.kernel.notify import Notification
from seccomp_bpf.kernel.pidfd import pidfd_getfd

FORWARDED_SIGNALS: Final = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM})

# <asm-generic/siginfo.h>: si_code of a signal the kernel itself sends, as the terminal does to
# its foreground process group (n_tty's isig -> kill_pgrp with SEND_SIG_PRIV).
SI_KERNEL: Final = 0x80

# The readlink(2) text of a listener's /proc/PID/fd entry (anon_inode_getfile(
# "seccomp notify", ...) in init_listener, kernel/seccomp.c).
LISTENER_LINK: Final = "anon_inode:seccomp notify"

# How long to wait for the listener on the socket before looking for it in the child with
# pidfd_getfd (the child may be blocked in a sendmsg that the filter notifies).
LISTENER_WAIT_MS: Final = 50
# Exit statuses of the child when exec fails, as shells use them.
EXIT_CANNOT_EXECUTE: Final = 126
EXIT_NOT_FOUND: Final = 127


@functools.cache
def _native_sendmsg() -> int:
    sendmsg = native_arch().syscall_number("sendmsg")
    return -1 if sendmsg is None else sendmsg


@dataclass
class NotifiedChild:
    """The command's process, as the process holding its listener sees it."""

    pid: int
    pidfd: int
    sock: socket.socket | None  # this process's end, until the child has exec'd
    sock_fd_in_child: int  # the child's end, as numbered in the child
    listener: int = -1
    reaped: bool = False
    bootstrap_sendmsg_pending: bool = False

    def wait(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        return status

    def close(self, *, kill: bool) -> None:
        """Release everything; with ``kill``, first end the process if it still runs."""
        if kill and not self.reaped:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            self.wait()
        if self.listener >= 0:
            os.close(self.listener)
            self.listener = -1
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1

    def read_socket(self, poller: select.poll) -> None:
        """Read what the child sent after the listener was taken: the listener itself (its
        ``sendmsg`` went through after all) or end of file (it has exec'd). Either way no
        bootstrap call will come; at end of file the socket is closed and unregistered."""
        assert self.sock is not None
        message, fds, _, _ = socket.recv_fds(self.sock, 4096, 1)
        for fd in fds:
            os.close(fd)  # the listener, sent after all, once it was taken with pidfd_getfd
        if fds or not message:
            # The send went through, or the child exec'd: no bootstrap call will come.
            self.bootstrap_sendmsg_pending = False
        if not message:
            poller.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def is_bootstrap_sendmsg(self, notification: Notification) -> bool:
        """Whether ``notification`` is the child's own ``sendmsg`` of the listener."""
        data = notification.data
        return self.is_bootstrap_call(notification.pid, data.arch, data.nr, data.args[0])

    def is_bootstrap_call(self, pid: int, arch: int, nr: int, arg0: int) -> bool:
        """Whether a notified call by thread ``pid`` (``seccomp_data`` ``arch``, ``nr`` and
        first argument) is the child's own ``sendmsg`` of the listener."""
        return (
            self.bootstrap_sendmsg_pending
            and pid == self.pid
            and arch == native_arch().audit_arch
            and nr == _native_sendmsg()
            and arg0 == self.sock_fd_in_child
        )


def thread_group(tid: int) -> tuple[int, int]:
    """``(Tgid, Threads)`` of thread ``tid`` from ``/proc/TID/status`` (``proc(5)``)."""
    tgid = threads = 0
    with open(f"/proc/{tid}/status", encoding="ascii", errors="replace") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key == "Tgid":
                tgid = int(value)
            elif key == "Threads":
                threads = int(value)
    return tgid, threads


def exit_status(status: int) -> int:
    """The exit status a shell reports for a wait ``status``: the code, or 128+N for a death
    by signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


class SignalForwarder:
    """Passes :data:`FORWARDED_SIGNALS` that reach this process on to process ``pid``
    (through ``pidfd``, which stays valid however the process ends).

    The signals are blocked in this process and taken with ``sigwaitinfo`` in a thread,
    which sees ``si_code``: a signal the kernel sent to the whole foreground process group
    (``SI_KERNEL``) has reached the command already when it is in the same group.
    """

    def __init__(self, pid: int, pidfd: int) -> None:
        self._pid = pid
        self._pidfd = pidfd
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="seccomp-bpf signals", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:
            info = signal.sigwaitinfo(FORWARDED_SIGNALS)
            if self._stopping:
                return
            if info.si_code == SI_KERNEL and self._same_group():
                continue
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, info.si_signo)

    def _same_group(self) -> bool:
        try:
            return os.getpgid(self._pid) == os.getpgrp()
        except ProcessLookupError:
            return True

    def stop(self) -> None:
        self._stopping = True
        if self._thread.ident is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pthread_kill(self._thread.ident, signal.SIGTERM)
            self._thread.join()


@contextlib.contextmanager
def signals_blocked() -> Iterator[frozenset[int]]:
    """Block :data:`FORWARDED_SIGNALS`; yields the previous mask. On the way out, signals
    still pending were meant for a command that has ended: they are dropped."""
    previous = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS))
    try:
        yield previous
    finally:
        while signal.sigtimedwait(FORWARDED_SIGNALS, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# --- starting -------------------------------------------------------------------------------------


def start_notified(
    executable: str,
    argv: Sequence[str],
    program: Program,
    *,
    flags: Sequence[str] = (),
    mask: frozenset[int] = frozenset(),
    listener_wait_ms: int = LISTENER_WAIT_MS,
) -> NotifiedChild:
    """Fork ``argv`` (``executable`` is the file to exec) under ``program`` with a listener,
    and take the listener; see the module docstring.

    ``flags`` may ask for the filter flags ``log`` and ``spec_allow``; ``mask`` is the signal
    mask the command starts with. Raises :class:`KernelError` when the child could not be
    confined (with the child's own error) or the listener never came; the child is then
    killed and reaped. ``listener_wait_ms`` is how long to wait for the listener on the socket
    before each attempt to take it with ``pidfd_getfd``.
    """
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        _child_main(
            child_end, executable=executable, argv=argv, program=program, flags=flags, mask=mask
        )
    child_end_number = child_end.fileno()
    child_end.close()
    child = NotifiedChild(pid, os.pidfd_open(pid), parent_end, child_end_number)
    try:
        child.listener = _receive_listener(child, listener_wait_ms)
    except BaseException:
        child.close(kill=True)
        raise
    return child


def _receive_listener(child: NotifiedChild, wait_ms: int) -> int:
    """The listener, sent by the child or, if it is stuck sending it, taken from it."""
    assert child.sock is not None
    poller = select.poll()
    poller.register(child.sock, select.POLLIN)
    poller.register(child.pidfd, select.POLLIN)
    predicted: int | None = None
    while True:
        events = dict(poller.poll(wait_ms if predicted is not None else None))
        if child.sock.fileno() in events:
            message, fds, _, _ = socket.recv_fds(child.sock, 4096, 1)
            if fds:
                return fds[0]
            if message.startswith(b"N"):
                predicted = int(message[1:])
            elif message.startswith(b"E"):
                raise _child_error(message[1:])
            elif not message:
                # The child exec'd without handing the listener over: its sendmsg was
                # neither let through nor sent here (a trace action fails it).
                raise KernelError(
                    "starting the command",
                    errno_codes.EPROTO,
                    "the policy's action for sendmsg kept the command from handing its "
                    "seccomp listener to the supervisor; allow or deny sendmsg",
                )
        elif child.pidfd in events:
            status = child.wait()
            raise KernelError(
                "starting the command",
                errno_codes.ECHILD,
                f"the child ended with status {exit_status(status)} before it was confined",
            )
        elif not events and predicted is not None:
            listener = _take_listener(child.pidfd, predicted)
            if listener is not None:
                child.bootstrap_sendmsg_pending = True
                return listener


def _take_listener(pidfd: int, number: int) -> int | None:
    """The child's listener copied with ``pidfd_getfd``, if descriptor ``number`` is one."""
    try:
        fd = pidfd_getfd(pidfd, number)
    except KernelError as error:
        if error.errno in (errno_codes.EBADF, errno_codes.ESRCH):
            return None  # not installed yet, or the child has exec'd or ended
        raise
    try:
        if os.readlink(f"/proc/self/fd/{fd}") == LISTENER_LINK:
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _child_error(payload: bytes) -> Exception:
    """The error the child sent before its filter was installed."""
    fields = json.loads(payload)
    if fields.get("call") is not None:
        return KernelError(fields["call"], fields["errno"], fields["detail"])
    return KernelError("starting the command", fields["errno"] or errno_codes.EIO, fields["detail"])


def _child_main(
    sock: socket.socket,
    *,
    executable: str,
    argv: Sequence[str],
    program: Program,
    flags: Sequence[str],
    mask: frozenset[int],
) -> NoReturn:
    """In the forked child: confine, hand over the listener, exec. Never returns."""
    status = EXIT_CANNOT_EXECUTE
    try:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            # Python ignores SIGPIPE and SIGXFSZ; an exec keeps ignored signals ignored.
            for number in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(number, signal.SIG_DFL)
            # The listener will take the lowest free descriptor: announce which it is, for
            # the case where handing it over is itself notified or denied.
            probe = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            os.close(probe)
            sock.send(b"N%d" % probe)
            listener = _install(program, flags)
        except BaseException as error:
            # Nothing is installed: the child may still talk freely.
            fields = {
                "call": getattr(error, "call", None),
                "errno": getattr(error, "errno", None),
                "detail": getattr(error, "detail", None) or str(error),
            }
            sock.send(b"E" + json.dumps(fields).encode())
            raise
        # From here on, every call goes through the filter.
        with contextlib.suppress(OSError):
            socket.send_fds(sock, [b"L"], [listener])
        try:
            os.execv(executable, list(argv))
        except OSError as error:
            status = EXIT_NOT_FOUND if error.errno == errno_codes.ENOENT else status
            with contextlib.suppress(OSError):
                os.write(2, f"seccomp-bpf: {executable}: {error.strerror}\n".encode())
    finally:
        os._exit(status)


def _install(program: Program, flags: Sequence[str]) -> int:
    options = {"tsync": False, "new_listener": True}
    options.update({name: True for name in ("log", "spec_allow") if name in flags})
    try:
        # Once a notification is received, a non-fatal signal no longer interrupts the wait
        # (Linux 5.19): without it, a signal makes the call restart and be reported twice.
        listener = install(program, **options, wait_killable_recv=True)
    except KernelError as error:
        if error.errno != errno_codes.EINVAL:
            raise
        listener = install(program, **options)
    assert listener is not None
    return listener
