/*
 * chan.h - the shared layout of a message channel and what chan.c, chan_ring.c and chan_wait.c
 * share. Nothing here is public; names are pshm__chan_* and hidden.
 *
 * A channel object is a header of PSHM__CHAN_HDR bytes, an array of NDESC descriptors of 32
 * bytes (NDESC = CAPACITY / 32), and a data ring of CAPACITY bytes (a power of two). Message
 * number K is described by descriptor K mod NDESC: its length, its payload's data position, and
 * K + 1 once it is published (stored last, with release; a descriptor that holds anything else
 * describes no message of this lap). A payload of up to PSHM__CHAN_INLINE bytes lives in the
 * descriptor itself; a longer one in the data ring, 8-byte aligned, never wrapping: one that
 * would cross the ring's end starts at the next lap instead. Data positions are 64-bit byte
 * counters that only grow; a position's place in the ring is position & (capacity - 1).
 *
 * Keeping the headers apart lets payloads whose length is a multiple of 64 stay on whole
 * cache lines, and a small message cross in one cache line with its descriptor.
 *
 * Queue mode: the writer publishes messages [received, sent), the reader consumes them; the
 * data bytes in [tail, head) are in use. Broadcast mode: the writer never waits; it overwrites
 * the oldest descriptors and data, and keeps oldest (the number of the first message still
 * intact) and wend (the end of the data it may be writing, stored before it writes). A
 * descriptor being rewritten holds 0 meanwhile, so that a reader that read it under the writer
 * sees its number change (a seqlock); readers count what they missed from the numbers.
 *
 * Lossless broadcast mode (mode PSHM__MODE_LOSSLESS) is broadcast mode in which the writer
 * drops no message that a live reader has not read: it waits instead while the slowest live
 * reader's cursor is a ring behind. Before it drops messages it announces how far (dropping),
 * and then looks at joins, which every attaching reader bumps after it published its cursor and
 * before it reads dropping: one of the two sees the other (see chan_ring.c).
 */
#ifndef PSHM_CHAN_H
#define PSHM_CHAN_H

#include "internal.h"

#include <stdalign.h>
#include <stdatomic.h>

#define PSHM__CHAN_MAGIC   0x6e6168636d687370ull /* "pshmchan" read as a little-endian u64 */
#define PSHM__CHAN_VERSION 5u
#define PSHM__CHAN_HDR     ((unsigned)PSHM_CHAN_HEADER_SIZE) /* the ring starts here */
/* The magic as stored is the public PSHM_CHAN_MAGIC's bytes. */
_Static_assert((PSHM__CHAN_MAGIC & 0xff) == 'p' && (PSHM__CHAN_MAGIC >> 8 & 0xff) == 's' &&
                   (PSHM__CHAN_MAGIC >> 16 & 0xff) == 'h' &&
                   (PSHM__CHAN_MAGIC >> 24 & 0xff) == 'm' &&
                   (PSHM__CHAN_MAGIC >> 32 & 0xff) == 'c' &&
                   (PSHM__CHAN_MAGIC >> 40 & 0xff) == 'h' &&
                   (PSHM__CHAN_MAGIC >> 48 & 0xff) == 'a' && (PSHM__CHAN_MAGIC >> 56 & 0xff) == 'n',
               "PSHM__CHAN_MAGIC is PSHM_CHAN_MAGIC");
#define PSHM__CHAN_MIN_CAP     4096u
#define PSHM__CHAN_MAX_CAP     (1ull << 30)
#define PSHM__CHAN_INLINE      12u        /* payloads up to this long travel in the descriptor */
#define PSHM__CHAN_POS_INLINE  UINT64_MAX /* a descriptor's pos: the payload is inline */
#define PSHM__CHAN_ALIGN       8u
#define PSHM__CHAN_SLICE       50000000ull /* longest futex sleep between liveness checks, ns */
#define PSHM__CHAN_RECHECK     20000000ull /* least time between two lock probes of a peer, ns */
#define PSHM__CHAN_SPIN        20000u      /* default spin before sleeping, ns */
#define PSHM__CHAN_SLIP_AHEAD  64          /* a reader lets a stream's writer get this far ahead */
#define PSHM__CHAN_SLIP_NS     2000u       /* ... for at most this long, ns (chan_ring.c) */
#define PSHM__CHAN_SLIP_PAUSES 4           /* pauses between two looks while it does */
/* Many writers: claims in a row by compare-and-swap, none by another writer between, before a
 * writer takes the claim word for itself; doubled each time it loses it sooner, up to MAX. */
