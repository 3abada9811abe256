"""Benchmark: seccomp-bpf's compiler against libseccomp, on the same policies, in one run.

Run from the repository root::

    python -m benchmarks.compiler [--json] [--repeat N] [--iterations N] [--no-kernel]
    python -m benchmarks.compiler --scale [--json] [--repeat N] [--sizes N ...]

``--scale`` runs ``benchmarks/scale.py`` instead: families of argument-heavy policies from 10
to 5,000 rules, and Docker's profile, side by side with libseccomp.

Every policy is an OCI/Docker JSON profile. seccomp-bpf reads it with ``load_oci_policy``
and compiles the resulting ``Policy``; libseccomp gets the same profile as runc hands it over
(``benchmarks/libseccomp.py``), with the same architectures (x86_64, i386 and x32) and the same
rules on the 32-bit ABIs. Both programs are then measured by seccomp-bpf's emulator, so the
instruction counts are counted the same way for both. See ``benchmarks/README.md`` for what
each column means. This is a benchmark, not a test: it reports, it never fails.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: python benchmarks/compiler.py
    sys.path.insert(0, str(REPO))

from benchmarks import libseccomp  # noqa: E402
from benchmarks.libseccomp import Libseccomp, docker_entries  # noqa: E402
from seccomp_bpf.arch import Arch, get_arch  # noqa: E402
from seccomp_bpf.bpf.cache import is_constant_allow  # noqa: E402
from seccomp_bpf.bpf.emulator import (  # noqa: E402
    SeccompAction,
    SeccompData,
    emulate,
    format_return_value,
)
from seccomp_bpf.bpf.instruction import Program  # noqa: E402
from seccomp_bpf.compiler import compile_policy, parse_frequency  # noqa: E402
from seccomp_bpf.formats.oci import DOCKER_DEFAULT_CAPABILITIES, load_oci_policy  # noqa: E402
from seccomp_bpf.policy import ALLOW, Policy  # noqa: E402

JsonObject = dict[str, typing.Any]

DATA: Final = REPO / ".." / "shared" / "data"
DOCKER_DEFAULT: Final = DATA / "docker-default.json"
SYSCALL_MIX: Final = DATA / "syscall-mix-x86_64.json"

# Docker resolves its profile for one machine, capability set and kernel. The kernel is fixed
# so that runs on different machines compare; every minKernel of Docker's profile is below it.
MACHINE: Final = "x86_64"
KERNEL_RELEASE: Final = "6.18"
ABIS: Final = ("x86_64", "i386", "x32")

# The calls timed with a filter loaded: one every policy here allows without looking at the
# arguments (the kernel's action cache should skip the filter), and one every policy denies
# with an errno (the filter runs each time). get_mempolicy(NULL, NULL, 0, NULL, 0) only reads
# the calling thread's NUMA policy, so running it unfiltered would be harmless too.
ALLOWED_CALL: Final = "getppid"
DENIED_CALL: Final = "get_mempolicy"
# Timed without a filter as well: a number no x86_64 kernel has, which fails with ENOSYS at
# once. A call a filter denies costs about this plus the filter's run.
UNKNOWN_NR: Final = 1000
UNKNOWN_CALL: Final = f"unknown syscall {UNKNOWN_NR}"

# Targets for Docker's default profile (x86_64 figures); the weighted mean's target is
# tighter with the measured mix given as --frequency.
TARGET_LENGTH: Final = 326
TARGET_MEAN: Final = 9.6
TARGET_MAX: Final = 13
TARGET_WEIGHTED: Final = 7.5
TARGET_WEIGHTED_FREQUENCY: Final = 6.8

OURS: Final = "seccomp-bpf"
OURS_FREQUENCY: Final = "seccomp-bpf --frequency"


# --- the policies ---------------------------------------------------------------------------------


def _entry(names: Sequence[str], *args: JsonObject, action: str = "SCMP_ACT_ALLOW") -> JsonObject:
    entry: JsonObject = {"names": list(names), "action": action}
    if args:
        entry["args"] = list(args)
    return entry


def _arg(index: int, op: str, value: int, value_two: int = 0) -> JsonObject:
    return {"index": index, "op": op, "value": value, "valueTwo": value_two}


def _one_of(index: int, values: Sequence[int]) -> list[JsonObject]:
    """Comparisons of one argument with several values: runc adds one rule per comparison,
    so they mean "any of these" (and so does ``load_oci_policy``)."""
    return [_arg(index, "SCMP_CMP_EQ", value) for value in values]


def _profile(entries: list[JsonObject]) -> JsonObject:
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": entries,
    }


# What a small service needs, and what the timing child (a Python process in a loop that
# then writes its result to a pipe and exits) needs. Names missing on i386 or x32
# (newfstatat...) are skipped there by both compilers.
BASE_ALLOWLIST: Final = (
    "read", "write", "close", "fstat", "newfstatat", "lseek", "mmap", "mprotect", "munmap",
    "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl", "pread64", "pwrite64",
    "readv", "writev", "access", "pipe2", "dup", "dup3", "nanosleep", "clock_nanosleep",
    "clock_gettime", "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
    "futex", "madvise", "openat", "getdents64", "fcntl", "exit", "exit_group", "getrandom",
)  # fmt: skip

AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16  # <linux/socket.h>
# <linux/sched.h>: CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET, the
# mask Docker's profile tests (2114060288).
CLONE_NAMESPACE_FLAGS: Final = 0x7E020000
PROT_EXEC: Final = 0x4  # <asm-generic/mman-common.h>
# <asm-generic/ioctls.h>: TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX
TERMINAL_IOCTLS: Final = (0x5401, 0x5413, 0x541B, 0x5421, 0x5451)
# <uapi/linux/fcntl.h>: F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC
FCNTL_COMMANDS: Final = (0, 1, 2, 3, 4, 1030)
# <linux/prctl.h>: PR_SET_NAME, PR_GET_NAME, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS
PRCTL_OPTIONS: Final = (15, 16, 38, 39)
# Docker's personality values: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query.
PERSONALITIES: Final = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


def allowlist_profile() -> JsonObject:
    """40 system calls allowed without conditions; everything else EPERM."""
    return _profile([_entry(BASE_ALLOWLIST)])


def arguments_profile() -> JsonObject:
    """The allowlist with argument rules of the kinds container profiles use."""
    conditional = {"ioctl", "fcntl", "mprotect"}
    return _profile(
        [
            _entry([name for name in BASE_ALLOWLIST if name not in conditional]),
            _entry(["socket"], *_one_of(0, (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK))),
            _entry(["personality"], *_one_of(0, PERSONALITIES)),
            _entry(["clone"], _arg(0, "SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_FLAGS, 0)),
            _entry(["ioctl"], *_one_of(1, TERMINAL_IOCTLS)),
            _entry(["fcntl"], *_one_of(1, FCNTL_COMMANDS)),
            _entry(["mprotect"], _arg(2, "SCMP_CMP_MASKED_EQ", PROT_EXEC, 0)),
            _entry(["prctl"], *_one_of(0, PRCTL_OPTIONS)),
            _entry(["kill", "tkill"], _arg(1, "SCMP_CMP_EQ", 0)),
        ]
    )


def ranges_profile() -> JsonObject:
    """The allowlist with 64-bit range rules (bounds above 2**32) on file offsets and sizes.

    A bounded range on one argument cannot be one OCI entry (two comparisons of one argument
    mean OR in runc), so the rules are half-lines, unions of two half-lines on one argument
    ("outside a window"), and half-lines on two arguments together (AND).
    """
    conditional = {"lseek", "pread64", "pwrite64"}
    return _profile(
        [
            _entry([name for name in BASE_ALLOWLIST if name not in conditional]),
            _entry(["lseek"], _arg(1, "SCMP_CMP_LT", 1 << 40)),
            _entry(["pread64", "pwrite64"], _arg(3, "SCMP_CMP_LE", (1 << 40) - 1)),
            _entry(["ftruncate"], _arg(1, "SCMP_CMP_LT", 1 << 36)),
            _entry(["truncate"], _arg(1, "SCMP_CMP_LT", 1 << 32), _arg(1, "SCMP_CMP_GT", 1 << 48)),
            _entry(["fallocate"], _arg(2, "SCMP_CMP_LT", 1 << 40), _arg(3, "SCMP_CMP_LE", 1 << 36)),
            _entry(["mremap"], _arg(2, "SCMP_CMP_LE", (1 << 33) + 4096)),
            _entry(["sendfile"], _arg(3, "SCMP_CMP_GE", 1 << 32)),
        ]
    )


SYNTHETIC: Final[tuple[tuple[str, Callable[[], JsonObject]], ...]] = (
    ("allowlist-40", allowlist_profile),
    ("arguments", arguments_profile),
    ("ranges-64", ranges_profile),
)


@dataclass(frozen=True)
class Subject:
    """One policy: the profile libseccomp gets, and the Policy seccomp-bpf reads from it."""

    name: str
    description: str
    profile: JsonObject
    entries: list[JsonObject]  # the profile's entries after Docker's includes/excludes
    policy: Policy


def load_subjects(notes: list[str]) -> list[Subject]:
    result = []
    if DOCKER_DEFAULT.exists():
        text = DOCKER_DEFAULT.read_text(encoding="utf-8")
        profile = json.loads(text)
        policy = load_oci_policy(
            text, source=str(DOCKER_DEFAULT), arch=MACHINE, kernel=KERNEL_RELEASE
        )
        entries = docker_entries(profile, DOCKER_DEFAULT_CAPABILITIES)
        description = "Docker's default profile (default capabilities, archMap of x86_64)"
        result.append(Subject("docker-default", description, profile, entries, policy))
    else:
        notes.append(f"{DOCKER_DEFAULT.resolve()} is absent: Docker's profile is skipped")
    for name, build in SYNTHETIC:
        profile = build()
        policy = load_oci_policy(
            json.dumps(profile), source=f"<{name}>", arch=MACHINE, kernel=KERNEL_RELEASE
        )
        description = (build.__doc__ or "").strip().splitlines()[0]
        result.append(Subject(name, description, profile, profile["syscalls"], policy))
    return result


# --- the compilers --------------------------------------------------------------------------------

Span = Callable[[], bytes]


@dataclass(frozen=True)
class Compiler:
    """``prepare`` does what comes before the timed span and returns the span itself: from
    the policy object to the program's bytes, the same span for every compiler."""

    name: str
    prepare: Callable[[Subject], Span]


