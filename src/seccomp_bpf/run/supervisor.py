"""Run a command under a policy and report every call the policy denies (``--report-denials``).

The command runs in the sandbox ``seccomp-bpf run`` gives every command (``run.launch``),
under a filter compiled from a *notifying* copy of the policy: every rule, default,
unknown-syscall or bad-architecture action that fails a call (``errno``, and ``user_notif``
itself) becomes ``SECCOMP_RET_USER_NOTIF``; ``allow``, ``log``, ``trap``, ``trace`` and the
kills stay in the kernel, unchanged. Each failed call then blocks in the kernel until this
supervisor has

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
   - ``user_notif``: the call fails with ENOSYS, what the kernel answers when no other
     supervisor listens (a filter chain has at most one listener: the command cannot add
     its own).

Expected fallbacks are not denials: a call the policy answers ``errno(ENOSYS)`` (``clone3``
in the default policy, numbers no table knows with ``unknown_syscall_action``) is what lets
the C library fall back to an older call. They are counted and summed up in one line per
call when the command ends, not reported one by one.

Kills stay kills: ``kill_process`` and ``kill_thread`` are the kernel's, exact (one thread
for ``kill_thread``), and cannot be turned into anything else by killing the supervisor.
When the command dies by SIGSYS, one line says which actions of the policy can have done it
(``run.command.sigsys_cause``).

The supervisor is out of the program's reach: outside its PID namespace (invisible), outside
its Landlock domain (no signal, no ptrace), not dumpable, and the whole sandbox dies with it
(the PID namespace ends with its init, whose parent-death signal is SIGKILL; without one,
the keeper ends every process beneath it). So
no call the policy fails can be made to succeed, or to fail otherwise, by stopping it.

Filters the command stacks itself still combine by precedence (``seccomp_run_filters``):
``user_notif`` loses to ``errno``, ``trap`` and the kills, so where the command's own
filter answers a call with one of those, it wins over a kill this policy would have given.

``trap`` is not reported: the SIGSYS the kernel sends carries ``si_syscall``,
``si_call_addr`` and ``si_code = SYS_SECCOMP``, which handlers rely on and which no other
process can forge.

Processes and threads. The filter is inherited by the command's threads and children, and
every one of their denied calls reaches this supervisor. The supervisor never outlives the
command: when the command's process ends, whatever it left behind ends with it (the PID
namespace's init, or the keeper without one: :mod:`.launch`), the notifications still
waiting are answered, the listener is closed and the command's status returned.

Starting (:mod:`.launch`, :mod:`seccomp_bpf.kernel.child`). The command installs the filter
with ``SECCOMP_FILTER_FLAG_NEW_LISTENER`` and sends the listener to the supervisor over a
socket, then execs. When the policy denies ``sendmsg``, the supervisor copies the listener out
of the command with ``pidfd_getfd`` instead, answers that one ``sendmsg`` with EPERM without a
report, and the command execs. A policy that traps or traces ``sendmsg`` keeps the listener
from ever arriving: that is an error, and the command is killed before it runs unsupervised.

Signals are passed on as ``seccomp-bpf run`` does (:mod:`seccomp_bpf.kernel.notified_child`).

Complain mode (``--complain``, ``complain=True``): the policy is trialled, not enforced. The
filter is compiled from a *complaining* copy of the policy (:func:`complaining_policy`):
every action but ``allow`` and ``log`` becomes ``SECCOMP_RET_USER_NOTIF``, the kills, ``trap``,
``trace`` and a bad architecture included. The supervisor decides each notified call with
the original policy, reports the first call of each (call, rule, action) at once, and
answers with ``SECCOMP_USER_NOTIF_FLAG_CONTINUE``: the kernel runs the call as if the filter
had allowed it. At the end, one line per (call, rule, action): how many calls, and the first
one with its arguments. Expected fallbacks (``errno(ENOSYS)``) are answered as the policy
answers them, so that the command takes the path it will take under the policy (``clone``
instead of ``clone3``, whose own flags are then decided and reported); they are summed up as
in the reporting mode. Why notifications rather than ``SECCOMP_RET_LOG``: the supervisor sees
the arguments and the rule, the summary does not depend on the audit subsystem, its rate
limit or ``actions_logged``, and nothing is left in the system's logs.

What complain mode does not protect: *anything the policy would deny*. The command runs with
the filter's allowed calls and every other call too; only the sandbox layers around the
filter are in force. seccomp_unotify(2) says why the continue answer can never be more than
that: between the supervisor's look at a call and the kernel running it, another thread of
the command can change the memory the call's pointers point to, so a supervisor must not use
it to let some calls through and not others. Here every call is let through and the report
reads registers only, which the command cannot change once it is waiting.

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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TextIO

from seccomp_bpf.arch import Arch, dispatched_arch, native_arch
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.kernel.child import Started, StartError, find_executable, note
from seccomp_bpf.kernel.notified_child import SignalForwarder, exit_status, signals_blocked
from seccomp_bpf.kernel.notify import Notification, receive, require_user_notif, respond
from seccomp_bpf.policy import ERRNO, USER_NOTIF, Action, Decision, Policy
from seccomp_bpf.policy.sandbox import Sandbox
from seccomp_bpf.run.command import sigsys_cause
from seccomp_bpf.run.launch import Launch, start
from seccomp_bpf.run.plan import SandboxPlan, plan_sandbox

REPORTED_KINDS: Final = frozenset({SeccompAction.ERRNO, SeccompAction.USER_NOTIF})
"""The actions that fail a call and are not kills; the supervisor receives exactly these."""

FALLBACK: Final = ERRNO("ENOSYS")
"""The answer that makes a C library fall back to an older call: counted, not reported."""

COMPLAINED_KINDS: Final = frozenset(SeccompAction) - {SeccompAction.ALLOW, SeccompAction.LOG}
"""The actions complain mode sends to the supervisor: every one that would stop a call."""

# After the command ended, at most this many waiting notifications are answered.
_DRAIN_LIMIT: Final = 4096


def notifying_policy(
    policy: Policy, kinds: frozenset[SeccompAction] = REPORTED_KINDS
) -> Policy:
    """``policy`` with every action of ``kinds`` (by default every failing action but the
    kills, :data:`REPORTED_KINDS`) replaced by ``user_notif``: the filter the command runs
    under. Rules keep their order, conditions and locations, so the filter sends exactly the
    calls ``policy`` gives one of ``kinds``."""

    def notify(action: Action) -> Action:
        return USER_NOTIF if action.kind in kinds else action

    unknown = policy.unknown_syscall_action
    return dataclasses.replace(
        policy,
        default_action=notify(policy.default_action),
        bad_arch_action=notify(policy.bad_arch_action),
        unknown_syscall_action=None if unknown is None else notify(unknown),
        rules=tuple(dataclasses.replace(rule, action=notify(rule.action)) for rule in policy.rules),
    )


def complaining_policy(policy: Policy) -> Policy:
    """``policy`` with every action of :data:`COMPLAINED_KINDS` replaced by ``user_notif``:
    the filter of complain mode. Rules keep their order, conditions and locations."""
    return notifying_policy(policy, COMPLAINED_KINDS)


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
    and what the supervisor did beyond answering."""

    pid: int
    call: str
    args: tuple[int, ...]
    action: Action
    decided_by: str
    outcome: str | None = None
    inner_pid: int | None = None
    """The pid the caller has in its own PID namespace, when it is another."""

    def __str__(self) -> str:
        args = ", ".join(f"{arg:#x}" for arg in self.args)
        who = f"pid {self.pid}"
        if self.inner_pid is not None and self.inner_pid != self.pid:
            who += f" ({self.inner_pid} in the sandbox)"
        line = f"seccomp-bpf: {who}: {self.call}({args}) -> "
        line += f"{self.action.describe()}: {self.decided_by}"
        if self.outcome:
            line += f"; {self.outcome}"
        return line


