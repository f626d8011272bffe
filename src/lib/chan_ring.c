/*
 * chan_ring.c - writing and reading a channel's ring (layout in chan.h).
 *
 * The fast path makes no system call and touches little shared memory: the writer compares
 * against the tail it last loaded and loads the reader's tail again only when that says the
 * ring is full; a queue reader reads the header of the record at its cursor, whose flags the
 * writer stores last, and needs the writer's head only when that header is neither a record
 * nor the stamp it expects. After publishing (a record, or freed space) each side looks at the
 * other side's waiters word and makes a futex wake only when someone sleeps there; the fence
 * that orders this look is made only when a sleeper asks for it (see chan_wait.c).
 *
 * Broadcast readers race with the writer, who may overwrite what they read: they check after
 * reading that the writer's announced end of writing (wend) has not come within a ring's
 * length of the record (a seqlock, in effect), and on an overrun move to the oldest intact
 * record and count the messages skipped from the sequence numbers.
 */
#include "chan.h"

#include <string.h>

static inline uint32_t load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline uint64_t load64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* A record's flags are stored last, with release: a reader that sees them sees the rest. */
static inline void put_rec(struct pshm__chan_rec *r, uint32_t len, uint32_t flags, uint64_t seq)
{
	__atomic_store_n(&r->len, len, __ATOMIC_RELAXED);
	__atomic_store_n(&r->seq, seq, __ATOMIC_RELAXED);
	__atomic_store_n(&r->flags, flags, __ATOMIC_RELEASE);
}

/* ---- Writer ------------------------------------------------------------------------------ */

/* Queue: is there room for NEED bytes? 0, -EAGAIN, or -EBADMSG for an impossible tail. */
static int queue_room(struct pshm_chan *ch, uint64_t need)
{
	if (need <= ch->cap - (ch->head - ch->tail_seen))
		return 0;
	uint64_t t = atomic_load_explicit(&ch->h->tail, memory_order_acquire);
	if (ch->head - t > ch->cap || t % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	ch->tail_seen = t;
	return need <= ch->cap - (ch->head - t) ? 0 : -EAGAIN;
}

static int queue_wait_room(struct pshm_chan *ch, uint64_t need, int timeout_ms)
{
	uint64_t deadline = pshm__chan_deadline(timeout_ms);

	for (;;) {
		int g = pshm__chan_peer(ch);
		if (g) {
			int r = queue_room(ch, need);
			return r == -EAGAIN ? g : r;
		}
		if (timeout_ms == 0)
			return -EAGAIN;
		int r = pshm__chan_wait(ch, &ch->h->tail, 8, ch->tail_seen, deadline);
		if (!r)
			r = queue_room(ch, need);
		if (r != -EAGAIN)
			return r;
	}
}

/*
 * Broadcast: make the region [head, end of the record and the next stamp) the writer's. The
 * records it would overwrite are dropped from the front (oldest moves past them), and wend is
 * announced before any byte of the region is written.
 */
static int bcast_room(struct pshm_chan *ch, uint64_t need)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t end = ch->head + need;
	uint64_t o = ch->oldest;

	while (end - o > ch->cap) {
		uint64_t room = ch->cap - (o & ch->mask);
		if (room < PSHM__CHAN_RECHDR) {
			o += room;
			continue;
		}
		if (o >= ch->head)
			return -EBADMSG;
		struct pshm__chan_rec *r = pshm__chan_recat(ch, o);
		uint32_t len = load32(&r->len), flags = load32(&r->flags);
		if (flags == PSHM__REC_PAD && len == room - PSHM__CHAN_RECHDR)
			o += room;
		else if (flags == PSHM__REC_MSG && len <= ch->maxmsg &&
		         pshm__chan_recsize(len) <= room)
			o += pshm__chan_recsize(len);
		else
			return -EBADMSG;
		if (o > ch->head)
			return -EBADMSG;
	}
	if (o != ch->oldest) {
		ch->oldest = o;
		atomic_store_explicit(&h->oldest, o, memory_order_relaxed);
	}
	/* Release: a reader that sees this wend also sees the oldest it implies. */
	if (end > ch->wend) {
		ch->wend = end;
		atomic_store_explicit(&h->wend, end, memory_order_release);
	}
	/* Readers that see any byte written after this fence also see the new wend. */
	atomic_thread_fence(memory_order_release);
	return 0;
}

