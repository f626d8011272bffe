/*
 * test_posix.c - POSIX shared memory objects ("/name") through the segment API, in a private
 * shm directory: creation and its safe defaults, opening, mapping, resizing, ownership,
 * description, listing, removal, squatters under a name, and failures in the middle of a
 * creation (injected through pshm__fault_hook, or real signals).
 */
#include "segtest.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

#define KiB 1024ull
#define MiB (1024ull * 1024ull)

/* ---- helpers ---------------------------------------------------------------------------- */

/* The file behind POSIX object NAME ("/x") in the private shm directory. */
static const char *path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s%s", pshm_shm_dir(), name);
	return buf;
}

/* The permissions ("rw-s") of the mapping that starts at ADDR, from /proc/self/maps. */
static const char *map_perms(const void *addr, char perms[8])
{
	char line[512], start[32];
	size_t n;

	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	strcpy(perms, "none");
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return perms;
	while (fgets(line, sizeof(line), f)) {
		n = strlen(start);
		if (!strncmp(line, start, n)) {
			const char *p = strchr(line, ' ');
			if (p && sscanf(p + 1, "%7s", perms) == 1)
				break;
		}
	}
	fclose(f);
	return perms;
}

static bool ts_le(struct pshm_time a, struct pshm_time b)
{
	return a.sec < b.sec || (a.sec == b.sec && a.nsec <= b.nsec);
}

static struct pshm_time pt(struct timespec t)
{
	return (struct pshm_time){t.tv_sec, t.tv_nsec};
}

/* Undo what a test changes for the whole process, even when it fails half-way. */
static int teardown(void **state)
{
	(void)state;
	struct itimerval off = {{0, 0}, {0, 0}};

	pshm__fault_hook = NULL;
	umask(saved_umask);
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	return 0;
}

/* ---- create ------------------------------------------------------------------------------ */

static void test_create_exclusive(void **state)
{
	(void)state;
	char name[64], other[64];
	struct pshm_seg *a, *b;

	tu_name(name, sizeof(name), "excl");
	tu_ok(pshm_create(&a, name, 4096, 0, 0));
	assert_int_equal(pshm_created(a), 1);
	assert_int_equal(pshm_kind(a), PSHM_POSIX);
	assert_string_equal(pshm_address(a), name);
	assert_true(pshm_fd(a) >= 0);
	assert_true(fcntl(pshm_fd(a), F_GETFD) & FD_CLOEXEC);
	assert_int_equal(seg_stat(a).size, 4096);

	int fd = lowest_free_fd();
	tu_err(pshm_create(&b, name, 4096, 0, 0), -EEXIST);
	tu_err(pshm_create(&b, name, 8192, 0644, 0), -EEXIST);
	assert_int_equal(lowest_free_fd(), fd);

	/* Opening an existing object grows it, leaves its mode alone, and says it made nothing. */
	assert_int_equal(seg_check_open_grows(name).ino, seg_stat(a).ino);

	/* A smaller size never shrinks it. */
	tu_ok(pshm_create(&b, name, 1024, 0, PSHM_OPEN_OR_CREATE));
	assert_int_equal(pshm_created(b), 0);
	assert_int_equal(seg_stat(b).size, 8192);
	tu_ok(pshm_close(b));

	tu_name(other, sizeof(other), "excl");
	tu_ok(pshm_create(&b, other, 12288, 0640, PSHM_OPEN_OR_CREATE));
	assert_int_equal(pshm_created(b), 1);
	struct pshm_stat st = seg_stat(b);
	assert_int_equal(st.size, 12288);
	assert_int_equal(st.mode, 0640);
	tu_ok(pshm_destroy(b));
	tu_ok(pshm_close(b));

	tu_ok(pshm_destroy(a));
	tu_ok(pshm_close(a));
}

static void test_create_modes(void **state)
{
	(void)state;
	static const mode_t masks[] = {077, 0};
	static const struct {
		mode_t asked, got;
	} modes[] = {{0, 0600}, {0640, 0640}, {0604, 0604}, {0666, 0666}, {0400, 0400}};
	char name[64], path[PATH_MAX];
	struct pshm_seg *seg;

	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		umask(masks[m]);
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			tu_name(name, sizeof(name), "mode");
			tu_ok(pshm_create(&seg, name, 4096, modes[i].asked, 0));
			struct pshm_stat st = seg_stat(seg);
			if (st.mode != modes[i].got)
				fail_msg("umask %03o, mode %04o: got %04o, expected %04o", masks[m],
				         modes[i].asked, st.mode, modes[i].got);
			assert_int_equal(stat_path(path_of(path, sizeof(path), name)).st_mode &
			                     07777,
			                 modes[i].got);
			tu_ok(pshm_destroy(seg));
			tu_ok(pshm_close(seg));
		}
	}
	umask(saved_umask);
	tu_err(pshm_create(&seg, name, 4096, 010000, 0), -EINVAL);
}

static void test_create_reserved(void **state)
{
	(void)state;
	char name[64];

	seg_check_reserved(tu_name(name, sizeof(name), "resv"), MiB, 0);
	seg_check_reserved(tu_name(name, sizeof(name), "sparse"), MiB, PSHM_SPARSE);
}

/* ---- open and map ----------------------------------------------------------------------- */

