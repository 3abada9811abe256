"""Find a program's shared libraries as the dynamic loader would: :func:`load_program`.

For each ``DT_NEEDED`` name, in breadth-first order from the program (the loader's global
scope), the first file that is found and is of the program's ABI, looking (glibc's
``_dl_map_object``, ``ld.so(8)``):

1. at the name itself when it contains a slash;
2. in ``DT_RPATH`` of the object that needs it and of the objects that loaded that one, up to
   the program, when the object has no ``DT_RUNPATH``;
3. in the ``--library-path`` directories (what ``LD_LIBRARY_PATH`` would give);
4. in ``DT_RUNPATH`` of the object that needs it;
5. in ``/etc/ld.so.cache`` (:mod:`.ldcache`);
6. in the default directories: the ABI's multiarch directories (``/lib/x86_64-linux-gnu``...),
   ``/lib64``, ``/usr/lib64`` (64-bit ABIs), ``/lib``, ``/usr/lib``.

``$ORIGIN`` (the directory of the object whose path it is), ``$LIB`` and ``$PLATFORM`` are
expanded. With a sysroot, every absolute path (the cache, the directories, the loader named by
``PT_INTERP``) is taken under it, as a cross toolchain's sysroot is laid out. The program's
loader (``PT_INTERP``) is loaded too: its code runs before the program's. Libraries the
program opens with ``dlopen`` are named by the caller and loaded after, with their own needs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.errors import BinaryAnalysisError
from seccomp_bpf.profiling.static.elf import EM_386, EM_AARCH64, EM_X86_64, ElfObject, read_elf
from seccomp_bpf.profiling.static.ldcache import read_ld_cache

TRIPLETS: Final = {
    "x86_64": "x86_64-linux-gnu",
    "aarch64": "aarch64-linux-gnu",
    "i386": "i386-linux-gnu",
}
PLATFORMS: Final = {"x86_64": "x86_64", "aarch64": "aarch64", "i386": "i686"}
_HEADERS: Final = {"x86_64": (2, EM_X86_64), "aarch64": (2, EM_AARCH64), "i386": (1, EM_386)}


@dataclass
class LoadedObject:
    """One object of the program: its file, why it is there, how it was found."""

    name: str  # the DT_NEEDED name (or the file's name for the program)
    path: str
    elf: ElfObject
    role: str  # "program", "needed", "interpreter", "dlopen"
    found: str  # how: "PT_INTERP", "DT_RUNPATH", "ld.so.cache", "default directory"...
    needed_by: str | None = None

    @property
    def label(self) -> str:
        return os.path.basename(self.path) if self.role == "program" else self.name


@dataclass
class LoadedProgram:
    """The program and its objects, in the loader's order (the program first)."""

    objects: list[LoadedObject]

    @property
    def program(self) -> LoadedObject:
        return self.objects[0]

    @property
    def arch(self) -> str:
        return self.program.elf.arch


@dataclass(frozen=True)
class SearchOptions:
    """Where to look besides what the objects say."""

    library_path: Sequence[str] = ()
    sysroot: str | None = None
    ld_cache: str | None = None  # default: /etc/ld.so.cache under the sysroot


def _fits(path: str, arch: str) -> bool:
    """True when ``path`` is an ELF file of ``arch`` (class and machine, as the loader checks)."""
    try:
        with open(path, "rb") as file:
            head = file.read(20)
    except OSError:
        return False
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return False
    elf_class, machine = _HEADERS[arch]
    return head[4] == elf_class and int.from_bytes(head[18:20], "little") == machine


