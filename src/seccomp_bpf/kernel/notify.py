"""User notifications: the supervisor's side of ``SECCOMP_RET_USER_NOTIF`` (``seccomp_unotify(2)``).

A filter installed with ``SECCOMP_FILTER_FLAG_NEW_LISTENER`` returns a listener file
descriptor. Each call the filter answers with ``SECCOMP_RET_USER_NOTIF`` blocks its thread
until a supervisor reads the notification from the listener (:func:`receive`) and answers it
(:func:`respond`): a return value, an error, or "continue" (run the call as if allowed).

- The listener is readable (``POLLIN``) while a notification waits, and reports ``POLLHUP``
  once no task uses the filter any more (``seccomp_notify_poll``, ``kernel/seccomp.c``).
- A notification disappears when its thread is killed or interrupted by a signal before the
  answer: :func:`receive` then returns None and :func:`respond` returns False (``ENOENT``);
  neither is an error.
- The ``pid`` of a notification is the *thread* id of the caller in the supervisor's pid
  namespace, and may be reused once that thread is gone: check :func:`id_valid` after taking
  a handle on the process (a pidfd) and before acting on it.

The ioctls go through :func:`fcntl.ioctl` on the ``ctypes`` structures below, whose layouts
are those of ``<linux/seccomp.h>``; :func:`require_user_notif` compares them with the sizes
the running kernel reports (``SECCOMP_GET_NOTIF_SIZES``).
"""

from __future__ import annotations

import ctypes
import errno as errno_codes
import fcntl
import os
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompData
from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.seccomp import action_available, notif_sizes


class SeccompDataStruct(ctypes.Structure):
    """``struct seccomp_data`` (``<linux/seccomp.h>``): 64 bytes."""

    _fields_ = (
        ("nr", ctypes.c_int32),
        ("arch", ctypes.c_uint32),
        ("instruction_pointer", ctypes.c_uint64),
        ("args", ctypes.c_uint64 * 6),
    )


