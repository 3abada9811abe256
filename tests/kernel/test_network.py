"""The loopback of a new network namespace (``kernel/network.py``)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from seccomp_bpf.kernel.namespaces import CLONE_NEWNET, unshare
from seccomp_bpf.kernel.network import bring_up_loopback
from tests.kernel.forked import run_in_child

root = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.getuid() != 0, reason="needs root on Linux"
)


def _loopback_before_and_after() -> tuple[bool, bytes]:
    unshare(CLONE_NEWNET)
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 0))
            probe.listen()
            socket.create_connection(probe.getsockname(), timeout=1).close()
            before = True
        except OSError:
            before = False
    bring_up_loopback()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            client.sendall(b"over lo")
            connection, _ = server.accept()
            with connection:
                return before, connection.recv(16)


@pytest.mark.kernel
@root
def test_the_loopback_comes_up() -> None:
    assert run_in_child(_loopback_before_and_after) == (False, b"over lo")
