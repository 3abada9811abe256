"""``arch.table_source``: which system-calls tables this interpreter reads, found as
``importlib.util.find_spec`` finds them, without importing them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from seccomp_bpf.arch.table_source import _tables_origin, tables_identity, tables_version


def test_the_origin_is_what_find_spec_finds() -> None:
    spec = importlib.util.find_spec("system_calls")
    assert spec is not None
    assert _tables_origin() == spec.origin


def test_asking_imports_neither_the_tables_nor_importlib_util() -> None:
    code = (
        "import sys\n"
        "from seccomp_bpf.arch.table_source import tables_identity, tables_version\n"
        "assert tables_version() != '-' and tables_identity() != '-'\n"
        "names = ('system_calls', 'importlib.util')\n"
        "print(sorted(m for m in sys.modules if m.startswith(names)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_version_is_the_tables_own() -> None:
    from system_calls import linux_version  # the package's own: "7.2.0"

    assert tables_version() == str(linux_version)
    assert tables_identity().split()[0] == tables_version()
