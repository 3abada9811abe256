"""The Security Profiles Operator's ``SeccompProfile`` resource, written and read back.

A ``SeccompProfile`` (``security-profiles-operator.x-k8s.io/v1beta1``, the operator's
``api/seccompprofile/v1beta1/seccompprofile_types.go``) is how a profile reaches the nodes of
a Kubernetes cluster: the operator writes its ``spec`` to each node as an OCI profile
(``/var/lib/kubelet/seccomp/operator/NAMESPACE/NAME.json``) and the container runtime applies
it as runc does any OCI profile. So the ``spec`` means what the OCI profile with the same keys
means (:mod:`.oci`, :mod:`.oci_writer`), with the differences of the resource's schema:

- ``spec`` has ``defaultAction``, ``architectures``, ``syscalls`` (``names``, ``action``,
  ``errnoRet``, ``args`` of ``index``, ``value``, ``valueTwo``, ``op``), ``flags``,
  ``listenerPath``, ``listenerMetadata``, and the operator's own ``baseProfileName`` (another
  profile united with this one on the cluster) and ``state`` (``Enabled``/``Disabled``;
  older releases wrote ``disabled: true``);
- no ``defaultErrnoRet``: the default ``SCMP_ACT_ERRNO`` returns EPERM;
- ``architectures`` are one of the operator's enum (``SCMP_ARCH_X86_64``, ``SCMP_ARCH_X86``,
  ``SCMP_ARCH_X32``, ``SCMP_ARCH_AARCH64``, ``SCMP_ARCH_ARM``, the MIPS, PowerPC, s390 and
  PA-RISC ones, ``SCMP_ARCH_RISCV64``).

The writer writes ``v1beta1``; the reader reads it and the operator's ``v1`` (the same
``spec``, cluster-scoped), from YAML or JSON, and refuses a ``baseProfileName``, which names
a profile of the cluster that a file cannot hold. Numbers no table knows and calls newer than
the profile (``unknown_syscall_action``, ``newer_syscall_action``) can only get the default
action; when the policy gives them an ``errno`` and its default is ``errno(EPERM)``, they are
written as the default, which also denies them, with a note; otherwise the policy is refused.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.errors import ConversionError, PolicyError
from seccomp_bpf.policy import ERRNO
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.rules import SourceLocation

GROUP: Final = "security-profiles-operator.x-k8s.io"
API_VERSION: Final = f"{GROUP}/v1beta1"
"""What the writer writes: the version every release of the operator serves."""
API_VERSIONS: Final = (API_VERSION, f"{GROUP}/v1")
"""What the reader reads: the ``spec`` of both is the same."""
KIND: Final = "SeccompProfile"

_ARCHES: Final = frozenset(
    {
        "SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
    }
)  # fmt: skip
"""The ``Arch`` enum of the resource's schema (``+kubebuilder:validation:Enum``)."""

_SPEC_KEYS: Final = (
    "defaultAction",
    "architectures",
    "syscalls",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "baseProfileName",
    "state",
    "disabled",
)
_OPERATOR_KEYS: Final = ("baseProfileName", "state", "disabled")
_TOP_KEYS: Final = ("apiVersion", "kind", "metadata", "spec", "status")
_NAME_PART: Final = re.compile(r"[^a-z0-9.-]+")

_KIND_LINE: Final = re.compile(r'^\s*"?kind"?\s*:\s*"?SeccompProfile"?\s*,?\s*$', re.MULTILINE)
_API_LINE: Final = re.compile(
    r'^\s*"?apiVersion"?\s*:\s*"?security-profiles-operator\.x-k8s\.io/', re.MULTILINE
)


_JSON_KIND: Final = re.compile(r'"kind"\s*:\s*"SeccompProfile"')
_JSON_API: Final = re.compile(r'"apiVersion"\s*:\s*"security-profiles-operator\.x-k8s\.io/')


def looks_like_kubernetes(text: str) -> bool:
    """Whether ``text`` is a ``SeccompProfile`` resource: YAML, or JSON (``kubectl get -o
    json``, or minified)."""
    if text.lstrip().startswith("{"):
        return _JSON_KIND.search(text) is not None and _JSON_API.search(text) is not None
    return _KIND_LINE.search(text) is not None and _API_LINE.search(text) is not None


