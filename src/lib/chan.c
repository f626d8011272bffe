/*
 * chan.c - message channels: opening and checking the object, attaching and detaching the
 * roles, and describing a channel from outside. Making one is chan_make.c, the ring itself
 * chan_ring.c; waiting and liveness are chan_wait.c. The layout is in chan.h.
 *
 * Everything in the shared header may be written by anyone who can open the object, so each
 * value is read once into a local and checked before it is used; the sizes that bound every
 * access (capacity, and through it the mask and the largest message) are read once at attach,
 * checked against the mapping, and never read from shared memory again.
 */
#include "chan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int pshm__chan_addr_check(const char *addr, struct pshm__addr *a)
{
	int r = pshm__addr_parse(addr, a);
	if (r)
		return r;
	return a->kind == PSHM_POSIX || a->kind == PSHM_FILE ? 0 : -EOPNOTSUPP;
}

/*
 * Open and map the channel at ADDR and check its header. A header without its magic may be
 * one still being made by pshm_chan_create(): look again for about 100 ms (the object is
 * opened afresh each time, since its size may still be growing), then give -EAGAIN. The
 * mapping is guarded (guard.c): a truncation sets *DEAD, and reads zeros instead of killing
 * the process.
 */
int pshm__chan_attach(const char *addr, bool rdonly, struct pshm_seg **segp,
                      struct pshm__chan_hdr **hp, uint64_t *capp, unsigned *modep,
                      _Atomic bool *dead)
{
	struct pshm_seg *seg;
	struct pshm__addr a;
	void *map;
	size_t len;
	int r = pshm__chan_addr_check(addr, &a);

	if (r)
		return r;
	for (int tries = 0;; tries++) {
		r = pshm_open(&seg, addr, rdonly ? PSHM_RDONLY : 0);
		if (r)
			return r;
		r = pshm__map(seg, PSHM_MAP_GUARD, &map, &len, dead);
		if (r)
			break;
		if (len >= PSHM__CHAN_HDR) {
			struct pshm__chan_hdr *h = map;
			uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
			if (magic == PSHM__CHAN_MAGIC)
				break;
			if (magic != 0) {
				r = -EBADMSG;
				break;
			}
		} else if (len >= sizeof(uint64_t) &&
		           atomic_load_explicit((_Atomic uint64_t *)map, memory_order_relaxed) ==
		               PSHM__CHAN_MAGIC) {
			/* The magic is stored once the object has its full size: one shorter
			 * than a header with it was truncated. */
			r = PSHM_ETRUNCATED;
			break;
		}
		pshm_close(seg);
		if (tries >= 50)
			return -EAGAIN;
		nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
	}
	if (r) {
		pshm_close(seg);
		return r;
	}

	struct pshm__chan_hdr *h = map;
	uint64_t cap = h->capacity;
	uint32_t mode = h->mode;
	bool sound =
	    h->version == PSHM__CHAN_VERSION &&
	    (mode == PSHM__MODE_QUEUE || mode == PSHM__MODE_BCAST || mode == PSHM__MODE_LOSSLESS ||
	     mode == PSHM__MODE_MANY || mode == PSHM__MODE_MANY_BCAST) &&
	    cap >= PSHM__CHAN_MIN_CAP && cap <= PSHM__CHAN_MAX_CAP && !(cap & (cap - 1)) &&
	    h->ndesc == cap / 32 && h->data_offset == pshm__chan_size(cap) - cap &&
	    h->align == PSHM__CHAN_ALIGN;
	/* Longer is a channel of huge pages, its object rounded up to their size. */
	if (!sound || len < pshm__chan_size(cap)) {
		/* A sound header in an object too short for it: a channel that was truncated. */
		bool cut = atomic_load(dead) || (sound && len < pshm__chan_size(cap));
		pshm_close(seg);
		return cut ? PSHM_ETRUNCATED : -EBADMSG;
	}
	*segp = seg;
	*hp = h;
	*capp = cap;
	*modep = mode;
	return 0;
}

/* Undo a count that a role's mark says it made: one a dead holder may have left behind. */
void pshm__chan_drop_mark(_Atomic uint32_t *count, _Atomic uint32_t *mine)
{
	if (!atomic_exchange_explicit(mine, 0, memory_order_relaxed))
		return;
	uint32_t n = atomic_load_explicit(count, memory_order_relaxed);
	while (n && !atomic_compare_exchange_weak_explicit(count, &n, n - 1, memory_order_relaxed,
	                                                   memory_order_relaxed))
		;
}

