/*
 * sysv.c - System V shared memory segments: keys and identifiers instead of names and
 * descriptors, so this technique has its own code for everything. Descriptions come from
 * /proc/sysvipc/shm, which, unlike IPC_STAT, needs no read permission and gives the resident
 * size too.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif

static void sysv_address(char *buf, size_t size, key_t key, int id)
{
	if (key != IPC_PRIVATE)
		snprintf(buf, size, "sysv:0x%08x", (unsigned)key);
	else
		snprintf(buf, size, "sysv:id=%d", id);
}

/* Write a handle's address on first use (see pshm_address): most handles never need it. */
static int sysv_seg_address(struct pshm_seg *s)
{
	sysv_address(s->address, sizeof(PSHM__SYSV_ADDR_ROOM), s->key, s->shmid);
	return 0;
}

static int sysv_seg(struct pshm_seg **sp, key_t key, int id, bool rdonly, bool created)
{
	/* The placeholder only reserves room for the longest address, "sysv:id=2147483647". */
	struct pshm_seg *s = pshm__seg_new(&pshm__sysv_ops, PSHM_SYSV, PSHM__SYSV_ADDR_ROOM, NULL);
	if (!s)
		return -ENOMEM;
	s->address[0] = '\0';
	s->shmid = id;
	s->key = key;
	s->rdonly = rdonly;
	s->created = created;
	*sp = s;
	return 0;
}

/*
 * A lease on a System V segment is an attachment, which the kernel undoes when the process dies;
 * a segment created with PSHM_LEASE is then marked for destruction, so that the kernel removes
 * it at its last detach. Its key is free from then on: the handle's address names its
 * identifier. On failure the handle is closed. 0 or -errno.
 */
static int sysv_lease(struct pshm_seg **sp, int r, bool mark)
{
	struct pshm_seg *s = *sp;

	if (r)
		return r;
	r = pshm__shmat(s->shmid, SHM_RDONLY, &s->lease_map);
	if (!r && mark && (r = pshm__shmctl(s->shmid, IPC_RMID, NULL)) > 0)
		r = 0;
	if (r) {
		if (s->lease_map)
			pshm__shmdt(s->lease_map);
		if (mark)
			pshm__shmctl(s->shmid, IPC_RMID, NULL);
		pshm__seg_free(s);
		*sp = NULL;
		return r;
	}
	s->lease = true;
	if (mark)
		s->key = IPC_PRIVATE;
	return 0;
}

static void sysv_release(struct pshm_seg *s)
{
	if (s->lease_map)
		pshm__shmdt(s->lease_map);
	s->lease_map = NULL;
}

static int sysv_create(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size, mode_t mode,
                       unsigned flags)
{
	struct shmid_ds ds;
	int extra = (flags & PSHM_SPARSE) ? SHM_NORESERVE : 0;

	if (a->by_id)
		return -EEXIST; /* an identifier names a segment that exists already */
	if (size == 0)
		return -EINVAL; /* System V segments have at least one byte */
	if (flags & PSHM_HUGE) {
		int r = pshm__huge_round(flags, &size);
		if (r)
			return r;
		extra |= SHM_HUGETLB | (int)(flags & PSHM_HUGE_MASK); /* SHM_HUGE_SHIFT is 26 too */
	}
	if (size > SIZE_MAX)
		return -EFBIG;
	/* shmget takes the mode as given: no umask to work around. */
	int id = pshm__shmget(a->key, size, IPC_CREAT | IPC_EXCL | extra | (int)(mode & 0777));
	if (id >= 0 && (flags & PSHM_LEASE))
		return sysv_lease(sp, sysv_seg(sp, a->key, id, false, true), true);
	if (id >= 0)
		return sysv_seg(sp, a->key, id, false, true);
	if (id != -EEXIST || !(flags & PSHM_OPEN_OR_CREATE))
		return id;
	id = pshm__shmget(a->key, 0, 0600);
	if (id < 0)
		return id;
	int r = pshm__shmctl(id, IPC_STAT, &ds);
	if (r < 0)
		return r;
	if (ds.shm_segsz < size)
		return -EINVAL; /* too small, and System V segments cannot grow */
	r = sysv_seg(sp, a->key, id, false, false);
	return (flags & PSHM_LEASE) ? sysv_lease(sp, r, false) : r;
}

