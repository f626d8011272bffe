/*
 * gc.c - pshm_gc() and pshm_gc_addr(): removal of what nobody can use any more, decided by the
 * kernel's locks: leased objects whose every lease is gone (lease.c), and the beacon files of
 * channel role holders that died (chan_live.c).
 */
#include "internal.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * A beacon whose holder never got as far as locking it (mode 0600: it died between creating
 * and locking it) looks like one being made right now; only its age tells them apart.
 */
#define UNLOCKED_BEACON_AGE 60

/* One run of pshm_gc() or pshm_gc_addr(). */
struct gc {
	unsigned flags;
	pshm_gc_fn fn;
	void *arg;
	const char *dir; /* the directory's path, for addresses */
	bool posix;      /* the shm directory: addresses "/NAME"; else "file:DIR/NAME" */
	int count, stop;
	struct pshm__ids named;
};

static void gc_address(const struct gc *g, const char *name, struct pshm_stat *st)
{
	if (g->posix)
		snprintf(st->address, sizeof(st->address), "/%s", name);
	else
		snprintf(st->address, sizeof(st->address), "file:%s%s%s", g->dir,
		         strcmp(g->dir, "/") ? "/" : "", name);
}

/* Count and report one thing gone (or that would go), described by SB. FN's return. */
static int gc_report(struct gc *g, const char *name, const struct stat *sb, int reason)
{
	struct pshm_stat st;

	g->count++;
	if (!g->fn)
		return 0;
	memset(&st, 0, sizeof(st));
	pshm__stat_from(&st, sb);
	st.kind = g->posix ? PSHM_POSIX : PSHM_FILE;
	st.leases = 0;
	gc_address(g, name, &st);
	g->stop = g->fn(&st, reason, g->arg);
	return g->stop;
}

/* A dead holder's beacon, which its channel's header no longer names (or, dry, would not). */
static int gc_beacon(int dirfd, const char *name, void *arg)
{
	struct gc *g = arg;
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	if (!(g->flags & PSHM_GC_DRY_RUN) && pshm__unlinkat(dirfd, name))
		return 0; /* not ours to remove (another user's, in a sticky directory) */
	return gc_report(g, name, &sb, PSHM_GC_DEAD_BEACON);
}

/*
 * The leased object DIRFD/NAME, if nobody holds a lease on it: 1 gone (or would go), 0 kept (not
 * leased, or held), -EACCES when it is dead but the caller may not write it, or -errno. Only a
 * leased object is opened: an open could break a file lease someone holds on another.
 */
static int gc_object(struct gc *g, int dirfd, const char *name)
{
	int oflags = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(sb.st_mode) || !(sb.st_mode & S_ISVTX))
		return 0;
	int fd = pshm__openat(dirfd, name, O_RDWR | oflags, 0);
	if (fd == -EACCES || fd == -EPERM || fd == -EROFS) {
		/* Tell a dead object from a held one even so, with the test a reader may make. */
		int rfd = pshm__openat(dirfd, name, O_RDONLY | oflags, 0);
		int r = rfd < 0 ? rfd : pshm__lock(rfd, F_OFD_GETLK, F_WRLCK, PSHM_LEASE_OFFSET, 1);
		if (rfd >= 0)
			pshm__close(rfd);
		return r < 0 ? r : r == F_UNLCK ? fd : 0;
	}
	if (fd < 0)
		return fd == -ENOENT || fd == -ELOOP || fd == -ENXIO || fd == -EISDIR ? 0 : fd;
	int r = pshm__gc_fd(fd, dirfd, name, g->flags, &sb);
	/* Reported while the removal lock is held: a dry run's answer is still true. */
	if (r == 1)
		gc_report(g, name, &sb, PSHM_GC_DEAD_LEASE);
	pshm__close(fd);
	return r;
}

/* Parse a beacon's name into its id; false for any other name. */
static bool beacon_id(const char *name, uint64_t *idp)
{
	size_t plen = sizeof(PSHM__BEACON_PREFIX) - 1;
	char *end;

	if (strncmp(name, PSHM__BEACON_PREFIX, plen) || strlen(name + plen) != 16)
		return false;
	*idp = strtoull(name + plen, &end, 16);
	return !*end;
}

/*
 * A beacon file no channel's header names: dead once nobody write-locks it. One still 0600 may
 * be one that its holder is making right now (it locks it, then makes it 0444): it goes only
 * when old enough.
 */
static int gc_orphan_beacon(struct gc *g, int dirfd, const char *name)
{
	struct stat sb;
	uint64_t id;

	if (!beacon_id(name, &id) || pshm__ids_has(&g->named, id))
		return 0;
	int fd =
	    pshm__openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int r = 0;
	if (!pshm__fstat(fd, &sb) && S_ISREG(sb.st_mode) &&
	    pshm__lock(fd, F_OFD_GETLK, F_RDLCK, 0, 0) == F_UNLCK &&
	    ((sb.st_mode & 0777) == 0444 || time(NULL) - sb.st_mtime >= UNLOCKED_BEACON_AGE))
		r = gc_beacon(dirfd, name, g);
	pshm__close(fd);
	return r;
}

/* A poll FIFO whose handle is gone (chan_poll.c), reported as its beacon would be. */
static int gc_orphan_fifo(struct gc *g, int dirfd, const char *name)
{
	struct stat sb;

	if (!pshm__chan_poll_orphan(dirfd, name, &g->named) ||
	    fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISFIFO(sb.st_mode))
		return 0;
	if (!(g->flags & PSHM_GC_DRY_RUN) && pshm__unlinkat(dirfd, name))
		return 0;
	return gc_report(g, name, &sb, PSHM_GC_DEAD_BEACON);
}

