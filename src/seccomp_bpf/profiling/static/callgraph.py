"""From the program's entry points to the system calls it can reach: :func:`reach`.

The call graph joins the objects' regions (:mod:`.analysis`), as sysfilter builds its
"function-call graph" over a program and its libraries:

- the roots: the program's entry point; the loader's (``PT_INTERP``) entry point, whose code
  runs first; every object's ``DT_INIT``/``DT_FINI`` and init/fini arrays; every function
  whose address is stored in an object's data (a relocation or, at a fixed address, a word of
  data: vtables, callbacks, IFUNC resolvers...); and, for a library analysed on its own or a
  library named as ``dlopen``'ed, every function it exports (``dlsym`` can reach any);
- the edges: a region's direct calls and jumps and its fall-through; its calls through the
  PLT or a GOT slot to a name, bound to that name's definition in *every* loaded object that
  exports it (the loader binds the first in its search order; taking all of them is never
  less, whatever the order or ``LD_PRELOAD``); and every function whose address a reached
  region computes (a function pointer may be called from anywhere: it is reachable once its
  address is taken in reachable code or in data).

A system call site whose number is an argument of its function (``syscall(2)``, or a C
library's internal helper) makes that function a *wrapper*: the numbers are then those its
reached callers pass (found at each call, by the same backward propagation), in any object;
a caller that passes its own argument on is a wrapper too. A wrapper whose address is taken
cannot be followed: its site is reported as unresolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from seccomp_bpf.profiling.static.analysis import ObjectAnalysis
from seccomp_bpf.profiling.static.loader import LoadedProgram
from seccomp_bpf.profiling.static.machine import I386

_EAX = I386.arguments.index("eax")


@dataclass(frozen=True)
class UnresolvedSite:
    """A reached site (or wrapper call) whose number is not (wholly) known."""

    object: str
    address: int
    function: str
    reason: str
    numbers: frozenset[int] = frozenset()  # the ones that were found on other paths

    def __str__(self) -> str:
        found = f" (found on other paths: {', '.join(map(str, sorted(self.numbers)))})"
        return f"{self.object} {self.address:#x} in {self.function}: {self.reason}" + (
            found if self.numbers else ""
        )


@dataclass
class Reached:
    """What :func:`reach` found."""

    numbers: dict[int, set[str]] = field(default_factory=dict)  # number -> objects
    unresolved: list[UnresolvedSite] = field(default_factory=list)
    regions: dict[str, tuple[int, int]] = field(default_factory=dict)  # reached, of all
    sites: int = 0  # reached system call sites
    wrappers: list[str] = field(default_factory=list)  # "syscall (libc.so.6, argument 1)"


def reach(loaded: LoadedProgram, analyses: Sequence[ObjectAnalysis]) -> Reached:
    """The system call numbers of ``loaded``'s reachable code (see the module docstring)."""
    objects = loaded.objects
    labels = [obj.label for obj in objects]
    exporters: dict[str, list[tuple[int, int]]] = {}
    for index, analysis in enumerate(analyses):
        for name, regions in analysis.exports.items():
            exporters.setdefault(name, []).extend((index, r) for r in regions)

    reached: list[set[int]] = [set() for _ in objects]
    taken: list[set[int]] = [set() for _ in objects]  # regions whose address is taken
    work: list[tuple[int, int]] = []

    def visit(index: int, region: int | None) -> None:
        if region is not None and region not in reached[index]:
            reached[index].add(region)
            work.append((index, region))

    def bind(name: str) -> None:
        for index, region in exporters.get(name, ()):
            visit(index, region)

    library = loaded.program.elf.is_library
    for index, (obj, analysis) in enumerate(zip(objects, analyses, strict=True)):
        if obj.role in ("program", "interpreter"):
            visit(index, analysis.entry)
        for region in (*analysis.init, *analysis.data_refs):
            taken[index].add(region)
            visit(index, region)
        for name in analysis.data_imports:
            for target, region in exporters.get(name, ()):
                taken[target].add(region)
            bind(name)
        if obj.role == "dlopen" or (library and obj.role == "program"):
            for regions in analysis.exports.values():
                for region in regions:
                    taken[index].add(region)
                    visit(index, region)

    while work:
        index, start = work.pop()
        here = analyses[index].regions[start]
        for target in here.calls:
            visit(index, target)
        for target in here.refs:
            taken[index].add(target)
            visit(index, target)
        for name in here.imports:
            bind(name)

    result = Reached()
    wrappers: list[tuple[int, int, int]] = []  # (object, entry region, argument index)
    # i386: a function that starts with its system call instruction and takes the number in
    # %eax is the loader's stand-in for the vDSO's __kernel_vsyscall (``_dl_sysinfo_int80``),
    # reached through the TCB's sysinfo pointer by every ``call *%gs:0x10`` site, each of
    # which is a site of its own here.
    vsyscall: set[tuple[int, int]] = set()
    for index, analysis in enumerate(analyses):
        result.regions[labels[index]] = (len(reached[index]), len(analysis.regions))
        for start in sorted(reached[index]):
            for site in analysis.regions[start].sites:
                result.sites += 1
                values = analysis.site_values[site]
                for number in values.numbers:
                    result.numbers.setdefault(number, set()).add(labels[index])
                entry = analysis.region_of(analysis.site_entry[site])
                for argument in sorted(values.arguments):
                    if entry is not None:
                        wrappers.append((index, entry, argument))
                        if analysis.arch == "i386" and site == entry and argument == _EAX:
                            vsyscall.add((index, entry))
                if values.unknown:
                    result.unresolved.append(
                        UnresolvedSite(
                            labels[index],
                            site,
                            analysis.describe(site),
                            "; ".join(values.unknown),
                            values.numbers,
                        )
                    )

    # Wrappers: the numbers their reached callers pass.
    done: set[tuple[int, int, int]] = set()
    while wrappers:
        wrapper = wrappers.pop()
        if wrapper in done:
            continue
        done.add(wrapper)
        owner, entry, argument = wrapper
        analysis = analyses[owner]
        names = {name for name, regions in analysis.exports.items() if entry in regions}
        function = analysis.describe(entry)
        result.wrappers.append(f"{function} ({labels[owner]}, argument {argument + 1})")
        if (owner, entry) not in vsyscall and (
            entry in taken[owner] or any(names & set(other.data_imports) for other in analyses)
        ):
            result.unresolved.append(
                UnresolvedSite(
                    labels[owner],
                    entry,
                    function,
                    f"a wrapper taking the number as argument {argument + 1}, "
                    "and its address is taken: callers through a pointer are "
                    "not followed",
                )
            )
        for index, caller_analysis in enumerate(analyses):
            targets = {entry} if index == owner else set()
            stubs = {s for s in caller_analysis.plt if caller_analysis.regions[s].imports & names}
            for start in sorted(reached[index]):
                caller_region = caller_analysis.regions[start]
                if not (caller_region.calls & (targets | stubs) or caller_region.imports & names):
                    continue
                if (start == entry and index == owner) or start in stubs:
                    continue  # the wrapper itself; a PLT entry passes its arguments on
                values, caller_entry = caller_analysis.argument_at(start, targets, names, argument)
                for number in values.numbers:
                    result.numbers.setdefault(number, set()).add(labels[index])
                caller = caller_analysis.region_of(caller_entry)
                for passed in values.arguments:
                    if caller is not None:
                        wrappers.append((index, caller, passed))
                if values.unknown:
                    result.unresolved.append(
                        UnresolvedSite(
                            labels[index],
                            start,
                            caller_analysis.describe(start),
                            f"calls {function} with a number not known here: "
                            + "; ".join(values.unknown),
                            values.numbers,
                        )
                    )
    return result