/* Whether one of the N groups in LIST is A or B. */
static bool listed(const gid_t *list, int n, gid_t a, gid_t b)
{
	for (int i = 0; i < n; i++)
		if (list[i] == a || list[i] == b)
			return true;
	return false;
}

/*
 * Whether the caller is in group A or B, as the kernel's ipcperms() asks: its effective group
 * or any of its supplementary groups, of which Linux allows 65536. A short list is read onto
 * the stack; a longer one into memory of its size. 1, 0, or -ENOMEM.
 */
static int in_groups(gid_t a, gid_t b)
{
	gid_t few[64];

	if (getegid() == a || getegid() == b)
		return 1;
	int n = getgroups(64, few);
	if (n >= 0)
		return listed(few, n, a, b);
	for (;;) {
		n = getgroups(0, NULL);
		gid_t *all = malloc((size_t)(n > 0 ? n : 1) * sizeof(*all));
		if (!all)
			return -ENOMEM;
		int got = getgroups(n, all);
		int e = errno;
		bool in = got >= 0 && listed(all, got, a, b);
		free(all);
		/* EINVAL: another thread's setgroups() made the list longer in between. */
		if (got >= 0 || e != EINVAL)
			return in;
	}
}

/*
 * The access check shmget() makes for a key, for a segment named by identifier (IPC_STAT
 * checks only read access): owner bits for the owner or creator, group bits for their groups,
 * other bits for the rest; root passes, as CAP_IPC_OWNER does. 0, -EACCES or -ENOMEM.
 *
 * The kernel decides alone only when the segment is attached, which would be too late for a
 * read-write open that the segment's mode refuses, and attaching just to find out would
 * change the segment's attach time and count.
 */
static int may_access(const struct ipc_perm *p, unsigned want)
{
	uid_t uid = geteuid();
	unsigned mode = p->mode & 0777;
	if (uid == 0)
		return 0;
	if (uid == p->uid || uid == p->cuid) {
		mode >>= 6;
	} else {
		int g = in_groups(p->gid, p->cgid);
		if (g < 0)
			return g;
		if (g)
			mode >>= 3;
	}
	return (mode & want) == want ? 0 : -EACCES;
}

static int sysv_open_plain(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	/* PSHM_ATTRS asks for no access: IPC_SET checks ownership itself. */
	bool attrs = flags & PSHM_ATTRS;
	bool rdonly = attrs || (flags & PSHM_RDONLY);
	struct shmid_ds ds;

	if (!a->by_id) {
		int id = pshm__shmget(a->key, 0, attrs ? 0 : rdonly ? 0400 : 0600);
		if (id < 0)
			return id;
		int r = sysv_seg(sp, a->key, id, rdonly, false);
		if (!r)
			(*sp)->attrs = attrs;
		return r;
	}
	int r = pshm__shmctl(a->id, IPC_STAT, &ds);
	/* IPC_STAT says EINVAL for an identifier that names no segment: report it as missing. */
	if (r == -EINVAL || r == -EIDRM)
		return -ENOENT;
	if (r < 0)
		return r;
	r = attrs ? 0 : may_access(&ds.shm_perm, rdonly ? 4 : 6);
	if (!r)
		r = sysv_seg(sp, ds.shm_perm.__key, a->id, rdonly, false);
	if (!r)
		(*sp)->attrs = attrs;
	return r;
}

static int sysv_open(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	int r = sysv_open_plain(sp, a, flags);
	return (flags & PSHM_LEASE) ? sysv_lease(sp, r, false) : r;
}

static int sysv_size(struct pshm_seg *s, uint64_t *sizep)
{
	struct shmid_ds ds;
	int r = pshm__shmctl(s->shmid, IPC_STAT, &ds);
	if (r < 0)
		return r;
	*sizep = ds.shm_segsz;
	return 0;
}

/* Tests set this to take populate()'s way for kernels without MADV_POPULATE_* (test_sysv.c). */
PSHM__HIDDEN bool pshm__sysv_populate_by_reading;

