"""How every command reads its POLICY or FILE argument: built-in names, minified OCI/Docker
JSON, standard input, architecture overrides, and files that are neither."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

import seccomp_bpf
from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats import read_policy_file

# A Docker profile as a program writes it: one line, no space after the separators.
MINIFIED = json.dumps(
    {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {
                "names": ["socket"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}],
            },
        ],
    },
    separators=(",", ":"),
)

YAML = """\
default_action: errno(EPERM)
bad_arch_action: kill_thread  # what runc gives an OCI profile
arches: [x86_64]
syscalls:
  - names: [read, write, exit_group]
    action: allow
  - names: [socket]
    action: allow
    when: {arg: 0, op: eq, value: 1}
"""


@pytest.fixture
def minified(tmp_path: Path) -> Path:
    path = tmp_path / "docker.json"
    path.write_text(MINIFIED)
    assert "\n" not in path.read_text()
    return path


def test_minified_docker_json_is_a_policy_for_every_command(
    minified: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = str(minified)
    assert main(["audit", name]) == 0
    assert f"{name}: 1 finding: 1 low (policy; x86_64)" in capsys.readouterr().out
    assert main(["explain", name, "--format", "summary"]) == 0
    assert f"{name}: a policy, as read" in capsys.readouterr().out
    assert main(["emu", name, "--arch", "x86_64", "socket", "1"]) == 0
    assert "decided by rule 2" in capsys.readouterr().out
    yaml = tmp_path / "same.yaml"
    yaml.write_text(YAML)
    assert main(["diff", name, str(yaml)]) == 0
    assert capsys.readouterr().out == "equivalent\n"
    assert main(["check", name]) == 0
    out = tmp_path / "out.bpf"
    assert main(["compile", name, "-o", str(out)]) == 0
    assert Program.from_bytes(out.read_bytes()) == compile_policy(read_policy_file(minified))


def test_minified_json_on_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(MINIFIED.encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["emu", "-", "--arch", "x86_64", "socket", "2"]) == 0
    assert capsys.readouterr().out.startswith("ERRNO(1)\ndecided by default action")


def test_a_program_on_standard_input_is_read_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    program = compile_policy(read_policy_file_text(YAML))
    stdin = io.TextIOWrapper(io.BytesIO(program.to_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["emu", "-", "--arch", "x86_64", "read"]) == 0
    assert capsys.readouterr().out.startswith("ALLOW\n")


def read_policy_file_text(text: str) -> seccomp_bpf.Policy:
    from seccomp_bpf.formats import load_policy_text

    return load_policy_text(text, source="p.yaml")


# --- built-in policies --------------------------------------------------------------------------


def test_default_names_the_built_in_policy_everywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no file called default here
    out = tmp_path / "default.bpf"
    assert main(["compile", "default", "-o", str(out)]) == 0
    assert Program.from_bytes(out.read_bytes()) == compile_policy(seccomp_bpf.default_policy())
    assert main(["check", "default"]) == 0
    assert capsys.readouterr().out.startswith("default: valid;")
    assert main(["emu", "default", "--arch", "x86_64", "mount"]) == 0
    assert "ERRNO(1)" in capsys.readouterr().out
    assert main(["audit", "default"]) == 0
    assert main(["explain", "default", "--format", "summary"]) == 0
    assert main(["convert", "default", "--to", "yaml", "-o", str(tmp_path / "d.yaml")]) == 0
    assert main(["diff", "default", str(tmp_path / "d.yaml")]) == 0
    # a file called default is ./default
    (tmp_path / "default").write_text(YAML)
    assert main(["check", "./default"]) == 0
    assert "./default: valid; 2 rules; x86_64" in capsys.readouterr().out


def test_default_policy_takes_one_architecture_as_a_string() -> None:
    policy = seccomp_bpf.default_policy("aarch64")
    assert [arch.name for arch in policy.resolved_arches()] == ["aarch64"]
    both = seccomp_bpf.default_policy("aarch64+compat")
    assert [arch.name for arch in both.resolved_arches()] == ["aarch64", "arm"]
    assert policy == seccomp_bpf.default_policy(["aarch64"])


# --- architectures given on the command line ----------------------------------------------------


def test_compile_takes_the_compat_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(YAML.split("  - names: [socket]", maxsplit=1)[0])
    out = tmp_path / "out.bpf"
    assert main(["compile", str(policy), "--arch", "x86_64+compat", "-o", str(out), "--stats"]) == 0
    err = capsys.readouterr().err
    assert "x86_64:" in err and "i386:" in err and "x32:" in err
    program = Program.from_bytes(out.read_bytes())
    i386 = get_arch("i386")
    assert emulate(program, SeccompData(i386.syscalls["read"], i386.audit_arch)).action.name == (
        "ALLOW"
    )
    # and the library takes it too
    assert compile_policy(read_policy_file(policy), ["x86_64+compat"]) == program


@pytest.mark.parametrize("policy", [None, "default", "p.yaml"])
def test_an_unknown_architecture_is_the_argument_not_the_policy(
    policy: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(YAML)
    chosen = ["-p", policy] if policy else []
    assert main(["run", *chosen, "--arch", "x86_65", "--", "true"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "seccomp-bpf: error: architectures to use instead of the policy's: "
        "unknown architecture 'x86_65'; did you mean x86_64"
    )
    assert "default.yaml" not in err and "p.yaml" not in err
    assert main(["compile", "default", "--arch", "x86_65"]) == 1
    assert "default.yaml" not in capsys.readouterr().err


# --- files that are no policy -------------------------------------------------------------------


def test_a_binary_frequency_file_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(YAML)
    binary = tmp_path / "freq.bin"
    binary.write_bytes(b'{"x86_64":\n {"read": \xd0\xff}}')
    output = str(tmp_path / "o")
    assert main(["compile", str(policy), "--frequency", str(binary), "-o", output]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"seccomp-bpf: error: {binary}:2:11: not a frequency profile: the file is not UTF-8 "
        "text (JSON, as `seccomp-bpf profile --frequency` writes it)\n"
    )
    # an executable, as the first user tried
    assert main(["compile", str(policy), "--frequency", sys.executable, "-o", "/dev/null"]) == 1
    assert "not a frequency profile" in capsys.readouterr().err
