/*
 * main.c - the pshm command: global options and the table of subcommands.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct cmd cli_cmds[] = {
    {"create", cmd_create, "[-s SIZE] [-m MODE] [--existing-ok] [--sparse] [--populate] ADDR...",
     "create shared memory objects"},
    {"write", cmd_write, "[-o OFFSET] [-k] [-i] ADDR [DATA]",
     "write DATA, or standard input, into an object"},
    {"read", cmd_read, "[-o OFFSET] [-n LENGTH] ADDR", "copy an object's bytes to standard output"},
    {"dump", cmd_dump, "[-o OFFSET] [-n LENGTH] ADDR", "show an object's bytes in hex and ASCII"},
    {"ls", cmd_ls,
     "[-J] [-o COLUMNS] [-r] [-b] [-n] [--time-format FORMAT] [--newline] [-k KINDS] [-a] "
     "[--orphans]",
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
    {"rm", cmd_rm, "[-f] ADDR...", "remove objects"},
    {"gc", cmd_gc,
     "[-n] [-k KINDS] [--unleased [--older-than DURATION]] [-J] [-b] [-r] [--noheadings] [-v] "
     "[FILE-ADDR...]",
     "remove shared memory that nobody can use any more"},
    {"hold", cmd_hold,
     "[--lease] [--map] [--create [-s SIZE] [-m MODE]] ADDR... -- COMMAND [ARG...]",
     "hold objects (leases, mappings) while a command runs"},
    {"chan", cmd_chan, "create|stat [OPTIONS] ADDR", "create and describe message channels"},
    {"send", cmd_send, "[--records] ADDR [MESSAGE...]",
     "send messages, or lines of standard input, into a channel"},
    {"recv", cmd_recv, "[-n COUNT] [--timeout T] [--records] [--from-oldest] [-f] ADDR",
     "print the messages a channel brings"},
    /* pshm-bench(1) runs in its place and has its own --help. */
    {"bench", cmd_bench, "[OPTION...]",
     "measure the techniques against each other on this machine"},
    {NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: pshm [-h | -V] COMMAND [ARGS...]\n\n"
	             "Create, fill, read, inspect, list and remove shared memory objects:\n"
	             "POSIX objects, System V segments, file mappings and memfds.\n\nCommands:\n");
	for (const struct cmd *c = cli_cmds; c->name; c++)
		fprintf(out, "  %-8s %s\n", c->name, c->summary);
	fprintf(
	    out,
	    "\nAddresses:\n"
	    "  /NAME, posix:/NAME     POSIX shared memory object (in %s)\n"
	    "  sysv:KEY, sysv:id=N    System V segment (KEY decimal or 0x hex; sysv:0 = private)\n"
	    "  file:PATH              shared mapping of a regular file\n"
	    "  memfd:PID:FD           a process's memfd (memfd: alone makes a new one)\n"
	    "  sem:/NAME              POSIX named semaphore (stat, ls, rm)\n"
	    "\nSizes: 4096, 4K or 4KiB (1024s), 4KB (1000s), 1.5M, 2G, 1T.\n"
	    "\nOptions:\n"
	    "  -h, --help     show this help (pshm COMMAND --help for a command's)\n"
	    "  -V, --version  show the version\n"
	    "\nExit status: 0 success, 1 failure, 2 usage error.\n",
	    pshm_shm_dir());
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
	if (name[0] == '-')
		fprintf(stderr, "pshm: unknown option '%s'\n", name);
	else
		fprintf(stderr, "pshm: unknown command '%s'\n", name);
	fprintf(stderr, "Try 'pshm --help' for more information.\n");
	return EXIT_USAGE;
}
