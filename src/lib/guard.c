/*
 * guard.c - mappings that survive the truncation of their object.
 *
 * Whoever can write an object can shrink it, and every later access to a page past its new end
 * raises SIGBUS in each process that maps it: by default, death. The library guards the
 * mappings it reads itself (every channel's) and those a caller asks it to (PSHM_MAP_GUARD).
 * One process-wide SIGBUS handler looks up the faulting address among the guarded mappings;
 * when one holds it, the handler maps private zero pages over that mapping from the faulting
 * page to its end (same protection), raises the mapping's flag and returns. The access is made
 * again and reads zeros, or writes to memory nobody else sees; the code that owns the mapping
 * looks at the flag and fails its call rather than trust what it read.
 *
 * The registry is read from the handler, so it takes no lock and allocates nothing there:
 * chunks of GUARD_CHUNK slots, the first static, more linked on with a compare-and-swap and
 * never freed. A slot is FREE, CLAIMED (its owner is filling it in), ACTIVE, or RETIRING.
 *
 * Races. The handler counts itself in a slot's busy word before it reads the slot, and removal
 * marks the slot RETIRING and then waits for busy to be zero; both sides use sequentially
 * consistent operations, so either the handler sees RETIRING and leaves the slot alone, or the
 * removal sees the handler and waits until it is done. Owners remove a guard before they unmap
 * the range, so the handler never maps zero pages over addresses that have been given to
 * something else since. Two threads that fault in one mapping at once both map zero pages,
 * which is harmless: the mapping is dead either way. A fault in a mapping that another thread
 * is unmapping at that moment is a use after unmap by the application: when the removal came
 * first the fault is not ours and is passed on, as it would be without the guard (or, if a new
 * guarded mapping has been given the same addresses meanwhile, that one is zeroed, as memory
 * reused under a dangling pointer gets written).
 *
 * Faults that are not ours (another address, or a SIGBUS sent with kill) go to the handler
 * that was installed before ours: called as it expects (SA_SIGINFO or not); a default or
 * ignored disposition gets the default action, since an ignored SIGBUS from a fault cannot be
 * ignored, and a sent one that the application ignores stays ignored. A program that installs
 * its own SIGBUS handler after the first guarded mapping replaces the guard unless it calls
 * the handler it found, as ours does.
 */
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_CHUNK 64

enum { FREE = 0, CLAIMED, ACTIVE, RETIRING };

struct pshm__guard {
	_Atomic uint32_t state;
	_Atomic uint32_t busy; /* handlers looking at this slot now */
	/* Written while CLAIMED, read only after ACTIVE is seen: */
	uintptr_t start;
	size_t len;
	int prot;
	_Atomic bool *flag;
};

struct chunk {
	struct pshm__guard slot[GUARD_CHUNK];
	struct chunk *_Atomic next;
};

static struct chunk first;
static struct sigaction prev; /* the SIGBUS handler ours replaced */
static uintptr_t page_size;
static atomic_bool installed;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/* A child has one thread: a handler that ran in another one at the fork is not running. */
static void after_fork(void)
{
	for (struct chunk *c = &first; c; c = atomic_load_explicit(&c->next, memory_order_acquire))
		for (int i = 0; i < GUARD_CHUNK; i++)
			atomic_store_explicit(&c->slot[i].busy, 0, memory_order_relaxed);
}

/*
 * Map zero pages over the guarded mapping G from the page that holds ADDR to its end, then
 * raise its flag. False when the mapping could not be made.
 */
static bool zero_fill(struct pshm__guard *g, uintptr_t addr)
{
	uintptr_t from = addr & ~(page_size - 1);
	uintptr_t end = (g->start + g->len + page_size - 1) & ~(page_size - 1);
	if (pshm__map_zero((void *)from, end - from, g->prot))
		return false;
	atomic_store_explicit(g->flag, true, memory_order_release);
	return true;
}

