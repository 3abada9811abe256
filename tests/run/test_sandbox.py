"""The sandbox of ``seccomp-bpf run`` as a user drives it: its options, the policy's
``sandbox:`` section, what is said when a layer is not in force, ``--require``, and the
self-sandboxing of ``seccomp_bpf.install``.

Layers are refused for real where it matters: an outer ``seccomp-bpf run`` whose policy
makes ``landlock_create_ruleset`` fail with ENOSYS, or ``unshare`` with EPERM, gives the
inner one a kernel without them.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seccomp_bpf.errors import SandboxError
from seccomp_bpf.kernel import landlock
from seccomp_bpf.policies.default import default_policy
from seccomp_bpf.policy import Sandbox
from seccomp_bpf.run.confine import install
from tests.kernel.forked import run_in_child
from tests.run.sandboxed import run_cli

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.getuid() != 0, reason="needs root on Linux"
    ),
]

PYTHON = sys.executable
ABI = landlock.abi_version()
needs_landlock = pytest.mark.skipif(ABI < landlock.ABI_SCOPE, reason="needs Landlock ABI 6")


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


# --- a layer not in force -------------------------------------------------------------------------


@needs_landlock
def test_landlock_forced_off_is_said_and_required_is_refused(tmp_path: Path) -> None:
    switch = {"SECCOMP_BPF_LANDLOCK_ABI": "0"}
    result = run_cli("run", "--", "sh", "-c", "echo ran", cwd=tmp_path, env=switch)
    assert (result.returncode, result.stdout) == (0, "ran\n")
    assert result.stderr == (
        "seccomp-bpf: landlock not in force: SECCOMP_BPF_LANDLOCK_ABI=0 turns it off\n"
    )
    marker = tmp_path / "marker"
    result = run_cli(
        "run", "--require", "landlock", "--", "touch", str(marker), cwd=tmp_path, env=switch
    )
    assert result.returncode == 123
    assert result.stderr == (
        "seccomp-bpf: error: run: landlock is required, but SECCOMP_BPF_LANDLOCK_ABI=0 "
        "turns it off\n"
    )
    assert not marker.exists()
    # An older ABI: no scoping, said once; required, refused.
    older = {"SECCOMP_BPF_LANDLOCK_ABI": "3"}
    result = run_cli("run", "--", "true", cwd=tmp_path, env=older)
    assert result.returncode == 0
    assert result.stderr.startswith("seccomp-bpf: landlock-scope not in force: ")
    result = run_cli("run", "--require", "landlock-scope", "--", "true", cwd=tmp_path, env=older)
    assert result.returncode == 123
    result = run_cli("run", "--tcp-bind", "80", "--", "true", cwd=tmp_path, env=older)
    assert result.returncode == 123
    assert "--tcp-bind needs Landlock ABI 4 (Linux 6.7)" in result.stderr


def _nested(tmp_path: Path, outer_policy: str, *inner: str) -> subprocess.CompletedProcess[str]:
    """``seccomp-bpf run`` inside one whose filter is ``outer_policy``."""
    policy = write(tmp_path / "outer.yaml", outer_policy)
    return run_cli(
        "run", "-p", policy, "--no-namespaces", "--no-landlock", "--",
        PYTHON, "-m", "seccomp_bpf", "run", *inner,
        cwd=tmp_path,
    )  # fmt: skip


NO_LANDLOCK = """\
default_action: allow
syscalls:
  - names: [landlock_create_ruleset]
    action: errno(ENOSYS)
"""


def test_a_kernel_without_landlock(tmp_path: Path) -> None:
    result = _nested(tmp_path, NO_LANDLOCK, "--", "sh", "-c", "echo ran")
    assert (result.returncode, result.stdout) == (0, "ran\n")
    assert (
        "seccomp-bpf: landlock not in force: this kernel has no Landlock (Linux 5.13), or it is "
        "disabled at boot\n"
    ) in result.stderr
    result = _nested(tmp_path, NO_LANDLOCK, "--require", "landlock", "--", "true")
    assert result.returncode == 123


NO_USER_NAMESPACES = """\
default_action: allow
syscalls:
  - names: [unshare]
    action: errno(EPERM)
