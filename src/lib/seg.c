/*
 * seg.c - the segment handle: parses the address, checks arguments, and hands each operation
 * to the technique's table of operations. What is common to all techniques (the one mapping a
 * handle holds, the size re-checked before mapping) lives here and nowhere else.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct pshm__ops *ops_for(int kind)
{
	switch (kind) {
	case PSHM_POSIX:
		return &pshm__posix_ops;
	case PSHM_SEM:
		return &pshm__sem_ops;
	case PSHM_SYSV:
		return &pshm__sysv_ops;
	case PSHM_FILE:
		return &pshm__file_ops;
	default:
		return &pshm__memfd_ops;
	}
}

struct pshm_seg *pshm__seg_new(const struct pshm__ops *ops, int kind, const char *address,
                               const char *path)
{
	size_t alen = strlen(address) + 1, plen = path ? strlen(path) + 1 : 0;
	struct pshm_seg *s = malloc(sizeof(*s) + alen + plen);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->kind = kind;
	s->fd = -1;
	s->shmid = -1;
	memcpy(s->address, address, alen);
	if (path) {
		s->path = s->address + alen;
		memcpy(s->path, path, plen);
	}
	return s;
}

void pshm__seg_free(struct pshm_seg *s)
{
	free(s);
}

PSHM__API const char *pshm_kind_name(int kind)
{
	static const char *const names[] = {
	    [PSHM_POSIX] = "posix", [PSHM_SYSV] = "sysv", [PSHM_FILE] = "file",
	    [PSHM_MEMFD] = "memfd", [PSHM_SEM] = "sem",
	};
	if (kind <= 0 || kind >= (int)(sizeof(names) / sizeof(names[0])))
		return "unknown";
	return names[kind];
}

PSHM__API int pshm_create(struct pshm_seg **segp, const char *addr, uint64_t size, mode_t mode,
                          unsigned flags)
{
	struct pshm__addr a;

	if (!segp || (flags & ~(unsigned)(PSHM_OPEN_OR_CREATE | PSHM_SPARSE)) || (mode & ~07777u))
		return -EINVAL;
	int r = pshm__addr_parse(addr, &a);
	if (r)
		return r;
	const struct pshm__ops *ops = ops_for(a.kind);
	if (!ops->create)
		return -EOPNOTSUPP;
	return ops->create(segp, &a, size, mode ? mode : 0600, flags);
}

PSHM__API int pshm_open(struct pshm_seg **segp, const char *addr, unsigned flags)
{
	struct pshm__addr a;

	if (!segp || (flags & ~(unsigned)(PSHM_RDONLY | PSHM_ATTRS)))
		return -EINVAL;
	int r = pshm__addr_parse(addr, &a);
	if (r)
		return r;
	return ops_for(a.kind)->open(segp, &a, flags);
}

PSHM__API int pshm_close(struct pshm_seg *seg)
{
	if (!seg)
		return 0;
	int r = pshm_unmap(seg);
	int c = seg->ops->close(seg);
	pshm__seg_free(seg);
	return r ? r : c;
}

PSHM__API int pshm_kind(const struct pshm_seg *seg)
{
	return seg->kind;
}

PSHM__API const char *pshm_address(const struct pshm_seg *seg)
{
	/* memfd and System V addresses are made on first use, to keep opens cheap; the handle
	 * is the library's own memory, const only to the caller. */
	if (seg->kind == PSHM_MEMFD)
		pshm__memfd_address((struct pshm_seg *)seg);
	else if (seg->kind == PSHM_SYSV)
		pshm__sysv_address((struct pshm_seg *)seg);
	return seg->address;
}

PSHM__API int pshm_fd(const struct pshm_seg *seg)
{
	return seg->fd >= 0 ? seg->fd : -EOPNOTSUPP;
}

PSHM__API int pshm_created(const struct pshm_seg *seg)
{
	return seg->created;
}

int pshm__map(struct pshm_seg *seg, unsigned flags, void **addrp, size_t *lenp, _Atomic bool *flag)
{
	uint64_t size;

	if (flags & ~(unsigned)(PSHM_RDONLY | PSHM_POPULATE | PSHM_MAP_GUARD))
		return -EINVAL;
	if (seg->attrs)
		return -EBADF;
	if (seg->map || seg->maplen)
		return -EBUSY;
	/* The size now, not the size at open: another process may have changed it since. */
	int r = seg->ops->size(seg, &size);
	if (r)
		return r;
	if (size > SIZE_MAX)
		return -EFBIG;
	*addrp = NULL;
	*lenp = 0;
	if (size == 0)
		return 0;
	bool rdonly = seg->rdonly || (flags & PSHM_RDONLY);
	r = seg->ops->map(seg, (size_t)size, rdonly, flags & PSHM_POPULATE, addrp);
	if (r)
		return r;
	seg->map = *addrp;
	seg->maplen = (size_t)size;
	if (flags & PSHM_MAP_GUARD) {
		seg->guard_flag = flag;
		atomic_store(flag, false);
		r = pshm__guard_add(&seg->guard, seg->map, seg->maplen,
		                    PROT_READ | (rdonly ? 0 : PROT_WRITE), flag);
		if (r) {
			pshm_unmap(seg);
			*addrp = NULL;
			return r;
		}
	}
	*lenp = (size_t)size;
	return 0;
}

