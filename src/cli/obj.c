/*
 * obj.c - the subcommands that make, change and remove objects: create, chmod, chown, resize,
 * rm. Each applies to every operand, reports every failure, and exits 1 if any failed.
 */
#include "cli.h"
#include "huge.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Refuse "memfd:" where a command would make one that dies with it. */
static bool transient_memfd(const char *cmd, const char *addr)
{
	if (strcmp(addr, "memfd:"))
		return false;
	fprintf(stderr,
	        "pshm: %s %s: a new memfd lives only while a process holds it, and this one would "
	        "vanish when pshm exits; create it in the program that uses it\n",
	        cmd, addr);
	return true;
}

/*
 * Take back what create_one made of ADDR: remove the object if this command created it (one
 * that existed before stays), close it, then die of a stop signal if one came, or report ERR
 * (none when 0, the failure being told already). Returns EXIT_FAIL.
 */
static int create_undo(struct pshm_seg *seg, const char *addr, int err)
{
	if (pshm_created(seg))
		pshm_destroy(seg);
	pshm_close(seg);
	cli_die_if_stopped();
	return err ? cli_fail("create", addr, err) : EXIT_FAIL;
}

/* Print ID, a new private segment's only name, and see that it got out: 0 or -errno. */
static int show_id(const char *id)
{
	struct sigaction ign, old;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	/* A reader that went away is a failure to report, not a death that leaks the segment. */
	sigaction(SIGPIPE, &ign, &old);
	errno = 0;
	int r = printf("%s\n", id) < 0 || fflush(stdout) ? (errno ? -errno : -EIO) : 0;
	if (r)
		clearerr(stdout); /* told here: the check at exit is not to tell it again */
	sigaction(SIGPIPE, &old, NULL);
	return r;
}

/*
 * Create ADDR. Stop signals are caught meanwhile (cli_catch_stops): one that comes before the
 * object is complete removes it again and then ends the command, so an interrupted create
 * leaves nothing half made.
 */
static int create_one(const char *addr, uint64_t size, mode_t mode, unsigned flags, bool populate)
{
	struct pshm_seg *seg;
	void *p;
	size_t len;

	if (transient_memfd("create", addr))
		return EXIT_FAIL;
	/* The library reads mode 0 as "the default"; here it means no access at all. */
	int r = pshm_create(&seg, addr, size, mode ? mode : 0600, flags);
	if (r < 0) {
		cli_die_if_stopped();
		return huge_explain("create", addr, flags, size, r) ? EXIT_FAIL
		                                                    : cli_fail("create", addr, r);
	}
	if (mode == 0 && pshm_created(seg) && !cli_stopped())
		r = pshm_chmod(seg, 0);
	if (populate && !r && !cli_stopped())
		r = pshm_map(seg, PSHM_POPULATE, &p, &len);
	if (r < 0 || cli_stopped())
		return create_undo(seg, addr, r);
	/* A private System V segment is known only by the identifier it was given: it is complete
	 * once that is out, and removed again when it cannot be. */
	if (pshm_kind(seg) == PSHM_SYSV && strcmp(addr, pshm_address(seg)) &&
	    !strncmp(pshm_address(seg), "sysv:id=", 8) && (r = show_id(pshm_address(seg))) < 0) {
		if (!cli_stopped()) {
			cli_fail_output("create", addr, r);
			fprintf(stderr,
			        "pshm: create %s: removed the new segment %s again, since its "
			        "identifier is its only name\n",
			        cli_safe(addr), pshm_address(seg));
		}
		return create_undo(seg, addr, 0);
	}
	pshm_close(seg);
	return EXIT_OK;
}

/* Refuse a mode with set-id or sticky bits for a System V segment, whose mode has none. */
static bool sysv_mode_refused(const char *op, const char *addr, mode_t mode)
{
	if (!(mode & ~0777u))
		return false;
	fprintf(stderr,
	        "pshm: %s %s: System V segments have no set-user-ID, set-group-ID or sticky bit, "
	        "so mode %o cannot be given\n"
	        "pshm: give permission bits only, 777 at most\n",
	        op, cli_safe(addr), (unsigned)mode);
	return true;
}

