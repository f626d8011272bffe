/*
 * posix.c - POSIX shared memory objects, and POSIX named semaphores' objects ("sem.NAME"), in
 * the shm directory. Everything but naming is the descriptor code of fd.c.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static const struct pshm__ops *ops_of(const struct pshm__addr *a)
{
	return a->kind == PSHM_SEM ? &pshm__sem_ops : &pshm__posix_ops;
}

/* The path of A's object: the shm directory's file NAME, or sem.NAME for a semaphore. */
static int posix_path(const struct pshm__addr *a, char path[PATH_MAX])
{
	return pshm__name_join(a->name, a->len, a->kind == PSHM_SEM ? "sem." : "", path, PATH_MAX);
}

/*
 * A new handle for A, its canonical address ("/name" or "sem:/name") and its path written in
 * place: every create and open by name makes one, so the name is measured once and copied once
 * to each. NULL with *RP set (-ENAMETOOLONG, -ENOMEM) when there is none.
 */
static struct pshm_seg *posix_seg(const struct pshm__addr *a, int *rp)
{
	bool sem = a->kind == PSHM_SEM;
	const char *dir = pshm__shm_dir(), *prefix = sem ? "sem." : "",
	           *scheme = sem ? "sem:/" : "/";
	size_t dlen = strlen(dir), plen = sem ? 4 : 0, slen = sem ? 5 : 1;

	*rp = pshm__name_fits(dlen, plen, a->len, PATH_MAX);
	if (*rp)
		return NULL;
	struct pshm_seg *s =
	    pshm__seg_alloc(ops_of(a), a->kind, slen + a->len + 1, dlen + 1 + plen + a->len + 1);
	if (!s) {
		*rp = -ENOMEM;
		return NULL;
	}
	/* The name is checked and at most NAME_MAX bytes: both fit. */
	memcpy(s->address, scheme, slen);
	memcpy(s->address + slen, a->name, a->len);
	s->address[slen + a->len] = '\0';
	pshm__name_put(s->path, dir, dlen, prefix, plen, a->name, a->len);
	return s;
}

static int posix_create(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size,
                        mode_t mode, unsigned flags)
{
	int r;
	struct pshm_seg *s = posix_seg(a, &r);
	return s ? pshm__fd_seg_create(sp, s, size, mode, flags) : r;
}

static int posix_open(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	int r;
	struct pshm_seg *s = posix_seg(a, &r);
	return s ? pshm__fd_seg_open(sp, s, flags) : r;
}

static int posix_destroy_addr(const struct pshm__addr *a)
{
	char path[PATH_MAX];
	int r = posix_path(a, path);
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
	int r = posix_path(a, path);
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
