/*
 * Attacks on a sandbox, and the victim they aim at: built by tests/run/test_escapes.py.
 *
 *   escapes victim TOKEN          print "PID ADDRESS", keep TOKEN in the environment and in
 *                                 a global buffer, and wait for end of file on stdin
 *   escapes attack PID ADDR NAME...
 *                                 try each named attack on process PID (its buffer at ADDR)
 *                                 and print one line each: "NAME ok [detail]" when it
 *                                 worked, "NAME denied ERRNO" when it did not
 *
 * Nothing here writes a host setting: the probes of /proc/sys and the like only open for
 * writing, and sethostname() sets the name it reads. The kill attacks use signals whose
 * default action ends the victim, so that the test can see whether one arrived.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* <linux/userfaultfd.h>: _IO(0xAA, 0x00). */
#define USERFAULTFD_IOC_NEW 0xAA00
/* <linux/ioprio.h>: IOPRIO_WHO_PROCESS, and class idle. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_PRIO_VALUE_IDLE (3 << 13)

static char buffer[64] = "untouched";
static pid_t target;
static unsigned long address;

static int report(const char *name, long result)
{
    if (result < 0)
        printf("%s denied %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
    else
        printf("%s ok %ld\n", name, result);
    fflush(stdout);
    return 0;
}

static int open_for_writing(const char *name, const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0)
        close(fd); /* opened, never written */
    return report(name, fd);
}

#if defined(__x86_64__)
/* An i386 system call through int 0x80 from this 64-bit process. */
static long int80(long nr, long a, long b, long c, long d, long e)
{
    long result;
    __asm__ volatile("push %%rbp\n\tmov %6, %%rbp\n\tint $0x80\n\tpop %%rbp"
                     : "=a"(result)
                     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
                     : "memory", "cc");
    if (result < 0 && result > -4096) {
        errno = (int)-result;
        return -1;
    }
    return result;
}
#endif

