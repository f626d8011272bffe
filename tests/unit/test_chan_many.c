/*
 * test_chan_many.c - queue channels with many writers (PSHM_CHAN_MANY_WRITERS): the rules
 * (flags, up to PSHM_CHAN_MAX_WRITERS writers, an old-style second writer refused), messages
 * arriving in the order of their claims with zero-copy reservations interleaved, a reservation
 * given up at close passed over, four writer processes into one reader with every message
 * checked, a writer killed while it holds a claim costing only that message, 200 writers killed
 * at random moments (half of them mid-reservation) beside one that keeps sending, the end as
 * the last writer leaves, and writers blocked on a full ring. Nothing sleeps to let something
 * happen: each side waits for a message, a mark in the header, or a counter in shared memory.
 */
#include "testutil.h"
#include "chantest.h"
#include "chan.h" /* the header's marks: a claim announced, a writer asleep */

#include <stdatomic.h>
#include <sys/mman.h>

static size_t len_of(uint64_t tag)
{
	return 8 + chan_mix(tag) % 300;
}

static const char *new_chan(char *buf, size_t size, uint64_t cap)
{
	tu_name(buf, size, "mw");
	tu_ok(pshm_chan_create(buf, cap, 0600, PSHM_CHAN_MANY_WRITERS));
	return buf;
}

static struct pshm_chan *attach(const char *addr, int role)
{
	struct pshm_chan *ch = NULL;
	tu_ok(pshm_chan_open(&ch, addr, role, 0));
	assert_non_null(ch);
	return ch;
}

static void send_tag(struct pshm_chan *w, uint64_t tag)
{
	unsigned char buf[512];
	size_t len = len_of(tag);
	chan_tag_fill(buf, tag, len);
	tu_ok(pshm_chan_send(w, buf, len, PSHM_CHAN_FOREVER));
}

/* Receive one message, insist that it is whole, and give its tag. */
static uint64_t recv_tag(struct pshm_chan *r, int timeout)
{
	unsigned char buf[512];
	size_t len = 0;
	uint64_t tag = 0;
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, timeout));
	if (!chan_tag_intact(buf, len, &tag, len_of))
		fail_msg("a damaged message of %zu bytes", len);
	return tag;
}

static int reap(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Shared between a test and its children: counters they wait on. */
struct shared {
	_Atomic uint64_t progress[8]; /* messages each writer child committed */
	_Atomic uint32_t holding;     /* a victim holds a reservation now */
	_Atomic uint32_t stop;        /* the steady writer may finish */
	_Atomic uint64_t got[8];      /* the reader's findings */
};

/* ---- rules --------------------------------------------------------------------------------- */

static void test_many_rules(void **state)
{
	(void)state;
	char a[64], b[64];
	struct pshm_chan_stat st;
	struct pshm_chan *w[PSHM_CHAN_MAX_WRITERS + 1] = {0}, *x = NULL;

	tu_name(b, sizeof(b), "mwbad");
	tu_err(pshm_chan_create(b, 4096, 0600,
	                        PSHM_CHAN_MANY_WRITERS | PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS),
	       -EINVAL);
	new_chan(a, sizeof(a), 4096);
	/* Of another mode, an existing channel is refused; of the same, accepted. */
	tu_err(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE), -EEXIST);
	tu_ok(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE | PSHM_CHAN_MANY_WRITERS));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.mode, PSHM_CHAN_QUEUE | PSHM_CHAN_MANY_WRITERS);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_NONE);
	assert_int_equal(st.writers, 0);

	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++)
		w[i] = attach(a, PSHM_CHAN_WRITER);
	tu_err(pshm_chan_open(&x, a, PSHM_CHAN_WRITER, 0), -EBUSY);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ATTACHED);
	assert_int_equal(st.writers, PSHM_CHAN_MAX_WRITERS);
	/* A writer's handle is no reader's, and the other way round. */
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	unsigned char buf[16];
	size_t len;
	tu_err(pshm_chan_recv(w[0], buf, sizeof(buf), &len, 0), -EINVAL);
	tu_err(pshm_chan_send(r, buf, 4, 0), -EINVAL);
	tu_err(pshm_chan_send(w[0], buf, 4096, 0), -EMSGSIZE);
	tu_err(pshm_chan_commit(w[0], 0), -EINVAL);
	tu_err(pshm_chan_abort(r), -EINVAL);
	/* A freed slot is taken again. */
	tu_ok(pshm_chan_close(w[7]));
	w[7] = attach(a, PSHM_CHAN_WRITER);
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++)
		tu_ok(pshm_chan_close(w[i]));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- order --------------------------------------------------------------------------------- */

