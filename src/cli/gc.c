/*
 * gc.c - pshm gc: remove the shared memory that nobody can use any more.
 *
 * What is leased is decided by the kernel's locks, in the library: pshm_gc() removes the leased
 * objects whose every holder is gone and the beacon files of channel role holders that died,
 * pshm_gc_addr() does the same for one file. With --unleased, objects that no process maps or
 * holds go too (gc_unleased.c). This file takes the options, makes the library's part of the
 * run, and shows what went, as a table or as JSON, from the one column table below.
 */
#include "gc.h"

#include <errno.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <stdlib.h>
#include <string.h>

static const char *const reasons[] = {
    [R_LEASE] = "dead lease",
    [R_BEACON] = "dead beacon",
    [R_UNUSED] = "unused",
    [R_LEFTOVER] = "unused, hidden by an interrupted gc",
};

enum col_id { C_ADDRESS, C_KIND, C_ALLOC, C_REASON, C_NCOLS };

/* No -o: every column is always shown, so none has a line of --help. */
static const struct cli_col cols[C_NCOLS] = {
    [C_ADDRESS] = CLI_COL("ADDRESS", 0.4, 0, SCOLS_JSON_STRING, NULL),
    [C_KIND] = CLI_COL("KIND", 5, 0, SCOLS_JSON_STRING, NULL),
    [C_ALLOC] = CLI_COL("ALLOC", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, NULL),
    [C_REASON] = CLI_COL("REASON", 0.3, 0, SCOLS_JSON_STRING, NULL),
};

/* V (holding N of *CAP elements of SIZE bytes) with room for one more: V itself, a new array,
 * or NULL (V is left as it was). */
void *gc_grow(void *v, size_t *cap, size_t n, size_t size)
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

void gc_note(struct gc *g, const char *addr, const char *kind, uint64_t alloc,
             enum gc_reason reason)
{
	struct gc_gone *v = gc_grow(g->gone, &g->capgone, g->ngone, sizeof(*v));
	char *a = v ? strdup(addr) : NULL;
	if (v)
		g->gone = v;
	if (a)
		g->gone[g->ngone++] = (struct gc_gone){a, kind, alloc, reason};
	else
		g->status = cli_fail("gc", addr, -ENOMEM);
}

