/*
 * out.c - the report of pshm-bench: tables for a terminal, or JSON or CSV for
 * programs. The JSON follows the schema that report generators read (version "pshm_bench": 1);
 * the CSV has the same rows, with the machine's facts as "# key: value" lines before them.
 */
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- numbers --------------------------------------------------------------------------- */

/* A figure with three or four significant digits, for tables. */
static const char *fmt_num(char *buf, size_t len, double v)
{
	double a = v < 0 ? -v : v;
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (a >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
	return buf;
}

/* A number for JSON or CSV: NAN is null (JSON) or empty (CSV). */
static void put_num(double v, bool json)
{
	if (isfinite(v))
		printf("%.6g", v);
	else if (json)
		printf("null");
}

/* A ratio: two decimals, "-" for none. */
static const char *fmt_ratio(char *buf, size_t len, double v)
{
	if (isfinite(v))
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "-");
	return buf;
}

/*
 * Print TEXT after INDENT spaces, broken between words to stay within WIDTH columns; the lines
 * after the first are indented HANG spaces more.
 */
static void wrap(const char *text, int indent, int hang, int width)
{
	int col = printf("%*s", indent, "");
	while (*text) {
		int n = (int)strcspn(text, " ");
		if (col > indent && col + 1 + n > width) {
			col = printf("\n%*s", indent + hang, "") - 1;
		} else if (col > indent) {
			putchar(' ');
			col++;
		}
		col += printf("%.*s", n, text);
		text += n;
		text += strspn(text, " ");
	}
	putchar('\n');
}

static const char *size_text(char *buf, size_t len, uint64_t size)
{
	return bench_fmt_size(buf, len, size);
}

/* ---- targets ----------------------------------------------------------------------------- */

#define TARGET_HUGE 0.25 /* first touch with huge pages / plain, per 4 KiB page, at most */

/* The median of the first_touch row of KIND and VARIANT, NAN when it was not measured. */
static double touch_median(int kind, const char *variant)
{
	size_t n;
	const struct bench_row *rows = bench_rows(&n);
	for (size_t i = 0; i < n; i++)
		if (rows[i].section == BS_FIRST_TOUCH && rows[i].kind == kind &&
		    !strcmp(rows[i].variant, variant))
			return rows[i].median;
	return NAN;
}

/*
 * The targets' kinds in turn: *I from 0, true while there is one, with KIND and its RATIO (NAN
 * when either figure is missing). System V and memfd whenever their plain first touch was
 * measured; POSIX where its directory gave huge pages.
 */
static bool next_target(int *i, int *kind, double *ratio)
{
	static const int kinds[] = {BK_MEMFD, BK_SYSV, BK_POSIX};
	for (; *i < 3; (*i)++) {
		int k = kinds[*i];
		double plain = touch_median(k, "plain"), huge = touch_median(k, "hugepages");
		if (!isfinite(plain) || (k == BK_POSIX && !isfinite(huge)))
			continue;
		*kind = k;
		*ratio = huge / plain;
		(*i)++;
		return true;
	}
	return false;
}

static const char *verdict(double ratio)
{
	return !isfinite(ratio) ? "not measured" : ratio <= TARGET_HUGE ? "PASS" : "FAIL";
}

/* The target's name for KIND, as bench_chan names its own: what over what, and where. */
static const char *target_name(char *buf, size_t len, int kind)
{
	snprintf(buf, len, "first touch huge/plain per 4 KiB, %s", bench_kind_names[kind]);
	return buf;
}

static void text_targets(void)
{
	char note[160], name[64], num[16];
	int i = 0, kind;
	double ratio;

	if (bench_pool_note(note, sizeof(note)))
		printf("\nhuge pages: %s\n", note);
	for (bool first = true; next_target(&i, &kind, &ratio); first = false) {
		if (first)
			printf("\ntargets: the median first touch with huge pages over the plain "
			       "one\n");
		printf("  %-40s %6s  <= %.2f  %s\n", target_name(name, sizeof(name), kind),
		       fmt_ratio(num, sizeof(num), ratio), TARGET_HUGE, verdict(ratio));
	}
}

/* ---- the terminal ------------------------------------------------------------------------ */

