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
#include <unistd.h>

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

/* One visible column of a table laid out by print_aligned. */
struct acol {
	struct libscols_column *cl;
	size_t idx;   /* its cells' index in a line */
	size_t width; /* the width it is laid out at */
	bool right;
};

/* The width in columns of S, or SIZE_MAX when it holds anything but printable ASCII. */
static size_t ascii_width(const char *s)
{
	const char *p = s;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return SIZE_MAX;
	return (size_t)(p - s);
}

/*
 * One cell of C laid out at OUT as libsmartcols lays it out, LAST for the last visible column:
 * at most C's width and a separator. Returns the end of what it wrote.
 */
static char *put_cell(char *out, const struct acol *c, const char *data, bool last)
{
	size_t len = strlen(data);
	if (c->right && len) {
		memset(out, ' ', c->width - len);
		out += c->width - len;
	}
	memcpy(out, data, len);
	out += len;
	if (c->right && len)
		len = c->width;
	if (last)
		return out; /* nothing after the last column, not even its padding */
	memset(out, ' ', c->width - len);
	out += c->width - len;
	*out++ = ' ';
	return out;
}

/*
 * Lay TB out as libsmartcols (2.38) does for standard output that is no terminal, where it
 * never truncates: each visible column as wide as its widest cell, at least as wide as its
 * heading (and 1); when its cells and heading are both narrower than an absolute width hint (1
 * or more), that wide. A right-aligned cell is padded on the left, another on the right except
 * in the last column; one space between columns; headings unless disabled; no line at all for
 * a table without lines. libsmartcols measures every cell with the C library's multibyte
 * functions, which took a third of pshm ls's time for 10,000 objects; here a cell of printable
 * ASCII is as wide as it is long. Returns 1, having printed nothing, for a table this does not
 * lay out (a terminal, a cell or heading other than printable ASCII, a feature pshm does not
 * use), -ENOMEM, or 0.
 */
static int print_aligned(struct libscols_table *tb)
{
	size_t ncols = scols_table_get_ncols(tb), nvis = 0;
	const char *sep = scols_table_get_column_separator(tb);
	const char *lsep = scols_table_get_line_separator(tb);
	FILE *f = scols_table_get_stream(tb);
	struct libscols_iter *it;
	struct libscols_line *ln;
	struct libscols_column *cl;
	int r = 1;

	if (!f || isatty(fileno(f)) || scols_table_get_termforce(tb) == SCOLS_TERMFORCE_ALWAYS ||
	    scols_table_is_tree(tb) || scols_table_is_maxout(tb) || scols_table_is_minout(tb) ||
	    scols_table_colors_wanted(tb) || scols_cell_get_data(scols_table_get_title(tb)) ||
	    (sep && strcmp(sep, " ")) || (lsep && strcmp(lsep, "\n")) ||
	    scols_table_get_nlines(tb) == 0)
		return 1;
	struct acol *cols = calloc(ncols ? ncols : 1, sizeof(*cols));
	if (!cols || !(it = scols_new_iter(SCOLS_ITER_FORWARD))) {
		free(cols);
		return -ENOMEM;
	}
	for (size_t i = 0; scols_table_next_column(tb, it, &cl) == 0 && i < ncols; i++) {
		int flags = scols_column_get_flags(cl);
		if (flags & ~(SCOLS_FL_RIGHT | SCOLS_FL_TRUNC | SCOLS_FL_HIDDEN))
			goto done;
		if (flags & SCOLS_FL_HIDDEN)
			continue;
		const char *name = scols_cell_get_data(scols_column_get_header(cl));
		size_t w = ascii_width(name ? name : "");
		if (w == SIZE_MAX)
			goto done;
		cols[nvis++] = (struct acol){
		    .cl = cl, .idx = i, .width = w ? w : 1, .right = flags & SCOLS_FL_RIGHT};
	}
	/* The widest cell of each column, checking every cell on the way. */
	size_t *widest = calloc(nvis ? nvis : 1, sizeof(*widest));
	if (!widest) {
		r = -ENOMEM;
		goto done;
	}
	scols_reset_iter(it, SCOLS_ITER_FORWARD);
	while (scols_table_next_line(tb, it, &ln) == 0) {
		for (size_t k = 0; k < nvis; k++) {
			const char *data =
			    scols_cell_get_data(scols_line_get_cell(ln, cols[k].idx));
			size_t w = ascii_width(data ? data : "");
			if (w == SIZE_MAX) {
				free(widest);
				goto done;
			}
			if (w > widest[k])
				widest[k] = w;
		}
	}
	for (size_t k = 0; k < nvis; k++) {
		double hint = scols_column_get_whint(cols[k].cl);
		size_t heading = cols[k].width;
		if (widest[k] < heading)
			continue; /* the heading's width */
		cols[k].width = widest[k];
		if (hint >= 1 && widest[k] < (size_t)hint && heading < (size_t)hint)
			cols[k].width = (size_t)hint;
	}
	free(widest);
	/* Each line is laid out whole in LINE, as wide as every column and its separator. */
	size_t room = 2;
	for (size_t k = 0; k < nvis; k++)
		room += cols[k].width + 1;
	char *line = malloc(room);
	if (!line) {
		r = -ENOMEM;
		goto done;
	}
	for (bool heading = !scols_table_is_noheadings(tb); heading; heading = false) {
		char *end = line;
		for (size_t k = 0; k < nvis; k++) {
			const char *name = scols_cell_get_data(scols_column_get_header(cols[k].cl));
			end = put_cell(end, &cols[k], name ? name : "", k + 1 == nvis);
		}
		*end++ = '\n';
		fwrite(line, 1, (size_t)(end - line), f);
	}
	scols_reset_iter(it, SCOLS_ITER_FORWARD);
	while (scols_table_next_line(tb, it, &ln) == 0) {
		char *end = line;
		for (size_t k = 0; k < nvis; k++) {
			const char *data =
			    scols_cell_get_data(scols_line_get_cell(ln, cols[k].idx));
			end = put_cell(end, &cols[k], data ? data : "", k + 1 == nvis);
		}
		*end++ = '\n';
		fwrite(line, 1, (size_t)(end - line), f);
	}
	free(line);
	r = 0;
done:
	scols_free_iter(it);
	free(cols);
	return r;
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
	r = print_aligned(tb);
	return r == 1 ? scols_print_table(tb) : r;
}