def inner_pid(pid: int) -> int | None:
    """The pid thread ``pid`` has in its own PID namespace (the last ``NSpid`` of
    ``/proc/PID/status``, Linux 4.1), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def decided_by(policy: Policy, decision: Decision, source: str | None) -> str:
    """``rule 2 (p.yaml:7:5)``, ``default action (p.yaml)``, ``bad architecture: ...``."""
    if decision.rule_index is not None:
        if policy.all_rules[decision.rule_index].location is not None or source is None:
            return decision.reason
    elif source is None:
        return decision.reason
    return f"{decision.reason} ({source})"


def fallback_summary(fallbacks: Counter[tuple[str, str]]) -> list[str]:
    """The lines for the expected fallbacks: one per call and reason, most frequent first."""
    if not fallbacks:
        return []
    lines = [
        "seccomp-bpf: expected fallbacks, not denials (answered ENOSYS so that the C library "
        "uses an older call):"
    ]
    for (call, why), count in sorted(fallbacks.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"seccomp-bpf:   {call} x{count}: {why}")
    return lines


# --- the supervisor -------------------------------------------------------------------------------


def complaint_summary(complaints: dict[tuple[str, str, str], Complaint]) -> list[str]:
    """The lines at the end of complain mode: one per call, action and rule, most frequent
    first, each with the first call's arguments."""
    total = sum(complaint.count for complaint in complaints.values())
    if not total:
        return ["seccomp-bpf: complain mode: the policy would have stopped no call"]
    lines = [
        f"seccomp-bpf: complain mode: the policy would have stopped {total} "
        f"call{'s' if total > 1 else ''} ({len(complaints)} distinct), let through:"
    ]
    ordered = sorted(complaints.items(), key=lambda item: (-item[1].count, item[0]))
    for (call, action, why), complaint in ordered:
        first = complaint.first
        args = ", ".join(f"{arg:#x}" for arg in first.args)
        lines.append(
            f"seccomp-bpf:   {call} x{complaint.count} -> {action}: {why}; "
            f"first: pid {first.pid}: {call}({args})"
        )
    return lines


