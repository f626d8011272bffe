/*
 * gc.c - pshm gc: remove the shared memory that nobody can use any more.
 *
 * What is leased is decided by the kernel's locks, in the library: pshm_gc() removes the leased
 * objects whose every holder is gone and the beacon files of channel role holders that died,
 * pshm_gc_addr() does the same for one file. With --unleased, objects that no process maps or
 * holds go too. No lock tells that of programs that take no leases, so it rests on a complete
 * scan of /proc (holders.c), and the window in which a process could start to use such an
 * object is narrowed as far as names allow: the object is first renamed to a hidden name (an
 * opener then fails with ENOENT, or makes a new object), /proc is scanned again, and only then
 * is the hidden name unlinked, or given back when a process uses the object after all.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The kinds of -k. */
enum { GC_POSIX = 1, GC_CHAN = 2, GC_SYSV = 4, GC_FILE = 8, GC_ALL = 15 };

/* Names that are not objects: a channel role holder's beacon, a semaphore. */
#define BEACON_PREFIX ".pshm-live."
#define HIDDEN_PREFIX ".pshm-gc."

enum reason { R_LEASE, R_BEACON, R_UNUSED, R_LEFTOVER };

static const char *const reasons[] = {
    [R_LEASE] = "dead lease",
    [R_BEACON] = "dead beacon",
    [R_UNUSED] = "unused",
    [R_LEFTOVER] = "unused, hidden by an interrupted gc",
};

/* One thing removed, or, in a dry run, that would be. */
struct gone {
	char *addr;
	const char *kind;
	uint64_t alloc;
	enum reason reason;
};

/* An object that is not leased and looked unused at the first scan. */
struct cand {
	char *addr;       /* as reported (a leftover's: its hidden name) */
	const char *kind; /* "posix", "file" or "sysv" */
	uint64_t alloc;
	bool leftover; /* found under a hidden name already */
	/* A file: its directory (owned by the run), its name there, its hidden name while it is
	 * checked ("" when not hidden), and what it was when it was chosen. */
	int dirfd;
	char *name;
	char hidden[32];
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	/* A System V segment: its identifier, else -1. */
	int id;
};

struct gc {
	unsigned kinds;
	bool dry, unleased, bytes, json, raw, noheadings, verbose;
	time_t older; /* seconds; 0: no age limit */
	time_t now;
	struct gone *gone;
	size_t ngone, capgone;
	struct cand *cands;
	size_t ncands, capcands;
	int *dirs; /* directories opened for candidates, closed at the end */
	size_t ndirs, capdirs;
	int status;
};

/* V (holding N of *CAP elements of SIZE bytes) with room for one more: V itself, a new array,
 * or NULL (V is left as it was). */
static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	size_t c = *cap ? 2 * *cap : 16;
	void *p = realloc(v, c * size);
	if (p)
		*cap = c;
	return p;
}

/* ---- options ----------------------------------------------------------------------------- */

static bool parse_kinds(const char *spec, unsigned *mask)
{
	static const struct {
		const char *name;
		unsigned bit;
	} kinds[] = {{"posix", GC_POSIX},
	             {"chan", GC_CHAN},
	             {"sysv", GC_SYSV},
	             {"file", GC_FILE},
	             {"all", GC_ALL}};
	*mask = 0;
	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, ",");
		bool ok = false;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i].name) == len && !strncmp(kinds[i].name, p, len)) {
				*mask |= kinds[i].bit;
				ok = true;
			}
		if (!ok) {
			cli_usage("gc",
			          "unknown kind '%.*s': kinds are posix, chan, sysv, file, all",
			          (int)len, p);
			return false;
		}
		p += len + (p[len] == ',');
	}
	return *mask != 0 || cli_usage("gc", "no kinds given") == EXIT_OK;
}

