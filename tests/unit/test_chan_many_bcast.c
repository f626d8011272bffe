/*
 * test_chan_many_bcast.c - broadcast channels with many writers (PSHM_CHAN_BROADCAST |
 * PSHM_CHAN_MANY_WRITERS), through the public API only: the rules (the mode with and without
 * PSHM_CHAN_LOSSLESS, 64 writers and 64 readers, chan stat's mode, writers and counts); two
 * writers in one process and two readers, every message in claim order; four writer processes
 * and two reader processes, every message whole and each writer's in order; overruns of a slow
 * reader, counted exactly; a writer held back by another writer's claim a ring older (-EAGAIN,
 * -ETIMEDOUT, woken by the commit), and never by a claim whose writer died or closed; readers
 * that join with PSHM_CHAN_FROM_OLDEST. Nothing sleeps to let something happen: each side waits
 * for a message, a pipe, or a counter in shared memory, and an alarm turns a hang into a failure.
 */
#include "testutil.h"
#include "chantest.h"

#include <stdatomic.h>
#include <sys/mman.h>

#define MB_MODE (PSHM_CHAN_BROADCAST | PSHM_CHAN_MANY_WRITERS)

#define TAG_W(t) ((unsigned)((t) >> 40))
#define TAG_N(t) ((t) % (1ull << 40))

/* From 8 bytes (in the descriptor) to 63 (in the data ring), varied by tag. */
static size_t len_of(uint64_t tag)
{
	return 8 + chan_mix(tag) % 56;
}

static const char *new_chan(char *buf, size_t size, uint64_t cap)
{
	tu_name(buf, size, "mb");
	tu_ok(pshm_chan_create(buf, cap, 0600, MB_MODE));
	return buf;
}

static struct pshm_chan *attach(const char *addr, int role, unsigned flags)
{
	struct pshm_chan *ch = NULL;
	tu_ok(pshm_chan_open(&ch, addr, role, flags));
	assert_non_null(ch);
	return ch;
}

static int send_tag(struct pshm_chan *w, uint64_t tag, int timeout)
{
	unsigned char buf[256];
	size_t len = len_of(tag);
	chan_tag_fill(buf, tag, len);
	return pshm_chan_send(w, buf, len, timeout);
}

/* Receive one message, insist that it is whole, and give its tag. */
static uint64_t recv_tag(struct pshm_chan *r, int timeout)
{
	unsigned char buf[256];
	size_t len = 0;
	uint64_t tag = 0;
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, timeout));
	if (!chan_tag_intact(buf, len, &tag, len_of))
		fail_msg("a damaged message of %zu bytes", len);
	return tag;
}

static void expect_empty(struct pshm_chan *r)
{
	unsigned char buf[256];
	size_t len;
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
}

