/*
 * test_chan.c - message channels: creation and attachment rules, send/recv and the zero-copy
 * calls, message sizes up to the limit, wrap-around of the data ring, the full and empty
 * edges, blocking across two processes, a long two-process stress run with every message
 * verified, clean detach (-EPIPE), broadcast mode with exact loss accounting, and streams a
 * writer gives up (-ECONNABORTED).
 */
#include "testutil.h"
#include "chantest.h"
#include "chan.h" /* what a role knows of itself: whether it asked for fences */

#include <dirent.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

/*
 * The layout's limits: every message takes one of CAPACITY / 32 descriptors, and a message of
 * more than 12 bytes also its length rounded up to 8 in the data ring of CAPACITY bytes.
 */
#define INLINE_MAX   12
#define MAX_MSG(cap) ((cap) / 2)
#define NDESC(cap)   ((cap) / 32)
#define DATA(len)    (((len) + 7) & ~(size_t)7)
#define DESC         32

/*
 * The payload of message SEQ with LEN bytes: its first bytes hold SEQ itself (as many as fit),
 * the rest a pattern that depends on SEQ and LEN, so a torn, shifted or stale message cannot
 * compare equal to the expected one.
 */
static void fill(void *buf, uint64_t seq, size_t len)
{
	unsigned char *p = buf;
	uint64_t x = chan_mix(seq ^ ((uint64_t)len << 40));
	size_t i = 0;

	memcpy(p, &seq, len < 8 ? len : 8);
	for (i = 8; i + 8 <= len; i += 8) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		memcpy(p + i, &x, 8);
	}
	for (; i < len; i++)
		p[i] = (unsigned char)(x >> (8 * (i & 7))) ^ (unsigned char)i;
}

/* Whether BUF holds exactly message SEQ of LEN bytes. */
static bool check(const void *buf, uint64_t seq, size_t len)
{
	static unsigned char want[1 << 17];
	if (len > sizeof(want))
		return false;
	fill(want, seq, len);
	return memcmp(buf, want, len) == 0;
}

/* The sequence number a message carries in its first eight bytes. */
static uint64_t seq_of(const void *buf)
{
	uint64_t s;
	memcpy(&s, buf, 8);
	return s;
}

/* A fresh channel address in the private shm directory. */
static const char *new_chan(char *buf, size_t size, uint64_t cap, unsigned flags)
{
	tu_name(buf, size, "chan");
	tu_ok(pshm_chan_create(buf, cap, 0600, flags));
	return buf;
}

static struct pshm_chan *attach(const char *addr, int role)
{
	struct pshm_chan *ch = NULL;
	tu_ok(pshm_chan_open(&ch, addr, role, 0));
	assert_non_null(ch);
	return ch;
}

static void send_msg(struct pshm_chan *w, uint64_t seq, size_t len, int timeout)
{
	static unsigned char buf[1 << 17];
	fill(buf, seq, len);
	tu_ok(pshm_chan_send(w, buf, len, timeout));
}

/* Receive one message and insist that it is message SEQ of LEN bytes. */
static void recv_msg(struct pshm_chan *r, uint64_t seq, size_t len)
{
	static unsigned char buf[1 << 17];
	size_t got = 0;
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &got, 0));
	assert_int_equal(got, len);
	if (!check(buf, seq, len))
		fail_msg("message %llu (%zu bytes) damaged: carries %llu", (unsigned long long)seq,
		         len, (unsigned long long)(len >= 8 ? seq_of(buf) : 0));
}

/* Peek at the next message of R, insist that it is message SEQ of LEN bytes, and release it. */
static void peek_msg(struct pshm_chan *r, uint64_t seq, size_t len)
{
	const void *p;
	size_t got;
	tu_ok(pshm_chan_peek(r, &p, &got, 0));
	assert_int_equal(got, len);
	assert_true(check(p, seq, len));
	tu_ok(pshm_chan_release(r));
}

