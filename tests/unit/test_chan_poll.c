/*
 * test_chan_poll.c - pshm_chan_fd(): the descriptor polls readable, through poll, select and
 * epoll, when a reader (queue, broadcast) has a message or its writer's end, and when a full
 * queue or lossless writer has room, with the other end in another process; no wake-up is lost
 * in a stress run where both ends wait only through their descriptors; a peer killed with SIGKILL
 * makes it readable within a bounded time and the call then reports -ECONNRESET; the FIFO goes at
 * close, with a dead poller's beacon, and in pshm_gc(); and a channel that nobody polls makes no
 * system call it did not make before.
 */
#include "testutil.h"

#include "chantest.h"
#include "chan.h" /* pshm__fault_hook, to count the system calls made */

#include <sys/epoll.h>
#include <sys/select.h>

#define WAIT_MS 5000 /* the longest wait for an event that must come: a failure, not a pause */

/*
 * The sleep slice of the handles a test opens (PSHM_CHAN_SLICE_MS, read at open): an hour,
 * unless a test watches for deaths, so that no timer stands in for a lost wake-up and no
 * timer's wake-up comes between an arm and the look that expects the descriptor quiet.
 */
#define LONG_SLICE "3600000"

static void slice_ms(const char *ms)
{
	setenv("PSHM_CHAN_SLICE_MS", ms, 1);
}

static const char *new_chan(char *buf, size_t size, uint64_t cap, unsigned flags, mode_t mode)
{
	tu_name(buf, size, "poll");
	tu_ok(pshm_chan_create(buf, cap, mode, flags));
	return buf;
}

static struct pshm_chan *attach(const char *addr, int role)
{
	struct pshm_chan *ch = NULL;
	tu_ok(pshm_chan_open(&ch, addr, role, 0));
	return ch;
}

static int reap(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Does FD poll readable within MS milliseconds (0: now)? */
static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* How to wait for a descriptor: each of the three interfaces an event loop uses. */
enum { BY_POLL, BY_SELECT, BY_EPOLL, NBY };
static const char *const by_name[NBY] = {"poll", "select", "epoll"};

/* Wait up to WAIT_MS for FD to be readable BY one of the three: whether it became so. */
static bool wait_by(int by, int fd)
{
	if (by == BY_POLL)
		return readable(fd, WAIT_MS);
	if (by == BY_SELECT) {
		fd_set set;
		FD_ZERO(&set);
		FD_SET(fd, &set);
		struct timeval tv = {.tv_sec = WAIT_MS / 1000};
		return select(fd + 1, &set, NULL, NULL, &tv) == 1 && FD_ISSET(fd, &set);
	}
	/* An epoll instance of the caller's own, as a server has, holding the descriptor. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd}, got;
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	int n = epoll_wait(ep, &got, 1, WAIT_MS);
	close(ep);
	return n == 1 && got.data.fd == fd && (got.events & EPOLLIN);
}

/* The poll FIFOs in the shm directory, and one's mode. */
static int fifos(mode_t *modep)
{
	DIR *d = opendir(pshm_shm_dir());
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, ".pshm-poll.", 11))
			continue;
		struct stat sb;
		assert_int_equal(fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISFIFO(sb.st_mode));
		if (modep)
			*modep = sb.st_mode & 07777;
		n++;
	}
	closedir(d);
	return n;
}

static int beacons(void)
{
	return tu_count_prefix(pshm_shm_dir(), ".pshm-live.");
}

/* Receive with timeout 0 until -EAGAIN, which arms the descriptor; the messages received. */
static int drain(struct pshm_chan *r)
{
	unsigned char buf[256];
	size_t len;
	int rc, n = 0;
	while ((rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0)) == 0)
		n++;
	tu_err(rc, -EAGAIN);
	return n;
}

/* ---- one process ----------------------------------------------------------------------------- */

static int count_listed(const struct pshm_stat *st, void *arg)
{
	(void)st;
	(*(int *)arg)++;
	return 0;
}