static int reap(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static struct pshm_chan_stat chan_stat(const char *a)
{
	struct pshm_chan_stat st;
	tu_ok(pshm_chan_stat_addr(a, &st));
	return st;
}

/* Shared between a test and its children: counters they wait on. */
struct shared {
	_Atomic uint32_t attached; /* writer children attached */
	_Atomic uint32_t ready;    /* reader children attached */
	_Atomic uint64_t progress; /* messages a writer child has sent */
};

/* ---- a) rules ------------------------------------------------------------------------------ */

static void test_mb_rules(void **state)
{
	(void)state;
	char a[64], b[64];
	struct pshm_chan *w[PSHM_CHAN_MAX_WRITERS] = {0}, *r[PSHM_CHAN_MAX_READERS] = {0},
	                 *x = NULL;
	struct pshm_chan_stat st;

	alarm(120);
	/* Lossless has one writer: refused, with or without the broadcast flag; nothing made. */
	tu_name(b, sizeof(b), "mbbad");
	tu_err(pshm_chan_create(b, 4096, 0600, MB_MODE | PSHM_CHAN_LOSSLESS), -EINVAL);
	tu_err(pshm_chan_create(b, 4096, 0600, PSHM_CHAN_MANY_WRITERS | PSHM_CHAN_LOSSLESS),
	       -EINVAL);
	tu_err(pshm_chan_stat_addr(b, &st), -ENOENT);

	new_chan(a, sizeof(a), 4096);
	st = chan_stat(a);
	assert_int_equal(st.mode, MB_MODE);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_NONE);
	assert_int_equal(st.writers, 0);
	assert_int_equal(st.readers, 0);
	assert_int_equal(st.capacity, 4096);
	/* The mode is the channel's: the same is accepted again, another is another channel. */
	tu_ok(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE | MB_MODE));
	tu_err(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE | PSHM_CHAN_BROADCAST), -EEXIST);
	tu_err(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE | PSHM_CHAN_MANY_WRITERS),
	       -EEXIST);
	tu_err(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE), -EEXIST);

	/* 64 writers and 64 readers at once; the 65th of either is refused. */
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++)
		w[i] = attach(a, PSHM_CHAN_WRITER, 0);
	tu_err(pshm_chan_open(&x, a, PSHM_CHAN_WRITER, 0), -EBUSY);
	for (int i = 0; i < PSHM_CHAN_MAX_READERS; i++)
		r[i] = attach(a, PSHM_CHAN_READER, 0);
	tu_err(pshm_chan_open(&x, a, PSHM_CHAN_READER, 0), -EBUSY);
	assert_null(x);
	st = chan_stat(a);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ATTACHED);
	assert_int_equal(st.writers, PSHM_CHAN_MAX_WRITERS);
	assert_int_equal(st.readers, PSHM_CHAN_MAX_READERS);

	/* A writer's handle is no reader's, and the other way round. */
	unsigned char buf[64];
	size_t len;
	tu_err(pshm_chan_recv(w[0], buf, sizeof(buf), &len, 0), -EINVAL);
	tu_err(pshm_chan_send(r[0], buf, 4, 0), -EINVAL);
	tu_err(pshm_chan_send(w[0], buf, 4096, 0), -EMSGSIZE);
	tu_err(pshm_chan_commit(w[0], 0), -EINVAL);
	tu_err(pshm_chan_abort(r[0]), -EINVAL);

	/* sent and bytes count what all the writers published; each reader reads it all. */
	uint64_t bytes = 0;
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++) {
		tu_ok(send_tag(w[i], TAG(i, 0), 0));
		bytes += len_of(TAG(i, 0));
	}
	st = chan_stat(a);
	assert_int_equal(st.sent, PSHM_CHAN_MAX_WRITERS);
	assert_int_equal(st.bytes, bytes);
	for (int n = 0; n < PSHM_CHAN_MAX_WRITERS; n++)
		for (int i = 0; i < 2; i++)
			assert_int_equal(recv_tag(r[i], 0), TAG(n, 0));
	expect_empty(r[0]);
	assert_int_equal(chan_stat(a).received, 2 * PSHM_CHAN_MAX_WRITERS);

	/* A freed writer slot is taken again. */
	tu_ok(pshm_chan_close(w[9]));
	assert_int_equal(chan_stat(a).writers, PSHM_CHAN_MAX_WRITERS - 1);
	w[9] = attach(a, PSHM_CHAN_WRITER, 0);
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++)
		tu_ok(pshm_chan_close(w[i]));
	st = chan_stat(a);
	assert_int_equal(st.writers, 0);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DETACHED);
	/* The readers' end once all writers have gone and everything is read. */
	tu_err(pshm_chan_recv(r[0], buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -EPIPE);
	tu_err(pshm_chan_recv(r[1], buf, sizeof(buf), &len, 0), -EPIPE);
	for (int i = 0; i < PSHM_CHAN_MAX_READERS; i++)
		tu_ok(pshm_chan_close(r[i]));
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

/* ---- b) two writers in one process --------------------------------------------------------- */

/*
 * Messages reach every reader in the order they were claimed, whoever commits first: a reader
 * waits for an earlier claim still being written, though a later one is published.
 */
static void test_mb_two_writers(void **state)
{
	(void)state;
	char a[64];
	void *pa, *pb;

	alarm(120);
	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER, 0), *w2 = attach(a, PSHM_CHAN_WRITER, 0);
	struct pshm_chan *r[2] = {attach(a, PSHM_CHAN_READER, 0), attach(a, PSHM_CHAN_READER, 0)};

	uint64_t ta = TAG(1, 0), tb = TAG(2, 0);
	tu_ok(pshm_chan_reserve(w1, len_of(ta), &pa, 0));
	tu_ok(pshm_chan_reserve(w2, len_of(tb), &pb, 0));
	chan_tag_fill(pb, tb, len_of(tb));
	tu_ok(pshm_chan_commit(w2, len_of(tb)));
	/* The first claim is not published yet: nothing to read, though the second is there. */
	expect_empty(r[0]);
	expect_empty(r[1]);
	chan_tag_fill(pa, ta, len_of(ta));
	tu_ok(pshm_chan_commit(w1, len_of(ta)));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(recv_tag(r[i], 0), ta);
		assert_int_equal(recv_tag(r[i], 0), tb);
		expect_empty(r[i]);
	}

	/* Around the ring many times, the writers taking turns, both readers keeping up; every
	 * other message is reserved and committed in place. */
	uint64_t next[3] = {0, 1, 1};
	for (uint64_t n = 1; n < 5000; n++) {
		int who = n % 3 ? 1 : 2;
		struct pshm_chan *w = who == 1 ? w1 : w2;
		uint64_t tag = TAG(who, next[who]++);
		if (n % 2) {
			void *p;
			tu_ok(pshm_chan_reserve(w, len_of(tag), &p, 0));
			chan_tag_fill(p, tag, len_of(tag));
			tu_ok(pshm_chan_commit(w, len_of(tag)));
		} else {
			tu_ok(send_tag(w, tag, 0));
		}
		assert_int_equal(recv_tag(r[n % 2], 0), tag);
		assert_int_equal(recv_tag(r[1 - n % 2], 0), tag);
	}
	assert_int_equal(pshm_chan_lost(r[0]), 0);
	assert_int_equal(pshm_chan_lost(r[1]), 0);
	struct pshm_chan_stat st = chan_stat(a);
	assert_int_equal(st.sent, 5001);
	assert_int_equal(st.received, 2 * 5001);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.writers, 2);
	assert_int_equal(st.readers, 2);

	/* The end comes with the last writer, and is the worst of theirs. */
	unsigned char buf[64];
	size_t len;
	tu_ok(pshm_chan_close(w1));
	expect_empty(r[0]);
	tu_ok(pshm_chan_abort(w2));
	tu_err(pshm_chan_recv(r[0], buf, sizeof(buf), &len, 0), -ECONNABORTED);
	tu_err(pshm_chan_recv(r[1], buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -ECONNABORTED);
	st = chan_stat(a);
	assert_int_equal(st.writers, 0);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ABORTED);
	tu_ok(pshm_chan_close(r[0]));
	tu_ok(pshm_chan_close(r[1]));
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

