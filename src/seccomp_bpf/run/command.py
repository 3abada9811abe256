"""``seccomp-bpf run``: run a command in a sandbox, under a policy.

Everything that can fail is done before anything runs: the policy is read and compiled,
the kernel is asked whether it supports every action of the program, the program is
emulated on ``execve`` of this machine's ABI (a policy that would refuse the exec itself is
an error naming the rule, or the default action, that refuses it), the command is looked up
in ``PATH`` (127 when it is not found, 126 when it is not executable, as a shell says), and
the sandbox is planned (``run.plan``: granted paths that do not exist, required layers the
kernel lacks). Then:

- :func:`run_confined` starts the command in its sandbox (``run.launch``: namespaces,
  mounts, Landlock, capabilities, no_new_privs, parent-death signal, the filter last) and
  waits. The command's exit status is passed through. A death by a signal is reported on
  stderr (``CMD was killed by SIGSYS (...)``, saying which actions of the filter can have
  done it; not for SIGINT and SIGPIPE, as shells do) and becomes exit status 128+N, as in a
  shell. The signals of ``kernel.notified_child.FORWARDED_SIGNALS`` sent to ``seccomp-bpf`` are
  passed on to the command; those the terminal sends reach it through ``seccomp-bpf`` too
  when it is in a session of its own (the default), and ``SIGTSTP`` stops it.
- :func:`exec_confined` (``--no-fork``) makes this very process the command when it can
  (no PID namespace): the exit status, signals and pid are the command's own. With a PID
  namespace it cannot (the command is PID 2 of its own namespace), so it stands in for the
  command: it forwards signals and ends as the command ends, with its exit status or by
  the same signal. With ``--die-with PID`` (its parent) it always stands in, and ends the
  sandbox when that process ends, whichever of its threads started it. The subprocess API
  (:mod:`seccomp_bpf.run.subprocess`) uses both.

A failure after the point of no return (the kernel refusing a layer or the filter in the
child) exits with status 125, as ``env`` and ``timeout`` do for their own failures, or 123
when a required layer (``--require``) is not in force; a failed ``execve`` exits with 126
or 127 and a shell-like message.

``PROGRAM`` files and file descriptors (``--program``, ``--program-fd``) hold raw ``struct
sock_filter`` records in this machine's byte order, as ``seccomp-bpf compile`` writes them
for this machine's architecture.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Sequence

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import CommandError, PolicyError
from seccomp_bpf.kernel import child
from seccomp_bpf.kernel.child import EXIT_NOT_FOUND, find_executable
from seccomp_bpf.run.confine import check_actions_available, program_return_values

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing

if TYPE_CHECKING:
    from typing import Final, Literal, NoReturn

    from seccomp_bpf.kernel.child import Started
    from seccomp_bpf.policy.policy import Policy
    from seccomp_bpf.policy.sandbox import Sandbox
    from seccomp_bpf.run.launch import Launch
    from seccomp_bpf.run.plan import SandboxPlan

PROG: Final = "seccomp-bpf"

EXIT_INSTALL_FAILED: Final = 125
"""The sandbox or the filter could not be set up in the child: nothing was run."""
EXIT_LAYER_MISSING: Final = 123
"""A required layer (``--require``) is not in force: nothing was run."""


class PreparedRun:
    """A command ready to be run: what to exec, with which arguments, under which program,
    in which sandbox.

    ``policy`` is the policy the program was compiled from (None for a program given as
    such, or one taken from a cache: then ``read_policy`` reads it when a message needs it);
    it names the rule behind a decision in messages. ``plan`` is the sandbox (None: the
    filter alone); ``show_layers`` prints the layers in force before the command runs.

    (The records of a run are plain classes, not dataclasses: making a dataclass executes
    generated code, and importing :mod:`dataclasses` imports :mod:`inspect`, which together
    cost a confined command's start-up more than the rest of this module.)
    """

    __slots__ = (
        "arches",
        "argv",
        "executable",
        "log",
        "plan",
        "policy",
        "program",
        "read_policy",
        "show_layers",
        "spec_allow",
    )

    def __init__(
        self,
        argv: tuple[str, ...],
        executable: str,
        program: Program,
        *,
        policy: Policy | None = None,
        log: bool = False,
        spec_allow: bool = False,
        arches: tuple[str, ...] = (),
        plan: SandboxPlan | None = None,
        show_layers: bool = False,
        read_policy: Callable[[], Policy] | None = None,
    ) -> None:
        self.argv = argv
        self.executable = executable
        self.program = program
        self.policy = policy
        self.log = log
        self.spec_allow = spec_allow
        self.arches = arches
        self.plan = plan
        self.show_layers = show_layers
        self.read_policy = read_policy

    def message_policy(self) -> Policy | None:
        """The policy, for a message: read again when the program came from a cache (None
        when it cannot be)."""
        if self.policy is not None or self.read_policy is None:
            return self.policy
        return _read_quietly(self.read_policy)


def _read_quietly(read: Callable[[], Policy]) -> Policy | None:
    from seccomp_bpf.errors import SeccompBPFError

    try:
        return read()
    except (SeccompBPFError, OSError, ValueError):
        return None  # changed or gone since: the message says less


class CompiledPolicy:
    """A policy's program, with what running it needs of the policy: its filter flags and
    its sandbox section. ``policy`` is the policy when it was read; ``read`` reads it (from
    its file) for a message, when the program came precompiled or from the cache.
    ``exec_checked``: the program is known to allow ``execve`` on this ABI (the shipped
    default), so :func:`prepare` need not emulate it."""

    __slots__ = ("exec_checked", "flags", "policy", "program", "read", "sandbox")

    def __init__(
        self,
        program: Program,
        flags: tuple[str, ...],
        sandbox: Sandbox | None,
        read: Callable[[], Policy],
        *,
        policy: Policy | None = None,
        exec_checked: bool = False,
    ) -> None:
        self.program = program
        self.flags = flags
        self.sandbox = sandbox
        self.read = read
        self.policy = policy
        self.exec_checked = exec_checked


def compiled_policy(
    spec: str | None, arches: Sequence[str] | None = None, *, cache: bool = True
) -> CompiledPolicy:
    """The program of the policy ``-p SPEC`` names (as :func:`load_policy`), compiled for
    ``arches`` (None: the policy's own): the default policy for this machine comes
    precompiled (:mod:`seccomp_bpf.policies.precompiled`), and any other is taken from the
    user's cache of compiled programs (:mod:`seccomp_bpf.run.program_cache`) when ``cache``
    is true and the cache is on, else read, compiled and put there."""

    def read() -> Policy:
        return load_policy(spec, arches)

    registry = sys.modules.get("seccomp_bpf.policies.registry")
    # A name this process registered (register_policy) is no file and may replace "default";
    # without the registry imported, nothing was registered.
    registered = spec is not None and registry is not None and bool(registry.is_registered(spec))
    builtin = spec is None or (spec == "default" and not registered)
    # Only the built-in default and files are cached, by their bytes; a registered policy or
    # an installed package's (a name that is no file) is read and compiled.
    if not builtin and (registered or spec == "-" or not os.path.lexists(spec or "")):
        return _compile(read())
    if builtin and not arches and cache:
        from seccomp_bpf.policies.precompiled import native_precompiled_default

        shipped = native_precompiled_default()
        if shipped is not None:
            return CompiledPolicy(shipped.program, shipped.flags, None, read, exec_checked=True)
    from seccomp_bpf.run import program_cache

    directory = program_cache.cache_directory() if cache else None
    if directory is None:
        return _compile(read())
    if builtin:
        from seccomp_bpf.policies.default import builtin_policy_text

        data = b"built-in default\0" + builtin_policy_text("default").encode()
    else:
        assert spec is not None
        with open(spec, "rb") as stream:
            data = stream.read()
    key = program_cache.cache_key(data, arches)

    def parse() -> Policy:  # the bytes hashed, not the file again: it may have changed since
        if builtin:
            return read()
        from seccomp_bpf.formats import load_policy_text
        from seccomp_bpf.formats.yaml_policy import decode_policy_bytes

        assert spec is not None
        return load_policy_text(decode_policy_bytes(data, spec), source=spec, arches=arches)

    entry = program_cache.load(key, directory)
    if entry is not None:
        if entry.has_sandbox:  # the sandbox section is read; the program is the cache's
            return _compile(parse(), entry.program)
        return CompiledPolicy(entry.program, entry.flags, None, read)
    compiled = _compile(parse())
    entry = program_cache.CachedProgram(
        compiled.program, compiled.flags, compiled.sandbox is not None
    )
    program_cache.store(key, entry, directory)
    return compiled


def _compile(policy: Policy, program: Program | None = None) -> CompiledPolicy:
    if program is None:
        from seccomp_bpf.compiler import compile_policy

        program = compile_policy(policy)
    flags = tuple(sorted(policy.flags))
    return CompiledPolicy(program, flags, policy.sandbox, lambda: policy, policy=policy)


# --- before anything runs ---------------------------------------------------------------------


def load_policy(spec: str | None, arches: Sequence[str] | None = None) -> Policy:
    """The policy ``-p SPEC`` names: ``None`` is the built-in default policy, anything else
    a named policy or a file (YAML, OCI/Docker JSON, a SeccompProfile), as
    :func:`~seccomp_bpf.policies.registry.load_named_or_file` finds it. ``arches`` replace
    the policy's own."""
    if spec is None:
        from seccomp_bpf.policies.default import default_policy

        return default_policy(arches)
    from seccomp_bpf.policies.registry import load_named_or_file

    return load_named_or_file(spec, arches)


def read_program_bytes(data: bytes, source: str) -> Program:
    """A compiled program from raw ``struct sock_filter`` records; errors name ``source``."""
    from seccomp_bpf.errors import InvalidProgramError

    try:
        return Program.from_bytes(data)
    except InvalidProgramError as error:
        raise InvalidProgramError(f"{source}: {error}") from error


def read_program_fd(fd: int, what: str = "--program-fd") -> Program:
    """Read a compiled program from file descriptor ``fd`` (from its start when it can
    seek: a memfd or a file), then close it so the command does not inherit it. Errors name
    ``what`` and the descriptor, and say what is wrong."""
    source = f"{what} {fd}"
    chunks: list[bytes] = []
    try:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
        except OSError as error:
            if error.errno != errno.ESPIPE:  # a pipe: read what is there
                raise
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError as error:
        reasons = {
            errno.EBADF: "this process has no open file descriptor with that number (give "
            "one it inherited, holding a program written by `seccomp-bpf compile`)",
            errno.EISDIR: "it is a directory, not a program",
        }
        reason = reasons.get(error.errno or 0) or f"cannot read it: {error.strerror}"
        raise CommandError(source, error.errno or errno.EIO, 1, reason) from None
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    return read_program_bytes(b"".join(chunks), source)


def check_exec_allowed(program: Program, policy: Policy | None, command: str) -> None:
    """Raise :class:`PolicyError` unless ``program`` lets this process call ``execve``.

    The program is emulated on ``execve`` of this machine's ABI with all arguments 0 (they
    are pointers, which a policy has no reason to compare); ALLOW and LOG let it through.
    The message names the rule (file:line) or the default action, when the policy is known.
    """
    from seccomp_bpf.arch import native_arch
    from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate, format_return_value

    arch = native_arch()
    nr = arch.syscall_number("execve")
    if nr is None:  # every Linux ABI has execve; a table without it is a bug elsewhere
        raise PolicyError(f"no execve on {arch.name}")
    execution = emulate(program, SeccompData(nr, arch.audit_arch, byteorder=arch.byteorder))
    if execution.action in (SeccompAction.ALLOW, SeccompAction.LOG):
        return
    why = f"the program returns {format_return_value(execution.ret)}"
    if policy is not None and any(a.name == arch.name for a in policy.resolved_arches()):
        decision = policy.decide(arch, nr)
        why = f"{decision.reason} gives {decision.action.describe()}"
    elif policy is not None:
        why = f"{arch.name} is not among the policy's architectures ({why})"
    raise PolicyError(
        f"the policy does not allow execve on {arch.name}, so {command!r} could not start: "
        f"{why}; nothing was run"
    )


def prepare(
    argv: Sequence[str],
    *,
    policy: Policy | None = None,
    program: Program | None = None,
    compiled: CompiledPolicy | None = None,
    executable: str | None = None,
    sandbox: Sandbox | Literal[False] | None = None,
    show_layers: bool = False,
    checked: bool = False,
) -> PreparedRun:
    """Compile ``policy`` (unless ``program``, or the ``compiled`` policy, is given), check
    the kernel has its actions, check it allows the exec, find the command and plan the
    sandbox: every error before anything runs.

    ``checked`` says that the caller checked ``program``'s actions and exec on this kernel
    already (:class:`~seccomp_bpf.run.subprocess.Popen` did, in its child's parent).

    ``sandbox`` is the sandbox to run in (None: the policy's own section, else the defaults;
    False: the filter alone).
    """
    if not argv:
        raise CommandError("", errno.ENOENT, EXIT_NOT_FOUND, "no command given")
    if sum(given is not None for given in (policy, program, compiled)) != 1:
        raise ValueError("give one of a policy, a program or a compiled policy")
    log = spec_allow = False
    arches: tuple[str, ...] = ()
    policy_sandbox: Sandbox | None = None
    read_policy: Callable[[], Policy] | None = None
    if policy is not None:
        compiled = _compile(policy)
        arches = tuple(a.name for a in policy.resolved_arches())
    if compiled is not None:
        program, policy = compiled.program, compiled.policy
        log = "log" in compiled.flags
        spec_allow = "spec_allow" in compiled.flags
        policy_sandbox, read_policy = compiled.sandbox, compiled.read
    assert program is not None
    exec_checked = checked or (compiled is not None and compiled.exec_checked)
    if not checked:
        check_actions_available(program)
    if not exec_checked:
        try:
            check_exec_allowed(program, policy, argv[0])
        except PolicyError:
            if policy is not None or read_policy is None:
                raise
            # The program came without its policy: read it, for the rule that refuses.
            check_exec_allowed(program, _read_quietly(read_policy), argv[0])
            raise
    found = find_executable(executable if executable is not None else argv[0])
    plan = None
    if sandbox is not False:
        from seccomp_bpf.run.plan import plan_sandbox

        wanted = sandbox if sandbox is not None else policy_sandbox
        plan = plan_sandbox(wanted, executable=found)
    return PreparedRun(
        tuple(argv),
        found,
        program,
        policy=policy,
        log=log,
        spec_allow=spec_allow,
        arches=arches,
        plan=plan,
        show_layers=show_layers,
        read_policy=read_policy,
    )


# --- running ----------------------------------------------------------------------------------


def _launch(prepared: PreparedRun, mask: frozenset[int]) -> Launch:
    from seccomp_bpf.run.launch import Launch

    wanted = (("log", prepared.log), ("spec_allow", prepared.spec_allow))
    flags = tuple(name for name, on in wanted if on)
    return Launch(
        executable=prepared.executable,
        argv=prepared.argv,
        program=prepared.program,
        plan=prepared.plan,
        filter_flags=flags,
        mask=mask,
        show_layers=prepared.show_layers,
    )


def _print_notes(prepared: PreparedRun) -> None:
    from seccomp_bpf.kernel.child import note

    for line in prepared.plan.notes if prepared.plan is not None else ():
        note(line)


def exec_confined(prepared: PreparedRun, *, starter: int | None = None) -> NoReturn:
    """``--no-fork``: this process becomes the command, or stands in for it (see the module
    docstring); never returns. With ``starter`` (``--die-with``) it always stands in, and
    the sandbox ends when that process, its parent, does."""
    from seccomp_bpf.run.launch import exec_in_place

    plan = prepared.plan
    leads_group = os.getpgrp() == os.getpid()
    if starter is None and (
        plan is None or not (plan.pid_namespace or (plan.sandbox.new_session and leads_group))
    ):
        _print_notes(prepared)
        exec_in_place(_launch(prepared, frozenset()))
    code = run_confined(prepared, stand_in=True, starter=starter)
    raise SystemExit(code)


def run_confined(
    prepared: PreparedRun, *, stand_in: bool = False, starter: int | None = None
) -> int:
    """Start the command in its sandbox, wait for it, and return the exit status to leave
    with (see the module docstring). ``stand_in`` ends this process as the command ended
    (the same exit status, or killed by the same signal) and reports nothing. ``starter``
    is this process's parent (``--die-with``): when that process ends, with whichever of
    its threads started this one, the sandbox is ended (``run.layers.watch_parent``)."""
    from seccomp_bpf.kernel.child import StartError, note
    from seccomp_bpf.kernel.notified_child import FORWARDED_SIGNALS, JOB_CONTROL_SIGNALS
    from seccomp_bpf.run.launch import start
    from seccomp_bpf.run.layers import PARENT_GONE, watch_parent

    _print_notes(prepared)
    watched: set[int] = {*FORWARDED_SIGNALS, *JOB_CONTROL_SIGNALS, signal.SIGCHLD}
    if starter is not None:
        watched.add(PARENT_GONE)
    # Blocked from before the fork, so that neither the child's end nor a signal to pass on
    # can arrive before this process waits for them.
    previous = frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, watched))
    try:
        if starter is not None and not watch_parent(starter):
            return 128 + signal.SIGKILL  # the starter is gone: nothing to run it for
        try:
            started = start(_launch(prepared, previous))
        except StartError as error:
            missing = error.exit_status == EXIT_LAYER_MISSING
            what = "a required layer is missing" if missing else "error"
            note(f"{what}: {error.error.strerror}; nothing was run")
            return error.exit_status
        try:
            status = _wait_forwarding(started, watched, starter)
        finally:
            started.close(kill=False)
        # Signals for the command that arrived as it ended are not for seccomp-bpf.
        while signal.sigtimedwait(watched, 0) is not None:
            pass
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    if stand_in:
        end_like(status)
    policy = prepared.policy
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS:
        policy = prepared.message_policy()  # names the rules that can have killed it
    code, message = describe_exit(prepared.argv[0], status, prepared.program, policy)
    if message is not None:
        note(message)
    return code