class SeccompNotif(ctypes.Structure):
    """``struct seccomp_notif`` (``<linux/seccomp.h>``): 80 bytes."""

    _fields_ = (
        ("id", ctypes.c_uint64),
        ("pid", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("data", SeccompDataStruct),
    )


class SeccompNotifResp(ctypes.Structure):
    """``struct seccomp_notif_resp`` (``<linux/seccomp.h>``): 24 bytes."""

    _fields_ = (
        ("id", ctypes.c_uint64),
        ("val", ctypes.c_int64),
        ("error", ctypes.c_int32),
        ("flags", ctypes.c_uint32),
    )


class SeccompNotifAddfd(ctypes.Structure):
    """``struct seccomp_notif_addfd`` (``<linux/seccomp.h>``, Linux 5.9): 24 bytes."""

    _fields_ = (
        ("id", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("srcfd", ctypes.c_uint32),
        ("newfd", ctypes.c_uint32),
        ("newfd_flags", ctypes.c_uint32),
    )


# --- ioctl numbers ------------------------------------------------------------------------------
# <asm-generic/ioctl.h>:
#     _IOC(dir, type, nr, size) = dir << DIRSHIFT | size << SIZESHIFT | type << 8 | nr
# with 8 bits of nr (shift 0), 8 bits of type (shift 8), then _IOC_SIZEBITS bits of size
# (shift 16) and the direction above them (shift 16 + _IOC_SIZEBITS). _IOW means user space
# writes (the kernel reads the argument), _IOR the kernel writes, _IOWR both.
#   generic:                     _IOC_SIZEBITS 14, _IOC_NONE 0, _IOC_WRITE 1, _IOC_READ 2
#   alpha, mips, powerpc, sparc: _IOC_SIZEBITS 13, _IOC_NONE 1, _IOC_READ 2, _IOC_WRITE 4
#                                (arch/*/include/uapi/asm/ioctl.h)
#   parisc:                      _IOC_SIZEBITS 14, _IOC_NONE 0, _IOC_WRITE 2, _IOC_READ 1
#                                (arch/parisc/include/uapi/asm/ioctl.h)
# <linux/seccomp.h>: SECCOMP_IOC_MAGIC '!' (0x21);
#     SECCOMP_IOCTL_NOTIF_RECV     = SECCOMP_IOWR(0, struct seccomp_notif)       (80 bytes)
#     SECCOMP_IOCTL_NOTIF_SEND     = SECCOMP_IOWR(1, struct seccomp_notif_resp)  (24 bytes)
#     SECCOMP_IOCTL_NOTIF_ID_VALID = SECCOMP_IOW(2, __u64)                        (8 bytes)
#     SECCOMP_IOCTL_NOTIF_ADDFD    = SECCOMP_IOW(3, struct seccomp_notif_addfd)  (24 bytes)
# so on x86-64: RECV = 3 << 30 | 80 << 16 | 0x21 << 8 | 0 = 0xc0502100, SEND = 0xc0182101,
# ID_VALID = 1 << 30 | 8 << 16 | 0x2102 = 0x40082102, ADDFD = 0x40182103. (ID_VALID was
# first defined with _IOR, 0x80082102; the kernel still accepts that number as
# SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR.)


@dataclass(frozen=True, slots=True)
class IoctlLayout:
    """How an architecture packs ``_IOC(dir, type, nr, size)``."""

    size_bits: int
    none: int
    write: int
    read: int

    def encode(self, direction: int, type_: int, nr: int, size: int) -> int:
        if not 0 <= size < 1 << self.size_bits:
            raise ValueError(f"an ioctl argument of {size} bytes does not fit in the number")
        return direction << (16 + self.size_bits) | size << 16 | type_ << 8 | nr


GENERIC_IOCTL_LAYOUT: Final = IoctlLayout(size_bits=14, none=0, write=1, read=2)
THREE_BIT_IOCTL_LAYOUT: Final = IoctlLayout(size_bits=13, none=1, write=4, read=2)
PARISC_IOCTL_LAYOUT: Final = IoctlLayout(size_bits=14, none=0, write=2, read=1)


def ioctl_layout(machine: str | None = None) -> IoctlLayout:
    """The ``_IOC`` layout of ``machine`` (``uname -m``; by default this machine's)."""
    if machine is None:
        machine = os.uname().machine
    if machine.startswith(("alpha", "mips", "ppc", "powerpc", "sparc")):
        return THREE_BIT_IOCTL_LAYOUT
    if machine.startswith("parisc"):
        return PARISC_IOCTL_LAYOUT
    return GENERIC_IOCTL_LAYOUT


SECCOMP_IOC_MAGIC: Final = ord("!")


@dataclass(frozen=True, slots=True)
class NotifIoctls:
    """The four request numbers of the listener on one architecture."""

    recv: int
    send: int
    id_valid: int
    addfd: int


def notif_ioctls(machine: str | None = None) -> NotifIoctls:
    """``SECCOMP_IOCTL_NOTIF_*`` for ``machine`` (by default this one); see the derivation above."""
    layout = ioctl_layout(machine)
    read_write = layout.read | layout.write
    return NotifIoctls(
        recv=layout.encode(read_write, SECCOMP_IOC_MAGIC, 0, ctypes.sizeof(SeccompNotif)),
        send=layout.encode(read_write, SECCOMP_IOC_MAGIC, 1, ctypes.sizeof(SeccompNotifResp)),
        id_valid=layout.encode(layout.write, SECCOMP_IOC_MAGIC, 2, ctypes.sizeof(ctypes.c_uint64)),
        addfd=layout.encode(layout.write, SECCOMP_IOC_MAGIC, 3, ctypes.sizeof(SeccompNotifAddfd)),
    )


_IOCTLS: Final = notif_ioctls()
SECCOMP_IOCTL_NOTIF_RECV: Final = _IOCTLS.recv
SECCOMP_IOCTL_NOTIF_SEND: Final = _IOCTLS.send
SECCOMP_IOCTL_NOTIF_ID_VALID: Final = _IOCTLS.id_valid
SECCOMP_IOCTL_NOTIF_ADDFD: Final = _IOCTLS.addfd

# <linux/seccomp.h>: the answer lets the call run as if the filter had allowed it (Linux 5.5).
SECCOMP_USER_NOTIF_FLAG_CONTINUE: Final = 1 << 0


# --- the calls ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notification:
    """One call waiting for an answer: its ``id``, the caller's thread id ``pid`` and what
    the filter saw (``data``, in this machine's byte order)."""

    id: int
    pid: int
    flags: int
    data: SeccompData


def require_user_notif() -> None:
    """Raise :class:`KernelError` unless this kernel supports user notifications with the
    structure layouts of this module (``SECCOMP_GET_NOTIF_SIZES``, Linux 5.0)."""
    call = "seccomp(SECCOMP_GET_NOTIF_SIZES)"
    sizes = notif_sizes()
    if sizes is None or not action_available(op.SECCOMP_RET_USER_NOTIF):
        raise KernelError(
            call, errno_codes.ENOSYS, "this kernel has no seccomp user notifications (Linux 5.0)"
        )
    ours = (
        ctypes.sizeof(SeccompNotif),
        ctypes.sizeof(SeccompNotifResp),
        ctypes.sizeof(SeccompDataStruct),
    )
    theirs = (sizes.notif, sizes.notif_resp, sizes.data)
    if ours != theirs:
        raise KernelError(
            call,
            errno_codes.EINVAL,
            f"the kernel's seccomp_notif, seccomp_notif_resp and seccomp_data are {theirs} "
            f"bytes; this module knows {ours}",
        )


def receive(fd: int) -> Notification | None:
    """``SECCOMP_IOCTL_NOTIF_RECV``: the next notification; blocks until one arrives.

    Returns None when the notification vanished because its thread was killed or interrupted
    before it could be read (``ENOENT``). Retries after ``EINTR``.
    """
    # The kernel refuses a buffer that is not zeroed (check_zeroed_user in
    # seccomp_notify_recv); a new structure is, and an interrupted wait leaves it untouched.
    notif = SeccompNotif()
    if not _notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, "SECCOMP_IOCTL_NOTIF_RECV", notif):
        return None
    data = notif.data
    a = [int(value) for value in data.args]
    args = (a[0], a[1], a[2], a[3], a[4], a[5])
    return Notification(
        notif.id,
        notif.pid,
        notif.flags,
        SeccompData(data.nr, data.arch, data.instruction_pointer, args),
    )


def _notif_ioctl(
    fd: int, request: int, name: str, buffer: ctypes.Structure | ctypes.c_uint64
) -> bool:
    """Run one notification ioctl, again after ``EINTR``. False when the notification is gone
    (``ENOENT``: its thread died or was interrupted); any other failure is a KernelError."""
    return _notif_ioctl_result(fd, request, name, buffer) is not None


def _notif_ioctl_result(
    fd: int, request: int, name: str, buffer: ctypes.Structure | ctypes.c_uint64
) -> int | None:
    """:func:`_notif_ioctl` giving the ioctl's return value, or None for ``ENOENT``."""
    while True:
        try:
            result = fcntl.ioctl(fd, request, buffer, True)
        except InterruptedError:
            continue
        except OSError as error:
            if error.errno == errno_codes.ENOENT:
                return None
            raise KernelError(f"ioctl({name})", error.errno or errno_codes.EIO) from None
        return int(result)


def respond(fd: int, id: int, error: int = 0, val: int = 0, *, continue_: bool = False) -> bool:
    """``SECCOMP_IOCTL_NOTIF_SEND``: answer notification ``id``.

    ``error`` is 0 or a negated errno (``-errno.EPERM``): the call then fails with it.
    Otherwise the call returns ``val`` without running, or, with ``continue_``
    (``SECCOMP_USER_NOTIF_FLAG_CONTINUE``), runs as if the filter had allowed it; ``error``
    and ``val`` must then be 0. Returns False when the notification no longer exists
    (``ENOENT``: the thread was killed or interrupted, or the id is stale).
    """
    if not -op.MAX_ERRNO <= error <= 0:
        raise ValueError(f"error must be 0 or a negated errno (-1..-{op.MAX_ERRNO}), not {error}")
    if continue_ and (error or val):
        raise ValueError("a 'continue' answer carries no error and no value")
    response = SeccompNotifResp(
        id, val, error, SECCOMP_USER_NOTIF_FLAG_CONTINUE if continue_ else 0
    )
    return _notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, "SECCOMP_IOCTL_NOTIF_SEND", response)


