/*
 * chan_mbcast.c - a broadcast channel with many writers (PSHM_CHAN_BROADCAST |
 * PSHM_CHAN_MANY_WRITERS, mode word PSHM__MODE_MANY_BCAST; layout in chan.h).
 *
 * A broadcast writer overwrites the oldest messages to make room. With several writers, the
 * oldest message may still be being written by a slower one: a claim must never take a
 * descriptor or data that a live writer is still filling. So a claim is made under the claim
 * word, used here as a lock (0, or the holder's writer slot + 1), held only while the claim is
 * computed: the writer reads the next number and the data head (the header's sent and head,
 * which in this mode count claims), drops the oldest messages as the one writer does, and
 * stops at one that is claimed and not published: a live writer's (announced in its slot, as in
 * a many-writer queue) makes it let go of the lock and wait until that message is published; a
 * dead writer's (no live writer announces it) is marked void and dropped. It then announces
 * oldest and wend, marks its descriptor as being rewritten and notes there the payload's place
 * and length (so that a claim whose writer dies still tells where its data lies), announces the
 * number in its slot, stores the new sent and head, and lets go. The payload is written and
 * published outside the lock, so writers fill their messages at the same time; the readers
 * check what they read against the descriptor's number and wend as with one writer.
 *
 * A reader that waits for a message claimed by a writer that died passes over it on its own,
 * without writing anything (pshm__chan_mbcast_dead): only lock holders and a claim's own writer
 * write descriptors. A lock holder that dies holding it is found out by the next writer that
 * wants it (its slot's beacon shows no lock, or the slot has a new holder, which lets go of
 * the lock its predecessor held when it attaches): whatever the dead one stored is a claim
 * that was not made, or one made and announced by a writer now dead, which is dropped as such.
 */
#include "chan.h"

#include <sched.h>

#define COLD __attribute__((noinline, cold))

/* Turns of the lock's spin before the writer looks at the holder and waits. */
#define LOCK_SPINS 512

/* Is a live writer (other than this handle) announcing message K, claimed and unpublished? */
static int announced(struct pshm_chan *ch, uint64_t k)
{
	struct pshm__chan_hdr *h = ch->h;
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++) {
		struct pshm__chan_wslot *w = &h->wslot[i];
		if (atomic_load_explicit(&w->pending, memory_order_acquire) != k + 1)
			continue;
		if (i == ch->slot && pshm__chan_writer(ch))
			return 1; /* its own (only while it holds a reservation) */
		uint64_t id = atomic_load_explicit(&w->live, memory_order_acquire);
		int l = pshm__chan_alive(ch->dirfd, ch->fd, PSHM__LOCK_WSLOT(i), id, NULL);
		if (l)
			return l;
	}
	return 0;
}

/*
 * Take the claim lock: 0, or -EAGAIN when a live writer holds it (ch->mb_watch is then the word
 * to watch), or -EBADMSG. A holder found dead is replaced.
 */
static int lock_claim(struct pshm_chan *ch)
{
	_Atomic uint64_t *l = &ch->h->claim;
	uint64_t mine = (uint64_t)ch->slot + 1;

	for (int turn = 0;; turn++) {
		uint64_t v = 0;
		if (atomic_compare_exchange_weak_explicit(l, &v, mine, memory_order_acquire,
		                                          memory_order_relaxed))
			return 0;
		if (v == 0)
			continue;
		if (v > PSHM_CHAN_MAX_WRITERS)
			return -EBADMSG;
		if (turn < LOCK_SPINS && v != mine) {
			pshm__chan_relax();
			continue;
		}
		/* Held for long, or by this slot's dead predecessor: is the holder alive? */
		struct pshm__chan_wslot *w = &ch->h->wslot[v - 1];
		int a = v == mine
		            ? 0
		            : pshm__chan_alive(ch->dirfd, ch->fd, PSHM__LOCK_WSLOT(v - 1),
		                               atomic_load_explicit(&w->live, memory_order_acquire),
		                               NULL);
		if (a < 0)
			return a;
		if (a) {
			ch->mb_watch = (const volatile uint64_t *)l;
			ch->watch_old = v;
			return -EAGAIN;
		}
		if (atomic_compare_exchange_strong_explicit(l, &v, mine, memory_order_acquire,
		                                            memory_order_relaxed))
			return 0;
		turn = 0;
	}
}

static void unlock_claim(struct pshm_chan *ch)
{
	atomic_store_explicit(&ch->h->claim, 0, memory_order_release);
}

