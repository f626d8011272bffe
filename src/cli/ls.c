/*
 * ls.c - pshm ls: every object as a table, raw lines or JSON, through libsmartcols. One table
 * of columns drives the output, the -o parser and --help.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <stdlib.h>
#include <string.h>

struct lsopts {
	struct cli_table_opts t;
	bool chan_only; /* -k chan without posix: of the POSIX objects, only channels */
	struct holders *holders;
	bool partial;  /* the scan missed processes: NPROCS and PIDS may be low */
	bool orphans;  /* --orphans: only objects nobody holds */
	size_t unsure; /* --orphans: objects left out because who uses them is not known */
	char *pids;    /* the last PIDS cell (allocated: it has no length limit) */
	bool oom;      /* a cell could not be allocated */
};

/* -k chan: POSIX objects that are channels (a bit no PSHM_LIST_* uses). */
#define LS_KIND_CHAN (1u << 30)

enum col_id {
	C_ADDRESS,
	C_KIND,
	C_SIZE,
	C_ALLOC,
	C_SPARSE,
	C_PAGESIZE,
	C_PERMS,
	C_MODE,
	C_OWNER,
	C_GROUP,
	C_UID,
	C_GID,
	C_MTIME,
	C_CTIME,
	C_NPROCS,
	C_PIDS,
	C_KEY,
	C_ID,
	C_NATTCH,
	C_CPID,
	C_LPID,
	C_SEALS,
	C_STATUS,
	C_LEASES,
	C_NCOLS
};

