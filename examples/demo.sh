#!/bin/sh
# A tour of POSIX shared memory with pshm: an object is a file in a memory file system, made
# with shm_open, sized with ftruncate, mapped with mmap, described with fstat and removed with
# shm_unlink. The command alone first, then two unrelated programs sharing an object while
# pshm watches.
#
# Usage: examples/demo.sh BUILD_DIR
set -eu
build=${1:-build}
pshm() { "$build/pshm" "$@"; }
obj=/pshm-tour-$$
msg=/pshm-demo-$$
chan=/pshm-chan-$$
ticks=/pshm-ticks-$$
writer=""
cleanup() {
	[ -z "$writer" ] || kill "$writer" 2>/dev/null || true
	"$build/pshm" rm -f "$obj" "$msg" "$chan" "$ticks"
}
trap cleanup EXIT INT TERM
if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

step "1. shm_open(O_CREAT|O_EXCL) + ftruncate: create an object; mode 600, space reserved"
run pshm create -s 4K "$obj"
run ls -l "${PSHM_DIR:-/dev/shm}$obj"

step "2. Write a string: the object ends exactly as long as the data"
run pshm write "$obj" "Hello from shared memory"
run pshm read "$obj"
echo
run pshm dump "$obj"

step "3. fstat: what the object is"
run pshm stat "$obj"

step "4. Two unrelated processes: a writer creates $msg and waits; pshm watches"
"$build/examples/writer" "$msg" "a message between processes" &
writer=$!
# Wait until the writer has mapped the object (pshm who shows its mapping), at most 30 s.
i=0
until pshm who -n "$msg" 2>/dev/null | grep -q ' map '; do
	kill -0 "$writer" 2>/dev/null && [ $i -lt 600 ] || { echo "demo: the writer did not start" >&2; exit 1; }
	sleep 0.05
	i=$((i + 1))
done
run pshm ls -o ADDRESS,KIND,SIZE,PERMS,OWNER,NPROCS,PIDS
run pshm who "$msg"
run pshm dump "$msg"

step "5. A reader opens $msg by name, maps it and reads the message; the writer then removes it"
run "$build/examples/reader" "$msg"
wait "$writer"
writer=""
if pshm stat "$msg" >/dev/null 2>&1; then
	echo "demo: $msg is still there" >&2
	exit 1
fi

step "6. shm_unlink: remove the first object"
run pshm rm "$obj"
run pshm rm "$obj" || echo "(exit status $?: it is gone)"

step "7. A message channel in a shared memory object: lines in, lines out, in order"
run pshm chan create --capacity 64K "$chan"
printf 'first\nsecond\nthird\n' | run pshm send "$chan"
run pshm chan stat "$chan"
run pshm recv -n 3 "$chan"
run pshm ls -k chan -o ADDRESS,KIND,SIZE
run pshm rm "$chan"

step "8. Two processes on a channel: zero-copy sends and reads, and how long a message takes"
run "$build/examples/ticker" "$ticks" 20000

step "Done"
echo "Shown: an object made, written, read, described, listed and removed; two unrelated programs"
echo "sharing one; a message channel, from the shell and between two processes."
echo "Next: pshm --help, man -l man/pshm.1 (the command), man -l man/libpshm.3 (the library),"
echo "examples/ (programs to copy), make check (every test), make bench (this machine measured)."
