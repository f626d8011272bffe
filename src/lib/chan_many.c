/*
 * chan_many.c - a queue channel with many writers (PSHM_CHAN_MANY_WRITERS; layout in chan.h).
 *
 * Each writer holds a writer slot of its own (its beacon, its counters, its claim). A message
 * is claimed with one compare-and-swap of the header's claim word, which holds the next
 * message's number and the data head (the low 32 bits of each: the reader's counts, which are
 * never more than a ring behind, give the rest). The claim gives the writer the descriptor and
 * the data that the one writer of an ordinary channel would have taken, so the reader reads
 * the descriptors in order exactly as it does there; the writers fill and publish them in any
 * order, and a reader that reaches one not yet published waits for it.
 *
 * A writer announces the number it is about to claim in its slot (pending) before the
 * compare-and-swap; the announcement stays until its next claim or its detach (one that names a
 * published message is never looked at, and a store less per message is a message more in
 * flight: see HOT below). So a message that was
 * claimed (the claim word is past it), is not published, and that no live writer announces
 * was claimed by a writer that died: whoever took over its slot cleared the announcement, and
 * otherwise its beacon shows no lock. The reader looks for that when it has waited for the
 * message for a while (at its probes of the writers, pshm__chan_many_peer) and marks the
 * descriptor PSHM__CHAN_VOID; a writer that closes with a reservation marks its own. Either is
 * passed over (chan_ring.c) and costs only that message. The decision rests on the kernel's
 * locks, never on a timeout, and the announcement is read after the claim word with acquire:
 * the compare-and-swap that claimed the message released the store that announced it.
 */
#include "chan.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <string.h>

#define LOW32 0xffffffffull

/*
 * The writer's fast path is inlined into the public calls that use it: each function call costs
 * stores to the stack, and a writer's stores queue behind those to the lines the reader holds,
 * so every store a message makes counts against how many messages are in flight.
 */
#define HOT  static inline __attribute__((always_inline))
#define COLD __attribute__((noinline, cold))

static inline uint64_t pack(uint64_t seq, uint64_t head)
{
	return seq << 32 | (head & LOW32);
}

/* The full number in claim word C, given a number REF not after it and less than 2^32 before. */
static inline uint64_t claim_seq(uint64_t c, uint64_t ref)
{
	return ref + (uint32_t)((uint32_t)(c >> 32) - (uint32_t)ref);
}

/* The full data head in claim word C, given a position REF not after it and 2^32 before. */
static inline uint64_t claim_head(uint64_t c, uint64_t ref)
{
	return ref + (uint32_t)((uint32_t)c - (uint32_t)ref);
}

int pshm__chan_many_check(const struct pshm_chan *ch, uint64_t recv, uint64_t tail)
{
	uint64_t c = atomic_load_explicit(&ch->h->claim, memory_order_acquire);
	uint64_t k = claim_seq(c, recv), head = claim_head(c, tail);
	return k - recv > ch->ndesc || head - tail > ch->cap || head % PSHM__CHAN_ALIGN ||
	               tail % PSHM__CHAN_ALIGN
	           ? -EBADMSG
	           : 0;
}