static void test_open(void **state)
{
	(void)state;
	char name[64], perms[8];
	struct pshm_seg *seg, *rw, *ro;
	void *p;
	size_t len;

	tu_name(name, sizeof(name), "open");
	tu_err(pshm_open(&rw, name, 0), -ENOENT);
	tu_err(pshm_open(&rw, name, PSHM_RDONLY), -ENOENT);
	tu_ok(pshm_create(&seg, name, 8192, 0, 0));

	tu_ok(pshm_open(&rw, name, 0));
	assert_int_equal(pshm_created(rw), 0);
	assert_string_equal(pshm_address(rw), name);
	assert_int_equal(fcntl(pshm_fd(rw), F_GETFL) & O_ACCMODE, O_RDWR);
	tu_ok(pshm_map(rw, 0, &p, &len));
	assert_string_equal(map_perms(p, perms), "rw-s");
	tu_ok(pshm_unmap(rw));
	tu_ok(pshm_map(rw, PSHM_RDONLY, &p, &len));
	assert_string_equal(map_perms(p, perms), "r--s");
	tu_ok(pshm_close(rw));

	/* A read-only handle maps read-only whatever is asked, and may not change the size. */
	tu_ok(pshm_open(&ro, name, PSHM_RDONLY));
	assert_int_equal(fcntl(pshm_fd(ro), F_GETFL) & O_ACCMODE, O_RDONLY);
	tu_ok(pshm_map(ro, 0, &p, &len));
	assert_int_equal(len, 8192);
	assert_string_equal(map_perms(p, perms), "r--s");
	tu_err(pshm_resize(ro, 16384, 0), -EBADF);
	tu_err(pshm_resize(ro, 4096, 0), -EBADF);
	assert_int_equal(seg_stat(ro).size, 8192);
	tu_ok(pshm_close(ro));

	tu_err(pshm_open(&ro, name, PSHM_POPULATE), -EINVAL);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	tu_err(pshm_open(&rw, name, 0), -ENOENT);
}

static void test_map_shared(void **state)
{
	(void)state;
	char name[64];
	struct pshm_seg *a, *b;
	unsigned char *pa, *pb;
	size_t la, lb;

	tu_name(name, sizeof(name), "map");
	tu_ok(pshm_create(&a, name, 64 * KiB, 0, 0));
	tu_ok(pshm_open(&b, name, 0));
	tu_ok(pshm_map(a, 0, (void **)&pa, &la));
	assert_int_equal(la, 64 * KiB);
	/* Nothing is faulted in until touched... */
	assert_int_equal(smaps_kb(pa, "Rss:"), 0);
	tu_ok(pshm_map(b, PSHM_POPULATE, (void **)&pb, &lb));
	assert_int_equal(lb, 64 * KiB);
	/* ...unless PSHM_POPULATE asks for every page now. */
	assert_int_equal(smaps_kb(pb, "Rss:"), 64);
	assert_ptr_not_equal(pa, pb);

	for (size_t i = 0; i < la; i++)
		pa[i] = (unsigned char)(i * 7 + 3);
	for (size_t i = 0; i < lb; i++)
		if (pb[i] != (unsigned char)(i * 7 + 3))
			fail_msg("byte %zu differs through the second handle", i);
	pb[la - 1] = 0xa5;
	assert_int_equal(pa[la - 1], 0xa5);

	void *q;
	size_t lq;
	tu_err(pshm_map(a, 0, &q, &lq), -EBUSY);
	tu_err(pshm_map(a, 1u << 20, &q, &lq), -EINVAL);
	tu_ok(pshm_sync(a));
	tu_ok(pshm_unmap(a));
	tu_ok(pshm_unmap(a)); /* nothing mapped: nothing to do */
	tu_ok(pshm_sync(a));

	/* The length is the size when mapping: a resize shows after unmapping and mapping again. */
	tu_ok(pshm_resize(a, 128 * KiB, 0));
	tu_ok(pshm_sync(b));
	tu_ok(pshm_unmap(b));
	tu_ok(pshm_map(b, 0, (void **)&pb, &lb));
	assert_int_equal(lb, 128 * KiB);
	assert_int_equal(pb[64 * KiB - 1], 0xa5);
	assert_int_equal(pb[128 * KiB - 1], 0);
	tu_ok(pshm_resize(a, 4 * KiB, 0));
	tu_ok(pshm_map(a, 0, (void **)&pa, &la));
	assert_int_equal(la, 4 * KiB);
	assert_int_equal(pa[1], 10);

	tu_ok(pshm_destroy(a));
	tu_ok(pshm_close(a)); /* unmaps as well */
	tu_ok(pshm_close(b));
	tu_ok(pshm_close(NULL));
}

