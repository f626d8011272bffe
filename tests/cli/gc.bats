#!/usr/bin/env bats
# pshm gc: leased objects whose holders all died, and, with --unleased, objects no process maps
# or holds, are removed; nothing in use ever is.

load helpers

# gc limited to the shm directory: without -k, --unleased would also look at the System V
# segments of other programs.
gcp() {
	pshm gc -k posix,chan "$@"
}

# Start `pshm hold ARGS... -- sleep` in the background and wait until its command runs, so that
# what it holds is held. HOLD_PID is pshm hold's PID, HOLD_CMD its command's.
start_hold() {
	local pidfile=$BATS_TEST_TMPDIR/hold.$RANDOM
	"$PSHM" hold "$@" -- sh -c 'echo $$ >"$0"; exec sleep 1000' "$pidfile" 3>&- &
	HOLD_PID=$!
	track "$HOLD_PID"
	wait_until test -s "$pidfile"
	HOLD_CMD=$(cat "$pidfile")
	track "$HOLD_CMD"
	wait_comm "$HOLD_CMD" sleep
}

# Kill pshm hold PID and its command with SIGKILL, and wait until the first is gone.
kill_hold() {
	kill -KILL "$1" "$2"
	wait "$1" 2>/dev/null || true
}

# Start a python process that maps /NAME, closes its descriptor and waits; MAPPER is its PID.
map_it() {
	need_python
	local ready=$BATS_TEST_TMPDIR/ready.$RANDOM
	"$PYTHON" -c '
import mmap, sys, time
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
f.close()
open(sys.argv[2], "w").close()
time.sleep(1000)' "$1" "$ready" >/dev/null 2>&1 3>&- &
	MAPPER=$!
	track "$MAPPER"
	wait_until test -e "$ready"
}

# Run `pshm gc ARGS...` in the background under strace, which stops it (SIGSTOP) just after it
# has hidden its first object; wait until it is stopped. GC_PID is its PID, GC_STRACE strace's,
# GC_HIDDEN the hidden name; its output goes to gc.out and gc.err in the test's directory.
gc_stopped() {
	command -v strace >/dev/null || skip "strace is missing"
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace processes here"
	# LeakSanitizer, in a sanitizer build, cannot work under ptrace: it would fail the run.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -o /dev/null -e trace=renameat2 -e inject=renameat2:signal=SIGSTOP:when=1 \
		"$PSHM" gc "$@" >"$BATS_TEST_TMPDIR/gc.out" 2>"$BATS_TEST_TMPDIR/gc.err" 3>&- &
	GC_STRACE=$!
	track "$GC_STRACE"
	wait_until gc_is_stopped
	GC_HIDDEN=$(cd "$PSHM_DIR" && echo .pshm-gc.*)
}

gc_is_stopped() {
	read -r GC_PID _ </proc/"$GC_STRACE"/task/"$GC_STRACE"/children
	[ -n "$GC_PID" ] && compgen -G "$PSHM_DIR/.pshm-gc.*" >/dev/null &&
		[[ $(cut -d' ' -f3 "/proc/$GC_PID/stat") == [tT] ]]
}

# Let the stopped gc go on, and wait for its end; its status is in GC_STATUS.
gc_continue() {
	kill -CONT "$GC_PID"
	GC_STATUS=0
	wait "$GC_STRACE" || GC_STATUS=$?
	GC_PID=
}

# A gc stopped by strace is let go even when its test failed.
eval "helpers_$(declare -f teardown)"
teardown() {
	[ -z "${GC_PID:-}" ] || kill -CONT "$GC_PID" 2>/dev/null
	helpers_teardown
}

# Whether a channel role holder's beacon file in DIR is ready: made 0444 once it is locked.
beacon_in() {
	[ -n "$(find "$1" -name '.pshm-live.*' -perm 0444)" ]
}

# Make /NAME of SIZE a leased object whose only holder died (killed by SIGKILL).
dead_leased() {
	run "$PSHM" hold --create -s "$2" --lease "$1" -- sh -c 'kill -KILL $PPID'
	[ "$status" -eq 137 ] || fail_with "pshm hold was not killed: $status" "$output"
	[ -k "$PSHM_DIR/${1#/}" ]
}

