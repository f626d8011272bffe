/*
 * test_guard.c - the SIGBUS guard: guarded mappings truncated under their users (pshm_map with
 * PSHM_MAP_GUARD; channels in both modes, with a reader waiting and with a writer streaming,
 * each role in a process of its own), the registry past its first chunk and under threads, and
 * the faults that are not the guard's: death by SIGBUS as before, or the handler the program
 * installed first.
 *
 * cmocka installs a SIGBUS handler of its own around every test, which would replace the
 * guard's after the first test, so this process never installs the guard: each test runs in a
 * child that puts SIGBUS back to its default action first, and says how it went with its exit
 * status (0 passed, 1 failed, or the signal it died of). Children wait for each other through
 * pipes and for a sleeping role through its mark in the channel's header; alarm() only turns a
 * hang into a failure.
 */
#include "testutil.h"

#include "chantest.h"
#include "chan.h" /* the header's layout: where a sleeping role's mark is; pshm__fault_hook */

#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>
#include <time.h>

#define CAP   65536u        /* every channel's ring */
#define DESCS (8192u + CAP) /* where its data ring starts, after header and descriptors */
#define PAGE  ((size_t)sysconf(_SC_PAGESIZE))
#define OK    0

static int reap(pid_t pid)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run FN(ARG) in a child whose SIGBUS has its default action; its exit status or 128 + signal. */
static int in_child(int (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		alarm(60);
		_exit(fn(arg));
	}
	assert_true(pid > 0);
	return reap(pid);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait for one byte on FD: true, or false when the other end closed first. */
static bool wait_byte(int fd)
{
	char c;
	ssize_t n;
	while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return n == 1;
}

static void say(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(1);
}

/* Remove the object at ADDR without the library, which may map what it removes (a channel's
 * removal looks at its header), and so install the guard in this process. */
static void unlink_obj(const char *addr)
{
	char path[128];
	snprintf(path, sizeof(path), "%s%s", tu_dir, addr);
	unlink(path);
}

/* Shrink the object at ADDR to SIZE bytes, as another process would. */
static int cut(const char *addr, uint64_t size)
{
	struct pshm_seg *seg;
	int r = pshm_open(&seg, addr, 0);
	if (!r)
		r = pshm_resize(seg, size, 0);
	pshm_close(seg);
	return r;
}

/* Wait until the 32-bit mark at OFF in the object at ADDR is set, reading it with pread: a
 * mapping of this process's would die of the truncation the test is about to make. */
static bool wait_mark(const char *addr, size_t off)
{
	struct pshm_seg *seg;
	uint32_t v = 0;
	if (pshm_open(&seg, addr, PSHM_RDONLY))
		return false;
	while (pread(pshm_fd(seg), &v, sizeof(v), (off_t)off) == sizeof(v) && v != 1)
		sleep_ms(1);
	pshm_close(seg);
	return v == 1;
}

static unsigned char touch(const void *p)
{
	return *(const volatile unsigned char *)p;
}

/* ---- pshm_map(PSHM_MAP_GUARD) ---------------------------------------------------------------- */

static int map_basic(void *arg)
{
	(void)arg;
	char a[64];
	struct pshm_seg *seg, *other, *plain;
	unsigned char *p;
	size_t len, pg = PAGE;
	unsigned char buf[4] = {1, 2, 3, 4};

	tu_name(a, sizeof(a), "map");
	CHILD_CHECK(pshm_create(&seg, a, 16 * pg, 0600, 0) == 0, "create");
	for (size_t i = 0; i < 16; i++)
		CHILD_CHECK(pwrite(pshm_fd(seg), buf, 1, (off_t)(i * pg)) == 1, "pwrite");
	CHILD_CHECK(pshm_map_truncated(seg) == -EINVAL, "no mapping: -EINVAL");
	CHILD_CHECK(pshm_map(seg, PSHM_MAP_GUARD, (void **)&p, &len) == 0, "map");
	CHILD_CHECK(len == 16 * pg, "length");
	CHILD_CHECK(pshm_map_truncated(seg) == 0, "not truncated yet");
	CHILD_CHECK(pshm_map_truncated(NULL) == -EINVAL, "NULL");
	CHILD_CHECK(!strcmp(pshm_strerror(PSHM_ETRUNCATED), "Object truncated while in use"),
	            "the error's text");
	CHILD_CHECK(pshm_open(&plain, a, 0) == 0, "open");
	void *q;
	CHILD_CHECK(pshm_map(plain, 0, &q, &len) == 0, "unguarded map");
	CHILD_CHECK(pshm_map_truncated(plain) == -EINVAL, "unguarded: -EINVAL");
	CHILD_CHECK(pshm_unmap(plain) == 0, "unmap");

	/* Cut to four pages: what is left stays shared, nothing faults until touched. */
	CHILD_CHECK(pshm_open(&other, a, 0) == 0, "open");
	CHILD_CHECK(pshm_resize(other, 4 * pg, 0) == 0, "resize");
	CHILD_CHECK(touch(p + 2 * pg) == 1, "page 2 kept");
	CHILD_CHECK(pshm_map_truncated(seg) == 0, "nothing lost touched");

	/* Past the end: zeros, the flag, and the process lives on. */
	CHILD_CHECK(touch(p + 10 * pg) == 0, "page 10 reads zero");
	CHILD_CHECK(pshm_map_truncated(seg) == 1, "truncated");
	p[12 * pg] = 7;
	CHILD_CHECK(touch(p + 12 * pg) == 7, "written to the private page");
	CHILD_CHECK(touch(p + 5 * pg) == 0, "page 5, below the first fault, reads zero");
	/* Below the cut the mapping still shares the object. */
	CHILD_CHECK(pwrite(pshm_fd(other), "x", 1, (off_t)(3 * pg)) == 1, "pwrite");
	CHILD_CHECK(touch(p + 3 * pg) == 'x', "page 3 still shared");

	/* Mapping again starts afresh, at the new size. */
	CHILD_CHECK(pshm_unmap(seg) == 0, "unmap");
	CHILD_CHECK(pshm_map_truncated(seg) == -EINVAL, "unmapped: -EINVAL");
	CHILD_CHECK(pshm_map(seg, PSHM_MAP_GUARD | PSHM_RDONLY, (void **)&p, &len) == 0, "map");
	CHILD_CHECK(len == 4 * pg && pshm_map_truncated(seg) == 0, "fresh mapping");
	CHILD_CHECK(pshm_resize(other, 0, 0) == 0, "resize to 0");
	CHILD_CHECK(touch(p) == 0 && pshm_map_truncated(seg) == 1, "read-only mapping zeroed");
	pshm_close(other);
	pshm_close(plain);
	CHILD_CHECK(pshm_close(seg) == 0, "close");
	pshm_destroy_addr(a);
	return OK;
}

static void test_map_basic(void **state)
{
	(void)state;
	assert_int_equal(in_child(map_basic, NULL), 0);
}

struct map_arg {
	int fds[2];
	char a[64];
};

/* A process reads a guarded mapping over and over; another truncates it. */
static int map_reader(struct map_arg *m)
{
	struct pshm_seg *seg;
	unsigned char *p;
	size_t len;
	unsigned sum = 0;

	CHILD_CHECK(pshm_open(&seg, m->a, PSHM_RDONLY) == 0, "open");
	CHILD_CHECK(pshm_map(seg, PSHM_MAP_GUARD, (void **)&p, &len) == 0, "map");
	for (int pass = 0; pshm_map_truncated(seg) == 0; pass++) {
		for (size_t i = 0; i < len; i += 64)
			sum += touch(p + i);
		if (pass == 0)
			say(m->fds[1], 'r');
	}
	for (size_t i = PAGE; i < len; i += PAGE)
		CHILD_CHECK(touch(p + i) == 0, "lost page %zu reads zero", i / PAGE);
	CHILD_CHECK(pshm_close(seg) == 0, "close");
	return sum == 0xdeadbeef; /* keeps the reads */
}

static void test_map_reader(void **state)
{
	(void)state;
	struct map_arg arg;
	struct pshm_seg *seg;

	tu_name(arg.a, sizeof(arg.a), "mapr");
	tu_ok(pshm_create(&seg, arg.a, 256 * PAGE, 0600, 0));
	pshm_close(seg);
	assert_int_equal(pipe(arg.fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		alarm(60);
		close(arg.fds[0]);
		_exit(map_reader(&arg));
	}
	close(arg.fds[1]);
	assert_true(wait_byte(arg.fds[0]));
	tu_ok(cut(arg.a, PAGE));
	assert_int_equal(reap(pid), 0);
	close(arg.fds[0]);
	unlink_obj(arg.a);
}

/* ---- Channels -------------------------------------------------------------------------------- */

struct chan_case {
	char a[64];
	unsigned flags; /* 0 or PSHM_CHAN_BROADCAST */
	uint64_t size;  /* the size the object is cut to */
	int up[2];      /* children to the test: progress */
	int go[2];      /* the test to a child: go on */
};

static int make_chan(void *arg)
{
	struct chan_case *c = arg;
	return pshm_chan_create(c->a, CAP, 0600, c->flags) ? 1 : 0;
}

/* A reader that waits for a message that never comes, and hears of the truncation. */
static int waiting_reader(struct chan_case *c)
{
	struct pshm_chan *r;
	char buf[256];
	const void *p;
	size_t len;

	CHILD_CHECK(pshm_chan_open(&r, c->a, PSHM_CHAN_READER, 0) == 0, "reader open");
	say(c->up[1], 'r');
	int rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
	CHILD_CHECK(rc == PSHM_ETRUNCATED, "recv = %d", rc);
	/* Dead for good: every call says the same. */
	rc = pshm_chan_recv(r, buf, sizeof(buf), &len, 0);
	CHILD_CHECK(rc == PSHM_ETRUNCATED, "recv again = %d", rc);
	rc = pshm_chan_peek(r, &p, &len, 10);
	CHILD_CHECK(rc == PSHM_ETRUNCATED, "peek = %d", rc);
	CHILD_CHECK(pshm_chan_close(r) == 0, "close");
	return OK;
}

/* A writer that attaches, idles until told, and then finds it cannot send. */
static int idle_writer(struct chan_case *c)
{
	struct pshm_chan *w;
	char msg[100] = "a message long enough for the data ring";

	CHILD_CHECK(pshm_chan_open(&w, c->a, PSHM_CHAN_WRITER, 0) == 0, "writer open");
	say(c->up[1], 'w');
	CHILD_CHECK(wait_byte(c->go[0]), "go");
	int rc = pshm_chan_send(w, msg, sizeof(msg), PSHM_CHAN_FOREVER);
	CHILD_CHECK(rc == PSHM_ETRUNCATED, "send = %d", rc);
	rc = pshm_chan_send(w, msg, 4, 0);
	CHILD_CHECK(rc == PSHM_ETRUNCATED, "send again = %d", rc);
	CHILD_CHECK(pshm_chan_close(w) == 0, "close");
	return OK;
}

static pid_t spawn(struct chan_case *c, int (*fn)(struct chan_case *))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		alarm(60);
		close(c->up[0]);
		close(c->go[1]);
		_exit(fn(c));
	}
	assert_true(pid > 0);
	return pid;
}