def our_compilers(frequency: dict[str, dict[str, float]] | None) -> list[Compiler]:
    def plain(subject: Subject) -> Span:
        # A fresh copy: the Policy caches its name resolution, which compiling must redo.
        policy = dataclasses.replace(subject.policy)
        return lambda: compile_policy(policy).to_bytes()

    def profiled(subject: Subject) -> Span:
        policy = dataclasses.replace(subject.policy)
        return lambda: compile_policy(policy, frequency=frequency).to_bytes()

    compilers = [Compiler(OURS, plain)]
    if frequency is not None:
        compilers.append(Compiler(OURS_FREQUENCY, profiled))
    return compilers


def libseccomp_compilers(lib: Libseccomp) -> list[Compiler]:
    def build(optimize: int | None) -> Callable[[Subject], Span]:
        def prepare(subject: Subject) -> Span:
            arches = [_libseccomp_arch(arch) for arch in subject.policy.resolved_arches()]
            return lambda: lib.export_bpf(
                subject.profile, subject.entries, arches=arches, optimize=optimize
            )

        return prepare

    name = f"libseccomp {lib.version}"
    return [
        Compiler(name, build(None)),
        Compiler(f"{name} optimize=2", build(libseccomp.OPTIMIZE_BINARY_TREE)),
    ]


