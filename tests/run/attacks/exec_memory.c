/* Escape 6: executable memory holding code the program wrote, under a policy that includes
 * deny_new_exec_mappings. Each route writes "mov eax, 42; ret" somewhere, makes it
 * executable its own way and calls it: 42 back is an escape; SIGSEGV means the memory was
 * not executable.
 *
 * SysV segments get a key of 0x5ecc0000 + (pid & 0xffff) and are removed as soon as they are
 * attached (or could not be), so that the test can find and remove any left behind.
 */
#include "escape.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

static const unsigned char code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov eax,42; ret */
#define PAGE 4096

/* Two whole pages of this program's own code, each "mov eax, 7; ret" and padding. */
__asm__(".pushsection .text.escape_pages,\"ax\",@progbits\n"
        ".p2align 12\n"
        ".globl escape_page_a\n"
        "escape_page_a:\n"
        "  mov $7, %eax\n"
        "  ret\n"
        ".p2align 12\n"
        ".globl escape_page_b\n"
        "escape_page_b:\n"
        "  mov $7, %eax\n"
        "  ret\n"
        ".p2align 12\n"
        ".popsection\n");
extern int escape_page_a(void), escape_page_b(void);

static sigjmp_buf fault;

static void on_fault(int signum) {
    siglongjmp(fault, signum);
}

static int run_code(void *where, const char *how) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_fault;
    sigaction(SIGSEGV, &action, NULL);
    sigaction(SIGBUS, &action, NULL);
    int signum = sigsetjmp(fault, 1);
    if (signum)
        return nothing("call", "%s: executing it raised %s: not executable", how,
                       sigabbrev_np(signum));
    int result = ((int (*)(void))where)();
    if (result == 42)
        return escaped("call", "%s: ran code this program wrote (at %p)", how, where);
    return nothing("call", "%s: the code at %p returned %d, not what was written", how, where,
                   result);
}

static void *writable_page(void) {
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int mmap_exec(void) {
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return blocked("mmap", errno, "PROT_READ|PROT_WRITE|PROT_EXEC");
    memcpy(p, code, sizeof code);
    return run_code(p, "mmap(PROT_WRITE|PROT_EXEC)");
}

static int mprotect_exec(void) {
    void *p = writable_page();
    if (!p)
        return blocked("mmap", errno, "PROT_READ|PROT_WRITE");
    memcpy(p, code, sizeof code);
    if (mprotect(p, PAGE, PROT_READ | PROT_EXEC) < 0)
        return blocked("mprotect", errno, "PROT_READ|PROT_EXEC");
    return run_code(p, "mprotect(PROT_EXEC)");
}

static int pkey_mprotect_exec(void) {
    void *p = writable_page();
    if (!p)
        return blocked("mmap", errno, "PROT_READ|PROT_WRITE");
    memcpy(p, code, sizeof code);
    if (syscall(SYS_pkey_mprotect, p, PAGE, PROT_READ | PROT_EXEC, -1) < 0)
        return blocked("pkey_mprotect", errno, "PROT_READ|PROT_EXEC, pkey -1");
    return run_code(p, "pkey_mprotect(PROT_EXEC)");
}

static int new_segment(void) {
    return shmget(0x5ecc0000 | (getpid() & 0xffff), PAGE, IPC_CREAT | IPC_EXCL | 0600);
}

static int shmat_exec(void) {
    int id = new_segment();
    if (id < 0)
        return blocked("shmget", errno, "-");
    void *p = shmat(id, NULL, SHM_EXEC);
    shmctl(id, IPC_RMID, NULL);
    if (p == (void *)-1)
        return blocked("shmat", errno, "SHM_EXEC");
    memcpy(p, code, sizeof code);
    return run_code(p, "shmat(SHM_EXEC)");
}

/* shmat's flags are an int: the kernel drops bits 32-63, a 64-bit comparison would not. */
static int shmat_exec_high_bits(void) {
    int id = new_segment();
    if (id < 0)
        return blocked("shmget", errno, "-");
    long r = syscall(SYS_shmat, id, 0, (1UL << 32) | SHM_EXEC);
    shmctl(id, IPC_RMID, NULL);
    if (r == -1)
        return blocked("shmat", errno, "SHM_EXEC with bit 32 set");
    void *p = (void *)r;
    memcpy(p, code, sizeof code);
    return run_code(p, "shmat(SHM_EXEC with bit 32 set)");
}

/* ipc(2): call SHMAT is 21 (<linux/ipc.h>); the compat entry (compat_ksys_ipc in ipc/syscall.c)
 * takes first = id, second = flags, third = where to store the address, ptr = address. */
static int shmat_exec_i386_ipc(void) {
    uint32_t *raddr = low_memory(PAGE);
    if (!raddr)
        return blocked("mmap", errno, "MAP_32BIT");
    int id = new_segment();
    if (id < 0)
        return blocked("shmget", errno, "-");
    uint32_t r = i386_call(I386_IPC, 21, id, SHM_EXEC, (uint32_t)(uintptr_t)raddr, 0, 0);
    shmctl(id, IPC_RMID, NULL);
    if (I386_FAILED(r))
        return blocked("i386 ipc", I386_ERRNO(r), "ipc(SHMAT, SHM_EXEC) through int 0x80");
    void *p = (void *)(uintptr_t)*raddr;
    memcpy(p, code, sizeof code);
    return run_code(p, "i386 ipc(SHMAT, SHM_EXEC)");
}

static int shmat_exec_i386(void) {
    int id = new_segment();
    if (id < 0)
        return blocked("shmget", errno, "-");
    uint32_t r = i386_call(I386_SHMAT, id, 0, SHM_EXEC, 0, 0, 0);
    shmctl(id, IPC_RMID, NULL);
    if (I386_FAILED(r))
        return blocked("i386 shmat", I386_ERRNO(r), "shmat(SHM_EXEC) through int 0x80");
    void *p = (void *)(uintptr_t)r;
    memcpy(p, code, sizeof code);
    return run_code(p, "i386 shmat(SHM_EXEC)");
}

static int memfd_with_code(void) {
    int fd = syscall(SYS_memfd_create, "escape-code", 0);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, PAGE) < 0 || pwrite(fd, code, sizeof code, 0) != (ssize_t)sizeof code)
        return -1;
    return fd;
}

