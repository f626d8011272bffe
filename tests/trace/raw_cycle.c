/*
 * raw_cycle.c - each technique's create and attach life cycles, once through libpshm as the
 * benchmarks time it (benchutil.h) and once as bench/raw_cycle.h's raw calls, each between
 * marks that tests/trace/run.sh finds in an strace of this program: a write(2) to descriptor -1
 * of "pshm-trace ROW SIDE" before the cycle, and of "pshm-trace end" after it.
 *
 * Usage: raw_cycle [-s SIZE] [--sparse] DIR
 *   DIR takes the file technique's files; POSIX objects go in the shm directory (PSHM_DIR).
 *   --sparse makes both sides leave the space unreserved, as bench_overhead --sparse does.
 *
 * Both sides of a row work on the same name, key or descriptor, so that their traces differ
 * only where their calls do. Each row runs twice unmarked before its marked run, which leaves
 * out what the library does once per process (the first allocation, for one). A technique the
 * system lacks (System V, memfd) is left out with a line "skip: KIND: why" on stderr.
 * Exit status: 0, 1 when a cycle failed, 2 for a usage error.
 */
#include <pshm.h>

#include "benchutil.h"
#include "raw_cycle.h"

#include <getopt.h>
#include <stdlib.h>

#define MODE    0600
#define WARMUPS 2

enum { POSIX, FILE_, SYSV, MEMFD, NKINDS };

static const char *const kind_names[NKINDS] = {"posix", "file", "sysv", "memfd"};

/* One run: for each kind, the object each create makes and removes, and the one each attach
 * opens, by the library's address and by the raw calls' path or key. */
struct run {
	struct raw_cycle rc;
	unsigned flags; /* PSHM_SPARSE or 0 */
	bool ok[NKINDS];
	char cyc_addr[NKINDS][PATH_MAX + 8], att_addr[NKINDS][PATH_MAX + 8];
	char cyc_path[NKINDS][PATH_MAX], att_path[NKINDS][PATH_MAX];
	key_t cyc_key, att_key;
	struct pshm_seg *att[NKINDS]; /* kept open: a memfd lives only while it is held */
};

/* "pshm-trace KIND OP SIDE" before a cycle, "pshm-trace end" (KIND NULL) after it. */
static void mark(const char *kind, const char *op, const char *side)
{
	char buf[96];
	int n = kind ? snprintf(buf, sizeof(buf), "pshm-trace %s %s %s", kind, op, side)
	             : snprintf(buf, sizeof(buf), "pshm-trace end");
	if (write(-1, buf, (size_t)n) >= 0)
		abort(); /* descriptor -1 cannot be written: the call is only a mark */
}

static int lib_cycle(const struct run *r, int k, bool create)
{
	if (create)
		return bench_lib_create(r->cyc_addr[k], r->rc.size, MODE, r->flags, k != MEMFD);
	return bench_lib_attach(r->att_addr[k], r->rc.size);
}

static int raw_cycle(const struct run *r, int k, bool create)
{
	switch (k) {
	case POSIX:
	case FILE_:
		return create ? raw_fd_create(&r->rc, r->cyc_path[k], k == FILE_)
		              : raw_fd_attach(&r->rc, r->att_path[k]);
	case SYSV:
		return create ? raw_sysv_create(&r->rc, r->cyc_key)
		              : raw_sysv_attach(&r->rc, r->att_key);
	default:
		return create ? raw_memfd_create(&r->rc) : raw_memfd_attach(&r->rc, r->att_path[k]);
	}
}

/* The names of every kind's objects under DIR (files) and the shm directory; 0 or -errno. */
static int name(struct run *r, const char *dir)
{
	const char *shm = pshm_shm_dir();
	int pid = (int)getpid(), n = 0;

	n |= snprintf(r->cyc_addr[POSIX], PATH_MAX, "/pshm-trace.%d", pid) >= PATH_MAX;
	n |= snprintf(r->att_addr[POSIX], PATH_MAX, "/pshm-trace.%d.att", pid) >= PATH_MAX;
	n |= snprintf(r->cyc_path[POSIX], PATH_MAX, "%s%s", shm, r->cyc_addr[POSIX]) >= PATH_MAX;
	n |= snprintf(r->att_path[POSIX], PATH_MAX, "%s%s", shm, r->att_addr[POSIX]) >= PATH_MAX;
	n |= snprintf(r->cyc_path[FILE_], PATH_MAX, "%s/pshm-trace.%d", dir, pid) >= PATH_MAX;
	n |= snprintf(r->att_path[FILE_], PATH_MAX, "%s/pshm-trace.%d.att", dir, pid) >= PATH_MAX;
	snprintf(r->cyc_addr[FILE_], sizeof(r->cyc_addr[0]), "file:%s", r->cyc_path[FILE_]);
	snprintf(r->att_addr[FILE_], sizeof(r->att_addr[0]), "file:%s", r->att_path[FILE_]);
	snprintf(r->cyc_addr[MEMFD], sizeof(r->cyc_addr[0]), "memfd:");
	if (n)
		return -ENAMETOOLONG;
	if (!raw_pick_key(&r->cyc_key, IPC_PRIVATE) && !raw_pick_key(&r->att_key, r->cyc_key)) {
		snprintf(r->cyc_addr[SYSV], sizeof(r->cyc_addr[0]), "sysv:0x%08x",
		         (unsigned)r->cyc_key);
		snprintf(r->att_addr[SYSV], sizeof(r->att_addr[0]), "sysv:0x%08x",
		         (unsigned)r->att_key);
	}
	return 0;
}

