/*
 * bench_chan - message channels against the hardware limit and the usual transports.
 *
 * Usage: bench_chan [--quick] [--json] [--only NAME] [--time MS]
 *
 * Two processes, the first pinned to CPU 0 and the second to CPU 1, pass messages of 8 B,
 * 64 B, 1 KiB and 64 KiB through each transport:
 *
 *   cache line       one shared cache line per direction, spun on (latency only: the limit)
 *   futex            one futex word per direction, every wait a FUTEX_WAIT and every send a
 *                    FUTEX_WAKE (latency only: the limit for a sleeping receiver)
 *   spsc ring        a minimal lock-free ring of fixed-size slots in shared memory, spun on
 *   desc ring        a minimal ring of variable-length messages whose headers live in an
 *                    array of their own (payloads of up to 16 bytes inside them), spun on:
 *                    the channels' layout with nothing else of a channel
 *   chan spin        pshm_chan_send/pshm_chan_recv, pshm_chan_set_spin(1 s): never sleeps
 *   chan default     the same with the default spin (20 us, then a futex sleep)
 *   chan blocking    the same with pshm_chan_set_spin(0): sleeps at once
 *   pipe, unix stream, unix seqpacket, mq (POSIX message queues), zmq (ZeroMQ ipc://, PAIR)
 *
 * Latency: the first process sends a message, the second receives it and sends it back
 * through a second channel (pipe, queue...), and half of each round trip, timed with
 * CLOCK_MONOTONIC, is one sample; the report gives the median, the 99th and the 99.9th
 * percentile of the sorted samples. Throughput: the first process streams messages for a fixed
 * time in nine slices, each timed on the sending side, and the median slice rate is the result;
 * a stop message, acknowledged, ends the stream. Every transport copies each message in and
 * out of its own buffers, the channels and the ring included, so the comparison is like for
 * like. Every measurement is made three times, in three rounds over all of them, and each
 * figure is the median of its three: the machine's load then touches the figures compared alike.
 * --quick makes one round of shorter measurements, a check rather than a result: its 64 KiB
 * figures in particular vary from run to run.
 *
 * The targets are ratios, each printed with PASS or FAIL: the spin channel's 8 B median latency
 * against the cache line's, the blocking channel's against the futex's, and the spin channel's
 * throughput against the ring's at 64 B and 64 KiB and against the pipe's at 64 B. After the
 * table, each is measured in pairs of its two measurements made back to back (seven, quick:
 * three) and judged by the median of the pairs' ratios.
 *
 * The channels live in the shm directory (PSHM_DIR or /dev/shm) and the ZeroMQ socket next to
 * them, under names holding the process ID; the message queues are named likewise. All are
 * removed after each measurement, on error and on SIGINT, SIGTERM or SIGHUP. ZeroMQ is
 * measured only when the program was built with <zmq.h> and libzmq at hand (and not with
 * `make PSHM_BENCH_NO_ZMQ=1`); otherwise its rows say it was not measured. Exit status: 0 when
 * the run completed (whatever the verdicts), 1 on an error, 2 for a usage error.
 */
#include <pshm.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

/*
 * ZeroMQ is measured when <zmq.h> is at hand. The Makefile defines PSHM_BENCH_NO_ZMQ when it
 * does not link libzmq (not found, or PSHM_BENCH_NO_ZMQ=1 given to make), so that a header
 * without its library, or a build told to leave ZeroMQ out, cannot ask for symbols that are not
 * linked. PSHM_BENCH_ZMQ is the one macro the code below tests.
 */
#if !defined(PSHM_BENCH_NO_ZMQ) && defined(__has_include)
#if __has_include(<zmq.h>)
#define PSHM_BENCH_ZMQ 1
#endif
#endif
#ifdef PSHM_BENCH_ZMQ
#include <zmq.h>
#endif

#define NSIZES      4
#define RING_BYTES  (1u << 20) /* the channels' and the ring's capacity */
#define MAX_SAMPLES (1u << 21)
#define WARMUP_RT   2000           /* round trips not counted */
#define WARMUP_MIN  200            /* ... however long they take */
#define MIN_SAMPLES 1000           /* latency samples however long they take */
#define STALL_NS    10000000000ull /* a spinning side gives up after 10 s without progress */
#define SPIN_LONG   1000000000u    /* "spin mode": the longest spin pshm_chan_set_spin takes */
#define NAME_LEN    128
#define SLICES      9 /* throughput: the stream is timed in this many slices */
#define ROUNDS      3 /* every measurement is made this many times, interleaved (quick: once) */

/* The first 8 bytes of every message: a sequence number, or one of these. */
#define CODE_STOP UINT64_MAX
#define CODE_SYNC (UINT64_MAX - 1)

static const size_t sizes[NSIZES] = {8, 64, 1024, 65536};

enum { LAT, TPUT };

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ---- the transports ------------------------------------------------------------------------ */

/* One direction of the spun-on cache line: a counter and the code it carries, on one line. */
struct line {
	alignas(64) _Atomic uint64_t count;
	uint64_t code;
};

/* One direction of the futex ping-pong. */
struct fline {
	alignas(64) _Atomic uint32_t count;
	uint64_t code;
};

/* One direction of the minimal ring: the two indices on lines of their own, then the slots. */
struct ring {
	alignas(64) _Atomic uint64_t head;
	alignas(64) _Atomic uint64_t tail;
	alignas(64) unsigned char slots[];
};

/*
 * One direction of the descriptor ring: variable-length messages whose headers (descriptors)
 * live in an array of their own, so that payloads keep whole cache lines; a message of up to
 * DESC_INLINE bytes travels inside its descriptor. A descriptor is published by storing its
 * number plus one, last, with release.
 */
#define DESC_INLINE 16
#define DESC_COUNT  (RING_BYTES / 64)
struct desc {
	uint32_t len, off;    /* payload bytes; where they are in data[] */
	_Atomic uint64_t seq; /* the message's number plus one, once published */
	unsigned char inl[DESC_INLINE];
};
struct dring {
	alignas(64) _Atomic uint64_t read; /* reader: messages consumed */
	_Atomic uint64_t read_pos;         /* reader: data bytes consumed (a running count) */
	alignas(64) struct desc d[DESC_COUNT];
	alignas(64) unsigned char data[RING_BYTES];
};

