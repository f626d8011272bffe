/*
 * test_addr.c - the address syntax, seen through the public API (pshm_stat_addr, pshm_open,
 * pshm_destroy_addr, pshm_create), pshm_parse_size() and pshm_kind_name().
 *
 * Malformed addresses must give PSHM_EADDR from every entry point and touch nothing; well-formed
 * ones must reach their technique, which is shown by the technique's own answer for something
 * that does not exist (or, where something is made for the purpose, by finding it).
 */
#include "testutil.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/shm.h>

static const char *private_dir;

/* ---- sizes ---------------------------------------------------------------------------------- */

struct size_case {
	const char *text;
	int err;        /* 0, -EINVAL or -ERANGE */
	uint64_t value; /* when err is 0 */
};

static const struct size_case size_cases[] = {
    {"0", 0, 0},
    {"1", 0, 1},
    {"4096", 0, 4096},
    {"4K", 0, 4096},
    {"4k", 0, 4096},
    {"4KiB", 0, 4096},
    {"4KB", 0, 4000},
    {"4B", 0, 4},
    {"1.5M", 0, 1572864},
    {"1.5MB", 0, 1500000},
    {"2G", 0, 2147483648ull},
    {"1T", 0, 1099511627776ull},
    {"1MB", 0, 1000000},
    {"1MiB", 0, 1048576},
    {"0.5K", 0, 512},
    {"0.25K", 0, 256},
    {"1P", 0, 1ull << 50},
    {"7E", 0, 7ull << 60},
    {"9223372036854775807", 0, 9223372036854775807ull},
    /* Units in any case, as ipcmk(1) takes them: B alone or after the letter is 1000s. */
    {"10mb", 0, 10000000},
    {"10m", 0, 10485760},
    {"4kib", 0, 4096},
    {"4kb", 0, 4000},
    {"4KIB", 0, 4096},
    {"4kIb", 0, 4096},
    {"4Kb", 0, 4000},
    {"4b", 0, 4},
    {"1.5gib", 0, 1610612736ull},
    {"2eb", 0, 2000000000000000000ull},
    /* Hexadecimal: a count of bytes, without unit or fraction; a leading 0 is still decimal. */
    {"0x1000", 0, 4096},
    {"0X1000", 0, 4096},
    {"0xfF", 0, 255},
    {"0x10b", 0, 267},
    {"0x1E", 0, 30},
    {"0x0", 0, 0},
    {"0x00000000000000000000000000000001", 0, 1},
    {"0x7fffffffffffffff", 0, 9223372036854775807ull},
    {"010", 0, 10},
    /* Fractions are exact, from every digit, and rounded down to a whole byte. */
    {"1.25E", 0, 1441151880758558720ull},
    {"0.75EB", 0, 750000000000000000ull},
    {"0.123456789T", 0, 135742175033ull},
    {"5.5P", 0, 6192449487634432ull},
    {"1.5", 0, 1},
    {"0.5", 0, 0},
    {"0.5B", 0, 0},
    {"0.999K", 0, 1022},
    {"0.0009765625K", 0, 1},
    {"0.0009765624K", 0, 0},
    {"0.3333333333333333333333333333333333333333M", 0, 349525},
    {"1.000000000000000000000000000000000000000000000000000000000001K", 0, 1024},
    {"6.9999999999999999999999999999999999999E", 0, 8070450532247928831ull},
    {"7.999999999999999999E", 0, 9223372036854775806ull},
    {"7.9999999999999999999E", 0, 9223372036854775807ull},
    {"9.223372036854775807EB", 0, 9223372036854775807ull},
    {"9223372036854775807.9", 0, 9223372036854775807ull},
    {"0000000000000000000000000000000000000004K", 0, 4096},
    {"", -EINVAL, 0},
    {"K", -EINVAL, 0},
    {"-1", -EINVAL, 0},
    {"+1", -EINVAL, 0},
    {"1.", -EINVAL, 0},
    {".5K", -EINVAL, 0},
    {"1.5X", -EINVAL, 0},
    {"4X", -EINVAL, 0},
    {"4KiBB", -EINVAL, 0},
    {"4KBB", -EINVAL, 0},
    {"4iB", -EINVAL, 0},
    {" 4", -EINVAL, 0},
    {"4 K", -EINVAL, 0},
    {"4K ", -EINVAL, 0},
    {"4ib", -EINVAL, 0},
    {"4kibb", -EINVAL, 0},
    {"4bb", -EINVAL, 0},
    {"4kbit", -EINVAL, 0},
    {"4kI", -EINVAL, 0},
    {"4I", -EINVAL, 0},
    {"4 kb", -EINVAL, 0},
    {"0x", -EINVAL, 0},
    {"0X", -EINVAL, 0},
    {"0xg", -EINVAL, 0},
    {"0x10K", -EINVAL, 0},
    {"0x10KiB", -EINVAL, 0},
    {"0x1.5", -EINVAL, 0},
    {"0x-1", -EINVAL, 0},
    {"0x+1", -EINVAL, 0},
    {"0x 1", -EINVAL, 0},
    {"0x1 ", -EINVAL, 0},
    {"00x10", -EINVAL, 0},
    {"x10", -EINVAL, 0},
    {"0x8000000000000000", -ERANGE, 0},
    {"0xffffffffffffffff", -ERANGE, 0},
    {"0x10000000000000000", -ERANGE, 0},
    {"0x10000000000000000g", -EINVAL, 0},
    {"99999999999999999999", -ERANGE, 0},
    {"9E", -ERANGE, 0},
    {"16E", -ERANGE, 0},
    {"9223372036854775808", -ERANGE, 0},
    {"9.223372036854775808EB", -ERANGE, 0},
    {"8E", -ERANGE, 0},
    {"8.0E", -ERANGE, 0},
    {"8192P", -ERANGE, 0},
    {"18446744073709551615", -ERANGE, 0},
    {"18446744073709551616", -ERANGE, 0},
    {"1000000000000000000000000000000000000000", -ERANGE, 0},
    /* Malformed text is EINVAL, however large its number; hex sizes take no unit. */
    {"99999999999999999999X", -EINVAL, 0},
    {"16E-1", -EINVAL, 0},
    {"1e3", -EINVAL, 0},
    {"1.5.5", -EINVAL, 0},
    {"0x1K", -EINVAL, 0},
    {"1.-5", -EINVAL, 0},
};