/* ---- c) processes -------------------------------------------------------------------------- */

enum { P_WRITERS = 4, P_READERS = 2, P_EACH = 20000 };

/* A writer child: attaches, waits for all the writers, sends EACH messages tagged W. */
static void writer_child(const char *a, int w, struct shared *sh)
{
	struct pshm_chan *ch = NULL;
	if (pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, 0))
		_exit(1);
	/* None may detach before the last has attached: the readers would see the end. */
	atomic_fetch_add(&sh->attached, 1);
	while (atomic_load(&sh->attached) < P_WRITERS)
		tu_poll_pause();
	for (uint64_t i = 0; i < P_EACH; i++) {
		uint64_t tag = TAG(w, i);
		size_t len = len_of(tag);
		if (i % 2) {
			void *p;
			if (pshm_chan_reserve(ch, len, &p, 10000))
				_exit(2);
			chan_tag_fill(p, tag, len);
			if (pshm_chan_commit(ch, len))
				_exit(3);
		} else if (send_tag(ch, tag, 10000)) {
			_exit(4);
		}
	}
	_exit(pshm_chan_close(ch) ? 5 : 0);
}

/* A reader child: every message of every writer, whole and in order, then the clean end. */
static void reader_child(const char *a, struct shared *sh)
{
	struct pshm_chan *ch = NULL;
	uint64_t next[P_WRITERS] = {0};
	unsigned char buf[256];
	size_t len;
	uint64_t tag;

	CHILD_CHECK(pshm_chan_open(&ch, a, PSHM_CHAN_READER, 0) == 0, "open");
	atomic_fetch_add(&sh->ready, 1);
	for (uint64_t got = 0; got < (uint64_t)P_WRITERS * P_EACH; got++) {
		int rc = pshm_chan_recv(ch, buf, sizeof(buf), &len, 60000);
		CHILD_CHECK(rc == 0, "message %llu: %s", (unsigned long long)got,
		            pshm_strerror(rc));
		CHILD_CHECK(chan_tag_intact(buf, len, &tag, len_of),
		            "message %llu is damaged (%zu bytes)", (unsigned long long)got, len);
		unsigned w = TAG_W(tag);
		CHILD_CHECK(w < P_WRITERS, "a message of writer %u", w);
		CHILD_CHECK(TAG_N(tag) == next[w], "writer %u: message %llu after %llu", w,
		            (unsigned long long)TAG_N(tag), (unsigned long long)next[w]);
		next[w]++;
	}
	int rc = pshm_chan_recv(ch, buf, sizeof(buf), &len, 60000);
	CHILD_CHECK(rc == -EPIPE, "the end: %s", pshm_strerror(rc));
	CHILD_CHECK(pshm_chan_lost(ch) == 0, "lost %llu", (unsigned long long)pshm_chan_lost(ch));
	_exit(pshm_chan_close(ch) ? 6 : 0);
}

