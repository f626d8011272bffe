/*
 * gc.h - what the two halves of pshm gc share: gc.c (options, the library's leased part, file
 * operands, the report) and gc_unleased.c (--unleased: the objects nobody uses, hidden, looked
 * at again, then removed or given their names back).
 */
#ifndef PSHM_CLI_GC_H
#define PSHM_CLI_GC_H

#include "cli.h"

#include <sys/stat.h>
#include <time.h>

/* The kinds of -k. */
enum { GC_POSIX = 1, GC_CHAN = 2, GC_SYSV = 4, GC_FILE = 8, GC_ALL = 15 };

/* Why a thing was removed; gc.c's report names each. */
enum gc_reason { R_LEASE, R_BEACON, R_UNUSED, R_LEFTOVER };

/* One thing removed, or, in a dry run, that would be. */
struct gc_gone {
	char *addr;
	const char *kind;
	uint64_t alloc;
	enum gc_reason reason;
};

/* An object that is not leased and looked unused at the first scan. */
struct gc_cand {
	char *addr;       /* as reported (a leftover's: its hidden name) */
	const char *kind; /* "posix", "file" or "sysv" */
	uint64_t alloc;
	bool leftover; /* found under a hidden name already */
	/* A file: its directory (owned by the run), its name there, its hidden name while it is
	 * checked ("" when not hidden), and what it was when it was chosen. */
	int dirfd;
	char *name;
	char hidden[32];
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	/* A System V segment: its identifier, else -1. */
	int id;
};

struct gc {
	unsigned kinds;
	bool dry, unleased, verbose;
	struct cli_table_opts t; /* -J, -b, -r, --noheadings */
	time_t older;            /* seconds; 0: no age limit */
	time_t now;
	struct gc_gone *gone;
	size_t ngone, capgone;
	struct gc_cand *cands;
	size_t ncands, capcands;
	int *dirs; /* directories opened for candidates, closed at the end */
	size_t ndirs, capdirs;
	int status;
};

/* ---- gc.c --------------------------------------------------------------------------------- */

/* V (holding N of *CAP elements of SIZE bytes) with room for one more: V itself, a new array,
 * or NULL (V is left as it was). */
void *gc_grow(void *v, size_t *cap, size_t n, size_t size);

/* Record that ADDR was removed (or would be) for REASON; out of memory, report it instead. */
void gc_note(struct gc *g, const char *addr, const char *kind, uint64_t alloc,
             enum gc_reason reason);

/* The memory the file SB describes holds, in bytes. */
static inline uint64_t gc_alloc(const struct stat *sb)
{
	return (uint64_t)sb->st_blocks * 512;
}

/* ---- gc_unleased.c ------------------------------------------------------------------------ */

/* The file operand ADDR (described by SB), which the library found not leased: a candidate
 * when nobody uses it, by scan HS. */
void gc_consider_file(struct gc *g, struct holders *hs, const char *addr, const struct stat *sb);

/* The candidates of the kinds G asks for: objects of the shm directory and hidden leftovers,
 * System V segments. */
void gc_choose(struct gc *g, struct holders *hs);

/* Hide the candidates, scan /proc again, then remove each that nobody uses and give the others
 * their names back (a dry run only notes them). */
void gc_unleased(struct gc *g);

/* Free the candidates and close their directories. */
void gc_cands_free(struct gc *g);

#endif /* PSHM_CLI_GC_H */
