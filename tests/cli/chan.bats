#!/usr/bin/env bats
# pshm chan create, chan stat, send and recv: lines and records round trips, a reader that
# waits for a late writer, -n and --timeout, a writer or reader killed with SIGKILL, also under
# another user's read locks on the channel and its beacons, broadcast readers and overruns, ls
# showing channels, and bad input. Every command runs under timeout,
# so a hang fails the test instead of stopping the run.

load helpers

# Every test as a whole is bounded too.
export BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}

load chanlib

# The bytes of a record for the text or data on standard input: a 4-byte little-endian length,
# then the bytes.
record() {
	local f=$BATS_TEST_TMPDIR/rec.$$ n
	cat >"$f"
	n=$(stat -c %s "$f")
	printf '%b' "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8 & 255)))"
	printf '%b' "\\x$(printf %02x $((n >> 16 & 255)))\\x$(printf %02x $((n >> 24 & 255)))"
	cat "$f"
}

# Run COMMAND... as uid and gid 65534, without supplementary groups. In the background a
# function runs in a subshell of its own, so there the setpriv line is written out instead:
# then $! is the command itself (setpriv execs it), for kill -9 to reach.
nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# Start a squatter as uid 65534 on the channel object OBJECT whose beacons are in DIR: it
# read-locks what it can (open file description locks and classic POSIX locks): the whole
# object, or where a write lock is in the way each role's byte, and every beacon that appears,
# taking each lock it cannot have yet the moment it is let go. It logs to $SQUAT_LOG: "ready",
# then "waiting NAME" and "grabbed NAME" (a beacon's name, or "byte N" of the object).
start_squatter() {
	SQUAT_LOG=$BATS_TEST_TMPDIR/squat.log
	setpriv --reuid=65534 --regid=65534 --clear-groups "$PYTHON" -c '
import fcntl, os, struct, sys, threading, time
obj, d = sys.argv[1], sys.argv[2]
def log(line):
    print(line, flush=True)
def wait(a, b, fl, what):
    fcntl.fcntl(a, fcntl.F_OFD_SETLKW, fl)
    fcntl.fcntl(b, fcntl.F_SETLKW, fl)
    log("grabbed " + what)
# Nothing is ever closed: closing any descriptor of a file drops our classic locks on it.
def squat(path, start, length, what, wait_for_it):
    a = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    b = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    fl = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, start, length, 0)
    try:
        fcntl.fcntl(a, fcntl.F_OFD_SETLK, fl)
        fcntl.fcntl(b, fcntl.F_SETLK, fl)
        log("holding " + what)
        return True
    except OSError:
        if wait_for_it:
            threading.Thread(target=wait, args=(a, b, fl, what), daemon=True).start()
            log("waiting " + what)
        return False
if not squat(obj, 0, 0, "object", False):
    for byte in range(66):
        squat(obj, byte, 1, "byte %d" % byte, True)
log("ready")
seen = set()
while True:
    for name in sorted(os.listdir(d)):
        if name.startswith(".pshm-live.") and name not in seen:
            seen.add(name)
            try:
                squat(os.path.join(d, name), 0, 0, name, True)
            except FileNotFoundError:
                pass  # made and removed again: a writer refused a role it could not take
    time.sleep(0.01)
' "$1" "$2" >"$SQUAT_LOG" 2>&1 3>&- &
	track $!
	wait_until grep -qx ready "$SQUAT_LOG"
}

# The names of the beacons in directory DIR.
beacons_in() {
	find "$1" -maxdepth 1 -name '.pshm-live.*' -printf '%f\n'
}

# Wait until the squatter waits for (or holds) a lock on every beacon in DIR.
squatter_has_all() {
	local b
	for b in $(beacons_in "$1"); do
		if ! wait_until grep -qE "^(waiting|holding) $b\$" "$SQUAT_LOG"; then
			sed 's/^/squatter: /' "$SQUAT_LOG" >&2
			return 1
		fi
	done
}

# The time in milliseconds.
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

@test "send and recv round-trip lines exactly: empty lines, a last line without newline" {
	p chan create /c
	printf 'one\n\nthree  spaced \t\n\n\nlast' >"$BATS_TEST_TMPDIR/in"
	run --separate-stderr p send /c <"$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ]
	stdout_empty
	[ -z "$stderr" ]
	[ "$(chan_field /c sent)" -eq 6 ]
	p recv /c >"$BATS_TEST_TMPDIR/out"
	# The last line gets its newline; nothing else changes.
	printf 'one\n\nthree  spaced \t\n\n\nlast\n' | cmp - "$BATS_TEST_TMPDIR/out"
	# A file that ends with a newline comes back the same, byte for byte.
	seq 1000 >"$BATS_TEST_TMPDIR/seq"
	p send /c <"$BATS_TEST_TMPDIR/seq"
	p recv /c | cmp - "$BATS_TEST_TMPDIR/seq"
	# Empty input: no message at all.
	p send /c </dev/null
	run --separate-stderr p recv /c
	[ "$status" -eq 0 ]
	stdout_empty
	[ "$(chan_field /c sent)" -eq 1006 ]
}

