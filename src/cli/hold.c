/*
 * hold.c - pshm hold: open (or create) objects, with leases and mappings if asked, run a command
 * while holding them, and let go of them when it ends.
 *
 * The handles live in this process, never in the command: the library opens everything
 * close-on-exec, so the command starts with none of their descriptors, and a System V attachment
 * or a mapping does not survive its exec. What the command sees is the objects themselves, kept
 * in being (a lease) and in use (a mapping, a descriptor) for as long as it runs. If this process
 * is killed outright, the kernel lets go of its leases as it does of any lock.
 */
#include "cli.h"
#include "huge.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct holdopts {
	bool lease;
	bool map;
	bool create;
	bool create_opts; /* -s, -m or --huge given: they go with --create */
	unsigned huge;    /* --huge: PSHM_HUGE and its size bits */
	uint64_t size;
	mode_t mode;
};

/* The command, once started; the stop signals sent to pshm hold go to it. */
static volatile pid_t held_child;

static void forward(int sig, siginfo_t *si, void *ctx)
{
	int e = errno;
	(void)ctx;
	/* The terminal signals (^C, a hang-up) its whole foreground process group: a command
	 * still in ours has had this one already, and must not get it twice. */
	if (!(si->si_code == SI_KERNEL && getpgid(held_child) == getpgrp()))
		kill(held_child, sig);
	errno = e;
}

/*
 * Print the address of a new object that has no other name: a private System V segment, one
 * whose key a lease gave up (sysv:id=N), or a memfd (memfd:PID:FD, through this process). 0 or
 * -errno.
 */
static int show_address(const char *addr, struct pshm_seg *seg)
{
	const char *have = pshm_address(seg);
	bool nameless = pshm_kind(seg) == PSHM_MEMFD ||
	                (pshm_kind(seg) == PSHM_SYSV && !strncmp(have, "sysv:id=", 8));
	struct sigaction ign, old;

	if (!nameless || !strcmp(addr, have))
		return 0;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	/* A reader that went away is a failure to report, not a death that leaks the object. */
	sigaction(SIGPIPE, &ign, &old);
	errno = 0;
	int r = printf("%s\n", have) < 0 || fflush(stdout) ? (errno ? -errno : -EIO) : 0;
	/* The caller tells of a failure: the check at exit is not to tell it again. */
	if (r)
		clearerr(stdout);
	sigaction(SIGPIPE, &old, NULL);
	return r;
}

/* Create or open ADDR as O asks, read-write where allowed, else read-only, and map it. */
static int open_one(const char *addr, const struct holdopts *o, struct pshm_seg **segp)
{
	unsigned flags = o->lease ? PSHM_LEASE : 0;
	void *p;
	size_t len;
	int r;

	*segp = NULL;
	if (o->create) {
		/* The library reads mode 0 as "the default"; here, as in create, it is none. */
		r = pshm_create(segp, addr, o->size, o->mode ? o->mode : 0600, flags | o->huge);
		if (r == 0 && o->mode == 0)
			r = pshm_chmod(*segp, 0);
	} else {
		r = pshm_open(segp, addr, flags);
		/* A lease or a read-only mapping needs only read permission. */
		if (r == -EACCES || r == -EPERM || r == -EROFS)
			r = pshm_open(segp, addr, flags | PSHM_RDONLY);
	}
	if (r == 0 && o->map && !cli_stopped())
		r = pshm_map(*segp, 0, &p, &len);
	if (r == 0 && o->create && !cli_stopped())
		r = show_address(addr, *segp);
	return r;
}

/* Let go of the first N handles, removing first the objects they created when UNDO. Returns
 * the index of the first whose release failed, or -1. */
static int release(struct pshm_seg **segs, int n, bool undo, char **addrs)
{
	int failed = -1;
	for (int i = 0; i < n; i++) {
		if (!segs[i])
			continue;
		if (undo && pshm_created(segs[i]))
			pshm_destroy(segs[i]);
		int r = pshm_close(segs[i]);
		if (r < 0) {
			cli_fail("hold", addrs[i], r);
			if (failed < 0)
				failed = i;
		}
	}
	return failed;
}

/* Start ARGV[0] with the stop signals back to their defaults and the mask OLD; pid or -errno. */
static pid_t start(char **argv, const sigset_t *stops, const sigset_t *old)
{
	posix_spawnattr_t attr;
	pid_t pid;
	int r = posix_spawnattr_init(&attr);
	if (r)
		return -r;
	r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, stops);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, old);
	if (!r)
		r = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	return r ? -r : pid;
}

/*
 * Run the command, passing on the stop signals that come meanwhile, and set *CODE to its exit
 * status as a shell gives it (128+N for signal N; 127 or 126 when it could not be started,
 * which is said here). Returns 0, or -1 when a stop signal came before it could start.
 */
