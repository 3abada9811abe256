"""The data files the tests read, kept in ``tests/data`` (its README says where each comes
from and under which licence)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

DATA: Final = Path(__file__).parent / "data"
DOCKER_DEFAULT: Final = DATA / "docker-default.json"
"""Docker's default seccomp profile (moby/profiles, Apache-2.0)."""
SYSCALL_MIX_X86_64: Final = DATA / "syscall-mix-x86_64.json"
"""System call counts of five workloads on x86_64."""
