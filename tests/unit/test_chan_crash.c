/*
 * test_chan_crash.c - channels when a peer dies or the shared memory lies: writers and readers
 * killed with SIGKILL at random moments (in loops), clean detach, and header, descriptor and data
 * overwritten with garbage. The survivor must never hang, never see a torn or out-of-order
 * message, hear -ECONNRESET within a bounded time, and let a new peer take over the role.
 */
#include "testutil.h"

#include "chantest.h"
#include "chan.h" /* the shared layout: which header bytes are fields worth corrupting */

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

#define CAP     16384
#define MAX_LEN 2000

/* The length of message SEQ: known to both sides, so a short or long message shows. */
static size_t len_of(uint64_t seq)
{
	return 1 + chan_mix(seq) % MAX_LEN;
}

/* The payload of message SEQ: SEQ in the first bytes, then a pattern derived from it. */
static void fill(void *buf, uint64_t seq, size_t len)
{
	unsigned char *p = buf;
	uint64_t x = chan_mix(seq + 12345);

	memcpy(p, &seq, len < 8 ? len : 8);
	for (size_t i = 8; i < len; i++) {
		if ((i & 7) == 0)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(x >> (8 * (i & 7)));
	}
}

static bool check(const void *buf, uint64_t seq, size_t len)
{
	unsigned char want[MAX_LEN];
	if (len != len_of(seq))
		return false;
	fill(want, seq, len);
	return memcmp(buf, want, len) == 0;
}

static uint64_t seq_of(const void *buf, size_t len)
{
	uint64_t s = 0;
	memcpy(&s, buf, len < 8 ? len : 8);
	return s;
}

static int reap(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * A writer process: takes the writer role, says so on READY_FD, and sends messages
 * BASE, BASE+1, ... (alternating the copying and the zero-copy call) until COUNT are sent,
 * then detaches cleanly; COUNT 0 means until killed.
 */
static void writer_child(const char *a, int ready_fd, uint64_t base, uint64_t count)
{
	struct pshm_chan *w = NULL;
	unsigned char buf[MAX_LEN];

	alarm(120);
	int r = pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0);
	CHILD_CHECK(r == 0, "writer open = %d (%s)", r, pshm_strerror(r));
	CHILD_CHECK(write(ready_fd, "w", 1) == 1, "ready");
	for (uint64_t i = 0; count == 0 || i < count; i++) {
		uint64_t seq = base + i;
		size_t len = len_of(seq);
		int rc;
		if (seq & 1) {
			fill(buf, seq, len);
			rc = pshm_chan_send(w, buf, len, PSHM_CHAN_FOREVER);
		} else {
			void *q;
			rc = pshm_chan_reserve(w, MAX_LEN, &q, PSHM_CHAN_FOREVER);
			CHILD_CHECK(rc == 0, "reserve = %d", rc);
			fill(q, seq, len);
			rc = pshm_chan_commit(w, len);
		}
		CHILD_CHECK(rc == 0, "send %llu = %d", (unsigned long long)seq, rc);
	}
	CHILD_CHECK(pshm_chan_close(w) == 0, "close");
	_exit(0);
}

/* Receive one message within 5 s (copying or zero-copy by ZC) and check it is message SEQ. */
static int recv_expect(struct pshm_chan *r, uint64_t seq, bool zc)
{
	unsigned char buf[MAX_LEN];
	const void *p = buf;
	size_t len = 0;
	int rc = zc ? pshm_chan_peek(r, &p, &len, 5000)
	            : pshm_chan_recv(r, buf, sizeof(buf), &len, 5000);
	if (rc != 0)
		return rc;
	if (!check(p, seq, len))
		fail_msg("expected message %llx (%zu bytes), got %zu bytes carrying %llx",
		         (unsigned long long)seq, len_of(seq), len,
		         (unsigned long long)seq_of(p, len));
	if (zc)
		tu_ok(pshm_chan_release(r));
	return 0;
}

/*
 * SIGKILL the writer at random moments, over and over, with one reader attached throughout.
 * Each writer's messages carry its iteration in the upper bits of the sequence; the reader
 * must see each writer's committed messages whole and in order from the first, then
 * -ECONNRESET within a bounded time; the next writer takes over the dead one's role. Every
 * tenth writer detaches cleanly instead, which the reader must hear as -EPIPE.
 */