#define PSHM__CHAN_HOLD_STREAK 64u
#define PSHM__CHAN_HOLD_MAX    65536u
#define PSHM__CHAN_HOLD_REV    0x80000000u /* holder: being taken back */
#define PSHM__CHAN_SYM_MSGS    256u /* fewer messages than this between sleeps: ask for fences */
#define PSHM__CHAN_NO_DEADLINE UINT64_MAX

/*
 * The header's mode word. Bit 0 is broadcast, bit 1 lossless (with broadcast only). A library
 * that predates lossless mode accepts only 0 and 1, and so refuses a lossless channel (-EBADMSG)
 * rather than overwrite what its readers have not read; the layout is otherwise the same.
 */
#define PSHM__MODE_QUEUE      0u
#define PSHM__MODE_BCAST      1u
#define PSHM__MODE_LOSSLESS   3u
#define PSHM__MODE_MANY       4u /* a queue with many writers (chan_many.c) */
#define PSHM__MODE_MANY_BCAST 5u /* broadcast with many writers (chan_mbcast.c) */

/*
 * ThreadSanitizer does not model fences and gcc says so at each one under -fsanitize=thread.
 * The queue's ordering rests on acquire/release atomics, which it does model; the fences only
 * order the futex handshake and the broadcast seqlock.
 */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__) && __GNUC__ >= 11
#pragma GCC diagnostic ignored "-Wtsan"
#endif

/*
 * Role states in the shared header, with the values of the public enum pshm_chan_writer, which
 * struct pshm_chan_stat reports; they are also the stored values, which never change. "died"
 * is never stored, only deduced from the locks.
 * "aborted" is a writer's detach by pshm_chan_abort(): gone like "detached", but its stream is
 * incomplete. A library of before it reads the value as corrupt, never as a clean end.
 */
enum {
	PSHM__ST_NONE = PSHM_CHAN_WRITER_NONE,
	PSHM__ST_ATTACHED = PSHM_CHAN_WRITER_ATTACHED,
	PSHM__ST_DETACHED = PSHM_CHAN_WRITER_DETACHED,
	PSHM__ST_DIED = PSHM_CHAN_WRITER_DIED,
	PSHM__ST_ABORTED = PSHM_CHAN_WRITER_ABORTED,
};

/*
 * A role's beacon word (see chan_live.c): no holder, a holder's beacon id, or a holder that
 * could not make a beacon and holds its role's lock byte of the object instead.
 */
#define PSHM__LIVE_NONE 0ull
#define PSHM__LIVE_LOCK UINT64_MAX

/* Lock bytes of the object's descriptor, one per role: taken by holders without a beacon. */
#define PSHM__LOCK_WRITER   0
#define PSHM__LOCK_READER   1
#define PSHM__LOCK_SLOT(i)  (2 + (i))
#define PSHM__LOCK_WSLOT(i) (2 + PSHM_CHAN_MAX_READERS + (i))

/*
 * A descriptor's length that says "no message": the claim of a many-writer channel's writer
 * that closed without committing it, or that died (marked by the reader that found it so).
 */
#define PSHM__CHAN_VOID UINT32_MAX

struct pshm__chan_desc {
	uint64_t seq; /* the message's number + 1 once published; 0 while being rewritten */
	uint64_t pos; /* the payload's data position, or PSHM__CHAN_POS_INLINE */
	uint32_t len; /* payload bytes */
	unsigned char inl[PSHM__CHAN_INLINE];
};
_Static_assert(sizeof(struct pshm__chan_desc) == 32, "descriptor size");

/* One broadcast reader, on a cache line of its own. */
struct pshm__chan_slot {
	_Atomic uint64_t cursor;   /* the number of the next message it reads */
	_Atomic uint64_t received; /* messages it has read */
	_Atomic uint32_t state;    /* PSHM__ST_* */
	_Atomic uint32_t waiting;  /* it is counted in data_waiters */
	_Atomic uint32_t fenced;   /* it is counted in data_fenced */
	_Atomic uint64_t live;     /* its holder's beacon (PSHM__LIVE_*, or an id) */
	_Atomic uint64_t poll;     /* its poller's arm (see writer_poll) */
	uint8_t pad[16];
};
_Static_assert(sizeof(struct pshm__chan_slot) == 64, "broadcast slot size");

/*
 * One writer of a many-writer channel. Its claim is announced in pending (the message's number
 * + 1) before the claim is made, and stays until the next claim or the detach: a message that
 * was claimed, is not published, and that no live writer announces was claimed by one that
 * died (chan_many.c).
 */
