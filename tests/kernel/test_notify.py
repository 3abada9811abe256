"""User notifications (``kernel/notify.py``): request numbers, structure sizes, and a real
listener answering real calls in forked children."""

from __future__ import annotations

import ctypes
import errno
import os
import select
import signal
import sys
import threading

import pytest

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Program, jump, load_abs, ret
from seccomp_bpf.kernel import install, notif_sizes
from seccomp_bpf.kernel.libc import syscall
from seccomp_bpf.kernel.notify import (
    GENERIC_IOCTL_LAYOUT,
    SECCOMP_IOCTL_NOTIF_ADDFD,
    SECCOMP_IOCTL_NOTIF_ID_VALID,
    SECCOMP_IOCTL_NOTIF_RECV,
    SECCOMP_IOCTL_NOTIF_SEND,
    SeccompDataStruct,
    SeccompNotif,
    SeccompNotifAddfd,
    SeccompNotifResp,
    id_valid,
    ioctl_layout,
    notif_ioctls,
    receive,
    require_user_notif,
    respond,
)
from tests.kernel.forked import run_in_child

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")

UNASSIGNED_NR = 1000  # no architecture has a system call 1000


def test_structures_have_the_sizes_of_the_header() -> None:
    # <linux/seccomp.h>: seccomp_data is 4 + 4 + 8 + 6 * 8; seccomp_notif adds id, pid, flags.
    assert ctypes.sizeof(SeccompDataStruct) == 64
    assert ctypes.sizeof(SeccompNotif) == 80
    assert ctypes.sizeof(SeccompNotifResp) == 24
    assert ctypes.sizeof(SeccompNotifAddfd) == 24
    assert SeccompNotif.data.offset == 16


@pytest.mark.parametrize(
    ("machine", "recv", "send", "id_valid_", "addfd"),
    [
        # The values the C preprocessor gives for <linux/seccomp.h> on each family.
        ("x86_64", 0xC0502100, 0xC0182101, 0x40082102, 0x40182103),
        ("aarch64", 0xC0502100, 0xC0182101, 0x40082102, 0x40182103),
        # _IOC_READ|_IOC_WRITE = 6 << 29 = 0xc0000000; _IOC_WRITE = 4 << 29 = 0x80000000
        ("ppc64le", 0xC0502100, 0xC0182101, 0x80082102, 0x80182103),
        ("mips64", 0xC0502100, 0xC0182101, 0x80082102, 0x80182103),
        # _IOC_WRITE = 2 << 30 = 0x80000000
        ("parisc64", 0xC0502100, 0xC0182101, 0x80082102, 0x80182103),
    ],
)
def test_request_numbers_per_architecture(
    machine: str, recv: int, send: int, id_valid_: int, addfd: int
) -> None:
    numbers = notif_ioctls(machine)
    assert (numbers.recv, numbers.send, numbers.id_valid, numbers.addfd) == (
        recv,
        send,
        id_valid_,
        addfd,
    )


def test_this_machine_uses_its_own_numbers() -> None:
    numbers = notif_ioctls()
    assert (numbers.recv, numbers.send, numbers.id_valid, numbers.addfd) == (
        SECCOMP_IOCTL_NOTIF_RECV,
        SECCOMP_IOCTL_NOTIF_SEND,
        SECCOMP_IOCTL_NOTIF_ID_VALID,
        SECCOMP_IOCTL_NOTIF_ADDFD,
    )


def test_a_size_too_large_for_the_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        GENERIC_IOCTL_LAYOUT.encode(3, 0x21, 0, 1 << 14)
    assert ioctl_layout("x86_64") is GENERIC_IOCTL_LAYOUT


def test_respond_refuses_impossible_answers() -> None:
    with pytest.raises(ValueError, match="negated errno"):
        respond(-1, 1, error=errno.EPERM)
    with pytest.raises(ValueError, match="continue"):
        respond(-1, 1, error=-errno.EPERM, continue_=True)


# --- against the kernel ---------------------------------------------------------------------------


def _notify_for(nr: int) -> Program:
    """``nr`` goes to the listener; everything else is allowed."""
    return Program(
        [
            load_abs(op.OFFSET_NR),
            jump(op.BPF_JEQ, nr, 0, 1),
            ret(op.SECCOMP_RET_USER_NOTIF),
            ret(op.SECCOMP_RET_ALLOW),
        ]
    )


@pytest.mark.kernel
@linux
def test_the_kernel_reports_the_same_sizes() -> None:
    sizes = notif_sizes()
    if sizes is None:
        pytest.skip("no SECCOMP_GET_NOTIF_SIZES")
    assert (sizes.notif, sizes.notif_resp, sizes.data) == (
        ctypes.sizeof(SeccompNotif),
        ctypes.sizeof(SeccompNotifResp),
        ctypes.sizeof(SeccompDataStruct),
    )
    require_user_notif()


