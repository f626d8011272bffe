# helpers.bash - shared setup for the bats tests of the pshm command.
#
# Every test gets a private, empty shm directory (PSHM_DIR) under /dev/shm, removed afterwards,
# so tests never see each other's objects or anyone else's.  Background processes, System V
# segments and /dev/shm names a test makes are recorded and cleaned up in teardown, also when
# the test fails.

bats_require_minimum_version 1.5.0

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
PSHM=${PSHM_BIN:-build/pshm}
case $PSHM in
/*) ;;
*) PSHM=$REPO_ROOT/$PSHM ;;
esac
export PSHM

# Set PYTHON to the interpreter itself, not a version-manager shim (so that $! is the process
# holding things, and a slow shim runs once); skip the test without python3.
need_python() {
	PYTHON=${PSHM_TEST_PYTHON:-}
	[ -n "$PYTHON" ] || PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	[ -n "$PYTHON" ] || skip "python3 is not installed"
}

pshm() {
	"$PSHM" "$@"
}

# Who runs the tests (the owner of what they create), by name and number.
ME_USER=$(id -un)
ME_GROUP=$(id -gn)
ME_UID=$(id -u)
ME_GID=$(id -g)

setup() {
	[ -x "$PSHM" ] || {
		echo "no pshm binary at $PSHM (set PSHM_BIN)" >&2
		return 1
	}
	PSHM_DIR=$(mktemp -d /dev/shm/pshm-bats.XXXXXX)
	export PSHM_DIR
	TEST_SHM_DIR=$PSHM_DIR # removed in teardown, even if a test unsets PSHM_DIR
	: >"$BATS_TEST_TMPDIR/pids"
	: >"$BATS_TEST_TMPDIR/sysv-keys"
	: >"$BATS_TEST_TMPDIR/sysv-ids"
	: >"$BATS_TEST_TMPDIR/devshm"
}

teardown() {
	local pid key id name
	while read -r pid; do
		kill "$pid" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/pids"
	while read -r pid; do
		wait "$pid" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/pids"
	sysv_cleanup
	while read -r name; do
		rm -f "/dev/shm/$name"
	done <"$BATS_TEST_TMPDIR/devshm"
	case ${TEST_SHM_DIR:-} in
	/dev/shm/pshm-bats.*) rm -rf "$TEST_SHM_DIR" ;;
	esac
	return 0
}

# ---- background processes --------------------------------------------------------------------

# Remember PID to be killed in teardown:  some-command & track $!
track() {
	echo "$1" >>"$BATS_TEST_TMPDIR/pids"
}

# Run COMMAND... until it succeeds. The 60-second limit is only a safety net against a hang:
# what a test waits for is an event, however slow or busy the machine is.
wait_until() {
	local deadline=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$deadline" ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# Wait until PID runs the program NAME (after its exec).
wait_comm() {
	wait_until grep -qx "$2" "/proc/$1/comm"
}

# ---- other users -----------------------------------------------------------------------------

# Run COMMAND... as uid/gid 65534 with no supplementary groups, keeping the environment.
as_nobody() {
	if command -v setpriv >/dev/null; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		su nobody -s /bin/sh -c "$(printf '%q ' "$@")"
	fi
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
}

# PSHM_DIR as a sticky world-writable directory, as /dev/shm is.
share_dir() {
	chmod 1777 "$PSHM_DIR"
}

# ---- a small tmpfs -----------------------------------------------------------------------------

TMPFS_DIR=

# Skip the test unless a tmpfs can be mounted in a private mount namespace.
require_tmpfs() {
	TMPFS_DIR=$BATS_TEST_TMPDIR/tmpfs
	mkdir -p "$TMPFS_DIR"
	unshare -m sh -c 'mount -t tmpfs -o size=4m tmpfs "$1"' sh "$TMPFS_DIR" 2>/dev/null ||
		skip "cannot mount a tmpfs in a private namespace (unshare -m, mount)"
}

# Run the shell SCRIPT with PSHM_DIR on a fresh 4 MiB tmpfs that vanishes when it ends.
# $PSHM is the command; the working directory is the test's temporary directory.
in_tmpfs() {
	[ -n "$TMPFS_DIR" ] || require_tmpfs
	unshare -m sh -c 'mount -t tmpfs -o size=4m tmpfs "$1" || exit 99
		export PSHM_DIR="$1"; cd "$3" || exit 99; eval "$2"' sh "$TMPFS_DIR" "$1" "$BATS_TEST_TMPDIR"
}

# ---- a small ext4 file system ------------------------------------------------------------------

# Skip the test unless an ext4 image can be made (mkfs.ext4, from e2fsprogs) and mounted on a
# loop device in a private mount namespace.
require_ext4() {
	PATH=$PATH:/usr/sbin:/sbin command -v mkfs.ext4 >/dev/null ||
		skip "mkfs.ext4 is missing (e2fsprogs)"
	in_ext4 true 2>/dev/null ||
		skip "cannot mount an ext4 image on a loop device (unshare -m, mount -o loop)"
}

# Run the shell SCRIPT with $M a fresh 8 MiB ext4 file system, mounted in a private mount
# namespace; it and its loop device vanish when SCRIPT ends. $PSHM is the command; the working
# directory is the test's temporary directory. Exit 99: the file system could not be made.
in_ext4() {
	unshare -m --propagation private sh -c 'img=$2/ext4.img; M=$2/ext4; export M
		PATH=$PATH:/usr/sbin:/sbin
		rm -f "$img" && truncate -s 8M "$img" && mkfs.ext4 -q -F -m 0 "$img" >/dev/null 2>&1 &&
			mkdir -p "$M" && mount -o loop "$img" "$M" || exit 99
		rm -f "$img"; cd "$2" || exit 99; eval "$1"' sh "$1" "$BATS_TEST_TMPDIR"
}

# ---- System V ----------------------------------------------------------------------------------

# Print a key that no segment uses now, and remember it for cleanup.
sysv_key() {
	local k
	while :; do
		k=$(printf '0x%08x' $((0x5e000000 + (RANDOM << 8) + (RANDOM & 255))))
		ipcs -m | grep -q "^$k " || break
	done
	echo "$k" >>"$BATS_TEST_TMPDIR/sysv-keys"
	echo "$k"
}

# Remember segment identifier ID for cleanup.
sysv_track_id() {
	echo "$1" >>"$BATS_TEST_TMPDIR/sysv-ids"
}

# Remove the segments this test made (and only those).
sysv_cleanup() {
	local key id
	while read -r key; do
		ipcrm -M "$key" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/sysv-keys"
	while read -r id; do
		ipcrm -m "$id" 2>/dev/null
	done <"$BATS_TEST_TMPDIR/sysv-ids"
	return 0
}

# Whether a segment with KEY exists (ipcs -m lists it).
sysv_exists() {
	ipcs -m | grep -q "^$1 "
}

# ---- /dev/shm itself (for interop with programs that ignore PSHM_DIR) ---------------------------

# Print a name unique to this test run, remembered so /dev/shm/NAME is removed in teardown.
devshm_name() {
	local n="pshm-bats-$$-$BATS_TEST_NUMBER-$RANDOM"
	echo "$n" >>"$BATS_TEST_TMPDIR/devshm"
	echo "$n"
}

# ---- checks ------------------------------------------------------------------------------------

# Fail, showing what was expected and what came.
fail_with() {
	printf '%s\n' "$@" >&2
	return 1
}

# The object file's size in bytes.
size_of() {
	stat -c %s "$PSHM_DIR/${1#/}"
}

# The bytes of memory the object file has.
allocated() {
	local b
	b=$(stat -c '%b %B' "$PSHM_DIR/${1#/}")
	echo $((${b% *} * ${b#* }))
}

# Assert that the last `run --separate-stderr` printed LINE-PATTERN (grep -E) on stderr.
stderr_has() {
	grep -qE -- "$1" <<<"$stderr" || fail_with "stderr lacks /$1/:" "$stderr"
}

# Assert that the JSON on standard input is there, valid, and makes the jq filter true:
#   jq_true [--arg NAME VALUE ...] FILTER <<<"$output"
# (jq -e alone passes on empty input.)
jq_true() {
	local in
	in=$(cat)
	[ -n "$in" ] || fail_with "no JSON to check for: jq $*"
	jq -e "$@" <<<"$in" >/dev/null || fail_with "not true: jq $*" "of: $in"
}

# Assert the last run printed nothing on standard output.
stdout_empty() {
	[ -z "$output" ] || fail_with "unexpected output:" "$output"
}

# Assert the directory holds exactly the names given (sorted), nothing else.
dir_holds() {
	local want have
	want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
	have=$(ls -A "$PSHM_DIR" | sort)
	[ "$want" = "$have" ] || fail_with "expected in $PSHM_DIR: [$want]" "found: [$have]"
}
