"""Policy -> Program: the compiler (see DESIGN §4 and :mod:`.pipeline`)."""

from seccomp_bpf.compiler.frequency import FrequencyProfile, load_frequency, parse_frequency
from seccomp_bpf.compiler.pipeline import compile_policy

compile = compile_policy

__all__ = ["FrequencyProfile", "compile", "compile_policy", "load_frequency", "parse_frequency"]
