/* Escape 1: another process's memory, descriptors and secrets.
 *
 * The victim (escape-victim, outside the sandbox, same uid) holds the string "CANARY..." at
 * -a ADDR, an unlinked file holding "SECRET-<token>" at descriptor -f FD, ESCAPE_SECRET=<token>
 * in its environment and <token> on its command line.
 */
#include "escape.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>

static const char payload[] = "PWNED!!";

static int write_mem_file(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s", path);
    ssize_t n = pwrite(fd, payload, sizeof payload - 1, victim_addr);
    if (n < 0)
        return blocked("pwrite", errno, "%s at %#lx", path, victim_addr);
    return escaped("pwrite", "wrote %zd bytes into process %d through %s", n, victim_pid, path);
}

static int proc_mem_write(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", victim_pid);
    return write_mem_file(path);
}

static int task_mem_write(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/mem", victim_pid, victim_pid);
    return write_mem_file(path);
}

static int proc_mem_read(void) {
    char path[64], buffer[16] = {0};
    snprintf(path, sizeof path, "/proc/%d/mem", victim_pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s", path);
    ssize_t n = pread(fd, buffer, 6, victim_addr);
    if (n < 0)
        return blocked("pread", errno, "%s", path);
    if (n == 6 && memcmp(buffer, "CANARY", 6) == 0)
        return escaped("pread", "read the victim's canary through %s", path);
    return nothing("pread", "read %zd bytes that are not the canary", n);
}

static int process_vm_writev_route(void) {
    struct iovec local = {(void *)payload, sizeof payload - 1};
    struct iovec remote = {(void *)victim_addr, sizeof payload - 1};
    long n = syscall(SYS_process_vm_writev, victim_pid, &local, 1, &remote, 1, 0);
    if (n < 0)
        return blocked("process_vm_writev", errno, "pid %d", victim_pid);
    return escaped("process_vm_writev", "wrote %ld bytes into process %d", n, victim_pid);
}

static int process_vm_readv_route(void) {
    char buffer[8] = {0};
    struct iovec local = {buffer, 6};
    struct iovec remote = {(void *)victim_addr, 6};
    long n = syscall(SYS_process_vm_readv, victim_pid, &local, 1, &remote, 1, 0);
    if (n < 0)
        return blocked("process_vm_readv", errno, "pid %d", victim_pid);
    if (memcmp(buffer, "CANARY", 6) == 0)
        return escaped("process_vm_readv", "read the victim's canary");
    return nothing("process_vm_readv", "read %ld bytes that are not the canary", n);
}

static long poke_word(void) {
    long word;
    memcpy(&word, payload, sizeof word);
    return word;
}

/* Once the victim is traced and stopped: write its canary, let it go, say so. */
static int poke_and_detach(const char *step) {
    int status;
    waitpid(victim_pid, &status, __WALL);
    errno = 0;
    long poked = ptrace(PTRACE_POKEDATA, victim_pid, victim_addr, poke_word());
    int err = errno;
    ptrace(PTRACE_DETACH, victim_pid, 0, 0);
    return escaped(step, "traced process %d; POKEDATA %s", victim_pid,
                   poked < 0 ? strerrorname_np(err) : "wrote its canary");
}

static int ptrace_attach_poke(void) {
    if (ptrace(PTRACE_ATTACH, victim_pid, 0, 0) < 0)
        return blocked("PTRACE_ATTACH", errno, "pid %d", victim_pid);
    return poke_and_detach("PTRACE_ATTACH");
}

static int ptrace_seize_poke(void) {
    if (ptrace(PTRACE_SEIZE, victim_pid, 0, 0) < 0)
        return blocked("PTRACE_SEIZE", errno, "pid %d", victim_pid);
    if (ptrace(PTRACE_INTERRUPT, victim_pid, 0, 0) < 0)
        return escaped("PTRACE_SEIZE", "seized process %d (PTRACE_INTERRUPT: %s)", victim_pid,
                       strerrorname_np(errno));
    return poke_and_detach("PTRACE_SEIZE");
}

/* <uapi/linux/ptrace.h>: PTRACE_ATTACH 16, PTRACE_DETACH 17, the same numbers on i386. */
static int ptrace_attach_i386(void) {
    uint32_t r = i386_call(I386_PTRACE, PTRACE_ATTACH, victim_pid, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 ptrace", I386_ERRNO(r), "PTRACE_ATTACH pid %d", victim_pid);
    int status;
    waitpid(victim_pid, &status, __WALL);
    i386_call(I386_PTRACE, PTRACE_DETACH, victim_pid, 0, 0, 0, 0);
    return escaped("i386 ptrace", "attached to process %d through int 0x80", victim_pid);
}

static int read_secret_from(int fd, const char *how) {
    char buffer[256];
    ssize_t n = pread(fd, buffer, sizeof buffer, 0);
    if (n < 0)
        return blocked("pread", errno, "%s", how);
    char secret[128];
    snprintf(secret, sizeof secret, "SECRET-%s", token);
    if (contains(buffer, n, secret))
        return escaped("pread", "read the victim's secret file through %s", how);
    return nothing("pread", "%s gave %zd bytes without the secret", how, n);
}

static int fd_reopen_read(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", victim_pid, victim_fd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s", path);
    return read_secret_from(fd, path);
}

static int fd_reopen_write(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", victim_pid, victim_fd);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s for writing", path);
    return escaped("open", "opened the victim's unlinked file for writing through %s", path);
}

