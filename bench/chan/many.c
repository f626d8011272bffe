/*
 * many.c - bench_chan's many-writer run: N writers, each a forked process sending as fast as it
 * can, into one queue channel read by one reader, which counts what it receives; and its
 * transports, a channel made with PSHM_CHAN_MANY_WRITERS written by 1, 2 and 4 writers, and an
 * ordinary channel written by its one writer, measured the same way to compare them with.
 */
#include <pshm.h>

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "benchutil.h"
#include "sides.h"

#define MAX_WRITERS 4
#define SLICES      9              /* the reader times its count in this many slices */
#define WARMUP_MIN  200            /* messages not counted, however long they take */
#define WAIT_MS     100            /* the reader's longest wait in one call, to look at errors */
#define START_MAX   10000000000ull /* every writer attached and heard from within this */

/* What a many-writer run's processes share and report. */
struct many_area {
	_Atomic uint32_t ready;     /* writers attached */
	_Atomic uint32_t go;        /* the reader is attached: start sending */
	_Atomic uint32_t stop;      /* the reader has its count: send the stop */
	_Atomic uint32_t failed;    /* a writer failed: the reader gives up */
	uint64_t sent[MAX_WRITERS]; /* each writer's messages, its stop not counted */
	struct result res;          /* the reader's */
	int r;                      /* the reader's outcome */
};

/* ---- the transports ------------------------------------------------------------------------ */

/* One channel, direction 0, from every writer (sides 1 to N) to the reader (side 0). */
static const char *many_make(struct tctx *c, unsigned flags)
{
	new_name(c->chan_addr[0], sizeof(c->chan_addr[0]), "", "");
	char path[NAME_LEN + PATH_MAX];
	snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), c->chan_addr[0]);
	note_path(path);
	int r = pshm_chan_create(c->chan_addr[0], RING_BYTES, 0600, flags);
	if (r) {
		fprintf(stderr, "bench_chan: pshm_chan_create %s: %s\n", c->chan_addr[0],
		        pshm_strerror(r));
		errno = -r;
		return NULL;
	}
	return "";
}

static const char *many_setup(struct tctx *c)
{
	return many_make(c, PSHM_CHAN_MANY_WRITERS);
}

static const char *one_setup(struct tctx *c)
{
	return many_make(c, 0);
}

/* Each side keeps the default spin: more writers than CPUs would take the CPU from each other. */
static int many_open(struct tctx *c)
{
	int role = c->side ? PSHM_CHAN_WRITER : PSHM_CHAN_READER;
	return pshm_chan_open(&c->chan[0], c->chan_addr[0], role, 0);
}

static int many_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	return pshm_chan_send(c->chan[dir], buf, len, PSHM_CHAN_FOREVER);
}

/* A wait longer than WAIT_MS gives -ETIMEDOUT, for the reader to see whether a writer failed. */
static int many_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	size_t n;
	int r = pshm_chan_recv(c->chan[dir], buf, len, &n, WAIT_MS);
	return r ? r : n == len ? 0 : -EPROTO;
}

static void many_close(struct tctx *c)
{
	pshm_chan_close(c->chan[0]);
	c->chan[0] = NULL;
}

static void many_teardown(struct tctx *c)
{
	if (c->chan_addr[0][0])
		pshm_destroy_addr(c->chan_addr[0]);
	remove_made();
}

const struct transport tr_chan_one_writer = {
    .name = "chan 1 writer",
    .desc = "an ordinary queue channel and its one writer, measured as the many-writer rows",
    .setup = one_setup,
    .open = many_open,
    .send = many_send,
    .recv = many_recv,
    .close = many_close,
    .teardown = many_teardown,
};

#define MANY_ENTRY(n)                                                                              \
	const struct transport tr_chan_writers##n = {                                              \
	    .name = "chan writers x" #n,                                                           \
	    .desc = "a queue channel made with PSHM_CHAN_MANY_WRITERS, its writers sending at "    \
	            "once, the default spin",                                                      \
	    .setup = many_setup,                                                                   \
	    .open = many_open,                                                                     \
	    .send = many_send,                                                                     \
	    .recv = many_recv,                                                                     \
	    .close = many_close,                                                                   \
	    .teardown = many_teardown,                                                             \
	}
