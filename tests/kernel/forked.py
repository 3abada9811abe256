"""Run test code in a forked child, so that a filter loaded there never touches pytest.

Loading a seccomp filter cannot be undone, so every test that loads one does it in a child:

- :func:`run_forked` runs ``function(send)`` in a child; ``send`` streams picklable records
  back through a pipe as they happen, so even a child that a filter kills reports how far it
  got. It returns a :class:`ChildReport`: the records, and the exit code or the signal.
- :func:`run_in_child` is the common case: run ``function(*args)``, return its value, and
  turn a death by signal, an exception or a timeout into a clear assertion.
- :class:`ForkedServer` keeps one child alive and answers many requests, for tests that
  ask the kernel thousands of questions that do not change the child.

Every child turns off core dumps first (a filter's KILL would otherwise write one), and
leaves with ``os._exit`` whatever happens, so it never runs pytest's own exit code. A child
that does not finish in time is killed (by its pid) and reported.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import resource
import select
import signal
import struct
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seccomp_bpf.kernel import set_dumpable

Send = Callable[[object], None]

_HEADER = struct.Struct("!I")
_FAILED_EXIT = 70


class ChildError(AssertionError):
    """The child did not finish as expected: it raised, died by a signal, or timed out."""


@dataclass(frozen=True)
class _Raised:
    """A record the child sends when ``function`` raises: the formatted traceback."""

    text: str


@dataclass
class ChildReport:
    """What a child sent, in order, and how it ended (``signal`` is None for an exit)."""

    records: list[Any] = field(default_factory=list)
    exit_code: int | None = None
    signal: int | None = None
    raised: str | None = None

    def describe(self) -> str:
        if self.raised is not None:
            return f"the child raised:\n{self.raised}"
        if self.signal is not None:
            return f"the child was killed by {signal.Signals(self.signal).name}"
        return f"the child exited with status {self.exit_code}"


def _send(fd: int, record: object) -> None:
    payload = pickle.dumps(record)
    data = _HEADER.pack(len(payload)) + payload
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _quiet_child() -> None:
    """No core files from a child that a filter kills (``core_pattern`` may be a file)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    set_dumpable(False)


def _child_main(function: Callable[[Send], None], write_fd: int) -> None:
    """Run in the child; never returns."""
    # A collection would walk, and so copy, every object inherited from the parent.
    gc.disable()
    status = 0
    try:
        _quiet_child()
        function(lambda record: _send(write_fd, record))
    except BaseException:
        status = _FAILED_EXIT
        with contextlib.suppress(BaseException):
            _send(write_fd, _Raised(traceback.format_exc()))
    finally:
        os._exit(status)


class _RecordReader:
    """Reassembles length-prefixed pickles from the bytes of a pipe."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        records = []
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + size:
                break
            payload = self._buffer[_HEADER.size : _HEADER.size + size]
            self._buffer = self._buffer[_HEADER.size + size :]
            records.append(pickle.loads(payload))
        return records


def _wait(pid: int, report: ChildReport) -> None:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        report.signal = os.WTERMSIG(status)
    else:
        report.exit_code = os.waitstatus_to_exitcode(status)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def run_forked(function: Callable[[Send], None], *, timeout: float = 10.0) -> ChildReport:
    """Run ``function(send)`` in a forked child and collect what it sends until it ends.

    Raises :class:`ChildError` when the child is still running after ``timeout`` seconds
    (it is killed first). A death by signal or an exception in the child is reported in the
    :class:`ChildReport`, not raised: some tests expect exactly that.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child_main(function, write_fd)
    os.close(write_fd)
    report = ChildReport()
    reader = _RecordReader()
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([read_fd], [], [], max(remaining, 0))
            if not ready:
                _kill(pid)
                raise ChildError(
                    f"the child did not finish within {timeout} s; it had sent "
                    f"{len(report.records)} records"
                )
            data = os.read(read_fd, 65536)
            if not data:
                break
            for record in reader.feed(data):
                if isinstance(record, _Raised):
                    report.raised = record.text
                else:
                    report.records.append(record)
    finally:
        os.close(read_fd)
    _wait(pid, report)
    return report


def run_in_child(function: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
    """``function(*args)`` in a forked child; its return value (which must pickle).

    Raises :class:`ChildError` with the child's traceback when it raised, or naming the
    signal when it died.
    """

    def body(send: Send) -> None:
        send(function(*args))

    report = run_forked(body, timeout=timeout)
    if report.raised is not None or report.signal is not None or report.exit_code != 0:
        raise ChildError(f"{getattr(function, '__name__', function)}: {report.describe()}")
    if len(report.records) != 1:
        raise ChildError(f"expected one result from the child, got {len(report.records)}")
    return report.records[0]


class ForkedServer:
    """A child that runs ``setup()`` once, then answers ``handle(request)`` for each request.

    For questions that leave the child unchanged, many answers cost one fork. When the child
    dies or times out, :meth:`ask` raises :class:`ChildError`; the next call starts a new one.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        setup: Callable[[], object],
        handle: Callable[[Any, object], Any],
        *,
        timeout: float = 10.0,
    ) -> None:
        self._setup = setup
        self._handle = handle
        self._timeout = timeout
        self._pid: int | None = None
        self._requests = -1
        self._responses = -1
        self._reader = _RecordReader()
        self._pending: list[Any] = []
        self.started = 0

    def _start(self) -> None:
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(request_write)
            os.close(response_read)
            self._serve(request_read, response_write)
        os.close(request_read)
        os.close(response_write)
        self._pid = pid
        self._requests = request_write
        self._responses = response_read
        self._reader = _RecordReader()
        self._pending = []
        self.started += 1

    def _serve(self, request_fd: int, response_fd: int) -> None:
        """The child's loop; never returns."""

        def serve(send: Send) -> None:
            state = self._setup()
            reader = _RecordReader()
            while True:
                data = os.read(request_fd, 65536)
                if not data:
                    return
                for request in reader.feed(data):
                    send(self._handle(request, state))

        _child_main(serve, response_fd)

    def ask(self, request: object) -> Any:
        if self._pid is None:
            self._start()
        assert self._pid is not None
        with contextlib.suppress(BrokenPipeError):  # the child is gone; reading says how
            _send(self._requests, request)
        deadline = time.monotonic() + self._timeout
        while not self._pending:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._responses], [], [], max(remaining, 0))
            if not ready:
                self._stop(kill=True)
                raise ChildError(f"the server child did not answer within {self._timeout} s")
            data = os.read(self._responses, 65536)
            if not data:
                report = ChildReport()
                self._stop(report=report)
                raise ChildError(f"the server child ended: {report.describe()}")
            for record in self._reader.feed(data):
                if isinstance(record, _Raised):
                    report = ChildReport(raised=record.text)
                    self._stop(report=report)
                    raise ChildError(f"the server child ended: {report.describe()}")
                self._pending.append(record)
        return self._pending.pop(0)

    def _stop(self, *, kill: bool = False, report: ChildReport | None = None) -> None:
        if self._pid is None:
            return
        os.close(self._requests)
        if kill:
            _kill(self._pid)
        else:
            _wait(self._pid, report if report is not None else ChildReport())
        os.close(self._responses)
        self._pid = None

    def close(self) -> None:
        """End the child: it sees end-of-file on its requests and exits."""
        self._stop()

    def __enter__(self) -> ForkedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
