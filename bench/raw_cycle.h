/*
 * raw_cycle.h - libpshm's life cycles as raw libc calls, for timing the library against.
 *
 * Each function makes the system calls that the library makes for the same operation, in the
 * same order, with the same flags, on the same name or key, and nothing else. Timing the one
 * against the other therefore measures what the library adds. Two programs build from this
 * file: bench/bench_overhead.c and pshm-bench (bench/pshm-bench/life.c); their comments list
 * the sequences and say why each call is there. tests/trace/run.sh (make check) traces these
 * functions and the library's own life cycles and fails where their system calls differ, so a
 * change to either side must be made on both.
 *
 * Every function returns 0 or a negative errno. An object made by a create is removed again
 * (by name or key) even when a later step fails; a memfd goes with its descriptor.
 */
#ifndef PSHM_RAW_CYCLE_H
#define PSHM_RAW_CYCLE_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define RAW_MODE          0600
#define RAW_MEMFD_NAME    "pshm"
#define RAW_MEMFD_PREFIX  "/memfd:"
#define RAW_OPEN_FLAGS    (O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
#define RAW_CREATE_FLAGS  (RAW_OPEN_FLAGS | O_CREAT | O_EXCL)
#define RAW_PROC_FD_FLAGS (O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
#define RAW_KEY_ATTEMPTS  64
#define RAW_CHAN_HDR      8192 /* a message channel's header: no smaller object is a channel */

/* What every life cycle of one run shares. */
struct raw_cycle {
	uint64_t size;      /* bytes of each object */
	bool sparse;        /* ftruncate instead of a reservation; SHM_NORESERVE for System V */
	unsigned mfd_flags; /* the memfd_create flags this kernel takes: raw_memfd_flags() */
};

/*
 * The flags the library gives memfd_create: not executable and sealable, without
 * MFD_NOEXEC_SEAL on kernels before 6.3, which refuse it (the library asks once and remembers).
 * 0 when memfd_create itself fails (then errno says why).
 */
static inline unsigned raw_memfd_flags(void)
{
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL;
	int fd = memfd_create(RAW_MEMFD_NAME, flags);
	if (fd < 0 && errno == EINVAL) {
		flags &= ~MFD_NOEXEC_SEAL;
		fd = memfd_create(RAW_MEMFD_NAME, flags);
	}
	if (fd < 0)
		return 0;
	close(fd);
	return flags;
}

/* Give a new descriptor its size: reserved with every signal blocked, as the library does. */
static inline int raw_reserve(const struct raw_cycle *c, int fd)
{
	sigset_t all, old;

	if (c->sparse)
		return ftruncate(fd, (off_t)c->size) < 0 ? -errno : 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = -posix_fallocate(fd, 0, (off_t)c->size);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Read the size, map that much shared and read-write, unmap. */
static inline int raw_map_unmap(const struct raw_cycle *c, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (munmap(p, (size_t)st.st_size) < 0)
		return -errno;
	return (uint64_t)st.st_size == c->size ? 0 : -EIO;
}

/* The regular-file check every open by name makes before trusting the descriptor. */
static inline int raw_check_regular(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

/* Close FD and report the first of R and close's error. */
static inline int raw_close(int fd, int r)
{
	int e = close(fd) < 0 ? -errno : 0;
	return r ? r : e;
}

/*
 * The look at the object that removing a POSIX object or a file by its address takes first: a
 * message channel's dead role holders leave files beside it, so the object is opened and, when
 * it is large enough to be a channel, its first bytes are read. Whatever it finds, the removal
 * goes on.
 */
static inline void raw_chan_look(const char *path)
{
	unsigned char head[16];
	struct stat st;

	int fd = openat(AT_FDCWD, path, RAW_OPEN_FLAGS);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= RAW_CHAN_HDR) {
		ssize_t n = pread(fd, head, sizeof(head), 0);
		(void)n; /* the removal goes on whatever was read */
	}
	close(fd);
}

/*
 * Create PATH, size, map, unmap, close and remove it: a POSIX object (its path in the shm
 * directory) or a file. The removal looks for a channel's files first (raw_chan_look), and
 * CHECK_REGULAR is the look before the unlink that removing a file by address makes
 * (pshm_destroy_addr("file:PATH")); removing a POSIX object unlinks whatever holds the name, as
 * shm_unlink does, and has none.
 */
static inline int raw_fd_create(const struct raw_cycle *c, const char *path, bool check_regular)
{
	struct stat st;

	int fd = openat(AT_FDCWD, path, RAW_CREATE_FLAGS, RAW_MODE);
	if (fd < 0)
		return -errno;
	int r = fchmod(fd, RAW_MODE) < 0 ? -errno : 0;
	if (!r)
		r = raw_reserve(c, fd);
	if (!r)
		r = raw_map_unmap(c, fd);
	r = raw_close(fd, r);
	raw_chan_look(path);
	if (check_regular && fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0 && !r)
		r = -errno;
	if (unlinkat(AT_FDCWD, path, 0) < 0 && !r)
		r = -errno;
	return r;
}

/* Open the existing PATH (POSIX object or file), map, unmap, close. */
static inline int raw_fd_attach(const struct raw_cycle *c, const char *path)
{
	int fd = openat(AT_FDCWD, path, RAW_OPEN_FLAGS);
	if (fd < 0)
		return -errno;
	int r = raw_check_regular(fd);
	if (!r)
		r = raw_map_unmap(c, fd);
	return raw_close(fd, r);
}

/* Read the segment's size, attach, detach. */
static inline int raw_shm_map_unmap(const struct raw_cycle *c, int id)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	void *p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		return -errno;
	if (shmdt(p) < 0)
		return -errno;
	return ds.shm_segsz == c->size ? 0 : -EIO;
}

