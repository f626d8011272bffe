/*
 * bench_overhead - what libpshm costs over the system calls it makes.
 *
 * Usage: bench_overhead [-n ROUNDS] [-s SIZE] [--sparse] [--json] [--calibrate]
 *
 * For each technique two life cycles are timed, once through the library and once as raw libc
 * calls that make the same system calls in the same order, with the same flags, on the same
 * object name or key:
 *
 *   posix create  lib: pshm_create("/NAME") pshm_map pshm_unmap pshm_close pshm_destroy_addr
 *                 raw: openat(O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC)
 *                      fchmod RESERVE fstat mmap munmap close LOOK unlinkat
 *   posix attach  lib: pshm_open("/NAME") pshm_map pshm_unmap pshm_close
 *                 raw: openat(O_RDWR|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC) fstat fstat mmap
 *                      munmap close
 *   sysv create   lib: pshm_create("sysv:KEY") pshm_map pshm_unmap pshm_close pshm_destroy_addr
 *                 raw: shmget(IPC_CREAT|IPC_EXCL) shmctl(IPC_STAT) shmat shmdt shmget
 *                      shmctl(IPC_RMID)
 *   sysv attach   lib: pshm_open("sysv:KEY") pshm_map pshm_unmap pshm_close
 *                 raw: shmget shmctl(IPC_STAT) shmat shmdt
 *   memfd create  lib: pshm_create("memfd:") pshm_map pshm_unmap pshm_close
 *                 raw: memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_NOEXEC_SEAL) fchmod
 *                      RESERVE fstat mmap munmap close
 *   memfd attach  lib: pshm_open("memfd:PID:FD") pshm_map pshm_unmap pshm_close
 *                 raw: openat("/proc/PID/fd/FD", O_RDWR|O_NONBLOCK|O_NOCTTY|O_CLOEXEC) fstat
 *                      readlink("/proc/self/fd/N") fstat mmap munmap close
 *
 * RESERVE is pthread_sigmask(SIG_BLOCK, all) posix_fallocate pthread_sigmask(SIG_SETMASK), or
 * ftruncate with --sparse; System V gets SHM_NORESERVE with --sparse, on both sides. LOOK is
 * the removal's look for a message channel: openat fstat, pread of 16 bytes when the object is
 * at least a channel header's 8 KiB, close.
 *
 * The raw sequences are in raw_cycle.h, which pshm-bench builds from too; tests/trace/run.sh
 * (make check) traces them against the library's and fails where they differ.
 *
 * Why each raw call is there: the first fstat of an attach is the check that the name holds a
 * regular file, the second is the size re-read that pshm_map() promises (open and map are two
 * steps of the API, and the object may change size in between); IPC_STAT is the same size
 * re-read for System V; readlink checks that the descriptor really is a memfd; LOOK finds a
 * channel's files to remove with it. A call the library makes that it does not need is not
 * copied here: the trace test shows it, and it is taken out of the library (docs/benchmarks.md
 * names those found so).
 *
 * Method: every round runs, for each row, a batch of BATCH operations through the library and a
 * batch through raw calls, back to back in the same process, alternating which goes first from
 * one round to the next so that drift and ordering cancel. A round's time per operation is its
 * batch time over BATCH. The report gives, per row, the median over rounds of the library's and
 * the raw time per operation, their ratio (library median over raw median), the quartiles and
 * the extremes of the per-round ratio, and PASS when the ratio is at most 1.10. --calibrate
 * times the raw side against itself: the ratios it prints show the method's own bias and the
 * machine's noise, which a real run's ratios should be read against.
 *
 * The objects live in the shm directory (PSHM_DIR or /dev/shm) under names holding the process
 * ID; System V keys are chosen unused. Everything is removed on success, on error and on
 * SIGINT, SIGTERM or SIGHUP. Exit status: 0 when the run completed (whatever the verdicts), 1 on
 * an error, 2 for a usage error.
 */
#include <pshm.h>