static void test_map_empty(void **state)
{
	(void)state;
	char name[64];
	struct pshm_seg *seg;
	void *p;
	size_t len;

	tu_name(name, sizeof(name), "empty");
	tu_ok(pshm_create(&seg, name, 0, 0, 0));
	assert_int_equal(seg_stat(seg).size, 0);
	seg_check_map_empty(seg);
	tu_ok(pshm_unmap(seg));
	tu_ok(pshm_resize(seg, 4096, 0));
	tu_ok(pshm_map(seg, 0, &p, &len));
	assert_non_null(p);
	assert_int_equal(len, 4096);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/* ---- another process holds a lease ------------------------------------------------------- */

/*
 * Opening an object that another process holds a lease on waits, as open(2) does, until the
 * holder has seen the break and given the lease up: pshm_open read-write under a read lease,
 * pshm_create of an existing object under a read lease (which then grows it), and pshm_open
 * read-only under a write lease.
 */
static void test_lease(void **state)
{
	(void)state;
	static const struct {
		unsigned open_flags; /* pshm_open's, or PSHM_OPEN_OR_CREATE for pshm_create */
		int lease;
	} cases[] = {
	    {0, F_RDLCK},
	    {PSHM_OPEN_OR_CREATE, F_RDLCK},
	    {PSHM_RDONLY, F_WRLCK},
	};
	char name[64], path[PATH_MAX];
	struct pshm_seg *seg;
	struct tu_lease l;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tu_name(name, sizeof(name), "lease");
		tu_ok(pshm_create(&seg, name, 4096, 0, 0));
		ino_t ino = seg_stat(seg).ino;
		tu_ok(pshm_close(seg));
		int err = tu_lease_start(&l, path_of(path, sizeof(path), name), cases[i].lease);
		if (err) {
			tu_ok(pshm_destroy_addr(name));
			tu_skip_test("cannot take a lease on %s: %s", path, strerror(err));
		}
		int r = cases[i].open_flags == PSHM_OPEN_OR_CREATE
		            ? pshm_create(&seg, name, 8192, 0, PSHM_OPEN_OR_CREATE)
		            : pshm_open(&seg, name, cases[i].open_flags);
		bool broken = tu_lease_broken(&l, 0);
		tu_lease_end(&l);
		if (r)
			fail_msg("case %zu: open under a lease: %s", i, pshm_strerror(r));
		/* Said before the lease was given up, so before the open ended. */
		assert_true(broken);
		struct pshm_stat st = seg_stat(seg);
		assert_int_equal(st.ino, ino);
		assert_int_equal(st.size, cases[i].open_flags == PSHM_OPEN_OR_CREATE ? 8192 : 4096);
		assert_int_equal(pshm_created(seg), 0);
		tu_ok(pshm_destroy(seg));
		tu_ok(pshm_close(seg));
	}
}

/* ---- resize, chmod, chown, stat ------------------------------------------------------- */

static void test_resize(void **state)
{
	(void)state;
	char name[64];
	struct pshm_seg *seg;

	tu_name(name, sizeof(name), "resize");
	tu_ok(pshm_create(&seg, name, 64 * KiB, 0, 0));
	assert_true(seg_resize_to(seg, 256 * KiB, 0).allocated >= 256 * KiB);
	assert_int_equal(seg_resize_to(seg, 16 * KiB, 0).allocated, 16 * KiB);

	/* Sparse growth sets the size and reserves nothing. */
	assert_int_equal(seg_resize_to(seg, MiB, PSHM_SPARSE).allocated, 16 * KiB);

	/* Reserved growth of a sparse object fills what the sparse growth left out. */
	assert_true(seg_resize_to(seg, 2 * MiB, 0).allocated >= MiB);

	seg_resize_to(seg, 0, 0);
	tu_err(pshm_resize(seg, 4096, PSHM_RDONLY), -EINVAL);
	tu_err(pshm_resize(seg, (uint64_t)INT64_MAX + 1, 0), -EFBIG);
	assert_int_equal(seg_stat(seg).size, 0);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void test_chmod_chown(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX];
	struct pshm_seg *seg;

	if (geteuid() != 0)
		skip();
	tu_name(name, sizeof(name), "own");
	path_of(path, sizeof(path), name);
	tu_ok(pshm_create(&seg, name, 4096, 0, 0));

	umask(077);
	tu_ok(pshm_chmod(seg, 0664));
	assert_int_equal(seg_stat(seg).mode, 0664);
	assert_int_equal(stat_path(path).st_mode & 07777, 0664);
	tu_ok(pshm_chmod(seg, 0));
	assert_int_equal(seg_stat(seg).mode, 0);
	tu_err(pshm_chmod(seg, 010000), -EINVAL);
	assert_int_equal(seg_stat(seg).mode, 0);
	tu_ok(pshm_chmod(seg, 0600));
	umask(saved_umask);

	tu_ok(pshm_chown(seg, 65534, 65534));
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.uid, 65534);
	assert_int_equal(st.gid, 65534);
	assert_int_equal(stat_path(path).st_uid, 65534);
	assert_int_equal(stat_path(path).st_gid, 65534);

	tu_ok(pshm_chown(seg, (uid_t)-1, 0));
	st = seg_stat(seg);
	assert_int_equal(st.uid, 65534);
	assert_int_equal(st.gid, 0);

	tu_ok(pshm_chown(seg, 0, (gid_t)-1));
	st = seg_stat(seg);
	assert_int_equal(st.uid, 0);
	assert_int_equal(st.gid, 0);

	tu_ok(pshm_chown(seg, 65534, (gid_t)-1));
	tu_ok(pshm_chown(seg, (uid_t)-1, (gid_t)-1));
	st = seg_stat(seg);
	assert_int_equal(st.uid, 65534);
	assert_int_equal(st.gid, 0);
	tu_ok(pshm_chown(seg, 0, 0));
	assert_int_equal(seg_stat(seg).uid, 0);

	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void check_stat_matches(const struct pshm_stat *st, const struct stat *sb)
{
	assert_int_equal(st->size, (uint64_t)sb->st_size);
	assert_int_equal(st->allocated, (uint64_t)sb->st_blocks * 512);
	assert_int_equal(st->mode, sb->st_mode & 07777);
	assert_int_equal(st->uid, sb->st_uid);
	assert_int_equal(st->gid, sb->st_gid);
	assert_int_equal(st->ino, sb->st_ino);
	assert_int_equal(st->dev, sb->st_dev);
	assert_int_equal(st->nlink, sb->st_nlink);
	assert_true(ts_le(st->mtime, pt(sb->st_mtim)) && ts_le(pt(sb->st_mtim), st->mtime));
	assert_true(ts_le(st->ctime, pt(sb->st_ctim)) && ts_le(pt(sb->st_ctim), st->ctime));
}

