/*
 * huge.c - huge pages in the command: --huge[=SIZE] for create, chan create and hold, the
 * messages that say why huge pages could not be had and how to get them, and the kernel's pools
 * of them, which df shows and the messages quote.
 */
#include "huge.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#define POOLS_DIR      "/sys/kernel/mm/hugepages"
#define THP_SIZE       "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"
#define HUGETLBFS_TYPE 0x958458f6

/* The number in file PATH; false when it cannot be read. */
static bool read_u64(const char *path, uint64_t *v)
{
	unsigned long long n;
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fscanf(f, "%llu", &n) == 1;
	fclose(f);
	if (ok)
		*v = n;
	return ok;
}

/* Pool DIR's counts into P; false when any is missing. */
static bool read_pool(const char *dir, struct huge_pool *p)
{
	static const char *const names[] = {"nr_hugepages", "free_hugepages", "resv_hugepages",
	                                    "surplus_hugepages"};
	uint64_t *fields[] = {&p->total, &p->free, &p->reserved, &p->surplus};
	char path[PATH_MAX];

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", POOLS_DIR, dir, names[i]);
		if (!read_u64(path, fields[i]))
			return false;
	}
	return true;
}

static int by_size(const void *a, const void *b)
{
	const struct huge_pool *x = a, *y = b;
	return (x->page_size > y->page_size) - (x->page_size < y->page_size);
}

size_t huge_pools(struct huge_pool *p, size_t max)
{
	DIR *d = opendir(POOLS_DIR);
	struct dirent *e;
	size_t n = 0;
	unsigned long long kb;
	char end;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		if (sscanf(e->d_name, "hugepages-%llukB%c", &kb, &end) != 1 || !kb)
			continue;
		p[n].page_size = (uint64_t)kb * 1024;
		n += read_pool(e->d_name, &p[n]);
	}
	closedir(d);
	qsort(p, n, sizeof(*p), by_size);
	return n;
}

/* The page size of the system's default pool (/proc/meminfo's Hugepagesize); 0 if none. */
static uint64_t default_size(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

/* The page sizes this machine has, pools' and transparent huge pages', into SIZES (room for
 * MAX), each once; how many. */
static size_t machine_sizes(uint64_t *sizes, size_t max)
{
	struct huge_pool p[16];
	size_t n = huge_pools(p, max < 16 ? max : 16), k = n;
	uint64_t thp;

	for (size_t i = 0; i < n; i++)
		sizes[i] = p[i].page_size;
	if (k < max && read_u64(THP_SIZE, &thp) && thp) {
		bool have = false;
		for (size_t i = 0; i < n; i++)
			have |= sizes[i] == thp;
		if (!have)
			sizes[k++] = thp;
	}
	return k;
}

/* "2M, 1G" for SIZES[0..N) into BUF. */
static const char *size_list(char *buf, size_t len, const uint64_t *sizes, size_t n)
{
	char one[32];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		                         cli_fmt_size(one, sizeof(one), sizes[i], false));
	return buf;
}

bool huge_option(const char *cmd, const char *arg, unsigned *flags)
{
	uint64_t size, sizes[17];
	char list[128];
	bool have = false;

	*flags = (*flags & ~(unsigned)PSHM_HUGE_MASK) | PSHM_HUGE;
	if (!arg)
		return true;
	if (!cli_size(cmd, "huge page size", arg, &size))
		return false;
	size_t n = machine_sizes(sizes, 17);
	for (size_t i = 0; i < n; i++)
		have |= sizes[i] == size;
	/* Without a list (no /sys), any power of two goes, and the library has the last word. */
	if (size == 0 || (size & (size - 1)) || (n && !have)) {
		if (n)
			cli_usage(cmd, "invalid huge page size '%s': this machine has %s", arg,
			          size_list(list, sizeof(list), sizes, n));
		else
			cli_usage(cmd, "invalid huge page size '%s': not a power of two", arg);
		return false;
	}
	*flags |= (unsigned)__builtin_ctzll(size) << PSHM_HUGE_SHIFT;
	return true;
}

/* The directory that holds ADDR's file, into BUF; NULL for System V and memfds. */
static const char *addr_dir(const char *addr, char *buf, size_t len)
{
	if (!strncmp(addr, "sysv:", 5) || !strncmp(addr, "memfd:", 6))
		return NULL;
	if (strncmp(addr, "file:", 5))
		return pshm_shm_dir();
	snprintf(buf, len, "%s", addr + 5);
	return dirname(buf);
}

/* Whether ADDR's pages come from a pool (System V, memfds, hugetlbfs) rather than from a
 * tmpfs's transparent huge pages; *DIRPS: a hugetlbfs directory's page size, else 0. */
static bool from_pool(const char *addr, uint64_t *dirps)
{
	char buf[PATH_MAX];
	struct statfs fs;
	const char *dir = addr_dir(addr, buf, sizeof(buf));

	*dirps = 0;
	if (!dir)
		return true;
	if (statfs(dir, &fs) < 0 || (unsigned long)fs.f_type != HUGETLBFS_TYPE)
		return false;
	*dirps = (uint64_t)fs.f_bsize;
	return true;
}

