/*
 * bench_chan - message channels against the hardware limit and the usual transports.
 *
 * harness.c is the run: options, CPU pinning, the measurement loops and the rounds; report.c
 * combines the rounds, measures the targets' pairs and prints; transport.h says what a
 * transport provides, and each family of transports has a file of its own.
 *
 * Usage: bench_chan [--quick] [--json] [--only NAME] [--time MS]
 *
 * Two processes, the first pinned to CPU 0 and the second to CPU 1, pass messages of 8 B,
 * 64 B, 1 KiB and 64 KiB through each transport:
 *
 *   cache line       one shared cache line per direction, spun on (latency only: the limit)
 *   futex            one futex word per direction, every wait a FUTEX_WAIT and every send a
 *                    FUTEX_WAKE (latency only: the limit for a sleeping receiver)
 *   spsc ring        a minimal lock-free ring of fixed-size slots in shared memory, spun on
 *   desc ring        a minimal ring of variable-length messages whose headers live in an
 *                    array of their own (payloads of up to 16 bytes inside them), spun on:
 *                    the channels' layout with nothing else of a channel
 *   chan spin        pshm_chan_send/pshm_chan_recv, pshm_chan_set_spin(1 s): never sleeps
 *   chan default     the same with the default spin (20 us, then a futex sleep)
 *   chan blocking    the same with pshm_chan_set_spin(0): sleeps at once
 *   pipe, unix stream, unix seqpacket, mq (POSIX message queues), zmq (ZeroMQ ipc://, PAIR)
 *   boost mq         Boost.Interprocess message_queue, one per direction, blocking calls
 *   iox poll         iceoryx's C binding, loan and publish, the subscriber spinning on take;
 *                    both directions lossless (the publisher waits for a full queue)
 *   iox waitset      the same, the subscriber sleeping in a WaitSet
 *   iox lossy xN     a broadcast from one publisher to N (1, 2, 4) subscribers, each in its own
 *                    process (on CPU 1 and up, in turn) and sleeping in a WaitSet, whose queues
 *                    drop their oldest message when full; measured at 64 B as what each
 *                    reader receives per second
 *   iox lossless xN  the same with a publisher that waits for the slowest subscriber
 *
 * Latency: the first process sends a message, the second receives it and sends it back
 * through a second channel (pipe, queue...), and half of each round trip, timed with
 * CLOCK_MONOTONIC, is one sample; the report gives the median, the 99th and the 99.9th
 * percentile of the sorted samples. Throughput: the first process streams messages for a fixed
 * time in nine slices, each timed on the sending side, and the median slice rate is the result;
 * a stop message, acknowledged, ends the stream. A broadcast's writer sends syncs until every
 * reader has one, then streams as for throughput; each reader counts the messages it receives
 * between the first and the stop, and the report gives the median reader's rate and share of
 * the messages sent. Every transport copies each message in and out of its own buffers, the
 * channels and the ring included, so the comparison is like for like. Every measurement is
 * made three times, in three rounds over all of them, and each figure is the median of its
 * three: the machine's load then touches the figures compared alike. --quick makes one round
 * of shorter measurements, a check rather than a result: its 64 KiB figures in particular vary
 * from run to run.
 *
 * The targets are ratios, each printed with PASS or FAIL: the spin channel's 8 B median latency
 * against the cache line's, the blocking channel's against the futex's, and the spin channel's
 * throughput against the ring's at 64 B and 64 KiB and against the pipe's at 64 B. After the
 * table, each is measured in pairs of its two measurements made back to back (seven, quick:
 * three) and judged by the median of the pairs' ratios. Three more hold the channel to iceoryx:
 * the spin channel's 8 B latency and 64 B throughput against iceoryx's polling subscriber's,
 * and the blocking channel's 8 B latency against its WaitSet's.
 *
 * The channels live in the shm directory (PSHM_DIR or /dev/shm) and the ZeroMQ socket next to
 * them, under names holding the process ID; the message queues are named likewise. All are
 * removed after each measurement, on error and on SIGINT, SIGTERM or SIGHUP. ZeroMQ is
 * measured only when the program was built with <zmq.h> and libzmq at hand (and not with
 * `make PSHM_BENCH_NO_ZMQ=1`); otherwise its rows say it was not measured. Boost.Interprocess
 * and iceoryx likewise (PSHM_BENCH_NO_BOOST=1, PSHM_BENCH_NO_ICEORYX=1); Boost's queues live in
 * /dev/shm whatever PSHM_DIR says. iceoryx needs its broker: the first iceoryx measurement
 * starts iox-roudi (its memory in /dev/shm, its sockets in /tmp) and waits until a process can
 * register with it, and the run stops it at its end, also after a signal or an error; a broker
 * already running is used and left running, as the report says, and one that cannot be had
 * makes the iceoryx rows say why. Each side of an iceoryx measurement is a process forked for
 * it, since iceoryx's runtime is one per process. Exit status: 0 when the run completed
 * (whatever the verdicts), 1 on an error, 2 for a usage error.
 */