@dataclass
class Complaint:
    """What complain mode saw of one call, action and rule: how often, and the first call."""

    first: Denial
    count: int = 0


class _Supervisor:
    def __init__(
        self, policy: Policy, source: str | None, stream: TextIO, *, complain: bool = False
    ) -> None:
        self.policy = policy
        self.source = source
        self.stream = stream
        self.complain = complain
        self.fallbacks: Counter[tuple[str, str]] = Counter()
        self.complaints: dict[tuple[str, str, str], Complaint] = {}

    def supervise(self, child: Started) -> int:
        """Answer notifications until the command ends; its wait status."""
        poller = select.poll()
        poller.register(child.listener, select.POLLIN)
        poller.register(child.pidfd, select.POLLIN)
        if child.sock is not None:
            poller.register(child.sock, select.POLLIN)
        listening = True
        while True:
            events = dict(poller.poll())
            # The socket first: its end of file means the command has exec'd, and from then
            # on a sendmsg on its old descriptor number is the command's own.
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
        return status

    def _answer(self, child: Started, notification: Notification | None) -> None:
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
        outcome: str | None = None
        if action.kind is SeccompAction.ERRNO:
            answer_errno = action.data
        elif action.kind is SeccompAction.USER_NOTIF:
            answer_errno = errno_codes.ENOSYS
            outcome = "no other supervisor listens: fails with ENOSYS"
        else:
            # The filter sends only what the policy fails; this would be a compiler bug.
            answer_errno = errno_codes.ENOSYS
            outcome = "the filter and the policy disagree on this call: failed with ENOSYS"
        why = decided_by(self.policy, decision, self.source)
        name = call_name(data.arch, data.nr)
        if action == FALLBACK:
            self.fallbacks[(name, why)] += 1
        elif self.complain:
            self._complain(notification, name, action, why)
            respond(listener, notification.id, continue_=True)
            return True
        else:
            pid = notification.pid
            denial = Denial(pid, name, data.args, action, why, outcome, inner_pid(pid))
            self._report(str(denial))
        respond(listener, notification.id, -answer_errno)
        return True

    def _complain(self, notification: Notification, name: str, action: Action, why: str) -> None:
        """Count a call complain mode lets through; report the first of its kind at once."""
        key = (name, action.describe(), why)
        complaint = self.complaints.get(key)
        if complaint is None:
            pid = notification.pid
            args = notification.data.args
            first = Denial(pid, name, args, action, why, "let through (complain mode)",
                           inner_pid(pid))  # fmt: skip
            complaint = self.complaints[key] = Complaint(first)
            self._report(str(first))
        complaint.count += 1

    def _report(self, line: str) -> None:
        # A report that cannot be written must not keep the call from being answered.
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(f"{line}\n")
            self.stream.flush()

    def finish(self, child: Started, status: int, program: Program) -> None:
        """The lines at the end: the fallbacks, and what killed the command by SIGSYS."""
        if self.complain:
            for line in complaint_summary(self.complaints):
                self._report(line)
        for line in fallback_summary(self.fallbacks):
            self._report(line)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS:
            cause = sigsys_cause(program, self.policy)
            self._report(f"seccomp-bpf: pid {child.pid}: killed by SIGSYS ({cause})")


