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
int cmd_chmod(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_chan(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);

/* ---- chan.c ------------------------------------------------------------------------------- */

/* Whether the POSIX object ST describes is a message channel: bigger than a channel's header,
 * with the channel magic in its first bytes. Any error reading it means no. */
bool cli_chan_object(const struct pshm_stat *st);

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

/* After getopt has reported a bad option (naming it, as "pshm CMD: ..."): the pointer to --help.
 * Returns EXIT_USAGE. */
int cli_bad_option(const char *cmd);

/* Print the --help text of subcommand CMD: its synopsis, summary and OPTIONS text. */
int cli_help(const char *cmd, const char *options);

/* Parse a size (pshm_parse_size); on error report a usage error for CMD and return false. */
bool cli_size(const char *cmd, const char *what, const char *text, uint64_t *v);

/* Parse an octal mode of at most 07777. */
bool cli_mode(const char *cmd, const char *text, mode_t *mode);

/* Format SIZE as bytes (BYTES) or human-readable ("4K", "1.5M") into BUF. */
const char *cli_fmt_size(char *buf, size_t len, uint64_t size, bool bytes);

/* "rw-r--r--" for MODE's permission bits (with s/S/t/T as ls(1) shows them). */
const char *cli_fmt_mode(char *buf, mode_t mode);

/* The user or group name for ID, or the number as text when it has none. Cached. */
const char *cli_user(uid_t uid);
const char *cli_group(gid_t gid);

/* "2026-11-26 19:34:30" in local time, or "-" for zero. */
const char *cli_fmt_time(char *buf, size_t len, const struct pshm_time *ts);

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

/* ---- text.c: untrusted text made safe to show ----------------------------------------------- */

struct libscols_table;

/* The length (1 to 4) of the valid UTF-8 character at S, its code point in *CP; 0 when S starts
 * no valid character (a stray or cut-off byte, an overlong form, a surrogate, > U+10FFFF). */
size_t cli_utf8_char(const char *s, uint32_t *cp);

/* Whether CP must never reach a terminal as it is: C0, DEL, C1, the bidirectional controls,
 * U+2028 and U+2029. */
bool cli_char_unsafe(uint32_t cp);

enum {
	CLI_ESC_SPACE = 1, /* spaces too (raw output) */
	CLI_ESC_ASCII = 2, /* every byte outside printable ASCII too */
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
 * output. Replaces scols_print_table; 0 or a negative errno. */
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

/* "seal,shrink,grow,write,future-write,exec" for memfd seal bits; "" for none. */
const char *cli_fmt_seals(char *buf, size_t len, unsigned seals);

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

#endif /* PSHM_CLI_H */