static void chan_case_init(struct chan_case *c, const char *tag, unsigned flags, uint64_t size)
{
	tu_name(c->a, sizeof(c->a), tag);
	c->flags = flags;
	c->size = size;
	assert_int_equal(pipe(c->up), 0);
	assert_int_equal(pipe(c->go), 0);
	assert_int_equal(in_child(make_chan, c), 0);
}

static void chan_case_done(struct chan_case *c)
{
	close(c->up[0]);
	close(c->up[1]);
	close(c->go[0]);
	close(c->go[1]);
	unlink_obj(c->a);
}

/*
 * The reader sleeps (its mark in the header says so), the writer idles; the object is cut to
 * SIZE. The reader's wait must end with PSHM_ETRUNCATED, and so must the writer's next send.
 */
static void reader_waits(unsigned flags, uint64_t size)
{
	struct chan_case c;
	chan_case_init(&c, "rw", flags, size);
	pid_t rd = spawn(&c, waiting_reader);
	pid_t wr = spawn(&c, idle_writer);
	assert_true(wait_byte(c.up[0]) && wait_byte(c.up[0]));
	size_t mark = flags ? offsetof(struct pshm__chan_hdr, slot[0].waiting)
	                    : offsetof(struct pshm__chan_hdr, reader_waiting);
	assert_true(wait_mark(c.a, mark));
	tu_ok(cut(c.a, size));
	assert_int_equal(reap(rd), 0);
	say(c.go[1], 'g');
	assert_int_equal(reap(wr), 0);
	chan_case_done(&c);
}

