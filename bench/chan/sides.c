/*
 * sides.c - bench_chan's forked processes: pinning them, their signals, how they end and are
 * waited for, and a pair's two sides, the first measuring latency or throughput against the
 * second, which echoes. A broadcast's writer and readers are bcast.c's.
 */
#include <pshm.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "sides.h"

#define WARMUP_RT   2000 /* round trips not counted */
#define WARMUP_MIN  200  /* ... however long they take */
#define MIN_SAMPLES 1000 /* latency samples however long they take */
#define SLICES      9    /* throughput: the stream is timed in this many slices */

int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* ---- the forked processes ------------------------------------------------------------------- */

/*
 * A forked side's signals: the harness's stop flag is the first process's alone, unless the
 * transport's library must clean up at exit, which a side stopped by the flag reaches.
 */
void child_signals(const struct transport *t)
{
	if (t->own_process)
		return;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

/*
 * End a forked side: with exit() when the transport's library must clean up at exit, the
 * message buffers OUT and IN freed first for a leak checker's sake.
 */
_Noreturn void end_side(const struct transport *t, int r, void *out, void *in)
{
	if (t->own_process) {
		free(out);
		free(in);
		exit(r ? 1 : 0);
	}
	_exit(r ? 1 : 0);
}

/*
 * Wait for the forked side PID, which has the harness's signal handlers: a stop signal that
 * reaches only this process is passed on to it, so that it ends as this process would.
 * 0 when it exited with status 0, else -EPROTO.
 */
int wait_side(pid_t pid)
{
	bool passed = false;
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -errno;
		if (stop_signal && !passed) {
			kill(pid, SIGTERM);
			passed = true;
		}
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EPROTO;
}

/*
 * Stop a forked side once the other has failed: at once, or, when the transport's library
 * must clean up at exit, by the stop flag of its own, which every wait checks.
 */
void stop_side(const struct transport *t, pid_t pid)
{
	kill(pid, t->own_process ? SIGTERM : SIGKILL);
}

/* Shared memory for what forked sides report back; NULL, errno set, when it cannot be had. */
void *shared_area(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- a pair --------------------------------------------------------------------------------- */

/* The second process: echo every message (latency) or only the sync and stop (throughput). */
static int echo_side(const struct transport *t, struct tctx *c, int what, void *buf)
{
	for (;;) {
		int r = t->recv(c, 0, buf, c->size);
		if (r)
			return r;
		uint64_t code = code_of(buf);
		if (what == LAT || code >= CODE_SYNC) {
			r = t->send(c, 1, buf, c->size);
			if (r)
				return r;
		}
		if (code == CODE_STOP)
			return 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, long n, double p)
{
	long i = (long)(p * (double)n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 2.0;
}

static int round_trip(const struct transport *t, struct tctx *c, void *out, void *in)
{
	int r = t->send(c, 0, out, c->size);
	return r ? r : t->recv(c, 1, in, c->size);
}

static int lat_side(const struct transport *t, struct tctx *c, const struct opts *o,
                    uint64_t *samples, struct result *res, void *out, void *in)
{
	int r;
	/* Warm the caches and the paths up; bounded in time too, for the slow transports. */
	uint64_t warm_end = now_ns() + o->run_ns / 8;
	for (uint64_t i = 0; i < WARMUP_RT && (i < WARMUP_MIN || now_ns() < warm_end); i++) {
		set_code(out, i);
		if ((r = round_trip(t, c, out, in)))
			return r;
	}
	long n = 0;
	uint64_t start = now_ns(), prev = start;
	while (n < (long)MAX_SAMPLES) {
		set_code(out, (uint64_t)n);
		if ((r = round_trip(t, c, out, in)))
			return r;
		uint64_t now = now_ns();
		samples[n++] = now - prev;
		prev = now;
		if ((n >= MIN_SAMPLES && now - start >= o->run_ns) || stop_signal)
			break;
	}
	set_code(out, CODE_STOP);
	if ((r = round_trip(t, c, out, in)))
		return r;
	qsort(samples, (size_t)n, sizeof(*samples), cmp_u64);
	res->samples = n;
	res->med_ns = pct(samples, n, 0.5);
	res->p99_ns = pct(samples, n, 0.99);
	res->p999_ns = pct(samples, n, 0.999);
	return 0;
}

static int tput_side(const struct transport *t, struct tctx *c, const struct opts *o,
                     struct result *res, void *out, void *in)
{
	int r;
	/* The second process is attached and running once the sync comes back. */
	set_code(out, CODE_SYNC);
	if ((r = round_trip(t, c, out, in)))
		return r;
	/* The stream is cut into slices timed on the sending side, and the median slice rate is
	 * the result, so that a moment of interference from other work on the machine does not
	 * decide it. The ring's back pressure keeps the sender within a ring of the receiver. */
	double rate[SLICES];
	uint64_t n = 0, start = now_ns(), slice_ns = o->run_ns / SLICES;
	/* Warm up untimed: fresh memory is slow to touch the first times on some virtual
	 * machines. At least WARMUP_MIN messages, then up to two laps of a ring or a quarter of
	 * the measuring time. */
	uint64_t laps = 2 * RING_BYTES / c->size;
	for (uint64_t w = 0; w < WARMUP_MIN || (w < laps && now_ns() - start < o->run_ns / 4);
	     w++) {
		set_code(out, n);
		if ((r = t->send(c, 0, out, c->size)))
			return r;
		n++;
	}
	uint64_t n_warm = n, t_meas = now_ns();
	for (int k = 0; k < SLICES; k++) {
		uint64_t t0 = now_ns(), n0 = n, t1;
		for (;;) {
			set_code(out, n);
			if ((r = t->send(c, 0, out, c->size)))
				return r;
			n++;
			if (n % 16 == 0 && ((t1 = now_ns()) - t0 >= slice_ns || stop_signal))
				break;
		}
		rate[k] = (double)(n - n0) / ((double)(t1 - t0) / 1e9);
	}
	set_code(out, CODE_STOP);
	if ((r = round_trip(t, c, out, in)))
		return r;
	double s = (double)(now_ns() - t_meas) / 1e9;
	qsort(rate, SLICES, sizeof(rate[0]), bench_cmp_double);
	res->messages = n - n_warm;
	res->msgs_per_s = rate[SLICES / 2];
	res->gb_per_s = res->msgs_per_s * (double)c->size / 1e9;
	res->overall_per_s = (double)(n - n_warm) / s;
	return 0;
}

/* One side's part of a measurement: open its ends, send or echo, close them. */
static int run_side(const struct transport *t, struct tctx *c, int what, const struct opts *o,
                    uint64_t *samples, struct result *res, void *out, void *in)
{
	int r = t->open ? t->open(c) : 0;
	if (!r && c->side)
		r = echo_side(t, c, what, in);
	else if (!r)
		r = what == LAT ? lat_side(t, c, o, samples, res, out, in)
		                : tput_side(t, c, o, res, out, in);
	if (t->close)
		t->close(c);
	return r;
}

/* The first side in a forked process of its own (struct transport's own_process). */
static int run_first_apart(const struct transport *t, struct tctx *c, int what,
                           const struct opts *o, uint64_t *samples, struct result *res, void *out,
                           void *in)
{
	struct apart {
		struct result res;
		int r;
	} *a = shared_area(sizeof(*a));
	if (!a)
		return -errno;
	a->r = -EPROTO;
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		munmap(a, sizeof(*a));
		return e;
	}
	if (pid == 0) {
		a->r = run_side(t, c, what, o, samples, &a->res, out, in);
		end_side(t, a->r, out, in);
	}
	int e = wait_side(pid), r = a->r ? a->r : e;
	*res = a->res;
	munmap(a, sizeof(*a));
	return r;
}

/* Fork the second process, pinned to CPU 1, and measure from the first against it. */
int run_pair(const struct transport *t, struct tctx *c, int what, const struct opts *o,
             uint64_t *samples, struct result *res, void *out, void *in)
{
	memset(out, 0xa5, 65536);
	memset(in, 0, 65536);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		child_signals(t);
		c->side = 1;
		if (pinned)
			pin(1);
		int r = run_side(t, c, what, o, samples, res, out, in);
		if (r && !stop_signal)
			fprintf(stderr, "bench_chan: %s, %zu B, second process: %s\n", t->name,
			        c->size, pshm_strerror(r));
		end_side(t, r, out, in);
	}
	c->side = 0;
	int r = t->own_process ? run_first_apart(t, c, what, o, samples, res, out, in)
	                       : run_side(t, c, what, o, samples, res, out, in);
	if (r)
		stop_side(t, pid);
	int e = wait_side(pid);
	if (!r)
		r = e;
	if (!r)
		res->measured = true;
	return r;
}