/* Four writer processes, two reader processes, a ring that never wraps: each reader gets all. */
static void test_mb_procs(void **state)
{
	(void)state;
	char a[64];
	pid_t wp[P_WRITERS], rp[P_READERS];
	struct shared *sh = tu_shared(sizeof(struct shared));

	alarm(300);
	/* 80,000 messages of at most 63 bytes: 4 MiB holds them all, descriptors and data. */
	if (tu_fs_free(getenv("PSHM_DIR")) < 12u << 20)
		tu_skip_test("needs 12 MiB in the shm directory");
	new_chan(a, sizeof(a), 4u << 20);
	for (int i = 0; i < P_READERS; i++) {
		rp[i] = fork();
		assert_true(rp[i] >= 0);
		if (rp[i] == 0)
			reader_child(a, sh);
	}
	/* The readers attach first, so that they start at the first message. */
	while (atomic_load(&sh->ready) < P_READERS)
		tu_poll_pause();
	for (int w = 0; w < P_WRITERS; w++) {
		wp[w] = fork();
		assert_true(wp[w] >= 0);
		if (wp[w] == 0)
			writer_child(a, w, sh);
	}
	for (int w = 0; w < P_WRITERS; w++)
		assert_int_equal(reap(wp[w]), 0);
	for (int i = 0; i < P_READERS; i++)
		assert_int_equal(reap(rp[i]), 0);
	struct pshm_chan_stat st = chan_stat(a);
	assert_int_equal(st.sent, P_WRITERS * P_EACH);
	assert_int_equal(st.received, P_READERS * P_WRITERS * P_EACH);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.writers, 0);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DETACHED);
	munmap(sh, sizeof(*sh));
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

/* ---- d) overruns --------------------------------------------------------------------------- */

/*
 * A 4 KiB ring, two writers taking turns and a reader that reads ten messages for every hundred
 * sent: it hears -EOVERFLOW, each time skips exactly as many messages as pshm_chan_lost() adds,
 * and at the end what it received and what it lost add up to what was sent.
 */
