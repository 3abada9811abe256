"""The escapes of issue "Confinement that holds", tried as an attacker would: a C program
(``escapes.c``) run with ``seccomp-bpf run`` attacks a process outside the sandbox, the
machine's settings, the supervisor and the terminal. Each attack must fail, and the victim
and the machine must be as they were. Where a layer is turned off, the tests show which
layer stops what, and controls show each attack working when nothing stops it.

Host settings are only ever opened for writing, never written.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernel.forked import run_in_child
from tests.run.sandboxed import (
    NOBODY,
    Escapes,
    attack_results,
    build_escapes,
    require_nobody,
    run_cli,
    shared_directory,
    victim,
)

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or os.getuid() != 0, reason="needs root on Linux"
    ),
]

USERS = [pytest.param(None, id="root"), pytest.param(NOBODY, id="uid-65534")]


@pytest.fixture(scope="module")
def place() -> Iterator[Path]:
    with shared_directory() as directory:
        yield directory


@pytest.fixture(scope="module")
def escapes(place: Path) -> Escapes:
    return build_escapes(place)


@pytest.fixture
def work(place: Path) -> Iterator[Path]:
    """A working directory every user may write in."""
    path = place / f"work-{os.urandom(4).hex()}"
    path.mkdir()
    path.chmod(0o777)
    yield path


def attack(
    escapes: Path,
    work: Path,
    target: tuple[int, str],
    *names: str,
    options: tuple[str, ...] = (),
    user: int | None = None,
) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    pid, address = target
    result = run_cli(
        "run", *options, "--", str(escapes), "attack", str(pid), address, *names,
        cwd=work, user=user,
    )  # fmt: skip
    return attack_results(result.stdout), result


def denied(results: dict[str, str], *names: str) -> None:
    for name in names:
        assert name in results, f"{name} did not run: {results}"
        assert results[name].startswith("denied"), f"{name}: {results[name]}"


def policy_file(work: Path, text: str) -> str:
    path = work / f"p-{os.urandom(3).hex()}.yaml"
    path.write_text(text)
    path.chmod(0o644)
    return str(path)


# --- 1. another process's memory ----------------------------------------------------------------

MEMORY = ("mem-write", "mem-read", "vm-write", "ptrace", "environ")


@pytest.mark.parametrize("user", USERS)
def test_1_another_process_memory_cannot_be_read_or_written(
    escapes: Escapes, work: Path, user: int | None
) -> None:
    if user is not None:
        require_nobody()
    with victim(escapes.dynamic, user) as target:
        results, run = attack(
            escapes.dynamic, work, (target.pid, target.address), *MEMORY, user=user
        )
        assert run.returncode == 0, run.stderr
        # Not even visible: the PID namespace has no such process.
        assert results["mem-write"] == results["mem-read"] == "denied ENOENT"
        denied(results, *MEMORY)
        assert target.token not in run.stdout
        # Without the PID namespace, Landlock refuses it (the victim is outside its domain).
        results, run = attack(
            escapes.dynamic, work, (target.pid, target.address), *MEMORY,
            options=("--share-pid",), user=user,
        )  # fmt: skip
        assert results["mem-write"] == results["mem-read"] == results["environ"] == "denied EACCES"
        denied(results, *MEMORY)
        assert target.token not in run.stdout
        target.assert_untouched()


# --- 2. capabilities, and the host's settings -----------------------------------------------------

SETTINGS = (
    "chmod-etc",
    "core-pattern",
    "core-pattern-via-root",
    "core-pattern-via-init",
    "hostname-file",
    "drop-caches",
    "sys-file",
    "etc-passwd",
    "kmsg",
    "sethostname",
    "open-by-handle",
)


def _host_settings() -> dict[str, str]:
    found = {}
    for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/hostname", "/etc/passwd"):
        found[path] = Path(path).read_text()
    return found


def test_2_no_capability_and_no_host_setting_is_writable(escapes: Escapes, work: Path) -> None:
    before = _host_settings()
    results, run = attack(escapes.dynamic, work, (0, "0"), "caps", *SETTINGS)
    assert run.returncode == 0, run.stderr
    capabilities = dict(re.findall(r"^caps (Cap\w+): (\w+)$", run.stdout, re.M))
    assert capabilities == dict.fromkeys(
        ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"), "0" * 16
    )
    assert "caps NoNewPrivs: 1" in run.stdout
    denied(results, *SETTINGS)
    # /proc/sys is read-only in the sandbox's mount namespace: uid 0 without capabilities
    # could otherwise write core_pattern and hostname, which it owns.
    assert results["core-pattern"] == results["hostname-file"] == "denied EROFS"
    assert results["kmsg"] == "denied ENOENT"  # the sandbox's /dev has no kmsg
    # Without the mount namespace, Landlock refuses the same opens; but chmod is none of its
    # rights, so root's files keep only their read-only mount against it (said on stderr).
    results, run = attack(escapes.dynamic, work, (0, "0"), *SETTINGS, options=("--no-namespaces",))
    assert results.pop("chmod-etc") == "ok 0"
    denied(results, *SETTINGS[1:])
    assert results["core-pattern"] == results["kmsg"] == "denied EACCES"
    assert "without a mount namespace, Landlock does not stop" in run.stderr
    assert _host_settings() == before


# --- 3. userfaultfd through /dev/userfaultfd ------------------------------------------------------

USERFAULTFD = ("userfaultfd-syscall", "userfaultfd-device", "userfaultfd-device-i386")


def test_3_no_userfaultfd_by_any_route(escapes: Escapes, work: Path) -> None:
    if not Path("/dev/userfaultfd").exists():
        pytest.skip("no /dev/userfaultfd")
    results, _ = attack(escapes.dynamic, work, (0, "0"), *USERFAULTFD)
    assert results == {
        "userfaultfd-syscall": "denied EPERM",  # the filter
        "userfaultfd-device": "denied ENOENT",  # not in the sandbox's /dev
        "userfaultfd-device-i386": "denied ENOENT",
    }
    results, _ = attack(escapes.dynamic, work, (0, "0"), *USERFAULTFD, options=("--no-namespaces",))
    assert results["userfaultfd-device"] == "denied EACCES"  # Landlock
    # With neither, root opens the device, and the filter refuses the ioctl, on both ABIs.
    results, _ = attack(
        escapes.dynamic, work, (0, "0"), *USERFAULTFD, options=("--no-namespaces", "--no-landlock")
    )
    assert results["userfaultfd-device"] == results["userfaultfd-device-i386"] == "denied EPERM"


# --- 4. other processes ---------------------------------------------------------------------------

OTHERS = (
    "environ",
    "priority",
    "prlimit",
    "affinity",
    "scheduler",
    "ioprio",
    "pidfd-open",
    "sigio",
    "sigqueue",
    "tgkill",
    "pidfd-kill",
    "kill-i386",
    "kill",
)
SIGNALS = ("sigqueue", "tgkill", "pidfd-kill", "kill-i386", "kill")


@pytest.mark.parametrize("user", USERS)
def test_4_other_processes_are_out_of_reach(escapes: Escapes, work: Path, user: int | None) -> None:
    if user is not None:
        require_nobody()
    with victim(escapes.dynamic, user) as target:
        results, run = attack(
            escapes.dynamic, work, (target.pid, target.address), *OTHERS, user=user
        )
        assert run.returncode == 0, run.stderr
        assert results.pop("environ") == "denied ENOENT"
        assert set(results.values()) == {"denied ESRCH"}, results
        time.sleep(0.1)
        target.assert_untouched()
        # Without the PID namespace the victim is visible; Landlock's signal scoping still
        # stops every signal, and F_SETOWN's SIGIO.
        names = ("sigio", *SIGNALS, "ptrace", "mem-write")
        results, run = attack(
            escapes.dynamic, work, (target.pid, target.address), *names,
            options=("--share-pid",), user=user,
        )  # fmt: skip
        assert results.pop("sigio") == "ok 1"
        denied(results, *SIGNALS, "ptrace", "mem-write")
        assert results["kill"] == results["pidfd-kill"] == results["kill-i386"] == "denied EPERM"
        time.sleep(0.1)
        target.assert_untouched()


# --- 5. the supervisor of --report-denials --------------------------------------------------------

SUPERVISED = """\
default_action: allow
arches: [native+compat]
syscalls:
  - names: [getcwd]
    action: errno(EACCES)
