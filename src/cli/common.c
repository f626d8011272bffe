/*
 * common.c - messages, parsing and formatting shared by the subcommands.
 */
#include "cli.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* For ENOSPC: how big the file system holding ADDR is and how much is free. */
static void hint_space(const char *addr)
{
	char buf[4096], total[32], avail[32];
	const char *dir = pshm_shm_dir();
	struct statvfs vfs;

	if (!strncmp(addr, "sysv:", 5)) {
		fprintf(stderr,
		        "pshm: System V segments are limited by kernel.shmmax, kernel.shmall "
		        "and the memory available\n");
		return;
	}
	if (!strncmp(addr, "file:", 5)) {
		snprintf(buf, sizeof(buf), "%s", addr + 5);
		dir = dirname(buf);
	} else if (!strncmp(addr, "memfd:", 6)) {
		fprintf(stderr, "pshm: memfds take their memory from RAM and swap\n");
		return;
	}
	if (statvfs(dir, &vfs) < 0)
		return;
	fprintf(stderr,
	        "pshm: %s holds %s in all and %s is free; remove objects or make it bigger\n", dir,
	        cli_fmt_size(total, sizeof(total), (uint64_t)vfs.f_blocks * vfs.f_frsize, false),
	        cli_fmt_size(avail, sizeof(avail), (uint64_t)vfs.f_bavail * vfs.f_frsize, false));
}

/* For EACCES and EPERM: who owns the object and what its mode allows. */
static void hint_access(const char *addr)
{
	struct pshm_stat st;
	char mode[12];

	if (pshm_stat_addr(addr, &st) < 0)
		return;
	fprintf(stderr, "pshm: %s is owned by %s:%s with mode %s; you are uid %u\n", addr,
	        cli_user(st.uid), cli_group(st.gid), cli_fmt_mode(mode, st.mode),
	        (unsigned)geteuid());
}

static const char *file_type(mode_t mode)
{
	return S_ISFIFO(mode)   ? "FIFO"
	       : S_ISDIR(mode)  ? "directory"
	       : S_ISSOCK(mode) ? "socket"
	       : S_ISCHR(mode)  ? "character device"
	       : S_ISBLK(mode)  ? "block device"
	                        : "special file";
}

/* For EINVAL on a POSIX name or a file: a bad name, or what squats where the object should be
 * ("Invalid argument" alone says neither). */
static void hint_invalid(const char *addr)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	const char *name = addr;

	if (!strncmp(addr, "file:", 5)) {
		snprintf(path, sizeof(path), "%s", addr + 5);
	} else {
		if (!strncmp(name, "posix:", 6))
			name += 6;
		else if (name[0] != '/' && strchr(name, ':'))
			return; /* another kind of address */
		name += strspn(name, "/");
		if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
			fprintf(
			    stderr,
			    "pshm: names are /NAME, NAME being 1 to %d bytes without a slash, and "
			    "not . or ..\n",
			    NAME_MAX);
			return;
		}
		snprintf(path, sizeof(path), "%s/%s", pshm_shm_dir(), name);
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		fprintf(stderr, "pshm: %s is a %s, not a shared memory object\n", path,
		        file_type(st.st_mode));
}

int cli_fail(const char *op, const char *addr, int err)
{
	fprintf(stderr, "pshm: %s %s: %s\n", op, addr, pshm_strerror(err));
	switch (err) {
	case -ENOSPC:
		hint_space(addr);
		break;
	case -EACCES:
	case -EPERM:
		hint_access(addr);
		break;
	case -EEXIST:
		if (!strcmp(op, "create"))
			fprintf(stderr,
			        "pshm: it exists already; --existing-ok opens it instead\n");
		break;
	case -ELOOP:
		fprintf(stderr, "pshm: %s is a symbolic link, which pshm never follows\n", addr);
		break;
	case -EINVAL:
		hint_invalid(addr);
		break;
	case PSHM_EADDR:
		fprintf(stderr, "pshm: addresses are /NAME, sysv:KEY, sysv:id=N, file:PATH, "
		                "memfd:PID:FD or sem:/NAME\n");
		break;
	}
	return EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pshm %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pshm %s --help' for more information.\n", cmd);
	return EXIT_USAGE;
}