@test "send: each MESSAGE argument is one message, empty ones too" {
	p chan create /c
	p send /c 'a b' '' 'line
two'
	[ "$(chan_field /c sent)" -eq 3 ]
	[ "$(chan_field /c bytes)" -eq 11 ]
	p recv /c >"$BATS_TEST_TMPDIR/out"
	printf 'a b\n\nline\ntwo\n' | cmp - "$BATS_TEST_TMPDIR/out"
}

@test "send and recv --records: binary data round-trips exactly" {
	p chan create --capacity 64K /r
	head -c 20000 /dev/urandom >"$BATS_TEST_TMPDIR/bin"
	{
		record <"$BATS_TEST_TMPDIR/bin"
		printf '' | record
		printf 'a\0b\nc' | record
		head -c 300 /dev/zero | record
	} >"$BATS_TEST_TMPDIR/recs"
	p send --records /r <"$BATS_TEST_TMPDIR/recs"
	[ "$(chan_field /r sent)" -eq 4 ]
	[ "$(chan_field /r bytes)" -eq 20305 ]
	p recv --records /r >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/recs" "$BATS_TEST_TMPDIR/out"
	# Records in, lines out: each payload followed by a newline.
	printf 'xyz' | record | p send --records /r
	[ "$(p recv /r | od -An -c | tr -d ' ')" = 'xyz\n' ]
	# Lines in, records out.
	printf 'ab\n\n' | p send /r
	p recv --records /r | cmp - <(printf '\x02\0\0\0ab\0\0\0\0')
}

@test "send --records: a truncated record is an error, and what came before it arrives" {
	p chan create /r
	{
		printf 'ok' | record
		printf '\x10\0\0\0abc'
	} >"$BATS_TEST_TMPDIR/recs"
	run --separate-stderr p send --records /r <"$BATS_TEST_TMPDIR/recs"
	[ "$status" -eq 1 ]
	stderr_has '^pshm: send /r: the input ends inside a record of 16 bytes'
	run --separate-stderr p send --records /r < <(printf '\x01\0')
	[ "$status" -eq 1 ]
	stderr_has "inside a record's length"
	# The failed sends gave their streams up: the reader says so after what came.
	run --separate-stderr p recv /r
	[ "$status" -eq 1 ]
	[ "$output" = ok ]
	stderr_has '^pshm: recv /r: the writer gave up$'
}