static const struct cli_col cols[C_NCOLS] = {
    [C_ADDRESS] =
        CLI_COL("ADDRESS", 0.3, 0, SCOLS_JSON_STRING, "address, as pshm commands take it"),
    [C_KIND] = CLI_COL("KIND", 5, 0, SCOLS_JSON_STRING, "posix, chan, sysv, sem or memfd"),
    [C_SIZE] = CLI_COL("SIZE", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "size"),
    [C_ALLOC] = CLI_COL("ALLOC", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "memory actually allocated"),
    [C_SPARSE] =
        CLI_COL("SPARSE", 6, 0, SCOLS_JSON_BOOLEAN,
                "not all of it allocated: touching it may raise SIGBUS if memory runs out"),
    [C_PAGESIZE] = CLI_COL("PAGESIZE", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
                           "size of the pages backing it: huge pages, or the system's"),
    [C_PERMS] = CLI_COL("PERMS", 9, 0, SCOLS_JSON_STRING, "permissions, as ls -l shows them"),
    [C_MODE] = CLI_COL("MODE", 4, SCOLS_FL_RIGHT, SCOLS_JSON_STRING, "permission bits in octal"),
    [C_OWNER] = CLI_COL("OWNER", 8, 0, SCOLS_JSON_STRING, "owner's user name"),
    [C_GROUP] = CLI_COL("GROUP", 8, 0, SCOLS_JSON_STRING, "group name"),
    [C_UID] = CLI_COL("UID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "owner's user ID"),
    [C_GID] = CLI_COL("GID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "group ID"),
    [C_MTIME] =
        CLI_COL("MTIME", 19, 0, SCOLS_JSON_STRING, "last modification (System V: last detach)"),
    [C_CTIME] = CLI_COL("CTIME", 19, 0, SCOLS_JSON_STRING, "last status change"),
    [C_NPROCS] = CLI_COL("NPROCS", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
                         "processes that map it or hold a descriptor"),
    [C_PIDS] = CLI_COL("PIDS", 0.1, SCOLS_FL_TRUNC, SCOLS_JSON_ARRAY_NUMBER, "their process IDs"),
    [C_KEY] = CLI_COL("KEY", 10, 0, SCOLS_JSON_STRING, "System V key"),
    [C_ID] = CLI_COL("ID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "System V identifier"),
    [C_NATTCH] = CLI_COL("NATTCH", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "System V attach count"),
    [C_CPID] = CLI_COL("CPID", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "System V creator's PID"),
    [C_LPID] =
        CLI_COL("LPID", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "System V last attach/detach PID"),
    [C_SEALS] = CLI_COL("SEALS", 10, 0, SCOLS_JSON_STRING, "memfd seals"),
    [C_STATUS] = CLI_COL("STATUS", 7, 0, SCOLS_JSON_STRING,
                         "leased, orphan (held by nobody) or removed (System V)"),
    [C_LEASES] = CLI_COL("LEASES", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "leases held on it"),
};

static const int default_cols[] = {C_ADDRESS, C_KIND,  C_SIZE,  C_ALLOC,  C_SPARSE, C_PERMS,
                                   C_OWNER,   C_GROUP, C_MTIME, C_STATUS, C_NPROCS, C_PIDS};

static const struct cli_cols ls_cols = {"ls", cols, C_NCOLS, default_cols,
                                        sizeof(default_cols) / sizeof(default_cols[0])};

const char *cli_fmt_seals(char *buf, size_t len, unsigned seals)
{
	static const char *const names[] = {"seal",  "shrink",       "grow",
	                                    "write", "future-write", "exec"};
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < 6; i++)
		if (seals & (1u << i))
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
			                      names[i]);
	return buf;
}

static bool is_sparse(const struct pshm_stat *st)
{
	/* System V segments are not carved from a size-limited file system. */
	return st->kind != PSHM_SYSV && st->allocated < st->size;
}

/*
 * Whether nobody holds the object ST describes: 1 yes, 0 no, -1 not known. A leased object's
 * leases are counted by the kernel's locks, and a System V segment's attaches by the kernel: both
 * exactly. Any other object is unused when no process maps it or holds a descriptor to it, which
 * only a scan that saw every process can tell.
 */
static int orphan(const struct pshm_stat *st, struct lsopts *o)
{
	size_t n;

	if (st->leased)
		return st->leases == PSHM_LEASES_UNKNOWN ? -1 : st->leases == 0;
	if (st->kind == PSHM_SYSV)
		return !st->removed && st->nattch == 0;
	/* A memfd is listed only because a process holds it. */
	if (st->kind == PSHM_MEMFD)
		return 0;
	holders_of(o->holders, st, &n);
	if (n)
		return 0;
	return holders_complete(o->holders) ? 1 : -1;
}

/* STATUS: "removed" for a System V segment waiting for its last detach, "leased" or "orphan"
 * for a leased object as its leases say, and "orphan" for every object --orphans lists. */
static const char *status(const struct pshm_stat *st, const struct lsopts *o)
{
	if (st->kind == PSHM_SYSV && st->removed)
		return "removed";
	if (st->leased)
		return st->leases == 0 ? "orphan" : "leased";
	return o->orphans ? "orphan" : NULL;
}

/* A time as --time-format says; never (zero) is "-", and null in JSON. */
static const char *time_cell(const struct pshm_time *ts, const struct lsopts *o, char *buf,
                             size_t len)
{
	if (o->t.json && !ts->sec)
		return NULL;
	return cli_fmt_time_as(buf, len, ts, o->t.time);
}

/* The text of column ID for ST into BUF; NULL for an empty cell. */
static const char *cell(enum col_id id, const struct pshm_stat *st, struct lsopts *o, char *buf,
                        size_t len)
{
	size_t nh = 0;
	const struct holder *h = NULL;
	bool sysv = st->kind == PSHM_SYSV;

	if ((id == C_NPROCS || id == C_PIDS) && o->holders)
		h = holders_of(o->holders, st, &nh);
	switch (id) {
	case C_ADDRESS:
		return st->address;
	case C_KIND:
		return cli_chan_object(st) ? "chan" : pshm_kind_name(st->kind);
	case C_SIZE:
		return cli_fmt_size(buf, len, st->size, o->t.bytes);
	case C_ALLOC:
		return cli_fmt_size(buf, len, st->allocated, o->t.bytes);
	case C_SPARSE:
		/* libsmartcols reads "0" as JSON false; the table says yes or nothing. */
		if (o->t.json)
			return is_sparse(st) ? "1" : "0";
		return is_sparse(st) ? "yes" : NULL;
	case C_PERMS:
		return cli_fmt_mode(buf, st->mode);
	case C_MODE:
		snprintf(buf, len, "%04o", (unsigned)st->mode);
		return buf;
	case C_OWNER:
		return cli_user(st->uid);
	case C_GROUP:
		return cli_group(st->gid);
	case C_UID:
		snprintf(buf, len, "%u", (unsigned)st->uid);
		return buf;
	case C_GID:
		snprintf(buf, len, "%u", (unsigned)st->gid);
		return buf;
	case C_MTIME:
	case C_CTIME:
		return time_cell(id == C_MTIME ? &st->mtime : &st->ctime, o, buf, len);
	case C_NPROCS:
		/* A count that may be low: "2?" in tables, null in JSON. */
		if (o->partial && o->t.json)
			return NULL;
		snprintf(buf, len, "%zu%s", holders_nprocs(h, nh), o->partial ? "?" : "");
		return buf;
	case C_PIDS:
		if (o->partial && o->t.json)
			return NULL; /* null: make_columns typed the column as a number */
		free(o->pids);
		/* A JSON array cell holds one element per line; a list that may be short ends
		 * in "?". */
		o->pids = holders_pids(h, nh, o->t.json ? "\n" : ",", o->partial);
		o->oom |= !o->pids;
		return o->pids && *o->pids ? o->pids : (o->t.json ? "" : NULL);
	case C_KEY:
		if (!sysv)
			return NULL;
		snprintf(buf, len, "0x%08x", (unsigned)st->key);
		return buf;
	case C_ID:
	case C_NATTCH:
	case C_CPID:
	case C_LPID:
		if (!sysv)
			return NULL;
		snprintf(buf, len, "%lld",
		         id == C_ID       ? (long long)st->id
		         : id == C_NATTCH ? (long long)st->nattch
		         : id == C_CPID   ? (long long)st->cpid
		                          : (long long)st->lpid);
		return buf;
	case C_SEALS:
		return st->kind == PSHM_MEMFD ? cli_fmt_seals(buf, len, st->seals) : NULL;
	case C_STATUS:
		return status(st, o);
	case C_LEASES:
		if (st->kind != PSHM_POSIX && st->kind != PSHM_FILE)
			return NULL;
		/* Not counted: "?" as a count that may be low, null in JSON. */
		if (st->leases == PSHM_LEASES_UNKNOWN)
			return o->t.json ? NULL : "?";
		snprintf(buf, len, "%u", (unsigned)st->leases);
		return buf;
	case C_PAGESIZE:
		/* 0: not known (an empty cell, null in JSON). */
		return st->page_size ? cli_fmt_size(buf, len, st->page_size, o->t.bytes) : NULL;
	default:
		return NULL;
	}
}

/* An operand: a pattern, or an address described before the walk. */
struct lsop {
	const char *arg;
	bool pattern;
	struct cli_pattern pat;
	int err;             /* address: not described (reported), 0 when it was */
	struct pshm_stat st; /* address: the object it names */
	unsigned seen;       /* OP_* */
};

enum { OP_MATCHED = 1, OP_LISTED = 2 }; /* selected among the kinds listed; shown */

struct lsctx {
	struct libscols_table *tb;
	int ids[C_NCOLS + 1];
	size_t ncols;
	struct lsopts o;
	struct lsop *ops; /* none: every object of the kinds listed */
	size_t nops;
};

/* Whether address operand OP names the object ST describes. */
static bool same_object(const struct lsop *op, const struct pshm_stat *st)
{
	if (op->st.kind != st->kind)
		return false;
	if (st->kind == PSHM_SYSV)
		return op->st.id == st->id;
	return op->st.dev == st->dev && op->st.ino == st->ino;
}

/* Mark with BIT the operands that select ST; whether any does (or there are none). */
static bool ops_mark(struct lsctx *c, const struct pshm_stat *st, unsigned bit)
{
	bool any = !c->nops;
	for (size_t i = 0; i < c->nops; i++) {
		struct lsop *op = &c->ops[i];
		if (op->err)
			continue;
		if (op->pattern ? cli_pattern_match(&op->pat, st) : same_object(op, st)) {
			op->seen |= bit;
			any = true;
		}
	}
	return any;
}

/* One row per entry; a failure stops pshm_list() with its negative errno. */
static int add_row(const struct pshm_stat *st, void *arg)
{
	struct lsctx *c = arg;
	char buf[4096];
	if (c->o.chan_only && st->kind == PSHM_POSIX && !cli_chan_object(st))
		return 0;
	if (!ops_mark(c, st, OP_MATCHED))
		return 0;
	if (c->o.orphans) {
		int r = orphan(st, &c->o);
		c->o.unsure += r < 0;
		if (r <= 0)
			return 0;
	}
	ops_mark(c, st, OP_LISTED);
	struct libscols_line *ln = scols_table_new_line(c->tb, NULL);
	if (!ln)
		return -ENOMEM;
	for (size_t i = 0; i < c->ncols; i++) {
		const char *text = cell(c->ids[i], st, &c->o, buf, sizeof(buf));
		if ((text && scols_line_set_data(ln, i, text)) || c->o.oom)
			return -ENOMEM;
	}
	/* The "complete" member that make_columns added: false. */
	if (c->o.partial && c->o.t.json && scols_line_set_data(ln, c->ncols, "0"))
		return -ENOMEM;
	return 0;
}

/* Take the operands ARGV[0..N): parse the patterns and describe the addresses, reporting each
 * that fails and setting *FAILED. False when out of memory. */
static bool ops_parse(struct lsctx *c, char **argv, int n, bool *failed)
{
	c->ops = calloc((size_t)n, sizeof(*c->ops));
	if (!c->ops)
		return false;
	c->nops = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct lsop *op = &c->ops[i];
		op->arg = argv[i];
		op->pattern = cli_is_pattern(argv[i]);
		if (op->pattern) {
			op->err = cli_pattern_parse("ls", argv[i], &op->pat);
		} else {
			cli_warn_bare(argv[i]);
			int r = pshm_stat_addr(argv[i], &op->st);
			if (r == -ENOENT && strcmp(argv[i], "memfd:"))
				fprintf(stderr, "pshm: ls %s: no such object\n", cli_safe(argv[i]));
			else if (r < 0)
				cli_fail("ls", argv[i], r);
			op->err = r < 0;
		}
		*failed |= op->err != 0;
	}
	return true;
}

