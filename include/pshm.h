/*
 * pshm.h - POSIX shared memory for Linux, and one safe API over the ways to share memory.
 *
 * Two interfaces live here:
 *
 *  - pshm_shm_open() and pshm_shm_unlink(), drop-in replacements for shm_open(3) and
 *    shm_unlink(3) that follow POSIX.1-2017, work on the same objects as glibc, and refuse
 *    what glibc lets through unsafely (FIFOs, directories, sockets, devices, "." and "..").
 *
 *  - Segments: one opaque handle, struct pshm_seg, over POSIX shared memory objects,
 *    System V segments, shared file mappings and memfd, named by one address syntax:
 *
 *        /name  posix:/name      a POSIX object in the shm directory (also "name")
 *        sysv:KEY                a System V segment by key (decimal, 0x hex or 0 octal;
 *                                0 = private)
 *        sysv:id=N               a System V segment by identifier
 *        file:PATH               a shared mapping of a regular file
 *        memfd:                  a new anonymous memory file (create only)
 *        memfd:PID:FD            another process's memfd, reached through /proc
 *        sem:/name               a POSIX named semaphore's backing object (stat, remove)
 *
 * Every segment function returns 0 (or a count) on success and a negative errno value on
 * failure; pshm_strerror() names it. Only the two POSIX drop-ins use -1 and errno, because
 * POSIX says so. No function prints, exits, or follows a symlink in the shm directory.
 *
 * Names: an operation offered both on a handle and on an address has one name, and the form
 * that takes an address ends in _addr: pshm_stat() and pshm_stat_addr(), pshm_destroy() and
 * pshm_destroy_addr(); pshm_chan_stat_addr() describes a channel by its address. Only the
 * calls that make a handle from an address (create, open) have no _addr. Flags and every
 * enumerated value are enum constants; the fixed sizes and limits are macros.
 *
 * Thread safety: functions that take no handle may be called from any thread. A handle may be
 * used from several threads only with the caller's own locking; distinct handles are
 * independent.
 */
#ifndef PSHM_H
#define PSHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version. The major number is the shared library's (libpshm.so.1): it changes only when
 * the binary interface does, which the structures below are laid out never to need. Every
 * structure here has fixed-width members and the same layout whatever the caller's feature
 * macros (_FILE_OFFSET_BITS, _TIME_BITS), and ends in reserved space that a later minor
 * version may give meaning to; the library zeroes it.
 */
#define PSHM_VERSION_MAJOR  1
#define PSHM_VERSION_MINOR  0
#define PSHM_VERSION_PATCH  0
#define PSHM_VERSION_STRING "1.0.0"

/*
 * pshm's own error codes, beyond the range of errno values. Each X(NAME, value, text) row
 * gives PSHM_E<NAME>; the list also builds pshm_strerror().
 */
#define PSHM_ERRORS(X)                                                                             \
	X(ADDR, -20001, "Malformed shared memory address")                                         \
	X(KIND, -20002, "Address names a different kind of shared memory")                         \
	X(TRUNCATED, -20003, "Object truncated while in use")

enum {
#define PSHM__ERRENUM(name, value, text) PSHM_E##name = (value),
	PSHM_ERRORS(PSHM__ERRENUM)
#undef PSHM__ERRENUM
};

/*
 * The message for an error code: a negative errno value, one of pshm's own PSHM_E* codes, or
 * (for convenience) a positive errno value. Never NULL; the string is static and thread-safe.
 */
const char *pshm_strerror(int err);

/* The library's version string, e.g. "1.0.0". */
const char *pshm_version(void);

/* ---- POSIX drop-ins ---------------------------------------------------------------------- */

/*
 * shm_open(3): open or create the POSIX shared memory object NAME in the shm directory
 * (/dev/shm, or the one PSHM_DIR or pshm_set_shm_dir() names: see pshm_shm_dir()). Returns a
 * new descriptor with FD_CLOEXEC set, or -1 with errno set.
 *
 * NAME is any number of leading slashes and then 1 to NAME_MAX bytes without a slash, not
 * "." or "..". Errors are those of shm_open(3) and open(2); in addition: EINVAL for a bad
 * name, a bad access mode, O_PATH, O_DIRECTORY or O_TMPFILE, or an object that is not a
 * regular file (a FIFO, directory, socket or device squatting under the name); ELOOP for a
 * symlink, which is never followed; ENAMETOOLONG for a name longer than NAME_MAX. The call
 * never blocks on a FIFO or anything else squatting under the name; as open(2) does, it waits
 * for another process's lease on the object to break (EWOULDBLOCK instead with O_NONBLOCK).
 * It is not a thread cancellation point. The mode is applied as open(2) applies it (subject to
 * the umask).
 */
int pshm_shm_open(const char *name, int oflag, mode_t mode);

/*
 * shm_unlink(3): remove the name of a POSIX shared memory object. Returns 0, or -1 with errno
 * set: ENOENT when the object does not exist or the name is malformed (POSIX gives shm_unlink
 * no EINVAL, and glibc says ENOENT too; a NULL name gives EINVAL), ENAMETOOLONG, and EACCES
 * where unlink(2) says EPERM or EACCES. Not a cancellation point.
 */
int pshm_shm_unlink(const char *name);

/* ---- Segments ------------------------------------------------------------------------------ */

