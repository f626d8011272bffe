/*
 * epoll - one thread serving two channels and a Unix stream socket with epoll: whatever
 * arrives on any of them is printed as it comes, one line per message or line of text.
 *
 * Usage: epoll CHANNEL1 CHANNEL2 SOCKET
 *
 * It makes the two channels (queues; names that exist already are an error), reads both, and
 * listens on SOCKET, a path for a new Unix stream socket. Each channel's descriptor
 * (pshm_chan_fd) sits in the epoll set beside the socket's: when one polls readable, the
 * channel is read with timeout 0 until -EAGAIN, which arms its descriptor again. A channel is
 * done when its writer has gone (it says how); the program ends once both are, with no client
 * connected, and removes what it made. Try, in other terminals:
 *
 *   pshm send /a hello          python3 -c 'import socket; s = socket.socket(socket.AF_UNIX);
 *   pshm send /b world              s.connect("sock"); s.sendall(b"over the socket\n")'
 *
 * Exit status: 0 when both channels' writers detached cleanly, 1 otherwise.
 */
#include <pshm.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 16

/* What an epoll event is about: a channel, the listening socket, or a client's connection. */
struct source {
	enum { CHAN, LISTENER, CLIENT } kind;
	const char *name; /* a channel's address, or the socket's path */
	struct pshm_chan *ch;
	int fd;
	bool done;
	int end;        /* a channel: why it is done (-EPIPE for a clean detach) */
	char line[256]; /* a client: the part of a line read so far */
	size_t have;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Print LEN bytes of P as one line, after LABEL, with anything unprintable as '?'. */
static void show(const char *label, const char *p, size_t len)
{
	printf("%s: ", label);
	for (size_t i = 0; i < len; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
	putchar('\n');
	fflush(stdout);
}

/* Everything there is on channel S, until it would wait (which arms its descriptor again). */
static void read_channel(int ep, struct source *s)
{
	char buf[4096];
	size_t len;
	int r;

	while ((r = pshm_chan_recv(s->ch, buf, sizeof(buf), &len, 0)) == 0 || r == -EMSGSIZE) {
		if (r == -EMSGSIZE) {
			printf("%s: a message of %zu bytes, too long to show\n", s->name, len);
			break; /* the channel is left as it is: a real server would make room */
		}
		show(s->name, buf, len);
	}
	if (r == -EAGAIN)
		return;
	printf("%s: the writer %s\n", s->name,
	       r == -EPIPE          ? "is done"
	       : r == -ECONNABORTED ? "gave up"
	       : r == -ECONNRESET   ? "died"
	                            : pshm_strerror(r));
	fflush(stdout);
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	s->done = true;
	s->end = r;
}

/* Take every connection waiting on the listener into a free client slot. */
static void accept_clients(int ep, struct source *listener, struct source *clients)
{
	int fd;

	while ((fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct source *c = NULL;
		for (int i = 0; i < MAX_CLIENTS && !c; i++)
			if (clients[i].fd < 0)
				c = &clients[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		*c = (struct source){.kind = CLIENT, .name = listener->name, .fd = fd};
	}
}

/* Print the complete lines a client has sent; close it at its end. */
static void read_client(int ep, struct source *c)
{
	ssize_t n;

	while ((n = read(c->fd, c->line + c->have, sizeof(c->line) - c->have)) > 0) {
		c->have += (size_t)n;
		char *nl;
		while ((nl = memchr(c->line, '\n', c->have))) {
			size_t len = (size_t)(nl - c->line);
			show(c->name, c->line, len);
			c->have -= len + 1;
			memmove(c->line, nl + 1, c->have);
		}
		if (c->have == sizeof(c->line)) { /* a line too long: show what there is */
			show(c->name, c->line, c->have);
			c->have = 0;
		}
	}
	if (n < 0 && errno == EAGAIN)
		return;
	if (c->have)
		show(c->name, c->line, c->have);
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

/* A listening Unix stream socket at PATH, non-blocking: its descriptor, or -1. */
static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Attach to channel S->name as its reader, and watch it in EP. 0 or a negative errno. */
static int open_channel(int ep, struct source *s)
{
	int r = pshm_chan_open(&s->ch, s->name, PSHM_CHAN_READER, 0);
	if (!r && (s->fd = pshm_chan_fd(s->ch)) < 0)
		r = s->fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
	if (!r && epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		r = -errno;
	return r;
}

/* Serve until both channels are done and no client is left, or a signal. */
static void serve(int ep, struct source *chans, struct source *listener, struct source *clients)
{
	while (!stop) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			struct source *s = evs[i].data.ptr;
			if (s->kind == CHAN)
				read_channel(ep, s);
			else if (s->kind == LISTENER)
				accept_clients(ep, listener, clients);
			else
				read_client(ep, s);
		}
		if (!chans[0].done || !chans[1].done)
			continue;
		/* Both writers are gone: serve whoever connected meanwhile, then end. */
		accept_clients(ep, listener, clients);
		bool busy = false;
		for (int i = 0; i < MAX_CLIENTS; i++)
			busy |= clients[i].fd >= 0;
		if (!busy)
			break;
	}
}

int main(int argc, char **argv)
{
	struct source chans[2], listener, clients[MAX_CLIENTS];
	int status = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: epoll CHANNEL1 CHANNEL2 SOCKET\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = (struct source){.kind = CLIENT, .fd = -1};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("epoll: epoll_create1");
		return 1;
	}
	int made = 0, r = 0;
	for (int i = 0; i < 2; i++)
		chans[i] = (struct source){.kind = CHAN, .name = argv[1 + i], .fd = -1};
	const char *what = NULL;
	while (made < 2 && !(r = pshm_chan_create(chans[made].name, 65536, 0600, 0)))
		made++;
	if (r)
		what = chans[made].name;
	for (int i = 0; i < made && !r; i++)
		if ((r = open_channel(ep, &chans[i])))
			what = chans[i].name;
	if (r)
		fprintf(stderr, "epoll: %s: %s\n", what, pshm_strerror(r));
	listener = (struct source){.kind = LISTENER, .name = argv[3], .fd = -1};
	if (!r && (listener.fd = listen_at(argv[3])) < 0)
		fprintf(stderr, "epoll: %s: %s\n", argv[3], strerror(errno));
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener};
	if (!r && listener.fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, listener.fd, &ev) == 0) {
		printf("epoll: serving %s, %s and %s\n", argv[1], argv[2], argv[3]);
		fflush(stdout);
		serve(ep, chans, &listener, clients);
		status = chans[0].end == -EPIPE && chans[1].end == -EPIPE ? 0 : 1;
		printf("epoll: done\n");
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			close(clients[i].fd);
	if (listener.fd >= 0) {
		close(listener.fd);
		unlink(argv[3]);
	}
	for (int i = 0; i < made; i++) {
		pshm_chan_close(chans[i].ch); /* closes its descriptor too */
		pshm_destroy_addr(chans[i].name);
	}
	close(ep);
	return status;
}
