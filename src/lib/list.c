/*
 * list.c - every segment on the system: POSIX objects and semaphores in the shm directory,
 * System V segments (sysv.c), and the memfds that processes hold, found through /proc.
 */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pshm__posix_list(unsigned mask, pshm_list_fn fn, void *arg)
{
	struct pshm__leases leases;
	struct pshm_stat st;
	struct stat sb;
	struct dirent *d;
	DIR *dir;
	int r = pshm__opendir(pshm__shm_dir(), &dir);

	if (r)
		return r;
	/* Every object's lease count from one reading of the kernel's locks; unknown without.
	 * The page size is the file system's: one look for all. */
	pshm__leases_load(&leases);
	uint64_t page = pshm__fd_page(dirfd(dir), NULL);
	while (!r && (d = readdir(dir))) {
		if (d->d_name[0] == '.' && (!d->d_name[1] || !strcmp(d->d_name, "..")))
			continue;
		/* The library's own files (channels' beacons), and what pshm gc set aside while
		 * it looks whether anyone holds it: not objects. */
		if (!strncmp(d->d_name, PSHM__HIDDEN_PREFIX, sizeof(PSHM__HIDDEN_PREFIX) - 1))
			continue;
		bool sem = !strncmp(d->d_name, "sem.", 4) && d->d_name[4];
		if (!(mask & (sem ? PSHM_LIST_SEM : PSHM_LIST_POSIX)))
			continue;
		/* Vanished since readdir, or not a regular file: not an object to list. */
		if (fstatat(dirfd(dir), d->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		memset(&st, 0, sizeof(st));
		pshm__stat_from(&st, &sb);
		pshm__leases_fill(&leases, &st);
		st.page_size = page;
		st.kind = sem ? PSHM_SEM : PSHM_POSIX;
		snprintf(st.address, sizeof(st.address), "%s/%s", sem ? "sem:" : "",
		         d->d_name + (sem ? 4 : 0));
		r = fn(&st, arg);
	}
	pshm__closedir(dir);
	pshm__leases_free(&leases);
	return r;
}

/* The (dev, ino) pairs already reported, so that a memfd held many times is listed once. */
struct seen {
	struct stat *v;
	size_t n, cap;
	bool nomem;
};

static bool seen_add(struct seen *s, const struct stat *sb)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].st_ino == sb->st_ino && s->v[i].st_dev == sb->st_dev)
			return false;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct stat *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->nomem = true; /* reported by the walk, not passed over in silence */
			return false;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *sb;
	return true;
}

/* Report the memfd at /proc/PID/fd/FD if it is one and new. FN's return, or 0. */
static int memfd_entry(int pid, const char *fdname, struct seen *seen, pshm_list_fn fn, void *arg)
{
	char proc[64], link[PATH_MAX];
	struct pshm_stat st;
	struct stat sb;

	snprintf(proc, sizeof(proc), "/proc/%d/fd/%s", pid, fdname);
	ssize_t n = readlink(proc, link, sizeof(link) - 1);
	if (n < 7 || strncmp(link, "/memfd:", 7))
		return 0;
	if (stat(proc, &sb) < 0 || !S_ISREG(sb.st_mode) || !seen_add(seen, &sb))
		return 0;
	memset(&st, 0, sizeof(st));
	pshm__stat_from(&st, &sb);
	st.page_size = pshm__path_page(proc, NULL);
	st.kind = PSHM_MEMFD;
	st.pid = pid;
	st.fd = atoi(fdname);
	snprintf(st.address, sizeof(st.address), "memfd:%d:%d", pid, st.fd);
	int fd = pshm__openat(AT_FDCWD, proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd >= 0) {
		int seals = pshm__seals_get(fd);
		st.seals = seals > 0 ? (unsigned)seals : 0;
		pshm__close(fd);
	}
	return fn(&st, arg);
}

static int memfd_process(int pid, struct seen *seen, pshm_list_fn fn, void *arg)
{
	char path[40];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if (pshm__opendir(path, &dir))
		return 0; /* gone, or not ours to look at */
	int r = 0;
	while (!r && (d = readdir(dir)))
		if (d->d_name[0] != '.')
			r = memfd_entry(pid, d->d_name, seen, fn, arg);
	pshm__closedir(dir);
	return r;
}

int pshm__memfd_list(pshm_list_fn fn, void *arg)
{
	struct seen seen = {0};
	struct dirent *d;
	DIR *proc;
	int r = pshm__opendir("/proc", &proc);

	if (r)
		return r;
	while (!r && !seen.nomem && (d = readdir(proc))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		r = memfd_process((int)pid, &seen, fn, arg);
	}
	pshm__closedir(proc);
	free(seen.v);
	return r ? r : seen.nomem ? -ENOMEM : 0;
}

/*
 * The caller's callback as the walks see it: it counts the entries, keeps the value that
 * stopped the walk, and stops it with 1, which no walk's own error (negative) can be.
 */
struct list_call {
	pshm_list_fn fn;
	void *arg;
	int count;
	int stop;
};

static int list_call(const struct pshm_stat *st, void *arg)
{
	struct list_call *c = arg;
	c->count++;
	c->stop = c->fn(st, c->arg);
	return c->stop != 0;
}

PSHM__API int pshm_list(unsigned mask, pshm_list_fn fn, void *arg, int *stopp)
{
	struct list_call c = {fn, arg, 0, 0};
	int r = 0;

	if (stopp)
		*stopp = 0;
	if (!fn || (mask & ~(unsigned)PSHM_LIST_ALL))
		return -EINVAL;
	if (mask & (PSHM_LIST_POSIX | PSHM_LIST_SEM))
		r = pshm__posix_list(mask, list_call, &c);
	if (!r && (mask & PSHM_LIST_SYSV))
		r = pshm__sysv_list(list_call, &c);
	if (!r && (mask & PSHM_LIST_MEMFD))
		r = pshm__memfd_list(list_call, &c);
	if (r < 0)
		return r;
	if (stopp)
		*stopp = c.stop;
	return c.count;
}
