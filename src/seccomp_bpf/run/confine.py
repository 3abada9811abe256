"""Confine the running process: ``install(policy_or_program)``.

::

    import seccomp_bpf
    from seccomp_bpf.policies import default_policy

    seccomp_bpf.install(default_policy())      # every thread, from now on, for good

Steps, each failing with a named error before the next:

1. A :class:`~seccomp_bpf.policy.Policy` is compiled for its architectures (``native``
   unless it lists others): :class:`~seccomp_bpf.errors.PolicyError` or
   :class:`~seccomp_bpf.errors.CompileError`.
2. Every action the program can return (the ``K`` of its ``RET K`` instructions) is checked
   with ``SECCOMP_GET_ACTION_AVAIL`` (``seccomp(2)``, Linux 4.14):
   :class:`~seccomp_bpf.errors.ActionUnavailableError` names the first the kernel lacks. A
   kernel too old to answer is not asked again; the filter then meets the kernel as it is
   (``kernel/seccomp.c`` treats an unknown action as KILL_PROCESS). ``RET A`` returns a
   value only known at run time, and is not checked.
3. ``PR_SET_NO_NEW_PRIVS`` is set (needed without CAP_SYS_ADMIN), and the filter installed
   with ``SECCOMP_FILTER_FLAG_TSYNC``, so that every thread of the process, those started
   before included, is covered: :class:`~seccomp_bpf.errors.TsyncError` names a thread that
   cannot be synchronised, and other failures are
   :class:`~seccomp_bpf.errors.KernelError` with the reason (EACCES without no_new_privs or
   CAP_SYS_ADMIN, EINVAL with the validator's reason...).

A filter cannot be removed: it stays for the life of the process, is inherited by its
children and is kept across ``execve``.

The rest of the sandbox, in the process itself (``sandbox=``, or the policy's own section):
before the filter, the process enters a Landlock domain with the sandbox's grants (the
default paths of ``seccomp_bpf.run.plan`` unless turned off: the host's ``/tmp``, the working
directory, the usual devices) and drops its capabilities but those kept, as
``seccomp-bpf run`` does in its child. Namespaces and a new session need a new process and
are not applied. Landlock and capabilities belong to threads (``landlock_restrict_self(2)``,
``capabilities(7)``), so a process that runs other threads is refused with
:class:`~seccomp_bpf.errors.SandboxError`: call it before starting any.
"""

from __future__ import annotations

import errno
import sys
import warnings
from collections.abc import Iterable, Sequence

from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.instruction import Instruction, Program
from seccomp_bpf.errors import ActionUnavailableError, SandboxError

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing

if TYPE_CHECKING:
    from typing import Final

    from seccomp_bpf.bpf.actions import SeccompAction
    from seccomp_bpf.policy.policy import Policy
    from seccomp_bpf.policy.sandbox import Sandbox


def program_return_values(program: Iterable[Instruction]) -> frozenset[int]:
    """The constants the program can return: the ``K`` of each ``RET K`` instruction."""
    return frozenset(
        instruction.k
        for instruction in program
        if op.bpf_class(instruction.code) == op.BPF_RET
        and op.bpf_rval(instruction.code) == op.BPF_K
    )


# <linux/seccomp.h>: every action a filter can return (SECCOMP_RET_ACTION_FULL bits).
_ACTIONS: Final = frozenset(
    (
        op.SECCOMP_RET_KILL_PROCESS,
        op.SECCOMP_RET_KILL_THREAD,
        op.SECCOMP_RET_TRAP,
        op.SECCOMP_RET_ERRNO,
        op.SECCOMP_RET_USER_NOTIF,
        op.SECCOMP_RET_TRACE,
        op.SECCOMP_RET_LOG,
        op.SECCOMP_RET_ALLOW,
    )
)


def check_actions_available(
    program: Iterable[Instruction], available: Iterable[SeccompAction] | None = None
) -> None:
    """Raise :class:`ActionUnavailableError` for the first action of ``program`` (in the
    kernel's order of precedence) that the kernel does not support.

    ``available`` defaults to what the running kernel says
    (:func:`seccomp_bpf.kernel.available_actions`); when it cannot say (empty), nothing is
    checked.
    """
    values = program_return_values(program)
    if available is None:
        from seccomp_bpf.kernel.seccomp import action_available

        # SECCOMP_GET_ACTION_AVAIL (Linux 4.14) answers for ALLOW wherever it answers at all:
        # a "no" there is a kernel that cannot say. Otherwise the program's own actions are
        # asked about first, and the whole set (with the actions' names) only to explain one
        # that is missing: starting a command asks the kernel three or four questions.
        if not action_available(op.SECCOMP_RET_ALLOW):
            return
        actions = {value & op.SECCOMP_RET_ACTION_FULL for value in values}
        if all(action in _ACTIONS and action_available(action) for action in actions):
            return
        from seccomp_bpf.kernel import available_actions

        available = available_actions()
    from seccomp_bpf.bpf.actions import ReturnValue, format_return_value

    supported = frozenset(available)
    if not supported:
        return
    decoded = sorted(
        (ReturnValue.decode(value) for value in values),
        key=lambda returned: (returned.action.precedence, returned.value),
    )
    for returned in decoded:
        if not returned.known:
            raise ActionUnavailableError(
                "seccomp(SECCOMP_GET_ACTION_AVAIL)",
                errno.EOPNOTSUPP,
                f"the program returns {returned.value:#010x}, which is no seccomp action "
                "(the kernel would kill the process)",
            )
        if returned.action not in supported:
            raise ActionUnavailableError(
                "seccomp(SECCOMP_GET_ACTION_AVAIL)",
                errno.EOPNOTSUPP,
                f"this kernel does not support {returned.action.name}, which the program "
                f"returns ({format_return_value(returned.value)})",
            )