/*
 * A writer that died between publishing a descriptor and storing sent and head published a
 * message that a reader may already have read. Count it (and any such after it: there is at
 * most one) as the commit would have.
 */
static int recover(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	bool moved = false;

	for (uint64_t n = 0; n < ch->ndesc; n++) {
		struct pshm__chan_desc *d = pshm__chan_desc(ch, ch->seq);
		if (__atomic_load_n(&d->seq, __ATOMIC_ACQUIRE) != ch->seq + 1)
			break;
		uint32_t len = __atomic_load_n(&d->len, __ATOMIC_RELAXED);
		uint64_t pos = __atomic_load_n(&d->pos, __ATOMIC_RELAXED);
		if (len > ch->maxmsg)
			return -EBADMSG;
		if (pos != PSHM__CHAN_POS_INLINE) {
			if (pos != pshm__chan_place(ch, ch->head, 0) &&
			    pos != ch->head + (ch->cap - (ch->head & ch->mask)))
				return -EBADMSG;
			if (pos % PSHM__CHAN_ALIGN ||
			    pshm__chan_align8(len) > ch->cap - (pos & ch->mask))
				return -EBADMSG;
			ch->head = pos + pshm__chan_align8(len);
		} else if (len > PSHM__CHAN_INLINE) {
			return -EBADMSG;
		}
		ch->seq++;
		ch->bytes += len;
		moved = true;
	}
	if (moved) {
		atomic_store_explicit(&h->sent, ch->seq, memory_order_relaxed);
		atomic_store_explicit(&h->bytes, ch->bytes, memory_order_relaxed);
		atomic_store_explicit(&h->head, ch->head, memory_order_release);
	}
	return 0;
}

/*
 * A writer has attached: count it, and wake the readers that sleep, among them following ones
 * waiting for a writer after the last one's end. The count and the state were stored before
 * the look at the waiters, and a sleeper counts itself before it looks at the state: one of
 * the two sees the other.
 */
void pshm__chan_writer_came(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	atomic_fetch_add_explicit(&h->attaches, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&h->data_waiters, memory_order_seq_cst))
		pshm__chan_wake(ch, &h->data_futex);
}