/*
 * Messages arrive in the order they were claimed, whoever commits first; a claim given up at
 * close is passed over at once and not counted as read.
 */
static void test_many_order(void **state)
{
	(void)state;
	char a[64];
	void *pa, *pb, *pc;
	struct pshm_chan_stat st;
	unsigned char buf[64];
	size_t len;

	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER), *w2 = attach(a, PSHM_CHAN_WRITER);
	struct pshm_chan *w3 = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);

	tu_ok(pshm_chan_reserve(w1, len_of(TAG(1, 0)), &pa, 0));
	tu_ok(pshm_chan_reserve(w2, len_of(TAG(2, 0)), &pb, 0));
	tu_ok(pshm_chan_reserve(w3, 5, &pc, 0)); /* inline, and given up below */
	memset(pc, 0xee, 5);
	chan_tag_fill(pb, TAG(2, 0), len_of(TAG(2, 0)));
	tu_ok(pshm_chan_commit(w2, len_of(TAG(2, 0))));
	/* The first claim is not committed yet: nothing to read, though the second is there. */
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	chan_tag_fill(pa, TAG(1, 0), len_of(TAG(1, 0)));
	tu_ok(pshm_chan_commit(w1, len_of(TAG(1, 0))));
	assert_int_equal(recv_tag(r, 0), TAG(1, 0));
	assert_int_equal(recv_tag(r, 0), TAG(2, 0));
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_ok(pshm_chan_close(w3));
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	send_tag(w1, TAG(1, 1));
	assert_int_equal(recv_tag(r, 0), TAG(1, 1));
	assert_int_equal(atomic_load(&r->h->skipped), 1);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.received, 3);
	assert_int_equal(st.writers, 2);
	assert_int_equal(st.used, 0);

	/* Around the ring many times, the writers taking turns, with every size. */
	for (uint64_t n = 2; n < 3000; n++) {
		send_tag(n % 3 ? w1 : w2, TAG(n % 3 ? 1 : 2, n));
		assert_int_equal(recv_tag(r, 0), TAG(n % 3 ? 1 : 2, n));
	}
	/* The end comes with the last writer. */
	tu_ok(pshm_chan_close(w1));
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_ok(pshm_chan_abort(w2));
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -ECONNABORTED);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writers, 0);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ABORTED);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- processes ----------------------------------------------------------------------------- */

/* A writer child: N messages tagged W, then a clean close. */
static void writer_child(const char *a, int w, uint64_t n, struct shared *sh)
{
	struct pshm_chan *ch = NULL;
	unsigned char buf[512];
	if (pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, 0))
		_exit(1);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t tag = TAG(w, i);
		size_t len = len_of(tag);
		if (i % 2) {
			void *p;
			if (pshm_chan_reserve(ch, len, &p, PSHM_CHAN_FOREVER))
				_exit(2);
			chan_tag_fill(p, tag, len);
			if (pshm_chan_commit(ch, len))
				_exit(3);
		} else {
			chan_tag_fill(buf, tag, len);
			if (pshm_chan_send(ch, buf, len, PSHM_CHAN_FOREVER))
				_exit(4);
		}
		if (sh)
			atomic_store(&sh->progress[w], i + 1);
	}
	_exit(pshm_chan_close(ch) ? 5 : 0);
}

