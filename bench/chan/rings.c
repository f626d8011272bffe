/*
 * rings.c - bench_chan's transports in shared anonymous memory, spun on or slept on: the limits
 * the channels are measured against (a cache line, a futex word) and two minimal rings (fixed
 * slots; variable-length messages with their headers apart).
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "transport.h"

#define STALL_NS 10000000000ull /* a spinning side gives up after 10 s without progress */

/* A waiting side's check, made now and then: 0 to go on, or why to stop. */
static int spin_check(uint64_t *since)
{
	if (stop_signal)
		return -EINTR;
	uint64_t t = now_ns();
	if (!*since)
		*since = t;
	else if (t - *since > STALL_NS)
		return -ETIMEDOUT;
	return 0;
}

/* Pause in the Ith turn of a spin, and check every 2^20th turn: 0 to spin on, or why to stop. */
static int spin_pause(unsigned i, uint64_t *since)
{
	bench_cpu_relax();
	return i % (1u << 20) ? 0 : spin_check(since);
}

/* One direction of the spun-on cache line: a counter and the code it carries, on one line. */
struct line {
	alignas(64) _Atomic uint64_t count;
	uint64_t code;
};

/* One direction of the futex ping-pong. */
struct fline {
	alignas(64) _Atomic uint32_t count;
	uint64_t code;
};
_Static_assert(sizeof(struct line) == 64 && sizeof(struct fline) == 64, "a line each");

/* One direction of the minimal ring: the two indices on lines of their own, then the slots. */
struct ring {
	alignas(64) _Atomic uint64_t head;
	alignas(64) _Atomic uint64_t tail;
	alignas(64) unsigned char slots[];
};

/*
 * One direction of the descriptor ring: variable-length messages whose headers (descriptors)
 * live in an array of their own, so that payloads keep whole cache lines; a message of up to
 * DESC_INLINE bytes travels inside its descriptor. A descriptor is published by storing its
 * number plus one, last, with release.
 */
#define DESC_INLINE 16
#define DESC_COUNT  (RING_BYTES / 64)
struct desc {
	uint32_t len, off;    /* payload bytes; where they are in data[] */
	_Atomic uint64_t seq; /* the message's number plus one, once published */
	unsigned char inl[DESC_INLINE];
};
struct dring {
	alignas(64) _Atomic uint64_t read; /* reader: messages consumed */
	_Atomic uint64_t read_pos;         /* reader: data bytes consumed (a running count) */
	alignas(64) struct desc d[DESC_COUNT];
	alignas(64) unsigned char data[RING_BYTES];
};

/* Map LEN bytes that both processes share; the transports lay their lines or rings in it. */
static const char *shared_setup(struct tctx *c, size_t len)
{
	c->shared_len = len;
	c->shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->shared == MAP_FAILED) {
		c->shared = NULL;
		return NULL;
	}
	return "";
}

static void shared_teardown(struct tctx *c)
{
	if (c->shared)
		munmap(c->shared, c->shared_len);
	c->shared = NULL;
}

/* Cache line and futex: a line of 64 bytes per direction, for either kind. */
static const char *lines_setup(struct tctx *c)
{
	if (!shared_setup(c, 4096))
		return NULL;
	c->line[0] = c->shared;
	c->line[1] = c->line[0] + 1;
	c->fline[0] = c->shared;
	c->fline[1] = c->fline[0] + 1;
	return "";
}

static int line_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	(void)len;
	struct line *l = c->line[dir];
	memcpy(&l->code, buf, sizeof(l->code));
	atomic_store_explicit(&l->count, ++c->sent[dir], memory_order_release);
	return 0;
}

static int line_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)len;
	struct line *l = c->line[dir];
	uint64_t since = 0;
	int e;
	for (unsigned i = 1; atomic_load_explicit(&l->count, memory_order_acquire) == c->seen[dir];
	     i++) {
		if ((e = spin_pause(i, &since)))
			return e;
	}
	c->seen[dir]++;
	memcpy(buf, &l->code, sizeof(l->code));
	return 0;
}

/* Futex. */
static int futex_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	(void)len;
	struct fline *l = c->fline[dir];
	memcpy(&l->code, buf, sizeof(l->code));
	atomic_store_explicit(&l->count, (uint32_t)++c->sent[dir], memory_order_release);
	syscall(SYS_futex, (uint32_t *)&l->count, FUTEX_WAKE, 1, NULL, NULL, 0);
	return 0;
}

static int futex_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)len;
	struct fline *l = c->fline[dir];
	uint32_t old = (uint32_t)c->seen[dir];
	struct timespec slice = {.tv_sec = 0, .tv_nsec = 100000000};
	uint64_t since = 0;
	while (atomic_load_explicit(&l->count, memory_order_acquire) == old) {
		long r =
		    syscall(SYS_futex, (uint32_t *)&l->count, FUTEX_WAIT, old, &slice, NULL, 0);
		if (r < 0 && errno == ETIMEDOUT && spin_check(&since))
			return spin_check(&since);
		if (stop_signal)
			return -EINTR;
	}
	c->seen[dir]++;
	memcpy(buf, &l->code, sizeof(l->code));
	return 0;
}