/* The techniques a segment can use. */
enum pshm_kind {
	PSHM_POSIX = 1, /* a POSIX shared memory object */
	PSHM_SYSV = 2,  /* a System V shared memory segment */
	PSHM_FILE = 3,  /* a shared mapping of a regular file */
	PSHM_MEMFD = 4, /* an anonymous memory file (memfd_create) */
	PSHM_SEM = 5,   /* a POSIX named semaphore's object: listed, stat, removed */
};

/* The name of a kind: "posix", "sysv", "file", "memfd", "sem"; "unknown" otherwise. */
const char *pshm_kind_name(int kind);

struct pshm_seg;

/* Flags for pshm_create(), pshm_open(), pshm_resize() and pshm_map(), or'd together. */
enum pshm_flags {
	PSHM_OPEN_OR_CREATE = 1 << 0, /* create: an existing object is opened, and grown to at
					 least the size asked for; never shrunk (System V
					 cannot grow: -EINVAL if smaller) */
	PSHM_SPARSE = 1 << 1,         /* create/resize: do not reserve the space; a full
					 file system then shows up later, as SIGBUS */
	PSHM_RDONLY = 1 << 2,         /* open/map: read-only */
	PSHM_POPULATE = 1 << 3,       /* map: fault every page in now */
	PSHM_MAP_GUARD = 1 << 4,      /* map: survive the object's truncation (see
					 pshm_map_truncated) */
	PSHM_ATTRS = 1 << 5,          /* open: only to stat, chmod or chown it (see
					 pshm_open) */
	PSHM_LEASE = 1 << 6,          /* create/open: hold a lease on the object while the
					 handle lives; see "Leases" below */
	PSHM_HUGE = 1 << 7,           /* create (and pshm_chan_create): back the object with
					 huge pages; see "Huge pages" below */
};

/*
 * Huge pages. With PSHM_HUGE, bits PSHM_HUGE_SHIFT to 31 of the flags may carry the page size
 * as its base-2 logarithm (the convention of MAP_HUGE_SHIFT, MFD_HUGE_SHIFT and SHM_HUGE_SHIFT);
 * 0 there means the system's default huge page size (Hugepagesize in /proc/meminfo). A size
 * the system has no pool for, or size bits without PSHM_HUGE: -EINVAL. What each kind does:
 *  - "memfd:": memfd_create with MFD_HUGETLB; System V: shmget with SHM_HUGETLB, the pages
 *    reserved at creation unless PSHM_SPARSE (SHM_NORESERVE);
 *  - POSIX objects and files: only where their directory's file system gives huge pages: a
 *    hugetlbfs (its page size is the mount's; another size asked for: -EINVAL), or a tmpfs
 *    mounted with huge=always, within_size or advise (page size: the PMD size; pshm_map()
 *    advises MADV_HUGEPAGE). Anywhere else -EOPNOTSUPP: mount a hugetlbfs, or a tmpfs with
 *    huge=, and point PSHM_DIR at it.
 * Sizes are rounded up to a multiple of the page size, at creation and by pshm_resize(); the
 * pages are reserved as any others, so an empty or short pool gives -ENOSPC or -ENOMEM at
 * creation, with nothing left behind, never SIGBUS later. pshm_stat() tells the page size.
 */
#define PSHM_HUGE_SHIFT 26
#define PSHM_HUGE_MASK  (0x3fu << PSHM_HUGE_SHIFT)
#define PSHM_HUGE_2MB   (PSHM_HUGE | 21u << PSHM_HUGE_SHIFT)
#define PSHM_HUGE_1GB   (PSHM_HUGE | 30u << PSHM_HUGE_SHIFT)

/*
 * Leases. A handle made with PSHM_LEASE holds a lease on its object until pshm_close(), or
 * until its process dies (the kernel lets go of it, SIGKILL included). An object created with
 * PSHM_LEASE is leased: it is removed when its last lease goes, by the pshm_close() that lets
 * go of it, or, when the last holders died, by the next pshm_gc(), pshm_create() or
 * pshm_open() of its name, none of which ever hands out such a dead object (pshm_open gives
 * -ENOENT; pshm_create makes a new one). A lease is an open file description lock, F_RDLCK,
 * on the one byte at PSHM_LEASE_OFFSET of the object (far past any end; any program can take
 * one with fcntl(2), lockf(3) or Python's fcntl.lockf); a leased object's mode has the sticky
 * bit (S_ISVTX), which only its owner can set or clear. Removal takes F_WRLCK on that byte
 * first, so a lease is never granted on an object being removed. Anyone who may read the
 * object may hold a lease; only one who may write it (and remove its name) removes it.
 * POSIX objects and files; System V segments created with PSHM_LEASE are marked for
 * destruction (IPC_RMID) once attached, so the kernel removes them at the last detach (their
 * key is then free: reach them by "sysv:id=N"); a memfd lives only while held anyway, so the
 * flag changes nothing for it.
 */
#define PSHM_LEASE_OFFSET ((int64_t)1 << 62)

/*
 * Create a segment at ADDR of SIZE bytes with permission bits MODE (0 means 0600), applied
 * exactly, whatever the umask. Creation is exclusive: an existing object gives -EEXIST unless
 * PSHM_OPEN_OR_CREATE is given. The space is reserved (posix_fallocate with signals blocked,
 * EINTR retried) so that a full file system gives -ENOSPC here, with no object left behind,
 * instead of SIGBUS later; PSHM_SPARSE skips that. For "memfd:" a new memfd is made (sealing
 * allowed); for "sysv:0" a new private segment. System V segments need SIZE > 0, take only
 * the 0777 bits of MODE, and are not reserved page by page (PSHM_SPARSE: SHM_NORESERVE).
 * PSHM_HUGE backs the object with huge pages (see "Huge pages"; SIZE is rounded up).
 * On success *SEGP is a new handle, read-write. Returns 0 or a negative errno.
 */
