"""The ``seccomp-bpf`` command: a thin argparse front end over the library.

Every command is a function ``_cmd_NAME(args) -> int``. Errors the user can act on
(:class:`~seccomp_bpf.errors.SeccompBPFError`, unreadable files) become one line on stderr
and exit status 1; usage errors exit with 2, as argparse does.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from seccomp_bpf import __version__
from seccomp_bpf.errors import SandboxError, SeccompBPFError

if TYPE_CHECKING:
    from seccomp_bpf.arch import Arch
    from seccomp_bpf.bpf.assembler import ProgramFormat
    from seccomp_bpf.bpf.instruction import Program
    from seccomp_bpf.kernel.filter_watch import LoadedFilter
    from seccomp_bpf.policy import Policy
    from seccomp_bpf.policy.sandbox import Sandbox

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


def _command_argument(parser: argparse.ArgumentParser) -> None:
    """The trailing ``-- CMD [ARGS...]`` of ``run`` and ``profile``."""
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, metavar="-- CMD [ARGS...]", help="the command"
    )


def _command_of(args: argparse.Namespace) -> list[str]:
    """CMD and its arguments, without the ``--`` that separates them from our options."""
    argv: list[str] = list(args.command)
    return argv[1:] if argv and argv[0] == "--" else argv


# --- commands -------------------------------------------------------------------------------------
# Each registrar adds one subcommand and sets ``handler``.

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]
_REGISTRARS: list[Registrar] = []


# --- syscalls -------------------------------------------------------------------------------------


def _register_syscalls(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "syscalls",
        help="list or look up system call numbers",
        description=(
            "With no NAME, print the system call table of the architecture (NR NAME by "
            "number). With names or numbers, print each on every requested architecture."
        ),
    )
    parser.add_argument(
        "--arch",
        action="append",
        metavar="ARCH",
        help="architecture (name, alias, SCMP_ARCH_* or 'native'); repeatable; default native",
    )
    parser.add_argument("queries", nargs="*", metavar="NAME|NR", help="system call name or number")
    parser.set_defaults(handler=_cmd_syscalls)


def _cmd_syscalls(args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import get_arch
    from seccomp_bpf.arch.syscall_lookup import lookup, match_lines, table_lines

    arches = [get_arch(name) for name in args.arch or ["native"]]
    if args.queries:
        lines = match_lines(lookup(args.queries, arches))
    else:
        lines = []
        for arch in arches:
            if len(arches) > 1:
                lines.append(f"# {arch.name}")
            lines.extend(table_lines(arch))
    print("\n".join(lines))
    return 0


_REGISTRARS.append(_register_syscalls)


# --- arches ---------------------------------------------------------------------------------------


def _register_arches(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "arches",
        help="list the supported architectures",
        description=(
            "Print every architecture (ABI) policies and commands accept: its name (what "
            "--arch and a policy's arches take; '*' marks this machine's), the names it "
            "also answers to, its AUDIT_ARCH value (seccomp_data.arch), word size and byte "
            "order, how many system calls its table has, the ABIs NAME+compat adds, and "
            "libseccomp's token (used in OCI/Docker profiles), '-' where libseccomp has none."
        ),
    )
    parser.add_argument(
        "names", nargs="*", metavar="ARCH", help="only these (names or aliases; default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.set_defaults(handler=_cmd_arches)


def _cmd_arches(args: argparse.Namespace) -> int:
    import json

    from seccomp_bpf.arch import all_arches, get_arch, native_arch

    native = native_arch()
    chosen = [get_arch(name) for name in args.names] or list(all_arches())
    if args.json:
        records = [
            {
                "name": arch.name,
                "native": arch == native,
                "aliases": list(arch.aliases),
                "audit_arch": arch.audit_arch,
                "audit_arch_macro": arch.audit_arch_macro,
                "bits": arch.bits,
                "byteorder": arch.byteorder,
                "syscalls": len(arch.syscalls),
                "compat": list(arch.compat),
                "libseccomp": arch.scmp_token if arch.libseccomp_name else None,
            }
            for arch in chosen
        ]
        print(json.dumps(records, indent=2))
        return 0
    header = ("NAME", "AUDIT_ARCH", "BITS", "ORDER", "CALLS", "+COMPAT", "LIBSECCOMP", "ALIASES")
    rows = [
        (
            arch.name + (" *" if arch == native else ""),
            f"{arch.audit_arch:#010x}",
            str(arch.bits),
            arch.byteorder,
            str(len(arch.syscalls)),
            ",".join(arch.compat) or "-",
            arch.scmp_token if arch.libseccomp_name else "-",
            ", ".join(arch.aliases) or "-",
        )
        for arch in chosen
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return 0


_REGISTRARS.append(_register_arches)


# --- check ----------------------------------------------------------------------------------------


def _register_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "check",
        help="validate a policy and report what each architecture skips",
        description=(
            "Read a YAML policy or an OCI/Docker JSON profile, check it, and print for each "
            "architecture the system call names it does not have (those rules are skipped "
            "there), then any other warning. Exit status 1 if the policy is not valid."
        ),
    )
    parser.add_argument("policy", metavar="POLICY", help="policy file (YAML, or OCI/Docker JSON)")
    parser.add_argument(
        "--arch",
        action="append",
        metavar="ARCH",
        help=(
            "check for this architecture instead of the policy's own; repeatable "
            "(for an OCI/Docker profile: the one machine architecture to resolve it for)"
        ),
    )
    parser.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    policy = _read_policy_argument(args.policy, args.arch, strict=True)
    arches = policy.resolved_arches()
    print(f"{args.policy}: valid; {len(policy.rules)} rules; {', '.join(a.name for a in arches)}")
    for arch in arches:
        resolved = policy.resolve(arch)
        by_rule: dict[int, list[str]] = {}
        for index, name in resolved.skipped:
            by_rule.setdefault(index, []).append(name)
        if not by_rule:
            print(f"{arch.name}: nothing skipped")
        for index, names in by_rule.items():
            where = policy.rules[index].location
            label = f"rule {index + 1}" + (f" ({where})" if where else "")
            print(f"{arch.name}: {label}: skipped {len(names)}, not here: {', '.join(names)}")
        for warning in resolved.warnings:
            print(f"warning: {warning}")
    unknown = policy.unknown_syscall_action
    print(
        f"actions: default {policy.default_action.describe()}; "
        + (f"numbers no table knows {unknown.describe()}; " if unknown is not None else "")
        + f"other architectures {policy.bad_arch_action.describe()}"
    )
    for note in policy.notes:
        print(f"note: {note}")
    return 0


_REGISTRARS.append(_register_check)


# --- disasm, asm, emu -----------------------------------------------------------------------------
# A program file is raw ``struct sock_filter`` records in this machine's byte order (what
# libseccomp's seccomp_export_bpf writes and bubblewrap's --seccomp reads) or assembly text.

_PROGRAM_FORMATS = ("auto", "raw", "text")


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


def _register_disasm(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "disasm",
        help="print a filter as pseudo-code (seccomp-tools format)",
        description=(
            "Print a filter as a listing: line, CODE JT JF K in hex, and pseudo-code. "
            "System call names are those of ARCH; architecture values are always named. "
            "`seccomp-bpf asm` reads the listing back."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="program file ('-' for standard input)")
    _arch_argument(parser, "architecture whose system call names to print")
    parser.add_argument(
        "--format",
        choices=_PROGRAM_FORMATS,
        default="auto",
        help="FILE holds raw struct sock_filter records or assembly text (default: auto)",
    )
    parser.set_defaults(handler=_cmd_disasm)


def _cmd_disasm(args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import ArchSymbols, get_arch
    from seccomp_bpf.bpf.disassembler import dis

    arch = get_arch(args.arch)
    program = _read_program_file(args.file, args.format, arch)
    dis(program, symbols=ArchSymbols(default=arch), byteorder=arch.byteorder)
    return 0


_REGISTRARS.append(_register_disasm)


def _register_asm(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "asm",
        help="assemble pseudo-code into a raw filter",
        description=(
            "Assemble pseudo-code (a `seccomp-bpf disasm` listing, or hand-written text with "
            "labels and comments) into a validated program: raw struct sock_filter records "
            "in this machine's byte order (the default), a C array, hex, or the listing."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="assembly text ('-' for standard input)")
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="OUT",
        help="where to write the program (default: standard output; raw records are not "
        "written to a terminal)",
    )
    _program_format_argument(parser)
    _arch_argument(parser, "architecture whose system call names the text uses")
    parser.set_defaults(handler=_cmd_asm)


def _cmd_asm(args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import ArchSymbols, get_arch
    from seccomp_bpf.formats.program_output import render_program

    arch = get_arch(args.arch)
    program = _read_program_file(args.file, "text", arch)
    output = render_program(
        program, args.format, symbols=ArchSymbols(default=arch), byteorder=arch.byteorder
    )
    return 0 if _write_output(output, args.output, args.format == "raw", "asm") else 1


def _program_format_argument(parser: argparse.ArgumentParser) -> None:
    from seccomp_bpf.formats.program_output import PROGRAM_FORMATS

    parser.add_argument(
        "--format",
        choices=PROGRAM_FORMATS,
        default="raw",
        help="raw struct sock_filter bytes (default), a C array, hex, or disassembly",
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


_REGISTRARS.append(_register_asm)


_MASK64 = (1 << 64) - 1


def _u64(text: str) -> int:
    """A number: decimal, 0x hex, or negative (two's complement on 64 bits)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not -(1 << 63) <= value <= _MASK64:
        raise argparse.ArgumentTypeError(f"{text!r} does not fit in 64 bits")
    return value & _MASK64


def _argument_value(text: str, arch: Arch) -> int:
    """A system call argument: a number (negative is two's complement on 64 bits), a
    constant name with ARCH's value (``AF_INET``), or constants joined with ``|``."""
    from seccomp_bpf.arch.constants import parse_value

    value = parse_value(text, arch)  # ValueError names what is wrong
    if not -(1 << 63) <= value <= _MASK64:
        raise ValueError(f"{text!r} does not fit in 64 bits")
    return value & _MASK64


def _register_emu(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "emu",
        help="run a filter on one system call, as the kernel would",
        description=(
            "Run the filter in FILE (raw or assembly text) on the system call NR of ARCH with "
            "the given arguments, and print the result and the number of instructions run."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="program file ('-' for standard input)")
    _arch_argument(parser, "the architecture making the call, for seccomp_data.arch")
    parser.add_argument("nr", metavar="NR", help="system call number or name on ARCH")
    parser.add_argument(
        "args",
        nargs="*",
        metavar="ARG",
        help="up to six argument values (decimal, 0x hex, negative, or constants of ARCH "
        "such as AF_INET or O_WRONLY|O_CREAT); missing ones are 0",
    )
    parser.add_argument(
        "--ip", type=_u64, default=0, metavar="IP", help="instruction pointer (default 0)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON object")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print the instructions run"
    )
    parser.set_defaults(handler=_cmd_emu)


def _syscall_number(text: str, arch: Arch) -> int:
    """NR as the kernel passes it: a number (negative is two's complement) or a name."""
    try:
        value = int(text, 0)
    except ValueError:
        number = arch.syscall_number(text)
        if number is None:
            raise ValueError(f"no system call {text!r} on {arch.name}") from None
        return number
    if not -(1 << 31) <= value < 1 << 32:
        raise ValueError(f"system call number {text!r} does not fit in 32 bits")
    return value & 0xFFFFFFFF


def _cmd_emu(args: argparse.Namespace) -> int:
    import json

    from seccomp_bpf.arch import ArchSymbols, get_arch
    from seccomp_bpf.bpf.disassembler import get_instructions
    from seccomp_bpf.bpf.emulator import SeccompData, emulate, format_return_value

    if len(args.args) > 6:
        return _fail(f"emu: a system call has at most 6 arguments, not {len(args.args)}")
    arch = get_arch(args.arch)
    subject = _read_policy_or_bytes(args.file)
    policy = subject if not isinstance(subject, bytes) else None
    if policy is not None:
        from seccomp_bpf.compiler import compile_policy

        program = compile_policy(policy)
    else:
        assert isinstance(subject, bytes)
        program = _program_from_bytes(subject, _source_name(args.file), "auto", arch)
    try:
        nr = _syscall_number(args.nr, arch)
    except ValueError as error:
        return _fail(f"emu: NR: {error}")
    values_given: list[int] = []
    for position, text in enumerate(args.args):
        try:
            values_given.append(_argument_value(text, arch))
        except ValueError as error:
            return _fail(f"emu: argument {position}: {error}")
    a = [*values_given, 0, 0, 0, 0, 0, 0]
    values = (a[0], a[1], a[2], a[3], a[4], a[5])
    data = SeccompData(nr, arch.audit_arch, args.ip, values, byteorder=arch.byteorder)
    execution = emulate(program, data)
    decided_by = None
    if policy is not None:
        decision = policy.decide(arch, nr, values, args.ip)
        if decision.action.ret_value != execution.ret:  # the compiler's own guarantee
            return _fail(
                f"emu: internal error: the compiled program returns "
                f"{format_return_value(execution.ret)} but the policy says {decision.action}"
            )
        decided_by = decision.reason
    decoded = get_instructions(program, symbols=ArchSymbols(default=arch), byteorder=arch.byteorder)
    if args.json:
        report = {
            "ret": execution.ret,
            "action": execution.action.name,
            "data": execution.data,
            "errno": execution.errno,
            "result": format_return_value(execution.ret),
            "executed": execution.executed,
            "path": list(execution.path),
            "arch": arch.name,
            "nr": nr,
        }
        if decided_by is not None:
            report["decided_by"] = decided_by
        if args.verbose:
            report["listing"] = [decoded[pc].format() for pc in execution.path]
        print(json.dumps(report))
        return 0
    if args.verbose:
        for pc in execution.path:
            print(decoded[pc].format())
    print(format_return_value(execution.ret))
    if decided_by is not None:
        print(f"decided by {decided_by}")
    print(f"{execution.executed} instructions executed")
    return 0


_REGISTRARS.append(_register_emu)


# --- policies --------------------------------------------------------------------------------

# Every command that takes a policy reads it alike: the name of a built-in policy
# ('default'; a file of that name is ./default), '-' for standard input, or a file in YAML
# or OCI/Docker JSON. Commands that also take a program tell them apart by content
# (formats.looks_like_policy).


def _read_policy_argument(
    path: str, arches: Sequence[str] | None = None, *, strict: bool = False
) -> Policy:
    """POLICY (see above); ``arches`` replace the policy's own (for an OCI/Docker profile:
    the one machine architecture to resolve it for). ``strict``: an OCI/Docker profile's
    names that no architecture has are errors, as in YAML (runc ignores them)."""
    from seccomp_bpf.policies.default import BUILTIN_POLICIES, builtin_policy

    if path in BUILTIN_POLICIES:
        return builtin_policy(path, arches)
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
    from seccomp_bpf.policies.default import BUILTIN_POLICIES, builtin_policy

    if path in BUILTIN_POLICIES:
        return builtin_policy(path, arches)
    data = _read_input(path)
    if not looks_like_policy(data):
        return data
    return _policy_from_bytes(data, _source_name(path), arches)


def _register_compile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "compile",
        help="compile a policy into a seccomp filter",
        description=(
            "Compile POLICY (YAML, go-seccomp-bpf YAML or OCI/Docker JSON) into one classic-BPF "
            "program for all its architectures."
        ),
    )
    parser.add_argument("policy", metavar="POLICY", help="policy file ('-' for standard input)")
    parser.add_argument(
        "-o", "--output", metavar="OUT", default="-", help="where to write (default: stdout)"
    )
    parser.add_argument(
        "--arch",
        action="append",
        metavar="A",
        help="compile for this architecture instead of the policy's (repeatable; NAME+compat "
        "adds NAME's compat ABIs; for an OCI/Docker profile, the one machine architecture "
        "to resolve it for)",
    )
    _program_format_argument(parser)
    parser.add_argument(
        "--frequency",
        metavar="FILE",
        help="syscall frequencies (JSON) that put frequent calls first",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="print the length and, per architecture, instructions run per call (stderr)",
    )
    parser.add_argument(
        "--no-optimize", action="store_true", help="skip the peephole passes (for comparison)"
    )
    parser.set_defaults(handler=_cmd_compile)


