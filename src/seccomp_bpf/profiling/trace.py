"""What a profiled run did: :class:`SyscallTrace`, the profiler's result.

Counts and argument values are kept per ABI (``x86_64``, ``i386``, ``x32``...), as the
kernel reported each call (``seccomp_data.arch`` and ``nr``): an ``int 0x80`` call of a
64-bit program is an i386 call. A call is named by its table's name, or kept as its number
when the table has none.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from seccomp_bpf.profiling.arguments import ArgumentSpec

if TYPE_CHECKING:
    from seccomp_bpf.policy import Action, Policy
    from seccomp_bpf.profiling.generate import GeneratedPolicy

SyscallKey = str | int
"""A system call of one ABI: its name, or its number when the ABI's table has no name."""

ArgumentValues = Mapping[SyscallKey, Mapping[ArgumentSpec, frozenset[int]]]


def _sort_key(key: SyscallKey) -> tuple[int, str, int]:
    return (1, "", key) if isinstance(key, int) else (0, key, 0)


@dataclass(frozen=True)
class SyscallTrace:
    """The system calls of a command and of every process and thread it started.

    - ``counts``: ABI name -> call -> how many times it was made (0: let through unseen
      only with the argument values recorded for it, ``clone`` without namespace flags in
      ``--mode notify``).
    - ``arguments``: ABI name -> call -> :class:`ArgumentSpec` -> the values seen (after
      the spec's mask), for the calls whose arguments were recorded.
    - ``unrecorded``: calls the filter allowed without telling the profiler (the base set
      of ``--mode notify``): they run, but are neither counted nor checked. Names, for every
      ABI of the run.
    - ``command``, ``mode``; ``exit_status`` as a shell reports it (the exit code, 128+N for
      a death by signal N), None when unknown, and ``wait_status`` as ``waitpid`` gave it;
      ``processes`` and ``threads`` started
      (the command counts as one process); ``seconds`` of wall time.
    - ``foreign_calls``: calls reported with an ``AUDIT_ARCH`` no known ABI has.
    """

    counts: Mapping[str, Mapping[SyscallKey, int]]
    arguments: Mapping[str, ArgumentValues] = field(default_factory=dict)
    unrecorded: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    mode: str = "ptrace"
    exit_status: int | None = None
    wait_status: int | None = None
    processes: int = 0
    threads: int = 0
    seconds: float = 0.0
    foreign_calls: int = 0

    # --- reading ------------------------------------------------------------------------------

    @property
    def arches(self) -> tuple[str, ...]:
        """The ABIs that made calls, in the order they were first seen."""
        return tuple(arch for arch, calls in self.counts.items() if calls)

    @property
    def total(self) -> int:
        """Calls recorded, on every ABI."""
        return sum(sum(calls.values()) for calls in self.counts.values())

    @property
    def distinct(self) -> int:
        """Distinct (ABI, call) pairs recorded."""
        return sum(1 for calls in self.counts.values() for count in calls.values() if count)

    def syscalls(self, arch: str | None = None) -> tuple[SyscallKey, ...]:
        """The calls made on ``arch`` (on any ABI when None), names first, sorted."""
        keys: set[SyscallKey] = set()
        for name, calls in self.counts.items():
            if arch is None or name == arch:
                keys.update(calls)
        return tuple(sorted(keys, key=_sort_key))

    def frequency(self) -> dict[str, dict[str, dict[str, int]]]:
        """The frequency profile the compiler reads (``compile_policy(..., frequency=...)``,
        ``seccomp-bpf compile --frequency``): ``{"arches": {"x86_64": {"read": 12}}}``, the
        most frequent first. Calls without a name are left out (the compiler weighs names)."""
        arches: dict[str, dict[str, int]] = {}
        for arch, calls in self.counts.items():
            named = [(k, count) for k, count in calls.items() if isinstance(k, str) and count]
            if named:
                named.sort(key=lambda item: (-item[1], item[0]))
                arches[arch] = dict(named)
        return {"arches": arches}

    # --- combining ----------------------------------------------------------------------------

    def merge(self, other: SyscallTrace) -> SyscallTrace:
        """Both runs as one: counts added, argument values united."""
        counts: dict[str, dict[SyscallKey, int]] = {}
        for trace in (self, other):
            for arch, calls in trace.counts.items():
                target = counts.setdefault(arch, {})
                for key, count in calls.items():
                    target[key] = target.get(key, 0) + count
        arguments: dict[str, dict[SyscallKey, dict[ArgumentSpec, frozenset[int]]]] = {}
        for trace in (self, other):
            for arch, by_call in trace.arguments.items():
                for key, by_spec in by_call.items():
                    target_specs = arguments.setdefault(arch, {}).setdefault(key, {})
                    for spec, values in by_spec.items():
                        target_specs[spec] = target_specs.get(spec, frozenset()) | values
        return SyscallTrace(
            counts=counts,
            arguments=arguments,
            unrecorded=tuple(dict.fromkeys((*self.unrecorded, *other.unrecorded))),
            command=self.command,
            mode=self.mode if self.mode == other.mode else f"{self.mode}+{other.mode}",
            exit_status=self.exit_status,
            wait_status=self.wait_status,
            processes=self.processes + other.processes,
            threads=self.threads + other.threads,
            seconds=self.seconds + other.seconds,
            foreign_calls=self.foreign_calls + other.foreign_calls,
        )

    # --- policies -----------------------------------------------------------------------------

    def generate(
        self,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        merge: Sequence[Policy] = (),
        arguments: bool = True,
        per_abi: bool = True,
        default_action: Action | None = None,
        unknown_syscall_action: Action | None = None,
        name: str | None = None,
    ) -> GeneratedPolicy:
        """The allowlist policy with what the YAML writer says about each rule; see
        :func:`seccomp_bpf.profiling.generate.generate` for the options."""
        from seccomp_bpf.profiling.generate import generate

        return generate(
            self,
            allow=allow,
            deny=deny,
            merge=merge,
            arguments=arguments,
            per_abi=per_abi,
            default_action=default_action,
            unknown_syscall_action=unknown_syscall_action,
            name=name,
        )

    def to_policy(
        self,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        merge: Sequence[Policy] = (),
        arguments: bool = True,
        per_abi: bool = True,
        default_action: Action | None = None,
        unknown_syscall_action: Action | None = None,
        name: str | None = None,
    ) -> Policy:
        """An allowlist :class:`~seccomp_bpf.policy.Policy` that lets exactly these calls
        through (and the argument values recorded), on the ABIs seen and this machine's.

        - ``allow``: names (``@groups``, ``@FILE`` lists: :mod:`.name_lists`) to allow even
          if not seen, whatever their arguments; a name only other ABIs have is ignored;
        - ``deny``: the same, never to allow, even if seen; each gets a rule with
          the default action, first, so that a later ``merge`` keeps them out too;
        - ``merge``: policies this profiler generated earlier, to unite with this run;
        - ``arguments``: False allows every recorded call whatever its arguments;
        - ``per_abi``: limit each rule to the ABIs that made its calls (False: a call seen on
          one ABI is allowed on all, as an OCI profile needs);
        - ``default_action``: ``errno(EPERM)`` unless given; ``unknown_syscall_action``:
          ``errno(ENOSYS)`` unless given (numbers no table knows, so that C libraries fall
          back to older calls); ``newer_syscall_action`` is ``errno(ENOSYS)`` (the numbers
          above the highest one the policy names on each ABI).
        """
        return self.generate(
            allow=allow,
            deny=deny,
            merge=merge,
            arguments=arguments,
            per_abi=per_abi,
            default_action=default_action,
            unknown_syscall_action=unknown_syscall_action,
            name=name,
        ).policy

    def to_yaml(
        self,
        *,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        merge: Sequence[Policy] = (),
        arguments: bool = True,
        per_abi: bool = True,
        default_action: Action | None = None,
        unknown_syscall_action: Action | None = None,
        name: str | None = None,
    ) -> str:
        """The policy of :meth:`to_policy` (same options) in the YAML format, grouped by
        purpose and commented with the counts."""
        from seccomp_bpf.profiling.output import policy_yaml

        return policy_yaml(
            self.generate(
                allow=allow,
                deny=deny,
                merge=merge,
                arguments=arguments,
                per_abi=per_abi,
                default_action=default_action,
                unknown_syscall_action=unknown_syscall_action,
                name=name,
            )
        )

    def describe(self) -> str:
        """``12345 system calls (67 distinct) by 3 processes and 5 threads``."""
        processes = f"{self.processes} process{'' if self.processes == 1 else 'es'}"
        threads = f"{self.threads} thread{'' if self.threads == 1 else 's'}"
        return f"{self.total} system calls ({self.distinct} distinct) by {processes} and {threads}"


def command_text(command: Sequence[str]) -> str:
    """The command as a shell would read it back."""
    import shlex

    return " ".join(shlex.quote(word) for word in command) if command else "(no command)"


def machine_text() -> str:
    uname = os.uname()
    return f"{uname.machine}, Linux {uname.release}"
