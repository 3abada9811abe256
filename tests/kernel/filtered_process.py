"""A child process that installs filters and then waits, for tests that inspect it from
outside (``seccomp-bpf dump``, ``PTRACE_SECCOMP_GET_FILTER``).

``filtered_process(programs)`` forks a child that installs each program in order (no TSYNC:
it has one thread), says it is ready, and blocks reading a pipe until the ``with`` block
ends; then it exits and is reaped, and a status other than 0 fails the test. The programs
must allow ``read``, ``write`` and ``exit_group``. The parent never loads a filter.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Iterator, Sequence

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.kernel import install, set_dumpable

_READY = b"r"


@contextlib.contextmanager
def filtered_process(programs: Sequence[Program], *, timeout: float = 10.0) -> Iterator[int]:
    """The pid of a child that holds ``programs`` (in installation order) while the block runs."""
    ready_read, ready_write = os.pipe()
    hold_read, hold_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(ready_read)
            os.close(hold_write)
            set_dumpable(False)  # no core file, whatever happens
            for program in programs:
                install(program, tsync=False)
            os.write(ready_write, _READY)
            os.read(hold_read, 1)  # returns at end of file: the parent is done
            status = 0
        finally:
            os._exit(status)
    os.close(ready_write)
    os.close(hold_read)
    try:
        readable, _, _ = select.select([ready_read], [], [], timeout)
        if not readable or os.read(ready_read, 1) != _READY:
            raise AssertionError("the filtered child ended, or was not ready in time")
        yield pid
    finally:
        os.close(hold_write)
        os.close(ready_read)
        status = _reap(pid, timeout)
    if status != 0:
        raise AssertionError(f"the filtered child ended with wait status {status:#x}")


def _reap(pid: int, timeout: float) -> int:
    """The child's wait status; killed (and so nonzero) if it does not end in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]