struct pshm__chan_wslot {
	_Atomic uint64_t live;    /* its holder's beacon (PSHM__LIVE_*, or an id) */
	_Atomic uint64_t pending; /* the number + 1 of the message it claims or holds, or 0 */
	_Atomic uint64_t sent;    /* messages published through this slot */
	_Atomic uint64_t bytes;   /* their payload bytes */
	_Atomic uint32_t state;   /* PSHM__ST_* */
	_Atomic uint32_t waiting; /* it is counted in space_waiters */
	_Atomic uint32_t fenced;  /* it is counted in space_fenced */
	_Atomic uint32_t alone;   /* it is inside a claim made without compare-and-swap */
};
_Static_assert(sizeof(struct pshm__chan_wslot) == 48, "writer slot size");

struct pshm__chan_hdr {
	/* Written once by the creator; magic last, with release. */
	_Atomic uint64_t magic;
	uint32_t version;
	uint32_t mode;     /* PSHM__MODE_* */
	uint64_t capacity; /* data ring bytes */
	uint64_t
	    data_offset; /* where the data ring starts; the descriptors start at the header's end */
	uint32_t align;
	uint32_t max_readers;
	uint64_t ndesc; /* descriptors: capacity / 32 */

	/* Control: written only when a role attaches or detaches, so reading it is cheap. */
	alignas(64) _Atomic uint32_t writer_state;
	_Atomic uint32_t reader_state; /* queue reader */
	_Atomic uint64_t lost;         /* broadcast: messages lost by all readers */
	_Atomic uint64_t writer_live;  /* the holders' beacons (PSHM__LIVE_*, or an id) */
	_Atomic uint64_t reader_live;  /* queue reader */
	_Atomic uint64_t joins;        /* lossless: bumped by each broadcast reader that attaches */
	_Atomic uint64_t attaches;     /* bumped by each writer that attaches */

	/*
	 * Sleepers that count on the other side's fence (see chan_wait.c): the number of them on
	 * each side, read at every publication, and each role's own mark that it is counted.
	 */
	alignas(64) _Atomic uint32_t data_fenced; /* readers */
	_Atomic uint32_t space_fenced;            /* the queue writer */
	_Atomic uint32_t reader_fenced;
	_Atomic uint32_t writer_fenced;

	/* The writer's hot line. */
	alignas(64) _Atomic uint64_t head; /* end of the published data */
	_Atomic uint64_t sent;             /* messages published; the next message's number */
	_Atomic uint64_t bytes;            /* payload bytes published */
	_Atomic uint64_t oldest;           /* broadcast: the first message still intact */
	_Atomic uint64_t wend;       /* broadcast: end of the data the writer may be writing */
	_Atomic uint64_t oldest_pos; /* broadcast: where the data still held starts */
	_Atomic uint64_t dropping;   /* lossless: the writer drops the messages before this one */

	/* The queue reader's hot line. */
	alignas(64) _Atomic uint64_t tail; /* end of the data consumed */
	_Atomic uint64_t received;         /* messages consumed; the next one's number */

	/* Sleeping readers: a futex word the writer bumps, and how many sleep on it. */
	alignas(64) _Atomic uint32_t data_futex;
	_Atomic uint32_t data_waiters;
	_Atomic uint32_t reader_waiting; /* the queue reader is counted in data_waiters */
	_Atomic uint32_t data_woken;     /* a wake-up was made that no sleeper has seen yet */

	/* A sleeping queue writer. */
	alignas(64) _Atomic uint32_t space_futex;
	_Atomic uint32_t space_waiters;
	_Atomic uint32_t writer_waiting; /* the writer is counted in space_waiters */
	_Atomic uint32_t space_woken;    /* a wake-up was made that no sleeper has seen yet */

	/*
	 * Pollers (chan_poll.c). A role's arm: its beacon id, which names its poll FIFO, while it
	 * waits to be told and is counted in the waiters word, else 0; whoever takes it with an
	 * exchange undoes the count, and a waker then signals the FIFO once.
	 */
	alignas(64) _Atomic uint64_t writer_poll;
	_Atomic uint64_t reader_poll;  /* the queue reader's */
	_Atomic uint64_t slots_polled; /* broadcast: a bit for each slot whose reader armed */

	alignas(64) struct pshm__chan_slot slot[PSHM_CHAN_MAX_READERS];