static void test_mb_overflow(void **state)
{
	(void)state;
	enum { N = 5000 };
	char a[64];
	unsigned char buf[256];
	size_t len;
	uint64_t tag = 0, got = 0, lost = 0, overflows = 0, expect = 0;
	int rc;

	alarm(120);
	new_chan(a, sizeof(a), 4096);
	struct pshm_chan *w[2] = {attach(a, PSHM_CHAN_WRITER, 0), attach(a, PSHM_CHAN_WRITER, 0)};
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER, 0);

	/* Read one step: a message, which must be the one due, or an overrun, which moves the
	 * one due on by exactly the count lost. */
#define READ_ONE(timeout)                                                                          \
	do {                                                                                       \
		rc = pshm_chan_recv(r, buf, sizeof(buf), &len, (timeout));                         \
		if (rc == -EOVERFLOW) {                                                            \
			uint64_t l = pshm_chan_lost(r);                                            \
			assert_true(l > lost);                                                     \
			expect += l - lost;                                                        \
			lost = l;                                                                  \
			overflows++;                                                               \
		} else if (rc == 0) {                                                              \
			if (!chan_tag_intact(buf, len, &tag, len_of))                              \
				fail_msg("a damaged message of %zu bytes", len);                   \
			if (TAG_N(tag) != expect || TAG_W(tag) != expect % 2)                      \
				fail_msg("message %llu of writer %u where %llu was due",           \
				         (unsigned long long)TAG_N(tag), TAG_W(tag),               \
				         (unsigned long long)expect);                              \
			expect++;                                                                  \
			got++;                                                                     \
		}                                                                                  \
	} while (0)

	for (uint64_t n = 0; n < N; n++) {
		tu_ok(send_tag(w[n % 2], TAG(n % 2, n), 0));
		if (n % 100 == 99)
			for (int i = 0; i < 10; i++) {
				READ_ONE(0);
				tu_ok(rc == -EOVERFLOW ? 0 : rc);
			}
	}
	tu_ok(pshm_chan_close(w[0]));
	tu_ok(pshm_chan_close(w[1]));
	do
		READ_ONE(PSHM_CHAN_FOREVER);
	while (rc == 0 || rc == -EOVERFLOW);
#undef READ_ONE
	tu_err(rc, -EPIPE);
	assert_true(overflows > 0);
	assert_int_equal(expect, N);
	assert_int_equal(got + lost, N);
	struct pshm_chan_stat st = chan_stat(a);
	assert_int_equal(st.sent, N);
	assert_int_equal(st.received, got);
	assert_int_equal(st.lost, lost);
	print_message("# %llu received, %llu lost in %llu overruns\n", (unsigned long long)got,
	              (unsigned long long)lost, (unsigned long long)overflows);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

/* ---- e) a writer held back by another's claim ---------------------------------------------- */

/*
 * Writer 1 reserves a message and holds it; writer 2 sends messages of 8 bytes (in their
 * descriptors, so only the ring's capacity/32 descriptors count) with timeout 0. All go until
 * the next would overwrite writer 1's claim, a ring older: -EAGAIN, and with a timeout
 * -ETIMEDOUT no earlier than asked. The reader meanwhile sees nothing, since the oldest claim
 * is not published; once it is, the reader reads it and then writer 2's, in claim order, and
 * writer 2 goes on. Then the same with writer 2 in a child that waits without limit, woken when
 * writer 1 commits.
 */