# --- the writer ---------------------------------------------------------------------------------


def resource_name(policy: Policy) -> str:
    """A name the resource may have (a DNS subdomain: lower-case letters, digits, ``-``
    and ``.``, at most 253 characters) from the policy's name or its file's."""
    import os

    base = policy.name or (
        os.path.splitext(os.path.basename(policy.source))[0] if policy.source else ""
    )
    name = _NAME_PART.sub("-", base.lower()).strip("-.")[:253].strip("-.")
    return name or "seccomp-profile"


def to_kubernetes(
    policy: Policy, *, name: str | None = None, notes: list[str] | None = None
) -> dict[str, object]:
    """``policy`` as a ``SeccompProfile`` resource (a YAML-ready dict); raises
    :class:`ConversionError` where none means the same (see the module docstring). What
    the cluster's runtime does that the policy says otherwise is appended to ``notes``."""
    from seccomp_bpf.formats.oci_writer import to_oci

    written, changes = _without_numbers_a_profile_cannot_name(policy)
    profile = to_oci(written, notes=notes)
    if notes is not None:
        notes.extend(changes)
    default_errno = profile.pop("defaultErrnoRet", None)
    if default_errno not in (None, 1):
        raise ConversionError(
            f"cannot be written as a SeccompProfile: its default action "
            f"{profile['defaultAction']} returns EPERM (the resource has no defaultErrnoRet), "
            f"and the policy's gives errno {default_errno}"
        )
    architectures = profile.get("architectures", [])
    assert isinstance(architectures, list)
    outside = [token for token in architectures if token not in _ARCHES]
    if outside:
        raise ConversionError(
            f"cannot be written as a SeccompProfile: the resource's architectures are "
            f"{', '.join(sorted(_ARCHES))}; not {', '.join(outside)} (leave them out with "
            "--arch)"
        )
    chosen = name or resource_name(policy)
    if notes is not None and policy.name and chosen != policy.name:
        notes.append(
            f"metadata.name: the policy's name {policy.name!r} is no resource name (lower-case "
            f"letters, digits, '-' and '.'); written as {chosen!r}"
        )
    metadata: dict[str, object] = {"name": chosen}
    if policy.comment:
        metadata["annotations"] = {"description": policy.comment}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": profile}


def to_kubernetes_yaml(
    policy: Policy, *, name: str | None = None, notes: list[str] | None = None
) -> str:
    """:func:`to_kubernetes` as YAML, as ``kubectl apply -f`` takes it."""
    resource = to_kubernetes(policy, name=name, notes=notes)
    return yaml.safe_dump(resource, sort_keys=False, default_flow_style=False, width=100)


def _without_numbers_a_profile_cannot_name(policy: Policy) -> tuple[Policy, list[str]]:
    """The policy with ``unknown_syscall_action`` and ``newer_syscall_action`` left to the
    default when both deny with an errno and the default is EPERM (see the module
    docstring); otherwise unchanged, for the OCI writer to judge."""
    settings = [
        (key, action)
        for key in ("unknown_syscall_action", "newer_syscall_action")
        if (action := getattr(policy, key)) is not None
    ]
    if not settings or policy.default_action != ERRNO("EPERM"):
        return policy, []
    if any(action.kind is not SeccompAction.ERRNO for _, action in settings):
        return policy, []
    what = " and ".join(f"{key} ({action.describe()})" for key, action in settings)
    note = (
        f"{what}: a SeccompProfile has no field for numbers it does not name, which get its "
        "default action, errno(EPERM), denied as well"
    )
    changed = dataclasses.replace(policy, unknown_syscall_action=None, newer_syscall_action=None)
    return changed, [note]


# --- the reader ---------------------------------------------------------------------------------