int pshm_create(struct pshm_seg **segp, const char *addr, uint64_t size, mode_t mode,
                unsigned flags);

/*
 * Open the existing segment at ADDR, read-write, or read-only with PSHM_RDONLY. A POSIX or
 * file address must name a regular file (else -EINVAL; a symlink gives -ELOOP); the open
 * never blocks on a squatter, and waits as open(2) does for another process's lease to break.
 * "memfd:PID:FD" must be a memfd (else -EINVAL). PSHM_ATTRS opens the segment only to look at
 * and change its attributes, as stat(2), chmod(2) and chown(2) do: it needs no read or write
 * permission on the object (its owner may change a mode of 0), and the handle cannot be
 * mapped, resized or synced (-EBADF). Returns 0 or a negative errno.
 */
int pshm_open(struct pshm_seg **segp, const char *addr, unsigned flags);

/*
 * Make a handle of an open descriptor of a POSIX object, regular file or memfd; the kind is
 * found from the descriptor. On success the handle owns FD (pshm_close closes it); on failure
 * FD is left open. PSHM_RDONLY restricts the handle to reading. Returns 0 or a negative errno.
 */
int pshm_from_fd(struct pshm_seg **segp, int fd, unsigned flags);

/*
 * Unmap and release the handle (closing its descriptor); the object itself stays unless
 * removed. NULL is accepted. Returns 0, or the first error of munmap/shmdt/close (the handle is
 * freed in any case).
 */
int pshm_close(struct pshm_seg *seg);

/* The handle's kind (enum pshm_kind). */
int pshm_kind(const struct pshm_seg *seg);

/*
 * The handle's canonical address: "/name", "sysv:0x0000abcd" (or "sysv:id=N" for a private
 * segment), "file:PATH" with PATH absolute (a relative path is taken from the working directory
 * at create or open), or "memfd:PID:FD" naming this process's descriptor, which another
 * process may open. Valid until pshm_close().
 */
const char *pshm_address(const struct pshm_seg *seg);

/* The handle's descriptor, or -EOPNOTSUPP for System V. The handle still owns it. */
int pshm_fd(const struct pshm_seg *seg);

/* Nonzero when pshm_create() made the object, zero when it opened an existing one. */
int pshm_created(const struct pshm_seg *seg);

/*
 * Map the whole segment, shared. The length is the object's size at this moment (re-read
 * with fstat or IPC_STAT; an object opened by someone else is not trusted to keep the size it
 * had). PSHM_RDONLY maps read-only (a read-only handle always does); PSHM_POPULATE faults
 * every page in. *ADDRP and *LENP receive the mapping (NULL and 0 for an empty object). A
 * handle holds at most one mapping: -EBUSY if it is already mapped. PSHM_MAP_GUARD guards the
 * mapping, as the library guards its channels': see pshm_map_truncated(). Returns 0 or a
 * negative errno.
 */
int pshm_map(struct pshm_seg *seg, unsigned flags, void **addrp, size_t *lenp);

/*
 * Whether the guarded mapping (PSHM_MAP_GUARD) lost pages: to a truncation (anyone who can
 * write the object can shrink it, and an access past its new end would raise SIGBUS), or to
 * memory that could not be had (a sparse object on a full file system). In a guarded
 * mapping the library's SIGBUS handler (installed once per process; it passes every other
 * SIGBUS to the handler that was there before) instead maps private zero pages from the
 * faulting page to the mapping's end, and the access goes on: reads see zeros, writes reach
 * nobody. Check this after reading, as a seqlock reader checks its count: once it says 1 (as
 * it does until the handle is mapped again), what was read since the loss may be zeros. No
 * system call; any thread that uses the mapping may ask, while the handle stays mapped.
 * Returns 1 (truncated), 0 (not so far), or -EINVAL for a handle with no guarded mapping.
 */
int pshm_map_truncated(const struct pshm_seg *seg);

/* Remove the handle's mapping, if any. Returns 0 or a negative errno. */
int pshm_unmap(struct pshm_seg *seg);

/*
 * Write the mapping's changes back to the backing file and wait (msync MS_SYNC), then for a
 * file segment not opened read-only fdatasync the file, even when nothing is mapped. Returns
 * 0 or a negative errno.
 */
int pshm_sync(struct pshm_seg *seg);

/*
 * Set the segment's size. Growth is reserved like pshm_create() unless PSHM_SPARSE; a failed
 * growth (-ENOSPC) leaves the size as it was and gives back any space it took, on disk file
 * systems as on tmpfs. Shrinking discards the tail. An existing mapping keeps its length:
 * unmap and map again to see the new size, and touch nothing past a shrunken end. System V
 * segments and semaphores cannot change size: -EOPNOTSUPP; a read-only handle gives -EBADF.
 * An object of huge pages (a hugetlbfs's, or a tmpfs huge='s) is sized in whole pages.
 * Returns 0 or a negative errno.
 */
int pshm_resize(struct pshm_seg *seg, uint64_t size, unsigned flags);

/* Set the segment's permission bits (fchmod or IPC_SET). Returns 0 or a negative errno. */
int pshm_chmod(struct pshm_seg *seg, mode_t mode);

/* Set owner and group; (uid_t)-1 or (gid_t)-1 leaves one unchanged. 0 or negative errno. */
int pshm_chown(struct pshm_seg *seg, uid_t uid, gid_t gid);

