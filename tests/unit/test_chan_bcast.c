/*
 * test_chan_bcast.c - broadcast readers that join late (PSHM_CHAN_FROM_OLDEST) and lossless
 * broadcast channels (PSHM_CHAN_LOSSLESS): where a late reader starts and what it may lose, a
 * writer held back by its slowest live reader (timeouts, -EAGAIN, wake-ups by progress and by a
 * clean close), released by a reader's death, two readers of which one is slow, and readers
 * that keep joining a writer that keeps dropping. Nothing here sleeps to let something happen:
 * each side waits for the other's mark in the header ("going to sleep") or for a message.
 */
#include "testutil.h"
#include "chantest.h"
#include "chan.h" /* the header's marks: a writer asleep, held back */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define DATA(len) (((len) + 7) & ~(size_t)7)

/* Message SEQ of LEN bytes: SEQ in its first 8 bytes (as many as fit), then a pattern. */
static void fill(unsigned char *p, uint64_t seq, size_t len)
{
	uint64_t x = chan_mix(seq ^ (uint64_t)len << 40);
	memcpy(p, &seq, len < 8 ? len : 8);
	for (size_t i = 8; i < len; i++)
		p[i] = (unsigned char)(x >> (8 * (i & 7))) ^ (unsigned char)i;
}

static bool check(const unsigned char *p, uint64_t seq, size_t len)
{
	unsigned char want[4096];
	if (len > sizeof(want))
		return false;
	fill(want, seq, len);
	return memcmp(p, want, len) == 0;
}

static uint64_t seq_of(const unsigned char *p)
{
	uint64_t s;
	memcpy(&s, p, 8);
	return s;
}

/* Message lengths: from an inline 9 bytes to 200 in the data ring, varied by number. */
static size_t len_of(uint64_t seq)
{
	return 9 + chan_mix(seq) % 192;
}

static const char *new_chan(char *buf, size_t size, uint64_t cap, unsigned flags)
{
	tu_name(buf, size, "bc");
	tu_ok(pshm_chan_create(buf, cap, 0600, flags));
	return buf;
}

static struct pshm_chan *attach(const char *addr, int role, unsigned flags)
{
	struct pshm_chan *ch = NULL;
	tu_ok(pshm_chan_open(&ch, addr, role, flags));
	return ch;
}

static int send_n(struct pshm_chan *w, uint64_t seq, size_t len, int timeout)
{
	unsigned char buf[4096];
	fill(buf, seq, len);
	return pshm_chan_send(w, buf, len, timeout);
}

/* Receive one message, which must be SEQ of LEN bytes. */
static void recv_n(struct pshm_chan *r, uint64_t seq, size_t len)
{
	unsigned char buf[4096];
	size_t got = 0;
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &got, 0));
	if (got != len || !check(buf, seq, len))
		fail_msg("expected message %llu of %zu bytes, got %zu bytes carrying %llu",
		         (unsigned long long)seq, len, got,
		         (unsigned long long)(got >= 8 ? seq_of(buf) : 0));
}

