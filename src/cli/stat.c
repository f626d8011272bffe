/*
 * stat.c - pshm stat (one object in detail, as "key: value" lines or JSON) and pshm who (the
 * processes that map an object or hold a descriptor to it).
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

static void describe(struct fields *fs, const struct pshm_stat *st, struct holders *hs, bool bytes)
{
	char buf[64], b2[64];
	bool sysv = st->kind == PSHM_SYSV;

	add(fs, "address", false, "%s", st->address);
	add(fs, "kind", false, "%s", pshm_kind_name(st->kind));
	add(fs, "size", true, "%llu", (unsigned long long)st->size);
	if (!bytes)
		add(fs, "size_human", false, "%s", cli_fmt_size(buf, sizeof(buf), st->size, false));
	add(fs, "allocated", true, "%llu", (unsigned long long)st->allocated);
	add(fs, "sparse", true, "%s", !sysv && st->allocated < st->size ? "true" : "false");
	add(fs, "mode", false, "%04o", (unsigned)st->mode);
	add(fs, "perms", false, "%s", cli_fmt_mode(buf, st->mode));
	add(fs, "owner", false, "%s", cli_user(st->uid));
	add(fs, "uid", true, "%u", (unsigned)st->uid);
	add(fs, "group", false, "%s", cli_group(st->gid));
	add(fs, "gid", true, "%u", (unsigned)st->gid);
	add(fs, sysv ? "attach_time" : "access_time", false, "%s",
	    cli_fmt_time(buf, sizeof(buf), &st->atime));
	add(fs, sysv ? "detach_time" : "modify_time", false, "%s",
	    cli_fmt_time(buf, sizeof(buf), &st->mtime));
	add(fs, "change_time", false, "%s", cli_fmt_time(buf, sizeof(buf), &st->ctime));
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

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"bytes", no_argument, NULL, 'b'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	bool json = false, bytes = false;
	int c;

	while ((c = getopt_long(argc, argv, "Jbh", opts, NULL)) != -1) {
		if (c == 'J')
			json = true;
		else if (c == 'b')
			bytes = true;
		else if (c == 'h')
			return cli_help("stat", "  -J, --json             JSON output: an array of "
			                        "objects\n"
			                        "  -b, --bytes            sizes in bytes only\n");
		else
			return cli_bad_option("stat", opts, argv);
	}
	if (optind == argc)
		return cli_usage("stat", "no object named");
	struct holders *hs = holders_scan();
	int status = EXIT_OK, shown = 0;
	struct fields *fs = calloc(1, sizeof(*fs));
	if (!fs || !hs) {
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
		describe(fs, &st, hs, bytes || json);
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

/* ---- who ----------------------------------------------------------------------------------- */

static int who_rows(struct libscols_table *tb, const char *addr, struct holders *hs, bool json)
{
	struct pshm_stat st;
	char buf[64], comm[64];
	size_t n;

	cli_warn_bare(addr);
	int r = pshm_stat_addr(addr, &st);
	if (r < 0)
		return cli_fail("who", addr, r);
	const struct holder *h = holders_of(hs, &st, &n);
	for (size_t i = 0; i < n; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		if (!ln)
			return cli_fail("who", addr, -ENOMEM);
		uid_t uid = holders_user(h[i].pid);
		holders_command(h[i].pid, comm, sizeof(comm));
		scols_line_set_data(ln, 0, st.address);
		snprintf(buf, sizeof(buf), "%d", (int)h[i].pid);
		scols_line_set_data(ln, 1, buf);
		scols_line_set_data(ln, 2, uid == (uid_t)-1 ? "?" : cli_user(uid));
		scols_line_set_data(ln, 3, comm);
		if (h[i].fd < 0)
			snprintf(buf, sizeof(buf), "map %s", h[i].writable ? "rw" : "ro");
		else
			snprintf(buf, sizeof(buf), "fd %d %s", h[i].fd,
			         h[i].mode_unknown ? "?"
			         : h[i].writable   ? "rw"
			                           : "ro");
		scols_line_set_data(ln, 4, buf);
	}
	/* Processes the scan could not look into may use it too: one more line says so, "?" in
	 * every cell but the address (JSON: null). */
	if (!holders_complete(hs)) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		if (!ln)
			return cli_fail("who", addr, -ENOMEM);
		scols_line_set_data(ln, 0, st.address);
		for (size_t c = 1; c < 5 && !json; c++)
			scols_line_set_data(ln, c, "?");
	}
	return EXIT_OK;
}

int cmd_who(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"noheadings", no_argument, NULL, 'n'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	static const struct cli_col wcols[] = {CLI_COL("ADDRESS", 0.3, 0, SCOLS_JSON_STRING, NULL),
	                                       CLI_COL("PID", 6, 0, SCOLS_JSON_NUMBER, NULL),
	                                       CLI_COL("USER", 8, 0, SCOLS_JSON_STRING, NULL),
	                                       CLI_COL("COMMAND", 0.2, 0, SCOLS_JSON_STRING, NULL),
	                                       CLI_COL("ACCESS", 10, 0, SCOLS_JSON_STRING, NULL)};
	struct cli_table_opts t = {0};
	int c;

	/* Of the table options, -J and -n. */
	while ((c = getopt_long(argc, argv, "Jnh", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help("who",
			                "  -J, --json             JSON output\n"
			                "  -n, --noheadings       no heading line\n"
			                "  ACCESS is \"map rw\", \"map ro\" or \"fd N rw|ro\".\n"
			                "  A line of ? is for processes pshm could not look "
			                "into.\n");
		if (!cli_table_opt(&t, c))
			return cli_bad_option("who", opts, argv);
	}
	if (optind == argc)
		return cli_usage("who", "no object named");
	struct libscols_table *tb =
	    cli_table_new(wcols, NULL, sizeof(wcols) / sizeof(wcols[0]), t.how);
	struct holders *hs = holders_scan();
	if (!tb || !hs) {
		scols_unref_table(tb);
		holders_free(hs);
		return cli_fail("who", argv[optind], -ENOMEM);
	}
	int status = EXIT_OK;
	for (int i = optind; i < argc; i++)
		if (who_rows(tb, argv[i], hs, t.json))
			status = EXIT_FAIL;
	if (t.json)
		cli_print_json(tb, "processes");
	else
		cli_print_table(tb);
	scols_unref_table(tb);
	if (holders_report(hs, "who"))
		status = EXIT_FAIL;
	holders_free(hs);
	return status;
}