def _cmd_compile(args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import ArchSymbols
    from seccomp_bpf.compiler import compile_policy, load_frequency
    from seccomp_bpf.compiler.statistics import program_statistics
    from seccomp_bpf.formats.program_output import render_program

    policy = _read_policy_argument(args.policy, args.arch)
    frequency = load_frequency(args.frequency) if args.frequency else None
    program = compile_policy(policy, frequency=frequency, optimize=not args.no_optimize)
    first = policy.resolved_arches()[0]
    symbols = ArchSymbols(default=first)
    byteorder = first.byteorder
    output = render_program(program, args.format, symbols=symbols, byteorder=byteorder)
    if not _write_output(output, args.output, binary=args.format == "raw", command="compile"):
        return 1
    if args.stats:
        for line in program_statistics(program, policy).lines():
            print(line, file=sys.stderr)
    return 0


_REGISTRARS.append(_register_compile)


# --- run ------------------------------------------------------------------------------------------


def _register_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "run",
        help="run a command in a sandbox, under a policy (the built-in default without -p)",
        description=(
            "Compile the policy, check that the kernel supports its actions and that it allows "
            "the exec itself, then run CMD in a sandbox, each layer where the kernel offers it: "
            "PID, mount, IPC and UTS namespaces (with a user namespace when not root) with a new "
            "/proc, /dev, /tmp and /run and every other mount read-only but the working "
            "directory; a new session; no_new_privs; Landlock (everything readable, the "
            "working directory, /tmp and $TMPDIR writable, signals and abstract UNIX sockets "
            "kept inside); every capability dropped; SIGKILL when seccomp-bpf ends; and the "
            "filter, last. A layer the kernel refuses is named on stderr, once. CMD's exit "
            "status is passed through; a death by signal N is reported and gives 128+N. "
            "SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2 and SIGWINCH sent to "
            "seccomp-bpf are passed on to CMD. Exit status 1: an error before anything ran; "
            "123: a layer named by --require (or asked for, such as --tcp-bind) is not "
            "available, nothing ran; 125: the kernel refused the sandbox or the filter; 126: "
            "CMD is not executable; 127: CMD was not found."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "-p",
        "--policy",
        metavar="POLICY",
        help="policy file (YAML or OCI/Docker JSON), or 'default' for the built-in policy "
        "(the default; a file called default: ./default); a YAML policy's sandbox section "
        "applies, with the options below on top",
    )
    source.add_argument(
        "--program",
        metavar="FILE",
        help="an already compiled program: raw struct sock_filter records (seccomp-bpf compile)",
    )
    source.add_argument(
        "--program-fd",
        type=int,
        metavar="N",
        help="read the compiled program from inherited file descriptor N",
    )
    parser.add_argument(
        "--arch",
        action="append",
        metavar="ARCH",
        help="architecture to accept calls from instead of the policy's (repeatable; "
        "NAME+compat adds NAME's compat ABIs)",
    )
    parser.add_argument(
        "--report-denials",
        action="store_true",
        help="run CMD under a supervisor that prints each denied system call with the rule "
        "that denied it, and sums up the expected ENOSYS fallbacks at the end",
    )
    parser.add_argument(
        "--no-fork",
        action="store_true",
        help="make seccomp-bpf itself the command (its pid; its exit status and signals are "
        "its own, unreported); with a PID namespace, which needs a new process, seccomp-bpf "
        "stands in for it: it passes signals on and ends as the command ends",
    )
    parser.add_argument(
        "--executable",
        metavar="PATH",
        help="the file to execute instead of looking CMD up in PATH (CMD stays argv[0])",
    )
    parser.add_argument(
        "--die-with",
        type=int,
        metavar="PID",
        help="end CMD and its whole sandbox when process PID, the parent of seccomp-bpf, "
        "ends (not merely the thread of it that started seccomp-bpf); with --no-fork, "
        "seccomp-bpf then always stands in for CMD (seccomp_bpf.Popen passes its own pid)",
    )
    sandbox = parser.add_argument_group(
        "sandbox",
        "The layers around the filter; each can be turned off. Paths are relative to the "
        "working directory; a read-only grant is also a read-only mount.",
    )
    for mode, what in (
        ("ro", "read files and list directories beneath PATH"),
        ("rox", "read and execute beneath PATH"),
        ("rw", "read and write beneath PATH (no execute)"),
        ("rwx", "read, write and execute beneath PATH"),
    ):
        sandbox.add_argument(
            f"--{mode}", action="append", default=[], metavar="PATH", help=f"{what} (repeatable)"
        )
    sandbox.add_argument(
        "--no-default-paths",
        action="store_true",
        help="grant only the paths given (no system directories, devices, /tmp or working "
        "directory)",
    )
    for name, what in (("bind", "bind to"), ("connect", "connect to")):
        sandbox.add_argument(
            f"--tcp-{name}",
            action="append",
            metavar="PORT",
            help=f"only {what} these TCP ports (repeatable; 'none' for no port; Landlock ABI 4)",
        )
    sandbox.add_argument(
        "--unshare-net", action="store_true", help="a network namespace with only the loopback"
    )
    sandbox.add_argument(
        "--cap",
        action="append",
        default=[],
        metavar="NAME",
        help="keep capability NAME (CAP_NET_BIND_SERVICE or net_bind_service; repeatable; "
        "'all' keeps every one); every other one is dropped",
    )
    sandbox.add_argument(
        "--share-pid", action="store_true", help="no PID namespace: other processes stay visible"
    )
    sandbox.add_argument(
        "--no-namespaces",
        action="store_true",
        help="no namespaces at all (nor the private /dev, /tmp, /run and read-only mounts)",
    )
    sandbox.add_argument(
        "--no-landlock",
        action="store_true",
        help="no Landlock (SECCOMP_BPF_LANDLOCK_ABI=N in the environment lowers the ABI used "
        "instead; 0: none)",
    )
    sandbox.add_argument(
        "--no-new-session",
        action="store_true",
        help="keep CMD in the terminal's session (job control; it could then push input "
        "into the terminal with TIOCSTI unless the policy denies that ioctl)",
    )
    sandbox.add_argument(
        "--require",
        action="append",
        default=[],
        choices=["namespaces", "landlock", "landlock-scope", "all"],
        help="refuse to run (exit status 123) unless this layer is in force (repeatable)",
    )
    sandbox.add_argument(
        "--show-layers",
        action="store_true",
        help="print the layers in force on stderr before CMD runs",
    )
    _command_argument(parser)
    parser.set_defaults(handler=_cmd_run)


def _ports(values: list[str] | None, option: str) -> tuple[int, ...] | None:
    if values is None:
        return None
    ports: list[int] = []
    for value in values:
        if value == "none":
            continue
        try:
            ports.append(int(value, 10))
        except ValueError:
            raise SandboxError(f"{option} {value}: give a TCP port (0..65535) or 'none'") from None
    return tuple(ports)


def _sandbox_options(args: argparse.Namespace) -> Sandbox:
    """The sandbox the run options ask for (defaults where none is given)."""
    from seccomp_bpf.policy.sandbox import Sandbox

    return Sandbox(
        ro=args.ro,
        rox=args.rox,
        rw=args.rw,
        rwx=args.rwx,
        default_paths=not args.no_default_paths,
        tcp_bind=_ports(args.tcp_bind, "--tcp-bind"),
        tcp_connect=_ports(args.tcp_connect, "--tcp-connect"),
        capabilities=args.cap,
        namespaces=not args.no_namespaces,
        share_pid=args.share_pid,
        unshare_net=args.unshare_net,
        landlock=not args.no_landlock,
        new_session=not args.no_new_session,
        require=args.require,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from seccomp_bpf.errors import CommandError
    from seccomp_bpf.run import command as running

    argv = _command_of(args)
    if not argv:
        return _fail("run: give the command after --, e.g. seccomp-bpf run -- python3 -c 'pass'")
    compiled = args.program is not None or args.program_fd is not None
    if compiled and args.arch:
        return _fail("run: --arch applies to a policy; a compiled program has its own")
    if args.report_denials and (compiled or args.no_fork or args.executable or args.die_with):
        return _fail(
            "run: --report-denials needs a policy (-p) and a command run in a forked "
            "child (no --program, --program-fd, --no-fork, --executable or --die-with)"
        )
    if args.die_with is not None and args.die_with != os.getppid():
        return _fail(
            f"run: --die-with {args.die_with}: that process is not (or no longer) the parent "
            "of seccomp-bpf; nothing was run"
        )
    try:
        options = _sandbox_options(args)
        policy = None
        if args.program_fd is not None:
            program = running.read_program_fd(args.program_fd)
        elif args.program is not None:
            data = _read_input(args.program)
            program = running.read_program_bytes(data, _source_name(args.program))
        else:
            policy = running.load_policy(args.policy, args.arch)
        sandbox = policy.sandbox.combined(options) if policy and policy.sandbox else options
        if args.report_denials:
            assert policy is not None
            running.prepare(argv, policy=policy, sandbox=False)
            return _run_with_reports(argv, policy, sandbox, args.show_layers)
        if policy is not None:
            prepared = running.prepare(
                argv,
                policy=policy,
                executable=args.executable,
                sandbox=sandbox,
                show_layers=args.show_layers,
            )
        else:
            prepared = running.prepare(
                argv,
                program=program,
                executable=args.executable,
                sandbox=sandbox,
                show_layers=args.show_layers,
            )
    except CommandError as error:
        print(f"{PROG}: {error.strerror}", file=sys.stderr)
        return error.exit_status
    except SandboxError as error:
        return _fail_with(error.exit_status, f"run: {error}")
    if args.no_fork:
        running.exec_confined(prepared, starter=args.die_with)
    return running.run_confined(prepared, starter=args.die_with)


def _fail_with(status: int, message: str) -> int:
    _fail(message)
    return status


def _run_with_reports(argv: list[str], policy: Policy, sandbox: Sandbox, show: bool) -> int:
    from seccomp_bpf.run.supervisor import run_with_reports

    return run_with_reports(argv, policy, sandbox=sandbox, show_layers=show)


_REGISTRARS.append(_register_run)


# --- profile --------------------------------------------------------------------------------------


def _register_profile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "profile",
        help="run a command and write the allowlist policy of the system calls it made",
        description=(
            "Run CMD, record every system call it and the processes and threads it starts "
            "make (per ABI, with counts, and the arguments of socket, ioctl, prctl, mmap, "
            "mprotect and clone), and write a policy that allows exactly those: grouped, "
            "commented YAML, or OCI JSON. clone3, whose flags are in memory where a filter "
            "cannot check them, fails with ENOSYS while recording and under the policy: C "
            "libraries then use clone, whose flags the policy checks. CMD's input and output "
            "are its own; its exit status is passed through (128+N when killed by signal N). "
            "Processes CMD leaves running keep running, unrecorded, unless --follow-daemons. "
            "With --static PROGRAM, read the program's code and its libraries' instead, and "
            "allow every call it can reach."
        ),
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="POLICY",
        help="where to write the policy (default: seccomp-profile.yaml, or seccomp-profile.json "
        "with --format oci; '-': standard output, after CMD ends)",
    )
    parser.add_argument(
        "--format", choices=("yaml", "oci"), default="yaml", help="policy format (default yaml)"
    )
    parser.add_argument(
        "--frequency",
        metavar="FREQ.json",
        help="also write the call counts, for `seccomp-bpf compile --frequency`",
    )
    parser.add_argument(
        "--mode",
        choices=("ptrace", "notify"),
        default="ptrace",
        help="ptrace: see every call (default); notify: a seccomp user-notification "
        "supervisor, no ptrace needed, a small base set allowed unrecorded",
    )
    parser.add_argument(
        "--args",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME[:N]",
        help="also record these arguments (NAME: its default set; NAME:N: argument N) and "
        "allow only the values seen",
    )
    parser.add_argument(
        "--no-args",
        action="store_true",
        help="record no argument by default (only those --args names)",
    )
    parser.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="OLD.yaml",
        help="unite with a policy this command wrote before (repeatable)",
    )
    parser.add_argument(
        "--allow",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME",
        help="always allow these calls or @groups, seen or not",
    )
    parser.add_argument(
        "--deny",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME",
        help="never allow these calls or @groups, even when seen",
    )
    parser.add_argument(
        "--follow-daemons",
        action="store_true",
        help="also record the processes CMD leaves running, and wait until they end",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line and no summary"
    )
    static = parser.add_argument_group(
        "static profiling (seccomp-bpf[static]): read the program instead of running it"
    )
    static.add_argument(
        "--static",
        metavar="PROGRAM",
        help="write the allowlist of every system call PROGRAM's code and its libraries' "
        "code can reach (ELF, x86_64, aarch64 or i386), without running it",
    )
    static.add_argument(
        "--dlopen",
        action="append",
        default=[],
        metavar="LIB",
        help="a library PROGRAM opens with dlopen (a name searched as the loader would, or a "
        "path; repeatable)",
    )
    static.add_argument(
        "--library-path",
        action="append",
        default=[],
        metavar="DIR",
        help="also look for libraries in DIR, as LD_LIBRARY_PATH would (repeatable)",
    )
    static.add_argument(
        "--sysroot", metavar="DIR", help="take the loader, libraries and ld.so.cache under DIR"
    )
    static.add_argument(
        "--arch", metavar="ARCH", help="the ABI PROGRAM must be for (default: what it says)"
    )
    static.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the analysis cache"
    )
    static.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the analysis cache (default: $XDG_CACHE_HOME/seccomp-bpf/static)",
    )
    _command_argument(parser)
    parser.set_defaults(handler=_cmd_profile)