static int attack(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", target);
    if (!strcmp(name, "mem-write")) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return report(name, -1);
        return report(name, pwrite(fd, "HACKED", 6, (off_t)address));
    }
    if (!strcmp(name, "mem-read")) {
        char copy[16];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return report(name, -1);
        return report(name, pread(fd, copy, sizeof copy, (off_t)address));
    }
    if (!strcmp(name, "vm-write")) {
        struct iovec local = {"HACKED", 6}, remote = {(void *)address, 6};
        return report(name, process_vm_writev(target, &local, 1, &remote, 1, 0));
    }
    if (!strcmp(name, "ptrace")) {
        long result = ptrace(PTRACE_ATTACH, target, 0, 0);
        if (result == 0)
            ptrace(PTRACE_DETACH, target, 0, 0);
        return report(name, result);
    }
    if (!strcmp(name, "environ")) {
        char data[4096];
        snprintf(path, sizeof path, "/proc/%d/environ", target);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return report(name, -1);
        ssize_t got = read(fd, data, sizeof data - 1);
        if (got > 0) { /* show it, for the test to look for the victim's token */
            for (ssize_t i = 0; i < got; i++)
                if (!data[i])
                    data[i] = ' ';
            data[got] = 0;
            printf("environ-data %s\n", data);
        }
        return report(name, got);
    }
    if (!strcmp(name, "priority"))
        return report(name, setpriority(PRIO_PROCESS, target, 19));
    if (!strcmp(name, "prlimit")) {
        struct rlimit limit = {1, 1};
        return report(name, prlimit(target, RLIMIT_NOFILE, &limit, NULL));
    }
    if (!strcmp(name, "affinity")) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        return report(name, sched_setaffinity(target, sizeof set, &set));
    }
    if (!strcmp(name, "scheduler")) {
        struct sched_param param = {.sched_priority = 1};
        return report(name, sched_setscheduler(target, SCHED_FIFO, &param));
    }
    if (!strcmp(name, "ioprio"))
        return report(name, syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, target,
                                    IOPRIO_PRIO_VALUE_IDLE));
    if (!strcmp(name, "pidfd-open")) {
        long fd = syscall(SYS_pidfd_open, target, 0);
        return report(name, fd);
    }
    if (!strcmp(name, "pidfd-kill")) {
        long fd = syscall(SYS_pidfd_open, target, 0);
        if (fd < 0)
            return report(name, -1);
        return report(name, syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0));
    }
    if (!strcmp(name, "kill"))
        return report(name, kill(target, SIGKILL));
    if (!strcmp(name, "tgkill"))
        return report(name, syscall(SYS_tgkill, target, target, SIGKILL));
    if (!strcmp(name, "sigqueue")) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        info.si_code = SI_QUEUE;
        info.si_pid = getpid();
        info.si_uid = getuid();
        return report(name, syscall(SYS_rt_sigqueueinfo, target, SIGTERM, &info));
    }
    if (!strcmp(name, "sigio")) {
        /* F_SETOWN the victim on a pipe in O_ASYNC mode, then make it readable: the kernel
           sends SIGIO, whose default ends the victim. */
        int fds[2];
        if (pipe(fds) < 0)
            return report(name, -1);
        if (fcntl(fds[0], F_SETOWN, target) < 0)
            return report(name, -1);
        if (fcntl(fds[0], F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
            return report(name, -1);
        return report(name, write(fds[1], "x", 1));
    }
#if defined(__x86_64__)
    if (!strcmp(name, "kill-i386")) /* arch/x86/entry/syscalls/syscall_32.tbl: 37 kill */
        return report(name, int80(37, target, SIGKILL, 0, 0, 0));
#endif
    if (!strcmp(name, "caps")) {
        char line[256];
        FILE *status = fopen("/proc/self/status", "r");
        while (status && fgets(line, sizeof line, status))
            if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10)) {
                line[strcspn(line, "\n")] = 0;
                for (char *c = line; *c; c++)
                    if (*c == '\t')
                        *c = ' ';
                printf("caps %s\n", line);
            }
        return 0;
    }
    if (!strcmp(name, "core-pattern"))
        return open_for_writing(name, "/proc/sys/kernel/core_pattern");
    if (!strcmp(name, "core-pattern-via-root"))
        return open_for_writing(name, "/proc/self/root/proc/sys/kernel/core_pattern");
    if (!strcmp(name, "core-pattern-via-init"))
        return open_for_writing(name, "/proc/1/root/proc/sys/kernel/core_pattern");
    if (!strcmp(name, "hostname-file"))
        return open_for_writing(name, "/proc/sys/kernel/hostname");
    if (!strcmp(name, "sysrq"))
        return open_for_writing(name, "/proc/sysrq-trigger");
    if (!strcmp(name, "drop-caches"))
        return open_for_writing(name, "/proc/sys/vm/drop_caches");
    if (!strcmp(name, "sys-file"))
        return open_for_writing(name, "/sys/kernel/mm/transparent_hugepage/enabled");
    if (!strcmp(name, "cgroup"))
        return open_for_writing(name, "/sys/fs/cgroup/cgroup.procs");
    if (!strcmp(name, "etc-passwd"))
        return open_for_writing(name, "/etc/passwd");
    if (!strcmp(name, "kmsg"))
        return open_for_writing(name, "/dev/kmsg");
    if (!strcmp(name, "chmod-etc")) {
        /* chmod is no Landlock right: only a read-only mount stops a root process without
           capabilities from changing the mode of root's files. The same mode: no change. */
        struct stat st;
        if (stat("/etc/passwd", &st) < 0)
            return report(name, -1);
        return report(name, chmod("/etc/passwd", st.st_mode & 07777));
    }
    if (!strcmp(name, "sethostname")) {
        char host[256] = {0};
        gethostname(host, sizeof host - 1);
        return report(name, sethostname(host, strlen(host))); /* the same name */
    }
    if (!strcmp(name, "open-by-handle")) {
        /* "shocker": name_to_handle_at then open_by_handle_at needs CAP_DAC_READ_SEARCH. */
        struct {
            struct file_handle handle;
            unsigned char bytes[128];
        } h;
        int mount_id;
        h.handle.handle_bytes = 128;
        if (name_to_handle_at(AT_FDCWD, "/etc/hostname", &h.handle, &mount_id, 0) < 0)
            return report(name, -1);
        return report(name, open_by_handle_at(AT_FDCWD, &h.handle, O_RDONLY));
    }
    if (!strcmp(name, "userfaultfd-syscall"))
        return report(name, syscall(SYS_userfaultfd, O_CLOEXEC));
    if (!strcmp(name, "userfaultfd-device")) {
        int fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return report(name, -1);
        return report(name, ioctl(fd, USERFAULTFD_IOC_NEW, O_CLOEXEC));
    }
