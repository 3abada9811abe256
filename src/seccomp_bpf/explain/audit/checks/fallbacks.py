"""SB012 fallback-blocked: a newer call is denied with an error other than ENOSYS while the
older one it replaces is allowed (:data:`FALLBACKS`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from seccomp_bpf.explain.audit.findings import Severity, Sink, undecided
from seccomp_bpf.explain.audit.view import (
    ArchView,
    describe_on,
    is_denial,
    is_permissive,
    refused_on,
)

FALLBACKS: Final[tuple[tuple[str, str], ...]] = (
    ("clone3", "clone"),
    ("faccessat2", "faccessat"),
    ("fchmodat2", "fchmodat"),
    ("statx", "fstatat64"),
    ("clock_gettime64", "clock_gettime"),
    ("clock_settime64", "clock_settime"),
    ("clock_getres_time64", "clock_getres"),
    ("clock_nanosleep_time64", "clock_nanosleep"),
    ("futex_time64", "futex"),
    ("ppoll_time64", "ppoll"),
    ("pselect6_time64", "pselect6"),
    ("recvmmsg_time64", "recvmmsg"),
    ("semtimedop_time64", "semtimedop"),
    ("utimensat_time64", "utimensat"),
    ("timerfd_settime64", "timerfd_settime"),
    ("timerfd_gettime64", "timerfd_gettime"),
    ("timer_settime64", "timer_settime"),
    ("timer_gettime64", "timer_gettime"),
    ("rt_sigtimedwait_time64", "rt_sigtimedwait"),
    ("mq_timedsend_time64", "mq_timedsend"),
    ("mq_timedreceive_time64", "mq_timedreceive"),
    ("sched_rr_get_interval_time64", "sched_rr_get_interval"),
    ("io_pgetevents_time64", "io_pgetevents"),
)
"""``(newer, older)``: glibc tries the newer call and uses the older one only when it fails
with ENOSYS: clone3 (2.34, for threads and posix_spawn), faccessat2 (2.33), fchmodat2 (2.39,
lchmod), statx (fstatat on 32-bit ABIs, 2.33) and the ``*_time64`` calls of 32-bit ABIs (2.32)
when built for kernels older than 5.1."""


def check_fallbacks(views: Sequence[ArchView], sink: Sink) -> None:
    """SB012."""
    for view in views:
        arch = view.arch
        for newer, older in FALLBACKS:
            new_nr, old_nr = view.number(newer), view.number(older)
            if new_nr is None or old_nr is None:
                continue
            with undecided(sink, f"{arch.name}: {newer}"):
                if not view.every(new_nr, refused_on(arch)):
                    continue
                if view.first(old_nr, is_permissive) is None:
                    continue
                denial = view.first(new_nr, is_denial)
                assert denial is not None
                sink.add(
                    "SB012",
                    Severity.LOW,
                    f"{newer} is denied with {describe_on(denial.action, arch)}"
                    f"{sink.by(denial)} while {older} is allowed: C libraries fall back from "
                    f"{newer} to {older} only when it fails with ENOSYS",
                    (arch,),
                    syscall=newer,
                    rule=denial.rule_index,
                )