class _Search:
    def __init__(self, arch: str, options: SearchOptions) -> None:
        self.arch = arch
        self.options = options
        cache = options.ld_cache or self.under("/etc/ld.so.cache")
        self.cache = read_ld_cache(cache)
        triplet = TRIPLETS[arch]
        defaults = [f"/lib/{triplet}", f"/usr/lib/{triplet}"]
        if arch != "i386":
            defaults += ["/lib64", "/usr/lib64"]
        else:
            defaults += ["/lib32", "/usr/lib32"]
        self.defaults = [self.under(d) for d in (*defaults, "/lib", "/usr/lib")]

    def under(self, path: str) -> str:
        root = self.options.sysroot
        if root and os.path.isabs(path) and not path.startswith(root.rstrip("/") + "/"):
            return os.path.join(root, path.lstrip("/"))
        return path

    def expand(self, directory: str, origin: str) -> str:
        lib = f"lib/{TRIPLETS[self.arch]}"
        for token, value in (("ORIGIN", origin), ("LIB", lib), ("PLATFORM", PLATFORMS[self.arch])):
            directory = directory.replace("${" + token + "}", value).replace("$" + token, value)
        # $ORIGIN is already a real path; other absolute paths are the target's.
        return directory if directory.startswith(origin) else self.under(directory)

    def find(
        self, name: str, chain: Sequence[LoadedObject], given: bool = False
    ) -> tuple[str, str] | None:
        if "/" in name:
            # A path the user gave is a path here when it exists; else the target's.
            path = name if given and os.path.exists(name) else self.under(name)
            return (path, "path") if _fits(path, self.arch) else None
        needer = chain[-1]
        places: list[tuple[str, str]] = []
        if not needer.elf.runpath:
            for obj in reversed(chain):
                if obj.elf.runpath:
                    continue
                origin = os.path.dirname(os.path.realpath(obj.path))
                places += [(self.expand(d, origin), "DT_RPATH") for d in obj.elf.rpath]
        places += [(self.under(d), "--library-path") for d in self.options.library_path]
        origin = os.path.dirname(os.path.realpath(needer.path))
        places += [(self.expand(d, origin), "DT_RUNPATH") for d in needer.elf.runpath]
        for directory, how in places:
            path = os.path.join(directory, name)
            if _fits(path, self.arch):
                return path, how
        for path in self.cache.get(name, ()):
            path = self.under(path)
            if _fits(path, self.arch):
                return path, "ld.so.cache"
        for directory in self.defaults:
            path = os.path.join(directory, name)
            if _fits(path, self.arch):
                return path, "default directory"
        return None


def load_program(
    program: str,
    *,
    dlopen: Sequence[str] = (),
    options: SearchOptions | None = None,
    arch: str | None = None,
) -> LoadedProgram:
    """The program and every object the loader would map for it, and the ``dlopen`` libraries
    (names searched like ``DT_NEEDED`` names of the program, or paths) with what they need.
    Raises :class:`BinaryAnalysisError` for a file that cannot be read or a library not
    found (naming it, who needs it and where it was looked for), and for ``arch`` when the
    program is of another ABI."""
    options = options or SearchOptions()
    elf = read_elf(program, details=False)
    if arch is not None and arch != elf.arch:
        raise BinaryAnalysisError(f"{program}: the file is for {elf.arch}, not {arch}")
    search = _Search(elf.arch, options)
    first = LoadedObject(os.path.basename(program), program, elf, "program", "path")
    loaded = LoadedProgram([first])
    by_name: dict[str, LoadedObject] = {}
    by_path: dict[str, LoadedObject] = {os.path.realpath(program): first}

    def add(name: str, chain: list[LoadedObject], role: str) -> LoadedObject:
        if name in by_name:
            return by_name[name]
        found = search.find(name, chain, given=role == "dlopen")
        if found is None:
            needer = "--dlopen" if role == "dlopen" else chain[-1].label
            raise BinaryAnalysisError(
                f"{name} (needed by {needer}) not found: looked in its RPATH/RUNPATH, "
                "--library-path, the ld.so cache and "
                + ", ".join(search.defaults)
                + (f" (sysroot {options.sysroot})" if options.sysroot else "")
            )
        path, how = found
        real = os.path.realpath(path)
        if real in by_path:
            by_name[name] = by_path[real]
            return by_path[real]
        obj = LoadedObject(
            name, path, read_elf(path, details=False), role, how, chain[-1].label if chain else None
        )
        if obj.elf.soname:
            by_name.setdefault(obj.elf.soname, obj)
        by_name[name] = obj
        by_path[real] = obj
        loaded.objects.append(obj)
        return obj

    def needs(roots: list[tuple[LoadedObject, list[LoadedObject]]]) -> None:
        queue = list(roots)
        while queue:
            obj, chain = queue.pop(0)
            for name in obj.elf.needed:
                before = len(loaded.objects)
                child = add(name, [*chain, obj], "needed")
                if len(loaded.objects) > before:
                    queue.append((child, [*chain, obj]))

    needs([(first, [])])
    interpreter = elf.interpreter
    if interpreter:
        path = search.under(interpreter)
        real = os.path.realpath(path)
        if real in by_path:
            by_path[real].role = "interpreter"
        else:
            if not _fits(path, elf.arch):
                raise BinaryAnalysisError(
                    f"{program}: its loader {path} (PT_INTERP) is missing or of another ABI"
                )
            obj = LoadedObject(
                os.path.basename(interpreter),
                path,
                read_elf(path, details=False),
                "interpreter",
                "PT_INTERP",
                first.label,
            )
            by_path[real] = obj
            by_name[obj.name] = obj
            if obj.elf.soname:
                by_name[obj.elf.soname] = obj
            loaded.objects.append(obj)
            needs([(obj, [first])])
    for name in dlopen:
        before = len(loaded.objects)
        obj = add(name, [first], "dlopen")
        obj.role = "dlopen"
        if len(loaded.objects) > before:
            needs([(obj, [first])])
    return loaded