"""


def test_a_kernel_that_refuses_namespaces(tmp_path: Path) -> None:
    # The outer run dropped every capability: the inner one needs a user namespace, which
    # the outer filter refuses.
    result = _nested(tmp_path, NO_USER_NAMESPACES, "--", "sh", "-c", "echo ran; echo $$")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "ran"
    assert result.stdout.splitlines()[1] != "2"  # no PID namespace: not PID 2
    line, root = result.stderr.splitlines()
    assert line.startswith("seccomp-bpf: namespaces not in force: ")
    assert "unshare(CLONE_NEWUSER)" in line and "Operation not permitted" in line
    assert root.startswith("seccomp-bpf: filesystem: as root without a mount namespace")
    marker = tmp_path / "marker"
    result = _nested(
        tmp_path, NO_USER_NAMESPACES, "--require", "namespaces", "--", "touch", str(marker)
    )
    assert result.returncode == 123
    assert "namespaces is required, but unshare(CLONE_NEWUSER)" in result.stderr
    assert not marker.exists()


def test_show_layers(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--show-layers", "--cap", "net_bind_service", "--", "true", cwd=tmp_path
    )
    assert result.returncode == 0
    layers = [
        line.split()[1] for line in result.stderr.splitlines() if line.startswith("seccomp-bpf:   ")
    ]
    expected = ["namespaces", "session", "mounts", "pdeathsig", "no_new_privs"]
    expected += ["landlock"] if ABI else []
    assert layers == [*expected, "capabilities", "seccomp"]
    assert "all five sets empty but CAP_NET_BIND_SERVICE" in result.stderr


# --- options --------------------------------------------------------------------------------------


def test_paths_granted_and_refused(tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "sealed").mkdir()
    script = (
        f"echo a > written; echo b > {outside}/granted; "
        "(echo c > sealed/x) 2>/dev/null || echo sealed-refused; "
        "(echo d > /x) 2>/dev/null || echo elsewhere-refused"  # never written: refused
    )
    result = run_cli(
        "run", "--rw", str(outside), "--ro", "sealed", "--", "sh", "-c", script, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "sealed-refused\nelsewhere-refused\n", result.stderr
    assert (outside / "granted").read_text() == "b\n"
    assert (tmp_path / "written").read_text() == "a\n"
    missing = run_cli("run", "--rw", "no-such-dir", "--", "true", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr == (
        "seccomp-bpf: error: run: --rw: cannot grant rw on no-such-dir: No such file or directory\n"
    )


def test_a_read_only_working_directory_in_tmp_is_still_there(tmp_path: Path) -> None:
    # The home directory, beneath /tmp: read-only (its start-up files), but seen.
    (tmp_path / "here").write_text("found\n")
    script = "cat here; (echo x > new) 2>/dev/null || echo refused"
    result = run_cli("run", "--", "sh", "-c", script, cwd=tmp_path, env={"HOME": str(tmp_path)})
    assert (result.returncode, result.stdout) == (0, "found\nrefused\n"), result.stderr
    assert not (tmp_path / "new").exists()


SECTION = """\
default_action: allow
sandbox:
  rw: [/var/tmp]
  ro: [in]
  require: [namespaces]
"""


def test_the_policys_sandbox_section_applies(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    policy = write(tmp_path / "p.yaml", SECTION)
    name = f"seccomp-bpf-test-{os.urandom(4).hex()}"
    script = f"echo x > /var/tmp/{name} && ( (echo y > in/f) 2>/dev/null || echo in-refused )"
    try:
        result = run_cli("run", "-p", policy, "--", "sh", "-c", script, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "in-refused\n"  # read-only, though in the working directory
        assert Path("/var/tmp", name).read_text() == "x\n"
    finally:
        Path("/var/tmp", name).unlink(missing_ok=True)
    bad = write(tmp_path / "bad.yaml", SECTION.replace("[/var/tmp]", "[missing]"))
    result = run_cli("run", "-p", bad, "--", "true", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad}:3:8: cannot grant rw on missing" in result.stderr


def _server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))
    return server, server.getsockname()[1]


CONNECT = """\
import socket, sys
for port in map(int, sys.argv[1:]):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        print(port, "connected")
    except OSError as error:
        print(port, error.errno)
