/*
 * bench.h - what the files of pshm-bench share.
 *
 *   main.c   options, the order of the sections, signals, exit status
 *   util.c   the program's name in messages, usage errors, sizes, JSON strings
 *   obj.c    the clean-up registry, unique names, segments made for measuring
 *   sys.c    the machine's facts and which techniques it offers
 *   res.c    the results: samples, medians, ratios, what could not be measured
 *   out.c    the report: terminal tables, JSON, CSV
 *   life.c   life cycles, through the library and as raw calls (bench/raw_cycle.h)
 *   touch.c  first touch per page, write bandwidth, persistence (msync)
 *   pool.c   2 MiB huge pages lent to the run by the kernel's pool, and given back
 *   xfer.c   moving data to another process: the writer's side
 *   peer.c   the other process (pshm-bench --peer) and the hand-over protocol
 */
#ifndef PSHM_PSHM_BENCH_H
#define PSHM_PSHM_BENCH_H

#include <pshm.h>

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* The techniques; the first four are shared memory, the last two the baselines of transfers. */
enum bench_kind { BK_POSIX, BK_SYSV, BK_FILE, BK_MEMFD, BK_PIPE, BK_UNIX, BK_N };
#define BK_SHM_N 4 /* posix, sysv, file, memfd */

/* The sections as options name them; the touch section reports first_touch and bandwidth. */
enum bench_part { BP_LIFECYCLE, BP_TOUCH, BP_PERSISTENCE, BP_TRANSFER, BP_N };

/* The sections of the report (the "section" of a JSON row). */
enum bench_section {
	BS_LIFECYCLE,
	BS_FIRST_TOUCH,
	BS_BANDWIDTH,
	BS_PERSISTENCE,
	BS_TRANSFER,
	BS_N
};

enum bench_format { BF_TEXT, BF_JSON, BF_CSV };

#define BENCH_MAX_SIZES 16
#define BENCH_PAGE      4096 /* first touch is counted per 4 KiB page, whatever the MMU's */

/* What one run measures and how long it spends on each figure. */
struct bench_opts {
	bool quick;
	int format;                      /* enum bench_format */
	const char *dir;                 /* -d as given (default ".") */
	unsigned kinds;                  /* 1 << enum bench_kind */
	unsigned parts;                  /* 1 << enum bench_part */
	uint64_t sizes[BENCH_MAX_SIZES]; /* transfer sizes, ascending */
	int nsizes;
	bool sizes_given;   /* -s was used: measure them all, whatever the room */
	int reps;           /* repetitions of every figure */
	uint64_t life_size; /* the object of the life cycles */
	uint64_t region;    /* first touch, bandwidth and persistence */
	int life_pairs;     /* life cycles: library/raw batch pairs per repetition */
	double target;      /* seconds a transfer or bandwidth figure should take */
};

/* The machine, and which techniques it offers (why not, when it does not). */
struct bench_machine {
	char kernel[128], arch[72], cpu_model[160];
	int cpus;
	uint64_t memory;
	char shm_dir[PATH_MAX];
	char shm_fs[32], shm_huge[32]; /* file system type; tmpfs huge= option ("" none) */
	uint64_t shm_size, shm_free;
	long page;
	char thp_enabled[128], thp_shmem[128]; /* "" where the kernel has no THP */
	char thp_shmem_2m[64];                 /* per-size shmem setting, "" where absent */
	uint64_t huge_size;
	long huge_total, huge_free;
	char file_dir[PATH_MAX]; /* absolute when it resolves */
	char file_fs[32], file_huge[32];
	bool ok[BK_N];
	char why[BK_N][256];
};

extern volatile sig_atomic_t bench_stop; /* the signal that asks the run to stop, or 0 */

/* ---- util.c ------------------------------------------------------------------------------ */

/*
 * The name messages and --help give the program: the last part of its argv[0], which is
 * "pshm bench" when the pshm command runs it, so that its users read the name they typed.
 */