static int reap(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Wait until MARK, a "going to sleep" mark in the header, is set. */
static void wait_mark(_Atomic uint32_t *mark)
{
	while (!atomic_load(mark))
		tu_poll_pause();
}

/* ---- flags ------------------------------------------------------------------------------- */

static void test_flags(void **state)
{
	(void)state;
	char a[64], b[64], q[64];
	struct pshm_chan_stat st;
	struct pshm_chan *ch = NULL;

	/* Compiled callers hold these values. */
	assert_int_equal(PSHM_CHAN_LOSSLESS, 0x200);
	assert_int_equal(PSHM_CHAN_FROM_OLDEST, 0x400);

	/* Lossless is a kind of broadcast: alone it is refused, and nothing is made. */
	tu_name(a, sizeof(a), "bc");
	tu_err(pshm_chan_create(a, 4096, 0600, PSHM_CHAN_LOSSLESS), -EINVAL);
	tu_err(pshm_chan_stat_addr(a, &st), -ENOENT);
	tu_ok(pshm_chan_create(a, 4096, 0600, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.mode, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
	assert_int_equal(st.capacity, 4096);
	/* The mode is the channel's: another mode is another channel. */
	new_chan(b, sizeof(b), 4096, PSHM_CHAN_BROADCAST);
	tu_ok(pshm_chan_stat_addr(b, &st));
	assert_int_equal(st.mode, PSHM_CHAN_BROADCAST);
	tu_ok(pshm_chan_create(a, 4096, 0600,
	                       PSHM_OPEN_OR_CREATE | PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS));
	tu_err(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE | PSHM_CHAN_BROADCAST), -EEXIST);
	tu_err(pshm_chan_create(b, 4096, 0600,
	                        PSHM_OPEN_OR_CREATE | PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS),
	       -EEXIST);

	/* PSHM_CHAN_FROM_OLDEST is a reader's; open takes no other flag. */
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, PSHM_CHAN_FROM_OLDEST), -EINVAL);
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_READER, PSHM_CHAN_LOSSLESS), -EINVAL);
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST | 1), -EINVAL);
	assert_null(ch);

	/* The header records the mode in its mode word: 3, which a library that knows only 0
	 * and 1 refuses; 2 (a lossless queue) is no channel. */
	struct pshm_seg *seg;
	void *map;
	size_t len;
	tu_ok(pshm_open(&seg, a, 0));
	tu_ok(pshm_map(seg, 0, &map, &len));
	struct pshm__chan_hdr *h = map;
	assert_int_equal(h->mode, 3);
	h->mode = 2;
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_READER, 0), -EBADMSG);
	tu_err(pshm_chan_stat_addr(a, &st), -EBADMSG);
	h->mode = 3;
	ch = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	tu_ok(pshm_chan_close(ch));
	tu_ok(pshm_close(seg));

	/* A queue reader starts at the first unread message, with the flag or without. */
	new_chan(q, sizeof(q), 4096, 0);
	struct pshm_chan *w = attach(q, PSHM_CHAN_WRITER, 0), *r = attach(q, PSHM_CHAN_READER, 0);
	for (uint64_t i = 0; i < 3; i++)
		tu_ok(send_n(w, i, 20, 0));
	recv_n(r, 0, 20);
	tu_ok(pshm_chan_close(r));
	r = attach(q, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	recv_n(r, 1, 20);
	recv_n(r, 2, 20);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
	tu_ok(pshm_destroy_addr(b));
	tu_ok(pshm_destroy_addr(q));
}

/* ---- late joiners ------------------------------------------------------------------------ */

/*
 * Read R to the end (-EAGAIN), which must be consecutive messages of 100 bytes ending with
 * LAST; returns the first one's number.
 */
static uint64_t read_run(struct pshm_chan *r, uint64_t last)
{
	unsigned char buf[256];
	size_t len;
	uint64_t first = UINT64_MAX, next = 0;
	int rc;

	while ((rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0)) == 0) {
		assert_int_equal(len, 100);
		uint64_t s = seq_of(buf);
		if (first == UINT64_MAX)
			first = next = s;
		if (s != next || !check(buf, s, 100))
			fail_msg("message %llu where %llu was due", (unsigned long long)s,
			         (unsigned long long)next);
		next++;
	}
	tu_err(rc, -EAGAIN);
	assert_int_equal(next, last + 1);
	return first;
}