def _libseccomp_arch(arch: Arch) -> str:
    if arch.libseccomp_name is None:
        raise ValueError(f"libseccomp has no {arch.name}")
    return arch.libseccomp_name


# --- measurements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """A syscall number (arguments 0) on which a program and the policy decide differently."""

    abi: str
    nr: int
    name: str
    expected: str  # the policy's action (Policy.evaluate)
    actual: str  # the program's
    reason: str | None  # TABLE_VERSION, or None when no known cause explains it


# The mismatch comes from libseccomp's syscall tables: they have no number (or another one)
# for the name on this ABI, so runc's rule for it is dropped. Not a difference of meaning.
TABLE_VERSION: Final = "libseccomp's tables lack this name"


@dataclass
class Row:
    """One compiler on one policy."""

    compiler: str
    length: int
    executed: dict[str, tuple[float, int]]  # ABI -> (mean, max) over its table, arguments 0
    weighted: float | None  # x86_64 mean weighted by the syscall mix
    cacheable: int  # argument-free ALLOWs the kernel's action cache takes
    argument_free_allows: int
    not_cached: list[str]  # names of the argument-free ALLOWs it does not take
    compile_ms: float  # median
    mismatches: list[Mismatch]
    syscall_ns: dict[str, float] = field(default_factory=dict)


