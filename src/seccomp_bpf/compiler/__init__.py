"""Policy -> Program: the compiler (see DESIGN §4 and :mod:`.pipeline`)."""

from seccomp_bpf.compiler.frequency import FrequencyProfile, load_frequency, parse_frequency
from seccomp_bpf.compiler.pipeline import compile_policy
from seccomp_bpf.compiler.search import SEARCHES, Search

compile = compile_policy

__all__ = [
    "SEARCHES",
    "FrequencyProfile",
    "Search",
    "compile",
    "compile_policy",
    "load_frequency",
    "parse_frequency",
]
