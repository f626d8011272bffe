#!/usr/bin/env bats
# Interrupted creation: pshm create and pshm chan create stopped by SIGINT, SIGTERM or SIGHUP
# at any moment either finish or leave nothing, and then end by that signal (exit 128+N).
#
# Each test catches the command surely mid-way: it waits for the work to start (a file of the
# command's in the shm directory, a segment it made), sends the signal, and then sees that the
# work was still not done (the space not reserved, the pages not in): since that only ever goes
# one way, the signal came before the end. An attempt where the machine was too quick for the
# watch proves nothing; it must still leave a whole object or none, and is made again.

load helpers

BIG=32M
BIG_BYTES=$((32 * 1024 * 1024))

# Start "$PSHM" ARGS... in the background as $PID, with no descriptor but 0, 1 and 2 (bats
# keeps others open), so that any file it holds above them is its own. A shell without job
# control starts background commands with SIGINT ignored, and pshm leaves an ignored signal
# ignored: env(1) gives it back its default action first.
start() {
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -le 2 ] || eval "exec $fd>&-" 2>/dev/null
		done
		exec env --default-signal=INT "$PSHM" "$@"
	) &
	PID=$!
	track "$PID"
}

setup_file() {
	env --default-signal=INT true 2>/dev/null ||
		skip "env(1) cannot reset a signal's action (coreutils 8.31 or later)"
}

# Whether process PID has ended.
ended() {
	! alive "$1"
}

# Exit status of a command ended by signal SIG (INT, TERM, HUP, KILL).
died_of() {
	echo $((128 + $(kill -l "$1")))
}

