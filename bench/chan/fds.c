/*
 * fds.c - bench_chan's transports through the kernel's descriptors: two pipes, and Unix socket
 * pairs of the stream and the seqpacket kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"

/* Pipes and socket pairs. */
static const char *pipe_setup(struct tctx *c)
{
	for (int d = 0; d < 2; d++)
		if (pipe2(c->fd[d], O_CLOEXEC))
			return NULL;
	return "";
}

static int pipe_open(struct tctx *c)
{
	/* Keep only this side's ends, so that the other side's death reads as end of file. */
	for (int d = 0; d < 2; d++) {
		int keep = d == c->side ? 1 : 0;
		close(c->fd[d][!keep]);
		c->fd[d][!keep] = -1;
	}
	return 0;
}

static const char *sock_setup_type(struct tctx *c, int type)
{
	int sv[2];
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv))
		return NULL;
	/* A message of 64 KiB must fit a seqpacket socket's send buffer whole. */
	int buf = 4 * 65536 + 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	/* fd[d][1] is where direction d is written, fd[d][0] where it is read. */
	c->fd[0][1] = sv[0];
	c->fd[0][0] = sv[1];
	c->fd[1][1] = sv[1];
	c->fd[1][0] = sv[0];
	return "";
}

static const char *stream_setup(struct tctx *c)
{
	return sock_setup_type(c, SOCK_STREAM);
}

static const char *seqpacket_setup(struct tctx *c)
{
	return sock_setup_type(c, SOCK_SEQPACKET);
}

static int sock_open(struct tctx *c)
{
	/* The first process keeps sv[0] (fd[0][1]), the second sv[1]. */
	int mine = c->side == 0 ? c->fd[0][1] : c->fd[0][0];
	int other = c->side == 0 ? c->fd[0][0] : c->fd[0][1];
	close(other);
	c->fd[0][0] = c->fd[0][1] = c->fd[1][0] = c->fd[1][1] = mine;
	return 0;
}

static int fd_write_all(struct tctx *c, int dir, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(c->fd[dir][1], p, len);
		if (n < 0) {
			if (errno == EINTR && !stop_signal)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_read_all(struct tctx *c, int dir, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(c->fd[dir][0], p, len);
		if (n < 0) {
			if (errno == EINTR && !stop_signal)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int packet_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	int r;
	do {
		ssize_t n = send(c->fd[dir][1], buf, len, 0);
		r = msg_outcome(n, len, errno);
	} while (r > 0);
	return r;
}

static int packet_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	int r;
	do {
		ssize_t n = recv(c->fd[dir][0], buf, len, 0);
		r = n == 0 ? -EPIPE : msg_outcome(n, len, errno);
	} while (r > 0);
	return r;
}

static void fd_close(struct tctx *c)
{
	for (int d = 0; d < 2; d++)
		for (int e = 0; e < 2; e++) {
			/* Socket pairs share one descriptor across the four slots. */
			int fd = c->fd[d][e];
			if (fd < 0)
				continue;
			close(fd);
			for (int dd = 0; dd < 2; dd++)
				for (int ee = 0; ee < 2; ee++)
					if (c->fd[dd][ee] == fd)
						c->fd[dd][ee] = -1;
		}
}

/* Teardown closes whatever is still open: all of it when the run ended before opening. */
const struct transport tr_pipe = {
    .name = "pipe",
    .desc = "two pipes",
    .setup = pipe_setup,
    .open = pipe_open,
    .send = fd_write_all,
    .recv = fd_read_all,
    .close = fd_close,
    .teardown = fd_close,
};
const struct transport tr_stream = {
    .name = "unix stream",
    .desc = "socketpair(AF_UNIX, SOCK_STREAM)",
    .setup = stream_setup,
    .open = sock_open,
    .send = fd_write_all,
    .recv = fd_read_all,
    .close = fd_close,
    .teardown = fd_close,
};
const struct transport tr_seqpacket = {
    .name = "unix seqpacket",
    .desc = "socketpair(AF_UNIX, SOCK_SEQPACKET)",
    .setup = seqpacket_setup,
    .open = sock_open,
    .send = packet_send,
    .recv = packet_recv,
    .close = fd_close,
    .teardown = fd_close,
};
