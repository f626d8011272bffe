/*
 * sysv.c - System V shared memory segments: keys and identifiers instead of names and
 * descriptors, so this technique has its own code for everything. Descriptions come from
 * /proc/sysvipc/shm, which, unlike IPC_STAT, needs no read permission and gives the resident
 * size too.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
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
void pshm__sysv_address(struct pshm_seg *s)
{
	if (!s->address[0])
		sysv_address(s->address, sizeof(PSHM__SYSV_ADDR_ROOM), s->key, s->shmid);
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

static int sysv_create(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size, mode_t mode,
                       unsigned flags)
{
	struct shmid_ds ds;
	int extra = (flags & PSHM_SPARSE) ? SHM_NORESERVE : 0;

	if (a->by_id)
		return -EEXIST; /* an identifier names a segment that exists already */
	if (size == 0)
		return -EINVAL; /* System V segments have at least one byte */
	if (size > SIZE_MAX)
		return -EFBIG;
	/* shmget takes the mode as given: no umask to work around. */
	int id = pshm__shmget(a->key, size, IPC_CREAT | IPC_EXCL | extra | (int)(mode & 0777));
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
	return sysv_seg(sp, a->key, id, false, false);
}

/* Whether the caller is in group GID, as the kernel's ipcperms() asks. */
static bool in_group(gid_t gid)
{
	gid_t groups[256];
	if (gid == getegid())
		return true;
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/*
 * The access check shmget() makes for a key, for a segment named by identifier (IPC_STAT
 * checks only read access): owner bits for the owner or creator, group bits for their groups,
 * other bits for the rest; root passes, as CAP_IPC_OWNER does.
 */
static bool may_access(const struct ipc_perm *p, unsigned want)
{
	uid_t uid = geteuid();
	unsigned mode = p->mode & 0777;
	if (uid == 0)
		return true;
	if (uid == p->uid || uid == p->cuid)
		mode >>= 6;
	else if (in_group(p->gid) || in_group(p->cgid))
		mode >>= 3;
	return (mode & want) == want;
}

static int sysv_open(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	bool rdonly = flags & PSHM_RDONLY;
	struct shmid_ds ds;

	if (!a->by_id) {
		int id = pshm__shmget(a->key, 0, rdonly ? 0400 : 0600);
		return id < 0 ? id : sysv_seg(sp, a->key, id, rdonly, false);
	}
	int r = pshm__shmctl(a->id, IPC_STAT, &ds);
	/* IPC_STAT says EINVAL for an identifier that names no segment: report it as missing. */
	if (r == -EINVAL || r == -EIDRM)
		return -ENOENT;
	if (r < 0)
		return r;
	if (!may_access(&ds.shm_perm, rdonly ? 4 : 6))
		return -EACCES;
	return sysv_seg(sp, ds.shm_perm.__key, a->id, rdonly, false);
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

/* Fault in every page: madvise where the kernel has it (5.14), else one touch per page. */
static void populate(void *addr, size_t len, bool rdonly)
{
	if (!madvise(addr, len, rdonly ? MADV_POPULATE_READ : MADV_POPULATE_WRITE))
		return;
	long page = sysconf(_SC_PAGESIZE);
	for (size_t off = 0; off < len; off += (size_t)page) {
		volatile char *p = (volatile char *)addr + off;
		if (rdonly)
			(void)*p;
		else
			*p = *p;
	}
}

static int sysv_map(struct pshm_seg *s, size_t len, bool rdonly, bool pop, void **addrp)
{
	int r = pshm__shmat(s->shmid, rdonly ? SHM_RDONLY : 0, addrp);
	if (!r && pop)
		populate(*addrp, len, rdonly);
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
	st->atime.tv_sec = atime;
	st->mtime.tv_sec = dtime;
	st->ctime.tv_sec = ctime;
	sysv_address(st->address, sizeof(st->address), st->key, id);
	return true;
}

/* Walk /proc/sysvipc/shm; FN's nonzero return stops and is returned. -errno if unreadable. */
static int walk(int (*fn)(const struct pshm_stat *, void *), void *arg)
{
	char line[512];
	struct pshm_stat st;
	int r = 0;
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) /* the heading */
		line[0] = '\0';
	while (!r && fgets(line, sizeof(line), f))
		if (parse_line(line, &st))
			r = fn(&st, arg);
	fclose(f);
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

static int sysv_stat(struct pshm_seg *s, struct pshm_stat *st)
{
	return stat_id(s->shmid, st);
}

static int sysv_stat_addr(const struct pshm__addr *a, struct pshm_stat *st)
{
	/* Find the identifier without asking for access: a stat needs no permission. */
	int id = a->by_id ? a->id : pshm__shmget(a->key, 0, 0);
	if (id < 0)
		return id;
	int r = stat_id(id, st);
	return r == -EIDRM ? -ENOENT : r;
}

static int sysv_destroy(struct pshm_seg *s)
{
	int r = pshm__shmctl(s->shmid, IPC_RMID, NULL);
	return r < 0 ? r : 0;
}

static int sysv_remove(const struct pshm__addr *a)
{
	int id = a->by_id ? a->id : pshm__shmget(a->key, 0, 0);
	if (id < 0)
		return id;
	int r = pshm__shmctl(id, IPC_RMID, NULL);
	return r == -EINVAL || r == -EIDRM ? -ENOENT : r < 0 ? r : 0;
}

static int sysv_close(struct pshm_seg *s)
{
	(void)s;
	return 0;
}

struct list_arg {
	pshm_list_fn fn;
	void *arg;
	int count;
};

static int list_one(const struct pshm_stat *st, void *arg)
{
	struct list_arg *l = arg;
	l->count++;
	return l->fn(st, l->arg);
}

int pshm__sysv_list(pshm_list_fn fn, void *arg, int *count)
{
	struct list_arg l = {fn, arg, 0};
	int r = walk(list_one, &l);
	*count += l.count;
	/* A kernel without System V IPC has nothing to list. */
	return r == -ENOENT ? 0 : r;
}

const struct pshm__ops pshm__sysv_ops = {
    .create = sysv_create,
    .open = sysv_open,
    .size = sysv_size,
    .map = sysv_map,
    .unmap = sysv_unmap,
    .chmod = sysv_chmod,
    .chown = sysv_chown,
    .stat = sysv_stat,
    .destroy = sysv_destroy,
    .remove = sysv_remove,
    .stat_addr = sysv_stat_addr,
    .close = sysv_close,
};
