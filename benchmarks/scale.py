"""Benchmark: the compiler at scale, against libseccomp, on the same policies, in one run.

Run from the repository root::

    python -m benchmarks.compiler --scale [--json] [--repeat N] [--sizes 10 100 1000]
    python -m benchmarks.scale                 # the same

Families of x86_64-only policies (default ``errno(EPERM)``), each at 10, 100, 300, 500, 1,000
and 5,000 rules, given to seccomp-bpf as a ``Policy`` object and to libseccomp as the rules
runc would add for the same profile (``benchmarks/libseccomp.py``):

- ``ioctl-eq``: N rules ``ioctl: arg1 == v`` (N distinct values spread over 32 bits, none
  next to another, so no range can stand for several);
- ``ioctl-set``: one rule ``ioctl: arg1 in [the same N values]`` (libseccomp: N rules);
- ``ioctl-ranges``: N rules ``ioctl: arg1 == v`` whose values come in runs of consecutive
  request numbers (16 per ioctl type, as ``_IOC`` numbers are);
- ``conjunctions``: N rules ``a0 == x && (a1 & 0xff00) == y`` over 50 system calls (x from 64
  descriptors, y from 256 command groups);
- ``nested``: N rules ``any[all[a0 == p, a1 <= q], all[a0 == r, a2 & 3 == 0]]`` over 50
  system calls (libseccomp: two rules each, one per ``all``);
- ``oci-read``: an OCI profile of N entries (the ``conjunctions`` rules) read into a
  ``Policy`` (seccomp-bpf only: libseccomp does not read profiles).

Three programs per policy: seccomp-bpf's default (value sets searched balanced, in about
``2 log2 n`` comparisons), seccomp-bpf's ``--search compact`` (``compile_policy(...,
search="compact")``: one chain of tests per set, the fewest instructions) and libseccomp's.
Columns: ``len`` (instructions), ``worst`` (the most instructions the program can run: the
longest path from its first instruction to a return, counted the same way for all),
``ms`` (the fastest of ``--repeat`` runs from the policy object to the program's bytes; runs
stop early once they have taken ``--budget`` seconds in all), and a ``WRONG`` mark when the
program does not decide as ``Policy.evaluate`` on every rule's values, their neighbours and
zero, in seccomp-bpf's emulator. A program over 4,096 instructions is ``does not fit``.
libseccomp's time grows faster than linearly on some families (5,000 ``conjunctions`` take it
about eight minutes): a size whose libseccomp run would take longer than ``--limit`` seconds,
judged from the smaller size before it as if the time grew with the square of the rules, is
``skipped`` (``--limit 0`` runs everything).

Then Docker's default profile (``../shared/data``, as ``python -m benchmarks.compiler``
reads it): length, instructions executed on x86_64 (mean and max over the table, arguments
0), the mean weighted by the measured mix, and how many argument-free ALLOWs the kernel's
action cache takes, for seccomp-bpf without and with ``--frequency`` and for libseccomp.
Last, the issue's targets, each marked PASS or MISS: the length is met by the default or by
``--search compact`` (the value says which; on sets of spread values only the compact search
is as short as libseccomp's, see ``benchmarks/README.md``), compile time and the worst path
are judged on the default. This is a benchmark, not a test: it reports, it never fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import random
import sys
import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: python benchmarks/scale.py
    sys.path.insert(0, str(REPO))

from benchmarks import compiler as compiler_bench  # noqa: E402
from benchmarks import libseccomp  # noqa: E402
from benchmarks.libseccomp import Libseccomp  # noqa: E402
from seccomp_bpf.arch import get_arch  # noqa: E402
from seccomp_bpf.bpf.emulator import SeccompData, emulate  # noqa: E402
from seccomp_bpf.bpf.instruction import Program  # noqa: E402
from seccomp_bpf.compiler import Search, compile_policy, parse_frequency  # noqa: E402
from seccomp_bpf.errors import CompileError  # noqa: E402
from seccomp_bpf.formats.oci import load_oci_policy  # noqa: E402
from seccomp_bpf.policy import (  # noqa: E402
    ALLOW,
    ERRNO,
    All,
    Any,
    Cmp,
    Condition,
    Policy,
    Rule,
)

JsonObject = dict[str, typing.Any]
Args = tuple[int, int, int, int, int, int]

SIZES: Final = (10, 100, 300, 500, 1000, 5000)
SEED: Final = 13
ARCH: Final = "x86_64"
# Fifty system calls of x86_64 that take arguments, for the families spread over many calls.
SPREAD_OVER: Final = (
    "read", "write", "openat", "close", "fstat", "lseek", "mmap", "mprotect", "munmap",
    "ioctl", "pread64", "pwrite64", "readv", "writev", "access", "pipe2", "dup", "dup3",
    "nanosleep", "getitimer", "alarm", "setitimer", "sendfile", "socket", "connect",
    "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "bind", "listen",
    "getsockname", "getpeername", "socketpair", "setsockopt", "getsockopt", "clone",
    "wait4", "kill", "fcntl", "flock", "fsync", "ftruncate", "getdents64", "fchmod",
    "fchown", "umask", "prctl",
)  # fmt: skip
MAX_INSTRUCTIONS: Final = 4096


# --- the families ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One comparison as libseccomp takes it (``struct scmp_arg_cmp``)."""

    arg: int
    op: str  # SCMP_CMP_*
    value: int
    value_two: int = 0

    def entry(self) -> JsonObject:
        return {"index": self.arg, "op": self.op, "value": self.value, "valueTwo": self.value_two}


