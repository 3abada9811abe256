"""Named policies (``policies/registry.py``): registered in the process, and shipped by an
installed package through the ``seccomp_bpf.policies`` entry points.

The entry points are real: a test builds two small packages, installs them into a fresh
virtual environment (offline, without build isolation) with this project, and runs
``seccomp-bpf run -p NAME`` there.
"""

from __future__ import annotations

import errno
import os
import site
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import seccomp_bpf
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policies import named_policies, policy_by_name
from seccomp_bpf.policies.registry import find_policy, load_named_or_file
from seccomp_bpf.policy import ALLOW, ERRNO, Policy, Rule
from tests.kernel.forked import Send, run_forked

REPO = Path(__file__).resolve().parents[2]

# Allows everything but uname, which fails with EACCES: what runs under it shows it applied.
NO_UNAME = Policy(ALLOW, (Rule(("uname",), ERRNO("EACCES")),), arches=("native+compat",))
NO_UNAME_YAML = (
    "default_action: allow\n"
    "arches: [native+compat]\n"
    "syscalls:\n"
    "  - names: [uname]\n"
    "    action: errno(EACCES)\n"
)


@pytest.fixture
def registered() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        seccomp_bpf.unregister_policy(name)


def test_a_registered_policy_is_found_by_name(registered: list[str], tmp_path: Path) -> None:
    seccomp_bpf.register_policy("no-uname", NO_UNAME)
    registered.append("no-uname")
    assert policy_by_name("no-uname") is NO_UNAME
    path = tmp_path / "p.yaml"
    path.write_text(NO_UNAME_YAML)
    seccomp_bpf.register_policy("from-file", path)
    registered.append("from-file")
    assert policy_by_name("from-file").rules == NO_UNAME.rules
    assert policy_by_name("from-file", ["aarch64"]).arches == ("aarch64",)
    listed = {(e.name, e.origin, e.where) for e in named_policies()}
    assert ("from-file", "registered", str(path)) in listed
    assert ("default", "built-in", "seccomp_bpf/policies/default.yaml") in listed


def test_names_are_checked_and_not_replaced_by_accident(
    registered: list[str], tmp_path: Path
) -> None:
    with pytest.raises(PolicyError, match="is no policy name"):
        seccomp_bpf.register_policy("../etc", NO_UNAME)
    with pytest.raises(PolicyError, match="'default' is built in"):
        seccomp_bpf.register_policy("default", NO_UNAME)
    seccomp_bpf.register_policy("mine", NO_UNAME)
    registered.append("mine")
    with pytest.raises(PolicyError, match="registered already"):
        seccomp_bpf.register_policy("mine", NO_UNAME)
    # a mistake in a file shows when it is registered, with its line
    bad = tmp_path / "bad.yaml"
    bad.write_text("default_action: allow\nsyscalls:\n  - names: [reed]\n    action: allow\n")
    with pytest.raises(PolicyError, match=r"bad.yaml:3:.*reed"):
        seccomp_bpf.register_policy("bad", bad)
    with pytest.raises(PolicyError, match=r"no policy named 'nothing'.*known: default, mine"):
        policy_by_name("nothing")
    with pytest.raises(PolicyError, match="nothing: no such file, and no policy of that name"):
        load_named_or_file("nothing")


def test_an_application_replaces_the_default_for_itself(registered: list[str]) -> None:
    builtin = policy_by_name("default")
    seccomp_bpf.register_policy("default", NO_UNAME, replace=True)
    registered.append("default")
    assert policy_by_name("default") is NO_UNAME
    entry = find_policy("default")
    assert entry is not None and entry.origin == "registered"
    assert seccomp_bpf.default_policy() == builtin  # the built-in one is still itself


def test_a_name_hides_no_file_but_a_registered_one(
    registered: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "web").write_text("default_action: errno(EPERM)\nsyscalls: []\n")
    assert load_named_or_file("web").default_action == ERRNO("EPERM")
    seccomp_bpf.register_policy("web", NO_UNAME)
    registered.append("web")
    assert load_named_or_file("web") is NO_UNAME
    assert load_named_or_file("./web").default_action == ERRNO("EPERM")
    # a relative path is the file it names when registered, wherever the process goes then
    (tmp_path / "rel.yaml").write_text(NO_UNAME_YAML)
    seccomp_bpf.register_policy("rel", "rel.yaml")
    registered.append("rel")
    monkeypatch.chdir("/")
    assert policy_by_name("rel").rules == NO_UNAME.rules


@pytest.mark.kernel
def test_install_takes_a_name(registered: list[str]) -> None:
    seccomp_bpf.register_policy("no-uname", NO_UNAME)
    registered.append("no-uname")

    def child(send: Send) -> None:
        seccomp_bpf.install("no-uname")
        try:
            os.uname()
        except OSError as error:
            send(error.errno)
        else:
            send(0)

    report = run_forked(child)
    assert report.records == [errno.EACCES], report.describe()


# --- entry points of installed packages ---------------------------------------------------------


