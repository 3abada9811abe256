"""The static profiler: an allowlist read from a program's code, before it ever runs.

::

    from seccomp_bpf.profiling.static import analyse_program, static_profile

    analysis = analyse_program("/usr/bin/ls")          # the program and its libraries
    analysis.syscalls()                                 # {"read": ["ls", "libc.so.6"], ...}
    analysis.unresolved                                 # sites whose number is not known
    generated = static_profile(analysis)                # the policy, as `profile` writes it

The steps, one module each:

- :mod:`.loader` (with :mod:`.elf` and :mod:`.ldcache`): the program and the libraries the
  dynamic loader would map for it, and those it ``dlopen``\\ s that the caller names;
- :mod:`.analysis` (with :mod:`.machine`): each object's code cut into regions, with their
  calls, imports, function pointers and system call sites, the number at each site recovered
  by constant propagation backwards; cached per file by :mod:`.cache`;
- :mod:`.callgraph`: what is reachable from the entry points, and the numbers reachable code
  can make, through ``syscall(2)``-like wrappers too;
- :mod:`.profile`: the policy, through the recording profiler's own generation step, so that
  both write the same YAML and merge with each other.

capstone and pyelftools are needed (``pip install 'seccomp-bpf[static]'``); they are imported
only when an analysis runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seccomp_bpf.errors import MissingDependencyError

if TYPE_CHECKING:
    from seccomp_bpf.profiling.static.cache import AnalysisCache
    from seccomp_bpf.profiling.static.callgraph import UnresolvedSite
    from seccomp_bpf.profiling.static.loader import SearchOptions
    from seccomp_bpf.profiling.static.profile import static_profile
    from seccomp_bpf.profiling.static.program import StaticAnalysis, analyse_program

__all__ = [
    "AnalysisCache",
    "SearchOptions",
    "StaticAnalysis",
    "UnresolvedSite",
    "analyse_program",
    "require_dependencies",
    "static_profile",
]

DEPENDENCIES = (("capstone", "capstone"), ("pyelftools", "elftools"))
"""(distribution, module) of what the static profiler needs."""

_LAZY = {
    "AnalysisCache": "cache",
    "SearchOptions": "loader",
    "StaticAnalysis": "program",
    "UnresolvedSite": "callgraph",
    "analyse_program": "program",
    "static_profile": "profile",
}


def require_dependencies() -> None:
    """Raise :class:`MissingDependencyError` naming what to install when capstone or
    pyelftools is missing."""
    missing = []
    for dist, module in DEPENDENCIES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(dist)
    if missing:
        raise MissingDependencyError(
            f"the static profiler needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: "
            "pip install 'seccomp-bpf[static]'"
        )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
