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
 *
 * Latency: the first process sends a message, the second receives it and sends it back
 * through a second channel (pipe, queue...), and half of each round trip, timed with
 * CLOCK_MONOTONIC, is one sample; the report gives the median, the 99th and the 99.9th
 * percentile of the sorted samples. Throughput: the first process streams messages for a fixed
 * time in nine slices, each timed on the sending side, and the median slice rate is the result;
 * a stop message, acknowledged, ends the stream. Every transport copies each message in and
 * out of its own buffers, the channels and the ring included, so the comparison is like for
 * like. Every measurement is made three times, in three rounds over all of them, and each
 * figure is the median of its three: the machine's load then touches the figures compared alike.
 * --quick makes one round of shorter measurements, a check rather than a result: its 64 KiB
 * figures in particular vary from run to run.
 *
 * The targets are ratios, each printed with PASS or FAIL: the spin channel's 8 B median latency
 * against the cache line's, the blocking channel's against the futex's, and the spin channel's
 * throughput against the ring's at 64 B and 64 KiB and against the pipe's at 64 B. After the
 * table, each is measured in pairs of its two measurements made back to back (seven, quick:
 * three) and judged by the median of the pairs' ratios.
 *
 * The channels live in the shm directory (PSHM_DIR or /dev/shm) and the ZeroMQ socket next to
 * them, under names holding the process ID; the message queues are named likewise. All are
 * removed after each measurement, on error and on SIGINT, SIGTERM or SIGHUP. ZeroMQ is
 * measured only when the program was built with <zmq.h> and libzmq at hand (and not with
 * `make PSHM_BENCH_NO_ZMQ=1`); otherwise its rows say it was not measured. Exit status: 0 when
 * the run completed (whatever the verdicts), 1 on an error, 2 for a usage error.
 */
#include <pshm.h>

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    [T_LINE] = &tr_line,         [T_FUTEX] = &tr_futex,     [T_RING] = &tr_ring,
    [T_DRING] = &tr_dring,       [T_CSPIN] = &tr_chan_spin, [T_CDEF] = &tr_chan_default,
    [T_CBLOCK] = &tr_chan_block, [T_PIPE] = &tr_pipe,       [T_STREAM] = &tr_stream,
    [T_SEQP] = &tr_seqpacket,    [T_MQ] = &tr_mq,           [T_ZMQ] = &tr_zmq,
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
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		c->side = 1;
		if (pinned)
			pin(1);
		int r = run_side(t, c, what, o, samples, res, out, in);
		if (r && !stop_signal)
			fprintf(stderr, "bench_chan: %s, %zu B, second process: %s\n", t->name,
			        c->size, pshm_strerror(r));
		_exit(r ? 1 : 0);
	}
	c->side = 0;
	int r = run_side(t, c, what, o, samples, res, out, in);
	if (r)
		kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!r && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		r = -EPROTO;
	if (!r)
		res->measured = true;
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

	void *out = NULL, *in = NULL;
	int r = 0;
	const char *why = t->setup(&c);
	if (!why)
		r = errno ? -errno : -EIO;
	else if (*why)
		res->unavailable = why;
	else if (!(out = aligned_alloc(64, 65536)) || !(in = aligned_alloc(64, 65536)))
		r = -ENOMEM;
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
	        "  -q, --quick      shorter measurements (about 10 s in all instead of about 60)\n"
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
				if ((transports[t]->lat_only && s > 0) ||
				    (o->only && !strstr(transports[t]->name, o->only)))
					continue;
				struct cell *c = &by_round[k][t][s];
				r = measure_one(transports[t], sizes[s], LAT, o, samples, &c->lat);
				if (!r && !transports[t]->lat_only && !c->lat.unavailable)
					r = measure_one(transports[t], sizes[s], TPUT, o, samples,
					                &c->tput);
				if (r && !stop_signal)
					fprintf(stderr, "bench_chan: %s, %s: %s\n",
					        transports[t]->name, size_name(sizes[s]),
					        pshm_strerror(r));
			}
		}
	}
	*nrounds = k;
	return r;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int status = parse_opts(argc, argv, &o);
	if (status >= 0)
		return status;

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
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
