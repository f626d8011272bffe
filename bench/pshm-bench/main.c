/*
 * main.c - pshm-bench: POSIX objects, System V segments, shared file mappings and memfd
 * measured side by side on this machine, with a pipe and a Unix socket as the baselines of
 * moving data between processes. `pshm bench` runs it. This file reads the options, runs the
 * sections in turn and decides the exit status; bench.h lists the files that do the rest.
 *
 * Exit status: 0 when the run completed (a figure the system cannot give is "unavailable", not
 * a failure), 1 when a measurement failed (the others still ran and are reported), 2 for a
 * usage error, 130 after SIGINT or SIGTERM. Whatever happens, everything the run made is
 * removed before it exits: objects in the shm directory, System V segments, files in the file
 * directory, and the reading processes of the transfers.
 */
#include "bench.h"
#include "benchutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_REPS 7
#define QUICK_REPS   3
#define MAX_REPS     1000
#define MAX_SIZE     (1ULL << 30)
#define LIFE_SIZE    (64 * 1024)
#define REGION       (16 << 20)
#define QUICK_REGION (4 << 20)

volatile sig_atomic_t bench_stop;

static const char *const part_names[BP_N] = {"lifecycle", "touch", "persistence", "transfer"};

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	bench_pool_restore(); /* at once: the pool is the one thing outside this run's own */
	bench_stop = sig;
}

/* ---- options ----------------------------------------------------------------------------- */

/* A comma-separated list of NAMES (or "all") as a bit mask; false after a usage message. */
static bool parse_names(const char *what, const char *text, const char *const *names, int n,
                        unsigned *mask)
{
	char *copy = strdup(text), *save = NULL, known[128] = "";

	*mask = 0;
	for (char *w = copy ? strtok_r(copy, ",", &save) : NULL; w;
	     w = strtok_r(NULL, ",", &save)) {
		int i;
		for (i = 0; i < n && strcmp(w, names[i]); i++)
			;
		if (i < n || !strcmp(w, "all")) {
			*mask |= i < n ? 1u << i : (1u << n) - 1;
			continue;
		}
		for (i = 0; i < n; i++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
			         i ? "," : "", names[i]);
		bench_usage("unknown %s '%s' (expected a list of %s, or all)", what, w, known);
		free(copy);
		return false;
	}
	free(copy);
	if (!*mask) {
		bench_usage("no %s in '%s'", what, text);
		return false;
	}
	return true;
}

