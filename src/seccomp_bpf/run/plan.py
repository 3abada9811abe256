"""What a sandbox will be, decided before anything runs: :func:`plan_sandbox`.

A :class:`~seccomp_bpf.policy.Sandbox` says what is wanted; a :class:`SandboxPlan` says what
will be done on this machine, for this working directory and user: which namespaces to
create, which Landlock rights to grant where (the default paths below, then the sandbox's
own grants), which capabilities to keep, and which layers the kernel cannot give (one note
each, or a :class:`~seccomp_bpf.errors.LayerUnavailableError` when the layer is required).
Everything that can be checked without creating anything is checked here: a granted path
that does not exist, TCP rules on a kernel without them, a required Landlock that is not
there. Whether namespaces can be created is only known by trying (in the child).

The default paths (``Sandbox.default_paths``), and why:

- every directory at the top of ``/`` but ``/dev``: read and execute (``rox``), so that
  programs, libraries and configuration are there; ``/`` itself may be listed. What the
  program can read is what its user can read: reading is not what this protects.
- ``/dev``: only ``null``, ``zero``, ``full``, ``random``, ``urandom`` and ``tty`` (read,
  write, ioctl), ``/dev/shm`` (``rw``) and, in the sandbox's own ``/dev``, its ``pts`` and
  ``ptmx``: no disk, no ``/dev/kmsg``, no camera, no other terminal.
- the working directory, ``/tmp`` and ``$TMPDIR``: ``rwx``. Not when it is ``/``, or the
  home directory or one that holds it: there are the user's shell start-up files
  (``~/.bashrc``, ``~/.profile``), ``~/.ssh/authorized_keys``, ``~/.config/autostart`` and
  ``~/.local/bin``; a program that can write them runs code outside the sandbox at the
  user's next login. The home directory is therefore read-only unless granted (``--rw ~``).
- nothing under ``/proc`` or ``/sys`` is writable, and the standard streams the command
  inherits (a terminal, a file) may be opened again through ``/proc/self/fd``.

Without a mount namespace the same rules apply to the host's ``/dev``, ``/tmp`` and ``/run``;
with one (the default) those are the sandbox's own (``seccomp_bpf.run.mount_namespace``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from seccomp_bpf.errors import LayerUnavailableError, SandboxError
from seccomp_bpf.kernel import landlock
from seccomp_bpf.policy.sandbox import Sandbox, capability_number

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final

LANDLOCK_ABI_VARIABLE: Final = "SECCOMP_BPF_LANDLOCK_ABI"
"""An environment variable that lowers the Landlock ABI used to at most its value (``0``:
no Landlock at all), to see how a program fares on an older kernel; it cannot raise it."""

# Landlock rights (landlock(7)) of each kind of grant.
READ: Final = landlock.ACCESS_FS_READ_FILE | landlock.ACCESS_FS_READ_DIR
WRITE: Final = (
    landlock.ACCESS_FS_WRITE_FILE
    | landlock.ACCESS_FS_REMOVE_DIR
    | landlock.ACCESS_FS_REMOVE_FILE
    | landlock.ACCESS_FS_MAKE_DIR
    | landlock.ACCESS_FS_MAKE_REG
    | landlock.ACCESS_FS_MAKE_SOCK
    | landlock.ACCESS_FS_MAKE_FIFO
    | landlock.ACCESS_FS_MAKE_SYM
    | landlock.ACCESS_FS_REFER
    | landlock.ACCESS_FS_TRUNCATE
)  # no MAKE_CHAR, MAKE_BLOCK: device nodes are nobody's business in a sandbox
RIGHTS: Final[Mapping[str, int]] = {
    "ro": READ,
    "rox": READ | landlock.ACCESS_FS_EXECUTE,
    "rw": READ | WRITE,
    "rwx": READ | WRITE | landlock.ACCESS_FS_EXECUTE,
}
DEVICE: Final = (
    landlock.ACCESS_FS_READ_FILE
    | landlock.ACCESS_FS_WRITE_FILE
    | landlock.ACCESS_FS_TRUNCATE
    | landlock.ACCESS_FS_IOCTL_DEV
)

DEVICES: Final = ("null", "zero", "full", "random", "urandom", "tty")
"""The device nodes of ``/dev`` a sandbox gets."""

ROOT_WITHOUT_MOUNTS: Final = (
    "filesystem: as root without a mount namespace, Landlock does not stop chmod, utime and "
    "extended attributes on root's own files (they are none of its rights); only the "
    "read-only mounts of the namespaces do"
)

PRIVATE_DIRECTORIES: Final = ("/tmp", "/run")
"""Directories that are the sandbox's own (empty ``tmpfs``) in its mount namespace: what the
host keeps there (the X11 and ssh-agent sockets of ``/tmp``, the D-Bus, systemd and Docker
sockets of ``/run``) stays out of reach."""


class Grant:
    """Landlock ``rights`` beneath ``path``; ``origin`` says why, for ``--show-layers``.
    Compared by all three.

    (The plan's records are written out rather than dataclasses: making a dataclass
    executes generated code, which every confined command's start-up would pay.)
    """

    __slots__ = ("origin", "path", "rights")

    def __init__(self, path: str, rights: int, origin: str) -> None:
        self.path = path
        self.rights = rights
        self.origin = origin

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Grant):
            return NotImplemented
        return (self.path, self.rights, self.origin) == (other.path, other.rights, other.origin)

    def __hash__(self) -> int:
        return hash((self.path, self.rights, self.origin))

    def __repr__(self) -> str:
        return f"Grant({self.path!r}, {self.rights:#x}, {self.origin!r})"


class SandboxPlan:
    """What will be done; see the module docstring.

    ``landlock_abi`` is the Landlock ABI to use (0: no Landlock, turned off or the kernel has
    none); ``writable`` the paths bound read-write in the mount namespace, where everything
    else is read-only; ``read_only`` the paths granted read-only, also bound read-only there;
    ``keep`` the capabilities kept (numbers; None keeps all); ``notes`` one line per layer
    (or part of one) the kernel does not give, and why; ``resolv_conf`` the file
    ``/etc/resolv.conf`` points to, when it lives in a private directory.
    """

    __slots__ = (
        "cwd",
        "gid",
        "grants",
        "home",
        "keep",
        "landlock_abi",
        "namespaces",
        "notes",
        "pid_namespace",
        "read_only",
        "resolv_conf",
        "sandbox",
        "uid",
        "user_namespace",
        "writable",
    )

    def __init__(
        self,
        *,
        sandbox: Sandbox,
        cwd: str,
        uid: int,
        gid: int,
        landlock_abi: int,
        namespaces: bool,
        user_namespace: bool,
        pid_namespace: bool,
        grants: tuple[Grant, ...],
        writable: tuple[str, ...],
        read_only: tuple[str, ...],
        keep: frozenset[int] | None,
        notes: tuple[str, ...] = (),
        home: str | None = None,
        resolv_conf: str | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.cwd = cwd
        self.uid = uid
        self.gid = gid
        self.landlock_abi = landlock_abi
        self.namespaces = namespaces
        self.user_namespace = user_namespace
        self.pid_namespace = pid_namespace
        self.grants = grants
        self.writable = writable
        self.read_only = read_only
        self.keep = keep
        self.notes = notes
        self.home = home
        self.resolv_conf = resolv_conf

    @property
    def required(self) -> tuple[str, ...]:
        return self.sandbox.require

    def without_namespaces(self, why: str) -> SandboxPlan:
        """The plan when namespaces could not be created: the same grants, on the host's
        ``/dev``, ``/tmp`` and ``/run``."""
        sandbox = self.sandbox.replace(namespaces=False, unshare_net=False)
        grants = tuple(g for g in self.grants if not _sandbox_own_device(g.path))
        notes = (*self.notes, why)
        if self.uid == 0 and self.landlock_abi:
            notes = (*notes, ROOT_WITHOUT_MOUNTS)
        return SandboxPlan(
            sandbox=sandbox,
            cwd=self.cwd,
            uid=self.uid,
            gid=self.gid,
            landlock_abi=self.landlock_abi,
            namespaces=False,
            user_namespace=False,
            pid_namespace=False,
            grants=grants,
            writable=self.writable,
            read_only=self.read_only,
            keep=self.keep,
            notes=notes,
            home=self.home,
            resolv_conf=self.resolv_conf,
        )


def _sandbox_own_device(path: str) -> bool:
    return path in ("/dev/pts", "/dev/ptmx")


def landlock_abi(sandbox: Sandbox, environ: Mapping[str, str] | None = None) -> int:
    """The ABI to use: the kernel's, lowered by :data:`LANDLOCK_ABI_VARIABLE`; 0 when
    Landlock is turned off."""
    if not sandbox.landlock:
        return 0
    abi = landlock.abi_version()
    limit = (os.environ if environ is None else environ).get(LANDLOCK_ABI_VARIABLE)
    if limit is not None:
        try:
            abi = min(abi, int(limit))
        except ValueError:
            raise SandboxError(
                f"{LANDLOCK_ABI_VARIABLE}={limit!r}: give a Landlock ABI version (0 for none)"
            ) from None
    return max(abi, 0)


def _resolved(path: str, cwd: str, home: str | None) -> str:
    if path == "~" or path.startswith("~/"):
        if home is None:
            raise SandboxError(f"{path}: no home directory (HOME is not set)")
        path = home + path[1:]
    return os.path.normpath(os.path.join(cwd, path))


def _holds(directory: str, path: str) -> bool:
    """Whether ``path`` is ``directory`` or beneath it."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _default_grants(
    cwd: str, home: str | None, tmpdir: str | None, own_dev: bool
) -> tuple[list[Grant], list[str], list[str]]:
    """The default grants, the writable paths among them, and notes."""
    grants = [Grant("/", landlock.ACCESS_FS_READ_DIR, "default: list directories")]
    try:
        entries = sorted(os.scandir("/"), key=lambda entry: entry.name)
    except OSError:
        entries = []
    for entry in entries:
        if entry.name == "dev":
            continue
        try:
            if not entry.is_dir():  # follows symlinks: /bin -> usr/bin is a directory
                continue
        except OSError:
            continue
        grants.append(Grant(entry.path, RIGHTS["rox"], "default: the system, read-only"))
    for name in DEVICES:
        grants.append(Grant(f"/dev/{name}", DEVICE, "default: devices"))
    if own_dev:
        grants.append(Grant("/dev/pts", DEVICE | READ, "default: the sandbox's terminals"))
        grants.append(Grant("/dev/ptmx", DEVICE, "default: the sandbox's terminals"))
    grants.append(Grant("/dev/shm", RIGHTS["rw"], "default: shared memory"))
    writable: list[str] = []
    notes: list[str] = []
    for path, origin in (("/tmp", "/tmp"), (tmpdir, "$TMPDIR"), (cwd, "the working directory")):
        if path is None or not os.path.isdir(path):
            continue
        if path == "/" or (home is not None and _holds(path, home)):
            if origin == "the working directory":
                where = "/" if path == "/" else "your home directory, or holds it"
                notes.append(
                    f"filesystem: the working directory {path} is {where}; it stays "
                    f"read-only (give --rw {path} to let the program write there)"
                )
            continue
        grants.append(Grant(path, RIGHTS["rwx"], f"default: {origin}"))
        writable.append(path)
    return grants, writable, notes


