/*
 * holders.c - which processes map a segment or hold a descriptor to it, from /proc.
 *
 * One scan reads every process's /proc/PID/maps (shared mappings) and /proc/PID/fd (regular
 * files), and keeps (device, inode, pid, fd) rows sorted, so that listing 10,000 objects costs
 * one scan and a binary search each. System V attachments show in maps as /SYSV<key> with the
 * identifier in the inode field; they are kept under a device number no file has.
 */
#include "cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SYSV_DEV ((dev_t)-1)

struct row {
	dev_t dev;
	ino_t ino;
	struct holder h;
	bool flags_known;
};

struct holders {
	struct row *rows;
	size_t n, cap;
	struct holder *out; /* the result of the last holders_of */
	size_t outcap;
};

static int add(struct holders *hs, dev_t dev, ino_t ino, pid_t pid, int fd, bool writable)
{
	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 256;
		struct row *r = realloc(hs->rows, cap * sizeof(*r));
		if (!r)
			return -1;
		hs->rows = r;
		hs->cap = cap;
	}
	hs->rows[hs->n++] = (struct row){dev, ino, {pid, fd, writable}, fd < 0};
	return 0;
}

/* Shared mappings of files (and System V segments) in /proc/PID/maps. */
static void scan_maps(struct holders *hs, pid_t pid)
{
	char path[40], line[4352];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char perms[8], name[4096] = "";
		unsigned maj, min;
		unsigned long long ino;
		if (sscanf(line, "%*x-%*x %7s %*x %x:%x %llu %4095s", perms, &maj, &min, &ino,
		           name) < 4)
			continue;
		if (perms[3] != 's' || ino == 0)
			continue;
		bool sysv = !strncmp(name, "/SYSV", 5);
		add(hs, sysv ? SYSV_DEV : makedev(maj, min), (ino_t)ino, pid, -1, perms[1] == 'w');
	}
	fclose(f);
}

/* Descriptors of regular files in /proc/PID/fd. */
static void scan_fds(struct holders *hs, pid_t pid)
{
	char path[64];
	struct stat st;
	struct dirent *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dir), d->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		add(hs, st.st_dev, st.st_ino, pid, atoi(d->d_name), false);
	}
	closedir(dir);
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->h.pid != y->h.pid)
		return x->h.pid < y->h.pid ? -1 : 1;
	return x->h.fd < y->h.fd ? -1 : x->h.fd > y->h.fd;
}

struct holders *holders_scan(void)
{
	struct holders *hs = calloc(1, sizeof(*hs));
	struct dirent *d;
	pid_t self = getpid();

	if (!hs)
		return NULL;
	DIR *proc = opendir("/proc");
	if (!proc)
		return hs;
	while ((d = readdir(proc))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		scan_maps(hs, (pid_t)pid);
		scan_fds(hs, (pid_t)pid);
	}
	closedir(proc);
	if (hs->n) /* rows is NULL when nothing was readable, and qsort must not see NULL */
		qsort(hs->rows, hs->n, sizeof(*hs->rows), cmp_row);
	return hs;
}

void holders_free(struct holders *hs)
{
	if (!hs)
		return;
	free(hs->rows);
	free(hs->out);
	free(hs);
}

/* Whether descriptor FD of PID was opened for writing, from /proc/PID/fdinfo/FD. */
static bool fd_writable(pid_t pid, int fd)
{
	char path[64], line[128];
	unsigned flags = 0;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "flags: %o", &flags) == 1)
			break;
	fclose(f);
	return (flags & O_ACCMODE) != O_RDONLY;
}

const struct holder *holders_of(struct holders *hs, const struct pshm_stat *st, size_t *n)
{
	dev_t dev = st->kind == PSHM_SYSV ? SYSV_DEV : st->dev;
	ino_t ino = st->kind == PSHM_SYSV ? (ino_t)st->id : st->ino;
	size_t lo = 0, hi = hs->n;

	*n = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct row *r = &hs->rows[mid];
		if (r->dev < dev || (r->dev == dev && r->ino < ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < hs->n && hs->rows[i].dev == dev && hs->rows[i].ino == ino; i++) {
		struct row *r = &hs->rows[i];
		if (!r->flags_known) {
			r->h.writable = fd_writable(r->h.pid, r->h.fd);
			r->flags_known = true;
		}
		/* One row per mapping process: several mappings of one object fold together. */
		if (*n && r->h.fd < 0 && hs->out[*n - 1].pid == r->h.pid &&
		    hs->out[*n - 1].fd < 0) {
			hs->out[*n - 1].writable |= r->h.writable;
			continue;
		}
		if (*n == hs->outcap) {
			size_t cap = hs->outcap ? hs->outcap * 2 : 16;
			struct holder *o = realloc(hs->out, cap * sizeof(*o));
			if (!o)
				break;
			hs->out = o;
			hs->outcap = cap;
		}
		hs->out[(*n)++] = r->h;
	}
	return hs->out;
}

size_t holders_nprocs(const struct holder *hs, size_t n)
{
	size_t procs = 0;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = hs[j].pid == hs[i].pid;
		procs += !seen;
	}
	return procs;
}
