/*
 * xfer.c - moving data to an unrelated process, through each technique and through a
 * pipe and a Unix socket: the writer's side (the reader is peer.c).
 *
 * Shared memory: one segment per technique holds a header page (struct xfer_hdr) and a buffer
 * as big as the largest message. For each message the writer copies it in from its own memory,
 * stamps it with its sequence number, sets the length and publishes the number (release); the
 * reader, spinning briefly and then yielding or sleeping, acquires it, reads every byte into a
 * checksum, stores the checksum and acknowledges (release). The writer waits for the
 * acknowledgement before the next message: a single buffer handed back and forth.
 *
 * Pipe and Unix socket (SOCK_STREAM): a command gives the count and size, the writer write()s
 * every message from the same memory, the reader read()s each whole message into its buffer
 * and checksums it, and answers the batch's total.
 *
 * Every checksum is verified: the payload is a fixed pattern plus the stamp, so the expected
 * sum is known without reading. The figure is payload bytes over the time from the first copy
 * to the last acknowledgement. How many messages make one measurement is found once per
 * technique and size (growing batches until one takes a good part of the target time); every
 * repetition then sends that many. All readers live for the whole section; each repetition
 * goes through sizes and techniques, the techniques in turn forwards and backwards.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_LIMIT 30.0    /* seconds without an answer: the reader is stuck */
#define MAX_BATCH  1000000 /* messages in one measurement */

extern char **environ;

struct xpeer {
	int kind;
	pid_t pid;
	int pid_slot;
	bool dead;
	struct bench_seg seg; /* shared memory */
	struct xfer_hdr *hdr;
	unsigned char *payload;
	int wfd, rfd; /* pipe or socket */
	uint64_t seq;
	long count[BENCH_MAX_SIZES];
	double wait_start;
};

struct xctx {
	const struct bench_opts *o;
	const struct bench_machine *m;
	unsigned char *src;             /* the messages' contents */
	uint64_t rest[BENCH_MAX_SIZES]; /* checksum of each size with stamp 0 */
};

/* ---- the reader process ------------------------------------------------------------------ */

static int spawn(struct xpeer *x, char *const argv[], const int *keep, int nkeep)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;

	/* The descriptors the reader inherits: its ends only, and only for this spawn. */
	for (int i = 0; i < nkeep; i++)
		fcntl(keep[i], F_SETFD, 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int r = -posix_spawn(&x->pid, "/proc/self/exe", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	for (int i = 0; i < nkeep; i++)
		close(keep[i]);
	if (!r) {
		x->pid_slot = reg_pid(x->pid);
		if (x->pid_slot < 0) {
			kill(x->pid, SIGKILL);
			waitpid(x->pid, NULL, 0);
			return x->pid_slot;
		}
	}
	return r;
}

/* Has the reader gone? Reaps it if so. */
static bool reader_gone(struct xpeer *x)
{
	if (!x->dead && waitpid(x->pid, NULL, WNOHANG) == x->pid) {
		x->dead = true;
		reg_release(x->pid_slot);
		x->pid_slot = -1;
	}
	return x->dead;
}

static bool writer_abort(void *arg)
{
	struct xpeer *x = arg;
	return bench_stop || reader_gone(x) || bench_now() - x->wait_start > WAIT_LIMIT;
}

static int start_shm(struct xpeer *x, const struct xctx *c, uint64_t max)
{
	char ppid[24];
	int r = bseg_create(&x->seg, x->kind, c->m, XFER_HDR + max, 0);
	if (!r)
		r = bseg_map(&x->seg, 0);
	if (r)
		return r;
	x->hdr = x->seg.map;
	x->payload = (unsigned char *)x->seg.map + XFER_HDR;
	memset(x->seg.map, 0, x->seg.len); /* every page in before any timing */
	x->hdr->magic = XFER_MAGIC;
	x->hdr->idle = 1;
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	/* A memfd is reached through this process's descriptor: "memfd:PID:FD". */
	const char *addr = pshm_address(x->seg.seg);
	char *argv[] = {(char *)bench_prog, "--peer", "shm", (char *)addr, ppid, NULL};
	if ((r = spawn(x, argv, NULL, 0)))
		return r;
	x->wait_start = bench_now();
	while (!atomic_load_explicit(&x->hdr->ready, memory_order_acquire)) {
		if (writer_abort(x))
			return bench_stop ? -EINTR : x->dead ? -ECHILD : -ETIMEDOUT;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	return 0;
}

static int start_stream(struct xpeer *x)
{
	int data[2], back[2], keep[2], nkeep, r;
	char ppid[24], rfd[16], wfd[16];

	if (x->kind == BK_PIPE) {
		if (pipe2(data, O_CLOEXEC) < 0)
			return -errno;
		if (pipe2(back, O_CLOEXEC) < 0) {
			r = -errno;
			close(data[0]);
			close(data[1]);
			return r;
		}
		x->wfd = data[1];
		x->rfd = back[0];
		keep[0] = data[0];
		keep[1] = back[1];
		nkeep = 2;
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, data) < 0)
			return -errno;
		x->wfd = x->rfd = data[0];
		keep[0] = keep[1] = data[1];
		nkeep = 1;
	}
	snprintf(rfd, sizeof(rfd), "%d", keep[0]);
	snprintf(wfd, sizeof(wfd), "%d", keep[1]);
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	char *argv[] = {(char *)bench_prog, "--peer", "stream", rfd, wfd, ppid, NULL};
	return spawn(x, argv, keep, nkeep);
}