@test "recv waits for a writer that comes late, then ends when it detaches" {
	p chan create /c
	p recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /c readers 1
	sleep 0.5
	# No writer has come yet: recv is still waiting, not ended.
	kill -0 "$rpid"
	[ "$(chan_field /c writer)" = none ]
	p send /c hello world
	local rc=0
	wait "$rpid" || rc=$?
	[ "$rc" -eq 0 ]
	printf 'hello\nworld\n' | cmp - "$BATS_TEST_TMPDIR/out"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "recv -n COUNT ends after COUNT messages; the rest stays for the next reader" {
	p chan create /c
	p send /c a b c d
	run --separate-stderr p recv -n 2 /c
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb')" ]
	[ "$(chan_field /c received)" -eq 2 ]
	run --separate-stderr p recv --count 1 /c
	[ "$output" = c ]
	# Fewer left than asked for, and the writer gone: what is there, and exit 0.
	run --separate-stderr p recv -n 5 /c
	[ "$status" -eq 0 ]
	[ "$output" = d ]
	# -n 0 takes nothing.
	p send /c e
	run p recv -n 0 /c
	[ "$status" -eq 0 ]
	stdout_empty
	[ "$(p recv /c)" = e ]
}

@test "recv --timeout: exit 1 with a message when it expires with no end or too few" {
	p chan create /c
	# No writer ever: the wait is bounded.
	SECONDS=0
	run --separate-stderr p recv --timeout 0.3 /c
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has '^pshm: recv /c: timed out after 0.3 seconds \(0 messages received\)'
	[ "$SECONDS" -lt 30 ]
	# A writer that stays attached, with fewer messages than -n asks for.
	feed_from_fifo p send /c
	printf 'x\ny\n' >&5
	wait_field /c sent 2
	run --separate-stderr p recv -n 5 --timeout 0.5 /c
	exec 5>&-
	[ "$status" -eq 1 ]
	[ "$output" = "$(printf 'x\ny')" ]
	stderr_has 'timed out after 0.5 seconds \(2 messages received\)'
}

@test "recv --timeout with enough messages ends with exit 0; --timeout 0 never waits" {
	p chan create /c
	p send /c 1 2 3
	run --separate-stderr p recv -n 2 --timeout 5 /c
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1\n2')" ]
	run --separate-stderr p recv --timeout 0 /c
	[ "$status" -eq 0 ]
	[ "$output" = 3 ]
	p chan create /fresh
	run --separate-stderr p recv --timeout 0 /fresh
	[ "$status" -eq 1 ]
	stderr_has 'timed out'
}

@test "a writer killed with SIGKILL: recv drains what it sent and exits 1 saying it died" {
	p chan create /c
	local spid
	feed_from_fifo "$PSHM" send /c
	printf 'first\nsecond\n' >&5
	wait_field /c sent 2
	[ "$(chan_field /c writer)" = attached ]
	p recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 5>&- 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /c received 2
	printf 'third\n' >&5
	wait_field /c received 3
	kill -9 "$spid"
	SECONDS=0
	local rc=0
	wait "$rpid" || rc=$?
	exec 5>&-
	[ "$SECONDS" -lt 30 ]
	[ "$rc" -eq 1 ] || fail_with "recv exited $rc" "$(cat "$BATS_TEST_TMPDIR/err")"
	printf 'first\nsecond\nthird\n' | cmp - "$BATS_TEST_TMPDIR/out"
	grep -qx 'pshm: recv /c: the writer died' "$BATS_TEST_TMPDIR/err"
	[ "$(chan_field /c writer)" = died ]
	# Messages sent before the death and not yet read are still delivered first.
	"$PSHM" send /c <"$BATS_TEST_TMPDIR/fifo" 3>&- &
	spid=$!
	track "$spid"
	exec 5<>"$BATS_TEST_TMPDIR/fifo"
	printf 'late1\nlate2\n' >&5
	wait_field /c sent 5
	kill -9 "$spid"
	wait "$spid" 2>/dev/null || true
	exec 5>&-
	run --separate-stderr p recv /c
	[ "$status" -eq 1 ]
	[ "$output" = "$(printf 'late1\nlate2')" ]
	stderr_has 'the writer died'
}

@test "a reader killed with SIGKILL: a send waiting on the full channel exits 1" {
	p chan create --capacity 4K /c
	"$PSHM" recv /c >/dev/null 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /c readers 1
	kill -9 "$rpid"
	wait "$rpid" 2>/dev/null || true
	SECONDS=0
	run --separate-stderr p send /c < <(seq 100000)
	[ "$status" -eq 1 ]
	stderr_has '^pshm: send /c: the reader died$'
	[ "$SECONDS" -lt 30 ]
}

@test "a send that fails gives the stream up: recv prints what came, exits 1 saying so" {
	p chan create /c1
	# The middle line is longer than the channel's largest message.
	run --separate-stderr p send /c1 < <(
		echo first
		head -c 600000 /dev/zero | tr '\0' x
		echo
		echo third
	)
	[ "$status" -eq 1 ]
	stderr_has '^pshm: send /c1: a line of more than 524288 bytes'
	[ "$(chan_field /c1 writer)" = aborted ]
	run --separate-stderr p chan stat /c1
	grep -qx 'writer: aborted' <<<"$output"
	run --separate-stderr p recv /c1
	[ "$status" -eq 1 ]
	[ "$output" = first ]
	[ "$stderr" = 'pshm: recv /c1: the writer gave up' ]
	# Nothing more comes, and a reader hears it again.
	run --separate-stderr p recv /c1
	[ "$status" -eq 1 ]
	stdout_empty
	stderr_has 'the writer gave up'
	# The next writer starts a new stream, which ends cleanly.
	p send /c1 again
	[ "$(chan_field /c1 writer)" = detached ]
	run --separate-stderr p recv /c1
	[ "$status" -eq 0 ]
	[ "$output" = again ]
}

# Send SIGNAL (its number NUM) to the send SPID, which must die of it; then channel ADDR must
# say its writer gave up, and recv must print OUTPUT and exit 1 with a line matching PATTERN.
send_gave_up() {
	local rc=0
	kill -"$2" "$1"
	wait "$1" || rc=$?
	[ "$rc" -eq $((128 + $3)) ] || fail_with "send exited $rc"
	[ "$(chan_field "$4" writer)" = aborted ]
	run --separate-stderr p recv "$4"
	[ "$status" -eq 1 ]
	[ "$output" = "$5" ]
	stderr_has "$6"
}

@test "a send stopped by SIGTERM or SIGHUP gives the stream up, reading or waiting for room" {
	p chan create --capacity 4K /c
	local spid
	feed_from_fifo "$PSHM" send /c
	printf 'first\nsecond\n' >&5
	wait_field /c sent 2
	# The send now waits for its input; the signal ends it, and it dies of the signal.
	send_gave_up "$spid" TERM 15 /c "$(printf 'first\nsecond')" \
		'^pshm: recv /c: the writer gave up$'
	exec 5>&-

	# A send that waits for room in a full channel (128 descriptors) ends the same way.
	p chan create --capacity 4K /d
	seq 100000 | "$PSHM" send /d 3>&- &
	spid=$!
	track "$spid"
	wait_field /d sent 128
	send_gave_up "$spid" HUP 1 /d "$(seq 128)" 'the writer gave up'
}

# Whether channel ADDR has had at least N messages read.
received_at_least() {
	[ "$(chan_field "$1" received)" -ge "$2" ]
}

# Stream numbers from send to recv through a new channel /t (MODE: "" or --broadcast) and, once
# a thousand have been read, shrink its object by running CUT...: both must exit 1 saying that
# the channel was truncated, rather than die of SIGBUS.
truncate_live() {
	local mode=$1 rc
	shift
	p chan create $mode --capacity 64K /t
	p recv /t >/dev/null 2>"$BATS_TEST_TMPDIR/rerr" 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /t readers 1
	seq 1 100000000 | p send /t 2>"$BATS_TEST_TMPDIR/serr" 3>&- &
	local spid=$!
	track "$spid"
	wait_until received_at_least /t 1000
	"$@"
	rc=0
	wait "$rpid" || rc=$?
	[ "$rc" -eq 1 ] || fail_with "recv ($mode, $*) exited $rc" "$(cat "$BATS_TEST_TMPDIR/rerr")"
	rc=0
	wait "$spid" || rc=$?
	[ "$rc" -eq 1 ] || fail_with "send ($mode, $*) exited $rc" "$(cat "$BATS_TEST_TMPDIR/serr")"
	local why="the channel's object was truncated \(the channel is lost\)"
	# pshm write puts its data over the header before it cuts the object: a side that reads
	# the header in between finds it damaged first, and says so instead.
	[ "$2" != write ] || why="($why|not a channel, or a damaged one)"
	# A broadcast reader may also have said that it lost messages.
	grep -v ': lost [0-9]* messages$' "$BATS_TEST_TMPDIR/rerr" |
		grep -qxE "pshm: recv /t: $why" ||
		fail_with "recv ($mode, $*) said:" "$(cat "$BATS_TEST_TMPDIR/rerr")"
	grep -qxE "pshm: send /t: $why" "$BATS_TEST_TMPDIR/serr" &&
		[ "$(wc -l <"$BATS_TEST_TMPDIR/serr")" -eq 1 ] ||
		fail_with "send ($mode, $*) said:" "$(cat "$BATS_TEST_TMPDIR/serr")"
	rm -f "$PSHM_DIR/t"
}

@test "a channel truncated under send and recv: both exit 1 saying so, no bus error" {
	for mode in "" --broadcast; do
		truncate_live "$mode" truncate -s 4096 "$PSHM_DIR/t"
		truncate_live "$mode" truncate -s 0 "$PSHM_DIR/t"
	done
}

@test "a stray pshm resize or pshm write -i on a live channel: send and recv exit 1 saying so" {
	for mode in "" --broadcast; do
		truncate_live "$mode" p resize 9000 /t
		truncate_live "$mode" p write -i /t hello
	done
}

@test "another writer attached: send exits 1 saying so" {
	p chan create /c
	feed_from_fifo p send /c
	wait_field /c writer attached
	run --separate-stderr p send /c x
	exec 5>&-
	[ "$status" -eq 1 ]
	stderr_has '^pshm: send /c: another writer is attached'
}

# SIGKILL the writer SPID and wait for the receiving RPID to end: it must exit 1 soon after
# (the 10 s bound only tells a hidden death from a slow machine); prints how soon, for WHOSE.
kill_writer_heard() {
	local t0 rc=0 ms
	kill -9 "$1"
	t0=$(now_ms)
	wait "$2" || rc=$?
	ms=$(($(now_ms) - t0))
	echo "# recv heard $3 SIGKILL after $ms ms" >&3
	[ "$rc" -eq 1 ] || fail_with "recv exited $rc" "$(cat "$BATS_TEST_TMPDIR/err")"
	[ "$ms" -lt 10000 ]
}

@test "a read-only squatter's locks neither keep send and recv out nor hide a writer's death" {
	require_root
	need_python
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
	share_dir
	p chan create --mode 0644 /c
	start_squatter "$PSHM_DIR/c" "$PSHM_DIR"
	grep -qx 'holding object' "$SQUAT_LOG"
	p send /c hello
	[ "$(p recv -n 1 /c)" = hello ]

	local spid
	feed_from_fifo "$PSHM" send /c
	# Before that, the channel's last writer is the one that came and went: a reader would
	# find its stream over.
	wait_field /c writer attached
	p recv /c >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 5>&- 3>&- &
	local rpid=$!
	track "$rpid"
	printf 'one\n' >&5
	wait_field /c received 2
	run --separate-stderr p send /c x
	[ "$status" -eq 1 ]
	stderr_has '^pshm: send /c: another writer is attached'
	# The squatter waits on the writer's beacon, to read-lock it the moment the writer dies.
	[ "$(beacons_in "$PSHM_DIR" | wc -l)" -eq 2 ]
	squatter_has_all "$PSHM_DIR"
	kill_writer_heard "$spid" "$rpid" "the writer's"
	exec 5>&-
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = one ]
	grep -qx 'pshm: recv /c: the writer died' "$BATS_TEST_TMPDIR/err"
	# Read-locked by the squatter now, the dead writer's beacon still says dead, and the
	# role is free for the next writer.
	wait_until grep -q '^grabbed \.pshm-live\.' "$SQUAT_LOG"
	[ "$(chan_field /c writer)" = died ]
	p send /c again
	[ "$(p recv -n 1 /c)" = again ]

	# A writer killed leaves its beacon, which ls does not show and rm removes.
	[ -z "$(beacons_in "$PSHM_DIR")" ]
	exec 5<>"$BATS_TEST_TMPDIR/fifo"
	"$PSHM" send /c <"$BATS_TEST_TMPDIR/fifo" 5>&- 3>&- &
	spid=$!
	track "$spid"
	wait_field /c writer attached
	kill -9 "$spid"
	wait "$spid" 2>/dev/null || true
	exec 5>&-
	[ "$(beacons_in "$PSHM_DIR" | wc -l)" -eq 1 ]
	[ "$(pshm ls -r -n -o ADDRESS -k posix)" = /c ]
	pshm rm /c
	[ -z "$(beacons_in "$PSHM_DIR")" ]
}