def end_like(status: int) -> NoReturn:
    """End this process as a process with wait ``status`` ended: the same exit code, or
    killed by the same signal (without a core dump of this process)."""
    from seccomp_bpf.kernel import set_dumpable

    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        set_dumpable(False)
        with contextlib.suppress(OSError, ValueError):
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
        os.kill(os.getpid(), number)
        os._exit(128 + number)  # a signal whose default is not to end the process
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else EXIT_INSTALL_FAILED)


def _wait_forwarding(started: Started, watched: set[int], starter: int | None) -> int:
    """Wait for the command to end, passing on the signals sent to this process; its wait
    status. When ``starter`` has ended, the sandbox is ended first."""
    from seccomp_bpf.kernel.notified_child import forward
    from seccomp_bpf.run.layers import PARENT_GONE, parent_gone

    while True:
        info = signal.sigwaitinfo(watched)
        if info.si_signo == signal.SIGCHLD:
            waited, status = os.waitpid(started.child, os.WNOHANG)
            if waited == started.child:
                return started.reaped_with(status)
            continue
        if info.si_signo == PARENT_GONE:
            if starter is not None and parent_gone(starter):
                started.close(kill=True)
                assert started.status is not None
                return started.status
            continue  # a thread of the starter ended, not the starter
        forward(started.pid, started.pidfd, started.own_group, info.si_signo, info.si_code)


