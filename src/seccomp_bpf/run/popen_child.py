"""What the child of :class:`seccomp_bpf.run.subprocess.Popen` runs: ``seccomp-bpf run
--no-fork --die-with PARENT`` without the command line, either in the child ``subprocess``
forked, before its exec (:func:`launch_in_child`, when the parent has one thread), or in an
isolated interpreter started for it (:func:`main`, otherwise).

The parent has read the policy, compiled it, checked that the kernel has its actions and
that it allows the exec, and planned the sandbox once to raise its errors there. Forked, the
child has all of that in memory. Otherwise the parent writes what to run to a file
descriptor the interpreter inherits (:func:`launch_bytes`): the program's bytes, the
sandbox's fields, the command, the file to exec it from and the parent's pid, in
:mod:`marshal`'s format (the parent is this same interpreter, and the descriptor is the
parent's own, so nothing else can have written it), which it reads (:func:`main`). Either
way the child plans the sandbox in its own working directory and environment, which are the
command's (``cwd=``, ``env=``), and starts the command as ``run --no-fork`` does
(:func:`seccomp_bpf.run.command.exec_confined`). Neither argparse nor the command line
modules nor the emulator are imported, and the checks the parent made are not made again.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys

from seccomp_bpf.errors import SeccompBPFError

TYPE_CHECKING = False  # not typing's: importing typing here would cost the child
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

    from seccomp_bpf.bpf.instruction import Program
    from seccomp_bpf.policy.sandbox import Sandbox

FORMAT = 1
"""The version of what :func:`launch_bytes` writes; a child refuses any other."""

PROG = "seccomp-bpf"


def launch_bytes(
    program: Program,
    sandbox: Sandbox | None,
    argv: Sequence[str],
    executable: str | None,
    parent: int,
) -> bytes:
    """What :func:`main` reads: run ``argv`` (from ``executable``, None: ``argv[0]`` found
    in PATH) under ``program`` in ``sandbox`` (None: the defaults), ending with ``parent``."""
    fields = None
    if sandbox is not None:
        fields = {name: getattr(sandbox, name) for name in sandbox.FIELDS}
    return marshal.dumps((FORMAT, program.to_bytes(), fields, tuple(argv), executable, parent))


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)  # the command does not inherit it
    return b"".join(chunks)


def _error(message: str, status: int = 1) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return status


def main(args: Sequence[str] | None = None) -> int:
    """Read the launch from the descriptor named by the one argument, and run it; returns
    only on an error before anything ran (its exit status), else ends as the command ends."""
    args = sys.argv[1:] if args is None else args
    try:
        (fd,) = args
        launch = marshal.loads(_read_all(int(fd)))
    except (ValueError, TypeError, EOFError, OSError) as error:
        return _error(f"run: no launch to read from the descriptor given ({error})")
    version = launch[0] if isinstance(launch, tuple) and launch else None
    if version != FORMAT:
        return _error(f"run: a launch of format {version!r}, not {FORMAT}: another version")
    try:
        _, code, fields, argv, executable, parent = launch
    except ValueError:
        return _error(f"run: a launch of {len(launch)} fields, not 6")
    if parent != os.getppid():
        return _error(f"run: the process {parent} that started this one is gone; nothing was run")

    from seccomp_bpf.bpf.instruction import Program
    from seccomp_bpf.errors import InvalidProgramError

    try:
        sandbox = None
        if fields is not None:
            from seccomp_bpf.policy.sandbox import Sandbox

            sandbox = Sandbox(**fields)
        program = Program.from_bytes(code)
    except InvalidProgramError as error:
        return _error(f"run: the program given: {error}")
    except SeccompBPFError as error:
        return _error(str(error))
    return run_launch(program, sandbox, argv, executable, parent)


def run_launch(
    program: Program,
    sandbox: Sandbox | None,
    argv: Sequence[str],
    executable: str | None,
    parent: int,
) -> int:
    """Run ``argv`` under ``program`` in ``sandbox`` as ``run --no-fork --die-with PARENT``
    does: this process stands in for the command and ends as it ends. Returns only on an
    error before anything ran, with the exit status to end with (the message is on stderr).
    """
    from seccomp_bpf.errors import CommandError, SandboxError
    from seccomp_bpf.run import command as running

    try:
        prepared = running.prepare(
            list(argv), program=program, executable=executable, sandbox=sandbox, checked=True
        )
        running.exec_confined(prepared, starter=parent)
    except CommandError as error:
        print(f"{PROG}: {error.strerror}", file=sys.stderr)
        return error.exit_status
    except SandboxError as error:
        return _error(f"run: {error}", error.exit_status)
    # What the command line answers to the same errors (seccomp_bpf.cli.main).
    except SeccompBPFError as error:
        return _error(str(error))
    except OSError as error:
        name = f"{error.filename}: " if error.filename else ""
        return _error(f"{name}{error.strerror or error}")
    except KeyboardInterrupt:
        return 130


def launch_in_child(
    program: Program,
    sandbox: Sandbox | None,
    argv: Sequence[str],
    executable: str | None,
    parent: int,
    *,
    env: Mapping[str, str] | Mapping[bytes, bytes] | None,
    keep_fds: Sequence[int],
    close_fds: bool,
) -> NoReturn:
    """:func:`run_launch` in the child :class:`~seccomp_bpf.run.subprocess.Popen` forked,
    between fork and exec (its ``preexec_fn``), when the parent has one thread: nothing else
    can hold a lock there, so running Python code is safe, and no interpreter need start.

    ``subprocess`` has set up the standard streams, the working directory, the session and
    the signals already; what its ``exec`` would still do is done here first: the
    descriptors the command must not inherit closed (every one but 0, 1, 2 and
    ``keep_fds`` when ``close_fds``, else the close-on-exec ones; among them the pipe on
    which ``subprocess`` waits for the exec, so the parent goes on at once), and the
    environment replaced by ``env``. The streams of ``sys`` are new ones: what the parent's
    held unwritten is the parent's to write. Never returns: it ends as the command ends, or
    with :func:`run_launch`'s status (125 for anything unforeseen)."""
    status = 125
    # Nothing is imported from here on (the parent imported FORKED_IMPORTS): a module found
    # on the path now could come from the command's working directory (sys.path's "" is
    # the working directory, which subprocess has just changed to cwd=).
    sys.path[:] = []
    _INHERITED_STREAMS.extend((sys.stdout, sys.stderr))  # never flushed, never dropped
    try:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - ends with the process
        sys.stderr = open(2, "w", buffering=1, closefd=False, errors="backslashreplace")  # noqa: SIM115
        _python_signals()
        _close_inherited(keep_fds, close_fds)
        if env is not None:
            _replace_environment(env)
        status = run_launch(program, sandbox, argv, executable, parent)
    except SystemExit as ending:
        status = 0 if ending.code is None else ending.code if isinstance(ending.code, int) else 1
    except BaseException as error:  # this process must end here, whatever it was
        with contextlib.suppress(Exception):
            _error(f"run: {error!r}", 125)
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(status)


