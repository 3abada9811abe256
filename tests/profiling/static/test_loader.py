"""Finding libraries as the loader does: RUNPATH/RPATH with $ORIGIN, --library-path, the
cache, the default directories, a sysroot, and clear errors."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from seccomp_bpf.errors import BinaryAnalysisError
from seccomp_bpf.profiling.static.loader import SearchOptions, load_program
from tests.profiling.static.programs import Built, compiler_for


def test_the_loaders_order(built_x86_64: Built) -> None:
    loaded = load_program(str(built_x86_64.program))
    found = [(obj.label, obj.role, obj.found) for obj in loaded.objects]
    assert found[0] == ("prog", "program", "path")
    assert found[1] == ("libunit.so", "needed", "DT_RUNPATH")
    assert found[2][:2] == ("libc.so.6", "needed")
    assert found[-1][1] == "interpreter"
    assert loaded.objects[1].path == os.path.join(built_x86_64.program.parent, "lib/libunit.so")


def test_library_not_found(built_x86_64: Built, tmp_path: Path) -> None:
    moved = tmp_path / "prog"
    shutil.copy(built_x86_64.program, moved)
    with pytest.raises(BinaryAnalysisError, match=r"libunit.so \(needed by prog\) not found"):
        load_program(str(moved))
    # What LD_LIBRARY_PATH would give.
    loaded = load_program(
        str(moved), options=SearchOptions(library_path=[str(built_x86_64.library.parent)])
    )
    assert loaded.objects[1].found == "--library-path"


def test_rpath_of_the_program(built_x86_64: Built, tmp_path: Path) -> None:
    """DT_RPATH (no DT_RUNPATH): searched before --library-path, $ORIGIN expanded."""
    source = built_x86_64.program.parent / "prog.c"
    program = tmp_path / "bin" / "old"
    program.parent.mkdir()
    shutil.copytree(built_x86_64.library.parent, tmp_path / "lib")
    subprocess.run(
        [
            "gcc",
            "-O2",
            "-o",
            str(program),
            str(source),
            f"-L{tmp_path / 'lib'}",
            "-lunit",
            "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib",
        ],
        check=True,
    )
    other = tmp_path / "elsewhere"
    other.mkdir()
    loaded = load_program(str(program), options=SearchOptions(library_path=[str(other)]))
    assert loaded.program.elf.rpath == ("$ORIGIN/../lib",)
    assert loaded.objects[1].found == "DT_RPATH"
    assert os.path.realpath(loaded.objects[1].path) == str(tmp_path / "lib" / "libunit.so")


def test_another_abis_library_is_skipped(built_x86_64: Built, tmp_path: Path) -> None:
    """As the loader does, a library of another ABI on the path is passed over."""
    if compiler_for("aarch64") is None:
        pytest.skip("no AArch64 cross compiler")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (tmp_path / "unit.c").write_text("long lib_used(void) { return 0; }\n")
    subprocess.run(
        [
            "aarch64-linux-gnu-gcc",
            "-shared",
            "-fPIC",
            "-o",
            str(wrong / "libunit.so"),
            str(tmp_path / "unit.c"),
        ],
        check=True,
    )
    moved = tmp_path / "prog"
    shutil.copy(built_x86_64.program, moved)
    options = SearchOptions(library_path=[str(wrong), str(built_x86_64.library.parent)])
    loaded = load_program(str(moved), options=options)
    assert loaded.objects[1].path == str(built_x86_64.library)


def test_dlopen_names_and_paths(built_x86_64: Built) -> None:
    loaded = load_program(str(built_x86_64.program), dlopen=["libz.so.1"])
    last = loaded.objects[-1]
    assert (last.name, last.role) == ("libz.so.1", "dlopen")
    with pytest.raises(BinaryAnalysisError, match=r"libnothing.so.9 \(needed by --dlopen\)"):
        load_program(str(built_x86_64.program), dlopen=["libnothing.so.9"])


def test_the_abi_asked_for(built_x86_64: Built) -> None:
    with pytest.raises(BinaryAnalysisError, match=r"prog: the file is for x86_64, not aarch64"):
        load_program(str(built_x86_64.program), arch="aarch64")


def test_sysroot(built: Built) -> None:
    if built.sysroot is None:
        pytest.skip("native")
    loaded = load_program(str(built.program), options=SearchOptions(sysroot=built.sysroot))
    assert all(
        obj.path.startswith(built.sysroot)
        for obj in loaded.objects
        if obj.role != "program" and obj.label != "libunit.so"
    )
    assert loaded.objects[-1].role == "interpreter"
