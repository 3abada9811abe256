"""SB005 permissive-default and SB011 unknown-syscall-action: what the calls no rule names get,
and the numbers no table knows."""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_bpf.arch import Arch
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompAction, SeccompData, emulate
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.explain.audit.findings import Severity, Sink
from seccomp_bpf.explain.audit.flow import ProgramFlow, ProgramOracle, returns_permissive
from seccomp_bpf.explain.audit.view import (
    ArchView,
    describe_on,
    enosys_number,
    enosys_text,
    is_enosys,
    is_permissive,
    unknown_number,
)
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.policy import Policy


def check_permissive_default(policy: Policy, sink: Sink) -> None:
    """SB005."""
    default = policy.default_action
    if not is_permissive(default):
        return
    unknown = policy.unknown_syscall_action
    denies = any(not is_permissive(rule.action) for rule in policy.rules) or (
        unknown is not None and not is_permissive(unknown)
    )
    if not denies:
        sink.add(
            "SB005",
            Severity.HIGH,
            f"the default action is {default.describe()} and nothing is denied: "
            "the filter restricts no system call",
        )
        return
    sink.add(
        "SB005",
        Severity.MEDIUM,
        f"the default action is {default.describe()}: every system call the policy does not "
        "deny, including those added to the kernel later, is allowed (a denylist)",
    )


def check_unknown_numbers(policy: Policy, views: Sequence[ArchView], sink: Sink) -> None:
    """SB011."""
    if is_permissive(policy.default_action):
        return  # a denylist: SB005 says it
    for view in views:
        action = view.fallback(unknown_number(view))
        if is_enosys(action, view.arch):
            continue
        source = (
            "the default action" if action == policy.default_action else "unknown_syscall_action"
        )
        if is_permissive(action):
            sink.add(
                "SB011",
                Severity.MEDIUM,
                f"system call numbers unknown to the tables are allowed ({source}): "
                "calls added to the kernel later get through",
                (view.arch,),
            )
            continue
        sink.add(
            "SB011",
            Severity.LOW,
            f"system call numbers unknown to the tables get {describe_on(action, view.arch)} "
            f"({source}): C libraries fall back to older calls only on ENOSYS; set "
            f"unknown_syscall_action: {enosys_text(view.arch)}",
            (view.arch,),
        )


def check_program_unknown_numbers(
    program: Program, flow: ProgramFlow, arches: Sequence[Arch], sink: Sink
) -> None:
    """SB005 and SB011 on a program, from what it does with numbers no table knows."""
    if (
        flow.complete
        and flow.ends
        and all(end.ret is not None and returns_permissive(end.ret) for end in flow.ends)
    ):
        sink.add(
            "SB005",
            Severity.HIGH,
            "every path of the filter allows the call: the filter restricts no system call",
        )
        return
    oracle = ProgramOracle(program)
    for arch in arches:
        known = arch.syscalls.values()
        if not any(oracle.allowed(arch.audit_arch, n)[0] for n in known):
            continue  # the ABI is refused as a whole
        nr = max(known, default=arch.syscall_nr_base | arch.syscall_nr_mask_bit) + 1
        action = oracle.actions(arch.audit_arch, nr)[0]
        if action in (SeccompAction.ALLOW, SeccompAction.LOG):
            sink.add(
                "SB005",
                Severity.MEDIUM,
                "system call numbers unknown to the tables are allowed: the filter is a "
                "denylist, and calls added to the kernel later get through",
                (arch,),
            )
            continue
        ret = emulate(program, SeccompData(nr, arch.audit_arch)).ret
        if action is SeccompAction.ERRNO and ret & op.SECCOMP_RET_DATA == enosys_number(arch):
            continue
        got = describe_on(Action.from_ret(ret, strict=False), arch)
        sink.add(
            "SB011",
            Severity.LOW,
            f"system call numbers unknown to the tables get {got}: C libraries fall back to "
            f"older calls only on ENOSYS; return {enosys_text(arch)} for them",
            (arch,),
        )
