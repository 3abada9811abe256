"""One ELF file as the static profiler needs it: :class:`ElfObject`, read with pyelftools.

What is read, and from where (the ELF gABI and the psABIs of x86-64, i386 and AArch64):

- the header: machine and class (which ABI), type (``ET_EXEC``, ``ET_DYN``), entry point;
- ``PT_INTERP`` (the dynamic loader a program asks for) and the dynamic section:
  ``DT_NEEDED``, ``DT_SONAME``, ``DT_RPATH``, ``DT_RUNPATH``, ``DT_INIT``, ``DT_FINI``,
  ``DT_FLAGS_1`` (``DF_1_PIE``);
- the executable sections (``SHF_EXECINSTR``), the PLT sections by name;
- function symbols of ``.symtab`` and ``.dynsym`` (names, and starts of functions);
  the defined functions of ``.dynsym`` are the object's exports;
- the function ranges that ``.eh_frame`` describes (every FDE covers one function, or one
  part of it: stripped binaries keep them for unwinding);
- the dynamic relocations: a GOT slot bound to a symbol (``GLOB_DAT``, ``JUMP_SLOT``, an
  absolute relocation in the GOT) is an import; a relative relocation (``RELATIVE``,
  ``IRELATIVE``, ``DT_RELR``) or an absolute one to a local symbol that lands in code is a
  pointer to code stored in data (a function whose address is taken); an absolute relocation
  to a named function outside the GOT is that function's address stored in data.
  A program linked at a fixed address (``ET_EXEC``) has no relocations for its own pointers:
  there every aligned word of its data that equals a code address counts as one.
"""

from __future__ import annotations

import bisect
import contextlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from seccomp_bpf.errors import BinaryAnalysisError

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

# ELF e_machine values (<elf.h>).
EM_386: Final = 3
EM_X86_64: Final = 62
EM_AARCH64: Final = 183

MACHINES: Final = {(EM_X86_64, 64): "x86_64", (EM_AARCH64, 64): "aarch64", (EM_386, 32): "i386"}
"""(e_machine, ELF class) -> the ABI's name in :mod:`seccomp_bpf.arch`."""


@dataclass(frozen=True)
class RelocationKinds:
    """An ABI's dynamic relocation types (<elf.h>, the psABI's relocation table)."""

    absolute: frozenset[int]  # S + A: a symbol's address stored in data
    glob_dat: int
    jump_slot: int
    relative: int  # B + A
    irelative: int  # the address the resolver at B + A returns
    rela: bool  # entries carry their addend (else it is the word in place)


RELOCATIONS: Final = {
    "x86_64": RelocationKinds(frozenset({1}), 6, 7, 8, 37, True),  # R_X86_64_64...
    "aarch64": RelocationKinds(frozenset({257}), 1025, 1026, 1027, 1032, True),  # R_AARCH64_*
    "i386": RelocationKinds(frozenset({1}), 6, 7, 8, 42, False),  # R_386_32...
}

PLT_SECTIONS: Final = (".plt", ".plt.sec", ".plt.got", ".iplt")
PLT_ENTRY: Final = 16  # bytes per PLT entry on the three ABIs (PLT0 is one or two entries)

# DT_* and PT_* values (<elf.h>).
DF_1_PIE: Final = 0x08000000
SHF_ALLOC: Final = 0x2
SHF_EXECINSTR: Final = 0x4
STT_FUNC: Final = 2
STT_GNU_IFUNC: Final = 10


@dataclass
class CodeSection:
    name: str
    address: int
    data: bytes

    @property
    def end(self) -> int:
        return self.address + len(self.data)