/* Create the System V segment KEY, attach, detach, remove. */
static inline int raw_sysv_create(const struct raw_cycle *c, key_t key)
{
	int extra = c->sparse ? SHM_NORESERVE : 0;
	int id = shmget(key, (size_t)c->size, IPC_CREAT | IPC_EXCL | extra | RAW_MODE);
	if (id < 0)
		return -errno;
	int r = raw_shm_map_unmap(c, id);
	/* Removed by key, as after a close there is only the address to go by. */
	int rid = shmget(key, 0, 0);
	if (rid < 0 || shmctl(rid, IPC_RMID, NULL) < 0) {
		if (!r)
			r = -errno;
		shmctl(id, IPC_RMID, NULL);
	}
	return r;
}

/* Open the existing System V segment KEY, attach, detach. */
static inline int raw_sysv_attach(const struct raw_cycle *c, key_t key)
{
	int id = shmget(key, 0, RAW_MODE);
	if (id < 0)
		return -errno;
	return raw_shm_map_unmap(c, id);
}

/* Make a memfd, size, map, unmap, close (which is its end). */
static inline int raw_memfd_create(const struct raw_cycle *c)
{
	int fd = memfd_create(RAW_MEMFD_NAME, c->mfd_flags);
	if (fd < 0)
		return -errno;
	int r = fchmod(fd, RAW_MODE) < 0 ? -errno : 0;
	if (!r)
		r = raw_reserve(c, fd);
	if (!r)
		r = raw_map_unmap(c, fd);
	return raw_close(fd, r);
}

/* Is FD a memfd? Its /proc link names "/memfd:NAME (deleted)". */
static inline int raw_check_memfd(int fd)
{
	char proc[40], link[PATH_MAX];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	return (size_t)n >= strlen(RAW_MEMFD_PREFIX) &&
	               !memcmp(link, RAW_MEMFD_PREFIX, strlen(RAW_MEMFD_PREFIX))
	           ? 0
	           : -EINVAL;
}

/* Reopen a memfd through PROC ("/proc/PID/fd/FD"), check it, map, unmap, close. */
static inline int raw_memfd_attach(const struct raw_cycle *c, const char *proc)
{
	int fd = openat(AT_FDCWD, proc, RAW_PROC_FD_FLAGS);
	if (fd < 0)
		return -errno;
	int r = raw_check_regular(fd);
	if (!r)
		r = raw_check_memfd(fd);
	if (!r)
		r = raw_map_unmap(c, fd);
	return raw_close(fd, r);
}

/*
 * A System V key nobody uses now and not OTHER, from a seed that differs between processes
 * and runs. 0 or -EEXIST when none was found.
 */
static inline int raw_pick_key(key_t *keyp, key_t other)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec;

	for (int i = 0; i < RAW_KEY_ATTEMPTS; i++) {
		seed = seed * 1103515245u + 12345u;
		key_t key = (key_t)(0x50000000u | (seed >> 4));
		if (key == IPC_PRIVATE || key == other)
			continue;
		if (shmget(key, 0, 0) < 0 && errno == ENOENT) {
			*keyp = key;
			return 0;
		}
	}
	return -EEXIST;
}

#endif /* PSHM_RAW_CYCLE_H */
