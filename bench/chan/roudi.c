/*
 * roudi.c - the broker bench_chan's iceoryx transports need: iox-roudi, started for the run
 * with memory pools of its own when none is running, found ready by a process that registers
 * with it, and stopped after the run, what it leaves behind when it dies removed. It makes no
 * call of iceoryx's own: the caller's probe registers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "roudi.h"
#include "transport.h"

#define BROKER_WAIT_MS 20000 /* iox-roudi's start, or its stop, for at most this long */

static const char *broker;     /* NULL: not tried yet; "": ready; else why iceoryx is not */
static const char *broker_how; /* how it was had, for the report */
static pid_t roudi = -1;       /* the iox-roudi this program started */
static int roudi_log = -1;     /* its output, an anonymous file */
static char broker_why[256];

const char *iceoryx_broker(void)
{
	return broker_how;
}

/* Whether a broker listens on its socket: one that another user or program started. */
static bool broker_listening(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%sroudi", IOX_SOCKET_DIR);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return up;
}

/* The last line iox-roudi wrote, without its colours, into BUF. */
static void roudi_last_line(char *buf, size_t len)
{
	char tail[512];
	off_t end = lseek(roudi_log, 0, SEEK_END);
	off_t from = end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0;
	ssize_t n = pread(roudi_log, tail, sizeof(tail) - 1, from);
	buf[0] = '\0';
	if (n <= 0)
		return;
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
		n--;
	tail[n] = '\0';
	char *line = strrchr(tail, '\n');
	line = line ? line + 1 : tail;
	size_t o = 0;
	for (const char *p = line; *p && o + 1 < len; p++) {
		if (*p == '\033') { /* an escape sequence: up to its final letter */
			while (p[1] && !(p[1] >= '@' && p[1] <= '~' && p[1] != '['))
				p++;
			if (p[1])
				p++;
			continue;
		}
		/* Kept to what the report may print in a JSON string as it is. */
		buf[o++] = *p == '"' || *p == '\\' || (unsigned char)*p < ' ' ? '\'' : *p;
	}
	buf[o] = '\0';
}

/*
 * Remove what the iox-roudi this program started made, when it ended without doing so itself:
 * iceoryx 2.0's broker aborts as it stops if a process it still counts as registered has died
 * (killed before it could deregister, and not yet found out by the broker's monitoring, which
 * takes 1.5 s). Only what it said it made, once it had served: its sockets and locks, and the
 * shared memory of each "Reserving N bytes in the shared memory [NAME]" that succeeded.
 */
static void roudi_leftovers(void)
{
	static char log[16384];
	ssize_t n = pread(roudi_log, log, sizeof(log) - 1, 0);
	if (n <= 0)
		return;
	log[n] = '\0';
	if (!strstr(log, "RouDi is ready for clients"))
		return;
	char name[128], path[160];
	const char *mark = "in the shared memory [";
	for (const char *p = strstr(log, mark); p; p = strstr(p + 1, mark)) {
		const char *next = strchr(p, '\n');
		if (sscanf(p + strlen(mark), "%127[^]/\n]]", name) != 1 || !next ||
		    strncmp(next + 1, "[ Reserving shared memory successful ]", 38) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", name);
		unlink(path);
	}
	unlink(IOX_SOCKET_DIR "roudi");
	unlink(IOX_SOCKET_DIR "roudi.lock");
	unlink(IOX_SOCKET_DIR "iox-unique-roudi.lock");
}

/*
 * The broker's memory pools, whatever /etc/iceoryx/roudi_config.toml says: chunks for every
 * message size measured (the size is a chunk's payload), enough of each for the largest queues
 * of a run's processes: 43 MB of shared memory rather than the built-in configuration's 149
 * (and the 67 MB of the broker's own, either way).
 */
static const char roudi_config[] = "[general]\nversion = 1\n\n[[segment]]\n\n"
                                   "[[segment.mempool]]\nsize = 128\ncount = 8192\n\n"
                                   "[[segment.mempool]]\nsize = 1024\ncount = 2048\n\n"
                                   "[[segment.mempool]]\nsize = 65536\ncount = 600\n";

/* An anonymous file holding the broker's configuration, or -errno. */
static int roudi_config_file(void)
{
	int fd = memfd_create("roudi_config.toml", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, roudi_config, sizeof(roudi_config) - 1) != sizeof(roudi_config) - 1) {
		int e = errno ? -errno : -EIO;
		close(fd);
		return e;
	}
	return fd;
}