def _landlock_notes(sandbox: Sandbox, abi: int, env: Mapping[str, str]) -> list[str]:
    """What is missing of Landlock, one note each; raises for what is required."""
    required = [layer for layer in ("landlock", "landlock-scope") if layer in sandbox.require]
    if not sandbox.landlock:
        if required:
            raise LayerUnavailableError(
                required[0], f"{required[0]} is required, but Landlock is turned off"
            )
        return []
    if abi == 0:
        why = "this kernel has no Landlock (Linux 5.13), or it is disabled at boot"
        if env.get(LANDLOCK_ABI_VARIABLE) is not None:
            why = f"{LANDLOCK_ABI_VARIABLE}={env[LANDLOCK_ABI_VARIABLE]} turns it off"
        if required:
            raise LayerUnavailableError(required[0], f"{required[0]} is required, but {why}")
        return [f"landlock not in force: {why}"]
    if abi < landlock.ABI_SCOPE:
        why = (
            f"this kernel's Landlock is ABI {abi}; scoping signals and abstract UNIX "
            f"sockets needs ABI {landlock.ABI_SCOPE} (Linux 6.12)"
        )
        if "landlock-scope" in required:
            raise LayerUnavailableError("landlock-scope", f"landlock-scope is required, but {why}")
        return [f"landlock-scope not in force: {why}"]
    return []