@dataclass(frozen=True)
class Case:
    """One policy of a family: the Policy, and the same rules as libseccomp gets them."""

    family: str
    size: int
    policy: Policy
    # (name, comparisons that must all hold): every rule allows, the default is EPERM
    libseccomp_rules: list[tuple[str, list[Comparison]]]
    probes: list[tuple[str, Args]]  # (name, arguments) to check decisions on


def spread_values(count: int, rng: random.Random) -> list[int]:
    """``count`` distinct values below 2**32, no two consecutive."""
    values: set[int] = set()
    while len(values) < count:
        values.add(rng.randrange(1, 1 << 31) * 2)
    return sorted(values)


def ioctl_like_values(count: int) -> list[int]:
    """``_IOC(dir, type, nr, size)`` request numbers (``<asm-generic/ioctl.h>``): for each of
    several types, read and write requests with numbers 0..15."""
    values: list[int] = []
    kind = 0
    while len(values) < count:
        direction, size, type_ = 1 + kind % 2, 4 << (kind % 3), 0x40 + kind // 2
        base = (direction << 30) | (size << 16) | (type_ << 8)
        values += [base | nr for nr in range(16)]
        kind += 1
    return values[:count]


def _policy(rules: Sequence[Rule]) -> Policy:
    return Policy(ERRNO(1), tuple(rules), arches=(ARCH,))


def _probes_of(rules: list[tuple[str, list[Comparison]]]) -> list[tuple[str, Args]]:
    """Arguments at and next to each compared value, for each rule's call (and zero)."""
    probes: list[tuple[str, Args]] = []
    seen: set[tuple[str, Args]] = set()
    zero: Args = (0, 0, 0, 0, 0, 0)
    for name, comparisons in rules[:2000]:
        base = [0] * 6
        for comparison in comparisons:
            base[comparison.arg] = comparison.value_two or comparison.value
        for shift in (0, 1, -1):
            for comparison in comparisons[:1]:
                args = list(base)
                args[comparison.arg] = (args[comparison.arg] + shift) & ((1 << 64) - 1)
                a0, a1, a2, a3, a4, a5 = args
                probe = (name, (a0, a1, a2, a3, a4, a5))
                if probe not in seen:
                    seen.add(probe)
                    probes.append(probe)
        if (name, zero) not in seen:
            seen.add((name, zero))
            probes.append((name, zero))
    return probes