static void test_from_oldest(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[256];
	size_t len;

	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER, 0);
	for (uint64_t i = 0; i < 5; i++)
		tu_ok(send_n(w, i, 100, 0));
	/* A reader that joins now sees what is still there, from the first; another, without
	 * the flag, only what comes next. */
	struct pshm_chan *old = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	struct pshm_chan *now = attach(a, PSHM_CHAN_READER, 0);
	struct pshm_chan *idle = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	assert_int_equal(read_run(old, 4), 0);
	tu_err(pshm_chan_recv(now, buf, sizeof(buf), &len, 0), -EAGAIN);
	assert_int_equal(pshm_chan_lost(old), 0);

	/* The writer laps the ring: the idle late joiner was overrun, hears so once with an
	 * exact count, and goes on with the oldest message still intact. */
	const uint64_t n = 1000;
	for (uint64_t i = 5; i < n; i++)
		tu_ok(send_n(w, i, 100, 0));
	tu_err(pshm_chan_recv(idle, buf, sizeof(buf), &len, 0), -EOVERFLOW);
	uint64_t first = read_run(idle, n - 1);
	assert_int_equal(pshm_chan_lost(idle), first);
	assert_true(n - first <= 4096 / DATA(100) && n - first >= 4096 / DATA(100) - 2);

	/* One that joins after the overwrite starts at that same oldest message and loses
	 * nothing. */
	struct pshm_chan *late = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	assert_int_equal(read_run(late, n - 1), first);
	assert_int_equal(pshm_chan_lost(late), 0);

	/* A late joiner that reads while the writer overwrites: -EOVERFLOW, then on. */
	struct pshm_chan *racer = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	recv_n(racer, first, 100);
	for (uint64_t i = n; i < n + 50; i++)
		tu_ok(send_n(w, i, 100, 0));
	tu_err(pshm_chan_recv(racer, buf, sizeof(buf), &len, 0), -EOVERFLOW);
	uint64_t resumed = read_run(racer, n + 49);
	assert_int_equal(pshm_chan_lost(racer), resumed - first - 1);

	/* Once the writer has gone, a late joiner still gets what is left, then -EPIPE: at once,
	 * although its sleeps may last a minute, since no wake-up will come. */
	tu_ok(pshm_chan_close(w));
	setenv("PSHM_CHAN_SLICE_MS", "60000", 1);
	struct pshm_chan *after = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	unsetenv("PSHM_CHAN_SLICE_MS");
	uint64_t count = 0;
	int rc;
	while ((rc = pshm_chan_recv(after, buf, sizeof(buf), &len, 0)) == 0)
		count++;
	tu_err(rc, -EPIPE);
	assert_int_equal(count, n + 50 - resumed);
	double t0 = tu_now_ms();
	tu_err(pshm_chan_recv(after, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -EPIPE);
	assert_true(tu_now_ms() - t0 < 30000);
	pshm_chan_close(old);
	pshm_chan_close(now);
	pshm_chan_close(idle);
	pshm_chan_close(late);
	pshm_chan_close(racer);
	pshm_chan_close(after);
	tu_ok(pshm_destroy_addr(a));
}

/* ---- lossless: one process --------------------------------------------------------------- */

static void test_lossless_holds(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[256];
	size_t len;
	void *q;
	const uint64_t fit = 4096 / DATA(100);

	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER, 0);
	/* Without readers nothing holds the writer back: it overwrites as in broadcast. */
	uint64_t seq = 0;
	for (; seq < 1000; seq++)
		tu_ok(send_n(w, seq, 100, 0));

	/* A reader that does not read: the ring fills, then the writer waits. */
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER, 0);
	uint64_t from = seq;
	for (; seq < from + fit; seq++)
		tu_ok(send_n(w, seq, 100, 0));
	tu_err(send_n(w, seq, 100, 0), -EAGAIN);
	tu_err(pshm_chan_reserve(w, 100, &q, 0), -EAGAIN);
	double t0 = tu_now_ms();
	tu_err(send_n(w, seq, 100, 10), -ETIMEDOUT);
	double dt = tu_now_ms() - t0;
	assert_true(dt >= 9 && dt < 30000);
	tu_err(pshm_chan_reserve(w, 100, &q, 10), -ETIMEDOUT);
	/* Each message read makes room for one. */
	recv_n(r, from, 100);
	tu_ok(send_n(w, seq++, 100, 0));
	tu_err(send_n(w, seq, 100, 0), -EAGAIN);

	/* A reader that joins at the oldest message holds the writer back too, until it has
	 * read as far as the first. */
	struct pshm_chan *late = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	recv_n(r, from + 1, 100);
	tu_err(send_n(w, seq, 100, 0), -EAGAIN);
	recv_n(late, from + 1, 100);
	tu_ok(send_n(w, seq++, 100, 0));

	/* Nothing was lost: both read everything, in order. */
	for (uint64_t i = from + 2; i < seq; i++) {
		recv_n(r, i, 100);
		recv_n(late, i, 100);
	}
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	assert_int_equal(pshm_chan_lost(r), 0);
	assert_int_equal(pshm_chan_lost(late), 0);

	/* A reader's clean close frees the writer at once. */
	for (; seq < from + 3 * fit; seq++) {
		int rc = send_n(w, seq, 100, 0);
		if (rc == -EAGAIN)
			break;
		tu_ok(rc);
	}
	tu_err(send_n(w, seq, 100, 0), -EAGAIN);
	tu_ok(pshm_chan_close(late));
	tu_err(send_n(w, seq, 100, 0), -EAGAIN); /* r still holds it */
	tu_ok(pshm_chan_close(r));
	for (uint64_t i = 0; i < 500; i++)
		tu_ok(send_n(w, seq++, 100, 0));

	struct pshm_chan_stat st;
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.sent, seq);
	assert_int_equal(st.readers, 0);
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- lossless: across processes ---------------------------------------------------------- */