/* Cut to nothing, to the header's first page (which holds the queue's counters and states), and
 * to the header and descriptors (only the data ring is lost: a sleeping reader's descriptor is
 * spared, and only the size tells). */
static void test_queue_reader_waits(void **state)
{
	(void)state;
	reader_waits(0, 0);
	reader_waits(0, 4096);
	reader_waits(0, DESCS);
}

static void test_broadcast_reader_waits(void **state)
{
	(void)state;
	reader_waits(PSHM_CHAN_BROADCAST, 0);
	reader_waits(PSHM_CHAN_BROADCAST, 4096);
	reader_waits(PSHM_CHAN_BROADCAST, DESCS);
}

static size_t msg_len(uint64_t i)
{
	return 1 + chan_mix(i) % 300;
}

/* Send messages of 1 to 300 bytes until the channel fails, which must be by truncation. */
static int streaming_writer(struct chan_case *c)
{
	struct pshm_chan *w;
	unsigned char buf[300];
	int rc;

	memset(buf, 0x5a, sizeof(buf));
	CHILD_CHECK(pshm_chan_open(&w, c->a, PSHM_CHAN_WRITER, 0) == 0, "writer open");
	for (uint64_t i = 0;; i++) {
		if (i & 1) {
			rc = pshm_chan_send(w, buf, msg_len(i), PSHM_CHAN_FOREVER);
		} else {
			void *p;
			rc = pshm_chan_reserve(w, msg_len(i), &p, PSHM_CHAN_FOREVER);
			if (!rc) {
				memcpy(p, buf, msg_len(i));
				rc = pshm_chan_commit(w, msg_len(i));
			}
		}
		if (rc)
			break;
		if (i == 5000)
			say(c->up[1], 'w');
	}
	CHILD_CHECK(rc == PSHM_ETRUNCATED, "send = %d (%s)", rc, pshm_strerror(rc));
	CHILD_CHECK(pshm_chan_close(w) == 0, "close");
	return OK;
}