/* What one measurement works on; set up before the fork, then each side opens its ends. */
struct tctx {
	size_t size;
	int side; /* 0: the first process (CPU 0), 1: the second */
	/* Shared anonymous memory for the spun-on transports. */
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
	unsigned spin_ns;
	/* Descriptors: pipes, socket pairs, message queues. */
	int fd[2][2]; /* [direction][0 read end, 1 write end]; socket pairs use [d][0] for both */
	char mq_name[2][NAME_LEN];
	mqd_t mq[2];
	/* ZeroMQ. */
	char zmq_path[NAME_LEN + PATH_MAX];
	void *zctx, *zsock;
};

struct transport {
	const char *name;
	const char *desc;
	bool lat_only; /* a limit measured at 8 B latency only */
	/* Before the fork: make what both sides share. NULL when unavailable, else "" or reason. */
	const char *(*setup)(struct tctx *c);
	int (*open)(struct tctx *c); /* after the fork, in each process */
	int (*send)(struct tctx *c, int dir, const void *buf, size_t len);
	int (*recv)(struct tctx *c, int dir, void *buf, size_t len);
	void (*close)(struct tctx *c);    /* each process, after the run */
	void (*teardown)(struct tctx *c); /* the first process, after the second is gone */
};

/* Every name made, so that a signal's cleanup finds them. */
static char made_paths[8][NAME_LEN + PATH_MAX];
static char made_mqs[2][NAME_LEN];
static unsigned name_seq;

static void remove_made(void)
{
	for (size_t i = 0; i < sizeof(made_paths) / sizeof(made_paths[0]); i++) {
		if (made_paths[i][0])
			unlink(made_paths[i]);
		made_paths[i][0] = '\0';
	}
	for (size_t i = 0; i < 2; i++) {
		if (made_mqs[i][0])
			mq_unlink(made_mqs[i]);
		made_mqs[i][0] = '\0';
	}
}

static void note_path(const char *path)
{
	for (size_t i = 0; i < sizeof(made_paths) / sizeof(made_paths[0]); i++) {
		if (!made_paths[i][0]) {
			snprintf(made_paths[i], sizeof(made_paths[i]), "%s", path);
			return;
		}
	}
}

/* A spinning side's check: 0 to go on, or why to stop. */
static int spin_check(uint64_t *since)
{
	if (stop_signal)
		return -EINTR;
	uint64_t t = now_ns();
	if (!*since)
		*since = t;
	else if (t - *since > STALL_NS)
		return -ETIMEDOUT;
	return 0;
}

static const char *shared_setup(struct tctx *c, size_t len)
{
	c->shared_len = len;
	c->shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->shared == MAP_FAILED) {
		c->shared = NULL;
		return NULL;
	}
	return "";
}

static void shared_teardown(struct tctx *c)
{
	if (c->shared)
		munmap(c->shared, c->shared_len);
	c->shared = NULL;
}

static int nothing(struct tctx *c)
{
	(void)c;
	return 0;
}

static void nothing_close(struct tctx *c)
{
	(void)c;
}

/* Cache line. */
static const char *line_setup(struct tctx *c)
{
	if (!shared_setup(c, 4096))
		return NULL;
	c->line[0] = c->shared;
	c->line[1] = c->line[0] + 1;
	return "";
}

static int line_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	(void)len;
	struct line *l = c->line[dir];
	memcpy(&l->code, buf, sizeof(l->code));
	atomic_store_explicit(&l->count, ++c->sent[dir], memory_order_release);
	return 0;
}

static int line_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)len;
	struct line *l = c->line[dir];
	uint64_t since = 0;
	for (unsigned i = 1; atomic_load_explicit(&l->count, memory_order_acquire) == c->seen[dir];
	     i++) {
		cpu_relax();
		if (i % (1u << 20) == 0 && spin_check(&since))
			return spin_check(&since);
	}
	c->seen[dir]++;
	memcpy(buf, &l->code, sizeof(l->code));
	return 0;
}

/* Futex. */
static const char *futex_setup(struct tctx *c)
{
	if (!shared_setup(c, 4096))
		return NULL;
	c->fline[0] = c->shared;
	c->fline[1] = c->fline[0] + 1;
	return "";
}

static int futex_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	(void)len;
	struct fline *l = c->fline[dir];
	memcpy(&l->code, buf, sizeof(l->code));
	atomic_store_explicit(&l->count, (uint32_t)++c->sent[dir], memory_order_release);
	syscall(SYS_futex, (uint32_t *)&l->count, FUTEX_WAKE, 1, NULL, NULL, 0);
	return 0;
}

static int futex_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)len;
	struct fline *l = c->fline[dir];
	uint32_t old = (uint32_t)c->seen[dir];
	struct timespec slice = {.tv_sec = 0, .tv_nsec = 100000000};
	uint64_t since = 0;
	while (atomic_load_explicit(&l->count, memory_order_acquire) == old) {
		long r =
		    syscall(SYS_futex, (uint32_t *)&l->count, FUTEX_WAIT, old, &slice, NULL, 0);
		if (r < 0 && errno == ETIMEDOUT && spin_check(&since))
			return spin_check(&since);
		if (stop_signal)
			return -EINTR;
	}
	c->seen[dir]++;
	memcpy(buf, &l->code, sizeof(l->code));
	return 0;
}

/* The minimal ring: fixed-size slots, each STRIDE bytes. */
static const char *ring_setup_stride(struct tctx *c, size_t stride)
{
	size_t one = sizeof(struct ring) + RING_BYTES;
	if (!shared_setup(c, 2 * one))
		return NULL;
	c->ring[0] = c->shared;
	c->ring[1] = (struct ring *)((unsigned char *)c->shared + one);
	c->stride = stride;
	c->nslots = RING_BYTES / stride;
	return "";
}

/* Slots the size of a message. */
static const char *ring_setup(struct tctx *c)
{
	return ring_setup_stride(c, c->size);
}

static int ring_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	struct ring *r = c->ring[dir];
	uint64_t h = c->own[dir], since = 0;
	if (h - c->cached[dir] == c->nslots) {
		for (unsigned i = 1;; i++) {
			c->cached[dir] = atomic_load_explicit(&r->tail, memory_order_acquire);
			if (h - c->cached[dir] < c->nslots)
				break;
			cpu_relax();
			if (i % (1u << 20) == 0 && spin_check(&since))
				return spin_check(&since);
		}
	}
	memcpy(r->slots + (h % c->nslots) * c->stride, buf, len);
	c->own[dir] = h + 1;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}

