"""``export_policy``: one function for every output format, chosen by name or file name."""

from __future__ import annotations

import json

import pytest

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats.export import EXPORT_FORMATS, export_policy, format_for_path
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_THREAD, Policy, Rule

POLICY = Policy(
    ERRNO(1), (Rule(("read", "write"), ALLOW),), arches=("x86_64",), bad_arch_action=KILL_THREAD
)


def test_format_for_path() -> None:
    assert format_for_path("out.yaml") == format_for_path("OUT.YML") == "yaml"
    assert format_for_path("profile.json") == "oci"
    assert format_for_path("filter.bpf") == format_for_path("filter.raw") == "raw"
    assert format_for_path("filter.h") == "c"
    assert format_for_path("filter.txt") is None


@pytest.mark.parametrize("target", EXPORT_FORMATS)
def test_every_format(target: str) -> None:
    output = export_policy(POLICY, target)  # type: ignore[arg-type]
    if target == "raw":
        assert Program.from_bytes(output) == compile_policy(POLICY)
    elif target in ("oci", "docker"):
        profile = json.loads(output)
        assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
        assert ("archMap" in profile) == (target == "docker")
    elif target == "c":
        assert b"static struct sock_filter filter[]" in output
    else:
        arches = ["x86_64"] if target == "go-seccomp-bpf" else None
        again = load_yaml_policy(output.decode(), arches=arches)
        assert again.evaluate("x86_64", 0) == ALLOW and again.evaluate("x86_64", 2) == ERRNO(1)


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        export_policy(POLICY, "pdf")  # type: ignore[arg-type]
