"""``seccomp-bpf run`` and ``seccomp-bpf policy``, as a user runs them: real commands under
real filters, in subprocesses (the pytest process is never confined).

``run_cli`` starts ``python -m seccomp_bpf``; every confined command is its child.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import CommandError
from seccomp_bpf.kernel.child import find_executable
from seccomp_bpf.policies.default import builtin_policy_text
from seccomp_bpf.policy import ALLOW, ERRNO, Policy, Rule
from seccomp_bpf.run.command import describe_exit

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

PYTHON = sys.executable


@pytest.fixture(autouse=True, scope="module")
def _no_core_dumps() -> Iterator[None]:
    """Commands killed by SIGSYS would dump core; their children inherit this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    yield
    resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "seccomp_bpf", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def write_policy(directory: Path, text: str) -> Path:
    path = directory / "p.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the built-in default, on real programs ---------------------------------------------------


def test_python_prints_ok_under_the_default() -> None:
    result = run_cli("run", "--", PYTHON, "-c", "print('ok')")
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")


def test_shell_pipeline_and_tar(tmp_path: Path) -> None:
    result = run_cli("run", "--", "sh", "-c", "seq 1000 | sort -rn | head -3")
    assert (result.returncode, result.stdout, result.stderr) == (0, "1000\n999\n998\n", "")
    if shutil.which("tar") is None:
        pytest.skip("no tar")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "file.txt").write_text("content\n")
    result = run_cli("run", "--", "tar", "czf", "out.tgz", "tree", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with tarfile.open(tmp_path / "out.tgz") as archive:
        assert "tree/sub/file.txt" in archive.getnames()


def test_git_status_in_a_repository(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("no git")
    git = ["git", "-c", "user.name=n", "-c", "user.email=n@example.org"]
    subprocess.run([*git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "tracked").write_text("1\n")
    subprocess.run([*git, "add", "tracked"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=tmp_path, check=True)
    (tmp_path / "tracked").write_text("2\n")
    (tmp_path / "new").write_text("3\n")
    result = run_cli("run", "--", "git", "status", "--short", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert sorted(result.stdout.splitlines()) == [" M tracked", "?? new"]


HTTP_SERVER = """\
import http.server, threading, urllib.request

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d" % server.server_address[1]
results = []
def client(n):
    results.append(urllib.request.urlopen(url + "/%d" % n, timeout=10).read().decode())
clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
for c in clients: c.start()
for c in clients: c.join()
server.shutdown()
print(" ".join(sorted(results)))
"""


def test_threaded_http_server_answers_loopback_clients() -> None:
    result = run_cli("run", "--", PYTHON, "-c", HTTP_SERVER)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "/0 /1 /2 /3\n"


RAW_CALLS = """\
import ctypes, json, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
out = {}
for name, nr in json.loads(sys.argv[1]).items():
    ctypes.set_errno(0)
    libc.syscall(ctypes.c_long(nr), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0),
                 ctypes.c_long(0), ctypes.c_long(0))
    out[name] = ctypes.get_errno()
print(json.dumps(out))
"""


def test_administration_calls_get_eperm_and_clone3_enosys() -> None:
    arch = native_arch()
    names = ["mount", "umount2", "unshare", "setns", "kexec_load", "kexec_file_load", "bpf",
             "init_module", "reboot", "clone3"]  # fmt: skip
    numbers = {n: arch.syscall_number(n) for n in names if arch.syscall_number(n) is not None}
    result = run_cli("run", "--", PYTHON, "-c", RAW_CALLS, json.dumps(numbers))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    expected = {n: errno.ENOSYS if n == "clone3" else errno.EPERM for n in numbers}
    assert seen == expected


# --- exit statuses, signals, errors -----------------------------------------------------------


def test_exit_status_passes_through() -> None:
    assert run_cli("run", "--", "sh", "-c", "exit 3").returncode == 3


def test_death_by_a_signal_is_reported_as_128_plus_n() -> None:
    result = run_cli("run", "--", "sh", "-c", "kill -TERM $$")
    assert result.returncode == 128 + signal.SIGTERM
    assert result.stderr == "seccomp-bpf: sh was killed by SIGTERM\n"
    quiet = run_cli("run", "--", "sh", "-c", "kill -INT $$")
    assert (quiet.returncode, quiet.stderr) == (128 + signal.SIGINT, "")


def test_a_seccomp_kill_says_so(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        """\
        default_action: allow
        syscalls:
          - names: [getppid]
            action: kill_process
        """,
    )
    result = run_cli("run", "-p", str(policy), "--", PYTHON, "-c", "import os; os.getppid()")
    assert result.returncode == 128 + signal.SIGSYS
    assert result.stderr.startswith("seccomp-bpf: ")
    assert "was killed by SIGSYS (seccomp kill" in result.stderr


def test_a_missing_or_unexecutable_command(tmp_path: Path) -> None:
    missing = run_cli("run", "--", "no-such-command-here")
    assert missing.returncode == 127
    assert missing.stderr == "seccomp-bpf: no-such-command-here: command not found\n"
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    refused = run_cli("run", "--", str(script))
    assert refused.returncode == 126
    assert refused.stderr == f"seccomp-bpf: {script}: Permission denied\n"


def test_a_policy_denying_the_exec_is_an_error_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    policy = write_policy(
        tmp_path,
        """\
        default_action: allow
        syscalls:
          - names: [execve]
            action: errno(EACCES)
        """,
    )
    result = run_cli("run", "-p", str(policy), "--", "sh", "-c", f"touch {marker}")
    assert result.returncode == 1
    assert "does not allow execve" in result.stderr
    assert f"rule 1 ({policy}:3:5) gives errno(EACCES)" in result.stderr
    assert not marker.exists()
    by_default = write_policy(tmp_path, "default_action: errno(EPERM)\n")
    result = run_cli("run", "-p", str(by_default), "--", "true")
    assert result.returncode == 1
    assert "default action gives errno(EPERM)" in result.stderr


def test_signals_sent_to_seccomp_bpf_reach_the_command() -> None:
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    process = subprocess.Popen(
        [PYTHON, "-m", "seccomp_bpf", "run", "--", PYTHON, "-c", child],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 7
    finally:
        process.kill()
        process.wait()


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


@pytest.mark.parametrize("options", [(), ("--share-pid",), ("--no-namespaces",)])
def test_what_the_command_leaves_behind_ends_with_it(options: tuple[str, ...]) -> None:
    """A daemon the command starts (double fork, a session of its own) ends when the
    command does: with the PID namespace, or through the keeper without one."""
    token = f"left-behind-{os.getpid()}-{len(options)}"
    daemon = f'( setsid "$0" -c "import time; time.sleep(300)" {token} & ); echo started'
    try:
        result = run_cli("run", *options, "--", "sh", "-c", daemon, PYTHON)
        assert (result.returncode, result.stdout) == (0, "started\n"), result.stderr
        assert _processes_with(token) == []
    finally:
        for pid in _processes_with(token):
            os.kill(pid, signal.SIGKILL)


def test_die_with_names_the_parent() -> None:
    result = run_cli("run", "--no-fork", "--die-with", "1", "--", "true")
    assert result.returncode == 1
    assert "--die-with 1: that process is not (or no longer) the parent" in result.stderr


def test_a_compiled_program_file(tmp_path: Path) -> None:
    program = compile_policy(Policy(ALLOW, (Rule((1000,), ERRNO(42)),)))
    path = tmp_path / "filter.bpf"
    path.write_bytes(program.to_bytes())
    code = (
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
        "libc.syscall(ctypes.c_long(1000)); print(ctypes.get_errno())"
    )
    result = run_cli("run", "--program", str(path), "--", PYTHON, "-c", code)
    assert (result.returncode, result.stdout) == (0, "42\n")
    path.write_bytes(b"\x01\x02\x03")
    broken = run_cli("run", "--program", str(path), "--", "true")
    assert broken.returncode == 1
    assert str(path) in broken.stderr


def test_usage_errors() -> None:
    assert "give the command after --" in run_cli("run").stderr
    result = run_cli("run", "--program", "x", "--arch", "x86_64", "--", "true")
    assert (result.returncode, result.stderr.count("--arch applies to a policy")) == (1, 1)


def test_report_denials_names_the_rule(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        """\
        default_action: allow
        syscalls:
          - names: [getcwd]
            action: errno(EPERM)
        """,
    )
    code = "import os\ntry:\n    os.getcwd()\nexcept PermissionError:\n    print('EPERM')\n"
    result = run_cli("run", "-p", str(policy), "--report-denials", "--", PYTHON, "-c", code)
    assert (result.returncode, result.stdout) == (0, "EPERM\n")
    lines = [line for line in result.stderr.splitlines() if "getcwd" in line]
    assert len(lines) == 1
    assert f"rule 1 ({policy}:3:5)" in lines[0]


def test_complain_runs_what_the_policy_would_stop_and_sums_it_up(tmp_path: Path) -> None:
    # The policy denies getcwd and even the exec: in complain mode both run, and are reported.
    policy = write_policy(
        tmp_path,
        """\
        default_action: allow
        syscalls:
          - names: [getcwd]
            action: kill_process
          - names: [execve]
            action: errno(EPERM)
        """,
    )
    code = "import os\nprint(os.getcwd() == os.environ['PWD'])"
    result = run_cli("run", "-p", str(policy), "--complain", "--", PYTHON, "-c", code)
    assert (result.returncode, result.stdout) == (0, "True\n"), result.stderr
    summary = result.stderr.splitlines()[-3:]
    assert summary[0].startswith("seccomp-bpf: complain mode: the policy would have stopped 2")
    # Equal counts: by name.
    assert summary[1].startswith(f"seccomp-bpf:   execve x1 -> errno(EPERM): rule 2 ({policy}:5:5)")
    assert summary[2].startswith(f"seccomp-bpf:   getcwd x1 -> kill_process: rule 1 ({policy}:3:5)")
    assert "; first: pid " in summary[2]
    # Enforced, the same policy does not even start the command.
    enforced = run_cli("run", "-p", str(policy), "--", PYTHON, "-c", code)
    assert enforced.returncode == 1
    assert "does not allow execve" in enforced.stderr
    usage = run_cli("run", "--complain", "--no-fork", "--", "true")
    assert usage.returncode == 1
    assert "--complain needs a policy" in usage.stderr


def test_complain_as_an_unprivileged_user() -> None:
    from tests.run.sandboxed import NOBODY, require_nobody, shared_directory
    from tests.run.sandboxed import run_cli as run_sandboxed

    python = require_nobody()
    with shared_directory(owner=NOBODY) as place:
        policy = place / "p.yaml"
        policy.write_text(
            "default_action: allow\nsyscalls:\n  - names: [getcwd]\n    action: kill_process\n"
        )
        policy.chmod(0o644)
        code = "import os; print(os.getcwd())"
        argv = ("run", "-p", str(policy), "--complain", "--", python.executable, "-I", "-c", code)
        result = run_sandboxed(*argv, cwd=place, user=NOBODY)
        assert (result.returncode, result.stdout) == (0, f"{place}\n"), result.stderr
        assert f"getcwd x1 -> kill_process: rule 1 ({policy}:3:5); first: pid " in result.stderr
        # The control: enforced, the policy kills it.
        enforced = run_sandboxed(*argv[:3], *argv[4:], cwd=place, user=NOBODY)
        assert enforced.returncode == 128 + signal.SIGSYS


# --- policy show / groups ---------------------------------------------------------------------


def test_policy_show_default_and_a_file(tmp_path: Path) -> None:
    shown = run_cli("policy", "show", "default")
    assert (shown.returncode, shown.stdout) == (0, builtin_policy_text())
    path = write_policy(tmp_path, "default_action: allow  # as written\n")
    assert run_cli("policy", "show", str(path)).stdout == "default_action: allow  # as written\n"
    bad = write_policy(tmp_path, "default_action: allow\narches: [vax]\n")
    result = run_cli("policy", "show", str(bad))
    assert result.returncode == 1
    assert f"{bad}:2:10:" in result.stderr and result.stdout == ""


def test_policy_groups_lists_members() -> None:
    result = run_cli("policy", "groups", "network")
    assert result.returncode == 0
    assert result.stdout.startswith("@network: ")
    assert " socket " in result.stdout.replace("\n", " ")
    assert "unknown group @nope" in run_cli("policy", "groups", "nope").stderr


# --- pieces -----------------------------------------------------------------------------------


def test_find_executable_like_execvp(tmp_path: Path) -> None:
    runnable = tmp_path / "tool"
    runnable.write_text("#!/bin/sh\n")
    runnable.chmod(0o755)
    assert find_executable("tool", [str(tmp_path)]) == str(runnable)
    (tmp_path / "dir").mkdir()
    with pytest.raises(CommandError) as raised:
        find_executable("dir", [str(tmp_path)])
    assert (raised.value.exit_status, raised.value.errno) == (126, errno.EISDIR)
    with pytest.raises(CommandError) as raised:
        find_executable("nothing", [str(tmp_path)])
    assert raised.value.exit_status == 127
    with pytest.raises(CommandError) as raised:
        find_executable(str(tmp_path / "nothing"))
    assert (raised.value.exit_status, raised.value.strerror) == (
        127,
        f"{tmp_path / 'nothing'}: No such file or directory",
    )


def test_describe_exit_from_real_wait_statuses() -> None:
    statuses = {}
    for name, code in (
        ("exit5", "raise SystemExit(5)"),
        ("kill", "import os; os.kill(os.getpid(), 9)"),
    ):
        pid = os.fork()
        if pid == 0:
            try:
                os.execv(PYTHON, [PYTHON, "-c", code])
            finally:
                os._exit(127)
        statuses[name] = os.waitpid(pid, 0)[1]
    assert describe_exit("x", statuses["exit5"]) == (5, None)
    assert describe_exit("x", statuses["kill"]) == (128 + 9, "x was killed by SIGKILL")
