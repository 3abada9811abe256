"""``seccomp-bpf dump PID [-o OUT] [--disasm]``: the filters of a live process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.cli import main
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.formats.yaml_policy import read_yaml_policy
from tests.kernel.filtered_process import filtered_process
from tests.kernel.programs import errno_for

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

# What the filtered child needs (read, write, exit_group) is allowed by default.
POLICY = """\
default_action: allow
arches: [native]
syscalls:
  - names: [getcwd, chdir]
    action: errno(EPERM)
  - names: [kill]
    action: errno(EACCES)
    when: {arg: 1, op: eq, value: 9}
  - names: [kexec_load, mount]
    action: kill_process
"""


def test_the_dumped_program_is_the_compiled_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    policy = read_yaml_policy(path)
    compiled = compile_policy(policy)
    out = tmp_path / "dumped.bpf"
    with filtered_process([compiled]) as pid:
        assert main(["dump", str(pid), "-o", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"process {pid}: seccomp mode 2 (filter), 1 filter",
        f"filter 0: {len(compiled)} instructions, written to {out}",
    ]
    dumped = Program.from_bytes(out.read_bytes())
    assert dumped == compiled
    # And it decides like the policy on every number of this architecture, and beyond.
    arch = native_arch()
    numbers = [*range(max(arch.syscalls.values()) + 64), 0x40000000 | 2, 0xFFFFFFFF]
    kill = arch.syscall_number("kill")
    assert kill is not None
    for nr in numbers:
        for args in ((0,) * 6, (0, 9, 0, 0, 0, 0)):
            data = SeccompData(nr, arch.audit_arch, 0, args)
            expected = policy.evaluate(arch, nr, args).ret_value
            assert emulate(dumped, data).ret == expected, (nr, args)
    assert policy.evaluate(arch, kill, (0, 9)).describe() == "errno(EACCES)"


def test_several_filters_most_recent_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = errno_for(1000, 1), errno_for(1001, 2)
    out = tmp_path / "f.bpf"
    with filtered_process([first, second]) as pid:
        assert main(["dump", str(pid), "-o", str(out), "--disasm"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == f"process {pid}: seccomp mode 2 (filter), 2 filters"
    assert f"filter 0 (most recent): 4 instructions, written to {out}\n" in text
    assert f"filter 1: 4 instructions, written to {out}.1\n" in text
    assert Program.from_bytes(out.read_bytes()) == second
    assert Program.from_bytes(Path(f"{out}.1").read_bytes()) == first
    # Each listing follows its summary line, newest first.
    assert text.index("return ERRNO(2)") < text.index("filter 1:") < text.index("return ERRNO(1)")


def test_a_process_without_filters(capsys: pytest.CaptureFixture[str]) -> None:
    with filtered_process([]) as pid:
        assert main(["dump", str(pid)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"process {pid}: seccomp mode 0 (disabled), no filter"
    ]


def test_a_missing_process(capsys: pytest.CaptureFixture[str]) -> None:
    with filtered_process([]) as pid:
        pass  # reaped when the block ends
    assert main(["dump", str(pid)]) == 1
    assert capsys.readouterr().err == f"seccomp-bpf: error: dump: no process {pid}\n"


@pytest.mark.parametrize("pid", ["0", "-3"])
def test_a_pid_must_be_a_positive_number(pid: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", pid]) == 1
    assert capsys.readouterr().err == f"seccomp-bpf: error: dump: not a process id: {pid!r}\n"
    # anything else names a command to run
    assert main(["dump", "--", "no-such-command-here"]) == 127
    assert "no-such-command-here: command not found" in capsys.readouterr().err
