/* Escape 9: what container and sandbox escapes have used before (Docker, runc, bubblewrap,
 * minijail advisories): interfaces that bypass or widen past seccomp and the filesystem
 * view, and ways to get capabilities back. Each route stops at the first proof of access and
 * changes nothing outside its own process (chroot and setns happen in the route's own
 * forked process).
 */
#include "escape.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <linux/sched.h>

/* io_uring's operations are not system calls: seccomp never sees them. */
static int io_uring_setup_route(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    int fd = syscall(SYS_io_uring_setup, 4, &params);
    if (fd < 0)
        return blocked("io_uring_setup", errno, "4 entries");
    return escaped("io_uring_setup", "got an io_uring, whose operations seccomp does not see");
}

static int io_uring_setup_i386(void) {
    struct io_uring_params *params = low_memory(4096);
    if (!params)
        return blocked("mmap", errno, "MAP_32BIT");
    uint32_t r = i386_call(I386_IO_URING_SETUP, 4, (uint32_t)(uintptr_t)params, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 io_uring_setup", I386_ERRNO(r), "through int 0x80");
    return escaped("i386 io_uring_setup", "got an io_uring through int 0x80");
}

/* "Shocker" (2014): open_by_handle_at(2) opens any inode of a file system from a handle,
 * whatever the caller's root or mount namespace shows; ext4 handles are guessable (inode 2
 * is the root directory). Needs CAP_DAC_READ_SEARCH. */
static int open_by_handle(void) {
    struct {
        struct file_handle handle;
        unsigned char bytes[128];
    } h;
    int mount_id;
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return blocked("open", errno, "/");
    h.handle.handle_bytes = sizeof h.bytes;
    if (name_to_handle_at(AT_FDCWD, "/", &h.handle, &mount_id, 0) < 0) {
        /* FILEID_INO32_GEN (1): inode 2, generation 0, as Shocker guessed it. */
        uint32_t guessed[2] = {2, 0};
        h.handle.handle_bytes = sizeof guessed;
        h.handle.handle_type = 1;
        memcpy(h.handle.f_handle, guessed, sizeof guessed);
    }
    int fd = syscall(SYS_open_by_handle_at, root, &h.handle, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return blocked("open_by_handle_at", errno, "the root directory's handle");
    return escaped("open_by_handle_at", "opened an inode by its handle");
}

/* A key in this process's own keyring (gone with the process): the key store is reachable. */
static int keyring(void) {
    long key = syscall(SYS_add_key, "user", "seccomp-bpf-escape", "x", 1,
                       KEY_SPEC_PROCESS_KEYRING);
    if (key < 0)
        return blocked("add_key", errno, "user key in the process keyring");
    return escaped("add_key", "added key %ld: the kernel's key store is reachable", key);
}

static int bpf_map(void) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    int fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0)
        return blocked("bpf", errno, "BPF_MAP_CREATE");
    return escaped("bpf", "created a BPF map");
}

static int perf_event(void) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0)
        return blocked("perf_event_open", errno, "software clock of this process");
    return escaped("perf_event_open", "opened a perf event");
}

static unsigned long long effective_caps(void) {
    char status[8192];
    if (read_file("/proc/self/status", status, sizeof status) < 0)
        return 0;
    char *line = strstr(status, "\nCapEff:\t");
    return line ? strtoull(line + 9, NULL, 16) : 0;
}

/* A new user namespace gives every capability over it: mounts, and the kernel code behind
 * them, become reachable (most kernel privilege escalations of recent years start here). */
static int unshare_user(void) {
    if (unshare(CLONE_NEWUSER) < 0)
        return blocked("unshare", errno, "CLONE_NEWUSER");
    return escaped("unshare", "entered a new user namespace (CapEff %016llx there)",
                   effective_caps());
}

static int unshare_user_i386(void) {
    uint32_t r = i386_call(I386_UNSHARE, CLONE_NEWUSER, 0, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 unshare", I386_ERRNO(r), "CLONE_NEWUSER through int 0x80");
    return escaped("i386 unshare", "entered a new user namespace through int 0x80");
}

static int clone_newuser(void) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0)
        return blocked("clone", errno, "CLONE_NEWUSER");
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return escaped("clone", "started a process in a new user namespace");
}

/* i386's clone: clone(flags, newsp, parent_tid, tls, child_tid); newsp 0 keeps the stack. */
static int clone_newuser_i386(void) {
    uint32_t r = i386_call(I386_CLONE, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 clone", I386_ERRNO(r), "CLONE_NEWUSER through int 0x80");
    if (r == 0)
        _exit(0);
    waitpid(r, NULL, 0);
    return escaped("i386 clone", "started a process in a new user namespace through int 0x80");
}

static int clone3_newuser(void) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0)
        return blocked("clone3", errno, "CLONE_NEWUSER");
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return escaped("clone3", "started a process in a new user namespace");
}

