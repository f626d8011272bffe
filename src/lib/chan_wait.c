/*
 * chan_wait.c - how a channel's ends wait for each other and know whether the other is alive.
 *
 * Waiting: spin for a while on the word that will change (a reader: the number in the
 * descriptor of the message it expects; the writer: the reader's count of messages read, or in
 * a lossless broadcast channel the cursor of the reader that holds it back), then sleep on a
 * shared futex. The sleeper counts itself in a "waiters" word before it
 * checks the condition one last time; the other side publishes, then reads the waiters word
 * and only then bumps the futex and wakes. Each side needs a full barrier between its store
 * and its load for one of them to see the other's store, so that no wake-up is lost.
 *
 * Where that barrier is paid depends on how many messages go by between two sleeps. A role
 * that handles many (PSHM__CHAN_SYM_MSGS or more) pays it at each sleep with
 * membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), which makes every CPU running a registered
 * process (the publisher's included) execute one; the publisher then makes no fence at all,
 * and a message costs it no more than its stores. A role that handles fewer (or has no spin,
 * or runs where membarrier is missing) counts itself in the header's "fenced" word instead,
 * and publishers make a full fence while that count is not zero: a fence per message is then
 * cheaper than interrupting CPUs at each sleep. Counting messages rather than time keeps a
 * stream that now and then stalls for longer than the spin (a peer preempted by the host, say)
 * from costing a fence on every message. A process that could not register for membarrier
 * always fences.
 *
 * Liveness: each attached role holder holds a write lock on its beacon, a file of its own beside
 * the object (chan_live.c), or, where it could not make one, on its role's byte of the object.
 * The kernel drops the lock when the process dies. Sleeps last at most PSHM__CHAN_SLICE, after
 * which the peer's lock is probed.
 */
#include "chan.h"

#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <time.h>

uint64_t pshm__chan_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t pshm__chan_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return PSHM__CHAN_NO_DEADLINE;
	return pshm__chan_now() + (uint64_t)timeout_ms * 1000000ull;
}

/* Take BYTE for this description: 0, or -EBUSY when another description holds it. */
int pshm__chan_lock(int fd, int byte)
{
	int r = pshm__lock(fd, F_OFD_SETLK, F_WRLCK, byte, 1);
	return r == -EAGAIN || r == -EACCES ? -EBUSY : r;
}

int pshm__chan_unlock(int fd, int byte)
{
	return pshm__lock(fd, F_OFD_SETLK, F_UNLCK, byte, 1);
}

int pshm__chan_write_locked(int fd, off_t start, off_t len)
{
	int r = pshm__lock(fd, F_OFD_GETLK, F_RDLCK, start, len);
	return r < 0 ? r : r != F_UNLCK;
}

int pshm__chan_locked(int fd, int byte)
{
	return pshm__chan_write_locked(fd, byte, 1);
}

/*
 * Wake whoever sleeps on FUTEX, and signal the pollers of that side (chan_poll.c), whose FIFOs
 * are written first: their wake-up takes longer to reach its process. One futex wake-up serves
 * every sleeper counted before it, so a publisher makes none while one is under way that no
 * sleeper has seen: a sleeper clears the flag before it counts itself (pshm__chan_wait), and a
 * publisher that finds the count read it after that clear (the acquire fence pairs the count's
 * read, made by the caller, with the sleeper's count). Without this, a sleeper woken but not yet
 * running (its CPU busy) costs its peer a system call at every message until it runs. A failed
 * wake costs the sleepers no more than the rest of their slice (PSHM__CHAN_SLICE).
 */
void pshm__chan_wake(struct pshm_chan *ch, _Atomic uint32_t *futex)
{
	atomic_thread_fence(memory_order_acquire);
	pshm__chan_poll_wake(ch, futex == &ch->h->space_futex);
	if (atomic_exchange_explicit(pshm__chan_woken(futex), 1, memory_order_acq_rel))
		return;
	atomic_fetch_add_explicit(futex, 1, memory_order_release);
	pshm__futex_wake(futex);
}

/*
 * The state of the role whose state word is STATE and beacon word LIVE (lock byte BYTE of
 * OBJFD, beacons in DIRFD; see pshm__chan_alive() for SEEN): PSHM__ST_DIED for a role marked
 * attached whose holder shows no lock. The words are read again after the probe, because a
 * clean detach marks the state first and then lets the lock go, and because a new holder may
 * have taken over the dead one meanwhile: its id then differs, and it is attaching.
 */