@test "gc: three lease holders killed: -n lists exactly their object, gc removes it alone" {
	pshm create -s 8K /plain
	start_hold --create -s 16K --lease /leased
	local h1=$HOLD_PID c1=$HOLD_CMD
	start_hold --lease /leased
	local h2=$HOLD_PID c2=$HOLD_CMD
	start_hold --lease /leased
	local h3=$HOLD_PID c3=$HOLD_CMD
	[ -k "$PSHM_DIR/leased" ]
	# Held: nothing to do, nothing printed.
	run --separate-stderr gcp
	[ "$status" -eq 0 ] && stdout_empty && [ -z "$stderr" ]
	kill_hold "$h1" "$c1"
	kill_hold "$h2" "$c2"
	kill_hold "$h3" "$c3"
	dir_holds leased plain

	run --separate-stderr gcp -n
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]
	read -ra h <<<"${lines[0]}"
	[ "${h[*]}" = "ADDRESS KIND ALLOC REASON" ]
	[[ ${lines[1]} =~ ^/leased\ +posix\ +16K\ dead\ lease$ ]]
	dir_holds leased plain

	run --separate-stderr gcp
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[1]} =~ ^/leased\ +posix\ +16K\ dead\ lease$ ]]
	dir_holds plain
	# Nothing is left to do.
	run gcp
	[ "$status" -eq 0 ] && stdout_empty
}

@test "gc: a leased object with one live holder stays; its holder's death frees it" {
	start_hold --create -s 4K --lease /held
	dead_leased /dead 4K
	run gcp -b
	[ "$status" -eq 0 ]
	[[ ${lines[1]} =~ ^/dead\ +posix\ +4096\ dead\ lease$ ]] && [ "${#lines[@]}" -eq 2 ]
	dir_holds held
	kill_hold "$HOLD_PID" "$HOLD_CMD"
	run gcp -b
	[[ ${lines[1]} =~ ^/held\ +posix\ +4096\ dead\ lease$ ]] && [ "${#lines[@]}" -eq 2 ]
	dir_holds
}

@test "gc --unleased: an unleased object mapped or held by a live process is never removed" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 4K /mapped /opened /idle
	map_it "$PSHM_DIR/mapped"
	start_hold /opened
	run --separate-stderr gcp --unleased --older-than 0s
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ] && [[ ${lines[1]} =~ ^/idle\ +posix\ +4K\ unused$ ]]
	dir_holds mapped opened
	# Without --unleased, unleased objects are never touched, even unused ones.
	kill "$MAPPER"
	wait "$MAPPER" || true
	run gcp
	[ "$status" -eq 0 ] && stdout_empty
	dir_holds mapped opened
}

@test "gc --unleased -n lists an unused object without removing it; --unleased removes it" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 12K /unused
	dead_leased /zdead 4K
	# Sorted by address, not by the order of removal.
	run --separate-stderr gcp --unleased -n
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[1]} =~ ^/unused\ +posix\ +12K\ unused$ ]]
	[[ ${lines[2]} =~ ^/zdead\ +posix\ +4K\ dead\ lease$ ]]
	dir_holds unused zdead
	run --separate-stderr gcp --unleased -v
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "${#lines[@]}" -eq 4 ]
	[[ ${lines[1]} =~ ^/unused\ +posix\ +12K\ unused$ ]]
	[[ ${lines[2]} =~ ^/zdead\ +posix\ +4K\ dead\ lease$ ]]
	[ "${lines[3]}" = "removed 2 objects, 16K freed" ]
	dir_holds
	run gcp --unleased -v
	[ "$status" -eq 0 ] && [ "$output" = "removed 0 objects, 0B freed" ]
}

@test "gc --unleased: semaphores, objects with other names and beacon files stay" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 4K /linked
	ln "$PSHM_DIR/linked" "$PSHM_DIR/other-name"
	: >"$PSHM_DIR/sem.s"
	: >"$PSHM_DIR/.pshm-live.0123456789abcdef"
	mkdir "$PSHM_DIR/dir"
	run pshm gc -k posix --unleased
	[ "$status" -eq 0 ] && stdout_empty
	dir_holds linked other-name sem.s dir .pshm-live.0123456789abcdef
}

@test "gc: a killed channel reader's beacon is a dead beacon, of kind chan" {
	pshm chan create /ch
	"$PSHM" recv /ch >/dev/null 3>&- &
	local reader=$!
	track $reader
	wait_until beacon_in "$PSHM_DIR"
	local beacon
	beacon=$(cd "$PSHM_DIR" && echo .pshm-live.*)
	kill -KILL $reader
	wait $reader || true
	run --separate-stderr pshm gc -k posix
	[ "$status" -eq 0 ] && stdout_empty
	run --separate-stderr pshm gc -n
	[ "$status" -eq 0 ] && [ "${#lines[@]}" -eq 2 ]
	[[ ${lines[1]} =~ ^/$beacon\ +chan\ +0B\ dead\ beacon$ ]]
	dir_holds ch "$beacon"
	run --separate-stderr pshm gc -k chan
	[ "$status" -eq 0 ] && [[ ${lines[1]} =~ ^/$beacon\ +chan ]]
	# The channel is no leased object: it stays.
	dir_holds ch
}

