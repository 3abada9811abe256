"""The examples of the README's "The sandbox" section, run as written: every ``sh`` line,
the YAML policy (with ``seccomp-bpf run -p``), and the Python block."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent


def _section() -> str:
    text = README.read_text()
    start = text.index("\n## The sandbox\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", _section(), re.S)


def _environment() -> dict[str, str]:
    # The seccomp-bpf command of this environment comes first in PATH.
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_section_has_its_examples() -> None:
    assert len(_blocks("sh")) == 1
    assert len(_blocks("yaml")) == 1
    assert len(_blocks("python")) == 1


@pytest.mark.parametrize("line", _blocks("sh")[0].strip().splitlines())
def test_shell_examples(line: str, tmp_path: Path) -> None:
    if shutil.which("seccomp-bpf", path=str(BIN)) is None:
        pytest.skip("the seccomp-bpf command is not installed here")
    result = subprocess.run(
        ["sh", "-c", line], cwd=tmp_path, env=_environment(), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    if "result" in line:
        assert (tmp_path / "result").read_text() == "built\n"
    else:
        assert result.stdout == "ok\n"
        assert "seccomp-bpf: layers in force for python3:" in result.stderr


def test_the_yaml_policy(tmp_path: Path) -> None:
    (tmp_path / "build.yaml").write_text(_blocks("yaml")[0])
    result = subprocess.run(
        [sys.executable, "-m", "seccomp_bpf", "run", "-p", "build.yaml", "--",
         "sh", "-c", "echo built > result; cat result"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "built\n"), result.stderr


def test_the_python_example(tmp_path: Path) -> None:
    code = _blocks("python")[0] + "open('after-install', 'w').write('x')\n"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "result").read_text() == "built\n"
    assert (tmp_path / "after-install").read_text() == "x"  # "." granted before confining
