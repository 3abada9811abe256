/* Escape 5: switch off the --report-denials supervisor, which answers the calls the policy
 * denies. If it dies or stops answering, the kernel answers ENOSYS for every call that would
 * have gone to it: a kill_process rule would no longer kill. The test runs escape-attack -K:
 * after these routes it makes the call its policy kills (see main.c).
 *
 * The supervisor is the process that started escape-attack (supervisor_pid, getppid() at
 * start) and whatever else can be seen or guessed. Signals are SIGKILL.
 */
#include "escape.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Readlink text of a seccomp listener (init_listener in kernel/seccomp.c). */
static const char listener_link[] = "anon_inode:seccomp notify";

static int no_parent(void) {
    return supervisor_pid <= 0 ? nothing("getppid", "getppid() is %d: the parent is not in "
                                         "this PID namespace", supervisor_pid)
                               : -1;
}

/* DONE, not ESCAPED: the parent may be a helper inside the sandbox (a PID namespace's init
 * even ignores SIGKILL from inside). The probe that follows tells whether the supervisor
 * still answers. */
static int result_of(const char *step, long r, const char *what) {
    if (r < 0)
        return blocked(step, errno, "%s, supervisor pid %d", what, supervisor_pid);
    return done(step, "%s on the parent (pid %d) accepted", what, supervisor_pid);
}

static int kill_parent(void) {
    if (no_parent() == 0)
        return 0;
    return result_of("kill", kill(supervisor_pid, SIGKILL), "kill(SIGKILL)");
}

static int tkill_parent(void) {
    if (no_parent() == 0)
        return 0;
    return result_of("tkill", syscall(SYS_tkill, supervisor_pid, SIGKILL), "tkill(SIGKILL)");
}

static int tgkill_parent(void) {
    if (no_parent() == 0)
        return 0;
    return result_of("tgkill", syscall(SYS_tgkill, supervisor_pid, supervisor_pid, SIGKILL),
                     "tgkill(SIGKILL)");
}

static int sigqueue_parent(void) {
    if (no_parent() == 0)
        return 0;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGKILL;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    return result_of("rt_sigqueueinfo",
                     syscall(SYS_rt_sigqueueinfo, supervisor_pid, SIGKILL, &info),
                     "rt_sigqueueinfo(SIGKILL)");
}

static int pidfd_parent(void) {
    if (no_parent() == 0)
        return 0;
    int pidfd = syscall(SYS_pidfd_open, supervisor_pid, 0);
    if (pidfd < 0)
        return blocked("pidfd_open", errno, "supervisor pid %d", supervisor_pid);
    return result_of("pidfd_send_signal",
                     syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0),
                     "pidfd_send_signal(SIGKILL)");
}

static int sigio_parent(void) {
    if (no_parent() == 0)
        return 0;
    int ends[2];
    if (pipe(ends) < 0)
        return blocked("pipe", errno, "-");
    if (fcntl(ends[0], F_SETOWN, supervisor_pid) < 0)
        return blocked("F_SETOWN", errno, "supervisor pid %d", supervisor_pid);
    if (fcntl(ends[0], F_SETSIG, SIGKILL) < 0 ||
        fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_ASYNC) < 0)
        return blocked("fcntl", errno, "F_SETSIG/O_ASYNC");
    if (write(ends[1], "x", 1) != 1)
        return blocked("write", errno, "-");
    return done("F_SETOWN", "SIGKILL queued for the supervisor (pid %d) through SIGIO",
                supervisor_pid);
}

/* Every pid in /proc, or every number up to pid_max (kill-guess@PID_MAX), but this process
 * and its runner. */
