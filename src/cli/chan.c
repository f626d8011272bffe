/*
 * chan.c - message channels from the shell: pshm chan create and pshm chan stat, what send and
 * recv (msg.c) share to open a channel and to say why a channel call failed, and the check pshm
 * ls makes to show a POSIX object that is a channel as one.
 */
#include "cli.h"
#include "huge.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define CHAN_CREATE_SYNOPSIS                                                                       \
	"[--capacity SIZE] [--broadcast [--lossless]] [--many-writers] [-m MODE] [--huge[=SIZE]] " \
	"ADDR"
#define CHAN_STAT_SYNOPSIS "[-J] ADDR"

bool cli_chan_object(const struct pshm_stat *st)
{
	char path[4096], buf[sizeof(PSHM_CHAN_MAGIC) - 1];

	if (st->kind != PSHM_POSIX || st->size <= PSHM_CHAN_HEADER_SIZE || st->address[0] != '/')
		return false;
	if ((size_t)snprintf(path, sizeof(path), "%s%s", pshm_shm_dir(), st->address) >=
	    sizeof(path))
		return false;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	return n == (ssize_t)sizeof(buf) && !memcmp(buf, PSHM_CHAN_MAGIC, sizeof(buf));
}

/*
 * Report a failure of OP on channel ADDR, naming the channel errors in words (the library's
 * errno texts, such as "Broken pipe", say little here). Returns EXIT_FAIL.
 */
int cli_chan_fail(const char *op, const char *addr, int err)
{
	const char *why = NULL;

	switch (err) {
	case -EBADMSG:
		why = "not a channel, or a damaged one";
		break;
	case PSHM_ETRUNCATED:
		why = "the channel's object was truncated (the channel is lost)";
		break;
	case -EAGAIN:
		/* Opening: the header never became valid in about 100 ms. */
		why = "not a channel (no channel header)";
		break;
	case -ENOENT:
		fprintf(stderr, "pshm: %s %s: %s\n", op, cli_safe(addr), pshm_strerror(err));
		if (strcmp(op, "chan create"))
			fprintf(stderr, "pshm: 'pshm chan create %s' makes it\n", cli_safe(addr));
		return EXIT_FAIL;
	case -EOPNOTSUPP:
		fprintf(stderr, "pshm: %s %s: %s\n", op, cli_safe(addr), pshm_strerror(err));
		fprintf(stderr, "pshm: channels live in POSIX objects (/NAME) and files "
		                "(file:PATH)\n");
		return EXIT_FAIL;
	default:
		return cli_fail(op, addr, err);
	}
	fprintf(stderr, "pshm: %s %s: %s\n", op, cli_safe(addr), why);
	return EXIT_FAIL;
}

int cli_chan_open(const char *op, const char *addr, int role, unsigned flags, struct pshm_chan **ch,
                  struct pshm_chan_stat *st)
{
	cli_warn_bare(addr);
	int r = pshm_chan_open(ch, addr, role, flags);
	if (r == -EBUSY) {
		/* A channel of many writers refuses one only when every writer slot is taken. */
		if (role == PSHM_CHAN_WRITER && pshm_chan_stat_addr(addr, st) == 0 &&
		    (st->mode & PSHM_CHAN_MANY_WRITERS))
			fprintf(stderr,
			        "pshm: %s %s: all %d writers the channel takes are attached\n", op,
			        cli_safe(addr), PSHM_CHAN_MAX_WRITERS);
		else
			fprintf(stderr, "pshm: %s %s: %s\n", op, cli_safe(addr),
			        role == PSHM_CHAN_WRITER
			            ? "another writer is attached"
			            : "another reader is attached (or, in broadcast mode, "
			              "every reader slot is taken)");
		return EXIT_FAIL;
	}
	if (r == -EAGAIN && role == PSHM_CHAN_WRITER && pshm_chan_stat_addr(addr, st) == 0 &&
	    (st->mode & PSHM_CHAN_MANY_WRITERS)) {
		/* The header is whole: another writer held up the attach. */
		fprintf(stderr, "pshm: %s %s: another writer stayed inside a claim for a second\n",
		        op, cli_safe(addr));
		fprintf(stderr, "pshm: a writer that is stopped (SIGSTOP) holds up new writers; "
		                "continue it, or try again\n");
		return EXIT_FAIL;
	}
	if (r < 0)
		return cli_chan_fail(op, addr, r);
	r = pshm_chan_stat_addr(addr, st);
	if (r < 0) {
		pshm_chan_close(*ch);
		return cli_chan_fail(op, addr, r);
	}
	return EXIT_OK;
}