/*
 * Fault every page in without writing a byte: other processes may be writing the segment, and
 * a store of what was just read would undo any store of theirs that fell in between.
 *
 * MADV_POPULATE_READ or MADV_POPULATE_WRITE (Linux 5.14) does it in the kernel, which reports
 * a page it cannot have as an error instead of SIGBUS. An older kernel rejects the advice with
 * EINVAL; then one byte of each page is read. On System V memory a read fault allocates the
 * page, as a write fault would, but maps it read-only: unlike MADV_POPULATE_WRITE it leaves
 * each page's first write to fault again (a minor fault that allocates nothing), and a page
 * that cannot be had raises SIGBUS there, as at any first touch. 0, or a negative errno.
 */
static int populate(void *addr, size_t len, bool rdonly)
{
	if (!pshm__sysv_populate_by_reading) {
		int r = pshm__madvise(addr, len, rdonly ? MADV_POPULATE_READ : MADV_POPULATE_WRITE);
		if (r == 0)
			return 0;
		/* EFAULT is a page the kernel could not have: what a touch would meet as SIGBUS. */
		if (r == -EFAULT)
			return -ENOMEM;
		if (r != -EINVAL)
			return r;
	}
	long page = sysconf(_SC_PAGESIZE);
	for (size_t off = 0; off < len; off += (size_t)page)
		(void)*((volatile const char *)addr + off);
	return 0;
}

static int sysv_map(struct pshm_seg *s, size_t len, bool rdonly, bool pop, void **addrp)
{
	int r = pshm__shmat(s->shmid, rdonly ? SHM_RDONLY : 0, addrp);
	if (!r && pop && (r = populate(*addrp, len, rdonly)) < 0) {
		pshm__shmdt(*addrp);
		*addrp = NULL;
	}
	return r;
}

static int sysv_unmap(struct pshm_seg *s)
{
	return pshm__shmdt(s->map);
}

static int sysv_set(struct pshm_seg *s, const mode_t *mode, uid_t uid, gid_t gid)
{
	struct shmid_ds ds;
	int r = pshm__shmctl(s->shmid, IPC_STAT, &ds);
	if (r < 0)
		return r;
	if (mode)
		ds.shm_perm.mode = (ds.shm_perm.mode & ~0777u) | (*mode & 0777);
	if (uid != (uid_t)-1)
		ds.shm_perm.uid = uid;
	if (gid != (gid_t)-1)
		ds.shm_perm.gid = gid;
	r = pshm__shmctl(s->shmid, IPC_SET, &ds);
	return r < 0 ? r : 0;
}

static int sysv_chmod(struct pshm_seg *s, mode_t mode)
{
	if (mode & ~0777u)
		return -EINVAL; /* System V has no set-id or sticky bits */
	return sysv_set(s, &mode, (uid_t)-1, (gid_t)-1);
}

static int sysv_chown(struct pshm_seg *s, uid_t uid, gid_t gid)
{
	return sysv_set(s, NULL, uid, gid);
}

/* Parse one line of /proc/sysvipc/shm. True when it is a segment's line. */
static bool parse_line(const char *line, struct pshm_stat *st)
{
	long long key, atime, dtime, ctime;
	unsigned long long size, nattch, rss, swap;
	unsigned perms;
	int id, cpid, lpid;
	unsigned uid, gid, cuid, cgid;

	if (sscanf(line, "%lld %d %o %llu %d %d %llu %u %u %u %u %lld %lld %lld %llu %llu", &key,
	           &id, &perms, &size, &cpid, &lpid, &nattch, &uid, &gid, &cuid, &cgid, &atime,
	           &dtime, &ctime, &rss, &swap) < 14)
		return false;
	memset(st, 0, sizeof(*st));
	st->kind = PSHM_SYSV;
	st->key = (int)key;
	st->id = id;
	st->mode = perms & 0777;
	st->removed = (perms & SHM_DEST) != 0;
	st->size = size;
	st->allocated = rss + swap;
	st->cpid = cpid;
	st->lpid = lpid;
	st->nattch = nattch;
	st->uid = uid;
	st->gid = gid;
	st->cuid = cuid;
	st->cgid = cgid;
	st->atime.sec = atime;
	st->mtime.sec = dtime;
	st->ctime.sec = ctime;
	sysv_address(st->address, sizeof(st->address), st->key, id);
	return true;
}

