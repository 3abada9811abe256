"""``seccomp-bpf run``: run a command in a sandbox, under a policy (:mod:`seccomp_bpf.run`)."""

from __future__ import annotations

import argparse
import os
import sys

from seccomp_bpf.cli.arguments import (
    PROG,
    _command_argument,
    _command_of,
    _fail,
    _read_input,
    _source_name,
)
from seccomp_bpf.errors import SandboxError

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing


if TYPE_CHECKING:
    from seccomp_bpf.bpf.instruction import Program
    from seccomp_bpf.policy import Policy
    from seccomp_bpf.policy.sandbox import Sandbox
    from seccomp_bpf.run.command import CompiledPolicy


def register_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        "--complain",
        action="store_true",
        help="trial the policy instead of enforcing it: each call it would stop (denial, "
        "kill, trap...) is reported once per rule and then runs; at the end, each with its "
        "count and the first call's arguments (ENOSYS fallbacks are still answered, so that "
        "CMD takes the path it will take under the policy). This protects nothing the "
        "policy would deny: only the sandbox's other layers are in force",
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
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="compile the policy afresh: neither the precompiled default nor the user's cache "
        "of compiled policies (~/.cache/seccomp-bpf; SECCOMP_BPF_CACHE=0 turns it off too)",
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
    given = args.program is not None or args.program_fd is not None
    if given and args.arch:
        return _fail("run: --arch applies to a policy; a compiled program has its own")
    supervised = "--complain" if args.complain else "--report-denials"
    if (args.report_denials or args.complain) and (
        given or args.no_fork or args.executable or args.die_with
    ):
        return _fail(
            f"run: {supervised} needs a policy (-p) and a command run in a forked "
            "child (no --program, --program-fd, --no-fork, --executable or --die-with)"
        )
    if args.die_with is not None and args.die_with != os.getppid():
        return _fail(
            f"run: --die-with {args.die_with}: that process is not (or no longer) the parent "
            "of seccomp-bpf; nothing was run"
        )
    try:
        options = _sandbox_options(args)
        if args.report_denials or args.complain:
            policy = running.load_policy(args.policy, args.arch)
            sandbox = policy.sandbox.combined(options) if policy.sandbox else options
            return _run_with_reports(argv, policy, sandbox, args.show_layers, args.complain)
        compiled: CompiledPolicy | None = None
        program: Program | None = None
        if args.program_fd is not None:
            program = running.read_program_fd(args.program_fd)
        elif args.program is not None:
            data = _read_input(args.program)
            program = running.read_program_bytes(data, _source_name(args.program))
        else:
            compiled = running.compiled_policy(args.policy, args.arch, cache=not args.no_cache)
        own = compiled.sandbox if compiled is not None else None
        sandbox = own.combined(options) if own is not None else options
        prepared = running.prepare(
            argv,
            program=program,
            compiled=compiled,
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


def _run_with_reports(
    argv: list[str], policy: Policy, sandbox: Sandbox, show: bool, complain: bool
) -> int:
    from seccomp_bpf.run import command as running
    from seccomp_bpf.run.supervisor import run_with_reports

    if not complain:
        # The checks of every run (the kernel's actions, the exec allowed); in complain mode
        # the filter has only allow, log and user_notif, and a denied exec runs too.
        running.prepare(argv, policy=policy, sandbox=False)
    return run_with_reports(argv, policy, sandbox=sandbox, show_layers=show, complain=complain)
