"""The YAML policy format (DESIGN §6), which also reads elastic/go-seccomp-bpf policies.

::

    name: web                             # optional
    default_action: errno(EPERM)          # required; see seccomp_bpf.policy.actions
    bad_arch_action: kill_process         # optional (kill_process)
    unknown_syscall_action: errno(ENOSYS) # optional
    newer_syscall_action: errno(ENOSYS)   # optional: numbers above the highest named
    arches: [x86_64, i386, x32]           # optional ([native]); NAME+compat adds NAME's compat
                                          # ABIs: [native+compat] is x86_64, i386, x32 on x86-64
    multiplexer_conditions: error         # optional: error | drop | strict (see policy.resolution)
    flags: [log]                          # optional SECCOMP_FILTER_FLAG_* wishes
    syscalls:
      - names: [read, write, 1000, "0x80000000..0xbfffffff"]  # names, numbers as
        # seccomp_data.nr shows them, and ranges of numbers FIRST..LAST
        action: allow
      - names: ["@network", "@time"]      # @group: the members the policy's arches have
        action: allow
      - include: deny_new_exec_mappings   # a prebuilt rule set, in this place of the order
        action: kill_process              # optional: replaces the rule set's default action
      - names: [socket]
        action: allow
        when: {arg: 0, op: in, value: [AF_UNIX, AF_INET, AF_INET6], width: 32}
        comment: free text
      - names: [mmap]                     # a rule for some of the policy's ABIs only
        action: errno(EPERM)
        arches: [i386]
      - names: ["4000..4999"]             # o32 numbers made by n64 tasks (seccomp_data.arch
        action: kill_process              # AUDIT_ARCH_MIPS64) only
        arches: [mips]
        audit_arches: [mips64]
    sandbox:                              # optional: the layers around the filter
      rw: [out]                           # ro | rox | rw | rwx: Landlock grants
      tcp_connect: [443]                  # tcp_bind, tcp_connect: only these TCP ports
      capabilities: [CAP_NET_BIND_SERVICE]  # kept; the others are dropped ([all]: none)
      require: [landlock]                 # namespaces | landlock | landlock-scope | all
      # switches: default_paths, namespaces, share_pid, unshare_net, landlock, new_session

``sandbox`` is :class:`seccomp_bpf.policy.Sandbox`, key for key (its docstring says what each
means); it changes nothing the filter decides.

``when`` is a comparison ``{arg: N | ip: true, op: OP, value: V, mask: M, width: 32|64}``
or ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``; a list is short for ``all``. ``OP``
is one of ``eq ne lt le gt ge masked_eq bits_set bits_clear in not_in range``; a value is an
integer (``4096``, ``0x7fff``, ``-1``), a constant name (``AF_INET``, ``O_RDONLY``,
``AT_FDCWD``) or names and numbers joined by ``|`` (``"O_WRONLY|O_CREAT"``); ``in`` and
``not_in`` take a list, ``range`` takes ``[low, high]``.

go-seccomp-bpf files read unchanged: an optional ``seccomp:`` wrapper (Beats) or the
``policy:`` wrapper of its ``Filter`` (with ``no_new_privs`` and ``flag`` beside it), and
``names_with_args`` entries ``{name, arguments: [{argument|position|index, operation,
value}]}``. The arguments of one entry must all hold (AND); several entries for one name are
alternatives (OR); ``BitsSet`` holds when any of the bits is set, ``BitsNotSet`` when none is,
as in go-seccomp-bpf's assembler. Groups are read as rules in order, the first matching one
deciding (go-seccomp-bpf's documented meaning; its 1.4 assembler in fact returns the default
action right after the first group). ``errno`` is EPERM there as here.

Groups (``@network``...) are those of :mod:`seccomp_bpf.policy.groups`; a member that none
of the policy's architectures has is left out (a group lists a call under all its names); an
entry whose groups leave no name there is an error. An ``include`` entry takes the keys
``include``, ``action`` and ``comment``; its rules come from
:mod:`seccomp_bpf.policy.rulesets` and carry the entry's position.

Every error names ``file:line:column`` and the offending text. Keys are checked: an unknown
or repeated key is an error (YAML itself would keep the last of two equal keys).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from seccomp_bpf.arch import Arch, all_arches
from seccomp_bpf.arch.constants import parse_integer, parse_value
from seccomp_bpf.errors import PolicyError, UnknownArchError
from seccomp_bpf.policy.actions import KILL_PROCESS, Action
from seccomp_bpf.policy.conditions import (
    BY_OPERATION,
    OPERATIONS,
    All,
    Any,
    BitsClear,
    Cmp,
    Comparison,
    Condition,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    InRange,
    InSet,
    LessOrEqual,
    LessThan,
    MaskedEqual,
    Not,
    NotEqual,
    NotInSet,
)
from seccomp_bpf.policy.policy import FILTER_FLAGS, Policy, expand_arch_name
from seccomp_bpf.policy.resolution import MULTIPLEXER_MODES, name_is_on, unknown_name_message
from seccomp_bpf.policy.rules import NumberRange, Rule, SourceLocation, Syscall
from seccomp_bpf.policy.sandbox import (
    ACCESS_MODES,
    REQUIRABLE_LAYERS,
    Sandbox,
    capability_number,
)

_TOP_KEYS = (
    "name",
    "comment",
    "default_action",
    "bad_arch_action",
    "unknown_syscall_action",
    "newer_syscall_action",
    "arches",
    "multiplexer_conditions",
    "flags",
    "sandbox",
    "syscalls",
)
_SANDBOX_KEYS = Sandbox.FIELDS  # the keys of a sandbox section: the fields, by name
_SANDBOX_SWITCHES = (
    "default_paths",
    "namespaces",
    "share_pid",
    "unshare_net",
    "landlock",
    "new_session",
)
_FILTER_KEYS = ("policy", "no_new_privs", "flag")
_RULE_KEYS = (
    "names",
    "names_with_args",
    "action",
    "when",
    "comment",
    "include",
    "arches",
    "audit_arches",
)
_INCLUDE_KEYS = ("include", "action", "comment")
_COMPARISON_KEYS = ("arg", "ip", "op", "value", "mask", "width")
_COMBINATORS = ("all", "any", "not")
_NAME_WITH_ARGS_KEYS = ("name", "arguments")
_ARGUMENT_KEYS = ("argument", "position", "index", "operation", "value")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_FLOAT = "tag:yaml.org,2002:float"

# go-seccomp-bpf FilterFlag bits are the kernel's SECCOMP_FILTER_FLAG_* (<linux/seccomp.h>).
_FLAG_BITS = {
    1: "tsync",
    2: "log",
    4: "spec_allow",
    8: "new_listener",
    16: "tsync_esrch",
    32: "wait_killable_recv",
}



@dataclass
class _Document:
    """One YAML text being read: where errors point."""

    source: str
    lines: list[str]

    def fail(self, node: Node, message: str, snippet: str | None = None) -> NoReturn:
        mark = node.start_mark
        if snippet is None:
            snippet = self.text_of(node)
        raise PolicyError(
            message, source=self.source, line=mark.line + 1, column=mark.column + 1, snippet=snippet
        )

    def text_of(self, node: Node) -> str:
        if isinstance(node, ScalarNode):
            return str(node.value)
        mark = node.start_mark
        if mark.line >= len(self.lines):
            return ""
        text = self.lines[mark.line][mark.column :].strip()
        return text if len(text) <= 60 else text[:57] + "..."

    def location(self, node: Node) -> SourceLocation:
        return SourceLocation(self.source, node.start_mark.line + 1, node.start_mark.column + 1)

    # --- shapes -------------------------------------------------------------------------------

    def mapping(
        self, node: Node, what: str, allowed: tuple[str, ...]
    ) -> dict[str, tuple[Node, Node]]:
        """The entries of a mapping node; unknown, repeated or non-text keys are errors."""
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping with keys {', '.join(allowed)}")
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
                self.fail(key_node, f"{what}: keys must be plain words such as {allowed[0]}")
            key = str(key_node.value)
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                self.fail(key_node, f"{what}: key {key!r} given twice (first on line {first})")
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.fail(
                    key_node, f"{what}: unknown key {key!r} (allowed: {', '.join(allowed)}){hint}"
                )
            entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag != _STR:
            self.fail(node, f"{what} must be text")
        return str(node.value)

    def boolean(self, node: Node, what: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            self.fail(node, f"{what} must be true or false")
        return bool(yaml.SafeLoader.bool_values[str(node.value).lower()])

    def integer(self, node: Node, what: str) -> int:
        """A YAML integer, or text holding one (``"0x7fff"``, ``"-1"``)."""
        if isinstance(node, ScalarNode) and node.tag in (_INT, _STR):
            number = parse_integer(str(node.value))
            if number is not None:
                return number
        self.fail(node, f"{what} must be an integer")

    def action(self, node: Node, what: str) -> Action:
        if not isinstance(node, ScalarNode) or node.tag != _STR:
            self.fail(node, f"{what} must be an action such as allow or errno(EPERM)")
        try:
            return Action.parse(str(node.value))
        except PolicyError as error:
            self.fail(node, f"{what}: {error.message}")

    def value(self, node: Node, what: str) -> int:
        """An argument value: an integer, a constant name, or ``A|B|...`` of those."""
        if isinstance(node, ScalarNode) and node.tag == _INT:
            number = parse_integer(str(node.value))
            if number is not None:
                return number
        if not isinstance(node, ScalarNode) or node.tag != _STR:
            self.fail(node, f"{what} must be an integer or a constant name such as AF_INET")
        text = str(node.value)
        try:
            return parse_value(text)
        except ValueError as error:
            self.fail(node, f"{what}: {error}", snippet=text)


# --- conditions -------------------------------------------------------------------------------


def _condition(doc: _Document, node: Node, what: str = "when") -> Condition:
    """A ``when`` condition: a comparison, ``{all|any|not: ...}``, or a list (all of them).

    Read with a stack of frames (a node, where it is, and the parts read so far) instead of
    recursion, so that the nesting of a condition is limited by YAML's reader alone.
    """
    # a frame: (kind, where its parts are, its part nodes, the parts read so far), with kind
    # "all", "any", "not" or "list" (a list is all of its items)
    stack: list[tuple[str, str, list[Node], list[Condition]]] = []
    item: Condition | tuple[str, str, list[Node], list[Condition]] = _open(doc, node, what)
    while True:
        if isinstance(item, tuple):
            stack.append(item)
        elif not stack:
            return item
        else:
            stack[-1][3].append(item)
        kind, here, children, parts = stack[-1]
        if len(parts) < len(children):
            item = _open(doc, children[len(parts)], here)
            continue
        stack.pop()
        if kind == "not":
            item = Not(parts[0])
        elif kind == "list":
            item = _all_of(parts)
        else:
            item = All(tuple(parts)) if kind == "all" else Any(tuple(parts))


def _open(
    doc: _Document, node: Node, what: str
) -> Comparison | tuple[str, str, list[Node], list[Condition]]:
    """A comparison, or the frame of a combination: its kind, where its parts are, its parts."""
    if isinstance(node, SequenceNode):
        items = doc.sequence(node, what)
        if not items:
            doc.fail(node, f"{what}: an empty list of conditions")
        return ("list", what, items, [])
    if not isinstance(node, MappingNode):
        doc.fail(node, f"{what} must be a comparison {{arg, op, value}} or {{all|any|not: ...}}")
    keys = {str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)}
    combinators = keys & set(_COMBINATORS)
    if not combinators:
        return _comparison(doc, node, what)
    entries = doc.mapping(node, what, _COMBINATORS)
    if len(entries) != 1:
        doc.fail(
            node,
            f"{what}: use one of all, any, not per mapping, not {', '.join(sorted(entries))}",
        )
    ((word, (_, inner)),) = entries.items()
    if word == "not":
        return ("not", f"{what}.not", [inner], [])
    items = doc.sequence(inner, f"{what}.{word}")
    if not items:
        doc.fail(inner, f"{what}.{word}: needs at least one condition")
    return (word, f"{what}.{word}", items, [])


def _all_of(parts: list[Condition]) -> Condition:
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _comparison(doc: _Document, node: Node, what: str) -> Comparison:
    entries = doc.mapping(node, what, _COMPARISON_KEYS)
    if "arg" in entries and "ip" in entries:
        doc.fail(entries["ip"][0], f"{what}: give either arg or ip, not both")
    arg: int | None
    if "arg" in entries:
        arg_node = entries["arg"][1]
        arg = doc.integer(arg_node, f"{what}.arg")
        if not 0 <= arg <= 5:
            doc.fail(arg_node, f"{what}.arg must be 0..5 (a system call has six arguments)")
    elif "ip" in entries:
        if not doc.boolean(entries["ip"][1], f"{what}.ip"):
            doc.fail(
                entries["ip"][1], f"{what}.ip: write 'ip: true' to compare the instruction pointer"
            )
        arg = None
    else:
        doc.fail(node, f"{what}: a comparison needs 'arg: N' (0..5) or 'ip: true'")
    if "op" not in entries:
        doc.fail(node, f"{what}: a comparison needs 'op' ({', '.join(OPERATIONS)})")
    op_node = entries["op"][1]
    op = doc.text(op_node, f"{what}.op")
    if op not in OPERATIONS:
        close = difflib.get_close_matches(op, OPERATIONS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        doc.fail(
            op_node, f"{what}.op: unknown operation {op!r} (allowed: {', '.join(OPERATIONS)}){hint}"
        )
    width = 64
    if "width" in entries:
        width = doc.integer(entries["width"][1], f"{what}.width")
        if width not in (32, 64):
            doc.fail(entries["width"][1], f"{what}.width must be 32 or 64")
    if "value" not in entries:
        doc.fail(node, f"{what}: a comparison needs 'value'")
    value_node = entries["value"][1]
    value: int | tuple[int, ...]
    kind = BY_OPERATION[op]
    if issubclass(kind, (InSet, NotInSet)):
        items = doc.sequence(value_node, f"{what}.value (for {op})")
        if not items:
            doc.fail(value_node, f"{what}.value: {op} needs at least one value")
        value = tuple(doc.value(item, f"{what}.value") for item in items)
    elif kind is InRange:
        items = doc.sequence(value_node, f"{what}.value (for range, [low, high])")
        if len(items) != 2:
            doc.fail(value_node, f"{what}.value: range takes [low, high]")
        value = (doc.value(items[0], f"{what}.value"), doc.value(items[1], f"{what}.value"))
    else:
        value = doc.value(value_node, f"{what}.value")
    mask: int | None = None
    if "mask" in entries:
        if kind is not MaskedEqual:
            doc.fail(entries["mask"][0], f"{what}: mask belongs to op masked_eq, not {op}")
        mask = doc.value(entries["mask"][1], f"{what}.mask")
    elif kind is MaskedEqual:
        doc.fail(node, f"{what}: masked_eq needs 'mask' ((arg & mask) == value)")
    try:
        return Cmp(arg, op, value, mask=mask, width=width)
    except PolicyError as error:
        doc.fail(value_node, f"{what}: {error.message}")


# go-seccomp-bpf operations (filter.go) and what they mean here.
_GO_COMPARISONS: dict[str, Callable[[int, int], Comparison]] = {
    "equal": Equal,
    "notequal": NotEqual,
    "greaterthan": GreaterThan,
    "lessthan": LessThan,
    "greaterorequal": GreaterOrEqual,
    "lessorequal": LessOrEqual,
    "bitsnotset": BitsClear,
}


def _go_operation(operation: str, arg: int, value: int) -> Condition:
    kind = _GO_COMPARISONS.get(operation)
    if kind is not None:
        return kind(arg, value)
    # BitsSet: "(Arg_hi & Val_hi != 0) || (Arg_lo & Val_lo != 0)", i.e. some bit of value set.
    return Not(BitsClear(arg, value))


_GO_OPERATIONS = (
    "Equal",
    "NotEqual",
    "GreaterThan",
    "LessThan",
    "GreaterOrEqual",
    "LessOrEqual",
    "BitsSet",
    "BitsNotSet",
)


def _go_arguments(doc: _Document, node: Node, what: str) -> Condition:
    """One ``names_with_args`` entry's ``arguments``: all must hold."""
    items = doc.sequence(node, what)
    if not items:
        doc.fail(node, f"{what}: needs at least one argument condition")
    parts: list[Condition] = []
    for position, item in enumerate(items):
        here = f"{what}[{position}]"
        entries = doc.mapping(item, here, _ARGUMENT_KEYS)
        index_keys = [k for k in ("argument", "position", "index") if k in entries]
        if len(index_keys) > 1:
            doc.fail(item, f"{here}: give one of {', '.join(index_keys)}, not several")
        arg = 0  # go-seccomp-bpf: `config:"argument" default:"0"`
        if index_keys:
            arg_node = entries[index_keys[0]][1]
            arg = doc.integer(arg_node, f"{here}.{index_keys[0]}")
            if not 0 <= arg <= 5:
                doc.fail(arg_node, f"{here}.{index_keys[0]} must be 0..5")
        if "operation" not in entries:
            doc.fail(item, f"{here}: needs 'operation' ({', '.join(_GO_OPERATIONS)})")
        op_node = entries["operation"][1]
        operation = doc.text(op_node, f"{here}.operation")
        if operation.lower() not in {o.lower() for o in _GO_OPERATIONS}:
            doc.fail(
                op_node,
                f"{here}.operation: unknown operation {operation!r} "
                f"(allowed: {', '.join(_GO_OPERATIONS)})",
            )
        value = doc.value(entries["value"][1], f"{here}.value") if "value" in entries else 0
        value_node = entries["value"][1] if "value" in entries else item
        try:
            parts.append(_go_operation(operation.lower(), arg, value))
        except PolicyError as error:
            doc.fail(value_node, f"{here}: {error.message}")
    return _all_of(parts)


