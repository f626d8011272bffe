/*
 * res.c - the results of a pshm-bench run: one row per figure, holding a sample per
 * repetition, and the list of figures that could not be had, with the reason.
 *
 * A row is (section, kind, variant, size). Its median, extremes and ratios are computed once
 * every repetition has run: the ratio against POSIX is this row's median over the median of the
 * POSIX row with the same section, variant and size (likewise against the pipe for transfers),
 * and a life cycle's ratio against raw calls is its median over the median of its raw samples.
 */
#include "bench.h"
#include "benchutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const bench_kind_names[BK_N] = {"posix", "sysv", "file", "memfd", "pipe", "unix"};
const char *const bench_section_names[BS_N] = {"lifecycle", "first_touch", "bandwidth",
                                               "persistence", "transfer"};

/* The variants in report order; a variant not listed sorts last. */
static const char *const variant_order[] = {"create",        "attach",    "plain", "populate",
                                            "fallocate",     "hugepages", "write", "rewrite",
                                            "rewrite+msync", "one-way"};

static struct bench_row *rows;
static size_t nrows;
static struct bench_gap *gaps;
static size_t ngaps;
static bool errored;

static struct bench_row *find_row(int section, int kind, const char *variant, uint64_t size)
{
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].section == section && rows[i].kind == kind &&
		    !strcmp(rows[i].variant, variant) && rows[i].size == size)
			return &rows[i];
	return NULL;
}

static const char *unit_of(int section)
{
	switch (section) {
	case BS_LIFECYCLE:
		return "us";
	case BS_FIRST_TOUCH:
		return "us_per_page";
	case BS_PERSISTENCE:
		return "ms";
	default:
		return "GB/s";
	}
}

static bool push(double **v, int n, int *cap, double x)
{
	if (n == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		double *nv = realloc(*v, (size_t)ncap * sizeof(double));
		if (!nv)
			return false;
		*v = nv;
		*cap = ncap;
	}
	(*v)[n] = x;
	return true;
}

void bench_add(int section, int kind, const char *variant, uint64_t size, double v, double raw)
{
	if (bench_failed(section, kind, variant))
		return;
	struct bench_row *r = find_row(section, kind, variant, size);
	if (!r) {
		struct bench_row *nr = realloc(rows, (nrows + 1) * sizeof(*nr));
		if (!nr)
			goto oom;
		rows = nr;
		r = &rows[nrows++];
		memset(r, 0, sizeof(*r));
		r->section = section;
		r->kind = kind;
		r->variant = variant;
		r->unit = unit_of(section);
		r->size = size;
	}
	int cap = r->cap;
	if (!push(&r->v, r->n, &cap, v) || !push(&r->raw, r->n, &r->cap, raw))
		goto oom;
	r->n++;
	return;
oom:
	bench_fail(section, kind, variant, "out of memory");
}

/* Forget the samples of every size of (SECTION, KIND, VARIANT). */
static void drop_rows(int section, int kind, const char *variant)
{
	for (size_t i = 0; i < nrows;) {
		struct bench_row *r = &rows[i];
		if (r->section == section && r->kind == kind && !strcmp(r->variant, variant)) {
			free(r->v);
			free(r->raw);
			rows[i] = rows[--nrows];
		} else {
			i++;
		}
	}
}

static void add_gap(int section, int kind, const char *variant, const char *fmt, va_list ap,
                    bool err)
{
	if (bench_failed(section, kind, variant))
		return;
	drop_rows(section, kind, variant);
	struct bench_gap *ng = realloc(gaps, (ngaps + 1) * sizeof(*ng));
	if (!ng)
		return;
	gaps = ng;
	struct bench_gap *g = &gaps[ngaps++];
	g->section = section;
	g->kind = kind;
	g->variant = variant;
	vsnprintf(g->reason, sizeof(g->reason), fmt, ap);
	if (err) {
		errored = true;
		fprintf(stderr, "%s: %s %s %s: %s\n", bench_prog, bench_section_names[section],
		        bench_kind_names[kind], variant, g->reason);
	}
}

void bench_gap(int section, int kind, const char *variant, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_gap(section, kind, variant, fmt, ap, false);
	va_end(ap);
}

void bench_fail(int section, int kind, const char *variant, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_gap(section, kind, variant, fmt, ap, true);
	va_end(ap);
}

bool bench_failed(int section, int kind, const char *variant)
{
	for (size_t i = 0; i < ngaps; i++)
		if (gaps[i].section == section && gaps[i].kind == kind &&
		    !strcmp(gaps[i].variant, variant))
			return true;
	return false;
}

bool bench_any_error(void)
{
	return errored;
}

static int variant_rank(const char *v)
{
	size_t n = sizeof(variant_order) / sizeof(variant_order[0]);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, variant_order[i]))
			return (int)i;
	return (int)n;
}

static int cmp_row(const void *a, const void *b)
{
	const struct bench_row *x = a, *y = b;
	if (x->section != y->section)
		return x->section - y->section;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	/* Transfers are read size by size; the other sections variant by variant. */
	if (x->section != BS_TRANSFER && variant_rank(x->variant) != variant_rank(y->variant))
		return variant_rank(x->variant) - variant_rank(y->variant);
	return x->kind - y->kind;
}

static double ratio(double x, double base)
{
	return isfinite(x) && isfinite(base) && base > 0 ? x / base : NAN;
}

void bench_summarise(void)
{
	for (size_t i = 0; i < nrows; i++) {
		struct bench_row *r = &rows[i];
		r->median = bench_median(r->v, r->n);
		r->min = r->v[0];
		r->max = r->v[r->n - 1];
		r->raw_median = bench_median(r->raw, r->n);
	}
	if (nrows)
		qsort(rows, nrows, sizeof(*rows), cmp_row);
	for (size_t i = 0; i < nrows; i++) {
		struct bench_row *r = &rows[i];
		const struct bench_row *posix = find_row(r->section, BK_POSIX, r->variant, r->size);
		const struct bench_row *pipe =
		    r->section == BS_TRANSFER ? find_row(r->section, BK_PIPE, r->variant, r->size)
		                              : NULL;
		r->ratio_posix = ratio(r->median, posix ? posix->median : NAN);
		r->ratio_pipe = ratio(r->median, pipe ? pipe->median : NAN);
		r->ratio_raw = r->section == BS_LIFECYCLE ? ratio(r->median, r->raw_median) : NAN;
	}
}

const struct bench_row *bench_rows(size_t *n)
{
	*n = nrows;
	return rows;
}

const struct bench_gap *bench_gaps(size_t *n)
{
	*n = ngaps;
	return gaps;
}

void bench_free_results(void)
{
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].v);
		free(rows[i].raw);
	}
	free(rows);
	free(gaps);
	rows = NULL;
	gaps = NULL;
	nrows = ngaps = 0;
}