# Whether process PID has not ended (a zombie has).
alive() {
	local line
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	line=${line##*) }
	[ "${line%% *}" != Z ]
}

# Whether descriptor FD (a /proc/PID/fd/N link) is an empty regular file: its space is not
# reserved yet (on tmpfs the size is set when the reservation is complete).
unreserved() {
	[ -f "$1" ] && [ ! -s "$1" ]
}

# Whether process PID (started by start) runs pshm and holds a file of PSHM_DIR whose space is
# not reserved yet: the object or the nameless file it makes; with WANT set, only the object
# $PSHM_DIR/WANT. Sets HELD_FD. Only shell tests, no command: the window is milliseconds, and
# a fork under bats takes several.
holds_unreserved() {
	local fd
	# Before the exec, the descriptors are the shell's.
	[ "/proc/$1/exe" -ef "$PSHM" ] || return 1
	for fd in /proc/"$1"/fd/*; do
		[ "${fd##*/}" -gt 2 ] && unreserved "$fd" || continue
		# Only the command's own files count, not what a sanitizer reads (/proc/self/maps).
		case $(readlink "$fd") in "$PSHM_DIR"/*) ;; *) continue ;; esac
		[ -z "${WANT:-}" ] || [ "$fd" -ef "$PSHM_DIR/$WANT" ] || continue
		HELD_FD=$fd
		return 0
	done
	return 1
}

# Start "$PSHM" ARGS... in the background as $PID, wait until it holds a file of $PSHM_DIR
# whose space is not reserved yet (holds_unreserved), and send it SIG. Returns 0 when the file
# was still unreserved after the signal was sent, so that the signal surely came mid-way. Then
# waits for the command: its exit status in $ST.
catch_reserving() {
	local sig=$1 caught
	shift
	# In a subshell without bats's DEBUG trap, which makes each command of the watch take
	# about a millisecond.
	(
		trap - DEBUG
		set +e
		start "$@"
		caught=1
		deadline=$((SECONDS + 60))
		while [ "$SECONDS" -lt "$deadline" ] && alive "$PID"; do
			holds_unreserved "$PID" || continue
			kill -"$sig" "$PID" 2>/dev/null || break
			unreserved "$HELD_FD" && caught=0
			break
		done
		ST=0
		wait "$PID" || ST=$?
		echo "$ST $caught" >"$BATS_TEST_TMPDIR/caught"
	)
	read -r ST caught <"$BATS_TEST_TMPDIR/caught"
	return "$caught"
}

# Interrupt "pshm create -s $BIG [OPTIONS...] ADDR" with SIG while the space of ADDR's file
# FILE is reserved, then check: exit 128+N, no object, and the same create works again.
check_create_interrupted() {
	local sig=$1 file=$2 addr=$3
	shift 3
	for _ in $(seq 30); do
		if catch_reserving "$sig" create -s "$BIG" "$@" "$addr"; then
			[ "$ST" -eq "$(died_of "$sig")" ] ||
				fail_with "create $addr, SIG$sig: exit $ST, not $(died_of "$sig")"
			[ ! -e "$file" ] || fail_with "create $addr, SIG$sig: left $(ls -l "$file")"
			dir_holds
			pshm create -s 4K "$addr"
			pshm rm "$addr"
			return 0
		fi
		# Too late to tell: whatever the signal did, the object is whole or gone.
		[ ! -e "$file" ] || [ "$(stat -c %s "$file")" -eq "$BIG_BYTES" ] ||
			fail_with "create $addr, SIG$sig late: left $(ls -l "$file")"
		pshm rm -f "$addr"
	done
	fail_with "create $addr was never caught before its space was reserved"
}

@test "create: SIGINT, SIGTERM or SIGHUP while the space is reserved removes the object; exit 130, 143, 129" {
	for sig in INT TERM HUP; do
		check_create_interrupted "$sig" "$PSHM_DIR/obj" /obj
	done
}

@test "create: an interrupted file: mapping is removed too" {
	for sig in INT TERM HUP; do
		check_create_interrupted "$sig" "$PSHM_DIR/file" "file:$PSHM_DIR/file"
	done
}

@test "create --populate and -m 0: interrupted, the object is removed before those steps" {
	check_create_interrupted INT "$PSHM_DIR/pop" /pop --populate
	check_create_interrupted TERM "$PSHM_DIR/m0" /m0 -m 0 --populate
}

@test "create: of several objects, those complete before the signal stay, the one in progress goes" {
	WANT=second
	for _ in $(seq 30); do
		if catch_reserving INT create -s "$BIG" /first /second /third; then
			[ "$ST" -eq 130 ] || fail_with "exit $ST"
			dir_holds first
			[ "$(size_of /first)" -eq "$BIG_BYTES" ]
			return 0
		fi
		pshm rm -f /first /second /third
	done
	fail_with "never caught mid-way"
}

@test "create --existing-ok: an interrupted growth never removes the object that was there" {
	pshm create -m 640 /kept
	local ino
	ino=$(stat -c %i "$PSHM_DIR/kept")
	for _ in $(seq 30); do
		if catch_reserving INT create --existing-ok -s "$BIG" /kept; then
			[ "$ST" -eq 130 ] || fail_with "exit $ST"
			[ "$(stat -c '%i %a' "$PSHM_DIR/kept")" = "$ino 640" ] ||
				fail_with "not the object that was there: $(ls -li "$PSHM_DIR")"
			return 0
		fi
		[ "$(stat -c %i "$PSHM_DIR/kept")" = "$ino" ]
		pshm resize 0 /kept
	done
	fail_with "never caught mid-way"
}

# ---- System V --------------------------------------------------------------------------------

# Set SHMID, SIZE and RSS (bytes) of the segment with KEY (decimal) made by process CPID, or
# by any process when CPID is empty; return 1 when there is none.
sysv_seg() {
	local key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime rss rest
	while read -r key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime \
		rss rest; do
		[ "$key" = "$1" ] || continue
		[ -z "$2" ] || [ "$cpid" = "$2" ] || continue
		SHMID=$shmid
		SIZE=$size
		RSS=$rss
		return 0
	done </proc/sysvipc/shm
	return 1
}

@test "create --populate: a System V segment interrupted before its pages are in is removed" {
	local key out
	key=$(sysv_key)
	for sig in INT TERM HUP; do
		local caught=
		for _ in $(seq 30); do
			# Watched as in catch_reserving: caught when the pages were still not all in
			# after the signal was sent.
			(
				trap - DEBUG
				set +e
				start create -s "$BIG" --populate "sysv:$key"
				while alive "$PID" && ! sysv_seg $((key)) ""; do :; done
				out=1
				kill -"$sig" "$PID" 2>/dev/null && sysv_seg $((key)) "" &&
					[ "$RSS" -lt "$SIZE" ] && out=0
				ST=0
				wait "$PID" || ST=$?
				echo "$ST $out" >"$BATS_TEST_TMPDIR/caught"
			)
			read -r ST out <"$BATS_TEST_TMPDIR/caught"
			if [ "$out" -eq 0 ]; then
				[ "$ST" -eq "$(died_of "$sig")" ] || fail_with "SIG$sig: exit $ST"
				! sysv_exists "$key" || fail_with "SIG$sig: the segment is left"
				caught=1
				break
			fi
			ipcrm -M "$key" 2>/dev/null || true
		done
		[ -n "$caught" ] || fail_with "SIG$sig: never caught before the pages were in"
		pshm create -s 4K "sysv:$key"
		pshm rm "sysv:$key"
	done
}

# Make FIFO a pipe that is open (on descriptor $KEEP, also for reading) and full, so that a
# write into it blocks.
full_fifo() {
	mkfifo "$1"
	exec {KEEP}<>"$1"
	dd if=/dev/zero of="$1" bs=4096 oflag=nonblock 2>/dev/null || true
}

@test "create sysv:0: a signal while the new identifier cannot be written removes the segment" {
	local out=$BATS_TEST_TMPDIR/out
	full_fifo "$out"
	for sig in INT TERM HUP; do
		# The identifier cannot get into the full pipe: the segment is never complete.
		start create -s 1 sysv:0 >"$out"
		wait_until sysv_seg 0 "$PID"
		sysv_track_id "$SHMID"
		kill -"$sig" "$PID"
		wait_until ended "$PID"
		ST=0
		wait "$PID" || ST=$?
		[ "$ST" -eq "$(died_of "$sig")" ] || fail_with "SIG$sig: exit $ST"
		! sysv_seg 0 "$PID" || fail_with "SIG$sig: segment $SHMID is left"
	done
	exec {KEEP}>&-
}

# ---- chan create -----------------------------------------------------------------------------

# The channel at ADDR is whole: chan stat reads it, with a ring of CAPACITY bytes.
chan_whole() {
	run pshm chan stat -J "$1"
	[ "$status" -eq 0 ] || fail_with "chan stat $1: $output" || return
	jq_true --argjson c "$2" '.capacity == $c' <<<"$output"
}

@test "chan create: SIGINT, SIGTERM or SIGHUP mid-way leaves no object; exit 130, 143, 129" {
	for sig in INT TERM HUP; do
		local caught=
		for _ in $(seq 30); do
			if catch_reserving "$sig" chan create --capacity 16M /ch; then
				[ "$ST" -eq "$(died_of "$sig")" ] || fail_with "SIG$sig: exit $ST"
				dir_holds
				caught=1
				break
			fi
			[ ! -e "$PSHM_DIR/ch" ] || chan_whole /ch 16777216
			pshm rm -f /ch
		done
		[ -n "$caught" ] || fail_with "SIG$sig: never caught mid-way"
		# The name is free: the same channel can be made, and is whole.
		pshm chan create --capacity 16M /ch
		chan_whole /ch 16777216
		pshm rm /ch
	done
}

@test "chan create: even SIGKILL mid-way leaves no object, and no half-made channel" {
	for _ in $(seq 30); do
		if catch_reserving KILL chan create --capacity 16M "file:$PSHM_DIR/kch"; then
			[ "$ST" -eq 137 ] || fail_with "exit $ST"
			dir_holds
			pshm chan create "file:$PSHM_DIR/kch"
			chan_whole "file:$PSHM_DIR/kch" 1048576
			return 0
		fi
		pshm rm -f "file:$PSHM_DIR/kch"
	done
	fail_with "never caught mid-way"
}

@test "chan create -m 0: interrupted mid-way, it finishes the channel with mode 0, then exits 130" {
	for _ in $(seq 30); do
		if catch_reserving INT chan create -m 0 --capacity 16M /ch0; then
			[ "$ST" -eq 130 ] || fail_with "exit $ST"
			[ "$(stat -c %a "$PSHM_DIR/ch0")" = 0 ]
			# Mode 0 keeps out all but root: its owner looks in once it has let itself in.
			[ "$ME_UID" -eq 0 ] || chmod 600 "$PSHM_DIR/ch0"
			chan_whole /ch0 16777216
			return 0
		fi
		pshm rm -f /ch0
	done
	fail_with "never caught mid-way"
}
