/*
 * test_sysv.c - System V shared memory segments through the segment API: "sysv:KEY",
 * "sysv:id=N" and private "sysv:0"; creating, opening, permissions, descriptions, removal, and
 * interoperation with util-linux's ipcmk, ipcs and ipcrm.
 *
 * System V segments outlive the process that made them, so every segment a test makes is
 * recorded and an exit handler removes whatever a failed test left behind.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>

#define PAGE ((size_t)sysconf(_SC_PAGESIZE))

/* ---- bookkeeping: keys unique to this run, and removal of what the tests made ------------ */

/*
 * A segment this run made. The creator's pid is kept with the identifier so that the exit
 * handler never removes a segment of another program that happens to reuse a freed
 * identifier.
 */
struct made {
	int id;
	key_t key;
	pid_t cpid;
};

static struct made made[128];
static int nmade;

static void remove_made(void)
{
	struct shmid_ds ds;

	for (int i = 0; i < nmade; i++) {
		if (shmctl(made[i].id, IPC_STAT, &ds) < 0 || ds.shm_cpid != made[i].cpid)
			continue;
		/* A segment marked for removal shows key 0; it is still ours. */
		if (ds.shm_perm.__key == made[i].key || ds.shm_perm.__key == IPC_PRIVATE)
			shmctl(made[i].id, IPC_RMID, NULL);
	}
	nmade = 0;
}

/* Record segment ID for removal at exit, whoever created it. */
static void track_id(int id)
{
	struct shmid_ds ds;

	if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0 ||
	    nmade == (int)(sizeof(made) / sizeof(made[0])))
		return;
	made[nmade++] = (struct made){id, ds.shm_perm.__key, ds.shm_cpid};
}

/* The identifier of the handle's segment, recorded for removal at exit. */
static int seg_id(struct pshm_seg *s)
{
	struct pshm_stat st;

	tu_ok(pshm_stat(s, &st));
	track_id(st.id);
	return st.id;
}

/*
 * A key no segment uses now, made from the pid so that concurrent runs do not meet: the pid's
 * low 22 bits and a counter in the low 8, with bit 30 set so that the key is never 0
 * (IPC_PRIVATE) and never negative.
 */
static key_t new_key(void)
{
	static unsigned n;

	for (int tries = 0; tries < 256; tries++) {
		key_t key =
		    (key_t)(0x40000000u | ((unsigned)getpid() & 0x3fffffu) << 8 | (n++ & 0xffu));
		if (shmget(key, 0, 0) < 0 && errno == ENOENT)
			return key;
	}
	fail_msg("no free System V key");
	return IPC_PRIVATE;
}

static const char *key_addr(char *buf, size_t size, key_t key)
{
	snprintf(buf, size, "sysv:%d", (int)key);
	return buf;
}

static const char *canon_addr(char *buf, size_t size, key_t key)
{
	snprintf(buf, size, "sysv:0x%08x", (unsigned)key);
	return buf;
}

static const char *id_addr(char *buf, size_t size, int id)
{
	snprintf(buf, size, "sysv:id=%d", id);
	return buf;
}

/* Create a segment at a fresh key; *KEYP receives the key, *IDP the identifier. */
static struct pshm_seg *make_keyed(key_t *keyp, int *idp, uint64_t size, mode_t mode)
{
	struct pshm_seg *s = NULL;
	char addr[32];
	key_t key = new_key();

	tu_ok(pshm_create(&s, key_addr(addr, sizeof(addr), key), size, mode, 0));
	int id = seg_id(s);
	if (keyp)
		*keyp = key;
	if (idp)
		*idp = id;
	return s;
}

/* The kernel's own view of a segment, to check the library's reports against. */
static struct shmid_ds kernel_stat(int id)
{
	struct shmid_ds ds;

	if (shmctl(id, IPC_STAT, &ds) < 0)
		fail_msg("IPC_STAT %d: %s", id, strerror(errno));
	return ds;
}

/* ---- creating ---------------------------------------------------------------------------- */

static void test_create_by_key(void **state)
{
	struct pshm_seg *s = NULL, *t = NULL;
	struct pshm_stat st;
	char addr[32], canon[32], hex[32];
	key_t key;
	int id;
	(void)state;

	s = make_keyed(&key, &id, 8192, 0);
	assert_int_equal(pshm_kind(s), PSHM_SYSV);
	assert_string_equal(pshm_address(s), canon_addr(canon, sizeof(canon), key));
	assert_true(pshm_created(s));
	assert_int_equal(shmget(key, 0, 0), id);
	assert_int_equal(kernel_stat(id).shm_segsz, 8192);

	/* Exclusive by default, whichever way the key is written. */
	tu_err(pshm_create(&t, key_addr(addr, sizeof(addr), key), 8192, 0, 0), -EEXIST);
	snprintf(hex, sizeof(hex), "sysv:0x%x", (unsigned)key);
	tu_err(pshm_create(&t, hex, 4096, 0, 0), -EEXIST);

	/* Open-or-create opens a segment that is big enough, and cannot grow one that is not. */
	tu_ok(pshm_create(&t, hex, 4096, 0, PSHM_OPEN_OR_CREATE));
	assert_false(pshm_created(t));
	tu_ok(pshm_stat(t, &st));
	assert_int_equal(st.id, id);
	assert_int_equal(st.size, 8192);
	tu_ok(pshm_close(t));
	t = NULL;
	tu_err(pshm_create(&t, hex, 16384, 0, PSHM_OPEN_OR_CREATE), -EINVAL);
	assert_null(t);
	assert_int_equal(kernel_stat(id).shm_segsz, 8192);

	tu_ok(pshm_close(s));
	tu_ok(pshm_destroy_addr(canon));
}