extern const char *bench_prog;
void bench_set_prog(const char *argv0);

/* "PROG: message" and a pointer to --help on stderr; returns EXIT_USAGE. */
int bench_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After getopt has named a bad option: the pointer to --help. Returns EXIT_USAGE. */
int bench_bad_option(void);
/* Parse a size (pshm_parse_size); on error report a usage error and return false. */
bool bench_size(const char *what, const char *text, uint64_t *v);
/* SIZE as "512B", "4K" or "1.5M" (powers of 1024) in BUF. */
const char *bench_fmt_size(char *buf, size_t len, uint64_t size);
/* Print S as a JSON string, quoted and escaped. */
void bench_json_string(const char *s);
/* Write all of BUF to FD, retrying short writes and EINTR. 0 or -errno. */
int bench_write_all(int fd, const void *buf, size_t len);

/* ---- obj.c ------------------------------------------------------------------------------- */

/* A segment made for a measurement, registered for clean-up from before it exists. */
struct bench_seg {
	int kind;
	struct pshm_seg *seg;
	char addr[PATH_MAX + 8];
	int slot; /* registry slot, -1 when nothing is left to remove */
	void *map;
	size_t len;
};

/* Remember a path (POSIX object or file) or System V key before it is made; a slot or -ENOMEM. */
int reg_path(const char *path);
int reg_key(key_t key);
/* Remember a child process; it is killed and reaped in clean-up unless reg_release()d. */
int reg_pid(pid_t pid);
/* The object is gone (or the child reaped): nothing to do for SLOT any more. -1 is ignored. */
void reg_release(int slot);
/* Is KEY already ours? */
bool reg_has_key(key_t key);
/* Remove SLOT's object now if it exists (and is ours), and forget it. -1 is ignored. */
void reg_remove(int slot);
/* Remove everything still registered: objects, files, segments, child processes. */
void reg_cleanup(void);

/* "/pshm-bench.PID.N" (DIR NULL) or "DIR/.pshm-bench.PID.N", N new each time: 0 or
 * -ENAMETOOLONG. */
int bench_name(char *buf, size_t len, const char *dir);
/* A System V key nobody uses, registered. 0 or a negative errno. */
int bench_key(key_t *keyp, int *slotp);

/* Make a segment of KIND (posix, sysv, file, memfd) of SIZE bytes; flags as pshm_create. */
int bseg_create(struct bench_seg *b, int kind, const struct bench_machine *m, uint64_t size,
                unsigned flags);
int bseg_map(struct bench_seg *b, unsigned flags);
/* Unmap, remove and close, whatever state B is in; B may be one bseg_create failed on. */
void bseg_destroy(struct bench_seg *b);

/* Run FN(ARG) with SIGBUS caught: 0, or -EFAULT when a SIGBUS cut it short. */
int bench_guard(void (*fn)(void *), void *arg);

/* ---- sys.c ------------------------------------------------------------------------------- */

void bench_machine(struct bench_machine *m, const struct bench_opts *o);
/* A number from /proc/meminfo as it is now ("HugePages_Free"), or -1. */
long bench_meminfo(const char *key);
/* The mount's file system type and its huge= option for PATH. */
void bench_mount_of(const char *path, char *fs, size_t fslen, char *huge, size_t hugelen);
/* A sentence on an error of KIND with SIZE bytes, naming the directory or limit it hit. */
void bench_explain(char *buf, size_t len, const struct bench_machine *m, int kind, int err,
                   uint64_t size);

/* ---- res.c ------------------------------------------------------------------------------- */

struct bench_row {
	int section, kind;
	const char *variant, *unit;
	uint64_t size;
	double *v, *raw; /* per repetition; raw: the life cycles' raw side */
	int n, cap;
	double median, min, max, raw_median;
	double ratio_posix, ratio_pipe, ratio_raw; /* NAN: none */
};

struct bench_gap {
	int section, kind;
	const char *variant;
	char reason[320];
};

