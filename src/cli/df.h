/*
 * df.h - what pshm df measures (df_scan.c) for its views (df.c) to show.
 */
#ifndef PSHM_CLI_DF_H
#define PSHM_CLI_DF_H

#include "cli.h"

/* The sums kept for each owner, in allocated bytes (and a count). */
enum sum { S_POSIX, S_SYSV, S_MEMFD, S_NONAME, S_TOTAL, S_OBJECTS, S_NSUMS };

struct owner {
	uid_t uid;
	uint64_t sum[S_NSUMS];
};

/* An object no name reaches, as df shows it. */
struct item {
	const char *kind; /* posix, file, memfd or sysv */
	char *name;
	uid_t uid;
	uint64_t size, allocated;
	bool estimated;
	struct holder *holders;
	size_t nholders;
	struct libscols_table *procs; /* df.c's: JSON's table of the processes that hold it */
};

/* A System V limit, as /proc/sys/kernel has it, and its use. */
struct limit {
	const char *name, *help;
	bool size;  /* in bytes */
	bool known; /* max could be read */
	uint64_t max, used;
};

enum { L_SHMMNI, L_SHMALL, L_SHMMAX, L_NLIMITS };

struct df_usage {
	const char *dir; /* the shm directory */
	dev_t dir_dev;
	bool have_fs; /* its file system could be looked at */
	uint64_t fs_size, fs_used, fs_avail;
	struct owner *owners; /* the most memory first */
	size_t nowners;
	struct item *items; /* the most memory first */
	size_t nitems;
	struct limit lim[L_NLIMITS];
	struct holders *hs; /* from holders_scan_nameless */
	bool partial;       /* the scan missed processes: what they hold may be more */
	bool oom;
	int status; /* EXIT_FAIL once a failure was reported */
};

/* Measure all of it into U, whose dir and hs the caller sets. Failures are reported as they
 * come and set U->status; what could be measured is kept. */
void df_measure(struct df_usage *u);

/* Free what df_measure made in U, the scan with it. */
void df_usage_free(struct df_usage *u);

#endif /* PSHM_CLI_DF_H */
