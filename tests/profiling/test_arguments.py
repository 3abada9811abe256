"""Argument specs (``profile/arguments.py``): what is recorded, and the conditions made of it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import get_arch, resolve_constant
from seccomp_bpf.arch.constants import CLONE_NAMESPACE_FLAGS, SOCK_TYPE_MASK
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy import All, Any, Cmp
from seccomp_bpf.profiling.arguments import (
    ArgumentSpec,
    condition_specs,
    default_specs,
    describe_value,
    parse_spec,
    resolve_specs,
)

U32 = st.integers(0, 2**32 - 1)
U64 = st.integers(0, 2**64 - 1)


def constant(name: str) -> int:
    value = resolve_constant(name)
    assert value is not None, name
    return value


def holds(spec: ArgumentSpec, values: set[int], argument: int) -> bool:
    condition = spec.condition(values)
    args = [0] * 6
    args[spec.index] = argument
    return True if condition is None else condition.holds(args)


# --- conditions -----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sets(U64, min_size=1, max_size=8), U64, st.sampled_from([32, 64]))
def test_a_values_condition_lets_exactly_the_recorded_values_through(
    seen: set[int], probe: int, width: int
) -> None:
    spec = ArgumentSpec("ioctl", 1, width)
    recorded = {value & spec.recording_mask for value in seen}
    for value in seen:
        assert holds(spec, recorded, value)
    assert holds(spec, recorded, probe) == (probe & spec.recording_mask in recorded)


@settings(max_examples=200, deadline=None)
@given(st.sets(U32, min_size=1, max_size=6), U32)
def test_a_masked_condition_compares_the_masked_bits_only(seen: set[int], probe: int) -> None:
    spec = ArgumentSpec("socket", 1, 32, mask=SOCK_TYPE_MASK)
    recorded = {value & spec.recording_mask for value in seen}
    assert holds(spec, recorded, probe) == ((probe & SOCK_TYPE_MASK) in recorded)
    # SOCK_CLOEXEC and SOCK_NONBLOCK sit above the type: any combination of them is free.
    flags = constant("SOCK_CLOEXEC") | constant("SOCK_NONBLOCK")
    for value in seen:
        assert holds(spec, recorded, value | flags)


@settings(max_examples=200, deadline=None)
@given(st.lists(U32, min_size=1, max_size=6), U32)
def test_a_flags_condition_refuses_exactly_the_never_seen_bits(seen: list[int], probe: int) -> None:
    (spec,) = default_specs(["clone"])
    recorded = {value & spec.recording_mask for value in seen}
    seen_bits = 0
    for value in seen:
        seen_bits |= value
    never = spec.bits & ~seen_bits
    assert holds(spec, recorded, probe) == (probe & never == 0)


def test_the_clone_flags_are_the_namespace_bits() -> None:
    (spec,) = default_specs(["clone"])
    expected = 0
    for name in CLONE_NAMESPACE_FLAGS:
        expected |= constant(name)
    assert spec.kind == "flags" and spec.bits == expected and spec.width == 32
    # Threads and forks use none of them: the condition keeps all of them clear.
    thread = constant("CLONE_VM") | constant("CLONE_THREAD") | constant("CLONE_SIGHAND")
    condition = spec.condition({thread & spec.recording_mask})
    assert condition == Cmp(0, "bits_clear", expected, width=32)


def test_a_flags_condition_vanishes_when_every_bit_was_seen() -> None:
    (spec,) = default_specs(["clone"])
    assert spec.condition({spec.bits}) is None


@settings(max_examples=100, deadline=None)
@given(st.sets(U32, min_size=1, max_size=5), st.sets(U32, min_size=1, max_size=5))
def test_conditions_read_back_into_their_specs(first: set[int], second: set[int]) -> None:
    domain = ArgumentSpec("socket", 0, 32)
    kind = ArgumentSpec("socket", 1, 32, mask=SOCK_TYPE_MASK)
    first = {v & domain.recording_mask for v in first}
    second = {v & kind.recording_mask for v in second}
    one = domain.condition(first)
    two = kind.condition(second)
    assert one is not None and two is not None
    read = condition_specs(All((one, two)))
    assert read is not None
    (spec_one, values_one), (spec_two, values_two) = read
    assert spec_one.matches(domain) and values_one == first
    assert spec_two.matches(kind) and values_two == second


def test_conditions_the_profiler_does_not_write_are_not_read() -> None:
    assert condition_specs(Cmp(0, "gt", 3)) is None
    assert condition_specs(Any((Cmp(0, "eq", 1), Cmp(1, "eq", 2)))) is None
    assert condition_specs(Cmp(None, "eq", 3)) is None


# --- specs ----------------------------------------------------------------------------------------


def test_a_name_alone_takes_its_default_specs() -> None:
    assert parse_spec("socket") == default_specs(["socket"])
    assert len(parse_spec("socket")) == 2


def test_name_and_indices_record_those_arguments_on_64_bits() -> None:
    assert parse_spec("openat:2") == (ArgumentSpec("openat", 2),)
    assert parse_spec(" kill:0,1 ") == (ArgumentSpec("kill", 0), ArgumentSpec("kill", 1))


@pytest.mark.parametrize("text", ["openat", "openat:6", "openat:x", ":1", "kill:0,,1"])
def test_bad_specs_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(PolicyError, match="--args"):
        parse_spec(text)


def test_specs_follow_each_abi() -> None:
    specs = default_specs()
    x86_64 = get_arch("x86_64")
    on_x86_64 = resolve_specs(specs, x86_64)
    assert on_x86_64[x86_64.syscalls["mmap"]][0].index == 2
    assert on_x86_64[x86_64.syscalls["clone"]][0].index == 0
    # i386's mmap is old_mmap, whose arguments are in memory; mmap2 takes them directly.
    i386 = get_arch("i386")
    on_i386 = resolve_specs(specs, i386)
    assert i386.syscalls["mmap"] not in on_i386
    assert on_i386[i386.syscalls["mmap2"]][0].index == 2
    # s390 passes clone's flags second (CLONE_BACKWARDS2).
    s390x = get_arch("s390x")
    assert resolve_specs(specs, s390x)[s390x.syscalls["clone"]][0].index == 1
    # x32 numbers carry bit 30.
    x32 = get_arch("x32")
    assert x32.syscalls["socket"] in resolve_specs(specs, x32)


def test_values_are_named_by_their_constants() -> None:
    domain, kind = default_specs(["socket"])
    assert describe_value(domain, constant("AF_INET")) == "AF_INET"
    assert describe_value(domain, constant("AF_UNIX")) == "AF_UNIX"
    assert describe_value(kind, constant("SOCK_DGRAM")) == "SOCK_DGRAM"
    (prot,) = default_specs(["mprotect"])
    both = constant("PROT_READ") | constant("PROT_WRITE")
    assert describe_value(prot, both) == "PROT_READ|PROT_WRITE"
    assert describe_value(prot, 0) == "PROT_NONE"
    (ioctl,) = default_specs(["ioctl"])
    assert describe_value(ioctl, constant("TCGETS")) == "TCGETS"
    assert describe_value(ioctl, 0x7FFF0001) == "0x7fff0001"
