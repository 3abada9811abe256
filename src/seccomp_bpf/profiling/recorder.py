"""The recorder process: runs the command, records its calls, reports them over a pipe.

The caller (``seccomp-bpf profile``, or :func:`seccomp_bpf.profiling.profile`) forks the
recorder through an intermediate process that exits at once, so that the recorder is not
the caller's child: it may outlive the caller without becoming a zombie. The recorder forks
the command and records it (:mod:`.ptrace_mode` or :mod:`.notify_mode`), sending messages
on a pipe: ``started`` with the command's pid, ``progress`` a few times a second when asked,
then ``done`` with the counts and the command's wait status, or ``error``.

Processes the command leaves running. Their calls still go through the profiler's filter,
which without the recorder would fail them with ENOSYS (``SECCOMP_RET_TRACE`` without a
tracer, ``SECCOMP_RET_USER_NOTIF`` without a listener). So after ``done`` the recorder stays,
without recording, and lets their calls through until the last has ended; it then exits.
With ``follow_daemons`` it records them too and reports only when the last has ended.
The recorder closes every descriptor it does not need as soon as the command is started
(standard input, output and error included), so it never holds a pipe or terminal open.

The recorder blocks SIGHUP, SIGINT, SIGQUIT and SIGTERM: a terminal's ^C reaches the command
and the caller, not the recorder. Should the recorder die all the same, ptrace mode kills
the processes it traced (``PTRACE_O_EXITKILL``); in notify mode their notified calls fail
with ENOSYS.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import json
import os
import signal
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, NoReturn

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import KernelError

_LENGTH: Final = struct.Struct("!I")

PROGRESS_INTERVAL: Final = 0.25
"""Seconds between progress messages, at most."""

ArgumentTable = Mapping[tuple[int, int], tuple[tuple[int, int], ...]]
"""``(AUDIT_ARCH, nr)`` -> ``((argument index, mask), ...)``: the values to record."""


@dataclass(frozen=True)
class RecorderConfig:
    """Everything the recorder needs, prepared by the caller before it forks."""

    argv: tuple[str, ...]
    executable: str
    mode: str
    program: Program
    arguments: ArgumentTable
    progress: bool = False
    follow_daemons: bool = False
    mask: frozenset[int] = frozenset()
    execve: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    """``(AUDIT_ARCH, nr)`` of ``execve`` and ``execveat``: recording starts at the first
    the command makes (what the forked child runs before is the profiler's own code)."""


# --- the pipe -------------------------------------------------------------------------------------


class Channel:
    """The recorder's end of the pipe: length-prefixed JSON messages."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.open = True

    def send(self, message: Mapping[str, object]) -> None:
        """Send ``message``; once the caller is gone, nothing more is sent."""
        if not self.open:
            return
        payload = json.dumps(message, separators=(",", ":")).encode()
        data = memoryview(_LENGTH.pack(len(payload)) + payload)
        try:
            while data:
                written = os.write(self.fd, data)
                data = data[written:]
        except OSError:
            self.close()

    def close(self) -> None:
        if self.open:
            self.open = False
            with contextlib.suppress(OSError):
                os.close(self.fd)


def read_message(fd: int) -> dict[str, object] | None:
    """The next message on the caller's end, None at end of file."""
    header = _read_exactly(fd, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    payload = _read_exactly(fd, length)
    if payload is None:
        return None
    message = json.loads(payload)
    assert isinstance(message, dict)
    return message


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        try:
            chunk = os.read(fd, size)
        except InterruptedError:
            continue
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# --- what both modes share -----------------------------------------------------------------------


class Recording:
    """Counts and argument values as a mode's loop collects them, and the messages it sends."""

    def __init__(self, config: RecorderConfig, channel: Channel) -> None:
        self.config = config
        self.channel = channel
        self.counts: dict[tuple[int, int], int] = {}
        self.values: dict[tuple[int, int, int], set[int]] = {}
        self.processes = 1
        self.threads = 0
        self.next_progress = time.monotonic() + PROGRESS_INTERVAL if config.progress else None

    def progress(self) -> None:
        """Send a progress message if one is due."""
        if self.next_progress is None:
            return
        now = time.monotonic()
        if now < self.next_progress:
            return
        self.next_progress = now + PROGRESS_INTERVAL
        self.channel.send(
            {
                "t": "progress",
                "calls": sum(self.counts.values()),
                "distinct": len(self.counts),
                "processes": self.processes,
                "threads": self.threads,
            }
        )

    def done(self, status: int | None, started: bool) -> None:
        """Send the result: the command's wait status (None if unknown) and whether it got
        as far as its ``execve``; the channel is closed after it."""
        self.channel.send(
            {
                "t": "done",
                "status": status,
                "started": started,
                "counts": [[arch, nr, count] for (arch, nr), count in self.counts.items()],
                "values": [
                    [arch, nr, index, sorted(values)]
                    for (arch, nr, index), values in self.values.items()
                ],
                "processes": self.processes,
                "threads": self.threads,
            }
        )
        self.channel.close()


def close_other_fds(keep: set[int]) -> None:
    """Close every descriptor but ``keep``; 0, 1 and 2 become ``/dev/null``."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd not in keep:
            os.dup2(null, fd)
    os.close(null)
    low = 3
    for fd in sorted(fd for fd in keep if fd >= low):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def error_message(error: BaseException) -> dict[str, object]:
    return {
        "t": "error",
        "call": getattr(error, "call", None),
        "errno": getattr(error, "errno", None),
        "detail": getattr(error, "detail", None) or f"{type(error).__name__}: {error}",
    }


# --- starting the recorder ------------------------------------------------------------------------


def start_recorder(config: RecorderConfig) -> int:
    """Fork the recorder (see the module docstring); the read end of its pipe."""
    read_fd, write_fd = os.pipe()
    middle = os.fork()
    if middle == 0:
        status = 1
        try:
            os.close(read_fd)
            if os.fork() == 0:
                _recorder_main(config, write_fd)
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    while True:
        try:
            os.waitpid(middle, 0)
            break
        except InterruptedError:
            continue
    return read_fd


def _recorder_main(config: RecorderConfig, write_fd: int) -> NoReturn:
    channel = Channel(write_fd)
    try:
        signal.pthread_sigmask(
            signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM}
        )
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # SIG_IGN would reap children unseen
        record: Callable[[RecorderConfig, Channel], None]
        if config.mode == "ptrace":
            from seccomp_bpf.profiling.ptrace_mode import record
        else:
            from seccomp_bpf.profiling.notify_mode import record
        record(config, channel)
    except BaseException as error:
        channel.send(error_message(error))
    finally:
        channel.close()
        os._exit(0)


def error_from(message: Mapping[str, object]) -> KernelError:
    """The exception a recorder's ``error`` message stands for: the failed call, or what
    went wrong while recording."""
    detail = str(message.get("detail") or "")
    call = message.get("call")
    code = message.get("errno")
    return KernelError(
        str(call) if call else "recording the command",
        code if isinstance(code, int) else errno_codes.EIO,
        detail,
    )