/*
 * Remove the object the handle refers to: unlink its name (POSIX, file, semaphore) or mark a
 * System V segment for destruction (IPC_RMID). Mappings and descriptors stay valid until
 * closed. A memfd has no name: -EOPNOTSUPP. Returns 0 or a negative errno.
 */
int pshm_destroy(struct pshm_seg *seg);

/*
 * Remove the object at ADDR without opening it for reading or writing: shm_unlink for POSIX
 * (whatever squats under the name goes, as with shm_unlink), IPC_RMID for System V, unlink for
 * files and semaphores (a symlink gives -ELOOP, anything else not a regular file -EINVAL); a
 * channel's beacons of dead role holders go with it. Returns 0 or a negative errno (-ENOENT
 * when it does not exist).
 */
int pshm_destroy_addr(const char *addr);

/*
 * The size of struct pshm_stat's address buffer, its terminating NUL included. Every canonical
 * address fits: the longest is "file:" and a path shorter than PATH_MAX (4096) bytes.
 */
#define PSHM_ADDRESS_MAX 4160

/* A point in time: seconds and nanoseconds since the Epoch, as the kernel keeps it. */
struct pshm_time {
	int64_t sec;
	int64_t nsec; /* 0 to 999999999 */
};

/*
 * A segment's description, filled by pshm_stat(), pshm_stat_addr() and pshm_list(). Every
 * member has a fixed width, so that the layout is the same for every caller; what a kind does
 * not have is zero, and so is the reserved space at the end.
 */
struct pshm_stat {
	int32_t kind;       /* enum pshm_kind */
	uint32_t mode;      /* permission bits only */
	uint32_t uid;       /* owner */
	uint32_t gid;       /* group */
	uint64_t size;      /* bytes */
	uint64_t allocated; /* bytes actually backed by memory (less than size: sparse) */
	uint64_t dev;       /* fd-based kinds: the file's device (as dev_t) and inode */
	uint64_t ino;
	uint64_t nlink;         /* fd-based kinds: 0 once the name is removed */
	struct pshm_time atime; /* last access; System V: last attach */
	struct pshm_time mtime; /* last modification; System V: last detach */
	struct pshm_time ctime; /* last status change; System V: last change */
	uint32_t seals;         /* memfd: enum pshm_seal bits in force */
	/* System V only (zero for the others): */
	int32_t key;     /* the key; 0 for IPC_PRIVATE */
	int32_t id;      /* the identifier */
	int32_t removed; /* 1 when marked for destruction (SHM_DEST), else 0 */
	uint64_t nattch; /* number of attaches */
	int32_t cpid;    /* creator */
	int32_t lpid;    /* last shmat/shmdt */
	uint32_t cuid;   /* creator's user and group */
	uint32_t cgid;
	/* memfd: a process holding it and its descriptor (pshm_list: the first one found). */
	int32_t pid;
	int32_t fd;
	/* The canonical address, as pshm_address() gives it, NUL-terminated. */
	char address[PSHM_ADDRESS_MAX];
	/* POSIX objects and files: */
	uint32_t leased; /* 1: removed when its last lease goes (PSHM_LEASE), else 0 */
	uint32_t leases; /* leases held on it now, counted from the kernel's locks (0 for an
			    object that is leased but held by nobody: pshm_gc() removes it), or
			    PSHM_LEASES_UNKNOWN when they could not be counted */
	/* The size of the pages that back it, in bytes: the system page size for ordinary objects,
	 * a huge page size for huge ones (PSHM_HUGE, or a hugetlbfs or a tmpfs mounted with huge=),
	 * 0 when it cannot be told. System V segments: told only while a process has the
	 * segment attached, from its /proc/PID/smaps if the caller may read it (this process's,
	 * the last attacher's, the creator's, or any other's); attaching just to look would change
	 * its attach time and last pid. */
	uint64_t page_size;
	uint64_t reserved[14]; /* zero */
};

#define PSHM_LEASES_UNKNOWN UINT32_MAX

/* Describe the handle's segment now. Returns 0 or a negative errno. */
int pshm_stat(struct pshm_seg *seg, struct pshm_stat *st);

/*
 * Describe the segment at ADDR without needing read or write permission on it where the
 * technique allows (POSIX, files, semaphores: the name is not opened for I/O). Returns 0 or a
 * negative errno.
 */
int pshm_stat_addr(const char *addr, struct pshm_stat *st);

/* Kinds for pshm_list(), or'd together: each is 1 << its enum pshm_kind. */
enum pshm_list_kinds {
	PSHM_LIST_POSIX = 1 << PSHM_POSIX,
	PSHM_LIST_SYSV = 1 << PSHM_SYSV,
	PSHM_LIST_MEMFD = 1 << PSHM_MEMFD,
	PSHM_LIST_SEM = 1 << PSHM_SEM,
	PSHM_LIST_DEFAULT = PSHM_LIST_POSIX | PSHM_LIST_SYSV,
	PSHM_LIST_ALL = PSHM_LIST_DEFAULT | PSHM_LIST_MEMFD | PSHM_LIST_SEM,
};