int cli_bad_option(const char *cmd)
{
	fprintf(stderr, "Try 'pshm %s --help' for more information.\n", cmd);
	return EXIT_USAGE;
}

int cli_help(const char *cmd, const char *options)
{
	for (const struct cmd *c = cli_cmds; c->name; c++) {
		if (strcmp(c->name, cmd))
			continue;
		printf("Usage: pshm %s %s\n\n%c%s.\n", c->name, c->synopsis,
		       c->summary[0] - 'a' + 'A', c->summary + 1);
		/* Every subcommand has at least -h, so the heading is never empty. */
		printf("\nOptions:\n%s", options ? options : "");
		printf("  -h, --help             show this help\n");
		break;
	}
	return EXIT_OK;
}

bool cli_size(const char *cmd, const char *what, const char *text, uint64_t *v)
{
	int r = pshm_parse_size(text, v);
	if (r == 0)
		return true;
	cli_usage(cmd, "invalid %s '%s': %s (sizes look like 4096, 64K, 1.5M, 2GiB, 10MB)", what,
	          text, r == -ERANGE ? "too large" : "not a size");
	return false;
}

bool cli_mode(const char *cmd, const char *text, mode_t *mode)
{
	char *end;
	errno = 0;
	unsigned long m = strtoul(text, &end, 8);
	if (!*text || *end || errno || m > 07777 || text[0] == '-' || text[0] == '+') {
		cli_usage(cmd,
		          "invalid mode '%s': expected octal permission bits such as 600 or 0644",
		          text);
		return false;
	}
	*mode = (mode_t)m;
	return true;
}

const char *cli_fmt_size(char *buf, size_t len, uint64_t size, bool bytes)
{
	static const char units[] = "KMGTPE";
	if (bytes || size < 1024) {
		snprintf(buf, len, "%llu%s", (unsigned long long)size, bytes ? "" : "B");
		return buf;
	}
	double v = (double)size;
	int u = -1;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	/* One decimal below 10, as lsblk and lsipc show them; none where it would be .0. */
	if (v < 10 && (uint64_t)(v * 10 + 0.5) % 10)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
	return buf;
}

const char *cli_fmt_mode(char *buf, mode_t mode)
{
	const char *rwx = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		buf[i] = (mode & (0400 >> i)) ? rwx[i] : '-';
	if (mode & 04000)
		buf[2] = (mode & 0100) ? 's' : 'S';
	if (mode & 02000)
		buf[5] = (mode & 0010) ? 's' : 'S';
	if (mode & 01000)
		buf[8] = (mode & 0001) ? 't' : 'T';
	buf[9] = '\0';
	return buf;
}

/* A small cache of id -> name, since ls asks for the same few owners many times. */
struct idname {
	unsigned id;
	bool group;
	char name[64];
};
static struct idname idcache[64];
static size_t idcache_n;

static const char *id_name(unsigned id, bool group)
{
	for (size_t i = 0; i < idcache_n; i++)
		if (idcache[i].id == id && idcache[i].group == group)
			return idcache[i].name;
	struct idname *e = &idcache[idcache_n < 64 ? idcache_n++ : 63];
	e->id = id;
	e->group = group;
	const char *name = NULL;
	if (group) {
		struct group *g = getgrgid(id);
		name = g ? g->gr_name : NULL;
	} else {
		struct passwd *p = getpwuid(id);
		name = p ? p->pw_name : NULL;
	}
	if (name)
		snprintf(e->name, sizeof(e->name), "%s", name);
	else
		snprintf(e->name, sizeof(e->name), "%u", id);
	return e->name;
}

const char *cli_user(uid_t uid)
{
	return id_name(uid, false);
}

const char *cli_group(gid_t gid)
{
	return id_name(gid, true);
}

const char *cli_fmt_time(char *buf, size_t len, const struct timespec *ts)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	if (t == 0 || !localtime_r(&t, &tm))
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

int cli_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
