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

from seccomp_bpf.errors import ConversionError, PolicyError

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing

if TYPE_CHECKING:
    from typing import Final

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


class Sandbox:
    """The layers around the filter; see the module docstring. Immutable; compared and hashed
    by every field but ``locations``, which says where a YAML file wrote each entry, for
    messages: keys like ``rw[0]``. :meth:`replace` gives a copy with some fields changed.

    (Written out rather than a dataclass, as the records of a run are: making a dataclass
    executes generated code, which every confined command's start-up would pay.)
    """

    __slots__ = (
        "capabilities",
        "default_paths",
        "landlock",
        "locations",
        "namespaces",
        "new_session",
        "require",
        "ro",
        "rox",
        "rw",
        "rwx",
        "share_pid",
        "tcp_bind",
        "tcp_connect",
        "unshare_net",
    )

    FIELDS: Final = (
        "ro",
        "rox",
        "rw",
        "rwx",
        "default_paths",
        "tcp_bind",
        "tcp_connect",
        "capabilities",
        "namespaces",
        "share_pid",
        "unshare_net",
        "landlock",
        "new_session",
        "require",
    )
    """The fields that say what the sandbox is (all but ``locations``), in order."""

    ro: tuple[str, ...]
    rox: tuple[str, ...]
    rw: tuple[str, ...]
    rwx: tuple[str, ...]
    default_paths: bool
    tcp_bind: tuple[int, ...] | None
    tcp_connect: tuple[int, ...] | None
    capabilities: tuple[str, ...]
    namespaces: bool
    share_pid: bool
    unshare_net: bool
    landlock: bool
    new_session: bool
    require: tuple[str, ...]
    locations: Mapping[str, SourceLocation]

    def __init__(
        self,
        *,
        ro: Iterable[str] = (),
        rox: Iterable[str] = (),
        rw: Iterable[str] = (),
        rwx: Iterable[str] = (),
        default_paths: bool = True,
        tcp_bind: Iterable[int] | None = None,
        tcp_connect: Iterable[int] | None = None,
        capabilities: Iterable[str] = (),
        namespaces: bool = True,
        share_pid: bool = False,
        unshare_net: bool = False,
        landlock: bool = True,
        new_session: bool = True,
        require: Iterable[str] = (),
        locations: Mapping[str, SourceLocation] | None = None,
    ) -> None:
        set_ = object.__setattr__
        for mode, paths in (("ro", ro), ("rox", rox), ("rw", rw), ("rwx", rwx)):
            set_(self, mode, _paths(paths, mode))
        set_(self, "tcp_bind", _ports(tcp_bind, "tcp_bind"))
        set_(self, "tcp_connect", _ports(tcp_connect, "tcp_connect"))
        switches = (
            ("default_paths", default_paths),
            ("namespaces", namespaces),
            ("share_pid", share_pid),
            ("unshare_net", unshare_net),
            ("landlock", landlock),
            ("new_session", new_session),
        )
        for name, value in switches:
            if not isinstance(value, bool):
                raise PolicyError(f"sandbox {name} is true or false, not {value!r}")
            set_(self, name, value)
        if isinstance(capabilities, str) or not isinstance(capabilities, Iterable):
            raise PolicyError(f"sandbox capabilities is a list of names, not {capabilities!r}")
        kept = tuple(dict.fromkeys(_canonical_capability(c) for c in capabilities))
        if ALL_CAPABILITIES in kept:
            kept = (ALL_CAPABILITIES,)
        set_(self, "capabilities", kept)
        set_(self, "require", self._required(require))
        if not namespaces and unshare_net:
            raise PolicyError("sandbox unshare_net needs namespaces (it is a network namespace)")
        set_(self, "locations", dict(locations or {}))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Sandbox is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Sandbox is immutable")

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Sandbox)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"Sandbox({fields})"

    def __reduce__(self) -> tuple[object, tuple[dict[str, object]]]:
        return (_sandbox, (self.fields(),))

    def fields(self) -> dict[str, object]:
        """Every field by name, ``locations`` included: ``Sandbox(**sandbox.fields())`` is
        an equal sandbox."""
        values = {name: getattr(self, name) for name in self.FIELDS}
        values["locations"] = self.locations
        return values

    def replace(
        self,
        *,
        namespaces: bool | None = None,
        unshare_net: bool | None = None,
        new_session: bool | None = None,
    ) -> Sandbox:
        """This sandbox with the layers given turned on or off (None: as they are)."""
        return Sandbox(
            ro=self.ro,
            rox=self.rox,
            rw=self.rw,
            rwx=self.rwx,
            default_paths=self.default_paths,
            tcp_bind=self.tcp_bind,
            tcp_connect=self.tcp_connect,
            capabilities=self.capabilities,
            namespaces=self.namespaces if namespaces is None else namespaces,
            share_pid=self.share_pid,
            unshare_net=self.unshare_net if unshare_net is None else unshare_net,
            landlock=self.landlock,
            new_session=self.new_session if new_session is None else new_session,
            require=self.require,
            locations=self.locations,
        )

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


def _sandbox(fields: dict[str, object]) -> Sandbox:
    """A sandbox again from its :meth:`Sandbox.fields` (how a pickled one is read back)."""
    return Sandbox(**fields)  # type: ignore[arg-type]


def _combined_ports(
    mine: tuple[int, ...] | None, theirs: tuple[int, ...] | None
) -> tuple[int, ...] | None:
    """Ports allowed by two sandboxes together: unrestricted only if both are."""
    if mine is None or theirs is None:
        return theirs if mine is None else mine
    return (*mine, *theirs)