PSHM__API int pshm_map(struct pshm_seg *seg, unsigned flags, void **addrp, size_t *lenp)
{
	return pshm__map(seg, flags, addrp, lenp, &seg->truncated);
}

PSHM__API int pshm_map_truncated(const struct pshm_seg *seg)
{
	if (!seg || !seg->guard)
		return -EINVAL;
	return atomic_load(seg->guard_flag);
}

PSHM__API int pshm_unmap(struct pshm_seg *seg)
{
	if (!seg->map)
		return 0;
	/* The guard goes first: the handler must never map zero pages over a range that is no
	 * longer this mapping. Once zero pages replaced part of it, munmap takes all of it (for
	 * a System V attachment as shmdt would), where shmdt would leave those pages behind. */
	bool zeroed = seg->guard && atomic_load(seg->guard_flag);
	pshm__guard_remove(seg->guard);
	seg->guard = NULL;
	int r = zeroed ? pshm__munmap(seg->map, seg->maplen) : seg->ops->unmap(seg);
	if (!r) {
		seg->map = NULL;
		seg->maplen = 0;
	}
	return r;
}

PSHM__API int pshm_sync(struct pshm_seg *seg)
{
	if (seg->attrs)
		return -EBADF;
	if (seg->map && msync(seg->map, seg->maplen, MS_SYNC) < 0)
		return -errno;
	if (seg->kind == PSHM_FILE && !seg->rdonly && fdatasync(seg->fd) < 0)
		return -errno;
	return 0;
}

/* Run OP if the technique has it and the handle may change the object. */
#define MUTATE(seg, op, ...)                                                                       \
	((seg)->ops->op == NULL ? -EOPNOTSUPP                                                      \
	 : (seg)->rdonly        ? -EBADF                                                           \
	                        : (seg)->ops->op((seg), __VA_ARGS__))

PSHM__API int pshm_resize(struct pshm_seg *seg, uint64_t size, unsigned flags)
{
	if (flags & ~(unsigned)PSHM_SPARSE)
		return -EINVAL;
	return MUTATE(seg, resize, size, flags);
}

PSHM__API int pshm_chmod(struct pshm_seg *seg, mode_t mode)
{
	if (mode & ~07777u)
		return -EINVAL;
	return seg->ops->chmod(seg, mode);
}

PSHM__API int pshm_chown(struct pshm_seg *seg, uid_t uid, gid_t gid)
{
	return seg->ops->chown(seg, uid, gid);
}

PSHM__API int pshm_destroy(struct pshm_seg *seg)
{
	return seg->ops->destroy ? seg->ops->destroy(seg) : -EOPNOTSUPP;
}

PSHM__API int pshm_remove(const char *addr)
{
	struct pshm__addr a;
	int r = pshm__addr_parse(addr, &a);
	if (r)
		return r;
	const struct pshm__ops *ops = ops_for(a.kind);
	/* A channel's dead role holders leave beacon files beside it (chan_live.c). */
	if (a.kind == PSHM_POSIX || a.kind == PSHM_FILE)
		pshm__chan_sweep(&a);
	return ops->remove ? ops->remove(&a) : -EOPNOTSUPP;
}

PSHM__API int pshm_stat(struct pshm_seg *seg, struct pshm_stat *st)
{
	memset(st, 0, sizeof(*st));
	int r = seg->ops->stat(seg, st);
	if (r)
		return r;
	st->kind = seg->kind;
	strncpy(st->address, pshm_address(seg), sizeof(st->address) - 1);
	if (seg->kind == PSHM_MEMFD) {
		st->pid = getpid();
		st->fd = seg->fd;
	}
	return 0;
}

PSHM__API int pshm_stat_addr(const char *addr, struct pshm_stat *st)
{
	struct pshm__addr a;
	int r = pshm__addr_parse(addr, &a);
	if (r)
		return r;
	if (a.kind == PSHM_MEMFD && a.anonymous)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	r = ops_for(a.kind)->stat_addr(&a, st);
	if (!r)
		st->kind = a.kind;
	return r;
}
