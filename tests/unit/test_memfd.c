/*
 * test_memfd.c - anonymous memory files: "memfd:" and "memfd:PID:FD", seals, adopting a
 * descriptor with pshm_from_fd, and handing descriptors between processes over a Unix socket
 * (including what a misbehaving sender may put in a message).
 */
#include "testutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define PAGE ((size_t)sysconf(_SC_PAGESIZE))

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The size and permission bits of FD as the kernel reports them. */
static struct stat fd_stat(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		fail_msg("fstat %d: %s", fd, strerror(errno));
	return sb;
}

/* Wait for child PID and return its exit status (or 128 + signal). */
static int reap(pid_t pid)
{
	int status = 0;
	assert_true(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* Fill LEN bytes at P with the test pattern. */
static void fill(unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(i);
}

/* The offset of the first of LEN bytes at P that differs from the pattern, or LEN. */
static size_t check(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(i))
			return i;
	return len;
}

/* ---- creating and using ------------------------------------------------------------------ */

static void test_create(void **state)
{
	struct pshm_seg *s = NULL, *d = NULL;
	char want[48], link[64], proc[40];
	unsigned char *p;
	size_t len;
	(void)state;

	mode_t old = umask(0077);
	tu_ok(pshm_create(&s, "memfd:", 3 * PAGE, 0640, 0));
	tu_ok(pshm_create(&d, "memfd:", PAGE, 0, 0));
	umask(old);
	assert_int_equal(pshm_kind(s), PSHM_MEMFD);
	assert_true(pshm_created(s));
	int fd = pshm_fd(s);
	assert_true(fd >= 0);
	snprintf(want, sizeof(want), "memfd:%d:%d", (int)getpid(), fd);
	assert_string_equal(pshm_address(s), want);

	/* The descriptor is a memfd, not inherited across exec, with the size and mode asked. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, link, sizeof(link) - 1);
	assert_true(n > 7);
	link[n] = '\0';
	assert_memory_equal(link, "/memfd:", 7);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct stat sb = fd_stat(fd);
	assert_int_equal(sb.st_size, 3 * PAGE);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(fd_stat(pshm_fd(d)).st_mode & 07777, 0600);
	/* The size is reserved, not sparse. */
	assert_true((uint64_t)sb.st_blocks * 512 >= 3 * PAGE);

	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(len, 3 * PAGE);
	fill(p, len);
	unsigned char buf[16];
	assert_int_equal(pread(fd, buf, sizeof(buf), 2 * PAGE), sizeof(buf));
	assert_int_equal(check(p, len), len);
	assert_int_equal(buf[0], pattern(2 * PAGE));

	tu_ok(pshm_close(s));
	tu_ok(pshm_close(d));
	/* Closing the handle closed its descriptor. */
	assert_false(fd_is_open(fd));
}

static void test_create_sparse(void **state)
{
	struct pshm_seg *s = NULL;
	struct pshm_stat st;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", 64 * PAGE, 0, PSHM_SPARSE));
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.size, 64 * PAGE);
	assert_int_equal(st.allocated, 0);
	tu_ok(pshm_close(s));

	/* An empty memfd maps to nothing. */
	void *p = &st;
	size_t len = 1;
	tu_ok(pshm_create(&s, "memfd:", 0, 0, 0));
	tu_ok(pshm_map(s, 0, &p, &len));
	assert_null(p);
	assert_int_equal(len, 0);
	tu_ok(pshm_close(s));
}

static void test_resize(void **state)
{
	struct pshm_seg *s = NULL;
	struct pshm_stat st;
	unsigned char *p;
	size_t len;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", 2 * PAGE, 0, 0));
	int fd = pshm_fd(s);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	fill(p, len);
	tu_ok(pshm_unmap(s));

	/* Growth keeps the contents and reserves the new space. */
	tu_ok(pshm_resize(s, 5 * PAGE, 0));
	struct stat sb = fd_stat(fd);
	assert_int_equal(sb.st_size, 5 * PAGE);
	assert_true((uint64_t)sb.st_blocks * 512 >= 5 * PAGE);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(len, 5 * PAGE);
	assert_int_equal(check(p, 2 * PAGE), 2 * PAGE);
	assert_int_equal(p[4 * PAGE], 0);
	tu_ok(pshm_unmap(s));

	/* Shrinking drops the tail. */
	tu_ok(pshm_resize(s, PAGE, 0));
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.size, PAGE);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(len, PAGE);
	assert_int_equal(check(p, PAGE), PAGE);
	tu_ok(pshm_unmap(s));

	tu_ok(pshm_resize(s, 9 * PAGE, PSHM_SPARSE));
	assert_int_equal(fd_stat(fd).st_size, 9 * PAGE);
	tu_ok(pshm_resize(s, 0, 0));
	assert_int_equal(fd_stat(fd).st_size, 0);
	tu_ok(pshm_close(s));
}