#include <pshm.h>

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "harness.h"

#define MAX_SAMPLES (1u << 21)
#define WARMUP_RT   2000 /* round trips not counted */
#define WARMUP_MIN  200  /* ... however long they take */
#define MIN_SAMPLES 1000 /* latency samples however long they take */
#define SLICES      9    /* throughput: the stream is timed in this many slices */

/* The first 8 bytes of every message: a sequence number, or one of these. */
#define CODE_STOP UINT64_MAX
#define CODE_SYNC (UINT64_MAX - 1)

const size_t sizes[NSIZES] = {8, 64, 1024, 65536};

volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- names to remove, whatever ends the run -------------------------------------------------- */

/* Every name made, so that a signal's cleanup finds them. */
static char made_paths[8][NAME_LEN + PATH_MAX];
static char made_mqs[2][NAME_LEN];
static unsigned name_seq;

void remove_made(void)
{
	for (size_t i = 0; i < sizeof(made_paths) / sizeof(made_paths[0]); i++) {
		if (made_paths[i][0])
			unlink(made_paths[i]);
		made_paths[i][0] = '\0';
	}
	for (size_t i = 0; i < 2; i++) {
		if (made_mqs[i][0])
			mq_unlink(made_mqs[i]);
		made_mqs[i][0] = '\0';
	}
}

void note_path(const char *path)
{
	for (size_t i = 0; i < sizeof(made_paths) / sizeof(made_paths[0]); i++) {
		if (!made_paths[i][0]) {
			snprintf(made_paths[i], sizeof(made_paths[i]), "%s", path);
			return;
		}
	}
}

void note_mq(int dir, const char *name)
{
	snprintf(made_mqs[dir], sizeof(made_mqs[dir]), "%s", name);
}

void new_name(char *buf, size_t len, const char *prefix, const char *suffix)
{
	snprintf(buf, len, "%s/pshm-bench-chan-%ld-%u%s", prefix, (long)getpid(), name_seq++,
	         suffix);
}

const struct transport *const transports[NT] = {
    [T_LINE] = &tr_line,
    [T_FUTEX] = &tr_futex,
    [T_RING] = &tr_ring,
    [T_DRING] = &tr_dring,
    [T_CSPIN] = &tr_chan_spin,
    [T_CDEF] = &tr_chan_default,
    [T_CBLOCK] = &tr_chan_block,
    [T_PIPE] = &tr_pipe,
    [T_STREAM] = &tr_stream,
    [T_SEQP] = &tr_seqpacket,
    [T_MQ] = &tr_mq,
    [T_ZMQ] = &tr_zmq,
    [T_BOOST] = &tr_boost,
    [T_IOX_POLL] = &tr_iox_poll,
    [T_IOX_WS] = &tr_iox_ws,
    [T_IOX_LOSSY1] = &tr_iox_lossy1,
    [T_IOX_LOSSY2] = &tr_iox_lossy2,
    [T_IOX_LOSSY4] = &tr_iox_lossy4,
    [T_IOX_LOSSLESS1] = &tr_iox_lossless1,
    [T_IOX_LOSSLESS2] = &tr_iox_lossless2,
    [T_IOX_LOSSLESS4] = &tr_iox_lossless4,
};