/* Mark message K's descriptor as no message, its place kept: for whoever drops it later. */
static void void_claim(struct pshm_chan *ch, uint64_t k)
{
	struct pshm__chan_desc *d = pshm__chan_desc(ch, k);
	__atomic_store_n(&d->len, PSHM__CHAN_VOID, __ATOMIC_RELAXED);
	__atomic_store_n(&d->seq, k + 1, __ATOMIC_RELEASE);
}

/*
 * Drop message O, whose data may start at *OP or later: *OP becomes a position where the next
 * message's data starts or before. A void message (given up, or its writer dead) has a known
 * place and, when its writer died before it published, the length it claimed: taken as it is,
 * never further than the place (what is held only ever counts as more).
 */
static int drop(const struct pshm_chan *ch, uint64_t o, uint64_t *op)
{
	struct pshm__chan_desc *d = pshm__chan_desc(ch, o);
	uint32_t len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
	uint64_t pos = __atomic_load_n(&d->pos, __ATOMIC_RELAXED);
	if (pos == PSHM__CHAN_POS_INLINE)
		return len <= PSHM__CHAN_INLINE || len == PSHM__CHAN_VOID ? 0 : -EBADMSG;
	/* Before *OP only when a lock holder died between storing oldest_pos and oldest. */
	if (pos % PSHM__CHAN_ALIGN || (pos - *op > ch->cap && *op - pos > ch->cap))
		return -EBADMSG;
	*op = pos;
	if (len != PSHM__CHAN_VOID && len <= ch->maxmsg &&
	    pshm__chan_align8(len) <= ch->cap - (pos & ch->mask))
		*op = pos + pshm__chan_align8(len);
	return 0;
}

/*
 * Under the lock: claim the next message for LEN bytes. 0 with ch->seq and ch->res_pos set,
 * -EAGAIN when a live writer's unpublished message is in the way (ch->mb_watch is then its
 * descriptor's number), or -EBADMSG.
 */
static int claim_locked(struct pshm_chan *ch, uint64_t len)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t s = atomic_load_explicit(&h->sent, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	uint64_t o = atomic_load_explicit(&h->oldest, memory_order_relaxed);
	uint64_t op = atomic_load_explicit(&h->oldest_pos, memory_order_relaxed);
	uint64_t we = atomic_load_explicit(&h->wend, memory_order_relaxed);

	if (s - o > ch->ndesc || head - op > ch->cap || head - we > ch->cap ||
	    head % PSHM__CHAN_ALIGN || op % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	bool inl = len <= PSHM__CHAN_INLINE;
	uint64_t p = inl ? PSHM__CHAN_POS_INLINE : pshm__chan_place(ch, head, len);
	uint64_t end = inl ? head : p + pshm__chan_align8(len);
	uint64_t o0 = o;

	while (o != s && (s - o >= ch->ndesc || end - op > ch->cap)) {
		struct pshm__chan_desc *d = pshm__chan_desc(ch, o);
		uint64_t ds = __atomic_load_n(&d->seq, __ATOMIC_ACQUIRE);
		if (ds != o + 1) {
			/* Claimed and not published: wait for a live writer, drop a dead one's. */
			int a = announced(ch, o);
			if (a < 0)
				return a;
			if (a) {
				ch->mb_watch = (const volatile uint64_t *)&d->seq;
				ch->watch_old = ds;
				return -EAGAIN;
			}
			if (__atomic_load_n(&d->seq, __ATOMIC_ACQUIRE) != o + 1)
				void_claim(ch, o);
		}
		if (drop(ch, o, &op))
			return -EBADMSG;
		o++;
	}
	if (o == s)
		op = head;
	if (o != o0) {
		atomic_store_explicit(&h->oldest_pos, op, memory_order_relaxed);
		atomic_store_explicit(&h->oldest, o, memory_order_relaxed);
	}
	/* Release: a reader that sees this wend also sees the oldest it implies. */
	if (end != we)
		atomic_store_explicit(&h->wend, end, memory_order_release);
	struct pshm__chan_desc *d = pshm__chan_desc(ch, s);
	__atomic_store_n(&d->seq, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->pos, p, __ATOMIC_RELAXED);
	__atomic_store_n(&d->len, (uint32_t)len, __ATOMIC_RELAXED);
	atomic_store_explicit(&h->wslot[ch->slot].pending, s + 1, memory_order_relaxed);
	/* Readers that see any byte written after this fence also see the new wend and the
	 * descriptor's 0; a reader or writer that sees the new sent sees the announcement. */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&h->head, end, memory_order_relaxed);
	atomic_store_explicit(&h->sent, s + 1, memory_order_release);
	ch->seq = s;
	ch->res_pos = p;
	return 0;
}

