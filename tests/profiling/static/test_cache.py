"""The analysis cache: hits, and every way an entry or the directory may not be trusted."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from seccomp_bpf.profiling.static import analyse_program
from seccomp_bpf.profiling.static.analysis import ANALYSER_VERSION, analyse_object
from seccomp_bpf.profiling.static.cache import AnalysisCache, file_digest
from seccomp_bpf.profiling.static.elf import read_elf
from seccomp_bpf.profiling.static.machine import Values
from tests.profiling.static.programs import Built, tiny_aarch64


def _warnings() -> tuple[list[str], AnalysisCache]:
    said: list[str] = []
    return said, AnalysisCache(None, warn=said.append)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return tiny_aarch64(tmp_path / "tiny")


def _cache(directory: Path, said: list[str] | None = None) -> AnalysisCache:
    return AnalysisCache(str(directory), warn=(said.append if said is not None else None))


def test_an_entry_gives_back_the_analysis(tiny: Path, tmp_path: Path) -> None:
    analysis = analyse_object(read_elf(str(tiny)))
    cache = _cache(tmp_path / "c")
    digest = file_digest(str(tiny))
    assert cache.load(digest) is None
    cache.store(digest, str(tiny), analysis)
    again = cache.load(digest)
    assert again is not None and again.to_json() == analysis.to_json()
    (entry,) = (tmp_path / "c").iterdir()
    assert entry.name == f"{digest}-v{ANALYSER_VERSION}.json"
    assert (entry.stat().st_mode & 0o777, (tmp_path / "c").stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )


def test_the_second_run_reads_every_object_from_the_cache(
    built_x86_64: Built, tmp_path: Path
) -> None:
    cache = _cache(tmp_path / "c")
    first = analyse_program(str(built_x86_64.program), cache=cache)
    assert first.cached == []
    second = analyse_program(str(built_x86_64.program), cache=_cache(tmp_path / "c"))
    assert second.cached == [obj.label for obj in second.loaded.objects]
    assert second.syscalls() == first.syscalls()
    assert [str(s) for s in second.unresolved] == [str(s) for s in first.unresolved]


def _entry(directory: Path) -> Path:
    (entry,) = directory.iterdir()
    return entry


def test_a_damaged_entry_is_analysed_again(tiny: Path, tmp_path: Path) -> None:
    said: list[str] = []
    analyse_program(str(tiny), cache=_cache(tmp_path / "c"))
    entry = _entry(tmp_path / "c")
    data = json.loads(entry.read_text())
    # Claim fewer calls: the stored checksum no longer matches.
    data["analysis"] = data["analysis"].replace("172", "174")
    entry.write_text(json.dumps(data))
    again = analyse_program(str(tiny), cache=_cache(tmp_path / "c", said))
    assert again.cached == [] and "getpid" in again.syscalls()
    assert any("checksum does not match" in line for line in said)
    # ...and rewritten good.
    assert analyse_program(str(tiny), cache=_cache(tmp_path / "c")).cached == ["tiny"]


@pytest.mark.parametrize("text", ["", "{", "[]", '{"format": "other"}'])
def test_a_foreign_entry_is_a_miss(tiny: Path, tmp_path: Path, text: str) -> None:
    said: list[str] = []
    analyse_program(str(tiny), cache=_cache(tmp_path / "c"))
    _entry(tmp_path / "c").write_text(text)
    assert analyse_program(str(tiny), cache=_cache(tmp_path / "c", said)).cached == []
    assert said


def test_an_entry_for_another_file_is_not_used(tiny: Path, tmp_path: Path) -> None:
    analyse_program(str(tiny), cache=_cache(tmp_path / "c"))
    entry = _entry(tmp_path / "c")
    other = tmp_path / "other"
    other.write_bytes(tiny.read_bytes() + b"\0")  # another file, the same code
    entry.rename(tmp_path / "c" / f"{file_digest(str(other))}-v{ANALYSER_VERSION}.json")
    said: list[str] = []
    assert analyse_program(str(other), cache=_cache(tmp_path / "c", said)).cached == []
    assert any("another file" in line for line in said)


def test_a_directory_others_can_write_is_not_used(tiny: Path, tmp_path: Path) -> None:
    directory = tmp_path / "c"
    directory.mkdir(mode=0o700)
    directory.chmod(0o777)
    said: list[str] = []
    analysis = analyse_program(str(tiny), cache=_cache(directory, said))
    assert analysis.syscalls()  # the analysis runs, without the cache
    assert list(directory.iterdir()) == []
    assert any("writable by others" in line for line in said)


def test_a_symbolic_link_is_not_followed(tiny: Path, tmp_path: Path) -> None:
    analyse_program(str(tiny), cache=_cache(tmp_path / "real"))
    real = _entry(tmp_path / "real")
    # The directory a link: not used.
    (tmp_path / "link").symlink_to(tmp_path / "real")
    said: list[str] = []
    assert analyse_program(str(tiny), cache=_cache(tmp_path / "link", said)).cached == []
    assert any("not a directory" in line for line in said)
    # An entry a link to a good entry elsewhere: not used.
    (tmp_path / "c").mkdir(mode=0o700)
    (tmp_path / "c" / real.name).symlink_to(real)
    assert analyse_program(str(tiny), cache=_cache(tmp_path / "c")).cached == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files to another user")
def test_files_of_another_user_are_not_used(tiny: Path, tmp_path: Path) -> None:
    analyse_program(str(tiny), cache=_cache(tmp_path / "c"))
    entry = _entry(tmp_path / "c")
    os.chown(entry, 65534, 65534)
    said: list[str] = []
    assert analyse_program(str(tiny), cache=_cache(tmp_path / "c", said)).cached == []
    assert any("owned by uid 65534" in line for line in said)
    os.chown(tmp_path / "c", 65534, 65534)
    said.clear()
    assert analyse_program(str(tiny), cache=_cache(tmp_path / "c", said)).cached == []
    assert any("not used: owned by uid 65534" in line for line in said)


def test_the_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    said, cache = _warnings()
    assert cache.directory == str(tmp_path / "xdg" / "seccomp-bpf" / "static")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert AnalysisCache().directory == str(tmp_path / "home" / ".cache/seccomp-bpf/static")
    assert said == []


def test_a_missing_home_is_never_created(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user without a home (nobody's HOME=/nonexistent) gets no cache and no directory;
    with a home, ~/.cache/seccomp-bpf/static is made."""
    home = tmp_path / "nonexistent"
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    said, cache = _warnings()
    digest = file_digest(str(tiny))
    cache.store(digest, str(tiny), analyse_object(read_elf(str(tiny))))
    assert cache.load(digest) is None
    assert not home.exists()
    assert len(said) == 1 and "not used" in said[0]
    home.mkdir()
    said, cache = _warnings()
    cache.store(digest, str(tiny), analyse_object(read_elf(str(tiny))))
    assert cache.load(digest) is not None
    assert said == []
    assert (home / ".cache" / "seccomp-bpf" / "static").is_dir()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_a_cache_planted_by_another_user_is_refused(tiny: Path) -> None:
    """Another user (uid 65534) prepares the cache directory a root run will use (a shared
    XDG_CACHE_HOME under /tmp) with a well-formed entry that hides getpid: refused."""
    shared = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        shared.chmod(0o1777)
        analysis = analyse_object(read_elf(str(tiny)))
        for site in analysis.site_values:
            analysis.site_values[site] = Values()  # "no system call here"
        text = json.dumps(analysis.to_json())
        digest = file_digest(str(tiny))
        entry = {
            "format": "seccomp-bpf static analysis",
            "version": ANALYSER_VERSION,
            "sha256": digest,
            "checksum": hashlib.sha256(text.encode()).hexdigest(),
            "analysis": text,
        }
        directory = shared / "seccomp-bpf" / "static"
        plant = (
            "import json, os, sys\n"
            f"os.makedirs({str(directory)!r}, mode=0o700)\n"
            f"path = os.path.join({str(directory)!r}, {digest + '-v' + ANALYSER_VERSION!r} + "
            "'.json')\n"
            "open(path, 'w').write(sys.stdin.read())\n"
        )
        subprocess.run(
            ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
             sys.executable, "-c", plant],
            input=json.dumps(entry), text=True, check=True,
        )  # fmt: skip
        assert directory.stat().st_uid == 65534
        said: list[str] = []
        found = analyse_program(str(tiny), cache=AnalysisCache(str(directory), said.append))
        assert found.cached == [] and "getpid" in found.syscalls()
        assert said == [f"analysis cache {directory} not used: owned by uid 65534, not 0"]
    finally:
        shutil.rmtree(shared)