/* A duration: a whole number of seconds, or one with s, m, h or d after it. */
static bool parse_age(const char *text, time_t *secs)
{
	static const struct {
		char unit;
		long long mult;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	char *end;
	long long v, mult = 1, r;

	errno = 0;
	v = (text[0] >= '0' && text[0] <= '9') ? strtoll(text, &end, 10) : -1;
	bool ok = v >= 0 && !errno;
	if (ok && *end) {
		ok = false;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (end[0] == units[i].unit && !end[1]) {
				mult = units[i].mult;
				ok = true;
			}
	}
	if (!ok || __builtin_mul_overflow(v, mult, &r) || (time_t)r != r) {
		cli_usage("gc", "invalid duration '%s': durations look like 90, 90s, 30m, 1h or 2d",
		          text);
		return false;
	}
	*secs = (time_t)r;
	return true;
}

/* ---- what was removed ------------------------------------------------------------------- */

static void note(struct gc *g, const char *addr, const char *kind, uint64_t alloc,
                 enum reason reason)
{
	struct gone *v = grow(g->gone, &g->capgone, g->ngone, sizeof(*v));
	char *a = v ? strdup(addr) : NULL;
	if (v)
		g->gone = v;
	if (a)
		g->gone[g->ngone++] = (struct gone){a, kind, alloc, reason};
	else
		g->status = cli_fail("gc", addr, -ENOMEM);
}

static int on_gc(const struct pshm_stat *st, int reason, void *arg)
{
	struct gc *g = arg;
	bool beacon = reason == PSHM_GC_DEAD_BEACON;
	note(g, st->address, beacon ? "chan" : pshm_kind_name(st->kind), st->allocated,
	     beacon ? R_BEACON : R_LEASE);
	return 0;
}

/* The library's part: leased objects and beacons in the shm directory. */
static void gc_leased(struct gc *g)
{
	unsigned flags = (g->dry ? PSHM_GC_DRY_RUN : 0) |
	                 (g->kinds & GC_POSIX ? PSHM_GC_LEASES : 0) |
	                 (g->kinds & GC_CHAN ? PSHM_GC_BEACONS : 0);
	if (!(flags & (PSHM_GC_LEASES | PSHM_GC_BEACONS)))
		return;
	int r = pshm_gc(flags, on_gc, g, NULL);
	if (r < 0)
		g->status = cli_fail("gc", pshm_shm_dir(), r);
}

/* ---- choosing unleased objects ---------------------------------------------------------- */

static uint64_t alloc_of(const struct stat *sb)
{
	return (uint64_t)sb->st_blocks * 512;
}

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
static struct cand *new_cand(struct gc *g, const char *addr, const char *kind, const char *name)
{
	struct cand *c = grow(g->cands, &g->capcands, g->ncands, sizeof(*c));
	if (c) {
		g->cands = c;
		c += g->ncands;
		*c = (struct cand){.addr = strdup(addr), .kind = kind, .dirfd = -1, .id = -1};
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
	struct cand *c = new_cand(g, addr, kind, name);
	if (!c)
		return;
	c->alloc = alloc_of(sb);
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
	int *v = grow(g->dirs, &g->capdirs, g->ndirs, sizeof(*v));
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

/* A file operand: the library decides whether it is a dead leased one; with --unleased, one
 * that is not leased may then be a candidate. */
static void do_file(struct gc *g, struct holders *hs, const char *addr)
{
	const char *path = addr + 5;
	struct stat sb;
	bool known = lstat(path, &sb) == 0;
	unsigned flags = PSHM_GC_LEASES | PSHM_GC_BEACONS | (g->dry ? PSHM_GC_DRY_RUN : 0);

	int r = pshm_gc_addr(addr, flags);
	if (r < 0) {
		g->status = cli_fail("gc", addr, r);
		return;
	}
	if (r > 0) {
		note(g, addr, "file", known ? alloc_of(&sb) : 0, R_LEASE);
		return;
	}
	if (!g->unleased || !known)
		return;
	/* Its directory and its name in it; "file:NAME" is in the working directory. */
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
	consider(g, hs, dfd, name, addr, "file", &sb, false);
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
	struct cand *c = new_cand(g, st->address, "sysv", NULL);
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

/* ---- removing them ---------------------------------------------------------------------- */

static const char *hidden_addr(const struct cand *c, char *buf, size_t len)
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
static void restore(struct gc *g, struct cand *c)
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
static int still(const struct cand *c, const char *name)
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
static void hide(struct gc *g, struct cand *c)
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
static void finish_file(struct gc *g, struct holders *hs, struct cand *c)
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
	note(g, c->addr, c->kind, c->alloc, c->leftover ? R_LEFTOVER : R_UNUSED);
}

/* A System V segment has no name to hide: it is looked at again, then removed. */
static void finish_sysv(struct gc *g, struct holders *hs, struct cand *c)
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
		note(g, c->addr, c->kind, c->alloc, R_UNUSED);
}

static void gc_unleased(struct gc *g)
{
	if (g->dry) {
		for (size_t i = 0; i < g->ncands; i++)
			note(g, g->cands[i].addr, g->cands[i].kind, g->cands[i].alloc,
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
		struct cand *c = &g->cands[i];
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

/* ---- output ----------------------------------------------------------------------------- */

static int cmp_gone(const void *a, const void *b)
{
	return strcmp(((const struct gone *)a)->addr, ((const struct gone *)b)->addr);
}

static void print_json(const struct gc *g)
{
	printf("{\n   \"removed\": [");
	for (size_t i = 0; i < g->ngone; i++) {
		const struct gone *e = &g->gone[i];
		printf("%s\n      {\"address\": ", i ? "," : "");
		cli_json_string(e->addr);
		printf(", \"kind\": ");
		cli_json_string(e->kind);
		printf(", \"alloc\": %llu, \"reason\": ", (unsigned long long)e->alloc);
		cli_json_string(reasons[e->reason]);
		printf("}");
	}
	printf("%s],\n   \"dry_run\": %s,\n   \"complete\": %s\n}\n", g->ngone ? "\n   " : "",
	       g->dry ? "true" : "false", g->status == EXIT_OK ? "true" : "false");
}

static int print_table(const struct gc *g)
{
	static const struct {
		const char *name;
		double whint;
		int flags;
	} cols[] = {
	    {"ADDRESS", 0.4, 0}, {"KIND", 5, 0}, {"ALLOC", 6, SCOLS_FL_RIGHT}, {"REASON", 0.3, 0}};
	struct libscols_table *tb = scols_new_table();
	char buf[32];
	int r = tb ? 0 : -ENOMEM;

	for (size_t i = 0; !r && i < sizeof(cols) / sizeof(cols[0]); i++)
		if (!scols_table_new_column(tb, cols[i].name, cols[i].whint, cols[i].flags))
			r = -ENOMEM;
	if (tb) {
		scols_table_enable_raw(tb, g->raw);
		scols_table_enable_noheadings(tb, g->noheadings);
	}
	for (size_t i = 0; !r && i < g->ngone; i++) {
		const struct gone *e = &g->gone[i];
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		if (!ln || scols_line_set_data(ln, 0, e->addr) ||
		    scols_line_set_data(ln, 1, e->kind) ||
		    scols_line_set_data(ln, 2,
		                        cli_fmt_size(buf, sizeof(buf), e->alloc, g->bytes)) ||
		    scols_line_set_data(ln, 3, reasons[e->reason]))
			r = -ENOMEM;
	}
	if (!r && g->ngone)
		r = cli_print_table(tb);
	scols_unref_table(tb);
	return r;
}

static void report(struct gc *g)
{
	if (g->ngone) /* qsort must not see NULL */
		qsort(g->gone, g->ngone, sizeof(*g->gone), cmp_gone);
	if (g->json) {
		print_json(g);
		return;
	}
	int r = print_table(g);
	if (r < 0) {
		g->status = cli_fail("gc", pshm_shm_dir(), r);
		return;
	}
	if (g->verbose) {
		uint64_t total = 0;
		char buf[32];
		for (size_t i = 0; i < g->ngone; i++)
			total += g->gone[i].alloc;
		printf("%s %zu object%s, %s%s\n", g->dry ? "would remove" : "removed", g->ngone,
		       g->ngone == 1 ? "" : "s", cli_fmt_size(buf, sizeof(buf), total, g->bytes),
		       g->dry ? "" : " freed");
	}
}

/* ---- the command ------------------------------------------------------------------------- */

static int gc_help(void)
{
	return cli_help("gc",
	                "  -n, --dry-run          remove nothing: list what would go and why\n"
	                "  -k, --kinds KINDS      posix, chan, sysv, file or all, comma-separated\n"
	                "      --unleased         also objects that are not leased and that no\n"
	                "                         process maps or holds (needs a view of every\n"
	                "                         process)\n"
	                "      --older-than DURATION\n"
	                "                         with --unleased: only objects unmodified and\n"
	                "                         unchanged for DURATION: 90, 90s, 30m, 1h, 2d\n"
	                "                         (default 0: any age)\n"
	                "  -J, --json             JSON output\n"
	                "  -b, --bytes            sizes in bytes\n"
	                "  -r, --raw              raw output: no alignment\n"
	                "      --noheadings       no heading line\n"
	                "  -v, --verbose          end with the count and the memory freed\n"
	                "  FILE-ADDR is file:PATH; given, only those files are looked at.\n"
	                "  REASON is \"dead lease\", \"dead beacon\", \"unused\" or \"unused,\n"
	                "  hidden by an interrupted gc\".\n");
}

/* The refusal of --unleased when the scan of /proc could not see every process. */
static int refuse(struct holders *hs)
{
	if (!hs)
		return cli_fail("gc", "/proc", -ENOMEM);
	fprintf(stderr,
	        "pshm: gc /proc: cannot see every process (other users' processes, or a /proc "
	        "that hides them), so unused objects cannot be told from used ones\n"
	        "pshm: --unleased needs root, or a system where every process is this user's; "
	        "without --unleased, gc removes only what leases show to be dead\n");
	return EXIT_FAIL;
}

static void cleanup(struct gc *g)
{
	for (size_t i = 0; i < g->ngone; i++)
		free(g->gone[i].addr);
	for (size_t i = 0; i < g->ncands; i++) {
		free(g->cands[i].addr);
		free(g->cands[i].name);
	}
	for (size_t i = 0; i < g->ndirs; i++)
		close(g->dirs[i]);
	free(g->dirs);
	free(g->gone);
	free(g->cands);
}

int cmd_gc(int argc, char **argv)
{
	enum { OPT_UNLEASED = 256, OPT_OLDER, OPT_NOHEADINGS };
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"kinds", required_argument, NULL, 'k'},
	    {"unleased", no_argument, NULL, OPT_UNLEASED},
	    {"older-than", required_argument, NULL, OPT_OLDER},
	    {"json", no_argument, NULL, 'J'},
	    {"bytes", no_argument, NULL, 'b'},
	    {"raw", no_argument, NULL, 'r'},
	    {"noheadings", no_argument, NULL, OPT_NOHEADINGS},
	    {"verbose", no_argument, NULL, 'v'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	struct gc g = {0};
	bool kinds_given = false, age_given = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "nk:Jbrvh", opts, NULL)) != -1) {
		bool *flag = opt == 'n'              ? &g.dry
		             : opt == OPT_UNLEASED   ? &g.unleased
		             : opt == 'J'            ? &g.json
		             : opt == 'b'            ? &g.bytes
		             : opt == 'r'            ? &g.raw
		             : opt == OPT_NOHEADINGS ? &g.noheadings
		             : opt == 'v'            ? &g.verbose
		                                     : NULL;
		if (flag)
			*flag = true;
		else if (opt == 'k' && !(kinds_given = parse_kinds(optarg, &g.kinds)))
			return EXIT_USAGE;
		else if (opt == OPT_OLDER && !(age_given = parse_age(optarg, &g.older)))
			return EXIT_USAGE;
		else if (opt == 'h')
			return gc_help();
		else if (opt != 'k' && opt != OPT_OLDER)
			return cli_bad_option("gc");
	}
	for (int i = optind; i < argc; i++)
		if (strncmp(argv[i], "file:", 5))
			return cli_usage(
			    "gc",
			    "'%s' is not a file:PATH address: objects in the shm directory "
			    "and System V segments are found without naming them",
			    argv[i]);
	if (!kinds_given)
		g.kinds = optind < argc ? GC_FILE : GC_POSIX | GC_CHAN | GC_SYSV;
	else if (optind < argc && !(g.kinds & GC_FILE))
		return cli_usage("gc", "file:PATH operands need kind file in -k");
	if (age_given && !g.unleased)
		return cli_usage("gc", "--older-than applies only with --unleased");

	struct holders *hs = NULL;
	if (g.unleased) {
		hs = holders_scan();
		if (!holders_complete(hs)) {
			int status = refuse(hs);
			holders_free(hs);
			return status;
		}
	}
	g.now = time(NULL);
	if (g.kinds & (GC_POSIX | GC_CHAN))
		gc_leased(&g);
	if (g.kinds & GC_FILE)
		for (int i = optind; i < argc; i++)
			do_file(&g, hs, argv[i]);
	if (g.unleased && (g.kinds & GC_POSIX))
		walk_shm(&g, hs);
	if (g.unleased && (g.kinds & GC_SYSV))
		walk_sysv(&g, hs);
	holders_free(hs);
	if (g.unleased)
		gc_unleased(&g);
	report(&g);
	int status = g.status;
	cleanup(&g);
	cli_die_if_stopped();
	return status;
}
