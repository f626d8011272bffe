/*
 * internal.h - what the library's modules share and nothing outside it sees.
 *
 * Names are pshm__*; every symbol here has hidden visibility, so the shared library exports
 * only the public pshm_* interface (see libpshm.map).
 */
#ifndef PSHM_INTERNAL_H
#define PSHM_INTERNAL_H

#include "pshm.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define PSHM__API    __attribute__((visibility("default")))
#define PSHM__HIDDEN __attribute__((visibility("hidden")))

/* ---- sys.c: the only place that makes system calls with side effects --------------------- */

/* Room for "/proc/PID/fd/FD" with both numbers at their largest, and the NUL. */
#define PSHM__PROC_FD_LEN 32
/*
 * Write "/proc/self/fd/FD" (PID 0) or "/proc/PID/fd/FD" into BUF, of PSHM__PROC_FD_LEN bytes;
 * PID and FD are not negative. As snprintf would, in a tenth of the instructions: a memfd's
 * open takes two such paths.
 */
void pshm__proc_fd(char *buf, pid_t pid, int fd) PSHM__HIDDEN;

/*
 * The calls a test can make fail (see pshm__fault_hook), one per kind of call. Opening a file
 * or a stdio stream is PSHM__OPEN, a directory stream PSHM__OPENDIR; closing any of them is
 * PSHM__CLOSE.
 */
enum pshm__call {
	PSHM__OPEN,
	PSHM__CLOSE,
	PSHM__FTRUNCATE,
	PSHM__FALLOCATE,
	PSHM__FCHMOD,
	PSHM__FCHOWN,
	PSHM__FSTAT,
	PSHM__MMAP,
	PSHM__MUNMAP,
	PSHM__UNLINK,
	PSHM__SHMGET,
	PSHM__SHMAT,
	PSHM__SHMDT,
	PSHM__SHMCTL,
	PSHM__MEMFD,
	PSHM__SIGACTION,
	PSHM__LOCK,  /* fcntl locks, set or tested (F_OFD_SETLK, F_OFD_GETLK, ...) */
	PSHM__SEAL,  /* memfd seals, added or read */
	PSHM__FLAGS, /* a descriptor's status flags, read or set (F_GETFL, F_SETFL) */
	PSHM__SYNC,  /* msync, fdatasync */
	PSHM__SENDMSG,
	PSHM__RECVMSG,
	PSHM__FUTEX,      /* wait and wake */
	PSHM__MEMBARRIER, /* query, register, barrier */
	PSHM__MADVISE,
	PSHM__OPENDIR,
	PSHM__LINK,
	PSHM__MKNOD,
	PSHM__READ, /* a pipe's bytes read, or written: a channel's poll FIFO */
	PSHM__WRITE,
	PSHM__EPOLL, /* epoll_create1, epoll_ctl */
	PSHM__TIMER, /* timerfd_create, timerfd_settime */
	PSHM__NCALLS
};

/*
 * When set, called before each system call routed through sys.c; a nonzero return is taken as
 * that call's errno and the call is not made. Tests use it to inject failures, EINTR included:
 * the wrappers that retry EINTR ask the hook again at each try, so a hook that always answers
 * EINTR for such a call never lets it return.
 */
extern int (*pshm__fault_hook)(enum pshm__call call) PSHM__HIDDEN;

/* Each returns the call's result, or -errno; the EINTR loops live here. */
int pshm__openat(int dirfd, const char *path, int flags, mode_t mode) PSHM__HIDDEN;
/*
 * open(2) of what should be a regular file, never blocking on a FIFO yet waiting for a lease to
 * break as open(2) does unless FLAGS ask for O_NONBLOCK. A descriptor (its type unchecked) or
 * -errno.
 */
