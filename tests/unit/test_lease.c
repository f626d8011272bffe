/*
 * test_lease.c - leases (PSHM_LEASE): removal by the last holder, dead objects never handed out,
 * pshm_gc() and pshm_gc_addr(), the race between an opener and a remover, System V, read-only
 * holders, and a full tmpfs emptied by pshm_gc().
 */
#include "testutil.h"

#include <sys/prctl.h>
#include <sys/shm.h>

#define PAGE 4096

static char name[64];

static bool exists(const char *addr)
{
	struct pshm_stat st;
	return pshm_stat_addr(addr, &st) == 0;
}

static struct pshm_stat stat_of(const char *addr)
{
	struct pshm_stat st;
	tu_ok(pshm_stat_addr(addr, &st));
	return st;
}

/*
 * A child that opens ADDR with FLAGS | PSHM_LEASE (creates it, with PSHM_CREATE), says so on a
 * pipe, and waits to be killed. A child holds every description its parent had open at the
 * fork, leases included: the holders are children, so that the parent holds nothing.
 */
#define CREATE (1u << 30)

static pid_t holder(const char *addr, unsigned flags)
{
	int p[2];
	char c = 0;

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_seg *s;
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
		close(p[0]);
		int r = flags & CREATE ? pshm_create(&s, addr, PAGE, 0600, PSHM_LEASE)
		                       : pshm_open(&s, addr, flags | PSHM_LEASE);
		c = r == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'y');
	return pid;
}

