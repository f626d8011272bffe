#!/usr/bin/env bats
# examples/epoll: one loop serving two channels (through pshm_chan_fd) and a Unix socket,
# against real senders: pshm send on the channels, a Python client on the socket.

load helpers

# Start examples/epoll on channels /a and /b and the socket $BATS_TEST_TMPDIR/sock, its output
# in $BATS_TEST_TMPDIR/out, and wait until it serves.
start_epoll() {
	EPOLL=$(dirname "$PSHM")/examples/epoll
	[ -x "$EPOLL" ] || skip "no $EPOLL (make examples)"
	SOCK=$BATS_TEST_TMPDIR/sock
	OUT=$BATS_TEST_TMPDIR/out
	"$EPOLL" /a /b "$SOCK" >"$OUT" 2>"$BATS_TEST_TMPDIR/err" &
	EPOLL_PID=$!
	track "$EPOLL_PID"
	wait_until grep -qx "epoll: serving /a, /b and $SOCK" "$OUT"
}

# Connect to the example's socket, send TEXT and close.
sock_send() {
	"$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
s.close()' "$SOCK" "$1"
}

@test "epoll example: two channels and a socket in one loop, each in its order" {
	need_python
	start_epoll
	sock_send $'over the socket\nsecond line\n'
	pshm send /a "first on a" "second on a"
	pshm send /b "only on b"
	local status=0
	wait "$EPOLL_PID" || status=$?
	[ "$status" -eq 0 ] || fail_with "epoll exited $status; stderr:" "$(cat "$BATS_TEST_TMPDIR/err")"
	run cat "$OUT"
	[ "${lines[0]}" = "epoll: serving /a, /b and $SOCK" ]
	[ "${lines[${#lines[@]} - 1]}" = "epoll: done" ]
	# What came through each source, in the order it was sent there.
	[ "$(grep '^/a: ' "$OUT")" = $'/a: first on a\n/a: second on a\n/a: the writer is done' ] ||
		fail_with "channel /a:" "$output"
	[ "$(grep '^/b: ' "$OUT")" = $'/b: only on b\n/b: the writer is done' ] ||
		fail_with "channel /b:" "$output"
	[ "$(grep "^$SOCK: " "$OUT")" = "$SOCK: over the socket"$'\n'"$SOCK: second line" ] ||
		fail_with "the socket:" "$output"
	[ "${#lines[@]}" -eq 9 ] || fail_with "more than expected:" "$output"
	# It removes what it made.
	[ ! -e "$SOCK" ]
	[ -z "$(ls -A "$PSHM_DIR")" ]
}

@test "epoll example: a writer killed while attached is heard, and the exit status says so" {
	start_epoll
	# A writer that stays attached, reading lines from a FIFO that this shell holds open.
	mkfifo "$BATS_TEST_TMPDIR/in"
	"$PSHM" send /a <"$BATS_TEST_TMPDIR/in" &
	local sender=$!
	track "$sender"
	exec 7>"$BATS_TEST_TMPDIR/in"
	echo "before the end" >&7
	wait_until grep -qx "/a: before the end" "$OUT"
	pshm send /b "from b"
	kill -9 "$sender"
	wait "$sender" || true
	exec 7>&-
	local status=0
	wait "$EPOLL_PID" || status=$?
	[ "$status" -eq 1 ] || fail_with "epoll exited $status:" "$(cat "$OUT")"
	grep -qx "/a: the writer died" "$OUT" || fail_with "no death heard:" "$(cat "$OUT")"
	grep -qx "/b: the writer is done" "$OUT"
	[ -z "$(ls -A "$PSHM_DIR")" ]
}

@test "epoll example: bad usage is exit 2; a channel that exists already is exit 1" {
	EPOLL=$(dirname "$PSHM")/examples/epoll
	[ -x "$EPOLL" ] || skip "no $EPOLL (make examples)"
	run --separate-stderr "$EPOLL" /a /b
	[ "$status" -eq 2 ]
	[ "$stderr" = "usage: epoll CHANNEL1 CHANNEL2 SOCKET" ]
	pshm chan create /b
	run --separate-stderr "$EPOLL" /a /b "$BATS_TEST_TMPDIR/sock"
	[ "$status" -eq 1 ]
	[ "$stderr" = "epoll: /b: File exists" ]
	# What it made before the failure is gone again; what was there stays.
	[ "$(ls -A "$PSHM_DIR")" = b ]
}
