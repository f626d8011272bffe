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

/*
 * The shm directory. Until the first use it is NULL; the first use reads PSHM_DIR, and
 * pshm_set_shm_dir() replaces it. Every string ever published here stays allocated, linked
 * from `kept`, since a caller of pshm_shm_dir() may hold one for the life of the process and
 * another thread may be using one while it is replaced.
 */
struct kept_dir {
	struct kept_dir *next;
	char path[];
};
const char *_Atomic pshm__dir;
static struct kept_dir *_Atomic kept;

#define DEFAULT_DIR "/dev/shm"

/* A lasting copy of DIR; NULL when memory is short and the one spare buffer, there for that,
 * is taken or too small. */
static const char *keep(const char *dir)
{
	static char spare[PATH_MAX];
	static atomic_flag spare_taken = ATOMIC_FLAG_INIT;
	size_t len = strlen(dir);
	struct kept_dir *k = malloc(sizeof(*k) + len + 1);
	if (!k) {
		if (len >= sizeof(spare) || atomic_flag_test_and_set(&spare_taken))
			return NULL;
		memcpy(spare, dir, len + 1);
		return spare;
	}
	memcpy(k->path, dir, len + 1);
	k->next = atomic_load_explicit(&kept, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&kept, &k->next, k, memory_order_release,
	                                              memory_order_relaxed))
		;
	return k->path;
}

/* PSHM_DIR as the environment has it now, or NULL when unset or empty. */
static const char *dir_from_env(void)
{
	const char *env = secure_getenv("PSHM_DIR");
	return env && *env ? env : NULL;
}

const char *pshm__shm_dir_first(void)
{
	const char *env = dir_from_env(), *dir = env ? keep(env) : DEFAULT_DIR;
	if (!dir)
		return env; /* no memory to keep it: used this once, and read again next time */
	const char *none = NULL;
	if (atomic_compare_exchange_strong_explicit(&pshm__dir, &none, dir, memory_order_acq_rel,
	                                            memory_order_acquire))
		return dir;
	return none; /* another thread was first: its string stands, and ours stays kept */
}

PSHM__API const char *pshm_shm_dir(void)
{
	return pshm__shm_dir();
}

PSHM__API int pshm_set_shm_dir(const char *dir)
{
	const char *use;

	if (dir) {
		size_t len = strlen(dir);
		if (dir[0] != '/' || dir[len - 1] == '/')
			return -EINVAL;
		if (len >= PATH_MAX)
			return -ENAMETOOLONG;
		use = dir;
	} else {
		use = dir_from_env();
	}
	const char *now = use ? keep(use) : DEFAULT_DIR;
	if (!now)
		return -ENOMEM;
	atomic_store_explicit(&pshm__dir, now, memory_order_release);
	return 0;
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
	const char *dir = pshm__shm_dir();
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
