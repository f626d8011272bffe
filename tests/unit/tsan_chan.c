/*
 * tsan_chan.c - a queue channel's writer and reader as two threads of one process, each with
 * its own handle, for ThreadSanitizer: every message is checked, and TSan checks that the
 * payload and the positions are published and consumed with proper ordering. Then a lossless
 * broadcast channel's writer and two readers, one of which sleeps before every message it reads
 * for a while, so that the writer waits for it at almost every message and is woken by it. Then
 * a queue with many writers: three writer threads, each message tagged with its writer and
 * number, and a reader that checks each writer's order and every byte; again with the writers
 * taking turns of TURN messages, so that each takes the claim word, claims with plain stores and
 * has it taken back by the next (chan_many.c). Before all of that, the shm directory's first
 * use in three threads at once, while one of them keeps changing it (name.c).
 *
 * What TSan can see: each handle maps the object at its own address, and TSan tracks memory by
 * address, so it checks the handles' private state and anything the library keeps per process,
 * not the ordering of the ring itself (the cross-process stress tests in test_chan.c and
 * test_chan_bcast.c check that by content). Lossy broadcast mode is left out on purpose: its
 * readers copy messages that the writer may be overwriting and then detect that (a seqlock),
 * which is a data race in the C11 sense by design and would only make TSan report what the
 * design accepts. A lossless writer overwrites nothing a reader has not finished with.
 *
 * Run: make tsan-check. Exits 0 when all messages arrived intact, 1 otherwise (TSan's own
 * reports make it exit 66).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ftw.h>
#include <sys/stat.h>

#include "pshm.h"
#include "chantest.h"

#define CAP     (16 * 1024)
#define MAX_LEN 3000
#define COUNT   200000

static char addr[64];
static char dir[64];

static size_t len_of(uint64_t seq)
{
	return chan_mix(seq) % (MAX_LEN + 1);
}

static void fill(unsigned char *p, uint64_t seq, size_t len)
{
	uint64_t x = chan_mix(seq + 1);
	for (size_t i = 0; i < len; i++) {
		if ((i & 7) == 0)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(x >> (8 * (i & 7)));
	}
}

static uint64_t count = COUNT;

static void *writer(void *arg)
{
	struct pshm_chan *w = arg;
	unsigned char buf[MAX_LEN];
	intptr_t bad = 0;

	for (uint64_t i = 0; i < count && !bad; i++) {
		size_t len = len_of(i);
		int rc;
		if (i & 1) {
			fill(buf, i, len);
			rc = pshm_chan_send(w, buf, len, PSHM_CHAN_FOREVER);
		} else {
			void *q;
			rc = pshm_chan_reserve(w, len, &q, PSHM_CHAN_FOREVER);
			if (rc == 0) {
				fill(q, i, len);
				rc = pshm_chan_commit(w, len);
			}
		}
		if (rc != 0) {
			fprintf(stderr, "tsan_chan: send %llu: %s\n", (unsigned long long)i,
			        pshm_strerror(rc));
			bad = 1;
		}
	}
	if (pshm_chan_close(w) != 0)
		bad = 1;
	return (void *)bad;
}

/* A reader that naps before every 16th message, so that a lossless writer waits for it. */
static struct pshm_chan *napper;

static void *reader(void *arg)
{
	struct pshm_chan *r = arg;
	unsigned char buf[MAX_LEN], want[MAX_LEN];
	intptr_t bad = 0;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < count; i++) {
		const void *p = buf;
		size_t len = 0;
		if (r == napper && i % 16 == 0)
			nanosleep(&(struct timespec){.tv_nsec = 50000}, NULL);
		if (i % 3)
			rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 10000);
		else
			rc = pshm_chan_peek(r, &p, &len, 10000);
		if (rc != 0)
			break;
		fill(want, i, len_of(i));
		if (len != len_of(i) || memcmp(p, want, len) != 0) {
			fprintf(stderr, "tsan_chan: message %llu damaged\n", (unsigned long long)i);
			bad = 1;
			break;
		}
		if (i % 3 == 0 && (rc = pshm_chan_release(r)) != 0)
			break;
	}
	if (rc == 0) {
		size_t len;
		rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 10000);
		if (rc != -EPIPE) {
			fprintf(stderr, "tsan_chan: after the last message: %s\n",
			        pshm_strerror(rc));
			bad = 1;
		}
	} else {
		fprintf(stderr, "tsan_chan: recv %llu: %s\n", (unsigned long long)i,
		        pshm_strerror(rc));
		bad = 1;
	}
	pshm_chan_close(r);
	return (void *)bad;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* A lossless broadcast writer and two readers, one slow: both get every message. */
