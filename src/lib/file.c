/*
 * file.c - shared mappings of regular files: the descriptor code of fd.c on a path the caller
 * names, plus fdatasync in pshm_sync. The final component is never followed.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The path a handle keeps, and its address "file:PATH", both allocated. A relative NAME is made
 * absolute now: pshm_destroy() must remove this file even after a chdir, and the address must
 * mean the same file to another process. 0 or -errno.
 */
static int file_names(const char *name, char **pathp, char **addressp)
{
	char *cwd = NULL;
	int n;

	if (name[0] != '/' && !(cwd = getcwd(NULL, 0)))
		return -errno;
	if (cwd)
		n = asprintf(pathp, "%s/%s", strcmp(cwd, "/") ? cwd : "", name);
	else
		n = asprintf(pathp, "%s", name);
	free(cwd);
	if (n < 0)
		return -ENOMEM;
	if (n >= PATH_MAX) {
		free(*pathp);
		return -ENAMETOOLONG;
	}
	if (asprintf(addressp, "file:%s", *pathp) < 0) {
		free(*pathp);
		return -ENOMEM;
	}
	return 0;
}

static int file_create(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size, mode_t mode,
                       unsigned flags)
{
	char *path, *address;
	int r = file_names(a->name, &path, &address);
	if (r)
		return r;
	r = pshm__fd_seg_create(sp, pshm__seg_new(&pshm__file_ops, PSHM_FILE, address, path), size,
	                        mode, flags);
	free(address);
	free(path);
	return r;
}

static int file_open(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	char *path, *address;
	int r = file_names(a->name, &path, &address);
	if (r)
		return r;
	r = pshm__fd_seg_open(sp, pshm__seg_new(&pshm__file_ops, PSHM_FILE, address, path), flags);
	free(address);
	free(path);
	return r;
}

static int file_destroy_addr(const struct pshm__addr *a)
{
	/* A channel's dead role holders leave beacon files beside it (chan_live.c). */
	pshm__chan_sweep(a->name);
	return pshm__unlink_regular(AT_FDCWD, a->name);
}

/* A file lives on a disk: its data goes there too, not only the mapping's pages. */
static int file_sync(struct pshm_seg *s)
{
	int r = pshm__seg_msync(s);
	return r || s->rdonly ? r : pshm__fdatasync(s->fd);
}

static int file_stat_addr(const struct pshm__addr *a, struct pshm_stat *st)
{
	char *path, *address;
	int r = pshm__stat_at(AT_FDCWD, a->name, st);
	/* The address is the one a handle would have: absolute, the same from any directory. */
	if (!r && !(r = file_names(a->name, &path, &address))) {
		snprintf(st->address, sizeof(st->address), "%s", address);
		free(path);
		free(address);
	}
	return r;
}

const struct pshm__ops pshm__file_ops = {
    PSHM__FD_NAMED_OPS,          .create = file_create,     .open = file_open,
    .sync = file_sync,           .resize = pshm__fd_resize, .destroy_addr = file_destroy_addr,
    .stat_addr = file_stat_addr,
};
