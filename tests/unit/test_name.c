/*
 * test_name.c - the POSIX drop-ins pshm_shm_open() and pshm_shm_unlink(): name rules checked
 * against glibc's shm_open on the same input, open flags, things squatting under a name in the
 * shm directory, permissions, thread cancellation, PSHM_DIR, objects shared with glibc and with
 * Python's multiprocessing.shared_memory, and pshm_strerror().
 *
 * Tests that compare with glibc or Python run in /dev/shm, where those always look, with names
 * unique to this process; the others run in a private shm directory.
 */
#include "testutil.h"

#include "internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

static const char *private_dir;

/* Fail unless CALL returned -1 with errno ERR; a descriptor it returned by mistake is closed. */
#define expect_errno(call, err)                                                                    \
	do {                                                                                       \
		errno = 0;                                                                         \
		int r_ = (call);                                                                   \
		int e_ = errno;                                                                    \
		if (r_ > 0)                                                                        \
			close(r_);                                                                 \
		if (r_ != -1 || e_ != (err))                                                       \
			fail_msg("%s = %d (errno %s), expected -1 (errno %s)", #call, r_,          \
			         strerrorname_np(e_), strerrorname_np(err));                       \
	} while (0)

/* Fail unless CALL returned a descriptor; evaluates to it. */
#define expect_fd(call)                                                                            \
	({                                                                                         \
		errno = 0;                                                                         \
		int fd_ = (call);                                                                  \
		if (fd_ < 0)                                                                       \
			fail_msg("%s = %d (errno %s)", #call, fd_, strerrorname_np(errno));        \
		fd_;                                                                               \
	})

/* Objects of the glibc and Python tests live in /dev/shm: hide PSHM_DIR from the library. */
static int use_dev_shm(void **state)
{
	(void)state;
	tu_use_dir(NULL);
	return 0;
}

static int use_private_dir(void **state)
{
	(void)state;
	tu_use_dir(private_dir);
	return 0;
}

/* The path of NAME in the shm directory in use. */
static const char *path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", pshm_shm_dir(), name + strspn(name, "/"));
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void assert_same_file(int fd1, int fd2)
{
	struct stat a, b;
	assert_int_equal(fstat(fd1, &a), 0);
	assert_int_equal(fstat(fd2, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

/* ---- names, compared with glibc ----------------------------------------------------------- */

struct name_case {
	const char *fmt; /* the name; one "%s" stands for a part unique to this run */
	size_t len;      /* when nonzero, the unique part is padded with 'x' to this length */
	int err;         /* errno of a create, 0 for success */
	int glibc;       /* how glibc's shm_open on the same name compares */
};

enum {
	GLIBC_UNSAFE, /* not asked: glibc opens the shm directory itself for "." */
	GLIBC_SAME,   /* the same result, errno included */
	/* Fails too, with an errno that depends on the version: glibc 2.36 says EINVAL for a name
	 * too long for its own buffer, where POSIX (and pshm) say ENAMETOOLONG. */
	GLIBC_FAILS,
};

static const struct name_case name_cases[] = {
    {"", 0, EINVAL, GLIBC_SAME},
    {"/", 0, EINVAL, GLIBC_SAME},
    {"//", 0, EINVAL, GLIBC_SAME},
    {"a/b", 0, EINVAL, GLIBC_SAME},
    {"/a/b", 0, EINVAL, GLIBC_SAME},
    {"/%s/", 0, EINVAL, GLIBC_SAME},
    {"/%s/x", 0, EINVAL, GLIBC_SAME},
    {"/%s", 0, 0, GLIBC_SAME},
    {"%s", 0, 0, GLIBC_SAME},
    {"///%s", 0, 0, GLIBC_SAME},
    {"/.%s", 0, 0, GLIBC_SAME},
    {"/..%s", 0, 0, GLIBC_SAME},
    {"/%s with space:colon", 0, 0, GLIBC_SAME},
    {"/%s", NAME_MAX, 0, GLIBC_SAME},
    {"////%s", NAME_MAX, 0, GLIBC_SAME},
    {"/%s", NAME_MAX + 1, ENAMETOOLONG, GLIBC_SAME},
    {"%s", NAME_MAX + 1, ENAMETOOLONG, GLIBC_SAME},
    {"/%s", 4000, ENAMETOOLONG, GLIBC_FAILS},
    {".", 0, EINVAL, GLIBC_UNSAFE},
    {"..", 0, EINVAL, GLIBC_UNSAFE},
    {"/.", 0, EINVAL, GLIBC_UNSAFE},
    {"//..", 0, EINVAL, GLIBC_UNSAFE},
};

/* Expand C into BUF (4200 bytes or more). */
static void make_name(char *buf, const struct name_case *c)
{
	static int n;
	char uniq[4096 + 64];
	size_t k = (size_t)snprintf(uniq, sizeof(uniq), "pshm-t%d-n%d-", (int)getpid(), n++);
	while (k < c->len && k < sizeof(uniq) - 1)
		uniq[k++] = 'x';
	uniq[k] = '\0';
	const char *hole = strstr(c->fmt, "%s");
	if (!hole) {
		strcpy(buf, c->fmt);
		return;
	}
	sprintf(buf, "%.*s%s%s", (int)(hole - c->fmt), c->fmt, uniq, hole + 2);
}

static void check_name_case(const struct name_case *c)
{
	char name[4200], path[4300];
	int fd, e;

	make_name(name, c);
	path_of(path, sizeof(path), name);
	print_message("name \"%.60s\" (%zu bytes)\n", name, strlen(name));

	errno = 0;
	fd = pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	e = fd < 0 ? errno : 0;
	if (e != c->err)
		fail_msg("pshm_shm_open: %s, expected %s", strerrorname_np(e),
		         strerrorname_np(c->err));
	if (fd >= 0) {
		/* The object lies where glibc looks for it, and glibc finds the same one. */
		assert_true(exists(path));
		if (c->glibc != GLIBC_UNSAFE) {
			int g = expect_fd(shm_open(name, O_RDWR, 0));
			assert_same_file(fd, g);
			close(g);
		}
		close(fd);
		assert_int_equal(pshm_shm_unlink(name), 0);
		assert_false(exists(path));
	}
	/* Without O_CREAT a good name is missing now; a bad one keeps its own error. */
	int missing = c->err ? c->err : ENOENT;
	expect_errno(pshm_shm_open(name, O_RDONLY, 0), missing);
	/* shm_unlink has no EINVAL in POSIX: a malformed name names no object (as in glibc). */
	expect_errno(pshm_shm_unlink(name), missing == EINVAL ? ENOENT : missing);
	if (c->glibc == GLIBC_UNSAFE)
		return;
	if (c->glibc == GLIBC_FAILS) {
		assert_int_equal(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), -1);
		assert_int_equal(shm_open(name, O_RDONLY, 0), -1);
		return;
	}

	errno = 0;
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	int g = fd < 0 ? errno : 0;
	if (g != c->err)
		fail_msg("glibc shm_open: %s, pshm_shm_open: %s", strerrorname_np(g),
		         strerrorname_np(c->err));
	if (fd >= 0) {
		int p = expect_fd(pshm_shm_open(name, O_RDONLY, 0));
		assert_same_file(fd, p);
		close(p);
		close(fd);
		assert_int_equal(shm_unlink(name), 0);
	}
	expect_errno(shm_open(name, O_RDONLY, 0), missing);
	expect_errno(shm_unlink(name), missing == EINVAL ? ENOENT : missing);
}

static void test_names_like_glibc(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		check_name_case(&name_cases[i]);
}

static void test_null_name(void **state)
{
	(void)state;
	expect_errno(pshm_shm_open(NULL, O_RDWR | O_CREAT, 0600), EINVAL);
	expect_errno(pshm_shm_unlink(NULL), EINVAL);
}

/* Leading slashes are dropped: "///x" and "x" are "/x". */
static void test_leading_slashes(void **state)
{
	char name[64], path[256], many[80], bare[80];
	(void)state;

	tu_name(name, sizeof(name), "slashes");
	snprintf(many, sizeof(many), "///%s", name);
	snprintf(bare, sizeof(bare), "%s", name + 1);
	int fd = expect_fd(pshm_shm_open(many, O_RDWR | O_CREAT | O_EXCL, 0600));
	assert_true(exists(path_of(path, sizeof(path), name)));
	int fd2 = expect_fd(pshm_shm_open(bare, O_RDONLY, 0));
	assert_same_file(fd, fd2);
	close(fd2);
	close(fd);
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	assert_int_equal(pshm_shm_unlink(bare), 0);
	assert_false(exists(path));
}

/* ---- flags --------------------------------------------------------------------------------- */

static void test_excl_and_missing(void **state)
{
	char name[64];
	(void)state;

	tu_name(name, sizeof(name), "excl");
	expect_errno(pshm_shm_open(name, O_RDONLY, 0), ENOENT);
	expect_errno(pshm_shm_open(name, O_RDWR, 0), ENOENT);
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	/* O_CREAT alone opens what is there. */
	fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT, 0600));
	close(fd);
	assert_int_equal(pshm_shm_unlink(name), 0);
	expect_errno(pshm_shm_unlink(name), ENOENT);
}

static void test_trunc(void **state)
{
	char name[64];
	struct stat st;
	(void)state;

	tu_name(name, sizeof(name), "trunc");
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	assert_int_equal(pwrite(fd, "data", 4, 8000), 4);
	close(fd);
	fd = expect_fd(pshm_shm_open(name, O_RDWR, 0));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 8004);
	close(fd);
	fd = expect_fd(pshm_shm_open(name, O_RDWR | O_TRUNC, 0));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	/* The old bytes are gone, not just hidden past the end. */
	char buf[4] = "xxxx";
	assert_int_equal(ftruncate(fd, 8004), 0);
	assert_int_equal(pread(fd, buf, 4, 8000), 4);
	assert_memory_equal(buf, "\0\0\0\0", 4);
	close(fd);
	assert_int_equal(pshm_shm_unlink(name), 0);
}

