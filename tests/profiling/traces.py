"""Synthetic traces for the profiler's tests, and a helper that asks a policy about a call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seccomp_bpf.arch import get_arch, resolve_constant
from seccomp_bpf.policy import Action, Policy
from seccomp_bpf.profiling.arguments import ArgumentSpec, default_specs
from seccomp_bpf.profiling.trace import SyscallKey, SyscallTrace


def constant(name: str) -> int:
    value = resolve_constant(name)
    assert value is not None, name
    return value


def spec(name: str, index: int) -> ArgumentSpec:
    return next(s for s in default_specs([name]) if s.index == index)


def trace(
    counts: Mapping[str, Mapping[SyscallKey, int]],
    arguments: Mapping[str, Mapping[SyscallKey, Mapping[ArgumentSpec, Sequence[int]]]] = {},
    **fields: object,
) -> SyscallTrace:
    """A trace with these counts and argument values (values masked as the recorder does)."""
    recorded = {
        arch: {
            key: {s: frozenset(v & s.recording_mask for v in values) for s, values in by.items()}
            for key, by in calls.items()
        }
        for arch, calls in arguments.items()
    }
    return SyscallTrace(counts=counts, arguments=recorded, **fields)  # type: ignore[arg-type]


def decide(policy: Policy, arch: str, name: SyscallKey, *args: int) -> Action:
    """What ``policy`` does with call ``name`` (or number) of ``arch``, arguments ``args``."""
    abi = get_arch(arch)
    nr = name if isinstance(name, int) else abi.syscalls[name]
    padded = (*args, *([0] * (6 - len(args))))
    return policy.evaluate(abi, nr, padded)


def web_trace() -> SyscallTrace:
    """A small server's run on x86_64, with socket and mmap arguments recorded."""
    domain, kind = spec("socket", 0), spec("socket", 1)
    prot = spec("mmap", 2)
    return trace(
        {"x86_64": {"read": 40, "write": 12, "openat": 3, "socket": 2, "mmap": 5, "bind": 1}},
        {
            "x86_64": {
                "socket": {
                    domain: [constant("AF_UNIX"), constant("AF_INET")],
                    kind: [constant("SOCK_STREAM") | constant("SOCK_CLOEXEC")],
                },
                "mmap": {prot: [constant("PROT_READ"), constant("PROT_READ") | 2]},
            }
        },
        command=("server",),
        exit_status=0,
        processes=1,
        threads=2,
    )