def _as_policy(candidate: object) -> Policy | None:
    """``candidate`` when it is a :class:`Policy`, without importing the model to ask (an
    instance of it cannot exist before its module is imported): installing a compiled
    program loads none of it."""
    module = sys.modules.get("seccomp_bpf.policy.policy")
    if module is not None and isinstance(candidate, module.Policy):
        policy: Policy = candidate
        return policy
    return None


def compile_for_install(policy_or_program: Policy | Program | Sequence[Instruction]) -> Program:
    """The program ``install`` would load: a policy compiled for its architectures, or the
    program itself (a sequence of instructions is validated into a :class:`Program`)."""
    policy = _as_policy(policy_or_program)
    if policy is not None:
        from seccomp_bpf.compiler import compile_policy

        return compile_policy(policy)
    if isinstance(policy_or_program, Program):
        return policy_or_program
    instructions: Sequence[Instruction] = policy_or_program  # type: ignore[assignment]
    return Program(instructions)  # not a Policy: checked above


def install(
    policy_or_program: Policy | Program | Sequence[Instruction] | str,
    *,
    tsync: bool = True,
    no_new_privs: bool = True,
    log: bool = False,
    spec_allow: bool = False,
    sandbox: Sandbox | None = None,
) -> Program:
    """Confine this process (every thread) with a policy or a compiled program, for good.

    See the module docstring for the steps and their errors. ``log`` and ``spec_allow`` are
    the filter flags of those names (``SECCOMP_FILTER_FLAG_LOG``: log every action but
    ALLOW; ``SECCOMP_FILTER_FLAG_SPEC_ALLOW``: no forced speculative-store-bypass
    mitigation); a policy's own ``flags: [log]`` or ``[spec_allow]`` ask for them too.
    ``sandbox`` (or, when None, the policy's ``sandbox`` section) adds Landlock and the
    capability drop before the filter. A string is a policy's name (the built-in
    ``default``, one :func:`~seccomp_bpf.policies.register_policy` registered, or one an
    installed package ships) or a policy file. Returns the program installed.
    """
    from seccomp_bpf.kernel import install as install_filter

    if isinstance(policy_or_program, str):
        from seccomp_bpf.policies.registry import load_named_or_file

        policy_or_program = load_named_or_file(policy_or_program)
    program = compile_for_install(policy_or_program)
    policy = _as_policy(policy_or_program)
    if policy is not None:
        log = log or "log" in policy.flags
        spec_allow = spec_allow or "spec_allow" in policy.flags
        if sandbox is None:
            sandbox = policy.sandbox
    check_actions_available(program)
    if sandbox is not None:
        for line in confine_self(sandbox):
            warnings.warn(line, RuntimeWarning, stacklevel=2)
    install_filter(program, tsync=tsync, no_new_privs=no_new_privs, log=log, spec_allow=spec_allow)
    return program


def confine_self(sandbox: Sandbox) -> list[str]:
    """Apply ``sandbox``'s Landlock grants and capability drop to this process (see the
    module docstring); the notes for what is not in force (:func:`install` warns with them,
    ``RuntimeWarning``). A required layer that is not raises
    :class:`~seccomp_bpf.errors.LayerUnavailableError`."""
    from seccomp_bpf.run.layers import (
        LayerReport,
        drop_capabilities,
        no_new_privs,
        restrict_filesystem,
    )
    from seccomp_bpf.run.plan import plan_sandbox

    threads = _thread_count()
    if threads != 1:
        raise SandboxError(
            f"this process runs {threads} threads; Landlock and capabilities apply to the "
            "calling thread only, so the sandbox must be set up before any other thread "
            "starts (or leave sandbox out: the filter alone covers every thread)"
        )
    plan = plan_sandbox(sandbox, in_process=True)
    report = LayerReport()
    no_new_privs(report)
    restrict_filesystem(plan, report)
    drop_capabilities(plan, report)
    return list(plan.notes)


def _thread_count() -> int:
    """The threads of this process (``Threads:`` of ``/proc/self/status``)."""
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"Threads:"):
                return int(line.split()[1])
    return 1
