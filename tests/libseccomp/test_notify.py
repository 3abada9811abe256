"""User notifications through ``seccomp_bpf.libseccomp`` in the real kernel, written as
libseccomp's live tests are: a second filter with NOTIFY reuses the process's listener
(51-live-user_notification), and ``notify_addfd`` installs a descriptor into the notified
process (63-live-notify_addfd, libseccomp 2.6). Every filter is loaded in a forked child."""

from __future__ import annotations

import errno
import os
import socket
import stat

import pytest

from seccomp_bpf.libseccomp import (
    ALLOW,
    NOTIFY,
    Arch,
    Attr,
    NotificationAddfd,
    NotificationResponse,
    SyscallFilter,
    get_api,
    resolve_syscall,
    set_api,
)
from tests.kernel.forked import run_in_child

pytestmark = pytest.mark.kernel
NOBODY = 65534


def _become(uid: int | None) -> None:
    """Drop to ``uid`` (no groups) in the forked child: the filters load unprivileged, with
    no_new_privs, as a program confining itself would."""
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


AS_WHOM = pytest.mark.parametrize("uid", [None, NOBODY], ids=["as is", "as nobody"])


def _second_filter_with_notify(uid: int | None) -> tuple[int, int, int, int, int]:
    _become(uid)
    magic = os.getuid() + 1
    f = SyscallFilter(ALLOW)
    f.add_rule(NOTIFY, "getuid")
    f.load()
    first_fd = f.get_notify_fd()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if os.getuid() == magic else 1)
    notify = f.receive_notify()
    assert notify.syscall == resolve_syscall(Arch(), "getuid")
    f.respond_notify(NotificationResponse(notify, magic, 0, 0))
    first = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    # the kernel allows one listener per process: libseccomp keeps the one it has
    f.reset(ALLOW)
    f.add_rule(NOTIFY, "getppid")
    f.load()
    second_fd = SyscallFilter(ALLOW).get_notify_fd()
    pid = os.fork()
    if pid == 0:
        # the second filter's NOTIFY has no listener of its own: ENOSYS
        # (seccomp_do_user_notification; getppid() cannot fail, so Python returns the raw
        # -ENOSYS); the first filter's still reaches the listener
        code = 0 if os.getppid() == -errno.ENOSYS else 2
        os._exit(code if os.getuid() == magic else 4)
    notify = f.receive_notify()
    answered = notify.syscall
    f.respond_notify(NotificationResponse(notify, magic, 0, 0))
    second = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return first, first_fd, second_fd, second, answered


@AS_WHOM
def test_a_second_filter_with_notify_reuses_the_listener(uid: int | None) -> None:
    found = run_in_child(_second_filter_with_notify, uid)
    first, first_fd, second_fd, second, answered = found
    assert first == 0
    assert second_fd == first_fd >= 0
    assert second == 0
    assert answered == resolve_syscall(Arch(), "getuid")


def _send_fd(sock: socket.socket, fd: int) -> None:
    socket.send_fds(sock, [b" "], [fd])


def _addfd(uid: int | None) -> tuple[int, int, bool, int]:
    _become(uid)
    f = SyscallFilter(ALLOW)
    f.add_rule(NOTIFY, "openat")
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        f.load()
        _send_fd(child_end, f.get_notify_fd())
        # the supervisor answers openat("/etc/hostname") with a descriptor of /dev/null
        fd = os.open("/etc/hostname", os.O_RDONLY)
        null = os.stat(os.devnull)
        same = os.fstat(fd).st_rdev == null.st_rdev and stat.S_ISCHR(os.fstat(fd).st_mode)
        empty = os.read(fd, 128) == b""
        os._exit(0 if same and empty else 1)
    _, fds, _, _ = socket.recv_fds(parent_end, 1, 1)
    (listener,) = fds
    notify = f.receive_notify(fd=listener)
    is_openat = notify.syscall == resolve_syscall(Arch(), "openat")
    new_fd = os.open(os.devnull, os.O_RDONLY)
    installed = f.notify_addfd(NotificationAddfd(notify, 0, new_fd), fd=listener)
    f.respond_notify(NotificationResponse(notify, installed, 0, 0), fd=listener)
    os.close(new_fd)
    os.close(listener)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return status, installed, is_openat, notify.pid - pid


@AS_WHOM
def test_notify_addfd_installs_a_descriptor_into_the_target(uid: int | None) -> None:
    status, installed, is_openat, pid_difference = run_in_child(_addfd, uid)
    assert is_openat and pid_difference == 0
    assert installed >= 3
    assert status == 0


def _addfd_after_the_target_is_gone() -> tuple[int, str]:
    f = SyscallFilter(ALLOW)
    f.add_rule(NOTIFY, "getppid")
    f.load()
    pid = os.fork()
    if pid == 0:
        os.getppid()
        os._exit(0)
    notify = f.receive_notify()
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    f.set_attr(Attr.API_SYSRAWRC, 1)
    try:
        f.notify_addfd(NotificationAddfd(notify, 0, 0))
    except RuntimeError as error:
        return getattr(error, "errno", 0), str(error)
    return 0, ""


def test_notify_addfd_for_a_vanished_call_is_an_error() -> None:
    code, message = run_in_child(_addfd_after_the_target_is_gone)
    assert code == errno.ENOENT, message


def test_waitkill_is_accepted_at_api_level_5() -> None:
    # as libseccomp's 13-basic-attrs: the attribute is set whatever the level; the kernel
    # checks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV when the filter is loaded
    level = get_api()
    try:
        set_api(5)
        f = SyscallFilter(ALLOW)
        f.set_attr(Attr.CTL_WAITKILL, 1)
        assert f.get_attr(Attr.CTL_WAITKILL) == 1
        assert "wait_killable_recv" in f.policies()[0].flags
    finally:
        set_api(level)
