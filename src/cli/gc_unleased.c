/*
 * gc_unleased.c - pshm gc --unleased: the objects that are not leased and that no process uses.
 *
 * No lock tells that of programs that take no leases, so it rests on a complete scan of /proc
 * (holders.c), and the window in which a process could start to use such an object is narrowed
 * as far as names allow: the object is first renamed to a hidden name (an opener then fails
 * with ENOENT, or makes a new object), /proc is scanned again, and only then is the hidden name
 * unlinked, or given back when a process uses the object after all. A System V segment has no
 * name to hide: it is looked at again and removed by identifier.
 */
#include "gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* A channel role holder's beacon file, which is not an object. */
#define BEACON_PREFIX ".pshm-live."
/* The names objects are hidden under while they are checked: the prefix and 16 hex digits. */
#define HIDDEN_PREFIX ".pshm-gc."

/* ---- choosing unleased objects ---------------------------------------------------------- */

static bool old_enough(const struct gc *g, time_t mtime, time_t ctime)
{
	return !g->older || (g->now - mtime >= g->older && g->now - ctime >= g->older);
}

/* Whether any process maps the file (DEV, INO) or holds it, by scan HS; a scan that failed
 * part way says yes. */
static bool in_use(struct holders *hs, dev_t dev, ino_t ino)
{
	struct pshm_stat st = {.kind = PSHM_POSIX, .dev = dev, .ino = ino};
	size_t n;
	holders_of(hs, &st, &n);
	return n > 0 || !holders_complete(hs);
}

/* Whether this process may remove a name of the file SB from directory DIRFD: write and search
 * permission on it, and in a sticky directory, owning the file or the directory (or root). */
