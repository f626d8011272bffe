/*
 * file.c - shared mappings of regular files: the descriptor code of fd.c on a path the caller
 * names, plus fdatasync in pshm_sync (in seg.c). The final component is never followed.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

/* "file:" + PATH, allocated; NULL when out of memory. */
static char *file_address(const char *path)
{
	char *address;
	return asprintf(&address, "file:%s", path) < 0 ? NULL : address;
}

static int file_create(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size, mode_t mode,
                       unsigned flags)
{
	char *address = file_address(a->name);
	if (!address)
		return -ENOMEM;
	int r = pshm__fd_seg_create(sp, &pshm__file_ops, PSHM_FILE, address, a->name, size, mode,
	                            flags);
	free(address);
	return r;
}

static int file_open(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	char *address = file_address(a->name);
	if (!address)
		return -ENOMEM;
	int r = pshm__fd_seg_open(sp, &pshm__file_ops, PSHM_FILE, address, a->name, flags);
	free(address);
	return r;
}

static int file_remove(const struct pshm__addr *a)
{
	return pshm__unlink_regular(AT_FDCWD, a->name);
}

static int file_stat_addr(const struct pshm__addr *a, struct pshm_stat *st)
{
	int r = pshm__stat_at(AT_FDCWD, a->name, st);
	if (!r)
		snprintf(st->address, sizeof(st->address), "file:%s", a->name);
	return r;
}

const struct pshm__ops pshm__file_ops = {
    .create = file_create,
    .open = file_open,
    .size = pshm__fd_size,
    .map = pshm__fd_map,
    .unmap = pshm__fd_unmap,
    .resize = pshm__fd_resize,
    .chmod = pshm__fd_chmod,
    .chown = pshm__fd_chown,
    .stat = pshm__fd_stat,
    .destroy = pshm__fd_destroy,
    .remove = file_remove,
    .stat_addr = file_stat_addr,
    .close = pshm__fd_close,
};