_INHERITED_STREAMS: list[object] = []
"""The parent's stream objects in a forked child: held, so that no reference dropped makes
one flush what the parent had not written yet."""


FORKED_IMPORTS = (
    "fcntl",
    "resource",
    "seccomp_bpf.kernel.capabilities",
    "seccomp_bpf.kernel.landlock",
    "seccomp_bpf.kernel.mounts",
    "seccomp_bpf.kernel.namespaces",
    "seccomp_bpf.kernel.network",
    "seccomp_bpf.kernel.notified_child",
    "seccomp_bpf.kernel.procfs",
    "seccomp_bpf.policy.sandbox",
    "seccomp_bpf.run.command",
    "seccomp_bpf.run.launch",
    "seccomp_bpf.run.layers",
    "seccomp_bpf.run.mount_namespace",
    "seccomp_bpf.run.plan",
)
"""What :func:`launch_in_child` can import, which the parent imports before it forks."""


def _python_signals() -> None:
    """The signal handlers this process would have after ``subprocess``'s exec of a new
    interpreter (what the isolated interpreter of the other way has): a signal the parent
    ignores stays ignored (``execve`` keeps it so), SIGPIPE and SIGXFSZ are ignored (Python
    ignores them at start-up), SIGINT raises KeyboardInterrupt unless ignored, and every other
    one has its default. None of the parent's own handlers is left to run here."""
    import signal

    for number in range(1, signal.NSIG):
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            ignored = signal.getsignal(number) == signal.SIG_IGN
        except ValueError:  # a number that is no signal here
            continue
        handler: object = signal.SIG_IGN if ignored else signal.SIG_DFL
        if number == signal.SIGINT and not ignored:
            handler = signal.default_int_handler
        elif number in (signal.SIGPIPE, signal.SIGXFSZ):
            handler = signal.SIG_IGN
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            signal.signal(number, handler)  # type: ignore[arg-type]


def _close_inherited(keep: Sequence[int], close_all: bool) -> None:
    """Close what an ``execve`` by ``subprocess`` would have left closed (see
    :func:`launch_in_child`): the descriptors listed in ``/proc/self/fd`` (or, without it,
    every number below the limit of open files)."""
    import fcntl

    try:
        open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        open_fds = list(range(3, os.sysconf("SC_OPEN_MAX")))
    for fd in open_fds:
        if fd <= 2 or fd in keep:
            continue
        with contextlib.suppress(OSError):  # the directory's own, closed already
            if close_all or fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                os.close(fd)


def _replace_environment(env: Mapping[str, str] | Mapping[bytes, bytes]) -> None:
    """Make ``env`` this process's environment (what the command is exec'd with)."""
    os.environ.clear()
    for key, value in env.items():
        os.environ[os.fsdecode(key)] = os.fsdecode(value)
