#!/bin/sh
# Install into a temporary prefix and build a program against it with pkg-config alone, as a
# user of the library would; then uninstall and check that nothing is left.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
make -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cat >"$tmp/use.c" <<'C'
#include <pshm.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void)
{
	char name[64];
	snprintf(name, sizeof(name), "/pshm-install-%d", (int)getpid());
	int fd = pshm_shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0 || pshm_shm_unlink(name) < 0) {
		perror(name);
		return 1;
	}
	close(fd);
	printf("libpshm %s works\n", pshm_version());
	return 0;
}
C
# shellcheck disable=SC2046
${CC:-cc} -o "$tmp/use" "$tmp/use.c" $(pkg-config --cflags --libs pshm)
LD_LIBRARY_PATH="$prefix/lib" "$tmp/use"
# The installed shared library exports only the public interface.
if nm -D --defined-only "$prefix/lib/libpshm.so" | awk '{print $3}' | grep -v '^PSHM_' |
	grep -v '^pshm_[a-z]' >/dev/null; then
	echo "install: libpshm.so exports internal symbols" >&2
	exit 1
fi
for f in share/man/man3/libpshm.3 share/man/man1/pshm.1 share/bash-completion/completions/pshm \
	bin/pshm include/pshm.h lib/libpshm.a lib/libpshm.so.0; do
	[ -e "$prefix/$f" ] || { echo "install: $f was not installed" >&2; exit 1; }
done
"$prefix/bin/pshm" --version | grep -q '^pshm ' || { echo "install: pshm does not run" >&2; exit 1; }
make -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
if [ -n "$left" ]; then
	echo "uninstall left files behind: $left" >&2
	exit 1
fi
# A second install elsewhere describes itself, not the first one.
make -s install PREFIX="$tmp/other" >/dev/null
grep -qx "prefix=$tmp/other" "$tmp/other/lib/pkgconfig/pshm.pc" ||
	{ echo "install: pshm.pc names another prefix than $tmp/other" >&2; exit 1; }
make -s uninstall PREFIX="$tmp/other" >/dev/null
echo "install: 2 passed, 0 failed"