static void test_create_or_open_new(void **state)
{
	struct pshm_seg *s = NULL;
	char addr[32];
	key_t key = new_key();
	(void)state;

	/* With nothing at the key, open-or-create creates. */
	tu_ok(pshm_create(&s, key_addr(addr, sizeof(addr), key), 4096, 0, PSHM_OPEN_OR_CREATE));
	int id = seg_id(s);
	assert_true(pshm_created(s));
	assert_int_equal(shmget(key, 0, 0), id);
	tu_ok(pshm_close(s));
	tu_ok(pshm_destroy_addr(addr));
}

static void test_create_private(void **state)
{
	struct pshm_seg *a = NULL, *b = NULL, *c = NULL;
	struct pshm_stat st;
	char addr[32];
	(void)state;

	tu_ok(pshm_create(&a, "sysv:0", 4096, 0, 0));
	tu_ok(pshm_create(&b, "sysv:0x0", 4096, 0, 0));
	int ida = seg_id(a), idb = seg_id(b);
	assert_int_not_equal(ida, idb);
	assert_true(pshm_created(a));

	/* A private segment has no key to name it by: its address is its identifier. */
	assert_string_equal(pshm_address(a), id_addr(addr, sizeof(addr), ida));
	tu_ok(pshm_stat(a, &st));
	assert_int_equal(st.key, 0);
	assert_int_equal(kernel_stat(ida).shm_perm.__key, IPC_PRIVATE);
	assert_int_equal(st.mode, 0600);

	tu_ok(pshm_open(&c, pshm_address(a), 0));
	assert_string_equal(pshm_address(c), addr);
	tu_ok(pshm_close(c));

	tu_ok(pshm_destroy(a));
	tu_ok(pshm_destroy(b));
	tu_ok(pshm_close(a));
	tu_ok(pshm_close(b));
	tu_err(pshm_stat_addr(addr, &st), -ENOENT);
}

static void test_create_size_zero(void **state)
{
	struct pshm_seg *s = NULL;
	struct pshm_stat st;
	char addr[32];
	key_t key = new_key();
	(void)state;

	tu_err(pshm_create(&s, key_addr(addr, sizeof(addr), key), 0, 0, 0), -EINVAL);
	tu_err(pshm_create(&s, key_addr(addr, sizeof(addr), key), 0, 0, PSHM_OPEN_OR_CREATE),
	       -EINVAL);
	tu_err(pshm_create(&s, "sysv:0", 0, 0, 0), -EINVAL);
	assert_null(s);
	/* Nothing was left at the key. */
	tu_err(pshm_stat_addr(addr, &st), -ENOENT);
	assert_true(shmget(key, 0, 0) < 0 && errno == ENOENT);
}

static void test_create_mode(void **state)
{
	struct pshm_seg *s = NULL, *t = NULL, *u = NULL;
	struct pshm_stat st;
	int ids, idt, idu;
	(void)state;

	/* A umask that would strip group bits, and one that strips nothing: neither matters. */
	mode_t old = umask(0077);
	s = make_keyed(NULL, &ids, 4096, 0640);
	t = make_keyed(NULL, &idt, 4096, 0);
	umask(0);
	u = make_keyed(NULL, &idu, 4096, 0);
	umask(old);

	assert_int_equal(kernel_stat(ids).shm_perm.mode & 0777, 0640);
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.mode, 0640);
	assert_int_equal(kernel_stat(idt).shm_perm.mode & 0777, 0600);
	assert_int_equal(kernel_stat(idu).shm_perm.mode & 0777, 0600);
	tu_ok(pshm_stat(u, &st));
	assert_int_equal(st.mode, 0600);

	tu_ok(pshm_destroy(s));
	tu_ok(pshm_destroy(t));
	tu_ok(pshm_destroy(u));
	tu_ok(pshm_close(s));
	tu_ok(pshm_close(t));
	tu_ok(pshm_close(u));
}

static void test_create_sparse(void **state)
{
	struct pshm_seg *s = NULL;
	char addr[32];
	void *p;
	size_t len;
	key_t key = new_key();
	(void)state;

	tu_ok(pshm_create(&s, key_addr(addr, sizeof(addr), key), 3 * PAGE, 0, PSHM_SPARSE));
	int id = seg_id(s);
	assert_int_equal(kernel_stat(id).shm_segsz, 3 * PAGE);
	tu_ok(pshm_map(s, 0, &p, &len));
	assert_int_equal(len, 3 * PAGE);
	memset(p, 0x5a, len);
	assert_int_equal(((unsigned char *)p)[len - 1], 0x5a);
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
}

/* ---- opening ----------------------------------------------------------------------------- */

