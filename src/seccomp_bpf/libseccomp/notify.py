"""User notifications as libseccomp's binding has them: :class:`Notification`,
:class:`NotificationResponse`, :class:`NotificationAddfd` (libseccomp 2.6), and the
process's one listener.

The kernel gives a process at most one listener: a filter loaded with
``SECCOMP_FILTER_FLAG_NEW_LISTENER`` fails with ``EBUSY`` when a filter of the process already
has one (``has_duplicate_listener`` in ``kernel/seccomp.c``). libseccomp keeps the listener in
its process-wide state and asks for one only while it has none (``sys_filter_load``), so a
second filter that uses NOTIFY loads; its NOTIFY calls have no listener of their own and
fail with ``ENOSYS`` (``seccomp_do_user_notification``), while the first filter's still
reach the listener. :data:`LISTENER` is that state here; every filter's
``get_notify_fd()`` gives it.
"""

from __future__ import annotations

import errno as errno_codes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.errors import KernelError, LibseccompError
from seccomp_bpf.libseccomp.rules import system_failure


class Notification:
    """A system call waiting for an answer (``struct seccomp_notif``)."""

    __slots__ = ("_arch", "_args", "_flags", "_id", "_ip", "_pid", "_syscall")

    def __init__(  # noqa: PLR0917 - the binding's positional signature
        self,
        id: int,
        pid: int,
        flags: int,
        syscall: int,
        arch: int,
        instruction_pointer: int,
        args: Sequence[int],
    ) -> None:
        self._id = id
        self._pid = pid
        self._flags = flags
        self._syscall = syscall
        self._arch = arch
        self._ip = instruction_pointer
        self._args = list(args)

    @property
    def id(self) -> int:
        return self._id

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def flags(self) -> int:
        return self._flags

    @property
    def syscall(self) -> int:
        return self._syscall

    @property
    def syscall_arch(self) -> int:
        return self._arch

    @property
    def syscall_ip(self) -> int:
        return self._ip

    @property
    def syscall_args(self) -> list[int]:
        return list(self._args)

    def __repr__(self) -> str:
        return (
            f"Notification(id={self._id}, pid={self._pid}, syscall={self._syscall}, "
            f"syscall_arch={self._arch:#x}, syscall_args={self._args})"
        )


class NotificationResponse:
    """The answer to a :class:`Notification` (``struct seccomp_notif_resp``): the call returns
    ``val``, or fails with ``error`` (a negated errno, e.g. ``-errno.EPERM``); ``flags`` 1
    (``SECCOMP_USER_NOTIF_FLAG_CONTINUE``) lets it run instead."""

    __slots__ = ("error", "flags", "id", "val")

    def __init__(self, notify: Notification, val: int = 0, error: int = 0, flags: int = 0) -> None:
        if not isinstance(notify, Notification):
            raise TypeError("notify must be a Notification object")
        self.id: int = notify.id
        self.val: int = val
        self.error: int = error
        self.flags: int = flags

    def __repr__(self) -> str:
        return (
            f"NotificationResponse(id={self.id}, val={self.val}, error={self.error}, "
            f"flags={self.flags})"
        )


class NotificationAddfd:
    """A descriptor to install into the process that made a :class:`Notification`
    (``struct seccomp_notif_addfd``, ``seccomp_notify_addfd(3)``, libseccomp 2.6): a duplicate
    of this process's ``srcfd``, at the lowest free number or, with ``flags``
    ``SECCOMP_ADDFD_FLAG_SETFD`` (1), at ``newfd``; ``newfd_flags`` is ``O_CLOEXEC`` or 0."""

    __slots__ = ("flags", "id", "newfd", "newfd_flags", "srcfd")

    def __init__(
        self, notify: Notification, flags: int, srcfd: int, newfd: int = 0, newfd_flags: int = 0
    ) -> None:
        if not isinstance(notify, Notification):
            raise TypeError("notify must be a Notification object")
        self.id: int = notify.id
        self.flags: int = flags
        self.srcfd: int = srcfd
        self.newfd: int = newfd
        self.newfd_flags: int = newfd_flags

    def __repr__(self) -> str:
        return (
            f"NotificationAddfd(id={self.id}, flags={self.flags}, srcfd={self.srcfd}, "
            f"newfd={self.newfd}, newfd_flags={self.newfd_flags})"
        )