static void kill_holder(pid_t pid)
{
	int status;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* The creator's lease, the mark, and removal by the last close. */
static void test_last_close_removes(void **state)
{
	struct pshm_seg *a, *b;
	(void)state;

	tu_name(name, sizeof(name), "last");
	tu_ok(pshm_create(&a, name, PAGE, 0640, PSHM_LEASE));
	struct pshm_stat st = stat_of(name);
	assert_int_equal(st.leased, 1);
	assert_int_equal(st.leases, 1);
	assert_int_equal(st.mode & 07777, 01640);
	tu_ok(pshm_open(&b, name, PSHM_LEASE));
	assert_int_equal(stat_of(name).leases, 2);
	tu_ok(pshm_close(a));
	assert_true(exists(name));
	assert_int_equal(stat_of(name).leases, 1);
	tu_ok(pshm_close(b));
	assert_false(exists(name));
}

/* A handle without PSHM_LEASE neither holds nor removes; the mark is kept by chmod. */
static void test_plain_handles(void **state)
{
	struct pshm_seg *a, *b;
	(void)state;

	tu_name(name, sizeof(name), "plain");
	tu_ok(pshm_create(&a, name, PAGE, 0600, PSHM_LEASE));
	tu_ok(pshm_open(&b, name, 0));
	assert_int_equal(stat_of(name).leases, 1);
	tu_ok(pshm_chmod(b, 0644));
	assert_int_equal(stat_of(name).mode & 07777, 01644);
	tu_ok(pshm_close(b));
	assert_true(exists(name));
	tu_ok(pshm_close(a));
	assert_false(exists(name));

	/* An object made without a lease is never removed by a lease holder's close. */
	tu_ok(pshm_create(&a, name, PAGE, 0600, 0));
	assert_int_equal(stat_of(name).leased, 0);
	tu_err(pshm_chmod(a, 01600), -EINVAL); /* only a lease marks an object */
	assert_int_equal(stat_of(name).mode & 07777, 0600);
	tu_ok(pshm_open(&b, name, PSHM_LEASE));
	assert_int_equal(stat_of(name).leases, 1);
	tu_ok(pshm_close(b));
	tu_ok(pshm_close(a));
	assert_true(exists(name));
	assert_int_equal(pshm_gc_addr(name, 0), 0);
	assert_true(exists(name));
	tu_ok(pshm_destroy_addr(name));
}

static void test_bad_arguments(void **state)
{
	struct pshm_seg *s;
	(void)state;

	tu_name(name, sizeof(name), "bad");
	tu_err(pshm_create(&s, name, PAGE, 01600, 0), -EINVAL);
	tu_err(pshm_open(&s, name, PSHM_LEASE | PSHM_ATTRS), -EINVAL);
	tu_err(pshm_gc(1u << 20, NULL, NULL, NULL), -EINVAL);
	tu_err(pshm_gc_addr(name, 1u << 20), -EINVAL);
	tu_err(pshm_gc_addr("memfd:", 0), -EOPNOTSUPP);
	tu_err(pshm_gc_addr(name, 0), -ENOENT);
	assert_false(exists(name));
	/* A descriptor comes without a lease. */
	tu_err(pshm_from_fd(&s, 0, PSHM_LEASE), -EINVAL);
}

/* Every holder killed: the object stays until pshm_gc(), listed by a dry run first. */
struct found {
	char address[PSHM_ADDRESS_MAX];
	int reason, n;
};

static int note(const struct pshm_stat *st, int reason, void *arg)
{
	struct found *f = arg;
	if (strstr(st->address, "pshm-t")) {
		snprintf(f->address, sizeof(f->address), "%s", st->address);
		f->reason = reason;
		f->n++;
	}
	return 0;
}

static void make_dead(const char *addr, int holders)
{
	pid_t pid[8];

	for (int i = 0; i < holders; i++)
		pid[i] = holder(addr, i ? 0 : CREATE);
	assert_int_equal(stat_of(addr).leases, (uint32_t)holders);
	for (int i = 0; i < holders; i++)
		kill_holder(pid[i]);
	struct pshm_stat st = stat_of(addr);
	assert_int_equal(st.leased, 1);
	assert_int_equal(st.leases, 0);
}

static void test_gc_after_kill(void **state)
{
	char other[64];
	struct pshm_seg *keep, *plain;
	struct found f = {0};
	int stop = -1;
	(void)state;

	tu_name(name, sizeof(name), "dead");
	tu_name(other, sizeof(other), "held");
	make_dead(name, 3);
	tu_ok(pshm_create(&keep, other, PAGE, 0600, PSHM_LEASE));
	char unleased[64];
	tu_name(unleased, sizeof(unleased), "unleased");
	tu_ok(pshm_create(&plain, unleased, PAGE, 0600, 0));
	tu_ok(pshm_close(plain));

	int n = pshm_gc(PSHM_GC_DRY_RUN, note, &f, &stop);
	assert_true(n >= 1);
	assert_int_equal(stop, 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.address, name);
	assert_int_equal(f.reason, PSHM_GC_DEAD_LEASE);
	assert_true(exists(name));

	memset(&f, 0, sizeof(f));
	assert_true(pshm_gc(0, note, &f, NULL) >= 1);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.address, name);
	assert_false(exists(name));
	assert_true(exists(other));
	assert_true(exists(unleased));
	tu_ok(pshm_close(keep));
	assert_false(exists(other));
	tu_ok(pshm_destroy_addr(unleased));
}

/* A dead leased object is never handed out: open says -ENOENT, create makes a new one. */
static void test_dead_never_handed_out(void **state)
{
	struct pshm_seg *s;
	(void)state;

	tu_name(name, sizeof(name), "open");
	make_dead(name, 1);
	tu_err(pshm_open(&s, name, 0), -ENOENT);
	assert_false(exists(name));

	make_dead(name, 2);
	ino_t old = stat_of(name).ino;
	tu_ok(pshm_create(&s, name, 2 * PAGE, 0600, 0));
	assert_true(pshm_created(s));
	struct pshm_stat st = stat_of(name);
	assert_int_not_equal(st.ino, old);
	assert_int_equal(st.leased, 0);
	assert_int_equal(st.size, 2 * PAGE);
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));

	make_dead(name, 1);
	tu_ok(pshm_create(&s, name, PAGE, 0600, PSHM_OPEN_OR_CREATE | PSHM_LEASE));
	assert_true(pshm_created(s));
	assert_int_equal(stat_of(name).leases, 1);
	tu_ok(pshm_close(s));
	assert_false(exists(name));

	/* One that may only read it does not get it either, and cannot remove it. */
	make_dead(name, 1);
	tu_err(pshm_open(&s, name, PSHM_RDONLY), -ENOENT);
	assert_true(exists(name));
	assert_int_equal(pshm_gc_addr(name, PSHM_GC_DRY_RUN), 1);
	assert_true(exists(name));
	assert_int_equal(pshm_gc_addr(name, 0), 1);
	assert_false(exists(name));
}