int pshm__open_file(int dirfd, const char *path, int flags, mode_t mode) PSHM__HIDDEN;
int pshm__close(int fd) PSHM__HIDDEN;
int pshm__ftruncate(int fd, uint64_t size) PSHM__HIDDEN;
int pshm__reserve(int fd, uint64_t off, uint64_t len) PSHM__HIDDEN;
int pshm__fchmod(int fd, mode_t mode) PSHM__HIDDEN;
int pshm__fchown(int fd, uid_t uid, gid_t gid) PSHM__HIDDEN;
int pshm__fstat(int fd, struct stat *st) PSHM__HIDDEN;
int pshm__mmap(void **addrp, size_t len, int prot, int flags, int fd) PSHM__HIDDEN;
int pshm__munmap(void *addr, size_t len) PSHM__HIDDEN;
int pshm__unlinkat(int dirfd, const char *path) PSHM__HIDDEN;
int pshm__shmget(key_t key, size_t size, int flags) PSHM__HIDDEN;
int pshm__shmat(int id, int flags, void **addrp) PSHM__HIDDEN;
int pshm__shmdt(const void *addr) PSHM__HIDDEN;
int pshm__shmctl(int id, int cmd, void *buf) PSHM__HIDDEN;
int pshm__memfd(const char *name, unsigned flags) PSHM__HIDDEN;
struct sigaction;
int pshm__sigaction(int sig, const struct sigaction *sa, struct sigaction *old) PSHM__HIDDEN;
/* pthread_sigmask; counted as PSHM__SIGACTION. */
int pshm__sigmask(int how, const sigset_t *set, sigset_t *old) PSHM__HIDDEN;
int pshm__linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                 int flags) PSHM__HIDDEN;
/*
 * A lock of TYPE on [START, START+LEN) of FD (LEN 0: to the end of the file), or a test of one:
 * CMD is F_OFD_SETLK or F_OFD_GETLK (or F_SETLK, F_GETLK). 0 for a lock taken or let go; for a
 * test, the type of a lock that conflicts, or F_UNLCK; or -errno.
 */
int pshm__lock(int fd, int cmd, short type, off_t start, off_t len) PSHM__HIDDEN;
/* Add SEALS to the memfd FD (F_ADD_SEALS): 0 or -errno. */
int pshm__seals_add(int fd, unsigned seals) PSHM__HIDDEN;
/* FD's seals (F_GET_SEALS), or -errno. */
int pshm__seals_get(int fd) PSHM__HIDDEN;
/* FD's file status flags and access mode (F_GETFL), or -errno. */
int pshm__getfl(int fd) PSHM__HIDDEN;
/* Set FD's file status flags to FLAGS (F_SETFL): 0 or -errno. */
int pshm__setfl(int fd, int flags) PSHM__HIDDEN;
/* msync(MS_SYNC) of [ADDR, ADDR+LEN): 0 or -errno. */
int pshm__msync(void *addr, size_t len) PSHM__HIDDEN;
int pshm__fdatasync(int fd) PSHM__HIDDEN;
struct msghdr;
/* sendmsg and recvmsg: the byte count, or -errno. */
ssize_t pshm__sendmsg(int sock, const struct msghdr *msg, int flags) PSHM__HIDDEN;
ssize_t pshm__recvmsg(int sock, struct msghdr *msg, int flags) PSHM__HIDDEN;
struct timespec;
/*
 * FUTEX_WAIT on the shared word WORD while it holds OLD, for at most TIMEOUT (relative). 0 when
 * woken, or -errno: -EAGAIN (the word had moved), -EINTR and -ETIMEDOUT are not failures.
 */
int pshm__futex_wait(_Atomic uint32_t *word, uint32_t old,
                     const struct timespec *timeout) PSHM__HIDDEN;