	/*
	 * Many writers: the next message's number (high 32 bits) and the data head (low 32), one
	 * word that a claim moves with a compare-and-swap; the reader's count of the claims it
	 * passed over (dead ones, and those given up).
	 */
	alignas(64) _Atomic uint64_t claim;
	_Atomic uint64_t skipped;
	_Atomic uint64_t wslots_polled; /* a bit for each writer whose poller armed (chan_poll.c) */
	_Atomic uint32_t writers_in;    /* the writers attached (those that died included) */
	_Atomic uint32_t never_alone;   /* a writer attached that could not make the barrier */
	/* The slot + 1 of the writer that claims without compare-and-swap among others, or 0;
	 * PSHM__CHAN_HOLD_REV is added while another takes it back (chan_many.c). */
	_Atomic uint32_t holder;
	alignas(64) struct pshm__chan_wslot wslot[PSHM_CHAN_MAX_WRITERS];
};

_Static_assert(sizeof(struct pshm__chan_hdr) <= PSHM__CHAN_HDR, "channel header too large");
/* Each futex word's "woken" flag is three words after it (pshm__chan_wake). */
_Static_assert(offsetof(struct pshm__chan_hdr, data_woken) ==
                   offsetof(struct pshm__chan_hdr, data_futex) + 3 * sizeof(uint32_t),
               "data_woken");
_Static_assert(offsetof(struct pshm__chan_hdr, space_woken) ==
                   offsetof(struct pshm__chan_hdr, space_futex) + 3 * sizeof(uint32_t),
               "space_woken");

/* The flag beside a futex word of the header that says a wake-up is under way. */
static inline _Atomic uint32_t *pshm__chan_woken(_Atomic uint32_t *futex)
{
	return futex + 3;
}

/* A prober's hold on the beacon it last looked at, so that the next probe is one fcntl. */
struct pshm__chan_seen {
	uint64_t id; /* the beacon's id, PSHM__LIVE_NONE when none is held */
	int fd;      /* the beacon, opened read-only; -1 when none is held */
};

struct pshm_chan {
	struct pshm_seg *seg;
	struct pshm__chan_hdr *h;
	struct pshm__chan_desc *desc;
	unsigned char *data;
	uint64_t cap, mask, maxmsg;
	uint64_t ndesc, dmask;
	int fd;
	int role;          /* PSHM_CHAN_WRITER, PSHM_CHAN_READER, or PSHM__ROLE_MANY */
	bool bcast;        /* broadcast mode */
	bool lossless;     /* lossless broadcast mode */
	bool many;         /* many-writer mode */
	_Atomic bool dead; /* lost to a truncation (set by the guard, guard.c, or seen by size) */
	int slot;          /* broadcast reader: its slot; many-writer writer: its writer slot */
	unsigned spin_ns;
	uint64_t probe_ns;   /* when the peer's lock was last probed */
	bool slept;          /* it has slept since it attached */
	uint64_t sleep_mark; /* pshm__chan_handled() when it last went to sleep */
	uint64_t slice_ns;   /* longest sleep: PSHM__CHAN_SLICE, or PSHM_CHAN_SLICE_MS */
	bool fenced;         /* it is counted among the sleepers that count on the peer's fence */

	/* Writer. */
	uint64_t seq;        /* the next message's number */
	uint64_t head;       /* own data head (the shared one is only stored) */
	uint64_t recv_seen;  /* queue: the reader's count as last loaded */
	uint64_t tail_seen;  /* queue: the reader's tail as last loaded */
	uint64_t bytes;      /* payload bytes published */
	uint64_t oldest;     /* broadcast: own copy of oldest */
	uint64_t oldest_pos; /* broadcast: own copy of oldest_pos */
	uint64_t wend;       /* broadcast: own copy of wend */
	bool reserved;
	uint64_t res_pos;   /* the reserved payload's data position, or PSHM__CHAN_POS_INLINE */
	uint64_t many_sent; /* many writers: messages published through its slot */
	uint64_t span;      /* many writers: claims after which the reader's counts are reloaded */
	uint64_t own;       /* many writers: the claim word as its last claim left it, or 0 */
	uint64_t own_gen;   /* many writers: the header's attaches at that claim */
	uint64_t own_next;  /* many writers: the number of the message after that claim */
	uint64_t own_head;  /* many writers: where that claim's data ended */
	bool own_alone;     /* many writers: that claim was made alone */
	bool held;          /* many writers: holder since before its last claim (own is exact) */
	bool want_hold;     /* many writers: take the claim word at the next claim */
	uint32_t streak;    /* many writers: compare-and-swap claims in a row, no other between */
	uint32_t need;      /* many writers: the streak that takes the claim word */
	uint64_t hold_claims; /* many writers: claims made as holder since it took the word */
	bool watch_tail;      /* many writers: waiting for data room (the tail), not a descriptor */
	bool counted;         /* many writers: counted in writers_in */
	bool tail_behind; /* many writers' reader: it passed over a claim since the tail moved */
	const volatile uint64_t *mb_watch; /* many-writer broadcast: the word a claim waits on */
	size_t res_len;                    /* the payload bytes reserved */