static int kill_many(int guess) {
    pid_t self = getpid(), runner = getppid();
    int sent = 0, tried = 0;
    if (guess) {
        /* The machine's pid_max when the test gives it (a PID namespace may show a larger
         * one of its own), else what this namespace says. */
        char text[32] = "32768";
        if (*param)
            snprintf(text, sizeof text, "%s", param);
        else
            read_file("/proc/sys/kernel/pid_max", text, sizeof text);
        long pid_max = strtol(text, NULL, 10);
        if (pid_max > (1 << 22))
            pid_max = 1 << 22;
        for (pid_t pid = 1; pid < pid_max; pid++) {
            if (pid == self || pid == runner)
                continue;
            tried++;
            if (kill(pid, SIGKILL) == 0)
                sent++;
        }
    } else {
        pid_t pids[65536];
        int count = visible_pids(pids, 65536);
        for (int i = 0; i < count; i++) {
            if (pids[i] == self || pids[i] == runner)
                continue;
            tried++;
            if (kill(pids[i], SIGKILL) == 0)
                sent++;
        }
    }
    return done("kill", "SIGKILL accepted for %d of %d pids %s", sent, tried,
                guess ? "guessed" : "in /proc");
}

static int kill_visible(void) { return kill_many(0); }
static int kill_guess(void) { return kill_many(1); }

/* In escape-attack's own process: kill(-1) spares the caller only. */
static int kill_minus_one(void) {
    if (kill(-1, SIGKILL) < 0)
        return blocked("kill", errno, "kill(-1, SIGKILL)");
    return done("kill", "kill(-1, SIGKILL) accepted");
}

static int killpg_own(void) {
    /* kill(-0) is kill(0): the caller's own group, whatever its number in this namespace. */
    return kill_group(0, "escape-attack's own group");
}

/* SIGKILL to process group GROUP through SIGIO (F_SETOWN_EX with F_OWNER_PGRP, fcntl(2)),
 * which names a group by its number whatever the number is. */
static int sigio_group(pid_t group, const char *which) {
    int ends[2];
    if (pipe(ends) < 0)
        return blocked("pipe", errno, "-");
    struct f_owner_ex owner = {F_OWNER_PGRP, group};
    if (fcntl(ends[0], F_SETOWN_EX, &owner) < 0)
        return blocked("F_SETOWN_EX", errno, "process group %d (%s)", group, which);
    if (fcntl(ends[0], F_SETSIG, SIGKILL) < 0 ||
        fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_ASYNC) < 0)
        return blocked("fcntl", errno, "F_SETSIG/O_ASYNC");
    if (write(ends[1], "x", 1) != 1)
        return blocked("write", errno, "-");
    struct timespec pause = {0, 100 * 1000 * 1000}; /* let the signal land */
    nanosleep(&pause, NULL);
    return done("F_SETOWN_EX", "SIGKILL queued for process group %d (%s) through SIGIO", group,
                which);
}

/* The supervisor's process group. In a PID namespace the parent is its init, which leads
 * group 1, and kill(-1) names no group: it is the broadcast to every process the caller may
 * signal (kill(2)), here the sandbox's own, which kill-minus-one tries. So group 1 is
 * signalled through SIGIO, which takes any group number. */
static int killpg_parent(void) {
    if (no_parent() == 0)
        return 0;
    pid_t group = getpgid(supervisor_pid);
    if (group < 0)
        return blocked("getpgid", errno, "supervisor pid %d", supervisor_pid);
    if (group == 0)
        return nothing("getpgid", "the supervisor's group has no number in this namespace");
    if (group == 1)
        return sigio_group(group, "the supervisor's group; kill(-1) would be no group");
    return kill_group(group, "the supervisor's group");
}

/* --- the sandbox's helpers --------------------------------------------------------------------
 *
 * The processes above escape-attack that it can see: in a PID namespace its init; without
 * one the keeper, seccomp-bpf run (or the stand-in of seccomp_bpf.Popen, and the program
 * that called it), and whatever started those. A helper that is traced, read or written
 * runs code outside the filter. The route's parameter N picks the one N levels above
 * escape-attack (1: its parent).
 */

static pid_t ancestor(void) {
    int levels = *param ? atoi(param) : 1;
    pid_t pid = supervisor_pid;
    for (int i = 1; i < levels && pid > 0; i++) {
        char path[64], status[8192];
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        if (read_file(path, status, sizeof status) < 0)
            return 0;
        char *line = strstr(status, "\nPPid:\t");
        pid = line ? atoi(line + 7) : 0;
    }
    return pid;
}

