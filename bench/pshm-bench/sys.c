/*
 * sys.c - the machine a pshm-bench run measures, and which techniques it offers.
 *
 * The facts go in the report's header. The probes make one page of each technique (registered
 * for clean-up like everything else) so that a technique the system lacks, a shm directory that
 * does not exist or a file directory that cannot be written is found once, up front, and the
 * report can say "unavailable" with the reason instead of failing every measurement of it.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The first line of FILE, without its newline, into BUF ("" when unreadable). */
static void read_line(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The value of "KEY: value" in FILE (e.g. /proc/meminfo), or "" */
static void read_field(const char *file, const char *key, char *buf, size_t len)
{
	char line[512];
	size_t klen = strlen(key);
	FILE *f = fopen(file, "re");
	buf[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) ||
		    (line[klen] != ':' && line[klen] != '\t' && line[klen] != ' '))
			continue;
		char *v = line + klen;
		v += strspn(v, " \t:");
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

static long field_long(const char *file, const char *key)
{
	char buf[64];
	read_field(file, key, buf, sizeof(buf));
	return buf[0] ? strtol(buf, NULL, 10) : -1;
}

long bench_meminfo(const char *key)
{
	return field_long("/proc/meminfo", key);
}

void bench_mount_of(const char *path, char *fs, size_t fslen, char *huge, size_t hugelen)
{
	char real[PATH_MAX], dev[256], dir[PATH_MAX], type[64], opts[1024];
	size_t best = 0;

	snprintf(fs, fslen, "unknown");
	snprintf(huge, hugelen, "%s", "");
	if (!realpath(path, real))
		return;
	FILE *f = fopen("/proc/self/mounts", "re");
	if (!f)
		return;
	/* The longest mount point that is a prefix of the path; a later mount over it wins. */
	while (fscanf(f, "%255s %4095s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
		size_t n = strlen(dir);
		bool under = !strcmp(dir, "/") ||
		             (!strncmp(real, dir, n) && (real[n] == '/' || real[n] == '\0'));
		if (!under || (n < best && best))
			continue;
		best = n;
		snprintf(fs, fslen, "%s", type);
		char *h = strstr(opts, "huge=");
		snprintf(huge, hugelen, "%.*s", h ? (int)strcspn(h + 5, ",") : 0, h ? h + 5 : "");
	}
	fclose(f);
}

/* The word in brackets of a sysfs choice such as "always [madvise] never". */
static void chosen(const char *choice, char *buf, size_t len)
{
	const char *a = strchr(choice, '['), *b = a ? strchr(a, ']') : NULL;
	snprintf(buf, len, "%.*s", a && b ? (int)(b - a - 1) : 0, a ? a + 1 : "");
}

static void machine_facts(struct bench_machine *m)
{
	struct utsname u;
	struct statvfs vfs;
	char buf[160];

	if (uname(&u) == 0) {
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
		snprintf(m->arch, sizeof(m->arch), "%s", u.machine);
	}
	m->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	read_field("/proc/cpuinfo", "model name", m->cpu_model, sizeof(m->cpu_model));
	if (!m->cpu_model[0])
		read_field("/proc/cpuinfo", "Model", m->cpu_model, sizeof(m->cpu_model));
	m->memory = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	m->page = sysconf(_SC_PAGESIZE);
	snprintf(m->shm_dir, sizeof(m->shm_dir), "%s", pshm_shm_dir());
	if (statvfs(m->shm_dir, &vfs) == 0) {
		m->shm_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		m->shm_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	bench_mount_of(m->shm_dir, m->shm_fs, sizeof(m->shm_fs), m->shm_huge, sizeof(m->shm_huge));
	read_line("/sys/kernel/mm/transparent_hugepage/enabled", m->thp_enabled,
	          sizeof(m->thp_enabled));
	read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", m->thp_shmem,
	          sizeof(m->thp_shmem));
	read_line("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/shmem_enabled", buf,
	          sizeof(buf));
	chosen(buf, m->thp_shmem_2m, sizeof(m->thp_shmem_2m));
	long kb = field_long("/proc/meminfo", "Hugepagesize");
	m->huge_size = kb > 0 ? (uint64_t)kb * 1024 : 0;
	m->huge_total = field_long("/proc/meminfo", "HugePages_Total");
	m->huge_free = field_long("/proc/meminfo", "HugePages_Free");
}

/* Make, map and remove one page of a POSIX object: is the shm directory usable? */
static void probe_posix(struct bench_machine *m)
{
	struct bench_seg b;
	int r = bseg_create(&b, BK_POSIX, m, (uint64_t)m->page, 0);
	if (!r)
		r = bseg_map(&b, 0);
	bseg_destroy(&b);
	if (r)
		snprintf(m->why[BK_POSIX], sizeof(m->why[0]), "cannot make objects in %.200s: %s",
		         m->shm_dir, pshm_strerror(r));
}

static void probe_sysv(struct bench_machine *m)
{
	char limit[64] = "";
	int id = shmget(IPC_PRIVATE, (size_t)m->page, IPC_CREAT | 0600);
	if (id >= 0) {
		shmctl(id, IPC_RMID, NULL);
		return;
	}
	int e = errno;
	if (e == ENOSYS) {
		snprintf(m->why[BK_SYSV], sizeof(m->why[0]),
		         "System V IPC is not in this kernel (shmget: %s)", strerror(e));
		return;
	}
	/* The limit a one-page segment can hit: too big for shmmax, or no identifiers left. */
	if (e == EINVAL || e == ENOSPC)
		read_line(e == EINVAL ? "/proc/sys/kernel/shmmax" : "/proc/sys/kernel/shmmni",
		          limit, sizeof(limit));
	snprintf(m->why[BK_SYSV], sizeof(m->why[0]), "shmget of one page fails: %s%s%s%s",
	         strerror(e),
	         !limit[0]     ? ""
	         : e == EINVAL ? " (kernel.shmmax="
	                       : " (kernel.shmmni=",
	         limit, limit[0] ? ")" : "");
}

static void probe_memfd(struct bench_machine *m)
{
	int fd = memfd_create("pshm-bench", MFD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return;
	}
	snprintf(m->why[BK_MEMFD], sizeof(m->why[0]), "memfd_create fails: %s%s", strerror(errno),
	         errno == ENOSYS ? " (Linux 3.17 or later has it)" : "");
}

/* Where is the file directory, and (when TRY) can files be made, sized and mapped there? */
static void probe_file(struct bench_machine *m, const char *dir, bool try)
{
	struct bench_seg b;
	char *real = realpath(dir, NULL);

	if (!real) {
		snprintf(m->file_dir, sizeof(m->file_dir), "%s", dir);
		snprintf(m->why[BK_FILE], sizeof(m->why[0]), "%.200s: %s", dir, strerror(errno));
		return;
	}
	snprintf(m->file_dir, sizeof(m->file_dir), "%s", real);
	free(real);
	bench_mount_of(m->file_dir, m->file_fs, sizeof(m->file_fs), m->file_huge,
	               sizeof(m->file_huge));
	if (!try)
		return;
	int r = bseg_create(&b, BK_FILE, m, (uint64_t)m->page, 0);
	if (!r)
		r = bseg_map(&b, 0);
	bseg_destroy(&b);
	if (r == -EACCES || r == -EPERM || r == -EROFS)
		snprintf(m->why[BK_FILE], sizeof(m->why[0]), "%.200s is not writable: %s",
		         m->file_dir, pshm_strerror(r));
	else if (r == -ENOTDIR)
		snprintf(m->why[BK_FILE], sizeof(m->why[0]), "%.200s is not a directory",
		         m->file_dir);
	else if (r == -ENOSPC || r == -EDQUOT)
		snprintf(m->why[BK_FILE], sizeof(m->why[0]), "%.200s is full: %s", m->file_dir,
		         pshm_strerror(r));
	else if (r)
		snprintf(m->why[BK_FILE], sizeof(m->why[0]),
		         "cannot map files of %.200s shared: %s", m->file_dir, pshm_strerror(r));
}

void bench_machine(struct bench_machine *m, const struct bench_opts *o)
{
	memset(m, 0, sizeof(*m));
	machine_facts(m);
	if (o->kinds & (1u << BK_POSIX))
		probe_posix(m);
	probe_sysv(m); /* the header says whether System V is there, asked for or not */
	if (o->kinds & (1u << BK_MEMFD))
		probe_memfd(m);
	probe_file(m, o->dir, o->kinds & (1u << BK_FILE));
	if (!(o->kinds & (1u << BK_FILE)))
		m->why[BK_FILE][0] = '\0';
	for (int k = 0; k < BK_N; k++)
		m->ok[k] = !m->why[k][0];
}

void bench_explain(char *buf, size_t len, const struct bench_machine *m, int kind, int err,
                   uint64_t size)
{
	char want[32], total[32], avail[32];
	struct statvfs vfs;
	const char *dir = kind == BK_POSIX ? m->shm_dir : kind == BK_FILE ? m->file_dir : NULL;

	bench_fmt_size(want, sizeof(want), size);
	if ((err == -ENOSPC || err == -EDQUOT || err == -EFAULT) && dir &&
	    statvfs(dir, &vfs) == 0) {
		bench_fmt_size(total, sizeof(total), (uint64_t)vfs.f_blocks * vfs.f_frsize);
		bench_fmt_size(avail, sizeof(avail), (uint64_t)vfs.f_bavail * vfs.f_frsize);
		if (err == -EFAULT)
			snprintf(buf, len,
			         "SIGBUS writing to the sparse %s object: %.200s ran out of space "
			         "(%s in all)",
			         want, dir, total);
		else
			snprintf(buf, len, "no room for %s in %.200s (%s in all, %s free)", want,
			         dir, total, avail);
	} else if (err == -ENOSPC && kind == BK_SYSV) {
		snprintf(buf, len,
		         "no room for a %s segment: %s (limits kernel.shmall and kernel.shmmni)",
		         want, pshm_strerror(err));
	} else if (err == -ENOMEM || err == -ENOSPC) {
		snprintf(buf, len, "no memory for %s: %s", want, pshm_strerror(err));
	} else if (err == -EFAULT) {
		snprintf(buf, len, "SIGBUS writing to the %s object: no memory to back it?", want);
	} else {
		snprintf(buf, len, "%s", pshm_strerror(err));
	}
}