static void test_kill_writer(void **state)
{
	(void)state;
	char a[64];
	const int iterations = 100;
	int fds0 = tu_count_entries("/proc/self/fd");
	struct pshm_chan_stat st;

	tu_name(a, sizeof(a), "kw");
	tu_ok(pshm_chan_create(a, CAP, 0600, 0));
	struct pshm_chan *r = NULL;
	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
	alarm(120);

	for (int it = 0; it < iterations; it++) {
		int ready[2];
		char c;
		uint64_t base = (uint64_t)it << 32;
		bool clean = it % 10 == 9;
		uint64_t h = chan_mix(it);

		assert_int_equal(pipe(ready), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			writer_child(a, ready[1], base, clean ? 100 : 0);
		/* Our end closed first, so that a child that fails before it is ready ends the
		 * read (0 bytes) instead of leaving it waiting for the alarm. */
		close(ready[1]);
		if (read(ready[0], &c, 1) != 1)
			fail_msg("iteration %d: the writer did not attach (exit %d)", it,
			         reap(pid));
		close(ready[0]);

		uint64_t k = 0;
		if (clean) {
			for (; k < 100; k++)
				tu_ok(recv_expect(r, base + k, k & 1));
			assert_int_equal(reap(pid), 0);
			unsigned char buf[8];
			size_t len;
			tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 1000), -EPIPE);
			tu_ok(pshm_chan_stat_addr(a, &st));
			assert_int_equal(st.writer, PSHM_CHAN_WRITER_DETACHED);
			continue;
		}

		/* Read a random number of messages (the writer often blocked on a full ring), or
		 * none, and kill at a random point in time. */
		uint64_t before = h % 4 == 0 ? 0 : (h >> 8) % 300;
		for (; k < before; k++)
			tu_ok(recv_expect(r, base + k, (h >> 20) & 1));
		if (h & 0x10000)
			usleep((h >> 32) % 3000);
		kill(pid, SIGKILL);
		double t0 = tu_now_ms();
		assert_int_equal(reap(pid), 128 + SIGKILL);

		/* Drain what it committed; then the death, and nothing more. */
		int rc;
		while ((rc = recv_expect(r, base + k, (k ^ h) & 1)) == 0)
			k++;
		if (rc != -ECONNRESET)
			fail_msg("iteration %d: after %llu messages: %d (%s)", it,
			         (unsigned long long)k, rc, pshm_strerror(rc));
		/* Noticed, not waited out: the bound only tells a slow machine from a hang. */
		assert_true(tu_now_ms() - t0 < 10000);
		unsigned char buf[8];
		size_t len;
		tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -ECONNRESET);
		tu_ok(pshm_chan_stat_addr(a, &st));
		assert_int_equal(st.writer, PSHM_CHAN_WRITER_DIED);
	}
	alarm(0);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
	tu_err(pshm_chan_stat_addr(a, &st), -ENOENT);
	assert_int_equal(tu_count_entries("/proc/self/fd"), fds0);
}

/* The reader's progress, shared with the parent: messages it has fully consumed. */
static _Atomic uint64_t *consumed;

/*
 * A reader process: takes the reader role and consumes messages in order from wherever the
 * previous reader stopped (one message of slack: it may have died between consuming and
 * recording it), sometimes stopping to read altogether so the writer fills the ring.
 */
