"""``export_policy``: one function for every output format, chosen by name or file name."""

from __future__ import annotations

import json

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import ByteOrder, Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.errors import ConversionError, InvalidProgramError
from seccomp_bpf.formats.export import (
    EXPORT_FORMATS,
    export_policy,
    format_for_path,
    program_byteorder,
)
from seccomp_bpf.formats.kubernetes import load_kubernetes_policy
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.policy import ALLOW, ERRNO, KILL_THREAD, Cmp, Policy, Rule
from tests.reference import evaluator as reference

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
        assert Program.from_bytes(output, "little") == compile_policy(POLICY)
    elif target in ("oci", "docker"):
        profile = json.loads(output)
        assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
        assert ("archMap" in profile) == (target == "docker")
    elif target == "c":
        assert b"static struct sock_filter filter[]" in output
    elif target == "kubernetes":
        again = load_kubernetes_policy(output.decode(), arch="x86_64")
        assert again.evaluate("x86_64", 0) == ALLOW and again.evaluate("x86_64", 2) == ERRNO(1)
    else:
        arches = ["x86_64"] if target == "go-seccomp-bpf" else None
        again = load_yaml_policy(output.decode(), arches=arches)
        assert again.evaluate("x86_64", 0) == ALLOW and again.evaluate("x86_64", 2) == ERRNO(1)


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown format 'pdf'"):
        export_policy(POLICY, "pdf")  # type: ignore[arg-type]


# A policy whose decisions depend on the byte order twice over: the records of the program,
# and which half of a 64-bit argument comes first in seccomp_data.
ENDIAN_RULES = (
    Rule(("read",), ALLOW),
    Rule(("write",), ALLOW, Cmp(0, "eq", 1)),
    Rule(("openat",), ERRNO(13), Cmp(2, "ge", 2**32 + 1)),
)


@pytest.mark.parametrize("arch_name", ["s390x", "ppc64", "mips64", "x86_64", "aarch64"])
def test_raw_programs_are_in_the_targets_byte_order(arch_name: str) -> None:
    """A raw program for s390x or ppc64 is big-endian (as the kernel there reads it and
    libseccomp exports it); read back in that order, the emulator decides as the reference
    evaluator does. Read in the other order, it is no program."""
    arch = get_arch(arch_name)
    policy = Policy(ERRNO(1), ENDIAN_RULES, arches=(arch_name,), bad_arch_action=KILL_THREAD)
    assert program_byteorder(policy) == arch.byteorder
    raw = export_policy(policy, "raw")
    program = Program.from_bytes(raw, arch.byteorder)
    assert program == compile_policy(policy)
    other: ByteOrder = "little" if arch.byteorder == "big" else "big"
    with pytest.raises(InvalidProgramError):
        Program.from_bytes(raw, other)
    values = (0, 1, 2, 2**32, 2**32 + 1, 2**32 + 2, 2**64 - 1)
    checked = 0
    for name in ("read", "write", "openat", "close"):
        nr = arch.syscalls[name]
        for value in values:
            args = (value, 0, value, 0, 0, 0)
            data = SeccompData(nr, arch.audit_arch, 0, args, byteorder=arch.byteorder)
            expected = reference.ret(policy, arch.audit_arch, nr, args)
            assert emulate(program, data).ret == expected, (name, value)
            checked += 1
    assert checked == 28


def test_one_raw_program_has_one_byte_order() -> None:
    mixed = Policy(ERRNO(1), ENDIAN_RULES, arches=("x86_64", "s390x"))
    with pytest.raises(ConversionError, match=r"little-endian: x86_64; big-endian: s390x"):
        export_policy(mixed, "raw")
    assert b"static struct sock_filter" in export_policy(mixed, "c")  # no byte order there