static void test_stat(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX], addr[80];
	struct pshm_seg *seg;
	struct pshm_stat st, sa;
	struct timespec before, after;

	tu_name(name, sizeof(name), "stat");
	path_of(path, sizeof(path), name);
	/* File times come from the coarse clock, so compare against it. */
	clock_gettime(CLOCK_REALTIME_COARSE, &before);
	tu_ok(pshm_create(&seg, name, 12288, 0640, 0));
	clock_gettime(CLOCK_REALTIME, &after);

	st = seg_stat(seg);
	assert_int_equal(st.kind, PSHM_POSIX);
	assert_string_equal(st.address, name);
	assert_int_equal(st.size, 12288);
	assert_true(st.allocated >= 12288);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.uid, geteuid());
	assert_int_equal(st.gid, getegid());
	assert_int_equal(st.nlink, 1);
	assert_true(ts_le(pt(before), st.mtime) && ts_le(st.mtime, pt(after)));
	assert_true(ts_le(pt(before), st.ctime) && ts_le(st.ctime, pt(after)));
	assert_int_equal(st.key, 0);
	assert_int_equal(st.nattch, 0);
	struct stat sb = stat_path(path);
	check_stat_matches(&st, &sb);

	/* Describing by address needs no handle, and "posix:" is the same object. */
	tu_ok(pshm_stat_addr(name, &sa));
	assert_int_equal(sa.kind, PSHM_POSIX);
	assert_string_equal(sa.address, name);
	check_stat_matches(&sa, &sb);
	snprintf(addr, sizeof(addr), "posix:%s", name);
	tu_ok(pshm_stat_addr(addr, &sa));
	assert_string_equal(sa.address, name);
	assert_int_equal(sa.ino, st.ino);

	/* Destroyed: the name is gone, the handle still works and counts no links. */
	tu_ok(pshm_destroy(seg));
	assert_int_equal(seg_stat(seg).nlink, 0);
	assert_int_equal(seg_stat(seg).size, 12288);
	tu_err(pshm_stat_addr(name, &sa), -ENOENT);
	tu_err(pshm_open(&seg, name, 0), -ENOENT);
	tu_err(pshm_destroy_addr(name), -ENOENT);
	tu_err(pshm_destroy(seg), -ENOENT);
	tu_ok(pshm_close(seg));

	/* Removed by address, with nothing open. */
	tu_ok(pshm_create(&seg, name, 4096, 0, 0));
	tu_ok(pshm_close(seg));
	tu_ok(pshm_stat_addr(name, &sa));
	tu_ok(pshm_destroy_addr(addr));
	tu_err(pshm_stat_addr(name, &sa), -ENOENT);
	tu_err(pshm_destroy_addr(name), -ENOENT);
	tu_err(lstat(path, &sb) == 0 ? 0 : -errno, -ENOENT);
}

/* ---- listing ------------------------------------------------------------------------------ */

struct seen {
	int n;
	int stop_at;   /* return stop_with from this call (1-based); 0: never */
	int stop_with; /* what stops the walk: 42 if 0 */
	char addr[8][64];
	int kind[8];
	uint64_t size[8];
};

static int collect(const struct pshm_stat *st, void *arg)
{
	struct seen *s = arg;
	if (s->n < 8) {
		snprintf(s->addr[s->n], sizeof(s->addr[0]), "%.63s", st->address);
		s->kind[s->n] = st->kind;
		s->size[s->n] = st->size;
	}
	s->n++;
	return s->n == s->stop_at ? (s->stop_with ? s->stop_with : 42) : 0;
}

/* Index of ADDR in what was seen, or -1. */
static int seen_index(const struct seen *s, const char *addr)
{
	for (int i = 0; i < s->n && i < 8; i++)
		if (!strcmp(s->addr[i], addr))
			return i;
	return -1;
}

