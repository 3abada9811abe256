"""``watch_filters`` and ``seccomp-bpf dump -- CMD``: a real program installs filters (with
seccomp(2) and with prctl, in the process and in a child it forks, one the kernel refuses,
one through an i386 call), and each is caught as it is installed, exactly as passed.

The watcher runs in a forked child or in a ``python -m seccomp_bpf`` subprocess: the pytest
process never traces, waits for tracees, or holds a filter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program, ret
from seccomp_bpf.kernel.compat import has_i386_emulation
from seccomp_bpf.kernel.filter_watch import LoadedFilter, watch_filters
from tests.kernel.forked import run_in_child
from tests.kernel.programs import errno_for

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux"),
]

PYTHON = sys.executable
NOBODY = 65534

# A program that installs filters by itself, with ctypes and nothing of this package:
# argv: seccomp's and prctl's numbers on this ABI, then the files of three programs.
INSTALLER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
seccomp_nr, first, second, refused = int(sys.argv[1]), *sys.argv[2:5]

class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

kept = []
def fprog(path):
    data = open(path, "rb").read()
    buffer = ctypes.create_string_buffer(data, len(data))
    kept.append(buffer)
    return Fprog(len(data) // 8, ctypes.addressof(buffer))

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 1, 1
assert libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
assert libc.syscall(seccomp_nr, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                    ctypes.byref(fprog(first))) == 0
child = os.fork()
if child == 0:
    ok = libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog(second)), 0, 0) == 0
    failed = libc.syscall(seccomp_nr, SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(fprog(refused)))
    os._exit(0 if ok and failed == -1 and ctypes.get_errno() == 22 else 1)
_, status = os.waitpid(child, 0)
sys.exit(7 if os.waitstatus_to_exitcode(status) == 0 else 1)
"""


def programs(tmp_path: Path) -> tuple[Program, Program, bytes, list[str]]:
    """Two valid programs, one the kernel refuses (a jump past its end), and the
    installer's command line."""
    first, second = errno_for(1000, 1), errno_for(1001, 2)
    # JA past the end: what the kernel's checker refuses (EINVAL)
    refused = Instruction(op.BPF_JMP | op.BPF_JA, 0, 0, 5).to_bytes() + ret(
        op.SECCOMP_RET_ALLOW
    ).to_bytes()
    paths = []
    for name, data in (("a", first.to_bytes()), ("b", second.to_bytes()), ("c", refused)):
        path = tmp_path / f"{name}.bpf"
        path.write_bytes(data)
        paths.append(str(path))
    script = tmp_path / "installer.py"
    script.write_text(INSTALLER)
    seccomp_nr = native_arch().syscall_number("seccomp")
    assert seccomp_nr is not None
    return first, second, refused, [PYTHON, "-I", str(script), str(seccomp_nr), *paths]


Caught = tuple[int, str, str, int, bytes, int, bool]
"""(pid, ABI, call, flags, program, result, installed): a LoadedFilter that pickles."""


def watched(
    argv: list[str], limit: int | None = None, user: int | None = None
) -> tuple[list[Caught], int | None]:
    """In the forked child: watch ``argv`` (as ``user`` when given)."""
    if user is not None:
        from seccomp_bpf.kernel.prctl import set_dumpable

        os.setgroups([])
        os.setgid(user)
        os.setuid(user)
        set_dumpable(True)  # as a process the user started is (setuid cleared it)
    found: list[Caught] = []

    def keep(loaded: LoadedFilter) -> bool:
        found.append(
            (
                loaded.pid, loaded.arch.name, loaded.call, loaded.flags, loaded.program,
                loaded.result, loaded.installed,
            )
        )  # fmt: skip
        return limit is None or len(found) < limit

    status = watch_filters(argv, argv[0], keep)
    return found, status


def test_every_filter_is_caught_as_passed_with_its_outcome(tmp_path: Path) -> None:
    first, second, refused, argv = programs(tmp_path)
    found, status = run_in_child(watched, argv, timeout=30)
    assert status is not None and os.waitstatus_to_exitcode(status) == 7  # the command's own
    assert [(call, flags, installed) for _, _, call, flags, _, _, installed in found] == [
        ("seccomp", 1, True),  # TSYNC
        ("prctl", 0, True),
        ("seccomp", 0, False),
    ]
    assert [f[4] for f in found] == [first.to_bytes(), second.to_bytes(), refused]
    assert found[2][5] == -22  # EINVAL
    assert found[0][0] != found[1][0] == found[2][0]  # the forked child's
    assert {f[1] for f in found} == {native_arch().name}