/* Is ADDR in a guarded mapping? If so, make it readable again: true. */
static bool rescue(uintptr_t addr)
{
	for (struct chunk *c = &first; c;
	     c = atomic_load_explicit(&c->next, memory_order_acquire)) {
		for (int i = 0; i < GUARD_CHUNK; i++) {
			struct pshm__guard *g = &c->slot[i];
			if (atomic_load_explicit(&g->state, memory_order_relaxed) != ACTIVE)
				continue;
			atomic_fetch_add(&g->busy, 1);
			bool hit = atomic_load(&g->state) == ACTIVE && addr - g->start < g->len &&
			           zero_fill(g, addr);
			atomic_fetch_sub_explicit(&g->busy, 1, memory_order_release);
			if (hit)
				return true;
		}
	}
	return false;
}

/* A SIGBUS that is not ours: what the handler before ours would have made of it. */
static void pass_on(int sig, siginfo_t *si, void *ctx)
{
	bool sent = si->si_code <= 0; /* by kill, sigqueue or tgkill, not by a fault */

	if (prev.sa_flags & SA_SIGINFO) {
		prev.sa_sigaction(sig, si, ctx);
	} else if (prev.sa_handler == SIG_IGN && sent) {
		return;
	} else if (prev.sa_handler == SIG_DFL || prev.sa_handler == SIG_IGN) {
		/* A fault happens again when the handler returns, and a sent signal is raised
		 * again (blocked until then): either way the default action follows. */
		pshm__sig_default(sig, sent);
	} else {
		prev.sa_handler(sig);
	}
}

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	bool ours = si->si_code == BUS_ADRERR && rescue((uintptr_t)si->si_addr);
	errno = saved;
	if (!ours)
		pass_on(sig, si, ctx);
}

/*
 * Install the handler once per process; a failure is tried again at the next guard. Until
 * sigaction() has filled PREV in, a SIGBUS that is not ours, in another thread, meets the
 * default action: the window is that one system call.
 */
static int install(void)
{
	if (atomic_load_explicit(&installed, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&install_lock);
	int r = 0;
	if (!atomic_load_explicit(&installed, memory_order_relaxed)) {
		struct sigaction sa = {.sa_sigaction = on_sigbus,
		                       .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART};
		sigemptyset(&sa.sa_mask);
		page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
		r = pshm__sigaction(SIGBUS, &sa, &prev);
		if (!r) {
			pthread_atfork(NULL, NULL, after_fork);
			atomic_store_explicit(&installed, true, memory_order_release);
		}
	}
	pthread_mutex_unlock(&install_lock);
	return r;
}

/* Take a free slot, adding a chunk when every slot is taken: NULL when out of memory. */
static struct pshm__guard *claim(void)
{
	struct chunk *c = &first;
	for (;;) {
		for (int i = 0; i < GUARD_CHUNK; i++) {
			uint32_t free_state = FREE;
			if (atomic_compare_exchange_strong(&c->slot[i].state, &free_state, CLAIMED))
				return &c->slot[i];
		}
		struct chunk *next = atomic_load_explicit(&c->next, memory_order_acquire);
		if (!next) {
			struct chunk *n = calloc(1, sizeof(*n));
			if (!n)
				return NULL;
			/* Another thread may have linked one first: then use that one. */
			if (atomic_compare_exchange_strong(&c->next, &next, n))
				next = n;
			else
				free(n);
		}
		c = next;
	}
}

int pshm__guard_add(struct pshm__guard **gp, void *addr, size_t len, int prot, _Atomic bool *flag)
{
	int r = install();
	if (r)
		return r;
	struct pshm__guard *g = claim();
	if (!g)
		return -ENOMEM;
	g->start = (uintptr_t)addr;
	g->len = len;
	g->prot = prot;
	g->flag = flag;
	atomic_store(&g->state, ACTIVE);
	*gp = g;
	return 0;
}

void pshm__guard_remove(struct pshm__guard *g)
{
	if (!g)
		return;
	atomic_store(&g->state, RETIRING);
	while (atomic_load(&g->busy))
		sched_yield();
	atomic_store_explicit(&g->state, FREE, memory_order_release);
}
