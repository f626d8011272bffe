/*
 * chan_poll.c - pshm_chan_fd(): a descriptor that polls readable (poll, epoll, select) when a
 * channel's handle can make progress, across unrelated processes, at no cost to a channel that
 * nobody polls.
 *
 * The descriptor handed out is an epoll instance holding two of the handle's own: a FIFO, named
 * ".pshm-poll." and the handle's beacon id in 16 hex digits (chan_live.c) in the channel's
 * directory, made with mknodat when the descriptor is first asked for and opened read-write by
 * the handle; and a timerfd. A new descriptor polls readable, since the handle has not looked at
 * the ring yet. The pattern is: wait for it, then call with timeout 0 until -EAGAIN.
 *
 * Arming. A call with timeout 0 that finds nothing to do (wait_ready in chan_ring.c) arms the
 * descriptor, when the handle has one: it drains the FIFO, counts the role in the waiters word a
 * sleeper of its side counts itself in, stores its beacon id in the role's poll word (its arm),
 * makes the barrier a sleeper makes after counting itself (a fence, or a membarrier, as
 * chan_wait.c chooses), and looks at the ring and the peer once more. If it can progress now,
 * it takes its arm back and the call returns what it found; otherwise it sets the timer (below)
 * and the call gives -EAGAIN.
 *
 * Waking. A publisher calls pshm__chan_wake() only when the other side's waiters word is not
 * zero, so a channel nobody polls pays nothing on its fast paths. There, after the futex wake,
 * it takes each arm of the other side's pollers with an exchange, undoes the count that came
 * with it, and writes a byte into that poller's FIFO: a poller is signalled only while it waits,
 * and once, and a poller that is busy costs the publisher nothing, since its count went with its
 * arm. The poller's stores (the count, then the arm), its barrier and its look at the ring, and
 * the publisher's store, barrier and look at the count and the arm, are the handshake of a
 * sleeper: one of the two sees the other's store, so no wake-up is lost. Whoever takes an arm
 * (the poller itself, a waker, a new holder of the role) undoes its count: a count is left over
 * only when a poller dies between counting itself and arming, and then costs the publisher a
 * wake per message, never a lost wake-up. Broadcast readers' arms live in their slots; the bits
 * of slots_polled tell the writer which slots to look at, so a wake looks at the slots whose
 * readers armed rather than at all 64.
 *
 * The waker opens the FIFO named by the id it took, in the channel's directory (an id is all it
 * reads from the header; the name is the library's), checks that it is a FIFO, and keeps it
 * open while the same id comes back. It opens it read-write where it may (the FIFO's owner,
 * root): a pipe that it also reads never loses its last reader, so a write to it never raises
 * SIGPIPE. Anyone else opens it write-only and writes with SIGPIPE held off (pshm__write). A
 * full FIFO (EAGAIN) polls readable already. The FIFO is mode 0600, plus write for group and
 * others when the channel grants either of them write access: a stranger who writes it causes
 * spurious wake-ups, which the pattern absorbs, and nobody but its owner can read it, so nobody
 * can take a wake-up away.
 *
 * Deaths. A peer that dies sends nothing. While the peer may die (it is attached; for a lossless
 * writer, a reader holds it back) an arm also sets the timer to the handle's sleep slice, after
 * which the descriptor polls readable and the call that follows probes the peer's beacon
 * (chan_wait.c): -ECONNRESET, or an arm again. A role that attaches signals the other side's
 * pollers, so that one that armed without a peer to watch sets its timer now. A poller that dies
 * leaves its arm behind: the next waker takes it and finds no FIFO, or no reader. Its FIFO goes
 * with its beacon: the new holder of its role removes both, and so do pshm_gc() and
 * pshm_destroy_addr() (chan_live.c, gc.c), which also remove a FIFO whose id no header names and
 * whose beacon shows no lock.
 *
 * A handle without a beacon (PSHM__LIVE_LOCK: its directory does not let it make files) cannot
 * make a FIFO there either, and no other place is shared with unrelated processes:
 * pshm_chan_fd() gives -EOPNOTSUPP.
 */
