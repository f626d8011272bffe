/*
 * segtest.h - what the tests of named segments share (test_posix.c for POSIX objects,
 * test_file.c for regular files): the fault hook, the saved umask, the exit status, and the
 * checks both kinds must pass the same way (reservation, growth of an existing segment, empty
 * mappings, resizing, squatters under a name, refused access).
 */
#ifndef PSHM_SEGTEST_H
#define PSHM_SEGTEST_H

#include "testutil.h"

#include "internal.h"

/*
 * The fault hook: fail call FAULT_CALL the FAULT_NTH time it is made, every time when FAULT_NTH
 * is 0, or the first -FAULT_NTH times when it is negative. FAULT_SEEN counts the calls made.
 */
static enum pshm__call fault_call;
static int fault_nth, fault_errno, fault_seen;

static inline int fault_hook(enum pshm__call call)
{
	if (call != fault_call)
		return 0;
	fault_seen++;
	if (fault_nth < 0)
		return fault_seen <= -fault_nth ? fault_errno : 0;
	return fault_nth == 0 || fault_seen == fault_nth ? fault_errno : 0;
}

/* Install the fault hook, failing CALL with ERR as FAULT_NTH says (above). */
static inline void fault_set(enum pshm__call call, int nth, int err)
{
	fault_call = call;
	fault_nth = nth;
	fault_errno = err;
	fault_seen = 0;
	pshm__fault_hook = fault_hook;
}

/* The umask the program started with, which every test leaves as it found it. */
static mode_t saved_umask;

/* Note the umask in SAVED_UMASK, leaving it as it is. */
static inline void seg_save_umask(void)
{
	saved_umask = umask(022);
	umask(saved_umask);
}

/*
 * The program's exit status, given what cmocka returned (FAILED): 1 when a test failed, and also
 * when anything is left in WHERE, since every test removes what it made there; 0 otherwise.
 */
static inline int seg_exit_status(int failed, const char *where)
{
	int left = tu_count_entries(where);
	if (left != 0) {
		printf("%d entries left in %s\n", left, where);
		return 1;
	}
	return failed ? 1 : 0;
}

/*
 * Create ADDR with SIZE bytes and FLAGS, check its size and that all of it is reserved (none of
 * it with PSHM_SPARSE), then destroy it.
 */
static inline void seg_check_reserved(const char *addr, uint64_t size, unsigned flags)
{
	struct pshm_seg *seg;

	tu_ok(pshm_create(&seg, addr, size, 0, flags));
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, size);
	if (flags & PSHM_SPARSE)
		assert_int_equal(st.allocated, 0);
	else
		assert_true(st.allocated >= size);
	tu_ok(pshm_destroy(seg));
	tu_ok(pshm_close(seg));
}

/*
 * Open-or-create ADDR, an existing segment of 4096 bytes and mode 0600, asking for 8192 bytes
 * and mode 0644: the segment is opened, not made, grows to 8192 bytes and keeps its mode. The
 * handle is closed again; returns what it described.
 */
static inline struct pshm_stat seg_check_open_grows(const char *addr)
{
	struct pshm_seg *seg;

	tu_ok(pshm_create(&seg, addr, 8192, 0644, PSHM_OPEN_OR_CREATE));
	assert_int_equal(pshm_created(seg), 0);
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, 8192);
	assert_true(st.allocated >= 8192);
	assert_int_equal(st.mode, 0600);
	tu_ok(pshm_close(seg));
	return st;
}

/* Map SEG, which is empty: there is nothing to map, so the address is NULL and the length 0. */
static inline void seg_check_map_empty(struct pshm_seg *seg)
{
	void *p = &p;
	size_t len = 1;

	tu_ok(pshm_map(seg, 0, &p, &len));
	assert_null(p);
	assert_int_equal(len, 0);
}

