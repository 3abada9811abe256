"""The precompiled default programs (``seccomp_bpf/policies/precompiled/``): each is exactly
what compiling the default policy gives now, for every ABI shipped, and a program that is
not (changed bytes, an edited policy, a missing manifest) is never used."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from seccomp_bpf.arch import all_arches, get_arch, native_arch
from seccomp_bpf.arch.table_source import tables_version
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import SeccompBPFError
from seccomp_bpf.policies import precompiled
from seccomp_bpf.policies.default import default_policy
from seccomp_bpf.policies.precompiled import (
    DIRECTORY,
    compile_default,
    precompiled_default,
    shipped_arches,
)

SHIPPED = shipped_arches()
SOURCE = Path(precompiled.__file__).with_name("default.yaml")


def test_every_abi_the_default_compiles_for_is_shipped() -> None:
    compilable = set()
    for arch in all_arches():
        try:
            compile_default(arch.name)
        except SeccompBPFError:
            continue
        compilable.add(arch.name)
    assert set(SHIPPED) == compilable
    assert native_arch().name in SHIPPED


@pytest.mark.parametrize("arch", SHIPPED)
def test_the_precompiled_program_is_a_fresh_compile(arch: str) -> None:
    shipped = precompiled_default(arch)
    assert shipped is not None
    program, flags = compile_default(arch)
    assert shipped.program == program
    assert shipped.flags == flags
    stored = (Path(DIRECTORY) / f"default-{arch}.bpf").read_bytes()
    assert stored == program.to_bytes(get_arch(arch).byteorder)  # in the ABI's byte order


def test_the_native_program_is_what_run_would_compile() -> None:
    shipped = precompiled_default(native_arch().name)
    assert shipped is not None
    assert shipped.program == compile_policy(default_policy())


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "precompiled"
    shutil.copytree(DIRECTORY, directory)
    return directory


def test_changed_bytes_are_not_used(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    arch = native_arch().name
    target = directory / f"default-{arch}.bpf"
    data = bytearray(target.read_bytes())
    data[-1] ^= 1  # the last RET's value
    target.write_bytes(bytes(data))
    assert precompiled_default(arch, directory=str(directory)) is None
    target.write_bytes(bytes(data[:-8]))  # one instruction short
    assert precompiled_default(arch, directory=str(directory)) is None


def test_a_program_matching_a_changed_manifest_must_still_be_valid(tmp_path: Path) -> None:
    """Bytes and manifest changed together (the package's own files, rewritten): the program
    is still validated; one the kernel would refuse is not used."""
    directory = _copy(tmp_path)
    arch = native_arch().name
    junk = b"\x06\x00\x00\x00\x00\x00\xff\x7f" + b"\xff" * 8  # RET ALLOW, then no opcode
    (directory / f"default-{arch}.bpf").write_bytes(junk)
    manifest = directory / "MANIFEST"
    lines = [
        f"{arch} {hashlib.sha256(junk).hexdigest()}" if line.startswith(f"{arch} ") else line
        for line in manifest.read_text().splitlines()
    ]
    manifest.write_text("\n".join(lines) + "\n")
    assert precompiled_default(arch, directory=str(directory)) is None


def test_an_edited_policy_is_compiled_afresh(tmp_path: Path) -> None:
    edited = tmp_path / "default.yaml"
    edited.write_text(SOURCE.read_text() + "\n# edited\n")
    assert precompiled_default(native_arch().name, source=str(edited)) is None
    assert precompiled_default(native_arch().name, source=str(SOURCE)) is not None


def test_no_manifest_or_unknown_abi(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    assert precompiled_default("sh", directory=str(directory)) is None  # does not compile
    assert precompiled_default("../precompiled/default-x86_64", directory=str(directory)) is None
    (directory / "MANIFEST").unlink()
    assert precompiled_default(native_arch().name, directory=str(directory)) is None


def test_programs_of_other_system_call_tables_are_not_used(tmp_path: Path) -> None:
    """Compiled with another version of the system-calls tables (an upgrade since the build),
    the programs may number calls otherwise: the policy is compiled afresh."""
    directory = _copy(tmp_path)
    manifest = directory / "MANIFEST"
    text = manifest.read_text()
    assert f"\ntables {tables_version()}\n" in text
    arch = native_arch().name
    assert precompiled_default(arch, directory=str(directory)) is not None
    manifest.write_text(text.replace(f"\ntables {tables_version()}\n", "\ntables 6.1.0\n"))
    assert precompiled_default(arch, directory=str(directory)) is None
    manifest.write_text(text.replace(f"\ntables {tables_version()}\n", "\n"))
    assert precompiled_default(arch, directory=str(directory)) is None


@pytest.mark.parametrize("arch", SHIPPED)
def test_every_shipped_program_lets_its_abi_exec(arch: str) -> None:
    """What lets `run` skip emulating execve on a precompiled program (CompiledPolicy's
    exec_checked): each shipped program allows execve and execveat on its own ABI, whatever
    their arguments."""
    from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate

    shipped = precompiled_default(arch)
    assert shipped is not None
    abi = get_arch(arch)
    for name in ("execve", "execveat"):
        nr = abi.syscall_number(name)
        assert nr is not None
        for args in ((0,) * 6, (2**64 - 1,) * 6, (0x1000, 0x2000, 0x3000, 0, 0, 0)):
            data = SeccompData(nr, abi.audit_arch, args=args, byteorder=abi.byteorder)
            assert emulate(shipped.program, data).action is SeccompAction.ALLOW, (name, args)


def test_run_finds_the_native_program_without_the_abi_tables() -> None:
    """`run` names its ABI with arch.machine and reads the program in this machine's byte
    order: the same program as looking the ABI up in the registry."""
    import sys

    from seccomp_bpf.arch.machine import native_abi_name

    assert native_abi_name() == native_arch().name
    assert native_arch().byteorder == sys.byteorder
    light = precompiled.native_precompiled_default()
    assert light is not None
    assert light.arch == native_arch().name
    shipped = precompiled_default(native_arch().name)
    assert shipped is not None
    assert light.program == shipped.program
