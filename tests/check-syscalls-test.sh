#!/bin/sh
# scripts/check-syscalls.sh passes on the library as it is, and fails, naming file and call, on
# a copy of it with one direct call planted; comments, strings, member calls and a justified
# exception do not count as calls. Exit 0 when every case behaves, 1 otherwise.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
check="$top/scripts/check-syscalls.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
# shellcheck source=tests/expect.sh
. "$top/tests/expect.sh"

# Run the check on a fresh copy of src/lib to which SNIPPET is appended in FILE; it must exit
# WANT (0 or 1) and, when it fails, say each of the words that follow.
case_() {
	name=$1 file=$2 snippet=$3 want=$4
	shift 4
	rm -rf "$tmp/lib"
	cp -R "$top/src/lib" "$tmp/lib"
	[ -z "$file" ] || printf '%s\n' "$snippet" >>"$tmp/lib/$file"
	rc=0
	sh "$check" "$tmp/lib" >"$tmp/out" 2>&1 || rc=$?
	expect "$name" "$rc" "$want" "$tmp/out" "$@"
}

case_ "the tree as it is" "" "" 0
case_ "a planted close" seg.c 'static void planted(int fd) { close(fd); }' 1 \
	"seg.c:" "close() outside sys.c"
case_ "a planted raw system call in a header" chan.h \
	'static inline long planted(void) { return syscall(SYS_getpid); }' 1 \
	"chan.h:" "syscall() outside sys.c"
case_ "a planted fcntl split from its parenthesis" memfd.c \
	'static int planted(int fd) { return fcntl
	(fd, F_GETFL); }' 1 "memfd.c:" "fcntl() outside sys.c"
case_ "a planted call in a macro" list.c '#define PLANTED(fd) munmap((void *)0, (fd))' 1 \
	"list.c:" "munmap() outside sys.c"
case_ "calls in comments" seg.c '/* close(fd); */
// unlink(path);
/*
 * fcntl(fd, F_SETLK, &fl);
 */' 0
case_ "calls in strings and characters" seg.c \
	'static const char planted[] = "close(1) \" open(2)"; static const char c = '"'('"';' 0
case_ "member calls and longer names" seg.c \
	'static int planted(struct pshm_seg *s) { return s->ops->open ? pshm__close(s->fd) : 0; }' 0
case_ "an exception with a reason" guard.c \
	'/* syscall-ok: only async-signal-safe calls may be made here */
static void planted(void) { raise(SIGBUS); }' 0
case_ "an exception on the line of the call" guard.c \
	'static void planted(void) { raise(SIGBUS); /* syscall-ok: a test of the marker */ }' 0
case_ "an exception without a reason" guard.c '/* syscall-ok: */
static void planted(void) { raise(SIGBUS); }' 1 "says no reason"
case_ "an exception reaches one line only" guard.c '/* syscall-ok: a test of the marker */

static void planted(void) { raise(SIGBUS); }' 1 "guard.c:" "raise() outside sys.c"
case_ "sys.c itself" sys.c 'static void planted(int fd) { close(fd); }' 0

echo "check-syscalls-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
