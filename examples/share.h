/*
 * share.h - the layout the two example programs agree on, at the start of the shared object.
 * The reader trusts none of it: the length is checked against the mapping before use.
 */
#ifndef SHARE_H
#define SHARE_H

#include <stdint.h>

#define SHARE_MAGIC 0x70736d68u /* "pshm" */

struct share {
	uint32_t magic;
	uint32_t ready; /* set (release) by the writer once text and length are in place */
	uint32_t acked; /* set (release) by the reader once it has read them */
	uint32_t length;
	char text[];
};

#endif
