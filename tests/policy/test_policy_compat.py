"""``NAME+compat`` in a policy's architectures (:func:`expand_arch_name`)."""

from __future__ import annotations

import pytest

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.errors import UnknownArchError
from seccomp_bpf.policy import ALLOW, Policy
from seccomp_bpf.policy.policy import expand_arch_name

# The compat ABIs as the kernel's Kconfig files give them (COMPAT, X86_X32_ABI...).
FAMILIES = {
    "x86_64": ["x86_64", "i386", "x32"],
    "aarch64": ["aarch64", "arm"],
    "s390x": ["s390x", "s390"],
    "riscv64": ["riscv64"],
}


@pytest.mark.parametrize(("name", "expected"), FAMILIES.items())
def test_compat_adds_the_compat_abis(name: str, expected: list[str]) -> None:
    assert [a.name for a in expand_arch_name(f"{name}+compat")] == expected
    assert [a.name for a in expand_arch_name(name)] == [name]


def test_native_and_aliases() -> None:
    native = native_arch()
    assert expand_arch_name("native+compat")[0] == native
    assert len(expand_arch_name("native+compat")) == 1 + len(native.compat)
    assert expand_arch_name("amd64+compat") == expand_arch_name("x86_64+compat")
    assert expand_arch_name(" x86_64 + compat ") == expand_arch_name("x86_64+compat")


def test_resolved_arches_expand_and_drop_duplicates() -> None:
    policy = Policy(ALLOW, arches=("i386", "x86_64+compat", "x32"))
    assert [a.name for a in policy.resolved_arches()] == ["i386", "x86_64", "x32"]
    assert policy.evaluate(get_arch("x32"), 0x40000000) == ALLOW


@pytest.mark.parametrize("bad", ["x86_64+32", "x86_64+", "nope+compat"])
def test_bad_tokens(bad: str) -> None:
    with pytest.raises(UnknownArchError):
        expand_arch_name(bad)
