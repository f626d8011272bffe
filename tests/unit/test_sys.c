/*
 * test_sys.c - the system layer (sys.c): each kind of call routed through it is made to fail
 * (pshm__fault_hook) under the public call that makes it, which must return that error, or
 * absorb it where the library has a way around it, and leave nothing behind: no descriptor, no
 * mapping, no file, no half-taken role. Leaks of memory are the sanitizers' to find
 * (make asan-check). Each test also checks that the call it fails was made at all.
 */
#include "segtest.h"

#include "chan.h" /* pshm__chan_asym, pshm__chan_setup */

#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>

/* Undo what a test changes for the whole process, even when it fails half-way. */
static int teardown(void **state)
{
	(void)state;
	pshm__fault_hook = NULL;
	return 0;
}

/* The descriptors this process holds: the same before and after a call that cleaned up. */
static int open_fds(void)
{
	return tu_count_entries("/proc/self/fd");
}

/* ---- locks: a channel's beacon and its probes ------------------------------------------------ */

static int beacons(void)
{
	return tu_count_prefix(pshm_shm_dir(), PSHM__BEACON_PREFIX);
}

static void test_lock_chan_open(void **state)
{
	(void)state;
	char name[64];
	struct pshm_chan *w, *r;
	struct pshm_chan_stat st;

	tu_name(name, sizeof(name), "lock");
	tu_ok(pshm_chan_create(name, 4096, 0600, 0));
	int fds = open_fds();
	/* The beacon's own lock is the first taken: the role is left as it was, and free. */
	fault_set(PSHM__LOCK, 1, ENOLCK);
	tu_err(pshm_chan_open(&w, name, PSHM_CHAN_WRITER, 0), -ENOLCK);
	pshm__fault_hook = NULL;
	assert_true(fault_seen > 0);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(beacons(), 0);
	tu_ok(pshm_chan_stat_addr(name, &st));
	assert_int_equal(st.writer, PSHM_CHAN_WRITER_NONE);
	tu_ok(pshm_chan_open(&w, name, PSHM_CHAN_WRITER, 0));

	/* A probe of the writer's beacon that fails is an error, not a verdict on the writer. */
	fault_set(PSHM__LOCK, 0, ENOLCK);
	tu_err(pshm_chan_stat_addr(name, &st), -ENOLCK);
	tu_err(pshm_chan_open(&r, name, PSHM_CHAN_READER, 0), -ENOLCK);
	pshm__fault_hook = NULL;
	assert_int_equal(beacons(), 1);

	/* EINTR is retried. */
	fault_set(PSHM__LOCK, -1, EINTR);
	tu_ok(pshm_chan_open(&r, name, PSHM_CHAN_READER, 0));
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 2);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_chan_close(w));
	assert_int_equal(open_fds(), fds);
	tu_ok(pshm_destroy_addr(name));
}

/* ---- futex: waiting and waking ------------------------------------------------------------- */

static void test_futex(void **state)
{
	(void)state;
	char name[64];
	struct pshm_chan *w, *r;
	char buf[16];
	size_t len;

	tu_name(name, sizeof(name), "futex");
	tu_ok(pshm_chan_create(name, 4096, 0600, 0));
	tu_ok(pshm_chan_open(&r, name, PSHM_CHAN_READER, 0));
	tu_ok(pshm_chan_open(&w, name, PSHM_CHAN_WRITER, 0));
	tu_ok(pshm_chan_set_spin(r, 0));

	/* A sleep that cannot be had is reported at once, not turned into a busy wait. */
	fault_set(PSHM__FUTEX, 0, ENOSYS);
	double t0 = tu_now_ms();
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 10000), -ENOSYS);
	assert_true(tu_now_ms() - t0 < 5000);
	assert_int_equal(fault_seen, 1);

	/* A wake that fails costs a sleeper at most its slice; the writer's calls succeed. */
	tu_ok(pshm_chan_send(w, "x", 1, 0));
	fault_seen = 0;
	tu_ok(pshm_chan_close(w)); /* wakes the reader: the wake fails */
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 1);
	tu_ok(pshm_chan_recv(r, buf, sizeof(buf), &len, 0));
	assert_int_equal(len, 1);
	tu_err(pshm_chan_recv(r, buf, sizeof(buf), &len, 0), -EPIPE);
	tu_ok(pshm_chan_close(r));
	tu_ok(pshm_destroy_addr(name));
}

/* ---- membarrier ---------------------------------------------------------------------------- */

/*
 * On the channel NAME, a reader sleeps 20 ms on nothing, then receives what a writer sends, and
 * both detach: 0, or the number of the step that failed (a child's exit status).
 */