/* Detach the writer W and the reader R of channel A, then remove it. */
static void drop_chan(const char *a, struct pshm_chan *w, struct pshm_chan *r)
{
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

static int reap(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- creation and attachment ------------------------------------------------------------- */

static void test_create(void **state)
{
	(void)state;
	char a[64], b[64], f[128];
	struct pshm_chan_stat st;

	/* The capacity is rounded up to a power of two, never below 4 KiB. */
	new_chan(a, sizeof(a), 0, 0);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.capacity, 4096);
	assert_int_equal(st.used, 0);
	assert_int_equal(st.max_message, MAX_MSG(4096));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_NONE);
	assert_int_equal(st.readers, 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.received, 0);
	assert_int_equal(st.mode, PSHM_CHAN_QUEUE);
	assert_int_equal(st.writers, 0);
	/* Room for later members, zero until then. */
	for (size_t i = 0; i < sizeof(st.reserved) / sizeof(st.reserved[0]); i++)
		assert_int_equal(st.reserved[i], 0);
	/* What a tool may rely on to tell a channel: the magic first, the ring after the header. */
	struct pshm_seg *seg;
	struct pshm_stat ss;
	char magic[8];
	tu_ok(pshm_open(&seg, a, PSHM_RDONLY));
	tu_ok(pshm_stat(seg, &ss));
	assert_true(ss.size > PSHM_CHAN_HEADER_SIZE);
	assert_int_equal(pread(pshm_fd(seg), magic, sizeof(magic), 0), (ssize_t)sizeof(magic));
	assert_memory_equal(magic, PSHM_CHAN_MAGIC, sizeof(magic));
	pshm_close(seg);

	new_chan(b, sizeof(b), 5000, PSHM_CHAN_BROADCAST);
	tu_ok(pshm_chan_stat_addr(b, &st));
	assert_int_equal(st.capacity, 8192);
	assert_int_equal(st.mode, PSHM_CHAN_BROADCAST);

	/* Exclusive by default; PSHM_OPEN_OR_CREATE accepts a channel of the same mode only. */
	tu_err(pshm_chan_create(a, 4096, 0600, 0), -EEXIST);
	tu_ok(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE));
	tu_err(pshm_chan_create(a, 4096, 0600, PSHM_OPEN_OR_CREATE | PSHM_CHAN_BROADCAST), -EEXIST);
	tu_ok(pshm_chan_create(b, 8192, 0600, PSHM_OPEN_OR_CREATE | PSHM_CHAN_BROADCAST));
	tu_err(pshm_chan_create(b, 8192, 0600, PSHM_OPEN_OR_CREATE), -EEXIST);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.capacity, 4096);

	/* An existing object that is not a channel is never taken for one: all zero, it looks
	 * like a channel whose header is still being written; with other bytes, like junk. */
	char c[64];
	struct pshm_chan *ch = NULL;
	void *mem;
	size_t size;
	tu_name(c, sizeof(c), "plain");
	tu_ok(pshm_create(&seg, c, 8192 + 4096, 0600, 0));
	tu_err(pshm_chan_create(c, 4096, 0600, PSHM_OPEN_OR_CREATE), -EAGAIN);
	tu_err(pshm_chan_open(&ch, c, PSHM_CHAN_READER, 0), -EAGAIN);
	tu_err(pshm_chan_stat_addr(c, &st), -EAGAIN);
	tu_ok(pshm_map(seg, 0, &mem, &size));
	memset(mem, 'x', size);
	tu_err(pshm_chan_create(c, 4096, 0600, PSHM_OPEN_OR_CREATE), -EBADMSG);
	tu_err(pshm_chan_open(&ch, c, PSHM_CHAN_READER, 0), -EBADMSG);
	tu_err(pshm_chan_stat_addr(c, &st), -EBADMSG);
	assert_null(ch);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));

	/* Addresses without a name, and options that make no sense for a ring. */
	tu_err(pshm_chan_create("memfd:", 4096, 0600, 0), -EOPNOTSUPP);
	tu_err(pshm_chan_create("sysv:0", 4096, 0600, 0), -EOPNOTSUPP);
	tu_err(pshm_chan_create("sysv:0x5eed", 4096, 0600, 0), -EOPNOTSUPP);
	tu_name(c, sizeof(c), "bad");
	tu_err(pshm_chan_create(c, 4096, 0600, PSHM_SPARSE), -EINVAL);
	tu_err(pshm_chan_create(c, 4096, 0600, 1u << 20), -EINVAL);
	tu_err(pshm_chan_create(c, (1ULL << 30) + 1, 0600, 0), -EINVAL);
	tu_err(pshm_chan_create(c, UINT64_MAX, 0600, 0), -EINVAL);
	tu_err(pshm_chan_stat_addr(c, &st), -ENOENT);

	/* A shared file works like a POSIX object. */
	snprintf(f, sizeof(f), "file:%s/chanfile", getenv("PSHM_DIR"));
	tu_ok(pshm_chan_create(f, 4096, 0600, 0));
	struct pshm_chan *w = attach(f, PSHM_CHAN_WRITER), *r = attach(f, PSHM_CHAN_READER);
	send_msg(w, 7, 33, 0);
	recv_msg(r, 7, 33);
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(r));

	tu_ok(pshm_destroy_addr(a));
	tu_ok(pshm_destroy_addr(b));
	tu_ok(pshm_destroy_addr(f));
	assert_int_equal(tu_count_entries(getenv("PSHM_DIR")), 0);
}

static void test_open_roles(void **state)
{
	(void)state;
	char a[64];
	struct pshm_chan *ch = NULL, *w, *r;
	struct pshm_chan_stat st;

	tu_name(a, sizeof(a), "none");
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, 0), -ENOENT);
	assert_null(ch);
	new_chan(a, sizeof(a), 4096, 0);
	tu_err(pshm_chan_open(&ch, a, 0, 0), -EINVAL);
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_WRITER | PSHM_CHAN_READER, 0), -EINVAL);
	tu_err(pshm_chan_open(&ch, a, 7, 0), -EINVAL);
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_READER, 1), -EINVAL);
	assert_null(ch);

	/* One writer and, in queue mode, one reader: a second of either is refused. */
	w = attach(a, PSHM_CHAN_WRITER);
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_WRITER, 0), -EBUSY);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ATTACHED);
	assert_int_equal(st.readers, 0);
	r = attach(a, PSHM_CHAN_READER);
	tu_err(pshm_chan_open(&ch, a, PSHM_CHAN_READER, 0), -EBUSY);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 1);

	/* A role is not the other one. */
	char buf[8] = "x";
	size_t len;
	const void *p;
	void *q;
	tu_err(pshm_chan_send(r, buf, 1, 0), -EINVAL);
	tu_err(pshm_chan_reserve(r, 1, &q, 0), -EINVAL);
	tu_err(pshm_chan_commit(r, 0), -EINVAL);
	tu_err(pshm_chan_recv(w, buf, sizeof(buf), &len, 0), -EINVAL);
	tu_err(pshm_chan_peek(w, &p, &len, 0), -EINVAL);
	tu_err(pshm_chan_release(w), -EINVAL);
	tu_err(pshm_chan_set_spin(w, 1000000001), -EINVAL);
	/* No handle, or no bytes behind a length. */
	tu_err(pshm_chan_send(NULL, buf, 1, 0), -EINVAL);
	tu_err(pshm_chan_send(w, NULL, 1, 0), -EINVAL);
	tu_err(pshm_chan_recv(NULL, buf, sizeof(buf), &len, 0), -EINVAL);
	tu_err(pshm_chan_recv(r, NULL, 1, &len, 0), -EINVAL);
	tu_err(pshm_chan_release(NULL), -EINVAL);

	/* A clean detach frees the role and shows in the state. */
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DETACHED);
	w = attach(a, PSHM_CHAN_WRITER);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 0);
	r = attach(a, PSHM_CHAN_READER);
	tu_ok(pshm_chan_set_spin(r, 0));
	tu_ok(pshm_chan_set_spin(w, 1000000000));
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_chan_close(NULL));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- round trips and edges --------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[256];
	size_t len = 0;
	const void *p;
	void *q;
	struct pshm_chan_stat st;

	new_chan(a, sizeof(a), 4096, 0);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);

	/* Empty: nothing now, nothing within 10 ms. */
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_err(pshm_chan_peek(r, &p, &len, 0), -EAGAIN);
	double t0 = tu_now_ms();
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 10), -ETIMEDOUT);
	double dt = tu_now_ms() - t0;
	assert_true(dt >= 9 && dt < 30000);
	t0 = tu_now_ms();
	tu_err(pshm_chan_peek(r, &p, &len, 10), -ETIMEDOUT);
	assert_true(tu_now_ms() - t0 >= 9);

	/* Copying calls. */
	tu_ok(pshm_chan_send(w, "hello", 5, 0));
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);

	/* Too small a buffer leaves the message in place and says how long it is. */
	send_msg(w, 1, 100, 0);
	len = 0;
	tu_err(pshm_chan_recv(r, buf, 99, &len, 0), -EMSGSIZE);
	assert_int_equal(len, 100);
	tu_err(pshm_chan_recv(r, buf, 0, &len, 0), -EMSGSIZE);
	recv_msg(r, 1, 100);

	/* An empty message is a message. */
	tu_ok(pshm_chan_send(w, NULL, 0, 0));
	len = 99;
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	assert_int_equal(len, 0);

	/* Zero-copy: a reservation is invisible until committed, and may be committed shorter. */
	tu_err(pshm_chan_release(r), -EINVAL);
	tu_ok(pshm_chan_reserve(w, 200, &q, 0));
	assert_non_null(q);
	assert_int_equal((uintptr_t)q % 8, 0);
	tu_err(pshm_chan_reserve(w, 10, &q, 0), -EINVAL);
	/* Nor may a copy go out in the middle of a reservation. */
	tu_err(pshm_chan_send(w, buf, 10, 0), -EINVAL);
	fill(q, 2, 120);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_err(pshm_chan_commit(w, 201), -EINVAL);
	tu_ok(pshm_chan_commit(w, 120));
	tu_err(pshm_chan_commit(w, 1), -EINVAL);
	tu_ok(pshm_chan_peek(r, &p, &len, 0));
	assert_int_equal(len, 120);
	assert_int_equal((uintptr_t)p % 8, 0);
	assert_true(check(p, 2, 120));
	tu_ok(pshm_chan_release(r));
	tu_err(pshm_chan_release(r), -EINVAL);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);

	/* A peeked message stays until released; the copying call then sees the next one. */
	send_msg(w, 3, 64, 0);
	send_msg(w, 4, 65, 0);
	peek_msg(r, 3, 64);
	peek_msg(r, 4, 65);

	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.sent, 6);
	assert_int_equal(st.received, 6);
	assert_int_equal(st.bytes, 5 + 100 + 120 + 64 + 65);
	assert_int_equal(st.used, 0);
	drop_chan(a, w, r);
}

