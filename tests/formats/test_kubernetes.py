"""The Security Profiles Operator's ``SeccompProfile`` (``formats/kubernetes.py``): written
from a policy and read back as one, judged by ``diff`` (the condition engine) and the
emulator; the resource's schema (the operator's ``seccompprofile_types.go``) checked key by
key; mistakes reported at their line and column."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import ConversionError, PolicyError
from seccomp_bpf.explain import diff
from seccomp_bpf.formats import load_policy_text, looks_like_policy, read_policy_file
from seccomp_bpf.formats.kubernetes import (
    API_VERSION,
    load_kubernetes_policy,
    looks_like_kubernetes,
    to_kubernetes,
    to_kubernetes_yaml,
)
from seccomp_bpf.formats.oci import load_oci_policy
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_PROCESS, Equal, Policy, Rule
from tests.datafiles import DOCKER_DEFAULT

CLI = [sys.executable, "-m", "seccomp_bpf"]

# The keys of the operator's v1beta1 types (api/seccompprofile/v1beta1/seccompprofile_types.go)
SPEC_KEYS = {"defaultAction", "architectures", "listenerPath", "listenerMetadata", "syscalls",
             "flags", "baseProfileName", "state"}  # fmt: skip
SYSCALL_KEYS = {"names", "action", "errnoRet", "args"}
ARG_KEYS = {"index", "value", "valueTwo", "op"}


def _docker_default() -> Policy:
    return load_oci_policy(DOCKER_DEFAULT.read_text(), source="docker-default.json", arch="x86_64")


def test_dockers_default_profile_round_trips_equivalent() -> None:
    docker = _docker_default()
    text = to_kubernetes_yaml(docker)
    resource = yaml.safe_load(text)
    assert resource["apiVersion"] == API_VERSION == "security-profiles-operator.x-k8s.io/v1beta1"
    assert resource["kind"] == "SeccompProfile"
    assert resource["metadata"] == {"name": "docker-default"}
    spec = resource["spec"]
    assert set(spec) <= SPEC_KEYS and "defaultErrnoRet" not in spec
    for entry in spec["syscalls"]:
        assert set(entry) <= SYSCALL_KEYS, entry
        for arg in entry.get("args", []):
            assert set(arg) <= ARG_KEYS, arg
    back = load_kubernetes_policy(text, source="sp.yaml", arch="x86_64")
    result = diff(docker, back)
    assert result.exact and not result.cases, [c.describe() for c in result.cases[:3]]
    # and the compiled programs agree on every call of the three ABIs
    programs = compile_policy(docker), compile_policy(back)
    for abi in ("x86_64", "i386", "x32"):
        arch = get_arch(abi)
        for nr in arch.syscalls.values():
            data = SeccompData(nr, arch.audit_arch)
            assert emulate(programs[0], data).ret == emulate(programs[1], data).ret, (abi, nr)


def test_the_commands_convert_and_diff(tmp_path: Path) -> None:
    out = tmp_path / "docker-default.yaml"
    converted = subprocess.run(
        [*CLI, "convert", str(DOCKER_DEFAULT), "--arch", "x86_64", "--to", "kubernetes",
         "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert converted.returncode == 0, converted.stderr
    compared = subprocess.run(
        [*CLI, "diff", "--arch", "x86_64", str(DOCKER_DEFAULT), str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (compared.returncode, compared.stdout.splitlines()[0]) == (0, "equivalent"), (
        compared.stdout + compared.stderr
    )
    assert looks_like_policy(out.read_bytes())
    compiled = subprocess.run(
        [*CLI, "compile", str(out), "-o", str(tmp_path / "p.bpf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr


def test_the_rules_point_at_the_resources_lines() -> None:
    text = to_kubernetes_yaml(_docker_default())
    back = load_policy_text(text, source="sp.yaml", arches=["x86_64"])
    lines = text.splitlines()
    for rule in back.rules:
        assert rule.location is not None and rule.location.file == "sp.yaml"
        assert lines[rule.location.line - 1].lstrip().startswith("- names:"), rule.location


def test_what_the_resource_cannot_say_is_refused() -> None:
    rules = (Rule(("read", "write", "exit_group"), ALLOW),)
    with pytest.raises(ConversionError, match="no defaultErrnoRet"):
        to_kubernetes(Policy(ERRNO("EACCES"), rules, arches=("x86_64",)))
    with pytest.raises(ConversionError, match="not SCMP_ARCH_LOONGARCH64"):
        to_kubernetes(Policy(ERRNO("EPERM"), rules, arches=("loongarch64",)))
    with pytest.raises(ConversionError, match="newer_syscall_action"):
        to_kubernetes(
            Policy(ERRNO("EPERM"), rules, arches=("x86_64",), newer_syscall_action=KILL_PROCESS)
        )


def test_unknown_and_newer_numbers_are_written_as_the_default_with_a_note() -> None:
    """What a generated profile says of numbers a profile cannot name (ENOSYS) becomes the
    default, EPERM: denied as well, said in a note; every named call decides alike."""
    policy = Policy(
        ERRNO("EPERM"),
        (Rule(("read", "write", "exit_group"), ALLOW), Rule(("clone3",), ERRNO("ENOSYS"))),
        arches=("x86_64",),
        unknown_syscall_action=ERRNO("ENOSYS"),
        newer_syscall_action=ERRNO("ENOSYS"),
        name="My Service_v2",
        comment="recorded on one machine",
    )
    notes: list[str] = []
    resource = to_kubernetes(policy, notes=notes)
    assert resource["metadata"] == {
        "name": "my-service-v2",
        "annotations": {"description": "recorded on one machine"},
    }
    assert any("newer_syscall_action (errno(ENOSYS))" in note for note in notes)
    back = load_kubernetes_policy(yaml.safe_dump(resource), arch="x86_64")
    assert (back.name, back.comment) == ("my-service-v2", "recorded on one machine")
    x86_64 = get_arch("x86_64")
    for name, nr in x86_64.syscalls.items():
        if nr <= x86_64.syscalls["clone3"]:
            assert back.evaluate(x86_64, nr) == policy.evaluate(x86_64, nr), name
    assert back.evaluate(x86_64, 999) == ERRNO("EPERM")


def _resource(spec: str, version: str = API_VERSION) -> str:
    return (
        f"apiVersion: {version}\n"
        "kind: SeccompProfile\n"
        "metadata:\n"
        "  name: web\n"
        "  namespace: shop\n"
        "spec:\n" + spec
    )


SPEC = (
    "  defaultAction: SCMP_ACT_ERRNO\n"
    "  architectures: [SCMP_ARCH_X86_64]\n"
    "  syscalls:\n"
    "  - action: SCMP_ACT_ALLOW\n"
    "    names: [read, write, exit_group]\n"
    "  - action: SCMP_ACT_ALLOW\n"
    "    names: [personality]\n"
    "    args:\n"
    "    - {index: 0, value: 0, op: SCMP_CMP_EQ}\n"
    "  - action: SCMP_ACT_ERRNO\n"
    "    errnoRet: 38\n"
    "    names: [clone3]\n"
)


@pytest.mark.parametrize("version", ["v1beta1", "v1"])
def test_the_operators_resources_are_read(version: str) -> None:
    text = _resource(SPEC, f"security-profiles-operator.x-k8s.io/{version}")
    assert looks_like_kubernetes(text) and looks_like_policy(text.encode())
    policy = load_policy_text(text, source="web.yaml", arches=["x86_64"])
    x86_64 = get_arch("x86_64")
    assert policy.name == "web"
    assert policy.evaluate(x86_64, x86_64.syscalls["read"]) == ALLOW
    assert policy.evaluate(x86_64, x86_64.syscalls["clone3"]) == ERRNO("ENOSYS")
    assert policy.evaluate(x86_64, x86_64.syscalls["getpid"]) == ERRNO("EPERM")
    personality = x86_64.syscalls["personality"]
    assert policy.evaluate(x86_64, personality, (0,)) == ALLOW
    assert policy.evaluate(x86_64, personality, (8,)) == ERRNO("EPERM")
    assert any(r.when == Equal(0, 0) for r in policy.rules)


def test_kubectls_json_and_the_first_releases_string_errno_are_read() -> None:
    resource = yaml.safe_load(_resource(SPEC))
    resource["spec"]["syscalls"][2]["errnoRet"] = "38"
    resource["status"] = {"status": "Installed", "localhostProfile": "operator/shop/web.json"}
    x86_64 = get_arch("x86_64")
    for text in (json.dumps(resource, indent=4), json.dumps(resource, separators=(",", ":"))):
        policy = load_policy_text(text, source="web.json", arches=["x86_64"])
        assert policy.evaluate(x86_64, x86_64.syscalls["clone3"]) == ERRNO("ENOSYS")


def test_a_disabled_profile_is_read_with_a_note() -> None:
    policy = load_kubernetes_policy(_resource("  state: Disabled\n" + SPEC), arch="x86_64")
    assert any("disabled" in note for note in policy.notes)


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (_resource(SPEC, "security-profiles-operator.x-k8s.io/v9"), 1, 13, "apiVersion: "),
        (_resource("  defaultErrnoRet: 38\n" + SPEC), 7, 3, "spec.defaultErrnoRet: unknown key"),
        (_resource("  baseProfileName: runc-v1.2.0\n" + SPEC), 7, 20, "spec.baseProfileName"),
        (_resource(SPEC.replace("SCMP_CMP_EQ", "SCMP_CMP_IS")), 15, 32, "spec.syscalls[1]."),
        (_resource(SPEC.replace("[clone3]", "[clone3, reed]")), 18, 21, "reed"),
        (_resource(SPEC) + "---\n" + _resource(SPEC), 20, 1, "2 SeccompProfile resources"),
        (_resource("  syscalls: read\n  defaultAction: SCMP_ACT_ERRNO\n"), 7, 13,
         "spec.syscalls: must be a list"),
        (_resource("  state: Sleeping\n" + SPEC), 7, 10, "spec.state: Enabled or Disabled"),
        (_resource("  defaultAction: [SCMP_ACT_ERRNO]\n"), 7, 18,
         "spec.defaultAction: must be a string"),
        (_resource(SPEC + "  defaultAction: SCMP_ACT_ALLOW\n"), 19, 3,
         "given twice (first on line 7)"),
        (_resource(SPEC.replace("    errnoRet: 38\n", "    errnoRet: 38\n    errnoRet: 1\n")),
         18, 5, "'errnoRet' given twice"),
    ],
)
def test_mistakes_are_reported_at_their_line_and_column(
    text: str, line: int, column: int | None, message: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, source="web.yaml", arches=["x86_64"], strict=True)
    error = caught.value
    assert message in error.message, error
    assert (error.source, error.line) == ("web.yaml", line), error
    if column is not None:
        assert error.column == column, error


def test_check_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(_resource(SPEC))
    policy = read_policy_file(path, arches=["x86_64"])
    assert policy.source == str(path)
    checked = subprocess.run(
        [*CLI, "check", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{path}: valid;")