static void test_mb_wait_writer(void **state)
{
	(void)state;
	enum { CAP = 4096, SLOTS = CAP / 32 };
	char a[64];
	void *p;
	unsigned char buf[256];
	size_t len;

	alarm(120);
	new_chan(a, sizeof(a), CAP);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER, 0), *w2 = attach(a, PSHM_CHAN_WRITER, 0);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER, 0);

	uint64_t held = TAG(1, 0);
	tu_ok(pshm_chan_reserve(w1, 100, &p, 0));
	memset(p, 0xaa, 50);
	uint64_t sent = 0;
	int rc;
	while ((rc = pshm_chan_send(w2, &sent, 8, 0)) == 0) {
		sent++;
		assert_true(sent < 10 * SLOTS);
	}
	tu_err(rc, -EAGAIN);
	/* It stopped at the held claim, a ring of descriptors after it. */
	assert_int_equal(sent, SLOTS - 1);
	double t0 = tu_now_ms();
	tu_err(pshm_chan_send(w2, &sent, 8, 50), -ETIMEDOUT);
	assert_true(tu_now_ms() - t0 >= 50);
	expect_empty(r);

	/* Writer 1 publishes: the reader reads its message, then writer 2's, all intact. */
	chan_tag_fill(p, held, 100);
	tu_ok(pshm_chan_commit(w1, 100));
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	assert_int_equal(len, 100);
	uint64_t t;
	memcpy(&t, buf, 8);
	assert_int_equal(t, held);
	for (uint64_t i = 0; i < sent; i++) {
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
		assert_int_equal(len, 8);
		memcpy(&t, buf, 8);
		assert_int_equal(t, i);
	}
	expect_empty(r);
	/* Writer 2 goes on, and laps the ring freely: no live writer holds a claim there. */
	for (uint64_t i = sent; i < sent + 2 * SLOTS; i++)
		tu_ok(pshm_chan_send(w2, &i, 8, 0));
	sent += 2 * SLOTS;
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EOVERFLOW);
	uint64_t lost = pshm_chan_lost(r), first = SLOTS - 1 + lost;
	for (uint64_t i = first; i < sent; i++) {
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
		memcpy(&t, buf, 8);
		assert_int_equal(t, i);
	}
	expect_empty(r);

	/* Writer 2 in a child, waiting without limit at the claim writer 1 holds. */
	struct shared *sh = tu_shared(sizeof(struct shared));
	tu_ok(pshm_chan_reserve(w1, 100, &p, 0));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *cw = NULL;
		CHILD_CHECK(pshm_chan_open(&cw, a, PSHM_CHAN_WRITER, 0) == 0, "open");
		for (uint64_t i = 0; i < SLOTS + 10; i++) {
			int e = pshm_chan_send(cw, &i, 8, PSHM_CHAN_FOREVER);
			CHILD_CHECK(e == 0, "send %llu: %s", (unsigned long long)i,
			            pshm_strerror(e));
			atomic_store(&sh->progress, i + 1);
		}
		_exit(pshm_chan_close(cw) ? 2 : 0);
	}
	/* It gets as far as the claim (its next send waits there, or is about to). */
	while (atomic_load(&sh->progress) < SLOTS - 1)
		tu_poll_pause();
	assert_int_equal(atomic_load(&sh->progress), SLOTS - 1);
	chan_tag_fill(p, TAG(1, 1), 100);
	tu_ok(pshm_chan_commit(w1, 100));
	assert_int_equal(reap(pid), 0);
	assert_int_equal(atomic_load(&sh->progress), SLOTS + 10);
	munmap(sh, sizeof(*sh));
	tu_ok(pshm_chan_close(w1));
	tu_ok(pshm_chan_close(w2));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

/* ---- f) a writer killed holding a claim ---------------------------------------------------- */

/*
 * A child that claims a message of LEN bytes, writes half of it, says so on a pipe, and is
 * killed there with SIGKILL.
 */