/* Every size from 1 byte to the limit, through both APIs, in rings of two capacities. */
static void test_sizes(void **state)
{
	(void)state;
	static const uint64_t caps[] = {4096, 16384};
	unsigned char big[40000];

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		char a[64];
		size_t max = MAX_MSG(caps[c]), len;
		const void *p;
		void *q;

		new_chan(a, sizeof(a), caps[c], 0);
		struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);
		for (size_t n = 1; n <= max; n++) {
			send_msg(w, n, n, 0);
			recv_msg(r, n, n);
			tu_ok(pshm_chan_reserve(w, n, &q, 0));
			fill(q, n + 1000000, n);
			tu_ok(pshm_chan_commit(w, n));
			tu_ok(pshm_chan_peek(r, &p, &len, 0));
			assert_int_equal(len, n);
			if (!check(p, n + 1000000, n))
				fail_msg("zero-copy message of %zu bytes damaged", n);
			tu_ok(pshm_chan_release(r));
		}
		/* One byte over the limit is refused, whatever the ring holds. */
		tu_err(pshm_chan_send(w, big, max + 1, 0), -EMSGSIZE);
		tu_err(pshm_chan_send(w, big, max + 1, PSHM_CHAN_FOREVER), -EMSGSIZE);
		tu_err(pshm_chan_reserve(w, max + 1, &q, 0), -EMSGSIZE);
		tu_err(pshm_chan_send(w, big, sizeof(big), 0), -EMSGSIZE);
		tu_err(pshm_chan_reserve(w, SIZE_MAX, &q, 0), -EMSGSIZE);
		tu_err(pshm_chan_recv(r, big, sizeof(big), &len, 0), -EAGAIN);
		drop_chan(a, w, r);
	}
}

/*
 * Wrap-around: a payload that does not fit before the end of the data ring goes to the start
 * of the next lap. A message of the maximum size must fit an empty ring wherever the position
 * stands, and messages must come out whole and in order across every wrap.
 */
static void test_wrap(void **state)
{
	(void)state;
	char a[64];
	const size_t cap = 4096, max = MAX_MSG(4096);
	size_t len;

	new_chan(a, sizeof(a), cap, 0);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);

	/* Four payloads of 1000 bytes leave 96 at the end: a fifth goes to the next lap's start,
	 * and needs the first freed. */
	for (uint64_t i = 0; i < 4; i++)
		send_msg(w, i, 1000, 0);
	unsigned char tmp[1000];
	fill(tmp, 4, 1000);
	tu_err(pshm_chan_send(w, tmp, 1000, 0), -EAGAIN);
	/* What fits at the end still goes there. */
	send_msg(w, 4, 96, 0);
	tu_err(pshm_chan_send(w, tmp, 16, 0), -EAGAIN);
	/* Inline messages need no data. */
	send_msg(w, 5, INLINE_MAX, 0);
	recv_msg(r, 0, 1000);
	send_msg(w, 6, 1000, 0);
	tu_err(pshm_chan_send(w, tmp, 16, 0), -EAGAIN);
	for (uint64_t i = 1; i < 7; i++) {
		size_t want = i < 4 || i == 6 ? 1000 : i == 4 ? 96 : INLINE_MAX;
		peek_msg(r, i, want);
	}

	/* Payloads at many 8-byte positions of the ring: a step of 16 or 24 bytes of data, then a
	 * maximal message, which fits only in the first half of a lap. */
	for (uint64_t i = 0; i < 2 * cap / 8; i++) {
		size_t step = i % 3 ? 13 : 17;
		send_msg(w, i, step, 0);
		recv_msg(r, i, step);
		send_msg(w, i, max, 0);
		peek_msg(r, i, max);
	}

	/* Many messages of varied sizes with several in flight. */
	uint64_t sent = 0, got = 0;
	for (int round = 0; round < 20000; round++) {
		int burst = 1 + (int)(chan_mix(round) % 5);
		for (int k = 0; k < burst; k++) {
			size_t n = 1 + chan_mix(sent) % 700;
			fill(tmp, sent, n);
			int rc = pshm_chan_send(w, tmp, n, 0);
			if (rc == -EAGAIN)
				break;
			tu_ok(rc);
			sent++;
		}
		int take = 1 + (int)(chan_mix(round + 7) % 5);
		for (int k = 0; k < take && got < sent; k++, got++)
			recv_msg(r, got, 1 + chan_mix(got) % 700);
	}
	while (got < sent) {
		recv_msg(r, got, 1 + chan_mix(got) % 700);
		got++;
	}
	tu_err(pshm_chan_recv(r, tmp, sizeof(tmp), &len, 0), -EAGAIN);
	drop_chan(a, w, r);
}