static void reader_child(const char *a, int ready_fd, uint64_t h)
{
	struct pshm_chan *r = NULL;
	unsigned char buf[MAX_LEN];
	uint64_t stop = h % 3 == 0 ? (h >> 8) % 200 : UINT64_MAX;

	alarm(120);
	CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "reader open");
	CHILD_CHECK(write(ready_fd, "r", 1) == 1, "ready");
	uint64_t c = atomic_load(consumed);
	for (uint64_t i = 0;; i++) {
		if (i == stop)
			pause();
		const void *p = buf;
		size_t len = 0;
		bool zc = (i ^ h) & 1;
		int rc = zc ? pshm_chan_peek(r, &p, &len, PSHM_CHAN_FOREVER)
		            : pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
		CHILD_CHECK(rc == 0, "recv = %d", rc);
		uint64_t seq = seq_of(p, len);
		/* Recorded at once: should this reader die before it records the message
		 * itself, the next one must start from here, not one further back. */
		if (i == 0 && !check(p, c, len) && check(p, c + 1, len))
			atomic_store(consumed, ++c);
		CHILD_CHECK(check(p, c, len), "expected %llu, got %zu bytes carrying %llu",
		            (unsigned long long)c, len, (unsigned long long)seq);
		if (zc)
			CHILD_CHECK(pshm_chan_release(r) == 0, "release");
		atomic_store(consumed, ++c);
	}
}

struct killer {
	pid_t pid;
	unsigned delay_us;
	_Atomic double killed_at;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	usleep(k->delay_us);
	atomic_store(&k->killed_at, tu_now_ms());
	kill(k->pid, SIGKILL);
	return NULL;
}

/*
 * SIGKILL the reader at random moments while the writer sends without pause: the writer, soon
 * blocked on a full ring, must hear -ECONNRESET within about a second of the death, and a new
 * reader must carry on from where the dead one stopped.
 */
static void test_kill_reader(void **state)
{
	(void)state;
	char a[64];
	const int iterations = 100;
	unsigned char buf[MAX_LEN];
	int fds0 = tu_count_entries("/proc/self/fd");
	struct pshm_chan_stat st;

	consumed = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(consumed != MAP_FAILED);
	atomic_store(consumed, 0);
	tu_name(a, sizeof(a), "kr");
	tu_ok(pshm_chan_create(a, CAP, 0600, 0));
	struct pshm_chan *w = NULL;
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	alarm(120);

	uint64_t seq = 0;
	double worst = 0;
	for (int it = 0; it < iterations; it++) {
		int ready[2];
		char c;
		uint64_t h = chan_mix(it + 1000);

		assert_int_equal(pipe(ready), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			reader_child(a, ready[1], h);
		/* Our end closed first, so that a child that fails before it is ready ends the
		 * read (0 bytes) instead of leaving it waiting for the alarm. */
		close(ready[1]);
		if (read(ready[0], &c, 1) != 1)
			fail_msg("iteration %d: the reader did not attach (exit %d)", it,
			         reap(pid));
		close(ready[0]);

		struct killer k = {.pid = pid, .delay_us = (h >> 16) % 20000};
		atomic_store(&k.killed_at, 0.0);
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
		int rc;
		for (;;) {
			size_t len = len_of(seq);
			fill(buf, seq, len);
			rc = pshm_chan_send(w, buf, len, PSHM_CHAN_FOREVER);
			if (rc != 0)
				break;
			seq++;
		}
		double t1 = tu_now_ms();
		assert_int_equal(pthread_join(th, NULL), 0);
		if (rc != -ECONNRESET)
			fail_msg("iteration %d: send = %d (%s)", it, rc, pshm_strerror(rc));
		double dt = t1 - atomic_load(&k.killed_at);
		assert_true(dt >= 0);
		if (dt > worst)
			worst = dt;
		if (dt > 10000)
			fail_msg("iteration %d: -ECONNRESET %.0f ms after the death", it, dt);
		assert_int_equal(reap(pid), 128 + SIGKILL);
		/* The message that did not fit still does not, and the death is still known. */
		fill(buf, seq, len_of(seq));
		tu_err(pshm_chan_send(w, buf, len_of(seq), 0), -ECONNRESET);
	}

	/* A last reader drains everything the writer sent, in order, and then hears -EPIPE. */
	struct pshm_chan *r = NULL;
	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
	tu_ok(pshm_chan_close(w));
	uint64_t c = atomic_load(consumed);
	size_t len;
	int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 1000);
	if (rc == 0 && !check(buf, c, len)) {
		c++;
		assert_true(check(buf, c, len));
	}
	while (rc == 0) {
		if (!check(buf, c, len))
			fail_msg("expected %llu, got %zu bytes carrying %llu",
			         (unsigned long long)c, len, (unsigned long long)seq_of(buf, len));
		c++;
		rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 1000);
	}
	tu_err(rc, -EPIPE);
	assert_int_equal(c, seq);
	alarm(0);
	printf("# slowest -ECONNRESET after a reader's death: %.1f ms\n", worst);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
	munmap((void *)consumed, 4096);
	tu_err(pshm_chan_stat_addr(a, &st), -ENOENT);
	assert_int_equal(tu_count_entries("/proc/self/fd"), fds0);
}

