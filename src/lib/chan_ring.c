/*
 * chan_ring.c - writing and reading a channel's messages (layout in chan.h).
 *
 * The fast path makes no system call and touches little shared memory: the writer compares
 * against the reader's progress it last loaded and loads it again only when that says the
 * channel is full; a reader reads the descriptor of the message it expects, whose number the
 * writer stores last, and then the payload. After publishing (a message, or freed space) each
 * side looks at the other side's waiters word and makes a futex wake only when someone sleeps
 * there; the fence that orders this look is made only when a sleeper asks for it (see
 * chan_wait.c).
 *
 * Broadcast readers race with the writer, who may overwrite what they read: after reading they
 * check that the descriptor still holds the number it held and that the writer's announced end
 * of writing (wend) has not come within a ring's length of the payload (a seqlock, in effect);
 * on an overrun they move to the oldest message still intact and count the ones skipped. In a
 * lossless broadcast channel the writer drops only what every live reader has read
 * (chan_hold.c), and otherwise waits as a queue writer does, woken by the readers' progress.
 *
 * The mapping is guarded (guard.c): when the object is truncated, what is gone reads as zeros
 * and the handle's dead flag is set. A call that completes a message (send, commit, recv,
 * release) looks at the flag once, after touching the ring and before reporting success; a
 * failing call and the waits look at it too, so zeros that look like an empty ring or a corrupt
 * one are reported as PSHM_ETRUNCATED.
 */
#include "chan.h"

#include <string.h>

/* The fast paths are inlined into the calls they serve; what they seldom need is kept out. */
#define HOT  static inline __attribute__((always_inline))
#define COLD __attribute__((noinline, cold))

static inline uint32_t load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/*
 * A descriptor's length and position, checked against the data position CUR where its payload
 * may start (at CUR, or at the next lap when it did not fit before the ring's end; any position
 * when CUR is 0, unknown): 0, or -EBADMSG for one that cannot be.
 */
static int desc_check(const struct pshm_chan *ch, uint32_t len, uint64_t pos, uint64_t cur)
{
	if (len > ch->maxmsg)
		return -EBADMSG;
	if (pos == PSHM__CHAN_POS_INLINE)
		return len <= PSHM__CHAN_INLINE ? 0 : -EBADMSG;
	if (pos % PSHM__CHAN_ALIGN || pshm__chan_align8(len) > ch->cap - (pos & ch->mask))
		return -EBADMSG;
	if (cur != UINT64_MAX && pos != cur && pos != cur + (ch->cap - (cur & ch->mask)))
		return -EBADMSG;
	return 0;
}

/*
 * A call failed with R. When the mapping was truncated meanwhile, that is the cause, whatever
 * the zeros it read looked like (an empty ring, a corrupt one). A peer that is gone may have
 * gone because of a truncation this end has not run into (the queue reader's detach is stored
 * in the header's first page, which a truncation to one page spares): on the errors that end
 * a channel, the object's size is looked at too.
 */
COLD int pshm__chan_failed(struct pshm_chan *ch, int r)
{
	if (r == -EPIPE || r == -ECONNRESET || r == -ECONNABORTED)
		pshm__chan_shrunk(ch);
	return pshm__chan_dead(ch) ? PSHM_ETRUNCATED : r;
}

/*
 * The one wait of both sides: until READY(CH, ARG) says other than -EAGAIN (room for the writer,
 * a message for the reader), sleeping in DOZE(CH, deadline) up to TIMEOUT_MS in all (0: no
 * sleep). The peer's liveness is looked at only when a wait found nothing ready: a side that
 * keeps up makes no system call, and one that streams against a full or empty channel waits at
 * nearly every message, where a clock read each time would cost it a good part of its rate.
 * Inlined, so that each caller's READY and DOZE are direct calls.
 */