@test "gc --unleased: as another user, refused while other users' processes exist" {
	require_root
	share_dir
	as_nobody "$PSHM" create -s 4K /theirs
	dead_leased /roots 4K
	run as_nobody "$PSHM" hold --create -s 4K --lease /dead -- sh -c 'kill -KILL $PPID'
	[ "$status" -eq 137 ]
	run --separate-stderr as_nobody "$PSHM" gc --unleased -k posix
	[ "$status" -eq 1 ] && stdout_empty
	stderr_has "^pshm: gc /proc: cannot see every process \(other users' processes"
	stderr_has "^pshm: --unleased needs root"
	run --separate-stderr as_nobody "$PSHM" gc --unleased -n -J -k posix
	[ "$status" -eq 1 ] && stdout_empty
	# Nothing was removed, not even the dead leased object.
	dir_holds dead roots theirs
	# The leased part needs no such view; root's dead object is not nobody's to remove.
	run --separate-stderr as_nobody "$PSHM" gc -k posix
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ] && [[ ${lines[1]} =~ ^/dead\ +posix\ +4K\ dead\ lease$ ]]
	dir_holds roots theirs
}

@test "gc --unleased: an object opened while it is hidden gets its name back" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 4K /x
	gc_stopped -k posix --unleased
	dir_holds "$GC_HIDDEN"
	# Opening it by its name fails now.
	run pshm stat /x
	[ "$status" -eq 1 ]
	map_it "$PSHM_DIR/$GC_HIDDEN"
	gc_continue
	[ "$GC_STATUS" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/gc.out" ] && [ ! -s "$BATS_TEST_TMPDIR/gc.err" ]
	dir_holds x
}

@test "gc --unleased: an object opened while hidden, its name taken meanwhile, stays hidden" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 4K /x
	gc_stopped -k posix --unleased
	map_it "$PSHM_DIR/$GC_HIDDEN"
	pshm create -s 8K /x
	gc_continue
	[ "$GC_STATUS" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/gc.out" ]
	stderr=$(cat "$BATS_TEST_TMPDIR/gc.err")
	[ "$stderr" = "pshm: warning: gc /x: a new object took its name while it was checked; it is in use, and kept as /$GC_HIDDEN" ]
	dir_holds x "$GC_HIDDEN"
	[ "$(size_of /x)" -eq 8192 ]
}

@test "gc --unleased: a stop signal while objects are hidden gives them their names back" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 4K /x /y
	gc_stopped -k posix --unleased
	kill -TERM "$GC_PID"
	gc_continue
	[ "$GC_STATUS" -eq 143 ]
	[ ! -s "$BATS_TEST_TMPDIR/gc.out" ]
	dir_holds x y
}

@test "gc --unleased: a leftover hidden by an interrupted gc goes when unused, stays when used" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 4K /a /b
	mv "$PSHM_DIR/a" "$PSHM_DIR/.pshm-gc.0123456789abcdef"
	mv "$PSHM_DIR/b" "$PSHM_DIR/.pshm-gc.fedcba9876543210"
	map_it "$PSHM_DIR/.pshm-gc.fedcba9876543210"
	# Only --unleased looks at them.
	run gcp
	[ "$status" -eq 0 ] && stdout_empty
	run gcp --unleased -n
	[ "$status" -eq 0 ] && [ "${#lines[@]}" -eq 2 ]
	[[ ${lines[1]} =~ ^/\.pshm-gc\.0123456789abcdef\ +posix\ +4K\ unused,\ hidden\ by\ an\ interrupted\ gc$ ]]
	dir_holds .pshm-gc.0123456789abcdef .pshm-gc.fedcba9876543210
	# Even one that is brand new: its age is not asked.
	run gcp --unleased --older-than 2d
	[ "$status" -eq 0 ] && [ "${#lines[@]}" -eq 2 ]
	[[ ${lines[1]} == /.pshm-gc.0123456789abcdef* ]]
	dir_holds .pshm-gc.fedcba9876543210
}

