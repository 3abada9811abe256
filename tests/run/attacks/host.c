/* Escape 2: the machine's settings and the helpers the kernel runs for it.
 *
 * Nothing here changes the machine. Files are only opened for writing (never written, never
 * truncated) and closed; sethostname, setdomainname and mount are called with arguments the
 * kernel refuses with EINVAL *after* its privilege check (kernel/sys.c, fs/namespace.c), so
 * EINVAL means "allowed" and EPERM "denied"; the one device node made is /dev/null's, in the
 * test's scratch directory, and removed at once.
 */
#include "escape.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int capability_set(const char *field) {
    char status[8192];
    if (read_file("/proc/self/status", status, sizeof status) < 0)
        return blocked("read", errno, "/proc/self/status");
    char key[32];
    snprintf(key, sizeof key, "\n%s:\t", field);
    char *line = strstr(status, key);
    if (!line)
        return blocked("parse", ENOENT, "no %s line in /proc/self/status", field);
    unsigned long long value = strtoull(line + strlen(key), NULL, 16);
    if (value)
        return escaped(field, "%s is %016llx: capabilities are held", field, value);
    return nothing(field, "%s is 0", field);
}

static int cap_eff(void) { return capability_set("CapEff"); }
static int cap_prm(void) { return capability_set("CapPrm"); }
static int cap_inh(void) { return capability_set("CapInh"); }
static int cap_bnd(void) { return capability_set("CapBnd"); }
static int cap_amb(void) { return capability_set("CapAmb"); }

/* no_new_privs (prctl(2)): without it a set-user-ID program or one with file capabilities
 * raises its privileges at execve. */
static int no_new_privs(void) {
    char status[8192];
    if (read_file("/proc/self/status", status, sizeof status) < 0)
        return blocked("read", errno, "/proc/self/status");
    char *line = strstr(status, "\nNoNewPrivs:\t");
    if (!line)
        return blocked("parse", ENOENT, "no NoNewPrivs line in /proc/self/status");
    if (line[13] != '1')
        return escaped("NoNewPrivs", "no_new_privs is not set: execve may raise privileges");
    return nothing("NoNewPrivs", "no_new_privs is set");
}

static int open_for(int flags, const char *how) {
    int fd = open(param, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "%s %s", param, how);
    close(fd);
    return escaped("open", "opened %s %s", param, how);
}

static int open_wronly(void) { return open_for(O_WRONLY, "for writing"); }
static int open_rdonly(void) { return open_for(O_RDONLY, "for reading"); }

/* A walk of a tree (submounts included, symbolic links not followed) that opens each file
 * with a write permission bit for writing, until one opens. */
struct walk {
    int tried;
    int errors[256];
    char found[4096];
};

static int walk_tree(int directory, const char *path, int depth, struct walk *walk) {
    if (depth > 16)
        return 0;
    DIR *listing = fdopendir(directory);
    if (!listing) {
        close(directory);
        return 0;
    }
    struct dirent *entry;
    int result = 0;
    while (!result && (entry = readdir(listing))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        struct stat st;
        if (fstatat(dirfd(listing), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(listing), entry->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                result = walk_tree(sub, child, depth + 1, walk);
        } else if (S_ISREG(st.st_mode) && (st.st_mode & 0222)) {
            walk->tried++;
            int fd = openat(dirfd(listing), entry->d_name,
                            O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
            if (fd >= 0) {
                close(fd);
                snprintf(walk->found, sizeof walk->found, "%s", child);
                result = 1;
            } else if (errno < 256) {
                walk->errors[errno]++;
            }
        }
    }
    closedir(listing);
    return result;
}

static int writable_under(const char *root) {
    static struct walk walk;
    int top = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0)
        return blocked("open", errno, "%s", root);
    if (walk_tree(top, root, 0, &walk))
        return escaped("open", "opened %s for writing (after %d files)", walk.found,
                       walk.tried);
    if (!walk.tried)
        return nothing("walk", "no file under %s has a write permission bit", root);
    int common = 0;
    for (int e = 1; e < 256; e++)
        if (walk.errors[e] > walk.errors[common])
            common = e;
    return blocked("open", common, "none of the %d files with a write bit under %s opened "
                   "for writing", walk.tried, root);
}

static int proc_sys_writable(void) { return writable_under("/proc/sys"); }
static int sys_writable(void) { return writable_under("/sys"); }

/* cgroup v1's release_agent: the kernel runs that program as root, outside any sandbox, when
 * a cgroup with notify_on_release empties (CVE-2022-0492). */
static int cgroup_release_agent(void) {
    DIR *cgroups = opendir("/sys/fs/cgroup");
    if (!cgroups)
        return blocked("opendir", errno, "/sys/fs/cgroup");
    struct dirent *entry;
    int seen = 0, last_error = ENOENT;
    while ((entry = readdir(cgroups))) {
        char path[512];
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/release_agent", entry->d_name);
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            closedir(cgroups);
            return escaped("open", "opened %s for writing", path);
        }
        if (errno != ENOENT) {
            seen++;
            last_error = errno;
        }
    }
    closedir(cgroups);
    return blocked("open", last_error, "%d release_agent files, none opened for writing", seen);
}