#include "chan.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for a FIFO's name: the prefix, 16 hex digits and the NUL. */
#define NAME_ROOM 32

/* Bytes a drain reads at most: more than a pipe holds unless someone keeps writing it. */
#define DRAIN_MAX (256 * 1024)

/* A FIFO that a waker signals, kept open while the same id comes back. */
struct peer {
	uint64_t id; /* the id it was opened for, 0 for none */
	int fd;      /* -1 when that id's FIFO or its reader is gone */
	bool guard;  /* opened write-only: its writes hold SIGPIPE off */
};

struct pshm__chan_poll {
	int ep;             /* the descriptor handed out: an epoll instance; -1 until asked for */
	int fifo;           /* the handle's FIFO, read-write; -1 without one */
	int timer;          /* a timerfd, set at each arm while the peer may die */
	bool made;          /* the FIFO's name is the handle's, to remove */
	int npeers;         /* a broadcast writer's: a slot each; anyone else's: one */
	struct peer peer[]; /* the pollers it signals */
};

static void poll_name(char name[NAME_ROOM], uint64_t id)
{
	snprintf(name, NAME_ROOM, PSHM__POLL_PREFIX "%016" PRIx64, id);
}

/* The handle's state, made on first use; NULL when out of memory. */
static struct pshm__chan_poll *state(struct pshm_chan *ch)
{
	if (ch->poll)
		return ch->poll;
	/* A broadcast writer signals a reader per slot, a many-writer queue's reader a writer
	 * per slot. */
	int n = pshm__chan_writer(ch) && ch->bcast   ? PSHM_CHAN_MAX_READERS
	        : !pshm__chan_writer(ch) && ch->many ? PSHM_CHAN_MAX_WRITERS
	                                             : 1;
	struct pshm__chan_poll *p = calloc(1, sizeof(*p) + (size_t)n * sizeof(p->peer[0]));
	if (!p)
		return NULL;
	p->ep = p->fifo = p->timer = -1;
	p->npeers = n;
	for (int i = 0; i < n; i++)
		p->peer[i].fd = -1;
	ch->poll = p;
	return p;
}

/* The role's arm (a many-writer queue's writers have a bit each instead: see arm_many). */
static _Atomic uint64_t *arm_word(struct pshm_chan *ch)
{
	if (pshm__chan_writer(ch))
		return &ch->h->writer_poll;
	return ch->bcast ? &ch->h->slot[ch->slot].poll : &ch->h->reader_poll;
}

/* The waiters word the role's arm counts in. */
static _Atomic uint32_t *waiters_word(struct pshm_chan *ch)
{
	return pshm__chan_writer(ch) ? &ch->h->space_waiters : &ch->h->data_waiters;
}

/*
 * A many-writer queue's writer arms with its bit in wslots_polled: its id is its slot's beacon
 * word already. True when it was armed before (and so counted already).
 */
static bool arm_many(struct pshm_chan *ch, bool on)
{
	uint64_t bit = 1ull << ch->slot;
	_Atomic uint64_t *m = &ch->h->wslots_polled;
	uint64_t old = on ? atomic_fetch_or_explicit(m, bit, memory_order_acq_rel)
	                  : atomic_fetch_and_explicit(m, ~bit, memory_order_acq_rel);
	return old & bit;
}

/* Take a count out of WAITERS, never below zero (a header's writer may have made it up). */
static void uncount(_Atomic uint32_t *waiters)
{
	uint32_t n = atomic_load_explicit(waiters, memory_order_relaxed);
	while (n && !atomic_compare_exchange_weak_explicit(waiters, &n, n - 1, memory_order_relaxed,
	                                                   memory_order_relaxed))
		;
}

/* Take the handle's own arm back, with its count, unless a waker took it already. */
static void disarm(struct pshm_chan *ch)
{
	if (ch->many && pshm__chan_writer(ch)
	        ? arm_many(ch, false)
	        : atomic_exchange_explicit(arm_word(ch), 0, memory_order_relaxed))
		uncount(waiters_word(ch));
}