@dataclass
class ElfObject:
    """What the static profiler reads from one ELF file (see the module docstring)."""

    path: str
    arch: str
    word: int  # bytes per pointer
    kind: str  # "exec" (ET_EXEC) or "dyn" (ET_DYN: a PIE program or a shared library)
    entry: int
    interpreter: str | None
    soname: str | None
    needed: tuple[str, ...]
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    pie: bool
    init: list[int]  # DT_INIT, DT_FINI, then the init/fini arrays: called by the loader
    # The details (read_details):
    detailed: bool = False
    code: list[CodeSection] = field(default_factory=list)
    plt: list[tuple[int, int]] = field(default_factory=list)  # PLT sections' ranges
    fde_ranges: list[tuple[int, int]] = field(default_factory=list)
    symbols: dict[int, str] = field(default_factory=dict)  # function start -> a name
    exports: dict[str, list[int]] = field(default_factory=dict)  # defined, every version
    got_imports: dict[int, str] = field(default_factory=dict)  # GOT slot -> function name
    got_code: dict[int, int] = field(default_factory=dict)  # GOT slot -> own code address
    data_refs: set[int] = field(default_factory=set)  # code addresses stored in data
    data_imports: set[str] = field(default_factory=set)  # functions whose address is data
    got_base: int | None = None  # i386: .got.plt, which %ebx holds in PIC code
    _starts: list[int] = field(default_factory=list)

    @property
    def is_library(self) -> bool:
        """A shared library rather than a program (no loader asked for, not a PIE)."""
        return self.kind == "dyn" and self.interpreter is None and not self.pie

    @property
    def dynamic(self) -> bool:
        return bool(self.needed or self.interpreter or self.exports or self.got_imports)

    def in_code(self, address: int) -> bool:
        starts = self._starts or self._index()
        i = bisect.bisect_right(starts, address) - 1
        return i >= 0 and address < self.code[i].end

    def in_plt(self, address: int) -> bool:
        return any(start <= address < end for start, end in self.plt)

    def _index(self) -> list[int]:
        self.code.sort(key=lambda s: s.address)
        self._starts = [s.address for s in self.code]
        return self._starts


def read_elf(path: str, *, details: bool = True) -> ElfObject:
    """Read ``path``: its header and dynamic section, and with ``details`` (else later, by
    :func:`read_details`) its code, symbols, FDEs and relocations. Raises
    :class:`BinaryAnalysisError` for a file that is not an ELF object of a supported ABI,
    naming the file."""
    with _opened(path) as elf:
        obj = _read(path, elf)
        if details:
            _read_details(elf, obj)
    return obj


def read_details(obj: ElfObject) -> None:
    """Read what :func:`read_elf` left out without ``details`` (once)."""
    if not obj.detailed:
        with _opened(obj.path) as elf:
            _read_details(elf, obj)


@contextlib.contextmanager
def _opened(path: str) -> Iterator[ELFFile]:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise BinaryAnalysisError(f"{path}: {error.strerror or error}") from error
    try:
        yield ELFFile(stream)
    except BinaryAnalysisError:
        raise
    except (ELFError, struct.error, ValueError, IndexError, KeyError) as error:
        raise BinaryAnalysisError(f"{path}: not a readable ELF file ({error})") from error
    finally:
        stream.close()


def _read(path: str, elf: ELFFile) -> ElfObject:
    header = elf.header
    machine = header["e_machine"]
    number = {"EM_X86_64": EM_X86_64, "EM_AARCH64": EM_AARCH64, "EM_386": EM_386}.get(
        machine, machine
    )
    arch = MACHINES.get((number, elf.elfclass))
    if arch is None:
        raise BinaryAnalysisError(
            f"{path}: {machine} ({elf.elfclass}-bit) is not an ABI the static profiler reads "
            "(x86_64, aarch64, i386)"
        )
    if not elf.little_endian:
        raise BinaryAnalysisError(f"{path}: big-endian ELF files are not supported")
    kind = {"ET_EXEC": "exec", "ET_DYN": "dyn"}.get(header["e_type"])
    if kind is None:
        raise BinaryAnalysisError(f"{path}: {header['e_type']} is not a program or library")
    if elf.num_sections() == 0:
        raise BinaryAnalysisError(f"{path}: the file has no section headers")
    word = elf.elfclass // 8
    interpreter = None
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_INTERP":
            interpreter = cast(Any, segment).get_interp_name()

    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    soname = None
    init: list[int] = []
    flags_1 = 0
    dynamic = elf.get_section_by_name(".dynamic")
    if dynamic is not None and hasattr(dynamic, "iter_tags"):
        for tag in dynamic.iter_tags():
            kind_of = tag.entry.d_tag
            if kind_of == "DT_NEEDED":
                needed.append(tag.needed)
            elif kind_of == "DT_SONAME":
                soname = tag.soname
            elif kind_of == "DT_RPATH":
                rpath.extend(p for p in tag.rpath.split(":") if p)
            elif kind_of == "DT_RUNPATH":
                runpath.extend(p for p in tag.runpath.split(":") if p)
            elif kind_of in ("DT_INIT", "DT_FINI"):
                init.append(tag.entry.d_val)
            elif kind_of == "DT_FLAGS_1":
                flags_1 = tag.entry.d_val

    return ElfObject(
        path=path,
        arch=arch,
        word=word,
        kind=kind,
        entry=header["e_entry"],
        interpreter=interpreter,
        soname=soname,
        needed=tuple(needed),
        rpath=tuple(rpath),
        runpath=tuple(runpath),
        pie=bool(flags_1 & DF_1_PIE),
        init=[a for a in init if a],
    )


