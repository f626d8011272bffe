/*
 * common.c - messages, parsing and formatting shared by the subcommands.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
	        "pshm: %s holds %s in all and %s is free; remove objects or make it bigger\n",
	        cli_safe(dir),
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
	fprintf(stderr, "pshm: %s is owned by %s:%s with mode %s; you are uid %u\n", cli_safe(addr),
	        cli_safe(cli_user(st.uid)), cli_safe(cli_group(st.gid)),
	        cli_fmt_mode(mode, st.mode), (unsigned)geteuid());
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

/*
 * The file behind a POSIX, semaphore or file address, written into BUF; NULL for the other
 * kinds, and for a name that breaks the name rules (then *BADNAME is set).
 */
static const char *addr_path(const char *addr, char *buf, size_t len, bool *badname)
{
	const char *name = addr, *prefix = "";

	*badname = false;
	if (!strncmp(addr, "file:", 5)) {
		snprintf(buf, len, "%s", addr + 5);
		return buf;
	}
	if (!strncmp(name, "posix:", 6)) {
		name += 6;
	} else if (!strncmp(name, "sem:", 4)) {
		name += 4;
		prefix = "sem.";
	} else if (name[0] != '/' && strchr(name, ':')) {
		return NULL; /* another kind of address */
	}
	name += strspn(name, "/");
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		*badname = true;
		return NULL;
	}
	snprintf(buf, len, "%s/%s%s", pshm_shm_dir(), prefix, name);
	return buf;
}

/* Say what squats at PATH (as lstat ST describes it) when it is no regular file or symlink. */
static bool hint_squatter(const char *path, const struct stat *st)
{
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
		return false;
	fprintf(stderr, "pshm: %s is a %s, not a shared memory object\n", cli_safe(path),
	        file_type(st->st_mode));
	return true;
}

/* For EINVAL on a POSIX name or a file: a bad name, or what squats where the object should be
 * ("Invalid argument" alone says neither). */
static void hint_invalid(const char *addr)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	bool badname;

	if (addr_path(addr, path, sizeof(path), &badname)) {
		if (lstat(path, &st) == 0)
			hint_squatter(path, &st);
	} else if (badname) {
		fprintf(
		    stderr,
		    "pshm: names are /NAME, NAME being 1 to %d bytes without a slash, and not . "
		    "or ..\n",
		    NAME_MAX);
	}
}

/* For EEXIST from create: an object to open with --existing-ok, or something that is none. */
static void hint_exists(const char *addr)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	bool badname;

	if (!strncmp(addr, "sysv:id=", 8)) {
		fprintf(stderr, "pshm: an identifier names a segment that exists; segments are "
		                "created by key, as sysv:KEY\n");
		return;
	}
	if (addr_path(addr, path, sizeof(path), &badname) && lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			fprintf(stderr, "pshm: %s is a symbolic link, which pshm never follows\n",
			        cli_safe(path));
			return;
		}
		if (hint_squatter(path, &st)) {
			size_t n = strlen(path);
			while (n > 0 && path[n - 1] == '/')
				path[--n] = '\0';
			if (S_ISDIR(st.st_mode) && !strncmp(addr, "file:", 5))
				fprintf(stderr, "pshm: name a file in it, as in file:%s/NAME\n",
				        cli_safe(path));
			else
				fprintf(stderr, "pshm: remove it, or choose another name\n");
			return;
		}
	}
	fprintf(stderr, "pshm: it exists already; --existing-ok opens it instead\n");
}

/* For EINVAL from creating a System V segment (the command has ruled out size 0 and set-id
 * bits): the size is beyond the kernel's limit, or the segment exists and is smaller. */
static void hint_sysv_size(void)
{
	unsigned long long max = 0;
	char size[32];

	FILE *f = fopen("/proc/sys/kernel/shmmax", "re");
	if (f) {
		if (fscanf(f, "%llu", &max) != 1)
			max = 0;
		fclose(f);
	}
	fprintf(stderr, "pshm: System V segments hold from 1 byte to kernel.shmmax");
	if (max)
		fprintf(stderr, " (%s here)", cli_fmt_size(size, sizeof(size), max, false));
	fprintf(stderr, ", and cannot grow: remove a smaller one and create it again\n");
}

/*
 * For EACCES and EPERM from rm. The object's mode does not govern removal: for a name or a
 * file, the directory's write permission, and in a sticky directory (as /dev/shm is) who owns
 * the object or the directory; for System V, who owns or created the segment.
 */