/* Whether D could be a channel, by what fstatat says: nothing else is opened. */
static bool may_be_channel(DIR *dir, const struct dirent *d)
{
	struct stat sb;
	return !fstatat(dirfd(dir), d->d_name, &sb, AT_SYMLINK_NOFOLLOW) && S_ISREG(sb.st_mode) &&
	       sb.st_size >= PSHM_CHAN_HEADER_SIZE;
}

/* Whether NAME in the shm directory is a channel's beacon. */
static bool is_beacon(const char *name)
{
	return !strncmp(name, PSHM__BEACON_PREFIX, sizeof(PSHM__BEACON_PREFIX) - 1);
}

/*
 * The walk of the shm directory: leased objects, then every channel's dead holders; then the
 * beacons and poll FIFOs no header names, only when every object could be looked at (a channel
 * we could not read may name any of them, and a beacon still named must stay: see chan_live.c).
 */
static int gc_walk(struct gc *g, DIR *dir)
{
	bool all_seen = true;
	struct dirent *d;

	for (int pass = 0; pass < 2 && !g->stop; pass++) {
		rewinddir(dir);
		while (!g->stop && (d = readdir(dir))) {
			if (d->d_name[0] == '.' && (!d->d_name[1] || !strcmp(d->d_name, "..")))
				continue;
			bool beacon = is_beacon(d->d_name);
			if (pass == 1) {
				if (!all_seen || g->named.nomem || !(g->flags & PSHM_GC_BEACONS))
					continue;
				if (beacon)
					gc_orphan_beacon(g, dirfd(dir), d->d_name);
				else
					gc_orphan_fifo(g, dirfd(dir), d->d_name);
				continue;
			}
			if (beacon)
				continue;
			if ((g->flags & PSHM_GC_LEASES) && gc_object(g, dirfd(dir), d->d_name) == 1)
				continue;
			if (!(g->flags & PSHM_GC_BEACONS) || g->stop || !may_be_channel(dir, d))
				continue;
			int r =
			    pshm__chan_gc(dirfd(dir), d->d_name, g->flags, &g->named, gc_beacon, g);
			if (r < 0 && r != -ENOENT && r != -ELOOP && r != -ENXIO && r != -EISDIR)
				all_seen = false;
		}
	}
	return 0;
}

static unsigned gc_flags(unsigned flags)
{
	if (!(flags & (PSHM_GC_LEASES | PSHM_GC_BEACONS)))
		flags |= PSHM_GC_LEASES | PSHM_GC_BEACONS;
	return flags;
}

PSHM__API int pshm_gc(unsigned flags, pshm_gc_fn fn, void *arg, int *stopp)
{
	struct gc g = {.flags = gc_flags(flags), .fn = fn, .arg = arg, .posix = true};
	DIR *dir;

	if (stopp)
		*stopp = 0;
	if (flags & ~(unsigned)(PSHM_GC_DRY_RUN | PSHM_GC_LEASES | PSHM_GC_BEACONS))
		return -EINVAL;
	g.dir = pshm__shm_dir();
	int r = pshm__opendir(g.dir, &dir);
	if (r)
		return r;
	gc_walk(&g, dir);
	pshm__closedir(dir);
	free(g.named.v);
	if (stopp)
		*stopp = g.stop;
	return g.count;
}

/* Split PATH into its directory (opened into *DIRFDP) and its last component (*BASEP). */
static int open_parent(const char *path, char dir[PATH_MAX], int *dirfdp, const char **basep)
{
	const char *slash = strrchr(path, '/');
	size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);

	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(dir, slash ? path : ".", n);
	dir[n] = '\0';
	*basep = slash ? slash + 1 : path;
	if (!**basep)
		return -EINVAL;
	int fd = pshm__openat(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	*dirfdp = fd;
	return 0;
}

PSHM__API int pshm_gc_addr(const char *addr, unsigned flags)
{
	struct gc g = {.flags = gc_flags(flags)};
	struct pshm__addr a;
	char path[PATH_MAX], dir[PATH_MAX];
	const char *base;
	int dirfd;

	if (flags & ~(unsigned)(PSHM_GC_DRY_RUN | PSHM_GC_LEASES | PSHM_GC_BEACONS))
		return -EINVAL;
	int r = pshm__addr_parse(addr, &a);
	if (r)
		return r;
	if (a.kind == PSHM_POSIX)
		r = pshm__name_path(a.name, "", path, sizeof(path));
	else if (a.kind == PSHM_FILE)
		r = snprintf(path, sizeof(path), "%s", a.name) >= (int)sizeof(path) ? -ENAMETOOLONG
		                                                                    : 0;
	else
		return -EOPNOTSUPP; /* System V and memfds: the kernel removes them at the last user */
	if (r || (r = open_parent(path, dir, &dirfd, &base)))
		return r;
	g.dir = dir;
	g.posix = a.kind == PSHM_POSIX;
	struct stat sb;
	if (fstatat(dirfd, base, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	else if (!S_ISREG(sb.st_mode))
		r = S_ISLNK(sb.st_mode) ? -ELOOP : -EINVAL;
	if (!r && (g.flags & PSHM_GC_LEASES))
		r = gc_object(&g, dirfd, base);
	if (r == 0 && (g.flags & PSHM_GC_BEACONS))
		pshm__chan_gc(dirfd, base, g.flags, NULL, gc_beacon, &g);
	pshm__close(dirfd);
	free(g.named.v);
	/* A dead object the caller may not remove: say so, rather than "kept". */
	return r;
}
