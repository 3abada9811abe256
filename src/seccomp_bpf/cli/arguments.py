"""What the commands' arguments mean, read alike by every command: POLICY (a built-in name,
``-`` for standard input, or a YAML or OCI/Docker JSON file), FILE (a policy or a program),
OUT, ``-- CMD [ARGS...]``; and how an error is said (one line on stderr, exit status 1).

The names keep their leading underscore: they are the command line's own, not the library's.
Nothing here imports the library at module level; each reader imports what it needs when it
runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # not typing's: the command line of a run does not import typing
if TYPE_CHECKING:
    from typing import Any

    from seccomp_bpf.arch import Arch
    from seccomp_bpf.bpf.assembler import ProgramFormat
    from seccomp_bpf.bpf.instruction import Program
    from seccomp_bpf.policy import Policy


PROG = "seccomp-bpf"

Handler = Callable[[argparse.Namespace], int]
"""A command: the parsed arguments in, the exit status out."""
Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
"""Adds one command to the parser and sets its ``handler``."""


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, given the terminal's width. argparse asks
    ``shutil.get_terminal_size`` for it each time a parser is built, and importing ``shutil``
    (with ``bz2``, ``lzma`` and ``fnmatch``) is a tenth of what a confined ``true`` costs."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2  # argparse keeps the same margin
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """What ``shutil.get_terminal_size().columns`` answers: ``$COLUMNS``, else the width of
    the terminal on standard output, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class CommandParser(argparse.ArgumentParser):
    """The parser of the command line and of each command (argparse makes subcommands'
    parsers of their parent's class): :class:`HelpFormatter` unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def _command_argument(parser: argparse.ArgumentParser) -> None:
    """The trailing ``-- CMD [ARGS...]`` of ``run`` and ``profile``."""
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the command"
    )


def _command_of(args: argparse.Namespace) -> list[str]:
    """CMD and its arguments, without the ``--`` that separates them from our options."""
    argv: list[str] = list(args.command)
    return argv[1:] if argv and argv[0] == "--" else argv


def _source_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as file:
        return file.read()


def _arch_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--arch",
        default="native",
        metavar="ARCH",
        help=f"{help_text}: a name or alias such as x86_64, amd64, aarch64 (default: native)",
    )


def _read_program_file(path: str, kind: ProgramFormat, arch: Arch) -> Program:
    """FILE as a program; an invalid one raises an error whose message starts with FILE."""
    return _program_from_bytes(_read_input(path), _source_name(path), kind, arch)


def _program_from_bytes(data: bytes, source: str, kind: ProgramFormat, arch: Arch) -> Program:
    """A file's bytes as a program (raw records or assembly text naming ARCH's calls); an
    invalid one raises an error whose message starts with ``source``."""
    from seccomp_bpf.arch import ArchSymbols
    from seccomp_bpf.bpf.assembler import read_program
    from seccomp_bpf.errors import AssemblyError, InvalidProgramError

    try:
        return read_program(
            data,
            kind=kind,
            symbols=ArchSymbols(default=arch),
            byteorder=arch.byteorder,
            source=source,
        )
    except AssemblyError:
        raise  # its message already starts with the file, line and column
    except InvalidProgramError as error:
        raise InvalidProgramError(f"{source}: {error}") from error


def _program_format_argument(parser: argparse.ArgumentParser) -> None:
    from seccomp_bpf.formats.program_output import PROGRAM_FORMATS

    parser.add_argument(
        "--format",
        choices=PROGRAM_FORMATS,
        default="raw",
        help="raw struct sock_filter bytes (default; in the architecture's byte order: "
        "big-endian for s390x, ppc64, mips...), a C array, hex, or disassembly",
    )


def _write_output(data: bytes, output: str, binary: bool, command: str) -> bool:
    """Write ``data`` to OUT ('-': standard output); False (and an error said) when binary
    data would go to a terminal."""
    if output != "-":
        with open(output, "wb") as stream:
            stream.write(data)
        return True
    if binary and sys.stdout.isatty():
        _fail(f"{command}: refusing to write binary to a terminal; use -o FILE or --format")
        return False
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return True


def _read_policy_argument(
    path: str, arches: Sequence[str] | None = None, *, strict: bool = False
) -> Policy:
    """POLICY (see above); ``arches`` replace the policy's own (for an OCI/Docker profile:
    the one machine architecture to resolve it for). ``strict``: an OCI/Docker profile's
    names that no architecture has are errors, as in YAML (runc ignores them)."""
    from seccomp_bpf.policies.registry import check_file_or_name, find_policy

    named = find_policy(path, files_first=True)
    if named is not None:
        return named.policy(arches)
    check_file_or_name(path)
    return _policy_from_bytes(_read_input(path), _source_name(path), arches, strict=strict)


def _policy_from_bytes(
    data: bytes, source: str, arches: Sequence[str] | None, *, strict: bool = False
) -> Policy:
    from seccomp_bpf.formats import load_policy_text
    from seccomp_bpf.formats.yaml_policy import decode_policy_bytes

    text = decode_policy_bytes(data, source)
    return load_policy_text(text, source=source, arches=arches, strict=strict)


def _read_policy_or_bytes(path: str, arches: Sequence[str] | None = None) -> Policy | bytes:
    """FILE as a policy when it is one (a built-in name, YAML or OCI JSON), else its bytes
    (a program, read once: standard input cannot be read twice)."""
    from seccomp_bpf.formats import looks_like_policy
    from seccomp_bpf.policies.registry import check_file_or_name, find_policy

    named = find_policy(path, files_first=True)
    if named is not None:
        return named.policy(arches)
    check_file_or_name(path)
    data = _read_input(path)
    if not looks_like_policy(data):
        return data
    return _policy_from_bytes(data, _source_name(path), arches)


def _read_filter(path: str, arches: Sequence[str] | None) -> Policy | Program:
    """FILE as a policy (YAML, OCI/Docker JSON) or, failing that, as a program (raw
    struct sock_filter records or assembly text, whose names are the first arch's)."""
    from seccomp_bpf.arch import get_arch, native_arch

    subject = _read_policy_or_bytes(path, arches)
    if not isinstance(subject, bytes):
        return subject
    arch = get_arch(arches[0]) if arches else native_arch()
    return _program_from_bytes(subject, _source_name(path), "auto", arch)