/* Walk /proc/sysvipc/shm; FN's nonzero return stops and is returned. -errno if unreadable. */
static int walk(int (*fn)(const struct pshm_stat *, void *), void *arg)
{
	char line[512];
	struct pshm_stat st;
	FILE *f;
	int r = pshm__fopen_read("/proc/sysvipc/shm", &f);
	if (r)
		return r;
	if (!fgets(line, sizeof(line), f)) /* the heading */
		line[0] = '\0';
	while (!r && fgets(line, sizeof(line), f))
		if (parse_line(line, &st))
			r = fn(&st, arg);
	pshm__fclose(f);
	return r;
}

struct find {
	int id;
	struct pshm_stat *out;
};

static int find_one(const struct pshm_stat *st, void *arg)
{
	struct find *f = arg;
	if (st->id != f->id)
		return 0;
	*f->out = *st;
	return 1;
}

static int stat_id(int id, struct pshm_stat *st)
{
	struct find f = {id, st};
	int r = walk(find_one, &f);
	return r == 1 ? 0 : r < 0 ? r : -EIDRM;
}

/* The page size shows only in an attachment (see pshm_stat's page_size). */
static void sysv_page(struct pshm_stat *st)
{
	struct pshm__sysv_pages c = {.npid = 0, .n = 0};
	st->page_size = pshm__sysv_page(&c, st->id, st->nattch, st->cpid, st->lpid);
}

static int sysv_stat(struct pshm_seg *s, struct pshm_stat *st)
{
	int r = stat_id(s->shmid, st);
	if (!r)
		sysv_page(st);
	return r;
}

static int sysv_stat_addr(const struct pshm__addr *a, struct pshm_stat *st)
{
	/* Find the identifier without asking for access: a stat needs no permission. */
	int id = a->by_id ? a->id : pshm__shmget(a->key, 0, 0);
	if (id < 0)
		return id;
	int r = stat_id(id, st);
	if (!r)
		sysv_page(st);
	return r == -EIDRM ? -ENOENT : r;
}

static int sysv_destroy(struct pshm_seg *s)
{
	int r = pshm__shmctl(s->shmid, IPC_RMID, NULL);
	return r < 0 ? r : 0;
}

static int sysv_destroy_addr(const struct pshm__addr *a)
{
	int id = a->by_id ? a->id : pshm__shmget(a->key, 0, 0);
	if (id < 0)
		return id;
	int r = pshm__shmctl(id, IPC_RMID, NULL);
	return r == -EINVAL || r == -EIDRM ? -ENOENT : r < 0 ? r : 0;
}

struct list_pages {
	pshm_list_fn fn;
	void *arg;
	struct pshm__sysv_pages c;
};

static int list_one(const struct pshm_stat *st, void *arg)
{
	struct list_pages *l = arg;
	struct pshm_stat s = *st;
	s.page_size = pshm__sysv_page(&l->c, s.id, s.nattch, s.cpid, s.lpid);
	return l->fn(&s, l->arg);
}

int pshm__sysv_list(pshm_list_fn fn, void *arg)
{
	struct list_pages *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fn = fn;
	l->arg = arg;
	int r = walk(list_one, l);
	free(l);
	/* A kernel without System V IPC has nothing to list. */
	return r == -ENOENT ? 0 : r;
}

const struct pshm__ops pshm__sysv_ops = {
    .create = sysv_create,
    .open = sysv_open,
    .address = sysv_seg_address,
    .size = sysv_size,
    .map = sysv_map,
    .unmap = sysv_unmap,
    .sync = pshm__seg_msync,
    .chmod = sysv_chmod,
    .chown = sysv_chown,
    .stat = sysv_stat,
    .destroy = sysv_destroy,
    .destroy_addr = sysv_destroy_addr,
    .stat_addr = sysv_stat_addr,
    .release = sysv_release,
};