static void test_bad_flags(void **state)
{
	char name[64], path[256];
	(void)state;

	tu_name(name, sizeof(name), "accmode");
	path_of(path, sizeof(path), name);
	expect_errno(pshm_shm_open(name, O_ACCMODE | O_CREAT, 0600), EINVAL);
	assert_false(exists(path)); /* refused before anything was made */
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT | O_DIRECTORY, 0600), EINVAL);
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT | O_PATH, 0600), EINVAL);
	expect_errno(pshm_shm_open(name, O_RDWR | O_TMPFILE, 0600), EINVAL);
	assert_false(exists(path));
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	expect_errno(pshm_shm_open(name, O_ACCMODE, 0), EINVAL);
	assert_int_equal(pshm_shm_unlink(name), 0);
}

static void test_descriptor_flags(void **state)
{
	char name[64];
	(void)state;

	tu_name(name, sizeof(name), "fdflags");
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	int fl = fcntl(fd, F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_RDWR);
	/* The library opens with O_NONBLOCK against FIFOs; the caller must not inherit it. */
	assert_false(fl & O_NONBLOCK);
	close(fd);

	fd = expect_fd(pshm_shm_open(name, O_RDONLY, 0));
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	expect_errno((int)write(fd, "x", 1), EBADF);
	close(fd);

	/* Asked for, O_NONBLOCK stays. */
	fd = expect_fd(pshm_shm_open(name, O_RDWR | O_NONBLOCK, 0));
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	assert_int_equal(pshm_shm_unlink(name), 0);
}

static mode_t created_mode(mode_t umask_value, mode_t mode)
{
	char name[64];
	struct stat st;

	tu_name(name, sizeof(name), "umask");
	mode_t old = umask(umask_value);
	int fd = pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, mode);
	int e = errno;
	umask(old);
	if (fd < 0)
		fail_msg("pshm_shm_open: %s", strerror(e));
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_int_equal(pshm_shm_unlink(name), 0);
	return st.st_mode & 07777;
}

/* Unlike pshm_create, the drop-in applies the mode as open(2) does. */
static void test_umask(void **state)
{
	(void)state;
	assert_int_equal(created_mode(022, 0666), 0644);
	assert_int_equal(created_mode(027, 0666), 0640);
	assert_int_equal(created_mode(0, 0666), 0666);
	assert_int_equal(created_mode(077, 0644), 0600);
}

/* ---- failures after the open ------------------------------------------------------------- */

static enum pshm__call fail_call;
static int fail_errno;

static int fault_hook(enum pshm__call call)
{
	return call == fail_call ? fail_errno : 0;
}

static int clear_fault(void **state)
{
	(void)state;
	pshm__fault_hook = NULL;
	return 0;
}

