"""``seccomp-bpf denials``: the kernel's seccomp audit records, decoded
(:mod:`seccomp_bpf.formats.audit_records`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from seccomp_bpf.cli.arguments import _fail

if TYPE_CHECKING:
    from seccomp_bpf.formats.audit_records import SeccompRecord

_POLL_SECONDS = 0.5  # how often --follow looks for more of a file


def register_denials(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "denials",
        help="decode the kernel's seccomp audit records (audit.log, journalctl -k, dmesg, "
        "or live from /dev/kmsg)",
        description=(
            "Read the kernel's seccomp audit records (type 1326, AUDIT_SECCOMP) from FILE or, "
            "without FILE, from the kernel's log (/dev/kmsg), and print each decoded: time, "
            "pid, command, executable, ABI, system call, action and instruction pointer. "
            "FILE may be /var/log/audit/audit.log or what journalctl -k or dmesg print; "
            "other lines are passed over. The kernel writes a record for the kill actions "
            "and log, and for the other actions of a filter installed with "
            "SECCOMP_FILTER_FLAG_LOG (a policy's flags: [log]), when the action's name is in "
            "/proc/sys/kernel/seccomp/actions_logged; records of log are shown with the "
            "denials. An audit daemon, when one runs, takes the records from the kernel's "
            "log into its own file."
        ),
    )
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help="the log to read ('-': standard input)"
    )
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="after the records there are, wait for new ones (until interrupted)",
    )
    parser.add_argument(
        "--since",
        metavar="TIME",
        help="only records from TIME on: a date and time (2026-12-05 02:30, local), "
        "@SECONDS since the epoch, 'today', or a time back from now (90s, 10m, 2h, 1d)",
    )
    parser.add_argument(
        "--pid", type=int, action="append", default=[], help="only this process (repeatable)"
    )
    parser.add_argument(
        "--comm",
        action="append",
        default=[],
        metavar="NAME",
        help="only processes of this command name, as the kernel knows it (comm, at most 15 "
        "characters; repeatable)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text, or one JSON object "
        "a line (default text)"
    )  # fmt: skip
    parser.set_defaults(handler=_cmd_denials)


def _lines(path: str | None, follow: bool) -> Iterator[str]:
    """The lines to read: the kernel's log, standard input or a file (followed as
    ``tail -f`` does)."""
    import time

    if path is None:
        from seccomp_bpf.kernel.kmsg import kernel_messages

        yield from kernel_messages(follow=follow)
        return
    if path == "-":
        yield from sys.stdin
        return
    with open(path, encoding="utf-8", errors="backslashreplace") as file:
        pending = ""
        while True:
            line = file.readline()
            if line.endswith("\n"):
                yield pending + line
                pending = ""
            elif line:
                pending += line  # a line still being written
            elif not follow:
                if pending:
                    yield pending
                return
            else:
                time.sleep(_POLL_SECONDS)


def _show(record: SeccompRecord, as_json: bool) -> None:
    import json

    text = json.dumps(record.to_json(), sort_keys=False) if as_json else str(record)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _cmd_denials(args: argparse.Namespace) -> int:
    from seccomp_bpf.formats.audit_records import RecordFilter, parse_since, read_records

    try:
        since = None if args.since is None else parse_since(args.since)
    except ValueError as error:
        return _fail(f"denials: {error}")
    keep = RecordFilter(since=since, pids=args.pid, comms=args.comm)
    source = args.file if args.file not in (None, "-") else (
        "standard input" if args.file == "-" else "/dev/kmsg"
    )  # fmt: skip
    shown = 0
    for record in read_records(_lines(args.file, args.follow), source):
        if keep(record):
            _show(record, args.format == "json")
            shown += 1
    if not shown and args.format == "text":
        print(f"seccomp-bpf: denials: no seccomp audit record in {source}", file=sys.stderr)
    return 0
