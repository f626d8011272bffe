/*
 * mode.c - permission bits as chmod(1) writes them: octal (640), or symbolic (u+w, go-rwx,
 * a=r, ug=rw,o=, g=u, +X).
 *
 * Symbolic modes follow POSIX chmod's grammar: clauses separated by commas, each [ugoa]* and
 * then one or more of an operator (+, -, =) with permission letters [rwxXs] or one class to
 * copy [ugo]. Two choices differ from chmod(1), both for the same reason as create's fchmod:
 * the umask never takes part, so an omitted class means a, whatever the umask; and the
 * sticky bit (t) is the lease's and cannot be given, nor is it changed by =.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What a symbolic mode may change: all but the sticky bit, which is the lease's. */
#define MODE_ALL (S_ISUID | S_ISGID | S_IRWXU | S_IRWXG | S_IRWXO)

/* Why a symbolic mode was refused. */
enum mode_err { MODE_OK, MODE_SYNTAX, MODE_STICKY };

/* The bits class letter C (u, g, o, a) stands for; 0 for another character. */
static mode_t class_bits(char c)
{
	switch (c) {
	case 'u':
		return S_ISUID | S_IRWXU;
	case 'g':
		return S_ISGID | S_IRWXG;
	case 'o':
		return S_IRWXO;
	case 'a':
		return MODE_ALL;
	}
	return 0;
}

/* The read, write and execute bits of class C in MODE, copied to all three classes. */
static mode_t copy_class(char c, mode_t mode)
{
	int shift = c == 'u' ? 6 : c == 'g' ? 3 : 0;
	mode_t rwx = (mode >> shift) & 07;
	return rwx << 6 | rwx << 3 | rwx;
}

/*
 * Read the permission letters or the class to copy at *P into *VALUE, for all classes; MODE is
 * the mode so far, which copies and X look at (X: execute only if someone may execute already,
 * chmod's rule for a file that is no directory).
 */
static enum mode_err perms(const char **p, mode_t mode, mode_t *value)
{
	const char *s = *p;

	*value = 0;
	if (*s && strchr("ugo", *s)) {
		*value = copy_class(*s, mode);
		*p = s + 1;
		return MODE_OK;
	}
	for (; *s && strchr("rwxXst", *s); s++) {
		switch (*s) {
		case 'r':
			*value |= S_IRUSR | S_IRGRP | S_IROTH;
			break;
		case 'w':
			*value |= S_IWUSR | S_IWGRP | S_IWOTH;
			break;
		case 'x':
			*value |= S_IXUSR | S_IXGRP | S_IXOTH;
			break;
		case 'X':
			if (mode & (S_IXUSR | S_IXGRP | S_IXOTH))
				*value |= S_IXUSR | S_IXGRP | S_IXOTH;
			break;
		case 's':
			*value |= S_ISUID | S_ISGID;
			break;
		default:
			return MODE_STICKY;
		}
	}
	*p = s;
	return MODE_OK;
}

/* One clause at *P ([ugoa]*, then operators with their permissions) applied to *MODE. */
static enum mode_err clause(const char **p, mode_t *mode)
{
	const char *s = *p;
	mode_t who = 0, value;

	for (; *s && class_bits(*s); s++)
		who |= class_bits(*s);
	if (!who)
		who = MODE_ALL;
	if (!*s || !strchr("+-=", *s))
		return MODE_SYNTAX;
	while (*s && strchr("+-=", *s)) {
		char op = *s++;
		enum mode_err e = perms(&s, *mode, &value);
		if (e)
			return e;
		value &= who;
		if (op == '+')
			*mode |= value;
		else if (op == '-')
			*mode &= ~value;
		else
			*mode = (*mode & ~who) | value;
	}
	*p = s;
	return MODE_OK;
}

/* Apply the symbolic mode TEXT to *MODE (left alone on failure). */
static enum mode_err symbolic(const char *text, mode_t *mode)
{
	mode_t m = *mode;
	const char *p = text;

	for (;;) {
		enum mode_err e = clause(&p, &m);
		if (e)
			return e;
		if (!*p)
			break;
		if (*p++ != ',')
			return MODE_SYNTAX;
	}
	*mode = m;
	return MODE_OK;
}

bool cli_mode_symbolic(const char *text)
{
	return text[0] < '0' || text[0] > '9';
}

/* TEXT applied to *MODE: octal bits replace it, a symbolic mode changes it. */
static enum mode_err parse(const char *text, mode_t *mode)
{
	char *end;

	if (cli_mode_symbolic(text))
		return symbolic(text, mode);
	errno = 0;
	unsigned long m = strtoul(text, &end, 8);
	if (*end || errno || m > 07777)
		return MODE_SYNTAX;
	if (m & S_ISVTX)
		return MODE_STICKY;
	*mode = (mode_t)m;
	return MODE_OK;
}

bool cli_mode(const char *cmd, const char *text, mode_t *mode)
{
	mode_t m = 0600;
	enum mode_err e = parse(text, &m);

	if (e == MODE_STICKY)
		cli_usage(cmd,
		          "invalid mode '%s': the sticky bit marks leased objects, which only a "
		          "lease sets (pshm hold --create --lease)",
		          text);
	else if (e)
		cli_usage(cmd,
		          "invalid mode '%s': expected octal bits such as 600 or 0644, or symbolic "
		          "ones such as u+w, go-rwx or a=r",
		          text);
	else
		*mode = m;
	return e == MODE_OK;
}

bool cli_mode_valid(const char *text)
{
	mode_t m = 0600;
	return parse(text, &m) == MODE_OK;
}

mode_t cli_mode_apply(const char *text, mode_t mode)
{
	parse(text, &mode);
	return mode;
}
