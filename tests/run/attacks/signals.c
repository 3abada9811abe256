/* Escape 4: signalling, limiting and rescheduling a process outside the sandbox.
 *
 * The victim (-p PID) is in a process group of its own (its pid), unless the test puts it
 * in the group of `seccomp-bpf run` (the *-own-pgrp routes). Every signal sent is SIGKILL, so
 * that an attack that gets through shows as a dead victim; the limits and priorities set are
 * ones the victim does not start with (nice 19, SCHED_FIFO/IDLE/BATCH, idle I/O class, one
 * CPU, 17 files), so that the test sees the change from outside.
 */
#include "escape.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/ioprio.h>

static int outcome(const char *step, long result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ESCAPED when the call that reaches the victim succeeded, BLOCKED with its errno. */
static int outcome(const char *step, long result, const char *what, ...) {
    char text[256];
    va_list args;
    va_start(args, what);
    vsnprintf(text, sizeof text, what, args);
    va_end(args);
    if (result < 0)
        return blocked(step, errno, "%s", text);
    return escaped(step, "%s succeeded", text);
}

static void settle(void) {
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

static siginfo_t queued_info(void) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGKILL;
    info.si_code = SI_QUEUE; /* negative: kernel/signal.c refuses positive codes from users */
    info.si_pid = getpid();
    info.si_uid = getuid();
    return info;
}

static int kill_route(void) {
    return outcome("kill", kill(victim_pid, SIGKILL), "kill(%d, SIGKILL)", victim_pid);
}

static int kill_pgrp(void) {
    return outcome("kill", kill(-victim_pid, SIGKILL), "kill(-%d, SIGKILL) (its group)",
                   victim_pid);
}

static int tkill_route(void) {
    return outcome("tkill", syscall(SYS_tkill, victim_pid, SIGKILL), "tkill(%d, SIGKILL)",
                   victim_pid);
}

static int tgkill_route(void) {
    return outcome("tgkill", syscall(SYS_tgkill, victim_pid, victim_pid, SIGKILL),
                   "tgkill(%d, %d, SIGKILL)", victim_pid, victim_pid);
}

static int rt_sigqueueinfo_route(void) {
    siginfo_t info = queued_info();
    return outcome("rt_sigqueueinfo", syscall(SYS_rt_sigqueueinfo, victim_pid, SIGKILL, &info),
                   "rt_sigqueueinfo(%d, SIGKILL)", victim_pid);
}

static int rt_tgsigqueueinfo_route(void) {
    siginfo_t info = queued_info();
    return outcome("rt_tgsigqueueinfo",
                   syscall(SYS_rt_tgsigqueueinfo, victim_pid, victim_pid, SIGKILL, &info),
                   "rt_tgsigqueueinfo(%d, %d, SIGKILL)", victim_pid, victim_pid);
}

static int pidfd_open_route(void) {
    return outcome("pidfd_open", syscall(SYS_pidfd_open, victim_pid, 0), "pidfd_open(%d)",
                   victim_pid);
}

static int pidfd_send_signal_route(void) {
    int pidfd = syscall(SYS_pidfd_open, victim_pid, 0);
    if (pidfd < 0)
        return blocked("pidfd_open", errno, "pid %d", victim_pid);
    return outcome("pidfd_send_signal", syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0),
                   "pidfd_send_signal(pidfd of %d, SIGKILL)", victim_pid);
}

/* pidfd_send_signal(2) also takes a descriptor of a /proc/PID directory. */
static int procfd_send_signal(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", victim_pid);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s", path);
    return outcome("pidfd_send_signal", syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0),
                   "pidfd_send_signal(%s, SIGKILL)", path);
}

/* fcntl(2): with F_SETOWN and O_ASYNC, the kernel sends SIGIO (or the F_SETSIG signal) to
 * the owner when the descriptor becomes readable; the owner may be any pid or, negative, a
 * process group. The signal is checked only when it is sent (sigio_perm in fs/fcntl.c), so
 * the attack cannot tell whether it arrived: the victim tells. */
static int arm_sigio(int reader, int writer, pid_t owner, int use_ex) {
    int r;
    if (use_ex) {
        struct f_owner_ex ex = {F_OWNER_PID, owner};
        r = fcntl(reader, F_SETOWN_EX, &ex);
    } else {
        r = fcntl(reader, F_SETOWN, owner);
    }
    if (r < 0)
        return blocked(use_ex ? "F_SETOWN_EX" : "F_SETOWN", errno, "owner %d", owner);
    if (fcntl(reader, F_SETSIG, SIGKILL) < 0)
        return blocked("F_SETSIG", errno, "SIGKILL");
    if (fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) | O_ASYNC) < 0)
        return blocked("F_SETFL", errno, "O_ASYNC");
    if (write(writer, "x", 1) != 1)
        return blocked("write", errno, "to make the descriptor readable");
    settle();
    return done("F_SETOWN", "owner %d accepted; SIGKILL queued through SIGIO", owner);
}

