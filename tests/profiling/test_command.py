"""``seccomp-bpf profile`` as a user runs it: profile real programs, then run them under the
generated policy with ``seccomp-bpf run -p`` (both in subprocesses; the pytest process is
never traced or confined).

Every program must succeed under its own policy with the same output, in both modes. The
commands run with a fixed environment (no proxies, a private ``HOME`` for git) so that the
profiled run and the confined run take the same paths.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.compiler import load_frequency
from seccomp_bpf.formats import read_policy_file
from seccomp_bpf.policy import ERRNO
from seccomp_bpf.profiling.notify_mode import BASE_SET
from tests.profiling.modes import MODES

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

PYTHON = sys.executable


@pytest.fixture(autouse=True, scope="module")
def _no_core_dumps() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    yield
    resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def environment(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_OPTIONAL_LOCKS": "0",
        "no_proxy": "*",
    }


def cli(
    *args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "seccomp_bpf", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        # HOME above the working directory: `run` keeps the home directory itself read-only.
        env=env if env is not None else environment(cwd.parent),
        timeout=timeout,
        check=False,
    )


def round_trip(
    mode: str, command: list[str], cwd: Path, *, reset: object = None
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Profile ``command``, audit the policy (nothing above low), then run the command
    under it and export it as a Docker profile; the results of the two runs."""
    policy = cwd.parent / f"{cwd.name}-{mode}.yaml"
    profiled = cli("profile", "-q", "--mode", mode, "-o", str(policy), "--", *command, cwd=cwd)
    assert profiled.returncode == 0, profiled.stderr
    audited = cli("audit", "--fail-on", "medium", str(policy), cwd=cwd)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    exported = cli("convert", str(policy), "--to", "docker", "-o", str(policy) + ".json", cwd=cwd)
    assert exported.returncode == 0, exported.stderr
    if callable(reset):
        reset()
    # The test's files are beside the working directory, in /tmp, which `run` makes the
    # sandbox's own: they are granted (and so bound into it) read-only.
    confined = cli("run", "-p", str(policy), "--rox", str(cwd.parent), "--", *command, cwd=cwd)
    assert confined.returncode == 0, confined.stderr + policy.read_text()
    return profiled, confined


# --- round trips on real programs -----------------------------------------------------------------

JSON_AND_FILES = """\
import json, os, pathlib
path = pathlib.Path("data.json")
path.write_text(json.dumps({"numbers": list(range(50)), "name": "profile"}))
data = json.loads(path.read_text())
os.rename(path, "moved.json")
print(sum(data["numbers"]), data["name"], sorted(os.listdir(".")))
os.unlink("moved.json")
"""

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
threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
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


