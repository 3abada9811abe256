"""Tests for seccomp_bpf.arch.registry: the set of ABIs, their audit values and tables, lookups."""

from __future__ import annotations

import os
import re
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seccomp_bpf.arch import (
    IPC_CALLS,
    SOCKETCALL_CALLS,
    all_arches,
    arch_for_machine,
    arch_for_syscall,
    arches_by_audit,
    dispatched_arch,
    get_arch,
    known_syscall_names,
    lookup_arch,
    native_arch,
)
from seccomp_bpf.errors import UnknownArchError
from tests.arch import kernel_header_reader as headers
from tests.arch import libseccomp_reference

ARCH_NAMES = [arch.name for arch in all_arches()]

# The libseccomp set (src/arch.c of libseccomp 2.6), which every user of Docker profiles meets.
LIBSECCOMP_SET = {
    "x86_64", "i386", "x32", "aarch64", "arm", "riscv64", "loongarch64", "ppc", "ppc64",
    "ppc64le", "s390", "s390x", "mips", "mipsel", "mips64", "mipsel64", "mips64n32",
    "mipsel64n32", "parisc", "parisc64", "m68k", "sh", "sheb",
}  # fmt: skip

# AUDIT_ARCH values as libseccomp and audit(8) print them; each is the <linux/audit.h>
# definition worked out by hand (EM_* | 64BIT 0x80000000 | LE 0x40000000 | N32 0x20000000).
EXPECTED_AUDIT = {
    "x86_64": 0xC000003E, "i386": 0x40000003, "x32": 0xC000003E, "aarch64": 0xC00000B7,
    "arm": 0x40000028, "armeb": 0x28, "riscv64": 0xC00000F3, "riscv32": 0x400000F3,
    "loongarch64": 0xC0000102, "loongarch32": 0x40000102, "ppc": 0x14, "ppc64": 0x80000015,
    "ppc64le": 0xC0000015, "s390": 0x16, "s390x": 0x80000016, "mips": 0x8,
    "mipsel": 0x40000008, "mips64": 0x80000008, "mipsel64": 0xC0000008,
    "mips64n32": 0xA0000008, "mipsel64n32": 0xE0000008, "parisc": 0xF,
    "parisc64": 0x8000000F, "m68k": 0x4, "sh": 0x4000002A, "sheb": 0x2A,
    "alpha": 0xC0009026, "sparc": 0x2, "sparc64": 0x8000002B, "arcv2": 0x400000C3,
    "arcv2be": 0xC3, "arcompact": 0x4000005D, "arcompactbe": 0x5D, "csky": 0x400000FC,
    "hexagon": 0xA4, "openrisc": 0x5C, "nios2": 0x40000071, "microblaze": 0xBD,
    "xtensa": 0x5E,
}  # fmt: skip