/*
 * Call FN once for each segment of the kinds in MASK: every POSIX object in the shm directory
 * (names starting "sem." are semaphores, PSHM_SEM), every System V segment, and (with
 * PSHM_LIST_MEMFD) every memfd held by a process whose /proc entries are readable, once per
 * file. Entries that vanish while being read are skipped. ST is valid only during the call.
 *
 * A nonzero return from FN stops the walk; that value is stored in *STOPP, which is set to 0
 * when the walk runs to its end (STOPP may be NULL). Returns the number of entries passed to
 * FN, the one that stopped the walk included, or a negative errno when the walk itself failed
 * (-EINVAL for a NULL FN or an unknown kind in MASK), which FN's own return never becomes.
 */
typedef int (*pshm_list_fn)(const struct pshm_stat *st, void *arg);
int pshm_list(unsigned mask, pshm_list_fn fn, void *arg, int *stopp);

/* Flags for pshm_gc() and pshm_gc_addr(). */
enum pshm_gc_flags {
	PSHM_GC_DRY_RUN = 1 << 0, /* remove nothing: report what would go */
	PSHM_GC_LEASES = 1 << 1,  /* leased objects whose every lease is gone */
	PSHM_GC_BEACONS = 1 << 2, /* channels' beacon files of role holders that died */
};

/* Why pshm_gc() removes something, as its callback is told. */
enum pshm_gc_reason {
	PSHM_GC_DEAD_LEASE = 1,  /* a leased object that nobody holds a lease on */
	PSHM_GC_DEAD_BEACON = 2, /* a beacon file or poll FIFO whose holder died (ST describes
				    the file) */
};

/*
 * Remove what nobody can use any more from the shm directory: with PSHM_GC_LEASES every leased
 * object whose lease holders are all gone, decided by the kernel's locks (never by a guess),
 * and with PSHM_GC_BEACONS the beacon files of channel role holders that died (FLAGS without
 * either means both). Removal is safe against a process taking a lease at the same moment:
 * either that process gets the object first and it stays, or its open fails with -ENOENT. An
 * object that is not leased is never removed. FN, which may be NULL, is called for each thing
 * removed (or, with PSHM_GC_DRY_RUN, that would be) with its description and an enum
 * pshm_gc_reason; a nonzero return stops the walk and is stored in *STOPP (0 at the end; STOPP
 * may be NULL). Objects the caller may not remove are passed over. Returns the number of
 * things removed (or that would be), or a negative errno when the walk itself failed.
 */
typedef int (*pshm_gc_fn)(const struct pshm_stat *st, int reason, void *arg);
int pshm_gc(unsigned flags, pshm_gc_fn fn, void *arg, int *stopp);

/*
 * pshm_gc() for the one POSIX object or file at ADDR (a file: channel's dead holders' beacons
 * go too, with PSHM_GC_BEACONS). Returns 1 when the object was removed (or would be, with
 * PSHM_GC_DRY_RUN), 0 when it stays (not leased, or a lease is held on it), or a negative
 * errno (-EPERM or -EACCES when it is dead but the caller may not remove it).
 */
int pshm_gc_addr(const char *addr, unsigned flags);

/* ---- memfd seals ---------------------------------------------------------------------------- */

/* Seals for pshm_seal() and pshm_seals(), or'd together. */
enum pshm_seal {
	PSHM_SEAL_SEAL = 0x0001,         /* no more seals may be added */
	PSHM_SEAL_SHRINK = 0x0002,       /* the size may not shrink */
	PSHM_SEAL_GROW = 0x0004,         /* the size may not grow */
	PSHM_SEAL_WRITE = 0x0008,        /* the contents may not change */
	PSHM_SEAL_FUTURE_WRITE = 0x0010, /* no new writable mappings or writes */
	PSHM_SEAL_EXEC = 0x0020,         /* the execute bits may not change */
};

/* Add seals to a memfd (fcntl F_ADD_SEALS). -EOPNOTSUPP for other kinds; -EPERM when
 * PSHM_SEAL_SEAL is in force; -EBUSY when sealing against writes while writable mappings
 * exist. Returns 0 or a negative errno. */
int pshm_seal(struct pshm_seg *seg, unsigned seals);

/* The seals in force on a memfd (>= 0), or a negative errno (-EOPNOTSUPP for other kinds). */
int pshm_seals(struct pshm_seg *seg);

/* ---- Handing a segment to another process -------------------------------------------------- */

/*
 * Send the handle's descriptor over the connected Unix socket SOCK (SCM_RIGHTS). Any
 * fd-based kind may be sent; System V has no descriptor (-EOPNOTSUPP: send its address).
 * Returns 0 or a negative errno.
 */
int pshm_send_fd(int sock, const struct pshm_seg *seg);

/*
 * Receive a descriptor sent by pshm_send_fd() from SOCK and make a handle of it, as
 * pshm_from_fd() does. Extra descriptors a misbehaving sender attaches are closed. Returns 0,
 * -EPIPE when the peer closed the socket, -EPROTO for a message that carried no descriptor,
 * or another negative errno.
 */
int pshm_recv_fd(int sock, struct pshm_seg **segp, unsigned flags);

/* ---- Addresses ------------------------------------------------------------------------------ */

/*
 * The shm directory in use: the one given to pshm_set_shm_dir(), else the PSHM_DIR
 * environment variable if set and not empty (read with secure_getenv, so ignored in
 * secure-execution mode) when the library first needs the directory, else "/dev/shm". A later
 * change to the environment is not seen until pshm_set_shm_dir(NULL). The string returned is
 * never NULL and stays valid for the life of the process.
 */
const char *pshm_shm_dir(void);

