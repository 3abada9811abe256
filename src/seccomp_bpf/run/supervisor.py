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

Starting (:mod:`.notified_child`, shared with the profiler's learning mode). The command is
forked; the child installs the filter with ``SECCOMP_FILTER_FLAG_NEW_LISTENER`` and sends the
listener to the supervisor over a socket, then execs. When the policy denies ``sendmsg``, the
supervisor copies the listener out of the child with ``pidfd_getfd`` instead, answers that one
``sendmsg`` with EPERM without a report, and the child execs. A policy that traps or traces
``sendmsg`` keeps the listener from ever arriving: that is an error, and the command is killed
before it runs unsupervised.

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
import os
import select
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TextIO

from seccomp_bpf.arch import Arch, dispatched_arch, native_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.kernel.notify import Notification, id_valid, receive, require_user_notif, respond
from seccomp_bpf.policy import USER_NOTIF, Action, ActionKind, Decision, Policy
from seccomp_bpf.run.command import find_executable
from seccomp_bpf.run.notified_child import (
    NotifiedChild,
    SignalForwarder,
    exit_status,
    signals_blocked,
    start_notified,
    thread_group,
)

REPORTED_KINDS: Final = frozenset(
    {ActionKind.ERRNO, ActionKind.KILL_THREAD, ActionKind.KILL_PROCESS, ActionKind.USER_NOTIF}
)
"""The actions that deny a call; the supervisor receives and reports exactly these."""

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


class _Supervisor:
    def __init__(self, policy: Policy, source: str | None, stream: TextIO) -> None:
        self.policy = policy
        self.source = source
        self.stream = stream
        self.killed: set[int] = set()  # processes killed because the policy said so

    # -- starting ----------------------------------------------------------------------------------

    def start(
        self, executable: str, argv: Sequence[str], program: Program, mask: frozenset[int]
    ) -> NotifiedChild:
        return start_notified(executable, argv, program, flags=self.policy.flags, mask=mask)

    # -- supervising -------------------------------------------------------------------------------

    def supervise(self, child: NotifiedChild) -> int:
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
                child.read_socket(poller)
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
        return exit_status(status)

    def _answer(self, child: NotifiedChild, notification: Notification | None) -> None:
        """Report and answer one notification; whatever happens, it is answered."""
        if notification is None:
            return  # its thread was killed or interrupted meanwhile
        answered = False
        try:
            if child.is_bootstrap_sendmsg(notification):
                child.bootstrap_sendmsg_pending = False
                respond(child.listener, notification.id, -errno_codes.EPERM)
                answered = True
                return
            answered = self._decide_and_answer(child.listener, notification)
        finally:
            if not answered:
                respond(child.listener, notification.id, -errno_codes.EPERM)

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
            tgid, threads = thread_group(notification.pid)
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
    before anything runs (a command that is not found raises CommandError, status 127); see the
    module docstring for the rest.
    """
    if not argv:
        raise ValueError("no command to run")
    if arches is not None:
        policy = dataclasses.replace(policy, arches=tuple(arch.name for arch in arches))
    program = compile_policy(notifying_policy(policy))
    require_user_notif()
    if executable is None:
        executable = find_executable(argv[0])
    supervisor = _Supervisor(policy, source or policy.source, stream or sys.stderr)
    with signals_blocked() as mask:
        child = supervisor.start(executable, argv, program, mask)
        forwarder = SignalForwarder(child.pid, child.pidfd)
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