static int chroot_route(void) {
    if (chroot(scratch) < 0)
        return blocked("chroot", errno, "%s", scratch);
    return escaped("chroot", "changed root to %s (with a descriptor kept outside, the classic "
                   "chroot escape follows)", scratch);
}

/* pivot_root(2) checks the privilege first (may_mount, fs/namespace.c); a directory that is
 * no mount point then fails with EINVAL or EBUSY: nothing moves. */
static int pivot_root_route(void) {
    if (syscall(SYS_pivot_root, scratch, scratch) == 0)
        return escaped("pivot_root", "pivoted the root to %s", scratch);
    if (errno != EPERM && errno != EACCES)
        return escaped("pivot_root", "pivot_root passed its CAP_SYS_ADMIN check (%s only "
                       "because %s is no mount point)", strerrorname_np(errno), scratch);
    return blocked("pivot_root", errno, "%s", scratch);
}

static int setns_mnt(void) {
    int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "/proc/1/ns/mnt");
    if (setns(fd, CLONE_NEWNS) < 0)
        return blocked("setns", errno, "the mount namespace of pid 1");
    return escaped("setns", "entered the mount namespace of pid 1");
}

/* The kernel's log, with addresses and other processes' messages. */
static int syslog_read(void) {
    static char buffer[4096];
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buffer, sizeof buffer);
    if (n < 0)
        return blocked("syslog", errno, "SYSLOG_ACTION_READ_ALL");
    return escaped("syslog", "read %d bytes of the kernel log", n);
}

/* The mount API of Linux 5.2: a filter that only watches mount(2) misses it. Both calls make
 * nothing visible: the file system context and the detached tree go with the descriptor. */
static int fsopen_route(void) {
    int fd = syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fd < 0)
        return blocked("fsopen", errno, "tmpfs");
    return escaped("fsopen", "got a tmpfs file system context to mount");
}

static int open_tree_route(void) {
    int fd = syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        return blocked("open_tree", errno, "OPEN_TREE_CLONE of /");
    return escaped("open_tree", "cloned the mount tree of / (to mount it elsewhere)");
}

/* Root without capabilities still owns root's files. A hard link (allowed to the owner,
 * fs.protected_hardlinks) puts one under a directory the sandbox may write, where a rule
 * on paths would let it be opened for writing (Landlock answers EXDEV unless its REFER right
 * allows it). The test gives a file of its own (escape-contain --shadow); the link is removed
 * again, and nothing is written. */
static int hardlink_write(void) {
    char link_path[4096];
    snprintf(link_path, sizeof link_path, "%s/escape-link-%d", scratch, getpid());
    if (link(param, link_path) < 0)
        return blocked("link", errno, "%s to %s", param, link_path);
    int fd = open(link_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    int err = errno;
    unlink(link_path);
    if (fd < 0)
        return blocked("open", err, "a hard link to %s for writing", param);
    return escaped("open", "opened %s for writing through a hard link in %s", param, scratch);
}

/* chmod needs no capability from the file's owner, and Landlock has no right for it. The
 * file is the test's own (escape-contain --shadow: root's, mode 0644). */
static int chmod_route(void) {
    if (chmod(param, 0640) < 0)
        return blocked("chmod", errno, "%s", param);
    return escaped("chmod", "changed the mode of root's file %s (a set-user-ID bit would do "
                   "as well)", param);
}

ROUTES(classic) = {
    {"io-uring-setup", io_uring_setup_route, 0},
    {"io-uring-setup-i386", io_uring_setup_i386, 0},
    {"open-by-handle", open_by_handle, 0},
    {"keyring", keyring, 0},
    {"bpf-map", bpf_map, 0},
    {"perf-event", perf_event, 0},
    {"unshare-user", unshare_user, 0},
    {"unshare-user-i386", unshare_user_i386, 0},
    {"clone-newuser", clone_newuser, 0},
    {"clone-newuser-i386", clone_newuser_i386, 0},
    {"clone3-newuser", clone3_newuser, 0},
    {"chroot", chroot_route, 0},
    {"pivot-root", pivot_root_route, 0},
    {"setns-mnt", setns_mnt, 0},
    {"syslog-read", syslog_read, 0},
    {"fsopen", fsopen_route, 0},
    {"open-tree", open_tree_route, 0},
    {"hardlink-write", hardlink_write, 0},
    {"chmod", chmod_route, 0},
    {NULL, NULL, 0},
};