static void test_parse_size(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *c = &size_cases[i];
		uint64_t v = 12345;
		int r = pshm_parse_size(c->text, &v);
		if (r != c->err)
			fail_msg("pshm_parse_size(\"%s\") = %d (%s), expected %d (%s)", c->text, r,
			         pshm_strerror(r), c->err, pshm_strerror(c->err));
		if (!r && v != c->value)
			fail_msg("pshm_parse_size(\"%s\") gave %llu, expected %llu", c->text,
			         (unsigned long long)v, (unsigned long long)c->value);
	}
	uint64_t v;
	tu_err(pshm_parse_size(NULL, &v), -EINVAL);
}

/* Text longer than any fixed buffer: every digit still counts, and failures leave *SIZEP. */
static void test_parse_size_long(void **state)
{
	(void)state;
	char text[4096];
	uint64_t v;

	/* 0.99...9K with 4000 nines is 1024 less a tiny amount: 1023 whole bytes. */
	text[0] = '0';
	text[1] = '.';
	memset(text + 2, '9', 4000);
	strcpy(text + 4002, "K");
	tu_ok(pshm_parse_size(text, &v));
	assert_int_equal(v, 1023);
	/* 1.00...01E: a 1 in the 4000th decimal place adds less than a byte. */
	text[0] = '1';
	memset(text + 2, '0', 3999);
	text[4001] = '1';
	strcpy(text + 4002, "E");
	tu_ok(pshm_parse_size(text, &v));
	assert_int_equal(v, 1ull << 60);
	/* 7.99...9E with 4000 nines: 2^63 less less than a byte, the largest size. */
	text[0] = '7';
	memset(text + 2, '9', 4000);
	strcpy(text + 4002, "E");
	tu_ok(pshm_parse_size(text, &v));
	assert_int_equal(v, (uint64_t)INT64_MAX);
	/* 4000 digits of whole number overflow; 4000 zeros then 1 do not. */
	memset(text, '9', 4000);
	text[4000] = '\0';
	v = 7;
	tu_err(pshm_parse_size(text, &v), -ERANGE);
	assert_int_equal(v, 7);
	memset(text, '0', 4000);
	strcpy(text + 4000, "1M");
	tu_ok(pshm_parse_size(text, &v));
	assert_int_equal(v, 1ull << 20);
}