MANY_ENTRY(1);
MANY_ENTRY(2);
MANY_ENTRY(4);

int writers_of(const struct transport *t)
{
	if (t == &tr_chan_one_writer || t == &tr_chan_writers1)
		return 1;
	if (t == &tr_chan_writers2)
		return 2;
	return t == &tr_chan_writers4 ? 4 : 0;
}

/* ---- the run ------------------------------------------------------------------------------- */

/*
 * Receive the next message and check it: each writer's numbers must come one after the other
 * (NEXT[w], the number writer w sends next). Sets *STOPS when it was a writer's stop.
 */
static int take(const struct transport *t, struct tctx *c, struct many_area *a, int n,
                uint64_t *next, int *stops, void *in)
{
	int r;
	while ((r = t->recv(c, 0, in, c->size)) == -ETIMEDOUT)
		if (atomic_load(&a->failed) || stop_signal)
			return -ECANCELED;
	if (r)
		return r;
	uint64_t code = code_of(in), w = code_of((char *)in + 8);
	if (w >= (uint64_t)n)
		return -EPROTO;
	if (code == CODE_STOP)
		(*stops)++;
	else if (code != next[w]++)
		return -EPROTO;
	return 0;
}

/*
 * The reader: wait until every writer has attached, let them go, and receive untimed until
 * every one has been heard from and the warm-up (as a pair's sender's) is over; then count
 * what arrives in SLICES slices of the measuring time, and take the median slice's rate.
 */