static void test_stat(void **state)
{
	struct pshm_seg *s = NULL;
	struct pshm_stat st;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", 4 * PAGE, 0640, 0));
	int fd = pshm_fd(s);
	struct stat sb = fd_stat(fd);
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.kind, PSHM_MEMFD);
	assert_string_equal(st.address, pshm_address(s));
	assert_int_equal(st.size, 4 * PAGE);
	assert_int_equal(st.allocated, (uint64_t)sb.st_blocks * 512);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.uid, geteuid());
	assert_int_equal(st.gid, getegid());
	assert_int_equal(st.dev, sb.st_dev);
	assert_int_equal(st.ino, sb.st_ino);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.fd, fd);
	assert_int_equal(st.seals, (unsigned)fcntl(fd, F_GET_SEALS));
	assert_int_equal(st.seals, pshm_seals(s));
	assert_int_equal(st.key, 0);
	assert_int_equal(st.nattch, 0);

	/* The seals field follows the seals added. */
	tu_ok(pshm_seal(s, PSHM_SEAL_SHRINK | PSHM_SEAL_GROW));
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.seals & (PSHM_SEAL_SHRINK | PSHM_SEAL_GROW),
	                 PSHM_SEAL_SHRINK | PSHM_SEAL_GROW);
	assert_int_equal(st.seals, (unsigned)fcntl(fd, F_GET_SEALS));

	/* By address, as another process would see it. */
	memset(&st, 0, sizeof(st));
	tu_ok(pshm_stat_addr(pshm_address(s), &st));
	assert_int_equal(st.kind, PSHM_MEMFD);
	assert_string_equal(st.address, pshm_address(s));
	assert_int_equal(st.size, 4 * PAGE);
	assert_int_equal(st.ino, sb.st_ino);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.fd, fd);
	assert_true(st.seals & PSHM_SEAL_GROW);
	tu_ok(pshm_close(s));
}

static void test_no_name(void **state)
{
	struct pshm_seg *s = NULL, *t = NULL;
	struct pshm_stat st;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", PAGE, 0, 0));
	/* A memfd has no name to remove. */
	tu_err(pshm_destroy(s), -EOPNOTSUPP);
	tu_err(pshm_destroy_addr("memfd:"), -EOPNOTSUPP);
	tu_err(pshm_destroy_addr(pshm_address(s)), -EOPNOTSUPP);
	assert_true(fd_is_open(pshm_fd(s)));
	/* "memfd:" only makes new ones. */
	tu_err(pshm_open(&t, "memfd:", 0), -ENOENT);
	tu_err(pshm_open(&t, "memfd:", PSHM_RDONLY), -ENOENT);
	tu_err(pshm_stat_addr("memfd:", &st), -ENOENT);
	assert_null(t);
	tu_ok(pshm_close(s));
}

/* ---- seals ------------------------------------------------------------------------------- */

static void test_seal_shrink(void **state)
{
	struct pshm_seg *s = NULL;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", 4 * PAGE, 0, 0));
	tu_ok(pshm_seal(s, PSHM_SEAL_SHRINK));
	tu_err(pshm_resize(s, 2 * PAGE, 0), -EPERM);
	tu_err(pshm_resize(s, 0, 0), -EPERM);
	assert_int_equal(fd_stat(pshm_fd(s)).st_size, 4 * PAGE);
	/* Growth is still allowed. */
	tu_ok(pshm_resize(s, 6 * PAGE, 0));
	assert_int_equal(fd_stat(pshm_fd(s)).st_size, 6 * PAGE);
	assert_true(pshm_seals(s) & PSHM_SEAL_SHRINK);
	tu_ok(pshm_close(s));
}