PSHM__API int pshm_chan_reserve(struct pshm_chan *ch, size_t len, void **bufp, int timeout_ms)
{
	int r;

	if (!ch || !bufp || ch->role != PSHM_CHAN_WRITER || ch->reserved)
		return -EINVAL;
	if (len > ch->maxmsg)
		return -EMSGSIZE;
	uint64_t rec = pshm__chan_recsize(len);
	uint64_t room = ch->cap - (ch->head & ch->mask);
	uint64_t pad = room < rec ? room : 0;
	/* The record, and the stamp after it: the header of the next record, flags 0. */
	uint64_t need = pshm__chan_start(ch, ch->head + pad + rec) + PSHM__CHAN_RECHDR - ch->head;

	if (!ch->bcast) {
		if (atomic_load_explicit(&ch->h->reader_state, memory_order_relaxed) ==
		    PSHM__ST_DETACHED)
			return -EPIPE;
		r = queue_room(ch, need);
		if (r == -EAGAIN)
			r = queue_wait_room(ch, need, timeout_ms);
	} else {
		r = bcast_room(ch, need);
	}
	if (r)
		return r;

	uint64_t p = ch->head;
	struct pshm__chan_rec *hdr = pshm__chan_recat(ch, p + pad);
	/* The record's header is a stamp (flags 0, the number of the message) until the commit;
	 * after a padding record it must be one before the padding is published. */
	if (pad)
		put_rec(hdr, 0, 0, ch->seq);
	if (pad >= PSHM__CHAN_RECHDR)
		put_rec(pshm__chan_recat(ch, p), (uint32_t)(pad - PSHM__CHAN_RECHDR), PSHM__REC_PAD,
		        ch->seq);
	p += pad;
	ch->reserved = true;
	ch->res_pos = p;
	ch->res_len = len;
	*bufp = hdr + 1;
	return 0;
}

PSHM__API int pshm_chan_commit(struct pshm_chan *ch, size_t len)
{
	if (!ch || ch->role != PSHM_CHAN_WRITER || !ch->reserved || len > ch->res_len)
		return -EINVAL;
	struct pshm__chan_hdr *h = ch->h;
	uint64_t end = ch->res_pos + pshm__chan_recsize(len);

	/* The stamp first: a reader that sees this record's flags finds it after the record. */
	put_rec(pshm__chan_recat(ch, pshm__chan_start(ch, end)), 0, 0, ch->seq + 1);
	put_rec(pshm__chan_recat(ch, ch->res_pos), (uint32_t)len, PSHM__REC_MSG, ch->seq);
	ch->seq++;
	ch->bytes += len;
	atomic_store_explicit(&h->sent, ch->seq, memory_order_relaxed);
	atomic_store_explicit(&h->bytes, ch->bytes, memory_order_relaxed);
	atomic_store_explicit(&h->head, end, memory_order_release);
	ch->head = end;
	ch->reserved = false;
	pshm__chan_publish_fence(&h->data_fenced);
	if (atomic_load_explicit(&h->data_waiters, memory_order_relaxed))
		pshm__chan_wake(&h->data_futex);
	return 0;
}

PSHM__API int pshm_chan_send(struct pshm_chan *ch, const void *buf, size_t len, int timeout_ms)
{
	void *p;

	if (!buf && len)
		return -EINVAL;
	int r = pshm_chan_reserve(ch, len, &p, timeout_ms);
	if (r)
		return r;
	if (len)
		memcpy(p, buf, len);
	return pshm_chan_commit(ch, len);
}

/* ---- Reader ------------------------------------------------------------------------------ */

/* Move the cursor to TO; a queue reader publishes it as the tail and wakes a sleeping writer. */
static void advance(struct pshm_chan *ch, uint64_t to, bool msg)
{
	struct pshm__chan_hdr *h = ch->h;

	ch->cur = to;
	if (msg)
		ch->received++;
	if (ch->bcast) {
		struct pshm__chan_slot *s = &h->slot[ch->slot];
		atomic_store_explicit(&s->cursor, to, memory_order_relaxed);
		if (msg)
			atomic_store_explicit(&s->received, ch->received, memory_order_relaxed);
		return;
	}
	if (msg)
		atomic_store_explicit(&h->received, ch->received, memory_order_relaxed);
	atomic_store_explicit(&h->tail, to, memory_order_release);
	pshm__chan_publish_fence(&h->space_fenced);
	if (atomic_load_explicit(&h->space_waiters, memory_order_relaxed))
		pshm__chan_wake(&h->space_futex);
}

