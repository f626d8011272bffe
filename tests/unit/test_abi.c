/*
 * test_abi.c - the binary interface of pshm.h: the public structures' layout whatever the
 * caller's feature macros, with no padding (so the same on every architecture, whatever it
 * aligns 64-bit members to) and the sizes the library was built with; the values of every
 * public constant, which compiled callers hold; and reserved space that the library zeroes.
 *
 * The layout tables come from abi_layout.c, compiled three times by the Makefile: with the
 * project's flags (_GNU_SOURCE, _FILE_OFFSET_BITS=64), in strict ISO C with 32-bit file
 * offsets, and with 64-bit time (_TIME_BITS=64).
 */
#include "testutil.h"

#include "abi_layout.h"

static void check_same(const char *what, size_t (*layout)(const struct abi_entry **))
{
	const struct abi_entry *want, *got;
	size_t n = abi_layout_default(&want);

	assert_int_equal(layout(&got), n);
	for (size_t i = 0; i < n; i++) {
		const struct abi_entry *w = &want[i], *g = &got[i];
		assert_string_equal(g->type, w->type);
		if (g->offset != w->offset || g->size != w->size || g->align != w->align)
			fail_msg(
			    "%s: struct %s%s%s at %zu, %zu bytes, aligned %zu; by default at %zu, "
			    "%zu bytes, aligned %zu",
			    what, w->type, w->member ? "." : "", w->member ? w->member : "",
			    g->offset, g->size, g->align, w->offset, w->size, w->align);
	}
}

/* A caller's feature macros do not move a byte. */
static void test_same_layout(void **state)
{
	(void)state;
	check_same("-std=c11 -D_FILE_OFFSET_BITS=32", abi_layout_off32);
	check_same("-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64", abi_layout_time64);
}

/*
 * Each member starts where the one before it ends, and the last ends the structure: no byte
 * is padding, so no architecture's alignment rules (4 for 64-bit members on i386) can place a
 * member elsewhere, and every byte is one the library writes.
 */
static void test_no_padding(void **state)
{
	(void)state;
	const struct abi_entry *t;
	size_t n = abi_layout_default(&t);
	size_t end = 0;
	const char *type = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!t[i].member) {
			/* The structure's entry comes after its members'. */
			if (type && !strcmp(type, t[i].type) && end != t[i].size)
				fail_msg("struct %s: members end at %zu of %zu bytes", t[i].type,
				         end, t[i].size);
			continue;
		}
		if (!type || strcmp(type, t[i].type)) {
			type = t[i].type;
			end = 0;
		}
		if (t[i].offset != end)
			fail_msg("struct %s: %s at %zu, after padding from %zu", type, t[i].member,
			         t[i].offset, end);
		end = t[i].offset + t[i].size;
	}
	/* Every structure was checked against its members. */
	for (size_t i = 0; i < n; i++) {
		if (t[i].member)
			continue;
		size_t sum = 0;
		for (size_t j = 0; j < n; j++)
			if (t[j].member && !strcmp(t[j].type, t[i].type))
				sum += t[j].size;
		assert_int_equal(sum, t[i].size);
	}
}

/* The sizes libpshm.so.1 was built with (the library asserts the same). */
static void test_sizes(void **state)
{
	(void)state;
	struct pshm_stat st;

	assert_int_equal(sizeof(struct pshm_time), 16);
	assert_int_equal(sizeof(struct pshm_stat), 4440);
	assert_int_equal(sizeof(struct pshm_chan_stat), 136);
	assert_int_equal(PSHM_ADDRESS_MAX, 4160);
	assert_int_equal(sizeof(st.address), PSHM_ADDRESS_MAX);
	assert_int_equal(sizeof(st.reserved), 112);
	assert_int_equal(sizeof(((struct pshm_chan_stat *)0)->reserved), 64);
}