static int many_count(const struct transport *t, struct tctx *c, const struct opts *o,
                      struct many_area *a, int n, void *in)
{
	uint64_t next[MAX_WRITERS] = {0}, start = now_ns(), end = start + START_MAX;
	int stops = 0, r;
	while (atomic_load(&a->ready) < (uint32_t)n) {
		if (atomic_load(&a->failed) || stop_signal)
			return -ECANCELED;
		if (now_ns() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	atomic_store(&a->go, 1);
	/* Warm up untimed: every writer has started, WARMUP_MIN messages have come, then up to
	 * two laps of the ring or a quarter of the measuring time. */
	uint64_t got = 0, laps = 2 * RING_BYTES / c->size, heard;
	start = now_ns();
	do {
		if ((r = take(t, c, a, n, next, &stops, in)))
			return r;
		got++;
		heard = 0;
		for (int w = 0; w < n; w++)
			heard += next[w] > 0;
		if (heard < (uint64_t)n && now_ns() > end)
			return -ETIMEDOUT;
	} while (heard < (uint64_t)n || got < WARMUP_MIN ||
	         (got < laps && now_ns() - start < o->run_ns / 4));
	double rate[SLICES];
	uint64_t slice_ns = o->run_ns / SLICES, t_meas = now_ns(), n_meas = got;
	for (int k = 0; k < SLICES; k++) {
		uint64_t t0 = now_ns(), g0 = got, t1;
		for (;;) {
			if ((r = take(t, c, a, n, next, &stops, in)))
				return r;
			got++;
			if (got % 16 == 0 && ((t1 = now_ns()) - t0 >= slice_ns || stop_signal))
				break;
		}
		rate[k] = (double)(got - g0) / ((double)(t1 - t0) / 1e9);
	}
	uint64_t t_end = now_ns();
	atomic_store(&a->stop, 1);
	/* Drain until every writer's stop has come: then every message each sent has come. */
	while (stops < n)
		if ((r = take(t, c, a, n, next, &stops, in)))
			return r;
	for (int w = 0; w < n; w++)
		if (next[w] != a->sent[w])
			return -EPROTO;
	qsort(rate, SLICES, sizeof(rate[0]), bench_cmp_double);
	a->res.messages = got - n_meas;
	a->res.msgs_per_s = rate[SLICES / 2];
	a->res.gb_per_s = a->res.msgs_per_s * (double)c->size / 1e9;
	a->res.overall_per_s = (double)(got - n_meas) / ((double)(t_end - t_meas) / 1e9);
	a->res.measured = true;
	return 0;
}

static int many_read(const struct transport *t, struct tctx *c, const struct opts *o,
                     struct many_area *a, int n, void *in)
{
	int r = t->open ? t->open(c) : 0;
	if (!r)
		r = many_count(t, c, o, a, n, in);
	if (t->close)
		t->close(c);
	return r;
}

/* Writer I: attach, wait for the go, send numbered messages until the reader says stop. */
static int many_write(const struct transport *t, struct tctx *c, struct many_area *a, int i,
                      void *out)
{
	uint64_t n = 0, end = now_ns() + START_MAX;
	int r = t->open ? t->open(c) : 0;
	if (!r)
		atomic_fetch_add(&a->ready, 1);
	while (!r && !atomic_load(&a->go)) {
		if (stop_signal || now_ns() > end)
			r = -ETIMEDOUT;
		sched_yield();
	}
	set_code((char *)out + 8, (uint64_t)i);
	while (!r) {
		set_code(out, n);
		if ((r = t->send(c, 0, out, c->size)))
			break;
		if (++n % 16 == 0 && atomic_load_explicit(&a->stop, memory_order_relaxed))
			break;
	}
	if (!r) {
		a->sent[i] = n;
		set_code(out, CODE_STOP);
		r = t->send(c, 0, out, c->size);
	}
	if (t->close)
		t->close(c);
	return r;
}

/* Writer I's CPU: the CPUs other than the reader's (1) in turn, from 0. */
static int writer_cpu(int i)
{
	int k = i % (int)(ncpu - 1);
	return k == 0 ? 0 : k + 1;
}

/*
 * Many writers (writers_of): the reader on CPU 1 and the writers on the other CPUs in turn
 * (on a machine of two CPUs, all on CPU 0), each in a forked process.
 */
int run_many(const struct transport *t, struct tctx *c, const struct opts *o, struct result *res,
             void *out, void *in)
{
	int n = writers_of(t) < MAX_WRITERS ? writers_of(t) : MAX_WRITERS, r = 0, nw = 0;
	pid_t writers[MAX_WRITERS], reader;
	if (c->size < 16)
		return -EINVAL; /* a message carries its number and its writer's */
	struct many_area *a = shared_area(sizeof(*a));
	if (!a)
		return -errno;
	a->r = -EPROTO;
	memset(out, 0xa5, 65536);
	memset(in, 0, 65536);
	fflush(NULL);
	if ((reader = fork()) < 0) {
		r = -errno;
		munmap(a, sizeof(*a));
		return r;
	}
	if (reader == 0) {
		child_signals(t);
		c->side = 0;
		if (pinned)
			pin(1);
		a->r = many_read(t, c, o, a, n, in);
		if (a->r && !stop_signal)
			fprintf(stderr, "bench_chan: %s, reader: %s\n", t->name,
			        pshm_strerror(a->r));
		end_side(t, a->r, out, in);
	}
	for (; nw < n; nw++) {
		if ((writers[nw] = fork()) < 0) {
			r = -errno;
			atomic_store(&a->failed, 1);
			break;
		}
		if (writers[nw] == 0) {
			child_signals(t);
			c->side = 1 + nw;
			if (pinned)
				pin(writer_cpu(nw));
			int e = many_write(t, c, a, nw, out);
			if (e && !stop_signal) {
				fprintf(stderr, "bench_chan: %s, writer %d: %s\n", t->name, nw + 1,
				        pshm_strerror(e));
				atomic_store(&a->failed, 1);
			}
			end_side(t, e, out, in);
		}
	}
	int e = wait_side(reader);
	if (!r)
		r = a->r ? a->r : e;
	for (int i = 0; i < nw; i++) {
		if (r)
			stop_side(t, writers[i]);
		e = wait_side(writers[i]);
		if (!r)
			r = e;
	}
	if (!r)
		*res = a->res;
	munmap(a, sizeof(*a));
	return r;
}