void pshm__chan_many_caught_up(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	if (!ch->tail_behind)
		return; /* no claim passed over since: the tail is where the last payload ended */
	uint64_t c = atomic_load_explicit(&h->claim, memory_order_acquire);
	if (claim_seq(c, ch->expect) != ch->expect)
		return;
	ch->tail_behind = false;
	uint64_t head = claim_head(c, ch->cur);
	if (head == ch->cur || head - ch->cur > ch->cap || head % PSHM__CHAN_ALIGN)
		return;
	ch->cur = head;
	atomic_store_explicit(&h->tail, head, memory_order_release);
	pshm__chan_publish_fence(&h->space_fenced);
	if (atomic_load_explicit(&h->space_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->space_futex);
}

void pshm__chan_many_used(const struct pshm__chan_hdr *h, uint64_t recv, uint64_t tail,
                          uint64_t *count, uint64_t *data)
{
	uint64_t c = atomic_load_explicit(&h->claim, memory_order_acquire);
	*count = claim_seq(c, recv) - recv;
	*data = claim_head(c, tail) - tail;
}

/*
 * Claim the next message for LEN payload bytes: 0 with ch->seq its number and ch->res_pos its
 * payload's position (or PSHM__CHAN_POS_INLINE), -EAGAIN when the ring has no room (ch->recv_seen
 * is then the reader's count the writer waits to see move), -EPIPE, or -EBADMSG.
 *
 * The writer keeps the reader's counts as it last loaded them, as the one writer of a channel
 * does, and loads them again only when they say the ring is full, when they may be too old to
 * give the claim word's full values, or when the claim word disagrees with the descriptor it
 * names. Old counts are safe for the room they promise (the reader only moves on); for the
 * full values they are safe while the claim word has moved less than 2^31 in each half since
 * (ch->span messages, each taking at most the ring's length). The descriptor of the message
 * claimed last held message N - ndesc (read, so published or void) or, on the first lap,
 * nothing: a number read wrong by a multiple of 2^32 names the same descriptor, which says so.
 */
/*
 * Ask for the lines the claimed message will be written to, for writing, at once: the next
 * claim's compare-and-swap waits until this message's stores are done, and a store to a line
 * the reader holds waits for the line. Asked now, the lines come while the payload is made.
 */
static inline void prefetch_own(const struct pshm_chan *ch, uint64_t k, uint64_t p, uint64_t len)
{
	__builtin_prefetch(pshm__chan_desc(ch, k), 1);
	if (p == PSHM__CHAN_POS_INLINE)
		return;
	const unsigned char *d = ch->data + (p & ch->mask);
	for (uint64_t i = 0; i < len && i < 256; i += 64)
		__builtin_prefetch(d + i, 1);
}

/* Move the claim word from C to NEW: stored by a writer ALONE, else compared and swapped. */
static inline bool take(struct pshm__chan_hdr *h, uint64_t c, uint64_t new, bool alone)
{
	if (alone) {
		atomic_store_explicit(&h->claim, new, memory_order_release);
		return true;
	}
	return atomic_compare_exchange_strong_explicit(&h->claim, &c, new, memory_order_acq_rel,
	                                               memory_order_relaxed);
}

/*
 * Every claim is remembered, with the header's attaches as it was while the writer was inside
 * that claim (see try_claim), and whether it was made alone.
 */
static inline void own(struct pshm_chan *ch, bool alone, uint64_t k, uint64_t end)
{
	ch->own = pack(k + 1, end);
	ch->own_alone = alone;
	ch->own_gen = atomic_load_explicit(&ch->h->attaches, memory_order_relaxed);
	ch->own_next = k + 1;
	ch->own_head = end;
}

HOT int claim_as(struct pshm_chan *ch, uint64_t len, bool alone)
{
	struct pshm__chan_hdr *h = ch->h;
	_Atomic uint64_t *pending = &h->wslot[ch->slot].pending;
	bool inl = len <= PSHM__CHAN_INLINE, fresh = false;

	for (;;) {
		if (atomic_load_explicit(&h->reader_state, memory_order_relaxed) ==
		    PSHM__ST_DETACHED)
			return -EPIPE;
		uint64_t recv = ch->recv_seen, tail = ch->tail_seen;
		uint64_t c = atomic_load_explicit(&h->claim, memory_order_acquire);
		uint64_t k = claim_seq(c, recv), head = claim_head(c, tail);
		if (k - recv <= ch->ndesc && head - tail <= ch->cap && !(head % PSHM__CHAN_ALIGN) &&
		    (fresh || k - recv < ch->span)) {
			uint64_t p = inl ? PSHM__CHAN_POS_INLINE : pshm__chan_place(ch, head, len);
			uint64_t end = inl ? head : p + pshm__chan_align8(len);
			if (k - recv >= ch->ndesc || end - tail > ch->cap) {
				/* Wait for what is short: a descriptor, or data room (which
				 * the reader may free without reading: see
				 * pshm__chan_many_caught_up). */
				ch->watch_tail = k - recv < ch->ndesc;
				if (fresh)
					return -EAGAIN;
			} else {
				uint64_t prev =
				    __atomic_load_n(&pshm__chan_desc(ch, k)->seq, __ATOMIC_ACQUIRE);
				if (prev == k + 1 - ch->ndesc || (prev == 0 && k < ch->ndesc)) {
					/* Announce, then claim: the claim releases the
					 * announcement. */
					atomic_store_explicit(pending, k + 1, memory_order_relaxed);
					if (!take(h, c, pack(k + 1, end), alone))
						continue; /* another writer claimed it first */
					/* Claims in a row with no other writer's between. */
					if (!alone)
						ch->streak = c == ch->own ? ch->streak + 1 : 0;
					ch->seq = k;
					ch->res_pos = p;
					own(ch, alone, k, end);
					prefetch_own(ch, k, p, len);
					return 0;
				}
			}
		}
		/* Look at the reader again. Nothing moved, and still no sense: corrupt. */
		uint64_t r2 = atomic_load_explicit(&h->received, memory_order_acquire);
		uint64_t t2 = atomic_load_explicit(&h->tail, memory_order_relaxed);
		if (fresh && r2 == recv && t2 == tail &&
		    atomic_load_explicit(&h->claim, memory_order_acquire) == c)
			return -EBADMSG;
		ch->recv_seen = r2;
		ch->tail_seen = t2;
		fresh = true;
	}
}

/*
 * The claim of a writer alone that was alone at its last claim too: 0 with the message claimed,
 * or -EAGAIN for claim_as() to decide. No writer attached since that claim (attaches has not
 * moved, and one that attached bumped it only after this writer left that claim), so none has
 * claimed since: the message and data head after that claim, which the writer kept in full,
 * are the next ones, and the reader's counts as last loaded say whether they are free. The
 * claim word is compared all the same, against a peer that scribbled on it. Nothing is loaded
 * from the ring: a load waits for its line, where a store would not.
 */
HOT int claim_again(struct pshm_chan *ch, uint64_t len)
{
	struct pshm__chan_hdr *h = ch->h;
	if (atomic_load_explicit(&h->claim, memory_order_acquire) != ch->own ||
	    atomic_load_explicit(&h->attaches, memory_order_relaxed) != ch->own_gen ||
	    atomic_load_explicit(&h->reader_state, memory_order_relaxed) == PSHM__ST_DETACHED)
		return -EAGAIN;
	uint64_t k = ch->own_next, head = ch->own_head;
	bool inl = len <= PSHM__CHAN_INLINE;
	uint64_t p = inl ? PSHM__CHAN_POS_INLINE : pshm__chan_place(ch, head, len);
	uint64_t end = inl ? head : p + pshm__chan_align8(len);
	if (k - ch->recv_seen >= ch->ndesc || end - ch->tail_seen > ch->cap)
		return -EAGAIN;
	atomic_store_explicit(&h->wslot[ch->slot].pending, k + 1, memory_order_relaxed);
	uint64_t c = pack(k + 1, end);
	atomic_store_explicit(&h->claim, c, memory_order_release);
	ch->own = c;
	ch->own_next = k + 1;
	ch->own_head = end;
	ch->seq = k;
	ch->res_pos = p;
	prefetch_own(ch, k, p, len);
	return 0;
}

/* Let go of the claim word if this slot holds it, or held it under a writer that died. */
static void let_go(struct pshm_chan *ch)
{
	uint32_t me = (uint32_t)ch->slot + 1, o = me;
	if (!atomic_compare_exchange_strong_explicit(&ch->h->holder, &o, 0, memory_order_acq_rel,
	                                             memory_order_relaxed)) {
		o = me | PSHM__CHAN_HOLD_REV;
		atomic_compare_exchange_strong_explicit(&ch->h->holder, &o, 0, memory_order_acq_rel,
		                                        memory_order_relaxed);
	}
}

/*
 * Make every CPU that runs a registered process execute a barrier, then wait until no writer
 * slot from FIRST to before LAST but this writer's own is inside a claim, or its holder is
 * dead. 0, or -EAGAIN when a live writer stayed inside one, a few instructions long, for a
 * whole second (stopped, or scribbling on the header).
 */
static int wait_out(struct pshm_chan *ch, int first, int last)
{
	struct pshm__chan_hdr *h = ch->h;

	if (pshm__membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) < 0) {
		/* No barrier can be made here: nobody claims without compare-and-swap again. */
		atomic_store_explicit(&h->never_alone, 1, memory_order_seq_cst);
		atomic_thread_fence(memory_order_seq_cst);
	}
	uint64_t deadline = pshm__chan_now() + 1000000000ull;
	for (int i = first; i < last; i++) {
		struct pshm__chan_wslot *w = &h->wslot[i];
		while (i != ch->slot && atomic_load_explicit(&w->alone, memory_order_acquire)) {
			uint64_t id = atomic_load_explicit(&w->live, memory_order_acquire);
			if (pshm__chan_alive(ch->dirfd, ch->fd, PSHM__LOCK_WSLOT(i), id, NULL) <= 0)
				break; /* a dead holder claims nothing more */
			if (pshm__chan_now() > deadline)
				return -EAGAIN;
			sched_yield();
		}
	}
	return 0;
}

