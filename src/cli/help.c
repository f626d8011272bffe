/*
 * help.c - the help the pshm command gives: --help texts in util-linux's layout, and the nearest
 * names offered for a mistyped command, subcommand or long option.
 */
#include "cli.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

/* ---- --help texts ---------------------------------------------------------------------------- */

void cli_help_usage(FILE *out, const char *cmd, const char *synopsis)
{
	fprintf(out, "Usage:\n");
	for (;;) {
		size_t len = strcspn(synopsis, "\n");
		fprintf(out, " pshm %s %.*s\n", cmd, (int)len, synopsis);
		if (!synopsis[len])
			break;
		synopsis += len + 1;
	}
}

void cli_help_options(const char *options)
{
	printf("\nOptions:\n");
	/* util-linux sets the standard options apart from the command's own by a blank line. */
	if (options && *options)
		printf("%s\n", options);
	printf("  -h, --help             show this help\n");
}

void cli_help_end(void)
{
	printf("\nFor more details see pshm(1).\n");
}

void cli_help_begin(const char *cmd, const char *options)
{
	for (const struct cmd *c = cli_cmds; c->name; c++) {
		if (strcmp(c->name, cmd))
			continue;
		cli_help_usage(stdout, c->name, c->synopsis);
		printf("\n%c%s.\n", toupper((unsigned char)c->summary[0]), c->summary + 1);
		break;
	}
	cli_help_options(options);
}

int cli_help(const char *cmd, const char *options)
{
	cli_help_begin(cmd, options);
	cli_help_end();
	return EXIT_OK;
}

/* ---- suggestions ----------------------------------------------------------------------------- */

/*
 * The optimal string alignment distance between A and B, case ignored: the insertions,
 * deletions, substitutions and swaps of neighbours that make one the other. Words of
 * NEAR_LONGEST bytes or more are taken as far from everything; no name here is that long.
 */
enum { NEAR_LONGEST = 40 };

static int distance(const char *a, const char *b)
{
	size_t m = strlen(a), n = strlen(b);
	int d[NEAR_LONGEST + 1][NEAR_LONGEST + 1];

	if (m >= NEAR_LONGEST || n >= NEAR_LONGEST)
		return INT_MAX;
	for (size_t i = 0; i <= m; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= n; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= m; i++) {
		for (size_t j = 1; j <= n; j++) {
			int x = tolower((unsigned char)a[i - 1]),
			    y = tolower((unsigned char)b[j - 1]);
			int v = d[i - 1][j - 1] + (x != y);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && x == tolower((unsigned char)b[j - 2]) &&
			    y == tolower((unsigned char)a[i - 2]) && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[m][n];
}

/*
 * How near TYPED is to NAME, lower being nearer: 0 when TYPED begins NAME ("st" for stat),
 * else the distance; -1 when too far to be a slip: more than two edits, or as many edits as
 * TYPED has characters ("xy" is two edits from "rm", and from every other two-letter name).
 */
static int nearness(const char *typed, const char *name)
{
	size_t len = strlen(typed);
	if (len && !strncasecmp(name, typed, len))
		return 0;
	int d = distance(typed, name);
	return d <= 2 && (size_t)d < len ? d : -1;
}

/* The nearest names seen so far, in the order they came. */
struct near {
	const char *name[8];
	size_t n;
	int score;
};

static void near_add(struct near *nr, const char *typed, const char *name)
{
	int s = nearness(typed, name);
	if (s < 0 || (nr->n && s > nr->score))
		return;
	if (!nr->n || s < nr->score)
		nr->n = 0;
	nr->score = s;
	if (nr->n < sizeof(nr->name) / sizeof(nr->name[0]))
		nr->name[nr->n++] = name;
}

/* "Did you mean 'ls'?", or "'read' or 'resize'?", each name after PREFIX ("--" for options). */
static void near_print(const struct near *nr, const char *prefix)
{
	if (!nr->n)
		return;
	fprintf(stderr, "Did you mean ");
	for (size_t i = 0; i < nr->n; i++)
		fprintf(stderr, "%s'%s%s'",
		        i == 0          ? ""
		        : i + 1 < nr->n ? ", "
		                        : " or ",
		        prefix, nr->name[i]);
	fprintf(stderr, "?\n");
}

int cli_unknown(const char *prog, const char *word, const char *const *names)
{
	struct near nr = {.n = 0};

	if (word[0] == '-') {
		fprintf(stderr, "%s: unknown option '%s'\n", prog, cli_safe(word));
	} else {
		fprintf(stderr, "%s: unknown command '%s'\n", prog, cli_safe(word));
		if (names)
			for (; *names; names++)
				near_add(&nr, word, *names);
		else
			for (const struct cmd *c = cli_cmds; c->name; c++)
				near_add(&nr, word, c->name);
		near_print(&nr, "");
	}
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	return EXIT_USAGE;
}

void cli_suggest_option(const char *arg, const struct option *opts)
{
	struct near nr = {.n = 0};
	char typed[NEAR_LONGEST];

	if (strncmp(arg, "--", 2))
		return;
	size_t len = strcspn(arg + 2, "=");
	if (!len || len >= sizeof(typed))
		return;
	memcpy(typed, arg + 2, len);
	typed[len] = '\0';
	for (const struct option *o = opts; o->name; o++)
		near_add(&nr, typed, o->name);
	near_print(&nr, "--");
}

/* Whether ARG ("--js", "--js=x") begins the name of one of OPTS. */
static bool begins_option(const char *arg, const struct option *opts)
{
	size_t len = strcspn(arg + 2, "=");
	for (const struct option *o = opts; o->name; o++)
		if (!strncmp(o->name, arg + 2, len))
			return true;
	return false;
}

int cli_bad_option(const char *cmd, const struct option *opts, char *const *argv)
{
	/* getopt_long leaves optopt 0 for a long option it did not know, and optind past it; one
	 * that begins several names is ambiguous, and getopt_long has listed them. */
	if (opts && argv && optopt == 0 && optind > 0) {
		const char *arg = argv[optind - 1];
		if (!strncmp(arg, "--", 2) && !begins_option(arg, opts))
			cli_suggest_option(arg, opts);
	}
	fprintf(stderr, "Try 'pshm %s --help' for more information.\n", cmd);
	return EXIT_USAGE;
}