static int ring_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	struct ring *r = c->ring[dir];
	uint64_t t = c->own[dir], since = 0;
	if (t == c->cached[dir]) {
		for (unsigned i = 1;; i++) {
			c->cached[dir] = atomic_load_explicit(&r->head, memory_order_acquire);
			if (c->cached[dir] != t)
				break;
			cpu_relax();
			if (i % (1u << 20) == 0 && spin_check(&since))
				return spin_check(&since);
		}
	}
	memcpy(buf, r->slots + (t % c->nslots) * c->stride, len);
	c->own[dir] = t + 1;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return 0;
}

/* The descriptor ring. */
static const char *dring_setup(struct tctx *c)
{
	return shared_setup(c, 2 * sizeof(struct dring)) ? "" : NULL;
}

static int dring_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	struct dring *r = (struct dring *)c->shared + dir;
	uint64_t seq = c->own[dir], pos = c->pos[dir], since = 0;
	size_t alen = (len + 7) & ~(size_t)7;
	if (len > DESC_INLINE) {
		if (pos % RING_BYTES + alen > RING_BYTES) /* a payload never wraps */
			pos += RING_BYTES - pos % RING_BYTES;
		pos += alen;
	}
	for (unsigned i = 1; seq - c->cached[dir] >= DESC_COUNT || pos - c->cpos[dir] > RING_BYTES;
	     i++) {
		c->cached[dir] = atomic_load_explicit(&r->read, memory_order_acquire);
		c->cpos[dir] = atomic_load_explicit(&r->read_pos, memory_order_relaxed);
		if (seq - c->cached[dir] < DESC_COUNT && pos - c->cpos[dir] <= RING_BYTES)
			break;
		cpu_relax();
		if (i % (1u << 20) == 0 && spin_check(&since))
			return spin_check(&since);
	}
	struct desc *d = &r->d[seq % DESC_COUNT];
	d->len = (uint32_t)len;
	if (len > DESC_INLINE) {
		d->off = (uint32_t)((pos - alen) % RING_BYTES);
		memcpy(r->data + d->off, buf, len);
	} else {
		memcpy(d->inl, buf, len);
	}
	atomic_store_explicit(&d->seq, seq + 1, memory_order_release);
	c->own[dir] = seq + 1;
	c->pos[dir] = pos;
	return 0;
}

static int dring_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)len;
	struct dring *r = (struct dring *)c->shared + dir;
	uint64_t seq = c->own[dir], since = 0;
	struct desc *d = &r->d[seq % DESC_COUNT];
	for (unsigned i = 1; atomic_load_explicit(&d->seq, memory_order_acquire) != seq + 1; i++) {
		cpu_relax();
		if (i % (1u << 20) == 0 && spin_check(&since))
			return spin_check(&since);
	}
	size_t n = d->len;
	if (n > DESC_INLINE) {
		uint64_t pos = c->pos[dir];
		if (d->off != pos % RING_BYTES)
			pos += RING_BYTES - pos % RING_BYTES;
		memcpy(buf, r->data + d->off, n);
		c->pos[dir] = pos + ((n + 7) & ~(size_t)7);
	} else {
		memcpy(buf, d->inl, n);
	}
	c->own[dir] = seq + 1;
	atomic_store_explicit(&r->read_pos, c->pos[dir], memory_order_relaxed);
	atomic_store_explicit(&r->read, seq + 1, memory_order_release);
	return 0;
}

/* Channels: one per direction, made before the fork and attached by each side after it. */
static const char *chan_setup(struct tctx *c)
{
	for (int d = 0; d < 2; d++) {
		snprintf(c->chan_addr[d], sizeof(c->chan_addr[d]), "/pshm-bench-chan-%ld-%u",
		         (long)getpid(), name_seq++);
		char path[NAME_LEN + PATH_MAX];
		snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), c->chan_addr[d]);
		note_path(path);
		int r = pshm_chan_create(c->chan_addr[d], RING_BYTES, 0600, 0);
		if (r) {
			fprintf(stderr, "bench_chan: pshm_chan_create %s: %s\n", c->chan_addr[d],
			        pshm_strerror(r));
			return NULL;
		}
	}
	return "";
}

static int chan_open_with(struct tctx *c, unsigned spin_ns)
{
	/* Direction 0 goes from the first process to the second, direction 1 back. */
	for (int d = 0; d < 2; d++) {
		int role = (d == c->side) ? PSHM_CHAN_WRITER : PSHM_CHAN_READER;
		int r = pshm_chan_open(&c->chan[d], c->chan_addr[d], role, 0);
		if (!r)
			r = pshm_chan_set_spin(c->chan[d], spin_ns);
		if (r)
			return r;
	}
	return 0;
}

static int chan_open_spin(struct tctx *c)
{
	return chan_open_with(c, SPIN_LONG);
}

static int chan_open_default(struct tctx *c)
{
	/* The handle starts with the default spin; setting nothing keeps it. */
	for (int d = 0; d < 2; d++) {
		int role = (d == c->side) ? PSHM_CHAN_WRITER : PSHM_CHAN_READER;
		int r = pshm_chan_open(&c->chan[d], c->chan_addr[d], role, 0);
		if (r)
			return r;
	}
	return 0;
}

static int chan_open_block(struct tctx *c)
{
	return chan_open_with(c, 0);
}

static int chan_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	return pshm_chan_send(c->chan[dir], buf, len, PSHM_CHAN_FOREVER);
}

static int chan_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	size_t n;
	int r = pshm_chan_recv(c->chan[dir], buf, len, &n, PSHM_CHAN_FOREVER);
	return r ? r : n == len ? 0 : -EPROTO;
}

static void chan_close(struct tctx *c)
{
	for (int d = 0; d < 2; d++) {
		pshm_chan_close(c->chan[d]);
		c->chan[d] = NULL;
	}
}

static void chan_teardown(struct tctx *c)
{
	for (int d = 0; d < 2; d++)
		if (c->chan_addr[d][0])
			pshm_destroy_addr(c->chan_addr[d]);
	remove_made();
}

/* Pipes and socket pairs. */
static const char *pipe_setup(struct tctx *c)
{
	for (int d = 0; d < 2; d++)
		if (pipe2(c->fd[d], O_CLOEXEC))
			return NULL;
	return "";
}

