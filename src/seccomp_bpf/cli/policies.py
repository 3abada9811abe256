"""The commands over policy files: ``check``, ``compile``, ``convert``, ``policy show|groups``."""

from __future__ import annotations

import argparse
import sys

from seccomp_bpf.cli.arguments import (
    PROG,
    _fail,
    _policy_from_bytes,
    _program_format_argument,
    _read_input,
    _read_policy_argument,
    _source_name,
    _write_output,
)


def register_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    unknown, newer = policy.unknown_syscall_action, policy.newer_syscall_action
    print(
        f"actions: default {policy.default_action.describe()}; "
        + (f"numbers no table knows {unknown.describe()}; " if unknown is not None else "")
        + (f"numbers above the highest named {newer.describe()}; " if newer is not None else "")
        + f"other architectures {policy.bad_arch_action.describe()}"
    )
    for note in policy.notes:
        print(f"note: {note}")
    return 0


def register_compile(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "compile",
        help="compile a policy into a seccomp filter",
        description=(
            "Compile POLICY (YAML, go-seccomp-bpf YAML or OCI/Docker JSON) into one classic-BPF "
            "program for all its architectures. Raw output is in their byte order, as the "
            "kernel that loads it reads it (big-endian for s390x, ppc64, mips...); a policy "
            "whose architectures have both byte orders is compiled to raw bytes one byte "
            "order at a time (--arch)."
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
        "--search",
        choices=("balanced", "compact"),  # seccomp_bpf.compiler.SEARCHES, not imported for --help
        default="balanced",
        help="how sets of argument values are tested: balanced (default; worst path about "
        "2 log2 n, a few more instructions) or compact (fewest instructions; worst path n)",
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
    from seccomp_bpf.formats.export import program_byteorder
    from seccomp_bpf.formats.program_output import render_program

    policy = _read_policy_argument(args.policy, args.arch)
    frequency = load_frequency(args.frequency) if args.frequency else None
    program = compile_policy(
        policy, frequency=frequency, optimize=not args.no_optimize, search=args.search
    )
    first = policy.resolved_arches()[0]
    symbols = ArchSymbols(default=first)
    # raw records are in the target's byte order, which must be one (program_byteorder)
    byteorder = program_byteorder(policy) if args.format == "raw" else first.byteorder
    output = render_program(program, args.format, symbols=symbols, byteorder=byteorder)
    if not _write_output(output, args.output, binary=args.format == "raw", command="compile"):
        return 1
    if args.stats:
        for line in program_statistics(program, policy).lines():
            print(line, file=sys.stderr)
    return 0


def register_policy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "policy",
        help="show a policy by name or file, list the named policies, or the system call groups",
        description="Show a named policy (the built-in default, one an installed package "
        "ships) or a policy file, list the named policies, or list the groups "
        "(@network, @file-system..., and systemd's SystemCallFilter= groups: @system-service, "
        "@signal..., @systemd:NAME) that policies can name.",
    )
    actions = parser.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print a policy",
        description="Print the built-in policy NAME ('default') as it is written, another "
        "named policy as YAML, or check the policy file PATH and print it as it is written.",
    )
    show.add_argument(
        "policy", metavar="NAME|PATH", help="a policy's name ('default'...), or a policy file"
    )
    show.set_defaults(handler=_cmd_policy_show)
    listing = actions.add_parser(
        "list",
        help="list the policies known by name and where each comes from",
        description="List the named policies -p NAME, compile NAME and install(NAME) find: "
        "the built-in ones, then those installed packages ship through the "
        "'seccomp_bpf.policies' entry points (with their distribution), and any that cannot "
        "be used (shadowed by a built-in name, shipped by two distributions).",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per policy")
    listing.set_defaults(handler=_cmd_policy_list)
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
    from seccomp_bpf.policies.default import builtin_policy_text
    from seccomp_bpf.policies.registry import check_file_or_name, find_policy

    named = find_policy(args.policy, files_first=True)
    if named is not None and named.origin == "built-in":
        text = builtin_policy_text(args.policy)
    elif named is not None:
        from seccomp_bpf.formats.yaml_writer import to_yaml

        text = to_yaml(named.policy())
    else:
        check_file_or_name(args.policy)
        from seccomp_bpf.formats.yaml_policy import decode_policy_bytes

        source = _source_name(args.policy)
        data = _read_input(args.policy)
        _policy_from_bytes(data, source, None)  # refuse what is no valid policy
        text = decode_policy_bytes(data, source)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _cmd_policy_list(args: argparse.Namespace) -> int:
    import json

    from seccomp_bpf.policies.registry import named_policies

    entries = named_policies()
    if args.json:
        for entry in entries:
            fields = {
                "name": entry.name,
                "origin": entry.origin,
                "where": entry.where,
                "distribution": entry.distribution,
                "problem": entry.problem,
            }
            print(json.dumps(fields))
        return 0
    rows = []
    for entry in entries:
        origin = entry.origin
        if entry.origin == "entry point" and entry.distribution:
            origin += f" of {entry.distribution}"
        where = entry.where + (f": {entry.problem}" if entry.problem else "")
        rows.append((entry.name, origin, where))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for name, origin, where in rows:
        print(f"{name:<{widths[0]}}  {origin:<{widths[1]}}  {where}")
    return 0


def _cmd_policy_groups(args: argparse.Namespace) -> int:
    from seccomp_bpf.policy.groups import get_group, groups_markdown, groups_text

    if args.markdown:
        if args.names:
            return _fail("policy groups: --markdown prints every group; give no NAME")
        sys.stdout.write(groups_markdown())
        return 0
    for name in args.names:
        get_group(name)  # an unknown name fails before anything is printed
    print(groups_text(args.names))
    return 0


def register_convert(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from seccomp_bpf.formats.export import EXPORT_FORMATS

    parser = sub.add_parser(
        "convert",
        help="convert a policy to another format (YAML, OCI/Docker JSON, raw BPF, C, ...)",
        description=(
            "Read IN (YAML, go-seccomp-bpf YAML, OCI/Docker JSON or a SeccompProfile) and "
            "write it as --to: "
            "yaml, oci, docker (OCI with Docker's archMap), kubernetes (the Security "
            "Profiles Operator's SeccompProfile), raw (struct sock_filter records "
            "for bubblewrap --seccomp FD, in the byte order of the policy's architectures: "
            "big-endian for s390x, ppc64, mips...; one byte order per program), c (a C "
            "array) or go-seccomp-bpf. A policy that the "
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
    parser.add_argument(
        "--name",
        help="the name of the written policy (a SeccompProfile's metadata.name; default: the "
        "policy's, or IN's file name)",
    )
    parser.set_defaults(handler=_cmd_convert)


def _cmd_convert(args: argparse.Namespace) -> int:
    from seccomp_bpf.formats.export import export_policy, format_for_path

    target = args.to or (format_for_path(args.output) if args.output != "-" else None)
    if target is None:
        return _fail("convert: give --to FORMAT (OUT's extension does not name one)")
    policy = _read_policy_argument(args.input, args.arch)
    if args.name is not None:
        import dataclasses

        policy = dataclasses.replace(policy, name=args.name)
    notes: list[str] = []
    output = export_policy(policy, target, notes)
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    return 0 if _write_output(output, args.output, target == "raw", "convert") else 1
