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

/* Whether S is LOWER (lower-case ASCII letters) in any case; not the locale's, in which "I"
 * need not be "i". */
static bool caseless_eq(const char *s, const char *lower)
{
	for (; *lower; s++, lower++)
		if (*s != *lower && *s != *lower - 'a' + 'A')
			return false;
	return !*s;
}

/*
 * The multiplier of a size suffix, in any case: K or KiB powers of 1024, KB powers of 1000, B
 * or nothing 1. 0: unknown.
 */
static uint64_t suffix_scale(const char *s)
{
	static const char units[] = "KMGTPE";
	if (!*s || caseless_eq(s, "b"))
		return 1;
	char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
	const char *u = strchr(units, c);
	if (!u)
		return 0;
	unsigned power = (unsigned)(u - units) + 1;
	uint64_t base;
	if (!s[1] || caseless_eq(s + 1, "ib"))
		base = 1024;
	else if (caseless_eq(s + 1, "b"))
		base = 1000;
	else
		return 0;
	uint64_t m = 1;
	while (power--)
		m *= base;
	return m;
}

/*
 * A hexadecimal size, TEXT being 0x or 0X and then hex digits only: a count of bytes, with no
 * unit or fraction (B and E being digits there, a unit could not be told from one).
 */
static int parse_hex(const char *text, uint64_t *sizep)
{
	const char *p = text + 2;
	size_t n = strspn(p, "0123456789abcdefABCDEF");

	if (n == 0 || p[n])
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (v > (uint64_t)INT64_MAX >> 4)
			return -ERANGE;
		char c = p[i];
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	*sizep = v;
	return 0;
}

/*
 * The whole bytes in 0.F * SCALE (F the N fraction digits at FRAC), rounded down, exactly for
 * any number of digits. This is long multiplication of the decimal fraction by SCALE from its
 * last digit to its first, keeping only the carry: the carry stays below SCALE, so 10 * SCALE
 * (at most 10 * 2^60) fits in 64 bits, and the carry out of the first digit is the whole part.
 */
static uint64_t fraction_bytes(const char *frac, size_t n, uint64_t scale)
{
	uint64_t carry = 0;
	while (n--)
		carry = ((uint64_t)(frac[n] - '0') * scale + carry) / 10;
	return carry;
}

PSHM__API int pshm_parse_size(const char *text, uint64_t *sizep)
{
	const char *p = text, *frac = NULL;
	size_t wholelen = 0, fraclen = 0;

	if (!text)
		return -EINVAL;
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		return parse_hex(text, sizep);
	/* The syntax first, so that malformed text is EINVAL however large its number. */
	while (isdigit((unsigned char)p[wholelen]))
		wholelen++;
	if (wholelen == 0)
		return -EINVAL;
	const char *end = p + wholelen;
	if (*end == '.') {
		frac = end + 1;
		while (isdigit((unsigned char)frac[fraclen]))
			fraclen++;
		if (fraclen == 0)
			return -EINVAL;
		end = frac + fraclen;
	}
	uint64_t scale = suffix_scale(end);
	if (!scale)
		return -EINVAL;
	/* Sizes are file offsets (off_t): anything from 2^63 on is out of range. */
	const uint64_t max = INT64_MAX;
	uint64_t whole = 0;
	for (size_t i = 0; i < wholelen; i++) {
		uint64_t d = (uint64_t)(p[i] - '0');
		if (whole > (max - d) / 10)
			return -ERANGE;
		whole = whole * 10 + d;
	}
	if (whole > max / scale)
		return -ERANGE;
	uint64_t v = whole * scale;
	if (frac) {
		uint64_t add = fraction_bytes(frac, fraclen, scale);
		if (add > max - v)
			return -ERANGE;
		v += add;
	}
	*sizep = v;
	return 0;
}
