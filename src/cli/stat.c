/*
 * stat.c - pshm stat: objects in detail, as "key: value" lines or JSON, every key or those that
 * -o names by the column names of pshm ls.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* One field of the output: text for "key: value", and whether JSON should quote it. */
struct field {
	const char *key;
	char *value;  /* allocated: a list of PIDs has no length limit */
	bool number;  /* JSON: a number (or true/false) rather than a string */
	bool unknown; /* JSON: null, for a count or list that may be low (the text ends in "?") */
	const char *json; /* JSON: this instead of the text ("true" for "yes") */
};

struct fields {
	struct field f[40];
	size_t n;
	bool oom; /* a value could not be allocated */
};

static void fields_clear(struct fields *fs)
{
	while (fs->n)
		free(fs->f[--fs->n].value);
}

static struct field *add(struct fields *fs, const char *key, bool number, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static struct field *add(struct fields *fs, const char *key, bool number, const char *fmt, ...)
{
	va_list ap;
	if (fs->n >= sizeof(fs->f) / sizeof(fs->f[0]))
		return NULL;
	struct field *f = &fs->f[fs->n];
	*f = (struct field){key, NULL, number, false, NULL};
	va_start(ap, fmt);
	int r = vasprintf(&f->value, fmt, ap);
	va_end(ap);
	if (r < 0) {
		fs->oom = true;
		return NULL;
	}
	fs->n++;
	return f;
}

/* Whether the object is leased (removed when its last lease goes), and how many leases are held
 * on it: "?" (JSON null) when they could not be counted. */
static void describe_leases(struct fields *fs, const struct pshm_stat *st)
{
	struct field *f = add(fs, "leased", true, "%s", st->leased ? "yes" : "no");
	if (f)
		f->json = st->leased ? "true" : "false";
	if (st->leases == PSHM_LEASES_UNKNOWN) {
		if ((f = add(fs, "leases", true, "?")))
			f->unknown = true;
	} else {
		add(fs, "leases", true, "%u", (unsigned)st->leases);
	}
}

/* A time as --time-format says: "-" for never, in JSON null; a number with epoch. */
static void add_time(struct fields *fs, const char *key, const struct pshm_time *ts,
                     enum cli_timefmt tf)
{
	char buf[64];
	struct field *f =
	    add(fs, key, tf == CLI_TIME_EPOCH, "%s", cli_fmt_time_as(buf, sizeof(buf), ts, tf));
	if (f && !ts->sec)
		f->json = "null";
}

/* How many processes use ST, and which, as HS saw them. */
static void describe_procs(struct fields *fs, const struct pshm_stat *st, struct holders *hs)
{
	size_t n = 0;
	const struct holder *h = holders_of(hs, st, &n);
	/* From a scan that missed processes they may be low: "2?" and "7,9,?", null in JSON. */
	bool whole = holders_complete(hs);
	char *pids = holders_pids(h, n, ",", !whole);
	struct field *f =
	    add(fs, "processes", true, "%zu%s", holders_nprocs(h, n), whole ? "" : "?");
	if (f)
		f->unknown = !whole;
	if ((f = pids ? add(fs, "pids", false, "%s", pids) : NULL))
		f->unknown = !whole;
	fs->oom |= !pids;
	free(pids);
	add(fs, "complete", true, "%s", whole ? "true" : "false");
}

/* Every key of ST; those of processes only with a scan HS. */
static void describe(struct fields *fs, const struct pshm_stat *st, struct holders *hs,
                     const struct cli_table_opts *t)
{
	char buf[64], b2[64];
	bool sysv = st->kind == PSHM_SYSV, bytes = t->bytes;

	add(fs, "address", false, "%s", st->address);
	add(fs, "kind", false, "%s", pshm_kind_name(st->kind));
	add(fs, "size", true, "%llu", (unsigned long long)st->size);
	if (!bytes)
		add(fs, "size_human", false, "%s", cli_fmt_size(buf, sizeof(buf), st->size, false));
	add(fs, "allocated", true, "%llu", (unsigned long long)st->allocated);
	add(fs, "sparse", true, "%s", !sysv && st->allocated < st->size ? "true" : "false");
	/* 0: the kind of pages could not be told ("?", null in JSON). */
	struct field *f =
	    st->page_size ? add(fs, "page_size", true, "%llu", (unsigned long long)st->page_size)
	                  : add(fs, "page_size", true, "?");
	if (f && !st->page_size)
		f->unknown = true;
	add(fs, "mode", false, "%04o", (unsigned)st->mode);
	add(fs, "perms", false, "%s", cli_fmt_mode(buf, st->mode));
	add(fs, "owner", false, "%s", cli_user(st->uid));
	add(fs, "uid", true, "%u", (unsigned)st->uid);
	add(fs, "group", false, "%s", cli_group(st->gid));
	add(fs, "gid", true, "%u", (unsigned)st->gid);
	add_time(fs, sysv ? "attach_time" : "access_time", &st->atime, t->time);
	add_time(fs, sysv ? "detach_time" : "modify_time", &st->mtime, t->time);
	add_time(fs, "change_time", &st->ctime, t->time);
	if (sysv) {
		add(fs, "key", false, "0x%08x", (unsigned)st->key);
		add(fs, "id", true, "%d", st->id);
		add(fs, "nattch", true, "%llu", (unsigned long long)st->nattch);
		add(fs, "cpid", true, "%d", (int)st->cpid);
		add(fs, "lpid", true, "%d", (int)st->lpid);
		add(fs, "creator_uid", true, "%u", (unsigned)st->cuid);
		add(fs, "creator_gid", true, "%u", (unsigned)st->cgid);
		add(fs, "removed", true, "%s", st->removed ? "true" : "false");
	} else {
		add(fs, "device", false, "%u:%u", major(st->dev), minor(st->dev));
		add(fs, "inode", true, "%llu", (unsigned long long)st->ino);
		add(fs, "links", true, "%llu", (unsigned long long)st->nlink);
	}
	if (st->kind == PSHM_POSIX || st->kind == PSHM_FILE)
		describe_leases(fs, st);
	if (st->kind == PSHM_MEMFD)
		add(fs, "seals", false, "%s", cli_fmt_seals(b2, sizeof(b2), st->seals));
	if (hs)
		describe_procs(fs, st, hs);
}

static void print_fields(const struct fields *fs, bool json)
{
	if (!json) {
		for (size_t i = 0; i < fs->n; i++)
			printf("%s: %s\n", fs->f[i].key, cli_safe(fs->f[i].value));
		return;
	}
	printf("  {");
	for (size_t i = 0; i < fs->n; i++) {
		const struct field *f = &fs->f[i];
		printf("%s\n    \"%s\": ", i ? "," : "", f->key);
		if (f->unknown) {
			printf("null");
		} else if (f->json) {
			printf("%s", f->json);
		} else if (!strcmp(f->key, "pids")) {
			printf("[%s]", f->value);
		} else if (f->number) {
			printf("%s", f->value);
		} else {
			cli_json_string(f->value);
		}
	}
	printf("\n  }");
}

/* ---- -o: the keys by the names of ls's columns ------------------------------------------- */

enum col_id {
	S_ADDRESS,
	S_KIND,
	S_SIZE,
	S_ALLOC,
	S_SPARSE,
	S_PAGESIZE,
	S_PERMS,
	S_MODE,
	S_OWNER,
	S_GROUP,
	S_UID,
	S_GID,
	S_ATIME,
	S_MTIME,
	S_CTIME,
	S_NPROCS,
	S_PIDS,
	S_KEY,
	S_ID,
	S_NATTCH,
	S_CPID,
	S_LPID,
	S_CUID,
	S_CGID,
	S_SEALS,
	S_STATUS,
	S_LEASES,
	S_DEVICE,
	S_INODE,
	S_LINKS,
	S_NCOLS
};

#define COL(name, help) CLI_COL(name, 0, 0, 0, help)

/* Only the names and help of the cli_col are used. */
static const struct cli_col cols[S_NCOLS] = {
    [S_ADDRESS] = COL("ADDRESS", "address"),
    [S_KIND] = COL("KIND", "kind"),
    [S_SIZE] = COL("SIZE", "size, size_human"),
    [S_ALLOC] = COL("ALLOC", "allocated"),
    [S_SPARSE] = COL("SPARSE", "sparse"),
    [S_PAGESIZE] = COL("PAGESIZE", "page_size"),
    [S_PERMS] = COL("PERMS", "perms"),
    [S_MODE] = COL("MODE", "mode"),
    [S_OWNER] = COL("OWNER", "owner"),
    [S_GROUP] = COL("GROUP", "group"),
    [S_UID] = COL("UID", "uid"),
    [S_GID] = COL("GID", "gid"),
    [S_ATIME] = COL("ATIME", "access_time (System V: attach_time)"),
    [S_MTIME] = COL("MTIME", "modify_time (System V: detach_time)"),
    [S_CTIME] = COL("CTIME", "change_time"),
    [S_NPROCS] = COL("NPROCS", "processes"),
    [S_PIDS] = COL("PIDS", "pids"),
    [S_KEY] = COL("KEY", "key"),
    [S_ID] = COL("ID", "id"),
    [S_NATTCH] = COL("NATTCH", "nattch"),
    [S_CPID] = COL("CPID", "cpid"),
    [S_LPID] = COL("LPID", "lpid"),
    [S_CUID] = COL("CUID", "creator_uid"),
    [S_CGID] = COL("CGID", "creator_gid"),
    [S_SEALS] = COL("SEALS", "seals"),
    [S_STATUS] = COL("STATUS", "leased, removed"),
    [S_LEASES] = COL("LEASES", "leases"),
    [S_DEVICE] = COL("DEVICE", "device"),
    [S_INODE] = COL("INODE", "inode"),
    [S_LINKS] = COL("LINKS", "links"),
};

/* The keys each name stands for, those the object's kind has. */
static const char *const keys[S_NCOLS][2] = {
    [S_ADDRESS] = {"address"},
    [S_KIND] = {"kind"},
    [S_SIZE] = {"size", "size_human"},
    [S_ALLOC] = {"allocated"},
    [S_SPARSE] = {"sparse"},
    [S_PAGESIZE] = {"page_size"},
    [S_PERMS] = {"perms"},
    [S_MODE] = {"mode"},
    [S_OWNER] = {"owner"},
    [S_GROUP] = {"group"},
    [S_UID] = {"uid"},
    [S_GID] = {"gid"},
    [S_ATIME] = {"access_time", "attach_time"},
    [S_MTIME] = {"modify_time", "detach_time"},
    [S_CTIME] = {"change_time"},
    [S_NPROCS] = {"processes"},
    [S_PIDS] = {"pids"},
    [S_KEY] = {"key"},
    [S_ID] = {"id"},
    [S_NATTCH] = {"nattch"},
    [S_CPID] = {"cpid"},
    [S_LPID] = {"lpid"},
    [S_CUID] = {"creator_uid"},
    [S_CGID] = {"creator_gid"},
    [S_SEALS] = {"seals"},
    [S_STATUS] = {"leased", "removed"},
    [S_LEASES] = {"leases"},
    [S_DEVICE] = {"device"},
    [S_INODE] = {"inode"},
    [S_LINKS] = {"links"},
};

static const struct cli_cols stat_cols = {"stat", cols, S_NCOLS, NULL, 0};

struct statopts {
	struct cli_table_opts t;
	int ids[S_NCOLS];
	size_t n; /* 0: no -o, every key */
};

/* Keep of FS only the keys O's names stand for, in their order, each once. */
static void select_fields(struct fields *fs, const struct statopts *o)
{
	struct field all[sizeof(fs->f) / sizeof(fs->f[0])];
	bool taken[sizeof(all) / sizeof(all[0])] = {false};
	size_t n = fs->n;

	memcpy(all, fs->f, n * sizeof(all[0]));
	fs->n = 0;
	for (size_t i = 0; i < o->n; i++)
		for (size_t k = 0; k < 2 && keys[o->ids[i]][k]; k++)
			for (size_t j = 0; j < n; j++)
				if (!taken[j] && !strcmp(all[j].key, keys[o->ids[i]][k])) {
					taken[j] = true;
					fs->f[fs->n++] = all[j];
				}
	for (size_t j = 0; j < n; j++)
		if (!taken[j])
			free(all[j].value);
}

/* Whether the output shows processes: then the scan of /proc is needed. */
static bool wants_procs(const struct statopts *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->ids[i] == S_NPROCS || o->ids[i] == S_PIDS)
			return true;
	return o->n == 0;
}