/* The descriptor's life: made once, readable at first, armed by -EAGAIN, gone at close. */
static void test_basics(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[64];
	const void *p;
	size_t len;
	mode_t mode;

	tu_err(pshm_chan_fd(NULL), -EINVAL);
	new_chan(a, sizeof(a), 4096, 0, 0600);
	int before = tu_count_entries("/proc/self/fd");
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER), *w = attach(a, PSHM_CHAN_WRITER);
	assert_int_equal(fifos(NULL), 0);
	int fd = pshm_chan_fd(r);
	assert_true(fd >= 0);
	assert_int_equal(pshm_chan_fd(r), fd);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* Its FIFO, private like the channel, and no object: listings leave it out. */
	assert_int_equal(fifos(&mode), 1);
	assert_int_equal(mode, 0600);
	int listed = 0;
	assert_int_equal(pshm_list(PSHM_LIST_POSIX, count_listed, &listed, NULL), 1);
	assert_int_equal(listed, 1);

	/* Readable at first; -EAGAIN arms it, and it is quiet then. */
	assert_true(readable(fd, 0));
	assert_int_equal(drain(r), 0);
	assert_false(readable(fd, 0));
	/* A message makes it readable; a look that finds nothing (a spurious wake-up, here the
	 * second one) arms it again. */
	tu_ok(pshm_chan_send(w, "one", 3, 0));
	assert_true(readable(fd, 0));
	assert_int_equal(drain(r), 1);
	assert_false(readable(fd, 0));
	assert_int_equal(drain(r), 0);
	assert_false(readable(fd, 0));
	/* The same through peek and release. */
	tu_ok(pshm_chan_send(w, "two", 3, 0));
	assert_true(readable(fd, 0));
	tu_ok(pshm_chan_peek(r, &p, &len, 0));
	assert_int_equal(len, 3);
	tu_ok(pshm_chan_release(r));
	tu_err(pshm_chan_peek(r, &p, &len, 0), -EAGAIN);
	assert_false(readable(fd, 0));
	/* A message that came while the reader was busy: found by the call itself. */
	tu_ok(pshm_chan_send(w, "three", 5, 0));
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	assert_false(readable(fd, 0));

	/* The writer's end is an event too. */
	tu_ok(pshm_chan_close(w));
	assert_true(readable(fd, 0));
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EPIPE);

	/* Closing the handle closes what it opened and removes its FIFO. */
	tu_ok(pshm_chan_close(r));
	assert_int_equal(fifos(NULL), 0);
	assert_int_equal(tu_count_entries("/proc/self/fd"), before);
	tu_ok(pshm_destroy_addr(a));

	/* A channel others may write: so may they write the FIFO (and cause no more than a
	 * spurious wake-up); only its owner reads it. */
	new_chan(a, sizeof(a), 4096, 0, 0666);
	r = attach(a, PSHM_CHAN_READER);
	assert_true(pshm_chan_fd(r) >= 0);
	assert_int_equal(fifos(&mode), 1);
	assert_int_equal(mode, 0622);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/* A lossy broadcast writer never waits: its descriptor is always readable. */
static void test_lossy_writer(void **state)
{
	(void)state;
	char a[64];

	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST, 0600);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER), *r = attach(a, PSHM_CHAN_READER);
	int fd = pshm_chan_fd(w);
	assert_true(fd >= 0);
	for (int i = 0; i < 1000; i++) {
		assert_true(readable(fd, 0));
		tu_ok(pshm_chan_send(w, "xxxxxxxxxxxxxxxxxxxxxxxx", 24, 0));
	}
	assert_true(readable(fd, 0));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- across processes ------------------------------------------------------------------------ */

/*
 * A child that takes ROLE on A, says 'k' on ACK, then obeys each byte from CMD: 's' sends a
 * message (a writer) or receives one (a reader), 'r' reserves room for one and keeps it (a
 * writer), 'q' closes the handle and leaves.
 */
static void obey(const char *a, int role, int cmd, int ack)
{
	struct pshm_chan *ch = NULL;
	unsigned char buf[256];
	size_t len;
	char c;

	alarm(60);
	int rc = pshm_chan_open(&ch, a, role, 0);
	CHILD_CHECK(rc == 0, "open = %d", rc);
	CHILD_CHECK(write(ack, "k", 1) == 1, "ack");
	for (uint64_t i = 0; read(cmd, &c, 1) == 1 && c != 'q'; i++) {
		void *q;
		if (c == 'r')
			rc = pshm_chan_reserve(ch, 100, &q, WAIT_MS);
		else if (role == PSHM_CHAN_WRITER)
			rc = pshm_chan_send(ch, &i, sizeof(i), WAIT_MS);
		else
			rc = pshm_chan_recv(ch, buf, sizeof(buf), &len, WAIT_MS);
		CHILD_CHECK(rc == 0, "call %llu = %d", (unsigned long long)i, rc);
		CHILD_CHECK(write(ack, "k", 1) == 1, "ack");
	}
	CHILD_CHECK(pshm_chan_close(ch) == 0, "close");
	_exit(0);
}

struct kid {
	pid_t pid;
	int cmd, ack; /* the parent's ends */
};