@test "a writer that may not create files beside the channel: its death is still seen" {
	require_root
	need_python
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
	share_dir
	local d=$PSHM_DIR/ro
	local a=file:$d/c
	mkdir -m 0755 "$d"
	p chan create --mode 0666 "$a"
	local spid
	feed_from_fifo setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PSHM" send "$a"
	printf 'one\n' >&5
	wait_field "$a" sent 1
	# No beacon: it locks its byte of the channel instead. It is still the only writer.
	[ -z "$(beacons_in "$d")" ]
	[ "$(chan_field "$a" writer)" = attached ]
	run --separate-stderr p send "$a" x
	[ "$status" -eq 1 ]
	stderr_has 'another writer is attached'
	p recv "$a" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 5>&- 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field "$a" received 1
	start_squatter "$d/c" "$d"
	grep -qx 'waiting byte 0' "$SQUAT_LOG"
	kill_writer_heard "$spid" "$rpid" "the byte-locking writer's"
	exec 5>&-
	grep -qx "pshm: recv $a: the writer died" "$BATS_TEST_TMPDIR/err"
	wait_until grep -qx 'grabbed byte 0' "$SQUAT_LOG"
	[ "$(chan_field "$a" writer)" = died ]
	# What the squatter can still do: keep out the next writer that must lock the byte.
	run --separate-stderr nobody "$PSHM" send "$a" x
	[ "$status" -eq 1 ]
	stderr_has 'another writer is attached'
	# A writer that can make a beacon takes over.
	p send "$a" two
	[ "$(p recv -n 1 "$a")" = two ]
}