/*
 * Make DIR the shm directory of this process from now on: an absolute path without a trailing
 * slash, not checked for existence (a missing directory gives -ENOENT where it is used). DIR
 * NULL reads PSHM_DIR again, as the first use does. Safe against calls in other threads, which
 * use either the old directory or the new one. Returns 0; -EINVAL for an empty or relative path
 * or a trailing slash, -ENAMETOOLONG for PATH_MAX bytes or more, -ENOMEM.
 */
int pshm_set_shm_dir(const char *dir);

/*
 * Parse a size such as "4096", "4K", "4KiB" (2^10), "4KB" (10^3), "1.5M", "2G", "1T" into
 * *SIZEP; units in any case ("10mb", "4kib"), or "0x1000", a hexadecimal count of bytes with no
 * unit. A fraction is multiplied out exactly, with all its digits, and rounded down to a whole
 * byte. Returns 0, or -EINVAL for malformed text and -ERANGE for a size of 2^63 or more; *SIZEP
 * is left alone on failure.
 */
int pshm_parse_size(const char *text, uint64_t *sizep);

/* ---- Channels ------------------------------------------------------------------------------- */

/*
 * A channel is a message ring inside a POSIX object or a file ("/name", "posix:/name",
 * "file:PATH"; System V and memfd addresses give -EOPNOTSUPP). One writer sends messages of
 * 0 to max_message bytes (see struct pshm_chan_stat); they arrive whole and in order. The
 * ring holds up to capacity/32 messages and capacity bytes of payloads (a payload of up to 12
 * bytes takes none: it travels in the message's 32-byte descriptor).
 *
 *  - Queue mode (the default): one reader takes every message; a full ring makes the writer
 *    wait. Neither side makes a system call while the ring is neither full nor empty.
 *  - Broadcast mode (PSHM_CHAN_BROADCAST): up to PSHM_CHAN_MAX_READERS readers each read
 *    every message from where they attached (or, with PSHM_CHAN_FROM_OLDEST, from the oldest
 *    message still intact); the writer never waits, and a reader that falls more than the ring
 *    behind gets -EOVERFLOW once and skips to the oldest intact message.
 *  - Lossless broadcast mode (PSHM_CHAN_BROADCAST | PSHM_CHAN_LOSSLESS): as broadcast, but the
 *    writer waits, as a queue writer does, while the slowest live reader is a ring behind, so
 *    that no live reader loses a message; a reader that dies or detaches holds it back no more.
 *  - Many writers (PSHM_CHAN_MANY_WRITERS, with a queue or a broadcast channel, not a
 *    lossless one): up to PSHM_CHAN_MAX_WRITERS writers at once, each message claimed with one
 *    compare-and-swap (in a broadcast channel, under a lock held only while the claim is
 *    computed); each writer's messages arrive whole and in its order, the messages of
 *    different writers in the order they were claimed, and a writer that dies between reserve
 *    and commit costs only that message (readers and writers pass over it once the locks say
 *    its writer is dead). A broadcast writer never waits for a reader; it waits only while the
 *    claim it would overwrite, a ring older, is held by another live writer that has not
 *    committed it yet (timeout 0: -EAGAIN).
 *
 * Each role holder keeps a write lock on a file of its own while attached, its beacon: an empty
 * ".pshm-live.ID" (ID: 16 hex digits) in the channel's directory, or, where it may not create
 * files there, its role's byte of the object. The kernel drops the lock when the holder dies,
 * so a blocked peer notices within about 100 ms, whatever read locks others hold. A SIGKILL
 * leaves the beacon until the role is taken over or pshm_destroy_addr() removes the channel. Every
 * function returns 0 (or a count) or a negative errno; the channel errors are -EAGAIN (timeout
 * 0 and nothing to do), -ETIMEDOUT, -EPIPE (reader: the writer detached and everything is read;
 * queue writer: the reader detached while it was attached; a writer that attaches after a
 * reader left waits for the next one), -ECONNABORTED (reader: the writer ended its stream as
 * failed with pshm_chan_abort() and everything is read), -ECONNRESET (the peer died: a reader
 * sees it once the ring is drained, a writer blocked on a full queue within about 100 ms). A
 * reader hears -EPIPE, -ECONNABORTED or -ECONNRESET again at each call until a new writer
 * attaches and continues the channel with a new stream. The others: -EOVERFLOW, -EBADMSG
 * (the shared header or a descriptor is corrupt: nothing outside the mapping is touched),
 * PSHM_ETRUNCATED (the object was truncated while in use: the handle's mapping is guarded as
 * with PSHM_MAP_GUARD, and from the call that meets the truncation on, every send and receive
 * on the handle fails so; a commit or release fails so after a reservation or peek that did
 * not), -EMSGSIZE, -EINVAL, -EBUSY and -EOPNOTSUPP. Timeouts are in milliseconds:
 * PSHM_CHAN_FOREVER waits without limit, 0 never waits.
 *
 * Thread safety: a struct pshm_chan is for one thread at a time; distinct handles (also to the
 * same channel, in one process) are independent, so a writer thread and a reader thread each
 * use their own handle.
 */