@pytest.mark.parametrize("mode", MODES)
def test_python_with_json_and_files(mode: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    profiled, confined = round_trip(mode, [PYTHON, "-c", JSON_AND_FILES], work)
    assert profiled.stdout == confined.stdout == "1225 profile ['moved.json']\n"


@pytest.mark.parametrize("mode", MODES)
def test_threaded_http_server_and_loopback_clients(mode: str, tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(HTTP_SERVER)
    work = tmp_path / "work"
    work.mkdir()
    profiled, confined = round_trip(mode, [PYTHON, str(script)], work)
    assert profiled.stdout == confined.stdout == "/0 /1 /2 /3\n"


@pytest.mark.parametrize("mode", MODES)
def test_git_status_in_a_repository(mode: str, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("no git")
    repository = tmp_path / "repository"
    env = environment(tmp_path)
    git = ["git", "-c", "user.name=n", "-c", "user.email=n@example.org"]
    subprocess.run([*git, "init", "-q", str(repository)], check=True, env=env)
    (repository / "tracked").write_text("1\n")
    subprocess.run([*git, "add", "tracked"], cwd=repository, check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=repository, check=True, env=env)
    (repository / "tracked").write_text("2\n")
    (repository / "new").write_text("3\n")
    profiled, confined = round_trip(mode, ["git", "status"], repository)
    assert profiled.stdout == confined.stdout
    assert "modified:   tracked" in confined.stdout and "new" in confined.stdout


@pytest.mark.parametrize("mode", MODES)
def test_tar_czf_of_a_directory(mode: str, tmp_path: Path) -> None:
    if shutil.which("tar") is None or shutil.which("gzip") is None:
        pytest.skip("no tar or gzip")
    work = tmp_path / "work"
    tree = work / "tree"
    (tree / "sub").mkdir(parents=True)
    for n in range(20):
        (tree / "sub" / f"file{n}.txt").write_text(f"content {n}\n" * 100)
    archive = work / "out.tgz"
    listings = []

    def listing() -> None:
        with tarfile.open(archive) as opened:
            listings.append(sorted(opened.getnames()))
        archive.unlink()

    round_trip(mode, ["tar", "czf", "out.tgz", "tree"], work, reset=listing)
    listing()
    assert listings[0] == listings[1]
    assert "tree/sub/file19.txt" in listings[1]


@pytest.mark.parametrize("mode", MODES)
def test_shell_pipeline(mode: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    profiled, confined = round_trip(mode, ["sh", "-c", "seq 100 | sort -r | head -3"], work)
    assert profiled.stdout == confined.stdout == "99\n98\n97\n"


# --- arguments ------------------------------------------------------------------------------------

SOCKETS = """\
import socket, sys
for family, kind in ((socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_STREAM)):
    socket.socket(family, kind).close()
print("sockets ok")
for family, kind, name in (
    (socket.AF_INET6, socket.SOCK_STREAM, "AF_INET6"),
    (socket.AF_INET, socket.SOCK_DGRAM, "SOCK_DGRAM"),
):
    if name in sys.argv:
        try:
            socket.socket(family, kind).close()
        except OSError as error:
            print(name, "errno", error.errno)
        else:
            print(name, "allowed")
"""


@pytest.mark.parametrize("mode", MODES)
def test_argument_values_the_run_never_used_are_denied(mode: str, tmp_path: Path) -> None:
    script = tmp_path / "sockets.py"
    script.write_text(SOCKETS)
    policy = tmp_path / "sockets.yaml"
    profiled = cli("profile", "-q", "--mode", mode, "-o", str(policy), "--", PYTHON, str(script),
                   cwd=tmp_path)  # fmt: skip
    assert (profiled.returncode, profiled.stdout) == (0, "sockets ok\n"), profiled.stderr
    confined = cli("run", "-p", str(policy), "--", PYTHON, str(script), "AF_INET6", "SOCK_DGRAM",
                   cwd=tmp_path)  # fmt: skip
    assert confined.returncode == 0, confined.stderr
    assert confined.stdout == "sockets ok\nAF_INET6 errno 1\nSOCK_DGRAM errno 1\n"
    # without argument recording, the same policy lets them through
    loose = tmp_path / "loose.yaml"
    cli("profile", "-q", "--no-args", "-o", str(loose), "--", PYTHON, str(script), cwd=tmp_path)
    confined = cli("run", "-p", str(loose), "--", PYTHON, str(script), "AF_INET6", cwd=tmp_path)
    assert confined.stdout == "sockets ok\nAF_INET6 allowed\n", confined.stderr


# --- options --------------------------------------------------------------------------------------


def test_frequency_oci_and_the_summary(tmp_path: Path) -> None:
    frequency = tmp_path / "freq.json"
    policy = tmp_path / "p.json"
    command = [PYTHON, "-c", "print('hi')"]
    profiled = cli("profile", "--format", "oci", "-o", str(policy), "--frequency", str(frequency),
                   "--", *command, cwd=tmp_path)  # fmt: skip
    assert (profiled.returncode, profiled.stdout) == (0, "hi\n"), profiled.stderr
    assert "system calls" in profiled.stderr and str(policy) in profiled.stderr
    counts = load_frequency(frequency)[native_arch().name]
    assert counts["write"] >= 1 and counts["execve"] == 1
    assert json.loads(policy.read_text())["defaultAction"] == "SCMP_ACT_ERRNO"
    confined = cli("run", "-p", str(policy), "--", *command, cwd=tmp_path)
    assert (confined.returncode, confined.stdout) == (0, "hi\n"), confined.stderr
    compiled = cli("compile", "--frequency", str(frequency), "-o", os.devnull, str(policy),
                   cwd=tmp_path)  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr


def test_oci_and_yaml_of_one_program_decide_alike_and_weigh_alike(tmp_path: Path) -> None:
    # the OCI profile lists what is allowed (its default is the YAML's errno(EPERM)), so it
    # is about the YAML's size and compiles to about as many instructions; every call a
    # table knows gets the same action from both (clone3 included: ENOSYS)
    from seccomp_bpf.bpf.emulator import SeccompData, emulate

    command = ["ls", "/"]
    yaml_file, oci_file = tmp_path / "ls.yaml", tmp_path / "ls.json"
    for fmt, path in (("yaml", yaml_file), ("oci", oci_file)):
        done = cli("profile", "-q", "--format", fmt, "-o", str(path), "--", *command, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert len(oci_file.read_bytes()) < 2 * len(yaml_file.read_bytes())
    yaml_policy, oci_policy = read_policy_file(yaml_file), read_policy_file(oci_file)
    from seccomp_bpf.compiler import compile_policy

    yaml_program, oci_program = compile_policy(yaml_policy), compile_policy(oci_policy)
    assert len(oci_program) <= 1.5 * len(yaml_program)
    arch = native_arch()
    # but for the calls newer than the YAML names: its newer_syscall_action (ENOSYS) has no
    # field in a profile, whose default they get (the command says so)
    highest = yaml_policy.highest_named(arch)
    assert highest is not None and yaml_policy.newer_syscall_action == ERRNO("ENOSYS")
    for name, nr in arch.syscalls.items():
        data = SeccompData(nr, arch.audit_arch, 0, (0, 0, 0, 0, 0, 0))
        wanted = emulate(yaml_program, data).ret
        if nr > highest:
            assert wanted == ERRNO("ENOSYS").ret_value, name
            wanted = ERRNO("EPERM").ret_value
        assert emulate(oci_program, data).ret == wanted, name
    audited = cli("audit", "--fail-on", "medium", str(oci_file), cwd=tmp_path)
    assert audited.returncode == 0, audited.stdout


def test_merge_unites_two_runs(tmp_path: Path) -> None:
    script = tmp_path / "one.py"
    script.write_text(
        "import socket, sys\n"
        "family = socket.AF_UNIX if sys.argv[1] == 'unix' else socket.AF_INET\n"
        "socket.socket(family).close()\n"
        "print(sys.argv[1])\n"
    )
    policy = tmp_path / "p.yaml"
    first = cli("profile", "-q", "-o", str(policy), "--", PYTHON, str(script), "unix",
                cwd=tmp_path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    inet = cli("run", "-p", str(policy), "--", PYTHON, str(script), "inet", cwd=tmp_path)
    assert inet.returncode != 0 and "PermissionError" in inet.stderr
    second = cli("profile", "-q", "--mode", "notify", "--merge", str(policy), "-o", str(policy),
                 "--", PYTHON, str(script), "inet", cwd=tmp_path)  # fmt: skip
    assert second.returncode == 0, second.stderr
    for which in ("unix", "inet"):
        confined = cli("run", "-p", str(policy), "--", PYTHON, str(script), which, cwd=tmp_path)
        assert (confined.returncode, confined.stdout) == (0, f"{which}\n"), confined.stderr
    assert "United with" in policy.read_text()


def test_deny_and_allow(tmp_path: Path) -> None:
    command = [PYTHON, "-c", "import os; print(os.getcwd() != '')"]
    policy = tmp_path / "p.yaml"
    profiled = cli("profile", "-q", "--deny", "getcwd", "--allow", "@time", "-o", str(policy),
                   "--", *command, cwd=tmp_path)  # fmt: skip
    assert (profiled.returncode, profiled.stdout) == (0, "True\n"), profiled.stderr
    read = read_policy_file(policy)
    assert read.evaluate(native_arch(), native_arch().syscalls["getcwd"]).kind.name == "ERRNO"
    assert read.evaluate(native_arch(), native_arch().syscalls["nanosleep"]).kind.name == "ALLOW"
    confined = cli("run", "-p", str(policy), "--", *command, cwd=tmp_path)
    assert confined.returncode == 1 and "PermissionError" in confined.stderr


def test_list_files_and_names_of_other_architectures(tmp_path: Path) -> None:
    """``--allow chown32`` on x86_64 is accepted with a note; a deny list file with comments
    takes out a call the command makes; a typo in a list names its line and column."""
    if native_arch().name != "x86_64":
        pytest.skip("chown32 is a call of this machine's ABI")
    command = [PYTHON, "-c", "import os; print(os.getcwd() != '')"]
    deny = tmp_path / "deny.list"
    deny.write_text("# calls this service never needs\ngetcwd   # it knows where it is\n\n")
    policy = tmp_path / "p.yaml"
    profiled = cli("profile", "-q", "--allow", "chown32", "--deny", f"@{deny}",
                   "-o", str(policy), "--", *command, cwd=tmp_path)  # fmt: skip
    assert profiled.returncode == 0, profiled.stderr
    assert "--allow: no system call of x86_64, ignored there: chown32" in profiled.stderr
    read = read_policy_file(policy)
    assert read.evaluate(native_arch(), native_arch().syscalls["getcwd"]).kind.name == "ERRNO"
    confined = cli("run", "-p", str(policy), "--", *command, cwd=tmp_path)
    assert confined.returncode == 1 and "PermissionError" in confined.stderr
    deny.write_text("getcwd\n  reed\n")
    marker = tmp_path / "ran"
    refused = cli("profile", "--deny", f"@{deny}", "--", "touch", str(marker), cwd=tmp_path)
    assert refused.returncode == 1 and not marker.exists()
    assert f"{deny}:2:3" in refused.stderr and "did you mean 'read'" in refused.stderr


def test_notify_mode_writes_its_base_set_into_the_policy(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    cli("profile", "-q", "--mode", "notify", "-o", str(policy), "--", "true", cwd=tmp_path)
    text = policy.read_text()
    assert "--mode notify let these through without recording them" in text
    read = read_policy_file(policy)
    arch = native_arch()
    for name in BASE_SET:
        if name in arch.syscalls:
            assert read.evaluate(arch, arch.syscalls[name]).kind.name == "ALLOW", name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--allow", "nosuchcall"], "--allow nosuchcall"),
        (["--args", "openat"], "--args 'openat'"),
        (["--merge", "missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_options_fail_before_the_command_runs(
    tmp_path: Path, options: list[str], message: str
) -> None:
    marker = tmp_path / "ran"
    result = cli("profile", *options, "--", "touch", str(marker), cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()


def test_a_missing_command_is_127(tmp_path: Path) -> None:
    result = cli("profile", "--", "no-such-command-here", cwd=tmp_path)
    assert result.returncode == 127 and "not found" in result.stderr
    assert not (tmp_path / "seccomp-profile.yaml").exists()


@pytest.mark.parametrize("mode", MODES)
def test_the_exit_status_of_a_killed_command_is_passed_through(mode: str, tmp_path: Path) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    result = cli(
        "profile", "--mode", mode, "-o", os.devnull, "--", PYTHON, "-c", code, cwd=tmp_path
    )
    assert result.returncode == 128 + signal.SIGKILL
    assert "killed by SIGKILL" in result.stderr


def test_a_sigterm_sent_to_the_profiler_reaches_the_command(tmp_path: Path) -> None:
    profiler = subprocess.Popen(
        [PYTHON, "-m", "seccomp_bpf", "profile", "-q", "-o", os.devnull, "--", PYTHON, "-c",
         "import sys, time; print('up', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env=environment(tmp_path),
    )  # fmt: skip
    try:
        assert profiler.stdout is not None
        assert profiler.stdout.readline() == "up\n"
        started = time.monotonic()
        profiler.send_signal(signal.SIGTERM)
        assert profiler.wait(timeout=20) == 128 + signal.SIGTERM
        assert time.monotonic() - started < 10
    finally:
        profiler.kill()
        profiler.wait()


def test_a_terminal_gets_a_progress_line(tmp_path: Path) -> None:
    """On a terminal, standard error shows the counts while the command runs, rewritten in
    place, erased before the summary; the command's output is untouched."""
    master, slave = os.openpty()
    code = "import os, time\nend = time.time() + 1.2\nwhile time.time() < end: os.getppid()\n"
    try:
        profiler = subprocess.Popen(
            [PYTHON, "-m", "seccomp_bpf", "profile", "-o", os.devnull, "--", PYTHON, "-c", code],
            stdout=subprocess.PIPE, stderr=slave, cwd=tmp_path, env=environment(tmp_path),
        )  # fmt: skip
        os.close(slave)
        output, _ = profiler.communicate(timeout=60)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    text = b"".join(chunks).decode()
    assert profiler.returncode == 0 and output == b""
    progress = [part for part in text.split("\r") if part.startswith("\x1b[Kseccomp-bpf profile:")]
    assert len(progress) >= 2  # refreshed while the command ran
    assert all("system calls" in part and "distinct" in part for part in progress)
    assert text.rstrip().splitlines()[-1].startswith("\x1b[Kseccomp-bpf: profile: ")
