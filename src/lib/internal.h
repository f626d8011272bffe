/*
 * internal.h - what the library's modules share and nothing outside it sees.
 *
 * Names are pshm__*; every symbol here has hidden visibility, so the shared library exports
 * only the public pshm_* interface (see libpshm.map).
 */
#ifndef PSHM_INTERNAL_H
#define PSHM_INTERNAL_H

#include "pshm.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>

#define PSHM__API    __attribute__((visibility("default")))
#define PSHM__HIDDEN __attribute__((visibility("hidden")))

/* ---- sys.c: the only place that makes system calls with side effects --------------------- */

/* The calls a test can make fail (see pshm__fault_hook). */
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
	PSHM__NCALLS
};

/*
 * When set, called before each system call routed through sys.c; a nonzero return is taken as
 * that call's errno and the call is not made. Tests use it to inject failures, EINTR included.
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
/* For a signal handler: no injected faults, errno kept. */
int pshm__map_zero(void *addr, size_t len, int prot) PSHM__HIDDEN;
void pshm__sig_default(int sig, bool again) PSHM__HIDDEN;

/* ---- name.c: POSIX names -------------------------------------------------------------------- */

/*
 * Check a POSIX object name and return, in *BASEP, the part after its leading slashes.
 * 0, -EINVAL or -ENAMETOOLONG.
 */
int pshm__name_check(const char *name, const char **basep) PSHM__HIDDEN;

/*
 * Write the path of POSIX object NAME (prefix "sem." for semaphores) into BUF of BUFSZ bytes.
 * Returns 0, -EINVAL, or -ENAMETOOLONG.
 */
int pshm__name_path(const char *name, const char *prefix, char *buf, size_t bufsz) PSHM__HIDDEN;

/* ---- addr.c: addresses ----------------------------------------------------------------------- */