/*
 * Empty the FIFO, so that the descriptor no longer polls readable. A read that returns less
 * than it asked for emptied the pipe: one read, usually. 0 or -errno.
 */
static int drain(int fd)
{
	char buf[256];

	for (size_t got = 0; got < DRAIN_MAX;) {
		ssize_t n = pshm__read(fd, buf, sizeof(buf));
		if (n == -EAGAIN || (n >= 0 && (size_t)n < sizeof(buf)))
			return 0;
		if (n < 0)
			return (int)n;
		got += (size_t)n;
	}
	return 0;
}

/* May the peer this handle waits for die without a word? Then the timer watches it. */
static bool peer_may_die(struct pshm_chan *ch)
{
	const struct pshm__chan_hdr *h = ch->h;

	if (ch->role == PSHM_CHAN_READER)
		return atomic_load_explicit(&h->writer_state, memory_order_relaxed) ==
		       PSHM__ST_ATTACHED;
	if (!ch->bcast)
		return atomic_load_explicit(&h->reader_state, memory_order_relaxed) ==
		       PSHM__ST_ATTACHED;
	if (ch->many)
		return true; /* another writer's claim holds it back, and that writer may die */
	return ch->blk >= 0; /* lossless: a reader holds it back, and a probe may pass it over */
}

int pshm__chan_poll_arm(struct pshm_chan *ch, uint64_t arg,
                        int (*ready)(struct pshm_chan *, uint64_t))
{
	struct pshm__chan_poll *p = ch->poll;
	_Atomic uint32_t *waiters = waiters_word(ch);

	if (p->fifo < 0)
		return -EAGAIN; /* a handle that only signals others' FIFOs */
	int r = drain(p->fifo);
	if (r)
		return r;
	pshm__chan_sleep_choose(ch);
	/* The count first, then the arm: whoever takes the arm undoes the count. */
	atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
	if (ch->many && pshm__chan_writer(ch)
	        ? arm_many(ch, true)
	        : atomic_exchange_explicit(arm_word(ch), ch->live_id, memory_order_acq_rel) != 0)
		atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed); /* armed and counted */
	if (ch->bcast && ch->role == PSHM_CHAN_READER)
		atomic_fetch_or_explicit(&ch->h->slots_polled, 1ull << ch->slot,
		                         memory_order_release);
	if (ch->fenced)
		atomic_thread_fence(memory_order_seq_cst);
	else
		pshm__chan_fence_all();

	/* One more look, as wait_ready makes it: what is there first, then the peer's end. */
	r = ready(ch, arg);
	if (r == -EAGAIN) {
		int g = pshm__chan_peer(ch);
		if (g && (r = ready(ch, arg)) == -EAGAIN)
			r = g;
	}
	if (r == -EAGAIN) {
		int t = pshm__timerfd_set(p->timer, peer_may_die(ch) ? ch->slice_ns : 0);
		if (!t)
			return -EAGAIN;
		r = t;
	}
	disarm(ch);
	return r;
}

/*
 * Open the FIFO of poller ID in DIRFD to signal it: a descriptor (*GUARD set when it is
 * write-only), -ENOENT when nothing there is a FIFO, -ENXIO when it has no reader, or -errno.
 */
static int open_peer(int dirfd, uint64_t id, bool *guard)
{
	int flags = O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
	char name[NAME_ROOM];
	struct stat st;

	poll_name(name, id);
	*guard = false;
	int fd = pshm__openat(dirfd, name, O_RDWR | flags, 0);
	if (fd == -EACCES || fd == -EPERM) {
		*guard = true;
		fd = pshm__openat(dirfd, name, O_WRONLY | flags, 0);
	}
	if (fd == -ELOOP || fd == -EISDIR)
		return -ENOENT;
	if (fd < 0)
		return fd;
	int r = pshm__fstat(fd, &st);
	if (!r && !S_ISFIFO(st.st_mode))
		r = -ENOENT;
	if (r) {
		pshm__close(fd);
		return r;
	}
	return fd;
}

