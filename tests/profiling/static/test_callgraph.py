"""The call graph on programs built here: what is reached, through what, and what is not."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from seccomp_bpf.profiling.static import analyse_program
from seccomp_bpf.profiling.static.cache import AnalysisCache
from seccomp_bpf.profiling.static.loader import SearchOptions
from tests.profiling.static.programs import (
    NOT_REACHED,
    REACHED,
    TRICKY_REACHED,
    Built,
    tiny_aarch64,
)

Syscalls = dict[str | int, list[str]]


def _analyse(built: Built, cache: AnalysisCache, dlopen: Sequence[str] = ()) -> Syscalls:
    analysis = analyse_program(
        str(built.program),
        search=SearchOptions(sysroot=built.sysroot),
        dlopen=dlopen,
        cache=cache,
    )
    return analysis.syscalls()


def test_every_way_in_is_followed(built: Built, cache: AnalysisCache) -> None:
    found = _analyse(built, cache)
    program = built.program.name
    # kcmp: the instruction in main; userfaultfd: syscall(2) with a constant; fsopen: the
    # program's own wrapper; bpf: a pointer in data; perf_event_open: a pointer made in code.
    for name in ("kcmp", "userfaultfd", "fsopen", "bpf", "perf_event_open"):
        assert found.get(name) == [program], name
    assert found["io_uring_setup"] == ["libunit.so"]  # a library function main calls
    # The C library's own calls come with it, from the loader too.
    assert "libc.so.6" in found["openat"] or "libc.so.6" in found.get("open", [])
    assert "libc.so.6" in found.get("mmap", []) + found.get("mmap2", [])  # i386: mmap2


def test_what_nothing_calls_is_left_out(built: Built, cache: AnalysisCache) -> None:
    found = _analyse(built, cache)
    for name in NOT_REACHED:
        assert name not in found, name


def test_a_dlopened_library_exports_everything(built: Built, cache: AnalysisCache) -> None:
    """A library named as dlopen'ed: dlsym can reach any of its functions."""
    found = _analyse(built, cache, [str(built.library)])
    assert found["io_uring_enter"] == ["libunit.so"]
    assert "pivot_root" not in found


def test_a_library_alone_exports_everything(built: Built, cache: AnalysisCache) -> None:
    analysis = analyse_program(
        str(built.library), search=SearchOptions(sysroot=built.sysroot), cache=cache
    )
    found = analysis.syscalls()
    assert found["io_uring_setup"] == found["io_uring_enter"] == ["libunit.so"]


def test_wrappers_and_computed_numbers(tricky: Built, cache: AnalysisCache) -> None:
    analysis = analyse_program(
        str(tricky.program), search=SearchOptions(sysroot=tricky.sysroot), cache=cache
    )
    found = analysis.syscalls()
    for name in TRICKY_REACHED:  # through two wrappers; either of two numbers
        assert found.get(name) == ["tricky"], name
    wrappers = " ".join(analysis.reached.wrappers)
    assert "inner (tricky, argument 1)" in wrappers
    assert "outer (tricky, argument 2)" in wrappers
    # The number read from memory, and the wrapper called through a pointer, are reported
    # with the function they are in; what they call is not made up.
    mine = [site for site in analysis.unresolved if site.object == "tricky"]
    assert any(site.function.startswith("main") for site in mine)
    assert any(site.function == "by_pointer" and "address is taken" in site.reason for site in mine)
    assert "add_key" not in found and "move_mount" not in found


def test_hand_assembled_aarch64(tmp_path: Path) -> None:
    """A static AArch64 program without a C library: _start calls f (getpid) and exits; g
    (getuid) is never called."""
    program = tiny_aarch64(tmp_path / "tiny")
    analysis = analyse_program(str(program))
    assert analysis.arch == "aarch64"
    assert analysis.syscalls() == {"exit": ["tiny"], "getpid": ["tiny"]}
    assert analysis.unresolved == []
    assert [obj.label for obj in analysis.loaded.objects] == ["tiny"]


def test_unresolved_sites_name_their_place(tricky: Built, cache: AnalysisCache) -> None:
    analysis = analyse_program(
        str(tricky.program), search=SearchOptions(sysroot=tricky.sysroot), cache=cache
    )
    site = next(s for s in analysis.unresolved if s.function.startswith("main"))
    text = str(site)
    assert text.startswith(f"tricky {site.address:#x} in main")


@pytest.mark.parametrize("name", REACHED)
def test_every_reached_call_has_a_source(built: Built, cache: AnalysisCache, name: str) -> None:
    assert _analyse(built, cache)[name]
