/*
 * benchutil.h - small helpers the benchmark programs share: medians, signals that stop a run
 * so that it can clean up after itself, and the library's side of a life cycle, which
 * tests/trace checks against the raw calls of raw_cycle.h.
 */
#ifndef PSHM_BENCHUTIL_H
#define PSHM_BENCHUTIL_H

#include <pshm.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of V[0..N), which is sorted in place; NAN for none. */
static inline double bench_median(double *v, int n)
{
	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Send SIGINT, SIGTERM and SIGHUP to HANDLER, without SA_RESTART: a blocked read, write or
 * mq_receive comes back with EINTR, and the run sees the flag the handler sets.
 */
static inline void bench_catch_signals(void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* Map segment S whole through the library, check it is SIZE bytes, and unmap it. */
static inline int bench_map_unmap(struct pshm_seg *s, uint64_t size)
{
	void *p;
	size_t n;
	int r = pshm_map(s, 0, &p, &n);
	if (r)
		return r;
	r = pshm_unmap(s);
	return r ? r : n == size ? 0 : -EIO;
}

/* Close S and report the first of R and the close's error. */
static inline int bench_close(struct pshm_seg *s, int r)
{
	int e = pshm_close(s);
	return r ? r : e;
}

/*
 * Create ADDR (SIZE bytes, MODE, pshm_create's FLAGS), map, unmap and close it, and remove it
 * by its address when NAMED (a new memfd has none: its close ends it).
 */
static inline int bench_lib_create(const char *addr, uint64_t size, mode_t mode, unsigned flags,
                                   bool named)
{
	struct pshm_seg *s;
	int r = pshm_create(&s, addr, size, mode, flags);
	if (r)
		return r;
	r = bench_close(s, bench_map_unmap(s, size));
	if (named) {
		int e = pshm_destroy_addr(addr);
		if (!r)
			r = e;
	}
	return r;
}

/* Open the existing ADDR of SIZE bytes, map, unmap, close. */
static inline int bench_lib_attach(const char *addr, uint64_t size)
{
	struct pshm_seg *s;
	int r = pshm_open(&s, addr, 0);
	return r ? r : bench_close(s, bench_map_unmap(s, size));
}

/* A spinning side's pause: tells the CPU that this is a busy wait. */
static inline void bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#endif /* PSHM_BENCHUTIL_H */
