/*
 * test_enospc.c - a full file system, on a 4 MiB tmpfs in a private mount namespace.
 *
 * What the reservation buys: creating or growing past the free space fails at once with
 * -ENOSPC and leaves nothing behind, and the pages of a reserved segment can always be touched.
 * A sparse segment shows the alternative: the same shortage turns up later as SIGBUS.
 */
#include "testutil.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <sys/statvfs.h>

#define MiB (1024ull * 1024ull)

static const char *fsdir;

/* ---- helpers ---------------------------------------------------------------------------- */

/* Free bytes on the tiny file system. */
static uint64_t fs_free(void)
{
	struct statvfs vfs;
	if (statvfs(fsdir, &vfs) < 0)
		fail_msg("statvfs %s: %s", fsdir, strerror(errno));
	return (uint64_t)vfs.f_bfree * vfs.f_frsize;
}

static uint64_t fs_size(void)
{
	struct statvfs vfs;
	if (statvfs(fsdir, &vfs) < 0)
		fail_msg("statvfs %s: %s", fsdir, strerror(errno));
	return (uint64_t)vfs.f_blocks * vfs.f_frsize;
}

/* A SIGBUS in the test process itself is a failure of the test, not the end of the program. */
static sigjmp_buf sigbus_env;
static struct sigaction sigbus_old;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(sigbus_env, 1);
}

#define SIGBUS_GUARD()                                                                             \
	do {                                                                                       \
		struct sigaction sa_ = {.sa_handler = on_sigbus};                                  \
		sigaction(SIGBUS, &sa_, &sigbus_old);                                              \
		if (sigsetjmp(sigbus_env, 1)) {                                                    \
			sigaction(SIGBUS, &sigbus_old, NULL);                                      \
			fail_msg("SIGBUS in the test process");                                    \
		}                                                                                  \
	} while (0)

static void sigbus_unguard(void)
{
	sigaction(SIGBUS, &sigbus_old, NULL);
}

/*
 * In a child, write to every page of [P, P+LEN) in order, recording in *REACHED how many bytes
 * were written. Returns the child's wait status.
 */
static int touch_in_child(unsigned char *p, size_t len, volatile uint64_t *reached)
{
	long page = sysconf(_SC_PAGESIZE);

	*reached = 0;
	pid_t pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		/* Die of the signal itself: no handler, the test framework's or a sanitizer's. */
		signal(SIGBUS, SIG_DFL);
		for (size_t off = 0; off < len; off += (size_t)page) {
			p[off] = 0xee;
			*reached = off + (size_t)page;
		}
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		fail_msg("waitpid: %s", strerror(errno));
	return status;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_create_too_big(void **state)
{
	(void)state;
	struct pshm_seg *seg;

	SIGBUS_GUARD();
	uint64_t before = fs_free();
	int fd = lowest_free_fd();
	assert_int_equal(tu_count_entries(fsdir), 0);
	tu_err(pshm_create(&seg, "/big", 8 * MiB, 0, 0), -ENOSPC);
	/* Nothing is left: no name, no descriptor, and no pages held by a half reservation. */
	assert_int_equal(tu_count_entries(fsdir), 0);
	assert_int_equal(lowest_free_fd(), fd);
	assert_int_equal(fs_free(), before);
	tu_err(pshm_stat_addr("/big", &(struct pshm_stat){0}), -ENOENT);

	/* Just past the free space fails as well; just within it works. */
	tu_err(pshm_create(&seg, "/big", before + 4096, 0, 0), -ENOSPC);
	assert_int_equal(tu_count_entries(fsdir), 0);
	tu_ok(pshm_create(&seg, "/big", before, 0, 0));
	assert_int_equal(seg_stat(seg).allocated, before);
	assert_int_equal(fs_free(), 0);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	assert_int_equal(fs_free(), before);
	sigbus_unguard();
}

static void test_reserved_and_sparse(void **state)
{
	(void)state;
	struct pshm_seg *resv, *sparse, *again;
	unsigned char *pr, *ps;
	size_t lr, ls;

	volatile uint64_t *reached =
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(reached != MAP_FAILED);

	SIGBUS_GUARD();
	tu_ok(pshm_create(&resv, "/resv", 2 * MiB, 0, 0));
	struct pshm_stat st = seg_stat(resv);
	assert_int_equal(st.size, 2 * MiB);
	assert_int_equal(st.allocated, 2 * MiB);

	/* Growth past the free space fails, and the size stays what it was. */
	tu_err(pshm_resize(resv, 8 * MiB, 0), -ENOSPC);
	st = seg_stat(resv);
	assert_int_equal(st.size, 2 * MiB);
	assert_int_equal(st.allocated, 2 * MiB);
	assert_int_equal(fs_free(), fs_size() - 2 * MiB);
	tu_err(pshm_create(&again, "/resv", 8 * MiB, 0, PSHM_OPEN_OR_CREATE), -ENOSPC);
	assert_int_equal(seg_stat(resv).size, 2 * MiB);

	/* A sparse object may promise more than there is... */
	tu_ok(pshm_create(&sparse, "/sparse", 8 * MiB, 0, PSHM_SPARSE));
	st = seg_stat(sparse);
	assert_int_equal(st.size, 8 * MiB);
	assert_int_equal(st.allocated, 0);
	tu_ok(pshm_map(sparse, 0, (void **)&ps, &ls));
	assert_int_equal(ls, 8 * MiB);

	/* ...and the one who touches the pages past what there is pays with SIGBUS. */
	int status = touch_in_child(ps, ls, reached);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGBUS)
		fail_msg("touching a sparse 8 MiB object on a 4 MiB file system: status %#x, "
		         "reached %llu bytes",
		         status, (unsigned long long)*reached);
	assert_true(*reached > 0);
	assert_true(*reached < 4 * MiB);
	assert_int_equal(fs_free(), 0);

	/* The reserved object, on the same full file system, takes every write. */
	tu_ok(pshm_map(resv, PSHM_POPULATE, (void **)&pr, &lr));
	status = touch_in_child(pr, lr, reached);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("touching a reserved object on a full file system: status %#x", status);
	assert_int_equal(*reached, 2 * MiB);
	assert_int_equal(pr[0], 0xee);
	assert_int_equal(pr[lr - 4096], 0xee);
	assert_int_equal(seg_stat(resv).allocated, 2 * MiB);

	tu_ok(pshm_destroy(sparse));
	tu_ok(pshm_close(sparse));
	tu_ok(pshm_destroy(resv));
	tu_ok(pshm_close(resv));
	assert_int_equal(tu_count_entries(fsdir), 0);
	assert_int_equal(fs_free(), fs_size());
	sigbus_unguard();
	munmap((void *)reached, 4096);
}

