"""The subprocess API: children confined without preexec_fn, from a threaded parent."""

from __future__ import annotations

import ast
import contextlib
import errno
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seccomp_bpf.errors import PolicyError, SandboxError
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, Policy, Rule, Sandbox
from seccomp_bpf.run import subprocess as confined
from seccomp_bpf.run.subprocess import Popen, run

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

PYTHON = sys.executable
GETCWD = (
    "import os\ntry:\n    os.getcwd()\n    print('allowed')\n"
    "except OSError as e:\n    print(e.errno)\n"
)
NO_GETCWD = Policy(ALLOW, (Rule(("getcwd",), ERRNO(errno.EACCES)),))


@pytest.fixture(autouse=True, params=["one-thread", "interpreter"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test both ways a child starts: forked and set up before its exec (this process
    has one thread, unless the test starts more), and as an isolated interpreter (as with
    threads running)."""
    if request.param == "interpreter":
        monkeypatch.setattr(confined, "_one_thread", lambda: False)
    return str(request.param)


@pytest.fixture(autouse=True, scope="module")
def _no_core_dumps() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    yield
    resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def test_a_child_is_confined_while_the_parent_runs_threads() -> None:
    stop = threading.Event()
    counts = [0] * 4

    def busy(index: int) -> None:
        while not stop.is_set():
            counts[index] += 1
            _ = [object() for _ in range(50)]  # allocate: keep the allocator's locks busy

    threads = [threading.Thread(target=busy, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        results = [
            run([PYTHON, "-c", GETCWD], NO_GETCWD, capture_output=True, text=True, timeout=30)
            for _ in range(3)
        ]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert [(r.returncode, r.stdout) for r in results] == [(0, f"{errno.EACCES}\n")] * 3
    assert all(counts)
    # The parent itself is not confined.
    unconfined = subprocess.run([PYTHON, "-c", GETCWD], capture_output=True, text=True, check=True)
    assert unconfined.stdout == "allowed\n"


def test_the_default_policy_applies_without_one() -> None:
    result = run([PYTHON, "-c", "print('ok')"], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_popen_stands_in_for_the_command_without_a_pid_namespace() -> None:
    code = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(9))\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(30)\n"
    )
    for sandbox in (Sandbox(share_pid=True), Sandbox(namespaces=False)):
        with Popen(
            [PYTHON, "-c", code], sandbox=sandbox, stdout=subprocess.PIPE, text=True
        ) as process:
            assert process.stdout is not None
            # The command is visible, under a pid of its own (the stand-in's child's child).
            assert process.stdout.readline() not in ("", f"{process.pid}\n", "2\n")
            process.terminate()
            assert process.wait(timeout=20) == 9
        assert process.args == [PYTHON, "-c", code]


def test_popen_stands_in_for_the_command_in_its_pid_namespace() -> None:
    # The command is PID 2 of its namespace (init is 1); the Popen's process passes signals
    # on and ends as the command ends.
    code = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(9))\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(30)\n"
    )
    with Popen([PYTHON, "-c", code], stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "2\n"
        process.terminate()
        assert process.wait(timeout=20) == 9
    with Popen([PYTHON, "-c", "import os; os.kill(os.getpid(), 15)"]) as process:
        assert process.wait(timeout=20) == -signal.SIGTERM


def test_statuses_are_those_of_subprocess() -> None:
    assert run(["sh", "-c", "exit 3"]).returncode == 3
    with pytest.raises(subprocess.CalledProcessError) as raised:
        run(["sh", "-c", "exit 4"], check=True)
    assert raised.value.returncode == 4
    killer = Policy(ALLOW, (Rule(("getppid",), KILL_PROCESS),))
    died = run([PYTHON, "-c", "import os; os.getppid()"], killer)
    assert died.returncode == -signal.SIGSYS
    missing = run(["no-such-command-here"], capture_output=True, text=True)
    assert missing.returncode == 127
    assert "no-such-command-here: command not found" in missing.stderr


def test_subprocess_keywords_work() -> None:
    echoed = run(["cat"], input="through stdin", capture_output=True, text=True)
    assert echoed.stdout == "through stdin"
    shell = run("echo $((1 + 2))", shell=True, capture_output=True, text=True)
    assert shell.stdout == "3\n"
    renamed = run(["argv0", "-c", 'echo "$0"'], executable="/bin/sh", capture_output=True)
    assert renamed.stdout == b"argv0\n"
    with pytest.raises(subprocess.TimeoutExpired):
        run(["sleep", "10"], timeout=0.5)


def test_errors_are_raised_in_the_parent() -> None:
    no_exec = Policy(ALLOW, (Rule(("execve",), ERRNO(errno.EPERM)),))
    with pytest.raises(PolicyError, match="does not allow execve"):
        run(["true"], no_exec)
    with pytest.raises(ValueError, match="preexec_fn"):
        run(["true"], preexec_fn=lambda: None)


def test_the_launch_carries_every_field_of_the_sandbox() -> None:
    """A field added to Sandbox and not to its FIELDS, which the launch carries, would be lost
    on the way to the child."""
    import inspect

    parameters = set(inspect.signature(Sandbox).parameters)
    assert set(Sandbox.FIELDS) == parameters - {"locations"}
    assert set(Sandbox.__slots__) == parameters


def test_the_sandbox_travels_to_the_child(tmp_path: Path) -> None:
    odd = tmp_path / "-odd"
    odd.mkdir()
    sandbox = Sandbox(rw=(str(odd),), tcp_connect=(), unshare_net=True, require=("namespaces",))
    result = run(
        ["sh", "-c", 'echo x > "$1"/f; cat /proc/net/dev | wc -l', "sh", str(odd)],
        sandbox=sandbox, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "3\n"), result.stderr  # lo only
    assert (odd / "f").read_text() == "x\n"
    with pytest.raises(SandboxError, match="cannot grant rw on missing"):
        Popen(["true"], sandbox=Sandbox(rw=("missing",)), cwd=tmp_path)


# --- the command's lifetime -------------------------------------------------------------------

# The command starts a child, and a grandchild that leaves (its parent ends at once) for a
# session of its own, as a daemon does; then it says "up" and waits.
DETACHING = (
    '( setsid "$0" -c "import time; time.sleep(300)" "detached-$1" & ); '
    '"$0" -c "import time; time.sleep(300)" "child-$1" & echo up; wait'
)
STARTER = """\
import subprocess, sys, threading
import seccomp_bpf
from seccomp_bpf import Sandbox

python, token, share_pid = sys.argv[1], sys.argv[2], sys.argv[3] == "share-pid"
def start():
    # From a thread that ends once the command is up: only the process's end counts.
    process = seccomp_bpf.Popen(
        ["sh", "-c", sys.argv[4], python, token],
        sandbox=Sandbox(share_pid=share_pid), stdout=subprocess.PIPE, text=True,
    )
    print(process.stdout.readline(), end="", flush=True)
thread = threading.Thread(target=start)
thread.start()
thread.join()
threading.Event().wait()
"""


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if token.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return found


@pytest.mark.parametrize("sandbox", ["pid-namespace", "share-pid"])
def test_the_command_does_not_outlive_the_process_that_started_it(sandbox: str) -> None:
    token = f"started-by-{os.getpid()}-{time.monotonic_ns()}"
    starter = subprocess.Popen(
        [PYTHON, "-c", STARTER, PYTHON, token, sandbox, DETACHING],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None
        assert starter.stdout.readline() == "up\n"
        deadline = time.monotonic() + 10
        while len(_processes_with(token)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # the detached grandchild may still be on its way
        # The stand-in, the command's child and its detached grandchild, at least.
        assert len(_processes_with(token)) >= 3
        starter.kill()
        starter.wait()
        deadline = time.monotonic() + 10
        while _processes_with(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_with(token) == []
    finally:
        starter.kill()
        starter.wait()
        for pid in _processes_with(token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sandbox", [Sandbox(), Sandbox(share_pid=True)], ids=["pid", "share-pid"])
def test_the_thread_that_started_the_command_may_end(sandbox: Sandbox) -> None:
    started: list[Popen] = []

    def start() -> None:
        process = Popen(
            ["sh", "-c", "echo up; read line; echo done; exit 7"],
            sandbox=sandbox,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdout.readline() == "up\n"  # the stand-in watches its starter now
        started.append(process)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    (process,) = started
    time.sleep(0.5)  # what the end of the thread would have done, it has done
    assert process.poll() is None
    output, _ = process.communicate("go\n", timeout=20)
    assert (output, process.returncode) == ("done\n", 7)


# --- how the child starts --------------------------------------------------------------------


def test_the_environment_cannot_change_what_the_child_imports(tmp_path: Path) -> None:
    """The child is an isolated interpreter without site: a package of the same name on
    PYTHONPATH or in the working directory, a sitecustomize, a usercustomize or a .pth file
    are never imported (each would write a file), and an environment without the package
    does not keep the child from starting."""
    planted = tmp_path / "planted"
    for module in ("seccomp_bpf/__init__.py", "sitecustomize.py", "usercustomize.py"):
        path = tmp_path / module
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"open({str(planted)!r}, 'a').write({module!r})\n")
    (tmp_path / "planted.pth").write_text(f"import os; open({str(planted)!r}, 'a')\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(tmp_path),
        "PYTHONSTARTUP": str(tmp_path / "sitecustomize.py"),
        "PYTHONUSERBASE": str(tmp_path),
        "PYTHONHOME": str(tmp_path),  # -I ignores it too: the interpreter's own stdlib
    }
    done = run(["true"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not planted.exists()


def test_a_policy_is_compiled_once_and_the_default_never() -> None:
    """In a fresh interpreter: Popen without a policy, or with the object default_policy()
    returned, takes the precompiled program (no compiler); another policy is compiled once."""
    script = (
        "import sys\n"
        "from seccomp_bpf.run import subprocess as confined\n"
        "assert confined.run(['true']).returncode == 0\n"
        "assert 'seccomp_bpf.compiler' not in sys.modules, 'compiled the default'\n"
        "from seccomp_bpf.policies import default_policy\n"
        "assert confined.run(['true'], default_policy()).returncode == 0\n"
        "assert 'seccomp_bpf.compiler' not in sys.modules, 'compiled default_policy()'\n"
        "from seccomp_bpf.policy import ALLOW, ERRNO, Policy, Rule\n"
        "policy = Policy(ALLOW, (Rule(('mknod',), ERRNO(1)),))\n"
        "first = confined._program_of(policy)\n"
        "assert confined._program_of(policy) is first\n"
        "assert confined._program_of(Policy(ALLOW, (Rule(('mknod',), ERRNO(1)),))) is first\n"
        "assert confined._program_of(Policy(ALLOW, (Rule(('mknod',), ERRNO(2)),))) != first\n"
        "assert confined.run(['true'], policy).returncode == 0\n"
        "print('ok')\n"
    )
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout == "ok\n", done.stderr


def _driver(way: str, body: str) -> str:
    """A script that starts children the ``way`` the test runs in (its process has one
    thread: forked unless told otherwise)."""
    force = "confined._one_thread = lambda: False\n" if way == "interpreter" else ""
    return "from seccomp_bpf.run import subprocess as confined\n" + force + body


def _stand_in_command_line(process: Popen) -> bytes:
    """The stand-in's command line (empty for a moment, while the interpreter is exec'd)."""
    deadline = time.monotonic() + 10
    while not (line := Path(f"/proc/{process.pid}/cmdline").read_bytes()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return line


def test_the_way_follows_the_threads(way: str) -> None:
    """With one thread the child Popen forked sets the sandbox up itself (its command line is
    this process's); with another thread running it is an isolated interpreter."""
    for threads in (1, 2):
        stop = threading.Event()
        helper = threading.Thread(target=stop.wait) if threads == 2 else None
        if helper is not None:
            helper.start()
        try:
            with Popen(["sleep", "30"]) as process:
                line = _stand_in_command_line(process)
                process.kill()
        finally:
            stop.set()
            if helper is not None:
                helper.join()
        forked = threads == 1 and way == "one-thread"
        assert (line == Path("/proc/self/cmdline").read_bytes()) is forked
        assert (b"\0-I\0-S\0" in line) is not forked, (threads, way, line)


def test_descriptors_the_command_inherits(tmp_path: Path) -> None:
    """Neither way lets a descriptor of this process through that subprocess would not:
    pass_fds only with close_fds (the default), the inheritable ones without it."""
    inheritable = os.open(tmp_path, os.O_RDONLY)
    os.set_inheritable(inheritable, True)
    private = os.open(tmp_path, os.O_RDONLY)  # close-on-exec, as Python opens them
    listing = "import os; print(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))"
    try:

        def seen(**kwargs: Any) -> set[int]:
            done = run([PYTHON, "-c", listing], capture_output=True, text=True, **kwargs)
            assert done.returncode == 0, done.stderr
            return set(ast.literal_eval(done.stdout)) - {0, 1, 2}

        # What the listing opened itself is the one other number: the highest.
        assert len(seen()) <= 1
        assert inheritable not in seen() and private not in seen()
        assert inheritable in seen(pass_fds=(inheritable,))
        assert private not in seen(pass_fds=(inheritable,))
        assert inheritable in seen(close_fds=False)
        assert private not in seen(close_fds=False)
    finally:
        os.close(inheritable)
        os.close(private)


def test_what_the_parent_has_not_written_is_written_once(way: str) -> None:
    """Text this process holds in its buffers when it starts a child is its own to write,
    once, and the child's messages reach the child's stderr."""
    script = _driver(
        way,
        (
            "import sys\n"
            "sys.stdout.write('before ')\n"
            "sys.stderr.write('held ')\n"
            "code = confined.run(['no-such-command-here']).returncode\n"
            "print('after', code)\n"
        ),
    )
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout == "before after 127\n", done.stdout
    assert done.stderr.count("held") == 1, done.stderr
    assert "no-such-command-here: command not found" in done.stderr


def test_the_parents_signal_handlers_do_not_run_in_the_child(way: str, tmp_path: Path) -> None:
    """A handler this process installed is not the stand-in's: a signal it does not pass on
    ends it as it would end a new interpreter, and the handler never runs there."""
    mark = tmp_path / "handled"
    script = _driver(
        way,
        (
            "import os, signal, sys, time\n"
            f"signal.signal(signal.SIGALRM, lambda *a: open({str(mark)!r}, 'a').write('x'))\n"
            "process = confined.Popen(['sleep', '30'])\n"
            "time.sleep(0.3)\n"
            "os.kill(process.pid, signal.SIGALRM)\n"
            "print(process.wait(timeout=20))\n"
        ),
    )
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout == f"{-signal.SIGALRM}\n", done.stderr
    assert not mark.exists()


def test_a_forked_child_imports_nothing_from_its_working_directory(
    way: str, tmp_path: Path
) -> None:
    """The forked way: this process has "" on its path (python -c), the child changes to a
    directory holding modules named as the standard library's; none of them runs, in
    either way, and the command runs."""
    planted = tmp_path / "planted"
    for name in ("json", "ast", "tempfile", "sysconfig", "resource", "fcntl", "socket"):
        (tmp_path / f"{name}.py").write_text(f"open({str(planted)!r}, 'a').write({name!r})\n")
    script = _driver(
        way,
        (
            "import sys\n"
            f"done = confined.run(['sh', '-c', 'exit 3'], cwd={str(tmp_path)!r})\n"
            "missing = confined.run(['no-such-command-here'], cwd=sys.argv[1])\n"
            "print(done.returncode, missing.returncode)\n"
        ),
    )
    done = subprocess.run(
        [PYTHON, "-c", script, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert done.stdout == "3 127\n", done.stderr
    assert not planted.exists()


def test_a_signal_the_parent_ignores_stays_ignored(way: str) -> None:
    """As across an exec: the stand-in of a parent that ignores SIGALRM ignores it too, and
    still passes SIGTERM on."""
    script = _driver(
        way,
        (
            "import os, signal, time\n"
            "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
            "process = confined.Popen(['sleep', '30'])\n"
            "time.sleep(0.3)\n"
            "os.kill(process.pid, signal.SIGALRM)\n"
            "time.sleep(0.3)\n"
            "print(process.poll())\n"
            "process.terminate()\n"
            "print(process.wait(timeout=20))\n"
        ),
    )
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout == f"None\n{-signal.SIGTERM}\n", done.stderr
