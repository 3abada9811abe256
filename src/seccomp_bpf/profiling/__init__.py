"""Generate an allowlist by running the program: ``seccomp-bpf profile``.

::

    from seccomp_bpf.profiling import profile

    trace = profile(["git", "status"])                  # run it, record every call
    policy = trace.to_policy()                          # allow exactly what it did
    yaml_text = trace.to_yaml()                         # the same, grouped and commented
    frequency = trace.frequency()                       # {"arches": {"x86_64": {...}}}

- :mod:`.profiler`: :func:`profile` runs the command through the recorder (:mod:`.recorder`)
  in ptrace mode (:mod:`.ptrace_mode`) or notify mode (:mod:`.notify_mode`).
- :mod:`.trace`: :class:`SyscallTrace`, the result: counts and argument values per ABI.
- :mod:`.arguments`: which arguments are recorded, and the conditions their values become.
- :mod:`.generate` and :mod:`.merge`: the policy, and uniting it with earlier ones.
- :mod:`.output`: YAML with comments, OCI JSON, the frequency JSON.
"""

from seccomp_bpf.profiling.arguments import ArgumentSpec, default_specs, parse_spec
from seccomp_bpf.profiling.generate import ALWAYS_ALLOWED, GeneratedPolicy, generate
from seccomp_bpf.profiling.notify_mode import BASE_SET
from seccomp_bpf.profiling.profiler import MODES, Progress, profile
from seccomp_bpf.profiling.trace import SyscallTrace

__all__ = [
    "ALWAYS_ALLOWED",
    "BASE_SET",
    "MODES",
    "ArgumentSpec",
    "GeneratedPolicy",
    "Progress",
    "SyscallTrace",
    "default_specs",
    "generate",
    "parse_spec",
    "profile",
]