def _package(root: Path, name: str, module: str, points: dict[str, str], code: str) -> Path:
    project = root / name
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(textwrap.dedent(code))
    (project / module / "no-uname.yaml").write_text(NO_UNAME_YAML)
    listed = "\n".join(f'"{key}" = "{value}"' for key, value in points.items())
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{name}"
            version = "1.0"

            [project.entry-points."seccomp_bpf.policies"]
            """
        )
        + listed
        + f'\n\n[tool.hatch.build.targets.wheel]\npackages = ["{module}"]\n'
    )
    return project


def _run(*args: str | Path, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
        env={**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with this project installed (its dependencies and
    hatchling seen from this environment's site-packages) and two packages that ship
    policies: ``acme-policies`` and ``other-policies``."""
    root = tmp_path_factory.mktemp("registry")
    env = root / "venv"
    made = _run(sys.executable, "-m", "venv", env, cwd=root)
    assert made.returncode == 0, made.stderr
    python = env / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=root)
    ours = [path for path in site.getsitepackages() if Path(path).is_dir()]
    (Path(purelib.stdout.strip()) / "outer-environment.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in ours)
    )
    pip: list[str | Path] = [
        python,
        "-m",
        "pip",
        "install",
        "--no-index",
        "--no-build-isolation",
        "--quiet",
    ]
    installed = _run(*pip, "--no-deps", REPO, cwd=root)
    assert installed.returncode == 0, installed.stderr
    acme = _package(
        root,
        "acme-policies",
        "acme_policies",
        {
            "acme-web": "acme_policies:WEB",
            "acme-object": "acme_policies:policy",
            "acme-dup": "acme_policies:WEB",
            "default": "acme_policies:WEB",
            "acme-broken": "acme_policies:broken",
        },
        """\
        from importlib.resources import files

        from seccomp_bpf import ALLOW, ERRNO, Policy, Rule

        WEB = files(__name__) / "no-uname.yaml"


        def policy():
            return Policy(ALLOW, (Rule(("uname",), ERRNO("EXDEV")),), arches=("native",))


        def broken():
            raise RuntimeError("the package's own bug")
        """,
    )
    other = _package(
        root, "other-policies", "other_policies", {"acme-dup": "other_policies:WEB"},
        "from importlib.resources import files\nWEB = files(__name__) / 'no-uname.yaml'\n",
    )  # fmt: skip
    for project in (acme, other):
        done = _run(*pip, project, cwd=root)
        assert done.returncode == 0, done.stderr
    assert (env / "bin" / "seccomp-bpf").exists()
    return env


UNAME = "import os\ntry:\n    os.uname()\nexcept OSError as e:\n    print(e.errno)\n"


@pytest.mark.kernel
@pytest.mark.slow
def test_an_installed_package_s_policy_runs_by_name(venv: Path, tmp_path: Path) -> None:
    command = venv / "bin" / "seccomp-bpf"
    assert _run(command, "run", "-p", "acme-web", "--", "true", cwd=tmp_path).returncode == 0
    ran = _run(command, "run", "-p", "acme-web", "--", sys.executable, "-c", UNAME, cwd=tmp_path)
    assert (ran.returncode, ran.stdout) == (0, f"{errno.EACCES}\n"), ran.stderr
    ran = _run(command, "run", "-p", "acme-object", "--", sys.executable, "-c", UNAME,
               cwd=tmp_path)  # fmt: skip
    assert (ran.returncode, ran.stdout) == (0, f"{errno.EXDEV}\n"), ran.stderr
    compiled = _run(command, "compile", "acme-web", "-o", tmp_path / "p.bpf", cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    # install(NAME) in the package's environment
    code = f"import seccomp_bpf\nseccomp_bpf.install('acme-web')\n{UNAME}"
    ran = _run(venv / "bin" / "python", "-c", code, cwd=tmp_path)
    assert (ran.returncode, ran.stdout) == (0, f"{errno.EACCES}\n"), ran.stderr


@pytest.mark.slow
def test_policy_list_says_where_each_comes_from(venv: Path, tmp_path: Path) -> None:
    listed = _run(venv / "bin" / "seccomp-bpf", "policy", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split(None, 1) for line in listed.stdout.splitlines()]
    names = [name for name, _ in rows]
    assert names == ["default", "acme-broken", "acme-dup", "acme-dup", "acme-object",
                     "acme-web", "default"]  # fmt: skip
    assert rows[0][1].split() == ["built-in", "seccomp_bpf/policies/default.yaml"]
    assert rows[5][1].split() == [
        "entry", "point", "of", "acme-policies", "1.0", "acme_policies:WEB",
        "(seccomp_bpf.policies)",
    ]  # fmt: skip
    assert rows[6][1].endswith(": shadowed by the built-in policy of that name")
    for _, row in rows[2:4]:
        assert row.endswith(": ambiguous: acme-policies 1.0 and other-policies 1.0 both ship it")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("acme-dup", "policy 'acme-dup': ambiguous: acme-policies 1.0 and other-policies 1.0"),
        ("acme-broken", "the entry point acme-broken = acme_policies:broken of acme-policies "
                        "1.0: cannot be loaded: RuntimeError: the package's own bug"),
    ],
)  # fmt: skip
def test_what_cannot_be_used_is_refused_by_name(
    venv: Path, tmp_path: Path, name: str, message: str
) -> None:
    ran = _run(venv / "bin" / "seccomp-bpf", "compile", name, "-o", "/dev/null", cwd=tmp_path)
    assert ran.returncode == 1 and message in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.slow
def test_an_entry_point_does_not_replace_the_default(venv: Path, tmp_path: Path) -> None:
    shown = _run(venv / "bin" / "seccomp-bpf", "policy", "show", "default", cwd=tmp_path)
    assert shown.stdout == seccomp_bpf.policies.builtin_policy_text("default")
    # a package's policy shows as YAML that reads back as it
    shown = _run(venv / "bin" / "seccomp-bpf", "policy", "show", "acme-object", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "names: [uname]" in shown.stdout and "errno(EXDEV)" in shown.stdout
