/*
 * chan_make.c - pshm_chan_create(): a new channel's object, its header written whole before
 * anyone can open it. Where the file system makes nameless files, the channel is made without
 * a name and linked under it once complete; elsewhere it is made under its name with signals
 * held until the header is written (only SIGKILL can leave it half made then, and an opener
 * waits about 100 ms for a header still being written: see pshm__chan_attach in chan.c).
 */
#include "chan.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Write a new channel's header into SEG's object (all zeros, of the channel's size), the magic
 * last. The mapping is guarded: a truncation meanwhile gives PSHM_ETRUNCATED. */
static int chan_init(struct pshm_seg *seg, uint64_t cap, unsigned want)
{
	struct pshm__chan_hdr *h;
	void *map;
	size_t len;

	/* Longer only when rounded up to a huge page size (PSHM_HUGE): the tail goes unused. */
	int r = pshm_map(seg, PSHM_MAP_GUARD, &map, &len);
	if (!r && len < pshm__chan_size(cap))
		r = -EIO;
	if (r)
		return r;
	/* Counters, positions, states, and descriptors that describe no message are right as
	 * zeros already. */
	h = map;
	h->version = PSHM__CHAN_VERSION;
	h->mode = want;
	h->capacity = cap;
	h->ndesc = cap / 32;
	h->data_offset = pshm__chan_size(cap) - cap;
	h->align = PSHM__CHAN_ALIGN;
	h->max_readers = want & PSHM__MODE_BCAST ? PSHM_CHAN_MAX_READERS : 1;
	atomic_store_explicit(&h->magic, PSHM__CHAN_MAGIC, memory_order_release);
	/* Shrunk while the header was written: it may never have reached the object. */
	return pshm_map_truncated(seg) > 0 ? PSHM_ETRUNCATED : 0;
}

/* chan_create_unnamed() cannot make this channel: make it under its name. */
#define CHAN_NAMED 1

/*
 * The directory that is to hold the channel at A, opened O_PATH into *DIRFD, and the channel's
 * name in it. CHAN_NAMED for a path whose last component is no plain name (the named way
 * reports it as it always did) or a directory that cannot be opened.
 */
static int chan_dir(const struct pshm__addr *a, int *dirfd, char name[NAME_MAX + 1])
{
	char path[PATH_MAX];
	size_t n = strlen(a->name);

	if (a->kind == PSHM_POSIX) {
		if (pshm__name_path(a->name, "", path, sizeof(path)))
			return CHAN_NAMED;
	} else if (n < sizeof(path)) {
		memcpy(path, a->name, n + 1);
	} else {
		return CHAN_NAMED;
	}
	char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || strlen(base) > NAME_MAX)
		return CHAN_NAMED;
	memcpy(name, base, strlen(base) + 1);
	if (!slash)
		memcpy(path, ".", 2);
	else
		slash[slash == path] = '\0'; /* "/x" is in "/" */
	int fd = pshm__openat(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return CHAN_NAMED;
	*dirfd = fd;
	return 0;
}

/*
 * Give the finished nameless file FD the name NAME in DIRFD; -EEXIST when the name is taken.
 * Linking a descriptor needs a privilege (CAP_DAC_READ_SEARCH); linking its /proc entry does
 * not. CHAN_NAMED when neither can be done.
 */
static int chan_link(int fd, int dirfd, const char *name)
{
	char proc[40];

	int r = pshm__linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
	if (r != -ENOENT && r != -EPERM)
		return r;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = pshm__linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
	return r == -ENOENT && access("/proc/self/fd", F_OK) < 0 ? CHAN_NAMED : r;
}

/*
 * Make the channel at A as a file without a name (O_TMPFILE) in its directory, and link it
 * under its name once it is complete: nobody can open it before, and a process that dies
 * meanwhile, even of SIGKILL, leaves nothing behind (the kernel frees a nameless file with its
 * last descriptor). CHAN_NAMED where the file system cannot make nameless files, where the
 * name is taken already (the named way then says -EEXIST or takes the existing channel, at
 * once and as before), and where anything fails before the work starts.
 */
