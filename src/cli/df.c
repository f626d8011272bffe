/*
 * df.c - pshm df: what uses the shared memory of this machine, in five tables. The shm
 * directory's file system as df(1) shows it; the memory each user's objects take, by kind;
 * every object that no name reaches any more (an unlinked object still mapped, a segment marked
 * for removal, a memfd) with the processes that hold it, which is what a full /dev/shm that ls
 * shows as empty needs; the System V limits against their use; and the pools of huge pages
 * (huge.c reads them). df_scan.c measures the rest; this file shows them, as text or as one
 * JSON document. One table of columns drives the owners' table, -o and --help.
 */
#include "df.h"
#include "huge.h"

#include <errno.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <stdlib.h>

enum col_id { C_OWNER, C_UID, C_POSIX, C_SYSV, C_MEMFD, C_NONAME, C_TOTAL, C_OBJECTS, C_NCOLS };

#define SUM(name, help) CLI_COL(name, 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, help)

static const struct cli_col cols[C_NCOLS] = {
    [C_OWNER] = CLI_COL("OWNER", 8, 0, SCOLS_JSON_STRING, "user name, or user ID when it has none"),
    [C_UID] = SUM("UID", "user ID"),
    [C_POSIX] = SUM("POSIX", "named POSIX objects and semaphores in the shm directory"),
    [C_SYSV] = SUM("SYSV", "System V segments (resident and swapped)"),
    [C_MEMFD] = SUM("MEMFD", "memfds that processes hold or map"),
    [C_NONAME] = SUM("NONAME", "what no name reaches: unlinked files, removed segments, memfds"),
    [C_TOTAL] = SUM("TOTAL", "all of it, each object once"),
    [C_OBJECTS] = SUM("OBJECTS", "how many objects TOTAL counts"),
};

/* The sum each column shows (S_NSUMS for OWNER and UID), and whether it is found in processes,
 * so that it may be low when the scan could not see them all. */
static const struct {
	enum sum sum;
	bool from_procs;
} sums[C_NCOLS] = {
    [C_OWNER] = {S_NSUMS, false}, [C_UID] = {S_NSUMS, false},      [C_POSIX] = {S_POSIX, false},
    [C_SYSV] = {S_SYSV, false},   [C_MEMFD] = {S_MEMFD, true},     [C_NONAME] = {S_NONAME, true},
    [C_TOTAL] = {S_TOTAL, true},  [C_OBJECTS] = {S_OBJECTS, true},
};

static const int default_cols[] = {C_OWNER, C_POSIX, C_SYSV, C_MEMFD, C_NONAME, C_TOTAL};

static const struct cli_cols df_cols = {"df", cols, C_NCOLS, default_cols,
                                        sizeof(default_cols) / sizeof(default_cols[0])};

struct df {
	struct cli_table_opts opt;
	int ids[C_NCOLS];
	size_t ncols;
	struct df_usage u;
};

/* ---- tables -------------------------------------------------------------------------------- */

/* df(1)'s Use%: used over what users could have, rounded up. */
static unsigned use_percent(const struct df *df)
{
	uint64_t all = df->u.fs_used + df->u.fs_avail;
	return all ? (unsigned)((df->u.fs_used * 100 + all - 1) / all) : 0;
}

/* A percentage as a cell: "7%", or 7 for JSON. */
static const char *percent_cell(const struct df *df, unsigned p, char *buf, size_t len)
{
	snprintf(buf, len, "%u%s", p, df->opt.json ? "" : "%");
	return buf;
}

#define NUM(name, key)                                                                             \
	{                                                                                          \
		name, 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, NULL, key                              \
	}

static struct libscols_table *dir_table(struct df *df)
{
	static const struct cli_col dcols[] = {
	    {"DIRECTORY", 0.3, 0, SCOLS_JSON_STRING, NULL, "path"},
	    NUM("SIZE", NULL),
	    NUM("USED", NULL),
	    NUM("AVAIL", NULL),
	    NUM("USE%", "use_percent")};
	char s[32], u[32], a[32], p[8];
	struct libscols_table *tb = cli_table_new(dcols, NULL, 5, df->opt.how);

