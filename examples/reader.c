/*
 * reader - open a POSIX shared memory object made by another process (see writer.c), read its
 * message, and acknowledge it.
 *
 * Usage: reader NAME
 */
#include <pshm.h>

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "share.h"

/*
 * Map NAME once it holds a complete message: the writer may still be sizing or filling it, so
 * try for up to 5 seconds. Returns the message header, or NULL with *ERRP set.
 */
static struct share *wait_message(const char *name, struct pshm_seg **segp, size_t *lenp, int *errp)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	void *addr;

	for (int i = 0; i < 500; i++, nanosleep(&tick, NULL)) {
		*errp = pshm_open(segp, name, 0);
		if (*errp == -ENOENT)
			continue;
		if (*errp < 0)
			return NULL;
		*errp = pshm_map(*segp, 0, &addr, lenp);
		if (*errp < 0) {
			pshm_close(*segp);
			return NULL;
		}
		struct share *sh = addr;
		if (*lenp >= sizeof(*sh) && __atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE))
			return sh;
		pshm_close(*segp);
	}
	*errp = -ETIMEDOUT;
	return NULL;
}

int main(int argc, char **argv)
{
	struct pshm_seg *seg;
	struct pshm_stat st;
	size_t len;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: reader NAME\n");
		return 2;
	}
	struct share *sh = wait_message(argv[1], &seg, &len, &r);
	if (!sh) {
		fprintf(stderr, "reader: %s: %s\n", argv[1], pshm_strerror(r));
		return 1;
	}
	r = pshm_stat(seg, &st);
	if (r == 0)
		printf("reader: %s is %llu bytes, mode %04o, owner %u\n", pshm_address(seg),
		       (unsigned long long)st.size, (unsigned)st.mode, (unsigned)st.uid);
	/* Nothing in shared memory is trusted: the length must fit in what is mapped. */
	uint32_t length = __atomic_load_n(&sh->length, __ATOMIC_RELAXED);
	if (sh->magic != SHARE_MAGIC || length > len - sizeof(*sh)) {
		fprintf(stderr, "reader: %s: no valid message in it\n", argv[1]);
		pshm_close(seg);
		return 1;
	}
	printf("reader: message: \"%.*s\"\n", (int)length, sh->text);
	__atomic_store_n(&sh->acked, 1, __ATOMIC_RELEASE);
	pshm_close(seg);
	return 0;
}
