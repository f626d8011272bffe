/*
 * msg.c - pshm send and pshm recv: the two ends of a channel as a pipe's, lines or records in,
 * lines or records out (the channel itself, and chan create and chan stat, are chan.c).
 *
 * send waits while the channel is full, recv while it is empty, and recv ends once the writer
 * has gone and everything it sent is read: exit 0 when it detached cleanly, 1 when it died or
 * gave up (recv --follow waits for the next writer instead; a channel of many writers ends when
 * the last has gone). send gives up (ends the stream with pshm_chan_abort) whenever it fails or
 * is stopped by SIGINT, SIGTERM or SIGHUP, so that a reader never takes a truncated stream for
 * a whole one.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The --help of send or recv: the usage line and summary from the table, then TEXT, then the
 * options. */
static int help_text(const char *name, const char *text, const char *options)
{
	for (const struct cmd *c = cli_cmds; c->name; c++) {
		if (!strcmp(c->name, name)) {
			cli_help_usage(stdout, c->name, c->synopsis);
			printf("\n%c%s.\n\n", c->summary[0] - 'a' + 'A', c->summary + 1);
		}
	}
	printf("%s", text);
	cli_help_options(options);
	cli_help_end();
	return EXIT_OK;
}

/* ---- pshm send ----------------------------------------------------------------------------- */

/*
 * A send stopped by SIGINT, SIGTERM or SIGHUP ends its stream as failed before it dies of the
 * signal. The handler only notes the signal and puts /dev/null in place of standard input: a
 * read it interrupted fails with EINTR, and one about to start finds the end of the input, so
 * a signal that comes between a look at the note and a read cannot leave send blocked there.
 * A wait for room in a full channel, which the signal does not end, lasts SEND_SLICE_MS at a
 * time and is then taken up again unless a signal came.
 */
#define SEND_SLICE_MS 100

static volatile sig_atomic_t send_signal;
static int send_devnull = -1;

static void on_send_signal(int sig)
{
	int e = errno;
	send_signal = sig;
	if (send_devnull >= 0)
		dup2(send_devnull, STDIN_FILENO);
	errno = e;
}