static void hint_remove(const char *addr, int err)
{
	char path[PATH_MAX + NAME_MAX + 2], owner[64], downer[64], mode[12];
	struct pshm_stat st;
	struct stat ds;
	bool badname;
	bool have = pshm_stat_addr(addr, &st) == 0;

	if (!strncmp(addr, "sysv:", 5)) {
		if (have) {
			snprintf(owner, sizeof(owner), "%s", cli_user(st.uid));
			fprintf(
			    stderr,
			    "pshm: only the segment's owner (%s), its creator (%s) or a privileged "
			    "user may remove it\n",
			    cli_safe(owner), cli_safe(cli_user(st.cuid)));
		}
		return;
	}
	if (!addr_path(addr, path, sizeof(path), &badname)) {
		hint_access(addr);
		return;
	}
	const char *dir = dirname(path);
	if (stat(dir, &ds) < 0) {
		/* The directory, or one above it, cannot even be searched. */
		if (err == -EACCES)
			fprintf(
			    stderr,
			    "pshm: removing it needs search permission on the directories down to "
			    "%s and write permission on it; you are uid %u\n",
			    cli_safe(dir), (unsigned)geteuid());
		return;
	}
	if (err == -EPERM && (ds.st_mode & S_ISVTX) && have) {
		snprintf(owner, sizeof(owner), "%s", cli_user(st.uid));
		snprintf(downer, sizeof(downer), "%s", cli_user(ds.st_uid));
		fprintf(stderr,
		        "pshm: %s is sticky: only the object's owner (%s) or the directory's owner "
		        "(%s) may remove it\n",
		        cli_safe(dir), cli_safe(owner), cli_safe(downer));
	} else if (err == -EACCES) {
		snprintf(owner, sizeof(owner), "%s", cli_user(ds.st_uid));
		fprintf(stderr,
		        "pshm: removing it needs write and search permission on %s, which is owned "
		        "by %s:%s with mode %s; you are uid %u\n",
		        cli_safe(dir), cli_safe(owner), cli_safe(cli_group(ds.st_gid)),
		        cli_fmt_mode(mode, ds.st_mode), (unsigned)geteuid());
	} else {
		hint_access(addr);
	}
}

/* The address last warned about by cli_warn_bare, so that a failure does not repeat it. */
static const char *warned_bare;

/* Whether ADDR is a POSIX name written without its slash: no leading '/', no kind prefix. */
static bool bare_name(const char *addr)
{
	return addr[0] && addr[0] != '/' && !strchr(addr, ':') && !strchr(addr, '/') &&
	       strcmp(addr, ".") && strcmp(addr, "..") && strlen(addr) <= NAME_MAX;
}

/* A System V key or identifier as ipcs(1) prints them: 0x and hex digits, or decimal. */
static bool looks_numeric(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return s[2] && !s[2 + strspn(s + 2, "0123456789abcdefABCDEF")];
	return s[0] && !s[strspn(s, "0123456789")];
}

/* For a bare name that looks like a System V key or identifier: how to write those. */
static void hint_sysv_number(const char *addr)
{
	const char *a = cli_safe(addr);
	if (addr[1] == 'x' || addr[1] == 'X')
		fprintf(stderr, "pshm: a System V key is written sysv:%s\n", a);
	else
		fprintf(stderr,
		        "pshm: a System V segment is written sysv:id=%s for identifier %s, or "
		        "sysv:%s for key %s\n",
		        a, a, a, a);
}

void cli_warn_bare(const char *addr)
{
	char unit[8];
	uint64_t v;

	if (!bare_name(addr))
		return;
	warned_bare = addr;
	const char *a = cli_safe(addr);
	fprintf(stderr,
	        "pshm: warning: '%s' has no leading '/': taken as the POSIX object /%s; write /%s "
	        "to mean it\n",
	        a, a, a);
	snprintf(unit, sizeof(unit), "1%s", addr);
	if (looks_numeric(addr))
		hint_sysv_number(addr);
	else if (isalpha((unsigned char)addr[0]) && strlen(addr) <= 3 &&
	         pshm_parse_size(unit, &v) == 0)
		fprintf(stderr, "pshm: a size takes its unit without a space: 10MB, not 10 MB\n");
}