/* Wake every waiter on the shared word WORD: how many woke, or -errno. */
int pshm__futex_wake(_Atomic uint32_t *word) PSHM__HIDDEN;
/* membarrier(CMD, 0, 0): the call's result (a mask for MEMBARRIER_CMD_QUERY), or -errno. */
int pshm__membarrier(int cmd) PSHM__HIDDEN;
int pshm__madvise(void *addr, size_t len, int advice) PSHM__HIDDEN;
/* mknodat(DIRFD, PATH, MODE, 0): a FIFO, or another node without a device. 0 or -errno. */
int pshm__mknodat(int dirfd, const char *path, mode_t mode) PSHM__HIDDEN;
/* read(2), EINTR retried: the byte count, or -errno. */
ssize_t pshm__read(int fd, void *buf, size_t len) PSHM__HIDDEN;
/*
 * write(2), EINTR retried: the byte count, or -errno. With NOSIGPIPE a write to a pipe whose
 * last reader has gone gives -EPIPE without the SIGPIPE that would end the process.
 */
ssize_t pshm__write(int fd, const void *buf, size_t len, bool nosigpipe) PSHM__HIDDEN;
/* A new epoll instance, close-on-exec: its descriptor, or -errno. */
int pshm__epoll_create(void) PSHM__HIDDEN;
/* Watch FD for input in the epoll instance EP (level-triggered): 0 or -errno. */
int pshm__epoll_add(int ep, int fd) PSHM__HIDDEN;
/* A new timerfd on CLOCK_MONOTONIC, non-blocking and close-on-exec: its descriptor, or -errno. */
int pshm__timerfd_create(void) PSHM__HIDDEN;
/*
 * Arm the timerfd FD to expire once, NS nanoseconds from now (0: disarm it); either way what it
 * counted so far is forgotten and it no longer polls readable. 0 or -errno.
 */
int pshm__timerfd_set(int fd, uint64_t ns) PSHM__HIDDEN;
/* Open the directory PATH for reading into *DIRP (NULL when it fails): 0 or -errno. */
int pshm__opendir(const char *path, DIR **dirp) PSHM__HIDDEN;
/* Open PATH for reading as a stdio stream into *FP: 0 or -errno. */
int pshm__fopen_read(const char *path, FILE **fp) PSHM__HIDDEN;
/* closedir and fclose: the stream is gone whatever they return (0 or -errno). */
int pshm__closedir(DIR *dir) PSHM__HIDDEN;
int pshm__fclose(FILE *f) PSHM__HIDDEN;
/* For a signal handler: no injected faults, errno kept. */
int pshm__map_zero(void *addr, size_t len, int prot) PSHM__HIDDEN;
void pshm__sig_default(int sig, bool again) PSHM__HIDDEN;

/* ---- name.c: POSIX names -------------------------------------------------------------------- */

/*
 * Check a POSIX object name and return, in *BASEP, the part after its leading slashes, and in
 * *LENP (unless NULL) that part's length. 0, -EINVAL or -ENAMETOOLONG.
 */
int pshm__name_check(const char *name, const char **basep, size_t *lenp) PSHM__HIDDEN;

/*
 * Write the path of POSIX object NAME (prefix "sem." for semaphores) into BUF of BUFSZ bytes.
 * Returns 0, -EINVAL, or -ENAMETOOLONG.
 */
int pshm__name_path(const char *name, const char *prefix, char *buf, size_t bufsz) PSHM__HIDDEN;
/* The same for BASE, BLEN bytes long, that pshm__name_check() has passed. */
int pshm__name_join(const char *base, size_t blen, const char *prefix, char *buf,
                    size_t bufsz) PSHM__HIDDEN;

/*
 * The shm directory, as pshm_shm_dir() returns it: one atomic load once the first use has
 * read PSHM_DIR (name.c).
 */
extern const char *_Atomic pshm__dir PSHM__HIDDEN;
const char *pshm__shm_dir_first(void) PSHM__HIDDEN;

static inline const char *pshm__shm_dir(void)
{
	const char *dir = atomic_load_explicit(&pshm__dir, memory_order_acquire);
	return dir ? dir : pshm__shm_dir_first();
}

