"""Policy file formats: YAML (with go-seccomp-bpf files), OCI/Docker JSON profiles and the
Security Profiles Operator's ``SeccompProfile`` resources (Kubernetes).

The readers of each format are imported when first used (:mod:`seccomp_bpf.lazy`): the command
line reads the names of the output formats from here without loading any of them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.lazy import lazy_exports

if TYPE_CHECKING:
    from seccomp_bpf.formats.kubernetes import load_kubernetes_policy
    from seccomp_bpf.formats.oci import (
        DOCKER_DEFAULT_CAPABILITIES,
        load_oci_policy,
        read_oci_policy,
    )
    from seccomp_bpf.formats.yaml_policy import load_yaml_policy, read_yaml_policy
    from seccomp_bpf.policy.policy import Policy

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "seccomp_bpf.formats.kubernetes": "load_kubernetes_policy",
        "seccomp_bpf.formats.oci": "DOCKER_DEFAULT_CAPABILITIES load_oci_policy read_oci_policy",
        "seccomp_bpf.formats.yaml_policy": "load_yaml_policy read_yaml_policy",
    },
)

_OCI_KEY = re.compile(r'"defaultAction"\s*:')
# A top-level key of a policy at the start of a line: this project's YAML, OCI JSON written
# one key a line, go-seccomp-bpf's ``seccomp:`` and ``policy:``, a Kubernetes resource's
# ``apiVersion:``.
_POLICY_KEY = re.compile(
    rb'^\s*"?(default_action|defaultAction|seccomp|policy|apiVersion)"?\s*:', re.MULTILINE
)


def looks_like_oci(text: str) -> bool:
    """Whether ``text`` is an OCI/Docker JSON profile rather than a YAML policy: a JSON object
    with a ``"defaultAction"`` key (the YAML format spells it ``default_action``)."""
    return text.lstrip().startswith("{") and _OCI_KEY.search(text) is not None


def looks_like_policy(data: bytes) -> bool:
    """Whether a file holds a policy (YAML, OCI/Docker JSON) rather than a program (raw
    ``struct sock_filter`` records or assembly text): text that opens a JSON object or a
    YAML flow mapping (``{``, minified profiles included), or has a policy's top-level key
    at the start of a line. Assembly text never opens with ``{``; raw records hold NUL
    bytes."""
    if b"\0" in data:
        return False
    if data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
        return True
    return _POLICY_KEY.search(data) is not None


def load_policy_text(
    text: str,
    *,
    source: str | None = None,
    arches: Sequence[str] | None = None,
    strict: bool = False,
) -> Policy:
    """Read a policy in any format, telling them apart with
    :func:`~seccomp_bpf.formats.kubernetes.looks_like_kubernetes` and :func:`looks_like_oci`.

    ``arches``, when given, are the architectures to use: for a YAML policy they replace its
    ``arches`` (before its groups and rule sets are resolved); for an OCI/Docker profile
    there must be one, the machine architecture that Docker's ``archMap`` and
    ``includes``/``excludes`` are resolved for. ``strict`` refuses in an OCI/Docker profile
    what runc ignores and a YAML policy refuses: names that no architecture has.
    """
    from seccomp_bpf.formats.kubernetes import load_kubernetes_policy, looks_like_kubernetes
    from seccomp_bpf.formats.oci import load_oci_policy
    from seccomp_bpf.formats.yaml_policy import load_yaml_policy

    kubernetes = looks_like_kubernetes(text)
    if kubernetes or looks_like_oci(text):
        if arches is not None and len(arches) != 1:
            raise PolicyError(
                "an OCI/Docker profile is resolved for one machine architecture; "
                f"give one, not {len(arches)}",
                source=source,
            )
        arch = arches[0] if arches else None
        if kubernetes:
            return load_kubernetes_policy(text, source=source, arch=arch, strict=strict)
        return load_oci_policy(text, source=source, arch=arch, strict=strict)
    return load_yaml_policy(text, source=source, arches=arches)


def read_policy_file(
    path: str | os.PathLike[str], *, arches: Sequence[str] | None = None
) -> Policy:
    """Read a policy file in either format; ``arches`` as for :func:`load_policy_text`."""
    from seccomp_bpf.formats.yaml_policy import read_policy_text

    name, text = read_policy_text(path)
    return load_policy_text(text, source=name, arches=arches)


__all__ = [
    "DOCKER_DEFAULT_CAPABILITIES",
    "load_kubernetes_policy",
    "load_oci_policy",
    "load_policy_text",
    "load_yaml_policy",
    "looks_like_oci",
    "looks_like_policy",
    "read_oci_policy",
    "read_policy_file",
    "read_yaml_policy",
]
