/*
 * holders.c - which processes map a segment or hold a descriptor to it, from /proc.
 *
 * One scan reads every process's /proc/PID/maps (shared mappings) and /proc/PID/fd (regular
 * files), and keeps (device, inode, pid, fd) rows sorted, so that listing 10,000 objects costs
 * one scan and a binary search each. System V attachments show in maps as /SYSV<key> with the
 * identifier in the inode field; they are kept under a device number no file has.
 *
 * The scan also keeps what it could not see, so that no count is shown as whole when it is not:
 * processes it may not look into (other users', or privileged ones), a /proc that hides them
 * (hidepid), and errors that cut the scan short (out of descriptors or memory). A process that
 * exits during the scan is simply gone: it holds nothing any more. holders_scan_nameless also
 * keeps the files no name reaches, with nameless.c.
 */
#include "holders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define SYSV_DEV ((dev_t)-1)

/* Eighteen copies of S, to pass over fields 4 to 21 of /proc/PID/stat. */
#define REPEAT3(s)  s s s
#define REPEAT18(s) REPEAT3(REPEAT3(s) REPEAT3(s))

/* The flag of kernel threads in /proc/PID/stat (PF_KTHREAD in the kernel's sched.h). */
#define PF_KTHREAD 0x00200000u

/* A process that went away (or closed the descriptor) since it was listed. */
static bool gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

static bool denied(int err)
{
	return err == -EACCES || err == -EPERM;
}

void *holders_grow(void *v, size_t n, size_t *cap, size_t size, size_t first)
{
	if (n < *cap)
		return v;
	size_t c = *cap ? *cap * 2 : first;
	void *w = realloc(v, c * size);
	if (w)
		*cap = c;
	return w;
}

static int add(struct holders *hs, dev_t dev, ino_t ino, pid_t pid, int fd, bool writable)
{
	struct row *r = holders_grow(hs->rows, hs->n, &hs->cap, sizeof(*r), 256);
	if (!r)
		return -ENOMEM;
	hs->rows = r;
	r[hs->n++] = (struct row){dev, ino, {pid, fd, writable, false}, fd < 0};
	return 0;
}

/* Shared mappings of files (and System V segments) in /proc/PID/maps, and with
 * holders_scan_nameless every mapping of a file that has no name. 0 or -errno. */
static int scan_maps(struct holders *hs, pid_t pid)
{
	char path[40], *line = NULL;
	size_t cap = 0;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	/* Lines have no length limit: a path may hold 4095 bytes, each shown as a 4-byte escape. */
	while ((errno = 0, getline(&line, &cap, f)) > 0) {
		char perms[8];
		unsigned maj, min;
		unsigned long long start, end, off, ino;
		int name = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off,
		           &maj, &min, &ino, &name) < 7)
			continue;
		/* A System V segment's inode field is its identifier, which may be 0; no file
		 * has inode 0. */
		bool sysv = !strncmp(line + name, "/SYSV", 5);
		if (ino == 0 && !sysv)
			continue;
		if (hs->nameless && !sysv) {
			struct gone g = {.r = {makedev(maj, min),
			                       (ino_t)ino,
			                       {pid, -1, perms[1] == 'w', false},
			                       true},
			                 .start = start,
			                 .end = end,
			                 .extent = off + (end - start)};
			r = nameless_map(hs, &g, line + name);
			if (r < 0)
				break;
		}
		if (perms[3] != 's')
			continue;
		r = add(hs, sysv ? SYSV_DEV : makedev(maj, min), (ino_t)ino, pid, -1,
		        perms[1] == 'w');
		if (r < 0)
			break;
	}
	if (!r && !feof(f))
		r = errno ? -errno : -EIO;
	free(line);
	fclose(f);
	return r;
}