static int sleep_then_receive(const char *name)
{
	struct pshm_chan *w, *r;
	char buf[16];
	size_t len;
	int step = 0;

	if (pshm_chan_open(&r, name, PSHM_CHAN_READER, 0))
		return 1;
	if (pshm_chan_open(&w, name, PSHM_CHAN_WRITER, 0))
		step = 2;
	else if (pshm_chan_recv(r, buf, sizeof(buf), &len, 20) != -ETIMEDOUT)
		step = 3;
	else if (pshm_chan_send(w, "y", 1, 0))
		step = 4;
	else if (pshm_chan_recv(r, buf, sizeof(buf), &len, 1000) || len != 1)
		step = 5;
	if ((step != 2 && pshm_chan_close(w)) || pshm_chan_close(r))
		step = step ? step : 6;
	return step;
}

/*
 * A process whose membarrier calls all fail: it cannot register, and fences at every
 * publication instead; a reader still sleeps, wakes and reads. Runs in the child of a fork
 * made with the hook set, so that the registration made again after the fork fails.
 */
static int membarrier_child(const char *name)
{
	CHILD_CHECK(fault_seen > 0, "no membarrier call after the fork");
	CHILD_CHECK(!pshm__chan_asym, "registered although membarrier failed");
	int step = sleep_then_receive(name);
	CHILD_CHECK(step == 0, "step %d of a sleep and a message failed", step);
	return 0;
}

static void test_membarrier(void **state)
{
	(void)state;
	char name[64];

	tu_name(name, sizeof(name), "membarrier");
	tu_ok(pshm_chan_create(name, 4096, 0600, 0));
	pshm__chan_setup();
	fault_set(PSHM__MEMBARRIER, 0, EPERM);
	pid_t pid = fork();
	if (pid == 0)
		_exit(membarrier_child(name));
	pshm__fault_hook = NULL;
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Registered, a sleeper whose barrier fails makes a fence of its own instead. */
	if (!pshm__chan_asym) {
		tu_ok(pshm_destroy_addr(name));
		tu_skip_test("membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) is not available");
	}
	fault_set(PSHM__MEMBARRIER, 0, EPERM);
	assert_int_equal(sleep_then_receive(name), 0);
	pshm__fault_hook = NULL;
	assert_true(fault_seen > 0);
	tu_ok(pshm_destroy_addr(name));
}

/* ---- seals ----------------------------------------------------------------------------------- */

static void test_seal(void **state)
{
	(void)state;
	struct pshm_seg *seg;
	struct pshm_stat st;

	tu_ok(pshm_create(&seg, "memfd:", 4096, 0600, 0));
	int before = pshm_seals(seg);
	assert_true(before >= 0);
	fault_set(PSHM__SEAL, 0, EBUSY);
	tu_err(pshm_seal(seg, PSHM_SEAL_GROW), -EBUSY);
	tu_err(pshm_seals(seg), -EBUSY);
	/* A description does without the seals it cannot read. */
	tu_ok(pshm_stat(seg, &st));
	assert_int_equal(st.seals, 0);
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 3);
	assert_int_equal(pshm_seals(seg), before);
	tu_ok(pshm_close(seg));
}

/* ---- descriptor flags ------------------------------------------------------------------------ */

static void test_flags_from_fd(void **state)
{
	(void)state;
	struct pshm_seg *seg;

	int fd = memfd_create("t", MFD_CLOEXEC);
	assert_true(fd >= 0);
	int fds = open_fds();
	fault_set(PSHM__FLAGS, 0, EBADF);
	tu_err(pshm_from_fd(&seg, fd, 0), -EBADF);
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 1);
	/* The caller's descriptor is still the caller's. */
	assert_int_equal(open_fds(), fds);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	close(fd);
}

static void test_flags_shm_open(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX];

	tu_name(name, sizeof(name), "flags");
	snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), name);
	int fds = open_fds();
	fault_set(PSHM__FLAGS, 0, EINVAL);
	errno = 0;
	assert_int_equal(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), -1);
	assert_int_equal(errno, EINVAL);
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 1);
	/* With O_EXCL the object was this call's own: it is gone with the failure. */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(open_fds(), fds);
}

/* ---- msync and fdatasync --------------------------------------------------------------------- */