/* ---- malformed addresses ----------------------------------------------------------------- */

static const char *const malformed[] = {
    "",
    "sysv:",
    "sysv:xyz",
    "sysv:-1",
    "sysv:-0",
    "sysv:+1",
    "sysv: 1",
    "sysv:1 ",
    "sysv:0x",
    "sysv:0x1ffffffff",
    "sysv:4294967296",
    "sysv:09",
    "sysv:08",
    "sysv:0xg",
    "sysv:0x-1",
    "sysv:1x",
    "sysv:0x100000000",
    "sysv:040000000000",
    "sysv:id=",
    "sysv:id=-3",
    "sysv:id=-0",
    "sysv:id=x",
    "sysv:id=0x5",
    "sysv:id=2147483648",
    "memfd:abc",
    "memfd:1",
    "memfd:1:",
    "memfd::3",
    "memfd:0:3",
    "memfd:-1:3",
    "memfd:1:-3",
    "memfd:1:-0",
    "memfd:1:+2",
    "memfd:1:2:3",
    "memfd:1:x",
    "memfd:99999999999999999999999:1",
    "file:",
    "bogus:thing",
    "a:b",
    "shm:x",
};

/* Malformed addresses are refused by every entry point, before anything is touched. */
static void test_malformed(void **state)
{
	struct pshm_stat st;
	struct pshm_seg *seg = NULL;
	(void)state;

	int before = tu_count_entries(private_dir);
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		const char *a = malformed[i];
		print_message("address \"%s\"\n", a);
		tu_err(pshm_stat_addr(a, &st), PSHM_EADDR);
		tu_err(pshm_open(&seg, a, 0), PSHM_EADDR);
		tu_err(pshm_open(&seg, a, PSHM_RDONLY), PSHM_EADDR);
		tu_err(pshm_destroy_addr(a), PSHM_EADDR);
		tu_err(pshm_create(&seg, a, 4096, 0600, 0), PSHM_EADDR);
		assert_null(seg);
	}
	tu_err(pshm_stat_addr(NULL, &st), PSHM_EADDR);
	tu_err(pshm_open(&seg, NULL, 0), PSHM_EADDR);
	tu_err(pshm_destroy_addr(NULL), PSHM_EADDR);
	tu_err(pshm_create(&seg, NULL, 4096, 0600, 0), PSHM_EADDR);
	assert_int_equal(tu_count_entries(private_dir), before);
}

/* ---- well-formed addresses of things that do not exist --------------------------------------- */

/* Every way of reaching ADDR reports ERR (open and stat alike), and removing it REMOVE_ERR. */
static void expect_absent(const char *addr, int err, int remove_err)
{
	struct pshm_stat st;
	struct pshm_seg *seg = NULL;

	print_message("address \"%.60s\"\n", addr);
	tu_err(pshm_stat_addr(addr, &st), err);
	tu_err(pshm_open(&seg, addr, 0), err);
	tu_err(pshm_open(&seg, addr, PSHM_RDONLY), err);
	tu_err(pshm_destroy_addr(addr), remove_err);
	assert_null(seg);
}

