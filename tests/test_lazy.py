"""``seccomp_bpf.lazy``: the package's public names are imported when first read, every one of
``__all__`` resolves, and type checkers know each (from the ``TYPE_CHECKING`` imports)."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from types import ModuleType

import pytest

import seccomp_bpf
import seccomp_bpf.arch
import seccomp_bpf.bpf
import seccomp_bpf.formats
import seccomp_bpf.kernel
import seccomp_bpf.policies
import seccomp_bpf.policy
import seccomp_bpf.run

LAZY_PACKAGES = (
    seccomp_bpf,
    seccomp_bpf.arch,
    seccomp_bpf.bpf,
    seccomp_bpf.formats,
    seccomp_bpf.kernel,
    seccomp_bpf.policies,
    seccomp_bpf.policy,
    seccomp_bpf.run,
)


def _type_checking_names(package: ModuleType) -> set[str]:
    """The names the package imports under ``if TYPE_CHECKING:``."""
    tree = ast.parse(inspect.getsource(package))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                names.update(alias.name for alias in statement.names)
    return names


def _defined_names(package: ModuleType) -> set[str]:
    """What the package defines itself (functions, and ``__version__``)."""
    tree = ast.parse(inspect.getsource(package))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    if hasattr(package, "__version__"):
        names.add("__version__")
    return names


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_resolves(package: ModuleType) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda p: p.__name__)
def test_type_checkers_know_every_lazy_name(package: ModuleType) -> None:
    lazy = set(package.__all__) - _defined_names(package)
    assert lazy <= _type_checking_names(package)


def test_a_name_is_the_object_of_its_module() -> None:
    from seccomp_bpf.policy.policy import Policy

    assert seccomp_bpf.Policy is Policy
    assert seccomp_bpf.formats.load_yaml_policy is importlib.import_module(
        "seccomp_bpf.formats.yaml_policy"
    ).load_yaml_policy


@pytest.mark.parametrize("package", LAZY_PACKAGES, ids=lambda p: p.__name__)
def test_an_unknown_name_is_an_attribute_error(package: ModuleType) -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018
    assert not hasattr(package, "no_such_name")


def test_importing_the_package_imports_none_of_the_library() -> None:
    script = (
        "import sys\n"
        "import seccomp_bpf\n"
        "print(sorted(m for m in sys.modules if m.startswith('seccomp_bpf')))\n"
        "from seccomp_bpf import Policy\n"
        "print('seccomp_bpf.policy.policy' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    first, second = done.stdout.splitlines()
    assert first == "['seccomp_bpf', 'seccomp_bpf.__about__', 'seccomp_bpf.lazy']"
    assert second == "True"


def test_importing_the_package_loads_nothing_heavy() -> None:
    """What ``import seccomp_bpf`` adds to the interpreter's own start-up: the package's three
    small modules, and none of the costly modules of the standard library (``typing`` alone
    costs more than the interpreter's start-up does)."""
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import seccomp_bpf\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    added = set(done.stdout.split())
    assert added - {"__future__"} == {"seccomp_bpf", "seccomp_bpf.__about__", "seccomp_bpf.lazy"}


def test_starting_a_sandbox_imports_no_emulator() -> None:
    """The modules that start a sandbox (``run.launch``, ``run.plan``, ``run.command``, the
    kernel bindings) leave the emulator, which only the checks made before it and a
    SIGSYS's explanation use, and ``difflib`` unread; ``seccomp_bpf.run``'s names read
    ``run.confine`` on first use."""
    script = (
        "import sys\n"
        "import seccomp_bpf.run, seccomp_bpf.run.launch, seccomp_bpf.run.plan\n"
        "import seccomp_bpf.run.command, seccomp_bpf.kernel\n"
        "print(' '.join(sorted(sys.modules)))\n"
        "seccomp_bpf.run.install\n"
        "print('seccomp_bpf.run.confine' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    first, second = done.stdout.splitlines()
    loaded = set(first.split())
    assert not loaded & {"seccomp_bpf.bpf.emulator", "difflib", "argparse"}
    assert second == "True"
