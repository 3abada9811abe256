"""Start a child process under a policy, like :mod:`subprocess`, safely with threads.

::

    from seccomp_bpf.run.subprocess import Popen, run

    result = run(["git", "status"], capture_output=True, text=True)   # the default policy
    result = run(["./tool"], policy, check=True)
    with Popen(["server"], policy, stdout=subprocess.PIPE) as process: ...

``preexec_fn`` could install a filter between fork and exec, but running Python code in a
forked child of a threaded program can deadlock (``subprocess`` says so). Instead, the
policy is compiled and checked here, in the parent (its errors are raised here), and the
child is ``python -m seccomp_bpf run --no-fork --program-fd N [SANDBOX OPTIONS] -- ARGS...``:
the compiled program travels on an inherited memory file (``memfd_create``), the sandbox
(``sandbox=``, else the policy's own section, else the defaults) as the options of
``seccomp-bpf run``, and that process sets the sandbox up and runs ``ARGS`` in it.

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
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any, Final

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.sandbox import ACCESS_MODES, Sandbox
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


def _program_fd(program: Program) -> int:
    """A file descriptor holding the program's bytes: a memfd, or a pipe where there is
    none (a program is at most 4096 * 8 bytes, less than a pipe's buffer)."""
    data = program.to_bytes()
    try:
        fd = os.memfd_create("seccomp-bpf-program", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        read_end, write_end = os.pipe()
        try:
            os.write(write_end, data)
        finally:
            os.close(write_end)
        return read_end
    os.write(fd, data)
    return fd


def sandbox_arguments(sandbox: Sandbox) -> list[str]:
    """The options of ``seccomp-bpf run`` that ask for ``sandbox``."""
    default = Sandbox()
    arguments: list[str] = []
    for mode in ACCESS_MODES:
        for path in getattr(sandbox, mode):
            arguments.append(f"--{mode}={path}")  # "=": a path may start with "-"
    switches = (
        ("default_paths", "--no-default-paths"),
        ("namespaces", "--no-namespaces"),
        ("share_pid", "--share-pid"),
        ("unshare_net", "--unshare-net"),
        ("landlock", "--no-landlock"),
        ("new_session", "--no-new-session"),
    )
    for name, option in switches:
        if getattr(sandbox, name) != getattr(default, name):
            arguments.append(option)
    for name in ("tcp_bind", "tcp_connect"):
        ports: tuple[int, ...] | None = getattr(sandbox, name)
        if ports is not None:
            option = "--" + name.replace("_", "-")
            arguments += [option, "none"]
            for port in ports:
                arguments += [option, str(port)]
    for capability in sandbox.capabilities:
        arguments += ["--cap", capability]
    for layer in sandbox.require:
        arguments += ["--require", layer]
    return arguments


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
        from seccomp_bpf.arch import native_arch
        from seccomp_bpf.policies.precompiled import precompiled_default

        shipped = precompiled_default(native_arch().name)
        if shipped is not None:
            return shipped.program
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


def compile_checked(
    policy: Policy | None, program: Program | None, command: str
) -> tuple[Program, Policy | None]:
    """The program to run ``command`` under (the default policy when neither is given),
    with its actions and the exec checked here, where errors can be raised."""
    if policy is not None and program is not None:
        raise ValueError("give a policy or a program, not both")
    default = program is None and policy is None
    if program is None:
        program = _program_of(policy)
    check_actions_available(program)
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
    boot = f"import sys; sys.path[:0] = {path!r}; import seccomp_bpf.cli as c; sys.exit(c.main())"
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
        if not sys.executable:
            raise RuntimeError("sys.executable is unknown: cannot start the confining child")
        fd = _program_fd(compiled)
        try:
            runner = [*_runner(), "run", "--no-fork"]
            runner += ["--die-with", str(os.getpid()), "--program-fd", str(fd)]
            runner += sandbox_arguments(sandbox) if sandbox is not None else []
            if executable is not None:
                runner += ["--executable", executable]
            runner += ["--", *argv]
            pass_fds = (*kwargs.pop("pass_fds", ()), fd)
            super().__init__(runner, pass_fds=pass_fds, **kwargs)
        finally:
            os.close(fd)
        self.args = args


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
