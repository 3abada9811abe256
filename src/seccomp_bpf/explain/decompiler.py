"""``decompile``: a classic-BPF seccomp filter back into a policy of the model.

Two steps, each in its own module:

1. :func:`~seccomp_bpf.explain.symbolic.program_behaviour` walks every feasible path of the
   program, once per ``AUDIT_ARCH`` value examined and once for foreign architectures, and
   cuts the number space into ranges with one decision each (exact sets of argument values
   per action).
2. :func:`~seccomp_bpf.explain.synthesis.synthesize` writes that behaviour as a policy and
   checks the policy against it.

The policy is exact (``Decompiled.exact``) when the walk needed no guess and the check found
no difference: then ``compile_policy(decompiled.policy)`` decides every call of the examined
architectures as the program does. Otherwise ``unsupported`` says, one sentence each, what
the program does that the model cannot say (scratch-memory arithmetic on arguments, foreign
architectures treated differently, the same call decided differently on two ABIs...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from seccomp_bpf.arch import Arch, all_arches, get_arch
from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.explain.behaviour import FilterBehaviour
from seccomp_bpf.explain.summary import AbiSummary, PolicySummary, summarize
from seccomp_bpf.explain.symbolic import program_behaviour
from seccomp_bpf.explain.synthesis import synthesize
from seccomp_bpf.policy import Policy


@dataclass(frozen=True)
class Decompiled:
    """A program as a policy.

    ``policy`` decides as the program on every call of the examined architectures when
    ``exact`` is true; ``unsupported`` lists what the model could not express otherwise.
    ``remarks`` are facts that change no decision (a return value the kernel reads as
    another, say). ``summary`` describes the policy per ABI.
    """

    policy: Policy
    exact: bool
    unsupported: list[str]
    remarks: list[str]
    summary: PolicySummary
    behaviour: FilterBehaviour

    @property
    def summaries(self) -> dict[str, AbiSummary]:
        """The summary of each ABI the policy lists, by name."""
        return {abi.arch: abi for abi in self.summary.abis}


def examined_arches(arches: Sequence[Arch | str] | None) -> list[Arch]:
    if arches is None:
        return list(all_arches())
    out: list[Arch] = []
    for item in arches:
        arch = item if isinstance(item, Arch) else get_arch(item)
        if all(a.name != arch.name for a in out):
            out.append(arch)
    return out


def decompile(program: Program, arches: Sequence[Arch | str] | None = None) -> Decompiled:
    """The policy ``program`` implements.

    With ``arches`` (ABIs or names), only those are examined and the policy lists exactly
    them; without, every known ABI is examined and the policy lists those whose calls get
    something else than foreign architectures do.
    """
    examined = examined_arches(arches)
    audits = sorted({arch.audit_arch for arch in examined})
    behaviour = program_behaviour(program, audits)
    synthesis = synthesize(
        behaviour,
        examined,
        listed=None if arches is None else examined,
        comment=f"decompiled from a program of {len(program)} instructions",
    )
    return Decompiled(
        policy=synthesis.policy,
        exact=synthesis.exact,
        unsupported=list(synthesis.notes),
        remarks=list(behaviour.remarks),
        summary=summarize(synthesis.policy, with_notes=False),
        behaviour=behaviour,
    )