static int stat_help(void)
{
	cli_help_begin("stat",
	               "  -J, --json             JSON output: an array of objects\n"
	               "  -b, --bytes            sizes in bytes only\n"
	               "  -o, --output NAMES     only the keys these names stand for, in their\n"
	               "                         order; comma-separated, in any case\n"
	               "      --time-format FORMAT  short, full, iso or epoch, as in ls\n");
	printf("\nNames for -o (ls's columns), and the keys they stand for:\n");
	for (size_t i = 0; i < S_NCOLS; i++)
		printf("  %-8s %s\n", cols[i].name, cols[i].help);
	printf("\nTimes are full (2026-12-04 13:05:09 +0100), in JSON iso\n"
	       "(2026-12-04T13:05:09+01:00) or, with --time-format=epoch, numbers.\n");
	cli_help_end();
	return EXIT_OK;
}

/* The options into O: -1 to go on, else the exit status. */
static int parse_args(struct statopts *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"bytes", no_argument, NULL, 'b'},
	    {"output", required_argument, NULL, 'o'},
	    {"time-format", required_argument, NULL, CLI_OPT_TIME_FORMAT},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "Jbo:h", opts, NULL)) != -1) {
		if (c == 'h')
			return stat_help();
		if (!cli_table_opt(&o->t, c))
			return cli_bad_option("stat", opts, argv);
	}
	if (!cli_table_done("stat", &o->t))
		return EXIT_USAGE;
	if (o->t.columns && !cli_cols_select(&stat_cols, o->t.columns, o->ids, &o->n))
		return EXIT_USAGE;
	if (optind == argc)
		return cli_usage("stat", "no object named");
	return -1;
}

