/*
 * life.c - the life cycle of one object, per technique: through libpshm, and as the raw
 * libc calls that make the same system calls (bench/raw_cycle.h, which bench/bench_overhead.c
 * times the library against too).
 *
 *   create  lib: pshm_create pshm_map pshm_unmap pshm_close pshm_destroy_addr (memfd: no
 *                remove, the close ends it)
 *           raw: open(O_CREAT|O_EXCL) fchmod posix_fallocate fstat mmap munmap close, the
 *                look for a channel (open fstat pread close), unlink; shmget(IPC_CREAT|IPC_EXCL)
 *                IPC_STAT shmat shmdt shmget IPC_RMID; memfd_create fchmod posix_fallocate
 *                fstat mmap munmap close; a file's removal by address looks at the name
 *                (fstatat) before the unlink
 *   attach  lib: pshm_open pshm_map pshm_unmap pshm_close
 *           raw: open fstat fstat mmap munmap close; shmget IPC_STAT shmat shmdt; open of
 *                /proc/PID/fd/FD fstat readlink fstat mmap munmap close
 *
 * tests/trace/run.sh checks that both sides make the same system calls. The method is
 * bench_overhead's: batches of BATCH operations, the library's batch and the raw
 * batch back to back, which goes first alternating from one pair to the next (ABAB), so that
 * drift and order fall on both sides alike. A repetition is several such pairs; its figure for
 * each side is the median of its batches' time per operation, which a preemption landing in
 * one batch does not move. The row's median is over repetitions, and ratio_raw is the
 * library's median over the raw median.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raw_cycle.h"
#include "benchutil.h"

#define BATCH 20

struct life {
	int kind;
	struct raw_cycle rc;
	char cyc_addr[PATH_MAX + 8], cyc_path[PATH_MAX]; /* made and removed by every create */
	key_t cyc_key;
	int cyc_slot;
	struct bench_seg att; /* the object every attach opens */
	char att_path[PATH_MAX];
	key_t att_key;
};

/* ---- one operation, either way --------------------------------------------------------- */

static int lib_create(const struct life *l)
{
	return bench_lib_create(l->cyc_addr, l->rc.size, 0600, 0, l->kind != BK_MEMFD);
}

static int lib_attach(const struct life *l)
{
	return bench_lib_attach(l->att.addr, l->rc.size);
}

static int raw_create(const struct life *l)
{
	switch (l->kind) {
	case BK_POSIX:
		return raw_fd_create(&l->rc, l->cyc_path, false);
	case BK_FILE:
		return raw_fd_create(&l->rc, l->cyc_path, true);
	case BK_SYSV:
		return raw_sysv_create(&l->rc, l->cyc_key);
	default:
		return raw_memfd_create(&l->rc);
	}
}

static int raw_attach(const struct life *l)
{
	switch (l->kind) {
	case BK_POSIX:
	case BK_FILE:
		return raw_fd_attach(&l->rc, l->att_path);
	case BK_SYSV:
		return raw_sysv_attach(&l->rc, l->att_key);
	default:
		return raw_memfd_attach(&l->rc, l->att_path);
	}
}

/* BATCH operations of one side; the time per operation in microseconds, or a negative errno. */
static int batch(const struct life *l, bool create, bool lib, double *us)
{
	double t0 = bench_now();
	for (int i = 0; i < BATCH; i++) {
		int r = create ? (lib ? lib_create(l) : raw_create(l))
		               : (lib ? lib_attach(l) : raw_attach(l));
		if (r)
			return r;
	}
	*us = (bench_now() - t0) * 1e6 / BATCH;
	return 0;
}

/* ---- setting up -------------------------------------------------------------------------- */

/* BUF = A followed by B: 0, or -ENAMETOOLONG when it does not fit. Not inlined: gcc would
 * see two fields of one array and warn that they might overlap. */