/* The kinds the operands select: those to walk when neither -k nor -a is given. Files are in
 * no walk: each file named gets its row from its own description (add_files). */
static unsigned ops_kinds(const struct lsctx *c)
{
	unsigned mask = 0;
	for (size_t i = 0; i < c->nops; i++) {
		const struct lsop *op = &c->ops[i];
		if (!op->err)
			mask |= op->pattern                ? op->pat.kinds
			        : op->st.kind == PSHM_FILE ? 0
			                                   : 1u << op->st.kind;
	}
	return mask & PSHM_LIST_ALL;
}

/* The row of each file named, once however many operands name it. */
static int add_files(struct lsctx *c)
{
	for (size_t i = 0; i < c->nops; i++) {
		struct lsop *op = &c->ops[i];
		if (op->err || op->pattern || op->st.kind != PSHM_FILE || (op->seen & OP_MATCHED))
			continue;
		int r = add_row(&op->st, c);
		if (r)
			return r;
	}
	return 0;
}

/* Say why no row shows an operand, for each such one; EXIT_FAIL if there were any. MASK: the
 * kinds walked; KINDS: the -k option's value, or NULL. */
static int ops_report(const struct lsctx *c, unsigned mask, const char *kinds)
{
	int status = EXIT_OK;
	for (size_t i = 0; i < c->nops; i++) {
		const struct lsop *op = &c->ops[i];
		const char *a = cli_safe(op->arg);
		int kind = op->st.kind;
		if (op->seen & OP_LISTED)
			continue;
		status = EXIT_FAIL;
		if (op->err)
			continue; /* said already */
		if (op->pattern && kinds && !(mask & op->pat.kinds))
			fprintf(stderr, "pshm: ls %s: -k %s leaves out the kind it selects\n", a,
			        cli_safe(kinds));
		else if (op->pattern)
			fprintf(stderr, "pshm: ls %s: no %s matches\n", a,
			        op->seen ? "orphan" : "object");
		else if (op->seen)
			fprintf(
			    stderr,
			    "pshm: ls %s: not an orphan: a process holds it, or whether one does "
			    "is not known\n",
			    a);
		else if (kinds && (kind == PSHM_FILE || !(mask & (1u << kind)) ||
		                   (kind == PSHM_POSIX && c->o.chan_only)))
			fprintf(stderr, "pshm: ls %s: -k %s leaves it out: it is %s%s\n", a,
			        cli_safe(kinds), (mask & (1u << kind)) ? "" : "of kind ",
			        (mask & (1u << kind)) ? "no channel" : pshm_kind_name(kind));
		else
			fprintf(stderr, "pshm: ls %s: no such object\n", a); /* gone since */
	}
	return status;
}

