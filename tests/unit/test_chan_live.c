/*
 * test_chan_live.c - a channel's roles against a squatter: a process of another user that may
 * only read the channel, and holds every read lock it can get (open file description locks
 * and classic POSIX locks, over the whole object and over each beacon it can open, taken again
 * the moment a holder dies). Send and receive must still work, a second writer must still be
 * refused, and the death of a waiting peer must still be seen within a fraction of a second,
 * also by a role holder that may not create files beside the channel and so locks its byte of
 * the object instead. Needs root (the squatter is uid 65534).
 */
#include "testutil.h"

#include "chantest.h"
#include "chan.h" /* the header's sleep marks and beacon words */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#define NOBODY 65534
#define MSGS   5

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		_exit(99);
}

/* Where a killed peer's moment of death is kept for the survivor to measure from. */
static _Atomic double *death_ms;

/* ---- the squatter ---------------------------------------------------------------------------- */

/* A read lock the squatter waits for: both kinds, over [start, start + len) of two openings. */
struct wait_lock {
	int ofd_fd, posix_fd;
	struct flock fl;
	int grab; /* written to once both are held */
};

static void *wait_lock_main(void *arg)
{
	struct wait_lock *w = arg;
	struct flock a = w->fl, b = w->fl;
	while (fcntl(w->ofd_fd, F_OFD_SETLKW, &a) < 0 && errno == EINTR)
		;
	while (fcntl(w->posix_fd, F_SETLKW, &b) < 0 && errno == EINTR)
		;
	if (write(w->grab, "g", 1) != 1)
		_exit(1);
	return NULL;
}

/*
 * Read-lock [START, START + LEN) of PATH with an open file description lock and a classic
 * POSIX lock; when a write lock is in the way, leave a thread waiting to take them the moment
 * it goes (and then to write to GRAB). Nothing it opens is ever closed: closing any descriptor
 * of a file drops the process's classic locks on it. True when taken at once.
 */
static bool squat(const char *path, off_t start, off_t len, bool wait, int grab)
{
	int a = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int b = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	struct flock f1 = fl, f2 = fl;

	if (a < 0 || b < 0)
		return false;
	if (fcntl(a, F_OFD_SETLK, &f1) == 0 && fcntl(b, F_SETLK, &f2) == 0)
		return true;
	if (wait) {
		struct wait_lock *w = malloc(sizeof(*w));
		pthread_t th;
		if (!w)
			_exit(1);
		*w = (struct wait_lock){.ofd_fd = a, .posix_fd = b, .fl = fl, .grab = grab};
		if (pthread_create(&th, NULL, wait_lock_main, w))
			_exit(1);
		pthread_detach(th);
	}
	return false;
}

struct squatter {
	pid_t pid;
	int cmd;  /* 's': look for new beacons; the squatter answers on ACK */
	int ack;  /* 'r' once the object is locked, 'k' after each look */
	int grab; /* a byte for every lock it waited for and took */
};

/* The squatter's process: as uid 65534, squat the object at OBJ and the beacons in DIR. */
static void squatter_main(const char *obj, const char *dir, int cmd, int ack, int grab)
{
	char seen[PSHM_CHAN_MAX_READERS + 8][NAME_MAX + 1];
	int nseen = 0;
	char c;

	drop_to_nobody();
	alarm(120);
	/* All of it when nobody holds a write lock on it; else each byte a role may lock, the
	 * ones held as soon as they are let go. */
	if (!squat(obj, 0, 0, false, grab))
		for (int b = 0; b < 2 + PSHM_CHAN_MAX_READERS; b++)
			squat(obj, b, 1, true, grab);
	if (write(ack, "r", 1) != 1)
		_exit(1);
	while (read(cmd, &c, 1) == 1) {
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (strncmp(e->d_name, ".pshm-live.", 11))
				continue;
			bool old = false;
			for (int i = 0; i < nseen; i++)
				old = old || !strcmp(seen[i], e->d_name);
			if (old || nseen == (int)(sizeof(seen) / sizeof(seen[0])))
				continue;
			snprintf(seen[nseen++], NAME_MAX + 1, "%s", e->d_name);
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			squat(path, 0, 0, true, grab);
		}
		if (d)
			closedir(d);
		if (write(ack, "k", 1) != 1)
			_exit(1);
	}
	_exit(0);
}

