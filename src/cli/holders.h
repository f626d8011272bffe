/*
 * holders.h - the records of the holders scan, shared by holders.c (which processes map or hold
 * what) and nameless.c (the files among them that no name reaches).
 */
#ifndef PSHM_CLI_HOLDERS_H
#define PSHM_CLI_HOLDERS_H

#include "cli.h"

#include <dirent.h>
#include <sys/stat.h>

struct row {
	dev_t dev;
	ino_t ino;
	struct holder h;
	bool flags_known;
};

/* A file no name reaches, as one process maps or holds it (holders_scan_nameless). */
struct gone {
	struct row r;
	char *name;               /* the path /proc shows, without its " (deleted)" */
	unsigned long long start; /* a mapping: its addresses, for /proc/PID/map_files */
	unsigned long long end;
	unsigned long long extent; /* a mapping: the offset of its end in the file */
	struct stat st;            /* a descriptor: the file's status */
};

struct holders {
	struct row *rows;
	size_t n, cap;
	bool nameless; /* keep the files no name reaches (struct gone) */
	struct gone *gone;
	size_t ngone, gonecap;
	bool resolved; /* gone has been made into objs */
	struct nameless *objs;
	size_t nobjs;
	struct holder *objh; /* the holders of objs, each one's in a run */
	struct holder *out;  /* the result of the last holders_of */
	size_t outcap;
	int err;             /* the error that stopped the scan (a negative errno), or 0 */
	size_t hidden;       /* processes that could not be looked into */
	const char *hidepid; /* the hidepid= value of a /proc that hides processes, or NULL */
	bool used;           /* holders_of was asked: the scan's gaps matter to the output */
	bool reported;
};

/* ---- holders.c ------------------------------------------------------------------------------ */

/* V, an array of N elements of SIZE bytes with room for *CAP, with room for one more: V or a
 * larger copy (the first FIRST long); NULL when out of memory, V then unchanged. */
void *holders_grow(void *v, size_t n, size_t *cap, size_t size, size_t first);

/* Rows by device, inode, PID and descriptor, for qsort. */
int holders_cmp_row(const void *a, const void *b);

/* Set H's writable and mode_unknown for its descriptor from /proc/PID/fdinfo/FD. 0, or the
 * negative errno that kept it unknown. */
int holders_fd_mode(struct holder *h);

/* ---- nameless.c: kept by holders_scan_nameless ---------------------------------------------- */

/* The mapping G of the file at PATH (a maps line's path, cut at its end here): kept when the
 * file has no name left. 0 or -ENOMEM. */
int nameless_map(struct holders *hs, const struct gone *g, char *path);

/* Descriptor FD (its name in /proc/PID/fd, open as DIR) of a file ST that has no link left:
 * kept with its status when it is on a memory file system. 0 or -ENOMEM. */
int nameless_fd(struct holders *hs, DIR *dir, pid_t pid, const char *fd, const struct stat *st);

/* Free what they kept. */
void nameless_free(struct holders *hs);

#endif /* PSHM_CLI_HOLDERS_H */
