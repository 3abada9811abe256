"""``profile(argv)``: run a command and record every system call it and its children make.

::

    from seccomp_bpf.profiling import profile

    trace = profile(["python3", "-c", "print('hi')"])      # ptrace mode
    trace.counts["x86_64"]["write"]                          # 1 or more
    policy = trace.to_policy()                               # the allowlist
    frequency = trace.frequency()                            # for compile_policy(..., frequency=)

Everything that can fail is checked before the command runs (the command is looked up in
``PATH``; the argument specs, the learning filter, the kernel's support); the command then
runs with the caller's standard input, output and error, untouched. The recorder process
(:mod:`.recorder`) does the work; this function waits for its result.

The command runs with no_new_privs set, as under ``seccomp-bpf run`` (installing a filter
needs it): a set-user-ID program runs without its privileges, here as under the policy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno as errno_codes
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from seccomp_bpf.arch import Arch, dispatched_arch, get_arch, native_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.errors import CommandError, KernelError
from seccomp_bpf.profiling.arguments import (
    FALLBACKS,
    ArgumentSpec,
    default_specs,
    flags_spec,
    parse_spec,
    resolve_specs,
)
from seccomp_bpf.profiling.recorder import (
    RecorderConfig,
    error_from,
    read_message,
    start_recorder,
)
from seccomp_bpf.profiling.trace import SyscallKey, SyscallTrace

MODES: Final = ("ptrace", "notify")

_MASK32: Final = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run is: calls recorded, distinct (ABI, call) pairs, processes and threads."""

    calls: int
    distinct: int
    processes: int
    threads: int

    def __str__(self) -> str:
        return (
            f"{self.calls} system calls, {self.distinct} distinct, "
            f"{self.processes} process{'' if self.processes == 1 else 'es'}, "
            f"{self.threads} thread{'' if self.threads == 1 else 's'}"
        )


def fallbacks_on(arches: Iterable[Arch]) -> list[str]:
    """The calls of :data:`~.arguments.FALLBACKS` some of ``arches`` has."""
    chosen = list(arches)
    return [name for name in FALLBACKS if any(name in arch.syscalls for arch in chosen)]


def profiled_arches() -> tuple[Arch, ...]:
    """The ABIs whose calls can reach a process here: this one and its compat ABIs."""
    native = native_arch()
    return (native, *(get_arch(name) for name in native.compat))


def argument_specs(args_of: Iterable[str | ArgumentSpec] | None) -> tuple[ArgumentSpec, ...]:
    """The specs to record: the default set for None, else each ``NAME``, ``NAME:N`` or
    :class:`ArgumentSpec` given (:func:`parse_spec`)."""
    if args_of is None:
        return default_specs()
    specs: list[ArgumentSpec] = []
    for item in args_of:
        found = (item,) if isinstance(item, ArgumentSpec) else parse_spec(item)
        specs.extend(spec for spec in found if spec not in specs)
    return tuple(specs)


def _tables(
    specs: Iterable[ArgumentSpec], arches: Iterable[Arch]
) -> tuple[
    dict[tuple[int, int], tuple[tuple[int, int], ...]], dict[tuple[int, int, int], ArgumentSpec]
]:
    """What the recorder records, by ``(AUDIT_ARCH, nr)``, and the spec of each recorded
    ``(AUDIT_ARCH, nr, index)``."""
    table: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {}
    spec_of: dict[tuple[int, int, int], ArgumentSpec] = {}
    specs = tuple(specs)
    for arch in arches:
        for nr, found in resolve_specs(specs, arch).items():
            table[(arch.audit_arch, nr)] = tuple((s.index, s.recording_mask) for s in found)
            for spec in found:
                spec_of[(arch.audit_arch, nr, spec.index)] = spec
    return table, spec_of


def _program(mode: str, arches: tuple[Arch, ...]) -> Program:
    if mode == "ptrace":
        # Every call, of every ABI, stops for the tracer, but clone3 fails with ENOSYS
        # (arguments.FALLBACKS): the command records the clone calls it makes instead.
        from seccomp_bpf.compiler import compile_policy
        from seccomp_bpf.policy import ERRNO, TRACE, Policy, Rule

        fallbacks = tuple(fallbacks_on(arches))
        tracing = Policy(
            default_action=TRACE(),
            rules=(Rule(fallbacks, ERRNO("ENOSYS")),) if fallbacks else (),
            arches=tuple(arch.name for arch in arches),
            bad_arch_action=TRACE(),
            name="seccomp-bpf profile --mode ptrace",
        )
        return compile_policy(tracing)
    from seccomp_bpf.kernel.notify import require_user_notif
    from seccomp_bpf.profiling.notify_mode import learning_program

    require_user_notif()
    return learning_program(arches)