/* Receive (copying and zero-copy in turn) until the channel fails, which must be by truncation. */
static int streaming_reader(struct chan_case *c)
{
	struct pshm_chan *r;
	unsigned char buf[300];
	const void *p;
	size_t len;
	int rc;
	uint64_t got = 0;

	CHILD_CHECK(pshm_chan_open(&r, c->a, PSHM_CHAN_READER, 0) == 0, "reader open");
	say(c->up[1], 'o');
	for (uint64_t i = 0;; i++) {
		if (i & 1) {
			rc = pshm_chan_recv(r, buf, sizeof(buf), &len, PSHM_CHAN_FOREVER);
		} else {
			rc = pshm_chan_peek(r, &p, &len, PSHM_CHAN_FOREVER);
			if (!rc) {
				memcpy(buf, p, len);
				rc = pshm_chan_release(r);
			}
		}
		if (rc == -EOVERFLOW) /* broadcast: the writer ran ahead */
			continue;
		if (rc)
			break;
		if (++got == 5000)
			say(c->up[1], 'r');
	}
	CHILD_CHECK(rc == PSHM_ETRUNCATED, "recv = %d (%s)", rc, pshm_strerror(rc));
	CHILD_CHECK(pshm_chan_close(r) == 0, "close");
	return OK;
}

/* Both sides stream; once each has handled 5000 messages the object is cut to SIZE. */
static void writer_streams(unsigned flags, uint64_t size)
{
	struct chan_case c;
	chan_case_init(&c, "ws", flags, size);
	pid_t rd = spawn(&c, streaming_reader);
	assert_true(wait_byte(c.up[0])); /* attached: a broadcast reader gets what follows */
	pid_t wr = spawn(&c, streaming_writer);
	assert_true(wait_byte(c.up[0]) && wait_byte(c.up[0]));
	tu_ok(cut(c.a, size));
	int rs = reap(rd), ws = reap(wr);
	assert_int_equal(rs, 0);
	assert_int_equal(ws, 0);
	chan_case_done(&c);
}

