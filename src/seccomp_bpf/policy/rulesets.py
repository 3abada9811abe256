"""Prebuilt rule sets: rules for a purpose, to put into any policy.

In Python a rule set is a function returning a tuple of :class:`~seccomp_bpf.policy.Rule`;
put them where they should decide, since the first matching rule wins::

    from seccomp_bpf.policy.rulesets import deny_new_exec_mappings
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
    ``int``, so compared on its low 32 bits). Code mapped before the filter is installed is
    not affected, but loading a shared library later (``dlopen``) and JIT compilers are: the
    rule set is for a process that confines itself once loaded (``install()``), or for a
    statically linked program. Under ``seccomp-bpf run`` a dynamically linked program cannot
    even start, as its loader maps the libraries executable after ``execve``, under the
    filter. Default action ``errno(EPERM)``.

    The other routes to the same memory are closed too: ``shmat`` with ``SHM_EXEC`` in its
    flags (``args[2]``, ``ipc/shm.c``: ``do_shmat`` maps the segment ``PROT_EXEC``), also
    through ``ipc(SHMAT, shmid, shmflg, ...)`` where the ABI has that multiplexer, whose
    ``shmflg`` is its third argument, in a register (``ipc/syscall.c``; the mirror of a
    ``shmat`` rule would lose the condition, so the rule names ``ipc`` itself, and ``shmat``
    by number on those ABIs); and ``personality`` turning on ``READ_IMPLIES_EXEC``, after
    which every readable mapping is executable (``mm/mmap.c``: ``do_mmap``) — asking for the
    current value (``0xffffffff``) stays allowed.

    What a filter cannot see, the rule set does not cover:

    - writing ``/proc/self/mem``, which the kernel lets a process do to its own read-only
      code (``FOLL_FORCE``): under ``seccomp-bpf run`` (and ``install(sandbox=...)``)
      Landlock refuses it, nothing under ``/proc`` being writable; without Landlock
      (``--no-landlock``, ``install()`` alone) nothing does;
    - a stack the program's own file asks to be executable (``PT_GNU_STACK`` with ``PF_X``,
      ``gcc -z execstack``): ``execve`` maps it so before the program's first instruction,
      without a call a filter sees (``PR_SET_MDWE`` does not refuse it either);
    - a file already mapped executable changes when the file is written (a shared library in
      a writable directory).

    On i386 and m68k the call named ``mmap`` is ``old_mmap``, which takes one pointer to a
    structure holding its arguments (``arch/x86/entry/syscalls/syscall_32.tbl``: ``90 i386
    mmap sys_old_mmap``; ``arch/m68k/kernel/syscalls/syscall.tbl``). A filter cannot read
    memory, so there the rule set denies ``mmap`` outright, in a rule limited to those ABIs
    (``Rule.arches``); their C libraries map memory with ``mmap2``, whose ``prot`` is checked
    as elsewhere. On s390 and s390x every mapping call takes such a pointer (``mmap``, and
    ``mmap2`` on s390), so nothing could be checked and everything would be denied: the rule
    set refuses those ABIs with a :class:`~seccomp_bpf.errors.PolicyError` (leave them out of
    the policy's architectures; their calls then get the policy's ``bad_arch_action``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from seccomp_bpf.arch import Arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.actions import ERRNO, Action
from seccomp_bpf.policy.conditions import All, Cmp, bits_set
from seccomp_bpf.policy.policy import expand_arch_name
from seccomp_bpf.policy.resolution import mirror_condition, name_is_on
from seccomp_bpf.policy.rules import Rule

# <asm-generic/mman-common.h>: PROT_EXEC is 0x4 on every architecture.
PROT_EXEC: Final = 0x4

# The calls whose prot argument is args[2] (mmap(addr, len, prot, ...),
# mprotect(start, len, prot), pkey_mprotect(start, len, prot, pkey)).
_PROT_ARGUMENT: Final = 2
_EXEC_MAPPING_CALLS: Final = ("mmap", "mmap2", "mprotect", "pkey_mprotect")

# <linux/shm.h>: SHM_EXEC, "execution access", the same on every architecture; shmat(shmid,
# shmaddr, shmflg) and ipc(SHMAT, shmid, shmflg, ...) have the flags as their third argument.
SHM_EXEC: Final = 0o100000
_SHMFLG_ARGUMENT: Final = 2
# <linux/personality.h>: READ_IMPLIES_EXEC; personality(0xffffffff) only reads the value.
READ_IMPLIES_EXEC: Final = 0x0400000
_PERSONALITY_QUERY: Final = 0xFFFFFFFF

# ABI -> the calls that take their arguments through a pointer there (see the docstring).
_ARGUMENTS_IN_MEMORY: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "i386": ("mmap",),
        "m68k": ("mmap",),
        "s390": ("mmap", "mmap2"),
        "s390x": ("mmap",),
    }
)
# ABIs where no mapping call shows prot: the rule set cannot protect them.
_UNPROTECTABLE: Final = frozenset({"s390", "s390x"})


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
    ``mprotect`` and ``pkey_mprotect`` asking for ``PROT_EXEC``, to ``shmat`` (and
    ``ipc(SHMAT)``) asking for ``SHM_EXEC``, and to ``personality`` turning on
    ``READ_IMPLIES_EXEC``.

    ``arches`` must be the architectures of the policy the rules go into: only calls that
    one of them has are named; where a call's ``prot`` cannot be read the call is denied
    outright on that ABI, and s390/s390x raise :class:`PolicyError` (see the module
    docstring).
    """
    chosen = _arches(arches)
    for arch in chosen:
        if arch.name in _UNPROTECTABLE:
            hidden = _ARGUMENTS_IN_MEMORY[arch.name]
            calls = " and ".join(hidden) + (" take" if len(hidden) > 1 else " takes")
            raise PolicyError(
                f"deny_new_exec_mappings cannot protect {arch.name}: there {calls} their "
                "arguments through a pointer, where a filter cannot see PROT_EXEC; leave "
                f"{arch.name} out of the policy's architectures (its calls then get the "
                "bad_arch_action)"
            )
    denial = action if action is not None else ERRNO("EPERM")
    executable = bits_set(_PROT_ARGUMENT, PROT_EXEC, width=32)
    rules: list[Rule] = []
    # Calls whose prot is in a register on every chosen ABI: one rule.
    everywhere = tuple(
        name
        for name in _EXEC_MAPPING_CALLS
        if any(name_is_on(a, name) for a in chosen)
        and not any(name in _ARGUMENTS_IN_MEMORY.get(a.name, ()) for a in chosen)
    )
    if everywhere:
        rules.append(Rule(everywhere, denial, executable))
    # Calls that take a pointer on some of the chosen ABIs: checked where prot is readable,
    # denied outright where it is not.
    for name in _EXEC_MAPPING_CALLS:
        if name in everywhere:
            continue
        readable = tuple(
            a.name
            for a in chosen
            if name_is_on(a, name) and name not in _ARGUMENTS_IN_MEMORY.get(a.name, ())
        )
        hidden_on = tuple(a.name for a in chosen if name in _ARGUMENTS_IN_MEMORY.get(a.name, ()))
        if readable:
            rules.append(Rule((name,), denial, executable, arches=readable))
        if hidden_on:
            rules.append(Rule((name,), denial, arches=hidden_on))
    rules.extend(_exec_shared_memory_rules(chosen, denial))
    rules.append(
        Rule(
            ("personality",),
            denial,
            All(
                (
                    bits_set(0, READ_IMPLIES_EXEC, width=32),
                    Cmp(0, "ne", _PERSONALITY_QUERY, width=32),
                )
            ),
        )
    )
    if not rules:
        raise PolicyError(
            "deny_new_exec_mappings: none of "
            + ", ".join(_EXEC_MAPPING_CALLS)
            + " exists on "
            + ", ".join(a.name for a in chosen)
        )
    return tuple(rules)


