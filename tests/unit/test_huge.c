/*
 * test_huge.c - huge pages (PSHM_HUGE): memfds, System V segments, and POSIX objects and files
 * on a hugetlbfs and on a tmpfs mounted with huge=always, both mounted here in a mount
 * namespace of the test's own; sizes rounded, pshm_stat's page_size, an empty pool failing at
 * create with nothing left behind, directories without huge pages, invalid flags, a channel.
 * As root the pool is grown for the test through tests/hugepool.sh and given back after; the
 * pool must then be as it was.
 */
#include "testutil.h"

#include <inttypes.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define HUGE   ((uint64_t)2 << 20)
#define POOL   "/sys/kernel/mm/hugepages/hugepages-2048kB/"
#define LENT   6 /* pages lent by the pool script: the most any test holds at once */
#define SCRIPT "tests/hugepool.sh"

static char hugetlbfs[64], thpfs[64]; /* the mounts, or empty when they could not be made */
static char plain[64];                /* a tmpfs without huge pages */
static long base_before;              /* the pool less what is lent (tests/hugepool.sh base) */
static bool lent;

static long pool_read(const char *name)
{
	char path[128];
	long v = -1;
	snprintf(path, sizeof(path), POOL "%s", name);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The pool's size less every page the script lent: what others' tests do not change. */
static long pool_base(void)
{
	long v = -1;
	FILE *f = popen("sh " SCRIPT " base", "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		pclose(f);
	}
	return v;
}

/* Run the pool script: "grow" or "release" LENT pages for this process. */
static int pool_script(const char *cmd)
{
	char line[256];
	snprintf(line, sizeof(line), "sh %s %s %d %d", SCRIPT, cmd, LENT, (int)getpid());
	return system(line);
}

static const char *mount_at(char *dir, const char *type, const char *opts)
{
	snprintf(dir, 64, "/tmp/pshm-huge.XXXXXX");
	if (!mkdtemp(dir) || mount(type, dir, type, 0, opts) < 0) {
		printf("# cannot mount %s (%s): %s\n", type, opts, strerror(errno));
		rmdir(dir);
		dir[0] = '\0';
	}
	return dir;
}

static void unmount_all(void)
{
	char *dirs[] = {hugetlbfs, thpfs, plain};
	for (size_t i = 0; i < 3; i++)
		if (dirs[i][0]) {
			umount2(dirs[i], MNT_DETACH);
			rmdir(dirs[i]);
		}
}

static int group_setup(void **state)
{
	(void)state;
	if (access(SCRIPT, R_OK) < 0)
		tu_skip_all("%s not found: run from the source tree", SCRIPT);
	base_before = pool_base();
	if (geteuid() == 0) {
		if (pool_script("grow") != 0)
			tu_skip_all("the kernel has no %d free 2 MiB huge pages to lend", LENT);
		lent = true;
		if (unshare(CLONE_NEWNS) == 0 &&
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, 0) == 0) {
			mount_at(hugetlbfs, "hugetlbfs", "pagesize=2M,mode=1777");
			mount_at(thpfs, "tmpfs", "huge=always,size=64m,mode=1777");
			mount_at(plain, "tmpfs", "huge=never,size=64m,mode=1777");
		}
	} else if (pool_read("free_hugepages") < LENT) {
		tu_skip_all("not root, and fewer than %d free 2 MiB huge pages", LENT);
	}
	return 0;
}

/* Give the pages back; the pool must be as it was before the test. */
static int group_teardown(void **state)
{
	(void)state;
	unmount_all();
	if (lent && pool_script("release") != 0)
		fail_msg("%s release failed", SCRIPT);
	long after = pool_base();
	if (after != base_before)
		fail_msg("the pool changed: %ld pages of its own before, %ld after", base_before,
		         after);
	return 0;
}

static void need(const char *dir, const char *what)
{
	if (!dir[0])
		tu_skip_test("no %s mounted here (needs root)", what);
}

/* Create ADDR with FLAGS for SIZE bytes: it must have ROUNDED bytes of pages of PAGE bytes
 * (PAGE 0: not told until mapped), map, keep what is written, and resize to GROW if nonzero. */