/*
 * What the kernel would refuse as EINVAL for a System V segment, said before trying: a size of
 * 0, set-id or sticky bits, and (with --existing-ok) a segment smaller than SIZE, which cannot
 * grow. The library still has the last word, and cli_fail explains what gets past here.
 */
static bool sysv_create_refused(const char *addr, uint64_t size, mode_t mode, unsigned flags)
{
	struct pshm_stat st;
	char have[32];

	if (strncmp(addr, "sysv:", 5))
		return false;
	/* A malformed address is for create_one to report. */
	int found = pshm_stat_addr(addr, &st);
	if (found == PSHM_EADDR)
		return false;
	if (size == 0) {
		fprintf(stderr,
		        "pshm: create %s: System V segments cannot be empty\n"
		        "pshm: give a size of at least 1 byte with -s SIZE\n",
		        cli_safe(addr));
		return true;
	}
	if (sysv_mode_refused("create", addr, mode))
		return true;
	/* A private segment (key 0) is always a new one, and an identifier is never created. */
	if ((flags & PSHM_OPEN_OR_CREATE) && strncmp(addr, "sysv:id=", 8) && found == 0 &&
	    st.key != 0 && st.size < size) {
		fprintf(stderr,
		        "pshm: create %s: the segment has %s, and System V segments cannot grow\n"
		        "pshm: remove it (pshm rm %s) and create it again with the size needed\n",
		        cli_safe(addr), cli_fmt_size(have, sizeof(have), st.size, false),
		        cli_safe(addr));
		return true;
	}
	return false;
}

int cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"size", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},
	    {"existing-ok", no_argument, NULL, 'e'},
	    {"sparse", no_argument, NULL, 'S'},
	    {"populate", no_argument, NULL, 'p'},
	    {"huge", optional_argument, NULL, 'H'},
	    CLI_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	uint64_t size = 0;
	mode_t mode = 0600;
	unsigned flags = 0;
	bool populate = false;
	int c;

	while ((c = getopt_long(argc, argv, "s:m:eh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!cli_size("create", "size", optarg, &size))
				return EXIT_USAGE;
			break;
		case 'm':
			if (!cli_mode("create", optarg, &mode))
				return EXIT_USAGE;
			break;
		case 'e':
			flags |= PSHM_OPEN_OR_CREATE;
			break;
		case 'S':
			flags |= PSHM_SPARSE;
			break;
		case 'p':
			populate = true;
			break;
		case 'H':
			if (!huge_option("create", optarg, &flags))
				return EXIT_USAGE;
			break;
		case 'h':
			return cli_help(
			    "create",
			    "  -s, --size SIZE        size in bytes (default 0)\n"
			    "  -m, --mode MODE        permission bits, octal (default 600) or "
			    "symbolic on 600\n"
			    "                         (g+r: 640); applied whatever the umask\n"
			    "  -e, --existing-ok      open an existing object instead of "
			    "failing (grown to SIZE, never shrunk)\n"
			    "      --sparse           do not reserve the space (a full file "
			    "system then means SIGBUS later)\n"
			    "      --populate         fault every page in now\n" HUGE_HELP);
		default:
			return cli_bad_option("create", opts, argv);
		}
	}
	if (optind == argc)
		return cli_usage("create", "no object named");
	int status = EXIT_OK;
	cli_catch_stops();
	for (int i = optind; i < argc; i++) {
		cli_warn_bare(argv[i]);
		if (sysv_create_refused(argv[i], size, mode, flags) ||
		    create_one(argv[i], size, mode, flags, populate))
			status = EXIT_FAIL;
		/* Objects made before a stop signal came are complete, and stay. */
		cli_die_if_stopped();
	}
	return status;
}

/* Open ADDR for a change of attributes: as chmod(1), no permission on the object is needed. */
static int open_attr(const char *op, const char *addr, struct pshm_seg **seg)
{
	cli_warn_bare(addr);
	if (transient_memfd(op, addr))
		return EXIT_FAIL;
	int r = pshm_open(seg, addr, PSHM_ATTRS);
	return r < 0 ? cli_fail(op, addr, r) : EXIT_OK;
}

/* The common shape of chmod and chown: option parsing, then one change per operand. */
static int attr_cmd(const char *name, int argc, char **argv, const char *what, const char *help)
{
	static const struct option opts[] = {CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return cli_help(name, help), -1;
		return cli_bad_option(name, opts, argv);
	}
	if (argc - optind < 2)
		return cli_usage(name, argc == optind ? "no %s given" : "no object named", what);
	return EXIT_OK;
}

