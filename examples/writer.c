/*
 * writer - create a POSIX shared memory object, put a message in it, and wait until an
 * unrelated process (see reader.c) has read it; then remove the object.
 *
 * Usage: writer NAME MESSAGE
 */
#include <pshm.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "share.h"

int main(int argc, char **argv)
{
	struct pshm_seg *seg;
	void *addr;
	size_t len;

	if (argc != 3) {
		fprintf(stderr, "usage: writer NAME MESSAGE\n");
		return 2;
	}
	const char *name = argv[1], *msg = argv[2];
	size_t need = sizeof(struct share) + strlen(msg);
	/* Exclusive, mode 0600, space reserved: a full /dev/shm fails here, not with SIGBUS. */
	int r = pshm_create(&seg, name, need, 0600, 0);
	if (r < 0) {
		fprintf(stderr, "writer: create %s: %s\n", name, pshm_strerror(r));
		return 1;
	}
	r = pshm_map(seg, 0, &addr, &len);
	if (r < 0) {
		fprintf(stderr, "writer: map %s: %s\n", name, pshm_strerror(r));
		pshm_destroy(seg);
		pshm_close(seg);
		return 1;
	}
	struct share *sh = addr;
	sh->magic = SHARE_MAGIC;
	sh->length = (uint32_t)strlen(msg);
	memcpy(sh->text, msg, sh->length);
	__atomic_store_n(&sh->ready, 1, __ATOMIC_RELEASE);
	printf("writer: %s holds %zu bytes: \"%s\"; waiting for a reader\n", pshm_address(seg), len,
	       msg);
	fflush(stdout);

	/* Poll for the reader's acknowledgement for up to 30 seconds. */
	struct timespec tick = {0, 10 * 1000 * 1000};
	int waited = 0;
	while (!__atomic_load_n(&sh->acked, __ATOMIC_ACQUIRE) && waited++ < 3000)
		nanosleep(&tick, NULL);
	int ok = __atomic_load_n(&sh->acked, __ATOMIC_ACQUIRE);
	printf("writer: %s; removing %s\n", ok ? "the reader has read it" : "no reader came",
	       pshm_address(seg));
	pshm_destroy(seg);
	pshm_close(seg);
	return ok ? 0 : 1;
}
