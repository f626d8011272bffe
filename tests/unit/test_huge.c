/*
 * test_huge.c - huge pages (PSHM_HUGE): memfds, System V segments, and POSIX objects and files
 * on a hugetlbfs and on a tmpfs mounted with huge=always, both mounted here in a mount
 * namespace of the test's own; sizes rounded, pshm_stat's page_size, an empty pool failing at
 * create with nothing left behind, directories without huge pages, invalid flags, a channel;
 * a System V segment's page size told from any process that has it attached, past a file
 * mapping whose long path is laid out to read as a line of its own in /proc/PID/maps.
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

/*
 * Child of test_sysv_scan: map a file whose path is laid out so that /proc/PID/maps shows, 511
 * bytes into its line, text that reads as a mapping of System V segment ID: a reader that
 * took the line 511 bytes at a time would take this 4 KiB mapping for the segment. Exit 0
 * with the mapping made (then wait for a byte on DONE), 3 where the layout cannot be made.
 */
static int forge_maps_line(int id, int ready, int done, char *dir)
{
	char line[4096], path[PATH_MAX], fake[96];
	int col = -1;

	/* Where the kernel starts a path in a maps line: the same column for every line. */
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && col < 0 && fgets(line, sizeof(line), f))
		if (strchr(line, '/'))
			col = (int)(strchr(line, '/') - line);
	if (f)
		fclose(f);
	int want = 511 - col; /* the path's bytes before the fake line */
	size_t dlen = strlen(dir);
	if (col <= 0 || want < (int)dlen + 3 + 2 || want - (int)dlen - 2 > 2 * 250)
		return 3;
	/* DIR/ddd.../ddd.../ then the fake line as a directory name, ending " " + "/SYSV..." */
	int fill = want - (int)dlen - 2, first = fill / 2, second = fill - first - 1;
	snprintf(path, sizeof(path), "%s/%.*s", dir, first,
	         "dddddddddddddddddddddddddddddddddddd"
	         "dddddddddddddddddddddddddddddddddddd"
	         "dddddddddddddddddddddddddddddddddddd"
	         "dddddddddddddddddddddddddddddddddddd"
	         "dddddddddddddddddddddddddddddddddddd"
	         "dddddddddddddddddddddddddddddddddddd"
	         "dddddddddddddddddddddddddddddddddddd");
	if (mkdir(path, 0700) < 0)
		return 3;
	size_t n = strlen(path);
	path[n++] = '/';
	memset(path + n, 'e', (size_t)second);
	n += (size_t)second;
	path[n] = '\0';
	if (mkdir(path, 0700) < 0)
		return 3;
	snprintf(fake, sizeof(fake), "0-1000 r--s 00000000 00:00 %d ", id);
	snprintf(path + n, sizeof(path) - n, "/%s", fake);
	if ((int)(strlen(path) - strlen(fake)) != want || mkdir(path, 0700) < 0)
		return 3;
	strcat(path, "/SYSV00000000");
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return 3;
	void *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return 3;
	/* The fake text must start exactly 511 bytes into the line. */
	bool placed = false;
	f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, fake))
			placed = strstr(line, fake) - line == 511;
	if (f)
		fclose(f);
	if (!placed)
		return 3;
	char b = 1;
	if (write(ready, &b, 1) != 1 || read(done, &b, 1) < 0)
		return 2;
	return 0;
}

/*
 * A huge System V segment attached only by a process that is neither this one, its creator,
 * nor its last attacher: every process is looked into, and another process's file mapping
 * whose long path reads, part way, like a mapping of the segment does not fool the look.
 */
