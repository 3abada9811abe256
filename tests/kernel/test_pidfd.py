"""``pidfd_getfd`` (``kernel/pidfd.py``): its number per ABI, and a real copy."""

from __future__ import annotations

import errno
import os
import sys

import pytest

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel.pidfd import PIDFD_GETFD_NUMBERS, pidfd_getfd
from tests.kernel.test_abi import SYSTEM_CALLS_TABLES


def test_every_abi_is_checked_against_system_calls() -> None:
    assert set(PIDFD_GETFD_NUMBERS) == set(SYSTEM_CALLS_TABLES)


@pytest.mark.parametrize("abi", sorted(SYSTEM_CALLS_TABLES))
def test_numbers_match_the_system_calls_package(abi: str) -> None:
    system_calls = pytest.importorskip("system_calls")
    tables = system_calls.syscalls()
    assert PIDFD_GETFD_NUMBERS[abi] == tables.get("pidfd_getfd", SYSTEM_CALLS_TABLES[abi])


@pytest.mark.kernel
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")
def test_a_descriptor_of_a_child_is_copied() -> None:
    data_read, data_write = os.pipe()
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        # The child keeps only the write end of the data pipe, under a number it reports.
        status = 1
        try:
            os.close(data_read)
            os.write(ready_write, b"%d" % data_write)
            os.read(go_read, 1)
            status = 0
        finally:
            os._exit(status)
    os.close(data_write)
    pidfd = os.pidfd_open(pid)
    try:
        number = int(os.read(ready_read, 16))
        copy = pidfd_getfd(pidfd, number)
        os.write(copy, b"through the copy")
        os.close(copy)
        with pytest.raises(KernelError) as raised:
            pidfd_getfd(pidfd, 999)
        assert raised.value.errno == errno.EBADF
        assert "pidfd_getfd" in str(raised.value)
    finally:
        os.write(go_write, b"x")
        os.waitpid(pid, 0)
        os.close(pidfd)
    assert os.read(data_read, 64) == b"through the copy"
    for fd in (data_read, ready_read, ready_write, go_read, go_write):
        os.close(fd)
