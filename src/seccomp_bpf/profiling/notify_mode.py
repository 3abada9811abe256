"""Notify mode: learn without ptrace, from ``SECCOMP_RET_USER_NOTIF`` (``seccomp_unotify(2)``).

The command runs under a learning filter (:func:`learning_policy`): the calls of
:data:`BASE_SET` are allowed in the kernel, every other call, of every ABI, is sent to the
recorder, which counts it (with the argument values asked for) and answers
``SECCOMP_USER_NOTIF_FLAG_CONTINUE``: the kernel then runs the call as if the filter had
allowed it (Linux 5.5). The listener reaches the recorder as for ``seccomp-bpf run
--report-denials`` (:mod:`seccomp_bpf.kernel.notified_child`). No ptrace is needed, so this
works where ptrace is forbidden (a container's default seccomp profile denies it), and the
command may itself use ptrace (a debugger) or be traced.

The base set costs nothing at run time (the kernel's action cache skips the filter for
them) but is not seen: it is written into the policy unconditionally, and neither counted
nor checked, but for ``clone``, which the filter lets through only without namespace flags
(the others are recorded, with their flags), so that the policy allows what was seen of it
and no more. It holds:

- the calls nearly every program makes most: ``read``, ``write``, ``close``, ``futex``;
- those a notification cannot usefully stop: ``rt_sigreturn`` and ``sigreturn`` (the return
  from a signal handler), ``restart_syscall``;
- the calls that create processes and threads: ``fork``, ``vfork``, ``clone`` (without
  namespace flags).
  A notified call waits for the recorder, and a signal that arrives before the recorder has
  taken the notification interrupts the wait: the call then fails with ``EINTR`` when the
  signal's handler lacks ``SA_RESTART`` (``seccomp_do_user_notification``,
  ``kernel/seccomp.c``; ``SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`` only protects the wait
  after that). Without a filter these calls never fail so (``fork`` restarts itself,
  ``ERESTARTNOINTR``), and shells, which handle ``SIGCHLD`` and fork while their children
  end, give up ("Cannot fork"). Other calls can fail so too, as slow calls do; programs that
  handle signals retry them or use ``SA_RESTART``.

``clone3``, whose flags are in memory, fails with ENOSYS, as in ptrace mode and under the
generated policy (:data:`~.arguments.FALLBACKS`): C libraries make a ``clone`` instead.

The frequency profile of this mode therefore lacks the base set; ptrace mode counts
everything.

Caveats of ``CONTINUE`` (``seccomp_unotify(2)``): the kernel reads the call's memory
arguments again after the answer, so a profile never looks at them (only registers, which
cannot change); a filter with a listener is the only one a thread may have, so a command
that installs its own listener fails with EBUSY; and a notified call waits for the recorder,
a few microseconds.
"""

from __future__ import annotations

import errno as errno_codes
import select
from collections.abc import Sequence
from typing import Final

from seccomp_bpf.arch import Arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.kernel.notified_child import NotifiedChild, start_notified, thread_group
from seccomp_bpf.kernel.notify_stream import NotificationStream
from seccomp_bpf.policy import ALLOW, ERRNO, USER_NOTIF, Condition, Policy, Rule
from seccomp_bpf.policy.groups import select as select_names
from seccomp_bpf.profiling.arguments import FALLBACKS, flags_spec
from seccomp_bpf.profiling.recorder import Channel, RecorderConfig, Recording, close_other_fds

BASE_SET: Final = (
    "read",
    "write",
    "close",
    "futex",
    "futex_time64",
    "rt_sigreturn",
    "sigreturn",
    "restart_syscall",
    "fork",
    "vfork",
    "clone",
)
"""Allowed by the learning filter without a notification (see the module docstring)."""

WITHOUT_FLAGS: Final = ("clone",)
"""Calls of :data:`BASE_SET` allowed so only without their ``flags`` spec's bits
(:func:`~.arguments.flags_spec`): with them, they are notified and recorded."""


def base_set(arches: Sequence[Arch]) -> tuple[str, ...]:
    """The names of :data:`BASE_SET` that some of ``arches`` has."""
    return select_names(BASE_SET, arches)


