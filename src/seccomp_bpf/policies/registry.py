"""Named policies: the built-in ones, those an application registers, and those installed
packages ship through the ``seccomp_bpf.policies`` entry-point group.

A name is what ``seccomp-bpf run -p NAME``, ``compile NAME``, ``policy show NAME`` and
``install(NAME)`` take. Where a name is looked for, in this order:

1. the built-in policies (``default``), unless this process registered its own under that
   name (``register_policy(name, policy, replace=True)``: an application's own policy
   replaces the default, as elastic/beats lets it);
2. the policies this process registered (:func:`register_policy`);
3. a file of that path (a name never hides a file, except a built-in or registered one:
   ``./NAME`` is the file);
4. the entry points of installed distributions, group ``seccomp_bpf.policies``: the entry
   point's name is the policy's, its object (imported only when the name is asked for) is
   a :class:`Policy`, a path to a policy file, an :mod:`importlib.resources` file of the
   package (``files(__package__) / "web.yaml"``), or a function without arguments that
   returns one of those. An entry point cannot take a built-in name (it is listed as
   shadowed), and two distributions that name one policy alike make the name ambiguous: it
   is refused, naming both.

Names are letters, digits, ``.``, ``_`` and ``-``, starting with a letter or a digit.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Final

from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policies.default import (
    BUILTIN_POLICIES,
    DEFAULT_POLICY_SOURCE,
    builtin_policy,
)

if TYPE_CHECKING:
    from seccomp_bpf.policy.policy import Policy

ENTRY_POINT_GROUP: Final = "seccomp_bpf.policies"
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

Loader = Callable[[Sequence[str] | None], "Policy"]
"""Reads the policy, for its own architectures or the ones given."""


@dataclass(frozen=True)
class NamedPolicy:
    """A policy found by name: where it comes from (``origin``: ``built-in``,
    ``registered``, ``entry point``), what it is (``where``: its file, or the object or
    entry point that gives it) and, for an entry point, its distribution. ``problem`` says
    why it cannot be used (shadowed, ambiguous, an invalid name); ``load`` reads it."""

    name: str
    origin: str
    where: str
    load: Loader = dataclasses.field(compare=False, repr=False)
    distribution: str | None = None
    problem: str | None = None

    def policy(self, arches: Sequence[str] | None = None) -> Policy:
        if self.problem is not None:
            raise PolicyError(f"policy {self.name!r}: {self.problem}")
        return self.load(arches)


_lock = threading.Lock()
_registered: dict[str, NamedPolicy] = {}


def _check_name(name: str) -> None:
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise PolicyError(
            f"{name!r} is no policy name: letters, digits, '.', '_' and '-', starting with a "
            "letter or a digit"
        )


def register_policy(
    name: str, policy_or_path: Policy | str | os.PathLike[str], *, replace: bool = False
) -> None:
    """Register ``policy_or_path`` (a :class:`Policy`, or a policy file, read now so that a
    mistake shows here) under ``name`` for this process: ``install(name)`` and the other
    readers of names find it. A name already registered (or built in) needs
    ``replace=True``."""
    _check_name(name)
    if isinstance(policy_or_path, str | os.PathLike):
        policy_or_path = os.path.abspath(policy_or_path)  # the file, wherever the process goes
    entry = _entry_for(name, "registered", policy_or_path, None)
    entry.load(None)  # read it now: a bad file or object fails at registration
    with _lock:
        if not replace and (name in _registered or name in BUILTIN_POLICIES):
            taken = "built in" if name not in _registered else "registered already"
            raise PolicyError(
                f"a policy named {name!r} is {taken}; register_policy(..., replace=True) "
                "replaces it in this process"
            )
        _registered[name] = entry


def unregister_policy(name: str) -> None:
    """Forget the policy this process registered as ``name`` (a built-in one comes back)."""
    with _lock:
        if _registered.pop(name, None) is None:
            raise PolicyError(f"no policy named {name!r} was registered in this process")


def is_registered(name: str) -> bool:
    """Whether this process registered a policy named ``name`` (:func:`register_policy`)."""
    with _lock:
        return name in _registered


def _builtin(name: str) -> NamedPolicy:
    source = DEFAULT_POLICY_SOURCE.replace("default.yaml", BUILTIN_POLICIES[name])
    return NamedPolicy(
        name, "built-in", source, lambda arches: builtin_policy(name, arches), "seccomp-bpf"
    )


def _entry_for(name: str, origin: str, value: object, distribution: str | None) -> NamedPolicy:
    """How to read ``value`` (a Policy, a path, a package's resource file, or a function
    that returns one of those), as the policy ``name``."""
    from seccomp_bpf.policy.policy import Policy

    if isinstance(value, Policy):
        where = f"a Policy object ({value.source})" if value.source else "a Policy object"
        return NamedPolicy(
            name, origin, where, lambda arches: _with_arches(value, arches), distribution
        )
    if isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        if not isinstance(path, str):
            raise PolicyError(f"policy {name!r}: a path must be text, not {path!r}")
        return NamedPolicy(
            name, origin, path, lambda arches: _read_file(path, arches), distribution
        )
    read_text = getattr(value, "read_text", None)
    if callable(read_text) and hasattr(value, "name"):
        where = str(value)

        def from_resource(arches: Sequence[str] | None) -> Policy:
            from seccomp_bpf.formats import load_policy_text

            text = read_text(encoding="utf-8")
            return load_policy_text(text, source=where, arches=arches)

        return NamedPolicy(name, origin, where, from_resource, distribution)
    raise PolicyError(
        f"policy {name!r}: {value!r} is no policy: give a Policy, a path to a policy file, or "
        "a file of the package (importlib.resources.files(...) / 'NAME.yaml')"
    )


def _with_arches(policy: Policy, arches: Sequence[str] | None) -> Policy:
    if arches is None:
        return policy
    changed = dataclasses.replace(policy, arches=tuple(arches))
    changed.validate()
    return changed


def _read_file(path: str, arches: Sequence[str] | None) -> Policy:
    from seccomp_bpf.formats import read_policy_file

    return read_policy_file(path, arches=arches)


def _entry_points() -> list[NamedPolicy]:
    """The installed entry points of :data:`ENTRY_POINT_GROUP`, each as a :class:`NamedPolicy`
    that imports its object when read; shadowed, ambiguous and ill-named ones with their
    ``problem``."""
    found: list[NamedPolicy] = []
    seen: dict[str, list[str]] = {}
    points = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name)
    for point in points:
        dist = point.dist
        distribution = f"{dist.name} {dist.version}" if dist is not None else None
        seen.setdefault(point.name, []).append(distribution or point.value)
    for point in points:
        dist = point.dist
        distribution = f"{dist.name} {dist.version}" if dist is not None else None
        problem = None
        if _NAME.fullmatch(point.name) is None:
            problem = "not a policy name (letters, digits, '.', '_' and '-')"
        elif point.name in BUILTIN_POLICIES:
            problem = "shadowed by the built-in policy of that name"
        elif len(seen[point.name]) > 1:
            problem = "ambiguous: " + " and ".join(seen[point.name]) + " both ship it"
        found.append(
            NamedPolicy(
                point.name,
                "entry point",
                f"{point.value} ({ENTRY_POINT_GROUP})",
                _entry_point_loader(point, distribution),
                distribution,
                problem,
            )
        )
    return found


def _entry_point_loader(point: metadata.EntryPoint, distribution: str | None) -> Loader:
    def load(arches: Sequence[str] | None) -> Policy:
        what = f"the entry point {point.name} = {point.value}" + (
            f" of {distribution}" if distribution else ""
        )
        try:
            value = point.load()
            if callable(value) and not hasattr(value, "read_text"):
                value = value()
            if isinstance(value, str | os.PathLike) and not os.path.isabs(value):
                raise PolicyError(
                    f"the path {os.fspath(value)!r} is relative (to no directory a package "
                    "knows): give an absolute one, or importlib.resources.files(...) / NAME"
                )
            entry = _entry_for(point.name, "entry point", value, distribution)
            return entry.load(arches)
        except PolicyError as error:
            raise PolicyError(f"{what}: {error}") from None
        except Exception as error:  # the package's own code: any failure is its
            raise PolicyError(
                f"{what}: cannot be loaded: {type(error).__name__}: {error}"
            ) from None

    return load


def named_policies() -> list[NamedPolicy]:
    """Every named policy this process can find: built-in (or what replaced it),
    registered, then installed entry points, with their problems."""
    with _lock:
        registered = dict(_registered)
    found = [
        registered.pop(name) if name in registered else _builtin(name)
        for name in BUILTIN_POLICIES
    ]
    found.extend(registered[name] for name in sorted(registered))
    taken = {entry.name for entry in found}
    for entry in _entry_points():
        if entry.name in taken and entry.problem is None:
            entry = dataclasses.replace(entry, problem="shadowed by the policy registered so")
        found.append(entry)
    return found


def find_policy(name: str, *, files_first: bool = False) -> NamedPolicy | None:
    """The named policy ``name`` (see the module docstring), or None. ``files_first``: a
    path that exists is a file, unless a built-in or registered policy has its name (what
    the command line asks, so that only a name that is no file imports the packages that
    ship policies)."""
    with _lock:
        registered = _registered.get(name)
    if registered is not None:
        return registered
    if name in BUILTIN_POLICIES:
        return _builtin(name)
    if files_first and (os.path.lexists(name) or name == "-"):
        return None
    if _NAME.fullmatch(name) is None:
        return None
    matches = [entry for entry in _entry_points() if entry.name == name]
    return matches[0] if matches else None


def known_names() -> list[str]:
    """The names :func:`find_policy` finds, for messages."""
    return list(dict.fromkeys(entry.name for entry in named_policies() if entry.problem is None))


def policy_by_name(name: str, arches: Sequence[str] | None = None) -> Policy:
    """The named policy ``name``; :class:`PolicyError` naming the known names if none."""
    entry = find_policy(name)
    if entry is None:
        raise PolicyError(
            f"no policy named {name!r} (known: {', '.join(known_names())}; "
            "seccomp-bpf policy list shows where each comes from)"
        )
    return entry.policy(arches)


def check_file_or_name(spec: str) -> None:
    """Raise :class:`PolicyError` when ``spec``, which :func:`find_policy` did not find, is
    no file either but could be a name: the error lists the names there are."""
    if not os.path.lexists(spec) and "/" not in spec and _NAME.fullmatch(spec) is not None:
        raise PolicyError(
            f"{spec}: no such file, and no policy of that name (known: "
            f"{', '.join(known_names())}; seccomp-bpf policy list shows where each comes from)"
        )


def load_named_or_file(spec: str, arches: Sequence[str] | None = None) -> Policy:
    """A policy given by name or by file (``-p SPEC``, ``install(SPEC)``): a built-in or
    registered name, else a file that exists, else an installed entry point's name."""
    entry = find_policy(spec, files_first=True)
    if entry is not None:
        return entry.policy(arches)
    check_file_or_name(spec)
    return _read_file(spec, arches)
