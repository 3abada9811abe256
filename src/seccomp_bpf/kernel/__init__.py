"""Talk to the kernel: one small module per kernel interface (``seccomp(2)``, ``prctl``,
``ptrace``, pidfds, user notifications, Landlock, capabilities, namespaces, mounts, the
network, the seccomp state in ``/proc``), and the processes a command is started in
(:mod:`.child`, :mod:`.notified_child`). What this module exports: no_new_privs,
``seccomp(2)`` and the seccomp state in ``/proc``.

ctypes is used in this package and nowhere else in seccomp-bpf (a test holds to it):

- :mod:`.libc` opens the C library and declares, with argument and return types, every
  function of it that seccomp-bpf calls: ``syscall``, ``prctl``, ``unshare``, ``mount``,
  ``capget``, ``capset`` and ``ptrace``;
- :mod:`.compat` calls a few bytes of machine code (its ``int 0x80`` stub) through a ctypes
  function pointer;
- the others (:mod:`.capabilities`, :mod:`.landlock`, :mod:`.notify`, :mod:`.notify_stream`,
  :mod:`.prctl`, :mod:`.ptrace`, :mod:`.tracer`) only lay the kernel's structures out with
  ctypes, pass their addresses, and read ``errno``.

It builds on :mod:`seccomp_bpf.bpf` (programs, the validator that explains refusals, the
actions of a return value) and :mod:`seccomp_bpf.arch` (the ABI of a call), and on nothing
above them.
"""

from seccomp_bpf.lazy import lazy_exports

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module
if TYPE_CHECKING:
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

# Read on first use (seccomp_bpf.lazy): the start-up of a confined command loads only the
# interfaces it calls.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "seccomp_bpf.kernel.abi": "SECCOMP_SYSCALL_NUMBERS seccomp_syscall_number syscall_abi",
        "seccomp_bpf.kernel.prctl": "get_no_new_privs set_dumpable set_no_new_privs",
        "seccomp_bpf.kernel.procfs": "SeccompMode filter_count seccomp_mode",
        "seccomp_bpf.kernel.seccomp": (
            "MAX_INSNS_PER_PATH SECCOMP_FILTER_FLAG_LOG SECCOMP_FILTER_FLAG_NEW_LISTENER "
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW SECCOMP_FILTER_FLAG_TSYNC "
            "SECCOMP_FILTER_FLAG_TSYNC_ESRCH SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV FilterFlag "
            "NotifSizes action_available available_actions install notif_sizes set_mode_filter"
        ),
    },
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