static struct kid start(const char *a, int role)
{
	int cmd[2], ack[2];
	char c;

	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	struct kid k = {.pid = fork(), .cmd = cmd[1], .ack = ack[0]};
	assert_true(k.pid >= 0);
	if (k.pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		obey(a, role, cmd[0], ack[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	assert_int_equal(read(k.ack, &c, 1), 1);
	return k;
}

/* Have the child do C; with WAIT, wait until it has. */
static void order(struct kid *k, char c, bool wait)
{
	char r;
	assert_int_equal(write(k->cmd, &c, 1), 1);
	if (wait)
		assert_int_equal(read(k->ack, &r, 1), 1);
}

static void finish(struct kid *k)
{
	order(k, 'q', false);
	assert_int_equal(reap(k->pid), 0);
	close(k->cmd);
	close(k->ack);
}

/* Readers that wait through their descriptors for a writer in another process. */
static void readers_wait(unsigned flags, int nreaders)
{
	char a[64];
	struct pshm_chan *r[2];
	int fd[2];

	new_chan(a, sizeof(a), 4096, flags, 0600);
	for (int i = 0; i < nreaders; i++) {
		r[i] = attach(a, PSHM_CHAN_READER);
		fd[i] = pshm_chan_fd(r[i]);
		assert_true(fd[i] >= 0);
	}
	struct kid k = start(a, PSHM_CHAN_WRITER);
	for (int by = 0; by < NBY; by++) {
		for (int i = 0; i < nreaders; i++) {
			drain(r[i]);
			assert_false(readable(fd[i], 0));
		}
		order(&k, 's', false);
		for (int i = 0; i < nreaders; i++) {
			if (!wait_by(by, fd[i]))
				fail_msg("reader %d: no wake-up through %s", i, by_name[by]);
			assert_int_equal(drain(r[i]), 1);
		}
	}
	/* The writer's end wakes them too. */
	finish(&k);
	for (int i = 0; i < nreaders; i++) {
		unsigned char buf[64];
		size_t len;
		assert_true(readable(fd[i], WAIT_MS));
		tu_err(pshm_chan_recv(r[i], buf, sizeof(buf), &len, 0), -EPIPE);
		tu_ok(pshm_chan_close(r[i]));
	}
	tu_ok(pshm_destroy_addr(a));
}

static void test_queue_reader(void **state)
{
	(void)state;
	readers_wait(0, 1);
	readers_wait(PSHM_CHAN_MANY_WRITERS, 1);
}

static void test_broadcast_readers(void **state)
{
	(void)state;
	readers_wait(PSHM_CHAN_BROADCAST, 2);
	readers_wait(PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS, 2);
}

/* Send with timeout 0 until the channel is full (which arms the descriptor): how many went. */
static int fill(struct pshm_chan *w)
{
	uint64_t x = 0;
	int rc, n = 0;
	while ((rc = pshm_chan_send(w, &x, sizeof(x), 0)) == 0)
		n++;
	tu_err(rc, -EAGAIN);
	return n;
}

/* A full queue (or lossless broadcast) writer waits through its descriptor for room. */
static void writer_waits(unsigned flags)
{
	char a[64];

	new_chan(a, sizeof(a), 4096, flags, 0600);
	/* A broadcast reader must be there before the messages it holds the writer back for. */
	struct kid k = start(a, PSHM_CHAN_READER);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
	int fd = pshm_chan_fd(w);
	assert_true(fd >= 0);
	assert_true(fill(w) > 0);
	assert_false(readable(fd, 0));
	for (int by = 0; by < NBY; by++) {
		order(&k, 's', false);
		if (!wait_by(by, fd))
			fail_msg("writer: no wake-up through %s", by_name[by]);
		assert_int_equal(fill(w), 1);
		assert_false(readable(fd, 0));
	}
	/* The reader's end: a queue writer then hears -EPIPE. */
	finish(&k);
	if (!(flags & PSHM_CHAN_BROADCAST)) {
		uint64_t x = 0;
		assert_true(readable(fd, WAIT_MS));
		tu_err(pshm_chan_send(w, &x, sizeof(x), 0), -EPIPE);
	}
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
}

static void test_writer(void **state)
{
	(void)state;
	writer_waits(0);
	writer_waits(PSHM_CHAN_MANY_WRITERS);
	writer_waits(PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
}

/* Two writers of a many-writer queue, both waiting through their descriptors for room. */
static void test_many_writers(void **state)
{
	(void)state;
	char a[64];
	uint64_t x = 0;

	new_chan(a, sizeof(a), 4096, PSHM_CHAN_MANY_WRITERS, 0600);
	struct kid k = start(a, PSHM_CHAN_READER);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER), *w2 = attach(a, PSHM_CHAN_WRITER);
	int fd1 = pshm_chan_fd(w1), fd2 = pshm_chan_fd(w2);
	assert_true(fd1 >= 0 && fd2 >= 0 && fd1 != fd2);
	assert_true(fill(w1) > 0);
	tu_err(pshm_chan_send(w2, &x, sizeof(x), 0), -EAGAIN);
	assert_false(readable(fd1, 0));
	assert_false(readable(fd2, 0));
	for (int by = 0; by < NBY; by++) {
		/* One message read: both armed writers hear of the room, one of them gets it. */
		order(&k, 's', false);
		if (!wait_by(by, fd1) || !wait_by(by, fd2))
			fail_msg("writers: no wake-up through %s", by_name[by]);
		struct pshm_chan *first = by % 2 ? w2 : w1, *second = by % 2 ? w1 : w2;
		assert_int_equal(fill(first), 1);
		tu_err(pshm_chan_send(second, &x, sizeof(x), 0), -EAGAIN);
		assert_false(readable(fd1, 0));
		assert_false(readable(fd2, 0));
	}
	finish(&k);
	assert_true(readable(fd1, WAIT_MS));
	tu_err(pshm_chan_send(w1, &x, sizeof(x), 0), -EPIPE);
	tu_ok(pshm_chan_close(w1));
	tu_ok(pshm_chan_close(w2));
	tu_ok(pshm_destroy_addr(a));
}

/*
 * A broadcast writer of many writers held back by another's uncommitted claim a ring older: its
 * descriptor polls readable once that claim is committed, through each of the three calls, and
 * once the writer of such a claim has died (within about a slice).
 */
static void test_many_bcast_writer(void **state)
{
	(void)state;
	char a[64];
	void *b;

	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST | PSHM_CHAN_MANY_WRITERS, 0600);
	struct pshm_chan *w1 = attach(a, PSHM_CHAN_WRITER), *w2 = attach(a, PSHM_CHAN_WRITER);
	int fd = pshm_chan_fd(w2);
	assert_true(fd >= 0);
	for (int by = 0; by < NBY; by++) {
		tu_ok(pshm_chan_reserve(w1, 100, &b, 0));
		int n = 0, r;
		while ((r = pshm_chan_send(w2, "twenty bytes, about", 20, 0)) == 0)
			assert_true(++n < 1000);
		tu_err(r, -EAGAIN);
		assert_false(readable(fd, 0));
		tu_ok(pshm_chan_commit(w1, 100));
		if (!wait_by(by, fd))
			fail_msg("many-writer broadcast: no wake-up through %s", by_name[by]);
		tu_ok(pshm_chan_send(w2, "x", 1, 0));
	}
	/* A death sends no word: the descriptor of a handle with the usual slice watches. */
	slice_ms("50");
	struct pshm_chan *w3 = attach(a, PSHM_CHAN_WRITER);
	slice_ms(LONG_SLICE);
	fd = pshm_chan_fd(w3);
	assert_true(fd >= 0);
	struct kid k = start(a, PSHM_CHAN_WRITER);
	order(&k, 'r', true);
	int n = 0, r;
	while ((r = pshm_chan_send(w3, "twenty bytes, about", 20, 0)) == 0)
		assert_true(++n < 1000);
	tu_err(r, -EAGAIN);
	kill(k.pid, SIGKILL);
	assert_int_equal(reap(k.pid), 128 + SIGKILL);
	double t0 = tu_now_ms();
	do {
		if (!readable(fd, WAIT_MS))
			fail_msg("many-writer broadcast: no wake-up for a dead writer's claim");
		r = pshm_chan_send(w3, "x", 1, 0);
	} while (r == -EAGAIN && tu_now_ms() - t0 < 3000);
	tu_ok(r);
	close(k.ack);
	close(k.cmd);
	tu_ok(pshm_chan_close(w3));
	tu_ok(pshm_chan_close(w1));
	tu_ok(pshm_chan_close(w2));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- no lost wake-up ------------------------------------------------------------------------- */

#define STRESS_MSGS 100000

static size_t stress_len(uint64_t i)
{
	return 9 + chan_mix(i) % 200;
}

/* Wait for FD; a wake-up that never comes is a lost one. */
static bool await(int fd)
{
	return readable(fd, 10000);
}

/* The writer of the stress run: every wait through its descriptor. */
static void stress_writer(const char *a, int ack)
{
	struct pshm_chan *w = NULL;
	unsigned char buf[256];

	alarm(120);
	CHILD_CHECK(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0) == 0, "open");
	int fd = pshm_chan_fd(w);
	CHILD_CHECK(fd >= 0, "fd = %d", fd);
	CHILD_CHECK(write(ack, "k", 1) == 1, "ack");
	for (uint64_t i = 0; i < STRESS_MSGS;) {
		size_t len = stress_len(i);
		memcpy(buf, &i, sizeof(i));
		memset(buf + 8, (int)(i & 0xff), len - 8);
		int rc = pshm_chan_send(w, buf, len, 0);
		if (rc == -EAGAIN) {
			CHILD_CHECK(await(fd), "writer: lost wake-up before message %llu",
			            (unsigned long long)i);
			continue;
		}
		CHILD_CHECK(rc == 0, "send = %d", rc);
		i++;
	}
	CHILD_CHECK(pshm_chan_close(w) == 0, "close");
	_exit(0);
}

/*
 * Both ends wait only through their descriptors (the slice is an hour: no timer stands in for
 * a lost wake-up), with a ring small enough to fill.
 */
static void stress(unsigned flags)
{
	char a[64], c;
	unsigned char buf[256];
	size_t len;
	int ack[2], waits = 0;

	new_chan(a, sizeof(a), 4096, flags, 0600);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	int fd = pshm_chan_fd(r);
	assert_true(fd >= 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		stress_writer(a, ack[1]);
	assert_int_equal(read(ack[0], &c, 1), 1);
	uint64_t i = 0;
	for (;;) {
		int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0);
		if (rc == -EAGAIN) {
			if (!await(fd))
				fail_msg("reader: lost wake-up before message %llu",
				         (unsigned long long)i);
			waits++;
			continue;
		}
		if (rc == -EPIPE)
			break;
		tu_ok(rc);
		uint64_t s;
		memcpy(&s, buf, sizeof(s));
		if (s != i || len != stress_len(i) || buf[len - 1] != (unsigned char)(i & 0xff))
			fail_msg("message %llu: got %llu, %zu bytes", (unsigned long long)i,
			         (unsigned long long)s, len);
		i++;
	}
	assert_int_equal(i, STRESS_MSGS);
	assert_int_equal(reap(pid), 0);
	print_message("%s: %d waits for %d messages\n", flags ? "lossless broadcast" : "queue",
	              waits, STRESS_MSGS);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
	close(ack[0]);
	close(ack[1]);
}

static void test_stress(void **state)
{
	(void)state;
	stress(0);
	stress(PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS);
}

/* ---- ends and deaths ------------------------------------------------------------------------- */

/* A writer's clean end wakes at once, with no timer's help: -EPIPE, or -ECONNABORTED. */
static void test_ends(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[64];
	size_t len;

	for (int abort = 0; abort < 2; abort++) {
		new_chan(a, sizeof(a), 4096, 0, 0600);
		struct pshm_chan *r = attach(a, PSHM_CHAN_READER), *w = attach(a, PSHM_CHAN_WRITER);
		int fd = pshm_chan_fd(r);
		drain(r);
		assert_false(readable(fd, 0));
		tu_ok(abort ? pshm_chan_abort(w) : pshm_chan_close(w));
		assert_true(readable(fd, 0));
		tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0),
		       abort ? -ECONNABORTED : -EPIPE);
		tu_ok(pshm_chan_close(r));
		tu_ok(pshm_destroy_addr(a));
	}
}