static void test_list(void **state)
{
	(void)state;
	char dir[PATH_MAX + 8], path[PATH_MAX + 16], saved[PATH_MAX];
	const char *names[] = {"/la", "/lb", "/lc"};
	struct pshm_seg *seg[3];
	struct seen s;

	/* A directory of its own, so that only what this test makes is there to list. */
	snprintf(saved, sizeof(saved), "%s", pshm_shm_dir());
	snprintf(dir, sizeof(dir), "%s/list", saved);
	assert_int_equal(mkdir(dir, 0700), 0);
	tu_use_dir(dir);

	int stop = -1;
	memset(&s, 0, sizeof(s));
	assert_int_equal(pshm_list(PSHM_LIST_POSIX | PSHM_LIST_SEM, collect, &s, &stop), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(stop, 0);

	for (int i = 0; i < 3; i++)
		tu_ok(pshm_create(&seg[i], names[i], 4096 * (uint64_t)(i + 1), 0, 0));
	snprintf(path, sizeof(path), "%s/sem.x", dir);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/subdir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("la", path), 0);

	memset(&s, 0, sizeof(s));
	stop = -1;
	assert_int_equal(pshm_list(PSHM_LIST_POSIX, collect, &s, &stop), 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(stop, 0);
	for (int i = 0; i < 3; i++) {
		int k = seen_index(&s, names[i]);
		if (k < 0)
			fail_msg("%s not listed", names[i]);
		assert_int_equal(s.kind[k], PSHM_POSIX);
		assert_int_equal(s.size[k], 4096 * (uint64_t)(i + 1));
	}

	memset(&s, 0, sizeof(s));
	assert_int_equal(pshm_list(PSHM_LIST_POSIX | PSHM_LIST_SEM, collect, &s, NULL), 4);
	int k = seen_index(&s, "sem:/x");
	assert_true(k >= 0);
	assert_int_equal(s.kind[k], PSHM_SEM);
	assert_int_equal(seen_index(&s, "/sem.x"), -1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(pshm_list(PSHM_LIST_SEM, collect, &s, NULL), 1);
	assert_string_equal(s.addr[0], "sem:/x");

	/* A nonzero return stops the walk and comes back in *stop; the result is still the
	 * count, the stopping entry included, whatever the callback returned: a positive value,
	 * a negative errno of its own, or one that is also a count. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(pshm_list(PSHM_LIST_POSIX, collect, &s, &stop), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(stop, 42);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	s.stop_with = -ENOENT;
	assert_int_equal(pshm_list(PSHM_LIST_POSIX | PSHM_LIST_SEM, collect, &s, &stop), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(stop, -ENOENT);
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	s.stop_with = 3;
	assert_int_equal(pshm_list(PSHM_LIST_POSIX, collect, &s, &stop), 3);
	assert_int_equal(stop, 3);
	/* Without a place for it the value is dropped, and the walk still stops. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(pshm_list(PSHM_LIST_POSIX, collect, &s, NULL), 1);

	/* Errors of the walk itself are the result, and leave *stop at 0. */
	stop = -1;
	assert_int_equal(pshm_list(PSHM_LIST_POSIX, NULL, NULL, &stop), -EINVAL);
	assert_int_equal(stop, 0);
	assert_int_equal(pshm_list(1u << 30, collect, &s, NULL), -EINVAL);

	tu_ok(pshm_destroy_addr("sem:/x"));
	for (int i = 0; i < 3; i++) {
		tu_ok(pshm_destroy(seg[i]));
		tu_ok(pshm_close(seg[i]));
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(pshm_list(PSHM_LIST_POSIX | PSHM_LIST_SEM, collect, &s, NULL), 0);
	tu_use_dir(saved);
	/* Only pshm's objects went; what is not one of them is still there. */
	assert_true(S_ISLNK(stat_path(path).st_mode));
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/subdir", dir);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- permissions -------------------------------------------------------------------------- */

/* Run as uid 65534; the exit status names the first check that failed. */
static int as_nobody(void *arg)
{
	struct access_case *c = arg;
	struct pshm_seg *seg;
	struct pshm_stat st;

	/* Checks 1 to 4: the secret object, which may only be described (4 also counts a mode
	 * other than 0600); 5 to 7: the shared one. */
	int r = seg_nobody_case(c, &st, &seg, 4096, "R");
	if (r)
		return r;
	if (st.mode != 0600)
		return 4;
	if (pshm_chmod(seg, 0666) != -EPERM || pshm_resize(seg, 8192, 0) != -EBADF)
		return 8;
	if (pshm_close(seg))
		return 9;
	/* The sticky shm directory keeps others from removing root's objects. */
	if (pshm_destroy_addr(c->shared) != -EPERM)
		return 10;
	return 0;
}

static void test_eacces(void **state)
{
	(void)state;
	struct access_case c;
	struct pshm_seg *secret, *shared;
	void *p;
	size_t len;

	if (geteuid() != 0)
		skip();
	tu_name(c.secret, sizeof(c.secret), "secret");
	tu_name(c.shared, sizeof(c.shared), "shared");
	tu_ok(pshm_create(&secret, c.secret, 4096, 0600, 0));
	tu_ok(pshm_create(&shared, c.shared, 4096, 0644, 0));
	tu_ok(pshm_map(shared, 0, &p, &len));
	((char *)p)[0] = 'R';

	seg_check_as_nobody(as_nobody, &c);

	tu_ok(pshm_stat_addr(c.shared, &(struct pshm_stat){0}));
	tu_ok(pshm_destroy(secret));
	tu_ok(pshm_destroy(shared));
	tu_ok(pshm_close(secret));
	tu_ok(pshm_close(shared));
}

/*
 * As an owner without root's privileges: an object of mode 0 can still be described, chmod-ed
 * and chown-ed through a PSHM_ATTRS handle, as chmod(1) would, and such a handle neither maps
 * nor resizes. Returns 0, or the number of the check that failed.
 */
/* Returns 0 when chmod of root's object NAME through a PSHM_ATTRS handle is refused. */
static int nobody_chmods(void *arg)
{
	struct pshm_seg *seg;
	if (pshm_open(&seg, arg, PSHM_ATTRS))
		return 1;
	int r = pshm_chmod(seg, 0666);
	pshm_close(seg);
	return r == -EPERM ? 0 : 2;
}

static int owner_attrs(void *arg)
{
	const char *name = arg;
	struct pshm_seg *seg;
	void *p;
	size_t len;

	if (pshm_create(&seg, name, 4096, 0600, 0) || pshm_chmod(seg, 0) || pshm_close(seg))
		return 1;
	if (pshm_open(&seg, name, PSHM_RDONLY) != -EACCES)
		return 2;
	if (pshm_open(&seg, name, PSHM_ATTRS))
		return 3;
	if (seg_stat(seg).mode != 0 || pshm_map(seg, 0, &p, &len) != -EBADF ||
	    pshm_resize(seg, 8192, 0) != -EBADF || pshm_sync(seg) != -EBADF)
		return 4;
	if (pshm_chmod(seg, 0640) || pshm_chown(seg, geteuid(), getegid()))
		return 5;
	struct pshm_stat st = seg_stat(seg);
	if (st.mode != 0640 || st.size != 4096 || pshm_close(seg))
		return 6;
	/* Now readable again, by an ordinary open. */
	if (pshm_open(&seg, name, PSHM_RDONLY) || pshm_close(seg))
		return 7;
	return pshm_destroy_addr(name) ? 8 : 0;
}

static void test_attrs_without_access(void **state)
{
	(void)state;
	char name[64];
	struct pshm_seg *seg;

	tu_name(name, sizeof(name), "attrs");
	/* Root passes every permission check, so the owner is uid 65534 when root runs this. */
	int status = geteuid() == 0 ? tu_as_nobody(owner_attrs, name) : owner_attrs(name);
	if (status != 0)
		fail_msg("check %d failed", status);
	/* PSHM_ATTRS gives no right over another user's object. */
	if (geteuid() == 0) {
		tu_ok(pshm_create(&seg, name, 4096, 0600, 0));
		tu_ok(pshm_close(seg));
		assert_int_equal(tu_as_nobody(nobody_chmods, name), 0);
		tu_ok(pshm_destroy_addr(name));
	}
	tu_err(pshm_open(&seg, name, PSHM_ATTRS | PSHM_POPULATE), -EINVAL);
}

/* ---- squatters ---------------------------------------------------------------------------- */

static void test_fifo_squatter(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX];
	struct pshm_seg *seg;

	tu_name(name, sizeof(name), "fifo");
	assert_int_equal(mkfifo(path_of(path, sizeof(path), name), 0666), 0);
	int fd = lowest_free_fd();
	/* Should an open ever block on the FIFO, the alarm ends the program: a failure. */
	signal(SIGALRM, SIG_DFL);
	alarm(60);
	seg_check_squatter(name, 4096, 0, EINVAL);
	alarm(0);
	assert_int_equal(lowest_free_fd(), fd);
	assert_true(S_ISFIFO(stat_path(path).st_mode));

	/* As with shm_unlink, removing the name clears the squatter away. */
	tu_ok(pshm_destroy_addr(name));
	tu_ok(pshm_create(&seg, name, 4096, 0, 0));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static void test_symlink_squatter(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX], target[PATH_MAX], dangling[PATH_MAX + 8];
	struct pshm_seg *seg;

	tu_name(name, sizeof(name), "target");
	path_of(target, sizeof(target), name);
	int tfd = open(target, O_CREAT | O_EXCL | O_RDWR, 0644);
	assert_true(tfd >= 0);
	assert_int_equal(write(tfd, "keep", 4), 4);
	close(tfd);
	struct stat before = stat_path(target);

	tu_name(name, sizeof(name), "link");
	assert_int_equal(symlink(target, path_of(path, sizeof(path), name)), 0);
	seg_check_squatter(name, 8192, 0666, ELOOP);
	tu_err(pshm_create(&seg, name, 8192, 0666, PSHM_OPEN_OR_CREATE | PSHM_SPARSE), -ELOOP);

	struct stat after = stat_path(target);
	assert_int_equal(after.st_size, 4);
	assert_int_equal(after.st_mode, before.st_mode);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_true(ts_le(pt(after.st_mtim), pt(before.st_mtim)));
	assert_true(S_ISLNK(stat_path(path).st_mode));

	/* A dangling link must not bring its target into being. */
	snprintf(dangling, sizeof(dangling), "%s.absent", target);
	tu_ok(pshm_destroy_addr(name));
	assert_int_equal(symlink(dangling, path), 0);
	tu_err(pshm_create(&seg, name, 4096, 0, 0), -EEXIST);
	tu_err(pshm_create(&seg, name, 4096, 0, PSHM_OPEN_OR_CREATE), -ELOOP);
	assert_int_equal(access(dangling, F_OK), -1);

	tu_ok(pshm_destroy_addr(name));
	assert_int_equal(unlink(target), 0);
}

static void test_directory_squatter(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX];

	tu_name(name, sizeof(name), "dir");
	assert_int_equal(mkdir(path_of(path, sizeof(path), name), 0777), 0);
	int fd = lowest_free_fd();
	seg_check_squatter(name, 4096, 0, EINVAL);
	assert_int_equal(lowest_free_fd(), fd);
	assert_true(S_ISDIR(stat_path(path).st_mode));
	assert_int_equal(rmdir(path), 0);
}

/* ---- another process shrinks the object under a mapping -------------------------------- */

static sigjmp_buf sigbus_env;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(sigbus_env, 1);
}

static void test_shrunk_by_other(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX];
	struct pshm_seg *seg;
	struct sigaction sa = {.sa_handler = on_sigbus}, old;
	void *p;
	size_t len;

	tu_name(name, sizeof(name), "shrunk");
	path_of(path, sizeof(path), name);
	tu_ok(pshm_create(&seg, name, MiB, 0, 0));
	tu_ok(pshm_map(seg, 0, &p, &len));
	assert_int_equal(len, MiB);
	memset(p, 0x5a, 4096);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		_exit(fd < 0 || ftruncate(fd, 4096) < 0 ? 1 : 0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_env, 1)) {
		sigaction(SIGBUS, &old, NULL);
		fail_msg("SIGBUS on an object shrunk by another process");
	}
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, 4096);
	tu_ok(pshm_sync(seg));
	tu_ok(pshm_unmap(seg));
	/* Mapping again takes the size now, not the size at creation. */
	tu_ok(pshm_map(seg, 0, &p, &len));
	assert_int_equal(len, 4096);
	assert_int_equal(((unsigned char *)p)[4095], 0x5a);
	tu_ok(pshm_sync(seg));
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	sigaction(SIGBUS, &old, NULL);
}

