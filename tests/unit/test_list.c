/*
 * test_list.c - pshm_list across kinds: POSIX objects and semaphores in a private shm
 * directory, a System V segment, and memfds held by this process.
 */
#include "testutil.h"

#include <stdbool.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define PAGE ((size_t)sysconf(_SC_PAGESIZE))

/* What one walk saw: a copy of every entry, and how often the callback ran. */
struct seen {
	struct pshm_stat *v;
	int n, cap;
	int stop_after; /* nonzero: return stop_value from the callback on that call */
	int stop_value;
};

static int collect(const struct pshm_stat *st, void *arg)
{
	struct seen *s = arg;

	if (s->n == s->cap) {
		int cap = s->cap ? 2 * s->cap : 64;
		struct pshm_stat *v = realloc(s->v, (size_t)cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *st;
	return s->stop_after && s->n == s->stop_after ? s->stop_value : 0;
}

/*
 * Walk MASK into *S (emptied first) and check the return value counts the callback's calls
 * and that the walk ran to its end.
 */
static void walk(unsigned mask, struct seen *s)
{
	int stop = -1;
	s->n = 0;
	int r = pshm_list(mask, collect, s, &stop);
	if (r < 0)
		fail_msg("pshm_list(%#x) = %d (%s)", mask, r, pshm_strerror(r));
	assert_int_equal(r, s->n);
	assert_int_equal(stop, 0);
}

static void seen_free(struct seen *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The entries with ADDRESS; *FIRST receives the first, if any. */
static int count_address(const struct seen *s, const char *address, const struct pshm_stat **first)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].address, address) && n++ == 0 && first)
			*first = &s->v[i];
	return n;
}

static int count_kind(const struct seen *s, int kind)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		n += s->v[i].kind == kind;
	return n;
}

/* The memfd entries for file INO. */
static int count_ino(const struct seen *s, ino_t ino, const struct pshm_stat **first)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		if (s->v[i].kind == PSHM_MEMFD && s->v[i].ino == ino && n++ == 0 && first)
			*first = &s->v[i];
	return n;
}

/* ---- the objects every test looks for --------------------------------------------------- */

static char posix_a[64], posix_b[64], sysv_addr[32];
static struct pshm_seg *sysv_seg, *memfd_seg;
static int sysv_id = -1;
static ino_t memfd_ino;

static void remove_sysv(void)
{
	struct shmid_ds ds;

	/* Only while it is still the segment this process made. */
	if (sysv_id >= 0 && shmctl(sysv_id, IPC_STAT, &ds) == 0 && ds.shm_cpid == getpid())
		shmctl(sysv_id, IPC_RMID, NULL);
	sysv_id = -1;
}

/* A System V key no segment uses now, made from the pid so that concurrent runs do not meet. */
static key_t new_key(void)
{
	for (unsigned n = 0; n < 256; n++) {
		key_t key = (key_t)(0x40000000u | ((unsigned)getpid() & 0x3fffffu) << 8 | n);
		if (shmget(key, 0, 0) < 0 && errno == ENOENT)
			return key;
	}
	return IPC_PRIVATE;
}