@contextlib.contextmanager
def _forwarding(enabled: bool) -> Iterator[tuple[frozenset[int], Callable[[int], None]]]:
    """Yields the signal mask the command starts with, and a function to call with its pid
    once it runs. When ``enabled``, SIGHUP, SIGINT, SIGQUIT and SIGTERM sent to this process
    are passed on to the command meanwhile (:class:`SignalForwarder`)."""
    if not enabled:
        yield frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, ())), lambda pid: None
        return
    from seccomp_bpf.kernel.notified_child import SignalForwarder, signals_blocked

    forwarders: list[tuple[SignalForwarder, int]] = []

    def started(pid: int) -> None:
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return  # already gone
        forwarder = SignalForwarder(pid, pidfd)
        forwarder.start()
        forwarders.append((forwarder, pidfd))

    with signals_blocked() as mask:
        try:
            yield mask, started
        finally:
            for forwarder, pidfd in forwarders:
                forwarder.stop()
                os.close(pidfd)


def profile(
    args: Iterable[str],
    *,
    mode: str = "ptrace",
    args_of: Iterable[str | ArgumentSpec] | None = None,
    executable: str | None = None,
    follow_daemons: bool = False,
    progress: Callable[[Progress], None] | None = None,
    forward_signals: bool = False,
) -> SyscallTrace:
    """Run ``args`` and record its system calls and those of everything it starts.

    - ``mode``: ``"ptrace"`` (:mod:`.ptrace_mode`: every call, counted) or ``"notify"``
      (:mod:`.notify_mode`: no ptrace needed; a small base set is allowed unseen);
    - ``args_of``: whose arguments to record: None for the default set
      (:mod:`.arguments`), or names (``"socket"``), ``"NAME:N"`` and :class:`ArgumentSpec`;
      ``()`` for none;
    - ``executable``: the file to run instead of ``args[0]`` looked up in ``PATH``;
    - ``follow_daemons``: also record the processes the command leaves running, and return
      only when the last has ended (by default the result is the command's, returned when it
      ends; the others run on, unrecorded);
    - ``progress``: called a few times a second with a :class:`Progress`;
    - ``forward_signals``: pass SIGHUP, SIGINT, SIGQUIT and SIGTERM sent to this process on to
      the command (what the command line does; call from the main thread).

    Returns the :class:`SyscallTrace`; its ``exit_status`` is the command's (128+N for a
    death by signal N). Raises :class:`CommandError` when the command is not found or is not
    executable (``exit_status`` 127 or 126) or could not be started under the profiler, and
    :class:`KernelError` when the kernel lacks what the mode needs.
    """
    from seccomp_bpf.kernel.child import find_executable
    from seccomp_bpf.kernel.notified_child import exit_status

    if not sys.platform.startswith("linux"):
        raise KernelError("profiling", errno_codes.ENOSYS, "profiling needs Linux")
    argv = tuple(args)
    if not argv:
        raise ValueError("no command to profile")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    arches = profiled_arches()
    table, spec_of = _tables(argument_specs(args_of), arches)
    native = arches[0]
    execve = frozenset(
        (native.audit_arch, nr)
        for name in ("execve", "execveat")
        if (nr := native.syscall_number(name)) is not None
    )
    found = find_executable(executable if executable is not None else argv[0])
    program = _program(mode, arches)
    began = time.monotonic()
    with _forwarding(forward_signals) as (mask, started):
        config = RecorderConfig(
            argv=argv,
            executable=found,
            mode=mode,
            program=program,
            arguments=table,
            progress=progress is not None,
            follow_daemons=follow_daemons,
            mask=mask,
            execve=execve,
        )
        fd = start_recorder(config)
        try:
            while True:
                message = read_message(fd)
                if message is None:
                    raise KernelError(
                        "recording the command",
                        errno_codes.EPIPE,
                        "the recorder process ended without a result",
                    )
                kind = message.get("t")
                if kind == "started":
                    pid = message.get("pid")
                    if isinstance(pid, int):
                        started(pid)
                elif kind == "progress" and progress is not None:
                    progress(_progress(message))
                elif kind == "error":
                    raise error_from(message)
                elif kind == "done":
                    break
        finally:
            os.close(fd)
    seconds = time.monotonic() - began
    wait_status = message.get("status")
    status = exit_status(wait_status) if isinstance(wait_status, int) else None
    if not message.get("started"):
        raise CommandError(
            argv[0],
            errno_codes.ENOEXEC,
            status if status is not None else 125,
            "could not be started under the profiler"
            + ("" if status is None else f" (exit status {status})"),
        )
    trace = _trace(
        message, spec_of, argv=argv, mode=mode, status=status, seconds=seconds, arches=arches
    )
    return dataclasses.replace(
        trace, wait_status=wait_status if isinstance(wait_status, int) else None
    )