@dataclass
class Result:
    subject: str
    description: str
    rows: list[Row]
    timing_notes: list[str] = field(default_factory=list)


def table_numbers(arch: Arch) -> list[int]:
    return sorted(set(arch.syscalls.values()))


def argument_free_allows(policy: Policy, arch: Arch) -> list[int]:
    """The numbers of ``arch``'s table that ``policy`` allows whatever the arguments are.

    Definition (sound and checkable without a solver): the rules naming the number are read in
    policy order up to the first one without a condition; the number counts when that rule
    (or the default action, when every rule has a condition) is ALLOW and every conditional
    rule before it is ALLOW too. Then no argument vector can give anything but ALLOW. A
    conditional rule whose condition can never hold would make this undercount; none of the
    policies here has one.
    """
    resolved = policy.resolve(arch)
    numbers = []
    for nr in table_numbers(arch):
        outcome = policy.default_action
        conditional_actions = set()
        for rule in resolved.rules_by_nr.get(nr, ()):
            if rule.condition is None:
                outcome = rule.action
                break
            conditional_actions.add(rule.action)
        if outcome == ALLOW and conditional_actions <= {ALLOW}:
            numbers.append(nr)
    return numbers


def reference_decisions(policy: Policy) -> dict[tuple[str, int], int]:
    """The policy's return value for every table number of every ABI, arguments 0."""
    decisions = {}
    for abi in ABIS:
        arch = get_arch(abi)
        for nr in table_numbers(arch):
            decisions[abi, nr] = policy.evaluate(arch.audit_arch, nr).ret_value
    return decisions


def measure(
    subject: Subject,
    *,
    compiler: str,
    program: Program,
    compile_ms: float,
    reference: dict[tuple[str, int], int],
    weights: dict[str, float] | None,
    lib: Libseccomp | None,
) -> Row:
    native = get_arch(MACHINE)
    executed: dict[str, tuple[float, int]] = {}
    counts: dict[int, int] = {}
    mismatches = []
    for abi in ABIS:
        arch = get_arch(abi)
        steps = []
        for nr in table_numbers(arch):
            run = emulate(program, SeccompData(nr, arch.audit_arch))
            steps.append(run.executed)
            if abi == MACHINE:
                counts[nr] = run.executed
            expected = reference[abi, nr]
            if run.ret != expected:
                name = arch.syscall_name(nr) or str(nr)
                reason = None
                if compiler.startswith("libseccomp") and lib is not None:
                    theirs = lib.syscall_number(_libseccomp_arch(arch), name)
                    if theirs != nr:
                        reason = TABLE_VERSION
                mismatches.append(
                    Mismatch(
                        abi,
                        nr,
                        name,
                        format_return_value(expected),
                        format_return_value(run.ret),
                        reason,
                    )
                )
        executed[abi] = (statistics.fmean(steps), max(steps))
    weighted = None
    if weights:
        pairs = [
            (weight, counts[native.syscalls[name]])
            for name, weight in weights.items()
            if name in native.syscalls
        ]
        weighted = sum(w * c for w, c in pairs) / sum(w for w, _ in pairs)
    free = argument_free_allows(subject.policy, native)
    not_cached = [
        native.syscall_name(nr) or str(nr)
        for nr in free
        if not is_constant_allow(program, native.audit_arch, nr)
    ]
    return Row(
        compiler=compiler,
        length=len(program),
        executed=executed,
        weighted=weighted,
        cacheable=len(free) - len(not_cached),
        argument_free_allows=len(free),
        not_cached=not_cached,
        compile_ms=compile_ms,
        mismatches=mismatches,
    )


