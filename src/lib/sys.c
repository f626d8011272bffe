/*
 * sys.c - thin system call wrappers.
 *
 * Every call the library makes that changes something (opens or closes a descriptor, a stream
 * or a mapping; changes a file, its size, mode, owner, locks or seals; moves data through a
 * socket; waits on or wakes a futex; makes a barrier) goes through here, so that there is one
 * place for the EINTR loops, the signal-blocked reservation, the -errno convention, and the
 * hook through which tests make any call fail. Calls that only read (fstat, fstatat, readlink,
 * pread, readdir, getrandom, the clock) may be made where they are needed: a test that needs
 * one of them to fail routes it through here too, as pshm__fstat. scripts/check-syscalls.sh
 * holds the rest of the library to this.
 *
 * A few calls here take no injected fault of their own: those the SIGBUS handler makes
 * (pshm__map_zero, pshm__sig_default), which must be async-signal-safe where a test's hook
 * need not be; the close that still releases a descriptor or stream whose close a test made fail, and the
 * steps inside one wrapper that its own entry already covers (pshm__fchmod's look at the
 * descriptor's flags, pshm__open_file's pause, pshm__fopen_read's fdopen, pshm__write's
 * handling of SIGPIPE).
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Write V in decimal at P: the end of the digits. */
static char *put_dec(char *p, unsigned v)
{
	char tmp[10];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = tmp[--n];
	return p;
}

void pshm__proc_fd(char *buf, pid_t pid, int fd)
{
	char *p = buf;
	memcpy(p, "/proc/", 6);
	p += 6;
	if (pid > 0) {
		p = put_dec(p, (unsigned)pid);
	} else {
		memcpy(p, "self", 4);
		p += 4;
	}
	memcpy(p, "/fd/", 4);
	p = put_dec(p + 4, (unsigned)fd);
	*p = '\0';
}

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
 * Make EXPR, a call that returns -1 and sets errno when it fails, unless the fault hook fails
 * CALL; again while it fails with EINTR, real or injected, asking the hook before each try.
 * The call's result, or -errno.
 */
#define RETRY_EINTR(call, expr)                                                                    \
	__extension__({                                                                            \
		long r_;                                                                           \
		do {                                                                               \
			r_ = injected(call);                                                       \
			if (!r_ && (r_ = (long)(expr)) < 0)                                        \
				r_ = -errno;                                                       \
		} while (r_ == -EINTR);                                                            \
		r_;                                                                                \
	})

/* Make EXPR (as above) once, unless the fault hook fails CALL. Its result, or -errno. */
#define ONCE(call, expr)                                                                           \
	__extension__({                                                                            \
		long r_ = injected(call);                                                          \
		if (!r_ && (r_ = (long)(expr)) < 0)                                                \
			r_ = -errno;                                                               \
		r_;                                                                                \
	})

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

/*
 * The wait of open(2) for another process's lease to break, made on the regular file that
 * DIRFD/PATH named when a non-blocking open gave EWOULDBLOCK. O_PATH opens break no lease and
 * never block; the file found must be regular (so nothing below can block on a FIFO) and is
 * then opened again through /proc/self/fd, which reaches that same file without looking the
 * name up a second time, and waits as open(2) waits. FLAGS lose O_CREAT and O_EXCL, since the
 * file exists, and keep O_TRUNC, which applies once the lease is gone. Returns a descriptor or
 * -errno; sets *AGAIN instead when the name no longer holds a regular file or /proc cannot be
 * reached, and the caller must start again from its own open.
 */
static int open_after_lease(int dirfd, const char *path, int flags, bool *again)
{
	char proc[PSHM__PROC_FD_LEN];
	struct stat st;

	*again = false;
	int pfd = pshm__openat(dirfd, path, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW), 0);
	if (pfd < 0) {
		*again = pfd == -ENOENT && (flags & O_CREAT);
		return pfd;
	}
	int fd = pshm__fstat(pfd, &st);
	if (!fd && S_ISREG(st.st_mode)) {
		pshm__proc_fd(proc, 0, pfd);
		/* No O_NOFOLLOW: the link is to follow, and is not a name that can change. */
		fd = pshm__openat(AT_FDCWD, proc, flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW), 0);
		*again = fd == -ENOENT; /* no /proc */
	} else if (!fd) {
		*again = true;
	}
	pshm__close(pfd);
	return fd;
}