static bool parse_kinds(const char *spec, unsigned *mask)
{
	*mask = 0;
	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, ",");
		static const struct {
			const char *name;
			unsigned bit;
		} kinds[] = {{"posix", PSHM_LIST_POSIX}, {"chan", LS_KIND_CHAN},
		             {"sysv", PSHM_LIST_SYSV},   {"sem", PSHM_LIST_SEM},
		             {"memfd", PSHM_LIST_MEMFD}, {"all", PSHM_LIST_ALL}};
		bool ok = false;
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i].name) == len && !strncmp(kinds[i].name, p, len)) {
				*mask |= kinds[i].bit;
				ok = true;
			}
		if (!ok) {
			cli_usage(
			    "ls",
			    "unknown kind '%.*s': kinds are posix, chan, sysv, sem, memfd, all",
			    (int)len, p);
			return false;
		}
		p += len + (p[len] == ',');
	}
	return *mask != 0 || cli_usage("ls", "no kinds given") == EXIT_OK;
}

static int ls_help(void)
{
	for (const struct cmd *c = cli_cmds; c->name; c++)
		if (!strcmp(c->name, "ls"))
			cli_help_usage(stdout, c->name, c->synopsis);
	printf("\nList shared memory objects.\n\n"
	       "All of them, or those named by address or selected by a shell-style pattern\n"
	       "('/app-*', 'sem:/x?', 'sysv:0x1234*'; without a kind, POSIX objects only).\n");
	cli_help_options(
	    "  -J, --json             JSON output (numbers as numbers)\n"
	    "  -o, --output COLUMNS   the columns to show, comma-separated; +COLUMNS adds\n"
	    "  -r, --raw              raw output: no alignment\n"
	    "  -b, --bytes            sizes in bytes\n"
	    "  -n, --noheadings       no heading line\n"
	    "      --time-format FORMAT  short, full, iso or epoch (see below)\n"
	    "      --newline          each cell on a line of its own, as NAME=\"value\"\n"
	    "  -k, --kinds KINDS      posix, chan, sysv, sem, memfd or all, comma-separated\n"
	    "  -a, --all              all kinds: adds semaphores and the memfds processes hold\n"
	    "      --orphans          only objects nobody holds: leased ones without a lease\n"
	    "                         held, and others no process maps or holds\n");
	printf("\nColumns:\n");
	cli_cols_help(&ls_cols);
	printf("\nTimes are full (2026-12-04 13:05:09 +0100) in tables, iso\n"
	       "(2026-12-04T13:05:09+01:00) with -r and -J, unless --time-format says: short\n"
	       "(13:05 today, Dec04 this year) or epoch (seconds; JSON numbers). JSON has iso\n"
	       "for every format but epoch.\n");
	cli_help_end();
	return EXIT_OK;
}