/* ---- a writer dead inside a commit ---------------------------------------------------------- */

/*
 * A writer that dies after a descriptor's number and before the store of sent and head has
 * shown a reader a message the counters do not cover. WHERE selects the moment: 0 after the
 * number of a message that fits before the ring's end, 1 after that of one that goes to the
 * next lap, 2 with a reservation only (nothing shown).
 * The reader reads before or after (READ_FIRST) a new writer takes over; either way every
 * message arrives once, in order, and the counters agree.
 */
static void dead_in_commit(int where, bool read_first)
{
	char a[64];
	struct pshm_chan_stat st;
	size_t len;
	unsigned char buf[4096];
	int ready[2];

	tu_name(a, sizeof(a), "midcommit");
	tu_ok(pshm_chan_create(a, 4096, 0600, 0));
	struct pshm_chan *r = NULL;
	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
	assert_int_equal(pipe(ready), 0);
	/* Three messages of 1000 bytes, read at once; then the fourth fits (1016 bytes from 3048)
	 * or, at 1100 bytes, does not and goes round the end to the next lap. */
	size_t last = where == 0 ? 1000 : 1100;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *w = NULL;
		struct pshm_seg *s2;
		void *m2;
		size_t n2;
		alarm(120);
		CHILD_CHECK(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0) == 0, "writer open");
		for (uint64_t i = 0; i < 3; i++) {
			memset(buf, (int)i + 1, 1000);
			CHILD_CHECK(pshm_chan_send(w, buf, 1000, 0) == 0, "send %d", (int)i);
		}
		CHILD_CHECK(read(ready[0], buf, 1) == 1, "wait for the reader");
		CHILD_CHECK(pshm_open(&s2, a, 0) == 0 && pshm_map(s2, 0, &m2, &n2) == 0, "map");
		struct pshm__chan_hdr *h = m2;
		uint64_t head = atomic_load(&h->head), sent = atomic_load(&h->sent);
		uint64_t bytes = atomic_load(&h->bytes);
		void *q;
		CHILD_CHECK(pshm_chan_reserve(w, last, &q, 0) == 0, "reserve");
		memset(q, 4, last);
		if (where < 2) {
			CHILD_CHECK(pshm_chan_commit(w, last) == 0, "commit");
			/* Undo what comes after the descriptor's number in a commit. */
			atomic_store(&h->head, head);
			atomic_store(&h->sent, sent);
			atomic_store(&h->bytes, bytes);
		}
		raise(SIGKILL);
		_exit(1);
	}
	for (int i = 0; i < 3; i++) {
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 1000));
		assert_int_equal(len, 1000);
		assert_int_equal(buf[999], i + 1);
	}
	assert_int_equal(write(ready[1], "r", 1), 1);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	close(ready[0]);
	close(ready[1]);
	uint64_t want = where < 2 ? 4 : 3;

	if (read_first) {
		if (where < 2) {
			tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
			assert_int_equal(len, last);
			assert_int_equal(buf[last - 1], 4);
		}
		tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 200), -ECONNRESET);
	}
	struct pshm_chan *w = NULL;
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.sent, want);
	for (int i = 0; i < 6; i++) {
		memset(buf, 10 + i, 900);
		tu_ok(pshm_chan_send(w, buf, 900, 0));
		if (i == 0 && !read_first && where < 2) {
			/* The dead writer's last message comes first. */
			tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
			assert_int_equal(len, last);
			assert_int_equal(buf[last - 1], 4);
		}
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
		assert_int_equal(len, 900);
		assert_int_equal(buf[0], 10 + i);
	}
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.sent, want + 6);
	assert_int_equal(st.received, want + 6);
	assert_int_equal(st.used, 0);
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

