/*
 * touch.c - what memory costs once an object exists: the first write to each page, the
 * write bandwidth after that, and making a rewrite durable with msync.
 *
 * First touch: a sparse object of the region's size is made and mapped (not timed); then one
 * byte is written to every 4 KiB page, and the time over the number of pages is the figure.
 *   plain      nothing before the writes: each page is allocated by its first write
 *   populate   the mapping is made with MAP_POPULATE (System V: MADV_POPULATE_WRITE), timed
 *              with the writes; a shared file mapping is populated for reading, so its pages
 *              still fault on the first write
 *   fallocate  posix_fallocate of the whole object, timed with the writes (System V has no
 *              descriptor: not applicable)
 *   hugepages  huge pages where the system offers them: hugetlb pages (SHM_HUGETLB,
 *              MFD_HUGETLB, a hugetlbfs directory), else transparent huge pages for shmem,
 *              checked afterwards in /proc/self/smaps; otherwise "unavailable" and why
 * Bandwidth: memset of the whole region, faulted already, repeated for the target time.
 * Persistence: the region is rewritten with memset, alone and followed by msync(MS_SYNC); each
 * measurement starts from a synced mapping, so that on the file both find clean pages.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { V_PLAIN, V_POPULATE, V_FALLOCATE, V_HUGE, V_N };
static const char *const vnames[V_N] = {"plain", "populate", "fallocate", "hugepages"};

/* What one guarded write loop works on. */
struct span {
	volatile unsigned char *p;
	size_t len;
	unsigned char val;
};

static void touch_pages(void *arg)
{
	struct span *s = arg;
	for (size_t off = 0; off < s->len; off += BENCH_PAGE)
		s->p[off] = s->val;
}

static void fill(void *arg)
{
	struct span *s = arg;
	memset((void *)s->p, s->val, s->len);
}

/* Time the first write to every page of P[0..LEN): microseconds per 4 KiB page, since T0. */
static int timed_touch(void *p, size_t len, double t0, double *us)
{
	struct span s = {p, len, 0x5a};
	int r = bench_guard(touch_pages, &s);
	*us = (bench_now() - t0) * 1e6 / (double)(len / BENCH_PAGE);
	return r;
}

/* Bandwidth of memset over the faulted P[0..LEN), in GB/s, passes repeated for SECS. */
static int bandwidth(void *p, size_t len, double secs, double *gbps)
{
	struct span s = {p, len, 0};
	int passes = 0, r = 0;
	double t0 = bench_now(), t;
	do {
		s.val = (unsigned char)(passes + 1);
		r = bench_guard(fill, &s);
		passes++;
		t = bench_now() - t0;
	} while (!r && (t < secs || passes < 2) && !bench_stop);
	*gbps = (double)len * passes / t / 1e9;
	return r;
}

/* ---- huge pages -------------------------------------------------------------------------- */

/* Why the pool could not be grown for the run ("" when it was not needed or it was). */
static char pool_why[224];

/* A reason into BUF; a path too long for it is cut short. */
static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* The THP setting that rules KIND's pages here ("never" when none does), and why in WHY. */
static const char *thp_policy(const struct bench_machine *m, int kind, char *why, size_t wlen)
{
	static char word[32];
	char top[32] = "";
	const char *a = strchr(m->thp_shmem, '['), *b = a ? strchr(a, ']') : NULL;
	if (a && b)
		snprintf(top, sizeof(top), "%.*s", (int)(b - a - 1), a + 1);
	if (!top[0]) {
		snprintf(why, wlen, "this kernel has no transparent huge pages for shmem");
		return "never";
	}
	if (!strcmp(top, "force") || !strcmp(top, "deny")) {
		snprintf(why, wlen, "THP for shmem is %s (shmem_enabled=%s)",
		         top[0] == 'f' ? "forced on" : "denied", top);
		return top[0] == 'f' ? "force" : "never";
	}
	if (kind == BK_SYSV || kind == BK_MEMFD) {
		const char *w = m->thp_shmem_2m[0] && strcmp(m->thp_shmem_2m, "inherit")
		                    ? m->thp_shmem_2m
		                    : top;
		snprintf(word, sizeof(word), "%.31s", w);
		snprintf(why, wlen,
		         "THP for shmem is off (transparent_hugepage/shmem_enabled=%s); "
		         "set it to advise or within_size",
		         word);
		return word;
	}
	const char *dir = kind == BK_POSIX ? m->shm_dir : m->file_dir;
	const char *fs = kind == BK_POSIX ? m->shm_fs : m->file_fs;
	const char *huge = kind == BK_POSIX ? m->shm_huge : m->file_huge;
	if (strcmp(fs, "tmpfs")) {
		say(why, wlen,
		    "%s is on %s, which gives shared mappings no huge pages (a tmpfs mounted with "
		    "huge= or a hugetlbfs does)",
		    dir, fs);
		return "never";
	}
	snprintf(word, sizeof(word), "%.31s", huge[0] ? huge : "never");
	say(why, wlen, "%s is a tmpfs mounted %s (mount -o remount,huge=within_size %s%s)", dir,
	    huge[0] ? "with huge=never" : "without huge=", dir,
	    kind == BK_POSIX ? ", or point PSHM_DIR at a hugetlbfs mount" : "");
	return word;
}

