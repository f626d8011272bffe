/*
 * chan.c - message channels: making the object, attaching and detaching the roles, and
 * describing a channel from outside. The ring itself is chan_ring.c; waiting and liveness are
 * chan_wait.c. The layout is in chan.h.
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

/* Channels need a name another process can open and a descriptor to lock. */
static int chan_addr_check(const char *addr)
{
	struct pshm__addr a;
	int r = pshm__addr_parse(addr, &a);
	if (r)
		return r;
	return a.kind == PSHM_POSIX || a.kind == PSHM_FILE ? 0 : -EOPNOTSUPP;
}

/*
 * Open and map the channel at ADDR and check its header. A header without its magic may be
 * one still being made by pshm_chan_create(): look again for about 100 ms (the object is
 * opened afresh each time, since its size may still be growing), then give -EAGAIN.
 */
static int chan_attach(const char *addr, bool rdonly, struct pshm_seg **segp,
                       struct pshm__chan_hdr **hp, uint64_t *capp, unsigned *modep)
{
	struct pshm_seg *seg;
	void *map;
	size_t len;
	int r = chan_addr_check(addr);

	if (r)
		return r;
	for (int tries = 0;; tries++) {
		r = pshm_open(&seg, addr, rdonly ? PSHM_RDONLY : 0);
		if (r)
			return r;
		r = pshm_map(seg, 0, &map, &len);
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
	if (h->version != PSHM__CHAN_VERSION || mode > 1 || cap < PSHM__CHAN_MIN_CAP ||
	    cap > PSHM__CHAN_MAX_CAP || (cap & (cap - 1)) || h->data_offset != PSHM__CHAN_HDR ||
	    h->align != PSHM__CHAN_ALIGN || len != PSHM__CHAN_HDR + cap) {
		pshm_close(seg);
		return -EBADMSG;
	}
	*segp = seg;
	*hp = h;
	*capp = cap;
	*modep = mode;
	return 0;
}

PSHM__API int pshm_chan_create(const char *addr, uint64_t capacity, mode_t mode, unsigned flags)
{
	struct pshm_seg *seg;
	struct pshm__chan_hdr *h;
	unsigned want = flags & PSHM_CHAN_BROADCAST ? 1 : 0, have;
	uint64_t cap = PSHM__CHAN_MIN_CAP;
	void *map;
	size_t len;

	if (flags & ~(unsigned)(PSHM_CHAN_BROADCAST | PSHM_OPEN_OR_CREATE))
		return -EINVAL;
	if (capacity > PSHM__CHAN_MAX_CAP)
		return -EINVAL;
	int r = chan_addr_check(addr);
	if (r)
		return r;
	while (cap < capacity)
		cap <<= 1;

	/* Exclusive even with PSHM_OPEN_OR_CREATE: pshm_create() would grow an existing
	 * object to the size asked for, which would break a channel of another capacity. */
	r = pshm_create(&seg, addr, PSHM__CHAN_HDR + cap, mode, 0);
	if (r == -EEXIST && (flags & PSHM_OPEN_OR_CREATE)) {
		r = chan_attach(addr, true, &seg, &h, &cap, &have);
		if (r)
			return r;
		pshm_close(seg);
		return have == want ? 0 : -EEXIST;
	}
	if (r)
		return r;
	r = pshm_map(seg, 0, &map, &len);
	if (!r && len != PSHM__CHAN_HDR + cap)
		r = -EIO;
	if (r) {
		pshm_destroy(seg);
		pshm_close(seg);
		return r;
	}
	/* The new object reads as zeros: counters, positions, states and the stamp of the
	 * first message (sequence 0, at position 0) are already right. */
	h = map;
	h->version = PSHM__CHAN_VERSION;
	h->mode = want;
	h->capacity = cap;
	h->data_offset = PSHM__CHAN_HDR;
	h->align = PSHM__CHAN_ALIGN;
	h->max_readers = want ? PSHM_CHAN_MAX_READERS : 1;
	atomic_store_explicit(&h->magic, PSHM__CHAN_MAGIC, memory_order_release);
	return pshm_close(seg);
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
 * Queue: a writer that died between a record's flags and the store of head published a record
 * that a reader may already have read past, going by its header. Take head past it (and past
 * a padding record before it), as the commit would have; at most a padding record and a
 * message can be in that state, since the stamp after them has flags 0.
 */
static uint64_t queue_recover(struct pshm_chan *ch, uint64_t head)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t p = head, moved = head;

	for (int n = 0; n < 2; n++) {
		p = pshm__chan_start(ch, p);
		uint64_t room = ch->cap - (p & ch->mask);
		struct pshm__chan_rec *r = pshm__chan_recat(ch, p);
		uint32_t flags = __atomic_load_n(&r->flags, __ATOMIC_ACQUIRE);
		uint32_t len = __atomic_load_n(&r->len, __ATOMIC_RELAXED);
		uint64_t seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
		if (seq != ch->seq)
			break;
		if (flags == PSHM__REC_PAD && len == room - PSHM__CHAN_RECHDR) {
			p += room;
			moved = p;
			continue;
		}
		if (flags == PSHM__REC_MSG && len <= ch->maxmsg &&
		    pshm__chan_recsize(len) <= room) {
			moved = p + pshm__chan_recsize(len);
			ch->seq++;
			ch->bytes += len;
		}
		break;
	}
	if (moved != head) {
		atomic_store_explicit(&h->sent, ch->seq, memory_order_relaxed);
		atomic_store_explicit(&h->bytes, ch->bytes, memory_order_relaxed);
		atomic_store_explicit(&h->head, moved, memory_order_release);
	}
	return moved;
}

static int writer_attach(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);

