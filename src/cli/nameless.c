/*
 * nameless.c - the files that no name reaches any more (memfds, and unlinked objects and files
 * on memory file systems: tmpfs, hugetlbfs, ramfs) that processes still map, privately too, or
 * hold open, which holders_scan_nameless keeps so that df can say what holds memory that no
 * listing shows. /proc marks their paths " (deleted)"; System V segments and shared anonymous
 * mappings carry the mark too and are left out (the first are listed by key and identifier, the
 * second belong to one family of processes and no other can reach them).
 */
#include "holders.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* PATH without the " (deleted)" that /proc puts after the path of an unlinked file, in place;
 * NULL when it has none. A maps line's path ends at its newline. */
static char *unlinked(char *path)
{
	static const char mark[] = " (deleted)";
	size_t n = strcspn(path, "\n"), k = sizeof(mark) - 1;

	path[n] = '\0';
	if (n < k || strcmp(path + n - k, mark))
		return NULL;
	path[n - k] = '\0';
	return path;
}

/* Keep G, the mapping or descriptor of the file that had the name PATH. 0 or -ENOMEM. */
static int add_gone(struct holders *hs, const struct gone *g, const char *path)
{
	struct gone *v = holders_grow(hs->gone, hs->ngone, &hs->gonecap, sizeof(*v), 64);
	if (!v)
		return -ENOMEM;
	hs->gone = v;
	struct gone *to = &v[hs->ngone];
	*to = *g;
	if (!(to->name = strdup(path)))
		return -ENOMEM;
	hs->ngone++;
	return 0;
}

static bool memory_fs(long type)
{
	return type == TMPFS_MAGIC || type == HUGETLBFS_MAGIC || type == RAMFS_MAGIC;
}

int nameless_map(struct holders *hs, const struct gone *g, char *path)
{
	char *file = unlinked(path);
	/* Shared anonymous mappings are "/dev/zero (deleted)" or "/anon_hugepage (deleted)". */
	if (!file || !strcmp(file, "/dev/zero") || !strcmp(file, "/anon_hugepage"))
		return 0;
	return add_gone(hs, g, file);
}

int nameless_fd(struct holders *hs, DIR *dir, pid_t pid, const char *fd, const struct stat *st)
{
	char link[PATH_MAX + 16], path[64];
	struct statfs fs;

	ssize_t len = readlinkat(dirfd(dir), fd, link, sizeof(link) - 1);
	snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fd);
	if (len < 0 || statfs(path, &fs) < 0)
		return 0; /* closed since */
	link[len] = '\0';
	if (!memory_fs((long)fs.f_type))
		return 0;
	/* A memfd's link is "/memfd:NAME (deleted)", an unlinked file's its path and the mark;
	 * the link count decided already (a file linked again has a name, and no mark). */
	char *name = unlinked(link);
	struct gone g = {.r = {st->st_dev, st->st_ino, {pid, atoi(fd), false, false}, false},
	                 .st = *st};
	return add_gone(hs, &g, name ? name : link);
}

/* Whether device DEV holds a memory file system in the mount table at PATH (a mountinfo). */
static bool memory_dev_in(const char *path, dev_t dev)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE ... */
		unsigned maj, min;
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %u:%u", &maj, &min) != 2 ||
		    makedev(maj, min) != dev)
			continue;
		found = !strncmp(sep, " - tmpfs ", 9) || !strncmp(sep, " - hugetlbfs ", 13) ||
		        !strncmp(sep, " - ramfs ", 9);
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * Describe into O the file that the mappings G[0..N) of one inode (and no descriptor) hold.
 * /proc/PID/map_files shows the file itself, to those allowed (CAP_SYS_ADMIN); to others only
 * the mappings do: the file is taken to be on a memory file system when it is a memfd or its
 * device is one in this process's mount table or the mapping process's, and to be as large as
 * the farthest end mapped. False when it is no memory, or has a name.
 */
