/*
 * chan_hold.c - lossless broadcast channels: which live reader holds the writer back, and how a
 * reader attaches without being overtaken (layout in chan.h, the ring in chan_ring.c).
 *
 * In a lossless broadcast channel the writer drops a message (moves oldest past it, after which
 * its descriptor and data may be overwritten) only once every live reader's cursor is past it.
 * It keeps the smallest cursor it saw (hold) and looks at the readers' slots again only when it
 * reaches it: about once per lap of the ring while they keep up, and then only at the slots
 * that held readers. A reader that detached has marked its slot (and woken the writer); one that
 * died holds the writer back until a probe of its beacon (chan_live.c) says so: the writer
 * probes the reader that holds it back at most every PSHM__CHAN_RECHECK while it waits, and
 * passes a dead one over at once.
 *
 * A reader that attaches must not be overtaken between choosing where to start and the moment
 * the writer sees its cursor. It publishes its cursor and state, bumps joins, and then reads
 * dropping, the writer's announcement of the first message it keeps; it starts at that message
 * when it is later than its own start. The writer stores dropping before it drops, then reads
 * joins, and looks at every slot before it drops when joins moved. Each side makes a barrier
 * between its store and its load: the attaching reader's reaches every CPU
 * (pshm__chan_fence_all), so that the writer's, made at every drop, is only a compiler barrier
 * where membarrier works. So either the writer sees the bump, and with it the cursor, or the
 * reader sees the announcement, and starts after what is dropped.
 *
 * Everything here is read from shared memory and may be garbage: cursors are clamped to the
 * messages the writer holds, slots are indices below PSHM_CHAN_MAX_READERS by construction, and
 * a loop over slots ends after a bounded number of turns whatever the words say.
 */
#include "chan.h"

/*
 * Does the holder of slot I, with beacon ID, hold the writer back? Not when it was found dead
 * under that id; a byte-lock holder (PSHM__LIVE_LOCK, the same id for every such holder) only
 * until the next look at every slot (FULL), which follows every reader's attach.
 */
static bool counted(struct pshm_chan *ch, int i, uint64_t id, bool full)
{
	if (id == PSHM__LIVE_NONE)
		return false; /* its holder died and was swept, or one is attaching (it bumps joins) */
	if (ch->gone[i] == PSHM__LIVE_NONE)
		return true;
	if (ch->gone[i] == id && !(full && id == PSHM__LIVE_LOCK))
		return false;
	ch->gone[i] = PSHM__LIVE_NONE; /* a new holder */
	return true;
}

void pshm__chan_hold_scan(struct pshm_chan *ch, uint64_t mask)
{
	struct pshm__chan_hdr *h = ch->h;
	const uint64_t o = ch->oldest, span = ch->seq - o;
	uint64_t hold = span, keep = 0;
	bool full = mask == UINT64_MAX;

	ch->blk = -1;
	for (; mask; mask &= mask - 1) {
		int i = __builtin_ctzll(mask);
		struct pshm__chan_slot *s = &h->slot[i];
		if (atomic_load_explicit(&s->state, memory_order_acquire) != PSHM__ST_ATTACHED)
			continue;
		if (!counted(ch, i, atomic_load_explicit(&s->live, memory_order_relaxed), full))
			continue;
		/* Acquire: what the reader read before it moved its cursor is read. */
		uint64_t c = atomic_load_explicit(&s->cursor, memory_order_acquire);
		keep |= 1ull << i;
		/* A cursor before oldest holds at oldest; one past the writer holds nothing. */
		uint64_t at = (int64_t)(c - o) < 0 ? 0 : c - o > span ? span : c - o;
		if (at < hold) {
			hold = at;
			ch->blk = i;
			ch->blk_cursor = c;
		}
	}
	ch->hold = o + hold;
	ch->readers = keep;
}

int pshm__chan_hold_joined(struct pshm_chan *ch, uint64_t joins, uint64_t o)
{
	ch->joins = joins;
	pshm__chan_hold_scan(ch, UINT64_MAX);
	return (int64_t)(ch->hold - o) >= 0 ? 0 : -EAGAIN;
}

int pshm__chan_hold_refresh(struct pshm_chan *ch, uint64_t o)
{
	struct pshm__chan_hdr *h = ch->h;

	/* Each turn passes over one more slot, or returns. */
	for (int turn = 0; turn <= 2 * PSHM_CHAN_MAX_READERS; turn++) {
		pshm__chan_hold_scan(ch, ch->readers);
		if ((int64_t)(ch->hold - o) > 0)
			return 0;
		uint64_t now = pshm__chan_now();
		if (ch->hold_probe_ns && now - ch->hold_probe_ns < PSHM__CHAN_RECHECK)
			return -EAGAIN;
		ch->hold_probe_ns = now;
		int i = ch->blk;
		struct pshm__chan_slot *s = &h->slot[i];
		uint64_t id = atomic_load_explicit(&s->live, memory_order_acquire);
		int r = pshm__chan_role_state(ch->dirfd, ch->fd, PSHM__LOCK_SLOT(i), &s->state,
		                              &s->live, &ch->peer);
		if (r < 0)
			return r;
		if (r == PSHM__ST_ATTACHED)
			return -EAGAIN;
		if (r == PSHM__ST_DIED)
			ch->gone[i] = id;
		/* Dead or gone: the next look passes it over, and probes the next one at once. */
		ch->hold_probe_ns = 0;
	}
	return -EAGAIN;
}

uint64_t pshm__chan_join(struct pshm_chan *ch, struct pshm__chan_slot *s, uint64_t start)
{
	struct pshm__chan_hdr *h = ch->h;

	atomic_fetch_add_explicit(&h->joins, 1, memory_order_seq_cst);
	pshm__chan_fence_all();
	/* Acquire, as the writer's store is release: the sent read next is at least as new. */
	uint64_t d = atomic_load_explicit(&h->dropping, memory_order_acquire);
	uint64_t sent = atomic_load_explicit(&h->sent, memory_order_acquire);
	if ((int64_t)(d - start) <= 0 || (int64_t)(sent - d) < 0)
		return start; /* nothing dropped past the start, or a value no writer stored */
	atomic_store_explicit(&s->cursor, d, memory_order_release);
	return d;
}