@test "gc: a small tmpfs full of leaked leased objects is emptied, and a big create fits again" {
	in_tmpfs 'for i in 1 2 3; do
			"$PSHM" hold --create -s 1M --lease /leak$i -- sh -c "kill -KILL \$PPID"
			[ $? -eq 137 ] || exit 10
		done
		"$PSHM" create -s 2M /big 2>err && exit 11
		grep -q "No space left on device" err || exit 12
		"$PSHM" gc -b >out || exit 13
		[ "$(grep -c " dead lease$" out)" -eq 3 ] || exit 14
		grep -q "^/leak1 *posix *1048576 dead lease$" out || exit 15
		"$PSHM" create -s 2M /big || exit 16
		[ "$(ls -A "$PSHM_DIR")" = big ] || exit 17'
}

@test "gc --older-than: durations accepted and refused" {
	# Accepted, the run is made, or refused for want of a view of every process (1).
	local want=1
	! view_complete || want=0
	for d in 0 0s 90 90s 30m 1h 2d; do
		run gcp --unleased -n --older-than "$d"
		[ "$status" -eq "$want" ] || fail_with "--older-than $d: $status, not $want" "$output"
	done
	for d in 1x -5m '' 5.5h 1h30m ' 5' 99999999999999999999d; do
		run --separate-stderr gcp --unleased -n --older-than "$d"
		[ "$status" -eq 2 ] || fail_with "--older-than '$d' accepted: $status"
		stderr_has "^pshm gc: invalid duration"
	done
	run --separate-stderr gcp --older-than 1h
	[ "$status" -eq 2 ] && stderr_has "only with --unleased"
}

@test "gc --unleased --older-than 1h: a recently changed object survives" {
	view_complete || skip "pshm cannot see every process here"
	pshm create -s 4K /recent
	touch -d '3 hours ago' "$PSHM_DIR/recent"
	# Its mtime is old, its ctime (the touch) is not: it stays.
	run gcp --unleased --older-than 1h
	[ "$status" -eq 0 ] && stdout_empty
	dir_holds recent
	run gcp --unleased --older-than 0
	[[ ${lines[1]} =~ ^/recent\ +posix ]]
	dir_holds
}

@test "gc -J: valid JSON with numbers, the dry run and completeness said" {
	dead_leased /dead 8K
	run --separate-stderr gcp -J -n
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	jq_true '.dry_run == true and .complete == true and (.removed | length == 1) and
		.removed[0] == {"address": "/dead", "kind": "posix", "alloc": 8192,
		"reason": "dead lease"}' <<<"$output"
	dir_holds dead
	run gcp -J
	jq_true '.dry_run == false and .complete == true and .removed[0].address == "/dead"' \
		<<<"$output"
	dir_holds
	run gcp -J
	[ "$status" -eq 0 ]
	jq_true '.removed == [] and .dry_run == false and .complete == true' <<<"$output"
	run --separate-stderr pshm gc -J "file:$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 1 ]
	jq_true '.removed == [] and .complete == false' <<<"$output"
}

@test "gc: -r, --noheadings and -b shape the table" {
	dead_leased /dead 4K
	run pshm gc -n -r --noheadings
	[ "$status" -eq 0 ] && [ "$output" = '/dead posix 4K dead\x20lease' ]
	run pshm gc -n -b -v
	[ "${#lines[@]}" -eq 3 ] && [[ ${lines[1]} =~ ^/dead\ +posix\ +4096\ dead\ lease$ ]]
	[ "${lines[2]}" = "would remove 1 object, 4096" ]
	dir_holds dead
}

@test "gc: names in the table and JSON are escaped" {
	dead_leased "/bad$(printf '\033')[31m" 4K
	run gcp -n
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == '/bad\x1b[31m '* ]]
	run gcp -n -J
	jq_true '.removed[0].address == "/bad\u001b[31m"' <<<"$output"
}