"""


@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("options", [(), ("--share-pid",)], ids=["pid-namespace", "share-pid"])
def test_5_the_supervisor_cannot_be_killed(
    escapes: Escapes, work: Path, user: int | None, options: tuple[str, ...]
) -> None:
    if user is not None:
        require_nobody()
    policy = policy_file(work, SUPERVISED)
    names = ("getppid", "kill-parent", "kill-parent-pidfd", "sleep", "getcwd")
    results, run = attack(
        escapes.dynamic, work, (0, "0"), *names,
        options=("-p", policy, "--report-denials", *options), user=user,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    # The policy's answer, not ENOSYS: the supervisor was there to give it.
    assert results["getcwd"] == "denied EACCES"
    assert re.search(r"getcwd\(.*-> errno\(EACCES\)", run.stderr)
    if options:
        # Its parent is seccomp-bpf run itself, which Landlock keeps out of its reach.
        assert results["kill-parent"] == results["kill-parent-pidfd"] == "denied EPERM"
    else:
        # Its parent is the sandbox's init, which ignores the signals of its namespace.
        assert results["getppid"] == "ok 1"


def test_5_kills_stay_kills(escapes: Escapes, work: Path) -> None:
    policy = policy_file(work, SUPERVISED.replace("errno(EACCES)", "kill_process"))
    _, run = attack(
        escapes.dynamic, work, (0, "0"), "getcwd", options=("-p", policy, "--report-denials")
    )
    assert run.returncode == 128 + signal.SIGSYS
    assert "killed by SIGSYS (seccomp kill: rule 1" in run.stderr


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if token.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def test_5_the_sandbox_dies_with_its_supervisor(work: Path) -> None:
    policy = policy_file(work, SUPERVISED)
    token = "sandboxed-" + os.urandom(4).hex()
    code = f"import subprocess, time; subprocess.Popen(['sleep', '60', '{token}']); time.sleep(60)"
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "seccomp_bpf", "run", "-p", policy, "--report-denials", "--",
         sys.executable, "-I", "-c", code, token],
        cwd=work,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while len(_processes_with(token)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_processes_with(token)) >= 3  # seccomp-bpf, the command, its child
        supervisor.kill()
        supervisor.wait()
        deadline = time.monotonic() + 10
        while _processes_with(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_with(token) == []
    finally:
        supervisor.kill()
        supervisor.wait()
        for pid in _processes_with(token):
            os.kill(pid, signal.SIGKILL)


# --- 6. executable memory from shared memory --------------------------------------------------

NO_EXEC = """\
default_action: allow
arches: [native+compat]
syscalls:
  - include: deny_new_exec_mappings