static int setup(void **state)
{
	struct pshm_seg *s;
	struct pshm_stat st;
	char path[128];
	(void)state;

	if (pshm_create(&s, tu_name(posix_a, sizeof(posix_a), "a"), PAGE, 0600, 0) || pshm_close(s))
		return -1;
	if (pshm_create(&s, tu_name(posix_b, sizeof(posix_b), "b"), 3 * PAGE, 0640, 0) ||
	    pshm_close(s))
		return -1;

	/* What sem_open(3) would leave for a semaphore "/x". */
	snprintf(path, sizeof(path), "%s/sem.x", pshm_shm_dir());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 32) < 0 || close(fd) < 0)
		return -1;

	/* Things in the directory that are not objects at all. */
	snprintf(path, sizeof(path), "%s/subdir", pshm_shm_dir());
	if (mkdir(path, 0700) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/fifo", pshm_shm_dir());
	if (mkfifo(path, 0600) < 0)
		return -1;

	key_t key = new_key();
	if (key == IPC_PRIVATE)
		return -1;
	snprintf(sysv_addr, sizeof(sysv_addr), "sysv:0x%08x", (unsigned)key);
	if (pshm_create(&sysv_seg, sysv_addr, 5 * PAGE, 0640, 0) || pshm_stat(sysv_seg, &st))
		return -1;
	sysv_id = st.id;

	if (pshm_create(&memfd_seg, "memfd:", 2 * PAGE, 0, 0) || pshm_stat(memfd_seg, &st))
		return -1;
	memfd_ino = st.ino;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pshm_close(memfd_seg);
	if (sysv_seg)
		pshm_destroy(sysv_seg);
	pshm_close(sysv_seg);
	remove_sysv();
	return 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_default(void **state)
{
	struct seen s = {0};
	const struct pshm_stat *e = NULL;
	(void)state;

	walk(PSHM_LIST_DEFAULT, &s);

	/* Exactly the two objects of the private directory, nothing else from it. */
	assert_int_equal(count_kind(&s, PSHM_POSIX), 2);
	assert_int_equal(count_address(&s, posix_a, &e), 1);
	assert_int_equal(e->kind, PSHM_POSIX);
	assert_int_equal(e->size, PAGE);
	assert_int_equal(e->mode, 0600);
	assert_int_equal(e->uid, geteuid());
	assert_int_equal(count_address(&s, posix_b, &e), 1);
	assert_int_equal(e->kind, PSHM_POSIX);
	assert_int_equal(e->size, 3 * PAGE);
	assert_int_equal(e->mode, 0640);

	assert_int_equal(count_address(&s, sysv_addr, &e), 1);
	assert_int_equal(e->kind, PSHM_SYSV);
	assert_int_equal(e->size, 5 * PAGE);
	assert_int_equal(e->mode, 0640);
	assert_int_equal(e->id, sysv_id);
	assert_int_equal(e->cpid, getpid());

	/* No semaphore and no memfd unless asked for. */
	assert_int_equal(count_kind(&s, PSHM_SEM), 0);
	assert_int_equal(count_kind(&s, PSHM_MEMFD), 0);
	assert_int_equal(count_address(&s, "sem:/x", NULL), 0);
	assert_int_equal(count_address(&s, "/sem.x", NULL), 0);
	assert_int_equal(count_address(&s, pshm_address(memfd_seg), NULL), 0);
	assert_int_equal(count_address(&s, "/subdir", NULL), 0);
	assert_int_equal(count_address(&s, "/fifo", NULL), 0);
	seen_free(&s);
}

static void test_all(void **state)
{
	struct seen s = {0};
	const struct pshm_stat *e = NULL;
	(void)state;

	walk(PSHM_LIST_ALL, &s);
	assert_int_equal(count_address(&s, posix_a, NULL), 1);
	assert_int_equal(count_address(&s, posix_b, NULL), 1);
	assert_int_equal(count_address(&s, sysv_addr, NULL), 1);

	assert_int_equal(count_kind(&s, PSHM_SEM), 1);
	assert_int_equal(count_address(&s, "sem:/x", &e), 1);
	assert_int_equal(e->kind, PSHM_SEM);
	assert_int_equal(e->size, 32);
	assert_int_equal(e->mode, 0600);
	assert_int_equal(count_address(&s, "/sem.x", NULL), 0);

	assert_int_equal(count_ino(&s, memfd_ino, &e), 1);
	assert_int_equal(e->pid, getpid());
	assert_int_equal(e->fd, pshm_fd(memfd_seg));
	assert_string_equal(e->address, pshm_address(memfd_seg));
	assert_int_equal(e->size, 2 * PAGE);
	assert_int_equal(e->mode, 0600);
	assert_int_equal(e->seals, pshm_seals(memfd_seg));
	seen_free(&s);
}

static void test_kinds_alone(void **state)
{
	struct seen s = {0};
	(void)state;

	walk(PSHM_LIST_POSIX, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(count_kind(&s, PSHM_POSIX), 2);

	walk(PSHM_LIST_SEM, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.v[0].address, "sem:/x");

	walk(PSHM_LIST_SYSV, &s);
	assert_int_equal(count_kind(&s, PSHM_SYSV), s.n);
	assert_int_equal(count_address(&s, sysv_addr, NULL), 1);

	walk(PSHM_LIST_MEMFD, &s);
	assert_int_equal(count_kind(&s, PSHM_MEMFD), s.n);
	assert_int_equal(count_ino(&s, memfd_ino, NULL), 1);

	/* No kinds, no entries. */
	s.n = 0;
	assert_int_equal(pshm_list(0, collect, &s, NULL), 0);
	assert_int_equal(s.n, 0);
	seen_free(&s);
}

static void test_memfd_listed_once(void **state)
{
	struct seen s = {0};
	const struct pshm_stat *e = NULL;
	(void)state;

	int fd = pshm_fd(memfd_seg);
	int dup1 = dup(fd), dup2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	assert_true(dup1 >= 0 && dup2 >= 100);
	walk(PSHM_LIST_MEMFD, &s);
	close(dup1);
	close(dup2);

	/* One file, three descriptors, one entry naming one of them. */
	assert_int_equal(count_ino(&s, memfd_ino, &e), 1);
	assert_int_equal(e->pid, getpid());
	assert_true(e->fd == fd || e->fd == dup1 || e->fd == dup2);

	/* Two memfds are two entries. */
	struct pshm_seg *other = NULL;
	struct pshm_stat st;
	tu_ok(pshm_create(&other, "memfd:", PAGE, 0, 0));
	tu_ok(pshm_stat(other, &st));
	walk(PSHM_LIST_MEMFD, &s);
	tu_ok(pshm_close(other));
	assert_int_equal(count_ino(&s, memfd_ino, NULL), 1);
	assert_int_equal(count_ino(&s, st.ino, &e), 1);
	assert_int_equal(e->size, PAGE);
	seen_free(&s);
}

static void test_bad_arguments(void **state)
{
	struct seen s = {0};
	(void)state;

	int stop = -1;
	tu_err(pshm_list(PSHM_LIST_DEFAULT, NULL, NULL, NULL), -EINVAL);
	tu_err(pshm_list(PSHM_LIST_ALL, NULL, &s, &stop), -EINVAL);
	assert_int_equal(stop, 0);
	/* Bits of no kind, and the file kind, which has no place to list from. */
	tu_err(pshm_list(1u, collect, &s, NULL), -EINVAL);
	tu_err(pshm_list(1u << PSHM_FILE, collect, &s, NULL), -EINVAL);
	tu_err(pshm_list(PSHM_LIST_ALL | 1u << 12, collect, &s, NULL), -EINVAL);
	tu_err(pshm_list(~0u, collect, &s, NULL), -EINVAL);
	assert_int_equal(s.n, 0);
	seen_free(&s);
}

static void test_stop(void **state)
{
	struct seen s = {0};
	(void)state;

	/*
	 * A nonzero return from the callback ends the walk, in each technique's walk, and comes
	 * back through the out-parameter, apart from the count: a positive value, and a negative
	 * one that looks like an error of the walk (-ENOENT is what a kernel without System V
	 * says) but is the callback's.
	 */
	const unsigned masks[] = {PSHM_LIST_POSIX, PSHM_LIST_SYSV, PSHM_LIST_MEMFD, PSHM_LIST_ALL};
	const int values[] = {7, -ENOENT, -ENOMEM};
	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			int stop = 0;
			s.n = 0;
			s.stop_after = 1;
			s.stop_value = values[v];
			assert_int_equal(pshm_list(masks[m], collect, &s, &stop), 1);
			assert_int_equal(s.n, 1);
			assert_int_equal(stop, values[v]);
		}
	}
	int stop = 0;
	s.n = 0;
	s.stop_after = 3;
	s.stop_value = 3;
	assert_int_equal(pshm_list(PSHM_LIST_ALL, collect, &s, &stop), 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(stop, 3);
	seen_free(&s);
}

static void test_gone(void **state)
{
	struct seen s = {0};
	(void)state;

	/* Removed objects drop out of the next walk. */
	struct pshm_seg *t = NULL;
	char name[64];
	tu_ok(pshm_create(&t, tu_name(name, sizeof(name), "gone"), PAGE, 0, 0));
	tu_ok(pshm_close(t));
	walk(PSHM_LIST_POSIX, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(count_address(&s, name, NULL), 1);
	tu_ok(pshm_destroy_addr(name));
	walk(PSHM_LIST_POSIX, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(count_address(&s, name, NULL), 0);
	seen_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default),       cmocka_unit_test(test_all),
	    cmocka_unit_test(test_kinds_alone),   cmocka_unit_test(test_memfd_listed_once),
	    cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_gone),
	};

	if (access("/proc/sysvipc/shm", R_OK) < 0)
		tu_skip_all("no System V shared memory here (/proc/sysvipc/shm)");
	tu_dir_setup();
	atexit(remove_sysv);
	return cmocka_run_group_tests(tests, setup, teardown) ? 1 : 0;
}
