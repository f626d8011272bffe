/*
 * test_file.c - shared mappings of regular files ("file:PATH") through the segment API, in a
 * private directory under /tmp: creation and its safe defaults, opening, mapping, syncing,
 * resizing, ownership, description, removal, and what may not be used as a file segment
 * (symlinks, directories, FIFOs).
 */
#include "segtest.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <time.h>

#define KiB 1024ull
#define MiB (1024ull * 1024ull)

static char dir[128];

/* ---- helpers ---------------------------------------------------------------------------- */

/* The address "file:DIR/BASE<n>" of a new name, and its path in PATH. */
static const char *new_addr(char *addr, size_t asize, char *path, size_t psize, const char *base)
{
	static int n;
	snprintf(path, psize, "%s/%s%d", dir, base, n++);
	snprintf(addr, asize, "file:%s", path);
	return addr;
}

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

/* Pages of the mapping at ADDR that are dirty in memory, in kB. */
static long dirty_kb(const void *addr)
{
	return smaps_kb(addr, "Shared_Dirty:") + smaps_kb(addr, "Private_Dirty:");
}

/* A file at PATH holding TEXT, made with plain system calls. */
static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Undo what a test changes for the whole process, even when it fails half-way. */
static int teardown(void **state)
{
	(void)state;
	pshm__fault_hook = NULL;
	umask(saved_umask);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	return 0;
}

/* ---- create ------------------------------------------------------------------------------ */

static void test_create(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *a, *b;

	new_addr(addr, sizeof(addr), path, sizeof(path), "create");
	tu_ok(pshm_create(&a, addr, 4096, 0, 0));
	assert_int_equal(pshm_created(a), 1);
	assert_int_equal(pshm_kind(a), PSHM_FILE);
	assert_string_equal(pshm_address(a), addr);
	assert_true(fcntl(pshm_fd(a), F_GETFD) & FD_CLOEXEC);
	assert_true(S_ISREG(stat_path(path).st_mode));
	assert_int_equal(stat_path(path).st_size, 4096);

	int fd = lowest_free_fd();
	tu_err(pshm_create(&b, addr, 4096, 0, 0), -EEXIST);
	assert_int_equal(lowest_free_fd(), fd);

	seg_check_open_grows(addr);
	tu_ok(pshm_create(&b, addr, 100, 0, PSHM_OPEN_OR_CREATE));
	assert_int_equal(seg_stat(b).size, 8192);
	tu_ok(pshm_close(b));

	tu_ok(pshm_destroy(a));
	tu_ok(pshm_close(a));
	assert_false(exists(path));

	new_addr(addr, sizeof(addr), path, sizeof(path), "create");
	tu_ok(pshm_create(&b, addr, 4096, 0, PSHM_OPEN_OR_CREATE));
	assert_int_equal(pshm_created(b), 1);
	tu_ok(pshm_close(b));
	tu_ok(pshm_destroy_addr(addr));
	assert_false(exists(path));

	/* The parent directory must exist: nothing is made on the way. */
	snprintf(addr, sizeof(addr), "file:%s/absent/f", dir);
	tu_err(pshm_create(&b, addr, 4096, 0, 0), -ENOENT);
	tu_err(pshm_create(&b, "file:", 4096, 0, 0), PSHM_EADDR);
}

static void test_create_modes(void **state)
{
	(void)state;
	static const mode_t masks[] = {077, 0};
	static const struct {
		mode_t asked, got;
	} modes[] = {{0, 0600}, {0640, 0640}, {0604, 0604}, {0666, 0666}, {0444, 0444}};
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg;

	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		umask(masks[m]);
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			new_addr(addr, sizeof(addr), path, sizeof(path), "mode");
			tu_ok(pshm_create(&seg, addr, 4096, modes[i].asked, 0));
			mode_t got = stat_path(path).st_mode & 07777;
			if (got != modes[i].got || seg_stat(seg).mode != modes[i].got)
				fail_msg("umask %03o, mode %04o: got %04o, expected %04o", masks[m],
				         modes[i].asked, got, modes[i].got);
			tu_ok(pshm_destroy(seg));
			tu_ok(pshm_close(seg));
		}
	}
}