@dataclass
class Listener:
    """The process's listener: the fd the first filter with NOTIFY was loaded with."""

    fd: int | None = None


LISTENER: Final = Listener()


def listener_fd(fd: int | None) -> int:
    """``fd`` when given (the binding's ``fd=`` keyword: a listener received from another
    process), else the process's listener; ``RuntimeError`` when there is none."""
    if fd is not None:
        if isinstance(fd, bool) or not isinstance(fd, int) or fd < 0:
            raise TypeError("fd must be a file descriptor (a non-negative int)")
        return fd
    if LISTENER.fd is None:
        raise LibseccompError(
            errno_codes.EINVAL,
            "no filter with NOTIFY has been loaded",
            message="Notifications not enabled/active",
        )
    return LISTENER.fd


def failure(error: KernelError | ValueError, raw: bool) -> LibseccompError:
    """A kernel failure (or an answer the kernel would refuse) as libseccomp reports it."""
    if isinstance(error, KernelError):
        return system_failure(error.errno, str(error), raw=raw)
    return system_failure(errno_codes.EINVAL, str(error), raw=raw)


def gone(raw: bool) -> LibseccompError:
    """The notified thread is gone (``ENOENT``), as libseccomp reports it."""
    code = errno_codes.ENOENT if raw else errno_codes.ECANCELED
    return LibseccompError(code, "the notified thread is gone (ENOENT)")


def receive(fd: int, raw: bool) -> Notification:
    """Wait for the next notification on ``fd``."""
    from seccomp_bpf.kernel.notify import receive as receive_notification

    try:
        received = receive_notification(fd)
    except KernelError as error:
        raise failure(error, raw) from error
    if received is None:
        raise gone(raw)
    data = received.data
    return Notification(
        received.id,
        received.pid,
        received.flags,
        data.nr,
        data.arch,
        data.instruction_pointer,
        list(data.args),
    )


def respond(fd: int, response: NotificationResponse, raw: bool) -> None:
    """Answer a notification on ``fd``."""
    from seccomp_bpf.kernel.notify import SECCOMP_USER_NOTIF_FLAG_CONTINUE
    from seccomp_bpf.kernel.notify import respond as send_response

    if not isinstance(response, NotificationResponse):
        raise TypeError("response must be a NotificationResponse object")
    if response.flags & ~SECCOMP_USER_NOTIF_FLAG_CONTINUE:
        raise LibseccompError(errno_codes.EINVAL, f"unknown flags {response.flags:#x}")
    try:
        answered = send_response(
            fd,
            response.id,
            response.error,
            response.val,
            continue_=bool(response.flags & SECCOMP_USER_NOTIF_FLAG_CONTINUE),
        )
    except (ValueError, KernelError) as error:
        raise failure(error, raw) from error
    if not answered:
        raise gone(raw)


def add_fd(fd: int, addfd: NotificationAddfd, raw: bool) -> int:
    """Install ``addfd``'s descriptor in the notified process; the number it has there."""
    from seccomp_bpf.kernel.notify import add_fd as install_fd

    if not isinstance(addfd, NotificationAddfd):
        raise TypeError("addfd must be a NotificationAddfd object")
    try:
        installed = install_fd(
            fd,
            addfd.id,
            addfd.srcfd,
            newfd=addfd.newfd,
            flags=addfd.flags,
            newfd_flags=addfd.newfd_flags,
        )
    except KernelError as error:
        raise failure(error, raw) from error
    if installed is None:
        raise gone(raw)
    return installed