/* Four writer processes into one reader: every message arrives whole, each writer's in order. */
static void test_many_procs(void **state)
{
	(void)state;
	enum { WRITERS = 4, EACH = 20000 };
	char a[64];
	uint64_t next[WRITERS] = {0};
	pid_t pid[WRITERS];
	struct pshm_chan_stat st;

	new_chan(a, sizeof(a), 16384);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	for (int w = 0; w < WRITERS; w++) {
		pid[w] = fork();
		assert_true(pid[w] >= 0);
		if (pid[w] == 0)
			writer_child(a, w, EACH, NULL);
	}
	for (uint64_t got = 0; got < WRITERS * EACH; got++) {
		uint64_t tag = recv_tag(r, 60000);
		unsigned w = (unsigned)(tag >> 40);
		assert_true(w < WRITERS);
		if ((tag & 0xffffffffffull) != next[w])
			fail_msg("writer %u: message %llu after %llu", w,
			         (unsigned long long)(tag & 0xffffffffffull),
			         (unsigned long long)next[w]);
		next[w]++;
	}
	for (int w = 0; w < WRITERS; w++)
		assert_int_equal(reap(pid[w]), 0);
	unsigned char buf[8];
	size_t len;
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -EPIPE);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.sent, WRITERS * EACH);
	assert_int_equal(st.received, WRITERS * EACH);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DETACHED);
	assert_int_equal(atomic_load(&r->h->skipped), 0);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/* A child that claims a message of LEN bytes and dies holding it, once it holds it. */
static pid_t die_holding(const char *a, struct shared *sh, size_t len)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *ch = NULL;
		void *p;
		if (pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, 0) ||
		    pshm_chan_reserve(ch, len, &p, PSHM_CHAN_FOREVER))
			_exit(1);
		memset(p, 0xdd, len);
		atomic_store(&sh->holding, 1);
		for (;;)
			pause();
	}
	while (!atomic_load(&sh->holding))
		tu_poll_pause();
	kill(pid, SIGKILL);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	atomic_store(&sh->holding, 0);
	return pid;
}

/*
 * A writer killed between reserve and commit costs only its message: the reader, waiting for
 * it, finds it claimed by no live writer and passes over it, whether it sleeps meanwhile or
 * not, and a new writer in the dead one's slot changes nothing.
 */
static void test_many_dead_claim(void **state)
{
	(void)state;
	char a[64];
	struct shared *sh = tu_shared(sizeof(struct shared));
	struct pshm_chan_stat st;
	unsigned char buf[8];
	size_t len;

	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);
	send_tag(w, TAG(1, 0));
	die_holding(a, sh, 100);
	send_tag(w, TAG(1, 1));
	assert_int_equal(recv_tag(r, 0), TAG(1, 0));
	assert_int_equal(recv_tag(r, PSHM_CHAN_FOREVER), TAG(1, 1));
	assert_int_equal(atomic_load(&r->h->skipped), 1);

	/* The reader asleep first; the death and the next message come while it sleeps. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		while (!atomic_load(&r->h->reader_waiting))
			tu_poll_pause();
		die_holding(a, sh, 100);
		struct pshm_chan *cw = NULL;
		unsigned char m[512];
		chan_tag_fill(m, TAG(2, 0), len_of(TAG(2, 0)));
		_exit(pshm_chan_open(&cw, a, PSHM_CHAN_WRITER, 0) ||
		      pshm_chan_send(cw, m, len_of(TAG(2, 0)), 0) || pshm_chan_close(cw));
	}
	assert_int_equal(recv_tag(r, PSHM_CHAN_FOREVER), TAG(2, 0));
	assert_int_equal(reap(pid), 0);
	assert_int_equal(atomic_load(&r->h->skipped), 2);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_ok(pshm_chan_close(w));
	/* The writers are gone, cleanly: the dead ones' slots were taken over since. */
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -EPIPE);
	/* One dies holding a claim, and nobody takes its slot: its claim is passed over, and
	 * the end is its death. */
	die_holding(a, sh, 100);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -ECONNRESET);
	assert_int_equal(atomic_load(&r->h->skipped), 3);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DIED);
	assert_int_equal(st.writers, 0);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.received, 3);
	tu_ok(pshm_chan_close(r));
	munmap(sh, sizeof(*sh));
	tu_ok(pshm_destroy_addr(a));
}

/*
 * The data of claims passed over is free once the reader has passed every claim, though no
 * later payload in the data ring marks it read: three dead claims of 1000 bytes, each followed
 * by a message that travels in its descriptor, then one that needs the room they held.
 */