static void test_create_reserved(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];

	new_addr(addr, sizeof(addr), path, sizeof(path), "resv");
	seg_check_reserved(addr, MiB, 0);
	new_addr(addr, sizeof(addr), path, sizeof(path), "sparse");
	seg_check_reserved(addr, MiB, PSHM_SPARSE);
}

/* ---- open, map, sync ---------------------------------------------------------------------- */

static void test_open(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg, *ro;
	void *p;
	size_t len;

	new_addr(addr, sizeof(addr), path, sizeof(path), "open");
	tu_err(pshm_open(&seg, addr, 0), -ENOENT);
	put_file(path, "hello", 0644);

	tu_ok(pshm_open(&seg, addr, 0));
	assert_int_equal(pshm_kind(seg), PSHM_FILE);
	assert_int_equal(pshm_created(seg), 0);
	assert_string_equal(pshm_address(seg), addr);
	assert_int_equal(fcntl(pshm_fd(seg), F_GETFL) & O_ACCMODE, O_RDWR);
	tu_ok(pshm_map(seg, 0, &p, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(p, "hello", 5);
	memcpy(p, "HE", 2);
	tu_ok(pshm_close(seg));

	tu_ok(pshm_open(&ro, addr, PSHM_RDONLY));
	assert_int_equal(fcntl(pshm_fd(ro), F_GETFL) & O_ACCMODE, O_RDONLY);
	tu_ok(pshm_map(ro, 0, &p, &len));
	assert_memory_equal(p, "HEllo", 5);
	tu_err(pshm_resize(ro, 4096, 0), -EBADF);
	tu_ok(pshm_sync(ro));
	tu_ok(pshm_destroy(ro));
	tu_ok(pshm_close(ro));
	assert_false(exists(path));
}

static void test_map_shared(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *a, *b;
	unsigned char *pa, *pb;
	size_t la, lb;
	void *q;
	size_t lq;

	new_addr(addr, sizeof(addr), path, sizeof(path), "map");
	tu_ok(pshm_create(&a, addr, 64 * KiB, 0, 0));
	tu_ok(pshm_open(&b, addr, 0));
	tu_ok(pshm_map(a, 0, (void **)&pa, &la));
	tu_ok(pshm_map(b, PSHM_POPULATE, (void **)&pb, &lb));
	assert_int_equal(la, 64 * KiB);
	assert_int_equal(lb, 64 * KiB);
	assert_int_equal(smaps_kb(pa, "Rss:"), 0);
	assert_int_equal(smaps_kb(pb, "Rss:"), 64);

	for (size_t i = 0; i < la; i++)
		pa[i] = (unsigned char)(i * 13 + 1);
	for (size_t i = 0; i < lb; i++)
		if (pb[i] != (unsigned char)(i * 13 + 1))
			fail_msg("byte %zu differs through the second handle", i);
	tu_err(pshm_map(b, 0, &q, &lq), -EBUSY);

	tu_ok(pshm_resize(a, 128 * KiB, 0));
	tu_ok(pshm_unmap(b));
	tu_ok(pshm_map(b, 0, (void **)&pb, &lb));
	assert_int_equal(lb, 128 * KiB);
	assert_int_equal(pb[1], 14);
	tu_ok(pshm_unmap(a));
	tu_ok(pshm_close(b));
	tu_ok(pshm_destroy(a));
	tu_ok(pshm_close(a));

	/* An empty file has nothing to map. */
	new_addr(addr, sizeof(addr), path, sizeof(path), "empty");
	tu_ok(pshm_create(&a, addr, 0, 0, 0));
	seg_check_map_empty(a);
	tu_ok(pshm_destroy(a));
	tu_ok(pshm_close(a));
}

static void test_sync(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX], buf[4096];
	struct pshm_seg *seg;
	char *p;
	size_t len;

	new_addr(addr, sizeof(addr), path, sizeof(path), "sync");
	tu_ok(pshm_create(&seg, addr, 16 * KiB, 0, 0));
	tu_ok(pshm_sync(seg)); /* nothing mapped yet */
	tu_ok(pshm_map(seg, 0, (void **)&p, &len));
	snprintf(p, 64, "written through the mapping");
	snprintf(p + 12 * KiB, 64, "and on the last page");
	assert_true(dirty_kb(p) > 0);

	/* After the sync the pages have been written back: none is dirty any more. */
	tu_ok(pshm_sync(seg));
	assert_int_equal(dirty_kb(p), 0);

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), sizeof(buf));
	assert_string_equal(buf, "written through the mapping");
	assert_int_equal(pread(fd, buf, sizeof(buf), 12 * KiB), sizeof(buf));
	assert_string_equal(buf, "and on the last page");
	close(fd);

	tu_ok(pshm_unmap(seg));
	tu_ok(pshm_sync(seg));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/* ---- resize, chmod, chown, stat ------------------------------------------------------- */