int pshm__chan_role_state(int dirfd, int objfd, int byte, const _Atomic uint32_t *state,
                          const _Atomic uint64_t *live, struct pshm__chan_seen *seen)
{
	uint32_t s = atomic_load_explicit(state, memory_order_acquire);
	if (s != PSHM__ST_ATTACHED)
		return s > PSHM__ST_ABORTED ? -EBADMSG : (int)s;
	uint64_t id = atomic_load_explicit(live, memory_order_acquire);
	int l = pshm__chan_alive(dirfd, objfd, byte, id, seen);
	if (l < 0)
		return l;
	if (l)
		return PSHM__ST_ATTACHED;
	s = atomic_load_explicit(state, memory_order_acquire);
	if (s != PSHM__ST_ATTACHED)
		return s > PSHM__ST_ABORTED ? -EBADMSG : (int)s;
	uint64_t now = atomic_load_explicit(live, memory_order_acquire);
	return now != id && now != PSHM__LIVE_NONE ? PSHM__ST_ATTACHED : PSHM__ST_DIED;
}

/* Is the object now shorter than the mapping? Then the handle is dead. */
bool pshm__chan_shrunk(struct pshm_chan *ch)
{
	struct stat st;
	if (pshm__fstat(ch->fd, &st) || (uint64_t)st.st_size >= ch->seg->maplen)
		return false;
	atomic_store_explicit(&ch->dead, true, memory_order_relaxed);
	return true;
}

/*
 * Is the peer this end waits for gone? 0 when it is attached (or was never there), -EPIPE when
 * it detached cleanly, -ECONNABORTED when a writer gave its stream up (pshm_chan_abort),
 * -ECONNRESET when it died. The lock is probed at most every
 * PSHM__CHAN_RECHECK; in between, only the state word is read.
 *
 * The channel itself may be gone too: PSHM_ETRUNCATED once the handle's guard has seen a
 * truncation, or when a probe finds the object shorter than the mapping (a truncation none of
 * this end's accesses has run into yet, such as one that spared the line it watches).
 */
int pshm__chan_peer(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	bool writer = pshm__chan_writer(ch);
	if (ch->many && !writer)
		return pshm__chan_many_peer(ch);
	const _Atomic uint32_t *state = writer ? &h->reader_state : &h->writer_state;
	const _Atomic uint64_t *live = writer ? &h->reader_live : &h->writer_live;
	int byte = writer ? PSHM__LOCK_READER : PSHM__LOCK_WRITER;

	if (pshm__chan_dead(ch))
		return PSHM_ETRUNCATED;
	uint32_t s = atomic_load_explicit(state, memory_order_acquire);
	if (s == PSHM__ST_DETACHED)
		return -EPIPE;
	if (s == PSHM__ST_ABORTED)
		return -ECONNABORTED;
	if (s != PSHM__ST_ATTACHED && s != PSHM__ST_NONE)
		return -EBADMSG;
	uint64_t now = pshm__chan_now();
	if (ch->probe_ns && now - ch->probe_ns < PSHM__CHAN_RECHECK)
		return 0;
	ch->probe_ns = now;
	/* Also while there is no peer yet: a queue writer that filled the ring before its
	 * reader came waits on a line of the header's first page. */
	if (pshm__chan_shrunk(ch))
		return PSHM_ETRUNCATED;
	if (s == PSHM__ST_NONE)
		return 0;
	int r = pshm__chan_role_state(ch->dirfd, ch->fd, byte, state, live, &ch->peer);
	if (r < 0)
		return r;
	/* Once the peer is seen dead, probe on every call: the rate limit above would otherwise
	 * report it alive (-EAGAIN) for the rest of the interval after -ECONNRESET was given. */
	if (r == PSHM__ST_DIED)
		ch->probe_ns = 0;
	return r == PSHM__ST_DIED       ? -ECONNRESET
	       : r == PSHM__ST_DETACHED ? -EPIPE
	       : r == PSHM__ST_ABORTED  ? -ECONNABORTED
	                                : 0;
}

int pshm__chan_end(struct pshm_chan *ch, int g)
{
	if (!ch->follow || (g != -EPIPE && g != -ECONNRESET && g != -ECONNABORTED))
		return g;
	uint64_t gen = atomic_load_explicit(&ch->h->attaches, memory_order_acquire);
	if (ch->end_told && gen == ch->end_gen)
		return 0;
	ch->end_told = true;
	ch->end_gen = gen;
	return g;
}

/* A following reader that has reported its writer's end waits for the next writer. */
static bool following(const struct pshm_chan *ch)
{
	return ch->follow && ch->end_told &&
	       atomic_load_explicit(&ch->h->attaches, memory_order_acquire) == ch->end_gen;
}

int pshm__chan_asym;

