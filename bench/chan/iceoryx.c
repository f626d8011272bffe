/*
 * iceoryx.c - bench_chan's iceoryx transports (the C binding's loan API: a publisher and a
 * subscriber per direction), the broker they need (iox-roudi, started for the run when none is
 * running, and stopped after it), or, in a build without iceoryx, entries whose rows say it was
 * not measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
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

/* Where iceoryx 2 on Linux keeps the sockets of its broker (roudi) and of each process. */
#define IOX_SOCKET_DIR "/tmp/"
#define SERVICE        "pshm-bench-chan"
#define BROKER_WAIT_MS 20000          /* iox-roudi's start, or its stop, for at most this long */
#define CONNECT_NS     10000000000ull /* a side's publisher and subscriber connect within this */
#define STALL_NS       10000000000ull /* a waiting side gives up after 10 s without a message */
#define WAIT_SLICE_NS  100000000      /* a WaitSet wait comes back this often to check */
#define QUEUE_MAX      256            /* the most a subscriber's queue holds (Debian's build) */

/* ---- the broker -------------------------------------------------------------------------- */

static const char *broker;     /* NULL: not tried yet; "": ready; else why iceoryx is not */
static const char *broker_how; /* how it was had, for the report */
static pid_t roudi = -1;       /* the iox-roudi this program started */
static int roudi_log = -1;     /* its output, an anonymous file */
static char broker_why[256];

const char *iceoryx_broker(void)
{
	return broker_how;
}

/* Whether a broker listens on its socket: one that another user or program started. */
static bool broker_listening(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%sroudi", IOX_SOCKET_DIR);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return up;
}

/* The last line iox-roudi wrote, without its colours, into BUF. */
static void roudi_last_line(char *buf, size_t len)
{
	char tail[512];
	off_t end = lseek(roudi_log, 0, SEEK_END);
	off_t from = end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0;
	ssize_t n = pread(roudi_log, tail, sizeof(tail) - 1, from);
	buf[0] = '\0';
	if (n <= 0)
		return;
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
		n--;
	tail[n] = '\0';
	char *line = strrchr(tail, '\n');
	line = line ? line + 1 : tail;
	size_t o = 0;
	for (const char *p = line; *p && o + 1 < len; p++) {
		if (*p == '\033') { /* an escape sequence: up to its final letter */
			while (p[1] && !(p[1] >= '@' && p[1] <= '~' && p[1] != '['))
				p++;
			if (p[1])
				p++;
			continue;
		}
		/* Kept to what the report may print in a JSON string as it is. */
		buf[o++] = *p == '"' || *p == '\\' || (unsigned char)*p < ' ' ? '\'' : *p;
	}
	buf[o] = '\0';
}

/*
 * Remove what the iox-roudi this program started made, when it ended without doing so itself:
 * iceoryx 2.0's broker aborts as it stops if a process it still counts as registered has died
 * (killed before it could deregister, and not yet found out by the broker's monitoring, which
 * takes 1.5 s). Only what it said it made, once it had served: its sockets and locks, and the
 * shared memory of each "Reserving N bytes in the shared memory [NAME]" that succeeded.
 */
static void roudi_leftovers(void)
{
	static char log[16384];
	ssize_t n = pread(roudi_log, log, sizeof(log) - 1, 0);
	if (n <= 0)
		return;
	log[n] = '\0';
	if (!strstr(log, "RouDi is ready for clients"))
		return;
	char name[128], path[160];
	const char *mark = "in the shared memory [";
	for (const char *p = strstr(log, mark); p; p = strstr(p + 1, mark)) {
		const char *next = strchr(p, '\n');
		if (sscanf(p + strlen(mark), "%127[^]/\n]]", name) != 1 || !next ||
		    strncmp(next + 1, "[ Reserving shared memory successful ]", 38) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", name);
		unlink(path);
	}
	unlink(IOX_SOCKET_DIR "roudi");
	unlink(IOX_SOCKET_DIR "roudi.lock");
	unlink(IOX_SOCKET_DIR "iox-unique-roudi.lock");
}

/*
 * The broker's memory pools, whatever /etc/iceoryx/roudi_config.toml says: chunks for every
 * message size measured (the size is a chunk's payload), enough of each for the largest queues
 * of a run's processes: 43 MB of shared memory rather than the built-in configuration's 149
 * (and the 67 MB of the broker's own, either way).
 */
static const char roudi_config[] = "[general]\nversion = 1\n\n[[segment]]\n\n"
                                   "[[segment.mempool]]\nsize = 128\ncount = 8192\n\n"
                                   "[[segment.mempool]]\nsize = 1024\ncount = 2048\n\n"
                                   "[[segment.mempool]]\nsize = 65536\ncount = 600\n";

/* An anonymous file holding the broker's configuration, or -errno. */
static int roudi_config_file(void)
{
	int fd = memfd_create("roudi_config.toml", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, roudi_config, sizeof(roudi_config) - 1) != sizeof(roudi_config) - 1) {
		int e = errno ? -errno : -EIO;
		close(fd);
		return e;
	}
	return fd;
}