def _cmd_profile(args: argparse.Namespace) -> int:
    from seccomp_bpf.profiling.command import ProfileOptions, run_profile

    if args.static is not None:
        return _cmd_profile_static(args)
    static_only = [
        flag
        for flag, value in (("--dlopen", args.dlopen), ("--library-path", args.library_path),
                            ("--sysroot", args.sysroot), ("--arch", args.arch),
                            ("--no-cache", args.no_cache), ("--cache-dir", args.cache_dir))
        if value
    ]  # fmt: skip
    if static_only:
        return _fail(f"profile: {static_only[0]} goes with --static PROGRAM")
    argv = _command_of(args)
    if not argv:
        return _fail("profile: give the command after --, e.g. seccomp-bpf profile -- ls")
    return run_profile(
        ProfileOptions(
            command=argv,
            output=args.output,
            output_format=args.format,
            frequency=args.frequency,
            mode=args.mode,
            args_of=args.args,
            no_args=args.no_args,
            merge=args.merge,
            allow=args.allow,
            deny=args.deny,
            follow_daemons=args.follow_daemons,
            quiet=args.quiet,
        )
    )


def _cmd_profile_static(args: argparse.Namespace) -> int:
    from seccomp_bpf.profiling.static.command import StaticOptions, run_static_profile

    if _command_of(args):
        return _fail("profile: --static PROGRAM reads the program; give no -- CMD with it")
    running_only = [
        flag
        for flag, value in (("--frequency", args.frequency), ("--args", args.args),
                            ("--no-args", args.no_args), ("--follow-daemons",
                            args.follow_daemons), ("--mode", args.mode != "ptrace"))
        if value
    ]  # fmt: skip
    if running_only:
        return _fail(f"profile: {running_only[0]} is for a recorded run, not with --static")
    return run_static_profile(
        StaticOptions(
            program=args.static,
            output=args.output,
            output_format=args.format,
            dlopen=args.dlopen,
            library_path=args.library_path,
            sysroot=args.sysroot,
            arch=args.arch,
            cache=not args.no_cache,
            cache_dir=args.cache_dir,
            merge=args.merge,
            allow=args.allow,
            deny=args.deny,
            quiet=args.quiet,
        )
    )