static int sigio_pipe(void) {
    int ends[2];
    if (pipe(ends) < 0)
        return blocked("pipe", errno, "-");
    return arm_sigio(ends[0], ends[1], victim_pid, 0);
}

static int sigio_socket(void) {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) < 0)
        return blocked("socketpair", errno, "-");
    return arm_sigio(ends[0], ends[1], victim_pid, 1);
}

/* The ioctls FIOSETOWN and FIOASYNC do what F_SETOWN and O_ASYNC do (fs/ioctl.c,
 * sock_ioctl). */
static int sigio_fiosetown(void) {
    int ends[2], on = 1;
    pid_t owner = victim_pid;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) < 0)
        return blocked("socketpair", errno, "-");
    if (ioctl(ends[0], FIOSETOWN, &owner) < 0)
        return blocked("FIOSETOWN", errno, "owner %d", owner);
    if (fcntl(ends[0], F_SETSIG, SIGKILL) < 0)
        return blocked("F_SETSIG", errno, "SIGKILL");
    if (ioctl(ends[0], FIOASYNC, &on) < 0)
        return blocked("FIOASYNC", errno, "-");
    if (write(ends[1], "x", 1) != 1)
        return blocked("write", errno, "to make the descriptor readable");
    settle();
    return done("FIOSETOWN", "owner %d accepted; SIGKILL queued through SIGIO", owner);
}

static int sigio_pgrp(void) {
    int ends[2];
    if (pipe(ends) < 0)
        return blocked("pipe", errno, "-");
    return arm_sigio(ends[0], ends[1], -victim_pid, 0);
}

static int kill_i386(void) {
    uint32_t r = i386_call(I386_KILL, victim_pid, SIGKILL, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 kill", I386_ERRNO(r), "kill(%d, SIGKILL) through int 0x80",
                       victim_pid);
    return escaped("i386 kill", "kill(%d, SIGKILL) through int 0x80 succeeded", victim_pid);
}

static int tkill_i386(void) {
    uint32_t r = i386_call(I386_TKILL, victim_pid, SIGKILL, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 tkill", I386_ERRNO(r), "tkill(%d, SIGKILL) through int 0x80",
                       victim_pid);
    return escaped("i386 tkill", "tkill(%d, SIGKILL) through int 0x80 succeeded", victim_pid);
}

static int setpriority_i386(void) {
    uint32_t r = i386_call(I386_SETPRIORITY, PRIO_PROCESS, victim_pid, 19, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 setpriority", I386_ERRNO(r), "PRIO_PROCESS %d", victim_pid);
    return escaped("i386 setpriority", "reniced process %d to 19 through int 0x80",
                   victim_pid);
}

static int prlimit_route(void) {
    struct rlimit limit = {17, 17};
    return outcome("prlimit64", prlimit(victim_pid, RLIMIT_NOFILE, &limit, NULL),
                   "prlimit(%d, RLIMIT_NOFILE, 17)", victim_pid);
}

static int sched_setaffinity_route(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    return outcome("sched_setaffinity", sched_setaffinity(victim_pid, sizeof set, &set),
                   "sched_setaffinity(%d, {0})", victim_pid);
}

static int setpriority_process(void) {
    return outcome("setpriority", setpriority(PRIO_PROCESS, victim_pid, 19),
                   "setpriority(PRIO_PROCESS, %d, 19)", victim_pid);
}

static int setpriority_pgrp(void) {
    return outcome("setpriority", setpriority(PRIO_PGRP, victim_pid, 19),
                   "setpriority(PRIO_PGRP, %d, 19)", victim_pid);
}

/* PRIO_USER and IOPRIO_WHO_USER reach every process of a user that the caller's PID
 * namespace shows (kernel/sys.c, block/ioprio.c): the call succeeds inside a sandbox too,
 * so only the victim can tell. */
static int setpriority_user(void) {
    if (setpriority(PRIO_USER, getuid(), 19) < 0)
        return blocked("setpriority", errno, "PRIO_USER %d", getuid());
    settle();
    return done("setpriority", "PRIO_USER %d set to 19", getuid());
}

static int sched_fifo(void) {
    struct sched_param param = {1};
    return outcome("sched_setscheduler", sched_setscheduler(victim_pid, SCHED_FIFO, &param),
                   "sched_setscheduler(%d, SCHED_FIFO)", victim_pid);
}

static int sched_idle(void) {
    struct sched_param param = {0};
    return outcome("sched_setscheduler", sched_setscheduler(victim_pid, SCHED_IDLE, &param),
                   "sched_setscheduler(%d, SCHED_IDLE)", victim_pid);
}

/* struct sched_attr of <linux/sched/types.h>, whose header clashes with glibc's <sched.h>. */
struct sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
};