static void squatter_start(struct squatter *s, const char *obj, const char *dir)
{
	int cmd[2], ack[2], grab[2];
	char c;

	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(ack), 0);
	assert_int_equal(pipe(grab), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		close(cmd[1]);
		close(ack[0]);
		close(grab[0]);
		squatter_main(obj, dir, cmd[0], ack[1], grab[1]);
	}
	close(cmd[0]);
	close(ack[1]);
	close(grab[1]);
	s->cmd = cmd[1];
	s->ack = ack[0];
	s->grab = grab[0];
	assert_int_equal(read(s->ack, &c, 1), 1);
	assert_int_equal(c, 'r');
}

/* Have the squatter lock (or wait for) every beacon there is now. */
static void squatter_look(struct squatter *s)
{
	char c;
	assert_int_equal(write(s->cmd, "s", 1), 1);
	assert_int_equal(read(s->ack, &c, 1), 1);
	assert_int_equal(c, 'k');
}

/* Wait until the squatter has taken a lock it waited for: one whose holder died. */
static void squatter_grabbed(struct squatter *s)
{
	char c;
	assert_int_equal(read(s->grab, &c, 1), 1);
}

static void squatter_stop(struct squatter *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	close(s->cmd);
	close(s->ack);
	close(s->grab);
}

/* ---- peers that die while the other end waits ------------------------------------------------ */

/* Map channel ADDR's header (the child's own view, beside its handle). */
static struct pshm__chan_hdr *header(const char *addr)
{
	struct pshm_seg *seg;
	void *map;
	size_t len;
	CHILD_CHECK(pshm_open(&seg, addr, PSHM_RDONLY) == 0, "open %s", addr);
	CHILD_CHECK(pshm_map(seg, PSHM_RDONLY, &map, &len) == 0, "map %s", addr);
	return map;
}

/* Wait (in a child) until *MARK is 1: the other end has gone to sleep waiting for it. */
static void wait_mark(const _Atomic uint32_t *mark, const _Atomic uint64_t *count, uint64_t want)
{
	while (atomic_load(mark) != 1 || (count && atomic_load(count) != want))
		tu_poll_pause();
}

/*
 * A writer child: attach (as uid 65534 when NOBODY_ROLE), say so on READY (one byte: 'w', or
 * 'e' followed by the error), wait for GO, send MSGS messages BASE..., wait until the reader
 * has read them all and gone to sleep for the next, note the time, and die by SIGKILL.
 */
static pid_t writer_child(const char *addr, bool nobody_role, uint64_t base, int ready[2],
                          int go[2])
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid)
		return pid;
	alarm(120);
	if (nobody_role)
		drop_to_nobody();
	struct pshm_chan *w = NULL;
	int rc = pshm_chan_open(&w, addr, PSHM_CHAN_WRITER, 0);
	if (rc) {
		CHILD_CHECK(write(ready[1], "e", 1) == 1 && write(ready[1], &rc, sizeof(rc)),
		            "ready");
		_exit(0);
	}
	CHILD_CHECK(write(ready[1], "w", 1) == 1, "ready");
	char c;
	CHILD_CHECK(read(go[0], &c, 1) == 1, "go");
	for (uint64_t i = 0; i < MSGS; i++) {
		uint64_t m = base + i;
		CHILD_CHECK(pshm_chan_send(w, &m, sizeof(m), 5000) == 0, "send");
	}
	struct pshm__chan_hdr *h = header(addr);
	wait_mark(&h->reader_waiting, &h->received, atomic_load(&h->sent));
	atomic_store(death_ms, tu_now_ms());
	raise(SIGKILL);
	_exit(1);
}

/* Start a writer child and wait for its answer: 0 once attached, or its open's error. */
static int start_writer(const char *addr, bool nobody_role, uint64_t base, pid_t *pidp, int go[2])
{
	int ready[2], rc = 0;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	*pidp = writer_child(addr, nobody_role, base, ready, go);
	assert_int_equal(read(ready[0], &c, 1), 1);
	if (c == 'e')
		assert_int_equal(read(ready[0], &rc, sizeof(rc)), sizeof(rc));
	close(ready[0]);
	close(ready[1]);
	if (rc) {
		waitpid(*pidp, NULL, 0);
		close(go[0]);
		close(go[1]);
	}
	return rc;
}