/* Set ADDR's mode as TEXT (which cli_mode took) says: a symbolic one changes its mode now. */
static int chmod_one(const char *addr, const char *text)
{
	struct pshm_seg *seg;
	struct pshm_stat st = {.mode = 0};
	int r = 0;

	if (open_attr("chmod", addr, &seg))
		return EXIT_FAIL;
	if (cli_mode_symbolic(text))
		r = pshm_stat(seg, &st);
	mode_t mode = cli_mode_apply(text, st.mode);
	if (r == 0 && pshm_kind(seg) == PSHM_SYSV && sysv_mode_refused("chmod", addr, mode))
		r = EXIT_FAIL;
	else if (r == 0)
		r = pshm_chmod(seg, mode);
	pshm_close(seg);
	return r < 0 ? cli_fail("chmod", addr, r) : r;
}

int cmd_chmod(int argc, char **argv)
{
	mode_t mode;
	char **av = argv;

	/* As chmod(1): a first argument such as -w or -rwx is a mode, not options. */
	if (argc > 2 && argv[1][0] == '-' && argv[1][1] && argv[1][1] != '-' &&
	    cli_mode_symbolic(argv[1]) && cli_mode_valid(argv[1])) {
		av = calloc((size_t)argc + 2, sizeof(*av));
		if (!av)
			return cli_fail("chmod", argv[1], -ENOMEM);
		av[0] = argv[0];
		av[1] = "--";
		memcpy(av + 2, argv + 1, (size_t)(argc - 1) * sizeof(*av));
		argc++;
	}
	int status = attr_cmd(
	    "chmod", argc, av, "mode",
	    "  MODE is octal (640) or symbolic as chmod(1) writes it, changing each object's\n"
	    "  mode: [ugoa]*[+-=][rwxXs]* or [ugoa]*[+-=][ugo], clauses joined by commas\n"
	    "  (u+w, go-rwx, a=r, ug=rw,o=, g=u); no class means a, whatever the umask\n");
	if (status == 0 && !cli_mode("chmod", av[optind], &mode))
		status = EXIT_USAGE;
	else if (status == 0)
		for (int i = optind + 1; i < argc; i++)
			if (chmod_one(av[i], av[optind]))
				status = EXIT_FAIL;
	if (av != argv)
		free(av);
	return status < 0 ? EXIT_OK : status;
}

enum id_parse { ID_OK, ID_UNKNOWN, ID_BAD };

/*
 * A user or group name, or else a number, as chown(1) takes them: a number names an ID whether
 * or not any user or group has it. ID_BAD for what is neither name nor ID (empty, a sign, a
 * number too large).
 */
static enum id_parse parse_id(const char *text, bool group, unsigned *id)
{
	char *end;
	struct group *g = group ? getgrnam(text) : NULL;
	struct passwd *p = group ? NULL : getpwnam(text);

	if (g || p) {
		*id = g ? g->gr_gid : p->pw_uid;
		return ID_OK;
	}
	if (!text[0] || text[0] == '-' || text[0] == '+')
		return ID_BAD;
	if (!isdigit((unsigned char)text[0]))
		return ID_UNKNOWN;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (*end)
		return ID_UNKNOWN;
	if (errno || v >= (unsigned long)(uint32_t)-1)
		return ID_BAD;
	*id = (unsigned)v;
	return ID_OK;
}

/* OWNER: the login group of the user *UID, into *GID; EXIT_FAIL, said, when it has none. */
static int login_group(const char *owner, uid_t uid, gid_t *gid)
{
	struct passwd *p = getpwuid(uid);
	if (p) {
		*gid = p->pw_gid;
		return EXIT_OK;
	}
	fprintf(stderr,
	        "pshm: chown: user %s has no login group to take\n"
	        "pshm: name the group, as in %s:GROUP\n",
	        cli_safe(owner), cli_safe(owner));
	return EXIT_FAIL;
}

/*
 * OWNER, OWNER:GROUP, OWNER: (the owner's login group) or :GROUP into *UID and *GID. EXIT_USAGE
 * for a malformed TEXT, EXIT_FAIL for a user or group that does not exist; both said.
 */
