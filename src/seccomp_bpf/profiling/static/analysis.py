"""What one object's code does, independently of the other objects: :class:`ObjectAnalysis`.

The object's code is cut into *regions*, each starting at a known function start: the FDEs
of ``.eh_frame``, function symbols, the entry point, what the loader calls (``DT_INIT``,
init/fini arrays), code addresses stored in data or computed by an instruction, direct call
targets, and every PLT entry. A region runs to the next start. For each region the sweep
(:meth:`Machine.sweep`) gives:

- ``calls``: the regions it can transfer to (direct calls and jumps, a jump into the middle
  of another region counting for that region, a GOT slot holding one of the object's own
  functions, and the next region when control falls through into it: not after a return or
  a jump and its padding, nor past the end of the FDE it is in);
- ``imports``: the names of functions it calls or whose address it reads through a GOT slot;
- ``refs``: the regions whose address it computes (functions reachable through a pointer);
- ``sites``: its system call instructions, each with the :class:`Values` the number
  register can hold there (constant propagation backwards over the enclosing function, the
  FDE's range or else the region) and the entry of that function (for a number passed in as
  an argument: the function is then a wrapper, whose callers give the number).

Everything here depends only on the file's contents, so it is cached per file
(:mod:`.cache`). What depends on other objects (a wrapper's callers elsewhere) is computed
when asked (:meth:`ObjectAnalysis.argument_at`), kept, and cached too.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Final

from seccomp_bpf.profiling.static.elf import PLT_ENTRY, ElfObject, read_details
from seccomp_bpf.profiling.static.machine import Event, Insn, Machine, Values, machine_for

ANALYSER_VERSION: Final = "1"
"""Changes whenever the analysis would give another result for the same file (the cache's
entries of other versions are not used)."""


@dataclass
class Region:
    start: int
    end: int
    name: str
    calls: set[int] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    refs: set[int] = field(default_factory=set)
    sites: list[int] = field(default_factory=list)


@dataclass
class ObjectAnalysis:
    """The analysis of one file (see the module docstring)."""

    arch: str
    regions: dict[int, Region]
    site_values: dict[int, Values]
    site_entry: dict[int, int]
    entry: int | None  # the entry point's region
    init: list[int]  # regions the loader calls (DT_INIT, DT_FINI, init/fini arrays)
    data_refs: list[int]  # regions whose address is stored in data
    data_imports: list[str]
    exports: dict[str, list[int]]  # name -> regions
    plt: list[int] = field(default_factory=list)  # regions that are PLT entries
    arguments: dict[str, tuple[Values, int]] = field(default_factory=dict)  # see argument_at
    elf: ElfObject | None = None
    changed: bool = False
    _starts: list[int] = field(default_factory=list)
    _machine: Machine | None = None
    _decoded: dict[int, list[Insn]] = field(default_factory=dict)

    # --- reading ------------------------------------------------------------------------------

    def region_of(self, address: int) -> int | None:
        starts = self._starts or self._index()
        i = bisect.bisect_right(starts, address) - 1
        if i < 0:
            return None
        region = self.regions[starts[i]]
        return region.start if address < region.end else None

    def _index(self) -> list[int]:
        self._starts = sorted(self.regions)
        return self._starts

    def describe(self, address: int) -> str:
        """``name+0x12`` for an address in a region."""
        start = self.region_of(address)
        if start is None:
            return f"{address:#x}"
        name, _, before = self.regions[start].name.partition("+")
        offset = address - start + (int(before, 16) if before else 0)
        return name + (f"+{offset:#x}" if offset else "")

    # --- wrappers' callers --------------------------------------------------------------------

    def argument_at(
        self, region: int, targets: set[int], names: set[str], index: int
    ) -> tuple[Values, int]:
        """What argument ``index`` holds at the calls in ``region`` to one of ``targets``
        (regions of this object) or to one of the functions ``names`` (through the PLT or a
        GOT slot): the callers' constants, the caller's own arguments (of the function
        starting at the address returned), or unknown."""
        key = f"{region}:{index}:{','.join(map(str, sorted(targets)))}:{','.join(sorted(names))}"
        if key in self.arguments:
            return self.arguments[key]
        if self.elf is None:
            raise LookupError("the object's file is needed to read its call sites")
        read_details(self.elf)
        machine = self._machine = self._machine or machine_for(self.elf)
        entry, insns = self._function(machine, self.regions[region].start)
        if index >= len(machine.arguments):
            result = Values(unknown=(f"the number is argument {index + 1}, not followed",))
        else:
            slots = {slot for slot, name in self.elf.got_imports.items() if name in names}
            stubs = {start for start in self.plt if self.regions[start].imports & names}
            result = Values()
            region_end = self.regions[region].end
            calls = 0
            for i in machine.calls_to(insns, targets | stubs, slots):
                if self.regions[region].start <= insns[i].address < region_end:
                    calls += 1
                    result |= machine.values(insns, i, machine.passed(index), entry)
            if self.regions[region].imports & names and not calls:
                result |= Values(unknown=("the function's address is read from the GOT",))
        self.arguments[key] = (result, entry)
        self.changed = True
        return result, entry

    def _function(self, machine: Machine, address: int) -> tuple[int, list[Insn]]:
        """The function around ``address`` (its FDE, else its region), decoded."""
        assert self.elf is not None
        start, end = _function_range(self.elf, self, address)
        if start not in self.regions:  # an FDE starting inside an instruction (see sweep)
            starts = self._starts or self._index()
            start = starts[bisect.bisect_left(starts, start)]
        if start not in self._decoded:
            self._decoded[start] = machine.decode(_bytes(self.elf, start, end), start)
        return start, self._decoded[start]

    # --- the cache's form ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "regions": [
                [
                    r.start,
                    r.end,
                    r.name,
                    sorted(r.calls),
                    sorted(r.imports),
                    sorted(r.refs),
                    r.sites,
                ]
                for r in sorted(self.regions.values(), key=lambda r: r.start)
            ],
            "sites": {
                str(k): [v.to_json(), self.site_entry[k]] for k, v in self.site_values.items()
            },
            "entry": self.entry,
            "init": self.init,
            "data_refs": self.data_refs,
            "data_imports": self.data_imports,
            "exports": self.exports,
            "plt": self.plt,
            "arguments": {k: [v.to_json(), e] for k, (v, e) in self.arguments.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObjectAnalysis:
        """The analysis back from :meth:`to_json`; raises ``KeyError``, ``TypeError`` or
        ``ValueError`` for anything else."""
        regions = {}
        for start, end, name, calls, imports, refs, sites in data["regions"]:
            regions[int(start)] = Region(
                int(start),
                int(end),
                str(name),
                {int(c) for c in calls},
                {str(i) for i in imports},
                {int(r) for r in refs},
                [int(s) for s in sites],
            )
        sites = {int(k): (Values.from_json(v), int(e)) for k, (v, e) in data["sites"].items()}
        entry = data["entry"]
        return cls(
            arch=str(data["arch"]),
            regions=regions,
            site_values={k: v for k, (v, _) in sites.items()},
            site_entry={k: e for k, (_, e) in sites.items()},
            entry=None if entry is None else int(entry),
            init=[int(a) for a in data["init"]],
            data_refs=[int(a) for a in data["data_refs"]],
            data_imports=[str(n) for n in data["data_imports"]],
            exports={str(k): [int(a) for a in v] for k, v in data["exports"].items()},
            plt=[int(a) for a in data["plt"]],
            arguments={
                str(k): (Values.from_json(v), int(e)) for k, (v, e) in data["arguments"].items()
            },
        )


def _bytes(elf: ElfObject, start: int, end: int) -> bytes:
    for section in elf.code:
        if section.address <= start < section.end:
            return section.data[start - section.address : min(end, section.end) - section.address]
    return b""


def _function_range(elf: ElfObject, analysis: ObjectAnalysis, address: int) -> tuple[int, int]:
    ranges = elf.fde_ranges
    i = bisect.bisect_right(ranges, (address, float("inf"))) - 1
    if i >= 0 and ranges[i][0] <= address < ranges[i][1]:
        return ranges[i]
    region = analysis.region_of(address)
    assert region is not None
    return region, analysis.regions[region].end


def analyse_object(elf: ElfObject) -> ObjectAnalysis:
    """Cut ``elf``'s code into regions and read each (see the module docstring)."""
    read_details(elf)
    machine = machine_for(elf)
    starts: set[int] = set()
    starts.update(start for start, _ in elf.fde_ranges)
    starts.update(elf.symbols)
    starts.update(elf.init)
    starts.update(elf.data_refs)
    starts.update(elf.got_code.values())
    if elf.in_code(elf.entry):
        starts.add(elf.entry)
    for section in elf.code:
        starts.add(section.address)
    for low, high in elf.plt:
        starts.update(range(low, high, PLT_ENTRY))

    events: list[Event] = []
    inside: dict[int, int] = {}
    ordered = sorted(starts)
    for section in elf.code:
        events.extend(machine.sweep(section.data, section.address, ordered, inside))
    # A start inside an instruction moves to the next instruction (as decoding goes on).
    starts = {inside.get(s, s) for s in starts}
    for event in events:
        if event.kind in ("call", "ref") and elf.in_code(event.target):
            starts.add(event.target)
    starts = {s for s in starts if elf.in_code(s)}

    ordered = sorted(starts)
    ends_of_section = {}
    for section in elf.code:
        ends_of_section[section.address] = section.end
    regions: dict[int, Region] = {}
    section_end = 0
    for i, start in enumerate(ordered):
        if start in ends_of_section:
            section_end = ends_of_section[start]
        elif start >= section_end:
            section_end = next(s.end for s in elf.code if s.address <= start < s.end)
        end = ordered[i + 1] if i + 1 < len(ordered) else section_end
        regions[start] = Region(start, min(end, section_end), "")
    analysis = ObjectAnalysis(elf.arch, regions, {}, {}, None, [], [], [], {}, elf=elf)

    ended: set[int] = set()
    fde_ends = dict(elf.fde_ranges)
    fde_starts = sorted(fde_ends)
    for event in events:
        region_start = analysis.region_of(event.address)
        if region_start is None:
            continue
        region = regions[region_start]
        kind = event.kind
        if kind == "end":
            ended.add(event.target)
        elif kind == "sys":
            region.sites.append(event.address)
        elif kind in ("call", "jump"):
            target = analysis.region_of(event.target)
            if target is not None:
                region.calls.add(target)
        elif kind == "ref":
            target = analysis.region_of(event.target)
            if target is not None:
                region.refs.add(target)
        elif kind == "slot":
            if event.target in elf.got_imports:
                region.imports.add(elf.got_imports[event.target])
            elif event.target in elf.got_code:
                target = analysis.region_of(elf.got_code[event.target])
                if target is not None:
                    region.calls.add(target)

    # Falling through into the next region.
    for i, start in enumerate(ordered[:-1]):
        following = ordered[i + 1]
        if regions[start].end != following or following in ended:
            continue
        j = bisect.bisect_right(fde_starts, start) - 1
        if j >= 0 and fde_starts[j] <= start < fde_ends[fde_starts[j]] <= following:
            continue  # the FDE around it ends there: the compiler does not fall out of it
        regions[start].calls.add(following)

    _name_regions(elf, analysis)
    for region in regions.values():
        for site in region.sites:
            analysis.site_values[site], analysis.site_entry[site] = _site_values(
                machine, analysis, site
            )

    def region_list(addresses: Any) -> list[int]:
        found = {analysis.region_of(a) for a in addresses}
        return sorted(r for r in found if r is not None)

    analysis.entry = analysis.region_of(elf.entry) if elf.in_code(elf.entry) else None
    analysis.init = region_list(elf.init)
    analysis.data_refs = region_list(elf.data_refs)
    analysis.data_imports = sorted(elf.data_imports)
    analysis.plt = sorted(start for start in regions if elf.in_plt(start))
    analysis.exports = {
        name: region_list(addresses) for name, addresses in sorted(elf.exports.items())
    }
    analysis.changed = True
    return analysis