	if (head % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	ch->bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
	if (!ch->bcast) {
		uint64_t tail = atomic_load_explicit(&h->tail, memory_order_acquire);
		ch->seq = atomic_load_explicit(&h->sent, memory_order_relaxed);
		head = queue_recover(ch, head);
		if (head - tail > ch->cap)
			return -EBADMSG;
		ch->tail_seen = tail;
		/* A reader that detached before this writer came is no reader of its: like no
		 * reader yet, the writer fills the ring and then waits for the next one, rather
		 * than hearing -EPIPE at its first message. */
		uint32_t gone = PSHM__ST_DETACHED;
		atomic_compare_exchange_strong_explicit(&h->reader_state, &gone, PSHM__ST_NONE,
		                                        memory_order_acq_rel, memory_order_relaxed);
	} else {
		uint64_t o = atomic_load_explicit(&h->oldest, memory_order_relaxed);
		uint64_t w = atomic_load_explicit(&h->wend, memory_order_relaxed);
		if (head - o > ch->cap || o % PSHM__CHAN_ALIGN || w - head > ch->cap)
			return -EBADMSG;
		ch->oldest = o;
		ch->wend = w;
		/* A writer that died left the stamp (or the header of what it was writing, which
		 * carries the same number) at head: the next message continues from there. */
		struct pshm__chan_rec *rec = pshm__chan_recat(ch, pshm__chan_start(ch, head));
		ch->seq = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
	}
	pshm__chan_drop_mark(&h->space_waiters, &h->writer_waiting);
	pshm__chan_drop_mark(&h->space_fenced, &h->writer_fenced);
	ch->head = head;
	atomic_store_explicit(&h->writer_state, PSHM__ST_ATTACHED, memory_order_release);
	return 0;
}

static int reader_attach(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	uint64_t tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);

	/* The last reader may have read past head, going by a record's header: the writer
	 * stores head after the record's flags (or died between the two). */
	if ((head - tail > ch->cap && tail - head > ch->cap) || tail % PSHM__CHAN_ALIGN)
		return -EBADMSG;
	pshm__chan_drop_mark(&h->data_waiters, &h->reader_waiting);
	pshm__chan_drop_mark(&h->data_fenced, &h->reader_fenced);
	ch->cur = ch->head_seen = tail;
	ch->received = atomic_load_explicit(&h->received, memory_order_relaxed);
	/* Only a hint for the look at the record's header (see next() in chan_ring.c). */
	ch->expect = ch->received;
	atomic_store_explicit(&h->reader_state, PSHM__ST_ATTACHED, memory_order_release);
	return 0;
}

