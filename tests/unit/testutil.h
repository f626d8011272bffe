/*
 * testutil.h - helpers shared by the unit test programs (cmocka).
 *
 * Conventions: a test program exits 0 when every test passed, 1 when one failed, and 77 when
 * it cannot run here at all (printing a line that starts "SKIP:"). Tests that create POSIX
 * objects work in a private shm directory (PSHM_DIR) unless they test interoperation with
 * glibc or Python, which use /dev/shm with names unique to the process.
 */
#ifndef PSHM_TESTUTIL_H
#define PSHM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pshm.h"

#define TU_SKIP 77

/* Print a reason and leave with the skip status: the whole program cannot run here. */
#define tu_skip_all(...)                                                                           \
	do {                                                                                       \
		printf("SKIP: " __VA_ARGS__);                                                      \
		printf("\n");                                                                      \
		exit(TU_SKIP);                                                                     \
	} while (0)

/*
 * Skip the current test (not the whole program), saying why on a line of its own that
 * tests/run-unit.sh shows even when the program as a whole passes.
 */
#define tu_skip_test(...)                                                                          \
	do {                                                                                       \
		printf("SKIP: %s: ", __func__);                                                    \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		fflush(stdout);                                                                    \
		skip();                                                                            \
	} while (0)

/* The monotonic clock in milliseconds: for reporting how long something took. */
static inline double tu_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * The pause between two looks at a state that another process changes without telling (a
 * word in shared memory): what a test waits for is that state; the pause only keeps the
 * looking from taking a whole CPU away from the process it waits for.
 */
static inline void tu_poll_pause(void)
{
	struct timespec ts = {0, 1000000};
	nanosleep(&ts, NULL);
}

/* Bytes free for an unprivileged user in the file system that holds PATH, or 0 if unknown. */
static inline unsigned long long tu_fs_free(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	return (unsigned long long)sv.f_bavail * sv.f_frsize;
}