def _read_details(elf: ELFFile, obj: ElfObject) -> None:
    code: list[CodeSection] = []
    plt: list[tuple[int, int]] = []
    for section in elf.iter_sections():
        if section["sh_type"] == "SHT_NOBITS":
            continue
        flags = section["sh_flags"]
        if flags & SHF_ALLOC and flags & SHF_EXECINSTR and section["sh_size"]:
            code.append(CodeSection(section.name, section["sh_addr"], section.data()))
            if section.name in PLT_SECTIONS:
                plt.append((section["sh_addr"], section["sh_addr"] + section["sh_size"]))

    obj.code, obj.plt, obj.fde_ranges = code, plt, _fde_ranges(elf)
    obj._starts = []
    got = elf.get_section_by_name(".got.plt") or elf.get_section_by_name(".got")
    obj.got_base = got["sh_addr"] if got is not None else None
    _read_symbols(elf, obj)
    _read_relocations(elf, obj)
    _read_init_arrays(elf, obj)
    if obj.kind == "exec":
        _scan_data_words(elf, obj)
    obj.detailed = True


def _read_symbols(elf: ELFFile, obj: ElfObject) -> None:
    for name in (".symtab", ".dynsym"):
        table = elf.get_section_by_name(name)
        if table is None or not hasattr(table, "iter_symbols"):
            continue
        for symbol in table.iter_symbols():
            kind = symbol["st_info"]["type"]
            if kind not in ("STT_FUNC", "STT_GNU_IFUNC", "STT_LOOS"):
                continue
            value = symbol["st_value"]
            if symbol["st_shndx"] == "SHN_UNDEF" or not value:
                continue
            if not obj.in_code(value):
                continue
            obj.symbols.setdefault(value, symbol.name)
            if name == ".dynsym" and symbol["st_info"]["bind"] != "STB_LOCAL":
                exported = symbol.name.split("@")[0]
                obj.exports.setdefault(exported, [])
                if value not in obj.exports[exported]:
                    obj.exports[exported].append(value)


def _relocation_sections(elf: ELFFile) -> Iterator[Any]:
    from elftools.elf.relocation import RelocationSection

    for section in elf.iter_sections():
        if isinstance(section, RelocationSection) and section["sh_flags"] & SHF_ALLOC:
            yield section