def _site_values(machine: Machine, analysis: ObjectAnalysis, site: int) -> tuple[Values, int]:
    """The number at ``site``, and the entry of the function it is in. When decoding from the
    function's start does not meet the site (an FDE that starts inside an instruction, as
    glibc's signal return trampoline's does, one byte early for the unwinder), decoding
    starts from the following bytes instead, and the values are those of the code there."""
    entry, insns = analysis._function(machine, site)
    assert analysis.elf is not None
    for skip in range(16 if machine.step == 1 else 1):
        if skip:
            start = entry + skip
            insns = machine.decode(_bytes(analysis.elf, start, site + 16), start)
        for i, insn in enumerate(insns):
            if insn.address == site:
                return machine.values(insns, i, machine.number_register, entry), entry
    return Values(unknown=("the site is not on an instruction boundary",)), entry


def _name_regions(elf: ElfObject, analysis: ObjectAnalysis) -> None:
    named = sorted(elf.symbols)
    for start, region in analysis.regions.items():
        if start in elf.symbols:
            region.name = elf.symbols[start]
        elif elf.in_plt(start) and region.imports:
            region.name = "/".join(sorted(region.imports)) + "@plt"
        else:
            i = bisect.bisect_right(named, start) - 1
            if i >= 0 and analysis.region_of(named[i]) is not None and start - named[i] < 0x10000:
                region.name = f"{elf.symbols[named[i]]}+{start - named[i]:#x}"
            else:
                region.name = f"{start:#x}"
