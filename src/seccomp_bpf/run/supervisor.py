"""Run a command under a policy and report every call the policy denies (``--report-denials``).

The command runs under a filter compiled from a *notifying* copy of the policy: every rule,
default, unknown-syscall or bad-architecture action that denies (``errno``, ``kill_thread``,
``kill_process``, and ``user_notif`` itself) becomes ``SECCOMP_RET_USER_NOTIF``; ``allow``,
``log``, ``trap`` and ``trace`` stay in the kernel, unchanged and unreported. Each denied
call then blocks in the kernel until this supervisor has

1. decided it again with the *original* policy (:meth:`Policy.decide` on the notification's
   ``seccomp_data``), which gives the action and the rule with its file and line;
2. printed one line (shown here on two)::

       seccomp-bpf: pid 4242: getcwd(0x7ffc5e1c, 0x1001, 0x0, 0x0, 0x0, 0x0) -> errno(EPERM):
       rule 2 (p.yaml:7:5)

   with the rule's file, line and column; or ``default action (p.yaml)``, ``unknown system
   call 999 on x86_64 (p.yaml)``, ``bad architecture: ...`` when no rule decided. The
   arguments are the raw register values, in hexadecimal;

3. answered as the policy would have:

   - ``errno(N)``: the call fails with N without running (``errno(0)``: returns 0);
   - ``kill_process``: the process is killed. A supervisor cannot raise a SIGSYS that the
     process could not catch, so it sends SIGKILL; when that was the command itself,
     :func:`run_with_reports` returns ``128 + SIGSYS``, the status the kernel's own kill
     gives, so scripts see the same status with and without reports;
   - ``kill_thread``: the kernel would end the calling thread only, or the process when it
     is the last thread. No supervisor can end one thread of another process, so the whole
     process is killed, and the line says so when other threads were running;
   - ``user_notif``: the call fails with ENOSYS, what the kernel answers when no other
     supervisor listens (a filter chain has at most one listener: the command cannot add
     its own).

Filters the command stacks itself still combine by precedence (``seccomp_run_filters``):
``user_notif`` loses to ``errno``, ``trap`` and the kills, so where the command's own
filter answers a call with one of those, it wins over a kill this policy would have given.

``trap`` is not reported: the SIGSYS the kernel sends carries ``si_syscall``,
``si_call_addr`` and ``si_code = SYS_SECCOMP``, which handlers rely on and which no other
process can forge.

Processes and threads. The filter is inherited by the command's threads and children, and
every one of their denied calls reaches this supervisor. The supervisor never outlives the
command: when the command's process ends, the notifications still waiting are answered, the
listener is closed and the command's status returned. Processes it left behind then get
ENOSYS (the kernel's answer when nobody listens) for the calls the policy denies, instead of
the policy's errno or kill. If the supervisor itself dies, the same happens: a call is never
left blocked, and never allowed because of it.

Starting. The command is forked; the child installs the filter with
``SECCOMP_FILTER_FLAG_NEW_LISTENER`` (no TSYNC: a forked child has one thread) and sends the
listener to the supervisor over a socket (``SCM_RIGHTS``), then execs. Sending is itself a
call under the filter: when the policy denies ``sendmsg``, the child blocks there, and the
supervisor copies the listener out of it with ``pidfd_getfd`` at the descriptor number the
child announced before installing, answers that one ``sendmsg`` with EPERM without a report,
and the child execs. A policy that traps or traces ``sendmsg`` keeps the listener from ever
arriving: that is an error, and the command is killed before it runs unsupervised.

Signals. SIGHUP, SIGINT, SIGQUIT and SIGTERM sent to the supervisor are passed on to the
command. Those the terminal sends to the whole foreground process group reach the command
directly (it stays in the supervisor's group, so job control works) and are not sent twice.

The supervisor is meant to run in a single-threaded process (``seccomp-bpf run`` is one): it
forks, and it blocks those four signals while the command runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno as errno_codes
import json
import os
import select
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn, TextIO

from seccomp_bpf.arch import Arch, dispatched_arch, native_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import install
from seccomp_bpf.kernel.notify import Notification, id_valid, receive, require_user_notif, respond
from seccomp_bpf.kernel.pidfd import pidfd_getfd
from seccomp_bpf.policy import USER_NOTIF, Action, ActionKind, Decision, Policy

REPORTED_KINDS: Final = frozenset(
    {ActionKind.ERRNO, ActionKind.KILL_THREAD, ActionKind.KILL_PROCESS, ActionKind.USER_NOTIF}
)
"""The actions that deny a call; the supervisor receives and reports exactly these."""

FORWARDED_SIGNALS: Final = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM})

# <asm-generic/siginfo.h>: si_code of a signal the kernel itself sends, as the terminal does to
# its foreground process group (n_tty's isig -> kill_pgrp with SEND_SIG_PRIV).
SI_KERNEL: Final = 0x80

# The readlink(2) text of a listener's /proc/PID/fd entry (anon_inode_getfile(
# "seccomp notify", ...) in init_listener, kernel/seccomp.c).
LISTENER_LINK: Final = "anon_inode:seccomp notify"

# How long the supervisor waits for the listener on the socket before looking for it in
# the child with pidfd_getfd (the child may be blocked in a sendmsg the policy denies).
_LISTENER_WAIT_MS: Final = 50
# Exit statuses of the child when exec fails, as shells use them.
_EXIT_CANNOT_EXECUTE: Final = 126
_EXIT_NOT_FOUND: Final = 127
# After the command ended, at most this many waiting notifications are answered.
_DRAIN_LIMIT: Final = 4096


def notifying_policy(policy: Policy) -> Policy:
    """``policy`` with every denying action (:data:`REPORTED_KINDS`) replaced by
    ``user_notif``: the filter the command runs under. Rules keep their order, conditions
    and locations, so the filter sends exactly the calls ``policy`` denies."""

    def notify(action: Action) -> Action:
        return USER_NOTIF if action.kind in REPORTED_KINDS else action

    unknown = policy.unknown_syscall_action
    return dataclasses.replace(
        policy,
        default_action=notify(policy.default_action),
        bad_arch_action=notify(policy.bad_arch_action),
        unknown_syscall_action=None if unknown is None else notify(unknown),
        rules=tuple(dataclasses.replace(rule, action=notify(rule.action)) for rule in policy.rules),
    )


# --- reports --------------------------------------------------------------------------------------


def call_name(audit_arch: int, nr: int) -> str:
    """``getcwd``; ``i386 getcwd`` for another ABI than this process's; ``syscall 999`` for a
    number without a name; the raw values for an unknown architecture."""
    arch = dispatched_arch(audit_arch, nr)
    if arch is None:
        return f"syscall {nr} of AUDIT_ARCH {audit_arch:#010x}"
    name = arch.syscall_name(nr) or f"syscall {nr}"
    return name if arch.name == native_arch().name else f"{arch.name} {name}"


@dataclass(frozen=True, slots=True)
class Denial:
    """One denied call, as reported: who made it, what it was, what the policy said, why,
    and what the supervisor did beyond answering (a kill)."""

    pid: int
    call: str
    args: tuple[int, ...]
    action: Action
    decided_by: str
    outcome: str | None = None

    def __str__(self) -> str:
        args = ", ".join(f"{arg:#x}" for arg in self.args)
        line = f"seccomp-bpf: pid {self.pid}: {self.call}({args}) -> "
        line += f"{self.action.describe()}: {self.decided_by}"
        if self.outcome:
            line += f"; {self.outcome}"
        return line


def decided_by(policy: Policy, decision: Decision, source: str | None) -> str:
    """``rule 2 (p.yaml:7:5)``, ``default action (p.yaml)``, ``bad architecture: ...``."""
    if decision.rule_index is not None:
        if policy.rules[decision.rule_index].location is not None or source is None:
            return decision.reason
    elif source is None:
        return decision.reason
    return f"{decision.reason} ({source})"


# --- the supervisor -------------------------------------------------------------------------------


@dataclass
class _Child:
    """The command's process, as the supervisor holds it."""

    pid: int
    pidfd: int
    sock: socket.socket | None  # the supervisor's end, until the child has exec'd
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


