/*
 * bench_chan - message channels against the hardware limit and the usual transports.
 *
 * harness.c is the run: options, CPU pinning, the rounds, one measurement's setting up and
 * tearing down; sides.c the forked processes and a pair's measuring loops, bcast.c a
 * broadcast's; report.c combines the rounds, measures the targets' pairs and prints;
 * transport.h says what a transport provides, and each family of transports has a file of its
 * own.
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
 *   chan epoll       the same writer; the reader waits in epoll_wait on pshm_chan_fd, then
 *                    receives with timeout 0 until -EAGAIN (an event loop's wake-up)
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
 *   chan lossy xN    a broadcast channel (PSHM_CHAN_BROADCAST) from one writer to N readers in
 *                    processes placed as iceoryx's, with the default spin (20 us, then a futex
 *                    sleep); a reader a ring behind skips to the oldest message intact
 *   chan lossless xN the same with PSHM_CHAN_LOSSLESS: the writer waits for the slowest reader
 *   chan writers xN  N (1, 2, 4) writers, each in its own process, sending at once into one
 *                    queue channel made with PSHM_CHAN_MANY_WRITERS; measured at 64 B as what
 *                    the reader receives per second from all (many.c)
 *   chan 1 writer    an ordinary queue channel and its one writer, measured the same way
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
 * three) and judged by the median of the pairs' ratios. One more holds the epoll channel's 8 B
 * latency, a wake-up through a descriptor, to the pipe's, whose blocking read is one. Three more hold the channel to iceoryx:
 * the spin channel's 8 B latency and 64 B throughput against iceoryx's polling subscriber's,
 * and the blocking channel's 8 B latency against its WaitSet's. Two hold the many-writer channel's
 * 64 B throughput with one writer and with two against the ordinary channel's one writer.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "sides.h"

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
    [T_CPOLL] = &tr_chan_poll,
    [T_PIPE] = &tr_pipe,
    [T_STREAM] = &tr_stream,
    [T_SEQP] = &tr_seqpacket,
    [T_MQ] = &tr_mq,
    [T_ZMQ] = &tr_zmq,
    [T_BOOST] = &tr_boost,
    [T_IOX_POLL] = &tr_iox_poll,
    [T_IOX_WS] = &tr_iox_ws,
    [T_CHAN_LOSSY1] = &tr_chan_lossy1,
    [T_CHAN_LOSSY2] = &tr_chan_lossy2,
    [T_CHAN_LOSSY4] = &tr_chan_lossy4,
    [T_IOX_LOSSY1] = &tr_iox_lossy1,
    [T_IOX_LOSSY2] = &tr_iox_lossy2,
    [T_IOX_LOSSY4] = &tr_iox_lossy4,
    [T_CHAN_LOSSLESS1] = &tr_chan_lossless1,
    [T_CHAN_LOSSLESS2] = &tr_chan_lossless2,
    [T_CHAN_LOSSLESS4] = &tr_chan_lossless4,
    [T_IOX_LOSSLESS1] = &tr_iox_lossless1,
    [T_IOX_LOSSLESS2] = &tr_iox_lossless2,
    [T_IOX_LOSSLESS4] = &tr_iox_lossless4,
    [T_CHAN_ONE_WRITER] = &tr_chan_one_writer,
    [T_CHAN_WRITERS1] = &tr_chan_writers1,
    [T_CHAN_WRITERS2] = &tr_chan_writers2,
    [T_CHAN_WRITERS4] = &tr_chan_writers4,
};

bool pinned;
long ncpu = 1;

/* ---- one measurement ------------------------------------------------------------------------ */

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
	else if (writers_of(t))
		r = run_many(t, &c, o, res, out, in);
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
				    ((tr->readers || writers_of(tr)) && sizes[s] != BCAST_SIZE) ||
				    (o->only && !strstr(tr->name, o->only)))
					continue;
				struct cell *c = &by_round[k][t][s];
				/* A broadcast, or many writers, is measured as throughput only. */
				if (!tr->readers && !writers_of(tr))
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