/* Write a byte into the FIFO of poller ID, the one of broadcast slot I (else 0). */
static void signal_fifo(struct pshm_chan *ch, int i, uint64_t id)
{
	struct pshm__chan_poll *p = state(ch);
	struct peer once = {.fd = -1}, *e = p && i < p->npeers ? &p->peer[i] : &once;

	if (e->id != id) {
		if (e->fd >= 0)
			pshm__close(e->fd);
		e->id = 0;
		e->fd = -1;
		int fd = open_peer(ch->dirfd, id, &e->guard);
		/* A poller that is gone stays gone under its id; other failures are tried again. */
		if (fd >= 0 || fd == -ENOENT || fd == -ENXIO) {
			e->id = id;
			e->fd = fd < 0 ? -1 : fd;
		}
	}
	/* EAGAIN: full, so readable already. EPIPE: its reader is gone. */
	if (e->fd >= 0 && pshm__write(e->fd, "", 1, e->guard) == -EPIPE) {
		pshm__close(e->fd);
		e->fd = -1;
	}
	if (e == &once && once.fd >= 0)
		pshm__close(once.fd);
}

/* Take the arm WORD, of broadcast slot I (else 0), counted in WAITERS, and signal its FIFO. */
static void take(struct pshm_chan *ch, _Atomic uint64_t *word, _Atomic uint32_t *waiters, int i)
{
	if (!atomic_load_explicit(word, memory_order_relaxed))
		return;
	uint64_t id = atomic_exchange_explicit(word, 0, memory_order_acq_rel);
	if (!id)
		return;
	uncount(waiters);
	signal_fifo(ch, i, id);
}

void pshm__chan_poll_wake(struct pshm_chan *ch, bool space)
{
	struct pshm__chan_hdr *h = ch->h;

	/* The store a poller waits for comes before the look at its arm. A publisher may have
	 * made only a compiler barrier; its peer's arm made a membarrier then. */
	atomic_thread_fence(memory_order_seq_cst);
	if (space && ch->many) {
		if (!atomic_load_explicit(&h->wslots_polled, memory_order_relaxed))
			return;
		uint64_t m = atomic_exchange_explicit(&h->wslots_polled, 0, memory_order_acq_rel);
		for (; m; m &= m - 1) {
			int i = __builtin_ctzll(m);
			uint64_t id = atomic_load_explicit(&h->wslot[i].live, memory_order_acquire);
			uncount(&h->space_waiters);
			if (id != PSHM__LIVE_NONE && id != PSHM__LIVE_LOCK)
				signal_fifo(ch, i, id);
		}
	} else if (space) {
		take(ch, &h->writer_poll, &h->space_waiters, 0);
	} else if (!ch->bcast) {
		take(ch, &h->reader_poll, &h->data_waiters, 0);
	} else if (atomic_load_explicit(&h->slots_polled, memory_order_relaxed)) {
		uint64_t m = atomic_exchange_explicit(&h->slots_polled, 0, memory_order_acq_rel);
		for (; m; m &= m - 1) {
			int i = __builtin_ctzll(m);
			take(ch, &h->slot[i].poll, &h->data_waiters, i);
		}
	}
}

/* Close the handle's descriptor, timer and FIFO, and remove the FIFO's name if it made it. */
static void unmake(struct pshm_chan *ch, struct pshm__chan_poll *p)
{
	if (p->made) {
		char name[NAME_ROOM];
		poll_name(name, ch->live_id);
		pshm__unlinkat(ch->dirfd, name);
		p->made = false;
	}
	int *fds[] = {&p->ep, &p->timer, &p->fifo};
	for (size_t k = 0; k < sizeof(fds) / sizeof(fds[0]); k++) {
		if (*fds[k] >= 0)
			pshm__close(*fds[k]);
		*fds[k] = -1;
	}
}

