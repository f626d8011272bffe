/*
 * ticker - a message channel between two processes: the parent sends numbered timestamps with
 * the zero-copy calls (reserve, fill, commit), a child reads them in place (peek, release) and
 * reports how many arrived, whether in order, and how long each took to cross.
 *
 * Usage: ticker CHANNEL [COUNT]
 */
#include <pshm.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct tick {
	uint64_t number;
	uint64_t sent_ns; /* CLOCK_MONOTONIC, the same clock in both processes */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The child: read until the writer detaches (-EPIPE), checking the order. */
static int reader(const char *addr, uint64_t count)
{
	/* Everything ready before attaching: the writer starts when the reader is there. */
	uint64_t *lat = calloc(count, sizeof(*lat)), n = 0;
	if (!lat) {
		fprintf(stderr, "ticker: reader: out of memory\n");
		return 1;
	}
	memset(lat, 0, count * sizeof(*lat));
	struct pshm_chan *ch;
	int r = pshm_chan_open(&ch, addr, PSHM_CHAN_READER, 0);
	if (r < 0) {
		fprintf(stderr, "ticker: reader: open %s: %s\n", addr, pshm_strerror(r));
		return 1;
	}
	for (;;) {
		const void *p;
		size_t len;
		r = pshm_chan_peek(ch, &p, &len, PSHM_CHAN_FOREVER);
		if (r < 0)
			break;
		struct tick t;
		if (len != sizeof(t)) {
			fprintf(stderr, "ticker: reader: a message of %zu bytes\n", len);
			return 1;
		}
		memcpy(&t, p, sizeof(t));
		uint64_t at = now_ns();
		if (t.number != n || n >= count) {
			fprintf(stderr, "ticker: reader: message %llu where %llu was due\n",
			        (unsigned long long)t.number, (unsigned long long)n);
			return 1;
		}
		lat[n++] = at - t.sent_ns;
		pshm_chan_release(ch);
	}
	pshm_chan_close(ch);
	if (r != -EPIPE) {
		fprintf(stderr, "ticker: reader: %s\n", pshm_strerror(r));
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("reader: %llu of %llu messages, all in order; one way: median %llu ns, "
	       "90%% under %llu ns\n",
	       (unsigned long long)n, (unsigned long long)count,
	       (unsigned long long)(n ? lat[n / 2] : 0),
	       (unsigned long long)(n ? lat[n * 9 / 10] : 0));
	free(lat);
	fflush(stdout); /* the child ends with _exit(), which flushes nothing */
	return n == count ? 0 : 1;
}

/* The parent: one message every 10 microseconds, then a clean detach. */
static int writer(const char *addr, uint64_t count)
{
	struct pshm_chan *ch;
	int r = pshm_chan_open(&ch, addr, PSHM_CHAN_WRITER, 0);
	if (r < 0) {
		fprintf(stderr, "ticker: writer: open %s: %s\n", addr, pshm_strerror(r));
		return 1;
	}
	/* Start once the reader is there, so that no message waits for it to attach. */
	struct pshm_chan_stat st;
	for (int i = 0; i < 5000 && pshm_chan_stat_addr(addr, &st) == 0 && st.readers == 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	for (uint64_t i = 0; i < count; i++) {
		void *p;
		/* A reader that never comes makes this fail with -ETIMEDOUT after 5 s. */
		r = pshm_chan_reserve(ch, sizeof(struct tick), &p, 5000);
		if (r < 0)
			break;
		struct tick t = {i, now_ns()};
		memcpy(p, &t, sizeof(t));
		pshm_chan_commit(ch, sizeof(t));
		for (uint64_t until = now_ns() + 10000; now_ns() < until;)
			;
	}
	if (r < 0) {
		fprintf(stderr, "ticker: writer: %s\n", pshm_strerror(r));
		pshm_chan_close(ch);
		return 1;
	}
	/* Before the close, which lets the reader finish. */
	printf("writer: %llu messages sent, one every 10 us\n", (unsigned long long)count);
	fflush(stdout);
	pshm_chan_close(ch);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ticker CHANNEL [COUNT]\n");
		return 2;
	}
	const char *addr = argv[1];
	char *end;
	uint64_t count = argc == 3 ? strtoull(argv[2], &end, 10) : 10000;
	if (argc == 3 && (*end || !count || count > 100000000)) {
		fprintf(stderr, "ticker: bad count: %s\n", argv[2]);
		return 2;
	}
	int r = pshm_chan_create(addr, 65536, 0600, 0);
	if (r < 0) {
		fprintf(stderr, "ticker: create %s: %s\n", addr, pshm_strerror(r));
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("ticker: fork");
		pshm_shm_unlink(addr);
		return 1;
	}
	if (pid == 0)
		_exit(reader(addr, count));
	int status = writer(addr, count), st = 0;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		status = 1;
	pshm_destroy_addr(addr);
	return status;
}
