#!/usr/bin/env bats
# Output that cannot be written is an error: every command checks standard output when it ends
# (a full device, a closed descriptor) and fails with a message naming standard output; a
# reader that went away (EPIPE) stays quiet. A new private System V segment whose identifier
# cannot be written is removed again.

load helpers

# Run "$PSHM" ARGS... with standard output on /dev/full: run --separate-stderr to_full ARGS...
to_full() {
	"$PSHM" "$@" >/dev/full
}

# Assert the last run (of pshm WHAT...) failed with exit 1 and said standard output could not
# be written, as such: no hint about the free space of the shm directory, whose space was never
# the matter. Every check returns at once, also where the caller tests the result.
output_failed() {
	[ "$status" -eq 1 ] || fail_with "pshm $*: exit $status, not 1; stderr: $stderr" || return
	stderr_has 'writing standard output: No space left on device' || return
	! grep -q 'is free; remove objects' <<<"$stderr" ||
		fail_with "pshm $*: the message blames the shm directory:" "$stderr"
}

@test "output: ls, ls -J, stat, stat -J to a full device exit 1 with a message" {
	pshm create -s 4K /obj
	for args in "ls" "ls -J" "stat /obj" "stat -J /obj"; do
		# shellcheck disable=SC2086 # the words of ARGS are meant to split
		run --separate-stderr to_full $args
		output_failed $args
	done
}

@test "output: who to a full device exits 1 with a message" {
	pshm create -s 4K /held
	local h
	exec {h}<"$PSHM_DIR/held"
	run --separate-stderr to_full who /held
	exec {h}<&-
	output_failed
}

@test "output: --help, COMMAND --help and --version to a full device exit 1 with a message" {
	for args in "--help" "-h" "create --help" "ls --help" "chan --help" "chan create --help" \
		"--version" "-V"; do
		# shellcheck disable=SC2086
		run --separate-stderr to_full $args
		output_failed $args
	done
}

@test "output: chan stat and recv to a full device exit 1 and name standard output" {
	pshm chan create /c
	run --separate-stderr to_full chan stat /c
	[ "$status" -eq 1 ]
	stderr_has 'standard output'
	pshm send /c hello
	run --separate-stderr to_full recv -n 1 /c
	[ "$status" -eq 1 ]
	stderr_has 'standard output'
}

@test "output: a closed standard output is an error once there is something to write" {
	pshm create -s 4K /obj
	run --separate-stderr bash -c '"$PSHM" ls >&-'
	[ "$status" -eq 1 ]
	stderr_has 'writing standard output: Bad file descriptor'
	# A command with nothing to say does not care.
	run --separate-stderr bash -c '"$PSHM" rm /obj >&-'
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "output: pshm read to a full device names standard output, not the object's file system" {
	pshm create -s 4K /x
	run --separate-stderr to_full read /x
	output_failed
	stderr_has '^pshm: read /x: writing standard output: No space left on device$'
}

# The segments with key 0 (private) that process PID made.
private_segments_of() {
	awk -v pid="$1" 'NR > 1 && $1 == 0 && $5 == pid { print $2 }' /proc/sysvipc/shm
}

# Run "$PSHM" create -s 1 sysv:0 in the background with the redirections of the shell text
# REDIR, and check that it failed (exit 1), saying it removed the segment, and left none of it.
check_sysv0_removed() {
	local pid st=0 id
	eval '"$PSHM" create -s 1 sysv:0 '"$1"' 2>"$BATS_TEST_TMPDIR/err" &'
	pid=$!
	wait "$pid" || st=$?
	for id in $(private_segments_of "$pid"); do
		sysv_track_id "$id"
	done
	stderr=$(cat "$BATS_TEST_TMPDIR/err")
	[ "$st" -eq 1 ] || fail_with "$1: exit $st" "$stderr" || return
	stderr_has '^pshm: create sysv:0: removed the new segment sysv:id=[0-9]+ again' || return
	[ -z "$(private_segments_of "$pid")" ] ||
		fail_with "$1: segments left: $(private_segments_of "$pid")"
}

@test "output: create sysv:0 whose identifier cannot be written removes the segment, exit 1" {
	check_sysv0_removed '>/dev/full'
	stderr_has '^pshm: create sysv:0: writing standard output: No space left on device$'
	check_sysv0_removed '>&-'
	stderr_has '^pshm: create sysv:0: writing standard output: Bad file descriptor$'
}

# Make $W a descriptor for writing into a pipe that nobody reads any more: writes into it fail
# with EPIPE, or raise SIGPIPE.
readerless_pipe() {
	local r
	mkfifo "$BATS_TEST_TMPDIR/pipe"
	exec {r}<>"$BATS_TEST_TMPDIR/pipe"
	exec {W}>"$BATS_TEST_TMPDIR/pipe"
	exec {r}<&-
}

@test "output: a reader that went away (EPIPE) stays quiet, and ls keeps its status" {
	pshm create -s 4K /obj
	readerless_pipe
	# SIGPIPE ignored, as some parents leave it: the write fails with EPIPE.
	# (Quiet: no word of it; what ls says of processes it could not look into stays.)
	run --separate-stderr bash -c 'trap "" PIPE; exec "$PSHM" ls >&'"$W"
	[ "$status" -eq 0 ]
	stderr_view
	# SIGPIPE at its default, as in a shell pipeline: the command ends by it, quietly.
	run --separate-stderr bash -c '"$PSHM" ls -J | head -c1'
	[ "$status" -eq 0 ]
	stderr_view
	exec {W}>&-
}

@test "output: create sysv:0 into a pipe with no reader removes the segment and says so" {
	readerless_pipe
	# SIGPIPE ignored, or at its default action, which would end pshm before it could clean up.
	check_sysv0_removed '>&"$W" 3>&- {W}>&-'
	(
		trap '' PIPE
		check_sysv0_removed '>&"$W" 3>&- {W}>&-'
	)
	exec {W}>&-
}

@test "output: a create whose output works is unchanged: the identifier is printed, exit 0" {
	run --separate-stderr pshm create -s 1 sysv:0
	[ "$status" -eq 0 ]
	[[ $output =~ ^sysv:id=[0-9]+$ ]]
	sysv_track_id "${output#sysv:id=}"
	[ -z "$stderr" ]
}