/* One try at a claim of LEN bytes: 0, -EAGAIN (ch->mb_watch says what to wait for), -errno. */
static int try_claim(struct pshm_chan *ch, uint64_t len)
{
	int r = lock_claim(ch);
	if (r)
		return r;
	r = claim_locked(ch, len);
	unlock_claim(ch);
	return r;
}

/* Sleep until the word the last try found in the way moves, or DEADLINE. */
static int claim_sleep(struct pshm_chan *ch, uint64_t deadline)
{
	return pshm__chan_wait(ch, ch->mb_watch, ch->watch_old, NULL, deadline);
}

int pshm__chan_mbcast_claim(struct pshm_chan *ch, size_t len, int timeout_ms, void **bufp)
{
	int r = try_claim(ch, len);
	if (r == -EAGAIN)
		r = pshm__chan_wait_ready(ch, timeout_ms, len, try_claim, claim_sleep);
	if (r)
		return pshm__chan_failed(ch, r);
	*bufp = ch->res_pos == PSHM__CHAN_POS_INLINE
	            ? (void *)pshm__chan_desc(ch, ch->seq)->inl
	            : (void *)(ch->data + (ch->res_pos & ch->mask));
	return 0;
}

/* Wake the readers that sleep, and the writers that wait for a message to be published. */
static void wake(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	if (!pshm__chan_asym || atomic_load_explicit(&h->data_fenced, memory_order_relaxed) ||
	    atomic_load_explicit(&h->space_fenced, memory_order_relaxed))
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&h->data_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->data_futex);
	if (atomic_load_explicit(&h->space_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->space_futex);
}

void pshm__chan_mbcast_publish(struct pshm_chan *ch, size_t len)
{
	struct pshm__chan_wslot *w = &ch->h->wslot[ch->slot];
	struct pshm__chan_desc *d = pshm__chan_desc(ch, ch->seq);

	__atomic_store_n(&d->len, (uint32_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&d->seq, ch->seq + 1, __ATOMIC_RELEASE);
	ch->many_sent++;
	ch->bytes += len;
	atomic_store_explicit(&w->sent, ch->many_sent, memory_order_relaxed);
	atomic_store_explicit(&w->bytes, ch->bytes, memory_order_relaxed);
	wake(ch);
}

void pshm__chan_mbcast_give_up(struct pshm_chan *ch)
{
	void_claim(ch, ch->seq);
	wake(ch);
}

int pshm__chan_mbcast_attach(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t s = atomic_load_explicit(&h->sent, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	uint64_t o = atomic_load_explicit(&h->oldest, memory_order_relaxed);
	uint64_t op = atomic_load_explicit(&h->oldest_pos, memory_order_relaxed);

	if (s - o > ch->ndesc || head - op > ch->cap || head % PSHM__CHAN_ALIGN ||
	    op % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	/* The slot's dead predecessor may have died holding the lock. */
	uint64_t mine = (uint64_t)ch->slot + 1;
	atomic_compare_exchange_strong_explicit(&h->claim, &mine, 0, memory_order_release,
	                                        memory_order_relaxed);
	return 0;
}

int pshm__chan_mbcast_dead(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t e = ch->expect;
	struct pshm__chan_desc *d = pshm__chan_desc(ch, e);

	if (__atomic_load_n(&d->seq, __ATOMIC_ACQUIRE) == e + 1)
		return 0;
	uint64_t s = atomic_load_explicit(&h->sent, memory_order_acquire);
	uint64_t o = atomic_load_explicit(&h->oldest, memory_order_acquire);
	if (s - e - 1 >= ch->ndesc || (int64_t)(e - o) < 0)
		return 0; /* not claimed yet, or dropped already: the overrun path says so */
	int a = announced(ch, e);
	if (a)
		return a < 0 ? a : 0;
	if (__atomic_load_n(&d->seq, __ATOMIC_ACQUIRE) == e + 1)
		return 0; /* published meanwhile */
	/* Passed over as a void message is: not read, not lost. */
	ch->expect = e + 1;
	ch->peeked = false;
	atomic_store_explicit(&h->slot[ch->slot].cursor, ch->expect, memory_order_relaxed);
	return 0;
}
