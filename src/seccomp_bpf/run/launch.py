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

What travels back, on a socket pair, and how the command's process is started, set up and
exec'd is :mod:`seccomp_bpf.kernel.child`'s (the profiler's learning mode starts its command
the same way, without a sandbox).

init (or the keeper) reports the command's wait status on a pipe; when the pipe is empty,
the status of ``seccomp-bpf run``'s own child is the command's (there was no sandbox: the
filter alone, or the sandbox failed before the command started).
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
import struct
import sys
from collections.abc import Callable

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import KernelError, LayerUnavailableError, SeccompBPFError
from seccomp_bpf.kernel.child import (
    EXIT_SETUP_FAILED,
    LISTENER_WAIT_MS,
    Started,
    announce,
    exec_command,
    hand_over_listener,
    install_filter,
    note,
    restore_signals,
)
from seccomp_bpf.kernel.child import fail as _fail
from seccomp_bpf.kernel.child import start as start_child
from seccomp_bpf.kernel.prctl import set_dumpable
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

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final, NoReturn


EXIT_LAYER_MISSING: Final = LayerUnavailableError.exit_status
"""A required layer is not in force: nothing was run (123)."""


class Launch:
    """What to start: ``argv`` from ``executable`` under ``program``, in the sandbox of
    ``plan`` (None: the filter alone, as the profiler's learning mode runs).

    ``filter_flags`` may hold ``log`` and ``spec_allow``; ``listener`` hands the filter's
    user-notification listener over (``--report-denials``); ``mask`` is the signal mask the
    command starts with; ``show_layers`` prints the layers in force before ``execve``.
    """

    __slots__ = (
        "argv",
        "executable",
        "filter_flags",
        "listener",
        "mask",
        "plan",
        "program",
        "show_layers",
    )

    def __init__(
        self,
        *,
        executable: str,
        argv: tuple[str, ...],
        program: Program,
        plan: SandboxPlan | None,
        filter_flags: tuple[str, ...] = (),
        listener: bool = False,
        mask: frozenset[int] = frozenset(),
        show_layers: bool = False,
    ) -> None:
        self.executable = executable
        self.argv = argv
        self.program = program
        self.plan = plan
        self.filter_flags = filter_flags
        self.listener = listener
        self.mask = mask
        self.show_layers = show_layers

    def with_plan(self, plan: SandboxPlan | None) -> Launch:
        """The same launch in the sandbox of ``plan``."""
        return Launch(
            executable=self.executable,
            argv=self.argv,
            program=self.program,
            plan=plan,
            filter_flags=self.filter_flags,
            listener=self.listener,
            mask=self.mask,
            show_layers=self.show_layers,
        )


def start(launch: Launch, *, listener_wait_ms: int = LISTENER_WAIT_MS) -> Started:
    """Start ``launch``; returns once the command has exec'd or, for a supervised run, once
    its listener is here. Raises :class:`~seccomp_bpf.kernel.child.StartError` when the
    sandbox or the filter could not be set up (the processes are gone then)."""
    plan = launch.plan
    pid_namespace = plan is not None and plan.pid_namespace
    if plan is not None:
        # The command may see this process (no PID namespace, or one the kernel refuses):
        # not dumpable, so that it cannot trace it or read its memory whatever its Landlock,
        # from before the fork (every child starts so, until it says otherwise).
        set_dumpable(False)

    def child(theirs: _socket.socket, run_pid: int, status_write: int) -> NoReturn:
        if pid_namespace:
            _namespace_parent(launch, theirs, status_write, run_pid)
        if plan is not None:
            _keeper(launch, theirs, status_write, run_pid)
        _command(launch, theirs, parent=run_pid, in_pid_namespace=False)

    return start_child(
        child,
        listener=launch.listener,
        status_pipe=plan is not None,
        own_group=plan is not None and plan.sandbox.new_session,
        listener_wait_ms=listener_wait_ms,
    )


# --- in the children ----------------------------------------------------------------------------


def _refused(
    plan: SandboxPlan, control: _socket.socket | None, layer: str, error: KernelError
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
    launch: Launch, control: _socket.socket, status_write: int, run_pid: int
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
        fallback = launch.with_plan(_fall_back(plan, control, error))
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


def _run_alive(control: _socket.socket) -> bool:
    """Whether ``seccomp-bpf run`` still holds its end of the socket pair."""
    ready = select.poll()
    ready.register(control, select.POLLHUP)
    return not any(events & select.POLLHUP for _, events in ready.poll(0))


def _init(
    launch: Launch, control: _socket.socket, status_write: int, report: LayerReport
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


def _keeper(launch: Launch, control: _socket.socket, status_write: int, run_pid: int) -> NoReturn:
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


def _mount_namespace(
    plan: SandboxPlan, control: _socket.socket | None, report: LayerReport
) -> None:
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
    control: _socket.socket | None,
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
            announce(control)
        restore_signals(launch.mask)
        if plan is not None:
            no_new_privs(report)
            try:
                restrict_filesystem(plan, report)
            except KernelError as error:
                if not is_refusal(error):
                    raise
                note(_refused(plan, control, "landlock", error))
            drop_capabilities(plan, report)
        listener = install_filter(
            launch.program, launch.filter_flags, listener=launch.listener, control=control
        )
        report.add("seccomp", f"filter of {len(launch.program)} instructions, installed last")
        if launch.show_layers:
            os.write(2, report.text(launch.argv[0]).encode(errors="backslashreplace"))
        if listener is not None and control is not None:
            hand_over_listener(control, listener)
    except (SeccompBPFError, OSError) as error:
        _fail(control, getattr(error, "exit_status", status), error)
    except BaseException as error:
        _fail(control, status, KernelError("starting the command", errno_codes.EIO, repr(error)))
    exec_command(launch.executable, launch.argv)


def exec_in_place(launch: Launch) -> NoReturn:
    """``--no-fork`` without a PID namespace: this very process becomes the command (its
    pid, its exit status). Failures are printed, and end the process with their status."""
    sys.stdout.flush()
    sys.stderr.flush()
    _command(launch, None, parent=None, in_pid_namespace=False)


def _own_namespaces(
    plan: SandboxPlan, control: _socket.socket | None, report: LayerReport
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


def _fall_back(
    plan: SandboxPlan, control: _socket.socket | None, error: KernelError
) -> SandboxPlan:
    """The plan without namespaces, which the kernel refused; its new notes are said."""
    fallback = plan.without_namespaces(_refused(plan, control, "namespaces", error))
    for line in fallback.notes[len(plan.notes) :]:
        note(line)
    return fallback
