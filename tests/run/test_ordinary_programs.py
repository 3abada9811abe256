"""Ordinary programs still work under the default ``seccomp-bpf run``: the built-in policy
and every layer of the sandbox, in a working directory under ``/tmp`` (bound into the
sandbox's own ``/tmp``). Each test checks the program's result, not only its status. (A
threaded loopback HTTP server with its clients is ``test_command.py``'s, under the same
default; Python's below also serves TLS and asyncio on the loopback.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.run.sandboxed import run_cli

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

PYTHON = sys.executable


def run(*command: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = run_cli("run", "--", *command, cwd=cwd, timeout=timeout)
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def needs(*programs: str) -> None:
    missing = [program for program in programs if shutil.which(program) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


PYTHON_LIBRARIES = """\
import asyncio, json, multiprocessing, os, sqlite3, ssl, subprocess, sys

def square(n):
    return n * n

async def echo_and_child():
    async def handle(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"echoed\\n")
    line = await reader.readline()
    writer.close()
    server.close()
    child = await asyncio.create_subprocess_exec(
        "sh", "-c", "echo from-child", stdout=asyncio.subprocess.PIPE)
    out, _ = await child.communicate()
    return line.decode().strip(), out.decode().strip()

def tls_round_trip(certificate, key):
    import socket, threading
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate, key)
    client_context = ssl.create_default_context(cafile=certificate)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    def serve():
        connection, _ = listener.accept()
        with server_context.wrap_socket(connection, server_side=True) as tls:
            tls.sendall(tls.recv(64).upper())
    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with client_context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"secret")
            answer = tls.recv(64).decode()
    thread.join()
    return answer

if __name__ == "__main__":
    results = {}
    results["ca_certificates"] = ssl.create_default_context().cert_store_stats()["x509_ca"] > 0
    if len(sys.argv) > 1:
        results["tls"] = tls_round_trip(sys.argv[1], sys.argv[2])
    with sqlite3.connect("data.sqlite") as db:
        db.execute("create table t (n integer)")
        db.executemany("insert into t values (?)", [(n,) for n in range(100)])
        results["sqlite"] = db.execute("select sum(n) from t").fetchone()[0]
    for method in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            results[method] = sum(pool.map(square, range(10)))
    results["asyncio"] = asyncio.run(echo_and_child())
    results["subprocess"] = subprocess.run(
        ["sh", "-c", "echo $((6 * 7))"], capture_output=True, text=True, check=True).stdout.strip()
    print(json.dumps(results))
"""


def test_python_ssl_sqlite3_multiprocessing_asyncio_subprocess(tmp_path: Path) -> None:
    script = tmp_path / "libraries.py"
    script.write_text(PYTHON_LIBRARIES)
    arguments = []
    if shutil.which("openssl") is not None:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
             "-keyout", "key.pem", "-out", "cert.pem"],
            cwd=tmp_path, check=True, capture_output=True,
        )  # fmt: skip
        arguments = ["cert.pem", "key.pem"]
    result = run(PYTHON, "libraries.py", *arguments, cwd=tmp_path)
    results = json.loads(result.stdout)
    assert results.pop("ca_certificates") is True
    if arguments:
        assert results.pop("tls") == "SECRET"
    assert results == {
        "sqlite": 4950,
        "fork": 285,
        "spawn": 285,
        "forkserver": 285,
        "asyncio": ["echoed", "from-child"],
        "subprocess": "42",
    }
    assert (tmp_path / "data.sqlite").exists()  # written in the working directory


def test_git_init_commit_log(tmp_path: Path) -> None:
    needs("git")
    script = """\
set -e
git init -q repository
cd repository
git config user.name Tester
git config user.email tester@example.org
echo one > file
git add file
git commit -qm first
echo two >> file
git commit -qam second
git log --format=%s
"""
    result = run("sh", "-c", script, cwd=tmp_path)
    assert result.stdout == "second\nfirst\n"
    log = subprocess.run(
        ["git", "-C", str(tmp_path / "repository"), "log", "--format=%s"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert log.stdout == "second\nfirst\n"  # the repository is there, outside, too


def test_tar_and_gzip(tmp_path: Path) -> None:
    needs("tar", "gzip")
    tree = tmp_path / "tree" / "sub"
    tree.mkdir(parents=True)
    for n in range(10):
        (tree / f"file{n}.txt").write_text(f"content {n}\n" * 50)
    run("sh", "-c", "tar cf out.tar tree && gzip -9 out.tar && gzip -t out.tar.gz", cwd=tmp_path)
    with tarfile.open(tmp_path / "out.tar.gz") as archive:
        assert "tree/sub/file9.txt" in archive.getnames()


def test_gcc_and_make(tmp_path: Path) -> None:
    needs("gcc", "make")
    (tmp_path / "hello.c").write_text(
        '#include <stdio.h>\nint main(void) { printf("built and run\\n"); return 0; }\n'
    )
    (tmp_path / "Makefile").write_text("hello: hello.c\n\tgcc -O2 -o hello hello.c\n")
    result = run("sh", "-c", "make -s && ./hello", cwd=tmp_path)
    assert result.stdout == "built and run\n"


def test_shell_pipelines(tmp_path: Path) -> None:
    script = "seq 1 2000 | sort -rn | head -3 | tr '\\n' ' '; printf '%s\\n' a b c | wc -l"
    result = run("sh", "-c", script, cwd=tmp_path)
    assert result.stdout == "2000 1999 1998 3\n"


NODE = """\
const http = require("http");
const fs = require("fs");
const { execFileSync } = require("child_process");
const server = http.createServer((request, response) => response.end("node " + request.url));
server.listen(0, "127.0.0.1", () => {
  http.get({ host: "127.0.0.1", port: server.address().port, path: "/ok" }, (response) => {
    let body = "";
    response.on("data", (chunk) => (body += chunk));
    response.on("end", () => {
      fs.writeFileSync("node.txt", body);
      const child = execFileSync("sh", ["-c", "echo child"]).toString().trim();
      console.log(body + " " + child);
      server.close();
    });
  });
});
"""


def test_node(tmp_path: Path) -> None:
    needs("node")
    result = run("node", "-e", NODE, cwd=tmp_path)
    assert result.stdout == "node /ok child\n"
    assert (tmp_path / "node.txt").read_text() == "node /ok"


def _wheel(directory: Path) -> Path:
    """A wheel of one module, made by hand (a zip with its dist-info, PEP 427)."""
    name = "sandboxed_example"
    files = {
        f"{name}.py": b"VALUE = 'installed in the sandbox'\n",
        f"{name}-1.0.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
        ),
        f"{name}-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}-1.0.dist-info/RECORD,,")
    wheel = directory / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{name}-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def test_pip_installs_a_local_wheel_into_a_venv(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path)
    script = textwrap.dedent(
        f"""\
        set -e
        {PYTHON} -m venv venv
        venv/bin/python -m pip install -q --no-index --disable-pip-version-check {wheel.name}
        venv/bin/python -c 'import sandboxed_example; print(sandboxed_example.VALUE)'
        """
    )
    result = run("sh", "-c", script, cwd=tmp_path, timeout=300)
    assert result.stdout.splitlines()[-1] == "installed in the sandbox"
    assert list((tmp_path / "venv").glob("lib/python*/site-packages/sandboxed_example.py"))