static void test_sync(void **state)
{
	(void)state;
	char name[64], addr[PATH_MAX + 8];
	struct pshm_seg *seg, *ro;
	void *p;
	size_t len;

	/* POSIX: the mapping's msync. */
	tu_name(name, sizeof(name), "sync");
	tu_ok(pshm_create(&seg, name, 4096, 0600, 0));
	fault_set(PSHM__SYNC, 0, EIO);
	tu_ok(pshm_sync(seg)); /* nothing mapped: nothing to write */
	assert_int_equal(fault_seen, 0);
	tu_ok(pshm_map(seg, 0, &p, &len));
	tu_err(pshm_sync(seg), -EIO);
	assert_int_equal(fault_seen, 1);
	pshm__fault_hook = NULL;
	tu_ok(pshm_sync(seg));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));

	/* A file: the mapping's msync, then fdatasync; each may fail alone. */
	snprintf(addr, sizeof(addr), "file:%s/sync-file", pshm_shm_dir());
	tu_ok(pshm_create(&seg, addr, 4096, 0600, 0));
	tu_ok(pshm_map(seg, 0, &p, &len));
	fault_set(PSHM__SYNC, 1, EIO);
	tu_err(pshm_sync(seg), -EIO);
	assert_int_equal(fault_seen, 1);
	fault_set(PSHM__SYNC, 2, ENOSPC);
	tu_err(pshm_sync(seg), -ENOSPC);
	assert_int_equal(fault_seen, 2);
	fault_set(PSHM__SYNC, 2, EINTR); /* fdatasync is retried */
	tu_ok(pshm_sync(seg));
	assert_int_equal(fault_seen, 3);
	/* A read-only handle writes nothing back to the disk. */
	tu_ok(pshm_open(&ro, addr, PSHM_RDONLY));
	fault_set(PSHM__SYNC, 0, EIO);
	tu_ok(pshm_sync(ro));
	assert_int_equal(fault_seen, 0);
	pshm__fault_hook = NULL;
	tu_ok(pshm_close(ro));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/* ---- sendmsg and recvmsg --------------------------------------------------------------------- */

/* Is there nothing to read on SOCK? */
static bool socket_empty(int sock)
{
	char c;
	return recv(sock, &c, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
}

static void test_send_recv_fd(void **state)
{
	(void)state;
	struct pshm_seg *seg, *got;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	tu_ok(pshm_create(&seg, "memfd:", 4096, 0600, 0));
	int fds = open_fds();

	fault_set(PSHM__SENDMSG, 0, ENOBUFS);
	tu_err(pshm_send_fd(sv[0], seg), -ENOBUFS);
	assert_int_equal(fault_seen, 1);
	assert_true(socket_empty(sv[1]));
	fault_set(PSHM__SENDMSG, -1, EINTR);
	tu_ok(pshm_send_fd(sv[0], seg));
	assert_int_equal(fault_seen, 2);

	/* A receive that fails takes nothing: the next one finds the descriptor still there. */
	fault_set(PSHM__RECVMSG, 0, ENOMEM);
	tu_err(pshm_recv_fd(sv[1], &got, 0), -ENOMEM);
	assert_int_equal(fault_seen, 1);
	assert_int_equal(open_fds(), fds);
	assert_false(socket_empty(sv[1]));
	fault_set(PSHM__RECVMSG, -1, EINTR);
	tu_ok(pshm_recv_fd(sv[1], &got, 0));
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 2);
	assert_int_equal(pshm_kind(got), PSHM_MEMFD);
	tu_ok(pshm_close(got));
	assert_int_equal(open_fds(), fds);
	tu_ok(pshm_close(seg));
	close(sv[0]);
	close(sv[1]);
}

/* ---- madvise: populating a System V attachment ---------------------------------------------- */

static void test_madvise(void **state)
{
	(void)state;
	struct pshm_seg *seg;
	struct pshm_stat st;
	void *p;
	size_t len;

	int r = pshm_create(&seg, "sysv:0", 65536, 0600, 0);
	if (r == -ENOSYS)
		tu_skip_test("no System V shared memory here");
	tu_ok(r);
	/* A page the kernel could not give is -ENOMEM, as from an mmap with MAP_POPULATE; the
	 * attachment is undone. */
	fault_set(PSHM__MADVISE, 0, EFAULT);
	tu_err(pshm_map(seg, PSHM_POPULATE, &p, &len), -ENOMEM);
	assert_int_equal(fault_seen, 1);
	fault_set(PSHM__MADVISE, 0, EPERM);
	tu_err(pshm_map(seg, PSHM_POPULATE, &p, &len), -EPERM);
	tu_ok(pshm_stat(seg, &st));
	assert_int_equal(st.nattch, 0);
	/* A kernel without MADV_POPULATE_* says EINVAL: every page is then read instead. */
	fault_set(PSHM__MADVISE, 0, EINVAL);
	tu_ok(pshm_map(seg, PSHM_POPULATE, &p, &len));
	pshm__fault_hook = NULL;
	assert_int_equal(len, 65536);
	tu_ok(pshm_unmap(seg));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/* ---- listing: directories and /proc/sysvipc/shm --------------------------------------------- */

static int count_one(const struct pshm_stat *st, void *arg)
{
	(void)st;
	++*(int *)arg;
	return 0;
}

/* ---- links and signal masks: a channel named only once complete --------------------------- */

/* The entries of the shm directory: a failed create must leave it as it was. */
static int shm_entries(void)
{
	return tu_count_entries(pshm_shm_dir());
}

static void test_link_chan_create(void **state)
{
	(void)state;
	char name[64];
	struct pshm_chan_stat st;

	tu_name(name, sizeof(name), "link");
	int fds = open_fds(), entries = shm_entries();
	/* The nameless channel cannot be given its name: nothing named, nothing held. */
	fault_set(PSHM__LINK, -1, EACCES);
	tu_err(pshm_chan_create(name, 4096, 0600, 0), -EACCES);
	pshm__fault_hook = NULL;
	assert_true(fault_seen > 0);
	assert_int_equal(open_fds(), fds);
	assert_int_equal(shm_entries(), entries);
	tu_err(pshm_chan_stat_addr(name, &st), -ENOENT);
	/* The signal mask is set only on the named way; a create that takes the nameless way
	 * never touches it. */
	fault_set(PSHM__SIGACTION, -1, EINVAL);
	tu_ok(pshm_chan_create(name, 4096, 0600, 0));
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 0);
	tu_ok(pshm_chan_stat_addr(name, &st));
	tu_ok(pshm_destroy_addr(name));
}