/* Full: no wait with timeout 0, a timed wait with 10 ms; the ring holds what the layout says. */
static void test_full(void **state)
{
	(void)state;
	char a[64];
	struct pshm_chan_stat st;
	unsigned char buf[40];
	void *q;

	new_chan(a, sizeof(a), 4096, 0);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);
	uint64_t n = 0;
	for (;;) {
		fill(buf, n, 40);
		int rc = pshm_chan_send(w, buf, 40, 0);
		if (rc == -EAGAIN)
			break;
		tu_ok(rc);
		n++;
	}
	/* The data ring is full first: 102 payloads of 40 bytes, 16 bytes left. */
	assert_int_equal(n, 4096 / DATA(40));
	tu_err(pshm_chan_reserve(w, 40, &q, 0), -EAGAIN);
	double t0 = tu_now_ms();
	tu_err(pshm_chan_send(w, buf, 40, 10), -ETIMEDOUT);
	double dt = tu_now_ms() - t0;
	assert_true(dt >= 9 && dt < 30000);
	tu_err(pshm_chan_reserve(w, 40, &q, 10), -ETIMEDOUT);
	/* What still fits goes in: 16 bytes of data, then messages that need none, until the
	 * descriptors run out. */
	uint64_t full = n;
	size_t room = 4096 - n * DATA(40);
	assert_int_equal(room, 16);
	send_msg(w, n++, 16, 0);
	tu_err(pshm_chan_send(w, buf, INLINE_MAX + 1, 0), -EAGAIN);
	while (n < NDESC(4096))
		send_msg(w, n++, INLINE_MAX, 0);
	tu_err(pshm_chan_send(w, buf, 0, 0), -EAGAIN);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.sent, n);
	assert_int_equal(st.used, 4096 + NDESC(4096) * DESC);
	for (uint64_t i = 0; i < full; i++)
		recv_msg(r, i, 40);
	recv_msg(r, full, 16);
	for (uint64_t i = full + 1; i < n; i++)
		recv_msg(r, i, INLINE_MAX);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.used, 0);
	assert_int_equal(st.received, n);
	drop_chan(a, w, r);
}

/* Clean detach: the reader drains, then hears -EPIPE; a writer hears it of a gone reader. */
static void test_epipe(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[64];
	size_t len;
	const void *p;
	struct pshm_chan_stat st;

	new_chan(a, sizeof(a), 4096, 0);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);
	for (uint64_t i = 0; i < 3; i++)
		send_msg(w, i, 40, 0);
	tu_ok(pshm_chan_close(w));
	for (uint64_t i = 0; i < 3; i++)
		recv_msg(r, i, 40);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EPIPE);
	double t0 = tu_now_ms();
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -EPIPE);
	tu_err(pshm_chan_peek(r, &p, &len, 60000), -EPIPE);
	assert_true(tu_now_ms() - t0 < 30000);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DETACHED);

	/* A new writer picks up where the old one stopped. */
	w = attach(a, PSHM_CHAN_WRITER);
	send_msg(w, 3, 40, 0);
	recv_msg(r, 3, 40);

	/* A queue writer whose reader left hears -EPIPE. */
	tu_ok(pshm_chan_close(r));
	tu_err(pshm_chan_send(w, buf, 8, 0), -EPIPE);
	tu_err(pshm_chan_send(w, buf, 8, PSHM_CHAN_FOREVER), -EPIPE);
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- two processes ----------------------------------------------------------------------- */

/* Wait until MARK, another process's "I am going to sleep" mark in the header, is set. */
static void wait_mark(_Atomic uint32_t *mark)
{
	while (!atomic_load(mark))
		tu_poll_pause();
}

/* A blocked recv wakes when the other process sends; a blocked send when it receives. */
static void test_blocking(void **state)
{
	(void)state;
	char a[64];
	int ready[2];

	for (int spin = 0; spin < 2; spin++) {
		new_chan(a, sizeof(a), 4096, 0);
		assert_int_equal(pipe(ready), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alarm(60);
			struct pshm_chan *r = NULL;
			unsigned char buf[4096];
			size_t len;
			CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "open");
			CHILD_CHECK(pshm_chan_set_spin(r, spin ? 20000 : 0) == 0, "spin");
			CHILD_CHECK(write(ready[1], "r", 1) == 1, "ready");
			int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
			CHILD_CHECK(rc == 0, "recv = %d", rc);
			CHILD_CHECK(len == 77 && check(buf, 1, 77), "message 1");
			/* Drain the ring only once the parent has filled it and gone to sleep. */
			wait_mark(&r->h->writer_waiting);
			for (uint64_t i = 2;; i++) {
				rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
				if (rc == -EPIPE)
					break;
				CHILD_CHECK(rc == 0, "recv %llu = %d", (unsigned long long)i, rc);
				CHILD_CHECK(len == 100 && check(buf, i, 100), "message %llu",
				            (unsigned long long)i);
			}
			CHILD_CHECK(pshm_chan_close(r) == 0, "close");
			_exit(0);
		}
		char c;
		struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
		tu_ok(pshm_chan_set_spin(w, spin ? 20000 : 0));
		assert_int_equal(read(ready[0], &c, 1), 1);
		/* Send only once the reader sleeps: its recv must be woken. */
		alarm(60);
		wait_mark(&w->h->reader_waiting);
		send_msg(w, 1, 77, 0);
		/* Fill the ring only once the reader has taken message 1: the last send below
		 * then finds it full and must sleep until the reader drains it. */
		struct pshm_chan_stat st;
		do {
			tu_ok(pshm_chan_stat_addr(a, &st));
			if (st.received != 1)
				tu_poll_pause();
		} while (st.received != 1);
		uint64_t i = 2;
		unsigned char buf[100];
		for (;; i++) {
			fill(buf, i, 100);
			int rc = pshm_chan_send(w, buf, 100, 0);
			if (rc == -EAGAIN)
				break;
			tu_ok(rc);
		}
		tu_ok(pshm_chan_send(w, buf, 100, PSHM_CHAN_FOREVER));
		for (i++; i < 300; i++)
			send_msg(w, i, 100, PSHM_CHAN_FOREVER);
		tu_ok(pshm_chan_close(w));
		assert_int_equal(reap(pid), 0);
		alarm(0);
		close(ready[0]);
		close(ready[1]);
		tu_ok(pshm_destroy_addr(a));
	}
}