# A few numbers per ABI, from the kernel's tables: arch/x86/entry/syscalls/syscall_{64,32}.tbl,
# include/uapi/asm-generic/unistd.h (aarch64, riscv, loongarch, arc, csky, hexagon, openrisc,
# nios2), arch/arm/tools/syscall.tbl (+ __ARM_NR_BASE 0x0f0000), arch/powerpc, s390, mips,
# parisc, m68k, sh, alpha, sparc, microblaze and xtensa .../syscalls/syscall*.tbl.
KNOWN_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {"read": 0, "write": 1, "execve": 59, "socket": 41, "openat": 257, "clone3": 435},
    "i386": {"read": 3, "execve": 11, "socketcall": 102, "ipc": 117, "socket": 359},
    "x32": {"read": 0x40000000, "execve": 0x40000208, "readv": 0x40000203,
            "rt_sigaction": 0x40000200, "openat": 0x40000101},
    "aarch64": {"openat": 56, "close": 57, "read": 63, "execve": 221, "socket": 198},
    "arm": {"read": 3, "execve": 11, "socket": 281, "openat": 322, "set_tls": 0x0F0005,
            "cacheflush": 0x0F0002},
    "armeb": {"read": 3, "socket": 281},
    "riscv64": {"openat": 56, "read": 63, "riscv_flush_icache": 259},
    "riscv32": {"read": 63, "clock_gettime64": 403},
    "loongarch64": {"openat": 56, "read": 63, "execve": 221},
    "loongarch32": {"read": 63, "execve": 221},
    "ppc": {"read": 3, "socketcall": 102, "ipc": 117, "socket": 326, "openat": 286},
    "ppc64": {"read": 3, "socket": 326, "exit_group": 234},
    "ppc64le": {"read": 3, "socket": 326, "exit_group": 234},
    "s390": {"read": 3, "socketcall": 102, "socket": 359, "openat": 288},
    "s390x": {"read": 3, "socketcall": 102, "ipc": 117, "socket": 359, "exit_group": 248},
    "mips": {"read": 4003, "execve": 4011, "socketcall": 4102, "socket": 4183},
    "mipsel": {"read": 4003, "openat": 4288},
    "mips64": {"read": 5000, "execve": 5057, "socket": 5040, "openat": 5247},
    "mipsel64": {"read": 5000, "close": 5003},
    "mips64n32": {"read": 6000, "execve": 6057, "socket": 6040, "openat": 6251},
    "mipsel64n32": {"read": 6000, "clock_gettime64": 6403},
    "parisc": {"read": 3, "socket": 17, "openat": 275, "_llseek": 140},
    "parisc64": {"read": 3, "socket": 17, "exit_group": 222},
    "m68k": {"read": 3, "socketcall": 102, "socket": 356, "cacheflush": 123},
    "sh": {"read": 3, "socketcall": 102, "socket": 340, "openat": 295},
    "sheb": {"read": 3, "socket": 340},
    "alpha": {"read": 3, "getxpid": 20, "execve": 59, "socket": 97, "openat": 450},
    "sparc": {"read": 3, "execve": 59, "socketcall": 206, "ipc": 215, "socket": 97},
    "sparc64": {"read": 3, "socketcall": 206, "openat": 284},
    "arcv2": {"read": 63, "cacheflush": 244, "openat": 56},
    "arcv2be": {"read": 63},
    "arcompact": {"read": 63},
    "arcompactbe": {"read": 63},
    "csky": {"read": 63, "openat": 56},
    "hexagon": {"read": 63, "openat": 56},
    "openrisc": {"read": 63, "openat": 56},
    "nios2": {"read": 63, "openat": 56},
    "microblaze": {"read": 3, "socketcall": 102, "socket": 345, "openat": 295},
    "xtensa": {"open": 8, "read": 12, "socket": 96, "execve": 117, "openat": 288},
}  # fmt: skip


def test_every_abi_is_described_here() -> None:
    assert set(ARCH_NAMES) == set(EXPECTED_AUDIT) == set(KNOWN_NUMBERS)
    assert set(ARCH_NAMES) >= LIBSECCOMP_SET
    assert len(ARCH_NAMES) == len(set(ARCH_NAMES))


@pytest.mark.parametrize("name", ARCH_NAMES)
def test_audit_value(name: str) -> None:
    assert get_arch(name).audit_arch == EXPECTED_AUDIT[name]


@pytest.mark.parametrize("name", ARCH_NAMES)
def test_known_numbers(name: str) -> None:
    arch = get_arch(name)
    for syscall, number in KNOWN_NUMBERS[name].items():
        assert arch.syscall_number(syscall) == number, syscall
        assert arch.syscalls[syscall] == number
        assert arch.is_known(number)


@pytest.mark.parametrize("name", ARCH_NAMES)
def test_table_is_consistent(name: str) -> None:
    arch = get_arch(name)
    assert len(arch.syscalls) > 250
    for syscall, number in arch.syscalls.items():
        found = arch.syscall_name(number)
        assert found is not None
        assert arch.syscall_number(found) == number, (syscall, found)
        if arch.syscall_nr_mask_bit:
            assert number & arch.syscall_nr_mask_bit
        if arch.syscall_nr_base:
            assert arch.syscall_nr_base <= number < arch.syscall_nr_base + 1000


