/*
 * chan_wait.c - how a channel's ends wait for each other and know whether the other is alive.
 *
 * Waiting: spin for a while on the word that will change (the writer's head, the reader's
 * tail), then sleep on a shared futex. The sleeper counts itself in a "waiters" word before it
 * checks the condition one last time; the other side publishes, then (after a full fence)
 * reads the waiters word and only then bumps the futex and wakes. One of the two always sees
 * the other's store, so a wake-up is never lost and no system call is made while nobody sleeps.
 *
 * Liveness: each attached role holds an open file description lock on its own byte of the
 * object. The kernel drops it when the last descriptor of the description goes, so also when
 * the process dies. Sleeps last at most PSHM__CHAN_SLICE, after which the peer's lock is probed.
 */
#include "chan.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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

static int ofd_lock(int fd, int byte, short type, int cmd, struct flock *fl)
{
	*fl = (struct flock){.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
	while (fcntl(fd, cmd, fl) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Take BYTE for this description: 0, or -EBUSY when another description holds it. */
int pshm__chan_lock(int fd, int byte)
{
	struct flock fl;
	int r = ofd_lock(fd, byte, F_WRLCK, F_OFD_SETLK, &fl);
	return r == -EAGAIN || r == -EACCES ? -EBUSY : r;
}

int pshm__chan_unlock(int fd, int byte)
{
	struct flock fl;
	return ofd_lock(fd, byte, F_UNLCK, F_OFD_SETLK, &fl);
}

/* 1 when another description holds BYTE, 0 when nobody does, or a negative errno. */
int pshm__chan_locked(int fd, int byte)
{
	struct flock fl;
	int r = ofd_lock(fd, byte, F_WRLCK, F_OFD_GETLK, &fl);
	return r ? r : fl.l_type != F_UNLCK;
}

void pshm__chan_wake(_Atomic uint32_t *futex)
{
	atomic_fetch_add_explicit(futex, 1, memory_order_release);
	syscall(SYS_futex, (uint32_t *)futex, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * The state of the role whose lock is BYTE and whose state word is STATE: PSHM__ST_DIED for a
 * role marked attached whose lock is gone. The state is read again after the probe, because a
 * clean detach marks the state first and then lets the lock go.
 */
int pshm__chan_role_state(int fd, int byte, const _Atomic uint32_t *state)
{
	uint32_t s = atomic_load_explicit(state, memory_order_acquire);
	if (s != PSHM__ST_ATTACHED)
		return s > PSHM__ST_DIED ? -EBADMSG : (int)s;
	int l = pshm__chan_locked(fd, byte);
	if (l < 0)
		return l;
	if (l)
		return PSHM__ST_ATTACHED;
	s = atomic_load_explicit(state, memory_order_acquire);
	if (s != PSHM__ST_ATTACHED)
		return s > PSHM__ST_DIED ? -EBADMSG : (int)s;
	return PSHM__ST_DIED;
}

/*
 * Is the peer this end waits for gone? 0 when it is attached (or was never there), -EPIPE when
 * it detached cleanly, -ECONNRESET when it died. The lock is probed at most every
 * PSHM__CHAN_RECHECK; in between, only the state word is read.
 */
int pshm__chan_peer(struct pshm_chan *ch)
{
	struct pshm__chan_hdr *h = ch->h;
	bool writer = ch->role == PSHM_CHAN_WRITER;
	const _Atomic uint32_t *state = writer ? &h->reader_state : &h->writer_state;
	int byte = writer ? PSHM__LOCK_READER : PSHM__LOCK_WRITER;

	uint32_t s = atomic_load_explicit(state, memory_order_acquire);
	if (s == PSHM__ST_DETACHED)
		return -EPIPE;
	if (s != PSHM__ST_ATTACHED)
		return s == PSHM__ST_NONE ? 0 : -EBADMSG;
	uint64_t now = pshm__chan_now();
	if (ch->probe_ns && now - ch->probe_ns < PSHM__CHAN_RECHECK)
		return 0;
	ch->probe_ns = now;
	int r = pshm__chan_role_state(ch->fd, byte, state);
	if (r < 0)
		return r;
	/* Once the peer is seen dead, probe on every call: the rate limit above would otherwise
	 * report it alive (-EAGAIN) for the rest of the interval after -ECONNRESET was given. */
	if (r == PSHM__ST_DIED)
		ch->probe_ns = 0;
	return r == PSHM__ST_DIED ? -ECONNRESET : r == PSHM__ST_DETACHED ? -EPIPE : 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * Wait until *WATCH is no longer OLD, the peer's state changes, a wake-up comes, a sleep slice
 * ends or DEADLINE passes. Returns 0 (the caller looks again) or -ETIMEDOUT.
 */
int pshm__chan_wait(struct pshm_chan *ch, _Atomic uint64_t *watch, uint64_t old, uint64_t deadline)
{
	struct pshm__chan_hdr *h = ch->h;
	bool writer = ch->role == PSHM_CHAN_WRITER;
	_Atomic uint32_t *pstate = writer ? &h->reader_state : &h->writer_state;
	uint32_t pseen = atomic_load_explicit(pstate, memory_order_relaxed);
	uint64_t now = pshm__chan_now();

	if (now >= deadline)
		return -ETIMEDOUT;
	if (ch->spin_ns) {
		uint64_t end = now + ch->spin_ns;
		for (unsigned i = 1;; i++) {
			if (atomic_load_explicit(watch, memory_order_relaxed) != old ||
			    atomic_load_explicit(pstate, memory_order_relaxed) != pseen)
				return 0;
			cpu_relax();
			if (i % 64 == 0) {
				now = pshm__chan_now();
				if (now >= end || now >= deadline)
					break;
			}
		}
	}

	_Atomic uint32_t *futex = writer ? &h->space_futex : &h->data_futex;
	_Atomic uint32_t *waiters = writer ? &h->space_waiters : &h->data_waiters;
	_Atomic uint32_t *mine = writer      ? &h->writer_waiting
	                         : ch->bcast ? &h->slot[ch->slot].waiting
	                                     : &h->reader_waiting;
	uint32_t v = atomic_load_explicit(futex, memory_order_acquire);
	/* The flag first, then the count: whoever takes the role over after a death undoes the
	 * count only when the flag says it was made. */
	atomic_store_explicit(mine, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(watch, memory_order_seq_cst) == old &&
	    atomic_load_explicit(pstate, memory_order_relaxed) == pseen) {
		uint64_t ns = PSHM__CHAN_SLICE;
		if (deadline - now < ns)
			ns = deadline - now;
		struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
		                      .tv_nsec = (long)(ns % 1000000000ull)};
		/* EAGAIN (the word moved), EINTR and ETIMEDOUT all mean: look again. */
		syscall(SYS_futex, (uint32_t *)futex, FUTEX_WAIT, v, &ts, NULL, 0);
	}
	atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
	atomic_store_explicit(mine, 0, memory_order_relaxed);
	return 0;
}