	if (!tb || !df->u.have_fs)
		return tb;
	const char *texts[] = {df->u.dir, cli_fmt_size(s, sizeof(s), df->u.fs_size, df->opt.bytes),
	                       cli_fmt_size(u, sizeof(u), df->u.fs_used, df->opt.bytes),
	                       cli_fmt_size(a, sizeof(a), df->u.fs_avail, df->opt.bytes),
	                       percent_cell(df, use_percent(df), p, sizeof(p))};
	if (!cli_table_line(tb, texts, NULL, 5)) {
		scols_unref_table(tb);
		return NULL;
	}
	return tb;
}

/* The owners' column ID for O into BUF: a size or a count, "?" after it when it may be low. */
static const char *owner_cell(const struct df *df, int id, const struct owner *o, char *buf,
                              size_t len)
{
	const char *more = sums[id].from_procs && df->u.partial && !df->opt.json ? "?" : "";
	char size[32];

	if (id == C_OWNER)
		return cli_user(o->uid);
	uint64_t v = id == C_UID ? o->uid : o->sum[sums[id].sum];
	if (id == C_UID || id == C_OBJECTS)
		snprintf(buf, len, "%llu%s", (unsigned long long)v, more);
	else
		snprintf(buf, len, "%s%s", cli_fmt_size(size, sizeof(size), v, df->opt.bytes),
		         more);
	return buf;
}

static struct libscols_table *owner_table(struct df *df)
{
	const char *texts[C_NCOLS];
	char bufs[C_NCOLS][48];
	struct libscols_table *tb = cli_table_new(cols, df->ids, df->ncols, df->opt.how);

	for (size_t k = 0; tb && k < df->u.nowners; k++) {
		for (size_t i = 0; i < df->ncols; i++)
			texts[i] =
			    owner_cell(df, df->ids[i], &df->u.owners[k], bufs[i], sizeof(bufs[i]));
		if (!cli_table_line(tb, texts, NULL, df->ncols)) {
			scols_unref_table(tb);
			return NULL;
		}
	}
	return tb;
}

/* JSON's list of the processes that hold IT, each once: their IDs and command names. */
static struct libscols_table *process_table(const struct item *it)
{
	static const struct cli_col pcols[] = {CLI_COL("PID", 6, 0, SCOLS_JSON_NUMBER, NULL),
	                                       CLI_COL("COMMAND", 0.2, 0, SCOLS_JSON_STRING, NULL)};
	struct libscols_table *tb = cli_table_new(pcols, NULL, 2, CLI_TB_JSON);
	char pid[16], comm[64];

	for (size_t i = 0; tb && i < it->nholders; i++) {
		if (i && it->holders[i].pid == it->holders[i - 1].pid)
			continue;
		snprintf(pid, sizeof(pid), "%d", (int)it->holders[i].pid);
		const char *texts[] = {pid,
		                       holders_command(it->holders[i].pid, comm, sizeof(comm))};
		if (!cli_table_line(tb, texts, NULL, 2)) {
			scols_unref_table(tb);
			return NULL;
		}
	}
	return tb;
}

enum { I_KIND, I_SIZE, I_ALLOC, I_OWNER, I_PIDS, I_COMMANDS, I_NAME, I_UID, I_EST, I_PROCS, I_N };

/* A line of the nameless objects' table for IT; 0 or -ENOMEM. */
static int item_line(struct df *df, struct libscols_table *tb, struct item *it, const int *ids,
                     size_t n)
{
	char size[32], alloc[32], uid[16];
	/* A list that may be short ends in "?", as ls's PIDS. */
	char *pids =
	    df->opt.json ? NULL : holders_pids(it->holders, it->nholders, ",", df->u.partial);
	char *comms = df->opt.json ? NULL : holders_commands(it->holders, it->nholders, ",");
	struct libscols_line *ln = NULL;

	snprintf(uid, sizeof(uid), "%u", (unsigned)it->uid);
	const char *texts[I_N] = {
	    [I_KIND] = it->kind,
	    [I_SIZE] = cli_fmt_size(size, sizeof(size), it->size, df->opt.bytes),
	    [I_ALLOC] = cli_fmt_size(alloc, sizeof(alloc), it->allocated, df->opt.bytes),
	    [I_OWNER] = cli_user(it->uid),
	    [I_PIDS] = pids,
	    [I_COMMANDS] = comms,
	    [I_NAME] = it->name,
	    [I_UID] = uid,
	    [I_EST] = it->estimated ? "1" : "0",
	};
	if (df->opt.json)
		it->procs = process_table(it);
	if (df->opt.json ? it->procs != NULL : pids && comms)
		ln = cli_table_line(tb, texts, ids, n);
	free(pids);
	free(comms);
	return ln && (!df->opt.json || !cli_json_nest(ln, n - 1, it->procs)) ? 0 : -ENOMEM;
}