/* Resize SEG to SIZE with FLAGS and check its new size; returns its description. */
static inline struct pshm_stat seg_resize_to(struct pshm_seg *seg, uint64_t size, unsigned flags)
{
	tu_ok(pshm_resize(seg, size, flags));
	struct pshm_stat st = seg_stat(seg);
	assert_int_equal(st.size, size);
	return st;
}

/*
 * ADDR names something that is not a segment (a FIFO, a directory, a symbolic link): opening it
 * read-write or read-only fails with ERR, creating it exclusively (SIZE bytes, MODE) with EEXIST,
 * opening or creating it with ERR, and describing it with ERR.
 */
static inline void seg_check_squatter(const char *addr, uint64_t size, mode_t mode, int err)
{
	struct pshm_seg *seg;
	struct pshm_stat st;

	tu_err(pshm_open(&seg, addr, 0), -err);
	tu_err(pshm_open(&seg, addr, PSHM_RDONLY), -err);
	tu_err(pshm_create(&seg, addr, size, mode, 0), -EEXIST);
	tu_err(pshm_create(&seg, addr, size, mode, PSHM_OPEN_OR_CREATE), -err);
	tu_err(pshm_stat_addr(addr, &st), -err);
}

/* The two files or objects of the permission tests, both root's. */
struct access_case {
	char secret[PATH_MAX + 8]; /* mode 0600 */
	char shared[PATH_MAX + 8]; /* mode 0644 */
};

/*
 * Run as a user with no access to SECRET: opening it read-write or read-only, and opening or
 * creating it, are refused with EACCES, but describing it works (into *ST) and shows root as its
 * owner. Returns 0, or the number (1 to 4) of the first check that failed.
 */
static inline int seg_nobody_secret(const char *secret, struct pshm_stat *st)
{
	struct pshm_seg *seg;

	if (pshm_open(&seg, secret, 0) != -EACCES)
		return 1;
	if (pshm_open(&seg, secret, PSHM_RDONLY) != -EACCES)
		return 2;
	if (pshm_create(&seg, secret, 4096, 0, PSHM_OPEN_OR_CREATE) != -EACCES)
		return 3;
	if (pshm_stat_addr(secret, st) || st->uid != 0)
		return 4;
	return 0;
}

/*
 * Run as a user who may read ADDR but not write it: opening it read-write is refused with
 * EACCES, opening it read-only succeeds (the handle is left in *SEGP), and its mapping is LEN
 * bytes long and starts with HEAD. Returns 0, or the number (1 to 3) of the first check that
 * failed.
 */
static inline int seg_nobody_reads(struct pshm_seg **segp, const char *addr, size_t len,
                                   const char *head)
{
	void *p;
	size_t got;

	if (pshm_open(segp, addr, 0) != -EACCES)
		return 1;
	if (pshm_open(segp, addr, PSHM_RDONLY))
		return 2;
	if (pshm_map(*segp, 0, &p, &got) || got != len || memcmp(p, head, strlen(head)))
		return 3;
	return 0;
}

/*
 * Checks 1 to 7 of an access case, run as nobody: seg_nobody_secret on C->secret (describing it
 * into *ST), then seg_nobody_reads on C->shared, whose handle is left in *SEGP. Returns 0, or the
 * number of the first check that failed.
 */
static inline int seg_nobody_case(const struct access_case *c, struct pshm_stat *st,
                                  struct pshm_seg **segp, size_t len, const char *head)
{
	int r = seg_nobody_secret(c->secret, st);
	if (r)
		return r;
	r = seg_nobody_reads(segp, c->shared, len, head);
	return r ? 4 + r : 0;
}

/* Run FN on C as uid 65534 and fail with the number of the check it says failed. */
static inline void seg_check_as_nobody(int (*fn)(void *), struct access_case *c)
{
	int status = tu_as_nobody(fn, c);
	if (status != 0)
		fail_msg("check %d failed as uid 65534", status);
}

#endif /* PSHM_SEGTEST_H */
