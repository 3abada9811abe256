"""Every output format of a policy behind one function, for ``seccomp-bpf convert``.

================  ===========================================================================
``yaml``          the project's YAML (:mod:`.yaml_writer`); reads back equal
``oci``           an OCI runtime-spec profile (:mod:`.oci_writer`), exactly or refused
``docker``        the same with Docker's ``archMap`` and a comment per entry
``kubernetes``    the Security Profiles Operator's ``SeccompProfile`` (:mod:`.kubernetes`)
``raw``           the compiled program as ``struct sock_filter`` records in the byte order
                  of the policy's architectures (:func:`program_byteorder`): what
                  bubblewrap's ``--seccomp FD`` and ``seccomp(2)`` take on that machine
``c``             the compiled program as a C array (:func:`.program_output.to_c`)
``go-seccomp-bpf``  an elastic/go-seccomp-bpf policy (:mod:`.go_writer`), where expressible
================  ===========================================================================
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final, Literal

from seccomp_bpf.errors import ConversionError

if TYPE_CHECKING:
    from seccomp_bpf.arch import ByteOrder
    from seccomp_bpf.policy.policy import Policy

ExportFormat = Literal["yaml", "oci", "docker", "kubernetes", "raw", "c", "go-seccomp-bpf"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = (
    "yaml",
    "oci",
    "docker",
    "kubernetes",
    "raw",
    "c",
    "go-seccomp-bpf",
)
_BY_EXTENSION: Final[dict[str, ExportFormat]] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "oci",
    ".bpf": "raw",
    ".raw": "raw",
    ".h": "c",
    ".c": "c",
}


def format_for_path(path: str) -> ExportFormat | None:
    """The format a file name asks for by its extension (``.yaml``, ``.json``, ``.bpf``,
    ``.h``...), or ``None``."""
    return _BY_EXTENSION.get(os.path.splitext(path)[1].lower())


def program_byteorder(policy: Policy) -> ByteOrder:
    """The byte order of a raw program for ``policy``: its architectures'.

    A raw program is loaded by a kernel of one of its architectures, which reads the records
    in its own byte order, so a program for s390x or ppc64 is big-endian, as libseccomp's
    ``seccomp_export_bpf`` writes it. One program for architectures of both byte orders
    cannot be raw bytes for all of them (libseccomp refuses to mix them in one filter,
    ``-EDOM``): :class:`~seccomp_bpf.errors.ConversionError`, naming them, for that.
    """
    arches = policy.resolved_arches()
    orders = {arch.byteorder for arch in arches}
    if len(orders) == 1:
        return arches[0].byteorder
    little = ", ".join(a.name for a in arches if a.byteorder == "little")
    big = ", ".join(a.name for a in arches if a.byteorder == "big")
    raise ConversionError(
        f"a raw program is in one byte order, and the policy's architectures have two "
        f"(little-endian: {little}; big-endian: {big}): write one program per byte order "
        "(--arch), or a C array or listing, which have no byte order"
    )


def export_policy(
    policy: Policy, format: ExportFormat, notes: list[str] | None = None
) -> bytes:
    """``policy`` written in ``format`` (see the module docstring). Text formats are UTF-8.

    Raises :class:`~seccomp_bpf.errors.ConversionError` when the format cannot express the
    policy exactly, and :class:`~seccomp_bpf.errors.CompileError` when it does not compile.
    What the format's runtime does that the policy says otherwise (an OCI profile's kill of
    the thread for ``bad_arch_action: kill_process``) is appended to ``notes``.
    """
    if format == "yaml":
        from seccomp_bpf.formats.yaml_writer import to_yaml

        return to_yaml(policy).encode()
    if format in ("oci", "docker"):
        from seccomp_bpf.formats.oci_writer import to_oci_json

        return to_oci_json(policy, docker=format == "docker", notes=notes).encode()
    if format == "kubernetes":
        from seccomp_bpf.formats.kubernetes import to_kubernetes_yaml

        return to_kubernetes_yaml(policy, notes=notes).encode()
    if format == "go-seccomp-bpf":
        from seccomp_bpf.formats.go_writer import to_go_seccomp_bpf

        return to_go_seccomp_bpf(policy).encode()
    from seccomp_bpf.arch import ArchSymbols
    from seccomp_bpf.compiler import compile_policy
    from seccomp_bpf.formats.program_output import to_c

    if format == "raw":
        byteorder = program_byteorder(policy)  # refuses before compiling
        return compile_policy(policy).to_bytes(byteorder)
    program = compile_policy(policy)
    if format == "c":
        first = policy.resolved_arches()[0]
        symbols = ArchSymbols(default=first)
        return to_c(program, symbols=symbols, byteorder=first.byteorder).encode()
    raise ValueError(f"unknown format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}")