/* The minimal ring: fixed-size slots, each STRIDE bytes. */
static const char *ring_setup_stride(struct tctx *c, size_t stride)
{
	size_t one = sizeof(struct ring) + RING_BYTES;
	if (!shared_setup(c, 2 * one))
		return NULL;
	c->ring[0] = c->shared;
	c->ring[1] = (struct ring *)((unsigned char *)c->shared + one);
	c->stride = stride;
	c->nslots = RING_BYTES / stride;
	return "";
}

/* Slots the size of a message. */
static const char *ring_setup(struct tctx *c)
{
	return ring_setup_stride(c, c->size);
}

static int ring_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	struct ring *r = c->ring[dir];
	uint64_t h = c->own[dir], since = 0;
	int e;
	if (h - c->cached[dir] == c->nslots) {
		for (unsigned i = 1;; i++) {
			c->cached[dir] = atomic_load_explicit(&r->tail, memory_order_acquire);
			if (h - c->cached[dir] < c->nslots)
				break;
			if ((e = spin_pause(i, &since)))
				return e;
		}
	}
	memcpy(r->slots + (h % c->nslots) * c->stride, buf, len);
	c->own[dir] = h + 1;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}

static int ring_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	struct ring *r = c->ring[dir];
	uint64_t t = c->own[dir], since = 0;
	int e;
	if (t == c->cached[dir]) {
		for (unsigned i = 1;; i++) {
			c->cached[dir] = atomic_load_explicit(&r->head, memory_order_acquire);
			if (c->cached[dir] != t)
				break;
			if ((e = spin_pause(i, &since)))
				return e;
		}
	}
	memcpy(buf, r->slots + (t % c->nslots) * c->stride, len);
	c->own[dir] = t + 1;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return 0;
}

/* The descriptor ring. */
static const char *dring_setup(struct tctx *c)
{
	return shared_setup(c, 2 * sizeof(struct dring)) ? "" : NULL;
}

static int dring_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	struct dring *r = (struct dring *)c->shared + dir;
	uint64_t seq = c->own[dir], pos = c->pos[dir], since = 0;
	int e;
	size_t alen = (len + 7) & ~(size_t)7;
	if (len > DESC_INLINE) {
		if (pos % RING_BYTES + alen > RING_BYTES) /* a payload never wraps */
			pos += RING_BYTES - pos % RING_BYTES;
		pos += alen;
	}
	for (unsigned i = 1; seq - c->cached[dir] >= DESC_COUNT || pos - c->cpos[dir] > RING_BYTES;
	     i++) {
		c->cached[dir] = atomic_load_explicit(&r->read, memory_order_acquire);
		c->cpos[dir] = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
		if (seq - c->cached[dir] < DESC_COUNT && pos - c->cpos[dir] <= RING_BYTES)
			break;
		if ((e = spin_pause(i, &since)))
			return e;
	}
	struct desc *d = &r->d[seq % DESC_COUNT];
	d->len = (uint32_t)len;
	if (len > DESC_INLINE) {
		d->off = (uint32_t)((pos - alen) % RING_BYTES);
		memcpy(r->data + d->off, buf, len);
	} else {
		memcpy(d->inl, buf, len);
	}
	atomic_store_explicit(&d->seq, seq + 1, memory_order_release);
	c->own[dir] = seq + 1;
	c->pos[dir] = pos;
	return 0;
}

static int dring_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)len;
	struct dring *r = (struct dring *)c->shared + dir;
	uint64_t seq = c->own[dir], since = 0;
	int e;
	struct desc *d = &r->d[seq % DESC_COUNT];
	for (unsigned i = 1; atomic_load_explicit(&d->seq, memory_order_acquire) != seq + 1; i++) {
		if ((e = spin_pause(i, &since)))
			return e;
	}
	size_t n = d->len;
	if (n > DESC_INLINE) {
		uint64_t pos = c->pos[dir];
		if (d->off != pos % RING_BYTES)
			pos += RING_BYTES - pos % RING_BYTES;
		memcpy(buf, r->data + d->off, n);
		c->pos[dir] = pos + ((n + 7) & ~(size_t)7);
	} else {
		memcpy(buf, d->inl, n);
	}
	c->own[dir] = seq + 1;
	atomic_store_explicit(&r->read_pos, c->pos[dir], memory_order_relaxed);
	atomic_store_explicit(&r->read, seq + 1, memory_order_release);
	return 0;
}

const struct transport tr_line = {
    .name = "cache line",
    .desc = "one shared cache line per direction, spun on",
    .lat_only = true,
    .setup = lines_setup,
    .send = line_send,
    .recv = line_recv,
    .teardown = shared_teardown,
};
const struct transport tr_futex = {
    .name = "futex",
    .desc = "a futex word per direction: FUTEX_WAKE each send, FUTEX_WAIT each receive",
    .lat_only = true,
    .setup = lines_setup,
    .send = futex_send,
    .recv = futex_recv,
    .teardown = shared_teardown,
};
const struct transport tr_ring = {
    .name = "spsc ring",
    .desc = "minimal lock-free ring of fixed-size slots, spun on",
    .setup = ring_setup,
    .send = ring_send,
    .recv = ring_recv,
    .teardown = shared_teardown,
};
const struct transport tr_dring = {
    .name = "desc ring",
    .desc = "variable-length messages, headers in an array of their own, payloads of up to 16 "
            "bytes inside them",
    .setup = dring_setup,
    .send = dring_send,
    .recv = dring_recv,
    .teardown = shared_teardown,
};
