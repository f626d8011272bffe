/*
 * match.c - shell-style patterns (fnmatch(3)) that select objects for ls and rm. A pattern is
 * matched against the addresses pshm_list() gives, so that it can only ever select what ls
 * shows: the library's own files (channels' beacons and FIFOs) are never listed, and so never
 * matched.
 */
#include "cli.h"

#include <fnmatch.h>
#include <limits.h>
#include <string.h>

bool cli_is_pattern(const char *arg)
{
	return strpbrk(arg, "*?[") != NULL;
}

/* The kind prefixes a pattern may start with. POSIX objects and semaphores are matched by
 * name; System V segments and memfds by their whole address, as ls shows it. */
static const struct {
	const char *prefix;
	unsigned kinds;
	bool by_name;
} prefixes[] = {
    {"posix:", PSHM_LIST_POSIX, true},
    {"sem:", PSHM_LIST_SEM, true},
    {"sysv:", PSHM_LIST_SYSV, false},
    {"memfd:", PSHM_LIST_MEMFD, false},
};

/* A name pattern, after its kind prefix and leading slash: one name, no slash inside. */
static int name_pattern(const char *cmd, const char *arg, const char *name, struct cli_pattern *p)
{
	if (strchr(name, '/')) {
		fprintf(stderr,
		        "pshm: %s %s: a name has no '/' but the leading one, so this pattern "
		        "cannot match\n"
		        "pshm: patterns match names in %s, not in the directories below it\n",
		        cmd, cli_safe(arg), cli_safe(pshm_shm_dir()));
		return EXIT_FAIL;
	}
	if (!*name || strlen(name) > NAME_MAX)
		return cli_fail(cmd, arg, PSHM_EADDR);
	p->text = name;
	return EXIT_OK;
}

int cli_pattern_parse(const char *cmd, const char *arg, struct cli_pattern *p)
{
	p->kinds = PSHM_LIST_POSIX;
	p->by_name = true;
	if (arg[0] == '/')
		return name_pattern(cmd, arg, arg + 1, p);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t len = strlen(prefixes[i].prefix);
		if (strncmp(arg, prefixes[i].prefix, len))
			continue;
		p->kinds = prefixes[i].kinds;
		p->by_name = prefixes[i].by_name;
		if (!p->by_name) {
			p->text = arg;
			return EXIT_OK;
		}
		return name_pattern(cmd, arg, arg + len + (arg[len] == '/'), p);
	}
	if (!strncmp(arg, "file:", 5)) {
		fprintf(stderr,
		        "pshm: %s %s: files are not listed, so no pattern selects them\n"
		        "pshm: let the shell expand the path: file:PATH for each file\n",
		        cmd, cli_safe(arg));
		return EXIT_FAIL;
	}
	if (strchr(arg, ':'))
		return cli_fail(cmd, arg, PSHM_EADDR);
	/* A name without its slash, which the addresses take too (with a warning). */
	cli_warn_bare(arg);
	return name_pattern(cmd, arg, arg, p);
}

bool cli_pattern_match(const struct cli_pattern *p, const struct pshm_stat *st)
{
	if (!(p->kinds & (1u << st->kind)))
		return false;
	if (!p->by_name)
		return fnmatch(p->text, st->address, 0) == 0;
	/* "/NAME" or "sem:/NAME": the name after the slash. As in the shell, a wildcard matches
	 * no leading dot: hidden names are selected only by patterns that spell the dot out. */
	const char *name = strchr(st->address, '/');
	return name && fnmatch(p->text, name + 1, FNM_PERIOD) == 0;
}
