/*
 * sides.h - what bench_chan's run (harness.c) shares with its measurements' processes: the
 * forked sides' services and a pair's run (sides.c), a broadcast's run (bcast.c), and the codes
 * a message's first 8 bytes carry.
 */
#ifndef PSHM_BENCH_CHAN_SIDES_H
#define PSHM_BENCH_CHAN_SIDES_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "harness.h"

#define MAX_SAMPLES (1u << 21) /* the most latency samples one measurement takes */

/* The first 8 bytes of every message: a sequence number, or one of these. */
#define CODE_STOP UINT64_MAX
#define CODE_SYNC (UINT64_MAX - 1)

static inline uint64_t code_of(const void *buf)
{
	uint64_t v;
	memcpy(&v, buf, sizeof(v));
	return v;
}

static inline void set_code(void *buf, uint64_t v)
{
	memcpy(buf, &v, sizeof(v));
}

extern long ncpu; /* CPUs online */

/* Pin this process to CPU; 0 or a negative errno. */
int pin(int cpu);

/* A forked side's signals, its end, the wait for it, and its stop once the other has failed. */
void child_signals(const struct transport *t);
_Noreturn void end_side(const struct transport *t, int r, void *out, void *in);
int wait_side(pid_t pid);
void stop_side(const struct transport *t, pid_t pid);

/* Shared memory for what forked sides report back; NULL, errno set, when it cannot be had. */
void *shared_area(size_t len);

/*
 * Measure transport T's pair for WHAT (LAT or TPUT), the second process forked and pinned to
 * CPU 1; or T's broadcast (struct transport's readers). OUT and IN are the message buffers,
 * 64 KiB each. 0, or a negative errno.
 */
int run_pair(const struct transport *t, struct tctx *c, int what, const struct opts *o,
             uint64_t *samples, struct result *res, void *out, void *in);
int run_bcast(const struct transport *t, struct tctx *c, const struct opts *o, struct result *res,
              void *out, void *in);
/* Measure T's writers (writers_of) into its one reader (many.c). */
int run_many(const struct transport *t, struct tctx *c, const struct opts *o, struct result *res,
             void *out, void *in);

#endif
