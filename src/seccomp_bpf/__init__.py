"""seccomp-bpf: write, compile, install, profile and inspect seccomp-BPF filters in pure Python."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
