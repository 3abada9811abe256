"""The ``disasm``, ``asm`` and ``emu`` commands."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccomp_bpf.arch import ArchSymbols, get_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.assembler import assemble
from seccomp_bpf.bpf.disassembler import disassemble
from seccomp_bpf.bpf.instruction import Instruction, Program, load_abs, ret
from seccomp_bpf.cli import main
from tests.bpf.random_programs import seccomp_programs
from tests.bpf.strategies import valid_programs

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "deny-ptrace.bpf.txt"
LISTING_LINE = re.compile(r" \d{4}: 0x[0-9a-f]{2} 0x[0-9a-f]{2} 0x[0-9a-f]{2} 0x[0-9a-f]{8}  \S.*")

AUDIT_ARCH_X86_64 = 0xC000003E  # <linux/audit.h>
PTRACE_X86_64 = 101  # arch/x86/entry/syscalls/syscall_64.tbl

# The x86-64 program the tests run the commands on: ERRNO(1) for ptrace, else ALLOW.
TEXT = """\
A = arch
if (A != ARCH_X86_64) goto kill
A = sys_number
if (A == ptrace) goto deny
A = args[1] >> 32
if (A == 0x1) goto deny
return ALLOW
deny: return ERRNO(1)
kill: return KILL_PROCESS
"""
PROGRAM = Program(
    [
        load_abs(op.OFFSET_ARCH),
        Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 0, 6, AUDIT_ARCH_X86_64),
        load_abs(op.OFFSET_NR),
        Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 3, 0, PTRACE_X86_64),
        load_abs(op.offset_of_arg(1) + 4),  # x86-64 is little-endian: the high word is second
        Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 1, 0, 1),
        ret(op.SECCOMP_RET_ALLOW),
        ret(op.SECCOMP_RET_ERRNO | 1),
        ret(op.SECCOMP_RET_KILL_PROCESS),
    ]
)


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "filter.txt"
    path.write_text(TEXT)
    return path


@pytest.fixture
def raw_file(tmp_path: Path) -> Path:
    path = tmp_path / "filter.bpf"
    path.write_bytes(PROGRAM.to_bytes())
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, *parts: str) -> None:
    """stderr is exactly one ``seccomp-bpf: error: ...`` line containing ``parts``."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("seccomp-bpf: error: "), err
    for part in parts:
        assert part in lines[0], err
    assert "Traceback" not in err


# --- asm -----------------------------------------------------------------------------------------


def test_asm_writes_raw_records(
    capsys: pytest.CaptureFixture[str], text_file: Path, tmp_path: Path
) -> None:
    out_path = tmp_path / "out.bpf"
    code, out, err = run(capsys, "asm", str(text_file), "-o", str(out_path), "--arch", "x86_64")
    assert (code, out, err) == (0, "", "")
    assert out_path.read_bytes() == PROGRAM.to_bytes(sys.byteorder)


def test_asm_to_standard_output_is_binary(text_file: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "seccomp_bpf", "asm", str(text_file), "-o", "-"],
        capture_output=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == PROGRAM.to_bytes(sys.byteorder)


def test_asm_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TEXT.encode())))
    out_path = tmp_path / "out.bpf"
    assert run(capsys, "asm", "-", "-o", str(out_path))[0] == 0
    assert out_path.read_bytes() == PROGRAM.to_bytes()


def test_asm_error_names_file_line_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "bad.txt"
    source.write_text("A = arch\nreturn DENY\n")
    out_path = tmp_path / "out.bpf"
    code, out, err = run(capsys, "asm", str(source), "-o", str(out_path))
    assert code == 1
    assert out == ""
    one_error_line(err, f"{source}:2:8:", "'DENY'")
    assert not out_path.exists()


def test_asm_error_for_a_program_the_kernel_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "bad.txt"
    source.write_text("A = 1\nA /= 0\nreturn A\n")
    code, _, err = run(capsys, "asm", str(source), "-o", str(tmp_path / "out"))
    assert code == 1
    one_error_line(err, f"{source}:2:", "division by the constant 0")


