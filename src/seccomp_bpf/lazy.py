"""A package's public names, imported when first used (PEP 562).

Importing :mod:`seccomp_bpf` (as ``seccomp-bpf --version`` and ``--help`` do) then costs
nothing of the library: a name such as ``seccomp_bpf.Policy`` imports its module the first
time it is read, and stays in the package's namespace afterwards. Type checkers read the
package's ``if TYPE_CHECKING:`` imports instead; a test holds the two lists to agree with
``__all__``. It imports nothing of the package, so every layer may use it.
"""

from __future__ import annotations

import sys

# Neither typing nor collections.abc at run time: this module is imported with the package,
# and they cost more than the rest of it (type checkers treat any constant of this name as
# true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, modules: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, which exports the names of each
    module of ``modules`` (module -> its names, separated by spaces)."""
    where = {name: module for module, names in modules.items() for name in names.split()}
    namespace = sys.modules[package].__dict__

    def attribute(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        __import__(module)  # importlib.import_module, without importing importlib
        value = getattr(sys.modules[module], name)
        namespace[name] = value
        return value

    def names() -> list[str]:
        return sorted({*namespace, *where})

    return attribute, names
