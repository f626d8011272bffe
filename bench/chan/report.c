/*
 * report.c - bench_chan's results: the rounds' figures combined into medians, the targets
 * measured in back-to-back pairs and judged, and the table or JSON printed.
 */
#include <pshm.h>

#include <stdio.h>
#include <string.h>

#include "benchutil.h"
#include "harness.h"

static struct cell cells[NT][NSIZES]; /* the results: medians over the rounds */
struct cell by_round[ROUNDS][NT][NSIZES];

/* Each figure of a cell is the median of its figures over the rounds that measured it. */
void combine(int nrounds)
{
	for (int t = 0; t < NT; t++) {
		for (int s = 0; s < NSIZES; s++) {
			struct result *l = &cells[t][s].lat, *p = &cells[t][s].tput;
			double a[6][ROUNDS];
			int nl = 0, np = 0;
			for (int k = 0; k < nrounds; k++) {
				const struct cell *c = &by_round[k][t][s];
				if (c->lat.unavailable)
					l->unavailable = c->lat.unavailable;
				if (c->tput.unavailable)
					p->unavailable = c->tput.unavailable;
				if (c->lat.measured) {
					a[0][nl] = c->lat.med_ns;
					a[1][nl] = c->lat.p99_ns;
					a[2][nl++] = c->lat.p999_ns;
					l->samples += c->lat.samples;
				}
				if (c->tput.measured) {
					a[3][np] = c->tput.msgs_per_s;
					a[4][np] = c->tput.overall_per_s;
					a[5][np++] = c->tput.delivered;
					p->messages += c->tput.messages;
				}
			}
			if (nl) {
				l->measured = true;
				l->med_ns = bench_median(a[0], nl);
				l->p99_ns = bench_median(a[1], nl);
				l->p999_ns = bench_median(a[2], nl);
			}
			if (np) {
				p->measured = true;
				p->msgs_per_s = bench_median(a[3], np);
				p->overall_per_s = bench_median(a[4], np);
				p->delivered = bench_median(a[5], np);
				p->gb_per_s = p->msgs_per_s * (double)sizes[s] / 1e9;
			}
		}
	}
}

/*
 * The targets. Each ratio is measured on its own, in PAIRS back-to-back pairs of the two
 * measurements it compares (in alternating order), and the median of the pairs' ratios is the
 * verdict's: on a shared machine the speed of cache-line transfers changes from one second to
 * the next (with where the host runs the two virtual CPUs), and a ratio of figures taken
 * seconds apart would measure that change as much as the channel.
 */
#define PAIRS    7 /* quick: 3 */
#define NTARGETS 11

static const struct target_spec {
	const char *name;
	int what, size_i, ours, base;
	double limit;
	bool at_most; /* PASS when the ratio is at most the limit, else at least */
} target_specs[NTARGETS] = {
    {"spin latency (8 B median) / cache line one-way", LAT, 0, T_CSPIN, T_LINE, 1.3, true},
    {"blocking latency (8 B median) / futex one-way", LAT, 0, T_CBLOCK, T_FUTEX, 1.2, true},
    {"spin throughput / spsc ring, 64 B", TPUT, 1, T_CSPIN, T_RING, 0.8, false},
    {"spin throughput / spsc ring, 64 KiB", TPUT, 3, T_CSPIN, T_RING, 0.9, false},
    {"spin throughput / pipe, 64 B", TPUT, 1, T_CSPIN, T_PIPE, 20.0, false},
    {"spin latency (8 B median) / iceoryx polling", LAT, 0, T_CSPIN, T_IOX_POLL, 0.3, true},
    {"spin throughput / iceoryx polling, 64 B", TPUT, 1, T_CSPIN, T_IOX_POLL, 10.0, false},
    {"blocking latency (8 B median) / iceoryx WaitSet", LAT, 0, T_CBLOCK, T_IOX_WS, 1.0, true},
    {"many writers x1 / 1 writer, 64 B", TPUT, 1, T_CHAN_WRITERS1, T_CHAN_ONE_WRITER, 0.7, false},
    {"many writers x2 / 1 writer, 64 B", TPUT, 1, T_CHAN_WRITERS2, T_CHAN_ONE_WRITER, 0.5, false},
    {"pollable wake-up (8 B median) / pipe one-way", LAT, 0, T_CPOLL, T_PIPE, 1.3, true},
};

struct target {
	double ratio, lo, hi; /* the median, least and greatest of the pairs' ratios */
	int pairs;
	bool known;
};

static struct target tgs[NTARGETS];

