"""Write a :class:`Policy` in the YAML format of :mod:`seccomp_bpf.formats.yaml_policy`.

The output reads back into an equal policy (``load_yaml_policy(to_yaml(p)) == p``), with two
exceptions that change nothing a filter decides: an empty ``All`` (always true) or ``Any``
(never true), which the format has no spelling for, is written as a comparison that always
(or never) holds, ``(arg0 & 0) == 0``; and a name listed twice in one rule is written once
(the reader refuses the repetition).

The order is stable: the policy's keys in the order of the format's documentation, rules in
policy order, names and values as the rules hold them. Comments say where each rule came
from when the policy was read from a file, what its reader noted, and what an empty
combinator became; errnos are written by name where the name reads back. Numbers are
written in decimal below 10 and in hex above; values are the unsigned numbers the model
holds (``-1`` of width 32 is ``0xffffffff``).
"""

from __future__ import annotations

import json
import re
from typing import Final

from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.policy.actions import Action, errno_name
from seccomp_bpf.policy.conditions import All, Any, Comparison, Condition, Not
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import rule_label
from seccomp_bpf.policy.rules import Rule
from seccomp_bpf.policy.sandbox import ACCESS_MODES, Sandbox

_PLAIN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.+-]*")
# Words YAML 1.1 (PyYAML) reads as something other than text.
_RESERVED: Final = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
)
_LINE: Final = 96
# (arg0 & 0) == 0 holds for every call: the spelling of an empty All; Not of it, of an empty Any.
_ALWAYS: Final = "{arg: 0, op: bits_clear, value: 0}"


# A character beyond U+FFFF, as JSON escapes it (a UTF-16 surrogate pair).
_SURROGATE_PAIR: Final = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def _astral(match: re.Match[str]) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


def scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as the same text."""
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    # A JSON string is a YAML double-quoted scalar, except that YAML reads a surrogate pair
    # as two characters: a character beyond U+FFFF is written \UXXXXXXXX instead.
    return _SURROGATE_PAIR.sub(_astral, json.dumps(text))


def number(value: int) -> str:
    """``7``, ``0x7fff``: decimal below 10, hex above (YAML reads both as integers)."""
    return str(value) if 0 <= value < 10 else hex(value)


def action_text(action: Action) -> str:
    """The action as the format writes it: errnos by name where the name reads back."""
    if action.kind is SeccompAction.ERRNO:
        name = errno_name(action.data)
        if name is not None and Action.parse(f"errno({name})") == action:
            return f"errno({name})"
    return str(action)


def _comparison(cmp: Comparison) -> str:
    target = "ip: true" if cmp.arg is None else f"arg: {cmp.arg}"
    value, mask = cmp.parameters()
    if isinstance(value, tuple):
        shown = "[" + ", ".join(number(v) for v in value) + "]"
    else:
        shown = number(value)
    parts = [target, f"op: {cmp.operation}", f"value: {shown}"]
    if mask is not None:
        parts.append(f"mask: {number(mask)}")
    if cmp.width != 64:
        parts.append(f"width: {cmp.width}")
    return "{" + ", ".join(parts) + "}"


def _condition_lines(condition: Condition, column: int) -> list[str]:
    """YAML for a condition whose first token starts at ``column``: the first line carries no
    indentation (it follows ``when:`` or a dash), the others are indented absolutely. A
    comparison is a flow mapping; ``all``/``any``/``not`` are blocks."""
    if isinstance(condition, Comparison):
        return [_comparison(condition)]
    if isinstance(condition, Not):
        inner = condition.condition
        if isinstance(inner, (All, Any)) and not inner.conditions:
            # not(empty all) never holds, not(empty any) always does
            return _condition_lines(Any(()) if isinstance(inner, All) else All(()), column)
        if isinstance(inner, Comparison):
            return ["{not: " + _comparison(inner) + "}"]
        body = _condition_lines(inner, column + 2)
        return ["not:", " " * (column + 2) + body[0], *body[1:]]
    if not condition.conditions:
        if isinstance(condition, All):
            return [_ALWAYS + "  # always true (an empty 'all')"]
        return ["{not: " + _ALWAYS + "}  # never true (an empty 'any')"]
    word = "all" if isinstance(condition, All) else "any"
    lines = [f"{word}:"]
    for part in condition.conditions:
        body = _condition_lines(part, column + 4)
        lines.append(" " * (column + 2) + "- " + body[0])
        lines.extend(body[1:])
    return lines


def _flow_list(items: list[str], indent: str, key: str) -> list[str]:
    """``key: [a, b, ...]`` wrapped at the line width, continuation lines indented deeper
    (a flow sequence may span lines inside a block mapping)."""
    lines: list[str] = []
    current = f"{indent}{key}: ["
    for position, item in enumerate(items):
        piece = item + (", " if position < len(items) - 1 else "]")
        if len(current) + len(piece.rstrip()) > _LINE and not current.endswith("["):
            lines.append(current.rstrip())
            current = indent + "    "
        current += piece
    if not items:
        current += "]"
    lines.append(current)
    return lines


def _real_file(source: str) -> bool:
    """Whether ``source`` names a file (``<string>``, ``<stdin>`` do not)."""
    return not source.startswith("<")


def _rule_lines(index: int, rule: Rule) -> list[str]:
    lines: list[str] = []
    if rule.location is not None and _real_file(rule.location.file):
        lines.append(f"  # {rule_label(index, rule)}")
    names: list[str] = []
    for syscall in dict.fromkeys(rule.syscalls):  # a name twice in one rule means it once
        if isinstance(syscall, str):
            names.append(scalar(syscall))
        else:  # a number, or a range written "FIRST..LAST" (a string to YAML)
            names.append(str(syscall) if isinstance(syscall, int) else scalar(str(syscall)))
    block = _flow_list(names, "    ", "names")
    block[0] = "  - " + block[0].lstrip()
    lines.extend(block)
    lines.append(f"    action: {action_text(rule.action)}")
    if rule.arches is not None:
        lines.append("    arches: [" + ", ".join(scalar(a) for a in rule.arches) + "]")
    if rule.audit_arches is not None:
        lines.append("    audit_arches: [" + ", ".join(scalar(a) for a in rule.audit_arches) + "]")
    if rule.when is not None:
        body = _condition_lines(rule.when, 6)
        if len(body) == 1:
            lines.append(f"    when: {body[0]}")
        else:
            lines.append("    when:")
            lines.append("      " + body[0])
            lines.extend(body[1:])
    return lines


def _sandbox_lines(sandbox: Sandbox) -> list[str]:
    """The ``sandbox:`` section: the keys that differ from a default :class:`Sandbox`."""
    default = Sandbox()
    lines = ["sandbox:  # the layers around the filter"]
    for mode in ACCESS_MODES:
        paths: tuple[str, ...] = getattr(sandbox, mode)
        if paths:
            lines.extend(_flow_list([scalar(path) for path in paths], "  ", mode))
    for key in ("tcp_bind", "tcp_connect"):
        ports: tuple[int, ...] | None = getattr(sandbox, key)
        if ports is not None:
            lines.append(f"  {key}: [" + ", ".join(str(port) for port in ports) + "]")
    if sandbox.capabilities:
        lines.append("  capabilities: [" + ", ".join(sandbox.capabilities) + "]")
    for key in ("default_paths", "namespaces", "share_pid", "unshare_net", "landlock"):
        if getattr(sandbox, key) != getattr(default, key):
            lines.append(f"  {key}: {str(getattr(sandbox, key)).lower()}")
    if sandbox.new_session != default.new_session:
        lines.append(f"  new_session: {str(sandbox.new_session).lower()}")
    if sandbox.require:
        lines.append("  require: [" + ", ".join(sandbox.require) + "]")
    if len(lines) == 1:
        return ["sandbox: {}  # the defaults"]
    return lines


def to_yaml(policy: Policy) -> str:
    """The policy in the YAML format; reading it back gives an equal policy (see the module
    docstring for the one spelling that differs)."""
    lines: list[str] = []
    if policy.source is not None and _real_file(policy.source):
        lines.append(f"# Converted by seccomp-bpf from {policy.source}.")
    for note in policy.notes:
        lines.append("# note: " + " ".join(note.split()))
    if policy.name is not None:
        lines.append(f"name: {scalar(policy.name)}")
    if policy.comment is not None:
        lines.append(f"comment: {scalar(policy.comment)}")
    lines.append(f"default_action: {action_text(policy.default_action)}")
    lines.append(f"bad_arch_action: {action_text(policy.bad_arch_action)}")
    if policy.unknown_syscall_action is not None:
        lines.append(
            f"unknown_syscall_action: {action_text(policy.unknown_syscall_action)}"
            "  # numbers no table knows and no rule names"
        )
    if policy.newer_syscall_action is not None:
        lines.append(
            f"newer_syscall_action: {action_text(policy.newer_syscall_action)}"
            "  # numbers above the highest one the rules name, per ABI"
        )
    lines.append("arches: [" + ", ".join(scalar(a) for a in policy.arches) + "]")
    if policy.multiplexer_conditions != "error":
        lines.append(
            f"multiplexer_conditions: {policy.multiplexer_conditions}"
            "  # socketcall/ipc mirrors keep only the call number"
        )
    if policy.flags:
        lines.append("flags: [" + ", ".join(policy.flags) + "]")
    if policy.sandbox is not None:
        lines.extend(_sandbox_lines(policy.sandbox))
    if not policy.rules:
        lines.append("syscalls: []")
    else:
        lines.append("syscalls:  # in order: the first rule that matches a call decides")
        for index, rule in enumerate(policy.rules):
            lines.extend(_rule_lines(index, rule))
    return "\n".join(lines) + "\n"