def compile_timed(compiler: Compiler, subject: Subject, repeat: int) -> tuple[bytes, float]:
    """The program, and the median time of ``repeat`` runs of the span after one warm-up."""
    program = compiler.prepare(subject)()
    times = []
    for _ in range(repeat):
        span = compiler.prepare(subject)
        start = time.perf_counter_ns()
        span()
        times.append(time.perf_counter_ns() - start)
    return program, statistics.median(times) / 1e6


# --- real system calls with the filter loaded -----------------------------------------------------


SyscallTimer = Callable[[int, int, int], tuple[float, int]]
"""``(nr, iterations, batches) -> (lowest mean ns per call of a batch, what the call returned)``."""

TIMER_SOURCE: Final = Path(__file__).resolve().parent / "syscall_timer.c"


def c_timer(directory: Path, notes: list[str]) -> SyscallTimer | None:
    """The loop of ``syscall_timer.c``, built with the C compiler, or None without one."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        notes.append("no C compiler: system calls are timed in a Python loop (ctypes)")
        return None
    library = directory / "syscall_timer.so"
    command = [compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(TIMER_SOURCE)]
    built = subprocess.run(command, capture_output=True, text=True, check=False)
    if built.returncode != 0:
        notes.append(f"{TIMER_SOURCE.name} did not build ({built.stderr.strip()}): Python loop")
        return None
    function = ctypes.CDLL(str(library)).ns_per_call
    function.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_int, ctypes.POINTER(ctypes.c_long)]
    function.restype = ctypes.c_double

    def timer(nr: int, iterations: int, batches: int) -> tuple[float, int]:
        returned = ctypes.c_long()
        ns = float(function(nr, iterations, batches, ctypes.byref(returned)))
        return ns, returned.value

    return timer


def python_timer(nr: int, iterations: int, batches: int) -> tuple[float, int]:
    """The same loop in Python: ``syscall(nr, 0, 0, 0, 0, 0, 0)`` through ctypes, which adds
    several hundred nanoseconds per call (argument conversion) to every figure."""
    call = ctypes.CDLL(None).syscall
    call.restype = ctypes.c_long
    zero, number = ctypes.c_long(0), ctypes.c_long(nr)
    per_batch = max(iterations // batches, 1)
    best = float("inf")
    returned = int(call(number, zero, zero, zero, zero, zero, zero))
    for _ in range(batches):
        start = time.perf_counter_ns()
        for _ in itertools.repeat(None, per_batch):
            call(number, zero, zero, zero, zero, zero, zero)
        best = min(best, (time.perf_counter_ns() - start) / per_batch)
    return best, returned


def time_syscalls(
    timer: SyscallTimer,
    program: Program | None,
    calls: dict[str, int],
    iterations: int,
    batches: int,
) -> dict[str, float] | str:
    """In a forked child: load ``program`` (None: no filter), then time each call.

    Returns ns per call by label, or the reason the child failed. ``calls`` maps a label to a
    syscall number; a label starting with ``denied:`` must return -1 (the filter denied it).
    """
    from seccomp_bpf.kernel import install

    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            if program is not None:
                install(program)
            report: dict[str, float | str] = {}
            for label, nr in calls.items():
                ns, returned = timer(nr, iterations, batches)
                if label.startswith("denied:") and returned != -1:
                    report["error"] = f"{label} returned {returned}: the filter did not deny it"
                report[label] = ns
            message = json.dumps(report)
        except BaseException as error:  # reported to the parent, whatever it is
            message, status = json.dumps({"error": f"{type(error).__name__}: {error}"}), 1
        os.write(write_end, message.encode())
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"the child was killed by signal {os.WTERMSIG(status)}"
    try:
        report = json.loads(data)
    except json.JSONDecodeError:
        return f"the child exited with status {os.waitstatus_to_exitcode(status)} and no report"
    if "error" in report:
        return str(report["error"])
    return {label: float(ns) for label, ns in report.items()}


def timed_calls(policy: Policy, notes: list[str], subject: str) -> dict[str, int]:
    """The calls to time under ``policy``: the allowed and the denied one, each only if the
    policy really decides that way on x86_64 with arguments 0."""
    native = get_arch(MACHINE)
    calls = {}
    allowed, denied = native.syscalls[ALLOWED_CALL], native.syscalls[DENIED_CALL]
    if policy.evaluate(native.audit_arch, allowed) == ALLOW:
        calls[ALLOWED_CALL] = allowed
    else:
        notes.append(f"{subject}: {ALLOWED_CALL} is not allowed; not timed")
    if policy.evaluate(native.audit_arch, denied).kind is SeccompAction.ERRNO:
        calls[f"denied:{DENIED_CALL}"] = denied
    else:
        notes.append(f"{subject}: {DENIED_CALL} is not denied with an errno; not timed")
    return calls


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Report:
    environment: dict[str, str]
    results: list[Result]
    baseline_ns: dict[str, float] | None
    targets: list[tuple[str, str, bool, str]]  # (target, compiler, met, value)
    notes: list[str]


def run(repeat: int, iterations: int, kernel: bool, batches: int = 10) -> Report:
    notes: list[str] = []
    lib = libseccomp.load()
    environment = {
        "python": platform.python_version(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "libseccomp": lib.version if lib is not None else "absent",
        "repeat": str(repeat),
        "iterations": str(iterations),
    }
    weights: dict[str, float] | None = None
    frequency: dict[str, dict[str, float]] | None = None
    if SYSCALL_MIX.exists():
        with SYSCALL_MIX.open(encoding="utf-8") as stream:
            frequency = parse_frequency(json.load(stream), source=str(SYSCALL_MIX))
        weights = frequency.get(MACHINE)
    else:
        notes.append(f"{SYSCALL_MIX.resolve()} is absent: no weighted means, no --frequency row")
    compilers = our_compilers(frequency)
    if lib is not None:
        compilers += libseccomp_compilers(lib)
    else:
        notes.append("libseccomp.so.2 is absent: seccomp-bpf's rows only")
    if kernel and platform.machine() != MACHINE:
        notes.append(f"this machine is not {MACHINE}: no filter is loaded")
        kernel = False

    with tempfile.TemporaryDirectory(prefix="seccomp-bpf-bench-") as directory:
        timer: SyscallTimer = python_timer
        if kernel:
            timer = c_timer(Path(directory), notes) or python_timer
            environment["syscall timer"] = "C loop" if timer is not python_timer else "Python"

        def timed(program: Program | None, calls: dict[str, int]) -> dict[str, float] | str:
            return time_syscalls(timer, program, calls, iterations, batches)

        results = []
        for subject in load_subjects(notes):
            reference = reference_decisions(subject.policy)
            result = Result(subject.name, subject.description, [])
            calls = timed_calls(subject.policy, notes, subject.name) if kernel else {}
            for compiler in compilers:
                data, compile_ms = compile_timed(compiler, subject, repeat)
                program = Program.from_bytes(data)
                row = measure(
                    subject,
                    compiler=compiler.name,
                    program=program,
                    compile_ms=compile_ms,
                    reference=reference,
                    weights=weights,
                    lib=lib,
                )
                if calls:
                    timing = timed(program, calls)
                    if isinstance(timing, str):
                        result.timing_notes.append(f"{compiler.name}: {timing}")
                    else:
                        row.syscall_ns = timing
                result.rows.append(row)
            results.append(result)

        baseline = None
        if kernel:
            allowed = get_arch(MACHINE).syscalls[ALLOWED_CALL]
            timing = timed(None, {ALLOWED_CALL: allowed, UNKNOWN_CALL: UNKNOWN_NR})
            if isinstance(timing, str):
                notes.append(f"baseline: {timing}")
            else:
                baseline = timing
    return Report(environment, results, baseline, check_targets(results), notes)


def check_targets(results: list[Result]) -> list[tuple[str, str, bool, str]]:
    """The targets for Docker's default profile, for each of seccomp-bpf's rows."""
    docker = next((r for r in results if r.subject == "docker-default"), None)
    if docker is None:
        return []
    rows = {row.compiler: row for row in docker.rows}
    reference = next((row for row in docker.rows if row.compiler.startswith("libseccomp")), None)
    checks: list[tuple[str, str, bool, str]] = []
    for name in (OURS, OURS_FREQUENCY):
        row = rows.get(name)
        if row is None:
            continue
        mean, most = row.executed[MACHINE]
        checks.append(
            (f"length <= {TARGET_LENGTH}", name, row.length <= TARGET_LENGTH, str(row.length))
        )
        checks.append((f"x86_64 mean <= {TARGET_MEAN:g}", name, mean <= TARGET_MEAN, f"{mean:.2f}"))
        checks.append((f"x86_64 max <= {TARGET_MAX}", name, most <= TARGET_MAX, str(most)))
        if row.weighted is not None:
            goal = TARGET_WEIGHTED_FREQUENCY if name == OURS_FREQUENCY else TARGET_WEIGHTED
            checks.append(
                (f"weighted mean <= {goal:g}", name, row.weighted <= goal, f"{row.weighted:.2f}")
            )
        checks.append(
            (
                "every argument-free ALLOW cacheable",
                name,
                row.cacheable == row.argument_free_allows,
                f"{row.cacheable}/{row.argument_free_allows}",
            )
        )
        if reference is not None:
            checks.append(
                (
                    f"compile time <= {reference.compiler}'s",
                    name,
                    row.compile_ms <= reference.compile_ms,
                    f"{row.compile_ms:.2f} ms vs {reference.compile_ms:.2f} ms",
                )
            )
    return checks


# --- output ---------------------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def describe_differences(row: Row) -> list[str]:
    """Mismatches with the policy, and argument-free ALLOWs the kernel cannot cache."""
    lines = []
    by_table = [m for m in row.mismatches if m.reason == TABLE_VERSION]
    if by_table:
        names = {
            abi: " ".join(m.name for m in by_table if m.abi == abi)
            for abi in ABIS
            if any(m.abi == abi for m in by_table)
        }
        lines.append(
            f"{len(by_table)} mismatches because {TABLE_VERSION} (their rules are dropped): "
            + "; ".join(f"{abi}: {text}" for abi, text in names.items())
        )
    for m in row.mismatches:
        if m.reason is None:
            lines.append(
                f"MISMATCH {m.abi} {m.name} (nr {m.nr:#x}, arguments 0): "
                f"policy {m.expected}, program {m.actual}"
            )
    if row.not_cached:
        lines.append("argument-free ALLOWs not cacheable: " + " ".join(row.not_cached))
    return lines


def format_report(report: Report) -> str:
    lines = [
        "seccomp-bpf compiler vs libseccomp: "
        + ", ".join(f"{key} {value}" for key, value in report.environment.items()),
        "instructions executed: seccomp-bpf's emulator, arguments 0, every number of each "
        "ABI's table",
        "libseccomp gets the same profile, architectures and rules (i386 and x32 included) as "
        "runc gives it",
        "",
    ]
    denied = f"denied:{DENIED_CALL}"
    header = (
        f"{'compiler':<30}{'len':>5}{'x86_64 mean/max':>17}{'i386':>12}{'x32':>12}"
        f"{'weighted':>10}{'cached':>9}{'compile ms':>12}"
        f"{ALLOWED_CALL + ' ns':>12}{DENIED_CALL + ' ns':>18}{'mismatch':>10}"
    )
    for result in report.results:
        lines.append(f"{result.subject}: {result.description}")
        lines.append(header)
        for row in result.rows:
            cells = [f"{row.compiler:<30}{row.length:>5}"]
            for abi, width in zip(ABIS, (17, 12, 12), strict=True):
                mean, most = row.executed[abi]
                cells.append(f"{f'{mean:.2f}/{most}':>{width}}")
            genuine = sum(1 for m in row.mismatches if m.reason is None)
            tables = len(row.mismatches) - genuine
            cells += [
                f"{_cell(row.weighted, 2):>10}",
                f"{f'{row.cacheable}/{row.argument_free_allows}':>9}",
                f"{row.compile_ms:>12.2f}",
                f"{_cell(row.syscall_ns.get(ALLOWED_CALL)):>12}",
                f"{_cell(row.syscall_ns.get(denied)):>18}",
                f"{str(genuine) + (f' (+{tables})' if tables else ''):>10}",
            ]
            lines.append("".join(cells))
        for row in result.rows:
            lines.extend(f"  {row.compiler}: {line}" for line in describe_differences(row))
        lines.extend(f"  timing: {note}" for note in result.timing_notes)
        lines.append("")
    if report.baseline_ns is not None:
        lines.append(
            "baseline without a filter: "
            + ", ".join(f"{label} {ns:.1f} ns" for label, ns in report.baseline_ns.items())
            + " per call"
        )
    if report.targets:
        lines.append("targets for docker-default:")
        for target, compiler, met, value in report.targets:
            verdict = "PASS" if met else "MISS"
            lines.append(f"  {verdict}  {target:<44} {compiler:<26} {value}")
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def report_json(report: Report) -> JsonObject:
    return {
        "environment": report.environment,
        "policies": [
            {
                "name": result.subject,
                "description": result.description,
                "rows": [
                    {
                        "compiler": row.compiler,
                        "length": row.length,
                        "executed": {
                            abi: {"mean": mean, "max": most}
                            for abi, (mean, most) in row.executed.items()
                        },
                        "weighted_mean": row.weighted,
                        "cacheable": row.cacheable,
                        "argument_free_allows": row.argument_free_allows,
                        "not_cached": row.not_cached,
                        "compile_ms": row.compile_ms,
                        "syscall_ns": row.syscall_ns,
                        "mismatches": [dataclasses.asdict(m) for m in row.mismatches],
                    }
                    for row in result.rows
                ],
                "timing_notes": result.timing_notes,
            }
            for result in report.results
        ],
        "baseline_ns": report.baseline_ns,
        "targets": [
            {"target": target, "compiler": compiler, "met": met, "value": value}
            for target, compiler, met, value in report.targets
        ],
        "notes": report.notes,
    }


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if "--scale" in arguments:
        from benchmarks import scale  # it builds on this module: imported when asked for

        arguments.remove("--scale")
        return scale.main(arguments)
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compiler",
        description="Compare seccomp-bpf's compiler with libseccomp on the same policies.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--repeat", type=int, default=15, metavar="N", help="compile runs timed (median; 15)"
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=200_000,
        metavar="N",
        help="system calls timed per call and filter (200000)",
    )
    parser.add_argument(
        "--no-kernel", action="store_true", help="do not load filters to time system calls"
    )
    parser.add_argument(
        "--scale", action="store_true", help="the compiler at scale (benchmarks/scale.py)"
    )
    args = parser.parse_args(arguments)
    if args.repeat < 1 or args.iterations < 1:
        parser.error("--repeat and --iterations must be at least 1")
    report = run(args.repeat, args.iterations, kernel=not args.no_kernel)
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