static void test_resize(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg;

	new_addr(addr, sizeof(addr), path, sizeof(path), "resize");
	tu_ok(pshm_create(&seg, addr, 64 * KiB, 0, 0));
	struct pshm_stat st = seg_resize_to(seg, 256 * KiB, 0);
	assert_true(st.allocated >= 256 * KiB);
	assert_int_equal(stat_path(path).st_size, 256 * KiB);

	st = seg_resize_to(seg, 16 * KiB, 0);
	assert_true(st.allocated >= 16 * KiB && st.allocated < 256 * KiB);

	uint64_t before = st.allocated;
	st = seg_resize_to(seg, MiB, PSHM_SPARSE);
	assert_int_equal(st.allocated, before);

	st = seg_resize_to(seg, 2 * MiB, 0);
	assert_true(st.allocated >= MiB);

	tu_ok(pshm_resize(seg, 0, 0));
	assert_int_equal(stat_path(path).st_size, 0);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void test_chmod_chown(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg;

	if (geteuid() != 0)
		skip();
	new_addr(addr, sizeof(addr), path, sizeof(path), "own");
	tu_ok(pshm_create(&seg, addr, 4096, 0, 0));
	umask(077);
	tu_ok(pshm_chmod(seg, 0644));
	assert_int_equal(stat_path(path).st_mode & 07777, 0644);
	tu_ok(pshm_chmod(seg, 0));
	assert_int_equal(seg_stat(seg).mode, 0);
	umask(saved_umask);

	tu_ok(pshm_chown(seg, 65534, 65534));
	assert_int_equal(stat_path(path).st_uid, 65534);
	assert_int_equal(stat_path(path).st_gid, 65534);
	tu_ok(pshm_chown(seg, 0, (gid_t)-1));
	assert_int_equal(stat_path(path).st_uid, 0);
	assert_int_equal(stat_path(path).st_gid, 65534);
	tu_ok(pshm_chown(seg, (uid_t)-1, 0));
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.uid, 0);
	assert_int_equal(st.gid, 0);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void test_stat(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg;
	struct pshm_stat st, sa;

	new_addr(addr, sizeof(addr), path, sizeof(path), "stat");
	tu_ok(pshm_create(&seg, addr, 20000, 0640, 0));
	struct stat sb = stat_path(path);
	st = seg_stat(seg);
	assert_int_equal(st.kind, PSHM_FILE);
	assert_string_equal(st.address, addr);
	assert_int_equal(st.size, 20000);
	assert_int_equal(st.allocated, (uint64_t)sb.st_blocks * 512);
	assert_true(st.allocated >= 20000);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.uid, geteuid());
	assert_int_equal(st.gid, getegid());
	assert_int_equal(st.ino, sb.st_ino);
	assert_int_equal(st.dev, sb.st_dev);
	assert_int_equal(st.nlink, 1);
	assert_int_equal(st.mtime.sec, sb.st_mtim.tv_sec);
	assert_int_equal(st.mtime.nsec, sb.st_mtim.tv_nsec);
	assert_int_equal(st.ctime.sec, sb.st_ctim.tv_sec);

	tu_ok(pshm_stat_addr(addr, &sa));
	assert_int_equal(sa.kind, PSHM_FILE);
	assert_string_equal(sa.address, addr);
	assert_int_equal(sa.size, 20000);
	assert_int_equal(sa.ino, sb.st_ino);
	assert_int_equal(sa.mode, 0640);

	tu_ok(pshm_destroy(seg));
	assert_false(exists(path));
	assert_int_equal(seg_stat(seg).nlink, 0);
	tu_err(pshm_stat_addr(addr, &sa), -ENOENT);
	tu_err(pshm_destroy_addr(addr), -ENOENT);
	tu_err(pshm_destroy(seg), -ENOENT);
	tu_ok(pshm_close(seg));
	tu_err(pshm_open(&seg, addr, 0), -ENOENT);
}