/* KiB of P's mapping that are mapped with huge pages (PMDs), from /proc/self/smaps. */
static long pmd_kib(const void *p)
{
	char line[512];
	unsigned long start, end, addr = (unsigned long)p;
	bool in = false;
	long kib = 0;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start == addr;
			continue;
		}
		if (in &&
		    (!strncmp(line, "ShmemPmdMapped:", 15) || !strncmp(line, "FilePmdMapped:", 14)))
			kib += strtol(strchr(line, ':') + 1, NULL, 10);
	}
	fclose(f);
	return kib;
}

/*
 * Huge pages from the hugetlb pool: System V and memfd through the library's PSHM_HUGE, a
 * hugetlbfs directory by being one. Nothing fills the pages before the writes (a memfd or file
 * made without PSHM_SPARSE would be fallocated, its pages allocated at create), but they are
 * reserved all the same, by shmget or by mmap, so a short pool fails there (-ENOMEM or
 * -ENOSPC), not with SIGBUS at the first write.
 */
static int tlb_touch(const struct bench_machine *m, int kind, size_t len, double *us)
{
	struct bench_seg b;
	int r = bseg_create(&b, kind, m, len, PSHM_HUGE | (kind == BK_SYSV ? 0 : PSHM_SPARSE));
	if (!r)
		r = bseg_map(&b, 0);
	if (!r)
		r = timed_touch(b.map, b.len, bench_now(), us);
	bseg_destroy(&b);
	return r == -ENOSPC ? -ENOMEM : r;
}

/* Transparent huge pages: the mapping asks for them, and smaps says whether it got any. */
static int thp_touch(const struct bench_machine *m, int kind, size_t len, double *us, bool *got)
{
	struct bench_seg b;
	int r = bseg_create(&b, kind, m, len, PSHM_SPARSE);
	if (!r)
		r = bseg_map(&b, 0);
	if (!r) {
		madvise(b.map, b.len, MADV_HUGEPAGE);
		r = timed_touch(b.map, b.len, bench_now(), us);
		*got = pmd_kib(b.map) > 0;
	}
	bseg_destroy(&b);
	return r;
}

/*
 * 0 with *US set, a negative errno, or 1 when huge pages cannot be had (WHY says why). The
 * region is rounded up to whole huge pages: *SIZE.
 */
static int huge_touch(const struct bench_opts *o, const struct bench_machine *m, int kind,
                      double *us, uint64_t *size, char *why, size_t wlen)
{
	uint64_t hs = m->huge_size ? m->huge_size : 2u << 20;
	size_t len = (size_t)((o->region + hs - 1) / hs * hs);
	*size = len;
	char tlb[288] = "", thp[256];
	bool fs_tlb = (kind == BK_POSIX && !strcmp(m->shm_fs, "hugetlbfs")) ||
	              (kind == BK_FILE && !strcmp(m->file_fs, "hugetlbfs"));

	if (kind == BK_SYSV || kind == BK_MEMFD || fs_tlb) {
		long free_now = bench_meminfo("HugePages_Free");
		int r = free_now >= (long)(len / hs) ? tlb_touch(m, kind, len, us) : -ENOMEM;
		/* Not enough pages (taken since, perhaps), or not allowed: try THP instead. */
		if (r != -ENOMEM && r != -EPERM && r != -EACCES)
			return r;
		if (r == -ENOMEM)
			snprintf(tlb, sizeof(tlb),
			         "no free huge pages (HugePages_Free=%ld, %zu needed: %s)",
			         free_now, len / hs,
			         pool_why[0] ? pool_why : "set vm.nr_hugepages");
		else
			snprintf(tlb, sizeof(tlb), "hugetlb pages refused (%s%s)", pshm_strerror(r),
			         kind == BK_SYSV ? "; SHM_HUGETLB needs CAP_IPC_LOCK or the group "
			                           "vm.hugetlb_shm_group"
			                         : "");
		if (fs_tlb) {
			snprintf(why, wlen, "%s", tlb);
			return 1;
		}
	}
	const char *policy = thp_policy(m, kind, thp, sizeof(thp));
	if (!strcmp(policy, "never")) {
		snprintf(why, wlen, "%s%s%s", tlb, tlb[0] ? ", and " : "", thp);
		return 1;
	}
	bool got = false;
	int r = thp_touch(m, kind, len, us, &got);
	if (!r && !got) {
		snprintf(why, wlen,
		         "%s%sTHP is allowed (%s) but the kernel gave this mapping no huge page",
		         tlb, tlb[0] ? ", and " : "", policy);
		return 1;
	}
	return r;
}

