"""The built-in policies, shipped in the package: for now ``default`` (``default.yaml``), what
``seccomp-bpf run`` applies without ``-p``; :func:`default_policy` reads it, and
:mod:`.precompiled` holds it compiled for each architecture.

The parts policies are written with, system call groups and rule sets, belong to the model:
:mod:`seccomp_bpf.policy.groups`, :mod:`seccomp_bpf.policy.rulesets`.
"""

from __future__ import annotations

from seccomp_bpf.lazy import lazy_exports

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
    from seccomp_bpf.policies.default import builtin_policy_text, default_policy

# Read on first use (seccomp_bpf.lazy): the precompiled programs need none of the model.
__getattr__, __dir__ = lazy_exports(
    __name__, {"seccomp_bpf.policies.default": "builtin_policy_text default_policy"}
)

__all__ = ["builtin_policy_text", "default_policy"]
