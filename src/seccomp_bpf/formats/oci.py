"""OCI runtime-spec and Docker seccomp profiles (JSON) read into a :class:`Policy`.

The result means what runc + libseccomp make of the profile. Step by step:

Docker's own keys (``profiles/seccomp/seccomp_linux.go`` in moby, ``setupSeccomp``) are
resolved first, for one machine architecture, one capability set and one kernel version:

- ``archMap``: the entry whose ``architecture`` is the machine's gives the architectures
  (it and its ``subArchitectures``); ``architectures`` and ``archMap`` together are an error.
- ``includes``/``excludes`` of each ``syscalls`` entry: the entry is dropped if any excluded
  arch is the machine's (Docker names: ``amd64``, ``x86``, ``arm64``...), any excluded
  capability is held, or the kernel is at least the excluded ``minKernel``; and unless every
  included capability is held, the machine's arch is among the included ones, and the kernel
  is at least the included ``minKernel`` (only ``major.minor`` count, as in moby).
- Capabilities default to Docker's default set (:data:`DOCKER_DEFAULT_CAPABILITIES`, from
  moby's ``oci/caps/defaults.go``), the arch to this machine's, the kernel to ``uname -r``.

Then runc (``libcontainer/seccomp/seccomp_linux.go``) and libseccomp (``src/db.c``,
``src/arch.c``):

- The filter always covers the machine's own architecture, plus those listed.
- Actions: ``SCMP_ACT_KILL`` is KILL_THREAD; ``SCMP_ACT_ERRNO`` and ``SCMP_ACT_TRACE`` carry
  ``errnoRet`` (EPERM when absent; runc gives TRACE that default too); ``errnoRet`` on another
  action is an error (runtime spec). The bad-architecture action is libseccomp's default,
  KILL_THREAD.
- An entry whose action equals the default action is skipped (runc: ``AddRule`` would fail).
- Names no listed architecture has are ignored (runc ignores names libseccomp cannot resolve)
  and reported in the policy's notes; a name that is no system call of any architecture (a
  typo such as ``reed``) is noted with what was perhaps meant, or refused with
  ``strict=True`` (what ``seccomp-bpf check`` asks for, as for a YAML policy).
- The ``args`` of one entry must all hold (AND) — unless two of them compare the same
  argument, in which case runc adds one rule per comparison (OR).
  ``SCMP_CMP_MASKED_EQ`` is ``(arg & value) == valueTwo``; libseccomp masks ``valueTwo`` with
  ``value`` first (``_db_node_mask_fixup``), and so does this reader. A masked comparison whose
  mask is 0 is dropped as libseccomp drops it, which can leave a rule with no condition.
- Several rules for one syscall do not combine by order in libseccomp: the first rule with no
  condition wins over every rule with conditions, whenever it was added
  (``db_rule_add``); rules with conditions and one action form a union. This reader therefore
  places rules without conditions first (those on ``socketcall``/``ipc`` themselves before
  the rest), then the rules with conditions, each group in profile order: the model's first
  match then gives libseccomp's answer. When rules with conditions give one syscall different
  actions, libseccomp's answer depends on the shape of its decision tree; unless their
  conditions provably exclude each other (different ``==`` values for one argument), the
  profile is refused with an error naming both entries.
- On architectures with ``socketcall``/``ipc``, libseccomp mirrors socket and IPC rules onto
  the multiplexer with ``arg0 == call`` in place of the first argument's comparison
  (``abi_rule_add``): the policy uses ``multiplexer_conditions: drop``. Two differences remain
  and are noted when they matter: libseccomp keeps comparisons of arguments 1-5 on the
  multiplexer (they then test its own arguments), and it compares the whole ``ipc`` first
  argument while this model compares its low 16 bits (``ipc/syscall.c``).
- libseccomp compares only the low 32 bits of arguments on 32-bit ABIs (i386, x32, arm...).
  The model does the same wherever the call itself sees 32-bit arguments (i386, arm, o32...:
  :attr:`~seccomp_bpf.arch.Arch.argument_bits`). x32 and MIPS n32 pass 64-bit registers, so
  there the model compares all 64 bits unless every architecture of the profile is 32-bit
  (then the comparisons use ``width: 32``, as libseccomp). libseccomp also cuts rule values
  to 32 bits there, which the model does not (``arg == 2**32 + 1`` never matches a 32-bit
  argument); both differences, for values above 0xffffffff, are noted.
- ``flags`` become the policy's flags; ``listenerPath``/``listenerMetadata`` are noted and
  not used. runc's ENOSYS stub for syscalls newer than the profile is not part of the profile:
  pass ``unknown_syscall_action`` to get the model's equivalent.

Errors name the JSON path (``syscalls[12].args[0].op``) and ``file:line:column``.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, NoReturn

from seccomp_bpf.arch import Arch, all_arches, get_arch
from seccomp_bpf.arch.registry import RETIRED_SYSCALL_NAMES
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import PolicyError, UnknownArchError
from seccomp_bpf.formats.json_nodes import ApproximateError, JsonNode, Lines, parse_json
from seccomp_bpf.policy.actions import KILL_THREAD, Action
from seccomp_bpf.policy.conditions import (
    All,
    Any,
    Comparison,
    Condition,
    Equal,
    GreaterOrEqual,
    GreaterThan,
    LessOrEqual,
    LessThan,
    MaskedEqual,
    NotEqual,
    ValueComparison,
)
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.resolution import (
    MULTIPLEXERS,
    ResolvedRule,
    name_is_on,
    unknown_name_message,
)
from seccomp_bpf.policy.rules import Rule, SourceLocation

DOCKER_DEFAULT_CAPABILITIES: Final[tuple[str, ...]] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)
"""The capabilities Docker gives a container by default (moby ``oci/caps/defaults.go``)."""

_ACTION_KINDS: Final[dict[str, SeccompAction]] = {
    "SCMP_ACT_KILL": SeccompAction.KILL_THREAD,
    "SCMP_ACT_KILL_THREAD": SeccompAction.KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": SeccompAction.KILL_PROCESS,
    "SCMP_ACT_TRAP": SeccompAction.TRAP,
    "SCMP_ACT_ERRNO": SeccompAction.ERRNO,
    "SCMP_ACT_TRACE": SeccompAction.TRACE,
    "SCMP_ACT_ALLOW": SeccompAction.ALLOW,
    "SCMP_ACT_LOG": SeccompAction.LOG,
    "SCMP_ACT_NOTIFY": SeccompAction.USER_NOTIF,
}
_EPERM: Final = 1  # <asm-generic/errno-base.h>; runc's default for ERRNO and TRACE
_OPERATORS: Final[dict[str, type[ValueComparison] | type[MaskedEqual]]] = {
    "SCMP_CMP_EQ": Equal,
    "SCMP_CMP_NE": NotEqual,
    "SCMP_CMP_LT": LessThan,
    "SCMP_CMP_LE": LessOrEqual,
    "SCMP_CMP_GT": GreaterThan,
    "SCMP_CMP_GE": GreaterOrEqual,
    "SCMP_CMP_MASKED_EQ": MaskedEqual,
}
_FLAGS: Final[dict[str, str]] = {
    "SECCOMP_FILTER_FLAG_TSYNC": "tsync",
    "SECCOMP_FILTER_FLAG_LOG": "log",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": "spec_allow",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": "wait_killable_recv",
}
# Docker's name of the machine architecture ("native" in moby), where it is not libseccomp's.
_DOCKER_NATIVE: Final[dict[str, str]] = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "mipsel64n32": "mips3l64n32",
}
_TOP_KEYS = (
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "archMap",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
)
_SYSCALL_KEYS = ("names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes")
_FILTER_KEYS = ("caps", "arches", "minKernel")
_ARG_KEYS = ("index", "value", "valueTwo", "op")
_ARCHMAP_KEYS = ("architecture", "subArchitectures")
_MASK32: Final = 0xFFFFFFFF
_MASK64: Final = (1 << 64) - 1
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)")


def docker_arch_name(arch: Arch) -> str:
    """Docker's name for ``arch`` in ``includes``/``excludes`` (``amd64``, ``x86``, ``arm64``)."""
    return _DOCKER_NATIVE.get(arch.name, arch.libseccomp_name or arch.name)