struct pshm__addr {
	int kind;         /* enum pshm_kind */
	const char *name; /* POSIX/sem: the name after the slashes; file: the path */
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

/* ---- seg.c and the techniques ------------------------------------------------------------- */

struct pshm_seg;

/* One technique's operations; a NULL entry means the operation is not supported. */
struct pshm__ops {
	int (*create)(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size, mode_t mode,
	              unsigned flags);
	int (*open)(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags);
	int (*size)(struct pshm_seg *s, uint64_t *sizep);
	int (*map)(struct pshm_seg *s, size_t len, bool rdonly, bool populate, void **addrp);
	int (*unmap)(struct pshm_seg *s);
	int (*resize)(struct pshm_seg *s, uint64_t size, unsigned flags);
	int (*chmod)(struct pshm_seg *s, mode_t mode);
	int (*chown)(struct pshm_seg *s, uid_t uid, gid_t gid);
	int (*stat)(struct pshm_seg *s, struct pshm_stat *st);
	int (*destroy)(struct pshm_seg *s);
	int (*remove)(const struct pshm__addr *a);
	int (*stat_addr)(const struct pshm__addr *a, struct pshm_stat *st);
	int (*close)(struct pshm_seg *s);
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
	void *map; /* current mapping, or NULL */
	size_t maplen;
	struct pshm__guard *guard; /* the mapping's guard, or NULL */
	_Atomic bool *guard_flag;  /* set when the guard replaced pages of the mapping */
	_Atomic bool truncated;    /* the flag of a mapping made by pshm_map() */
	char *path;     /* POSIX, file, sem: the path to unlink (points into the allocation) */
	char address[]; /* canonical address */
};

/*
 * Allocate a handle for OPS with a copy of ADDRESS and of PATH (which may be NULL); fd and
 * shmid start at -1. NULL when out of memory.
 */
struct pshm_seg *pshm__seg_new(const struct pshm__ops *ops, int kind, const char *address,
                               const char *path) PSHM__HIDDEN;
/* Free a handle made by pshm__seg_new without touching its descriptor or mapping. */
void pshm__seg_free(struct pshm_seg *s) PSHM__HIDDEN;
/*
 * pshm_map() for the library's own use: with PSHM_MAP_GUARD the guard sets *FLAG (cleared here)
 * rather than the handle's own flag, so that a caller can keep it where it looks often.
 */
int pshm__map(struct pshm_seg *seg, unsigned flags, void **addrp, size_t *lenp,
              _Atomic bool *flag) PSHM__HIDDEN;

/* fd.c: what every descriptor-based technique shares. */
int pshm__fd_open_at(int dirfd, const char *path, bool create, bool excl, bool rdonly,
                     int extra) PSHM__HIDDEN;
int pshm__fd_size(struct pshm_seg *s, uint64_t *sizep) PSHM__HIDDEN;
int pshm__fd_map(struct pshm_seg *s, size_t len, bool rdonly, bool populate,
                 void **addrp) PSHM__HIDDEN;
int pshm__fd_unmap(struct pshm_seg *s) PSHM__HIDDEN;
int pshm__fd_resize(struct pshm_seg *s, uint64_t size, unsigned flags) PSHM__HIDDEN;
int pshm__fd_size_new(int fd, uint64_t size, unsigned flags) PSHM__HIDDEN;
int pshm__fd_chmod(struct pshm_seg *s, mode_t mode) PSHM__HIDDEN;
int pshm__fd_chown(struct pshm_seg *s, uid_t uid, gid_t gid) PSHM__HIDDEN;
int pshm__fd_stat(struct pshm_seg *s, struct pshm_stat *st) PSHM__HIDDEN;
int pshm__fd_close(struct pshm_seg *s) PSHM__HIDDEN;
int pshm__fd_destroy(struct pshm_seg *s) PSHM__HIDDEN;
void pshm__stat_from(struct pshm_stat *st, const struct stat *sb) PSHM__HIDDEN;
/* Create a named file at DIRFD/PATH: exclusive or open-or-create, sized, mode applied. */
int pshm__fd_create_at(struct pshm_seg *s, int dirfd, const char *path, uint64_t size, mode_t mode,
                       unsigned flags) PSHM__HIDDEN;
/* Make a handle of OPS/KIND and create or open the file at PATH for it. 0 or -errno. */
int pshm__fd_seg_create(struct pshm_seg **sp, const struct pshm__ops *ops, int kind,
                        const char *address, const char *path, uint64_t size, mode_t mode,
                        unsigned flags) PSHM__HIDDEN;
int pshm__fd_seg_open(struct pshm_seg **sp, const struct pshm__ops *ops, int kind,
                      const char *address, const char *path, unsigned flags) PSHM__HIDDEN;
/* Remove DIRFD/PATH if it is a regular file (-EINVAL otherwise), without following links. */
int pshm__unlink_regular(int dirfd, const char *path) PSHM__HIDDEN;
/* Describe DIRFD/PATH (a regular file, not followed through a symlink) without opening it. */
int pshm__stat_at(int dirfd, const char *path, struct pshm_stat *st) PSHM__HIDDEN;

/* The operations every descriptor-based technique takes from fd.c as they are. */
#define PSHM__FD_COMMON_OPS                                                                        \
	.size = pshm__fd_size, .map = pshm__fd_map, .unmap = pshm__fd_unmap,                       \
	.chmod = pshm__fd_chmod, .chown = pshm__fd_chown, .close = pshm__fd_close

extern const struct pshm__ops pshm__posix_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__sem_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__sysv_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__file_ops PSHM__HIDDEN;
extern const struct pshm__ops pshm__memfd_ops PSHM__HIDDEN;

/* Placeholders that reserve room for the longest memfd and System V addresses. */
#define PSHM__MEMFD_ADDR_ROOM "memfd:-----------:-----------"
#define PSHM__SYSV_ADDR_ROOM  "sysv:id=-----------"

/* memfd.c and sysv.c: write a handle's address ("memfd:PID:FD", "sysv:0x...") on first use. */
void pshm__memfd_address(struct pshm_seg *s) PSHM__HIDDEN;
void pshm__sysv_address(struct pshm_seg *s) PSHM__HIDDEN;

/* memfd.c: is FD a memfd? (its /proc link reads "/memfd:..."). */
bool pshm__fd_is_memfd(int fd) PSHM__HIDDEN;

/* list.c helpers of the techniques. */
int pshm__posix_list(unsigned mask, pshm_list_fn fn, void *arg, int *count) PSHM__HIDDEN;
int pshm__sysv_list(pshm_list_fn fn, void *arg, int *count) PSHM__HIDDEN;
int pshm__memfd_list(pshm_list_fn fn, void *arg, int *count) PSHM__HIDDEN;

/*
 * Channels (chan_live.c): the names of the beacon files that prove a role holder alive, in the
 * channel's directory; listings leave them out.
 */
#define PSHM__BEACON_PREFIX ".pshm-live."
/*
 * Before the object at A is removed: when it is a channel, take the ids of its dead role
 * holders out of its header and remove their beacons. Best effort and silent, and it waits for
 * nothing (leases, FIFOs). Removal is a segment operation that must not leave behind what a
 * channel's users made, hence this one call from below into the channel layer.
 */
void pshm__chan_sweep(const struct pshm__addr *a) PSHM__HIDDEN;

#endif /* PSHM_INTERNAL_H */