int cmd_stat(int argc, char **argv)
{
	struct statopts o = {0};
	int status = parse_args(&o, argc, argv);
	if (status >= 0)
		return status;
	bool json = o.t.json, procs = wants_procs(&o);
	struct holders *hs = procs ? holders_scan() : NULL;
	int shown = 0;
	struct fields *fs = calloc(1, sizeof(*fs));
	status = EXIT_OK;
	if (!fs || (procs && !hs)) {
		free(fs);
		holders_free(hs);
		return cli_fail("stat", argv[optind], -ENOMEM);
	}
	if (json)
		printf("[");
	for (int i = optind; i < argc; i++) {
		struct pshm_stat st;
		cli_warn_bare(argv[i]);
		int r = pshm_stat_addr(argv[i], &st);
		if (r < 0) {
			status = cli_fail("stat", argv[i], r);
			continue;
		}
		fields_clear(fs);
		describe(fs, &st, hs, &o.t);
		if (o.n)
			select_fields(fs, &o);
		if (fs->oom) {
			fs->oom = false;
			status = cli_fail("stat", argv[i], -ENOMEM);
			continue;
		}
		if (json)
			printf("%s\n", shown ? "," : "");
		else if (shown)
			printf("\n");
		print_fields(fs, json);
		shown++;
	}
	if (json)
		printf("%s]\n", shown ? "\n" : "");
	fields_clear(fs);
	free(fs);
	if (holders_report(hs, "stat"))
		status = EXIT_FAIL;
	holders_free(hs);
	return status;
}