/*
 * Let the writer child go, read its messages on R, and wait for what comes next: its death,
 * which must be heard as -ECONNRESET, soon. Returns how long after the death it was heard.
 */
static double read_until_death(struct pshm_chan *r, pid_t pid, uint64_t base, int go[2])
{
	uint64_t m;
	size_t len;
	int status;

	assert_int_equal(write(go[1], "g", 1), 1);
	for (uint64_t i = 0; i < MSGS; i++) {
		tu_ok(pshm_chan_recv(r, &m, sizeof(m), &len, 5000));
		assert_int_equal(len, sizeof(m));
		assert_int_equal(m, base + i);
	}
	int rc = pshm_chan_recv(r, &m, sizeof(m), &len, 10000);
	double dt = tu_now_ms() - atomic_load(death_ms);
	tu_err(rc, -ECONNRESET);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(go[0]);
	close(go[1]);
	/* Not hidden: the bound only tells a slow machine from a death that went unseen. */
	assert_true(dt < 10000);
	return dt;
}

/* How many beacons DIR holds. */
static int beacons(const char *dir)
{
	return tu_count_prefix(dir, ".pshm-live.");
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void need_root(void)
{
	if (geteuid() != 0)
		tu_skip_test("needs root to run a squatter as another user");
}

/*
 * A new channel of 4096 bytes with FLAGS, mode 0644, named in A (SIZE bytes) after TAG, and a
 * squatter, another user, started on it before anyone attaches; the test is skipped when not
 * run as root.
 */
static void squatted_chan(struct squatter *sq, char *a, size_t size, const char *tag,
                          unsigned flags)
{
	const char *dir = getenv("PSHM_DIR");
	char obj[PATH_MAX];

	need_root();
	tu_name(a, size, tag);
	tu_ok(pshm_chan_create(a, 4096, 0644, flags));
	snprintf(obj, sizeof(obj), "%s/%s", dir, a + 1);
	squatter_start(sq, obj, dir);
}

/*
 * A channel root made with mode 0644, squatted by uid 65534 from before anyone attaches:
 * the reader and a series of writers attach, a second writer is refused while one lives, and
 * each writer's SIGKILL is heard by the waiting reader in well under a second, also after the
 * squatter has read-locked the dead writer's beacon. Then a reader dies while the writer waits
 * on a full queue, and the writer hears it. Removing the channel removes what the dead left.
 */
static void test_squatted_queue(void **state)
{
	(void)state;
	char a[64];
	const char *dir = getenv("PSHM_DIR");
	struct squatter sq;
	struct pshm_chan_stat st;
	struct pshm_chan *r = NULL, *w = NULL, *x = NULL;
	int fds0 = tu_count_entries("/proc/self/fd");
	double worst = 0;

	alarm(120);
	squatted_chan(&sq, a, sizeof(a), "squat", 0);

	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
	squatter_look(&sq);
	tu_err(pshm_chan_open(&x, a, PSHM_CHAN_READER, 0), -EBUSY);
	for (int it = 0; it < 4; it++) {
		pid_t pid;
		int go[2];
		uint64_t base = (uint64_t)it << 32;
		tu_ok(start_writer(a, false, base, &pid, go));
		/* Its beacon squatted (or waited for) too, another writer is still refused. */
		squatter_look(&sq);
		tu_err(pshm_chan_open(&x, a, PSHM_CHAN_WRITER, 0), -EBUSY);
		tu_ok(pshm_chan_stat_addr(a, &st));
		assert_int_equal(st.writer, PSHM_CHAN_WRITER_ATTACHED);
		double dt = read_until_death(r, pid, base, go);
		printf("# writer %d: its SIGKILL heard by the reader after %.1f ms\n", it, dt);
		worst = dt > worst ? dt : worst;
		/* The squatter now holds read locks on the dead writer's beacon: still dead. */
		squatter_grabbed(&sq);
		uint64_t m;
		size_t len;
		tu_err(pshm_chan_recv(r, &m, sizeof(m), &len, 0), -ECONNRESET);
		tu_ok(pshm_chan_stat_addr(a, &st));
		assert_int_equal(st.writer, PSHM_CHAN_WRITER_DIED);
	}

	/* A writer takes the dead one's place and detaches cleanly. */
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	uint64_t m = 42;
	size_t len;
	tu_ok(pshm_chan_send(w, &m, sizeof(m), 0));
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_recv(r, &m, sizeof(m), &len, 0));
	assert_int_equal(m, 42);
	tu_err(pshm_chan_recv(r, &m, sizeof(m), &len, 0), -EPIPE);
	tu_ok(pshm_chan_close(r));

	/* A reader dies while the writer waits for room. */
	int ready[2];
	char c;
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(120);
		CHILD_CHECK(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0) == 0, "reader open");
		CHILD_CHECK(write(ready[1], "r", 1) == 1, "ready");
		struct pshm__chan_hdr *h = header(a);
		wait_mark(&h->writer_waiting, NULL, 0);
		atomic_store(death_ms, tu_now_ms());
		raise(SIGKILL);
		_exit(1);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	squatter_look(&sq);
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	int rc;
	for (m = 0; (rc = pshm_chan_send(w, &m, sizeof(m), 10000)) == 0; m++)
		;
	double dt = tu_now_ms() - atomic_load(death_ms);
	tu_err(rc, -ECONNRESET);
	waitpid(pid, NULL, 0);
	printf("# a reader's SIGKILL heard by the waiting writer after %.1f ms\n", dt);
	assert_true(dt < 10000);
	squatter_grabbed(&sq);
	tu_err(pshm_chan_send(w, &m, sizeof(m), 0), -ECONNRESET);
	tu_ok(pshm_chan_close(w));
	printf("# slowest death heard by a reader: %.1f ms\n", worst);

	/* The dead reader's beacon is left until the channel goes. */
	assert_int_equal(beacons(dir), 1);
	tu_ok(pshm_destroy_addr(a));
	assert_int_equal(beacons(dir), 0);
	squatter_stop(&sq);
	assert_int_equal(tu_count_entries("/proc/self/fd"), fds0);
	alarm(0);
}