# --- the document -----------------------------------------------------------------------------


class _Reader:
    def __init__(self, doc: _Document, arches: Sequence[str] | None = None) -> None:
        self.doc = doc
        self.arches: tuple[Arch, ...] = ()
        self.arches_override = tuple(arches) if arches is not None else None
        self.flags: list[str] = []
        self.notes: list[str] = []

    def read(self, root: Node) -> Policy:
        doc = self.doc
        body = self.unwrap(root)
        entries = doc.mapping(body, "policy", _TOP_KEYS)
        if "default_action" not in entries:
            doc.fail(body, "policy: 'default_action' is required (for example errno(EPERM))")
        arch_names: tuple[str, ...] = ("native",)
        if self.arches_override is not None:
            arch_names = self.override_arches(self.arches_override)
        elif "arches" in entries:
            arch_names = self.read_arches(entries["arches"][1])
        else:
            self.arches = self.arch_of(body, "native")
        actions: dict[str, Action] = {}
        for key in (
            "default_action",
            "bad_arch_action",
            "unknown_syscall_action",
            "newer_syscall_action",
        ):
            if key in entries:
                actions[key] = doc.action(entries[key][1], key)
        if "bad_arch_action" not in entries:
            self.notes.append(
                "bad_arch_action is not given: calls of architectures the policy does not "
                "list kill the process (kill_process)"
            )
        texts: dict[str, str] = {}
        for key in ("name", "comment"):
            if key in entries:
                texts[key] = doc.text(entries[key][1], key)
        mode = "error"
        if "multiplexer_conditions" in entries:
            mode_node = entries["multiplexer_conditions"][1]
            mode = doc.text(mode_node, "multiplexer_conditions")
            if mode not in MULTIPLEXER_MODES:
                doc.fail(mode_node, "multiplexer_conditions must be 'error', 'drop' or 'strict'")
        if "flags" in entries:
            for item in doc.sequence(entries["flags"][1], "flags"):
                flag = doc.text(item, "flags")
                if flag not in FILTER_FLAGS:
                    doc.fail(
                        item, f"flags: unknown flag {flag!r} (allowed: {', '.join(FILTER_FLAGS)})"
                    )
                if flag not in self.flags:
                    self.flags.append(flag)
        sandbox = self.read_sandbox(*entries["sandbox"]) if "sandbox" in entries else None
        rules: list[Rule] = []
        if "syscalls" in entries:
            syscalls_node = entries["syscalls"][1]
            if not (isinstance(syscalls_node, ScalarNode) and syscalls_node.tag == _NULL):
                for item in doc.sequence(syscalls_node, "syscalls"):
                    rules.extend(self.read_rule(item))
        policy = Policy(
            default_action=actions["default_action"],
            rules=tuple(rules),
            arches=arch_names,
            bad_arch_action=actions.get("bad_arch_action", KILL_PROCESS),
            unknown_syscall_action=actions.get("unknown_syscall_action"),
            newer_syscall_action=actions.get("newer_syscall_action"),
            multiplexer_conditions=mode,
            name=texts.get("name"),
            comment=texts.get("comment"),
            flags=tuple(dict.fromkeys(self.flags)),
            sandbox=sandbox,
            source=doc.source,
            notes=tuple(self.notes),
        )
        policy.validate()
        return policy

    def read_sandbox(self, key: Node, node: Node) -> Sandbox:
        """The ``sandbox:`` section (see :mod:`seccomp_bpf.policy.sandbox`)."""
        doc = self.doc
        entries = doc.mapping(node, "sandbox", _SANDBOX_KEYS)
        values: dict[str, object] = {}
        locations: dict[str, SourceLocation] = {"sandbox": doc.location(key)}
        for mode in ACCESS_MODES:
            if mode in entries:
                paths: list[str] = []
                for index, item in enumerate(doc.sequence(entries[mode][1], f"sandbox.{mode}")):
                    path = doc.text(item, f"sandbox.{mode}: a path")
                    if not path or "\0" in path:
                        doc.fail(item, f"sandbox.{mode}: {path!r} is not a path")
                    paths.append(path)
                    locations[f"{mode}[{index}]"] = doc.location(item)
                values[mode] = tuple(paths)
        for switch in _SANDBOX_SWITCHES:
            if switch in entries:
                values[switch] = doc.boolean(entries[switch][1], f"sandbox.{switch}")
        for ports in ("tcp_bind", "tcp_connect"):
            if ports in entries:
                values[ports] = tuple(
                    self.read_port(item, f"sandbox.{ports}")
                    for item in doc.sequence(entries[ports][1], f"sandbox.{ports} (TCP ports)")
                )
        if "capabilities" in entries:
            names: list[str] = []
            for item in doc.sequence(entries["capabilities"][1], "sandbox.capabilities"):
                name = doc.text(item, "sandbox.capabilities: a name such as CAP_NET_RAW")
                if name.lower() != "all":
                    try:
                        capability_number(name)
                    except PolicyError as error:
                        doc.fail(item, f"sandbox.capabilities: {error.message}")
                names.append(name)
            values["capabilities"] = tuple(names)
        if "require" in entries:
            layers: list[str] = []
            for item in doc.sequence(entries["require"][1], "sandbox.require"):
                layer = doc.text(item, "sandbox.require: a layer name")
                if layer not in (*REQUIRABLE_LAYERS, "all"):
                    doc.fail(
                        item,
                        f"sandbox.require: unknown layer {layer!r} "
                        f"(known: {', '.join(REQUIRABLE_LAYERS)}, all)",
                    )
                layers.append(layer)
            values["require"] = tuple(layers)
        try:
            return Sandbox(**values, locations=locations)  # type: ignore[arg-type]
        except PolicyError as error:
            doc.fail(node, error.message)

    def read_port(self, node: Node, what: str) -> int:
        port = self.doc.integer(node, f"{what}: a TCP port")
        if not 0 <= port <= 65535:
            self.doc.fail(node, f"{what}: a TCP port is 0..65535")
        return port

    def unwrap(self, root: Node) -> Node:
        """Step into Beats' ``seccomp:`` and go-seccomp-bpf's ``policy:`` wrappers."""
        doc = self.doc
        node = root
        if not isinstance(node, MappingNode):
            doc.fail(node, "a policy file must hold a mapping with default_action and syscalls")
        keys = [str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)]
        if "seccomp" in keys:
            entries = doc.mapping(node, "file", ("seccomp",))
            node = entries["seccomp"][1]
            if not isinstance(node, MappingNode):
                doc.fail(node, "seccomp: must hold the policy mapping")
            keys = [str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)]
        if "policy" in keys:
            entries = doc.mapping(node, "filter", _FILTER_KEYS)
            if "no_new_privs" in entries and not doc.boolean(
                entries["no_new_privs"][1], "no_new_privs"
            ):
                self.notes.append(
                    "no_new_privs: false was asked for; installing an unprivileged filter "
                    "needs no_new_privs (seccomp(2)), so the installer decides"
                )
            if "flag" in entries:
                self.read_go_flag(entries["flag"][1])
            node = entries["policy"][1]
        return node

    def read_go_flag(self, node: Node) -> None:
        doc = self.doc
        if isinstance(node, ScalarNode) and node.tag == _INT:
            bits = doc.integer(node, "flag")
            for bit, name in _FLAG_BITS.items():
                if bits & bit:
                    self.flags.append(name)
                    bits &= ~bit
            if bits:
                doc.fail(node, f"flag: unknown SECCOMP_FILTER_FLAG bits {bits:#x}")
            return
        for word in doc.text(node, "flag").split("|"):
            name = word.strip().lower()
            if name not in FILTER_FLAGS:
                doc.fail(
                    node,
                    f"flag: unknown flag {word.strip()!r} (allowed: {', '.join(FILTER_FLAGS)})",
                )
            self.flags.append(name)

    def arch_of(self, node: Node, name: str) -> tuple[Arch, ...]:
        try:
            return expand_arch_name(name)
        except UnknownArchError as error:
            self.doc.fail(node, f"arches: {error}", snippet=name)

    def override_arches(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Arches given by the caller instead of the file's; errors name them, not the file."""
        if not names:
            raise PolicyError("no architecture given to use instead of the policy's")
        arches: list[Arch] = []
        for name in names:
            try:
                expanded = expand_arch_name(name)
            except UnknownArchError as error:
                message = f"architectures to use instead of the policy's: {error}"
                raise PolicyError(message) from None
            for arch in expanded:
                if all(arch.name != known.name for known in arches):
                    arches.append(arch)
        self.arches = tuple(arches)
        return names

    def read_arches(self, node: Node) -> tuple[str, ...]:
        doc = self.doc
        items = doc.sequence(node, "arches")
        if not items:
            doc.fail(node, "arches: list at least one architecture (or [native])")
        names: list[str] = []
        arches: list[Arch] = []
        for item in items:
            name = doc.text(item, "arches")
            names.append(name)
            for arch in self.arch_of(item, name):
                if all(a.name != arch.name for a in arches):
                    arches.append(arch)
        self.arches = tuple(arches)
        return tuple(names)

    def check_name(self, node: Node, name: str, where: str) -> None:
        if not any(name_is_on(arch, name) for arch in self.arches):
            self.doc.fail(node, f"{where}: {unknown_name_message(name, self.arches, all_arches())}")

    def read_rule(self, node: Node) -> list[Rule]:
        doc = self.doc
        entries = doc.mapping(node, "syscalls entry", _RULE_KEYS)
        location = doc.location(node)
        if "include" in entries:
            return self.read_include(node)
        if "action" not in entries:
            doc.fail(node, "syscalls entry: 'action' is required")
        action = doc.action(entries["action"][1], "action")
        if "names" not in entries and "names_with_args" not in entries:
            doc.fail(node, "syscalls entry: give 'names' (or go-seccomp-bpf 'names_with_args')")
        if "when" in entries and "names_with_args" in entries:
            doc.fail(
                entries["when"][0],
                "syscalls entry: 'when' applies to 'names'; "
                "put 'names_with_args' in an entry of its own",
            )
        rules: list[Rule] = []
        seen: dict[Syscall, Node] = {}
        if "names" in entries:
            names_node = entries["names"][1]
            items = doc.sequence(names_node, "names")
            if not items:
                doc.fail(names_node, "names: the list is empty")
            syscalls: list[Syscall] = []
            from_groups: set[Syscall] = set()
            for item in items:
                if isinstance(item, ScalarNode) and str(item.value).startswith("@"):
                    for member in self.read_group(item):
                        if member not in seen and member not in from_groups:
                            from_groups.add(member)
                            syscalls.append(member)
                    continue
                syscall = self.read_syscall(item)
                self.remember(seen, syscall, item)
                if syscall not in from_groups:
                    syscalls.append(syscall)
            if not syscalls:
                doc.fail(
                    names_node,
                    "names: no member of these groups exists on "
                    + ", ".join(a.name for a in self.arches),
                )
            when = _condition(doc, entries["when"][1]) if "when" in entries else None
            rule = self.make_rule(node, tuple(syscalls), action, when, location)
            if "arches" in entries:
                rule = self.limit_to_arches(rule, entries["arches"][1])
            if "audit_arches" in entries:
                rule = self.limit_to_audit_arches(rule, entries["audit_arches"][1])
            rules.append(rule)
        if "names_with_args" in entries:
            rules.extend(self.read_names_with_args(entries["names_with_args"][1], action, seen))
        return rules

    def abi_names(self, node: Node, key: str) -> list[str]:
        """A rule's list of ABI names under ``key`` (``NAME+compat`` allowed), not empty."""
        names: list[str] = []
        for item in self.doc.sequence(node, key):
            for arch in self.arch_of(item, self.doc.text(item, key)):
                names.append(arch.name)
        if not names:
            self.doc.fail(node, f"{key}: the list is empty")
        return names

    def limit_to_arches(self, rule: Rule, node: Node) -> Rule:
        """A rule's own ``arches:``: the ABIs it takes part on."""
        names = self.abi_names(node, "arches")
        listed = {arch.name for arch in self.arches}
        if not listed.intersection(names):
            self.doc.fail(
                node,
                f"arches: none of {', '.join(names)} is among the policy's architectures "
                f"({', '.join(sorted(listed))})",
            )
        return dataclasses.replace(rule, arches=tuple(names))

    def limit_to_audit_arches(self, rule: Rule, node: Node) -> Rule:
        """A rule's ``audit_arches:``: ABIs whose AUDIT_ARCH value a call must carry."""
        return dataclasses.replace(rule, audit_arches=tuple(self.abi_names(node, "audit_arches")))

    def read_group(self, item: Node) -> tuple[str, ...]:
        """``@name``: the group's members that one of the policy's arches has (maybe none)."""
        from seccomp_bpf.policy.groups import get_group

        doc = self.doc
        text = doc.text(item, "names: a group such as @network")
        try:
            group = get_group(text)
        except PolicyError as error:
            doc.fail(item, f"names: {error.message}")
        return tuple(m for m in group.members if any(name_is_on(a, m) for a in self.arches))

    def read_include(self, node: Node) -> list[Rule]:
        """``{include: RULE_SET, action: ACTION}``: the rule set's rules, at this place."""
        from seccomp_bpf.policy.rulesets import get_rule_set

        doc = self.doc
        entries = doc.mapping(node, "include entry", _INCLUDE_KEYS)
        name_node = entries["include"][1]
        name = doc.text(name_node, "include: a rule set name such as deny_new_exec_mappings")
        try:
            rule_set = get_rule_set(name)
        except PolicyError as error:
            doc.fail(name_node, f"include: {error.message}")
        action = doc.action(entries["action"][1], "action") if "action" in entries else None
        try:
            rules = rule_set.build(action, arches=self.arches)
        except PolicyError as error:
            doc.fail(name_node, f"include: {error.message}")
        location = doc.location(node)
        return [dataclasses.replace(rule, location=location) for rule in rules]

    def read_syscall(self, item: Node) -> Syscall:
        doc = self.doc
        if isinstance(item, ScalarNode) and item.tag == _INT:
            return doc.integer(item, "names")
        name = doc.text(item, "names: a system call name or number")
        if ".." in name:
            try:
                number_range = NumberRange.parse(name)
            except PolicyError as error:
                doc.fail(item, f"names: {error.message}")
            if number_range is None:
                doc.fail(item, f"names: {name!r} is not a range of numbers FIRST..LAST")
            return number_range
        if not name or name.strip() != name:
            doc.fail(item, f"names: {name!r} is not a system call name")
        self.check_name(item, name, "names")
        return name

    def remember(self, seen: dict[Syscall, Node], syscall: Syscall, item: Node) -> None:
        if syscall in seen:
            first = seen[syscall].start_mark.line + 1
            self.doc.fail(
                item, f"{syscall!r} is listed twice in this entry (first on line {first})"
            )
        seen[syscall] = item

    def make_rule(
        self,
        node: Node,
        syscalls: tuple[Syscall, ...],
        action: Action,
        when: Condition | None,
        location: SourceLocation,
    ) -> Rule:
        try:
            return Rule(syscalls, action, when, location=location)
        except PolicyError as error:
            self.doc.fail(node, error.message)

    def read_names_with_args(
        self, node: Node, action: Action, seen: dict[Syscall, Node]
    ) -> list[Rule]:
        doc = self.doc
        items = doc.sequence(node, "names_with_args")
        if not items:
            doc.fail(node, "names_with_args: the list is empty")
        order: list[str] = []
        alternatives: dict[str, list[Condition]] = {}
        first_node: dict[str, Node] = {}
        for position, item in enumerate(items):
            here = f"names_with_args[{position}]"
            entries = doc.mapping(item, here, _NAME_WITH_ARGS_KEYS)
            if "name" not in entries:
                doc.fail(item, f"{here}: 'name' is required")
            if "arguments" not in entries:
                doc.fail(item, f"{here}: 'arguments' is required")
            name_node = entries["name"][1]
            name = doc.text(name_node, f"{here}.name")
            self.check_name(name_node, name, f"{here}.name")
            if name in seen:
                first = seen[name].start_mark.line + 1
                doc.fail(
                    name_node,
                    f"{here}: {name!r} is also listed without conditions in this entry "
                    f"(line {first})",
                )
            condition = _go_arguments(doc, entries["arguments"][1], f"{here}.arguments")
            if name not in alternatives:
                order.append(name)
                alternatives[name] = []
                first_node[name] = item
            alternatives[name].append(condition)
        rules = []
        for name in order:
            conditions = alternatives[name]
            when = conditions[0] if len(conditions) == 1 else Any(tuple(conditions))
            item = first_node[name]
            rules.append(self.make_rule(item, (name,), action, when, doc.location(item)))
        return rules


def load_yaml_policy(
    text: str, *, source: str | None = None, arches: Sequence[str] | None = None
) -> Policy:
    """Read a YAML policy from ``text``; errors name ``source`` (``<string>`` if not given).

    ``arches``, when given, replace the file's ``arches`` before the rules are read, so that
    groups and rule sets are resolved for them.
    """
    name = source if source is not None else "<string>"
    doc = _Document(name, text.splitlines())
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = "; ".join(p for p in (error.context, error.problem) if p) or "invalid YAML"
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        snippet = (
            doc.lines[mark.line].strip()
            if mark is not None and mark.line < len(doc.lines)
            else None
        )
        raise PolicyError(
            f"YAML syntax error: {problem}", source=name, line=line, column=column, snippet=snippet
        ) from None
    except yaml.YAMLError as error:
        raise PolicyError(f"not readable as YAML: {error}", source=name, line=1, column=1) from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise PolicyError(
            "YAML nested too deeply", source=name, line=1, column=1, snippet=None
        ) from None
    if root is None:
        raise PolicyError(
            "the policy is empty; it needs at least default_action", source=name, line=1, column=1
        )
    _check_tags(doc, root)
    return _Reader(doc, arches).read(root)


_KNOWN_TAGS = frozenset(
    {_STR, _INT, _BOOL, _NULL, _FLOAT, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
)


def _check_tags(doc: _Document, node: Node) -> None:
    """Refuse explicit YAML tags (``!!binary``, ``!custom``) anywhere: a policy needs none."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.tag not in _KNOWN_TAGS:
            doc.fail(current, f"unsupported YAML tag {current.tag!r}")
        if isinstance(current, MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)


def read_yaml_policy(
    path: str | os.PathLike[str], *, arches: Sequence[str] | None = None
) -> Policy:
    """Read a YAML policy file; ``arches`` as for :func:`load_yaml_policy`."""
    name, text = read_policy_text(path)
    return load_yaml_policy(text, source=name, arches=arches)


def read_policy_text(path: str | os.PathLike[str]) -> tuple[str, str]:
    """A policy file's name and text (:func:`decode_policy_bytes`: UTF-8, or a PolicyError
    naming where it is not), for the readers of every format."""
    name = os.fspath(path)
    with open(name, "rb") as stream:
        data = stream.read()
    return name, decode_policy_bytes(data, name)


def decode_policy_bytes(data: bytes, source: str) -> str:
    """UTF-8 text of a policy file, or a PolicyError naming where it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise PolicyError(
            "the file is not UTF-8 text",
            source=source,
            line=line,
            column=column,
            snippet=repr(data[error.start : error.start + 4]),
        ) from None