def equal_rules(count: int) -> Case:
    values = spread_values(count, random.Random(SEED))
    rules = [Rule(("ioctl",), ALLOW, Cmp(1, "eq", v)) for v in values]
    theirs = [("ioctl", [Comparison(1, "SCMP_CMP_EQ", v)]) for v in values]
    return Case("ioctl-eq", count, _policy(rules), theirs, _probes_of(theirs))


def set_rule(count: int) -> Case:
    values = spread_values(count, random.Random(SEED))
    rule = Rule(("ioctl",), ALLOW, Cmp(1, "in", values))
    theirs = [("ioctl", [Comparison(1, "SCMP_CMP_EQ", v)]) for v in values]
    return Case("ioctl-set", count, _policy([rule]), theirs, _probes_of(theirs))


def range_rules(count: int) -> Case:
    values = ioctl_like_values(count)
    rules = [Rule(("ioctl",), ALLOW, Cmp(1, "eq", v)) for v in values]
    theirs = [("ioctl", [Comparison(1, "SCMP_CMP_EQ", v)]) for v in values]
    return Case("ioctl-ranges", count, _policy(rules), theirs, _probes_of(theirs))


def _conjunctions(count: int) -> list[tuple[str, int, int]]:
    rng = random.Random(SEED)
    return [
        (SPREAD_OVER[i % len(SPREAD_OVER)], rng.randrange(64), rng.randrange(256) << 8)
        for i in range(count)
    ]


def conjunction_rules(count: int) -> Case:
    items = _conjunctions(count)
    rules = [
        Rule((name,), ALLOW, All((Cmp(0, "eq", x), Cmp(1, "masked_eq", y, mask=0xFF00))))
        for name, x, y in items
    ]
    theirs = [
        (name, [Comparison(0, "SCMP_CMP_EQ", x), Comparison(1, "SCMP_CMP_MASKED_EQ", 0xFF00, y)])
        for name, x, y in items
    ]
    return Case("conjunctions", count, _policy(rules), theirs, _probes_of(theirs))


def nested_rules(count: int) -> Case:
    rng = random.Random(SEED)
    rules = []
    theirs: list[tuple[str, list[Comparison]]] = []
    for i in range(count):
        name = SPREAD_OVER[i % len(SPREAD_OVER)]
        p, q, r = rng.randrange(1 << 16), rng.randrange(1 << 20), rng.randrange(1 << 16)
        when: Condition = Any(
            (
                All((Cmp(0, "eq", p), Cmp(1, "le", q))),
                All((Cmp(0, "eq", r), Cmp(2, "bits_clear", 3))),
            )
        )
        rules.append(Rule((name,), ALLOW, when))
        first = [Comparison(0, "SCMP_CMP_EQ", p), Comparison(1, "SCMP_CMP_LE", q)]
        second = [Comparison(0, "SCMP_CMP_EQ", r), Comparison(2, "SCMP_CMP_MASKED_EQ", 3, 0)]
        theirs += [(name, first), (name, second)]
    return Case("nested", count, _policy(rules), theirs, _probes_of(theirs))


FAMILIES: Final[tuple[tuple[str, Callable[[int], Case]], ...]] = (
    ("ioctl-eq", equal_rules),
    ("ioctl-set", set_rule),
    ("ioctl-ranges", range_rules),
    ("conjunctions", conjunction_rules),
    ("nested", nested_rules),
)


def oci_profile(count: int) -> str:
    """The ``conjunctions`` rules as an OCI profile of ``count`` entries."""
    entries = [
        {
            "names": [name],
            "action": "SCMP_ACT_ALLOW",
            "args": [
                Comparison(0, "SCMP_CMP_EQ", x).entry(),
                Comparison(1, "SCMP_CMP_MASKED_EQ", 0xFF00, y).entry(),
            ],
        }
        for name, x, y in _conjunctions(count)
    ]
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": entries,
    }
    return json.dumps(profile, indent=2)


