"""The built-in policies shipped inside the package: for now, ``default``.

``default.yaml`` (beside this module, read with :mod:`importlib.resources`) is the policy
``seccomp-bpf run`` applies without ``-p``; its comments say what it allows and why.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from importlib import resources
from typing import Final

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.conditions import Cmp
from seccomp_bpf.policy.policy import Policy

BUILTIN_POLICIES: Final[dict[str, str]] = {"default": "default.yaml"}
"""Built-in policy name -> its file in this package."""

DEFAULT_POLICY_SOURCE: Final = "seccomp_bpf/policies/default.yaml"
"""The ``source`` of the built-in default policy: what error messages and reports show."""

# arch/s390/Kconfig selects CLONE_BACKWARDS2: clone(newsp, flags, ...) (kernel/fork.c), so
# there the flags are the second argument; everywhere else in the policy's families, the
# first.
_CLONE_FLAGS_ARGUMENT_BACKWARDS2: Final = 1
_CLONE_BACKWARDS2_ARCHES: Final = frozenset({"s390", "s390x"})


def builtin_policy_text(name: str = "default") -> str:
    """The YAML text of the built-in policy ``name``."""
    file = BUILTIN_POLICIES.get(name)
    if file is None:
        raise PolicyError(f"no built-in policy {name!r} (built-in: {', '.join(BUILTIN_POLICIES)})")
    return resources.files(__package__).joinpath(file).read_text(encoding="utf-8")


def default_policy(arches: str | Sequence[str] | None = None) -> Policy:
    """The built-in default policy, for its own arches (``native+compat``) or ``arches``
    (one name such as ``"aarch64"`` or ``"x86_64+compat"``, or several)."""
    if isinstance(arches, str):
        arches = (arches,)
    return _default_policy(tuple(arches) if arches is not None else None)


def is_default_policy(policy: object) -> bool:
    """Whether ``policy`` is the object :func:`default_policy` returns for its own arches,
    found without reading the policy (False when it has not been read yet)."""
    return any(read is policy for read in _READ_FOR_OWN_ARCHES)


def builtin_policy(name: str, arches: str | Sequence[str] | None = None) -> Policy:
    """The built-in policy ``name`` (:data:`BUILTIN_POLICIES`), for its own arches or
    ``arches``."""
    if name not in BUILTIN_POLICIES:
        raise PolicyError(f"no built-in policy {name!r} (built-in: {', '.join(BUILTIN_POLICIES)})")
    return default_policy(arches)


_READ_FOR_OWN_ARCHES: list[Policy] = []
"""What :func:`_default_policy` returned for the policy's own arches (once read, at most one)."""


@functools.cache
def _default_policy(arches: tuple[str, ...] | None) -> Policy:
    from seccomp_bpf.formats.yaml_policy import load_yaml_policy

    policy = load_yaml_policy(
        builtin_policy_text("default"), source=DEFAULT_POLICY_SOURCE, arches=arches
    )
    policy = _clone_flags_for(policy)
    if arches is None:
        _READ_FOR_OWN_ARCHES.append(policy)
    return policy


def _clone_flags_for(policy: Policy) -> Policy:
    """Move the comparisons of the rules on ``clone`` to its flags argument on s390."""
    names = {arch.name for arch in policy.resolved_arches()}
    backwards = names & _CLONE_BACKWARDS2_ARCHES
    if not backwards:
        return policy
    if backwards != names:
        raise PolicyError(
            "the default policy checks clone's flags, which are its second argument on "
            f"{', '.join(sorted(backwards))} and its first on "
            f"{', '.join(sorted(names - backwards))}: give architectures of one kind"
        )
    rules = []
    for rule in policy.rules:
        if rule.syscalls == ("clone",) and isinstance(rule.when, Cmp) and rule.when.arg == 0:
            when = dataclasses.replace(rule.when, arg=_CLONE_FLAGS_ARGUMENT_BACKWARDS2)
            rule = dataclasses.replace(rule, when=when)
        rules.append(rule)
    changed = dataclasses.replace(policy, rules=tuple(rules))
    changed.validate()
    return changed