/* Start iox-roudi in a process group of its own, its output to ROUDI_LOG; 0 or -errno. */
static int roudi_start(void)
{
	roudi_log = memfd_create("iox-roudi", MFD_CLOEXEC);
	if (roudi_log < 0)
		return -errno;
	int cfg = roudi_config_file();
	if (cfg < 0)
		return cfg;
	pid_t parent = getpid();
	fflush(NULL);
	roudi = fork();
	if (roudi < 0 || roudi > 0) {
		int e = roudi < 0 ? -errno : 0;
		close(cfg);
		return e;
	}
	/* Out of the terminal's reach (bench_chan stops it), and gone when bench_chan is. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	/* On any CPU, as a broker runs, rather than on the measuring process's. */
	cpu_set_t all;
	CPU_ZERO(&all);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof(all), &all);
	char cfg_path[64];
	snprintf(cfg_path, sizeof(cfg_path), "/proc/self/fd/%d", cfg);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(roudi_log, 1) < 0 || dup2(roudi_log, 2) < 0 ||
	    fcntl(cfg, F_SETFD, 0) < 0)
		_exit(126);
	/* Its messages at "info" name the shared memory it makes (see roudi_leftovers). */
	execlp("iox-roudi", "iox-roudi", "--log-level", "info", "--config-file", cfg_path,
	       (char *)NULL);
	dprintf(2, "cannot run iox-roudi: %s\n", strerror(errno));
	_exit(127);
}

static int pidfd(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void probe_name(pid_t pid, char *buf, size_t len)
{
	snprintf(buf, len, "pshm-bench-chan-probe-%ld", (long)pid);
}

/* A process that registers with the broker and leaves: it ends once the broker serves. */
static pid_t probe_start(void (*probe)(const char *name))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		char name[64];
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		probe_name(getpid(), name, sizeof(name));
		probe(name);
		exit(0); /* iceoryx deregisters at exit */
	}
	return pid;
}

/*
 * Wait until the probe has registered with the broker, or the broker we started has ended, or
 * the time is up: the reason iceoryx cannot be measured, or "".
 */
static const char *probe_wait(pid_t probe)
{
	struct pollfd p[2] = {{.fd = pidfd(probe), .events = POLLIN},
	                      {.fd = roudi > 0 ? pidfd(roudi) : -1, .events = POLLIN}};
	const char *why = "";
	uint64_t end = now_ns() + BROKER_WAIT_MS * 1000000ull;
	int st = 0;
	for (;;) {
		if (p[0].fd < 0) {
			why = "unavailable: pidfd_open failed";
			break;
		}
		if (waitpid(probe, &st, WNOHANG) == probe) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				why = "unavailable: iceoryx's runtime could not register with "
				      "iox-roudi";
			probe = -1;
			break;
		}
		if (roudi > 0 && waitpid(roudi, &st, WNOHANG) == roudi) {
			char line[160];
			roudi_last_line(line, sizeof(line));
			snprintf(broker_why, sizeof(broker_why),
			         "unavailable: iox-roudi exited: %s",
			         line[0] ? line : "no message");
			why = WIFEXITED(st) && WEXITSTATUS(st) == 127
			          ? "unavailable: iox-roudi not found (apt-get install iceoryx)"
			          : broker_why;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				roudi_leftovers();
			roudi = -1;
			break;
		}
		uint64_t now = now_ns();
		if (stop_signal || now >= end) {
			why = stop_signal ? "unavailable: interrupted"
			                  : "unavailable: iox-roudi was not ready within 20 s";
			break;
		}
		poll(p, 2, (int)((end - now) / 1000000 + 1));
	}
	if (probe > 0) {
		char name[64], path[96];
		kill(probe, SIGKILL);
		waitpid(probe, NULL, 0);
		/* Its socket and lock, made before it waited for the broker. */
		probe_name(probe, name, sizeof(name));
		snprintf(path, sizeof(path), "%s%s", IOX_SOCKET_DIR, name);
		unlink(path);
		snprintf(path, sizeof(path), "%s%s.lock", IOX_SOCKET_DIR, name);
		unlink(path);
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return why;
}

/* Stop the iox-roudi this program started, and wait for it to clean up. */
void broker_stop(void)
{
	int st = 0;
	if (roudi <= 0) {
		if (roudi_log >= 0)
			close(roudi_log);
		roudi_log = -1;
		return;
	}
	kill(roudi, SIGTERM);
	struct pollfd p = {.fd = pidfd(roudi), .events = POLLIN};
	if (p.fd >= 0) {
		while (poll(&p, 1, BROKER_WAIT_MS) < 0 && errno == EINTR)
			;
		close(p.fd);
	}
	if (waitpid(roudi, &st, WNOHANG) != roudi) {
		fprintf(stderr, "bench_chan: iox-roudi did not stop: killing it\n");
		kill(roudi, SIGKILL);
		waitpid(roudi, &st, 0);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		roudi_leftovers();
	roudi = -1;
	close(roudi_log);
	roudi_log = -1;
}

/* The broker, the first time iceoryx is measured: the reason it cannot be, or "". */
const char *broker_ready(void (*probe)(const char *name))
{
	if (broker)
		return broker;
	if (broker_listening()) {
		broker_how = "used the iox-roudi already running, and left it running";
	} else {
		int r = roudi_start();
		if (r) {
			snprintf(broker_why, sizeof(broker_why),
			         "unavailable: cannot start iox-roudi: %s", strerror(-r));
			broker_stop();
			return broker = broker_why;
		}
		broker_how = "started iox-roudi for the run and stopped it after";
	}
	pid_t pid = probe_start(probe);
	broker = pid < 0 ? "unavailable: fork failed" : probe_wait(pid);
	if (*broker) {
		broker_how = NULL;
		broker_stop();
	}
	return broker;
}