static void test_list(void **state)
{
	(void)state;
	char name[64];
	struct pshm_seg *seg, *mfd;
	int n = 0;

	tu_name(name, sizeof(name), "list");
	tu_ok(pshm_create(&seg, name, 4096, 0600, 0));
	tu_ok(pshm_create(&mfd, "memfd:", 4096, 0600, 0));
	int fds = open_fds();

	fault_set(PSHM__OPENDIR, 0, EACCES);
	tu_err(pshm_list(PSHM_LIST_POSIX, count_one, &n, NULL), -EACCES);
	tu_err(pshm_list(PSHM_LIST_MEMFD, count_one, &n, NULL), -EACCES); /* /proc itself */
	assert_int_equal(fault_seen, 2);
	/* A process whose descriptors cannot be read is passed over, as one that is gone. */
	fault_set(PSHM__OPENDIR, 2, EACCES);
	assert_true(pshm_list(PSHM_LIST_MEMFD, count_one, &n, NULL) >= 0);
	assert_true(fault_seen > 2);
	/* /proc/sysvipc/shm, opened as a stream. */
	fault_set(PSHM__OPEN, 0, EMFILE);
	tu_err(pshm_list(PSHM_LIST_SYSV, count_one, &n, NULL), -EMFILE);
	assert_int_equal(fault_seen, 1);
	/* A close that fails still lets the stream go, and the walk stands. */
	fault_set(PSHM__CLOSE, 0, EIO);
	n = 0;
	assert_true(pshm_list(PSHM_LIST_ALL, count_one, &n, NULL) >= 2);
	pshm__fault_hook = NULL;
	assert_true(fault_seen >= 2);
	assert_int_equal(open_fds(), fds);
	tu_ok(pshm_close(mfd));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/* The /proc paths of descriptors, as snprintf would write them, at the numbers' extremes. */
static void test_proc_fd(void **state)
{
	(void)state;
	char buf[PSHM__PROC_FD_LEN];
	pshm__proc_fd(buf, 0, 7);
	assert_string_equal(buf, "/proc/self/fd/7");
	pshm__proc_fd(buf, 1, 0);
	assert_string_equal(buf, "/proc/1/fd/0");
	pshm__proc_fd(buf, 40210, 1024);
	assert_string_equal(buf, "/proc/40210/fd/1024");
	pshm__proc_fd(buf, INT_MAX, INT_MAX);
	assert_string_equal(buf, "/proc/2147483647/fd/2147483647");
	assert_true(strlen(buf) < sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_proc_fd),
	    cmocka_unit_test_teardown(test_lock_chan_open, teardown),
	    cmocka_unit_test_teardown(test_futex, teardown),
	    cmocka_unit_test_teardown(test_membarrier, teardown),
	    cmocka_unit_test_teardown(test_seal, teardown),
	    cmocka_unit_test_teardown(test_flags_from_fd, teardown),
	    cmocka_unit_test_teardown(test_flags_shm_open, teardown),
	    cmocka_unit_test_teardown(test_sync, teardown),
	    cmocka_unit_test_teardown(test_send_recv_fd, teardown),
	    cmocka_unit_test_teardown(test_madvise, teardown),
	    cmocka_unit_test_teardown(test_link_chan_create, teardown),
	    cmocka_unit_test_teardown(test_list, teardown),
	};

	tu_dir_setup();
	seg_save_umask();
	alarm(120); /* only turns a hang into a failure */
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return seg_exit_status(failed, tu_dir);
}
