/*
 * huge.c - huge pages (PSHM_HUGE): the size a create asks for, what page size a file system
 * gives its files (hugetlbfs: its own; tmpfs mounted with huge=: the PMD size), and the page
 * size pshm_stat() reports. Only reads: the system calls that make objects stay in the
 * techniques and sys.c.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#define HUGETLBFS_MAGIC 0x958458f6
#define TMPFS_MAGIC     0x01021994

uint64_t pshm__base_page(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (uint64_t)p : 4096;
}

uint64_t pshm__round_up(uint64_t size, uint64_t page)
{
	if (page <= 1 || size % page == 0)
		return size;
	uint64_t r = size - size % page + page;
	return r < size ? UINT64_MAX : r; /* an overflow: the caller's size check fails */
}

/* The first number after KEY in the file PATH, times MUL; 0 when there is none. */
static uint64_t read_number(const char *path, const char *key, uint64_t mul)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f;
	size_t klen = strlen(key);

	if (pshm__fopen_read(path, &f))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && sscanf(line + klen, "%llu", &v) == 1)
			break;
	pshm__fclose(f);
	return (uint64_t)v * mul;
}

/* Whether the system keeps a pool of huge pages of SIZE bytes. */
static bool have_pool(uint64_t size)
{
	char path[96];
	struct stat sb;
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB",
	         (unsigned long long)(size >> 10));
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int pshm__huge_size(unsigned flags, uint64_t *sizep)
{
	unsigned bits = (flags & PSHM_HUGE_MASK) >> PSHM_HUGE_SHIFT;
	if (bits == 0) {
		*sizep = read_number("/proc/meminfo", "Hugepagesize:", 1024);
		return *sizep ? 0 : -EOPNOTSUPP; /* a kernel without huge pages */
	}
	if (bits < 12 || bits > 40)
		return -EINVAL;
	*sizep = (uint64_t)1 << bits;
	return have_pool(*sizep) ? 0 : -EINVAL;
}

int pshm__huge_round(unsigned flags, uint64_t *sizep)
{
	uint64_t page;
	int r = pshm__huge_size(flags, &page);
	if (!r)
		*sizep = pshm__round_up(*sizep, page);
	return r;
}

/*
 * Read a file of /proc line by line, calling LINE_FN with each line, whole however long, until
 * it returns true; returns its last value. Lines are never cut into pieces, since a piece of a
 * path (a mount point, a mapped file's name), which any user may choose, could otherwise read
 * as a line of its own.
 */
static bool proc_lines(FILE *f, bool (*line_fn)(const char *line, void *arg), void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	bool stop = false;

	while (!stop && getline(&line, &cap, f) > 0)
		stop = line_fn(line, arg);
	free(line);
	return stop;
}

struct mount_look {
	dev_t dev;
	bool huge;
};

static bool mount_line(const char *line, void *arg)
{
	struct mount_look *m = arg;
	unsigned maj, min;

	if (sscanf(line, "%*d %*d %u:%u", &maj, &min) != 2 || makedev(maj, min) != m->dev)
		return false;
	const char *opts = strstr(line, " - ");
	m->huge = opts && (strstr(opts, ",huge=always") || strstr(opts, ",huge=within_size") ||
	                   strstr(opts, ",huge=advise"));
	return m->huge;
}

/*
 * Whether the tmpfs with device DEV is mounted with huge pages (huge=always, within_size or
 * advise among its options in /proc/self/mountinfo).
 */
static bool tmpfs_huge(dev_t dev)
{
	struct mount_look m = {dev, false};
	FILE *f;

	if (pshm__fopen_read("/proc/self/mountinfo", &f))
		return false;
	proc_lines(f, mount_line, &m);
	pshm__fclose(f);
	return m.huge;
}

/* The page size a file system (*SF, device DEV) gives its files; *THP: by a tmpfs huge=. */
static uint64_t fs_page(const struct statfs *sf, dev_t dev, bool *thp)
{
	*thp = false;
	if ((uint32_t)sf->f_type == HUGETLBFS_MAGIC && sf->f_bsize > 0)
		return (uint64_t)sf->f_bsize;
	if ((uint32_t)sf->f_type == TMPFS_MAGIC && tmpfs_huge(dev)) {
		uint64_t pmd =
		    read_number("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "", 1);
		*thp = pmd > 0;
		if (*thp)
			return pmd;
	}
	return pshm__base_page();
}

uint64_t pshm__map_unit(int fd)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0 && (uint32_t)sf.f_type == HUGETLBFS_MAGIC && sf.f_bsize > 0)
		return (uint64_t)sf.f_bsize;
	return pshm__base_page();
}

uint64_t pshm__fd_page(int fd, bool *thp)
{
	struct statfs sf;
	struct stat sb;
	bool own;
	if (fstatfs(fd, &sf) < 0 || fstat(fd, &sb) < 0)
		return 0;
	return fs_page(&sf, sb.st_dev, thp ? thp : &own);
}

uint64_t pshm__path_page(const char *path, bool *thp)
{
	struct statfs sf;
	struct stat sb;
	bool own;
	if (statfs(path, &sf) < 0 || stat(path, &sb) < 0)
		return 0;
	return fs_page(&sf, sb.st_dev, thp ? thp : &own);
}