static int memfd_mmap_exec(void) {
    int fd = memfd_with_code();
    if (fd < 0)
        return blocked("memfd_create", errno, "-");
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return blocked("mmap", errno, "PROT_READ|PROT_EXEC of a memfd");
    return run_code(p, "mmap(PROT_EXEC) of a memfd");
}

static int mmap2_exec_i386(void) {
    uint32_t r = i386_call(I386_MMAP2, 0, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS, (uint32_t)-1, 0);
    if (I386_FAILED(r))
        return blocked("i386 mmap2", I386_ERRNO(r), "PROT_WRITE|PROT_EXEC through int 0x80");
    void *p = (void *)(uintptr_t)r;
    memcpy(p, code, sizeof code);
    return run_code(p, "i386 mmap2(PROT_EXEC)");
}

/* i386's "mmap" is old_mmap: one pointer to the six arguments (struct mmap_arg_struct,
 * arch/x86/kernel/sys_ia32.c). */
static int old_mmap_exec_i386(void) {
    uint32_t *arguments = low_memory(PAGE);
    if (!arguments)
        return blocked("mmap", errno, "MAP_32BIT");
    uint32_t values[6] = {0, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS, (uint32_t)-1, 0};
    memcpy(arguments, values, sizeof values);
    uint32_t r = i386_call(I386_OLD_MMAP, (uint32_t)(uintptr_t)arguments, 0, 0, 0, 0, 0);
    if (I386_FAILED(r))
        return blocked("i386 mmap", I386_ERRNO(r), "old_mmap(PROT_EXEC) through int 0x80");
    void *p = (void *)(uintptr_t)r;
    memcpy(p, code, sizeof code);
    return run_code(p, "i386 old_mmap(PROT_EXEC)");
}

static int mprotect_exec_i386_with(uint32_t nr, const char *name) {
    void *p = low_memory(PAGE);
    if (!p)
        return blocked("mmap", errno, "MAP_32BIT");
    memcpy(p, code, sizeof code);
    uint32_t r = i386_call(nr, (uint32_t)(uintptr_t)p, PAGE, PROT_READ | PROT_EXEC,
                           (uint32_t)-1, 0, 0);
    if (I386_FAILED(r))
        return blocked(name, I386_ERRNO(r), "PROT_EXEC through int 0x80");
    return run_code(p, name);
}