static void test_many_dead_room(void **state)
{
	(void)state;
	char a[64];
	struct shared *sh = tu_shared(sizeof(struct shared));
	struct pshm_chan_stat st;
	unsigned char buf[2048];
	size_t len;

	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);
	for (int i = 0; i < 3; i++) {
		die_holding(a, sh, 1000);
		tu_ok(pshm_chan_send(w, "short", 5, 0));
	}
	for (int i = 0; i < 3; i++) {
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER));
		assert_int_equal(len, 5);
	}
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	memset(buf, 'x', 1500);
	tu_ok(pshm_chan_send(w, buf, 1500, 0));
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	assert_int_equal(len, 1500);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.used, 0);
	assert_int_equal(atomic_load(&r->h->skipped), 3);

	/* A writer asleep for that room is woken when the reader finds it free. */
	for (int i = 0; i < 2; i++) {
		die_holding(a, sh, 1500);
		tu_ok(pshm_chan_send(w, "short", 5, 0));
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *cw = NULL;
		memset(buf, 'y', 2000);
		_exit(pshm_chan_open(&cw, a, PSHM_CHAN_WRITER, 0) ||
		      pshm_chan_send(cw, buf, 2000, PSHM_CHAN_FOREVER) || pshm_chan_close(cw));
	}
	for (int i = 0; i < 2; i++) {
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER));
		assert_int_equal(len, 5);
	}
	while (!atomic_load(&r->h->space_waiters))
		tu_poll_pause();
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER));
	assert_int_equal(len, 2000);
	assert_int_equal(reap(pid), 0);
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(r));
	munmap(sh, sizeof(*sh));
	tu_ok(pshm_destroy_addr(a));
}

/*
 * A victim writer: messages tagged with its incarnation, committed one at a time, until it is
 * killed. With HOLD it announces each reservation before it fills it, and waits there until
 * the parent has seen it hold one (and kills it).
 */
static void victim(const char *a, uint64_t inc, bool hold, struct shared *sh)
{
	struct pshm_chan *ch = NULL;
	if (pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, 0))
		_exit(1);
	for (uint64_t i = 0;; i++) {
		uint64_t tag = TAG(inc, i);
		size_t len = len_of(tag);
		void *p;
		if (pshm_chan_reserve(ch, len, &p, PSHM_CHAN_FOREVER))
			_exit(2);
		if (hold && i == 3) {
			memset(p, 0xcc, len / 2); /* half written */
			atomic_store(&sh->holding, 1);
			for (;;)
				pause();
		}
		chan_tag_fill(p, tag, len);
		if (pshm_chan_commit(ch, len))
			_exit(3);
		atomic_store(&sh->progress[1], i + 1);
	}
}

/*
 * 200 writers killed by SIGKILL, half of them while they hold a reservation half written and
 * the rest at whatever moment the kill finds them, beside a steady writer: every message of the
 * steady writer arrives, in order; every message of a victim that arrives is whole and in its
 * order; nothing else arrives.
 */