static void test_posix_forms(void **state)
{
	char name[64], a[128];
	(void)state;

	tu_name(name, sizeof(name), "absent");
	expect_absent(name, -ENOENT, -ENOENT);
	expect_absent(name + 1, -ENOENT, -ENOENT); /* a bare name is a POSIX name */
	snprintf(a, sizeof(a), "posix:%s", name);
	expect_absent(a, -ENOENT, -ENOENT);
	snprintf(a, sizeof(a), "posix:%s", name + 1);
	expect_absent(a, -ENOENT, -ENOENT);
	snprintf(a, sizeof(a), "///%s", name);
	expect_absent(a, -ENOENT, -ENOENT);
	/* A colon after the slash is part of the name, not a scheme. */
	snprintf(a, sizeof(a), "%s:x", name);
	expect_absent(a, -ENOENT, -ENOENT);
	snprintf(a, sizeof(a), "sem:%s", name);
	expect_absent(a, -ENOENT, -ENOENT);
	snprintf(a, sizeof(a), "sem:%s", name + 1);
	expect_absent(a, -ENOENT, -ENOENT);
}

static void test_posix_bad_names(void **state)
{
	static const char *const bad[] = {
	    "/",          "//",      "/a/b", "/.",    "/..",     "posix:",   "posix:/",
	    "posix:/a/b", "posix:.", "sem:", "sem:/", "sem:/..", "sem:/a/b",
	};
	char a[NAME_MAX + 32];
	struct pshm_seg *seg = NULL;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_absent(bad[i], -EINVAL, -EINVAL);

	/* NAME_MAX bytes after the slash fit; one more does not. */
	memset(a, 'n', sizeof(a));
	a[0] = '/';
	a[NAME_MAX + 1] = '\0';
	expect_absent(a, -ENOENT, -ENOENT);
	a[NAME_MAX + 1] = 'n';
	a[NAME_MAX + 2] = '\0';
	expect_absent(a, -ENAMETOOLONG, -ENAMETOOLONG);
	tu_err(pshm_create(&seg, a, 4096, 0600, 0), -ENAMETOOLONG);

	/* A semaphore's file is "sem." and the name: four bytes fewer are left for the name. */
	memcpy(a, "sem:/", 5);
	memset(a + 5, 'n', NAME_MAX - 4);
	a[5 + NAME_MAX - 4] = '\0';
	expect_absent(a, -ENOENT, -ENOENT);
	a[5 + NAME_MAX - 4] = 'n';
	a[5 + NAME_MAX - 3] = '\0';
	expect_absent(a, -ENAMETOOLONG, -ENAMETOOLONG);

	/* A name that fits is still too long when the shm directory leaves no room for it: the
	 * path and its NUL must fit PATH_MAX bytes. The directory, PATH_MAX - 8 bytes in
	 * components the kernel takes, does not exist: a path that fits gives ENOENT. */
	static char dir[PATH_MAX];
	for (size_t i = 0; i < PATH_MAX - 8; i++)
		dir[i] = i % 200 ? 'd' : '/';
	dir[PATH_MAX - 8] = '\0';
	const char *old = getenv("PSHM_DIR");
	char *keep = old ? strdup(old) : NULL;
	tu_use_dir(dir);
	tu_err(pshm_create(&seg, "/sevench", 4096, 0600, 0), -ENAMETOOLONG);
	tu_err(pshm_open(&seg, "/sevench", 0), -ENAMETOOLONG);
	tu_err(pshm_open(&seg, "/sixchr", 0), -ENOENT);
	tu_err(pshm_create(&seg, "/sixchr", 4096, 0600, 0), -ENOENT);
	tu_err(pshm_open(&seg, "sem:/abc", 0), -ENAMETOOLONG); /* DIR/sem.abc */
	tu_err(pshm_open(&seg, "sem:/ab", 0), -ENOENT);
	tu_use_dir(keep);
	free(keep);
}

