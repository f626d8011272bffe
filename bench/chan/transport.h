/*
 * transport.h - what bench_chan's harness and its transports share: the context one
 * measurement works on, the table entry each transport fills in, and the harness's services to
 * the transports (the stop flag, the clock, the stall check, the names to clean up).
 */
#ifndef PSHM_BENCH_CHAN_TRANSPORT_H
#define PSHM_BENCH_CHAN_TRANSPORT_H

#include <pshm.h>

#include <errno.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RING_BYTES (1u << 20) /* the channels' and the rings' capacity */
#define NAME_LEN   128
#define BCAST_SIZE 64 /* the one size a broadcast is measured at */

/* What one measurement works on; set up before the fork, then each side opens its ends. */
struct tctx {
	size_t size;
	int side; /* 0: the first process (CPU 0), 1: the second; a broadcast's readers 1 to N */
	/* Shared anonymous memory for the spun-on transports (rings.c). */
	void *shared;
	size_t shared_len;
	struct line *line[2];
	struct fline *fline[2];
	struct ring *ring[2];
	uint64_t nslots;
	size_t stride;      /* ring: bytes from one slot to the next */
	uint64_t seen[2];   /* cache line, futex: the last count received per direction */
	uint64_t sent[2];   /* cache line, futex: the count sent per direction */
	uint64_t cached[2]; /* ring: the other side's index as last loaded, per direction */
	uint64_t own[2];    /* ring: this side's index, per direction */
	uint64_t pos[2];    /* descriptor ring: this side's data position, per direction */
	uint64_t cpos[2];   /* descriptor ring: the reader's data position as last loaded */
	/* Channels. */
	char chan_addr[2][NAME_LEN];
	struct pshm_chan *chan[2];
	/* Descriptors: pipes, socket pairs, message queues. */
	int fd[2][2]; /* [direction][0 read end, 1 write end]; socket pairs use [d][0] for both */
	char mq_name[2][NAME_LEN];
	mqd_t mq[2];
	/* ZeroMQ. */
	char zmq_path[NAME_LEN + PATH_MAX];
	void *zctx, *zsock;
	/* iceoryx and Boost.Interprocess: the names both sides use, and this process's own state. */
	char peer_name[NAME_LEN + PATH_MAX];
	void *peer;
	int readers; /* a broadcast's reading processes (struct transport's readers), else 0 */
};

/*
 * A transport. Direction 0 carries messages from the first process to the second, direction 1
 * back; send and recv move LEN bytes whole and return 0 or a negative errno.
 */
struct transport {
	const char *name;
	const char *desc;
	bool lat_only; /* a limit measured at 8 B latency only */
	/*
	 * A broadcast from the first process to this many reading processes, measured as the
	 * throughput each reader sees at BCAST_SIZE only; 0 for the echoing pair of the rest.
	 */
	int readers;
	/*
	 * Each side in a process of its own, forked for the measurement and ended by exit(): for a
	 * transport whose library keeps per-process state (iceoryx's runtime, which deregisters
	 * from its broker at exit) that must neither live in the harness's process nor be copied.
	 */
	bool own_process;
	/* Before the fork: make what both sides share. NULL when unavailable, else "" or reason. */
	const char *(*setup)(struct tctx *c);
	int (*open)(struct tctx *c); /* after the fork, in each process; NULL: nothing to do */
	int (*send)(struct tctx *c, int dir, const void *buf, size_t len);
	int (*recv)(struct tctx *c, int dir, void *buf, size_t len);
	void (*close)(struct tctx *c);    /* each process, after the run; NULL: nothing to do */
	void (*teardown)(struct tctx *c); /* the first process, after the second is gone */
	void (*finish)(void); /* once, when the run ends, also after a signal; NULL: nothing */
};

/*
 * A broadcast's three entries, VAR1, VAR2 and VAR4, from one writer to 1, 2 and 4 readers and
 * named LABEL " x1" and so on; the designated initializers that follow give the other members.
 */
#define BCAST_ENTRIES(var, label, ...)                                                             \
	const struct transport var##1 = {.name = label " x1", .readers = 1, __VA_ARGS__};          \
	const struct transport var##2 = {.name = label " x2", .readers = 2, __VA_ARGS__};          \
	const struct transport var##4 = {.name = label " x4", .readers = 4, __VA_ARGS__}

/* The transports, one family to a file. */
extern const struct transport tr_line, tr_futex, tr_ring, tr_dring;         /* rings.c */
extern const struct transport tr_chan_spin, tr_chan_default, tr_chan_block; /* pshm.c */
extern const struct transport tr_chan_poll;                                 /* poll.c */
extern const struct transport tr_pipe, tr_stream, tr_seqpacket;             /* fds.c */
extern const struct transport tr_mq;                                        /* mq.c */
extern const struct transport tr_zmq;                                       /* zmq.c */
extern const struct transport tr_boost;                                     /* boost.cpp */
extern const struct transport tr_iox_poll, tr_iox_ws;                       /* iceoryx.c */
extern const struct transport tr_iox_lossy1, tr_iox_lossy2, tr_iox_lossy4;
extern const struct transport tr_iox_lossless1, tr_iox_lossless2, tr_iox_lossless4;
/* pshm.c's broadcasts to 1, 2 and 4 readers, lossy and lossless */
extern const struct transport tr_chan_lossy1, tr_chan_lossy2, tr_chan_lossy4;
extern const struct transport tr_chan_lossless1, tr_chan_lossless2, tr_chan_lossless4;
/* many.c's: an ordinary channel's one writer, and 1, 2 and 4 writers of a many-writer one */
extern const struct transport tr_chan_one_writer;
extern const struct transport tr_chan_writers1, tr_chan_writers2, tr_chan_writers4;

long mq_msgsize_max(void);                    /* /proc/sys/fs/mqueue/msgsize_max, or -1 */
extern const bool zmq_built;                  /* whether ZeroMQ is measured at all */
extern const bool boost_built, iceoryx_built; /* likewise Boost.Interprocess and iceoryx */
const char *iceoryx_broker(void); /* how iceoryx's broker was had, or NULL when not tried */

/* The harness's side (harness.c). */

/* The signal that stops the run, or 0: every blocking wait comes back when it is set. */
extern volatile sig_atomic_t stop_signal;

uint64_t now_ns(void);

/*
 * Write a new name of this run into BUF: PREFIX, "/pshm-bench-chan-", the process ID, a
 * sequence number, SUFFIX.
 */
void new_name(char *buf, size_t len, const char *prefix, const char *suffix);

/* Remember the file PATH to remove; and NAME as direction DIR's message queue, "" for none. */
void note_path(const char *path);
void note_mq(int dir, const char *name);

/* Remove every name noted, as teardown does, and as a signal or an error does at the end. */
void remove_made(void);

/*
 * What a call that moved N bytes of a LEN-byte message means, ERR being its errno when N < 0:
 * 0 when the message went whole, 1 to make the call again (a signal that does not stop the
 * run), or a negative errno.
 */
static inline int msg_outcome(ssize_t n, size_t len, int err)
{
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		return -EPROTO;
	return err == EINTR && !stop_signal ? 1 : -err;
}

#ifdef __cplusplus
}
#endif

#endif
