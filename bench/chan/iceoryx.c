/*
 * iceoryx.c - bench_chan's iceoryx transports (the C binding's loan API: a publisher and a
 * subscriber per direction, and broadcasts to several subscribers), or, in a build without
 * iceoryx, entries whose rows say it was not measured. The broker they need is roudi.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "roudi.h"
#include "transport.h"

/*
 * iceoryx is measured when its C binding's headers are at hand. The Makefile defines
 * PSHM_BENCH_NO_ICEORYX when it does not link libiceoryx_binding_c (not found, or
 * PSHM_BENCH_NO_ICEORYX=1 given to make), and otherwise puts the versioned directory that holds
 * the headers on the include path. PSHM_BENCH_ICEORYX is the one macro the code below tests.
 */
#if !defined(PSHM_BENCH_NO_ICEORYX) && defined(__has_include)
#if __has_include(<iceoryx_binding_c/runtime.h>)
#define PSHM_BENCH_ICEORYX 1
#endif
#endif

#define LOSSY    0
#define LOSSLESS 1

#ifdef PSHM_BENCH_ICEORYX
#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>
#include <iceoryx_binding_c/wait_set.h>

const bool iceoryx_built = true;

#define SERVICE       "pshm-bench-chan"
#define CONNECT_NS    10000000000ull /* a side's publisher and subscriber connect within this */
#define STALL_NS      10000000000ull /* a waiting side gives up after 10 s without a message */
#define WAIT_SLICE_NS 100000000      /* a WaitSet wait comes back this often to check */
#define QUEUE_MAX     256            /* the most a subscriber's queue holds (Debian's build) */

/* The broker's probe: register under NAME, as a measurement's side does. */
static void iox_probe(const char *name)
{
	iox_set_loglevel(Iceoryx_LogLevel_Off);
	iox_runtime_init(name);
}

static void iox_finish(void)
{
	broker_stop();
}

/* A process's ends: the publisher of the direction it sends, the subscriber of the other. */
struct iox_end {
	iox_pub_storage_t pub_storage;
	iox_sub_storage_t sub_storage;
	iox_ws_storage_t ws_storage;
	iox_pub_t pub;
	iox_sub_t sub;
	iox_ws_t ws;
};

/* The name each side registers under: known to the first process, which removes its socket. */
static void runtime_name(const struct tctx *c, int side, char *buf, size_t len)
{
	/* peer_name is "/pshm-bench-chan-PID-SEQ". */
	snprintf(buf, len, "%s-%d", c->peer_name + 1, side);
}

static const char *iox_setup(struct tctx *c)
{
	const char *why = broker_ready(iox_probe);
	if (*why)
		return why;
	new_name(c->peer_name, sizeof(c->peer_name), "", "");
	return "";
}

/* A process killed during a measurement leaves its socket and lock: remove what may be left. */
static void iox_teardown(struct tctx *c)
{
	char name[NAME_LEN], path[NAME_LEN + sizeof(IOX_SOCKET_DIR) + 8];
	if (!c->peer_name[0])
		return;
	for (int side = 0; side <= (c->readers ? c->readers : 1); side++) {
		runtime_name(c, side, name, sizeof(name));
		snprintf(path, sizeof(path), "%s%s", IOX_SOCKET_DIR, name);
		unlink(path);
		snprintf(path, sizeof(path), "%s%s.lock", IOX_SOCKET_DIR, name);
		unlink(path);
	}
}

/* A queue of as many messages as the channels' and the rings' capacity holds, within iceoryx's. */
static uint64_t queue_capacity(size_t size)
{
	uint64_t n = RING_BYTES / size;
	return n > QUEUE_MAX ? QUEUE_MAX : n;
}

