/*
 * test_table.c - pshm's own layout of a table (src/cli/text.c, print_aligned) against
 * libsmartcols' for the same table, byte for byte.
 *
 * pshm lays a table out itself when standard output is no terminal and every cell is printable
 * ASCII, and must then print exactly what libsmartcols would. Thousands of tables made at random
 * (columns right-aligned or not, hidden, with width hints absolute and relative, headings or
 * none, empty cells, cells never set, no lines) are printed both ways into files and compared.
 * Tables it must leave to libsmartcols (a cell or heading beyond ASCII, a feature pshm does not
 * use) must make it print nothing and say so.
 */
#include "../../src/cli/text.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#define TABLES 4000

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static unsigned roll(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* A random string of printable ASCII, spaces included, of 0 to MAX bytes. */
static void text(char *buf, unsigned max)
{
	unsigned len = roll(max + 1);
	for (unsigned i = 0; i < len; i++)
		buf[i] = (char)(roll(5) ? 'a' + roll(26) : ' ' + roll(95));
	buf[len] = '\0';
}

static struct libscols_table *random_table(void)
{
	static const double hints[] = {0, 0.1, 0.5, 1, 2, 3, 6, 12};
	struct libscols_table *tb = scols_new_table();
	assert_non_null(tb);
	unsigned ncols = 1 + roll(6), nlines = roll(7);
	char buf[32];

	scols_table_enable_noheadings(tb, roll(4) == 0);
	for (unsigned i = 0; i < ncols; i++) {
		int flags = (roll(2) ? SCOLS_FL_RIGHT : 0) | (roll(3) ? 0 : SCOLS_FL_TRUNC) |
		            (roll(5) ? 0 : SCOLS_FL_HIDDEN);
		text(buf, roll(4) ? 8 : 0);
		assert_non_null(scols_table_new_column(tb, buf, hints[roll(8)], flags));
	}
	for (unsigned l = 0; l < nlines; l++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		assert_non_null(ln);
		for (unsigned i = 0; i < ncols; i++) {
			if (roll(6) == 0)
				continue; /* a cell never set */
			text(buf, roll(3) ? 10 : 20);
			assert_int_equal(scols_line_set_data(ln, i, buf), 0);
		}
	}
	scols_table_enable_noencoding(tb, 1);
	return tb;
}

/* What PRINT wrote for TB, as a new string; *RC its result. */
static char *printed(struct libscols_table *tb, int (*print)(struct libscols_table *), int *rc)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(scols_table_set_stream(tb, f), 0);
	*rc = print(tb);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(scols_table_set_stream(tb, stdout), 0);
	return out;
}

static void test_same_as_libsmartcols(void **state)
{
	(void)state;
	for (int t = 0; t < TABLES; t++) {
		struct libscols_table *tb = random_table();
		int ours_rc, theirs_rc;
		char *ours = printed(tb, print_aligned, &ours_rc);
		scols_table_set_termforce(tb, SCOLS_TERMFORCE_NEVER);
		char *theirs = printed(tb, scols_print_table, &theirs_rc);
		assert_int_equal(theirs_rc, 0);
		if (ours_rc == 1) {
			/* Left to libsmartcols: only a table without lines, and then untouched. */
			assert_int_equal(scols_table_get_nlines(tb), 0);
			assert_string_equal(ours, "");
		} else {
			assert_int_equal(ours_rc, 0);
			if (strcmp(ours, theirs))
				print_message("table %d:\nours:\n%s\nlibsmartcols:\n%s\n", t, ours,
				              theirs);
			assert_string_equal(ours, theirs);
		}
		free(ours);
		free(theirs);
		scols_unref_table(tb);
	}
}

/* Tables print_aligned must leave alone: it returns 1 and prints nothing. */
static void test_left_to_libsmartcols(void **state)
{
	(void)state;
	for (int kind = 0; kind < 5; kind++) {
		struct libscols_table *tb = scols_new_table();
		assert_non_null(tb);
		int flags = kind == 2 ? SCOLS_FL_WRAP : kind == 3 ? SCOLS_FL_TREE : 0;
		assert_non_null(
		    scols_table_new_column(tb, kind == 1 ? "N\xc3\xa9" : "N", 0, flags));
		struct libscols_line *ln = scols_table_new_line(tb, NULL);
		assert_non_null(ln);
		assert_int_equal(scols_line_set_data(ln, 0, kind == 0 ? "caf\xc3\xa9" : "x"), 0);
		if (kind == 4)
			scols_table_enable_maxout(tb, 1);
		int rc;
		char *out = printed(tb, print_aligned, &rc);
		assert_int_equal(rc, 1);
		assert_string_equal(out, "");
		free(out);
		scols_unref_table(tb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_as_libsmartcols),
	    cmocka_unit_test(test_left_to_libsmartcols),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