@test "broadcast: two readers each get every message" {
	p chan create --broadcast /b
	[ "$(chan_field /b mode)" = broadcast ]
	p recv /b >"$BATS_TEST_TMPDIR/r1" 2>"$BATS_TEST_TMPDIR/e1" 3>&- &
	track $!
	local r1=$!
	p recv /b >"$BATS_TEST_TMPDIR/r2" 2>"$BATS_TEST_TMPDIR/e2" 3>&- &
	track $!
	local r2=$!
	wait_field /b readers 2 ||
		fail_with "readers: $(chan_field /b readers)" "$(cat "$BATS_TEST_TMPDIR"/e[12])"
	seq 500 | p send /b
	wait "$r1"
	wait "$r2"
	seq 500 | cmp - "$BATS_TEST_TMPDIR/r1"
	seq 500 | cmp - "$BATS_TEST_TMPDIR/r2"
	[ "$(chan_field /b received)" -eq 1000 ]
	[ "$(chan_field /b readers)" -eq 0 ]
}

@test "broadcast: a reader that falls behind says how many it lost and goes on" {
	p chan create --broadcast --capacity 4K /b
	mkfifo "$BATS_TEST_TMPDIR/slow"
	exec 6<>"$BATS_TEST_TMPDIR/slow"
	# Its output is a FIFO nobody reads yet, so it stops while the writer runs on.
	p recv /b >"$BATS_TEST_TMPDIR/slow" 2>"$BATS_TEST_TMPDIR/err" 6>&- 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /b readers 1
	seq 100000 | p send /b
	# A read-only end for cat, open before the test's own end is closed: the reader never
	# finds its output without a reader.
	exec 7<"$BATS_TEST_TMPDIR/slow"
	timeout 60 cat <&7 >"$BATS_TEST_TMPDIR/got" 6>&- 7<&- 3>&- &
	local cpid=$!
	track "$cpid"
	exec 6>&- 7<&-
	local rc=0
	wait "$rpid" || rc=$?
	wait "$cpid"
	[ "$rc" -eq 0 ] || fail_with "recv exited $rc; its stderr:" "$(cat "$BATS_TEST_TMPDIR/err")"
	grep -qE '^pshm: recv /b: lost [1-9][0-9]* messages$' "$BATS_TEST_TMPDIR/err"
	# What arrived is in order, ends with the last message, and with what was lost makes all.
	sort -nc "$BATS_TEST_TMPDIR/got"
	[ "$(tail -n 1 "$BATS_TEST_TMPDIR/got")" = 100000 ]
	local got lost
	got=$(wc -l <"$BATS_TEST_TMPDIR/got")
	lost=$(awk '/lost [0-9]+ messages$/ { n += $(NF - 1) } END { print n + 0 }' \
		"$BATS_TEST_TMPDIR/err")
	[ $((got + lost)) -eq 100000 ]
	[ "$(chan_field /b lost)" -eq "$lost" ]
}

