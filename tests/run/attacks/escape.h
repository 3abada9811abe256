/* Shared by the attack programs of tests/run/test_attacks.py.
 *
 * escape-attack runs "routes": each one tries one way out of the sandbox and prints exactly
 * one line on standard output, in a single write(2):
 *
 *     RESULT <route> <verdict> <step> <errno> <detail...>
 *
 * verdict  ESCAPED  the route got through: the attack itself saw it work (it read the
 *                   secret, the call that reaches outside returned success...).
 *          BLOCKED  a step failed; <step> names it and <errno> is the error's name
 *                   (EPERM, ESRCH...), or "-" when there was nothing to take (no capability
 *                   held, no process visible, the code would not run: SIGSEGV).
 *          DONE     every step succeeded but only the outside world can tell whether it had
 *                   an effect (a signal queued through SIGIO, a process group reniced): the
 *                   test looks at the victim.
 * The runner adds KILLED <signal> when a route's process died (SIGSYS: a seccomp kill) and
 * BROKEN when it ended without a line (a bug in the attack), and prints "START <route>"
 * before each route: a route that kills the sandbox around it may end without any line.
 */
#ifndef ESCAPE_H
#define ESCAPE_H

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the test passes on the command line (escape-attack -V PID,ADDR,FD ...). */
extern pid_t victim_pid;        /* the route's victim: a process outside the sandbox */
extern unsigned long victim_addr; /* where its canary string is */
extern int victim_fd;           /* a descriptor it holds: an unlinked secret file */
extern const char *token;       /* -t: the secret the victim's file, environment and
                                   command line carry */
extern const char *scratch;     /* -d: a directory everyone may write */
extern const char *attack_dir;  /* where escape-attack and its companions are */
extern pid_t supervisor_pid;    /* getppid() when escape-attack started (-K mode) */
extern const char *route;       /* the route running, as given: NAME[@PARAM][%VICTIM] */
extern const char *param;       /* PARAM, or "" */

int blocked(const char *step, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int escaped(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int done(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* BLOCKED with "-" for the errno: nothing to take. */
int nothing(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* SIGKILL to process group GROUP (0: this process's own) from a sacrificial child; DONE,
 * or BLOCKED with kill's error. WHICH names the group in the line. */
int kill_group(pid_t group, const char *which);
/* The whole of a small file (NUL-terminated); -1 with errno on failure. */
ssize_t read_file(const char *path, char *buffer, size_t size);
/* Whether memory [data, data+size) holds the text needle. */
int contains(const char *data, size_t size, const char *needle);
/* Pids of /proc, in the order of the directory; returns how many (at most max). */
int visible_pids(pid_t *pids, int max);

/* --- i386 system calls from this 64-bit process -------------------------------------------
 *
 * int 0x80 enters the kernel's i386 ABI even from 64-bit code: eax holds the number, ebx,
 * ecx, edx, esi, edi and ebp the six arguments, and the result comes back in eax
 * (arch/x86/entry/syscalls/syscall_32.tbl numbers; int80_emulation() in
 * arch/x86/entry/common.c). Only the low 32 bits of each register are read, so a pointer
 * must lie below 4 GiB: low_memory() maps such a page (MAP_32BIT, <asm/mman.h>).
 */
uint32_t i386_call(uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4,
                   uint32_t a5, uint32_t a6);
/* An i386 result is an error when it lies in [-4095, -1] (include/linux/err.h). */
#define I386_FAILED(r) ((uint32_t)(r) > (uint32_t)-4096)
#define I386_ERRNO(r) ((int)-(int32_t)(r))
void *low_memory(size_t size);

/* arch/x86/entry/syscalls/syscall_32.tbl */
#define I386_KILL 37
#define I386_PTRACE 26
#define I386_IOCTL 54
#define I386_CLONE 120
#define I386_SETHOSTNAME 74
#define I386_OLD_MMAP 90
#define I386_SETPRIORITY 97
#define I386_IPC 117
#define I386_MPROTECT 125
#define I386_MMAP2 192
#define I386_TKILL 238
#define I386_UNSHARE 310
#define I386_USERFAULTFD 374
#define I386_PKEY_MPROTECT 380
#define I386_SHMAT 397
#define I386_IO_URING_SETUP 425

/* A route: its name (the part before '@'), what runs it, and how (flags). */
struct route {
    const char *name;
    int (*run)(void);
    int flags;
};

/* Run in escape-attack's own process, not in a forked child. */
#define IN_MAIN 1
/* Signals or renices whatever it reaches beyond its own victim: kill(-1), every pid, its
 * parent, whole process groups, a whole user. The runner refuses to run it (a BROKEN line)
 * unless escape-attack is in a PID namespace of its own, as escape-contain makes: in the
 * machine's own, as root, kill(-1) would kill every process but init. */
#define LOOSE 2

#define ROUTES(family) const struct route family##_routes[]
extern const struct route memory_routes[], signal_routes[], host_routes[], uffd_routes[],
    supervisor_routes[], exec_routes[], terminal_routes[], socket_routes[], classic_routes[];

#endif
