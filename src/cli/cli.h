/*
 * cli.h - what the pshm command's files share.
 *
 * Each subcommand is a function taking (argc, argv) with argv[0] the subcommand's name, and
 * returning the exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef PSHM_CLI_H
#define PSHM_CLI_H

#include <pshm.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis; /* the usage line after "pshm NAME " */
	const char *summary;  /* one line for the command's --help */
};

/* The subcommands, in the order --help lists them. */
extern const struct cmd cli_cmds[];

int cmd_create(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_who(int argc, char **argv);
int cmd_df(int argc, char **argv);
int cmd_chmod(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_chan(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_help(int argc, char **argv);

/* ---- chan.c ------------------------------------------------------------------------------- */

/* Whether the POSIX object ST describes is a message channel: bigger than a channel's header,
 * with the channel magic in its first bytes. Any error reading it means no. */
bool cli_chan_object(const struct pshm_stat *st);
/* chan.c: a channel command's failure on ADDR in words (EXIT_FAIL), and opening a channel as
 * ROLE with its description in *ST (EXIT_OK, or EXIT_FAIL said). */
int cli_chan_fail(const char *op, const char *addr, int err);
int cli_chan_open(const char *op, const char *addr, int role, unsigned flags, struct pshm_chan **ch,
                  struct pshm_chan_stat *st);

/* ---- match.c: patterns that select objects (ls, rm) ---------------------------------------- */

/* A shell-style pattern on the objects pshm_list() finds. */
struct cli_pattern {
	unsigned kinds;   /* the PSHM_LIST_* bit of the one kind it selects */
	bool by_name;     /* matched against the name (POSIX, semaphores), not the address */
	const char *text; /* the fnmatch(3) pattern (points into the operand) */
};

/* Whether operand ARG is a pattern: it holds '*', '?' or '['. */
bool cli_is_pattern(const char *arg);

/* Parse pattern ARG of subcommand CMD into *P: EXIT_OK, or EXIT_FAIL after saying why (a kind
 * that is never listed, a slash inside a name). */
int cli_pattern_parse(const char *cmd, const char *arg, struct cli_pattern *p);

/* Whether P selects the object pshm_list() described as ST. */
bool cli_pattern_match(const struct cli_pattern *p, const struct pshm_stat *st);

/* ---- common.c ---------------------------------------------------------------------------- */

/*
 * Report that OP on ADDR failed with ERR (a negative errno or PSHM_E* code) on stderr as
 * "pshm: OP ADDR: message", adding a hint where one helps (for ENOSPC, the size and free space
 * of the directory that filled up). Returns EXIT_FAIL.
 */
int cli_fail(const char *op, const char *addr, int err);

/*
 * Warn on stderr when ADDR is a POSIX name written without its leading slash ("MB" for /MB),
 * which is accepted but is often a slip: a size's unit after a space, a System V key without
 * "sysv:". Commands call it for each address operand before using it.
 */
void cli_warn_bare(const char *addr);

/* Report a usage error for subcommand CMD ("pshm CMD: message" and a pointer to --help). */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a size (pshm_parse_size); on error report a usage error for CMD and return false. */
bool cli_size(const char *cmd, const char *what, const char *text, uint64_t *v);

/*
 * mode.c: parse MODE for CMD into *MODE: octal bits (at most 6777), or a symbolic mode as
 * chmod(1) writes it (u+w, go-rwx, a=r, g=u, +X) applied to 0600, a new object's mode. The
 * sticky bit is refused. On error report a usage error and return false.
 */
bool cli_mode(const char *cmd, const char *text, mode_t *mode);
/* Whether TEXT, a mode cli_mode took, is symbolic: it depends on the mode it changes. */
bool cli_mode_symbolic(const char *text);
/* Whether cli_mode would take TEXT; says nothing. */
bool cli_mode_valid(const char *text);
/* The mode TEXT, which cli_mode took, makes of MODE: for octal, TEXT's bits whatever MODE. */
mode_t cli_mode_apply(const char *text, mode_t mode);

/* Format SIZE as bytes (BYTES) or human-readable ("4K", "1.5M") into BUF. */
const char *cli_fmt_size(char *buf, size_t len, uint64_t size, bool bytes);

/* "rw-r--r--" for MODE's permission bits (with s/S/t/T as ls(1) shows them). */
const char *cli_fmt_mode(char *buf, mode_t mode);

/* The user or group name for ID, or the number as text when it has none. Cached. */
const char *cli_user(uid_t uid);
const char *cli_group(gid_t gid);

/* ---- timefmt.c: --time-format ---------------------------------------------------------------- */

enum cli_timefmt {
	CLI_TIME_DEFAULT, /* not asked: as the output chooses (cli_timefmt_for) */
	CLI_TIME_SHORT,   /* lsipc's: "13:05" today, "Dec04" this year, else "2025-Dec04" */
	CLI_TIME_FULL,    /* "2026-12-04 13:05:09 +0100" */
	CLI_TIME_ISO,     /* "2026-12-04T13:05:09+01:00" */
	CLI_TIME_EPOCH,   /* "1796386509": seconds since the Epoch */
};

/* Parse TEXT, a --time-format value of subcommand CMD; false after a usage error. */
bool cli_timefmt_parse(const char *cmd, const char *text, enum cli_timefmt *f);

/* The format that times take when F was asked for output HOW (CLI_TB_*): JSON has ISO 8601,
 * or numbers for epoch; raw output ISO 8601 unless asked otherwise; the rest full. */
enum cli_timefmt cli_timefmt_for(enum cli_timefmt f, unsigned how);

/* TS in format F into BUF (F not CLI_TIME_DEFAULT); "-" for zero, which stands for never. */
const char *cli_fmt_time_as(char *buf, size_t len, const struct pshm_time *ts, enum cli_timefmt f);

/* Write all of BUF to FD, retrying short writes and EINTR. 0 or -errno. */
int cli_write_all(int fd, const void *buf, size_t len);

/*
 * Report that OP on ADDR failed because standard output could not be written (ERR, a negative
 * errno): "pshm: OP ADDR: writing standard output: message". Nothing is said for -EPIPE, a
 * reader that went away. What stdout still buffers is dropped and its error flag cleared, so
 * the check at exit does not say it again. Returns EXIT_FAIL.
 */
int cli_fail_output(const char *op, const char *addr, int err);

/*
 * For atexit: flush and close standard output as util-linux's close_stdout does. Any error
 * but EPIPE (which stays quiet, the status unchanged) is reported and ends the process with
 * EXIT_FAIL, so that output lost to a full disk or a closed descriptor is never a success.
 */
void cli_close_stdout(void);

/*
 * Work that must finish or be undone (create, chan create): cli_catch_stops makes SIGINT,
 * SIGTERM and SIGHUP (those not ignored) only take note, so that the command looks with
 * cli_stopped after each step, removes what it made, and then calls cli_die_if_stopped, which
 * ends the process by the signal's default action (a shell sees 128 + N) and returns only when
 * no signal came. Once a signal came, standard output fails (EINTR, EBADF): a write on a full
 * pipe cannot keep the command from stopping.
 */
void cli_catch_stops(void);
bool cli_stopped(void);
void cli_die_if_stopped(void);
/* The stop signals cli_catch_stops caught (those not ignored), to block or wait for; and the
 * one that came, or 0. */
void cli_stop_set(sigset_t *set);
int cli_stop_signal(void);

/* The standard getopt_long handling of -h/--help in every subcommand. */
#define CLI_HELP_OPTION                                                                            \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* ---- help.c: --help texts, and the nearest names for a mistake ------------------------------ */

/*
 * A --help in util-linux's layout: "Usage:", the synopsis, the summary, "Options:", whatever the
 * command adds (its columns), and the pointer to the manual. cli_help prints all of it for
 * subcommand CMD of the table, with its OPTIONS (lines ending in newlines, or NULL), and returns
 * EXIT_OK; cli_help_begin prints it up to the options, cli_help_end the closing line. The parts:
 * cli_help_usage prints "Usage:" and a line " pshm CMD FORM" for each line of SYNOPSIS, and
 * cli_help_options the "Options:" heading, OPTIONS and -h.
 */
int cli_help(const char *cmd, const char *options);
void cli_help_begin(const char *cmd, const char *options);
void cli_help_end(void);
void cli_help_usage(FILE *out, const char *cmd, const char *synopsis);
void cli_help_options(const char *options);

/*
 * After getopt_long has reported a bad option (naming it, as "pshm CMD: ..."): for a long option
 * it did not know, the nearest of OPTS ("Did you mean '--json'?"), then the pointer to --help.
 * OPTS and ARGV are those given to getopt_long (OPTS may be NULL). Returns EXIT_USAGE.
 */
struct option;
int cli_bad_option(const char *cmd, const struct option *opts, char *const *argv);

/* For ARG, a long option that is none of OPTS ("--jsn", "--jsn=x"): "Did you mean" the nearest,
 * when one is near enough. For commands that parse their options without getopt_long. */
void cli_suggest_option(const char *arg, const struct option *opts);

/* Report WORD, which PROG ("pshm", "pshm chan") does not take as a command (or an option, when
 * it starts with '-'), with the nearest of NAMES (NULL-terminated; NULL: the commands of the
 * table) and the pointer to PROG --help. Returns EXIT_USAGE. */
int cli_unknown(const char *prog, const char *word, const char *const *names);

/* ---- text.c: untrusted text made safe to show ----------------------------------------------- */

struct libscols_table;
struct libscols_line;
struct libscols_column;

/* The length (1 to 4) of the valid UTF-8 character at S, its code point in *CP; 0 when S starts
 * no valid character (a stray or cut-off byte, an overlong form, a surrogate, > U+10FFFF). */
size_t cli_utf8_char(const char *s, uint32_t *cp);

/* Whether CP must never reach a terminal as it is: C0, DEL, C1, the bidirectional controls,
 * U+2028 and U+2029. */
bool cli_char_unsafe(uint32_t cp);

enum {
	CLI_ESC_SPACE = 1, /* spaces too (raw output) */
	CLI_ESC_ASCII = 2, /* every byte outside printable ASCII too */
	CLI_ESC_QUOTE = 4, /* ", $ and ` too: safe between double quotes in a shell */
};

/*
 * Escape S into OUT (SIZE bytes, always terminated; snprintf's return convention): the bytes of
 * invalid UTF-8, of unsafe characters and of backslashes, and those FLAGS add, become \xHH;
 * valid UTF-8 stays. Replacing each \xHH of the result by byte HH gives S back.
 */
size_t cli_escape(char *out, size_t size, const char *s, unsigned flags);

/* S escaped by cli_escape, for messages and "key: value" lines. The text lasts for eight more
 * calls. */
const char *cli_safe(const char *s);

/* Print table TB (raw or aligned) with every cell escaped by cli_escape, spaces too in raw
 * output; or, for a table made with CLI_TB_NEWLINE, each cell on a line of its own as
 * NAME="value" (quotes and $ escaped too), an empty line after each table line. Replaces
 * scols_print_table; 0 or a negative errno. */
int cli_print_table(struct libscols_table *tb);

/* ---- json.c --------------------------------------------------------------------------------- */

/* Print S as a JSON string, quoted and escaped: valid UTF-8 as it is (", control and unsafe
 * characters as JSON escapes), each byte of invalid UTF-8 and each backslash as the text \xHH. */
void cli_json_string(const char *s);

/*
 * Print table TB as {"NAME": [{column: value, ...}, ...]}, typing each value by its column's
 * JSON type (set with scols_column_set_json_type); hidden columns are left out. Lines are
 * printed in the table's order (sort it first).
 */
void cli_print_json(struct libscols_table *tb, const char *name);

/* A document of several members: cli_json_begin opens the object, each cli_json_table or
 * cli_json_bool prints one member (the first with no comma before it), cli_json_end closes it. */
void cli_json_begin(void);
void cli_json_end(void);
void cli_json_bool(const char *name, bool value);

enum cli_json_shape {
	CLI_JSON_ARRAY,  /* [{line}, ...] */
	CLI_JSON_OBJECT, /* {line}: the table's one line; null when it has none */
	CLI_JSON_KEYED,  /* {"FIRST": {the rest of the line}, ...}: named by each first cell */
};

/* Print table TB as the member NAME of the open document, in SHAPE, each value typed as
 * cli_print_json types it. */
void cli_json_table(struct libscols_table *tb, const char *name, enum cli_json_shape shape);

/* Make the cell of column COL of line LN stand for table SUB, which JSON then shows as the
 * array of its lines (the cell's text is not printed). SUB stays the caller's, to free after
 * printing. 0 or a negative errno. */
int cli_json_nest(struct libscols_line *ln, size_t col, struct libscols_table *sub);

/* "seal,shrink,grow,write,future-write,exec" for memfd seal bits; "" for none. */
const char *cli_fmt_seals(char *buf, size_t len, unsigned seals);

/* ---- cols.c: a command's table of columns -------------------------------------------------- */

/* One column: a command keeps all of its columns in a table indexed by its column IDs. */
struct cli_col {
	const char *name; /* the heading, in capitals; -o takes it in any case */
	double whint;     /* libsmartcols' width hint */
	int flags;        /* SCOLS_FL_* */
	int json;         /* SCOLS_JSON_*: how JSON shows the values */
	const char *help; /* for --help, when -o may name it */
	const char *key;  /* the JSON member's name; NULL: the heading in lower case */
};

/* A column that JSON names by its heading in lower case. */
#define CLI_COL(name, whint, flags, json, help)                                                    \
	{                                                                                          \
		name, whint, flags, json, help, NULL                                               \
	}

/* The columns of a command that takes -o COLUMNS: its table and the IDs shown by default. */
struct cli_cols {
	const char *cmd; /* the subcommand, for messages */
	const struct cli_col *col;
	size_t n;
	const int *defaults;
	size_t ndefaults;
};

/* The columns to show into IDS (room for CS->n) and *N: the defaults, or as -o SPEC says
 * ("COL,COL" instead of them, "+COL,COL" after them; NULL: no -o). False after a usage error. */
bool cli_cols_select(const struct cli_cols *cs, const char *spec, int *ids, size_t *n);

/* The column lines of --help ("  NAME     help") and the default columns. */
void cli_cols_help(const struct cli_cols *cs);

/* Add COL to TB, with FLAGS besides its own: named by its heading, or for JSON by its key or
 * its heading in lower case, and typed for JSON. NULL when out of memory. */
struct libscols_column *cli_col_add(struct libscols_table *tb, const struct cli_col *col, bool json,
                                    int flags);

/* CLI_TB_NEWLINE: each cell on a line of its own, as NAME="value" (--newline). */
enum { CLI_TB_JSON = 1, CLI_TB_RAW = 2, CLI_TB_NOHEADINGS = 4, CLI_TB_NEWLINE = 8 };

/* The options of a command that prints a table: -J, -o COLUMNS, -r, -b, -n. */
struct cli_table_opts {
	bool json;             /* -J */
	bool bytes;            /* -b, or -J: JSON has sizes in bytes */
	unsigned how;          /* CLI_TB_*, for cli_table_new */
	const char *columns;   /* -o, for cli_cols_select */
	const char *timefmt;   /* --time-format, for cli_table_done */
	enum cli_timefmt time; /* what cli_table_done made of it: the format times take */
};

#define CLI_TABLE_OPTSTRING "Jo:rbn"
#define CLI_TABLE_OPTIONS                                                                          \
	{"json", no_argument, NULL, 'J'}, {"output", required_argument, NULL, 'o'},                \
	    {"raw", no_argument, NULL, 'r'}, {"bytes", no_argument, NULL, 'b'},                    \
	{                                                                                          \
		"noheadings", no_argument, NULL, 'n'                                               \
	}

/* The long options of commands that show times (ls, who), taken by cli_table_opt too. */
enum { CLI_OPT_TIME_FORMAT = 0x1000, CLI_OPT_NEWLINE };
#define CLI_TIME_OPTIONS                                                                           \
	{"time-format", required_argument, NULL, CLI_OPT_TIME_FORMAT},                             \
	{                                                                                          \
		"newline", no_argument, NULL, CLI_OPT_NEWLINE                                      \
	}

/* Take OPT, what getopt_long returned, into T when it is one of those options; false when it
 * is another. */
bool cli_table_opt(struct cli_table_opts *t, int opt);

/* After the options of subcommand CMD: check how they go together and set T->time. False
 * after a usage error (--newline with -J or -r, a bad --time-format). */
bool cli_table_done(const char *cmd, struct cli_table_opts *t);

/* A new table with the columns COLS[IDS[0..N)] (IDS NULL: COLS[0..N)), for JSON or as a text
 * table, raw or without headings as HOW says. NULL when out of memory. */
struct libscols_table *cli_table_new(const struct cli_col *cols, const int *ids, size_t n,
                                     unsigned how);

/* A new line of TB whose N cells are TEXTS[IDS[0..N)] (IDS NULL: TEXTS[0..N); a NULL text: an
 * empty cell). NULL when out of memory. */
struct libscols_line *cli_table_line(struct libscols_table *tb, const char *const *texts,
                                     const int *ids, size_t n);

/* ---- holders.c: which processes map or hold a segment --------------------------------------- */

struct holder {
	pid_t pid;
	int fd;            /* descriptor number, or -1 for a mapping */
	bool writable;     /* mapping: PROT_WRITE; descriptor: opened for writing */
	bool mode_unknown; /* descriptor: how it was opened could not be read */
};

struct holders;

/* Scan /proc once: every process's shared mappings and descriptors of memory files. NULL on
 * failure to allocate. Processes that vanish are skipped; those that cannot be looked into,
 * a /proc that hides processes and errors that stop the scan are kept (holders_complete). */
struct holders *holders_scan(void);
void holders_free(struct holders *h);

/* Whether the scan saw every process, so that counts and lists from it are whole. When not,
 * they may be too low, never too high. False for NULL. */
bool holders_complete(const struct holders *h);

/*
 * At the end of subcommand CMD, if it used H: report an error that cut the scan short
 * ("pshm: CMD /proc: ...", returning EXIT_FAIL), or warn of processes it could not see
 * (returning EXIT_OK). Says it once.
 */
int holders_report(struct holders *h, const char *cmd);

/*
 * The holders of the segment described by ST (matched by device and inode, or by System V
 * identifier). Sets *N; the array belongs to H. Deduplicated: one entry per (pid, fd).
 */
const struct holder *holders_of(struct holders *h, const struct pshm_stat *st, size_t *n);

/* The number of distinct processes among HS[0..N), sorted by PID as holders_of gives them. */
size_t holders_nprocs(const struct holder *hs, size_t n);

/* Those processes' IDs separated by SEP, then SEP and "?" when MORE (a list that may be
 * short). Allocated; NULL when out of memory. */
char *holders_pids(const struct holder *hs, size_t n, const char *sep, bool more);

/* The command name of PID (its /proc/PID/comm) in BUF, "" when it is gone. Returns BUF. */
const char *holders_command(pid_t pid, char *buf, size_t len);

/* The user PID runs as (the owner of /proc/PID), or (uid_t)-1 when it is gone. */
uid_t holders_user(pid_t pid);

/* When PID started, from its /proc/PID/stat and the boot time; zero when it is gone. */
struct pshm_time holders_started(pid_t pid);

/* The command names of the processes among HS[0..N), in the order of holders_pids. */
char *holders_commands(const struct holder *hs, size_t n, const char *sep);

/* A file that no name reaches any more and that processes still map or hold: a memfd, or an
 * unlinked object or file on a memory file system (tmpfs, hugetlbfs, ramfs). */
struct nameless {
	dev_t dev;
	ino_t ino;
	const char *name; /* the path it had, or "/memfd:NAME", as /proc shows it */
	bool memfd;
	uid_t uid;          /* its owner; when estimated, the user of a process mapping it */
	uint64_t size;      /* bytes */
	uint64_t allocated; /* bytes of memory */
	bool estimated;     /* only mapped, and the file out of reach (not root): size and allocated
			   are the farthest end mapped */
	const struct holder *holders; /* sorted by PID; a mapping process once, fd -1 */
	size_t nholders;
};

/* holders_scan, also keeping the files no name reaches (for holders_nameless). */
struct holders *holders_scan_nameless(void);

/* Those files, each inode once; sets *N. The array belongs to H, which must come from
 * holders_scan_nameless. Incomplete as the scan is (holders_complete, holders_report). */
const struct nameless *holders_nameless(struct holders *h, size_t *n);

#endif /* PSHM_CLI_H */