	/* Reader. */
	uint64_t expect; /* the next message's number */
	uint64_t cur;    /* the end of the last payload read (queue: checked, published) */
	uint64_t lost;
	uint64_t received;
	bool peeked;
	uint64_t peek_seq; /* the descriptor's number as read (broadcast: checked again) */
	uint64_t peek_pos; /* the peeked payload's data position, or PSHM__CHAN_POS_INLINE */
	uint32_t peek_len;
	uint64_t watch_old; /* the number in the descriptor waited on, as last seen */
	uint64_t wait_mark; /* the message it expected at its last wait (slip, chan_ring.c) */
	bool follow;        /* PSHM_CHAN_FOLLOW: each writer's end is reported once */
	bool end_told;      /* the end of the writer attach end_gen has been reported */
	uint64_t end_gen;   /* the header's attaches when the end was reported */

	/* Lossless broadcast writer: what holds it back, kept off the lines the ring's calls use. */
	uint64_t hold;          /* the first message a live reader has not read, as last seen */
	uint64_t readers;       /* the slots that held live readers at the last look */
	uint64_t joins;         /* the header's joins at the last look at every slot */
	int blk;                /* the slot of the reader that holds it back, or -1 */
	uint64_t blk_cursor;    /* that reader's cursor as read */
	uint64_t hold_probe_ns; /* when that reader's liveness was last probed */
	uint64_t gone[PSHM_CHAN_MAX_READERS]; /* each slot's holder found dead, or LIVE_NONE */

	/* Liveness (chan_live.c), kept off the lines the ring's calls use. */
	int dirfd;                   /* the directory that holds the object, and the beacons */
	uint64_t live_id;            /* this handle's beacon id, or PSHM__LIVE_LOCK */
	int live_fd;                 /* its beacon, write-locked; -1 without one */
	_Atomic uint64_t *live;      /* the beacon word of the role it holds; NULL until then */
	struct pshm__chan_seen peer; /* the peer's beacon, as last probed */

	struct pshm__chan_poll *poll; /* chan_poll.c: NULL until it polls or signals a poller */
};

/* One turn of a spin: the processor's hint that it waits. */
static inline void pshm__chan_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static inline uint64_t pshm__chan_align8(uint64_t len)
{
	return (len + PSHM__CHAN_ALIGN - 1) & ~(uint64_t)(PSHM__CHAN_ALIGN - 1);
}

/*
 * The role of a many-writer channel's writer: not PSHM_CHAN_WRITER, so that the public calls'
 * check of the role sends it to chan_many.c's paths from their cold branch, and the one-writer
 * paths pay nothing for the mode.
 */
#define PSHM__ROLE_MANY (PSHM_CHAN_WRITER | 0x100)

static inline bool pshm__chan_writer(const struct pshm_chan *ch)
{
	return ch->role != PSHM_CHAN_READER;
}

/* Messages this role has handled: published (writer), or read or lost (reader). */
static inline uint64_t pshm__chan_handled(const struct pshm_chan *ch)
{
	return pshm__chan_writer(ch) ? ch->seq : ch->expect;
}

/* Has the handle lost its mapping to a truncation? One load of its own flag. */
static inline bool pshm__chan_dead(const struct pshm_chan *ch)
{
	return __builtin_expect(atomic_load_explicit(&ch->dead, memory_order_relaxed), 0);
}

static inline struct pshm__chan_desc *pshm__chan_desc(const struct pshm_chan *ch, uint64_t seq)
{
	return &ch->desc[seq & ch->dmask];
}

/* Where a payload of LEN bytes goes when the data head is at P: there, or the next lap. */
static inline uint64_t pshm__chan_place(const struct pshm_chan *ch, uint64_t p, uint64_t len)
{
	uint64_t room = ch->cap - (p & ch->mask);
	return pshm__chan_align8(len) > room ? p + room : p;
}

/* The object's size for a data ring of CAP bytes: header, descriptors, data. */
static inline uint64_t pshm__chan_size(uint64_t cap)
{
	return PSHM__CHAN_HDR + cap / 32 * sizeof(struct pshm__chan_desc) + cap;
}

/* chan.c */