static void send_catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_send_signal; /* no SA_RESTART: a blocked read ends with EINTR */
	sigemptyset(&sa.sa_mask);
	send_devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (send_devnull >= 0 && send_devnull <= STDERR_FILENO) {
		/* Standard input (or output) was closed: it is to stay so, not become this. */
		int fd = fcntl(send_devnull, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		close(send_devnull);
		send_devnull = fd;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* A signal ignored by whoever started us stays ignored: a shell without job control
		 * starts background commands with SIGINT ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

/* Die of the signal that stopped the send, as without a handler, so the parent sees it. */
static int send_die(void)
{
	int sig = send_signal;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	raise(sig);
	return 128 + sig; /* not reached: the signal is not blocked */
}

/* pshm_chan_reserve() without a time limit, but -EINTR once a signal has come. */
static int send_reserve(struct pshm_chan *ch, size_t len, void **p)
{
	for (;;) {
		if (send_signal)
			return -EINTR;
		int r = pshm_chan_reserve(ch, len, p, SEND_SLICE_MS);
		if (r != -ETIMEDOUT)
			return r;
	}
}

/* pshm_chan_send() by send_reserve(). */
static int send_one(struct pshm_chan *ch, const void *buf, size_t len)
{
	void *p;
	int r = send_reserve(ch, len, &p);
	if (r < 0)
		return r;
	if (len)
		memcpy(p, buf, len);
	return pshm_chan_commit(ch, len);
}

/* Why a send on ADDR failed, in words. Returns EXIT_FAIL. */
static int send_fail(const char *addr, int err, size_t len, uint64_t maxmsg)
{
	switch (err) {
	case -EINTR:
		return EXIT_FAIL; /* a signal: the shell says which */
	case -ECONNRESET:
		fprintf(stderr, "pshm: send %s: the reader died\n", cli_safe(addr));
		return EXIT_FAIL;
	case -EPIPE:
		fprintf(stderr, "pshm: send %s: the reader detached\n", cli_safe(addr));
		return EXIT_FAIL;
	case -EMSGSIZE:
		fprintf(stderr,
		        "pshm: send %s: a message of %zu bytes is larger than the channel's "
		        "largest, %llu bytes\n",
		        cli_safe(addr), len, (unsigned long long)maxmsg);
		return EXIT_FAIL;
	default:
		return cli_chan_fail("send", addr, err);
	}
}

/*
 * Read one line of IN (without its newline) into *BUF, growing it to at most MAX + 1 bytes.
 * Returns the length, -1 at the end of the input, -2 for a line longer than MAX (its length so
 * far in *LENP), -3 for a read error (errno set).
 */
static long long read_line(FILE *in, char **buf, size_t *cap, uint64_t max, size_t *lenp)
{
	size_t n = 0;
	int ch;

	while ((ch = getc_unlocked(in)) != EOF && ch != '\n') {
		if (n >= max) {
			*lenp = n + 1;
			return -2;
		}
		if (n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			if (ncap > max)
				ncap = (size_t)max;
			char *nb = realloc(*buf, ncap);
			if (!nb) {
				errno = ENOMEM;
				return -3;
			}
			*buf = nb;
			*cap = ncap;
		}
		(*buf)[n++] = (char)ch;
	}
	if (ch == EOF) {
		if (ferror(in))
			return -3;
		if (n == 0)
			return -1;
	}
	return (long long)n;
}

/* Send standard input as one message per line. */
static int send_lines(struct pshm_chan *ch, const char *addr, uint64_t maxmsg)
{
	char *buf = NULL;
	size_t cap = 0, big = 0;
	int status = EXIT_OK;

	for (;;) {
		long long n = read_line(stdin, &buf, &cap, maxmsg, &big);
		if (send_signal) {
			status = EXIT_FAIL;
			break;
		}
		if (n == -1)
			break;
		if (n == -2) {
			fprintf(stderr,
			        "pshm: send %s: a line of more than %llu bytes is larger than the "
			        "channel's largest message\n",
			        cli_safe(addr), (unsigned long long)maxmsg);
			status = EXIT_FAIL;
			break;
		}
		if (n == -3) {
			status = cli_fail("send", "standard input", -errno);
			break;
		}
		int r = send_one(ch, buf, (size_t)n);
		if (r < 0) {
			status = send_fail(addr, r, (size_t)n, maxmsg);
			break;
		}
	}
	free(buf);
	return status;
}

/* Send standard input as records: a 4-byte little-endian length, then that many bytes, each
 * read straight into the ring. */
static int send_records(struct pshm_chan *ch, const char *addr, uint64_t maxmsg)
{
	for (;;) {
		unsigned char lb[4];
		size_t got = fread(lb, 1, sizeof(lb), stdin);
		if (send_signal)
			return EXIT_FAIL;
		if (got == 0 && feof(stdin))
			return EXIT_OK;
		if (got < sizeof(lb)) {
			if (ferror(stdin))
				return cli_fail("send", "standard input", -EIO);
			fprintf(stderr, "pshm: send %s: the input ends inside a record's length\n",
			        cli_safe(addr));
			return EXIT_FAIL;
		}
		size_t len =
		    (size_t)lb[0] | (size_t)lb[1] << 8 | (size_t)lb[2] << 16 | (size_t)lb[3] << 24;
		void *p;
		int r = send_reserve(ch, len, &p);
		if (r < 0)
			return send_fail(addr, r, len, maxmsg);
		/* An uncommitted reservation is dropped when the channel is closed. */
		if (len && fread(p, 1, len, stdin) != len) {
			if (send_signal)
				return EXIT_FAIL;
			if (ferror(stdin))
				return cli_fail("send", "standard input", -EIO);
			fprintf(stderr,
			        "pshm: send %s: the input ends inside a record of %zu bytes\n",
			        cli_safe(addr), len);
			return EXIT_FAIL;
		}
		r = pshm_chan_commit(ch, len);
		if (r < 0)
			return send_fail(addr, r, len, maxmsg);
	}
}

int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"records", no_argument, NULL, 'r'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	bool records = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			records = true;
			break;
		case 'h':
			return help_text(
			    "send",
			    "Each MESSAGE is one message; without MESSAGE, each line of standard "
			    "input is one\n"
			    "(without its newline). A full channel makes pshm send wait for the "
			    "reader.\n"
			    "When pshm send fails or is stopped by SIGINT, SIGTERM or SIGHUP, "
			    "it ends the stream\n"
			    "as failed: pshm recv prints what was sent, then exits 1.\n",
			    "      --records          read standard input as records: a 4-byte "
			    "little-endian\n"
			    "                         length, then the bytes\n");
		default:
			return cli_bad_option("send", opts, argv);
		}
	}
	if (optind == argc)
		return cli_usage("send", "no channel named");
	if (records && argc - optind > 1)
		return cli_usage("send", "--records reads standard input; no MESSAGE is taken");
	const char *addr = argv[optind];
	struct pshm_chan *ch;
	struct pshm_chan_stat st;
	send_catch_signals();
	int status = cli_chan_open("send", addr, PSHM_CHAN_WRITER, 0, &ch, &st);
	if (status)
		return status;

	if (argc - optind > 1) {
		for (int i = optind + 1; i < argc && !status; i++) {
			size_t len = strlen(argv[i]);
			int r = send_one(ch, argv[i], len);
			if (r < 0)
				status = send_fail(addr, r, len, st.max_message);
		}
	} else if (records) {
		status = send_records(ch, addr, st.max_message);
	} else {
		status = send_lines(ch, addr, st.max_message);
	}
	/* Whatever stopped the send, its readers must not take the stream for a whole one. */
	if (send_signal || status) {
		pshm_chan_abort(ch);
		return send_signal ? send_die() : status;
	}
	int r = pshm_chan_close(ch);
	if (r < 0)
		status = cli_chan_fail("send", addr, r);
	return send_signal ? send_die() : status;
}