static int pidfd_getfd_route(void) {
    int pidfd = syscall(SYS_pidfd_open, victim_pid, 0);
    if (pidfd < 0)
        return blocked("pidfd_open", errno, "pid %d", victim_pid);
    int fd = syscall(SYS_pidfd_getfd, pidfd, victim_fd, 0);
    if (fd < 0)
        return blocked("pidfd_getfd", errno, "descriptor %d of pid %d", victim_fd, victim_pid);
    return read_secret_from(fd, "pidfd_getfd");
}

static int find_in_proc_file(const char *file, const char *needle, const char *what) {
    char path[64], buffer[65536];
    snprintf(path, sizeof path, "/proc/%d/%s", victim_pid, file);
    ssize_t n = read_file(path, buffer, sizeof buffer);
    if (n < 0)
        return blocked("read", errno, "%s", path);
    if (contains(buffer, n, needle))
        return escaped("read", "%s shows the victim's %s", path, what);
    return nothing("read", "%s (%zd bytes) does not show the victim's %s", path, n, what);
}

static int proc_environ(void) {
    char needle[128];
    snprintf(needle, sizeof needle, "ESCAPE_SECRET=%s", token);
    return find_in_proc_file("environ", needle, "environment");
}

static int proc_cmdline(void) {
    return find_in_proc_file("cmdline", token, "command line");
}

static int proc_maps(void) {
    return find_in_proc_file("maps", "escape-victim", "memory map");
}

static int proc_visible(void) {
    pid_t pids[65536];
    int count = visible_pids(pids, 65536);
    for (int i = 0; i < count; i++) {
        char path[64], comm[64];
        snprintf(path, sizeof path, "/proc/%d/comm", pids[i]);
        if (read_file(path, comm, sizeof comm) > 0 && strcmp(comm, "escape-victim\n") == 0)
            return escaped("readdir", "process %d outside the sandbox (escape-victim) is in "
                           "/proc, among %d visible", pids[i], count);
    }
    return nothing("readdir", "the victim is not among the %d processes in /proc", count);
}

static int kcmp_route(void) {
    long r = syscall(SYS_kcmp, getpid(), victim_pid, KCMP_FILE, 0, 0);
    if (r < 0)
        return blocked("kcmp", errno, "pid %d", victim_pid);
    return escaped("kcmp", "compared descriptors with process %d: %ld", victim_pid, r);
}

static int get_robust_list_route(void) {
    void *head = NULL;
    size_t length = 0;
    if (syscall(SYS_get_robust_list, victim_pid, &head, &length) < 0)
        return blocked("get_robust_list", errno, "pid %d", victim_pid);
    return escaped("get_robust_list", "read process %d's robust list head %p (an address "
                   "of its memory layout)", victim_pid, head);
}

/* Any process this one can see that runs without a seccomp filter ("Seccomp: 0" in
 * /proc/PID/status, proc(5)) and whose memory it may open for writing: rewriting it would
 * run code outside the filter. The sandbox's own helpers count as much as outside ones. */
static int unconfined_neighbour(void) {
    pid_t pids[65536];
    int count = visible_pids(pids, 65536);
    int unconfined = 0, last_error = 0;
    pid_t self = getpid(), parent = getppid();
    for (int i = 0; i < count; i++) {
        if (pids[i] == self || pids[i] == parent)
            continue; /* the runner: confined like this process */
        char path[64], status[8192];
        snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
        if (read_file(path, status, sizeof status) < 0)
            continue;
        char *line = strstr(status, "\nSeccomp:\t");
        if (!line || line[10] != '0')
            continue;
        unconfined++;
        snprintf(path, sizeof path, "/proc/%d/mem", pids[i]);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            char comm[64] = "?";
            char comm_path[64];
            snprintf(comm_path, sizeof comm_path, "/proc/%d/comm", pids[i]);
            read_file(comm_path, comm, sizeof comm);
            comm[strcspn(comm, "\n")] = 0;
            return escaped("open", "opened %s for writing: process %d (%s) has no seccomp "
                           "filter", path, pids[i], comm);
        }
        last_error = errno;
    }
    if (!unconfined)
        return nothing("scan", "no process without a filter among the %d visible", count);
    return blocked("open", last_error, "%d unconfined processes visible, none of their "
                   "memory could be opened", unconfined);
}

ROUTES(memory) = {
    {"proc-mem-write", proc_mem_write, 0},
    {"task-mem-write", task_mem_write, 0},
    {"proc-mem-read", proc_mem_read, 0},
    {"process-vm-writev", process_vm_writev_route, 0},
    {"process-vm-readv", process_vm_readv_route, 0},
    {"ptrace-attach-poke", ptrace_attach_poke, 0},
    {"ptrace-seize-poke", ptrace_seize_poke, 0},
    {"ptrace-attach-i386", ptrace_attach_i386, 0},
    {"fd-reopen-read", fd_reopen_read, 0},
    {"fd-reopen-write", fd_reopen_write, 0},
    {"pidfd-getfd", pidfd_getfd_route, 0},
    {"proc-environ", proc_environ, 0},
    {"proc-cmdline", proc_cmdline, 0},
    {"proc-maps", proc_maps, 0},
    {"proc-visible", proc_visible, 0},
    {"kcmp", kcmp_route, 0},
    {"get-robust-list", get_robust_list_route, 0},
    {"unconfined-neighbour", unconfined_neighbour, 0},
    {NULL, NULL, 0},
};
