"""``seccomp-bpf compile`` and ``seccomp-bpf emu POLICY``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import SEARCHES, compile_policy
from seccomp_bpf.formats import read_policy_file
from tests.compiler.test_search import longest_path

POLICY = """\
default_action: errno(EPERM)
arches: [x86_64, i386]
syscalls:
  - names: [read, write, close, exit_group]
    action: allow
  - names: [openat]
    action: errno(EACCES)
    when: {arg: 0, op: eq, value: -100, width: 32}
  - names: [openat]
    action: allow
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_raw_output_is_the_compiled_program(policy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.bpf"
    assert main(["compile", str(policy_file), "-o", str(out)]) == 0
    program = Program.from_bytes(out.read_bytes())
    assert program == compile_policy(read_policy_file(policy_file))


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [("c", "struct sock_filter filter[]"), ("hex", "0020 00 00 00000004"), ("disasm", "A = arch")],
)
def test_text_formats(
    policy_file: Path, fmt: str, marker: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(policy_file), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert marker in out
    program = compile_policy(read_policy_file(policy_file))
    if fmt == "hex":
        assert len(out.splitlines()) == len(program)


def test_stats_report_every_arch(
    policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", str(policy_file), "-o", str(tmp_path / "o"), "--stats"]) == 0
    err = capsys.readouterr().err
    assert "length:" in err and "x86_64:" in err and "i386:" in err


def test_arch_override(policy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.bpf"
    assert main(["compile", str(policy_file), "--arch", "aarch64", "-o", str(out)]) == 0
    program = Program.from_bytes(out.read_bytes())
    aarch64 = get_arch("aarch64")
    read = aarch64.syscall_number("read")
    assert read is not None
    assert emulate(program, SeccompData(read, aarch64.audit_arch)).action.name == "ALLOW"


def test_frequency_profile(policy_file: Path, tmp_path: Path) -> None:
    freq = tmp_path / "freq.json"
    freq.write_text(json.dumps({"x86_64": {"close": 1000, "read": 1}}))
    assert (
        main(["compile", str(policy_file), "--frequency", str(freq), "-o", str(tmp_path / "o")])
        == 0
    )


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("default_action: allow\nsyscalls:\n  - names: [reed]\n    action: allow\n", "reed"),
        ("default_action: sometimes\n", "sometimes"),
        ("default_action: allow\nbogus: 1\n", "bogus"),
    ],
)
def test_bad_policy_is_one_line_exit_1(
    tmp_path: Path, text: str, phrase: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["compile", str(path), "-o", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and phrase in err and str(path) in err


def test_emu_on_a_policy_names_the_rule(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emu", str(policy_file), "--arch", "x86_64", "openat", "-100"]) == 0
    out = capsys.readouterr().out
    assert "ERRNO(13)" in out
    assert f"rule 2 ({policy_file}:6:5)" in out
    assert main(["emu", str(policy_file), "--arch", "x86_64", "mount", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["result"] == "ERRNO(1)" and report["decided_by"] == "default action"


def test_emu_foreign_arch_on_a_policy(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emu", str(policy_file), "--arch", "aarch64", "read"]) == 0
    out = capsys.readouterr().out
    assert "KILL_PROCESS" in out and "bad architecture" in out


@pytest.mark.parametrize("arch_name", ["s390x", "ppc64"])
def test_raw_output_for_a_big_endian_arch(
    arch_name: str, policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """compile and convert write a big-endian target's program big-endian; emu, disasm and
    explain read it back with --arch in that order."""
    arch = get_arch(arch_name)
    out, converted = tmp_path / "out.bpf", tmp_path / "converted.bpf"
    assert main(["compile", str(policy_file), "--arch", arch_name, "-o", str(out)]) == 0
    convert = ["convert", str(policy_file), "--arch", arch_name, "--to", "raw"]
    assert main([*convert, "-o", str(converted)]) == 0
    assert out.read_bytes() == converted.read_bytes()
    expected = compile_policy(read_policy_file(str(policy_file), arches=[arch_name]))
    assert Program.from_bytes(out.read_bytes(), "big") == expected
    capsys.readouterr()
    assert main(["emu", str(out), "--arch", arch_name, "openat", "-100"]) == 0
    assert capsys.readouterr().out.startswith("ERRNO(13)")
    assert main(["emu", str(out), "--arch", arch_name, "openat", "3"]) == 0
    assert capsys.readouterr().out.startswith("ALLOW")
    assert main(["disasm", str(out), "--arch", arch_name]) == 0
    assert f"ARCH_{arch.name.upper()}" in capsys.readouterr().out
    assert main(["explain", str(out), "--arch", arch_name, "--format", "summary"]) == 0
    assert "openat" in capsys.readouterr().out
    # in this machine's (little-endian) order the file is no program
    assert main(["emu", str(out), "--arch", "x86_64", "read"]) == 1
    assert "not a classic-BPF instruction" in capsys.readouterr().err


def test_raw_output_needs_one_byte_order(
    policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.bpf"
    args = ["compile", str(policy_file), "--arch", "x86_64", "--arch", "s390x", "-o", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "one byte order" in err and "big-endian: s390x" in err and not out.exists()
    assert main([*args[:-2], "--format", "c"]) == 0


def _set_policy(tmp_path: Path) -> Path:
    """One rule ``ioctl: arg1 in [200 spread values]``, a set worth searching."""
    values = [0x1000 + 0x9E37 * i * 2 for i in range(200)]
    path = tmp_path / "set.yaml"
    path.write_text(
        "default_action: errno(EPERM)\narches: [x86_64]\nsyscalls:\n"
        "  - names: [ioctl]\n    action: allow\n"
        f"    when: {{arg: 1, op: in, value: {values}}}\n"
    )
    return path


def test_search_compact_writes_the_shorter_program_that_decides_alike(tmp_path: Path) -> None:
    path = _set_policy(tmp_path)
    programs = {}
    for search in SEARCHES:
        out = tmp_path / f"{search}.bpf"
        assert main(["compile", str(path), "--search", search, "-o", str(out)]) == 0
        programs[search] = Program.from_bytes(out.read_bytes())
        assert programs[search] == compile_policy(read_policy_file(path), search=search)
    balanced, compact = programs["balanced"], programs["compact"]
    default = tmp_path / "default.bpf"
    assert main(["compile", str(path), "-o", str(default)]) == 0
    assert Program.from_bytes(default.read_bytes()) == balanced
    # one chain: fewer instructions, a longer worst path
    assert len(compact) < len(balanced)
    assert longest_path(compact) > 200 > longest_path(balanced)
    x86_64 = get_arch("x86_64")
    ioctl = x86_64.syscalls["ioctl"]
    for value in (0, 0x1000, 0x1001, 0x1000 + 0x9E37 * 398, 0x1000 + 0x9E37 * 399, 1 << 32):
        data = SeccompData(ioctl, x86_64.audit_arch, 0, (0, value, 0, 0, 0, 0))
        assert emulate(compact, data).ret == emulate(balanced, data).ret, hex(value)


def test_search_choices_are_the_compilers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compile", "--help"])
    assert exit_info.value.code == 0
    assert f"--search {{{','.join(SEARCHES)}}}" in capsys.readouterr().out


def test_an_unknown_search_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.bpf"
    with pytest.raises(SystemExit) as exit_info:
        main(["compile", str(_set_policy(tmp_path)), "--search", "tree", "-o", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --search: invalid choice: 'tree'" in err
    assert "Traceback" not in err and not out.exists()