/*
 * Among other writers, one that claims again and again with no other claim between takes the
 * claim word for itself (the header's holder) and claims with plain stores, as a writer alone
 * does, until another writer wants to claim. This is the common case when the writers share a
 * CPU, and take turns at it: a compare-and-swap waits for every store before it.
 *
 * Every claim among others is made inside the writer's mark (its slot's alone), which it sets
 * before it reads the holder, with only a compiler barrier between; whoever changes the holder
 * makes a membarrier and then waits for the marks of those it must keep out (wait_out), as an
 * attaching writer does. So the holder claims with a plain store only while it reads itself
 * as holder inside its mark: taking the word (0 to the slot) waits out the claims made by
 * compare-and-swap under the old value; taking it back (the slot to the slot with
 * PSHM__CHAN_HOLD_REV, then to 0 once the holder's mark is down or its holder dead) waits out
 * the holder's plain claim. No compare-and-swap claim is made while the holder reads anything
 * but 0 or the claimer itself, and the revoked mark stays until the holder is out: a holder
 * stopped inside its claim keeps the others waiting (-EAGAIN after a second, and again), never
 * claiming beside it.
 *
 * The first claim after taking the word is a compare-and-swap, so that the remembered claim
 * (own) is one no other writer can have followed: the plain claims after it rest on it.
 */