static void test_seal_grow(void **state)
{
	struct pshm_seg *s = NULL;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", 4 * PAGE, 0, 0));
	tu_ok(pshm_seal(s, PSHM_SEAL_GROW));
	tu_err(pshm_resize(s, 8 * PAGE, 0), -EPERM);
	tu_err(pshm_resize(s, 8 * PAGE, PSHM_SPARSE), -EPERM);
	assert_int_equal(fd_stat(pshm_fd(s)).st_size, 4 * PAGE);
	/* Shrinking is still allowed. */
	tu_ok(pshm_resize(s, PAGE, 0));
	assert_int_equal(fd_stat(pshm_fd(s)).st_size, PAGE);
	assert_true(pshm_seals(s) & PSHM_SEAL_GROW);
	assert_false(pshm_seals(s) & PSHM_SEAL_SHRINK);
	tu_ok(pshm_close(s));
}

static void test_seal_write(void **state)
{
	struct pshm_seg *s = NULL;
	unsigned char *p;
	size_t len;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", 2 * PAGE, 0, 0));
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	fill(p, len);

	/* Not while a writable mapping could still change the contents. */
	tu_err(pshm_seal(s, PSHM_SEAL_WRITE), -EBUSY);
	assert_false(pshm_seals(s) & PSHM_SEAL_WRITE);
	tu_ok(pshm_unmap(s));
	tu_ok(pshm_seal(s, PSHM_SEAL_WRITE));
	assert_true(pshm_seals(s) & PSHM_SEAL_WRITE);

	/* Now nothing may write: not a shared writable mapping, not write(2). */
	tu_err(pshm_map(s, 0, (void **)&p, &len), -EPERM);
	assert_true(pwrite(pshm_fd(s), "x", 1, 0) < 0 && errno == EPERM);
	tu_ok(pshm_map(s, PSHM_RDONLY, (void **)&p, &len));
	assert_int_equal(len, 2 * PAGE);
	assert_int_equal(check(p, len), len);
	assert_int_equal(child_writes((volatile char *)p), 128 + SIGSEGV);
	tu_ok(pshm_close(s));
}

static void test_seal_seal(void **state)
{
	struct pshm_seg *s = NULL;
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", PAGE, 0, 0));
	int before = pshm_seals(s);
	assert_true(before >= 0);
	assert_false(before & PSHM_SEAL_SEAL);
	tu_ok(pshm_seal(s, PSHM_SEAL_SEAL));
	assert_int_equal(pshm_seals(s), before | PSHM_SEAL_SEAL);
	tu_err(pshm_seal(s, PSHM_SEAL_GROW), -EPERM);
	tu_err(pshm_seal(s, PSHM_SEAL_SEAL), -EPERM);
	assert_int_equal(pshm_seals(s), before | PSHM_SEAL_SEAL);
	/* Without the grow seal, growth still works. */
	tu_ok(pshm_resize(s, 2 * PAGE, 0));
	tu_ok(pshm_close(s));
}

static void test_seal_bad(void **state)
{
	struct pshm_seg *s = NULL, *posix = NULL;
	char name[64];
	(void)state;

	tu_ok(pshm_create(&s, "memfd:", PAGE, 0, 0));
	int before = pshm_seals(s);
	tu_err(pshm_seal(s, 0x40), -EINVAL);
	tu_err(pshm_seal(s, PSHM_SEAL_GROW | 0x80000000u), -EINVAL);
	/* A refused call adds none of the valid seals it carried either. */
	assert_int_equal(pshm_seals(s), before);
	tu_ok(pshm_close(s));

	/* Only a memfd has seals. */
	tu_ok(pshm_create(&posix, tu_name(name, sizeof(name), "seal"), PAGE, 0, 0));
	tu_err(pshm_seal(posix, PSHM_SEAL_GROW), -EOPNOTSUPP);
	tu_err(pshm_seals(posix), -EOPNOTSUPP);
	tu_ok(pshm_destroy(posix));
	tu_ok(pshm_close(posix));
}

/* ---- another process's memfd by address -------------------------------------------------- */