#if defined(__x86_64__)
    if (!strcmp(name, "userfaultfd-device-i386")) { /* 54 i386 ioctl */
        int fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return report(name, -1);
        return report(name, int80(54, fd, USERFAULTFD_IOC_NEW, O_CLOEXEC, 0, 0));
    }
#endif
    if (!strcmp(name, "shm-exec")) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0700);
        if (id < 0)
            return report(name, -1);
        unsigned char *memory = shmat(id, NULL, SHM_EXEC);
        shmctl(id, IPC_RMID, NULL);
        if (memory == (void *)-1)
            return report(name, -1);
        memory[0] = 0xC3; /* x86 "ret": run what was written */
#if defined(__x86_64__)
        ((void (*)(void))memory)();
#endif
        return report(name, 1);
    }
#if defined(__x86_64__)
    if (!strcmp(name, "shm-exec-i386") || !strcmp(name, "ipc-shm-exec-i386")) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0700);
        if (id < 0)
            return report(name, -1);
        long result;
        if (!strcmp(name, "shm-exec-i386")) /* 397 i386 shmat */
            result = int80(397, id, 0, SHM_EXEC, 0, 0);
        else { /* 117 i386 ipc: ipc(SHMAT, shmid, shmflg, &raddr, shmaddr) */
            static uint32_t raddr;
            result = int80(117, 21, id, SHM_EXEC, (long)(uintptr_t)&raddr, 0);
        }
        shmctl(id, IPC_RMID, NULL);
        return report(name, result);
    }
#endif
    if (!strcmp(name, "read-implies-exec"))
        return report(name, personality(READ_IMPLIES_EXEC));
    if (!strcmp(name, "self-mem")) {
        /* Write this function's own code through /proc/self/mem (FOLL_FORCE) with the same
           bytes: a change of code if it were other bytes. */
        int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return report(name, -1);
        unsigned char same[1];
        memcpy(same, (void *)(uintptr_t)&report, 1);
        return report(name, pwrite(fd, same, 1, (off_t)(uintptr_t)&report));
    }
    if (!strcmp(name, "tiocsti")) {
        char c = '#';
        return report(name, ioctl(0, TIOCSTI, &c));
    }
    if (!strcmp(name, "tioclinux")) {
        char subcode = 2; /* TIOCL_SETSEL; the filter refuses before the tty sees it */
        return report(name, ioctl(0, TIOCLINUX, &subcode));
    }
    if (!strcmp(name, "tiocsctty"))
        return report(name, ioctl(0, TIOCSCTTY, 1));
    if (!strcmp(name, "kill-parent"))
        return report(name, kill(getppid(), SIGKILL));
    if (!strcmp(name, "kill-parent-pidfd")) {
        long fd = syscall(SYS_pidfd_open, getppid(), 0);
        if (fd < 0)
            return report(name, -1);
        return report(name, syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0));
    }
    if (!strcmp(name, "getppid"))
        return report(name, getppid());
    if (!strcmp(name, "getcwd")) {
        char cwd[4096];
        return report(name, getcwd(cwd, sizeof cwd) ? 0 : -1);
    }
    if (!strcmp(name, "sleep")) {
        usleep(300000);
        return 0;
    }
    printf("%s unknown\n", name);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "victim")) {
        char line[16];
        snprintf(buffer, sizeof buffer, "untouched-%s", argv[2]);
        printf("%d %p\n", getpid(), (void *)buffer);
        fflush(stdout);
        while (read(0, line, sizeof line) > 0)
            ;
        printf("%s\n", buffer);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "attack")) {
        target = atoi(argv[2]);
        address = strtoul(argv[3], NULL, 0);
        for (int i = 4; i < argc; i++)
            attack(argv[i]);
        return 0;
    }
    fprintf(stderr, "usage: escapes victim TOKEN | escapes attack PID ADDR NAME...\n");
    return 2;
}
