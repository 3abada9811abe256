/* escape-victim TOKEN DIR: a process outside the sandbox for the attacks to aim at.
 *
 * It carries secrets an attack could take (ESCAPE_SECRET=TOKEN in its environment, TOKEN on
 * its command line, "SECRET-TOKEN" in an unlinked file it keeps open) and a canary string in
 * its memory, prints "VICTIM-READY pid=PID addr=ADDR fd=FD" and sleeps until killed. The
 * test then looks at it from outside: alive, canary and file intact, its nice value, policy,
 * CPU affinity, limits and I/O priority as they were.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile char canary[64] = "CANARY-untouched";

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    if (!getenv("ESCAPE_SECRET")) {
        /* Put the secret in the environment /proc/PID/environ shows: the one of execve. */
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return 3;
        self[n] = 0;
        setenv("ESCAPE_SECRET", argv[1], 1);
        execv(self, argv); /* by its name, so that its comm stays "escape-victim" */
        return 3;
    }
    char path[4096], secret[256];
    snprintf(path, sizeof path, "%s/victim-secret-%d", argv[2], getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return 4;
    unlink(path);
    int length = snprintf(secret, sizeof secret, "SECRET-%s\n", argv[1]);
    if (write(fd, secret, length) != length)
        return 5;
    printf("VICTIM-READY pid=%d addr=%p fd=%d\n", getpid(), (void *)canary, fd);
    fflush(stdout);
    fclose(stdout);
    for (;;)
        pause();
}
