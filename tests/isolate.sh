#!/bin/sh
# Run COMMAND... where other programs' shared memory cannot be seen or disturb it.
#
# Usage: sh tests/isolate.sh COMMAND [ARG...]
#
# As root, where the kernel allows it, COMMAND runs in a new IPC namespace (System V segments
# and POSIX message queues of its own) and a new mount namespace with a fresh tmpfs on
# /dev/shm, as large as the machine's own /dev/shm, so that a test that needs more shared
# memory than the machine has still finds out.  PSHM_TEST_NS tells COMMAND which case it is
# in: "isolated", or "shared: REASON" when it runs beside everything else; tests that cannot
# be right beside other programs' objects skip in the second case.  An outer isolate.sh's
# namespace is reused.
set -eu
[ $# -gt 0 ] || { echo "usage: isolate.sh COMMAND [ARG...]" >&2; exit 2; }

case ${PSHM_TEST_NS:-} in
isolated | shared*) exec "$@" ;;
esac

# Run COMMAND beside everything else, saying why.
shared() {
	PSHM_TEST_NS="shared: $1"
	export PSHM_TEST_NS
	echo "tests: not isolated from other programs' shared memory ($1);" \
		"tests that need isolation skip" >&2
	shift
	exec "$@"
}

[ "$(id -u)" -eq 0 ] || shared "not root" "$@"
command -v unshare >/dev/null 2>&1 || shared "unshare(1) is missing" "$@"
unshare --ipc --mount --propagation private true 2>/dev/null ||
	shared "unshare --ipc --mount is not allowed here" "$@"

# The machine's /dev/shm size in KiB, so that the private one is no larger.
kib=$(df -P -k /dev/shm 2>/dev/null | awk 'NR == 2 { print $2 }')
case $kib in
'' | *[!0-9]* | 0) kib=65536 ;;
esac
PSHM_TEST_NS=isolated
export PSHM_TEST_NS
exec unshare --ipc --mount --propagation private sh -c '
	mount -t tmpfs -o "size=${1}k,mode=1777,nosuid,nodev" pshm-test /dev/shm || {
		echo "tests: cannot mount a private tmpfs on /dev/shm" >&2
		exit 1
	}
	shift
	exec "$@"' sh "$kib" "$@"
