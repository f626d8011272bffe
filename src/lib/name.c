/*
 * name.c - POSIX object names, the shm directory, and the shm_open/shm_unlink drop-ins.
 *
 * Name rules are glibc's (leading slashes are dropped; what remains must be non-empty, hold no
 * slash and fit in NAME_MAX) with "." and ".." refused, since they name directories.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

PSHM__API const char *pshm_shm_dir(void)
{
	const char *dir = secure_getenv("PSHM_DIR");
	return dir && *dir ? dir : "/dev/shm";
}

int pshm__name_check(const char *name, const char **basep, size_t *lenp)
{
	if (!name)
		return -EINVAL;
	while (*name == '/')
		name++;
	size_t len = strlen(name);
	if (len == 0 || memchr(name, '/', len) || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	*basep = name;
	if (lenp)
		*lenp = len;
	return 0;
}

int pshm__name_path(const char *name, const char *prefix, char *buf, size_t bufsz)
{
	const char *base;
	size_t blen;
	int r = pshm__name_check(name, &base, &blen);
	return r ? r : pshm__name_join(base, blen, prefix, buf, bufsz);
}

int pshm__name_join(const char *base, size_t blen, const char *prefix, char *buf, size_t bufsz)
{
	const char *dir = pshm_shm_dir();
	size_t dlen = strlen(dir), plen = strlen(prefix);
	int r = pshm__name_fits(dlen, plen, blen, bufsz);
	if (!r)
		pshm__name_put(buf, dir, dlen, prefix, plen, base, blen);
	return r;
}

/* Flags that would make the descriptor something other than an open regular file. */
#define BAD_OFLAGS (O_PATH | O_DIRECTORY | O_TMPFILE)

PSHM__API int pshm_shm_open(const char *name, int oflag, mode_t mode)
{
	char path[PATH_MAX];
	struct stat st;
	int r = pshm__name_path(name, "", path, sizeof(path));

	if (!r && ((oflag & O_ACCMODE) == O_ACCMODE || (oflag & BAD_OFLAGS)))
		r = -EINVAL;
	if (r)
		goto fail;
	/* A FIFO squatting under the name cannot block the open; a lease is waited for as
	 * open(2) waits, unless O_NONBLOCK is asked for (see pshm__open_file). */
	int fd = pshm__open_file(AT_FDCWD, path, oflag | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0) {
		/* A directory or a socket is just another unsuitable name, as glibc says too. */
		r = fd == -EISDIR || fd == -ENXIO ? -EINVAL : fd;
		goto fail;
	}
	r = pshm__fstat(fd, &st);
	if (!r && !S_ISREG(st.st_mode))
		r = -EINVAL;
	if (!r && !(oflag & O_NONBLOCK))
		r = pshm__setfl(fd, oflag & ~O_NONBLOCK & ~O_ACCMODE);
	if (r) {
		/* With O_EXCL the object is this call's own: it must not outlive the failure,
		 * or every retry would find it and say EEXIST. */
		struct stat now;
		if ((oflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && !fstat(fd, &st) &&
		    !lstat(path, &now) && st.st_dev == now.st_dev && st.st_ino == now.st_ino)
			pshm__unlinkat(AT_FDCWD, path);
		pshm__close(fd);
		goto fail;
	}
	return fd;
fail:
	errno = -r;
	return -1;
}

PSHM__API int pshm_shm_unlink(const char *name)
{
	char path[PATH_MAX];
	int r = pshm__name_path(name, "", path, sizeof(path));
	/* POSIX lists no EINVAL here, and glibc says ENOENT: a malformed name names no object. */
	if (r == -EINVAL && name)
		r = -ENOENT;
	if (!r)
		r = pshm__unlinkat(AT_FDCWD, path);
	if (!r)
		return 0;
	errno = r == -EPERM ? EACCES : -r;
	return -1;
}
