"""Tests for seccomp_bpf.arch.constant_tables: the generated data against the headers it came from.

Each installed set of UAPI headers is read again with cpp, family by family, and every value
:func:`resolve_constant` gives must be the header's. The host's headers (for the asm-generic
baseline and x86) are there on most Linux machines; the other architectures need Debian's
``linux-libc-dev-<arch>-cross`` packages and are skipped without them.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from seccomp_bpf.arch import Arch, get_arch
from seccomp_bpf.arch.constant_tables import CHECKED, GENERIC, OVERRIDES, SAME_AS
from seccomp_bpf.arch.constants import constant_family, constant_names, resolve_constant
from tests.arch import kernel_header_reader as headers


def _linux_version(profile: headers.Profile) -> tuple[int, int] | None:
    for directory in profile.include:
        path = directory / "linux" / "version.h"
        if path.is_file():
            match = re.search(
                r"#define LINUX_VERSION_MAJOR (\d+)\s+#define LINUX_VERSION_PATCHLEVEL (\d+)",
                path.read_text(),
            )
            if match:
                return int(match[1]), int(match[2])
    return None


def _check(profile: headers.Profile, arch: Arch | None) -> None:
    # The tables come from 6.1 headers; newer headers may add names, never change a value.
    complete = _linux_version(profile) == (6, 1)
    ours = constant_names(arch)
    checked = 0
    for family in headers.FAMILIES:
        values = headers.family_values(profile, family)
        header = {name: value for name, value in values.items() if value is not None}
        mine = {name for name in ours if constant_family(name, arch) == family.name}
        for name in sorted(mine | set(header)):
            value = resolve_constant(name, arch)
            if name in header:
                if value is None and not complete:
                    continue
                assert value == header[name], (family.name, name)
                checked += 1
            elif complete or name in values:
                assert value is None, (family.name, name)
    assert checked > 600


def test_generic_values_match_asm_generic_headers() -> None:
    if not headers.PROFILES["x86_64"].available():
        pytest.skip("needs cpp and the Linux UAPI headers")
    with tempfile.TemporaryDirectory() as tmp:
        _check(headers.generic_profile(Path(tmp)), None)


@pytest.mark.parametrize("name", sorted(headers.PROFILES))
def test_arch_values_match_their_headers(name: str) -> None:
    profile = headers.PROFILES[name]
    if not profile.available():
        pytest.skip(f"headers for {name} are not installed")
    _check(profile, get_arch(name))


def test_tables_are_well_formed() -> None:
    assert set(CHECKED) == set(headers.PROFILES)
    for name in CHECKED:
        get_arch(name)
    for name, other in SAME_AS.items():
        assert name in CHECKED and other in OVERRIDES
    for name, families in OVERRIDES.items():
        assert name in CHECKED
        assert set(families) <= set(GENERIC)
    assert {family.name for family in headers.FAMILIES} == set(GENERIC)
