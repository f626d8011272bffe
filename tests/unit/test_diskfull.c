/*
 * test_diskfull.c - a full disk file system: growth that fails on an 8 MiB ext4 file system,
 * made for each test on a loop device in a private mount namespace.
 *
 * Unlike tmpfs, ext4 can fail a posix_fallocate after it has taken part of the range, and extend
 * the file that far. A failed create, resize or write must still leave the object at its old
 * size and give the space back to the file system. Needs root, a loop device and mkfs.ext4
 * (e2fsprogs); skips where any of them is missing.
 */
#include "testutil.h"

#include <linux/loop.h>
#include <sys/ioctl.h>

#define KiB 1024ull
#define MiB (1024ull * 1024ull)

/* A tmpfs of this process's own that holds the images, and the file system of the test. */
static char imgdir[64], fsdir[64];

/*
 * ext4 may keep a block or two of its own bookkeeping (an extent index block, once a file has
 * needed one) after a file is truncated back; the space a failed reservation takes is megabytes.
 */
#define SLACK_BLOCKS 2

/* ---- an ext4 file system on a loop device ------------------------------------------------ */

/* Run mkfs.ext4 on IMG; its exit status, or 127 when it cannot be run. */
static int run_mkfs(const char *img)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		setenv("PATH", "/usr/sbin:/sbin:/usr/bin:/bin", 1);
		/* -m 0: no blocks kept for root, so that free and available space are one. */
		execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-m", "0", img, (char *)NULL);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}

/* Attach IMGFD to a free loop device that goes away with its last user; its path in DEV. */
static int attach_loop(int imgfd, char *dev, size_t size)
{
	struct loop_config cfg = {.fd = (unsigned)imgfd, .info.lo_flags = LO_FLAGS_AUTOCLEAR};
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int err = errno;

	if (ctl < 0)
		return -err;
	/* Another process may take the device found free before this one does: try again. */
	for (int tries = 0; tries < 16; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			break;
		snprintf(dev, size, "/dev/loop%d", n);
		int fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			break;
		int r = ioctl(fd, LOOP_CONFIGURE, &cfg);
		err = errno;
		if (r == 0) {
			close(ctl);
			return fd;
		}
		close(fd);
		if (err != EBUSY)
			break;
	}
	err = errno;
	close(ctl);
	return -err;
}

/*
 * Mount a fresh ext4 file system of SIZE_MB MiB on FSDIR. The image is unlinked as soon as the
 * loop device holds it, and the device is released when the file system is unmounted, so that
 * nothing outlives the test. Skips the test (returns false) where that cannot be done.
 */
static bool ext4_mount(int size_mb)
{
	char img[96], dev[32];

	snprintf(img, sizeof(img), "%s/fs.img", imgdir);
	int imgfd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(imgfd >= 0);
	assert_int_equal(ftruncate(imgfd, (off_t)size_mb * (off_t)MiB), 0);
	int st = run_mkfs(img);
	int loop = st == 0 ? attach_loop(imgfd, dev, sizeof(dev)) : -1;
	unlink(img);
	close(imgfd);
	if (st != 0) {
		printf("SKIP: mkfs.ext4 %s (install e2fsprogs)\n",
		       st == 127 ? "cannot be run" : "failed");
		return false;
	}
	if (loop < 0) {
		printf("SKIP: no loop device: %s\n", strerror(-loop));
		return false;
	}
	int r = mount(dev, fsdir, "ext4", MS_NOSUID | MS_NODEV, NULL);
	int err = errno;
	close(loop);
	if (r < 0) {
		printf("SKIP: cannot mount ext4 from %s: %s\n", dev, strerror(err));
		return false;
	}
	return true;
}