static void test_queue_writer_streams(void **state)
{
	(void)state;
	writer_streams(0, 0);
	writer_streams(0, 4096);
	writer_streams(0, DESCS);
}

static void test_broadcast_writer_streams(void **state)
{
	(void)state;
	writer_streams(PSHM_CHAN_BROADCAST, 0);
	writer_streams(PSHM_CHAN_BROADCAST, 4096);
	writer_streams(PSHM_CHAN_BROADCAST, DESCS);
}

/* ---- The registry ---------------------------------------------------------------------------- */

#define MANY 150 /* more than one chunk of slots */

/* Many guarded mappings at once: a fault in one touches no other. Twice, so slots are reused. */
static int registry_many(void *arg)
{
	(void)arg;
	static struct pshm_seg *segs[MANY];
	static unsigned char *maps[MANY];
	size_t len;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < MANY; i++) {
			CHILD_CHECK(pshm_create(&segs[i], "memfd:", 2 * PAGE, 0600, 0) == 0,
			            "memfd");
			CHILD_CHECK(pshm_map(segs[i], PSHM_MAP_GUARD, (void **)&maps[i], &len) == 0,
			            "map %d", i);
			maps[i][PAGE] = 9;
		}
		int victim = round ? 7 : 140;
		CHILD_CHECK(pshm_resize(segs[victim], 0, 0) == 0, "resize");
		for (int i = 0; i < MANY; i++) {
			CHILD_CHECK(touch(maps[i] + PAGE) == (i == victim ? 0 : 9), "mapping %d",
			            i);
			CHILD_CHECK(pshm_map_truncated(segs[i]) == (i == victim), "flag %d", i);
		}
		for (int i = 0; i < MANY; i++)
			CHILD_CHECK(pshm_close(segs[i]) == 0, "close %d", i);
	}
	return OK;
}

static void test_registry_many(void **state)
{
	(void)state;
	assert_int_equal(in_child(registry_many, NULL), 0);
}

/* Threads that map, truncate, fault and unmap at once: registration, faults and removal race. */
static void *churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		struct pshm_seg *seg;
		unsigned char *p;
		size_t len;
		if (pshm_create(&seg, "memfd:", 3 * PAGE, 0600, 0) ||
		    pshm_map(seg, PSHM_MAP_GUARD, (void **)&p, &len))
			return (void *)1;
		p[2 * PAGE] = 1;
		pshm_resize(seg, PAGE, 0);
		if (touch(p + 2 * PAGE) != 0 || pshm_map_truncated(seg) != 1 || pshm_close(seg))
			return (void *)1;
	}
	return NULL;
}

static int registry_threads(void *arg)
{
	(void)arg;
	pthread_t t[4];
	void *res;
	bool ok = true;

	for (int i = 0; i < 4; i++)
		CHILD_CHECK(pthread_create(&t[i], NULL, churn, NULL) == 0, "thread");
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &res);
		ok = ok && res == NULL;
	}
	CHILD_CHECK(ok, "a thread failed");
	return OK;
}

static void test_registry_threads(void **state)
{
	(void)state;
	assert_int_equal(in_child(registry_threads, NULL), 0);
}

/* ---- Faults that are not the guard's --------------------------------------------------------- */

static unsigned char *lost_page; /* an unguarded mapping's page that is gone */

/*
 * Map two objects of two pages, one guarded and one not, and cut both to nothing. The guarded
 * one is touched: the guard takes that fault. Returns; the unguarded page is in lost_page.
 */
static void two_mappings(void)
{
	struct pshm_seg *g, *u;
	unsigned char *gp;
	size_t len;

	CHILD_CHECK(pshm_create(&g, "memfd:", 2 * PAGE, 0600, 0) == 0, "memfd");
	CHILD_CHECK(pshm_create(&u, "memfd:", 2 * PAGE, 0600, 0) == 0, "memfd");
	CHILD_CHECK(pshm_map(g, PSHM_MAP_GUARD, (void **)&gp, &len) == 0, "guarded map");
	CHILD_CHECK(pshm_map(u, 0, (void **)&lost_page, &len) == 0, "map");
	CHILD_CHECK(pshm_resize(g, 0, 0) == 0 && pshm_resize(u, 0, 0) == 0, "resize");
	CHILD_CHECK(touch(gp + PAGE) == 0 && pshm_map_truncated(g) == 1, "guarded fault");
}