static void text_header(const struct bench_opts *o, const struct bench_machine *m)
{
	char a[32], b[32], c[32];

	printf("%s: Linux %s %s, %d CPUs (%s), %s memory, %ld-byte pages\n", bench_prog, m->kernel,
	       m->arch, m->cpus, m->cpu_model[0] ? m->cpu_model : "unknown CPU",
	       size_text(a, sizeof(a), m->memory), m->page);
	printf("shm dir:    %s (%s, %s, %s free%s%s)\n", m->shm_dir, m->shm_fs,
	       size_text(b, sizeof(b), m->shm_size), size_text(c, sizeof(c), m->shm_free),
	       m->shm_huge[0] ? ", huge=" : "", m->shm_huge);
	printf("file dir:   %s (%s)\n", m->file_dir, m->file_fs[0] ? m->file_fs : "unknown");
	printf("THP:        enabled: %s; shmem: %s\n", m->thp_enabled[0] ? m->thp_enabled : "none",
	       m->thp_shmem[0] ? m->thp_shmem : "none");
	printf("huge pages: %s, %ld in the pool, %ld free; System V: %s\n",
	       size_text(a, sizeof(a), m->huge_size), m->huge_total, m->huge_free,
	       m->ok[BK_SYSV] ? "available" : "unavailable");
	printf("Every figure: the median over %d repetition%s (min-max beside it); \"vs posix\" "
	       "is\nthat median over the POSIX object's%s.\n",
	       o->reps, o->reps == 1 ? "" : "s",
	       o->quick ? " (--quick: shorter runs, fewer repetitions)" : "");
}

/* Each section's title: what is measured, and in what unit; %s is the object or region size. */
static const char *const titles[BS_N] = {
    [BS_LIFECYCLE] = ("Life cycle of one %s object, in microseconds. create: create, size, map, "
                      "unmap, close, remove (a memfd: no remove); attach: open, map, unmap, "
                      "close. lib/raw: libpshm's time over the same system calls made directly."),
    [BS_FIRST_TOUCH] = ("First write to each 4 KiB page of a %s region, in microseconds per page. "
                        "populate includes the mmap with MAP_POPULATE (System V: "
                        "MADV_POPULATE_WRITE), fallocate the posix_fallocate of the whole "
                        "region."),
    [BS_BANDWIDTH] = "Write bandwidth of memset over the %s region once every page is in, in GB/s.",
    [BS_PERSISTENCE] = ("Rewriting the whole %s region, alone and followed by msync(MS_SYNC), in "
                        "milliseconds."),
    [BS_TRANSFER] = ("Messages moved to another process, in GB/s of payload%s: the writer copies "
                     "each in and hands it over, the reader reads every byte (pipe and unix: "
                     "write and read)."),
};

static void text_title(int section, const struct bench_opts *o)
{
	char size[32] = "", title[512];

	if (section == BS_LIFECYCLE)
		size_text(size, sizeof(size), o->life_size);
	else if (section != BS_TRANSFER)
		size_text(size, sizeof(size), o->region);
	snprintf(title, sizeof(title), titles[section], size);
	printf("\n");
	wrap(title, 0, 0, 96);
	printf("  %-6s %-6s %-14s %9s  %-19s %8s%s\n", "size", "kind", "variant", "median",
	       "min-max", "vs posix",
	       section == BS_LIFECYCLE  ? "  lib/raw"
	       : section == BS_TRANSFER ? "  vs pipe"
	                                : "");
}

static void text_row(const struct bench_row *r)
{
	char med[16], lo[16], hi[16], rp[16], rx[16], sz[16], range[40];

	snprintf(range, sizeof(range), "%s-%s", fmt_num(lo, sizeof(lo), r->min),
	         fmt_num(hi, sizeof(hi), r->max));
	double extra = r->section == BS_LIFECYCLE  ? r->ratio_raw
	               : r->section == BS_TRANSFER ? r->ratio_pipe
	                                           : NAN;
	printf("  %-6s %-6s %-14s %9s  %-19s %8s", size_text(sz, sizeof(sz), r->size),
	       bench_kind_names[r->kind], r->variant, fmt_num(med, sizeof(med), r->median), range,
	       fmt_ratio(rp, sizeof(rp), r->ratio_posix));
	if (r->section == BS_LIFECYCLE || r->section == BS_TRANSFER)
		printf(" %8s", fmt_ratio(rx, sizeof(rx), extra));
	printf("\n");
}

