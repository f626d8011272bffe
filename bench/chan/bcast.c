/*
 * bcast.c - bench_chan's broadcast run: one writer streaming to N readers, each a forked
 * process; what each reader received, and its share of what was sent, make the result.
 */
#include <pshm.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "benchutil.h"
#include "sides.h"

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
int run_bcast(const struct transport *t, struct tctx *c, const struct opts *o, struct result *res,
              void *out, void *in)
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
