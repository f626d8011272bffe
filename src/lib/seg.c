/*
 * seg.c - the segment handle: parses the address, checks arguments, and hands each operation
 * to the technique's table of operations. What is common to all techniques (the one mapping a
 * handle holds, the size re-checked before mapping, the descriptor a handle may hold) lives
 * here and nowhere else; what differs between them lives in their tables, so nothing here
 * asks which kind a handle is.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Operation OP of the table OPS, with the arguments that follow: -EOPNOTSUPP when the
 * technique has none. The one place where a NULL entry is looked at.
 */
#define OP(ops, op, ...) ((ops)->op ? (ops)->op(__VA_ARGS__) : -EOPNOTSUPP)

const struct pshm__ops *pshm__ops_for(int kind)
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
	case PSHM_MEMFD:
		return &pshm__memfd_ops;
	default:
		return NULL;
	}
}

/* Parse ADDR into *A and find its technique's table: 0, a parse error, or -EINVAL. */
static int addr_ops(const char *addr, struct pshm__addr *a, const struct pshm__ops **opsp)
{
	int r = pshm__addr_parse(addr, a);
	if (r)
		return r;
	*opsp = pshm__ops_for(a->kind);
	return *opsp ? 0 : -EINVAL;
}

struct pshm_seg *pshm__seg_alloc(const struct pshm__ops *ops, int kind, size_t alen, size_t plen)
{
	struct pshm_seg *s = malloc(sizeof(*s) + alen + plen);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->kind = kind;
	s->fd = -1;
	s->shmid = -1;
	if (plen)
		s->path = s->address + alen;
	return s;
}

struct pshm_seg *pshm__seg_new(const struct pshm__ops *ops, int kind, const char *address,
                               const char *path)
{
	size_t alen = strlen(address) + 1, plen = path ? strlen(path) + 1 : 0;
	struct pshm_seg *s = pshm__seg_alloc(ops, kind, alen, plen);
	if (s) {
		memcpy(s->address, address, alen);
		if (path)
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
	const struct pshm__ops *ops;
	struct pshm__addr a;

	/* The sticky bit marks a leased object: PSHM_LEASE sets it, never MODE. A page size
	 * goes with PSHM_HUGE only. */
	if (!segp ||
	    (flags &
	     ~(PSHM_OPEN_OR_CREATE | PSHM_SPARSE | PSHM_LEASE | PSHM_HUGE | PSHM_HUGE_MASK)) ||
	    ((flags & PSHM_HUGE_MASK) && !(flags & PSHM_HUGE)) || (mode & ~07777u) ||
	    (mode & S_ISVTX))
		return -EINVAL;
	int r = addr_ops(addr, &a, &ops);
	return r ? r : OP(ops, create, segp, &a, size, mode ? mode : 0600, flags);
}

PSHM__API int pshm_open(struct pshm_seg **segp, const char *addr, unsigned flags)
{
	const struct pshm__ops *ops;
	struct pshm__addr a;

	if (!segp || (flags & ~(unsigned)(PSHM_RDONLY | PSHM_ATTRS | PSHM_LEASE)) ||
	    ((flags & PSHM_ATTRS) && (flags & PSHM_LEASE)))
		return -EINVAL;
	int r = addr_ops(addr, &a, &ops);
	return r ? r : OP(ops, open, segp, &a, flags);
}

/* The handle's descriptor, if it has one, is the handle's to close, whatever the technique. */
PSHM__API int pshm_close(struct pshm_seg *seg)
{
	if (!seg)
		return 0;
	int r = pshm_unmap(seg);
	/* The lease goes while the descriptor is still open: the last one removes the object. */
	if (seg->lease && seg->ops->release)
		seg->ops->release(seg);
	int c = seg->fd >= 0 ? pshm__close(seg->fd) : seg->close_err;
	pshm__seg_free(seg);
	return r ? r : c;
}

PSHM__API int pshm_kind(const struct pshm_seg *seg)
{
	return seg->kind;
}

PSHM__API const char *pshm_address(const struct pshm_seg *seg)
{
	/* An address left empty at open (memfd, System V) is written on first use by the
	 * technique, to keep opens cheap; the handle is the library's own memory, const only to
	 * the caller. */
	if (!seg->address[0])
		(void)OP(seg->ops, address, (struct pshm_seg *)seg);
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
	int r = OP(seg->ops, size, seg, &size);
	if (r)
		return r;
	if (size > SIZE_MAX)
		return -EFBIG;
	*addrp = NULL;
	*lenp = 0;
	if (size == 0)
		return 0;
	bool rdonly = seg->rdonly || (flags & PSHM_RDONLY);
	r = OP(seg->ops, map, seg, (size_t)size, rdonly, flags & PSHM_POPULATE, addrp);
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
	/* Advice only: a kernel that ignores it still maps the object. */
	if (seg->thp)
		(void)pshm__madvise(seg->map, seg->maplen, MADV_HUGEPAGE);
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
	int r = zeroed ? pshm__munmap(seg->map, seg->maplen) : OP(seg->ops, unmap, seg);
	if (!r) {
		seg->map = NULL;
		seg->maplen = 0;
	}
	return r;
}

int pshm__seg_msync(struct pshm_seg *s)
{
	return s->map ? pshm__msync(s->map, s->maplen) : 0;
}

PSHM__API int pshm_sync(struct pshm_seg *seg)
{
	return seg->attrs ? -EBADF : OP(seg->ops, sync, seg);
}

/* Run OP if the technique has it and the handle may change the object. */
#define MUTATE(seg, op, ...)                                                                       \
	((seg)->ops->op && (seg)->rdonly ? -EBADF : OP((seg)->ops, op, (seg), __VA_ARGS__))

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
	return OP(seg->ops, chmod, seg, mode);
}

