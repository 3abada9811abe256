"""The commands over programs: ``disasm``, ``asm`` and ``emu``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from seccomp_bpf.cli.arguments import (
    _arch_argument,
    _fail,
    _program_format_argument,
    _program_from_bytes,
    _read_policy_or_bytes,
    _read_program_file,
    _source_name,
    _write_output,
)

if TYPE_CHECKING:
    from seccomp_bpf.arch import Arch


_PROGRAM_FORMATS = ("auto", "raw", "text")


def register_disasm(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        help="FILE holds raw struct sock_filter records (in ARCH's byte order) or assembly "
        "text (default: auto)",
    )
    parser.set_defaults(handler=_cmd_disasm)


def _cmd_disasm(args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import ArchSymbols, get_arch
    from seccomp_bpf.bpf.disassembler import dis

    arch = get_arch(args.arch)
    program = _read_program_file(args.file, args.format, arch)
    dis(program, symbols=ArchSymbols(default=arch), byteorder=arch.byteorder)
    return 0


def register_asm(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "asm",
        help="assemble pseudo-code into a raw filter",
        description=(
            "Assemble pseudo-code (a `seccomp-bpf disasm` listing, or hand-written text with "
            "labels and comments) into a validated program: raw struct sock_filter records "
            "in ARCH's byte order (the default), a C array, hex, or the listing."
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


def register_emu(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "emu",
        help="run a filter on one system call, as the kernel would",
        description=(
            "Run the filter in FILE (raw or assembly text) on the system call NR of ARCH with "
            "the given arguments, and print the result and the number of instructions run."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="program file ('-' for standard input)")
    _arch_argument(
        parser,
        "the architecture making the call, for seccomp_data.arch (a raw FILE is read in its "
        "byte order)",
    )
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
