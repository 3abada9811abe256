"""The built-in prior: how often programs make each system call, when no profile says.

``syscall_mix.json`` (beside this module) holds counts measured with ``strace -f -c`` on x86_64
for six workloads (a shell script of coreutils and text tools, find and grep over a tree,
sqlite3, a Perl script reading files, cp/tar/xz of a directory, make); its ``mix`` is the
equal-weight average of the workloads' frequencies, and its ``description`` says how each was
run. The workloads are not those of the mix the benchmarks weigh programs by
(``tests/data/syscall-mix-x86_64.json``), so the benchmarks judge the prior on other programs.

On another ABI a name takes its weight if the ABI has it; otherwise the weight goes to the
call a C library makes there instead (:data:`EQUIVALENTS`: ``newfstatat`` is ``fstatat64`` on
32-bit ABIs, ``mmap`` is ``mmap2``, ``lseek`` is ``_llseek``, ``poll`` is ``ppoll`` on arm64
and RISC-V...); a call with neither (``arch_prctl`` beyond x86) is left out. The compiler mixes
the prior with a uniform share (:mod:`.pipeline`), so no call is left at the bottom.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Final

from seccomp_bpf.arch import Arch

# What glibc and musl call on ABIs that lack the x86_64 name, first match wins.
EQUIVALENTS: Final[dict[str, tuple[str, ...]]] = {
    "newfstatat": ("fstatat64", "statx"),
    "lseek": ("_llseek", "llseek"),
    "poll": ("ppoll", "ppoll_time64"),
    "mmap": ("mmap2",),
    "readlink": ("readlinkat",),
    "futex": ("futex_time64",),
    "access": ("faccessat", "faccessat2"),
    "fcntl": ("fcntl64",),
    "wait4": ("waitid",),
    "unlink": ("unlinkat",),
    "vfork": ("clone",),
    "clone3": ("clone",),
    "dup2": ("dup3",),
    "statfs": ("statfs64",),
    "chmod": ("fchmodat",),
    "creat": ("openat",),
    "getpgrp": ("getpgid",),
}


@functools.cache
def _mix() -> dict[str, float]:
    text = resources.files(__package__).joinpath("syscall_mix.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {str(name): float(share) for name, share in data["mix"].items()}


@functools.cache
def prior(arch: Arch) -> dict[str, float]:
    """The built-in mix as ``arch``'s names (shares summing to 1, or empty)."""
    shares: dict[str, float] = {}
    for name, share in _mix().items():
        here = next(
            (n for n in (name, *EQUIVALENTS.get(name, ())) if n in arch.syscalls),
            None,
        )
        if here is not None:
            shares[here] = shares.get(here, 0.0) + share
    total = sum(shares.values())
    return {name: share / total for name, share in shares.items()} if total else {}