/* ---- one measurement ------------------------------------------------------------------------ */

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

bool pinned;
static long ncpu = 1; /* CPUs online */

static uint64_t code_of(const void *buf)
{
	uint64_t v;
	memcpy(&v, buf, sizeof(v));
	return v;
}

static void set_code(void *buf, uint64_t v)
{
	memcpy(buf, &v, sizeof(v));
}

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

/*
 * A forked side's signals: the harness's stop flag is the first process's alone, unless the
 * transport's library must clean up at exit, which a side stopped by the flag reaches.
 */
static void child_signals(const struct transport *t)
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
static _Noreturn void end_side(const struct transport *t, int r, void *out, void *in)
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
static int wait_side(pid_t pid)
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
static void stop_side(const struct transport *t, pid_t pid)
{
	kill(pid, t->own_process ? SIGTERM : SIGKILL);
}

/* Shared memory for what forked sides report back; NULL, errno set, when it cannot be had. */
static void *shared_area(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
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
static int run_pair(const struct transport *t, struct tctx *c, int what, const struct opts *o,
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

/* ---- a broadcast ----------------------------------------------------------------------------- */

#define MAX_READERS 4
#define SYNC_GAP_NS 100000ull      /* a writer repeats its sync this often until all have it */
#define SYNC_MAX_NS 10000000000ull /* ... for at most this long */

/* What a broadcast's processes report: each reader's count and times, the writer's. */
struct bcast_area {
	_Atomic uint32_t ready; /* readers that have received a sync */
	struct {
		uint64_t got, t_first, t_stop;
	} reader[MAX_READERS];
	uint64_t sent;
	double rate; /* the writer's, over its whole stream */
	int r;
};

/* A reader: count the messages between the first after the sync and the stop. */
static int bcast_read(const struct transport *t, struct tctx *c, struct bcast_area *a, int i,
                      void *in)
{
	uint64_t got = 0, t_first = 0;
	bool synced = false;
	int r = t->open ? t->open(c) : 0;
	while (!r) {
		if ((r = t->recv(c, 0, in, c->size)))
			break;
		uint64_t code = code_of(in), now = now_ns();
		if (code == CODE_SYNC) {
			if (!synced)
				atomic_fetch_add(&a->ready, 1);
			synced = true;
		} else if (code == CODE_STOP) {
			a->reader[i].got = got;
			a->reader[i].t_first = t_first;
			a->reader[i].t_stop = now;
			break;
		} else if (!got++) {
			t_first = now;
		}
	}
	if (t->close)
		t->close(c);
	return r;
}

/* Send syncs until every reader has received one: each subscribes in its own time. */
static int bcast_sync(const struct transport *t, struct tctx *c, struct bcast_area *a, void *out)
{
	uint64_t end = now_ns() + SYNC_MAX_NS;
	set_code(out, CODE_SYNC);
	while (atomic_load(&a->ready) < (uint32_t)c->readers) {
		if (stop_signal)
			return -EINTR;
		if (now_ns() > end)
			return -ETIMEDOUT;
		int r = t->send(c, 0, out, c->size);
		if (r)
			return r;
		uint64_t next = now_ns() + SYNC_GAP_NS;
		while (now_ns() < next && atomic_load(&a->ready) < (uint32_t)c->readers)
			bench_cpu_relax();
	}
	return 0;
}

/* The writer: stream for the measuring time, then the stop. */
static int bcast_write(const struct transport *t, struct tctx *c, const struct opts *o,
                       struct bcast_area *a, void *out)
{
	uint64_t n = 0, start = 0, now = 0;
	int r = t->open ? t->open(c) : 0;
	if (!r && !(r = bcast_sync(t, c, a, out)))
		start = now = now_ns();
	while (!r && now - start < o->run_ns && !stop_signal) {
		set_code(out, n);
		if (!(r = t->send(c, 0, out, c->size)) && ++n % 16 == 0)
			now = now_ns();
	}
	if (!r) {
		a->rate = (double)n / ((double)(now_ns() - start) / 1e9);
		a->sent = n;
		set_code(out, CODE_STOP);
		r = t->send(c, 0, out, c->size);
	}
	if (t->close)
		t->close(c);
	return r;
}

/* The median over the readers of each one's rate and share of the messages sent. */
static void bcast_result(const struct bcast_area *a, int readers, size_t size, struct result *res)
{
	double rate[MAX_READERS], share[MAX_READERS];
	for (int i = 0; i < readers; i++) {
		uint64_t got = a->reader[i].got, ns = a->reader[i].t_stop - a->reader[i].t_first;
		rate[i] = got && ns ? (double)got / ((double)ns / 1e9) : 0;
		share[i] = a->sent ? (double)got / (double)a->sent : 0;
	}
	res->msgs_per_s = bench_median(rate, readers);
	res->gb_per_s = res->msgs_per_s * (double)size / 1e9;
	res->delivered = bench_median(share, readers);
	res->overall_per_s = a->rate;
	res->messages = a->sent;
	res->measured = true;
}

/*
 * A broadcast (struct transport's readers): the writer on CPU 0 and the readers on the other
 * CPUs in turn, each in a forked process, the readers started first.
 */
static int run_bcast(const struct transport *t, struct tctx *c, const struct opts *o,
                     struct result *res, void *out, void *in)
{
	int n = t->readers < MAX_READERS ? t->readers : MAX_READERS, r = 0, nr = 0;
	pid_t readers[MAX_READERS], writer = -1;
	struct bcast_area *a = shared_area(sizeof(*a));
	if (!a)
		return -errno;
	memset(out, 0xa5, 65536);
	memset(in, 0, 65536);
	fflush(NULL);
	for (; nr < n && !r; nr++) {
		if ((readers[nr] = fork()) < 0) {
			r = -errno;
			break;
		}
		if (readers[nr] == 0) {
			child_signals(t);
			c->side = 1 + nr;
			if (pinned)
				pin(1 + nr % (int)(ncpu - 1));
			int e = bcast_read(t, c, a, nr, in);
			if (e && !stop_signal)
				fprintf(stderr, "bench_chan: %s, reader %d: %s\n", t->name, nr + 1,
				        pshm_strerror(e));
			end_side(t, e, out, in);
		}
	}
	if (!r && (writer = fork()) < 0)
		r = -errno;
	if (writer == 0) {
		c->side = 0;
		a->r = bcast_write(t, c, o, a, out);
		end_side(t, a->r, out, in);
	}
	if (writer > 0) {
		int e = wait_side(writer);
		r = a->r ? a->r : e;
	}
	for (int i = 0; i < nr; i++) {
		if (r)
			stop_side(t, readers[i]);
		int e = wait_side(readers[i]);
		if (!r)
			r = e;
	}
	if (!r)
		bcast_result(a, n, c->size, res);
	munmap(a, sizeof(*a));
	return r;
}

int measure_one(const struct transport *t, size_t size, int what, const struct opts *o,
                uint64_t *samples, struct result *res)
{
	struct tctx c;
	memset(&c, 0, sizeof(c));
	memset(c.fd, -1, sizeof(c.fd));
	c.mq[0] = c.mq[1] = (mqd_t)-1;
	c.size = size;
	c.readers = t->readers;

	void *out = NULL, *in = NULL;
	int r = 0;
	const char *why = t->setup(&c);
	if (!why)
		r = errno ? -errno : -EIO;
	else if (*why)
		res->unavailable = why;
	else if (!(out = aligned_alloc(64, 65536)) || !(in = aligned_alloc(64, 65536)))
		r = -ENOMEM;
	else if (t->readers)
		r = run_bcast(t, &c, o, res, out, in);
	else
		r = run_pair(t, &c, what, o, samples, res, out, in);
	t->teardown(&c);
	free(out);
	free(in);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_chan [--quick] [--json] [--only NAME] [--time MS]\n"
	        "  -q, --quick      shorter measurements (about 10 s in all instead of about 70)\n"
	        "  -J, --json       print the results as JSON\n"
	        "  -o, --only NAME  only the transports whose name holds NAME, e.g. chan\n"
	        "  -t, --time MS    milliseconds per measurement (default 120, quick 30)\n");
}

/* Read the options into O: -1 to go on, else the status to exit with. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"quick", no_argument, NULL, 'q'},      {"json", no_argument, NULL, 'J'},
	    {"only", required_argument, NULL, 'o'}, {"time", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	long ms = 0;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "qJo:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			o->quick = true;
			break;
		case 'J':
			o->json = true;
			break;
		case 'o':
			o->only = optarg;
			break;
		case 't':
			errno = 0;
			ms = strtol(optarg, &end, 10);
			if (*end || errno || ms < 1 || ms > 60000) {
				fprintf(stderr, "bench_chan: bad time: %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Three rounds of every measurement, 0.12 s each, then the targets' pairs; a quick run
	 * makes one round and three pairs of 0.03 s each. */
	o->run_ns = ms ? (uint64_t)ms * 1000000ull : o->quick ? 30000000ull : 120000000ull;
	return -1;
}

