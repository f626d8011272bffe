/*
 * chan_live.c - who holds a channel's roles, and whether they are still alive: beacons.
 *
 * A role holder must show that it lives in a way that nobody else can fake and that ends when
 * it dies, SIGKILL included. The kernel drops a process's open file description locks at its
 * death, but a lock on the channel object itself cannot carry the sign: a read lock needs only
 * read access, so anyone who may read the channel can hold read locks over any range of it, up
 * to all of it. A holder's write lock on its byte can then not be taken at all, and a probe that
 * asks whether a write lock could be taken sees the squatter's read lock as a live holder, for
 * as long as the squatter pleases. No byte of the object can be kept free of squatters.
 *
 * So each holder locks a file of its own instead, its beacon: ".pshm-live.<id>" in the
 * directory that holds the channel, where <id> is 64 random bits written as 16 hex digits. The
 * holder creates it exclusively with mode 0600, so that nobody else can open it, takes a write
 * lock over all of it, and only then makes it 0444 for probers to open. Nobody without write
 * access to the file can take a lock that conflicts with the holder's while it lives, and a
 * probe asks F_OFD_GETLK about a read lock, which reports write locks only: the read lock that
 * a squatter may take once the holder is dead goes unseen.
 *
 * Exclusivity comes from the header, which a process that may only read the channel cannot
 * change: each role has a word with its holder's id (PSHM__LIVE_NONE when it has none). A new
 * holder makes its beacon first, then swaps the word from none, or from the id of a holder
 * whose beacon shows no write lock, to its own id; of two takers over one dead holder, the
 * compare-and-swap picks one. A clean close marks the role's state (chan.c), clears the word,
 * and removes the beacon.
 *
 * What keeps a probe honest:
 * - A beacon's name is made by the library from the id; nothing read from shared memory is
 *   used as a path, and only the one directory, opened once, is ever looked in.
 * - A beacon is unlinked only once no header word names it: by its holder after it cleared the
 *   word, or by whoever swapped a dead holder's id out of it. Otherwise anyone who may create
 *   files in the directory (all of /dev/shm) could make the name again, with a lock of their
 *   own, and keep a dead holder alive in the eyes of every prober.
 * - A holder that may not create files in the directory (EACCES, EROFS, EPERM) locks its
 *   role's byte of the object instead and says so with the id PSHM__LIVE_LOCK. Probes look at
 *   that lock the same way, so a death is still seen; but a squatter's read lock on the byte
 *   keeps such a holder from attaching (-EBUSY), which no beacon holder suffers.
 * A process that may write the channel can write any id into the header, as it can write
 * anything else there: the roles may then look taken or free to others, but no call crashes,
 * hangs, or looks anywhere but the channel's directory.
 */
#include "chan.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Room for a beacon's name: the prefix, 16 hex digits and the NUL. */
#define NAME_ROOM 32

/* Attempts before a role whose word keeps changing under us is called busy. */
#define CLAIM_TRIES 16

static void beacon_name(char name[NAME_ROOM], uint64_t id)
{
	snprintf(name, NAME_ROOM, PSHM__BEACON_PREFIX "%016" PRIx64, id);
}

/*
 * A new beacon id. Ids need to be unique rather than secret: a beacon is created with O_EXCL,
 * so a name someone guessed and made first is only passed over. Where getrandom cannot answer
 * at once (early at boot), the clock, the process and a counter make one.
 */
static uint64_t new_id(void)
{
	static _Atomic uint64_t count;
	uint64_t id;

	do {
		if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			id = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			id ^= (uint64_t)getpid() << 40;
			id += atomic_fetch_add(&count, 1) * 0x9e3779b97f4a7c15ull;
			id ^= id >> 31;
			id *= 0xbf58476d1ce4e5b9ull;
			id ^= id >> 29;
		}
	} while (id == PSHM__LIVE_NONE || id == PSHM__LIVE_LOCK);
	return id;
}