def test_word_size_and_byte_order() -> None:
    for arch in all_arches():
        # The audit value's 64BIT flag is the kernel's width; x32 and n32 are 32-bit ABIs on it.
        if arch.name not in ("x32", "mips64n32", "mipsel64n32"):
            assert (arch.bits == 64) == bool(arch.audit_arch & 0x80000000), arch
        if arch.name not in ("hexagon", "microblaze", "xtensa"):
            assert (arch.byteorder == "little") == bool(arch.audit_arch & 0x40000000), arch
    assert get_arch("x32").bits == 32
    assert get_arch("mips64n32").bits == 32
    assert get_arch("hexagon").byteorder == "little"


def test_audit_macros_name_their_values() -> None:
    assert get_arch("sh").audit_arch_macro == "AUDIT_ARCH_SHEL"
    assert get_arch("sheb").audit_arch_macro == "AUDIT_ARCH_SH"
    assert get_arch("x32").audit_arch_macro == "AUDIT_ARCH_X86_64"
    for arch in all_arches():
        assert arch.audit_arch_macro.startswith("AUDIT_ARCH_")


@pytest.mark.skipif(
    not headers.PROFILES["x86_64"].available(), reason="needs cpp and the Linux UAPI headers"
)
def test_audit_values_match_linux_audit_h() -> None:
    values = headers.macro_values(
        headers.PROFILES["x86_64"], ["linux/audit.h"], lambda n: n.startswith("AUDIT_ARCH_")
    )
    for arch in all_arches():
        assert values[arch.audit_arch_macro] == arch.audit_arch, arch


# -- lookups -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("x86_64", "x86_64"), ("AMD64", "x86_64"), ("x86-64", "x86_64"), ("x64", "x86_64"),
        ("SCMP_ARCH_X86_64", "x86_64"), ("scmp_arch_x86", "i386"), ("x86", "i386"),
        ("i686", "i386"), ("ia32", "i386"), ("SCMP_ARCH_X32", "x32"), ("arm64", "aarch64"),
        ("SCMP_ARCH_AARCH64", "aarch64"), ("SCMP_ARCH_ARM", "arm"), ("armhf", "arm"),
        ("powerpc", "ppc"), ("powerpc64", "ppc64"), ("powerpc64le", "ppc64le"),
        ("ppc64el", "ppc64le"), ("SCMP_ARCH_PPC64LE", "ppc64le"), ("mipso32", "mips"),
        ("SCMP_ARCH_MIPSEL64N32", "mipsel64n32"), ("SCMP_ARCH_MIPS64N32", "mips64n32"),
        ("mips64el", "mipsel64"), ("hppa", "parisc"), ("SCMP_ARCH_PARISC64", "parisc64"),
        ("SCMP_ARCH_S390X", "s390x"), ("SCMP_ARCH_RISCV64", "riscv64"),
        ("SCMP_ARCH_LOONGARCH64", "loongarch64"), ("loong64", "loongarch64"),
        ("SCMP_ARCH_M68K", "m68k"), ("SCMP_ARCH_SH", "sh"), ("SCMP_ARCH_SHEB", "sheb"),
        ("ARCH_X86_64", "x86_64"), ("arch_mipsel64n32", "mipsel64n32"),
        ("AUDIT_ARCH_X86_64", "x86_64"), ("AUDIT_ARCH_SHEL", "sh"), ("AUDIT_ARCH_SH", "sheb"),
        ("  arm64 ", "aarch64"), ("arc", "arcv2"), ("or1k", "openrisc"),
    ],
)  # fmt: skip
def test_get_arch_spellings(spelling: str, expected: str) -> None:
    assert get_arch(spelling).name == expected
    assert lookup_arch(spelling) is get_arch(expected)


