/*
 * df_scan.c - what pshm df measures: the shm directory's file system, each owner's memory by
 * kind (named POSIX objects and System V segments from pshm_list, memfds and unlinked files
 * from the holders scan, each inode once), the objects that no name reaches with their holders,
 * and the System V limits against their use.
 */
#include "df.h"

#include <errno.h>
#include <libsmartcols.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static struct owner *owner_of(struct df_usage *u, uid_t uid)
{
	for (size_t i = 0; i < u->nowners; i++)
		if (u->owners[i].uid == uid)
			return &u->owners[i];
	struct owner *v = realloc(u->owners, (u->nowners + 1) * sizeof(*v));
	if (!v) {
		u->oom = true;
		return NULL;
	}
	u->owners = v;
	v[u->nowners] = (struct owner){.uid = uid};
	return &v[u->nowners++];
}

/* Count ALLOCATED bytes of an object of UID under KIND (and NONAME when it has no name). */
static void count(struct df_usage *u, uid_t uid, enum sum kind, bool noname, uint64_t allocated)
{
	struct owner *o = owner_of(u, uid);
	if (!o)
		return;
	if (kind != S_NSUMS)
		o->sum[kind] += allocated;
	if (noname)
		o->sum[S_NONAME] += allocated;
	o->sum[S_TOTAL] += allocated;
	o->sum[S_OBJECTS]++;
}

/* Keep an object no name reaches; NAME is taken over (freed on failure). */
static struct item *add_item(struct df_usage *u, const char *kind, char *name, uid_t uid,
                             const struct holder *hs, size_t nh)
{
	struct item *v = name ? realloc(u->items, (u->nitems + 1) * sizeof(*v)) : NULL;
	struct holder *h = malloc((nh ? nh : 1) * sizeof(*h));
	if (!v || !h) {
		if (v)
			u->items = v;
		free(name);
		free(h);
		u->oom = true;
		return NULL;
	}
	u->items = v;
	if (nh)
		memcpy(h, hs, nh * sizeof(*h));
	v[u->nitems] = (struct item){kind, name, uid, 0, 0, false, h, nh, NULL};
	return &v[u->nitems++];
}

