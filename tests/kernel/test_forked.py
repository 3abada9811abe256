"""The forked-child harness reports values, exceptions, signals and timeouts faithfully."""

from __future__ import annotations

import os
import re
import resource
import signal
import sys
import time

import pytest

from seccomp_bpf.kernel.libc import prctl
from seccomp_bpf.kernel.prctl import PR_GET_DUMPABLE
from tests.kernel.forked import ChildError, ForkedServer, Send, run_forked, run_in_child

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs fork")


def test_the_value_comes_back_from_another_process() -> None:
    assert run_in_child(os.getpid) != os.getpid()
    assert run_in_child(divmod, 7, 2) == (3, 1)


def _fail() -> None:
    raise RuntimeError("broken in the child")


def test_an_exception_in_the_child_is_reported_with_its_traceback() -> None:
    with pytest.raises(ChildError, match="RuntimeError: broken in the child"):
        run_in_child(_fail)


def _die_after_two(send: Send) -> None:
    send("one")
    send("two")
    os.kill(os.getpid(), signal.SIGTERM)


def test_records_before_a_death_by_signal_are_kept() -> None:
    report = run_forked(_die_after_two)
    assert report.records == ["one", "two"]
    assert report.signal == signal.SIGTERM
    assert report.describe() == "the child was killed by SIGTERM"


def _terminate() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_run_in_child_names_the_signal() -> None:
    with pytest.raises(ChildError, match="killed by SIGTERM"):
        run_in_child(_terminate)


def _sleep(send: Send) -> None:
    send("started")
    time.sleep(30)


def test_a_child_that_hangs_is_killed() -> None:
    start = time.monotonic()
    with pytest.raises(ChildError, match=re.escape("within 0.3 s; it had sent 1 records")):
        run_forked(_sleep, timeout=0.3)
    assert time.monotonic() - start < 5


def _core_settings() -> tuple[int, int]:
    return resource.getrlimit(resource.RLIMIT_CORE)[0], prctl(PR_GET_DUMPABLE).value


def test_children_write_no_core_dumps() -> None:
    assert run_in_child(_core_settings) == (0, 0)


def _setup() -> dict[str, int]:
    return {"answered": 0}


def _handle(request: object, state: object) -> object:
    assert isinstance(state, dict)
    if request == "exit":
        os._exit(3)
    state["answered"] += 1
    return (request, state["answered"], os.getpid())


def test_a_server_answers_many_requests_in_one_child() -> None:
    with ForkedServer(_setup, _handle) as server:
        answers = [server.ask(n) for n in range(50)]
    assert [a[:2] for a in answers] == [(n, n + 1) for n in range(50)]
    assert len({a[2] for a in answers}) == 1
    assert server.started == 1


def test_a_server_whose_child_died_starts_a_new_one() -> None:
    with ForkedServer(_setup, _handle) as server:
        first = server.ask("a")
        with pytest.raises(ChildError, match="exited with status 3"):
            server.ask("exit")
        second = server.ask("b")
    assert first[:2] == ("a", 1)
    assert second[:2] == ("b", 1)
    assert server.started == 2
