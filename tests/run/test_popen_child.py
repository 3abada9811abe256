"""``seccomp_bpf.run.popen_child``: what a Popen child reads, what it imports, and how it
refuses a launch that is not its parent's."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.policies.precompiled import precompiled_default
from seccomp_bpf.policy import Sandbox
from seccomp_bpf.run.popen_child import FORMAT, launch_bytes
from seccomp_bpf.run.subprocess import _launch_fd, _runner

pytestmark = pytest.mark.kernel

# What the child must not import: the command line, the emulator (the parent checked the
# actions and the exec), the model, the compiler, the formats, the build configuration.
NOT_IN_THE_CHILD = (
    "argparse",
    "seccomp_bpf.cli",
    "seccomp_bpf.bpf.emulator",
    "seccomp_bpf.compiler",
    "seccomp_bpf.policy.policy",
    "seccomp_bpf.formats",
    "yaml",
    "difflib",
    "sysconfig",
)


def _program_bytes() -> bytes:
    shipped = precompiled_default(native_arch().name)
    assert shipped is not None
    return shipped.program.to_bytes()


def _child(data: bytes, *, boot: str = "") -> subprocess.CompletedProcess[str]:
    """The child as Popen starts it (its command line, the launch on a descriptor), with
    ``boot`` run before its main."""
    runner = _runner()
    if boot:
        runner[-1] = runner[-1].replace("from seccomp_bpf", boot + "; from seccomp_bpf", 1)
    fd = _launch_fd(data)
    try:
        return subprocess.run(
            [*runner, str(fd)], pass_fds=(fd,), capture_output=True, text=True, check=False
        )
    finally:
        os.close(fd)


def test_the_child_imports_neither_the_command_line_nor_the_emulator() -> None:
    """The modules loaded when the command is about to start (exec_confined replaced by a
    report of sys.modules); the child's own ``run`` of ``true`` is the control."""
    data = launch_bytes(
        precompiled_default(native_arch().name).program,  # type: ignore[union-attr]
        None,
        ["true"],
        None,
        os.getpid(),
    )
    report = (
        "import seccomp_bpf.run.command as c; "
        "c.exec_confined = lambda *a, **k: "
        "(print(' '.join(sorted(sys.modules))), sys.exit(0))"
    )
    done = _child(data, boot=report)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "seccomp_bpf.run.command" in loaded
    heavy = sorted(
        module
        for module in loaded
        if any(module == name or module.startswith(name + ".") for name in NOT_IN_THE_CHILD)
    )
    assert not heavy
    control = _child(data)
    assert (control.returncode, control.stderr) == (0, "")


def test_the_sandbox_and_the_command_arrive_whole(tmp_path: os.PathLike[str]) -> None:
    odd = os.path.join(tmp_path, "-odd \udcff")
    os.mkdir(odd)
    sandbox = Sandbox(rw=(odd,), tcp_connect=(), unshare_net=True, require=("namespaces",))
    argv = ["sh", "-c", 'echo x > "$1"/f; wc -l < /proc/net/dev', "sh", odd]
    data = launch_bytes(
        precompiled_default(native_arch().name).program,  # type: ignore[union-attr]
        sandbox,
        argv,
        "/bin/sh",
        os.getpid(),
    )
    done = _child(data)
    assert (done.returncode, done.stdout) == (0, "3\n"), done.stderr  # lo only
    with open(os.path.join(odd, "f")) as written:
        assert written.read() == "x\n"


def test_a_launch_of_another_parent_runs_nothing(tmp_path: os.PathLike[str]) -> None:
    """The parent named in the launch must be the child's parent (the sandbox ends with
    it): a launch written for another process is refused."""
    marker = os.path.join(tmp_path, "ran")
    data = launch_bytes(
        precompiled_default(native_arch().name).program,  # type: ignore[union-attr]
        None,
        ["sh", "-c", f"touch {marker}"],
        None,
        1,
    )
    done = _child(data)
    assert done.returncode == 1
    assert "that started this one is gone; nothing was run" in done.stderr
    assert not os.path.exists(marker)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not marshal",
        marshal.dumps((FORMAT, b"x")),
        marshal.dumps((FORMAT + 1, b"", None, ("true",), None, 0)),
        marshal.dumps((FORMAT + 1,)),
        marshal.dumps(7),
    ],
    ids=["empty", "garbage", "short", "other-format", "other-format-short", "no-tuple"],
)
def test_a_damaged_launch_is_an_error_not_a_traceback(data: bytes) -> None:
    done = _child(data)
    assert done.returncode == 1
    assert done.stderr.startswith("seccomp-bpf: error: run: "), done.stderr
    assert "Traceback" not in done.stderr


def test_a_program_that_is_no_program_is_an_error() -> None:
    data = marshal.dumps((FORMAT, b"\x06\x00", None, ("true",), None, os.getpid()))
    done = _child(data)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("seccomp-bpf: "), done.stderr


def test_no_descriptor_is_an_error() -> None:
    runner = _runner()
    done = subprocess.run([*runner, "99"], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "no launch to read" in done.stderr
    assert sys.executable == runner[0]


def test_without_memfd_the_launch_travels_in_a_temporary_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from seccomp_bpf.run.subprocess import run

    def refused(name: str, flags: int = 0) -> int:
        raise OSError(38, "memfd_create is not available")

    monkeypatch.setattr(os, "memfd_create", refused)
    argument = "x" * 100_000  # more than a pipe's buffer
    done = run(["sh", "-c", 'echo "${#1}"', "sh", argument], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "100000\n", "")