#define STRESS_CAP (64 * 1024)
#define STRESS_MAX 4096

/* PSHM_CHAN_STRESS=N runs N messages instead. */
static uint64_t stress_count(void)
{
	const char *e = getenv("PSHM_CHAN_STRESS");
	if (e)
		return strtoull(e, NULL, 0);
	/* A million fits in a few seconds, also under ASan (the ring is not instrumented). */
	return 1000000;
}

static size_t stress_len(uint64_t seq)
{
	return 1 + chan_mix(seq * 2 + 1) % STRESS_MAX;
}

/*
 * Two processes, a million messages of random sizes from 1 to 4096 bytes, each carrying its
 * sequence number and a pattern derived from it; the writer alternates the copying and the
 * zero-copy call (some reservations committed shorter), the reader too, and every message is
 * checked in order. A small spin budget makes both sides sleep on the futex often.
 */
static void test_stress(void **state)
{
	(void)state;
	char a[64];
	uint64_t n = stress_count();

	new_chan(a, sizeof(a), STRESS_CAP, 0);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);
		struct pshm_chan *w = NULL;
		static unsigned char buf[STRESS_MAX];
		CHILD_CHECK(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0) == 0, "open");
		for (uint64_t i = 0; i < n; i++) {
			size_t len = stress_len(i);
			int rc;
			if (i % 2 == 0) {
				fill(buf, i, len);
				rc = pshm_chan_send(w, buf, len, PSHM_CHAN_FOREVER);
			} else {
				void *q;
				size_t ask = i % 3 == 0 ? STRESS_MAX : len;
				rc = pshm_chan_reserve(w, ask, &q, PSHM_CHAN_FOREVER);
				CHILD_CHECK(rc == 0, "reserve %llu = %d", (unsigned long long)i,
				            rc);
				fill(q, i, len);
				rc = pshm_chan_commit(w, len);
			}
			CHILD_CHECK(rc == 0, "send %llu = %d", (unsigned long long)i, rc);
		}
		CHILD_CHECK(pshm_chan_close(w) == 0, "close");
		_exit(0);
	}

	static unsigned char buf[STRESS_MAX];
	uint64_t bytes = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t want = stress_len(i), len = 0;
		const void *p;
		int rc;
		if (i % 3 != 0) {
			rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 10000);
			p = buf;
		} else {
			rc = pshm_chan_peek(r, &p, &len, 10000);
		}
		if (rc != 0)
			fail_msg("receiving message %llu: %d (%s)", (unsigned long long)i, rc,
			         pshm_strerror(rc));
		if (len != want || !check(p, i, len))
			fail_msg("message %llu: %zu bytes (expected %zu), carries %llu",
			         (unsigned long long)i, len, want,
			         (unsigned long long)(len >= 8 ? seq_of(p) : 0));
		if (i % 3 == 0)
			tu_ok(pshm_chan_release(r));
		bytes += len;
	}
	size_t len;
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 10000), -EPIPE);
	assert_int_equal(reap(pid), 0);
	struct pshm_chan_stat st;
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.sent, n);
	assert_int_equal(st.received, n);
	assert_int_equal(st.bytes, bytes);
	printf("# stress: %llu messages, %llu payload bytes\n", (unsigned long long)n,
	       (unsigned long long)bytes);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/*
 * No wake-up is ever lost, whichever side pays for the barrier: with sleeps of up to a minute
 * (PSHM_CHAN_SLICE_MS), a lost wake-up would hang a phase and the alarm would end the test.
 * The reader sleeps between bursts of 300 messages (membarrier at each sleep), then before
 * every message (it asks the writer for fences), then between bursts again, every 2 ms (back
 * to membarrier: what counts is the messages between sleeps, not the time); then the writer sleeps on a full ring that the reader empties 50 messages at a
 * time (fences) and for a while without pause (membarrier). Each side notes which way it went
 * after every message, and each way must have been taken in its phase.
 */
struct wake_phase {
	int bursts;
	int burst; /* messages sent back to back */
	int gap_us;
	bool fenced; /* how the reader should pay for its sleeps */
};

static const struct wake_phase wake_phases[] = {
    {8, 300, 12000, false}, {2000, 1, 60, true}, {10, 300, 2000, false}};
enum { WAKE_PHASES = sizeof(wake_phases) / sizeof(wake_phases[0]), WAKE_DRAIN = 6000 };

/* The reader's side of test_wakeups, in the child. */
static void wakeups_reader(const char *a, int ready_fd)
{
	struct pshm_chan *r = NULL;
	unsigned char buf[4096];
	size_t len;
	uint64_t i = 0;

	alarm(60);
	CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "open");
	CHILD_CHECK(write(ready_fd, "r", 1) == 1, "ready");
	for (int p = 0; p < WAKE_PHASES; p++) {
		const struct wake_phase *ph = &wake_phases[p];
		bool seen = false;
		for (int k = 0; k < ph->bursts * ph->burst; k++, i++) {
			int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
			CHILD_CHECK(rc == 0 && check(buf, i, len), "recv %llu = %d",
			            (unsigned long long)i, rc);
			seen |= r->fenced == ph->fenced;
		}
		CHILD_CHECK(seen || !pshm__chan_asym, "phase %d: the reader never %s", p,
		            ph->fenced ? "asked for fences" : "paid with a membarrier");
	}
	/* Let the writer fill the ring and sleep, then take the messages 50 at a time, except
	 * for 3000 taken without a pause; the writer, at most a ring ahead, has more than a
	 * ring left to send after those, so it sleeps again after handling them. */
	for (int k = 0; k < WAKE_DRAIN; k++, i++) {
		if (k % 50 == 0 && (k < 1500 || k >= 4500))
			usleep(k % 1000 == 0 ? 12000 : 200);
		int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
		CHILD_CHECK(rc == 0 && check(buf, i, len), "recv %llu = %d", (unsigned long long)i,
		            rc);
	}
	CHILD_CHECK(pshm_chan_close(r) == 0, "close");
	_exit(0);
}

