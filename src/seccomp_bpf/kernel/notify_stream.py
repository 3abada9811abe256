"""Receive and answer many user notifications quickly: the profiler's notify mode.

:func:`seccomp_bpf.kernel.notify.receive` and :func:`~seccomp_bpf.kernel.notify.respond` build
a structure and a record per call, which is right for a supervisor that then decides with a
policy. A profiler answers every call of the command the same way (``CONTINUE``), so the
per-call work here is two ``ioctl`` calls on buffers allocated once, and one ``unpack``.
The layouts and request numbers are those of :mod:`seccomp_bpf.kernel.notify`.
"""

from __future__ import annotations

import ctypes
import errno as errno_codes
import fcntl
import struct
from typing import Final

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.notify import (
    SECCOMP_IOCTL_NOTIF_RECV,
    SECCOMP_IOCTL_NOTIF_SEND,
    SECCOMP_USER_NOTIF_FLAG_CONTINUE,
    SeccompNotif,
    SeccompNotifResp,
)

# struct seccomp_notif (<linux/seccomp.h>), in this machine's byte order:
#     __u64 id; __u32 pid; __u32 flags;                         offsets 0, 8, 12
#     struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
#                                                               offsets 16, 20, 24, 32..72
NOTIF: Final = struct.Struct("=QIIiIQ6Q")
# struct seccomp_notif_resp: __u64 id; __s64 val; __s32 error; __u32 flags.
NOTIF_RESP: Final = struct.Struct("=QqiI")

assert NOTIF.size == ctypes.sizeof(SeccompNotif)
assert NOTIF_RESP.size == ctypes.sizeof(SeccompNotifResp)


class NotificationStream:
    """The notifications of listener ``fd``, received and answered with reused buffers.

    :meth:`receive` blocks until a notification is there (poll the listener first to wait
    for other things too) and returns ``(id, pid, flags, nr, arch, ip, a0, ..., a5)``, with
    ``nr`` as the kernel's ``int``; None when the notification vanished (its thread was
    killed or interrupted). :meth:`allow` and :meth:`fail` return False when the notification
    no longer waits for an answer. Other failures raise :class:`KernelError` naming the ioctl.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray(NOTIF.size)
        self._zero = bytes(NOTIF.size)
        self._unpack = NOTIF.unpack_from
        self._pack = NOTIF_RESP.pack
        self._ioctl = fcntl.ioctl

    def receive(self) -> tuple[int, ...] | None:
        buffer = self._buffer
        # The kernel refuses a buffer that is not zeroed (check_zeroed_user in
        # seccomp_notify_recv, kernel/seccomp.c).
        buffer[:] = self._zero
        while True:
            try:
                self._ioctl(self.fd, SECCOMP_IOCTL_NOTIF_RECV, buffer, True)
            except InterruptedError:
                continue
            except OSError as error:
                if error.errno == errno_codes.ENOENT:
                    return None
                raise KernelError(
                    "ioctl(SECCOMP_IOCTL_NOTIF_RECV)", error.errno or errno_codes.EIO
                ) from None
            return self._unpack(buffer)

    def _send(self, response: bytes) -> bool:
        while True:
            try:
                self._ioctl(self.fd, SECCOMP_IOCTL_NOTIF_SEND, response)
            except InterruptedError:
                continue
            except OSError as error:
                # ENOENT: no such notification (its thread is gone, or it was answered and
                # resumed); EINPROGRESS: answered already, its thread not yet resumed
                # (seccomp_notify_send, kernel/seccomp.c).
                if error.errno in (errno_codes.ENOENT, errno_codes.EINPROGRESS):
                    return False
                raise KernelError(
                    "ioctl(SECCOMP_IOCTL_NOTIF_SEND)", error.errno or errno_codes.EIO
                ) from None
            return True

    def allow(self, id: int) -> bool:
        """Let the call run as if the filter had allowed it (``CONTINUE``, Linux 5.5)."""
        return self._send(self._pack(id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE))

    def fail(self, id: int, errno: int) -> bool:
        """Make the call fail with ``errno`` without running."""
        return self._send(self._pack(id, 0, -errno, 0))
