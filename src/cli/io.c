/*
 * io.c - moving bytes in and out of objects: write, read, dump. Everything is streamed through
 * a bounded buffer, so a 10 GiB object or input needs no more memory than a small one.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

/* ---- write ----------------------------------------------------------------------------------- */

/*
 * Two ways to write. By default the new content is built in a fresh, nameless object beside the
 * old one (O_TMPFILE in the same directory) and renamed over its name once complete, as
 * install(1) does: whatever stops the command (a signal, a full file system, an input error,
 * SIGKILL even), the name holds either the old object, untouched, or the whole new content.
 * Processes that map the old object keep the old object. In place (-o, -k, --in-place, and
 * whatever cannot be replaced: System V segments, memfds, files with several links, objects
 * owned by someone else), bytes are written where they go; a write stopped after some of them
 * cuts the object after the last byte written (with -k, or for System V, it keeps its size),
 * and says how many arrived.
 */

struct wstate {
	const char *addr;
	struct pshm_seg *seg;
	int fd;         /* the object's descriptor, or -1 (System V: written through a mapping) */
	char *map;      /* System V mapping */
	uint64_t size;  /* the object's size now */
	uint64_t orig;  /* its size before the command */
	uint64_t start; /* where the data starts */
	uint64_t off;   /* where the next byte goes */
	bool fixed;     /* the size may not change: -k, or System V */
	bool told;      /* the failure is explained already */
};

/* The stop signals (cli_catch_stops) stay blocked except while waiting for input, so that
 * their handler can only run there and a stop is seen at once, with no race against read(2).
 * WAITMASK is the mask to wait with. */
static void catch_stops(sigset_t *waitmask)
{
	sigset_t block;

	cli_catch_stops();
	/* A message to a reader that went away must not kill the command halfway through. */
	signal(SIGPIPE, SIG_IGN);
	cli_stop_set(&block);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&block, sig) == 1)
			sigdelset(waitmask, sig);
}

/* Whether a stop signal came, letting any pending one in first. */
static bool stopped(const sigset_t *waitmask)
{
	sigset_t pending, caught;

	cli_stop_set(&caught);
	if (!cli_stopped() && sigpending(&pending) == 0)
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(&caught, sig) == 1 && sigismember(&pending, sig) == 1) {
				struct timespec zero = {0, 0};
				ppoll(NULL, 0, &zero, waitmask); /* runs the handler */
				break;
			}
	return cli_stopped();
}

/* Make room for the object to hold END bytes, growing in steps so a stream is not slow. */
static int make_room(struct wstate *w, uint64_t end, bool exact)
{
	if (end <= w->size)
		return 0;
	if (w->fixed) {
		fprintf(
		    stderr, "pshm: write %s: the data does not fit: the object is %llu bytes%s\n",
		    w->addr, (unsigned long long)w->size,
		    w->fd < 0 ? " and System V segments cannot grow" : " and -k keeps that size");
		w->told = true;
		return -EFBIG;
	}
	uint64_t want = end;
	if (!exact && want < 2 * w->size)
		want = w->size + (w->size < (1ull << 30) ? w->size : (1ull << 30));
	int r = pshm_resize(w->seg, want, 0);
	if (r == -ENOSPC && want > end)
		r = pshm_resize(w->seg, want = end, 0);
	if (r == 0)
		w->size = want;
	return r;
}

static int put(struct wstate *w, const char *buf, size_t len)
{
	int r = make_room(w, w->off + len, false);
	if (r)
		return r;
	if (w->fd < 0) {
		memcpy(w->map + w->off, buf, len);
		w->off += len;
		return 0;
	}
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(w->fd, buf + done, len - done, (off_t)w->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
		w->off += (uint64_t)n;
	}
	return 0;
}

/* Copy standard input into the object. The length, when known (a regular file), is reserved
 * first, so a full file system is found before a byte is written. Stops early, returning 0,
 * when a stop signal comes. */
