/* Escape 3: userfaultfd, which lets a program stop the kernel in the middle of a copy from
 * user memory for as long as it likes (the base of many kernel exploits), by every door:
 * /dev/userfaultfd + USERFAULTFD_IOC_NEW (Linux 6.1), the userfaultfd(2) call, with and
 * without UFFD_USER_MODE_ONLY (allowed to every user whatever vm.unprivileged_userfaultfd
 * says), from x86-64 and through int 0x80.
 */
#include "escape.h"

#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

/* A handshake (UFFDIO_API) shows the descriptor works. */
static int working(int fd, const char *how) {
    struct uffdio_api api;
    memset(&api, 0, sizeof api);
    api.api = UFFD_API;
    if (ioctl(fd, UFFDIO_API, &api) < 0)
        return escaped(how, "got a userfaultfd (UFFDIO_API: %s)", strerrorname_np(errno));
    return escaped(how, "got a working userfaultfd (UFFDIO_API done)");
}

static int open_device(int *fd) {
    *fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (*fd < 0)
        return blocked("open", errno, "/dev/userfaultfd");
    return 1;
}

static int uffd_dev(void) {
    int device;
    if (open_device(&device) != 1)
        return 0;
    int fd = ioctl(device, USERFAULTFD_IOC_NEW, O_CLOEXEC);
    if (fd < 0)
        return blocked("USERFAULTFD_IOC_NEW", errno, "ioctl on /dev/userfaultfd");
    return working(fd, "USERFAULTFD_IOC_NEW");
}

static int uffd_dev_i386(void) {
    int device;
    if (open_device(&device) != 1)
        return 0;
    uint32_t r = i386_call(I386_IOCTL, device, USERFAULTFD_IOC_NEW, O_CLOEXEC, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 ioctl", I386_ERRNO(r), "USERFAULTFD_IOC_NEW through int 0x80");
    return working(r, "i386 ioctl");
}

/* The kernel reads ioctl's request as an unsigned int (fs/ioctl.c): bit 32 set, a rule that
 * compares all 64 bits would not know the request. */
static int uffd_dev_high_bits(void) {
    int device;
    if (open_device(&device) != 1)
        return 0;
    int fd = syscall(SYS_ioctl, device, (1UL << 32) | USERFAULTFD_IOC_NEW, O_CLOEXEC);
    if (fd < 0)
        return blocked("USERFAULTFD_IOC_NEW", errno, "request with bit 32 set");
    return working(fd, "USERFAULTFD_IOC_NEW");
}

static int uffd_syscall_with(int flags, const char *what) {
    int fd = syscall(SYS_userfaultfd, flags);
    if (fd < 0)
        return blocked("userfaultfd", errno, "%s", what);
    return working(fd, "userfaultfd");
}

static int uffd_syscall(void) { return uffd_syscall_with(O_CLOEXEC, "O_CLOEXEC"); }

static int uffd_syscall_user(void) {
    return uffd_syscall_with(O_CLOEXEC | UFFD_USER_MODE_ONLY, "UFFD_USER_MODE_ONLY");
}

static int uffd_i386_with(int flags, const char *what) {
    uint32_t r = i386_call(I386_USERFAULTFD, flags, 0, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 userfaultfd", I386_ERRNO(r), "%s through int 0x80", what);
    return working(r, "i386 userfaultfd");
}

static int uffd_syscall_i386(void) { return uffd_i386_with(O_CLOEXEC, "O_CLOEXEC"); }

static int uffd_syscall_i386_user(void) {
    return uffd_i386_with(O_CLOEXEC | UFFD_USER_MODE_ONLY, "UFFD_USER_MODE_ONLY");
}

ROUTES(uffd) = {
    {"uffd-dev", uffd_dev, 0},
    {"uffd-dev-i386", uffd_dev_i386, 0},
    {"uffd-dev-high-bits", uffd_dev_high_bits, 0},
    {"uffd-syscall", uffd_syscall, 0},
    {"uffd-syscall-user-mode", uffd_syscall_user, 0},
    {"uffd-syscall-i386", uffd_syscall_i386, 0},
    {"uffd-syscall-i386-user-mode", uffd_syscall_i386_user, 0},
    {NULL, NULL, 0},
};