/* The POSIX forms all name the same object, and its canonical address is "/name". */
static void test_posix_found(void **state)
{
	char name[64], a[128], sem[256];
	struct pshm_stat st;
	struct pshm_seg *seg;
	(void)state;

	tu_name(name, sizeof(name), "found");
	tu_ok(pshm_create(&seg, name, 4096, 0640, 0));
	const char *forms[4] = {name, name + 1, a, sem};
	snprintf(a, sizeof(a), "posix://%s", name + 1);
	for (int i = 0; i < 3; i++) {
		print_message("address \"%s\"\n", forms[i]);
		tu_ok(pshm_stat_addr(forms[i], &st));
		assert_int_equal(st.kind, PSHM_POSIX);
		assert_string_equal(st.address, name);
		assert_int_equal(st.size, 4096);
		assert_int_equal(st.mode, 0640);
		/* An open by any form holds the canonical address, and the object itself. */
		struct pshm_seg *o;
		tu_ok(pshm_open(&o, forms[i], PSHM_RDONLY));
		assert_string_equal(pshm_address(o), name);
		assert_int_equal(pshm_kind(o), PSHM_POSIX);
		tu_ok(pshm_stat(o, &st));
		assert_int_equal(st.size, 4096);
		tu_ok(pshm_close(o));
	}
	tu_ok(pshm_close(seg));

	/* A semaphore's object is "sem.NAME" in the shm directory, reached as "sem:/NAME". */
	snprintf(sem, sizeof(sem), "%s/sem.%s", private_dir, name + 1);
	int fd = open(sem, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 32), 0);
	close(fd);
	snprintf(a, sizeof(a), "sem:%s", name);
	tu_ok(pshm_stat_addr(a, &st));
	assert_int_equal(st.kind, PSHM_SEM);
	assert_string_equal(st.address, a);
	assert_int_equal(st.size, 32);
	tu_ok(pshm_open(&seg, a, 0));
	assert_string_equal(pshm_address(seg), a);
	assert_int_equal(pshm_kind(seg), PSHM_SEM);
	void *p;
	size_t len;
	tu_ok(pshm_map(seg, 0, &p, &len));
	assert_int_equal(len, 32);
	tu_ok(pshm_close(seg));
	tu_ok(pshm_destroy_addr(a));
	tu_err(pshm_stat_addr(a, &st), -ENOENT);

	tu_ok(pshm_destroy_addr(name + 1));
	tu_err(pshm_stat_addr(name, &st), -ENOENT);
}

static void test_file_forms(void **state)
{
	char path[256], a[300];
	struct pshm_stat st;
	(void)state;

	snprintf(a, sizeof(a), "file:/tmp/pshm-t%d-absent", (int)getpid());
	expect_absent(a, -ENOENT, -ENOENT);
	snprintf(a, sizeof(a), "file:%s/no/such/dir", private_dir);
	expect_absent(a, -ENOENT, -ENOENT);
	/* A relative path is a path too. */
	snprintf(a, sizeof(a), "file:pshm-t%d-absent", (int)getpid());
	expect_absent(a, -ENOENT, -ENOENT);

	snprintf(path, sizeof(path), "%s/file-%d", private_dir, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100), 0);
	close(fd);
	snprintf(a, sizeof(a), "file:%s", path);
	tu_ok(pshm_stat_addr(a, &st));
	assert_int_equal(st.kind, PSHM_FILE);
	assert_string_equal(st.address, a);
	assert_int_equal(st.size, 100);
	tu_ok(pshm_destroy_addr(a));
	expect_absent(a, -ENOENT, -ENOENT);

	/* A path of PATH_MAX bytes or more cannot name anything. */
	static char longp[PATH_MAX + 16];
	memcpy(longp, "file:/", 6);
	memset(longp + 6, 'p', PATH_MAX);
	longp[5 + PATH_MAX] = '\0';
	expect_absent(longp, -ENAMETOOLONG, -ENAMETOOLONG);
}