static int pipe_open(struct tctx *c)
{
	/* Keep only this side's ends, so that the other side's death reads as end of file. */
	for (int d = 0; d < 2; d++) {
		int keep = d == c->side ? 1 : 0;
		close(c->fd[d][!keep]);
		c->fd[d][!keep] = -1;
	}
	return 0;
}

static const char *sock_setup_type(struct tctx *c, int type)
{
	int sv[2];
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv))
		return NULL;
	/* A message of 64 KiB must fit a seqpacket socket's send buffer whole. */
	int buf = 4 * 65536 + 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	/* fd[d][1] is where direction d is written, fd[d][0] where it is read. */
	c->fd[0][1] = sv[0];
	c->fd[0][0] = sv[1];
	c->fd[1][1] = sv[1];
	c->fd[1][0] = sv[0];
	return "";
}

static const char *stream_setup(struct tctx *c)
{
	return sock_setup_type(c, SOCK_STREAM);
}

static const char *seqpacket_setup(struct tctx *c)
{
	return sock_setup_type(c, SOCK_SEQPACKET);
}

static int sock_open(struct tctx *c)
{
	/* The first process keeps sv[0] (fd[0][1]), the second sv[1]. */
	int mine = c->side == 0 ? c->fd[0][1] : c->fd[0][0];
	int other = c->side == 0 ? c->fd[0][0] : c->fd[0][1];
	close(other);
	c->fd[0][0] = c->fd[0][1] = c->fd[1][0] = c->fd[1][1] = mine;
	return 0;
}

static int fd_write_all(struct tctx *c, int dir, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(c->fd[dir][1], p, len);
		if (n < 0) {
			if (errno == EINTR && !stop_signal)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_read_all(struct tctx *c, int dir, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(c->fd[dir][0], p, len);
		if (n < 0) {
			if (errno == EINTR && !stop_signal)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int packet_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(c->fd[dir][1], buf, len, 0);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EPROTO;
		if (errno != EINTR || stop_signal)
			return -errno;
	}
}

static int packet_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(c->fd[dir][0], buf, len, 0);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return n == 0 ? -EPIPE : -EPROTO;
		if (errno != EINTR || stop_signal)
			return -errno;
	}
}

static void fd_close(struct tctx *c)
{
	for (int d = 0; d < 2; d++)
		for (int e = 0; e < 2; e++) {
			/* Socket pairs share one descriptor across the four slots. */
			int fd = c->fd[d][e];
			if (fd < 0)
				continue;
			close(fd);
			for (int dd = 0; dd < 2; dd++)
				for (int ee = 0; ee < 2; ee++)
					if (c->fd[dd][ee] == fd)
						c->fd[dd][ee] = -1;
		}
}

/* POSIX message queues. */
static long mq_msgsize_max(void)
{
	long v = -1;
	FILE *f = fopen("/proc/sys/fs/mqueue/msgsize_max", "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static long mq_msg_max(void)
{
	long v = 10;
	FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 10;
		fclose(f);
	}
	return v;
}

static char mq_reason[128];

static const char *mq_setup(struct tctx *c)
{
	long max = mq_msgsize_max();
	if (max >= 0 && (long)c->size > max) {
		snprintf(mq_reason, sizeof(mq_reason),
		         "unavailable: above /proc/sys/fs/mqueue/msgsize_max (%ld)", max);
		return mq_reason;
	}
	struct mq_attr attr = {.mq_maxmsg = mq_msg_max(), .mq_msgsize = (long)c->size};
	for (int d = 0; d < 2; d++) {
		snprintf(c->mq_name[d], sizeof(c->mq_name[d]), "/pshm-bench-chan-%ld-%u",
		         (long)getpid(), name_seq++);
		snprintf(made_mqs[d], sizeof(made_mqs[d]), "%s", c->mq_name[d]);
		c->mq[d] =
		    mq_open(c->mq_name[d], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
		if (c->mq[d] == (mqd_t)-1) {
			snprintf(mq_reason, sizeof(mq_reason), "unavailable: mq_open: %s",
			         strerror(errno));
			made_mqs[d][0] = '\0';
			return mq_reason;
		}
	}
	return "";
}

static int mq_tsend(struct tctx *c, int dir, const void *buf, size_t len)
{
	while (mq_send(c->mq[dir], buf, len, 0)) {
		if (errno != EINTR || stop_signal)
			return -errno;
	}
	return 0;
}

static int mq_trecv(struct tctx *c, int dir, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = mq_receive(c->mq[dir], buf, len, NULL);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EPROTO;
		if (errno != EINTR || stop_signal)
			return -errno;
	}
}

static void mq_tclose(struct tctx *c)
{
	for (int d = 0; d < 2; d++) {
		if (c->mq[d] != (mqd_t)-1)
			mq_close(c->mq[d]);
		c->mq[d] = (mqd_t)-1;
	}
}

static void mq_teardown(struct tctx *c)
{
	mq_tclose(c);
	remove_made();
}

/* ZeroMQ: one PAIR socket each, carrying both directions; the first process binds. */
#ifdef PSHM_BENCH_ZMQ
static const char *zmq_setup(struct tctx *c)
{
	snprintf(c->zmq_path, sizeof(c->zmq_path), "%s/pshm-bench-chan-%ld-%u.ipc", pshm_shm_dir(),
	         (long)getpid(), name_seq++);
	note_path(c->zmq_path);
	return "";
}

static int zmq_topen(struct tctx *c)
{
	char ep[NAME_LEN + PATH_MAX + 8];
	snprintf(ep, sizeof(ep), "ipc://%s", c->zmq_path);
	c->zctx = zmq_ctx_new();
	if (!c->zctx)
		return -errno;
	c->zsock = zmq_socket(c->zctx, ZMQ_PAIR);
	if (!c->zsock)
		return -errno;
	/* Long enough for the last echo to leave before the socket closes; 0 would drop it. */
	int linger = 2000;
	zmq_setsockopt(c->zsock, ZMQ_LINGER, &linger, sizeof(linger));
	int r = c->side == 0 ? zmq_bind(c->zsock, ep) : zmq_connect(c->zsock, ep);
	return r ? -zmq_errno() : 0;
}

static int zmq_tsend(struct tctx *c, int dir, const void *buf, size_t len)
{
	(void)dir;
	for (;;) {
		int n = zmq_send(c->zsock, buf, len, 0);
		if (n == (int)len)
			return 0;
		if (n >= 0)
			return -EPROTO;
		if (zmq_errno() != EINTR || stop_signal)
			return -zmq_errno();
	}
}

static int zmq_trecv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)dir;
	for (;;) {
		int n = zmq_recv(c->zsock, buf, len, 0);
		if (n == (int)len)
			return 0;
		if (n >= 0)
			return -EPROTO;
		if (zmq_errno() != EINTR || stop_signal)
			return -zmq_errno();
	}
}

