"""The process :class:`seccomp_bpf.run.subprocess.Popen` starts: ``seccomp-bpf run
--no-fork --die-with PARENT`` without the command line.

The parent has read the policy, compiled it, checked that the kernel has its actions and
that it allows the exec, and planned the sandbox once to raise its errors there. It writes
what to run to a file descriptor this process inherits (:func:`launch_bytes`): the
program's bytes, the sandbox's fields, the command, the file to exec it from and the
parent's pid, in :mod:`marshal`'s format (the parent is this same interpreter, and the
descriptor is the parent's own, so nothing else can have written it). This process reads
it (:func:`main`), plans the sandbox in its own working directory and environment, which
are the command's (``cwd=``, ``env=``), and starts the command as ``run --no-fork`` does
(:func:`seccomp_bpf.run.command.exec_confined`). Neither argparse nor the command line
modules nor the emulator are imported, and the checks the parent made are not made again.
"""

from __future__ import annotations

import marshal
import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing here would cost the child
if TYPE_CHECKING:
    from collections.abc import Sequence

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
    from seccomp_bpf.errors import CommandError, InvalidProgramError, SandboxError, SeccompBPFError
    from seccomp_bpf.run import command as running

    try:
        sandbox = None
        if fields is not None:
            from seccomp_bpf.policy.sandbox import Sandbox

            sandbox = Sandbox(**fields)
        prepared = running.prepare(
            list(argv),
            program=Program.from_bytes(code),
            executable=executable,
            sandbox=sandbox,
            checked=True,
        )
        running.exec_confined(prepared, starter=parent)
    except CommandError as error:
        print(f"{PROG}: {error.strerror}", file=sys.stderr)
        return error.exit_status
    except SandboxError as error:
        return _error(f"run: {error}", error.exit_status)
    except InvalidProgramError as error:
        return _error(f"run: the program given: {error}")
    # What the command line answers to the same errors (seccomp_bpf.cli.main).
    except SeccompBPFError as error:
        return _error(str(error))
    except OSError as error:
        name = f"{error.filename}: " if error.filename else ""
        return _error(f"{name}{error.strerror or error}")
    except KeyboardInterrupt:
        return 130