/* Too long a name: EINVAL after the CAP_SYS_ADMIN check (kernel/sys.c), nothing set. */
static int sethostname_probe(void) {
    static char name[1000];
    memset(name, 'x', sizeof name);
    if (sethostname(name, sizeof name) == 0)
        return escaped("sethostname", "sethostname accepted a 1000-byte name");
    if (errno == EINVAL)
        return escaped("sethostname", "sethostname passed its privilege check (EINVAL only "
                       "for the length)");
    return blocked("sethostname", errno, "1000-byte name");
}

static int setdomainname_probe(void) {
    static char name[1000];
    memset(name, 'x', sizeof name);
    if (setdomainname(name, sizeof name) == 0)
        return escaped("setdomainname", "setdomainname accepted a 1000-byte name");
    if (errno == EINVAL)
        return escaped("setdomainname", "setdomainname passed its privilege check (EINVAL "
                       "only for the length)");
    return blocked("setdomainname", errno, "1000-byte name");
}

static int sethostname_i386(void) {
    char *name = low_memory(4096);
    if (!name)
        return blocked("mmap", errno, "MAP_32BIT");
    memset(name, 'x', 1000);
    uint32_t r = i386_call(I386_SETHOSTNAME, (uint32_t)(uintptr_t)name, 1000, 0, 0, 0, 0);
    if (!I386_FAILED(r) || I386_ERRNO(r) == EINVAL)
        return escaped("i386 sethostname", "passed its privilege check through int 0x80 (%s)",
                       I386_FAILED(r) ? "EINVAL only for the length" : "accepted");
    return blocked("i386 sethostname", I386_ERRNO(r), "1000-byte name through int 0x80");
}

/* A bind remount of a directory that is no mount point: EINVAL after may_mount()
 * (path_mount in fs/namespace.c), nothing mounted. */
static int mount_probe(void) {
    if (mount(NULL, scratch, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0)
        return escaped("mount", "remounted %s", scratch);
    if (errno != EPERM && errno != EACCES)
        return escaped("mount", "mount passed its CAP_SYS_ADMIN check (%s only because %s is "
                       "no mount point)", strerrorname_np(errno), scratch);
    return blocked("mount", errno, "bind remount of %s", scratch);
}

static int mknod_device(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/escape-null-%d", scratch, getpid());
    if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) < 0)
        return blocked("mknod", errno, "character device 1:3 at %s", path);
    unlink(path);
    return escaped("mknod", "made a device node (1:3) in %s", scratch);
}

/* The test makes escape-suid, a set-user-ID root copy of escape-attack, and runs this route
 * as an unprivileged user: no_new_privs must keep the bit from taking effect. */
static int setuid_exec(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/escape-suid", attack_dir);
    execl(path, "escape-suid", "setuid-report", (char *)NULL);
    return blocked("execve", errno, "%s", path);
}

static int setuid_report(void) {
    route = "setuid-exec";
    if (geteuid() == 0)
        return escaped("execve", "a set-user-ID root program ran as root (uid %d, euid 0)",
                       getuid());
    return nothing("execve", "the set-user-ID bit was ignored (uid %d, euid %d)", getuid(),
                   geteuid());
}

ROUTES(host) = {
    {"cap-eff", cap_eff, 0},
    {"cap-prm", cap_prm, 0},
    {"cap-inh", cap_inh, 0},
    {"cap-bnd", cap_bnd, 0},
    {"cap-amb", cap_amb, 0},
    {"no-new-privs", no_new_privs, 0},
    {"open-wronly", open_wronly, 0},
    {"open-rdonly", open_rdonly, 0},
    {"proc-sys-writable", proc_sys_writable, 0},
    {"sys-writable", sys_writable, 0},
    {"cgroup-release-agent", cgroup_release_agent, 0},
    {"sethostname", sethostname_probe, 0},
    {"setdomainname", setdomainname_probe, 0},
    {"sethostname-i386", sethostname_i386, 0},
    {"mount", mount_probe, 0},
    {"mknod", mknod_device, 0},
    {"setuid-exec", setuid_exec, 0},
    {"setuid-report", setuid_report, IN_MAIN},
    {NULL, NULL, 0},
};
