/*
 * lease.c - leases: removal of an object by its last user, also after a crash.
 *
 * A lease is an open file description lock, F_RDLCK, on the byte at PSHM_LEASE_OFFSET of a POSIX
 * object or file: the kernel lets go of it when the last descriptor of that description closes,
 * so when its process dies. A leased object (created with PSHM_LEASE) has the sticky bit in its
 * mode, which only its owner may set or clear and anyone may read with stat. Removal takes
 * F_WRLCK on the byte, which succeeds only when nobody holds a lease, and keeps it while the
 * name goes, so that nobody takes a lease on an object being removed. docs/ARCHITECTURE.md has
 * the protocol and why it holds.
 */
#include "internal.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LEASE_BYTE ((off_t)PSHM_LEASE_OFFSET)

bool pshm__same_file(int fd, int dirfd, const char *path)
{
	struct stat a, b;
	return !fstat(fd, &a) && !fstatat(dirfd, path, &b, AT_SYMLINK_NOFOLLOW) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * FD (writable) holds F_WRLCK on the lease byte: nobody holds a lease, and none can be taken.
 * Remove DIRFD/PATH if it still names FD's file. 0 or -errno.
 */
static int remove_locked(int fd, int dirfd, const char *path)
{
	if (!pshm__same_file(fd, dirfd, path))
		return -ENOENT;
	return pshm__unlinkat(dirfd, path);
}

/*
 * Take, or test for, the removal lock: 1 when FD now holds it (nobody else held anything on
 * the byte), 0 when someone holds a lease or is removing, or -errno.
 */
static int removal_lock(int fd)
{
	int r = pshm__lock(fd, F_OFD_SETLK, F_WRLCK, LEASE_BYTE, 1);
	if (r == -EAGAIN || r == -EACCES)
		return 0;
	return r ? r : 1;
}

int pshm__lease_join(int fd, const struct stat *sb, int dirfd, const char *path, bool lease,
                     bool writable)
{
	int r;

	if (sb->st_mode & S_ISVTX) {
		/*
		 * A leased object is alive only while someone holds a lease. One who may write
		 * it tests that by taking the removal lock, which also makes the test and the
		 * removal one step; one who may only read it asks whether the lock could be had.
		 */
		if (writable) {
			r = removal_lock(fd);
			if (r < 0)
				return r;
			if (r == 1) {
				r = remove_locked(fd, dirfd, path);
				return r && r != -ENOENT ? r : -ENOENT;
			}
		} else {
			r = pshm__lock(fd, F_OFD_GETLK, F_WRLCK, LEASE_BYTE, 1);
			if (r < 0)
				return r;
			if (r == F_UNLCK)
				return -ENOENT; /* dead: pshm_gc() or a writer removes it */
		}
	}
	if (!lease)
		return 0;
	r = pshm__lock(fd, F_OFD_SETLK, F_RDLCK, LEASE_BYTE, 1);
	if (r == -EAGAIN || r == -EACCES)
		return -EAGAIN; /* being removed: the name goes, or names a new object */
	if (r)
		return r;
	/* Removed between our open and our lock: its remover held the lock until then. */
	return pshm__same_file(fd, dirfd, path) ? 0 : -EAGAIN;
}

int pshm__lease_open(int dirfd, const char *path, bool lease, bool rdonly, int extra, int *fdp)
{
	for (int i = 0; i < PSHM__LEASE_TRIES; i++) {
		struct stat sb;
		int fd = pshm__fd_open_at(dirfd, path, false, false, rdonly, extra, &sb);
		if (fd < 0)
			return fd;
		int r = pshm__lease_join(fd, &sb, dirfd, path, lease, !rdonly);
		if (!r) {
			*fdp = fd;
			return 0;
		}
		pshm__close(fd);
		if (r != -EAGAIN)
			return r;
		sched_yield(); /* let the remover finish */
	}
	return -EBUSY;
}

int pshm__lease_new(int fd)
{
	return pshm__lock(fd, F_OFD_SETLK, F_RDLCK, LEASE_BYTE, 1);
}

void pshm__lease_release(struct pshm_seg *s)
{
	char proc[64];
	struct stat sb;

	if (!s->path || pshm__fstat(s->fd, &sb) || !(sb.st_mode & S_ISVTX))
		return;
	/*
	 * The lease is the handle's description's, which a child forked since, or a dup, shares:
	 * letting go of it, or turning it into the removal lock, would act for them too. So a new
	 * description tries the removal, once ours is closed: it gets the lock only when no
	 * description anywhere holds a lease, ours included if another process still has it. The
	 * new one is read-write if the file's mode allows; one who may only read removes nothing.
	 */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
	int wfd = pshm__openat(AT_FDCWD, proc, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
	if (wfd < 0)
		return; /* not ours to remove: the next opener or pshm_gc() does */
	s->close_err = pshm__close(s->fd);
	s->fd = -1;
	if (removal_lock(wfd) == 1)
		remove_locked(wfd, AT_FDCWD, s->path);
	pshm__close(wfd);
}

int pshm__gc_fd(int fd, int dirfd, const char *path, unsigned flags, struct stat *sb)
{
	int r = pshm__fstat(fd, sb);
	if (r)
		return r;
	if (!S_ISREG(sb->st_mode) || !(sb->st_mode & S_ISVTX))
		return 0;
	r = removal_lock(fd);
	if (r <= 0)
		return r;
	if (flags & PSHM_GC_DRY_RUN)
		return pshm__same_file(fd, dirfd, path) ? 1 : 0;
	r = remove_locked(fd, dirfd, path);
	return r == -ENOENT ? 0 : r ? r : 1;
}

/* ---- counting leases ------------------------------------------------------------------------ */

struct lease_key {
	uint64_t dev, ino;
};

static int cmp_key(const void *a, const void *b)
{
	const struct lease_key *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/*
 * One line of /proc/locks: "N: OFDLCK ADVISORY READ -1 MAJ:MIN:INO START END", the device in
 * hex. True, with *K filled, for a read lock (a lease) that covers the lease byte; a waiter's
 * line ("N: -> ...") holds nothing.
 */
static bool lease_line(const char *line, struct lease_key *k)
{
	char class[16], kind[16], type[16], end[32];
	unsigned maj, min;
	unsigned long long ino, start;
	long long pid;

	if (strstr(line, "->"))
		return false;
	if (sscanf(line, "%*d: %15s %15s %15s %lld %x:%x:%llu %llu %31s", class, kind, type, &pid,
	           &maj, &min, &ino, &start, end) != 9)
		return false;
	if (strcmp(type, "READ") || start > (unsigned long long)LEASE_BYTE)
		return false;
	if (strcmp(end, "EOF") && strtoull(end, NULL, 10) < (unsigned long long)LEASE_BYTE)
		return false;
	k->dev = makedev(maj, min);
	k->ino = ino;
	return true;
}

int pshm__leases_load(struct pshm__leases *t)
{
	char line[256];
	FILE *f;

	memset(t, 0, sizeof(*t));
	int r = pshm__fopen_read("/proc/locks", &f);
	if (r)
		return r;
	while (fgets(line, sizeof(line), f)) {
		struct lease_key k;
		if (!lease_line(line, &k))
			continue;
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 32;
			void *v = realloc(t->v, cap * sizeof(k));
			if (!v) {
				r = -ENOMEM;
				break;
			}
			t->v = v;
			t->cap = cap;
		}
		((struct lease_key *)t->v)[t->n++] = k;
	}
	pshm__fclose(f);
	if (r) {
		pshm__leases_free(t);
		return r;
	}
	if (t->n) /* qsort takes no NULL array, even empty */
		qsort(t->v, t->n, sizeof(struct lease_key), cmp_key);
	t->loaded = true;
	return 0;
}

void pshm__leases_free(struct pshm__leases *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void pshm__leases_fill(const struct pshm__leases *t, struct pshm_stat *st)
{
	if (!t->loaded) {
		st->leases = PSHM_LEASES_UNKNOWN;
		return;
	}
	const struct lease_key *v = t->v;
	struct lease_key k = {st->dev, st->ino};
	size_t lo = 0, hi = t->n;
	while (lo < hi) { /* the first entry not below K */
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_key(&v[mid], &k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t n = 0;
	while (lo < t->n && !cmp_key(&v[lo], &k) && n < PSHM_LEASES_UNKNOWN - 1) {
		n++;
		lo++;
	}
	st->leases = n;
}

void pshm__leases_count(struct pshm_stat *st)
{
	struct pshm__leases t;
	pshm__leases_load(&t); /* unread: counted as unknown */
	pshm__leases_fill(&t, st);
	pshm__leases_free(&t);
}