/* ---- first touch and bandwidth ----------------------------------------------------------- */

/*
 * One figure of KIND and VARIANT over a region of *SIZE bytes: 0, a negative errno, or 1 when
 * not applicable (WHY says why). After the plain variant, the bandwidth too (GBPS not NULL).
 */
static int first_touch(const struct bench_opts *o, const struct bench_machine *m, int kind, int v,
                       double *us, double *gbps, uint64_t *size, char *why, size_t wlen)
{
	struct bench_seg b;

	*size = o->region;
	if (v == V_HUGE)
		return huge_touch(o, m, kind, us, size, why, wlen);
	if (v == V_FALLOCATE && kind == BK_SYSV) {
		snprintf(why, wlen,
		         "a System V segment has no descriptor to fallocate "
		         "(shmget reserves swap space instead, unless SHM_NORESERVE)");
		return 1;
	}
	int r = bseg_create(&b, kind, m, o->region, PSHM_SPARSE);
	if (!r && v != V_POPULATE)
		r = bseg_map(&b, 0);
	double t0 = bench_now();
	if (!r && v == V_POPULATE)
		r = bseg_map(&b, PSHM_POPULATE);
	while (!r && v == V_FALLOCATE) {
		r = -posix_fallocate(pshm_fd(b.seg), 0, (off_t)b.len);
		if (r != -EINTR)
			break;
		r = 0;
	}
	if (!r)
		r = timed_touch(b.map, b.len, t0, us);
	if (!r && v == V_PLAIN && gbps)
		r = bandwidth(b.map, b.len, o->target / 2, gbps);
	bseg_destroy(&b);
	return r;
}

/*
 * Lend the run the 2 MiB pages that the hugepages variant takes from the pool (one region at a
 * time), when it measures System V, memfd or a directory on hugetlbfs.
 */
static void reserve_pool(const struct bench_opts *o, const struct bench_machine *m)
{
	unsigned tlb = 1u << BK_SYSV | 1u << BK_MEMFD;
	if (!strcmp(m->shm_fs, "hugetlbfs"))
		tlb |= 1u << BK_POSIX;
	if (!strcmp(m->file_fs, "hugetlbfs"))
		tlb |= 1u << BK_FILE;
	bool want = false;
	for (int k = 0; k < BK_SHM_N; k++)
		want |= (o->kinds & tlb & (1u << k)) && m->ok[k];
	if (!want || m->huge_size != 2u << 20)
		return;
	if (bench_pool_reserve((long)((o->region + m->huge_size - 1) / m->huge_size), pool_why,
	                       sizeof(pool_why)) == 0)
		pool_why[0] = '\0';
}

void bench_touch(const struct bench_opts *o, const struct bench_machine *m)
{
	reserve_pool(o, m);
	for (int k = 0; k < BK_SHM_N; k++) {
		if (!(o->kinds & (1u << k)) || m->ok[k])
			continue;
		for (int v = 0; v < V_N; v++)
			bench_gap(BS_FIRST_TOUCH, k, vnames[v], "%s", m->why[k]);
		bench_gap(BS_BANDWIDTH, k, "write", "%s", m->why[k]);
	}
	for (int rep = -1; rep < o->reps && !bench_stop; rep++) {
		bench_progress("first touch, repetition %d of %d", rep + 1, o->reps);
		for (int i = 0; i < BK_SHM_N && !bench_stop; i++) {
			int k = rep % 2 ? BK_SHM_N - 1 - i : i; /* each way round in turn */
			if (!(o->kinds & (1u << k)) || !m->ok[k])
				continue;
			for (int v = 0; v < V_N && !bench_stop; v++) {
				double us = 0, gbps = 0;
				uint64_t size;
				char why[320] = "";
				if (bench_failed(BS_FIRST_TOUCH, k, vnames[v]))
					continue;
				int r =
				    first_touch(o, m, k, v, &us, &gbps, &size, why, sizeof(why));
				if (bench_stop)
					break;
				if (r == 1) {
					bench_gap(BS_FIRST_TOUCH, k, vnames[v], "%s", why);
				} else if (r) {
					bench_explain(why, sizeof(why), m, k, r, o->region);
					bench_fail(BS_FIRST_TOUCH, k, vnames[v], "%s", why);
					if (v == V_PLAIN)
						bench_fail(BS_BANDWIDTH, k, "write", "%s", why);
				} else if (rep >= 0) {
					bench_add(BS_FIRST_TOUCH, k, vnames[v], size, us, NAN);
					if (v == V_PLAIN)
						bench_add(BS_BANDWIDTH, k, "write", o->region, gbps,
						          NAN);
				}
			}
		}
	}
	bench_pool_restore();
}