/* Start iox-roudi in a process group of its own, its output to ROUDI_LOG; 0 or -errno. */
static int roudi_start(void)
{
	roudi_log = memfd_create("iox-roudi", MFD_CLOEXEC);
	if (roudi_log < 0)
		return -errno;
	int cfg = roudi_config_file();
	if (cfg < 0)
		return cfg;
	pid_t parent = getpid();
	fflush(NULL);
	roudi = fork();
	if (roudi < 0 || roudi > 0) {
		int e = roudi < 0 ? -errno : 0;
		close(cfg);
		return e;
	}
	/* Out of the terminal's reach (bench_chan stops it), and gone when bench_chan is. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	/* On any CPU, as a broker runs, rather than on the measuring process's. */
	cpu_set_t all;
	CPU_ZERO(&all);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof(all), &all);
	char cfg_path[64];
	snprintf(cfg_path, sizeof(cfg_path), "/proc/self/fd/%d", cfg);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(roudi_log, 1) < 0 || dup2(roudi_log, 2) < 0 ||
	    fcntl(cfg, F_SETFD, 0) < 0)
		_exit(126);
	/* Its messages at "info" name the shared memory it makes (see roudi_leftovers). */
	execlp("iox-roudi", "iox-roudi", "--log-level", "info", "--config-file", cfg_path,
	       (char *)NULL);
	dprintf(2, "cannot run iox-roudi: %s\n", strerror(errno));
	_exit(127);
}

static int pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void probe_name(pid_t pid, char *buf, size_t len)
{
	snprintf(buf, len, "pshm-bench-chan-probe-%ld", (long)pid);
}

/* A process that registers with the broker and leaves: it ends once the broker serves. */
static pid_t probe_start(void)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char name[64];
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		iox_set_loglevel(Iceoryx_LogLevel_Off);
		probe_name(getpid(), name, sizeof(name));
		iox_runtime_init(name);
		exit(0); /* iceoryx deregisters at exit */
	}
	return pid;
}

/*
 * Wait until the probe has registered with the broker, or the broker we started has ended, or
 * the time is up: the reason iceoryx cannot be measured, or "".
 */
static const char *probe_wait(pid_t probe)
{
	struct pollfd p[2] = {{.fd = pidfd(probe), .events = POLLIN},
	                      {.fd = roudi > 0 ? pidfd(roudi) : -1, .events = POLLIN}};
	const char *why = "";
	uint64_t end = now_ns() + BROKER_WAIT_MS * 1000000ull;
	int st = 0;
	for (;;) {
		if (p[0].fd < 0) {
			why = "unavailable: pidfd_open failed";
			break;
		}
		if (waitpid(probe, &st, WNOHANG) == probe) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				why = "unavailable: iceoryx's runtime could not register with "
				      "iox-roudi";
			probe = -1;
			break;
		}
		if (roudi > 0 && waitpid(roudi, &st, WNOHANG) == roudi) {
			char line[160];
			roudi_last_line(line, sizeof(line));
			snprintf(broker_why, sizeof(broker_why),
			         "unavailable: iox-roudi exited: %s",
			         line[0] ? line : "no message");
			why = WIFEXITED(st) && WEXITSTATUS(st) == 127
			          ? "unavailable: iox-roudi not found (apt-get install iceoryx)"
			          : broker_why;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				roudi_leftovers();
			roudi = -1;
			break;
		}
		uint64_t now = now_ns();
		if (stop_signal || now >= end) {
			why = stop_signal ? "unavailable: interrupted"
			                  : "unavailable: iox-roudi was not ready within 20 s";
			break;
		}
		poll(p, 2, (int)((end - now) / 1000000 + 1));
	}
	if (probe > 0) {
		char name[64], path[96];
		kill(probe, SIGKILL);
		waitpid(probe, NULL, 0);
		/* Its socket and lock, made before it waited for the broker. */
		probe_name(probe, name, sizeof(name));
		snprintf(path, sizeof(path), "%s%s", IOX_SOCKET_DIR, name);
		unlink(path);
		snprintf(path, sizeof(path), "%s%s.lock", IOX_SOCKET_DIR, name);
		unlink(path);
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return why;
}