/*
 * Open DIRFD/PATH, meant to be a regular file, as open(2) would, except that it never blocks
 * on a FIFO: the open is made with O_NONBLOCK, and the caller checks what it got. O_NONBLOCK
 * also turns the wait for another process's lease to break into EWOULDBLOCK; unless FLAGS ask
 * for O_NONBLOCK, that wait is then made as open(2) makes it (open_after_lease). Where /proc is
 * missing the open is tried again, at growing intervals, until the lease is gone: the kernel
 * ends every lease break after /proc/sys/fs/lease-break-time seconds. The descriptor may or may
 * not have O_NONBLOCK set. Not a cancellation point. Returns a descriptor or -errno.
 */
int pshm__open_file(int dirfd, const char *path, int flags, mode_t mode)
{
	long pause_ns = 1000000;
	bool again;

	for (;;) {
		int fd = pshm__openat(dirfd, path, flags | O_NONBLOCK, mode);
		if (fd != -EWOULDBLOCK || (flags & O_NONBLOCK))
			return fd;
		fd = open_after_lease(dirfd, path, flags, &again);
		if (!again)
			return fd;
		/* The raw system call: nanosleep(3) would be a cancellation point. */
		struct timespec ts = {0, pause_ns};
		syscall(SYS_nanosleep, &ts, NULL);
		if (pause_ns < 64000000)
			pause_ns *= 2;
	}
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

/* Whether FD was opened with O_PATH (PSHM_ATTRS), which fchmod and fchown refuse. */
static bool path_only(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl >= 0 && (fl & O_PATH);
}

/*
 * fchmod, also for an O_PATH descriptor: through fchmodat2 with AT_EMPTY_PATH where the kernel
 * has it (Linux 6.6), else through /proc/self/fd, which names that file and no other.
 */
int pshm__fchmod(int fd, mode_t mode)
{
	char proc[PSHM__PROC_FD_LEN];
	int r = injected(PSHM__FCHMOD);
	if (r)
		return r;
	if (fchmod(fd, mode) == 0)
		return 0;
	if (errno != EBADF || !path_only(fd))
		return -errno;
#ifdef SYS_fchmodat2
	if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
#endif
	pshm__proc_fd(proc, 0, fd);
	return chmod(proc, mode) < 0 ? -errno : 0;
}

/* fchown, also for an O_PATH descriptor (fchownat with AT_EMPTY_PATH takes those). */
int pshm__fchown(int fd, uid_t uid, gid_t gid)
{
	int r = injected(PSHM__FCHOWN);
	if (r)
		return r;
	if (fchown(fd, uid, gid) == 0)
		return 0;
	if (errno != EBADF || !path_only(fd))
		return -errno;
	return fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0 ? -errno : 0;
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
	*addrp = NULL;
	int r = injected(PSHM__MMAP);
	if (r)
		return r;
	void *p = mmap(NULL, len, prot, flags, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addrp = p;
	return 0;
}

/*
 * Replace [ADDR, ADDR+LEN) with private zero pages of protection PROT. Called from the SIGBUS
 * handler (guard.c), so it is the raw system call, keeps errno as it found it, and takes no
 * injected fault: a test hook need not be async-signal-safe.
 */
int pshm__map_zero(void *addr, size_t len, int prot)
{
	int saved = errno;
	long p = syscall(SYS_mmap, addr, len, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r = p == -1 ? -errno : 0;
	errno = saved;
	return r;
}

/* Give SIG its default action again, and raise it AGAIN; async-signal-safe, for the same
 * handler. */
void pshm__sig_default(int sig, bool again)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	int saved = errno;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	if (again)
		raise(sig);
	errno = saved;
}

int pshm__sigaction(int sig, const struct sigaction *sa, struct sigaction *old)
{
	int r = injected(PSHM__SIGACTION);
	if (r)
		return r;
	return sigaction(sig, sa, old) < 0 ? -errno : 0;
}

int pshm__sigmask(int how, const sigset_t *set, sigset_t *old)
{
	int r = injected(PSHM__SIGACTION);
	if (r)
		return r;
	return -pthread_sigmask(how, set, old);
}

int pshm__linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	int r = injected(PSHM__LINK);
	if (r)
		return r;
	return linkat(olddirfd, oldpath, newdirfd, newpath, flags) < 0 ? -errno : 0;
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

int pshm__lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	int r = (int)RETRY_EINTR(PSHM__LOCK, fcntl(fd, cmd, &fl));
	if (r < 0)
		return r;
	return cmd == F_OFD_GETLK || cmd == F_GETLK ? fl.l_type : 0;
}

int pshm__seals_add(int fd, unsigned seals)
{
	return (int)ONCE(PSHM__SEAL, fcntl(fd, F_ADD_SEALS, (int)seals));
}

int pshm__seals_get(int fd)
{
	return (int)ONCE(PSHM__SEAL, fcntl(fd, F_GET_SEALS));
}

int pshm__getfl(int fd)
{
	return (int)ONCE(PSHM__FLAGS, fcntl(fd, F_GETFL));
}

int pshm__setfl(int fd, int flags)
{
	return (int)ONCE(PSHM__FLAGS, fcntl(fd, F_SETFL, flags));
}

int pshm__msync(void *addr, size_t len)
{
	return (int)ONCE(PSHM__SYNC, msync(addr, len, MS_SYNC));
}

/* EINTR is retried: a network file system may report it. */
int pshm__fdatasync(int fd)
{
	return (int)RETRY_EINTR(PSHM__SYNC, fdatasync(fd));
}

ssize_t pshm__sendmsg(int sock, const struct msghdr *msg, int flags)
{
	return RETRY_EINTR(PSHM__SENDMSG, sendmsg(sock, msg, flags));
}

ssize_t pshm__recvmsg(int sock, struct msghdr *msg, int flags)
{
	return RETRY_EINTR(PSHM__RECVMSG, recvmsg(sock, msg, flags));
}

/* Not retried on EINTR: the caller looks at its condition again, and knows its deadline. */
int pshm__futex_wait(_Atomic uint32_t *word, uint32_t old, const struct timespec *timeout)
{
	return (int)ONCE(PSHM__FUTEX,
	                 syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, old, timeout, NULL, 0));
}

