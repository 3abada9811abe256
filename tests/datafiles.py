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
AUDIT_KMSG: Final = DATA / "seccomp-audit.kmsg"
"""Seccomp audit records read from /dev/kmsg (LOG on x86_64, i386 and x32; errno logged)."""
AUDIT_DMESG: Final = DATA / "seccomp-audit.dmesg"
"""The same kind of records as dmesg prints them, with kills and an unknown return value."""
AUDIT_LOG: Final = DATA / "seccomp-audit.log"
"""The records as auditd writes them to /var/log/audit/audit.log (enriched format)."""
AUDIT_JOURNAL: Final = DATA / "seccomp-audit.journal"
"""The records as journalctl -k prints them."""
