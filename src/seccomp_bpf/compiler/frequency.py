"""Frequency profiles: how often each system call is made, per architecture.

The compiler uses them to put frequent calls near the root of its search tree. Accepted JSON:

- ``{"arches": {"x86_64": {"read": 120, "write": 80}}}`` — what ``seccomp-bpf profile`` writes;
- ``{"x86_64": {"read": 120}}`` — the same without the wrapper;
- ``{"arch": "x86_64", "syscalls": {"read": 120}}``;
- ``{"mix": {"read": 0.12}}`` or ``{"read": 120}`` — for the native architecture
  (``"mix"`` is the key of measured syscall-mix files such as ``syscall-mix-x86_64.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from seccomp_bpf.arch import get_arch, native_arch
from seccomp_bpf.errors import PolicyError, UnknownArchError

FrequencyProfile = Mapping[str, Mapping[str, float]]


def _counts(value: object, where: str, source: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where} must map system call names to counts", source=source)
    out: dict[str, float] = {}
    for name, count in value.items():
        if not isinstance(count, int | float) or isinstance(count, bool) or count < 0:
            raise PolicyError(
                f"{where}.{name}: the count must be a non-negative number, not {count!r}",
                source=source,
            )
        out[str(name)] = float(count)
    return out


def parse_frequency(data: object, *, source: str = "<frequency>") -> dict[str, dict[str, float]]:
    """Normalise any accepted shape to ``{arch name: {syscall name: count}}``."""
    if not isinstance(data, dict):
        raise PolicyError("a frequency profile must be a JSON object", source=source)
    if "arches" in data:
        arches = data["arches"]
        if not isinstance(arches, dict):
            raise PolicyError("'arches' must map architecture names to counts", source=source)
        return {_arch_name(name, source): _counts(v, name, source) for name, v in arches.items()}
    if "syscalls" in data:
        arch = _arch_name(str(data.get("arch", "native")), source)
        return {arch: _counts(data["syscalls"], "syscalls", source)}
    if "mix" in data:
        arch = _arch_name(str(data.get("arch", "native")), source)
        return {arch: _counts(data["mix"], "mix", source)}
    if data and all(isinstance(v, dict) for v in data.values()):
        return {_arch_name(name, source): _counts(v, name, source) for name, v in data.items()}
    return {native_arch().name: _counts(data, "profile", source)}


def _arch_name(name: str, source: str) -> str:
    try:
        return get_arch(name).name
    except UnknownArchError as error:
        raise PolicyError(str(error), source=source) from error


def load_frequency(path: str | Path) -> dict[str, dict[str, float]]:
    """Read a frequency profile file (JSON, see the module docstring); a file that is not
    UTF-8 JSON raises :class:`PolicyError` naming where it is not."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = error.start
        raise PolicyError(
            "not a frequency profile: the file is not UTF-8 text (JSON, as `seccomp-bpf "
            "profile --frequency` writes it)",
            source=str(path),
            line=data.count(b"\n", 0, start) + 1,
            column=start - data.rfind(b"\n", 0, start),
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise PolicyError(
            error.msg, source=str(path), line=error.lineno, column=error.colno
        ) from error
    return parse_frequency(cast(object, data), source=str(path))