static int mprotect_exec_i386(void) {
    return mprotect_exec_i386_with(I386_MPROTECT, "i386 mprotect");
}

static int pkey_mprotect_exec_i386(void) {
    return mprotect_exec_i386_with(I386_PKEY_MPROTECT, "i386 pkey_mprotect");
}

/* remap_file_pages(2) is emulated with a new mmap of the same file whose protection comes
 * from the old mapping's flags (mm/mmap.c), not from its arguments. */
static int remap_file_pages_route(void) {
    int fd = memfd_with_code();
    if (fd < 0)
        return blocked("memfd_create", errno, "-");
    void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return blocked("mmap", errno, "MAP_SHARED");
    if (syscall(SYS_remap_file_pages, p, PAGE, 0, 0, 0) < 0)
        return blocked("remap_file_pages", errno, "-");
    return run_code(p, "remap_file_pages of a shared writable mapping");
}

/* Move a page of written code over a page of this program's own code with mremap(2). */
static int mremap_over_code(void) {
    void *p = writable_page();
    if (!p)
        return blocked("mmap", errno, "PROT_READ|PROT_WRITE");
    memcpy(p, code, sizeof code);
    void *moved = mremap(p, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)escape_page_a);
    if (moved == MAP_FAILED)
        return blocked("mremap", errno, "MREMAP_FIXED over %p", (void *)escape_page_a);
    return run_code(moved, "mremap(MREMAP_FIXED) over this program's code");
}

/* /proc/self/mem writes with FOLL_FORCE (mem_rw in fs/proc/base.c): into read-only pages too,
 * such as this program's code (unless proc_mem.force_override=never). */
static int proc_self_mem_code(void) {
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return blocked("open", errno, "/proc/self/mem");
    if (pwrite(fd, code, sizeof code, (off_t)(uintptr_t)escape_page_b) < 0)
        return blocked("pwrite", errno, "/proc/self/mem over this program's code");
    return run_code((void *)escape_page_b, "/proc/self/mem over this program's code");
}

/* With READ_IMPLIES_EXEC in the personality, mmap adds PROT_EXEC to every readable mapping
 * (do_mmap in mm/mmap.c): the prot a filter sees has no PROT_EXEC. */
static int read_implies_exec(void) {
    if (personality(PER_LINUX | READ_IMPLIES_EXEC) < 0)
        return blocked("personality", errno, "READ_IMPLIES_EXEC");
    void *p = writable_page();
    if (!p)
        return blocked("mmap", errno, "PROT_READ|PROT_WRITE");
    memcpy(p, code, sizeof code);
    return run_code(p, "mmap(PROT_READ|PROT_WRITE) with READ_IMPLIES_EXEC");
}

/* escape-execstack is built with an executable stack (PT_GNU_STACK with PF_X). */
static int execstack(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/escape-execstack", attack_dir);
    execl(path, "escape-execstack", (char *)NULL);
    return blocked("execve", errno, "%s", path);
}

ROUTES(exec) = {
    {"mmap-exec", mmap_exec, 0},
    {"mprotect-exec", mprotect_exec, 0},
    {"pkey-mprotect-exec", pkey_mprotect_exec, 0},
    {"shmat-exec", shmat_exec, 0},
    {"shmat-exec-i386-ipc", shmat_exec_i386_ipc, 0},
    {"shmat-exec-high-bits", shmat_exec_high_bits, 0},
    {"shmat-exec-i386", shmat_exec_i386, 0},
    {"memfd-mmap-exec", memfd_mmap_exec, 0},
    {"mmap2-exec-i386", mmap2_exec_i386, 0},
    {"old-mmap-exec-i386", old_mmap_exec_i386, 0},
    {"mprotect-exec-i386", mprotect_exec_i386, 0},
    {"pkey-mprotect-exec-i386", pkey_mprotect_exec_i386, 0},
    {"remap-file-pages", remap_file_pages_route, 0},
    {"mremap-over-code", mremap_over_code, 0},
    {"proc-self-mem-code", proc_self_mem_code, 0},
    {"execstack", execstack, 0},
    {"read-implies-exec", read_implies_exec, 0},
    {NULL, NULL, 0},
};
