/*
 * Time one system call in a tight loop, for benchmarks/compiler.py.
 *
 * Built at run time into a shared library (cc -O2 -shared -fPIC) and called through ctypes
 * once per measurement, so that the loop costs a few nanoseconds per call instead of the
 * hundreds a Python loop adds. Every call passes six zero arguments (syscall(2)).
 * clock_gettime(CLOCK_MONOTONIC) is answered by the vDSO, without a system call.
 */
#define _GNU_SOURCE
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/*
 * The lowest mean time per call over `batches` batches of `iterations / batches` calls of
 * system call `nr`; `*returned` gets what the first call returned (-1 when it failed).
 */
double ns_per_call(long nr, long iterations, int batches, long *returned)
{
	long per_batch = iterations / batches > 0 ? iterations / batches : 1;
	double best = -1;

	*returned = syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
	for (int batch = 0; batch < batches; batch++) {
		double start = now_ns();

		for (long i = 0; i < per_batch; i++)
			syscall(nr, 0L, 0L, 0L, 0L, 0L, 0L);
		double mean = (now_ns() - start) / (double)per_batch;

		if (best < 0 || mean < best)
			best = mean;
	}
	return best;
}