def _find_executable(name: str) -> str:
    if os.sep in name:
        return name
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(errno_codes.ENOENT, "command not found", name)
    return found


def _thread_group(tid: int) -> tuple[int, int]:
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


def _exit_status(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


class _SignalForwarder:
    """Passes :data:`FORWARDED_SIGNALS` that reach the supervisor on to the child.

    The signals are blocked in the supervisor and taken with ``sigwaitinfo`` in a thread,
    which sees ``si_code``: a signal the kernel sent to the whole foreground process group
    (``SI_KERNEL``) has reached the child already when it is in the same group.
    """

    def __init__(self, child: _Child) -> None:
        self._child = child
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
                signal.pidfd_send_signal(self._child.pidfd, info.si_signo)

    def _same_group(self) -> bool:
        try:
            return os.getpgid(self._child.pid) == os.getpgrp()
        except ProcessLookupError:
            return True

    def stop(self) -> None:
        self._stopping = True
        if self._thread.ident is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pthread_kill(self._thread.ident, signal.SIGTERM)
            self._thread.join()


@contextlib.contextmanager
def _signals_blocked() -> Iterator[frozenset[int]]:
    """Block :data:`FORWARDED_SIGNALS`; yields the previous mask. On the way out, signals
    still pending were meant for a command that has ended: they are dropped."""
    previous = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS))
    try:
        yield previous
    finally:
        while signal.sigtimedwait(FORWARDED_SIGNALS, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _Supervisor:
    def __init__(self, policy: Policy, source: str | None, stream: TextIO) -> None:
        self.policy = policy
        self.source = source
        self.stream = stream
        self.killed: set[int] = set()  # processes killed because the policy said so
        sendmsg = native_arch().syscall_number("sendmsg")
        self.sendmsg_nr = -1 if sendmsg is None else sendmsg

    # -- starting ----------------------------------------------------------------------------------

    def start(
        self, executable: str, argv: Sequence[str], program: Program, mask: frozenset[int]
    ) -> _Child:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            _child_main(
                child_end,
                executable=executable,
                argv=argv,
                program=program,
                flags=self.policy.flags,
                mask=mask,
            )
        child_end_number = child_end.fileno()
        child_end.close()
        child = _Child(pid, os.pidfd_open(pid), parent_end, child_end_number)
        try:
            child.listener = self._receive_listener(child)
        except BaseException:
            child.close(kill=True)
            raise
        return child

    def _receive_listener(self, child: _Child) -> int:
        """The listener, sent by the child or, if it is stuck sending it, taken from it."""
        assert child.sock is not None
        poller = select.poll()
        poller.register(child.sock, select.POLLIN)
        poller.register(child.pidfd, select.POLLIN)
        predicted: int | None = None
        while True:
            events = dict(poller.poll(_LISTENER_WAIT_MS if predicted is not None else None))
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
                    f"the child ended with status {_exit_status(status)} before it was confined",
                )
            elif not events and predicted is not None:
                listener = _take_listener(child.pidfd, predicted)
                if listener is not None:
                    child.bootstrap_sendmsg_pending = True
                    return listener

    # -- supervising -------------------------------------------------------------------------------

    def supervise(self, child: _Child) -> int:
        """Answer notifications until the child ends; its status."""
        poller = select.poll()
        poller.register(child.listener, select.POLLIN)
        poller.register(child.pidfd, select.POLLIN)
        if child.sock is not None:
            poller.register(child.sock, select.POLLIN)
        listening = True
        while True:
            events = dict(poller.poll())
            # The socket first: its end of file means the child has exec'd, and from then on
            # a sendmsg on its old descriptor number is the command's own.
            if child.sock is not None and child.sock.fileno() in events:
                self._read_socket(child, poller)
            if listening and child.listener in events:
                if events[child.listener] & select.POLLIN:
                    self._answer(child, receive(child.listener))
                else:
                    # POLLHUP: no task uses the filter any more.
                    poller.unregister(child.listener)
                    listening = False
            if child.pidfd in events:
                break
        status = child.wait()
        # Answer what still waits: POLLIN only (select() would also call a listener readable
        # once it hangs up, when there is nothing to receive).
        waiting = select.poll()
        waiting.register(child.listener, select.POLLIN)
        for _ in range(_DRAIN_LIMIT if listening else 0):
            if not any(events & select.POLLIN for _, events in waiting.poll(0)):
                break
            self._answer(child, receive(child.listener))
        if (
            os.WIFSIGNALED(status)
            and os.WTERMSIG(status) == signal.SIGKILL
            and child.pid in self.killed
        ):
            return 128 + signal.SIGSYS
        return _exit_status(status)

    def _read_socket(self, child: _Child, poller: select.poll) -> None:
        assert child.sock is not None
        message, fds, _, _ = socket.recv_fds(child.sock, 4096, 1)
        for fd in fds:
            os.close(fd)  # the listener, sent after all, once it was taken with pidfd_getfd
        if fds or not message:
            # The send went through, or the child exec'd: no bootstrap call will come.
            child.bootstrap_sendmsg_pending = False
        if not message:
            poller.unregister(child.sock)
            child.sock.close()
            child.sock = None

    def _answer(self, child: _Child, notification: Notification | None) -> None:
        """Report and answer one notification; whatever happens, it is answered."""
        if notification is None:
            return  # its thread was killed or interrupted meanwhile
        answered = False
        try:
            if child.bootstrap_sendmsg_pending and self._is_bootstrap_sendmsg(child, notification):
                child.bootstrap_sendmsg_pending = False
                respond(child.listener, notification.id, -errno_codes.EPERM)
                answered = True
                return
            answered = self._decide_and_answer(child.listener, notification)
        finally:
            if not answered:
                respond(child.listener, notification.id, -errno_codes.EPERM)

    def _is_bootstrap_sendmsg(self, child: _Child, notification: Notification) -> bool:
        data = notification.data
        return (
            notification.pid == child.pid
            and data.arch == native_arch().audit_arch
            and data.nr == self.sendmsg_nr
            and data.args[0] == child.sock_fd_in_child
        )

    def _decide_and_answer(self, listener: int, notification: Notification) -> bool:
        """Report, then answer as the policy does; False if not answered."""
        data = notification.data
        decision = self.policy.decide(data.arch, data.nr, data.args, data.instruction_pointer)
        action = decision.action
        kind = action.kind
        outcome: str | None = None
        answer_errno: int | None = None
        if kind is ActionKind.ERRNO:
            answer_errno = action.data
        elif kind is ActionKind.USER_NOTIF:
            answer_errno = errno_codes.ENOSYS
            outcome = "no other supervisor listens: fails with ENOSYS"
        elif kind in (ActionKind.KILL_PROCESS, ActionKind.KILL_THREAD):
            outcome = self._kill(listener, notification, kind)
        else:
            # The filter sends only what the policy denies; this would be a compiler bug.
            answer_errno = errno_codes.ENOSYS
            outcome = "the filter and the policy disagree on this call: failed with ENOSYS"
        self._report(
            Denial(
                notification.pid,
                call_name(data.arch, data.nr),
                data.args,
                action,
                decided_by(self.policy, decision, self.source),
                outcome,
            )
        )
        if answer_errno is None:
            return True  # killed, or gone
        respond(listener, notification.id, -answer_errno)
        return True

    def _kill(self, listener: int, notification: Notification, kind: ActionKind) -> str:
        """Kill the caller's process; what happened, for the report.

        The pid is taken with a pidfd first, then the notification is checked to be still
        valid: its thread is then alive, so the pidfd is the caller's process and not a
        process that reused the number (``seccomp_unotify(2)``, on ID_VALID).
        """
        try:
            tgid, threads = _thread_group(notification.pid)
            pidfd = os.pidfd_open(tgid)
        except (FileNotFoundError, ProcessLookupError):
            return "the process had already ended"
        try:
            if not id_valid(listener, notification.id):
                return "the process had already ended"
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except ProcessLookupError:
            return "the process had already ended"
        finally:
            os.close(pidfd)
        self.killed.add(tgid)
        if kind is ActionKind.KILL_THREAD and threads > 1:
            return (
                f"killed process {tgid} with its {threads} threads (a supervisor cannot end "
                "one thread alone)"
            )
        return f"killed process {tgid}"

    def _report(self, denial: Denial) -> None:
        # A report that cannot be written must not keep the call from being answered.
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(f"{denial}\n")
            self.stream.flush()


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
    status = _EXIT_CANNOT_EXECUTE
    try:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            # Python ignores SIGPIPE and SIGXFSZ; an exec keeps ignored signals ignored.
            for number in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(number, signal.SIG_DFL)
            # The listener will take the lowest free descriptor: announce which it is, for
            # the case where handing it over is itself denied.
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
            status = _EXIT_NOT_FOUND if error.errno == errno_codes.ENOENT else status
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