static int put_stdin(struct wstate *w, const sigset_t *waitmask)
{
	struct stat st;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t pos = lseek(0, 0, SEEK_CUR);
		if (pos >= 0 && st.st_size > pos) {
			int r = make_room(w, w->off + (uint64_t)(st.st_size - pos), true);
			if (r)
				return r;
		}
	}
	char *buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	int r = 0;
	while (!stopped(waitmask)) {
		/* The one place the stop signals may come in: waiting for input. */
		struct pollfd pfd = {.fd = 0, .events = POLLIN};
		if (ppoll(&pfd, 1, NULL, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			/* Not something poll(2) takes: just read it. */
		}
		ssize_t n = read(0, buf, CHUNK);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			r = -errno;
			fprintf(stderr, "pshm: write %s: reading standard input: %s\n", w->addr,
			        strerror(errno));
			w->told = true;
			break;
		}
		if (n == 0 || (r = put(w, buf, (size_t)n)))
			break;
	}
	free(buf);
	return r;
}

/* The new content's object, beside the old one: its directory, the old one's name in it, and
 * the temporary name it has for a moment before it takes that one. */
struct replace {
	int dirfd;
	char name[NAME_MAX + 1];
	char tmpname[NAME_MAX + 1];
};

/* Where the object ST names lives as a file: its directory and name. */
static bool object_path(const struct pshm_stat *st, char *dir, size_t dlen, char *name, size_t nlen)
{
	char path[PATH_MAX + sizeof(st->address)];
	const char *slash;
	int n;

	if (st->kind == PSHM_POSIX)
		n = snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), st->address);
	else if (st->kind == PSHM_FILE && !strncmp(st->address, "file:", 5))
		n = snprintf(path, sizeof(path), "%s", st->address + 5);
	else
		return false;
	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	slash = strrchr(path, '/');
	if (!slash || !slash[1] || (size_t)(slash - path) >= dlen || strlen(slash + 1) >= nlen)
		return false;
	snprintf(dir, dlen, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	snprintf(name, nlen, "%s", slash + 1);
	return true;
}

/*
 * Start a replacement for the object ST describes: a new, empty file in its directory with its
 * mode, owner and group. Returns the descriptor, or -1 when the object cannot be replaced that
 * way (then it is written in place).
 */
static int replace_start(struct replace *rp, const struct pshm_stat *st)
{
	char dir[PATH_MAX];
	int fd;

	rp->dirfd = -1;
	rp->tmpname[0] = '\0';
	if (!object_path(st, dir, sizeof(dir), rp->name, sizeof(rp->name)))
		return -1;
	rp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rp->dirfd < 0)
		return -1;
	/* Nameless until complete, so that nothing, not even SIGKILL, leaves it behind. */
	fd = openat(rp->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 ||
	    ((sb.st_uid != st->uid || sb.st_gid != st->gid) && fchown(fd, st->uid, st->gid) < 0) ||
	    fchmod(fd, st->mode & 07777) < 0) {
		if (fd >= 0)
			close(fd);
		close(rp->dirfd);
		rp->dirfd = -1;
		return -1;
	}
	return fd;
}

/* Put the finished replacement under the object's name: link it under a temporary name, then
 * rename that over the old one. Stop signals are blocked meanwhile, so the temporary name is
 * removed again whatever happens short of SIGKILL. */
static int replace_finish(struct replace *rp, int fd)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int tries = 0;; tries++) {
		snprintf(rp->tmpname, sizeof(rp->tmpname), ".pshm-write.%d.%d", (int)getpid(),
		         tries);
		if (linkat(fd, "", rp->dirfd, rp->tmpname, AT_EMPTY_PATH) == 0)
			break;
		/* Linking a descriptor needs privilege; linking its /proc entry does not. */
		if ((errno == ENOENT || errno == EPERM) &&
		    linkat(AT_FDCWD, proc, rp->dirfd, rp->tmpname, AT_SYMLINK_FOLLOW) == 0)
			break;
		if (errno != EEXIST || tries == 100) {
			rp->tmpname[0] = '\0';
			return -errno;
		}
	}
	int r = renameat(rp->dirfd, rp->tmpname, rp->dirfd, rp->name) < 0 ? -errno : 0;
	if (r)
		unlinkat(rp->dirfd, rp->tmpname, 0);
	rp->tmpname[0] = '\0';
	return r;
}