/* A time column: as narrow as short or epoch times; epoch times are JSON numbers. */
static void time_column(struct libscols_column *cl, enum cli_timefmt f)
{
	if (f == CLI_TIME_SHORT || f == CLI_TIME_EPOCH)
		scols_column_set_whint(cl, 5);
	if (f == CLI_TIME_EPOCH)
		scols_column_set_json_type(cl, SCOLS_JSON_NUMBER);
}

/* Make the table's columns; ADDRESS is always there (hidden when not asked for) to sort by. */
static struct libscols_column *make_columns(struct lsctx *c)
{
	struct libscols_column *sortcol = NULL;
	bool have_addr = false;
	for (size_t i = 0; i < c->ncols; i++)
		have_addr |= c->ids[i] == C_ADDRESS;
	if (!have_addr)
		c->ids[c->ncols++] = C_ADDRESS;
	for (size_t i = 0; i < c->ncols; i++) {
		int hidden = have_addr || i + 1 < c->ncols ? 0 : SCOLS_FL_HIDDEN;
		struct libscols_column *cl =
		    cli_col_add(c->tb, &cols[c->ids[i]], c->o.t.json, hidden);
		if (!cl)
			return NULL;
		/* PIDS that may be short are null in JSON, as an empty number cell prints. */
		if (c->ids[i] == C_PIDS && c->o.partial)
			scols_column_set_json_type(cl, SCOLS_JSON_NUMBER);
		if (c->ids[i] == C_MTIME || c->ids[i] == C_CTIME)
			time_column(cl, c->o.t.time);
		if (c->ids[i] == C_ADDRESS) {
			scols_column_set_cmpfunc(cl, scols_cmpstr_cells, NULL);
			sortcol = cl;
		}
	}
	/* JSON says of each object whether NPROCS and PIDS may be low, only when they may. */
	if (c->o.t.json && c->o.partial) {
		struct libscols_column *cl = scols_table_new_column(c->tb, "complete", 5, 0);
		if (!cl)
			return NULL;
		scols_column_set_json_type(cl, SCOLS_JSON_BOOLEAN);
	}
	return sortcol;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLI_TABLE_OPTIONS,
	    CLI_TIME_OPTIONS,
	    {"kinds", required_argument, NULL, 'k'},
	    {"all", no_argument, NULL, 'a'},
	    {"orphans", no_argument, NULL, 'O'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	struct lsctx c = {0};
	unsigned mask = PSHM_LIST_DEFAULT;
	const char *kinds = NULL; /* -k, when it is the last of -k and -a */
	bool kinds_given = false; /* -k or -a */
	int opt;

	while ((opt = getopt_long(argc, argv, CLI_TABLE_OPTSTRING "k:ah", opts, NULL)) != -1) {
		if (cli_table_opt(&c.o.t, opt))
			continue;
		switch (opt) {
		case 'k':
			if (!parse_kinds(optarg, &mask))
				return EXIT_USAGE;
			kinds = optarg;
			kinds_given = true;
			break;
		case 'a':
			mask = PSHM_LIST_ALL;
			kinds = NULL;
			kinds_given = true;
			break;
		case 'O':
			c.o.orphans = true;
			break;
		case 'h':
			return ls_help();
		default:
			return cli_bad_option("ls", opts, argv);
		}
	}
	if (!cli_table_done("ls", &c.o.t))
		return EXIT_USAGE;
	if (mask & LS_KIND_CHAN) {
		c.o.chan_only = !(mask & PSHM_LIST_POSIX);
		mask = (mask & ~LS_KIND_CHAN) | PSHM_LIST_POSIX;
	}
	if (!cli_cols_select(&ls_cols, c.o.t.columns, c.ids, &c.ncols))
		return EXIT_USAGE;
	bool failed = false;
	if (optind < argc && !ops_parse(&c, argv + optind, argc - optind, &failed))
		return cli_fail("ls", pshm_shm_dir(), -ENOMEM);
	if (c.nops && !kinds_given)
		mask = ops_kinds(&c);
	bool scan = false;
	for (size_t i = 0; i < c.ncols; i++)
		scan |= c.ids[i] == C_NPROCS || c.ids[i] == C_PIDS;
	if ((scan || c.o.orphans) && !(c.o.holders = holders_scan())) {
		free(c.ops);
		return cli_fail("ls", pshm_shm_dir(), -ENOMEM);
	}
	c.o.partial = scan && !holders_complete(c.o.holders);

	c.tb = cli_table_new(cols, NULL, 0, c.o.t.how);
	if (!c.tb) {
		holders_free(c.o.holders);
		free(c.ops);
		return cli_fail("ls", pshm_shm_dir(), -ENOMEM);
	}
	struct libscols_column *sortcol = make_columns(&c);
	int stop = 0;
	int r = sortcol ? pshm_list(mask, add_row, &c, &stop) : -ENOMEM;
	if (r >= 0 && stop)
		r = stop;
	if (r >= 0 && !kinds)
		r = add_files(&c);
	int status = failed ? EXIT_FAIL : EXIT_OK;
	if (r < 0) {
		status = cli_fail("ls", pshm_shm_dir(), r);
	} else {
		if (ops_report(&c, mask, kinds))
			status = EXIT_FAIL;
		scols_sort_table(c.tb, sortcol);
		if (c.o.t.json)
			cli_print_json(c.tb, "objects");
		else
			cli_print_table(c.tb);
	}
	scols_unref_table(c.tb);
	free(c.o.pids);
	free(c.ops);
	if (c.o.unsure)
		fprintf(stderr,
		        "pshm: warning: %zu object%s left out: whether processes use %s is not "
		        "known\n",
		        c.o.unsure, c.o.unsure == 1 ? "" : "s", c.o.unsure == 1 ? "it" : "them");
	if (holders_report(c.o.holders, "ls"))
		status = EXIT_FAIL;
	holders_free(c.o.holders);
	return status;
}
