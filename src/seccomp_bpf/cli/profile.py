"""``seccomp-bpf profile``: write the allowlist a command needs, by running it or by reading
its code (:mod:`seccomp_bpf.profiling`)."""

from __future__ import annotations

import argparse

from seccomp_bpf.cli.arguments import (
    _command_argument,
    _command_of,
    _fail,
)


def register_profile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        help="always allow these calls, @groups or @FILE lists (one name a line, # comments), "
        "seen or not; a name only other architectures have is ignored with a note",
    )
    parser.add_argument(
        "--deny",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME",
        help="never allow these calls, @groups or @FILE lists, even when seen",
    )
    parser.add_argument(
        "--follow-daemons",
        action="store_true",
        help="also record the processes CMD leaves running, and wait until they end",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line and no summary"
    )
    records = parser.add_argument_group(
        "profiles from records: the calls a log or strace shows, instead of running CMD "
        "(no argument is known: each call is allowed whatever its arguments)"
    )
    source = records.add_mutually_exclusive_group()
    source.add_argument(
        "--from-log",
        metavar="FILE",
        help="the kernel's seccomp audit records in FILE (/var/log/audit/audit.log, "
        "journalctl -k or dmesg; '-': standard input), such as those of a run under a policy "
        "whose default action is log",
    )
    source.add_argument(
        "--from-strace",
        metavar="FILE",
        help="what strace wrote to FILE ('-': standard input): the table of strace -c (or "
        "-C), or the call lines of strace [-f]; 32-bit and x32 processes are told apart",
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
        if args.from_log or args.from_strace:
            return _fail("profile: --static reads a program; --from-log and --from-strace a file")
        return _cmd_profile_static(args)
    if args.from_log is not None or args.from_strace is not None:
        return _cmd_profile_records(args)
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


def _cmd_profile_records(args: argparse.Namespace) -> int:
    from seccomp_bpf.profiling.records import RecordsOptions, run_records_profile

    option = "--from-log" if args.from_log is not None else "--from-strace"
    if _command_of(args):
        return _fail(f"profile: {option} FILE reads the file; give no -- CMD with it")
    running_only = [
        flag
        for flag, value in (("--args", args.args), ("--no-args", args.no_args),
                            ("--follow-daemons", args.follow_daemons),
                            ("--mode", args.mode != "ptrace"), ("--dlopen", args.dlopen),
                            ("--library-path", args.library_path), ("--sysroot", args.sysroot),
                            ("--arch", args.arch), ("--no-cache", args.no_cache),
                            ("--cache-dir", args.cache_dir))
        if value
    ]  # fmt: skip
    if running_only:
        return _fail(f"profile: {running_only[0]} does not go with {option}")
    return run_records_profile(
        RecordsOptions(
            path=args.from_log if args.from_log is not None else args.from_strace,
            kind="log" if args.from_log is not None else "strace",
            output=args.output,
            output_format=args.format,
            frequency=args.frequency,
            merge=args.merge,
            allow=args.allow,
            deny=args.deny,
            quiet=args.quiet,
        )
    )
