"""Small C programs built by the tests, for x86-64 with gcc and for AArch64 with the cross
compiler when it is installed, and a tiny AArch64 program assembled by hand.

The programs make system calls no C library function makes, so that where each one comes
from is plain: ``kcmp`` with the system call instruction in ``main``, ``userfaultfd`` through
``syscall(2)`` with a constant, ``fsopen`` through the program's own wrapper taking the
number as an argument, ``bpf`` in a function called only through a pointer stored in data,
``perf_event_open`` in one called only through a pointer computed in code, ``io_uring_setup``
in a library function ``main`` calls; never reached: ``pivot_root`` (a function of the
program nothing calls) and ``io_uring_enter`` (a library function nothing calls).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

REACHED = ("kcmp", "userfaultfd", "fsopen", "bpf", "perf_event_open", "io_uring_setup")
NOT_REACHED = ("pivot_root", "io_uring_enter")

_DIRECT = {
    "x86_64": """
static inline long direct(long n)
{
    long r;
    __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(0L), "S"(0L), "d"(0L)
                      : "rcx", "r11", "memory");
    return r;
}
""",
    "aarch64": """
static inline long direct(long n)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = 0;
    register long x1 __asm__("x1") = 0;
    register long x2 __asm__("x2") = 0;
    __asm__ volatile ("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
""",
}

_DIRECT["i386"] = """
static inline long direct(long n)
{
    long r;
    __asm__ volatile ("int $0x80" : "=a"(r) : "a"(n), "b"(0L), "c"(0L), "d"(0L) : "memory");
    return r;
}
"""

PROGRAM = """
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
%(direct)s
long lib_used(void);

/* Never called: its call must not count. */
__attribute__((used, noinline)) long unused_here(void) { return direct(SYS_pivot_root); }

/* Reached only through the pointer stored in `hook` (data). */
__attribute__((noinline)) static void pointed(void) { direct(SYS_bpf); }
void (*volatile hook)(void) = pointed;

/* Reached only through a pointer computed in main. */
__attribute__((noinline)) static void computed(void) { direct(SYS_perf_event_open); }

/* The number is its argument: the callers give it. */
__attribute__((noinline)) long my_wrapper(long number) { return direct(number); }

int main(void)
{
    void (*volatile fp)(void) = computed;
    long results = direct(SYS_kcmp);
    results += syscall(SYS_userfaultfd, -1L);
    results += my_wrapper(SYS_fsopen);
    hook();
    fp();
    results += lib_used();
    printf("done %%ld\\n", results);
    return 0;
}
"""

LIBRARY = """
#define _GNU_SOURCE
#include <unistd.h>
#include <sys/syscall.h>
%(direct)s
long lib_used(void) { return direct(SYS_io_uring_setup); }
long lib_unused(void) { return direct(SYS_io_uring_enter); }
"""

TRICKY = """
#define _GNU_SOURCE
#include <unistd.h>
#include <sys/syscall.h>
%(direct)s
__attribute__((noinline)) long inner(long number) { return direct(number); }
/* Passes its own argument on: a wrapper too. */
__attribute__((noinline)) long outer(long unused, long number) { return inner(number) + unused; }
/* A wrapper whose address is taken: calls through the pointer cannot be followed. */
__attribute__((noinline)) long by_pointer(long number) { return direct(number); }
long (*volatile wrapper_pointer)(long) = by_pointer;
volatile long in_memory = SYS_add_key;

int main(int argc, char **argv)
{
    (void)argv;
    long result = outer(1, SYS_fsmount);
    /* One of two numbers, chosen at run time (a conditional move or a branch). */
    result += direct(argc > 1 ? SYS_fspick : SYS_fsconfig);
    /* A number read from memory: not known. */
    result += direct(in_memory);
    result += wrapper_pointer(SYS_move_mount);
    return (int)(result & 1);
}
"""
TRICKY_REACHED = ("fsmount", "fspick", "fsconfig")

COMPILERS = {"x86_64": "gcc", "aarch64": "aarch64-linux-gnu-gcc", "i386": "i686-linux-gnu-gcc"}
SYSROOTS: dict[str, str | None] = {
    "x86_64": None,
    "aarch64": "/usr/aarch64-linux-gnu",
    "i386": "/usr/i686-linux-gnu",
}
NEEDS = {arch: f"{root}/lib/libc.so.6" for arch, root in SYSROOTS.items() if root}


@dataclass(frozen=True)
class Built:
    """A built test program: the program, its library (in ``lib/`` beside it, found through
    ``DT_RUNPATH`` ``$ORIGIN/lib``), and the sysroot its C library is under."""

    program: Path
    library: Path
    sysroot: str | None


def compiler_for(arch: str) -> str | None:
    compiler = shutil.which(COMPILERS[arch])
    if compiler is None:
        return None
    if arch in NEEDS and not os.path.exists(NEEDS[arch]):
        return None  # no cross C library (Debian: libc6-dev-arm64-cross, libc6-dev-i386-cross)
    return compiler


def build(directory: Path, arch: str) -> Built:
    """Compile the program and its library for ``arch`` into ``directory``."""
    compiler = compiler_for(arch)
    assert compiler is not None
    lib = directory / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (directory / "unit.c").write_text(LIBRARY % {"direct": _DIRECT[arch]})
    (directory / "prog.c").write_text(PROGRAM % {"direct": _DIRECT[arch]})
    library = lib / "libunit.so"
    program = directory / "prog"
    subprocess.run(
        [
            compiler,
            "-O2",
            "-shared",
            "-fPIC",
            "-o",
            str(library),
            str(directory / "unit.c"),
        ],
        check=True,
    )
    subprocess.run(
        [
            compiler,
            "-O2",
            "-o",
            str(program),
            str(directory / "prog.c"),
            f"-L{lib}",
            "-lunit",
            "-Wl,-rpath,$ORIGIN/lib",
        ],
        check=True,
    )
    return Built(program, library, SYSROOTS[arch])


def build_tricky(directory: Path, arch: str) -> Path:
    """Compile :data:`TRICKY` for ``arch`` into ``directory``."""
    compiler = compiler_for(arch)
    assert compiler is not None
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "tricky.c"
    source.write_text(TRICKY % {"direct": _DIRECT[arch]})
    program = directory / "tricky"
    subprocess.run([compiler, "-O2", "-o", str(program), str(source)], check=True)
    return program


# --- a tiny static AArch64 program, assembled by hand -----------------------------------------
#
# Encodings from the Arm ARM (DDI 0487), "A64 instruction set encoding":
#   MOVZ Xd, #imm16        (sf=1, opc=10, hw=00): 0xD2800000 | imm16 << 5 | Rd
#   SVC #0                                        0xD4000001
#   BL label               (imm26 = offset / 4): 0x94000000 | imm26
#   RET                    (RET X30)             0xD65F03C0
# Numbers from the AArch64 table (include/uapi/asm-generic/unistd.h): exit 93, getpid 172,
# getuid 174.
TINY_BASE = 0x400000
TINY_CODE = 0x80  # file offset and offset from TINY_BASE of _start
TINY = (
    ("_start", 0x00, 0x94000004),  # bl f              (f is 0x10 ahead: imm26 = 4)
    (None, 0x04, 0xD2800000),  # movz x0, #0
    (None, 0x08, 0xD2800000 | 93 << 5 | 8),  # movz x8, #93 (exit) = 0xD2800BA8
    (None, 0x0C, 0xD4000001),  # svc #0
    ("f", 0x10, 0xD2800000 | 172 << 5 | 8),  # movz x8, #172 (getpid) = 0xD2801588
    (None, 0x14, 0xD4000001),  # svc #0
    (None, 0x18, 0xD65F03C0),  # ret
    ("g", 0x1C, 0xD2800000 | 174 << 5 | 8),  # movz x8, #174 (getuid): nothing calls g
    (None, 0x20, 0xD4000001),  # svc #0
    (None, 0x24, 0xD65F03C0),  # ret
)


def tiny_aarch64(path: Path) -> Path:
    """Write the program above as a static ELF64 AArch64 executable (ET_EXEC) with a
    ``.text`` section and a symbol table naming ``_start``, ``f`` and ``g``."""
    code = b"".join(struct.pack("<I", word) for _, _, word in TINY)
    strtab = b"\0_start\0f\0g\0"
    names = {"_start": 1, "f": 8, "g": 10}
    shstrtab = b"\0.text\0.symtab\0.strtab\0.shstrtab\0"
    # Elf64_Sym: name, info, other, shndx, value, size. Locals (f, g) before the global.
    symbols = struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)
    for name, info in (("f", 0x02), ("g", 0x02), ("_start", 0x12)):  # STT_FUNC, LOCAL/GLOBAL
        offset = next(o for n, o, _ in TINY if n == name)
        symbols += struct.pack(
            "<IBBHQQ",
            names[name],
            info,
            0,
            1,
            TINY_BASE + TINY_CODE + offset,
            12 if name != "_start" else 16,
        )
    text_at = TINY_CODE
    symtab_at = text_at + len(code)
    strtab_at = symtab_at + len(symbols)
    shstrtab_at = strtab_at + len(strtab)
    sections_at = (shstrtab_at + len(shstrtab) + 7) & ~7
    size = sections_at + 5 * 64
    # Elf64_Ehdr (<elf.h>), field by field.
    ident = b"\x7fELF" + bytes([2, 1, 1, 0, 0]) + b"\0" * 7  # 64-bit, little-endian, SysV
    header = struct.pack(
        "<16sHHIQQQIHHHHHH",
        ident,
        2,  # e_type: ET_EXEC
        183,  # e_machine: EM_AARCH64
        1,  # e_version: EV_CURRENT
        TINY_BASE + TINY_CODE,  # e_entry: _start
        64,  # e_phoff: right after this header
        sections_at,  # e_shoff
        0,  # e_flags
        64,  # e_ehsize
        56,  # e_phentsize
        1,  # e_phnum
        64,  # e_shentsize
        5,  # e_shnum: null, .text, .symtab, .strtab, .shstrtab
        4,  # e_shstrndx
    )
    # PT_LOAD of the whole file, readable and executable.
    program_header = struct.pack("<IIQQQQQQ", 1, 5, 0, TINY_BASE, TINY_BASE, size, size, 0x1000)

    def section(  # noqa: PLR0917 - the Elf64_Shdr fields, in order
        name: int,
        kind: int,
        flags: int,
        address: int,
        offset: int,
        length: int,
        *,
        link: int = 0,
        info: int = 0,
        align: int = 1,
        entsize: int = 0,
    ) -> bytes:
        return struct.pack(
            "<IIQQQQIIQQ", name, kind, flags, address, offset, length, link, info, align, entsize
        )

    sections = (
        section(0, 0, 0, 0, 0, 0)
        + section(1, 1, 0x6, TINY_BASE + text_at, text_at, len(code), align=4)  # .text AX
        + section(7, 2, 0, 0, symtab_at, len(symbols), link=3, info=3, align=8, entsize=24)
        + section(15, 3, 0, 0, strtab_at, len(strtab))
        + section(23, 3, 0, 0, shstrtab_at, len(shstrtab))
    )
    blob = bytearray(size)
    blob[0:64] = header
    blob[64 : 64 + 56] = program_header
    blob[text_at:symtab_at] = code
    blob[symtab_at:strtab_at] = symbols
    blob[strtab_at:shstrtab_at] = strtab
    blob[shstrtab_at : shstrtab_at + len(shstrtab)] = shstrtab
    blob[sections_at:] = sections
    path.write_bytes(bytes(blob))
    path.chmod(0o755)
    return path
