/*
 * zmq.c - bench_chan's ZeroMQ transport (PAIR sockets over ipc://), or, in a build without
 * ZeroMQ, an entry whose rows say it was not measured.
 */
#include <errno.h>
#include <stdio.h>

#include "transport.h"

/*
 * ZeroMQ is measured when <zmq.h> is at hand. The Makefile defines PSHM_BENCH_NO_ZMQ when it
 * does not link libzmq (not found, or PSHM_BENCH_NO_ZMQ=1 given to make), so that a header
 * without its library, or a build told to leave ZeroMQ out, cannot ask for symbols that are not
 * linked. PSHM_BENCH_ZMQ is the one macro the code below tests; no other file of bench_chan
 * depends on the choice.
 */
#if !defined(PSHM_BENCH_NO_ZMQ) && defined(__has_include)
#if __has_include(<zmq.h>)
#define PSHM_BENCH_ZMQ 1
#endif
#endif
#ifdef PSHM_BENCH_ZMQ
#include <zmq.h>
#endif

static void remove_teardown(struct tctx *c)
{
	(void)c;
	remove_made();
}

/* ZeroMQ: one PAIR socket each, carrying both directions; the first process binds. */
#ifdef PSHM_BENCH_ZMQ
const bool zmq_built = true;

static const char *zmq_setup(struct tctx *c)
{
	new_name(c->zmq_path, sizeof(c->zmq_path), pshm_shm_dir(), ".ipc");
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
	int r;
	do {
		int n = zmq_send(c->zsock, buf, len, 0);
		r = msg_outcome(n, len, zmq_errno());
	} while (r > 0);
	return r;
}

static int zmq_trecv(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)dir;
	int r;
	do {
		int n = zmq_recv(c->zsock, buf, len, 0);
		r = msg_outcome(n, len, zmq_errno());
	} while (r > 0);
	return r;
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
const bool zmq_built = false;

static const char *zmq_setup(struct tctx *c)
{
	(void)c;
	return "unavailable: built without ZeroMQ";
}
#define zmq_topen  NULL
#define zmq_tsend  NULL
#define zmq_trecv  NULL
#define zmq_tclose NULL
#endif

const struct transport tr_zmq = {
    .name = "zmq",
    .desc = "ZeroMQ PAIR sockets over ipc://",
    .setup = zmq_setup,
    .open = zmq_topen,
    .send = zmq_tsend,
    .recv = zmq_trecv,
    .close = zmq_tclose,
    .teardown = remove_teardown,
};