/*
 * Whether the path DIR/PREFIX+BASE, of the lengths given, fits BUFSZ bytes with its NUL, and its
 * last component NAME_MAX: 0 or -ENAMETOOLONG.
 */
static inline int pshm__name_fits(size_t dlen, size_t plen, size_t blen, size_t bufsz)
{
	return plen + blen > NAME_MAX || dlen + 1 + plen + blen >= bufsz ? -ENAMETOOLONG : 0;
}

/* Write DIR/PREFIX+BASE and its NUL into BUF, which pshm__name_fits() has found large enough. */
static inline void pshm__name_put(char *buf, const char *dir, size_t dlen, const char *prefix,
                                  size_t plen, const char *base, size_t blen)
{
	/* Plain copies: this runs on every open, and snprintf costs more than the rest. */
	memcpy(buf, dir, dlen);
	buf[dlen] = '/';
	memcpy(buf + dlen + 1, prefix, plen);
	memcpy(buf + dlen + 1 + plen, base, blen);
	buf[dlen + 1 + plen + blen] = '\0';
}

/* ---- addr.c: addresses ----------------------------------------------------------------------- */

struct pshm__addr {
	int kind;         /* enum pshm_kind */
	const char *name; /* POSIX/sem: the name after the slashes; file: the path */
	size_t len;       /* POSIX/sem: the name's length */
	key_t key;        /* sysv by key */
	int id;           /* sysv by id (by_id), memfd fd */
	bool by_id;
	pid_t pid;      /* memfd:PID:FD */
	bool anonymous; /* "memfd:" */
};

/* Parse ADDR into *A (pointing into ADDR). 0, PSHM_EADDR, -EINVAL or -ENAMETOOLONG. */
int pshm__addr_parse(const char *addr, struct pshm__addr *a) PSHM__HIDDEN;

/* ---- guard.c: mappings that survive the truncation of their object ------------------------ */

struct pshm__guard;

/*
 * Guard [ADDR, ADDR+LEN), mapped with protection PROT: a SIGBUS there maps zero pages over the
 * rest of it and sets *FLAG, which must stay valid until pshm__guard_remove(). Installs the
 * process's SIGBUS handler on first use. Returns 0 and the guard in *GP, or a negative errno.
 */
int pshm__guard_add(struct pshm__guard **gp, void *addr, size_t len, int prot,
                    _Atomic bool *flag) PSHM__HIDDEN;
/* Stop guarding, before the range is unmapped; waits for a handler looking at it. NULL: none. */
void pshm__guard_remove(struct pshm__guard *g) PSHM__HIDDEN;

/* ---- lease.c: leases (PSHM_LEASE) --------------------------------------------------------- */

/*
 * How often a create or open starts again over an object being removed under it (each time, a
 * remover made progress, or a process that may write the object holds its removal lock to keep
 * us out: -EBUSY then, after some 50 ms, rather than a hang).
 */
#define PSHM__LEASE_TRIES 10000

/* Is DIRFD/PATH, not followed, the file open as FD? Plain fstat: it guards cleanups. */
bool pshm__same_file(int fd, int dirfd, const char *path) PSHM__HIDDEN;
/*
 * The lease rules for FD, just opened from DIRFD/PATH and described by *SB: a leased object
 * nobody holds a lease on is removed when WRITABLE allows it, and is never handed out; with
 * LEASE a lease is taken. 0; -ENOENT for a dead object; -EAGAIN when the object was being
 * removed or lost its name meanwhile (open the name again); or -errno.
 */
int pshm__lease_join(int fd, const struct stat *sb, int dirfd, const char *path, bool lease,
                     bool writable) PSHM__HIDDEN;
/* Open DIRFD/PATH (as pshm__fd_open_at) under those rules, into *FDP. 0 or -errno. */
int pshm__lease_open(int dirfd, const char *path, bool lease, bool rdonly, int extra,
                     int *fdp) PSHM__HIDDEN;