static void test_wakeups(void **state)
{
	(void)state;
	char a[64];
	int ready[2];

	setenv("PSHM_CHAN_SLICE_MS", "60000", 1);
	/* Room for a burst: the reader must not sleep in the middle of one. */
	new_chan(a, sizeof(a), 65536, 0);
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		wakeups_reader(a, ready[1]);
	alarm(60);
	char c;
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
	assert_int_equal(read(ready[0], &c, 1), 1);
	uint64_t i = 0;
	for (int p = 0; p < WAKE_PHASES; p++) {
		const struct wake_phase *ph = &wake_phases[p];
		for (int b = 0; b < ph->bursts; b++) {
			usleep(ph->gap_us);
			for (int k = 0; k < ph->burst; k++, i++)
				send_msg(w, i, 1 + i % 200, PSHM_CHAN_FOREVER);
		}
	}
	bool fenced = false, unfenced = false;
	for (int k = 0; k < WAKE_DRAIN; k++, i++) {
		send_msg(w, i, 1 + i % 200, PSHM_CHAN_FOREVER);
		fenced |= w->fenced;
		unfenced |= k > 1500 && !w->fenced;
	}
	assert_int_equal(reap(pid), 0);
	alarm(0);
	if (pshm__chan_asym && !(fenced && unfenced))
		fail_msg("the writer %s",
		         fenced ? "never paid with a membarrier" : "never asked for fences");
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
	close(ready[0]);
	close(ready[1]);
	unsetenv("PSHM_CHAN_SLICE_MS");
}

/* ---- broadcast --------------------------------------------------------------------------- */

/* In one process: start positions, overrun with an exact loss count, reader slots. */
static void test_broadcast_basic(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[256];
	size_t len;
	const void *p;
	struct pshm_chan_stat st;

	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r1 = attach(a, PSHM_CHAN_READER);
	send_msg(w, 0, 50, 0);
	/* A reader starts at the writer's position: it does not see what came before. */
	struct pshm_chan *r2 = attach(a, PSHM_CHAN_READER);
	send_msg(w, 1, 50, 0);
	recv_msg(r1, 0, 50);
	recv_msg(r1, 1, 50);
	tu_ok(pshm_chan_peek(r2, &p, &len, 0));
	assert_int_equal(len, 50);
	assert_true(check(p, 1, 50));
	tu_ok(pshm_chan_release(r2));
	tu_err(pshm_chan_recv(r1, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_err(pshm_chan_recv(r2, buf, sizeof(buf), &len, 0), -EAGAIN);
	assert_int_equal(pshm_chan_lost(r1), 0);

	/* The writer never waits for readers. */
	const uint64_t base = 2, n = 1000;
	for (uint64_t i = base; i < base + n; i++)
		send_msg(w, i, 100, 0);

	/* r1 was overrun: -EOVERFLOW, then the oldest intact message, the loss counted exactly. */
	tu_err(pshm_chan_recv(r1, buf, sizeof(buf), &len, 0), -EOVERFLOW);
	uint64_t lost = pshm_chan_lost(r1);
	assert_true(lost > 0 && lost < n);
	uint64_t next = base + lost, got = 0;
	for (;; next++, got++) {
		int rc = pshm_chan_recv(r1, buf, sizeof(buf), &len, 0);
		if (rc == -EAGAIN)
			break;
		tu_ok(rc);
		assert_int_equal(len, 100);
		if (!check(buf, next, 100))
			fail_msg("after the overrun expected message %llu, got %llu",
			         (unsigned long long)next, (unsigned long long)seq_of(buf));
	}
	assert_int_equal(next, base + n);
	assert_int_equal(lost + got, n);
	/* The ring holds at most capacity bytes of payloads, and all of them were intact. */
	assert_true(got <= 4096 / DATA(100) && got >= 4096 / DATA(100) - 2);
	assert_int_equal(pshm_chan_lost(r1), lost);

	/* Same through peek for r2. */
	tu_err(pshm_chan_peek(r2, &p, &len, 0), -EOVERFLOW);
	assert_int_equal(pshm_chan_lost(r2), lost);
	tu_ok(pshm_chan_peek(r2, &p, &len, 0));
	assert_true(check(p, base + lost, 100));
	tu_ok(pshm_chan_release(r2));
	while (pshm_chan_recv(r2, buf, sizeof(buf), &len, 0) == 0)
		;

	/* A message overwritten while peeked: release says so, and the count stays exact. */
	send_msg(w, 5000, 100, 0);
	tu_ok(pshm_chan_peek(r2, &p, &len, 0));
	for (uint64_t i = 5001; i < 5100; i++)
		send_msg(w, i, 100, 0);
	tu_err(pshm_chan_release(r2), -EOVERFLOW);
	uint64_t lost2 = pshm_chan_lost(r2) - lost;
	int rc = pshm_chan_recv(r2, buf, sizeof(buf), &len, 0);
	if (rc == -EOVERFLOW) {
		lost2 = pshm_chan_lost(r2) - lost;
		rc = pshm_chan_recv(r2, buf, sizeof(buf), &len, 0);
	}
	tu_ok(rc);
	/* The held message itself is counted lost: its data could not be trusted. */
	assert_int_equal(seq_of(buf), 5000 + lost2);

	/* Up to 64 readers in all; a freed slot can be taken again. */
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 2);
	struct pshm_chan *rs[64];
	int k;
	for (k = 0; k < 62; k++)
		tu_ok(pshm_chan_open(&rs[k], a, PSHM_CHAN_READER, 0));
	struct pshm_chan *extra = NULL;
	tu_err(pshm_chan_open(&extra, a, PSHM_CHAN_READER, 0), -EBUSY);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 64);
	tu_ok(pshm_chan_close(rs[30]));
	tu_ok(pshm_chan_open(&rs[30], a, PSHM_CHAN_READER, 0));
	for (k = 0; k < 62; k++)
		tu_ok(pshm_chan_close(rs[k]));

	/* The writer's clean detach: r1 (overrun meanwhile) drains, then hears -EPIPE. */
	send_msg(w, 9000, 10, 0);
	tu_ok(pshm_chan_close(w));
	uint64_t lost1 = pshm_chan_lost(r1);
	tu_err(pshm_chan_recv(r1, buf, sizeof(buf), &len, 0), -EOVERFLOW);
	uint64_t seq = 5000 + pshm_chan_lost(r1) - lost1;
	for (;; seq++) {
		rc = pshm_chan_recv(r1, buf, sizeof(buf), &len, 0);
		if (rc == -EPIPE)
			break;
		tu_ok(rc);
		if (seq == 5100) {
			assert_int_equal(len, 10);
			assert_true(check(buf, 9000, 10));
		} else {
			assert_true(check(buf, seq, 100));
		}
	}
	assert_int_equal(seq, 5101);
	tu_ok(pshm_chan_close(r1));
	tu_ok(pshm_chan_close(r2));
	tu_ok(pshm_destroy_addr(a));
}