/*
 * POLLER (a WRITER or a reader) waits through its descriptor for the child K, which is then
 * killed: the descriptor must become readable within a bounded time (about the 50 ms slice, the
 * 20 ms between probes, and scheduling), and a call then reports -ECONNRESET.
 */
static void expect_death(struct pshm_chan *poller, bool writer, struct kid *k)
{
	int fd = pshm_chan_fd(poller);
	uint64_t x = 0;
	size_t len;
	int rc;

	kill(k->pid, SIGKILL);
	assert_int_equal(reap(k->pid), 128 + SIGKILL);
	double t0 = tu_now_ms();
	do {
		if (!readable(fd, WAIT_MS))
			fail_msg("no wake-up for a peer's death");
		rc = writer ? pshm_chan_send(poller, &x, sizeof(x), 0)
		            : pshm_chan_recv(poller, &x, sizeof(x), &len, 0);
	} while (rc == -EAGAIN && tu_now_ms() - t0 < 3000);
	tu_err(rc, -ECONNRESET);
	double ms = tu_now_ms() - t0;
	print_message("death seen after %.0f ms\n", ms);
	assert_true(ms < 3000);
	close(k->ack);
	close(k->cmd);
}

static void test_death(void **state)
{
	(void)state;
	char a[64];

	slice_ms("50");
	/* A reader waiting for a writer that is killed. */
	new_chan(a, sizeof(a), 4096, 0, 0600);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	assert_true(pshm_chan_fd(r) >= 0);
	struct kid k = start(a, PSHM_CHAN_WRITER);
	order(&k, 's', true);
	assert_int_equal(drain(r), 1);
	expect_death(r, false, &k);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));

	/* A full queue's writer waiting for a reader that is killed. */
	new_chan(a, sizeof(a), 4096, 0, 0600);
	k = start(a, PSHM_CHAN_READER);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
	assert_true(pshm_chan_fd(w) >= 0);
	fill(w);
	expect_death(w, true, &k);
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_destroy_addr(a));
	slice_ms(LONG_SLICE);
}

