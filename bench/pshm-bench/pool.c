/*
 * pool.c - 2 MiB huge pages lent to the run. When the kernel's pool has fewer free pages than
 * the hugepages variant of the touch section needs and the run may change it (root), the pool
 * is grown by what is missing and given back when the section ends, when the program ends
 * (atexit), and at once when SIGINT, SIGTERM or SIGHUP arrives (from the signal handler, with
 * system calls only). Growing and giving back take an flock on the lock that tests/hugepool.sh
 * takes, and give back by the number of pages added rather than by writing the old value, so
 * that whoever else lends pages at the same time keeps theirs.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define POOL_NR   "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define POOL_FREE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define POOL_LOCK "/run/pshm-hugepool.lock"

static volatile sig_atomic_t added; /* pages added and not given back yet */
static long grown_from, grown_to;   /* for the report; grown_to 0: never grown */
static bool registered;

/* The number in file PATH, or -errno. Only system calls: the signal handler uses it. */
static long read_num(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -e : -EIO;
	long v = 0;
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	return v;
}

/* Write V to file PATH: 0 or -errno. Only system calls. */
static int write_num(const char *path, long v)
{
	char buf[24];
	size_t i = sizeof(buf);
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, buf + i, sizeof(buf) - i);
	int e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

/* The lock shared with other lenders, taken; -1 when there is none to take. */
static int lock_pool(void)
{
	int fd = open(POOL_LOCK, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
	return fd;
}

static void unlock_pool(int fd)
{
	if (fd >= 0)
		close(fd);
}

void bench_pool_restore(void)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	long n = added;
	added = 0;
	if (n > 0) {
		int lk = lock_pool();
		long now = read_num(POOL_NR);
		if (now >= 0)
			write_num(POOL_NR, now > n ? now - n : 0);
		unlock_pool(lk);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void restore_at_exit(void)
{
	bench_pool_restore();
}

/* Grow the pool by WANT pages under LK: 0, or 1 with WHY when the kernel gave fewer. */
static int grow(long want, char *why, size_t wlen)
{
	long before = read_num(POOL_NR);
	int r = before < 0 ? (int)before : write_num(POOL_NR, before + want);
	long now = r ? -1 : read_num(POOL_NR);
	if (r || now < before + want) {
		if (!r)
			write_num(POOL_NR, before);
		if (r)
			snprintf(why, wlen, "growing the pool failed (%s: %s)", POOL_NR,
			         pshm_strerror(r));
		else
			snprintf(why, wlen, "the kernel found only %ld of %ld more 2 MiB pages",
			         now - before, want);
		return 1;
	}
	added = (sig_atomic_t)(added + want);
	if (!grown_to)
		grown_from = before;
	grown_to = now;
	return 0;
}

int bench_pool_reserve(long need, char *why, size_t wlen)
{
	long free_now = read_num(POOL_FREE);
	if (free_now < 0) {
		snprintf(why, wlen, "this kernel has no 2 MiB huge page pool");
		return 1;
	}
	if (free_now >= need)
		return 0;
	if (geteuid() != 0 || access(POOL_NR, W_OK) < 0) {
		long nr = read_num(POOL_NR);
		snprintf(why, wlen, "growing the pool needs root: sysctl vm.nr_hugepages=%ld",
		         (nr > 0 ? nr : 0) + need - free_now);
		return 1;
	}
	if (!registered && !atexit(restore_at_exit))
		registered = true;
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	int lk = lock_pool();
	int r = grow(need - free_now, why, wlen);
	unlock_pool(lk);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

bool bench_pool_note(char *buf, size_t len)
{
	if (!grown_to)
		return false;
	snprintf(buf, len, "2 MiB pool grown from %ld to %ld for the run, %s", grown_from, grown_to,
	         added ? "not yet restored" : "restored");
	return true;
}