def _answers_seen_by_a_thread() -> dict[str, object]:
    """A thread makes the notified call four times; the main thread answers each way."""
    listener = install(_notify_for(UNASSIGNED_NR), tsync=False, new_listener=True)
    assert listener is not None
    results: list[tuple[int, int]] = []
    tids: list[int] = []

    def caller() -> None:
        tids.append(threading.get_native_id())
        for index in range(4):
            result = syscall(UNASSIGNED_NR, index, 2**64 - 1, 3)
            results.append((result.value, result.errno))

    thread = threading.Thread(target=caller)
    thread.start()
    seen = []
    valid = []
    for answer in ("error", "value", "zero", "continue"):
        notification = receive(listener)
        assert notification is not None
        seen.append(
            (
                notification.pid,
                notification.data.nr,
                notification.data.args[:3],
                notification.data.arch,
            )
        )
        valid.append(id_valid(listener, notification.id))
        if answer == "error":
            delivered = respond(listener, notification.id, -errno.EACCES)
        elif answer == "value":
            delivered = respond(listener, notification.id, val=42)
        elif answer == "zero":
            delivered = respond(listener, notification.id)
        else:
            delivered = respond(listener, notification.id, continue_=True)
        valid.append(id_valid(listener, notification.id))
        valid.append(delivered)
    thread.join()
    return {"results": results, "seen": seen, "valid": valid, "tid": tids[0]}


@pytest.mark.kernel
@linux
def test_each_kind_of_answer_reaches_the_caller() -> None:
    from seccomp_bpf.arch import native_arch

    outcome = run_in_child(_answers_seen_by_a_thread)
    assert outcome["results"] == [
        (-1, errno.EACCES),  # error = -EACCES
        (42, 0),  # val = 42
        (0, 0),  # neither: the call returns 0 without running
        (-1, errno.ENOSYS),  # continue: the real call runs, and 1000 does not exist
    ]
    tid = outcome["tid"]
    audit = native_arch().audit_arch
    assert outcome["seen"] == [
        (tid, UNASSIGNED_NR, (index, 2**64 - 1, 3), audit) for index in range(4)
    ]
    # valid before the answer, not after; every answer delivered
    assert outcome["valid"] == [True, False, True] * 4


def _a_killed_caller_leaves_nothing_to_answer() -> dict[str, object]:
    listener = install(_notify_for(UNASSIGNED_NR), tsync=False, new_listener=True)
    assert listener is not None
    pid = os.fork()
    if pid == 0:
        syscall(UNASSIGNED_NR)
        os._exit(0)
    select.select([listener], [], [], 5)
    notification = receive(listener)
    assert notification is not None
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    after: dict[str, object] = {
        "valid": id_valid(listener, notification.id),
        "delivered": respond(listener, notification.id, -errno.EPERM),
        "caller": notification.pid == pid,
    }
    # A second caller is killed before its notification is read: receive() says so.
    pid = os.fork()
    if pid == 0:
        syscall(UNASSIGNED_NR)
        os._exit(0)
    select.select([listener], [], [], 5)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    after["received"] = receive(listener)
    # Once no task uses the filter... this child still does, so no POLLHUP yet.
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    after["events"] = poller.poll(0)
    return after


@pytest.mark.kernel
@linux
def test_a_vanished_caller_is_not_an_error() -> None:
    assert run_in_child(_a_killed_caller_leaves_nothing_to_answer) == {
        "valid": False,
        "delivered": False,
        "caller": True,
        "received": None,
        "events": [],
    }


def _hangup_when_no_task_uses_the_filter() -> tuple[list[int], list[int]]:
    from seccomp_bpf.kernel.pidfd import pidfd_getfd

    number_read, number_write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        listener = install(_notify_for(UNASSIGNED_NR), tsync=False, new_listener=True)
        os.write(number_write, b"%d" % (listener or 0))
        os.read(go_read, 1)
        os._exit(0)
    fd_number = int(os.read(number_read, 16))
    pidfd = os.pidfd_open(pid)
    listener = pidfd_getfd(pidfd, fd_number)
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    before = [events for _, events in poller.poll(0)]
    os.write(go_write, b"x")
    os.waitpid(pid, 0)
    return before, [events for _, events in poller.poll(5000)]


@pytest.mark.kernel
@linux
def test_the_listener_hangs_up_when_its_filter_is_unused() -> None:
    # While the child runs, nothing; once it has exited and been reaped: POLLHUP.
    before, after = run_in_child(_hangup_when_no_task_uses_the_filter)
    assert before == []
    assert after and after[0] & select.POLLHUP