static void test_sysv_scan(void **state)
{
	char addr[48], dir[] = "/tmp/pshm-forge.XXXXXX";
	int ready[2], done[2], status;
	struct pshm_seg *seg;
	void *map;
	size_t len;
	char b;
	(void)state;

	tu_ok(pshm_create(&seg, "sysv:0", HUGE, 0600, PSHM_HUGE));
	struct pshm_stat st = seg_stat(seg);
	int id = (int)st.id;
	snprintf(addr, sizeof(addr), "sysv:id=%d", id);
	tu_ok(pshm_close(seg));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);

	/* The forger first, so that a look through /proc in order of pid meets it first. */
	pid_t forger = fork();
	assert_true(forger >= 0);
	if (forger == 0) {
		close(done[1]);
		_exit(forge_maps_line(id, ready[1], done[0], dir));
	}
	pid_t holder = -1;
	if (read(ready[0], &b, 1) == 1) {
		holder = fork();
		assert_true(holder >= 0);
		if (holder == 0) {
			close(done[1]);
			if (pshm_open(&seg, addr, 0) || pshm_map(seg, 0, &map, &len))
				_exit(1);
			if (write(ready[1], &b, 1) != 1 || read(done[0], &b, 1) < 0)
				_exit(2);
			_exit(0);
		}
		assert_int_equal(read(ready[0], &b, 1), 1);
		pid_t passer = fork();
		assert_true(passer >= 0);
		if (passer == 0)
			_exit(pshm_open(&seg, addr, 0) || pshm_map(seg, 0, &map, &len) ||
			      pshm_close(seg));
		assert_int_equal(waitpid(passer, &status, 0), passer);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		tu_ok(pshm_stat_addr(addr, &st));
		assert_int_equal(st.nattch, 1);
		assert_int_equal(st.lpid, passer);
		assert_int_equal(st.cpid, getpid());
		assert_int_equal(st.page_size, HUGE);
	}
	close(done[1]);
	assert_int_equal(waitpid(forger, &status, 0), forger);
	if (holder > 0)
		assert_int_equal(waitpid(holder, &status, 0), holder);
	close(done[0]);
	close(ready[0]);
	close(ready[1]);
	tu_ok(pshm_destroy_addr(addr));
	nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (holder < 0)
		tu_skip_test("the forged maps line could not be laid out (forger: status %#x)",
		             status);
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

/*
 * A tmpfs with huge=always mounted at a path of almost PATH_MAX bytes, so that its line of
 * /proc/self/mountinfo runs past 4 KiB: the line is read whole, its options are found, and
 * PSHM_HUGE works there.
 */
static void test_long_mount_path(void **state)
{
	static char dir[PATH_MAX];
	char name[64];
	(void)state;

	need(thpfs, "tmpfs with huge=always"); /* root, and huge=always taken here */
	snprintf(dir, sizeof(dir), "/tmp/pshm-long.XXXXXX");
	assert_non_null(mkdtemp(dir));
	/* Components of up to 200 bytes, to a path of PATH_MAX - 36 bytes: room for "/name". */
	size_t top = strlen(dir), n = top, len[32], depth = 0;
	while (n < PATH_MAX - 36) {
		size_t c = PATH_MAX - 36 - n - 1 < 200 ? PATH_MAX - 36 - n - 1 : 200;
		dir[n++] = '/';
		memset(dir + n, 'm', c);
		n += c;
		dir[n] = '\0';
		len[depth++] = c + 1;
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "huge=always,size=8m,mode=1777"), 0);
	tu_use_dir(dir);
	struct pshm_seg *seg;
	snprintf(name, sizeof(name), "/l%d", (int)getpid());
	int r = pshm_create(&seg, name, 100, 0600, PSHM_HUGE);
	uint64_t page = 0;
	if (r == 0) {
		page = seg_stat(seg).page_size;
		pshm_destroy(seg);
		pshm_close(seg);
	}
	umount2(dir, MNT_DETACH);
	while (depth > 0) { /* remove the components again, deepest first */
		rmdir(dir);
		n -= len[--depth];
		dir[n] = '\0';
	}
	rmdir(dir);
	tu_ok(r);
	assert_true(page > (uint64_t)sysconf(_SC_PAGESIZE));
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
	    cmocka_unit_test(test_sysv_scan),  cmocka_unit_test(test_hugetlbfs),
	    cmocka_unit_test(test_tmpfs_huge), cmocka_unit_test(test_long_mount_path),
	    cmocka_unit_test(test_empty_pool), cmocka_unit_test(test_no_huge_dir),
	    cmocka_unit_test(test_invalid),    cmocka_unit_test(test_chan),
	};
	if (access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) < 0)
		tu_skip_all("the kernel has no 2 MiB huge pages");
	tu_dir_setup();
	return cmocka_run_group_tests(tests, group_setup, group_teardown) ? 1 : 0;
}