struct peer {
	pid_t pid;
	int go;            /* closing this lets the child finish */
	char address[64];  /* the child's memfd */
	int regular, pipe; /* the child's descriptors of a regular file and of a pipe */
};

/*
 * The child: make a memfd, fill it with the pattern, report its address and two descriptors
 * that are not memfds, then wait until the parent is done and check the parent's mark.
 */
static void peer_child(int report, int go, int regular)
{
	struct pshm_seg *s = NULL;
	unsigned char *p;
	size_t len;
	int pfd[2];
	char msg[128], c;

	if (pshm_create(&s, "memfd:", 2 * PAGE, 0, 0) || pshm_map(s, 0, (void **)&p, &len) ||
	    pipe(pfd) < 0)
		_exit(2);
	fill(p, len);
	snprintf(msg, sizeof(msg), "%s %d %d", pshm_address(s), regular, pfd[0]);
	if (write(report, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		_exit(3);
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	_exit(p[PAGE] == 0xee ? 0 : 4);
}

static void peer_start(struct peer *peer)
{
	char tmp[] = "/tmp/pshm-memfd-regular.XXXXXX";
	int report[2], go[2];
	char msg[128];

	int regular = mkstemp(tmp);
	assert_true(regular >= 0);
	unlink(tmp);
	assert_int_equal(ftruncate(regular, PAGE), 0);
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(go), 0);
	peer->pid = fork();
	assert_true(peer->pid >= 0);
	if (peer->pid == 0) {
		close(report[0]);
		close(go[1]);
		peer_child(report[1], go[0], regular);
	}
	close(report[1]);
	close(go[0]);
	close(regular);
	peer->go = go[1];
	assert_int_equal(read(report[0], msg, sizeof(msg)), sizeof(msg));
	close(report[0]);
	assert_int_equal(sscanf(msg, "%63s %d %d", peer->address, &peer->regular, &peer->pipe), 3);
}

static int peer_finish(struct peer *peer)
{
	close(peer->go);
	return reap(peer->pid);
}

static void test_open_other_process(void **state)
{
	struct pshm_seg *s = NULL, *ro = NULL;
	struct pshm_stat st;
	struct peer peer;
	char addr[64];
	unsigned char *p;
	size_t len;
	int pid, fd;
	(void)state;

	peer_start(&peer);
	assert_int_equal(sscanf(peer.address, "memfd:%d:%d", &pid, &fd), 2);
	assert_int_equal(pid, peer.pid);

	tu_ok(pshm_open(&s, peer.address, 0));
	assert_int_equal(pshm_kind(s), PSHM_MEMFD);
	/* The handle names this process's own descriptor of the same file. */
	snprintf(addr, sizeof(addr), "memfd:%d:%d", (int)getpid(), pshm_fd(s));
	assert_string_equal(pshm_address(s), addr);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(len, 2 * PAGE);
	assert_int_equal(check(p, len), len);
	p[PAGE] = 0xee;

	tu_ok(pshm_open(&ro, peer.address, PSHM_RDONLY));
	tu_ok(pshm_map(ro, 0, (void **)&p, &len));
	assert_int_equal(p[PAGE], 0xee);
	assert_int_equal(child_writes((volatile char *)p), 128 + SIGSEGV);
	tu_ok(pshm_stat_addr(peer.address, &st));
	assert_int_equal(st.pid, peer.pid);
	assert_int_equal(st.size, 2 * PAGE);

	/* Descriptors that are not memfds, and one that does not exist. */
	snprintf(addr, sizeof(addr), "memfd:%d:%d", (int)peer.pid, peer.regular);
	tu_err(pshm_open(&ro, addr, 0), -EINVAL);
	tu_err(pshm_open(&ro, addr, PSHM_RDONLY), -EINVAL);
	snprintf(addr, sizeof(addr), "memfd:%d:%d", (int)peer.pid, peer.pipe);
	tu_err(pshm_open(&ro, addr, PSHM_RDONLY), -EINVAL);
	snprintf(addr, sizeof(addr), "memfd:%d:%d", (int)peer.pid, 4000);
	tu_err(pshm_open(&ro, addr, 0), -ENOENT);

	assert_int_equal(peer_finish(&peer), 0);
	tu_ok(pshm_close(ro));
	tu_ok(pshm_close(s));

	/* The process has gone with its descriptors. */
	tu_err(pshm_open(&s, peer.address, 0), -ENOENT);
}

/* ---- SCM_RIGHTS -------------------------------------------------------------------------- */

/* Send one byte carrying the N descriptors FDS over SOCK, as any program might. */
static void send_fds(int sock, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	memset(&u, 0, sizeof(u));
	msg.msg_control = u.buf;
	msg.msg_controllen = CMSG_SPACE((size_t)n * sizeof(int));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
	assert_int_equal(sendmsg(sock, &msg, 0), 1);
}

static void socket_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* In a child: create ADDR (a memfd or a POSIX name), fill it, send it over SOCK. */
static pid_t sender(int sv[2], const char *addr)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pshm_seg *s = NULL;
		unsigned char *p;
		size_t len;
		close(sv[0]);
		if (pshm_create(&s, addr, 3 * PAGE, 0, 0) || pshm_map(s, 0, (void **)&p, &len))
			_exit(2);
		fill(p, len);
		_exit(pshm_send_fd(sv[1], s) ? 3 : 0);
	}
	close(sv[1]);
	return pid;
}