"""


@pytest.mark.skipif(ABI < landlock.ABI_NET, reason="needs Landlock ABI 4")
def test_tcp_connect_and_bind_rules(tmp_path: Path) -> None:
    allowed, allowed_port = _server()
    other, other_port = _server()
    with allowed, other:
        result = run_cli(
            "run", "--share-pid", "--tcp-connect", str(allowed_port), "--",
            PYTHON, "-c", CONNECT, str(allowed_port), str(other_port),
            cwd=tmp_path,
        )  # fmt: skip
    assert result.stdout == f"{allowed_port} connected\n{other_port} {errno.EACCES}\n"
    bind = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print('bound')"
    result = run_cli("run", "--tcp-bind", "none", "--", PYTHON, "-c", bind, cwd=tmp_path)
    assert result.returncode == 1 and "PermissionError" in result.stderr
    result = run_cli("run", "--tcp-bind", "0", "--", PYTHON, "-c", bind, cwd=tmp_path)
    assert result.stdout == "bound\n"


def test_unshare_net_leaves_only_the_loopback(tmp_path: Path) -> None:
    code = """\
import socket
print([name for _, name in socket.if_nameindex()])
server = socket.create_server(("127.0.0.1", 0))
socket.create_connection(server.getsockname(), timeout=5).close()
print("loopback works")
"""
    result = run_cli("run", "--unshare-net", "--", PYTHON, "-c", code, cwd=tmp_path)
    assert result.stdout == "['lo']\nloopback works\n", result.stderr


def test_capabilities_kept(tmp_path: Path) -> None:
    result = run_cli(
        "run", "--cap", "CAP_NET_BIND_SERVICE", "--", "grep", "^CapEff", "/proc/self/status",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.stdout.split() == ["CapEff:", f"{1 << 10:016x}"]
    result = run_cli("run", "--cap", "net_raws", "--", "true", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown capability 'net_raws'; did you mean CAP_NET_RAW?" in result.stderr


SETUID = '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("%d\\n", geteuid()); }\n'


def test_no_new_privs_keeps_a_set_user_id_program_from_raising_privileges(tmp_path: Path) -> None:
    from tests.run.sandboxed import NOBODY, require_nobody, shared_directory

    require_nobody()
    with shared_directory(owner=NOBODY) as place:
        source = place / "euid.c"
        source.write_text(SETUID)
        program = place / "euid"
        subprocess.run(["gcc", "-o", str(program), str(source)], check=True)
        os.chown(program, 0, 0)
        program.chmod(0o4755)
        # The control: outside, it runs as root.
        control = subprocess.run(
            ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", str(program)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert control.stdout == "0\n"
        result = run_cli("run", "--", str(program), cwd=place, user=NOBODY)
        assert result.stdout == "65534\n", result.stderr


# --- what the deaths and errors say ---------------------------------------------------------------


def test_a_trap_is_not_called_a_kill(tmp_path: Path) -> None:
    code = "import os; os.getppid()"
    for action, said in (
        ("trap", "(a seccomp trap the program did not handle)"),
        ("kill_process", "(seccomp kill: rule 1 ("),
    ):
        policy = write(
            tmp_path / f"{action}.yaml",
            "default_action: allow\nbad_arch_action: errno(EPERM)\nsyscalls:\n"
            f"  - names: [getppid]\n    action: {action}\n",
        )
        result = run_cli("run", "-p", policy, "--", PYTHON, "-c", code, cwd=tmp_path)
        assert result.returncode == 128 + signal.SIGSYS
        assert said in result.stderr, result.stderr


def test_a_bad_program_descriptor_is_named(tmp_path: Path) -> None:
    result = run_cli("run", "--program-fd", "99", "--", "true", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "seccomp-bpf: --program-fd 99: this process has no open file descriptor with that "
        "number (give one it inherited, holding a program written by `seccomp-bpf compile`)\n"
    )


def test_expected_fallbacks_are_summed_up_not_reported(tmp_path: Path) -> None:
    # Starting a thread makes glibc try clone3, which the default policy answers ENOSYS.
    code = "import os, threading\nthreading.Thread(target=print).start()\nos.getcwd()"
    result = run_cli("run", "--report-denials", "--", PYTHON, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert not any(" clone3(" in line for line in lines)
    assert lines[0].startswith("seccomp-bpf: expected fallbacks, not denials")
    assert re.fullmatch(
        r"seccomp-bpf:   clone3 x\d+: rule \d+ \(.*default\.yaml:\d+:\d+\)", lines[1]
    )


# --- signals from the terminal --------------------------------------------------------------------

INTERRUPTED = """\
import signal, sys, time
signal.signal(signal.SIGINT, lambda *a: sys.exit(5))
print("ready", flush=True)
time.sleep(30)
"""


def _foreground_job(argv: list[str], cwd: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """Start ``argv`` as a shell starts a job in a new terminal: the pty's session leader is
    this process, the job has a process group of its own, made the foreground group; once it
    has printed "ready". The pty's master end, and the job."""
    import fcntl
    import termios

    master, slave = os.openpty()
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, process_group=0, cwd=cwd
    )
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    os.tcsetpgrp(slave, process.pid)
    deadline = time.monotonic() + 30
    seen = b""
    while b"ready" not in seen and time.monotonic() < deadline:
        seen += os.read(master, 1024)
    return master, process