/* Take the lease on the new object open as FD, before it is marked. 0 or -errno. */
int pshm__lease_new(int fd) PSHM__HIDDEN;
/*
 * Let go of a named handle's lease, removing its object if that was the last anywhere; it may
 * close the handle's descriptor itself (fd -1 then, close_err its result).
 */
void pshm__lease_release(struct pshm_seg *s) PSHM__HIDDEN;
/*
 * pshm_gc's step for one object open as FD (writable) from DIRFD/PATH; *SB receives its
 * description. 1 removed (or would be, PSHM_GC_DRY_RUN), 0 kept, or -errno.
 */
int pshm__gc_fd(int fd, int dirfd, const char *path, unsigned flags, struct stat *sb) PSHM__HIDDEN;

/* The leases held now, from /proc/locks, for counting many objects' at once. */
struct pshm__leases {
	void *v;
	size_t n, cap;
	bool loaded;
};
int pshm__leases_load(struct pshm__leases *t) PSHM__HIDDEN;
void pshm__leases_free(struct pshm__leases *t) PSHM__HIDDEN;
/* Set ST->leases for ST's dev and ino (PSHM_LEASES_UNKNOWN when T could not be loaded). */
void pshm__leases_fill(const struct pshm__leases *t, struct pshm_stat *st) PSHM__HIDDEN;
/* The same with /proc/locks read for this one object. */
void pshm__leases_count(struct pshm_stat *st) PSHM__HIDDEN;

/* ---- huge.c: huge pages (PSHM_HUGE) ------------------------------------------------------- */

/* The system page size, and SIZE rounded up to a multiple of PAGE (UINT64_MAX on overflow). */
uint64_t pshm__base_page(void) PSHM__HIDDEN;
uint64_t pshm__round_up(uint64_t size, uint64_t page) PSHM__HIDDEN;
/*
 * The huge page size FLAGS ask for (their size bits, or the system's default): 0, -EINVAL
 * for a size the system keeps no pool of, -EOPNOTSUPP for a kernel without huge pages.
 */
int pshm__huge_size(unsigned flags, uint64_t *sizep) PSHM__HIDDEN;
/* *SIZEP rounded up to the huge page size FLAGS ask for: 0, or pshm__huge_size()'s error. */
int pshm__huge_round(unsigned flags, uint64_t *sizep) PSHM__HIDDEN;
/*
 * The size of the pages backing files of FD's (or PATH's) file system: hugetlbfs's own, the
 * PMD size on a tmpfs mounted with huge= (*THP set, unless THP is NULL), else the system page
 * size; 0 when it cannot be told.
 */
uint64_t pshm__fd_page(int fd, bool *thp) PSHM__HIDDEN;
/* The least a mapping of FD can be unmapped by: a hugetlbfs's page size, else the system's. */
uint64_t pshm__map_unit(int fd) PSHM__HIDDEN;
uint64_t pshm__path_page(const char *path, bool *thp) PSHM__HIDDEN;
/*
 * For a PSHM_HUGE create in directory DIR (or in the directory of PATH): the page size there
 * in *PAGEP, or -EOPNOTSUPP where the file system gives no huge pages, -EINVAL where FLAGS ask
 * for another size; *THP tells a tmpfs huge= (whose mappings want MADV_HUGEPAGE).
 */
int pshm__huge_dir(const char *dir, unsigned flags, uint64_t *pagep, bool *thp) PSHM__HIDDEN;
int pshm__huge_path_dir(const char *path, unsigned flags, uint64_t *pagep, bool *thp) PSHM__HIDDEN;
/* What the smaps of the processes looked into said of their System V mappings (huge.c). */
struct pshm__sysv_pages {
	pid_t pid[16]; /* the processes read (0: this one) */
	int npid;
	bool scanned; /* every process has been looked for the segments still unknown */
	struct {
		int id;
		uint64_t page;
	} seg[256];
	int n;
};
uint64_t pshm__sysv_page(struct pshm__sysv_pages *c, int id, uint64_t nattch, pid_t cpid,
                         pid_t lpid) PSHM__HIDDEN;