def kernel_version(release: str) -> tuple[int, int] | None:
    """``(major, minor)`` of a release string such as ``6.18.0-1-amd64``."""
    match = _VERSION.match(release)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass
class _Entry:
    """One ``syscalls`` entry that applies, as libseccomp will see it."""

    index: int
    node: JsonNode
    names: list[str]
    action: Action
    alternatives: list[list[Comparison]]  # OR of ANDs; an empty AND means "no condition"
    compared_args: set[int] = field(default_factory=set)

    @property
    def path(self) -> str:
        return f"syscalls[{self.index}]"

    @property
    def unconditional(self) -> bool:
        return any(not alternative for alternative in self.alternatives)

    def condition(self) -> Condition | None:
        if self.unconditional:
            return None
        parts: list[Condition] = [
            alternative[0] if len(alternative) == 1 else All(tuple(alternative))
            for alternative in self.alternatives
        ]
        return parts[0] if len(parts) == 1 else Any(tuple(parts))


class _Reader:
    def __init__(
        self,
        text: str,
        source: str,
        capabilities: Iterable[str] | None,
        arch: str | None,
        kernel: str | None,
        *,
        strict: bool = False,
        exact: bool = True,
    ) -> None:
        self.text = text
        self.exact = exact
        self.lines = Lines(text)
        self.source = source
        self.strict = strict
        caps = DOCKER_DEFAULT_CAPABILITIES if capabilities is None else tuple(capabilities)
        self.capabilities = {_capability_name(c) for c in caps}
        try:
            self.machine = get_arch(arch or "native")
        except UnknownArchError as error:
            raise PolicyError(f"machine architecture: {error}") from None
        release = kernel if kernel is not None else os.uname().release
        version = kernel_version(release)
        if version is None:
            raise PolicyError(f"kernel version {release!r} is not MAJOR.MINOR[...]")
        self.kernel = version
        self.notes: list[str] = []

    # --- errors and shapes --------------------------------------------------------------------

    def fail(self, offset: int, path: str, message: str, snippet: str | None = None) -> NoReturn:
        line, column = self.lines(offset)
        if snippet is None:
            snippet = self.text[offset:].split("\n", 1)[0].strip()
            snippet = snippet if len(snippet) <= 60 else snippet[:57] + "..."
        raise PolicyError(
            f"{path}: {message}", source=self.source, line=line, column=column, snippet=snippet
        )

    def obj(self, node: JsonNode, path: str, allowed: tuple[str, ...]) -> dict[str, JsonNode]:
        if not isinstance(node.value, dict):
            self.fail(node.offset, path, f"must be an object, not {node.kind}")
        assert node.key_offsets is not None
        for key in node.value:
            if key not in allowed:
                lowered = {a.lower(): a for a in allowed}
                hint = f"; did you mean {lowered[key.lower()]!r}?" if key.lower() in lowered else ""
                self.fail(
                    node.key_offsets[key],
                    f"{path}.{key}" if path else key,
                    f"unknown key (allowed: {', '.join(allowed)}){hint}",
                    snippet=key,
                )
        return node.value

    def array(self, node: JsonNode, path: str) -> list[JsonNode]:
        if node.value is None:
            return []
        if not isinstance(node.value, list):
            self.fail(node.offset, path, f"must be an array, not {node.kind}")
        return node.value

    def string(self, node: JsonNode, path: str) -> str:
        if not isinstance(node.value, str):
            self.fail(node.offset, path, f"must be a string, not {node.kind}")
        return node.value

    def strings(self, node: JsonNode, path: str) -> list[str]:
        return [self.string(item, f"{path}[{i}]") for i, item in enumerate(self.array(node, path))]

    def unsigned(self, node: JsonNode, path: str, limit: int) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node.offset, path, f"must be an unsigned integer, not {node.kind}")
        if not 0 <= value <= limit:
            self.fail(node.offset, path, f"must be 0..{limit}, not {value}")
        return value

    def action(
        self, node: JsonNode, path: str, errno_node: JsonNode | None, errno_path: str
    ) -> Action:
        token = self.string(node, path)
        kind = _ACTION_KINDS.get(token)
        if kind is None:
            self.fail(
                node.offset,
                path,
                f"unknown action {token!r} (allowed: {', '.join(_ACTION_KINDS)})",
                snippet=token,
            )
        if errno_node is None:
            data = _EPERM if kind in (SeccompAction.ERRNO, SeccompAction.TRACE) else 0
            return Action(kind, data)
        if kind not in (SeccompAction.ERRNO, SeccompAction.TRACE):
            self.fail(
                errno_node.offset,
                errno_path,
                f"only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {token}",
            )
        return Action(kind, self.unsigned(errno_node, errno_path, kind.max_data))

    def arch(self, node: JsonNode, path: str) -> Arch:
        token = self.string(node, path)
        for arch in all_arches():
            if arch.scmp_token == token:
                return arch
        tokens = sorted(a.scmp_token for a in all_arches())
        self.fail(
            node.offset,
            path,
            f"unknown architecture {token!r} (known: {', '.join(tokens)})",
            snippet=token,
        )

    # --- the profile --------------------------------------------------------------------------

    def read(self, unknown_syscall_action: Action | None) -> Policy:
        root = parse_json(self.text, self.source, exact=self.exact)
        top = self.obj(root, "", _TOP_KEYS)
        if "defaultAction" not in top:
            self.fail(root.offset, "defaultAction", "is required")
        default = self.action(
            top["defaultAction"], "defaultAction", top.get("defaultErrnoRet"), "defaultErrnoRet"
        )
        arches = self.read_arches(top)
        flags: list[str] = []
        if "flags" in top:
            for i, item in enumerate(self.array(top["flags"], "flags")):
                flag = self.string(item, f"flags[{i}]")
                if flag not in _FLAGS:
                    self.fail(
                        item.offset,
                        f"flags[{i}]",
                        f"unknown flag (allowed: {', '.join(_FLAGS)})",
                        snippet=flag,
                    )
                flags.append(_FLAGS[flag])
        for key in ("listenerPath", "listenerMetadata"):
            if key in top and top[key].value not in (None, ""):
                self.string(top[key], key)
                self.notes.append(
                    f"{key} is not used: user notifications go to the supervisor of "
                    "'seccomp-bpf run'"
                )
        entries: list[_Entry] = []
        dropped = 0
        for i, item in enumerate(self.array(top.get("syscalls", JsonNode(None, 0)), "syscalls")):
            entry = self.read_entry(i, item, arches, default)
            if entry is None:
                dropped += 1
            elif entry.names:
                entries.append(entry)
        if dropped:
            self.notes.append(
                f"{dropped} syscalls entries do not apply to {docker_arch_name(self.machine)}, "
                f"these capabilities and kernel {self.kernel[0]}.{self.kernel[1]}"
            )
        return self.build(default, arches, flags, entries, unknown_syscall_action)

    def read_arches(self, top: dict[str, JsonNode]) -> tuple[Arch, ...]:
        listed: list[Arch] = [self.machine]
        if "architectures" in top and "archMap" in top:
            node = top["archMap"]
            if self.array(top["architectures"], "architectures") and self.array(node, "archMap"):
                self.fail(
                    node.offset, "archMap", "'architectures' and 'archMap' were both given; use one"
                )
        if "architectures" in top:
            for i, item in enumerate(self.array(top["architectures"], "architectures")):
                listed.append(self.arch(item, f"architectures[{i}]"))
        if "archMap" in top:
            for i, item in enumerate(self.array(top["archMap"], "archMap")):
                path = f"archMap[{i}]"
                fields = self.obj(item, path, _ARCHMAP_KEYS)
                if "architecture" not in fields:
                    self.fail(item.offset, path, "'architecture' is required")
                main = self.arch(fields["architecture"], f"{path}.architecture")
                subs = [
                    self.arch(sub, f"{path}.subArchitectures[{j}]")
                    for j, sub in enumerate(
                        self.array(
                            fields.get("subArchitectures", JsonNode(None, 0)),
                            f"{path}.subArchitectures",
                        )
                    )
                ]
                if main.name == self.machine.name:
                    listed.extend([main, *subs])
        unique: list[Arch] = []
        for arch in listed:
            if all(a.name != arch.name for a in unique):
                unique.append(arch)
        return tuple(unique)

    def applies(self, fields: dict[str, JsonNode], path: str, include: bool) -> bool:
        """Whether an ``includes`` (or ``excludes``) filter lets the entry through."""
        machine = docker_arch_name(self.machine)
        arches = self.strings(fields["arches"], f"{path}.arches") if "arches" in fields else []
        caps = (
            [_capability_name(c) for c in self.strings(fields["caps"], f"{path}.caps")]
            if "caps" in fields
            else []
        )
        newer = None
        if "minKernel" in fields and fields["minKernel"].value is not None:
            text = self.string(fields["minKernel"], f"{path}.minKernel")
            version = kernel_version(text)
            if version is None:
                self.fail(
                    fields["minKernel"].offset,
                    f"{path}.minKernel",
                    'must be MAJOR.MINOR, e.g. "4.8"',
                    snippet=text,
                )
            newer = self.kernel >= version
        if include:
            if arches and machine not in arches:
                return False
            if any(c not in self.capabilities for c in caps):
                return False
            return newer is None or newer
        if arches and machine in arches:
            return False
        if any(c in self.capabilities for c in caps):
            return False
        return not newer

    def read_entry(
        self, i: int, node: JsonNode, arches: tuple[Arch, ...], default: Action
    ) -> _Entry | None:
        """The entry as libseccomp will see it, or ``None`` when includes/excludes drop it.

        The whole entry is checked first, so a mistake is reported even in an entry that
        does not apply to this machine.
        """
        path = f"syscalls[{i}]"
        fields = self.obj(node, path, _SYSCALL_KEYS)
        if "action" not in fields:
            self.fail(node.offset, f"{path}.action", "is required")
        if "name" in fields and "names" in fields:
            self.fail(
                fields["name"].offset, f"{path}.name", "'name' and 'names' were both given; use one"
            )
        if "names" in fields:
            names = self.strings(fields["names"], f"{path}.names")
            if not names:
                self.fail(fields["names"].offset, f"{path}.names", "the list is empty")
            for j, name in enumerate(names):
                if not name.strip():
                    self.fail(
                        self.array(fields["names"], path)[j].offset,
                        f"{path}.names[{j}]",
                        "empty name",
                    )
        elif "name" in fields:
            names = [self.string(fields["name"], f"{path}.name")]
        else:
            self.fail(node.offset, f"{path}.names", "is required")
        action = self.action(
            fields["action"], f"{path}.action", fields.get("errnoRet"), f"{path}.errnoRet"
        )
        all_32 = all(a.bits == 32 for a in arches)
        args = self.array(fields["args"], f"{path}.args") if "args" in fields else []
        comparisons = [
            self.read_arg(item, f"{path}.args[{j}]", all_32) for j, item in enumerate(args)
        ]
        applies = True
        for key, include in (("excludes", False), ("includes", True)):
            if key in fields and fields[key].value is not None:
                filter_fields = self.obj(fields[key], f"{path}.{key}", _FILTER_KEYS)
                applies = self.applies(filter_fields, f"{path}.{key}", include) and applies
        if not applies:
            return None
        if action == default:
            self.notes.append(f"{path}: its action is the default action; skipped, as runc does")
            return _Entry(i, node, [], action, [[]])
        indexes = [index for index, _ in comparisons]
        if len(set(indexes)) != len(indexes):
            # runc: "If two or more arguments have the same condition, revert to old behavior,
            # adding each condition as a separate rule".
            alternatives = [[c] if c is not None else [] for _, c in comparisons]
        else:
            alternatives = [[c for _, c in comparisons if c is not None]]
        known = [n for n in names if any(name_is_on(a, n) for a in arches)]
        unknown = [n for n in names if n not in known]
        typos = [n for n in unknown if not _is_syscall_name(n)]
        for name in typos:
            why = unknown_name_message(name, arches, all_arches())
            if self.strict:
                if "names" in fields:
                    j = names.index(name)
                    node, where = self.array(fields["names"], path)[j], f"{path}.names[{j}]"
                else:
                    node, where = fields["name"], f"{path}.name"
                self.fail(node.offset, where, f"{why} (runc would ignore it)", snippet=name)
            self.notes.append(f"{path}: no architecture has it, ignored as runc does: {why}")
        unknown = [n for n in unknown if n not in typos]
        if unknown:
            where = ", ".join(a.name for a in arches)
            self.notes.append(f"{path}: not system calls on {where}, ignored: {', '.join(unknown)}")
        return _Entry(i, node, known, action, alternatives, set(indexes))

    def read_arg(
        self, node: JsonNode, path: str, all_32: bool
    ) -> tuple[int, Comparison | None]:
        fields = self.obj(node, path, _ARG_KEYS)
        for key in ("index", "value", "op"):
            if key not in fields:
                self.fail(node.offset, f"{path}.{key}", "is required")
        index = self.unsigned(fields["index"], f"{path}.index", 5)
        value = self.unsigned(fields["value"], f"{path}.value", _MASK64)
        value_two = (
            self.unsigned(fields["valueTwo"], f"{path}.valueTwo", _MASK64)
            if "valueTwo" in fields
            else 0
        )
        token = self.string(fields["op"], f"{path}.op")
        kind = _OPERATORS.get(token)
        if kind is None:
            self.fail(
                fields["op"].offset,
                f"{path}.op",
                f"unknown operator (allowed: {', '.join(_OPERATORS)})",
                snippet=token,
            )
        width = 32 if all_32 else 64
        mask = _MASK32 if all_32 else _MASK64
        if kind is MaskedEqual:
            # libseccomp: mask = value, datum = valueTwo & mask; a zero mask is no test at all.
            bits = value & mask
            if bits == 0:
                return index, None
            return index, MaskedEqual(index, bits, value_two & bits, width=width)
        assert issubclass(kind, ValueComparison)
        return index, kind(index, value & mask, width=width)

    # --- rules in libseccomp's order ----------------------------------------------------------

    def build(
        self,
        default: Action,
        arches: tuple[Arch, ...],
        flags: list[str],
        entries: list[_Entry],
        unknown_syscall_action: Action | None,
    ) -> Policy:
        def group(entry: _Entry) -> int:
            if entry.unconditional:
                return 0 if any(n in MULTIPLEXERS for n in entry.names) else 1
            return 2

        ordered = sorted(entries, key=lambda e: (group(e), e.index))
        rules: list[Rule] = []
        paths: list[str] = []
        for entry in ordered:
            line, column = self.lines(entry.node.offset)
            location = SourceLocation(self.source, line, column)
            rules.append(
                Rule(tuple(entry.names), entry.action, entry.condition(), location=location)
            )
            paths.append(entry.path)
        self.note_differences(arches, entries)
        policy = Policy(
            default_action=default,
            rules=tuple(rules),
            arches=tuple(a.name for a in arches),
            bad_arch_action=KILL_THREAD,
            unknown_syscall_action=unknown_syscall_action,
            multiplexer_conditions="drop",
            flags=tuple(dict.fromkeys(flags)),
            source=self.source,
            notes=tuple(self.notes),
        )
        policy.validate()
        self.check_overlaps(policy, paths)
        return policy

    def note_differences(self, arches: tuple[Arch, ...], entries: list[_Entry]) -> None:
        with_args = [e for e in entries if not e.unconditional]
        narrow = [a.name for a in arches if a.bits == 32]
        if with_args and narrow and len(narrow) != len(arches):
            self.notes.append(
                "libseccomp compares only the low 32 bits of arguments and of rule values on "
                f"{', '.join(narrow)}; this policy compares the argument the call sees (32 "
                "bits on i386, arm and o32, 64 on x32 and n32) with the whole value "
                "(different only for values above 0xffffffff)"
            )
        ipc_itself = any(e.unconditional and "ipc" in e.names for e in entries)
        for arch in arches:
            ipc_named = sorted({n for e in entries for n in e.names if n in arch.ipc})
            if ipc_named and "ipc" in arch.syscalls and not ipc_itself:
                self.notes.append(
                    f"on {arch.name}, libseccomp compares the whole first argument of ipc(2) "
                    f"with the call number of {', '.join(ipc_named)}; this policy compares its "
                    "low 16 bits, as the kernel reads it, so IPC calls with a version in the "
                    "high half also meet these rules"
                )
            multiplexed = set(arch.socketcall) | set(arch.ipc)
            for entry in with_args:
                names = [n for n in entry.names if n in multiplexed]
                if names and entry.compared_args - {0}:
                    self.notes.append(
                        f"{entry.path}: on {arch.name} libseccomp keeps its comparisons of "
                        f"arguments other than the first on the socketcall/ipc mirror of "
                        f"{', '.join(names)}; this policy drops them there"
                    )

    def check_overlaps(self, policy: Policy, paths: list[str]) -> None:
        """Refuse what first-match order cannot express: libseccomp's overlaps of rules with
        conditions and different actions (see the module docstring)."""
        for arch in policy.resolved_arches():
            resolved = policy.resolve(arch)
            for nr, entries in resolved.rules_by_nr.items():
                name = arch.syscall_name(nr) or str(nr)
                first_plain = next((k for k, e in enumerate(entries) if e.condition is None), None)
                if first_plain is not None:
                    if any(e.action != entries[first_plain].action for e in entries[:first_plain]):
                        rule = policy.rules[entries[first_plain].rule_index]
                        self.refuse(
                            rule,
                            f"{paths[entries[first_plain].rule_index]}: cannot order the rules "
                            f"for {name!r} on {arch.name} as libseccomp applies them",
                        )
                    continue
                clash = _first_clash(entries)
                if clash is not None:
                    a, b = clash
                    rule = policy.rules[b.rule_index]
                    self.refuse(
                        rule,
                        f"{paths[a.rule_index]} and {paths[b.rule_index]} give {name!r} on "
                        f"{arch.name} different actions ({a.action.describe()}, "
                        f"{b.action.describe()}) under argument conditions that can both hold; "
                        "libseccomp settles such overlaps by the shape of its decision tree, "
                        "not by order, and this conversion does not reproduce that",
                    )

    def refuse(self, rule: Rule, message: str) -> NoReturn:
        location = rule.location
        assert location is not None
        raise PolicyError(message, source=location.file, line=location.line, column=location.column)


