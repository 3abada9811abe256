"""``seccomp-bpf --version`` and ``--help`` import none of the library: the command modules
import what a command uses when it runs (the ground for a fast start)."""

from __future__ import annotations

import subprocess
import sys
from typing import Final

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


# What the run and install paths must not load: the policy model and its reader, the
# compiler, and the analyses (the default policy comes precompiled; a program is installed
# as it is).
NOT_ON_THE_RUN_PATH = (
    "yaml",
    "seccomp_bpf.formats",
    "seccomp_bpf.compiler",
    "seccomp_bpf.policy.policy",
    "seccomp_bpf.policy.conditions",
    "seccomp_bpf.policies.default",
    "seccomp_bpf.profiling",
    "seccomp_bpf.explain",
    "seccomp_bpf.libseccomp",
    "seccomp_bpf.bpf.builder",
    "seccomp_bpf.bpf.optimizer",
    "seccomp_bpf.cli.explain",
    "seccomp_bpf.cli.profile",
    "seccomp_bpf.cli.policies",
)


def _loaded_after(script: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", script + "\nprint(' '.join(sorted(sys.modules)), file=sys.stderr)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


def _heavy(loaded: set[str]) -> list[str]:
    return sorted(
        module
        for module in loaded
        if any(module == name or module.startswith(name + ".") for name in NOT_ON_THE_RUN_PATH)
    )


@pytest.mark.kernel
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--", "true"],
        ["run", "--no-namespaces", "--no-landlock", "--", "true"],
    ],
)
def test_run_under_the_default_policy_loads_no_model_nor_compiler(argv: list[str]) -> None:
    loaded = _loaded_after(
        f"import sys\nfrom seccomp_bpf.cli import main\nassert main({argv!r}) == 0"
    )
    assert "seccomp_bpf.policies.precompiled" in loaded
    assert not _heavy(loaded)


# What a confined command's start-up would pay for and does without (docs/design.md §5.2):
# making dataclasses (and importing dataclasses, which imports inspect), typing, OpenSSL's
# hashlib, the ABI tables, the emulator, shutil (argparse's terminal width), threading.
NOT_ON_THE_START_PATH: Final = (
    "dataclasses",
    "inspect",
    "typing",
    "hashlib",
    "_hashlib",
    "shutil",
    "threading",
    "json",
    "importlib.util",
    "seccomp_bpf.arch.registry",
    "seccomp_bpf.arch.architecture",
    "seccomp_bpf.bpf.emulator",
    "seccomp_bpf.bpf.walker",
)


@pytest.mark.kernel
def test_run_under_the_default_policy_imports_only_what_starting_needs() -> None:
    loaded = _loaded_after(
        "import sys\nfrom seccomp_bpf.cli import main\nassert main(['run', '--', 'true']) == 0"
    )
    assert sorted(loaded & set(NOT_ON_THE_START_PATH)) == []


@pytest.mark.kernel
def test_run_without_the_cache_reads_and_compiles() -> None:
    """The control of the tests above: --no-cache reads the YAML and compiles."""
    loaded = _loaded_after(
        "import sys\nfrom seccomp_bpf.cli import main\n"
        "assert main(['run', '--no-cache', '--', 'true']) == 0"
    )
    assert {"yaml", "seccomp_bpf.compiler", "seccomp_bpf.policy.policy"} <= set(_heavy(loaded))


@pytest.mark.kernel
def test_run_of_a_program_fd_loads_no_model_nor_compiler() -> None:
    """A compiled program on a file descriptor (``run --program-fd``)."""
    script = (
        "import os, sys\n"
        "from seccomp_bpf.policies.precompiled import precompiled_default\n"
        "from seccomp_bpf.arch import native_arch\n"
        "shipped = precompiled_default(native_arch().name)\n"
        "fd = os.memfd_create('program')\n"
        "os.write(fd, shipped.program.to_bytes())\n"
        "from seccomp_bpf.cli import main\n"
        "assert main(['run', '--program-fd', str(fd), '--', 'true']) == 0\n"
    )
    assert not _heavy(_loaded_after(script))


@pytest.mark.kernel
def test_install_of_a_program_loads_no_model_nor_compiler() -> None:
    """The script's own process is confined (it is not the test's): the default policy
    lets it print what it loaded."""
    script = (
        "import sys\n"
        "from seccomp_bpf.policies.precompiled import precompiled_default\n"
        "from seccomp_bpf.arch import native_arch\n"
        "from seccomp_bpf import install\n"
        "install(precompiled_default(native_arch().name).program)\n"
    )
    assert not _heavy(_loaded_after(script))