/*
 * A broadcast reader in its own process: reads until -EPIPE, sleeping SLOW_US after each
 * message, and checks that every message is intact, in order, and that each overrun's loss
 * count matches the gap in sequence numbers exactly. Exits 0, or 1 on any fault; 2 when it
 * never saw an overrun although it was told it must.
 */
static void bcast_reader(const char *a, int ready_fd, int slow_us, uint64_t n, bool must_overrun)
{
	alarm(120);
	struct pshm_chan *r = NULL;
	unsigned char buf[256];
	size_t len;
	uint64_t next = 0, got = 0, overruns = 0;

	CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "open");
	CHILD_CHECK(write(ready_fd, "r", 1) == 1, "ready");
	for (;;) {
		uint64_t lost0 = pshm_chan_lost(r);
		int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 5000);
		if (rc == -EPIPE)
			break;
		if (rc == -EOVERFLOW) {
			overruns++;
			CHILD_CHECK(pshm_chan_lost(r) > lost0, "overrun without loss");
			continue;
		}
		CHILD_CHECK(rc == 0, "recv = %d", rc);
		uint64_t seq = seq_of(buf);
		CHILD_CHECK(len == 100 && check(buf, seq, 100), "damaged message");
		CHILD_CHECK(seq >= next, "message %llu after %llu", (unsigned long long)seq,
		            (unsigned long long)next);
		next = seq + 1;
		got++;
		CHILD_CHECK(next - got == pshm_chan_lost(r),
		            "message %llu after %llu received: lost count %llu",
		            (unsigned long long)seq, (unsigned long long)got,
		            (unsigned long long)pshm_chan_lost(r));
		if (slow_us)
			usleep(slow_us);
	}
	CHILD_CHECK(next == n, "last message %llu of %llu", (unsigned long long)next,
	            (unsigned long long)n);
	CHILD_CHECK(got + pshm_chan_lost(r) == n, "received %llu + lost %llu != %llu",
	            (unsigned long long)got, (unsigned long long)pshm_chan_lost(r),
	            (unsigned long long)n);
	pshm_chan_close(r);
	_exit(must_overrun && overruns == 0 ? 2 : 0);
}

/* Three reader processes: one fast, one slow (overrun), one killed; the writer never waits. */
static void test_broadcast_procs(void **state)
{
	(void)state;
	char a[64];
	int ready[2];
	const uint64_t n = 20000;
	pid_t pids[3];
	char c;

	new_chan(a, sizeof(a), 16384, PSHM_CHAN_BROADCAST);
	assert_int_equal(pipe(ready), 0);
	for (int i = 0; i < 3; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			if (i == 2) {
				/* The victim attaches and then stops reading until it is killed. */
				struct pshm_chan *r = NULL;
				CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0,
				            "open");
				CHILD_CHECK(write(ready[1], "r", 1) == 1, "ready");
				alarm(120);
				pause();
				_exit(1);
			}
			bcast_reader(a, ready[1], i == 1 ? 2000 : 0, n, i == 1);
		}
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(read(ready[0], &c, 1), 1);

	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
	struct pshm_chan_stat st;
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 3);
	unsigned char buf[100];
	for (uint64_t i = 0; i < n; i++) {
		fill(buf, i, 100);
		/* With timeout 0 any wait for a reader would show up as -EAGAIN. */
		tu_ok(pshm_chan_send(w, buf, 100, 0));
		if (i % 200 == 199)
			usleep(1000);
		if (i == n / 2) {
			kill(pids[2], SIGKILL);
			assert_int_equal(reap(pids[2]), 128 + SIGKILL);
			tu_ok(pshm_chan_stat_addr(a, &st));
			assert_int_equal(st.readers, 2);
			/* Its slot can be taken at once. */
			struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
			tu_ok(pshm_chan_close(r));
		}
	}
	tu_ok(pshm_chan_close(w));
	assert_int_equal(reap(pids[0]), 0);
	assert_int_equal(reap(pids[1]), 0);
	close(ready[0]);
	close(ready[1]);
	tu_ok(pshm_destroy_addr(a));
	tu_err(pshm_chan_stat_addr(a, &st), -ENOENT);
}

/* ---- streams given up (pshm_chan_abort) -------------------------------------------------- */

/* Insist that reader R has nothing more and hears -ECONNABORTED, however it asks and again. */
static void expect_aborted(struct pshm_chan *r)
{
	unsigned char buf[64];
	size_t len;
	const void *p;

	for (int i = 0; i < 2; i++) {
		tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -ECONNABORTED);
		tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -ECONNABORTED);
		tu_err(pshm_chan_peek(r, &p, &len, 60000), -ECONNABORTED);
	}
}

/*
 * Fork a reader of channel A that never spins: it waits for message 4 of 20 bytes when
 * FIRST_4, then until the writer aborts the stream. It exits 0 when all went as it should.
 */
static pid_t fork_sleeper(const char *a, bool first_4)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);
		unsigned char buf[64];
		size_t len;
		struct pshm_chan *cr = NULL;
		CHILD_CHECK(pshm_chan_open(&cr, a, PSHM_CHAN_READER, 0) == 0, "open");
		CHILD_CHECK(pshm_chan_set_spin(cr, 0) == 0, "spin");
		int rc = 0;
		if (first_4) {
			rc = pshm_chan_recv(cr, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
			CHILD_CHECK(rc == 0 && len == 20 && check(buf, 4, 20), "message 4: %d", rc);
		}
		rc = pshm_chan_recv(cr, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
		CHILD_CHECK(rc == -ECONNABORTED, "after the abort: %d", rc);
		_exit(pshm_chan_close(cr) == 0 ? 0 : 1);
	}
	return pid;
}

/*
 * A writer that gives its stream up: what it committed arrives whole, a reservation it held
 * does not, then readers hear -ECONNABORTED (not -EPIPE) every time; a reader cannot abort;
 * the next writer starts a new stream, which may end cleanly.
 */
