/*
 * obj.c - what pshm-bench makes, and the registry that removes it again.
 *
 * Every POSIX object, file and System V key is recorded here before the call that makes it,
 * and every child process as soon as it exists. reg_cleanup() removes whatever is still
 * recorded: at the end of a run, after an error, and after SIGINT or SIGTERM (the handler only
 * sets a flag; the run returns to the top and cleans up from there). Removing something that
 * was never made, or was removed already, does no harm: a path is unlinked if it exists, and a
 * System V segment is removed only when this process created it.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raw_cycle.h"

enum { REG_FREE, REG_PATH, REG_KEY, REG_PID };

struct reg {
	int type;
	key_t key;
	pid_t pid;
	char *path;
};

static struct reg *regs;
static size_t nregs;

static int reg_new(int type)
{
	size_t i;
	for (i = 0; i < nregs && regs[i].type != REG_FREE; i++)
		;
	if (i == nregs) {
		struct reg *n = realloc(regs, (nregs + 16) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		memset(n + nregs, 0, 16 * sizeof(*n));
		regs = n;
		nregs += 16;
	}
	regs[i].type = type;
	return (int)i;
}

int reg_path(const char *path)
{
	char *copy = strdup(path);
	int slot = copy ? reg_new(REG_PATH) : -ENOMEM;
	if (slot < 0)
		free(copy);
	else
		regs[slot].path = copy;
	return slot;
}

int reg_key(key_t key)
{
	int slot = reg_new(REG_KEY);
	if (slot >= 0)
		regs[slot].key = key;
	return slot;
}

int reg_pid(pid_t pid)
{
	int slot = reg_new(REG_PID);
	if (slot >= 0)
		regs[slot].pid = pid;
	return slot;
}

bool reg_has_key(key_t key)
{
	for (size_t i = 0; i < nregs; i++)
		if (regs[i].type == REG_KEY && regs[i].key == key)
			return true;
	return false;
}

void reg_release(int slot)
{
	if (slot < 0 || (size_t)slot >= nregs)
		return;
	free(regs[slot].path);
	memset(&regs[slot], 0, sizeof(regs[slot]));
}

/* Remove the segment with KEY if this process made it (a key may have been taken since). */
static void remove_key(key_t key)
{
	struct shmid_ds ds;
	int id = shmget(key, 0, 0);
	if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_cpid == getpid())
		shmctl(id, IPC_RMID, NULL);
}

void reg_remove(int slot)
{
	if (slot < 0 || (size_t)slot >= nregs)
		return;
	if (regs[slot].type == REG_PATH)
		unlink(regs[slot].path);
	else if (regs[slot].type == REG_KEY)
		remove_key(regs[slot].key);
	reg_release(slot);
}

/* Stop a child: SIGTERM, a short wait, then SIGKILL; always reaped. */
static void stop_child(pid_t pid)
{
	struct timespec ms = {0, 1000000};
	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		nanosleep(&ms, NULL);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void reg_cleanup(void)
{
	/* Children first: they hold the segments mapped, which is harmless, but they are ours. */
	for (size_t i = 0; i < nregs; i++)
		if (regs[i].type == REG_PID)
			stop_child(regs[i].pid);
	for (size_t i = 0; i < nregs; i++)
		reg_remove((int)i);
	free(regs);
	regs = NULL;
	nregs = 0;
}

int bench_name(char *buf, size_t len, const char *dir)
{
	static unsigned counter;
	int n = dir ? snprintf(buf, len, "%s/.pshm-bench.%d.%u", dir, (int)getpid(), ++counter)
	            : snprintf(buf, len, "/pshm-bench.%d.%u", (int)getpid(), ++counter);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int bench_key(key_t *keyp, int *slotp)
{
	for (int tries = 0; tries < 8; tries++) {
		int r = raw_pick_key(keyp, IPC_PRIVATE);
		if (r)
			return r;
		if (reg_has_key(*keyp))
			continue;
		*slotp = reg_key(*keyp);
		return *slotp < 0 ? *slotp : 0;
	}
	return -EEXIST;
}

/* Record B's object before it is made, and choose its address. */
static int bseg_name(struct bench_seg *b, const struct bench_machine *m)
{
	char path[PATH_MAX];
	key_t key;

	switch (b->kind) {
	case BK_POSIX:
		bench_name(b->addr, sizeof(b->addr), NULL);
		if (snprintf(path, sizeof(path), "%s%s", m->shm_dir, b->addr) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		b->slot = reg_path(path);
		return b->slot < 0 ? b->slot : 0;
	case BK_FILE:
		if (bench_name(path, sizeof(path), m->file_dir))
			return -ENAMETOOLONG;
		snprintf(b->addr, sizeof(b->addr), "file:%s", path);
		b->slot = reg_path(path);
		return b->slot < 0 ? b->slot : 0;
	case BK_SYSV: {
		int r = bench_key(&key, &b->slot);
		if (!r)
			snprintf(b->addr, sizeof(b->addr), "sysv:0x%08x", (unsigned)key);
		return r;
	}
	default:
		snprintf(b->addr, sizeof(b->addr), "memfd:");
		return 0;
	}
}

int bseg_create(struct bench_seg *b, int kind, const struct bench_machine *m, uint64_t size,
                unsigned flags)
{
	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->slot = -1;
	int r = bseg_name(b, m);
	if (!r)
		r = pshm_create(&b->seg, b->addr, size, 0600, flags);
	if (r) {
		b->seg = NULL;
		bseg_destroy(b);
	}
	return r;
}

int bseg_map(struct bench_seg *b, unsigned flags)
{
	return pshm_map(b->seg, flags, &b->map, &b->len);
}

void bseg_destroy(struct bench_seg *b)
{
	if (b->seg) {
		pshm_unmap(b->seg);
		if (b->kind != BK_MEMFD)
			pshm_destroy(b->seg);
		pshm_close(b->seg);
		b->seg = NULL;
	} else {
		/* A create that failed half-way: the library leaves nothing, but make sure. */
		reg_remove(b->slot);
	}
	reg_release(b->slot);
	b->slot = -1;
	b->map = NULL;
	b->len = 0;
}

/* ---- SIGBUS: a sparse object on a full file system fails when a page is first written ---- */

static sigjmp_buf guard_env;
static volatile sig_atomic_t guard_armed;

static void on_sigbus(int sig)
{
	if (guard_armed) {
		guard_armed = 0;
		siglongjmp(guard_env, 1);
	}
	signal(sig, SIG_DFL); /* not ours to handle: fault again, and die of it */
}

int bench_guard(void (*fn)(void *), void *arg)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	int r = 0;
	if (sigsetjmp(guard_env, 1) == 0) {
		guard_armed = 1;
		fn(arg);
		guard_armed = 0;
	} else {
		r = -EFAULT;
	}
	sigaction(SIGBUS, &old, NULL);
	return r;
}
