/* Escape 7: typing into the terminal the sandbox shares with the user's shell. TIOCSTI
 * pushes a character into a terminal's input queue, as if typed (drivers/tty/tty_io.c,
 * allowed on the caller's controlling terminal while dev.tty.legacy_tiocsti is 1); TIOCLINUX
 * with TIOCL_PASTESEL pastes a virtual console's selection. The test runs these on a
 * pseudo-terminal of its own, made the controlling terminal, and looks at its input queue.
 */
#include "escape.h"

#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char typed[] = "echo INJECTED\n";

static int push_into(int fd, const char *how) {
    for (const char *c = typed; *c; c++)
        if (ioctl(fd, TIOCSTI, c) < 0)
            return blocked("TIOCSTI", errno, "%s", how);
    return escaped("TIOCSTI", "pushed \"echo INJECTED\" into the terminal's input (%s)", how);
}

static int tiocsti(void) { return push_into(STDIN_FILENO, "standard input"); }

static int tiocsti_dev_tty(void) {
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "/dev/tty");
    return push_into(fd, "/dev/tty");
}

/* The kernel reads ioctl's request as an unsigned int (fs/ioctl.c): bits above 31 are lost. */
static int tiocsti_high_bits(void) {
    for (const char *c = typed; *c; c++)
        if (syscall(SYS_ioctl, STDIN_FILENO, (1UL << 32) | TIOCSTI, c) < 0)
            return blocked("TIOCSTI", errno, "request with bit 32 set");
    return escaped("TIOCSTI", "pushed input with bit 32 set in the request");
}

static int tiocsti_i386(void) {
    char *byte = low_memory(4096);
    if (!byte)
        return blocked("mmap", errno, "MAP_32BIT");
    for (const char *c = typed; *c; c++) {
        *byte = *c;
        uint32_t r = i386_call(I386_IOCTL, STDIN_FILENO, TIOCSTI, (uint32_t)(uintptr_t)byte, 0,
                               0, 0);
        if (I386_FAILED(r))
            return blocked("i386 ioctl", I386_ERRNO(r), "TIOCSTI through int 0x80");
    }
    return escaped("i386 ioctl", "pushed input through int 0x80");
}

/* TIOCL_PASTESEL is 3 (<linux/tiocl.h>). On a pseudo-terminal the tty layer answers ENOTTY:
 * the request went past the filter, and on a virtual console it would paste. */
static int tioclinux_result(long r, int err, const char *step) {
    if (r == 0)
        return escaped(step, "TIOCLINUX(TIOCL_PASTESEL) accepted");
    if (err == EPERM || err == EACCES)
        return blocked(step, err, "TIOCLINUX(TIOCL_PASTESEL)");
    return escaped(step, "TIOCLINUX reached the terminal driver, which answered %s (a "
                   "virtual console would paste)", strerrorname_np(err));
}

static int tioclinux(void) {
    char subcode = 3;
    long r = ioctl(STDIN_FILENO, TIOCLINUX, &subcode);
    return tioclinux_result(r, errno, "TIOCLINUX");
}

static int tioclinux_i386(void) {
    char *subcode = low_memory(4096);
    if (!subcode)
        return blocked("mmap", errno, "MAP_32BIT");
    *subcode = 3;
    uint32_t r = i386_call(I386_IOCTL, STDIN_FILENO, TIOCLINUX, (uint32_t)(uintptr_t)subcode, 0,
                           0, 0);
    return tioclinux_result(I386_FAILED(r) ? -1 : 0, I386_FAILED(r) ? I386_ERRNO(r) : 0,
                            "i386 ioctl");
}

/* TIOCSCTTY with 1: take the terminal from the session whose controlling terminal it is
 * (tiocsctty in drivers/tty/tty_jobctrl.c: allowed to CAP_SYS_ADMIN), from a new session of
 * this route's own. The test's terminal stays in its namespace; the route runs last. */
static int tiocsctty(void) {
    if (setsid() < 0)
        return blocked("setsid", errno, "-");
    if (ioctl(STDIN_FILENO, TIOCSCTTY, 1) < 0)
        return blocked("TIOCSCTTY", errno, "standard input, stolen from its session");
    return escaped("TIOCSCTTY", "took the terminal from the session it belonged to");
}

ROUTES(terminal) = {
    {"tiocsti", tiocsti, 0},
    {"tiocsti-dev-tty", tiocsti_dev_tty, 0},
    {"tiocsti-high-bits", tiocsti_high_bits, 0},
    {"tiocsti-i386", tiocsti_i386, 0},
    {"tioclinux", tioclinux, 0},
    {"tioclinux-i386", tioclinux_i386, 0},
    {"tiocsctty", tiocsctty, 0},
    {NULL, NULL, 0},
};
