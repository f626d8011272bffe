/*
 * io.c - moving bytes in and out of objects: write, read, dump. Everything is streamed through
 * a bounded buffer, so a 10 GiB object or input needs no more memory than a small one.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

/* ---- write ----------------------------------------------------------------------------------- */

struct wstate {
	const char *addr;
	struct pshm_seg *seg;
	int fd;        /* the object's descriptor, or -1 (System V: written through a mapping) */
	char *map;     /* System V mapping */
	uint64_t size; /* the object's size now */
	uint64_t orig; /* its size before the command */
	uint64_t off;  /* where the next byte goes */
	bool fixed;    /* the size may not change: -k, or System V */
};

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
	} else {
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(w->fd, buf + done, len - done, (off_t)(w->off + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			done += (size_t)n;
		}
	}
	w->off += len;
	return 0;
}

/* Copy standard input into the object. The length, when known (a regular file), is reserved
 * first, so a full file system is found before a byte is written. */
static int put_stdin(struct wstate *w)
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
	for (;;) {
		ssize_t n = read(0, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			fprintf(stderr, "pshm: write %s: reading standard input: %s\n", w->addr,
			        strerror(errno));
			break;
		}
		if (n == 0 || (r = put(w, buf, (size_t)n)))
			break;
	}
	free(buf);
	return r;
}

static int write_one(const char *addr, uint64_t off, bool keep, const char *data)
{
	struct wstate w = {.addr = addr, .off = off, .fixed = keep};
	struct pshm_stat st;
	size_t len;
	void *map = NULL;
	bool told = false; /* the failure is explained already */

	int r = pshm_open(&w.seg, addr, 0);
	if (r < 0)
		return cli_fail("write", addr, r);
	r = pshm_stat(w.seg, &st);
	w.size = w.orig = st.size;
	w.fd = pshm_fd(w.seg);
	if (w.fd < 0) {
		w.fixed = true;
		if (r == 0)
			r = pshm_map(w.seg, 0, &map, &len);
		w.map = map;
	}
	if (r == 0 && w.fixed && off > w.size) {
		fprintf(stderr, "pshm: write %s: offset %llu is past the end (%llu bytes)\n", addr,
		        (unsigned long long)off, (unsigned long long)w.size);
		r = -EINVAL;
		told = true;
	}
	if (r == 0)
		r = data ? make_room(&w, off + strlen(data), true) : 0;
	if (r == 0)
		r = data ? put(&w, data, strlen(data)) : put_stdin(&w);
	/* As the book's pshm_write: the object ends exactly where the data does. */
	if (r == 0 && !w.fixed && w.size != w.off)
		r = pshm_resize(w.seg, w.off, 0);
	/* A failed write gives back what it added: the object has its old size again (so a new,
	 * empty object is left empty, not half-written). */
	if (r < 0 && !w.fixed && w.size > w.orig)
		pshm_resize(w.seg, w.orig, 0);
	pshm_close(w.seg);
	if (told || (r == -EFBIG && w.fixed))
		return EXIT_FAIL; /* already explained */
	return r < 0 ? cli_fail("write", addr, r) : EXIT_OK;
}

int cmd_write(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"offset", required_argument, NULL, 'o'},
	    {"keep-size", no_argument, NULL, 'k'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	uint64_t off = 0;
	bool keep = false;
	int c;

	while ((c = getopt_long(argc, argv, "o:kh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!cli_size("write", "offset", optarg, &off))
				return EXIT_USAGE;
			break;
		case 'k':
			keep = true;
			break;
		case 'h':
			return cli_help(
			    "write",
			    "  -o, --offset OFFSET    where the data goes (default 0)\n"
			    "  -k, --keep-size        keep the object's size; the data must "
			    "fit\n"
			    "  Without -k the object ends up exactly OFFSET + length bytes "
			    "long.\n"
			    "  Without DATA, standard input is copied, in bounded memory.\n");
		default:
			return cli_bad_option("write");
		}
	}
	if (optind == argc)
		return cli_usage("write", "no object named");
	if (argc - optind > 2)
		return cli_usage("write", "too many arguments (quote DATA that has spaces)");
	return write_one(argv[optind], off, keep, optind + 1 < argc ? argv[optind + 1] : NULL);
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
};

static int put_stdout(struct sink *s, const char *buf, size_t len)
{
	(void)s;
	return cli_write_all(1, buf, len);
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
	return ferror(stdout) ? -EIO : 0;
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
			return cli_bad_option(cmd);
		}
	}
	if (optind == argc)
		return cli_usage(cmd, "no object named");
	if (argc - optind > 1)
		return cli_usage(cmd, "one object at a time");
	const char *addr = argv[optind];
	int r = pshm_open(&seg, addr, PSHM_RDONLY);
	if (r < 0)
		return cli_fail(cmd, addr, r);
	r = pshm_stat(seg, &st);
	if (r == 0 && off > st.size) {
		fprintf(stderr, "pshm: %s %s: offset %llu is past the end (%llu bytes)\n", cmd,
		        addr, (unsigned long long)off, (unsigned long long)st.size);
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
	if (r == -EPIPE)
		return EXIT_FAIL; /* the reader of our output went away: nothing to add */
	if (r == PSHM_ETRUNCATED) {
		fflush(stdout);
		fprintf(stderr, "pshm: %s %s: the object was truncated while being read\n", cmd,
		        addr);
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
