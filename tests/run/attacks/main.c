/* escape-attack: run attack routes and print one RESULT line each (see escape.h).
 *
 *   escape-attack [-V PID,ADDR,FD]... [-t TOKEN] [-d DIR] [-K] ROUTE[@PARAM][%VICTIM]...
 *   escape-attack -l          (list the routes: "NAME in_main|- loose|-")
 *
 * -V describes a victim (see victim.c); a route ending in %N aims at the N-th (from 0), the
 * others at the first.
 *
 * Each route runs in a forked child (so one that crashes or is killed does not stop the
 * others), except those marked IN_MAIN, which need to be this very process. "START <route>"
 * comes before each: a route that kills its own sandbox may vanish without a RESULT. With -K, after
 * the routes this process calls getcwd(2) twice: once as the test's policy fails with EXDEV
 * through the supervisor, once as it kills. A RESULT line "probe ESCAPED" means the supervisor
 * no longer answered, or the kill_process rule had been switched off.
 */
#include "escape.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

/* No victim given: a pid above PID_MAX_LIMIT (4194304, <linux/threads.h>), which names no
 * process, alone or negated as a group. */
pid_t victim_pid = 999999999;
unsigned long victim_addr;
int victim_fd = -1;
const char *token = "";
const char *scratch = "/tmp";
const char *attack_dir = ".";
pid_t supervisor_pid = -1;
const char *route = "";
const char *param = "";

static int reported;

static void say(const char *verdict, const char *step, const char *error, const char *fmt,
                va_list args) {
    char detail[768], step_word[64];
    char line[1024];
    vsnprintf(detail, sizeof detail, fmt, args);
    snprintf(step_word, sizeof step_word, "%s", step);
    for (char *c = step_word; *c; c++)
        if (*c == ' ')
            *c = '-'; /* one word: "i386 ioctl" becomes "i386-ioctl" */
    for (char *c = detail; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    int n = snprintf(line, sizeof line, "RESULT %s %s %s %s %s\n", route, verdict, step_word,
                     error, detail);
    if (n > (int)sizeof line - 1) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    ssize_t ignored = write(STDOUT_FILENO, line, n);
    (void)ignored;
    reported = 1;
}

int blocked(const char *step, int err, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    const char *name = strerrorname_np(err);
    say("BLOCKED", step, name ? name : "E?", fmt, args);
    va_end(args);
    return 0;
}

int nothing(const char *step, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    say("BLOCKED", step, "-", fmt, args);
    va_end(args);
    return 0;
}

int escaped(const char *step, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    say("ESCAPED", step, "-", fmt, args);
    va_end(args);
    return 0;
}

int done(const char *step, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    say("DONE", step, "-", fmt, args);
    va_end(args);
    return 0;
}

static void say_line(const char *verdict, const char *step, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    say(verdict, step, "-", fmt, args);
    va_end(args);
}

/* Whether this process is in a PID namespace other than the machine's own, whose inode is
 * PROC_PID_INIT_INO (include/linux/proc_ns.h). Any doubt counts as "no". */
static int contained(void) {
    char link[64] = "";
    return readlink("/proc/self/ns/pid", link, sizeof link - 1) > 0 &&
           strncmp(link, "pid:[", 5) == 0 && strcmp(link, "pid:[4026531836]") != 0;
}

static void runner_line(const char *spec, const char *verdict, const char *what) {
    char line[512];
    int n = snprintf(line, sizeof line, "RESULT %s %s - - %s\n", spec, verdict, what);
    ssize_t ignored = write(STDOUT_FILENO, line, n);
    (void)ignored;
}

ssize_t read_file(const char *path, char *buffer, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t total = 0;
    while (total + 1 < size) {
        ssize_t n = read(fd, buffer + total, size - 1 - total);
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        total += n;
    }
    buffer[total] = 0;
    close(fd);
    return total;
}

int contains(const char *data, size_t size, const char *needle) {
    return *needle && memmem(data, size, needle, strlen(needle)) != NULL;
}

int visible_pids(pid_t *pids, int max) {
    DIR *proc = opendir("/proc");
    int count = 0;
    if (!proc)
        return 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) && count < max) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end == 0 && pid > 0)
            pids[count++] = pid;
    }
    closedir(proc);
    return count;
}

