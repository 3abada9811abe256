"""A command started in a child (``kernel/child.py``): what the child tells its parent, how a
failure before ``execve`` comes back, and the shell's statuses for a command that cannot run.

Each test starts its children from a forked child of pytest (``run_in_child``), as the other
kernel tests do.
"""

from __future__ import annotations

import _socket
import errno
import os
import signal
import sys
from typing import NoReturn

import pytest

from seccomp_bpf.errors import KernelError, LayerUnavailableError
from seccomp_bpf.kernel.child import (
    EXIT_NOT_EXECUTABLE,
    EXIT_NOT_FOUND,
    EXIT_SETUP_FAILED,
    StartError,
    announce,
    describe_exit,
    exec_command,
    fail,
    restore_signals,
    start,
)
from tests.kernel.forked import run_in_child

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")


def _exec_child(executable: str, argv: list[str]) -> tuple[bool, int]:
    """A child that announces itself and execs ``argv``; (its pid as seen, its pid as told,
    its exit status)."""

    def child(control: _socket.socket, parent: int, status_write: int) -> NoReturn:
        announce(control)
        exec_command(executable, argv)

    started = start(child, listener=False)
    try:
        status = started.wait()
        return started.pid == started.child, os.waitstatus_to_exitcode(status)
    finally:
        started.close(kill=False)


def test_a_command_that_runs_tells_its_pid_and_passes_its_status_through() -> None:
    code = "import sys; sys.exit(7)"
    assert run_in_child(_exec_child, sys.executable, [sys.executable, "-I", "-c", code]) == (
        True,
        7,
    )


@pytest.mark.parametrize(
    ("path", "status", "why"),
    [
        ("/nonexistent/program", EXIT_NOT_FOUND, "No such file or directory"),
        ("/", EXIT_NOT_EXECUTABLE, "Permission denied"),
    ],
)
def test_a_command_that_cannot_run_ends_as_a_shell_says(
    path: str, status: int, why: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run_in_child(_exec_child, path, ["cmd"]) == (True, status)
    assert f"seccomp-bpf: cmd: {why}" in capfd.readouterr().err


def _failing_child(error: BaseException) -> tuple[int, str, str]:
    def child(control: _socket.socket, parent: int, status_write: int) -> NoReturn:
        fail(control, EXIT_SETUP_FAILED, error)

    try:
        start(child, listener=False)
    except StartError as failure:
        return failure.exit_status, type(failure.error).__name__, str(failure.error)
    raise AssertionError("the child's failure did not come back")


def test_a_failure_before_execve_comes_back_with_the_child_s_error() -> None:
    error = KernelError("landlock_restrict_self", errno.EPERM, "no_new_privs is not set")
    status, kind, text = run_in_child(_failing_child, error)
    assert (status, kind) == (EXIT_SETUP_FAILED, "KernelError")
    assert "landlock_restrict_self" in text
    assert "no_new_privs is not set" in text
    layer = LayerUnavailableError("landlock", "the kernel has no Landlock")
    status, kind, text = run_in_child(_failing_child, layer)
    assert (status, kind) == (EXIT_SETUP_FAILED, "LayerUnavailableError")
    assert "the kernel has no Landlock" in text


def _silent_child() -> tuple[int | None, str]:
    def child(control: _socket.socket, parent: int, status_write: int) -> NoReturn:
        os._exit(3)

    try:
        start(child, listener=False)
    except StartError as failure:
        assert isinstance(failure.error, KernelError)
        return failure.error.errno, str(failure.error)
    raise AssertionError("a child that ended without a word was taken as started")


def test_a_child_that_ends_before_it_says_anything_is_an_error() -> None:
    number, text = run_in_child(_silent_child)
    assert number == errno.ECHILD
    assert "before the command started" in text


def _signal_state() -> tuple[bool, bool]:
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    restore_signals(frozenset({signal.SIGUSR2}))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    return signal.getsignal(signal.SIGPIPE) == signal.SIG_DFL, mask == {signal.SIGUSR2}


def test_the_command_starts_with_its_mask_and_the_signals_python_ignores_restored() -> None:
    assert run_in_child(_signal_state) == (True, True)


def test_describe_exit_says_what_a_shell_says() -> None:
    assert describe_exit("cmd", 3 << 8) == (3, None)
    assert describe_exit("cmd", signal.SIGKILL) == (128 + 9, "cmd was killed by SIGKILL")
    assert describe_exit("cmd", signal.SIGINT) == (128 + 2, None)  # as shells keep quiet
    assert describe_exit("cmd", signal.SIGSYS) == (
        128 + 31,
        "cmd was killed by SIGSYS (seccomp)",
    )
    assert describe_exit("cmd", signal.SIGSYS, lambda: "rule 3 traps it") == (
        128 + 31,
        "cmd was killed by SIGSYS (rule 3 traps it)",
    )


def _freezing() -> tuple[bool, int, int]:
    """Whether the child found the parent's objects frozen for the garbage collector (it
    says so in its exit status), and how many are frozen in the parent once the command has
    exec'd and once a start has failed."""
    import gc

    def child(control: _socket.socket, parent: int, status_write: int) -> NoReturn:
        announce(control)
        frozen = gc.get_freeze_count() > 0
        exec_command("/bin/sh", ["sh", "-c", f"exit {0 if frozen else 9}"])

    started = start(child, listener=False)
    try:
        status = started.wait()
    finally:
        started.close(kill=False)
    after_start = gc.get_freeze_count()
    with pytest.raises(StartError):
        _failing_child_start()
    return os.waitstatus_to_exitcode(status) == 0, after_start, gc.get_freeze_count()


def _failing_child_start() -> None:
    def child(control: _socket.socket, parent: int, status_write: int) -> NoReturn:
        os._exit(3)

    start(child, listener=False)


def test_the_children_share_frozen_objects_and_the_parent_thaws_them() -> None:
    """kernel/child.start freezes the objects for the collector across the fork (no page
    copied for a collection); the caller collects them again afterwards, failure or not."""
    assert run_in_child(_freezing) == (True, 0, 0)
