"""What ``/proc`` shows of a process (``proc(5)``): its seccomp state, its memory, and the
processes beneath it.

``Seccomp:`` is the mode (Linux 3.8) and ``Seccomp_filters:`` the number of filters attached
(Linux 5.9); both are missing on kernels without ``CONFIG_SECCOMP``.
"""

from __future__ import annotations

import enum
import os


class SeccompMode(enum.IntEnum):
    """``SECCOMP_MODE_*`` (``<linux/seccomp.h>``)."""

    DISABLED = 0
    STRICT = 1
    FILTER = 2


def _status_path(pid: int | str, proc_root: str | os.PathLike[str]) -> str:
    if isinstance(pid, bool) or not (
        (isinstance(pid, int) and pid > 0)
        or (isinstance(pid, str) and (pid in ("self", "thread-self") or pid.isdigit()))
    ):
        raise ValueError(f"pid must be a positive number, 'self' or 'thread-self', not {pid!r}")
    return os.path.join(os.fspath(proc_root), str(pid), "status")  # no pathlib: the run path


def _status_field(pid: int | str, name: str, proc_root: str | os.PathLike[str]) -> int | None:
    """The number after ``name:`` in the status file, or None when the line is missing.

    Raises FileNotFoundError (an OSError) when there is no such process.
    """
    prefix = name + ":"
    with open(_status_path(pid, proc_root), encoding="ascii", errors="replace") as status:
        for line in status:
            if line.startswith(prefix):
                return int(line[len(prefix) :].split()[0])
    return None


def seccomp_mode(
    pid: int | str = "self", *, proc_root: str | os.PathLike[str] = "/proc"
) -> int | None:
    """The seccomp mode of process ``pid``: 0 disabled, 1 strict, 2 filter (a
    :class:`SeccompMode` when known), or None when the kernel does not report it."""
    value = _status_field(pid, "Seccomp", proc_root)
    if value is None:
        return None
    try:
        return SeccompMode(value)
    except ValueError:
        return value


def filter_count(
    pid: int | str = "self", *, proc_root: str | os.PathLike[str] = "/proc"
) -> int | None:
    """How many seccomp filters process ``pid`` has (``Seccomp_filters:``), or None when the
    kernel does not report it."""
    return _status_field(pid, "Seccomp_filters", proc_root)


def read_memory(pid: int, address: int, size: int) -> bytes:
    """``size`` bytes of process ``pid``'s memory at ``address``, read from
    ``/proc/PID/mem`` (``proc(5)``: the reader needs ptrace access to ``pid``, which its
    tracer has). Raises OSError when the range is not mapped (EIO) or the process is gone;
    a short read (the end of a mapping) raises EIO too."""
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.pread(fd, size, address)
    finally:
        os.close(fd)
    if len(data) != size:
        raise OSError(5, f"process {pid}: {size} bytes at {address:#x} are not all readable")
    return data


def descendants(pid: int, *, proc_root: str = "/proc") -> list[int]:
    """The processes beneath process ``pid`` (children first), from the parent of each
    process in ``/proc`` (field 4 of ``/proc/PID/stat``, after the command name in
    parentheses, which may itself hold spaces and parentheses). A process that ends while
    ``/proc`` is read is left out."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir(proc_root):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc_root}/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    queue = [pid]
    while queue:
        below = children.get(queue.pop(0), [])
        found.extend(below)
        queue.extend(below)
    return found