/* A read-only holder is a user: it keeps the object, and its close removes it when it may. */
static void test_read_only_holder(void **state)
{
	struct pshm_seg *w, *r;
	(void)state;

	tu_name(name, sizeof(name), "ro");
	tu_ok(pshm_create(&w, name, PAGE, 0600, PSHM_LEASE));
	tu_ok(pshm_open(&r, name, PSHM_RDONLY | PSHM_LEASE));
	tu_ok(pshm_close(w));
	assert_true(exists(name));
	tu_ok(pshm_close(r));
	assert_false(exists(name));
}

/*
 * A child forked while a handle holds a lease shares its description, and so the lease: the
 * parent's close leaves the object to the child, whose end (a close or a death) ends it.
 */
static void test_fork_shares_lease(void **state)
{
	struct pshm_seg *s;
	int p[2];
	char c;
	(void)state;

	tu_name(name, sizeof(name), "fork");
	for (int round = 0; round < 2; round++) {
		tu_ok(pshm_create(&s, name, PAGE, 0600, PSHM_LEASE));
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(p[1]);
			/* Round 0 closes its copy of the handle when told; round 1 is killed. */
			if (read(p[0], &c, 1) == 1 && c == 'c')
				_exit(pshm_close(s) ? 1 : 0);
			for (;;)
				pause();
		}
		close(p[0]);
		tu_ok(pshm_close(s));
		assert_true(exists(name));
		assert_int_equal(stat_of(name).leases, 1);
		if (round == 0) {
			int status;
			assert_int_equal(write(p[1], "c", 1), 1);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			assert_false(exists(name));
		} else {
			kill_holder(pid);
			assert_int_equal(pshm_gc_addr(name, 0), 1);
		}
		close(p[1]);
	}
}

/*
 * The last two holders close at the same moment, again and again: one of them always removes
 * the object (each lets go of its own lease before it tries, so the later try finds none).
 */
static pid_t closer(const char *addr, bool create, int go)
{
	int p[2];
	char c;

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_seg *s;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int r = create ? pshm_create(&s, addr, PAGE, 0600, PSHM_LEASE)
		               : pshm_open(&s, addr, PSHM_LEASE);
		c = r == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1 || read(go, &c, 1) != 1)
			_exit(1);
		_exit(pshm_close(s) ? 2 : 0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'y');
	return pid;
}

static void test_both_leave_at_once(void **state)
{
	(void)state;

	tu_name(name, sizeof(name), "both");
	for (int round = 0; round < 200; round++) {
		int go[2], status;
		assert_int_equal(pipe(go), 0);
		pid_t a = closer(name, true, go[0]), b = closer(name, false, go[0]);
		assert_int_equal(write(go[1], "gg", 2), 2);
		assert_int_equal(waitpid(a, &status, 0), a);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(waitpid(b, &status, 0), b);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(go[0]);
		close(go[1]);
		assert_false(exists(name));
	}
}

/* Another user who may only read: holds a lease, keeps the object, never removes it. */
static int nobody_holds(void *arg)
{
	struct pshm_seg *s;
	const int *fds = arg; /* the pipe up, the pipe down */
	int r = pshm_open(&s, name, PSHM_RDONLY | PSHM_LEASE);
	if (r)
		return 10;
	/* The owner closes while we hold: the object must stay. It does so once we said we hold,
	 * and tells us when it is done. */
	char c = 'y';
	if (write(fds[0], &c, 1) != 1 || read(fds[1], &c, 1) != 1)
		return 11;
	if (pshm_close(s))
		return 12;
	return 0;
}