static int on_gc(const struct pshm_stat *st, int reason, void *arg)
{
	struct gc *g = arg;
	bool beacon = reason == PSHM_GC_DEAD_BEACON;
	gc_note(g, st->address, beacon ? "chan" : pshm_kind_name(st->kind), st->allocated,
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

/* A file operand: the library decides whether it is a dead leased one; with --unleased, one
 * that is not leased may then be a candidate. */
static void do_file(struct gc *g, struct holders *hs, const char *addr)
{
	const char *path = addr + 5;
	struct stat sb;
	bool known = lstat(path, &sb) == 0;
	unsigned flags = PSHM_GC_LEASES | PSHM_GC_BEACONS | (g->dry ? PSHM_GC_DRY_RUN : 0);

	int r = pshm_gc_addr(addr, flags);
	if (r < 0)
		g->status = cli_fail("gc", addr, r);
	else if (r > 0)
		gc_note(g, addr, "file", known ? gc_alloc(&sb) : 0, R_LEASE);
	else if (g->unleased && known)
		gc_consider_file(g, hs, addr, &sb);
}

/* ---- output ----------------------------------------------------------------------------- */

static int cmp_gone(const void *a, const void *b)
{
	return strcmp(((const struct gc_gone *)a)->addr, ((const struct gc_gone *)b)->addr);
}

/* The table of what went, for text or JSON as -J says; NULL when out of memory. */
static struct libscols_table *gone_table(const struct gc *g)
{
	struct libscols_table *tb = cli_table_new(cols, NULL, C_NCOLS, g->t.how);
	char buf[32];

	for (size_t i = 0; tb && i < g->ngone; i++) {
		const struct gc_gone *e = &g->gone[i];
		const char *texts[C_NCOLS] = {
		    [C_ADDRESS] = e->addr,
		    [C_KIND] = e->kind,
		    [C_ALLOC] = cli_fmt_size(buf, sizeof(buf), e->alloc, g->t.bytes),
		    [C_REASON] = reasons[e->reason],
		};
		if (!cli_table_line(tb, texts, NULL, C_NCOLS)) {
			scols_unref_table(tb);
			return NULL;
		}
	}
	return tb;
}

/* -v's last line: how many went and the memory they held. */
static void print_total(const struct gc *g)
{
	uint64_t total = 0;
	char buf[32];
	for (size_t i = 0; i < g->ngone; i++)
		total += g->gone[i].alloc;
	printf("%s %zu object%s, %s%s\n", g->dry ? "would remove" : "removed", g->ngone,
	       g->ngone == 1 ? "" : "s", cli_fmt_size(buf, sizeof(buf), total, g->t.bytes),
	       g->dry ? "" : " freed");
}

static void report(struct gc *g)
{
	if (g->ngone) /* qsort must not see NULL */
		qsort(g->gone, g->ngone, sizeof(*g->gone), cmp_gone);
	struct libscols_table *tb = gone_table(g);
	if (!tb) {
		g->status = cli_fail("gc", pshm_shm_dir(), -ENOMEM);
		return;
	}
	if (g->t.json) {
		cli_json_begin();
		cli_json_table(tb, "removed", CLI_JSON_ARRAY);
		cli_json_bool("dry_run", g->dry);
		cli_json_bool("complete", g->status == EXIT_OK);
		cli_json_end();
	} else {
		int r = g->ngone ? cli_print_table(tb) : 0;
		if (r < 0)
			g->status = cli_fail("gc", pshm_shm_dir(), r);
		else if (g->verbose)
			print_total(g);
	}
	scols_unref_table(tb);
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
	free(g->gone);
	gc_cands_free(g);
}

/* -n is --dry-run here, so --noheadings, the tables' -n, has no short form. */
enum { OPT_UNLEASED = 256, OPT_OLDER, OPT_NOHEADINGS };

/* Take OPT into G when it is a flag of gc's own, or of the tables; false when it is neither. */
static bool flag_opt(struct gc *g, int opt)
{
	bool *flag = opt == 'n'            ? &g->dry
	             : opt == OPT_UNLEASED ? &g->unleased
	             : opt == 'v'          ? &g->verbose
	                                   : NULL;
	if (flag)
		*flag = true;
	return flag || cli_table_opt(&g->t, opt == OPT_NOHEADINGS ? 'n' : opt);
}

/* The options and operands into G: -1 to go on, else the exit status. */
static int parse_args(struct gc *g, int argc, char **argv)
{
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
	bool kinds_given = false, age_given = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "nk:Jbrvh", opts, NULL)) != -1) {
		if (opt == 'k' && !(kinds_given = parse_kinds(optarg, &g->kinds)))
			return EXIT_USAGE;
		else if (opt == OPT_OLDER && !(age_given = parse_age(optarg, &g->older)))
			return EXIT_USAGE;
		else if (opt == 'h')
			return gc_help();
		else if (opt != 'k' && opt != OPT_OLDER && !flag_opt(g, opt))
			return cli_bad_option("gc", opts, argv);
	}
	for (int i = optind; i < argc; i++)
		if (strncmp(argv[i], "file:", 5))
			return cli_usage(
			    "gc",
			    "'%s' is not a file:PATH address: objects in the shm directory "
			    "and System V segments are found without naming them",
			    argv[i]);
	if (!kinds_given)
		g->kinds = optind < argc ? GC_FILE : GC_POSIX | GC_CHAN | GC_SYSV;
	else if (optind < argc && !(g->kinds & GC_FILE))
		return cli_usage("gc", "file:PATH operands need kind file in -k");
	if (age_given && !g->unleased)
		return cli_usage("gc", "--older-than applies only with --unleased");
	return -1;
}

int cmd_gc(int argc, char **argv)
{
	struct gc g = {0};
	int status = parse_args(&g, argc, argv);
	if (status >= 0)
		return status;

	struct holders *hs = NULL;
	if (g.unleased) {
		hs = holders_scan();
		if (!holders_complete(hs)) {
			status = refuse(hs);
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
	if (g.unleased)
		gc_choose(&g, hs);
	holders_free(hs);
	if (g.unleased)
		gc_unleased(&g);
	report(&g);
	status = g.status;
	cleanup(&g);
	cli_die_if_stopped();
	return status;
}