static struct libscols_table *item_table(struct df *df)
{
	static const struct cli_col icols[I_N] = {
	    [I_KIND] = {"NONAME", 6, 0, SCOLS_JSON_STRING, NULL, "kind"},
	    [I_SIZE] = NUM("SIZE", NULL),
	    [I_ALLOC] = NUM("ALLOC", "allocated"),
	    [I_OWNER] = CLI_COL("OWNER", 8, 0, SCOLS_JSON_STRING, NULL),
	    [I_PIDS] = CLI_COL("PIDS", 0.1, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, NULL),
	    [I_COMMANDS] = CLI_COL("COMMANDS", 0.1, SCOLS_FL_TRUNC, SCOLS_JSON_STRING, NULL),
	    [I_NAME] = CLI_COL("NAME", 0.3, 0, SCOLS_JSON_STRING, NULL),
	    [I_UID] = NUM("UID", NULL),
	    [I_EST] = CLI_COL("ESTIMATED", 5, 0, SCOLS_JSON_BOOLEAN, NULL),
	    [I_PROCS] = CLI_COL("PROCESSES", 0.1, 0, SCOLS_JSON_STRING, NULL),
	};
	static const int text[] = {I_KIND, I_SIZE, I_ALLOC, I_OWNER, I_PIDS, I_COMMANDS, I_NAME};
	/* JSON's processes last: item_line nests them there. */
	static const int json[] = {I_KIND, I_NAME, I_OWNER, I_UID, I_SIZE, I_ALLOC, I_EST, I_PROCS};
	const int *ids = df->opt.json ? json : text;
	size_t n = df->opt.json ? sizeof(json) / sizeof(*json) : sizeof(text) / sizeof(*text);
	struct libscols_table *tb = cli_table_new(icols, ids, n, df->opt.how);

	for (size_t k = 0; tb && k < df->u.nitems; k++)
		if (item_line(df, tb, &df->u.items[k], ids, n)) {
			scols_unref_table(tb);
			return NULL;
		}
	return tb;
}