/*
 * Broadcast overrun: move to the oldest intact record and count what was skipped. Returns
 * -EOVERFLOW, 1 when the records skipped held no message (nothing was lost: look again), or
 * -EAGAIN if the writer kept overwriting the oldest record while it was read.
 */
static int overrun(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;

	ch->peeked = false;
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t o = atomic_load_explicit(&h->oldest, memory_order_acquire);
		uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
		if (o % PSHM__CHAN_ALIGN || head % PSHM__CHAN_ALIGN || head - o > ch->cap)
			return -EBADMSG;
		uint64_t seq = load64(&pshm__chan_recat(ch, pshm__chan_start(ch, o))->seq);
		atomic_thread_fence(memory_order_acquire);
		uint64_t w = atomic_load_explicit(&h->wend, memory_order_acquire);
		if (w - pshm__chan_start(ch, o) > ch->cap)
			continue;
		/* The overrun seen implies an oldest past the cursor: anything else is corrupt. */
		if ((int64_t)(o - ch->cur) < 0)
			return -EBADMSG;
		uint64_t n = seq > ch->expect ? seq - ch->expect : 0;
		ch->lost += n;
		atomic_fetch_add_explicit(&h->lost, n, memory_order_relaxed);
		ch->expect = seq;
		ch->head_seen = head;
		advance(ch, o, false);
		return n ? -EOVERFLOW : 1;
	}
	return -EAGAIN;
}

/* Broadcast: has the record at P been overwritten since it was read? */
static bool overwritten(struct pshm_chan *ch, uint64_t p)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&ch->h->wend, memory_order_acquire) - p > ch->cap;
}

/* Is the record at C, of ROOM bytes before the ring's end, a padding record or a message? */
static uint64_t rec_end(const struct pshm_chan *ch, uint64_t c, uint64_t room, uint32_t len,
                        uint32_t flags)
{
	if (flags == PSHM__REC_PAD && len == room - PSHM__CHAN_RECHDR)
		return c + room;
	if (flags == PSHM__REC_MSG && len <= ch->maxmsg && pshm__chan_recsize(len) <= room)
		return c + pshm__chan_recsize(len);
	return 0;
}

static int found(struct pshm_chan *ch, uint64_t c, uint64_t end, uint32_t len, uint32_t flags,
                 uint64_t seq)
{
	if (!ch->bcast)
		ch->expect = seq;
	if (flags == PSHM__REC_PAD) {
		advance(ch, end, false);
		return 1;
	}
	ch->peeked = true;
	ch->peek_pos = c;
	ch->peek_len = len;
	ch->peek_seq = seq;
	return 0;
}

/*
 * Find the message at the cursor, skipping padding: 0 (the record is peeked), -EAGAIN when
 * there is none yet, -EOVERFLOW, or -EBADMSG for a record that cannot be.
 *
 * A queue reader first looks at the record's own header: flags stored (with release) by the
 * writer and the number it expects mean a complete record, without a look at the writer's
 * head. Anything else sends it to the head, which decides.
 */