static void zmq_tclose(struct tctx *c)
{
	if (c->zsock)
		zmq_close(c->zsock);
	if (c->zctx)
		zmq_ctx_term(c->zctx);
	c->zsock = c->zctx = NULL;
}
#else
static const char *zmq_setup(struct tctx *c)
{
	(void)c;
	return "unavailable: built without ZeroMQ";
}
#define zmq_topen  nothing
#define zmq_tsend  NULL
#define zmq_trecv  NULL
#define zmq_tclose nothing_close
#endif

static void remove_teardown(struct tctx *c)
{
	(void)c;
	remove_made();
}

static void fd_teardown(struct tctx *c)
{
	fd_close(c);
}

enum {
	T_LINE,
	T_FUTEX,
	T_RING,
	T_DRING,
	T_CSPIN,
	T_CDEF,
	T_CBLOCK,
	T_PIPE,
	T_STREAM,
	T_SEQP,
	T_MQ,
	T_ZMQ,
	NT
};

static const struct transport transports[NT] = {
    [T_LINE] = {"cache line", "one shared cache line per direction, spun on", true, line_setup,
                nothing, line_send, line_recv, nothing_close, shared_teardown},
    [T_FUTEX] = {"futex",
                 "a futex word per direction: FUTEX_WAKE each send, FUTEX_WAIT each "
                 "receive",
                 true, futex_setup, nothing, futex_send, futex_recv, nothing_close,
                 shared_teardown},
    [T_RING] = {"spsc ring", "minimal lock-free ring of fixed-size slots, spun on", false,
                ring_setup, nothing, ring_send, ring_recv, nothing_close, shared_teardown},
    [T_DRING] = {"desc ring",
                 "variable-length messages, headers in an array of their own, payloads of up to "
                 "16 bytes inside them",
                 false, dring_setup, nothing, dring_send, dring_recv, nothing_close,
                 shared_teardown},
    [T_CSPIN] = {"chan spin", "pshm_chan_send/recv, pshm_chan_set_spin(1 s)", false, chan_setup,
                 chan_open_spin, chan_send, chan_recv, chan_close, chan_teardown},
    [T_CDEF] = {"chan default", "pshm_chan_send/recv, the default spin (20 us)", false, chan_setup,
                chan_open_default, chan_send, chan_recv, chan_close, chan_teardown},
    [T_CBLOCK] = {"chan blocking", "pshm_chan_send/recv, pshm_chan_set_spin(0)", false, chan_setup,
                  chan_open_block, chan_send, chan_recv, chan_close, chan_teardown},
    [T_PIPE] = {"pipe", "two pipes", false, pipe_setup, pipe_open, fd_write_all, fd_read_all,
                fd_close, fd_teardown},
    [T_STREAM] = {"unix stream", "socketpair(AF_UNIX, SOCK_STREAM)", false, stream_setup, sock_open,
                  fd_write_all, fd_read_all, fd_close, fd_teardown},
    [T_SEQP] = {"unix seqpacket", "socketpair(AF_UNIX, SOCK_SEQPACKET)", false, seqpacket_setup,
                sock_open, packet_send, packet_recv, fd_close, fd_teardown},
    [T_MQ] = {"mq", "POSIX message queues (mq_open), one per direction", false, mq_setup, nothing,
              mq_tsend, mq_trecv, mq_tclose, mq_teardown},
    [T_ZMQ] = {"zmq", "ZeroMQ PAIR sockets over ipc://", false, zmq_setup, zmq_topen, zmq_tsend,
               zmq_trecv, zmq_tclose, remove_teardown},
};

/* ---- one measurement ------------------------------------------------------------------------ */

struct result {
	const char *unavailable; /* NULL when measured */
	bool measured;
	double med_ns, p99_ns, p999_ns; /* one-way latency */
	long samples;
	double msgs_per_s, gb_per_s; /* the median slice */
	double overall_per_s;        /* all messages over the whole stream, the stop included */
	uint64_t messages;
};

struct opts {
	bool quick, json;
	uint64_t run_ns;  /* how long each measurement runs */
	const char *only; /* measure only the transports whose name holds this */
};

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static bool pinned;

static uint64_t code_of(const void *buf)
{
	uint64_t v;
	memcpy(&v, buf, sizeof(v));
	return v;
}

static void set_code(void *buf, uint64_t v)
{
	memcpy(buf, &v, sizeof(v));
}