static int writer_attach(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;

	ch->head = atomic_load_explicit(&h->head, memory_order_acquire);
	ch->seq = atomic_load_explicit(&h->sent, memory_order_relaxed);
	ch->bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
	if (ch->head % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	int r = recover(ch);
	if (r)
		return r;
	if (!ch->bcast) {
		uint64_t recv = atomic_load_explicit(&h->received, memory_order_acquire);
		uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
		if (ch->seq - recv > ch->ndesc || ch->head - tail > ch->cap)
			return -EBADMSG;
		ch->recv_seen = recv;
		ch->tail_seen = tail;
		/* A reader that detached before this writer came is no reader of its: like no
		 * reader yet, the writer fills the ring and then waits for the next one, rather
		 * than hearing -EPIPE at its first message. */
		uint32_t gone = PSHM__ST_DETACHED;
		atomic_compare_exchange_strong_explicit(&h->reader_state, &gone, PSHM__ST_NONE,
		                                        memory_order_acq_rel, memory_order_relaxed);
	} else {
		uint64_t o = atomic_load_explicit(&h->oldest, memory_order_relaxed);
		uint64_t op = atomic_load_explicit(&h->oldest_pos, memory_order_relaxed);
		uint64_t w = atomic_load_explicit(&h->wend, memory_order_relaxed);
		if (ch->seq - o > ch->ndesc || ch->head - op > ch->cap || w - ch->head > ch->cap ||
		    op % PSHM__CHAN_ALIGN)
			return -EBADMSG;
		ch->oldest = o;
		ch->oldest_pos = op;
		ch->wend = w;
		/* Lossless: the first drop looks at every reader (chan_hold.c). */
		ch->hold = o;
		ch->readers = UINT64_MAX;
		ch->joins = atomic_load_explicit(&h->joins, memory_order_acquire);
	}
	pshm__chan_drop_mark(&h->space_waiters, &h->writer_waiting);
	pshm__chan_drop_mark(&h->space_fenced, &h->writer_fenced);
	atomic_store_explicit(&h->writer_state, PSHM__ST_ATTACHED, memory_order_release);
	pshm__chan_writer_came(ch); /* readers' pollers too: a writer to watch now */
	return 0;
}

static int reader_attach(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t recv = atomic_load_explicit(&h->received, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	uint64_t sent = atomic_load_explicit(&h->sent, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);

	/* The last reader may be one message ahead of sent and head: the writer stores them
	 * after the descriptor (or died between the two). Many writers keep their claim word
	 * instead. */
	if (ch->many
	        ? pshm__chan_many_check(ch, recv, tail) != 0
	        : (sent - recv > ch->ndesc && recv - sent > 1) ||
	              (head - tail > ch->cap && tail - head > ch->cap) || tail % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	pshm__chan_drop_mark(&h->data_waiters, &h->reader_waiting);
	pshm__chan_drop_mark(&h->data_fenced, &h->reader_fenced);
	ch->expect = ch->received = recv;
	ch->cur = tail;
	/* A reader that died between storing its tail and its count left the tail at the end of
	 * the message it had not counted: that message, still published, is read again, from
	 * where it starts. */
	struct pshm__chan_desc *d = pshm__chan_desc(ch, recv);
	uint64_t pos = __atomic_load_n(&d->pos, __ATOMIC_RELAXED);
	if (__atomic_load_n(&d->seq, __ATOMIC_ACQUIRE) == recv + 1 &&
	    pos != PSHM__CHAN_POS_INLINE &&
	    pos + pshm__chan_align8(__atomic_load_n(&d->len, __ATOMIC_RELAXED)) == tail)
		ch->cur = pos;
	atomic_store_explicit(&h->reader_state, PSHM__ST_ATTACHED, memory_order_release);
	pshm__chan_poll_wake(ch, true); /* the writer's poller: a reader to watch now */
	return 0;
}

/*
 * Start at the next message the writer will publish or, with PSHM_CHAN_FROM_OLDEST, at the
 * oldest one still intact. In a lossless channel the writer must learn of the new cursor before
 * it drops that message (pshm__chan_join).
 */
static int slot_attach(struct pshm_chan *ch, int i, unsigned flags)
{
	struct pshm__chan_hdr *h = ch->h;
	struct pshm__chan_slot *s = &h->slot[i];

	pshm__chan_drop_mark(&h->data_waiters, &s->waiting);
	pshm__chan_drop_mark(&h->data_fenced, &s->fenced);
	ch->slot = i;
	/* Oldest first: the sent read after it is at least as far, unless the header lies. */
	uint64_t o = atomic_load_explicit(&h->oldest, memory_order_acquire);
	uint64_t op = atomic_load_explicit(&h->oldest_pos, memory_order_relaxed);
	ch->expect = atomic_load_explicit(&h->sent, memory_order_acquire);
	ch->cur = atomic_load_explicit(&h->head, memory_order_relaxed);
	/* A message no longer intact by the time it is read gives -EOVERFLOW, as any overrun. */
	if ((flags & PSHM_CHAN_FROM_OLDEST) && ch->expect - o <= ch->ndesc) {
		ch->expect = o;
		if (ch->cur - op <= ch->cap)
			ch->cur = op; /* only where the reader looks first: it is masked */
	}
	ch->received = atomic_load_explicit(&s->received, memory_order_relaxed);
	atomic_store_explicit(&s->cursor, ch->expect, memory_order_relaxed);
	atomic_store_explicit(&s->state, PSHM__ST_ATTACHED, memory_order_release);
	if (ch->lossless)
		ch->expect = pshm__chan_join(ch, s, ch->expect);
	return 0;
}

PSHM__API int pshm_chan_open(struct pshm_chan **chp, const char *addr, int role, unsigned flags)
{
	unsigned mode;
	int r;

	if (!chp || (role != PSHM_CHAN_WRITER && role != PSHM_CHAN_READER) ||
	    (flags & ~(unsigned)(PSHM_CHAN_FROM_OLDEST | PSHM_CHAN_FOLLOW)) ||
	    (flags && role != PSHM_CHAN_READER))
		return -EINVAL;
	struct pshm_chan *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->dirfd = ch->live_fd = ch->peer.fd = -1;
	pshm__chan_setup();
	r = pshm__chan_attach(addr, false, &ch->seg, &ch->h, &ch->cap, &mode, &ch->dead);
	if (r) {
		free(ch);
		return r;
	}
	ch->desc = (struct pshm__chan_desc *)((unsigned char *)ch->h + PSHM__CHAN_HDR);
	ch->data = (unsigned char *)ch->h + pshm__chan_size(ch->cap) - ch->cap;
	ch->mask = ch->cap - 1;
	ch->ndesc = ch->cap / 32;
	ch->dmask = ch->ndesc - 1;
	ch->bcast = mode & PSHM__MODE_BCAST;
	ch->lossless = mode == PSHM__MODE_LOSSLESS;
	ch->many = mode & PSHM__MODE_MANY;
	ch->blk = -1;
	ch->maxmsg = ch->cap / 2;
	ch->fd = pshm_fd(ch->seg);
	ch->role = role;
	ch->follow = flags & PSHM_CHAN_FOLLOW;
	ch->slot = -1;
	ch->spin_ns = PSHM__CHAN_SPIN;
	ch->slice_ns = PSHM__CHAN_SLICE;
	const char *slice = secure_getenv("PSHM_CHAN_SLICE_MS");
	if (slice && *slice) {
		char *end;
		errno = 0;
		unsigned long ms = strtoul(slice, &end, 10);
		if (!*end && !errno && ms >= 1 && ms <= 3600000)
			ch->slice_ns = ms * 1000000ull;
	}

	/* The role goes to the holder whose beacon id the header's word holds (chan_live.c). */
	r = pshm__chan_live_init(ch);
	if (!r && role == PSHM_CHAN_WRITER && ch->many) {
		r = -EBUSY;
		for (int i = 0; i < PSHM_CHAN_MAX_WRITERS && r == -EBUSY; i++) {
			r = pshm__chan_claim(ch, &ch->h->wslot[i].live, PSHM__LOCK_WSLOT(i));
			if (!r && !(r = pshm__chan_many_attach(ch, i)))
				pshm__chan_writer_came(ch);
		}
	} else if (!r && role == PSHM_CHAN_WRITER) {
		r = pshm__chan_claim(ch, &ch->h->writer_live, PSHM__LOCK_WRITER);
		if (!r)
			r = writer_attach(ch);
	} else if (!r && !ch->bcast) {
		r = pshm__chan_claim(ch, &ch->h->reader_live, PSHM__LOCK_READER);
		if (!r)
			r = reader_attach(ch);
	} else if (!r) {
		r = -EBUSY;
		for (int i = 0; i < PSHM_CHAN_MAX_READERS && r == -EBUSY; i++) {
			r = pshm__chan_claim(ch, &ch->h->slot[i].live, PSHM__LOCK_SLOT(i));
			if (!r)
				r = slot_attach(ch, i, flags);
		}
	}
	if (pshm__chan_dead(ch))
		r = PSHM_ETRUNCATED;
	if (r) {
		/* The role's word goes back to none, and closing the descriptor lets any lock
		 * taken go; a dead holder this one took over stays dead in the state word. */
		pshm__chan_poll_end(ch);
		pshm__chan_live_end(ch);
		pshm_close(ch->seg);
		free(ch);
		return r;
	}
	*chp = ch;
	return 0;
}

/* Detach, leaving STATE in the role's word (a writer may leave "aborted"), and free CH. */
static int detach(struct pshm_chan *ch, uint32_t state)
{
	struct pshm__chan_hdr *h = ch->h;
	pshm__chan_unfence(ch);
	/* Mark the detach before the beacon (or the lock) goes, so that nobody who finds it
	 * gone takes this for a death; then wake whoever sleeps on us. */
	if (ch->many && pshm__chan_writer(ch)) {
		pshm__chan_many_detach(ch, state);
	} else if (ch->role == PSHM_CHAN_WRITER) {
		atomic_store_explicit(&h->writer_state, state, memory_order_release);
		pshm__chan_wake(ch, &h->data_futex);
	} else if (!ch->bcast) {
		atomic_store_explicit(&h->reader_state, PSHM__ST_DETACHED, memory_order_release);
		pshm__chan_wake(ch, &h->space_futex);
	} else {
		atomic_store_explicit(&h->slot[ch->slot].state, PSHM__ST_DETACHED,
		                      memory_order_release);
		/* A lossless writer may be waiting for this reader. */
		if (ch->lossless)
			pshm__chan_wake(ch, &h->space_futex);
	}
	pshm__chan_poll_end(ch);
	pshm__chan_live_end(ch);
	int r = pshm_close(ch->seg);
	free(ch);
	return r;
}

PSHM__API int pshm_chan_close(struct pshm_chan *ch)
{
	return ch ? detach(ch, PSHM__ST_DETACHED) : 0;
}

/* Readers hear the state once they have read everything; a reader has no stream to abort. */
PSHM__API int pshm_chan_abort(struct pshm_chan *ch)
{
	if (!ch)
		return 0;
	if (!pshm__chan_writer(ch))
		return -EINVAL;
	return detach(ch, PSHM__ST_ABORTED);
}

PSHM__API uint64_t pshm_chan_lost(const struct pshm_chan *ch)
{
	return ch ? ch->lost : 0;
}

PSHM__API int pshm_chan_set_spin(struct pshm_chan *ch, unsigned spin_ns)
{
	if (!ch || spin_ns > 1000000000u)
		return -EINVAL;
	ch->spin_ns = spin_ns;
	return 0;
}

/* The layout is part of the binary interface of libpshm.so.1: new members take reserved space. */
_Static_assert(sizeof(struct pshm_chan_stat) == 136, "struct pshm_chan_stat is 136 bytes");
_Static_assert(offsetof(struct pshm_chan_stat, reserved) == 72, "pshm_chan_stat.reserved at 72");

PSHM__API int pshm_chan_stat_addr(const char *addr, struct pshm_chan_stat *st)
{
	struct pshm_seg *seg;
	struct pshm__chan_hdr *h;
	uint64_t cap;
	unsigned mode;
	_Atomic bool dead = false;

	if (!st)
		return -EINVAL;
	int r = pshm__chan_attach(addr, true, &seg, &h, &cap, &mode, &dead);
	if (r)
		return r;
	int fd = pshm_fd(seg), dirfd = -1;
	memset(st, 0, sizeof(*st));
	st->mode = mode == PSHM__MODE_QUEUE        ? PSHM_CHAN_QUEUE
	           : mode == PSHM__MODE_BCAST      ? PSHM_CHAN_BROADCAST
	           : mode == PSHM__MODE_MANY       ? PSHM_CHAN_QUEUE | PSHM_CHAN_MANY_WRITERS
	           : mode == PSHM__MODE_MANY_BCAST ? PSHM_CHAN_BROADCAST | PSHM_CHAN_MANY_WRITERS
	                                           : PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS;
	bool bcast = mode & PSHM__MODE_BCAST, many = mode & PSHM__MODE_MANY;
	st->capacity = cap;
	st->max_message = cap / 2;
	st->sent = atomic_load_explicit(&h->sent, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
	st->lost = atomic_load_explicit(&h->lost, memory_order_relaxed);
	/* In use: the data of the messages not yet read (queue) or still held (broadcast), and
	 * a descriptor for each. */
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
	uint64_t from = bcast ? atomic_load_explicit(&h->oldest_pos, memory_order_relaxed)
	                      : atomic_load_explicit(&h->tail, memory_order_relaxed);
	uint64_t first = bcast ? atomic_load_explicit(&h->oldest, memory_order_relaxed)
	                       : atomic_load_explicit(&h->received, memory_order_acquire);
	uint64_t data = head - from, count = st->sent - first;
	if (many)
		pshm__chan_many_counts(h, &st->sent, &st->bytes);
	if (many && !bcast) {
		/* Claimed and not read, of which some may still be being written. */
		pshm__chan_many_used(h, first, from, &count, &data);
		st->received = first - atomic_load_explicit(&h->skipped, memory_order_relaxed);
	}
	/* A queue reader may be a message ahead of the writer's counts for a moment. */
	if ((int64_t)data < 0 && -data <= cap)
		data = 0;
	if ((int64_t)count < 0 && -count <= 1)
		count = 0;
	if (data > cap || count > cap / 32)
		r = -EBADMSG;
	st->used = data + count * sizeof(struct pshm__chan_desc);

	if (!r)
		r = pshm__chan_dir(seg->path, fd, &dirfd);
	if (!r && many)
		r = pshm__chan_many_state(h, dirfd, fd, &st->writers);
	else if (!r)
		r = pshm__chan_role_state(dirfd, fd, PSHM__LOCK_WRITER, &h->writer_state,
		                          &h->writer_live, NULL);
	if (r >= 0) {
		st->writer = r;
		if (!many)
			st->writers = r == PSHM__ST_ATTACHED;
		r = 0;
	}
	if (!r && !bcast) {
		r = pshm__chan_role_state(dirfd, fd, PSHM__LOCK_READER, &h->reader_state,
		                          &h->reader_live, NULL);
		st->readers = r == PSHM__ST_ATTACHED;
		if (!many)
			st->received = atomic_load_explicit(&h->received, memory_order_relaxed);
	}
	for (int i = 0; bcast && r >= 0 && i < PSHM_CHAN_MAX_READERS; i++) {
		r = pshm__chan_role_state(dirfd, fd, PSHM__LOCK_SLOT(i), &h->slot[i].state,
		                          &h->slot[i].live, NULL);
		st->readers += r == PSHM__ST_ATTACHED;
		st->received += atomic_load_explicit(&h->slot[i].received, memory_order_relaxed);
	}
	if (atomic_load(&dead))
		r = PSHM_ETRUNCATED; /* what was read may be zeros */
	if (dirfd >= 0)
		pshm__close(dirfd);
	pshm_close(seg);
	return r < 0 ? r : 0;
}
