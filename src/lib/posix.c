/*
 * posix.c - POSIX shared memory objects, and POSIX named semaphores' objects ("sem.NAME"), in
 * the shm directory. Everything but naming is the descriptor code of fd.c.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* The path of A's object and its canonical address ("/name" or "sem:/name"). */
static int posix_names(const struct pshm__addr *a, char path[PATH_MAX], char address[NAME_MAX + 8])
{
	bool sem = a->kind == PSHM_SEM;
	int r = pshm__name_join(a->name, a->len, sem ? "sem." : "", path, PATH_MAX);
	if (!r && address) {
		/* The name is checked and at most NAME_MAX bytes: it fits. */
		size_t plen = sem ? 5 : 1;
		memcpy(address, sem ? "sem:/" : "/", plen);
		memcpy(address + plen, a->name, a->len + 1);
	}
	return r;
}

static const struct pshm__ops *ops_of(const struct pshm__addr *a)
{
	return a->kind == PSHM_SEM ? &pshm__sem_ops : &pshm__posix_ops;
}

static int posix_create(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size,
                        mode_t mode, unsigned flags)
{
	char path[PATH_MAX], address[NAME_MAX + 8];
	int r = posix_names(a, path, address);
	return r ? r
	         : pshm__fd_seg_create(sp, ops_of(a), a->kind, address, path, size, mode, flags);
}

static int posix_open(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	char path[PATH_MAX], address[NAME_MAX + 8];
	int r = posix_names(a, path, address);
	return r ? r : pshm__fd_seg_open(sp, ops_of(a), a->kind, address, path, flags);
}

static int posix_destroy_addr(const struct pshm__addr *a)
{
	char path[PATH_MAX];
	int r = posix_names(a, path, NULL);
	if (r)
		return r;
	if (a->kind == PSHM_SEM)
		return pshm__unlink_regular(AT_FDCWD, path);
	/* A channel's dead role holders leave beacon files beside it (chan_live.c). */
	pshm__chan_sweep(path);
	/* As shm_unlink(3): whatever holds the name goes, so that a squatter can be cleared. */
	return pshm__unlinkat(AT_FDCWD, path);
}

static int posix_stat_addr(const struct pshm__addr *a, struct pshm_stat *st)
{
	char path[PATH_MAX];
	int r = posix_names(a, path, NULL);
	if (!r)
		r = pshm__stat_at(AT_FDCWD, path, st);
	if (!r)
		snprintf(st->address, sizeof(st->address), "%s/%s",
		         a->kind == PSHM_SEM ? "sem:" : "", a->name);
	return r;
}

const struct pshm__ops pshm__posix_ops = {
    PSHM__FD_NAMED_OPS,           .create = posix_create,    .open = posix_open,
    .sync = pshm__seg_msync,      .resize = pshm__fd_resize, .destroy_addr = posix_destroy_addr,
    .stat_addr = posix_stat_addr,
};

/* A semaphore's object can be looked at and removed, not made: sem_open(3) initialises it. */
const struct pshm__ops pshm__sem_ops = {
    PSHM__FD_NAMED_OPS,           .open = posix_open,
    .sync = pshm__seg_msync,      .destroy_addr = posix_destroy_addr,
    .stat_addr = posix_stat_addr,
};
