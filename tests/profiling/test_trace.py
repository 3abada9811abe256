"""``SyscallTrace`` (``profile/trace.py``): reading, frequencies, and uniting runs."""

from __future__ import annotations

from seccomp_bpf.compiler import parse_frequency
from seccomp_bpf.profiling.trace import SyscallTrace
from tests.profiling.traces import constant, spec, trace, web_trace


def test_totals_and_calls() -> None:
    run = trace({"x86_64": {"read": 3, "write": 2, 999: 1}, "i386": {"getpid": 4}})
    assert run.total == 10
    assert run.distinct == 4
    assert run.arches == ("x86_64", "i386")
    assert run.syscalls("x86_64") == ("read", "write", 999)
    assert run.syscalls() == ("getpid", "read", "write", 999)


def test_the_frequency_profile_is_what_the_compiler_reads() -> None:
    run = trace({"x86_64": {"read": 3, "write": 7, 999: 1}, "i386": {"getpid": 4}})
    frequency = run.frequency()
    assert list(frequency["arches"]["x86_64"]) == ["write", "read"]  # most frequent first
    assert parse_frequency(frequency) == {
        "x86_64": {"write": 7.0, "read": 3.0},
        "i386": {"getpid": 4.0},
    }


def test_merging_adds_counts_and_unites_values() -> None:
    domain = spec("socket", 0)
    first = web_trace()
    second = trace(
        {"x86_64": {"read": 2, "socket": 1}, "i386": {"getpid": 1}},
        {"x86_64": {"socket": {domain: [constant("AF_INET6")]}}},
        processes=2,
    )
    both = first.merge(second)
    assert both.counts["x86_64"]["read"] == 42
    assert both.counts["i386"] == {"getpid": 1}
    assert both.arguments["x86_64"]["socket"][domain] == {
        constant("AF_UNIX"),
        constant("AF_INET"),
        constant("AF_INET6"),
    }
    assert both.processes == 3
    assert isinstance(both, SyscallTrace)


def test_describe_counts_processes_and_threads() -> None:
    run = trace({"x86_64": {"read": 1}}, processes=1, threads=2)
    assert run.describe() == "1 system calls (1 distinct) by 1 process and 2 threads"