/* The second process: echo every message (latency) or only the sync and stop (throughput). */
static int echo_side(const struct transport *t, struct tctx *c, int what, void *buf)
{
	for (;;) {
		int r = t->recv(c, 0, buf, c->size);
		if (r)
			return r;
		uint64_t code = code_of(buf);
		if (what == LAT || code >= CODE_SYNC) {
			r = t->send(c, 1, buf, c->size);
			if (r)
				return r;
		}
		if (code == CODE_STOP)
			return 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, long n, double p)
{
	long i = (long)(p * (double)n + 0.999999) - 1;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return (double)v[i] / 2.0;
}

static int round_trip(const struct transport *t, struct tctx *c, void *out, void *in)
{
	int r = t->send(c, 0, out, c->size);
	return r ? r : t->recv(c, 1, in, c->size);
}

static int lat_side(const struct transport *t, struct tctx *c, const struct opts *o,
                    uint64_t *samples, struct result *res, void *out, void *in)
{
	int r;
	/* Warm the caches and the paths up; bounded in time too, for the slow transports. */
	uint64_t warm_end = now_ns() + o->run_ns / 8;
	for (uint64_t i = 0; i < WARMUP_RT && (i < WARMUP_MIN || now_ns() < warm_end); i++) {
		set_code(out, i);
		if ((r = round_trip(t, c, out, in)))
			return r;
	}
	long n = 0;
	uint64_t start = now_ns(), prev = start;
	while (n < (long)MAX_SAMPLES) {
		set_code(out, (uint64_t)n);
		if ((r = round_trip(t, c, out, in)))
			return r;
		uint64_t now = now_ns();
		samples[n++] = now - prev;
		prev = now;
		if ((n >= MIN_SAMPLES && now - start >= o->run_ns) || stop_signal)
			break;
	}
	set_code(out, CODE_STOP);
	if ((r = round_trip(t, c, out, in)))
		return r;
	qsort(samples, (size_t)n, sizeof(*samples), cmp_u64);
	res->samples = n;
	res->med_ns = pct(samples, n, 0.5);
	res->p99_ns = pct(samples, n, 0.99);
	res->p999_ns = pct(samples, n, 0.999);
	return 0;
}

static int tput_side(const struct transport *t, struct tctx *c, const struct opts *o,
                     struct result *res, void *out, void *in)
{
	int r;
	/* The second process is attached and running once the sync comes back. */
	set_code(out, CODE_SYNC);
	if ((r = round_trip(t, c, out, in)))
		return r;
	/* The stream is cut into slices timed on the sending side, and the median slice rate is
	 * the result, so that a moment of interference from other work on the machine does not
	 * decide it. The ring's back pressure keeps the sender within a ring of the receiver. */
	double rate[SLICES];
	uint64_t n = 0, start = now_ns(), slice_ns = o->run_ns / SLICES;
	/* Warm up untimed: fresh memory is slow to touch the first times on some virtual
	 * machines. At least WARMUP_MIN messages, then up to two laps of a ring or a quarter of
	 * the measuring time. */
	uint64_t laps = 2 * RING_BYTES / c->size;
	for (uint64_t w = 0; w < WARMUP_MIN || (w < laps && now_ns() - start < o->run_ns / 4);
	     w++) {
		set_code(out, n);
		if ((r = t->send(c, 0, out, c->size)))
			return r;
		n++;
	}
	uint64_t n_warm = n, t_meas = now_ns();
	for (int k = 0; k < SLICES; k++) {
		uint64_t t0 = now_ns(), n0 = n, t1;
		for (;;) {
			set_code(out, n);
			if ((r = t->send(c, 0, out, c->size)))
				return r;
			n++;
			if (n % 16 == 0 && ((t1 = now_ns()) - t0 >= slice_ns || stop_signal))
				break;
		}
		rate[k] = (double)(n - n0) / ((double)(t1 - t0) / 1e9);
	}
	set_code(out, CODE_STOP);
	if ((r = round_trip(t, c, out, in)))
		return r;
	double s = (double)(now_ns() - t_meas) / 1e9;
	qsort(rate, SLICES, sizeof(rate[0]), bench_cmp_double);
	res->messages = n - n_warm;
	res->msgs_per_s = rate[SLICES / 2];
	res->gb_per_s = res->msgs_per_s * (double)c->size / 1e9;
	res->overall_per_s = (double)(n - n_warm) / s;
	return 0;
}

/* Run one transport at one size for one of LAT or TPUT; 0, or a negative errno. */
static int measure_one(const struct transport *t, size_t size, int what, const struct opts *o,
                       uint64_t *samples, struct result *res)
{
	struct tctx c;
	memset(&c, 0, sizeof(c));
	memset(c.fd, -1, sizeof(c.fd));
	c.mq[0] = c.mq[1] = (mqd_t)-1;
	c.size = size;

	const char *why = t->setup(&c);
	if (!why) {
		int e = errno;
		t->teardown(&c);
		return e ? -e : -EIO;
	}
	if (*why) {
		res->unavailable = why;
		t->teardown(&c);
		return 0;
	}
	void *out = aligned_alloc(64, 65536), *in = aligned_alloc(64, 65536);
	if (!out || !in) {
		free(out);
		free(in);
		t->teardown(&c);
		return -ENOMEM;
	}
	memset(out, 0xa5, 65536);
	memset(in, 0, 65536);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		free(out);
		free(in);
		t->teardown(&c);
		return e;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		c.side = 1;
		if (pinned)
			pin(1);
		int r = t->open(&c);
		if (!r)
			r = echo_side(t, &c, what, in);
		t->close(&c);
		if (r && !stop_signal)
			fprintf(stderr, "bench_chan: %s, %zu B, second process: %s\n", t->name,
			        size, pshm_strerror(r));
		_exit(r ? 1 : 0);
	}
	c.side = 0;
	int r = t->open(&c);
	if (!r)
		r = what == LAT ? lat_side(t, &c, o, samples, res, out, in)
		                : tput_side(t, &c, o, res, out, in);
	t->close(&c);
	if (r)
		kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!r && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		r = -EPROTO;
	t->teardown(&c);
	free(out);
	free(in);
	if (!r)
		res->measured = true;
	return r;
}

/* ---- the run and the report ------------------------------------------------------------------ */

struct cell {
	struct result lat, tput;
};

static struct cell cells[NT][NSIZES]; /* the results: medians over the rounds */
static struct cell by_round[ROUNDS][NT][NSIZES];

/* Each figure of a cell is the median of its figures over the rounds that measured it. */
static void combine(int nrounds)
{
	for (int t = 0; t < NT; t++) {
		for (int s = 0; s < NSIZES; s++) {
			struct result *l = &cells[t][s].lat, *p = &cells[t][s].tput;
			double a[5][ROUNDS];
			int nl = 0, np = 0;
			for (int k = 0; k < nrounds; k++) {
				const struct cell *c = &by_round[k][t][s];
				if (c->lat.unavailable)
					l->unavailable = c->lat.unavailable;
				if (c->tput.unavailable)
					p->unavailable = c->tput.unavailable;
				if (c->lat.measured) {
					a[0][nl] = c->lat.med_ns;
					a[1][nl] = c->lat.p99_ns;
					a[2][nl++] = c->lat.p999_ns;
					l->samples += c->lat.samples;
				}
				if (c->tput.measured) {
					a[3][np] = c->tput.msgs_per_s;
					a[4][np++] = c->tput.overall_per_s;
					p->messages += c->tput.messages;
				}
			}
			if (nl) {
				l->measured = true;
				l->med_ns = bench_median(a[0], nl);
				l->p99_ns = bench_median(a[1], nl);
				l->p999_ns = bench_median(a[2], nl);
			}
			if (np) {
				p->measured = true;
				p->msgs_per_s = bench_median(a[3], np);
				p->overall_per_s = bench_median(a[4], np);
				p->gb_per_s = p->msgs_per_s * (double)sizes[s] / 1e9;
			}
		}
	}
}