/* ---- pshm chan create, pshm chan stat -------------------------------------------------------- */

static void chan_usage_lines(FILE *out)
{
	cli_help_usage(out, "chan", "create " CHAN_CREATE_SYNOPSIS "\nstat " CHAN_STAT_SYNOPSIS);
}

static int chan_help(void)
{
	chan_usage_lines(stdout);
	printf("\nCreate and describe message channels.\n");
	cli_help_options(NULL);
	printf("\nCommands:\n"
	       "  create   create a channel\n"
	       "  stat     describe a channel\n\n"
	       "A channel is a ring of messages in a POSIX object or a file, which pshm send\n"
	       "writes and pshm recv reads. 'pshm chan COMMAND --help' describes a command.\n");
	cli_help_end();
	return EXIT_OK;
}

static int chan_create(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"capacity", required_argument, NULL, 'c'},
	    {"broadcast", no_argument, NULL, 'b'},
	    {"lossless", no_argument, NULL, 'l'},
	    {"many-writers", no_argument, NULL, 'w'},
	    {"mode", required_argument, NULL, 'm'},
	    {"huge", optional_argument, NULL, 'H'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	uint64_t cap = 1024 * 1024;
	mode_t mode = 0600;
	unsigned flags = 0;
	int c;

	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!cli_size("chan create", "capacity", optarg, &cap))
				return EXIT_USAGE;
			if (cap > 1024 * 1024 * 1024)
				return cli_usage("chan create", "invalid capacity '%s': at most 1G",
				                 optarg);
			break;
		case 'b':
			flags |= PSHM_CHAN_BROADCAST;
			break;
		case 'l':
			flags |= PSHM_CHAN_LOSSLESS;
			break;
		case 'w':
			flags |= PSHM_CHAN_MANY_WRITERS;
			break;
		case 'm':
			if (!cli_mode("chan create", optarg, &mode))
				return EXIT_USAGE;
			break;
		case 'H':
			if (!huge_option("chan create", optarg, &flags))
				return EXIT_USAGE;
			break;
		case 'h':
			cli_help_usage(stdout, "chan create", CHAN_CREATE_SYNOPSIS);
			printf("\nCreate a message channel at ADDR (/NAME or file:PATH).\n");
			cli_help_options(
			    "      --capacity SIZE    ring size (default 1M), rounded up to a "
			    "power of two\n"
			    "                         of at least 4K; at most 1G\n"
			    "      --broadcast        every reader gets every message, and the "
			    "writer never\n"
			    "                         waits (default: one reader takes the "
			    "messages, and a\n"
			    "                         full channel makes the writer wait)\n"
			    "      --lossless         with --broadcast: the writer waits for the "
			    "slowest reader\n"
			    "                         rather than overwrite what it has not read\n"
			    "      --many-writers     up to 64 writers send at once, each one's "
			    "messages whole\n"
			    "                         and in its order; with --broadcast, a "
			    "writer waits only\n"
			    "                         for one still writing a message a ring "
			    "older; a lossless\n"
			    "                         channel has one writer\n"
			    "  -m, --mode MODE        permission bits, octal (default 600) or "
			    "symbolic on 600\n"
			    "                         (g+r: 640)\n" HUGE_HELP);
			cli_help_end();
			return EXIT_OK;
		default:
			return cli_bad_option("chan create", opts, argv);
		}
	}
	if (optind == argc)
		return cli_usage("chan create", "no channel named");
	if (argc - optind > 1)
		return cli_usage("chan create", "unexpected argument '%s'", argv[optind + 1]);
	if ((flags & PSHM_CHAN_LOSSLESS) && (flags & PSHM_CHAN_MANY_WRITERS))
		return cli_usage("chan create", "--lossless and --many-writers do not go together: "
		                                "a lossless broadcast channel has one writer");
	if ((flags & PSHM_CHAN_LOSSLESS) && !(flags & PSHM_CHAN_BROADCAST))
		return cli_usage("chan create",
		                 "--lossless is a mode of --broadcast (a queue loses nothing)");
	const char *addr = argv[optind];
	cli_warn_bare(addr);

	/* A signal that ends pshm_chan_create() leaves nothing (the channel is named only once it
	 * is complete), so signals keep their default action; but mode 0 takes a second step, and
	 * a signal between the two would leave the channel open to its owner: both are finished
	 * first. The library reads mode 0 as "the default"; here it means no access at all. */
	if (mode == 0)
		cli_catch_stops();
	int r = pshm_chan_create(addr, cap, mode ? mode : 0600, flags);
	if (r < 0) {
		cli_die_if_stopped();
		if (huge_explain("chan create", addr, flags, cap, r))
			return EXIT_FAIL;
		return cli_chan_fail("chan create", addr, r);
	}
	if (mode == 0) {
		struct pshm_seg *seg;
		r = pshm_open(&seg, addr, PSHM_RDONLY);
		if (r == 0) {
			r = pshm_chmod(seg, 0);
			pshm_close(seg);
		}
		if (r < 0)
			return cli_chan_fail("chan create", addr, r);
	}
	cli_die_if_stopped();
	return EXIT_OK;
}

