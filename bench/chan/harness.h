/*
 * harness.h - what bench_chan's run (harness.c, with sides.c and bcast.c) and its report
 * (report.c) share: the transports in the table's order, the sizes, one measurement and its
 * result.
 */
#ifndef PSHM_BENCH_CHAN_HARNESS_H
#define PSHM_BENCH_CHAN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define NSIZES 4
#define ROUNDS 3 /* every measurement is made this many times, interleaved (quick: once) */

extern const size_t sizes[NSIZES];

enum { LAT, TPUT };

enum {
	T_LINE,
	T_FUTEX,
	T_RING,
	T_DRING,
	T_CSPIN,
	T_CDEF,
	T_CBLOCK,
	T_CPOLL,
	T_PIPE,
	T_STREAM,
	T_SEQP,
	T_MQ,
	T_ZMQ,
	T_BOOST,
	T_IOX_POLL,
	T_IOX_WS,
	T_CHAN_LOSSY1,
	T_CHAN_LOSSY2,
	T_CHAN_LOSSY4,
	T_IOX_LOSSY1,
	T_IOX_LOSSY2,
	T_IOX_LOSSY4,
	T_CHAN_LOSSLESS1,
	T_CHAN_LOSSLESS2,
	T_CHAN_LOSSLESS4,
	T_IOX_LOSSLESS1,
	T_IOX_LOSSLESS2,
	T_IOX_LOSSLESS4,
	T_CHAN_ONE_WRITER,
	T_CHAN_WRITERS1,
	T_CHAN_WRITERS2,
	T_CHAN_WRITERS4,
	NT
};

/* The transports in the order of the table and of the rounds. */
extern const struct transport *const transports[NT];

/*
 * The writing processes of one of many.c's transports, which send at once into one queue
 * channel and are measured as the throughput its reader sees at BCAST_SIZE only; 0 for the rest.
 */
int writers_of(const struct transport *t);

struct result {
	const char *unavailable; /* NULL when measured */
	bool measured;
	double med_ns, p99_ns, p999_ns; /* one-way latency */
	long samples;
	double msgs_per_s, gb_per_s; /* the median slice */
	double overall_per_s;        /* all messages over the whole stream, the stop included */
	uint64_t messages;
	double delivered; /* a broadcast: the share of the messages sent that a reader received */
};

struct opts {
	bool quick, json;
	uint64_t run_ns;  /* how long each measurement runs */
	const char *only; /* measure only the transports whose name holds this */
};

struct cell {
	struct result lat, tput;
};

extern bool pinned; /* the two processes run on CPUs 0 and 1 */

/* Run transport T at SIZE for one of LAT or TPUT; 0, or a negative errno. */
int measure_one(const struct transport *t, size_t size, int what, const struct opts *o,
                uint64_t *samples, struct result *res);

/* The report (report.c): the rounds' figures combined, the targets' pairs, the table. */
extern struct cell by_round[ROUNDS][NT][NSIZES];
void combine(int nrounds);
int measure_targets(const struct opts *o, uint64_t *samples);
const char *size_name(size_t s);
void print_text(const struct opts *o, uint64_t wall_ns);
void print_json(const struct opts *o, uint64_t wall_ns);

#endif
