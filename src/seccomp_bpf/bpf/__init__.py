"""Generic classic BPF for seccomp filters: instructions, programs, builder, optimizer,
validator, emulator. Knows nothing of system calls, architectures' tables or policies."""

from seccomp_bpf.bpf.builder import Label, ProgramBuilder
from seccomp_bpf.bpf.emulator import (
    Execution,
    ReturnValue,
    SeccompAction,
    SeccompData,
    emulate,
    format_return_value,
    run_filters,
)
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.bpf.validator import validate

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
