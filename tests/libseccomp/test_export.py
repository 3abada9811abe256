"""Exporting a filter (``seccomp_bpf/libseccomp/export.py``): raw records in the byte order
of the filter's architectures, as libseccomp writes them, and libseccomp's errors."""

from __future__ import annotations

import errno
import os

import pytest

from seccomp_bpf.arch import get_arch
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import ByteOrder, Program
from seccomp_bpf.errors import InvalidProgramError
from seccomp_bpf.libseccomp import ALLOW, EQ, ERRNO, KILL, Arch, Arg, Attr, SyscallFilter

# (token, our name); the exported bytes are read back in the arch's own order only
ARCHES = [
    (Arch.S390X, "s390x"),
    (Arch.PPC64, "ppc64"),
    (Arch.MIPS64, "mips64"),
    (Arch.PPC, "ppc"),
    (Arch.X86_64, "x86_64"),
    (Arch.AARCH64, "aarch64"),
]


@pytest.mark.parametrize(("token", "name"), ARCHES, ids=[name for _, name in ARCHES])
def test_export_bpf_is_in_the_targets_byte_order(token: int, name: str, tmp_path: object) -> None:
    arch = get_arch(name)
    f = SyscallFilter(KILL)
    f.remove_arch(Arch.NATIVE)
    f.add_arch(token)
    f.add_rule(ALLOW, "read")
    f.add_rule(ERRNO(13), "write", Arg(0, EQ, 2))
    data = f.export_bpf_mem()
    program = Program.from_bytes(data, arch.byteorder)
    assert program == f.program()

    def ret(call: str, first: int = 0) -> int:
        padded = (first, 0, 0, 0, 0, 0)
        nr = arch.syscalls[call]
        data = SeccompData(nr, arch.audit_arch, 0, padded, byteorder=arch.byteorder)
        return emulate(program, data).ret

    assert ret("read") == ALLOW
    assert ret("write", 2) == ERRNO(13)
    assert ret("write", 1) == KILL
    other: ByteOrder = "little" if arch.byteorder == "big" else "big"
    with pytest.raises(InvalidProgramError):
        Program.from_bytes(data, other)
    path = os.path.join(str(tmp_path), "filter.bpf")
    with open(path, "wb") as out:
        f.export_bpf(out)
    with open(path, "rb") as back:
        assert back.read() == data


def test_mixed_byte_orders_are_refused_as_libseccomp_does() -> None:
    f = SyscallFilter(KILL)
    f.remove_arch(Arch.NATIVE)
    f.add_arch(Arch.S390X)
    with pytest.raises(RuntimeError, match=rf"errno = -{errno.EDOM}"):
        f.add_arch(Arch.X86_64)


def test_export_to_a_closed_descriptor_is_a_runtime_error() -> None:
    # as libseccomp's 57-basic-rawsysrc: the file object is open, its descriptor is not
    f = SyscallFilter(ALLOW)
    with open(os.devnull, "w") as dummy:
        os.close(dummy.fileno())
        with pytest.raises(RuntimeError, match=rf"errno = -{errno.ECANCELED}\)"):
            f.export_pfc(dummy)
        with pytest.raises(RuntimeError, match=rf"errno = -{errno.ECANCELED}\)"):
            f.export_bpf(dummy)
        f.set_attr(Attr.API_SYSRAWRC, 1)
        with pytest.raises(RuntimeError, match=rf"errno = -{errno.EBADF}\)"):
            f.export_bpf(dummy)
        os.dup2(os.open(os.devnull, os.O_WRONLY), dummy.fileno())  # let close() succeed