_REGISTRARS.append(_register_profile)


# --- policy ---------------------------------------------------------------------------------------


def _register_policy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "policy",
        help="show the built-in policy, a policy file, or the system call groups",
        description="Show the built-in default policy or a policy file, or list the groups "
        "(@network, @file-system..., and systemd's SystemCallFilter= groups: @system-service, "
        "@signal..., @systemd:NAME) that policies can name.",
    )
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print a policy",
        description="Print the built-in policy NAME ('default') as YAML, or check the policy "
        "file PATH and print it as it is written.",
    )
    show.add_argument("policy", metavar="NAME|PATH", help="'default', or a policy file")
    show.set_defaults(handler=_cmd_policy_show)
    groups = actions.add_parser(
        "groups",
        help="list the system call groups and their members",
        description="Print each group (or the groups named) with its description and members.",
    )
    groups.add_argument("names", nargs="*", metavar="NAME", help="groups to show (default: all)")
    groups.add_argument(
        "--markdown", action="store_true", help="print the Markdown of docs/groups.md"
    )
    groups.set_defaults(handler=_cmd_policy_groups)


def _cmd_policy_show(args: argparse.Namespace) -> int:
    from seccomp_bpf.policies.default import BUILTIN_POLICIES, builtin_policy_text

    if args.policy in BUILTIN_POLICIES:
        text = builtin_policy_text(args.policy)
    else:
        from seccomp_bpf.formats.yaml_policy import decode_policy_bytes

        source = _source_name(args.policy)
        data = _read_input(args.policy)
        _policy_from_bytes(data, source, None)  # refuse what is no valid policy
        text = decode_policy_bytes(data, source)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _cmd_policy_groups(args: argparse.Namespace) -> int:
    from seccomp_bpf.policies.groups import get_group, groups_markdown, groups_text

    if args.markdown:
        if args.names:
            return _fail("policy groups: --markdown prints every group; give no NAME")
        sys.stdout.write(groups_markdown())
        return 0
    for name in args.names:
        get_group(name)  # an unknown name fails before anything is printed
    print(groups_text(args.names))
    return 0


