/*
 * fuzz_chan.c - libFuzzer target for the channel code's handling of untrusted shared memory.
 *
 * Five channels (a queue, a broadcast, a lossless broadcast, a many-writer queue and a
 * many-writer broadcast, 4 KiB rings) are made once in a private shm directory, given a few messages including one past a skip at
 * the ring's end (the many-writer ones also a claim given up, and a message after its data), and
 * photographed. For each input the chosen channel is restored from its photograph, a writer
 * and a reader attach, and the input is copied over the object (header and ring) at an offset
 * the input chooses: the mode word, the lossless writer's announcement (dropping), the readers'
 * joins count and their cursors included. Then a short script, also drawn from the input, calls
 * peek/release/recv/send/reserve/commit/stat and opens a third handle (a broadcast reader from
 * the oldest message or from the next; in the many-writer queue, a second writer that gives up
 * or commits a reservation; in the many-writer broadcast, either). Every call must return 0 or one of the channel's
 * negative errors, and every byte a peek hands out must be readable; the sanitizers catch the
 * rest. A lossless writer that a reader holds back gives -EAGAIN: every call has timeout 0.
 *
 * Input: byte 0 picks the channel (modulo 5) and seeds the script; bytes 1-2 give the offset
 * in 8-byte units (modulo the object size); the rest is written there.
 *
 * Build and run: make fuzz [FUZZ_SECONDS=60].
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ftw.h>
#include <sys/stat.h>

#include "pshm.h"
#include "../unit/chantest.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct target {
	char addr[64];
	struct pshm_seg *seg;
	unsigned char *mem;
	size_t size;
	unsigned char *image;
};

static struct target targets[5];
static char dir[64];

static void die(const char *what, int rc)
{
	fprintf(stderr, "fuzz_chan: %s: %d (%s)\n", what, rc, pshm_strerror(rc));
	abort();
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	if (dir[0])
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* What a call may return on a corrupted channel. */
static void expect(const char *what, int rc)
{
	if (!chan_rc_plausible(rc))
		die(what, rc);
}

static void setup(struct target *t, int n, unsigned flags)
{
	struct pshm_chan *w = NULL, *r = NULL;
	unsigned char buf[1000];
	size_t len;
	int rc;

	snprintf(t->addr, sizeof(t->addr), "/fuzz-chan-%d", n);
	if ((rc = pshm_chan_create(t->addr, 4096, 0600, flags)) < 0)
		die("create", rc);
	if ((rc = pshm_chan_open(&w, t->addr, PSHM_CHAN_WRITER, 0)) < 0 ||
	    (rc = pshm_chan_open(&r, t->addr, PSHM_CHAN_READER, 0)) < 0)
		die("open", rc);
	/* 700-byte messages: five fill most of the ring; after four are read, three more wrap. */
	for (int i = 0; i < 8; i++) {
		memset(buf, 'a' + i, sizeof(buf));
		if ((rc = pshm_chan_send(w, buf, 700, 0)) < 0)
			die("send", rc);
		if (i == 4)
			for (int k = 0; k < 4; k++)
				if ((rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0)) < 0)
					die("recv", rc);
	}
	if (flags & PSHM_CHAN_MANY_WRITERS) {
		struct pshm_chan *w2 = NULL;
		void *q;
		if ((rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0)) < 0 ||
		    (rc = pshm_chan_open(&w2, t->addr, PSHM_CHAN_WRITER, 0)) < 0 ||
		    (rc = pshm_chan_reserve(w2, 300, &q, 0)) < 0 ||
		    (rc = pshm_chan_close(w2)) < 0 || (rc = pshm_chan_send(w, buf, 100, 0)) < 0)
			die("many writers", rc);
	}
	pshm_chan_close(w);
	pshm_chan_close(r);
	if ((rc = pshm_open(&t->seg, t->addr, 0)) < 0 ||
	    (rc = pshm_map(t->seg, 0, (void **)&t->mem, &t->size)) < 0)
		die("map", rc);
	t->image = malloc(t->size);
	if (!t->image)
		abort();
	memcpy(t->image, t->mem, t->size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/dev/shm/pshm-fuzz.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		abort();
	}
	if (pshm_set_shm_dir(dir) < 0)
		abort();
	atexit(cleanup);
	setup(&targets[0], 0, 0);
	setup(&targets[1], 1, PSHM_CHAN_BROADCAST);
	setup(&targets[2], 2, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
	setup(&targets[3], 3, PSHM_CHAN_MANY_WRITERS);
	setup(&targets[4], 4, PSHM_CHAN_MANY_WRITERS | PSHM_CHAN_BROADCAST);
	return 0;
}