int pshm__chan_dir(const char *path, int objfd, int *dirfdp)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char dir[PATH_MAX] = ".";
	struct stat obj, named;

	if (!*base)
		return -EINVAL;
	if (slash) {
		size_t n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = pshm__openat(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	int r = pshm__fstat(objfd, &obj);
	if (!r && fstatat(fd, base, &named, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (!r && (obj.st_dev != named.st_dev || obj.st_ino != named.st_ino))
		r = -ENOENT;
	if (r) {
		pshm__close(fd);
		return r;
	}
	*dirfdp = fd;
	return 0;
}

int pshm__chan_live_init(struct pshm_chan *ch)
{
	int r = pshm__chan_dir(ch->seg->path, ch->fd, &ch->dirfd);
	if (r)
		return r;
	for (int tries = 0; tries < CLAIM_TRIES; tries++) {
		char name[NAME_ROOM];
		uint64_t id = new_id();
		beacon_name(name, id);
		/* 0600 whatever the umask (only this process's owner can open it), until it is
		 * locked: nobody may hold a lock on it that the holder's would conflict with. */
		int fd = pshm__openat(ch->dirfd, name,
		                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK |
		                          O_NOCTTY | O_CLOEXEC,
		                      S_IRUSR | S_IWUSR);
		if (fd == -EEXIST)
			continue;
		if (fd == -EACCES || fd == -EROFS || fd == -EPERM) {
			ch->live_id = PSHM__LIVE_LOCK;
			return 0;
		}
		if (fd < 0)
			return fd;
		r = pshm__lock(fd, F_OFD_SETLK, F_WRLCK, 0, 0);
		if (!r)
			r = pshm__fchmod(fd, S_IRUSR | S_IRGRP | S_IROTH);
		if (r) {
			pshm__unlinkat(ch->dirfd, name);
			pshm__close(fd);
			return r;
		}
		ch->live_id = id;
		ch->live_fd = fd;
		return 0;
	}
	return -EEXIST;
}

void pshm__chan_forget(struct pshm__chan_seen *seen)
{
	if (seen->fd >= 0)
		pshm__close(seen->fd);
	seen->fd = -1;
	seen->id = PSHM__LIVE_NONE;
}

/*
 * Open the beacon ID in DIRFD for a probe: a descriptor, -ENOENT when there is nothing by that
 * name that could be a beacon (no file, a symlink, a FIFO or anything but a regular file: an
 * impostor nobody could lock as a holder does), or another -errno.
 */
static int beacon_open(int dirfd, uint64_t id)
{
	char name[NAME_ROOM];

	beacon_name(name, id);
	int fd =
	    pshm__openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	if (fd == -ELOOP || fd == -ENXIO || fd == -EISDIR)
		return -ENOENT;
	return fd < 0 ? fd : pshm__fd_keep_regular(fd, -ENOENT, NULL);
}

int pshm__chan_alive(int dirfd, int objfd, int byte, uint64_t id, struct pshm__chan_seen *seen)
{
	int fd;

	if (seen && seen->id != id)
		pshm__chan_forget(seen);
	if (id == PSHM__LIVE_NONE)
		return 0;
	if (id == PSHM__LIVE_LOCK)
		return pshm__chan_locked(objfd, byte);
	if (seen && seen->fd >= 0) {
		fd = seen->fd;
	} else {
		fd = beacon_open(dirfd, id);
		if (fd == -ENOENT)
			return 0;
		if (fd < 0)
			return fd;
		if (seen) {
			seen->fd = fd;
			seen->id = id;
		}
	}
	int r = pshm__chan_write_locked(fd, 0, 0);
	if (!seen)
		pshm__close(fd);
	return r;
}

int pshm__chan_claim(struct pshm_chan *ch, _Atomic uint64_t *live, int byte)
{
	uint64_t mine = ch->live_id;
	int r;

	/* The fallback's lock comes first: with it held, an old holder that locked the same
	 * byte is dead, and a probe of it (our own lock, which our probe does not see) says so. */
	if (mine == PSHM__LIVE_LOCK && (r = pshm__chan_lock(ch->fd, byte)))
		return r;
	r = -EBUSY;
	for (int tries = 0; tries < CLAIM_TRIES; tries++) {
		uint64_t old = atomic_load_explicit(live, memory_order_acquire);
		int a = pshm__chan_alive(ch->dirfd, ch->fd, byte, old, NULL);
		if (a) {
			r = a > 0 ? -EBUSY : a;
			break;
		}
		if (atomic_compare_exchange_strong_explicit(live, &old, mine, memory_order_acq_rel,
		                                            memory_order_relaxed)) {
			/* No word names the dead holder's beacon now: it may go. In a sticky
			 * directory (/dev/shm) only its owner may remove it (EPERM); it then stays
			 * as an empty file, harmless and hidden from listings. */
			if (old != PSHM__LIVE_NONE && old != PSHM__LIVE_LOCK) {
				char name[NAME_ROOM];
				beacon_name(name, old);
				pshm__unlink_regular(ch->dirfd, name);
				pshm__chan_poll_forget(ch->dirfd, old);
			}
			ch->live = live;
			return 0;
		}
	}
	if (mine == PSHM__LIVE_LOCK)
		pshm__chan_unlock(ch->fd, byte);
	return r;
}

void pshm__chan_live_end(struct pshm_chan *ch)
{
	if (ch->live) {
		/* Not ours any more only if someone who may write the header wrote over it. */
		uint64_t id = ch->live_id;
		atomic_compare_exchange_strong_explicit(ch->live, &id, PSHM__LIVE_NONE,
		                                        memory_order_release, memory_order_relaxed);
		ch->live = NULL;
	}
	if (ch->live_fd >= 0) {
		char name[NAME_ROOM];
		beacon_name(name, ch->live_id);
		pshm__unlinkat(ch->dirfd, name);
		pshm__close(ch->live_fd);
		ch->live_fd = -1;
	}
	pshm__chan_forget(&ch->peer);
	if (ch->dirfd >= 0)
		pshm__close(ch->dirfd);
	ch->dirfd = -1;
}

bool pshm__ids_has(const struct pshm__ids *ids, uint64_t id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (ids->v[i] == id)
			return true;
	return false;
}

void pshm__ids_add(struct pshm__ids *ids, uint64_t id)
{
	if (!ids || pshm__ids_has(ids, id))
		return;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? 2 * ids->cap : 64;
		uint64_t *v = realloc(ids->v, cap * sizeof(*v));
		if (!v) {
			ids->nomem = true; /* the caller then removes no beacon it cannot place */
			return;
		}
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = id;
}

/* What a sweep of one channel's header does (see pshm__chan_gc). */
struct sweep {
	int dirfd, objfd;
	bool swap;               /* may write the header, and should: not a dry run */
	bool dry;                /* PSHM_GC_DRY_RUN */
	_Atomic bool cut;        /* the header's mapping was truncated */
	struct pshm__ids *named; /* ids the header names, kept; NULL: not collected */
	pshm__beacon_fn dead;
	void *arg;
};

/*
 * One role's word. A dead holder's id is swapped out first, as a taker does, so that a beacon
 * goes only once nothing names it; a word read from zero pages (a truncated object) names
 * nothing anyone else reads. Whoever may not write the header leaves the word, and the beacon,
 * as they are. DEAD's return, or 0.
 */
static int sweep_role(struct sweep *w, _Atomic uint64_t *live, int byte)
{
	uint64_t id = atomic_load_explicit(live, memory_order_acquire);
	char name[NAME_ROOM];

	if (id == PSHM__LIVE_NONE || id == PSHM__LIVE_LOCK)
		return 0;
	if (pshm__chan_alive(w->dirfd, w->objfd, byte, id, NULL) != 0 || !(w->swap || w->dry)) {
		pshm__ids_add(w->named, id);
		return 0;
	}
	beacon_name(name, id);
	if (w->dry) {
		pshm__ids_add(w->named, id);
		return w->dead(w->dirfd, name, w->arg);
	}
	if (!atomic_compare_exchange_strong_explicit(live, &id, PSHM__LIVE_NONE,
	                                             memory_order_acq_rel, memory_order_relaxed)) {
		pshm__ids_add(w->named, id); /* someone took the role meanwhile */
		return 0;
	}
	if (atomic_load(&w->cut))
		return 0;
	pshm__chan_poll_forget(w->dirfd, id);
	return w->dead(w->dirfd, name, w->arg);
}

/* Is FD, a regular file of at least a header's size, a channel of this layout? */
static bool is_channel(int fd)
{
	unsigned char head[16];
	uint64_t magic;
	uint32_t version;
	struct stat st;

	if (pshm__fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < PSHM__CHAN_HDR)
		return false;
	/* Read, not mapped: an object that is no channel is never mapped. */
	if (pread(fd, head, sizeof(head), 0) != (ssize_t)sizeof(head))
		return false;
	memcpy(&magic, head + offsetof(struct pshm__chan_hdr, magic), sizeof(magic));
	memcpy(&version, head + offsetof(struct pshm__chan_hdr, version), sizeof(version));
	return magic == PSHM__CHAN_MAGIC && version == PSHM__CHAN_VERSION;
}

/* Sweep every role of the channel open as W->objfd: its header, mapped and guarded. */
static int sweep(struct sweep *w)
{
	struct pshm__guard *g = NULL;
	int prot = PROT_READ | (w->swap ? PROT_WRITE : 0), r = 0;
	/* Whole pages of a hugetlbfs, whose mappings cannot be unmapped in part. */
	size_t len = (size_t)pshm__round_up(PSHM__CHAN_HDR, pshm__map_unit(w->objfd));
	void *map;

	if ((r = pshm__mmap(&map, len, prot, MAP_SHARED, w->objfd)))
		return r;
	if (!(r = pshm__guard_add(&g, map, len, prot, &w->cut))) {
		struct pshm__chan_hdr *h = map;
		r = sweep_role(w, &h->writer_live, PSHM__LOCK_WRITER);
		if (!r)
			r = sweep_role(w, &h->reader_live, PSHM__LOCK_READER);
		for (int i = 0; !r && i < PSHM_CHAN_MAX_READERS; i++)
			r = sweep_role(w, &h->slot[i].live, PSHM__LOCK_SLOT(i));
		for (int i = 0; !r && i < PSHM_CHAN_MAX_WRITERS; i++)
			r = sweep_role(w, &h->wslot[i].live, PSHM__LOCK_WSLOT(i));
		pshm__guard_remove(g);
	}
	pshm__munmap(map, len);
	return r;
}

/* Remove a dead holder's beacon, for a removal of its channel: nothing to report. */
static int unlink_beacon(int dirfd, const char *name, void *arg)
{
	(void)arg;
	pshm__unlink_regular(dirfd, name);
	return 0;
}

int pshm__chan_gc(int dirfd, const char *name, unsigned flags, struct pshm__ids *named,
                  pshm__beacon_fn dead, void *arg)
{
	/* Without waiting for anything: a lease on the file gives EWOULDBLOCK, and a FIFO
	 * under the name opens at once and is then passed over. */
	int oflags = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	bool rdonly = false;
	int fd = pshm__openat(dirfd, name, O_RDWR | oflags, 0);
	if (fd == -EACCES || fd == -EPERM || fd == -EROFS) {
		rdonly = true;
		fd = pshm__openat(dirfd, name, O_RDONLY | oflags, 0);
	}
	if (fd < 0)
		return fd;
	int r = 0;
	if (is_channel(fd)) {
		struct sweep w = {.dirfd = dirfd,
		                  .objfd = fd,
		                  .swap = !rdonly && !(flags & PSHM_GC_DRY_RUN),
		                  .dry = flags & PSHM_GC_DRY_RUN,
		                  .named = named,
		                  .dead = dead,
		                  .arg = arg};
		r = sweep(&w);
	}
	pshm__close(fd);
	return r;
}

void pshm__chan_sweep(const char *path)
{
	int dirfd, fd;

	/* The directory the beacons are looked up in is the one that names this channel. */
	fd = pshm__openat(AT_FDCWD, path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
	                  0);
	if (fd < 0)
		return;
	if (is_channel(fd) && !pshm__chan_dir(path, fd, &dirfd)) {
		const char *slash = strrchr(path, '/');
		pshm__chan_gc(dirfd, slash ? slash + 1 : path, 0, NULL, unlink_beacon, NULL);
		pshm__close(dirfd);
	}
	pshm__close(fd);
}