def run_with_reports(
    argv: Sequence[str],
    policy: Policy,
    arches: Sequence[Arch] | None = None,
    *,
    source: str | None = None,
    stream: TextIO | None = None,
    executable: str | None = None,
    sandbox: Sandbox | SandboxPlan | None = None,
    show_layers: bool = False,
    complain: bool = False,
) -> int:
    """Run ``argv`` under ``policy``, printing one line to ``stream`` (default: standard
    error) per failed call; returns the exit status to use: the command's exit code, or
    ``128 + N`` when a signal N ended it (``128 + SIGSYS`` when the filter killed it).

    ``arches`` replaces the policy's architectures; ``source`` names the policy in reports
    where a rule has no file location (default: ``policy.source``); ``executable`` is the
    file to run instead of ``argv[0]`` looked up in ``PATH``; ``sandbox`` (default: the
    policy's own section, else the defaults) is the sandbox to run in, or a plan made
    already. Compilation and checks happen before anything runs (a command that is not
    found raises CommandError, status 127; a required layer that is missing,
    :class:`~seccomp_bpf.errors.LayerUnavailableError`); see the module docstring for the
    rest. A failure to set the sandbox up raises :class:`~seccomp_bpf.errors.KernelError`.

    ``complain``: trial the policy instead of enforcing it (see the module docstring: every
    call it would stop is reported and runs; a summary at the end). Nothing the policy would
    deny is then kept from the command.
    """
    if not argv:
        raise ValueError("no command to run")
    if arches is not None:
        policy = dataclasses.replace(policy, arches=tuple(arch.name for arch in arches))
    notifying = complaining_policy(policy) if complain else notifying_policy(policy)
    program = compile_policy(notifying)
    require_user_notif()
    if executable is None:
        executable = find_executable(argv[0])
    if isinstance(sandbox, SandboxPlan):
        plan = sandbox
    else:
        plan = plan_sandbox(sandbox or policy.sandbox, executable=executable)
    for line in plan.notes:
        note(line)
    supervisor = _Supervisor(
        policy, source or policy.source, stream or sys.stderr, complain=complain
    )
    with signals_blocked() as mask:
        launch = Launch(
            executable=executable,
            argv=tuple(argv),
            program=program,
            plan=plan,
            filter_flags=policy.flags,
            listener=True,
            mask=mask,
            show_layers=show_layers,
        )
        try:
            child = start(launch)
        except StartError as error:
            raise error.error from None
        forwarder = SignalForwarder(child.pid, child.pidfd, own_group=child.own_group)
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
    supervisor.finish(child, status, program)
    return exit_status(status)