/* Start at head, reading the number the writer stamped there, unless it moved on meanwhile. */
static int slot_attach(struct pshm_chan *ch, int i)
{
	struct pshm__chan_hdr *h = ch->h;
	struct pshm__chan_slot *s = &h->slot[i];

	for (int tries = 0; tries < 1000; tries++) {
		uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
		if (head % PSHM__CHAN_ALIGN)
			return -EBADMSG;
		uint64_t p = pshm__chan_start(ch, head);
		uint64_t seq = __atomic_load_n(&pshm__chan_recat(ch, p)->seq, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
		uint64_t w = atomic_load_explicit(&h->wend, memory_order_acquire);
		if ((int64_t)(w - head) < 0)
			return -EBADMSG;
		if (w - p > ch->cap)
			continue;
		pshm__chan_drop_mark(&h->data_waiters, &s->waiting);
		pshm__chan_drop_mark(&h->data_fenced, &s->fenced);
		ch->slot = i;
		ch->cur = ch->head_seen = head;
		ch->expect = seq;
		ch->received = atomic_load_explicit(&s->received, memory_order_relaxed);
		atomic_store_explicit(&s->cursor, head, memory_order_relaxed);
		atomic_store_explicit(&s->state, PSHM__ST_ATTACHED, memory_order_release);
		return 0;
	}
	return -EAGAIN;
}

PSHM__API int pshm_chan_open(struct pshm_chan **chp, const char *addr, int role, unsigned flags)
{
	unsigned mode;
	int r;

	if (!chp || flags || (role != PSHM_CHAN_WRITER && role != PSHM_CHAN_READER))
		return -EINVAL;
	struct pshm_chan *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	pshm__chan_setup();
	r = chan_attach(addr, false, &ch->seg, &ch->h, &ch->cap, &mode);
	if (r) {
		free(ch);
		return r;
	}
	ch->ring = (unsigned char *)ch->h + PSHM__CHAN_HDR;
	ch->mask = ch->cap - 1;
	ch->bcast = mode == 1;
	/* A record's header, and the stamp after it: see chan.h. */
	ch->maxmsg = ch->cap / 2 - 2 * PSHM__CHAN_RECHDR;
	ch->fd = pshm_fd(ch->seg);
	ch->role = role;
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

	if (role == PSHM_CHAN_WRITER) {
		r = pshm__chan_lock(ch->fd, PSHM__LOCK_WRITER);
		if (!r)
			r = writer_attach(ch);
	} else if (!ch->bcast) {
		r = pshm__chan_lock(ch->fd, PSHM__LOCK_READER);
		if (!r)
			r = reader_attach(ch);
	} else {
		r = -EBUSY;
		for (int i = 0; i < PSHM_CHAN_MAX_READERS && r == -EBUSY; i++) {
			r = pshm__chan_lock(ch->fd, PSHM__LOCK_SLOT(i));
			if (!r)
				r = slot_attach(ch, i);
		}
	}
	if (r) {
		/* Closing the descriptor lets any lock taken go. */
		pshm_close(ch->seg);
		free(ch);
		return r;
	}
	*chp = ch;
	return 0;
}

PSHM__API int pshm_chan_close(struct pshm_chan *ch)
{
	if (!ch)
		return 0;
	struct pshm__chan_hdr *h = ch->h;
	pshm__chan_unfence(ch);
	/* Mark the clean detach before the lock goes (closing the descriptor), so that nobody
	 * who finds the lock gone takes this for a death; then wake whoever sleeps on us. */
	if (ch->role == PSHM_CHAN_WRITER) {
		atomic_store_explicit(&h->writer_state, PSHM__ST_DETACHED, memory_order_release);
		pshm__chan_wake(&h->data_futex);
	} else if (!ch->bcast) {
		atomic_store_explicit(&h->reader_state, PSHM__ST_DETACHED, memory_order_release);
		pshm__chan_wake(&h->space_futex);
	} else {
		atomic_store_explicit(&h->slot[ch->slot].state, PSHM__ST_DETACHED,
		                      memory_order_release);
	}
	int r = pshm_close(ch->seg);
	free(ch);
	return r;
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

PSHM__API int pshm_chan_stat(const char *addr, struct pshm_chan_stat *st)
{
	struct pshm_seg *seg;
	struct pshm__chan_hdr *h;
	uint64_t cap;
	unsigned mode;

	if (!st)
		return -EINVAL;
	int r = chan_attach(addr, true, &seg, &h, &cap, &mode);
	if (r)
		return r;
	int fd = pshm_fd(seg);
	memset(st, 0, sizeof(*st));
	st->mode = mode ? PSHM_CHAN_BROADCAST : 0;
	st->capacity = cap;
	st->max_message = cap / 2 - 2 * PSHM__CHAN_RECHDR;
	st->sent = atomic_load_explicit(&h->sent, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&h->bytes, memory_order_relaxed);
	st->lost = atomic_load_explicit(&h->lost, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
	uint64_t from = mode ? atomic_load_explicit(&h->oldest, memory_order_relaxed)
	                     : atomic_load_explicit(&h->tail, memory_order_relaxed);
	st->used = head - from;
	if (st->used > cap)
		r = -EBADMSG;

	if (!r)
		r = pshm__chan_role_state(fd, PSHM__LOCK_WRITER, &h->writer_state);
	if (r >= 0) {
		st->writer = r;
		r = 0;
	}
	if (!r && !mode) {
		r = pshm__chan_role_state(fd, PSHM__LOCK_READER, &h->reader_state);
		st->readers = r == PSHM__ST_ATTACHED;
		st->received = atomic_load_explicit(&h->received, memory_order_relaxed);
	}
	for (int i = 0; mode && r >= 0 && i < PSHM_CHAN_MAX_READERS; i++) {
		r = pshm__chan_role_state(fd, PSHM__LOCK_SLOT(i), &h->slot[i].state);
		st->readers += r == PSHM__ST_ATTACHED;
		st->received += atomic_load_explicit(&h->slot[i].received, memory_order_relaxed);
	}
	pshm_close(seg);
	return r < 0 ? r : 0;
}
