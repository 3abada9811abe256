"""Every example in README.md, taken from the README itself and run, so that none can rot:
its shell commands, its YAML policy (compiled, converted to Docker and OCI profiles and
checked against libseccomp where it is installed), its Python code, the commands of its
table (each command and option exists), the import it shows and the benchmarks it names.

A new fenced block in a language this file does not know fails the first test.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_bpf.arch import Arch, get_arch
from seccomp_bpf.formats import load_oci_policy, load_yaml_policy

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _without_section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.index("\n## ", start + 1)
    return text[:start] + text[end:]


# "The sandbox" has its own examples' test, tests/run/test_readme_sandbox.py, which runs them
# inside the sandbox's own conditions; every other block is this module's.
EXAMPLES = _without_section(README, "The sandbox")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
RUNNERS = ("sh", "yaml", "python")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")


def blocks(language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(EXAMPLES) if lang == language]


def environment() -> dict[str, str]:
    """This interpreter's scripts (``seccomp-bpf``) first on PATH, as after the install."""
    scripts = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}


def shell(command: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment(),
        timeout=timeout,
        check=False,
    )


def python(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """This interpreter with ``args``, as the reader would run ``python``."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment(),
        timeout=timeout,
        check=False,
    )


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return shell(shlex.join(["seccomp-bpf", *args]), cwd)


def test_every_block_has_a_runner() -> None:
    languages = [lang for lang, _ in FENCE.findall(EXAMPLES)]
    assert languages, "the README has examples"
    assert set(languages) <= set(RUNNERS), languages


# --- shell ----------------------------------------------------------------------------------------

TEST_COMMAND = "ruff check . && mypy && lint-imports && python -m pytest -q"


def test_the_shell_commands(tmp_path: Path) -> None:
    """The README's first two blocks: install and run, install and test. The only other
    shell block is the static profiling example, which tests/profiling/static/test_readme.py
    runs command by command."""
    first, second, *others = blocks("sh")
    assert all("profile --static" in code for code in others), others
    commands = [line for code in (first, second) for line in code.splitlines() if line.strip()]
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        # the install is what the test environment did already (pip install -e '.[test]')
        install, _, rest = command.partition(" && ")
        assert install.startswith("pip install "), command
        if rest == TEST_COMMAND:
            # the README's test command is the one CI runs, verbatim (running it here would
            # run this test again)
            assert command in ci.splitlines(), "the README's test command is .ci/run's"
            continue
        done = shell(rest, tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "ok\n"


# --- the YAML policy ------------------------------------------------------------------------------


def test_the_yaml_policy_compiles_and_converts(tmp_path: Path) -> None:
    (text,) = blocks("yaml")
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    # the commands the README gives, and check
    for args in (
        ["check", "policy.yaml"],
        ["compile", "policy.yaml", "-o", "policy.bpf"],
        ["convert", "policy.yaml", "--to", "docker", "-o", "docker.json"],
        ["convert", "policy.yaml", "--to", "oci", "-o", "oci.json"],
        ["audit", "--fail-on", "medium", "policy.yaml"],
    ):
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    converted = cli("convert", "policy.yaml", "--to", "docker", cwd=tmp_path)
    assert "note: bad_arch_action kill_process" in converted.stderr
    # what the comments say, in the policy and in the profile
    policy = load_yaml_policy(text)
    profile = load_oci_policy((tmp_path / "oci.json").read_text(), arch="x86_64")
    x86_64, i386 = get_arch("x86_64"), get_arch("i386")
    af_inet, af_packet, o_wronly, at_fdcwd = 2, 17, 1, -100 & 0xFFFFFFFF
    sys_socket = 1  # <linux/net.h>
    cases: tuple[tuple[Arch, str, tuple[int, ...], str], ...] = (
        (x86_64, "socket", (af_inet, 1), "allow"),
        (x86_64, "socket", (af_packet, 1), "errno(EPERM)"),
        (i386, "socket", (af_inet, 1), "allow"),
        (i386, "socketcall", (sys_socket, 0), "errno(EPERM)"),  # strict: fails closed
        (x86_64, "openat", (at_fdcwd, 0, o_wronly), "errno(EACCES)"),
        (x86_64, "openat", (at_fdcwd, 0, 0), "errno(EPERM)"),
        (x86_64, "mount", (), "errno(EPERM)"),
    )
    for arch, name, call, action in cases:
        padded = (*call, *([0] * (6 - len(call))))
        nr = arch.syscalls[name]
        for decided in (policy, profile):
            assert decided.evaluate(arch, nr, padded).describe() == action, (name, call)
    assert policy.evaluate(x86_64, 999).describe() == "errno(ENOSYS)"


def test_the_yaml_policy_s_profile_equals_libseccomp_s_filter() -> None:
    from tests.formats.test_oci_libseccomp import LIB, _exported_equals_libseccomp

    if LIB is None:
        pytest.skip("libseccomp.so.2 is not installed")
    (text,) = blocks("yaml")
    assert _exported_equals_libseccomp(load_yaml_policy(text)) > 1000


# --- Python ---------------------------------------------------------------------------------------


@pytest.mark.kernel
def test_the_python_examples(tmp_path: Path) -> None:
    examples = blocks("python")
    assert len(examples) == 2
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("data\n")
    outputs = []
    for code in examples:
        done = python("-c", code, cwd=tmp_path)
        assert done.returncode == 0, code + done.stderr
        outputs.append(done.stdout)
    # openat with O_WRONLY (arg 2 = 1) is no read-only open: the default action
    assert "ERRNO" in outputs[0]
    assert (tmp_path / "out.tgz").stat().st_size > 0  # tar ran under the default policy


def test_the_inline_import(tmp_path: Path) -> None:
    imports = re.findall(r"`(import [^`]+)`", README)
    assert imports
    for statement in imports:
        done = python("-c", statement, cwd=tmp_path)
        assert done.returncode == 0, done.stderr


# --- the table of commands ------------------------------------------------------------------------

ROW = re.compile(r"^\| (`seccomp-bpf .*?) \|", re.MULTILINE)


def test_every_command_and_option_of_the_table_exists(tmp_path: Path) -> None:
    synopses = [
        part.strip().strip("`")
        for row in ROW.findall(README)
        for part in row.split(" / ")
    ]
    assert len(synopses) >= 15
    for synopsis in synopses:
        words = synopsis.replace("\\|", "|").split()
        assert words[0] == "seccomp-bpf"
        command = words[1:3] if words[1] == "policy" else words[1:2]
        help_text = cli(*command, "--help", cwd=tmp_path)
        assert help_text.returncode == 0, synopsis
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", synopsis):
            assert re.search(rf"(?<![\w-]){re.escape(option)}\b", help_text.stdout), (
                synopsis,
                option,
            )


# --- the benchmarks it names ----------------------------------------------------------------------


@pytest.mark.slow
def test_the_benchmarks_run() -> None:
    named = re.findall(r"`python -m (benchmarks\.\w+)`", README)
    assert set(named) == {
        "benchmarks.compiler",
        "benchmarks.profiler",
        "benchmarks.sandbox",
        "benchmarks.startup",
    }
    quick = {  # their smallest runs: the README names them as a reader would run them
        "benchmarks.compiler": ["--repeat", "1", "--iterations", "1", "--no-kernel"],
        "benchmarks.profiler": ["--repeat", "1", "--only", "python-json"],
        "benchmarks.sandbox": ["--repeat", "1"],
        "benchmarks.startup": ["--rounds", "1"],
    }
    for module in named:
        done = python("-m", module, *quick[module], cwd=REPO, timeout=300)
        assert done.returncode == 0, module + done.stderr
        assert done.stdout.strip()