/* ---- what is not a file segment ------------------------------------------------------- */

static void test_symlink(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX], target[PATH_MAX], taddr[PATH_MAX + 8];
	struct pshm_seg *seg;

	new_addr(taddr, sizeof(taddr), target, sizeof(target), "target");
	put_file(target, "keep", 0644);
	struct stat before = stat_path(target);
	new_addr(addr, sizeof(addr), path, sizeof(path), "link");
	assert_int_equal(symlink(target, path), 0);

	seg_check_squatter(addr, 8192, 0666, ELOOP);
	tu_err(pshm_destroy_addr(addr), -ELOOP);

	assert_true(S_ISLNK(stat_path(path).st_mode));
	struct stat after = stat_path(target);
	assert_int_equal(after.st_size, 4);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

	/* A link in a directory on the way is followed: only the last component never is. */
	char viadir[PATH_MAX + 8], via[PATH_MAX * 2];
	snprintf(viadir, sizeof(viadir), "%s.d", path);
	assert_int_equal(symlink(dir, viadir), 0);
	const char *base = strrchr(target, '/') + 1;
	snprintf(via, sizeof(via), "file:%s/%s", viadir, base);
	tu_ok(pshm_open(&seg, via, PSHM_RDONLY));
	assert_int_equal(seg_stat(seg).ino, before.st_ino);
	tu_ok(pshm_close(seg));

	assert_int_equal(unlink(viadir), 0);
	assert_int_equal(unlink(path), 0);
	tu_ok(pshm_destroy_addr(taddr));
	assert_false(exists(target));
}

static void test_directory(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX], inner[PATH_MAX + 8];

	new_addr(addr, sizeof(addr), path, sizeof(path), "dir");
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(inner, sizeof(inner), "%s/x", path);
	put_file(inner, "x", 0600);
	int fd = lowest_free_fd();
	seg_check_squatter(addr, 4096, 0, EINVAL);
	tu_err(pshm_destroy_addr(addr), -EINVAL);
	assert_int_equal(lowest_free_fd(), fd);
	assert_true(S_ISDIR(stat_path(path).st_mode));
	assert_true(exists(inner));

	/* An empty directory is not removed either. */
	assert_int_equal(unlink(inner), 0);
	tu_err(pshm_destroy_addr(addr), -EINVAL);
	assert_true(S_ISDIR(stat_path(path).st_mode));
	assert_int_equal(rmdir(path), 0);
}

static void test_fifo(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg;

	new_addr(addr, sizeof(addr), path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0666), 0);
	/* Should an open ever block on the FIFO, the alarm ends the program: a failure. */
	signal(SIGALRM, SIG_DFL);
	alarm(60);
	tu_err(pshm_open(&seg, addr, 0), -EINVAL);
	tu_err(pshm_open(&seg, addr, PSHM_RDONLY), -EINVAL);
	tu_err(pshm_create(&seg, addr, 4096, 0, PSHM_OPEN_OR_CREATE), -EINVAL);
	alarm(0);
	tu_err(pshm_destroy_addr(addr), -EINVAL);
	assert_true(S_ISFIFO(stat_path(path).st_mode));
	assert_int_equal(unlink(path), 0);
}