/* Make the object every attach of kind K opens; a kind the system lacks is skipped. */
static int setup(struct run *r, int k)
{
	int e = pshm_create(&r->att[k], k == MEMFD ? "memfd:" : r->att_addr[k], r->rc.size, MODE,
	                    r->flags);
	if (e && (k == SYSV || k == MEMFD)) {
		fprintf(stderr, "skip: %s: %s\n", kind_names[k], pshm_strerror(e));
		return 0;
	}
	if (e) {
		fprintf(stderr, "raw_cycle: %s: %s\n", r->att_addr[k], pshm_strerror(e));
		return e;
	}
	if (k == MEMFD) {
		snprintf(r->att_addr[k], sizeof(r->att_addr[0]), "%s", pshm_address(r->att[k]));
		snprintf(r->att_path[k], sizeof(r->att_path[0]), "/proc/%d/fd/%d", (int)getpid(),
		         pshm_fd(r->att[k]));
	}
	r->ok[k] = true;
	return 0;
}

static void teardown(struct run *r)
{
	for (int k = 0; k < NKINDS; k++) {
		if (!r->att[k])
			continue;
		if (k != MEMFD)
			pshm_destroy(r->att[k]);
		pshm_close(r->att[k]);
	}
}

/* Every row of kind K: unmarked runs, then the marked ones. 0 or the first error. */
static int trace_kind(const struct run *r, int k)
{
	static const char *const ops[2] = {"create", "attach"};

	for (int create = 1; create >= 0; create--) {
		const char *op = ops[!create];
		for (int i = 0; i <= WARMUPS; i++) {
			bool marked = i == WARMUPS;
			if (marked)
				mark(kind_names[k], op, "library");
			int e = lib_cycle(r, k, create);
			if (marked)
				mark(kind_names[k], op, "raw");
			int f = raw_cycle(r, k, create);
			if (marked)
				mark(NULL, NULL, NULL);
			if (e || f) {
				fprintf(stderr, "raw_cycle: %s %s (%s side): %s\n", kind_names[k],
				        op, e ? "library" : "raw", pshm_strerror(e ? e : f));
				return e ? e : f;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"size", required_argument, NULL, 's'},
	    {"sparse", no_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	struct run r = {.rc = {.size = 64 * 1024}};
	char dir[PATH_MAX];
	int c, e = 0;

	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		if (c == 's' && !pshm_parse_size(optarg, &r.rc.size) && r.rc.size)
			continue;
		if (c == 'S') {
			r.rc.sparse = true;
			r.flags = PSHM_SPARSE;
			continue;
		}
		fprintf(stderr, "usage: raw_cycle [-s SIZE] [--sparse] DIR\n");
		return 2;
	}
	if (optind + 1 != argc || !realpath(argv[optind], dir)) {
		fprintf(stderr,
		        "usage: raw_cycle [-s SIZE] [--sparse] DIR (an existing directory)\n");
		return 2;
	}
	r.rc.mfd_flags = raw_memfd_flags();
	int mfd_err = errno;
	e = name(&r, dir);
	if (!r.cyc_key)
		fprintf(stderr, "skip: sysv: no unused key found\n");
	if (!r.rc.mfd_flags)
		fprintf(stderr, "skip: memfd: memfd_create: %s\n", strerror(mfd_err));
	for (int k = 0; k < NKINDS && !e; k++)
		if ((k != SYSV || r.cyc_key) && (k != MEMFD || r.rc.mfd_flags))
			e = setup(&r, k);
	for (int k = 0; k < NKINDS && !e; k++)
		if (r.ok[k])
			e = trace_kind(&r, k);
	teardown(&r);
	return e ? 1 : 0;
}