static void die_holding(const char *a, size_t len)
{
	int fds[2];
	char c;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *ch = NULL;
		void *p;
		close(fds[0]);
		if (pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, 0) ||
		    pshm_chan_reserve(ch, len, &p, 10000))
			_exit(1);
		memset(p, 0xdd, len / 2);
		if (write(fds[1], "H", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	kill(pid, SIGKILL);
	assert_int_equal(reap(pid), 128 + SIGKILL);
}

/*
 * A writer killed between reserve and commit holds nobody back: the reader, which waits for
 * the dead claim, passes over it to the next writer's messages (no -EBADMSG, nothing lost),
 * and the other writer, a ring later, overwrites it without waiting.
 */
static void test_mb_dead_claim(void **state)
{
	(void)state;
	enum { CAP = 4096, SLOTS = CAP / 32 };
	char a[64];
	unsigned char buf[256];
	size_t len;

	alarm(120);
	new_chan(a, sizeof(a), CAP);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER, 0), *r = attach(a, PSHM_CHAN_READER, 0);
	tu_ok(send_tag(w, TAG(1, 0), 0));
	die_holding(a, 100); /* in the data ring */
	tu_ok(send_tag(w, TAG(1, 1), 0));
	die_holding(a, 8); /* in its descriptor */
	tu_ok(send_tag(w, TAG(1, 2), 0));
	assert_int_equal(chan_stat(a).writers, 1);
	for (uint64_t n = 0; n < 3; n++)
		assert_int_equal(recv_tag(r, 5000), TAG(1, n));
	expect_empty(r);
	assert_int_equal(pshm_chan_lost(r), 0);

	/* Another claim dies; a ring and more of messages later, the writer is not held back. */
	die_holding(a, 100);
	for (uint64_t n = 3; n < 3 + 2 * SLOTS; n++)
		tu_ok(send_tag(w, TAG(1, n), 5000));
	int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 5000);
	tu_err(rc, -EOVERFLOW);
	uint64_t n = recv_tag(r, 0);
	while (TAG_N(n) < 2 + 2 * SLOTS) {
		uint64_t m = recv_tag(r, 0);
		assert_int_equal(TAG_N(m), TAG_N(n) + 1);
		n = m;
	}
	expect_empty(r);
	/* The writer alone with the dead claims' writers: its end is the readers' end. */
	tu_ok(pshm_chan_close(w));
	struct pshm_chan_stat st = chan_stat(a);
	assert_int_equal(st.writers, 0);
	assert_int_equal(st.sent, 3 + 2 * SLOTS);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

/* ---- g) a writer that closes with a reservation -------------------------------------------- */

static void test_mb_close_reserved(void **state)
{
	(void)state;
	enum { CAP = 4096, SLOTS = CAP / 32 };
	char a[64];
	void *p;

	alarm(120);
	new_chan(a, sizeof(a), CAP);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER, 0), *w2 = attach(a, PSHM_CHAN_WRITER, 0);
	struct pshm_chan *r[2] = {attach(a, PSHM_CHAN_READER, 0), attach(a, PSHM_CHAN_READER, 0)};

	tu_ok(pshm_chan_reserve(w1, 100, &p, 0));
	memset(p, 0xee, 100);
	tu_ok(send_tag(w2, TAG(2, 0), 0));
	expect_empty(r[0]);
	/* Given up at close: both readers pass over it at once. */
	tu_ok(pshm_chan_close(w1));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(recv_tag(r[i], 0), TAG(2, 0));
		expect_empty(r[i]);
	}
	/* The same with a claim in its descriptor, the readers waiting for it first. */
	w1 = attach(a, PSHM_CHAN_WRITER, 0);
	tu_ok(pshm_chan_reserve(w1, 8, &p, 0));
	tu_ok(send_tag(w2, TAG(2, 1), 0));
	expect_empty(r[1]);
	tu_ok(pshm_chan_close(w1));
	assert_int_equal(recv_tag(r[0], 0), TAG(2, 1));
	assert_int_equal(recv_tag(r[1], 0), TAG(2, 1));
	/* A ring later, writer 2 overwrites the given-up claims without waiting; the readers
	 * keep up, so nothing is lost. */
	for (uint64_t n = 2; n < 2 + 2 * SLOTS; n++) {
		tu_ok(send_tag(w2, TAG(2, n), 0));
		assert_int_equal(recv_tag(r[0], 0), TAG(2, n));
		assert_int_equal(recv_tag(r[1], 0), TAG(2, n));
	}
	/* What was given up was never published. */
	struct pshm_chan_stat st = chan_stat(a);
	assert_int_equal(st.sent, 2 + 2 * SLOTS);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.writers, 1);
	tu_ok(pshm_chan_close(w2));
	for (int i = 0; i < 2; i++) {
		unsigned char buf[64];
		size_t len;
		tu_err(pshm_chan_recv(r[i], buf, sizeof(buf), &len, 0), -EPIPE);
		assert_int_equal(pshm_chan_lost(r[i]), 0);
		tu_ok(pshm_chan_close(r[i]));
	}
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

