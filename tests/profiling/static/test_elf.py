"""Reading ELF files: programs built here, a hand-made one, and files that are not ELF."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_bpf.errors import BinaryAnalysisError
from seccomp_bpf.profiling.static.elf import read_elf
from tests.profiling.static.programs import TINY, TINY_BASE, TINY_CODE, Built, tiny_aarch64


def test_hand_made_static_program(tmp_path: Path) -> None:
    elf = read_elf(str(tiny_aarch64(tmp_path / "tiny")))
    start = TINY_BASE + TINY_CODE
    assert (elf.arch, elf.kind, elf.word, elf.entry) == ("aarch64", "exec", 8, start)
    assert elf.interpreter is None and elf.needed == () and not elf.dynamic
    offsets = {name: offset for name, offset, _ in TINY if name}
    assert elf.symbols == {start + offset: name for name, offset in offsets.items()}
    assert [section.name for section in elf.code] == [".text"]
    assert elf.fde_ranges == []


def test_dynamic_program(built_x86_64: Built) -> None:
    elf = read_elf(str(built_x86_64.program))
    assert elf.arch == "x86_64" and elf.kind == "dyn" and elf.pie
    assert elf.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert elf.needed == ("libunit.so", "libc.so.6")
    assert elf.runpath == ("$ORIGIN/lib",) and elf.rpath == ()
    assert {"syscall", "lib_used", "printf"} <= set(elf.got_imports.values())
    by_name = {name: address for address, name in elf.symbols.items()}
    # `hook` holds the address of `pointed`: a relative relocation in data.
    assert by_name["pointed"] in elf.data_refs
    assert by_name["main"] in {start for start, _ in elf.fde_ranges}
    assert not elf.is_library


def test_library(built_x86_64: Built) -> None:
    elf = read_elf(str(built_x86_64.library))
    assert elf.is_library
    assert set(elf.exports) >= {"lib_used", "lib_unused"}


def test_not_an_elf_file(tmp_path: Path) -> None:
    path = tmp_path / "script"
    path.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(BinaryAnalysisError, match=r"script: not a readable ELF file"):
        read_elf(str(path))


def test_unsupported_machine(tmp_path: Path) -> None:
    data = bytearray(tiny_aarch64(tmp_path / "tiny").read_bytes())
    data[18:20] = (243).to_bytes(2, "little")  # EM_RISCV
    path = tmp_path / "riscv"
    path.write_bytes(bytes(data))
    with pytest.raises(BinaryAnalysisError, match=r"riscv: .*not an ABI the static profiler"):
        read_elf(str(path))


@pytest.mark.parametrize("length", [10, 64, 200])
def test_truncated_file(tmp_path: Path, length: int) -> None:
    path = tmp_path / "cut"
    path.write_bytes(tiny_aarch64(tmp_path / "tiny").read_bytes()[:length])
    with pytest.raises(BinaryAnalysisError, match=r"cut: "):
        read_elf(str(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BinaryAnalysisError, match=r"none: No such file"):
        read_elf(str(tmp_path / "none"))