static int next(struct pshm_chan *ch)
{
	for (;;) {
		uint64_t c = ch->cur;
		uint64_t room = ch->cap - (c & ch->mask), end = 0;
		struct pshm__chan_rec *r = pshm__chan_recat(ch, c);
		if (!ch->bcast) {
			/* Skipped by rule, and only in the handle: the tail it would publish could
			 * be ahead of a head that has not reached the end of the ring yet. */
			if (room < PSHM__CHAN_RECHDR) {
				ch->cur = c + room;
				continue;
			}
			uint32_t flags = __atomic_load_n(&r->flags, __ATOMIC_ACQUIRE);
			uint32_t len = load32(&r->len);
			uint64_t seq = load64(&r->seq);
			ch->watch_old = flags;
			if (seq == ch->expect) {
				/* The stamp of the message expected: nothing yet. */
				if (!flags && !len)
					return -EAGAIN;
				if ((end = rec_end(ch, c, room, len, flags))) {
					if (found(ch, c, end, len, flags, seq))
						continue;
					return 0;
				}
			}
		}
		/* A queue reader that went by its header may be ahead of the head it saw, and
		 * even of the head: the writer stores it after the record's flags. */
		if ((int64_t)(ch->head_seen - c) <= 0) {
			uint64_t head = atomic_load_explicit(&ch->h->head, memory_order_acquire);
			if (head % PSHM__CHAN_ALIGN)
				return -EBADMSG;
			if (!ch->bcast && c - head <= ch->cap) {
				ch->head_seen = head;
				return -EAGAIN;
			}
			if (head - c > ch->cap) {
				int o = ch->bcast ? overrun(ch) : -EBADMSG;
				if (o == 1)
					continue;
				return o;
			}
			ch->head_seen = head;
			if (c == head)
				return -EAGAIN;
		}
		if (room < PSHM__CHAN_RECHDR) {
			advance(ch, c + room, false);
			continue;
		}
		uint32_t len = load32(&r->len), flags = load32(&r->flags);
		uint64_t seq = load64(&r->seq);
		end = rec_end(ch, c, room, len, flags);
		if (end - c > ch->head_seen - c)
			end = 0;
		if (ch->bcast && overwritten(ch, c)) {
			int o = overrun(ch);
			if (o == 1)
				continue;
			return o;
		}
		if (!end)
			return -EBADMSG;
		if (found(ch, c, end, len, flags, seq))
			continue;
		return 0;
	}
}

/*
 * The next message, waiting for it up to TIMEOUT_MS. The writer's liveness is looked at only
 * when a wait found nothing, so that a reader that keeps up makes no system call and reads
 * no clock.
 */
static int get(struct pshm_chan *ch, int timeout_ms)
{
	if (ch->peeked)
		return 0;
	int r = next(ch);
	if (r != -EAGAIN)
		return r;
	uint64_t deadline = pshm__chan_deadline(timeout_ms);
	for (;;) {
		int w = 0;
		if (timeout_ms) {
			if (ch->bcast)
				w = pshm__chan_wait(ch, &ch->h->head, 8, ch->cur, deadline);
			else
				w = pshm__chan_wait(ch, &pshm__chan_recat(ch, ch->cur)->flags, 4,
				                    ch->watch_old, deadline);
			r = next(ch);
			if (r != -EAGAIN)
				return r;
		}
		int g = pshm__chan_peer(ch);
		if (g) {
			r = next(ch);
			return r == -EAGAIN ? g : r;
		}
		if (timeout_ms == 0)
			return -EAGAIN;
		if (w)
			return w;
	}
}

PSHM__API int pshm_chan_peek(struct pshm_chan *ch, const void **bufp, size_t *lenp, int timeout_ms)
{
	if (!ch || !bufp || !lenp || ch->role != PSHM_CHAN_READER)
		return -EINVAL;
	int r = get(ch, timeout_ms);
	if (r)
		return r;
	*bufp = pshm__chan_recat(ch, ch->peek_pos) + 1;
	*lenp = ch->peek_len;
	return 0;
}

PSHM__API int pshm_chan_release(struct pshm_chan *ch)
{
	if (!ch || ch->role != PSHM_CHAN_READER || !ch->peeked)
		return -EINVAL;
	if (ch->bcast && overwritten(ch, ch->peek_pos)) {
		int r = overrun(ch);
		return r == 1 ? -EOVERFLOW : r;
	}
	ch->expect = ch->peek_seq + 1;
	ch->peeked = false;
	advance(ch, ch->peek_pos + pshm__chan_recsize(ch->peek_len), true);
	return 0;
}

PSHM__API int pshm_chan_recv(struct pshm_chan *ch, void *buf, size_t size, size_t *lenp,
                             int timeout_ms)
{
	if (!ch || (!buf && size) || ch->role != PSHM_CHAN_READER)
		return -EINVAL;
	int r = get(ch, timeout_ms);
	if (r)
		return r;
	size_t len = ch->peek_len;
	if (lenp)
		*lenp = len;
	if (len > size)
		return -EMSGSIZE;
	if (len)
		memcpy(buf, pshm__chan_recat(ch, ch->peek_pos) + 1, len);
	return pshm_chan_release(ch);
}