"""
SHARED_MEMORY = ("shm-exec", "shm-exec-i386", "ipc-shm-exec-i386", "read-implies-exec")


def test_6_no_executable_shared_memory(escapes: Escapes, work: Path) -> None:
    # A dynamically linked program could not start under this rule set: its loader maps the
    # libraries executable after execve.
    if escapes.static is None:
        pytest.skip("no static C library to link with")
    if os.uname().machine != "x86_64":
        pytest.skip("the attack program's i386 routes are x86-64 code")
    policy = policy_file(work, NO_EXEC)
    results, run = attack(escapes.static, work, (0, "0"), *SHARED_MEMORY, options=("-p", policy))
    assert run.returncode == 0, run.stderr
    assert results == dict.fromkeys(SHARED_MEMORY, "denied EPERM")
    # The control: without the rule set, each route gives executable memory (the program
    # ran code it wrote there).
    allow = policy_file(work, "default_action: allow\narches: [native+compat]\n")
    results, _ = attack(escapes.static, work, (0, "0"), *SHARED_MEMORY, options=("-p", allow))
    assert all(results[name].startswith("ok") for name in SHARED_MEMORY), results


def test_6_own_code_through_proc_self_mem_is_out_of_reach(escapes: Escapes, work: Path) -> None:
    results, _ = attack(escapes.dynamic, work, (0, "0"), "self-mem")
    assert results == {"self-mem": "denied EACCES"}  # Landlock: nothing under /proc is writable


# --- 7. typing into the terminal ------------------------------------------------------------------


def _in_a_terminal_session(argv: list[str], cwd: Path) -> tuple[str, int]:
    """Run ``argv`` with a new pty as stdin and stdout, from a session whose controlling
    terminal it is (a shell's); its output, and the bytes left in the pty's input queue."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # closing the pty at the end hangs it up
    master, slave = os.openpty()
    tty.setraw(slave)  # byte by byte: what is pushed is there to read at once
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    result = subprocess.run(
        argv,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
        check=False,
        cwd=cwd,
    )
    pending = struct.unpack("i", fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0"))[0]
    os.close(master)
    os.close(slave)
    return result.stdout.decode(), pending


def _terminal_attack(escapes: Path, work: Path, *options: str) -> tuple[dict[str, str], int]:
    argv = [sys.executable, "-m", "seccomp_bpf", "run", *options, "--", str(escapes),
            "attack", "0", "0", "tiocsti", "tioclinux", "tiocsctty"]  # fmt: skip
    output, pending = run_in_child(_in_a_terminal_session, argv, work, timeout=60)
    return attack_results(output), pending


def test_7_no_input_pushed_into_the_terminal(escapes: Escapes, work: Path) -> None:
    allow = policy_file(work, "default_action: allow\narches: [native+compat]\n")
    # A new session has no controlling terminal: TIOCSTI and TIOCSCTTY fail even when the
    # policy allows every ioctl, and nothing is left for the shell to read.
    results, pending = _terminal_attack(escapes.dynamic, work, "-p", allow)
    assert results["tiocsti"] == results["tiocsctty"] == "denied EPERM"
    assert pending == 0
    # In the terminal's session, the default policy's filter refuses them.
    results, pending = _terminal_attack(escapes.dynamic, work, "--no-new-session")
    assert results["tiocsti"] == results["tioclinux"] == "denied EPERM"
    assert pending == 0
    # The control: in the terminal's session with every ioctl allowed, the attack works.
    results, pending = _terminal_attack(escapes.dynamic, work, "-p", allow, "--no-new-session")
    if Path("/proc/sys/dev/tty/legacy_tiocsti").read_text().strip() == "1":
        assert results["tiocsti"] == "ok 0"
        assert pending == 1