static void test_reader_of_another_user(void **state)
{
	struct pshm_seg *w;
	int up[2], down[2];
	(void)state;

	if (geteuid() != 0)
		tu_skip_test("needs root to act as another user");
	tu_name(name, sizeof(name), "nobody");
	tu_ok(pshm_create(&w, name, PAGE, 0644, PSHM_LEASE));
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fds[2] = {up[1], down[0]};
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		_exit(nobody_holds(fds));
	}
	close(up[1]);
	close(down[0]);
	char c;
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(stat_of(name).leases, 2);
	tu_ok(pshm_close(w));
	assert_true(exists(name));
	assert_int_equal(write(down[1], "x", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(up[0]);
	close(down[1]);
	/* Its close could not remove the object, which nobody holds now: pshm_gc() does. */
	struct pshm_stat st = stat_of(name);
	assert_int_equal(st.leases, 0);
	assert_int_equal(pshm_gc_addr(name, 0), 1);
	assert_false(exists(name));
}

/*
 * The race: one process creates a leased object and closes it (removing it), again and again,
 * while another opens the name with a lease. Whenever the opener gets the object, its name must
 * still be that object's: a lease is never granted on an object already removed.
 */
static void test_open_remove_race(void **state)
{
	char path[256];
	int ready[2];
	(void)state;

	tu_name(name, sizeof(name), "race");
	snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), name);
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int got = 0, bad = 0;
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		for (int i = 0; i < 200000 && got < 1000; i++) {
			struct pshm_seg *s;
			struct stat a, b;
			int r = pshm_open(&s, name, PSHM_LEASE);
			if (r == -ENOENT)
				continue;
			if (r) {
				fprintf(stderr, "open: %s\n", pshm_strerror(r));
				_exit(3);
			}
			got++;
			if (fstat(pshm_fd(s), &a) || stat(path, &b) || a.st_ino != b.st_ino ||
			    a.st_nlink == 0)
				bad++;
			pshm_close(s);
		}
		fprintf(stderr, "race: %d leases taken, %d on a removed object\n", got, bad);
		_exit(bad ? 1 : 0);
	}
	close(ready[1]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	int status;
	for (int i = 0; waitpid(pid, &status, WNOHANG) == 0; i++) {
		struct pshm_seg *s;
		int r = pshm_create(&s, name, PAGE, 0600, PSHM_LEASE | PSHM_OPEN_OR_CREATE);
		if (r == 0)
			pshm_close(s);
		else
			assert_int_equal(r, -ENOENT);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	pshm_gc_addr(name, 0);
	assert_false(exists(name));
}

/* System V: attached and marked for destruction; the kernel removes it at the last detach. */
static void test_sysv(void **state)
{
	struct pshm_seg *s, *t;
	struct pshm_stat st;
	char byid[32];
	(void)state;

	int r = pshm_create(&s, "sysv:0", PAGE, 0600, PSHM_LEASE);
	if (r == -ENOSYS)
		tu_skip_test("no System V shared memory here");
	tu_ok(r);
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.removed, 1);
	assert_true(st.nattch >= 1);
	snprintf(byid, sizeof(byid), "sysv:id=%d", st.id);
	assert_string_equal(pshm_address(s), byid);
	tu_ok(pshm_open(&t, byid, PSHM_LEASE));
	tu_ok(pshm_close(s));
	assert_true(exists(byid));
	tu_ok(pshm_close(t));
	assert_false(exists(byid));
	tu_err(pshm_gc_addr(byid, 0), -EOPNOTSUPP);
}

/* By key: the lease frees the key, and the address names the identifier. */
static void test_sysv_key(void **state)
{
	struct pshm_seg *s;
	struct pshm_stat st;
	char addr[32], byid[32];
	(void)state;

	key_t key = (key_t)(0x50000000u | ((unsigned)getpid() & 0xffffffu));
	snprintf(addr, sizeof(addr), "sysv:0x%08x", (unsigned)key);
	int r = pshm_create(&s, addr, PAGE, 0600, PSHM_LEASE);
	if (r == -ENOSYS)
		tu_skip_test("no System V shared memory here");
	tu_ok(r);
	tu_ok(pshm_stat(s, &st));
	snprintf(byid, sizeof(byid), "sysv:id=%d", st.id);
	assert_string_equal(pshm_address(s), byid);
	assert_false(exists(addr)); /* the key names nothing now */
	tu_ok(pshm_close(s));
	assert_false(exists(byid));
}