def _interrupt_from_a_terminal(argv: list[str], cwd: Path) -> int:
    """Type ^C to a job once it is ready; its exit status."""
    master, process = _foreground_job(argv, cwd)
    os.write(master, b"\x03")  # ^C: the terminal sends SIGINT to its foreground group
    return process.wait(timeout=30)


def test_the_terminals_interrupt_reaches_a_command_in_its_own_session(tmp_path: Path) -> None:
    argv = [PYTHON, "-m", "seccomp_bpf", "run", "--", PYTHON, "-c", INTERRUPTED]
    assert run_in_child(_interrupt_from_a_terminal, argv, tmp_path, timeout=60) == 5


# --- install(): a process confining itself --------------------------------------------------------


def _confine_self(directory: str) -> tuple[int, int, str]:
    install(default_policy(), sandbox=Sandbox(rw=(directory,)))
    Path(directory, "inside").write_text("x")
    try:
        open("/etc/hostname", "a").close()
        outside = 0
    except OSError as error:
        outside = error.errno or 0
    with open("/proc/self/status") as status:
        capabilities = next(line for line in status if line.startswith("CapEff"))
    return outside, len(os.listdir(directory)), capabilities.split()[1]


def test_install_applies_landlock_and_the_capability_drop(tmp_path: Path) -> None:
    if ABI == 0:
        pytest.skip("needs Landlock")
    outside, files, effective = run_in_child(_confine_self, str(tmp_path))
    assert (outside, files, effective) == (errno.EACCES, 1, "0" * 16)


def _confine_threaded() -> str:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        install(default_policy(), sandbox=Sandbox())
    except SandboxError as error:
        return str(error)
    finally:
        stop.set()
        thread.join()
    return "installed"


def test_install_refuses_a_sandbox_for_a_threaded_process() -> None:
    message = run_in_child(_confine_threaded)
    assert message.startswith("this process runs 2 threads; Landlock and capabilities apply")


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def _sleeper() -> int:
    """The sandboxed command below, found by its command line (init and seccomp-bpf's own
    processes have seccomp_bpf in theirs)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                line = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"sleeper" in line and b"seccomp_bpf" not in line:
                return int(entry)
    raise AssertionError("the command is not running")


def _suspend_from_a_terminal(argv: list[str], cwd: Path) -> tuple[str, ...]:
    """Type ^Z to a job once it is ready, look, continue it as a shell's ``fg`` would, then
    type ^C; the states seen and the exit status."""
    master, process = _foreground_job(argv, cwd)
    command = _sleeper()
    os.write(master, b"\x1a")  # ^Z: the terminal sends SIGTSTP to its foreground group
    _, status = os.waitpid(process.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status)
    deadline = time.monotonic() + 5  # the command's SIGSTOP was sent just before
    while _state(command) != "T" and time.monotonic() < deadline:
        time.sleep(0.01)
    stopped = (_state(process.pid), _state(command))
    os.killpg(process.pid, signal.SIGCONT)  # fg
    time.sleep(0.2)
    resumed = (_state(process.pid), _state(command))
    os.write(master, b"\x03")
    return (*stopped, *resumed, str(process.wait(timeout=30)))


SLEEPER = "import time\nprint('ready', flush=True)\ntime.sleep(30)\n"


def test_the_terminals_suspend_stops_the_sandbox_and_seccomp_bpf(tmp_path: Path) -> None:
    argv = [PYTHON, "-m", "seccomp_bpf", "run", "--", PYTHON, "-c", SLEEPER, "sleeper"]
    run_state, command_state, run_again, command_again, status = run_in_child(
        _suspend_from_a_terminal, argv, tmp_path, timeout=60
    )
    assert (run_state, command_state) == ("T", "T")
    assert (run_again, command_again) == ("S", "S")
    assert status == str(128 + signal.SIGINT)
