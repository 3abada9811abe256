"""Start a child process under a policy, like :mod:`subprocess`, safely with threads.

::

    from seccomp_bpf.run.subprocess import Popen, run

    result = run(["git", "status"], capture_output=True, text=True)   # the default policy
    result = run(["./tool"], policy, check=True)
    with Popen(["server"], policy, stdout=subprocess.PIPE) as process: ...

The policy is compiled and checked here, in the parent (its errors are raised here). Then
the child sets the sandbox (``sandbox=``, else the policy's own section, else the defaults)
up and runs the command in it, as ``seccomp-bpf run --no-fork`` does
(:mod:`seccomp_bpf.run.popen_child`). How it gets there depends on the threads of this
process. Running Python code in a forked child of a threaded program can deadlock (a lock
another thread held at the fork stays held: ``subprocess`` says so of ``preexec_fn``), so
with more than one thread the child is an isolated interpreter, and the compiled program,
the sandbox and the command travel to it on an inherited memory file (``memfd_create``).
With one thread nothing can hold a lock in the child, which sets the sandbox up between fork
and exec, as ``seccomp-bpf run`` does in its own children, without starting an interpreter
(a few milliseconds instead of tens).

The command runs in the same sandbox as under ``seccomp-bpf run`` (by default in a PID
namespace of its own, where it is PID 2), and the :class:`Popen`'s process stands in for it:
signals sent to it (``send_signal``, ``terminate``) are passed on, and it ends as the command
ends, with its exit status or killed by the same signal, so ``returncode`` is the command's
(``-N`` for a signal N), as with :class:`subprocess.Popen`; ``kill()`` ends the whole
sandbox. ``pid`` is the stand-in's, not the command's (which in a PID namespace of its own
has no number outside anyway).

Unlike a child of :class:`subprocess.Popen`, which outlives its parent, a confined command
does not outlive the process that started it: when that process ends, however it ends
(``SIGKILL`` included), the whole sandbox ends with it, every process the command started
too, detached or not, as under ``seccomp-bpf run`` (``--die-with``). Only the end of the
process counts: a thread that called :class:`Popen` and then ends does not end the command,
and any thread can still ``wait()`` for it.

Every keyword of :class:`subprocess.Popen` works as there (``stdin``, ``stdout``, ``cwd``,
``env``, ``shell``, ``executable``, ``pass_fds``, ``text``...), except ``preexec_fn``, which is
refused. When the command cannot start, the child exits with 127 (not found) or 126 (not
executable), or 125 when the kernel refused the filter, with a message on its stderr.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any, Final

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.sandbox import Sandbox
from seccomp_bpf.run.command import check_exec_allowed
from seccomp_bpf.run.confine import check_actions_available

StrOrBytesPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]
Args = StrOrBytesPath | Sequence[StrOrBytesPath]


def _command_line(
    args: Args, shell: bool, executable: StrOrBytesPath | None
) -> tuple[list[str], str | None]:
    """The argv to exec and the file to exec it from (None: look argv[0] up in PATH), as
    :class:`subprocess.Popen` derives them on POSIX."""
    if isinstance(args, (str, bytes, os.PathLike)):
        argv = [os.fsdecode(args)]
    else:
        argv = [os.fsdecode(arg) for arg in args]
    if shell:
        shell_path = os.fsdecode(executable) if executable is not None else "/bin/sh"
        return [shell_path, "-c", *argv], None
    if not argv:
        raise ValueError("args is empty: there is no command to run")
    return argv, os.fsdecode(executable) if executable is not None else None


def _launch_fd(data: bytes) -> int:
    """A file descriptor holding ``data``, from its start: a memfd, or an unlinked temporary
    file where there is none (not a pipe: it is written before the child starts, and the
    command's arguments can be more than a pipe holds)."""
    try:
        fd = os.memfd_create("seccomp-bpf-launch", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        import tempfile

        with tempfile.TemporaryFile() as file:
            fd = os.dup(file.fileno())  # not inheritable but through pass_fds
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return fd


_COMPILED_LIMIT: Final = 64
"""How many policies' programs :func:`compile_checked` keeps (a policy is immutable)."""
_compiled: dict[Policy, Program] = {}
_compiled_lock = threading.Lock()


def _is_default(policy: Policy | None) -> bool:
    """Whether ``policy`` is the built-in default for this machine (None, or the object
    ``default_policy()`` returned), without reading the default to find out."""
    if policy is None:
        return True
    default = sys.modules.get("seccomp_bpf.policies.default")
    return default is not None and bool(default.is_default_policy(policy))


def _program_of(policy: Policy | None) -> Program:
    """The program of ``policy`` (None: the default policy): precompiled for the default
    policy of this machine, else compiled once per process."""
    if _is_default(policy):
        shipped = _shipped_default()
        if shipped is not None:
            return shipped
        if policy is None:
            from seccomp_bpf.policies.default import default_policy

            policy = default_policy()
    assert policy is not None
    with _compiled_lock, contextlib.suppress(KeyError, TypeError):  # TypeError: unhashable
        return _compiled[policy]
    from seccomp_bpf.compiler import compile_policy

    program = compile_policy(policy)
    with _compiled_lock, contextlib.suppress(TypeError):
        if len(_compiled) >= _COMPILED_LIMIT:
            del _compiled[next(iter(_compiled))]
        _compiled[policy] = program
    return program


@functools.cache
def _shipped_default() -> Program | None:
    """The precompiled default program of this machine's ABI (read once per process: the
    package's files do not change under it), or None."""
    from seccomp_bpf.policies.precompiled import native_precompiled_default

    shipped = native_precompiled_default()
    return None if shipped is None else shipped.program


_actions_checked: set[Program] = set()
"""Programs whose actions this kernel was found to support (it does not lose any)."""


def compile_checked(
    policy: Policy | None, program: Program | None, command: str
) -> tuple[Program, Policy | None]:
    """The program to run ``command`` under (the default policy when neither is given),
    with its actions and the exec checked here, where errors can be raised. The shipped
    default is not emulated (a test checks that each allows execve on its ABI), and the
    actions of a program are asked about once per process."""
    if policy is not None and program is not None:
        raise ValueError("give a policy or a program, not both")
    default = program is None and policy is None
    if program is None:
        program = _program_of(policy)
    if program not in _actions_checked:
        check_actions_available(program)
        with _compiled_lock:
            if len(_actions_checked) >= _COMPILED_LIMIT:
                _actions_checked.clear()
            _actions_checked.add(program)
    if program is _shipped_default():
        return program, policy
    try:
        check_exec_allowed(program, policy, command)
    except PolicyError:
        if not default:
            raise
        from seccomp_bpf.policies.default import default_policy

        check_exec_allowed(program, default_policy(), command)  # to name the rule
        raise
    return program, policy


def _runner() -> list[str]:
    """The interpreter that runs ``seccomp-bpf run`` in the child (see the module docstring):
    isolated and without site, its path the directories of the package and of its system call
    tables."""
    package = sys.modules["seccomp_bpf"].__file__
    assert package is not None
    places = [os.path.dirname(os.path.dirname(os.path.abspath(package)))]
    tables = sys.modules.get("system_calls")  # imported to check the exec, as a rule
    origin = getattr(tables, "__file__", None)
    if origin is None:
        import importlib.util

        spec = importlib.util.find_spec("system_calls")
        origin = spec.origin if spec is not None else None
    if origin is not None:
        places.append(os.path.dirname(os.path.dirname(origin)))
    path = list(dict.fromkeys(places))
    boot = (
        f"import sys; sys.path[:0] = {path!r}; "
        "from seccomp_bpf.run.popen_child import main; sys.exit(main())"
    )
    return [sys.executable, "-I", "-S", "-c", boot]


class Popen(subprocess.Popen[Any]):
    """:class:`subprocess.Popen` with the child confined by ``policy`` (the built-in
    default policy when None) or by a compiled ``program``, in ``sandbox`` (the policy's
    own section when None, else the defaults of ``seccomp-bpf run``)."""

    def __init__(
        self,
        args: Args,
        policy: Policy | None = None,
        *,
        program: Program | None = None,
        sandbox: Sandbox | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("preexec_fn") is not None:
            raise ValueError(
                "preexec_fn is not supported: the child is confined without running Python "
                "code between fork and exec"
            )
        kwargs.pop("preexec_fn", None)
        shell = bool(kwargs.pop("shell", False))
        argv, executable = _command_line(args, shell, kwargs.pop("executable", None))
        compiled, checked = compile_checked(policy, program, argv[0])
        if sandbox is None and checked is not None:
            sandbox = checked.sandbox
        if sandbox is not None:
            from seccomp_bpf.run.plan import plan_sandbox

            # Its errors (a granted path that is not there, a required layer the kernel
            # lacks) are raised here; relative paths are the child's working directory's.
            plan_sandbox(sandbox, cwd=os.fsdecode(kwargs.get("cwd") or os.getcwd()))
        if _one_thread():
            self._start_forked(args, compiled, sandbox, (argv, executable), kwargs)
            return
        if not sys.executable:
            raise RuntimeError("sys.executable is unknown: cannot start the confining child")
        from seccomp_bpf.run.popen_child import launch_bytes

        fd = _launch_fd(launch_bytes(compiled, sandbox, argv, executable, os.getpid()))
        try:
            pass_fds = tuple(kwargs.pop("pass_fds", ()))
            if kwargs.get("close_fds", True) or pass_fds:
                super().__init__([*_runner(), str(fd)], pass_fds=(*pass_fds, fd), **kwargs)
            else:  # everything inheritable goes through, as subprocess lets it
                os.set_inheritable(fd, True)
                super().__init__([*_runner(), str(fd)], **kwargs)
        finally:
            os.close(fd)
        self.args = args

    def _start_forked(
        self,
        args: Args,
        program: Program,
        sandbox: Sandbox | None,
        command: tuple[list[str], str | None],
        kwargs: dict[str, Any],
    ) -> None:
        """Start the child as :class:`subprocess.Popen` does, and set the sandbox up in it
        between fork and exec (``preexec_fn``, which never returns: see
        :func:`~seccomp_bpf.run.popen_child.launch_in_child`)."""
        from seccomp_bpf.run.popen_child import FORKED_IMPORTS, launch_in_child

        for module in FORKED_IMPORTS:  # the child imports nothing (see launch_in_child)
            __import__(module)
        argv, executable = command
        parent = os.getpid()
        env = kwargs.get("env")
        keep = tuple(kwargs.get("pass_fds", ()))
        close_fds = bool(kwargs.get("close_fds", True)) or bool(keep)

        def launch() -> None:
            launch_in_child(
                program,
                sandbox,
                argv,
                executable,
                parent,
                env=env,
                keep_fds=keep,
                close_fds=close_fds,
            )

        # What subprocess would exec once launch returned, which it never does.
        never = [sys.executable or "python3", "-c", "raise SystemExit(125)"]
        super().__init__(never, preexec_fn=launch, **kwargs)
        self.args = args


def _one_thread() -> bool:
    """Whether this process runs a single thread (every thread counts, Python's or not:
    ``/proc/self/task``). Then the child :class:`Popen` forks can run Python code before its
    exec, since no other thread can hold a lock there, and sets the sandbox up itself;
    otherwise an isolated interpreter is started to do it (see the module docstring). Only
    this thread could start another one before the fork."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def run(
    args: Args,
    policy: Policy | None = None,
    *,
    program: Program | None = None,
    sandbox: Sandbox | None = None,
    input: Any = None,
    capture_output: bool = False,
    timeout: float | None = None,
    check: bool = False,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """:func:`subprocess.run` with the child confined by ``policy`` or ``program``, in
    ``sandbox``."""
    if input is not None:
        if kwargs.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kwargs["stdin"] = subprocess.PIPE
    if capture_output:
        if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = subprocess.PIPE
        kwargs["stderr"] = subprocess.PIPE
    with Popen(args, policy, program=program, sandbox=sandbox, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            process.kill()
            expired.output, expired.stderr = process.communicate()
            raise
        except BaseException:
            process.kill()
            raise
        returncode = process.poll()
        assert returncode is not None
        if check and returncode:
            raise subprocess.CalledProcessError(returncode, args, output=stdout, stderr=stderr)
    return subprocess.CompletedProcess(args, returncode, stdout, stderr)