/*
 * Reopening a memfd through /proc waits, as open(2) does, for another process's lease. A read
 * lease needs the file open for reading only, so the memfd is kept through a read-only
 * descriptor.
 */
static void test_open_under_lease(void **state)
{
	struct pshm_seg *again;
	struct tu_lease l;
	char path[64], addr[64];
	struct stat st;
	(void)state;

	int rw = memfd_create("pshm-lease", MFD_CLOEXEC);
	assert_true(rw >= 0);
	assert_int_equal(ftruncate(rw, PAGE), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rw);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(rw);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)getpid(), fd);
	int err = tu_lease_start(&l, path, F_RDLCK);
	if (err) {
		close(fd);
		tu_skip_test("cannot take a lease on a memfd: %s", strerror(err));
	}
	snprintf(addr, sizeof(addr), "memfd:%d:%d", (int)getpid(), fd);
	int r = pshm_open(&again, addr, 0);
	bool broken = tu_lease_broken(&l, 0);
	tu_lease_end(&l);
	tu_ok(r);
	/* The holder said so before giving the lease up, so before the open ended. */
	assert_true(broken);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(seg_stat(again).ino, st.st_ino);
	tu_ok(pshm_close(again));
	close(fd);
}

static void test_send_memfd(void **state)
{
	struct pshm_seg *s = NULL;
	int sv[2];
	char want[48];
	unsigned char *p;
	size_t len;
	(void)state;

	socket_pair(sv);
	pid_t pid = sender(sv, "memfd:");
	tu_ok(pshm_recv_fd(sv[0], &s, 0));
	assert_int_equal(reap(pid), 0);
	assert_int_equal(pshm_kind(s), PSHM_MEMFD);
	snprintf(want, sizeof(want), "memfd:%d:%d", (int)getpid(), pshm_fd(s));
	assert_string_equal(pshm_address(s), want);
	assert_true(fcntl(pshm_fd(s), F_GETFD) & FD_CLOEXEC);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(len, 3 * PAGE);
	assert_int_equal(check(p, len), len);
	p[0] = 9; /* read-write, as it was sent */
	tu_ok(pshm_close(s));

	/* The sender has gone, and the socket says so. */
	tu_err(pshm_recv_fd(sv[0], &s, 0), -EPIPE);
	close(sv[0]);
}

static void test_send_memfd_rdonly(void **state)
{
	struct pshm_seg *s = NULL;
	int sv[2];
	unsigned char *p;
	size_t len;
	(void)state;

	socket_pair(sv);
	pid_t pid = sender(sv, "memfd:");
	tu_ok(pshm_recv_fd(sv[0], &s, PSHM_RDONLY));
	assert_int_equal(reap(pid), 0);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(check(p, len), len);
	assert_int_equal(child_writes((volatile char *)p), 128 + SIGSEGV);
	tu_err(pshm_resize(s, PAGE, 0), -EBADF);
	tu_ok(pshm_close(s));
	close(sv[0]);
}