static void test_open_by_key_and_id(void **state)
{
	struct pshm_seg *s, *byk = NULL, *byid = NULL, *ro = NULL;
	char addr[32], canon[32], idaddr[32];
	unsigned char *p, *q, *r;
	size_t len, qlen, rlen;
	key_t key;
	int id;
	(void)state;

	s = make_keyed(&key, &id, 3 * PAGE, 0);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	memset(p, 0xa5, len);

	/* By key, read-write: both handles see each other's writes. */
	tu_ok(pshm_open(&byk, key_addr(addr, sizeof(addr), key), 0));
	assert_false(pshm_created(byk));
	assert_string_equal(pshm_address(byk), canon_addr(canon, sizeof(canon), key));
	tu_ok(pshm_map(byk, 0, (void **)&q, &qlen));
	assert_int_equal(qlen, 3 * PAGE);
	assert_int_equal(q[0], 0xa5);
	assert_int_equal(q[qlen - 1], 0xa5);
	q[PAGE] = 0x11;
	assert_int_equal(p[PAGE], 0x11);
	p[2 * PAGE + 7] = 0x22;
	assert_int_equal(q[2 * PAGE + 7], 0x22);

	/* By identifier: the handle still names the segment by its key. */
	tu_ok(pshm_open(&byid, id_addr(idaddr, sizeof(idaddr), id), 0));
	assert_string_equal(pshm_address(byid), canon);
	assert_int_equal(seg_id(byid), id);
	tu_ok(pshm_map(byid, 0, (void **)&r, &rlen));
	assert_int_equal(r[PAGE], 0x11);
	r[1] = 0x33;
	assert_int_equal(p[1], 0x33);
	assert_int_equal(q[1], 0x33);

	/* A write through the read-write mappings works in a child too. */
	assert_int_equal(child_writes((volatile char *)r), 0);
	assert_int_equal(p[0], 1);

	tu_ok(pshm_close(byid));
	tu_ok(pshm_close(byk));

	/* Read-only, by key and by identifier: the mapping refuses writes. */
	const char *ro_addrs[] = {addr, idaddr};
	for (int i = 0; i < 2; i++) {
		tu_ok(pshm_open(&ro, ro_addrs[i], PSHM_RDONLY));
		tu_ok(pshm_map(ro, 0, (void **)&r, &rlen));
		assert_int_equal(rlen, 3 * PAGE);
		assert_int_equal(r[2 * PAGE + 7], 0x22);
		assert_int_equal(child_writes((volatile char *)r), 128 + SIGSEGV);
		/* Asking for a writable mapping through a read-only handle changes nothing. */
		tu_ok(pshm_unmap(ro));
		tu_ok(pshm_map(ro, 0, (void **)&r, &rlen));
		assert_int_equal(child_writes((volatile char *)r), 128 + SIGSEGV);
		tu_ok(pshm_close(ro));
		ro = NULL;
	}

	/* A read-only mapping of a read-write handle. */
	tu_ok(pshm_unmap(s));
	tu_ok(pshm_map(s, PSHM_RDONLY, (void **)&p, &len));
	assert_int_equal(child_writes((volatile char *)p), 128 + SIGSEGV);

	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
}

static void test_open_missing(void **state)
{
	struct pshm_seg *s = NULL;
	struct pshm_stat st;
	char addr[32], idaddr[32];
	key_t key = new_key();
	(void)state;

	tu_err(pshm_open(&s, key_addr(addr, sizeof(addr), key), 0), -ENOENT);
	tu_err(pshm_open(&s, addr, PSHM_RDONLY), -ENOENT);
	tu_err(pshm_stat_addr(addr, &st), -ENOENT);
	tu_err(pshm_destroy_addr(addr), -ENOENT);

	/* An identifier that was in use a moment ago and is gone now. */
	tu_ok(pshm_create(&s, "sysv:0", 4096, 0, 0));
	int id = seg_id(s);
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
	s = NULL;
	id_addr(idaddr, sizeof(idaddr), id);
	tu_err(pshm_open(&s, idaddr, 0), -ENOENT);
	tu_err(pshm_open(&s, idaddr, PSHM_RDONLY), -ENOENT);
	tu_err(pshm_stat_addr(idaddr, &st), -ENOENT);
	tu_err(pshm_destroy_addr(idaddr), -ENOENT);
	assert_null(s);
}

/* sysv.c: populate the way it does on a kernel without MADV_POPULATE_* (before Linux 5.14). */
extern bool pshm__sysv_populate_by_reading;

static void test_populate(void **state)
{
	struct pshm_seg *s, *ro = NULL;
	struct pshm_stat st;
	char addr[32];
	void *p;
	size_t len;
	key_t key;
	(void)state;

	/* Both ways, the kernel's and the fallback's, back every page. */
	for (int by_reading = 0; by_reading < 2; by_reading++) {
		pshm__sysv_populate_by_reading = by_reading;
		/* A plain map backs nothing until it is touched; a populating one backs every
		 * page. */
		s = make_keyed(&key, NULL, 16 * PAGE, 0);
		tu_ok(pshm_map(s, 0, &p, &len));
		tu_ok(pshm_stat(s, &st));
		assert_int_equal(st.allocated, 0);
		tu_ok(pshm_unmap(s));
		tu_ok(pshm_map(s, PSHM_POPULATE, &p, &len));
		assert_int_equal(len, 16 * PAGE);
		tu_ok(pshm_stat(s, &st));
		assert_int_equal(st.allocated, 16 * PAGE);
		/* Populating writes nothing: the pages read as zeros, and stay writable. */
		for (size_t off = 0; off < len; off += PAGE)
			assert_int_equal(((volatile char *)p)[off], 0);
		((volatile char *)p)[len - 1] = 1;
		tu_ok(pshm_destroy(s));
		tu_ok(pshm_close(s));

		/* The same through a read-only handle, whose mapping is populated by reading. */
		s = make_keyed(&key, NULL, 16 * PAGE, 0);
		tu_ok(pshm_open(&ro, key_addr(addr, sizeof(addr), key), PSHM_RDONLY));
		tu_ok(pshm_map(ro, PSHM_POPULATE, &p, &len));
		assert_int_equal(len, 16 * PAGE);
		tu_ok(pshm_stat(ro, &st));
		assert_int_equal(st.allocated, 16 * PAGE);
		assert_int_equal(st.nattch, 1);
		tu_ok(pshm_destroy(s));
		tu_ok(pshm_close(ro));
		tu_ok(pshm_close(s));
	}
	pshm__sysv_populate_by_reading = false;
}

/*
 * A writer that stores a new value in the first byte of each page (the byte a populating
 * touch would reach) and, before each store, checks that its last one is still there.
 */