/*
 * A reader that armed before any writer came has no peer to watch and sets no timer; the
 * writer's attach tells it, so that it watches this writer from then on, and hears its death.
 */
static void test_late_writer(void **state)
{
	(void)state;
	char a[64];

	slice_ms("50");
	new_chan(a, sizeof(a), 4096, 0, 0600);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	int fd = pshm_chan_fd(r);
	drain(r);
	assert_false(readable(fd, 0));
	struct kid k = start(a, PSHM_CHAN_WRITER);
	assert_true(readable(fd, WAIT_MS));
	assert_int_equal(drain(r), 0);
	expect_death(r, false, &k);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
	slice_ms(LONG_SLICE);
}

/* ---- what a dead poller leaves ---------------------------------------------------------------- */

/* N readers in children of their own, which arm their descriptors and are then killed. */
static void dead_pollers(const char *a, int n)
{
	pid_t pid[2];
	int ack[2];
	char c;

	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	for (int i = 0; i < n; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			struct pshm_chan *ch = NULL;
			unsigned char buf[64];
			size_t len;
			alarm(60);
			CHILD_CHECK(pshm_chan_open(&ch, a, PSHM_CHAN_READER, 0) == 0, "open");
			CHILD_CHECK(pshm_chan_fd(ch) >= 0, "fd");
			CHILD_CHECK(pshm_chan_recv(ch, buf, sizeof(buf), &len, 0) == -EAGAIN,
			            "arm");
			CHILD_CHECK(write(ack[1], "k", 1) == 1, "ack");
			pause();
			_exit(1);
		}
		assert_int_equal(read(ack[0], &c, 1), 1);
	}
	close(ack[0]);
	close(ack[1]);
	for (int i = 0; i < n; i++) {
		kill(pid[i], SIGKILL);
		assert_int_equal(reap(pid[i]), 128 + SIGKILL);
	}
}