static int setup(void **state)
{
	(void)state;
	return ext4_mount(8) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	umount2(fsdir, MNT_DETACH);
	return 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static uint64_t fs_free(void)
{
	struct statvfs vfs;
	if (statvfs(fsdir, &vfs) < 0)
		fail_msg("statvfs %s: %s", fsdir, strerror(errno));
	return (uint64_t)vfs.f_bfree * vfs.f_frsize;
}

static uint64_t fs_block(void)
{
	struct statvfs vfs;
	if (statvfs(fsdir, &vfs) < 0)
		fail_msg("statvfs %s: %s", fsdir, strerror(errno));
	return vfs.f_frsize;
}

/* The file system's free space is BEFORE again, but for SLACK blocks of bookkeeping. */
static void check_free(uint64_t before, unsigned slack, const char *what)
{
	uint64_t now = fs_free();
	printf("%s: %llu bytes free before, %llu after\n", what, (unsigned long long)before,
	       (unsigned long long)now);
	if (now > before || now + slack * fs_block() < before)
		fail_msg("%s: %llu bytes free before, %llu after", what, (unsigned long long)before,
		         (unsigned long long)now);
}

static const char *file_addr(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "file:%s/%s", fsdir, name);
	return buf;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* A new object too big for the file system: nothing is left, and all the space is free. */
static void test_create_too_big(void **state)
{
	(void)state;
	char addr[128];
	struct pshm_seg *seg;

	uint64_t before = fs_free();
	int fd = lowest_free_fd();
	tu_err(pshm_create(&seg, file_addr(addr, sizeof(addr), "big"), 10 * MiB, 0, 0), -ENOSPC);
	assert_int_equal(lowest_free_fd(), fd);
	tu_err(pshm_stat_addr(addr, &(struct pshm_stat){0}), -ENOENT);
	check_free(before, 0, "create file:");

	/* The same for a POSIX object whose shm directory is on the disk. */
	tu_use_dir(fsdir);
	tu_err(pshm_create(&seg, "/big", 10 * MiB, 0, 0), -ENOSPC);
	tu_use_dir(NULL);
	assert_int_equal(tu_count_entries(fsdir), 1); /* lost+found */
	check_free(before, 0, "create /name");
}

/* Growth of a reserved object by resize: the size and the space are as they were. */
static void test_resize(void **state)
{
	(void)state;
	char addr[128];
	struct pshm_seg *seg;

	tu_ok(pshm_create(&seg, file_addr(addr, sizeof(addr), "b"), MiB, 0, 0));
	struct pshm_stat was = seg_stat(seg);
	uint64_t before = fs_free();
	for (int i = 0; i < 3; i++) {
		tu_err(pshm_resize(seg, 10 * MiB, 0), -ENOSPC);
		struct pshm_stat st = seg_stat(seg);
		printf("resize: size %llu, %llu bytes allocated\n", (unsigned long long)st.size,
		       (unsigned long long)st.allocated);
		assert_int_equal(st.size, MiB);
		assert_true(st.allocated >= was.allocated);
		assert_true(st.allocated <= was.allocated + SLACK_BLOCKS * fs_block());
		check_free(before, SLACK_BLOCKS, "resize");
	}
	/* What fits still grows the object, all of it reserved. */
	uint64_t fits = (fs_free() - 64 * KiB) & ~(MiB - 1);
	tu_ok(pshm_resize(seg, MiB + fits, 0));
	assert_int_equal(seg_stat(seg).size, MiB + fits);
	assert_true(seg_stat(seg).allocated >= MiB + fits);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/*
 * Opening and growing an existing object (PSHM_OPEN_OR_CREATE): its size, its reservation and
 * its holes stay as they were. A sparse object's holes are not filled by a growth, whether it
 * fails or not: growth reserves what it adds.
 */
static void test_open_or_create(void **state)
{
	(void)state;
	char addr[128];
	struct pshm_seg *seg, *other;
	const char *names[] = {"reserved", "sparse"};

	for (int sparse = 0; sparse < 2; sparse++) {
		file_addr(addr, sizeof(addr), names[sparse]);
		tu_ok(pshm_create(&seg, addr, MiB, 0, sparse ? PSHM_SPARSE : 0));
		struct pshm_stat was = seg_stat(seg);
		uint64_t before = fs_free();
		tu_err(pshm_create(&other, addr, 10 * MiB, 0, PSHM_OPEN_OR_CREATE), -ENOSPC);
		struct pshm_stat st = seg_stat(seg);
		assert_int_equal(st.size, MiB);
		assert_true(st.allocated >= was.allocated);
		assert_true(st.allocated <= was.allocated + SLACK_BLOCKS * fs_block());
		check_free(before, SLACK_BLOCKS, "open or create");

		/* A growth that fits reserves what it adds and leaves the holes alone. */
		tu_ok(pshm_create(&other, addr, 2 * MiB, 0, PSHM_OPEN_OR_CREATE));
		st = seg_stat(other);
		assert_int_equal(st.size, 2 * MiB);
		assert_true(st.allocated >= was.allocated + MiB);
		assert_true(st.allocated <= was.allocated + MiB + SLACK_BLOCKS * fs_block());
		tu_ok(pshm_close(other));
		tu_ok(pshm_destroy(seg));
		tu_ok(pshm_close(seg));
	}
}

/*
 * An object whose end is not on a block boundary: the block that holds its end is partly
 * inside the old size, and a failed growth must not leave it allocated where it was a hole,
 * nor take it away where it was reserved. Checked exactly: with no extent left past the end,
 * ext4 keeps no bookkeeping either.
 */
static void test_unaligned_end(void **state)
{
	(void)state;
	char addr[128];
	struct pshm_seg *seg;

	for (int sparse = 0; sparse < 2; sparse++) {
		uint64_t before = fs_free();
		file_addr(addr, sizeof(addr), sparse ? "tail-sparse" : "tail");
		tu_ok(pshm_create(&seg, addr, 1000, 0, sparse ? PSHM_SPARSE : 0));
		struct pshm_stat was = seg_stat(seg);
		assert_int_equal(was.allocated, sparse ? 0 : fs_block());
		uint64_t with = fs_free();
		tu_err(pshm_resize(seg, 10 * MiB, 0), -ENOSPC);
		struct pshm_stat st = seg_stat(seg);
		assert_int_equal(st.size, 1000);
		assert_int_equal(st.allocated, was.allocated);
		check_free(with, 0, sparse ? "unaligned sparse end" : "unaligned end");
		tu_ok(pshm_destroy(seg));
		tu_ok(pshm_close(seg));
		check_free(before, 0, "unaligned end, removed");
	}
}

/*
 * What pshm write does with a stream of unknown length: grow in steps through pshm_resize,
 * write into the descriptor, and when the space runs out give back what it added. And what it
 * does with a file of known length: one growth to the whole length first.
 */
static int write_stream(struct pshm_seg *seg, uint64_t total)
{
	static char chunk[256 * 1024];
	uint64_t size = seg_stat(seg).size, orig = size, off = 0;
	int r = 0;

	memset(chunk, 0x5a, sizeof(chunk));
	while (off < total && !r) {
		uint64_t end = off + sizeof(chunk);
		if (end > size) {
			uint64_t want = end < 2 * size ? 2 * size : end;
			r = pshm_resize(seg, want, 0);
			if (r == -ENOSPC && want > end)
				r = pshm_resize(seg, want = end, 0);
			if (!r)
				size = want;
		}
		if (!r && pwrite(pshm_fd(seg), chunk, sizeof(chunk), (off_t)off) != sizeof(chunk))
			r = -errno;
		off = end;
	}
	if (r && size > orig)
		pshm_resize(seg, orig, 0);
	return r;
}

static void test_write(void **state)
{
	(void)state;
	char addr[128];
	struct pshm_seg *seg;

	for (int known = 0; known < 2; known++) {
		uint64_t before = fs_free();
		tu_ok(pshm_create(&seg, file_addr(addr, sizeof(addr), "w"), 0, 0, 0));
		if (known)
			tu_err(pshm_resize(seg, 9 * MiB, 0), -ENOSPC);
		else
			tu_err(write_stream(seg, 9 * MiB), -ENOSPC);
		struct pshm_stat st = seg_stat(seg);
		assert_int_equal(st.size, 0);
		assert_int_equal(st.allocated, 0);
		check_free(before, 0, known ? "write, known length" : "write, stream");
		tu_ok(pshm_destroy(seg));
		tu_ok(pshm_close(seg));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_too_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resize, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_or_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unaligned_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write, setup, teardown),
	};

	if (geteuid() != 0)
		tu_skip_all("a loop device and a mount need root");
	if (unshare(CLONE_NEWNS) < 0)
		tu_skip_all("cannot make a mount namespace: %s", strerror(errno));
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		tu_skip_all("cannot make mounts private: %s", strerror(errno));
	snprintf(imgdir, sizeof(imgdir), "/tmp/pshm-img.XXXXXX");
	snprintf(fsdir, sizeof(fsdir), "/tmp/pshm-ext4.XXXXXX");
	if (!mkdtemp(imgdir))
		tu_skip_all("cannot make a directory: %s", strerror(errno));
	if (!mkdtemp(fsdir)) {
		rmdir(imgdir);
		tu_skip_all("cannot make a directory: %s", strerror(errno));
	}
	if (mount("tmpfs", imgdir, "tmpfs", 0, "size=16m,mode=0700") < 0) {
		rmdir(imgdir);
		rmdir(fsdir);
		tu_skip_all("cannot mount a tmpfs: %s", strerror(errno));
	}
	/* Whether this machine can do it at all, asked once, so that the program skips as one. */
	if (!ext4_mount(8)) {
		umount2(imgdir, MNT_DETACH);
		rmdir(imgdir);
		rmdir(fsdir);
		exit(TU_SKIP);
	}
	umount2(fsdir, MNT_DETACH);
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	umount2(imgdir, MNT_DETACH);
	rmdir(imgdir);
	rmdir(fsdir);
	return failed ? 1 : 0;
}