/*
 * Whole rounds over every transport, so that slow drift in the machine's state touches the
 * figures compared alike; the results are the medians over the rounds. *NROUNDS is how many
 * rounds began; 0, or the first error.
 */
static int run_rounds(const struct opts *o, uint64_t *samples, int *nrounds)
{
	int r = 0, k;
	for (k = 0; k < (o->quick ? 1 : ROUNDS) && !r && !stop_signal; k++) {
		for (int t = 0; t < NT && !r && !stop_signal; t++) {
			for (int s = 0; s < NSIZES && !r && !stop_signal; s++) {
				const struct transport *tr = transports[t];
				if ((tr->lat_only && s > 0) ||
				    (tr->readers && sizes[s] != BCAST_SIZE) ||
				    (o->only && !strstr(tr->name, o->only)))
					continue;
				struct cell *c = &by_round[k][t][s];
				/* A broadcast is measured as throughput only. */
				if (!tr->readers)
					r = measure_one(tr, sizes[s], LAT, o, samples, &c->lat);
				if (!r && !tr->lat_only && !c->lat.unavailable)
					r = measure_one(tr, sizes[s], TPUT, o, samples, &c->tput);
				if (r && !stop_signal)
					fprintf(stderr, "bench_chan: %s, %s: %s\n", tr->name,
					        size_name(sizes[s]), pshm_strerror(r));
			}
		}
	}
	*nrounds = k;
	return r;
}

