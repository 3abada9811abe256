"""Union and intersection of policies (or programs), as policies that compile.

The action order is the kernel's: when several filters answer one call, the action with the
lowest ``SECCOMP_RET_ACTION_FULL`` value as a signed 32-bit number wins
(``seccomp_run_filters`` in ``kernel/seccomp.c``)::

    KILL_PROCESS < KILL_THREAD < TRAP < ERRNO < USER_NOTIF < TRACE < LOG < ALLOW

- :func:`intersection` gives every call the *stricter* of the two actions (the lower one):
  what installing both filters would do. A call runs only if both allow it.
- :func:`union` gives every call the *more permissive* (the higher one): a call runs if
  either allows it.

Two actions of the same kind with different data (``errno(EPERM)`` and ``errno(EACCES)``)
rank equal; the left operand's is kept (the kernel, too, keeps the first of equals).

Both sides become behaviours (:mod:`seccomp_bpf.explain.behaviour`), which are combined call
by call and region by region, and written back as a policy (:mod:`.synthesis`), which is
checked against the combination. The model cannot express everything (for example a call
decided differently on two ABIs that share its name); ``strict`` makes that an error,
otherwise the policy's ``notes`` say what differs.
"""

from __future__ import annotations

from dataclasses import replace

from seccomp_bpf.arch import all_arches
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.explain.behaviour import combine, known_audit_values
from seccomp_bpf.explain.diff import Filter, behaviour_of
from seccomp_bpf.explain.synthesis import synthesize
from seccomp_bpf.policy import Action, Policy
from seccomp_bpf.policy.decisions import Choose


def stricter(a: Action, b: Action) -> Action:
    """The action that wins when both filters run: the lower precedence; ``a`` on a tie."""
    return b if b.precedence < a.precedence else a


def more_permissive(a: Action, b: Action) -> Action:
    """The higher precedence; ``a`` on a tie."""
    return b if b.precedence > a.precedence else a


def _label(subject: Filter) -> str:
    if isinstance(subject, Policy):
        return subject.name or subject.source or "a policy"
    return f"a program of {len(subject)} instructions"


def _combined(a: Filter, b: Filter, choose: Choose, word: str, strict: bool) -> Policy:
    audits = list(known_audit_values())
    behaviour = combine(behaviour_of(a, audits), behaviour_of(b, audits), choose)
    synthesis = synthesize(
        behaviour, all_arches(), comment=f"{word} of {_label(a)} and {_label(b)}"
    )
    if not synthesis.exact and strict:
        raise PolicyError(
            f"the {word} cannot be written exactly as a policy: " + "; ".join(synthesis.notes)
        )
    flags = tuple(
        dict.fromkeys(
            (
                *(a.flags if isinstance(a, Policy) else ()),
                *(b.flags if isinstance(b, Policy) else ()),
            )
        )
    )
    return replace(synthesis.policy, flags=flags, notes=synthesis.notes)


def intersection(a: Filter, b: Filter, *, strict: bool = True) -> Policy:
    """The policy giving each call the stricter of ``a``'s and ``b``'s actions (see the module
    docstring). With ``strict`` (default), PolicyError when no policy of the model can."""
    return _combined(a, b, stricter, "intersection", strict)


def union(a: Filter, b: Filter, *, strict: bool = True) -> Policy:
    """The policy giving each call the more permissive of the two actions."""
    return _combined(a, b, more_permissive, "union", strict)