static int chan_create_unnamed(const struct pshm__addr *a, uint64_t cap, mode_t mode, unsigned want)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int dirfd;

	if (chan_dir(a, &dirfd, name))
		return CHAN_NAMED;
	int fd = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
	             ? -EEXIST
	             : pshm__openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	struct pshm_seg *seg = fd >= 0 ? pshm__seg_new(&pshm__posix_ops, a->kind, "", NULL) : NULL;
	if (!seg) {
		if (fd >= 0)
			pshm__close(fd);
		pshm__close(dirfd);
		return CHAN_NAMED;
	}
	seg->fd = fd;
	int r = pshm__fchmod(fd, mode);
	if (!r)
		r = pshm__fd_size_new(fd, pshm__chan_size(cap), 0);
	if (!r)
		r = chan_init(seg, cap, want);
	if (!r)
		r = chan_link(fd, dirfd, name);
	int c = pshm_close(seg);
	pshm__close(dirfd);
	return r ? r : c;
}

/*
 * The way for file systems without nameless files: make the object under its name, then write
 * the header. Asynchronous signals are held meanwhile, so that one cannot end the process
 * between the two and leave an object that is not a channel yet; only SIGKILL still can. Faults
 * stay deliverable: the mapping's guard takes a SIGBUS.
 */
static int chan_create_named(const char *addr, uint64_t cap, mode_t mode, unsigned want,
                             unsigned huge)
{
	static const int faults[] = {SIGBUS, SIGSEGV, SIGILL, SIGFPE, SIGTRAP, SIGSYS};
	struct pshm_seg *seg;
	sigset_t hold, old;

	sigfillset(&hold);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&hold, faults[i]);
	int r = pshm__sigmask(SIG_BLOCK, &hold, &old);
	if (r)
		return r;
	r = pshm_create(&seg, addr, pshm__chan_size(cap), mode, huge);
	if (!r) {
		r = chan_init(seg, cap, want);
		if (r)
			pshm_destroy(seg);
		int c = pshm_close(seg);
		if (!r)
			r = c;
	}
	pshm__sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

PSHM__API int pshm_chan_create(const char *addr, uint64_t capacity, mode_t mode, unsigned flags)
{
	struct pshm__addr a;
	struct pshm_seg *seg;
	struct pshm__chan_hdr *h;
	unsigned want =
	             flags & PSHM_CHAN_MANY_WRITERS
	                 ? (flags & PSHM_CHAN_BROADCAST ? PSHM__MODE_MANY_BCAST : PSHM__MODE_MANY)
	             : !(flags & PSHM_CHAN_BROADCAST) ? PSHM__MODE_QUEUE
	             : flags & PSHM_CHAN_LOSSLESS     ? PSHM__MODE_LOSSLESS
	                                              : PSHM__MODE_BCAST,
	         have;
	uint64_t cap = PSHM__CHAN_MIN_CAP;

	unsigned huge = flags & (PSHM_HUGE | PSHM_HUGE_MASK);
	if (flags & ~(PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS | PSHM_CHAN_MANY_WRITERS |
	              PSHM_OPEN_OR_CREATE | PSHM_HUGE | PSHM_HUGE_MASK))
		return -EINVAL;
	if ((flags & PSHM_HUGE_MASK) && !(flags & PSHM_HUGE))
		return -EINVAL;
	if ((flags & PSHM_CHAN_LOSSLESS) && !(flags & PSHM_CHAN_BROADCAST))
		return -EINVAL; /* a queue loses nothing anyway */
	if ((flags & PSHM_CHAN_MANY_WRITERS) && (flags & PSHM_CHAN_LOSSLESS))
		return -EINVAL; /* a lossless channel has one writer */
	if (capacity > PSHM__CHAN_MAX_CAP || (mode & ~07777u))
		return -EINVAL;
	int r = pshm__chan_addr_check(addr, &a);
	if (r)
		return r;
	while (cap < capacity)
		cap <<= 1;

	/* Exclusive even with PSHM_OPEN_OR_CREATE: pshm_create() would grow an existing
	 * object to the size asked for, which would break a channel of another capacity. */
	/* Huge pages take the named way: pshm_create() checks the file system and rounds the
	 * object's size up to its page size. */
	r = huge ? CHAN_NAMED : chan_create_unnamed(&a, cap, mode ? mode : 0600, want);
	if (r == CHAN_NAMED)
		r = chan_create_named(addr, cap, mode, want, huge);
	if (r == -EEXIST && (flags & PSHM_OPEN_OR_CREATE)) {
		_Atomic bool dead = false;
		r = pshm__chan_attach(addr, true, &seg, &h, &cap, &have, &dead);
		if (r)
			return r;
		pshm_close(seg);
		return have == want ? 0 : -EEXIST;
	}
	return r;
}