PSHM__API int pshm_chown(struct pshm_seg *seg, uid_t uid, gid_t gid)
{
	return OP(seg->ops, chown, seg, uid, gid);
}

PSHM__API int pshm_destroy(struct pshm_seg *seg)
{
	return OP(seg->ops, destroy, seg);
}

PSHM__API int pshm_destroy_addr(const char *addr)
{
	const struct pshm__ops *ops;
	struct pshm__addr a;
	int r = addr_ops(addr, &a, &ops);
	return r ? r : OP(ops, destroy_addr, &a);
}

/*
 * struct pshm_stat's layout is part of the binary interface of libpshm.so.1: these sizes and
 * places may not change (new members take reserved space), and every canonical address must
 * fit. chan.c holds struct pshm_chan_stat to the same.
 */
_Static_assert(sizeof(struct pshm_time) == 16, "struct pshm_time is 16 bytes");
_Static_assert(sizeof(struct pshm_stat) == 4440, "struct pshm_stat is 4440 bytes");
_Static_assert(offsetof(struct pshm_stat, address) == 152, "pshm_stat.address at 152");
_Static_assert(offsetof(struct pshm_stat, leased) == 4312, "pshm_stat.leased at 4312");
_Static_assert(offsetof(struct pshm_stat, page_size) == 4320, "pshm_stat.page_size at 4320");
_Static_assert(offsetof(struct pshm_stat, reserved) == 4328, "pshm_stat.reserved at 4328");
_Static_assert(PSHM_ADDRESS_MAX >= sizeof("file:") + PATH_MAX, "a file address fits");

PSHM__API int pshm_stat(struct pshm_seg *seg, struct pshm_stat *st)
{
	memset(st, 0, sizeof(*st));
	int r = OP(seg->ops, stat, seg, st);
	if (r)
		return r;
	st->kind = seg->kind;
	strncpy(st->address, pshm_address(seg), sizeof(st->address) - 1);
	return 0;
}

PSHM__API int pshm_stat_addr(const char *addr, struct pshm_stat *st)
{
	const struct pshm__ops *ops;
	struct pshm__addr a;
	int r = addr_ops(addr, &a, &ops);
	if (r)
		return r;
	memset(st, 0, sizeof(*st));
	r = OP(ops, stat_addr, &a, st);
	if (!r)
		st->kind = a.kind;
	return r;
}