static void test_abort(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[64];
	size_t len;
	void *q;
	struct pshm_chan_stat st;

	new_chan(a, sizeof(a), 4096, 0);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);
	/* An inline payload, one in the data ring, and an empty one. */
	send_msg(w, 0, 5, 0);
	send_msg(w, 1, 300, 0);
	send_msg(w, 2, 0, 0);
	tu_ok(pshm_chan_reserve(w, 40, &q, 0));
	memset(q, 0xee, 40);
	tu_ok(pshm_chan_abort(w));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ABORTED);
	assert_int_equal(st.sent, 3);
	recv_msg(r, 0, 5);
	recv_msg(r, 1, 300);
	recv_msg(r, 2, 0);
	expect_aborted(r);

	/* A reader's handle is refused and left as it was: still attached, still usable. */
	tu_err(pshm_chan_abort(r), -EINVAL);
	tu_ok(pshm_chan_abort(NULL));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 1);
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ABORTED);
	struct pshm_chan *other = NULL;
	tu_err(pshm_chan_open(&other, a, PSHM_CHAN_READER, 0), -EBUSY);
	expect_aborted(r);

	/* A new writer takes over where the old one stopped: a new stream, ended cleanly. */
	w = attach(a, PSHM_CHAN_WRITER);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ATTACHED);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	send_msg(w, 3, 40, 0);
	tu_ok(pshm_chan_close(w));
	recv_msg(r, 3, 40);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EPIPE);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DETACHED);
	assert_int_equal(st.received, 4);

	/* A reader asleep in another process wakes at the abort, with nothing lost. */
	tu_ok(pshm_chan_close(r));
	w = attach(a, PSHM_CHAN_WRITER);
	pid_t pid = fork_sleeper(a, true);
	send_msg(w, 4, 20, 0);
	/* Abort only once the child sleeps for the next message. */
	while (atomic_load(&w->h->received) < 5)
		tu_poll_pause();
	wait_mark(&w->h->reader_waiting);
	tu_ok(pshm_chan_abort(w));
	assert_int_equal(reap(pid), 0);
	tu_ok(pshm_destroy_addr(a));
}

/*
 * A following reader hears each writer's end once, and then waits for the next writer rather
 * than hearing the end again: a clean detach, a death and an abort in turn, in queue and in
 * broadcast mode, the second writer coming while the reader sleeps.
 */
static void follow_ends(unsigned mode)
{
	char a[64];
	unsigned char buf[64];
	size_t len;
	struct pshm_chan *r = NULL;

	new_chan(a, sizeof(a), 4096, mode);
	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, PSHM_CHAN_FOLLOW));
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
	send_msg(w, 0, 40, 0);
	tu_ok(pshm_chan_close(w));
	recv_msg(r, 0, 40);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EPIPE);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 20), -ETIMEDOUT);

	/* The next writer comes once the reader sleeps, sends, and dies. */
	_Atomic uint32_t *mark = mode ? &r->h->slot[r->slot].waiting : &r->h->reader_waiting;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		while (!atomic_load(mark))
			tu_poll_pause();
		struct pshm_chan *cw = NULL;
		if (pshm_chan_open(&cw, a, PSHM_CHAN_WRITER, 0))
			_exit(1);
		fill(buf, 1, 40);
		if (pshm_chan_send(cw, buf, 40, 0))
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	size_t got = 0;
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &got, PSHM_CHAN_FOREVER));
	assert_int_equal(got, 40);
	assert_true(check(buf, 1, 40));
	assert_int_equal(reap(pid), 128 + SIGKILL);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER), -ECONNRESET);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);

	/* A third writer gives its stream up: heard once too. */
	w = attach(a, PSHM_CHAN_WRITER);
	send_msg(w, 2, 5, 0);
	tu_ok(pshm_chan_abort(w));
	recv_msg(r, 2, 5);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -ECONNABORTED);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_ok(pshm_chan_close(r));

	/* Without the flag, the end is heard at every call; the flag is a reader's only. */
	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	tu_ok(pshm_chan_close(w));
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EPIPE);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EPIPE);
	tu_err(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, PSHM_CHAN_FOLLOW), -EINVAL);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

static void test_follow(void **state)
{
	(void)state;
	follow_ends(PSHM_CHAN_QUEUE);
	follow_ends(PSHM_CHAN_BROADCAST);
}

/* The same for broadcast readers, each of which gets every message before the abort. */
static void test_broadcast_abort(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[64];
	size_t len;
	struct pshm_chan_stat st;

	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
	struct pshm_chan *r1 = attach(a, PSHM_CHAN_READER), *r2 = attach(a, PSHM_CHAN_READER);
	for (uint64_t i = 0; i < 5; i++)
		send_msg(w, i, i % 2 ? 7 : 60, 0);
	tu_ok(pshm_chan_abort(w));
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ABORTED);
	assert_int_equal(st.readers, 2);
	for (uint64_t i = 0; i < 5; i++) {
		recv_msg(r1, i, i % 2 ? 7 : 60);
		recv_msg(r2, i, i % 2 ? 7 : 60);
	}
	expect_aborted(r1);
	expect_aborted(r2);
	assert_int_equal(pshm_chan_lost(r1), 0);
	tu_err(pshm_chan_abort(r1), -EINVAL);

	/* A reader asleep in another process wakes at the next abort. */
	w = attach(a, PSHM_CHAN_WRITER);
	send_msg(w, 5, 30, 0);
	recv_msg(r1, 5, 30);
	pid_t pid = fork_sleeper(a, false);
	while (!atomic_load(&w->h->data_waiters))
		tu_poll_pause();
	tu_ok(pshm_chan_abort(w));
	assert_int_equal(reap(pid), 0);
	recv_msg(r2, 5, 30);
	expect_aborted(r1);
	expect_aborted(r2);

	/* A stream after an abort may end cleanly. */
	w = attach(a, PSHM_CHAN_WRITER);
	send_msg(w, 6, 9, 0);
	tu_ok(pshm_chan_close(w));
	recv_msg(r1, 6, 9);
	tu_err(pshm_chan_recv(r1, buf, sizeof(buf), &len, 0), -EPIPE);
	tu_ok(pshm_chan_close(r1));
	tu_ok(pshm_chan_close(r2));
	tu_ok(pshm_destroy_addr(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create),
	    cmocka_unit_test(test_open_roles),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_epipe),
	    cmocka_unit_test(test_blocking),
	    cmocka_unit_test(test_wakeups),
	    cmocka_unit_test(test_stress),
	    cmocka_unit_test(test_broadcast_basic),
	    cmocka_unit_test(test_broadcast_procs),
	    cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_broadcast_abort),
	    cmocka_unit_test(test_follow),
	};

	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