/* Wait until this side's subscriber and publisher are connected to the other side's. */
static int iox_connect_wait(struct tctx *c, struct iox_end *e)
{
	uint64_t end = now_ns() + CONNECT_NS;
	struct timespec nap = {.tv_sec = 0, .tv_nsec = 200000};
	/* A broadcast's writer has its own handshake: it cannot tell how many have subscribed. */
	bool need_reader = e->pub && !c->readers;
	while ((e->sub && iox_sub_get_subscription_state(e->sub) != SubscribeState_SUBSCRIBED) ||
	       (need_reader && !iox_pub_has_subscribers(e->pub))) {
		if (stop_signal)
			return -EINTR;
		if (now_ns() > end)
			return -ETIMEDOUT;
		/* Subscriptions are made by the broker's discovery, every 100 ms: nothing to wake. */
		nanosleep(&nap, NULL);
	}
	return 0;
}

/*
 * Register this process, then make its ends. Direction 0 goes from the first process to the
 * second (or to every reader of a broadcast), direction 1 back. LOSSLESS: the publisher waits
 * for a subscriber's full queue, else it drops the queue's oldest message; WAITSET: the
 * subscriber is attached to a WaitSet to sleep on.
 */
static int iox_open_with(struct tctx *c, int lossless, bool waitset)
{
	char name[NAME_LEN], ev[2][2] = {"0", "1"};
	struct iox_end *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	c->peer = e;
	iox_set_loglevel(Iceoryx_LogLevel_Error);
	runtime_name(c, c->side, name, sizeof(name));
	iox_runtime_init(name);

	int pub_dir = c->readers ? (c->side ? -1 : 0) : c->side;
	int sub_dir = c->readers ? (c->side ? 0 : -1) : !c->side;
	const char *instance = c->peer_name + 1;
	if (pub_dir >= 0) {
		iox_pub_options_t po;
		iox_pub_options_init(&po);
		po.historyCapacity = 0;
		po.subscriberTooSlowPolicy = lossless ? ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER
		                                      : ConsumerTooSlowPolicy_DISCARD_OLDEST_DATA;
		e->pub = iox_pub_init(&e->pub_storage, SERVICE, instance, ev[pub_dir], &po);
		if (!e->pub)
			return -EIO;
	}
	if (sub_dir >= 0) {
		iox_sub_options_t so;
		iox_sub_options_init(&so);
		so.queueCapacity = queue_capacity(c->size);
		so.historyRequest = 0;
		so.queueFullPolicy =
		    lossless ? QueueFullPolicy_BLOCK_PRODUCER : QueueFullPolicy_DISCARD_OLDEST_DATA;
		e->sub = iox_sub_init(&e->sub_storage, SERVICE, instance, ev[sub_dir], &so);
		if (!e->sub)
			return -EIO;
		if (waitset) {
			e->ws = iox_ws_init(&e->ws_storage);
			if (!e->ws ||
			    iox_ws_attach_subscriber_state(e->ws, e->sub, SubscriberState_HAS_DATA,
			                                   0, NULL) != WaitSetResult_SUCCESS)
				return -EIO;
		}
	}
	return iox_connect_wait(c, e);
}

static int iox_open_poll(struct tctx *c)
{
	return iox_open_with(c, LOSSLESS, false);
}

static int iox_open_ws(struct tctx *c)
{
	return iox_open_with(c, LOSSLESS, true);
}

static int iox_open_lossy(struct tctx *c)
{
	return iox_open_with(c, LOSSY, true);
}

/* Loan a chunk, copy the message in, publish it. */
static int iox_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	(void)dir;
	struct iox_end *e = c->peer;
	void *p;
	if (iox_pub_loan_chunk(e->pub, &p, (uint32_t)len) != AllocationResult_SUCCESS)
		return -ENOBUFS;
	memcpy(p, buf, len);
	iox_pub_publish_chunk(e->pub, p);
	return 0;
}

/* Take a chunk and copy the message out: 0, 1 when there was none, or a negative errno. */
static int iox_take(struct iox_end *e, void *buf, size_t len)
{
	const void *p;
	enum iox_ChunkReceiveResult r = iox_sub_take_chunk(e->sub, &p);
	if (r == ChunkReceiveResult_NO_CHUNK_AVAILABLE)
		return 1;
	if (r != ChunkReceiveResult_SUCCESS)
		return -EIO;
	memcpy(buf, p, len);
	iox_sub_release_chunk(e->sub, p);
	return 0;
}