/* Channels need a name another process can open and a descriptor to lock: 0, or -errno. */
int pshm__chan_addr_check(const char *addr, struct pshm__addr *a) PSHM__HIDDEN;
/*
 * Open and map the channel at ADDR (read-only with RDONLY) and check its header: the segment,
 * the header, the capacity and the mode word in *SEGP, *HP, *CAPP and *MODEP, the mapping
 * guarded with *DEAD. 0, -EAGAIN for a header still unwritten after about 100 ms, -EBADMSG,
 * PSHM_ETRUNCATED, or -errno.
 */
int pshm__chan_attach(const char *addr, bool rdonly, struct pshm_seg **segp,
                      struct pshm__chan_hdr **hp, uint64_t *capp, unsigned *modep,
                      _Atomic bool *dead) PSHM__HIDDEN;
void pshm__chan_drop_mark(_Atomic uint32_t *count, _Atomic uint32_t *mine) PSHM__HIDDEN;
/* A writer has attached: count it in the header's attaches, and wake sleeping readers. */
void pshm__chan_writer_came(struct pshm_chan *ch) PSHM__HIDDEN;

/* chan_wait.c */
extern int pshm__chan_asym PSHM__HIDDEN;
void pshm__chan_setup(void) PSHM__HIDDEN;
void pshm__chan_unfence(struct pshm_chan *ch) PSHM__HIDDEN;

/*
 * After a publication (a message, or freed space) and before the look at the other side's
 * waiters: a full fence when a sleeper there counts on it, or when this process is not
 * registered for membarrier; otherwise only the compiler is held back.
 */
static inline void pshm__chan_publish_fence(const _Atomic uint32_t *fenced)
{
	if (!pshm__chan_asym || atomic_load_explicit(fenced, memory_order_relaxed))
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
}

/*
 * A barrier pair of which one side is frequent and the other rare, as a lossless writer's drop
 * and a reader's attach: the frequent side makes a full fence only where this process is not
 * registered for membarrier, and the rare side makes one on every CPU (pshm__chan_fence_all).
 */
static inline void pshm__chan_fence_light(void)
{
	if (!pshm__chan_asym)
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
}
void pshm__chan_fence_all(void) PSHM__HIDDEN;

uint64_t pshm__chan_now(void) PSHM__HIDDEN;
int pshm__chan_lock(int fd, int byte) PSHM__HIDDEN;
int pshm__chan_unlock(int fd, int byte) PSHM__HIDDEN;
/*
 * 1 when another description holds a write lock on [START, START+LEN) of FD (LEN 0: to the
 * end), 0 when none does, or a negative errno. The test asks about a read lock, which only a
 * write lock conflicts with: anyone who may read a file can hold read locks on it, and they
 * must not look like a role holder.
 */
int pshm__chan_write_locked(int fd, off_t start, off_t len) PSHM__HIDDEN;
/* pshm__chan_write_locked() of byte BYTE. */
int pshm__chan_locked(int fd, int byte) PSHM__HIDDEN;
/* Wake the sleepers on FUTEX (data_futex or space_futex) and signal those pollers' FIFOs. */
void pshm__chan_wake(struct pshm_chan *ch, _Atomic uint32_t *futex) PSHM__HIDDEN;
uint64_t pshm__chan_deadline(int timeout_ms) PSHM__HIDDEN;
int pshm__chan_peer(struct pshm_chan *ch) PSHM__HIDDEN;
/*
 * The peer's end G (from pshm__chan_peer) is about to be reported by a reader that found nothing
 * to read: G, or 0 for a PSHM_CHAN_FOLLOW reader that has reported this writer's end already
 * (it then waits for the next writer).
 */
int pshm__chan_end(struct pshm_chan *ch, int g) PSHM__HIDDEN;
bool pshm__chan_shrunk(struct pshm_chan *ch) PSHM__HIDDEN;
int pshm__chan_wait(struct pshm_chan *ch, const volatile uint64_t *watch, uint64_t old,
                    const void *also, uint64_t deadline) PSHM__HIDDEN;
int pshm__chan_role_state(int dirfd, int objfd, int byte, const _Atomic uint32_t *state,
                          const _Atomic uint64_t *live, struct pshm__chan_seen *seen) PSHM__HIDDEN;
/*
 * Before a poller counts itself as waiting (chan_poll.c): choose, as a sleeper does, whether it
 * asks publishers for fences (ch->fenced) or pays the barrier itself (a membarrier).
 */
void pshm__chan_sleep_choose(struct pshm_chan *ch) PSHM__HIDDEN;

/* chan_ring.c */

