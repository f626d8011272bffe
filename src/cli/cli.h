/*
 * cli.h - what the pshm command's files share.
 *
 * Each subcommand is a function taking (argc, argv) with argv[0] the subcommand's name, and
 * returning the exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef PSHM_CLI_H
#define PSHM_CLI_H

#include <pshm.h>

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
const char *cli_fmt_time(char *buf, size_t len, const struct timespec *ts);

/* Write all of BUF to FD, retrying short writes and EINTR. 0 or -errno. */
int cli_write_all(int fd, const void *buf, size_t len);

/* The standard getopt_long handling of -h/--help in every subcommand. */
#define CLI_HELP_OPTION                                                                            \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* ---- json.c --------------------------------------------------------------------------------- */

struct libscols_table;

/* Print S as a JSON string, quoted and escaped. */
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
	int fd;        /* descriptor number, or -1 for a mapping */
	bool writable; /* mapping: PROT_WRITE; descriptor: opened for writing */
};

struct holders;

/* Scan /proc once: every process's shared mappings and descriptors of memory files. NULL on
 * failure to allocate. Processes that vanish or cannot be read are skipped. */
struct holders *holders_scan(void);
void holders_free(struct holders *h);

/*
 * The holders of the segment described by ST (matched by device and inode, or by System V
 * identifier). Sets *N; the array belongs to H. Deduplicated: one entry per (pid, fd).
 */
const struct holder *holders_of(struct holders *h, const struct pshm_stat *st, size_t *n);

/* The number of distinct processes among HS[0..N). */
size_t holders_nprocs(const struct holder *hs, size_t n);

#endif /* PSHM_CLI_H */