def test_asm_writes_standard_output_without_o(text_file: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "seccomp_bpf", "asm", str(text_file)],
        capture_output=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == PROGRAM.to_bytes(sys.byteorder)


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [
        ("c", "static struct sock_filter filter[] = {"),
        ("hex", "0020 00 00 00000004"),
        ("disasm", "if (A != ARCH_X86_64) goto 0008"),
    ],
)
def test_asm_writes_the_compiler_s_other_formats(
    capsys: pytest.CaptureFixture[str], text_file: Path, fmt: str, marker: str
) -> None:
    code, out, err = run(capsys, "asm", str(text_file), "--format", fmt, "--arch", "x86_64")
    assert (code, err) == (0, "")
    assert marker in out
    if fmt == "disasm":  # the listing reads back as the same program
        assert assemble(out, symbols=ArchSymbols(default=get_arch("x86_64"))) == PROGRAM
    if fmt == "hex":
        assert len(out.splitlines()) == len(PROGRAM)


def test_asm_does_not_write_binary_to_a_terminal(
    capsys: pytest.CaptureFixture[str], text_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, err = run(capsys, "asm", str(text_file))
    assert (code, out) == (1, "")
    one_error_line(err, "asm: refusing to write binary to a terminal")


# --- disasm --------------------------------------------------------------------------------------


def test_disasm_raw_file(capsys: pytest.CaptureFixture[str], raw_file: Path) -> None:
    code, out, err = run(capsys, "disasm", str(raw_file), "--arch", "x86_64")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 2 + len(PROGRAM)
    assert lines[3].endswith("if (A != ARCH_X86_64) goto 0008")
    assert lines[5].endswith("if (A == ptrace) goto 0007")
    assert lines[6].endswith("A = args[1] >> 32")
    assert assemble(out, symbols=ArchSymbols(default=get_arch("x86_64"))) == PROGRAM


def test_disasm_arch_changes_syscall_names_not_arch_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # no arch check: the numbers are read in ARCH's table
    path = tmp_path / "nr.bpf"
    path.write_bytes(
        Program(
            [
                load_abs(op.OFFSET_NR),
                Instruction(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 1, 0, 3),
                ret(op.SECCOMP_RET_ALLOW),
                ret(op.SECCOMP_RET_KILL_PROCESS),
            ]
        ).to_bytes()
    )
    x86_64 = run(capsys, "disasm", str(path), "--arch", "x86_64")[1]
    i386 = run(capsys, "disasm", str(path), "--arch", "i386")[1]
    assert "if (A == close) goto 0003" in x86_64  # 3 is close on x86-64
    assert "if (A == read) goto 0003" in i386  # and read on i386


def test_disasm_text_input_and_formats(
    capsys: pytest.CaptureFixture[str], text_file: Path, raw_file: Path
) -> None:
    from_raw = run(capsys, "disasm", str(raw_file), "--arch", "x86_64")[1]
    assert run(capsys, "disasm", str(text_file), "--arch", "x86_64")[1] == from_raw
    assert run(capsys, "disasm", str(text_file), "--arch", "amd64", "--format", "text")[1] == (
        from_raw
    )
    assert run(capsys, "disasm", str(raw_file), "--arch", "x86_64", "--format", "raw")[1] == (
        from_raw
    )
    code, _, err = run(capsys, "disasm", str(raw_file), "--format", "text")
    assert code == 1
    one_error_line(err, str(raw_file), "not UTF-8 text")
    code, _, err = run(capsys, "disasm", str(text_file), "--format", "raw")
    assert code == 1
    one_error_line(err, str(text_file), "whole number of 8-byte instructions")


def test_disasm_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(PROGRAM.to_bytes())))
    code, out, _ = run(capsys, "disasm", "-", "--arch", "x86_64")
    assert code == 0
    assert len(out.splitlines()) == 2 + len(PROGRAM)