__attribute__((noinline)) static int join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Names for the objects the creates make, registered; the object the attaches open, made. */
static int setup(struct life *l, const struct bench_machine *m, uint64_t size)
{
	char name[PATH_MAX];

	l->rc.size = size;
	l->rc.sparse = false;
	l->rc.mfd_flags = raw_memfd_flags();
	l->cyc_slot = -1;
	int r = bseg_create(&l->att, l->kind, m, size, 0);
	if (r)
		return r;
	switch (l->kind) {
	case BK_POSIX:
		r = bench_name(name, sizeof(name), NULL);
		if (!r)
			r = join(l->cyc_addr, sizeof(l->cyc_addr), "", name);
		if (!r)
			r = join(l->cyc_path, sizeof(l->cyc_path), m->shm_dir, name);
		if (!r)
			r = join(l->att_path, sizeof(l->att_path), m->shm_dir, l->att.addr);
		break;
	case BK_FILE:
		r = bench_name(name, sizeof(name), m->file_dir);
		if (!r)
			r = join(l->cyc_path, sizeof(l->cyc_path), "", name);
		if (!r)
			r = join(l->cyc_addr, sizeof(l->cyc_addr), "file:", name);
		if (!r)
			r = join(l->att_path, sizeof(l->att_path), "", l->att.addr + 5);
		break;
	case BK_SYSV:
		r = bench_key(&l->cyc_key, &l->cyc_slot);
		l->att_key = (key_t)strtoul(l->att.addr + 5, NULL, 16);
		snprintf(l->cyc_addr, sizeof(l->cyc_addr), "sysv:0x%08x", (unsigned)l->cyc_key);
		return r;
	default:
		if (!l->rc.mfd_flags)
			return -errno;
		snprintf(l->cyc_addr, sizeof(l->cyc_addr), "memfd:");
		/* The address names this process's descriptor: "memfd:PID:FD". */
		r = join(l->att.addr, sizeof(l->att.addr), "", pshm_address(l->att.seg));
		snprintf(l->att_path, sizeof(l->att_path), "/proc/%d/fd/%d", (int)getpid(),
		         pshm_fd(l->att.seg));
		return r;
	}
	if (!r && (l->cyc_slot = reg_path(l->cyc_path)) < 0)
		r = l->cyc_slot;
	return r;
}

static void teardown(struct life *l)
{
	bseg_destroy(&l->att);
	reg_remove(l->cyc_slot);
	l->cyc_slot = -1;
}

/* ---- measuring --------------------------------------------------------------------------- */

static const char *const variants[2] = {"create", "attach"};

/*
 * One repetition of every live row: PAIRS library/raw pairs, alternating which side goes
 * first. Rows that fail are reported and marked dead. REP < 0 is the warm-up, not recorded.
 */
static void repetition(struct life *lives, int nl, bool dead[][2], int pairs, int rep, double *lib,
                       double *raw, const struct bench_opts *o, const struct bench_machine *m)
{
	for (int p = 0; p < pairs && !bench_stop; p++) {
		for (int i = 0; i < nl; i++) {
			for (int v = 0; v < 2; v++) {
				if (dead[i][v])
					continue;
				for (int half = 0; half < 2; half++) {
					bool side_lib = (half == 0) == ((p + rep) % 2 == 0);
					double us;
					int r = batch(&lives[i], v == 0, side_lib, &us);
					if (r) {
						char why[320];
						bench_explain(why, sizeof(why), m, lives[i].kind, r,
						              o->life_size);
						bench_fail(BS_LIFECYCLE, lives[i].kind, variants[v],
						           "%s (%s side)", why,
						           side_lib ? "library" : "raw");
						dead[i][v] = true;
						break;
					}
					(side_lib ? lib : raw)[(i * 2 + v) * pairs + p] = us;
				}
			}
		}
	}
	if (rep < 0 || bench_stop)
		return;
	for (int i = 0; i < nl; i++)
		for (int v = 0; v < 2; v++)
			if (!dead[i][v])
				bench_add(BS_LIFECYCLE, lives[i].kind, variants[v], o->life_size,
				          bench_median(lib + (i * 2 + v) * pairs, pairs),
				          bench_median(raw + (i * 2 + v) * pairs, pairs));
}

void bench_lifecycle(const struct bench_opts *o, const struct bench_machine *m)
{
	struct life lives[BK_SHM_N];
	bool dead[BK_SHM_N][2] = {{false}};
	int nl = 0;

	for (int k = 0; k < BK_SHM_N; k++) {
		if (!(o->kinds & (1u << k)))
			continue;
		if (!m->ok[k]) {
			for (int v = 0; v < 2; v++)
				bench_gap(BS_LIFECYCLE, k, variants[v], "%s", m->why[k]);
			continue;
		}
		struct life *l = &lives[nl];
		memset(l, 0, sizeof(*l));
		l->kind = k;
		int r = setup(l, m, o->life_size);
		if (r) {
			char why[320];
			bench_explain(why, sizeof(why), m, k, r, o->life_size);
			for (int v = 0; v < 2; v++)
				bench_fail(BS_LIFECYCLE, k, variants[v], "setting up: %s", why);
			teardown(l);
			continue;
		}
		nl++;
	}
	size_t cells = (size_t)nl * 2 * (size_t)o->life_pairs;
	double *lib = calloc(cells ? cells : 1, sizeof(double));
	double *raw = calloc(cells ? cells : 1, sizeof(double));
	if (!lib || !raw) {
		for (int i = 0; i < nl; i++)
			for (int v = 0; v < 2; v++)
				bench_fail(BS_LIFECYCLE, lives[i].kind, variants[v],
				           "out of memory");
		nl = 0;
	}
	for (int rep = -1; rep < o->reps && nl && !bench_stop; rep++) {
		bench_progress("life cycles, repetition %d of %d", rep + 1, o->reps);
		repetition(lives, nl, dead, o->life_pairs, rep, lib, raw, o, m);
	}
	for (int i = 0; i < nl; i++)
		teardown(&lives[i]);
	free(lib);
	free(raw);
}