def test_a_limit_kills_the_command(tmp_path: Path) -> None:
    first, _, _, argv = programs(tmp_path)
    found, status = run_in_child(watched, argv, 1, timeout=30)
    assert status is None
    assert [f[4] for f in found] == [first.to_bytes()]


I386_INSTALLER = r"""
import ctypes, mmap, sys
from seccomp_bpf.kernel.compat import i386_syscall
program = open(sys.argv[1], "rb").read()
# memory below 4 GiB, where an i386 call's pointers reach (MAP_32BIT, <asm/mman.h>)
memory = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40)
base = ctypes.addressof(ctypes.c_char.from_buffer(memory))
memory[64:64 + len(program)] = program
# struct compat_sock_fprog: u16 len, 2 bytes of padding, u32 filter
header = (len(program) // 8).to_bytes(2, "little") + b"\0\0" + (base + 64).to_bytes(4, "little")
memory[0:8] = header
assert i386_syscall(172, 38, 1, 0, 0, 0).value == 0            # prctl(PR_SET_NO_NEW_PRIVS)
assert i386_syscall(354, 1, 0, base).value == 0                # seccomp(SET_MODE_FILTER)
"""


def test_an_i386_call_s_filter_is_read_with_the_compat_layout(tmp_path: Path) -> None:
    # every 64-bit x86 process can make i386 calls: a filter installed so is caught too
    if native_arch().name != "x86_64" or not has_i386_emulation():
        pytest.skip("needs an x86-64 kernel with IA-32 emulation")
    program = errno_for(1002, 3)
    path = tmp_path / "p.bpf"
    path.write_bytes(program.to_bytes())
    script = tmp_path / "i386.py"
    script.write_text(I386_INSTALLER)
    found, status = run_in_child(watched, [PYTHON, str(script), str(path)], timeout=30)
    assert status is not None and os.waitstatus_to_exitcode(status) == 0
    ((_, arch, call, _, data, _, installed),) = found
    assert (arch, call, installed) == (get_arch("i386").name, "seccomp", True)
    assert data == program.to_bytes()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "seccomp_bpf", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )


def test_dump_command_prints_each_filter_and_passes_the_status_through(tmp_path: Path) -> None:
    first, second, refused, argv = programs(tmp_path)
    out = tmp_path / "f"
    done = cli("dump", "-o", str(out), "--", *argv)
    assert done.returncode == 7, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("seccomp-bpf: ")]
    assert len(lines) == 3
    assert "seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): filter 1, 4 instructions, installed" in (
        lines[0]
    )
    assert "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): filter 2, 4 instructions, installed" in (
        lines[1]
    )
    assert "filter 3, 2 instructions, refused (EINVAL: Invalid argument)" in lines[2]
    assert done.stdout.count(" line  CODE  JT   JF      K") == 2  # the refused one: not valid
    assert "return ERRNO(1)" in done.stdout and "return ERRNO(2)" in done.stdout
    for number, data in ((1, first.to_bytes()), (2, second.to_bytes()), (3, refused)):
        assert Path(f"{out}.{number}").read_bytes() == data


def test_an_unprivileged_user_watches_its_own_command() -> None:
    # no CAP_SYS_ADMIN (PTRACE_SECCOMP_GET_FILTER's need): the programs come from memory
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    system_python = Path("/usr/bin/python3")
    if not system_python.exists():
        pytest.skip("no /usr/bin/python3 that another user can run")
    with tempfile.TemporaryDirectory() as directory:
        shared = Path(directory)
        shared.chmod(0o755)
        first, second, refused, argv = programs(shared)
        for path in shared.iterdir():
            path.chmod(0o644)
        argv = [str(system_python), *argv[1:]]
        found, status = run_in_child(watched, argv, None, NOBODY, timeout=30)
    assert status is not None and os.waitstatus_to_exitcode(status) == 7
    assert [f[4] for f in found] == [first.to_bytes(), second.to_bytes(), refused]
    assert [f[6] for f in found] == [True, True, False]


def test_dump_command_without_filters_and_with_a_limit(tmp_path: Path) -> None:
    done = cli("dump", "--", "true")
    assert (done.returncode, done.stdout) == (0, "seccomp-bpf: true installed no seccomp filter\n")
    _, _, _, argv = programs(tmp_path)
    limited = cli("dump", "--limit", "1", "--", *argv)
    assert limited.returncode == 0, limited.stderr
    assert limited.stdout.count("seccomp-bpf: pid") == 1