static void replace_drop(struct replace *rp)
{
	if (rp->dirfd < 0)
		return;
	if (rp->tmpname[0])
		unlinkat(rp->dirfd, rp->tmpname, 0);
	close(rp->dirfd);
	rp->dirfd = -1;
}

/* Whether the object ST describes is best replaced whole rather than written in place. */
static bool replaceable(const struct pshm_stat *st)
{
	if (st->kind != PSHM_POSIX && st->kind != PSHM_FILE)
		return false; /* System V and memfds have no name to replace */
	if (st->nlink != 1)
		return false; /* other names would keep the old content */
	if (st->leased)
		return false; /* the lease holders would keep the old object, and the new one none */
	/* A replacement owned by someone else needs the privilege to give it away. */
	return geteuid() == 0 || st->uid == geteuid();
}

static void plural_bytes(char *buf, size_t len, uint64_t n)
{
	snprintf(buf, len, "%llu byte%s", (unsigned long long)n, n == 1 ? "" : "s");
}

static int write_one(const char *addr, uint64_t off, bool keep, bool in_place, const char *data)
{
	struct wstate w = {.addr = addr, .off = off, .start = off, .fixed = keep};
	struct replace rp = {.dirfd = -1};
	struct pshm_seg *target;
	struct pshm_stat st;
	sigset_t waitmask;
	size_t len;
	void *map = NULL;
	char count[48];

	catch_stops(&waitmask);
	cli_warn_bare(addr);
	/* The name as messages show it: every byte escaped takes four. */
	char say[4 * PSHM_ADDRESS_MAX];
	cli_escape(say, sizeof(say), addr, 0);
	w.addr = say;
	int r = pshm_open(&target, addr, 0);
	if (r < 0)
		return cli_fail("write", addr, r);
	r = pshm_stat(target, &st);
	if (r < 0) {
		pshm_close(target);
		return cli_fail("write", addr, r);
	}
	w.seg = target;
	w.size = w.orig = st.size;
	w.fd = pshm_fd(target);
	bool replacing = false;
	if (!keep && !in_place && off == 0 && w.fd >= 0 && replaceable(&st)) {
		int fd = replace_start(&rp, &st);
		if (fd >= 0) {
			r = pshm_from_fd(&w.seg, fd, 0);
			if (r < 0) {
				close(fd);
				replace_drop(&rp);
				pshm_close(target);
				return cli_fail("write", addr, r);
			}
			replacing = true;
			w.fd = fd;
			w.size = w.orig = 0;
		}
	}
	if (w.fd < 0) {
		w.fixed = true;
		r = pshm_map(target, 0, &map, &len);
		w.map = map;
	}
	if (r == 0 && w.fixed && off > w.size) {
		fprintf(stderr, "pshm: write %s: offset %llu is past the end (%llu bytes)\n", say,
		        (unsigned long long)off, (unsigned long long)w.size);
		pshm_close(target);
		return EXIT_FAIL;
	}
	if (r == 0 && data) {
		r = make_room(&w, off + strlen(data), true);
		if (r == 0)
			r = put(&w, data, strlen(data));
	} else if (r == 0) {
		r = put_stdin(&w, &waitmask);
	}
	bool stop = stopped(&waitmask);
	uint64_t wrote = w.off - w.start;
	plural_bytes(count, sizeof(count), wrote);

	if (replacing) {
		/* The new object ends exactly where the data does. */
		if (r == 0 && !stop && w.size != w.off)
			r = pshm_resize(w.seg, w.off, 0);
		if (r == 0 && !stop)
			r = replace_finish(&rp, w.fd);
		replace_drop(&rp);
		pshm_close(w.seg); /* a nameless replacement vanishes with it */
		pshm_close(target);
		if (r == 0 && !stop)
			return EXIT_OK;
		if (stop) {
			fprintf(stderr,
			        "pshm: write %s: interrupted (%s); the object is unchanged\n", say,
			        strsignal(cli_stop_signal()));
			cli_die_if_stopped();
		}
		if (!w.told)
			cli_fail("write", addr, r);
		if (r == -ENOSPC)
			fprintf(
			    stderr,
			    "pshm: the new content is written beside the old before it replaces "
			    "it; --in-place overwrites the object where it is\n");
		fprintf(stderr, "pshm: write %s: the object is unchanged\n", say);
		return EXIT_FAIL;
	}

	/* In place. The object ends exactly where the data does, unless its size is fixed. */
	if (r == 0 && !stop && !w.fixed && w.size != w.off)
		r = pshm_resize(w.seg, w.off, 0);
	bool ok = r == 0 && !stop;
	/* Whether the old content is whole still: nothing written over it. */
	bool intact = !wrote || w.start >= w.orig;
	if (!ok && !w.fixed) {
		/* A failure with the old content whole gives the old size back, so the object is as
		 * it was. Otherwise (an interruption, or old bytes overwritten) it ends after the
		 * last byte written, so it holds exactly what arrived. */
		uint64_t keep_size = (!wrote || (intact && !stop)) ? w.orig : w.off;
		if (w.size != keep_size && pshm_resize(w.seg, keep_size, 0) == 0)
			w.size = keep_size;
	}
	pshm_close(target);
	if (ok)
		return EXIT_OK;
	if (!w.told && !stop)
		cli_fail("write", addr, r);
	const char *why = stop ? strsignal(cli_stop_signal()) : NULL;
	if (!wrote || (intact && !stop && !w.fixed))
		fprintf(stderr, "pshm: write %s: %s%s%sthe object is unchanged\n", say,
		        why ? "interrupted (" : "", why ? why : "", why ? "); " : "");
	else if (w.fixed)
		fprintf(stderr,
		        "pshm: write %s: %s%s%sthe first %s of the data are at offset %llu; the "
		        "rest of the object is as it was\n",
		        say, why ? "interrupted (" : "", why ? why : "", why ? "); " : "", count,
		        (unsigned long long)w.start);
	else
		fprintf(stderr,
		        "pshm: write %s: %s%s%sthe first %s of the data are at offset %llu and the "
		        "object now ends after them (%llu bytes)\n",
		        say, why ? "interrupted (" : "", why ? why : "", why ? "); " : "", count,
		        (unsigned long long)w.start, (unsigned long long)w.size);
	cli_die_if_stopped();
	return EXIT_FAIL;
}