/* Stop the iox-roudi this program started, and wait for it to clean up. */
static void broker_stop(void)
{
	int st = 0;
	if (roudi <= 0) {
		if (roudi_log >= 0)
			close(roudi_log);
		roudi_log = -1;
		return;
	}
	kill(roudi, SIGTERM);
	struct pollfd p = {.fd = pidfd(roudi), .events = POLLIN};
	if (p.fd >= 0) {
		while (poll(&p, 1, BROKER_WAIT_MS) < 0 && errno == EINTR)
			;
		close(p.fd);
	}
	if (waitpid(roudi, &st, WNOHANG) != roudi) {
		fprintf(stderr, "bench_chan: iox-roudi did not stop: killing it\n");
		kill(roudi, SIGKILL);
		waitpid(roudi, &st, 0);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		roudi_leftovers();
	roudi = -1;
	close(roudi_log);
	roudi_log = -1;
}

/* The broker, the first time iceoryx is measured: the reason it cannot be, or "". */
static const char *broker_ready(void)
{
	if (broker)
		return broker;
	if (broker_listening()) {
		broker_how = "used the iox-roudi already running, and left it running";
	} else {
		int r = roudi_start();
		if (r) {
			snprintf(broker_why, sizeof(broker_why),
			         "unavailable: cannot start iox-roudi: %s", strerror(-r));
			broker_stop();
			return broker = broker_why;
		}
		broker_how = "started iox-roudi for the run and stopped it after";
	}
	pid_t probe = probe_start();
	broker = probe < 0 ? "unavailable: fork failed" : probe_wait(probe);
	if (*broker) {
		broker_how = NULL;
		broker_stop();
	}
	return broker;
}

static void iox_finish(void)
{
	broker_stop();
}

/* ---- one measurement --------------------------------------------------------------------- */

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
	const char *why = broker_ready();
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

const char *iceoryx_broker(void)
{
	return NULL;
}

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
#define IOX_BCAST(var, label, n, open_fn, what)                                                    \
	const struct transport var = {                                                             \
	    .name = label,                                                                         \
	    .desc = what,                                                                          \
	    .readers = n,                                                                          \
	    .own_process = true,                                                                   \
	    .setup = iox_setup,                                                                    \
	    .open = open_fn,                                                                       \
	    .send = iox_send,                                                                      \
	    .recv = iox_recv_wait,                                                                 \
	    .close = iox_close,                                                                    \
	    .teardown = iox_teardown,                                                              \
	    .finish = iox_finish,                                                                  \
	}
#define LOSSY_DESC                                                                                 \
	"iceoryx broadcast, the subscribers' queues dropping their oldest message when full"
#define LOSSLESS_DESC "iceoryx broadcast, the publisher waiting for the slowest subscriber"
IOX_BCAST(tr_iox_lossy1, "iox lossy x1", 1, iox_open_lossy, LOSSY_DESC);
IOX_BCAST(tr_iox_lossy2, "iox lossy x2", 2, iox_open_lossy, LOSSY_DESC);
IOX_BCAST(tr_iox_lossy4, "iox lossy x4", 4, iox_open_lossy, LOSSY_DESC);
IOX_BCAST(tr_iox_lossless1, "iox lossless x1", 1, iox_open_ws, LOSSLESS_DESC);
IOX_BCAST(tr_iox_lossless2, "iox lossless x2", 2, iox_open_ws, LOSSLESS_DESC);
IOX_BCAST(tr_iox_lossless4, "iox lossless x4", 4, iox_open_ws, LOSSLESS_DESC);