@pytest.mark.parametrize(
    ("content", "parts"),
    [
        (b"\x06\x00\x00\x00\x00\x00\xff\x7f\x20", ["whole number of 8-byte instructions"]),
        (load_abs(0).to_bytes(), ["instruction 0", "last instruction must be a return"]),
        (Instruction(op.BPF_LD | op.BPF_W | op.BPF_ABS, 0, 0, 64).to_bytes()
         + ret(0).to_bytes(), ["instruction 0", "outside struct seccomp_data"]),
        (b"A = 1\nreturn NOPE\n", [":2:8:", "'NOPE'"]),
        (b"", ["no instructions"]),
    ],
)  # fmt: skip
def test_disasm_invalid_file_is_one_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, parts: list[str]
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    code, out, err = run(capsys, "disasm", str(path))
    assert (code, out) == (1, "")
    one_error_line(err, f"{path}", *parts)


def test_disasm_missing_file_and_unknown_arch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, raw_file: Path
) -> None:
    code, _, err = run(capsys, "disasm", str(tmp_path / "missing"))
    assert code == 1
    one_error_line(err, "missing", "No such file or directory")
    code, _, err = run(capsys, "disasm", str(raw_file), "--arch", "vax")
    assert code == 1
    one_error_line(err, "unknown architecture 'vax'")


# --- emu -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "result", "executed"),
    [
        (["ptrace"], "ERRNO(1)", 5),
        ([str(PTRACE_X86_64)], "ERRNO(1)", 5),
        (["getpid"], "ALLOW", 7),
        (["getpid", "0", "0x100000000"], "ERRNO(1)", 7),  # args[1] >> 32 == 1
        (["getpid", "0", "0x1ffffffff"], "ERRNO(1)", 7),
        (["getpid", "0", "-1"], "ALLOW", 7),  # -1 is 0xffffffffffffffff: high word not 1
    ],
)
def test_emu_prints_result_and_count(
    capsys: pytest.CaptureFixture[str],
    raw_file: Path,
    argv: list[str],
    result: str,
    executed: int,
) -> None:
    code, out, err = run(capsys, "emu", str(raw_file), "--arch", "x86_64", *argv)
    assert (code, err) == (0, "")
    assert out.splitlines() == [result, f"{executed} instructions executed"]


def test_emu_other_arch_is_killed(capsys: pytest.CaptureFixture[str], text_file: Path) -> None:
    code, out, _ = run(capsys, "emu", str(text_file), "--arch", "i386", "getpid")
    assert code == 0
    assert out.splitlines()[0] == "KILL_PROCESS"


def test_emu_verbose_prints_the_path(capsys: pytest.CaptureFixture[str], text_file: Path) -> None:
    code, out, _ = run(capsys, "emu", str(text_file), "--arch", "x86_64", "ptrace", "-v")
    assert code == 0
    lines = out.splitlines()
    assert [int(line[1:5]) for line in lines[:-2]] == [0, 1, 2, 3, 7]
    assert all(LISTING_LINE.fullmatch(line) for line in lines[:-2])
    assert lines[3].endswith("if (A == ptrace) goto 0007")
    assert lines[-2:] == ["ERRNO(1)", "5 instructions executed"]


