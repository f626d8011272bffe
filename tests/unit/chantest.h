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