static int sched_setattr_route(void) {
    struct sched_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.sched_policy = SCHED_BATCH;
    attr.sched_nice = 19;
    return outcome("sched_setattr", syscall(SYS_sched_setattr, victim_pid, &attr, 0),
                   "sched_setattr(%d, SCHED_BATCH, nice 19)", victim_pid);
}

static long set_idle_io(int which, int who) {
    return syscall(SYS_ioprio_set, which, who, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
}

static int ioprio_process(void) {
    return outcome("ioprio_set", set_idle_io(IOPRIO_WHO_PROCESS, victim_pid),
                   "ioprio_set(IOPRIO_WHO_PROCESS, %d, idle)", victim_pid);
}

static int ioprio_pgrp(void) {
    return outcome("ioprio_set", set_idle_io(IOPRIO_WHO_PGRP, victim_pid),
                   "ioprio_set(IOPRIO_WHO_PGRP, %d, idle)", victim_pid);
}

static int ioprio_user(void) {
    if (set_idle_io(IOPRIO_WHO_USER, getuid()) < 0)
        return blocked("ioprio_set", errno, "IOPRIO_WHO_USER %d", getuid());
    settle();
    return done("ioprio_set", "IOPRIO_WHO_USER %d set to idle", getuid());
}

static int oom_score_adj(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/oom_score_adj", victim_pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s", path);
    if (write(fd, "1000", 4) < 0)
        return blocked("write", errno, "%s", path);
    return escaped("write", "made process %d the first the OOM killer takes (%s)", victim_pid,
                   path);
}

/* The *-own-pgrp routes: the victim shares the process group of `seccomp-bpf run`, as the
 * other commands of a shell pipeline do. Calls that name "my own group" (who = 0) are
 * resolved through the caller's group itself, not through a pid number of its namespace
 * (kill_something_info in kernel/signal.c, setpriority in kernel/sys.c, ioprio_set in
 * block/ioprio.c), so they reach every member of the group, wherever it is. */
static int kill_own_pgrp(void) {
    return kill_group(0, "this process's original group");
}

static int setpriority_own_pgrp(void) {
    if (setpriority(PRIO_PGRP, 0, 19) < 0)
        return blocked("setpriority", errno, "PRIO_PGRP 0");
    return done("setpriority", "setpriority(PRIO_PGRP, 0, 19) on this process's group");
}

static int ioprio_own_pgrp(void) {
    if (set_idle_io(IOPRIO_WHO_PGRP, 0) < 0)
        return blocked("ioprio_set", errno, "IOPRIO_WHO_PGRP 0");
    return done("ioprio_set", "ioprio_set(IOPRIO_WHO_PGRP, 0, idle) on this process's group");
}

ROUTES(signal) = {
    {"kill", kill_route, 0},
    {"kill-pgrp", kill_pgrp, 0},
    {"tkill", tkill_route, 0},
    {"tgkill", tgkill_route, 0},
    {"rt-sigqueueinfo", rt_sigqueueinfo_route, 0},
    {"rt-tgsigqueueinfo", rt_tgsigqueueinfo_route, 0},
    {"pidfd-open", pidfd_open_route, 0},
    {"pidfd-send-signal", pidfd_send_signal_route, 0},
    {"procfd-send-signal", procfd_send_signal, 0},
    {"sigio-pipe", sigio_pipe, 0},
    {"sigio-socket", sigio_socket, 0},
    {"sigio-pgrp", sigio_pgrp, 0},
    {"sigio-fiosetown", sigio_fiosetown, 0},
    {"kill-i386", kill_i386, 0},
    {"tkill-i386", tkill_i386, 0},
    {"setpriority-i386", setpriority_i386, 0},
    {"prlimit", prlimit_route, 0},
    {"sched-setaffinity", sched_setaffinity_route, 0},
    {"setpriority-process", setpriority_process, 0},
    {"setpriority-pgrp", setpriority_pgrp, 0},
    {"setpriority-user", setpriority_user, LOOSE},
    {"sched-fifo", sched_fifo, 0},
    {"sched-idle", sched_idle, 0},
    {"sched-setattr", sched_setattr_route, 0},
    {"ioprio-process", ioprio_process, 0},
    {"ioprio-pgrp", ioprio_pgrp, 0},
    {"ioprio-user", ioprio_user, LOOSE},
    {"oom-score-adj", oom_score_adj, 0},
    {"kill-own-pgrp", kill_own_pgrp, LOOSE},
    {"setpriority-own-pgrp", setpriority_own_pgrp, LOOSE},
    {"ioprio-own-pgrp", ioprio_own_pgrp, LOOSE},
    {NULL, NULL, 0},
};
