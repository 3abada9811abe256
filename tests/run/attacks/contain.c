/* escape-contain: where the test runs every attack, so that an attack that gets through
 * reaches nothing but the test's own processes.
 *
 *   escape-contain [--control FD] [--same-pgrp] [--tty] [--shadow DIR] [--victims N]
 *                  [VICTIM ARGV...] -- ATTACK ARGV...
 *
 * It makes a PID namespace and a mount namespace with their own /proc (as unshare --pid
 * --mount-proc does): kill(-1), PRIO_USER and the like reach only the processes inside. In
 * it, pid 1 (this program) starts the victim, if any (N of them with --victims N), as pid
 * 30000, 30001... (clone3 with set_tid, so that their numbers cannot be ones the sandbox
 * gives its own processes), relays their VICTIM-READY lines, waits for a byte on the control
 * descriptor, then starts the attack command with each argument "@V<i>" replaced by victim
 * i's "PID,ADDR,FD". When the
 * attack command has ended, and what it left behind too (or 2 seconds have passed), it prints
 * "CONTAIN-EXIT status=S" (the raw wait status of the attack command) and waits for the end
 * of the control descriptor, so that the test can look at the victim before everything in
 * the namespace is killed.
 *
 * The victims and the attack get process groups of their own, or the attack joins the first
 * victim's (--same-pgrp). With --tty, pid 1 makes its standard input its controlling
 * terminal and the attack keeps that terminal as its standard input.
 *
 * --shadow DIR mounts a tmpfs on DIR, in the new mount namespace only, holding "root-file"
 * (root's, mode 0644) and "scratch" (mode 01777), and starts the attack in DIR/scratch: a
 * file of root outside the places a sandbox lets a program write, and a directory it does
 * let it write, on one file system, without touching the machine's own files.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define VICTIM_PID 30000

static void fail(const char *what) {
    fprintf(stderr, "escape-contain: %s: %s\n", what, strerror(errno));
    _exit(120);
}

static pid_t fork_as(pid_t wanted) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    args.set_tid = (uintptr_t)&wanted;
    args.set_tid_size = 1;
    return syscall(SYS_clone3, &args, sizeof args);
}

/* Processes the attack left (they are reparented to this pid 1) may still be writing their
 * results: wait up to 2 seconds for all but the victims to end, reaping them. */
static void wait_for_the_rest(int victims) {
    for (int round = 0; round < 200; round++) {
        int others = 0;
        DIR *proc = opendir("/proc");
        if (!proc)
            return;
        struct dirent *entry;
        while ((entry = readdir(proc))) {
            pid_t pid = atoi(entry->d_name);
            if (pid <= 1 || (pid >= VICTIM_PID && pid < VICTIM_PID + victims))
                continue;
            if (waitpid(pid, NULL, WNOHANG) == pid)
                continue;
            others++;
        }
        closedir(proc);
        if (!others)
            return;
        usleep(10 * 1000);
    }
}

static void make_shadow(const char *directory) {
    char path[4096];
    if (mount("escape-shadow", directory, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        fail("mount the shadow tmpfs");
    snprintf(path, sizeof path, "%s/root-file", directory);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "root's\n", 7) != 7 || fchmod(fd, 0644) < 0)
        fail("make the shadow's root-file");
    close(fd);
    snprintf(path, sizeof path, "%s/scratch", directory);
    if (mkdir(path, 0700) < 0 || chmod(path, 01777) < 0)
        fail("make the shadow's scratch");
}

/* Start victim i as pid VICTIM_PID + i; its VICTIM-READY line goes to the test, and its
 * "PID,ADDR,FD" into *described. */
