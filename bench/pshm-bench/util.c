/*
 * util.c - what every part of pshm-bench says and parses the same way: its name, usage errors,
 * sizes in and out, JSON strings, and whole writes.
 */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

const char *bench_prog = "pshm-bench";

void bench_set_prog(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	const char *name = slash ? slash + 1 : argv0;
	if (name && *name)
		bench_prog = name;
}

int bench_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return bench_bad_option();
}

int bench_bad_option(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", bench_prog);
	return EXIT_USAGE;
}

bool bench_size(const char *what, const char *text, uint64_t *v)
{
	int r = pshm_parse_size(text, v);
	if (r)
		bench_usage("invalid %s '%s': %s (sizes look like 4096, 64K, 1.5M, 2GiB, 10MB)",
		            what, text, r == -ERANGE ? "too large" : "not a size");
	return r == 0;
}

const char *bench_fmt_size(char *buf, size_t len, uint64_t size)
{
	static const char units[] = "BKMGTPE";
	double v = (double)size;
	int u = 0;

	for (; v >= 1024 && units[u + 1]; u++)
		v /= 1024;
	/* A tenth is shown below 10 units where it is not zero: 1.5M, but 4K and 64M. */
	bool tenth = u > 0 && v < 10 && (uint64_t)(v * 10 + 0.5) % 10 != 0;
	snprintf(buf, len, "%.*f%c", tenth ? 1 : 0, v, units[u]);
	return buf;
}

void bench_json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

int bench_write_all(int fd, const void *buf, size_t len)
{
	for (const char *p = buf; len;) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}