/* Descriptors of regular files in /proc/PID/fd. 0 or -errno. */
static int scan_fds(struct holders *hs, pid_t pid)
{
	char path[40];
	struct stat st;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return -errno;
	for (;;) {
		errno = 0;
		struct dirent *d = readdir(dir);
		if (!d) {
			r = -errno;
			break;
		}
		if (d->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dir), d->d_name, &st, 0) < 0) {
			/* Closed since, or a file whose own file system fails to stat it (a dead
			 * FUSE mount): neither is memory pshm shows. */
			if (errno != ENOMEM && errno != EACCES && errno != EPERM)
				continue;
			r = -errno;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			r = add(hs, st.st_dev, st.st_ino, pid, atoi(d->d_name), false);
			if (!r && hs->nameless && st.st_nlink == 0)
				r = nameless_fd(hs, dir, pid, d->d_name, &st);
			if (r < 0)
				break;
		}
	}
	closedir(dir);
	return r;
}

/* Whether PID holds no memory at all, whoever may look into it: a kernel thread or a zombie
 * (their /proc/PID/stat is readable by all). */
static bool holds_nothing(pid_t pid)
{
	char path[40], *line = NULL, state = 0;
	size_t cap = 0;
	unsigned flags = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH;
	if (getline(&line, &cap, f) > 0) {
		/* The command name in parentheses may itself hold ") ". */
		char *p = strrchr(line, ')');
		if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
			state = 0;
	}
	free(line);
	fclose(f);
	return state == 'Z' || state == 'X' || (state && (flags & PF_KTHREAD));
}

/* Whether PID, which could not be looked into, runs as another user than this process (any of
 * its real, effective, saved and file system user IDs, from the world-readable
 * /proc/PID/status). A process of one's own user that forbids it (not dumpable, or more
 * privileged, as a container's supervisor may be even to root) is no other user's. */
static bool other_users(pid_t pid)
{
	char path[40], *line = NULL;
	size_t cap = 0;
	unsigned u[4];
	bool other = true;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return !(errno == ENOENT || errno == ESRCH);
	while (getline(&line, &cap, f) > 0)
		if (sscanf(line, "Uid: %u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4) {
			uid_t me = geteuid();
			other = u[0] != me || u[1] != me || u[2] != me || u[3] != me;
			break;
		}
	free(line);
	fclose(f);
	return other;
}

/* Look into PID. 0 when it was seen whole (or went away), -EACCES when it could not be looked
 * into wholly, another -errno when the scan must stop. */
static int scan_proc(struct holders *hs, pid_t pid)
{
	int shut = 0;
	int r = scan_maps(hs, pid);
	if (denied(r))
		shut = -EACCES;
	else if (r < 0 && !gone(r))
		return r;
	r = scan_fds(hs, pid);
	if (denied(r))
		shut = -EACCES;
	else if (r < 0 && !gone(r))
		return r;
	return shut;
}

/* The hidepid= value of the /proc mount when it makes other users' processes invisible to
 * this one (not just unreadable, which the scan sees), else NULL. */
static const char *proc_hidepid(void)
{
	static char value[16];
	char *line = NULL;
	size_t cap = 0;
	unsigned gid = 0;
	bool hides = false, exempt = false;

	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTIONS;
		 * the last mount on /proc is the one in sight. */
		char mnt[8] = "";
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %7s", mnt) != 1 || strcmp(mnt, "/proc") ||
		    strncmp(sep, " - proc ", 8))
			continue;
		char *opt = strstr(sep, ",hidepid=");
		hides = false;
		exempt = false;
		if (opt) {
			opt += 9;
			size_t len = strcspn(opt, ",\n");
			snprintf(value, sizeof(value), "%.*s", (int)len, opt);
			hides = strcmp(value, "0") && strcmp(value, "off") && strcmp(value, "1") &&
			        strcmp(value, "noaccess");
		}
		/* Members of the gid= group see every process. */
		char *g = strstr(sep, ",gid=");
		exempt =
		    g && sscanf(g + 5, "%u", &gid) == 1 && (getegid() == gid || group_member(gid));
	}
	free(line);
	fclose(f);
	return hides && !exempt && geteuid() != 0 ? value : NULL;
}

int holders_cmp_row(const void *a, const void *b)
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

static struct holders *scan(bool nameless)
{
	struct holders *hs = calloc(1, sizeof(*hs));
	pid_t self = getpid();

