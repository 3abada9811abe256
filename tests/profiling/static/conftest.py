"""Fixtures: the test programs, built once per session, and an analysis cache for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_bpf.profiling.static.cache import AnalysisCache
from tests.profiling.static.programs import Built, build, build_tricky, compiler_for

ARCHES = ("x86_64", "aarch64", "i386")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One analysis cache for the session (libc is analysed once)."""
    path = tmp_path_factory.mktemp("static-cache") / "cache"
    return path


def _need(arch: str) -> None:
    if compiler_for(arch) is None:
        pytest.skip(f"no C compiler for {arch} (Debian: gcc-aarch64-linux-gnu, gcc-i686-linux-gnu)")


@pytest.fixture(scope="session", params=ARCHES)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    arch: str = request.param
    _need(arch)
    return build(tmp_path_factory.mktemp(f"prog-{arch}"), arch)


@pytest.fixture(scope="session", params=ARCHES)
def tricky(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    arch: str = request.param
    _need(arch)
    program = build_tricky(tmp_path_factory.mktemp(f"tricky-{arch}"), arch)
    return Built(program, program, build.__globals__["SYSROOTS"][arch])


@pytest.fixture(scope="session")
def built_x86_64(tmp_path_factory: pytest.TempPathFactory) -> Built:
    _need("x86_64")
    return build(tmp_path_factory.mktemp("prog-x86_64"), "x86_64")


@pytest.fixture(scope="session")
def cache(cache_dir: Path) -> AnalysisCache:
    return AnalysisCache(str(cache_dir))
