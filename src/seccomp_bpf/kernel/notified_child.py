"""Start a command under a filter that has a user-notification listener, and take the listener.

Shared by the ``--report-denials`` supervisor (:mod:`seccomp_bpf.run.supervisor`) and the
profiler's learning mode (:mod:`seccomp_bpf.profiling`), which both answer the command's
notified calls. The processes and the hand-over are :mod:`.child`'s (in a sandbox, started by
:mod:`seccomp_bpf.run.launch`; here without one): the command installs the filter with
``SECCOMP_FILTER_FLAG_NEW_LISTENER`` and sends the listener over a socket (``SCM_RIGHTS``).
Sending is itself a call under the filter: when the filter notifies ``sendmsg``, the command
blocks there, and the listener is copied out of it with ``pidfd_getfd`` at the descriptor
number it announced before installing. That one ``sendmsg`` is then still waiting for an
answer: :meth:`NotifiedChild.is_bootstrap_sendmsg` recognises it, so that it can be answered
(with EPERM: the command goes on to exec) without being reported. A filter that traps or
traces ``sendmsg`` keeps the listener from ever arriving: that is an error, and the command is
killed before it runs unsupervised.

Signals. :class:`SignalForwarder` passes the signals of :data:`FORWARDED_SIGNALS` sent to
this process on to the command, and the terminal's (``SI_KERNEL``) to its process group when
it leads one of its own (a new session); when it shares this process's group, the terminal's
reach it directly and are not sent twice. ``SIGTSTP`` stops the command's group, then this
process; ``SIGCONT`` resumes it.

This is meant to run in a single-threaded process (``seccomp-bpf run`` is one): it forks,
and it blocks those signals while the command runs.
"""

from __future__ import annotations

# The C module socket wraps: importing socket (its enums, selectors) would cost a confined
# command's start-up more than every socket call of it.
import _socket
import contextlib
import errno as errno_codes
import os
import select
import signal
from collections.abc import Iterator, Sequence

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import KernelError, SeccompBPFError
from seccomp_bpf.kernel.child import (
    EXIT_SETUP_FAILED,
    LISTENER_WAIT_MS,
    Started,
    StartError,
    announce,
    die_with_parent,
    exec_command,
    fail,
    hand_over_listener,
    install_filter,
    restore_signals,
    start,
)

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final, NoReturn

FORWARDED_SIGNALS: Final = frozenset(
    {
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGTERM,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGWINCH,
    }
)
"""Passed on to the command; with :data:`JOB_CONTROL_SIGNALS`, what this process watches."""
JOB_CONTROL_SIGNALS: Final = frozenset({signal.SIGTSTP, signal.SIGCONT})

# <asm-generic/siginfo.h>: si_code of a signal the kernel itself sends, as the terminal does to
# its foreground process group (n_tty's isig -> kill_pgrp with SEND_SIG_PRIV).
SI_KERNEL: Final = 0x80

NotifiedChild = Started
"""The command's process, as the process holding its listener sees it."""


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


def forward(pid: int, pidfd: int, own_group: bool, signo: int, code: int) -> None:
    """Pass signal ``signo`` (with ``si_code`` ``code``) that reached this process on to the
    command ``pid``; see the module docstring."""
    # The command's group is named by its pid, which is its own only while it runs.
    group = own_group and _running(pidfd)
    with contextlib.suppress(OSError):  # the command is gone
        if signo == signal.SIGTSTP:
            if group:
                os.killpg(pid, signal.SIGSTOP)
            os.kill(os.getpid(), signal.SIGSTOP)  # as the terminal meant; resumed by SIGCONT
        elif signo == signal.SIGCONT:
            if group:
                os.killpg(pid, signal.SIGCONT)
        elif code == SI_KERNEL:
            if group:
                os.killpg(pid, signo)
            elif not _same_group(pid):
                signal.pidfd_send_signal(pidfd, signo)
        else:
            signal.pidfd_send_signal(pidfd, signo)


def _running(pidfd: int) -> bool:
    """Whether the process of ``pidfd`` has not ended (a pidfd is readable once it has)."""
    if pidfd < 0:
        return False
    ready = select.poll()
    ready.register(pidfd, select.POLLIN)
    return not ready.poll(0)


def _same_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == os.getpgrp()
    except ProcessLookupError:
        return True


class SignalForwarder:
    """Passes the signals that reach this process on to process ``pid`` (through ``pidfd``,
    which stays valid however the process ends), from a thread that takes them with
    ``sigwaitinfo`` (:func:`forward` says how)."""

    def __init__(self, pid: int, pidfd: int, *, own_group: bool = False) -> None:
        self._pid = pid
        self._pidfd = pidfd
        self._own_group = own_group
        self._stopping = False
        import threading  # only a supervised run has a thread: a plain run imports none

        self._thread = threading.Thread(target=self._run, name="seccomp-bpf signals", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:
            info = signal.sigwaitinfo(FORWARDED_SIGNALS | JOB_CONTROL_SIGNALS)
            if self._stopping:
                return
            forward(self._pid, self._pidfd, self._own_group, info.si_signo, info.si_code)

    def stop(self) -> None:
        self._stopping = True
        if self._thread.ident is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pthread_kill(self._thread.ident, signal.SIGTERM)
            self._thread.join()


@contextlib.contextmanager
def signals_blocked() -> Iterator[frozenset[int]]:
    """Block the signals this process watches; yields the previous mask. On the way out,
    signals still pending were meant for a command that has ended: they are dropped."""
    watched = FORWARDED_SIGNALS | JOB_CONTROL_SIGNALS
    previous = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, watched))
    try:
        yield previous
    finally:
        while signal.sigtimedwait(watched, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
    and take the listener; no other layer (the profiler's learning mode).

    ``flags`` may ask for the filter flags ``log`` and ``spec_allow``; ``mask`` is the signal
    mask the command starts with. Raises :class:`~seccomp_bpf.errors.KernelError` when the
    child could not be confined (with the child's own error) or the listener never came; the
    child is then killed and reaped.
    """

    def child(control: _socket.socket, parent: int, status_write: int) -> NoReturn:
        try:
            die_with_parent(parent)
            announce(control)
            restore_signals(mask)
            listener = install_filter(program, flags, listener=True, control=control)
            assert listener is not None
            hand_over_listener(control, listener)
        except (SeccompBPFError, OSError) as error:
            fail(control, getattr(error, "exit_status", EXIT_SETUP_FAILED), error)
        except BaseException as error:
            failure = KernelError("starting the command", errno_codes.EIO, repr(error))
            fail(control, EXIT_SETUP_FAILED, failure)
        exec_command(executable, argv)

    try:
        return start(child, listener=True, listener_wait_ms=listener_wait_ms)
    except StartError as error:
        raise error.error from None
