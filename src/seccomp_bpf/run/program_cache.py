"""A per-user cache of compiled programs, so that running a command under a policy file does
not read and compile the file each time.

An entry is found by its *key*: the SHA-256 of the policy file's bytes, the architectures
asked for (``--arch``), what ``native`` stands for here (the machine, pointer size and byte
order of this interpreter), the kernel release (an OCI/Docker profile's ``includes`` depend
on it), the package's version and the ``system-calls`` tables installed (their Linux version
and the identity of their files: an upgrade in place changes them). It holds the program
and what ``seccomp-bpf run`` needs of the policy besides (its filter flags, whether it has a
``sandbox:`` section, which is then read from the file); anything else (the rule behind a
denial, in a message) is read from the file when it is needed.

Where: ``$SECCOMP_BPF_CACHE_DIR``, else ``$XDG_CACHE_HOME/seccomp-bpf``, else
``~/.cache/seccomp-bpf``. ``SECCOMP_BPF_CACHE=0`` (or ``off``, ``no``, ``false``) turns the
cache off, as does ``seccomp-bpf run --no-cache``.

The cache decides what a program may do, so it is trusted only as far as the user's own
files are:

- the directory is created with mode 0700; it is used only when it is a directory (not a
  symbolic link), owned by this process's effective user and writable by nobody else, as
  checked on the directory opened (``O_NOFOLLOW``), through which every later access goes
  (``openat``), so that swapping it for another after the check changes nothing;
- an entry is read only when it is a regular file (``O_NOFOLLOW``: not a link; ``O_NONBLOCK``:
  not a FIFO that would block), owned by this user and writable by nobody else, of a
  program's size at most, whose SHA-256 (its first line) matches the rest and which names
  the key it is read for; anything else is a miss: the policy is compiled and the entry
  written again;
- an entry is written to a new file (``O_EXCL``, mode 0600) and renamed over the old, so a
  reader sees a whole entry or none, and a file put in its place by someone else is replaced.

A cache that cannot be used (another owner, loose permissions, a read-only home) is skipped
quietly: the policy is compiled, as without a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.__about__ import __version__
from seccomp_bpf.bpf.instruction import INSTRUCTION_SIZE, Program
from seccomp_bpf.errors import InvalidProgramError

CACHE_VARIABLE: Final = "SECCOMP_BPF_CACHE"
"""``0``, ``off``, ``no`` or ``false`` turns the cache off."""
DIRECTORY_VARIABLE: Final = "SECCOMP_BPF_CACHE_DIR"
"""The cache directory, instead of ``$XDG_CACHE_HOME/seccomp-bpf``."""

_MAGIC: Final = b"seccomp-bpf compiled program 1"
_MAX_INSTRUCTIONS: Final = 4096  # BPF_MAXINSNS, <linux/bpf_common.h>
_MAX_ENTRY: Final = 4096 + _MAX_INSTRUCTIONS * INSTRUCTION_SIZE
_OFF: Final = frozenset({"0", "off", "no", "false"})


@dataclass(frozen=True)
class CachedProgram:
    """What an entry holds: the program, the policy's filter flags, and whether the policy
    has a ``sandbox:`` section (to be read from the file)."""

    program: Program
    flags: tuple[str, ...]
    has_sandbox: bool


def cache_directory(environ: Mapping[str, str] | None = None) -> str | None:
    """Where the cache is, or None when it is turned off (or there is no home)."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_VARIABLE, "").strip().lower() in _OFF:
        return None
    explicit = env.get(DIRECTORY_VARIABLE)
    if explicit:
        return os.path.abspath(explicit)
    base = env.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        home = env.get("HOME")
        if not home or not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "seccomp-bpf")


def cache_key(policy_bytes: bytes, arches: Sequence[str] | None) -> str:
    """The key of a policy file's program (see the module docstring)."""
    import sysconfig

    from seccomp_bpf.arch.table_source import tables_identity

    machine = os.uname()
    facts = [
        __version__,
        tables_identity(),
        ",".join(arches) if arches else "-",
        machine.machine,
        str(struct.calcsize("P")),
        sys.byteorder,
        sysconfig.get_config_var("MULTIARCH") or "-",
        machine.release,
    ]
    digest = hashlib.sha256("\0".join(facts).encode() + b"\0\0")
    digest.update(policy_bytes)
    return digest.hexdigest()


def _open_directory(path: str, *, create: bool) -> int | None:
    """A descriptor of the cache directory, when it is one this user alone can write."""
    if create:
        # The cache and its parent (~/.cache) at most: never a home directory or anything
        # above it, which a user without one (HOME=/nonexistent) would otherwise get.
        for level in (os.path.dirname(path), path):
            with contextlib.suppress(OSError):
                os.mkdir(level, 0o700)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    if not _private(os.fstat(fd), directory=True):
        os.close(fd)
        return None
    return fd


def _private(status: os.stat_result, *, directory: bool) -> bool:
    """Whether a file is of the right type, this user's and writable by nobody else."""
    kind = stat.S_ISDIR if directory else stat.S_ISREG
    return (
        kind(status.st_mode)
        and status.st_uid == os.geteuid()
        and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _entry_name(key: str) -> str:
    return f"{key}.bpf"


def _encode(key: str, entry: CachedProgram) -> bytes:
    body = b"\n".join(
        [
            _MAGIC,
            b"key " + key.encode(),
            b"flags " + (",".join(entry.flags) or "-").encode(),
            b"sandbox " + (b"yes" if entry.has_sandbox else b"no"),
            b"",
            entry.program.to_bytes(),
        ]
    )
    return hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def _decode(key: str, data: bytes) -> CachedProgram | None:
    digest, _, body = data.partition(b"\n")
    if hashlib.sha256(body).hexdigest().encode() != digest:
        return None  # torn, truncated or changed
    parts = body.split(b"\n", 5)
    if len(parts) != 6 or parts[0] != _MAGIC or parts[1] != b"key " + key.encode():
        return None
    flags, has_sandbox = parts[2].removeprefix(b"flags "), parts[3].removeprefix(b"sandbox ")
    if parts[4] != b"" or has_sandbox not in (b"yes", b"no"):
        return None
    try:
        program = Program.from_bytes(parts[5])
    except InvalidProgramError:
        return None
    names = tuple(flags.decode("ascii", "replace").split(",")) if flags != b"-" else ()
    return CachedProgram(program, names, has_sandbox == b"yes")


def load(key: str, directory: str) -> CachedProgram | None:
    """The entry of ``key``, or None (a miss, or an entry that is refused)."""
    dir_fd = _open_directory(directory, create=False)
    if dir_fd is None:
        return None
    try:
        try:
            fd = os.open(
                _entry_name(key),
                os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                dir_fd=dir_fd,
            )
        except OSError:
            return None
        try:
            status = os.fstat(fd)
            if not _private(status, directory=False) or status.st_size > _MAX_ENTRY:
                return None
            data = os.read(fd, _MAX_ENTRY + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    return _decode(key, data)


def store(key: str, entry: CachedProgram, directory: str) -> bool:
    """Write the entry of ``key`` (replacing whatever is there); False when the cache cannot
    be written, which is no error."""
    dir_fd = _open_directory(directory, create=True)
    if dir_fd is None:
        return False
    temporary = f".{_entry_name(key)}.{os.getpid()}.{os.urandom(6).hex()}"
    try:
        fd = os.open(
            temporary,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=dir_fd,
        )
        try:
            data = memoryview(_encode(key, entry))
            while data:
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)
        os.rename(temporary, _entry_name(key), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=dir_fd)
        return False
    finally:
        os.close(dir_fd)
    return True
