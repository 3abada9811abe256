"""The built-in policies, shipped in the package: for now ``default`` (``default.yaml``), what
``seccomp-bpf run`` applies without ``-p``; :func:`default_policy` reads it.

The parts policies are written with, system call groups and rule sets, belong to the model:
:mod:`seccomp_bpf.policy.groups`, :mod:`seccomp_bpf.policy.rulesets`.
"""

from seccomp_bpf.policies.default import builtin_policy_text, default_policy

__all__ = ["builtin_policy_text", "default_policy"]
