"""``seccomp-bpf run``: run a command under a policy.

Everything that can fail is done before anything runs: the policy is read and compiled,
the kernel is asked whether it supports every action of the program, the program is
emulated on ``execve`` of this machine's ABI (a policy that would refuse the exec itself is
an error naming the rule, or the default action, that refuses it), and the command is
looked up in ``PATH`` (127 when it is not found, 126 when it is not executable, as a shell
says). Then:

- :func:`run_confined` forks; the child installs the filter and execs the command at once;
  the parent waits. The command's exit status is passed through. A death by a signal is
  reported on stderr (``CMD was killed by SIGSYS (seccomp kill)``; not for SIGINT and
  SIGPIPE, as shells do) and becomes exit status 128+N, as in a shell. SIGHUP, SIGINT,
  SIGQUIT and SIGTERM sent to ``seccomp-bpf`` with ``kill`` are passed on to the command;
  those that the terminal sends reach the command directly (same process group) and are
  not sent twice. Standard input, output and error are the command's, untouched.
- :func:`exec_confined` (``--no-fork``) installs the filter on this very process and execs
  the command in its place: the exit status, signals and pid are the command's own. The
  subprocess API (:mod:`seccomp_bpf.run.subprocess`) uses it.

A failure after the point of no return (the kernel refusing the filter in the child) exits
with status 125, as ``env`` and ``timeout`` do for their own failures; a failed ``execve``
exits with 126 or 127 and a shell-like message.

``PROGRAM`` files and file descriptors (``--program``, ``--program-fd``) hold raw ``struct
sock_filter`` records in this machine's byte order, as ``seccomp-bpf compile`` writes them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, NoReturn

from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate, format_return_value
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import CommandError, PolicyError, SeccompBPFError
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.run.confine import check_actions_available

PROG: Final = "seccomp-bpf"

EXIT_INSTALL_FAILED: Final = 125
"""The filter could not be installed in the child: nothing was run."""
EXIT_NOT_EXECUTABLE: Final = 126
EXIT_NOT_FOUND: Final = 127

FORWARDED_SIGNALS: Final = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)

# <asm-generic/siginfo.h>: si_code of a signal the kernel sends, e.g. the terminal's ^C to
# the foreground process group (kill_pgrp with SEND_SIG_PRIV).
SI_KERNEL: Final = 0x80

# Signals a shell does not report when they end a command.
_QUIET_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGPIPE})

# Signals Python ignores at start-up (Python/pylifecycle.c: SIGPIPE, SIGXFSZ); a command
# must get them at their default, as subprocess's restore_signals does.
_PYTHON_IGNORED: Final = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)


@dataclass(frozen=True)
class PreparedRun:
    """A command ready to be run: what to exec, with which arguments, under which program.

    ``policy`` is the policy the program was compiled from (None for a program given as
    such); it names the rule behind a decision in messages.
    """

    argv: tuple[str, ...]
    executable: str
    program: Program
    policy: Policy | None = None
    log: bool = False
    spec_allow: bool = False
    arches: tuple[str, ...] = field(default=())


# --- before anything runs ---------------------------------------------------------------------


def load_policy(spec: str | None, arches: Sequence[str] | None = None) -> Policy:
    """The policy ``-p SPEC`` names: ``None`` or ``default`` is the built-in default policy,
    anything else a file (YAML, or OCI/Docker JSON). ``arches`` replace the policy's own."""
    if spec is None or spec == "default":
        from seccomp_bpf.policies.default import default_policy

        return default_policy(arches)
    from seccomp_bpf.formats import read_policy_file

    return read_policy_file(spec, arches=arches)


def read_program_bytes(data: bytes, source: str) -> Program:
    """A compiled program from raw ``struct sock_filter`` records; errors name ``source``."""
    from seccomp_bpf.errors import InvalidProgramError

    try:
        return Program.from_bytes(data)
    except InvalidProgramError as error:
        raise InvalidProgramError(f"{source}: {error}") from error


def read_program_fd(fd: int) -> Program:
    """Read a compiled program from file descriptor ``fd`` (from its start when it can
    seek: a memfd or a file), then close it so the command does not inherit it."""
    chunks: list[bytes] = []
    try:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
        except OSError as error:
            if error.errno != errno.ESPIPE:  # a pipe: read what is there
                raise
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return read_program_bytes(b"".join(chunks), f"program fd {fd}")


def check_exec_allowed(program: Program, policy: Policy | None, command: str) -> None:
    """Raise :class:`PolicyError` unless ``program`` lets this process call ``execve``.

    The program is emulated on ``execve`` of this machine's ABI with all arguments 0 (they
    are pointers, which a policy has no reason to compare); ALLOW and LOG let it through.
    The message names the rule (file:line) or the default action, when the policy is known.
    """
    from seccomp_bpf.arch import native_arch

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