int cmd_write(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"offset", required_argument, NULL, 'o'},
	    {"keep-size", no_argument, NULL, 'k'},
	    {"in-place", no_argument, NULL, 'i'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	uint64_t off = 0;
	bool keep = false, in_place = false;
	int c;

	while ((c = getopt_long(argc, argv, "o:kih", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!cli_size("write", "offset", optarg, &off))
				return EXIT_USAGE;
			in_place = true;
			break;
		case 'k':
			keep = true;
			break;
		case 'i':
			in_place = true;
			break;
		case 'h':
			return cli_help(
			    "write",
			    "  -o, --offset OFFSET    where the data goes (default 0); implies "
			    "--in-place\n"
			    "  -k, --keep-size        keep the object's size; the data must fit; "
			    "implies --in-place\n"
			    "  -i, --in-place         overwrite the object where it is, instead of "
			    "replacing it\n"
			    "                         with a new object once the data is complete\n"
			    "  DATA is written as it is, literally; without DATA, standard input "
			    "is\n"
			    "  copied, in bounded memory. Without -k the object ends up exactly\n"
			    "  OFFSET + length bytes long.\n");
		default:
			return cli_bad_option("write", opts, argv);
		}
	}
	if (optind == argc)
		return cli_usage("write", "no object named");
	if (argc - optind > 2)
		return cli_usage("write", "too many arguments (quote DATA that has spaces)");
	const char *data = optind + 1 < argc ? argv[optind + 1] : NULL;
	struct stat sb;
	if (data && *data && stat(data, &sb) == 0)
		fprintf(
		    stderr,
		    "pshm: warning: writing the %zu characters '%s' themselves, not the file of "
		    "that name; to write the file's bytes: pshm write %s < %s\n",
		    strlen(data), cli_safe(data), cli_safe(argv[optind]), cli_safe(data));
	return write_one(argv[optind], off, keep, in_place, data);
}