def _capability_name(name: str) -> str:
    upper = name.strip().upper()
    return upper if upper.startswith("CAP_") else f"CAP_{upper}"


def _fixed_bits(cmp: Comparison) -> tuple[int, int] | None:
    """``(mask, value)`` when ``cmp`` pins the bits under ``mask`` to ``value``."""
    width_mask = _MASK32 if cmp.width == 32 else _MASK64
    if isinstance(cmp, Equal):
        return width_mask, cmp.value
    if isinstance(cmp, MaskedEqual):
        return cmp.mask, cmp.value
    return None


def _conjuncts(condition: Condition | None) -> list[Comparison]:
    if isinstance(condition, Comparison):
        return [condition]
    if isinstance(condition, All):
        return [c for part in condition.conditions for c in _conjuncts(part)]
    return []


def _first_clash(
    entries: Sequence[ResolvedRule],
) -> tuple[ResolvedRule, ResolvedRule] | None:
    """The first pair (in order) of entries with different actions whose conditions are not
    provably exclusive, or ``None``.

    Only entries with different actions can clash. When every entry pins one argument with
    ``==`` (an allowlist of values, say), entries pinning different values never clash, so
    only entries of one value are compared: linear for such profiles, pairwise otherwise.
    """
    if len({entry.action for entry in entries}) < 2:
        return None
    groups: list[list[int]] = [list(range(len(entries)))]
    for arg in range(6):
        pins = [_pinned(entry.condition, arg) for entry in entries]
        if all(pin is not None for pin in pins):
            by_value: dict[int | None, list[int]] = {}
            for index, pin in enumerate(pins):
                by_value.setdefault(pin, []).append(index)
            groups = list(by_value.values())
            break
    found: tuple[int, int] | None = None
    for group in groups:
        for i, j in itertools.combinations(group, 2):
            if found is not None and (i, j) >= found:
                break
            a, b = entries[i], entries[j]
            if a.action != b.action and not _exclusive(a.condition, b.condition):
                found = (i, j)
                break
    return None if found is None else (entries[found[0]], entries[found[1]])