static void stop_peer(struct xpeer *x)
{
	if (x->hdr)
		atomic_store_explicit(&x->hdr->quit, 1, memory_order_release);
	if (x->wfd >= 0) {
		close(x->wfd); /* the reader sees the end of its stream */
		if (x->rfd != x->wfd)
			close(x->rfd);
		x->wfd = x->rfd = -1;
	}
	if (x->pid > 0 && !x->dead) {
		for (int i = 0; i < 1000 && !reader_gone(x); i++) {
			struct timespec ms = {0, 1000000};
			nanosleep(&ms, NULL);
		}
	}
	/* Still there after a second: the registry kills it at the end. */
	bseg_destroy(&x->seg);
	x->hdr = NULL;
}

/* ---- one measurement --------------------------------------------------------------------- */

/*
 * Where a message of SIZE bytes comes from, and its stamp: sequence number SEQ in its first
 * word, which is what the stamp adds to the checksum. Messages under 8 bytes go unstamped, and
 * come from past the stamped word, which they would otherwise share with the stamped ones.
 */
static unsigned char *msg(const struct xctx *c, uint64_t size)
{
	return c->src + (size < sizeof(uint64_t) ? sizeof(uint64_t) : 0);
}

static uint64_t stamp(const struct xctx *c, uint64_t size, uint64_t seq)
{
	if (size < sizeof(seq))
		return 0;
	memcpy(c->src, &seq, sizeof(seq));
	return seq;
}

/* A batch of messages through shared memory; run under bench_guard, so its result is in R. */
struct shm_batch {
	struct xpeer *x;
	const struct xctx *c;
	int si;
	long count;
	int r;
};

static void send_shm_batch(void *arg)
{
	struct shm_batch *b = arg;
	struct xpeer *x = b->x;
	uint64_t size = b->c->o->sizes[b->si];

	for (long i = 0; i < b->count; i++) {
		uint64_t seq = ++x->seq;
		uint64_t st = stamp(b->c, size, seq);
		memcpy(x->payload, msg(b->c, size), (size_t)size);
		x->hdr->len = size;
		atomic_store_explicit(&x->hdr->seq, seq, memory_order_release);
		x->wait_start = bench_now();
		if (xfer_wait(&x->hdr->ack, seq - 1, NULL, writer_abort, x) != seq) {
			b->r = bench_stop ? -EINTR : x->dead ? -ECHILD : -ETIMEDOUT;
			return;
		}
		if (x->hdr->sum != b->c->rest[b->si] + st) {
			b->r = -EBADMSG;
			return;
		}
	}
}

