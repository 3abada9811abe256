/* escape-execstack: built with an executable stack (gcc -z execstack, PT_GNU_STACK with PF_X),
 * it writes "mov eax, 42; ret" onto its stack and calls it. Run by escape-attack's execstack
 * route under a policy with deny_new_exec_mappings; prints one RESULT line (see escape.h).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sigjmp_buf fault;

static void on_fault(int signum) {
    siglongjmp(fault, signum);
}

static void report(const char *verdict, const char *detail) {
    char line[512];
    int n = snprintf(line, sizeof line, "RESULT execstack %s call - %s\n", verdict, detail);
    if (write(STDOUT_FILENO, line, n) < 0)
        _exit(4);
}

int main(void) {
    unsigned char stack_code[16] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov eax,42; ret */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_fault;
    sigaction(SIGSEGV, &action, NULL);
    sigaction(SIGBUS, &action, NULL);
    if (sigsetjmp(fault, 1)) {
        report("BLOCKED", "executing code written on the stack faulted: the stack is not "
               "executable");
        return 0;
    }
    int result = ((int (*)(void))(void *)stack_code)();
    if (result == 42)
        report("ESCAPED", "ran code written on its executable stack (PT_GNU_STACK with PF_X)");
    else
        report("BLOCKED", "the code on the stack did not return what was written");
    return 0;
}
