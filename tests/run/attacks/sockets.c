/* Escape 8: abstract UNIX sockets (a name starting with a NUL byte, unix(7)) have no file and
 * no permissions: any process of the same network namespace may connect to one, such as a
 * D-Bus or X11 server, or a debugging port of a program outside the sandbox. The test listens
 * on the name given as the route's @parameter, outside the sandbox.
 */
#include "escape.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t abstract_address(struct sockaddr_un *address) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    size_t length = strnlen(param, sizeof address->sun_path - 1);
    memcpy(address->sun_path + 1, param, length); /* sun_path[0] = 0: abstract */
    return offsetof(struct sockaddr_un, sun_path) + 1 + length;
}

static int connect_with(int type, const char *name) {
    struct sockaddr_un address;
    socklen_t length = abstract_address(&address);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return blocked("socket", errno, "AF_UNIX %s", name);
    if (connect(fd, (struct sockaddr *)&address, length) < 0)
        return blocked("connect", errno, "@%s (%s)", param, name);
    if (send(fd, "hello", 5, 0) < 0)
        return escaped("connect", "connected to @%s (%s); send: %s", param, name,
                       strerrorname_np(errno));
    return escaped("connect", "connected to @%s (%s) and sent to it", param, name);
}

static int abstract_stream(void) { return connect_with(SOCK_STREAM, "SOCK_STREAM"); }
static int abstract_seqpacket(void) { return connect_with(SOCK_SEQPACKET, "SOCK_SEQPACKET"); }

static int abstract_dgram(void) {
    struct sockaddr_un address;
    socklen_t length = abstract_address(&address);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return blocked("socket", errno, "AF_UNIX SOCK_DGRAM");
    if (sendto(fd, "hello", 5, 0, (struct sockaddr *)&address, length) < 0)
        return blocked("sendto", errno, "@%s (SOCK_DGRAM)", param);
    return escaped("sendto", "sent a datagram to @%s", param);
}

ROUTES(socket) = {
    {"abstract-stream", abstract_stream, 0},
    {"abstract-seqpacket", abstract_seqpacket, 0},
    {"abstract-dgram", abstract_dgram, 0},
    {NULL, NULL, 0},
};
