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
	VIEW_COMPLETE=         # found out by view_complete, once a test
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

# Run COMMAND... until it succeeds, looking every WAIT_PACE seconds (0.05 unless set). The
# 60-second limit is only a safety net against a hang: what a test waits for is an event,
# however slow or busy the machine is.
wait_until() {
	local deadline=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$deadline" ]; do
		"$@" 2>/dev/null && return 0
		sleep "${WAIT_PACE:-0.05}"
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

# Skip unless a program that uid 65534 runs can itself run $PSHM: as_nobody's own exec may pass
# where a nested one fails, when a directory above the binary (as /root is) is closed to others.
require_nobody_exec() {
	as_nobody sh -c '"$1" --version' sh "$PSHM" >/dev/null 2>&1 ||
		skip "uid 65534 cannot run $PSHM from its own programs: a directory above it is closed to others"
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

# ---- what pshm can see of processes -----------------------------------------------------------

# who, stat and ls find the processes that use an object by looking into every process in /proc.
# Except as root, other users' processes cannot be looked into, and /proc may hide them: pshm then
# marks what it shows as maybe too little ("1?", "4242,?" or "?"; in JSON null, with "complete":
# false; in who a last line of "?" for each object) and warns once on the standard error (see who
# in pshm(1)). These helpers tell which of the two answers a test is to expect.

# Whether /proc hides other users' processes from this one altogether (hidepid=invisible or
# ptraceable, and not a member of its gid= group): the last /proc mount in sight decides.
proc_hides_others() {
	local opts o hidepid= gid=
	opts=$(awk '$5 == "/proc" && index($0, " - proc ") { s = $NF } END { print s }' \
		/proc/self/mountinfo 2>/dev/null)
	IFS=, read -ra opts <<<"$opts"
	for o in "${opts[@]}"; do
		case $o in
		hidepid=*) hidepid=${o#hidepid=} ;;
		gid=*) gid=${o#gid=} ;;
		esac
	done
	case $hidepid in
	'' | 0 | off | 1 | noaccess) return 1 ;;
	esac
	[ -z "$gid" ] || ! id -G | tr ' ' '\n' | grep -qx "$gid"
}

# Whether a process of another user (any of its user IDs not this one's) that holds memory (no
# zombie, no kernel thread) is in sight in /proc.
other_users_in_sight() {
	local d k r e s f line state flags _
	for d in /proc/[0-9]*; do
		k=
		{
			while read -r k r e s f; do
				[ "$k" = Uid: ] && break
			done <"$d/status"
		} 2>/dev/null
		if [ "$k" = Uid: ]; then
			[ "$r $e $s $f" != "$ME_UID $ME_UID $ME_UID $ME_UID" ] || continue
		fi
		line=
		{ read -r line <"$d/stat"; } 2>/dev/null
		if [ -z "$line" ]; then
			[ ! -e "$d" ] || return 0 # there, but not to be read: not a zombie
			continue                  # gone
		fi
		# After the name: the state, five more fields, then the flags (PF_KTHREAD).
		read -r state _ _ _ _ _ flags _ <<<"${line##*) }"
		case $state in
		Z | X) continue ;;
		esac
		((flags & 0x200000)) || return 0
	done
	return 1
}

# Whether pshm can look into every process that may use an object, so that its process counts
# are whole: as root, or when /proc hides nothing and shows no other user's process (as in a
# container or a PID namespace of one user). Found out once a test.
view_complete() {
	if [ -z "${VIEW_COMPLETE:-}" ]; then
		VIEW_COMPLETE=no
		if [ "$ME_UID" -eq 0 ] || ! { proc_hides_others || other_users_in_sight; }; then
			VIEW_COMPLETE=yes
		fi
	fi
	[ "$VIEW_COMPLETE" = yes ]
}

# "true" or "false": view_complete for jq, as in  jq_true --argjson whole "$(whole_json)" ...
whole_json() {
	if view_complete; then echo true; else echo false; fi
}

# How pshm shows a count of N processes found (NPROCS, stat's "processes:"): N, or "N?".
procs_shown() {
	if view_complete; then echo "$1"; else echo "$1?"; fi
}

# How pshm shows the comma-separated PIDS found (PIDS, stat's "pids:"): PIDS, or PIDS and ",?"
# ("?" alone for none).
pids_shown() {
	if view_complete; then echo "$1"; else echo "${1:+$1,}?"; fi
}

# Assert that the last `run --separate-stderr` of a who, stat or ls that looked at processes left
# the standard error empty or, when the view is not complete, printed exactly its warning.
stderr_view() {
	local nl=$'\n' re
	if view_complete; then
		[ -z "$stderr" ] || fail_with "unexpected stderr:" "$stderr"
		return
	fi
	re="^(pshm: warning: could not look into [1-9][0-9]* process(es)? of other users; process"
	re+=" counts may be low$nl)?(pshm: warning: /proc hides the processes of other users "
	re+="\\(hidepid=[a-z0-9]+\\); process counts may be low$nl)?"
	re+="pshm: run as root to see all processes\$"
	[[ $stderr =~ $re ]] && [[ $stderr == *warning* ]] ||
		fail_with "not the warning of a view that is not whole:" "$stderr"
}

# How many lines who adds to mark the lists of N objects as maybe short: N when the view is not
# complete, else 0.
who_markers() {
	if view_complete; then echo 0; else echo "$1"; fi
}

# Assert that the last who's table (with or without its heading) ends the lines of each ADDR
# given with one line of "?" cells when the view is not complete, and has no such line when it
# is; then take those lines out of $output and $lines, leaving what was found.
who_unmark() {
	local a marker='NF == 5 && $2 $3 $4 $5 == "????"'
	for a; do
		awk -v a="$a" -v whole="$(whole_json)" '$1 == a { last = '"$marker"'; marks += last }
			END { exit !(whole == "true" ? marks == 0 : marks == 1 && last) }' <<<"$output" ||
			fail_with "who: $a not marked as the view (complete: $(whole_json)):" "$output" ||
			return
	done
	output=$(awk "!($marker)" <<<"$output")
	lines=()
	[ -z "$output" ] || mapfile -t lines <<<"$output"
}

# who_unmark for the last who -J: the marker is an entry whose members are null but "address".
who_json_unmark() {
	local a
	for a; do
		jq_true --arg a "$a" --argjson whole "$(whole_json)" '[.processes[] |
			select(.address == $a) | .pid == null and .user == null and .command == null and
			.access == null] | if $whole then all(not) else
			(map(select(.)) | length) == 1 and .[-1] end' <<<"$output" || return
	done
	output=$(jq '.processes |= map(select(.pid != null))' <<<"$output")
}
