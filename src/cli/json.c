/*
 * json.c - JSON output. The tables are built with libsmartcols; this prints them as JSON
 * itself, so that numbers are numbers, booleans are booleans and arrays of numbers (PIDs) are
 * arrays of numbers, whatever the library's version.
 */
#include "cli.h"

#include <libsmartcols.h>
#include <string.h>

void cli_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
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

void cli_print_json(struct libscols_table *tb, const char *name)
{
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;
	size_t ncols = scols_table_get_ncols(tb);
	bool first = true;

	printf("{\n   \"%s\": [", name);
	while (it && scols_table_next_line(tb, it, &ln) == 0) {
		printf("%s\n      {", first ? "" : ",");
		first = false;
		bool firstcol = true;
		for (size_t i = 0; i < ncols; i++) {
			struct libscols_column *cl = scols_table_get_column(tb, i);
			if (scols_column_is_hidden(cl))
				continue;
			printf("%s\"%s\": ", firstcol ? "" : ", ", scols_column_get_name(cl));
			firstcol = false;
			json_value(scols_cell_get_data(scols_line_get_cell(ln, i)),
			           scols_column_get_json_type(cl));
		}
		printf("}");
	}
	printf("%s]\n}\n", first ? "" : "\n   ");
	scols_free_iter(it);
}