static void text_report(const struct bench_opts *o, const struct bench_machine *m, double elapsed)
{
	size_t n, ng;
	const struct bench_row *rows = bench_rows(&n);
	const struct bench_gap *gaps = bench_gaps(&ng);

	text_header(o, m);
	for (size_t i = 0; i < n; i++) {
		if (!i || rows[i].section != rows[i - 1].section)
			text_title(rows[i].section, o);
		else if (rows[i].section == BS_TRANSFER && rows[i].size != rows[i - 1].size)
			printf("\n");
		text_row(&rows[i]);
	}
	if (ng) {
		printf("\nNot measured:\n");
		for (size_t i = 0; i < ng; i++) {
			char line[512];
			snprintf(line, sizeof(line), "%s %s %s: %s",
			         bench_section_names[gaps[i].section],
			         bench_kind_names[gaps[i].kind], gaps[i].variant, gaps[i].reason);
			wrap(line, 2, 2, 96);
		}
	}
	text_targets();
	printf("\n%.1f s in all.\n", elapsed);
}

/* ---- JSON and CSV ------------------------------------------------------------------------ */

static void json_str_or_null(const char *s)
{
	if (s && s[0])
		bench_json_string(s);
	else
		printf("null");
}

static void json_targets(void)
{
	char name[64];
	int i = 0, kind;
	double ratio;
	for (bool first = true; next_target(&i, &kind, &ratio); first = false) {
		printf("%s\n  {\"name\": \"%s\", \"kind\": \"%s\", \"limit\": %.2f, \"at_most\": "
		       "true, "
		       "\"ratio\": ",
		       first ? "" : ",", target_name(name, sizeof(name), kind),
		       bench_kind_names[kind], TARGET_HUGE);
		put_num(ratio, true);
		printf(", \"pass\": %s}", !isfinite(ratio)       ? "null"
		                          : ratio <= TARGET_HUGE ? "true"
		                                                 : "false");
	}
	if (i)
		printf("\n ");
}

static void json_report(const struct bench_opts *o, const struct bench_machine *m, double elapsed)
{
	size_t n, ng;
	const struct bench_row *rows = bench_rows(&n);
	const struct bench_gap *gaps = bench_gaps(&ng);

	printf("{\"pshm_bench\": 1,\n \"machine\": {\"kernel\": ");
	bench_json_string(m->kernel);
	printf(", \"cpus\": %d, \"cpu_model\": ", m->cpus);
	json_str_or_null(m->cpu_model);
	printf(", \"memory_bytes\": %llu, \"shm_dir\": ", (unsigned long long)m->memory);
	bench_json_string(m->shm_dir);
	printf(", \"shm_size_bytes\": %llu, \"shm_free_bytes\": %llu, \"page_size\": %ld, "
	       "\"thp_enabled\": ",
	       (unsigned long long)m->shm_size, (unsigned long long)m->shm_free, m->page);
	json_str_or_null(m->thp_enabled);
	printf(", \"thp_shmem_enabled\": ");
	json_str_or_null(m->thp_shmem);
	printf(
	    ", \"hugepage_size_bytes\": %llu, \"hugepages_total\": %ld, \"hugepages_free\": %ld, "
	    "\"file_dir\": ",
	    (unsigned long long)m->huge_size, m->huge_total, m->huge_free);
	bench_json_string(m->file_dir);
	printf(", \"sysv_available\": %s},\n", m->ok[BK_SYSV] ? "true" : "false");
	printf(" \"options\": {\"quick\": %s, \"reps\": %d, \"sizes\": [",
	       o->quick ? "true" : "false", o->reps);
	for (int i = 0; i < o->nsizes; i++)
		printf("%s%llu", i ? ", " : "", (unsigned long long)o->sizes[i]);
	printf("], \"kinds\": [");
	for (int k = 0, first = 1; k < BK_N; k++)
		if (o->kinds & (1u << k)) {
			printf("%s\"%s\"", first ? "" : ", ", bench_kind_names[k]);
			first = 0;
		}
	printf("]},\n \"results\": [");
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		printf("%s\n  {\"section\": \"%s\", \"kind\": \"%s\", \"variant\": \"%s\", "
		       "\"size\": %llu, \"unit\": \"%s\", \"median\": ",
		       i ? "," : "", bench_section_names[r->section], bench_kind_names[r->kind],
		       r->variant, (unsigned long long)r->size, r->unit);
		put_num(r->median, true);
		printf(", \"min\": ");
		put_num(r->min, true);
		printf(", \"max\": ");
		put_num(r->max, true);
		printf(", \"n\": %d, \"ratio_posix\": ", r->n);
		put_num(r->ratio_posix, true);
		printf(", \"ratio_pipe\": ");
		put_num(r->ratio_pipe, true);
		printf(", \"ratio_raw\": ");
		put_num(r->ratio_raw, true);
		printf("}");
	}
	printf("%s],\n \"unavailable\": [", n ? "\n " : "");
	for (size_t i = 0; i < ng; i++) {
		printf("%s\n  {\"section\": \"%s\", \"kind\": \"%s\", \"variant\": \"%s\", "
		       "\"reason\": ",
		       i ? "," : "", bench_section_names[gaps[i].section],
		       bench_kind_names[gaps[i].kind], gaps[i].variant);
		bench_json_string(gaps[i].reason);
		printf("}");
	}
	printf("%s],\n \"targets\": [", ng ? "\n " : "");
	json_targets();
	printf("],\n \"huge_pool\": ");
	char note[160];
	if (bench_pool_note(note, sizeof(note)))
		bench_json_string(note);
	else
		printf("null");
	printf(",\n \"elapsed_s\": %.2f}\n", elapsed);
}

