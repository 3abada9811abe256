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
STRACE_C_I386: Final = DATA / "strace-c-i386.txt"
"""strace -c -f of a shell running a 32-bit program: two tables (64 bit, 32 bit mode)."""
STRACE_F_I386: Final = DATA / "strace-f-i386.txt"
"""strace -f -i of the same (standard error: [pid N] prefixes, the personality line)."""
STRACE_F_O_I386: Final = DATA / "strace-f-o-i386.txt"
"""strace -f -o FILE of the same (N prefixes, no personality line)."""
