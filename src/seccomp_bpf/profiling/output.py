"""Write what the profiler generated: the policy as YAML or OCI JSON, and the frequencies.

The YAML is the project's format as :func:`seccomp_bpf.formats.yaml_writer.to_yaml` writes
it (so it reads back into the same policy), with comments: a header saying how it was made,
and above each rule its group (``@file-system: ...``) and the calls with their counts.
"""

from __future__ import annotations

import dataclasses
import json

from seccomp_bpf.formats.yaml_writer import to_yaml
from seccomp_bpf.policy import Rule
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
    """The policy as an OCI runtime-spec profile (JSON), and what differs from the YAML.

    An OCI profile's entries name a call for every architecture at once: generate the policy
    with ``per_abi=False``, or the writer refuses a call allowed on some ABIs only.

    The profile's default action is the policy's, ``errno(EPERM)``, as for every call the
    YAML does not list: a profile has no field for the numbers no table knows (the YAML's
    ``errno(ENOSYS)``), and making ENOSYS its default would list every other call with
    EPERM, and the complement of every argument rule, one entry per value (runc answers
    ENOSYS itself for calls newer than the profile). ``clone3`` fails with ENOSYS in both.
    Numbers without a name cannot be written: they are left out, and a call made with them
    then gets the default action. What the runtime does otherwise (runc kills the thread for
    a call of another architecture) is said too. Argument rules stay: libseccomp mirrors a
    rule on ``socket`` onto ``socketcall`` without its conditions, which is the YAML's
    ``multiplexer_conditions: drop``.
    """
    from seccomp_bpf.formats.oci_writer import to_oci_json

    policy = generated.policy
    changes: list[str] = []
    if policy.unknown_syscall_action is not None or policy.newer_syscall_action is not None:
        changes.append(
            "numbers no table knows and calls newer than those the policy names get "
            "errno(EPERM) as every call not listed (a profile has no field for them; runc "
            "answers ENOSYS for calls newer than the profile names)"
        )
    rules: list[Rule] = []
    for rule in policy.rules:
        names = tuple(s for s in rule.syscalls if isinstance(s, str))
        dropped = [str(s) for s in rule.syscalls if not isinstance(s, str)]
        if dropped:
            changes.append("system call numbers without a name left out: " + ", ".join(dropped))
        if names:
            rules.append(dataclasses.replace(rule, syscalls=names))
    policy = dataclasses.replace(
        policy, rules=tuple(rules), unknown_syscall_action=None, newer_syscall_action=None
    )
    text = to_oci_json(policy, notes=changes)
    return text, changes


def frequency_json(trace: SyscallTrace) -> str:
    """The frequency profile (:meth:`SyscallTrace.frequency`) as JSON text."""
    return json.dumps(trace.frequency(), indent=2) + "\n"
