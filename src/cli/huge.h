/*
 * huge.h - huge pages in the command (huge.c): the --huge[=SIZE] option of the commands that
 * create, what a failure to get huge pages means, and the kernel's pools of them.
 */
#ifndef PSHM_CLI_HUGE_H
#define PSHM_CLI_HUGE_H

#include "cli.h"

/* One pool of huge pages, as /sys/kernel/mm/hugepages/hugepages-<KB>kB counts it. */
struct huge_pool {
	uint64_t page_size; /* bytes */
	uint64_t total;     /* nr_hugepages: pages in the pool */
	uint64_t free;      /* free_hugepages, the reserved ones among them */
	uint64_t reserved;  /* resv_hugepages: promised to mappings, not yet faulted in */
	uint64_t surplus;   /* surplus_hugepages: above total, from nr_overcommit_hugepages */
};

/* The pools this machine has into P (room for MAX), the smallest page size first; how many
 * there are (0 when the kernel has none, or /sys cannot be read). */
size_t huge_pools(struct huge_pool *p, size_t max);

/*
 * Take --huge (ARG NULL) or --huge=SIZE of subcommand CMD into *FLAGS: PSHM_HUGE, and the log2
 * of SIZE in the size bits. SIZE must be a page size this machine has (a pool's, or the
 * transparent huge pages'); false after a usage error naming those it has.
 */
bool huge_option(const char *cmd, const char *arg, unsigned *flags);

/*
 * When ERR, the failure of OP on ADDR created with FLAGS and SIZE bytes, comes of asking for
 * huge pages (a directory that gives none, an empty or short pool, a page size the directory
 * does not have), say so with what to do and return true; else say nothing and return false.
 */
bool huge_explain(const char *op, const char *addr, unsigned flags, uint64_t size, int err);

/* The help line of --huge, for the commands that take it. */
#define HUGE_HELP                                                                                  \
	"      --huge[=SIZE]      back it with huge pages (default size: the system's);\n"         \
	"                         the size is rounded up to a whole page\n"

#endif /* PSHM_CLI_HUGE_H */