/* ---- permissions -------------------------------------------------------------------------- */

static int as_nobody(void *arg)
{
	struct access_case *c = arg;
	struct pshm_seg *seg;
	struct pshm_stat st;

	/* Checks 1 to 4: the secret file, which may only be described; 5 to 7: the shared one. */
	int r = seg_nobody_case(c, &st, &seg, 4, "open");
	if (r)
		return r;
	if (pshm_close(seg))
		return 8;
	return 0;
}

static void test_eacces(void **state)
{
	(void)state;
	struct access_case c;
	char path[PATH_MAX];

	if (geteuid() != 0)
		skip();
	new_addr(c.secret, sizeof(c.secret), path, sizeof(path), "secret");
	put_file(path, "root", 0600);
	new_addr(c.shared, sizeof(c.shared), path, sizeof(path), "shared");
	put_file(path, "open", 0644);

	seg_check_as_nobody(as_nobody, &c);
	tu_ok(pshm_destroy_addr(c.secret));
	tu_ok(pshm_destroy_addr(c.shared));
}

/* ---- relative paths and adopted descriptors ------------------------------------------ */

static void test_relative(void **state)
{
	(void)state;
	char path[PATH_MAX], abs[PATH_MAX + 8], sub[PATH_MAX + 8], decoy[PATH_MAX * 2];
	struct pshm_seg *seg, *other;
	struct pshm_stat st;

	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(cwd >= 0);
	snprintf(path, sizeof(path), "%s/rel", dir);
	snprintf(abs, sizeof(abs), "file:%s", path);
	assert_int_equal(chdir(dir), 0);
	tu_ok(pshm_create(&seg, "file:rel", 4096, 0, 0));
	assert_true(S_ISREG(stat_path(path).st_mode));
	/* The handle's address is absolute: it names the same file from anywhere. */
	assert_string_equal(pshm_address(seg), abs);
	/* So is the address pshm_stat_addr reports for a relative path. */
	tu_ok(pshm_stat_addr("file:rel", &st));
	assert_string_equal(st.address, abs);
	assert_int_equal(st.ino, seg_stat(seg).ino);
	tu_ok(pshm_open(&other, "file:rel", PSHM_RDONLY));
	assert_string_equal(pshm_address(other), abs);
	tu_ok(pshm_close(other));

	/* Elsewhere, a different "rel": the handle still removes its own file, not this one. */
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(decoy, sizeof(decoy), "%s/rel", sub);
	put_file(decoy, "decoy", 0600);
	assert_int_equal(chdir(sub), 0);
	tu_ok(pshm_open(&other, pshm_address(seg), 0));
	assert_int_equal(seg_stat(other).ino, seg_stat(seg).ino);
	tu_ok(pshm_close(other));
	tu_ok(pshm_destroy(seg));
	assert_false(exists(path));
	assert_true(exists(decoy));
	tu_ok(pshm_close(seg));

	tu_ok(pshm_destroy_addr("file:rel"));
	assert_false(exists(decoy));
	tu_err(pshm_destroy_addr("file:rel"), -ENOENT);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	assert_int_equal(rmdir(sub), 0);
}

static void test_from_fd(void **state)
{
	(void)state;
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg;

	new_addr(addr, sizeof(addr), path, sizeof(path), "fromfd");
	put_file(path, "data", 0600);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	tu_ok(pshm_from_fd(&seg, fd, 0));
	assert_int_equal(pshm_kind(seg), PSHM_FILE);
	assert_string_equal(pshm_address(seg), addr);
	assert_int_equal(seg_stat(seg).size, 4);
	tu_ok(pshm_resize(seg, 8192, 0));
	assert_int_equal(stat_path(path).st_size, 8192);
	tu_ok(pshm_destroy(seg));
	assert_false(exists(path));
	tu_err(pshm_destroy(seg), -ENOENT);
	tu_ok(pshm_close(seg));

	/* A write-only descriptor cannot be mapped, and stays the caller's. */
	put_file(path, "data", 0600);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	tu_err(pshm_from_fd(&seg, fd, 0), -EACCES);
	assert_int_equal(close(fd), 0);
	tu_ok(pshm_destroy_addr(addr));
}