/* Assert that a pshm call returned 0, showing the error's name when it did not. */
#define tu_ok(expr)                                                                                \
	do {                                                                                       \
		int tu_r_ = (expr);                                                                \
		if (tu_r_ != 0)                                                                    \
			fail_msg("%s = %d (%s)", #expr, tu_r_, pshm_strerror(tu_r_));              \
	} while (0)

/* Assert that a pshm call returned the negative error ERR. */
#define tu_err(expr, err)                                                                          \
	do {                                                                                       \
		int tu_r_ = (expr);                                                                \
		if (tu_r_ != (err))                                                                \
			fail_msg("%s = %d (%s), expected %d (%s)", #expr, tu_r_,                   \
			         pshm_strerror(tu_r_), (err), pshm_strerror(err));                 \
	} while (0)

static char tu_dir[64];

static int tu_rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove the private shm directory and everything in it. */
static inline void tu_dir_cleanup(void)
{
	if (tu_dir[0])
		nftw(tu_dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	tu_dir[0] = '\0';
}

/*
 * Make DIR (NULL: none) this process's PSHM_DIR, for programs it runs, and have the library
 * read it again, for itself: the library reads the variable only at its first use.
 */
static inline void tu_use_dir(const char *dir)
{
	int r = (dir ? setenv("PSHM_DIR", dir, 1) : unsetenv("PSHM_DIR")) < 0 ? -errno : 0;
	if (r < 0 || (r = pshm_set_shm_dir(NULL)) < 0) {
		fprintf(stderr, "cannot use the shm directory %s: %s\n", dir ? dir : "/dev/shm",
		        strerror(-r));
		abort();
	}
}

/* Make a private shm directory on /dev/shm and point PSHM_DIR at it; removed at exit. */
static inline const char *tu_dir_setup(void)
{
	snprintf(tu_dir, sizeof(tu_dir), "/dev/shm/pshm-test.XXXXXX");
	if (!mkdtemp(tu_dir))
		tu_skip_all("cannot make a directory in /dev/shm: %s", strerror(errno));
	chmod(tu_dir, 01777);
	tu_use_dir(tu_dir);
	atexit(tu_dir_cleanup);
	return tu_dir;
}

/* A name unique to this process and call: "/pshm-t<pid>-<tag>-<n>". */
static inline const char *tu_name(char *buf, size_t size, const char *tag)
{
	static int n;
	snprintf(buf, size, "/pshm-t%d-%s-%d", (int)getpid(), tag, n++);
	return buf;
}

/*
 * Run FN(ARG) in a child that has dropped to uid and gid 65534 (nobody), and return its exit
 * status (or 128 + signal). Returns -1 when not root: the caller skips.
 */
static inline int tu_as_nobody_in(const gid_t *groups, size_t ngroups, int (*fn)(void *), void *arg)
{
	if (geteuid() != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(ngroups, groups) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		_exit(fn(arg));
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline int tu_as_nobody(int (*fn)(void *), void *arg)
{
	return tu_as_nobody_in(NULL, 0, fn, arg);
}

/*
 * Put this whole process in a new mount namespace with a tmpfs of SIZE_MB MiB as its shm
 * directory (PSHM_DIR). Skips the program (exit 77) where that is not allowed.
 */
static inline const char *tu_tiny_tmpfs(int size_mb)
{
	static char dir[64];
	char opts[32];

	if (unshare(CLONE_NEWNS) < 0)
		tu_skip_all("cannot make a mount namespace (needs root): %s", strerror(errno));
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		tu_skip_all("cannot make mounts private: %s", strerror(errno));
	snprintf(dir, sizeof(dir), "/tmp/pshm-tmpfs.XXXXXX");
	if (!mkdtemp(dir))
		tu_skip_all("cannot make a mount point: %s", strerror(errno));
	snprintf(opts, sizeof(opts), "size=%dm,mode=1777", size_mb);
	if (mount("tmpfs", dir, "tmpfs", 0, opts) < 0) {
		rmdir(dir);
		tu_skip_all("cannot mount a tmpfs: %s", strerror(errno));
	}
	tu_use_dir(dir);
	return dir;
}

/* Undo tu_tiny_tmpfs (the namespace ends with the process anyway). */
static inline void tu_tiny_tmpfs_cleanup(const char *dir)
{
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/*
 * Count the entries of directory DIR other than "." and "..", -1 if unreadable. For
 * /proc/self/fd the descriptor the count itself holds open is left out.
 */
static inline int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n - (strcmp(dir, "/proc/self/fd") == 0);
}

/* SIZE bytes of zeros that the test's children share with it (counters they wait on). */
static inline void *tu_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/* Count the entries of directory DIR whose names begin with PREFIX, -1 if unreadable. */
static inline int tu_count_prefix(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/* The lowest free descriptor: equal before and after a failed call when nothing leaked. */
static inline int lowest_free_fd(void)
{
	int fd = dup(0);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* Run a child that writes to P; its exit status, or 128 + the signal that killed it. */
static inline int child_writes(volatile char *p)
{
	pid_t pid = fork();
	if (pid == 0) {
		/* The default action, not a sanitizer's handler: the test wants the signal itself. */
		signal(SIGSEGV, SIG_DFL);
		p[0] = 1;
		_exit(0);
	}
	int status = 0;
	assert_true(pid > 0 && waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline struct stat stat_path(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) < 0)
		fail_msg("lstat %s: %s", path, strerror(errno));
	return sb;
}

static inline struct pshm_stat seg_stat(struct pshm_seg *seg)
{
	struct pshm_stat st;
	tu_ok(pshm_stat(seg, &st));
	return st;
}

/*
 * The value, in kB, of FIELD ("Rss:") for the mapping that starts at ADDR in
 * /proc/self/smaps; -1 when there is no such mapping.
 */
static inline long smaps_kb(const void *addr, const char *field)
{
	char line[512], start[32];
	bool in = false;
	long v = -1;

	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (v < 0 && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, start, strlen(start)))
			in = true;
		else if (in && !strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field), NULL, 10);
	}
	fclose(f);
	return v;
}

/* Inside a forked child cmocka cannot report; a failed check prints and leaves with 1. */
#define CHILD_CHECK(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "child %d: %s:%d: ", (int)getpid(), __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

/* ---- leases --------------------------------------------------------------------------------- */

/*
 * A child that holds a lease (F_SETLEASE) on a file. It writes 'L' to its pipe once the lease
 * is held; when the lease is broken (SIGIO, which it waits for with sigwait) it writes 'B' and
 * only then gives the lease up, so that 'B' can be read as soon as an open that waited for the
 * break has returned.
 */
struct tu_lease {
	pid_t pid;
	int rd; /* the read end of the child's pipe */
};

static inline void tu_lease_child(int wr, const char *path, int type)
{
	sigset_t io;
	int fd, sig, err;

	/* Blocked before the lease exists, so that the break cannot be missed. */
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	sigprocmask(SIG_BLOCK, &io, NULL);
	alarm(60); /* only a safety net: the break comes when the test opens the file */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fcntl(fd, F_SETLEASE, type) < 0) {
		err = errno;
		if (write(wr, "E", 1) == 1 && write(wr, &err, sizeof(err))) {
		}
		_exit(0);
	}
	if (write(wr, "L", 1) != 1 || sigwait(&io, &sig))
		_exit(1);
	if (write(wr, "B", 1) != 1)
		_exit(1);
	fcntl(fd, F_SETLEASE, F_UNLCK);
	_exit(0);
}

/* Stop the lease holder (it has usually left already), reap it and close its pipe. */
static inline void tu_lease_end(struct tu_lease *l)
{
	if (l->pid > 0) {
		kill(l->pid, SIGKILL);
		waitpid(l->pid, NULL, 0);
	}
	if (l->rd >= 0)
		close(l->rd);
	l->pid = 0;
	l->rd = -1;
}

/*
 * Start a child that holds a lease of TYPE (F_RDLCK or F_WRLCK) on PATH, and return once it
 * holds it: 0, or the errno with which the lease could not be had (nothing is left running).
 * The caller must not have PATH open for writing (F_RDLCK) or open at all (F_WRLCK).
 */
static inline int tu_lease_start(struct tu_lease *l, const char *path, int type)
{
	int p[2], err = 0;
	char c;

	l->pid = 0;
	l->rd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	l->pid = fork();
	if (l->pid == 0) {
		close(p[0]);
		tu_lease_child(p[1], path, type);
	}
	err = l->pid < 0 ? errno : 0;
	close(p[1]);
	l->rd = p[0];
	if (!err && read(l->rd, &c, 1) != 1)
		err = EIO;
	if (!err && c == 'E' && read(l->rd, &err, sizeof(err)) != sizeof(err))
		err = EIO;
	if (err)
		tu_lease_end(l);
	return err;
}

/*
 * Has the holder seen its lease broken? Waits up to TIMEOUT_MS milliseconds for it to say so
 * (-1: until it does or leaves); 0 looks only at what it has said already.
 */
static inline bool tu_lease_broken(struct tu_lease *l, int timeout_ms)
{
	struct pollfd pfd = {.fd = l->rd, .events = POLLIN};
	char c;
	return poll(&pfd, 1, timeout_ms) == 1 && read(l->rd, &c, 1) == 1 && c == 'B';
}

#endif /* PSHM_TESTUTIL_H */