/*
 * The targets. Each ratio is measured on its own, in PAIRS back-to-back pairs of the two
 * measurements it compares (in alternating order), and the median of the pairs' ratios is the
 * verdict's: on a shared machine the speed of cache-line transfers changes from one second to
 * the next (with where the host runs the two virtual CPUs), and a ratio of figures taken
 * seconds apart would measure that change as much as the channel.
 */
#define PAIRS    7 /* quick: 3 */
#define NTARGETS 5

static const struct target_spec {
	const char *name;
	int what, size_i, ours, base;
	double limit;
	bool at_most; /* PASS when the ratio is at most the limit, else at least */
} target_specs[NTARGETS] = {
    {"spin latency (8 B median) / cache line one-way", LAT, 0, T_CSPIN, T_LINE, 1.3, true},
    {"blocking latency (8 B median) / futex one-way", LAT, 0, T_CBLOCK, T_FUTEX, 1.2, true},
    {"spin throughput / spsc ring, 64 B", TPUT, 1, T_CSPIN, T_RING, 0.8, false},
    {"spin throughput / spsc ring, 64 KiB", TPUT, 3, T_CSPIN, T_RING, 0.9, false},
    {"spin throughput / pipe, 64 B", TPUT, 1, T_CSPIN, T_PIPE, 20.0, false},
};

struct target {
	double ratio, lo, hi; /* the median, least and greatest of the pairs' ratios */
	int pairs;
	bool known;
};

static struct target tgs[NTARGETS];

static double figure(const struct result *r, int what)
{
	return what == LAT ? r->med_ns : r->msgs_per_s;
}

/* Measure the targets' pairs; transports left out by --only leave their targets unknown. */
static int measure_targets(const struct opts *o, uint64_t *samples)
{
	int npairs = o->quick ? 3 : PAIRS;

	for (int i = 0; i < NTARGETS && !stop_signal; i++) {
		const struct target_spec *ts = &target_specs[i];
		const struct transport *a = &transports[ts->ours], *b = &transports[ts->base];
		struct target *tg = &tgs[i];
		double ratios[PAIRS];
		if (o->only && (!strstr(a->name, o->only) || !strstr(b->name, o->only)))
			continue;
		tg->pairs = 0;
		for (int p = 0; p < npairs && !stop_signal; p++) {
			struct result ra, rb;
			int r;
			if (p % 2 == 0) {
				r = measure_one(a, sizes[ts->size_i], ts->what, o, samples, &ra);
				if (!r)
					r = measure_one(b, sizes[ts->size_i], ts->what, o, samples,
					                &rb);
			} else {
				r = measure_one(b, sizes[ts->size_i], ts->what, o, samples, &rb);
				if (!r)
					r = measure_one(a, sizes[ts->size_i], ts->what, o, samples,
					                &ra);
			}
			if (r)
				return r;
			if (!ra.measured || !rb.measured || figure(&rb, ts->what) <= 0)
				break;
			ratios[tg->pairs++] = figure(&ra, ts->what) / figure(&rb, ts->what);
		}
		if (!tg->pairs)
			continue;
		tg->known = true;
		tg->ratio = bench_median(ratios, tg->pairs); /* sorts them */
		tg->lo = ratios[0];
		tg->hi = ratios[tg->pairs - 1];
	}
	return 0;
}

static bool target_pass(int i)
{
	const struct target *t = &tgs[i];
	const struct target_spec *ts = &target_specs[i];
	return t->known && (ts->at_most ? t->ratio <= ts->limit : t->ratio >= ts->limit);
}

static const char *size_name(size_t s)
{
	switch (s) {
	case 8:
		return "8 B";
	case 64:
		return "64 B";
	case 1024:
		return "1 KiB";
	default:
		return "64 KiB";
	}
}

static void print_text(const struct opts *o, uint64_t wall_ns)
{
	printf("pshm channels against the hardware limit and other transports%s: writer on CPU %s, "
	       "reader on CPU %s, %.2f s per measurement, %.1f s in all\n",
	       o->quick ? " (quick)" : "", pinned ? "0" : "any", pinned ? "1" : "any",
	       (double)o->run_ns / 1e9, (double)wall_ns / 1e9);
	printf("latency: one way, half a round trip, in ns (median, p99, p99.9); throughput: "
	       "messages streamed one way\n\n");
	printf("%-15s %-7s %9s %9s %9s %13s %9s\n", "transport", "size", "median", "p99", "p99.9",
	       "messages/s", "GB/s");
	for (int t = 0; t < NT; t++) {
		for (int s = 0; s < NSIZES; s++) {
			const struct cell *c = &cells[t][s];
			if (transports[t].lat_only && s > 0)
				continue;
			const char *un =
			    c->lat.unavailable ? c->lat.unavailable : c->tput.unavailable;
			if (!un && !c->lat.measured && !c->tput.measured)
				continue; /* left out by --only */
			printf("%-15s %-7s ", transports[t].name, size_name(sizes[s]));
			if (un) {
				printf("%s\n", un);
				continue;
			}
			if (c->lat.measured)
				printf("%9.0f %9.0f %9.0f ", c->lat.med_ns, c->lat.p99_ns,
				       c->lat.p999_ns);
			else
				printf("%9s %9s %9s ", "-", "-", "-");
			if (c->tput.measured)
				printf("%13.0f %9.3f\n", c->tput.msgs_per_s, c->tput.gb_per_s);
			else
				printf("%13s %9s\n", "-", "-");
		}
	}
	printf("\ntargets: median ratio of %d back-to-back pairs (least-greatest)\n",
	       o->quick ? 3 : PAIRS);
	for (int i = 0; i < NTARGETS; i++) {
		const struct target_spec *ts = &target_specs[i];
		const struct target *tg = &tgs[i];
		if (!tg->known) {
			printf("  %-48s %7s %15s  %s %-5.1f  %s\n", ts->name, "-", "",
			       ts->at_most ? "<=" : ">=", ts->limit, "not measured");
			continue;
		}
		char range[40];
		snprintf(range, sizeof(range), "(%.3g-%.3g)", tg->lo, tg->hi);
		printf("  %-48s %7.3f %15s  %s %-5.1f  %s\n", ts->name, tg->ratio, range,
		       ts->at_most ? "<=" : ">=", ts->limit, target_pass(i) ? "PASS" : "FAIL");
	}
}