def test_docker_arch_map_tokens_all_resolve() -> None:
    # moby profiles/seccomp/default.json "archMap" and the SCMP_ARCH_* of libseccomp 2.5.
    tokens = [
        "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
        "SCMP_ARCH_RISCV64", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64",
    ]  # fmt: skip
    for token in tokens:
        assert get_arch(token).scmp_token == token


def test_spellings_are_unambiguous_between_arches() -> None:
    seen: dict[str, str] = {}
    for arch in all_arches():
        spellings = {arch.name, *arch.aliases, arch.scmp_token, arch.symbol}
        for spelling in spellings:
            owner = seen.setdefault(spelling.lower(), arch.name)
            assert owner == arch.name, spelling


@given(st.sampled_from(ARCH_NAMES), st.data())
def test_get_arch_ignores_case(name: str, data: st.DataObject) -> None:
    arch = get_arch(name)
    spelling = data.draw(st.sampled_from([arch.name, *arch.aliases, arch.scmp_token]))
    flipped = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in spelling)
    assert get_arch(flipped) is arch


def test_get_arch_native() -> None:
    assert get_arch("native") is native_arch()
    assert get_arch("NATIVE") is native_arch()
    assert get_arch("SCMP_ARCH_NATIVE") is native_arch()


def test_unknown_arch_names_close_matches_and_valid_names() -> None:
    with pytest.raises(UnknownArchError) as caught:
        get_arch("x86_46")
    message = str(caught.value)
    assert "'x86_46'" in message
    assert "did you mean x86_64" in message
    assert "aarch64" in message and "native" in message
    assert "\n" not in message
    with pytest.raises(ValueError, match="did you mean aarch64"):
        get_arch("arch64")
    with pytest.raises(UnknownArchError, match="unknown architecture 'vax'"):
        get_arch("vax")
    assert lookup_arch("vax") is None
    assert lookup_arch("native") is None


def test_native_arch_on_this_machine() -> None:
    if os.uname().machine != "x86_64" or struct.calcsize("P") != 8:
        pytest.skip("this check is for an x86_64 Python")
    assert native_arch() is get_arch("x86_64")


@pytest.mark.parametrize(
    ("machine", "byteorder", "bits", "multiarch", "expected"),
    [
        ("x86_64", "little", 64, "x86_64-linux-gnu", "x86_64"),
        ("x86_64", "little", 32, "i386-linux-gnu", "i386"),
        ("x86_64", "little", 32, "x86_64-linux-gnux32", "x32"),
        ("i686", "little", 32, "", "i386"),
        ("aarch64", "little", 64, "", "aarch64"),
        ("aarch64", "little", 32, "arm-linux-gnueabihf", "arm"),
        ("armv7l", "little", 32, "", "arm"),
        ("armv7b", "big", 32, "", "armeb"),
        ("ppc64le", "little", 64, "", "ppc64le"),
        ("ppc64", "big", 64, "", "ppc64"),
        ("ppc64", "big", 32, "", "ppc"),
        ("s390x", "big", 64, "", "s390x"),
        ("mips64", "little", 64, "mips64el-linux-gnuabi64", "mipsel64"),
        ("mips64", "big", 32, "mips64-linux-gnuabin32", "mips64n32"),
        ("mips64", "little", 32, "mipsel-linux-gnu", "mipsel"),
        ("mips", "big", 32, "mips-linux-gnu", "mips"),
        ("parisc64", "big", 32, "hppa-linux-gnu", "parisc"),
        ("riscv64", "little", 64, "", "riscv64"),
        ("loongarch64", "little", 64, "", "loongarch64"),
        ("sparc64", "big", 64, "", "sparc64"),
        ("sh4", "little", 32, "", "sh"),
        ("sh4", "big", 32, "", "sheb"),
        ("m68k", "big", 32, "", "m68k"),
        ("alpha", "little", 64, "", "alpha"),
    ],
)  # fmt: skip
def test_arch_for_machine(
    machine: str, byteorder: str, bits: int, multiarch: str, expected: str
) -> None:
    assert arch_for_machine(machine, byteorder, bits, multiarch).name == expected