/* A SIGBUS in the copy (the object shrunk under us, say) is an error, not the end. */
static int send_shm(struct xpeer *x, const struct xctx *c, int si, long count)
{
	struct shm_batch b = {x, c, si, count, 0};
	int r = bench_guard(send_shm_batch, &b);
	return r ? r : b.r;
}

static int read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR && !bench_stop)
			continue;
		if (n <= 0)
			return n == 0 ? -ECHILD : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR && !bench_stop)
			continue;
		if (n < 0)
			return errno == EPIPE ? -ECHILD : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_stream(struct xpeer *x, const struct xctx *c, int si, long count)
{
	uint64_t size = c->o->sizes[si], want = 0, got;
	struct xfer_cmd cmd = {(uint64_t)count, size};
	int r = write_all(x->wfd, &cmd, sizeof(cmd));
	for (long i = 0; i < count && !r; i++) {
		uint64_t seq = ++x->seq;
		want += c->rest[si] + stamp(c, size, seq);
		r = write_all(x->wfd, msg(c, size), (size_t)size);
	}
	if (!r)
		r = read_all(x->rfd, &got, sizeof(got));
	if (!r && got != want)
		r = -EBADMSG;
	return r;
}

/* Bring an idle reader back to short waits with an empty message, not timed. */
static int wake(struct xpeer *x)
{
	uint64_t seq = ++x->seq;

	atomic_store_explicit(&x->hdr->idle, 0, memory_order_relaxed);
	x->hdr->len = 0;
	atomic_store_explicit(&x->hdr->seq, seq, memory_order_release);
	x->wait_start = bench_now();
	if (xfer_wait(&x->hdr->ack, seq - 1, NULL, writer_abort, x) != seq)
		return bench_stop ? -EINTR : x->dead ? -ECHILD : -ETIMEDOUT;
	return x->hdr->sum == 0 ? 0 : -EBADMSG;
}

/*
 * Up to COUNT messages of size number SI, in eight parts, stopping early once twice the target
 * time has passed (the machine got slower since the count was set): the messages sent in *SENT
 * and the seconds they took in *SECS. 0 or a negative errno.
 */
static int measure(struct xpeer *x, const struct xctx *c, int si, long count, long *sent,
                   double *secs)
{
	long part = count / 8 > 0 ? count / 8 : 1;
	int r = x->hdr ? wake(x) : 0;
	double t0 = bench_now();

	for (*sent = 0; *sent < count && !r;) {
		long n = count - *sent < part ? count - *sent : part;
		r = x->hdr ? send_shm(x, c, si, n) : send_stream(x, c, si, n);
		*sent += n;
		if (bench_now() - t0 > 2 * c->o->target)
			break;
	}
	*secs = bench_now() - t0;
	if (x->hdr)
		atomic_store_explicit(&x->hdr->idle, 1, memory_order_relaxed);
	return r;
}

/* How many messages of size SI fill the target time (a warm-up on the way). */
static int calibrate(struct xpeer *x, const struct xctx *c, int si)
{
	double secs;
	long n = 1, sent;
	/* A first message to warm up: the reader may still be starting, its pages cold. */
	int r = measure(x, c, si, 1, &sent, &secs);
	if (r)
		return r;
	for (;;) {
		r = measure(x, c, si, n, &sent, &secs);
		if (r)
			return r;
		if (secs >= c->o->target / 4 || n >= MAX_BATCH)
			break;
		n = secs > 0 && c->o->target / 4 / secs < 16 ? n * 4 : n * 16;
		if (n > MAX_BATCH)
			n = MAX_BATCH;
	}
	double want = (double)sent * c->o->target / (secs > 0 ? secs : 1e-9);
	x->count[si] = want < 1 ? 1 : want > MAX_BATCH ? MAX_BATCH : (long)want;
	return 0;
}