/* A waiting side's check: 0 to go on, or why to stop. */
static int wait_check(uint64_t *since)
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

/* Spin on take; check for a stop now and then. */
static int iox_recv_poll(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)dir;
	struct iox_end *e = c->peer;
	uint64_t since = 0;
	int r;
	for (unsigned i = 1; (r = iox_take(e, buf, len)) == 1; i++) {
		bench_cpu_relax();
		if (i % 4096 == 0 && (r = wait_check(&since)))
			return r;
	}
	return r;
}

/*
 * Take, or sleep in the WaitSet until the subscriber has data. The wait is iox_ws_wait's own
 * path with a deadline (iox_ws_timed_wait), so that a stop or a dead peer is seen.
 */
static int iox_recv_wait(struct tctx *c, int dir, void *buf, size_t len)
{
	(void)dir;
	struct iox_end *e = c->peer;
	struct timespec slice = {.tv_sec = 0, .tv_nsec = WAIT_SLICE_NS};
	iox_notification_info_t info[1];
	uint64_t since = 0, missed;
	int r;
	while ((r = iox_take(e, buf, len)) == 1) {
		if ((r = wait_check(&since)))
			return r;
		iox_ws_timed_wait(e->ws, slice, info, 1, &missed);
	}
	return r;
}

/* Let go of the ends; the runtime deregisters when the process exits. */
static void iox_close(struct tctx *c)
{
	struct iox_end *e = c->peer;
	if (!e)
		return;
	if (e->ws) {
		iox_ws_detach_subscriber_state(e->ws, e->sub, SubscriberState_HAS_DATA);
		iox_ws_deinit(e->ws);
	}
	if (e->sub)
		iox_sub_deinit(e->sub);
	if (e->pub)
		iox_pub_deinit(e->pub);
	free(e);
	c->peer = NULL;
}
#else
const bool iceoryx_built = false;

static const char *iox_setup(struct tctx *c)
{
	(void)c;
	return "unavailable: built without iceoryx";
}

static void iox_teardown(struct tctx *c)
{
	(void)c;
}

#define iox_open_poll  NULL
#define iox_open_ws    NULL
#define iox_open_lossy NULL
#define iox_send       NULL
#define iox_recv_poll  NULL
#define iox_recv_wait  NULL
#define iox_close      NULL
#define iox_finish     NULL
#endif

/* Point to point: both directions lossless, as a channel is. */
const struct transport tr_iox_poll = {
    .name = "iox poll",
    .desc = "iceoryx C binding, loan/publish and take, the subscriber spinning on take",
    .own_process = true,
    .setup = iox_setup,
    .open = iox_open_poll,
    .send = iox_send,
    .recv = iox_recv_poll,
    .close = iox_close,
    .teardown = iox_teardown,
    .finish = iox_finish,
};
const struct transport tr_iox_ws = {
    .name = "iox waitset",
    .desc = "iceoryx C binding, loan/publish and take, the subscriber sleeping in a WaitSet",
    .own_process = true,
    .setup = iox_setup,
    .open = iox_open_ws,
    .send = iox_send,
    .recv = iox_recv_wait,
    .close = iox_close,
    .teardown = iox_teardown,
    .finish = iox_finish,
};

/* Broadcasts: a publisher streaming to N subscribers, each sleeping in a WaitSet. */
#define IOX_BCAST(var, label, open_fn, what)                                                       \
	BCAST_ENTRIES(var, label, .desc = what, .own_process = true, .setup = iox_setup,           \
	              .open = open_fn, .send = iox_send, .recv = iox_recv_wait,                    \
	              .close = iox_close, .teardown = iox_teardown, .finish = iox_finish)
IOX_BCAST(tr_iox_lossy, "iox lossy", iox_open_lossy,
          "iceoryx broadcast, the subscribers' queues dropping their oldest message when full");
IOX_BCAST(tr_iox_lossless, "iox lossless", iox_open_ws,
          "iceoryx broadcast, the publisher waiting for the slowest subscriber");