/* A call failed with R: PSHM_ETRUNCATED when the mapping was truncated meanwhile, else R. */
int pshm__chan_failed(struct pshm_chan *ch, int r) PSHM__HIDDEN;
/*
 * Wait up to TIMEOUT_MS until READY(CH, ARG) says other than -EAGAIN, sleeping in DOZE(CH,
 * deadline) and looking at the peer when nothing is ready: the one wait loop of every side.
 */
int pshm__chan_wait_ready(struct pshm_chan *ch, int timeout_ms, uint64_t arg,
                          int (*ready)(struct pshm_chan *, uint64_t),
                          int (*doze)(struct pshm_chan *, uint64_t)) PSHM__HIDDEN;

/* chan_many.c: a queue with many writers */

/* The public writer calls for a handle whose role is not PSHM_CHAN_WRITER: -EINVAL unless it
 * is a many-writer channel's writer (PSHM__ROLE_MANY). */
int pshm__chan_many_reserve(struct pshm_chan *ch, size_t len, void **bufp,
                            int timeout_ms) PSHM__HIDDEN;
int pshm__chan_many_commit(struct pshm_chan *ch, size_t len) PSHM__HIDDEN;
int pshm__chan_many_send(struct pshm_chan *ch, const void *buf, size_t len,
                         int timeout_ms) PSHM__HIDDEN;
/* Take writer slot I, whose beacon word this handle holds now: 0 or -EBADMSG. */
int pshm__chan_many_attach(struct pshm_chan *ch, int i) PSHM__HIDDEN;
/* Leave the writer slot with STATE, giving up a reservation not committed. */
void pshm__chan_many_detach(struct pshm_chan *ch, uint32_t state) PSHM__HIDDEN;
/* Is the claim word sound against the reader's count RECV and tail TAIL? 0 or -EBADMSG. */
int pshm__chan_many_check(const struct pshm_chan *ch, uint64_t recv, uint64_t tail) PSHM__HIDDEN;
/*
 * The reader found nothing to read: when it has also passed every claim, all the data claimed
 * is free, that of claims passed over included, which no later payload marks as read: move the
 * tail (and the reader's cursor) to the claim word's head, and wake writers waiting for room.
 */
void pshm__chan_many_caught_up(struct pshm_chan *ch) PSHM__HIDDEN;
/* Messages claimed and not read (*COUNT) and their data (*DATA), against RECV and TAIL. */
void pshm__chan_many_used(const struct pshm__chan_hdr *h, uint64_t recv, uint64_t tail,
                          uint64_t *count, uint64_t *data) PSHM__HIDDEN;
/* The writers' state as one (PSHM__ST_*, probing each attached one), and in *LIVE how many
 * live; or -errno. */
int pshm__chan_many_state(const struct pshm__chan_hdr *h, int dirfd, int objfd,
                          int *live) PSHM__HIDDEN;
/* The messages and bytes all writer slots published. */
void pshm__chan_many_counts(const struct pshm__chan_hdr *h, uint64_t *sent,
                            uint64_t *bytes) PSHM__HIDDEN;
/*
 * pshm__chan_peer() of a many-writer channel's reader: its writers' end, as one writer's, and
 * at each probe (every PSHM__CHAN_RECHECK at most) a dead writer's claim of the message it
 * waits for marked void.
 */
int pshm__chan_many_peer(struct pshm_chan *ch) PSHM__HIDDEN;

/* chan_mbcast.c: a broadcast channel with many writers */

/* Claim room for LEN bytes, waiting up to TIMEOUT_MS for writers in the way: 0 (ch->seq,
 * ch->res_pos and *BUFP set) or -errno. */
int pshm__chan_mbcast_claim(struct pshm_chan *ch, size_t len, int timeout_ms,
                            void **bufp) PSHM__HIDDEN;
/* Publish the claimed message with LEN bytes, and wake whoever waits for it. */
void pshm__chan_mbcast_publish(struct pshm_chan *ch, size_t len) PSHM__HIDDEN;
/* Give up the claimed message: it becomes void. */
void pshm__chan_mbcast_give_up(struct pshm_chan *ch) PSHM__HIDDEN;
/* A writer takes writer slot ch->slot: check the header, let go of a dead predecessor's lock. */
int pshm__chan_mbcast_attach(struct pshm_chan *ch) PSHM__HIDDEN;
/* A reader waits for a message whose writer died with its claim: pass over it. 0 or -errno. */
int pshm__chan_mbcast_dead(struct pshm_chan *ch) PSHM__HIDDEN;

/* chan_hold.c: a lossless broadcast writer's readers, and a reader's attach */

