/*
 * peer.c - the reading end of pshm-bench's transfers, and what both ends share.
 *
 * The reader is an unrelated process: the writer starts /proc/self/exe afresh (posix_spawn), so
 * it inherits no mapping. It runs this mode of the program, never listed in --help:
 *
 *   pshm-bench --peer shm ADDR PPID        open the segment at ADDR ("memfd:PID:FD" for a
 *                                          memfd) and read what is handed over in it
 *   pshm-bench --peer stream RFD WFD PPID  read commands and messages from descriptor RFD (a
 *                                          pipe or a Unix socket it inherited), and answer
 *                                          each batch's checksum on WFD
 *
 * PPID is the writer; the reader ends when it goes (PR_SET_PDEATHSIG), and creates nothing, so
 * nothing of it needs cleaning up. The shared-memory protocol is in bench.h (struct xfer_hdr).
 */
#include "benchutil.h"
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define SPIN_SECS   0.000005 /* poll for this long */
#define YIELD_SECS  0.0005   /* then sched_yield until this long */
#define NAP_NS      20000    /* then sleep this long between looks */
#define LONG_SECS   0.02     /* and after this long, LONG_NS at a time */
#define LONG_NS     200000
#define IDLE_NS     2000000 /* while the writer says it is idle */
#define MAX_MESSAGE (1ULL << 32)

uint64_t xfer_sum(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, w[4];
	size_t i = 0;

	/* Four sums side by side keep the loads flowing; memcpy makes any alignment fine. */
	for (; i + 32 <= n; i += 32) {
		memcpy(w, b + i, 32);
		s0 += w[0];
		s1 += w[1];
		s2 += w[2];
		s3 += w[3];
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(w, b + i, 8);
		s0 += w[0];
	}
	for (; i < n; i++)
		s1 += b[i];
	return s0 + s1 + s2 + s3;
}

uint64_t xfer_wait(_Atomic uint64_t *word, uint64_t old, _Atomic uint32_t *idle,
                   bool (*abort)(void *), void *arg)
{
	uint64_t v;
	double t0 = 0;

	for (unsigned i = 1;; i++) {
		v = atomic_load_explicit(word, memory_order_acquire);
		if (v != old)
			return v;
		if (idle && atomic_load_explicit(idle, memory_order_relaxed)) {
			struct timespec nap = {0, IDLE_NS};
			nanosleep(&nap, NULL);
			if (abort(arg))
				return old;
			continue;
		}
		if (i < 64) {
			bench_cpu_relax();
			continue;
		}
		if (i == 64)
			t0 = bench_now();
		double t = bench_now() - t0;
		if (t < SPIN_SECS) {
			bench_cpu_relax();
			continue;
		}
		if (t < YIELD_SECS) {
			sched_yield();
			if (i % 64)
				continue;
		} else {
			struct timespec nap = {0, t < LONG_SECS ? NAP_NS : LONG_NS};
			nanosleep(&nap, NULL);
		}
		if (abort(arg))
			return old;
	}
}

/* ---- the reader ------------------------------------------------------------------------ */

struct peer {
	pid_t ppid;
	struct xfer_hdr *hdr;
};

static bool peer_abort(void *arg)
{
	const struct peer *p = arg;
	return getppid() != p->ppid || atomic_load_explicit(&p->hdr->quit, memory_order_acquire);
}

static int peer_shm(const char *addr, pid_t ppid)
{
	struct pshm_seg *seg;
	struct peer p = {ppid, NULL};
	void *map;
	size_t len;

	int r = pshm_open(&seg, addr, 0);
	if (!r)
		r = pshm_map(seg, 0, &map, &len);
	if (r) {
		fprintf(stderr, "%s: reader: %s: %s\n", bench_prog, addr, pshm_strerror(r));
		return EXIT_FAIL;
	}
	p.hdr = map;
	if (len <= XFER_HDR || p.hdr->magic != XFER_MAGIC) {
		fprintf(stderr, "%s: reader: %s: not a transfer segment\n", bench_prog, addr);
		return EXIT_FAIL;
	}
	const unsigned char *payload = (const unsigned char *)map + XFER_HDR;
	size_t cap = len - XFER_HDR;
	atomic_store_explicit(&p.hdr->ready, 1, memory_order_release);
	uint64_t last = atomic_load_explicit(&p.hdr->seq, memory_order_acquire);
	for (;;) {
		uint64_t seq = xfer_wait(&p.hdr->seq, last, &p.hdr->idle, peer_abort, &p);
		if (seq == last)
			break; /* told to stop, or the writer is gone */
		/* The length comes from another process: never trusted past the mapping. */
		uint64_t n = p.hdr->len;
		if (n > cap) {
			fprintf(stderr, "%s: reader: message of %llu bytes in a %zu-byte buffer\n",
			        bench_prog, (unsigned long long)n, cap);
			return EXIT_FAIL;
		}
		p.hdr->sum = xfer_sum(payload, (size_t)n);
		atomic_store_explicit(&p.hdr->ack, seq, memory_order_release);
		last = seq;
	}
	pshm_close(seg);
	return EXIT_OK;
}

/* Read exactly LEN bytes: 1, 0 at the end of the stream, or -errno. */
static int read_full(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

static int peer_stream(int rfd, int wfd)
{
	unsigned char *buf = NULL;
	uint64_t cap = 0;
	struct xfer_cmd c;
	int r;

	while ((r = read_full(rfd, &c, sizeof(c))) == 1 && c.count) {
		if (c.size > MAX_MESSAGE) {
			r = -EMSGSIZE;
			break;
		}
		if (c.size > cap) {
			free(buf);
			buf = malloc(c.size);
			cap = buf ? c.size : 0;
			if (!buf) {
				r = -ENOMEM;
				break;
			}
		}
		uint64_t total = 0;
		for (uint64_t i = 0; i < c.count && r == 1; i++) {
			r = read_full(rfd, buf, c.size);
			total += xfer_sum(buf, c.size);
		}
		if (r != 1)
			break;
		r = bench_write_all(wfd, &total, sizeof(total));
		if (r < 0)
			break;
	}
	free(buf);
	if (r < 0)
		fprintf(stderr, "%s: reader: %s\n", bench_prog, strerror(-r));
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static int peer_number(const char *s, long *v)
{
	char *end;
	errno = 0;
	*v = strtol(s, &end, 10);
	return *s && !*end && !errno && *v >= 0 && *v <= INT32_MAX ? 0 : -EINVAL;
}

int bench_peer(int argc, char **argv)
{
	long ppid, rfd = -1, wfd = -1;
	bool shm = argc == 4 && !strcmp(argv[1], "shm");
	bool stream = argc == 5 && !strcmp(argv[1], "stream");

	if ((!shm && !stream) || peer_number(argv[argc - 1], &ppid) ||
	    (stream && (peer_number(argv[2], &rfd) || peer_number(argv[3], &wfd)))) {
		fprintf(stderr, "%s: --peer starts the reading process of a run's transfers\n",
		        bench_prog);
		return EXIT_USAGE;
	}
	/* End with the writer, whatever way it ends; it may have gone before this call. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t)ppid)
		return EXIT_FAIL;
	prctl(PR_SET_TIMERSLACK, 1UL);
	if (shm)
		return peer_shm(argv[2], (pid_t)ppid);
	return peer_stream((int)rfd, (int)wfd);
}