static int count_gc(const struct pshm_stat *st, int reason, void *arg)
{
	(void)st;
	assert_int_equal(reason, PSHM_GC_DEAD_BEACON);
	(*(int *)arg)++;
	return 0;
}

static void test_cleanup(void **state)
{
	(void)state;
	char a[64], path[PATH_MAX];
	int n = 0;

	/* A writer that sends to a dead poller is unharmed; a new reader takes the role over,
	 * and the dead one's FIFO goes with its beacon. */
	new_chan(a, sizeof(a), 4096, 0, 0600);
	struct pshm_chan *w = attach(a, PSHM_CHAN_WRITER);
	dead_pollers(a, 1);
	assert_int_equal(fifos(NULL), 1);
	tu_ok(pshm_chan_send(w, "x", 1, 0));
	tu_ok(pshm_chan_send(w, "y", 1, 0));
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER);
	assert_int_equal(fifos(NULL), 0);
	assert_int_equal(beacons(), 2);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_chan_close(w));

	/* pshm_gc() sweeps dead broadcast readers' FIFOs with their beacons, and keeps a live
	 * poller's. */
	tu_ok(pshm_destroy_addr(a));
	new_chan(a, sizeof(a), 4096, PSHM_CHAN_BROADCAST, 0600);
	r = attach(a, PSHM_CHAN_READER);
	assert_true(pshm_chan_fd(r) >= 0);
	dead_pollers(a, 2);
	assert_int_equal(fifos(NULL), 3);
	assert_int_equal(pshm_gc(PSHM_GC_BEACONS, count_gc, &n, NULL), 2);
	assert_int_equal(n, 2);
	assert_int_equal(fifos(NULL), 1);
	assert_int_equal(beacons(), 1);

	/* A FIFO that no header names and whose beacon is gone: pshm_gc() reports it, and with
	 * PSHM_GC_DRY_RUN leaves it. */
	snprintf(path, sizeof(path), "%s/.pshm-poll.0123456789abcdef", pshm_shm_dir());
	assert_int_equal(mkfifo(path, 0600), 0);
	n = 0;
	assert_int_equal(pshm_gc(PSHM_GC_BEACONS | PSHM_GC_DRY_RUN, count_gc, &n, NULL), 1);
	assert_int_equal(fifos(NULL), 2);
	assert_int_equal(pshm_gc(PSHM_GC_BEACONS, count_gc, &n, NULL), 1);
	assert_int_equal(n, 2);
	assert_int_equal(fifos(NULL), 1);
	/* Names that only look like one stay. */
	snprintf(path, sizeof(path), "%s/.pshm-poll.0123456789ABCDEF", pshm_shm_dir());
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(pshm_gc(PSHM_GC_BEACONS, NULL, NULL, NULL), 0);
	assert_int_equal(unlink(path), 0);

	/* Removing the channel sweeps a dead poller's FIFO too. */
	tu_ok(pshm_chan_close(r));
	dead_pollers(a, 1);
	assert_int_equal(fifos(NULL), 1);
	tu_ok(pshm_destroy_addr(a));
	assert_int_equal(fifos(NULL), 0);
	assert_int_equal(beacons(), 0);
}

/* ---- no cost where nobody polls ------------------------------------------------------------- */

static int calls[PSHM__NCALLS];

static int count_calls(enum pshm__call call)
{
	calls[call]++;
	return 0;
}

static int total_calls(void)
{
	int n = 0;
	for (int i = 0; i < PSHM__NCALLS; i++)
		n += calls[i];
	return n;
}

static void count_from_zero(void)
{
	memset(calls, 0, sizeof(calls));
	pshm__fault_hook = count_calls;
}