static void test_send_posix(void **state)
{
	struct pshm_seg *s = NULL;
	struct pshm_stat st;
	int sv[2];
	char name[64];
	unsigned char *p;
	size_t len;
	(void)state;

	tu_name(name, sizeof(name), "send");
	socket_pair(sv);
	pid_t pid = sender(sv, name);
	tu_ok(pshm_recv_fd(sv[0], &s, 0));
	assert_int_equal(reap(pid), 0);
	assert_int_equal(pshm_kind(s), PSHM_POSIX);
	assert_string_equal(pshm_address(s), name);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(len, 3 * PAGE);
	assert_int_equal(check(p, len), len);

	/* The handle knows the name, so it can remove it. */
	tu_ok(pshm_stat_addr(name, &st));
	tu_ok(pshm_destroy(s));
	tu_err(pshm_stat_addr(name, &st), -ENOENT);
	tu_ok(pshm_close(s));
	close(sv[0]);
}

static void test_recv_closed(void **state)
{
	struct pshm_seg *s = NULL;
	int sv[2];
	(void)state;

	socket_pair(sv);
	close(sv[1]);
	int before = tu_count_entries("/proc/self/fd");
	tu_err(pshm_recv_fd(sv[0], &s, 0), -EPIPE);
	assert_int_equal(tu_count_entries("/proc/self/fd"), before);
	assert_null(s);
	close(sv[0]);
}