static int parse_owner(const char *text, uid_t *uid, gid_t *gid)
{
	char buf[256];
	unsigned u = (unsigned)-1, g = (unsigned)-1;
	enum id_parse ru = ID_OK, rg = ID_OK;

	snprintf(buf, sizeof(buf), "%s", text);
	char *colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	if (buf[0])
		ru = parse_id(buf, false, &u);
	if (colon && colon[0])
		rg = parse_id(colon, true, &g);
	if (strlen(text) >= sizeof(buf) || ru == ID_BAD || rg == ID_BAD ||
	    (colon && strchr(colon, ':')) || (!buf[0] && !(colon && colon[0])))
		return cli_usage(
		    "chown", "invalid owner '%s': expected USER[:GROUP], by name or number", text);
	if (ru == ID_UNKNOWN)
		fprintf(stderr, "pshm: chown: unknown user '%s'\n", cli_safe(buf));
	if (rg == ID_UNKNOWN)
		fprintf(stderr, "pshm: chown: unknown group '%s'\n", cli_safe(colon));
	if (ru || rg)
		return EXIT_FAIL;
	*uid = u;
	*gid = g;
	if (colon && !colon[0] && buf[0])
		return login_group(buf, u, gid);
	return EXIT_OK;
}

int cmd_chown(int argc, char **argv)
{
	uid_t uid;
	gid_t gid;
	int r =
	    attr_cmd("chown", argc, argv, "owner",
	             "  OWNER and GROUP are names or numbers; OWNER: sets OWNER's login group\n");
	if (r)
		return r < 0 ? EXIT_OK : r;
	if ((r = parse_owner(argv[optind], &uid, &gid)))
		return r;
	int status = EXIT_OK;
	for (int i = optind + 1; i < argc; i++) {
		struct pshm_seg *seg;
		if (open_attr("chown", argv[i], &seg)) {
			status = EXIT_FAIL;
			continue;
		}
		if ((r = pshm_chown(seg, uid, gid)) < 0)
			status = cli_fail("chown", argv[i], r);
		pshm_close(seg);
	}
	return status;
}

static int resize_one(const char *addr, int sign, uint64_t size, unsigned flags)
{
	struct pshm_seg *seg;
	struct pshm_stat st;
	char a[32], b[32];

	if (transient_memfd("resize", addr))
		return EXIT_FAIL;
	int r = pshm_open(&seg, addr, 0);
	if (r < 0)
		return cli_fail("resize", addr, r);
	uint64_t target = size;
	if (sign && (r = pshm_stat(seg, &st)) == 0) {
		if (sign < 0 && size > st.size) {
			fprintf(stderr, "pshm: resize %s: cannot shrink %s by %s\n", addr,
			        cli_fmt_size(a, sizeof(a), st.size, false),
			        cli_fmt_size(b, sizeof(b), size, false));
			pshm_close(seg);
			return EXIT_FAIL;
		}
		if (sign > 0 && size > INT64_MAX - st.size)
			r = -EFBIG;
		target = sign > 0 ? st.size + size : st.size - size;
	}
	if (r == 0)
		r = pshm_resize(seg, target, flags);
	pshm_close(seg);
	return r < 0 ? cli_fail("resize", addr, r) : EXIT_OK;
}

