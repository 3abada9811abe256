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
``--version`` and ``--help`` load none of the rest.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Final

from seccomp_bpf.__about__ import __version__
from seccomp_bpf.cli import dump, explain, policies, profile, programs, records, run, tables
from seccomp_bpf.cli.arguments import PROG, Handler, Registrar, _fail
from seccomp_bpf.errors import SeccompBPFError

_REGISTRARS: Final[tuple[Registrar, ...]] = (
    tables.register_syscalls,
    tables.register_arches,
    policies.register_check,
    programs.register_disasm,
    programs.register_asm,
    programs.register_emu,
    policies.register_compile,
    run.register_run,
    profile.register_profile,
    policies.register_policy,
    dump.register_dump,
    records.register_denials,
    explain.register_audit,
    policies.register_convert,
    explain.register_explain,
    explain.register_diff,
)
"""The commands, in the order ``--help`` lists them."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Write, compile, install, profile and inspect seccomp-BPF filters.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
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
    sys.exit(main())