/* Compiled callers hold these values: none may change. */
static void test_constants(void **state)
{
	(void)state;

	assert_int_equal(PSHM_VERSION_MAJOR, 1);
	assert_string_equal(pshm_version(), PSHM_VERSION_STRING);

	assert_int_equal(PSHM_POSIX, 1);
	assert_int_equal(PSHM_SYSV, 2);
	assert_int_equal(PSHM_FILE, 3);
	assert_int_equal(PSHM_MEMFD, 4);
	assert_int_equal(PSHM_SEM, 5);

	assert_int_equal(PSHM_OPEN_OR_CREATE, 1);
	assert_int_equal(PSHM_SPARSE, 2);
	assert_int_equal(PSHM_RDONLY, 4);
	assert_int_equal(PSHM_POPULATE, 8);
	assert_int_equal(PSHM_MAP_GUARD, 16);
	assert_int_equal(PSHM_ATTRS, 32);
	assert_int_equal(PSHM_LEASE, 64);
	assert_int_equal(PSHM_HUGE, 128);
	assert_int_equal(PSHM_HUGE_SHIFT, 26);
	assert_true(PSHM_HUGE_MASK == 0xfc000000u);
	assert_true(PSHM_HUGE_2MB == (128u | 21u << 26));
	assert_true(PSHM_HUGE_1GB == (128u | 30u << 26));
	assert_true(PSHM_LEASE_OFFSET == (int64_t)1 << 62);
	assert_int_equal(sizeof(PSHM_LEASE_OFFSET), 8);
	assert_true(PSHM_LEASES_UNKNOWN == UINT32_MAX);

	assert_int_equal(PSHM_LIST_POSIX, 1 << PSHM_POSIX);
	assert_int_equal(PSHM_LIST_SYSV, 1 << PSHM_SYSV);
	assert_int_equal(PSHM_LIST_MEMFD, 1 << PSHM_MEMFD);
	assert_int_equal(PSHM_LIST_SEM, 1 << PSHM_SEM);
	assert_int_equal(PSHM_LIST_DEFAULT, PSHM_LIST_POSIX | PSHM_LIST_SYSV);
	assert_int_equal(PSHM_LIST_ALL, 0x36);

	assert_int_equal(PSHM_GC_DRY_RUN, 1);
	assert_int_equal(PSHM_GC_LEASES, 2);
	assert_int_equal(PSHM_GC_BEACONS, 4);
	assert_int_equal(PSHM_GC_DEAD_LEASE, 1);
	assert_int_equal(PSHM_GC_DEAD_BEACON, 2);

	assert_int_equal(PSHM_SEAL_SEAL, 0x01);
	assert_int_equal(PSHM_SEAL_SHRINK, 0x02);
	assert_int_equal(PSHM_SEAL_GROW, 0x04);
	assert_int_equal(PSHM_SEAL_WRITE, 0x08);
	assert_int_equal(PSHM_SEAL_FUTURE_WRITE, 0x10);
	assert_int_equal(PSHM_SEAL_EXEC, 0x20);

	assert_int_equal(PSHM_CHAN_QUEUE, 0);
	assert_int_equal(PSHM_CHAN_BROADCAST, 0x100);
	assert_int_equal(PSHM_CHAN_LOSSLESS, 0x200);
	assert_int_equal(PSHM_CHAN_FROM_OLDEST, 0x400);
	assert_int_equal(PSHM_CHAN_MANY_WRITERS, 0x800);
	assert_int_equal(PSHM_CHAN_FOLLOW, 0x1000);
	assert_int_equal(PSHM_CHAN_MAX_WRITERS, 64);
	assert_int_equal(PSHM_CHAN_WRITER, 1);
	assert_int_equal(PSHM_CHAN_READER, 2);
	assert_int_equal(PSHM_CHAN_WRITER_NONE, 0);
	assert_int_equal(PSHM_CHAN_WRITER_ATTACHED, 1);
	assert_int_equal(PSHM_CHAN_WRITER_DETACHED, 2);
	assert_int_equal(PSHM_CHAN_WRITER_DIED, 3);
	assert_int_equal(PSHM_CHAN_WRITER_ABORTED, 4);
	assert_int_equal(PSHM_CHAN_FOREVER, -1);
	assert_int_equal(PSHM_CHAN_MAX_READERS, 64);
	assert_int_equal(PSHM_CHAN_HEADER_SIZE, 8192);
	assert_int_equal(sizeof(PSHM_CHAN_MAGIC), 9);
	assert_memory_equal(PSHM_CHAN_MAGIC, "pshmchan", 8);

	assert_int_equal(PSHM_EADDR, -20001);
	assert_int_equal(PSHM_EKIND, -20002);
	assert_int_equal(PSHM_ETRUNCATED, -20003);
}

static void assert_reserved_zero(const struct pshm_stat *st)
{
	for (size_t i = 0; i < sizeof(st->reserved) / sizeof(st->reserved[0]); i++)
		assert_int_equal(st->reserved[i], 0);
}

static int check_listed(const struct pshm_stat *st, void *arg)
{
	(void)arg;
	assert_reserved_zero(st);
	return 0;
}

/* Whatever the caller's buffer held, what the library fills in has its reserved space zero. */
static void test_reserved_zeroed(void **state)
{
	(void)state;
	struct pshm_seg *seg;
	struct pshm_stat st;
	struct pshm_chan_stat cst;
	char name[64];

	tu_ok(pshm_create(&seg, tu_name(name, sizeof(name), "abi"), 4096, 0, 0));
	memset(&st, 0xa5, sizeof(st));
	tu_ok(pshm_stat(seg, &st));
	assert_reserved_zero(&st);
	assert_string_equal(st.address, name);
	memset(&st, 0xa5, sizeof(st));
	tu_ok(pshm_stat_addr(name, &st));
	assert_reserved_zero(&st);
	assert_true(pshm_list(PSHM_LIST_ALL, check_listed, NULL, NULL) >= 1);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));

	tu_ok(pshm_chan_create(tu_name(name, sizeof(name), "abichan"), 4096, 0, 0));
	memset(&cst, 0xa5, sizeof(cst));
	tu_ok(pshm_chan_stat_addr(name, &cst));
	assert_int_equal(cst.writers, 0);
	for (size_t i = 0; i < sizeof(cst.reserved) / sizeof(cst.reserved[0]); i++)
		assert_int_equal(cst.reserved[i], 0);
	assert_int_equal(cst.mode, PSHM_CHAN_QUEUE);
	assert_int_equal(cst.writer, PSHM_CHAN_WRITER_NONE);
	tu_ok(pshm_destroy_addr(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_layout),     cmocka_unit_test(test_no_padding),
	    cmocka_unit_test(test_sizes),           cmocka_unit_test(test_constants),
	    cmocka_unit_test(test_reserved_zeroed),
	};

	tu_dir_setup();
	return cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0;
}
