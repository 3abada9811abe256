"""The built-in default policy, compiled in advance for each architecture it ships for.

``seccomp-bpf run -- CMD`` and :class:`seccomp_bpf.Popen` without a policy apply the default
policy for this machine's ABI and its compat ABIs (``native+compat``). Reading its YAML and
compiling it costs tens of milliseconds each time; the programs in ``precompiled/`` (beside
this module) are the same programs, compiled once: ``default-ARCH.bpf`` is
``compile_policy(default_policy("ARCH+compat"))`` as raw ``struct sock_filter`` records in
ARCH's byte order, as ``seccomp-bpf compile`` writes them.

``precompiled/MANIFEST`` ties them to the policy they were compiled from and to their
contents::

    source <sha256 of default.yaml>
    tables <the Linux version of the system-calls tables it was compiled with>
    flags <the policy's filter flags, comma-separated, or ->
    ARCH <sha256 of default-ARCH.bpf>
    ...

A program is used only when ``default.yaml`` is the file it was compiled from (an edited
policy is compiled afresh), the ``system-calls`` tables are of the Linux version it was
compiled with (other tables may number calls differently) and its bytes are those the
manifest names; anything else is compiled as if there were no precompiled program.
``tests/policies/test_precompiled.py`` recompiles every shipped program and compares, so a
change of the policy or of the compiler that is not followed by ``python -m
seccomp_bpf.policies.precompiled`` (which writes them again) fails the tests.

The default policy has no ``sandbox:`` section (``seccomp-bpf run`` applies its own
defaults): the generator refuses one, since a precompiled program carries no sandbox.
"""

from __future__ import annotations

import os
import sys

from seccomp_bpf.bpf.instruction import ByteOrder, Program
from seccomp_bpf.errors import InvalidProgramError

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final

DIRECTORY: Final = os.path.join(os.path.dirname(__file__), "precompiled")
"""Where the programs and their manifest are."""

MANIFEST: Final = "MANIFEST"

_SOURCE: Final = os.path.join(os.path.dirname(__file__), "default.yaml")


class PrecompiledDefault:
    """The default policy's program for one ABI (and its compat ABIs), and its filter
    flags. ``execve`` is allowed on that ABI: ``tests/policies/test_precompiled.py`` emulates
    every shipped program on it, so starting a command need not."""

    __slots__ = ("arch", "flags", "program")

    def __init__(self, arch: str, program: Program, flags: tuple[str, ...]) -> None:
        self.arch = arch
        self.program = program
        self.flags = flags


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data``, in hexadecimal, from the module that :mod:`hashlib` wraps
    when it has it: importing hashlib starts OpenSSL, which would cost the start-up of a
    confined command two milliseconds for two small files."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # Python 3.12 on
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found]  # Python 3.11
        except ImportError:
            from hashlib import sha256
    digest: str = sha256(data).hexdigest()
    return digest


def _manifest(directory: str) -> dict[str, str] | None:
    try:
        with open(os.path.join(directory, MANIFEST), encoding="ascii") as stream:
            lines = stream.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    entries: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition(" ")
        if key and value and not key.startswith("#"):
            entries[key] = value
    return entries


def _sha256_of(path: str) -> str | None:
    try:
        with open(path, "rb") as stream:
            return sha256_hex(stream.read())
    except OSError:
        return None


def precompiled_default(
    arch: str,
    *,
    byteorder: ByteOrder | None = None,
    directory: str = DIRECTORY,
    source: str = _SOURCE,
) -> PrecompiledDefault | None:
    """The default policy compiled for ``arch`` and its compat ABIs, or None when none is
    shipped for it, ``default.yaml`` is not the file it was compiled from, or its bytes are
    not those of the manifest. ``byteorder`` is ``arch``'s (None: looked up; this process's
    own ABI is in :data:`sys.byteorder`)."""
    manifest = _manifest(directory)
    if manifest is None or manifest.get("source") != _sha256_of(source):
        return None
    from seccomp_bpf.arch.table_source import tables_version

    if manifest.get("tables") != tables_version():  # other numbers: compiled afresh
        return None
    expected = manifest.get(arch)
    if expected is None or "/" in arch:
        return None
    try:
        with open(os.path.join(directory, f"default-{arch}.bpf"), "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    if sha256_hex(data) != expected:
        return None
    if byteorder is None:
        from seccomp_bpf.arch import get_arch

        byteorder = get_arch(arch).byteorder
    try:
        program = Program.from_bytes(data, byteorder)
    except InvalidProgramError:
        return None
    flags = manifest.get("flags", "-")
    return PrecompiledDefault(arch, program, tuple(flags.split(",")) if flags != "-" else ())


def native_precompiled_default() -> PrecompiledDefault | None:
    """The default policy compiled for this process's ABI (named without the ABI tables, read
    in this machine's byte order), or None as :func:`precompiled_default` says."""
    from seccomp_bpf.arch.machine import native_abi_name

    native = native_abi_name()
    return None if native is None else precompiled_default(native, byteorder=sys.byteorder)


def compile_default(arch: str) -> tuple[Program, tuple[str, ...]]:
    """Compile the default policy for ``arch`` and its compat ABIs: the program and the
    policy's filter flags (what :func:`precompiled_default` gives, compiled now)."""
    from seccomp_bpf.compiler import compile_policy
    from seccomp_bpf.policies.default import default_policy

    policy = default_policy(f"{arch}+compat")
    if policy.sandbox is not None:
        raise ValueError("the default policy has a sandbox section, which a program cannot hold")
    return compile_policy(policy), tuple(sorted(policy.flags))


def shipped_arches(directory: str = DIRECTORY) -> tuple[str, ...]:
    """The ABIs a precompiled default program is shipped for."""
    manifest = _manifest(directory) or {}
    return tuple(sorted(key for key in manifest if key not in ("source", "tables", "flags")))


def write_all(directory: str = DIRECTORY) -> list[str]:
    """Compile the default policy for every ABI it compiles for and write the programs and
    the manifest into ``directory``; the ABIs written. The policy does not compile for some
    (it names calls they lack): they are left out and compiled when used."""
    from seccomp_bpf.arch import all_arches
    from seccomp_bpf.arch.table_source import tables_version
    from seccomp_bpf.errors import SeccompBPFError

    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.startswith("default-") and name.endswith(".bpf"):
            os.unlink(os.path.join(directory, name))
    lines = [
        "# The default policy, compiled: python -m seccomp_bpf.policies.precompiled writes",
        "# this directory again (see seccomp_bpf/policies/precompiled.py).",
        f"source {_sha256_of(_SOURCE)}",
        f"tables {tables_version()}",
    ]
    written: list[str] = []
    flags: set[tuple[str, ...]] = set()
    for arch in all_arches():
        try:
            program, policy_flags = compile_default(arch.name)
        except SeccompBPFError:
            continue
        flags.add(policy_flags)
        data = program.to_bytes(arch.byteorder)
        with open(os.path.join(directory, f"default-{arch.name}.bpf"), "wb") as stream:
            stream.write(data)
        lines.append(f"{arch.name} {sha256_hex(data)}")
        written.append(arch.name)
    (policy_flags,) = flags  # one policy: the same flags for every ABI
    lines.insert(4, f"flags {','.join(policy_flags) or '-'}")
    with open(os.path.join(directory, MANIFEST), "w", encoding="ascii") as stream:
        stream.write("\n".join(lines) + "\n")
    return written


def main() -> int:
    written = write_all()
    print(f"wrote the default policy for {len(written)} ABIs: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
