/*
 * pshm.c - bench_chan's channel transports: libpshm's own channels, pshm_chan_send and
 * pshm_chan_recv, in three modes that differ only in how long a waiting side spins before it
 * sleeps; and broadcasts from one writer to several readers, lossy and lossless.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "transport.h"

#define SPIN_LONG    1000000000u /* "spin mode": the longest spin pshm_chan_set_spin takes */
#define SPIN_DEFAULT UINT_MAX    /* set no spin: a new handle's default (20 us) stays */

/* Make direction D's channel with pshm_chan_create's FLAGS: 0, or a negative errno. */
static int chan_make(struct tctx *c, int d, unsigned flags)
{
	new_name(c->chan_addr[d], sizeof(c->chan_addr[d]), "", "");
	char path[NAME_LEN + PATH_MAX];
	snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), c->chan_addr[d]);
	note_path(path);
	int r = pshm_chan_create(c->chan_addr[d], RING_BYTES, 0600, flags);
	if (r)
		fprintf(stderr, "bench_chan: pshm_chan_create %s: %s\n", c->chan_addr[d],
		        pshm_strerror(r));
	return r;
}

/* Channels: one per direction, made before the fork and attached by each side after it. */
static const char *chan_setup(struct tctx *c)
{
	for (int d = 0; d < 2; d++)
		if (chan_make(c, d, 0))
			return NULL;
	return "";
}

/* Attach this side's ends; SPIN_NS is the spin to set, or SPIN_DEFAULT to keep the handle's. */
static int chan_open_with(struct tctx *c, unsigned spin_ns)
{
	/* Direction 0 goes from the first process to the second, direction 1 back. */
	for (int d = 0; d < 2; d++) {
		int role = (d == c->side) ? PSHM_CHAN_WRITER : PSHM_CHAN_READER;
		int r = pshm_chan_open(&c->chan[d], c->chan_addr[d], role, 0);
		if (!r && spin_ns != SPIN_DEFAULT)
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
	return chan_open_with(c, SPIN_DEFAULT);
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

const struct transport tr_chan_spin = {
    .name = "chan spin",
    .desc = "pshm_chan_send/recv, pshm_chan_set_spin(1 s)",
    .setup = chan_setup,
    .open = chan_open_spin,
    .send = chan_send,
    .recv = chan_recv,
    .close = chan_close,
    .teardown = chan_teardown,
};
const struct transport tr_chan_default = {
    .name = "chan default",
    .desc = "pshm_chan_send/recv, the default spin (20 us)",
    .setup = chan_setup,
    .open = chan_open_default,
    .send = chan_send,
    .recv = chan_recv,
    .close = chan_close,
    .teardown = chan_teardown,
};
const struct transport tr_chan_block = {
    .name = "chan blocking",
    .desc = "pshm_chan_send/recv, pshm_chan_set_spin(0)",
    .setup = chan_setup,
    .open = chan_open_block,
    .send = chan_send,
    .recv = chan_recv,
    .close = chan_close,
    .teardown = chan_teardown,
};

/*
 * Broadcasts: one channel, direction 0, from the writer (the first process) to every reader.
 * Each side keeps the default spin: with more readers than CPUs, spinning readers would take
 * the CPU from each other.
 */
static const char *bcast_setup(struct tctx *c)
{
	return chan_make(c, 0, PSHM_CHAN_BROADCAST) ? NULL : "";
}

static const char *bcast_setup_lossless(struct tctx *c)
{
	return chan_make(c, 0, PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS) ? NULL : "";
}

static int bcast_open(struct tctx *c)
{
	int role = c->side ? PSHM_CHAN_READER : PSHM_CHAN_WRITER;
	return pshm_chan_open(&c->chan[0], c->chan_addr[0], role, 0);
}

/* A reader left behind goes on from the oldest message intact: what it lost is not counted. */
static int bcast_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	int r;
	while ((r = chan_recv(c, dir, buf, len)) == -EOVERFLOW)
		;
	return r;
}

#define CHAN_BCAST(var, label, setup_fn, what)                                                     \
	BCAST_ENTRIES(var, label, .desc = what, .setup = setup_fn, .open = bcast_open,             \
	              .send = chan_send, .recv = bcast_recv, .close = chan_close,                  \
	              .teardown = chan_teardown)
CHAN_BCAST(tr_chan_lossy, "chan lossy", bcast_setup,
           "pshm broadcast channel, the default spin: a reader a ring behind skips to the oldest "
           "message intact");
CHAN_BCAST(tr_chan_lossless, "chan lossless", bcast_setup_lossless,
           "pshm broadcast channel, PSHM_CHAN_LOSSLESS: the writer waits for the slowest reader");
