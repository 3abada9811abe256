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
    flags <the policy's filter flags, comma-separated, or ->
    ARCH <sha256 of default-ARCH.bpf>
    ...

A program is used only when ``default.yaml`` is the file it was compiled from (an edited
policy is compiled afresh) and its bytes are those the manifest names; anything else is
compiled as if there were no precompiled program. ``tests/policies/test_precompiled.py``
recompiles every shipped program and compares, so a change of the policy or of the compiler
that is not followed by ``python -m seccomp_bpf.policies.precompiled`` (which writes them
again) fails the tests.

The default policy has no ``sandbox:`` section (``seccomp-bpf run`` applies its own
defaults): the generator refuses one, since a precompiled program carries no sandbox.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import InvalidProgramError

DIRECTORY: Final = os.path.join(os.path.dirname(__file__), "precompiled")
"""Where the programs and their manifest are."""

MANIFEST: Final = "MANIFEST"

_SOURCE: Final = os.path.join(os.path.dirname(__file__), "default.yaml")


@dataclass(frozen=True)
class PrecompiledDefault:
    """The default policy's program for one ABI (and its compat ABIs), and its filter
    flags."""

    arch: str
    program: Program
    flags: tuple[str, ...]


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
            return hashlib.sha256(stream.read()).hexdigest()
    except OSError:
        return None


def precompiled_default(
    arch: str, *, directory: str = DIRECTORY, source: str = _SOURCE
) -> PrecompiledDefault | None:
    """The default policy compiled for ``arch`` and its compat ABIs, or None when none is
    shipped for it, ``default.yaml`` is not the file it was compiled from, or its bytes are
    not those of the manifest."""
    manifest = _manifest(directory)
    if manifest is None or manifest.get("source") != _sha256_of(source):
        return None
    expected = manifest.get(arch)
    if expected is None or "/" in arch:
        return None
    try:
        with open(os.path.join(directory, f"default-{arch}.bpf"), "rb") as stream:
            data = stream.read()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != expected:
        return None
    from seccomp_bpf.arch import get_arch

    try:
        program = Program.from_bytes(data, get_arch(arch).byteorder)
    except InvalidProgramError:
        return None
    flags = manifest.get("flags", "-")
    return PrecompiledDefault(arch, program, tuple(flags.split(",")) if flags != "-" else ())


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
    return tuple(sorted(key for key in manifest if key not in ("source", "flags")))


def write_all(directory: str = DIRECTORY) -> list[str]:
    """Compile the default policy for every ABI it compiles for and write the programs and
    the manifest into ``directory``; the ABIs written. The policy does not compile for some
    (it names calls they lack): they are left out and compiled when used."""
    from seccomp_bpf.arch import all_arches
    from seccomp_bpf.errors import SeccompBPFError

    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.startswith("default-") and name.endswith(".bpf"):
            os.unlink(os.path.join(directory, name))
    lines = [
        "# The default policy, compiled: python -m seccomp_bpf.policies.precompiled writes",
        "# this directory again (see seccomp_bpf/policies/precompiled.py).",
        f"source {_sha256_of(_SOURCE)}",
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
        lines.append(f"{arch.name} {hashlib.sha256(data).hexdigest()}")
        written.append(arch.name)
    (policy_flags,) = flags  # one policy: the same flags for every ABI
    lines.insert(3, f"flags {','.join(policy_flags) or '-'}")
    with open(os.path.join(directory, MANIFEST), "w", encoding="ascii") as stream:
        stream.write("\n".join(lines) + "\n")
    return written


def main() -> int:
    written = write_all()
    print(f"wrote the default policy for {len(written)} ABIs: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