/* ---- seg.c and the techniques ------------------------------------------------------------- */

struct pshm_seg;

/*
 * One technique's operations. A NULL entry means the operation is not supported: seg.c, the
 * only caller, answers -EOPNOTSUPP for it, in one place. Whatever a technique does unlike the
 * others belongs in its entries, so that seg.c never asks which kind a handle is.
 */
struct pshm__ops {
	int (*create)(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size, mode_t mode,
	              unsigned flags);
	int (*open)(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags);
	/* Write the handle's address, for a technique that leaves it empty at open. */
	int (*address)(struct pshm_seg *s);
	int (*size)(struct pshm_seg *s, uint64_t *sizep);
	int (*map)(struct pshm_seg *s, size_t len, bool rdonly, bool populate, void **addrp);
	int (*unmap)(struct pshm_seg *s);
	/* Write the mapping, and whatever else the technique keeps, to the object's storage. */
	int (*sync)(struct pshm_seg *s);
	int (*resize)(struct pshm_seg *s, uint64_t size, unsigned flags);
	int (*chmod)(struct pshm_seg *s, mode_t mode);
	int (*chown)(struct pshm_seg *s, uid_t uid, gid_t gid);
	int (*stat)(struct pshm_seg *s, struct pshm_stat *st);
	int (*destroy)(struct pshm_seg *s);
	int (*destroy_addr)(const struct pshm__addr *a);
	int (*stat_addr)(const struct pshm__addr *a, struct pshm_stat *st);
	/* Let go of the handle's lease (PSHM_LEASE) before its descriptor closes. */
	void (*release)(struct pshm_seg *s);
};

struct pshm_seg {
	const struct pshm__ops *ops;
	int kind;
	int fd;    /* -1 for System V */
	int shmid; /* System V identifier */
	key_t key;
	bool rdonly;
	bool attrs; /* opened with PSHM_ATTRS: stat, chmod and chown only */
	bool created;
	bool lease;      /* holds a lease (PSHM_LEASE): let go of at close (lease.c) */
	int close_err;   /* the descriptor's close, when the release made it (-errno) */
	void *lease_map; /* System V: the attachment that is its lease */
	void *map;       /* current mapping, or NULL */
	size_t maplen;
	struct pshm__guard *guard; /* the mapping's guard, or NULL */
	_Atomic bool *guard_flag;  /* set when the guard replaced pages of the mapping */
	_Atomic bool truncated;    /* the flag of a mapping made by pshm_map() */
	bool thp;                  /* a tmpfs huge= object made with PSHM_HUGE: MADV_HUGEPAGE */
	char *path;     /* POSIX, file, sem: the path to unlink (points into the allocation) */
	char address[]; /* canonical address */
};

/*
 * Allocate a handle for OPS with a copy of ADDRESS and of PATH (which may be NULL); fd and
 * shmid start at -1. NULL when out of memory.
 */
struct pshm_seg *pshm__seg_new(const struct pshm__ops *ops, int kind, const char *address,
                               const char *path) PSHM__HIDDEN;
/*
 * The same with room for an address of ALEN bytes and a path of PLEN bytes (NULs included; no
 * path when 0), left for the caller to write.
 */
struct pshm_seg *pshm__seg_alloc(const struct pshm__ops *ops, int kind, size_t alen,
                                 size_t plen) PSHM__HIDDEN;
/* Free a handle made by pshm__seg_new without touching its descriptor or mapping. */
void pshm__seg_free(struct pshm_seg *s) PSHM__HIDDEN;
/* The table of technique KIND (enum pshm_kind), or NULL for a kind there is none of. */
const struct pshm__ops *pshm__ops_for(int kind) PSHM__HIDDEN;
/* msync of the handle's mapping, if it has one: where every technique's sync starts. */
int pshm__seg_msync(struct pshm_seg *s) PSHM__HIDDEN;
/*
 * pshm_map() for the library's own use: with PSHM_MAP_GUARD the guard sets *FLAG (cleared here)
 * rather than the handle's own flag, so that a caller can keep it where it looks often.
 */