static int cmp_size(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool parse_sizes(const char *text, struct bench_opts *o)
{
	char *copy = strdup(text), *save = NULL;
	uint64_t v;

	o->nsizes = 0;
	for (char *w = copy ? strtok_r(copy, ",", &save) : NULL; w;
	     w = strtok_r(NULL, ",", &save)) {
		if (!bench_size("size", w, &v)) {
			free(copy);
			return false;
		}
		if (v == 0 || v > MAX_SIZE || o->nsizes == BENCH_MAX_SIZES) {
			bench_usage(v == 0 || v > MAX_SIZE ? "size '%s' out of range (1 byte to 1G)"
			                                   : "more than 16 sizes at '%s'",
			            w);
			free(copy);
			return false;
		}
		o->sizes[o->nsizes++] = v;
	}
	free(copy);
	if (!o->nsizes) {
		bench_usage("no sizes in '%s'", text);
		return false;
	}
	qsort(o->sizes, (size_t)o->nsizes, sizeof(o->sizes[0]), cmp_size);
	int n = 1;
	for (int i = 1; i < o->nsizes; i++)
		if (o->sizes[i] != o->sizes[n - 1])
			o->sizes[n++] = o->sizes[i];
	o->nsizes = n;
	return true;
}

static int help(void)
{
	printf("Usage:\n %s [--quick] [-J | --csv] [-d DIR] [-k KINDS] [-s SIZES] [--region SIZE] "
	       "[-r N] [--sections LIST]\n\n"
	       "Measure the techniques against each other on this machine.\n\nOptions:\n",
	       bench_prog);
	printf("      --quick            a short run (3 repetitions, shorter measurements)\n"
	       "  -J, --json             print the results as JSON\n"
	       "      --csv              print the results as CSV\n"
	       "  -d, --dir DIR          where the file mappings' files go (default: the "
	       "current directory)\n"
	       "  -k, --kinds LIST       posix,sysv,file,memfd,pipe,unix (default: all)\n"
	       "  -s, --sizes LIST       transfer sizes (default 4K,64K,1M,64M, less those\n"
	       "                         the shm directory cannot hold twice over)\n"
	       "      --region SIZE      the region of the touch and persistence sections\n"
	       "                         (default 16M, --quick 4M)\n"
	       "  -r, --reps N           repetitions of every figure (default 7, --quick 3)\n"
	       "      --sections LIST    lifecycle,touch,persistence,transfer (default: all)\n\n"
	       "  -h, --help             show this help\n");
	printf(
	    "\nSections:\n"
	    "  lifecycle    create+size+map+unmap+remove of a 64K object, and open+map+unmap+\n"
	    "               close of an existing one, in microseconds, through libpshm and as\n"
	    "               the same system calls made directly (lib/raw)\n"
	    "  touch        the first write to each 4 KiB page: plain, after MAP_POPULATE, after\n"
	    "               posix_fallocate, with huge pages; then memset bandwidth\n"
	    "  persistence  rewriting the region, alone and followed by msync(MS_SYNC)\n"
	    "  transfer     messages handed to another process through each technique (a\n"
	    "               buffer and a flag in shared memory), a pipe and a Unix socket\n"
	    "\nEach figure is the median over the repetitions, with the smallest and largest,\n"
	    "and its ratio to POSIX (transfers: to the pipe as well). Objects are made in the\n"
	    "shm directory (%s), as System V segments and as files .pshm-bench.* in\n"
	    "DIR; all are removed at the end, after an error and on Ctrl-C.\n"
	    "\nExit status: 0 done (unavailable figures are listed, not failures), 1 a "
	    "measurement\nfailed, 2 usage error, 130 interrupted.\n"
	    "\nFor more details see pshm-bench(1).\n",
	    pshm_shm_dir());
	return EXIT_OK;
}

static int parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option opts[] = {
	    {"quick", no_argument, NULL, 'q'},
	    {"json", no_argument, NULL, 'J'},
	    {"csv", no_argument, NULL, 'C'},
	    {"dir", required_argument, NULL, 'd'},
	    {"kinds", required_argument, NULL, 'k'},
	    {"sizes", required_argument, NULL, 's'},
	    {"reps", required_argument, NULL, 'r'},
	    {"sections", required_argument, NULL, 'S'},
	    {"region", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const uint64_t sizes[] = {4096, 65536, 1 << 20, 64 << 20};
	int c, reps = 0;
	uint64_t region = 0;
	bool json = false, csv = false;
	char *end;

	memset(o, 0, sizeof(*o));
	o->dir = ".";
	o->kinds = (1u << BK_N) - 1;
	o->parts = (1u << BP_N) - 1;
	o->nsizes = 4;
	memcpy(o->sizes, sizes, sizeof(sizes));
	while ((c = getopt_long(argc, argv, "Jd:k:s:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'J':
			json = true;
			break;
		case 'C':
			csv = true;
			break;
		case 'd':
			if (!*optarg)
				return bench_usage("empty directory name");
			o->dir = optarg;
			break;
		case 'k':
			if (!parse_names("kind", optarg, bench_kind_names, BK_N, &o->kinds))
				return EXIT_USAGE;
			break;
		case 's':
			if (!parse_sizes(optarg, o))
				return EXIT_USAGE;
			o->sizes_given = true;
			break;
		case 'r': {
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || n < 1 || n > MAX_REPS)
				return bench_usage("invalid repetitions '%s' (1 to %d)", optarg,
				                   MAX_REPS);
			reps = (int)n;
			break;
		}
		case 'S':
			if (!parse_names("section", optarg, part_names, BP_N, &o->parts))
				return EXIT_USAGE;
			break;
		case 'R':
			if (!bench_size("region", optarg, &region))
				return EXIT_USAGE;
			if (region < BENCH_PAGE || region > MAX_SIZE)
				return bench_usage("region '%s' out of range (4K to 1G)", optarg);
			break;
		case 'h':
			help();
			return -1;
		default:
			return bench_bad_option();
		}
	}
	if (optind < argc)
		return bench_usage("unexpected argument '%s'", argv[optind]);
	if (json && csv)
		return bench_usage("--json and --csv exclude each other");
	o->format = json ? BF_JSON : csv ? BF_CSV : BF_TEXT;
	o->reps = reps ? reps : o->quick ? QUICK_REPS : DEFAULT_REPS;
	o->life_size = LIFE_SIZE;
	o->life_pairs = o->quick ? 5 : 16;
	o->target = o->quick ? 0.01 : 0.1;
	if (!region)
		region = o->quick ? QUICK_REGION : REGION;
	o->region = (region + BENCH_PAGE - 1) / BENCH_PAGE * BENCH_PAGE;
	return EXIT_OK;
}

/* ---- the run ----------------------------------------------------------------------------- */

/*
 * Leave out the default transfer sizes that the shm directory could not hold twice over (a
 * 64 MiB /dev/shm, as in a container, cannot take the 64M transfer), saying so on stderr;
 * sizes given with -s are all measured, and fail where the room runs out.
 */
static void fit_default_sizes(struct bench_opts *o, const struct bench_machine *m)
{
	char want[32], avail[32];
	int n = 0;

	if (o->sizes_given || !(o->parts & (1u << BP_TRANSFER)) || !(o->kinds & (1u << BK_POSIX)) ||
	    !m->ok[BK_POSIX] || !m->shm_size)
		return;
	for (int i = 0; i < o->nsizes; i++) {
		if (o->sizes[i] <= m->shm_free / 2) {
			o->sizes[n++] = o->sizes[i];
			continue;
		}
		bench_fmt_size(want, sizeof(want), o->sizes[i]);
		bench_fmt_size(avail, sizeof(avail), m->shm_free);
		fprintf(stderr,
		        "%s: transfers of %s left out: %.200s has %s free (-s %s measures them "
		        "anyway)\n",
		        bench_prog, want, m->shm_dir, avail, want);
	}
	o->nsizes = n;
}

/* Say on stderr which techniques asked for cannot be measured at all, and why. */
static void say_unavailable(const struct bench_opts *o, const struct bench_machine *m)
{
	for (int k = 0; k < BK_N; k++)
		if ((o->kinds & (1u << k)) && !m->ok[k])
			fprintf(stderr, "%s: %s: unavailable: %s\n", bench_prog,
			        bench_kind_names[k], m->why[k]);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_machine m;

	bench_set_prog(argv[0]);
	argv[0] = (char *)bench_prog; /* what getopt names in its messages */
	if (argc >= 2 && !strcmp(argv[1], "--peer"))
		return bench_peer(argc - 1, argv + 1);
	int r = parse(argc, argv, &o);
	if (r)
		return r < 0 ? EXIT_OK : r;
	bench_catch_signals(on_signal);
	/* A reader that dies makes write() fail with EPIPE, which is reported. */
	signal(SIGPIPE, SIG_IGN);
	double t0 = bench_now();
	bench_machine(&m, &o);
	say_unavailable(&o, &m);
	fit_default_sizes(&o, &m);
	if ((o.parts & (1u << BP_LIFECYCLE)) && !bench_stop)
		bench_lifecycle(&o, &m);
	if ((o.parts & (1u << BP_TOUCH)) && !bench_stop)
		bench_touch(&o, &m);
	if ((o.parts & (1u << BP_PERSISTENCE)) && !bench_stop)
		bench_persistence(&o, &m);
	if ((o.parts & (1u << BP_TRANSFER)) && !bench_stop)
		bench_transfer(&o, &m);
	bench_progress("%s", "");
	reg_cleanup();
	if (bench_stop) {
		fprintf(stderr, "%s: interrupted; everything it made is removed\n", bench_prog);
		bench_free_results();
		return 128 + SIGINT;
	}
	bench_summarise();
	bench_report(&o, &m, bench_now() - t0);
	bench_free_results();
	return bench_any_error() ? EXIT_FAIL : EXIT_OK;
}