/* A failing call reports its errno; an object that O_EXCL made is not left behind by it. */
static void test_injected_failures(void **state)
{
	char name[64], path[256];
	(void)state;

	tu_name(name, sizeof(name), "fault");
	path_of(path, sizeof(path), name);
	pshm__fault_hook = fault_hook;
	fail_call = PSHM__OPEN;
	fail_errno = EMFILE;
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EMFILE);
	assert_false(exists(path));

	fail_call = PSHM__FSTAT;
	fail_errno = EIO;
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EIO);
	assert_false(exists(path));

	/* Without O_EXCL the object may have been there before: it stays. */
	pshm__fault_hook = NULL;
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	pshm__fault_hook = fault_hook;
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT, 0600), EIO);
	assert_true(exists(path));

	fail_call = PSHM__UNLINK;
	fail_errno = EBUSY;
	expect_errno(pshm_shm_unlink(name), EBUSY);
	fail_errno = EPERM; /* the sticky-directory answer, which POSIX calls EACCES */
	expect_errno(pshm_shm_unlink(name), EACCES);
	assert_true(exists(path));
	pshm__fault_hook = NULL;
	assert_int_equal(pshm_shm_unlink(name), 0);
}

/* ---- squatters in the shm directory --------------------------------------------------------- */

/*
 * An open that blocks never returns, so the guard ends the program. exit() rather than _exit()
 * so that the private directory is still removed: the only thread is stuck in the kernel and
 * holds no lock of libc's.
 */
static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: pshm_shm_open blocked on a squatter\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1)) {
	}
	exit(1);
}

/* Every way of opening that does not ask for exclusive creation, then exclusive creation. */
static const int open_flags[] = {
    O_RDONLY,
    O_RDWR,
    O_WRONLY,
    O_RDONLY | O_CREAT,
    O_RDWR | O_CREAT,
    O_RDWR | O_TRUNC,
    O_RDONLY | O_NONBLOCK,
    O_RDWR | O_CREAT | O_EXCL,
};

#define NFLAGS (sizeof(open_flags) / sizeof(open_flags[0]))

/*
 * Each open of NAME fails with ERR (EEXIST for exclusive creation), and none of them blocks.
 * The results are checked only once the guard is off, so that a failed check cannot leave it
 * armed for the tests that follow.
 */
static void expect_refused(const char *name, int err)
{
	int fds[NFLAGS], errs[NFLAGS];

	signal(SIGALRM, on_alarm);
	alarm(60);
	for (size_t i = 0; i < NFLAGS; i++) {
		errno = 0;
		fds[i] = pshm_shm_open(name, open_flags[i], 0600);
		errs[i] = errno;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	for (size_t i = 0; i < NFLAGS; i++) {
		int want = open_flags[i] & O_EXCL ? EEXIST : err;
		if (fds[i] != -1 || errs[i] != want)
			fail_msg("pshm_shm_open(\"%s\", %#o) = %d (errno %s), expected errno %s",
			         name, (unsigned)open_flags[i], fds[i], strerrorname_np(errs[i]),
			         strerrorname_np(want));
	}
}

static void test_fifo(void **state)
{
	char name[64], path[256];
	struct stat st;
	(void)state;

	tu_name(name, sizeof(name), "fifo");
	assert_int_equal(mkfifo(path_of(path, sizeof(path), name), 0666), 0);
	expect_refused(name, EINVAL);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* As shm_unlink(3): whatever holds the name can be cleared. */
	assert_int_equal(pshm_shm_unlink(name), 0);
	assert_false(exists(path));
}

static void test_directory(void **state)
{
	char name[64], path[256];
	(void)state;

	tu_name(name, sizeof(name), "dir");
	assert_int_equal(mkdir(path_of(path, sizeof(path), name), 0777), 0);
	expect_refused(name, EINVAL);
	errno = 0;
	assert_int_equal(pshm_shm_unlink(name), -1);
	assert_true(exists(path));
	assert_int_equal(rmdir(path), 0);
}

static void test_socket(void **state)
{
	char name[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	(void)state;

	tu_name(name, sizeof(name), "sock");
	path_of(sa.sun_path, sizeof(sa.sun_path), name);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 1), 0);
	expect_refused(name, EINVAL);
	close(s);
	assert_int_equal(pshm_shm_unlink(name), 0);
	assert_false(exists(sa.sun_path));
}