int cli_fail(const char *op, const char *addr, int err)
{
	/* ADDR and the names in hints are anyone's bytes: escaped, they cannot drive the
	 * terminal. */
	fprintf(stderr, "pshm: %s %s: %s\n", cli_safe(op), cli_safe(addr), pshm_strerror(err));
	switch (err) {
	case -ENOSPC:
		hint_space(addr);
		break;
	case -EACCES:
	case -EPERM:
		if (!strcmp(op, "rm"))
			hint_remove(addr, err);
		else
			hint_access(addr);
		break;
	case -EEXIST:
		if (!strcmp(op, "create"))
			hint_exists(addr);
		break;
	case -ELOOP:
		fprintf(stderr, "pshm: %s is a symbolic link, which pshm never follows\n",
		        cli_safe(addr));
		break;
	case -EINVAL:
		if (!strncmp(addr, "sysv:", 5) && !strcmp(op, "create"))
			hint_sysv_size();
		else
			hint_invalid(addr);
		break;
	case -ENOENT:
		if (!strcmp(addr, "memfd:"))
			fprintf(stderr, "pshm: memfd: alone makes a new memfd; an existing one is "
			                "memfd:PID:FD (pshm ls -k memfd lists them)\n");
		break;
	case PSHM_EADDR:
		fprintf(stderr, "pshm: addresses are /NAME, sysv:KEY, sysv:id=N, file:PATH, "
		                "memfd:PID:FD or sem:/NAME\n");
		break;
	}
	if (addr != warned_bare && bare_name(addr) && looks_numeric(addr))
		hint_sysv_number(addr);
	return EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	/* The message quotes the user's arguments: escaped whole, they cannot drive the
	 * terminal. */
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "pshm %s: %s\nTry 'pshm %s --help' for more information.\n", cmd,
	        msg ? cli_safe(msg) : "(message not shown: out of memory)", cmd);
	free(msg);
	return EXIT_USAGE;
}

bool cli_size(const char *cmd, const char *what, const char *text, uint64_t *v)
{
	int r = pshm_parse_size(text, v);
	if (r == 0)
		return true;
	cli_usage(cmd, "invalid %s '%s': %s (sizes look like 4096, 64K, 1.5M, 2GiB, 10MB, 0x1000)",
	          what, text, r == -ERANGE ? "too large" : "not a size");
	return false;
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

/* ---- standard output and stop signals ------------------------------------------------------ */

int cli_fail_output(const char *op, const char *addr, int err)
{
	/* A reader that went away knows it; close_stdout says nothing of it either. */
	if (err != -EPIPE)
		fprintf(stderr, "pshm: %s %s: writing standard output: %s\n", op, cli_safe(addr),
		        pshm_strerror(err));
	/* Told once: what is still buffered goes, and the check at exit has nothing to add. */
	__fpurge(stdout);
	clearerr(stdout);
	return EXIT_FAIL;
}

void cli_close_stdout(void)
{
	bool pending = __fpending(stdout) != 0, failed = ferror(stdout) != 0;

	errno = 0;
	if (fclose(stdout) != 0) {
		/* Standard output closed by whoever started us is no error if nothing was said. */
		if (pending || errno != EBADF)
			failed = true;
	} else if (failed) {
		errno = 0; /* the write that failed was earlier, and its errno is gone */
	}
	if (!failed || errno == EPIPE)
		return;
	if (errno)
		fprintf(stderr, "pshm: writing standard output: %s\n", strerror(errno));
	else
		fprintf(stderr, "pshm: error writing standard output\n");
	_exit(EXIT_FAIL);
}

/*
 * The handler only takes note, and puts /dev/null, opened read-only, in place of standard
 * output: a write blocked on a full pipe ends (EINTR, no SA_RESTART), and one about to start
 * fails (EBADF), so a signal that comes between a look at the note and a write cannot leave the
 * command blocked there. Nothing is printed after a stop signal anyway.
 */
static volatile sig_atomic_t stop_signal;
static int stop_null = -1;
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
static sigset_t stops_caught; /* those of them not ignored at start */

static void on_stop(int sig)
{
	int e = errno;
	if (!stop_signal)
		stop_signal = sig;
	if (stop_null >= 0)
		dup2(stop_null, STDOUT_FILENO);
	errno = e;
}

void cli_catch_stops(void)
{
	struct sigaction sa, old;

	if (stop_null < 0)
		stop_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&stops_caught);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		/* A signal ignored by whoever started us (nohup, a background job) stays so. */
		if (sigaction(stop_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN &&
		    sigaction(stop_signals[i], &sa, NULL) == 0)
			sigaddset(&stops_caught, stop_signals[i]);
	}
}

void cli_stop_set(sigset_t *set)
{
	*set = stops_caught;
}

bool cli_stopped(void)
{
	return stop_signal != 0;
}

int cli_stop_signal(void)
{
	return stop_signal;
}

void cli_die_if_stopped(void)
{
	int sig = stop_signal;
	struct sigaction sa;
	sigset_t set;

	if (!sig)
		return;
	fflush(stdout);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig); /* not reached: the default action of these signals ends the process */
}