def _progress(message: dict[str, object]) -> Progress:
    def number(key: str) -> int:
        value = message.get(key)
        return value if isinstance(value, int) else 0

    return Progress(number("calls"), number("distinct"), number("processes"), number("threads"))


def _trace(
    message: dict[str, object],
    spec_of: dict[tuple[int, int, int], ArgumentSpec],
    *,
    argv: tuple[str, ...],
    mode: str,
    status: int | None,
    seconds: float,
    arches: tuple[Arch, ...],
) -> SyscallTrace:
    """The recorder's ``done`` message as a :class:`SyscallTrace`."""
    counts: dict[str, dict[SyscallKey, int]] = {}
    foreign = 0
    named: dict[tuple[int, int], tuple[str, SyscallKey] | None] = {}

    def name_of(audit: int, nr: int) -> tuple[str, SyscallKey] | None:
        key = (audit, nr)
        if key not in named:
            arch = dispatched_arch(audit, nr)
            named[key] = None if arch is None else (arch.name, arch.syscall_name(nr) or nr)
        return named[key]

    raw_counts = message.get("counts")
    assert isinstance(raw_counts, list)
    for audit, nr, count in raw_counts:
        found = name_of(audit, nr & _MASK32)
        if found is None:
            foreign += count
            continue
        arch_name, key = found
        calls = counts.setdefault(arch_name, {})
        calls[key] = calls.get(key, 0) + count
    arguments: dict[str, dict[SyscallKey, dict[ArgumentSpec, frozenset[int]]]] = {}
    raw_values = message.get("values")
    assert isinstance(raw_values, list)
    for audit, nr, index, values in raw_values:
        found = name_of(audit, nr & _MASK32)
        spec = spec_of.get((audit, nr & _MASK32, index))
        if found is None or spec is None:
            continue
        arch_name, key = found
        by_spec = arguments.setdefault(arch_name, {}).setdefault(key, {})
        by_spec[spec] = by_spec.get(spec, frozenset()) | frozenset(values)
    unrecorded: tuple[str, ...] = ()
    if mode == "notify":
        from seccomp_bpf.profiling.notify_mode import WITHOUT_FLAGS, base_set

        unrecorded = base_set(arches)
        for name in WITHOUT_FLAGS:
            # Let through unseen only without its flags: when those are recorded, it counts
            # as made with none of them (and with those recorded when it was notified).
            for arch in arches:
                nr, spec = arch.syscall_number(name), flags_spec(name, arch)
                if nr is None or spec is None or arch.name not in counts:
                    continue  # (an ABI that made no call is not added to the policy)
                recorded = spec_of.get((arch.audit_arch, nr, spec.index))
                if recorded is None:
                    continue
                counts.setdefault(arch.name, {}).setdefault(name, 0)
                by_spec = arguments.setdefault(arch.name, {}).setdefault(name, {})
                by_spec[recorded] = by_spec.get(recorded, frozenset())
                unrecorded = tuple(n for n in unrecorded if n != name)
    processes = message.get("processes")
    threads = message.get("threads")
    return SyscallTrace(
        counts=counts,
        arguments=arguments,
        unrecorded=unrecorded,
        command=argv,
        mode=mode,
        exit_status=status,
        processes=processes if isinstance(processes, int) else 0,
        threads=threads if isinstance(threads, int) else 0,
        seconds=seconds,
        foreign_calls=foreign,
    )