def test_arch_for_unknown_machine() -> None:
    with pytest.raises(UnknownArchError, match="'vax'"):
        arch_for_machine("vax", "little", 32)
    with pytest.raises(UnknownArchError, match="'aarch64_be'"):
        arch_for_machine("aarch64_be", "big", 64)


# -- audit values and numbers ---------------------------------------------------------------------


def test_arches_by_audit_x86_64_and_x32_share() -> None:
    assert [a.name for a in arches_by_audit(0xC000003E)] == ["x86_64", "x32"]
    assert arches_by_audit(0x12345678) == ()
    for arch in all_arches():
        assert arch in arches_by_audit(arch.audit_arch)
    shared = [arches for arches in map(arches_by_audit, EXPECTED_AUDIT.values()) if len(arches) > 1]
    assert {tuple(a.name for a in arches) for arches in shared} == {("x86_64", "x32")}


def test_arch_for_syscall_x32_bit() -> None:
    assert arch_for_syscall(0xC000003E, 0) is get_arch("x86_64")
    assert arch_for_syscall(0xC000003E, 0x40000000) is get_arch("x32")
    assert arch_for_syscall(0xC000003E, 0x40000000 | 520) is get_arch("x32")
    assert arch_for_syscall(0x40000003, 0x40000000) is get_arch("i386")
    assert arch_for_syscall(0xDEADBEEF, 0) is None


@pytest.mark.parametrize(
    ("audit", "nr", "task", "dispatched"),
    [
        (0x80000008, 5057, "mips64", "mips64"),  # n64 task, n64 execve
        (0x80000008, 4011, "mips64", "mips"),  # n64 task, o32 execve (scall64-o32.S)
        (0x80000008, 6057, "mips64", "mips64n32"),
        (0xC0000008, 4011, "mipsel64", "mipsel"),
        (0x8, 5057, "mips", "mips64"),
        (0xA0000008, 6057, "mips64n32", "mips64n32"),
        (0xE0000008, 5000, "mipsel64n32", "mipsel64"),
        (0x8, 17, "mips", "mips"),  # outside every range: the value's own ABI
    ],
)
def test_mips_task_abi_and_dispatched_abi(audit: int, nr: int, task: str, dispatched: str) -> None:
    assert arch_for_syscall(audit, nr) is get_arch(task)
    assert dispatched_arch(audit, nr) is get_arch(dispatched)


def test_dispatched_arch_elsewhere_is_arch_for_syscall() -> None:
    for audit, nr in [(0xC000003E, 0), (0xC000003E, 0x40000001), (0x40000003, 4011), (1, 0)]:
        assert dispatched_arch(audit, nr) is arch_for_syscall(audit, nr)


@given(st.sampled_from(ARCH_NAMES), st.data())
def test_arch_for_syscall_finds_the_abi_of_its_own_numbers(name: str, data: st.DataObject) -> None:
    arch = get_arch(name)
    number = data.draw(st.sampled_from(sorted(set(arch.syscalls.values()))))
    assert arch_for_syscall(arch.audit_arch, number) is arch


def test_known_syscall_names() -> None:
    names = known_syscall_names()
    assert {"read", "socketcall", "getxpid", "riscv_flush_icache", "arch_prctl"} <= names
    assert "opne" not in names
    for arch in all_arches():
        assert set(arch.syscalls) <= names


# -- multiplexers and compat --------------------------------------------------------------------


@pytest.mark.parametrize("name", ARCH_NAMES)
def test_multiplexer_maps_exist_exactly_where_the_calls_do(name: str) -> None:
    arch = get_arch(name)
    assert (dict(arch.socketcall) == dict(SOCKETCALL_CALLS)) == ("socketcall" in arch.syscalls)
    if not arch.socketcall:
        assert dict(arch.socketcall) == {}
    if name == "microblaze":  # "117 common ipc sys_ni_syscall"
        assert "ipc" in arch.syscalls
        assert dict(arch.ipc) == {}
    else:
        assert (dict(arch.ipc) == dict(IPC_CALLS)) == ("ipc" in arch.syscalls)