/* A process that cannot register fences at every publication instead. */
static void membarrier_register(void)
{
	int q = pshm__membarrier(MEMBARRIER_CMD_QUERY);
	pshm__chan_asym = q > 0 && (q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
	                  pshm__membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
}

static void membarrier_init(void)
{
	membarrier_register();
	/* A child has a memory map of its own, which must be registered again. */
	pthread_atfork(NULL, NULL, membarrier_register);
}

void pshm__chan_setup(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, membarrier_init);
}

/* A full fence on every CPU that runs a registered process, this one's included. */
static void membarrier_all(void)
{
	if (pshm__membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) < 0)
		atomic_thread_fence(memory_order_seq_cst); /* cannot be: registered */
}

void pshm__chan_fence_all(void)
{
	if (pshm__chan_asym)
		membarrier_all();
	else
		atomic_thread_fence(memory_order_seq_cst);
}

static void fence_words(struct pshm_chan *ch, _Atomic uint32_t **count, _Atomic uint32_t **mine)
{
	struct pshm__chan_hdr *h = ch->h;
	if (pshm__chan_writer(ch)) {
		*count = &h->space_fenced;
		*mine = ch->many ? &h->wslot[ch->slot].fenced : &h->writer_fenced;
	} else {
		*count = &h->data_fenced;
		*mine = ch->bcast ? &h->slot[ch->slot].fenced : &h->reader_fenced;
	}
}

/*
 * Count this role among the sleepers that count on the other side's fence. A publication
 * already under way may have read the count before it grew: a membarrier waits for it.
 */