struct page_writer {
	volatile unsigned char *p;
	size_t pages;
	atomic_bool stop;
	unsigned long long stores, lost;
};

static void *page_writer(void *arg)
{
	struct page_writer *w = arg;
	unsigned char last[64] = {0};

	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		for (size_t i = 0; i < w->pages; i++) {
			volatile unsigned char *b = w->p + i * PAGE;
			if (*b != last[i])
				w->lost++;
			last[i] = (unsigned char)(last[i] + 1);
			*b = last[i];
			w->stores++;
		}
	}
	return NULL;
}

/*
 * Populating a mapping must never write to the segment: while another thread keeps storing
 * to every page, attach and populate again and again, both ways, and check that no store of
 * the writer's was ever undone.
 */
static void test_populate_beside_writer(void **state)
{
	char addr[32];
	key_t key;
	void *p;
	size_t len;
	(void)state;

	for (int by_reading = 0; by_reading < 2; by_reading++) {
		struct pshm_seg *s = make_keyed(&key, NULL, 8 * PAGE, 0), *t = NULL;
		struct page_writer w = {.pages = 8};
		tu_ok(pshm_map(s, 0, &p, &len));
		w.p = p;
		tu_ok(pshm_open(&t, key_addr(addr, sizeof(addr), key), 0));
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, page_writer, &w), 0);
		pshm__sysv_populate_by_reading = by_reading;
		for (int i = 0; i < 20000; i++) {
			tu_ok(pshm_map(t, PSHM_POPULATE, &p, &len));
			tu_ok(pshm_unmap(t));
		}
		pshm__sysv_populate_by_reading = false;
		atomic_store(&w.stop, true);
		assert_int_equal(pthread_join(th, NULL), 0);
		if (w.lost)
			fail_msg("%s: %llu of %llu stores lost",
			         by_reading ? "by reading" : "madvise", w.lost, w.stores);
		assert_true(w.stores > 0);
		tu_ok(pshm_destroy(s));
		tu_ok(pshm_close(t));
		tu_ok(pshm_close(s));
	}
}

static void test_no_resize_no_fd(void **state)
{
	struct pshm_seg *s;
	int id;
	(void)state;

	s = make_keyed(NULL, &id, 2 * PAGE, 0);
	tu_err(pshm_resize(s, 4 * PAGE, 0), -EOPNOTSUPP);
	tu_err(pshm_resize(s, PAGE, 0), -EOPNOTSUPP);
	tu_err(pshm_resize(s, 4 * PAGE, PSHM_SPARSE), -EOPNOTSUPP);
	assert_int_equal(kernel_stat(id).shm_segsz, 2 * PAGE);
	tu_err(pshm_fd(s), -EOPNOTSUPP);
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
}

static void test_chmod_chown(void **state)
{
	struct pshm_seg *s;
	struct pshm_stat st;
	int id;
	(void)state;

	s = make_keyed(NULL, &id, PAGE, 0);
	tu_ok(pshm_chmod(s, 0640));
	assert_int_equal(kernel_stat(id).shm_perm.mode & 0777, 0640);
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.mode, 0640);

	/* System V has no set-id or sticky bits: refused, and nothing changes. */
	tu_err(pshm_chmod(s, 04600), -EINVAL);
	tu_err(pshm_chmod(s, 01600), -EINVAL);
	assert_int_equal(kernel_stat(id).shm_perm.mode & 07777, 0640);

	if (geteuid() != 0) {
		tu_ok(pshm_destroy(s));
		tu_ok(pshm_close(s));
		skip();
	}
	uid_t uid = geteuid();
	gid_t gid = getegid();
	tu_ok(pshm_chown(s, 65534, 65534));
	struct shmid_ds ds = kernel_stat(id);
	assert_int_equal(ds.shm_perm.uid, 65534);
	assert_int_equal(ds.shm_perm.gid, 65534);
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.uid, 65534);
	assert_int_equal(st.gid, 65534);
	/* The creator stays who it was. */
	assert_int_equal(st.cuid, uid);
	assert_int_equal(st.cgid, gid);
	assert_int_equal(st.mode, 0640);

	/* -1 leaves one of the two alone. */
	tu_ok(pshm_chown(s, uid, (gid_t)-1));
	ds = kernel_stat(id);
	assert_int_equal(ds.shm_perm.uid, uid);
	assert_int_equal(ds.shm_perm.gid, 65534);
	tu_ok(pshm_chown(s, (uid_t)-1, gid));
	ds = kernel_stat(id);
	assert_int_equal(ds.shm_perm.uid, uid);
	assert_int_equal(ds.shm_perm.gid, gid);

	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
}

/* ---- describing -------------------------------------------------------------------------- */

static void assert_recent(time_t t, time_t since)
{
	if (t < since - 1 || t > time(NULL) + 1)
		fail_msg("time %lld is not between %lld and now", (long long)t, (long long)since);
}