/* ---- read and dump --------------------------------------------------------------------------- */

/* Where the bytes go: standard output as they are, or the hex formatter. */
struct sink {
	int (*put)(struct sink *s, const char *buf, size_t len);
	uint64_t pos; /* dump: the offset of the next byte */
	unsigned char line[16];
	size_t fill;
	unsigned char prev[16];
	bool have_prev, starred;
	int out_err; /* why standard output could not be written, or 0 */
};

static int put_stdout(struct sink *s, const char *buf, size_t len)
{
	int r = cli_write_all(1, buf, len);
	if (r)
		s->out_err = r;
	return r;
}

/*
 * Stream [OFF, OFF+LEN) of the object to S. An object that shrinks meanwhile gives
 * PSHM_ETRUNCATED once what is left of the range is written: through the descriptor the data
 * simply ends early. Objects without a descriptor (System V) are read through a guarded
 * mapping, so that a page that cannot be had reads as zeros and is reported, never SIGBUS.
 * Objects with one are not read that way: the kernel reads the holes of a sparse object as
 * zeros without allocating them, which faulting them in through a mapping would do.
 */
static int stream(struct pshm_seg *seg, uint64_t off, uint64_t len, struct sink *s)
{
	int fd = pshm_fd(seg);
	if (fd < 0) {
		void *map;
		size_t maplen;
		int r = pshm_map(seg, PSHM_RDONLY | PSHM_MAP_GUARD, &map, &maplen);
		if (r)
			return r;
		if (off > maplen)
			return 0;
		if (len > maplen - off)
			len = maplen - off;
		for (uint64_t done = 0; done < len && !r;) {
			size_t n = len - done < CHUNK ? (size_t)(len - done) : CHUNK;
			r = s->put(s, (char *)map + off + done, n);
			/* write(2) from a lost page fails with EFAULT rather than faulting. */
			if (r == -EFAULT || pshm_map_truncated(seg) > 0)
				r = PSHM_ETRUNCATED;
			done += n;
		}
		return r;
	}
	/* Straight from the page cache to standard output, where the kernel can. */
	if (s->put == put_stdout) {
		off_t pos = (off_t)off;
		while (len) {
			ssize_t n = sendfile(1, fd, &pos, len < CHUNK ? (size_t)len : CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EINVAL || errno == ENOSYS) && pos == (off_t)off)
				break; /* this output cannot take sendfile: copy instead */
			if (n < 0 && errno != EIO)
				return s->out_err = -errno; /* the output's, not the object's */
			if (n <= 0)
				return n < 0 ? -errno : PSHM_ETRUNCATED;
			len -= (uint64_t)n;
		}
		if (!len)
			return 0;
	}
	char *buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	int r = 0;
	while (len && !r) {
		ssize_t n = pread(fd, buf, len < CHUNK ? (size_t)len : CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : PSHM_ETRUNCATED;
			break;
		}
		r = s->put(s, buf, (size_t)n);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	free(buf);
	return r;
}