/* A CSV comment value: one line. */
static void csv_fact(const char *key, const char *fmt, ...)
{
	char buf[PATH_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	buf[strcspn(buf, "\n")] = '\0';
	printf("# %s: %s\n", key, buf);
}

static void csv_report(const struct bench_opts *o, const struct bench_machine *m, double elapsed)
{
	size_t n, ng;
	const struct bench_row *rows = bench_rows(&n);
	const struct bench_gap *gaps = bench_gaps(&ng);

	csv_fact("pshm_bench", "1");
	csv_fact("kernel", "%s", m->kernel);
	csv_fact("cpus", "%d", m->cpus);
	csv_fact("cpu_model", "%s", m->cpu_model);
	csv_fact("memory_bytes", "%llu", (unsigned long long)m->memory);
	csv_fact("shm_dir", "%s", m->shm_dir);
	csv_fact("shm_size_bytes", "%llu", (unsigned long long)m->shm_size);
	csv_fact("shm_free_bytes", "%llu", (unsigned long long)m->shm_free);
	csv_fact("page_size", "%ld", m->page);
	csv_fact("thp_enabled", "%s", m->thp_enabled);
	csv_fact("thp_shmem_enabled", "%s", m->thp_shmem);
	csv_fact("hugepage_size_bytes", "%llu", (unsigned long long)m->huge_size);
	csv_fact("hugepages_total", "%ld", m->huge_total);
	csv_fact("hugepages_free", "%ld", m->huge_free);
	csv_fact("file_dir", "%s", m->file_dir);
	csv_fact("sysv_available", "%s", m->ok[BK_SYSV] ? "true" : "false");
	csv_fact("quick", "%s", o->quick ? "true" : "false");
	csv_fact("reps", "%d", o->reps);
	for (size_t i = 0; i < ng; i++)
		csv_fact("unavailable", "%s %s %s: %s", bench_section_names[gaps[i].section],
		         bench_kind_names[gaps[i].kind], gaps[i].variant, gaps[i].reason);
	char note[160], num[16];
	if (bench_pool_note(note, sizeof(note)))
		csv_fact("huge_pool", "%s", note);
	int ti = 0, kind;
	double ratio;
	while (next_target(&ti, &kind, &ratio))
		csv_fact("target", "%s %s <= %.2f %s", target_name(note, sizeof(note), kind),
		         fmt_ratio(num, sizeof(num), ratio), TARGET_HUGE, verdict(ratio));
	csv_fact("elapsed_s", "%.2f", elapsed);
	printf(
	    "section,kind,variant,size,unit,median,min,max,n,ratio_posix,ratio_pipe,ratio_raw\n");
	for (size_t i = 0; i < n; i++) {
		const struct bench_row *r = &rows[i];
		printf("%s,%s,%s,%llu,%s,", bench_section_names[r->section],
		       bench_kind_names[r->kind], r->variant, (unsigned long long)r->size, r->unit);
		put_num(r->median, false);
		printf(",");
		put_num(r->min, false);
		printf(",");
		put_num(r->max, false);
		printf(",%d,", r->n);
		put_num(r->ratio_posix, false);
		printf(",");
		put_num(r->ratio_pipe, false);
		printf(",");
		put_num(r->ratio_raw, false);
		printf("\n");
	}
}

void bench_report(const struct bench_opts *o, const struct bench_machine *m, double elapsed)
{
	if (o->format == BF_JSON)
		json_report(o, m, elapsed);
	else if (o->format == BF_CSV)
		csv_report(o, m, elapsed);
	else
		text_report(o, m, elapsed);
	fflush(stdout);
}

void bench_progress(const char *fmt, ...)
{
	static int tty = -1;
	char buf[128];
	va_list ap;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "\r\033[K%s%s%s", buf[0] ? bench_prog : "", buf[0] ? ": " : "", buf);
	fflush(stderr);
}