/* ---- persistence ------------------------------------------------------------------------- */

/* Rewrite B's region (and msync it when SYNC), from a synced state: milliseconds. */
static int rewrite(struct bench_seg *b, bool sync, unsigned char val, double *ms)
{
	struct span s = {b->map, b->len, val};
	if (msync(b->map, b->len, MS_SYNC) < 0)
		return -errno;
	double t0 = bench_now();
	int r = bench_guard(fill, &s);
	if (!r && sync && msync(b->map, b->len, MS_SYNC) < 0)
		r = -errno;
	*ms = (bench_now() - t0) * 1e3;
	return r;
}

/* One repetition of KIND: both variants, in turn one way round and the other. */
static void persist_rep(struct bench_seg *b, bool *live, int kind, int rep,
                        const struct bench_opts *o, const struct bench_machine *m)
{
	static const char *const pv[2] = {"rewrite", "rewrite+msync"};
	char why[320];

	for (int j = 0; j < 2 && *live; j++) {
		int v = rep % 2 ? 1 - j : j;
		double ms = 0;
		int r = rewrite(b, v == 1, (unsigned char)(rep + 3), &ms);
		if (r) {
			bench_explain(why, sizeof(why), m, kind, r, o->region);
			bench_fail(BS_PERSISTENCE, kind, pv[0], "%s", why);
			bench_fail(BS_PERSISTENCE, kind, pv[1], "%s", why);
			*live = false;
		} else if (rep >= 0) {
			bench_add(BS_PERSISTENCE, kind, pv[v], o->region, ms, NAN);
		}
	}
}

/* A synced, faulted region of KIND for the persistence section: 0 or a negative errno. */
static int persist_setup(struct bench_seg *b, int kind, const struct bench_opts *o,
                         const struct bench_machine *m)
{
	int r = bseg_create(b, kind, m, o->region, 0);
	if (!r)
		r = bseg_map(b, 0);
	if (!r) {
		struct span s = {b->map, b->len, 1};
		r = bench_guard(fill, &s);
	}
	if (r)
		bseg_destroy(b);
	return r;
}

void bench_persistence(const struct bench_opts *o, const struct bench_machine *m)
{
	/*
	 * The memory objects take turns, and the file comes after them: the writeback that an
	 * msync of the file sets off (journal commits, the device) goes on for a while, and would
	 * slow whatever is timed next.
	 */
	static const int order[2][BK_SHM_N] = {{BK_POSIX, BK_SYSV, BK_MEMFD, BK_FILE},
	                                       {BK_MEMFD, BK_SYSV, BK_POSIX, BK_FILE}};
	struct bench_seg segs[BK_SHM_N];
	bool live[BK_SHM_N] = {false};
	char why[320];

	for (int k = 0; k < BK_SHM_N; k++) {
		if (!(o->kinds & (1u << k)))
			continue;
		int r = m->ok[k] ? persist_setup(&segs[k], k, o, m) : 0;
		if (!m->ok[k]) {
			bench_gap(BS_PERSISTENCE, k, "rewrite", "%s", m->why[k]);
			bench_gap(BS_PERSISTENCE, k, "rewrite+msync", "%s", m->why[k]);
		} else if (r) {
			bench_explain(why, sizeof(why), m, k, r, o->region);
			bench_fail(BS_PERSISTENCE, k, "rewrite", "%s", why);
			bench_fail(BS_PERSISTENCE, k, "rewrite+msync", "%s", why);
		}
		live[k] = m->ok[k] && !r;
	}
	for (int phase = 0; phase < 2; phase++) {
		for (int rep = -1; rep < o->reps && !bench_stop; rep++) {
			bench_progress("persistence, repetition %d of %d", rep + 1, o->reps);
			for (int i = 0; i < BK_SHM_N && !bench_stop; i++) {
				int k = order[rep % 2 != 0][i];
				if (live[k] && (k == BK_FILE) == (phase == 1))
					persist_rep(&segs[k], &live[k], k, rep, o, m);
			}
		}
	}
	for (int k = 0; k < BK_SHM_N; k++)
		if (o->kinds & (1u << k) && m->ok[k])
			bseg_destroy(&segs[k]);
}
