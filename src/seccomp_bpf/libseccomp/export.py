"""The filter as what it is exported to: seccomp-bpf policies, one program, raw records in
the target's byte order, and a readable listing (``seccomp_export_bpf(3)``,
``seccomp_export_pfc(3)``)."""

from __future__ import annotations

import errno as errno_codes
import os
from collections.abc import Sequence
from typing import IO, Final

from seccomp_bpf.arch import Arch as ArchInfo
from seccomp_bpf.bpf import opcodes as op
from seccomp_bpf.bpf.emulator import SeccompAction
from seccomp_bpf.bpf.instruction import ByteOrder, Instruction, Program, ja
from seccomp_bpf.compiler.frequency import FrequencyProfile
from seccomp_bpf.libseccomp.constants import Attr, action_name, token_of
from seccomp_bpf.libseccomp.rules import (
    FilterRule,
    FilterState,
    library_error,
    ordered,
    system_failure,
)
from seccomp_bpf.policy.actions import Action
from seccomp_bpf.policy.policy import Policy
from seccomp_bpf.policy.rules import Rule

# The attributes that are filter flags of seccomp(2), by the name Policy.flags gives them.
_FLAG_ATTRIBUTES: Final = (
    (Attr.CTL_TSYNC, "tsync"),
    (Attr.CTL_LOG, "log"),
    (Attr.CTL_SSB, "spec_allow"),
    (Attr.CTL_WAITKILL, "wait_killable_recv"),
)


def policies(state: FilterState) -> tuple[Policy, ...]:
    """The filter as seccomp-bpf policies, one per group of architectures with the same
    rules, in the filter's order of architectures."""
    if not state.arches:
        raise library_error(errno_codes.EINVAL, "the filter has no architecture")
    groups: list[tuple[list[ArchInfo], list[FilterRule]]] = []
    for arch in state.arches:
        rules = state.rules.get(arch.name, [])
        for arches, group_rules in groups:
            if group_rules == rules and arches[0].argument_bits == arch.argument_bits:
                arches.append(arch)
                break
        else:
            groups.append(([arch], rules))
    default = Action.from_ret(state.default)
    bad_arch = Action.from_ret(state.attributes[Attr.ACT_BADARCH])
    flags = tuple(flag for attr, flag in _FLAG_ATTRIBUTES if state.attributes[attr])
    return tuple(
        Policy(
            default_action=default,
            rules=tuple(
                Rule((rule.nr,), Action.from_ret(rule.action), rule.condition)
                for rule in ordered(arches[0], rules)
            ),
            arches=tuple(a.name for a in arches),
            bad_arch_action=bad_arch,
            multiplexer_conditions="drop",
            flags=flags,
        )
        for arches, rules in groups
    )


def program(state: FilterState) -> Program:
    """The compiled filter: the policies of :func:`policies`, each compiled, tried one after
    the other for the architectures they list."""
    from seccomp_bpf.compiler import compile_policy

    found = policies(state)
    profile = frequency(state)
    if len(found) == 1:
        return compile_policy(found[0], frequency=profile)
    return chain(found, profile)


def frequency(state: FilterState) -> dict[str, dict[str, float]] | None:
    """``syscall_priority`` hints as the compiler's frequency profile."""
    if not state.priorities:
        return None
    return {
        arch.name: {name: float(p + 1) for name, p in state.priorities.items()}
        for arch in state.arches
    }


def byteorder(state: FilterState) -> ByteOrder:
    """The filter's byte order: its architectures' (``add_arch`` and ``merge`` keep them to
    one, ``-EDOM``, as libseccomp does), which is the order ``export_bpf`` writes in."""
    return state.arches[0].byteorder


_RET_K: Final = op.BPF_RET | op.BPF_K


def chain(parts: Sequence[Policy], profile: FrequencyProfile | None) -> Program:
    """One program from several policies with disjoint architectures.

    Each but the last is compiled with a bad-architecture action that none of its rules uses
    (a TRAP with data); every return of that value becomes a jump to the next program, which
    then tests the architecture again. The last keeps the filter's bad-architecture action.
    """
    from seccomp_bpf.compiler import compile_policy

    instructions: list[Instruction] = []
    for position, policy in enumerate(parts):
        last = position == len(parts) - 1
        sentinel: int | None = None
        if not last:
            used = {policy.default_action.ret_value, policy.bad_arch_action.ret_value}
            used.update(rule.action.ret_value for rule in policy.rules)
            marker = next(
                Action(SeccompAction.TRAP, data)
                for data in range(1, 0x10000)
                if Action(SeccompAction.TRAP, data).ret_value not in used
            )
            sentinel = marker.ret_value
            policy = Policy(
                default_action=policy.default_action,
                rules=policy.rules,
                arches=policy.arches,
                bad_arch_action=marker,
                multiplexer_conditions=policy.multiplexer_conditions,
                flags=policy.flags,
            )
        compiled = compile_policy(policy, frequency=profile)
        for index, ins in enumerate(compiled):
            if sentinel is not None and ins.code == _RET_K and ins.k == sentinel:
                instructions.append(ja(len(compiled) - index - 1))
            else:
                instructions.append(ins)
    return Program(instructions)


def write_fd(file: IO[bytes] | IO[str], data: bytes, raw: bool) -> None:
    """Write ``data`` to the file descriptor of ``file``, as the binding does (after flushing
    what Python buffered, so that the order is kept). A failed write is libseccomp's error:
    ``-ECANCELED``, or the errno with ``Attr.API_SYSRAWRC`` (``RuntimeError``, as the binding
    raises; ``tests/57-basic-rawsysrc`` writes to a closed descriptor)."""
    fd = file.fileno()
    try:
        file.flush()
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError as error:
        detail = f"writing to descriptor {fd}: {error.strerror}"
        raise system_failure(error.errno, detail, raw=raw) from error


def pfc(state: FilterState) -> str:
    """A readable listing of the filter: per architecture and system call, the rules in the
    order they are tried, then the default action."""
    lines = ["#", "# pseudo filter code start (seccomp-bpf)", "#"]
    for arch in state.arches:
        token = token_of(arch)
        lines.append(f"# filter for arch {arch.libseccomp_name} ({arch.audit_arch})")
        if arch.syscall_nr_mask_bit:
            lines.append(f"#   numbers with bit {arch.syscall_nr_mask_bit:#x} set")
        lines.append(f"if ($arch == {arch.audit_arch})  # token {token:#x}")
        by_nr: dict[int, list[FilterRule]] = {}
        for rule in ordered(arch, state.rules.get(arch.name, [])):
            by_nr.setdefault(rule.nr, []).append(rule)
        for nr, rules in by_nr.items():
            name = arch.syscall_name(nr) or "?"
            lines.append(f'  # filter for syscall "{name}" ({nr})')
            lines.append(f"  if ($syscall == {nr})")
            for rule in rules:
                if rule.condition is None:
                    lines.append(f"    action {action_name(rule.action)};  # {rule.call}")
                else:
                    via = f", through {rule.via}" if rule.via else ""
                    lines.append(f"    if ({rule.condition})  # {rule.call}{via}")
                    lines.append(f"      action {action_name(rule.action)};")
        if arch.argument_bits == 32:
            lines.append("  # arguments: their low 32 bits (the call sees no more)")
        lines.append("  # default action")
        lines.append(f"  action {action_name(state.default)};")
    lines.append("# invalid architecture action")
    lines.append(f"action {action_name(state.attributes[Attr.ACT_BADARCH])};")
    lines += ["#", "# pseudo filter code end", "#", ""]
    return "\n".join(lines)