static void test_no_cost(void **state)
{
	(void)state;
	char a[64];
	unsigned char buf[64];
	size_t len;

	new_chan(a, sizeof(a), 4096, 0, 0600);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER), *w = attach(a, PSHM_CHAN_WRITER);

	/* Nobody polls: a stream makes no system call at all, and an empty look none but its
	 * probe of the writer. */
	count_from_zero();
	for (int i = 0; i < 1000; i++) {
		tu_ok(pshm_chan_send(w, "message", 7, 0));
		tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	}
	pshm__fault_hook = NULL;
	assert_int_equal(total_calls(), 0);
	count_from_zero();
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EAGAIN);
	tu_ok(pshm_chan_send(w, "message", 7, 0));
	pshm__fault_hook = NULL;
	/* Only the probe of the writer that an empty look makes: its beacon, opened once and
	 * tested, and the object's size. */
	assert_int_equal(total_calls(), calls[PSHM__OPEN] + calls[PSHM__LOCK] + calls[PSHM__FSTAT]);
	assert_true(calls[PSHM__OPEN] <= 1);

	/* The reader polls: its arm costs the writer one wake-up, and a reader that is busy
	 * (it has not looked since) costs it nothing. */
	int fd = pshm_chan_fd(r);
	assert_true(fd >= 0);
	assert_int_equal(drain(r), 1);
	count_from_zero();
	tu_ok(pshm_chan_send(w, "message", 7, 0));
	pshm__fault_hook = NULL;
	assert_true(calls[PSHM__WRITE] == 1 && calls[PSHM__FUTEX] == 1);
	count_from_zero();
	for (int i = 0; i < 100; i++)
		tu_ok(pshm_chan_send(w, "message", 7, 0));
	pshm__fault_hook = NULL;
	assert_int_equal(total_calls(), 0);
	assert_true(readable(fd, 0));
	assert_int_equal(drain(r), 101);

	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- failures ------------------------------------------------------------------------------- */

static enum pshm__call fail_call;
static int fail_nth, fail_seen;

/* Fail the FAIL_NTH call of kind FAIL_CALL (every one for 0) with EIO. */
static int fail_hook(enum pshm__call call)
{
	if (call != fail_call)
		return 0;
	fail_seen++;
	return fail_nth == 0 || fail_seen == fail_nth ? EIO : 0;
}

static void fail_set(enum pshm__call call, int nth)
{
	fail_call = call;
	fail_nth = nth;
	fail_seen = 0;
	pshm__fault_hook = fail_hook;
}

/*
 * Each call pshm_chan_fd() makes, failed in turn: the error comes back, nothing is left behind
 * (no FIFO, no descriptor), and the next try succeeds. A drain that fails is the arming call's
 * error; a waker's failed signal costs its send nothing.
 */
static void test_faults(void **state)
{
	(void)state;
	static const struct {
		enum pshm__call call;
		int nth;
	} steps[] = {
	    {PSHM__FSTAT, 1},  {PSHM__MKNOD, 1}, {PSHM__OPEN, 1},  {PSHM__FSTAT, 2},
	    {PSHM__FCHMOD, 1}, {PSHM__TIMER, 1}, {PSHM__EPOLL, 1}, {PSHM__EPOLL, 2},
	    {PSHM__EPOLL, 3},  {PSHM__WRITE, 1},
	};
	char a[64];
	unsigned char buf[64];
	size_t len;

	new_chan(a, sizeof(a), 4096, 0, 0600);
	struct pshm_chan *r = attach(a, PSHM_CHAN_READER), *w = attach(a, PSHM_CHAN_WRITER);
	int before = tu_count_entries("/proc/self/fd");
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fail_set(steps[i].call, steps[i].nth);
		int fd = pshm_chan_fd(r);
		pshm__fault_hook = NULL;
		if (fd != -EIO)
			fail_msg("step %zu (call %d, #%d): %d", i, steps[i].call, steps[i].nth, fd);
		assert_int_equal(fifos(NULL), 0);
		assert_int_equal(tu_count_entries("/proc/self/fd"), before);
	}
	int fd = pshm_chan_fd(r);
	assert_true(fd >= 0);

	/* The drain, then the timer, of an arm. */
	fail_set(PSHM__READ, 1);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EIO);
	fail_set(PSHM__TIMER, 1);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EIO);
	pshm__fault_hook = NULL;
	assert_int_equal(fail_seen, 1);
	drain(r);
	/* A signal that cannot be written: the message is sent all the same. */
	fail_set(PSHM__WRITE, 0);
	tu_ok(pshm_chan_send(w, "x", 1, 0));
	pshm__fault_hook = NULL;
	assert_int_equal(fail_seen, 1);
	assert_int_equal(drain(r), 1);
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(a));
}

/* ---- other users --------------------------------------------------------------------------- */

