"""What a policy does with one call and why, straight from DESIGN §3: ``Policy.decide``.

The library's explanation of a decision (which rule, through which multiplexer, on which ABI),
used by ``seccomp-bpf check`` and the supervisor. It is written to be obviously right rather
than fast, and reads the same per-architecture resolution as the compiler
(:mod:`.resolution`), so that it explains what the compiled filter does. It is not the oracle
the compiler is judged by: that one, ``tests/reference/evaluator.py``, shares nothing with the
compiler, and this module is tested against it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seccomp_bpf.arch import Arch, dispatched_arch, get_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.policy import Policy

_MASK32 = 0xFFFFFFFF
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Decision:
    """An action, the index of the rule that gave it (``None`` when no rule did) and why."""

    action: Action
    rule_index: int | None
    reason: str
    arch: str | None = None
    """The ABI the call was matched against (``None`` for a bad architecture)."""


def _audit_value(arch: Arch | str | int) -> int:
    if isinstance(arch, Arch):
        return arch.audit_arch
    if isinstance(arch, str):
        return get_arch(arch).audit_arch
    if isinstance(arch, bool) or not isinstance(arch, int):
        raise PolicyError(
            f"an architecture is an Arch, a name or an AUDIT_ARCH_* value, not {arch!r}"
        )
    return arch & _MASK32


def _arguments(args: Sequence[int]) -> tuple[int, ...]:
    if len(args) > 6:
        raise PolicyError(f"a system call has at most 6 arguments, not {len(args)}")
    return tuple(a & _MASK64 for a in args) + (0,) * (6 - len(args))


def decide(
    policy: Policy, arch: Arch | str | int, nr: int, args: Sequence[int] = (0,) * 6, ip: int = 0
) -> Decision:
    """What ``policy`` does with the call ``nr(args)`` made at ``ip`` on ``arch``.

    ``arch`` is an :class:`Arch`, an architecture name, or the ``seccomp_data.arch`` value;
    ``nr`` is ``seccomp_data.nr`` (negative numbers are read as their 32-bit pattern).
    """
    policy.validate()
    audit = _audit_value(arch)
    nr &= _MASK32
    arguments = _arguments(args)
    ip &= _MASK64

    # 1. The ABI whose table the kernel runs nr from: the AUDIT_ARCH value, and for
    #    AUDIT_ARCH_X86_64 bit 30 of nr (x32 or not); on MIPS the number's range (o32, n64, n32).
    abi = dispatched_arch(audit, nr)
    listed = {a.name: a for a in policy.resolved_arches()}
    if abi is None or abi.name not in listed:
        what = f"ABI {abi.name}" if abi is not None else f"architecture {audit:#010x}"
        return Decision(
            policy.bad_arch_action, None, f"bad architecture: {what} is not in the policy"
        )
    resolved = policy.resolve(listed[abi.name])
    if abi.argument_bits == 32:
        # Only the low half of each argument register reaches a call of a 32-bit ABI, whatever
        # a 64-bit caller left in the upper half (seccomp still sees it): see Arch.argument_bits.
        arguments = tuple(a & _MASK32 for a in arguments)

    # 2. The rules naming nr (by name, by number or in a range) that take part for calls
    #    reported as this AUDIT_ARCH value, in policy order: the first whose condition holds
    #    decides.
    entries = resolved.entries(nr, audit)
    for entry in entries:
        if entry.condition is None or entry.condition.holds(arguments, ip):
            via = f" through {entry.via}" if entry.via else ""
            return Decision(
                entry.action,
                entry.rule_index,
                f"{policy.rule_label(entry.rule_index)}{via}",
                abi.name,
            )

    # 3. No rule decided.
    if (
        policy.unknown_syscall_action is not None
        and nr not in resolved.known_numbers
        and not entries
    ):
        return Decision(
            policy.unknown_syscall_action, None, f"unknown system call {nr} on {abi.name}", abi.name
        )
    return Decision(policy.default_action, None, "default action", abi.name)


def evaluate(
    policy: Policy, arch: Arch | str | int, nr: int, args: Sequence[int] = (0,) * 6, ip: int = 0
) -> Action:
    """The action ``policy`` gives the call; see :func:`decide`."""
    return decide(policy, arch, nr, args, ip).action
