/*
 * poll.c - bench_chan's "chan epoll": a channel whose reader waits as an event loop does, in
 * epoll_wait on the descriptor pshm_chan_fd gives, and then receives with timeout 0 until
 * -EAGAIN, which arms the descriptor again. The writer sends as "chan blocking"'s does. Its
 * 8 B latency is the cost of a channel's wake-up through a descriptor, which the report holds
 * against a pipe's blocking read, the wake-up a program would otherwise wait on in its loop.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "transport.h"

/* One channel per direction, made before the fork, as pshm.c's are. */
static const char *poll_setup(struct tctx *c)
{
	for (int d = 0; d < 2; d++) {
		char path[NAME_LEN + PATH_MAX];
		new_name(c->chan_addr[d], sizeof(c->chan_addr[d]), "", "");
		snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), c->chan_addr[d]);
		note_path(path);
		int r = pshm_chan_create(c->chan_addr[d], RING_BYTES, 0600, 0);
		if (r) {
			fprintf(stderr, "bench_chan: pshm_chan_create %s: %s\n", c->chan_addr[d],
			        pshm_strerror(r));
			errno = -r;
			return NULL;
		}
	}
	return "";
}

/*
 * This side writes direction c->side and reads the other, whose descriptor goes into an epoll
 * instance of its own, kept where a pipe's read end would be (c->fd[d][0]).
 */
static int poll_open(struct tctx *c)
{
	for (int d = 0; d < 2; d++) {
		int role = d == c->side ? PSHM_CHAN_WRITER : PSHM_CHAN_READER;
		int r = pshm_chan_open(&c->chan[d], c->chan_addr[d], role, 0);
		if (r)
			return r;
		if (role == PSHM_CHAN_WRITER)
			continue;
		int fd = pshm_chan_fd(c->chan[d]);
		if (fd < 0)
			return fd;
		int ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			r = -errno;
			if (ep >= 0)
				close(ep);
			return r;
		}
		c->fd[d][0] = ep;
	}
	return 0;
}

static int poll_send(struct tctx *c, int dir, const void *buf, size_t len)
{
	return pshm_chan_send(c->chan[dir], buf, len, PSHM_CHAN_FOREVER);
}

/* Receive with timeout 0; at -EAGAIN, which armed the descriptor, wait in epoll_wait. */
static int poll_recv(struct tctx *c, int dir, void *buf, size_t len)
{
	struct epoll_event ev;
	size_t n;
	int r;

	while ((r = pshm_chan_recv(c->chan[dir], buf, len, &n, 0)) == -EAGAIN) {
		if (epoll_wait(c->fd[dir][0], &ev, 1, -1) < 0 && (errno != EINTR || stop_signal))
			return -errno;
	}
	return r ? r : n == len ? 0 : -EPROTO;
}

static void poll_close(struct tctx *c)
{
	for (int d = 0; d < 2; d++) {
		if (c->fd[d][0] >= 0)
			close(c->fd[d][0]);
		c->fd[d][0] = -1;
		pshm_chan_close(c->chan[d]); /* and the descriptor it gave */
		c->chan[d] = NULL;
	}
}

static void poll_teardown(struct tctx *c)
{
	for (int d = 0; d < 2; d++)
		if (c->chan_addr[d][0])
			pshm_destroy_addr(c->chan_addr[d]);
	remove_made();
}

const struct transport tr_chan_poll = {
    .name = "chan epoll",
    .desc = "pshm_chan_send; the reader in epoll_wait on pshm_chan_fd, then pshm_chan_recv(0)",
    .setup = poll_setup,
    .open = poll_open,
    .send = poll_send,
    .recv = poll_recv,
    .close = poll_close,
    .teardown = poll_teardown,
};