/* A channel's mode: flags of pshm_chan_create(), and struct pshm_chan_stat's mode. */
enum pshm_chan_mode {
	PSHM_CHAN_QUEUE = 0,              /* one reader takes every message (the default) */
	PSHM_CHAN_BROADCAST = 1 << 8,     /* every reader reads every message */
	PSHM_CHAN_LOSSLESS = 1 << 9,      /* with PSHM_CHAN_BROADCAST: the writer waits for the
					     slowest live reader rather than overwrite */
	PSHM_CHAN_MANY_WRITERS = 1 << 11, /* queue or broadcast: up to PSHM_CHAN_MAX_WRITERS
					     writers at once */
};
/* Flags of pshm_chan_open(). */
enum pshm_chan_open_flags {
	PSHM_CHAN_FROM_OLDEST = 1 << 10, /* a broadcast reader starts at the oldest message still
					    intact; a queue reader always starts at the first
					    unread, so for it the flag changes nothing */
	PSHM_CHAN_FOLLOW = 1 << 12,      /* a reader hears each writer's end once, then waits
					    for the next writer instead of hearing it again */
};
/* The roles of pshm_chan_open(). */
enum pshm_chan_role { PSHM_CHAN_WRITER = 1, PSHM_CHAN_READER = 2 };
#define PSHM_CHAN_FOREVER     (-1)
#define PSHM_CHAN_MAX_READERS 64
#define PSHM_CHAN_MAX_WRITERS 64
/* A channel object begins with these 8 bytes (no terminating NUL), and its ring follows a
 * header of PSHM_CHAN_HEADER_SIZE bytes: enough for a tool to tell a channel from another object
 * without attaching to it. */
#define PSHM_CHAN_MAGIC       "pshmchan"
#define PSHM_CHAN_HEADER_SIZE 8192

struct pshm_chan;

/*
 * Create a channel object at ADDR with a data ring of CAPACITY bytes, rounded up to a power of
 * two of at least 4 KiB (more than 1 GiB: -EINVAL), and as many bytes of descriptors (the
 * object is 8 KiB more than twice that), permission bits MODE (0 means 0600). FLAGS:
 * PSHM_CHAN_BROADCAST, PSHM_CHAN_LOSSLESS with it (alone: -EINVAL), PSHM_CHAN_MANY_WRITERS
 * with a queue or a broadcast channel (with PSHM_CHAN_LOSSLESS: -EINVAL), and
 * PSHM_OPEN_OR_CREATE to accept an existing channel of the same mode (an existing one of
 * another mode gives -EEXIST; an object that is not a channel -EBADMSG, or -EAGAIN when its
 * header is still unwritten).
 * Libraries older than lossless mode refuse a lossless channel (-EBADMSG) rather than
 * overwrite what its readers have not read. Creation is otherwise exclusive (-EEXIST).
 * The header is complete before it becomes valid, so a concurrent opener never sees half of it.
 * Returns 0 or a negative errno.
 */
int pshm_chan_create(const char *addr, uint64_t capacity, mode_t mode, unsigned flags);

/*
 * Attach to the channel at ADDR as ROLE (PSHM_CHAN_WRITER or PSHM_CHAN_READER); FLAGS is 0,
 * or for a reader PSHM_CHAN_FROM_OLDEST and PSHM_CHAN_FOLLOW (any other: -EINVAL). There is
 * one writer at a time (unless the channel was made with PSHM_CHAN_MANY_WRITERS) and, in queue
 * mode, one reader: -EBUSY while a live one holds the role; a role whose holder
 * died, detached or aborted is taken over where it stopped. A broadcast reader takes a free
 * slot (-EBUSY when all PSHM_CHAN_MAX_READERS are taken) and starts at the writer's current
 * position, or with PSHM_CHAN_FROM_OLDEST at the oldest message still intact: it reads what is
 * still there, and what the writer overwrites before it is read gives -EOVERFLOW as any
 * overrun (in a lossless channel the writer drops nothing an attached reader has not read).
 * The header is validated (-EBADMSG;
 * PSHM_ETRUNCATED for an object shorter than its header says), and an object whose header is
 * still being written gives -EAGAIN. On success *CHP is a new handle. Returns 0 or a negative
 * errno.
 */
int pshm_chan_open(struct pshm_chan **chp, const char *addr, int role, unsigned flags);

/*
 * Detach cleanly and free the handle: a writer's readers get -EPIPE once they have read
 * everything, a queue reader's writer gets -EPIPE. A reservation not committed is dropped, a
 * peeked message stays unread. NULL is accepted. Returns 0 or the first error of unmap/close
 * (the handle is freed in any case).
 */
int pshm_chan_close(struct pshm_chan *ch);

/*
 * Writer: detach and free the handle as pshm_chan_close() does, but mark the stream as failed
 * (the writer's state PSHM_CHAN_WRITER_ABORTED in struct pshm_chan_stat): its readers get
 * every message committed before, then -ECONNABORTED instead of -EPIPE, so that a truncated
 * stream is never taken for a complete one. A writer that attaches later starts a new stream,
 * as after a clean detach. NULL is accepted. Returns 0, -EINVAL for a reader's handle (which
 * stays open and attached: close it with pshm_chan_close()), or the first error of
 * unmap/close (the handle is freed in any case).
 */
int pshm_chan_abort(struct pshm_chan *ch);

/*
 * Writer: reserve room for a message of LEN bytes and set *BUFP to where its payload goes, in
 * the ring itself (zero copy); pshm_chan_commit() publishes it. Waits up to TIMEOUT_MS for
 * room in a full queue, or in a lossless broadcast channel while a live reader has not read
 * what the message would overwrite. Returns 0, -EMSGSIZE for LEN over the channel's maximum, -EINVAL when
 * the handle is not a writer or already holds a reservation, -EAGAIN, -ETIMEDOUT, -EPIPE,
 * -ECONNRESET, -EBADMSG, or the error of a futex wait the kernel refused (none does normally).
 */
int pshm_chan_reserve(struct pshm_chan *ch, size_t len, void **bufp, int timeout_ms);

