"""Which ``system-calls`` tables this interpreter reads, found without importing them.

Compiled programs carry the numbers of the tables they were compiled with: the precompiled
default (:mod:`seccomp_bpf.policies.precompiled`) names their Linux version, and the cache of
compiled programs (:mod:`seccomp_bpf.run.program_cache`) keys on their identity. Apart from
:mod:`.architecture` so that asking costs a confined command's start-up no ABI.
"""

from __future__ import annotations

import os
import sys


def _tables_origin() -> str | None:
    """The ``__init__.py`` of the ``system_calls`` package, found without importing it.

    What ``importlib.util.find_spec`` does for a top-level name (its module's spec when it
    is imported, else the first finder of ``sys.meta_path`` that knows it), without
    importing ``importlib.util``, which costs a confined command's start-up more than the
    search itself."""
    module = sys.modules.get("system_calls")
    if module is not None:
        spec = getattr(module, "__spec__", None)
        return None if spec is None else spec.origin
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec("system_calls", None)
        if spec is not None:
            origin: str | None = spec.origin
            return origin
    return None


def tables_version() -> str:
    """The Linux version the ``system-calls`` tables were generated from (its
    ``linux_version.py``, read without importing the package), or ``-``."""
    origin = _tables_origin()
    if origin is None:
        return "-"
    path = os.path.join(os.path.dirname(origin), "linux_version.py")
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError:
        return "-"
    # linux_version = "7.2.0"
    return text.partition("=")[2].strip().strip("\"'") or "-"


def tables_identity() -> str:
    """Which ``system-calls`` tables this interpreter reads, without importing them: the
    Linux version they were generated from and the identity (device, inode, modification
    time) of the package's files. A program compiled with other tables (after an upgrade,
    or from another environment) is not the one these would give; caches of compiled
    programs key on this."""
    origin = _tables_origin()
    if origin is None:
        return "-"
    facts = [tables_version()]
    for path in (origin, os.path.join(os.path.dirname(origin), "tables")):
        try:
            status = os.stat(path)
        except OSError:
            facts.append("-")
            continue
        facts.append(f"{status.st_dev}:{status.st_ino}:{status.st_mtime_ns}")
    return " ".join(facts)