static bool may_remove(int dirfd, const struct stat *sb)
{
	struct stat ds;
	uid_t me = geteuid();
	if (fstat(dirfd, &ds) < 0 || faccessat(dirfd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		return false;
	return !(ds.st_mode & S_ISVTX) || me == 0 || sb->st_uid == me || ds.st_uid == me;
}

/* A new candidate at ADDR with NAME in its directory (NULL for System V), or NULL. */
static struct gc_cand *new_cand(struct gc *g, const char *addr, const char *kind, const char *name)
{
	struct gc_cand *c = gc_grow(g->cands, &g->capcands, g->ncands, sizeof(*c));
	if (c) {
		g->cands = c;
		c += g->ncands;
		*c = (struct gc_cand){.addr = strdup(addr), .kind = kind, .dirfd = -1, .id = -1};
		c->name = name ? strdup(name) : NULL;
		if (c->addr && (c->name || !name))
			return &g->cands[g->ncands++];
		free(c->addr);
		free(c->name);
	}
	g->status = cli_fail("gc", addr, -ENOMEM);
	return NULL;
}

/* Take the regular file NAME in DIRFD (described by SB) as a candidate when it is not leased,
 * has this one name, no process uses it, it is old enough, and it may be removed. A name
 * hidden by an interrupted gc was all of that once: only use and removal count for it. */
static void consider(struct gc *g, struct holders *hs, int dirfd, const char *name,
                     const char *addr, const char *kind, const struct stat *sb, bool leftover)
{
	if (!S_ISREG(sb->st_mode) || sb->st_nlink != 1 || in_use(hs, sb->st_dev, sb->st_ino) ||
	    !may_remove(dirfd, sb))
		return;
	if (!leftover && ((sb->st_mode & S_ISVTX) || !old_enough(g, sb->st_mtime, sb->st_ctime)))
		return;
	struct gc_cand *c = new_cand(g, addr, kind, name);
	if (!c)
		return;
	c->alloc = gc_alloc(sb);
	c->leftover = leftover;
	c->dirfd = dirfd;
	c->dev = sb->st_dev;
	c->ino = sb->st_ino;
	c->mtime = sb->st_mtim;
	if (leftover)
		snprintf(c->hidden, sizeof(c->hidden), "%s", name);
}

/* A name an interrupted gc gave: the prefix and 16 hexadecimal digits. */
static bool hidden_name(const char *name)
{
	size_t n = sizeof(HIDDEN_PREFIX) - 1;
	return !strncmp(name, HIDDEN_PREFIX, n) && strlen(name + n) == 16 &&
	       strspn(name + n, "0123456789abcdef") == 16;
}

/* Keep FD (a directory just opened) for the candidates in it until the end. FD, or -errno
 * (FD closed). */
static int keep_dir(struct gc *g, int fd)
{
	if (fd < 0)
		return -errno;
	int *v = gc_grow(g->dirs, &g->capdirs, g->ndirs, sizeof(*v));
	if (v)
		return (g->dirs = v)[g->ndirs++] = fd;
	close(fd);
	return -ENOMEM;
}

/* The POSIX objects of the shm directory, channels included, and hidden leftovers. */
static void walk_shm(struct gc *g, struct holders *hs)
{
	const char *dir = pshm_shm_dir();
	DIR *d = opendir(dir);
	int dfd = d ? keep_dir(g, fcntl(dirfd(d), F_DUPFD_CLOEXEC, 0)) : -errno;
	if (dfd < 0) {
		if (d)
			closedir(d);
		g->status = cli_fail("gc", dir, dfd);
		return;
	}
	char addr[NAME_MAX + 2];
	struct dirent *e;
	struct stat sb;
	while ((errno = 0, e = readdir(d))) {
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") ||
		    !strncmp(n, BEACON_PREFIX, sizeof(BEACON_PREFIX) - 1) ||
		    (!strncmp(n, "sem.", 4) && n[4]))
			continue;
		if (fstatat(dfd, n, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone since */
		snprintf(addr, sizeof(addr), "/%s", n);
		consider(g, hs, dfd, n, addr, "posix", &sb, hidden_name(n));
	}
	if (errno)
		g->status = cli_fail("gc", dir, -errno);
	closedir(d);
}

/* The part of a file operand that is not leased: its directory and its name in it ("file:NAME"
 * is in the working directory), kept for the candidate it may become. */
void gc_consider_file(struct gc *g, struct holders *hs, const char *addr, const struct stat *sb)
{
	const char *path = addr + 5;
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!dir) {
		g->status = cli_fail("gc", addr, -ENOMEM);
		return;
	}
	int dfd = keep_dir(g, open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC));
	free(dir);
	if (dfd < 0) {
		g->status = cli_fail("gc", addr, dfd);
		return;
	}
	consider(g, hs, dfd, name, addr, "file", sb, false);
}

/* System V segments that nobody is attached to. */
static int on_sysv(const struct pshm_stat *st, void *arg)
{
	void **a = arg;
	struct gc *g = a[0];
	struct holders *hs = a[1];
	size_t n;
	uid_t me = geteuid();

	holders_of(hs, st, &n);
	if (st->removed || st->nattch || n || !holders_complete(hs) ||
	    !old_enough(g, (time_t)st->mtime.sec, (time_t)st->ctime.sec) ||
	    !(me == 0 || st->uid == me || st->cuid == me))
		return 0;
	struct gc_cand *c = new_cand(g, st->address, "sysv", NULL);
	if (c) {
		c->id = st->id;
		c->alloc = st->allocated;
	}
	return 0;
}

static void walk_sysv(struct gc *g, struct holders *hs)
{
	void *arg[2] = {g, hs};
	int r = pshm_list(PSHM_LIST_SYSV, on_sysv, arg, NULL);
	if (r < 0)
		g->status = cli_fail("gc", "sysv:", r);
}

void gc_choose(struct gc *g, struct holders *hs)
{
	if (g->kinds & GC_POSIX)
		walk_shm(g, hs);
	if (g->kinds & GC_SYSV)
		walk_sysv(g, hs);
}

/* ---- removing them ---------------------------------------------------------------------- */

static const char *hidden_addr(const struct gc_cand *c, char *buf, size_t len)
{
	if (!strcmp(c->kind, "posix")) {
		snprintf(buf, len, "/%s", c->hidden);
	} else {
		const char *slash = strrchr(c->addr, '/');
		int dirlen = slash ? (int)(slash - c->addr + 1) : 5;
		snprintf(buf, len, "%.*s%s", dirlen, c->addr, c->hidden);
	}
	return buf;
}

/* Give C its name back. When a new object took the name meanwhile, the old one stays hidden. */
static void restore(struct gc *g, struct gc_cand *c)
{
	char buf[PATH_MAX + 16];
	if (renameat2(c->dirfd, c->hidden, c->dirfd, c->name, RENAME_NOREPLACE) == 0)
		return;
	if (errno == EEXIST) {
		fprintf(stderr,
		        "pshm: warning: gc %s: a new object took its name while it was checked; "
		        "it is in use, and kept as %s\n",
		        cli_safe(c->addr), cli_safe(hidden_addr(c, buf, sizeof(buf))));
		return;
	}
	if (errno != ENOENT)
		g->status = cli_fail("gc", hidden_addr(c, buf, sizeof(buf)), -errno);
}

/* Whether NAME in C's directory is the file C chose: 1 as it was chosen, 0 changed since (a
 * write, a second name, a lease), -1 another file or none. */
static int still(const struct gc_cand *c, const char *name)
{
	struct stat sb;
	if (fstatat(c->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_dev != c->dev || sb.st_ino != c->ino)
		return -1;
	return sb.st_nlink == 1 &&
	       (c->leftover || (!(sb.st_mode & S_ISVTX) && sb.st_mtim.tv_sec == c->mtime.tv_sec &&
	                        sb.st_mtim.tv_nsec == c->mtime.tv_nsec));
}

/* Rename C to a hidden name of its own: from now on, opening it by its name fails. */
static void hide(struct gc *g, struct gc_cand *c)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			g->status = cli_fail("gc", c->addr, -errno);
			return;
		}
		snprintf(c->hidden, sizeof(c->hidden), HIDDEN_PREFIX "%016llx",
		         (unsigned long long)rnd);
		if (renameat2(c->dirfd, c->name, c->dirfd, c->hidden, RENAME_NOREPLACE) == 0)
			break;
		int err = errno;
		c->hidden[0] = '\0';
		if (err == EEXIST)
			continue;
		if (err != ENOENT) /* gone meanwhile: nothing to do */
			g->status = cli_fail("gc", c->addr, -err);
		return;
	}
	/* The name may have been given to another file between the walk and the rename. */
	if (c->hidden[0] && still(c, c->hidden) != 1) {
		restore(g, c);
		c->hidden[0] = '\0';
	}
}

