"""Read the seccomp filters of another process with ``ptrace(2)``.

``PTRACE_SECCOMP_GET_FILTER`` (Linux 4.4, needs ``CONFIG_CHECKPOINT_RESTORE``) copies out one
filter of a tracee exactly as it was installed (``orig_prog``, saved before the kernel
rewrote it). The kernel allows it only when (``seccomp_get_filter``, ``kernel/seccomp.c``):

- the caller has ``CAP_SYS_ADMIN`` and is not itself in a seccomp mode, else ``EACCES``;
- the target is a tracee of the caller in a ptrace-stop (``ptrace_check_attach``), else
  ``ESRCH``. So the process is seized (``PTRACE_SEIZE``, which does not stop it), stopped
  with ``PTRACE_INTERRUPT``, waited for, and detached at the end; a call it was blocked in
  restarts by itself;
- the index names an installed filter: ``ENOENT`` past the last one, ``EINVAL`` when the
  target is not in filter mode at all.

Filters belong to threads; these functions read those of the thread ``pid`` (for a process
id, its main thread). The kernel runs them all and the most restrictive answer wins.

Index 0 is the filter installed *first*. ``ptrace(2)`` says "the most recently installed
filter has the index 0", but ``get_nth_filter`` (``kernel/seccomp.c``) counts
``count - filter_off`` filters back from the newest, which lands on the oldest for index 0;
a test pins the kernel's behaviour.

glibc's ``ptrace`` is declared once, in :mod:`.tracer`; this module makes other requests
with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as errno_codes
import os
import signal
from collections.abc import Iterator
from typing import Final

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.libc import SockFilter, ptrace_function
from seccomp_bpf.kernel.tracer import (
    PTRACE_DETACH,
    PTRACE_EVENT_STOP,
    PTRACE_INTERRUPT,
    PTRACE_SEIZE,
    WALL,
)

# <linux/ptrace.h>
PTRACE_SECCOMP_GET_FILTER: Final = 0x420C


def _ptrace(request: int, name: str, pid: int, addr: int = 0, data: int = 0) -> int:
    ctypes.set_errno(0)
    result = int(ptrace_function()(request, pid, addr, data))
    if result == -1:
        code = ctypes.get_errno()
        raise KernelError(f"ptrace({name}, {pid})", code, _failure(name, pid, code))
    return result


def _failure(name: str, pid: int, code: int) -> str:
    """What ``code`` means for these requests (``ptrace(2)``, ERRORS)."""
    if code == errno_codes.ESRCH:
        return f"no process {pid}, or it is not stopped under this tracer"
    if name == "PTRACE_SEIZE" and code == errno_codes.EPERM:
        if pid == os.getpid():
            return "a process cannot trace itself"
        return (
            f"not allowed to trace process {pid}: it may already be traced (by a debugger or "
            "a supervisor), or this needs CAP_SYS_PTRACE"
        )
    if name == "PTRACE_SECCOMP_GET_FILTER":
        if code == errno_codes.EACCES:
            return (
                "reading filters needs CAP_SYS_ADMIN, and the reading process must not be "
                "under seccomp itself"
            )
        if code == errno_codes.EIO:
            return (
                "this kernel cannot dump filters (it needs CONFIG_CHECKPOINT_RESTORE and "
                "CONFIG_SECCOMP_FILTER, Linux 4.4)"
            )
        if code == errno_codes.EMEDIUMTYPE:
            return "the filter is not a classic BPF program"
    return ""


def _wait_for_stop(pid: int) -> int:
    """Wait for ``pid`` to stop; the signal to give back on detach (0 for none).

    After ``PTRACE_INTERRUPT`` the tracee reports a ``PTRACE_EVENT_STOP``, unless a signal
    reached it first: then it reports that signal's delivery stop, and the signal would be
    lost unless the detach delivers it.
    """
    while True:
        _, status = os.waitpid(pid, WALL)
        if os.WIFSTOPPED(status):
            if status >> 16 == PTRACE_EVENT_STOP and os.WSTOPSIG(status) == signal.SIGTRAP:
                return 0
            # A signal-delivery stop, or a group stop (the process had been stopped by
            # SIGSTOP and the like): give the signal back so that it stays stopped.
            return os.WSTOPSIG(status)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            raise KernelError(
                f"waitpid({pid})", errno_codes.ESRCH, f"process {pid} ended while being stopped"
            )


@contextlib.contextmanager
def stopped(pid: int) -> Iterator[None]:
    """Seize ``pid`` and hold it in a ptrace-stop for the ``with`` block; detach at the end."""
    _ptrace(PTRACE_SEIZE, "PTRACE_SEIZE", pid)
    give_back = 0
    try:
        _ptrace(PTRACE_INTERRUPT, "PTRACE_INTERRUPT", pid)
        give_back = _wait_for_stop(pid)
        yield
    finally:
        # ESRCH: the tracee died meanwhile, and so is detached already.
        with contextlib.suppress(KernelError):
            _ptrace(PTRACE_DETACH, "PTRACE_DETACH", pid, 0, give_back)


def seccomp_get_filter(pid: int, index: int) -> bytes | None:
    """``PTRACE_SECCOMP_GET_FILTER``: filter ``index`` of the stopped tracee ``pid`` as raw
    ``struct sock_filter`` records, or None when it has no such filter (``ENOENT``, or
    ``EINVAL`` when it has no filter at all)."""
    name = "PTRACE_SECCOMP_GET_FILTER"
    try:
        # With a NULL buffer the call returns the number of instructions only.
        count = _ptrace(PTRACE_SECCOMP_GET_FILTER, name, pid, index)
    except KernelError as error:
        if error.errno in (errno_codes.ENOENT, errno_codes.EINVAL):
            return None
        raise
    buffer = (SockFilter * count)()
    copied = _ptrace(PTRACE_SECCOMP_GET_FILTER, name, pid, index, ctypes.addressof(buffer))
    if copied != count:
        raise KernelError(
            f"ptrace({name}, {pid})",
            errno_codes.EAGAIN,
            f"filter {index} has {copied} instructions, but {count} were announced",
        )
    return bytes(buffer)


def seccomp_filters(pid: int) -> list[bytes]:
    """Every filter of ``pid`` in the order they were installed (the kernel's index order) as
    raw ``struct sock_filter`` records in this machine's byte order; empty when it has none.
    Stops the process briefly."""
    filters: list[bytes] = []
    with stopped(pid):
        while (data := seccomp_get_filter(pid, len(filters))) is not None:
            filters.append(data)
    return filters