static void test_stat(void **state)
{
	struct pshm_seg *s, *t = NULL;
	struct pshm_stat st;
	char addr[32], canon[32];
	char *p;
	void *q;
	size_t len;
	key_t key;
	int id;
	(void)state;

	time_t before = time(NULL);
	s = make_keyed(&key, &id, 4 * PAGE, 0640);
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.kind, PSHM_SYSV);
	assert_string_equal(st.address, canon_addr(canon, sizeof(canon), key));
	assert_int_equal(st.size, 4 * PAGE);
	assert_int_equal(st.allocated, 0);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.uid, geteuid());
	assert_int_equal(st.gid, getegid());
	assert_int_equal(st.cuid, geteuid());
	assert_int_equal(st.cgid, getegid());
	assert_int_equal(st.key, key);
	assert_int_equal(st.id, id);
	assert_int_equal(st.nattch, 0);
	assert_int_equal(st.cpid, getpid());
	assert_int_equal(st.lpid, 0);
	assert_int_equal(st.atime.sec, 0);
	assert_int_equal(st.mtime.sec, 0);
	assert_recent(st.ctime.sec, before);
	assert_false(st.removed);
	assert_int_equal(st.seals, 0);

	/* Touching two pages backs two pages; attaching is counted and timed. */
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	p[0] = 1;
	p[2 * PAGE] = 1;
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.allocated, 2 * PAGE);
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.lpid, getpid());
	assert_recent(st.atime.sec, before);
	assert_int_equal(st.mtime.sec, 0);

	tu_ok(pshm_open(&t, key_addr(addr, sizeof(addr), key), PSHM_RDONLY));
	tu_ok(pshm_map(t, 0, &q, &len));
	tu_ok(pshm_stat(t, &st));
	assert_int_equal(st.nattch, 2);
	/* The description agrees with the kernel's. */
	struct shmid_ds ds = kernel_stat(id);
	assert_int_equal(st.nattch, ds.shm_nattch);
	assert_int_equal(st.atime.sec, ds.shm_atime);
	assert_int_equal(st.ctime.sec, ds.shm_ctime);

	tu_ok(pshm_unmap(t));
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.nattch, 1);
	assert_recent(st.mtime.sec, before);
	tu_ok(pshm_close(t));

	/* By address, by key in either spelling and by identifier, it is the same segment. */
	const char *addrs[3];
	char hex[32], idaddr[32];
	snprintf(hex, sizeof(hex), "sysv:%#x", (unsigned)key);
	addrs[0] = addr;
	addrs[1] = hex;
	addrs[2] = id_addr(idaddr, sizeof(idaddr), id);
	for (int i = 0; i < 3; i++) {
		memset(&st, 0xff, sizeof(st));
		tu_ok(pshm_stat_addr(addrs[i], &st));
		assert_int_equal(st.kind, PSHM_SYSV);
		assert_string_equal(st.address, canon);
		assert_int_equal(st.id, id);
		assert_int_equal(st.key, key);
		assert_int_equal(st.size, 4 * PAGE);
		assert_int_equal(st.allocated, 2 * PAGE);
		assert_int_equal(st.mode, 0640);
		assert_int_equal(st.nattch, 1);
		assert_int_equal(st.cpid, getpid());
		assert_false(st.removed);
	}

	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
}

struct stat_as {
	char addr[2][32];
	uint64_t size;
	int id;
};

/* As nobody: describe a segment nobody may read. 0 when both addresses describe it. */
static int stat_as_nobody(void *arg)
{
	struct stat_as *a = arg;
	struct pshm_stat st;

	for (int i = 0; i < 2; i++) {
		if (pshm_stat_addr(a->addr[i], &st) != 0)
			return 10 + i;
		if (st.size != a->size || st.id != a->id || st.mode != 0600 || st.uid != 0)
			return 20 + i;
	}
	return 0;
}

/* pshm_list's callback: keep the System V entry of identifier f->id. */
struct find_id {
	int id;
	bool found;
	struct pshm_stat st;
};

static int find_id(const struct pshm_stat *st, void *arg)
{
	struct find_id *f = arg;
	if (st->kind != PSHM_SYSV || st->id != f->id)
		return 0;
	f->found = true;
	f->st = *st;
	return 1;
}

/* The segment's description from pshm_list. */
static struct pshm_stat listed(int id)
{
	struct find_id f = {.id = id, .found = false};
	assert_true(pshm_list(PSHM_LIST_SYSV, find_id, &f, NULL) >= 0);
	assert_true(f.found);
	return f.st;
}

/* As nobody: the segment at ARG, attached by a process of root's, but of unknown page size. */
static int page_as_nobody(void *arg)
{
	struct pshm_stat st;
	return pshm_stat_addr(arg, &st) == 0 && st.nattch == 1 && st.page_size == 0 ? 0 : 1;
}

/*
 * The page size shows in an attachment only: this process's, that of the last process to
 * attach (or the creator), or else any process's, looked into without attaching, where the
 * caller may read its smaps; none, and it cannot be told.
 */