/* Opening an existing object with a lease holds it, and leaves its leased state as it was. */
static void test_open_or_create_keeps_state(void **state)
{
	struct pshm_seg *a, *b;
	(void)state;

	tu_name(name, sizeof(name), "ooc");
	tu_ok(pshm_create(&a, name, PAGE, 0600, 0));
	tu_ok(pshm_create(&b, name, PAGE, 0600, PSHM_OPEN_OR_CREATE | PSHM_LEASE));
	assert_false(pshm_created(b));
	struct pshm_stat st = stat_of(name);
	assert_int_equal(st.leased, 0);
	assert_int_equal(st.leases, 1);
	tu_ok(pshm_close(b));
	tu_ok(pshm_close(a));
	assert_true(exists(name));
	tu_ok(pshm_destroy_addr(name));
}

/* A callback's nonzero return stops pshm_gc(), and is handed back. */
static int stop_at_first(const struct pshm_stat *st, int reason, void *arg)
{
	(void)st;
	(void)reason;
	(void)arg;
	return 42;
}

static void test_gc_stop(void **state)
{
	char other[64];
	int stop = 0;
	(void)state;

	tu_name(name, sizeof(name), "stop1");
	tu_name(other, sizeof(other), "stop2");
	make_dead(name, 1);
	make_dead(other, 1);
	assert_int_equal(pshm_gc(PSHM_GC_LEASES, stop_at_first, NULL, &stop), 1);
	assert_int_equal(stop, 42);
	assert_true(exists(name) != exists(other)); /* exactly one went */
	assert_int_equal(pshm_gc(PSHM_GC_LEASES, NULL, NULL, &stop), 1);
	assert_int_equal(stop, 0);
	assert_false(exists(name) || exists(other));
}

/* Another user's dead object that the caller may not remove stays, and blocks a create. */
static int nobody_creates(void *arg)
{
	struct pshm_seg *s;
	(void)arg;
	if (pshm_create(&s, name, PAGE, 0600, 0) != -EEXIST)
		return 1;
	if (pshm_open(&s, name, PSHM_RDONLY) != -ENOENT)
		return 2;
	return pshm_gc_addr(name, 0) == -EACCES ? 0 : 3;
}

static void test_dead_of_another_user(void **state)
{
	(void)state;
	if (geteuid() != 0)
		tu_skip_test("needs root to act as another user");
	tu_name(name, sizeof(name), "other");
	make_dead(name, 1);
	char path[256];
	snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), name);
	assert_int_equal(chmod(path, 01644), 0); /* others may read it, not write it */
	assert_int_equal(chmod(pshm_shm_dir(), 01777), 0);
	assert_int_equal(tu_as_nobody(nobody_creates, NULL), 0);
	assert_true(exists(name));
	assert_int_equal(pshm_gc_addr(name, 0), 1);
}

/* A memfd lives only while held anyway: the flag is accepted and changes nothing. */
static void test_memfd(void **state)
{
	struct pshm_seg *s;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", PAGE, 0, PSHM_LEASE));
	tu_ok(pshm_close(s));
}

/* A file: the same protocol in any directory. */
static void test_file(void **state)
{
	char dir[] = "/tmp/pshm-lease.XXXXXX", addr[160], path[128];
	struct pshm_seg *s;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/obj", dir);
	snprintf(addr, sizeof(addr), "file:%s", path);
	tu_ok(pshm_create(&s, addr, PAGE, 0600, PSHM_LEASE));
	pid_t pid = holder(addr, 0);
	tu_ok(pshm_close(s));
	assert_int_equal(access(path, F_OK), 0);
	kill_holder(pid);
	assert_int_equal(pshm_gc_addr(addr, PSHM_GC_DRY_RUN), 1);
	assert_int_equal(pshm_gc_addr(addr, 0), 1);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(rmdir(dir), 0);
}

/* A channel's dead reader leaves its beacon; pshm_gc() removes it and says why. */
static int note_beacon(const struct pshm_stat *st, int reason, void *arg)
{
	int *n = arg;
	if (reason == PSHM_GC_DEAD_BEACON && strstr(st->address, "/.pshm-live."))
		(*n)++;
	return 0;
}

