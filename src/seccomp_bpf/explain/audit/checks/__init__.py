"""The checks, one module per check or small family of checks (their ids, severities and
texts are in :data:`~seccomp_bpf.explain.audit.findings.CHECKS`):

- :mod:`.arch_check`: SB001, on a program's paths;
- :mod:`.abis`: SB002, SB003, SB004: other ABIs that reach the kernel;
- :mod:`.defaults`: SB005, SB011: the default action, and unknown numbers;
- :mod:`.dangerous`: SB006 and :data:`.dangerous.DANGEROUS_SYSCALLS`;
- :mod:`.equivalents`: SB007 and :data:`.equivalents.EQUIVALENT_SYSCALLS`;
- :mod:`.widths`: SB008, SB009 and :data:`.widths.ARGUMENT_KINDS`;
- :mod:`.multiplexers`: SB010;
- :mod:`.fallbacks`: SB012 and :data:`.fallbacks.FALLBACKS`;
- :mod:`.unreachable`: SB013.

:func:`policy_checks` runs those that judge a policy, in their order.
"""

from __future__ import annotations

from collections.abc import Sequence

from seccomp_bpf.explain.audit.checks.abis import check_abis
from seccomp_bpf.explain.audit.checks.dangerous import check_dangerous
from seccomp_bpf.explain.audit.checks.defaults import (
    check_permissive_default,
    check_unknown_numbers,
)
from seccomp_bpf.explain.audit.checks.equivalents import check_equivalents
from seccomp_bpf.explain.audit.checks.fallbacks import check_fallbacks
from seccomp_bpf.explain.audit.checks.multiplexers import check_multiplexers
from seccomp_bpf.explain.audit.checks.unreachable import check_unreachable
from seccomp_bpf.explain.audit.checks.widths import check_argument_widths
from seccomp_bpf.explain.audit.findings import Sink
from seccomp_bpf.explain.audit.view import ArchView
from seccomp_bpf.policy.policy import Policy


def policy_checks(
    policy: Policy, views: Sequence[ArchView], sink: Sink, *, decompiled: bool
) -> None:
    """Run the checks that judge ``policy`` on ``views``, in this order (the order of the
    findings of one check, and of the notes); a ``decompiled`` policy is judged on its rules
    only."""
    check_dangerous(views, sink)
    check_equivalents(views, sink)
    check_argument_widths(views, sink)
    check_multiplexers(policy, views, sink)
    check_fallbacks(views, sink)
    if not decompiled:
        # A program's default action and other ABIs are judged on the program itself (the
        # decompiled default is whichever action made the shorter policy), and its rules
        # are the decompiler's, not something a reader wrote and could reorder.
        check_permissive_default(policy, sink)
        check_unknown_numbers(policy, views, sink)
        check_abis(policy, views, sink)
        check_unreachable(policy, views, sink)