@test "gc: file operands: a dead leased file is removed, others are not; failures exit 1" {
	local d=$BATS_TEST_TMPDIR/files
	mkdir "$d"
	run pshm hold --create -s 4K --lease "file:$d/dead" -- sh -c 'kill -KILL $PPID'
	[ "$status" -eq 137 ] && [ -k "$d/dead" ]
	pshm create -s 4K "file:$d/plain"
	dead_leased /posix 4K
	# With operands, only they are looked at.
	run --separate-stderr pshm gc "file:$d/dead" "file:$d/plain"
	[ "$status" -eq 0 ] && [ -z "$stderr" ]
	[ "${#lines[@]}" -eq 2 ] && [[ ${lines[1]} =~ ^file:$d/dead\ +file\ +4K\ dead\ lease$ ]]
	[ ! -e "$d/dead" ] && [ -e "$d/plain" ]
	dir_holds posix
	run --separate-stderr pshm gc "file:$d/missing"
	[ "$status" -eq 1 ] && stderr_has "^pshm: gc file:$d/missing: "
	# A file channel's dead reader: its beacon goes, silently; the channel stays.
	pshm chan create "file:$d/ch"
	"$PSHM" recv "file:$d/ch" >/dev/null 3>&- &
	local reader=$!
	track $reader
	wait_until beacon_in "$d"
	kill -KILL $reader
	wait $reader || true
	run --separate-stderr pshm gc -n "file:$d/ch"
	[ "$status" -eq 0 ] && stdout_empty
	[ -n "$(find "$d" -name '.pshm-live.*')" ]
	run --separate-stderr pshm gc "file:$d/ch"
	[ "$status" -eq 0 ] && stdout_empty
	[ "$(ls -A "$d")" = "$(printf 'ch\nplain')" ]
	rm "$d/ch"
	# --unleased: the same steps as in the shm directory.
	view_complete || skip "pshm cannot see every process here"
	run pshm gc --unleased -n "file:$d/plain"
	[ "$status" -eq 0 ] && [[ ${lines[1]} =~ ^file:$d/plain\ +file\ +4K\ unused$ ]]
	[ -e "$d/plain" ]
	run pshm gc --unleased "file:$d/plain"
	[ "$status" -eq 0 ] && [[ ${lines[1]} =~ ^file:$d/plain\ +file\ +4K\ unused$ ]]
	[ -z "$(ls -A "$d")" ]
	dir_holds posix
}

@test "gc: usage errors exit 2" {
	run --separate-stderr pshm gc /name
	[ "$status" -eq 2 ] && stderr_has "is not a file:PATH address"
	run --separate-stderr pshm gc -k posix file:/tmp/x
	[ "$status" -eq 2 ] && stderr_has "need kind file"
	run --separate-stderr pshm gc -k posix,bogus
	[ "$status" -eq 2 ] && stderr_has "unknown kind 'bogus'"
	run --separate-stderr pshm gc --bogus
	[ "$status" -eq 2 ]
	run pshm gc --help
	[ "$status" -eq 0 ] && [[ ${lines[0]} == Usage: && ${lines[1]} == " pshm gc "* ]]
}

@test "gc -k sysv --unleased: an unattached System V segment goes, an attached one stays" {
	[ "$ME_UID" -eq 0 ] || skip "needs root for a private IPC namespace"
	unshare --ipc true 2>/dev/null || skip "cannot make a private IPC namespace (unshare -i)"
	command -v ipcmk >/dev/null || skip "ipcmk is missing (util-linux)"
	# A private IPC namespace: no other program's segment can be touched.
	run unshare --ipc bash -c '
		free=$(ipcmk -M 8192 | grep -o "[0-9]*$") || exit 10
		used=$(ipcmk -M 4096 | grep -o "[0-9]*$") || exit 11
		"$PSHM" hold --map "sysv:id=$used" -- sh -c "echo ready >\"\$0\"; exec sleep 1000" \
			"$1/ready" &
		holder=$!
		while [ ! -s "$1/ready" ]; do sleep 0.05; done
		echo "$("$PSHM" stat "sysv:id=$free" | sed -n "s/^address: //p") $used"
		"$PSHM" gc -k sysv --unleased -n -b
		"$PSHM" gc -k sysv --unleased -b
		echo "after:"; ipcs -m | awk "\$2 ~ /^[0-9]+$/ { print \$2 }"
		# Without -k, --unleased looks at System V segments too.
		ipcmk -M 4096 >/dev/null && "$PSHM" gc --unleased -n -r --noheadings | grep -c " sysv "
		"$PSHM" gc -k sysv -b
		echo "status $?"
		kill -TERM $holder; wait $holder; exit 0' bash "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ] || fail_with "$output"
	read -r addr u <<<"${lines[0]}"
	[[ ${lines[2]} =~ ^$addr\ +sysv\ +[0-9]+\ unused$ ]] || fail_with "dry run:" "$output"
	[ "${lines[1]%% *}" = ADDRESS ] && [ "${lines[3]%% *}" = ADDRESS ]
	[ "${lines[2]}" = "${lines[4]}" ]
	[ "${lines[5]}" = after: ] && [ "${lines[6]}" = "$u" ] && [ "${lines[7]}" = 1 ]
	[ "${lines[8]}" = "status 0" ]
}