static void test_page_size(void **state)
{
	struct pshm_stat st;
	char addr[32], canon[32];
	int ready[2], done[2];
	key_t key;
	int id;
	(void)state;

	struct pshm_seg *s = make_keyed(&key, &id, 4 * PAGE, 0600);
	canon_addr(canon, sizeof(canon), key);
	tu_ok(pshm_stat_addr(canon, &st));
	assert_int_equal(st.nattch, 0);
	assert_int_equal(st.page_size, 0);
	assert_int_equal(listed(id).page_size, 0);
	tu_ok(pshm_close(s));

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(done[1]); /* the parent gone, failed, the read ends */
		struct pshm_seg *c;
		void *map;
		size_t len;
		char b = 1;
		snprintf(addr, sizeof(addr), "sysv:id=%d", id);
		if (pshm_open(&c, addr, 0) || pshm_map(c, 0, &map, &len))
			_exit(1);
		((volatile char *)map)[0] = 1;
		if (write(ready[1], &b, 1) != 1 || read(done[0], &b, 1) != 1)
			_exit(2);
		_exit(0);
	}
	char b;
	assert_int_equal(read(ready[0], &b, 1), 1);
	/* Attached by the child alone, the last to attach: its smaps tells. */
	tu_ok(pshm_stat_addr(canon, &st));
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.lpid, pid);
	assert_int_equal(st.page_size, PAGE);
	assert_int_equal(listed(id).page_size, PAGE);
	/* A process whose smaps the caller may not read tells nothing. */
	if (geteuid() == 0)
		assert_int_equal(tu_as_nobody(page_as_nobody, canon), 0);
	assert_int_equal(write(done[1], &b, 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Detached again: nobody shows it. */
	tu_ok(pshm_stat_addr(canon, &st));
	assert_int_equal(st.nattch, 0);
	assert_int_equal(st.page_size, 0);
	assert_int_equal(listed(id).page_size, 0);

	/* Attached by its creator, and last attached and detached by another process since: the
	 * creator's smaps tells. */
	key_t key2 = new_key();
	char addr2[32];
	key_addr(addr2, sizeof(addr2), key2);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(done[1]); /* the parent gone, failed, the read ends */
		struct pshm_seg *c;
		void *map;
		size_t len;
		if (pshm_create(&c, addr2, PAGE, 0600, 0) || pshm_map(c, 0, &map, &len))
			_exit(1);
		if (write(ready[1], &b, 1) != 1 || read(done[0], &b, 1) != 1)
			_exit(2);
		pshm_destroy(c);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &b, 1), 1);
	struct pshm_seg *other;
	void *map;
	size_t len;
	tu_ok(pshm_open(&other, addr2, 0));
	seg_id(other);
	tu_ok(pshm_map(other, 0, &map, &len));
	tu_ok(pshm_close(other)); /* its detach makes this process the last */
	tu_ok(pshm_stat_addr(addr2, &st));
	assert_int_equal(st.cpid, pid);
	assert_int_equal(st.lpid, getpid());
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.page_size, PAGE);
	assert_int_equal(write(done[1], &b, 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Attached by neither this process, its creator, nor the last to attach and detach (gone
	 * since), but by another: found by looking through every process's maps. */
	s = make_keyed(&key, &id, PAGE, 0600);
	canon_addr(canon, sizeof(canon), key);
	tu_ok(pshm_close(s));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(done[1]); /* the parent gone, failed, the read ends */
		struct pshm_seg *c;
		if (pshm_open(&c, canon, 0) || pshm_map(c, 0, &map, &len))
			_exit(1);
		if (write(ready[1], &b, 1) != 1 || read(done[0], &b, 1) != 1)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &b, 1), 1);
	pid_t passer = fork();
	assert_true(passer >= 0);
	if (passer == 0) {
		struct pshm_seg *c;
		_exit(pshm_open(&c, canon, 0) || pshm_map(c, 0, &map, &len) || pshm_close(c));
	}
	assert_int_equal(waitpid(passer, &status, 0), passer);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	tu_ok(pshm_stat_addr(canon, &st));
	assert_int_equal(st.nattch, 1);
	assert_int_equal(st.lpid, passer);
	assert_int_equal(st.cpid, getpid());
	assert_int_equal(st.page_size, PAGE);
	assert_int_equal(listed(id).page_size, PAGE);
	if (geteuid() == 0)
		assert_int_equal(tu_as_nobody(page_as_nobody, canon), 0);
	assert_int_equal(write(done[1], &b, 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	tu_ok(pshm_destroy_addr(canon));
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(done[i]);
	}
}

static void test_stat_addr_without_permission(void **state)
{
	struct stat_as a;
	key_t key;
	(void)state;

	if (geteuid() != 0)
		skip();
	struct pshm_seg *s = make_keyed(&key, &a.id, 5 * PAGE, 0600);
	a.size = 5 * PAGE;
	key_addr(a.addr[0], sizeof(a.addr[0]), key);
	id_addr(a.addr[1], sizeof(a.addr[1]), a.id);
	assert_int_equal(tu_as_nobody(stat_as_nobody, &a), 0);
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
}

struct open_as {
	char addr[32];
	unsigned flags;
	int expect;
};

/* As nobody: open ADDR with FLAGS; 0 when the result is the one expected. */
static int open_as_nobody(void *arg)
{
	struct open_as *o = arg;
	struct pshm_seg *s = NULL;
	int r = pshm_open(&s, o->addr, o->flags);
	pshm_close(s);
	return r == o->expect ? 0 : 1;
}

/* Set O to open with FLAGS, expecting EXPECT, and insist that it does so as nobody. */
static void nobody_opens(struct open_as *o, unsigned flags, int expect)
{
	o->flags = flags;
	o->expect = expect;
	assert_int_equal(tu_as_nobody(open_as_nobody, o), 0);
}

static void test_eacces(void **state)
{
	struct open_as o;
	key_t key, key2;
	int id;
	(void)state;

	if (geteuid() != 0)
		skip();
	struct pshm_seg *s = make_keyed(&key, &id, PAGE, 0600);
	key_addr(o.addr, sizeof(o.addr), key);
	nobody_opens(&o, 0, -EACCES);
	nobody_opens(&o, PSHM_RDONLY, -EACCES);
	id_addr(o.addr, sizeof(o.addr), id);
	nobody_opens(&o, 0, -EACCES);

	/* Readable by others: nobody may open it read-only, not read-write. */
	int id2;
	struct pshm_seg *r = make_keyed(&key2, &id2, PAGE, 0604);
	key_addr(o.addr, sizeof(o.addr), key2);
	nobody_opens(&o, PSHM_RDONLY, 0);
	nobody_opens(&o, 0, -EACCES);
	/* By identifier the same rules hold, though IPC_STAT itself checks only reading. */
	id_addr(o.addr, sizeof(o.addr), id2);
	nobody_opens(&o, PSHM_RDONLY, 0);
	nobody_opens(&o, 0, -EACCES);

	tu_ok(pshm_destroy(s));
	tu_ok(pshm_destroy(r));
	tu_ok(pshm_close(s));
	tu_ok(pshm_close(r));
}