static int no_ancestor(pid_t pid) {
    return pid > 0 ? -1
                   : nothing("getppid", "nothing %s level(s) above escape-attack in this PID "
                             "namespace", *param ? param : "1");
}

static int ptrace_ancestor(void) {
    pid_t pid = ancestor();
    if (no_ancestor(pid) == 0)
        return 0;
    if (ptrace(PTRACE_ATTACH, pid, 0, 0) < 0)
        return blocked("PTRACE_ATTACH", errno, "pid %d", pid);
    int status;
    waitpid(pid, &status, __WALL);
    ptrace(PTRACE_DETACH, pid, 0, 0);
    return escaped("PTRACE_ATTACH", "traced process %d, above the sandbox", pid);
}

/* Opened for writing only: proof enough, and nothing written. */
static int mem_write_ancestor(void) {
    pid_t pid = ancestor();
    if (no_ancestor(pid) == 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s for writing", path);
    return escaped("open", "opened %s for writing", path);
}

static int environ_ancestor(void) {
    pid_t pid = ancestor();
    if (no_ancestor(pid) == 0)
        return 0;
    char path[64], buffer[65536];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    ssize_t n = read_file(path, buffer, sizeof buffer);
    if (n < 0)
        return blocked("read", errno, "%s", path);
    if (n == 0)
        return nothing("read", "%s is empty", path);
    return escaped("read", "read %zd bytes of %s", n, path);
}

static int fds_ancestor(void) {
    pid_t pid = ancestor();
    if (no_ancestor(pid) == 0)
        return 0;
    int pidfd = syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return blocked("pidfd_open", errno, "pid %d", pid);
    int last_error = EBADF;
    for (int n = 0; n < 256; n++) {
        int fd = syscall(SYS_pidfd_getfd, pidfd, n, 0);
        if (fd >= 0)
            return escaped("pidfd_getfd", "took descriptor %d of process %d", n, pid);
        if (errno != EBADF)
            last_error = errno;
    }
    return blocked("pidfd_getfd", last_error, "no descriptor taken from pid %d", pid);
}

/* No descriptors left: the supervisor can no longer open the pidfd it kills with. */
static int prlimit_parent(void) {
    if (no_parent() == 0)
        return 0;
    struct rlimit none = {0, 0};
    return result_of("prlimit64", prlimit(supervisor_pid, RLIMIT_NOFILE, &none, NULL),
                     "prlimit(RLIMIT_NOFILE, 0)");
}

/* Take the supervisor's listener: whoever holds it answers the filter's notifications. */
static int steal_listener(void) {
    if (no_parent() == 0)
        return 0;
    int pidfd = syscall(SYS_pidfd_open, supervisor_pid, 0);
    if (pidfd < 0)
        return blocked("pidfd_open", errno, "supervisor pid %d", supervisor_pid);
    int last_error = EBADF;
    for (int n = 0; n < 256; n++) {
        int fd = syscall(SYS_pidfd_getfd, pidfd, n, 0);
        if (fd < 0) {
            if (errno != EBADF)
                last_error = errno;
            continue;
        }
        char path[64], link[128] = {0};
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (readlink(path, link, sizeof link - 1) > 0 && strcmp(link, listener_link) == 0)
            return escaped("pidfd_getfd", "took the supervisor's seccomp listener (its "
                           "descriptor %d)", n);
        close(fd);
    }
    return blocked("pidfd_getfd", last_error, "no listener taken from pid %d", supervisor_pid);
}

/* In escape-attack's own process, before it opens anything: every descriptor beyond 0, 1
 * and 2 came from whatever started it (the test passes none). */
static int inherited_fds(void) {
    DIR *fds = opendir("/proc/self/fd");
    if (!fds)
        return blocked("opendir", errno, "/proc/self/fd");
    char found[768] = "";
    struct dirent *entry;
    while ((entry = readdir(fds))) {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] == '.' || fd <= 2 || fd == dirfd(fds))
            continue;
        char path[64], link[128] = {0};
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (readlink(path, link, sizeof link - 1) < 0)
            snprintf(link, sizeof link, "?");
        size_t used = strlen(found);
        snprintf(found + used, sizeof found - used, "%s%d -> %s", used ? "; " : "", fd, link);
    }
    closedir(fds);
    if (*found)
        return escaped("readdir", "descriptors inherited from outside: %s", found);
    return nothing("readdir", "only 0, 1 and 2");
}

