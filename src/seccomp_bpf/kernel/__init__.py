"""Talk to the kernel: no_new_privs, ``seccomp(2)``, and the seccomp state in ``/proc``.

This package holds the only ctypes code of seccomp-bpf (in ``libc.py``). It builds on
:mod:`seccomp_bpf.bpf` (programs, the validator that explains refusals) and on nothing above.
"""

from seccomp_bpf.kernel.abi import SECCOMP_SYSCALL_NUMBERS, seccomp_syscall_number, syscall_abi
from seccomp_bpf.kernel.prctl import get_no_new_privs, set_dumpable, set_no_new_privs
from seccomp_bpf.kernel.procfs import SeccompMode, filter_count, seccomp_mode
from seccomp_bpf.kernel.seccomp import (
    MAX_INSNS_PER_PATH,
    SECCOMP_FILTER_FLAG_LOG,
    SECCOMP_FILTER_FLAG_NEW_LISTENER,
    SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    SECCOMP_FILTER_FLAG_TSYNC,
    SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
    FilterFlag,
    NotifSizes,
    action_available,
    available_actions,
    install,
    notif_sizes,
    set_mode_filter,
)

__all__ = [
    "MAX_INSNS_PER_PATH",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_NEW_LISTENER",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    "SECCOMP_SYSCALL_NUMBERS",
    "FilterFlag",
    "NotifSizes",
    "SeccompMode",
    "action_available",
    "available_actions",
    "filter_count",
    "get_no_new_privs",
    "install",
    "notif_sizes",
    "seccomp_mode",
    "seccomp_syscall_number",
    "set_dumpable",
    "set_mode_filter",
    "set_no_new_privs",
    "syscall_abi",
]