/* ---- pshm recv ----------------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Print one message as a line or a record; false (errno set) when standard output fails. */
static bool put_message(const void *buf, size_t len, bool records)
{
	if (records) {
		unsigned char lb[4] = {(unsigned char)len, (unsigned char)(len >> 8),
		                       (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
		if (fwrite(lb, 1, 4, stdout) != 4)
			return false;
	}
	if (len && fwrite(buf, 1, len, stdout) != len)
		return false;
	return records || putchar('\n') != EOF;
}

/*
 * Say how the writers of channel ADDR (of MODE) ended, for a death (ERR -ECONNRESET) or a stream
 * given up (-ECONNABORTED, from pshm_chan_abort(): what came is all there is, and it is not the
 * whole). In a channel of many writers the end comes when the last has gone, and says that one
 * of them died or gave up.
 */
static void writer_end_note(const char *addr, int err, int32_t mode)
{
	fprintf(stderr, "pshm: recv %s: %s %s\n", cli_safe(addr),
	        mode & PSHM_CHAN_MANY_WRITERS ? "a writer" : "the writer",
	        err == -ECONNRESET ? "died" : "gave up");
}

int cmd_recv(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"timeout", required_argument, NULL, 't'},
	    {"records", no_argument, NULL, 'r'},
	    {"from-oldest", no_argument, NULL, 'o'},
	    {"follow", no_argument, NULL, 'f'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	bool records = false, counted = false, follow = false;
	unsigned flags = 0;
	unsigned long long count = 0;
	double timeout = -1;
	const char *tmo_text = NULL;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "n:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			count = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-' || optarg[0] == '+')
				return cli_usage(
				    "recv", "invalid count '%s': expected a number of messages",
				    optarg);
			counted = true;
			break;
		case 't':
			errno = 0;
			timeout = strtod(optarg, &end);
			if (!*optarg || *end || errno || !isfinite(timeout) || timeout < 0 ||
			    timeout > 1e9)
				return cli_usage(
				    "recv",
				    "invalid timeout '%s': expected seconds, such as 5 "
				    "or 0.5",
				    optarg);
			tmo_text = optarg;
			break;
		case 'r':
			records = true;
			break;
		case 'o':
			flags |= PSHM_CHAN_FROM_OLDEST;
			break;
		case 'f':
			flags |= PSHM_CHAN_FOLLOW;
			follow = true;
			break;
		case 'h':
			return help_text(
			    "recv",
			    "Each message is printed followed by a newline. pshm recv waits while "
			    "there is no message;\n"
			    "once the writer has gone and every message is read, it ends: exit 0 "
			    "when the writer\n"
			    "detached, 1 when it died or gave up (as pshm send does when it "
			    "fails). With --follow\n"
			    "it waits for the next writer instead, and ends only after COUNT "
			    "messages, at the\n"
			    "timeout, or by a signal.\n",
			    "  -n, --count COUNT      end after COUNT messages\n"
			    "      --timeout T        give up after T seconds in all (fractions "
			    "allowed)\n"
			    "      --records          print each message as a record: a 4-byte "
			    "little-endian\n"
			    "                         length, then the bytes\n"
			    "      --from-oldest      broadcast: start at the oldest message "
			    "still in the channel,\n"
			    "                         not at the next one sent\n"
			    "  -f, --follow           read on across writers: after a writer's "
			    "end, wait for\n"
			    "                         the next one\n");
		default:
			return cli_bad_option("recv", opts, argv);
		}
	}
	if (optind == argc)
		return cli_usage("recv", "no channel named");
	if (argc - optind > 1)
		return cli_usage("recv", "unexpected argument '%s'", argv[optind + 1]);
	const char *addr = argv[optind];
	uint64_t deadline = timeout < 0 ? UINT64_MAX : now_ms() + (uint64_t)(timeout * 1000);

	struct pshm_chan *ch;
	struct pshm_chan_stat st;
	int status = cli_chan_open("recv", addr, PSHM_CHAN_READER, flags, &ch, &st);
	if (status)
		return status;

	char *buf = NULL;
	size_t cap = 0;
	unsigned long long got = 0;
	uint64_t lost = 0;
	bool out_err = false;
	while (!counted || got < count) {
		size_t len = 0;
		/* Look without waiting first; flush what is printed before any wait, so a reader
		 * downstream sees each message as it comes without a write per message. */
		int r = pshm_chan_recv(ch, buf, cap, &len, 0);
		if (r == -EAGAIN) {
			if (fflush(stdout) == EOF) {
				out_err = true;
				break;
			}
			uint64_t now = now_ms();
			int wait_ms = deadline == UINT64_MAX     ? PSHM_CHAN_FOREVER
			              : now >= deadline          ? 0
			              : deadline - now > INT_MAX ? INT_MAX
			                                         : (int)(deadline - now);
			r = pshm_chan_recv(ch, buf, cap, &len, wait_ms);
			if (r == -EAGAIN)
				r = -ETIMEDOUT;
			if (r == -ETIMEDOUT && now_ms() < deadline)
				continue; /* a wait of at most INT_MAX ms ended */
		}
		if (r == -EMSGSIZE) {
			char *nb = realloc(buf, len);
			if (!nb) {
				status = cli_fail("recv", addr, -ENOMEM);
				break;
			}
			buf = nb;
			cap = len;
			continue;
		}
		if (r == -EOVERFLOW) {
			uint64_t l = pshm_chan_lost(ch);
			fprintf(stderr, "pshm: recv %s: lost %llu messages\n", cli_safe(addr),
			        (unsigned long long)(l - lost));
			lost = l;
			continue;
		}
		if (r == -EPIPE || r == -ECONNRESET || r == -ECONNABORTED) {
			/* The writer's end, once everything is read; a following reader hears it
			 * once and then waits for the next writer. */
			if (r != -EPIPE)
				writer_end_note(addr, r, st.mode);
			if (follow)
				continue;
			status = r == -EPIPE ? EXIT_OK : EXIT_FAIL;
			break;
		}
		if (r == -ETIMEDOUT) {
			fprintf(stderr,
			        "pshm: recv %s: timed out after %s seconds (%llu messages "
			        "received)\n",
			        cli_safe(addr), cli_safe(tmo_text), got);
			status = EXIT_FAIL;
			break;
		}
		if (r < 0) {
			status = cli_chan_fail("recv", addr, r);
			break;
		}
		if (!put_message(buf, len, records)) {
			out_err = true;
			break;
		}
		got++;
	}
	if (!out_err && fflush(stdout) == EOF)
		out_err = true;
	if (out_err)
		status = cli_fail_output("recv", addr, -errno);
	free(buf);
	int r = pshm_chan_close(ch);
	if (r < 0 && !status)
		status = cli_chan_fail("recv", addr, r);
	return status;
}