/*
 * Make CH's FIFO, open and checked, its timer and the epoll instance that holds both, into P:
 * 0 or -errno (-EEXIST when someone made the FIFO's name first).
 */
static int make(struct pshm_chan *ch, struct pshm__chan_poll *p)
{
	char name[NAME_ROOM];
	struct stat obj, st;

	poll_name(name, ch->live_id);
	int r = pshm__fstat(ch->fd, &obj);
	if (r)
		return r;
	/* Owner only (the umask may only narrow it) until it is checked. */
	if ((r = pshm__mknodat(ch->dirfd, name, S_IFIFO | S_IRUSR | S_IWUSR)))
		return r;
	p->made = true;
	int fd = pshm__openat(ch->dirfd, name,
	                      O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd == -ELOOP || fd == -ENXIO ? -EEXIST : fd;
	p->fifo = fd;
	if ((r = pshm__fstat(fd, &st)))
		return r;
	/* Only the directory's owner could have put something else under the name meanwhile. */
	if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
		return -EEXIST;
	mode_t shared = obj.st_mode & (S_IWGRP | S_IWOTH) ? S_IWGRP | S_IWOTH : 0;
	if ((r = pshm__fchmod(fd, S_IRUSR | S_IWUSR | shared)))
		return r;
	if ((fd = pshm__timerfd_create()) < 0)
		return fd;
	p->timer = fd;
	if ((fd = pshm__epoll_create()) < 0)
		return fd;
	p->ep = fd;
	if ((r = pshm__epoll_add(p->ep, p->fifo)) || (r = pshm__epoll_add(p->ep, p->timer)))
		return r;
	/* Readable at first: the handle has not looked at the ring since the descriptor exists.
	 * A lossy broadcast writer never waits, and so never arms: its descriptor stays so. */
	ssize_t n = pshm__write(p->fifo, "", 1, false);
	return n < 0 ? (int)n : 0;
}

PSHM__API int pshm_chan_fd(struct pshm_chan *ch)
{
	if (!ch)
		return -EINVAL;
	if (ch->poll && ch->poll->ep >= 0)
		return ch->poll->ep;
	if (ch->live_id == PSHM__LIVE_LOCK)
		return -EOPNOTSUPP;
	struct pshm__chan_poll *p = state(ch);
	if (!p)
		return -ENOMEM;
	int r = make(ch, p);
	if (r) {
		unmake(ch, p);
		return r;
	}
	return p->ep;
}

void pshm__chan_poll_end(struct pshm_chan *ch)
{
	struct pshm__chan_poll *p = ch->poll;

	if (!p)
		return;
	if (p->fifo >= 0)
		disarm(ch);
	unmake(ch, p);
	for (int i = 0; i < p->npeers; i++)
		if (p->peer[i].fd >= 0)
			pshm__close(p->peer[i].fd);
	free(p);
	ch->poll = NULL;
}

void pshm__chan_poll_forget(int dirfd, uint64_t id)
{
	char name[NAME_ROOM];
	struct stat st;

	poll_name(name, id);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode))
		pshm__unlinkat(dirfd, name);
}

bool pshm__chan_poll_orphan(int dirfd, const char *name, const struct pshm__ids *named)
{
	size_t plen = sizeof(PSHM__POLL_PREFIX) - 1;
	char again[NAME_ROOM];
	uint64_t id = 0;

	if (strncmp(name, PSHM__POLL_PREFIX, plen) || strlen(name + plen) != 16)
		return false;
	for (const char *c = name + plen; *c; c++) {
		const char *v = strchr("0123456789abcdef", *c);
		if (!v)
			return false;
		id = id << 4 | (uint64_t)(v - "0123456789abcdef");
	}
	/* The name the library would make of it: lower-case digits, all 16 of them. */
	poll_name(again, id);
	if (strcmp(again, name) || id == PSHM__LIVE_NONE || id == PSHM__LIVE_LOCK ||
	    pshm__ids_has(named, id))
		return false;
	return pshm__chan_alive(dirfd, -1, 0, id, NULL) == 0;
}