int pshm__huge_dir(const char *dir, unsigned flags, uint64_t *pagep, bool *thp)
{
	uint64_t page = pshm__path_page(dir, thp);
	if (page == 0)
		return -errno;
	if (page <= pshm__base_page())
		return -EOPNOTSUPP; /* no huge pages there */
	unsigned bits = (flags & PSHM_HUGE_MASK) >> PSHM_HUGE_SHIFT;
	if (bits && page != (uint64_t)1 << bits)
		return -EINVAL; /* the file system gives pages of another size */
	*pagep = page;
	return 0;
}

int pshm__huge_path_dir(const char *path, unsigned flags, uint64_t *pagep, bool *thp)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (!slash)
		memcpy(dir, ".", 2);
	else if (n == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	return pshm__huge_dir(dir, flags, pagep, thp);
}

/* The segment identifier of a mapping's line, "start-end perms offset dev inode path", when
 * it maps a System V segment (the kernel gives its file the identifier as inode, and a path
 * "/SYSV<key>"); else -1. */
static int sysv_line_id(const char *line)
{
	unsigned long long ino;
	if (sscanf(line, "%*x-%*x %*s %*s %*s %llu", &ino) != 1 || ino > INT32_MAX ||
	    !strstr(line, " /SYSV"))
		return -1;
	return (int)ino;
}

struct smaps_scan {
	struct pshm__sysv_pages *c;
	int id; /* the System V mapping being read, or -1 */
};

static bool smaps_line(const char *line, void *arg)
{
	struct smaps_scan *sc = arg;
	struct pshm__sysv_pages *c = sc->c;
	unsigned long long ino, kb;

	if (sscanf(line, "%*x-%*x %*s %*s %*s %llu", &ino) == 1) {
		sc->id = sysv_line_id(line); /* a mapping's first line: its fields follow */
		return false;
	}
	if (sc->id >= 0 && sscanf(line, "KernelPageSize: %llu kB", &kb) == 1) {
		if (c->n < (int)(sizeof(c->seg) / sizeof(c->seg[0]))) {
			c->seg[c->n].id = sc->id;
			c->seg[c->n].page = (uint64_t)kb * 1024;
			c->n++;
		}
		sc->id = -1;
	}
	return false;
}

/* Read the System V mappings of process PID (0: this one) from its smaps into C: each one's
 * identifier and page size. A process that cannot be looked into adds nothing. */
static void smaps_read(struct pshm__sysv_pages *c, pid_t pid)
{
	char path[64];
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/smaps");
	if (pshm__fopen_read(path, &f))
		return;
	struct smaps_scan sc = {c, -1};
	proc_lines(f, smaps_line, &sc);
	pshm__fclose(f);
}

/* The page size of segment ID among those read from the processes in C, or 0. */
static uint64_t smaps_find(const struct pshm__sysv_pages *c, int id)
{
	for (int i = 0; i < c->n; i++)
		if (c->seg[i].id == id)
			return c->seg[i].page;
	return 0;
}

struct maps_scan {
	const struct pshm__sysv_pages *c;
	bool unknown; /* a System V mapping whose page size C does not have yet */
};

static bool maps_line(const char *line, void *arg)
{
	struct maps_scan *m = arg;
	int id = sysv_line_id(line);
	m->unknown = id >= 0 && !smaps_find(m->c, id);
	return m->unknown;
}

/*
 * Look through every process this one may look into: one whose maps show a System V segment
 * that C does not have yet has its smaps read. The maps come first because they cost the
 * kernel no walk of the page tables, which every process's smaps would.
 */
static void scan_all(struct pshm__sysv_pages *c)
{
	struct dirent *d;
	DIR *proc;

	c->scanned = true;
	if (pshm__opendir("/proc", &proc))
		return;
	while ((d = readdir(proc))) {
		char *end, path[64];
		long pid = strtol(d->d_name, &end, 10);
		FILE *f;
		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
		if (pshm__fopen_read(path, &f))
			continue;
		struct maps_scan m = {c, false};
		proc_lines(f, maps_line, &m);
		pshm__fclose(f);
		if (m.unknown)
			smaps_read(c, (pid_t)pid);
	}
	pshm__closedir(proc);
}

/*
 * The page size of System V segment ID, attached NATTCH times, created by CPID and last
 * attached or detached by LPID: from the smaps of this process, LPID or CPID, whichever has it
 * attached, or else of any process that has (scan_all, once per C); 0 when no process this
 * one may look into has it attached. C keeps what each process's smaps said, for the next
 * segment.
 */
uint64_t pshm__sysv_page(struct pshm__sysv_pages *c, int id, uint64_t nattch, pid_t cpid,
                         pid_t lpid)
{
	pid_t who[3] = {0, lpid, cpid};
	uint64_t page = 0;

	if (!nattch)
		return 0;
	for (int k = 0; k < 3 && !page; k++) {
		pid_t pid = who[k];
		if (k && (pid <= 0 || pid == getpid() || (k == 2 && pid == lpid)))
			continue;
		bool read = false;
		for (int i = 0; i < c->npid && !read; i++)
			read = c->pid[i] == pid;
		if (!read && c->npid < (int)(sizeof(c->pid) / sizeof(c->pid[0]))) {
			c->pid[c->npid++] = pid;
			smaps_read(c, pid);
		}
		page = smaps_find(c, id);
	}
	if (!page) {
		if (!c->scanned)
			scan_all(c);
		page = smaps_find(c, id);
	}
	return page;
}
