"""Generic classic BPF for seccomp filters: instructions, programs, builder, optimizer,
validator, emulator, the actions of a return value. Knows nothing of system calls,
architectures' tables or policies."""

from __future__ import annotations

from seccomp_bpf.lazy import lazy_exports

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from seccomp_bpf.bpf.actions import ReturnValue, SeccompAction, format_return_value
    from seccomp_bpf.bpf.builder import Label, ProgramBuilder
    from seccomp_bpf.bpf.emulator import Execution, SeccompData, emulate, run_filters
    from seccomp_bpf.bpf.instruction import Instruction, Program
    from seccomp_bpf.bpf.validator import validate

# Read on first use (seccomp_bpf.lazy): loading a program needs neither the builder nor the
# emulator.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "seccomp_bpf.bpf.actions": "ReturnValue SeccompAction format_return_value",
        "seccomp_bpf.bpf.builder": "Label ProgramBuilder",
        "seccomp_bpf.bpf.emulator": "Execution SeccompData emulate run_filters",
        "seccomp_bpf.bpf.instruction": "Instruction Program",
        "seccomp_bpf.bpf.validator": "validate",
    },
)

__all__ = [
    "Execution",
    "Instruction",
    "Label",
    "Program",
    "ProgramBuilder",
    "ReturnValue",
    "SeccompAction",
    "SeccompData",
    "emulate",
    "format_return_value",
    "run_filters",
    "validate",
]
