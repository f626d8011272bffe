/*
 * boost.cpp - bench_chan's Boost.Interprocess transport: one message_queue per direction, sized
 * to the message, its sends and receives blocking; or, in a build without Boost, an entry whose
 * rows say it was not measured.
 *
 * Boost.Interprocess is C++ only. The Makefile compiles this file as C++ when a C++ compiler
 * and <boost/interprocess/ipc/message_queue.hpp> are at hand (and make was not given
 * PSHM_BENCH_NO_BOOST=1), and links bench_chan with the C++ library only then; otherwise it
 * compiles the file as C, which leaves only the stub at the end, so that a machine without a
 * C++ compiler builds bench_chan all the same. __cplusplus is the one macro that decides.
 *
 * Boost names its queues' memory in /dev/shm itself, whatever PSHM_DIR says.
 */
#include "transport.h"

#define BOOST_NAME "boost mq"
#define BOOST_DESC "Boost.Interprocess message_queue, one per direction, blocking send/receive"

#ifdef __cplusplus
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>

#include <cstdio>
#include <cstring>
#include <new>

namespace bip = boost::interprocess;
namespace pt = boost::posix_time;

extern "C" {
const bool boost_built = true;
}

namespace
{

constexpr uint64_t STALL_NS = 10000000000ull; /* a waiting side gives up after 10 s */
constexpr long WAIT_SLICE_MS = 100;           /* a blocked call comes back this often */
constexpr size_t MAX_MSGS = 65536;            /* the most messages a queue holds */

/* A process's two queues, opened after the fork. */
struct boost_end {
	bip::message_queue *q[2];
};

char reason[160];

/* The queue of direction DIR: its object's name (boost adds the slash), and its path. */
void queue_path(const struct tctx *c, int dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%d", c->peer_name, dir);
}

const char *queue_name(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* The errno of a Boost.Interprocess error, as a negative number. */
int boost_error(const bip::interprocess_exception &e)
{
	int n = e.get_native_error();
	return n > 0 ? -n : -EIO;
}

/* A waiting side's check: 0 to go on, or why to stop. */
int wait_check(uint64_t *since)
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

pt::ptime slice_end()
{
	return pt::microsec_clock::universal_time() + pt::milliseconds(WAIT_SLICE_MS);
}

} // namespace

extern "C" {

/* Both queues, made before the fork; each process opens them for itself. */
static const char *boost_setup(struct tctx *c)
{
	char path[sizeof(c->peer_name) + 4];
	size_t msgs = RING_BYTES / c->size;
	new_name(c->peer_name, sizeof(c->peer_name), "/dev/shm", "");
	for (int d = 0; d < 2; d++) {
		queue_path(c, d, path, sizeof(path));
		note_path(path);
		try {
			bip::message_queue q(bip::create_only, queue_name(path),
			                     msgs < MAX_MSGS ? msgs : MAX_MSGS, c->size);
		} catch (const bip::interprocess_exception &e) {
			snprintf(reason, sizeof(reason), "unavailable: message_queue: %s",
			         e.what());
			for (char *p = reason; *p; p++) /* printed in a JSON string as it is */
				if (*p == '"' || *p == '\\' || (unsigned char)*p < ' ')
					*p = '\'';
			return reason;
		}
	}
	return "";
}

static int boost_open(struct tctx *c)
{
	char path[sizeof(c->peer_name) + 4];
	boost_end *e = new (std::nothrow) boost_end();
	if (!e)
		return -ENOMEM;
	c->peer = e;
	try {
		for (int d = 0; d < 2; d++) {
			queue_path(c, d, path, sizeof(path));
			e->q[d] = new bip::message_queue(bip::open_only, queue_name(path));
		}
	} catch (const bip::interprocess_exception &x) {
		return boost_error(x);
	} catch (...) {
		return -ENOMEM;
	}
	return 0;
}

/* Send without waiting when there is room, else wait in slices to see a stop. */
static int boost_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	bip::message_queue *q = static_cast<boost_end *>(c->peer)->q[dir];
	uint64_t since = 0;
	int r;
	try {
		if (q->try_send(buf, len, 0))
			return 0;
		while (!(r = wait_check(&since)))
			if (q->timed_send(buf, len, 0, slice_end()))
				return 0;
	} catch (const bip::interprocess_exception &e) {
		return boost_error(e);
	}
	return r;
}

static int boost_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	bip::message_queue *q = static_cast<boost_end *>(c->peer)->q[dir];
	bip::message_queue::size_type got;
	unsigned prio;
	uint64_t since = 0;
	int r;
	try {
		if (q->try_receive(buf, len, got, prio))
			return got == len ? 0 : -EPROTO;
		while (!(r = wait_check(&since)))
			if (q->timed_receive(buf, len, got, prio, slice_end()))
				return got == len ? 0 : -EPROTO;
	} catch (const bip::interprocess_exception &e) {
		return boost_error(e);
	}
	return r;
}

static void boost_close(struct tctx *c)
{
	boost_end *e = static_cast<boost_end *>(c->peer);
	if (!e)
		return;
	for (int d = 0; d < 2; d++)
		delete e->q[d];
	delete e;
	c->peer = nullptr;
}

static void boost_teardown(struct tctx *c)
{
	char path[sizeof(c->peer_name) + 4];
	for (int d = 0; d < 2 && c->peer_name[0]; d++) {
		queue_path(c, d, path, sizeof(path));
		bip::message_queue::remove(queue_name(path));
	}
	remove_made();
}

const struct transport tr_boost = {
    .name = BOOST_NAME,
    .desc = BOOST_DESC,
    .lat_only = false,
    .readers = 0,
    .own_process = false,
    .setup = boost_setup,
    .open = boost_open,
    .send = boost_send,
    .recv = boost_recv,
    .close = boost_close,
    .teardown = boost_teardown,
    .finish = nullptr,
};
} // extern "C"
#else
const bool boost_built = false;

static const char *boost_setup(struct tctx *c)
{
	(void)c;
	return "unavailable: built without Boost.Interprocess";
}

static void boost_teardown(struct tctx *c)
{
	(void)c;
}

const struct transport tr_boost = {
    .name = BOOST_NAME,
    .desc = BOOST_DESC,
    .setup = boost_setup,
    .teardown = boost_teardown,
};
#endif