HOT int wait_ready(struct pshm_chan *ch, int timeout_ms, uint64_t arg,
                   int (*ready)(struct pshm_chan *, uint64_t),
                   int (*doze)(struct pshm_chan *, uint64_t))
{
	uint64_t deadline = pshm__chan_deadline(timeout_ms);

	for (;;) {
		int w = 0, r;
		if (timeout_ms) {
			w = doze(ch, deadline);
			r = ready(ch, arg);
			if (r != -EAGAIN)
				return r;
		}
		int g = pshm__chan_peer(ch);
		if (g) {
			r = ready(ch, arg);
			if (r != -EAGAIN)
				return r;
			if ((g = pshm__chan_end(ch, g)))
				return g;
		}
		if (timeout_ms == 0)
			return ch->poll ? pshm__chan_poll_arm(ch, arg, ready) : -EAGAIN;
		if (w)
			return w;
	}
}

int pshm__chan_wait_ready(struct pshm_chan *ch, int timeout_ms, uint64_t arg,
                          int (*ready)(struct pshm_chan *, uint64_t),
                          int (*doze)(struct pshm_chan *, uint64_t))
{
	return wait_ready(ch, timeout_ms, arg, ready, doze);
}

/* ---- Writer ------------------------------------------------------------------------------ */

/* Queue: room for one more descriptor and for data up to END? 0, -EAGAIN or -EBADMSG. */
static int queue_room(struct pshm_chan *ch, uint64_t end)
{
	if (ch->seq - ch->recv_seen < ch->ndesc && end - ch->tail_seen <= ch->cap)
		return 0;
	uint64_t recv = atomic_load_explicit(&ch->h->received, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&ch->h->tail, memory_order_relaxed);
	if (ch->seq - recv > ch->ndesc || ch->head - tail > ch->cap || tail % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	ch->recv_seen = recv;
	ch->tail_seen = tail;
	return ch->seq - recv < ch->ndesc && end - tail <= ch->cap ? 0 : -EAGAIN;
}

/* Queue: sleep until the reader's progress moves from what the writer last saw, or DEADLINE. */
static int queue_sleep(struct pshm_chan *ch, uint64_t deadline)
{
	return pshm__chan_wait(ch, (const volatile uint64_t *)&ch->h->received, ch->recv_seen, NULL,
	                       deadline);
}

/* Broadcast: must message O go (its data starting at OP) for the next one to end at END? */
static inline bool bcast_full(const struct pshm_chan *ch, uint64_t o, uint64_t op, uint64_t end)
{
	return o != ch->seq && (ch->seq - o >= ch->ndesc || end - op > ch->cap);
}

/* Broadcast: drop message O, whose data starts at *OP: *OP becomes where the next one's starts. */
static inline int bcast_drop(const struct pshm_chan *ch, uint64_t o, uint64_t *op)
{
	struct pshm__chan_desc *d = pshm__chan_desc(ch, o);
	uint32_t len = load32(&d->len);
	uint64_t pos = __atomic_load_n(&d->pos, __ATOMIC_RELAXED);
	if (desc_check(ch, len, pos, *op))
		return -EBADMSG;
	if (pos != PSHM__CHAN_POS_INLINE)
		*op = pos + pshm__chan_align8(len);
	return 0;
}

/*
 * Broadcast: with O the first message kept and OP where its data starts, make the descriptor of
 * the next message and the data up to END the writer's: oldest moves to O, wend is announced,
 * and the descriptor is marked as being rewritten, before any byte is written.
 */
static inline void bcast_take(struct pshm_chan *ch, uint64_t o, uint64_t op, uint64_t end)
{
	struct pshm__chan_hdr *h = ch->h;

	if (o == ch->seq)
		op = ch->head;
	if (o != ch->oldest) {
		ch->oldest = o;
		ch->oldest_pos = op;
		atomic_store_explicit(&h->oldest_pos, op, memory_order_relaxed);
		atomic_store_explicit(&h->oldest, o, memory_order_relaxed);
	}
	/* Release: a reader that sees this wend also sees the oldest it implies. */
	if (end > ch->wend) {
		ch->wend = end;
		atomic_store_explicit(&h->wend, end, memory_order_release);
	}
	__atomic_store_n(&pshm__chan_desc(ch, ch->seq)->seq, 0, __ATOMIC_RELAXED);
	/* Readers that see any byte written after this fence also see the new wend and the
	 * descriptor's 0. */
	atomic_thread_fence(memory_order_release);
}

/*
 * Broadcast: make room for a message whose data ends at END. The messages that the descriptor
 * and the data would overwrite are dropped from the front.
 */
static int bcast_room(struct pshm_chan *ch, uint64_t end)
{
	uint64_t o = ch->oldest, op = ch->oldest_pos;

	for (; bcast_full(ch, o, op, end); o++)
		if (bcast_drop(ch, o, &op))
			return -EBADMSG;
	bcast_take(ch, o, op, end);
	return 0;
}

/*
 * Lossless broadcast: as bcast_room(), but drop no message that a live reader has not read
 * (chan_hold.c): -EAGAIN when one holds the writer back. The drop is announced (dropping) and
 * the readers' joins looked at before anything is dropped; joins has moved only when a reader
 * attached since the writer last looked at every slot.
 */
static int lossless_room(struct pshm_chan *ch, uint64_t end)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t o = ch->oldest, op = ch->oldest_pos;
	int r;

	for (; bcast_full(ch, o, op, end); o++) {
		if (o == ch->hold && (r = pshm__chan_hold_refresh(ch, o)))
			return r;
		if (bcast_drop(ch, o, &op))
			return -EBADMSG;
	}
	if (o != ch->oldest) {
		/* Release: a reader that reads it also reads a sent at least as far. */
		atomic_store_explicit(&h->dropping, o, memory_order_release);
		pshm__chan_fence_light();
		uint64_t j = atomic_load_explicit(&h->joins, memory_order_acquire);
		if (j != ch->joins && (r = pshm__chan_hold_joined(ch, j, o)))
			return r;
	}
	bcast_take(ch, o, op, end);
	return 0;
}