# Whether the writer of broadcast channel ADDR, whose one reader is stuck, has filled the ring
# with messages of up to 12 bytes (each takes one of the 4K ring's 128 descriptors): it can send
# no more without overwriting a message that reader has not read.
ring_full_of_unread() {
	local j
	j=$(p chan stat -J "$1") || return 1
	jq -e '.sent - .received == 128' <<<"$j" >/dev/null
}

@test "broadcast --lossless: a reader that stops holds the writer back and loses nothing" {
	p chan create --broadcast --lossless --capacity 4K /b
	mkfifo "$BATS_TEST_TMPDIR/slow"
	exec 6<>"$BATS_TEST_TMPDIR/slow"
	# Its output is a FIFO nobody reads yet, so it stops, and the writer must wait for it.
	p recv /b >"$BATS_TEST_TMPDIR/slow" 2>"$BATS_TEST_TMPDIR/err" 6>&- 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /b readers 1
	seq 100000 | p send /b 2>"$BATS_TEST_TMPDIR/serr" 6>&- 3>&- &
	local spid=$!
	track "$spid"
	wait_until ring_full_of_unread /b
	kill -0 "$spid"
	exec 7<"$BATS_TEST_TMPDIR/slow"
	timeout 60 cat <&7 >"$BATS_TEST_TMPDIR/got" 6>&- 7<&- 3>&- &
	local cpid=$!
	track "$cpid"
	exec 6>&- 7<&-
	local rc=0
	wait "$spid" || rc=$?
	[ "$rc" -eq 0 ] || fail_with "send exited $rc" "$(cat "$BATS_TEST_TMPDIR/serr")"
	rc=0
	wait "$rpid" || rc=$?
	wait "$cpid"
	[ "$rc" -eq 0 ] || fail_with "recv exited $rc; its stderr:" "$(cat "$BATS_TEST_TMPDIR/err")"
	# Every message, in order, and no word of a loss.
	seq 100000 | cmp - "$BATS_TEST_TMPDIR/got"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	jq_true '.lost == 0 and .sent == 100000 and .received == 100000' < <(p chan stat -J /b)
}

@test "broadcast --lossless: a reader killed with SIGKILL holds the writer back no more" {
	p chan create --broadcast --lossless --capacity 4K /b
	mkfifo "$BATS_TEST_TMPDIR/slow"
	exec 6<>"$BATS_TEST_TMPDIR/slow"
	"$PSHM" recv /b >"$BATS_TEST_TMPDIR/slow" 6>&- 3>&- &
	local rpid=$!
	track "$rpid"
	wait_field /b readers 1
	seq 100000 | p send /b 2>"$BATS_TEST_TMPDIR/serr" 6>&- 3>&- &
	local spid=$!
	track "$spid"
	wait_until ring_full_of_unread /b
	kill -0 "$spid"
	kill -9 "$rpid"
	wait "$rpid" 2>/dev/null || true
	exec 6>&-
	local rc=0
	wait "$spid" || rc=$?
	[ "$rc" -eq 0 ] || fail_with "send exited $rc" "$(cat "$BATS_TEST_TMPDIR/serr")"
	jq_true '.sent == 100000 and .readers == 0 and .writer == "detached"' \
		< <(p chan stat -J /b)
}