def _read_relocations(elf: ELFFile, obj: ElfObject) -> None:
    kinds = RELOCATIONS[obj.arch]
    got = [
        (s["sh_addr"], s["sh_addr"] + s["sh_size"])
        for s in elf.iter_sections()
        if s.name.startswith(".got")
    ]

    def in_got(address: int) -> bool:
        return any(start <= address < end for start, end in got)

    names: dict[int, tuple[str, bool, int]] = {}  # symbol index -> (name, is function, value)

    def symbol(table: Any, index: int) -> tuple[str, bool, int]:
        if index not in names:
            sym = table.get_symbol(index)
            function = sym["st_info"]["type"] in ("STT_FUNC", "STT_GNU_IFUNC", "STT_LOOS")
            defined = sym["st_shndx"] != "SHN_UNDEF"
            names[index] = (sym.name, function, sym["st_value"] if defined else 0)
        return names[index]

    for section in _relocation_sections(elf):
        data = section.data()
        table = elf.get_section(section["sh_link"]) if section["sh_link"] else None
        rela = section["sh_type"] == "SHT_RELA"
        if obj.word == 8:
            fmt, size = ("<QQq", 24) if rela else ("<QQ", 16)
        else:
            fmt, size = ("<IIi", 12) if rela else ("<II", 8)
        shift, mask = (32, 0xFFFFFFFF) if obj.word == 8 else (8, 0xFF)
        for entry in struct.iter_unpack(fmt, data[: len(data) - len(data) % size]):
            offset, info = entry[0], entry[1]
            kind, index = info & mask, info >> shift
            addend = entry[2] if rela else _word_at(elf, obj, offset)
            if kind in (kinds.relative, kinds.irelative):
                # B + A: a code address when it lands in code (the resolver for IRELATIVE)
                if obj.in_code(addend):
                    obj.data_refs.add(addend)
                    if in_got(offset):
                        obj.got_code[offset] = addend
                continue
            if kind not in (kinds.glob_dat, kinds.jump_slot, *kinds.absolute):
                continue
            if table is None or not index:
                continue
            name, function, value = symbol(table, index)
            if not function and value == 0 and kind != kinds.jump_slot:
                continue  # data (stdout, environ...), or a weak symbol nobody defines
            if function and value and obj.in_code(value):
                # A function of this object; the loader may still bind it elsewhere
                # (interposition), so both count.
                obj.data_refs.add(value)
            if in_got(offset):
                obj.got_imports[offset] = name
            elif name:
                obj.data_imports.add(name)
    _read_relr(elf, obj)


def _read_relr(elf: ELFFile, obj: ElfObject) -> None:
    """``DT_RELR`` (``SHT_RELR``, the gABI's packed relative relocations): an address entry
    relocates one word, then each bitmap entry the words its set bits name."""
    for section in elf.iter_sections():
        if section["sh_type"] not in ("SHT_RELR", 19):
            continue
        fmt = "<Q" if obj.word == 8 else "<I"
        bits = obj.word * 8 - 1
        where = 0
        for (entry,) in struct.iter_unpack(fmt, section.data()):
            if entry & 1 == 0:
                _relative_word(elf, obj, entry)
                where = entry + obj.word
            else:
                for bit in range(bits):
                    if entry >> (bit + 1) & 1:
                        _relative_word(elf, obj, where + bit * obj.word)
                where += bits * obj.word


def _relative_word(elf: ELFFile, obj: ElfObject, address: int) -> None:
    value = _word_at(elf, obj, address)
    if obj.in_code(value):
        obj.data_refs.add(value)


def _word_at(elf: ELFFile, obj: ElfObject, address: int) -> int:
    """The word stored at virtual ``address`` in the file (0 where the file has none)."""
    for segment in elf.iter_segments():
        if segment["p_type"] != "PT_LOAD":
            continue
        start = segment["p_vaddr"]
        if start <= address and address + obj.word <= start + segment["p_filesz"]:
            stream = elf.stream
            stream.seek(segment["p_offset"] + address - start)
            raw = stream.read(obj.word)
            return int.from_bytes(raw, "little")
    return 0


def _read_init_arrays(elf: ELFFile, obj: ElfObject) -> None:
    """``.preinit_array``, ``.init_array``, ``.fini_array``: the loader calls each entry.
    In a position-independent object the entries are relative relocations (read above)."""
    for section in elf.iter_sections():
        if section["sh_type"] in ("SHT_INIT_ARRAY", "SHT_FINI_ARRAY", "SHT_PREINIT_ARRAY"):
            fmt = "<Q" if obj.word == 8 else "<I"
            for (value,) in struct.iter_unpack(fmt, section.data()):
                if obj.in_code(value):
                    obj.init.append(value)