struct blocked_send {
	struct pshm_chan *w;
	uint64_t seq;
	int rc;
};

/* A send that waits without limit, in a thread, while the test frees it. */
static void *send_forever(void *arg)
{
	struct blocked_send *b = arg;
	b->rc = send_n(b->w, b->seq, 100, PSHM_CHAN_FOREVER);
	return NULL;
}

/* A reader in a child that attaches, says so on READY, and reads nothing: it waits for a byte
 * on GO and then closes its handle cleanly, or for its death. */
static pid_t idle_reader(const char *a, int ready, int go)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);
		struct pshm_chan *r = NULL;
		char c;
		CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "open");
		CHILD_CHECK(write(ready, "r", 1) == 1, "ready");
		CHILD_CHECK(read(go, &c, 1) == 1, "go");
		_exit(pshm_chan_close(r) == 0 ? 0 : 1);
	}
	return pid;
}

/*
 * A writer asleep, held back by a reader in another process, is freed by that reader's death
 * (SIGKILL), and by a clean close: each time it sleeps first, and what frees it is the event.
 */
static void test_lossless_release(void **state)
{
	(void)state;
	char a[64], c;
	int ready[2], go[2];

	for (int kill_it = 1; kill_it >= 0; kill_it--) {
		/* A death is seen at the end of a sleep (50 ms); a close must wake the writer,
		 * which would otherwise sleep for a minute, and the alarm end the test. */
		if (!kill_it)
			setenv("PSHM_CHAN_SLICE_MS", "60000", 1);
		new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
		assert_int_equal(pipe(ready), 0);
		assert_int_equal(pipe(go), 0);
		pid_t pid = idle_reader(a, ready[1], go[0]);
		assert_int_equal(read(ready[0], &c, 1), 1);
		alarm(30);
		struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER, 0);
		tu_ok(pshm_chan_set_spin(w, 0));
		uint64_t seq = 0;
		int rc;
		while ((rc = send_n(w, seq, 100, 0)) == 0)
			seq++;
		tu_err(rc, -EAGAIN);
		struct blocked_send b = {.w = w, .seq = seq};
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, send_forever, &b), 0);
		wait_mark(&w->h->writer_waiting);
		if (kill_it) {
			kill(pid, SIGKILL);
			assert_int_equal(reap(pid), 128 + SIGKILL);
		} else {
			assert_int_equal(write(go[1], "g", 1), 1);
		}
		assert_int_equal(pthread_join(t, NULL), 0);
		tu_ok(b.rc);
		/* Nobody holds it back now. */
		for (uint64_t i = 1; i < 300; i++)
			tu_ok(send_n(w, seq + i, 100, 0));
		if (!kill_it)
			assert_int_equal(reap(pid), 0);
		alarm(0);
		struct pshm_chan_stat st;
		tu_ok(pshm_chan_stat_addr(a, &st));
		assert_int_equal(st.readers, 0);
		tu_ok(pshm_chan_close(w));
		tu_ok(pshm_destroy_addr(a));
		close(ready[0]);
		close(ready[1]);
		close(go[0]);
		close(go[1]);
	}
	unsetenv("PSHM_CHAN_SLICE_MS");
}

/*
 * A reader in a child: reads N messages in order and then -EPIPE; never -EOVERFLOW. When LOCKSTEP
 * is set, it reads each of the first LOCKSTEP messages only once the writer sleeps, held back:
 * each of its reads must wake the writer.
 */
static pid_t lossless_reader(const char *a, int ready, uint64_t n, uint64_t lockstep)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid != 0)
		return pid;
	alarm(120);
	struct pshm_chan *r = NULL;
	unsigned char buf[4096];
	size_t len;
	CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "open");
	CHILD_CHECK(write(ready, "r", 1) == 1, "ready");
	for (uint64_t i = 0; i < n; i++) {
		if (i < lockstep)
			while (!atomic_load(&r->h->writer_waiting))
				tu_poll_pause();
		int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
		CHILD_CHECK(rc == 0, "message %llu: %s", (unsigned long long)i, pshm_strerror(rc));
		CHILD_CHECK(len == len_of(i) && check(buf, i, len), "message %llu damaged",
		            (unsigned long long)i);
	}
	int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
	CHILD_CHECK(rc == -EPIPE, "after the last: %s", pshm_strerror(rc));
	CHILD_CHECK(pshm_chan_lost(r) == 0, "lost %llu", (unsigned long long)pshm_chan_lost(r));
	_exit(pshm_chan_close(r) == 0 ? 0 : 1);
}