/* ---- interrupted reservations ------------------------------------------------------------ */

static void test_eintr_hook(void **state)
{
	(void)state;
	char name[64];
	struct pshm_seg *seg;

	/* The first three reservations are "interrupted"; the fourth goes to the kernel. */
	tu_name(name, sizeof(name), "eintr");
	fault_set(PSHM__FALLOCATE, -3, EINTR);
	tu_ok(pshm_create(&seg, name, 2 * MiB, 0, 0));
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 4);
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, 2 * MiB);
	assert_int_equal(st.allocated, 2 * MiB);

	/* Growth retries the same way. */
	fault_set(PSHM__FALLOCATE, -3, EINTR);
	tu_ok(pshm_resize(seg, 4 * MiB, 0));
	pshm__fault_hook = NULL;
	assert_int_equal(fault_seen, 4);
	st = seg_stat(seg);
	assert_int_equal(st.size, 4 * MiB);
	assert_int_equal(st.allocated, 4 * MiB);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void test_eintr_storm(void **state)
{
	(void)state;
	char name[64];
	struct pshm_seg *seg;
	struct sigaction sa = {.sa_handler = on_alarm}, old; /* no SA_RESTART */
	struct itimerval storm = {{0, 100}, {0, 100}}, off = {{0, 0}, {0, 0}};

	/*
	 * Some kernels give up a tmpfs fallocate as soon as any signal is pending, so that without
	 * signals blocked a timer this fast would never let a large reservation finish; others
	 * stop only for a fatal signal. Either way the creation must succeed, fully reserved.
	 */
	/* 256 MiB takes long enough for thousands of signals; with less room, half the free
	 * space still takes hundreds. */
	size_t size = 256 * MiB;
	unsigned long long avail = tu_fs_free(pshm_shm_dir());
	if (avail / 2 < size)
		size = (size_t)(avail / 2) & ~(size_t)(MiB - 1);
	if (size < 16 * MiB)
		tu_skip_test("needs 32 MiB free in %s, which has %llu KiB", pshm_shm_dir(),
		             avail / 1024);
	tu_name(name, sizeof(name), "storm");
	alarms = 0;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &storm, NULL), 0);
	int r = pshm_create(&seg, name, size, 0, 0);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	tu_ok(r);
	assert_true(alarms > 0);
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, size);
	assert_int_equal(st.allocated, size);
	tu_ok(pshm_close(seg));
	tu_ok(pshm_destroy_addr(name));
	tu_err(pshm_stat_addr(name, &st), -ENOENT);
}