@test "recv --from-oldest: what is still in a broadcast channel; a queue's first unread" {
	p chan create --broadcast --capacity 4K /b
	p send /b a b c
	# Without it a reader starts at the next message: the writer has gone, so none.
	run --separate-stderr p recv /b
	[ "$status" -eq 0 ]
	stdout_empty
	run --separate-stderr p recv --from-oldest /b
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'a\nb\nc')" ]
	[ -z "$stderr" ]
	# After the writer lapped the ring: the messages still there, the last ones, whole and
	# in order, with no word of a loss.
	seq 1000 | p send /b
	run --separate-stderr p recv --from-oldest /b
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(tail -n 1 <<<"$output")" = 1000 ]
	awk 'NR > 1 && $1 != p + 1 { exit 1 } { p = $1 }' <<<"$output"
	local n
	n=$(wc -l <<<"$output")
	[ "$n" -ge 100 ] && [ "$n" -le 128 ]
	# A lossless channel without readers keeps what it holds in the same way.
	p chan create --broadcast --lossless /l
	p send /l 1 2 3
	[ "$(p recv --from-oldest /l)" = "$(printf '1\n2\n3')" ]
	# A queue reader starts at the first unread message anyway.
	p chan create /q
	p send /q x y z
	[ "$(p recv -n 1 /q)" = x ]
	run --separate-stderr p recv --from-oldest /q
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'y\nz')" ]
}

@test "chan create --lossless: the mode in chan stat; without --broadcast a usage error" {
	p chan create --broadcast --lossless /l
	run --separate-stderr p chan stat /l
	[ "$status" -eq 0 ]
	grep -qx 'mode: broadcast-lossless' <<<"$output"
	[ "$(chan_field /l mode)" = broadcast-lossless ]
	[ "$(chan_field /l lost)" -eq 0 ]
	run --separate-stderr p chan create --lossless /q
	[ "$status" -eq 2 ]
	stdout_empty
	stderr_has "^pshm chan create: --lossless is a mode of --broadcast"
	[ ! -e "$PSHM_DIR/q" ]
	# Accepting an existing channel needs the same mode.
	p chan create --broadcast /b
	run --separate-stderr p chan create --broadcast --lossless /b
	[ "$status" -eq 1 ]
	stderr_has 'File exists'
}

@test "chan stat: every field, as key: value lines and as JSON" {
	p chan create /c
	run --separate-stderr p chan stat /c
	[ "$status" -eq 0 ]
	[ "$output" = "address: /c
mode: queue
capacity: 1048576
used: 0
max_message: 524288
sent: 0
received: 0
bytes: 0
lost: 0
writer: none
writers: 0
readers: 0" ]
	p send /c ab c
	run --separate-stderr p chan stat -J /c
	[ "$status" -eq 0 ]
	jq_true '.address == "/c" and .mode == "queue" and .capacity == 1048576 and
		.sent == 2 and .received == 0 and .bytes == 3 and .used > 0 and .lost == 0 and
		.writer == "detached" and .writers == 0 and .readers == 0 and
		.max_message == 524288' <<<"$output"
	jq_true '[.capacity, .used, .max_message, .sent, .received, .bytes, .lost, .writers,
		.readers] | all(type == "number")' <<<"$output"
	p recv /c >/dev/null
	jq_true '.used == 0 and .received == 2' < <(p chan stat --json /c)
	# Capacities round up to a power of two of at least 4K; sizes take suffixes.
	p chan create --capacity 5000 /r
	[ "$(chan_field /r capacity)" -eq 8192 ]
	p chan create --capacity 1 /s
	[ "$(chan_field /s capacity)" -eq 4096 ]
	p chan create --capacity 2M --broadcast -m 640 /b
	jq_true '.capacity == 2097152 and .mode == "broadcast"' < <(p chan stat -J /b)
	[ "$(stat -c %a "$PSHM_DIR/b")" = 640 ]
	p chan create --mode 0 /z
	[ "$(stat -c %a "$PSHM_DIR/z")" = 0 ]
}

@test "channels in files: file:PATH" {
	p chan create "file:$BATS_TEST_TMPDIR/chan"
	p send "file:$BATS_TEST_TMPDIR/chan" hi
	[ "$(p recv "file:$BATS_TEST_TMPDIR/chan")" = hi ]
	[ "$(chan_field "file:$BATS_TEST_TMPDIR/chan" sent)" -eq 1 ]
}

