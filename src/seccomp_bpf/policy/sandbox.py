"""The sandbox around the filter: what a policy says about the rest of the confinement.

A :class:`Sandbox` is a description, like the rest of the policy; ``seccomp-bpf run``,
:class:`seccomp_bpf.Popen` and :func:`seccomp_bpf.install` apply it (``seccomp_bpf.run``).
Each field is the command-line option of the same name::

    Sandbox(
        rw=("out",), ro=("/srv/data",),      # Landlock grants, on top of the default paths
        tcp_connect=(443,),                  # only these TCP ports (Landlock ABI 4)
        capabilities=("CAP_NET_BIND_SERVICE",),  # kept; every other one is dropped
        require=("landlock",),               # refuse to run without it
    )

Filesystem grants (Landlock rights, ``landlock(7)``), in the words of ``landrun``:

- ``ro``: read files and list directories;
- ``rox``: and execute programs;
- ``rw``: read, write, create, remove, rename and link, truncate (no execute);
- ``rwx``: all of that and execute.

Relative paths are taken from the working directory of the command, ``~`` is the home
directory. A path granted read-only (``ro``, ``rox``) is also bound read-only in the
sandbox's mount namespace, which makes it read-only even beneath a writable directory (a
Landlock grant can only add rights).

``default_paths`` (on unless turned off) adds what ordinary programs need: everything
readable and executable but ``/dev``, the working directory and ``/tmp`` writable, and the
usual devices; see ``seccomp_bpf.run.plan``. ``tcp_bind``/``tcp_connect`` are ``None`` when
TCP is not restricted, and a tuple of ports (possibly empty) when only those are allowed.
``capabilities`` lists those kept (``("all",)`` keeps every one). ``namespaces`` (PID,
mount, IPC and UTS, with a user namespace when not root), ``share_pid`` (no PID namespace),
``unshare_net`` (a network namespace with only the loopback), ``landlock`` and
``new_session`` turn layers on or off. ``require`` names layers that must be in force, or
nothing runs: ``namespaces``, ``landlock``, ``landlock-scope`` (signal and abstract-socket
scoping, Landlock ABI 6), or ``all``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from seccomp_bpf.errors import ConversionError, PolicyError

if TYPE_CHECKING:
    from seccomp_bpf.policy.rules import SourceLocation

ACCESS_MODES: Final = ("ro", "rox", "rw", "rwx")
"""The kinds of filesystem grant, from the least to the most."""

REQUIRABLE_LAYERS: Final = ("namespaces", "landlock", "landlock-scope")
"""The layers ``require`` may name (``all`` is all of them). The others are always in force:
no_new_privs, the parent-death signal, the capability drop and the filter cannot be refused
by a kernel that runs seccomp-bpf at all."""

ALL_CAPABILITIES: Final = "all"

_MAX_PORT: Final = 65535


def capability_number(name: str) -> int:
    """The number of capability ``name`` (``CAP_NET_RAW``, ``net_raw``...); PolicyError
    naming the known ones otherwise."""
    from seccomp_bpf.kernel.capabilities import CAPABILITIES

    canonical = name.strip().upper()
    if not canonical.startswith("CAP_"):
        canonical = "CAP_" + canonical
    number = CAPABILITIES.get(canonical)
    if number is None:
        import difflib

        close = difflib.get_close_matches(canonical, list(CAPABILITIES), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise PolicyError(f"unknown capability {name!r}{hint} (capabilities(7))")
    return number


def _canonical_capability(name: object) -> str:
    if not isinstance(name, str):
        raise PolicyError(f"a capability is a name such as CAP_NET_BIND_SERVICE, not {name!r}")
    if name.strip().lower() == ALL_CAPABILITIES:
        return ALL_CAPABILITIES
    from seccomp_bpf.kernel.capabilities import CAPABILITY_NAMES

    return CAPABILITY_NAMES[capability_number(name)]


def _paths(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise PolicyError(f"sandbox {what} is a list of paths, not {value!r}")
    paths: list[str] = []
    for item in value:
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if not isinstance(item, str) or not item:
            raise PolicyError(f"sandbox {what}: a path is non-empty text, not {item!r}")
        if "\0" in item:
            raise PolicyError(f"sandbox {what}: a path cannot hold a NUL byte ({item!r})")
        paths.append(item)
    return tuple(dict.fromkeys(paths))


def _ports(value: object, what: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise PolicyError(f"sandbox {what} is a list of TCP ports, or None, not {value!r}")
    ports: list[int] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= _MAX_PORT:
            raise PolicyError(f"sandbox {what}: a TCP port is 0..{_MAX_PORT}, not {item!r}")
        ports.append(item)
    return tuple(sorted(set(ports)))


@dataclass(frozen=True)
class Sandbox:
    """The layers around the filter; see the module docstring. ``locations`` (not part of
    equality) says where a YAML file wrote each entry, for messages: keys like ``rw[0]``."""

    ro: tuple[str, ...] = ()
    rox: tuple[str, ...] = ()
    rw: tuple[str, ...] = ()
    rwx: tuple[str, ...] = ()
    default_paths: bool = True
    tcp_bind: tuple[int, ...] | None = None
    tcp_connect: tuple[int, ...] | None = None
    capabilities: tuple[str, ...] = ()
    namespaces: bool = True
    share_pid: bool = False
    unshare_net: bool = False
    landlock: bool = True
    new_session: bool = True
    require: tuple[str, ...] = ()
    locations: Mapping[str, SourceLocation] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for mode in ACCESS_MODES:
            set_(self, mode, _paths(getattr(self, mode), mode))
        for name in ("tcp_bind", "tcp_connect"):
            set_(self, name, _ports(getattr(self, name), name))
        for name in ("default_paths", "namespaces", "share_pid", "unshare_net", "landlock"):
            if not isinstance(getattr(self, name), bool):
                raise PolicyError(f"sandbox {name} is true or false, not {getattr(self, name)!r}")
        if not isinstance(self.new_session, bool):
            raise PolicyError(f"sandbox new_session is true or false, not {self.new_session!r}")
        if isinstance(self.capabilities, str) or not isinstance(self.capabilities, Iterable):
            raise PolicyError(f"sandbox capabilities is a list of names, not {self.capabilities!r}")
        capabilities = tuple(dict.fromkeys(_canonical_capability(c) for c in self.capabilities))
        if ALL_CAPABILITIES in capabilities:
            capabilities = (ALL_CAPABILITIES,)
        set_(self, "capabilities", capabilities)
        set_(self, "require", self._required(self.require))
        if not self.namespaces and self.unshare_net:
            raise PolicyError("sandbox unshare_net needs namespaces (it is a network namespace)")
        set_(self, "locations", dict(self.locations))

    @staticmethod
    def _required(value: object) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise PolicyError(f"sandbox require is a list of layer names, not {value!r}")
        names: list[str] = []
        for item in value:
            if item == "all":
                names.extend(REQUIRABLE_LAYERS)
            elif item in REQUIRABLE_LAYERS:
                names.append(item)
            else:
                raise PolicyError(
                    f"sandbox require: unknown layer {item!r} "
                    f"(known: {', '.join(REQUIRABLE_LAYERS)}, all)"
                )
        return tuple(layer for layer in REQUIRABLE_LAYERS if layer in names)

    @property
    def keeps_all_capabilities(self) -> bool:
        return self.capabilities == (ALL_CAPABILITIES,)

    def grants(self) -> tuple[tuple[str, str], ...]:
        """Every ``(mode, path)`` granted, in the order of :data:`ACCESS_MODES`."""
        return tuple((mode, path) for mode in ACCESS_MODES for path in getattr(self, mode))

    def where(self, mode: str, path: str) -> str:
        """``p.yaml:12:9`` for a path the policy file granted, or ``--MODE`` otherwise."""
        paths: tuple[str, ...] = getattr(self, mode)
        location = self.locations.get(f"{mode}[{paths.index(path)}]") if path in paths else None
        return str(location) if location is not None else f"--{mode}"

    def refusal(self, message: str) -> ConversionError:
        """The error of a format that cannot hold this section, pointing at it when it was
        read from a file."""
        location = self.locations.get("sandbox")
        if location is None:
            return ConversionError(message)
        return ConversionError(
            message, source=location.file, line=location.line, column=location.column
        )

    def combined(self, other: Sandbox) -> Sandbox:
        """This sandbox with ``other``'s grants, ports, capabilities and requirements added,
        and every layer off that either turns off (on, for ``share_pid`` and ``unshare_net``):
        what ``run -p POLICY`` does with the command line's options on top of the policy's
        section."""
        return Sandbox(
            ro=(*self.ro, *other.ro),
            rox=(*self.rox, *other.rox),
            rw=(*self.rw, *other.rw),
            rwx=(*self.rwx, *other.rwx),
            default_paths=self.default_paths and other.default_paths,
            tcp_bind=_combined_ports(self.tcp_bind, other.tcp_bind),
            tcp_connect=_combined_ports(self.tcp_connect, other.tcp_connect),
            capabilities=(*self.capabilities, *other.capabilities),
            namespaces=self.namespaces and other.namespaces,
            share_pid=self.share_pid or other.share_pid,
            unshare_net=self.unshare_net or other.unshare_net,
            landlock=self.landlock and other.landlock,
            new_session=self.new_session and other.new_session,
            require=(*self.require, *other.require),
            locations=self.locations,
        )


def _combined_ports(
    mine: tuple[int, ...] | None, theirs: tuple[int, ...] | None
) -> tuple[int, ...] | None:
    """Ports allowed by two sandboxes together: unrestricted only if both are."""
    if mine is None or theirs is None:
        return theirs if mine is None else mine
    return (*mine, *theirs)
