/*
 * who.c - pshm who: the processes that map an object or hold a descriptor to it, as a table,
 * raw lines or JSON, with the columns and options of pshm ls.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <stdlib.h>
#include <string.h>

enum col_id { W_ADDRESS, W_PID, W_USER, W_COMMAND, W_ACCESS, W_START, W_NCOLS };

static const struct cli_col cols[W_NCOLS] = {
    [W_ADDRESS] = CLI_COL("ADDRESS", 0.3, 0, SCOLS_JSON_STRING, "the object's address"),
    [W_PID] = CLI_COL("PID", 6, 0, SCOLS_JSON_NUMBER, "process ID"),
    [W_USER] = CLI_COL("USER", 8, 0, SCOLS_JSON_STRING, "the user the process runs as"),
    [W_COMMAND] = CLI_COL("COMMAND", 0.2, 0, SCOLS_JSON_STRING, "the process's command name"),
    [W_ACCESS] =
        CLI_COL("ACCESS", 10, 0, SCOLS_JSON_STRING, "\"map rw\", \"map ro\" or \"fd N rw|ro\""),
    [W_START] = CLI_COL("START", 5, 0, SCOLS_JSON_STRING, "when the process started"),
};

static const int default_cols[] = {W_ADDRESS, W_PID, W_USER, W_COMMAND, W_ACCESS};

static const struct cli_cols who_cols = {"who", cols, W_NCOLS, default_cols,
                                         sizeof(default_cols) / sizeof(default_cols[0])};

struct who {
	struct cli_table_opts t;
	struct libscols_table *tb;
	int ids[W_NCOLS];
	size_t ncols;
	struct holders *hs;
};

/* The text of column ID for holder H of the object at ADDR into BUF; NULL for an empty cell. */
static const char *cell(const struct who *w, enum col_id id, const char *addr,
                        const struct holder *h, char *buf, size_t len)
{
	uid_t uid;
	struct pshm_time start;

	switch (id) {
	case W_ADDRESS:
		return addr;
	case W_PID:
		snprintf(buf, len, "%d", (int)h->pid);
		return buf;
	case W_USER:
		uid = holders_user(h->pid);
		return uid == (uid_t)-1 ? "?" : cli_user(uid);
	case W_COMMAND:
		return holders_command(h->pid, buf, len);
	case W_ACCESS:
		if (h->fd < 0)
			snprintf(buf, len, "map %s", h->writable ? "rw" : "ro");
		else
			snprintf(buf, len, "fd %d %s", h->fd,
			         h->mode_unknown ? "?"
			         : h->writable   ? "rw"
			                         : "ro");
		return buf;
	case W_START:
		start = holders_started(h->pid);
		if (!start.sec)
			return NULL; /* gone since the scan */
		return cli_fmt_time_as(buf, len, &start, w->t.time);
	default:
		return NULL;
	}
}

/* A line of TB: H's cells, or with H NULL, one that says that processes the scan could not
 * look into may use ADDR too, "?" in every cell but the address (JSON: null). */
static int add_line(struct who *w, const char *addr, const struct holder *h)
{
	struct libscols_line *ln = scols_table_new_line(w->tb, NULL);
	char buf[64];

	if (!ln)
		return -ENOMEM;
	for (size_t i = 0; i < w->ncols; i++) {
		const char *text = w->ids[i] == W_ADDRESS ? addr
		                   : !h                   ? (w->t.json ? NULL : "?")
		                        : cell(w, w->ids[i], addr, h, buf, sizeof(buf));
		if (text && scols_line_set_data(ln, i, text))
			return -ENOMEM;
	}
	return 0;
}

static int who_rows(struct who *w, const char *addr)
{
	struct pshm_stat st;
	size_t n;

	cli_warn_bare(addr);
	int r = pshm_stat_addr(addr, &st);
	if (r < 0)
		return cli_fail("who", addr, r);
	const struct holder *h = holders_of(w->hs, &st, &n);
	for (size_t i = 0; i < n && r == 0; i++)
		r = add_line(w, st.address, &h[i]);
	if (r == 0 && !holders_complete(w->hs))
		r = add_line(w, st.address, NULL);
	return r ? cli_fail("who", addr, r) : EXIT_OK;
}

static int who_help(void)
{
	cli_help_begin("who",
	               "  -J, --json             JSON output\n"
	               "  -o, --output COLUMNS   the columns to show, comma-separated; +COLUMNS "
	               "adds\n"
	               "  -r, --raw              raw output: no alignment\n"
	               "  -n, --noheadings       no heading line\n"
	               "      --time-format FORMAT  START as short, full, iso or epoch, as in ls\n"
	               "      --newline          each cell on a line of its own, as "
	               "NAME=\"value\"\n");
	printf("\nColumns:\n");
	cli_cols_help(&who_cols);
	printf("\nA line of ? is for processes pshm could not look into.\n");
	cli_help_end();
	return EXIT_OK;
}

/* The options into W: -1 to go on, else the exit status. */
static int parse_args(struct who *w, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"output", required_argument, NULL, 'o'},
	    {"raw", no_argument, NULL, 'r'},
	    {"noheadings", no_argument, NULL, 'n'},
	    CLI_TIME_OPTIONS,
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	int c;

	/* Of the table options, all but -b: who shows no sizes. */
	while ((c = getopt_long(argc, argv, "Jo:rnh", opts, NULL)) != -1) {
		if (c == 'h')
			return who_help();
		if (!cli_table_opt(&w->t, c))
			return cli_bad_option("who", opts, argv);
	}
	if (!cli_table_done("who", &w->t) ||
	    !cli_cols_select(&who_cols, w->t.columns, w->ids, &w->ncols))
		return EXIT_USAGE;
	if (optind == argc)
		return cli_usage("who", "no object named");
	return -1;
}

int cmd_who(int argc, char **argv)
{
	struct who w = {0};
	int status = parse_args(&w, argc, argv);
	if (status >= 0)
		return status;
	w.tb = cli_table_new(cols, w.ids, w.ncols, w.t.how);
	for (size_t i = 0; w.tb && i < w.ncols; i++)
		if (w.ids[i] == W_START && w.t.time == CLI_TIME_EPOCH)
			scols_column_set_json_type(scols_table_get_column(w.tb, i),
			                           SCOLS_JSON_NUMBER);
	w.hs = holders_scan();
	if (!w.tb || !w.hs) {
		scols_unref_table(w.tb);
		holders_free(w.hs);
		return cli_fail("who", argv[optind], -ENOMEM);
	}
	status = EXIT_OK;
	for (int i = optind; i < argc; i++)
		if (who_rows(&w, argv[i]))
			status = EXIT_FAIL;
	if (w.t.json)
		cli_print_json(w.tb, "processes");
	else
		cli_print_table(w.tb);
	scols_unref_table(w.tb);
	if (holders_report(w.hs, "who"))
		status = EXIT_FAIL;
	holders_free(w.hs);
	return status;
}