# --- measurements ---------------------------------------------------------------------------


def worst_path(program: Program) -> int:
    """The most instructions ``program`` can run: its longest path to a return (jumps only go
    forward, so one backward pass over the instructions finds it)."""
    longest = [0] * len(program)
    for index in range(len(program) - 1, -1, -1):
        ins = program[index]
        if ins.is_return:
            longest[index] = 1
        elif ins.is_conditional_jump:
            jt, jf = index + 1 + ins.jt, index + 1 + ins.jf
            longest[index] = 1 + max(longest[jt], longest[jf])
        elif ins.code == 0x05:  # BPF_JMP | BPF_JA
            longest[index] = 1 + longest[index + 1 + ins.k]
        else:
            longest[index] = 1 + longest[index + 1]
    return longest[0] if longest else 0


@dataclass
class Cell:
    """One compiler on one case: the program's measures, or why there is none."""

    length: int | None = None
    worst: int | None = None
    ms: float | None = None
    correct: bool | None = None
    error: str | None = None

    def text(self) -> str:
        if self.error is not None and self.ms is not None:
            return f"{self.error:>16} {self.ms:>9.2f}"
        if self.error is not None:
            return f"{self.error:>26}"
        check = "" if self.correct is None or self.correct else " WRONG"
        return f"{self.length:>6} {self.worst:>6} {self.ms:>9.2f}{check:>5}"


def fastest(
    prepare: Callable[[], Callable[[], object]], repeat: int, budget: float = float("inf")
) -> tuple[object, float]:
    """The result of the span ``prepare()`` returns, and its fastest time of ``repeat`` runs
    (ms), after a warm-up; ``prepare`` itself is not timed. Runs stop once the warm-up and
    the runs have taken ``budget`` seconds (a warm-up that long is the only run timed)."""
    span = prepare()
    start = time.perf_counter_ns()
    result = span()
    spent = (time.perf_counter_ns() - start) / 1e9
    best = float("inf")
    for _ in range(repeat):
        if spent >= budget:
            break
        span = prepare()
        start = time.perf_counter_ns()
        span()
        elapsed = (time.perf_counter_ns() - start) / 1e9
        spent += elapsed
        best = min(best, elapsed * 1e3)
    return result, best if best != float("inf") else spent * 1e3


def decides_as_the_policy(case: Case, program: Program) -> bool:
    arch = get_arch(ARCH)
    for name, args in case.probes:
        nr = arch.syscalls[name]
        expected = case.policy.evaluate(arch, nr, args).ret_value
        if emulate(program, SeccompData(nr, arch.audit_arch, 0, args)).ret != expected:
            return False
    return True


def ours(
    case: Case, repeat: int, budget: float = float("inf"), search: Search = "balanced"
) -> Cell:
    def prepare() -> Callable[[], bytes]:
        # A fresh copy: the Policy caches its name resolution, which compiling must redo.
        policy = dataclasses.replace(case.policy)
        return lambda: compile_policy(policy, search=search).to_bytes()

    try:
        data, ms = fastest(prepare, repeat, budget)
    except CompileError as error:
        reason = "does not fit" if "does not fit" in str(error) else "error"
        return Cell(error=reason)
    assert isinstance(data, bytes)
    program = Program.from_bytes(data)
    return Cell(len(program), worst_path(program), ms, decides_as_the_policy(case, program))