/* Print the line in S->line in the layout of hexdump -C, folding repeats into one "*". */
static int dump_line(struct sink *s)
{
	char out[100];
	size_t n = s->fill;
	uint64_t at = s->pos - n;

	if (n == 16 && s->have_prev && !memcmp(s->line, s->prev, 16)) {
		if (!s->starred)
			printf("*\n");
		s->starred = true;
		s->fill = 0;
		return 0;
	}
	s->starred = false;
	int len = snprintf(out, sizeof(out), "%08llx  ", (unsigned long long)at);
	for (size_t i = 0; i < 16; i++) {
		if (i < n)
			len += snprintf(out + len, sizeof(out) - (size_t)len, "%02x ", s->line[i]);
		else
			len += snprintf(out + len, sizeof(out) - (size_t)len, "   ");
		if (i == 7)
			out[len++] = ' ';
	}
	out[len++] = ' ';
	out[len++] = '|';
	for (size_t i = 0; i < n; i++)
		out[len++] = s->line[i] >= 0x20 && s->line[i] < 0x7f ? (char)s->line[i] : '.';
	out[len++] = '|';
	out[len] = '\0';
	printf("%s\n", out);
	memcpy(s->prev, s->line, 16);
	s->have_prev = n == 16;
	s->fill = 0;
	return 0;
}

static int put_hex(struct sink *s, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		s->line[s->fill++] = (unsigned char)buf[i];
		s->pos++;
		if (s->fill == 16)
			dump_line(s);
	}
	if (ferror(stdout))
		return s->out_err = -(errno ? errno : EIO);
	return 0;
}

static int read_like(const char *cmd, int argc, char **argv, bool hex)
{
	static const struct option opts[] = {
	    {"offset", required_argument, NULL, 'o'},
	    {"length", required_argument, NULL, 'n'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	uint64_t off = 0, len = UINT64_MAX;
	struct pshm_seg *seg;
	struct pshm_stat st;
	int c;

	while ((c = getopt_long(argc, argv, "o:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!cli_size(cmd, "offset", optarg, &off))
				return EXIT_USAGE;
			break;
		case 'n':
			if (!cli_size(cmd, "length", optarg, &len))
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(cmd,
			                "  -o, --offset OFFSET    start there (default 0)\n"
			                "  -n, --length LENGTH    at most LENGTH bytes (default: "
			                "to the end)\n");
		default:
			return cli_bad_option(cmd, opts, argv);
		}
	}
	if (optind == argc)
		return cli_usage(cmd, "no object named");
	if (argc - optind > 1)
		return cli_usage(cmd, "one object at a time");
	const char *addr = argv[optind];
	cli_warn_bare(addr);
	int r = pshm_open(&seg, addr, PSHM_RDONLY);
	if (r < 0)
		return cli_fail(cmd, addr, r);
	r = pshm_stat(seg, &st);
	if (r == 0 && off > st.size) {
		fprintf(stderr, "pshm: %s %s: offset %llu is past the end (%llu bytes)\n", cmd,
		        cli_safe(addr), (unsigned long long)off, (unsigned long long)st.size);
		pshm_close(seg);
		return EXIT_FAIL;
	}
	struct sink s = {.put = hex ? put_hex : put_stdout, .pos = off};
	if (r == 0)
		r = stream(seg, off, len < st.size - off ? len : st.size - off, &s);
	if (hex && r == 0) {
		if (s.fill)
			dump_line(&s);
		/* As hexdump -C: the end offset closes any output; -n 0 prints nothing at all. */
		if (s.pos != off || (off && len))
			printf("%08llx\n", (unsigned long long)s.pos);
	}
	pshm_close(seg);
	if (r && s.out_err) {
		/* Said once here: what stdio still holds is dropped, not reported again at exit. */
		__fpurge(stdout);
		clearerr(stdout);
		return cli_fail_output(cmd, addr, s.out_err); /* quiet for EPIPE */
	}
	if (r == PSHM_ETRUNCATED) {
		fflush(stdout);
		fprintf(stderr, "pshm: %s %s: the object was truncated while being read\n", cmd,
		        cli_safe(addr));
		return EXIT_FAIL;
	}
	return r < 0 ? cli_fail(cmd, addr, r) : EXIT_OK;
}

int cmd_read(int argc, char **argv)
{
	return read_like("read", argc, argv, false);
}

int cmd_dump(int argc, char **argv)
{
	return read_like("dump", argc, argv, true);
}
