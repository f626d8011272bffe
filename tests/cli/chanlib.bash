# chanlib.bash - what the channel tests share (chan.bats, writers.bats): the command bounded
# in time, chan stat's fields, and a command fed from a FIFO this shell keeps open.

# The command, bounded: a channel command that hangs fails with 124 (a limit no busy machine
# reaches).
p() {
	timeout 60 "$PSHM" "$@"
}

# The value of KEY in the JSON of "pshm chan stat -J ADDR".
chan_field() {
	p chan stat -J "$1" | jq -r ".$2"
}

# Whether channel ADDR's KEY (a chan stat -J field) is VALUE now.
field_is() {
	[ "$(chan_field "$1" "$2")" = "$3" ]
}

# Wait until channel ADDR's KEY is VALUE; show the channel when it never comes.
wait_field() {
	wait_until field_is "$@" && return 0
	p chan stat "$1" >&2
	# The state of each process the test started (in $steady or $spid), for the failure
	# report: running, stopped or gone, where it waits, and its exit status when gone.
	local pid rc
	for pid in "${steady[@]}" ${spid:-}; do
		if [ -r "/proc/$pid/stat" ]; then
			echo "process $pid: $(cut -d' ' -f3 "/proc/$pid/stat") in" \
				"$(cat "/proc/$pid/wchan" 2>/dev/null): $(tr '\0' ' ' <"/proc/$pid/cmdline")" >&2
			cat "/proc/$pid/stack" 2>/dev/null | head -5 >&2
		else
			rc=0
			wait "$pid" 2>/dev/null || rc=$?
			echo "process $pid: gone, exit status $rc" >&2
		fi
	done
	return 1
}

# Start COMMAND... in the background with its input from the new FIFO $BATS_TEST_TMPDIR/fifo,
# whose writing end this shell keeps on descriptor 5 (close it with exec 5>&-). The command's
# PID goes to $spid, a local of the caller when it declares one.
feed_from_fifo() {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	exec 5<>"$BATS_TEST_TMPDIR/fifo"
	"$@" <"$BATS_TEST_TMPDIR/fifo" 5>&- 3>&- &
	spid=$!
	track "$spid"
}