def test_multiplexer_call_numbers() -> None:
    # <linux/net.h> SYS_SOCKET 1 .. SYS_SENDMMSG 20; <linux/ipc.h> SEMOP 1 .. SHMCTL 24.
    i386 = get_arch("i386")
    assert i386.socketcall["socket"] == 1
    assert i386.socketcall["accept4"] == 18
    assert i386.socketcall["sendmmsg"] == 20
    assert sorted(i386.socketcall.values()) == list(range(1, 21))
    assert i386.ipc["semop"] == 1
    assert i386.ipc["semtimedop"] == 4
    assert i386.ipc["msgsnd"] == 11
    assert i386.ipc["shmctl"] == 24
    assert get_arch("x86_64").socketcall == {}
    assert get_arch("arm").ipc == {}


@pytest.mark.skipif(
    not headers.PROFILES["x86_64"].available(), reason="needs cpp and the Linux UAPI headers"
)
def test_multiplexer_numbers_match_headers() -> None:
    profile = headers.PROFILES["x86_64"]
    net = headers.macro_values(profile, ["linux/net.h"], lambda n: n.startswith("SYS_"))
    for syscall, number in SOCKETCALL_CALLS.items():
        assert net["SYS_" + syscall.upper()] == number
    ipc = headers.macro_values(profile, ["linux/ipc.h"], lambda n: n.isupper())
    for syscall, number in IPC_CALLS.items():
        assert ipc[syscall.upper()] == number


def test_compat_lists() -> None:
    expected = {
        "x86_64": ("i386", "x32"), "x32": ("x86_64", "i386"), "aarch64": ("arm",),
        "ppc64": ("ppc",), "ppc64le": ("ppc",), "s390x": ("s390",),
        "mips64": ("mips", "mips64n32"), "mipsel64": ("mipsel", "mipsel64n32"),
        "mips64n32": ("mips64", "mips"), "mipsel64n32": ("mipsel64", "mipsel"),
        "parisc64": ("parisc",), "sparc64": ("sparc",),
    }  # fmt: skip
    for arch in all_arches():
        assert arch.compat == expected.get(arch.name, ()), arch
        for other in arch.compat:
            assert get_arch(other).byteorder == arch.byteorder or arch.name == "ppc64le"


# -- the tables against other sources -----------------------------------------------------------

_UNISTD = re.compile(r"^#define __NR_(\w+)\s+(?:\(__X32_SYSCALL_BIT \+ )?(\d+)\)?\s*$", re.M)


@pytest.mark.parametrize(
    ("name", "header"),
    [("x86_64", "unistd_64.h"), ("i386", "unistd_32.h"), ("x32", "unistd_x32.h")],
)
def test_x86_tables_match_the_installed_unistd_headers(name: str, header: str) -> None:
    path = Path("/usr/include/x86_64-linux-gnu/asm") / header
    if not path.is_file():
        pytest.skip(f"{path} is not installed")
    arch = get_arch(name)
    bit = arch.syscall_nr_mask_bit
    numbers = {m.group(1): int(m.group(2)) | bit for m in _UNISTD.finditer(path.read_text())}
    common = set(numbers) & set(arch.syscalls)
    assert len(common) > 300
    assert {n: numbers[n] for n in common} == {n: arch.syscalls[n] for n in common}


# The cross headers (Debian linux-libc-dev-<arch>-cross) read with cpp, when installed.
@pytest.mark.parametrize("name", sorted(headers.PROFILES))
def test_tables_match_unistd_headers_of_each_arch(name: str) -> None:
    profile = headers.PROFILES[name]
    if not profile.available():
        pytest.skip(f"headers for {name} are not installed")
    arch = get_arch(name)
    values = headers.macro_values(
        profile, ["asm/unistd.h"], lambda n: n.startswith(("__NR_", "__ARM_NR_"))
    )
    numbers: dict[str, int] = {}
    for macro, value in values.items():
        if value is not None:
            numbers[macro.removeprefix("__NR_").removeprefix("__ARM_NR_")] = value
    common = set(numbers) & set(arch.syscalls)
    assert len(common) > 250
    assert {n: numbers[n] for n in common} == {n: arch.syscalls[n] for n in common}


