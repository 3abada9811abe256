"""libseccomp through ctypes: build the filter runc would build for an OCI/Docker profile.

Used by the compiler benchmark and by the differential test of the OCI reader
(``tests/formats/test_oci_libseccomp.py``) to compare seccomp-bpf with ``libseccomp.so.2``.
Only what those two need is declared. The profile is handed over the way runc hands it over
(``libcontainer/seccomp/seccomp_linux.go``): rules whose action is the default action are
skipped, names libseccomp cannot resolve are ignored, and an entry whose comparisons test one
argument twice becomes one rule per comparison (OR); otherwise one rule with all of them (AND).

Docker's own keys (``archMap``, ``includes``/``excludes``) are resolved before, by
:func:`docker_entries`, as moby does for one machine.
"""

from __future__ import annotations

import ctypes
import functools
import os
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

JsonObject = dict[str, typing.Any]

# <seccomp.h>: actions. SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD.
SCMP_ACTIONS: Final[dict[str, int]] = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
# <seccomp.h>: enum scmp_compare.
SCMP_COMPARE: Final[dict[str, int]] = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}
# <seccomp.h>: enum scmp_filter_attr (libseccomp 2.5): 1 ACT_DEFAULT, 2 ACT_BADARCH, 3 CTL_NNP,
# 4 CTL_TSYNC, 5 API_TSKIP, 6 CTL_LOG, 7 CTL_SSB, 8 CTL_OPTIMIZE, 9 API_SYSRAWRC.
SCMP_FLTATR_CTL_OPTIMIZE: Final = 8
# SCMP_FLTATR_CTL_OPTIMIZE values (seccomp_attr_set(3)): 1 orders the rules by priority and
# complexity (the default), 2 searches the syscall numbers with a binary tree.
OPTIMIZE_PRIORITY: Final = 1
OPTIMIZE_BINARY_TREE: Final = 2
# <seccomp.h>: __NR_SCMP_ERROR, what the resolvers return for an unknown name.
NR_SCMP_ERROR: Final = -1


class ScmpArgCmp(ctypes.Structure):
    """``struct scmp_arg_cmp`` (<seccomp.h>)."""

    _fields_ = (
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    )


class ScmpVersion(ctypes.Structure):
    """``struct scmp_version`` (<seccomp.h>)."""

    _fields_ = (
        ("major", ctypes.c_uint),
        ("minor", ctypes.c_uint),
        ("micro", ctypes.c_uint),
    )


def action_value(token: str, errno_ret: int | None) -> int:
    """The return value runc asks libseccomp for: ERRNO and TRACE carry ``errnoRet`` (EPERM
    when absent)."""
    value = SCMP_ACTIONS[token]
    if token in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        value |= 1 if errno_ret is None else errno_ret
    return value


def docker_entries(
    profile: JsonObject, caps: Iterable[str], arch: str = "amd64"
) -> list[JsonObject]:
    """The ``syscalls`` entries moby keeps for machine ``arch`` (Docker's name) and ``caps``.

    ``minKernel`` is not looked at: every value in Docker's default profile (4.8) is below
    the kernels this is run on.
    """
    held = set(caps)
    kept = []
    for entry in profile["syscalls"]:
        excludes = entry.get("excludes") or {}
        includes = entry.get("includes") or {}
        if arch in excludes.get("arches", []) or set(excludes.get("caps", [])) & held:
            continue
        if includes.get("arches") and arch not in includes["arches"]:
            continue
        if not set(includes.get("caps", [])) <= held:
            continue
        kept.append(entry)
    return kept


