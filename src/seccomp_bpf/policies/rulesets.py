"""Prebuilt rule sets: rules for a purpose, to put into any policy.

In Python a rule set is a function returning a tuple of :class:`~seccomp_bpf.policy.Rule`;
put them where they should decide, since the first matching rule wins::

    from seccomp_bpf.policies.rulesets import deny_new_exec_mappings
    rules = (*deny_new_exec_mappings(arches=["x86_64"]), Rule(groups.MEMORY, ALLOW), ...)

In a YAML policy a rule set is an entry of ``syscalls`` of its own, whose rules take its
place in the order::

    syscalls:
      - include: deny_new_exec_mappings     # before the rule that allows mmap
        action: kill_process                # optional: the rule set's own default otherwise
      - names: ["@memory"]
        action: allow

Rule sets:

``deny_new_exec_mappings``
    Refuse to create executable memory: ``mmap``/``mmap2`` and ``mprotect``/``pkey_mprotect``
    with ``PROT_EXEC`` in their ``prot`` argument (the third, ``args[2]``, on every ABI; an
    ``int``, so compared on its low 32 bits). The program's own code, mapped by the kernel at
    execve and by the dynamic loader before, is not affected, but loading a shared library
    later (``dlopen``) and JIT compilers are. Default action ``errno(EPERM)``.

    On i386, m68k, s390 and s390x the call named ``mmap`` is ``old_mmap``, and on s390 also
    ``mmap2``: they take one pointer to a structure holding the arguments
    (``arch/x86/entry/syscalls/syscall_32.tbl``: ``90 i386 mmap sys_old_mmap``;
    ``arch/s390/kernel/syscalls/syscall.tbl``, ``arch/m68k/kernel/syscalls/syscall.tbl``).
    A filter cannot read memory, so ``PROT_EXEC`` cannot be checked there, and since a rule
    names a call on every architecture of its policy at once, the same rule cannot mean
    "check prot" on x86-64 and "deny everything" on i386. The rule set therefore refuses
    those ABIs with a :class:`~seccomp_bpf.errors.PolicyError`: leave them out of the
    policy's architectures (their calls then get the policy's ``bad_arch_action``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from seccomp_bpf.arch import Arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.actions import ERRNO, Action
from seccomp_bpf.policy.conditions import bits_set
from seccomp_bpf.policy.policy import expand_arch_name
from seccomp_bpf.policy.resolution import name_is_on
from seccomp_bpf.policy.rules import Rule

# <asm-generic/mman-common.h>: PROT_EXEC is 0x4 on every architecture.
PROT_EXEC: Final = 0x4

# The calls whose prot argument is args[2] (mmap(addr, len, prot, ...),
# mprotect(start, len, prot), pkey_mprotect(start, len, prot, pkey)).
_PROT_ARGUMENT: Final = 2
_EXEC_MAPPING_CALLS: Final = ("mmap", "mmap2", "mprotect", "pkey_mprotect")

# ABI -> the calls that take their arguments through a pointer there (see the docstring).
_ARGUMENTS_IN_MEMORY: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "i386": ("mmap",),
        "m68k": ("mmap",),
        "s390": ("mmap", "mmap2"),
        "s390x": ("mmap",),
    }
)


def _arches(arches: Iterable[Arch | str]) -> tuple[Arch, ...]:
    result: list[Arch] = []
    for item in arches:
        for arch in (item,) if isinstance(item, Arch) else expand_arch_name(item):
            if all(a.name != arch.name for a in result):
                result.append(arch)
    return tuple(result)


def deny_new_exec_mappings(
    action: Action | None = None, *, arches: Iterable[Arch | str] = ("native",)
) -> tuple[Rule, ...]:
    """Rules that give ``action`` (default ``errno(EPERM)``) to ``mmap``, ``mmap2``,
    ``mprotect`` and ``pkey_mprotect`` asking for ``PROT_EXEC``.

    ``arches`` must be the architectures of the policy the rules go into: only calls that
    one of them has are named, and an ABI where ``prot`` cannot be read raises
    :class:`PolicyError` (see the module docstring).
    """
    chosen = _arches(arches)
    for arch in chosen:
        hidden = _ARGUMENTS_IN_MEMORY.get(arch.name)
        if hidden:
            calls = " and ".join(hidden) + (" take" if len(hidden) > 1 else " takes")
            raise PolicyError(
                f"deny_new_exec_mappings cannot protect {arch.name}: there {calls} their "
                "arguments through a pointer, where a filter cannot see PROT_EXEC; leave "
                f"{arch.name} out of the policy's architectures (its calls then get the "
                "bad_arch_action)"
            )
    names = tuple(name for name in _EXEC_MAPPING_CALLS if any(name_is_on(a, name) for a in chosen))
    if not names:
        raise PolicyError(
            "deny_new_exec_mappings: none of "
            + ", ".join(_EXEC_MAPPING_CALLS)
            + " exists on "
            + ", ".join(a.name for a in chosen)
        )
    denial = action if action is not None else ERRNO("EPERM")
    return (Rule(names, denial, bits_set(_PROT_ARGUMENT, PROT_EXEC, width=32)),)


RuleSetFactory = Callable[..., tuple[Rule, ...]]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A rule set by name: ``build(action, arches=...)`` makes its rules."""

    name: str
    summary: str
    build: RuleSetFactory


RULE_SETS: Final[Mapping[str, RuleSet]] = MappingProxyType(
    {
        "deny_new_exec_mappings": RuleSet(
            "deny_new_exec_mappings",
            "refuse mmap/mmap2/mprotect/pkey_mprotect with PROT_EXEC (default errno(EPERM))",
            deny_new_exec_mappings,
        ),
    }
)
"""Every rule set a YAML policy can ``include``, by name."""


def get_rule_set(name: str) -> RuleSet:
    """The rule set called ``name``; PolicyError naming the known ones otherwise."""
    rule_set = RULE_SETS.get(name)
    if rule_set is None:
        raise PolicyError(f"unknown rule set {name!r} (known: {', '.join(RULE_SETS)})")
    return rule_set