# -- libseccomp ----------------------------------------------------------------------------------

LIBSECCOMP = libseccomp_reference.load()
needs_libseccomp = pytest.mark.skipif(LIBSECCOMP is None, reason="libseccomp.so.2 not found")

# Names libseccomp 2.5.4 resolves that system-calls 7.2 does not have, by ABI, and why:
# parisc64 _llseek: Linux made it 32-bit only (da3680f564bd, "parisc: _llseek syscall is only
# available for 32-bit userspace"). The calls the kernel dropped from its tables (uselib,
# _sysctl, create_module, ...) are in ours too (arch/retired.py); only a *different number*
# for one name is an error.
_LIBSECCOMP_ONLY_KNOWN = {"parisc64": {"_llseek"}}


@needs_libseccomp
@pytest.mark.parametrize("name", sorted(a.name for a in all_arches() if a.libseccomp_name))
def test_numbers_agree_with_libseccomp(name: str) -> None:
    assert LIBSECCOMP is not None
    arch = get_arch(name)
    assert arch.libseccomp_name is not None
    token = LIBSECCOMP.arch_token(arch.libseccomp_name)
    if token == 0:
        pytest.skip(f"libseccomp {LIBSECCOMP.version()} does not know {name}")
    if name == "x32":
        assert token == 0x4000003E  # SCMP_ARCH_X32, libseccomp's own marker
    else:
        assert token == arch.audit_arch
    # Every name of ours that libseccomp resolves to a real number resolves to ours.
    # (libseccomp gives negative pseudo numbers for calls it multiplexes, e.g. socket on i386.)
    for syscall, number in arch.syscalls.items():
        theirs = LIBSECCOMP.syscall_number(token, syscall)
        if theirs >= 0:
            assert theirs == number, syscall
    # Every number libseccomp names, we name alike when we know the name.
    low, high = min(arch.syscalls.values()), max(arch.syscalls.values())
    only_libseccomp = set()
    for number in range(low, high + 1):
        theirs_name = LIBSECCOMP.syscall_name(token, number)
        if theirs_name is None:
            continue
        ours = arch.syscall_number(theirs_name)
        if ours is None:
            only_libseccomp.add(theirs_name)
        else:
            assert ours == number, theirs_name
    assert _LIBSECCOMP_ONLY_KNOWN.get(name, set()) <= only_libseccomp


@pytest.mark.parametrize("machine", ["x86_64", "amd64", "i686", "mips64", "mips", "aarch64"])
@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize(
    "multiarch", ["", "x86_64-linux-gnux32", "i386-linux-gnu", "mips64el-linux-gnuabin32"]
)
def test_native_arch_reads_the_multiarch_tuple_wherever_it_decides(
    machine: str, bits: int, multiarch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """native_arch loads sysconfig only where arch_for_machine reads the tuple: whatever the
    tuple, it finds what arch_for_machine finds with it."""
    import sysconfig
    from types import SimpleNamespace

    from seccomp_bpf.arch import machine as machine_module

    # This process's machine and pointer size, as the module that names the ABI sees them.
    uname = SimpleNamespace(machine=machine)
    monkeypatch.setattr(machine_module, "os", SimpleNamespace(uname=lambda: uname))
    monkeypatch.setattr(
        machine_module, "struct", SimpleNamespace(calcsize=lambda fmt: bits // 8)
    )
    monkeypatch.setattr(
        sysconfig, "get_config_var", lambda name: multiarch if name == "MULTIARCH" else None
    )
    try:
        expected = arch_for_machine(machine, sys.byteorder, bits, multiarch)
    except UnknownArchError:
        pytest.skip("no such ABI")
    native_arch.cache_clear()  # it is computed once per process
    try:
        assert native_arch() == expected
    finally:
        native_arch.cache_clear()