# --- after --------------------------------------------------------------------------------------


def sigsys_cause(program: Program, policy: Policy | None) -> str:
    """Why a command killed by SIGSYS was, as far as the filter tells: a kill action (which
    ones, with the policy), a trap the program did not handle (``SECCOMP_RET_TRAP`` sends a
    SIGSYS the program may catch), or neither (the filter returns no such action)."""
    from seccomp_bpf.bpf.actions import ReturnValue, SeccompAction

    actions = {ReturnValue.decode(value).action for value in program_return_values(program)}
    kills = actions & {SeccompAction.KILL_PROCESS, SeccompAction.KILL_THREAD}
    trap = SeccompAction.TRAP in actions
    if not kills:
        if trap:
            return "a seccomp trap the program did not handle"
        return "not from the filter: it returns no kill and no trap"
    sources = _kill_sources(policy) if policy is not None else []
    shown = ", ".join(sources[:3]) + (f" and {len(sources) - 3} more" if len(sources) > 3 else "")
    kill = f"seccomp kill: {shown}" if shown else "seccomp kill"
    return f"{kill}; or a seccomp trap the program did not handle" if trap else kill


def _kill_sources(policy: Policy) -> list[str]:
    from seccomp_bpf.bpf.actions import SeccompAction
    from seccomp_bpf.policy.resolution import rule_label

    kinds = (SeccompAction.KILL_PROCESS, SeccompAction.KILL_THREAD)
    sources = [
        f"{rule_label(index, rule)} gives {rule.action.describe()}"
        for index, rule in enumerate(policy.rules)
        if rule.action.kind in kinds
    ]
    for what, action in (
        ("the default action", policy.default_action),
        ("the unknown-syscall action", policy.unknown_syscall_action),
        ("the newer-syscall action", policy.newer_syscall_action),
    ):
        if action is not None and action.kind in kinds:
            sources.append(f"{what} {action.describe()}")
    if policy.bad_arch_action.kind in kinds:
        arches = ", ".join(arch.name for arch in policy.resolved_arches())
        sources.append(
            f"bad_arch_action {policy.bad_arch_action.describe()} (a call of an ABI other "
            f"than {arches})"
        )
    return sources


def describe_exit(
    command: str, status: int, program: Program | None = None, policy: Policy | None = None
) -> tuple[int, str | None]:
    """The exit status to leave with for a command's wait ``status``, and what to report
    (with the filter ``program`` and its ``policy``, what a SIGSYS came from)."""
    if program is None:
        return child.describe_exit(command, status)
    return child.describe_exit(command, status, lambda: sigsys_cause(program, policy))