def run_with_reports(
    argv: Sequence[str],
    policy: Policy,
    arches: Sequence[Arch] | None = None,
    *,
    source: str | None = None,
    stream: TextIO | None = None,
    executable: str | None = None,
) -> int:
    """Run ``argv`` under ``policy``, printing one line to ``stream`` (default: standard
    error) per denied call; returns the exit status to use: the command's exit code, or
    ``128 + N`` when a signal N ended it (``128 + SIGSYS`` when the policy killed it).

    ``arches`` replaces the policy's architectures; ``source`` names the policy in reports
    where a rule has no file location (default: ``policy.source``); ``executable`` is the
    file to run instead of ``argv[0]`` looked up in ``PATH``. Compilation and checks happen
    before anything runs (a command that is not found raises FileNotFoundError); see the
    module docstring for the rest.
    """
    if not argv:
        raise ValueError("no command to run")
    if arches is not None:
        policy = dataclasses.replace(policy, arches=tuple(arch.name for arch in arches))
    program = compile_policy(notifying_policy(policy))
    require_user_notif()
    if executable is None:
        executable = _find_executable(argv[0])
    supervisor = _Supervisor(policy, source or policy.source, stream or sys.stderr)
    with _signals_blocked() as mask:
        child = supervisor.start(executable, argv, program, mask)
        forwarder = _SignalForwarder(child)
        forwarder.start()
        completed = False
        try:
            status = supervisor.supervise(child)
            completed = True
        finally:
            forwarder.stop()
            # Closing the listener answers whatever still waits with ENOSYS. Should the
            # supervisor fail, the command is ended rather than left to run unsupervised.
            child.close(kill=not completed)
    return status
