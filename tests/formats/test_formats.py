"""Telling the formats apart: OCI/Docker JSON or YAML (which also reads JSON)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.formats import (
    load_policy_text,
    looks_like_oci,
    looks_like_policy,
    read_policy_file,
)
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_THREAD, LOG


def test_detection() -> None:
    assert looks_like_oci('{"defaultAction": "SCMP_ACT_ALLOW"}')
    assert looks_like_oci('\n  {\n "syscalls": [], "defaultAction" : "SCMP_ACT_ALLOW"}')
    assert not looks_like_oci("default_action: allow\n")
    assert not looks_like_oci('{"default_action": "allow"}')  # the YAML format written as JSON
    assert not looks_like_oci('# {"defaultAction": 1}\ndefault_action: allow\n')


def test_a_policy_or_a_program() -> None:
    # minified profiles (every key on the first line), indented ones, YAML, go-seccomp-bpf
    assert looks_like_policy(b'{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}')
    assert looks_like_policy(b'\xef\xbb\xbf \n{"syscalls":[],"defaultAction":"SCMP_ACT_LOG"}')
    assert looks_like_policy(b'{\n  "defaultAction": "SCMP_ACT_ALLOW"\n}\n')
    assert looks_like_policy(b"# a policy\ndefault_action: allow\n")
    assert looks_like_policy(b"{default_action: allow}")  # a YAML flow mapping
    assert looks_like_policy(b"seccomp:\n  default_action: allow\n")
    # assembly text and raw records are programs
    assert not looks_like_policy(b"A = arch\nif (A != ARCH_X86_64) goto dead\nreturn ALLOW\n")
    assert not looks_like_policy(b" line  CODE  JT   JF      K\n 0000: 0x20 0x00 0x00 0x00000004\n")
    assert not looks_like_policy(b"\x06\x00\x00\x00\x00\x00\xff\x7f")
    assert not looks_like_policy(b"{\x00\x00\x00\x00\x00\xff\x7f")  # raw, though it opens with {


def test_load_policy_text_uses_the_right_reader() -> None:
    oci = load_policy_text('{"defaultAction": "SCMP_ACT_KILL"}', source="a.json")
    assert oci.default_action == KILL_THREAD and oci.multiplexer_conditions == "drop"
    as_json = load_policy_text('{"default_action": "errno", "arches": ["x86_64"]}', source="b.json")
    assert as_json.default_action == ERRNO(1) and as_json.multiplexer_conditions == "error"


def test_read_policy_file(tmp_path: Path) -> None:
    yaml_file = tmp_path / "p.yml"
    yaml_file.write_text(
        "default_action: allow\narches: [x86_64]\nsyscalls:\n  - {names: [read], action: log}\n"
    )
    policy = read_policy_file(yaml_file)
    assert policy.evaluate("x86_64", 0) == LOG
    assert policy.evaluate("x86_64", 1) == ALLOW
    bad = tmp_path / "bad.json"
    bad.write_text('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": [}\n')
    with pytest.raises(PolicyError, match=r"bad.json:2:15: JSON syntax error"):
        read_policy_file(bad)
    with pytest.raises(FileNotFoundError):
        read_policy_file(tmp_path / "missing.yaml")
