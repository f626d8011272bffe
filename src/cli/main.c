/*
 * main.c - the pshm command: global options and the table of subcommands.
 */
#include "cli.h"

#include <string.h>

const struct cmd cli_cmds[] = {
    {"create", cmd_create, "[-s SIZE] [-m MODE] [--existing-ok] [--sparse] [--populate] ADDR...",
     "create shared memory objects"},
    {"write", cmd_write, "[-o OFFSET] [-k] [-i] ADDR [DATA]",
     "write DATA, or standard input, into an object"},
    {"read", cmd_read, "[-o OFFSET] [-n LENGTH] ADDR", "copy an object's bytes to standard output"},
    {"dump", cmd_dump, "[-o OFFSET] [-n LENGTH] ADDR", "show an object's bytes in hex and ASCII"},
    {"ls", cmd_ls, "[-J] [-o COLUMNS] [-r] [-b] [-n] [-k KINDS] [-a]",
     "list shared memory objects"},
    {"stat", cmd_stat, "[-J] [-b] ADDR...", "describe objects in detail"},
    {"who", cmd_who, "[-J] [-n] ADDR...", "show the processes that map or hold objects"},
    {"chmod", cmd_chmod, "MODE ADDR...", "change objects' permission bits"},
    {"chown", cmd_chown, "OWNER[:GROUP] ADDR...", "change objects' owner and group"},
    {"resize", cmd_resize, "[--sparse] [+|-]SIZE ADDR...", "change objects' sizes"},
    {"rm", cmd_rm, "[-f] ADDR...", "remove objects"},
    {"chan", cmd_chan, "create|stat [OPTIONS] ADDR", "create and describe message channels"},
    {"send", cmd_send, "[--records] ADDR [MESSAGE...]",
     "send messages, or lines of standard input, into a channel"},
    {"recv", cmd_recv, "[-n COUNT] [--timeout T] [--records] ADDR",
     "print the messages a channel brings"},
    {"bench", cmd_bench,
     "[--quick] [-J | --csv] [-d DIR] [-k KINDS] [-s SIZES] [--region SIZE] [-r N] "
     "[--sections LIST]",
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

int main(int argc, char **argv)
{
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
