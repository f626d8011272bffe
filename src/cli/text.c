/*
 * text.c - showing text that others choose (object names, command names, user names, paths)
 * without letting it act on the terminal or on a parser.
 *
 * One rule serves tables, stat lines and messages: valid UTF-8 passes as it is, and each byte
 * of an invalid sequence, of a control character (C0, DEL, C1), of a character that reorders
 * or breaks lines (bidirectional controls, U+2028, U+2029), and of a backslash is written as
 * \xHH. Every backslash shown thus starts an escape, so the bytes come back by replacing each
 * \xHH with byte HH. The rule does not depend on the locale.
 */
#include "cli.h"

#include <errno.h>
#include <langinfo.h>
#include <libsmartcols.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

size_t cli_utf8_char(const char *s, uint32_t *cp)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c = p[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return 0; /* a continuation byte, or a lead byte of nothing valid */
	size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	c &= 0x7fu >> len;
	/* A terminating NUL is no continuation byte, so a cut-off sequence stops here. */
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < least[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool cli_char_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Append LEN bytes of S at OUT[AT], keeping within SIZE with room for the NUL. */
static void put(char *out, size_t size, size_t at, const char *s, size_t len)
{
	for (size_t i = 0; i < len && at + i + 1 < size; i++)
		out[at + i] = s[i];
}

size_t cli_escape(char *out, size_t size, const char *s, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	while (*s) {
		uint32_t cp = 0;
		size_t len = cli_utf8_char(s, &cp);
		bool keep = len && !cli_char_unsafe(cp) && cp != '\\';
		if ((flags & CLI_ESC_SPACE) && cp == ' ')
			keep = false;
		if ((flags & CLI_ESC_ASCII) && cp > 0x7e)
			keep = false;
		if ((flags & CLI_ESC_QUOTE) && (cp == '"' || cp == '$' || cp == '`'))
			keep = false;
		if (keep) {
			put(out, size, n, s, len);
			n += len;
			s += len;
			continue;
		}
		for (size_t i = 0; i < (len ? len : 1); i++, s++) {
			unsigned char b = (unsigned char)*s;
			char e[4] = {'\\', 'x', hex[b >> 4], hex[b & 15]};
			put(out, size, n, e, 4);
			n += 4;
		}
	}
	if (size)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

/* S escaped by cli_escape with FLAGS in a new allocation; NULL if memory runs out. */
static char *escape_dup(const char *s, unsigned flags)
{
	size_t len = cli_escape(NULL, 0, s, flags);
	char *e = malloc(len + 1);
	if (e)
		cli_escape(e, len + 1, s, flags);
	return e;
}

const char *cli_safe(const char *s)
{
	static char *ring[8];
	static size_t next;

	char *e = escape_dup(s ? s : "", 0);
	if (!e)
		return "(text not shown: out of memory)";
	free(ring[next]);
	ring[next] = e;
	next = (next + 1) % (sizeof(ring) / sizeof(ring[0]));
	return e;
}

/* Raw output: visible cells separated by one space, each escaped with spaces too. */
static int print_raw(struct libscols_table *tb)
{
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln = NULL;
	size_t ncols = scols_table_get_ncols(tb);
	bool heading = !scols_table_is_noheadings(tb);

	if (!it)
		return -ENOMEM;
	while (heading || scols_table_next_line(tb, it, &ln) == 0) {
		bool first = true;
		for (size_t i = 0; i < ncols; i++) {
			struct libscols_column *cl = scols_table_get_column(tb, i);
			if (scols_column_is_hidden(cl))
				continue;
			const char *data = heading
			                       ? scols_column_get_name(cl)
			                       : scols_cell_get_data(scols_line_get_cell(ln, i));
			char *e = escape_dup(data ? data : "", CLI_ESC_SPACE);
			printf("%s%s", first ? "" : " ", e ? e : "?");
			free(e);
			first = false;
		}
		putchar('\n');
		heading = false;
	}
	scols_free_iter(it);
	return 0;
}

/* --newline: NAME="value" for each visible cell, the lines of the table apart by an empty
 * one; headings or not, the names are there. */
static int print_newline(struct libscols_table *tb)
{
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln = NULL;
	size_t ncols = scols_table_get_ncols(tb);

	if (!it)
		return -ENOMEM;
	for (bool first = true; scols_table_next_line(tb, it, &ln) == 0; first = false) {
		if (!first)
			putchar('\n');
		for (size_t i = 0; i < ncols; i++) {
			struct libscols_column *cl = scols_table_get_column(tb, i);
			if (scols_column_is_hidden(cl))
				continue;
			const char *data = scols_cell_get_data(scols_line_get_cell(ln, i));
			char *e = escape_dup(data ? data : "", CLI_ESC_QUOTE);
			printf("%s=\"%s\"\n", scols_column_get_name(cl), e ? e : "?");
			free(e);
		}
	}
	scols_free_iter(it);
	return 0;
}

/* Whether cli_escape() keeps S as it is with any flags a table uses: printable ASCII but "\\". */
static bool plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '\\')
			return false;
	return true;
}

/*
 * Whether LC_CTYPE is now one that decodes UTF-8. libsmartcols measures the width of cells by
 * the locale, and (2.38) loops forever on a cell the locale cannot decode; what pshm prints is
 * UTF-8 whatever the locale, so it is measured as such.
 */
static bool utf8_ctype(void)
{
	if (setlocale(LC_CTYPE, "C.UTF-8") && !strcmp(nl_langinfo(CODESET), "UTF-8"))
		return true;
	return setlocale(LC_CTYPE, "") && !strcmp(nl_langinfo(CODESET), "UTF-8");
}

int cli_print_table(struct libscols_table *tb)
{
	struct libscols_iter *it;
	struct libscols_line *ln;
	size_t ncols = scols_table_get_ncols(tb);
	int r = 0;

	if (scols_table_is_raw(tb))
		return print_raw(tb);
	if (scols_table_is_export(tb))
		return print_newline(tb);
	/* Without a UTF-8 locale (an old C library), only ASCII is safe to measure. */
	unsigned flags = utf8_ctype() ? 0 : CLI_ESC_ASCII;
	it = scols_new_iter(SCOLS_ITER_FORWARD);
	if (!it)
		return -ENOMEM;
	while (r == 0 && scols_table_next_line(tb, it, &ln) == 0) {
		for (size_t i = 0; i < ncols && r == 0; i++) {
			struct libscols_cell *ce = scols_line_get_cell(ln, i);
			const char *data = scols_cell_get_data(ce);
			if (!data || plain(data))
				continue; /* the escape would copy it as it is */
			char *e = escape_dup(data, flags);
			r = e ? scols_cell_set_data(ce, e) : -ENOMEM;
			free(e);
		}
	}
	scols_free_iter(it);
	if (r)
		return r; /* never the cells unescaped */
	/* The cells are escaped already: libsmartcols must leave them alone (its own escaping
	 * depends on the locale and would escape the backslashes again). */
	scols_table_enable_noencoding(tb, 1);
	return scols_print_table(tb);
}