int pshm__futex_wake(_Atomic uint32_t *word)
{
	return (int)ONCE(PSHM__FUTEX,
	                 syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0));
}

int pshm__membarrier(int cmd)
{
	return (int)ONCE(PSHM__MEMBARRIER, syscall(SYS_membarrier, cmd, 0, 0));
}

int pshm__madvise(void *addr, size_t len, int advice)
{
	return (int)RETRY_EINTR(PSHM__MADVISE, madvise(addr, len, advice));
}

int pshm__mknodat(int dirfd, const char *path, mode_t mode)
{
	return (int)ONCE(PSHM__MKNOD, mknodat(dirfd, path, mode, 0));
}

ssize_t pshm__read(int fd, void *buf, size_t len)
{
	return RETRY_EINTR(PSHM__READ, read(fd, buf, len));
}

/*
 * A pipe without readers answers a write with EPIPE and a SIGPIPE, whose default action ends the
 * process. With NOSIGPIPE the signal is blocked in this thread for the call and, when the call
 * raised it, taken back, unless one was pending already (it is then left as it was, and ours is
 * merged with it); the thread's mask is then restored. These steps take no fault of their own:
 * the call's entry covers them.
 */
ssize_t pshm__write(int fd, const void *buf, size_t len, bool nosigpipe)
{
	sigset_t pipe, old, pending;

	if (!nosigpipe)
		return RETRY_EINTR(PSHM__WRITE, write(fd, buf, len));
	int r = injected(PSHM__WRITE);
	if (r)
		return r;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	bool had = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	ssize_t n = RETRY_EINTR(PSHM__WRITE, write(fd, buf, len));
	if (n == -EPIPE && !had) {
		struct timespec none = {0, 0};
		while (sigtimedwait(&pipe, NULL, &none) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

int pshm__epoll_create(void)
{
	return (int)ONCE(PSHM__EPOLL, epoll_create1(EPOLL_CLOEXEC));
}

int pshm__epoll_add(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	return (int)ONCE(PSHM__EPOLL, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
}

int pshm__timerfd_create(void)
{
	return (int)ONCE(PSHM__TIMER, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
}

int pshm__timerfd_set(int fd, uint64_t ns)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ns / 1000000000u),
	                                      .tv_nsec = (long)(ns % 1000000000u)}};
	return (int)ONCE(PSHM__TIMER, timerfd_settime(fd, 0, &its, NULL));
}

int pshm__opendir(const char *path, DIR **dirp)
{
	*dirp = NULL;
	int r = injected(PSHM__OPENDIR);
	if (r)
		return r;
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	*dirp = d;
	return 0;
}

/* Through pshm__openat, so that the stream's descriptor is made as every other one is. */
int pshm__fopen_read(const char *path, FILE **fp)
{
	int fd = pshm__openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		int e = -errno;
		pshm__close(fd);
		return e;
	}
	*fp = f;
	return 0;
}

/* As pshm__close: an injected failure still lets the stream go. */
int pshm__closedir(DIR *dir)
{
	int r = injected(PSHM__CLOSE);
	int c = closedir(dir) < 0 ? -errno : 0;
	return r ? r : c;
}

int pshm__fclose(FILE *f)
{
	int r = injected(PSHM__CLOSE);
	int c = fclose(f) == EOF ? -errno : 0;
	return r ? r : c;
}