def id_valid(fd: int, id: int) -> bool:
    """``SECCOMP_IOCTL_NOTIF_ID_VALID``: whether notification ``id`` still waits for an answer
    (its thread is alive and blocked in the call)."""
    value = ctypes.c_uint64(id)
    return _notif_ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, "SECCOMP_IOCTL_NOTIF_ID_VALID", value)


SECCOMP_ADDFD_FLAG_SETFD: Final = 1 << 0
"""<linux/seccomp.h>: install at ``newfd`` (replacing what is there), not the lowest free."""
SECCOMP_ADDFD_FLAG_SEND: Final = 1 << 1
"""<linux/seccomp.h> (Linux 5.14): install and answer the notification with the new number in
one step, so the target cannot see the descriptor before its call returns."""


def add_fd(
    fd: int, id: int, srcfd: int, *, newfd: int = 0, flags: int = 0, newfd_flags: int = 0
) -> int | None:
    """``SECCOMP_IOCTL_NOTIF_ADDFD`` (Linux 5.9): install a duplicate of this process's
    ``srcfd`` into the process that made notification ``id``; returns the number it has
    there. ``flags`` are ``SECCOMP_ADDFD_FLAG_*``, ``newfd_flags`` ``O_CLOEXEC`` or 0.
    Returns None when the notification no longer exists (``ENOENT``)."""
    request = SeccompNotifAddfd(id, flags, srcfd, newfd, newfd_flags)
    return _notif_ioctl_result(fd, SECCOMP_IOCTL_NOTIF_ADDFD, "SECCOMP_IOCTL_NOTIF_ADDFD", request)