static int lossless(void)
{
	struct pshm_chan *w = NULL, *r1 = NULL, *r2 = NULL;
	pthread_t tw, t1, t2;
	void *bw, *b1, *b2;
	int rc;

	count = COUNT / 10;
	if ((rc = pshm_chan_create("/tsan-lossless", CAP, 0600,
	                           PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS)) < 0 ||
	    (rc = pshm_chan_open(&r1, "/tsan-lossless", PSHM_CHAN_READER, 0)) < 0 ||
	    (rc = pshm_chan_open(&r2, "/tsan-lossless", PSHM_CHAN_READER, 0)) < 0 ||
	    (rc = pshm_chan_open(&w, "/tsan-lossless", PSHM_CHAN_WRITER, 0)) < 0) {
		fprintf(stderr, "tsan_chan: lossless setup: %s\n", pshm_strerror(rc));
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	napper = r2;
	if (pthread_create(&t1, NULL, reader, r1) != 0 ||
	    pthread_create(&t2, NULL, reader, r2) != 0 || pthread_create(&tw, NULL, writer, w) != 0)
		abort();
	pthread_join(tw, &bw);
	pthread_join(t1, &b1);
	pthread_join(t2, &b2);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (bw || b1 || b2)
		return 1;
	printf("tsan_chan: %llu messages passed from a lossless writer to two readers\n",
	       (unsigned long long)count);
	return 0;
}

/* A many-writer queue's writer thread: COUNT messages, each beginning with its tag. */
struct tagged {
	struct pshm_chan *ch;
	uint64_t id;
	bool turns; /* in turns of TURN messages, writer after writer */
};

#define WRITERS 3   /* many-writer threads */
#define TURN    200 /* messages a writer sends in its turn */
/* Whose turn it is (modulo the writers), moved relaxed: no ordering between the writers but
 * the library's own. */
static _Atomic uint64_t turn;

/* Before message I of writer T: wait for its turn when a turn begins. */
static void take_turn(const struct tagged *t, uint64_t i)
{
	if (!t->turns || i % TURN)
		return;
	while (atomic_load_explicit(&turn, memory_order_relaxed) % WRITERS != t->id)
		sched_yield();
}

/* After message I of writer T: pass the turn on when it ends, or when T has sent all. */
static void end_turn(const struct tagged *t, uint64_t i)
{
	if (t->turns && (i % TURN == TURN - 1 || i == count - 1))
		atomic_fetch_add_explicit(&turn, 1, memory_order_relaxed);
}

static uint64_t tag_of(uint64_t id, uint64_t i)
{
	return id << 40 | i;
}

static void *tagged_writer(void *arg)
{
	struct tagged *t = arg;
	unsigned char buf[MAX_LEN];
	intptr_t bad = 0;

	for (uint64_t i = 0; i < count && !bad; i++) {
		take_turn(t, i);
		uint64_t tag = tag_of(t->id, i);
		size_t len = 8 + len_of(tag) % (MAX_LEN - 8);
		void *q = buf;
		int rc = i & 1 ? pshm_chan_reserve(t->ch, len, &q, PSHM_CHAN_FOREVER) : 0;
		fill(q, tag, len);
		memcpy(q, &tag, 8);
		if (rc == 0)
			rc = i & 1 ? pshm_chan_commit(t->ch, len)
			           : pshm_chan_send(t->ch, buf, len, PSHM_CHAN_FOREVER);
		if (rc != 0) {
			fprintf(stderr, "tsan_chan: writer %llu, send %llu: %s\n",
			        (unsigned long long)t->id, (unsigned long long)i,
			        pshm_strerror(rc));
			bad = 1;
		}
		end_turn(t, i);
	}
	if (pshm_chan_close(t->ch) != 0)
		bad = 1;
	return (void *)bad;
}

/*
 * Three writers into one queue, or one broadcast channel (FLAGS): each writer's messages arrive
 * whole and in its order (in a broadcast channel the reader may lose some to overruns, and reads
 * until the writers have all gone).
 */
static int many(const char *name, unsigned flags, bool turns)
{
	bool bcast = flags & PSHM_CHAN_BROADCAST;
	struct tagged t[WRITERS];
	pthread_t th[WRITERS];
	struct pshm_chan *r = NULL;
	unsigned char buf[MAX_LEN], want[MAX_LEN];
	uint64_t next[WRITERS] = {0};
	int rc = 0, bad = 0;

	count = COUNT / 20;
	if ((rc = pshm_chan_create(name, CAP, 0600, PSHM_CHAN_MANY_WRITERS | flags)) < 0 ||
	    (rc = pshm_chan_open(&r, name, PSHM_CHAN_READER, 0)) < 0) {
		fprintf(stderr, "tsan_chan: many-writer setup: %s\n", pshm_strerror(rc));
		return 1;
	}
	atomic_store(&turn, 0);
	for (int i = 0; i < WRITERS; i++) {
		t[i].id = (uint64_t)i;
		t[i].turns = turns;
		if ((rc = pshm_chan_open(&t[i].ch, name, PSHM_CHAN_WRITER, 0)) < 0) {
			fprintf(stderr, "tsan_chan: writer %d: %s\n", i, pshm_strerror(rc));
			return 1;
		}
	}
	for (int i = 0; i < WRITERS; i++)
		if (pthread_create(&th[i], NULL, tagged_writer, &t[i]) != 0)
			abort();
	uint64_t got = 0;
	for (uint64_t n = 0; (bcast || n < WRITERS * count) && !bad; n++) {
		size_t len = 0;
		uint64_t tag = 0;
		rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 10000);
		if (bcast && rc == -EOVERFLOW)
			continue;
		if (bcast && rc == -EPIPE) {
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		got++;
		if (len >= 8)
			memcpy(&tag, buf, 8);
		uint64_t id = tag >> 40, i = tag & 0xffffffffffull;
		if (len < 8 || id >= WRITERS || (bcast ? i < next[id] : i != next[id]) ||
		    len != 8 + len_of(tag) % (MAX_LEN - 8)) {
			bad = 1;
			break;
		}
		fill(want, tag, len);
		memcpy(want, &tag, 8);
		bad = memcmp(buf, want, len) != 0;
		next[id] = i + 1;
	}
	if (rc != 0 || bad)
		fprintf(stderr, "tsan_chan: many writers: %s\n",
		        rc ? pshm_strerror(rc) : "a message out of order or damaged");
	for (int i = 0; i < WRITERS; i++) {
		void *b;
		pthread_join(th[i], &b);
		bad |= b != NULL;
	}
	pshm_chan_close(r);
	if (rc != 0 || bad)
		return 1;
	printf("tsan_chan: %llu messages of %llu passed from three writers%s to one %s reader\n",
	       (unsigned long long)got, (unsigned long long)(WRITERS * count),
	       turns ? " in turns" : "", bcast ? "broadcast" : "queue");
	return 0;
}

/* The shm directory, changed by one thread while others use it: each sees a whole string. */
#define DIR_ROUNDS 2000
static char subdir[80];

static void *dir_user(void *arg)
{
	struct pshm_seg *seg;
	(void)arg;
	for (int i = 0; i < DIR_ROUNDS; i++) {
		const char *d = pshm_shm_dir();
		if (strcmp(d, dir) != 0 && strcmp(d, subdir) != 0) {
			fprintf(stderr, "tsan_chan: shm directory \"%s\" is neither of those set\n",
			        d);
			return (void *)1;
		}
		int r = pshm_open(&seg, "/tsan-dir-none", 0);
		if (r != -ENOENT) {
			fprintf(stderr, "tsan_chan: opening a missing object: %s\n",
			        pshm_strerror(r));
			return (void *)1;
		}
	}
	return NULL;
}

static void *dir_setter(void *arg)
{
	(void)arg;
	for (int i = 0; i < DIR_ROUNDS; i++) {
		int r = pshm_set_shm_dir(i % 2 ? dir : subdir);
		if (r != 0) {
			fprintf(stderr, "tsan_chan: pshm_set_shm_dir: %s\n", pshm_strerror(r));
			return (void *)1;
		}
	}
	return NULL;
}

static int dir_race(void)
{
	pthread_t th[2];
	void *b[3];

	snprintf(subdir, sizeof(subdir), "%s/sub", dir);
	if (setenv("PSHM_DIR", dir, 1) < 0 || mkdir(subdir, 0700) < 0)
		return 1;
	if (pthread_create(&th[0], NULL, dir_user, NULL) != 0 ||
	    pthread_create(&th[1], NULL, dir_setter, NULL) != 0)
		abort();
	b[2] = dir_user(NULL);
	pthread_join(th[0], &b[0]);
	pthread_join(th[1], &b[1]);
	rmdir(subdir);
	if (b[0] || b[1] || b[2] || pshm_set_shm_dir(dir) != 0)
		return 1;
	printf("tsan_chan: the shm directory changed %d times under two threads using it\n",
	       DIR_ROUNDS);
	return 0;
}

int main(void)
{
	struct pshm_chan *w = NULL, *r = NULL;
	pthread_t tw, tr;
	void *bw, *br;
	int rc;

	snprintf(dir, sizeof(dir), "/dev/shm/pshm-tsan.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("SKIP: cannot make a directory in /dev/shm\n");
		return 77;
	}
	if (dir_race()) {
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	snprintf(addr, sizeof(addr), "/tsan-chan");
	if ((rc = pshm_chan_create(addr, CAP, 0600, 0)) < 0 ||
	    (rc = pshm_chan_open(&w, addr, PSHM_CHAN_WRITER, 0)) < 0 ||
	    (rc = pshm_chan_open(&r, addr, PSHM_CHAN_READER, 0)) < 0) {
		fprintf(stderr, "tsan_chan: setup: %s\n", pshm_strerror(rc));
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	/* The reader sleeps at once, so both the spinning and the futex paths are crossed. */
	pshm_chan_set_spin(r, 0);
	if (pthread_create(&tr, NULL, reader, r) != 0 || pthread_create(&tw, NULL, writer, w) != 0)
		abort();
	pthread_join(tw, &bw);
	pthread_join(tr, &br);
	if (bw || br) {
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	printf("tsan_chan: %d messages passed between two threads\n", COUNT);
	if (many("/tsan-many", 0, false) || many("/tsan-turns", 0, true) ||
	    many("/tsan-mbcast", PSHM_CHAN_BROADCAST, false)) {
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	return lossless();
}