COLD static void hold(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	uint32_t o = 0, me = (uint32_t)ch->slot + 1;

	ch->want_hold = false;
	ch->streak = 0;
	if (!pshm__chan_asym || atomic_load_explicit(&h->never_alone, memory_order_relaxed) ||
	    !atomic_compare_exchange_strong_explicit(&h->holder, &o, me, memory_order_acq_rel,
	                                             memory_order_relaxed))
		return;
	ch->held = false;
	ch->hold_claims = 0;
	/* Another stayed inside a claim for a second: give the word back rather than wait. */
	if (wait_out(ch, 0, PSHM_CHAN_MAX_WRITERS))
		let_go(ch);
}

/* Take the claim word back from holder O: 0 once it is free (or moved), or -EAGAIN. */
COLD static int unhold(struct pshm_chan *ch, uint32_t o)
{
	_Atomic uint32_t *hp = &ch->h->holder;
	uint32_t x = o & ~PSHM__CHAN_HOLD_REV;

	if (!(o & PSHM__CHAN_HOLD_REV)) {
		if (!atomic_compare_exchange_strong_explicit(hp, &o, o | PSHM__CHAN_HOLD_REV,
		                                             memory_order_acq_rel,
		                                             memory_order_relaxed))
			return 0; /* it moved: look again */
		o |= PSHM__CHAN_HOLD_REV;
	}
	/* A holder outside the slots (scribbled) claims nothing: no one to wait for. */
	if (x >= 1 && x <= PSHM_CHAN_MAX_WRITERS && x != (uint32_t)ch->slot + 1) {
		int r = wait_out(ch, (int)x - 1, (int)x);
		if (r)
			return r;
	}
	atomic_compare_exchange_strong_explicit(hp, &o, 0, memory_order_acq_rel,
	                                        memory_order_relaxed);
	return 0;
}

/* The holder lost the word after N claims as holder: it waits for a longer streak next time
 * if the hold was shorter than the streak that took it, a shorter one if not. */
static void lost_hold(struct pshm_chan *ch)
{
	if (ch->hold_claims < ch->need)
		ch->need = ch->need < PSHM__CHAN_HOLD_MAX / 2 ? ch->need * 2 : PSHM__CHAN_HOLD_MAX;
	else if (ch->need > PSHM__CHAN_HOLD_STREAK)
		ch->need /= 2;
	ch->hold_claims = 0;
}