/* A limit's value as the table shows it: a size, or a count. */
static const char *limit_text(const struct df *df, const struct limit *l, uint64_t v, char *buf,
                              size_t len)
{
	if (l->size)
		return cli_fmt_size(buf, len, v, df->opt.bytes);
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* USED against MAX, in percent rounded up, as lsipc shows it. */
static unsigned limit_percent(const struct limit *l)
{
	if (!l->max)
		return l->used ? 100 : 0;
	long double p = (long double)l->used * 100 / (long double)l->max;
	unsigned r = (unsigned)p;
	return r + (p > r);
}

static struct libscols_table *limit_table(struct df *df)
{
	static const struct cli_col lcols[] = {
	    CLI_COL("RESOURCE", 8, 0, SCOLS_JSON_STRING, NULL),
	    CLI_COL("DESCRIPTION", 0.3, 0, SCOLS_JSON_STRING, NULL), NUM("LIMIT", NULL),
	    NUM("USED", NULL), NUM("USE%", NULL)};
	/* JSON: {"NAME": {"limit": N, "used": N}}, the limit null when unknown. */
	static const int json[] = {0, 2, 3};
	char m[32], u[32], p[8];
	const char *unknown = df->opt.json ? NULL : "?";
	const int *ids = df->opt.json ? json : NULL;
	size_t n = df->opt.json ? 3 : 5;
	struct libscols_table *tb = cli_table_new(lcols, ids, n, df->opt.how);

	for (size_t k = 0; tb && k < L_NLIMITS; k++) {
		const struct limit *l = &df->u.lim[k];
		const char *texts[] = {
		    l->name, l->help, l->known ? limit_text(df, l, l->max, m, sizeof(m)) : unknown,
		    limit_text(df, l, l->used, u, sizeof(u)),
		    l->known ? percent_cell(df, limit_percent(l), p, sizeof(p)) : unknown};
		if (!cli_table_line(tb, texts, ids, n)) {
			scols_unref_table(tb);
			return NULL;
		}
	}
	return tb;
}

/* The pools of huge pages, one line per page size: its pages in all, free, reserved (promised,
 * counted among the free ones) and surplus. */
static struct libscols_table *pool_table(struct df *df)
{
	static const struct cli_col hcols[] = {NUM("PAGESIZE", "page_size"), NUM("TOTAL", NULL),
	                                       NUM("FREE", NULL), NUM("RSVD", "reserved"),
	                                       NUM("SURPLUS", NULL)};
	struct huge_pool p[16];
	char cells[5][32];
	size_t n = huge_pools(p, 16);
	struct libscols_table *tb = cli_table_new(hcols, NULL, 5, df->opt.how);

	for (size_t k = 0; tb && k < n; k++) {
		const uint64_t v[] = {p[k].total, p[k].free, p[k].reserved, p[k].surplus};
		const char *texts[5] = {
		    cli_fmt_size(cells[0], sizeof(cells[0]), p[k].page_size, df->opt.bytes)};
		for (size_t i = 0; i < 4; i++) {
			snprintf(cells[i + 1], sizeof(cells[i + 1]), "%llu",
			         (unsigned long long)v[i]);
			texts[i + 1] = cells[i + 1];
		}
		if (!cli_table_line(tb, texts, NULL, 5)) {
			scols_unref_table(tb);
			return NULL;
		}
	}
	return tb;
}

/* Print TB (NULL: it could not be made) as JSON member NAME in SHAPE, or as text unless it is
 * empty, a blank line before all but the first; then free it. */
static void show(struct df *df, struct libscols_table *tb, const char *name,
                 enum cli_json_shape shape, bool *first)
{
	if (!tb) {
		df->u.status = cli_fail("df", df->u.dir, -ENOMEM);
		return;
	}
	if (df->opt.json) {
		cli_json_table(tb, name, shape);
	} else if (scols_table_get_nlines(tb)) {
		if (!*first)
			putchar('\n');
		*first = false;
		if (cli_print_table(tb))
			df->u.status = cli_fail("df", df->u.dir, -ENOMEM);
	}
	scols_unref_table(tb);
}

static void print_df(struct df *df)
{
	bool first = true;

	if (df->opt.json)
		cli_json_begin();
	show(df, dir_table(df), "directory", CLI_JSON_OBJECT, &first);
	show(df, owner_table(df), "owners", CLI_JSON_ARRAY, &first);
	show(df, item_table(df), "nameless", CLI_JSON_ARRAY, &first);
	show(df, limit_table(df), "sysv_limits", CLI_JSON_KEYED, &first);
	show(df, pool_table(df), "huge_pages", CLI_JSON_ARRAY, &first);
	if (df->opt.json) {
		cli_json_bool("complete", !df->u.partial);
		cli_json_end();
	}
}

/* ---- the command ------------------------------------------------------------------------- */

static int df_help(void)
{
	cli_help_begin("df",
	               "  -J, --json             JSON output (numbers as numbers, sizes in bytes)\n"
	               "  -o, --output COLUMNS   the owners' columns, comma-separated; +COLUMNS "
	               "adds\n"
	               "  -r, --raw              raw output: no alignment\n"
	               "  -b, --bytes            sizes in bytes\n"
	               "  -n, --noheadings       no heading lines\n");
	printf("\nColumns of the owners' table (sizes are allocated memory):\n");
	cli_cols_help(&df_cols);
	cli_help_end();
	return EXIT_OK;
}

int cmd_df(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_TABLE_OPTIONS,
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	struct df df = {.u.dir = pshm_shm_dir()};
	int opt;

	while ((opt = getopt_long(argc, argv, CLI_TABLE_OPTSTRING "h", opts, NULL)) != -1) {
		if (opt == 'h')
			return df_help();
		if (!cli_table_opt(&df.opt, opt))
			return cli_bad_option("df", opts, argv);
	}
	if (optind < argc)
		return cli_usage("df", "unexpected argument '%s'", argv[optind]);
	if (!cli_cols_select(&df_cols, df.opt.columns, df.ids, &df.ncols))
		return EXIT_USAGE;
	if (!(df.u.hs = holders_scan_nameless()))
		return cli_fail("df", df.u.dir, -ENOMEM);
	df_measure(&df.u);
	print_df(&df);
	if (holders_report(df.u.hs, "df"))
		df.u.status = EXIT_FAIL;
	df_usage_free(&df.u);
	return df.u.status;
}