static void test_dead_in_commit(void **state)
{
	(void)state;
	for (int where = 0; where < 3; where++) {
		dead_in_commit(where, true);
		dead_in_commit(where, false);
	}
}

/* ---- corruption -------------------------------------------------------------------------- */

#define CHECK_RC(what, expr)                                                                       \
	do {                                                                                       \
		int rc_ = (expr);                                                                  \
		if (!chan_rc_plausible(rc_))                                                       \
			fail_msg("%s at offset %zu, value %#llx: %s = %d (%s)", mode_name, off,    \
			         (unsigned long long)val, what, rc_, pshm_strerror(rc_));          \
		if (rc_ == -EBADMSG)                                                               \
			badmsg++;                                                                  \
	} while (0)

/*
 * Overwrite every 32-bit word of the header, and the fields of every 8-byte position of the
 * ring, with values chosen to break bounds (zero, one, the capacity and its neighbours, the
 * top bit, all ones, random), then use the channel through handles already open and through
 * new ones: every call returns 0 or a negative errno and nothing reads or writes outside the
 * mapping (ASan and the SIGSEGV this would cause). The pristine image goes back each time.
 */
static void corrupt_mode(unsigned flags)
{
	const char *mode_name = flags & PSHM_CHAN_BROADCAST ? "broadcast" : "queue";
	char a[64];
	struct pshm_stat ost;
	struct pshm_chan_stat st;
	struct pshm_seg *seg;
	unsigned char *mem, buf[4096];
	size_t size, len, off = 0;
	uint64_t val = 0;
	unsigned long badmsg = 0;

	tu_name(a, sizeof(a), "corrupt");
	tu_ok(pshm_chan_create(a, 4096, 0600, flags));
	tu_ok(pshm_stat_addr(a, &ost));
	tu_ok(pshm_open(&seg, a, 0));
	tu_ok(pshm_map(seg, 0, (void **)&mem, &size));
	assert_int_equal(size, ost.size);
	/* The header page, the descriptors (32 bytes each, one per 32 bytes of data), the data. */
	assert_int_equal(size, PSHM__CHAN_HDR + 4096 / 32 * sizeof(struct pshm__chan_desc) + 4096);
	size_t hdr = PSHM__CHAN_HDR;
	/* Past the header's fields the header page holds nothing the code reads. */
	size_t fields = sizeof(struct pshm__chan_hdr);
	assert_true(fields <= hdr);

	struct pshm_chan *w = NULL, *r = NULL, *ch = NULL;
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
	/* Leave a few messages in the ring, one of them past a skip at the ring's end: five
	 * payloads of 700 bytes, four read, then three more that go round the end. */
	for (uint64_t i = 0; i < 5; i++) {
		fill(buf, i, 700);
		tu_ok(pshm_chan_send(w, buf, 700, 0));
	}
	for (int i = 0; i < 4; i++)
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	for (uint64_t i = 5; i < 8; i++) {
		fill(buf, i, 700);
		tu_ok(pshm_chan_send(w, buf, 700, 0));
	}
	unsigned char *image = malloc(size);
	assert_non_null(image);
	memcpy(image, mem, size);

	const uint64_t vals[] = {0,          1,          7,          8,          16,
	                         4095,       4096,       4097,       2032,       2033,
	                         0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff, 0xdeadbeef};
	const size_t nvals = sizeof(vals) / sizeof(vals[0]);
	double open_ms = 0;

	/* Header words, then every 8-byte word of the descriptors and the data, with the word
	 * after it (a descriptor's position after its number, its length after its position). */
	for (off = 0; off < size; off = off + 4 < fields ? off + 4 : off < hdr ? hdr : off + 8) {
		for (size_t v = 0; v < nvals + 3; v++) {
			val = v < nvals ? vals[v] : chan_mix(off * 31 + v);
			memcpy(mem, image, size);
			uint32_t v32 = (uint32_t)val;
			memcpy(mem + off, &v32, 4);
			if (v >= nvals && off + 8 <= size)
				memcpy(mem + off, &val, 8);
			if (off >= hdr && off + 16 <= size) {
				/* Past the header: the next word too. */
				uint64_t s = val << 20;
				memcpy(mem + off + 8, &s, 8);
			}

			const void *p;
			void *q;
			int rc = pshm_chan_peek(r, &p, &len, 0);
			CHECK_RC("peek", rc);
			if (rc == 0) {
				/* Touch every byte handed out: one outside the mapping faults. */
				assert_true(len <= 4096 / 2);
				unsigned sum = 0;
				for (size_t i = 0; i < len; i++)
					sum += ((const volatile unsigned char *)p)[i];
				(void)sum;
				CHECK_RC("release", pshm_chan_release(r));
			}
			CHECK_RC("recv", pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
			CHECK_RC("recv", pshm_chan_recv(r, buf, 8, &len, 0));
			CHECK_RC("send", pshm_chan_send(w, buf, 100, 0));
			rc = pshm_chan_reserve(w, 300, &q, 0);
			CHECK_RC("reserve", rc);
			if (rc == 0) {
				memset(q, 0xa5, 300);
				CHECK_RC("commit", pshm_chan_commit(w, 300));
			}
			CHECK_RC("recv", pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
			(void)pshm_chan_lost(r);
			CHECK_RC("stat", pshm_chan_stat_addr(a, &st));

			/* New handles validate the header themselves; an opener may wait briefly on
			 * a header without magic, so this is sampled where that makes it slow. */
			if (open_ms < 3000 || off >= 8) {
				double t0 = tu_now_ms();
				ch = NULL;
				rc = pshm_chan_open(&ch, a, PSHM_CHAN_READER, 0);
				open_ms += tu_now_ms() - t0;
				CHECK_RC("open", rc);
				if (rc == 0) {
					CHECK_RC("recv",
					         pshm_chan_recv(ch, buf, sizeof(buf), &len, 0));
					CHECK_RC("close", pshm_chan_close(ch));
				}
			}
		}
	}
	memcpy(mem, image, size);
	free(image);
	printf("# %s: %lu calls reported -EBADMSG\n", mode_name, badmsg);
	assert_true(badmsg > 0);
	pshm_chan_close(w);
	pshm_chan_close(r);
	tu_ok(pshm_close(seg));
	tu_ok(pshm_destroy_addr(a));
	tu_err(pshm_chan_stat_addr(a, &st), -ENOENT);
}

static void test_corrupt_queue(void **state)
{
	(void)state;
	corrupt_mode(0);
}

static void test_corrupt_broadcast(void **state)
{
	(void)state;
	corrupt_mode(PSHM_CHAN_BROADCAST);
}

/* ---- a live scribbler ---------------------------------------------------------------------- */

enum { SCRIBBLE_OPS = 20000 };

/*
 * One side of a channel under attack, in its own process: SCRIBBLE_OPS sends (writer) or
 * receives (reader), most without waiting and one in 64 waiting 1 ms, each result one the library may give. A scribbler
 * may rewrite payloads and counters, so what arrives may be damaged or come again: only that
 * the calls return, with documented results, is checked; the intact messages are counted.
 * Exits 0, or 1 with a reason; a crash or a hang (the alarm) shows as a signal.
 */
static void scribble_side(const char *a, int role, int ready_fd)
{
	struct pshm_chan *ch = NULL;
	unsigned char buf[MAX_LEN];
	unsigned long ok = 0, errs = 0, intact = 0, reopen = 0;
	uint64_t seq = 0;
	size_t len;

	alarm(120);
	CHILD_CHECK(pshm_chan_open(&ch, a, role, 0) == 0, "open");
	CHILD_CHECK(write(ready_fd, "r", 1) == 1, "ready");
	for (int i = 0; i < SCRIBBLE_OPS; i++) {
		int rc;
		if (role == PSHM_CHAN_WRITER) {
			len = len_of(seq);
			fill(buf, seq, len);
			rc = pshm_chan_send(ch, buf, len, i % 64 ? 0 : 1);
			seq += rc == 0;
		} else {
			rc = pshm_chan_recv(ch, buf, sizeof(buf), &len, i % 64 ? 0 : 1);
			intact += rc == 0 && len >= 8 && check(buf, seq_of(buf, len), len);
		}
		CHILD_CHECK(chan_rc_plausible(rc), "call %d: %d (%s)", i, rc, pshm_strerror(rc));
		if (rc == 0)
			ok++;
		else
			errs++;
		/* A handle whose header made no sense is given up: attach again, as many
		 * times as it takes (a scribbled role may also look taken meanwhile). */
		while (rc == -EBADMSG || rc == PSHM_ETRUNCATED) {
			pshm_chan_close(ch);
			ch = NULL;
			rc = pshm_chan_open(&ch, a, role, 0);
			reopen++;
			CHILD_CHECK(chan_rc_plausible(rc) || rc == -EBUSY, "open: %d", rc);
			if (rc == 0)
				break;
			if (++i >= SCRIBBLE_OPS)
				goto out;
			rc = -EBADMSG;
		}
	}
out:
	if (role == PSHM_CHAN_WRITER)
		printf("# writer: %lu sends succeeded, %lu failed, %lu opens again\n", ok, errs,
		       reopen);
	else
		printf("# reader: %lu receives succeeded (%lu messages intact), %lu failed, %lu "
		       "opens again\n",
		       ok, intact, errs, reopen);
	fflush(stdout);
	pshm_chan_close(ch);
	_exit(0);
}

/*
 * A writer and a reader in processes of their own while a third process, with the object
 * mapped read-write, writes random bytes at random places of the header, descriptors and data
 * (a peer that may write may write anything): both must finish their calls with results the
 * library documents, never crash, never hang.
 */
static void scribble_mode(unsigned flags)
{
	char a[64];
	int ready[2];
	char c;
	pid_t pids[2];
	struct pshm_seg *seg;
	unsigned char *mem;
	size_t size;

	tu_name(a, sizeof(a), "scribble");
	tu_ok(pshm_chan_create(a, CAP, 0600, flags));
	assert_int_equal(pipe(ready), 0);
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			scribble_side(a, i ? PSHM_CHAN_READER : PSHM_CHAN_WRITER, ready[1]);
		assert_int_equal(read(ready[0], &c, 1), 1);
	}
	tu_ok(pshm_open(&seg, a, 0));
	tu_ok(pshm_map(seg, 0, (void **)&mem, &size));
	/*
	 * Scribble for as long as either side runs. Most writes land in the header's fields;
	 * the first line (magic, version, sizes), written once at creation, is spared, or every
	 * open would just be refused, which test_corrupt_* already covers.
	 */
	uint64_t x = 0x9e3779b97f4a7c15ull ^ flags;
	unsigned long writes = 0;
	int status[2], left = 2;
	while (left) {
		for (int k = 0; k < 64; k++, writes++) {
			x = chan_mix(x + writes);
			size_t off = 64 + ((x & 3) ? (x >> 8) % 4032 : (x >> 8) % (size - 64));
			mem[off] = (unsigned char)(x >> 40);
		}
		sched_yield();
		for (int i = 0; i < 2; i++)
			if (pids[i] > 0 && waitpid(pids[i], &status[i], WNOHANG) == pids[i]) {
				pids[i] = 0;
				left--;
			}
	}
	printf("# %s: %lu random bytes written over a live channel\n",
	       flags & PSHM_CHAN_BROADCAST ? "broadcast" : "queue", writes);
	for (int i = 0; i < 2; i++)
		if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]))
			fail_msg("the %s ended with status %#x", i ? "reader" : "writer",
			         status[i]);
	close(ready[0]);
	close(ready[1]);
	tu_ok(pshm_close(seg));
	tu_ok(pshm_destroy_addr(a));
}

static void test_scribbler_queue(void **state)
{
	(void)state;
	scribble_mode(0);
}

static void test_scribbler_broadcast(void **state)
{
	(void)state;
	scribble_mode(PSHM_CHAN_BROADCAST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill_writer),         cmocka_unit_test(test_kill_reader),
	    cmocka_unit_test(test_dead_in_commit),      cmocka_unit_test(test_corrupt_queue),
	    cmocka_unit_test(test_corrupt_broadcast),   cmocka_unit_test(test_scribbler_queue),
	    cmocka_unit_test(test_scribbler_broadcast),
	};

	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