def find_executable(command: str, path: Sequence[str] | None = None) -> str:
    """Where ``command`` is, as ``execvp`` would look: as given when it holds a ``/``,
    otherwise in each ``PATH`` directory. Raises :class:`CommandError` (127 not found, 126
    found but a directory or not executable)."""
    if not command:
        raise CommandError(command, errno.ENOENT, EXIT_NOT_FOUND, "command not found")
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
            refused = refused or CommandError(command, errno.EISDIR, EXIT_NOT_EXECUTABLE)
        elif os.access(candidate, os.X_OK):
            return candidate
        else:
            refused = refused or CommandError(command, errno.EACCES, EXIT_NOT_EXECUTABLE)
    if refused is not None:
        raise refused
    if "/" in command:
        raise CommandError(command, errno.ENOENT, EXIT_NOT_FOUND)
    raise CommandError(command, errno.ENOENT, EXIT_NOT_FOUND, "command not found")


def prepare(
    argv: Sequence[str],
    *,
    policy: Policy | None = None,
    program: Program | None = None,
    executable: str | None = None,
) -> PreparedRun:
    """Compile ``policy`` (unless ``program`` is given), check the kernel has its actions,
    check it allows the exec, and find the command: every error before anything runs."""
    if not argv:
        raise CommandError("", errno.ENOENT, EXIT_NOT_FOUND, "no command given")
    if (policy is None) == (program is None):
        raise ValueError("give a policy or a program, not both or neither")
    log = spec_allow = False
    arches: tuple[str, ...] = ()
    if policy is not None:
        from seccomp_bpf.compiler import compile_policy

        program = compile_policy(policy)
        log = "log" in policy.flags
        spec_allow = "spec_allow" in policy.flags
        arches = tuple(a.name for a in policy.resolved_arches())
    assert program is not None
    check_actions_available(program)
    check_exec_allowed(program, policy, argv[0])
    found = find_executable(executable if executable is not None else argv[0])
    return PreparedRun(tuple(argv), found, program, policy, log, spec_allow, arches)


# --- running ----------------------------------------------------------------------------------


def _say(message: str) -> None:
    """One line on stderr, written at once (no Python buffering: a child may exec next)."""
    line = f"{PROG}: {message}\n".encode(errors="backslashreplace")
    with contextlib.suppress(OSError):
        os.write(2, line)


def _install_and_exec(prepared: PreparedRun) -> NoReturn:
    """Install the filter on this process and exec the command; never returns."""
    from seccomp_bpf.kernel import install

    for signum in _PYTHON_IGNORED:
        signal.signal(signum, signal.SIG_DFL)
    try:
        install(prepared.program, log=prepared.log, spec_allow=prepared.spec_allow)
    except (SeccompBPFError, OSError) as error:
        _say(f"error: could not install the filter: {error}; nothing was run")
        os._exit(EXIT_INSTALL_FAILED)
    command = prepared.argv[0]
    try:
        os.execv(prepared.executable, prepared.argv)
    except OSError as error:
        status = EXIT_NOT_FOUND if error.errno == errno.ENOENT else EXIT_NOT_EXECUTABLE
        _say(f"{command}: {error.strerror}")
        os._exit(status)


def exec_confined(prepared: PreparedRun) -> NoReturn:
    """Install the filter on this process and exec the command in its place."""
    sys.stdout.flush()
    sys.stderr.flush()
    _install_and_exec(prepared)


def run_confined(prepared: PreparedRun) -> int:
    """Fork, confine and exec the command in the child, wait for it, and return the exit
    status to leave with (see the module docstring)."""
    watched = {*FORWARDED_SIGNALS, signal.SIGCHLD}
    sys.stdout.flush()
    sys.stderr.flush()
    # Blocked from before the fork, so that neither the child's end nor a signal to pass on
    # can arrive before the parent waits for them.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        pid = os.fork()
        if pid == 0:
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
                _install_and_exec(prepared)
            except BaseException as error:
                _say(f"error: {error}; nothing was run")
            finally:
                os._exit(EXIT_INSTALL_FAILED)
        status = _wait_forwarding(pid, watched)
        # Signals for the command that arrived as it ended are not for seccomp-bpf.
        while signal.sigtimedwait(watched, 0) is not None:
            pass
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    code, message = describe_exit(prepared.argv[0], status)
    if message is not None:
        _say(message)
    return code


def _wait_forwarding(pid: int, watched: set[signal.Signals]) -> int:
    """Wait for child ``pid`` to end, passing on the signals sent to this process; its
    wait status."""
    while True:
        info = signal.sigwaitinfo(watched)
        if info.si_signo == signal.SIGCHLD:
            waited, status = os.waitpid(pid, os.WNOHANG)
            if waited == pid:
                return status
            continue
        if info.si_code == SI_KERNEL:
            continue  # from the terminal: the command, in the same process group, has it too
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, info.si_signo)


def describe_exit(command: str, status: int) -> tuple[int, str | None]:
    """The exit status to leave with for a child's wait ``status``, and what to report."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    if not os.WIFSIGNALED(status):  # stopped or continued: not an end (waitpid asked for ends)
        return EXIT_INSTALL_FAILED, f"{command} ended with wait status {status:#x}"
    number = os.WTERMSIG(status)
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    message: str | None = f"{command} was killed by {name}"
    if number == signal.SIGSYS:
        message = f"{message} (seccomp kill: the filter denied a system call)"
    if os.WCOREDUMP(status):
        message = f"{message}, core dumped"
    if number in _QUIET_SIGNALS:
        message = None
    return 128 + number, message