uint32_t i386_call(uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4,
                   uint32_t a5, uint32_t a6) {
    /* ebp is the sixth argument but also this function's frame register: it is saved in
     * r13 (no push, which could overwrite data the compiler keeps below the stack pointer).
     * The kernel clears r8-r11 on the way back from int 0x80. */
    uint64_t result;
    register uint64_t sixth __asm__("r12") = a6;
    __asm__ volatile("mov %%rbp, %%r13\n\t"
                     "mov %%r12, %%rbp\n\t"
                     "int $0x80\n\t"
                     "mov %%r13, %%rbp"
                     : "=a"(result)
                     : "a"((uint64_t)nr), "b"((uint64_t)a1), "c"((uint64_t)a2),
                       "d"((uint64_t)a3), "S"((uint64_t)a4), "D"((uint64_t)a5), "r"(sixth)
                     : "memory", "cc", "r8", "r9", "r10", "r11", "r13");
    return (uint32_t)result;
}

void *low_memory(size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Kill a whole process group from a sacrificial child. When the group is this process's
 * own (group 0: kill(0), which the kernel resolves through the caller's group itself), the
 * child stays in it while this process moves to a new group, to live on and report. */
int kill_group(pid_t group, const char *which) {
    int own = group == 0 || group == getpgrp();
    if (own && getpgrp() == getpid())
        return nothing("getpgrp", "this process leads its own process group: the group "
                       "holds no other process");
    int go[2];
    if (pipe(go) < 0)
        return blocked("pipe", errno, "-");
    pid_t sender = fork();
    if (sender < 0)
        return blocked("fork", errno, "-");
    if (sender == 0) {
        char byte;
        if (read(go[0], &byte, 1) != 1)
            _exit(100);
        if (kill(-group, SIGKILL) < 0)
            _exit(errno);
        for (;;)
            pause();
    }
    if (own && setpgid(0, 0) < 0) {
        kill(sender, SIGKILL);
        waitpid(sender, NULL, 0);
        return blocked("setpgid", errno, "this process cannot leave its group (it leads its "
                       "own session: the group holds no other process)");
    }
    if (write(go[1], "g", 1) != 1)
        return blocked("write", errno, "-");
    int status;
    waitpid(sender, &status, 0);
    if (WIFEXITED(status))
        return blocked("kill", WEXITSTATUS(status), "killpg(%d) (%s)", group, which);
    struct timespec pause = {0, 100 * 1000 * 1000}; /* let the signal land */
    nanosleep(&pause, NULL);
    return done("kill", "killpg(%d, SIGKILL) (%s) accepted", group, which);
}

static const struct route *const families[] = {
    memory_routes, signal_routes, host_routes,     uffd_routes,  supervisor_routes,
    exec_routes,   terminal_routes, socket_routes, classic_routes,
};

static const struct route *find_route(const char *name) {
    for (size_t f = 0; f < sizeof families / sizeof *families; f++)
        for (const struct route *r = families[f]; r->name; r++)
            if (strcmp(r->name, name) == 0)
                return r;
    return NULL;
}

#define MAX_VICTIMS 256
static struct victim {
    pid_t pid;
    unsigned long addr;
    int fd;
} victims[MAX_VICTIMS];
static int victim_count;

static void aim_at(int which) {
    if (which < 0 || which >= victim_count)
        return;
    victim_pid = victims[which].pid;
    victim_addr = victims[which].addr;
    victim_fd = victims[which].fd;
}

static void list_routes(void) {
    for (size_t f = 0; f < sizeof families / sizeof *families; f++)
        for (const struct route *r = families[f]; r->name; r++)
            printf("%s %s %s\n", r->name, r->flags & IN_MAIN ? "in_main" : "-",
                   r->flags & LOOSE ? "loose" : "-");
}

static void run_one(const char *spec) {
    char name[128], param_text[4096];
    const char *percent = strrchr(spec, '%');
    aim_at(percent ? atoi(percent + 1) : 0);
    const char *at = strchr(spec, '@');
    size_t length = at        ? (size_t)(at - spec)
                    : percent ? (size_t)(percent - spec)
                              : strlen(spec);
    if (length >= sizeof name)
        length = sizeof name - 1;
    memcpy(name, spec, length);
    name[length] = 0;
    const struct route *r = find_route(name);
    if (!r) {
        runner_line(spec, "BROKEN", "no such route");
        return;
    }
    route = spec;
    /* The parameter runs from '@' to the '%' of the victim, or to the end. */
    const char *param_end = percent && (!at || percent > at) ? percent : spec + strlen(spec);
    snprintf(param_text, sizeof param_text, "%.*s", at ? (int)(param_end - at - 1) : 0,
             at ? at + 1 : "");
    param = param_text;
    reported = 0;
    char started[512];
    int n = snprintf(started, sizeof started, "START %s\n", spec);
    if (write(STDOUT_FILENO, started, n) < 0)
        return;
    if ((r->flags & LOOSE) && !contained()) {
        say_line("BROKEN", "namespace", "refusing to run a route that reaches beyond its "
                 "victim in the machine's own PID namespace: run it under escape-contain");
        return;
    }
    if (r->flags & IN_MAIN) {
        r->run();
        if (!reported)
            runner_line(spec, "BROKEN", "the route printed nothing");
        return;
    }
    pid_t child = fork();
    if (child < 0) {
        runner_line(spec, "BROKEN", "fork failed");
        return;
    }
    if (child == 0) {
        alarm(20);
        r->run();
        _exit(reported ? 0 : 3);
    }
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) {
            runner_line(spec, "BROKEN", "waitpid failed");
            return;
        }
    if (WIFSIGNALED(status)) {
        char what[64];
        const char *signame = sigabbrev_np(WTERMSIG(status));
        snprintf(what, sizeof what, "SIG%s", signame ? signame : "?");
        runner_line(spec, "KILLED", what);
    } else if (WEXITSTATUS(status) != 0) {
        char what[64];
        snprintf(what, sizeof what, "exit status %d without a result", WEXITSTATUS(status));
        runner_line(spec, "BROKEN", what);
    }
}

/* -K: first a call the test's policy fails with errno(EXDEV), which only the supervisor
 * answers so (without it the kernel answers ENOSYS: nobody listens), then one it kills. */
static void probe_kill_rule(void) {
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL); /* let signals sent by the routes land */
    route = "probe";
    char buffer[256];
    errno = 0;
    long result = syscall(SYS_getcwd, buffer, 1);
    int err = errno;
    if (result >= 0 || err != EXDEV) {
        escaped("getcwd", "the supervisor no longer answers: getcwd(buffer, 1) gave %ld (%s), "
                "not the policy's EXDEV", result, result < 0 ? strerrorname_np(err) : "no error");
        return;
    }
    errno = 0;
    result = syscall(SYS_getcwd, buffer, sizeof buffer);
    err = errno;
    escaped("getcwd",
            "getcwd came back (result %ld, %s) instead of the kill_process rule killing this "
            "process",
            result, result < 0 ? strerrorname_np(err) : "no error");
}

int main(int argc, char **argv) {
    int probe = 0;
    int option;
    supervisor_pid = getppid();
    char *slash = strrchr(argv[0], '/');
    if (slash) {
        static char directory[4096];
        snprintf(directory, sizeof directory, "%.*s", (int)(slash - argv[0]), argv[0]);
        attack_dir = directory;
    }
    while ((option = getopt(argc, argv, "V:t:d:Kl")) != -1) {
        switch (option) {
        case 'V':
            if (victim_count < MAX_VICTIMS &&
                sscanf(optarg, "%d,%lx,%d", &victims[victim_count].pid,
                       &victims[victim_count].addr, &victims[victim_count].fd) == 3)
                victim_count++;
            break;
        case 't': token = optarg; break;
        case 'd': scratch = optarg; break;
        case 'K': probe = 1; break;
        case 'l': list_routes(); return 0;
        default: return 2;
        }
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = optind; i < argc; i++)
        run_one(argv[i]);
    if (probe)
        probe_kill_rule();
    return 0;
}