/*
 * Writer: publish the reserved message with its first LEN bytes (LEN at most what was
 * reserved); readers see it whole or not at all, and a sleeping reader is woken. Returns 0,
 * -EINVAL without a reservation or for a LEN too large, or PSHM_ETRUNCATED.
 */
int pshm_chan_commit(struct pshm_chan *ch, size_t len);

/*
 * Writer: send the LEN bytes at BUF as one message (pshm_chan_reserve, a copy, and
 * pshm_chan_commit). Returns 0 or the errors of pshm_chan_reserve().
 */
int pshm_chan_send(struct pshm_chan *ch, const void *buf, size_t len, int timeout_ms);

/*
 * Reader: wait up to TIMEOUT_MS for the next message and set *BUFP and *LENP to its payload,
 * in the ring itself (zero copy, 8-byte aligned); it stays there, and peek returns it again,
 * until pshm_chan_release() or pshm_chan_recv(). In broadcast mode the writer may overwrite it
 * meanwhile: pshm_chan_release() says so. Returns 0, -EAGAIN, -ETIMEDOUT, -EPIPE,
 * -ECONNABORTED, -ECONNRESET, -EOVERFLOW (broadcast: messages were lost; the next call reads
 * the oldest intact one), -EBADMSG, -EINVAL when the handle is not a reader, or the error of a
 * futex wait the kernel refused (none does normally).
 */
int pshm_chan_peek(struct pshm_chan *ch, const void **bufp, size_t *lenp, int timeout_ms);

/*
 * Reader: done with the peeked message, which is consumed. Returns 0, -EINVAL when nothing is
 * peeked, or (broadcast) -EOVERFLOW when the writer overwrote the message while it was held:
 * what was read from it may be torn, and the reader moves on to the oldest intact message.
 * PSHM_ETRUNCATED: the object was truncated and what was read may be zeros.
 */
int pshm_chan_release(struct pshm_chan *ch);

/*
 * Reader: receive the next message into BUF of SIZE bytes and set *LENP to its length,
 * waiting up to TIMEOUT_MS. When SIZE is too small the message stays unread, *LENP gets its
 * length and the result is -EMSGSIZE. Returns 0 or the errors of pshm_chan_peek().
 */
int pshm_chan_recv(struct pshm_chan *ch, void *buf, size_t size, size_t *lenp, int timeout_ms);

/*
 * A descriptor that polls readable (poll, epoll, select) when the handle can make progress: a
 * reader's next pshm_chan_recv() or pshm_chan_peek() would not wait (a message is there, or the
 * writer's end), a queue writer's pshm_chan_send() would find room. The handle owns it (close
 * it with the handle, never by itself); it stays the same for the handle's life. The pattern:
 * wait for it, then call the handle with timeout 0 until -EAGAIN, which arms it again; a wake-up
 * may find nothing to do (the call then gives -EAGAIN). Returns the descriptor or a negative
 * errno.
 */
int pshm_chan_fd(struct pshm_chan *ch);

/* Broadcast reader: the messages this handle has lost to overruns so far (0 otherwise). */
uint64_t pshm_chan_lost(const struct pshm_chan *ch);

/*
 * Set how long a blocked call spins, watching the ring, before it sleeps on a futex: the
 * default is 20 microseconds, 0 sleeps at once, at most 1 second (else -EINVAL). Returns 0 or
 * a negative errno.
 */
int pshm_chan_set_spin(struct pshm_chan *ch, unsigned spin_ns);

/* The writer's state in struct pshm_chan_stat. */
enum pshm_chan_writer {
	PSHM_CHAN_WRITER_NONE = 0,     /* none has attached yet */
	PSHM_CHAN_WRITER_ATTACHED = 1, /* attached and alive */
	PSHM_CHAN_WRITER_DETACHED = 2, /* detached cleanly (pshm_chan_close()) */
	PSHM_CHAN_WRITER_DIED = 3,     /* died while attached */
	PSHM_CHAN_WRITER_ABORTED = 4,  /* ended its stream as failed (pshm_chan_abort()) */
};

/*
 * A channel's description, filled by pshm_chan_stat_addr(). Fixed-width members, the same
 * layout for every caller; the reserved space is zero.
 */
struct pshm_chan_stat {
	int32_t mode;         /* enum pshm_chan_mode: its flags as at creation */
	int32_t writer;       /* enum pshm_chan_writer */
	int32_t readers;      /* live readers */
	int32_t writers;      /* live writers (many-writer channels: up to 64) */
	uint64_t capacity;    /* data ring bytes */
	uint64_t used;        /* bytes of unread (broadcast: not yet overwritten) messages:
	                         payloads in the data ring and 32 bytes of descriptor each */
	uint64_t max_message; /* largest message: capacity/2 */
	uint64_t sent;        /* messages published */
	uint64_t received;    /* messages read (broadcast: by all readers) */
	uint64_t bytes;       /* payload bytes published */
	uint64_t lost;        /* broadcast: messages lost by all readers */
	uint64_t reserved[8]; /* zero */
};

/*
 * Describe the channel at ADDR without attaching to it (read permission suffices). Returns 0,
 * -EBADMSG for an object that is not a valid channel, PSHM_ETRUNCATED for one that was
 * truncated, -EAGAIN while its header is still being written, or another negative errno.
 */
int pshm_chan_stat_addr(const char *addr, struct pshm_chan_stat *st);

#ifdef __cplusplus
}
#endif

#endif /* PSHM_H */