static int count_beacons(void)
{
	return tu_count_prefix(pshm_shm_dir(), ".pshm-live.");
}

static void test_gc_beacons(void **state)
{
	int p[2], n = 0;
	char c;
	(void)state;

	tu_name(name, sizeof(name), "chan");
	tu_ok(pshm_chan_create(name, 4096, 0600, 0));
	int before = count_beacons();
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct pshm_chan *ch;
		c = pshm_chan_open(&ch, name, PSHM_CHAN_READER, 0) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	close(p[0]);
	close(p[1]);
	kill_holder(pid);
	assert_int_equal(count_beacons(), before + 1);
	assert_true(pshm_gc(PSHM_GC_BEACONS | PSHM_GC_DRY_RUN, note_beacon, &n, NULL) >= 1);
	assert_int_equal(n, 1);
	assert_int_equal(count_beacons(), before + 1);
	n = 0;
	assert_true(pshm_gc(PSHM_GC_BEACONS, note_beacon, &n, NULL) >= 1);
	assert_int_equal(n, 1);
	assert_int_equal(count_beacons(), before);
	/* The role is free again. */
	struct pshm_chan *ch;
	tu_ok(pshm_chan_open(&ch, name, PSHM_CHAN_READER, 0));
	tu_ok(pshm_chan_close(ch));
	tu_ok(pshm_destroy_addr(name));
}

/* Make a beacon-like file NAME in the shm directory with MODE, modified AGE seconds ago. */
static void fake_beacon(const char *bname, mode_t mode, int age)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", pshm_shm_dir(), bname);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	assert_int_equal(futimens(fd, t), 0);
	close(fd);
}

static bool beacon_exists(const char *bname)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", pshm_shm_dir(), bname);
	return access(path, F_OK) == 0;
}

/*
 * Beacons no channel names: dead once nobody write-locks them and they were published (0444);
 * one still 0600 may be being made, and goes only when a minute old.
 */
static void test_gc_orphan_beacons(void **state)
{
	const char *dead = ".pshm-live.00000000000000a1", *fresh = ".pshm-live.00000000000000a2",
	           *old = ".pshm-live.00000000000000a3", *locked = ".pshm-live.00000000000000a4",
	           *other = ".pshm-live.not-a-beacon";
	char path[256];
	int p[2], n = 0;
	(void)state;

	fake_beacon(dead, 0444, 0);
	fake_beacon(fresh, 0600, 0);
	fake_beacon(old, 0600, 120);
	fake_beacon(locked, 0600, 0);
	fake_beacon(other, 0444, 0);
	snprintf(path, sizeof(path), "%s/%s", pshm_shm_dir(), locked);
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		char c = fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) == 0 && fchmod(fd, 0444) == 0;
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 1);
	close(p[0]);
	close(p[1]);
	assert_int_equal(pshm_gc(PSHM_GC_BEACONS, note_beacon, &n, NULL), 2);
	assert_int_equal(n, 2);
	assert_false(beacon_exists(dead));
	assert_false(beacon_exists(old));
	assert_true(beacon_exists(fresh));
	assert_true(beacon_exists(locked));
	assert_true(beacon_exists(other));
	kill_holder(pid);
	assert_int_equal(pshm_gc(PSHM_GC_BEACONS, NULL, NULL, NULL), 1);
	assert_false(beacon_exists(locked));
	for (const char **b = (const char *[]){fresh, other, NULL}; *b; b++) {
		snprintf(path, sizeof(path), "%s/%s", pshm_shm_dir(), *b);
		assert_int_equal(unlink(path), 0);
	}
}

/* The library's and the command's own files in the shm directory are never listed. */
static int any_hidden(const struct pshm_stat *st, void *arg)
{
	(void)arg;
	return strstr(st->address, "/.pshm-") != NULL;
}

static void test_hidden_names(void **state)
{
	const char *names[] = {".pshm-gc.0123456789abcdef", ".pshm-live.0123456789abcdef",
	                       ".pshm-other"};
	int stop = -1;
	(void)state;

	for (int i = 0; i < 3; i++)
		fake_beacon(names[i], 0600, 0);
	assert_true(pshm_list(PSHM_LIST_ALL, any_hidden, NULL, &stop) >= 0);
	assert_int_equal(stop, 0);
	for (int i = 0; i < 3; i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", pshm_shm_dir(), names[i]);
		assert_int_equal(unlink(path), 0);
	}
}

