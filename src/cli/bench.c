/*
 * bench.c - `pshm bench`: the comparison of the techniques is a program of its own,
 * pshm-bench(1), and this runs it in the command's place with the same arguments.
 *
 * pshm-bench is looked for beside the running pshm first (the directory of /proc/self/exe), so
 * that a build tree or an installation uses its own, then in PATH. It replaces this process
 * (execv), so its exit status, its signals and its process ID are those of `pshm bench`.
 * argv[0] stays "pshm bench": pshm-bench names itself so in its messages and --help.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#define BENCH_PROG "pshm-bench"

/* "DIR/pshm-bench" for the directory of this executable in BUF, or false. */
static bool beside_self(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	int w = snprintf(buf, len, "%s/%s", self, BENCH_PROG);
	return w > 0 && (size_t)w < len;
}

int cmd_bench(int argc, char **argv)
{
	char path[PATH_MAX];
	int err = ENOENT;

	(void)argc;
	if (beside_self(path, sizeof(path))) {
		execv(path, argv);
		err = errno;
	}
	/* Only a missing program sends the search on; one that is there but fails is reported. */
	if (err == ENOENT) {
		execvp(BENCH_PROG, argv);
		err = errno;
	}
	if (err == ENOENT)
		fprintf(stderr,
		        "pshm bench: cannot find %s: not at %s, nor in PATH (it is built and "
		        "installed with pshm, beside it)\n",
		        BENCH_PROG, beside_self(path, sizeof(path)) ? path : "pshm's side");
	else
		fprintf(stderr, "pshm bench: cannot run %s: %s\n", BENCH_PROG, strerror(err));
	return EXIT_FAIL;
}