/* A queue writer's claim among others: as claim_as(), with the holder's plain claim. */
HOT int claim_shared(struct pshm_chan *ch, uint64_t len)
{
	struct pshm__chan_hdr *h = ch->h;
	_Atomic uint32_t *in = &h->wslot[ch->slot].alone;
	uint32_t me = (uint32_t)ch->slot + 1;

	if (__builtin_expect(ch->want_hold, 0))
		hold(ch);
	for (;;) {
		atomic_store_explicit(in, 1, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		uint32_t o = atomic_load_explicit(&h->holder, memory_order_relaxed);
		if (o == me && ch->held && pshm__chan_asym &&
		    !atomic_load_explicit(&h->never_alone, memory_order_relaxed) &&
		    claim_again(ch, len) == 0) {
			atomic_store_explicit(in, 0, memory_order_release);
			ch->hold_claims++;
			return 0;
		}
		if (o != me) {
			ch->held = false;
			if (__builtin_expect(ch->hold_claims != 0, 0))
				lost_hold(ch);
		}
		if (o == 0 || o == me) {
			int r = claim_as(ch, len, false);
			atomic_store_explicit(in, 0, memory_order_release);
			if (r == 0 && o == me)
				ch->held = true;
			else if (r == 0 && ch->streak >= ch->need && pshm__chan_asym)
				ch->want_hold = true;
			return r;
		}
		atomic_store_explicit(in, 0, memory_order_release);
		int r = unhold(ch, o);
		if (r)
			return r;
	}
}

/*
 * A writer alone on the channel claims with a plain store: a compare-and-swap, a locked
 * instruction, waits for every store before it, the last message's included, whose lines the
 * reader holds; that wait was half of a message's time. It is alone while writers_in is 1 (its
 * own count). It says it is inside such a claim (alone, in its slot) before it looks at the
 * count, with only a compiler barrier between: a writer that attaches counts itself, makes
 * every CPU that runs a registered process execute a barrier (membarrier), and then waits
 * until no other writer is inside one (no_one_alone). So either the claimer sees the new count
 * and uses the compare-and-swap, or the attacher sees it inside its claim, waits, and then sees
 * the claim. A process that could not register for membarrier never claims so.
 */
HOT int try_claim(struct pshm_chan *ch, uint64_t len)
{
	struct pshm__chan_hdr *h = ch->h;
	_Atomic uint32_t *in = &h->wslot[ch->slot].alone;

	/* Another writer counted: a claim among others. */
	if (!pshm__chan_asym || atomic_load_explicit(&h->writers_in, memory_order_relaxed) != 1)
		return claim_shared(ch, len);
	atomic_store_explicit(in, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	bool alone = atomic_load_explicit(&h->writers_in, memory_order_relaxed) == 1 &&
	             !atomic_load_explicit(&h->never_alone, memory_order_relaxed);
	if (!alone) {
		/* Joined since the first look: a claim among others, which may have a holder. */
		atomic_store_explicit(in, 0, memory_order_relaxed);
		return claim_shared(ch, len);
	}
	int r = ch->own_alone ? claim_again(ch, len) : -EAGAIN;
	if (r != 0)
		r = claim_as(ch, len, true);
	atomic_store_explicit(in, 0, memory_order_release);
	return r;
}

static int claim_ready(struct pshm_chan *ch, uint64_t len)
{
	return try_claim(ch, len);
}

static int claim_sleep(struct pshm_chan *ch, uint64_t deadline);

/* No room: wait up to TIMEOUT_MS for it. */
COLD static int claim_wait(struct pshm_chan *ch, size_t len, int timeout_ms)
{
	return pshm__chan_wait_ready(ch, timeout_ms, len, claim_ready, claim_sleep);
}

/* Sleep until the reader's count or tail moves from what the writer last saw, or DEADLINE. */
static int claim_sleep(struct pshm_chan *ch, uint64_t deadline)
{
	if (ch->watch_tail)
		return pshm__chan_wait(ch, (const volatile uint64_t *)&ch->h->tail, ch->tail_seen,
		                       NULL, deadline);
	return pshm__chan_wait(ch, (const volatile uint64_t *)&ch->h->received, ch->recv_seen, NULL,
	                       deadline);
}

/* Where the payload of the message claimed goes. */
static inline void *claimed_buf(const struct pshm_chan *ch)
{
	return ch->res_pos == PSHM__CHAN_POS_INLINE ? (void *)pshm__chan_desc(ch, ch->seq)->inl
	                                            : (void *)(ch->data + (ch->res_pos & ch->mask));
}

/* Claim room for LEN bytes, waiting up to TIMEOUT_MS: 0 and where the payload goes in *BUFP. */
HOT int claim(struct pshm_chan *ch, size_t len, int timeout_ms, void **bufp)
{
	int r = try_claim(ch, len);
	if (__builtin_expect(r == -EAGAIN, 0))
		r = claim_wait(ch, len, timeout_ms);
	if (__builtin_expect(r != 0, 0))
		return pshm__chan_failed(ch, r);
	*bufp = claimed_buf(ch);
	return 0;
}

/*
 * Publish the claimed message with LEN bytes, and wake a sleeping reader. The announcement
 * stays: it names a published message now, which the reader never looks for (see dead_claim),
 * and the next claim or the detach replaces it.
 */
HOT void publish(struct pshm_chan *ch, size_t len)
{
	struct pshm__chan_hdr *h = ch->h;
	struct pshm__chan_wslot *w = &h->wslot[ch->slot];
	struct pshm__chan_desc *d = pshm__chan_desc(ch, ch->seq);

	__atomic_store_n(&d->len, (uint32_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&d->pos, ch->res_pos, __ATOMIC_RELAXED);
	__atomic_store_n(&d->seq, ch->seq + 1, __ATOMIC_RELEASE);
	ch->many_sent++;
	ch->bytes += len;
	atomic_store_explicit(&w->sent, ch->many_sent, memory_order_relaxed);
	atomic_store_explicit(&w->bytes, ch->bytes, memory_order_relaxed);
	pshm__chan_publish_fence(&h->data_fenced);
	if (atomic_load_explicit(&h->data_waiters, memory_order_relaxed))
		pshm__chan_wake(ch, &h->data_futex);
}

/* Mark message SEQ's descriptor as no message, for the reader to pass over. */
static void void_desc(struct pshm_chan *ch, uint64_t seq)
{
	struct pshm__chan_desc *d = pshm__chan_desc(ch, seq);
	__atomic_store_n(&d->len, PSHM__CHAN_VOID, __ATOMIC_RELAXED);
	__atomic_store_n(&d->pos, PSHM__CHAN_POS_INLINE, __ATOMIC_RELAXED);
	__atomic_store_n(&d->seq, seq + 1, __ATOMIC_RELEASE);
}

int pshm__chan_many_reserve(struct pshm_chan *ch, size_t len, void **bufp, int timeout_ms)
{
	if (!ch || !bufp || ch->role != PSHM__ROLE_MANY || ch->reserved)
		return -EINVAL;
	if (len > ch->maxmsg)
		return -EMSGSIZE;
	int r = ch->bcast ? pshm__chan_mbcast_claim(ch, len, timeout_ms, bufp)
	                  : claim(ch, len, timeout_ms, bufp);
	if (r)
		return r;
	ch->reserved = true;
	ch->res_len = len;
	return 0;
}

int pshm__chan_many_commit(struct pshm_chan *ch, size_t len)
{
	if (!ch || ch->role != PSHM__ROLE_MANY || !ch->reserved || len > ch->res_len)
		return -EINVAL;
	ch->reserved = false;
	if (ch->bcast)
		pshm__chan_mbcast_publish(ch, len);
	else
		publish(ch, len);
	return pshm__chan_dead(ch) ? PSHM_ETRUNCATED : 0;
}

/* pshm__chan_many_send() past its checks, where its own path found no room or is not for it. */
__attribute__((noinline)) static int send_slow(struct pshm_chan *ch, const void *buf, size_t len,
                                               int timeout_ms)
{
	void *p = NULL;
	int r = __builtin_expect(ch->bcast, 0) ? pshm__chan_mbcast_claim(ch, len, timeout_ms, &p)
	                                       : claim(ch, len, timeout_ms, &p);
	if (r)
		return r;
	if (len)
		memcpy(p, buf, len);
	if (__builtin_expect(ch->bcast, 0))
		pshm__chan_mbcast_publish(ch, len);
	else
		publish(ch, len);
	return pshm__chan_dead(ch) ? PSHM_ETRUNCATED : 0;
}

/* Copy LEN bytes of BUF into the message claimed, and publish it. */
HOT int send_claimed(struct pshm_chan *ch, const void *buf, size_t len)
{
	if (len)
		memcpy(claimed_buf(ch), buf, len);
	publish(ch, len);
	return pshm__chan_dead(ch) ? PSHM_ETRUNCATED : 0;
}

/* A queue writer among others: one compare-and-swap, or send_slow() for a wait. */
__attribute__((noinline)) static int send_shared(struct pshm_chan *ch, const void *buf, size_t len,
                                                 int timeout_ms)
{
	int r = claim_shared(ch, len);
	if (__builtin_expect(r == 0, 1))
		return send_claimed(ch, buf, len);
	return r == -EAGAIN ? send_slow(ch, buf, len, timeout_ms) : pshm__chan_failed(ch, r);
}

/*
 * A queue writer alone, alone at its last claim too, claims as claim_again() does, inlined here
 * with the copy and the publication into a function that keeps little on its stack: each store
 * to it would queue behind those to the lines the reader holds. One among others takes
 * send_shared(), anything else (a wait, broadcast) send_slow().
 */
int pshm__chan_many_send(struct pshm_chan *ch, const void *buf, size_t len, int timeout_ms)
{
	if (!ch || (!buf && len) || ch->role != PSHM__ROLE_MANY || ch->reserved)
		return -EINVAL;
	if (len > ch->maxmsg)
		return -EMSGSIZE;
	struct pshm__chan_hdr *h = ch->h;
	int r = -EAGAIN;
	if (__builtin_expect(ch->bcast, 0)) {
		/* send_slow() */
	} else if (atomic_load_explicit(&h->writers_in, memory_order_relaxed) != 1) {
		return send_shared(ch, buf, len, timeout_ms);
	} else if (ch->own_alone && pshm__chan_asym) {
		_Atomic uint32_t *in = &h->wslot[ch->slot].alone;
		atomic_store_explicit(in, 1, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		bool alone = atomic_load_explicit(&h->writers_in, memory_order_relaxed) == 1 &&
		             !atomic_load_explicit(&h->never_alone, memory_order_relaxed);
		r = alone ? claim_again(ch, len) : -EAGAIN;
		atomic_store_explicit(in, 0, memory_order_release);
	}
	if (__builtin_expect(r != 0, 0))
		return send_slow(ch, buf, len, timeout_ms);
	return send_claimed(ch, buf, len);
}

/*
 * This writer has counted itself: make sure no other writer claims without compare-and-swap
 * from now on (see try_claim). 0, or -EAGAIN when a live writer stayed inside such a claim, a
 * few instructions long, for a whole second (stopped, or scribbling on the header).
 */
static int no_one_alone(struct pshm_chan *ch)
{
	return wait_out(ch, 0, PSHM_CHAN_MAX_WRITERS);
}

int pshm__chan_many_attach(struct pshm_chan *ch, int i)
{
	struct pshm__chan_hdr *h = ch->h;
	struct pshm__chan_wslot *w = &h->wslot[i];

	ch->slot = i;
	ch->role = PSHM__ROLE_MANY;
	ch->own = 0;
	ch->own_alone = ch->held = ch->want_hold = false;
	ch->streak = 0;
	ch->need = PSHM__CHAN_HOLD_STREAK;
	ch->hold_claims = 0;
	if (ch->bcast ? pshm__chan_mbcast_attach(ch) != 0
	              : pshm__chan_many_check(
	                    ch, atomic_load_explicit(&h->received, memory_order_acquire),
	                    atomic_load_explicit(&h->tail, memory_order_relaxed)))
		return -EBADMSG;
	pshm__chan_drop_mark(&h->space_waiters, &w->waiting);
	pshm__chan_drop_mark(&h->space_fenced, &w->fenced);
	/* A claim a dead holder of the slot left is dead now for everyone; so is its claim
	 * without compare-and-swap, if it died inside one. */
	atomic_store_explicit(&w->pending, 0, memory_order_release);
	atomic_store_explicit(&w->alone, 0, memory_order_release);
	let_go(ch); /* a dead holder of the slot claims nothing more */
	/* A holder that died attached was counted, and its count is this one's now. */
	bool inherit = atomic_load_explicit(&w->state, memory_order_acquire) == PSHM__ST_ATTACHED;
	ch->many_sent = atomic_load_explicit(&w->sent, memory_order_relaxed);
	ch->recv_seen = atomic_load_explicit(&h->received, memory_order_acquire);
	ch->tail_seen = atomic_load_explicit(&h->tail, memory_order_relaxed);
	/* Each message takes at most the ring's length of the data positions. */
	ch->span = (1ull << 31) / ch->cap > 1 ? (1ull << 31) / ch->cap - 1 : 1;
	ch->bytes = atomic_load_explicit(&w->bytes, memory_order_relaxed);
	/* As the one writer of a queue does: a reader that left before it came is none. */
	uint32_t gone = PSHM__ST_DETACHED;
	if (!ch->bcast)
		atomic_compare_exchange_strong_explicit(&h->reader_state, &gone, PSHM__ST_NONE,
		                                        memory_order_acq_rel, memory_order_relaxed);
	if (!inherit)
		atomic_fetch_add_explicit(&h->writers_in, 1, memory_order_seq_cst);
	ch->counted = true;
	/* A broadcast channel's writers claim under a lock, never alone. */
	int r = ch->bcast ? 0 : no_one_alone(ch);
	if (r) {
		atomic_fetch_sub_explicit(&h->writers_in, 1, memory_order_relaxed);
		ch->counted = false;
		return r;
	}
	atomic_store_explicit(&w->state, PSHM__ST_ATTACHED, memory_order_release);
	atomic_store_explicit(&h->writer_state, PSHM__ST_ATTACHED, memory_order_release);
	return 0;
}

void pshm__chan_many_detach(struct pshm_chan *ch, uint32_t state)
{
	struct pshm__chan_hdr *h = ch->h;
	struct pshm__chan_wslot *w = &h->wslot[ch->slot];

	if (ch->reserved && ch->bcast)
		pshm__chan_mbcast_give_up(ch);
	else if (ch->reserved)
		void_desc(ch, ch->seq);
	atomic_store_explicit(&w->pending, 0, memory_order_release);
	if (!ch->bcast)
		let_go(ch);
	atomic_store_explicit(&w->state, state, memory_order_release);
	if (ch->counted)
		atomic_fetch_sub_explicit(&h->writers_in, 1, memory_order_release);
	/* The channel's writer state, which sleeping readers watch: attached while another
	 * writer is (the readers' probes tell the live from the dead). */
	bool others = false;
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS && !others; i++)
		others = i != ch->slot &&
		         atomic_load_explicit(&h->wslot[i].state, memory_order_acquire) ==
		             PSHM__ST_ATTACHED;
	if (!others)
		atomic_store_explicit(&h->writer_state, state, memory_order_release);
	pshm__chan_wake(ch, &h->data_futex);
}

/*
 * The writers' state as one: PSHM__ST_ATTACHED while one lives, else how they ended (a death
 * before an abort before a clean detach), PSHM__ST_NONE when none came yet, or -errno. A slot
 * marked attached is probed only when PROBE; otherwise it counts as alive.
 */
static int writers_state(const struct pshm__chan_hdr *h, int dirfd, int objfd, bool probe,
                         int *live)
{
	bool died = false, aborted = false, detached = false;

	*live = 0;
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++) {
		const struct pshm__chan_wslot *w = &h->wslot[i];
		uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
		if (s == PSHM__ST_ATTACHED) {
			if (!probe) {
				++*live;
				continue;
			}
			int r = pshm__chan_role_state(dirfd, objfd, PSHM__LOCK_WSLOT(i), &w->state,
			                              &w->live, NULL);
			if (r < 0)
				return r;
			s = (uint32_t)r;
		}
		if (s == PSHM__ST_ATTACHED)
			++*live;
		else if (s == PSHM__ST_DIED)
			died = true;
		else if (s == PSHM__ST_ABORTED)
			aborted = true;
		else if (s == PSHM__ST_DETACHED)
			detached = true;
		else if (s != PSHM__ST_NONE)
			return -EBADMSG;
	}
	return *live      ? PSHM__ST_ATTACHED
	       : died     ? PSHM__ST_DIED
	       : aborted  ? PSHM__ST_ABORTED
	       : detached ? PSHM__ST_DETACHED
	                  : PSHM__ST_NONE;
}

int pshm__chan_many_state(const struct pshm__chan_hdr *h, int dirfd, int objfd, int *live)
{
	return writers_state(h, dirfd, objfd, true, live);
}

void pshm__chan_many_counts(const struct pshm__chan_hdr *h, uint64_t *sent, uint64_t *bytes)
{
	*sent = *bytes = 0;
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++) {
		*sent += atomic_load_explicit(&h->wslot[i].sent, memory_order_relaxed);
		*bytes += atomic_load_explicit(&h->wslot[i].bytes, memory_order_relaxed);
	}
}

/*
 * The reader waits for message ch->expect. When it was claimed and is not published, and no
 * live writer announces it, its writer died: mark it void. 0 (also while it waits for a live
 * writer), or -errno of a probe.
 */
static int dead_claim(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t e = ch->expect;
	struct pshm__chan_desc *d = pshm__chan_desc(ch, e);

	if (__atomic_load_n(&d->seq, __ATOMIC_ACQUIRE) == e + 1)
		return 0;
	uint64_t k = claim_seq(atomic_load_explicit(&h->claim, memory_order_acquire), e);
	if (k == e || k - e > ch->ndesc)
		return 0; /* not claimed yet (or nonsense, which the ring's checks report) */
	for (int i = 0; i < PSHM_CHAN_MAX_WRITERS; i++) {
		struct pshm__chan_wslot *w = &h->wslot[i];
		if (atomic_load_explicit(&w->pending, memory_order_acquire) != e + 1)
			continue;
		uint64_t id = atomic_load_explicit(&w->live, memory_order_acquire);
		int l = pshm__chan_alive(ch->dirfd, ch->fd, PSHM__LOCK_WSLOT(i), id, NULL);
		if (l)
			return l < 0 ? l : 0;
	}
	/* Published meanwhile, its writer on to its next claim: nothing to do. */
	if (__atomic_load_n(&d->seq, __ATOMIC_ACQUIRE) == e + 1)
		return 0;
	void_desc(ch, e);
	return 0;
}

int pshm__chan_many_peer(struct pshm_chan *ch)
{
	int live;

	if (pshm__chan_dead(ch))
		return PSHM_ETRUNCATED;
	uint64_t now = pshm__chan_now();
	bool probe = !ch->probe_ns || now - ch->probe_ns >= PSHM__CHAN_RECHECK;
	if (probe) {
		ch->probe_ns = now;
		if (pshm__chan_shrunk(ch))
			return PSHM_ETRUNCATED;
		int r = ch->bcast ? pshm__chan_mbcast_dead(ch) : dead_claim(ch);
		if (r < 0)
			return r;
	}
	int s = writers_state(ch->h, ch->dirfd, ch->fd, probe, &live);
	if (s < 0)
		return s;
	/* Once the end is seen, look at every call, as with one writer. */
	if (s != PSHM__ST_ATTACHED && s != PSHM__ST_NONE)
		ch->probe_ns = 0;
	return s == PSHM__ST_DIED       ? -ECONNRESET
	       : s == PSHM__ST_DETACHED ? -EPIPE
	       : s == PSHM__ST_ABORTED  ? -ECONNABORTED
	                                : 0;
}
