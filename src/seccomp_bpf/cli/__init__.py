"""The ``seccomp-bpf`` command: a thin argparse front end over the library.

:func:`main` builds the parser from one module per group of commands and runs the handler of
the command given. Every command is a function ``_cmd_NAME(args) -> int`` beside the
``register_NAME`` that adds it. Errors the user can act on
(:class:`~seccomp_bpf.errors.SeccompBPFError`, unreadable files) become one line on stderr
and exit status 1; usage errors exit with 2, as argparse does.

Nothing here imports the library at module level but its exceptions
(:mod:`seccomp_bpf.errors`), and neither do the command modules: each handler imports what it
uses when it runs, and the parser needs only the names of the output formats
(:mod:`seccomp_bpf.formats.program_output`, :mod:`seccomp_bpf.formats.export`), so that
``--version`` and ``--help`` load none of the rest. A command line that starts with a
command's name builds (and imports) that command's parser alone: ``seccomp-bpf run`` pays for
no other command's options.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from seccomp_bpf.__about__ import __version__
from seccomp_bpf.cli.arguments import PROG, CommandParser, Handler, Registrar, _fail
from seccomp_bpf.errors import SeccompBPFError

TYPE_CHECKING = False  # not typing's: the command line of a run does not import typing
if TYPE_CHECKING:
    from typing import Final, NoReturn

_COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "syscalls": ("tables", "register_syscalls"),
    "arches": ("tables", "register_arches"),
    "check": ("policies", "register_check"),
    "disasm": ("programs", "register_disasm"),
    "asm": ("programs", "register_asm"),
    "emu": ("programs", "register_emu"),
    "compile": ("policies", "register_compile"),
    "run": ("run", "register_run"),
    "profile": ("profile", "register_profile"),
    "policy": ("policies", "register_policy"),
    "dump": ("dump", "register_dump"),
    "denials": ("records", "register_denials"),
    "audit": ("explain", "register_audit"),
    "convert": ("policies", "register_convert"),
    "explain": ("explain", "register_explain"),
    "diff": ("explain", "register_diff"),
}
"""Each command: the module of ``cli/`` that adds it, and the function that does, in the
order ``--help`` lists them."""


def _registrar(command: str) -> Registrar:
    module, name = _COMMANDS[command]
    __import__(f"{__name__}.{module}")
    registrar: Registrar = getattr(sys.modules[f"{__name__}.{module}"], name)
    return registrar


def _build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``command`` alone."""
    parser: argparse.ArgumentParser = CommandParser(
        prog=PROG,
        description="Write, compile, install, profile and inspect seccomp-BPF filters.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (command,) if command is not None else _COMMANDS:
        _registrar(name)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # argparse takes a command's name whole (no abbreviation), so the parser of the command
    # named first parses this command line exactly as the parser of all of them would.
    parser = _build_parser(arguments[0] if arguments and arguments[0] in _COMMANDS else None)
    args = parser.parse_args(arguments)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except SeccompBPFError as error:
        return _fail(str(error))
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as other tools do, and keep the
        # interpreter's final flush from failing again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as error:
        name = f"{error.filename}: " if error.filename else ""
        return _fail(f"{name}{error.strerror or error}")
    except KeyboardInterrupt:
        return 130


def entry_point() -> None:
    arguments = sys.argv[1:]
    status = main(arguments)
    if arguments[:1] == ["run"]:
        _exit_now(status)
    sys.exit(status)


def _exit_now(status: int) -> NoReturn:
    """End a ``run`` as soon as its command has: flush what was printed, then ``_exit``.
    The interpreter's finalisation (every module torn down one by one, ~10 ms with the
    run's modules) would make a confined command's start-up a third longer; a run leaves
    no file open, no thread and no ``atexit`` handler behind."""
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream: nothing more can be said there.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
