"""The distributions: ``python -m build`` makes an sdist and a wheel that pass ``twine check
--strict``, with complete metadata, the package's data files, and a README that renders on
PyPI (whose pages resolve no link relative to the repository).

build, twine and hatchling come with the ``test`` extra; the build runs without isolation
(no download) from the checkout into a temporary directory.
"""

from __future__ import annotations

import email
import importlib.util
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from pathlib import Path

import pytest

import seccomp_bpf

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(importlib.util.find_spec(m) is None for m in ("build", "twine", "hatchling")),
        reason="needs build, twine and hatchling (pip install -e '.[test]')",
    ),
]


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir",
         str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name))


def test_twine_check_passes(distributions: tuple[Path, Path]) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, distributions)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_the_metadata_is_complete(distributions: tuple[Path, Path]) -> None:
    _, wheel = distributions
    metadata = wheel_metadata(wheel)
    assert metadata["Name"] == "seccomp-bpf"
    assert metadata["Version"] == seccomp_bpf.__version__
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    classifiers = metadata.get_all("Classifier") or []
    for wanted in (
        "Typing :: Typed",
        "Operating System :: POSIX :: Linux",
        "Topic :: Security",
        "Programming Language :: Python :: 3 :: Only",
    ):
        assert wanted in classifiers
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    assert set(metadata.get_all("Requires-Dist") or []) >= {"pyyaml>=6.0", "system-calls>=7.0"}
    # the long description is the README
    description = metadata.get_payload()
    assert isinstance(description, str)
    assert description.strip() == (REPO / "README.md").read_text().strip()


def test_the_wheel_holds_the_package_and_its_data(distributions: tuple[Path, Path]) -> None:
    _, wheel = distributions
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(
            archive.read(n).decode() for n in names if n.endswith("entry_points.txt")
        )
    source = {
        "seccomp_bpf/" + str(p.relative_to(REPO / "src" / "seccomp_bpf"))
        for p in (REPO / "src" / "seccomp_bpf").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert source <= names
    assert {"seccomp_bpf/py.typed", "seccomp_bpf/policies/default.yaml"} <= names
    assert "seccomp-bpf = seccomp_bpf.cli:entry_point" in entry_points
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


def test_the_sdist_holds_what_the_tests_and_docs_need(distributions: tuple[Path, Path]) -> None:
    sdist, _ = distributions
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for wanted in ("README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml", "docs/groups.md",
                   "docs/design.md", "src/seccomp_bpf/py.typed", "tests/conftest.py"):  # fmt: skip
        assert wanted in names, wanted
    assert not any("__pycache__" in n or n.startswith((".ci/venv", ".venv")) for n in names)


def test_the_installed_wheel_runs(distributions: tuple[Path, Path], tmp_path: Path) -> None:
    # installed on its own (its dependencies from this environment), run from elsewhere
    _, wheel = distributions
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    code = (
        "import seccomp_bpf, sys; assert seccomp_bpf.__file__.startswith(sys.argv[1]); "
        "print(len(seccomp_bpf.default_policy().rules))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert int(ran.stdout) > 5


def test_the_readme_renders_on_pypi_with_absolute_links() -> None:
    import warnings

    from readme_renderer.markdown import render

    text = (REPO / "README.md").read_text(encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no renderer installed is a failure, not a warning
        html = render(text)
    assert html is not None and "<table>" in html and "<pre" in html
    repository = PYPROJECT["project"]["urls"]["Repository"]
    links = re.findall(r'href="([^"]+)"', html)
    assert links, "the README links to its documentation"
    for link in links:
        # PyPI shows the README away from the repository: a relative link would break
        assert link.startswith(("https://", "#")), link
        if link.startswith(repository + "/blob/main/"):
            path = REPO / link.removeprefix(repository + "/blob/main/").split("#", 1)[0]
            assert path.exists(), f"{link}: no {path.relative_to(REPO)} in the repository"
