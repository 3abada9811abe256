"""Write what the profiler generated: the policy as YAML or OCI JSON, and the frequencies.

The YAML is the project's format as :func:`seccomp_bpf.formats.yaml_writer.to_yaml` writes
it (so it reads back into the same policy), with comments: a header saying how it was made,
and above each rule its group (``@file-system: ...``) and the calls with their counts.
"""

from __future__ import annotations

import dataclasses
import json

from seccomp_bpf.formats.yaml_writer import to_yaml
from seccomp_bpf.policy import KILL_THREAD, ActionKind, Rule
from seccomp_bpf.profiling.generate import GeneratedPolicy
from seccomp_bpf.profiling.trace import SyscallTrace

FORMATS = ("yaml", "oci")


def _comment(text: str, indent: str = "") -> str:
    """One comment line; a line break in ``text`` (a ``python -c`` script) is written as
    ``\\n``, since the next line would not be a comment."""
    safe = text.replace("\r", "\\r").replace("\n", "\\n")
    return f"{indent}# {safe}".rstrip()


def policy_yaml(generated: GeneratedPolicy) -> str:
    """The policy in YAML, grouped and commented (see the module docstring)."""
    text = to_yaml(generated.policy)
    lines = text.splitlines()
    out = [_comment(line) for line in generated.header]
    rule = -1
    for line in lines:
        if line.startswith("  - "):
            rule += 1
            note = generated.notes[rule]
            if rule:
                out.append("")
            out.append(_comment(note.heading, "  "))
            out.extend(_comment("  " + extra, "  ") for extra in note.lines)
        out.append(line)
    if rule != len(generated.notes) - 1:
        raise AssertionError(f"the YAML has {rule + 1} rules, the policy {len(generated.notes)}")
    return "\n".join(out) + "\n"


def policy_oci(generated: GeneratedPolicy) -> tuple[str, list[str]]:
    """The policy as an OCI runtime-spec profile (JSON), and what had to change for it.

    An OCI profile's entries name a call for every architecture at once: generate the policy
    with ``per_abi=False``, or the writer refuses a call allowed on some ABIs only.

    runc leaves libseccomp's bad-architecture action, which kills the thread: the profile
    says so too (``kill_thread``). Numbers without a name cannot be written: they are left
    out, and a call made with them then gets the profile's default action. On ABIs with
    ``socketcall``/``ipc`` (i386), libseccomp mirrors a rule on ``socket`` onto the
    multiplexer by itself, where its argument conditions cannot apply: such a rule is written
    without them (the YAML policy keeps them on the ABIs where they work).
    """
    from seccomp_bpf.formats.oci_writer import to_oci_json

    policy = generated.policy
    changes: list[str] = []
    if policy.bad_arch_action.kind is not ActionKind.KILL_THREAD:
        changes.append("calls of other architectures kill the thread (what runc does)")
        policy = dataclasses.replace(policy, bad_arch_action=KILL_THREAD)
    arches = policy.resolved_arches()
    rules: list[Rule] = []
    for rule in policy.rules:
        names = tuple(s for s in rule.syscalls if isinstance(s, str))
        multiplexed = [
            name for name in names if any(name in a.socketcall or name in a.ipc for a in arches)
        ]
        if rule.when is not None and multiplexed:
            changes.append(
                f"{', '.join(multiplexed)} allowed whatever the arguments: libseccomp mirrors "
                "it onto socketcall/ipc, where its conditions cannot apply"
            )
            rule = dataclasses.replace(rule, when=None)
        dropped = [str(s) for s in rule.syscalls if not isinstance(s, str)]
        if dropped:
            changes.append("system call numbers without a name left out: " + ", ".join(dropped))
        if names:
            rules.append(dataclasses.replace(rule, syscalls=names))
    policy = dataclasses.replace(policy, rules=tuple(rules), multiplexer_conditions="error")
    return to_oci_json(policy), changes


def frequency_json(trace: SyscallTrace) -> str:
    """The frequency profile (:meth:`SyscallTrace.frequency`) as JSON text."""
    return json.dumps(trace.frequency(), indent=2) + "\n"