#include "raw_cycle.h"
#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TARGET       1.10
#define BATCH        20
#define WARMUP       5
#define DEFAULT_RNDS 600
#define MAX_RNDS     1000000
#define DEFAULT_SIZE (64 * 1024)
#define NAME_LEN     64
#define SYSV_MODE    RAW_MODE
#define OBJ_MODE     RAW_MODE

/* The library's addresses, one per row. */
enum { POSIX_CYC, POSIX_ATT, SYSV_CYC, SYSV_ATT, MEMFD_NEW, MEMFD_ATT, NADDR };

/* Everything both sides work on, set up once so that neither side pays for it per operation. */
struct ctx {
	uint64_t size;
	bool sparse;
	bool calibrate;      /* raw against raw */
	unsigned lib_flags;  /* PSHM_SPARSE or 0 */
	int shm_extra;       /* SHM_NORESERVE or 0 */
	struct raw_cycle rc; /* the raw side's size, reservation and memfd flags */
	char addr[NADDR][NAME_LEN];
	char cyc_path[PATH_MAX]; /* the POSIX object made and removed by each operation */
	char att_path[PATH_MAX]; /* the POSIX object both sides attach */
	bool att_made;
	key_t cyc_key, att_key; /* System V keys, likewise */
	int att_id;             /* the attached System V segment, or -1 */
	int mfd;                /* the memfd both sides attach, or -1 */
	char mfd_proc[NAME_LEN];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- the library's side: benchutil.h ----------------------------------------------------- */

/* create + map + unmap + close (+ remove when NAMED). */
static int lib_create(struct ctx *c, const char *addr, bool named)
{
	return bench_lib_create(addr, c->size, OBJ_MODE, c->lib_flags, named);
}

static int lib_attach(struct ctx *c, const char *addr)
{
	return bench_lib_attach(addr, c->size);
}

/* ---- the raw side: raw_cycle.h, on this run's names and keys ------------------------------ */

static int raw_posix_create(struct ctx *c)
{
	return raw_fd_create(&c->rc, c->cyc_path, false);
}

static int raw_posix_attach(struct ctx *c)
{
	return raw_fd_attach(&c->rc, c->att_path);
}

static int raw_sysv_create_row(struct ctx *c)
{
	return raw_sysv_create(&c->rc, c->cyc_key);
}

static int raw_sysv_attach_row(struct ctx *c)
{
	return raw_sysv_attach(&c->rc, c->att_key);
}

static int raw_memfd_create_row(struct ctx *c)
{
	return raw_memfd_create(&c->rc);
}

static int raw_memfd_attach_row(struct ctx *c)
{
	return raw_memfd_attach(&c->rc, c->mfd_proc);
}

/* ---- the rows ----------------------------------------------------------------------------- */

typedef int (*op_fn)(struct ctx *c);

/* A life cycle, through the library at the context's address ADDR, and through raw calls. */
static const struct row {
	const char *kind, *op;
	const char *calls; /* the life cycle, as the report names it */
	bool create, named;
	int addr;
	op_fn raw;
} rows[] = {
    {"posix", "create", "create+map+unmap+close+remove", true, true, POSIX_CYC, raw_posix_create},
    {"posix", "attach", "open+map+unmap+close", false, false, POSIX_ATT, raw_posix_attach},
    {"sysv", "create", "create+map+unmap+close+remove", true, true, SYSV_CYC, raw_sysv_create_row},
    {"sysv", "attach", "open+map+unmap+close", false, false, SYSV_ATT, raw_sysv_attach_row},
    {"memfd", "create", "create+map+unmap+close", true, false, MEMFD_NEW, raw_memfd_create_row},
    {"memfd", "attach", "open(/proc)+map+unmap+close", false, false, MEMFD_ATT,
     raw_memfd_attach_row},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* ---- setting up and tearing down ---------------------------------------------------------- */

/* Make the objects that the attach rows open, sized as the variant asks. */
static int setup_objects(struct ctx *c)
{
	int r, fd = openat(AT_FDCWD, c->att_path, RAW_CREATE_FLAGS, OBJ_MODE);
	if (fd < 0)
		return -errno;
	c->att_made = true;
	r = raw_reserve(&c->rc, fd);
	r = raw_close(fd, r);
	if (r)
		return r;
	c->att_id =
	    shmget(c->att_key, (size_t)c->size, IPC_CREAT | IPC_EXCL | c->shm_extra | SYSV_MODE);
	if (c->att_id < 0)
		return -errno;
	c->mfd = memfd_create(RAW_MEMFD_NAME, c->rc.mfd_flags);
	if (c->mfd < 0)
		return -errno;
	if (fchmod(c->mfd, OBJ_MODE) < 0)
		return -errno;
	r = raw_reserve(&c->rc, c->mfd);
	snprintf(c->addr[MEMFD_ATT], NAME_LEN, "memfd:%d:%d", (int)getpid(), c->mfd);
	snprintf(c->mfd_proc, sizeof(c->mfd_proc), "/proc/%d/fd/%d", (int)getpid(), c->mfd);
	return r;
}

static int setup(struct ctx *c)
{
	const char *dir = pshm_shm_dir();
	int pid = (int)getpid();

	c->lib_flags = c->sparse ? PSHM_SPARSE : 0;
	c->shm_extra = c->sparse ? SHM_NORESERVE : 0;
	snprintf(c->addr[MEMFD_NEW], NAME_LEN, "memfd:");
	snprintf(c->addr[POSIX_CYC], NAME_LEN, "/pshm-bench-%d", pid);
	snprintf(c->addr[POSIX_ATT], NAME_LEN, "/pshm-bench-%d-attach", pid);
	if (snprintf(c->cyc_path, PATH_MAX, "%s%s", dir, c->addr[POSIX_CYC]) >= PATH_MAX ||
	    snprintf(c->att_path, PATH_MAX, "%s%s", dir, c->addr[POSIX_ATT]) >= PATH_MAX)
		return -ENAMETOOLONG;
	c->rc.size = c->size;
	c->rc.sparse = c->sparse;
	c->rc.mfd_flags = raw_memfd_flags();
	if (!c->rc.mfd_flags)
		return -errno;
	int r = raw_pick_key(&c->cyc_key, IPC_PRIVATE);
	if (!r)
		r = raw_pick_key(&c->att_key, c->cyc_key);
	if (r)
		return r;
	snprintf(c->addr[SYSV_CYC], NAME_LEN, "sysv:0x%08x", (unsigned)c->cyc_key);
	snprintf(c->addr[SYSV_ATT], NAME_LEN, "sysv:0x%08x", (unsigned)c->att_key);
	return setup_objects(c);
}

/*
 * Remove what this run made. The create rows remove their objects themselves, even when a step
 * fails; should a removal itself have failed, the object is removed here, the name being this
 * process's own and the System V segment one this process made (its creator's PID says so).
 */
static void teardown(struct ctx *c)
{
	struct shmid_ds ds;
	int id = c->cyc_key ? shmget(c->cyc_key, 0, 0) : -1;

	if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_cpid == getpid())
		shmctl(id, IPC_RMID, NULL);
	if (c->cyc_path[0])
		unlink(c->cyc_path);
	if (c->att_made)
		unlink(c->att_path);
	if (c->att_id >= 0)
		shmctl(c->att_id, IPC_RMID, NULL);
	if (c->mfd >= 0)
		close(c->mfd);
}

/* ---- measuring ---------------------------------------------------------------------------- */

struct result {
	double *lib, *raw, *ratio; /* per round: microseconds per operation, and their ratio */
	double lib_med, raw_med, ratio_med, ratio_min, ratio_q1, ratio_q3, ratio_max;
	bool pass;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One operation of ROW through the library. */
static int lib_op(struct ctx *c, const struct row *row)
{
	const char *addr = c->addr[row->addr];
	return row->create ? lib_create(c, addr, row->named) : lib_attach(c, addr);
}

/*
 * Run ROW BATCH times through the library (LIB) or raw calls; the time per operation in
 * microseconds, or a negative errno. Calibration puts raw calls on both sides.
 */
static int run_batch(struct ctx *c, const struct row *row, bool lib, double *us)
{
	bool raw = !lib || c->calibrate;
	double t0 = now_us();
	for (int i = 0; i < BATCH; i++) {
		int r = raw ? row->raw(c) : lib_op(c, row);
		if (r)
			return r;
	}
	*us = (now_us() - t0) / BATCH;
	return 0;
}

/* One round: every row, library and raw back to back, the first of the two alternating. */
static int run_round(struct ctx *c, struct result *res, int round)
{
	for (size_t i = 0; i < NROWS; i++) {
		double t[2];
		for (int half = 0; half < 2; half++) {
			bool lib = (half == 0) == (round % 2 == 0);
			int r = run_batch(c, &rows[i], lib, &t[lib]);
			if (r) {
				fprintf(stderr, "bench_overhead: %s %s (%s side): %s\n",
				        rows[i].kind, rows[i].op, lib ? "library" : "raw",
				        pshm_strerror(r));
				return r;
			}
		}
		if (round >= 0) {
			res[i].lib[round] = t[1];
			res[i].raw[round] = t[0];
			res[i].ratio[round] = t[1] / t[0];
		}
	}
	return 0;
}

static void summarise(struct result *r, int n)
{
	r->lib_med = bench_median(r->lib, n);
	r->raw_med = bench_median(r->raw, n);
	r->ratio_med = r->lib_med / r->raw_med;
	/* Sorted, for the quartiles. */
	qsort(r->ratio, (size_t)n, sizeof(*r->ratio), bench_cmp_double);
	r->ratio_min = r->ratio[0];
	r->ratio_q1 = r->ratio[n / 4];
	r->ratio_q3 = r->ratio[(3 * n) / 4];
	r->ratio_max = r->ratio[n - 1];
	r->pass = r->ratio_med <= TARGET;
}

/* ---- reporting ---------------------------------------------------------------------------- */

static void format_size(uint64_t size, char *buf, size_t len)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;
	while (u + 1 < sizeof(units) / sizeof(units[0]) && size >= 1024 && size % 1024 == 0) {
		size /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)size, units[u]);
}