static void test_file_enospc(void **state)
{
	(void)state;
	char addr[160], path[128];
	struct pshm_seg *seg;

	SIGBUS_GUARD();
	snprintf(path, sizeof(path), "%s/f", fsdir);
	snprintf(addr, sizeof(addr), "file:%s", path);
	int fd = lowest_free_fd();
	tu_err(pshm_create(&seg, addr, 8 * MiB, 0, 0), -ENOSPC);
	assert_int_equal(lowest_free_fd(), fd);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(tu_count_entries(fsdir), 0);
	assert_int_equal(fs_free(), fs_size());

	tu_ok(pshm_create(&seg, addr, 2 * MiB, 0, 0));
	tu_err(pshm_resize(seg, 8 * MiB, 0), -ENOSPC);
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, 2 * MiB);
	assert_int_equal(st.allocated, 2 * MiB);
	tu_ok(pshm_resize(seg, 8 * MiB, PSHM_SPARSE));
	assert_int_equal(seg_stat(seg).size, 8 * MiB);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	assert_int_equal(tu_count_entries(fsdir), 0);
	sigbus_unguard();
}

/*
 * A failed growth leaves the object as it was: its size, and its holes. An object that ends
 * inside a page keeps that page as it was too (a hole, or reserved), and a sparse object opened
 * and grown keeps its holes: growth reserves only what it adds.
 */
static void test_growth_leaves_holes(void **state)
{
	(void)state;
	struct pshm_seg *seg, *other;

	SIGBUS_GUARD();
	for (int sparse = 0; sparse < 2; sparse++) {
		tu_ok(pshm_create(&seg, "/tail", 1000, 0, sparse ? PSHM_SPARSE : 0));
		struct pshm_stat was = seg_stat(seg);
		assert_int_equal(was.allocated, sparse ? 0 : (uint64_t)sysconf(_SC_PAGESIZE));
		tu_err(pshm_resize(seg, 8 * MiB, 0), -ENOSPC);
		struct pshm_stat st = seg_stat(seg);
		assert_int_equal(st.size, 1000);
		assert_int_equal(st.allocated, was.allocated);
		assert_int_equal(fs_free(), fs_size() - was.allocated);
		tu_ok(pshm_destroy(seg));
		tu_ok(pshm_close(seg));
	}
	tu_ok(pshm_create(&seg, "/holes", MiB, 0, PSHM_SPARSE));
	tu_err(pshm_create(&other, "/holes", 8 * MiB, 0, PSHM_OPEN_OR_CREATE), -ENOSPC);
	tu_ok(pshm_create(&other, "/holes", 2 * MiB, 0, PSHM_OPEN_OR_CREATE));
	struct pshm_stat st = seg_stat(other);
	assert_int_equal(st.size, 2 * MiB);
	assert_int_equal(st.allocated, MiB);
	tu_ok(pshm_close(other));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	assert_int_equal(fs_free(), fs_size());
	sigbus_unguard();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_too_big),
	    cmocka_unit_test(test_reserved_and_sparse),
	    cmocka_unit_test(test_file_enospc),
	    cmocka_unit_test(test_growth_leaves_holes),
	};

	fsdir = tu_tiny_tmpfs(4);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	int left = tu_count_entries(fsdir);
	if (left != 0)
		printf("%d entries left in %s\n", left, fsdir);
	tu_tiny_tmpfs_cleanup(fsdir);
	return failed || left != 0 ? 1 : 0;
}