def load_kubernetes_policy(
    text: str, *, source: str | None = None, arch: str | None = None, strict: bool = False
) -> Policy:
    """Read a ``SeccompProfile`` resource from ``text``: its ``spec`` as the OCI profile it
    is on the node (``arch``: the node's architecture, this machine's by default; ``strict``
    as for :func:`~seccomp_bpf.formats.oci.load_oci_policy`). Errors name the line and
    column of the resource."""
    return _Reader(text, source or "<string>").read(arch, strict)


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def fail(self, node: Node | None, message: str, snippet: str | None = None) -> PolicyError:
        if node is None:
            return PolicyError(message, source=self.source)
        mark = node.start_mark
        return PolicyError(
            message, source=self.source, line=mark.line + 1, column=mark.column + 1,
            snippet=snippet,
        )  # fmt: skip

    def mapping(self, node: Node, path: str, allowed: tuple[str, ...]) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{path}: must be a mapping")
        fields: dict[str, Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else None
            if not isinstance(name, str) or name not in allowed:
                where = f"{path}.{name}" if path else str(name)
                raise self.fail(key, f"{where}: unknown key (allowed: {', '.join(allowed)})")
            fields[name] = value
        return fields

    def scalar(self, node: Node, path: str) -> str:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{path}: must be a string")
        return str(node.value)

    def document(self) -> MappingNode:
        try:
            documents = [d for d in yaml.compose_all(self.text, Loader=yaml.SafeLoader) if d]
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise PolicyError(
                f"not valid YAML: {getattr(error, 'problem', None) or error}",
                source=self.source,
                line=mark.line + 1 if mark is not None else None,
                column=mark.column + 1 if mark is not None else None,
            ) from None
        profiles = [d for d in documents if self.kind_of(d) == KIND]
        if len(profiles) != 1:
            found = f"{len(profiles)} SeccompProfile resources" if profiles else "none"
            raise self.fail(
                profiles[1] if len(profiles) > 1 else None,
                f"a policy is one SeccompProfile resource; this file has {found} "
                "(one file per profile)",
            )
        document = profiles[0]
        assert isinstance(document, MappingNode)
        self.check_keys(document)
        return document

    def check_keys(self, node: Node) -> None:
        """Refuse a key given twice in one mapping, anywhere: YAML would keep the last, the
        reader of the file and the API server might not."""
        if isinstance(node, MappingNode):
            first: dict[object, int] = {}
            for key, value in node.value:
                name = getattr(key, "value", None)
                if isinstance(name, str) and name in first:
                    raise self.fail(
                        key,
                        f"key {name!r} given twice (first on line {first[name]})",
                        snippet=name,
                    )
                if isinstance(name, str):
                    first[name] = key.start_mark.line + 1
                self.check_keys(value)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                self.check_keys(item)

    @staticmethod
    def kind_of(document: Node) -> str | None:
        if isinstance(document, MappingNode):
            for key, value in document.value:
                if getattr(key, "value", None) == "kind" and isinstance(value, ScalarNode):
                    return str(value.value)
        return None

    def read(self, arch: str | None, strict: bool) -> Policy:
        from seccomp_bpf.formats.oci import load_oci_policy

        top = self.mapping(self.document(), "", _TOP_KEYS)
        version = self.scalar(top["apiVersion"], "apiVersion") if "apiVersion" in top else ""
        if version not in API_VERSIONS:
            raise self.fail(
                top.get("apiVersion"),
                f"apiVersion: {version or 'missing'}; this reads {' and '.join(API_VERSIONS)}",
            )
        name = None
        comment = None
        if "metadata" in top and isinstance(top["metadata"], MappingNode):
            for key, value in top["metadata"].value:
                if key.value == "name" and isinstance(value, ScalarNode):
                    name = str(value.value)
                if key.value == "annotations" and isinstance(value, MappingNode):
                    for k, v in value.value:
                        if k.value == "description" and isinstance(v, ScalarNode):
                            comment = str(v.value)
        if "spec" not in top:
            raise self.fail(top["kind"], "spec: is required")
        spec_node = top["spec"]
        spec = self.mapping(spec_node, "spec", _SPEC_KEYS)
        assert isinstance(spec_node, MappingNode)
        notes: list[str] = []
        base = spec.get("baseProfileName")
        if base is not None and self.scalar(base, "spec.baseProfileName"):
            raise self.fail(
                spec["baseProfileName"],
                "spec.baseProfileName: the base profile is another resource of the cluster, "
                "united with this one there; a file cannot hold it: write the union (seccomp-bpf "
                "profile --merge) into one profile",
            )
        state = self.scalar(spec["state"], "spec.state") if "state" in spec else "Enabled"
        if state not in ("Enabled", "Disabled"):
            raise self.fail(spec["state"], "spec.state: Enabled or Disabled", snippet=state)
        old_flag = self.scalar(spec["disabled"], "spec.disabled") if "disabled" in spec else ""
        disabled = state == "Disabled" or old_flag.lower() == "true"
        if disabled:
            notes.append("spec: the profile is disabled: the operator does not install it")
        body, lines = self.oci_text(spec_node)
        try:
            policy = load_oci_policy(body, source=self.source, arch=arch, strict=strict)
        except PolicyError as error:
            raise self.located(error, spec_node) from None
        rules = []
        for rule in policy.rules:
            location = rule.location
            if location is not None and location.line in lines:
                mark = lines[location.line].start_mark
                location = SourceLocation(self.source, mark.line + 1, mark.column + 1)
            rules.append(dataclasses.replace(rule, location=location))
        return dataclasses.replace(
            policy,
            rules=tuple(rules),
            name=name,
            comment=comment,
            notes=(*(_spec_path(note) for note in policy.notes), *notes),
        )

    def oci_text(self, spec_node: MappingNode) -> tuple[str, dict[int, Node]]:
        """The OCI profile the operator writes from ``spec``: JSON with each ``syscalls``
        entry on a line of its own, and which entry's node each of those lines is."""
        loader = yaml.SafeLoader("")
        head: dict[str, object] = {}
        entries: list[Node] = []
        for key, value in spec_node.value:
            if key.value in _OPERATOR_KEYS:
                continue
            if key.value == "syscalls":
                if not isinstance(value, SequenceNode):
                    raise self.fail(value, "spec.syscalls: must be a list")
                entries = list(value.value)
                continue
            head[key.value] = loader.construct_object(value, deep=True)
        lines = [json.dumps(head, default=str)[:-1] + (", " if head else "") + '"syscalls": [']
        by_line: dict[int, Node] = {}
        for index, entry in enumerate(entries):
            item = loader.construct_object(entry, deep=True)
            errno_ret = item.get("errnoRet") if isinstance(item, dict) else None
            if isinstance(errno_ret, str) and errno_ret.isdigit():
                item["errnoRet"] = int(errno_ret)  # the first v1beta1 releases: a string
            comma = "," if index + 1 < len(entries) else ""
            lines.append(json.dumps(item, default=str) + comma)
            by_line[len(lines)] = entry
        lines.append("]}")
        return "\n".join(lines) + "\n", by_line

    def located(self, error: PolicyError, spec_node: Node) -> PolicyError:
        """The OCI reader's error, at the node of the resource its path names."""
        path, _, message = error.message.partition(": ")
        node = _node_at(spec_node, path) if message and _STEP.match(path) else None
        if node is None:
            return self.fail(spec_node, f"spec: {error.message}")
        # the snippet is the resource's own text, not the OCI profile's
        snippet = str(node.value) if isinstance(node, ScalarNode) else None
        return self.fail(node, f"spec.{path}: {message}", snippet)


_STEP: Final = re.compile(r"([A-Za-z]+)((?:\[\d+\])*)")


def _node_at(root: Node, path: str) -> Node | None:
    """The node at ``syscalls[3].args[0].op`` under ``root``, or its nearest ancestor."""
    node: Node = root
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if match is None or not isinstance(node, MappingNode):
            return node
        child = next((v for k, v in node.value if k.value == match.group(1)), None)
        if child is None:
            return node
        node = child
        for index in re.findall(r"\[(\d+)\]", match.group(2)):
            if not isinstance(node, SequenceNode) or int(index) >= len(node.value):
                return node
            node = node.value[int(index)]
    return node


def _spec_path(note: str) -> str:
    """A note of the OCI reader with its path under ``spec``."""
    return f"spec.{note}" if note.startswith("syscalls[") else note