/*
 * Look at the broadcast slots in MASK (UINT64_MAX: every slot) and set ch->hold to the first
 * message a live reader among them has not read (ch->seq when none), ch->blk and ch->blk_cursor
 * to that reader's slot and cursor (blk -1 when none), and ch->readers to the slots that hold
 * live readers.
 */
void pshm__chan_hold_scan(struct pshm_chan *ch, uint64_t mask) PSHM__HIDDEN;
/*
 * The writer has announced that it drops the messages before O, and found that readers attached
 * since it last looked at every slot (the header's joins now JOINS): look at every slot. 0 when
 * it may drop them, -EAGAIN when a live reader has not read them.
 */
int pshm__chan_hold_joined(struct pshm_chan *ch, uint64_t joins, uint64_t o) PSHM__HIDDEN;
/*
 * The writer would drop message O, which ch->hold says a reader has not read: look again at
 * the readers, and probe the liveness of the one that holds it back (at most every
 * PSHM__CHAN_RECHECK; a dead one is passed over, and the next one probed). 0 when it may drop
 * O now, -EAGAIN when a live reader holds it back, or the -errno of a probe.
 */
int pshm__chan_hold_refresh(struct pshm_chan *ch, uint64_t o) PSHM__HIDDEN;
/*
 * A broadcast reader of a lossless channel has published START in its slot S, and its state:
 * make sure the writer sees it before it drops message START, or start later, after what the
 * writer is dropping. Returns the message it starts at.
 */
uint64_t pshm__chan_join(struct pshm_chan *ch, struct pshm__chan_slot *s,
                         uint64_t start) PSHM__HIDDEN;

/* chan_live.c */

/*
 * Open the directory of PATH (O_PATH) into *DIRFDP, and check that the name there is still the
 * object open as OBJFD: the beacons go where every opener of the channel looks. 0, -ENOENT
 * when the name is gone or names another file, or -errno.
 */
int pshm__chan_dir(const char *path, int objfd, int *dirfdp) PSHM__HIDDEN;
/*
 * Open CH's directory and make its beacon: 0 with ch->live_id and ch->live_fd set, or with
 * ch->live_id = PSHM__LIVE_LOCK when the directory does not let it make one; or -errno.
 */
int pshm__chan_live_init(struct pshm_chan *ch) PSHM__HIDDEN;
/* Take the role whose beacon word is LIVE and lock byte BYTE: 0, -EBUSY, or -errno. */
int pshm__chan_claim(struct pshm_chan *ch, _Atomic uint64_t *live, int byte) PSHM__HIDDEN;
/* Give up what pshm__chan_live_init() and pshm__chan_claim() took; for a close or a failure. */
void pshm__chan_live_end(struct pshm_chan *ch) PSHM__HIDDEN;
/*
 * Is the holder of beacon ID (a role's word as read) alive? 1, 0, or -errno when that cannot be
 * told. BYTE is the role's lock byte of OBJFD, for PSHM__LIVE_LOCK. SEEN, unless NULL, keeps
 * the beacon open for the next probe of the same id.
 */
int pshm__chan_alive(int dirfd, int objfd, int byte, uint64_t id,
                     struct pshm__chan_seen *seen) PSHM__HIDDEN;
/* Let go of the beacon SEEN holds. */
void pshm__chan_forget(struct pshm__chan_seen *seen) PSHM__HIDDEN;

/* chan_poll.c: pollable descriptors (pshm_chan_fd) */

/*
 * A call with timeout 0 found the handle unable to progress: when it has a poll descriptor, arm
 * it (drain it, count the role as waiting and publish its arm, make the sleeper's barrier), and
 * look once more with READY(CH, ARG). READY's answer then, the peer's end, -EAGAIN, or -errno.
 */
int pshm__chan_poll_arm(struct pshm_chan *ch, uint64_t arg,
                        int (*ready)(struct pshm_chan *, uint64_t)) PSHM__HIDDEN;
/*
 * After a store that pollers may wait for (a message, room, a role's detach or attach): take the
 * arms of the readers' pollers (SPACE false) or of the writer's (SPACE true), and signal each.
 */
void pshm__chan_poll_wake(struct pshm_chan *ch, bool space) PSHM__HIDDEN;
/* Close what the handle opened for polling, remove its FIFO, and take back its arm. */
void pshm__chan_poll_end(struct pshm_chan *ch) PSHM__HIDDEN;
/* Remove the poll FIFO of the holder ID, whose beacon id no header word names any more. */
void pshm__chan_poll_forget(int dirfd, uint64_t id) PSHM__HIDDEN;

#endif /* PSHM_CHAN_H */
