from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.compiler import load_frequency, parse_frequency
from seccomp_bpf.errors import PolicyError
from tests.datafiles import SYSCALL_MIX_X86_64

MIX = SYSCALL_MIX_X86_64


def test_shapes_are_normalised() -> None:
    native = native_arch().name
    assert parse_frequency({"arches": {"amd64": {"read": 3}}}) == {"x86_64": {"read": 3.0}}
    assert parse_frequency({"x86_64": {"read": 3}}) == {"x86_64": {"read": 3.0}}
    assert parse_frequency({"arch": "i386", "syscalls": {"read": 1}}) == {"i386": {"read": 1.0}}
    assert parse_frequency({"read": 2}) == {native: {"read": 2.0}}
    assert parse_frequency({"mix": {"read": 0.5}}) == {native: {"read": 0.5}}


@pytest.mark.parametrize(
    "data",
    [[1, 2], {"arches": {"nosucharch": {"read": 1}}}, {"read": -1}, {"read": "many"}],
)
def test_bad_profiles_are_refused(data: object) -> None:
    with pytest.raises(PolicyError):
        parse_frequency(data)


def test_json_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "freq.json"
    path.write_text('{\n  "read": 1,\n}\n')
    with pytest.raises(PolicyError) as error:
        load_frequency(path)
    assert error.value.line == 3
    assert str(path) in str(error.value)


def test_measured_mix_loads() -> None:
    profile = load_frequency(MIX)
    counts = json.loads(MIX.read_text())["mix"]
    assert profile[native_arch().name] == pytest.approx(counts)