/*
 * Two readers, one fast and one slow: both get every message; the writer waits for the slow.
 * Every sleep may last a minute, so that a lost wake-up hangs the test until the alarm.
 */
static void test_lossless_two_readers(void **state)
{
	(void)state;
	char a[64], c;
	int ready[2];
	const uint64_t n = 20000, lockstep = 300;

	setenv("PSHM_CHAN_SLICE_MS", "60000", 1);
	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
	assert_int_equal(pipe(ready), 0);
	pid_t fast = lossless_reader(a, ready[1], n, 0);
	pid_t slow = lossless_reader(a, ready[1], n, lockstep);
	for (int i = 0; i < 2; i++)
		assert_int_equal(read(ready[0], &c, 1), 1);
	alarm(120);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER, 0);
	uint64_t held = 0;
	unsigned char buf[256];
	for (uint64_t i = 0; i < n; i++) {
		fill(buf, i, len_of(i));
		int rc = pshm_chan_send(w, buf, len_of(i), 0);
		if (rc == -EAGAIN) {
			held++;
			rc = pshm_chan_send(w, buf, len_of(i), PSHM_CHAN_FOREVER);
		}
		tu_ok(rc);
	}
	tu_ok(pshm_chan_close(w));
	assert_int_equal(reap(fast), 0);
	assert_int_equal(reap(slow), 0);
	alarm(0);
	unsetenv("PSHM_CHAN_SLICE_MS");
	assert_true(held > 0);
	struct pshm_chan_stat st;
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.received, 2 * n);
	close(ready[0]);
	close(ready[1]);
	tu_ok(pshm_destroy_addr(a));
}

/*
 * Readers keep joining a writer that keeps dropping, from the oldest message or from the next:
 * each must read what follows its first message without a gap, never -EOVERFLOW. A reader that
 * the writer did not see as it attached would lose the messages the writer dropped meanwhile.
 */
static void test_lossless_joins(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[256];
	size_t len;

	setenv("PSHM_CHAN_SLICE_MS", "60000", 1);
	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
	_Atomic int *stop =
	    mmap(NULL, sizeof(*stop), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(stop != MAP_FAILED);
	atomic_store(stop, 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(120);
		struct pshm_chan *w = NULL;
		CHILD_CHECK(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0) == 0, "open");
		unsigned char out[256];
		for (uint64_t i = 0; !atomic_load(stop); i++) {
			fill(out, i, len_of(i));
			int rc = pshm_chan_send(w, out, len_of(i), PSHM_CHAN_FOREVER);
			CHILD_CHECK(rc == 0, "send %llu: %s", (unsigned long long)i,
			            pshm_strerror(rc));
		}
		_exit(pshm_chan_close(w) == 0 ? 0 : 1);
	}
	alarm(120);
	struct pshm_chan_stat st;
	do {
		tu_ok(pshm_chan_stat_addr(a, &st));
		if (st.sent < 1000)
			tu_poll_pause();
	} while (st.sent < 1000);
	for (int k = 0; k < 2000; k++) {
		struct pshm_chan *r =
		    attach(a, PSHM_CHAN_READER, k % 2 ? PSHM_CHAN_FROM_OLDEST : 0);
		uint64_t next = 0;
		for (int m = 0; m < 100; m++) {
			int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 60000);
			if (rc)
				fail_msg("joiner %d, message %d: %s", k, m, pshm_strerror(rc));
			uint64_t s = seq_of(buf);
			if ((m && s != next) || len != len_of(s) || !check(buf, s, len))
				fail_msg("joiner %d: message %llu after %llu", k,
				         (unsigned long long)s, (unsigned long long)next);
			next = s + 1;
		}
		assert_int_equal(pshm_chan_lost(r), 0);
		tu_ok(pshm_chan_close(r));
	}
	atomic_store(stop, 1);
	assert_int_equal(reap(pid), 0);
	alarm(0);
	unsetenv("PSHM_CHAN_SLICE_MS");
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.lost, 0);
	munmap(stop, sizeof(*stop));
	tu_ok(pshm_destroy_addr(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_from_oldest),
	    cmocka_unit_test(test_lossless_holds),
	    cmocka_unit_test(test_lossless_release),
	    cmocka_unit_test(test_lossless_two_readers),
	    cmocka_unit_test(test_lossless_joins),
	};

	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
