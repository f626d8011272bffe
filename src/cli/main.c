/*
 * main.c - the pshm command: global options and the table of subcommands.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct cmd cli_cmds[] = {
    {"create", cmd_create,
     "[-s SIZE] [-m MODE] [--existing-ok] [--sparse] [--populate] [--huge[=SIZE]] ADDR...",
     "create shared memory objects"},
    {"write", cmd_write, "[-o OFFSET] [-k] [-i] ADDR [DATA]",
     "write DATA, or standard input, into an object"},
    {"read", cmd_read, "[-o OFFSET] [-n LENGTH] ADDR", "copy an object's bytes to standard output"},
    {"dump", cmd_dump, "[-o OFFSET] [-n LENGTH] ADDR", "show an object's bytes in hex and ASCII"},
    {"ls", cmd_ls,
     "[-J] [-o COLUMNS] [-r] [-b] [-n] [--time-format FORMAT] [--newline] [-k KINDS] [-a] "
     "[--orphans] [ADDR|PATTERN...]",
     "list shared memory objects"},
    {"stat", cmd_stat, "[-J] [-b] [-o NAMES] [--time-format FORMAT] ADDR...",
     "describe objects in detail"},
    {"who", cmd_who, "[-J] [-o COLUMNS] [-r] [-n] [--time-format FORMAT] [--newline] ADDR...",
     "show the processes that map or hold objects"},
    {"df", cmd_df, "[-J] [-o COLUMNS] [-r] [-b] [-n]",
     "show what uses the shared memory, and who holds what has no name"},
    {"chmod", cmd_chmod, "MODE ADDR...", "change objects' permission bits"},
    {"chown", cmd_chown, "OWNER[:GROUP] ADDR...", "change objects' owner and group"},
    {"resize", cmd_resize, "[--sparse] [+|-]SIZE ADDR...", "change objects' sizes"},
    {"rm", cmd_rm, "[-f] [-v] ADDR|PATTERN...", "remove objects"},
    {"gc", cmd_gc,
     "[-n] [-k KINDS] [--unleased [--older-than DURATION]] [-J] [-b] [-r] [--noheadings] [-v] "
     "[FILE-ADDR...]",
     "remove shared memory that nobody can use any more"},
    {"hold", cmd_hold,
     "[--lease] [--map] [--create [-s SIZE] [-m MODE] [--huge[=SIZE]]] ADDR... -- COMMAND "
     "[ARG...]",
     "hold objects (leases, mappings) while a command runs"},
    {"chan", cmd_chan, "create|stat [OPTIONS] ADDR", "create and describe message channels"},
    {"send", cmd_send, "[--records] ADDR [MESSAGE...]",
     "send messages, or lines of standard input, into a channel"},
    {"recv", cmd_recv, "[-n COUNT] [--timeout T] [--records] [--from-oldest] [-f] ADDR",
     "print the messages a channel brings"},
    /* pshm-bench(1) runs in its place and has its own --help. */
    {"bench", cmd_bench, "[OPTION...]",
     "measure the techniques against each other on this machine"},
    {"help", cmd_help, "[COMMAND]", "show the help of pshm or of a command"},
    {NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage:\n pshm [-h | -V]\n pshm COMMAND [ARGS...]\n\n"
	             "Create, fill, read, inspect, list and remove shared memory objects.\n"
	             "\nOptions:\n"
	             "  -h, --help     show this help (pshm COMMAND --help for a command's)\n"
	             "  -V, --version  show the version\n\nCommands:\n");
	for (const struct cmd *c = cli_cmds; c->name; c++)
		fprintf(out, "  %-8s %s\n", c->name, c->summary);
	fprintf(
	    out,
	    "\nAddresses of POSIX objects, System V segments, file mappings and memfds:\n"
	    "  /NAME, posix:/NAME     POSIX shared memory object (in %s)\n"
	    "  sysv:KEY, sysv:id=N    System V segment (KEY decimal or 0x hex; sysv:0 = private)\n"
	    "  file:PATH              shared mapping of a regular file\n"
	    "  memfd:PID:FD           a process's memfd (memfd: alone makes a new one)\n"
	    "  sem:/NAME              POSIX named semaphore (stat, ls, rm)\n"
	    "\nSizes: 4096, 4K or 4KiB (1024s), 4KB (1000s), 1.5M, 2G, 1T; any case (10mb, 4kib);\n"
	    "       0x1000 (hexadecimal bytes, no unit).\n"
	    "\nExit status: 0 success, 1 failure, 2 usage error.\n"
	    "\nFor more details see pshm(1).\n",
	    pshm_shm_dir());
}

/* pshm help [COMMAND]: the general help, or COMMAND's, as COMMAND --help shows it. */
int cmd_help(int argc, char **argv)
{
	static const struct option opts[] = {CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option("help", opts, argv);
		return cli_help("help", NULL);
	}
	if (optind == argc) {
		usage(stdout);
		return EXIT_OK;
	}
	const char *name = argv[optind];
	const struct cmd *cmd = cli_cmds;
	while (cmd->name && strcmp(cmd->name, name))
		cmd++;
	if (!cmd->name)
		return cli_unknown("pshm", name, NULL);
	/* chan alone has commands of its own: "help chan create" is "chan create --help". */
	int words = !strcmp(name, "chan") && argc - optind > 1 ? 2 : 1;
	if (argc - optind > words)
		return cli_usage("help", "unexpected argument '%s'", argv[optind + words]);
	char prog[32];
	snprintf(prog, sizeof(prog), "pshm %s", name);
	char help[] = "--help";
	char *args[4] = {prog, argv[optind + 1], NULL, NULL};
	args[words] = help;
	optind = 0; /* the command parses its arguments afresh */
	return cmd->run(words + 1, args);
}

/*
 * Put /dev/null on whichever of descriptors 0, 1 and 2 is closed, before anything is opened:
 * otherwise an object would take that number, and pshm would read its input from the object, or
 * write its output or messages into it. Standard input gets it write-only and standard output
 * read-only, so that using them fails with EBADF as a closed descriptor would; standard error
 * gets it writable, and messages are lost as they would have been.
 */
static bool std_fds_ready(void)
{
	static const int flags[3] = {O_WRONLY, O_RDONLY, O_WRONLY};

	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int got = open("/dev/null", flags[fd]);
		if (got != fd) {
			if (got >= 0)
				close(got);
			return false;
		}
	}
	return true;
}

int main(int argc, char **argv)
{
	if (!std_fds_ready()) {
		/* Only possible when /dev/null cannot be opened; stderr may be what is missing. */
		fprintf(stderr, "pshm: cannot open /dev/null for a closed standard descriptor\n");
		return EXIT_FAIL;
	}
	/* Whatever a command prints, and however it ends, output that was lost fails it. */
	atexit(cli_close_stdout);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		printf("pshm %s\n", pshm_version());
		return EXIT_OK;
	}
	for (const struct cmd *c = cli_cmds; c->name; c++) {
		if (strcmp(c->name, name))
			continue;
		/* getopt names argv[0] in its messages: "pshm create: unrecognized option". */
		char prog[32];
		snprintf(prog, sizeof(prog), "pshm %s", c->name);
		argv[1] = prog;
		return c->run(argc - 1, argv + 1);
	}
	return cli_unknown("pshm", name, NULL);
}