/* Lossless broadcast: sleep until the reader that holds the writer back moves, or DEADLINE. */
static int lossless_sleep(struct pshm_chan *ch, uint64_t deadline)
{
	int i = ch->blk >= 0 ? ch->blk : 0; /* always set with -EAGAIN */
	return pshm__chan_wait(ch, (const volatile uint64_t *)&ch->h->slot[i].cursor,
	                       ch->blk_cursor, NULL, deadline);
}

/* Lossless broadcast: room for data up to END, waiting up to TIMEOUT_MS for slow readers. */
__attribute__((noinline)) static int lossless_claim(struct pshm_chan *ch, uint64_t end,
                                                    int timeout_ms)
{
	int r = lossless_room(ch, end);
	return r == -EAGAIN ? wait_ready(ch, timeout_ms, end, lossless_room, lossless_sleep) : r;
}

/* Queue: the cached view of the reader's progress says full; look again, and wait. */
COLD static int queue_claim_slow(struct pshm_chan *ch, uint64_t end, int timeout_ms)
{
	int r = queue_room(ch, end);
	return r == -EAGAIN ? wait_ready(ch, timeout_ms, end, queue_room, queue_sleep) : r;
}

/*
 * Make room for a message of LEN bytes (at most maxmsg): its payload's data position (or
 * PSHM__CHAN_POS_INLINE) in *POSP and where to write it in *BUFP. The fast path compares with
 * what the writer last knew of the reader and touches only the reader's state word.
 */
HOT int claim(struct pshm_chan *ch, size_t len, int timeout_ms, uint64_t *posp, void **bufp)
{
	bool inl = len <= PSHM__CHAN_INLINE;
	uint64_t p = inl ? PSHM__CHAN_POS_INLINE : pshm__chan_place(ch, ch->head, len);
	uint64_t end = inl ? ch->head : p + pshm__chan_align8(len);
	int r;

	if (!ch->bcast) {
		if (atomic_load_explicit(&ch->h->reader_state, memory_order_relaxed) ==
		    PSHM__ST_DETACHED)
			return -EPIPE;
		if ((ch->seq - ch->recv_seen >= ch->ndesc || end - ch->tail_seen > ch->cap) &&
		    (r = queue_claim_slow(ch, end, timeout_ms)))
			return r;
	} else if (__builtin_expect(ch->lossless, 0)) {
		if ((r = lossless_claim(ch, end, timeout_ms)))
			return r;
	} else if ((r = bcast_room(ch, end))) {
		return r;
	}
	*posp = p;
	*bufp =
	    inl ? (void *)pshm__chan_desc(ch, ch->seq)->inl : (void *)(ch->data + (p & ch->mask));
	return 0;
}