/* As nobody: open ADDR with FLAGS, expecting O->expect; when that is 0, write through it. */
static int open_rw_as(void *arg)
{
	struct open_as *o = arg;
	struct pshm_seg *s = NULL;
	void *p;
	size_t len;
	int r = pshm_open(&s, o->addr, o->flags);
	if (r != o->expect)
		return 1;
	if (r == 0 && !(o->flags & PSHM_RDONLY)) {
		if (pshm_map(s, 0, &p, &len) != 0)
			return 2;
		((volatile char *)p)[0] = 'g';
	}
	pshm_close(s);
	return 0;
}

/*
 * The group bits apply to a member of the segment's group however many groups it is in: here
 * 10 (a short list) and 300 (more than fit on the stack, and more than the 256 once read),
 * with the segment's group last, and the same lists without it.
 */
static void test_many_groups(void **state)
{
	enum { GROUP = 54321, MANY = 300 };
	struct open_as o;
	gid_t list[MANY];
	key_t key;
	int id;
	(void)state;

	if (geteuid() != 0)
		skip();
	struct pshm_seg *s = make_keyed(&key, &id, PAGE, 0660);
	tu_ok(pshm_chown(s, (uid_t)-1, GROUP));
	for (size_t n = 10; n <= MANY; n += MANY - 10) {
		for (size_t i = 0; i < n; i++)
			list[i] = (gid_t)(60000 + i);
		list[n - 1] = GROUP;
		for (int by_id = 0; by_id < 2; by_id++) {
			if (by_id)
				id_addr(o.addr, sizeof(o.addr), id);
			else
				key_addr(o.addr, sizeof(o.addr), key);
			o.expect = 0;
			o.flags = 0;
			int rc = tu_as_nobody_in(list, n, open_rw_as, &o);
			if (rc == 99)
				tu_skip_test("cannot become uid 65534 in %zu groups", n);
			if (rc != 0)
				fail_msg("%s in %zu groups, its group last: child says %d", o.addr,
				         n, rc);
			o.flags = PSHM_RDONLY;
			assert_int_equal(tu_as_nobody_in(list, n, open_rw_as, &o), 0);
			/* Not a member: the other bits, none here. */
			list[n - 1] = 59999;
			o.expect = -EACCES;
			assert_int_equal(tu_as_nobody_in(list, n, open_rw_as, &o), 0);
			o.flags = 0;
			assert_int_equal(tu_as_nobody_in(list, n, open_rw_as, &o), 0);
			list[n - 1] = GROUP;
		}
	}
	/* The writes of the members arrived. */
	void *p;
	size_t len;
	tu_ok(pshm_map(s, 0, &p, &len));
	assert_int_equal(((volatile char *)p)[0], 'g');
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_close(s));
}

/* ---- removing ---------------------------------------------------------------------------- */

static void test_destroy(void **state)
{
	struct pshm_seg *s, *t = NULL;
	struct pshm_stat st;
	char addr[32], idaddr[32];
	char *p;
	size_t len;
	key_t key;
	int id;
	(void)state;

	/* Attached: marked for removal, the key freed at once, the memory kept until detach. */
	s = make_keyed(&key, &id, PAGE, 0);
	key_addr(addr, sizeof(addr), key);
	id_addr(idaddr, sizeof(idaddr), id);
	tu_ok(pshm_map(s, 0, (void **)&p, &len));
	p[0] = 42;
	tu_ok(pshm_destroy(s));
	tu_ok(pshm_stat(s, &st));
	assert_true(st.removed);
	assert_int_equal(st.nattch, 1);
	tu_ok(pshm_stat_addr(idaddr, &st));
	assert_true(st.removed);
	tu_err(pshm_stat_addr(addr, &st), -ENOENT);
	tu_err(pshm_open(&t, addr, 0), -ENOENT);
	assert_int_equal(p[0], 42);
	p[0] = 43;

	/* The last detach destroys it. */
	tu_ok(pshm_unmap(s));
	tu_err(pshm_stat_addr(idaddr, &st), -ENOENT);
	tu_err(pshm_stat(s, &st), -EIDRM);
	assert_true(shmctl(id, IPC_STAT, &(struct shmid_ds){0}) < 0);
	tu_ok(pshm_close(s));

	/* Not attached: gone at once. */
	s = make_keyed(&key, &id, PAGE, 0);
	id_addr(idaddr, sizeof(idaddr), id);
	tu_ok(pshm_destroy(s));
	tu_err(pshm_stat_addr(idaddr, &st), -ENOENT);
	tu_err(pshm_stat(s, &st), -EIDRM);
	tu_ok(pshm_close(s));
	assert_null(t);
}

static void test_remove(void **state)
{
	struct pshm_seg *s;
	struct pshm_stat st;
	char addr[32], canon[32], idaddr[32];
	key_t key;
	int id;
	(void)state;

	/* By key, in the canonical spelling. */
	s = make_keyed(&key, &id, PAGE, 0);
	tu_ok(pshm_close(s));
	tu_ok(pshm_destroy_addr(canon_addr(canon, sizeof(canon), key)));
	assert_true(shmget(key, 0, 0) < 0 && errno == ENOENT);
	tu_err(pshm_destroy_addr(canon), -ENOENT);
	tu_err(pshm_destroy_addr(key_addr(addr, sizeof(addr), key)), -ENOENT);
	tu_err(pshm_stat_addr(canon, &st), -ENOENT);
	tu_err(pshm_stat_addr(id_addr(idaddr, sizeof(idaddr), id), &st), -ENOENT);

	/* By identifier. */
	s = make_keyed(&key, &id, PAGE, 0);
	tu_ok(pshm_close(s));
	tu_ok(pshm_destroy_addr(id_addr(idaddr, sizeof(idaddr), id)));
	assert_true(shmctl(id, IPC_STAT, &(struct shmid_ds){0}) < 0);
	tu_err(pshm_destroy_addr(idaddr), -ENOENT);
	tu_err(pshm_stat_addr(idaddr, &st), -ENOENT);
	tu_err(pshm_open(&s, key_addr(addr, sizeof(addr), key), 0), -ENOENT);
}