int pshm__map(struct pshm_seg *seg, unsigned flags, void **addrp, size_t *lenp,
              _Atomic bool *flag) PSHM__HIDDEN;

/* fd.c: what every descriptor-based technique shares. */
/*
 * Keep the open descriptor FD only if it is a regular file: FD (described in *SBP unless NULL),
 * or else NOTREG (not a regular file) or fstat's -errno, with FD closed.
 */
int pshm__fd_keep_regular(int fd, int notreg, struct stat *sbp) PSHM__HIDDEN;
/*
 * Open DIRFD/PATH as a regular file (see fd.c); an existing file opened is described in *SBP
 * unless NULL. A descriptor or -errno.
 */
int pshm__fd_open_at(int dirfd, const char *path, bool create, bool excl, bool rdonly, int extra,
                     struct stat *sbp) PSHM__HIDDEN;
int pshm__fd_size(struct pshm_seg *s, uint64_t *sizep) PSHM__HIDDEN;
int pshm__fd_map(struct pshm_seg *s, size_t len, bool rdonly, bool populate,
                 void **addrp) PSHM__HIDDEN;
int pshm__fd_unmap(struct pshm_seg *s) PSHM__HIDDEN;
int pshm__fd_resize(struct pshm_seg *s, uint64_t size, unsigned flags) PSHM__HIDDEN;
int pshm__fd_size_new(int fd, uint64_t size, unsigned flags) PSHM__HIDDEN;
int pshm__fd_chmod(struct pshm_seg *s, mode_t mode) PSHM__HIDDEN;
int pshm__fd_chown(struct pshm_seg *s, uid_t uid, gid_t gid) PSHM__HIDDEN;
int pshm__fd_stat(struct pshm_seg *s, struct pshm_stat *st) PSHM__HIDDEN;
int pshm__fd_destroy(struct pshm_seg *s) PSHM__HIDDEN;
void pshm__stat_from(struct pshm_stat *st, const struct stat *sb) PSHM__HIDDEN;
/* Create a named file at DIRFD/PATH: exclusive or open-or-create, sized, mode applied. */
int pshm__fd_create_at(struct pshm_seg *s, int dirfd, const char *path, uint64_t size, mode_t mode,
                       unsigned flags) PSHM__HIDDEN;
/*
 * Create or open the file at S->path for the new handle S (pshm__seg_new, pshm__seg_alloc), and
 * give S to *SP; or free S and return -errno. S may be NULL, for a handle that could not be
 * made: -ENOMEM.
 */
int pshm__fd_seg_create(struct pshm_seg **sp, struct pshm_seg *s, uint64_t size, mode_t mode,
                        unsigned flags) PSHM__HIDDEN;
int pshm__fd_seg_open(struct pshm_seg **sp, struct pshm_seg *s, unsigned flags) PSHM__HIDDEN;
/* Remove DIRFD/PATH if it is a regular file (-EINVAL otherwise), without following links. */
int pshm__unlink_regular(int dirfd, const char *path) PSHM__HIDDEN;
/* Describe DIRFD/PATH (a regular file, not followed through a symlink) without opening it. */
int pshm__stat_at(int dirfd, const char *path, struct pshm_stat *st) PSHM__HIDDEN;

/* The operations every descriptor-based technique takes from fd.c as they are. */
#define PSHM__FD_COMMON_OPS                                                                        \
	.size = pshm__fd_size, .map = pshm__fd_map, .unmap = pshm__fd_unmap,                       \
	.chmod = pshm__fd_chmod, .chown = pshm__fd_chown