/* ---- injected failures during creation ------------------------------------------------ */

/*
 * Make CALL fail with ERR during an exclusive creation: every time, and then the first, the
 * second... time, until a creation no longer reaches the failing call. Each failure must come
 * back as -ERR with no object and no descriptor left behind.
 */
static void sweep_create(enum pshm__call call, int err, unsigned flags)
{
	char name[64];
	struct pshm_seg *seg;
	int injected = 0;

	for (int nth = 0; nth < 16; nth++) {
		int entries = tu_count_entries(pshm_shm_dir());
		int fd = lowest_free_fd();
		tu_name(name, sizeof(name), "fault");
		fault_set(call, nth, err);
		int r = pshm_create(&seg, name, MiB, 0640, flags);
		int seen = fault_seen;
		pshm__fault_hook = NULL;
		if (r == 0 && nth > 0 && seen < nth) {
			/* The sweep is past the last such call: a normal creation. */
			assert_int_equal(seg_stat(seg).mode, 0640);
			tu_ok(pshm_destroy(seg));
			tu_ok(pshm_close(seg));
			assert_true(injected > 0);
			return;
		}
		if (r != -err)
			fail_msg("call %d failing (time %d of %d) with %s: create gave %d (%s)",
			         (int)call, nth, seen, strerror(err), r, pshm_strerror(r));
		injected++;
		if (tu_count_entries(pshm_shm_dir()) != entries)
			fail_msg("call %d failing (time %d): %s left behind", (int)call, nth, name);
		if (lowest_free_fd() != fd)
			fail_msg("call %d failing (time %d): descriptor %d left open", (int)call,
			         nth, fd);
		struct pshm_stat st;
		tu_err(pshm_stat_addr(name, &st), -ENOENT);
	}
	fail_msg("call %d: creation never got past the failure", (int)call);
}

static void test_fault_create(void **state)
{
	(void)state;
	sweep_create(PSHM__FCHMOD, EPERM, 0);
	sweep_create(PSHM__FALLOCATE, ENOSPC, 0);
	/* A creation makes no fstat (O_EXCL can only make a regular file, and a new name is
	 * made with O_EXCL even when opening an existing one is allowed); opening an existing
	 * object does, and its failure is tested in test_fault_open_or_create. */
	sweep_create(PSHM__FTRUNCATE, EFBIG, PSHM_SPARSE);
	sweep_create(PSHM__FCHMOD, EPERM, PSHM_OPEN_OR_CREATE);
	sweep_create(PSHM__FALLOCATE, ENOSPC, PSHM_OPEN_OR_CREATE);
}

