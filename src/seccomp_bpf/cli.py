"""The ``seccomp-bpf`` command: a thin argparse front end over the library.

Every command is a function ``_cmd_NAME(args) -> int``. Errors the user can act on
(:class:`~seccomp_bpf.errors.SeccompBPFError`, unreadable files) become one line on stderr
and exit status 1; usage errors exit with 2, as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from seccomp_bpf import __version__
from seccomp_bpf.errors import SeccompBPFError

PROG = "seccomp-bpf"

Handler = Callable[[argparse.Namespace], int]


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


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


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
    except OSError as error:
        name = f"{error.filename}: " if error.filename else ""
        return _fail(f"{name}{error.strerror or error}")
    except KeyboardInterrupt:
        return 130


def entry_point() -> None:
    sys.exit(main())


# --- commands -------------------------------------------------------------------------------------
# Each registrar adds one subcommand and sets ``handler``.

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
_REGISTRARS: list[Registrar] = []