static void start_victim(char **victim, int i, char **described) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        fail("pipe");
    pid_t pid = fork_as(VICTIM_PID + i);
    if (pid < 0)
        fail("clone3 (a victim)");
    if (pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dup2(null, STDIN_FILENO);
        dup2(ready[1], STDOUT_FILENO);
        execvp(victim[0], victim);
        fail("exec a victim");
    }
    close(ready[1]);
    char line[256];
    ssize_t n = read(ready[0], line, sizeof line - 1);
    if (n <= 0) {
        errno = EPIPE;
        fail("a victim did not start");
    }
    line[n] = 0;
    if (write(STDOUT_FILENO, line, n) != n)
        fail("write");
    close(ready[0]);
    unsigned long addr = 0;
    int fd = -1, ready_pid = 0;
    sscanf(line, "VICTIM-READY pid=%d addr=%lx fd=%d", &ready_pid, &addr, &fd);
    if (asprintf(described, "%d,%#lx,%d", ready_pid, addr, fd) < 0)
        fail("asprintf");
}

int main(int argc, char **argv) {
    int control = -1, same_pgrp = 0, tty = 0, first = 1, victims = 1;
    const char *shadow = NULL;
    for (; first < argc; first++) {
        if (strcmp(argv[first], "--control") == 0 && first + 1 < argc)
            control = atoi(argv[++first]);
        else if (strcmp(argv[first], "--same-pgrp") == 0)
            same_pgrp = 1;
        else if (strcmp(argv[first], "--tty") == 0)
            tty = 1;
        else if (strcmp(argv[first], "--shadow") == 0 && first + 1 < argc)
            shadow = argv[++first];
        else if (strcmp(argv[first], "--victims") == 0 && first + 1 < argc)
            victims = atoi(argv[++first]);
        else
            break;
    }
    int separator = first;
    while (separator < argc && strcmp(argv[separator], "--") != 0)
        separator++;
    if (separator + 1 >= argc) {
        fprintf(stderr, "usage: escape-contain [--control FD] [--same-pgrp] [--tty] "
                        "[--shadow DIR] [--victims N] [VICTIM...] -- ATTACK...\n");
        return 2;
    }
    char **victim = separator > first ? argv + first : NULL;
    if (!victim)
        victims = 0;
    if (victims < 0 || victims > 1000)
        victims = 1;
    argv[separator] = NULL;
    char **attack = argv + separator + 1;
    int attack_count = argc - separator - 1;

    if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
        fail("unshare");
    pid_t init = fork();
    if (init < 0)
        fail("fork");
    if (init > 0) {
        int status;
        while (waitpid(init, &status, 0) < 0)
            if (errno != EINTR)
                fail("waitpid");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

    /* pid 1 of the new namespaces. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail("make / private");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        fail("mount /proc");
    if (shadow)
        make_shadow(shadow);
    if (setsid() < 0)
        fail("setsid");
    if (tty && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
        fail("TIOCSCTTY");

    char **described = calloc(victims + 1, sizeof *described);
    for (int i = 0; i < victims; i++)
        start_victim(victim, i, &described[i]);
    if (control >= 0) {
        char go;
        if (read(control, &go, 1) != 1)
            return 0; /* the test gave up */
    }

    char **command = calloc(attack_count + 1, sizeof *command);
    for (int i = 0; i < attack_count; i++) {
        command[i] = attack[i];
        int which;
        char end;
        if (sscanf(attack[i], "@V%d%c", &which, &end) == 1 && which >= 0 && which < victims)
            command[i] = described[which];
    }
    pid_t child = fork();
    if (child < 0)
        fail("fork (the attack)");
    if (child == 0) {
        if (same_pgrp && victims > 0)
            setpgid(0, VICTIM_PID);
        else if (!tty)
            setpgid(0, 0);
        if (!tty) {
            int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
            dup2(null, STDIN_FILENO);
        }
        if (control >= 0)
            close(control);
        if (shadow) {
            char where[4096];
            snprintf(where, sizeof where, "%s/scratch", shadow);
            if (chdir(where) < 0)
                fail("chdir to the shadow's scratch");
        }
        execvp(command[0], command);
        fail("exec the attack");
    }
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            fail("waitpid (the attack)");
    wait_for_the_rest(victims);
    printf("CONTAIN-EXIT status=%d\n", status);
    fflush(stdout);
    if (control >= 0) {
        char byte;
        while (read(control, &byte, 1) > 0)
            ;
    }
    return 0;
}
