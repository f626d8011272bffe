/*
 * fd.c - what the descriptor-based techniques (POSIX, file, memfd, semaphore) share:
 * opening a name safely, creating it with a reserved size, mapping, resizing and describing.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Is DIRFD/PATH still the file open as FD? Guards the removal of a half-made file, so it calls
 * fstat directly: the failure being cleaned up may be pshm__fstat's own.
 */
static bool same_file(int fd, int dirfd, const char *path)
{
	struct stat a, b;
	return !fstat(fd, &a) && !fstatat(dirfd, path, &b, AT_SYMLINK_NOFOLLOW) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int pshm__fd_keep_regular(int fd, int notreg)
{
	struct stat st;
	int r = pshm__fstat(fd, &st);

	if (!r && !S_ISREG(st.st_mode))
		r = notreg;
	if (r) {
		pshm__close(fd);
		return r;
	}
	return fd;
}

/*
 * Open DIRFD/PATH as a regular file. Never follows a final symlink (-ELOOP), never blocks on a
 * FIFO, and refuses anything not a regular file with -EINVAL; waits, as open(2) does, for
 * another process's lease on the file to break (see pshm__open_file). Returns a descriptor or
 * -errno.
 */
int pshm__fd_open_at(int dirfd, const char *path, bool create, bool excl, bool rdonly, int extra)
{
	int flags = (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | extra;

	if (create)
		flags |= O_CREAT | (excl ? O_EXCL : 0);
	/* 0600 until the caller applies the mode it wants: never wider in between. */
	int fd = pshm__open_file(dirfd, path, flags, S_IRUSR | S_IWUSR);
	if (fd < 0)
		return fd == -EISDIR || fd == -ENXIO ? -EINVAL : fd;
	/* What O_CREAT|O_EXCL makes is a new regular file: only an existing name needs a look. */
	return create && excl ? fd : pshm__fd_keep_regular(fd, -EINVAL);
}

/*
 * Grow FD from OLD to SIZE bytes (OLD < SIZE), reserving what is added unless sparse, or leave it
 * as it was. posix_fallocate also sets the size, so one call both reserves and sizes; but on a
 * disk file system it can fail after taking part of the range, and extend the file that far.
 * The rule that gives all of it back: a failed growth changes nothing inside the old size, so
 * truncating back to OLD, which frees every block past it, restores the object and the free
 * space. Only the block that holds the old end (BLKSIZE bytes) lies partly inside; it is
 * reserved last and on its own, so that its reservation either takes that one block or nothing.
 * Holes inside the old size stay holes: growth reserves what it adds, never what was there.
 * Bytes another process stored past OLD during a failed growth go with it, as in any shrink.
 */
static int fd_grow(int fd, uint64_t old, uint64_t size, uint64_t blksize, unsigned flags)
{
	if (size > INT64_MAX)
		return -EFBIG;
	if (flags & PSHM_SPARSE)
		return pshm__ftruncate(fd, size);
	uint64_t mid = old % blksize ? old - old % blksize + blksize : old;
	if (mid > size)
		mid = size;
	int r = pshm__reserve(fd, mid, size - mid);
	if (!r)
		r = pshm__reserve(fd, old, mid - old);
	if (r)
		pshm__ftruncate(fd, old);
	return r;
}

/* Give a new, empty descriptor SIZE bytes, reserved unless sparse; still empty on failure. */
int pshm__fd_size_new(int fd, uint64_t size, unsigned flags)
{
	return size ? fd_grow(fd, 0, size, 1, flags) : 0;
}

/* Grow the descriptor FD, which fstat described as *ST, to SIZE bytes (see fd_grow). */
static int fd_grow_st(int fd, const struct stat *st, uint64_t size, unsigned flags)
{
	uint64_t blksize = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 1;
	return fd_grow(fd, (uint64_t)st->st_size, size, blksize, flags);
}

int pshm__fd_create_at(struct pshm_seg *s, int dirfd, const char *path, uint64_t size, mode_t mode,
                       unsigned flags)
{
	bool excl = !(flags & PSHM_OPEN_OR_CREATE);
	int fd, r;

	if (size > INT64_MAX)
		return -EFBIG;
	fd = pshm__fd_open_at(dirfd, path, true, true, false, 0);
	if (fd == -EEXIST && !excl) {
		fd = pshm__fd_open_at(dirfd, path, false, false, false, 0);
		if (fd < 0)
			return fd;
		struct stat st;
		r = pshm__fstat(fd, &st);
		if (!r && (uint64_t)st.st_size < size)
			r = fd_grow_st(fd, &st, size, flags);
		/* The object was there before: it stays, but our descriptor to it goes. */
		if (r)
			pshm__close(fd);
		else
			s->fd = fd;
		return r;
	}
	if (fd < 0)
		return fd;
	s->fd = fd;
	s->created = true;
	r = pshm__fchmod(fd, mode);
	if (!r)
		r = pshm__fd_size_new(fd, size, flags);
	if (r) {
		/* Leave nothing half-made behind, and never remove what someone else put there. */
		if (same_file(fd, dirfd, path))
			pshm__unlinkat(dirfd, path);
		pshm__close(fd);
		s->fd = -1;
		s->created = false;
	}
	return r;
}

int pshm__fd_size(struct pshm_seg *s, uint64_t *sizep)
{
	struct stat st;
	int r = pshm__fstat(s->fd, &st);
	if (!r)
		*sizep = (uint64_t)st.st_size;
	return r;
}

int pshm__fd_map(struct pshm_seg *s, size_t len, bool rdonly, bool populate, void **addrp)
{
	int prot = PROT_READ | (rdonly ? 0 : PROT_WRITE);
	return pshm__mmap(addrp, len, prot, MAP_SHARED | (populate ? MAP_POPULATE : 0), s->fd);
}

int pshm__fd_unmap(struct pshm_seg *s)
{
	return pshm__munmap(s->map, s->maplen);
}

int pshm__fd_resize(struct pshm_seg *s, uint64_t size, unsigned flags)
{
	struct stat st;
	int r;

	if (size > INT64_MAX)
		return -EFBIG;
	if (size == 0 || (flags & PSHM_SPARSE))
		return pshm__ftruncate(s->fd, size);
	r = pshm__fstat(s->fd, &st);
	if (r)
		return r;
	if (size <= (uint64_t)st.st_size)
		return pshm__ftruncate(s->fd, size);
	return fd_grow_st(s->fd, &st, size, flags);
}

int pshm__fd_chmod(struct pshm_seg *s, mode_t mode)
{
	return pshm__fchmod(s->fd, mode);
}

int pshm__fd_chown(struct pshm_seg *s, uid_t uid, gid_t gid)
{
	return pshm__fchown(s->fd, uid, gid);
}

void pshm__stat_from(struct pshm_stat *st, const struct stat *sb)
{
	st->size = (uint64_t)sb->st_size;
	st->allocated = (uint64_t)sb->st_blocks * 512;
	st->mode = sb->st_mode & 07777;
	st->uid = sb->st_uid;
	st->gid = sb->st_gid;
	st->atime = (struct pshm_time){sb->st_atim.tv_sec, sb->st_atim.tv_nsec};
	st->mtime = (struct pshm_time){sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec};
	st->ctime = (struct pshm_time){sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec};
	st->dev = sb->st_dev;
	st->ino = sb->st_ino;
	st->nlink = sb->st_nlink;
}

int pshm__fd_stat(struct pshm_seg *s, struct pshm_stat *st)
{
	struct stat sb;
	int r = pshm__fstat(s->fd, &sb);
	if (r)
		return r;
	pshm__stat_from(st, &sb);
	return 0;
}

int pshm__stat_at(int dirfd, const char *path, struct pshm_stat *st)
{
	struct stat sb;

	if (fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return S_ISLNK(sb.st_mode) ? -ELOOP : -EINVAL;
	pshm__stat_from(st, &sb);
	return 0;
}

int pshm__fd_destroy(struct pshm_seg *s)
{
	if (!s->path) /* an adopted descriptor whose name is gone */
		return -ENOENT;
	return pshm__unlinkat(AT_FDCWD, s->path);
}

int pshm__unlink_regular(int dirfd, const char *path)
{
	struct stat sb;

	if (fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return S_ISLNK(sb.st_mode) ? -ELOOP : -EINVAL;
	return pshm__unlinkat(dirfd, path);
}

int pshm__fd_seg_create(struct pshm_seg **sp, const struct pshm__ops *ops, int kind,
                        const char *address, const char *path, uint64_t size, mode_t mode,
                        unsigned flags)
{
	struct pshm_seg *s = pshm__seg_new(ops, kind, address, path);
	if (!s)
		return -ENOMEM;
	int r = pshm__fd_create_at(s, AT_FDCWD, s->path, size, mode, flags);
	if (r) {
		pshm__seg_free(s);
		return r;
	}
	*sp = s;
	return 0;
}

int pshm__fd_seg_open(struct pshm_seg **sp, const struct pshm__ops *ops, int kind,
                      const char *address, const char *path, unsigned flags)
{
	/* O_PATH needs no permission on the file itself; fchmod and fchown then go through
	 * sys.c's fallbacks for it. */
	bool attrs = flags & PSHM_ATTRS;
	int fd = pshm__fd_open_at(AT_FDCWD, path, false, false, attrs || (flags & PSHM_RDONLY),
	                          attrs ? O_PATH : 0);
	if (fd < 0)
		return fd;
	struct pshm_seg *s = pshm__seg_new(ops, kind, address, path);
	if (!s) {
		pshm__close(fd);
		return -ENOMEM;
	}
	s->fd = fd;
	s->rdonly = attrs || (flags & PSHM_RDONLY);
	s->attrs = attrs;
	*sp = s;
	return 0;
}
