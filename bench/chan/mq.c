/*
 * mq.c - bench_chan's POSIX message queue transport: one queue per direction, sized to the
 * message, within the limits /proc/sys/fs/mqueue sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "transport.h"

/* The number in the file at PATH, or DFLT when it cannot be read. */
static long proc_long(const char *path, long dflt)
{
	long v = dflt;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

long mq_msgsize_max(void)
{
	return proc_long("/proc/sys/fs/mqueue/msgsize_max", -1);
}

/* The most messages a queue may hold; 10 is the kernel's default. */
static long mq_msg_max(void)
{
	return proc_long("/proc/sys/fs/mqueue/msg_max", 10);
}

static char mq_reason[128];

static const char *mq_setup(struct tctx *c)
{
	long max = mq_msgsize_max();
	if (max >= 0 && (long)c->size > max) {
		snprintf(mq_reason, sizeof(mq_reason),
		         "unavailable: above /proc/sys/fs/mqueue/msgsize_max (%ld)", max);
		return mq_reason;
	}
	struct mq_attr attr = {.mq_maxmsg = mq_msg_max(), .mq_msgsize = (long)c->size};
	for (int d = 0; d < 2; d++) {
		new_name(c->mq_name[d], sizeof(c->mq_name[d]), "", "");
		note_mq(d, c->mq_name[d]);
		c->mq[d] =
		    mq_open(c->mq_name[d], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
		if (c->mq[d] == (mqd_t)-1) {
			snprintf(mq_reason, sizeof(mq_reason), "unavailable: mq_open: %s",
			         strerror(errno));
			note_mq(d, "");
			return mq_reason;
		}
	}
	return "";
}

static int mq_tsend(struct tctx *c, int dir, const void *buf, size_t len)
{
	int r;
	do {
		ssize_t n = mq_send(c->mq[dir], buf, len, 0) ? -1 : (ssize_t)len;
		r = msg_outcome(n, len, errno);
	} while (r > 0);
	return r;
}

static int mq_trecv(struct tctx *c, int dir, void *buf, size_t len)
{
	int r;
	do {
		ssize_t n = mq_receive(c->mq[dir], buf, len, NULL);
		r = msg_outcome(n, len, errno);
	} while (r > 0);
	return r;
}

static void mq_tclose(struct tctx *c)
{
	for (int d = 0; d < 2; d++) {
		if (c->mq[d] != (mqd_t)-1)
			mq_close(c->mq[d]);
		c->mq[d] = (mqd_t)-1;
	}
}

static void mq_teardown(struct tctx *c)
{
	mq_tclose(c);
	remove_made();
}

const struct transport tr_mq = {
    .name = "mq",
    .desc = "POSIX message queues (mq_open), one per direction",
    .setup = mq_setup,
    .send = mq_tsend,
    .recv = mq_trecv,
    .close = mq_tclose,
    .teardown = mq_teardown,
};