def theirs(lib: Libseccomp, case: Case, repeat: int, budget: float = float("inf")) -> Cell:
    entries = [
        {"names": [name], "action": "SCMP_ACT_ALLOW", "args": [c.entry() for c in comparisons]}
        for name, comparisons in case.libseccomp_rules
    ]
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": entries}
    try:
        data, ms = fastest(
            lambda: lambda: lib.export_bpf(profile, entries, arches=[ARCH]), repeat, budget
        )
    except OSError as error:
        return Cell(error="error " + str(error.errno))
    assert isinstance(data, bytes)
    if len(data) // 8 > MAX_INSTRUCTIONS:  # struct sock_filter is 8 bytes
        return Cell(length=len(data) // 8, ms=ms, error=f"does not fit ({len(data) // 8})")
    program = Program.from_bytes(data)
    return Cell(len(program), worst_path(program), ms, decides_as_the_policy(case, program))


@dataclass
class Report:
    environment: dict[str, str]
    # (family, size, seccomp-bpf, seccomp-bpf --search compact, libseccomp)
    rows: list[tuple[str, int, Cell, Cell, Cell | None]] = field(default_factory=list)
    reading: list[tuple[int, float]] = field(default_factory=list)  # (entries, ms)
    docker: list[compiler_bench.Row] = field(default_factory=list)
    targets: list[tuple[str, bool, str]] = field(default_factory=list)  # (target, met, value)
    notes: list[str] = field(default_factory=list)


def run(sizes: Sequence[int], repeat: int, budget: float, limit: float) -> Report:
    lib = libseccomp.load()
    report = Report(
        {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "libseccomp": lib.version if lib is not None else "absent",
            "repeat": str(repeat),
        }
    )
    if lib is None:
        report.notes.append("libseccomp.so.2 is absent: seccomp-bpf's columns only")
    for family, build in FAMILIES:
        previous: tuple[int, float] | None = None  # (rules, seconds) of libseccomp's last run
        for size in sorted(sizes):
            case = build(size)
            mine = ours(case, repeat, budget)
            compact = ours(case, repeat, budget, search="compact")
            other: Cell | None = None
            if lib is not None:
                guess = previous[1] * (size / previous[0]) ** 2 if previous else 0.0
                if limit and guess > limit:
                    other = Cell(error=f"skipped (~{guess:.0f} s)")
                else:
                    other = theirs(lib, case, repeat, budget)
                    if other.ms is not None:
                        previous = (size, other.ms * 1e-3)
            report.rows.append((family, size, mine, compact, other))
    for size in sorted(sizes):
        text = oci_profile(size)

        def reading(text: str = text) -> Callable[[], object]:
            return lambda: load_oci_policy(text, arch=ARCH, kernel="6.18")

        _, ms = fastest(reading, 3, budget)
        report.reading.append((size, ms))
    report.docker = docker_rows(lib, repeat, report.notes)
    report.targets = check_targets(report)
    return report


def docker_rows(lib: Libseccomp | None, repeat: int, notes: list[str]) -> list[compiler_bench.Row]:
    """Docker's default profile measured as ``python -m benchmarks.compiler`` measures it, for
    seccomp-bpf (without and with the measured mix as ``--frequency``) and for libseccomp."""
    subjects = [s for s in compiler_bench.load_subjects(notes) if s.name == "docker-default"]
    if not subjects:
        return []
    subject = subjects[0]
    weights: dict[str, float] | None = None
    frequency: dict[str, dict[str, float]] | None = None
    if compiler_bench.SYSCALL_MIX.exists():
        with compiler_bench.SYSCALL_MIX.open(encoding="utf-8") as stream:
            mix = json.load(stream)
        frequency = parse_frequency(mix, source=str(compiler_bench.SYSCALL_MIX))
        weights = frequency.get(compiler_bench.MACHINE)
    else:
        notes.append("the measured system call mix is absent: no weighted means")
    compilers = compiler_bench.our_compilers(frequency)
    if lib is not None:
        compilers += compiler_bench.libseccomp_compilers(lib)[:1]
    reference = compiler_bench.reference_decisions(subject.policy)
    rows = []
    for compiler in compilers:

        def prepare(compiler: compiler_bench.Compiler = compiler) -> Callable[[], bytes]:
            return compiler.prepare(subject)

        data, ms = fastest(prepare, repeat)
        assert isinstance(data, bytes)
        rows.append(
            compiler_bench.measure(
                subject,
                compiler=compiler.name,
                program=Program.from_bytes(data),
                compile_ms=ms,
                reference=reference,
                weights=weights,
                lib=lib,
            )
        )
    return rows


def check_targets(report: Report) -> list[tuple[str, bool, str]]:
    """The issue's targets: per family and size against libseccomp, the large set's worst
    path, and Docker's profile.

    The length is met by the default search or by ``--search compact`` (the value says
    which); compile time and the worst path are judged on the default.
    """
    checks: list[tuple[str, bool, str]] = []
    for family, size, mine, compact, other in report.rows:
        where = f"{family} {size}"
        if other is not None and other.length is not None and other.error is None:
            if mine.length is None and compact.length is None:
                checks.append((f"{where}: fits where libseccomp's fits", False, "does not fit"))
            else:
                checks.append(
                    (f"{where}: length <= libseccomp's", *shorter(mine, compact, other.length))
                )
        if other is not None and other.ms is not None and mine.ms is not None and size >= 100:
            factor = 2.0 if size < 300 else 1.0
            checks.append(
                (
                    f"{where}: compile time <= {factor:g}x libseccomp's",
                    mine.ms <= factor * other.ms,
                    f"{mine.ms:.2f} ms vs {other.ms:.2f} ms",
                )
            )
        if family == "ioctl-set" and mine.worst is not None:
            bound = 2 * math.ceil(math.log2(size)) + 12 if size > 1 else 12
            checks.append((f"{where}: worst path <= {bound}", mine.worst <= bound, str(mine.worst)))
    for row in report.docker:
        if row.compiler.startswith("libseccomp"):
            continue
        mean, most = row.executed[compiler_bench.MACHINE]
        name = row.compiler
        checks += [
            (
                f"docker {name}: length <= {compiler_bench.TARGET_LENGTH}",
                row.length <= compiler_bench.TARGET_LENGTH,
                str(row.length),
            ),
            (
                f"docker {name}: max <= {compiler_bench.TARGET_MAX}",
                most <= compiler_bench.TARGET_MAX,
                str(most),
            ),
            (
                f"docker {name}: argument-free ALLOWs cacheable",
                row.cacheable == row.argument_free_allows,
                f"{row.cacheable}/{row.argument_free_allows}",
            ),
        ]
        if name == compiler_bench.OURS:  # --frequency trades the plain mean for the weighted one
            value = f"{mean:.2f}"
            goal_mean = compiler_bench.TARGET_MEAN
            checks.append((f"docker {name}: mean <= {goal_mean:g}", mean <= goal_mean, value))
        if row.weighted is not None:
            goal = (
                compiler_bench.TARGET_WEIGHTED_FREQUENCY
                if name == compiler_bench.OURS_FREQUENCY
                else compiler_bench.TARGET_WEIGHTED
            )
            value = f"{row.weighted:.2f}"
            checks.append((f"docker {name}: weighted <= {goal:g}", row.weighted <= goal, value))
    return checks


def shorter(mine: Cell, compact: Cell, theirs: int) -> tuple[bool, str]:
    """Whether a setting's program is no longer than libseccomp's ``theirs``, and which: the
    default first, then ``--search compact``."""
    if mine.length is not None and mine.length <= theirs:
        return True, f"{mine.length} vs {theirs} (default)"
    if compact.length is not None and compact.length <= theirs:
        return True, f"{compact.length} vs {theirs} (--search compact; default {mine.length})"
    return False, f"{mine.length} (default), {compact.length} (--search compact) vs {theirs}"


def format_report(report: Report) -> str:
    lines = [
        "seccomp-bpf compiler at scale vs libseccomp: "
        + ", ".join(f"{key} {value}" for key, value in report.environment.items()),
        "len: instructions; worst: longest path; ms: fastest run, policy object -> bytes",
        "",
        f"{'family':<14}{'rules':>6}"
        + "".join(
            f"  {title:^28}"
            for title in ("seccomp-bpf", "seccomp-bpf --search compact", "libseccomp")
        ),
        f"{'':<14}{'':>6}" + f"  {'len':>6} {'worst':>6} {'ms':>9}{'':>5}" * 3,
    ]
    family = None
    for name, size, mine, compact, other in report.rows:
        if family is not None and name != family:
            lines.append("")
        family = name
        theirs_text = other.text() if other is not None else f"{'-':>26}"
        lines.append(f"{name:<14}{size:>6}  {mine.text()}  {compact.text()}  {theirs_text}")
    lines += ["", "reading an OCI profile (the conjunctions rules) into a Policy:"]
    lines += [f"  {entries:>6} entries: {ms:8.1f} ms" for entries, ms in report.reading]
    if report.docker:
        lines += [
            "",
            "Docker's default profile (x86_64, i386, x32; executed: x86_64, arguments 0):",
            f"  {'compiler':<28}{'len':>6}{'mean':>8}{'max':>5}{'weighted':>10}{'cached':>9}"
            f"{'ms':>9}{'mismatch':>10}",
        ]
        for row in report.docker:
            mean, most = row.executed[compiler_bench.MACHINE]
            weighted = "-" if row.weighted is None else f"{row.weighted:.2f}"
            genuine = sum(1 for m in row.mismatches if m.reason is None)
            lines.append(
                f"  {row.compiler:<28}{row.length:>6}{mean:>8.2f}{most:>5}{weighted:>10}"
                f"{f'{row.cacheable}/{row.argument_free_allows}':>9}{row.compile_ms:>9.2f}"
                f"{genuine:>10}"
            )
    if report.targets:
        lines += ["", "targets:"]
        lines += [
            f"  {'PASS' if met else 'MISS'}  {target:<58} {value}"
            for target, met, value in report.targets
        ]
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def report_json(report: Report) -> JsonObject:
    return {
        "environment": report.environment,
        "rows": [
            {
                "family": name,
                "rules": size,
                "seccomp-bpf": dataclasses.asdict(mine),
                "seccomp-bpf --search compact": dataclasses.asdict(compact),
                "libseccomp": dataclasses.asdict(other) if other is not None else None,
            }
            for name, size, mine, compact, other in report.rows
        ],
        "oci_read_ms": {str(entries): ms for entries, ms in report.reading},
        "docker": [
            {
                "compiler": row.compiler,
                "length": row.length,
                "mean": row.executed[compiler_bench.MACHINE][0],
                "max": row.executed[compiler_bench.MACHINE][1],
                "weighted_mean": row.weighted,
                "cacheable": row.cacheable,
                "argument_free_allows": row.argument_free_allows,
                "compile_ms": row.compile_ms,
                "mismatches": len(row.mismatches),
            }
            for row in report.docker
        ],
        "targets": [
            {"target": target, "met": met, "value": value} for target, met, value in report.targets
        ],
        "notes": report.notes,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale",
        description="The compiler at scale, against libseccomp, on the same policies.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--repeat", type=int, default=7, metavar="N", help="compile runs timed (fastest; 7)"
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), metavar="N", help="rules per policy"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds of runs per measure before stopping early (10)",
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=60.0,
        metavar="S",
        help="skip libseccomp runs expected to take longer (60; 0: never skip)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(size < 1 for size in args.sizes):
        parser.error("--repeat and --sizes must be at least 1")
    if args.budget <= 0 or args.limit < 0:
        parser.error("--budget must be positive and --limit at least 0")
    report = run(args.sizes, args.repeat, args.budget, args.limit)
    print(json.dumps(report_json(report), indent=2) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