/* A System V key that nobody uses, or -1. */
static key_t free_key(void)
{
	for (unsigned i = 0; i < 64; i++) {
		key_t k = (key_t)(0x5e000000u | ((unsigned)getpid() & 0xffff) << 6 | i);
		if (shmget(k, 0, 0) < 0 && errno == ENOENT)
			return k;
	}
	return -1;
}

static void test_sysv_absent(void **state)
{
	struct shmid_ds ds;
	(void)state;

	/* The literal keys and identifiers are meaningful only if nothing uses them here. */
	if (shmget(16, 0, 0) >= 0 || errno != ENOENT)
		skip();
	expect_absent("sysv:0x10", -ENOENT, -ENOENT);
	expect_absent("sysv:16", -ENOENT, -ENOENT);
	expect_absent("sysv:020", -ENOENT, -ENOENT);
	expect_absent("sysv:0X10", -ENOENT, -ENOENT);
	expect_absent("sysv:00000000020", -ENOENT, -ENOENT);
	/* The largest key, in each base. */
	if (shmget((key_t)0xffffffffu, 0, 0) < 0 && errno == ENOENT) {
		expect_absent("sysv:4294967295", -ENOENT, -ENOENT);
		expect_absent("sysv:0xFFFFffff", -ENOENT, -ENOENT);
		expect_absent("sysv:037777777777", -ENOENT, -ENOENT);
	}
	if (shmctl(5, IPC_STAT, &ds) == 0 || errno != EINVAL)
		skip();
	expect_absent("sysv:id=5", -ENOENT, -ENOENT);
	expect_absent("sysv:id=2147483647", -ENOENT, -ENOENT);
}

/* Decimal, hex, octal and id= all reach the segment made at one key. */
static void test_sysv_found(void **state)
{
	char a[64];
	struct pshm_stat st;
	struct pshm_seg *seg;
	(void)state;

	key_t key = free_key();
	if (key == -1)
		skip();
	snprintf(a, sizeof(a), "sysv:%#x", (unsigned)key);
	tu_ok(pshm_create(&seg, a, 8192, 0600, 0));
	char canon[64];
	snprintf(canon, sizeof(canon), "sysv:0x%08x", (unsigned)key);
	assert_string_equal(pshm_address(seg), canon);
	tu_ok(pshm_stat(seg, &st));
	int id = st.id;
	tu_ok(pshm_close(seg));

	char forms[4][64];
	snprintf(forms[0], sizeof(forms[0]), "sysv:%u", (unsigned)key);
	snprintf(forms[1], sizeof(forms[1]), "sysv:0X%X", (unsigned)key);
	snprintf(forms[2], sizeof(forms[2]), "sysv:0%o", (unsigned)key);
	snprintf(forms[3], sizeof(forms[3]), "sysv:id=%d", id);
	for (int i = 0; i < 4; i++) {
		print_message("address \"%s\"\n", forms[i]);
		tu_ok(pshm_stat_addr(forms[i], &st));
		assert_int_equal(st.kind, PSHM_SYSV);
		assert_int_equal(st.id, id);
		assert_int_equal(st.key, key);
		assert_int_equal(st.size, 8192);
		assert_string_equal(st.address, canon);
		tu_ok(pshm_open(&seg, forms[i], PSHM_RDONLY));
		assert_string_equal(pshm_address(seg), canon);
		tu_ok(pshm_close(seg));
	}
	tu_ok(pshm_destroy_addr(forms[3]));
	expect_absent(forms[0], -ENOENT, -ENOENT);
	expect_absent(forms[3], -ENOENT, -ENOENT);
}