/* And those the techniques whose objects have names (POSIX, semaphore, file) take as well. */
#define PSHM__FD_NAMED_OPS                                                                         \
	PSHM__FD_COMMON_OPS, .stat = pshm__fd_stat, .destroy = pshm__fd_destroy,                   \
	                     .release = pshm__lease_release

extern const struct pshm__ops pshm__posix_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__sem_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__sysv_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__file_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__memfd_ops PSHM__HIDDEN;

/* Placeholders that reserve room for the longest memfd and System V addresses. */
#define PSHM__MEMFD_ADDR_ROOM "memfd:-----------:-----------"
#define PSHM__SYSV_ADDR_ROOM  "sysv:id=-----------"

/* memfd.c: is FD a memfd? (its /proc link reads "/memfd:..."). */
bool pshm__fd_is_memfd(int fd) PSHM__HIDDEN;

/*
 * pshm_list()'s walks, one per technique: each calls FN for every entry until FN returns
 * nonzero, and returns that value, 0 at the end, or -errno.
 */
int pshm__posix_list(unsigned mask, pshm_list_fn fn, void *arg) PSHM__HIDDEN;
int pshm__sysv_list(pshm_list_fn fn, void *arg) PSHM__HIDDEN;
int pshm__memfd_list(pshm_list_fn fn, void *arg) PSHM__HIDDEN;

/*
 * Channels (chan_live.c): the names of the beacon files that prove a role holder alive, in the
 * channel's directory; listings leave them out.
 */
#define PSHM__BEACON_PREFIX ".pshm-live."
/* And the FIFOs through which a handle's poll descriptor is told (chan_poll.c): the same ids. */
#define PSHM__POLL_PREFIX ".pshm-poll."
/* Names of files the library and the command keep in a shm directory, never listed. */
#define PSHM__HIDDEN_PREFIX ".pshm-"
/*
 * Before the object at PATH is removed: when it is a channel, take the ids of its dead role
 * holders out of its header and remove their beacons. Best effort and silent, and it waits for
 * nothing (leases, FIFOs). Removal is a segment operation that must not leave behind what a
 * channel's users made, hence this one call from below into the channel layer, made by the
 * techniques that can hold a channel (posix.c, file.c).
 */
void pshm__chan_sweep(const char *path) PSHM__HIDDEN;

/* A set of beacon ids (pshm_gc: those some channel's header names). */
struct pshm__ids {
	uint64_t *v;
	size_t n, cap;
	bool nomem; /* an id could not be added: the set is incomplete */
};
bool pshm__ids_has(const struct pshm__ids *ids, uint64_t id) PSHM__HIDDEN;
void pshm__ids_add(struct pshm__ids *ids, uint64_t id) PSHM__HIDDEN;
/* Called for a dead holder's beacon NAME in DIRFD, which may go; nonzero stops the sweep. */
typedef int (*pshm__beacon_fn)(int dirfd, const char *name, void *arg);
/*
 * pshm_gc's sweep of DIRFD/NAME when it is a channel: each role whose holder died has its id
 * swapped out of the header (unless PSHM_GC_DRY_RUN in FLAGS, or the caller may not write the
 * channel) and DEAD called for its beacon; every id the header still names goes into NAMED
 * (may be NULL). 0 (also for an object that is no channel), DEAD's nonzero return, or -errno
 * when the object could not be opened. Waits for nothing.
 */
int pshm__chan_gc(int dirfd, const char *name, unsigned flags, struct pshm__ids *named,
                  pshm__beacon_fn dead, void *arg) PSHM__HIDDEN;
/*
 * pshm_gc's look at NAME in DIRFD (chan_poll.c): true when it is a poll FIFO whose id no
 * channel's header names (NAMED) and whose holder's beacon shows no lock, so its handle is gone.
 */
bool pshm__chan_poll_orphan(int dirfd, const char *name,
                            const struct pshm__ids *named) PSHM__HIDDEN;

#endif /* PSHM_INTERNAL_H */