static void test_many_kill_storm(void **state)
{
	(void)state;
	enum { KILLS = 200, STEADY = 40000 };
	char a[64];
	struct shared *sh = tu_shared(sizeof(struct shared));

	new_chan(a, sizeof(a), 16384);
	/* The reader, in a child: its findings in sh->got. */
	pid_t reader = fork();
	assert_true(reader >= 0);
	if (reader == 0) {
		setenv("PSHM_CHAN_SLICE_MS", "5", 1);
		struct pshm_chan *r = NULL;
		if (pshm_chan_open(&r, a, PSHM_CHAN_READER, 0))
			_exit(1);
		uint64_t steady = 0, victims = 0, last_inc = 0, next = 0;
		for (;;) {
			unsigned char buf[512];
			size_t len = 0;
			uint64_t tag;
			int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 120000);
			if (rc == -ECONNRESET || rc == -EPIPE)
				break;
			if (rc || !chan_tag_intact(buf, len, &tag, len_of))
				_exit(2);
			uint64_t inc = tag >> 40, n = tag & 0xffffffffffull;
			if (inc == 0) {
				if (n != steady)
					_exit(3);
				steady++;
				continue;
			}
			if (inc != last_inc) {
				if (inc < last_inc)
					_exit(4);
				last_inc = inc;
				next = 0;
			}
			if (n != next)
				_exit(5);
			next++;
			victims++;
		}
		atomic_store(&sh->got[0], steady);
		atomic_store(&sh->got[1], victims);
		atomic_store(&sh->got[2], atomic_load(&r->h->skipped));
		_exit(0);
	}
	pid_t steady = fork();
	assert_true(steady >= 0);
	if (steady == 0)
		writer_child(a, 0, STEADY, sh);

	for (uint64_t k = 1; k <= KILLS; k++) {
		atomic_store(&sh->holding, 0);
		atomic_store(&sh->progress[1], 0);
		bool hold = k % 2;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			victim(a, k, hold, sh);
		if (hold) {
			while (!atomic_load(&sh->holding))
				tu_poll_pause();
		} else {
			/* Let it get somewhere first: a few of its messages, then any moment. */
			uint64_t want = chan_mix(k) % 8;
			while (atomic_load(&sh->progress[1]) < want)
				tu_poll_pause();
		}
		kill(pid, SIGKILL);
		assert_int_equal(reap(pid), 128 + SIGKILL);
	}
	assert_int_equal(reap(steady), 0);
	assert_int_equal(reap(reader), 0);
	assert_int_equal(atomic_load(&sh->got[0]), STEADY);
	/* Each victim that held a reservation had committed 3 messages before it. */
	assert_true(atomic_load(&sh->got[1]) >= 3 * KILLS / 2);
	assert_true(atomic_load(&sh->got[2]) >= KILLS / 2);
	print_message("# %d kills: %llu victims' messages arrived, %llu claims passed over\n",
	              KILLS, (unsigned long long)atomic_load(&sh->got[1]),
	              (unsigned long long)atomic_load(&sh->got[2]));
	munmap(sh, sizeof(*sh));
	tu_ok(pshm_destroy_addr(a));
}

/*
 * A live writer that stays inside a claim it makes alone (stopped there, or a header written
 * over) holds up a new writer for a second at most: -EAGAIN, and nothing of the new one stays.
 * Once it is out, writers attach again; a dead one holds up nobody.
 */
