"""The commands over :mod:`seccomp_bpf.explain`: ``audit``, ``explain`` and ``diff``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from seccomp_bpf.cli.arguments import (
    PROG,
    _read_filter,
    _source_name,
)
from seccomp_bpf.errors import SeccompBPFError

if TYPE_CHECKING:
    pass


_SEVERITIES = ("info", "low", "medium", "high", "critical")


def register_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def register_explain(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
            "architectures; the first also names the system calls of assembly text, and a "
            "raw program is read in its byte order"
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


def register_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