def plan_sandbox(
    sandbox: Sandbox | None,
    *,
    cwd: str | None = None,
    environ: Mapping[str, str] | None = None,
    in_process: bool = False,
    executable: str | None = None,
) -> SandboxPlan:
    """Decide what to do for ``sandbox`` (the defaults when None) in this environment.

    ``in_process`` plans for the calling process itself (:func:`seccomp_bpf.install`): no
    namespaces. ``executable``, the file the command is run from, is granted read and
    execute (and bound into the sandbox when it lives in ``/tmp`` or ``/run``). Raises
    :class:`SandboxError` for a granted path that does not exist, and
    :class:`LayerUnavailableError` for a required layer the kernel lacks, or TCP rules
    without Landlock ABI 4.
    """
    sandbox = sandbox if sandbox is not None else Sandbox()
    if in_process:
        sandbox = sandbox.replace(namespaces=False, unshare_net=False, new_session=False)
    env = os.environ if environ is None else environ
    cwd = os.getcwd() if cwd is None else cwd
    home = env.get("HOME") or None
    if home is not None:
        home = os.path.normpath(home)
    notes: list[str] = []

    abi = landlock_abi(sandbox, env)
    notes.extend(_landlock_notes(sandbox, abi, env))
    if "namespaces" in sandbox.require and not sandbox.namespaces:
        raise LayerUnavailableError("namespaces", "namespaces are required, but turned off")
    for name, ports in (("tcp-bind", sandbox.tcp_bind), ("tcp-connect", sandbox.tcp_connect)):
        if ports is not None and abi < landlock.ABI_NET:
            why = "Landlock is off" if not sandbox.landlock else f"this kernel's is ABI {abi}"
            raise LayerUnavailableError(
                "landlock",
                f"--{name} needs Landlock ABI {landlock.ABI_NET} (Linux 6.7); {why}",
            )

    grants: list[Grant] = []
    writable: list[str] = []
    if sandbox.default_paths:
        tmpdir = env.get("TMPDIR")
        default, writable, default_notes = _default_grants(
            cwd,
            home,
            _resolved(tmpdir, cwd, home) if tmpdir else None,
            own_dev=sandbox.namespaces,
        )
        grants.extend(default)
        if abi:
            notes.extend(default_notes)
    read_only: list[str] = []
    for mode, path in sandbox.grants():
        resolved = _resolved(path, cwd, home)
        try:
            mode_bits = os.stat(resolved).st_mode
        except OSError as error:
            raise SandboxError(
                f"{sandbox.where(mode, path)}: cannot grant {mode} on {path}: {error.strerror}",
                error.errno or 2,
            ) from None
        if not (stat.S_ISDIR(mode_bits) or stat.S_ISREG(mode_bits) or stat.S_ISCHR(mode_bits)):
            raise SandboxError(
                f"{sandbox.where(mode, path)}: cannot grant {mode} on {path}: not a directory, "
                "a file or a character device"
            )
        grants.append(Grant(resolved, RIGHTS[mode], sandbox.where(mode, path)))
        if mode in ("rw", "rwx"):
            writable.append(resolved)
        else:
            read_only.append(resolved)

    if cwd not in writable and any(_holds(d, cwd) and d != cwd for d in PRIVATE_DIRECTORIES):
        # A working directory that stays read-only (the home directory, or one holding it)
        # in a directory the sandbox has its own of: bound back read-only, or the command
        # would start in a directory it cannot see.
        read_only.append(cwd)

    if executable is not None:
        command = os.path.normpath(os.path.join(cwd, executable))
        grants.append(Grant(command, RIGHTS["rox"], "the command"))
        if any(_holds(directory, command) for directory in PRIVATE_DIRECTORIES):
            read_only.append(command)

    keep: frozenset[int] | None = frozenset()
    if sandbox.keeps_all_capabilities:
        keep = None
    else:
        keep = frozenset(capability_number(name) for name in sandbox.capabilities)

    user_namespace = sandbox.namespaces and not _has_sys_admin()
    if not sandbox.namespaces and not in_process and os.geteuid() == 0 and abi:
        notes.append(ROOT_WITHOUT_MOUNTS)
    resolv_conf = None
    try:
        target = os.path.realpath("/etc/resolv.conf")
        if any(_holds(directory, target) for directory in PRIVATE_DIRECTORIES):
            resolv_conf = target
    except OSError:
        pass
    return SandboxPlan(
        sandbox=sandbox,
        cwd=cwd,
        uid=os.geteuid(),
        gid=os.getegid(),
        landlock_abi=abi,
        namespaces=sandbox.namespaces,
        user_namespace=user_namespace,
        pid_namespace=sandbox.namespaces and not sandbox.share_pid,
        grants=tuple(grants),
        writable=tuple(dict.fromkeys(writable)),
        read_only=tuple(dict.fromkeys(read_only)),
        keep=keep,
        notes=tuple(notes),
        home=home,
        resolv_conf=resolv_conf,
    )


def _has_sys_admin() -> bool:
    """Whether this process has ``CAP_SYS_ADMIN`` effective (then no user namespace is
    needed to create the others)."""
    from seccomp_bpf.kernel.capabilities import CAPABILITIES, effective_capabilities

    try:
        return CAPABILITIES["CAP_SYS_ADMIN"] in effective_capabilities()
    except OSError:
        return False
