/*
 * util.c - error names, the version, and size parsing.
 */
#include "internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

PSHM__API const char *pshm_strerror(int err)
{
	switch (err) {
#define PSHM__ERRCASE(name, value, text)                                                           \
	case (value):                                                                              \
		return text;
		PSHM_ERRORS(PSHM__ERRCASE)
#undef PSHM__ERRCASE
	}
	/* INT_MIN cannot be negated, and no errno value is that large anyway. */
	if (err == INT_MIN)
		return "Unknown error";
	if (err < 0)
		err = -err;
	if (err == 0)
		return "Success";
	/* strerrordesc_np is thread-safe and never formats into a shared buffer. */
	const char *s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}

PSHM__API const char *pshm_version(void)
{
	return PSHM_VERSION_STRING;
}

/* The multiplier of a size suffix: K/KiB powers of 1024, KB powers of 1000. 0: unknown. */
static uint64_t suffix_scale(const char *s)
{
	static const char units[] = "KMGTPE";
	if (!*s)
		return 1;
	if (!strcmp(s, "B"))
		return 1;
	const char *u = strchr(units, toupper((unsigned char)*s));
	if (!u)
		return 0;
	unsigned power = (unsigned)(u - units) + 1;
	uint64_t base;
	if (!s[1] || !strcmp(s + 1, "iB"))
		base = 1024;
	else if (!strcmp(s + 1, "B"))
		base = 1000;
	else
		return 0;
	uint64_t m = 1;
	while (power--)
		m *= base;
	return m;
}

PSHM__API int pshm_parse_size(const char *text, uint64_t *sizep)
{
	uint64_t whole = 0, scale;
	const char *p = text;
	char *end;

	if (!text || !isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	whole = strtoull(p, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	/* The fraction is kept as a decimal string so that 1.5M is exactly 1572864. */
	const char *frac = NULL;
	size_t fraclen = 0;
	if (*end == '.') {
		frac = end + 1;
		while (isdigit((unsigned char)frac[fraclen]))
			fraclen++;
		if (fraclen == 0)
			return -EINVAL;
		end = (char *)frac + fraclen;
	}
	scale = suffix_scale(end);
	if (!scale)
		return -EINVAL;
	if (whole > INT64_MAX / scale)
		return -ERANGE;
	uint64_t v = whole * scale;
	if (frac) {
		/* Round down digit by digit: v += scale * 0.d1d2... */
		uint64_t part = 0, div = 1;
		for (size_t i = 0; i < fraclen && div <= UINT64_MAX / 10 / scale; i++) {
			part = part * 10 + (uint64_t)(frac[i] - '0');
			div *= 10;
		}
		uint64_t add = (uint64_t)((__uint128_t)part * scale / div);
		if (add > INT64_MAX - v)
			return -ERANGE;
		v += add;
	}
	*sizep = v;
	return 0;
}