	if (!hs)
		return NULL;
	hs->nameless = nameless;
	hs->hidepid = proc_hidepid();
	DIR *proc = opendir("/proc");
	if (!proc) {
		hs->err = -errno;
		return hs;
	}
	for (;;) {
		errno = 0;
		struct dirent *d = readdir(proc);
		if (!d) {
			hs->err = -errno;
			break;
		}
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0 || pid == self)
			continue;
		int r = scan_proc(hs, (pid_t)pid);
		if (denied(r)) {
			hs->hidden += other_users((pid_t)pid) && !holds_nothing((pid_t)pid);
		} else if (r < 0) {
			hs->err = r;
			break;
		}
	}
	closedir(proc);
	if (hs->n) /* rows is NULL when nothing was readable, and qsort must not see NULL */
		qsort(hs->rows, hs->n, sizeof(*hs->rows), holders_cmp_row);
	return hs;
}

struct holders *holders_scan(void)
{
	return scan(false);
}

struct holders *holders_scan_nameless(void)
{
	return scan(true);
}

void holders_free(struct holders *hs)
{
	if (!hs)
		return;
	nameless_free(hs);
	free(hs->rows);
	free(hs->out);
	free(hs);
}

bool holders_complete(const struct holders *hs)
{
	return hs && !hs->err && !hs->hidden && !hs->hidepid;
}

int holders_fd_mode(struct holder *h)
{
	char path[64], line[128];
	unsigned flags = 0;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)h->pid, h->fd);
	h->writable = false;
	h->mode_unknown = true;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	/* "flags:" is among the first short lines; longer ones (epoll, inotify) come later. */
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "flags: %o", &flags) == 1;
	fclose(f);
	if (!found)
		return -ENOENT;
	h->writable = (flags & O_ACCMODE) != O_RDONLY;
	h->mode_unknown = false;
	return 0;
}

static void fill_flags(struct holders *hs, struct row *r)
{
	int err = holders_fd_mode(&r->h);
	/* Only running out of descriptors or memory makes the answer wrong; a descriptor closed
	 * since the scan or a process that changed its credentials is just not known. */
	if (err < 0 && !gone(err) && !denied(err) && !hs->err)
		hs->err = err;
	r->flags_known = true;
}

const struct holder *holders_of(struct holders *hs, const struct pshm_stat *st, size_t *n)
{
	dev_t dev = st->kind == PSHM_SYSV ? SYSV_DEV : st->dev;
	ino_t ino = st->kind == PSHM_SYSV ? (ino_t)st->id : st->ino;
	size_t lo = 0, hi = hs->n;

	*n = 0;
	hs->used = true;
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
		if (!r->flags_known)
			fill_flags(hs, r);
		/* One row per mapping process: several mappings of one object fold together. */
		if (*n && r->h.fd < 0 && hs->out[*n - 1].pid == r->h.pid &&
		    hs->out[*n - 1].fd < 0) {
			hs->out[*n - 1].writable |= r->h.writable;
			continue;
		}
		struct holder *o = holders_grow(hs->out, *n, &hs->outcap, sizeof(*o), 16);
		if (!o) {
			hs->err = -ENOMEM;
			break;
		}
		hs->out = o;
		o[(*n)++] = r->h;
	}
	return hs->out;
}

size_t holders_nprocs(const struct holder *hs, size_t n)
{
	size_t procs = 0;
	for (size_t i = 0; i < n; i++)
		procs += i == 0 || hs[i].pid != hs[i - 1].pid;
	return procs;
}

/* Append S to the string BUF of *LEN bytes in *CAP allocated: false when memory runs out. */
static bool append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t want = *cap * 2 > *len + n + 1 ? *cap * 2 : *len + n + 1;
		char *b = realloc(*buf, want);
		if (!b)
			return false;
		*buf = b;
		*cap = want;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return true;
}

/*
 * The processes among HS[0..N) (each once) separated by SEP, by their IDs or (COMMANDS) by
 * their command names; then SEP and "?" when MORE. Allocated; NULL when out of memory. No stdio
 * stream: pshm ls joins a list for every object, most of them empty.
 */
