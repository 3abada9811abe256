"""What a compiled program costs: its length and the instructions each system call runs.

For every number of an architecture's table, the program is emulated with zero arguments;
the mean and the maximum of the instructions executed are what the kernel runs per call when
the action cache (``kernel/seccomp.c``) does not apply. ``cacheable`` counts the numbers the
kernel's cache will skip the filter for (:func:`seccomp_bpf.bpf.cache.is_constant_allow`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from seccomp_bpf.arch import Arch, get_arch
from seccomp_bpf.bpf.cache import is_constant_allow
from seccomp_bpf.bpf.emulator import SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.policy import Policy


@dataclass(frozen=True)
class ArchStatistics:
    arch: str
    syscalls: int
    mean: float
    maximum: int
    cacheable: int


@dataclass(frozen=True)
class ProgramStatistics:
    length: int
    arches: tuple[ArchStatistics, ...]

    def lines(self) -> list[str]:
        out = [f"length: {self.length} instructions"]
        for item in self.arches:
            out.append(
                f"{item.arch}: {item.syscalls} system calls, {item.mean:.2f} instructions run "
                f"on average, {item.maximum} at most, {item.cacheable} cacheable by the kernel"
            )
        return out


def arch_statistics(program: Program, arch: Arch) -> ArchStatistics:
    numbers = sorted(set(arch.syscalls.values()))
    executed = [
        emulate(program, SeccompData(nr, arch.audit_arch, byteorder=arch.byteorder)).executed
        for nr in numbers
    ]
    cacheable = sum(is_constant_allow(program, arch.audit_arch, nr) for nr in numbers)
    mean = sum(executed) / len(executed) if executed else 0.0
    return ArchStatistics(arch.name, len(numbers), mean, max(executed, default=0), cacheable)


def program_statistics(
    program: Program, policy: Policy, arches: Iterable[str | Arch] | None = None
) -> ProgramStatistics:
    chosen = (
        list(policy.resolved_arches())
        if arches is None
        else [a if isinstance(a, Arch) else get_arch(a) for a in arches]
    )
    return ProgramStatistics(len(program), tuple(arch_statistics(program, a) for a in chosen))
