/*
 * chantest.h - what the channel tests share: the test program with cmocka (test_chan.c,
 * test_chan_crash.c) and the two without it (tsan_chan.c, fuzz_chan.c), so nothing here
 * depends on cmocka.
 */
#ifndef PSHM_CHANTEST_H
#define PSHM_CHANTEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pshm.h"

/* A 64-bit mixer: message lengths and payload patterns derived from a sequence number. */
static inline uint64_t chan_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * A tagged message of the many-writer tests: its tag (writer << 40 | number) in the first 8
 * bytes, then a pattern of the tag and the length.
 */
#define TAG(w, n) ((uint64_t)(w) << 40 | (n))

static inline void chan_tag_fill(unsigned char *p, uint64_t tag, size_t len)
{
	uint64_t x = chan_mix(tag ^ (uint64_t)len << 48);
	memcpy(p, &tag, 8);
	for (size_t i = 8; i < len; i++)
		p[i] = (unsigned char)(x >> (8 * (i & 7))) ^ (unsigned char)i;
}

/* Is P, LEN bytes, a whole tagged message, LEN_OF(tag) long? Its tag in *TAGP. */
static inline bool chan_tag_intact(const unsigned char *p, size_t len, uint64_t *tagp,
                                   size_t (*len_of)(uint64_t))
{
	unsigned char want[512];
	if (len < 8 || len > sizeof(want))
		return false;
	memcpy(tagp, p, 8);
	if (len != len_of(*tagp))
		return false;
	chan_tag_fill(want, *tagp, len);
	return memcmp(p, want, len) == 0;
}

/* What a channel call may return on a corrupted channel: success or one of its own errors. */
static inline bool chan_rc_plausible(int rc)
{
	switch (rc) {
	case 0:
	case -EBADMSG:
	case -EAGAIN:
	case -ETIMEDOUT:
	case -EPIPE:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -EOVERFLOW:
	case -EMSGSIZE:
	case -EINVAL:
	case -EBUSY:
	case PSHM_ETRUNCATED: /* a sound header that claims more than the object holds */
		return true;
	default:
		return false;
	}
}

#endif /* PSHM_CHANTEST_H */