/* ---- util-linux -------------------------------------------------------------------------- */

static bool have_util_linux(void)
{
	return system("command -v ipcmk >/dev/null 2>&1 && command -v ipcs >/dev/null 2>&1 && "
	              "command -v ipcrm >/dev/null 2>&1") == 0;
}

/* Run CMD through the shell; its output (stdout and stderr) into BUF, its exit status back. */
static int run(const char *cmd, char *buf, size_t size)
{
	char full[256];
	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	FILE *f = popen(full, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	int status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Make a segment with ipcmk; its identifier. */
static int ipcmk(const char *args)
{
	char cmd[128], out[256];
	int id;

	snprintf(cmd, sizeof(cmd), "ipcmk %s", args);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	if (sscanf(out, "Shared memory id: %d", &id) != 1)
		fail_msg("unexpected ipcmk output: %s", out);
	track_id(id);
	return id;
}

/* True when `ipcs -m -i ID` still describes segment ID. */
static bool ipcs_knows(int id, char *out, size_t size)
{
	char cmd[64], want[32];

	snprintf(cmd, sizeof(cmd), "ipcs -m -i %d", id);
	run(cmd, out, size);
	snprintf(want, sizeof(want), "shmid=%d\n", id);
	return strstr(out, want) != NULL;
}

static void test_ipcmk_then_pshm(void **state)
{
	struct pshm_seg *s = NULL;
	struct pshm_stat st;
	char addr[32], canon[32], out[1024];
	(void)state;

	if (!have_util_linux())
		skip();
	int id = ipcmk("-M 8192 -p 0640");
	struct shmid_ds ds = kernel_stat(id);
	assert_int_not_equal(ds.shm_cpid, getpid());

	tu_ok(pshm_open(&s, id_addr(addr, sizeof(addr), id), 0));
	assert_int_equal(pshm_kind(s), PSHM_SYSV);
	if (ds.shm_perm.__key != IPC_PRIVATE)
		assert_string_equal(pshm_address(s),
		                    canon_addr(canon, sizeof(canon), ds.shm_perm.__key));
	tu_ok(pshm_stat(s, &st));
	assert_int_equal(st.size, 8192);
	assert_int_equal(st.mode, 0640);
	assert_int_equal(st.id, id);
	assert_int_equal(st.cpid, ds.shm_cpid);
	void *p;
	size_t len;
	tu_ok(pshm_map(s, 0, &p, &len));
	assert_int_equal(len, 8192);
	tu_ok(pshm_close(s));

	/* pshm removes what ipcmk made, and ipcs no longer finds it. */
	assert_true(ipcs_knows(id, out, sizeof(out)));
	tu_ok(pshm_destroy_addr(addr));
	assert_false(ipcs_knows(id, out, sizeof(out)));
	assert_non_null(strstr(out, "not found"));
	tu_err(pshm_open(&s, addr, 0), -ENOENT);
}

static void test_pshm_then_ipcs(void **state)
{
	struct pshm_seg *s = NULL;
	char addr[32], canon[32], out[2048], cmd[64], want[64];
	key_t key;
	int id;
	(void)state;

	if (!have_util_linux())
		skip();
	s = make_keyed(&key, &id, 12288, 0640);
	tu_ok(pshm_close(s));

	/* ipcs describes it by identifier, with its size and mode, and lists it under its key. */
	assert_true(ipcs_knows(id, out, sizeof(out)));
	assert_non_null(strstr(out, "bytes=12288"));
	assert_non_null(strstr(out, "mode=0640"));
	assert_int_equal(run("ipcs -m", out, sizeof(out)), 0);
	canon_addr(canon, sizeof(canon), key);
	snprintf(want, sizeof(want), "%s %-10d", canon + 5, id);
	assert_non_null(strstr(out, want));

	/* ipcrm removes what pshm made, and pshm no longer finds it. */
	snprintf(cmd, sizeof(cmd), "ipcrm -m %d", id);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	tu_err(pshm_open(&s, key_addr(addr, sizeof(addr), key), 0), -ENOENT);
	tu_err(pshm_open(&s, id_addr(addr, sizeof(addr), id), 0), -ENOENT);
	tu_err(pshm_stat_addr(addr, &(struct pshm_stat){0}), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_by_key),
	    cmocka_unit_test(test_create_or_open_new),
	    cmocka_unit_test(test_create_private),
	    cmocka_unit_test(test_create_size_zero),
	    cmocka_unit_test(test_create_mode),
	    cmocka_unit_test(test_create_sparse),
	    cmocka_unit_test(test_open_by_key_and_id),
	    cmocka_unit_test(test_open_missing),
	    cmocka_unit_test(test_populate),
	    cmocka_unit_test(test_populate_beside_writer),
	    cmocka_unit_test(test_no_resize_no_fd),
	    cmocka_unit_test(test_chmod_chown),
	    cmocka_unit_test(test_stat),
	    cmocka_unit_test(test_page_size),
	    cmocka_unit_test(test_stat_addr_without_permission),
	    cmocka_unit_test(test_eacces),
	    cmocka_unit_test(test_many_groups),
	    cmocka_unit_test(test_destroy),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_ipcmk_then_pshm),
	    cmocka_unit_test(test_pshm_then_ipcs),
	};

	if (access("/proc/sysvipc/shm", R_OK) < 0)
		tu_skip_all("no System V shared memory here (/proc/sysvipc/shm)");
	atexit(remove_made);
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
