"""``profile()`` (``profile/profiler.py`` and the recorder's modes) on real processes.

Each profile runs in a forked child (:func:`run_in_child`, which also bounds its time): the
recorder and the profiled command are that child's descendants, never the pytest process's
own threads or filters.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.errors import CommandError
from seccomp_bpf.kernel.compat import has_i386_emulation
from seccomp_bpf.profiling import profile
from seccomp_bpf.profiling.trace import SyscallTrace
from tests.kernel.forked import run_in_child
from tests.profiling.modes import MODES

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

PYTHON = sys.executable


def profiled(command: list[str], *, timeout: float = 30, **options: object) -> SyscallTrace:
    trace = run_in_child(lambda: profile(command, **options), timeout=timeout)  # type: ignore[arg-type]
    assert isinstance(trace, SyscallTrace)
    return trace


def state_of(pid: int) -> str | None:
    """The ``State:`` letter of ``/proc/PID/status``, None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("State:"):
                    return line.split()[1]
    except FileNotFoundError:
        return None
    return None


# --- what is recorded -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_calls_are_counted_with_the_runtime_start_and_the_calls_that_never_return(
    mode: str,
) -> None:
    code = (
        "import os, signal\n"
        "signal.signal(signal.SIGUSR1, lambda *_: None)\n"
        "os.kill(os.getpid(), signal.SIGUSR1)\n"
        "os.getppid(); os.getppid()\n"
    )
    trace = profiled([PYTHON, "-I", "-c", code], mode=mode)
    calls = trace.counts[native_arch().name]
    assert calls["getppid"] >= 2
    assert calls["execve"] == 1  # the command's own exec, not the profiler's preparation
    assert calls["exit_group"] == 1  # never returns: seen at its entry
    if mode == "ptrace":
        assert calls["rt_sigreturn"] >= 1  # the handler's return: never returns either
    else:
        assert "rt_sigreturn" in trace.unrecorded  # the base set
    assert "openat" in calls and "mmap" in calls  # the runtime's start-up
    assert trace.exit_status == 0 and trace.processes == 1
    assert trace.mode == mode


I386_CALLS = """\
from seccomp_bpf.kernel.compat import i386_syscall
assert i386_syscall({getpid}).value == __import__("os").getpid()
i386_syscall({getuid32})
"""


@pytest.mark.parametrize("mode", MODES)
def test_int_0x80_calls_of_a_64_bit_program_are_recorded_under_i386(mode: str) -> None:
    if native_arch().name != "x86_64" or not has_i386_emulation():
        pytest.skip("needs an x86-64 kernel with IA-32 emulation")
    i386 = get_arch("i386")
    code = I386_CALLS.format(getpid=i386.syscalls["getpid"], getuid32=i386.syscalls["getuid32"])
    trace = profiled([PYTHON, "-I", "-c", code], mode=mode)
    assert trace.exit_status == 0
    # (notify mode: clone counts 0, let through unseen without namespace flags)
    made = {call: count for call, count in trace.counts["i386"].items() if count}
    assert made == {"getpid": 1, "getuid32": 1}
    assert "getuid32" not in trace.counts["x86_64"]
    policy = trace.to_policy()
    assert policy.arches == ("x86_64", "i386")
    # i386 is allowed what it did, not what x86_64 did
    assert policy.evaluate(i386, i386.syscalls["getpid"]).kind.name == "ALLOW"
    assert policy.evaluate(i386, i386.syscalls["openat"]).kind.name == "ERRNO"


@pytest.mark.parametrize("mode", MODES)
def test_processes_and_threads_are_followed(mode: str) -> None:
    code = (
        "import os, threading\n"
        "t = threading.Thread(target=os.getpgrp); t.start(); t.join()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.execv('/bin/sh', ['sh', '-c', 'exit 3'])\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status) + 1)\n"
    )
    trace = profiled([PYTHON, "-I", "-c", code], mode=mode)
    calls = trace.counts[native_arch().name]
    assert trace.exit_status == 4
    assert calls["execve"] == 2  # the command's and sh's
    assert calls["getpgrp"] >= 1  # made by the thread
    assert trace.processes == 2 and trace.threads >= 1


def test_arguments_are_recorded_per_spec() -> None:
    code = "import socket; socket.socket(socket.AF_UNIX).close(); socket.socket().close()"
    trace = profiled([PYTHON, "-I", "-c", code], args_of=["socket:0", "kill:1"])
    (values,) = trace.arguments[native_arch().name]["socket"].values()
    assert values == {1, 2}  # AF_UNIX, AF_INET


# --- the profiler survives its command ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_command_killed_by_a_signal(mode: str) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    trace = profiled([PYTHON, "-I", "-c", code], mode=mode)
    assert trace.exit_status == 128 + signal.SIGTERM
    assert trace.counts[native_arch().name]["kill"] == 1


DAEMON = """\
import os, sys, time
pid = os.fork()
if pid:
    print(pid, flush=True)
    raise SystemExit(0)
os.setsid()
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
time.sleep(float(sys.argv[2]))
os.getsid(0)
with open(sys.argv[1], "w") as done:
    done.write("done")
"""


