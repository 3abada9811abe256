"""SB001 no-arch-check: a program decides on the number without having checked
``seccomp_data.arch`` on that path."""

from __future__ import annotations

from seccomp_bpf.explain.audit.findings import Severity, Sink
from seccomp_bpf.explain.audit.flow import ProgramFlow, returns_permissive


def check_arch_check(flow: ProgramFlow, sink: Sink) -> None:
    """SB001: a path that compares the number, never the architecture, and lets a call run."""
    unchecked = [
        end
        for end in flow.ends
        if end.state.nr_compared and not end.state.arch_compared and returns_permissive(end.ret)
    ]
    if not unchecked:
        return
    if not flow.reads_arch:
        message = (
            "the filter never reads seccomp_data.arch: a call of another ABI (i386 through "
            "int 0x80 on x86-64) is judged by its number as if it were a native call"
        )
    else:
        message = (
            "some paths allow calls by their number before checking seccomp_data.arch: the "
            "same number is another call on another ABI (i386 through int 0x80 on x86-64)"
        )
    sink.add("SB001", Severity.HIGH, message)
