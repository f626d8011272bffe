/*
 * memfd.c - anonymous memory files: creation, reaching another process's memfd through /proc,
 * seals, and handing any segment's descriptor to another process over a Unix socket.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

/* Read the link /proc/self/fd/FD into BUF. Its length, or -errno. */
static ssize_t fd_link(int fd, char *buf, size_t size)
{
	char proc[PSHM__PROC_FD_LEN];
	pshm__proc_fd(proc, 0, fd);
	ssize_t n = readlink(proc, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

bool pshm__fd_is_memfd(int fd)
{
	char link[PATH_MAX];
	return fd_link(fd, link, sizeof(link)) > 0 && !strncmp(link, "/memfd:", 7);
}

/*
 * A memfd handle for this process's descriptor FD. Its address, "memfd:PID:FD", is written
 * when first asked for (memfd_address): getpid is a system call, and most handles never need
 * their address. The placeholder only reserves the room.
 */
static struct pshm_seg *memfd_seg(int fd, bool rdonly)
{
	struct pshm_seg *s =
	    pshm__seg_new(&pshm__memfd_ops, PSHM_MEMFD, PSHM__MEMFD_ADDR_ROOM, NULL);
	if (s) {
		s->address[0] = '\0';
		s->fd = fd;
		s->rdonly = rdonly;
	}
	return s;
}

static int memfd_address(struct pshm_seg *s)
{
	snprintf(s->address, sizeof(PSHM__MEMFD_ADDR_ROOM), "memfd:%d:%d", (int)getpid(), s->fd);
	return 0;
}

/* Set once a kernel has refused MFD_NOEXEC_SEAL (before 6.3), so it is not asked again. */
static int noexec_unknown_flag;

/* A new memfd; HUGE: MFD_HUGETLB and the size bits (MFD_HUGE_SHIFT is PSHM_HUGE_SHIFT). */
static int memfd_create_fd(unsigned huge)
{
	/* Not executable, and sealable, where the kernel knows how. */
	int fd = -EINVAL;
	if (!__atomic_load_n(&noexec_unknown_flag, __ATOMIC_RELAXED))
		fd = pshm__memfd("pshm", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | huge);
	if (fd == -EINVAL) {
		fd = pshm__memfd("pshm", MFD_CLOEXEC | MFD_ALLOW_SEALING | huge);
		if (fd >= 0)
			__atomic_store_n(&noexec_unknown_flag, 1, __ATOMIC_RELAXED);
	}
	return fd;
}

static int memfd_create_seg(struct pshm_seg **sp, const struct pshm__addr *a, uint64_t size,
                            mode_t mode, unsigned flags)
{
	if (!a->anonymous)
		return -EEXIST; /* memfd:PID:FD names one that exists already */
	unsigned huge = 0;
	if (flags & PSHM_HUGE) {
		int r = pshm__huge_round(flags, &size);
		if (r)
			return r;
		huge = MFD_HUGETLB | (flags & PSHM_HUGE_MASK);
	}
	if (size > INT64_MAX)
		return -EFBIG;
	int fd = memfd_create_fd(huge);
	if (fd < 0)
		return fd;
	int r = pshm__fchmod(fd, mode);
	if (!r)
		r = pshm__fd_size_new(fd, size, flags);
	struct pshm_seg *s = r ? NULL : memfd_seg(fd, false);
	if (!s) {
		pshm__close(fd);
		return r ? r : -ENOMEM;
	}
	s->created = true;
	*sp = s;
	return 0;
}

/*
 * Open /proc/PID/fd/FD: the kernel reopens the file itself, which a memfd allows. As for names,
 * the open never blocks on a FIFO and waits for a lease to break as open(2) does.
 */
static int memfd_open_proc(const struct pshm__addr *a, bool rdonly)
{
	char proc[PSHM__PROC_FD_LEN];

	pshm__proc_fd(proc, a->pid, a->id);
	int fd =
	    pshm__open_file(AT_FDCWD, proc, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd == -EISDIR || fd == -ENXIO ? -EINVAL : fd;
	fd = pshm__fd_keep_regular(fd, -EINVAL, NULL);
	if (fd >= 0 && !pshm__fd_is_memfd(fd)) {
		pshm__close(fd);
		return -EINVAL;
	}
	return fd;
}

static int memfd_open(struct pshm_seg **sp, const struct pshm__addr *a, unsigned flags)
{
	if (a->anonymous)
		return -ENOENT; /* "memfd:" only ever makes a new one */
	/* PSHM_ATTRS: a memfd's mode is not what decides who reaches it (/proc does), so a
	 * read-only open serves. */
	bool rdonly = flags & (PSHM_RDONLY | PSHM_ATTRS);
	int fd = memfd_open_proc(a, rdonly);
	if (fd < 0)
		return fd;
	*sp = memfd_seg(fd, rdonly);
	if (!*sp) {
		pshm__close(fd);
		return -ENOMEM;
	}
	return 0;
}

/* What the descriptor says of the memfd: the file's description and its seals. */
static int memfd_describe(struct pshm_seg *s, struct pshm_stat *st)
{
	int r = pshm__fd_stat(s, st);
	int seals = pshm__seals_get(s->fd);
	st->seals = seals > 0 ? (unsigned)seals : 0;
	return r;
}

/* A handle's memfd is this process's descriptor: its address names both. */
static int memfd_stat(struct pshm_seg *s, struct pshm_stat *st)
{
	st->pid = getpid();
	st->fd = s->fd;
	return memfd_describe(s, st);
}

static int memfd_stat_addr(const struct pshm__addr *a, struct pshm_stat *st)
{
	struct pshm_seg *s;
	int r = memfd_open(&s, a, PSHM_RDONLY);
	if (r)
		return r;
	r = memfd_describe(s, st);
	snprintf(st->address, sizeof(st->address), "memfd:%d:%d", (int)a->pid, a->id);
	st->pid = a->pid;
	st->fd = a->id;
	pshm_close(s);
	return r;
}

const struct pshm__ops pshm__memfd_ops = {
    PSHM__FD_COMMON_OPS,      .create = memfd_create_seg,   .open = memfd_open,
    .address = memfd_address, .sync = pshm__seg_msync,      .resize = pshm__fd_resize,
    .stat = memfd_stat,       .stat_addr = memfd_stat_addr,
};

PSHM__API int pshm_seal(struct pshm_seg *seg, unsigned seals)
{
	if (seg->kind != PSHM_MEMFD)
		return -EOPNOTSUPP;
	if (seals & ~(unsigned)(PSHM_SEAL_SEAL | PSHM_SEAL_SHRINK | PSHM_SEAL_GROW |
	                        PSHM_SEAL_WRITE | PSHM_SEAL_FUTURE_WRITE | PSHM_SEAL_EXEC))
		return -EINVAL;
	return pshm__seals_add(seg->fd, seals);
}

PSHM__API int pshm_seals(struct pshm_seg *seg)
{
	return seg->kind == PSHM_MEMFD ? pshm__seals_get(seg->fd) : -EOPNOTSUPP;
}

/*
 * The kind, canonical address and unlinkable path of an adopted descriptor, from /proc. NULL
 * with *ERRP set when /proc cannot tell or memory runs out.
 */
static struct pshm_seg *adopt(int fd, bool rdonly, int *errp)
{
	char link[PATH_MAX], address[PATH_MAX + 8];
	const char *dir = pshm__shm_dir();
	size_t dirlen = strlen(dir);

	*errp = -ENOMEM;
	if (pshm__fd_is_memfd(fd))
		return memfd_seg(fd, rdonly);
	ssize_t n = fd_link(fd, link, sizeof(link));
	if (n < 0) {
		*errp = (int)n;
		return NULL;
	}
	/* A removed name leaves " (deleted)" behind: then there is nothing to unlink. */
	bool gone = n > 10 && !strcmp(link + n - 10, " (deleted)");
	if (gone)
		link[n - 10] = '\0';
	const char *base = link + dirlen + 1;
	int kind = PSHM_FILE;
	if (!strncmp(link, dir, dirlen) && link[dirlen] == '/' && !strchr(base, '/'))
		kind = strncmp(base, "sem.", 4) ? PSHM_POSIX : PSHM_SEM;
	if (kind == PSHM_FILE)
		snprintf(address, sizeof(address), "file:%s", link);
	else
		snprintf(address, sizeof(address), "%s/%s", kind == PSHM_SEM ? "sem:" : "",
		         kind == PSHM_SEM ? base + 4 : base);
	struct pshm_seg *s = pshm__seg_new(pshm__ops_for(kind), kind, address, gone ? NULL : link);
	if (s) {
		s->fd = fd;
		s->rdonly = rdonly;
	}
	return s;
}

PSHM__API int pshm_from_fd(struct pshm_seg **segp, int fd, unsigned flags)
{
	struct stat st;

	/* Only PSHM_RDONLY means anything here: a descriptor comes without a lease. */
	if (flags & ~(unsigned)PSHM_RDONLY)
		return -EINVAL;
	int r = pshm__fstat(fd, &st);
	if (r)
		return r;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	int fl = pshm__getfl(fd);
	if (fl < 0)
		return fl;
	if ((fl & O_ACCMODE) == O_WRONLY)
		return -EACCES; /* a write-only descriptor cannot be mapped */
	bool rdonly = (flags & PSHM_RDONLY) || (fl & O_ACCMODE) == O_RDONLY;
	struct pshm_seg *s = adopt(fd, rdonly, &r);
	if (!s)
		return r;
	*segp = s;
	return 0;
}

PSHM__API int pshm_send_fd(int sock, const struct pshm_seg *seg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'P';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (seg->fd < 0)
		return -EOPNOTSUPP;
	memset(&u, 0, sizeof(u));
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &seg->fd, sizeof(int));
	ssize_t n = pshm__sendmsg(sock, &msg, MSG_NOSIGNAL);
	return n < 0 ? (int)n : 0;
}

/* Take the first descriptor of MSG's SCM_RIGHTS messages into *FDP; close all the others. */
static void take_fds(struct msghdr *msg, int *fdp)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fdp < 0)
				*fdp = fd;
			else
				pshm__close(fd);
		}
	}
}

PSHM__API int pshm_recv_fd(int sock, struct pshm_seg **segp, unsigned flags)
{
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int fd = -1;

	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	ssize_t n = pshm__recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return (int)n;
	take_fds(&msg, &fd);
	if (n == 0 && fd < 0)
		return -EPIPE;
	if (fd < 0 || (msg.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			pshm__close(fd);
		return -EPROTO;
	}
	int r = pshm_from_fd(segp, fd, flags);
	if (r)
		pshm__close(fd);
	return r;
}