/* A failure while opening and growing someone's existing object must leave it as it was. */
static void test_fault_open_or_create(void **state)
{
	(void)state;
	static const enum pshm__call calls[] = {PSHM__FSTAT, PSHM__FALLOCATE};
	char name[64];
	struct pshm_seg *seg, *other;

	tu_name(name, sizeof(name), "existing");
	tu_ok(pshm_create(&seg, name, 4096, 0644, 0));
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int fd = lowest_free_fd();
		fault_set(calls[i], 0, ENOSPC);
		int r = pshm_create(&other, name, MiB, 0, PSHM_OPEN_OR_CREATE);
		pshm__fault_hook = NULL;
		if (r != -ENOSPC)
			fail_msg("call %d failing: create gave %d", (int)calls[i], r);
		if (lowest_free_fd() != fd)
			fail_msg("call %d failing: descriptor %d left open", (int)calls[i], fd);
		struct pshm_stat st;
		tu_ok(pshm_stat_addr(name, &st));
		assert_int_equal(st.size, 4096);
		assert_int_equal(st.mode, 0644);
		assert_int_equal(st.ino, seg_stat(seg).ino);
	}
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/* ---- adopting a descriptor ---------------------------------------------------------------- */

static void test_from_fd(void **state)
{
	(void)state;
	char name[64], path[PATH_MAX];
	struct pshm_seg *seg, *adopted;
	void *p;
	size_t len;

	tu_name(name, sizeof(name), "fromfd");
	path_of(path, sizeof(path), name);
	tu_ok(pshm_create(&seg, name, 8192, 0, 0));
	tu_ok(pshm_close(seg));

	int fd = pshm_shm_open(name, O_RDWR, 0);
	assert_true(fd >= 0);
	tu_ok(pshm_from_fd(&adopted, fd, 0));
	assert_int_equal(pshm_kind(adopted), PSHM_POSIX);
	assert_string_equal(pshm_address(adopted), name);
	assert_int_equal(pshm_fd(adopted), fd);
	struct pshm_stat st = seg_stat(adopted);
	assert_int_equal(st.kind, PSHM_POSIX);
	assert_string_equal(st.address, name);
	assert_int_equal(st.size, 8192);
	tu_ok(pshm_map(adopted, 0, &p, &len));
	assert_int_equal(len, 8192);
	tu_ok(pshm_destroy_addr(name));
	tu_err(pshm_destroy(adopted), -ENOENT);
	tu_ok(pshm_close(adopted));
	assert_int_equal(fcntl(fd, F_GETFD), -1);

	/* A plain open(2) in the directory, read-only: a read-only handle of the same kind. */
	tu_ok(pshm_create(&seg, name, 4096, 0, 0));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	tu_ok(pshm_from_fd(&adopted, fd, 0));
	assert_int_equal(pshm_kind(adopted), PSHM_POSIX);
	assert_string_equal(pshm_address(adopted), name);
	tu_err(pshm_resize(adopted, 8192, 0), -EBADF);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	tu_err(pshm_destroy(adopted), -ENOENT);
	tu_ok(pshm_close(adopted));

	/* A descriptor whose name is already gone has nothing to remove. */
	tu_ok(pshm_create(&seg, name, 4096, 0, 0));
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
	tu_ok(pshm_from_fd(&adopted, fd, 0));
	assert_int_equal(pshm_kind(adopted), PSHM_POSIX);
	assert_string_equal(pshm_address(adopted), name);
	tu_err(pshm_destroy(adopted), -ENOENT);
	tu_ok(pshm_close(adopted));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_create_exclusive, teardown),
	    cmocka_unit_test_teardown(test_create_modes, teardown),
	    cmocka_unit_test_teardown(test_create_reserved, teardown),
	    cmocka_unit_test_teardown(test_open, teardown),
	    cmocka_unit_test_teardown(test_map_shared, teardown),
	    cmocka_unit_test_teardown(test_map_empty, teardown),
	    cmocka_unit_test_teardown(test_lease, teardown),
	    cmocka_unit_test_teardown(test_resize, teardown),
	    cmocka_unit_test_teardown(test_chmod_chown, teardown),
	    cmocka_unit_test_teardown(test_stat, teardown),
	    cmocka_unit_test_teardown(test_list, teardown),
	    cmocka_unit_test_teardown(test_eacces, teardown),
	    cmocka_unit_test_teardown(test_attrs_without_access, teardown),
	    cmocka_unit_test_teardown(test_fifo_squatter, teardown),
	    cmocka_unit_test_teardown(test_symlink_squatter, teardown),
	    cmocka_unit_test_teardown(test_directory_squatter, teardown),
	    cmocka_unit_test_teardown(test_shrunk_by_other, teardown),
	    cmocka_unit_test_teardown(test_eintr_hook, teardown),
	    cmocka_unit_test_teardown(test_eintr_storm, teardown),
	    cmocka_unit_test_teardown(test_fault_create, teardown),
	    cmocka_unit_test_teardown(test_fault_open_or_create, teardown),
	    cmocka_unit_test_teardown(test_from_fd, teardown),
	};

	tu_dir_setup();
	seg_save_umask();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	return seg_exit_status(failed, tu_dir);
}