/* Each transport's finish, once however many entries share it: iceoryx's stops its broker. */
static void finish_all(void)
{
	for (int t = 0; t < NT; t++) {
		bool done = !transports[t]->finish;
		for (int u = 0; u < t && !done; u++)
			done = transports[u]->finish == transports[t]->finish;
		if (!done)
			transports[t]->finish();
	}
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int status = parse_opts(argc, argv, &o);
	if (status >= 0)
		return status;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu >= 2 && pin(0) == 0)
		pinned = true;
	else
		fprintf(stderr, "bench_chan: cannot pin to CPUs 0 and 1: running unpinned\n");

	uint64_t *samples = malloc(MAX_SAMPLES * sizeof(*samples));
	if (!samples) {
		fprintf(stderr, "bench_chan: out of memory\n");
		return 1;
	}
	bench_catch_signals(on_signal);
	uint64_t start = now_ns();
	int k;
	int r = run_rounds(&o, samples, &k);
	combine(k);
	if (!r && !stop_signal) {
		r = measure_targets(&o, samples);
		if (r && !stop_signal)
			fprintf(stderr, "bench_chan: targets: %s\n", pshm_strerror(r));
	}
	remove_made();
	finish_all();
	free(samples);
	if (stop_signal) {
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
	if (r)
		return 1;
	if (o.json)
		print_json(&o, now_ns() - start);
	else
		print_text(&o, now_ns() - start);
	return 0;
}
