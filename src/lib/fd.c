/*
 * fd.c - what the descriptor-based techniques (POSIX, file, memfd, semaphore) share:
 * opening a name safely, creating it with a reserved size, mapping, resizing and describing.
 */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int pshm__fd_keep_regular(int fd, int notreg, struct stat *sbp)
{
	struct stat own, *sb = sbp ? sbp : &own;
	int r = pshm__fstat(fd, sb);

	if (!r && !S_ISREG(sb->st_mode))
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
int pshm__fd_open_at(int dirfd, const char *path, bool create, bool excl, bool rdonly, int extra,
                     struct stat *sbp)
{
	int flags = (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | extra;

	if (create)
		flags |= O_CREAT | (excl ? O_EXCL : 0);
	/* 0600 until the caller applies the mode it wants: never wider in between. */
	int fd = pshm__open_file(dirfd, path, flags, S_IRUSR | S_IWUSR);
	if (fd < 0)
		return fd == -EISDIR || fd == -ENXIO ? -EINVAL : fd;
	/* What O_CREAT|O_EXCL makes is a new regular file: only an existing name needs a look. */
	return create && excl ? fd : pshm__fd_keep_regular(fd, -EINVAL, sbp);
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

/*
 * An exclusive create found DIRFD/PATH taken. A leased object that nobody holds a lease on is
 * dead: it is removed (when we may) and the create goes on. 0 to try again, or -EEXIST.
 */
static int fd_create_taken(int dirfd, const char *path)
{
	struct stat sb;
	int fd;

	if (fstatat(dirfd, path, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -EEXIST;
	if (!S_ISREG(sb.st_mode) || !(sb.st_mode & S_ISVTX))
		return -EEXIST;
	int r = pshm__lease_open(dirfd, path, false, false, 0, &fd);
	if (!r)
		pshm__close(fd);
	return r == -ENOENT ? 0 : -EEXIST;
}

/* The object at DIRFD/PATH was there: open it (under the lease rules) and grow it to SIZE. */
static int fd_create_existing(struct pshm_seg *s, int dirfd, const char *path, uint64_t size,
                              unsigned flags)
{
	struct stat st;
	int fd, r = pshm__lease_open(dirfd, path, flags & PSHM_LEASE, false, 0, &fd);
	if (r)
		return r;
	r = pshm__fstat(fd, &st);
	if (!r && (uint64_t)st.st_size < size)
		r = fd_grow_st(fd, &st, size, flags);
	/* The object was there before: it stays, but our descriptor to it goes. */
	if (r) {
		pshm__close(fd);
		return r;
	}
	s->fd = fd;
	s->lease = flags & PSHM_LEASE;
	return 0;
}

int pshm__fd_create_at(struct pshm_seg *s, int dirfd, const char *path, uint64_t size, mode_t mode,
                       unsigned flags)
{
	bool lease = flags & PSHM_LEASE;
	int fd = -EEXIST, r;

	if (size > INT64_MAX)
		return -EFBIG;
	/* A dead leased object under the name is no object: it goes, and the create goes on. */
	for (int i = 0; i < PSHM__LEASE_TRIES && fd == -EEXIST; i++) {
		fd = pshm__fd_open_at(dirfd, path, true, true, false, 0, NULL);
		if (fd != -EEXIST)
			break;
		if (flags & PSHM_OPEN_OR_CREATE) {
			r = fd_create_existing(s, dirfd, path, size, flags);
			if (r != -ENOENT)
				return r;
		} else if ((r = fd_create_taken(dirfd, path))) {
			return r;
		}
	}
	if (fd < 0)
		return fd == -EEXIST ? -EBUSY : fd;
	s->fd = fd;
	s->created = true;
	/* The lease before the mark (the sticky bit), so a marked object always had a holder. */
	r = lease ? pshm__lease_new(fd) : 0;
	if (!r)
		r = pshm__fchmod(fd, mode | (lease ? S_ISVTX : 0));
	if (!r)
		r = pshm__fd_size_new(fd, size, flags);
	if (r) {
		/* Leave nothing half-made behind, and never remove what someone else put there. */
		if (pshm__same_file(fd, dirfd, path))
			pshm__unlinkat(dirfd, path);
		pshm__close(fd);
		s->fd = -1;
		s->created = false;
		return r;
	}
	s->lease = lease;
	return 0;
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

	/* An object of huge pages takes whole pages (hugetlbfs refuses anything else). */
	uint64_t page = pshm__fd_page(s->fd, NULL);
	if (page > pshm__base_page())
		size = pshm__round_up(size, page);
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
	struct stat sb;

	/* A leased object stays leased: the sticky bit is the lease's, not the caller's, who may
	 * pass it back (a mode that pshm_stat gave) but not set it. */
	int r = pshm__fstat(s->fd, &sb);
	if (r)
		return r;
	if ((mode & S_ISVTX) && !(sb.st_mode & S_ISVTX))
		return -EINVAL;
	return pshm__fchmod(s->fd, (mode & ~(mode_t)S_ISVTX) | (sb.st_mode & S_ISVTX));
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
	st->leased = S_ISREG(sb->st_mode) && (sb->st_mode & S_ISVTX);
}

int pshm__fd_stat(struct pshm_seg *s, struct pshm_stat *st)
{
	struct stat sb;
	int r = pshm__fstat(s->fd, &sb);
	if (r)
		return r;
	pshm__stat_from(st, &sb);
	st->page_size = pshm__fd_page(s->fd, NULL);
	pshm__leases_count(st);
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
	st->page_size =
	    dirfd == AT_FDCWD ? pshm__path_page(path, NULL) : pshm__fd_page(dirfd, NULL);
	pshm__leases_count(st);
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

int pshm__fd_seg_create(struct pshm_seg **sp, struct pshm_seg *s, uint64_t size, mode_t mode,
                        unsigned flags)
{
	int r = 0;
	if (!s)
		return -ENOMEM;
	if (flags & PSHM_HUGE) {
		uint64_t page;
		r = pshm__huge_path_dir(s->path, flags, &page, &s->thp);
		if (!r)
			size = pshm__round_up(size, page);
	}
	if (!r)
		r = pshm__fd_create_at(s, AT_FDCWD, s->path, size, mode, flags);
	if (r) {
		pshm__seg_free(s);
		return r;
	}
	*sp = s;
	return 0;
}

int pshm__fd_seg_open(struct pshm_seg **sp, struct pshm_seg *s, unsigned flags)
{
	if (!s)
		return -ENOMEM;
	/* O_PATH needs no permission on the file itself; fchmod and fchown then go through
	 * sys.c's fallbacks for it. Such a handle only looks: no lease rules for it. */
	bool attrs = flags & PSHM_ATTRS, rdonly = attrs || (flags & PSHM_RDONLY);
	int fd, r = 0;
	if (attrs)
		fd = pshm__fd_open_at(AT_FDCWD, s->path, false, false, true, O_PATH, NULL);
	else
		r = pshm__lease_open(AT_FDCWD, s->path, flags & PSHM_LEASE, rdonly, 0, &fd);
	if (r || fd < 0) {
		pshm__seg_free(s);
		return r ? r : fd;
	}
	s->fd = fd;
	s->rdonly = rdonly;
	s->attrs = attrs;
	s->lease = flags & PSHM_LEASE;
	*sp = s;
	return 0;
}