/* After the second scan: unlink C's hidden name if nobody uses it, else give its name back. */
static void finish_file(struct gc *g, struct holders *hs, struct gc_cand *c)
{
	char buf[PATH_MAX + 16];
	int same = still(c, c->hidden);
	if (same < 0)
		return; /* not ours any more */
	if (!same || in_use(hs, c->dev, c->ino)) {
		if (!c->leftover)
			restore(g, c);
		return;
	}
	if (unlinkat(c->dirfd, c->hidden, 0) < 0) {
		if (errno != ENOENT)
			g->status = cli_fail("gc", hidden_addr(c, buf, sizeof(buf)), -errno);
		return;
	}
	gc_note(g, c->addr, c->kind, c->alloc, c->leftover ? R_LEFTOVER : R_UNUSED);
}

/* A System V segment has no name to hide: it is looked at again, then removed. */
static void finish_sysv(struct gc *g, struct holders *hs, struct gc_cand *c)
{
	char addr[32];
	struct pshm_stat st;
	size_t n;

	snprintf(addr, sizeof(addr), "sysv:id=%d", c->id);
	if (pshm_stat_addr(addr, &st) < 0 || st.nattch || st.removed)
		return;
	holders_of(hs, &st, &n);
	if (n || !holders_complete(hs))
		return;
	int r = pshm_destroy_addr(addr);
	if (r == -ENOENT || r == -EINVAL)
		return; /* removed meanwhile */
	if (r < 0)
		g->status = cli_fail("gc", c->addr, r);
	else
		gc_note(g, c->addr, c->kind, c->alloc, R_UNUSED);
}

void gc_unleased(struct gc *g)
{
	if (g->dry) {
		for (size_t i = 0; i < g->ncands; i++)
			gc_note(g, g->cands[i].addr, g->cands[i].kind, g->cands[i].alloc,
			        g->cands[i].leftover ? R_LEFTOVER : R_UNUSED);
		return;
	}
	/* A stop signal between hiding and the end gives every hidden object its name back. */
	cli_catch_stops();
	for (size_t i = 0; i < g->ncands && !cli_stopped(); i++)
		if (g->cands[i].id < 0 && !g->cands[i].leftover)
			hide(g, &g->cands[i]);
	/* Whoever opened one of them before it was hidden shows now. */
	struct holders *hs = cli_stopped() ? NULL : holders_scan();
	bool whole = holders_complete(hs) && !cli_stopped();
	for (size_t i = 0; i < g->ncands; i++) {
		struct gc_cand *c = &g->cands[i];
		if (c->id >= 0) {
			if (whole)
				finish_sysv(g, hs, c);
		} else if (c->hidden[0]) {
			if (whole)
				finish_file(g, hs, c);
			else if (!c->leftover)
				restore(g, c);
		}
	}
	if (!whole && !cli_stopped()) {
		fprintf(stderr, "pshm: gc /proc: the second look could not see every process; "
		                "nothing that is not leased was removed\n");
		g->status = EXIT_FAIL;
	}
	holders_free(hs);
}

void gc_cands_free(struct gc *g)
{
	for (size_t i = 0; i < g->ncands; i++) {
		free(g->cands[i].addr);
		free(g->cands[i].name);
	}
	for (size_t i = 0; i < g->ndirs; i++)
		close(g->dirs[i]);
	free(g->dirs);
	free(g->cands);
}