static double figure(const struct result *r, int what)
{
	return what == LAT ? r->med_ns : r->msgs_per_s;
}

/* Measure the targets' pairs; transports left out by --only leave their targets unknown. */
int measure_targets(const struct opts *o, uint64_t *samples)
{
	int npairs = o->quick ? 3 : PAIRS;

	for (int i = 0; i < NTARGETS && !stop_signal; i++) {
		const struct target_spec *ts = &target_specs[i];
		const struct transport *a = transports[ts->ours], *b = transports[ts->base];
		struct target *tg = &tgs[i];
		double ratios[PAIRS];
		if (o->only && (!strstr(a->name, o->only) || !strstr(b->name, o->only)))
			continue;
		tg->pairs = 0;
		for (int p = 0; p < npairs && !stop_signal; p++) {
			struct result ra = {0}, rb = {0}; /* an unavailable one stays unmeasured */
			int r;
			if (p % 2 == 0) {
				r = measure_one(a, sizes[ts->size_i], ts->what, o, samples, &ra);
				if (!r)
					r = measure_one(b, sizes[ts->size_i], ts->what, o, samples,
					                &rb);
			} else {
				r = measure_one(b, sizes[ts->size_i], ts->what, o, samples, &rb);
				if (!r)
					r = measure_one(a, sizes[ts->size_i], ts->what, o, samples,
					                &ra);
			}
			if (r)
				return r;
			if (!ra.measured || !rb.measured || figure(&rb, ts->what) <= 0)
				break;
			ratios[tg->pairs++] = figure(&ra, ts->what) / figure(&rb, ts->what);
		}
		if (!tg->pairs)
			continue;
		tg->known = true;
		tg->ratio = bench_median(ratios, tg->pairs); /* sorts them */
		tg->lo = ratios[0];
		tg->hi = ratios[tg->pairs - 1];
	}
	return 0;
}

static bool target_pass(int i)
{
	const struct target *t = &tgs[i];
	const struct target_spec *ts = &target_specs[i];
	return t->known && (ts->at_most ? t->ratio <= ts->limit : t->ratio >= ts->limit);
}

const char *size_name(size_t s)
{
	switch (s) {
	case 8:
		return "8 B";
	case 64:
		return "64 B";
	case 1024:
		return "1 KiB";
	default:
		return "64 KiB";
	}
}

/*
 * The cell of transport T at size S when the report has a row for it, else NULL (a limit's
 * larger sizes, a transport left out by --only); *UN is why it was not measured, or NULL.
 */
static const struct cell *row(int t, int s, const char **un)
{
	const struct cell *c = &cells[t][s];
	if ((transports[t]->lat_only && s > 0) ||
	    ((transports[t]->readers || writers_of(transports[t])) && sizes[s] != BCAST_SIZE))
		return NULL;
	*un = c->lat.unavailable ? c->lat.unavailable : c->tput.unavailable;
	return *un || c->lat.measured || c->tput.measured ? c : NULL;
}

void print_text(const struct opts *o, uint64_t wall_ns)
{
	printf("pshm channels against the hardware limit and other transports%s: writer on CPU %s, "
	       "reader on CPU %s, %.2f s per measurement, %.1f s in all\n",
	       o->quick ? " (quick)" : "", pinned ? "0" : "any", pinned ? "1" : "any",
	       (double)o->run_ns / 1e9, (double)wall_ns / 1e9);
	printf("latency: one way, half a round trip, in ns (median, p99, p99.9); throughput: "
	       "messages streamed one way;\nbroadcast (xN: N readers): messages each reader "
	       "received per second, and their share of those sent\n");
	printf("many writers (writers xN: N writers; 1 writer: an ordinary channel): messages the "
	       "reader received per second\n");
	if (iceoryx_broker())
		printf("iceoryx: %s\n", iceoryx_broker());
	printf("\n");
	printf("%-16s %-7s %9s %9s %9s %13s %9s\n", "transport", "size", "median", "p99", "p99.9",
	       "messages/s", "GB/s");
	for (int t = 0; t < NT; t++) {
		for (int s = 0; s < NSIZES; s++) {
			const char *un;
			const struct cell *c = row(t, s, &un);
			if (!c)
				continue;
			printf("%-16s %-7s ", transports[t]->name, size_name(sizes[s]));
			if (un) {
				printf("%s\n", un);
				continue;
			}
			if (c->lat.measured)
				printf("%9.0f %9.0f %9.0f ", c->lat.med_ns, c->lat.p99_ns,
				       c->lat.p999_ns);
			else
				printf("%9s %9s %9s ", "-", "-", "-");
			if (c->tput.measured)
				printf("%13.0f %9.3f", c->tput.msgs_per_s, c->tput.gb_per_s);
			else
				printf("%13s %9s", "-", "-");
			if (c->tput.measured && transports[t]->readers)
				printf("  %5.1f%% delivered", 100 * c->tput.delivered);
			printf("\n");
		}
	}
	printf("\ntargets: median ratio of %d back-to-back pairs (least-greatest)\n",
	       o->quick ? 3 : PAIRS);
	for (int i = 0; i < NTARGETS; i++) {
		const struct target_spec *ts = &target_specs[i];
		const struct target *tg = &tgs[i];
		if (!tg->known) {
			printf("  %-48s %7s %15s  %s %-5.1f  %s\n", ts->name, "-", "",
			       ts->at_most ? "<=" : ">=", ts->limit, "not measured");
			continue;
		}
		char range[40];
		snprintf(range, sizeof(range), "(%.3g-%.3g)", tg->lo, tg->hi);
		printf("  %-48s %7.3f %15s  %s %-5.1f  %s\n", ts->name, tg->ratio, range,
		       ts->at_most ? "<=" : ">=", ts->limit, target_pass(i) ? "PASS" : "FAIL");
	}
}