_REGISTRARS.append(_register_policy)


# --- dump -----------------------------------------------------------------------------------------


def _pid(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    return value


def _register_dump(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dump",
        help="print the seccomp filters of a running process, or of a command as it installs "
        "them",
        usage=(
            f"{PROG} dump [-o OUT] [--disasm] [--arch ARCH] PID\n"
            f"       {PROG} dump [-o OUT] [--arch ARCH] [--limit N] -- CMD [ARGS...]"
        ),
        description=(
            "PID: print the seccomp mode of process PID and its filters, read with "
            "PTRACE_SECCOMP_GET_FILTER (this needs CAP_SYS_ADMIN and the right to trace PID; "
            "the process is stopped for a moment). Filters are numbered from the most "
            "recently installed, 0; the kernel runs them all. With -o, filter 0 is written "
            "to OUT and filter N to OUT.N, as raw struct sock_filter records "
            "(what `seccomp-bpf disasm` and `emu` read); with --disasm each is printed. "
            "-- CMD: run CMD traced, and print each filter it (or a process or thread it "
            "starts) passes to seccomp(SECCOMP_SET_MODE_FILTER) or prctl(PR_SET_SECCOMP), "
            "as it does, with whether the kernel installed it; filter N (from 1) is "
            "written to OUT.N with -o. No filter is added to CMD and no privilege is "
            "needed beyond tracing it. CMD's exit status is passed through (128+N when "
            "killed by signal N); with --limit N, CMD is killed after its N-th filter and "
            "the status is 0."
        ),
    )
    parser.add_argument(
        "target", nargs="?", metavar="PID | -- CMD", help="a process id, or -- and a command"
    )
    parser.add_argument("arguments", nargs="*", metavar="ARGS", help=argparse.SUPPRESS)
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write each filter to OUT or OUT.N (raw struct sock_filter records)",
    )
    parser.add_argument(
        "--disasm", action="store_true", help="print each filter as a listing (always with CMD)"
    )
    parser.add_argument(
        "--arch",
        metavar="ARCH",
        help="architecture whose system call names the listings use (default: this "
        "machine's; with CMD, the ABI of the call that installed the filter)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="with CMD: stop after its N-th filter (CMD is killed)",
    )
    parser.set_defaults(handler=_cmd_dump)