def test_emu_json(capsys: pytest.CaptureFixture[str], raw_file: Path) -> None:
    code, out, _ = run(
        capsys, "emu", str(raw_file), "--arch", "x86_64", "ptrace", "1", "2", "--ip", "0x1000",
        "--json",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert report["ret"] == op.SECCOMP_RET_ERRNO | 1
    assert report["action"] == "ERRNO"
    assert report["data"] == 1
    assert report["errno"] == 1
    assert report["result"] == "ERRNO(1)"
    assert report["executed"] == 5
    assert report["path"] == [0, 1, 2, 3, 7]
    assert report["nr"] == PTRACE_X86_64
    assert report["arch"] == "x86_64"


def test_emu_reads_the_instruction_pointer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "ip.txt"
    path.write_text("A = instruction_pointer >> 32\nreturn A\n")
    code, out, _ = run(
        capsys, "emu", str(path), "--arch", "x86_64", "0", "--ip", "0x7fff00050000", "--json"
    )
    assert code == 0
    assert json.loads(out)["ret"] == 0x7FFF


@pytest.mark.parametrize(
    ("argv", "parts"),
    [
        (["nosuchcall"], ["NR", "no system call 'nosuchcall' on x86_64"]),
        (["0x100000000"], ["does not fit in 32 bits"]),
        (["0", "1", "2", "3", "4", "5", "6", "7"], ["at most 6 arguments"]),
    ],
)
def test_emu_bad_arguments(
    capsys: pytest.CaptureFixture[str], raw_file: Path, argv: list[str], parts: list[str]
) -> None:
    code, out, err = run(capsys, "emu", str(raw_file), "--arch", "x86_64", *argv)
    assert (code, out) == (1, "")
    one_error_line(err, *parts)


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("abc", "argument 0: unknown constant 'abc' on x86_64"),
        ("0x1" + "0" * 16, "argument 0: '0x10000000000000000' does not fit in 64 bits"),
        (str(-(1 << 63) - 1), "does not fit in 64 bits"),
        ("AF_INET|-1", "only non-negative values can be joined with '|'"),
    ],
)
def test_emu_argument_that_is_not_a_64_bit_value(
    capsys: pytest.CaptureFixture[str], raw_file: Path, value: str, phrase: str
) -> None:
    code, out, err = run(capsys, "emu", str(raw_file), "--arch", "x86_64", "0", value)
    assert (code, out) == (1, "")
    one_error_line(err, phrase)


def test_emu_takes_constant_names_with_the_architecture_s_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # O_CREAT is 0x40 on x86_64 and 0x100 on mips: the --arch decides
    path = tmp_path / "creat.txt"
    path.write_text(
        "A = args[2]\nif (A & 0x100) goto creat\nreturn ALLOW\ncreat:\nreturn ERRNO(13)\n"
    )
    for arch, result in (("x86_64", "ALLOW"), ("mips", "ERRNO(13)")):
        code, out, _ = run(
            capsys, "emu", str(path), "--arch", arch, "openat", "AT_FDCWD", "0", "O_WRONLY|O_CREAT"
        )
        assert (code, out.splitlines()[0]) == (0, result)
    code, out, _ = run(capsys, "emu", str(path), "--arch", "x86_64", "0", "0", "0", "256", "--json")
    assert json.loads(out)["result"] == "ERRNO(13)"