@dataclass(frozen=True)
class Libseccomp:
    """``libseccomp.so.2`` with the functions used here declared; see :func:`load`."""

    cdll: ctypes.CDLL

    @property
    def version(self) -> str:
        found = self.cdll.seccomp_version().contents
        return f"{found.major}.{found.minor}.{found.micro}"

    def arch_token(self, name: str) -> int:
        """``SCMP_ARCH_*`` for libseccomp's arch name (``x86_64``, ``x86``, ``x32``...)."""
        token = int(self.cdll.seccomp_arch_resolve_name(name.encode()))
        if token == 0:
            raise ValueError(f"libseccomp does not know the architecture {name!r}")
        return token

    def syscall_number(self, arch: str, name: str) -> int | None:
        """libseccomp's number for ``name`` on ``arch``, or ``None`` when it has none."""
        nr = int(self.cdll.seccomp_syscall_resolve_name_arch(self.arch_token(arch), name.encode()))
        return None if nr < 0 else nr

    def export_bpf(
        self,
        profile: JsonObject,
        entries: Sequence[JsonObject],
        *,
        arches: Sequence[str],
        optimize: int | None = None,
    ) -> bytes:
        """The classic-BPF program runc would load for these (already resolved) entries.

        ``arches`` are the filter's architectures (libseccomp names: ``x86_64``, ``x86``,
        ``x32``...), the native one included only if listed; ``optimize`` sets
        ``SCMP_FLTATR_CTL_OPTIMIZE`` (None: libseccomp's default). Raises OSError naming the
        libseccomp call that failed.
        """
        lib = self.cdll
        default = action_value(profile["defaultAction"], profile.get("defaultErrnoRet"))
        tokens = [self.arch_token(arch) for arch in arches]
        ctx = lib.seccomp_init(default)
        if not ctx:
            raise OSError("seccomp_init failed")
        try:
            # seccomp_init puts the native architecture in the filter; seccomp_arch_exist
            # returns 0 when an architecture is there already, -EEXIST otherwise.
            for arch, token in zip(arches, tokens, strict=True):
                if lib.seccomp_arch_exist(ctx, token) != 0:
                    _check(lib.seccomp_arch_add(ctx, token), f"seccomp_arch_add({arch})")
            native = lib.seccomp_arch_native()
            if native not in tokens:
                _check(lib.seccomp_arch_remove(ctx, native), "seccomp_arch_remove(native)")
            if optimize is not None:
                _check(
                    lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, optimize),
                    f"seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, {optimize})",
                )
            for entry in entries:
                _add_entry(lib, ctx, default, entry)
            return _export(lib, ctx)
        finally:
            lib.seccomp_release(ctx)


def _add_entry(lib: ctypes.CDLL, ctx: int, default: int, entry: JsonObject) -> None:
    action = action_value(entry["action"], entry.get("errnoRet"))
    if action == default:
        return
    args = entry.get("args") or []
    comparisons = [
        ScmpArgCmp(a["index"], SCMP_COMPARE[a["op"]], a["value"], a.get("valueTwo", 0))
        for a in args
    ]
    indexes = [a["index"] for a in args]
    groups = [comparisons] if len(set(indexes)) == len(indexes) else [[c] for c in comparisons]
    for name in entry["names"]:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr == NR_SCMP_ERROR:
            continue
        for group in groups:
            array = (ScmpArgCmp * max(len(group), 1))(*group)
            rc = lib.seccomp_rule_add_array(ctx, action, nr, len(group), array)
            _check(rc, f"seccomp_rule_add_array({name})")


def _export(lib: ctypes.CDLL, ctx: int) -> bytes:
    fd = os.memfd_create("libseccomp-bpf")
    try:
        _check(lib.seccomp_export_bpf(ctx, fd), "seccomp_export_bpf")
        size = os.lseek(fd, 0, os.SEEK_CUR)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def _check(rc: int, call: str) -> None:
    """libseccomp returns ``-errno`` on failure."""
    if rc < 0:
        raise OSError(-rc, f"{call}: {os.strerror(-rc)}")


@functools.cache
def load() -> Libseccomp | None:
    """``libseccomp.so.2`` with its functions declared, or None when it is not installed."""
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:
        return None
    lib.seccomp_version.restype = ctypes.POINTER(ScmpVersion)
    lib.seccomp_version.argtypes = []
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_arch_native.restype = ctypes.c_uint32
    lib.seccomp_arch_native.argtypes = []
    lib.seccomp_arch_exist.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_remove.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(ScmpArgCmp),
    ]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return Libseccomp(lib)