static void test_symlink(void **state)
{
	char real[64], link[64], dangle[64], target[64];
	char realp[256], linkp[256], danglep[256], targetp[256];
	(void)state;

	tu_name(real, sizeof(real), "real");
	tu_name(link, sizeof(link), "link");
	tu_name(dangle, sizeof(dangle), "dangle");
	tu_name(target, sizeof(target), "target");
	path_of(realp, sizeof(realp), real);
	path_of(linkp, sizeof(linkp), link);
	path_of(danglep, sizeof(danglep), dangle);
	path_of(targetp, sizeof(targetp), target);

	int fd = expect_fd(pshm_shm_open(real, O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	assert_int_equal(symlink(realp, linkp), 0);
	expect_refused(link, ELOOP);

	/* A dangling link must not lead O_CREAT to make its target. */
	assert_int_equal(symlink(targetp, danglep), 0);
	expect_errno(pshm_shm_open(dangle, O_RDWR | O_CREAT, 0600), ELOOP);
	expect_errno(pshm_shm_open(dangle, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	assert_false(exists(targetp));

	/* Unlinking a link removes the link, never what it points to. */
	assert_int_equal(pshm_shm_unlink(link), 0);
	assert_false(exists(linkp));
	assert_true(exists(realp));
	assert_int_equal(pshm_shm_unlink(dangle), 0);
	assert_false(exists(danglep));
	assert_int_equal(pshm_shm_unlink(real), 0);
}

/* ---- permissions ---------------------------------------------------------------------------- */

/* Child bodies: exit 0 when the call failed with EACCES, else a code naming what happened. */
static int nobody_opens_rdwr(void *arg)
{
	int fd = pshm_shm_open(arg, O_RDWR, 0);
	return fd >= 0 ? 2 : errno == EACCES ? 0 : 3;
}

static int nobody_opens_rdonly(void *arg)
{
	int fd = pshm_shm_open(arg, O_RDONLY, 0);
	return fd >= 0 ? 2 : errno == EACCES ? 0 : 3;
}

static int nobody_unlinks(void *arg)
{
	int r = pshm_shm_unlink(arg);
	return r == 0 ? 2 : errno == EACCES ? 0 : 3;
}

/* The control: what nobody makes in the sticky directory, nobody may remove. */
static int nobody_makes_and_unlinks(void *arg)
{
	int fd = pshm_shm_open(arg, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 4;
	close(fd);
	return pshm_shm_unlink(arg) == 0 ? 0 : 5;
}

static int nobody_reads(void *arg)
{
	int fd = pshm_shm_open(arg, O_RDONLY, 0);
	if (fd < 0)
		return 4;
	close(fd);
	return 0;
}

static void test_eacces(void **state)
{
	char name[64], path[256], own[64];
	(void)state;

	if (geteuid() != 0)
		skip();
	tu_name(name, sizeof(name), "eacces");
	path_of(path, sizeof(path), name);
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(tu_as_nobody(nobody_opens_rdwr, name), 0);
	assert_int_equal(tu_as_nobody(nobody_opens_rdonly, name), 0);
	/* The private directory is sticky, so the kernel says EPERM; POSIX wants EACCES. */
	assert_int_equal(tu_as_nobody(nobody_unlinks, name), 0);
	assert_true(exists(path));
	/* With read permission for others, reading is allowed and writing still is not. */
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(tu_as_nobody(nobody_reads, name), 0);
	assert_int_equal(tu_as_nobody(nobody_opens_rdwr, name), 0);
	close(fd);
	assert_int_equal(pshm_shm_unlink(name), 0);

	tu_name(own, sizeof(own), "own");
	assert_int_equal(tu_as_nobody(nobody_makes_and_unlinks, own), 0);
}

/* ---- cancellation ---------------------------------------------------------------------------- */

struct cancel_run {
	pthread_barrier_t barrier;
	const char *name;
	const char *path;
	bool plain_open; /* the control: open(2), which is a cancellation point */
	int fd, open_err;
	int unlink_rc, unlink_err;
	long nlink_open, nlink_unlinked;
	bool after_testcancel;
};

static void cancel_cleanup(void *arg)
{
	struct cancel_run *r = arg;
	if (r->fd >= 0)
		close(r->fd);
}

static void *cancel_thread(void *arg)
{
	struct cancel_run *r = arg;
	struct stat st;

	pthread_cleanup_push(cancel_cleanup, r);
	/* The cancellation is already pending when the wait returns: it is not a cancellation
	 * point, so the calls below are the first chance to act on it. */
	pthread_barrier_wait(&r->barrier);
	if (r->plain_open)
		r->fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	else
		r->fd = pshm_shm_open(r->name, O_RDWR | O_CREAT | O_EXCL, 0600);
	r->open_err = errno;
	if (r->fd >= 0 && fstat(r->fd, &st) == 0)
		r->nlink_open = (long)st.st_nlink;
	r->unlink_rc = pshm_shm_unlink(r->name);
	r->unlink_err = errno;
	if (r->fd >= 0 && fstat(r->fd, &st) == 0)
		r->nlink_unlinked = (long)st.st_nlink;
	pthread_testcancel();
	r->after_testcancel = true;
	pthread_cleanup_pop(1);
	return NULL;
}

static void run_cancelled(struct cancel_run *r)
{
	pthread_t t;
	void *ret = NULL;

	r->fd = -2;
	r->unlink_rc = -2;
	r->nlink_open = r->nlink_unlinked = -1;
	r->after_testcancel = false;
	assert_int_equal(pthread_barrier_init(&r->barrier, NULL, 2), 0);
	assert_int_equal(pthread_create(&t, NULL, cancel_thread, r), 0);
	assert_int_equal(pthread_cancel(t), 0);
	pthread_barrier_wait(&r->barrier);
	assert_int_equal(pthread_join(t, &ret), 0);
	pthread_barrier_destroy(&r->barrier);
	assert_ptr_equal(ret, PTHREAD_CANCELED);
	assert_false(r->after_testcancel);
}

static void test_not_cancellation_point(void **state)
{
	char name[64], path[256];
	struct cancel_run r = {.name = name, .path = path};
	(void)state;

	tu_name(name, sizeof(name), "cancel");
	path_of(path, sizeof(path), name);

	/* The control shows that the harness does catch a cancellation point. */
	r.plain_open = true;
	run_cancelled(&r);
	assert_int_equal(r.fd, -2);
	assert_int_equal(r.unlink_rc, -2);
	unlink(path);

	r.plain_open = false;
	run_cancelled(&r);
	if (r.fd < 0)
		fail_msg("pshm_shm_open under a pending cancellation: %d (%s)", r.fd,
		         r.fd == -2 ? "never returned" : strerror(r.open_err));
	assert_int_equal(r.nlink_open, 1); /* it made the object */
	if (r.unlink_rc != 0)
		fail_msg("pshm_shm_unlink under a pending cancellation: %d (%s)", r.unlink_rc,
		         r.unlink_rc == -2 ? "never returned" : strerror(r.unlink_err));
	assert_int_equal(r.nlink_unlinked, 0); /* and removed it */
	assert_false(exists(path));
}

/* ---- leases ------------------------------------------------------------------------------- */

typedef int (*shm_open_fn)(const char *name, int oflag, mode_t mode);

/* Make NAME an object of 4096 bytes, holding "lease", with no descriptor left open to it. */
static void make_leasable(const char *name)
{
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	assert_int_equal(pwrite(fd, "lease", 5, 0), 5);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
}

/* Start a child holding a lease of TYPE on NAME's object; false (the test skips) if none. */
static bool lease_or_skip(struct tu_lease *l, const char *name, int type)
{
	char path[256];
	int err = tu_lease_start(l, path_of(path, sizeof(path), name), type);
	if (err)
		printf("SKIP: cannot take a lease on %s: %s\n", path, strerror(err));
	return err == 0;
}

/*
 * OPEN (glibc's shm_open or the drop-in) of NAME with FLAGS while another process holds a lease
 * of LEASE on it: as open(2), it waits for the holder to see the break and give the lease up,
 * and the descriptor is for the same object, without O_NONBLOCK, truncated if asked.
 */
static bool check_lease_wait(shm_open_fn open_fn, const char *who, const char *name, int flags,
                             int lease)
{
	char path[256];
	struct tu_lease l;
	struct stat st;

	make_leasable(name);
	ino_t ino = stat_path(path_of(path, sizeof(path), name)).st_ino;
	if (!lease_or_skip(&l, name, lease))
		return false;
	errno = 0;
	int fd = open_fn(name, flags, 0600);
	int e = errno;
	bool broken = tu_lease_broken(&l, 0);
	tu_lease_end(&l);
	if (fd < 0)
		fail_msg("%s(\"%s\", %#o) under a lease = -1 (errno %s)", who, name,
		         (unsigned)flags, strerrorname_np(e));
	/* The holder said 'B' before it gave the lease up, and the open ended only after. */
	if (!broken)
		fail_msg("%s(%#o) returned before the lease holder saw the break", who,
		         (unsigned)flags);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, flags & O_ACCMODE);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, ino);
	assert_int_equal(st.st_size, flags & O_TRUNC ? 0 : 4096);
	close(fd);
	assert_int_equal(pshm_shm_unlink(name), 0);
	return true;
}

/* Each way of opening that breaks a lease, and the lease it breaks. */
static const struct {
	int flags, lease;
} lease_cases[] = {
    {O_RDWR, F_RDLCK},
    {O_RDWR | O_CREAT, F_RDLCK},
    {O_RDWR | O_TRUNC, F_RDLCK},
    {O_RDONLY, F_WRLCK},
};

static void test_lease_wait(void **state)
{
	char name[64];
	(void)state;

	for (size_t i = 0; i < sizeof(lease_cases) / sizeof(lease_cases[0]); i++) {
		tu_name(name, sizeof(name), "lease");
		if (!check_lease_wait(pshm_shm_open, "pshm_shm_open", name, lease_cases[i].flags,
		                      lease_cases[i].lease))
			skip();
	}
}

/* The drop-in waits where glibc's shm_open waits, on the same objects in /dev/shm. */
static void test_lease_like_glibc(void **state)
{
	char name[64];
	(void)state;

	tu_name(name, sizeof(name), "lease-glibc");
	if (!check_lease_wait(shm_open, "shm_open", name, O_RDWR, F_RDLCK))
		skip();
	check_lease_wait(pshm_shm_open, "pshm_shm_open", name, O_RDWR, F_RDLCK);
	check_lease_wait(shm_open, "shm_open", name, O_RDWR | O_TRUNC, F_RDLCK);
	check_lease_wait(pshm_shm_open, "pshm_shm_open", name, O_RDWR | O_TRUNC, F_RDLCK);
}

/* Asked for O_NONBLOCK, both say EWOULDBLOCK at once, and the holder is told all the same. */
static void test_lease_nonblock(void **state)
{
	static const shm_open_fn fns[] = {shm_open, pshm_shm_open};
	char name[64];
	struct tu_lease l;
	(void)state;

	tu_use_dir(NULL); /* where glibc looks */
	for (size_t i = 0; i < 2; i++) {
		tu_name(name, sizeof(name), "lease-nb");
		make_leasable(name);
		if (!lease_or_skip(&l, name, F_RDLCK)) {
			pshm_shm_unlink(name);
			skip();
		}
		/* An exclusive creation fails before any lease is looked at. */
		expect_errno(fns[i](name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
		errno = 0;
		int fd = fns[i](name, O_RDWR | O_NONBLOCK, 0);
		int e = errno;
		bool broken = tu_lease_broken(&l, -1);
		tu_lease_end(&l);
		if (fd >= 0)
			close(fd);
		assert_int_equal(pshm_shm_unlink(name), 0);
		if (fd != -1 || e != EWOULDBLOCK)
			fail_msg("%s(O_RDWR|O_NONBLOCK) under a lease = %d (errno %s)",
			         i ? "pshm_shm_open" : "shm_open", fd, strerrorname_np(e));
		assert_true(broken);
	}
}

/* In a child: leave /proc behind, in a mount namespace of its own. False where not allowed. */
static bool drop_proc(void)
{
	return unshare(CLONE_NEWNS) == 0 &&
	       mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	       umount2("/proc", MNT_DETACH) == 0 && access("/proc/self/fd", F_OK) < 0;
}

/*
 * Without /proc the drop-in cannot reopen the file it found, and tries its open again until the
 * lease is gone: it still waits, and still never blocks on a FIFO. Runs in a child; exits 77
 * where /proc cannot be left behind.
 */
static int open_without_proc(const char *name)
{
	if (!drop_proc())
		return 77;
	int fd = pshm_shm_open(name, O_RDWR, 0);
	if (fd < 0) {
		fprintf(stderr, "pshm_shm_open without /proc: %s\n", strerror(errno));
		return 1;
	}
	return fcntl(fd, F_GETFL) & O_NONBLOCK ? 2 : 0;
}

static void test_lease_without_proc(void **state)
{
	char name[64];
	struct tu_lease l;
	int status;
	(void)state;

	if (geteuid() != 0)
		tu_skip_test("unmounting /proc in a mount namespace needs root");
	tu_name(name, sizeof(name), "lease-noproc");
	make_leasable(name);
	if (!lease_or_skip(&l, name, F_RDLCK)) {
		pshm_shm_unlink(name);
		skip();
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(open_without_proc(name));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	bool broken = tu_lease_broken(&l, 0);
	tu_lease_end(&l);

	assert_int_equal(pshm_shm_unlink(name), 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		tu_skip_test("cannot unmount /proc in a mount namespace of its own");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the open without /proc: status %#x", status);
	assert_true(broken);
}

/*
 * Before the library's second open (the O_PATH one, during the wait for a lease), SWAP_FROM is
 * renamed over SWAP_TO: the name holds a FIFO from then on.
 */
static const char *swap_from, *swap_to;
static int swap_opens;

static int swap_hook(enum pshm__call call)
{
	if (call == PSHM__OPEN && ++swap_opens == 2 && rename(swap_from, swap_to) < 0)
		return errno;
	return 0;
}

/*
 * A FIFO put under the name while the drop-in waits for a lease to break: it is refused with
 * EINVAL, and never opened blocking (O_RDONLY of a FIFO would wait for a writer).
 */
static void test_lease_then_fifo(void **state)
{
	char name[64], fifo[64], path[256], fpath[256];
	struct tu_lease l;
	(void)state;

	tu_name(name, sizeof(name), "lease-swap");
	tu_name(fifo, sizeof(fifo), "lease-fifo");
	make_leasable(name);
	assert_int_equal(mkfifo(path_of(fpath, sizeof(fpath), fifo), 0666), 0);
	if (!lease_or_skip(&l, name, F_WRLCK)) {
		pshm_shm_unlink(name);
		pshm_shm_unlink(fifo);
		skip();
	}
	swap_from = fpath;
	swap_to = path_of(path, sizeof(path), name);
	swap_opens = 0;
	pshm__fault_hook = swap_hook;
	signal(SIGALRM, on_alarm);
	alarm(60);
	errno = 0;
	int fd = pshm_shm_open(name, O_RDONLY, 0);
	int e = errno;
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	pshm__fault_hook = NULL;
	bool broken = tu_lease_broken(&l, -1);
	tu_lease_end(&l);
	if (fd >= 0)
		close(fd);
	struct stat st = stat_path(path);
	assert_int_equal(pshm_shm_unlink(name), 0);
	assert_true(S_ISFIFO(st.st_mode));
	if (fd != -1 || e != EINVAL)
		fail_msg("pshm_shm_open of a FIFO swapped in = %d (errno %s)", fd,
		         strerrorname_np(e));
	assert_true(swap_opens >= 2);
	assert_true(broken);
}

/* ---- PSHM_DIR ----------------------------------------------------------------------------- */

static void test_pshm_dir(void **state)
{
	char name[64], path[256], shm[256];
	(void)state;

	assert_string_equal(pshm_shm_dir(), private_dir);
	tu_name(name, sizeof(name), "dir");
	snprintf(path, sizeof(path), "%s%s", private_dir, name);
	snprintf(shm, sizeof(shm), "/dev/shm%s", name);
	int fd = expect_fd(pshm_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	assert_true(exists(path));
	assert_false(exists(shm));
	assert_int_equal(pshm_shm_unlink(name), 0);
	assert_false(exists(path));

	/* An empty or missing PSHM_DIR means /dev/shm. */
	tu_use_dir("");
	assert_string_equal(pshm_shm_dir(), "/dev/shm");
	tu_use_dir(NULL);
	assert_string_equal(pshm_shm_dir(), "/dev/shm");
}

/* The library reads PSHM_DIR once; a change to the environment counts after a re-read. */
static void test_dir_read_once(void **state)
{
	char name[64], path[PATH_MAX];
	struct pshm_seg *seg;
	(void)state;

	assert_string_equal(pshm_shm_dir(), private_dir);
	assert_int_equal(setenv("PSHM_DIR", "/pshm-test-nowhere", 1), 0);
	assert_string_equal(pshm_shm_dir(), private_dir);
	tu_name(name, sizeof(name), "once");
	tu_ok(pshm_create(&seg, name, 4096, 0600, 0));
	pshm_close(seg);
	assert_true(exists(path_of(path, sizeof(path), name)));
	assert_int_equal(strncmp(path, private_dir, strlen(private_dir)), 0);
	tu_ok(pshm_destroy_addr(name));

	/* Read again on request: the object now goes where the variable says. */
	tu_ok(pshm_set_shm_dir(NULL));
	assert_string_equal(pshm_shm_dir(), "/pshm-test-nowhere");
	tu_err(pshm_create(&seg, name, 4096, 0600, 0), -ENOENT);
	expect_errno(pshm_shm_open(name, O_RDWR | O_CREAT, 0600), ENOENT);
}

/*
 * After the first use no call reads the environment, so none can meet another thread's setenv
 * halfway: in a child, the environment is put where any read of it faults, and POSIX objects
 * are still made, opened, listed and removed.
 */
/* Run FN in a child, which must exit 0; WHAT says what its failure means. */
static void in_child(int (*fn)(void), const char *what)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: status %#x", what, status);
}

static int count_entry(const struct pshm_stat *st, void *arg)
{
	(void)st;
	(void)arg;
	return 0;
}

static int calls_without_environ(void)
{
	extern char **environ;
	struct pshm_seg *seg;
	char name[64];

	if (strcmp(pshm_shm_dir(), private_dir) != 0)
		return 10;
	void *poison = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (poison == MAP_FAILED)
		return 11;
	environ = poison;
	snprintf(name, sizeof(name), "/pshm-noenv-%d", (int)getpid());
	if (pshm_create(&seg, name, 4096, 0600, 0) || pshm_close(seg))
		return 12;
	if (pshm_open(&seg, name, 0) || pshm_close(seg))
		return 13;
	int fd = pshm_shm_open(name, O_RDONLY, 0);
	if (fd < 0 || close(fd) < 0)
		return 14;
	if (pshm_list(PSHM_LIST_POSIX, count_entry, NULL, NULL) < 1)
		return 15;
	if (pshm_destroy_addr(name) || pshm_shm_unlink(name) != -1)
		return 16;
	if (strcmp(pshm_shm_dir(), private_dir) != 0)
		return 17;
	return 0;
}

static void test_dir_no_environ(void **state)
{
	(void)state;
	in_child(calls_without_environ, "with the environment unreadable");
}

/* pshm_set_shm_dir() names a directory without the environment, as its manual's example. */
static void test_set_dir(void **state)
{
	char dir[] = "/dev/shm/pshm-setdir.XXXXXX", name[64], path[PATH_MAX];
	struct pshm_seg *seg;
	(void)state;

	assert_non_null(mkdtemp(dir));
	const char *before = pshm_shm_dir();
	tu_ok(pshm_set_shm_dir(dir));
	assert_string_equal(pshm_shm_dir(), dir);
	assert_string_equal(getenv("PSHM_DIR"), private_dir); /* the environment is left alone */
	/* The string given out before stays valid and unchanged. */
	assert_string_equal(before, private_dir);

	tu_name(name, sizeof(name), "set");
	tu_ok(pshm_create(&seg, name, 4096, 0600, 0));
	pshm_close(seg);
	snprintf(path, sizeof(path), "%s%s", dir, name);
	assert_true(exists(path));
	snprintf(path, sizeof(path), "%s%s", private_dir, name);
	assert_false(exists(path));
	int fd = expect_fd(pshm_shm_open(name, O_RDONLY, 0));
	close(fd);
	assert_int_equal(pshm_shm_unlink(name), 0);
	assert_int_equal(rmdir(dir), 0);

	/* Refused: the directory in use stays. */
	static char toolong[PATH_MAX + 1];
	memset(toolong, 'd', PATH_MAX);
	toolong[0] = '/';
	const char *bad[] = {"", "relative", "rel/dir", "/", "/dev/shm/", "//"};
	tu_ok(pshm_set_shm_dir("/dev/shm"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = pshm_set_shm_dir(bad[i]);
		if (r != -EINVAL)
			fail_msg("pshm_set_shm_dir(\"%s\") = %d, expected -EINVAL", bad[i], r);
		assert_string_equal(pshm_shm_dir(), "/dev/shm");
	}
	tu_err(pshm_set_shm_dir(toolong), -ENAMETOOLONG);
	toolong[PATH_MAX - 1] = '\0'; /* PATH_MAX - 1 bytes: taken, but no name fits after it */
	tu_ok(pshm_set_shm_dir(toolong));
	assert_string_equal(pshm_shm_dir(), toolong);
	tu_err(pshm_create(&seg, "/a", 4096, 0600, 0), -ENAMETOOLONG);
	expect_errno(pshm_shm_open("/a", O_RDONLY, 0), ENAMETOOLONG);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ADDRESS_SPACE_HUNGRY 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ADDRESS_SPACE_HUNGRY 1
#endif

#ifndef ADDRESS_SPACE_HUNGRY
/*
 * In a child with no memory left to allocate: a spare buffer takes one directory, and after
 * that pshm_set_shm_dir() fails with ENOMEM, the directory in use unchanged. Exit 0 when so.
 */
static int set_dir_without_memory(void)
{
	struct rlimit lim;
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%lu", &pages) != 1)
		return 10;
	fclose(f);
	lim.rlim_cur = lim.rlim_max = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (1 << 20);
	if (setrlimit(RLIMIT_AS, &lim) < 0)
		return 11;
	for (size_t size = 1 << 16; size >= 8; size /= 2) /* take whatever is left */
		while (malloc(size))
			;
	if (pshm_set_shm_dir("/pshm-test-spare") != 0 ||
	    strcmp(pshm_shm_dir(), "/pshm-test-spare") != 0)
		return 12;
	if (pshm_set_shm_dir("/pshm-test-none") != -ENOMEM)
		return 13;
	if (strcmp(pshm_shm_dir(), "/pshm-test-spare") != 0)
		return 14;
	return 0;
}
#endif

static void test_set_dir_no_memory(void **state)
{
	(void)state;
#ifdef ADDRESS_SPACE_HUNGRY
	tu_skip_test("a sanitizer's shadow memory needs more address space than a limit leaves");
#else
	in_child(set_dir_without_memory, "without memory");
#endif
}

/* What a new process reads: PSHM_DIR at first use, unless it runs in secure-execution mode. */
static char *first_dir(const char *exe, bool as_nobody, char *buf, size_t size)
{
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		if (as_nobody && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
			_exit(99);
		char *const argv[] = {(char *)exe, "--print-shm-dir", NULL};
		char *const envp[] = {"PSHM_DIR=/pshm-test-first", NULL};
		execve(exe, argv, envp);
		_exit(98);
	}
	close(pipefd[1]);
	ssize_t n = read(pipefd[0], buf, size - 1);
	close(pipefd[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s --print-shm-dir: status %#x", exe, status);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_dir_first_use(void **state)
{
	char self[PATH_MAX], out[PATH_MAX + 16];
	(void)state;

	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	assert_string_equal(first_dir(self, false, out, sizeof(out)), "/pshm-test-first\n0\n");

	/* A set-user-ID copy, owned by another user than the one running it, runs in
	 * secure-execution mode and ignores the variable. */
	if (geteuid() != 0)
		skip(); /* making a set-user-ID program for another user needs root */
	char dir[] = "/tmp/pshm-suid.XXXXXX", copy[PATH_MAX + 32], cmd[3 * PATH_MAX];
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(copy, sizeof(copy), "%s/test_name", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", self, copy);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(chown(copy, 65533, 65533), 0);
	assert_int_equal(chmod(copy, 04755), 0);
	first_dir(copy, true, out, sizeof(out));
	unlink(copy);
	rmdir(dir);
	if (strcmp(out + strcspn(out, "\n"), "\n1\n") != 0) {
		/* A nosuid mount: the copy ran without the set-user-ID bit. */
		print_message("SKIP: %s did not run set-user-ID (a nosuid mount?)\n", copy);
		skip();
	}
	assert_string_equal(out, "/dev/shm\n1\n");
}

/* ---- glibc interop ----------------------------------------------------------------------- */

#define ISIZE 12288

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)(i * seed + seed / 2);
}

static void fill(int fd, size_t len, unsigned seed)
{
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(i, seed);
	munmap(p, len);
}

static void check_bytes(const unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(i, seed))
			fail_msg("byte %zu is %u, expected %u", i, p[i], pattern(i, seed));
}

static void check_fd(int fd, size_t len, unsigned seed)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, len);
	unsigned char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	check_bytes(p, len, seed);
	munmap(p, len);
}

static void check_seg(const char *addr, size_t len, unsigned seed)
{
	struct pshm_seg *seg;
	void *p;
	size_t n;

	tu_ok(pshm_open(&seg, addr, PSHM_RDONLY));
	assert_int_equal(pshm_kind(seg), PSHM_POSIX);
	tu_ok(pshm_map(seg, 0, &p, &n));
	assert_int_equal(n, len);
	check_bytes(p, len, seed);
	tu_ok(pshm_close(seg));
}

/*
 * Create NAME with MAKE (shm_open or pshm_shm_open) and fill its ISIZE bytes from SEED, then
 * open it read-only with USE, the other one, and check them. A macro, so that a failed call is
 * named as written.
 */
#define hand_over(name, make, use, seed)                                                           \
	do {                                                                                       \
		int made_ = expect_fd(make(name, O_RDWR | O_CREAT | O_EXCL, 0600));                \
		fill(made_, ISIZE, seed);                                                          \
		close(made_);                                                                      \
		int used_ = expect_fd(use(name, O_RDONLY, 0));                                     \
		check_fd(used_, ISIZE, seed);                                                      \
		close(used_);                                                                      \
	} while (0)

static void test_glibc_to_pshm(void **state)
{
	char name[64];
	(void)state;

	tu_name(name, sizeof(name), "g2p");
	hand_over(name, shm_open, pshm_shm_open, 7);
	check_seg(name, ISIZE, 7);

	assert_int_equal(pshm_shm_unlink(name), 0);
	expect_errno(shm_open(name, O_RDONLY, 0), ENOENT);
	expect_errno(shm_unlink(name), ENOENT);
}

static void test_pshm_to_glibc(void **state)
{
	char name[64], name2[64];
	struct pshm_seg *seg;
	void *p;
	size_t n;
	(void)state;

	tu_name(name, sizeof(name), "p2g");
	hand_over(name, pshm_shm_open, shm_open, 11);
	assert_int_equal(shm_unlink(name), 0);
	expect_errno(pshm_shm_open(name, O_RDONLY, 0), ENOENT);

	tu_name(name2, sizeof(name2), "p2g");
	tu_ok(pshm_create(&seg, name2, 5000, 0600, 0));
	tu_ok(pshm_map(seg, 0, &p, &n));
	assert_int_equal(n, 5000);
	for (size_t i = 0; i < n; i++)
		((unsigned char *)p)[i] = pattern(i, 13);
	tu_ok(pshm_close(seg));
	int g = expect_fd(shm_open(name2, O_RDWR, 0));
	check_fd(g, 5000, 13);
	close(g);
	assert_int_equal(shm_unlink(name2), 0);
	tu_err(pshm_open(&seg, name2, 0), -ENOENT);
}

/* ---- Python interop ---------------------------------------------------------------------- */

/*
 * attach() opens or creates a SharedMemory without leaving it to Python's resource tracker,
 * which would otherwise unlink it when Python exits: track=False where Python has it (3.13),
 * else an explicit unregister (before 3.13 attaching registers too).
 */
#define PY_PRELUDE                                                                                 \
	"import sys\n"                                                                             \
	"from multiprocessing import shared_memory as sm, resource_tracker as rt\n"                \
	"def attach(name, create, size=0):\n"                                                      \
	"    try:\n"                                                                               \
	"        return sm.SharedMemory(name=name, create=create, size=size, track=False)\n"       \
	"    except TypeError:\n"                                                                  \
	"        s = sm.SharedMemory(name=name, create=create, size=size)\n"                       \
	"        rt.unregister(s._name, \"shared_memory\")\n"                                      \
	"        return s\n"

/* Python makes an object of argv[2] bytes and writes pattern(i, 17) into it. */
static const char py_writer[] =
    PY_PRELUDE "s = attach(sys.argv[1], True, int(sys.argv[2]))\n"
               "s.buf[:s.size] = bytes((i * 17 + 8) % 256 for i in range(s.size))\n"
               "s.close()\n"
               "print(\"written\", s.size)\n";

/* Python attaches to an object and prints its bytes in hex. */
static const char py_reader[] = PY_PRELUDE "s = attach(sys.argv[1], False)\n"
                                           "data = bytes(s.buf[:s.size])\n"
                                           "s.close()\n"
                                           "sys.stdout.write(data.hex())\n";

static bool have_python(void)
{
	static int have = -1;
	if (have < 0)
		have =
		    system("python3 -c 'import multiprocessing.shared_memory' >/dev/null 2>&1") ==
		    0;
	return have;
}

/* Run python3 with CODE and arguments A1 and A2; returns its exit status, output in OUT. */
static int python(const char *code, const char *a1, const char *a2, char *out, size_t size)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "python3 -c '%s' '%s' '%s'", code, a1, a2);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	int status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_python_to_pshm(void **state)
{
	char name[64], out[256];
	(void)state;

	if (!have_python())
		skip();
	tu_name(name, sizeof(name), "py2p");
	/* Python adds the leading slash itself. */
	assert_int_equal(python(py_writer, name + 1, "3000", out, sizeof(out)), 0);
	assert_string_equal(out, "written 3000\n");

	int fd = expect_fd(pshm_shm_open(name, O_RDONLY, 0));
	check_fd(fd, 3000, 17);
	close(fd);
	check_seg(name, 3000, 17);
	tu_ok(pshm_destroy_addr(name));
}

static void test_pshm_to_python(void **state)
{
	char name[64], expect[2 * 3000 + 1];
	static char out[2 * 4096 + 1];
	struct pshm_seg *seg;
	void *p;
	size_t n;
	(void)state;

	if (!have_python())
		skip();
	tu_name(name, sizeof(name), "p2py");
	tu_ok(pshm_create(&seg, name, 3000, 0600, 0));
	tu_ok(pshm_map(seg, 0, &p, &n));
	for (size_t i = 0; i < n; i++) {
		((unsigned char *)p)[i] = pattern(i, 19);
		sprintf(expect + 2 * i, "%02x", pattern(i, 19));
	}
	tu_ok(pshm_close(seg));
	assert_int_equal(python(py_reader, name + 1, "", out, sizeof(out)), 0);
	assert_string_equal(out, expect);
	/* Python left the object alone: removing it is ours to do. */
	tu_ok(pshm_destroy_addr(name));
}

/* ---- pshm_strerror ------------------------------------------------------------------------ */

static void test_strerror(void **state)
{
	static const int unknown[] = {-20000, -20003, 4095, -4095, 123456, INT_MAX, INT_MIN};
	(void)state;

	assert_string_equal(pshm_strerror(PSHM_EADDR), "Malformed shared memory address");
	assert_string_equal(pshm_strerror(PSHM_EKIND),
	                    "Address names a different kind of shared memory");
	assert_string_equal(pshm_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(pshm_strerror(ENOENT), strerror(ENOENT));
	assert_string_equal(pshm_strerror(-EACCES), strerror(EACCES));
	assert_string_not_equal(pshm_strerror(-ENOENT), pshm_strerror(-EACCES));
	assert_non_null(pshm_strerror(0));
	assert_true(pshm_strerror(0)[0] != '\0');
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *s = pshm_strerror(unknown[i]);
		if (!s || !*s)
			fail_msg("pshm_strerror(%d) gave no text", unknown[i]);
	}
}

int main(int argc, char **argv)
{
	/* For test_dir_first_use: the shm directory a new process finds, and whether it runs in
	 * secure-execution mode. */
	if (argc == 2 && !strcmp(argv[1], "--print-shm-dir")) {
		printf("%s\n%lu\n", pshm_shm_dir(), getauxval(AT_SECURE));
		fflush(stdout);
		_exit(0);
	}
	private_dir = tu_dir_setup();
	umask(022);

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_names_like_glibc, use_dev_shm, use_private_dir),
	    cmocka_unit_test(test_null_name),
	    cmocka_unit_test(test_leading_slashes),
	    cmocka_unit_test(test_excl_and_missing),
	    cmocka_unit_test(test_trunc),
	    cmocka_unit_test(test_bad_flags),
	    cmocka_unit_test(test_descriptor_flags),
	    cmocka_unit_test(test_umask),
	    cmocka_unit_test_teardown(test_injected_failures, clear_fault),
	    cmocka_unit_test(test_fifo),
	    cmocka_unit_test(test_directory),
	    cmocka_unit_test(test_socket),
	    cmocka_unit_test(test_symlink),
	    cmocka_unit_test(test_eacces),
	    cmocka_unit_test(test_not_cancellation_point),
	    cmocka_unit_test(test_lease_wait),
	    cmocka_unit_test_setup_teardown(test_lease_like_glibc, use_dev_shm, use_private_dir),
	    cmocka_unit_test_teardown(test_lease_nonblock, use_private_dir),
	    cmocka_unit_test(test_lease_without_proc),
	    cmocka_unit_test_teardown(test_lease_then_fifo, clear_fault),
	    cmocka_unit_test_teardown(test_pshm_dir, use_private_dir),
	    cmocka_unit_test_teardown(test_dir_read_once, use_private_dir),
	    cmocka_unit_test(test_dir_no_environ),
	    cmocka_unit_test_teardown(test_set_dir, use_private_dir),
	    cmocka_unit_test(test_set_dir_no_memory),
	    cmocka_unit_test(test_dir_first_use),
	    cmocka_unit_test_setup_teardown(test_glibc_to_pshm, use_dev_shm, use_private_dir),
	    cmocka_unit_test_setup_teardown(test_pshm_to_glibc, use_dev_shm, use_private_dir),
	    cmocka_unit_test_setup_teardown(test_python_to_pshm, use_dev_shm, use_private_dir),
	    cmocka_unit_test_setup_teardown(test_pshm_to_python, use_dev_shm, use_private_dir),
	    cmocka_unit_test(test_strerror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