static void print_text(const struct ctx *c, const struct result *res, int rounds)
{
	char sz[32];
	format_size(c->size, sz, sizeof(sz));
	printf("pshm library overhead%s: %s objects, %s, %d rounds of %d operations per side\n",
	       c->calibrate ? " (calibration: raw against raw)" : "", sz,
	       c->sparse ? "sparse (no reservation)" : "space reserved", rounds, BATCH);
	printf("median microseconds per operation; ratio = library median / raw median, "
	       "target <= %.2f;\nper-round ratios: quartiles and extremes\n\n",
	       TARGET);
	/* In calibration both columns are raw calls: name them so. */
	printf("%-6s %-7s %-30s %8s %8s %6s %12s %13s  %s\n", "kind", "op", "life cycle",
	       c->calibrate ? "raw1 us" : "lib us", c->calibrate ? "raw2 us" : "raw us", "ratio",
	       "round q1-q3", "round min-max", "verdict");
	for (size_t i = 0; i < NROWS; i++)
		printf("%-6s %-7s %-30s %8.2f %8.2f %6.3f %5.2f-%-6.2f %5.2f-%-7.2f  %s\n",
		       rows[i].kind, rows[i].op, rows[i].calls, res[i].lib_med, res[i].raw_med,
		       res[i].ratio_med, res[i].ratio_q1, res[i].ratio_q3, res[i].ratio_min,
		       res[i].ratio_max, res[i].pass ? "PASS" : "FAIL");
}