/* Publish the message claimed at POS with LEN bytes, and wake readers that sleep. */
HOT void publish(struct pshm_chan *ch, uint64_t pos, size_t len)
{
	struct pshm__chan_hdr *h = ch->h;
	struct pshm__chan_desc *d = pshm__chan_desc(ch, ch->seq);

	__atomic_store_n(&d->len, (uint32_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&d->pos, pos, __ATOMIC_RELAXED);
	if (pos != PSHM__CHAN_POS_INLINE)
		ch->head = pos + pshm__chan_align8(len);
	/* The number last: a reader that sees it sees the message whole. */
	__atomic_store_n(&d->seq, ch->seq + 1, __ATOMIC_RELEASE);
	ch->seq++;
	ch->bytes += len;
	atomic_store_explicit(&h->sent, ch->seq, memory_order_relaxed);
	atomic_store_explicit(&h->bytes, ch->bytes, memory_order_relaxed);
	atomic_store_explicit(&h->head, ch->head, memory_order_release);
	pshm__chan_publish_fence(&h->data_fenced);
	if (atomic_load_explicit(&h->data_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->data_futex);
}

PSHM__API int pshm_chan_reserve(struct pshm_chan *ch, size_t len, void **bufp, int timeout_ms)
{
	if (__builtin_expect(!ch || !bufp || ch->role != PSHM_CHAN_WRITER || ch->reserved, 0))
		return pshm__chan_many_reserve(ch, len, bufp, timeout_ms);
	if (len > ch->maxmsg)
		return -EMSGSIZE;
	int r = claim(ch, len, timeout_ms, &ch->res_pos, bufp);
	if (r)
		return pshm__chan_failed(ch, r);
	ch->reserved = true;
	ch->res_len = len;
	return 0;
}

PSHM__API int pshm_chan_commit(struct pshm_chan *ch, size_t len)
{
	if (__builtin_expect(
	        !ch || ch->role != PSHM_CHAN_WRITER || !ch->reserved || len > ch->res_len, 0))
		return pshm__chan_many_commit(ch, len);
	ch->reserved = false;
	publish(ch, ch->res_pos, len);
	/* The one look at the flag a zero-copy message costs: the payload was written after
	 * pshm_chan_reserve() returned, and may have gone to zero pages. */
	return pshm__chan_dead(ch) ? PSHM_ETRUNCATED : 0;
}

/* pshm_chan_send() of one writer's handle, with its arguments checked. */
__attribute__((noinline)) static int send_one(struct pshm_chan *ch, const void *buf, size_t len,
                                              int timeout_ms)
{
	uint64_t pos;
	void *p;

	if (len > ch->maxmsg)
		return -EMSGSIZE;
	int r = claim(ch, len, timeout_ms, &pos, &p);
	if (r)
		return pshm__chan_failed(ch, r);
	if (len)
		memcpy(p, buf, len);
	publish(ch, pos, len);
	return pshm__chan_dead(ch) ? PSHM_ETRUNCATED : 0;
}

/*
 * Any other handle (a writer of many, or a wrong call) goes on before this function has saved
 * a register: a writer's stores to its stack queue behind those to the lines the reader holds,
 * as its others do.
 */
PSHM__API int pshm_chan_send(struct pshm_chan *ch, const void *buf, size_t len, int timeout_ms)
{
	if (__builtin_expect(!ch || (!buf && len) || ch->role != PSHM_CHAN_WRITER || ch->reserved,
	                     0))
		return pshm__chan_many_send(ch, buf, len, timeout_ms);
	return send_one(ch, buf, len, timeout_ms);
}

/* ---- Reader ------------------------------------------------------------------------------ */

/* Broadcast: move to message O, the oldest still intact, counting those skipped. */
static int overrun(struct pshm_chan *ch, uint64_t o)
{
	uint64_t n = o - ch->expect;
	ch->peeked = false;
	ch->lost += n;
	atomic_fetch_add_explicit(&ch->h->lost, n, memory_order_relaxed);
	ch->expect = o;
	atomic_store_explicit(&ch->h->slot[ch->slot].cursor, o, memory_order_relaxed);
	return -EOVERFLOW;
}

/* Broadcast: the oldest message still intact, when it is past the one expected; else 0. */
static uint64_t passed(struct pshm_chan *ch)
{
	uint64_t o = atomic_load_explicit(&ch->h->oldest, memory_order_acquire);
	return (int64_t)(o - ch->expect) > 0 ? o : 0;
}

/*
 * Queue: is a payload of LEN bytes at POS anywhere but at the reader's cursor (where it must
 * fit before the ring's end) or at the start of the next lap? The writer goes to the next lap
 * when what it reserved did not fit; what it commits may be shorter.
 */
static inline bool queue_misplaced(const struct pshm_chan *ch, uint32_t len, uint64_t pos)
{
	uint64_t room = ch->cap - (ch->cur & ch->mask);
	return pos == ch->cur ? pshm__chan_align8(len) > room : pos != ch->cur + room;
}

/* The expected message's descriptor holds S, not its number: -EAGAIN, or -EOVERFLOW. */
COLD static int not_there(struct pshm_chan *ch, uint64_t s)
{
	ch->watch_old = s;
	uint64_t o = ch->bcast ? passed(ch) : 0;
	return o ? overrun(ch, o) : -EAGAIN;
}

/*
 * A many-writer queue's reader passes over a claim given up or found dead (PSHM__CHAN_VOID):
 * it counts as read, and as skipped, and writers waiting for room are woken.
 */
static void pass_over(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	ch->expect++;
	ch->received++;
	ch->tail_behind = true;
	atomic_fetch_add_explicit(&h->skipped, 1, memory_order_relaxed);
	atomic_store_explicit(&h->received, ch->received, memory_order_release);
	pshm__chan_publish_fence(&h->space_fenced);
	if (atomic_load_explicit(&h->space_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->space_futex);
}

/* The expected message, its descriptor holding S, LEN and POS, is found: 0. */
static inline int peeked(struct pshm_chan *ch, uint64_t s, uint32_t len, uint64_t pos)
{
	ch->peek_pos = pos;
	ch->peeked = true;
	ch->peek_seq = s;
	ch->peek_len = len;
	return 0;
}

/*
 * A broadcast reader of many writers passes over a claim given up or found dead: it is not
 * read, and not lost.
 */
static void skip_void(struct pshm_chan *ch)
{
	ch->expect++;
	atomic_store_explicit(&ch->h->slot[ch->slot].cursor, ch->expect, memory_order_relaxed);
}

/*
 * A many-writer channel's reader: next(), which also passes over claims given up or found dead,
 * and (in a queue) takes a message whose payload comes after such a claim's data, further on
 * than where the last one ended. 0 with the message peeked, -EAGAIN, -EOVERFLOW or -EBADMSG.
 * next() itself gives -EAGAIN in this mode for whatever the one writer of a channel never
 * stores, which brings its caller here through get_slow(): the fast path makes no call for the
 * mode.
 */
COLD static int many_next(struct pshm_chan *ch)
{
	for (;;) {
		struct pshm__chan_desc *d = pshm__chan_desc(ch, ch->expect);
		uint64_t s = __atomic_load_n(&d->seq, __ATOMIC_ACQUIRE);
		if (s != ch->expect + 1) {
			if (!ch->bcast)
				pshm__chan_many_caught_up(ch);
			return not_there(ch, s);
		}
		uint32_t len = load32(&d->len);
		uint64_t pos = __atomic_load_n(&d->pos, __ATOMIC_RELAXED);
		if (len == PSHM__CHAN_VOID && ch->bcast) {
			skip_void(ch);
			continue;
		}
		if (len == PSHM__CHAN_VOID && pos == PSHM__CHAN_POS_INLINE) {
			pass_over(ch);
			continue;
		}
		if (desc_check(ch, len, pos, UINT64_MAX) ||
		    (!ch->bcast && pos != PSHM__CHAN_POS_INLINE && pos - ch->cur > ch->cap))
			return -EBADMSG;
		return peeked(ch, s, len, pos);
	}
}

/*
 * Find the message expected: 0 (it is peeked), -EAGAIN when there is none yet, -EOVERFLOW, or
 * -EBADMSG for a descriptor that cannot be. A queue reader knows where the payload must be; a
 * broadcast one checks that it is intact after reading it.
 */
HOT int next(struct pshm_chan *ch)
{
	struct pshm__chan_desc *d = pshm__chan_desc(ch, ch->expect);
	uint64_t s = __atomic_load_n(&d->seq, __ATOMIC_ACQUIRE);

	if (s != ch->expect + 1)
		return not_there(ch, s);
	uint32_t len = load32(&d->len);
	uint64_t pos = __atomic_load_n(&d->pos, __ATOMIC_RELAXED);
	if (ch->bcast) {
		if (desc_check(ch, len, pos, UINT64_MAX))
			return ch->many ? -EAGAIN : -EBADMSG;
	} else if (len > ch->maxmsg ||
	           (pos == PSHM__CHAN_POS_INLINE ? len > PSHM__CHAN_INLINE
	                                         : queue_misplaced(ch, len, pos))) {
		return ch->many ? -EAGAIN : -EBADMSG;
	}
	return peeked(ch, s, len, pos);
}

/* Broadcast: has the peeked message been overwritten since it was found? */
static bool overwritten(struct pshm_chan *ch)
{
	atomic_thread_fence(memory_order_acquire);
	if (__atomic_load_n(&pshm__chan_desc(ch, ch->expect)->seq, __ATOMIC_RELAXED) !=
	    ch->peek_seq)
		return true;
	return ch->peek_pos != PSHM__CHAN_POS_INLINE &&
	       atomic_load_explicit(&ch->h->wend, memory_order_acquire) - ch->peek_pos > ch->cap;
}

/*
 * Reader: a stream it keeps up with (it read two or more messages since it last waited) has
 * just run dry. Watching the next message now would take the lines the writer is filling from
 * it at every look, and so slow the writer to the reader's pace: let the writer get
 * PSHM__CHAN_SLIP_AHEAD messages ahead first, looking meanwhile only at the descriptor that far
 * on, for at most PSHM__CHAN_SLIP_NS (and DEADLINE, and the handle's spin). A writer that is not
 * streaming (the next message has not come after one pause) is not waited for: the message
 * after a burst, or a reply, is seen at most that pause later.
 */
static void slip(struct pshm_chan *ch, uint64_t e, uint64_t deadline)
{
	if (!ch->spin_ns || ch->ndesc < 4 * PSHM__CHAN_SLIP_AHEAD)
		return;
	pshm__chan_relax();
	if (__atomic_load_n(&pshm__chan_desc(ch, e)->seq, __ATOMIC_RELAXED) != e + 1)
		return;
	const volatile uint64_t *far = &pshm__chan_desc(ch, e + PSHM__CHAN_SLIP_AHEAD)->seq;
	uint64_t end = pshm__chan_now();
	end += ch->spin_ns < PSHM__CHAN_SLIP_NS ? ch->spin_ns : PSHM__CHAN_SLIP_NS;
	if (end > deadline)
		end = deadline;
	for (;;) {
		for (int i = 0; i < PSHM__CHAN_SLIP_PAUSES; i++)
			pshm__chan_relax();
		if (*far == e + PSHM__CHAN_SLIP_AHEAD + 1 || pshm__chan_now() >= end)
			return;
	}
}

/* Reader: sleep until the descriptor of the expected message changes, or DEADLINE. */
static int get_sleep(struct pshm_chan *ch, uint64_t deadline)
{
	uint64_t e = ch->expect;
	if (e - ch->wait_mark >= 2)
		slip(ch, e, deadline);
	ch->wait_mark = e;
	/* The next payload most likely starts where the last one ended. */
	return pshm__chan_wait(ch, &pshm__chan_desc(ch, ch->expect)->seq, ch->watch_old,
	                       ch->data + (ch->cur & ch->mask), deadline);
}

HOT int get_ready(struct pshm_chan *ch, uint64_t unused)
{
	(void)unused;
	return ch->many ? many_next(ch) : next(ch);
}

/* Wait up to TIMEOUT_MS for the next message. */
COLD static int get_slow(struct pshm_chan *ch, int timeout_ms)
{
	if (ch->many) {
		int r = many_next(ch);
		if (r != -EAGAIN)
			return r;
	}
	return wait_ready(ch, timeout_ms, 0, get_ready, get_sleep);
}

/* The next message, peeked: 0 or a negative errno. */
HOT int get(struct pshm_chan *ch, int timeout_ms)
{
	if (ch->peeked)
		return 0;
	int r = next(ch);
	return r == -EAGAIN ? get_slow(ch, timeout_ms) : r;
}

static const void *payload(const struct pshm_chan *ch)
{
	return ch->peek_pos == PSHM__CHAN_POS_INLINE
	           ? (const void *)pshm__chan_desc(ch, ch->expect)->inl
	           : (const void *)(ch->data + (ch->peek_pos & ch->mask));
}

PSHM__API int pshm_chan_peek(struct pshm_chan *ch, const void **bufp, size_t *lenp, int timeout_ms)
{
	if (!ch || !bufp || !lenp || ch->role != PSHM_CHAN_READER)
		return -EINVAL;
	int r = get(ch, timeout_ms);
	if (r)
		return pshm__chan_failed(ch, r);
	*bufp = payload(ch);
	*lenp = ch->peek_len;
	return 0;
}

/*
 * Lossless broadcast: the reader has published its progress; wake a writer that sleeps, held
 * back by a reader, as a queue reader does.
 */
__attribute__((noinline)) static int lossless_consumed(struct pshm_chan *ch,
                                                       struct pshm__chan_hdr *h)
{
	pshm__chan_publish_fence(&h->space_fenced);
	if (atomic_load_explicit(&h->space_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->space_futex);
	return 0;
}

/* Consume the peeked message: publish the reader's progress, and wake a writer that sleeps. */
HOT int consume(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	if (ch->bcast && overwritten(ch)) {
		/* The writer moved oldest past this message before it touched it. */
		uint64_t o = passed(ch);
		return overrun(ch, o ? o : ch->expect + 1);
	}
	ch->peeked = false;
	ch->expect++;
	ch->received++;
	if (ch->peek_pos != PSHM__CHAN_POS_INLINE)
		ch->cur = ch->peek_pos + pshm__chan_align8(ch->peek_len);
	if (ch->bcast) {
		struct pshm__chan_slot *s = &h->slot[ch->slot];
		/* Release, for a lossless writer: once it sees the cursor past the message, it may
		 * overwrite it. (The same store as a relaxed one where stores are ordered anyway.) */
		atomic_store_explicit(&s->cursor, ch->expect, memory_order_release);
		atomic_store_explicit(&s->received, ch->received, memory_order_relaxed);
		if (__builtin_expect(ch->lossless, 0))
			return lossless_consumed(ch, h);
		return 0;
	}
	if (ch->peek_pos != PSHM__CHAN_POS_INLINE)
		atomic_store_explicit(&h->tail, ch->cur, memory_order_relaxed);
	atomic_store_explicit(&h->received, ch->received, memory_order_release);
	pshm__chan_publish_fence(&h->space_fenced);
	if (atomic_load_explicit(&h->space_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->space_futex);
	return 0;
}

PSHM__API int pshm_chan_release(struct pshm_chan *ch)
{
	if (!ch || ch->role != PSHM_CHAN_READER || !ch->peeked)
		return -EINVAL;
	/* The payload was read after pshm_chan_peek() returned, perhaps from zero pages. */
	if (pshm__chan_dead(ch))
		return PSHM_ETRUNCATED;
	return consume(ch);
}

PSHM__API int pshm_chan_recv(struct pshm_chan *ch, void *buf, size_t size, size_t *lenp,
                             int timeout_ms)
{
	if (!ch || (!buf && size) || ch->role != PSHM_CHAN_READER)
		return -EINVAL;
	int r = get(ch, timeout_ms);
	if (r)
		return pshm__chan_failed(ch, r);
	size_t len = ch->peek_len;
	if (lenp)
		*lenp = len;
	if (len > size)
		return -EMSGSIZE;
	if (len)
		memcpy(buf, payload(ch), len);
	if (pshm__chan_dead(ch))
		return PSHM_ETRUNCATED;
	return consume(ch);
}