/*
 * A waker that may only write a poller's FIFO, and writes it after the poller died: -EPIPE is
 * absorbed, and the SIGPIPE that comes with it never reaches the process.
 */
static void test_other_user(void **state)
{
	(void)state;
	char a[64];
	int cmd[2], ack[2];
	char c;

	if (geteuid() != 0)
		tu_skip_test("needs root, to run a writer as another user");
	new_chan(a, sizeof(a), 4096, 0, 0666);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	/*
	 * The poller: armed, it waits for the writer's message (the writer's attach wakes it
	 * first, perhaps, for nothing), arms again and waits to die.
	 */
	pid_t poller = fork();
	assert_true(poller >= 0);
	if (poller == 0) {
		struct pshm_chan *r = NULL;
		unsigned char buf[64];
		size_t len;
		int rc;
		alarm(60);
		CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "open");
		int fd = pshm_chan_fd(r);
		CHILD_CHECK(fd >= 0, "fd");
		rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0);
		CHILD_CHECK(rc == -EAGAIN, "arm = %d", rc);
		CHILD_CHECK(write(ack[1], "k", 1) == 1, "ack");
		do {
			CHILD_CHECK(readable(fd, WAIT_MS), "no wake-up from the other user");
			rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0);
		} while (rc == -EAGAIN);
		CHILD_CHECK(rc == 0, "recv = %d", rc);
		rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0);
		CHILD_CHECK(rc == -EAGAIN, "arm again = %d", rc);
		CHILD_CHECK(write(ack[1], "k", 1) == 1, "ack");
		pause();
		_exit(1);
	}
	assert_int_equal(read(ack[0], &c, 1), 1);
	pid_t writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (setgid(65534) || setuid(65534))
			_exit(99);
		struct pshm_chan *w = NULL;
		alarm(60);
		CHILD_CHECK(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0) == 0, "open as nobody");
		CHILD_CHECK(pshm_chan_send(w, "one", 3, WAIT_MS) == 0, "send");
		CHILD_CHECK(read(cmd[0], &c, 1) == 1, "cmd");
		/* The poller's FIFO is root's and not readable by nobody, so it was opened
		 * write-only; the poller is dead now, its arm left, and this wake writes to a
		 * FIFO without a reader. */
		CHILD_CHECK(pshm_chan_send(w, "two", 3, WAIT_MS) == 0, "send after the death");
		sigset_t pending;
		sigpending(&pending);
		CHILD_CHECK(!sigismember(&pending, SIGPIPE), "SIGPIPE left pending");
		CHILD_CHECK(pshm_chan_close(w) == 0, "close");
		_exit(0);
	}
	/* Only the children's ends now: a child that fails is an end of file, not a hang. */
	close(cmd[0]);
	close(ack[1]);
	assert_int_equal(read(ack[0], &c, 1), 1);
	kill(poller, SIGKILL);
	assert_int_equal(reap(poller), 128 + SIGKILL);
	assert_int_equal(write(cmd[1], "g", 1), 1);
	assert_int_equal(reap(writer), 0);
	tu_ok(pshm_destroy_addr(a));
	close(cmd[1]);
	close(ack[0]);
}

/* As nobody, in a directory it may not write: no beacon, so no FIFO either. */
static int nobody_polls(void *arg)
{
	struct pshm_chan *r = NULL;
	if (pshm_chan_open(&r, arg, PSHM_CHAN_READER, 0))
		return 10;
	int fd = pshm_chan_fd(r);
	pshm_chan_close(r);
	return fd == -EOPNOTSUPP ? 0 : 11;
}

static void test_no_beacon(void **state)
{
	(void)state;
	char dir[64], a[PATH_MAX + 8];

	if (geteuid() != 0)
		tu_skip_test("needs root, to run a reader as another user");
	snprintf(dir, sizeof(dir), "%s/ro.XXXXXX", pshm_shm_dir());
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(a, sizeof(a), "file:%s/chan", dir);
	tu_ok(pshm_chan_create(a, 4096, 0666, 0));
	assert_int_equal(tu_as_nobody(nobody_polls, a), 0);
	tu_ok(pshm_destroy_addr(a));
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basics),       cmocka_unit_test(test_lossy_writer),
	    cmocka_unit_test(test_queue_reader), cmocka_unit_test(test_broadcast_readers),
	    cmocka_unit_test(test_writer),       cmocka_unit_test(test_many_writers),
	    cmocka_unit_test(test_stress),       cmocka_unit_test(test_ends),
	    cmocka_unit_test(test_death),        cmocka_unit_test(test_late_writer),
	    cmocka_unit_test(test_cleanup),      cmocka_unit_test(test_no_cost),
	    cmocka_unit_test(test_faults),       cmocka_unit_test(test_other_user),
	    cmocka_unit_test(test_no_beacon),    cmocka_unit_test(test_many_bcast_writer),
	};

	tu_dir_setup();
	slice_ms(LONG_SLICE);
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
