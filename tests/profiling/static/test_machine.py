"""Constant propagation backwards from a site, on functions assembled here (GNU as)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from seccomp_bpf.profiling.static.elf import CodeSection, ElfObject
from seccomp_bpf.profiling.static.machine import Machine, Values, machine_for

ASSEMBLERS = {"x86_64": ("as", ["--64"]), "aarch64": ("aarch64-linux-gnu-as", [])}


def _assemble(tmp_path: Path, arch: str, source: str) -> Machine:
    assembler, flags = ASSEMBLERS[arch]
    if shutil.which(assembler) is None:
        pytest.skip(f"no {assembler}")
    prefix = ".intel_syntax noprefix\n" if arch == "x86_64" else ""
    (tmp_path / "f.s").write_text(f"{prefix}.text\nf:\n{source}\n")
    subprocess.run([assembler, *flags, "-o", str(tmp_path / "f.o"), str(tmp_path / "f.s")],
                   check=True)  # fmt: skip
    with open(tmp_path / "f.o", "rb") as file:
        text = ELFFile(file).get_section_by_name(".text")
        assert text is not None
        code = text.data()
    obj = ElfObject(
        path=str(tmp_path / "f.o"), arch=arch, word=8, kind="dyn", entry=0, interpreter=None,
        soname=None, needed=(), rpath=(), runpath=(), pie=True, init=[], detailed=True,
        code=[CodeSection(".text", 0, code)],
    )  # fmt: skip
    return machine_for(obj)


def _at_last_site(machine: Machine) -> Values:
    """The number at the last system call instruction of the function."""
    code = machine.obj.code[0].data
    insns = machine.decode(code, 0)
    sites = [i for i, insn in enumerate(insns) if insn.mnemonic in ("syscall", "svc")]
    return machine.values(insns, sites[-1], machine.number_register, 0)


X86 = [
    ("mov eax, 39\nsyscall", {39}, set(), False),
    ("xor eax, eax\nsyscall", {0}, set(), False),
    ("mov rax, -1\nsyscall", {0xFFFFFFFF}, set(), False),  # the kernel reads an int
    ("mov rax, rdi\nsyscall", set(), {0}, False),
    ("mov eax, esi\nsyscall", set(), {1}, False),
    ("test edi, edi\nje 1f\nmov eax, 1\njmp 2f\n1: mov eax, 2\n2: syscall", {1, 2}, set(), False),
    ("mov eax, 3\nmov edx, 4\ntest edi, edi\ncmovne eax, edx\nsyscall", {3, 4}, set(), False),
    (
        "xor eax, eax\ncmp edi, 1\nsetg al\nlea eax, [rax + rax + 0x1af]\nsyscall",
        {0x1AF, 0x1B1},
        set(),
        False,
    ),
    ("mov eax, 10\nadd eax, 5\nsyscall", {15}, set(), False),
    ("lea eax, [rdi + 2]\nsyscall", set(), set(), True),  # computed from an argument
    ("mov eax, dword ptr [rdi]\nsyscall", set(), set(), True),
    ("mov eax, 5\ncall f\nsyscall", set(), set(), True),  # the call's result
    ("mov ebx, 5\ncall f\nmov eax, ebx\nsyscall", {5}, set(), False),  # callee-saved
    ("mov eax, 0x100\nmov al, 3\nsyscall", set(), set(), True),  # a part of it
    ("mov eax, 1\n1: dec ecx\njne 1b\nsyscall", {1}, set(), False),  # a loop
    ("mov eax, 1\nsyscall\nsyscall", set(), set(), True),  # the first one's result
    ("test edi, edi\nje 1f\nmov eax, 7\n1: syscall", {7}, set(), True),  # rax at entry
]


@pytest.mark.parametrize(("source", "numbers", "arguments", "unknown"), X86,
                         ids=[case[0].replace("\n", "; ") for case in X86])  # fmt: skip
def test_x86_64(
    tmp_path: Path, source: str, numbers: set[int], arguments: set[int], unknown: bool
) -> None:
    found = _at_last_site(_assemble(tmp_path, "x86_64", source))
    assert (set(found.numbers), set(found.arguments), bool(found.unknown)) == (
        numbers,
        arguments,
        unknown,
    )


AARCH64 = [
    ("mov x8, #172\nsvc #0", {172}, set(), False),
    ("mov w8, #63\nsvc #0", {63}, set(), False),
    ("mov x8, x0\nsvc #0", set(), {0}, False),
    ("mov w8, w1\nsvc #0", set(), {1}, False),  # the number is an int
    ("mov w9, #20\nmov w8, #21\ncmp x0, #0\ncsel w8, w8, w9, ne\nsvc #0", {20, 21}, set(), False),
    ("cmp x0, #0\ncset w8, ne\nadd w8, w8, #430\nsvc #0", {430, 431}, set(), False),
    ("ldr x8, [x0]\nsvc #0", set(), set(), True),
    ("mov x8, #93\nbl f\nsvc #0", set(), set(), True),
    ("mov x19, #93\nbl f\nmov x8, x19\nsvc #0", {93}, set(), False),
]


@pytest.mark.parametrize(("source", "numbers", "arguments", "unknown"), AARCH64,
                         ids=[case[0].replace("\n", "; ") for case in AARCH64])  # fmt: skip
def test_aarch64(
    tmp_path: Path, source: str, numbers: set[int], arguments: set[int], unknown: bool
) -> None:
    found = _at_last_site(_assemble(tmp_path, "aarch64", source))
    assert (set(found.numbers), set(found.arguments), bool(found.unknown)) == (
        numbers,
        arguments,
        unknown,
    )
