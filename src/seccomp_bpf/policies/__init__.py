"""The built-in policies, shipped in the package: for now ``default`` (``default.yaml``), what
``seccomp-bpf run`` applies without ``-p``; :func:`default_policy` reads it. Policies are
found by name (:mod:`.registry`): the built-in ones, those an application registers
(:func:`register_policy`), and those installed packages ship (the ``seccomp_bpf.policies``
entry points).

The parts policies are written with, system call groups and rule sets, belong to the model:
:mod:`seccomp_bpf.policy.groups`, :mod:`seccomp_bpf.policy.rulesets`.
"""

from seccomp_bpf.policies.default import builtin_policy_text, default_policy
from seccomp_bpf.policies.registry import (
    ENTRY_POINT_GROUP,
    NamedPolicy,
    named_policies,
    policy_by_name,
    register_policy,
    unregister_policy,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "NamedPolicy",
    "builtin_policy_text",
    "default_policy",
    "named_policies",
    "policy_by_name",
    "register_policy",
    "unregister_policy",
]