static void test_memfd_forms(void **state)
{
	char a[64];
	struct pshm_stat st;
	struct pshm_seg *seg = NULL, *seg2;
	(void)state;

	/* "memfd:" only ever makes a new one; it has no name to remove. */
	tu_err(pshm_stat_addr("memfd:", &st), -ENOENT);
	tu_err(pshm_open(&seg, "memfd:", 0), -ENOENT);
	tu_err(pshm_destroy_addr("memfd:"), -EOPNOTSUPP);
	assert_null(seg);

	/* Another process's descriptor: whatever pid 1 holds, the address itself is accepted. */
	int r = pshm_stat_addr("memfd:1:2", &st);
	assert_true(r != PSHM_EADDR && r <= 0);
	r = pshm_open(&seg, "memfd:1:2", PSHM_RDONLY);
	assert_true(r != PSHM_EADDR && r <= 0);
	if (r == 0)
		tu_ok(pshm_close(seg));
	tu_err(pshm_destroy_addr("memfd:1:2"), -EOPNOTSUPP);

	/* This process's descriptors: one not open, one that is no memfd, and a real one. */
	snprintf(a, sizeof(a), "memfd:%d:%d", (int)getpid(), 987);
	assert_int_equal(fcntl(987, F_GETFD), -1);
	tu_err(pshm_stat_addr(a, &st), -ENOENT);
	tu_err(pshm_open(&seg, a, 0), -ENOENT);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null >= 0);
	snprintf(a, sizeof(a), "memfd:%d:%d", (int)getpid(), null);
	tu_err(pshm_stat_addr(a, &st), -EINVAL);
	tu_err(pshm_open(&seg, a, 0), -EINVAL);
	close(null);

	tu_ok(pshm_create(&seg, "memfd:", 4096, 0600, 0));
	const char *addr = pshm_address(seg);
	snprintf(a, sizeof(a), "memfd:%d:%d", (int)getpid(), pshm_fd(seg));
	assert_string_equal(addr, a);
	tu_ok(pshm_stat_addr(addr, &st));
	assert_int_equal(st.kind, PSHM_MEMFD);
	assert_int_equal(st.size, 4096);
	tu_ok(pshm_open(&seg2, addr, 0));
	assert_int_equal(pshm_kind(seg2), PSHM_MEMFD);
	tu_ok(pshm_close(seg2));
	tu_err(pshm_destroy_addr(addr), -EOPNOTSUPP);
	tu_ok(pshm_close(seg));
}

/* ---- kinds ---------------------------------------------------------------------------------- */

static void test_kind_name(void **state)
{
	(void)state;
	assert_string_equal(pshm_kind_name(PSHM_POSIX), "posix");
	assert_string_equal(pshm_kind_name(PSHM_SYSV), "sysv");
	assert_string_equal(pshm_kind_name(PSHM_FILE), "file");
	assert_string_equal(pshm_kind_name(PSHM_MEMFD), "memfd");
	assert_string_equal(pshm_kind_name(PSHM_SEM), "sem");
	assert_string_equal(pshm_kind_name(0), "unknown");
	assert_string_equal(pshm_kind_name(6), "unknown");
	assert_string_equal(pshm_kind_name(-1), "unknown");
	assert_string_equal(pshm_kind_name(INT_MAX), "unknown");
	assert_string_equal(pshm_kind_name(INT_MIN), "unknown");
}

int main(void)
{
	private_dir = tu_dir_setup();

	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),      cmocka_unit_test(test_parse_size_long),
	    cmocka_unit_test(test_malformed),       cmocka_unit_test(test_posix_forms),
	    cmocka_unit_test(test_posix_bad_names), cmocka_unit_test(test_posix_found),
	    cmocka_unit_test(test_file_forms),      cmocka_unit_test(test_sysv_absent),
	    cmocka_unit_test(test_sysv_found),      cmocka_unit_test(test_memfd_forms),
	    cmocka_unit_test(test_kind_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
