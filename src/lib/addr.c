/*
 * addr.c - the address syntax shared by the API and the command.
 *
 *   /name  posix:/name  name     POSIX object (the name rules of name.c)
 *   sem:/name                    POSIX named semaphore
 *   sysv:KEY  sysv:id=N          System V segment (KEY decimal, 0x hex or 0 octal)
 *   file:PATH                    regular file
 *   memfd:  memfd:PID:FD         new memfd, or another process's
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Parse a whole non-negative number (base 0: decimal, 0x hex, 0 octal) no larger than MAX. */
static int parse_num(const char *s, int base, unsigned long long max, unsigned long long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return PSHM_EADDR;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (*end || errno || *v > max)
		return PSHM_EADDR;
	return 0;
}

static int parse_sysv(const char *s, struct pshm__addr *a)
{
	unsigned long long v;

	if (!strncmp(s, "id=", 3)) {
		if (parse_num(s + 3, 10, INT_MAX, &v))
			return PSHM_EADDR;
		a->by_id = true;
		a->id = (int)v;
		return 0;
	}
	/* Keys are 32-bit; ipcs prints them in hex, ipcmk takes decimal or hex. */
	if (parse_num(s, 0, UINT32_MAX, &v))
		return PSHM_EADDR;
	a->key = (key_t)(uint32_t)v;
	return 0;
}

static int parse_memfd(const char *s, struct pshm__addr *a)
{
	unsigned long long pid, fd;
	const char *colon = strchr(s, ':');

	if (!*s) {
		a->anonymous = true;
		return 0;
	}
	if (!colon)
		return PSHM_EADDR;
	char pidtext[24];
	size_t n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(pidtext))
		return PSHM_EADDR;
	memcpy(pidtext, s, n);
	pidtext[n] = '\0';
	if (parse_num(pidtext, 10, INT_MAX, &pid) || pid == 0 ||
	    parse_num(colon + 1, 10, INT_MAX, &fd))
		return PSHM_EADDR;
	a->pid = (pid_t)pid;
	a->id = (int)fd;
	return 0;
}

int pshm__addr_parse(const char *addr, struct pshm__addr *a)
{
	const char *base;

	memset(a, 0, sizeof(*a));
	if (!addr || !*addr)
		return PSHM_EADDR;
	if (*addr == '/') {
		/* The common case first: a POSIX name, with no scheme to look for. */
		a->kind = PSHM_POSIX;
		return pshm__name_check(addr, &a->name, &a->len);
	}
	if (!strncmp(addr, "sysv:", 5)) {
		a->kind = PSHM_SYSV;
		return parse_sysv(addr + 5, a);
	}
	if (!strncmp(addr, "memfd:", 6)) {
		a->kind = PSHM_MEMFD;
		return parse_memfd(addr + 6, a);
	}
	if (!strncmp(addr, "file:", 5)) {
		a->kind = PSHM_FILE;
		a->name = addr + 5;
		if (!*a->name)
			return PSHM_EADDR;
		return strlen(a->name) >= PATH_MAX ? -ENAMETOOLONG : 0;
	}
	if (!strncmp(addr, "sem:", 4)) {
		a->kind = PSHM_SEM;
		addr += 4;
	} else {
		a->kind = PSHM_POSIX;
		if (!strncmp(addr, "posix:", 6))
			addr += 6;
		else if (*addr != '/' && strchr(addr, ':'))
			return PSHM_EADDR; /* an unknown scheme, not a name */
	}
	int r = pshm__name_check(addr, &base, &a->len);
	if (r)
		return r;
	a->name = base;
	return 0;
}
