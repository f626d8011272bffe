/*
 * test_seg.c - the segment handle's dispatch (seg.c) through the tables of operations: every
 * kind has its table and no other kind has one; a table's NULL entry is -EOPNOTSUPP from every
 * public call that would use it; and what a handle holds (a descriptor) is released by
 * pshm_close() whatever its table says. The techniques themselves are test_posix.c,
 * test_file.c, test_memfd.c and test_sysv.c.
 */
#include "testutil.h"

#include "internal.h"

#include <sys/mman.h>

/* A technique that supports nothing. */
static const struct pshm__ops no_ops;

static void test_tables(void **state)
{
	(void)state;
	const int kinds[] = {PSHM_POSIX, PSHM_SYSV, PSHM_FILE, PSHM_MEMFD, PSHM_SEM};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct pshm__ops *ops = pshm__ops_for(kinds[i]);
		assert_non_null(ops);
		/* What every handle needs, whatever its technique. */
		assert_non_null(ops->open);
		assert_non_null(ops->size);
		assert_non_null(ops->map);
		assert_non_null(ops->unmap);
		assert_non_null(ops->sync);
		assert_non_null(ops->stat);
		assert_non_null(ops->stat_addr);
	}
	assert_null(pshm__ops_for(0));
	assert_null(pshm__ops_for(-1));
	assert_null(pshm__ops_for(PSHM_SEM + 1));
	assert_null(pshm__ops_for(INT_MAX));
}

static void test_null_entries(void **state)
{
	(void)state;
	struct pshm_seg *seg = pshm__seg_new(&no_ops, PSHM_MEMFD, "", NULL);
	struct pshm_stat st;
	void *p;
	size_t len;

	assert_non_null(seg);
	seg->fd = memfd_create("t", MFD_CLOEXEC);
	assert_true(seg->fd >= 0);
	int fd = seg->fd;
	tu_err(pshm_map(seg, 0, &p, &len), -EOPNOTSUPP);
	tu_err(pshm_sync(seg), -EOPNOTSUPP);
	tu_err(pshm_resize(seg, 4096, 0), -EOPNOTSUPP);
	tu_err(pshm_chmod(seg, 0600), -EOPNOTSUPP);
	tu_err(pshm_chown(seg, (uid_t)-1, (gid_t)-1), -EOPNOTSUPP);
	tu_err(pshm_stat(seg, &st), -EOPNOTSUPP);
	tu_err(pshm_destroy(seg), -EOPNOTSUPP);
	/* Unsupported comes before read-only: the operation is missing, not refused. */
	seg->rdonly = true;
	tu_err(pshm_resize(seg, 4096, 0), -EOPNOTSUPP);
	/* Without an address operation an empty address stays empty. */
	assert_string_equal(pshm_address(seg), "");
	tu_ok(pshm_close(seg));
	assert_true(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
}

/* A table whose entries all exist answers for itself: read-only refusals are seg.c's. */
static void test_rdonly(void **state)
{
	(void)state;
	struct pshm_seg *seg;

	tu_ok(pshm_create(&seg, "memfd:", 4096, 0600, 0));
	seg->rdonly = true;
	tu_err(pshm_resize(seg, 8192, 0), -EBADF);
	seg->rdonly = false;
	tu_ok(pshm_resize(seg, 8192, 0));
	tu_ok(pshm_close(seg));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_null_entries),
	    cmocka_unit_test(test_rdonly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