static void cycle(const char *addr, unsigned flags, uint64_t size, uint64_t rounded, uint64_t page,
                  uint64_t grow)
{
	struct pshm_seg *seg;
	void *map;
	size_t len;

	tu_ok(pshm_create(&seg, addr, size, 0, flags));
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, rounded);
	assert_int_equal(st.page_size, page);
	tu_ok(pshm_map(seg, 0, &map, &len));
	assert_int_equal(len, rounded);
	memset(map, 0x5a, len);
	assert_int_equal(((unsigned char *)map)[len - 1], 0x5a);
	st = seg_stat(seg);
	assert_int_equal(st.page_size, HUGE); /* told from the mapping too (System V) */
	tu_ok(pshm_unmap(seg));
	if (grow) {
		tu_ok(pshm_resize(seg, grow, 0));
		st = seg_stat(seg);
		assert_int_equal(st.size, (grow + HUGE - 1) / HUGE * HUGE);
		tu_ok(pshm_map(seg, 0, &map, &len));
		assert_int_equal(((unsigned char *)map)[0], 0x5a);
		tu_ok(pshm_unmap(seg));
	}
	if (pshm_kind(seg) != PSHM_MEMFD) /* a memfd goes with its last descriptor */
		tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void test_memfd(void **state)
{
	(void)state;
	cycle("memfd:", PSHM_HUGE, 5000, HUGE, HUGE, 3 * HUGE / 2);
	cycle("memfd:", PSHM_HUGE_2MB, HUGE, HUGE, HUGE, 0);
}