static bool describe_mapped(const struct gone *g, size_t n, struct nameless *o)
{
	char path[80];
	struct stat st;
	struct statfs fs;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)g->r.h.pid, g->start,
	         g->end);
	if (stat(path, &st) == 0 && statfs(path, &fs) == 0) {
		if (st.st_nlink || !memory_fs((long)fs.f_type))
			return false;
		o->uid = st.st_uid;
		o->size = (uint64_t)st.st_size;
		o->allocated = (uint64_t)st.st_blocks * 512;
		return true;
	}
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)g->r.h.pid);
	if (!o->memfd && !memory_dev_in("/proc/self/mountinfo", g->r.dev) &&
	    !memory_dev_in(path, g->r.dev))
		return false;
	/* A file whose real name ends in " (deleted)" is no unlinked one. */
	if (lstat(g->name, &st) == 0 && st.st_dev == g->r.dev && st.st_ino == g->r.ino)
		return false;
	for (size_t i = 0; i < n; i++)
		if (g[i].extent > o->size)
			o->size = g[i].extent;
	o->allocated = o->size;
	o->estimated = true;
	o->uid = holders_user(g->r.h.pid);
	return true;
}

static int cmp_gone(const void *a, const void *b)
{
	return holders_cmp_row(&((const struct gone *)a)->r, &((const struct gone *)b)->r);
}

/* Describe the inode of G[0..N) into O, its holders from *NH on in hs->objh. False when it is
 * no memory that no name reaches. */
static bool describe_gone(struct holders *hs, const struct gone *g, size_t n, struct nameless *o,
                          size_t *nh)
{
	const struct gone *fd = NULL;

	*o = (struct nameless){.dev = g->r.dev, .ino = g->r.ino, .name = g->name};
	o->memfd = !strncmp(g->name, "/memfd:", 7);
	for (size_t i = 0; i < n && !fd; i++)
		if (g[i].r.h.fd >= 0)
			fd = &g[i];
	if (fd) {
		/* A descriptor's file was looked at in the scan (and kept when on a memory file
		 * system); its link names it better than a mapping's line can. */
		o->name = fd->name;
		o->uid = fd->st.st_uid;
		o->size = (uint64_t)fd->st.st_size;
		o->allocated = (uint64_t)fd->st.st_blocks * 512;
	} else if (!describe_mapped(g, n, o)) {
		return false;
	}
	o->holders = hs->objh + *nh;
	for (size_t i = 0; i < n; i++) {
		struct holder h = g[i].r.h;
		struct holder *last = o->nholders ? &hs->objh[*nh - 1] : NULL;
		if (h.fd < 0 && last && last->fd < 0 && last->pid == h.pid) {
			last->writable |= h.writable;
			continue;
		}
		if (h.fd >= 0)
			holders_fd_mode(&h);
		hs->objh[(*nh)++] = h;
		o->nholders++;
	}
	return true;
}

const struct nameless *holders_nameless(struct holders *hs, size_t *n)
{
	hs->used = true;
	if (!hs->resolved && hs->ngone) {
		qsort(hs->gone, hs->ngone, sizeof(*hs->gone), cmp_gone);
		hs->objs = calloc(hs->ngone, sizeof(*hs->objs));
		hs->objh = calloc(hs->ngone, sizeof(*hs->objh));
		/* Out of memory, there is nothing to describe: the scan has failed. */
		bool oom = !hs->objs || !hs->objh;
		if (oom && !hs->err)
			hs->err = -ENOMEM;
		size_t nh = 0;
		for (size_t i = 0, j; !oom && i < hs->ngone; i = j) {
			for (j = i + 1; j < hs->ngone && hs->gone[j].r.dev == hs->gone[i].r.dev &&
			                hs->gone[j].r.ino == hs->gone[i].r.ino;
			     j++)
				;
			struct nameless *o = &hs->objs[hs->nobjs];
			if (describe_gone(hs, &hs->gone[i], j - i, o, &nh))
				hs->nobjs++;
		}
	}
	hs->resolved = true;
	*n = hs->nobjs;
	return hs->objs;
}

void nameless_free(struct holders *hs)
{
	for (size_t i = 0; i < hs->ngone; i++)
		free(hs->gone[i].name);
	free(hs->gone);
	free(hs->objs);
	free(hs->objh);
}
