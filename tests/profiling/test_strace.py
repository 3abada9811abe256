"""Reading strace's output (``profiling/strace.py``): the samples of ``tests/data`` were
captured with strace 6.1 on x86_64 for a shell running a 32-bit program."""

from __future__ import annotations

import pytest

from seccomp_bpf.arch import native_arch
from seccomp_bpf.errors import RecordError
from seccomp_bpf.profiling.strace import read_strace
from tests.datafiles import STRACE_C_I386, STRACE_F_I386, STRACE_F_O_I386

pytestmark = pytest.mark.skipif(
    native_arch().name != "x86_64", reason="the samples are of x86_64 and i386"
)

# What the 32-bit program made: its loader's and its own calls (strace -c leaves exit_group
# out: it never returns).
I386_CALLS = {
    "access", "brk", "close", "getcwd", "mmap2", "mprotect", "munmap", "openat", "read",
    "rseq", "set_robust_list", "set_thread_area", "set_tid_address", "statx", "ugetrlimit",
}  # fmt: skip


def _read(path: object) -> dict[str, dict[str | int, int]]:
    with open(str(path), encoding="utf-8") as file:
        reading = read_strace(file, str(path))
    assert not reading.left_out
    return {abi: dict(calls) for abi, calls in reading.counts.items()}


def test_the_tables_of_strace_c_per_personality() -> None:
    counts = _read(STRACE_C_I386)
    assert set(counts) == {"x86_64", "i386"}
    assert set(counts["i386"]) == I386_CALLS
    assert counts["i386"]["mmap2"] == 7
    assert sum(counts["i386"].values()) == 26  # the table's total
    assert sum(counts["x86_64"].values()) == 70
    assert "total" not in counts["x86_64"]
    assert counts["x86_64"]["execve"] == 3


@pytest.mark.parametrize("path", [STRACE_F_I386, STRACE_F_O_I386])
def test_call_lines_with_and_without_the_personality_line(path: object) -> None:
    # With the line strace writes on its standard error, and without it (an -o file): the
    # 32-bit process's calls are i386's from its exec on, in both.
    counts = _read(path)
    assert set(counts["i386"]) == I386_CALLS | {"exit_group"}
    table = _read(STRACE_C_I386)
    assert {k: v for k, v in counts["i386"].items() if k != "exit_group"} == table["i386"]
    # The exec of the 32-bit program is made by the 64-bit shell: an x86_64 call.
    assert "execve" not in counts["i386"]
    assert counts["x86_64"]["execve"] >= 2


def test_prefixes_unfinished_calls_and_other_lines() -> None:
    lines = [
        '12:00:01.000001 execve("/bin/x", ["x"], 0x7ffd /* 3 vars */) = 0\n',
        '[pid  101] 1700000000.123456 openat(AT_FDCWD, "a", O_RDONLY) = 3\n',
        "101   +0.000010 read(3,  <unfinished ...>\n",
        '[pid   102] <... read resumed>"", 10) = 0\n',
        '[pid 102] [00007f00aa] [  0] read(3, "", 10) = 0\n',
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED} ---\n",
        "+++ exited with 0 +++\n",
        "strace: Process 102 attached\n",
        "[ Process PID=103 runs in x32 mode. ]\n",
        "[pid 103] getppid() = 1\n",
        "syscall_0x1c8(0x1, 0x2) = -1 ENOSYS (Function not implemented)\n",
        "[pid 104] not_a_call_of_any_abi() = 0\n",
        " > /usr/lib/libc.so.6(read+0x10) [0x1234]\n",
    ]
    reading = read_strace(lines)
    assert reading.counts == {
        "x86_64": {"execve": 1, "openat": 1, "read": 2, 0x1C8: 1},
        "x32": {"getppid": 1},
    }
    assert reading.left_out == {"x86_64": {"not_a_call_of_any_abi"}}


def test_nothing_to_read_is_an_error() -> None:
    with pytest.raises(RecordError, match=r"^out\.txt: neither a table of strace -c nor a call"):
        read_strace(["hello\n", "strace: Process 1 attached\n"], "out.txt")


def test_a_broken_table_row_names_its_line() -> None:
    table = [
        "% time     seconds  usecs/call     calls    errors syscall\n",
        "------ ----------- ----------- --------- --------- ----------------\n",
        "  0.00    0.000000           0        13           read\n",
        "  0.00    0.000000           0     lots            write\n",
    ]
    with pytest.raises(RecordError, match=r"^t\.txt:4: a row of strace's table without a call"):
        read_strace(table, "t.txt")
    assert read_strace(table[:3]).counts == {"x86_64": {"read": 13}}


def test_a_table_of_x32_mode() -> None:
    table = [
        "System call usage summary for x32 mode:\n",
        "% time     seconds  usecs/call     calls    errors syscall\n",
        "------ ----------- ----------- --------- --------- ----------------\n",
        "  0.00    0.000000           0         2           getppid\n",
        "------ ----------- ----------- --------- --------- ----------------\n",
        "100.00    0.000000           0         2           total\n",
        "% time     seconds  usecs/call     calls    errors syscall\n",
        "------ ----------- ----------- --------- --------- ----------------\n",
        "  0.00    0.000000           0         1         1 getcwd\n",
    ]
    assert read_strace(table).counts == {"x32": {"getppid": 2}, "x86_64": {"getcwd": 1}}