def _pinned(condition: Condition | None, arg: int) -> int | None:
    """The value a full-width ``==`` conjunct of ``condition`` gives argument ``arg``."""
    for cmp in _conjuncts(condition):
        if isinstance(cmp, Equal) and cmp.arg == arg and cmp.width == 64:
            return cmp.value
    return None


def _exclusive(first: Condition | None, second: Condition | None) -> bool:
    """True when the two conditions provably never hold together: both pin some bits of one
    argument (``==`` or masked ``==``) to different values."""
    for a in _conjuncts(first):
        for b in _conjuncts(second):
            if a.arg != b.arg:
                continue
            fixed_a, fixed_b = _fixed_bits(a), _fixed_bits(b)
            if fixed_a is None or fixed_b is None:
                continue
            common = fixed_a[0] & fixed_b[0]
            if (fixed_a[1] & common) != (fixed_b[1] & common):
                return True
    return False


def load_oci_policy(
    text: str,
    *,
    source: str | None = None,
    capabilities: Iterable[str] | None = None,
    arch: str | None = None,
    kernel: str | None = None,
    unknown_syscall_action: Action | None = None,
    strict: bool = False,
) -> Policy:
    """Read an OCI/Docker JSON profile from ``text`` (see the module docstring).

    ``capabilities`` (``CAP_SYS_ADMIN`` or ``SYS_ADMIN``; default Docker's default set),
    ``arch`` (the machine's architecture; default this one) and ``kernel`` (a release such as
    ``"6.1.0"``; default the running kernel) resolve Docker's ``archMap``, ``includes`` and
    ``excludes``. ``strict`` refuses names that no architecture has, which runc ignores.
    """
    source = source if source is not None else "<string>"
    try:
        # Quickly first: inside each entry, nodes carry the entry's offset (json_nodes); a
        # profile with a mistake is read again exactly, to say where the mistake is.
        reader = _Reader(text, source, capabilities, arch, kernel, strict=strict, exact=False)
        return reader.read(unknown_syscall_action)
    except (PolicyError, ApproximateError):
        pass
    reader = _Reader(text, source, capabilities, arch, kernel, strict=strict)
    return reader.read(unknown_syscall_action)


def read_oci_policy(
    path: str | os.PathLike[str],
    *,
    capabilities: Iterable[str] | None = None,
    arch: str | None = None,
    kernel: str | None = None,
    unknown_syscall_action: Action | None = None,
) -> Policy:
    """Read an OCI/Docker JSON profile file; options as for :func:`load_oci_policy`."""
    from seccomp_bpf.formats.yaml_policy import read_policy_text

    name, text = read_policy_text(path)
    return load_oci_policy(
        text,
        source=name,
        capabilities=capabilities,
        arch=arch,
        kernel=kernel,
        unknown_syscall_action=unknown_syscall_action,
    )


def _is_syscall_name(name: str) -> bool:
    """Whether ``name`` is a system call of some architecture, now or once."""
    return name in RETIRED_SYSCALL_NAMES or any(name_is_on(a, name) for a in all_arches())