static void print_json(const struct opts *o, uint64_t wall_ns)
{
	printf("{\"quick\": %s, \"pinned\": %s, \"run_s\": %.3f, \"wall_s\": %.3f, "
	       "\"mq_msgsize_max\": %ld, \"zmq\": %s, \"rows\": [",
	       o->quick ? "true" : "false", pinned ? "true" : "false", (double)o->run_ns / 1e9,
	       (double)wall_ns / 1e9, mq_msgsize_max(),
#ifdef PSHM_BENCH_ZMQ
	       "true"
#else
	       "false"
#endif
	);
	bool first = true;
	for (int t = 0; t < NT; t++) {
		for (int s = 0; s < NSIZES; s++) {
			const struct cell *c = &cells[t][s];
			if (transports[t].lat_only && s > 0)
				continue;
			const char *un =
			    c->lat.unavailable ? c->lat.unavailable : c->tput.unavailable;
			if (!un && !c->lat.measured && !c->tput.measured)
				continue; /* left out by --only */
			printf("%s\n  {\"transport\": \"%s\", \"what\": \"%s\", \"size\": %zu",
			       first ? "" : ",", transports[t].name, transports[t].desc, sizes[s]);
			first = false;
			if (un) {
				printf(", \"unavailable\": \"%s\"}", un);
				continue;
			}
			if (c->lat.measured)
				printf(", \"latency_ns\": {\"median\": %.1f, \"p99\": %.1f, "
				       "\"p999\": %.1f, \"samples\": %ld}",
				       c->lat.med_ns, c->lat.p99_ns, c->lat.p999_ns,
				       c->lat.samples);
			if (c->tput.measured)
				printf(
				    ", \"throughput\": {\"msgs_per_s\": %.0f, \"gb_per_s\": %.4f, "
				    "\"overall_msgs_per_s\": %.0f, \"messages\": %llu}",
				    c->tput.msgs_per_s, c->tput.gb_per_s, c->tput.overall_per_s,
				    (unsigned long long)c->tput.messages);
			printf("}");
		}
	}
	printf("\n], \"targets\": [");
	for (int i = 0; i < NTARGETS; i++) {
		const struct target_spec *ts = &target_specs[i];
		const struct target *tg = &tgs[i];
		printf("%s\n  {\"name\": \"%s\", \"limit\": %.2f, \"at_most\": %s, ", i ? "," : "",
		       ts->name, ts->limit, ts->at_most ? "true" : "false");
		if (tg->known)
			printf(
			    "\"ratio\": %.4f, \"least\": %.4f, \"greatest\": %.4f, \"pairs\": %d, "
			    "\"pass\": %s}",
			    tg->ratio, tg->lo, tg->hi, tg->pairs,
			    target_pass(i) ? "true" : "false");
		else
			printf("\"ratio\": null, \"pass\": null}");
	}
	printf("\n]}\n");
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_chan [--quick] [--json] [--only NAME] [--time MS]\n"
	        "  -q, --quick      shorter measurements (about 10 s in all instead of about 60)\n"
	        "  -J, --json       print the results as JSON\n"
	        "  -o, --only NAME  only the transports whose name holds NAME, e.g. chan\n"
	        "  -t, --time MS    milliseconds per measurement (default 120, quick 30)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"quick", no_argument, NULL, 'q'},      {"json", no_argument, NULL, 'J'},
	    {"only", required_argument, NULL, 'o'}, {"time", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	long ms = 0;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "qJo:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			o.quick = true;
			break;
		case 'J':
			o.json = true;
			break;
		case 'o':
			o.only = optarg;
			break;
		case 't':
			errno = 0;
			ms = strtol(optarg, &end, 10);
			if (*end || errno || ms < 1 || ms > 60000) {
				fprintf(stderr, "bench_chan: bad time: %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Three rounds of every measurement, 0.12 s each, then the targets' pairs; a quick run
	 * makes one round and three pairs of 0.03 s each. */
	o.run_ns = ms ? (uint64_t)ms * 1000000ull : o.quick ? 30000000ull : 120000000ull;

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu >= 2 && pin(0) == 0)
		pinned = true;
	else
		fprintf(stderr, "bench_chan: cannot pin to CPUs 0 and 1: running unpinned\n");

	uint64_t *samples = malloc(MAX_SAMPLES * sizeof(*samples));
	if (!samples) {
		fprintf(stderr, "bench_chan: out of memory\n");
		return 1;
	}
	bench_catch_signals(on_signal);
	uint64_t start = now_ns();
	int r = 0, k;
	/* Whole rounds over every transport, so that slow drift in the machine's state touches
	 * the figures compared alike; the results are the medians over the rounds. */
	for (k = 0; k < (o.quick ? 1 : ROUNDS) && !r && !stop_signal; k++) {
		for (int t = 0; t < NT && !r && !stop_signal; t++) {
			for (int s = 0; s < NSIZES && !r && !stop_signal; s++) {
				if ((transports[t].lat_only && s > 0) ||
				    (o.only && !strstr(transports[t].name, o.only)))
					continue;
				struct cell *c = &by_round[k][t][s];
				r = measure_one(&transports[t], sizes[s], LAT, &o, samples,
				                &c->lat);
				if (!r && !transports[t].lat_only && !c->lat.unavailable)
					r = measure_one(&transports[t], sizes[s], TPUT, &o, samples,
					                &c->tput);
				if (r && !stop_signal)
					fprintf(stderr, "bench_chan: %s, %s: %s\n",
					        transports[t].name, size_name(sizes[s]),
					        pshm_strerror(r));
			}
		}
	}
	combine(k);
	if (!r && !stop_signal) {
		r = measure_targets(&o, samples);
		if (r && !stop_signal)
			fprintf(stderr, "bench_chan: targets: %s\n", pshm_strerror(r));
	}
	remove_made();
	free(samples);
	if (stop_signal) {
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
	if (r)
		return 1;
	if (o.json)
		print_json(&o, now_ns() - start);
	else
		print_text(&o, now_ns() - start);
	return 0;
}