def _cmd_dump(args: argparse.Namespace) -> int:
    target: str | None = args.target
    if target is None:
        return _fail("dump: give a process id, or -- and a command: seccomp-bpf dump -- CMD")
    if target.lstrip("-+").isdigit() and not args.arguments:
        if args.limit is not None:
            return _fail("dump: --limit applies to a command (dump -- CMD)")
        try:
            pid = _pid(target)
        except argparse.ArgumentTypeError as error:
            return _fail(f"dump: {error}")
        return _dump_process(pid, args)
    if args.limit is not None and args.limit < 1:
        return _fail("dump: --limit must be at least 1")
    return _dump_command([target, *args.arguments], args)


def _dump_process(pid: int, args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import ArchSymbols, get_arch
    from seccomp_bpf.bpf.disassembler import disassemble
    from seccomp_bpf.bpf.instruction import INSTRUCTION_SIZE, Program
    from seccomp_bpf.kernel import SeccompMode, filter_count, seccomp_mode
    from seccomp_bpf.kernel.ptrace import seccomp_filters

    arch = get_arch(args.arch or "native")
    try:
        mode = seccomp_mode(pid)
        count = filter_count(pid)
    except FileNotFoundError:
        return _fail(f"dump: no process {pid}")
    mode_text = "unknown" if mode is None else f"{int(mode)}"
    if isinstance(mode, SeccompMode):
        mode_text += f" ({mode.name.lower()})"
    if mode != SeccompMode.FILTER:
        print(f"process {pid}: seccomp mode {mode_text}, no filter")
        return 0
    counted = "" if count is None else f", {count} filter{'' if count == 1 else 's'}"
    print(f"process {pid}: seccomp mode {mode_text}{counted}")
    # The kernel numbers filters from the first installed; people expect 0 = the newest
    # (ptrace(2) says so), which is also the one `seccomp-bpf run` installed last.
    filters = list(reversed(seccomp_filters(pid)))
    if not filters:
        print(f"process {pid}: no filter could be read")
        return 0
    symbols = ArchSymbols(default=arch)
    for number, data in enumerate(filters):
        label = f"filter {number}" + (" (most recent)" if number == 0 and len(filters) > 1 else "")
        line = f"{label}: {len(data) // INSTRUCTION_SIZE} instructions"
        if args.output is not None:
            path = args.output if number == 0 else f"{args.output}.{number}"
            with open(path, "wb") as file:
                file.write(data)
            line += f", written to {path}"
        print(line)
        if args.disasm:
            program = Program.from_bytes(data)
            print(disassemble(program, symbols=symbols, byteorder=arch.byteorder), end="")
    return 0


def _dump_command(argv: list[str], args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import ArchSymbols, get_arch
    from seccomp_bpf.bpf.disassembler import disassemble
    from seccomp_bpf.bpf.instruction import INSTRUCTION_SIZE, Program
    from seccomp_bpf.errors import CommandError, InvalidProgramError
    from seccomp_bpf.kernel.filter_watch import watch_filters
    from seccomp_bpf.run.command import describe_exit, find_executable

    chosen = get_arch(args.arch) if args.arch else None
    try:
        executable = find_executable(argv[0])
    except CommandError as error:
        print(f"{PROG}: {error.strerror}", file=sys.stderr)
        return error.exit_status
    seen: list[LoadedFilter] = []

    def show(loaded: LoadedFilter) -> bool:
        seen.append(loaded)
        number = len(seen)
        count = len(loaded.program) // INSTRUCTION_SIZE
        outcome = "installed" if loaded.installed else f"refused ({_result_text(loaded)})"
        line = (
            f"{PROG}: pid {loaded.pid} ({loaded.arch.name}) {loaded.describe()}: filter "
            f"{number}, {count} instructions, {outcome}"
        )
        if loaded.problem is not None:
            line += f"; {loaded.problem}"
        if args.output is not None and loaded.program:
            path = f"{args.output}.{number}"
            with open(path, "wb") as file:
                file.write(loaded.program)
            line += f", written to {path}"
        print(line, flush=True)
        arch = chosen or loaded.arch
        try:
            program = Program.from_bytes(loaded.program)
        except InvalidProgramError as error:
            print(f"(not a valid program: {error})", flush=True)
        else:
            symbols = ArchSymbols(default=arch)
            print(disassemble(program, symbols=symbols, byteorder=arch.byteorder), end="")
        sys.stdout.flush()
        return args.limit is None or number < args.limit

    status = watch_filters(argv, executable, show)
    if not seen:
        print(f"{PROG}: {argv[0]} installed no seccomp filter", flush=True)
    if status is None:
        return 0  # stopped at --limit
    code, message = describe_exit(argv[0], status)
    if message is not None:
        print(f"{PROG}: {message}", file=sys.stderr)
    return code


def _result_text(loaded: LoadedFilter) -> str:
    import errno as errno_codes

    if loaded.result < 0:
        code = -loaded.result
        return f"{errno_codes.errorcode.get(code, str(code))}: {os.strerror(code)}"
    return f"thread {loaded.result} could not be synchronised"


_REGISTRARS.append(_register_dump)


# --- audit ----------------------------------------------------------------------------------------

_SEVERITIES = ("info", "low", "medium", "high", "critical")


def _register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "audit",
        help="report the weaknesses of a policy or a program",
        description=(
            "Check FILE, a policy (YAML or OCI/Docker JSON) or a program (raw struct "
            "sock_filter records or assembly text), for known weaknesses: a missing "
            "architecture check, other ABIs that get through (i386, x32), a permissive "
            "default, dangerous calls allowed, equivalent calls left open, argument checks "
            "on the wrong half, socketcall/ipc bypasses, EPERM for new calls, unreachable "
            "rules. Each finding has an id (SB001...), a severity and a sentence. Exit "
            "status 1 when a finding reaches the --fail-on severity (or on an error), else 0."
        ),
    )
    parser.add_argument(
        "file", metavar="FILE", help="policy or program file ('-' for standard input)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "sarif"),
        default="text",
        help="one line per finding (default), a JSON object, or a SARIF 2.1.0 log",
    )
    parser.add_argument(
        "--fail-on",
        choices=_SEVERITIES,
        default="high",
        metavar="SEVERITY",
        help=f"exit with 1 when a finding is this bad or worse: {', '.join(_SEVERITIES)} "
        "(default: high)",
    )
    parser.add_argument(
        "--arch",
        action="append",
        metavar="A",
        help=(
            "audit for this architecture (repeatable): a policy's arches are replaced; a "
            "program is examined for these ABIs (the first also names the system calls of "
            "assembly text); default: the policy's own, or what the program checks"
        ),
    )
    parser.set_defaults(handler=_cmd_audit)


def _cmd_audit(args: argparse.Namespace) -> int:
    from seccomp_bpf.explain.audit import (
        Severity,
        audit_policy,
        audit_program,
        format_json,
        format_sarif,
        format_text,
    )
    from seccomp_bpf.policy import Policy as PolicyClass

    subject = _read_filter(args.file, args.arch)
    if isinstance(subject, PolicyClass):
        report = audit_policy(subject)  # read with --arch already: those are its arches
    else:
        report = audit_program(subject, arches=args.arch, source=_source_name(args.file))
    formatters = {"text": format_text, "json": format_json, "sarif": format_sarif}
    sys.stdout.write(formatters[args.format](report))
    return 1 if report.at_least(Severity.parse(args.fail_on)) else 0


_REGISTRARS.append(_register_audit)


# --- convert --------------------------------------------------------------------------------------


def _register_convert(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from seccomp_bpf.formats.export import EXPORT_FORMATS

    parser = sub.add_parser(
        "convert",
        help="convert a policy to another format (YAML, OCI/Docker JSON, raw BPF, C, ...)",
        description=(
            "Read IN (YAML, go-seccomp-bpf YAML or OCI/Docker JSON) and write it as --to: "
            "yaml, oci, docker (OCI with Docker's archMap), raw (struct sock_filter records "
            "for bubblewrap --seccomp FD), c (a C array) or go-seccomp-bpf. A policy that the "
            "target format cannot express exactly is refused with the rule named. Without "
            "--to the format follows OUT's extension (.yaml, .json, .bpf, .h)."
        ),
    )
    parser.add_argument("input", metavar="IN", help="policy file ('-' for standard input)")
    parser.add_argument(
        "-o", "--output", metavar="OUT", default="-", help="where to write (default: stdout)"
    )
    parser.add_argument("--to", choices=EXPORT_FORMATS, help="the output format")
    parser.add_argument(
        "--arch",
        action="append",
        metavar="A",
        help=(
            "architectures to use instead of the policy's (repeatable); for an OCI/Docker "
            "profile, the one machine architecture to resolve it for"
        ),
    )
    parser.set_defaults(handler=_cmd_convert)


def _cmd_convert(args: argparse.Namespace) -> int:
    from seccomp_bpf.formats.export import export_policy, format_for_path

    target = args.to or (format_for_path(args.output) if args.output != "-" else None)
    if target is None:
        return _fail("convert: give --to FORMAT (OUT's extension does not name one)")
    policy = _read_policy_argument(args.input, args.arch)
    notes: list[str] = []
    output = export_policy(policy, target, notes)
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    return 0 if _write_output(output, args.output, target == "raw", "convert") else 1


_REGISTRARS.append(_register_convert)


# --- explain, diff --------------------------------------------------------------------------------


def _read_filter(path: str, arches: Sequence[str] | None) -> Policy | Program:
    """FILE as a policy (YAML, OCI/Docker JSON) or, failing that, as a program (raw
    struct sock_filter records or assembly text, whose names are the first arch's)."""
    from seccomp_bpf.arch import get_arch, native_arch

    subject = _read_policy_or_bytes(path, arches)
    if not isinstance(subject, bytes):
        return subject
    arch = get_arch(arches[0]) if arches else native_arch()
    return _program_from_bytes(subject, _source_name(path), "auto", arch)


def _register_explain(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "explain",
        help="decompile a filter into a policy and describe it",
        description=(
            "Read FILE, a program (raw struct sock_filter records or assembly text) or a "
            "policy (YAML, OCI/Docker JSON), and print it as a YAML policy that compiles back "
            "to the same decisions, then a short summary per architecture: what is allowed, "
            "what is refused and how, what unknown numbers, x32, i386 and foreign "
            "architectures get. What a program does that the model cannot express is said "
            "in comments. With --format both (the default) the whole output is valid YAML."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="program or policy ('-' for standard input)")
    parser.add_argument(
        "--arch",
        action="append",
        metavar="A",
        help=(
            "examine only this architecture (repeatable); for a policy, replaces its "
            "architectures; the first also names the system calls of assembly text"
        ),
    )
    parser.add_argument(
        "--format",
        choices=("yaml", "summary", "both"),
        default="both",
        help="the policy as YAML, the summary, or both (default)",
    )
    parser.set_defaults(handler=_cmd_explain)


def _cmd_explain(args: argparse.Namespace) -> int:
    from seccomp_bpf.explain import decompile, summarize
    from seccomp_bpf.formats.yaml_writer import to_yaml
    from seccomp_bpf.policy import Policy as PolicyClass

    subject = _read_filter(args.file, args.arch)
    source = _source_name(args.file)
    notes: list[str] = []
    if isinstance(subject, PolicyClass):
        policy = subject
        header = [f"{source}: a policy, as read"]
        summary = summarize(policy)
    else:
        decompiled = decompile(subject, args.arch)
        policy = decompiled.policy
        verdict = "exact" if decompiled.exact else "NOT exact, see below"
        header = [f"{source}: a program of {len(subject)} instructions, decompiled ({verdict})"]
        notes = [f"cannot express: {note}" for note in decompiled.unsupported]
        notes += [f"note: {remark}" for remark in decompiled.remarks]
        summary = decompiled.summary
    if args.format == "summary":
        print("\n".join([*header, *summary.lines(), *notes]))
        return 0
    comment = ["# " + line for line in [*header, *notes]]
    out = "\n".join(comment) + "\n" + to_yaml(policy)
    if args.format == "both":
        out += "\n" + "".join(f"# {line}\n" for line in summary.lines())
    sys.stdout.write(out)
    return 0


_REGISTRARS.append(_register_explain)


def _register_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "diff",
        help="compare two policies or programs exactly",
        description=(
            "Decide whether A and B (each a policy or a program, in any mix) decide every "
            "call alike, and print each difference: architecture, system calls, the "
            "argument region, an example call and both actions. With --subset, check that A "
            "allows (allow or log) nothing that B refuses. Exit status: 0 when equivalent "
            "(or the subset holds), 1 when not, 2 on a usage error or unreadable input."
        ),
    )
    parser.add_argument("a", metavar="A", help="policy or program")
    parser.add_argument("b", metavar="B", help="policy or program")
    parser.add_argument(
        "--subset", action="store_true", help="check that A allows nothing B refuses"
    )
    parser.add_argument(
        "--arch",
        action="append",
        metavar="A",
        help="compare only calls of this architecture (repeatable)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=20,
        metavar="N",
        help="print at most N differences (default 20; 0 for all)",
    )
    parser.set_defaults(handler=_cmd_diff)


def _cmd_diff(args: argparse.Namespace) -> int:
    from seccomp_bpf.explain import diff

    try:
        left = _read_filter(args.a, args.arch)
        right = _read_filter(args.b, args.arch)
        result = diff(left, right, args.arch)
    except (SeccompBPFError, OSError) as error:
        name = f"{error.filename}: " if isinstance(error, OSError) and error.filename else ""
        detail = error.strerror if isinstance(error, OSError) and error.strerror else error
        print(f"{PROG}: error: {name}{detail}", file=sys.stderr)
        return 2
    a, b = _source_name(args.a), _source_name(args.b)
    cases = result.subset_violations if args.subset else result.cases
    shown = cases if args.limit <= 0 else cases[: args.limit]
    if args.subset:
        verdict = (
            f"{a} allows nothing that {b} refuses"
            if not cases
            else f"{a} allows calls that {b} refuses ({len(cases)} cases)"
        )
    else:
        plural = "s" if len(cases) != 1 else ""
        verdict = "equivalent" if not cases else f"{len(cases)} difference{plural} ({a} vs {b})"
    lines = [verdict, *(case.describe() for case in shown)]
    if len(shown) < len(cases):
        lines.append(f"... and {len(cases) - len(shown)} more (--limit 0 shows all)")
    if not result.exact:
        lines += [f"not exact: {note}" for note in result.notes]
    print("\n".join(lines))
    return 0 if not cases else 1


_REGISTRARS.append(_register_diff)