static void test_sysv(void **state)
{
	(void)state;
	struct pshm_seg *seg;
	/* No attachment yet: the page size cannot be told (see pshm_stat). */
	cycle("sysv:0", PSHM_HUGE_2MB, 1, HUGE, 0, 0);
	tu_ok(pshm_create(&seg, "sysv:0", HUGE, 0, PSHM_HUGE));
	tu_err(pshm_resize(seg, 2 * HUGE, 0), -EOPNOTSUPP);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void test_hugetlbfs(void **state)
{
	(void)state;
	char addr[128], name[64];
	struct pshm_stat st;

	need(hugetlbfs, "hugetlbfs");
	tu_use_dir(hugetlbfs);
	cycle(tu_name(name, sizeof(name), "h"), PSHM_HUGE, 3000, HUGE, HUGE, HUGE + 1);
	snprintf(addr, sizeof(addr), "file:%s/f", hugetlbfs);
	cycle(addr, PSHM_HUGE_2MB, HUGE + 1, 2 * HUGE, HUGE, 0);
	/* Described by name, without a handle. */
	struct pshm_seg *seg;
	tu_ok(pshm_create(&seg, addr, 1, 0, PSHM_HUGE));
	tu_ok(pshm_stat_addr(addr, &st));
	assert_int_equal(st.page_size, HUGE);
	assert_int_equal(st.size, HUGE);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	assert_int_equal(tu_count_entries(hugetlbfs), 0);
}

static void test_tmpfs_huge(void **state)
{
	(void)state;
	char name[64];
	uint64_t pmd = 0;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	if (f) {
		if (fscanf(f, "%" SCNu64, &pmd) != 1)
			pmd = 0;
		fclose(f);
	}
	need(thpfs, "tmpfs with huge=always");
	if (pmd != HUGE)
		tu_skip_test("the PMD size is not 2 MiB here");
	tu_use_dir(thpfs);
	cycle(tu_name(name, sizeof(name), "t"), PSHM_HUGE, 100, HUGE, HUGE, HUGE + 1);
	assert_int_equal(tu_count_entries(thpfs), 0);
}

/* More than the pool holds: an error at create, and nothing left of the attempt. */
static void test_empty_pool(void **state)
{
	(void)state;
	struct pshm_seg *seg;
	char name[64];
	uint64_t big = (uint64_t)(pool_read("free_hugepages") + 1) * HUGE;
	int fds = tu_count_entries("/proc/self/fd");

	int r = pshm_create(&seg, "memfd:", big, 0, PSHM_HUGE);
	assert_true(r == -ENOSPC || r == -ENOMEM);
	r = pshm_create(&seg, "sysv:0x7e570001", big, 0, PSHM_HUGE);
	assert_true(r == -ENOSPC || r == -ENOMEM);
	tu_err(pshm_destroy_addr("sysv:0x7e570001"), -ENOENT);
	if (hugetlbfs[0]) {
		tu_use_dir(hugetlbfs);
		r = pshm_create(&seg, tu_name(name, sizeof(name), "e"), big, 0, PSHM_HUGE);
		assert_true(r == -ENOSPC || r == -ENOMEM);
		assert_int_equal(tu_count_entries(hugetlbfs), 0);
	}
	assert_int_equal(tu_count_entries("/proc/self/fd"), fds);
}

/* POSIX objects and files where the file system gives no huge pages. */
static void test_no_huge_dir(void **state)
{
	(void)state;
	struct pshm_seg *seg;
	char name[64], addr[128];
	const char *dir = plain[0] ? plain : tu_dir;

	tu_use_dir(dir);
	tu_err(pshm_create(&seg, tu_name(name, sizeof(name), "n"), HUGE, 0, PSHM_HUGE),
	       -EOPNOTSUPP);
	snprintf(addr, sizeof(addr), "file:%s/f", dir);
	tu_err(pshm_create(&seg, addr, HUGE, 0, PSHM_HUGE_2MB), -EOPNOTSUPP);
	tu_err(pshm_chan_create(name, 4096, 0, PSHM_HUGE), -EOPNOTSUPP);
	assert_int_equal(tu_count_entries(dir), 0);
	/* An ordinary object there says it has ordinary pages. */
	tu_ok(pshm_create(&seg, name, 1, 0, 0));
	assert_int_equal(seg_stat(seg).page_size, (uint64_t)sysconf(_SC_PAGESIZE));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void test_invalid(void **state)
{
	(void)state;
	struct pshm_seg *seg;
	char name[64];

	/* A page size without PSHM_HUGE, one the system keeps no pool of, one out of range. */
	tu_err(pshm_create(&seg, "memfd:", HUGE, 0, PSHM_HUGE_2MB & ~PSHM_HUGE), -EINVAL);
	tu_err(pshm_create(&seg, "memfd:", HUGE, 0, PSHM_HUGE | 13u << PSHM_HUGE_SHIFT), -EINVAL);
	tu_err(pshm_create(&seg, "sysv:0", HUGE, 0, PSHM_HUGE | 63u << PSHM_HUGE_SHIFT), -EINVAL);
	tu_err(pshm_open(&seg, "/x", PSHM_HUGE), -EINVAL);
	tu_err(pshm_chan_create("/c", 4096, 0, PSHM_HUGE_2MB & ~PSHM_HUGE), -EINVAL);
	if (hugetlbfs[0]) {
		/* A hugetlbfs of 2 MiB pages gives no 1 GiB ones. */
		tu_use_dir(hugetlbfs);
		tu_err(pshm_create(&seg, tu_name(name, sizeof(name), "i"), HUGE, 0, PSHM_HUGE_1GB),
		       -EINVAL);
		assert_int_equal(tu_count_entries(hugetlbfs), 0);
	}
}

static void test_chan(void **state)
{
	(void)state;
	struct pshm_chan *w, *rd;
	struct pshm_stat st;
	char name[64], buf[64];
	size_t len;

	need(hugetlbfs, "hugetlbfs");
	tu_use_dir(hugetlbfs);
	tu_name(name, sizeof(name), "c");
	tu_ok(pshm_chan_create(name, 4096, 0, PSHM_HUGE));
	tu_ok(pshm_stat_addr(name, &st));
	assert_int_equal(st.page_size, HUGE);
	assert_int_equal(st.size, HUGE);
	tu_ok(pshm_chan_open(&w, name, PSHM_CHAN_WRITER, 0));
	tu_ok(pshm_chan_open(&rd, name, PSHM_CHAN_READER, 0));
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(buf, sizeof(buf), "message %d", i);
		tu_ok(pshm_chan_send(w, buf, (size_t)n, 1000));
		char got[64];
		tu_ok(pshm_chan_recv(rd, got, sizeof(got), &len, 1000));
		assert_int_equal(len, (size_t)n);
		assert_memory_equal(got, buf, len);
	}
	tu_ok(pshm_chan_close(w));
	tu_ok(pshm_chan_close(rd));
	tu_ok(pshm_destroy_addr(name));
	assert_int_equal(tu_count_entries(hugetlbfs), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memfd),      cmocka_unit_test(test_sysv),
	    cmocka_unit_test(test_hugetlbfs),  cmocka_unit_test(test_tmpfs_huge),
	    cmocka_unit_test(test_empty_pool), cmocka_unit_test(test_no_huge_dir),
	    cmocka_unit_test(test_invalid),    cmocka_unit_test(test_chan),
	};
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) < 0)
		tu_skip_all("the kernel has no 2 MiB huge pages");
	tu_dir_setup();
	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