@pytest.mark.parametrize("mode", MODES)
def test_a_daemon_keeps_running_unrecorded_and_never_stopped(mode: str, tmp_path: Path) -> None:
    script, done = tmp_path / "daemon.py", tmp_path / "done"
    script.write_text(DAEMON)
    read_end, write_end = os.pipe()

    def run() -> SyscallTrace:
        os.dup2(write_end, 1)
        return profile([PYTHON, "-I", str(script), str(done), "1.5"], mode=mode)

    started = time.monotonic()
    trace = run_in_child(run, timeout=30)
    os.close(write_end)
    with os.fdopen(read_end) as output:
        daemon = int(output.read().split()[0])
    assert time.monotonic() - started < 1.4  # back before the daemon has ended
    assert trace.exit_status == 0
    assert "getsid" not in trace.counts[native_arch().name]
    # A traced process is in a ptrace-stop ('t') for a moment at each call; left stopped,
    # it would stay there.
    stopped_since: float | None = None
    longest = 0.0
    deadline = time.monotonic() + 20
    while (state := state_of(daemon)) not in (None, "Z") and time.monotonic() < deadline:
        now = time.monotonic()
        if state in ("t", "T"):
            stopped_since = now if stopped_since is None else stopped_since
            longest = max(longest, now - stopped_since)
        else:
            stopped_since = None
        time.sleep(0.01)
    assert state_of(daemon) in (None, "Z")  # it ended (a zombie until its new parent reaps it)
    assert longest < 0.5
    # its calls kept working: without a tracer or listener they would fail with ENOSYS
    assert done.read_text() == "done"


@pytest.mark.parametrize("mode", MODES)
def test_follow_daemons_records_them_to_their_end(mode: str, tmp_path: Path) -> None:
    script, done = tmp_path / "daemon.py", tmp_path / "done"
    script.write_text(DAEMON)
    trace = profiled([PYTHON, "-I", str(script), str(done), "0.2"], mode=mode, follow_daemons=True)
    assert done.read_text() == "done"
    assert trace.counts[native_arch().name]["getsid"] == 1
    assert trace.processes == 2


@pytest.mark.parametrize("mode", MODES)
def test_a_command_that_exits_while_its_threads_run(mode: str) -> None:
    code = (
        "import os, threading, time\n"
        "def spin():\n"
        "    while True: os.getppid()\n"
        "for _ in range(3): threading.Thread(target=spin, daemon=True).start()\n"
        "time.sleep(0.2)\n"
        "os._exit(5)\n"
    )
    trace = profiled([PYTHON, "-I", "-c", code], mode=mode, timeout=20)
    assert trace.exit_status == 5
    assert trace.counts[native_arch().name]["getppid"] > 3
    assert trace.threads == 3


@pytest.mark.parametrize("mode", MODES)
def test_a_command_stopped_and_continued_by_job_control(mode: str) -> None:
    code = (
        "import os, signal, time\n"
        "if os.fork() == 0:\n"
        "    time.sleep(0.2)\n"
        "    os.kill(os.getppid(), signal.SIGCONT)\n"
        "    os._exit(0)\n"
        "os.kill(os.getpid(), signal.SIGSTOP)\n"
        "os.wait()\n"
        "print('resumed')\n"
    )
    trace = profiled([PYTHON, "-I", "-c", code], mode=mode, timeout=20)
    assert trace.exit_status == 0
    assert trace.counts[native_arch().name]["kill"] == 2


def test_a_command_that_cannot_be_found() -> None:
    with pytest.raises(CommandError) as error:
        profile(["no-such-command-here"])
    assert error.value.exit_status == 127


# --- clone3 and clone's namespace flags ---------------------------------------------------------

# x86_64 numbers (arch/x86/entry/syscalls/syscall_64.tbl) and <linux/sched.h> flags.
CLONE_AND_CLONE3 = """\
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall(435, 0, 0)  # clone3(NULL, 0): EINVAL when it reaches the kernel
clone3_errno = ctypes.get_errno()
pid = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)  # clone(CLONE_NEWUSER | SIGCHLD)
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{clone3_errno} {pid > 0}")
"""


@pytest.mark.parametrize("mode", MODES)
def test_clone3_fails_with_enosys_and_clone_flags_are_recorded(mode: str, tmp_path: Path) -> None:
    if native_arch().name != "x86_64":
        pytest.skip("the script makes x86_64 calls")
    out = tmp_path / "out"
    trace = profiled([PYTHON, "-I", "-c", CLONE_AND_CLONE3, str(out)], mode=mode)
    # clone3 never reaches the kernel while recording (as under the generated policy), and
    # is not recorded; the clone with a namespace flag is, with that flag
    assert out.read_text() == "38 True"
    calls = trace.counts["x86_64"]
    assert "clone3" not in calls and calls["clone"] >= 1
    (recorded,) = trace.arguments["x86_64"]["clone"].values()
    assert 0x10000000 in recorded  # CLONE_NEWUSER
    policy = trace.to_policy()
    x86_64 = get_arch("x86_64")
    clone, clone3 = x86_64.syscalls["clone"], x86_64.syscalls["clone3"]
    assert policy.evaluate(x86_64, clone, (0x10000000 | 17,)).kind.name == "ALLOW"
    assert policy.evaluate(x86_64, clone, (0x40000000 | 17,)).kind.name == "ERRNO"  # NEWNET
    assert policy.evaluate(x86_64, clone3).data == 38
