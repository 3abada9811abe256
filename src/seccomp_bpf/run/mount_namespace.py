"""The sandbox's mount namespace: what the program sees of the filesystem.

:func:`set_up` runs in a new mount namespace (and, by default, as PID 1 of a new PID
namespace), before the command is started. In order:

1. :func:`~seccomp_bpf.kernel.mounts.stop_propagation`: nothing mounted here reaches the host.
2. The paths that must stay reachable once the host's ``/dev``, ``/tmp`` and ``/run`` are
   covered (device nodes, the working directory, granted paths) are opened (``O_PATH``).
3. ``/proc``: a new instance for the new PID namespace (only the sandbox's processes), with
   ``/proc/sys``, ``/proc/sysrq-trigger``, ``/proc/irq``, ``/proc/bus`` and ``/proc/fs``
   read-only, and ``/proc/kcore``, ``keys``, ``timer_list``, ``sched_debug``,
   ``latency_stats``, ``acpi`` and ``scsi`` covered, as Docker does (``readonlyPaths``,
   ``maskedPaths``). A user ID 0 without capabilities may still write the files of
   ``/proc/sys`` it owns (``core_pattern``, ``hostname``): read-only mounts are what stop it.
4. ``/dev``: a new ``tmpfs`` holding binds of ``null``, ``zero``, ``full``, ``random``,
   ``urandom`` and ``tty``, a new ``devpts`` instance (its own terminals, none of the host's),
   a private ``/dev/shm``, and the ``fd``, ``stdin``, ``stdout``, ``stderr`` links; paths
   under ``/dev`` granted by the sandbox are bound in as well.
5. ``/tmp`` and ``/run``: empty ``tmpfs``, into which the working directory and the granted
   paths under them (and the file ``/etc/resolv.conf`` points to) are bound back at the same
   place. A sandbox that grants ``/tmp`` itself keeps the host's.
6. The writable paths (working directory, ``$TMPDIR``, ``rw``/``rwx`` grants) are bound onto
   themselves, and the read-only grants bound read-only.
7. Every other mount is made read-only, ``/sys`` and its submounts included: with Landlock
   missing, a root process without capabilities still cannot write ``/etc`` or ``/sys``.
8. The working directory is entered again, so that it is the new bind and not the covered
   original.

Steps 1 to 5 failing is an error (the caller decides whether the sandbox goes on without
its mount namespace); a mask or a read-only remount that fails is a note.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Sequence

from seccomp_bpf.errors import KernelError
from seccomp_bpf.kernel import mounts
from seccomp_bpf.run.plan import DEVICES, PRIVATE_DIRECTORIES, SandboxPlan

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


PROC_READ_ONLY: Final = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")
PROC_MASKED: Final = (
    "/proc/kcore",
    "/proc/keys",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/latency_stats",
    "/proc/acpi",
    "/proc/scsi",
)
_NEW_TREES: Final = ("/proc", "/dev")
_FLAGS: Final = mounts.MS_NOSUID | mounts.MS_NODEV


def _beneath(path: str, directories: Iterable[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in directories)


def _outermost_first(paths: Iterable[str]) -> list[str]:
    """``paths`` by depth, so that a bind never covers one made for a path beneath it."""
    return sorted(dict.fromkeys(paths), key=lambda path: (path.rstrip("/").count("/"), path))


def _open_path(path: str) -> int | None:
    try:
        return os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return None


def _mount_point_for(source_fd: int, target: str) -> None:
    """Create ``target`` (a directory, or an empty file) to bind ``source_fd`` onto."""
    if stat.S_ISDIR(os.fstat(source_fd).st_mode):
        os.makedirs(target, mode=0o755, exist_ok=True)
        return
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if not os.path.lexists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def _bind_back(fd: int, target: str, *, read_only: bool) -> None:
    _mount_point_for(fd, target)
    mounts.bind(f"/proc/self/fd/{fd}", target)
    if read_only:
        mounts.remount_read_only(target)


def read_only_tree(root: str | Sequence[str], *, skip: Iterable[str] = ()) -> list[str]:
    """Make every mount at or beneath ``root`` (a path, or several) read-only, but those at
    or beneath ``skip``; the failures, one line each. (One reading of mountinfo, which the
    kernel writes out anew each time: the slow part.)"""
    roots = (root,) if isinstance(root, str) else tuple(root)
    skipped = tuple(skip)
    failures: list[str] = []
    for point in mounts.mount_points():
        if point.read_only or not _beneath(point.path, roots):
            continue
        if skipped and _beneath(point.path, skipped):
            continue
        try:
            mounts.remount_read_only(point.path)
        except (KernelError, OSError) as error:
            failures.append(f"{point.path}: {error.strerror}")
    return failures


def _proc(plan: SandboxPlan, notes: list[str]) -> None:
    if plan.pid_namespace:
        mounts.mount("proc", "/proc", "proc", _FLAGS | mounts.MS_NOEXEC)
    present = [path for path in PROC_READ_ONLY if os.path.exists(path)]
    for path in present:
        mounts.bind(path, path)
    failures = read_only_tree(present)
    if failures:
        raise KernelError("remount(/proc/sys..., ro)", 1, "; ".join(failures))
    for path in PROC_MASKED:
        if not os.path.exists(path):
            continue
        try:
            if os.path.isdir(path):
                mounts.mount("tmpfs", path, "tmpfs", _FLAGS | mounts.MS_RDONLY, "size=4k,mode=555")
            else:
                mounts.bind("/dev/null", path, recursive=False)
        except KernelError as error:
            notes.append(f"mounts: {path} stays visible: {error.strerror}")


def _dev(plan: SandboxPlan, held: dict[str, int]) -> None:
    mounts.mount("tmpfs", "/dev", "tmpfs", _FLAGS | mounts.MS_NOEXEC, "mode=755,size=64k")
    for name in DEVICES:
        fd = held.get(f"/dev/{name}")
        if fd is not None:
            _bind_back(fd, f"/dev/{name}", read_only=False)
    os.mkdir("/dev/pts", 0o755)
    mounts.mount("devpts", "/dev/pts", "devpts", mounts.MS_NOSUID | mounts.MS_NOEXEC,
                 "newinstance,ptmxmode=0666,mode=620")  # fmt: skip
    os.symlink("pts/ptmx", "/dev/ptmx")
    os.mkdir("/dev/shm", 0o1777)
    mounts.mount("tmpfs", "/dev/shm", "tmpfs", _FLAGS, "mode=1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, f"/dev/{name}")
    for path in _outermost_first([*plan.writable, *plan.read_only]):
        fd = held.get(path)
        if fd is not None and _beneath(path, ("/dev",)) and path not in ("/dev/shm", "/dev/pts"):
            _bind_back(fd, path, read_only=path in plan.read_only)


def _private_directories(plan: SandboxPlan, held: dict[str, int], shared: set[str]) -> None:
    for directory in PRIVATE_DIRECTORIES:
        if directory in shared or not os.path.isdir(directory):
            continue
        mode = "1777" if directory == "/tmp" else "755"
        mounts.mount("tmpfs", directory, "tmpfs", _FLAGS, f"mode={mode}")
        if directory == "/run":
            os.mkdir("/run/lock", 0o1777)
        for path in _outermost_first(held):
            if path != directory and _beneath(path, (directory,)):
                _bind_back(held[path], path, read_only=path in plan.read_only)


def _needed_paths(plan: SandboxPlan) -> list[str]:
    """What must be opened before anything is covered."""
    needed = [f"/dev/{name}" for name in DEVICES]
    needed += [p for p in (*plan.writable, *plan.read_only) if _beneath(p, ("/dev",))]
    private = [*PRIVATE_DIRECTORIES]
    needed += [p for p in (*plan.writable, *plan.read_only) if _beneath(p, private)]
    if plan.resolv_conf is not None:
        needed.append(plan.resolv_conf)
    return list(dict.fromkeys(needed))


def set_up(plan: SandboxPlan) -> list[str]:
    """Build the mount namespace described in the module docstring; returns notes.

    Must run in a new mount namespace; raises :class:`KernelError` when a step that the
    sandbox cannot do without fails.
    """
    notes: list[str] = []
    mounts.stop_propagation()
    held: dict[str, int] = {}
    for path in _needed_paths(plan):
        fd = _open_path(path)
        if fd is not None:
            held[path] = fd
    shared = {grant for grant in (*plan.writable, *plan.read_only) if grant in PRIVATE_DIRECTORIES}
    shared &= {os.path.normpath(os.path.join(plan.cwd, p)) for _, p in plan.sandbox.grants()}
    try:
        _proc(plan, notes)
        _dev(plan, held)
        _private_directories(plan, held, shared)
        if plan.resolv_conf is not None and plan.resolv_conf in held:
            _bind_back(held[plan.resolv_conf], plan.resolv_conf, read_only=True)
    finally:
        for fd in held.values():
            os.close(fd)
    private = [d for d in PRIVATE_DIRECTORIES if d not in shared]
    writable = [p for p in plan.writable if not _beneath(p, [*private, "/dev"])]
    # A bind covers the binds made before it beneath its path: the outermost first.
    for path in _outermost_first([*writable, *plan.read_only]):
        if _beneath(path, [*private, "/dev"]):
            continue
        mounts.bind(path, path)
        if path in plan.read_only:
            mounts.remount_read_only(path)
    failures = read_only_tree("/", skip=[*_NEW_TREES, *private, *writable])
    # What a read-only grant in a private directory brought along (its submounts).
    hidden = [p for p in plan.read_only if _beneath(p, [*private, "/dev"])]
    if hidden:
        inner = [p for p in plan.writable if _beneath(p, [*private, "/dev"]) and p not in private]
        failures += read_only_tree(hidden, skip=inner)
    if failures:
        notes.append("mounts: these stay writable (Landlock still applies): " + "; ".join(failures))
    with contextlib.suppress(OSError):
        os.chdir(plan.cwd)
    return notes