static void test_many_held_up(void **state)
{
	(void)state;
	char a[64];
	struct pshm_chan_stat st;

	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *x = NULL;
	atomic_store(&w->h->wslot[w->slot].alone, 1);
	double t0 = tu_now_ms();
	tu_err(pshm_chan_open(&x, a, PSHM_CHAN_WRITER, 0), -EAGAIN);
	assert_true(tu_now_ms() - t0 >= 900);
	assert_null(x);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writers, 1);
	assert_int_equal(atomic_load(&w->h->writers_in), 1);
	atomic_store(&w->h->wslot[w->slot].alone, 0);
	x = attach(a, PSHM_CHAN_WRITER);
	tu_ok(pshm_chan_close(x));

	/* A writer that died inside such a claim. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *cw = NULL;
		if (pshm_chan_open(&cw, a, PSHM_CHAN_WRITER, 0))
			_exit(1);
		atomic_store(&cw->h->wslot[cw->slot].alone, 1);
		raise(SIGKILL);
	}
	assert_int_equal(reap(pid), 128 + SIGKILL);
	x = attach(a, PSHM_CHAN_WRITER);
	tu_ok(pshm_chan_close(x));
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
}

/* Writers blocked on a full ring all go on once the reader reads. */
static void test_many_full(void **state)
{
	(void)state;
	enum { WRITERS = 3, EACH = 2000 };
	char a[64];
	pid_t pid[WRITERS];
	uint64_t next[WRITERS] = {0};

	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	for (int w = 0; w < WRITERS; w++) {
		pid[w] = fork();
		assert_true(pid[w] >= 0);
		if (pid[w] == 0)
			writer_child(a, w, EACH, NULL);
	}
	/* Read only once every writer sleeps on the full ring, then all of it. */
	while (atomic_load(&r->h->space_waiters) < WRITERS)
		tu_poll_pause();
	for (uint64_t got = 0; got < WRITERS * EACH; got++) {
		uint64_t tag = recv_tag(r, 60000);
		unsigned w = (unsigned)(tag >> 40);
		assert_true(w < WRITERS);
		assert_int_equal(tag & 0xffffffffffull, next[w]);
		next[w]++;
	}
	for (int w = 0; w < WRITERS; w++)
		assert_int_equal(reap(pid[w]), 0);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- the writer's paths -------------------------------------------------------------------- */

/* Send message N of this test (8 bytes inline, or 40 in the data ring) within TIMEOUT. */
static int send_n(struct pshm_chan *w, uint64_t n, int timeout)
{
	unsigned char buf[40] = {0};
	memcpy(buf, &n, sizeof(n));
	return pshm_chan_send(w, buf, n % 2 ? 40 : 8, timeout);
}

/* Receive messages FROM to TO - 1 of this test, in that order, and no more. */
static void recv_n(struct pshm_chan *r, uint64_t from, uint64_t to)
{
	unsigned char buf[64];
	size_t len;
	for (uint64_t n = from; n < to; n++) {
		uint64_t got;
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
		memcpy(&got, buf, sizeof(got));
		assert_int_equal(got, n);
		assert_int_equal(len, n % 2 ? 40 : 8);
	}
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
}

/*
 * A writer alone claims from its own copies of where its last claim left the ring; one that
 * others joined claims with a compare-and-swap, and alone again takes its copies up anew.
 * Through every change each message arrives once and in order; a full ring, a scribbled claim
 * word and a reader gone are told on each path.
 */
static void test_many_paths(void **state)
{
	(void)state;
	char a[64];
	uint64_t n = 0, from = 0;
	int r;

	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *rd = attach(a, PSHM_CHAN_READER);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER);
	/* Alone, until the ring is full. */
	while ((r = send_n(w1, n, 0)) == 0)
		n++;
	assert_int_equal(r, -EAGAIN);
	assert_true(n > 2);
	assert_true(w1->own_alone); /* it claimed from its copies */
	recv_n(rd, from, n);
	from = n;
	/* Joined by a second writer: compare-and-swap, in turn, until full again. */
	struct pshm_chan *w2 = attach(a, PSHM_CHAN_WRITER);
	for (int i = 0; (r = send_n(i % 3 ? w1 : w2, n, 0)) == 0; i++)
		n++;
	assert_int_equal(r, -EAGAIN);
	assert_false(w1->own_alone);
	recv_n(rd, from, n);
	from = n;
	/* Alone again: one claim takes its copies up, the next ones use them. */
	tu_ok(pshm_chan_close(w2));
	for (int i = 0; i < 5; i++)
		tu_ok(send_n(w1, n++, 0));
	assert_true(w1->own_alone);
	recv_n(rd, from, n);
	from = n;
	/* A peer scribbles on the claim word: refused, not followed; put back, the stream goes on. */
	uint64_t c = atomic_load(&w1->h->claim);
	atomic_store(&w1->h->claim, c ^ 0x5a5a5a5a5a5a5a5aull);
	tu_err(send_n(w1, n, 0), -EBADMSG);
	atomic_store(&w1->h->claim, c);
	tu_ok(send_n(w1, n++, 0));
	recv_n(rd, from, n);
	/* The reader gone: told among others and alone. */
	w2 = attach(a, PSHM_CHAN_WRITER);
	tu_ok(pshm_chan_close(rd));
	tu_err(send_n(w1, n, 0), -EPIPE);
	tu_err(send_n(w2, n, 0), -EPIPE);
	tu_ok(pshm_chan_close(w2));
	tu_err(send_n(w1, n, 0), -EPIPE);
	tu_ok(pshm_chan_close(w1));
	tu_ok(pshm_destroy_addr(a));
}

/* Send messages N to N + COUNT - 1 from W, then receive them: the next N. */
static uint64_t send_recv(struct pshm_chan *w, struct pshm_chan *r, uint64_t n, int count)
{
	for (int i = 0; i < count; i++)
		tu_ok(send_n(w, n + (uint64_t)i, 0));
	recv_n(r, n, n + (uint64_t)count);
	return n + (uint64_t)count;
}

/*
 * Among others, a writer that claims again and again with no other claim between takes the
 * claim word and claims with plain stores. Another writer's claim takes it back: at once from a
 * holder outside any claim, from one that died or one that is no slot's; never while the
 * holder is inside a claim (-EAGAIN after a second, the word marked as being taken back). A
 * holder that lost the word soon waits for a longer streak. Every message arrives once and in
 * order.
 */