def _scan_data_words(elf: ELFFile, obj: ElfObject) -> None:
    """In a program linked at a fixed address, a pointer to its code is stored as it is, with
    no relocation: every aligned word of its allocated data that is a code address counts."""
    fmt = "<Q" if obj.word == 8 else "<I"
    for section in elf.iter_sections():
        flags = section["sh_flags"]
        if not flags & SHF_ALLOC or flags & SHF_EXECINSTR or section["sh_type"] == "SHT_NOBITS":
            continue
        data = section.data()
        misalign = (-section["sh_addr"]) % obj.word
        data = data[misalign:]
        data = data[: len(data) - len(data) % obj.word]
        for (value,) in struct.iter_unpack(fmt, data):
            if obj.in_code(value):
                obj.data_refs.add(value)


def _fde_ranges(elf: ELFFile) -> list[tuple[int, int]]:
    """The ``[start, end)`` of every FDE of ``.eh_frame`` (the LSB's ``.eh_frame`` format: a
    CIE names in its ``R`` augmentation how its FDEs encode ``pc_begin``; ``pc_range`` uses
    the same format without the ``pcrel`` part)."""
    section = elf.get_section_by_name(".eh_frame")
    if section is None or section["sh_type"] == "SHT_NOBITS":
        return []
    data = section.data()
    base = section["sh_addr"]
    word = elf.elfclass // 8
    encodings: dict[int, int] = {}
    ranges: list[tuple[int, int]] = []
    offset = 0
    while offset + 4 <= len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        if length == 0:
            break  # the terminator
        header = 4
        if length == 0xFFFFFFFF:
            (length,) = struct.unpack_from("<Q", data, offset + 4)
            header = 12
        start = offset + header
        end = start + length
        if end > len(data):
            break
        (cie_pointer,) = struct.unpack_from("<I", data, start)
        if cie_pointer == 0:
            encodings[offset] = _cie_encoding(data, start + 4, word)
        else:
            cie = start - cie_pointer
            encoding = encodings.get(cie)
            if encoding is not None:
                where = start + 4
                pc_begin, used = _read_encoded(data, where, encoding, base + where, word)
                pc_range, _ = _read_encoded(data, where + used, encoding & 0x0F, 0, word)
                if pc_range:
                    ranges.append((pc_begin, pc_begin + pc_range))
        offset = end
    ranges.sort()
    return ranges


def _uleb(data: bytes, offset: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, offset


def _cie_encoding(data: bytes, offset: int, word: int) -> int:
    """The FDE pointer encoding of the CIE whose version byte is at ``offset``."""
    version = data[offset]
    offset += 1
    end = data.index(b"\0", offset)
    augmentation = data[offset:end].decode("ascii", "replace")
    offset = end + 1
    if "eh" in augmentation:
        offset += word
    _, offset = _uleb(data, offset)  # code alignment
    _, offset = _uleb(data, offset)  # data alignment (SLEB; only skipped)
    if version == 1:
        offset += 1
    else:
        _, offset = _uleb(data, offset)
    encoding = 0x00  # DW_EH_PE_absptr
    if augmentation.startswith("z"):
        _, offset = _uleb(data, offset)
        for letter in augmentation[1:]:
            if letter == "R":
                return data[offset]
            if letter == "P":
                personality = data[offset]
                _, used = _read_encoded(data, offset + 1, personality, 0, word)
                offset += 1 + used
            elif letter == "L":
                offset += 1
    return encoding


def _read_encoded(data: bytes, offset: int, encoding: int, pc: int, word: int) -> tuple[int, int]:
    """A DW_EH_PE-encoded pointer: its value and its size in bytes."""
    form = encoding & 0x0F
    formats = {
        0x00: ("<Q" if word == 8 else "<I"),
        0x02: "<H",
        0x03: "<I",
        0x04: "<Q",
        0x0A: "<h",
        0x0B: "<i",
        0x0C: "<q",
    }
    if form == 0x01:  # uleb128
        value, end = _uleb(data, offset)
        size = end - offset
    else:
        fmt = formats.get(form)
        if fmt is None:
            raise BinaryAnalysisError(f"unsupported .eh_frame pointer encoding {encoding:#x}")
        (value,) = struct.unpack_from(fmt, data, offset)
        size = struct.calcsize(fmt)
    if encoding & 0x70 == 0x10:  # DW_EH_PE_pcrel
        value += pc
    return value & ((1 << (word * 8)) - 1), size
