"""The policy: the one model every front end produces and every back end consumes.

Meaning (DESIGN §3), for a call ``(arch, nr, args, ip)``:

1. The architecture value and, for ``AUDIT_ARCH_X86_64``, bit 30 of ``nr`` choose the ABI
   (x86-64 or x32). An ABI the policy does not list gets ``bad_arch_action``.
2. The rules that name ``nr`` on that ABI (mirrored multiplexer entries included), and that
   are not limited to other ``AUDIT_ARCH`` values (``Rule.audit_arches``), are tried in
   policy order; the first whose condition holds gives the action.
3. Otherwise ``unknown_syscall_action`` if it is set and ``nr`` is neither in the ABI's table
   nor named by any rule (a number range a rule gives names each of its numbers); otherwise
   ``default_action``.

:mod:`seccomp_bpf.policy.reference` implements exactly this (``Policy.decide``); the compiler and
it are both tested against an independent reference evaluator in ``tests/reference``.

Names resolve per architecture. A name that none of the policy's architectures has is an
error (a typo must not vanish); a name missing on only some is skipped there and reported by
:meth:`Policy.check`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from seccomp_bpf.arch import SKIPPED_SYSCALL, Arch, all_arches, dispatched_arch, get_arch
from seccomp_bpf.errors import PolicyError, UnknownArchError
from seccomp_bpf.policy.actions import KILL_PROCESS, Action
from seccomp_bpf.policy.resolution import (
    MULTIPLEXER_MODES,
    ResolvedArch,
    check_names,
    resolve_for_arch,
    rule_label,
)
from seccomp_bpf.policy.rules import NumberRange, Rule
from seccomp_bpf.policy.sandbox import Sandbox

if TYPE_CHECKING:
    from seccomp_bpf.policy.reference import Decision

FILTER_FLAGS: Final[tuple[str, ...]] = (
    "tsync",
    "log",
    "spec_allow",
    "new_listener",
    "tsync_esrch",
    "wait_killable_recv",
)
"""Names of ``SECCOMP_FILTER_FLAG_*`` (``<linux/seccomp.h>``) a policy may ask for at install."""

_NEWEST: Final = 0xFFFF_FFFE
"""The last number ``newer_syscall_action`` covers: every one but -1 (a skipped call)."""


COMPAT_SUFFIX: Final = "+compat"
"""``NAME+compat`` in a policy's arches: NAME and the ABIs whose calls reach a process on a
kernel built for NAME (:attr:`Arch.compat`), e.g. ``native+compat`` on x86-64 is
``x86_64, i386, x32`` and on arm64 ``aarch64, arm``."""


def expand_arch_name(name: str) -> tuple[Arch, ...]:
    """The ABIs an entry of a policy's ``arches`` stands for.

    A name or alias (``x86_64``, ``amd64``), or ``native``, is one ABI; ``NAME+compat``
    (``native+compat``, ``x86_64+compat``) is NAME followed by its compat ABIs. Raises
    :class:`~seccomp_bpf.errors.UnknownArchError` for a name that is not known.
    """
    base, plus, rest = name.strip().partition("+")
    if plus and rest.strip().lower() != COMPAT_SUFFIX[1:]:
        raise UnknownArchError(
            f"unknown architecture {name!r}: the only suffix is {COMPAT_SUFFIX!r} "
            f"(for example native{COMPAT_SUFFIX})"
        )
    arch = get_arch(base.strip() if plus else name)
    if not plus:
        return (arch,)
    return (arch, *(get_arch(compat) for compat in arch.compat))


def _tuple_of(value: object, kind: type, what: str) -> tuple[object, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise PolicyError(f"{what} must be a sequence, not {value!r}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, kind):
            raise PolicyError(f"{what} holds {kind.__name__} values, not {item!r}")
    return items


@dataclass(frozen=True)
class Policy:
    """A seccomp policy; see the module docstring for its meaning.

    ``arches`` are names or aliases (``native`` is this machine's; ``NAME+compat`` adds the
    ABIs of NAME's compat layer, see :func:`expand_arch_name`). ``flags`` are
    ``SECCOMP_FILTER_FLAG_*`` names in lower case without the prefix (:data:`FILTER_FLAGS`),
    wishes for installation that do not change any decision. ``source`` is the file the
    policy was read from; ``notes`` are remarks of the reader that produced it (for example
    what an OCI profile asked for that has no equivalent). Neither takes part in equality.
    ``sandbox`` describes the confinement around the filter (:class:`Sandbox`: filesystem
    and network grants, capabilities kept, namespaces); it changes no decision of the filter,
    and ``None`` means the defaults of whatever applies the policy.

    ``newer_syscall_action`` (``errno(ENOSYS)``, as runc answers calls newer than its
    profile) is given, on each ABI, to every number above the highest one the policy's rules
    name there: it is lowered to one :class:`NumberRange` rule per ABI after the policy's
    own (:meth:`newer_rules`), which :meth:`resolve` and everything reading it see.
    """

    default_action: Action
    rules: tuple[Rule, ...] = ()
    arches: tuple[str, ...] = ("native",)
    bad_arch_action: Action = KILL_PROCESS
    unknown_syscall_action: Action | None = None
    multiplexer_conditions: str = "error"
    name: str | None = None
    comment: str | None = None
    flags: tuple[str, ...] = ()
    sandbox: Sandbox | None = None
    newer_syscall_action: Action | None = None
    source: str | None = field(default=None, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)
    _cache: dict[str, object] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("default_action", "bad_arch_action"):
            if not isinstance(getattr(self, name), Action):
                raise PolicyError(f"{name} must be an Action, not {getattr(self, name)!r}")
        for name in ("unknown_syscall_action", "newer_syscall_action"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Action):
                raise PolicyError(f"{name} must be an Action or None, not {value!r}")
        set_(self, "rules", _tuple_of(self.rules, Rule, "rules"))
        arches = _tuple_of(self.arches, str, "arches")
        if not arches:
            raise PolicyError("a policy needs at least one architecture")
        set_(self, "arches", arches)
        if self.multiplexer_conditions not in MULTIPLEXER_MODES:
            raise PolicyError(
                "multiplexer_conditions must be 'error', 'drop' or 'strict', "
                f"not {self.multiplexer_conditions!r}"
            )
        flags = _tuple_of(self.flags, str, "flags")
        for flag in flags:
            if flag not in FILTER_FLAGS:
                raise PolicyError(
                    f"unknown filter flag {flag!r}; expected one of {', '.join(FILTER_FLAGS)}"
                )
        set_(self, "flags", flags)
        if self.sandbox is not None and not isinstance(self.sandbox, Sandbox):
            raise PolicyError(f"sandbox must be a Sandbox or None, not {self.sandbox!r}")
        set_(self, "notes", _tuple_of(self.notes, str, "notes"))
        for name in ("name", "comment", "source"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise PolicyError(f"{name} must be text, not {value!r}")

    # --- architectures and resolution ---------------------------------------------------------

    def resolved_arches(self) -> tuple[Arch, ...]:
        """The listed architectures: ``native`` and ``NAME+compat`` expanded (see
        :func:`expand_arch_name`), aliases resolved, duplicates dropped."""
        cached = self._cache.get("arches")
        if cached is None:
            result: list[Arch] = []
            for name in self.arches:
                for arch in expand_arch_name(name):
                    if all(a.name != arch.name for a in result):
                        result.append(arch)
            cached = self._cache["arches"] = tuple(result)
        assert isinstance(cached, tuple)
        return cached

    def validate(self) -> None:
        """Raise :class:`PolicyError` unless every architecture resolves cleanly.

        Checks that each name exists on at least one listed architecture and that no rule
        with conditions is mirrored onto a multiplexer while ``multiplexer_conditions`` is
        ``"error"``. Readers call this; :meth:`resolve` and :meth:`evaluate` do too.
        """
        if self._cache.get("valid"):
            return
        arches = self.resolved_arches()
        check_names(self, arches, all_arches())
        for arch in arches:
            self._resolve_unchecked(arch)
        self._cache["valid"] = True

    def resolve(self, arch: Arch | str) -> ResolvedArch:
        """The policy on ``arch``: usually one of its architectures, but any may be asked
        for (a compiler told to target other architectures does); names that ``arch`` lacks
        are in ``skipped``. The policy is validated first."""
        if isinstance(arch, str):
            arch = get_arch(arch)
        self.validate()
        return self._resolve_unchecked(arch)

    def _resolve_unchecked(self, arch: Arch) -> ResolvedArch:
        key = f"resolved:{arch.name}"
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = resolve_for_arch(self, arch)
        assert isinstance(cached, ResolvedArch)
        return cached

    def check(self) -> list[str]:
        """Warnings, one line each: names skipped per architecture, conditions dropped on
        multiplexers, and the reader's notes. Raises :class:`PolicyError` if invalid."""
        self.validate()
        lines: list[str] = []
        for arch in self.resolved_arches():
            resolved = self.resolve(arch)
            for index, name in resolved.skipped:
                lines.append(
                    f"{arch.name}: {rule_label(index, self.rules[index])}: "
                    f"{name!r} is not a system call here; skipped"
                )
            lines.extend(resolved.warnings)
        lines.extend(self.notes)
        return lines

    # --- newer system calls -------------------------------------------------------------------

    def highest_named(self, arch: Arch) -> int | None:
        """The highest ``seccomp_data.nr`` the rules name on ``arch``: a name's number there,
        or a number the kernel runs from ``arch``'s table (:func:`dispatched_arch`); None when
        they name none. Rules limited to other ABIs do not count; number ranges do not either
        (they name odd spans such as x86-64's 0x80000000..0xbfffffff, not calls), nor -1, the
        call a tracer skipped."""
        highest: int | None = None
        for rule in self.rules:
            if not rule.applies_to(arch.name):
                continue
            for syscall in rule.syscalls:
                if isinstance(syscall, str):
                    nr = arch.syscalls.get(syscall)
                elif isinstance(syscall, int):
                    owner = dispatched_arch(arch.audit_arch, syscall)
                    nr = syscall if owner is not None and owner.name == arch.name else None
                    if syscall == SKIPPED_SYSCALL:
                        nr = None
                else:
                    continue
                if nr is not None and (highest is None or nr > highest):
                    highest = nr
        return highest

    def newer_rules(self) -> tuple[Rule, ...]:
        """``newer_syscall_action`` lowered to rules the compiler knows: on each ABI whose
        highest named number is ``H`` (:meth:`highest_named`), ``H+1..0xfffffffe`` gets the
        action, limited to that ABI (``Rule.arches``). Numbers of that range that the kernel
        runs from another ABI's table (x32's bit 30, MIPS's ranges) are that ABI's, as for
        every rule; -1 (0xffffffff, a call a tracer skipped) is left out: it is no call.
        Empty without the setting."""
        action = self.newer_syscall_action
        if action is None:
            return ()
        cached = self._cache.get("newer")
        if cached is None:
            rules: list[Rule] = []
            for arch in self.resolved_arches():
                highest = self.highest_named(arch)
                if highest is None or highest + 1 > _NEWEST:
                    continue
                rules.append(
                    Rule((NumberRange(highest + 1, _NEWEST),), action, arches=(arch.name,))
                )
            cached = self._cache["newer"] = tuple(rules)
        assert isinstance(cached, tuple)
        return cached

    @property
    def all_rules(self) -> tuple[Rule, ...]:
        """The rules, then :meth:`newer_rules`: what decides calls, in order. A rule index
        of a decision (:class:`ResolvedRule`, :class:`Decision`) is an index into this."""
        newer = self.newer_rules()
        return self.rules + newer if newer else self.rules

    def rule_label(self, index: int) -> str:
        """``rule 3 (policy.yaml:12:5)``; ``newer_syscall_action (above 461, the highest
        number the rules name on x86_64)`` for a lowered rule."""
        rules = self.all_rules
        if index < len(self.rules):
            return rule_label(index, rules[index])
        rule = rules[index]
        first = rule.syscalls[0]
        assert isinstance(first, NumberRange) and rule.arches is not None
        return (
            f"newer_syscall_action (above {first.first - 1}, the highest number the rules "
            f"name on {rule.arches[0]})"
        )

    # --- the meaning --------------------------------------------------------------------------

    def decide(
        self, arch: Arch | str | int, nr: int, args: Sequence[int] = (0,) * 6, ip: int = 0
    ) -> Decision:
        """What the policy does with this call, which rule decided and why."""
        from seccomp_bpf.policy.reference import decide

        return decide(self, arch, nr, args, ip)

    def evaluate(
        self, arch: Arch | str | int, nr: int, args: Sequence[int] = (0,) * 6, ip: int = 0
    ) -> Action:
        """The action for this call; ``arch`` is an Arch, a name or an ``AUDIT_ARCH_*`` value."""
        return self.decide(arch, nr, args, ip).action