_Static_assert(PSHM__CHAN_HOLD_STREAK == 64, "pshm_chan_create(3) and ARCHITECTURE.md say 64");
_Static_assert(PSHM__CHAN_HOLD_MAX == 65536, "ARCHITECTURE.md says 65536");

static void test_many_hold(void **state)
{
	(void)state;
	char a[64];
	struct shared *sh = tu_shared(sizeof(struct shared));
	uint64_t n = 0;

	if (!pshm__chan_asym)
		skip(); /* no membarrier here: nobody claims without compare-and-swap */
	new_chan(a, sizeof(a), 1 << 20);
	struct pshm_chan *rd = attach(a, PSHM_CHAN_READER);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER), *w2 = attach(a, PSHM_CHAN_WRITER);
	_Atomic uint32_t *holder = &w1->h->holder;
	uint32_t h1 = (uint32_t)w1->slot + 1, h2 = (uint32_t)w2->slot + 1;

	/* A streak of compare-and-swap claims, then the word; the claims after the next are plain. */
	n = send_recv(w1, rd, n, (int)PSHM__CHAN_HOLD_STREAK);
	assert_int_equal(atomic_load(holder), 0);
	n = send_recv(w1, rd, n, 2);
	assert_int_equal(atomic_load(holder), h1);
	n = send_recv(w1, rd, n, 8);
	assert_true(w1->held);
	assert_true(w1->hold_claims >= 8);
	/* The other writer takes it back at once, and its message comes next in line. */
	n = send_recv(w2, rd, n, 1);
	assert_int_equal(atomic_load(holder), 0);
	n = send_recv(w1, rd, n, 1);
	assert_false(w1->held);
	assert_int_equal(w1->need, 2 * PSHM__CHAN_HOLD_STREAK); /* held for fewer than it took */
	/* A holder inside its claim keeps the others out, however long. */
	atomic_store(holder, h2);
	atomic_store(&w1->h->wslot[w2->slot].alone, 1);
	tu_err(send_n(w1, n, 0), -EAGAIN);
	assert_int_equal(atomic_load(holder), h2 | PSHM__CHAN_HOLD_REV);
	atomic_store(&w1->h->wslot[w2->slot].alone, 0);
	n = send_recv(w1, rd, n, 1);
	assert_int_equal(atomic_load(holder), 0);
	/* A holder that is no slot's. */
	atomic_store(holder, 999);
	n = send_recv(w2, rd, n, 1);
	assert_int_equal(atomic_load(holder), 0);
	/* A holder that died. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *w = NULL;
		if (pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0))
			_exit(1);
		for (int i = 0; i < (int)PSHM__CHAN_HOLD_STREAK + 8; i++)
			if (send_n(w, n + (uint64_t)i, PSHM_CHAN_FOREVER))
				_exit(1);
		atomic_store(&sh->holding, atomic_load(&w->h->holder));
		for (;;)
			pause();
	}
	while (!atomic_load(&sh->holding))
		tu_poll_pause();
	uint32_t dead = atomic_load(&sh->holding);
	assert_true(dead != h1 && dead != h2 && dead >= 1 && dead <= PSHM_CHAN_MAX_WRITERS);
	kill(pid, SIGKILL);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	recv_n(rd, n, n + PSHM__CHAN_HOLD_STREAK + 8);
	n += PSHM__CHAN_HOLD_STREAK + 8;
	n = send_recv(w1, rd, n, 1);
	assert_int_equal(atomic_load(holder), 0);
	tu_ok(pshm_chan_close(w1));
	tu_ok(pshm_chan_close(w2));
	tu_ok(pshm_chan_close(rd));
	tu_ok(pshm_destroy_addr(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_many_rules),      cmocka_unit_test(test_many_order),
	    cmocka_unit_test(test_many_procs),      cmocka_unit_test(test_many_dead_claim),
	    cmocka_unit_test(test_many_kill_storm), cmocka_unit_test(test_many_full),
	    cmocka_unit_test(test_many_dead_room),  cmocka_unit_test(test_many_held_up),
	    cmocka_unit_test(test_many_paths),      cmocka_unit_test(test_many_hold),
	};

	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
