/*
 * mapper - map a shared memory object and hold it until killed, so that a benchmark can put
 * many processes on the objects that `pshm ls` and `pshm who` must find.
 *
 * Usage: mapper ADDR...   (maps each, then sleeps; exits on SIGTERM)
 */
#include <pshm.h>

#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct pshm_seg *seg;
		void *p;
		size_t len;
		int r = pshm_open(&seg, argv[i], 0);
		if (r == 0)
			r = pshm_map(seg, 0, &p, &len);
		if (r < 0) {
			fprintf(stderr, "mapper: %s: %s\n", argv[i], pshm_strerror(r));
			return 1;
		}
		/* The handle stays open: the process holds a descriptor and a mapping. */
	}
	pause();
	return 0;
}