@test "ls shows channels as kind chan; -k chan lists only them, -k posix includes them" {
	p chan create /c1
	p chan create --broadcast --capacity 4K /c2
	pshm create -s 20K /plain
	pshm create /empty
	# A big object that merely starts with other bytes is no channel.
	pshm create /zeros
	head -c 16384 /dev/zero | pshm write /zeros
	# Plain ls also lists System V segments, which other programs may have made.
	run --separate-stderr pshm ls -r -n -o ADDRESS,KIND
	[ "$status" -eq 0 ]
	output=$(grep -v ' sysv$' <<<"$output")
	[ "$output" = "/c1 chan
/c2 chan
/empty posix
/plain posix
/zeros posix" ] || fail_with "ls printed:" "$output" "$stderr"
	run --separate-stderr pshm ls -r -n -o ADDRESS -k chan
	[ "$output" = "$(printf '/c1\n/c2')" ]
	run --separate-stderr pshm ls -r -n -o ADDRESS -k posix
	[ "$(wc -l <<<"$output")" -eq 5 ]
	run --separate-stderr pshm ls -r -n -o ADDRESS -k chan,posix
	[ "$(wc -l <<<"$output")" -eq 5 ]
	run --separate-stderr pshm ls -J -k chan
	jq_true '.objects | length == 2 and all(.kind == "chan")' <<<"$output"
}

@test "bad input: capacity, mode, count, timeout, operands, unknown options" {
	local args
	for args in "chan create --capacity x /c" "chan create --capacity 2G /c" \
		"chan create --capacity -1 /c" "chan create -m 9 /c" "chan create" \
		"chan create /a /b" "chan stat" "chan stat /a /b" "recv -n x /c" "recv -n -1 /c" \
		"recv --timeout x /c" "recv --timeout -1 /c" "recv --timeout nan /c" "recv" \
		"recv /a /b" "send" "send --records /c msg" "chan create --bogus /c" \
		"chan stat -x /c" "send --bogus /c" "recv --bogus /c" "chan bogus" "chan -x" "chan" \
		"chan create --lossless /c" "recv --from-oldest" "recv --from-oldest /a /b" \
		"chan create --broadcast --lossless --many-writers /c" "recv -f" "recv --follow /a /b"; do
		# shellcheck disable=SC2086
		run --separate-stderr p $args
		[ "$status" -eq 2 ] || fail_with "pshm $args: exit $status, not 2" "$stderr"
		stdout_empty
		grep -q "Try 'pshm " <<<"$stderr" || grep -q '^ pshm chan ' <<<"$stderr" ||
			fail_with "pshm $args: no pointer to --help" "$stderr"
	done
	run --separate-stderr p chan create --capacity 2G /c
	stderr_has "invalid capacity '2G'"
	[ ! -e "$PSHM_DIR/c" ]
}

@test "failures: a missing channel, an object that is not a channel, an existing one" {
	local c
	for c in "recv /nope" "send /nope x" "chan stat /nope"; do
		# shellcheck disable=SC2086
		run --separate-stderr p $c
		[ "$status" -eq 1 ]
		stderr_has " /nope: No such file or directory$"
		stderr_has "^pshm: 'pshm chan create /nope' makes it$"
	done
	pshm create -s 20K /plain
	pshm create /empty
	for c in "recv /plain" "send /plain x" "chan stat /plain" "recv /empty" "chan stat /empty"; do
		# shellcheck disable=SC2086
		run --separate-stderr p $c
		[ "$status" -eq 1 ] || fail_with "pshm $c: exit $status" "$stderr"
		stderr_has '^pshm: (recv|send|chan stat) /(plain|empty): not a channel'
	done
	# Nothing was written into the object that is not a channel.
	[ "$(tr -d '\0' <"$PSHM_DIR/plain" | wc -c)" -eq 0 ]
	p chan create /c
	run --separate-stderr p chan create /c
	[ "$status" -eq 1 ]
	stderr_has '^pshm: chan create /c: File exists'
	run --separate-stderr p chan create sysv:0x1234
	[ "$status" -eq 1 ]
	stderr_has 'channels live in POSIX objects'
}

@test "send: a message larger than the channel's largest is refused" {
	p chan create --capacity 4K /c
	local max
	max=$(chan_field /c max_message)
	run --separate-stderr p send /c "$(head -c $((max + 1)) /dev/zero | tr '\0' x)"
	[ "$status" -eq 1 ]
	stderr_has "a message of $((max + 1)) bytes is larger than the channel's largest, $max bytes"
	run --separate-stderr p send /c < <(head -c $((max + 100)) /dev/zero | tr '\0' x)
	[ "$status" -eq 1 ]
	stderr_has "a line of more than $max bytes"
	# The largest fits.
	p send /c "$(head -c "$max" /dev/zero | tr '\0' y)"
	[ "$(p recv /c | wc -c)" -eq $((max + 1)) ]
}

@test "--help of chan, chan create, chan stat, send and recv: stdout, exit 0" {
	local c
	for c in chan "chan create" "chan stat" send recv; do
		# shellcheck disable=SC2086
		run --separate-stderr p $c --help
		[ "$status" -eq 0 ] || fail_with "pshm $c --help: exit $status"
		[ -z "$stderr" ]
		[[ ${lines[0]} == Usage: && ${lines[1]} == " pshm $c "* ]]
		grep -q -- '--help' <<<"$output"
	done
	run p --help
	grep -qE '^  chan +' <<<"$output"
	grep -qE '^  send +' <<<"$output"
	grep -qE '^  recv +' <<<"$output"
}