static void shm_dir_fs(struct df_usage *u)
{
	struct statvfs vfs;
	struct stat st;

	if (statvfs(u->dir, &vfs) < 0 || stat(u->dir, &st) < 0) {
		u->status = cli_fail("df", u->dir, -errno);
		return;
	}
	/* As df(1): used is what is not free; avail what an unprivileged user may still take. */
	u->have_fs = true;
	u->dir_dev = st.st_dev;
	u->fs_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	u->fs_used = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	u->fs_avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

static int add_posix(const struct pshm_stat *st, void *arg)
{
	struct df_usage *u = arg;
	count(u, st->uid, S_POSIX, false, st->allocated);
	return u->oom ? -ENOMEM : 0;
}

static int add_sysv(const struct pshm_stat *st, void *arg)
{
	struct df_usage *u = arg;
	long page = sysconf(_SC_PAGESIZE);

	/* The kernel counts shmall in pages of each segment's size, rounded up. */
	u->lim[L_SHMMNI].used++;
	u->lim[L_SHMALL].used += (st->size + (uint64_t)page - 1) / (uint64_t)page;
	if (st->size > u->lim[L_SHMMAX].used)
		u->lim[L_SHMMAX].used = st->size;
	count(u, st->uid, S_SYSV, st->removed, st->allocated);
	if (!st->removed)
		return u->oom ? -ENOMEM : 0;
	/* Marked for removal and still attached: its key is gone, its identifier stays. */
	size_t n;
	const struct holder *h = holders_of(u->hs, st, &n);
	char *name = NULL;
	if (asprintf(&name, "sysv:id=%d", (int)st->id) < 0)
		name = NULL;
	struct item *it = add_item(u, "sysv", name, st->uid, h, n);
	if (it) {
		it->size = st->size;
		it->allocated = st->allocated;
	}
	return u->oom ? -ENOMEM : 0;
}

/* How df names a file that lost its name: a memfd by its name, an object that was in the shm
 * directory by the address it had, another file by its path. */
static char *gone_name(const struct df_usage *u, const struct nameless *o, const char **kind)
{
	size_t dlen = strlen(u->dir);
	char *name = NULL;
	int r;

	while (dlen > 1 && u->dir[dlen - 1] == '/')
		dlen--;
	if (o->memfd) {
		*kind = "memfd";
		r = asprintf(&name, "memfd:%s", o->name + 7);
	} else if (u->have_fs && o->dev == u->dir_dev) {
		*kind = "posix";
		const char *rest = !strncmp(o->name, u->dir, dlen) ? o->name + dlen : NULL;
		bool in_dir = rest && rest[0] == '/' && rest[1] && !strchr(rest + 1, '/');
		r = asprintf(&name, "%s", in_dir ? rest : o->name);
	} else {
		*kind = "file";
		r = asprintf(&name, "%s", o->name);
	}
	return r < 0 ? NULL : name;
}

static void add_nameless(struct df_usage *u)
{
	size_t n;
	const struct nameless *o = holders_nameless(u->hs, &n);

	for (size_t i = 0; i < n; i++) {
		const char *kind = NULL;
		char *name = gone_name(u, &o[i], &kind);
		struct item *it = add_item(u, kind, name, o[i].uid, o[i].holders, o[i].nholders);
		if (!it)
			return;
		it->size = o[i].size;
		it->allocated = o[i].allocated;
		it->estimated = o[i].estimated;
		count(u, o[i].uid, o[i].memfd ? S_MEMFD : S_NSUMS, true, o[i].allocated);
	}
}

static void read_limit(struct limit *l)
{
	char path[64];
	unsigned long long v;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", l->name);
	FILE *f = fopen(path, "re");
	if (f) {
		l->known = fscanf(f, "%llu", &v) == 1;
		l->max = l->known ? v : 0;
		fclose(f);
	}
}

/* Most memory first. */
static int cmp_owner(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	if (x->sum[S_TOTAL] != y->sum[S_TOTAL])
		return x->sum[S_TOTAL] > y->sum[S_TOTAL] ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->allocated != y->allocated)
		return x->allocated > y->allocated ? -1 : 1;
	return strcmp(x->name, y->name);
}

void df_measure(struct df_usage *u)
{
	static const struct limit lim[L_NLIMITS] = {
	    [L_SHMMNI] = {"shmmni", "number of System V segments", false, false, 0, 0},
	    [L_SHMALL] = {"shmall", "pages of all System V segments", false, false, 0, 0},
	    [L_SHMMAX] = {"shmmax", "bytes of the largest System V segment", true, false, 0, 0},
	};

	memcpy(u->lim, lim, sizeof(lim));
	shm_dir_fs(u);
	/* A directory that is not there was reported already. The callbacks stop a walk only
	 * when memory runs out, which is reported once, at the end. */
	int r = u->have_fs ? pshm_list(PSHM_LIST_POSIX | PSHM_LIST_SEM, add_posix, u, NULL) : 0;
	if (r < 0)
		u->status = cli_fail("df", u->dir, r);
	r = u->oom ? 0 : pshm_list(PSHM_LIST_SYSV, add_sysv, u, NULL);
	if (r < 0)
		u->status = cli_fail("df", "/proc/sysvipc/shm", r);
	if (!u->oom)
		add_nameless(u);
	if (u->oom)
		u->status = cli_fail("df", u->dir, -ENOMEM);
	for (size_t i = 0; i < L_NLIMITS; i++)
		read_limit(&u->lim[i]);
	u->partial = !holders_complete(u->hs);
	if (u->nowners)
		qsort(u->owners, u->nowners, sizeof(*u->owners), cmp_owner);
	if (u->nitems)
		qsort(u->items, u->nitems, sizeof(*u->items), cmp_item);
}

void df_usage_free(struct df_usage *u)
{
	for (size_t i = 0; i < u->nitems; i++) {
		free(u->items[i].name);
		free(u->items[i].holders);
		scols_unref_table(u->items[i].procs);
	}
	free(u->items);
	free(u->owners);
	holders_free(u->hs);
}
