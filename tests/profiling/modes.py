"""The profiler's modes as test parameters, each skipped where this kernel cannot run it."""

from __future__ import annotations

import functools
import os
import sys

import pytest

from seccomp_bpf.errors import KernelError


@functools.cache
def ptrace_available() -> bool:
    """Whether this process may seize a child of its own (Yama, a container's profile...)."""
    if not sys.platform.startswith("linux"):
        return False
    import signal
    import time

    from seccomp_bpf.kernel.tracer import seize

    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    try:
        seize(pid, 0)
    except KernelError:
        return False
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return True


@functools.cache
def notify_available() -> bool:
    """Whether this kernel has user notifications with CONTINUE (Linux 5.5) and
    ``pidfd_getfd`` (Linux 5.6)."""
    if not sys.platform.startswith("linux"):
        return False
    from seccomp_bpf.kernel.notify import require_user_notif

    try:
        require_user_notif()
    except KernelError:
        return False
    release = tuple(int(part) for part in os.uname().release.split(".")[:2] if part.isdigit())
    return release >= (5, 6)


MODES = [
    pytest.param(
        "ptrace", marks=pytest.mark.skipif(not ptrace_available(), reason="ptrace is forbidden")
    ),
    pytest.param(
        "notify",
        marks=pytest.mark.skipif(not notify_available(), reason="needs Linux 5.6 notifications"),
    ),
]
