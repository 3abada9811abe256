"""``seccomp-bpf profile``: what the command line does around :func:`profile`.

- Before the command runs: the policies to merge are read, the ``--allow``/``--deny`` names
  and the ``--args`` specs are checked, the command is looked up; any error stops here.
- While it runs: its standard input, output and error are its own; on a terminal, a progress
  line on standard error (calls, distinct calls, processes, threads), refreshed at most four
  times a second and erased at the end. SIGHUP, SIGINT, SIGQUIT and SIGTERM sent to
  ``seccomp-bpf`` are passed on to the command.
- After: the policy goes to ``-o`` (default ``seccomp-profile.yaml``, or
  ``seccomp-profile.json`` with ``--format oci``; ``-`` is standard output), the frequency
  profile to ``--frequency``, and one summary line to standard error. The exit status is the
  command's (128+N when a signal N killed it, reported as ``seccomp-bpf run`` does).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, TextIO

from seccomp_bpf.errors import CommandError
from seccomp_bpf.policy import Policy
from seccomp_bpf.profiling.generate import GeneratedPolicy
from seccomp_bpf.profiling.name_lists import expand_names
from seccomp_bpf.profiling.output import frequency_json, policy_oci, policy_yaml
from seccomp_bpf.profiling.profiler import Progress, argument_specs, profile, profiled_arches

PROG: Final = "seccomp-bpf"
DEFAULT_OUTPUT: Final = {"yaml": "seccomp-profile.yaml", "oci": "seccomp-profile.json"}


@dataclass
class ProfileOptions:
    """The command line's options, as :func:`run_profile` takes them."""

    command: Sequence[str]
    output: str | None = None
    output_format: str = "yaml"
    frequency: str | None = None
    mode: str = "ptrace"
    args_of: Sequence[str] = ()
    no_args: bool = False
    merge: Sequence[str] = ()
    allow: Sequence[str] = ()
    deny: Sequence[str] = ()
    follow_daemons: bool = False
    quiet: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)


class ProgressLine:
    """One line on a terminal, rewritten in place."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        self.stream.write(f"\r\x1b[K{PROG} profile: {progress}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _say(stream: TextIO, message: str) -> None:
    stream.write(f"{PROG}: {message}\n")
    stream.flush()


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def write_policy(
    generated: GeneratedPolicy, output_format: str, output: str, stream: TextIO
) -> None:
    """Write the policy to ``output`` (``-``: standard output) as YAML or OCI JSON, saying on
    ``stream`` what the OCI format made change and what was ignored of the options."""
    for remark in generated.remarks:
        _say(stream, f"profile: {remark}")
    if output_format == "oci":
        text, changes = policy_oci(generated)
        for change in changes:
            _say(stream, f"profile: OCI profile: {change}")
    else:
        text = policy_yaml(generated)
    _write(output, text)


def run_profile(options: ProfileOptions) -> int:
    """Profile the command and write the outputs; the exit status to leave with."""
    from seccomp_bpf.formats import read_policy_file
    from seccomp_bpf.kernel.child import describe_exit

    stream = options.stream
    argv = list(options.command)
    if not argv:
        raise ValueError("give the command after --, e.g. seccomp-bpf profile -- ls")
    # Everything that can fail before the command runs.
    merged: list[Policy] = [read_policy_file(path) for path in options.merge]
    arches = profiled_arches()
    for policy in merged:
        for arch in policy.resolved_arches():
            if arch not in arches:
                arches = (*arches, arch)
    expand_names(options.allow, arches, "--allow")
    expand_names(options.deny, arches, "--deny")
    # --args adds to the default set; --no-args leaves only what --args names.
    defaults = () if options.no_args else argument_specs(None)
    args_of = (*defaults, *argument_specs(options.args_of))
    output = options.output or DEFAULT_OUTPUT[options.output_format]

    line = ProgressLine(stream) if not options.quiet and stream.isatty() else None
    try:
        trace = profile(
            argv,
            mode=options.mode,
            args_of=args_of,
            follow_daemons=options.follow_daemons,
            progress=line,
            forward_signals=True,
        )
    except CommandError as error:
        if line is not None:
            line.clear()
        _say(stream, str(error.strerror))
        return error.exit_status
    finally:
        if line is not None:
            line.clear()  # erased before any message, whatever happened
    # An OCI profile's entries name a call for every architecture at once.
    generated = trace.generate(
        allow=options.allow,
        deny=options.deny,
        merge=merged,
        per_abi=options.output_format != "oci",
    )
    written = [f"policy to {'standard output' if output == '-' else output}"]
    write_policy(generated, options.output_format, output, stream)
    if options.frequency is not None:
        _write(options.frequency, frequency_json(trace))
        written.append(f"frequencies to {options.frequency}")
    code, message = describe_exit(argv[0], trace.wait_status or 0)
    if message is not None:
        _say(stream, message)
    if not options.quiet:
        rules = len(generated.policy.rules)
        _say(
            stream,
            f"profile: {trace.describe()} in {trace.seconds:.2f} s; {rules} rules; wrote "
            + " and ".join(written),
        )
    return code
