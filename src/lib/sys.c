/*
 * sys.c - thin system call wrappers.
 *
 * Every call the library makes that changes something goes through here, so that there is one
 * place for the EINTR loops, the signal-blocked reservation, the -errno convention, and the
 * hook through which tests make any call fail.
 */
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

int (*pshm__fault_hook)(enum pshm__call call);

/* Returns the injected errno (as -errno) for CALL, or 0 to go on with the real call. */
static inline int injected(enum pshm__call call)
{
	if (__builtin_expect(pshm__fault_hook != NULL, 0)) {
		int e = pshm__fault_hook(call);
		if (e)
			return -e;
	}
	return 0;
}

/*
 * The raw openat system call: unlike the libc wrapper it is never a thread cancellation point,
 * which the POSIX drop-ins promise.
 */
int pshm__openat(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd = injected(PSHM__OPEN);
	if (fd)
		return fd;
	do
		fd = (int)syscall(SYS_openat, dirfd, path, flags, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

/* close is never retried: on Linux the descriptor is gone even when it reports EINTR. */
int pshm__close(int fd)
{
	int r = injected(PSHM__CLOSE);
	if (r) {
		syscall(SYS_close, fd);
		return r;
	}
	r = (int)syscall(SYS_close, fd);
	return r < 0 && errno != EINTR ? -errno : 0;
}

int pshm__ftruncate(int fd, uint64_t size)
{
	int r = injected(PSHM__FTRUNCATE);
	if (r)
		return r;
	if (size > INT64_MAX)
		return -EFBIG;
	do
		r = ftruncate(fd, (off_t)size);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/*
 * Reserve [OFF, OFF+LEN) with posix_fallocate. tmpfs gives up a large reservation as soon as a
 * signal is pending, so every catchable signal is blocked for the duration (a process that
 * takes a timer signal every millisecond could otherwise never finish), and EINTR, which a
 * stopped-and-continued process can still see, is retried.
 */
int pshm__reserve(int fd, uint64_t off, uint64_t len)
{
	sigset_t all, old;
	int r;

	if (len == 0)
		return 0;
	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EFBIG;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	do {
		r = injected(PSHM__FALLOCATE);
		if (!r)
			r = -posix_fallocate(fd, (off_t)off, (off_t)len);
	} while (r == -EINTR);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int pshm__fchmod(int fd, mode_t mode)
{
	int r = injected(PSHM__FCHMOD);
	if (r)
		return r;
	return fchmod(fd, mode) < 0 ? -errno : 0;
}

int pshm__fchown(int fd, uid_t uid, gid_t gid)
{
	int r = injected(PSHM__FCHOWN);
	if (r)
		return r;
	return fchown(fd, uid, gid) < 0 ? -errno : 0;
}

int pshm__fstat(int fd, struct stat *st)
{
	int r = injected(PSHM__FSTAT);
	if (r)
		return r;
	return fstat(fd, st) < 0 ? -errno : 0;
}

int pshm__mmap(void **addrp, size_t len, int prot, int flags, int fd)
{
	int r = injected(PSHM__MMAP);
	if (r)
		return r;
	void *p = mmap(NULL, len, prot, flags, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addrp = p;
	return 0;
}

int pshm__munmap(void *addr, size_t len)
{
	int r = injected(PSHM__MUNMAP);
	if (r)
		return r;
	return munmap(addr, len) < 0 ? -errno : 0;
}

int pshm__unlinkat(int dirfd, const char *path)
{
	int r = injected(PSHM__UNLINK);
	if (r)
		return r;
	return unlinkat(dirfd, path, 0) < 0 ? -errno : 0;
}

int pshm__shmget(key_t key, size_t size, int flags)
{
	int r = injected(PSHM__SHMGET);
	if (r)
		return r;
	r = shmget(key, size, flags);
	return r < 0 ? -errno : r;
}

int pshm__shmat(int id, int flags, void **addrp)
{
	int r = injected(PSHM__SHMAT);
	if (r)
		return r;
	void *p = shmat(id, NULL, flags);
	if (p == (void *)-1)
		return -errno;
	*addrp = p;
	return 0;
}

int pshm__shmdt(const void *addr)
{
	int r = injected(PSHM__SHMDT);
	if (r)
		return r;
	return shmdt(addr) < 0 ? -errno : 0;
}

int pshm__shmctl(int id, int cmd, void *buf)
{
	int r = injected(PSHM__SHMCTL);
	if (r)
		return r;
	r = shmctl(id, cmd, buf);
	return r < 0 ? -errno : r;
}

int pshm__memfd(const char *name, unsigned flags)
{
	int r = injected(PSHM__MEMFD);
	if (r)
		return r;
	r = memfd_create(name, flags);
	return r < 0 ? -errno : r;
}
