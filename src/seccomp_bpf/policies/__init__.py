"""Prebuilt parts of policies: named system call groups, rule sets, and the built-in default
policy (``default.yaml``, shipped in the package).

- :mod:`.groups`: ``@network``, ``@file-system``... with their members (``groups.NETWORK``).
- :mod:`.rulesets`: ``deny_new_exec_mappings`` and any later rule set, by name.
- :mod:`.default`: :func:`default_policy`, what ``seccomp-bpf run`` applies without ``-p``.
"""

from seccomp_bpf.policies import groups
from seccomp_bpf.policies.default import builtin_policy_text, default_policy
from seccomp_bpf.policies.groups import GROUPS, SyscallGroup, get_group
from seccomp_bpf.policies.rulesets import RULE_SETS, deny_new_exec_mappings, get_rule_set

__all__ = [
    "GROUPS",
    "RULE_SETS",
    "SyscallGroup",
    "builtin_policy_text",
    "default_policy",
    "deny_new_exec_mappings",
    "get_group",
    "get_rule_set",
    "groups",
]