/* Add a sample (and its raw counterpart, or NAN) to the row, made on first use. */
void bench_add(int section, int kind, const char *variant, uint64_t size, double v, double raw);
/* The row cannot be had: drop its samples and say why. Duplicates are ignored. */
void bench_gap(int section, int kind, const char *variant, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* As bench_gap, for a measurement that failed: also on stderr, and the run exits 1. */
void bench_fail(int section, int kind, const char *variant, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool bench_failed(int section, int kind, const char *variant);
bool bench_any_error(void);
/* Medians, extremes and ratios; rows sorted in report order. */
void bench_summarise(void);
const struct bench_row *bench_rows(size_t *n);
const struct bench_gap *bench_gaps(size_t *n);
void bench_free_results(void);

extern const char *const bench_kind_names[BK_N];
extern const char *const bench_section_names[BS_N];

/* ---- out.c ------------------------------------------------------------------------------- */

void bench_report(const struct bench_opts *o, const struct bench_machine *m, double elapsed);
/* A progress line on a terminal's stderr ("" clears it). */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- pool.c ------------------------------------------------------------------------------ */

/*
 * Make sure NEED 2 MiB huge pages are free, growing the pool (root only) by what is missing:
 * 0, or 1 with WHY saying why they cannot be had.
 */
int bench_pool_reserve(long need, char *why, size_t wlen);
/* Give back what bench_pool_reserve added; safe in a signal handler, and twice. */
void bench_pool_restore(void);
/* When the run grew the pool: true, and a sentence on it in BUF. */
bool bench_pool_note(char *buf, size_t len);

/* ---- the sections ------------------------------------------------------------------------ */

double bench_now(void); /* seconds, CLOCK_MONOTONIC */

void bench_lifecycle(const struct bench_opts *o, const struct bench_machine *m);
void bench_touch(const struct bench_opts *o, const struct bench_machine *m);
void bench_persistence(const struct bench_opts *o, const struct bench_machine *m);
void bench_transfer(const struct bench_opts *o, const struct bench_machine *m);

/* ---- the hand-over protocol (peer.c, xfer.c) --------------------------------------------- */

#define XFER_HDR   4096 /* the header page; the payload follows it */
#define XFER_MAGIC 0x70736862u

/*
 * The header of a transfer segment. The writer fills the payload, sets len and releases seq;
 * the reader acquires seq, reads every byte, stores the checksum and releases ack = seq.
 * Between its measurements the writer sets idle, and the reader waits in long naps instead of
 * short ones (several idle readers waking 50000 times a second would slow the one at work).
 * Fields the two sides write sit on different cache lines.
 */
struct xfer_hdr {
	_Alignas(64) _Atomic uint64_t seq;
	uint64_t len;
	_Atomic uint32_t idle;
	_Atomic uint32_t quit;
	uint32_t magic;
	_Alignas(64) _Atomic uint64_t ack;
	uint64_t sum;
	_Atomic uint32_t ready; /* the reader has mapped the segment */
};

/* A stream transfer's command: COUNT messages of SIZE bytes follow; count 0 ends the peer. */
struct xfer_cmd {
	uint64_t count, size;
};

/* The checksum the reader computes: reads every byte of P[0..N). */
uint64_t xfer_sum(const void *p, size_t n);

/*
 * Wait until *WORD differs from OLD; the new value. Spins briefly, then yields, then naps;
 * while *IDLE (if not NULL) is set, it only takes long naps. Gives up (returning OLD) when
 * ABORT(ARG) says so, which it asks now and then.
 */
uint64_t xfer_wait(_Atomic uint64_t *word, uint64_t old, _Atomic uint32_t *idle,
                   bool (*abort)(void *), void *arg);

/* The reading process: `pshm-bench --peer ...`, started by xfer.c. ARGV[0] is "--peer". */
int bench_peer(int argc, char **argv);

#endif /* PSHM_PSHM_BENCH_H */