def test_emu_invalid_program(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("A = 1\ngoto 0000\nreturn A\n")
    code, out, err = run(capsys, "emu", str(path), "0")
    assert (code, out) == (1, "")
    one_error_line(err, f"{path}:2:6:", "forward only")


def test_commands_never_print_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.bpf"
    path.write_bytes(b"\x00" * 12)
    for command in (["disasm", str(path)], ["emu", str(path), "0"]):
        completed = subprocess.run(
            [sys.executable, "-m", "seccomp_bpf", *command],
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 1
        one_error_line(completed.stderr, str(path), "whole number of 8-byte instructions")


@settings(max_examples=150, deadline=None)
@given(
    program=seccomp_programs() | valid_programs(),
    arch_name=st.sampled_from(["x86_64", "x32", "i386", "aarch64", "s390x", "ppc64", "mips64"]),
)
def test_what_disasm_prints_asm_reads_back_with_real_names(
    program: Program, arch_name: str
) -> None:
    # the same symbols the commands use, for little- and big-endian architectures
    arch = get_arch(arch_name)
    symbols = ArchSymbols(default=arch)
    listing = disassemble(program, symbols=symbols, byteorder=arch.byteorder)
    assert assemble(listing, symbols=symbols, byteorder=arch.byteorder) == program


# --- the shipped example -------------------------------------------------------------------------

EXAMPLE_CLAIM = re.compile(r"#\s+seccomp-bpf emu (\S+) (.*?)\s+=> (\S+)$")


def _example_claims() -> Iterator[tuple[str, str]]:
    for line in EXAMPLE.read_text().splitlines():
        match = EXAMPLE_CLAIM.match(line)
        if match:
            yield match.group(2), match.group(3)


def test_the_example_makes_claims() -> None:
    claims = list(_example_claims())
    assert len(claims) >= 4
    assert {result for _, result in claims} == {"ERRNO(1)", "ALLOW", "KILL_PROCESS"}


@pytest.mark.parametrize(("arguments", "result"), list(_example_claims()))
def test_the_example_does_what_its_comments_say(
    capsys: pytest.CaptureFixture[str], arguments: str, result: str
) -> None:
    code, out, err = run(capsys, "emu", str(EXAMPLE), *arguments.split())
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == result


def test_the_example_assembles_and_reads_back(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = tmp_path / "deny-ptrace.bpf"
    assert run(capsys, "asm", str(EXAMPLE), "-o", str(raw))[0] == 0
    code, listing, _ = run(capsys, "disasm", str(raw), "--arch", "x86_64")
    assert code == 0
    assert "if (A == ptrace) goto" in listing
    assert assemble(listing, symbols=ArchSymbols(default=get_arch("x86_64"))) == (
        Program.from_bytes(raw.read_bytes())
    )


# --- a filter libseccomp wrote -------------------------------------------------------------------

LIBSECCOMP = ctypes.util.find_library("seccomp")


class ScmpArgCmp(ctypes.Structure):
    """``struct scmp_arg_cmp`` (<seccomp.h>)."""

    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


SCMP_ACT_ALLOW = 0x7FFF0000  # <seccomp.h>
SCMP_CMP_EQ = 4  # enum scmp_compare in <seccomp.h>


def _libseccomp_filter(path: Path) -> None:
    """personality(0xffffffff) -> ERRNO(1), everything else ALLOW, on x86_64 + x32 + x86."""
    lib = ctypes.CDLL(LIBSECCOMP, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(ScmpArgCmp),
    ]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]

    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    assert ctx
    try:
        for arch in (b"x32", b"x86"):
            assert lib.seccomp_arch_add(ctx, lib.seccomp_arch_resolve_name(arch)) == 0
        nr = lib.seccomp_syscall_resolve_name(b"personality")
        comparison = ScmpArgCmp(0, SCMP_CMP_EQ, 0xFFFFFFFF, 0)
        errno_1 = op.SECCOMP_RET_ERRNO | 1
        assert lib.seccomp_rule_add_array(ctx, errno_1, nr, 1, ctypes.byref(comparison)) == 0
        with path.open("wb") as file:
            assert lib.seccomp_export_bpf(ctx, file.fileno()) == 0
    finally:
        lib.seccomp_release(ctx)


@pytest.mark.skipif(LIBSECCOMP is None, reason="libseccomp is not installed")
@pytest.mark.skipif(
    sys.platform != "linux" or get_arch("native").name != "x86_64",
    reason="the arches and numbers checked are x86's",
)
def test_a_libseccomp_filter_disassembles_and_emulates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "libseccomp.bpf"
    _libseccomp_filter(path)
    program = Program.from_bytes(path.read_bytes())

    code, listing, err = run(capsys, "disasm", str(path), "--arch", "x86_64")
    assert (code, err) == (0, "")
    lines = listing.splitlines()
    assert len(lines) == 2 + len(program)
    assert all(LISTING_LINE.fullmatch(line) for line in lines[2:])
    assert "ARCH_X86_64" in listing and "ARCH_I386" in listing
    assert "personality" in listing
    symbols = ArchSymbols(default=get_arch("x86_64"))
    assert assemble(listing, symbols=symbols) == program

    for arch, call, arg, expected in [
        ("x86_64", "personality", "0xffffffff", "ERRNO(1)"),
        ("x86_64", "personality", "0", "ALLOW"),
        ("x86_64", "personality", "0x1ffffffff", "ALLOW"),  # the 64-bit value differs
        ("x32", "personality", "0xffffffff", "ERRNO(1)"),
        ("i386", "personality", "0xffffffff", "ERRNO(1)"),
        ("i386", "getpid", "0xffffffff", "ALLOW"),
    ]:
        code, out, err = run(capsys, "emu", str(path), "--arch", arch, call, arg, "--json")
        assert (code, err) == (0, ""), (arch, call)
        assert json.loads(out)["result"] == expected, (arch, call, arg)