static void test_recv_no_fd(void **state)
{
	struct pshm_seg *s = NULL;
	int sv[2];
	(void)state;

	socket_pair(sv);
	assert_int_equal(send(sv[1], "x", 1, 0), 1);
	int before = tu_count_entries("/proc/self/fd");
	tu_err(pshm_recv_fd(sv[0], &s, 0), -EPROTO);
	assert_int_equal(tu_count_entries("/proc/self/fd"), before);
	assert_null(s);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_extra_fds(void **state)
{
	struct pshm_seg *s = NULL;
	int sv[2], fds[3];
	unsigned char *p;
	size_t len;
	(void)state;

	/* Three memfds, each marked with its position in the message. */
	for (int i = 0; i < 3; i++) {
		fds[i] = memfd_create("extra", MFD_CLOEXEC);
		assert_true(fds[i] >= 0);
		assert_int_equal(ftruncate(fds[i], PAGE), 0);
		assert_int_equal(pwrite(fds[i], &(char){(char)('A' + i)}, 1, 0), 1);
	}
	socket_pair(sv);
	send_fds(sv[1], fds, 3);
	for (int i = 0; i < 3; i++)
		close(fds[i]);

	int before = tu_count_entries("/proc/self/fd");
	tu_ok(pshm_recv_fd(sv[0], &s, 0));
	/* One kept by the handle; the other two closed. */
	assert_int_equal(tu_count_entries("/proc/self/fd"), before + 1);
	assert_int_equal(pshm_kind(s), PSHM_MEMFD);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(p[0], 'A');
	tu_ok(pshm_close(s));
	assert_int_equal(tu_count_entries("/proc/self/fd"), before);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_not_regular(void **state)
{
	struct pshm_seg *s = NULL;
	int sv[2], pfd[2];
	char fifo[] = "/tmp/pshm-memfd-fifo.XXXXXX";
	(void)state;

	socket_pair(sv);

	/* A pipe. */
	assert_int_equal(pipe(pfd), 0);
	send_fds(sv[1], &pfd[0], 1);
	int before = tu_count_entries("/proc/self/fd");
	tu_err(pshm_recv_fd(sv[0], &s, 0), -EINVAL);
	assert_int_equal(tu_count_entries("/proc/self/fd"), before);

	/* A named FIFO, opened without blocking. */
	assert_non_null(mkdtemp(fifo));
	char path[64];
	snprintf(path, sizeof(path), "%s/f", fifo);
	assert_int_equal(mkfifo(path, 0600), 0);
	int ffd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	assert_true(ffd >= 0);
	send_fds(sv[1], &ffd, 1);
	before = tu_count_entries("/proc/self/fd");
	tu_err(pshm_recv_fd(sv[0], &s, 0), -EINVAL);
	assert_int_equal(tu_count_entries("/proc/self/fd"), before);
	assert_null(s);

	close(ffd);
	unlink(path);
	rmdir(fifo);
	close(pfd[0]);
	close(pfd[1]);
	close(sv[0]);
	close(sv[1]);
}

static void test_send_sysv(void **state)
{
	struct pshm_seg *s = NULL;
	int sv[2];
	char c;
	(void)state;

	tu_ok(pshm_create(&s, "sysv:0", PAGE, 0, 0));
	socket_pair(sv);
	int r = pshm_send_fd(sv[1], s);
	/* Remove the segment before any assertion can leave it behind. */
	int d = pshm_destroy(s);
	tu_ok(pshm_close(s));
	tu_err(r, -EOPNOTSUPP);
	tu_ok(d);
	/* Nothing went out. */
	assert_true(recv(sv[0], &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

/* ---- pshm_from_fd ------------------------------------------------------------------------ */

static void test_from_fd(void **state)
{
	struct pshm_seg *s = NULL;
	char want[48], proc[40];
	unsigned char *p;
	size_t len;
	(void)state;

	int fd = memfd_create("from", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * PAGE), 0);
	tu_ok(pshm_from_fd(&s, fd, 0));
	assert_int_equal(pshm_kind(s), PSHM_MEMFD);
	assert_int_equal(pshm_fd(s), fd);
	assert_false(pshm_created(s));
	snprintf(want, sizeof(want), "memfd:%d:%d", (int)getpid(), fd);
	assert_string_equal(pshm_address(s), want);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	assert_int_equal(len, 2 * PAGE);
	p[0] = 1;

	/* A read-only descriptor makes a read-only handle. */
	struct pshm_seg *ro = NULL;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int rfd = open(proc, O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	tu_ok(pshm_from_fd(&ro, rfd, 0));
	tu_ok(pshm_map(ro, 0, (void **)&p, &len));
	assert_int_equal(p[0], 1);
	assert_int_equal(child_writes((volatile char *)p), 128 + SIGSEGV);
	tu_ok(pshm_close(ro));
	assert_false(fd_is_open(rfd));

	/* Write-only cannot be mapped; the descriptor stays the caller's. */
	int wfd = open(proc, O_WRONLY | O_CLOEXEC);
	assert_true(wfd >= 0);
	tu_err(pshm_from_fd(&ro, wfd, 0), -EACCES);
	assert_true(fd_is_open(wfd));
	close(wfd);

	tu_ok(pshm_close(s));
	assert_false(fd_is_open(fd));
}

static void test_from_fd_not_regular(void **state)
{
	struct pshm_seg *s = NULL;
	int pfd[2];
	(void)state;

	assert_int_equal(pipe(pfd), 0);
	tu_err(pshm_from_fd(&s, pfd[0], 0), -EINVAL);
	tu_err(pshm_from_fd(&s, pfd[1], 0), -EINVAL);
	assert_true(fd_is_open(pfd[0]));
	assert_true(fd_is_open(pfd[1]));
	close(pfd[0]);
	close(pfd[1]);
	tu_err(pshm_from_fd(&s, pfd[0], 0), -EBADF);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create),
	    cmocka_unit_test(test_create_sparse),
	    cmocka_unit_test(test_resize),
	    cmocka_unit_test(test_stat),
	    cmocka_unit_test(test_no_name),
	    cmocka_unit_test(test_seal_shrink),
	    cmocka_unit_test(test_seal_grow),
	    cmocka_unit_test(test_seal_write),
	    cmocka_unit_test(test_seal_seal),
	    cmocka_unit_test(test_seal_bad),
	    cmocka_unit_test(test_open_other_process),
	    cmocka_unit_test(test_open_under_lease),
	    cmocka_unit_test(test_send_memfd),
	    cmocka_unit_test(test_send_memfd_rdonly),
	    cmocka_unit_test(test_send_posix),
	    cmocka_unit_test(test_recv_closed),
	    cmocka_unit_test(test_recv_no_fd),
	    cmocka_unit_test(test_recv_extra_fds),
	    cmocka_unit_test(test_recv_not_regular),
	    cmocka_unit_test(test_send_sysv),
	    cmocka_unit_test(test_from_fd),
	    cmocka_unit_test(test_from_fd_not_regular),
	};

	int probe = memfd_create("probe", MFD_CLOEXEC);
	if (probe < 0)
		tu_skip_all("memfd_create: %s", strerror(errno));
	close(probe);
	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
