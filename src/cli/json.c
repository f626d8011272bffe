/*
 * json.c - JSON output. The tables are built with libsmartcols, and typed with its
 * scols_column_set_json_type, but printed as JSON here rather than by scols_print_table: its
 * JSON passes bytes that are not UTF-8 through as they are (2.38), which makes the document
 * invalid for a name or command name of any bytes, and older versions know no arrays of
 * numbers (PIDs). This prints numbers as numbers, booleans as booleans, arrays of numbers as
 * arrays, empty number cells as null, and every string by the one rule below.
 */
#include "cli.h"

#include <errno.h>
#include <libsmartcols.h>
#include <string.h>

/*
 * JSON strings must be UTF-8, and names and command names are any bytes: a byte that is not
 * part of valid UTF-8 becomes the text \xHH (JSON "\\xHH"), and so does a backslash (\x5c), so
 * that every backslash in the decoded string starts such an escape and the bytes come back by
 * replacing each \xHH with byte HH. Characters that could act on a terminal or break a line in
 * JavaScript are JSON escapes, which decode to the character itself.
 */
void cli_json_string(const char *s)
{
	putchar('"');
	while (*s) {
		uint32_t cp = 0;
		size_t len = cli_utf8_char(s, &cp);
		if (!len)
			printf("\\\\x%02x", (unsigned char)*s);
		else if (cp == '\\')
			fputs("\\\\x5c", stdout);
		else if (cp == '"')
			fputs("\\\"", stdout);
		else if (cli_char_unsafe(cp))
			printf("\\u%04x", (unsigned)cp);
		else
			fwrite(s, 1, len, stdout);
		s += len ? len : 1;
	}
	putchar('"');
}

/* A number cell must hold only a number: anything else becomes null, never broken JSON. */
static void json_number(const char *s, size_t len)
{
	size_t i = s[0] == '-';
	bool ok = len > i;
	for (; i < len && ok; i++)
		ok = (s[i] >= '0' && s[i] <= '9') || s[i] == '.';
	printf("%.*s", ok ? (int)len : 4, ok ? s : "null");
}

static void json_value(const char *data, int type)
{
	switch (type) {
	case SCOLS_JSON_NUMBER:
		if (!data || !*data)
			printf("null");
		else
			json_number(data, strlen(data));
		break;
	case SCOLS_JSON_BOOLEAN:
		printf(!data || !*data ? "null" : !strcmp(data, "0") ? "false" : "true");
		break;
	case SCOLS_JSON_ARRAY_NUMBER:
		putchar('[');
		for (const char *p = data ? data : ""; *p;) {
			size_t len = strcspn(p, "\n");
			if (p != data)
				putchar(',');
			json_number(p, len);
			p += len + (p[len] == '\n');
		}
		putchar(']');
		break;
	default:
		if (data)
			cli_json_string(data);
		else
			printf("null");
	}
}

/* Whether the document cli_json_begin opened has a member yet: the next one comes after a comma. */
static bool members;

/* Print line LN of TB as an object of its visible columns from column FROM on. LN starts at
 * column INDENT of its line; a nested table starts a line of its own, one column further in. */
static void json_line(struct libscols_table *tb, struct libscols_line *ln, size_t from, int indent)
{
	size_t ncols = scols_table_get_ncols(tb);
	bool first = true;

	putchar('{');
	for (size_t i = from; i < ncols; i++) {
		struct libscols_column *cl = scols_table_get_column(tb, i);
		struct libscols_cell *ce = scols_line_get_cell(ln, i);
		struct libscols_table *sub = scols_cell_get_userdata(ce);
		if (scols_column_is_hidden(cl))
			continue;
		if (!first && sub)
			printf(",\n%*s", indent + 1, "");
		else if (!first)
			printf(", ");
		first = false;
		printf("\"%s\": ", scols_column_get_name(cl));
		if (!sub) {
			json_value(scols_cell_get_data(ce), scols_column_get_json_type(cl));
			continue;
		}
		struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
		struct libscols_line *sl;
		putchar('[');
		for (bool one = true; it && scols_table_next_line(sub, it, &sl) == 0; one = false) {
			printf("%s", one ? "" : ", ");
			json_line(sub, sl, 0, indent + 1);
		}
		putchar(']');
		scols_free_iter(it);
	}
	putchar('}');
}

int cli_json_nest(struct libscols_line *ln, size_t col, struct libscols_table *sub)
{
	struct libscols_cell *ce = scols_line_get_cell(ln, col);
	return ce ? scols_cell_set_userdata(ce, sub) : -EINVAL;
}

void cli_json_begin(void)
{
	putchar('{');
	members = false;
}

void cli_json_end(void)
{
	printf("\n}\n");
}

/* Start member NAME of the open document. */
static void member(const char *name)
{
	printf("%s\n   \"%s\": ", members ? "," : "", name);
	members = true;
}

void cli_json_bool(const char *name, bool value)
{
	member(name);
	printf("%s", value ? "true" : "false");
}

void cli_json_table(struct libscols_table *tb, const char *name, enum cli_json_shape shape)
{
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;
	bool keyed = shape == CLI_JSON_KEYED, first = true;

	member(name);
	if (shape == CLI_JSON_OBJECT) {
		if (it && scols_table_next_line(tb, it, &ln) == 0)
			json_line(tb, ln, 0, 3);
		else
			printf("null");
		scols_free_iter(it);
		return;
	}
	putchar(keyed ? '{' : '[');
	while (it && scols_table_next_line(tb, it, &ln) == 0) {
		printf("%s\n      ", first ? "" : ",");
		first = false;
		if (keyed) {
			json_value(scols_cell_get_data(scols_line_get_cell(ln, 0)),
			           SCOLS_JSON_STRING);
			printf(": ");
		}
		json_line(tb, ln, keyed ? 1 : 0, 6);
	}
	printf("%s%c", first ? "" : "\n   ", keyed ? '}' : ']');
	scols_free_iter(it);
}

void cli_print_json(struct libscols_table *tb, const char *name)
{
	cli_json_begin();
	cli_json_table(tb, name, CLI_JSON_ARRAY);
	cli_json_end();
}
