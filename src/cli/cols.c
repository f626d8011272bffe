/*
 * cols.c - column tables. A command that prints a table describes its columns once, in a table
 * indexed by its own column IDs, and that table drives the rest: the -o parser, the column list
 * of --help, and the columns of the libsmartcols table, named for text or for JSON. Such a
 * command takes the same options for them: -J, -o, -r, -b and -n.
 */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <libsmartcols.h>
#include <string.h>
#include <strings.h>

static int col_by_name(const struct cli_cols *cs, const char *name, size_t len)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strlen(cs->col[i].name) == len && !strncasecmp(cs->col[i].name, name, len))
			return (int)i;
	return -1;
}

/* "ADDRESS, KIND, ... and LEASES": every column's name, for a message. */
static const char *col_names(const struct cli_cols *cs)
{
	static char buf[512];
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < cs->n && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
		                      !i              ? ""
		                      : i + 1 < cs->n ? ", "
		                                      : " and ",
		                      cs->col[i].name);
	return buf;
}

bool cli_cols_select(const struct cli_cols *cs, const char *spec, int *ids, size_t *n)
{
	if (cs->ndefaults) /* stat has none */
		memcpy(ids, cs->defaults, cs->ndefaults * sizeof(*ids));
	*n = cs->ndefaults;
	if (!spec)
		return true;
	const char *p = spec;
	if (*p == '+')
		p++;
	else
		*n = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		int id = col_by_name(cs, p, len);
		if (id < 0 || *n >= cs->n) {
			cli_usage(cs->cmd, "unknown column '%.*s': columns are %s", (int)len, p,
			          col_names(cs));
			return false;
		}
		ids[(*n)++] = id;
		p += len + (p[len] == ',');
	}
	return *n > 0 || cli_usage(cs->cmd, "no columns given") == EXIT_OK;
}

void cli_cols_help(const struct cli_cols *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		printf("  %-8s %s\n", cs->col[i].name, cs->col[i].help);
	printf("\nDefault columns: ");
	for (size_t i = 0; i < cs->ndefaults; i++)
		printf("%s%s", i ? "," : "", cs->col[cs->defaults[i]].name);
	printf("\n");
}

struct libscols_column *cli_col_add(struct libscols_table *tb, const struct cli_col *col, bool json,
                                    int flags)
{
	const char *name = json && col->key ? col->key : col->name;
	char buf[32];
	size_t k = 0;

	for (; name[k] && k < sizeof(buf) - 1; k++)
		buf[k] = json ? (char)tolower((unsigned char)name[k]) : name[k];
	buf[k] = '\0';
	struct libscols_column *cl =
	    scols_table_new_column(tb, buf, col->whint, col->flags | flags);
	if (cl)
		scols_column_set_json_type(cl, col->json);
	return cl;
}

struct libscols_table *cli_table_new(const struct cli_col *cols, const int *ids, size_t n,
                                     unsigned how)
{
	struct libscols_table *tb = scols_new_table();
	if (!tb)
		return NULL;
	scols_table_enable_raw(tb, !!(how & CLI_TB_RAW));
	scols_table_enable_noheadings(tb, !!(how & CLI_TB_NOHEADINGS));
	/* The mark by which cli_print_table knows --newline. */
	scols_table_enable_export(tb, !!(how & CLI_TB_NEWLINE));
	for (size_t i = 0; i < n; i++)
		if (!cli_col_add(tb, &cols[ids ? ids[i] : (int)i], how & CLI_TB_JSON, 0)) {
			scols_unref_table(tb);
			return NULL;
		}
	return tb;
}

struct libscols_line *cli_table_line(struct libscols_table *tb, const char *const *texts,
                                     const int *ids, size_t n)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	for (size_t i = 0; ln && i < n; i++) {
		const char *text = texts[ids ? ids[i] : (int)i];
		if (text && scols_line_set_data(ln, i, text))
			return NULL;
	}
	return ln;
}

bool cli_table_opt(struct cli_table_opts *t, int opt)
{
	unsigned how = opt == 'J'               ? CLI_TB_JSON
	               : opt == 'r'             ? CLI_TB_RAW
	               : opt == 'n'             ? CLI_TB_NOHEADINGS
	               : opt == CLI_OPT_NEWLINE ? CLI_TB_NEWLINE
	                                        : 0;
	if (opt == CLI_OPT_TIME_FORMAT) {
		t->timefmt = optarg;
		return true;
	}
	if (!how && opt != 'b' && opt != 'o')
		return false;
	t->how |= how;
	t->json |= opt == 'J';
	/* JSON carries numbers, so sizes there are always in bytes. */
	t->bytes |= opt == 'J' || opt == 'b';
	if (opt == 'o')
		t->columns = optarg;
	return true;
}

bool cli_table_done(const char *cmd, struct cli_table_opts *t)
{
	enum cli_timefmt f = CLI_TIME_DEFAULT;

	if ((t->how & CLI_TB_NEWLINE) && (t->how & (CLI_TB_JSON | CLI_TB_RAW)))
		return cli_usage(cmd, "--newline goes with neither --json nor --raw") == EXIT_OK;
	if (t->timefmt && !cli_timefmt_parse(cmd, t->timefmt, &f))
		return false;
	t->time = cli_timefmt_for(f, t->how);
	return true;
}
