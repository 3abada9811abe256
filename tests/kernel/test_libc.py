"""``syscall()`` and ``prctl()`` through ctypes: argument widths and results."""

from __future__ import annotations

import errno
import sys

import pytest

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program, jump, load_abs, ret
from seccomp_bpf.kernel import set_mode_filter, set_no_new_privs
from seccomp_bpf.kernel.libc import SyscallResult, prctl, syscall
from seccomp_bpf.kernel.prctl import PR_GET_NO_NEW_PRIVS
from tests.kernel.forked import run_in_child

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux")

BASE_NR = 1000  # unassigned numbers from here on
SHIFTS = (0, 12, 20)  # three 12-bit windows cover a 32-bit word


def _word_offset(argument: int, high: bool) -> int:
    """Offset of the low or high word of args[argument] (<linux/seccomp.h>)."""
    first = op.OFFSET_ARGS + 8 * argument
    return first + 4 if high == (sys.byteorder == "little") else first


def _bits_reporter() -> Program:
    """For nr = BASE_NR + 6 * argument + 3 * high + window: fail with errno
    ``(word >> SHIFTS[window]) & 0xfff`` of that argument's word (0 returns 0)."""
    body: list[Instruction] = []
    count = 6 * 2 * len(SHIFTS)
    for index in range(count):
        argument, rest = divmod(index, 2 * len(SHIFTS))
        high, window = divmod(rest, len(SHIFTS))
        body += [
            jump(op.BPF_JEQ, BASE_NR + index, 0, 5),
            load_abs(_word_offset(argument, bool(high))),
            Instruction(op.BPF_ALU | op.BPF_RSH | op.BPF_K, k=SHIFTS[window]),
            Instruction(op.BPF_ALU | op.BPF_AND | op.BPF_K, k=0xFFF),
            Instruction(op.BPF_ALU | op.BPF_OR | op.BPF_K, k=op.SECCOMP_RET_ERRNO),
            Instruction(op.BPF_RET | op.BPF_A),
            load_abs(op.OFFSET_NR),
        ]
    return Program([load_abs(op.OFFSET_NR), *body, ret(op.SECCOMP_RET_ALLOW)])


def _arguments_seen_by_the_kernel(values: list[int]) -> list[list[int]]:
    set_no_new_privs()
    set_mode_filter(_bits_reporter())
    seen = []
    for value in values:
        arguments = []
        for argument in range(6):
            args = [0] * 6
            args[argument] = value
            words = []
            for high in (0, 1):
                word = 0
                for window, shift in enumerate(SHIFTS):
                    nr = BASE_NR + 6 * argument + 3 * high + window
                    result = syscall(nr, *args)
                    bits = result.errno if result.failed else result.value
                    word |= bits << shift
                words.append(word)
            arguments.append(words[0] | words[1] << 32)
        seen.append(arguments)
    return seen


VALUES = [0, 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1, 0x0123456789ABCDEF, -1, -(2**63)]


@pytest.mark.kernel
@linux_only
def test_the_kernel_sees_full_64_bit_arguments() -> None:
    if sys.maxsize <= 2**32:
        pytest.skip("a 32-bit process passes 32-bit arguments")
    seen = run_in_child(_arguments_seen_by_the_kernel, VALUES)
    for value, arguments in zip(VALUES, seen, strict=True):
        assert arguments == [value % 2**64] * 6, hex(value)


@linux_only
def test_a_failed_call_reports_errno() -> None:
    assert syscall(BASE_NR) == SyscallResult(-1, errno.ENOSYS)


@linux_only
def test_prctl_returns_its_value() -> None:
    assert prctl(PR_GET_NO_NEW_PRIVS).value in (0, 1)


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1])
def test_arguments_must_fit_in_a_register(value: int) -> None:
    with pytest.raises(ValueError, match="argument 2"):
        syscall(BASE_NR, 0, 0, value)


def test_at_most_six_arguments() -> None:
    with pytest.raises(ValueError, match="at most 6 arguments"):
        syscall(BASE_NR, *range(7))


def _ctypes_uses() -> dict[str, set[str]]:
    """For each module of the package that uses ctypes, what it uses of it: ``import``,
    ``CDLL`` (opens a library) and ``CFUNCTYPE`` (calls foreign code through a pointer)."""
    import ast
    from pathlib import Path

    import seccomp_bpf

    root = Path(seccomp_bpf.__file__).parent
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses: set[str] = set()
        for node in ast.walk(tree):
            imported = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            )
            if isinstance(node, ast.ImportFrom):
                imported = [node.module or ""]
            if any(name.split(".")[0] == "ctypes" for name in imported):
                uses.add("import")
            elif isinstance(node, ast.Attribute) and node.attr in ("CDLL", "CFUNCTYPE"):
                uses.add(node.attr)
        if uses:
            found[path.relative_to(root).as_posix()] = uses
    return found


def test_ctypes_is_in_kernel_only_and_the_c_library_is_opened_once() -> None:
    """What ``kernel/__init__``'s docstring says: ctypes only in ``kernel/``; the C library
    opened and its functions declared in ``libc.py`` alone; foreign code called through a
    pointer only in ``compat.py``."""
    uses = _ctypes_uses()
    assert all(module.startswith("kernel/") for module in uses), sorted(uses)
    assert [m for m, used in uses.items() if "CDLL" in used] == ["kernel/libc.py"]
    assert [m for m, used in uses.items() if "CFUNCTYPE" in used] == ["kernel/compat.py"]