/* resize parses by hand: "-4K" is a size, not an option. */
int cmd_resize(int argc, char **argv)
{
	unsigned flags = 0;
	const char *sizearg = NULL;
	bool dashdash = false;
	int nobj = 0;

	/* Options may come anywhere before "--", as getopt_long allows in the other commands, and
	 * all are checked before any object is touched. The operands are gathered in argv. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool size_next =
		    !sizearg && a[0] == '-' && (isdigit((unsigned char)a[1]) || a[1] == '.');
		if (dashdash || a[0] != '-' || !a[1] || size_next) {
			if (sizearg)
				argv[nobj++] = argv[i];
			else
				sizearg = a;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			return cli_help(
			    "resize",
			    "      --sparse           do not reserve the space added\n"
			    "  SIZE sets the size; +SIZE grows by it, -SIZE shrinks by it\n");
		} else if (!strcmp(a, "--sparse")) {
			flags |= PSHM_SPARSE;
		} else if (!strcmp(a, "--")) {
			dashdash = true;
		} else {
			static const struct option opts[] = {
			    {"sparse", no_argument, NULL, 0}, CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
			fprintf(stderr, "pshm resize: invalid option '%s'\n", cli_safe(a));
			cli_suggest_option(a, opts);
			return cli_bad_option("resize", NULL, NULL);
		}
	}
	if (!sizearg)
		return cli_usage("resize", "no size given");
	int sign = sizearg[0] == '+' ? 1 : sizearg[0] == '-' ? -1 : 0;
	uint64_t size;
	if (!cli_size("resize", "size", sizearg + (sign != 0), &size))
		return EXIT_USAGE;
	if (!nobj)
		return cli_usage("resize", "no object named");
	int status = EXIT_OK;
	for (int i = 0; i < nobj; i++) {
		cli_warn_bare(argv[i]);
		if (resize_one(argv[i], sign, size, flags))
			status = EXIT_FAIL;
	}
	return status;
}

/* Remove ADDR, saying so with VERBOSE (as rm -v does). */
static int rm_one(const char *addr, bool force, bool verbose)
{
	int r = pshm_destroy_addr(addr);
	if (r == -ENOENT && force)
		return EXIT_OK;
	if (r < 0)
		return cli_fail("rm", addr, r);
	if (verbose)
		printf("removed '%s'\n", cli_safe(addr));
	return EXIT_OK;
}

/* The addresses of the objects a pattern selects, gathered before any of them is removed. */
struct rm_found {
	const struct cli_pattern *pat;
	char **addr;
	size_t n, cap;
};

static int rm_collect(const struct pshm_stat *st, void *arg)
{
	struct rm_found *f = arg;
	if (!cli_pattern_match(f->pat, st))
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		char **v = realloc(f->addr, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		f->addr = v;
		f->cap = cap;
	}
	f->addr[f->n] = strdup(st->address);
	return f->addr[f->n++] ? 0 : -ENOMEM;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove every object that pattern ARG selects, in the order of their addresses. When they
 * cannot all be found, none is removed. */
static int rm_pattern(const char *arg, bool force, bool verbose)
{
	struct cli_pattern pat;
	struct rm_found f = {&pat, NULL, 0, 0};
	int stop = 0, status = EXIT_OK;

	if (cli_pattern_parse("rm", arg, &pat))
		return EXIT_FAIL;
	int r = pshm_list(pat.kinds, rm_collect, &f, &stop);
	bool found = r >= 0 && stop == 0;
	if (!found) {
		status = cli_fail("rm", arg, r < 0 ? r : stop);
	} else if (f.n == 0 && !force) {
		fprintf(stderr, "pshm: rm %s: no object matches\n", cli_safe(arg));
		status = EXIT_FAIL;
	} else if (f.n) {
		qsort(f.addr, f.n, sizeof(*f.addr), cmp_str);
	}
	for (size_t i = 0; i < f.n; i++) {
		if (found && rm_one(f.addr[i], force, verbose))
			status = EXIT_FAIL;
		free(f.addr[i]);
	}
	free(f.addr);
	return status;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
	                                     {"verbose", no_argument, NULL, 'v'},
	                                     CLI_HELP_OPTION,
	                                     {NULL, 0, NULL, 0}};
	bool force = false, verbose = false;
	int c;

	while ((c = getopt_long(argc, argv, "fvh", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'v')
			verbose = true;
		else if (c == 'h')
			return cli_help(
			    "rm", "  -f, --force            a missing object, or a pattern that "
			          "matches none, is not an error\n"
			          "  -v, --verbose          say which objects were removed\n"
			          "  A PATTERN holds * ? or [ and selects objects as ls shows "
			          "them;\n"
			          "  quote it from the shell.\n");
		else
			return cli_bad_option("rm", opts, argv);
	}
	if (optind == argc)
		return force ? EXIT_OK : cli_usage("rm", "no object named");
	int status = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		int r;
		if (cli_is_pattern(argv[i])) {
			r = rm_pattern(argv[i], force, verbose);
		} else {
			cli_warn_bare(argv[i]);
			r = rm_one(argv[i], force, verbose);
		}
		if (r)
			status = EXIT_FAIL;
	}
	return status;
}
