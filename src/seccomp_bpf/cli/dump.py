"""``seccomp-bpf dump``: the filters of a running process, or of a command as it installs
them (:mod:`seccomp_bpf.kernel`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from seccomp_bpf.cli.arguments import (
    PROG,
    _fail,
)

if TYPE_CHECKING:
    from seccomp_bpf.kernel.filter_watch import LoadedFilter


def _pid(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a process id: {text!r}")
    return value


def register_dump(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    from seccomp_bpf.kernel.child import describe_exit, find_executable
    from seccomp_bpf.kernel.filter_watch import watch_filters

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