static void print_json(const struct ctx *c, const struct result *res, int rounds)
{
	printf("{\"size\": %llu, \"reserve\": %s, \"calibrate\": %s, \"rounds\": %d, "
	       "\"batch\": %d, \"target\": %.2f, \"rows\": [",
	       (unsigned long long)c->size, c->sparse ? "false" : "true",
	       c->calibrate ? "true" : "false", rounds, BATCH, TARGET);
	for (size_t i = 0; i < NROWS; i++)
		printf("%s\n  {\"kind\": \"%s\", \"op\": \"%s\", \"cycle\": \"%s\", "
		       "\"lib_us\": %.4f, \"raw_us\": %.4f, \"ratio\": %.4f, \"ratio_min\": %.4f, "
		       "\"ratio_q1\": %.4f, \"ratio_q3\": %.4f, \"ratio_max\": %.4f, \"pass\": %s}",
		       i ? "," : "", rows[i].kind, rows[i].op, rows[i].calls, res[i].lib_med,
		       res[i].raw_med, res[i].ratio_med, res[i].ratio_min, res[i].ratio_q1,
		       res[i].ratio_q3, res[i].ratio_max, res[i].pass ? "true" : "false");
	printf("\n]}\n");
}

/* ---- the program -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: bench_overhead [-n ROUNDS] [-s SIZE] [--sparse] [--json] [--calibrate]\n"
	        "  -n, --rounds N    rounds of %d operations per side and row (default %d)\n"
	        "  -s, --size SIZE   object size, e.g. 64K, 1MiB (default 64KiB)\n"
	        "      --sparse      do not reserve the space, on both sides\n"
	        "  -J, --json        print the results as JSON\n"
	        "      --calibrate   time the raw calls against themselves: the noise floor\n",
	        BATCH, DEFAULT_RNDS);
}

static int parse_args(int argc, char **argv, struct ctx *c, int *rounds, bool *json)
{
	static const struct option longopts[] = {
	    {"rounds", required_argument, NULL, 'n'},
	    {"size", required_argument, NULL, 's'},
	    {"sparse", no_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'J'},
	    {"calibrate", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "n:s:Jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': {
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (*end || errno || n < 1 || n > MAX_RNDS) {
				fprintf(stderr, "bench_overhead: bad round count: %s\n", optarg);
				return 2;
			}
			*rounds = (int)n;
			break;
		}
		case 's':
			if (pshm_parse_size(optarg, &c->size) || c->size == 0 ||
			    c->size > SIZE_MAX) {
				fprintf(stderr, "bench_overhead: bad size: %s\n", optarg);
				return 2;
			}
			break;
		case 'S':
			c->sparse = true;
			break;
		case 'J':
			*json = true;
			break;
		case 'C':
			c->calibrate = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* Measure every row; 0, a negative errno, or the number of a signal that stopped the run. */