/* One who may write the object and keeps its removal lock keeps lease openers out: -EBUSY. */
static void test_removal_lock_held(void **state)
{
	struct pshm_seg *s, *t;
	int p[2];
	char c;
	(void)state;

	tu_name(name, sizeof(name), "wrlck");
	tu_ok(pshm_create(&s, name, PAGE, 0600, 0));
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct flock fl = {.l_type = F_WRLCK,
		                   .l_whence = SEEK_SET,
		                   .l_start = PSHM_LEASE_OFFSET,
		                   .l_len = 1};
		c = fcntl(pshm_fd(s), F_OFD_SETLK, &fl) == 0;
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 1);
	close(p[0]);
	close(p[1]);
	tu_ok(pshm_close(s)); /* the child keeps the description, and its lock */
	tu_err(pshm_open(&t, name, PSHM_LEASE), -EBUSY);
	tu_ok(pshm_open(&t, name, 0)); /* a handle without a lease is not kept out */
	tu_ok(pshm_close(t));
	kill_holder(pid);
	tu_ok(pshm_open(&t, name, PSHM_LEASE));
	tu_ok(pshm_close(t));
	tu_ok(pshm_destroy_addr(name));
}

/* A small tmpfs full of leaked leased objects: pshm_gc() empties it, and a create then fits. */
static void test_full_tmpfs(void **state)
{
	char addr[64];
	struct pshm_seg *s;
	int made = 0;
	(void)state;

	for (int i = 0; i < 64; i++) {
		snprintf(addr, sizeof(addr), "/leak-%d", i);
		pid_t pid = fork();
		if (pid == 0) /* a program that dies holding its object */
			_exit(pshm_create(&s, addr, 1 << 20, 0600, PSHM_LEASE) ? 1 : 0);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			break;
		made++;
	}
	assert_true(made >= 4);
	tu_err(pshm_create(&s, "/big", 4 << 20, 0600, 0), -ENOSPC);
	assert_int_equal(pshm_gc(0, NULL, NULL, NULL), made);
	tu_ok(pshm_create(&s, "/big", 4 << 20, 0600, 0));
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
	assert_int_equal(tu_count_entries(pshm_shm_dir()), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_last_close_removes),
	    cmocka_unit_test(test_plain_handles),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_gc_after_kill),
	    cmocka_unit_test(test_dead_never_handed_out),
	    cmocka_unit_test(test_read_only_holder),
	    cmocka_unit_test(test_fork_shares_lease),
	    cmocka_unit_test(test_both_leave_at_once),
	    cmocka_unit_test(test_reader_of_another_user),
	    cmocka_unit_test(test_open_remove_race),
	    cmocka_unit_test(test_sysv),
	    cmocka_unit_test(test_sysv_key),
	    cmocka_unit_test(test_open_or_create_keeps_state),
	    cmocka_unit_test(test_gc_stop),
	    cmocka_unit_test(test_dead_of_another_user),
	    cmocka_unit_test(test_memfd),
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_gc_beacons),
	    cmocka_unit_test(test_gc_orphan_beacons),
	    cmocka_unit_test(test_removal_lock_held),
	    cmocka_unit_test(test_hidden_names),
	};
	const struct CMUnitTest full[] = {
	    cmocka_unit_test(test_full_tmpfs),
	};
	(void)argv;
	tu_dir_setup();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (failed || argc > 1)
		return failed ? 1 : 0;
	/* Last, in a mount namespace of its own with a 16 MiB tmpfs (skipped where not allowed). */
	pid_t pid = fork();
	if (pid == 0) {
		const char *dir = tu_tiny_tmpfs(16);
		int f = cmocka_run_group_tests(full, NULL, NULL);
		tu_tiny_tmpfs_cleanup(dir);
		_exit(f ? 1 : 0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status) == TU_SKIP ? 0 : WEXITSTATUS(status);
}
