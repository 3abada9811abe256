"""A cache of :class:`ObjectAnalysis` results, one file per analysed object.

An entry is named by the SHA-256 of the object's contents and the analyser's version
(``ANALYSER_VERSION``): a library that changes, or an analyser that would read it
differently, misses. It holds the analysis as JSON with the object's path, size and
modification time (for the reader; the key is the contents), and a SHA-256 of the analysis
text, checked on reading.

Since the results decide what a policy allows, the cache is only used when nobody else can
write it: the directory (``$XDG_CACHE_HOME/seccomp-bpf/static``, else
``~/.cache/seccomp-bpf/static``, created with mode 0700) and each entry must be owned by the
effective user, not writable by group or others, and not symbolic links (entries are opened
with ``O_NOFOLLOW``). Entries are written to a temporary file in the directory and renamed
into place, so a reader never sees half of one. Anything that does not check out (a damaged,
truncated or foreign entry) is a miss, and is overwritten; a directory that does not check out
turns the cache off, with one warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from typing import Any, Final

from seccomp_bpf.profiling.static.analysis import ANALYSER_VERSION, ObjectAnalysis

FORMAT: Final = "seccomp-bpf static analysis"
MAX_ENTRY: Final = 512 * 1024 * 1024


def default_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "seccomp-bpf", "static")


def file_digest(path: str) -> str:
    """The SHA-256 of the file's contents, in hex."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _private(info: os.stat_result) -> str | None:
    """Why a file or directory with this ``lstat`` is not safe to trust, or None."""
    if info.st_uid != os.geteuid():
        return f"owned by uid {info.st_uid}, not {os.geteuid()}"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


class AnalysisCache:
    """The cache in ``directory`` (see the module docstring). ``warn`` receives one line
    when the cache is turned off or an entry is dropped."""

    def __init__(
        self, directory: str | None = None, warn: Callable[[str], None] | None = None
    ) -> None:
        self.directory = directory or default_directory()
        self.warn = warn or (lambda message: None)
        self.enabled = True
        self.hits = 0
        self.misses = 0
        self._checked = False

    def _usable(self) -> bool:
        if self._checked:
            return self.enabled
        self._checked = True
        try:
            # The cache and the two directories above it at most (~/.cache/seccomp-bpf):
            # never a home directory that does not exist (nobody's HOME=/nonexistent).
            parent = os.path.dirname(self.directory)
            for level in (os.path.dirname(parent), parent, self.directory):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(level, 0o700)
            info = os.lstat(self.directory)
        except OSError as error:
            return self._off(f"cannot create it ({error.strerror or error})")
        if not stat.S_ISDIR(info.st_mode):
            return self._off("it is not a directory (a symbolic link?)")
        reason = _private(info)
        if reason is not None:
            return self._off(reason)
        return True

    def _off(self, reason: str) -> bool:
        self.enabled = False
        self.warn(f"analysis cache {self.directory} not used: {reason}")
        return False

    def _path(self, digest: str) -> str:
        return os.path.join(self.directory, f"{digest}-v{ANALYSER_VERSION}.json")

    def load(self, digest: str) -> ObjectAnalysis | None:
        """The cached analysis of the file whose contents have SHA-256 ``digest``, or None."""
        if not self._usable():
            return None
        path = self._path(digest)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            self.misses += 1
            return None
        try:
            with os.fdopen(fd, "rb") as file:
                info = os.fstat(file.fileno())
                reason = _private(info)
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY:
                    reason = "not a regular file of a sane size"
                if reason is not None:
                    self.warn(f"analysis cache entry {path} ignored: {reason}")
                    self.misses += 1
                    return None
                entry = json.loads(file.read())
            analysis = self._check(entry, digest)
        except (OSError, ValueError, KeyError, TypeError) as error:
            self.warn(f"analysis cache entry {path} ignored: {error}")
            analysis = None
        if analysis is None:
            self.misses += 1
        else:
            self.hits += 1
        return analysis

    @staticmethod
    def _check(entry: Any, digest: str) -> ObjectAnalysis | None:
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            raise ValueError("not an entry of this cache")
        if entry.get("version") != ANALYSER_VERSION or entry.get("sha256") != digest:
            raise ValueError("an entry for another file or analyser version")
        text = entry["analysis"]
        if not isinstance(text, str):
            raise TypeError("the analysis is not text")
        if hashlib.sha256(text.encode()).hexdigest() != entry.get("checksum"):
            raise ValueError("its checksum does not match: the entry is damaged")
        return ObjectAnalysis.from_json(json.loads(text))

    def store(self, digest: str, path: str, analysis: ObjectAnalysis) -> None:
        """Write (or replace) the entry for ``digest``; failures only warn."""
        if not self._usable():
            return
        text = json.dumps(analysis.to_json(), separators=(",", ":"))
        try:
            info = os.stat(path)
            identity = {
                "path": os.path.realpath(path),
                "size": info.st_size,
                "mtime_ns": info.st_mtime_ns,
            }
        except OSError:
            identity = {"path": path}
        entry = {
            "format": FORMAT,
            "version": ANALYSER_VERSION,
            "sha256": digest,
            "object": identity,
            "checksum": hashlib.sha256(text.encode()).hexdigest(),
            "analysis": text,
        }
        try:
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".entry-")
        except OSError as error:
            self.warn(f"analysis cache entry not written: {error.strerror or error}")
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(entry, file)
            os.replace(temporary, self._path(digest))
        except OSError as error:
            self.warn(f"analysis cache entry not written: {error.strerror or error}")
            with contextlib.suppress(OSError):
                os.unlink(temporary)
