"""``seccomp-bpf profile --static``: the command line, its errors and its messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seccomp_bpf.cli import main
from seccomp_bpf.formats import read_policy_file
from tests.profiling.static.programs import Built, tiny_aarch64


def test_writes_the_policy(
    built_x86_64: Built, tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "static.yaml"
    argv = ["profile", "--static", str(built_x86_64.program), "-o", str(out)]
    assert main([*argv, "--cache-dir", str(cache_dir)]) == 0
    policy = read_policy_file(str(out))
    assert any("kcmp" in rule.syscalls for rule in policy.rules)
    err = capsys.readouterr().err
    assert "profile --static: 4 objects" in err and f"wrote policy to {out}" in err
    # The second run reads the cache.
    assert main([*argv, "--cache-dir", str(cache_dir)]) == 0
    assert "4 objects, 4 from the cache" in capsys.readouterr().err


def test_standard_output_and_oci(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = str(tiny_aarch64(tmp_path / "tiny"))
    assert main(["profile", "--static", tiny, "-o", "-", "--no-cache", "-q"]) == 0
    captured = capsys.readouterr()
    assert "getpid" in captured.out and captured.err == ""
    assert main(["profile", "--static", tiny, "-o", "-", "--format", "oci", "--no-cache"]) == 0
    assert '"SCMP_ARCH_AARCH64"' in capsys.readouterr().out


def test_no_cache_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    tiny = str(tiny_aarch64(tmp_path / "tiny"))
    assert main(["profile", "--static", tiny, "-o", str(tmp_path / "p.yaml"), "--no-cache"]) == 0
    assert not (tmp_path / "xdg").exists()
    assert main(["profile", "--static", tiny, "-o", str(tmp_path / "p.yaml")]) == 0
    assert list((tmp_path / "xdg" / "seccomp-bpf" / "static").iterdir())


def test_a_program_found_in_path(tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "ls.yaml"
    argv = ["profile", "--static", "ls", "-o", str(out), "--cache-dir", str(cache_dir), "-q"]
    assert main(argv) == 0
    assert "/ls" in out.read_text().splitlines()[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--static", "ls", "--", "ls"], "give no -- CMD with it"),
        (["--static", "ls", "--frequency", "f.json"], "--frequency is for a recorded run"),
        (["--static", "ls", "--mode", "notify"], "--mode is for a recorded run"),
        (["--static", "ls", "--args", "ioctl"], "--args is for a recorded run"),
        (["--dlopen", "libz.so.1", "--", "true"], "--dlopen goes with --static PROGRAM"),
        (["--sysroot", "/", "--", "true"], "--sysroot goes with --static PROGRAM"),
        (["--static", "/nonexistent/prog"], "/nonexistent/prog: No such file or directory"),
        (["--static", "no-such-program-here"], "no-such-program-here: not found in PATH"),
        (["--static", "/etc/passwd"], "/etc/passwd: not a readable ELF file"),
        (["--static", "ls", "--arch", "aarch64"], "the file is for x86_64, not aarch64"),
        (["--static", "ls", "--arch", "pdp11"], "pdp11"),
        (["--static", "ls", "--dlopen", "libnothing.so.3"], "libnothing.so.3 (needed by --dlopen)"),
        (["--static", "ls", "--allow", "nosuchcall"], "--allow nosuchcall"),
    ],
)
def test_errors(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    if "--static" in argv:
        argv = [*argv, "-o", str(tmp_path / "out.yaml"), "--cache-dir", str(cache_dir)]
    code = main(["profile", *argv])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("seccomp-bpf: error: ") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.yaml").exists()


def test_without_capstone(tmp_path: Path) -> None:
    """The optional libraries missing: one line saying what to install."""
    script = (
        "import sys; sys.modules['capstone'] = None\n"
        "from seccomp_bpf.cli import main\n"
        f"sys.exit(main(['profile', '--static', 'ls', '-o', {str(tmp_path / 'o')!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert done.returncode == 1
    assert done.stderr == (
        "seccomp-bpf: error: the static profiler needs capstone, which is not installed: "
        "pip install 'seccomp-bpf[static]'\n"
    )


def test_the_run_paths_do_not_import_it() -> None:
    """Confining and recording never load the static profiler or its libraries."""
    script = (
        "import sys\n"
        "import seccomp_bpf, seccomp_bpf.cli, seccomp_bpf.run, seccomp_bpf.profiling\n"
        "import seccomp_bpf.profiling.command, seccomp_bpf.kernel\n"
        "from seccomp_bpf.cli import _build_parser\n"
        "_build_parser().parse_args(['run', '--', 'true'])\n"
        "bad = [m for m in sys.modules if m.startswith(('capstone', 'elftools',"
        " 'seccomp_bpf.profiling.static'))]\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    assert done.stdout == "[]\n", done.stderr
