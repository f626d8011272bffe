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

#include <stdlib.h>
#include <string.h>

/* Each byte's value as a hexadecimal digit plus one, 0 for none. */
static const unsigned char digit_of[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/*
 * Parse a whole non-negative number no larger than MAX (below 2^32): in BASE 10, or with BASE 0
 * as C writes them (0x hex, a leading 0 octal, else decimal). No sign, space or other byte is
 * taken. By hand: strtoull(3) cost more than the rest of the library's part of an open.
 */
static int parse_num(const char *s, unsigned base, unsigned long long max, unsigned long long *v)
{
	if (base == 0) {
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			base = 16, s += 2;
		else if (s[0] == '0' && s[1])
			base = 8, s += 1;
		else
			base = 10;
	}
	if (!*s)
		return PSHM_EADDR;
	unsigned long long n = 0;
	for (; *s; s++) {
		unsigned d = digit_of[(unsigned char)*s];
		if (d == 0 || d > base)
			return PSHM_EADDR;
		/* N is at most MAX, below 2^32, before the step: it cannot overflow. */
		n = n * base + d - 1;
		if (n > max)
			return PSHM_EADDR;
	}
	*v = n;
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
