"""Named groups of system calls, for writing policies by purpose rather than name by name.

A group is written ``@name`` in a YAML policy (``names: ["@network", read]``) and is a tuple
of names in Python (``groups.NETWORK``). A group lists a call under every name it has on any
architecture (``stat``, ``stat64``, ``newfstatat``, ``fstatat64``...), so a policy uses only
the members its architectures have: the YAML reader drops the others, and Python code passes
a group through :func:`select` with the policy's architectures.

The membership follows the purpose of each call, in the spirit of systemd's ``@groups``
(``SystemCallFilter=`` in ``systemd.exec(5)``), with our own lists. ``seccomp-bpf policy
groups`` prints every group with its members; ``docs/groups.md`` is the same text, generated
by :func:`groups_markdown` (a test keeps them equal).

Groups are data, not security decisions: the built-in default policy
(:mod:`seccomp_bpf.policies.default`) says which it allows and which it denies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from seccomp_bpf.arch import Arch, get_arch
from seccomp_bpf.errors import PolicyError
from seccomp_bpf.policy.resolution import name_is_on


@dataclass(frozen=True, slots=True)
class SyscallGroup:
    """A named group: what it is for, and its members (sorted, without duplicates)."""

    name: str
    description: str
    members: tuple[str, ...]

    @property
    def token(self) -> str:
        """How a policy file names the group: ``@network``."""
        return "@" + self.name


_DEFINITIONS: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "basic-io",
        "Read, write, duplicate and close file descriptors; move their offsets; move data "
        "between them; control devices (ioctl)",
        """
        read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2
        lseek _llseek close close_range dup dup2 dup3
        sendfile sendfile64 splice tee vmsplice copy_file_range ioctl
        """,
    ),
    (
        "file-system",
        "Open, create, inspect, change, watch and remove files and directories",
        """
        open openat openat2 creat access faccessat faccessat2
        stat lstat fstat newfstatat stat64 lstat64 fstat64 fstatat64 statx
        oldstat oldlstat oldfstat statfs fstatfs statfs64 fstatfs64
        chdir fchdir getcwd mkdir mkdirat rmdir mknod mknodat
        rename renameat renameat2 link linkat symlink symlinkat unlink unlinkat
        readlink readlinkat chmod fchmod fchmodat fchmodat2
        chown fchown lchown fchownat chown32 fchown32 lchown32 umask
        truncate ftruncate truncate64 ftruncate64 fallocate
        fadvise64 fadvise64_64 arm_fadvise64_64 readahead cachestat
        getdents getdents64 readdir utime utimes utimensat utimensat_time64 futimesat
        fcntl fcntl64 flock name_to_handle_at fanotify_mark
        getxattr lgetxattr fgetxattr getxattrat setxattr lsetxattr fsetxattr setxattrat
        listxattr llistxattr flistxattr listxattrat
        removexattr lremovexattr fremovexattr removexattrat
        inotify_init inotify_init1 inotify_add_watch inotify_rm_watch
        """,
    ),
    (
        "sync",
        "Write cached file data to storage",
        """
        fsync fdatasync sync syncfs sync_file_range sync_file_range2
        """,
    ),
    (
        "io-event",
        "Wait for events on file descriptors: poll, select, epoll, eventfd",
        """
        poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64
        epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2
        epoll_ctl_old epoll_wait_old eventfd eventfd2
        """,
    ),
    (
        "aio",
        "Linux asynchronous I/O (io_setup and friends; io_uring is a group of its own)",
        """
        io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents
        io_pgetevents_time64
        """,
    ),
    (
        "io-uring",
        "io_uring: its operations run in the kernel without passing through seccomp",
        """
        io_uring_setup io_uring_enter io_uring_register
        """,
    ),
    (
        "network",
        "Sockets: create, connect, listen, send and receive (socketcall multiplexes them "
        "on some 32-bit ABIs)",
        """
        socket socketpair bind listen accept accept4 connect shutdown
        getsockname getpeername getsockopt setsockopt
        send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64
        socketcall
        """,
    ),
    (
        "ipc",
        "Pipes, memory files, SysV IPC (ipc multiplexes it on some ABIs) and POSIX message queues",
        """
        pipe pipe2 memfd_create
        msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl
        shmget shmat shmdt shmctl ipc
        mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive
        mq_timedreceive_time64 mq_notify mq_getsetattr
        """,
    ),
    (
        "process",
        "Create, run, wait for and signal processes and threads; thread-local storage; "
        "futexes; process attributes",
        """
        fork vfork clone clone3 execve execveat exit exit_group
        wait4 waitid waitpid kill tkill tgkill pidfd_open pidfd_send_signal process_mrelease
        getpid getppid gettid getpgid setpgid getpgrp getsid setsid set_tid_address
        prctl arch_prctl personality set_thread_area get_thread_area set_tls get_tls
        set_robust_list get_robust_list rseq restart_syscall uretprobe
        futex futex_time64 futex_waitv futex_wake futex_wait futex_requeue
        """,
    ),
    (
        "signals",
        "Handle, block, wait for and return from signals",
        """
        rt_sigaction rt_sigprocmask rt_sigreturn rt_sigsuspend rt_sigpending
        rt_sigtimedwait rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo
        sigaction signal sigprocmask sigreturn sigsuspend sigpending sigaltstack
        signalfd signalfd4 pause
        """,
    ),
    (
        "memory",
        "Map, protect, advise and lock the process's own memory",
        """
        brk mmap mmap2 munmap mremap mprotect pkey_mprotect pkey_alloc pkey_free
        madvise mincore msync mlock mlock2 mlockall munlock munlockall membarrier
        remap_file_pages mseal map_shadow_stack memfd_secret cacheflush riscv_flush_icache
        """,
    ),
    (
        "time",
        "Read clocks, sleep, and set timers and alarms (setting the clock is @clock)",
        """
        time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64
        nanosleep clock_nanosleep clock_nanosleep_time64 alarm getitimer setitimer
        timer_create timer_delete timer_gettime timer_gettime64 timer_settime
        timer_settime64 timer_getoverrun timerfd_create timerfd_gettime timerfd_gettime64
        timerfd_settime timerfd_settime64 times
        """,
    ),
    (
        "scheduling",
        "CPU and I/O scheduling: priorities, policies, affinity, yielding",
        """
        sched_yield sched_getaffinity sched_setaffinity sched_getparam sched_setparam
        sched_getscheduler sched_setscheduler sched_get_priority_max sched_get_priority_min
        sched_rr_get_interval sched_rr_get_interval_time64 sched_getattr sched_setattr
        getpriority setpriority nice ioprio_get ioprio_set
        """,
    ),
    (
        "resource-limits",
        "Read and set resource limits, and read resource usage",
        """
        getrlimit setrlimit ugetrlimit prlimit64 getrusage
        """,
    ),
    (
        "system-info",
        "Ask about the system: kernel name and version, load, CPU, mounts, random bytes",
        """
        uname olduname oldolduname sysinfo getcpu getrandom riscv_hwprobe
        listmount statmount
        """,
    ),
    (
        "credentials",
        "Read the process's user and group ids and capabilities",
        """
        getuid geteuid getgid getegid getresuid getresgid getgroups
        getuid32 geteuid32 getgid32 getegid32 getresuid32 getresgid32 getgroups32 capget
        """,
    ),
    (
        "setuid",
        "Change the process's user and group ids and capabilities (the kernel asks for "
        "privileges itself)",
        """
        setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups
        setuid32 setgid32 setreuid32 setregid32 setresuid32 setresgid32 setfsuid32
        setfsgid32 setgroups32 capset
        """,
    ),
    (
        "sandbox",
        "Confine the process further: seccomp filters and Landlock rule sets",
        """
        seccomp landlock_create_ruleset landlock_add_rule landlock_restrict_self
        """,
    ),
    (
        "namespaces",
        "Enter or create namespaces (clone's CLONE_NEW* flags are a condition on clone)",
        """
        unshare setns
        """,
    ),
    (
        "mount",
        "Mount, unmount and change the root directory",
        """
        mount umount umount2 fsopen fsconfig fsmount fspick move_mount open_tree
        open_tree_attr mount_setattr pivot_root chroot
        """,
    ),
    (
        "module",
        "Load and unload kernel modules",
        """
        init_module finit_module delete_module
        """,
    ),
    (
        "reboot",
        "Reboot, and load a new kernel to boot",
        """
        reboot kexec_load kexec_file_load
        """,
    ),
    (
        "swap",
        "Turn swap devices on and off",
        """
        swapon swapoff
        """,
    ),
    (
        "clock",
        "Set or tune the system clock",
        """
        settimeofday stime clock_settime clock_settime64 adjtimex clock_adjtime
        clock_adjtime64
        """,
    ),
    (
        "raw-io",
        "Raw access to I/O ports and PCI configuration",
        """
        iopl ioperm pciconfig_read pciconfig_write pciconfig_iobase
        s390_pci_mmio_read s390_pci_mmio_write
        """,
    ),
    (
        "keyring",
        "The kernel's key retention service",
        """
        add_key request_key keyctl
        """,
    ),
    (
        "debug",
        "Inspect or change other processes, and performance monitoring",
        """
        ptrace process_vm_readv process_vm_writev pidfd_getfd kcmp process_madvise
        perf_event_open lookup_dcookie s390_runtime_instr
        """,
    ),
    (
        "cpu-emulation",
        "Old CPU modes and segment tables",
        """
        modify_ldt vm86 vm86old subpage_prot switch_endian
        """,
    ),
    (
        "privileged",
        "Administration that needs capabilities: every call of @mount, @module, @reboot, "
        "@swap, @clock and @raw-io, and more",
        """
        @mount @module @reboot @swap @clock @raw-io
        acct bpf quotactl quotactl_fd sethostname setdomainname vhangup open_by_handle_at
        syslog fanotify_init userfaultfd
        lsm_get_self_attr lsm_set_self_attr lsm_list_modules
        get_mempolicy set_mempolicy set_mempolicy_home_node mbind migrate_pages move_pages
        """,
    ),
    (
        "obsolete",
        "Old interfaces that newer calls replaced",
        """
        sgetmask ssetmask sysfs ustat
        """,
    ),
)


def _build(definitions: tuple[tuple[str, str, str], ...]) -> dict[str, SyscallGroup]:
    """Groups by name; ``@other`` in a member list stands for the members of a group
    defined before it."""
    built: dict[str, SyscallGroup] = {}
    for name, description, text in definitions:
        members: list[str] = []
        for word in text.split():
            if word.startswith("@"):
                members.extend(built[word[1:]].members)
            else:
                members.append(word)
        built[name] = SyscallGroup(name, description, tuple(sorted(set(members))))
    return built


GROUPS: Final[Mapping[str, SyscallGroup]] = MappingProxyType(_build(_DEFINITIONS))
"""Every group by name (without the ``@``), in the order they are documented."""

BASIC_IO: Final = GROUPS["basic-io"].members
FILE_SYSTEM: Final = GROUPS["file-system"].members
SYNC: Final = GROUPS["sync"].members
IO_EVENT: Final = GROUPS["io-event"].members
AIO: Final = GROUPS["aio"].members
IO_URING: Final = GROUPS["io-uring"].members
NETWORK: Final = GROUPS["network"].members
IPC: Final = GROUPS["ipc"].members
PROCESS: Final = GROUPS["process"].members
SIGNALS: Final = GROUPS["signals"].members
MEMORY: Final = GROUPS["memory"].members
TIME: Final = GROUPS["time"].members
SCHEDULING: Final = GROUPS["scheduling"].members
RESOURCE_LIMITS: Final = GROUPS["resource-limits"].members
SYSTEM_INFO: Final = GROUPS["system-info"].members
CREDENTIALS: Final = GROUPS["credentials"].members
SETUID: Final = GROUPS["setuid"].members
SANDBOX: Final = GROUPS["sandbox"].members
NAMESPACES: Final = GROUPS["namespaces"].members
MOUNT: Final = GROUPS["mount"].members
MODULE: Final = GROUPS["module"].members
REBOOT: Final = GROUPS["reboot"].members
SWAP: Final = GROUPS["swap"].members
CLOCK: Final = GROUPS["clock"].members
RAW_IO: Final = GROUPS["raw-io"].members
KEYRING: Final = GROUPS["keyring"].members
DEBUG: Final = GROUPS["debug"].members
CPU_EMULATION: Final = GROUPS["cpu-emulation"].members
PRIVILEGED: Final = GROUPS["privileged"].members
OBSOLETE: Final = GROUPS["obsolete"].members


def get_group(name: str) -> SyscallGroup:
    """The group called ``name`` (with or without the leading ``@``); PolicyError if none."""
    key = name[1:] if name.startswith("@") else name
    group = GROUPS.get(key)
    if group is None:
        import difflib

        close = difflib.get_close_matches(key, list(GROUPS), n=1)
        hint = f"; did you mean @{close[0]}?" if close else ""
        raise PolicyError(
            f"unknown group @{key}{hint} (groups: {', '.join('@' + g for g in GROUPS)})"
        )
    return group


def select(names: Iterable[str], arches: Iterable[Arch | str] = ("native",)) -> tuple[str, ...]:
    """The names that at least one of ``arches`` has (directly or through a multiplexer),
    in their order: what a policy for ``arches`` may list. ``@group`` items are expanded."""
    resolved = [arch if isinstance(arch, Arch) else get_arch(arch) for arch in arches]
    chosen: dict[str, None] = {}
    for name in names:
        members = get_group(name).members if name.startswith("@") else (name,)
        for member in members:
            if any(name_is_on(arch, member) for arch in resolved):
                chosen[member] = None
    return tuple(chosen)


def groups_markdown() -> str:
    """Every group and its members, as the Markdown of ``docs/groups.md``."""
    lines = [
        "# System call groups",
        "",
        'Write `@NAME` in a YAML policy\'s `names` (`names: ["@network", read]`) or use',
        "`seccomp_bpf.policies.groups.NAME` in Python. A group lists a call under every name it",
        "has on any architecture; a policy uses the members its architectures have.",
        "This file is generated: `seccomp-bpf policy groups --markdown > docs/groups.md`.",
        "",
    ]
    for group in GROUPS.values():
        lines += [
            f"## @{group.name}",
            "",
            group.description + ".",
            "",
            ", ".join(f"`{member}`" for member in group.members),
            "",
        ]
    return "\n".join(lines)


def groups_text(names: Iterable[str] = ()) -> str:
    """The groups called ``names`` (every group when empty) for a terminal: ``@name:
    description`` then the members, indented."""
    import textwrap

    chosen = [get_group(name) for name in names] or list(GROUPS.values())
    lines: list[str] = []
    for group in chosen:
        lines.append(f"@{group.name}: {group.description}")
        lines.extend(
            textwrap.wrap(
                " ".join(group.members),
                width=96,
                initial_indent="    ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)