def _exec_shared_memory_rules(chosen: tuple[Arch, ...], denial: Action) -> list[Rule]:
    """``shmat`` with ``SHM_EXEC``, and ``ipc(SHMAT)`` with it where the ABI has ``ipc``."""
    executable = bits_set(_SHMFLG_ARGUMENT, SHM_EXEC, width=32)
    multiplexed = [a for a in chosen if "shmat" in a.ipc and "ipc" in a.syscalls]
    direct = [a for a in chosen if a not in multiplexed and "shmat" in a.syscalls]
    rules: list[Rule] = []
    if direct:
        limited = tuple(a.name for a in direct) if multiplexed else None
        rules.append(Rule(("shmat",), denial, executable, arches=limited))
    for arch in multiplexed:
        number = arch.syscalls.get("shmat")
        if number is not None:  # by number: a rule on the name would be mirrored onto ipc
            rules.append(Rule((number,), denial, executable, arches=(arch.name,)))
        call = All((mirror_condition("ipc", arch.ipc["shmat"]), executable))
        rules.append(Rule(("ipc",), denial, call, arches=(arch.name,)))
    return rules


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
            "refuse mmap/mmap2/mprotect/pkey_mprotect with PROT_EXEC, shmat (and ipc SHMAT) "
            "with SHM_EXEC, personality(READ_IMPLIES_EXEC) (default errno(EPERM))",
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