static int run(char **cmd, int *code)
{
	sigset_t stops, old;
	struct sigaction sa;
	siginfo_t info;
	int status = 0;

	cli_stop_set(&stops);
	sigprocmask(SIG_BLOCK, &stops, &old);
	if (cli_stopped()) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	pid_t pid = start(cmd, &stops, &old);
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		fprintf(stderr, "pshm: hold %s: %s\n", cli_safe(cmd[0]), pshm_strerror(pid));
		*code = pid == -ENOENT ? 127 : 126;
		return 0;
	}
	held_child = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&stops, sig) == 1)
			sigaction(sig, &sa, NULL);
	/* Signals that came since the block are passed on now. */
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Wait without reaping, then block the signals: until the command is reaped its PID
	 * cannot go to another process, which a late signal would otherwise reach. */
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	sigprocmask(SIG_BLOCK, &stops, NULL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

static int hold_help(void)
{
	return cli_help(
	    "hold", "      --lease            hold a lease on each object: a leased object goes\n"
	            "                         when its last holder does\n"
	            "      --map              map each object too (read-only if it can only be "
	            "read)\n"
	            "      --create           create the objects, leased with --lease\n"
	            "  -s, --size SIZE        --create: size in bytes (default 0)\n"
	            "  -m, --mode MODE        --create: permission bits, octal (default 600) or\n"
	            "                         symbolic on 600 (g+r: 640)\n"
	            "      --huge[=SIZE]      --create: back them with huge pages (default size:\n"
	            "                         the system's), sizes rounded up to whole pages\n"
	            "  The exit status is COMMAND's, or 128+N when signal N ended it.\n");
}

/* Parse the options among ARGV[1..ARGC), the words before "--", into O: -1 to go on, or the
 * exit status. */
static int parse(int argc, char **argv, struct holdopts *o)
{
	static const struct option opts[] = {
	    {"lease", no_argument, NULL, 'L'},
	    {"map", no_argument, NULL, 'M'},
	    {"create", no_argument, NULL, 'c'},
	    {"size", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},
	    {"huge", optional_argument, NULL, 'H'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'L':
			o->lease = true;
			break;
		case 'M':
			o->map = true;
			break;
		case 'c':
			o->create = true;
			break;
		case 's':
			if (!cli_size("hold", "size", optarg, &o->size))
				return EXIT_USAGE;
			o->create_opts = true;
			break;
		case 'm':
			if (!cli_mode("hold", optarg, &o->mode))
				return EXIT_USAGE;
			o->create_opts = true;
			break;
		case 'H':
			if (!huge_option("hold", optarg, &o->huge))
				return EXIT_USAGE;
			o->create_opts = true;
			break;
		case 'h':
			return hold_help();
		default:
			return cli_bad_option("hold", opts, argv);
		}
	}
	if (o->create_opts && !o->create)
		return cli_usage("hold",
		                 "-s, -m and --huge are for objects it creates: add --create");
	return -1;
}

int cmd_hold(int argc, char **argv)
{
	struct holdopts o = {.mode = 0600};
	int dd = 1;

	while (dd < argc && strcmp(argv[dd], "--"))
		dd++;
	/* Options and objects come before "--", the command after it. */
	int r = parse(dd, argv, &o);
	if (r >= 0)
		return r;
	int naddr = dd - optind;
	char **addrs = argv + optind;
	if (dd == argc)
		return cli_usage("hold", "no command: give it after '--', as in "
		                         "pshm hold /NAME -- COMMAND");
	if (dd + 1 == argc)
		return cli_usage("hold", "no command after '--'");
	if (naddr == 0)
		return cli_usage("hold", "no object named");

	struct pshm_seg **segs = calloc((size_t)naddr, sizeof(*segs));
	if (!segs)
		return cli_fail("hold", addrs[0], -ENOMEM);
	cli_catch_stops();
	int code = EXIT_FAIL;
	for (int i = 0; i < naddr; i++) {
		cli_warn_bare(addrs[i]);
		r = open_one(addrs[i], &o, &segs[i]);
		if (r < 0 || cli_stopped()) {
			/* Nothing runs: what was made is removed, what was opened let go. */
			if (r < 0 && !huge_explain("hold", addrs[i], o.huge, o.size, r))
				cli_fail("hold", addrs[i], r);
			release(segs, i + 1, true, addrs);
			free(segs);
			cli_die_if_stopped();
			return EXIT_FAIL;
		}
	}
	if (run(argv + dd + 1, &code) < 0) {
		release(segs, naddr, true, addrs);
		free(segs);
		cli_die_if_stopped();
		return EXIT_FAIL;
	}
	/* Let go: the last lease on a leased object removes it. */
	if (release(segs, naddr, false, addrs) >= 0 && code == 0)
		code = EXIT_FAIL;
	free(segs);
	return code;
}