static int measure(struct ctx *c, struct result *res, int rounds)
{
	for (int round = -WARMUP; round < rounds; round++) {
		int r = run_round(c, res, round);
		if (r)
			return r;
		if (stop_signal)
			return stop_signal;
	}
	for (size_t i = 0; i < NROWS; i++)
		summarise(&res[i], rounds);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx c = {.size = DEFAULT_SIZE, .att_id = -1, .mfd = -1};
	struct result res[NROWS];
	int rounds = DEFAULT_RNDS, status = 1;
	bool json = false;

	int r = parse_args(argc, argv, &c, &rounds, &json);
	if (r)
		return r;
	double *buf = calloc((size_t)rounds * NROWS * 3, sizeof(double));
	if (!buf) {
		fprintf(stderr, "bench_overhead: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < NROWS; i++) {
		res[i].lib = buf + (i * 3) * (size_t)rounds;
		res[i].raw = res[i].lib + rounds;
		res[i].ratio = res[i].raw + rounds;
	}
	bench_catch_signals(on_signal);
	r = setup(&c);
	if (r)
		fprintf(stderr, "bench_overhead: setting up in %s: %s\n", pshm_shm_dir(),
		        pshm_strerror(r));
	else
		r = measure(&c, res, rounds);
	teardown(&c);
	if (r == 0) {
		if (json)
			print_json(&c, res, rounds);
		else
			print_text(&c, res, rounds);
		status = 0;
	}
	free(buf);
	if (r > 0) {
		/* Stopped by a signal: now that nothing is left behind, die of it. */
		signal(r, SIG_DFL);
		raise(r);
	}
	return status;
}
