#!/bin/sh
# Install into a temporary prefix and build a program against it with pkg-config alone, as a
# user of the library would; then uninstall and check that nothing is left. Then, as root, the
# same into /usr/local with no DESTDIR, as a system's administrator would, in a mount namespace
# of its own so that the machine itself is left as it was.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 skipped=0
prefix=$tmp/prefix
# A temporary prefix is no directory of the dynamic loader's: its cache is left alone (LDCONFIG).
make -s install PREFIX="$prefix" LDCONFIG=: >/dev/null
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
for f in share/man/man3/libpshm.3 share/man/man1/pshm.1 share/man/man1/pshm-bench.1 \
	share/bash-completion/completions/pshm share/bash-completion/completions/pshm-bench \
	bin/pshm bin/pshm-bench include/pshm.h lib/libpshm.a lib/libpshm.so.1; do
	[ -e "$prefix/$f" ] || { echo "install: $f was not installed" >&2; exit 1; }
done
"$prefix/bin/pshm" --version | grep -q '^pshm ' || { echo "install: pshm does not run" >&2; exit 1; }
# pshm bench runs the pshm-bench installed beside it, with no PATH to find it by.
PATH=/nonexistent "$prefix/bin/pshm" bench --help | grep -q '^ pshm bench ' ||
	{ echo "install: pshm bench does not run the pshm-bench beside it" >&2; exit 1; }
# Each function has a manual page that man finds in the prefix: pshm_create its own, and
# pshm_unmap, through the link make install made, pshm_map's, whose SYNOPSIS declares it. No
# link is left dangling.
for fp in pshm_create:pshm_create pshm_unmap:pshm_map; do
	fn=${fp%%:*} page=${fp#*:}
	MANWIDTH=80 man -M "$prefix/share/man" 3 "$fn" 2>"$tmp/man.err" | col -bx >"$tmp/man.out"
	title=$(echo "$page" | tr '[:lower:]' '[:upper:]')
	if ! head -n 1 "$tmp/man.out" | grep -q "^$title(3) " ||
		! sed -n '/^SYNOPSIS$/,/^DESCRIPTION$/p' "$tmp/man.out" | grep -q "^ *$fn([a-z]"; then
		echo "install: man -M $prefix/share/man 3 $fn does not show $page(3):" >&2
		head -n 5 "$tmp/man.out" "$tmp/man.err" >&2
		exit 1
	fi
done
dangling=$(find "$prefix/share/man" -type l ! -exec test -e {} \; -print)
[ -z "$dangling" ] || { echo "install: dangling manual links: $dangling" >&2; exit 1; }
make -s uninstall PREFIX="$prefix" LDCONFIG=: >/dev/null
left=$(find "$prefix" -type f -o -type l)
if [ -n "$left" ]; then
	echo "uninstall left files behind: $left" >&2
	exit 1
fi
passed=$((passed + 1))
# A second install elsewhere describes itself, not the first one.
make -s install PREFIX="$tmp/other" LDCONFIG=: >/dev/null
grep -qx "prefix=$tmp/other" "$tmp/other/lib/pkgconfig/pshm.pc" ||
	{ echo "install: pshm.pc names another prefix than $tmp/other" >&2; exit 1; }
make -s uninstall PREFIX="$tmp/other" LDCONFIG=: >/dev/null
passed=$((passed + 1))

# make install PREFIX=/usr/local as root, with no DESTDIR: a program built with pkg-config alone
# (no PKG_CONFIG_PATH, no LD_LIBRARY_PATH) must start, which needs the ldconfig that make install
# runs; and after make uninstall the loader's cache must no longer list the library. It happens
# in a private mount namespace: a tmpfs over /usr/local, another over /var/cache/ldconfig, and a
# copy of /etc on a tmpfs bound over /etc, so that ldconfig writes its cache into the copy (it
# renames a new file onto /etc/ld.so.cache, which a bind mount over that one file refuses).
PATH=$PATH:/sbin:/usr/sbin
# What the machine itself shows of pshm in /usr/local and in the loader's cache, before and after.
host_state() {
	ls -d /usr/local/lib/libpshm* /usr/local/include/pshm.h /usr/local/bin/pshm \
		/usr/local/lib/pkgconfig/pshm.pc 2>/dev/null || true
	ldconfig -p | grep libpshm || true
}
why=""
if [ "$(id -u)" -ne 0 ]; then
	why="not run as root"
elif ! command -v unshare >/dev/null 2>&1; then
	why="unshare is not installed (util-linux)"
elif ! unshare --mount --propagation private \
	sh -c 'mount -t tmpfs pshm-probe /usr/local && mount --bind /tmp /tmp' >"$tmp/probe" 2>&1; then
	why="no private mount namespace here ($(head -n 1 "$tmp/probe"))"
fi
if [ -n "$why" ]; then
	echo "install: skipped installing into /usr/local without DESTDIR: $why"
	skipped=$((skipped + 1))
else
	before=$(host_state)
	cat >"$tmp/system.sh" <<'SH'
set -eu
tmp=$1
fail() { echo "install (/usr/local): $*" >&2; exit 1; }
mount -t tmpfs pshm-test /usr/local
[ ! -d /var/cache/ldconfig ] || mount -t tmpfs pshm-test /var/cache/ldconfig
mkdir "$tmp/etc"
mount -t tmpfs pshm-test "$tmp/etc"
cp -a /etc/. "$tmp/etc/"
mount --bind "$tmp/etc" /etc
unset PKG_CONFIG_PATH LD_LIBRARY_PATH
# The private cache starts without the library, whatever the machine has installed.
ldconfig
! ldconfig -p | grep -q libpshm || fail "libpshm in the loader's cache before make install"
make -s install PREFIX=/usr/local >/dev/null
# shellcheck disable=SC2046
${CC:-cc} -o "$tmp/use-system" "$tmp/use.c" $(pkg-config --cflags --libs pshm)
readelf -d "$tmp/use-system" | grep -q 'NEEDED.*\[libpshm\.so\.1\]' ||
	fail "the program was not linked with the shared library"
ldconfig -p | grep -q 'libpshm\.so\.1 .*=> /usr/local/lib/libpshm\.so\.1$' ||
	fail "make install left libpshm.so.1 out of the loader's cache"
"$tmp/use-system" | grep -q '^libpshm .* works$' || fail "the program did not start and run"
make -s uninstall PREFIX=/usr/local >/dev/null
! ldconfig -p | grep -q libpshm || fail "make uninstall left libpshm in the loader's cache"
! "$tmp/use-system" >/dev/null 2>&1 || fail "the program still starts after make uninstall"
SH
	unshare --mount --propagation private sh "$tmp/system.sh" "$tmp"
	after=$(host_state)
	if [ "$before" != "$after" ]; then
		printf 'install: the machine changed:\nbefore: %s\nafter: %s\n' "$before" "$after" >&2
		exit 1
	fi
	passed=$((passed + 1))
fi
echo "install: $passed passed, 0 failed, $skipped skipped"