/*
 * Broadcast: the squatter does not keep readers from their slots, a reader's death frees its
 * slot for the next one, and the 65th reader is still refused.
 */
static void test_squatted_broadcast(void **state)
{
	(void)state;
	char a[64];
	const char *dir = getenv("PSHM_DIR");
	struct squatter sq;
	struct pshm_chan_stat st;
	struct pshm_chan *w = NULL, *r[PSHM_CHAN_MAX_READERS] = {NULL};
	int ready[2];
	char c;

	alarm(120);
	squatted_chan(&sq, a, sizeof(a), "squatb", PSHM_CHAN_BROADCAST);
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	tu_ok(pshm_chan_open(&r[0], a, PSHM_CHAN_READER, 0));

	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_chan *me = NULL;
		alarm(120);
		CHILD_CHECK(pshm_chan_open(&me, a, PSHM_CHAN_READER, 0) == 0, "reader open");
		CHILD_CHECK(write(ready[1], "r", 1) == 1, "ready");
		pause();
		_exit(1);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	squatter_look(&sq);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 2);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	squatter_grabbed(&sq);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, 1);
	for (int i = 1; i < PSHM_CHAN_MAX_READERS; i++)
		tu_ok(pshm_chan_open(&r[i], a, PSHM_CHAN_READER, 0));
	struct pshm_chan *x = NULL;
	tu_err(pshm_chan_open(&x, a, PSHM_CHAN_READER, 0), -EBUSY);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.readers, PSHM_CHAN_MAX_READERS);
	uint64_t m = 7;
	size_t len;
	tu_ok(pshm_chan_send(w, &m, sizeof(m), 0));
	for (int i = 0; i < PSHM_CHAN_MAX_READERS; i++) {
		m = 0;
		tu_ok(pshm_chan_recv(r[i], &m, sizeof(m), &len, 0));
		assert_int_equal(m, 7);
		tu_ok(pshm_chan_close(r[i]));
	}
	tu_ok(pshm_chan_close(w));
	squatter_stop(&sq);
	tu_ok(pshm_destroy_addr(a));
	assert_int_equal(beacons(dir), 0);
	alarm(0);
}