/* ---- the section ------------------------------------------------------------------------- */

static void fail_kind(const struct xctx *c, struct xpeer *x, int err)
{
	char why[320];
	if (err == -EINTR && bench_stop)
		return;
	if (err == -ECHILD)
		snprintf(why, sizeof(why), "the reading process ended unexpectedly");
	else if (err == -ETIMEDOUT)
		snprintf(why, sizeof(why), "the reading process stopped answering");
	else if (err == -EBADMSG)
		snprintf(why, sizeof(why), "the reader's checksum is wrong: data was lost");
	else
		bench_explain(why, sizeof(why), c->m, x->kind, err,
		              XFER_HDR + c->o->sizes[c->o->nsizes - 1]);
	bench_fail(BS_TRANSFER, x->kind, "one-way", "%s", why);
	stop_peer(x);
	x->kind = -1;
}

static void run(struct xpeer *peers, int np, struct xctx *c)
{
	const struct bench_opts *o = c->o;
	for (int rep = -1; rep < o->reps && !bench_stop; rep++) {
		bench_progress("transfer, %s %d of %d", rep < 0 ? "calibration" : "repetition",
		               rep + 1, o->reps);
		for (int si = 0; si < o->nsizes && !bench_stop; si++) {
			for (int j = 0; j < np && !bench_stop; j++) {
				struct xpeer *x = &peers[rep % 2 ? np - 1 - j : j];
				double secs;
				long sent;
				if (x->kind < 0)
					continue;
				int r = rep < 0 ? calibrate(x, c, si)
				                : measure(x, c, si, x->count[si], &sent, &secs);
				if (r)
					fail_kind(c, x, r);
				else if (rep >= 0)
					bench_add(BS_TRANSFER, x->kind, "one-way", o->sizes[si],
					          (double)o->sizes[si] * sent / secs / 1e9, NAN);
			}
		}
	}
}

void bench_transfer(const struct bench_opts *o, const struct bench_machine *m)
{
	struct xpeer peers[BK_N];
	struct xctx c = {o, m, NULL, {0}};
	uint64_t max = o->sizes[o->nsizes - 1];
	int np = 0;

	c.src = malloc((size_t)max + sizeof(uint64_t));
	if (!c.src) {
		for (int k = 0; k < BK_N; k++)
			if (o->kinds & (1u << k))
				bench_fail(BS_TRANSFER, k, "one-way", "out of memory");
		return;
	}
	for (uint64_t i = 0; i < max; i++)
		c.src[i] = (unsigned char)(i * 131 + (i >> 12));
	memset(c.src + max, 0x5a, sizeof(uint64_t));
	for (int si = 0; si < o->nsizes; si++) {
		stamp(&c, o->sizes[si], 0);
		c.rest[si] = xfer_sum(msg(&c, o->sizes[si]), (size_t)o->sizes[si]);
	}
	prctl(PR_SET_TIMERSLACK, 1UL); /* naps as short as asked */
	for (int k = 0; k < BK_N && !bench_stop; k++) {
		if (!(o->kinds & (1u << k)))
			continue;
		if (!m->ok[k]) {
			bench_gap(BS_TRANSFER, k, "one-way", "%s", m->why[k]);
			continue;
		}
		struct xpeer *x = &peers[np];
		memset(x, 0, sizeof(*x));
		x->kind = k;
		x->seg.slot = x->pid_slot = -1;
		x->wfd = x->rfd = -1;
		bench_progress("transfer: starting the %s reader", bench_kind_names[k]);
		int r = k < BK_SHM_N ? start_shm(x, &c, max) : start_stream(x);
		np++;
		if (r)
			fail_kind(&c, x, r);
	}
	run(peers, np, &c);
	for (int i = 0; i < np; i++)
		if (peers[i].kind >= 0)
			stop_peer(&peers[i]);
	prctl(PR_SET_TIMERSLACK, 0UL);
	free(c.src);
}