/* ---- injected failures -------------------------------------------------------------------- */

static void sweep_create(enum pshm__call call, int err)
{
	char addr[PATH_MAX + 8], path[PATH_MAX];
	struct pshm_seg *seg;
	int injected = 0;

	for (int nth = 0; nth < 16; nth++) {
		int entries = tu_count_entries(dir);
		int fd = lowest_free_fd();
		new_addr(addr, sizeof(addr), path, sizeof(path), "fault");
		fault_set(call, nth, err);
		int r = pshm_create(&seg, addr, 64 * KiB, 0, 0);
		pshm__fault_hook = NULL;
		if (r == 0 && nth > 0 && fault_seen < nth) {
			tu_ok(pshm_destroy(seg));
			tu_ok(pshm_close(seg));
			assert_true(injected > 0);
			return;
		}
		if (r != -err)
			fail_msg("call %d failing (time %d): create gave %d (%s)", (int)call, nth,
			         r, pshm_strerror(r));
		injected++;
		if (tu_count_entries(dir) != entries || exists(path))
			fail_msg("call %d failing (time %d): %s left behind", (int)call, nth, path);
		if (lowest_free_fd() != fd)
			fail_msg("call %d failing (time %d): descriptor left open", (int)call, nth);
	}
	fail_msg("call %d: creation never got past the failure", (int)call);
}

static void test_fault_create(void **state)
{
	(void)state;
	sweep_create(PSHM__FCHMOD, EPERM);
	sweep_create(PSHM__FALLOCATE, ENOSPC);
	/* An exclusive creation makes no fstat: O_EXCL can only make a regular file. */
}

static void remove_dir(void)
{
	nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_create, teardown),
	    cmocka_unit_test_teardown(test_create_modes, teardown),
	    cmocka_unit_test_teardown(test_create_reserved, teardown),
	    cmocka_unit_test_teardown(test_open, teardown),
	    cmocka_unit_test_teardown(test_map_shared, teardown),
	    cmocka_unit_test_teardown(test_sync, teardown),
	    cmocka_unit_test_teardown(test_resize, teardown),
	    cmocka_unit_test_teardown(test_chmod_chown, teardown),
	    cmocka_unit_test_teardown(test_stat, teardown),
	    cmocka_unit_test_teardown(test_symlink, teardown),
	    cmocka_unit_test_teardown(test_directory, teardown),
	    cmocka_unit_test_teardown(test_fifo, teardown),
	    cmocka_unit_test_teardown(test_eacces, teardown),
	    cmocka_unit_test_teardown(test_relative, teardown),
	    cmocka_unit_test_teardown(test_from_fd, teardown),
	    cmocka_unit_test_teardown(test_fault_create, teardown),
	};

	char tmpl[] = "/tmp/pshm-file.XXXXXX", real[PATH_MAX];
	if (!mkdtemp(tmpl))
		tu_skip_all("cannot make a directory in /tmp: %s", strerror(errno));
	/* The canonical path, since addresses of adopted descriptors come from the kernel. */
	if (!realpath(tmpl, real))
		tu_skip_all("realpath %s: %s", tmpl, strerror(errno));
	if (strlen(real) >= sizeof(dir))
		tu_skip_all("temporary directory path too long: %s", real);
	snprintf(dir, sizeof(dir), "%s", real);
	/* Others need to reach the files in it for the permission tests. */
	chmod(dir, 0755);
	atexit(remove_dir);

	seg_save_umask();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return seg_exit_status(failed, dir);
}
