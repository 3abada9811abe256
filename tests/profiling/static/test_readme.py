"""The README's static profiling example, command by command."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]


def _example() -> list[str]:
    text = README.read_text()
    start = text.index("A recorded run only allows what that run did")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.DOTALL)
    assert block is not None
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines()]


def test_the_static_profiling_example(tmp_path: Path, cache_dir: Path) -> None:
    lines = _example()
    assert lines[0].startswith("pip install '.[static]'")  # what the test environment has
    for line in lines[1:]:
        argv = shlex.split(line)
        assert argv[0] == "seccomp-bpf"
        if "--static" in argv:
            argv += ["--cache-dir", str(cache_dir)]
        done = subprocess.run(
            [sys.executable, "-m", "seccomp_bpf", *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (line, done.stderr)
    assert (tmp_path / "ls.yaml").exists() and (tmp_path / "both.yaml").exists()