/* The page size FLAGS ask for: their size bits, else DIRPS (a hugetlbfs's), else the
 * system's default. */
static uint64_t asked_size(unsigned flags, uint64_t dirps)
{
	unsigned bits = (flags & PSHM_HUGE_MASK) >> PSHM_HUGE_SHIFT;
	if (bits)
		return (uint64_t)1 << bits;
	return dirps ? dirps : default_size();
}

/* For a directory that gives no huge pages: which, and how to have one that does. DIR is
 * addr_dir's. */
static void no_huge_dir(const char *op, const char *addr, const char *dir)
{
	if (strncmp(addr, "file:", 5)) {
		fprintf(stderr, "pshm: %s %s: the shm directory gives no huge pages\n", op,
		        cli_safe(addr));
		fprintf(stderr,
		        "pshm: mount a hugetlbfs (mount -t hugetlbfs none DIR), or a tmpfs with "
		        "huge=within_size, and set PSHM_DIR to it\n");
		return;
	}
	fprintf(stderr, "pshm: %s %s: %s gives no huge pages\n", op, cli_safe(addr), cli_safe(dir));
	fprintf(stderr, "pshm: put the file on a hugetlbfs, or on a tmpfs mounted with "
	                "huge=within_size\n");
}

/* How many pages of pool P a creation of SIZE bytes lacks: at least 1. */
static uint64_t lacking(const struct huge_pool *p, uint64_t size)
{
	uint64_t need = (size + p->page_size - 1) / p->page_size;
	uint64_t avail = p->free > p->reserved ? p->free - p->reserved : 0;
	return need > avail ? need - avail : 1;
}

/* For an empty or short pool of the page size asked for: its numbers, and how to grow it. */
static void pool_short(const char *op, const char *addr, uint64_t ps, uint64_t size)
{
	struct huge_pool pools[16], *p = NULL;
	size_t n = huge_pools(pools, 16);
	char s[32];

	for (size_t i = 0; i < n; i++)
		if (pools[i].page_size == ps)
			p = &pools[i];
	if (!p) {
		fprintf(stderr, "pshm: %s %s: not enough huge pages are free\n", op,
		        cli_safe(addr));
		return;
	}
	cli_fmt_size(s, sizeof(s), ps, false);
	if (p->total + p->surplus == 0)
		fprintf(stderr, "pshm: %s %s: the pool of %s huge pages is empty\n", op,
		        cli_safe(addr), s);
	else
		fprintf(stderr,
		        "pshm: %s %s: the pool of %s huge pages is short: %" PRIu64
		        " pages, %" PRIu64 " free, %" PRIu64 " of them reserved\n",
		        op, cli_safe(addr), s, p->total, p->free, p->reserved);
	uint64_t want = p->total + lacking(p, size);
	if (ps == default_size())
		fprintf(stderr, "pshm: grow it as root: sysctl vm.nr_hugepages=%" PRIu64 ", or ",
		        want);
	else
		fprintf(stderr, "pshm: grow it as root: ");
	fprintf(stderr, "echo %" PRIu64 " >%s/hugepages-%" PRIu64 "kB/nr_hugepages\n", want,
	        POOLS_DIR, ps / 1024);
}

bool huge_explain(const char *op, const char *addr, unsigned flags, uint64_t size, int err)
{
	uint64_t dirps;
	char s[32], buf[PATH_MAX];
	const char *dir;

	if (!(flags & PSHM_HUGE))
		return false;
	bool pool = from_pool(addr, &dirps);
	switch (err) {
	case -EOPNOTSUPP:
		/* System V and memfds: the operation's own (a channel needs a file). */
		if (!(dir = addr_dir(addr, buf, sizeof(buf))))
			return false;
		no_huge_dir(op, addr, dir);
		return true;
	case -ENOSPC:
	case -ENOMEM:
		if (!pool)
			return false; /* a tmpfs that is full: cli_fail says how full */
		pool_short(op, addr, asked_size(flags, dirps), size);
		return true;
	case -EINVAL:
		if (!dirps)
			return false;
		fprintf(stderr, "pshm: %s %s: its hugetlbfs has %s pages only\n", op,
		        cli_safe(addr), cli_fmt_size(s, sizeof(s), dirps, false));
		fprintf(stderr, "pshm: give --huge without a size, or mount a hugetlbfs with "
		                "pagesize= the size and set PSHM_DIR to it\n");
		return true;
	case -EPERM:
		if (strncmp(addr, "sysv:", 5))
			return false;
		fprintf(stderr, "pshm: %s %s: %s\n", op, cli_safe(addr), pshm_strerror(err));
		fprintf(stderr,
		        "pshm: System V segments of huge pages need CAP_IPC_LOCK, the group "
		        "of vm.hugetlb_shm_group, or a memlock limit (ulimit -l) as big\n");
		return true;
	}
	return false;
}