/* Default action: an unguarded fault kills, as without the guard. */
static int chain_default(void *arg)
{
	(void)arg;
	two_mappings();
	touch(lost_page);
	return 1; /* not reached */
}

/* A SIGBUS sent with kill is not a fault of ours either: the default action kills. */
static int chain_sent(void *arg)
{
	(void)arg;
	two_mappings();
	raise(SIGBUS);
	return 1;
}

/* Ignored: a sent SIGBUS stays ignored, a fault still kills (as the kernel would have it). */
static int chain_ignored(void *arg)
{
	(void)arg;
	signal(SIGBUS, SIG_IGN);
	two_mappings();
	raise(SIGBUS);
	touch(lost_page);
	return 1;
}

static void on_bus_info(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	_exit(sig == SIGBUS && (unsigned char *)si->si_addr == lost_page ? 42 : 41);
}

static void on_bus_plain(int sig)
{
	_exit(sig == SIGBUS ? 43 : 41);
}

/* The program's own handler, installed before the guard, gets the faults that are not ours. */
static int chain_siginfo(void *arg)
{
	(void)arg;
	struct sigaction sa = {.sa_sigaction = on_bus_info, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	two_mappings(); /* on_bus_info would end it at the guarded fault: 41 */
	touch(lost_page);
	return 1;
}

static int chain_plain(void *arg)
{
	(void)arg;
	signal(SIGBUS, on_bus_plain);
	two_mappings();
	touch(lost_page);
	return 1;
}

static void test_chain(void **state)
{
	(void)state;
	assert_int_equal(in_child(chain_default, NULL), 128 + SIGBUS);
	assert_int_equal(in_child(chain_sent, NULL), 128 + SIGBUS);
	assert_int_equal(in_child(chain_ignored, NULL), 128 + SIGBUS);
	assert_int_equal(in_child(chain_siginfo, NULL), 42);
	assert_int_equal(in_child(chain_plain, NULL), 43);
}

static int fail_sigaction(enum pshm__call call)
{
	return call == PSHM__SIGACTION ? EPERM : 0;
}

/* A handler that cannot be installed fails the map and leaves nothing mapped; later it works. */
static int install_fails(void *arg)
{
	(void)arg;
	struct pshm_seg *seg;
	unsigned char *p;
	size_t len;

	CHILD_CHECK(pshm_create(&seg, "memfd:", 2 * PAGE, 0600, 0) == 0, "memfd");
	pshm__fault_hook = fail_sigaction;
	int rc = pshm_map(seg, PSHM_MAP_GUARD, (void **)&p, &len);
	pshm__fault_hook = NULL;
	CHILD_CHECK(rc == -EPERM, "map = %d", rc);
	CHILD_CHECK(pshm_map_truncated(seg) == -EINVAL, "no guarded mapping");
	CHILD_CHECK(pshm_map(seg, PSHM_MAP_GUARD, (void **)&p, &len) == 0, "map, not busy");
	CHILD_CHECK(pshm_resize(seg, 0, 0) == 0, "resize");
	CHILD_CHECK(touch(p + PAGE) == 0 && pshm_map_truncated(seg) == 1, "guarded");
	CHILD_CHECK(pshm_close(seg) == 0, "close");
	return OK;
}

static void test_install_fails(void **state)
{
	(void)state;
	assert_int_equal(in_child(install_fails, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_basic),
	    cmocka_unit_test(test_map_reader),
	    cmocka_unit_test(test_queue_reader_waits),
	    cmocka_unit_test(test_broadcast_reader_waits),
	    cmocka_unit_test(test_queue_writer_streams),
	    cmocka_unit_test(test_broadcast_writer_streams),
	    cmocka_unit_test(test_registry_many),
	    cmocka_unit_test(test_registry_threads),
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_install_fails),
	};

	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