static char *join(const struct holder *hs, size_t n, const char *sep, bool more, bool commands)
{
	size_t len = 0, cap = 32;
	char *buf = malloc(cap), text[64];
	bool ok = buf != NULL;

	if (ok)
		buf[0] = '\0';
	for (size_t i = 0; ok && i < n; i++) {
		if (i && hs[i].pid == hs[i - 1].pid)
			continue;
		if (commands)
			holders_command(hs[i].pid, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "%d", (int)hs[i].pid);
		ok = append(&buf, &len, &cap, i ? sep : "") && append(&buf, &len, &cap, text);
	}
	if (ok && more)
		ok = append(&buf, &len, &cap, n ? sep : "") && append(&buf, &len, &cap, "?");
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *holders_pids(const struct holder *hs, size_t n, const char *sep, bool more)
{
	return join(hs, n, sep, more, false);
}

char *holders_commands(const struct holder *hs, size_t n, const char *sep)
{
	return join(hs, n, sep, false, true);
}

int holders_report(struct holders *hs, const char *cmd)
{
	if (!hs || !hs->used || hs->reported)
		return EXIT_OK;
	hs->reported = true;
	if (hs->err) {
		fprintf(stderr, "pshm: %s /proc: %s\n", cmd, pshm_strerror(hs->err));
		fprintf(stderr,
		        "pshm: not every process could be looked into, so the processes "
		        "shown may be too few%s\n",
		        hs->err == -EMFILE   ? "; raise the limit on open files (ulimit -n)"
		        : hs->err == -ENFILE ? "; the system has run out of open files"
		                             : "");
		return EXIT_FAIL;
	}
	/* What may be missing: processes, and with them what they hold that has no name. */
	const char *low = hs->nameless ? "memory that processes hold may be more than shown"
	                               : "process counts may be low";
	if (hs->hidden)
		fprintf(stderr,
		        "pshm: warning: could not look into %zu process%s of other users; %s\n",
		        hs->hidden, hs->hidden == 1 ? "" : "es", low);
	if (hs->hidepid)
		fprintf(
		    stderr,
		    "pshm: warning: /proc hides the processes of other users (hidepid=%s); %s\n",
		    hs->hidepid, low);
	if (hs->hidden || hs->hidepid)
		fprintf(stderr, "pshm: run as root to see all processes\n");
	return EXIT_OK;
}

uid_t holders_user(pid_t pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

/* The start time in /proc/PID/stat (field 22) in clock ticks since boot; 0 when it is gone. */
static unsigned long long start_ticks(pid_t pid)
{
	char path[40], *line = NULL;
	size_t cap = 0;
	unsigned long long ticks = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	if (getline(&line, &cap, f) > 0) {
		/* After the command name, which may itself hold ") ", field 3 comes. */
		char *p = strrchr(line, ')');
		if (!p || sscanf(p + 1, " %*c" REPEAT18(" %*s") " %llu", &ticks) != 1)
			ticks = 0;
	}
	free(line);
	fclose(f);
	return ticks;
}

struct pshm_time holders_started(pid_t pid)
{
	struct timespec real, boot;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long ticks = start_ticks(pid);

	/* The boot time from the clocks, not /proc/stat's btime: CLOCK_BOOTTIME, like the start
	 * time, counts in the process's time namespace. */
	if (!ticks || hz <= 0 || clock_gettime(CLOCK_REALTIME, &real) ||
	    clock_gettime(CLOCK_BOOTTIME, &boot))
		return (struct pshm_time){0, 0};
	/* Nanoseconds since the Epoch fit in 64 bits until 2262. */
	int64_t ns = ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000 + real.tv_nsec -
	             boot.tv_nsec + (int64_t)(ticks * 1000000000 / (unsigned long)hz);
	return (struct pshm_time){ns / 1000000000, ns % 1000000000};
}

const char *holders_command(pid_t pid, char *buf, size_t len)
{
	char path[40];

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	return buf;
}