static void set_fenced(struct pshm_chan *ch)
{
	_Atomic uint32_t *count, *mine;
	fence_words(ch, &count, &mine);
	atomic_store_explicit(mine, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(count, 1, memory_order_seq_cst);
	ch->fenced = true;
	if (pshm__chan_asym)
		membarrier_all();
}

/* Undo set_fenced(), at a detach or when the role no longer sleeps often. */
void pshm__chan_unfence(struct pshm_chan *ch)
{
	_Atomic uint32_t *count, *mine;
	if (!ch->fenced)
		return;
	fence_words(ch, &count, &mine);
	ch->fenced = false;
	pshm__chan_drop_mark(count, mine);
}

static inline uint64_t watched(const volatile uint64_t *watch)
{
	return __atomic_load_n(watch, __ATOMIC_RELAXED);
}

/*
 * Spin until *WATCH is no longer OLD or *PSTATE no longer PSEEN: true, or false when the spin
 * time or DEADLINE ran out. Each turn loads the watched word and the byte at ALSO, and pauses
 * once; the peer's state, the handle's dead flag and the clock are read every 64 turns (a
 * short wait reads the clock not at all). A truncation turns the watched word into a zero
 * that may never change: the flag ends the spin.
 *
 * ALSO is where a reader expects the next payload: loading it each turn makes the line it is
 * on come over as soon as the writer has filled it, while the reader still waits for the
 * descriptor, so that the two lines of a message cross together rather than one after the
 * other (a 64-byte message's latency drops by nearly half). Elsewhere it is the watched word.
 *
 * How often the watched line is loaded decides how soon a store is seen, and how often the
 * loads take the line away from the writer that is storing to it: one pause per turn does
 * best here. The function is kept apart and aligned so that this loop sits in the same place
 * relative to cache lines whatever code surrounds it: one-way latency measurably depends on it.
 */
__attribute__((noinline, aligned(64))) static bool
spin(struct pshm_chan *ch, const volatile uint64_t *watch, uint64_t old,
     const volatile unsigned char *also, _Atomic uint32_t *pstate, uint32_t pseen,
     uint64_t deadline)
{
	uint64_t end = 0;

	for (unsigned i = 1;; i++) {
		(void)*also;
		if (watched(watch) != old)
			return true;
		pshm__chan_relax();
		if (i % 64 == 0) {
			if (atomic_load_explicit(pstate, memory_order_relaxed) != pseen ||
			    pshm__chan_dead(ch))
				return true;
			uint64_t now = pshm__chan_now();
			if (!end)
				end = now + ch->spin_ns;
			else if (now >= end)
				return false;
			if (now >= deadline)
				return false;
		}
	}
}

/*
 * Wait until *WATCH is no longer OLD, the peer's state changes (or is already other than
 * attached or none), a wake-up comes, a sleep slice ends, DEADLINE passes or the handle is found
 * dead (its mapping truncated); while spinning,
 * also read the byte at ALSO (see spin()) unless it is NULL. Returns 0 (the caller looks
 * again), -ETIMEDOUT, or the error of a futex wait that failed: rather than a sleep that
 * returns at once, and a loop that would take a whole CPU until the deadline.
 */
int pshm__chan_wait(struct pshm_chan *ch, const volatile uint64_t *watch, uint64_t old,
                    const void *also, uint64_t deadline)
{
	struct pshm__chan_hdr *h = ch->h;
	bool writer = pshm__chan_writer(ch);
	/* A lossless broadcast writer waits for the reader that holds it back (chan_ring.c). */
	_Atomic uint32_t *pstate = !writer                     ? &h->writer_state
	                           : ch->bcast && ch->blk >= 0 ? &h->slot[ch->blk].state
	                                                       : &h->reader_state;
	uint32_t pseen = atomic_load_explicit(pstate, memory_order_relaxed);
	uint64_t now = 0;
	int r = 0;

	/* A peer gone before the wait began sends no wake-up: the caller looks at it now. */
	if (pseen != PSHM__ST_ATTACHED && pseen != PSHM__ST_NONE && !following(ch))
		return 0;
	if (deadline != PSHM__CHAN_NO_DEADLINE) {
		now = pshm__chan_now();
		if (now >= deadline)
			return -ETIMEDOUT;
	}
	if (ch->spin_ns && spin(ch, watch, old,
	                        also ? (const volatile unsigned char *)also
	                             : (const volatile unsigned char *)watch,
	                        pstate, pseen, deadline)) {
		/* A role that asked for fences and has handled enough messages since it last
		 * slept no longer needs them: without this, a reader that slept often and then
		 * streams would cost the writer a fence per message for as long as it never
		 * sleeps again. */
		if (ch->fenced && pshm__chan_asym &&
		    pshm__chan_handled(ch) - ch->sleep_mark >= PSHM__CHAN_SYM_MSGS)
			pshm__chan_unfence(ch);
		return 0;
	}

	_Atomic uint32_t *futex = writer ? &h->space_futex : &h->data_futex;
	_Atomic uint32_t *waiters = writer ? &h->space_waiters : &h->data_waiters;
	_Atomic uint32_t *mine = writer && ch->many ? &h->wslot[ch->slot].waiting
	                         : writer           ? &h->writer_waiting
	                         : ch->bcast        ? &h->slot[ch->slot].waiting
	                                            : &h->reader_waiting;
	uint32_t v = atomic_load_explicit(futex, memory_order_acquire);
	now = pshm__chan_now();
	/* A role that handled few messages since its last sleep asks the other side for
	 * fences; one that handled many pays for this sleep with a membarrier. Without
	 * membarrier it always asks. */
	uint64_t done = pshm__chan_handled(ch);
	bool fence = !pshm__chan_asym || ch->spin_ns == 0 ||
	             (ch->slept && done - ch->sleep_mark < PSHM__CHAN_SYM_MSGS);
	if (fence && !ch->fenced)
		set_fenced(ch);
	else if (!fence && ch->fenced)
		pshm__chan_unfence(ch);
	ch->slept = true;
	ch->sleep_mark = done;
	/* The flag first, then the count: whoever takes the role over after a death undoes the
	 * count only when the flag says it was made. */
	atomic_store_explicit(mine, 1, memory_order_relaxed);
	/* Before the count: a publisher that sees the count sees that no wake-up is under way for
	 * this sleeper (see pshm__chan_wake). The futex word was read before, so a wake-up made
	 * after this clear ends the sleep at once. */
	atomic_store_explicit(pshm__chan_woken(futex), 0, memory_order_relaxed);
	atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
	if (ch->fenced)
		atomic_thread_fence(memory_order_seq_cst);
	else
		membarrier_all();
	if (watched(watch) == old && atomic_load_explicit(pstate, memory_order_relaxed) == pseen &&
	    !pshm__chan_dead(ch)) {
		uint64_t ns = ch->slice_ns;
		if (deadline - now < ns)
			ns = deadline - now;
		struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
		                      .tv_nsec = (long)(ns % 1000000000ull)};
		r = pshm__futex_wait(futex, v, &ts);
		/* EAGAIN (the word moved), EINTR and ETIMEDOUT all mean: look again. */
		if (r == -EAGAIN || r == -EINTR || r == -ETIMEDOUT)
			r = 0;
	}
	atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
	atomic_store_explicit(mine, 0, memory_order_relaxed);
	return r;
}

/* pshm__chan_wait()'s choice, for a poller's arm (chan_poll.c), which has no spin of its own. */
void pshm__chan_sleep_choose(struct pshm_chan *ch)
{
	uint64_t done = pshm__chan_handled(ch);
	bool fence = !pshm__chan_asym || (ch->slept && done - ch->sleep_mark < PSHM__CHAN_SYM_MSGS);
	if (fence && !ch->fenced)
		set_fenced(ch);
	else if (!fence && ch->fenced)
		pshm__chan_unfence(ch);
	ch->slept = true;
	ch->sleep_mark = done;
}