/* Read every byte of a message handed out in place: one outside the mapping faults. */
static void touch(const void *p, size_t len)
{
	const volatile unsigned char *b = p;
	unsigned sum = 0;

	if (len > 4096 / 2)
		die("peek: message longer than the ring allows", (int)len);
	for (size_t i = 0; i < len; i++)
		sum += b[i];
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	struct target *t = &targets[data[0] % 5];
	uint32_t rng = 0x9e3779b9u ^ data[0];
	size_t off = ((size_t)data[1] | (size_t)data[2] << 8) * 8 % t->size;
	struct pshm_chan *w = NULL, *r = NULL, *x = NULL;
	struct pshm_chan_stat st;
	unsigned char buf[4096];
	const void *p;
	void *q;
	size_t len, n = size - 3;
	int rc;

	memcpy(t->mem, t->image, t->size);
	if ((rc = pshm_chan_open(&w, t->addr, PSHM_CHAN_WRITER, 0)) < 0 ||
	    (rc = pshm_chan_open(&r, t->addr, PSHM_CHAN_READER, 0)) < 0)
		die("open on the pristine image", rc);
	if (n > t->size - off)
		n = t->size - off;
	memcpy(t->mem + off, data + 3, n);
	/* An all-zero magic marks a header still being made, on which every new handle waits
	 * 100 ms for its creator (test_chan covers that); any other value is fair game. */
	static const unsigned char zero[8];
	if (memcmp(t->mem, zero, 8) == 0)
		memcpy(t->mem, t->image, 8);

	for (int i = 0; i < 12; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		switch (rng % 8) {
		case 0:
			rc = pshm_chan_peek(r, &p, &len, 0);
			expect("peek", rc);
			if (rc == 0) {
				touch(p, len);
				expect("release", pshm_chan_release(r));
			}
			break;
		case 1:
		case 2:
			expect("recv", pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
			break;
		case 3:
			expect("recv", pshm_chan_recv(r, buf, rng >> 20 & 63, &len, 0));
			break;
		case 4:
			memset(buf, 'z', sizeof(buf));
			expect("send", pshm_chan_send(w, buf, rng >> 16 & 1023, 0));
			break;
		case 5:
			rc = pshm_chan_reserve(w, rng >> 16 & 2047, &q, 0);
			expect("reserve", rc);
			if (rc == 0) {
				memset(q, 'y', rng >> 16 & 2047);
				expect("commit", pshm_chan_commit(w, rng >> 16 & 1023));
			}
			break;
		case 6:
			expect("stat", pshm_chan_stat_addr(t->addr, &st));
			(void)pshm_chan_lost(r);
			break;
		case 7:
			if (t == &targets[3] || (t == &targets[4] && rng >> 29 & 1)) {
				rc = pshm_chan_open(&x, t->addr, PSHM_CHAN_WRITER, 0);
				expect("open", rc);
				if (rc == 0) {
					rc = pshm_chan_reserve(x, rng >> 16 & 1023, &q, 0);
					expect("reserve", rc);
					if (rc == 0 && rng >> 28 & 1)
						expect("commit",
						       pshm_chan_commit(x, rng >> 16 & 1023));
					pshm_chan_close(x);
				}
				break;
			}
			rc = pshm_chan_open(&x, t->addr, PSHM_CHAN_READER,
			                    rng >> 24 & 1 ? PSHM_CHAN_FROM_OLDEST : 0);
			expect("open", rc);
			if (rc == 0) {
				expect("recv", pshm_chan_recv(x, buf, sizeof(buf), &len, 0));
				pshm_chan_close(x);
			}
			break;
		}
	}
	pshm_chan_close(w);
	pshm_chan_close(r);
	return 0;
}
