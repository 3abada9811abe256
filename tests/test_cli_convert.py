"""``seccomp-bpf convert``: every output format, errors as one line, and raw BPF loaded by
bubblewrap."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats import read_policy_file
from seccomp_bpf.formats.oci import load_oci_policy
from seccomp_bpf.formats.yaml_policy import load_yaml_policy

POLICY = """\
default_action: errno(EPERM)
bad_arch_action: kill_thread
arches: [x86_64]
syscalls:
  - names: [read, write, close, exit_group]
    action: allow
  - names: [socket]
    action: allow
    when: {arg: 0, op: in, value: [1, 2]}
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_yaml_out_reads_back_equal(policy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    assert main(["convert", str(policy_file), "-o", str(out)]) == 0  # format from ".yaml"
    assert load_yaml_policy(out.read_text()) == read_policy_file(policy_file)


@pytest.mark.parametrize("target", ["oci", "docker"])
def test_oci_out_decides_as_the_policy(policy_file: Path, tmp_path: Path, target: str) -> None:
    out = tmp_path / "out.json"
    assert main(["convert", str(policy_file), "-o", str(out), "--to", target]) == 0
    profile = json.loads(out.read_text())
    assert ("archMap" in profile) == (target == "docker")
    theirs = load_oci_policy(out.read_text(), arch="x86_64", kernel="6.18")
    ours = read_policy_file(policy_file)
    for nr in (0, 1, 3, 41, 59, 231, 999):
        for domain in (0, 1, 2, 3):
            args = (domain, 0, 0, 0, 0, 0)
            assert theirs.evaluate("x86_64", nr, args) == ours.evaluate("x86_64", nr, args)


def test_raw_and_c_are_the_compiled_program(policy_file: Path, tmp_path: Path) -> None:
    raw = tmp_path / "out.bpf"
    assert main(["convert", str(policy_file), "-o", str(raw)]) == 0
    program = compile_policy(read_policy_file(policy_file))
    assert Program.from_bytes(raw.read_bytes()) == program
    header = tmp_path / "out.h"
    assert main(["convert", str(policy_file), "-o", str(header)]) == 0
    text = header.read_text()
    assert "struct sock_filter filter[]" in text
    assert text.count("{ 0x") == len(program)


def test_go_seccomp_bpf_to_stdout(policy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(policy_file), "--to", "go-seccomp-bpf"]) == 0
    text = capsys.readouterr().out
    theirs = load_yaml_policy(text, arches=["x86_64"])
    assert theirs.evaluate("x86_64", 41, (2,)) == read_policy_file(policy_file).evaluate(
        "x86_64", 41, (2,)
    )


def test_arch_replaces_the_policy_architectures(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["convert", str(policy_file), "--to", "yaml", "--arch", "aarch64"]) == 0
    assert "arches: [aarch64]" in capsys.readouterr().out


def test_errors_are_one_line(
    policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["convert", str(policy_file), "-o", str(tmp_path / "out.txt")]) == 1
    assert "give --to FORMAT" in capsys.readouterr().err
    refused = tmp_path / "ip.yaml"
    refused.write_text(
        "default_action: allow\nbad_arch_action: kill_thread\narches: [x86_64]\nsyscalls:\n"
        "  - names: [read]\n    action: errno(EPERM)\n    when: {ip: true, op: eq, value: 0}\n"
    )
    assert main(["convert", str(refused), "--to", "oci"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{refused}:5:5: rule 1 ({refused}:5:5): cannot be written as an OCI profile" in err
    assert main(["convert", str(tmp_path / "missing.yaml"), "--to", "oci"]) == 1
    assert "missing.yaml" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["convert", str(policy_file), "--to", "pdf"])


# --- bubblewrap --------------------------------------------------------------------------------

BWRAP = shutil.which("bwrap")


def _bwrap_runs() -> bool:
    if BWRAP is None:
        return False
    try:
        done = subprocess.run(
            [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--", "/bin/true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.kernel
@pytest.mark.skipif(not _bwrap_runs(), reason="bubblewrap (bwrap) is absent or cannot run here")
def test_raw_export_loads_under_bubblewrap(tmp_path: Path) -> None:
    # mkdir is refused with an errno mkdir never returns by itself (EXDEV): if the call fails
    # with it, the filter did it. Everything else is allowed, so Python starts.
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "default_action: allow\narches: [native]\nsyscalls:\n"
        "  - names: [mkdir, mkdirat]\n    action: errno(EXDEV)\n"
    )
    program = tmp_path / "policy.bpf"
    assert main(["convert", str(policy), "-o", str(program), "--to", "raw"]) == 0
    script = (
        "import os\n"
        "print(os.getcwd() != '')\n"
        "try:\n"
        "    os.mkdir('/tmp/made-here')\n"
        "    print('made')\n"
        "except OSError as error:\n"
        "    print(error.errno)\n"
    )
    command = [BWRAP or "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--tmpfs", "/tmp"]
    # The interpreter itself, not a virtual environment's link to it: the environment may
    # live under /tmp, which the sandbox replaces.
    run = [os.path.realpath(sys.executable), "-I", "-c", script]
    without = subprocess.run(
        [*command, "--", *run], capture_output=True, text=True, timeout=60, check=False
    )
    assert without.stdout.split() == ["True", "made"], without.stderr
    with open(program, "rb") as stream:
        os.set_inheritable(stream.fileno(), True)
        fd = stream.fileno()
        confined = subprocess.run(
            [*command, "--seccomp", str(fd), "--", *run],
            capture_output=True,
            text=True,
            timeout=60,
            pass_fds=(fd,),
            check=False,
        )
    assert confined.returncode == 0, confined.stderr
    assert confined.stdout.split() == ["True", str(errno.EXDEV)]