static int sleep_route(void) {
    done("pause", "waiting to be killed with the supervisor");
    struct timespec pause = {30, 0};
    nanosleep(&pause, NULL);
    return 0;
}

/* A process left behind, detached as a daemon (double fork, a session of its own, no
 * parent-death signal), by a command that then ends: it must end with the sandbox. With
 * @prlimit the command first lowers its parent's descriptor and memory limits to nothing
 * (without a PID namespace the parent is the keeper, which must then still find it). */
static int leave_behind(void) {
    const char *how = "";
    if (strcmp(param, "prlimit") == 0) {
        struct rlimit none = {0, 0};
        if (prlimit(supervisor_pid, RLIMIT_NOFILE, &none, NULL) == 0 &&
            prlimit(supervisor_pid, RLIMIT_AS, &none, NULL) == 0)
            how = ", after lowering its parent's RLIMIT_NOFILE and RLIMIT_AS to 0";
    }
    pid_t child = fork();
    if (child < 0)
        return blocked("fork", errno, "-");
    if (child == 0) {
        if (fork() != 0)
            _exit(0);
        prctl(PR_SET_PDEATHSIG, 0);
        setsid();
        struct timespec pause = {30, 0};
        nanosleep(&pause, NULL);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    return done("fork", "left a detached process behind%s", how);
}

/* The same, from a process that does all it can to outlive its starter: it clears its
 * parent-death signal, leaves its parent (double fork) and its session, and ignores the
 * signals a terminal sends. Only SIGKILL is left to end it. */
static int sleep_detached(void) {
    pid_t child = fork();
    if (child < 0)
        return blocked("fork", errno, "-");
    if (child > 0) {
        waitpid(child, NULL, 0);
        for (;;)
            pause(); /* escape-attack itself stays, to be killed with the starter */
    }
    if (fork() != 0)
        _exit(0);
    prctl(PR_SET_PDEATHSIG, 0);
    setsid();
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    done("pause", "detached (no PDEATHSIG, own session), waiting to be killed");
    struct timespec pause = {30, 0};
    nanosleep(&pause, NULL);
    return 0;
}

ROUTES(supervisor) = {
    {"kill-parent", kill_parent, LOOSE},
    {"tkill-parent", tkill_parent, LOOSE},
    {"tgkill-parent", tgkill_parent, LOOSE},
    {"sigqueue-parent", sigqueue_parent, LOOSE},
    {"pidfd-parent", pidfd_parent, LOOSE},
    {"sigio-parent", sigio_parent, LOOSE},
    {"kill-visible", kill_visible, LOOSE},
    {"kill-guess", kill_guess, LOOSE},
    {"kill-minus-one", kill_minus_one, IN_MAIN | LOOSE},
    {"killpg-own", killpg_own, IN_MAIN | LOOSE},
    {"killpg-parent", killpg_parent, IN_MAIN | LOOSE},
    {"prlimit-parent", prlimit_parent, LOOSE},
    {"steal-listener", steal_listener, LOOSE},
    {"ptrace-ancestor", ptrace_ancestor, LOOSE},
    {"mem-write-ancestor", mem_write_ancestor, LOOSE},
    {"environ-ancestor", environ_ancestor, LOOSE},
    {"fds-ancestor", fds_ancestor, LOOSE},
    {"inherited-fds", inherited_fds, IN_MAIN},
    {"sleep", sleep_route, IN_MAIN | LOOSE},
    {"sleep-detached", sleep_detached, IN_MAIN | LOOSE},
    {"leave-behind", leave_behind, LOOSE},
    {NULL, NULL, 0},
};