/*
 * A channel in a directory its writer (uid 65534) may not create files in: the writer locks
 * its byte of the object instead of making a beacon, and the header says so. Its role is still
 * exclusive, and its SIGKILL is still heard at once although the squatter read-locks that
 * byte the moment it is free; what the squatter can still do there is keep the next writer of
 * that kind out (-EBUSY), while a writer that can make a beacon takes over.
 */
static void test_fallback(void **state)
{
	(void)state;
	need_root();
	char d[256], a[300], obj[280];
	struct squatter sq;
	struct pshm_chan_stat st;
	struct pshm_chan *r = NULL, *x = NULL;
	struct pshm_seg *seg;
	void *map;
	size_t len;
	pid_t pid;
	int go[2];

	alarm(120);
	snprintf(d, sizeof(d), "%s/ro.XXXXXX", getenv("PSHM_DIR"));
	assert_non_null(mkdtemp(d));
	assert_int_equal(chmod(d, 0755), 0);
	snprintf(obj, sizeof(obj), "%s/c", d);
	snprintf(a, sizeof(a), "file:%s", obj);
	tu_ok(pshm_chan_create(a, 4096, 0666, 0));
	tu_ok(pshm_open(&seg, a, PSHM_RDONLY));
	tu_ok(pshm_map(seg, PSHM_RDONLY, &map, &len));
	struct pshm__chan_hdr *h = map;

	tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
	assert_int_equal(beacons(d), 1);
	tu_ok(start_writer(a, true, 0, &pid, go));
	assert_true(atomic_load(&h->writer_live) == PSHM__LIVE_LOCK);
	assert_int_equal(beacons(d), 1);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_ATTACHED);
	/* Exclusive for both kinds of writer. */
	tu_err(pshm_chan_open(&x, a, PSHM_CHAN_WRITER, 0), -EBUSY);
	pid_t p2;
	int go2[2];
	assert_int_equal(start_writer(a, true, 0, &p2, go2), -EBUSY);

	squatter_start(&sq, obj, d);
	squatter_look(&sq);
	double dt = read_until_death(r, pid, 0, go);
	printf("# a byte-locking writer's SIGKILL heard by the reader after %.1f ms\n", dt);
	squatter_grabbed(&sq);
	uint64_t m;
	tu_err(pshm_chan_recv(r, &m, sizeof(m), &len, 0), -ECONNRESET);
	tu_ok(pshm_chan_stat_addr(a, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_DIED);

	/* The limit of the fallback: the squatter's read lock on the byte keeps such a writer
	 * out. One with a beacon is not kept out. */
	assert_int_equal(start_writer(a, true, 0, &p2, go2), -EBUSY);
	tu_ok(start_writer(a, false, 1000, &pid, go));
	assert_true(atomic_load(&h->writer_live) != PSHM__LIVE_LOCK);
	assert_int_equal(beacons(d), 2);
	squatter_look(&sq);
	dt = read_until_death(r, pid, 1000, go);
	printf("# then a beacon writer's, after %.1f ms\n", dt);
	squatter_stop(&sq);

	/* With the squatter gone, a byte-locking writer takes over the dead one with a beacon.
	 * It may not remove that beacon here: the empty file stays, named by no header, until
	 * its owner or root removes it. */
	tu_ok(start_writer(a, true, 2000, &pid, go));
	assert_true(atomic_load(&h->writer_live) == PSHM__LIVE_LOCK);
	assert_int_equal(beacons(d), 2);
	dt = read_until_death(r, pid, 2000, go);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_close(seg));
	tu_ok(pshm_destroy_addr(a));
	assert_int_equal(beacons(d), 1);
	DIR *dd = opendir(d);
	struct dirent *e;
	assert_non_null(dd);
	while ((e = readdir(dd)))
		if (e->d_name[0] != '.' || !strncmp(e->d_name, ".pshm-live.", 11))
			assert_int_equal(unlinkat(dirfd(dd), e->d_name, 0), 0);
	closedir(dd);
	assert_int_equal(rmdir(d), 0);
	alarm(0);
}