void print_json(const struct opts *o, uint64_t wall_ns)
{
	printf("{\"quick\": %s, \"pinned\": %s, \"run_s\": %.3f, \"wall_s\": %.3f, "
	       "\"mq_msgsize_max\": %ld, \"zmq\": %s, \"boost\": %s, \"iceoryx\": %s, ",
	       o->quick ? "true" : "false", pinned ? "true" : "false", (double)o->run_ns / 1e9,
	       (double)wall_ns / 1e9, mq_msgsize_max(), zmq_built ? "true" : "false",
	       boost_built ? "true" : "false", iceoryx_built ? "true" : "false");
	if (iceoryx_broker())
		printf("\"iceoryx_broker\": \"%s\", \"rows\": [", iceoryx_broker());
	else
		printf("\"iceoryx_broker\": null, \"rows\": [");
	bool first = true;
	for (int t = 0; t < NT; t++) {
		for (int s = 0; s < NSIZES; s++) {
			const char *un;
			const struct cell *c = row(t, s, &un);
			if (!c)
				continue;
			printf("%s\n  {\"transport\": \"%s\", \"what\": \"%s\", \"size\": %zu",
			       first ? "" : ",", transports[t]->name, transports[t]->desc,
			       sizes[s]);
			first = false;
			if (transports[t]->readers)
				printf(", \"readers\": %d", transports[t]->readers);
			if (writers_of(transports[t]))
				printf(", \"writers\": %d", writers_of(transports[t]));
			if (un) {
				printf(", \"unavailable\": \"%s\"}", un);
				continue;
			}
			if (c->lat.measured)
				printf(", \"latency_ns\": {\"median\": %.1f, \"p99\": %.1f, "
				       "\"p999\": %.1f, \"samples\": %ld}",
				       c->lat.med_ns, c->lat.p99_ns, c->lat.p999_ns,
				       c->lat.samples);
			if (c->tput.measured) {
				printf(
				    ", \"throughput\": {\"msgs_per_s\": %.0f, \"gb_per_s\": %.4f, "
				    "\"overall_msgs_per_s\": %.0f, \"messages\": %llu",
				    c->tput.msgs_per_s, c->tput.gb_per_s, c->tput.overall_per_s,
				    (unsigned long long)c->tput.messages);
				if (transports[t]->readers)
					printf(", \"delivered\": %.4f", c->tput.delivered);
				printf("}");
			}
			printf("}");
		}
	}
	printf("\n], \"targets\": [");
	for (int i = 0; i < NTARGETS; i++) {
		const struct target_spec *ts = &target_specs[i];
		const struct target *tg = &tgs[i];
		printf("%s\n  {\"name\": \"%s\", \"limit\": %.2f, \"at_most\": %s, ", i ? "," : "",
		       ts->name, ts->limit, ts->at_most ? "true" : "false");
		if (tg->known)
			printf(
			    "\"ratio\": %.4f, \"least\": %.4f, \"greatest\": %.4f, \"pairs\": %d, "
			    "\"pass\": %s}",
			    tg->ratio, tg->lo, tg->hi, tg->pairs,
			    target_pass(i) ? "true" : "false");
		else
			printf("\"ratio\": null, \"pass\": null}");
	}
	printf("\n]}\n");
}
