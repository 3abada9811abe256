"""The API of libseccomp's Python binding (``import seccomp``), without libseccomp.

Existing code switches by changing one import::

    import seccomp_bpf.libseccomp as seccomp
    from seccomp_bpf.libseccomp import *    # as "from seccomp import *"

    f = SyscallFilter(defaction=KILL)
    f.add_rule(ALLOW, "read", Arg(0, EQ, sys.stdin.fileno()))
    f.add_rule(ALLOW, "write", Arg(0, EQ, sys.stdout.fileno()))
    f.add_rule(ALLOW, "exit_group")
    f.load()

The filter is kept as libseccomp keeps it (rules per architecture, attributes, transactions),
turned into :class:`~seccomp_bpf.policy.Policy` objects (one per group of architectures
with the same rules) and compiled by seccomp-bpf's compiler; :meth:`SyscallFilter.load`
installs it through :mod:`seccomp_bpf.kernel`. Constants have libseccomp's values
(``<seccomp.h>``). Errors are raised as the binding raises them: ``RuntimeError("Library
error (errno = -N)")`` (here :class:`~seccomp_bpf.errors.LibseccompError`, with a reason
appended) and ``ValueError`` for an invalid architecture, attribute, action or API level.

What the rules mean. libseccomp documents (``seccomp_rule_add(3)``) that the rules form a
union, that every comparison of one rule must hold, that one rule compares each argument at
most once (``-EINVAL`` otherwise), that a rule whose action is the default action is refused
(``-EACCES``), that an existing rule is ``-EEXIST``, and that a rule without comparisons drops
the rules with comparisons for that system call. It leaves open which of two *overlapping*
rules with different actions wins ("not something libseccomp has ever guaranteed",
libseccomp#148). This module decides per system call:

1. A rule without comparisons decides every call of that number; the first one added wins
   (libseccomp ignores later ones). A ``MASKED_EQ`` with mask 0 tests nothing and does not
   count as a comparison, as in libseccomp.
2. Otherwise the rules whose comparisons hold are considered; a rule whose comparisons
   imply another's (a strictly smaller set of calls) is tried before it, which is the order
   libseccomp gives comparisons of one argument (``a0 > 5`` before ``a0 > 3``); between
   rules that do not contain one another, the one added first is tried first. A second rule
   with the same comparisons and another action is ``-EEXIST``, as in libseccomp.
3. Otherwise the default action.

Where this differs from libseccomp's output, libseccomp contradicts its own documentation
or decides something it leaves open:

- On 32-bit ABIs libseccomp compares the low 32 bits of the argument with the low 32 bits
  of the rule's value: ``offset < 2**40`` never holds and ``arg == 2**32 + 5`` holds for 5.
  Here a value is compared as documented ("matches when the argument value is equal to the
  datum value"), with the argument the call sees (its low word on i386, arm...; the whole
  64-bit register on x32).
- On architectures where socket and IPC calls also arrive through ``socketcall(2)``/``ipc(2)``
  ``add_rule`` adds the rule for the direct call and, for the multiplexer, a rule on the call
  number alone (``ipc`` compares the low 16 bits of its first argument, as the kernel reads
  it). libseccomp keeps the comparisons of arguments 1-5 there, where they test the
  multiplexer's own arguments (a pointer, mostly), so that its rule almost never holds;
  the rule's conditions cannot follow through the pointer, which is what
  ``multiplexer_conditions: drop`` says. ``add_rule_exactly`` does the same on x86 for a
  rule without comparisons and refuses one with comparisons (``-EINVAL``); on the other
  architectures with multiplexers it refuses such calls (``-EINVAL``), and it needs a
  filter of one architecture (``-EOPNOTSUPP``), as libseccomp 2.5.4 does.
- libseccomp silently drops a rule whose comparisons extend those of an earlier rule (and
  refuses the reverse order with ``-EEXIST``); here both are kept, the more specific first.

System call numbers. Numbers given as ints are read in the native architecture's table and
translated by name to the filter's other architectures, as libseccomp does. A negative number
below -99 is libseccomp's pseudo number (``__PNR_*``, :mod:`.pseudo_numbers`) for a call the
native architecture lacks: -10001 is ``arch_prctl`` on x86, whose rule then applies where the
call exists. A pseudo number for a call the native architecture *has* names nothing there and
is refused (``-EFAULT``; libseccomp puts a rule on the pseudo number itself, which no call
ever carries). ``resolve_syscall`` gives libseccomp's pseudo numbers for names an
architecture lacks. -1 (allowed with ``Attr.API_TSKIP``) is the call a tracer skipped:
``seccomp_data.nr`` 0xffffffff, which the task's own ABI decides (x86-64's rules, not x32's;
see :data:`seccomp_bpf.arch.SKIPPED_SYSCALL`), so a rule for -1 decides it and, without one,
the default action does, as in libseccomp's filters.

Byte order. ``export_bpf`` writes the program in the byte order of the filter's
architectures, which ``add_arch`` and ``merge`` keep to one (``-EDOM``), as libseccomp does.

``Arch`` and action constants are unsigned 32-bit numbers (the binding gives the 64-bit
``Arch`` tokens and ``KILL_PROCESS`` as negative C ints); every function also takes the
negative forms. ``syscall_priority`` and ``SCMP_FLTATR_CTL_OPTIMIZE`` are hints: priorities
become the compiler's frequency profile; the compiler picks its own layout. The optimization
level chooses how libseccomp finds the system call (1, its default: by priority; 2: a binary
tree of numbers), which is always a tree here; it says nothing of argument values, so it does
not choose ``compile_policy``'s ``search`` either (level 1 as ``"compact"`` would give every
filter of the default level a worst path that grows with its largest set): value sets are
searched balanced, with the compact search when nothing else fits.

The package is split along its jobs: :mod:`.constants` (actions, operators, architecture
tokens, attributes, API levels), :mod:`.syscalls` and :mod:`.pseudo_numbers` (names and
numbers), :mod:`.rules` (argument comparisons and rules), :mod:`.filter`
(:class:`SyscallFilter`), :mod:`.notify` (user notifications) and :mod:`.export` (policies,
program, raw and readable output).
"""

from __future__ import annotations

from seccomp_bpf.libseccomp.constants import (
    ALLOW,
    EQ,
    ERRNO,
    GE,
    GT,
    KILL,
    KILL_PROCESS,
    LE,
    LOG,
    LT,
    MASKED_EQ,
    NE,
    NOTIFY,
    TRACE,
    TRAP,
    Arch,
    Attr,
    get_api,
    set_api,
)
from seccomp_bpf.libseccomp.filter import SyscallFilter
from seccomp_bpf.libseccomp.notify import Notification, NotificationAddfd, NotificationResponse
from seccomp_bpf.libseccomp.rules import Arg
from seccomp_bpf.libseccomp.syscalls import resolve_syscall, system_arch

__all__ = [
    "ALLOW",
    "EQ",
    "ERRNO",
    "GE",
    "GT",
    "KILL",
    "KILL_PROCESS",
    "LE",
    "LOG",
    "LT",
    "MASKED_EQ",
    "NE",
    "NOTIFY",
    "TRACE",
    "TRAP",
    "Arch",
    "Arg",
    "Attr",
    "Notification",
    "NotificationAddfd",
    "NotificationResponse",
    "SyscallFilter",
    "get_api",
    "resolve_syscall",
    "set_api",
    "system_arch",
]