def learning_policy(arches: Sequence[Arch]) -> Policy:
    """The filter the command runs under: the fallbacks fail with ENOSYS, the base set is
    allowed (:data:`WITHOUT_FLAGS` only without those flags), everything else (unknown
    numbers and other ABIs included) is notified."""
    rules: list[Rule] = []
    fallbacks = tuple(name for name in FALLBACKS if any(name in a.syscalls for a in arches))
    if fallbacks:
        rules.append(Rule(fallbacks, ERRNO("ENOSYS")))
    for name in WITHOUT_FLAGS:
        by_condition: dict[Condition, list[str]] = {}
        for arch in arches:
            spec = flags_spec(name, arch)
            condition = spec.condition(()) if spec is not None else None
            if condition is not None:
                by_condition.setdefault(condition, []).append(arch.name)
        for condition, names in by_condition.items():
            limit = tuple(names) if len(by_condition) > 1 else None
            rules.append(Rule((name,), ALLOW, condition, arches=limit))
    rest = tuple(name for name in base_set(arches) if name not in WITHOUT_FLAGS)
    rules.append(Rule(rest, ALLOW))
    return Policy(
        default_action=USER_NOTIF,
        rules=tuple(rules),
        arches=tuple(arch.name for arch in arches),
        bad_arch_action=USER_NOTIF,
        name="seccomp-bpf profile --mode notify",
    )


def learning_program(arches: Sequence[Arch]) -> Program:
    from seccomp_bpf.compiler import compile_policy

    return compile_policy(learning_policy(arches))


def record(config: RecorderConfig, channel: Channel) -> None:
    """Run and record the command (in the recorder process); see the module docstring."""
    # The learning filter notifies the child's sendmsg of the listener: it is always taken
    # with pidfd_getfd, so there is no point in waiting long for it on the socket.
    child = start_notified(
        config.executable, config.argv, config.program, mask=config.mask, listener_wait_ms=1
    )
    channel.send({"t": "started", "pid": child.pid})
    keep = {channel.fd, child.listener, child.pidfd}
    if child.sock is not None:
        keep.add(child.sock.fileno())
    close_other_fds(keep)
    recording = Recording(config, channel)
    try:
        _serve(child, recording)
    finally:
        child.close(kill=False)


def _serve(child: NotifiedChild, recording: Recording) -> None:
    """The loop: until the command has ended and no task uses the filter any more."""
    config = recording.config
    counts = recording.counts
    values = recording.values
    arguments = config.arguments
    execve = config.execve
    follow = config.follow_daemons
    progress = recording.progress if config.progress else None
    listener = child.listener
    stream = NotificationStream(listener)
    receive = stream.receive
    allow = stream.allow
    seen_tasks = {child.pid}
    recorded = False  # whether the command has reached its execve
    reporting = True  # whether the result is still to be sent
    running = True
    listening = True
    status: int | None = None
    poller = select.poll()
    poll = poller.poll
    poller.register(listener, select.POLLIN)
    poller.register(child.pidfd, select.POLLIN)
    if child.sock is not None:
        poller.register(child.sock, select.POLLIN)
    while running or listening:
        for fd, events in poll():
            if fd == listener:
                if not events & select.POLLIN:  # POLLHUP: no task uses the filter any more
                    poller.unregister(listener)
                    listening = False
                    continue
                notification = receive()
                if notification is None:
                    continue  # its thread was killed or interrupted meanwhile
                # (id, pid, flags, nr, arch, ip, a0..a5)
                task = notification[1]
                nr = notification[3]
                audit = notification[4]
                if child.bootstrap_sendmsg_pending and child.is_bootstrap_call(
                    task, audit, nr, notification[6]
                ):
                    child.bootstrap_sendmsg_pending = False
                    stream.fail(notification[0], errno_codes.EPERM)
                    continue
                allow(notification[0])
                if not reporting:
                    continue
                key = (audit, nr)
                if not recorded:
                    recorded = task == child.pid and key in execve
                    if not recorded:
                        continue
                counts[key] = counts.get(key, 0) + 1
                wanted = arguments.get(key)
                if wanted is not None:
                    for index, mask in wanted:
                        slot = (audit, nr, index)
                        found = values.get(slot)
                        if found is None:
                            found = values[slot] = set()
                        found.add(notification[6 + index] & mask)
                if task not in seen_tasks:
                    seen_tasks.add(task)
                    _count_task(recording, task)
                if progress is not None:
                    progress()
            elif fd == child.pidfd:
                poller.unregister(child.pidfd)
                status = child.wait()
                running = False
                if reporting and not follow:
                    recording.done(status, recorded)
                    reporting = False
            elif child.sock is not None and fd == child.sock.fileno():
                child.read_socket(poller)
    if reporting:
        recording.done(status, recorded)


def _count_task(recording: Recording, task: int) -> None:
    """A task seen for the first time: a process when it leads its thread group."""
    try:
        tgid, _ = thread_group(task)
    except OSError:
        tgid = task
    if tgid == task:
        recording.processes += 1
    else:
        recording.threads += 1