/* ---- h) readers that join late ------------------------------------------------------------- */

static void test_mb_from_oldest(void **state)
{
	(void)state;
	enum { CAP = 4096, SLOTS = CAP / 32 };
	char a[64];
	unsigned char buf[64];
	size_t len;

	alarm(120);
	new_chan(a, sizeof(a), CAP);
	struct pshm_chan *w[2] = {attach(a, PSHM_CHAN_WRITER, 0), attach(a, PSHM_CHAN_WRITER, 0)};
	/* Messages of 8 bytes travel in their descriptors: the ring holds SLOTS of them. */
	for (uint64_t n = 0; n < 10; n++)
		tu_ok(pshm_chan_send(w[n % 2], &n, 8, 0));
	/* One that joins now from the oldest reads them all, of both writers; one without the
	 * flag only what comes next. */
	struct pshm_chan *old = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	struct pshm_chan *now = attach(a, PSHM_CHAN_READER, 0);
	uint64_t t;
	for (uint64_t n = 0; n < 10; n++) {
		tu_ok(pshm_chan_recv(old, buf, sizeof(buf), &len, 0));
		memcpy(&t, buf, 8);
		assert_int_equal(t, n);
	}
	expect_empty(old);
	expect_empty(now);
	uint64_t n = 10;
	tu_ok(pshm_chan_send(w[1], &n, 8, 0));
	for (int i = 0; i < 2; i++) {
		tu_ok(pshm_chan_recv(i ? now : old, buf, sizeof(buf), &len, 0));
		memcpy(&t, buf, 8);
		assert_int_equal(t, 10);
	}

	/* After the writers have lapped the ring, a late joiner starts at the oldest message
	 * still intact, and reads from there to the last without a loss. */
	const uint64_t end = 1000;
	for (n = 11; n < end; n++)
		tu_ok(pshm_chan_send(w[n % 2], &n, 8, 0));
	struct pshm_chan *late = attach(a, PSHM_CHAN_READER, PSHM_CHAN_FROM_OLDEST);
	tu_ok(pshm_chan_recv(late, buf, sizeof(buf), &len, 0));
	uint64_t first;
	memcpy(&first, buf, 8);
	assert_true(first >= end - SLOTS && first < end - SLOTS / 2);
	for (n = first + 1; n < end; n++) {
		tu_ok(pshm_chan_recv(late, buf, sizeof(buf), &len, 0));
		memcpy(&t, buf, 8);
		assert_int_equal(t, n);
	}
	expect_empty(late);
	assert_int_equal(pshm_chan_lost(late), 0);
	/* The reader that did not read meanwhile was overrun, as with one writer. */
	tu_err(pshm_chan_recv(old, buf, sizeof(buf), &len, 0), -EOVERFLOW);
	assert_true(pshm_chan_lost(old) > 0);
	tu_ok(pshm_chan_close(w[0]));
	tu_ok(pshm_chan_close(w[1]));
	tu_ok(pshm_chan_close(late));
	tu_ok(pshm_chan_close(old));
	tu_ok(pshm_chan_close(now));
	tu_ok(pshm_destroy_addr(a));
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mb_rules),          cmocka_unit_test(test_mb_two_writers),
	    cmocka_unit_test(test_mb_procs),          cmocka_unit_test(test_mb_overflow),
	    cmocka_unit_test(test_mb_wait_writer),    cmocka_unit_test(test_mb_dead_claim),
	    cmocka_unit_test(test_mb_close_reserved), cmocka_unit_test(test_mb_from_oldest),
	};

	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