/*
 * What a writer of the header may put in the beacon words: ids of beacons that do not exist,
 * the fallback's mark with no lock behind it, and a name that is a symlink, a FIFO or a
 * directory. A role so marked is free to take, nothing is followed or opened that would block,
 * and every call returns.
 */
static void test_forged_ids(void **state)
{
	(void)state;
	char a[64], path[PATH_MAX];
	const char *dir = getenv("PSHM_DIR");
	struct pshm_chan_stat st;
	struct pshm_chan *w = NULL, *r = NULL;
	struct pshm_seg *seg;
	void *map;
	size_t len;

	alarm(60);
	tu_name(a, sizeof(a), "forged");
	tu_ok(pshm_chan_create(a, 4096, 0600, 0));
	tu_ok(pshm_open(&seg, a, 0));
	tu_ok(pshm_map(seg, 0, &map, &len));
	struct pshm__chan_hdr *h = map;
	const uint64_t ids[] = {1, 2, 3, 4, PSHM__LIVE_LOCK, 0x123456789abcdefull};
	snprintf(path, sizeof(path), "%s/.pshm-live.0000000000000002", dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/.pshm-live.0000000000000003", dir);
	assert_int_equal(mkfifo(path, 0666), 0);
	snprintf(path, sizeof(path), "%s/.pshm-live.0000000000000004", dir);
	assert_int_equal(mkdir(path, 0755), 0);

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		atomic_store(&h->writer_state, PSHM__ST_ATTACHED);
		atomic_store(&h->writer_live, ids[i]);
		tu_ok(pshm_chan_stat_addr(a, &st));
		assert_int_equal(st.writer, PSHM_CHAN_WRITER_DIED);
		tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
		assert_true(atomic_load(&h->writer_live) != ids[i]);
		/* Forged while held: the holder's close leaves the word alone. */
		atomic_store(&h->reader_live, ids[i]);
		tu_ok(pshm_chan_open(&r, a, PSHM_CHAN_READER, 0));
		atomic_store(&h->writer_live, ids[i]);
		tu_ok(pshm_chan_close(w));
		assert_true(atomic_load(&h->writer_live) == ids[i]);
		tu_ok(pshm_chan_close(r));
		atomic_store(&h->writer_live, 0);
	}
	/* The impostors are no beacons: nothing takes them away. */
	assert_int_equal(beacons(dir), 3);
	tu_ok(pshm_close(seg));
	tu_ok(pshm_destroy_addr(a));
	snprintf(path, sizeof(path), "%s/.pshm-live.0000000000000002", dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/.pshm-live.0000000000000003", dir);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/.pshm-live.0000000000000004", dir);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(beacons(dir), 0);
	alarm(0);
}

/* Beacons are no objects: listings leave them out. */
static int count_beacon_entries(const struct pshm_stat *st, void *arg)
{
	if (strstr(st->address, ".pshm-live."))
		++*(int *)arg;
	return 0;
}

static void test_not_listed(void **state)
{
	(void)state;
	char a[64];
	struct pshm_chan *w = NULL;
	int n = 0;

	tu_name(a, sizeof(a), "listed");
	tu_ok(pshm_chan_create(a, 4096, 0600, 0));
	tu_ok(pshm_chan_open(&w, a, PSHM_CHAN_WRITER, 0));
	assert_int_equal(beacons(getenv("PSHM_DIR")), 1);
	assert_true(pshm_list(PSHM_LIST_POSIX, count_beacon_entries, &n, NULL) >= 1);
	assert_int_equal(n, 0);
	tu_ok(pshm_chan_close(w));
	assert_int_equal(beacons(getenv("PSHM_DIR")), 0);
	tu_ok(pshm_destroy_addr(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_squatted_queue), cmocka_unit_test(test_squatted_broadcast),
	    cmocka_unit_test(test_fallback),       cmocka_unit_test(test_forged_ids),
	    cmocka_unit_test(test_not_listed),
	};

	tu_dir_setup();
	death_ms = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (death_ms == MAP_FAILED)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
