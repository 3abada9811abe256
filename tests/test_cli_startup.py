"""``seccomp-bpf --version`` and ``--help`` import none of the library: the command modules
import what a command uses when it runs (the ground for a fast start)."""

from __future__ import annotations

import subprocess
import sys

import pytest

# The command line itself, and the names of the output formats its options offer.
ALLOWED = {
    "seccomp_bpf",
    "seccomp_bpf.__about__",
    "seccomp_bpf.lazy",
    "seccomp_bpf.errors",
    "seccomp_bpf.formats",
    "seccomp_bpf.formats.export",
    "seccomp_bpf.formats.program_output",
}


@pytest.mark.parametrize(
    "argv", [["--version"], ["--help"], ["run", "--help"], ["convert", "--help"]]
)
def test_version_and_help_import_no_library_module(argv: list[str]) -> None:
    script = (
        "import sys\n"
        "from seccomp_bpf.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    loaded = set(done.stderr.split())
    command_line = {m for m in loaded if m == "seccomp_bpf.cli" or m.startswith("seccomp_bpf.cli.")}
    library = {m for m in loaded if m.startswith("seccomp_bpf")} - command_line
    assert library <= ALLOWED, sorted(library - ALLOWED)
    assert not loaded & {"yaml", "system_calls", "ctypes", "capstone", "elftools"}
    assert done.stdout  # the version or the help was printed
