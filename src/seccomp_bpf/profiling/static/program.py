"""Analyse a program and its libraries: :func:`analyse_program`, and its result."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from seccomp_bpf.arch import get_arch
from seccomp_bpf.profiling.static.analysis import ObjectAnalysis, analyse_object
from seccomp_bpf.profiling.static.cache import AnalysisCache, file_digest
from seccomp_bpf.profiling.static.callgraph import Reached, UnresolvedSite, reach
from seccomp_bpf.profiling.static.loader import LoadedProgram, SearchOptions, load_program
from seccomp_bpf.profiling.trace import SyscallKey


@dataclass
class StaticAnalysis:
    """What :func:`analyse_program` found: the objects, what is reachable, the calls."""

    loaded: LoadedProgram
    analyses: list[ObjectAnalysis]
    reached: Reached
    seconds: float = 0.0
    cached: list[str] = field(default_factory=list)  # objects whose analysis came from the cache

    @property
    def arch(self) -> str:
        return self.loaded.arch

    @property
    def unresolved(self) -> list[UnresolvedSite]:
        return self.reached.unresolved

    def syscalls(self) -> dict[SyscallKey, list[str]]:
        """Each reachable call (by name, or by number when the ABI's table has none), with
        the objects whose code makes it, in load order."""
        arch = get_arch(self.arch)
        order = {obj.label: i for i, obj in enumerate(self.loaded.objects)}
        found: dict[SyscallKey, set[str]] = {}
        for number, objects in self.reached.numbers.items():
            name = arch.syscall_name(number)
            found.setdefault(name if name is not None else number, set()).update(objects)
        return {key: sorted(objects, key=order.__getitem__) for key, objects in found.items()}


def analyse_program(
    program: str,
    *,
    dlopen: Sequence[str] = (),
    search: SearchOptions | None = None,
    arch: str | None = None,
    cache: AnalysisCache | None = None,
    progress: Callable[[str], None] | None = None,
) -> StaticAnalysis:
    """Load ``program`` as the loader would (:func:`load_program`), analyse each object (from
    ``cache`` when it has it), and follow the call graph (:func:`reach`). Raises
    :class:`~seccomp_bpf.errors.BinaryAnalysisError` for a file that cannot be read or a
    library not found, and :class:`~seccomp_bpf.errors.MissingDependencyError` without
    capstone or pyelftools."""
    from seccomp_bpf.profiling.static import require_dependencies

    require_dependencies()
    started = time.perf_counter()
    loaded = load_program(program, dlopen=dlopen, options=search, arch=arch)
    analyses: list[ObjectAnalysis] = []
    cached: list[str] = []
    digests: list[str] = []
    for obj in loaded.objects:
        digest = file_digest(obj.path)
        digests.append(digest)
        analysis = cache.load(digest) if cache is not None else None
        if analysis is not None and analysis.arch == obj.elf.arch:
            cached.append(obj.label)
        else:
            if progress is not None:
                progress(f"analysing {obj.path}")
            analysis = analyse_object(obj.elf)
        analysis.elf = obj.elf
        analyses.append(analysis)
    reached = reach(loaded, analyses)
    if cache is not None:
        for obj, analysis, digest in zip(loaded.objects, analyses, digests, strict=True):
            if analysis.changed:
                cache.store(digest, obj.path, analysis)
                analysis.changed = False
    return StaticAnalysis(loaded, analyses, reached, time.perf_counter() - started, cached)