static const char *writer_state(int32_t w)
{
	switch (w) {
	case PSHM_CHAN_WRITER_NONE:
		return "none";
	case PSHM_CHAN_WRITER_ATTACHED:
		return "attached";
	case PSHM_CHAN_WRITER_DETACHED:
		return "detached";
	case PSHM_CHAN_WRITER_DIED:
		return "died";
	case PSHM_CHAN_WRITER_ABORTED:
		return "aborted";
	default:
		return "unknown";
	}
}

static int chan_stat(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "Jh", opts, NULL)) != -1) {
		switch (c) {
		case 'J':
			json = true;
			break;
		case 'h':
			cli_help_usage(stdout, "chan stat", CHAN_STAT_SYNOPSIS);
			printf("\nDescribe a message channel without attaching to it.\n");
			cli_help_options(
			    "  -J, --json             JSON output (numbers as numbers)\n");
			cli_help_end();
			return EXIT_OK;
		default:
			return cli_bad_option("chan stat", opts, argv);
		}
	}
	if (optind == argc)
		return cli_usage("chan stat", "no channel named");
	if (argc - optind > 1)
		return cli_usage("chan stat", "unexpected argument '%s'", argv[optind + 1]);
	const char *addr = argv[optind];
	struct pshm_chan_stat st;
	cli_warn_bare(addr);
	int r = pshm_chan_stat_addr(addr, &st);
	if (r < 0)
		return cli_chan_fail("chan stat", addr, r);

	bool many = st.mode & PSHM_CHAN_MANY_WRITERS;
	const char *mode = !(st.mode & PSHM_CHAN_BROADCAST) ? many ? "queue-many-writers" : "queue"
	                   : many                           ? "broadcast-many-writers"
	                   : st.mode & PSHM_CHAN_LOSSLESS   ? "broadcast-lossless"
	                                                    : "broadcast";
	const struct {
		const char *key;
		uint64_t v;
	} nums[] = {
	    {"capacity", st.capacity}, {"used", st.used},         {"max_message", st.max_message},
	    {"sent", st.sent},         {"received", st.received}, {"bytes", st.bytes},
	    {"lost", st.lost},
	};
	if (json) {
		printf("{\n  \"address\": ");
		cli_json_string(addr);
		printf(",\n  \"mode\": \"%s\"", mode);
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
			printf(",\n  \"%s\": %llu", nums[i].key, (unsigned long long)nums[i].v);
		printf(",\n  \"writer\": \"%s\",\n  \"writers\": %d,\n  \"readers\": %d\n}\n",
		       writer_state(st.writer), st.writers, st.readers);
	} else {
		printf("address: %s\nmode: %s\n", cli_safe(addr), mode);
		for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
			printf("%s: %llu\n", nums[i].key, (unsigned long long)nums[i].v);
		printf("writer: %s\nwriters: %d\nreaders: %d\n", writer_state(st.writer),
		       st.writers, st.readers);
	}
	if (fflush(stdout) == EOF)
		return cli_fail_output("chan stat", addr, -errno);
	return EXIT_OK;
}

int cmd_chan(int argc, char **argv)
{
	if (argc < 2) {
		chan_usage_lines(stderr);
		fprintf(stderr, "Try 'pshm chan --help' for more information.\n");
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help"))
		return chan_help();
	int (*run)(int, char **) = !strcmp(sub, "create") ? chan_create
	                           : !strcmp(sub, "stat") ? chan_stat
	                                                  : NULL;
	if (!run)
		return cli_unknown("pshm chan", sub, (const char *const[]){"create", "stat", NULL});
	/* getopt names argv[0] in its messages: "pshm chan create: unrecognized option". */
	char prog[32];
	snprintf(prog, sizeof(prog), "pshm chan %s", sub);
	argv[1] = prog;
	return run(argc - 1, argv + 1);
}
